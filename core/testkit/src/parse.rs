//! The one reference parser, written from RFC 6455 (§5, §7.4, §8.1) without `wspc::frame` or
//! `wspc::mask`: one header decoder ([`check_head`] with the rules, [`read_head`] without), on
//! which stand
//!
//! - [`parse_frames`]: read back what the engine wrote (whole, well-formed frames, or a panic);
//! - [`parse_lax`]: split any stream into its whole frames without judging them (for crafted and
//!   mutated streams);
//! - [`Reference`]: predict what a receiver of a given role delivers from a stream, and the
//!   protocol error it fails with, if any. The session fuzz harnesses compare the engine with it.
//!
//! Errors are the engine's [`ProtocolError`] values, reported as soon as the bytes prove them:
//! the opcode rules on the first byte, the control frame length on the second, the length
//! encoding rules on the bytes of the extended length; RSV bits, masking and fragmentation once
//! the header is complete.

use crate::frame::{mask, LenEnc, RawFrame};
use wspc::frame::Opcode;
use wspc::{CloseStatus, ProtocolError, Role};

/// A frame header as declared on the wire, any bits allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// The FIN bit.
    pub fin: bool,
    /// The RSV bits as a 3-bit value (RSV1 is `0b100`).
    pub rsv: u8,
    /// The opcode (4 bits; reserved values too).
    pub opcode: u8,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The declared payload length (with the MSB, if a 64-bit length has it set).
    pub len: u64,
    /// How the length was encoded.
    pub enc: LenEnc,
}

impl Head {
    /// The first header byte: FIN, RSV and opcode.
    pub fn b0(&self) -> u8 {
        u8::from(self.fin) << 7 | self.rsv << 4 | self.opcode
    }

    /// The opcode, if RFC 6455 §5.2 defines it (0x0–0x2, 0x8–0xA).
    pub fn kind(&self) -> Option<Opcode> {
        Opcode::from_u8(self.opcode)
    }

    /// True for control opcodes, reserved ones included (the top opcode bit set, §5.5).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// The header at the start of `bytes` and its length in bytes, with the rules of §5.2 and §5.5
/// that a header alone can break: defined opcodes, control frames final and at most 125 bytes,
/// minimal length encodings, no 64-bit length with the MSB set. `Ok(None)` while the header is
/// incomplete and nothing seen so far breaks a rule. RSV bits and masking are left to the caller.
pub fn check_head(bytes: &[u8]) -> Result<Option<(Head, usize)>, ProtocolError> {
    head(bytes, true)
}

/// The header at the start of `bytes` and its length, whatever its bits (`None` while
/// incomplete).
pub fn read_head(bytes: &[u8]) -> Option<(Head, usize)> {
    head(bytes, false).unwrap_or_else(|_| unreachable!("no rule is checked"))
}

fn head(input: &[u8], strict: bool) -> Result<Option<(Head, usize)>, ProtocolError> {
    let Some(&b0) = input.first() else {
        return Ok(None);
    };
    let (fin, rsv, opcode) = (b0 & 0x80 != 0, (b0 >> 4) & 7, b0 & 0xF);
    let control = opcode & 0x8 != 0;
    if strict {
        // §5.2: an unknown opcode fails the connection.
        if !matches!(opcode, 0x0..=0x2 | 0x8..=0xA) {
            return Err(ProtocolError::ReservedOpcode(opcode));
        }
        // §5.5: "Control frames themselves MUST NOT be fragmented."
        if control && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
    }
    let Some(&b1) = input.get(1) else {
        return Ok(None);
    };
    let len7 = b1 & 0x7F;
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less."
    if strict && control && len7 > 125 {
        return Err(ProtocolError::ControlFrameTooLong);
    }
    let (len, enc, mut n) = match len7 {
        126 => {
            let Some(&[hi, lo]) = input.get(2..4) else {
                return Ok(None);
            };
            let len = u64::from(u16::from_be_bytes([hi, lo]));
            // §5.2: "the minimal number of bytes MUST be used to encode the length".
            if strict && len < 126 {
                return Err(ProtocolError::NonMinimalLength);
            }
            let enc = if len < 126 {
                LenEnc::Wide16
            } else {
                LenEnc::Minimal
            };
            (len, enc, 4)
        }
        127 => {
            if strict {
                // §5.2: "the most significant bit MUST be 0".
                if input.get(2).is_some_and(|&x| x & 0x80 != 0) {
                    return Err(ProtocolError::LengthMsbSet);
                }
                // Six zero high bytes: a length below 65536, which has a shorter encoding.
                if input.get(2..8).is_some_and(|hi| hi.iter().all(|&x| x == 0)) {
                    return Err(ProtocolError::NonMinimalLength);
                }
            }
            let Some(&[a, b, c, d, e, f, g, h]) = input.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
            let enc = match len {
                _ if len >> 63 != 0 => LenEnc::Msb64,
                0..=0xFFFF => LenEnc::Wide64,
                _ => LenEnc::Minimal,
            };
            (len, enc, 10)
        }
        short => (u64::from(short), LenEnc::Minimal, 2),
    };
    let mask = if b1 & 0x80 != 0 {
        let Some(&[k0, k1, k2, k3]) = input.get(n..n + 4) else {
            return Ok(None);
        };
        n += 4;
        Some([k0, k1, k2, k3])
    } else {
        None
    };
    let head = Head {
        fin,
        rsv,
        opcode,
        mask,
        len,
        enc,
    };
    Ok(Some((head, n)))
}

/// A whole frame read back from a stream, its payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header as declared.
    pub head: Head,
    /// The length of the header in bytes (2 to 14).
    pub header_len: usize,
    /// The offset of the frame in the stream.
    pub start: usize,
    /// The offset of the byte after the frame.
    pub end: usize,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The opcode (panics on a reserved one, which [`parse_frames`] never returns).
    pub fn opcode(&self) -> Opcode {
        self.head.kind().expect("a defined opcode")
    }

    /// The same frame for the builder: header bits, key, length encoding and payload; it encodes
    /// back to the bytes it was read from.
    pub fn to_raw(&self) -> RawFrame {
        RawFrame {
            fin: self.head.fin,
            rsv: self.head.rsv,
            opcode: self.head.opcode,
            mask: self.head.mask,
            len: self.head.enc,
            payload: self.payload.clone(),
        }
    }
}

/// Split `bytes` into whole frames without judging them (any opcode, bits or length encoding);
/// returns them and the offset where the first incomplete frame (or the end) starts.
pub fn parse_lax(bytes: &[u8]) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    let mut at = 0;
    while let Some((head, n)) = read_head(&bytes[at..]) {
        if ((bytes.len() - at - n) as u64) < head.len {
            break;
        }
        let end = at + n + head.len as usize;
        let mut payload = bytes[at + n..end].to_vec();
        if let Some(key) = head.mask {
            mask(&mut payload, key);
        }
        frames.push(Frame {
            head,
            header_len: n,
            start: at,
            end,
            payload,
        });
        at = end;
    }
    (frames, at)
}

/// Split a stream the engine wrote into its frames: every header must pass [`check_head`] and the
/// stream must end with a whole frame (panics otherwise). RSV bits and masks are returned, not
/// judged.
pub fn parse_frames(bytes: &[u8]) -> Vec<Frame> {
    let (frames, whole) = parse_lax(bytes);
    for f in &frames {
        let checked = check_head(&bytes[f.start..]);
        assert!(
            matches!(checked, Ok(Some(_))),
            "bad frame stream at {:x?}: {checked:?}",
            &bytes[f.start..]
        );
    }
    assert_eq!(
        whole,
        bytes.len(),
        "truncated or bad frame at {:x?}: {:?}",
        &bytes[whole..],
        check_head(&bytes[whole..])
    );
    frames
}

/// What a receiver delivers, with the data pieces of a message run together (see
/// [`push_event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Data: text or binary, the bytes so far, and whether the message ended with them.
    Data {
        /// A text message.
        text: bool,
        /// The bytes.
        bytes: Vec<u8>,
        /// The message is complete.
        fin: bool,
    },
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// A close: the status (1005 for an empty close frame) and the reason.
    Close(u16, Vec<u8>),
}

/// Append `e` to `events`, running data pieces of one message together (panics if a message
/// mixes text and binary) and dropping empty non-final pieces.
pub fn push_event(events: &mut Vec<Event>, e: Event) {
    if let (
        Some(Event::Data {
            text, bytes, fin, ..
        }),
        Event::Data {
            text: t,
            bytes: b,
            fin: f,
        },
    ) = (events.last_mut(), &e)
    {
        if !*fin {
            assert_eq!(text, t, "text and binary pieces in one message");
            bytes.extend_from_slice(b);
            *fin = *f;
            return;
        }
    }
    if matches!(&e, Event::Data { bytes, fin: false, .. } if bytes.is_empty()) {
        return;
    }
    events.push(e);
}

/// A receiver's settings, as far as they change what a stream means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The receiver's role: a server requires masked frames, a client refuses them (§5.1).
    pub role: Role,
    /// A server accepts unmasked frames too (the `DisableMasking` property).
    pub accept_unmasked: bool,
    /// Text and close reasons must be valid UTF-8 (§8.1; off with `DisableUtf8Verification`).
    pub verify_utf8: bool,
}

/// What [`Reference::parse`] finds in a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// What the receiver delivers, in order; the last data run may be cut where the stream ends
    /// or fails.
    pub events: Vec<Event>,
    /// The payloads of the pings (the receiver answers them, it does not deliver them).
    pub pings: Vec<Vec<u8>>,
    /// The protocol error the receiver fails with.
    pub error: Option<ProtocolError>,
}

impl Reference {
    /// A receiver of `role` with the default settings (masking required of clients, UTF-8
    /// verified).
    pub fn new(role: Role) -> Self {
        Self {
            role,
            accept_unmasked: false,
            verify_utf8: true,
        }
    }

    /// Parse `wire` until it ends (a partial frame delivers what it has of a data payload), a
    /// close arrives, or a rule is broken.
    pub fn parse(&self, wire: &[u8]) -> Parsed {
        let mut out = Parsed::default();
        out.error = self.parse_into(wire, &mut out).err();
        out
    }

    fn parse_into(&self, wire: &[u8], out: &mut Parsed) -> Result<(), ProtocolError> {
        let verify = self.verify_utf8;
        let mut pos = 0;
        // The open message: text or not; its bytes so far (text only), valid up to `ok`.
        let mut message: Option<bool> = None;
        let mut text = Vec::new();
        let mut ok = 0;
        loop {
            let Some((h, n)) = check_head(&wire[pos..])? else {
                return Ok(());
            };
            // §5.2: no extension is negotiated, so every RSV bit is an error.
            if h.rsv != 0 {
                return Err(ProtocolError::ReservedBits(h.rsv));
            }
            // §5.1: clients mask, servers do not (a server may be told to accept unmasked
            // frames).
            match (self.role, h.mask) {
                (Role::Server, None) if !self.accept_unmasked => {
                    return Err(ProtocolError::UnmaskedFrame)
                }
                (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame),
                _ => {}
            }
            let opcode = h.kind().expect("checked by check_head");
            // §5.4: fragments.
            match (opcode, message) {
                (Opcode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
                (Opcode::Text | Opcode::Binary, Some(_)) => {
                    return Err(ProtocolError::ExpectedContinuation)
                }
                (Opcode::Text | Opcode::Binary, None) => {
                    message = Some(opcode == Opcode::Text);
                    text.clear();
                    ok = 0;
                }
                _ => {}
            }
            pos += n;
            let len = h.len;
            let avail = ((wire.len() - pos) as u64).min(len) as usize;
            let mut payload = wire[pos..pos + avail].to_vec();
            if let Some(k) = h.mask {
                mask(&mut payload, k);
            }
            pos += avail;
            if h.is_control() {
                if (avail as u64) < len {
                    return Ok(());
                }
                match opcode {
                    Opcode::Ping => out.pings.push(payload),
                    Opcode::Pong => out.events.push(Event::Pong(payload)),
                    _ => {
                        // §5.5.1, §7.4: the close body.
                        let (status, reason) = match &payload[..] {
                            [] => (CloseStatus::EMPTY.0, Vec::new()),
                            [_] => return Err(ProtocolError::CloseFrameTooShort),
                            [hi, lo, reason @ ..] => {
                                let status = u16::from_be_bytes([*hi, *lo]);
                                if !CloseStatus(status).is_valid_on_wire() {
                                    return Err(ProtocolError::InvalidCloseStatus(status));
                                }
                                if verify && std::str::from_utf8(reason).is_err() {
                                    return Err(ProtocolError::InvalidUtf8);
                                }
                                (status, reason.to_vec())
                            }
                        };
                        out.events.push(Event::Close(status, reason));
                        return Ok(());
                    }
                }
                continue;
            }
            let is_text = message.unwrap_or(false);
            let last = h.fin && avail as u64 == len;
            if last {
                message = None;
            }
            if is_text && verify {
                text.extend_from_slice(&payload);
            }
            // The whole payload, even if it fails below: pieces before the failing byte may
            // have been delivered (the engine's run of pieces must be a prefix of it).
            push_event(
                &mut out.events,
                Event::Data {
                    text: is_text,
                    bytes: payload,
                    fin: last,
                },
            );
            if is_text && verify {
                // §8.1: fail as soon as the text cannot be UTF-8, and at its end if it is cut.
                match std::str::from_utf8(&text[ok..]) {
                    Ok(_) => ok = text.len(),
                    Err(e) if e.error_len().is_some() || last => {
                        return Err(ProtocolError::InvalidUtf8)
                    }
                    Err(e) => ok += e.valid_up_to(),
                }
            }
            if (avail as u64) < len {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode_all, KEY};

    #[test]
    fn errors_as_soon_as_the_bytes_prove_them() {
        let cases: [(&[u8], ProtocolError); 6] = [
            (&[0x83], ProtocolError::ReservedOpcode(3)),
            (&[0x09], ProtocolError::FragmentedControlFrame),
            (&[0x89, 0x7E], ProtocolError::ControlFrameTooLong),
            (&[0x82, 0x7E, 0, 125], ProtocolError::NonMinimalLength),
            (&[0x82, 0x7F, 0x80], ProtocolError::LengthMsbSet),
            (
                &[0x82, 0x7F, 0, 0, 0, 0, 0, 0],
                ProtocolError::NonMinimalLength,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(check_head(bytes), Err(want), "{bytes:x?}");
            assert!(check_head(&bytes[..bytes.len() - 1]).is_ok_and(|h| h.is_none()));
        }
    }

    /// The reference decoder is written independently of `wspc::frame`; on any header bytes
    /// the two agree: the same header, length, `Partial`/`None`, and error.
    #[test]
    fn agrees_with_the_engine_decoder() {
        use crate::data::XorShift;
        use wspc::frame::{FrameHeader, Status};
        let mut r = XorShift::new(6455);
        for _ in 0..200_000 {
            let len = r.below(15) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| r.next_u64() as u8).collect();
            // Mostly interesting first bytes, length codes and zero length bytes.
            if len > 0 && r.below(2) == 0 {
                b[0] = [
                    0x81, 0x82, 0x80, 0x88, 0x89, 0x8A, 0x09, 0x01, 0xC1, 0x83, 0x8B,
                ][r.below(11) as usize];
            }
            if len > 1 && r.below(2) == 0 {
                b[1] = [125, 126, 127, 0xFD, 0xFE, 0xFF, 0][r.below(7) as usize];
            }
            for x in b.iter_mut().take(8).skip(2) {
                if r.below(3) != 0 {
                    *x = 0;
                }
            }
            let same = match (FrameHeader::decode(&b), check_head(&b)) {
                (Ok(Status::Partial), Ok(None)) => true,
                (Ok(Status::Complete((h, n))), Ok(Some((k, m)))) => {
                    (n, h.fin, h.rsv, h.opcode.as_u8(), h.mask, h.payload_len)
                        == (m, k.fin, k.rsv, k.opcode, k.mask, k.len)
                }
                (Err(a), Err(b)) => a == b,
                _ => false,
            };
            assert!(same, "{b:x?}");
        }
    }

    #[test]
    fn lax_frames_encode_back_to_their_bytes() {
        let mut wide = RawFrame::new(0x3, Some(KEY), b"abc".to_vec());
        wide.len = LenEnc::Wide64;
        wide.rsv = 5;
        let stream = encode_all(&[wide, RawFrame::new(0x2, None, vec![7; 300])]);
        let (frames, whole) = parse_lax(&stream[..stream.len() - 1]);
        assert_eq!((frames.len(), whole), (1, 17));
        assert_eq!(frames[0].to_raw().to_bytes(), stream[..17]);
        assert_eq!(frames[0].payload, b"abc");
    }

    #[test]
    fn reference_delivers_and_fails() {
        let mut first = RawFrame::new(0x1, None, b"He".to_vec());
        first.fin = false;
        let stream = encode_all(&[
            first,
            RawFrame::new(0x9, None, b"p".to_vec()),
            RawFrame::new(0x0, None, b"llo".to_vec()),
            RawFrame::new(0x8, None, vec![0x03, 0xE8, b'x']),
        ]);
        let got = Reference::new(Role::Client).parse(&stream);
        assert_eq!(
            got.events,
            [
                Event::Data {
                    text: true,
                    bytes: b"Hello".to_vec(),
                    fin: true
                },
                Event::Close(1000, b"x".to_vec())
            ]
        );
        assert_eq!(got.pings, [b"p".to_vec()]);
        assert_eq!(got.error, None);
        let got = Reference::new(Role::Server).parse(&stream);
        assert_eq!(got.error, Some(ProtocolError::UnmaskedFrame));
        let bad = RawFrame::new(0x1, None, vec![b'a', 0xFF]).to_bytes();
        let got = Reference::new(Role::Client).parse(&bad);
        assert_eq!(got.error, Some(ProtocolError::InvalidUtf8));
    }
}
