//! Payload masking (RFC 6455 §5.3).
//!
//! The kernels live in the crate `wspc-simd`: they are safe loops over 8-byte words, and that
//! crate runs their AVX2 build when the CPU has it. Calling a `#[target_feature]` function
//! needs the one kind of code this crate forbids, so the dispatch lives there. Results are
//! identical on every path.
//!
//! A payload may arrive in pieces, so both functions take the key position (`phase`) of their
//! first byte and return the phase of the byte after their last.

pub use wspc_simd::{apply_mask, extend_masked, mask_copy};
