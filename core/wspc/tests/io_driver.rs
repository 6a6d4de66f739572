//! The blocking driver over real loopback TCP: the echo example's server against clients, and
//! each rough edge of the old driver against a hostile raw peer (`wspc_testkit::peer`, which
//! speaks WebSocket without the engine).

#[allow(dead_code)]
#[path = "../examples/echo_server.rs"]
mod echo_server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use wspc::frame::Opcode;
use wspc::io::{
    accept, accept_with, connect, Accept, ClientOptions, CloseFrame, Config, DriverError, Message,
    Refusal, ServerOptions, Timeout, WebSocket,
};
use wspc::{BufferType, CloseStatus, Property, ProtocolError};
use wspc_testkit::frame::{client_frame, raw_frame};
use wspc_testkit::peer::{self, close_code, PEER_TIMEOUT, SAMPLE_ACCEPT};

type Served = thread::JoinHandle<Result<(), DriverError>>;

/// Run `serve` on the first connection to a fresh loopback listener.
fn serve_once<F>(serve: F) -> (String, Served)
where
    F: FnOnce(TcpStream) -> Result<(), DriverError> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || serve(listener.accept()?.0));
    (addr, handle)
}

/// The echo example's handler with `options`.
fn echo_once(options: ServerOptions) -> (String, Served) {
    serve_once(move |s| echo_server::serve(s, &options))
}

fn client(addr: &str, options: &ClientOptions) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    connect(stream, addr, "/chat", options).unwrap().0
}

fn server_options(config: Config) -> ServerOptions {
    let mut options = ServerOptions::default();
    options.config = config;
    options
}

/// Connect to `addr` until the upgrade succeeds (a server out of file descriptors or over its
/// connection cap refuses meanwhile), failing the test if it has not after `limit`.
fn served_within(addr: &str, limit: Duration) -> WebSocket<TcpStream> {
    let deadline = Instant::now() + limit;
    loop {
        let stream = peer::connect(addr);
        match connect(stream, addr, "/", &ClientOptions::default()) {
            Ok((ws, _)) => return ws,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet: {e}");
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("{addr} was not served again within {limit:?}: {e}"),
        }
    }
}

/// Join `server`, failing the test if it is still running after `limit` (instead of hanging).
fn join_within(server: Served, limit: Duration) -> Result<(), DriverError> {
    let end = Instant::now() + limit;
    while !server.is_finished() {
        assert!(
            Instant::now() < end,
            "the server still runs after {limit:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
    server.join().unwrap()
}

#[test]
fn echo_example_serves_whole_messages() {
    let (addr, server) = echo_once(ServerOptions::default());
    let mut options = ClientOptions::default();
    options.config.properties = vec![
        Property::ReceiveBufferSize(256),
        Property::SendBufferSize(256),
    ];
    let mut ws = client(&addr, &options);
    ws.send(Message::text("héllo")).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::text("héllo"));
    // Far larger than both sides' buffers: it comes back as one message.
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(big.clone())).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::Binary(big));
    ws.send(Message::Ping(b"p".to_vec())).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::Pong(b"p".to_vec()));
    ws.close(Some(CloseFrame {
        code: CloseStatus(4000),
        reason: "done".into(),
    }))
    .unwrap();
    assert!(matches!(ws.read_message(), Err(DriverError::Closed)));
    server.join().unwrap().unwrap();
}

#[test]
fn a_client_that_sends_16_mib_before_it_reads_gets_one_message_back() {
    let (addr, server) = echo_once(ServerOptions::default());
    let (mut stream, head) = peer::upgrade(&addr, "");
    assert!(head.contains(SAMPLE_ACCEPT), "{head}");
    let payload: Vec<u8> = (0..16u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    // The peer writes the whole message, and a close, before reading a byte.
    stream
        .write_all(&client_frame(true, Opcode::Binary, &payload))
        .unwrap();
    stream
        .write_all(&client_frame(true, Opcode::Close, &1000u16.to_be_bytes()))
        .unwrap();
    let got = peer::read_to_end(&mut stream);
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.frames.len(), 2, "one message frame and the close");
    let echo = &got.frames[0];
    assert!(echo.head.fin && echo.head.opcode == 2 && echo.head.mask.is_none());
    assert!(echo.payload == payload, "the echo differs");
    assert_eq!(close_code(&got.frames[1]), 1000);
    join_within(server, PEER_TIMEOUT).unwrap();
}

#[test]
fn a_slowloris_head_hits_the_handshake_timeout() {
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| accept(s, &options).map(drop));
    let mut stream = peer::connect(&addr);
    let started = Instant::now();
    // One byte every 50 ms: the head would take seconds.
    for b in peer::upgrade_request(&addr, "").bytes() {
        if stream.write_all(&[b]).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    // Gone before the join: a server that never times out sees the end (and fails the match
    // below) instead of waiting for the rest of the head.
    drop(stream);
    let result = join_within(server, PEER_TIMEOUT);
    assert!(
        matches!(result, Err(DriverError::Timeout(Timeout::Handshake))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_path_with_line_breaks_or_spaces_is_refused_before_anything_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    for path in ["/a\r\nX-Injected: 1", "/a b", "", "no-slash", "/\u{1}"] {
        let stream = TcpStream::connect(&addr).unwrap();
        let err = connect(stream, &addr, path, &ClientOptions::default()).unwrap_err();
        assert!(matches!(err, DriverError::Http(_)), "{path:?}: {err}");
        // The server side sees a connection that ends with no byte sent.
        let mut accepted = peer::bounded(listener.accept().unwrap().0);
        let mut got = Vec::new();
        accepted.read_to_end(&mut got).unwrap();
        assert!(got.is_empty(), "{path:?}: {got:?}");
    }
}

#[test]
fn host_is_sent_once_and_a_refusal_keeps_its_status() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = peer::answer_once(listener, peer::FORBIDDEN);
    let mut options = ClientOptions::default();
    options.headers = vec![("HOST".into(), "example.com".into())];
    let stream = TcpStream::connect(&addr).unwrap();
    let err = connect(stream, &addr, "/", &options).unwrap_err();
    peer::check_forbidden_refusal(err, &server.join().unwrap());
}

#[test]
fn a_read_timeout_leaves_the_session_usable() {
    let mut config = Config::default();
    config.read_timeout = Some(Duration::from_millis(100));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| {
        let mut ws = accept(s, &options)?;
        let err = ws.read_message().unwrap_err();
        assert!(matches!(err, DriverError::Timeout(Timeout::Read)), "{err}");
        // Still open: a ping goes out, its pong comes back, a message after it too (each read
        // may time out again meanwhile, harmlessly).
        ws.send(Message::Ping(b"still there?".to_vec()))?;
        let mut got = Vec::new();
        while got.len() < 2 {
            match ws.read_message() {
                Err(DriverError::Timeout(Timeout::Read)) => {}
                other => got.push(other?),
            }
        }
        assert!(
            got.contains(&Message::Pong(b"still there?".to_vec())),
            "{got:?}"
        );
        assert!(got.contains(&Message::text("yes")), "{got:?}");
        ws.close(None)
    });
    let mut ws = client(&addr, &ClientOptions::default());
    thread::sleep(Duration::from_millis(300));
    ws.send(Message::text("yes")).unwrap();
    // The client answers the ping while it waits for the close.
    assert_eq!(ws.read_message().unwrap(), Message::Close(None));
    server.join().unwrap().unwrap();
}

#[test]
fn accept_with_refuses_a_foreign_origin() {
    let (addr, server) = serve_once(|s| {
        accept_with(s, &ServerOptions::default(), |request| {
            assert_eq!((request.path(), request.query()), ("/chat", Some("room=1")));
            match request.header("origin") {
                Some("https://good.example") => Ok(Accept::new().with_header("X-Hello", "1")),
                _ => Err(Refusal::new(403).with_body("origin not allowed")),
            }
        })
        .map(drop)
    });
    let mut options = ClientOptions::default();
    options.headers = vec![("Origin".into(), "https://evil.example".into())];
    let stream = TcpStream::connect(&addr).unwrap();
    let err = connect(stream, &addr, "/chat?room=1", &options).unwrap_err();
    assert_eq!(err.refused_status(), Some(403), "{err}");
    assert_eq!(
        server.join().unwrap().unwrap_err().refused_status(),
        Some(403)
    );

    let (addr, server) = serve_once(|s| {
        accept_with(s, &ServerOptions::default(), |request| {
            match request.header("origin") {
                Some("https://good.example") => Ok(Accept::new().with_header("X-Hello", "1")),
                _ => Err(Refusal::new(403)),
            }
        })
        .map(drop)
    });
    options.headers = vec![("Origin".into(), "https://good.example".into())];
    let stream = TcpStream::connect(&addr).unwrap();
    let (_ws, response) = connect(stream, &addr, "/chat?room=1", &options).unwrap();
    assert_eq!(
        (response.status, response.header("x-hello")),
        (101, Some("1"))
    );
    server.join().unwrap().unwrap();
}

/// The defaults are the table in `wspc::driver`'s docs (and the README's), for a bare `Config`
/// and for the options of both sides.
#[test]
fn the_defaults_are_the_documented_table() {
    let configs = [
        ("Config", Config::default()),
        ("ClientOptions", ClientOptions::default().config),
        ("ServerOptions", ServerOptions::default().config),
    ];
    for (what, c) in configs {
        assert!(c.properties.is_empty(), "{what}: {:?}", c.properties);
        assert_eq!(c.max_message_size, Some(64 << 20), "{what}");
        assert_eq!(c.handshake_timeout, Some(Duration::from_secs(10)), "{what}");
        assert_eq!(c.close_timeout, Some(Duration::from_secs(10)), "{what}");
        assert_eq!(c.ping_interval, Some(Duration::from_secs(20)), "{what}");
        assert_eq!(c.ping_timeout, Some(Duration::from_secs(20)), "{what}");
        assert_eq!(c.write_timeout, Some(Duration::from_secs(30)), "{what}");
        assert_eq!(c.read_timeout, None, "{what}");
        assert_eq!(c.max_write_buffer, 1 << 20, "{what}");
        assert_eq!(c.max_read_ahead, 64 << 20, "{what}");
        #[cfg(feature = "deflate")]
        assert_eq!(
            c.deflate,
            Some(wspc::deflate::DeflateConfig::DEFAULT),
            "{what}"
        );
    }
    assert_eq!(wspc::io::MAX_HEAD_BYTES, 20 << 10);
}

#[test]
fn a_message_over_the_cap_is_answered_with_1009() {
    let mut config = Config::default();
    config.max_message_size = Some(1000);
    let (addr, server) = echo_once(server_options(config));
    let mut ws = client(&addr, &ClientOptions::default());
    ws.send(Message::binary(vec![7; 999])).unwrap();
    assert_eq!(ws.read_message().unwrap().len(), 999);
    ws.send(Message::binary(vec![7; 1001])).unwrap();
    let Message::Close(Some(frame)) = ws.read_message().unwrap() else {
        panic!("no close")
    };
    assert_eq!(frame.code, CloseStatus::MESSAGE_TOO_BIG);
    let err = server.join().unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            DriverError::Ws(wspc::Error::Protocol(ProtocolError::MessageTooBig))
        ),
        "{err}"
    );
}

/// Pieces stream a message without assembling it, both ways: 1 MiB arrives in pieces of at
/// most the receive buffer although the message cap is 1000 bytes, and a text sent in two
/// pieces (split inside a code point) arrives as one message.
#[test]
fn pieces_stream_a_message_without_assembling_it() {
    let mut config = Config::default();
    config.properties = vec![Property::ReceiveBufferSize(1024)];
    config.max_message_size = Some(1000);
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| {
        let mut ws = accept(s, &options)?;
        let (mut total, mut pieces) = (0, 0);
        loop {
            let piece = ws.read_piece()?;
            assert!(piece.data.len() <= 1024, "{} bytes", piece.data.len());
            assert!(piece.data.iter().all(|&b| b == 9));
            total += piece.data.len();
            pieces += 1;
            if piece.buffer_type == BufferType::BinaryMessage {
                break;
            }
            assert_eq!(piece.buffer_type, BufferType::BinaryFragment);
        }
        assert_eq!(total, 1 << 20);
        assert!(pieces >= 1024, "{pieces} pieces");
        // The boundary cuts "é" (c3 a9) in two: pieces need not end on a code point.
        ws.send_piece(BufferType::Utf8Fragment, b"str\xc3")?;
        ws.send_piece(BufferType::Utf8Message, b"\xa9amed")?;
        ws.close(None)
    });
    let mut ws = client(&addr, &ClientOptions::default());
    ws.send(Message::binary(vec![9; 1 << 20])).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::text("stréamed"));
    assert_eq!(ws.read_message().unwrap(), Message::Close(None));
    assert!(matches!(ws.read_message(), Err(DriverError::Closed)));
    join_within(server, PEER_TIMEOUT).unwrap();
}

#[test]
fn the_close_frame_arrives_although_input_was_left_unread() {
    let (addr, server) = echo_once(ServerOptions::default());
    let (mut stream, _) = peer::upgrade(&addr, "");
    // A frame with reserved opcode 0x3, then 256 KiB the server will never read as frames.
    let mut bad = raw_frame(0x83, Some([1, 2, 3, 4]), b"");
    bad.extend(client_frame(true, Opcode::Binary, &vec![0; 256 << 10]));
    stream.write_all(&bad).unwrap();
    let got = peer::read_to_end(&mut stream);
    // No reset: the server drained our input after its close, so the close frame survived.
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.frames.len(), 1, "{:?}", got.bytes);
    assert_eq!(
        (got.frames[0].head.opcode, close_code(&got.frames[0])),
        (8, 1002)
    );
    let err = server.join().unwrap().unwrap_err();
    assert_eq!(err.close_status(), Some(CloseStatus::PROTOCOL_ERROR));
}

#[test]
fn a_close_is_answered_with_its_status_and_reason() {
    // Verification on: the reason comes back; off: a reason that is not UTF-8 is left out, and
    // the status still goes back.
    for (verify, reason, echoed) in [
        (true, &b"bye"[..], &b"bye"[..]),
        (false, &b"\xff\xfe"[..], &b""[..]),
    ] {
        let mut options = ServerOptions::default();
        options.config.properties = vec![Property::DisableUtf8Verification(!verify)];
        let (addr, server) = echo_once(options);
        let (mut stream, _) = peer::upgrade(&addr, "");
        let mut payload = 4001u16.to_be_bytes().to_vec();
        payload.extend_from_slice(reason);
        stream
            .write_all(&client_frame(true, Opcode::Close, &payload))
            .unwrap();
        let got = peer::read_to_end(&mut stream);
        assert_eq!(got.frames.len(), 1, "{:?}", got.bytes);
        let close = &got.frames[0];
        assert_eq!((close.head.opcode, close_code(close)), (8, 4001));
        assert_eq!(&close.payload[2..], echoed, "verification {verify}");
        server.join().unwrap().unwrap();
    }
}

/// A peer that reads our close but never answers it, and keeps its socket open, costs `close`
/// the close timeout and no more: then the connection is dropped and the peer sees its end.
#[test]
fn close_gives_up_on_a_peer_that_never_answers_after_the_close_timeout() {
    let mut config = Config::default();
    config.close_timeout = Some(Duration::from_millis(300));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| {
        let mut ws = accept(s, &options)?;
        let started = Instant::now();
        ws.close(None)?;
        let took = started.elapsed();
        assert!(
            (Duration::from_millis(250)..Duration::from_secs(3)).contains(&took),
            "close took {took:?}"
        );
        Ok(())
    });
    let (mut stream, _) = peer::upgrade(&addr, "");
    let close = peer::read_frames(&mut stream, 1);
    assert_eq!(close.len(), 1, "no close frame");
    assert_eq!((close[0].head.opcode, close_code(&close[0])), (8, 1005));
    // Unanswered: what follows the close is a clean end of stream, once the timeout ran out.
    let rest = peer::read_to_end(&mut stream);
    assert!(rest.error.is_none(), "{:?}", rest.error);
    assert!(rest.bytes.is_empty(), "{:?}", rest.bytes);
    // (The server's side checks that the end came after the timeout, not at once.)
    join_within(server, PEER_TIMEOUT).unwrap();
}

#[test]
fn heads_over_the_cap_get_431_and_bare_lf_heads_are_read() {
    let (addr, server) = echo_once(ServerOptions::default());
    let mut stream = peer::connect(&addr);
    let filler = format!(
        "GET / HTTP/1.1\r\nX: {}\r\n",
        "a".repeat(wspc::io::MAX_HEAD_BYTES)
    );
    let _ = stream.write_all(filler.as_bytes());
    let head = peer::read_response_head(&mut stream).expect("an answer, not a reset");
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    assert!(
        matches!(join_within(server, PEER_TIMEOUT), Err(DriverError::Http(why)) if why.contains("head over"))
    );

    let (addr, server) = echo_once(ServerOptions::default());
    let mut stream = peer::connect(&addr);
    let request = peer::upgrade_request(&addr, "").replace("\r\n", "\n");
    stream.write_all(request.as_bytes()).unwrap();
    let head = peer::read_response_head(&mut stream).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    drop(stream);
    let _ = join_within(server, PEER_TIMEOUT);

    // A bare-LF head that is not an upgrade is answered at once, not after a timeout.
    let (addr, server) = echo_once(ServerOptions::default());
    let mut stream = peer::connect(&addr);
    let started = Instant::now();
    stream.write_all(b"GET / HTTP/1.1\nHost: x\n\n").unwrap();
    let head = peer::read_response_head(&mut stream).unwrap();
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(join_within(server, PEER_TIMEOUT).is_err());
}

#[test]
fn a_peer_that_never_answers_pings_is_failed_with_1011() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(100));
    config.ping_timeout = Some(Duration::from_millis(200));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| accept(s, &options)?.read_message().map(drop));
    let (mut stream, _) = peer::upgrade(&addr, "");
    let got = peer::read_to_end(&mut stream);
    let kinds: Vec<u8> = got.frames.iter().map(|f| f.head.opcode).collect();
    assert_eq!(kinds, [9, 8], "a ping, then the close");
    assert_eq!(close_code(&got.frames[1]), 1011);
    let err = server.join().unwrap().unwrap_err();
    assert!(matches!(err, DriverError::Timeout(Timeout::Pong)), "{err}");
}

#[test]
fn keep_alive_pings_keep_an_idle_connection_open() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(50));
    config.ping_timeout = Some(Duration::from_millis(500));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| {
        let mut ws = accept(s, &options)?;
        assert_eq!(ws.read_message()?, Message::text("after a while"));
        ws.close(None)
    });
    // The client reads (so it answers pings) but sends nothing for 10 intervals.
    let mut options = ClientOptions::default();
    options.config.read_timeout = Some(Duration::from_millis(500));
    let mut ws = client(&addr, &options);
    let err = ws.read_message().unwrap_err();
    assert!(matches!(err, DriverError::Timeout(Timeout::Read)), "{err}");
    ws.send(Message::text("after a while")).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::Close(None));
    server.join().unwrap().unwrap();
}

#[test]
fn a_peer_that_stops_reading_hits_the_write_timeout() {
    let mut config = Config::default();
    config.write_timeout = Some(Duration::from_secs(1));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| {
        let mut ws = accept(s, &options)?;
        let started = Instant::now();
        loop {
            if let Err(e) = ws.send(Message::binary(vec![0; 1 << 20])) {
                // The sockets' buffers fill within milliseconds; then the timeout runs, and
                // fails the write within 1¼ of it, plus slack for a loaded machine (one socket
                // timeout of the whole 1 s took 2-4 s: a write that moved some bytes first
                // waited its whole timeout).
                let took = started.elapsed();
                assert!(
                    (Duration::from_secs(1)..Duration::from_millis(1900)).contains(&took),
                    "the write failed after {took:?}"
                );
                return Err(e);
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never blocked");
        }
    });
    let (stream, _) = peer::upgrade(&addr, "");
    let err = join_within(server, PEER_TIMEOUT).unwrap_err();
    assert!(matches!(err, DriverError::Timeout(Timeout::Write)), "{err}");
    drop(stream);
}

/// A peer that reads in bursts is not failed by the write timeout: only time without progress
/// counts. Here the timeout is 1 s and the peer pauses 600 ms between bursts of 4 MiB, so once
/// the sockets' buffers are full two or three of the driver's quarter-second socket timeouts
/// pass without progress each time, but never a whole second.
#[test]
fn a_peer_reading_in_bursts_is_not_failed_by_the_write_timeout() {
    let mut config = Config::default();
    config.write_timeout = Some(Duration::from_secs(1));
    let options = server_options(config);
    let total: usize = 16 << 20;
    let (addr, server) = serve_once(move |s| {
        let mut ws = accept(s, &options)?;
        ws.send(Message::binary(vec![7; total]))?;
        Ok(())
    });
    let (mut stream, _) = peer::upgrade(&addr, "");
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let (mut got, mut buf, mut pauses) = (Vec::new(), vec![0u8; 1 << 20], 0);
    while got.len() < total + 10 {
        thread::sleep(Duration::from_millis(600));
        pauses += 1;
        assert!(pauses < 100, "only {} bytes came", got.len());
        // A burst: 4 MiB, or what is there.
        let burst = got.len() + (4 << 20);
        while got.len() < burst.min(total + 10) {
            match stream.read(&mut buf) {
                Ok(0) => panic!("the stream ended after {} bytes", got.len()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
    }
    join_within(server, PEER_TIMEOUT).unwrap();
    let (frames, _) = wspc_testkit::parse::parse_lax(&got);
    assert_eq!(frames.len(), 1);
    assert!(frames[0].payload.len() == total && frames[0].payload.iter().all(|&b| b == 7));
    assert!(pauses >= 3, "the write never waited: {pauses} pauses");
}

/// The echo example out of file descriptors: `accept` fails with EMFILE while idle connections
/// hold them all; the server logs, backs off and serves again once they are gone.
#[test]
fn the_echo_example_survives_running_out_of_file_descriptors() {
    let addr = peer::free_addr();
    let mut server = peer::spawn_with_fd_limit("serve_the_example_for_the_fd_test", &addr, 24);
    let first = peer::connect_within(&addr, Duration::from_secs(10));
    // Far more idle connections than descriptors: the server's accept starts failing.
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    thread::sleep(Duration::from_millis(500));
    assert!(server.try_wait().unwrap().is_none(), "the server died");
    drop(idle);
    drop(first);
    // Once the idle connections are gone, a real client is served.
    let mut ws = served_within(&addr, Duration::from_secs(15));
    ws.send(Message::text("still here")).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::text("still here"));
    ws.close(None).unwrap();
    server.kill().unwrap();
    let out = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("accept failed"), "EMFILE never hit: {log}");
}

/// Not a test: the echo example's server, run in a child process with few file descriptors by
/// [`the_echo_example_survives_running_out_of_file_descriptors`].
#[test]
#[ignore = "run by the_echo_example_survives_running_out_of_file_descriptors"]
fn serve_the_example_for_the_fd_test() {
    let addr = std::env::var("WSPC_TEST_ADDR").expect("WSPC_TEST_ADDR");
    echo_server::run(&addr, 512).unwrap();
}

#[test]
fn a_silent_server_costs_connect_only_the_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Accepts and reads, never answers.
    let silent = thread::spawn(move || {
        let mut s = peer::bounded(listener.accept().unwrap().0);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    });
    let mut options = ClientOptions::default();
    options.config.handshake_timeout = Some(Duration::from_millis(300));
    let started = Instant::now();
    let stream = TcpStream::connect(&addr).unwrap();
    let err = connect(stream, &addr, "/", &options).unwrap_err();
    assert!(
        matches!(err, DriverError::Timeout(Timeout::Handshake)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    silent.join().unwrap();
}

/// On a non-blocking stream a read that would block returns `WouldBlock` at once (not a spin on
/// the keep-alive clock), and the session stays usable.
#[test]
fn a_non_blocking_stream_gets_would_block_and_keeps_its_session() {
    let (addr, server) = serve_once(|s| {
        let mut ws = accept(s, &ServerOptions::default())?;
        thread::sleep(Duration::from_millis(300));
        ws.send(Message::text("late"))?;
        ws.close(None)
    });
    let mut ws = client(&addr, &ClientOptions::default());
    ws.get_ref().set_nonblocking(true).unwrap();
    let started = Instant::now();
    let err = ws.read_message().unwrap_err();
    assert!(
        matches!(&err, DriverError::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    ws.get_ref().set_nonblocking(false).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::text("late"));
    assert_eq!(ws.read_message().unwrap(), Message::Close(None));
    server.join().unwrap().unwrap();
}

/// A message that compresses well: 1 MiB of a repeated sentence.
#[cfg(feature = "deflate")]
fn compressible() -> String {
    "the quick brown fox jumps over the lazy dog. ".repeat((1 << 20) / 45)
}

#[cfg(feature = "deflate")]
#[test]
fn the_drivers_negotiate_permessage_deflate_by_default_and_config_turns_it_off() {
    // Default on both sides: offered, accepted, and a message round trips compressed.
    let (addr, server) = echo_once(ServerOptions::default());
    let stream = TcpStream::connect(&addr).unwrap();
    let (mut ws, response) = connect(stream, &addr, "/", &ClientOptions::default()).unwrap();
    let ext = response.header("sec-websocket-extensions").unwrap_or("");
    assert!(ext.starts_with("permessage-deflate"), "{ext:?}");
    assert!(ws.session().permessage_deflate().is_some());
    let text = compressible();
    ws.send(Message::text(text.clone())).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::text(text.clone()));
    ws.close(None).unwrap();
    assert!(matches!(ws.read_message(), Err(DriverError::Closed)));
    server.join().unwrap().unwrap();

    // A server with `deflate: None` declines the default offer: no extension, same messages.
    let mut config = Config::default();
    config.deflate = None;
    let (addr, server) = echo_once(server_options(config));
    let stream = TcpStream::connect(&addr).unwrap();
    let (mut ws, response) = connect(stream, &addr, "/", &ClientOptions::default()).unwrap();
    assert_eq!(response.header("sec-websocket-extensions"), None);
    assert!(ws.session().permessage_deflate().is_none());
    ws.send(Message::text(text.clone())).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::text(text.clone()));
    ws.close(None).unwrap();
    server.join().unwrap().unwrap();

    // A client whose properties turn it off does not offer it, whatever `deflate` says.
    let (addr, server) = serve_once(|s| {
        let mut offered = None;
        let ws = accept_with(s, &ServerOptions::default(), |request| {
            offered = request.header("sec-websocket-extensions").map(String::from);
            Ok(Accept::new())
        })?;
        assert_eq!(offered, None);
        assert!(ws.session().permessage_deflate().is_none());
        Ok(())
    });
    let mut options = ClientOptions::default();
    options.config.properties = vec![Property::PermessageDeflate(None)];
    let stream = TcpStream::connect(&addr).unwrap();
    let (ws, _) = connect(stream, &addr, "/", &options).unwrap();
    assert!(ws.session().permessage_deflate().is_none());
    server.join().unwrap().unwrap();
}

/// The echo example over its connection cap: the extra connection, whose upgrade request is
/// already in the server's receive buffer, reads a whole `503` head and a clean end of stream
/// (not a reset, which Linux sends when a socket is closed with input unread and which can
/// destroy the answer); once the first connection ends, the slot is free again.
#[test]
fn the_echo_example_answers_503_over_its_cap_and_serves_again_when_a_slot_frees() {
    let addr = peer::free_addr();
    let a = addr.clone();
    thread::spawn(move || echo_server::run(&a, 1));
    let stream = peer::connect_within(&addr, Duration::from_secs(10));
    let (mut first, _) = connect(stream, &addr, "/", &ClientOptions::default()).unwrap();
    first.send(Message::text("one")).unwrap();
    assert_eq!(first.read_message().unwrap(), Message::text("one"));

    peer::expect_busy_503(&addr);

    first.close(None).unwrap();
    drop(first);
    let mut ws = served_within(&addr, Duration::from_secs(10));
    ws.send(Message::text("two")).unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::text("two"));
    ws.close(None).unwrap();
}
