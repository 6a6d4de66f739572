//! Stateless codec for the RFC 6455 §5.2 frame header.
//!
//! [`FrameHeader::decode`] judges only what the header alone can break (opcode, control frame
//! rules of §5.5, length encoding). RSV bits and the mask bit depend on negotiated extensions and
//! the endpoint's role, so they are reported, not judged.

use crate::error::ProtocolError;

/// The longest possible frame header: 2 bytes, an 8-byte extended length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// RSV1 within [`FrameHeader::rsv`].
pub const RSV1: u8 = 0b100;
/// RSV2 within [`FrameHeader::rsv`].
pub const RSV2: u8 = 0b010;
/// RSV3 within [`FrameHeader::rsv`].
pub const RSV3: u8 = 0b001;

/// A frame opcode defined by RFC 6455 §5.2 (reserved opcodes have no variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x0: continuation of a fragmented message.
    Continuation = 0,
    /// 0x1: text frame.
    Text = 1,
    /// 0x2: binary frame.
    Binary = 2,
    /// 0x8: connection close.
    Close = 8,
    /// 0x9: ping.
    Ping = 9,
    /// 0xA: pong.
    Pong = 10,
}

impl Opcode {
    /// The opcode for a 4-bit value; `None` for the reserved 0x3–0x7 and 0xB–0xF (and anything
    /// above 0xF).
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Continuation),
            1 => Some(Self::Text),
            2 => Some(Self::Binary),
            8 => Some(Self::Close),
            9 => Some(Self::Ping),
            10 => Some(Self::Pong),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// True for control frames (Close, Ping, Pong): opcodes with the top bit set (§5.5).
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded (or to-be-encoded) frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// The three RSV bits as a 3-bit value (see [`RSV1`], [`RSV2`], [`RSV3`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

/// Result of an incremental decode: `Partial` (more bytes needed) is not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// The input ends before the item does; call again with more bytes.
    Partial,
    /// The item, fully decoded.
    Complete(T),
}

/// Bytes of extended payload length that follow the first two header bytes (§5.2).
const fn ext_len(payload_len: u64) -> usize {
    match payload_len {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    }
}

impl FrameHeader {
    /// Decode a header from the start of `input`, returning `Complete((header, header_len))`.
    ///
    /// `Partial` if `input` is shorter than the header; never looks past the header (at most
    /// [`MAX_HEADER_LEN`] bytes). Errors are reported as soon as the bytes seen prove them.
    pub fn decode(input: &[u8]) -> Result<Status<(Self, usize)>, ProtocolError> {
        let Some(&b0) = input.first() else {
            return Ok(Status::Partial);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0b111;
        let op = b0 & 0x0F;
        // §5.2: reserved opcodes fail the connection.
        let opcode = Opcode::from_u8(op).ok_or(ProtocolError::ReservedOpcode(op))?;
        // §5.5: control frames MUST NOT be fragmented.
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        let Some(&b1) = input.get(1) else {
            return Ok(Status::Partial);
        };
        let len7 = b1 & 0x7F;
        // §5.5: control frames have a payload of 125 bytes or less.
        if opcode.is_control() && usize::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(ProtocolError::ControlFrameTooLong);
        }
        let payload_len = match len7 {
            126 => {
                let Some(&[hi, lo]) = input.get(2..4) else {
                    return Ok(Status::Partial);
                };
                let n = u16::from_be_bytes([hi, lo]);
                // §5.2: "the minimal number of bytes MUST be used to encode the length".
                if n < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                u64::from(n)
            }
            127 => {
                // §5.2: the most significant bit of a 64-bit length MUST be 0.
                if input.get(2).is_some_and(|&b| b & 0x80 != 0) {
                    return Err(ProtocolError::LengthMsbSet);
                }
                // §5.2 minimal encoding: six zero high bytes mean a length <= 0xFFFF.
                if input.get(2..8).is_some_and(|hi| hi.iter().all(|&b| b == 0)) {
                    return Err(ProtocolError::NonMinimalLength);
                }
                let Some(&[a, b, c, d, e, f, g, h]) = input.get(2..10) else {
                    return Ok(Status::Partial);
                };
                u64::from_be_bytes([a, b, c, d, e, f, g, h])
            }
            n => u64::from(n),
        };
        let mut len = 2 + ext_len(payload_len);
        let mask = if b1 & 0x80 != 0 {
            let Some(&[a, b, c, d]) = input.get(len..len + 4) else {
                return Ok(Status::Partial);
            };
            len += 4;
            Some([a, b, c, d])
        } else {
            None
        };
        let header = Self {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        };
        Ok(Status::Complete((header, len)))
    }

    /// Bytes [`encode`](Self::encode) will write: 2, 4 or 10, plus 4 if masked.
    pub const fn encoded_len(&self) -> usize {
        2 + ext_len(self.payload_len) + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encode into `out` with the minimal length encoding (§5.2), returning the bytes written.
    ///
    /// Nothing is judged here: only the low 3 bits of `rsv` are used, and the caller keeps
    /// control payloads within 125 bytes and `payload_len` below 2^63.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = u8::from(self.fin) << 7 | (self.rsv & 0b111) << 4 | self.opcode.as_u8();
        let len = self.payload_len;
        let mut n = match ext_len(len) {
            0 => {
                out[1] = len as u8;
                2
            }
            2 => {
                out[1] = 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            _ => {
                out[1] = 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[1] |= 0x80;
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Opcode::*;
    use ProtocolError::*;

    fn dec(bytes: &[u8]) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::decode(bytes)
    }

    fn hdr(fin: bool, opcode: Opcode, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
        let rsv = 0;
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        }
    }

    /// Checks decode and encode both ways, and Partial for every strict prefix.
    fn both_ways(bytes: &[u8], h: FrameHeader) {
        let done = Ok(Status::Complete((h, bytes.len())));
        assert_eq!(dec(bytes), done);
        assert_eq!(dec(&[bytes, b"payload"].concat()), done);
        for k in 0..bytes.len() {
            assert_eq!(dec(&bytes[..k]), Ok(Status::Partial), "{bytes:x?}[..{k}]");
        }
        let mut out = [0; MAX_HEADER_LEN];
        assert_eq!(h.encode(&mut out), bytes.len());
        assert_eq!(h.encoded_len(), bytes.len());
        assert_eq!(&out[..bytes.len()], bytes);
    }

    #[test]
    fn rfc_5_7_examples() {
        let key = Some([0x37, 0xfa, 0x21, 0x3d]);
        both_ways(&[0x81, 0x05], hdr(true, Text, None, 5));
        both_ways(
            &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d],
            hdr(true, Text, key, 5),
        );
        both_ways(&[0x01, 0x03], hdr(false, Text, None, 3));
        both_ways(&[0x80, 0x02], hdr(true, Continuation, None, 2));
        both_ways(&[0x89, 0x05], hdr(true, Ping, None, 5));
        both_ways(
            &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d],
            hdr(true, Pong, key, 5),
        );
        both_ways(&[0x82, 0x7E, 0x01, 0x00], hdr(true, Binary, None, 256));
        let big = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        both_ways(&big, hdr(true, Binary, None, 65536));
    }

    #[test]
    fn opcodes() {
        for v in 0..=255u8 {
            match Opcode::from_u8(v) {
                Some(op) => assert_eq!(op.as_u8(), v),
                None => assert!(matches!(v, 3..=7 | 0xB..), "{v}"),
            }
        }
        for v in (3..=7).chain(0xB..=0xF) {
            for b0 in [v, 0x80 | v, 0xF0 | v] {
                assert_eq!(dec(&[b0]), Err(ReservedOpcode(v)));
                assert_eq!(dec(&[b0, 0x85]), Err(ReservedOpcode(v)));
            }
        }
        assert!([Close, Ping, Pong].iter().all(|op| op.is_control()));
        assert!(![Continuation, Text, Binary]
            .iter()
            .any(|op| op.is_control()));
    }

    #[test]
    fn errors_as_early_as_possible() {
        for op in [0x8, 0x9, 0xA] {
            assert_eq!(dec(&[op]), Err(FragmentedControlFrame));
            assert_eq!(dec(&[0x80 | op, 0xFD]), Ok(Status::Partial));
            assert_eq!(dec(&[0x80 | op, 126]), Err(ControlFrameTooLong));
            assert_eq!(dec(&[0x80 | op, 0xFF]), Err(ControlFrameTooLong));
        }
        assert_eq!(dec(&[0x82, 0x7E, 0]), Ok(Status::Partial));
        assert_eq!(dec(&[0x82, 0x7E, 0, 125]), Err(NonMinimalLength));
        assert_eq!(dec(&[0x82, 0xFE, 0, 0]), Err(NonMinimalLength));
        both_ways(&[0x82, 0x7E, 0, 126], hdr(true, Binary, None, 126));
        assert_eq!(dec(&[0x82, 0x7F, 0x80]), Err(LengthMsbSet));
        assert_eq!(dec(&[0x02, 0xFF, 0xFF, 0xFF]), Err(LengthMsbSet));
        assert_eq!(dec(&[0x82, 0x7F, 0, 0, 0, 0, 0]), Ok(Status::Partial));
        assert_eq!(dec(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0]), Err(NonMinimalLength));
        assert_eq!(
            dec(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
            Err(NonMinimalLength)
        );
        let h = hdr(true, Binary, None, 0x1_0000_0000);
        both_ways(&[0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0], h);
    }

    #[test]
    fn round_trip_spread() {
        let lens = [0, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 63) - 1];
        let mut count = 0;
        for opcode in [Continuation, Text, Binary, Close, Ping, Pong] {
            for (payload_len, fin, rsv) in lens
                .iter()
                .flat_map(|&l| (0..16).map(move |i| (l, i < 8, i % 8)))
            {
                for mask in [None, Some([1, 2, 3, 4]), Some([0xFF; 4])] {
                    let h = FrameHeader {
                        fin,
                        rsv,
                        opcode,
                        mask,
                        payload_len,
                    };
                    let mut out = [0; MAX_HEADER_LEN];
                    let n = h.encode(&mut out);
                    if !opcode.is_control() || (fin && payload_len <= 125) {
                        both_ways(&out[..n], h);
                        count += 1;
                    } else {
                        assert!(dec(&out[..n]).is_err());
                    }
                }
            }
        }
        assert_eq!(count, 3 * 9 * 16 * 3 + 3 * 3 * 8 * 3);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reencode_exactly() {
        let tails: [&[u8]; 4] = [
            &[],
            &[0; 12],
            &[0xFF; 12],
            &[0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7],
        ];
        for b0 in 0..=255u8 {
            for b1 in 0..=255u8 {
                for tail in tails {
                    let input = [&[b0, b1][..], tail].concat();
                    if let Ok(Status::Complete((h, n))) = dec(&input) {
                        let mut out = [0; MAX_HEADER_LEN];
                        assert_eq!(h.encode(&mut out), n);
                        assert_eq!(&out[..n], &input[..n]);
                    }
                }
            }
        }
    }
}
