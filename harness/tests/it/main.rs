//! Integration tests of the `piscale` binary, in one test binary (one link
//! instead of one per file).

mod bad_inputs;
mod cli;
mod cluster;
mod commands;
mod common;
mod examples;
mod faults;
mod guarantees;
mod lesson;
mod machine;
mod mpi;
mod sweep;
