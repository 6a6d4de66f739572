//! Payload masking (RFC 6455 §5.3).
//!
//! The kernels live in the crate `wspc-simd`, the workspace's one home for `unsafe`: they are
//! safe loops over 8-byte words, and that crate runs their AVX2 build when the CPU has it (a
//! `#[target_feature]` call needs `unsafe`, which this crate forbids). Results are identical on
//! every path.
//!
//! A payload may arrive in pieces, so both functions take the key position (`phase`) of their
//! first byte and return the phase of the byte after their last.

pub use wspc_simd::{apply_mask, mask_copy};
