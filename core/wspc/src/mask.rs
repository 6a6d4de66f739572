//! Payload masking (RFC 6455 §5.3), a word at a time in safe code.
//!
//! §5.3: octet i of the transformed data is octet i of the original data XOR octet (i mod 4) of
//! the masking key. A payload may arrive in pieces, so both functions take the key position
//! (`phase`) of their first byte and return the phase of the byte after their last.

/// The key rotated so that its first byte lines up with `phase`, repeated to fill a `u64`.
///
/// Native-endian on both sides: byte j of a word read with `from_ne_bytes` meets byte j of the
/// pattern, which is `key[(phase + j) % 4]`.
#[inline]
fn pattern(key: [u8; 4], phase: usize) -> ([u8; 4], u64) {
    // Little-endian, byte j sits at bits 8j: rotating right by 8 * phase bits moves
    // `key[(j + phase) % 4]` to byte j (one instruction, where `<[u8]>::rotate_left` is a call).
    let k = (u32::from_le_bytes(key).rotate_right(8 * (phase % 4) as u32)).to_le_bytes();
    let [a, b, c, d] = k;
    (k, u64::from_ne_bytes([a, b, c, d, a, b, c, d]))
}

/// XOR `buf` in place with the 4-byte `key`, starting at key position `phase` (taken mod 4):
/// byte i of `buf` is XORed with `key[(phase + i) % 4]`. Returns the phase for the next byte,
/// `(phase + buf.len()) % 4`. Applying the same mask twice restores the data.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
    let (k, word) = pattern(key, phase);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        // Always 8 bytes; the conversion cannot fail.
        if let Ok(w) = <&mut [u8; 8]>::try_from(chunk) {
            *w = (u64::from_ne_bytes(*w) ^ word).to_ne_bytes();
        }
    }
    // Chunks are multiples of 4 bytes long, so the remainder starts at key position `phase`.
    for (b, m) in chunks.into_remainder().iter_mut().zip(k.iter().cycle()) {
        *b ^= m;
    }
    (phase % 4 + buf.len() % 4) % 4
}

/// Copy `src` into `dst` while masking it, fused in one pass, with the phase rules of
/// [`apply_mask`]. Only the common prefix of `min(dst.len(), src.len())` bytes is processed.
/// Returns the phase for the next byte.
pub fn mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4], phase: usize) -> usize {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let (k, word) = pattern(key, phase);
    let mut d_chunks = dst.chunks_exact_mut(8);
    let mut s_chunks = src.chunks_exact(8);
    for (d, s) in (&mut d_chunks).zip(&mut s_chunks) {
        // Always 8 bytes each; the conversions cannot fail.
        if let (Ok(d), Ok(s)) = (<&mut [u8; 8]>::try_from(d), <[u8; 8]>::try_from(s)) {
            *d = (u64::from_ne_bytes(s) ^ word).to_ne_bytes();
        }
    }
    let rest = d_chunks.into_remainder().iter_mut();
    for ((d, s), m) in rest.zip(s_chunks.remainder()).zip(k.iter().cycle()) {
        *d = s ^ m;
    }
    (phase % 4 + n % 4) % 4
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

    #[test]
    fn rfc_hello() {
        // RFC 6455 §5.7: a masked "Hello".
        let masked = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let mut buf = *b"Hello";
        assert_eq!(apply_mask(&mut buf, KEY, 0), 1);
        assert_eq!(buf, masked);
        let mut out = [0; 5];
        assert_eq!(mask_copy(&mut out, &masked, KEY, 0), 1);
        assert_eq!(&out, b"Hello");
        // The same bytes unmasked in two pieces, carrying the phase.
        let mut buf = masked;
        let (a, b) = buf.split_at_mut(3);
        let p = apply_mask(a, KEY, 0);
        assert_eq!(apply_mask(b, KEY, p), 1);
        assert_eq!(&buf, b"Hello");
    }

    #[test]
    fn matches_naive_loop() {
        let lens = (0..=70).chain([255, 256, 1000, 4093, 65536 + 3]);
        for len in lens {
            for phase in 0..8 {
                let src = data(len);
                let mut want = src.clone();
                let next = naive(&mut want, KEY, phase % 4);

                let mut got = src.clone();
                assert_eq!(
                    apply_mask(&mut got, KEY, phase),
                    next,
                    "len {len} phase {phase}"
                );
                assert_eq!(got, want, "len {len} phase {phase}");

                let mut out = vec![0xAA; len];
                assert_eq!(mask_copy(&mut out, &src, KEY, phase), next);
                assert_eq!(out, want);

                assert_eq!(apply_mask(&mut got, KEY, phase), next);
                assert_eq!(got, src, "twice is identity");
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
}
