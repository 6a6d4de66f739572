//! WebSocket payload masking (RFC 6455 §5.3) and UTF-8 validation ([`validate_utf8`]) for the
//! `wspc` engine, with run-time CPU feature dispatch.
//!
//! §5.3: octet i of the transformed data is octet i of the original data XOR octet (i mod 4) of
//! the masking key. A payload may arrive in pieces, so both functions take the key position
//! (`phase`) of their first byte and return the phase of the byte after their last.
//!
//! # Why a crate of its own
//!
//! The kernels are plain safe loops over 8-byte words, which the compiler vectorises. For the
//! x86-64 baseline (SSE2) that stops at about 0.6× `memcpy` for data in L1; the same loops
//! compiled for AVX2 run at or above `memcpy` (see `reports/bench/SUMMARY.md`). Choosing the
//! AVX2 build at run time means calling a `#[target_feature]` function, which Rust marks
//! `unsafe`. The engine crate forbids `unsafe`, so that one call lives here: one `unsafe` block
//! per kernel, each guarded by `is_x86_feature_detected!("avx2")`. The rest of the masking code
//! is safe, and the results are identical on every path (the tests compare all of them
//! with a byte-at-a-time loop).
//!
//! [`string_from_utf8`] has one more, which turns bytes it has just validated into a `String`
//! without `String::from_utf8`'s own, much slower check.
//!
//! [`extend_masked`] has one more block: it unmasks straight into a `Vec`'s spare capacity
//! and then sets the length, which safe code cannot do without zero-filling the bytes first,
//! a second pass over them. The echo benchmark's 16 KiB rows spent that pass on every
//! message; the copying kernel is written once for initialised and spare bytes alike.
//!
//! On other architectures the portable loop always runs.
//!
//! The UTF-8 validator ([`utf8`]) is different: its AVX-512 kernel needs byte permutations and
//! table lookups that the compiler does not produce from plain loops, so it is written with
//! `core::arch` intrinsics. Those that read memory are `unsafe` to call: the kernel has one such
//! block, a 64-byte load from a 64-byte array, besides its dispatch call. Its tests compare it
//! with `std::str::from_utf8` on every 3-byte sequence across a block boundary, on every
//! combination of four bytes from the values where a class of byte begins or ends, at every
//! position that matters, and on random texts and their corruptions.

use core::mem::MaybeUninit;

pub mod utf8;
pub use utf8::{string_from_utf8, uses_avx512_utf8, validate_utf8};

/// Below this many bytes the word loop runs directly, without the alignment split: the feature
/// check (one relaxed atomic load), the call and the split would cost more than they save.
const DISPATCH_MIN: usize = 64;

/// The key rotated so that its first byte lines up with `phase`, repeated to fill a `u64`.
///
/// Native-endian on both sides: byte j of a word read with `from_ne_bytes` meets byte j of the
/// pattern, which is `key[(phase + j) % 4]`.
#[inline(always)]
fn pattern(key: [u8; 4], phase: usize) -> ([u8; 4], u64) {
    // Rotating by 8 * phase bits in the byte order of memory moves `key[(j + phase) % 4]` to
    // byte j (one instruction, where `<[u8]>::rotate_left` is a call).
    let k = if cfg!(target_endian = "little") {
        u32::from_le_bytes(key).rotate_right(8 * (phase % 4) as u32)
    } else {
        u32::from_be_bytes(key).rotate_left(8 * (phase % 4) as u32)
    };
    let [a, b, c, d] = k.to_ne_bytes();
    ([a, b, c, d], u64::from_ne_bytes([a, b, c, d, a, b, c, d]))
}

/// The bulk of each kernel stores to addresses aligned to this many bytes (one AVX2 vector);
/// the bytes before the first such boundary of the destination are handled apart. With the
/// source and the destination both 16 bytes off a cache line (as a `Vec` from `malloc` often
/// is), unaligned 32-byte loads and stores split cache lines and the copy ran at 0.6× `memcpy`
/// in L1; with aligned stores, at 0.95–1.1× (a standalone loop over 4 KiB, best of 50 runs).
/// `memcpy` aligns its stores the same way.
const ALIGN: usize = 32;

/// How many leading bytes of `dst` come before its first [`ALIGN`] boundary (at most
/// `dst.len()`).
#[inline(always)]
fn head_len<T>(dst: &[T]) -> usize {
    dst.as_ptr().align_offset(ALIGN).min(dst.len())
}

/// The in-place kernel, inlined into each instantiation so that each is compiled for its own
/// target features.
#[inline(always)]
fn apply_mask_body(buf: &mut [u8], key: [u8; 4], phase: usize) {
    let (head, rest) = buf.split_at_mut(head_len(buf));
    xor_words(head, key, phase);
    xor_words(rest, key, phase + head.len());
}

/// The copying kernel; `dst` and `src` have the same length. Every element of `dst` is stored
/// (the head, or the first `ALIGN` bytes, then the rest from the head's end).
#[inline(always)]
fn mask_copy_body<T: Byte>(dst: &mut [T], src: &[u8], key: [u8; 4], phase: usize) {
    let h = head_len(dst);
    if dst.len() >= 2 * ALIGN {
        // The first ALIGN bytes unaligned, then from the boundary on, overlapping them: the
        // overlap is computed from `src` again, so it is written with the same bytes.
        if let (Some(d), Some(s)) = (dst.get_mut(..ALIGN), src.get(..ALIGN)) {
            copy_words(d, s, key, phase);
        }
    } else {
        copy_words(&mut dst[..h], &src[..h], key, phase);
    }
    copy_words(&mut dst[h..], &src[h..], key, phase + h);
}

/// XOR `buf` with the key pattern 8 bytes at a time, then byte by byte.
#[inline(always)]
fn xor_words(buf: &mut [u8], key: [u8; 4], phase: usize) {
    let (k, word) = pattern(key, phase);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        // Always 8 bytes; the conversion cannot fail.
        if let Ok(w) = <&mut [u8; 8]>::try_from(chunk) {
            *w = (u64::from_ne_bytes(*w) ^ word).to_ne_bytes();
        }
    }
    // Chunks are multiples of 4 bytes long, so the remainder starts at the same key position.
    for (b, m) in chunks.into_remainder().iter_mut().zip(k.iter().cycle()) {
        *b ^= m;
    }
}

/// A byte the copying kernel stores: an initialised one, or one of a `Vec`'s spare capacity
/// ([`extend_masked`]). The kernel is the same code for both.
trait Byte: Copy {
    fn from_byte(b: u8) -> Self;
}

impl Byte for u8 {
    #[inline(always)]
    fn from_byte(b: u8) -> Self {
        b
    }
}

impl Byte for MaybeUninit<u8> {
    #[inline(always)]
    fn from_byte(b: u8) -> Self {
        Self::new(b)
    }
}

/// [`xor_words`] from `src` into `dst` (of the same length). Every element of `dst` is stored.
#[inline(always)]
fn copy_words<T: Byte>(dst: &mut [T], src: &[u8], key: [u8; 4], phase: usize) {
    let (k, word) = pattern(key, phase);
    let mut d_chunks = dst.chunks_exact_mut(8);
    let mut s_chunks = src.chunks_exact(8);
    for (d, s) in (&mut d_chunks).zip(&mut s_chunks) {
        // Always 8 bytes each; the conversions cannot fail.
        if let (Ok(d), Ok(s)) = (<&mut [T; 8]>::try_from(d), <[u8; 8]>::try_from(s)) {
            *d = (u64::from_ne_bytes(s) ^ word)
                .to_ne_bytes()
                .map(T::from_byte);
        }
    }
    let rest = d_chunks.into_remainder().iter_mut();
    for ((d, s), m) in rest.zip(s_chunks.remainder()).zip(k.iter().cycle()) {
        *d = T::from_byte(s ^ m);
    }
}

/// XOR `buf` in place with the 4-byte `key`, starting at key position `phase` (taken mod 4):
/// byte i of `buf` is XORed with `key[(phase + i) % 4]`. Returns the phase for the next byte,
/// `(phase + buf.len()) % 4`. Applying the same mask twice restores the data.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
    let next = (phase % 4 + buf.len() % 4) % 4;
    if buf.len() < DISPATCH_MIN {
        // Too short for alignment to matter: one pass of words, then bytes.
        xor_words(buf, key, phase);
    } else if !x86::apply_mask(buf, key, phase) {
        apply_mask_body(buf, key, phase);
    }
    next
}

/// Copy `src` into `dst` while masking it, fused in one pass, with the phase rules of
/// [`apply_mask`]. Only the common prefix of `min(dst.len(), src.len())` bytes is processed.
/// Returns the phase for the next byte.
#[inline]
pub fn mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4], phase: usize) -> usize {
    let n = dst.len().min(src.len());
    mask_copy_into(&mut dst[..n], &src[..n], key, phase)
}

/// Append `src` to `out`, masked as by [`mask_copy`], in one pass: the masked bytes are
/// stored straight into `out`'s spare capacity, where copying and then masking in place takes
/// two passes, and zero-filling before [`mask_copy`] takes two as well (at 16 KiB, 1.8× the
/// time of this one on the machine of `reports/bench/SUMMARY.md`). Returns the phase for the
/// next byte.
#[inline]
pub fn extend_masked(out: &mut Vec<u8>, src: &[u8], key: [u8; 4], phase: usize) -> usize {
    let len = out.len();
    out.reserve(src.len());
    let next = mask_copy_into(&mut out.spare_capacity_mut()[..src.len()], src, key, phase);
    // SAFETY: `mask_copy_into` stored to every element of the `src.len()` elements of spare
    // capacity it was given (`mask_copy_body` covers its destination with the head, or the
    // first `ALIGN` bytes, and the rest; `copy_words` stores each full chunk and each byte of
    // the remainder, zipped with a source of the same length and an endless key), so the
    // elements `len..len + src.len()` are initialised, and `reserve` made room for them.
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(len + src.len());
    }
    next
}

/// [`mask_copy`] of `src` into `dst`, of the same length, initialised or not.
#[inline(always)]
fn mask_copy_into<T: Byte>(dst: &mut [T], src: &[u8], key: [u8; 4], phase: usize) -> usize {
    let n = dst.len();
    debug_assert_eq!(n, src.len());
    if n < DISPATCH_MIN {
        copy_words(dst, src, key, phase);
    } else if !x86::mask_copy(dst, src, key, phase) {
        mask_copy_body(dst, src, key, phase);
    }
    (phase % 4 + n % 4) % 4
}

/// Whether the kernels run their AVX2 build on this CPU (always `false` off x86-64). For
/// benchmark reports and tests.
pub fn uses_avx2() -> bool {
    x86::available()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The AVX2 instantiations and their dispatch. Each function returns `false`, having done
    //! nothing, when the CPU lacks AVX2; the caller then runs the portable loop.

    /// Whether the CPU has AVX2 (std caches the answer; this is one atomic load after the first
    /// call).
    #[inline]
    pub(crate) fn available() -> bool {
        std::is_x86_feature_detected!("avx2")
    }

    #[inline]
    pub(crate) fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> bool {
        if !available() {
            return false;
        }
        // SAFETY: `apply_mask_avx2` is safe code whose only requirement is that the CPU
        // supports AVX2, which `available()` has just confirmed.
        #[allow(unsafe_code)]
        unsafe {
            apply_mask_avx2(buf, key, phase)
        };
        true
    }

    #[inline]
    pub(crate) fn mask_copy<T: super::Byte>(
        dst: &mut [T],
        src: &[u8],
        key: [u8; 4],
        phase: usize,
    ) -> bool {
        if !available() {
            return false;
        }
        // SAFETY: as in `apply_mask`: the CPU supports AVX2, checked just above.
        #[allow(unsafe_code)]
        unsafe {
            mask_copy_avx2(dst, src, key, phase)
        };
        true
    }

    #[target_feature(enable = "avx2")]
    fn apply_mask_avx2(buf: &mut [u8], key: [u8; 4], phase: usize) {
        super::apply_mask_body(buf, key, phase);
    }

    #[target_feature(enable = "avx2")]
    fn mask_copy_avx2<T: super::Byte>(dst: &mut [T], src: &[u8], key: [u8; 4], phase: usize) {
        super::mask_copy_body(dst, src, key, phase);
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    //! No wider build off x86-64: the portable loop always runs.

    pub(crate) fn available() -> bool {
        false
    }

    pub(crate) fn apply_mask(_: &mut [u8], _: [u8; 4], _: usize) -> bool {
        false
    }

    pub(crate) fn mask_copy<T>(_: &mut [T], _: &[u8], _: [u8; 4], _: usize) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn naive(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(phase + i) % 4];
        }
        (phase + buf.len()) % 4
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + 7) as u8).collect()
    }

    /// Every path (portable, and AVX2 where the CPU has it), every length around the dispatch
    /// threshold and the vector widths, every phase, and starts at many offsets from a vector
    /// boundary (source and destination apart): all equal the byte-at-a-time loop.
    #[test]
    fn every_path_matches_naive_loop() {
        let lens = (0..=200).chain([255, 256, 1000, 4093, 65536 + 3]);
        let mut space = vec![0u8; 65536 + 3 + 2 * ALIGN];
        for len in lens {
            for phase in 0..8 {
                for offset in [0, 1, 3, 8, 16, 17, 31] {
                    let src = data(len + offset);
                    let src = &src[offset..];
                    let mut want = src.to_vec();
                    let next = naive(&mut want, KEY, phase % 4);

                    let got = &mut space[offset..offset + len];
                    got.copy_from_slice(src);
                    assert_eq!(apply_mask(got, KEY, phase), next, "len {len} phase {phase}");
                    assert_eq!(got, &want[..], "len {len} phase {phase} offset {offset}");
                    assert_eq!(apply_mask(got, KEY, phase), next);
                    assert_eq!(got, src, "twice is identity");
                    apply_mask_body(got, KEY, phase);
                    assert_eq!(got, &want[..], "portable");

                    let at = (offset * 5 + 2) % ALIGN;
                    let out = &mut space[at..at + len];
                    out.fill(0xAA);
                    assert_eq!(mask_copy(out, src, KEY, phase), next);
                    assert_eq!(out, &want[..], "len {len} phase {phase} at {at}");
                    out.fill(0xAA);
                    mask_copy_body(out, src, KEY, phase);
                    assert_eq!(out, &want[..], "portable");

                    // Appended after `at` bytes already there, into spare capacity.
                    let mut vec = vec![0x55u8; at];
                    assert_eq!(extend_masked(&mut vec, src, KEY, phase), next);
                    assert_eq!(vec.len(), at + len);
                    assert!(vec[..at].iter().all(|&b| b == 0x55), "the old bytes stay");
                    assert_eq!(&vec[at..], &want[..], "extend_masked len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn mask_copy_uses_common_prefix() {
        let src = data(21);
        let mut want = src.clone();
        naive(&mut want, KEY, 2);
        let mut short = [0u8; 13];
        assert_eq!(mask_copy(&mut short, &src, KEY, 2), (2 + 13) % 4);
        assert_eq!(short[..], want[..13]);
        let mut long = [0xEEu8; 30];
        assert_eq!(mask_copy(&mut long, &src, KEY, 2), (2 + 21) % 4);
        assert_eq!(long[..21], want[..]);
        assert!(long[21..].iter().all(|&b| b == 0xEE));
        assert_eq!(apply_mask(&mut [], KEY, usize::MAX), usize::MAX % 4);
    }

    #[test]
    fn rfc_hello() {
        // RFC 6455 §5.7: a masked "Hello", then the same bytes unmasked in two pieces.
        let masked = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let mut buf = *b"Hello";
        assert_eq!(apply_mask(&mut buf, KEY, 0), 1);
        assert_eq!(buf, masked);
        let (a, b) = buf.split_at_mut(3);
        let p = apply_mask(a, KEY, 0);
        assert_eq!(apply_mask(b, KEY, p), 1);
        assert_eq!(&buf, b"Hello");
    }

    #[test]
    fn avx2_path_is_taken_where_available() {
        // The dispatch reports what it does; on a CPU with AVX2 the wide path must be the one
        // that ran above.
        #[cfg(target_arch = "x86_64")]
        assert_eq!(uses_avx2(), std::is_x86_feature_detected!("avx2"));
        #[cfg(not(target_arch = "x86_64"))]
        assert!(!uses_avx2());
    }
}
