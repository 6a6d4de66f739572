//! Streaming UTF-8 validation for text messages and close reasons (RFC 6455 §8.1).
//!
//! §8.1 says an endpoint that receives invalid UTF-8 MUST fail the connection; to fail fast, the
//! validator rejects as soon as the bytes seen so far cannot begin any valid UTF-8 text, even in
//! the middle of a sequence (e.g. `F4 90`, a code point above U+10FFFF, or `ED A0`, a surrogate).

use core::fmt;
use simdutf8::compat::from_utf8;

/// Returned when bytes can never be valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for Utf8Error {}

/// Incremental validator that carries at most 3 pending bytes of an incomplete sequence between
/// calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// The start of an incomplete (but so far valid) sequence.
    pending: [u8; 3],
    /// How many bytes of `pending` are in use (0..=3).
    len: u8,
}

/// Checks `bytes`: `Ok(tail)` where `tail` is an incomplete but valid sequence at the end (empty
/// if `bytes` is complete text), `Err` if the bytes cannot be a prefix of valid UTF-8.
fn check(bytes: &[u8]) -> Result<&[u8], Utf8Error> {
    match from_utf8(bytes) {
        Ok(_) => Ok(&[]),
        // `error_len() == None`: the input ended inside a sequence that is still a valid prefix.
        Err(e) if e.error_len().is_none() => bytes.get(e.valid_up_to()..).ok_or(Utf8Error),
        Err(_) => Err(Utf8Error),
    }
}

/// The length of the sequence a lead byte starts (0 for bytes that start none).
const fn sequence_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// The length of the sequence `bytes` ends inside of, if its lead byte is among the last 3
/// bytes and it needs more bytes than follow it (0 otherwise: the end is a character boundary,
/// or the bytes are invalid there, which validating them all finds).
fn incomplete_tail(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let lead = bytes[len - back];
        if lead & 0xC0 != 0x80 {
            // Not a continuation byte: the sequence it starts is cut if it needs more.
            return if sequence_len(lead) > back { back } else { 0 };
        }
    }
    0
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Self {
            pending: [0; 3],
            len: 0,
        }
    }

    /// Feed the next bytes of the text. `Err` as soon as the bytes seen so far cannot be a prefix
    /// of valid UTF-8. Each byte is examined once, except the at most 3 carried bytes of a sequence
    /// split across calls. After an error the validator is reset; the text is to be abandoned.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        let result = self.feed_inner(bytes);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn feed_inner(&mut self, mut bytes: &[u8]) -> Result<(), Utf8Error> {
        let held = usize::from(self.len);
        if held > 0 {
            // Complete the carried sequence with just the bytes it still needs.
            let pending = self.pending.get(..held).ok_or(Utf8Error)?;
            let need = sequence_len(self.pending[0]).saturating_sub(held);
            let (head, rest) = bytes.split_at(need.min(bytes.len()));
            let mut buf = [0u8; 4];
            let joined = buf.get_mut(..held + head.len()).ok_or(Utf8Error)?;
            let (a, b) = joined.split_at_mut(held);
            a.copy_from_slice(pending);
            b.copy_from_slice(head);
            let tail = check(joined)?;
            if !tail.is_empty() {
                // Still incomplete, so `bytes` was too short to finish it: nothing is left.
                return self.stash(tail);
            }
            self.len = 0;
            bytes = rest;
        }
        // The bulk goes through `wspc_simd::validate_utf8` (an AVX-512 kernel where the CPU has
        // one, else simdutf8's `basic` validator), which does not locate errors: a failed message
        // does not need to know where. Only the incomplete sequence a piece may end with is
        // looked at apart, and it is at most 3 bytes.
        let split = bytes.len() - incomplete_tail(bytes);
        let (body, tail) = bytes.split_at(split);
        if !wspc_simd::validate_utf8(body) {
            return Err(Utf8Error);
        }
        let tail = check(tail)?;
        self.stash(tail)
    }

    /// Keeps `tail` (an incomplete sequence, at most 3 bytes) as the pending bytes.
    fn stash(&mut self, tail: &[u8]) -> Result<(), Utf8Error> {
        let slot = self.pending.get_mut(..tail.len()).ok_or(Utf8Error)?;
        slot.copy_from_slice(tail);
        self.len = tail.len() as u8;
        Ok(())
    }

    /// End of the text: `Err` if an incomplete sequence is pending. Resets the validator either way.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let complete = self.is_complete();
        self.reset();
        if complete {
            Ok(())
        } else {
            Err(Utf8Error)
        }
    }

    /// Forget any pending bytes.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// True if no incomplete sequence is pending.
    pub const fn is_complete(&self) -> bool {
        self.len == 0
    }
}

/// Validate a complete byte string.
pub fn validate(bytes: &[u8]) -> bool {
    wspc_simd::validate_utf8(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True if `bytes` cannot be the start of any valid UTF-8 text.
    fn impossible(bytes: &[u8]) -> bool {
        std::str::from_utf8(bytes).is_err_and(|e| e.error_len().is_some())
    }

    /// Feeds `pieces` in turn and checks each result against std on the prefix so far, then
    /// `finish` against std on the whole.
    fn check_pieces(pieces: &[&[u8]]) {
        let mut v = Utf8Validator::new();
        let mut seen = Vec::new();
        for piece in pieces {
            seen.extend_from_slice(piece);
            let bad = impossible(&seen);
            assert_eq!(v.feed(piece).is_err(), bad, "{pieces:x?} at {seen:x?}");
            if bad {
                return;
            }
            assert!(v.len <= 3);
        }
        assert_eq!(
            v.finish().is_ok(),
            std::str::from_utf8(&seen).is_ok(),
            "{pieces:x?}"
        );
        assert!(v.is_complete());
    }

    fn cases() -> Vec<Vec<u8>> {
        let bytes: &[&[u8]] = &[
            b"",
            b"Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!",
            "κόσμε 😀 \u{10FFFF}\u{D7FF}\u{E000}\u{FFFD}\u{7F}\u{80}\u{7FF}\u{800}".as_bytes(),
            b"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF\xDF\xBF",
            // Autobahn 6.3/6.4: valid text broken by a code point above U+10FFFF or a surrogate.
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80\x65\x64\x69\x74\x65\x64",
            // Overlong forms.
            b"a\xC0\x80b",
            b"\xC1\xBF",
            b"\xE0\x80\x80",
            b"\xE0\x9F\xBF",
            b"\xF0\x80\x80\x80",
            b"\xF0\x8F\xBF\xBF",
            b"\xF8\x88\x80\x80\x80",
            // Surrogates, and beyond U+10FFFF.
            b"\xED\xA0\x80",
            b"\xED\xBF\xBF",
            b"\xED\xA0\x80\xED\xB0\x80",
            b"\xF4\x90\x80\x80",
            b"\xF5\x80\x80\x80",
            b"\xFE\xFF",
            // Lone continuation bytes and truncated sequences.
            b"\x80",
            b"ab\xBFcd",
            b"\xC2",
            b"\xE0\xA0",
            b"\xF0\x90\x80",
            b"\xC2\xE0\xA0\x80",
            b"\xF0\x90\x80x",
            b"\xE2\x82\xAC\xE2\x82",
        ];
        bytes.iter().map(|b| b.to_vec()).collect()
    }

    #[test]
    fn every_two_and_three_way_split() {
        for case in cases() {
            check_pieces(&[&case]);
            for i in 0..=case.len() {
                let (a, bc) = case.split_at(i);
                check_pieces(&[a, bc]);
                for j in 0..=bc.len() {
                    let (b, c) = bc.split_at(j);
                    check_pieces(&[a, b, c]);
                }
            }
            let bytewise: Vec<&[u8]> = case.chunks(1).collect();
            check_pieces(&bytewise);
            assert_eq!(validate(&case), std::str::from_utf8(&case).is_ok());
        }
    }

    #[test]
    fn all_short_strings_over_boundary_bytes() {
        let alphabet = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
            0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ];
        for &a in &alphabet {
            for &b in &alphabet {
                for &c in &alphabet {
                    for &d in &alphabet {
                        let s = [a, b, c, d];
                        check_pieces(&[&s[..1], &s[1..2], &s[2..3], &s[3..]]);
                        check_pieces(&[&s[..2], &s[2..]]);
                    }
                }
            }
        }
    }

    #[test]
    fn finish_and_reset() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xE2\x82"), Ok(()));
        assert!(!v.is_complete());
        assert_eq!(v.finish(), Err(Utf8Error));
        assert!(v.is_complete());
        assert_eq!(v.feed(b"\xF0\x9F"), Ok(()));
        v.reset();
        assert_eq!(v, Utf8Validator::new());
        assert_eq!(v.feed(b"\xF0\x9F\x98"), Ok(()));
        assert_eq!(v.feed(b""), Ok(()));
        assert_eq!(v.feed(b"\x80!"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
        assert_eq!(v.feed(b"\xC0"), Err(Utf8Error));
        assert_eq!(Utf8Error.to_string(), "invalid UTF-8");
    }
}
