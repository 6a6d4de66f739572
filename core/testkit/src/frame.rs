//! The one frame builder: frames as a peer writes them (RFC 6455 §5.2), written independently of
//! `wspc::frame`, so that tests can craft what the engine must accept and what it must refuse.
//!
//! [`RawFrame`] sets every header bit (FIN, RSV, any 4-bit opcode, reserved ones included), masks
//! the payload with any key or none, and encodes the length in any of the ways of [`LenEnc`]
//! (minimal, non-minimal, or with the 64-bit MSB set). [`raw_frame`], [`server_frame`],
//! [`client_frame`] and [`frame_to`] are the short forms for one frame's bytes, and [`mask`] is
//! the one masking helper (the reference parser of [`crate::parse`] unmasks with it too).

use wspc::frame::Opcode;
use wspc::Role;

/// XOR `bytes` with `key` from key position 0 (RFC 6455 §5.3: `j = i MOD 4`), independently of
/// `wspc::mask`. Applying it twice restores the bytes.
pub fn mask(bytes: &mut [u8], key: [u8; 4]) {
    for (i, b) in bytes.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// How a frame encodes its payload length (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenEnc {
    /// The minimal encoding.
    Minimal,
    /// Always the 16-bit form (non-minimal below 126).
    Wide16,
    /// Always the 64-bit form (non-minimal below 65536).
    Wide64,
    /// The 64-bit form with the most significant bit set.
    Msb64,
}

/// A frame with any header bits: FIN, RSV (3 bits), a 4-bit opcode (reserved ones included), a
/// mask key or none, a length encoding. The payload is given unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    /// The FIN bit.
    pub fin: bool,
    /// The RSV bits as a 3-bit value (RSV1 is `0b100`).
    pub rsv: u8,
    /// The opcode (4 bits; reserved values allowed).
    pub opcode: u8,
    /// The masking key: the MASK bit is set and the payload masked with it.
    pub mask: Option<[u8; 4]>,
    /// How the payload length is encoded.
    pub len: LenEnc,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// A final frame with no RSV bits and the minimal length encoding.
    pub fn new(opcode: u8, mask: Option<[u8; 4]>, payload: Vec<u8>) -> Self {
        Self {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            len: LenEnc::Minimal,
            payload,
        }
    }

    /// A frame whose first byte is `b0` (FIN, RSV and opcode bits as given), with the minimal
    /// length encoding.
    pub fn from_b0(b0: u8, mask: Option<[u8; 4]>, payload: Vec<u8>) -> Self {
        Self {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            ..Self::new(b0 & 0xF, mask, payload)
        }
    }

    /// The first header byte: FIN, RSV and opcode.
    pub fn b0(&self) -> u8 {
        u8::from(self.fin) << 7 | (self.rsv & 7) << 4 | (self.opcode & 0xF)
    }

    /// True for control opcodes (the top opcode bit set, RFC 6455 §5.5).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// Append the frame's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.b0());
        let m = if self.mask.is_some() { 0x80 } else { 0 };
        let n = self.payload.len() as u64;
        match self.len {
            LenEnc::Minimal if n < 126 => out.push(m | n as u8),
            LenEnc::Minimal | LenEnc::Wide16 if n <= 0xFFFF => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            LenEnc::Msb64 => {
                out.push(m | 127);
                out.extend_from_slice(&(n | 1 << 63).to_be_bytes());
            }
            _ => {
                out.push(m | 127);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
        let at = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.mask {
            mask(&mut out[at..], key);
        }
    }

    /// The frame's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + self.payload.len());
        self.encode(&mut out);
        out
    }
}

/// Encode frames into one stream.
pub fn encode_all(frames: &[RawFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        f.encode(&mut out);
    }
    out
}

/// A frame with first byte `b0` (FIN, RSV and opcode bits, any opcode value), the minimal
/// length encoding, and `payload` masked with `mask` if given.
pub fn raw_frame(b0: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    RawFrame::from_b0(b0, mask, payload.to_vec()).to_bytes()
}

/// The masking key of crafted client frames: the one of RFC 6455 §5.7's examples.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a server sends it (unmasked).
pub fn server_frame(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    raw_frame(u8::from(fin) << 7 | opcode.as_u8(), None, payload)
}

/// A frame as a client sends it (masked with [`KEY`]).
pub fn client_frame(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    raw_frame(u8::from(fin) << 7 | opcode.as_u8(), Some(KEY), payload)
}

/// A frame as `role`'s peer sends it towards `role`.
pub fn frame_to(role: Role, fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    match role {
        Role::Client => server_frame(fin, opcode, payload),
        Role::Server => client_frame(fin, opcode, payload),
    }
}

/// A close frame payload: the status big-endian, then the reason (RFC 6455 §5.5.1).
pub fn close_payload(status: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = status.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 §5.7: the example frames.
    #[test]
    fn rfc_examples() {
        let hello = b"Hello".to_vec();
        assert_eq!(
            RawFrame::new(0x1, None, hello.clone()).to_bytes(),
            b"\x81\x05Hello"
        );
        assert_eq!(
            RawFrame::new(0x1, Some(KEY), hello.clone()).to_bytes(),
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
        let mut first = RawFrame::new(0x1, None, b"Hel".to_vec());
        first.fin = false;
        let last = RawFrame::new(0x0, None, b"lo".to_vec());
        assert_eq!(encode_all(&[first, last]), b"\x01\x03Hel\x80\x02lo");
        assert_eq!(
            RawFrame::new(0x2, None, vec![0; 256]).to_bytes()[..4],
            [0x82, 0x7E, 0x01, 0x00]
        );
        assert_eq!(
            RawFrame::new(0x2, None, vec![0; 65536]).to_bytes()[..10],
            [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn length_encodings() {
        let f = |len, n| {
            let mut f = RawFrame::new(0x2, None, vec![0; n]);
            f.len = len;
            f.to_bytes()
        };
        assert_eq!(f(LenEnc::Wide16, 5)[..4], [0x82, 126, 0, 5]);
        assert_eq!(
            f(LenEnc::Wide64, 5)[..10],
            [0x82, 127, 0, 0, 0, 0, 0, 0, 0, 5]
        );
        assert_eq!(
            f(LenEnc::Msb64, 5)[..10],
            [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 5]
        );
        assert_eq!(f(LenEnc::Wide16, 70_000)[..2], [0x82, 127]);
        assert_eq!(raw_frame(0xF3, None, b"")[..], [0xF3, 0]);
    }
}
