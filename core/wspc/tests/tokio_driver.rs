//! The tokio driver over real loopback TCP: the tokio echo example against clients, full duplex
//! after `split()`, pieces, and each rough edge against a hostile raw peer
//! (`wspc_testkit::peer`, which speaks WebSocket without the engine, on a blocking thread).

#[allow(dead_code)]
#[path = "../examples/tokio_echo_server.rs"]
mod tokio_echo_server;

use futures_util::{SinkExt, StreamExt};
use std::io::Write;
use std::net::TcpStream as StdStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wspc::frame::Opcode;
use wspc::tokio::{
    accept, accept_with, connect, Accept, ClientOptions, CloseFrame, Config, DriverError, Message,
    Refusal, ServerOptions, Timeout, WebSocketStream,
};
use wspc::{BufferType, CloseStatus, Property, ProtocolError};
use wspc_testkit::frame::{client_frame, raw_frame};
use wspc_testkit::peer::{self, close_code, PEER_TIMEOUT, SAMPLE_ACCEPT};

type Served = JoinHandle<Result<(), DriverError>>;

/// Run `serve` on the first connection to a fresh loopback listener.
async fn serve_once<F, Fut>(serve: F) -> (String, Served)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), DriverError>> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = tokio::spawn(async move { serve(listener.accept().await?.0).await });
    (addr, handle)
}

async fn echo_once(options: ServerOptions) -> (String, Served) {
    serve_once(move |s| async move { tokio_echo_server::serve(s, &options).await }).await
}

async fn client(addr: &str, options: &ClientOptions) -> WebSocketStream<TcpStream> {
    let stream = TcpStream::connect(addr).await.unwrap();
    connect(stream, addr, "/chat", options).await.unwrap().0
}

fn server_options(config: Config) -> ServerOptions {
    let mut options = ServerOptions::default();
    options.config = config;
    options
}

/// Start a blocking raw peer on its own thread (at once: the server side waits for it).
fn raw<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    tokio::task::spawn_blocking(f)
}

/// Connect to `addr` until the upgrade succeeds (a server out of file descriptors or over its
/// connection cap refuses meanwhile), failing the test if it has not after `limit`.
async fn served_within(addr: &str, limit: Duration) -> WebSocketStream<TcpStream> {
    let (deadline, options) = (Instant::now() + limit, ClientOptions::default());
    loop {
        let stream = TcpStream::connect(addr).await.unwrap();
        let upgrade = tokio::time::timeout(PEER_TIMEOUT, connect(stream, addr, "/", &options));
        match upgrade.await.expect("the upgrade hung") {
            Ok((ws, _)) => return ws,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{addr} was not served again within {limit:?}: {e}"),
        }
    }
}

/// Await `server`, failing the test if it still runs after `limit` (instead of hanging).
async fn join_within(server: Served, limit: Duration) -> Result<(), DriverError> {
    tokio::time::timeout(limit, server)
        .await
        .unwrap_or_else(|_| panic!("the server still runs after {limit:?}"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_example_serves_whole_messages() {
    let (addr, server) = echo_once(ServerOptions::default()).await;
    let mut options = ClientOptions::default();
    options.config.properties = vec![
        Property::ReceiveBufferSize(256),
        Property::SendBufferSize(256),
    ];
    let mut ws = client(&addr, &options).await;
    ws.send(Message::text("héllo")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("héllo"));
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Binary(big));
    ws.send(Message::Ping(b"p".to_vec())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Pong(b"p".to_vec())
    );
    ws.close(Some(CloseFrame {
        code: CloseStatus(4000),
        reason: "done".into(),
    }))
    .await
    .unwrap();
    assert!(ws.next().await.is_none());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_16_mib_before_it_reads_gets_one_message_back() {
    let (addr, server) = echo_once(ServerOptions::default()).await;
    let got = raw(move || {
        let (mut stream, head) = peer::upgrade(&addr, "");
        assert!(head.contains(SAMPLE_ACCEPT), "{head}");
        let payload: Vec<u8> = (0..16u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
        stream
            .write_all(&client_frame(true, Opcode::Binary, &payload))
            .unwrap();
        stream
            .write_all(&client_frame(true, Opcode::Close, &1000u16.to_be_bytes()))
            .unwrap();
        (payload, peer::read_to_end(&mut stream))
    })
    .await
    .unwrap();
    let (payload, got) = got;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.frames.len(), 2, "one message frame and the close");
    assert!(got.frames[0].head.fin && got.frames[0].head.opcode == 2);
    assert!(got.frames[0].payload == payload, "the echo differs");
    assert_eq!(close_code(&got.frames[1]), 1000);
    join_within(server, PEER_TIMEOUT).await.unwrap();
}

/// A raw peer that sends `count` binary messages of 16 MiB and a close before it reads, then
/// reads to the end (or the error that ends it): the payloads and what it read.
async fn send_16_mib_messages_before_reading(
    addr: String,
    count: u32,
) -> (Vec<Vec<u8>>, peer::Received) {
    raw(move || {
        let (mut stream, head) = peer::upgrade(&addr, "");
        assert!(head.contains(SAMPLE_ACCEPT), "{head}");
        let payloads: Vec<Vec<u8>> = (0..count)
            .map(|k| {
                (0..16u32 << 20)
                    .map(|i| (i * 7 % 251) as u8 ^ k as u8)
                    .collect()
            })
            .collect();
        // A write fails only if the server gave up on the connection; what it sent shows that.
        let _ = payloads
            .iter()
            .map(|payload| client_frame(true, Opcode::Binary, payload))
            .chain([client_frame(true, Opcode::Close, &1000u16.to_be_bytes())])
            .try_for_each(|frame| stream.write_all(&frame));
        (payloads, peer::read_to_end(&mut stream))
    })
    .await
    .unwrap()
}

/// Three 16 MiB messages before reading: while the echo of the first waits for the peer to read,
/// the peer still has 32 MiB to send, more than the sockets' buffers hold. The send that waits
/// reads them ahead, so both sides go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_waits_reads_ahead_so_a_peer_sending_48_mib_before_reading_gets_its_echoes() {
    let (addr, server) = echo_once(ServerOptions::default()).await;
    let (payloads, got) = send_16_mib_messages_before_reading(addr, 3).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.frames.len(), 4, "three message frames and the close");
    for (frame, payload) in got.frames.iter().zip(&payloads) {
        assert!(frame.head.fin && frame.head.opcode == 2);
        assert!(frame.payload == *payload, "an echo differs");
    }
    assert_eq!(close_code(&got.frames[3]), 1000);
    join_within(server, PEER_TIMEOUT).await.unwrap();
}

/// The same peer with reading ahead off: the echo's write and the peer's wait on each other
/// until the write timeout (what the test above would meet without reading ahead).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reading_ahead_the_same_peer_and_echo_wait_on_each_other() {
    let mut config = Config::default();
    config.max_read_ahead = 0;
    config.write_timeout = Some(Duration::from_secs(1));
    let (addr, server) = echo_once(server_options(config)).await;
    let (_, got) = send_16_mib_messages_before_reading(addr, 3).await;
    assert!(
        got.frames.len() < 3,
        "{} frames came back",
        got.frames.len()
    );
    let ended = join_within(server, PEER_TIMEOUT).await;
    assert!(
        matches!(ended, Err(DriverError::Timeout(Timeout::Write))),
        "{ended:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_goes_on_while_a_write_waits_after_split() {
    let (got_ten, ten) = mpsc::channel();
    let (addr, server) = serve_once(move |s| async move {
        let ws = accept(s, &ServerOptions::default()).await?;
        let (mut tx, mut rx) = ws.split();
        // The writer pushes 32 MiB at a peer that does not read yet: it blocks.
        let writer = tokio::spawn(async move {
            for _ in 0..32 {
                tx.send(Message::binary(vec![1; 1 << 20])).await?;
            }
            tx.send(Message::Close(None)).await
        });
        // The reader still gets every message the peer sends meanwhile.
        let mut texts = 0;
        while let Some(m) = rx.next().await {
            if let Message::Text(_) = m? {
                texts += 1;
                if texts == 10 {
                    got_ten.send(()).unwrap();
                }
            }
        }
        writer.await.unwrap()?;
        assert_eq!(texts, 10);
        Ok(())
    })
    .await;
    let frames = raw(move || {
        let (mut stream, _) = peer::upgrade(&addr, "");
        for i in 0..10 {
            let frame = client_frame(true, Opcode::Text, format!("msg {i}").as_bytes());
            stream.write_all(&frame).unwrap();
        }
        // The peer reads nothing until the server's reader has all ten: that reader ran while
        // its writer was blocked on us.
        ten.recv_timeout(Duration::from_secs(10))
            .expect("the reader stalled behind the blocked writer");
        let frames = peer::read_frames(&mut stream, 33);
        stream
            .write_all(&client_frame(true, Opcode::Close, &[]))
            .unwrap();
        frames
    })
    .await
    .unwrap();
    assert_eq!(frames.len(), 33, "32 messages and the close");
    assert!(frames[..32].iter().all(|f| f.payload.len() == 1 << 20));
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("no deadlock")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pieces_stream_a_message_without_assembling_it() {
    let mut config = Config::default();
    config.properties = vec![Property::ReceiveBufferSize(1024)];
    config.max_message_size = Some(1000);
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| async move {
        let mut ws = accept(s, &options).await?;
        // 1 MiB arrives in pieces of at most the receive buffer; the message cap does not apply.
        let mut total = 0;
        loop {
            let piece = ws.read_piece().await?.expect("a piece");
            assert!(piece.data.len() <= 1024);
            total += piece.data.len();
            if piece.buffer_type == BufferType::BinaryMessage {
                break;
            }
            assert_eq!(piece.buffer_type, BufferType::BinaryFragment);
        }
        assert_eq!(total, 1 << 20);
        ws.send_piece(BufferType::Utf8Fragment, b"str".to_vec())
            .await?;
        ws.send_piece(BufferType::Utf8Message, b"eamed".to_vec())
            .await?;
        ws.close(None).await
    })
    .await;
    let mut ws = client(&addr, &ClientOptions::default()).await;
    ws.send(Message::binary(vec![9; 1 << 20])).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("streamed"));
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Close(None));
    assert!(ws.next().await.is_none());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_head_hits_the_handshake_timeout() {
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let options = server_options(config);
    let (addr, server) =
        serve_once(move |s| async move { accept(s, &options).await.map(drop) }).await;
    let started = Instant::now();
    let slow = raw(move || {
        let mut stream = peer::connect(&addr);
        for b in peer::upgrade_request(&addr, "").bytes() {
            if stream.write_all(&[b]).is_err() || started.elapsed() > Duration::from_secs(3) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let result = join_within(server, PEER_TIMEOUT).await;
    assert!(
        matches!(result, Err(DriverError::Timeout(Timeout::Handshake))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    slow.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_with_line_breaks_or_spaces_is_refused_before_anything_is_sent() {
    use tokio::io::AsyncReadExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    for path in ["/a\r\nX-Injected: 1", "/a b", "", "no-slash", "/\u{1}"] {
        let stream = TcpStream::connect(&addr).await.unwrap();
        let err = connect(stream, &addr, path, &ClientOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, DriverError::Http(_)), "{path:?}: {err}");
        // The server side sees a connection that ends with no byte sent.
        let (mut accepted, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(PEER_TIMEOUT, accepted.read_to_end(&mut got))
            .await
            .expect("the connection was left open")
            .unwrap();
        assert!(got.is_empty(), "{path:?}: {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_with_refuses_a_foreign_origin() {
    let (addr, server) = serve_once(|s| async move {
        accept_with(s, &ServerOptions::default(), |request| {
            match request.header("origin") {
                Some("https://good.example") => Ok(Accept::new()),
                _ => Err(Refusal::new(403).with_body("origin not allowed")),
            }
        })
        .await
        .map(drop)
    })
    .await;
    let mut options = ClientOptions::default();
    options.headers = vec![("Origin".into(), "https://evil.example".into())];
    let stream = TcpStream::connect(&addr).await.unwrap();
    let err = connect(stream, &addr, "/", &options).await.unwrap_err();
    assert_eq!(err.refused_status(), Some(403), "{err}");
    assert_eq!(
        server.await.unwrap().unwrap_err().refused_status(),
        Some(403)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_is_sent_once_and_a_refusal_keeps_its_status() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = peer::answer_once(listener, peer::FORBIDDEN);
    let mut options = ClientOptions::default();
    options.headers = vec![("HOST".into(), "example.com".into())];
    let stream = TcpStream::connect(&addr).await.unwrap();
    let err = connect(stream, &addr, "/", &options).await.unwrap_err();
    peer::check_forbidden_refusal(err, &server.join().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_over_the_cap_get_431_and_bare_lf_heads_are_read() {
    let (addr, server) = echo_once(ServerOptions::default()).await;
    let head = raw(move || {
        let mut stream = peer::connect(&addr);
        let filler = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n",
            "a".repeat(wspc::tokio::MAX_HEAD_BYTES)
        );
        let _ = stream.write_all(filler.as_bytes());
        peer::read_response_head(&mut stream)
    })
    .await
    .unwrap()
    .expect("an answer, not a reset");
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    let ended = join_within(server, PEER_TIMEOUT).await;
    assert!(
        matches!(&ended, Err(DriverError::Http(why)) if why.contains("head over")),
        "{ended:?}"
    );

    let (addr, server) = echo_once(ServerOptions::default()).await;
    let head = raw(move || {
        let mut stream = peer::connect(&addr);
        let request = peer::upgrade_request(&addr, "").replace("\r\n", "\n");
        stream.write_all(request.as_bytes()).unwrap();
        peer::read_response_head(&mut stream)
    })
    .await
    .unwrap()
    .expect("a response head");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // The peer is gone: the echo loop ends one way or another.
    let _ = join_within(server, PEER_TIMEOUT).await;

    // A bare-LF head that is not an upgrade is answered at once, not after a timeout.
    let (addr, server) = echo_once(ServerOptions::default()).await;
    let (head, took) = raw(move || {
        let mut stream = peer::connect(&addr);
        let started = Instant::now();
        stream.write_all(b"GET / HTTP/1.1\nHost: x\n\n").unwrap();
        (peer::read_response_head(&mut stream), started.elapsed())
    })
    .await
    .unwrap();
    let head = head.expect("a response head");
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(join_within(server, PEER_TIMEOUT).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_cap_is_answered_with_1009() {
    let mut config = Config::default();
    config.max_message_size = Some(1000);
    let (addr, server) = echo_once(server_options(config)).await;
    let mut ws = client(&addr, &ClientOptions::default()).await;
    ws.send(Message::binary(vec![7; 1000])).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap().len(), 1000);
    ws.send(Message::binary(vec![7; 1001])).await.unwrap();
    let Message::Close(Some(frame)) = ws.next().await.unwrap().unwrap() else {
        panic!("no close")
    };
    assert_eq!(frame.code, CloseStatus::MESSAGE_TOO_BIG);
    let err = server.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            DriverError::Ws(wspc::Error::Protocol(ProtocolError::MessageTooBig))
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_frame_arrives_although_input_was_left_unread() {
    let (addr, server) = echo_once(ServerOptions::default()).await;
    let got = raw(move || {
        let (mut stream, _) = peer::upgrade(&addr, "");
        let mut bad = raw_frame(0x83, Some([1, 2, 3, 4]), b"");
        bad.extend(client_frame(true, Opcode::Binary, &vec![0; 256 << 10]));
        stream.write_all(&bad).unwrap();
        peer::read_to_end(&mut stream)
    })
    .await
    .unwrap();
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.frames.len(), 1, "{:?}", got.bytes);
    assert_eq!(
        (got.frames[0].head.opcode, close_code(&got.frames[0])),
        (8, 1002)
    );
    let err = server.await.unwrap().unwrap_err();
    assert_eq!(err.close_status(), Some(CloseStatus::PROTOCOL_ERROR));
}

/// A peer that reads our close but never answers it, and keeps its socket open, costs `close`
/// the close timeout and no more: then the connection is dropped and the peer sees its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_gives_up_on_a_peer_that_never_answers_after_the_close_timeout() {
    let mut config = Config::default();
    config.close_timeout = Some(Duration::from_millis(300));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| async move {
        let mut ws = accept(s, &options).await?;
        let started = Instant::now();
        ws.close(None).await?;
        let took = started.elapsed();
        assert!(
            (Duration::from_millis(250)..Duration::from_secs(3)).contains(&took),
            "close took {took:?}"
        );
        Ok(())
    })
    .await;
    let (close, rest) = raw(move || {
        let (mut stream, _) = peer::upgrade(&addr, "");
        let close = peer::read_frames(&mut stream, 1);
        // Unanswered: the socket stays open while we wait for what follows the close.
        (close, peer::read_to_end(&mut stream))
    })
    .await
    .unwrap();
    assert_eq!(close.len(), 1, "no close frame");
    assert_eq!((close[0].head.opcode, close_code(&close[0])), (8, 1005));
    // A clean end of stream, once the timeout ran out.
    assert!(rest.error.is_none(), "{:?}", rest.error);
    assert!(rest.bytes.is_empty(), "{:?}", rest.bytes);
    // (The server's side checks that the end came after the timeout, not at once.)
    join_within(server, PEER_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_answers_pings_is_failed_with_1011() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(100));
    config.ping_timeout = Some(Duration::from_millis(200));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| async move {
        let mut ws = accept(s, &options).await?;
        match ws.next().await {
            Some(Err(e)) => Err(e),
            other => panic!("{other:?}"),
        }
    })
    .await;
    let got = raw(move || {
        let (mut stream, _) = peer::upgrade(&addr, "");
        peer::read_to_end(&mut stream)
    })
    .await
    .unwrap();
    let kinds: Vec<u8> = got.frames.iter().map(|f| f.head.opcode).collect();
    assert_eq!(kinds, [9, 8], "a ping, then the close");
    assert_eq!(close_code(&got.frames[1]), 1011);
    let err = server.await.unwrap().unwrap_err();
    assert!(matches!(err, DriverError::Timeout(Timeout::Pong)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_pings_keep_an_idle_connection_open() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(50));
    config.ping_timeout = Some(Duration::from_millis(500));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| async move {
        let mut ws = accept(s, &options).await?;
        assert_eq!(ws.next().await.unwrap()?, Message::text("after a while"));
        ws.close(None).await
    })
    .await;
    let ws = client(&addr, &ClientOptions::default()).await;
    let (mut tx, mut rx) = ws.split();
    // The client reads (so it answers pings) but sends nothing for 10 intervals.
    let reader = tokio::spawn(async move { rx.next().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    tx.send(Message::text("after a while")).await.unwrap();
    let got = reader.await.unwrap().unwrap().unwrap();
    assert_eq!(got, Message::Close(None));
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_hits_the_write_timeout() {
    let mut config = Config::default();
    config.write_timeout = Some(Duration::from_secs(1));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| async move {
        let mut ws = accept(s, &options).await?;
        let started = Instant::now();
        loop {
            if let Err(e) = ws.send(Message::binary(vec![0; 1 << 20])).await {
                // The sockets' buffers fill within milliseconds; then the timeout runs.
                let took = started.elapsed();
                assert!(
                    (Duration::from_secs(1)..Duration::from_millis(1900)).contains(&took),
                    "the write failed after {took:?}"
                );
                return Err(e);
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never blocked");
        }
    })
    .await;
    let (hold, release) = mpsc::channel::<()>();
    let peer = raw(move || {
        let (stream, _) = peer::upgrade(&addr, "");
        let _ = release.recv();
        drop(stream);
    });
    let err = join_within(server, PEER_TIMEOUT).await.unwrap_err();
    assert!(matches!(err, DriverError::Timeout(Timeout::Write)), "{err}");
    drop(hold);
    peer.await.unwrap();
}

/// The tokio echo example out of file descriptors: `accept` fails with EMFILE while idle
/// connections hold them all; the server logs, backs off and serves again once they are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_example_survives_running_out_of_file_descriptors() {
    let addr = peer::free_addr();
    let mut server = peer::spawn_with_fd_limit("serve_the_example_for_the_fd_test", &addr, 24);
    let a = addr.clone();
    let idle = raw(move || {
        let first = peer::connect_within(&a, Duration::from_secs(10));
        let mut idle: Vec<StdStream> = (0..40).map(|_| StdStream::connect(&a).unwrap()).collect();
        idle.push(first);
        std::thread::sleep(Duration::from_millis(500));
        idle
    })
    .await
    .unwrap();
    assert!(server.try_wait().unwrap().is_none(), "the server died");
    drop(idle);
    let mut ws = served_within(&addr, Duration::from_secs(15)).await;
    ws.send(Message::text("still here")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("still here")
    );
    ws.close(None).await.unwrap();
    server.kill().unwrap();
    let out = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("accept failed"), "EMFILE never hit: {log}");
}

/// Not a test: the tokio echo example's server, run in a child process with few file
/// descriptors by [`the_echo_example_survives_running_out_of_file_descriptors`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the_echo_example_survives_running_out_of_file_descriptors"]
async fn serve_the_example_for_the_fd_test() {
    let addr = std::env::var("WSPC_TEST_ADDR").expect("WSPC_TEST_ADDR");
    tokio_echo_server::run(&addr, 10_000).await.unwrap();
}

/// Writes are buffered up to `max_write_buffer`: with a peer that does not read, `feed` (ready,
/// then queue, no flush) stops being ready once that much is queued and unwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_applies_backpressure_beyond_its_write_buffer() {
    const BOUND: usize = 256 << 10;
    const MESSAGE: usize = 64 << 10;
    let mut config = Config::default();
    config.max_write_buffer = BOUND;
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| async move {
        let mut ws = accept(s, &options).await?;
        let mut fed = 0;
        loop {
            let feed = ws.feed(Message::binary(vec![0; MESSAGE]));
            match tokio::time::timeout(Duration::from_millis(300), feed).await {
                Ok(result) => result?,
                // Not ready: the buffer is full and the socket takes no more.
                Err(_) => break,
            }
            fed += 1;
            assert!(fed < 10_000, "never pushed back");
        }
        let queued = ws.queued_bytes();
        assert!(
            (BOUND..=BOUND + MESSAGE).contains(&queued),
            "{queued} queued"
        );
        Ok(())
    })
    .await;
    let (hold, release) = mpsc::channel::<()>();
    let peer = raw(move || {
        let (stream, _) = peer::upgrade(&addr, "");
        let _ = release.recv();
        drop(stream);
    });
    join_within(server, PEER_TIMEOUT).await.unwrap();
    drop(hold);
    peer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_costs_connect_only_the_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Accepts and reads, never answers.
    let silent = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut s, _) = listener.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    });
    let mut options = ClientOptions::default();
    options.config.handshake_timeout = Some(Duration::from_millis(300));
    let started = Instant::now();
    let stream = TcpStream::connect(&addr).await.unwrap();
    let err = connect(stream, &addr, "/", &options).await.unwrap_err();
    assert!(
        matches!(err, DriverError::Timeout(Timeout::Handshake)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    silent.await.unwrap();
}

/// A task that only reads still sends its keep-alive pings, and a live peer's pongs keep the
/// connection open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_task_alone_keeps_a_live_connection_open() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(100));
    config.ping_timeout = Some(Duration::from_millis(300));
    let options = server_options(config);
    let (addr, server) = serve_once(move |s| async move {
        let mut ws = accept(s, &options).await?;
        // Ten intervals of silence: pings go out, pongs come back, nothing is delivered.
        let idle = tokio::time::timeout(Duration::from_millis(1000), ws.next()).await;
        assert!(idle.is_err(), "{idle:?}");
        assert_eq!(ws.next().await.unwrap()?, Message::text("still open"));
        ws.close(None).await
    })
    .await;
    let ws = client(&addr, &ClientOptions::default()).await;
    let (mut tx, mut rx) = ws.split();
    let reader = tokio::spawn(async move { rx.next().await });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    tx.send(Message::text("still open")).await.unwrap();
    assert_eq!(
        reader.await.unwrap().unwrap().unwrap(),
        Message::Close(None)
    );
    server.await.unwrap().unwrap();
}

/// A ping that arrives while a write is blocked is answered as soon as the wire is free, without
/// waiting for more bytes from the peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_during_a_blocked_write_is_answered_when_the_wire_frees() {
    let (addr, server) = serve_once(|s| async move {
        let ws = accept(s, &ServerOptions::default()).await?;
        let (mut tx, mut rx) = ws.split();
        // The reading half is polled by its own task (it sees the ping).
        tokio::spawn(async move { while rx.next().await.is_some() {} });
        for _ in 0..16 {
            tx.send(Message::binary(vec![3; 1 << 20])).await?;
        }
        Ok(())
    })
    .await;
    let frames = raw(move || {
        let (mut stream, _) = peer::upgrade(&addr, "");
        std::thread::sleep(Duration::from_millis(200));
        // The server's writer is blocked on us now; we ping, then only read.
        stream
            .write_all(&client_frame(true, Opcode::Ping, b"are you there"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        peer::read_frames(&mut stream, 17)
    })
    .await
    .unwrap();
    let pongs: Vec<_> = frames.iter().filter(|f| f.head.opcode == 0xA).collect();
    assert_eq!(pongs.len(), 1, "{} frames", frames.len());
    assert_eq!(pongs[0].payload, b"are you there");
    server.await.unwrap().unwrap();
}

#[cfg(feature = "deflate")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permessage_deflate_is_negotiated_by_default_and_off_with_deflate_none() {
    let text = "the quick brown fox jumps over the lazy dog. ".repeat((1 << 20) / 45);
    for server_deflate in [true, false] {
        let mut config = Config::default();
        if !server_deflate {
            config.deflate = None;
        }
        let (addr, server) = echo_once(server_options(config)).await;
        let stream = TcpStream::connect(&addr).await.unwrap();
        let (mut ws, response) = connect(stream, &addr, "/", &ClientOptions::default())
            .await
            .unwrap();
        let ext = response.header("sec-websocket-extensions");
        assert_eq!(
            ext.is_some_and(|e| e.starts_with("permessage-deflate")),
            server_deflate,
            "{ext:?}"
        );
        assert_eq!(ws.session().permessage_deflate().is_some(), server_deflate);
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text(text.clone())
        );
        ws.close(None).await.unwrap();
        server.await.unwrap().unwrap();
    }
}

/// A server's task holds the `accept` future and then the stream: neither may carry large
/// buffers inline, or every connection pays for them (a 4 KiB drain buffer for refusals once
/// made the future 10 KiB).
#[test]
fn the_accept_future_and_the_stream_stay_small() {
    let (_, end) = tokio::io::duplex(64);
    let options = ServerOptions::default();
    let accepting = accept(end, &options);
    let size = std::mem::size_of_val(&accepting);
    assert!(size <= 3 * 1024, "accept future: {size} bytes");
    let stream = std::mem::size_of::<WebSocketStream<tokio::io::DuplexStream>>();
    assert!(stream <= 2 * 1024, "stream: {stream} bytes");
}

/// Counts the wake-ups of a task that is not running.
#[derive(Default)]
struct WakeCount(std::sync::atomic::AtomicUsize);

impl std::task::Wake for WakeCount {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// After `split`, a writing task that polled once and went idle is woken at most once by the
/// stream, not on every message the reading task receives (the wakers of two tasks are taken
/// out on a wake-up; only one task's stay in place).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_writing_half_is_not_woken_by_every_message_read() {
    let (addr, server) = serve_once(|s| async move {
        let ws = accept(s, &ServerOptions::default()).await?;
        let (mut tx, mut rx) = ws.split();
        let count = std::sync::Arc::new(WakeCount::default());
        {
            // The writing task's one poll: nothing to write.
            let waker = std::task::Waker::from(std::sync::Arc::clone(&count));
            let mut cx = std::task::Context::from_waker(&waker);
            let flushed =
                futures_util::Sink::<Message>::poll_flush(std::pin::Pin::new(&mut tx), &mut cx);
            assert!(matches!(flushed, std::task::Poll::Ready(Ok(()))));
        }
        for i in 0..100u32 {
            assert_eq!(rx.next().await.unwrap()?, Message::text(i.to_string()));
        }
        let woken = count.0.load(std::sync::atomic::Ordering::Relaxed);
        assert!(woken <= 1, "the idle writer was woken {woken} times");
        tx.close().await
    })
    .await;
    let mut ws = client(&addr, &ClientOptions::default()).await;
    for i in 0..100u32 {
        // One at a time, so that the server's reads wait (and are woken) for each.
        ws.send(Message::text(i.to_string())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Close(None));
    server.await.unwrap().unwrap();
}

/// An unsplit stream shared behind a lock and polled by two tasks: while one task polls, the
/// stream gets that task's own waker; the second task's first poll switches to the proxy. The
/// writer goes into the switch waiting on the stream with its own waker, and after it, every
/// wake-up for writing must still reach it (through the proxy's slot, filled at the switch),
/// while the client drains an 8 MiB message slowly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsplit_stream_polled_by_two_tasks_wakes_both() {
    use futures_util::{Sink, Stream};
    use std::future::poll_fn;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    type Shared = Arc<Mutex<WebSocketStream<TcpStream>>>;
    fn with<T>(ws: &Shared, f: impl FnOnce(Pin<&mut WebSocketStream<TcpStream>>) -> T) -> T {
        f(Pin::new(&mut *ws.lock().unwrap()))
    }
    // Incompressible (permessage-deflate is on by default): xorshift bytes.
    let mut x = 0x2545_f491_u32;
    let big: Vec<u8> = (0..8u32 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let sent = big.clone();
    let (addr, server) = serve_once(move |s| async move {
        let ws: Shared = Arc::new(Mutex::new(accept(s, &ServerOptions::default()).await?));
        let w = Arc::clone(&ws);
        let writer = tokio::spawn(async move {
            poll_fn(|cx| with(&w, |ws| ws.poll_ready(cx))).await?;
            with(&w, |ws| ws.start_send(Message::Binary(sent)))?;
            poll_fn(|cx| with(&w, |ws| ws.poll_flush(cx))).await
        });
        // The writer is now waiting for the client to read, with its own waker on the stream.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = poll_fn(|cx| with(&ws, |ws| ws.poll_next(cx))).await;
        assert_eq!(got.unwrap()?, Message::text("read me"));
        writer.await.unwrap()?;
        poll_fn(|cx| with(&ws, |ws| ws.poll_close(cx))).await
    })
    .await;
    let run = async {
        // A small receive buffer, so that the server's socket cannot take the whole message.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(32 << 10).unwrap();
        let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
        let (mut ws, _) = connect(stream, &addr, "/", &ClientOptions::default())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        ws.send(Message::text("read me")).await.unwrap();
        // 8 MiB is more than the socket buffers hold: the writer waits (and is woken) again
        // after the switch.
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::Binary(big));
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::Close(None));
        server.await.unwrap().unwrap();
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("a task of the two was not woken");
}

/// The tokio echo example over its connection cap: the extra connection, whose upgrade request
/// is already in the server's receive buffer, reads a whole `503` head and a clean end of stream
/// (not a reset, which Linux sends when a socket is closed with input unread and which can
/// destroy the answer); once the first connection ends, the slot is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_example_answers_503_over_its_cap_and_serves_again_when_a_slot_frees() {
    let addr = peer::free_addr();
    let a = addr.clone();
    tokio::spawn(async move { tokio_echo_server::run(&a, 1).await });
    let run = async {
        let a = addr.clone();
        let stream = raw(move || peer::connect_within(&a, Duration::from_secs(10)))
            .await
            .unwrap();
        stream.set_nonblocking(true).unwrap();
        let stream = TcpStream::from_std(stream).unwrap();
        let (mut first, _) = connect(stream, &addr, "/", &ClientOptions::default())
            .await
            .unwrap();
        first.send(Message::text("one")).await.unwrap();
        assert_eq!(first.next().await.unwrap().unwrap(), Message::text("one"));

        let a = addr.clone();
        raw(move || peer::expect_busy_503(&a)).await.unwrap();

        first.close(None).await.unwrap();
        drop(first);
        let mut ws = served_within(&addr, Duration::from_secs(10)).await;
        ws.send(Message::text("two")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("two"));
        ws.close(None).await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the test hung");
}
