//! wspc's test kit (`publish = false`): what the engine's tests, the C ABI crate's tests and the
//! fuzz targets share, kept out of the product crates.
//!
//! - [`fuzzing`]: one harness per fuzz target (each target in `fuzz/` is a one-liner calling it,
//!   and `tests/fuzz_corpus.rs` replays the committed corpus through the same functions on stable),
//!   and [`fuzzing::seeds`], which records the seeds from real traffic;
//! - [`alloc`]: the counting global allocator the harnesses use to check the memory bound.
//!
//! What the harnesses read of the engine's private state goes through `wspc::fuzz_bridge`.
#![deny(missing_docs)]

pub mod alloc;
pub mod fuzzing;
