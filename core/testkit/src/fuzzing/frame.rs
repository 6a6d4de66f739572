//! `frame_header`: the stateless header codec.

use super::Reader;
use wspc::error::ProtocolError;
use wspc::frame::{FrameHeader, Opcode, Status, MAX_HEADER_LEN};

type Decoded = Result<Status<(FrameHeader, usize)>, ProtocolError>;

/// Input: any bytes, used twice.
///
/// 1. Decoded as wire bytes: a complete header re-encodes to exactly the bytes it was decoded
///    from; every strict prefix of it is `Partial`; once a prefix gives a result other than
///    `Partial`, every longer prefix gives the same (errors as soon as the bytes prove them, and
///    nothing past the header is looked at).
/// 2. Read as a header (`fin|rsv|opcode` byte, mask flag and key, length): encoded, then decoded
///    back to the same header and length if it is legal (control frames final and ≤ 125 bytes),
///    else to the error for the rule it breaks.
pub fn frame_header(data: &[u8]) {
    decode_raw(data);
    round_trip(&mut Reader::new(data));
}

fn decode_raw(data: &[u8]) {
    let full = FrameHeader::decode(data);
    let mut settled: Option<Decoded> = None;
    for k in 0..=data.len().min(MAX_HEADER_LEN) {
        let r = FrameHeader::decode(&data[..k]);
        match &settled {
            Some(s) => assert_eq!(&r, s, "decode of {:x?} changed at {k} bytes", &data[..k]),
            None if r != Ok(Status::Partial) => settled = Some(r),
            None => {}
        }
    }
    match settled {
        // Never looks past MAX_HEADER_LEN bytes.
        Some(s) => assert_eq!(s, full),
        None => {
            assert!(data.len() < MAX_HEADER_LEN, "no header in 14 bytes");
            assert_eq!(full, Ok(Status::Partial));
        }
    }
    if let Ok(Status::Complete((h, n))) = full {
        assert!(n <= data.len() && n <= MAX_HEADER_LEN);
        assert_eq!(h.encoded_len(), n);
        let mut out = [0u8; MAX_HEADER_LEN];
        assert_eq!(h.encode(&mut out), n);
        assert_eq!(&out[..n], &data[..n], "{h:?} re-encodes differently");
        assert!(h.rsv <= 0b111);
        assert!(h.payload_len < 1 << 63);
        assert!(!h.opcode.is_control() || (h.fin && h.payload_len <= 125));
        assert_eq!(FrameHeader::decode(&data[..n - 1]), Ok(Status::Partial));
    }
}

const OPCODES: [Opcode; 6] = [
    Opcode::Continuation,
    Opcode::Text,
    Opcode::Binary,
    Opcode::Close,
    Opcode::Ping,
    Opcode::Pong,
];

/// Lengths around every encoding boundary, picked by one byte.
const LENGTHS: [u64; 12] = [
    0,
    1,
    125,
    126,
    127,
    0xFFFF,
    0x1_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    (1 << 63) - 1,
    4096,
    65535 + 4096,
];

fn round_trip(r: &mut Reader<'_>) {
    let b0 = r.u8();
    let flags = r.u8();
    let key = [r.u8(), r.u8(), r.u8(), r.u8()];
    let raw_len = r.u64();
    let payload_len = match flags >> 4 {
        // Mostly lengths near the boundaries, else any 63-bit length.
        n @ 0..=11 => LENGTHS[n as usize].wrapping_add(u64::from(flags & 1)) & ((1 << 63) - 1),
        _ => raw_len & ((1 << 63) - 1),
    };
    let h = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0b111,
        opcode: OPCODES[usize::from(b0 & 0x0F) % OPCODES.len()],
        mask: (flags & 2 != 0).then_some(key),
        payload_len,
    };
    let mut out = [0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut out);
    assert_eq!(n, h.encoded_len());
    let expected = if h.opcode.is_control() && !h.fin {
        Err(ProtocolError::FragmentedControlFrame)
    } else if h.opcode.is_control() && h.payload_len > 125 {
        Err(ProtocolError::ControlFrameTooLong)
    } else {
        Ok(Status::Complete((h, n)))
    };
    assert_eq!(FrameHeader::decode(&out[..n]), expected, "{h:?}");
    if expected.is_ok() {
        for k in 0..n {
            assert_eq!(FrameHeader::decode(&out[..k]), Ok(Status::Partial));
        }
    }
}
