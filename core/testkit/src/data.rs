//! Payloads: a counting [`pattern`], and seeded random bytes and text from a small generator
//! ([`XorShift`]), so that a big payload costs one seed to describe (and to shrink).

/// Bytes `0, 1, 2, …` (mod 251, so no period of 256 hides an offset error).
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A small deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `len` random bytes.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut r = XorShift::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&r.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Valid UTF-8 of exactly `len` bytes, mixing 1- to 4-byte characters (boundary code points
/// included).
pub fn random_text(seed: u64, len: usize) -> Vec<u8> {
    let mut r = XorShift::new(seed);
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let room = len - s.len();
        let width = 1 + r.below(4) as usize;
        let c = match width.min(room) {
            1 => char::from(r.below(0x80) as u8),
            2 => char::from_u32(0x80 + r.below(0x800 - 0x80) as u32).unwrap(),
            3 => {
                let c = 0x800 + r.below(0x1_0000 - 0x800 - 0x800) as u32;
                // Skip the surrogates U+D800..U+DFFF.
                char::from_u32(if c >= 0xD800 { c + 0x800 } else { c }).unwrap()
            }
            _ => char::from_u32(0x1_0000 + r.below(0x11_0000 - 0x1_0000) as u32).unwrap(),
        };
        s.push(c);
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_text_is_utf8_of_the_length() {
        for len in [0, 1, 2, 3, 4, 5, 100] {
            let t = random_text(len as u64, len);
            assert_eq!(t.len(), len);
            assert!(std::str::from_utf8(&t).is_ok());
        }
        assert_eq!(random_bytes(3, 13), random_bytes(3, 20)[..13]);
    }
}
