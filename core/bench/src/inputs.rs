//! Payloads and wire bytes, the same for every library.

use crate::Kind;
use wspc::frame::Opcode;
use wspc_testkit::frame::client_frame;

/// A payload of `kind` with exactly `size` bytes (text ends on a whole character: padded with
/// ASCII where a multi-byte character would not fit).
pub fn payload(kind: Kind, size: usize) -> Vec<u8> {
    match kind {
        Kind::Binary => (0..size).map(|i| (i * 31 % 251) as u8).collect(),
        Kind::Ascii => (0..size).map(|i| b' ' + (i * 7 % 95) as u8).collect(),
        Kind::NonAscii => {
            // 40% of the characters are non-ASCII: 2-, 3- and 4-byte code points in turn.
            let wide = ["é", "€", "😀"];
            let mut s = String::with_capacity(size);
            let mut i = 0usize;
            while s.len() < size {
                let c = if i % 5 < 2 { wide[(i / 5) % 3] } else { "a" };
                if s.len() + c.len() > size {
                    s.push('a');
                } else {
                    s.push_str(c);
                }
                i += 1;
            }
            s.into_bytes()
        }
    }
}

/// `n` single-frame messages of `payload` as a client sends them (masked).
pub fn wire(kind: Kind, payload: &[u8], n: usize) -> Vec<u8> {
    let opcode = if kind.is_text() {
        Opcode::Text
    } else {
        Opcode::Binary
    };
    let one = client_frame(true, opcode, payload);
    let mut out = Vec::with_capacity(one.len() * n);
    for _ in 0..n {
        out.extend_from_slice(&one);
    }
    out
}

/// How many messages of `size` make a run of about 4 MiB (at least 4, at most 100 000).
pub fn count_for(size: usize) -> usize {
    ((4 << 20) / size.max(1)).clamp(4, 100_000)
}

/// A browser-like upgrade request.
pub fn upgrade_request() -> Vec<u8> {
    b"GET /chat HTTP/1.1\r\nHost: example.com:8080\r\nConnection: Upgrade\r\nPragma: no-cache\r\n\
      Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n\
      Upgrade: websocket\r\nOrigin: http://example.com:8080\r\nSec-WebSocket-Version: 13\r\n\
      Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n\
      Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        .to_vec()
}
