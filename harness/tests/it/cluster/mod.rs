//! The `mpi` backend beyond one `mpirun` on one machine, on the real
//! software: a local Slurm cluster (`slurm`) and two hosts made of network
//! namespaces (`two_hosts`). They need root and daemons, so they are
//! ignored by a plain `cargo test`; `.ci/run` starts the cluster
//! (`scripts/slurm-local.sh start`) and runs them:
//!
//! ```sh
//! scripts/slurm-local.sh start && eval "$(scripts/slurm-local.sh env)"
//! cargo test -p piscale --features mpi --test it -- --ignored cluster::
//! ```

#![cfg(feature = "mpi")]

mod slurm;
mod two_hosts;
