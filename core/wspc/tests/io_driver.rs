//! The socket driver over real loopback TCP: the echo example's server against a client, the
//! HTTP upgrade's refusals, and failing a connection the RFC way.

#[allow(dead_code)]
#[path = "../examples/echo_server.rs"]
mod echo_server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use wspc::io::{connect, ClientOptions, DriverError};
use wspc::{BufferType, CloseStatus, Property};

/// Start the echo example's connection handler on one accepted connection.
fn echo_once() -> (String, thread::JoinHandle<Result<(), DriverError>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept()?;
        echo_server::serve(stream)
    });
    (addr, handle)
}

fn receive_message(ws: &mut wspc::io::WebSocket<TcpStream>) -> (BufferType, Vec<u8>, usize) {
    let mut data = Vec::new();
    let mut pieces = 0;
    loop {
        let piece = ws.receive().unwrap();
        pieces += 1;
        data.extend_from_slice(piece.data);
        if piece.buffer_type.is_final() {
            return (piece.buffer_type, data, pieces);
        }
    }
}

#[test]
fn echo_example_serves_a_real_client() {
    let (addr, server) = echo_once();
    let stream = TcpStream::connect(&addr).unwrap();
    let options = ClientOptions {
        properties: vec![
            Property::ReceiveBufferSize(256),
            Property::SendBufferSize(256),
        ],
        ..ClientOptions::default()
    };
    let (mut ws, negotiated) = connect(stream, &addr, "/chat", &options).unwrap();
    assert_eq!(negotiated.subprotocol, None);

    ws.send(BufferType::Utf8Message, "héllo".as_bytes())
        .unwrap();
    assert_eq!(
        receive_message(&mut ws),
        (BufferType::Utf8Message, "héllo".as_bytes().to_vec(), 1)
    );

    // A message far larger than both sides' buffers comes back whole, in several pieces.
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(BufferType::BinaryMessage, &big).unwrap();
    let (kind, echoed, pieces) = receive_message(&mut ws);
    assert_eq!(kind, BufferType::BinaryMessage);
    assert_eq!(echoed, big);
    assert!(pieces > 100_000 / 256, "{pieces} pieces");

    // A fragmented text message, with a ping between its fragments.
    ws.send(BufferType::Utf8Fragment, b"frag").unwrap();
    ws.send(BufferType::PingPong, &[]).unwrap();
    ws.send(BufferType::Utf8Message, b"ment").unwrap();
    let mut text = Vec::new();
    let mut pongs = 0;
    loop {
        let piece = ws.receive().unwrap();
        match piece.buffer_type {
            BufferType::PingPong => pongs += 1,
            t => {
                assert!(t.is_text());
                text.extend_from_slice(piece.data);
                if t.is_final() {
                    break;
                }
            }
        }
    }
    assert_eq!(text, b"fragment");
    if pongs == 0 {
        assert_eq!(ws.receive().unwrap().buffer_type, BufferType::PingPong);
    }

    ws.close(CloseStatus(4000), "done").unwrap();
    let piece = ws.receive().unwrap();
    assert_eq!(piece.buffer_type, BufferType::Close);
    assert_eq!(piece.close_status, Some(CloseStatus(4000)));
    server.join().unwrap().unwrap();
}

/// Do a raw handshake and return the stream, ready for hand-made frames.
fn raw_upgrade(addr: &str, version: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "head cut short: {head:?}"
        );
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

#[test]
fn server_fails_a_protocol_error_with_its_close_status() {
    let (addr, server) = echo_once();
    let (mut stream, head) = raw_upgrade(&addr, "13");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
    // A masked frame with reserved opcode 0x3 (RFC 6455 §5.2): the server must answer 1002.
    stream.write_all(&[0x83, 0x80, 1, 2, 3, 4]).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    assert_eq!(
        &reply[..4],
        &[0x88, 0x02, 0x03, 0xEA],
        "close frame with 1002: {reply:?}"
    );
    assert!(
        matches!(server.join().unwrap(), Err(DriverError::Ws(e)) if e.close_status() == Some(CloseStatus::PROTOCOL_ERROR))
    );
}

#[test]
fn server_answers_426_to_another_version() {
    let (addr, server) = echo_once();
    let (_stream, head) = raw_upgrade(&addr, "8");
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(head.contains("Sec-WebSocket-Version: 13"), "{head}");
    assert!(matches!(server.join().unwrap(), Err(DriverError::Http(_))));
}

#[test]
fn server_refuses_an_oversized_head() {
    let (addr, server) = echo_once();
    let mut stream = TcpStream::connect(&addr).unwrap();
    let filler = format!(
        "GET / HTTP/1.1\r\nX: {}\r\n",
        "a".repeat(wspc::io::MAX_HEAD_BYTES)
    );
    let _ = stream.write_all(filler.as_bytes());
    assert!(
        matches!(server.join().unwrap(), Err(DriverError::Http(why)) if why.contains("head over"))
    );
}

#[test]
fn client_reports_a_status_other_than_101() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).unwrap();
        s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let stream = TcpStream::connect(&addr).unwrap();
    let err = connect(stream, &addr, "/", &ClientOptions::default()).unwrap_err();
    assert!(
        matches!(err, DriverError::Http(ref why) if why.contains("403")),
        "{err}"
    );
    server.join().unwrap();
}
