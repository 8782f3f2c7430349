//! Analysis: pure computations over recorded rows, nothing measured and
//! nothing printed.
//!
//! [`stats`] is the one home of every statistic; [`summary`] turns raw rows
//! into one summary row per point; [`answer`] picks the one figure that
//! answers the course's question; [`phases`] gives each point's phase
//! medians; [`models`] fits scaling laws; [`compare`] decides whether one
//! sweep regressed against another; [`breakdown`] splits a point's
//! efficiency into the machine's capacity, load balance and overhead;
//! [`capacity`] gives each CPU's rate under load.

pub mod answer;
pub mod breakdown;
pub mod capacity;
pub mod compare;
pub mod models;
pub mod phases;
pub mod stats;
pub mod summary;
