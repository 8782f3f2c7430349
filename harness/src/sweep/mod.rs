//! `piscale sweep`: strong and weak scaling studies over methods, backends
//! and worker counts, recorded row by row.
//!
//! Parse, validate, then act: [`config`] reads TOML and flags into one
//! validated [`config::SweepConfig`]; [`plan`] expands it into points and a
//! shuffled schedule; [`runner`] measures; [`rows`] and [`stats`] record and
//! summarise; [`table`] prints the answer; [`machine`] describes the machine.

pub mod command;
pub mod config;
pub mod machine;
pub mod plan;
pub mod rows;
pub mod runner;
pub mod stats;
pub mod table;
pub mod topology;
