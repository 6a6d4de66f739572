//! A raw WebSocket peer over a real TCP socket, written without the engine: it upgrades by hand,
//! writes frames built by [`frame`](crate::frame) and reads frames back with the reference parser
//! ([`parse`](crate::parse)). The driver tests use it as the "peer nobody here wrote" for the
//! cases real libraries will not produce on demand: a client that sends 16 MiB before it reads,
//! one that never answers pings, one that stops reading, one that sends a head a byte at a time.

use crate::parse::{parse_lax, Frame};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The RFC 6455 §1.3 sample key and the accept value that answers it.
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The `Sec-WebSocket-Accept` for [`SAMPLE_KEY`].
pub const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// An upgrade request for `addr` with the sample key, version 13 and `extra` header lines (each
/// ending in CRLF).
pub fn upgrade_request(addr: &str, extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Read a response head byte by byte (nothing past it), as text; `None` if the stream ends
/// first.
pub fn read_response_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    String::from_utf8(head).ok()
}

/// Connect to `addr`, send [`upgrade_request`] with `extra`, and read the response head.
pub fn upgrade(addr: &str, extra: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .write_all(upgrade_request(addr, extra).as_bytes())
        .expect("request");
    let head = read_response_head(&mut stream).expect("a response head");
    (stream, head)
}

/// Everything the peer read until end of stream or an error, the frames in it, and the error
/// (a reset shows up here: `ConnectionReset`).
pub struct Received {
    /// The bytes read.
    pub bytes: Vec<u8>,
    /// The whole frames in them.
    pub frames: Vec<Frame>,
    /// How reading ended, if not at a clean end of stream.
    pub error: Option<io::Error>,
}

/// Read until end of stream (or an error), then split what came into frames.
pub fn read_to_end(stream: &mut TcpStream) -> Received {
    let mut bytes = Vec::new();
    let error = stream.read_to_end(&mut bytes).err();
    let (frames, _) = parse_lax(&bytes);
    Received {
        bytes,
        frames,
        error,
    }
}

/// Read frames until `want` whole ones arrived (or the stream ends): returns those read.
pub fn read_frames(stream: &mut TcpStream, want: usize) -> Vec<Frame> {
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let (frames, _) = parse_lax(&bytes);
        if frames.len() >= want {
            return frames;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return frames,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status of a close frame's payload (1005 when it has none).
pub fn close_code(frame: &Frame) -> u16 {
    match frame.payload[..] {
        [a, b, ..] => u16::from_be_bytes([a, b]),
        _ => 1005,
    }
}
