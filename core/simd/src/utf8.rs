//! UTF-8 validation of whole byte slices, for text messages (RFC 6455 §8.1: invalid UTF-8 in a
//! text message fails the connection).
//!
//! On x86-64 CPUs with AVX-512BW and AVX-512VBMI, slices of at least [`WIDE_MIN`] bytes go
//! through a 64-byte-wide kernel of this crate; everything else goes to `simdutf8`'s `basic`
//! validator (AVX2 or SSE4.2 where the CPU has them). Both only answer valid or not: the engine
//! fails a text message at its first invalid piece and does not need the error's position.
//!
//! # The wide kernel
//!
//! It is the lookup algorithm of J. Keiser and D. Lemire, "Validating UTF-8 In Less Than One
//! Instruction Per Byte" (Software: Practice and Experience, 2021), which `simdutf8` also
//! implements for 32-byte vectors. Every error UTF-8 can have shows in the pair of a byte and
//! the byte before it, but for two: a sequence cut short by the end of the input, and a 3rd or
//! 4th byte that is missing or extra. So, for each byte:
//!
//! - three 16-entry tables, indexed by the high and the low nibble of the previous byte and by
//!   the high nibble of the byte itself, each give a set of error classes the pair might belong
//!   to; the pair is in error if one class is in all three sets;
//! - one class, "two continuation bytes in a row", is not an error when the byte two or three
//!   back starts a 3- or 4-byte sequence, and is an error exactly when that byte does not; the
//!   kernel computes that expectation and compares;
//! - at the end, the last three bytes must not start a sequence they do not complete.
//!
//! Blocks of 64 bytes with no byte above 0x7F skip the lookups, and runs of 256 such bytes are
//! recognised with one test. Each byte's predecessor comes
//! from one two-source byte permutation of the block and the one before; where the bytes two
//! and three back start long sequences is tracked as 64-bit masks and shifted with integer
//! instructions, which leaves the vector shuffle units to the lookups. The tables are
//! looked up with AVX-512VBMI's 64-entry byte permutation, which ignores the top two bits of
//! each index, so no nibble needs masking. The last, shorter block is copied into a zeroed
//! 64-byte buffer (zero bytes are ASCII, and valid). On a 1 MiB text with 40% non-ASCII
//! characters, on the AMD EPYC (Zen 4) machines this project runs on, it validated about 1.4×
//! as fast as `simdutf8`'s AVX2 build (see `reports/bench/SUMMARY.md`).

/// Below this many bytes `simdutf8` runs: the wide kernel's table loads and its padded last block
/// would cost more than they save.
pub const WIDE_MIN: usize = 64;

/// Whether `bytes` is valid UTF-8 as a whole (the end must not cut a sequence).
#[inline]
pub fn validate_utf8(bytes: &[u8]) -> bool {
    if bytes.len() >= WIDE_MIN {
        if let Some(valid) = wide::validate(bytes) {
            return valid;
        }
    }
    simdutf8::basic::from_utf8(bytes).is_ok()
}

/// `bytes` as a `String` if they are valid UTF-8 ([`validate_utf8`]), else given back: the
/// same answer as `String::from_utf8`, whose check runs at 2.6-2.8 GB/s on text with 40%
/// non-ASCII characters where [`validate_utf8`] runs at 42-48 GB/s (1 KiB to 1 MiB, on the
/// machine of `reports/bench/SUMMARY.md`): a 16 KiB message took 5.9 µs to check, more than
/// the rest of its echo.
#[inline]
pub fn string_from_utf8(bytes: Vec<u8>) -> Result<String, Vec<u8>> {
    if !validate_utf8(&bytes) {
        return Err(bytes);
    }
    // SAFETY: `validate_utf8` has just found `bytes` valid UTF-8 as a whole, which is all
    // `from_utf8_unchecked` requires. (Both of its paths are tested against
    // `std::str::from_utf8`: every 3-byte sequence across a block boundary, every combination
    // of four boundary bytes at every position that matters, random texts and corruptions.)
    #[allow(unsafe_code)]
    Ok(unsafe { String::from_utf8_unchecked(bytes) })
}

/// Whether [`validate_utf8`] runs its AVX-512 kernel on this CPU (for slices of at least
/// [`WIDE_MIN`] bytes); always `false` off x86-64. For benchmark reports and tests.
pub fn uses_avx512_utf8() -> bool {
    wide::available()
}

// The error classes of a pair (previous byte, byte). Bit 6 serves two classes that never meet:
// an overlong 4-byte sequence (F0 followed by 80..8F) and a code point above U+10FFFF (F5..FF,
// or F4 followed by 90..BF).
/// A lead byte followed by ASCII or by another lead byte.
const TOO_SHORT: u8 = 1 << 0;
/// ASCII followed by a continuation byte.
const TOO_LONG: u8 = 1 << 1;
/// E0 followed by 80..9F: a 3-byte sequence for a code point that fits in two.
const OVERLONG_3: u8 = 1 << 2;
/// F4, or any of F5..FF, followed by 90..BF: above U+10FFFF.
const TOO_LARGE: u8 = 1 << 3;
/// ED followed by A0..BF: a UTF-16 surrogate (U+D800..U+DFFF).
const SURROGATE: u8 = 1 << 4;
/// C0 or C1 followed by a continuation: a 2-byte sequence for an ASCII code point.
const OVERLONG_2: u8 = 1 << 5;
/// F5..FF followed by 80..8F (the part of "too large" that [`TOO_LARGE`]'s tables miss).
const TOO_LARGE_1000: u8 = 1 << 6;
/// F0 followed by 80..8F: a 4-byte sequence for a code point that fits in three.
const OVERLONG_4: u8 = 1 << 6;
/// A continuation followed by a continuation: valid only as the 3rd or 4th byte of a sequence.
const TWO_CONTS: u8 = 1 << 7;
/// The classes that depend on the previous byte's high nibble alone.
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/// By the previous byte's high nibble.
const PREV_HIGH: [u8; 16] = [
    // 0x0_..0x7_: ASCII
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    // 0x8_..0xB_: continuation
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    // 0xC_: 2-byte lead (C0 and C1 overlong)
    TOO_SHORT | OVERLONG_2,
    // 0xD_: 2-byte lead
    TOO_SHORT,
    // 0xE_: 3-byte lead (E0 overlong, ED surrogates)
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    // 0xF_: 4-byte lead (F0 overlong, F4 and up too large)
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
];

/// By the previous byte's low nibble.
const PREV_LOW: [u8; 16] = [
    // _0: C0, E0, F0
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    // _1: C1
    CARRY | OVERLONG_2,
    // _2, _3
    CARRY,
    CARRY,
    // _4: F4
    CARRY | TOO_LARGE,
    // _5.._F: F5..FF (and ED at _D)
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
];

/// By the byte's own high nibble.
const THIS_HIGH: [u8; 16] = [
    // 0x0_..0x7_: ASCII
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    // 0x8_
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    // 0x9_
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    // 0xA_, 0xB_
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    // 0xC_..0xF_: lead bytes
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
];

#[cfg(target_arch = "x86_64")]
mod wide {
    //! The AVX-512 kernel and its dispatch.

    use super::{PREV_HIGH, PREV_LOW, THIS_HIGH};
    use core::arch::x86_64::*;

    /// A 16-entry table indexed by a byte's high nibble, as a 64-entry table for the byte
    /// permutation indexed by the byte shifted right by 2: the permutation reads only the low 6
    /// bits of each index (bits 2..7 of the byte), so neither the two bits below the nibble nor
    /// the bits a 16-bit shift brings in from the neighbouring byte need masking off.
    const fn by_high_nibble(t: [u8; 16]) -> [u8; 64] {
        let mut out = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            out[i] = t[i >> 2];
            i += 1;
        }
        out
    }

    /// A 16-entry table indexed by a byte's low nibble, as a 64-entry table for the byte
    /// permutation indexed by the byte itself (it reads bits 0..5; bits 4 and 5 do not matter).
    const fn by_low_nibble(t: [u8; 16]) -> [u8; 64] {
        let mut out = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            out[i] = t[i % 16];
            i += 1;
        }
        out
    }

    static PREV_HIGH_64: [u8; 64] = by_high_nibble(PREV_HIGH);
    static PREV_LOW_64: [u8; 64] = by_low_nibble(PREV_LOW);
    static THIS_HIGH_64: [u8; 64] = by_high_nibble(THIS_HIGH);

    /// The largest byte each position of a block may hold without starting a sequence that the
    /// block's end cuts: anything in the first 61, below F0 third from the end, below E0 second
    /// from the end, below C0 last. A saturating subtraction of it leaves a non-zero byte
    /// exactly where a block ends inside a sequence.
    static LAST_MAX: [u8; 64] = {
        let mut m = [0xFF; 64];
        m[61] = 0xEF;
        m[62] = 0xDF;
        m[63] = 0xBF;
        m
    };

    /// Whether the CPU has what the kernel uses (std caches the answer).
    #[inline]
    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("avx512bw") && std::is_x86_feature_detected!("avx512vbmi")
    }

    /// `Some(valid)`, or `None` if the CPU lacks the features (the caller then validates).
    #[inline]
    pub(super) fn validate(bytes: &[u8]) -> Option<bool> {
        if !available() {
            return None;
        }
        // SAFETY: `validate_avx512` is safe code whose only requirement is that the CPU
        // supports AVX-512F, AVX-512BW and AVX-512VBMI; `available()` has just confirmed BW and
        // VBMI, and a CPU with either has AVX-512F.
        #[allow(unsafe_code)]
        Some(unsafe { validate_avx512(bytes) })
    }

    #[inline(always)]
    fn load(block: &[u8; 64]) -> __m512i {
        // SAFETY: `block` is 64 readable bytes, the size of the vector, and the unaligned load
        // has no alignment requirement.
        #[allow(unsafe_code)]
        unsafe {
            _mm512_loadu_si512(block.as_ptr().cast())
        }
    }

    /// The loop-invariant vectors.
    #[derive(Clone, Copy)]
    struct Tables {
        prev_high: __m512i,
        prev_low: __m512i,
        this_high: __m512i,
        last_max: __m512i,
        /// Byte permutation indices 63..126: byte 63 of the previous block, then bytes 0..62 of
        /// this one (each byte's predecessor).
        predecessor: __m512i,
    }

    static PREDECESSOR: [u8; 64] = {
        let mut idx = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            idx[i] = 63 + i as u8;
            i += 1;
        }
        idx
    };

    /// Where the previous block's bytes start sequences of 3 or more bytes (E0..FF) and of 4
    /// (F0..FF), one bit per byte: the bytes two and three positions on must be continuations.
    #[derive(Clone, Copy, Default)]
    struct Leads {
        three: u64,
        four: u64,
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn validate_avx512(bytes: &[u8]) -> bool {
        let t = Tables {
            prev_high: load(&PREV_HIGH_64),
            prev_low: load(&PREV_LOW_64),
            this_high: load(&THIS_HIGH_64),
            last_max: load(&LAST_MAX),
            predecessor: load(&PREDECESSOR),
        };
        // The previous block (zeros, ASCII, before the first), its leads, and the errors so far
        // (any bit set is an error).
        let mut prev = _mm512_setzero_si512();
        let mut leads = Leads::default();
        let mut error = _mm512_setzero_si512();
        // Four blocks at a time first: a run of ASCII (most text, and all of many texts) costs
        // one test per 256 bytes instead of one per block.
        let mut quads = bytes.chunks_exact(256);
        for quad in &mut quads {
            let (Ok(b0), Ok(b1), Ok(b2), Ok(b3)) = (
                <&[u8; 64]>::try_from(&quad[..64]),
                <&[u8; 64]>::try_from(&quad[64..128]),
                <&[u8; 64]>::try_from(&quad[128..192]),
                <&[u8; 64]>::try_from(&quad[192..]),
            ) else {
                continue;
            };
            let blocks = [load(b0), load(b1), load(b2), load(b3)];
            // 0xFE: a OR b OR c.
            let any = _mm512_ternarylogic_epi32::<0xFE>(
                blocks[0],
                blocks[1],
                _mm512_or_si512(blocks[2], blocks[3]),
            );
            if _mm512_movepi8_mask(any) == 0 {
                // All ASCII: what `step` would find block by block, once.
                error = after_ascii(&t, prev, &mut leads, error);
                prev = blocks[3];
                continue;
            }
            for input in blocks {
                error = step(&t, prev, &mut leads, input, error);
                prev = input;
            }
        }
        let mut blocks = quads.remainder().chunks_exact(64);
        for block in &mut blocks {
            if let Ok(block) = <&[u8; 64]>::try_from(block) {
                let input = load(block);
                error = step(&t, prev, &mut leads, input, error);
                prev = input;
            }
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 64];
            last[..rest.len()].copy_from_slice(rest);
            let input = load(&last);
            error = step(&t, prev, &mut leads, input, error);
            prev = input;
        }
        // The text must not end inside a sequence.
        error = _mm512_or_si512(error, _mm512_subs_epu8(prev, t.last_max));
        _mm512_test_epi8_mask(error, error) == 0
    }

    /// ASCII after the block `prev`: nothing to look up, but a sequence `prev` began is cut
    /// (`error` gains that), and no lead is carried on.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn after_ascii(t: &Tables, prev: __m512i, leads: &mut Leads, error: __m512i) -> __m512i {
        *leads = Leads::default();
        _mm512_or_si512(error, _mm512_subs_epu8(prev, t.last_max))
    }

    /// One 64-byte block `input` after the block `prev` whose `leads` are given (and replaced by
    /// this block's): `error` with this block's errors added.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn step(
        t: &Tables,
        prev: __m512i,
        leads: &mut Leads,
        input: __m512i,
        error: __m512i,
    ) -> __m512i {
        if _mm512_movepi8_mask(input) == 0 {
            return after_ascii(t, prev, leads, error);
        }
        // Each byte's predecessor (the first one's is the previous block's last byte).
        let prev1 = _mm512_permutex2var_epi8(prev, t.predecessor, input);
        let prev_high = _mm512_permutexvar_epi8(_mm512_srli_epi16::<2>(prev1), t.prev_high);
        let prev_low = _mm512_permutexvar_epi8(prev1, t.prev_low);
        let this_high = _mm512_permutexvar_epi8(_mm512_srli_epi16::<2>(input), t.this_high);
        // 0x80: a AND b AND c.
        let special = _mm512_ternarylogic_epi32::<0x80>(prev_high, prev_low, this_high);
        // TWO_CONTS is expected exactly where the byte two back starts 3 or more bytes or the
        // byte three back starts 4: as bit masks, shifted across the block boundary with
        // integer shifts rather than two more byte shuffles.
        let three = _mm512_cmpge_epu8_mask(input, _mm512_set1_epi8(0xE0u8 as i8));
        let four = _mm512_cmpge_epu8_mask(input, _mm512_set1_epi8(0xF0u8 as i8));
        let expected_at = (three << 2) | (leads.three >> 62) | (four << 3) | (leads.four >> 61);
        *leads = Leads { three, four };
        let expected = _mm512_maskz_mov_epi8(expected_at, _mm512_set1_epi8(0x80u8 as i8));
        // 0xF6: a OR (b XOR c).
        _mm512_ternarylogic_epi32::<0xF6>(error, expected, special)
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod wide {
    //! No wide kernel off x86-64.

    pub(super) fn available() -> bool {
        false
    }

    pub(super) fn validate(_: &[u8]) -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_says(bytes: &[u8]) -> bool {
        core::str::from_utf8(bytes).is_ok()
    }

    /// Every byte value where a class begins or ends, and ASCII.
    const EDGES: [u8; 25] = [
        0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
        0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
    ];

    #[test]
    fn every_four_edge_bytes_at_every_block_position_agree_with_std() {
        let mut checked = 0;
        for a in EDGES {
            for b in EDGES {
                for c in EDGES {
                    for d in EDGES {
                        // Block boundaries at 64, 128 and 192, the end of a run of four
                        // blocks at 256 (a run of ASCII follows up to 512), and the end.
                        for at in [0, 30, 61, 62, 63, 64, 124, 190, 253, 254, 255, 256, 509] {
                            let mut buf = [b'a'; 520];
                            buf[at..at + 4].copy_from_slice(&[a, b, c, d]);
                            // Cut right after the four bytes (the end may cut a sequence), and
                            // followed by ASCII.
                            for end in [at + 4, buf.len()] {
                                let s = &buf[..end];
                                assert_eq!(
                                    validate_utf8(s),
                                    std_says(s),
                                    "{:02x?} at {at}",
                                    &s[at..]
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 25usize.pow(4) * 26);
    }

    #[test]
    fn every_three_bytes_across_a_block_boundary_agree_with_std() {
        for x in 0..1u32 << 24 {
            let [a, b, c, _] = x.to_le_bytes();
            let mut buf = [b'a'; 66];
            buf[62..65].copy_from_slice(&[a, b, c]);
            assert_eq!(validate_utf8(&buf), std_says(&buf), "{:02x?}", &buf[62..65]);
            assert_eq!(
                validate_utf8(&buf[..65]),
                std_says(&buf[..65]),
                "{:02x?} at the end",
                &buf[62..65]
            );
        }
    }

    #[test]
    fn random_texts_and_their_corruptions_agree_with_std() {
        // xorshift64*: reproducible without a dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for round in 0..3000 {
            let len = (next() % 400) as usize;
            let mut text = String::new();
            while text.len() < len {
                let c = match next() % 4 {
                    0 => char::from_u32((next() % 0x80) as u32),
                    1 => char::from_u32(0x80 + (next() % 0x780) as u32),
                    2 => char::from_u32(0x800 + (next() % 0xF800) as u32),
                    _ => char::from_u32(0x10000 + (next() % 0x100000) as u32),
                };
                text.extend(c);
            }
            let mut bytes = text.into_bytes();
            assert!(validate_utf8(&bytes), "round {round}: valid text refused");
            if !bytes.is_empty() {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
                assert_eq!(validate_utf8(&bytes), std_says(&bytes), "round {round}");
                let cut = (next() as usize) % bytes.len();
                assert_eq!(
                    validate_utf8(&bytes[..cut]),
                    std_says(&bytes[..cut]),
                    "round {round}"
                );
            }
        }
    }

    #[test]
    fn string_from_utf8_answers_as_std() {
        let text: String = (0..5000u32)
            .map(|i| ['a', 'é', '€', '𝄞'][(i % 4) as usize])
            .collect();
        for len in [0, 1, 63, 64, 65, 1000, text.len()] {
            let mut end = len;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let bytes = text.as_bytes()[..end].to_vec();
            assert_eq!(string_from_utf8(bytes.clone()).unwrap(), text[..end]);
            if end > 1 {
                // Cut inside a character, or with a stray continuation byte: given back whole.
                let mut bad = bytes.clone();
                bad.push(0x80);
                assert!(String::from_utf8(bad.clone()).is_err());
                assert_eq!(string_from_utf8(bad.clone()), Err(bad));
            }
        }
    }

    #[test]
    fn wide_path_is_taken_where_available() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            uses_avx512_utf8(),
            std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vbmi")
        );
        #[cfg(not(target_arch = "x86_64"))]
        assert!(!uses_avx512_utf8());
    }
}
