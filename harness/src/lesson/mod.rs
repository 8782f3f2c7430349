//! `piscale lesson`: the course's examples themselves, run for real and
//! explained, apart from the measurements.
//!
//! [`race`] is the bank account: two processes updating one shared balance
//! without a lock, with a lock and atomically. A lesson's mechanism returns
//! typed results; `present::lesson` renders them.

pub mod race;
