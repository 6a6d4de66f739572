//! Seed inputs for every target, from real traffic: the examples of RFC 6455 (§1.2, §1.3, §5.7),
//! a loopback session between a wspc client and a wspc server recorded action by action, and the
//! request headers typical clients send. `core/testkit/tests/fuzz_corpus.rs` writes them to
//! `fuzz/corpus/<target>/` (`cargo test -p wspc --test fuzz_corpus -- --ignored record_seeds`)
//! and replays them.

use super::session::op;
use crate::frame::{RawFrame, KEY};
use crate::pair::{session, Pair, Side};
use crate::parse::read_head;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use wspc::handshake::{client::ClientHandshake, server, Header, HeaderRef};
use wspc::properties::{Property, Role};
use wspc::session::action::BufferType;
use wspc::CloseStatus;

/// One seed: target, file name, bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// A session script in the format of [`session_server`](super::session_server).
#[derive(Clone, Debug)]
pub struct Script(Vec<u8>);

impl Script {
    /// A script with these flags (bit 0 no masking, bit 1 no UTF-8 verification, bit 2 capacity
    /// 1) and buffer sizes (in range).
    pub fn new(flags: u8, receive_buffer: u32, send_buffer: u32) -> Self {
        let rbs = super::buffer_size_raw(receive_buffer, 256, 1024);
        let sbs = super::buffer_size_raw(send_buffer, 16, 256);
        assert_eq!(super::buffer_size(rbs, 256, 1024), receive_buffer);
        assert_eq!(super::buffer_size(sbs, 16, 256), send_buffer);
        let mut b = vec![flags];
        b.extend_from_slice(&rbs.to_le_bytes());
        b.extend_from_slice(&sbs.to_le_bytes());
        Self(b)
    }

    fn op(&mut self, code: u8, args: &[u8]) -> &mut Self {
        self.0.push(code);
        self.0.extend_from_slice(args);
        self
    }

    /// Bytes arrive from the network (as chunks of at most 65535 bytes).
    pub fn data(&mut self, bytes: &[u8]) -> &mut Self {
        for chunk in bytes.chunks(0xFFFF) {
            self.op(op::DATA, &(chunk.len() as u16).to_le_bytes());
            self.0.extend_from_slice(chunk);
        }
        self
    }

    /// Send data with these bytes (at most 255).
    pub fn send(&mut self, t: BufferType, bytes: &[u8]) -> &mut Self {
        let ty = match t {
            BufferType::Utf8Message => 0,
            BufferType::Utf8Fragment => 1,
            BufferType::BinaryMessage => 2,
            _ => 3,
        };
        self.op(op::SEND_BYTES, &[ty, bytes.len() as u8]);
        self.0.extend_from_slice(bytes);
        self
    }

    /// Send `len` bytes of binary data (below 1024, or from `0xE000`).
    pub fn send_long(&mut self, len: u16, fill: u8) -> &mut Self {
        let [a, b] = len.to_le_bytes();
        self.op(op::SEND, &[2, a, b, fill])
    }

    /// Send a close with a status and reason.
    pub fn close(&mut self, status: u16, reason: &[u8]) -> &mut Self {
        let [a, b] = status.to_le_bytes();
        self.op(op::CLOSE, &[a, b, reason.len() as u8]);
        self.0.extend_from_slice(reason);
        self
    }

    /// Any operation without arguments (or with `args`).
    pub fn then(&mut self, code: u8, args: &[u8]) -> &mut Self {
        self.op(code, args)
    }

    /// The bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.clone()
    }
}

/// RFC 6455 §5.7: the example frames, unmasked (as a server sends them).
fn rfc_frames() -> Vec<(&'static str, Vec<u8>)> {
    let mut binary256 = vec![0x82, 0x7E, 0x01, 0x00];
    binary256.extend((0..=255u8).map(|i| i.wrapping_mul(7)));
    let mut binary64k = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
    binary64k.extend(std::iter::repeat_n(0x5A, 1000));
    vec![
        ("text", b"\x81\x05Hello".to_vec()),
        ("fragmented", b"\x01\x03Hel\x80\x02lo".to_vec()),
        ("ping", b"\x89\x05Hello".to_vec()),
        ("pong", b"\x8a\x05Hello".to_vec()),
        ("binary256", binary256),
        ("close", b"\x88\x05\x03\xe8bye".to_vec()),
        // The 64 KiB example, cut after 1000 bytes of payload.
        ("binary64k-cut", binary64k),
    ]
}

/// The same frames masked with the RFC's key, as a client sends them.
fn masked(frames: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = frames;
    while let Some((h, n)) = read_head(rest) {
        // A frame cut short stays as short, with its declared length.
        let declared = h.len as usize;
        let len = declared.min(rest.len() - n);
        let mut payload = rest[n..n + len].to_vec();
        payload.resize(declared, 0);
        let mut f = RawFrame::from_b0(h.b0(), Some(KEY), payload);
        f.len = h.enc;
        let bytes = f.to_bytes();
        out.extend_from_slice(&bytes[..bytes.len() - (declared - len)]);
        rest = &rest[n + len..];
    }
    out
}

fn session_seeds(target: &'static str, wire: &[u8], name: &str, out: &mut Vec<Seed>) {
    // Whole, then one byte at a time (every partial header), with the smallest buffers and
    // capacity 1, and into a small caller buffer.
    let mut whole = Script::new(0, 4096, 4096);
    whole.data(wire).then(op::PUMP, &[]);
    out.push((target, format!("rfc-{name}"), whole.bytes()));
    let mut bytewise = Script::new(4, 256, 16);
    for b in wire.iter().take(300) {
        bytewise.data(&[*b]).then(op::PUMP, &[]);
    }
    out.push((target, format!("rfc-{name}-bytewise"), bytewise.bytes()));
    let mut into = Script::new(2, 256, 16);
    into.then(op::RECEIVE_INTO, &[3, 0])
        .data(wire)
        .then(op::DRIVE, &[]);
    out.push((target, format!("rfc-{name}-into3"), into.bytes()));
}

/// Post `n` receives on `side` at once (refused once the close has arrived).
fn post_receives(side: &mut Side, n: u32) {
    for i in 0..n {
        let _ = side.session.receive(1000 + i);
    }
}

/// The head of a request or response: a start line, then the headers.
fn head(start: &str, headers: &[(&str, &str)], extra: &[Header]) -> Vec<u8> {
    let mut out = format!("{start}\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    for h in extra {
        out.push_str(&format!("{}: {}\r\n", h.name, h.value));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn args(protocols: &[&str], extensions: &[&str]) -> String {
    let mut out = String::new();
    for p in protocols {
        out.push_str(&format!("@protocol: {p}\r\n"));
    }
    for e in extensions {
        out.push_str(&format!("@extension: {e}\r\n"));
    }
    out
}

/// Arguments first, then the head (arguments after the empty line would be ignored).
fn with_args(args: &str, head: &[u8]) -> Vec<u8> {
    let mut start_end = head.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    if !(head.starts_with(b"GET ") || head.starts_with(b"HTTP/")) {
        start_end = 0;
    }
    let mut out = head[..start_end].to_vec();
    out.extend_from_slice(args.as_bytes());
    out.extend_from_slice(&head[start_end..]);
    out
}

/// A wspc client and server joined in memory, run with a seeded RNG: the handshake headers and
/// every write of each side, turned into seeds for all session and handshake targets.
fn loopback(out: &mut Vec<Seed>) {
    let mut client = session(Role::Client, &[Property::ReceiveBufferSize(512)], 7);
    let mut server = session(Role::Server, &[], 8);

    // The opening handshake, offering two subprotocols and one extension.
    let request = client
        .begin_client_handshake(&["chat", "superchat"], &["x-test; a=1"], &[])
        .expect("begin");
    let mut refs: Vec<HeaderRef<'_>> = request.iter().map(Header::as_header_ref).collect();
    refs.push(HeaderRef {
        name: b"Host",
        value: b"127.0.0.1:9001",
    });
    let response = server
        .begin_server_handshake(Some("chat"), &["x-test"], &refs)
        .expect("accept");
    let host = [("Host", "127.0.0.1:9001")];
    let req = head("GET /chat HTTP/1.1", &host, &request);
    let req = with_args(&args(&["chat"], &["x-test"]), &req);
    out.push(("handshake_request", "loopback".into(), req));
    let refs: Vec<HeaderRef<'_>> = response.iter().map(Header::as_header_ref).collect();
    let _negotiated = client.end_client_handshake(&refs).expect("end");
    let mut p = Pair {
        client: Side::new(client),
        server: Side::new(server),
    };

    // The same handshake with the RFC nonce, for the client-side target.
    let (_, request) = ClientHandshake::begin(
        super::handshake::NONCE,
        &["chat", "superchat"],
        &["x-test; a=1"],
        &[],
    )
    .expect("begin");
    let mut refs: Vec<HeaderRef<'_>> = request.iter().map(Header::as_header_ref).collect();
    refs.push(HeaderRef {
        name: b"Host",
        value: b"x",
    });
    let response = server::accept(Some("chat"), &["x-test"], &refs).expect("accept");
    let resp = head("HTTP/1.1 101 Switching Protocols", &[], &response);
    let resp = with_args(&args(&["chat", "superchat"], &["x-test; a=1"]), &resp);
    out.push(("handshake_response", "loopback".into(), resp));

    // Traffic: text, a text message in fragments split inside characters, binary, a ping, an
    // unsolicited pong, then the closing handshake started by the client.
    let text = "κόσμε ok".as_bytes();
    let c = &mut p.client.session;
    c.send(BufferType::Utf8Message, Some(b"Hello".to_vec()), 1)
        .unwrap();
    c.send(BufferType::Utf8Fragment, Some(text[..3].to_vec()), 2)
        .unwrap();
    c.send(BufferType::Utf8Fragment, Some(text[3..7].to_vec()), 3)
        .unwrap();
    c.send(BufferType::Utf8Message, Some(text[7..].to_vec()), 4)
        .unwrap();
    c.send(BufferType::BinaryMessage, Some(vec![0xA5; 300]), 5)
        .unwrap();
    c.send(BufferType::PingPong, None, 6).unwrap();
    c.send(BufferType::UnsolicitedPong, None, 7).unwrap();
    post_receives(&mut p.server, 8);
    p.run();
    let s = &mut p.server.session;
    s.send(BufferType::Utf8Message, Some(b"Hello".to_vec()), 11)
        .unwrap();
    s.send(BufferType::BinaryFragment, Some(vec![1; 200]), 12)
        .unwrap();
    s.send(BufferType::BinaryMessage, Some(vec![2; 700]), 13)
        .unwrap();
    s.send(BufferType::PingPong, None, 14).unwrap();
    post_receives(&mut p.client, 6);
    p.run();
    p.client
        .session
        .send_close(CloseStatus::SUCCESS, Some(b"bye".to_vec()), 8)
        .unwrap();
    post_receives(&mut p.server, 2);
    p.run();
    p.server
        .session
        .send_close(CloseStatus::SUCCESS, Some(b"bye".to_vec()), 15)
        .unwrap();
    post_receives(&mut p.client, 2);
    p.run();
    assert_eq!(p.client.error, None);
    assert_eq!(p.server.error, None);

    for (target, writes, flags, rbs, sbs) in [
        ("session_server", &p.client.write_bytes(), 0, 4096, 16),
        ("session_client", &p.server.write_bytes(), 0, 512, 4096),
    ] {
        // As recorded: each write of the peer is one chunk, a receive is pumped after each, and
        // the handle sends a little too.
        let mut script = Script::new(flags, rbs, sbs);
        script.send(BufferType::Utf8Message, b"Hello");
        for w in writes.iter() {
            script.data(w).then(op::PUMP, &[]);
        }
        script
            .send_long(1000, 7)
            .then(op::PING, &[])
            .close(1000, b"bye")
            .then(op::DRIVE, &[]);
        out.push((target, "loopback".into(), script.bytes()));
        // Small buffers, capacity 1, receives into a 5-byte buffer, and a stepping mix of queues.
        let mut script = Script::new(4, 256, 16);
        for w in writes.iter() {
            script
                .then(op::RECEIVE_INTO, &[5, 0])
                .data(w)
                .then(op::STEP, &[1])
                .then(op::STEP, &[2])
                .then(op::STEP, &[0]);
        }
        script.then(op::EOF, &[]).then(op::DRIVE, &[]);
        out.push((target, "loopback-small".into(), script.bytes()));
        // All of it in one chunk, no verification, then an abort with operations still queued.
        let mut script = Script::new(3, 1024, 64);
        script.data(&writes.concat());
        script
            .then(op::RECEIVE, &[])
            .then(op::RECEIVE, &[])
            .then(op::DRIVE, &[])
            .send_long(500, 1)
            .then(op::STEP, &[0x38])
            .then(op::ABORT, &[])
            .then(op::BOGUS, &[200])
            .then(op::DRIVE, &[]);
        out.push((target, "loopback-abort".into(), script.bytes()));
    }
}

/// RFC 6455 §1.2 and §1.3, and request heads in the shape typical clients send (browsers, the
/// Autobahn testsuite, Python websockets, .NET, curl).
fn handshakes(out: &mut Vec<Seed>) {
    let key = |nonce: &[u8; 16]| STANDARD.encode(nonce);
    let rfc = head(
        "GET /chat HTTP/1.1",
        &[
            ("Host", "server.example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Origin", "http://example.com"),
            ("Sec-WebSocket-Protocol", "chat, superchat"),
            ("Sec-WebSocket-Version", "13"),
        ],
        &[],
    );
    out.push((
        "handshake_request",
        "rfc6455-1.2".into(),
        with_args(&args(&["chat"], &[]), &rfc),
    ));
    let k1 = key(b"browser-nonce-01");
    let browser = head(
        "GET /socket HTTP/1.1",
        &[
            ("Host", "localhost:8080"),
            ("Connection", "Upgrade"),
            ("Pragma", "no-cache"),
            ("Cache-Control", "no-cache"),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
            ("Upgrade", "websocket"),
            ("Origin", "http://localhost:8080"),
            ("Sec-WebSocket-Version", "13"),
            ("Accept-Encoding", "gzip, deflate, br"),
            ("Accept-Language", "en-US,en;q=0.9"),
            ("Sec-WebSocket-Key", &k1),
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
        ],
        &[],
    );
    out.push(("handshake_request", "browser".into(), browser));
    let k2 = key(b"firefox-nonce-02");
    let firefox = head(
        "GET / HTTP/1.1",
        &[
            ("Host", "example.org"),
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            ),
            ("Accept", "*/*"),
            ("Sec-WebSocket-Version", "13"),
            ("Origin", "https://example.org"),
            ("Sec-WebSocket-Extensions", "permessage-deflate"),
            ("Sec-WebSocket-Key", &k2),
            ("Connection", "keep-alive, Upgrade"),
            ("Upgrade", "websocket"),
        ],
        &[],
    );
    out.push((
        "handshake_request",
        "keepalive-upgrade".into(),
        with_args(&args(&[], &["permessage-deflate"]), &firefox),
    ));
    let k3 = key(b"autobahn-nonce-3");
    let autobahn = head(
        "GET /runCase?case=1&agent=wspc HTTP/1.1",
        &[
            ("User-Agent", "AutobahnTestSuite/0.8.2-0.10.9"),
            ("Host", "127.0.0.1:9001"),
            ("Upgrade", "WebSocket"),
            ("Connection", "Upgrade"),
            ("Pragma", "no-cache"),
            ("Cache-Control", "no-cache"),
            ("Sec-WebSocket-Key", &k3),
            ("Sec-WebSocket-Version", "13"),
        ],
        &[],
    );
    out.push(("handshake_request", "autobahn-style".into(), autobahn));
    let k4 = key(b"python-nonce-004");
    let python = head(
        "GET /echo HTTP/1.1",
        &[
            ("Host", "localhost:8765"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", &k4),
            ("Sec-WebSocket-Version", "13"),
            (
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits",
            ),
            ("Sec-WebSocket-Protocol", "v1.chat, v2.chat"),
            ("User-Agent", "Python/3.11 websockets/12.0"),
        ],
        &[],
    );
    out.push((
        "handshake_request",
        "python-style".into(),
        with_args(&args(&["v2.chat"], &[]), &python),
    ));
    let k5 = key(b"dotnet-nonce-005");
    let dotnet = head(
        "GET /ws HTTP/1.1",
        &[
            ("Host", ""),
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", &k5),
        ],
        &[],
    );
    out.push(("handshake_request", "empty-host".into(), dotnet));
    let k6 = key(b"curl-nonce-00006");
    let curl = head(
        "GET / HTTP/1.1",
        &[
            ("Host", "127.0.0.1:8080"),
            ("User-Agent", "curl/8.5.0"),
            ("Accept", "*/*"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", &k6),
            ("Connection", "Upgrade"),
        ],
        &[],
    );
    out.push(("handshake_request", "curl-style".into(), curl));
    let v8 = String::from_utf8_lossy(&rfc).replace(": 13\r", ": 8, 13\r");
    out.push(("handshake_request", "version-8".into(), v8.into_bytes()));

    // Worst shapes within the caps (the linear-work check matters most here): the most headers,
    // one long comma list, many repeated list headers.
    let base = String::from_utf8_lossy(&rfc).replace("\r\n\r\n", "\r\n");
    let mut many = base.clone();
    for i in 0..118 {
        many.push_str(&format!("X-Filler-{i}: {}\r\n", "v,".repeat(40)));
    }
    out.push((
        "handshake_request",
        "many-headers".into(),
        many.into_bytes(),
    ));
    let mut long = base.clone();
    long.push_str(&format!(
        "Sec-WebSocket-Extensions: {}\r\n",
        "x; a=1, ,".repeat(1500)
    ));
    out.push((
        "handshake_request",
        "long-list".into(),
        with_args(&args(&["chat"], &["x"]), long.as_bytes()),
    ));
    let mut repeated = base;
    for _ in 0..100 {
        repeated.push_str("Sec-WebSocket-Protocol: a, b, c, chat\r\n");
    }
    out.push((
        "handshake_request",
        "repeated-lists".into(),
        with_args(&args(&["chat"], &[]), repeated.as_bytes()),
    ));

    // Responses, checked with the RFC nonce.
    let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    let rfc = head(
        "HTTP/1.1 101 Switching Protocols",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept),
            ("Sec-WebSocket-Protocol", "chat"),
        ],
        &[],
    );
    out.push((
        "handshake_response",
        "rfc6455-1.3".into(),
        with_args(&args(&["chat", "superchat"], &[]), &rfc),
    ));
    let server_style = head(
        "HTTP/1.1 101 Switching Protocols",
        &[
            ("Server", "nginx/1.24.0"),
            ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("Connection", "upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Accept", accept),
            (
                "Sec-WebSocket-Extensions",
                "permessage-deflate; server_no_context_takeover",
            ),
        ],
        &[],
    );
    let mut a = args(
        &[],
        &["permessage-deflate; client_max_window_bits", "x-other"],
    );
    a.push_str("@header: Host: example.com\r\n@header: Origin: http://example.com\r\n");
    out.push((
        "handshake_response",
        "proxy-style".into(),
        with_args(&a, &server_style),
    ));
}

fn frames(out: &mut Vec<Seed>) {
    let headers: [(&str, &[u8]); 11] = [
        ("text", &[0x81, 0x05]),
        ("text-masked", &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]),
        ("fragment", &[0x01, 0x03]),
        ("continuation", &[0x80, 0x02]),
        ("ping", &[0x89, 0x05]),
        ("pong-masked", &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d]),
        ("len16", &[0x82, 0x7E, 0x01, 0x00]),
        ("len64", &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
        (
            "len64-masked",
            &[0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4],
        ),
        ("nonminimal", &[0x82, 0x7E, 0x00, 0x7D]),
        ("fragmented-ping", &[0x09, 0x00]),
    ];
    for (name, h) in headers {
        out.push(("frame_header", format!("rfc-{name}"), h.to_vec()));
    }
}

fn texts(out: &mut Vec<Seed>) {
    let texts: [(&str, &[u8]); 7] = [
        ("latin", "Hello-µ@ßöäüàá-UTF-8!!".as_bytes()),
        ("greek", "κόσμε 😀 \u{10FFFF}\u{FFFD}".as_bytes()),
        // Autobahn 6.3/6.4: valid text broken by a code point above U+10FFFF or a surrogate.
        (
            "above-max",
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90\x80\x80edited",
        ),
        (
            "surrogate",
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80edited",
        ),
        ("overlong", b"a\xC0\x80b\xE0\x80\x80"),
        ("truncated", b"\xE2\x82\xAC\xE2\x82"),
        ("four-byte", b"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"),
    ];
    for (name, text) in texts {
        for splits in [&[][..], &[1, 2, 3][..], &[0, 1][..]] {
            let mut b = vec![splits.len() as u8];
            b.extend_from_slice(splits);
            b.extend_from_slice(text);
            let name = format!("{name}-{}", splits.len());
            out.push(("utf8_stream", name, b));
        }
    }
}

/// A C program's session through the 13 functions (see [`capi`](super::capi) for the format):
/// create a client and a server, handshake with a subprotocol, a text message each way through
/// the action loop, the global properties, a close, an abort, a delete; then the same with
/// broken arguments.
fn capi(out: &mut Vec<Seed>) {
    let get = |slot: u8| [8, slot, 3, 0x10];
    let mut b: Vec<u8> = vec![
        0, 0, 0, 1, 1, // create client in slot 0, no properties
        1, 1, 1, 0, 0x80, 0, 1, 1, 1, // create server in slot 1, receive buffer 512
    ];
    b.extend_from_slice(&[2, 0, 1, 4]); // begin client: one subprotocol…
    b.extend_from_slice(b"chat");
    b.extend_from_slice(&[1, 0, 1, 4, 1]); // …no extensions, no headers
    b.extend_from_slice(&[4, 1, 0x41]); // begin server selecting "chat"…
    b.extend_from_slice(b"chat");
    b.extend_from_slice(&[0, 1, 0]); // …with the client's headers + Host
    b.extend_from_slice(&[3, 0, 1, 4]); // end client with the server's headers
    b.extend_from_slice(&[5, 1]); // end server
    b.extend_from_slice(&[6, 0, 0, 0, 5]); // client sends "Hello"
    b.extend_from_slice(b"Hello");
    b.extend_from_slice(&[7, 1, 0]); // server receives
    for _ in 0..3 {
        b.extend_from_slice(&get(0));
    }
    b.extend_from_slice(&[14, 4]); // client's bytes to the server
    for _ in 0..3 {
        b.extend_from_slice(&get(1));
    }
    b.extend_from_slice(&[13, 6, 2, 13, 7, 4]); // global properties
    b.extend_from_slice(&[6, 1, 4, 0, 3]); // server sends close 1000 "bye"
    b.extend_from_slice(b"bye");
    b.extend_from_slice(&[7, 0, 0x21]); // client receives into a 16-byte buffer
    for _ in 0..3 {
        b.extend_from_slice(&get(1));
    }
    b.extend_from_slice(&[14, 1]); // server's bytes to the client
    for _ in 0..3 {
        b.extend_from_slice(&get(0));
    }
    b.extend_from_slice(&[11, 0, 12, 1]); // abort the client, delete the server
    out.push(("capi", "session".into(), b.clone()));
    // Then calls on the deleted handle, a made-up handle and NULL, and bad arguments.
    b.extend_from_slice(&[6, 1, 0, 0, 0, 7, 5, 0, 8, 7, 3, 0, 12, 6, 13, 9, 0x31]);
    b.extend_from_slice(&[0, 2, 2, 0, 0, 0, 0, 3, 8, 0, 0, 1, 1]); // bad property sizes
    out.push(("capi", "misuse".into(), b));
}

/// `http_head` seeds from the handshake seeds: each request head as a server-side input and each
/// response head as a client-side input (its accept value replaced by the `{accept}` marker), the
/// `@` argument lines dropped, read whole and a byte at a time. The real peers' heads are recorded
/// by `fuzz/tools/http_seeds.py`.
fn http_heads(out: &mut Vec<Seed>) {
    let mut heads = Vec::new();
    for (target, name, data) in out.iter() {
        let flags = match *target {
            "handshake_request" => 0,
            "handshake_response" => 1,
            _ => continue,
        };
        let mut head = Vec::new();
        for line in data.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"@") {
                continue;
            }
            match line.strip_prefix(b"Sec-WebSocket-Accept: ") {
                Some(_) => head.extend_from_slice(b"Sec-WebSocket-Accept: {accept}\r\n"),
                None => head.extend_from_slice(line),
            }
        }
        if flags == 1 && !head.starts_with(b"HTTP/") {
            let mut full = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
            full.extend_from_slice(&head);
            head = full;
        }
        let side = ["request", "response"][usize::from(flags)];
        // Reads of 1024 bytes (READ_SIZES[6]) and of 1 byte (READ_SIZES[0]).
        for (size, suffix) in [(6u8, ""), (0, "-1byte")] {
            let mut seed = vec![flags | (size << 1)];
            seed.extend_from_slice(&head);
            heads.push(("http_head", format!("{side}-{name}{suffix}"), seed));
        }
    }
    out.extend(heads);
}

/// `driver` seeds: the RFC examples and the interleaved stream, masked, as a client sends them;
/// whole and a byte at a time; messages under no cap, a 1000-byte cap and a 1-byte cap (which
/// fails with 1009); and pieces.
fn driver_seeds(streams: &[(&str, Vec<u8>)], out: &mut Vec<Seed>) {
    // Flags: bits 0-2 the cap (7 none, 4 1000 bytes, 1 one byte), bits 3-5 the read size (6:
    // 1024 bytes, 0: one byte), bit 6 pieces.
    let variants: [(u8, &str); 5] = [
        (7 | 6 << 3, "nocap"),
        (4 | 6 << 3, "cap1000"),
        (1 | 6 << 3, "cap1"),
        (7, "nocap-1byte"),
        (7 | 6 << 3 | 0x40, "pieces"),
    ];
    for (name, stream) in streams {
        for (flags, variant) in variants {
            let mut seed = vec![flags];
            seed.extend_from_slice(stream);
            out.push(("driver", format!("{name}-{variant}"), seed));
        }
    }
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    // The complete examples in a row, the close last.
    let plain: Vec<u8> = rfc_frames()
        .iter()
        .filter(|(name, _)| *name != "binary64k-cut")
        .flat_map(|(_, f)| f.clone())
        .collect();
    for (name, frame) in rfc_frames() {
        session_seeds("session_client", &frame, name, &mut out);
        session_seeds("session_server", &masked(&frame), name, &mut out);
    }
    // RFC 6455 §5.4: control frames inside a fragmented text message, the fragments split
    // inside a character.
    let interleaved = b"\x01\x03a\xc3\xa9\x00\x01\xc3\x89\x02hi\x8a\x00\x80\x02\xa9z".to_vec();
    session_seeds("session_client", &interleaved, "interleaved", &mut out);
    session_seeds(
        "session_server",
        &masked(&interleaved),
        "interleaved",
        &mut out,
    );
    session_seeds("session_client", &plain, "all", &mut out);
    session_seeds("session_server", &masked(&plain), "all", &mut out);
    driver_seeds(
        &[
            ("all", masked(&plain)),
            ("interleaved", masked(&interleaved)),
        ],
        &mut out,
    );
    loopback(&mut out);
    handshakes(&mut out);
    http_heads(&mut out);
    frames(&mut out);
    texts(&mut out);
    capi(&mut out);
    out
}
