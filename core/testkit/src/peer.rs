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

/// Read a response head byte by byte (nothing past it), as text; `None` if the stream ends or
/// a read fails (a reset, or one past [`PEER_TIMEOUT`]) first.
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

/// How long a raw peer's read or write may wait: a driver that stops answering (or reading)
/// makes the test fail with a timeout error instead of hanging.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(20);

/// `stream` with [`PEER_TIMEOUT`] on its reads and writes (for a stream the test accepted).
pub fn bounded(stream: TcpStream) -> TcpStream {
    stream
        .set_read_timeout(Some(PEER_TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(PEER_TIMEOUT))
        .expect("write timeout");
    stream
}

/// Connect to `addr`, with [`PEER_TIMEOUT`] on reads and writes.
pub fn connect(addr: &str) -> TcpStream {
    bounded(TcpStream::connect(addr).expect("connect"))
}

/// Connect to `addr` (as [`connect`]), send [`upgrade_request`] with `extra`, and read the
/// response head.
pub fn upgrade(addr: &str, extra: &str) -> (TcpStream, String) {
    let mut stream = connect(addr);
    stream
        .write_all(upgrade_request(addr, extra).as_bytes())
        .expect("request");
    let head = read_response_head(&mut stream).expect("a response head");
    (stream, head)
}

/// Everything the peer read until end of stream or an error, the frames in it, and the error
/// (a reset shows up here: `ConnectionReset`; a read past [`PEER_TIMEOUT`]: `WouldBlock`).
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

/// Read frames until `want` whole ones arrived (or the stream ends or a read fails, as one past
/// [`PEER_TIMEOUT`] does): returns those read.
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

/// Run the ignored test `test` of the running test binary in a child process with at most
/// `fds` open file descriptors (through the shell's `ulimit -n`) and `WSPC_TEST_ADDR=addr` in its
/// environment: the way to run an example's server out of file descriptors on demand without
/// limiting the tests themselves. Its stderr is piped.
pub fn spawn_with_fd_limit(test: &str, addr: &str, fds: u32) -> std::process::Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {fds} && exec \"$0\" --exact \"$1\" --ignored --nocapture --test-threads 1"
        ))
        .arg(&exe)
        .arg(test)
        .env("WSPC_TEST_ADDR", addr)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the test binary")
}

/// A free loopback port, as `127.0.0.1:<port>` (bound and released: another process may take
/// it meanwhile, which the tests accept as unlikely).
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").to_string()
}

/// Connect to `addr` until it accepts or `limit` passes.
pub fn connect_within(addr: &str, limit: Duration) -> TcpStream {
    let end = std::time::Instant::now() + limit;
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return s,
            Err(e) if std::time::Instant::now() >= end => panic!("{addr}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Read a request head (up to its blank line, with anything after it in the same reads) as
/// text; panics if the stream ends or fails first.
pub fn read_request_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut buf).expect("a request head");
        assert!(n > 0, "the request head ended early: {head:?}");
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).expect("a text head")
}

/// Open a connection to a server over its connection cap and send an upgrade request; the
/// server must answer a whole `503` head and end the stream cleanly. The answer is read only
/// after a pause, so that a reset (which Linux sends when a socket is closed with input unread,
/// and which destroys what the peer has not read yet) has time to arrive. Panics otherwise.
pub fn expect_busy_503(addr: &str) {
    let mut busy = connect(addr);
    busy.write_all(upgrade_request(addr, "").as_bytes())
        .expect("request");
    std::thread::sleep(Duration::from_millis(300));
    let got = read_to_end(&mut busy);
    let text = String::from_utf8_lossy(&got.bytes);
    assert!(
        text.starts_with("HTTP/1.1 503 ") && text.contains("\r\n\r\n"),
        "no 503 head: {text:?}, {:?}",
        got.error
    );
    assert!(got.error.is_none(), "not a clean end: {:?}", got.error);
}

/// On a thread: accept one connection on `listener`, read its request head, write `response`,
/// and return the head (to check what a client sent).
pub fn answer_once(
    listener: std::net::TcpListener,
    response: &'static [u8],
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut stream = bounded(listener.accept().expect("accept").0);
        let head = read_request_head(&mut stream);
        stream.write_all(response).expect("the answer");
        head
    })
}

/// A refusal for [`answer_once`]: status 403 with an `X-Why: origin` header.
pub const FORBIDDEN: &[u8] =
    b"HTTP/1.1 403 Forbidden\r\nX-Why: origin\r\nContent-Length: 0\r\n\r\n";

/// Check what a client's connect against [`answer_once`] with [`FORBIDDEN`] left, given that its
/// options held `HOST: example.com`: the error keeps the refusal's status and headers, and the
/// request `head` has one `Host` line, the client's own.
pub fn check_forbidden_refusal(err: wspc::io::DriverError, head: &str) {
    assert_eq!(err.refused_status(), Some(403), "{err}");
    let wspc::io::DriverError::Refused(response) = err else {
        unreachable!()
    };
    assert_eq!(response.status, 403);
    assert_eq!(response.header("x-why"), Some("origin"));
    assert_eq!(
        head.to_ascii_lowercase().matches("host:").count(),
        1,
        "{head}"
    );
    assert!(head.contains("Host: example.com\r\n"), "{head}");
}
