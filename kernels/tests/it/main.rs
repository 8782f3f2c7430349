//! Integration tests of the kernels library, in one test binary (one link
//! instead of one per file).

mod backends_agree;
mod common;
mod isa_paths;
mod process_faults;
