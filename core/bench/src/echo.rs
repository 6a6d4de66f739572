//! The echo servers of the echo benchmark, one per library, over any tokio stream: the loopback
//! servers (`bin/echo_*`) run them on TCP, the in-memory `driver` benchmark on a
//! `tokio::io::duplex` pipe, where no kernel time hides what the drivers themselves cost.
//!
//! Each one upgrades, then echoes whole data messages with their type until the peer closes.

use base64::Engine as _;
use fastwebsockets::{FragmentCollector, Frame, OpCode, Role, WebSocket};
use futures_util::{SinkExt, StreamExt};
use sha1::{Digest, Sha1};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};

/// The libraries with an echo server here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Wspc,
    Fastwebsockets,
    TokioTungstenite,
}

impl Server {
    pub const ALL: [Self; 3] = [Self::Wspc, Self::Fastwebsockets, Self::TokioTungstenite];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Wspc => "wspc",
            Self::Fastwebsockets => "fastwebsockets",
            Self::TokioTungstenite => "tokio-tungstenite",
        }
    }

    /// Serve one connection over `stream` until it ends.
    pub async fn serve<S>(self, stream: S, wspc: &wspc::tokio::ServerOptions)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match self {
            Self::Wspc => wspc_echo(stream, wspc).await,
            Self::Fastwebsockets => fastws_echo(stream).await,
            Self::TokioTungstenite => tungstenite_echo(stream).await,
        }
    }
}

/// The settings of the wspc echo server: the defaults without keep-alive pings (the peers have
/// none); `receive_buffer` overrides the engine's receive buffer size.
pub fn wspc_options(receive_buffer: Option<u32>) -> wspc::tokio::ServerOptions {
    let mut options = wspc::tokio::ServerOptions::default();
    options.config.ping_interval = None;
    if let Some(size) = receive_buffer {
        options
            .config
            .properties
            .push(wspc::Property::ReceiveBufferSize(size));
    }
    options
}

pub async fn wspc_echo<S>(stream: S, options: &wspc::tokio::ServerOptions)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(mut ws) = wspc::tokio::accept(stream, options).await else {
        return;
    };
    while let Some(Ok(m)) = ws.next().await {
        if m.is_data() && ws.send(m).await.is_err() {
            return;
        }
    }
}

/// fastwebsockets' own upgrade needs hyper: the head is read and answered here with `httparse`
/// (also the floor's, `echo_floor`, which has no library to do it). The head is read into a
/// `Vec` and answered by a plain function, so that no buffer lives across an await: a task keeps
/// room for its future's largest state for as long as it runs, and an array here would add its
/// size to every connection of the servers using it.
pub async fn fastws_upgrade<S>(stream: &mut S) -> Option<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Vec::with_capacity(1024);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 << 10 || stream.read_buf(&mut head).await.ok()? == 0 {
            return None;
        }
    }
    let response = fastws_response(&head)?;
    stream.write_all(response.as_bytes()).await.ok()
}

/// The 101 answering the request `head`, if it has a `Sec-WebSocket-Key`.
fn fastws_response(head: &[u8]) -> Option<String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(head).ok()?;
    let key = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))?
        .value;
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    Some(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    ))
}

pub async fn fastws_echo<S>(mut stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if fastws_upgrade(&mut stream).await.is_none() {
        return;
    }
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_writev(true);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    let mut ws = FragmentCollector::new(ws);
    while let Ok(frame) = ws.read_frame().await {
        match frame.opcode {
            OpCode::Close => return,
            OpCode::Text | OpCode::Binary => {
                let echo = Frame::new(true, frame.opcode, None, frame.payload);
                if ws.write_frame(echo).await.is_err() {
                    return;
                }
            }
            _ => {}
        }
    }
}

pub async fn tungstenite_echo<S>(stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(m)) = ws.next().await {
        if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
            return;
        }
    }
}

/// A raw client's end of an in-memory pipe to `server`, upgraded: the server runs as a local
/// task (so this must run inside a `LocalSet`) until the client's end is dropped.
pub async fn connect(server: Server) -> (DuplexStream, tokio::task::JoinHandle<()>) {
    let (mut client, end) = tokio::io::duplex(64 << 10);
    let options = wspc_options(None);
    let task = tokio::task::spawn_local(async move { server.serve(end, &options).await });
    client
        .write_all(&crate::inputs::upgrade_request())
        .await
        .expect("request written");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(client.read_u8().await.expect("response head"));
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    (client, task)
}

/// A binary message of `size` bytes as a client sends it, and the length of the header of its
/// echo.
fn message(size: usize) -> (Vec<u8>, Vec<u8>, usize) {
    let payload = crate::inputs::payload(crate::Kind::Binary, size);
    let frame = crate::inputs::wire(crate::Kind::Binary, &payload, 1);
    let header = match size {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    (payload, frame, header)
}

/// Sends `frame` and reads its echo into `echo`, checking it is `payload` as one final binary
/// frame.
async fn echo_one(client: &mut DuplexStream, frame: &[u8], echo: &mut [u8], header: usize) {
    client.write_all(frame).await.expect("frame written");
    client.read_exact(echo).await.expect("echo read");
    assert_eq!(echo[0], 0x82, "FIN + binary");
    assert_eq!(echo.len() - header, frame.len() - header - 4);
}

/// The in-memory echo: `server` on one end of each of `conns` `tokio::io::duplex` pipes, on a
/// single-threaded runtime; on the other a raw client (no WebSocket library: pre-built masked
/// frames, the echoes read by length) upgrades and echoes one message ([`open_in_memory`]),
/// then, timed, sends `n` binary messages of `size` bytes over the connections in turn, one at
/// a time, each read back before the next: with many connections, each message finds its
/// connection's state gone cold, as an event-loop server with many clients does. Returns the
/// time the `n` echoes took and the payload bytes read back.
pub fn in_memory(server: Server, conns: usize, size: usize, n: u64) -> (Duration, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    let mut open = open_in_memory(&rt, &local, server, conns.max(1), size);
    let (payload, frame, header) = message(size);
    let (took, got) = local.block_on(&rt, async {
        let mut echo = vec![0; header + size];
        let mut got = 0;
        let count = open.clients.len() as u64;
        let start = Instant::now();
        for i in 0..n {
            let client = &mut open.clients[(i % count) as usize];
            echo_one(client, &frame, &mut echo, header).await;
            got += echo.len() - header;
        }
        let took = start.elapsed();
        // The last echo is the message, unmasked.
        assert_eq!(
            echo[header..],
            payload[..],
            "{}: the payload",
            server.name()
        );
        (took, got)
    });
    open.close(&rt, &local);
    (took, got)
}

/// Connections opened by [`open_in_memory`]: the clients' ends keep them open, [`close`](Self::close)
/// ends them.
pub struct Open {
    clients: Vec<DuplexStream>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Open {
    /// Drop the clients' ends and wait until every server task has finished.
    pub fn close(self, rt: &tokio::runtime::Runtime, local: &tokio::task::LocalSet) {
        drop(self.clients);
        local.block_on(rt, async move {
            for task in self.tasks {
                let _ = task.await;
            }
        });
    }
}

/// `conns` connections to `server` in memory, each upgraded and with one message of `size`
/// bytes echoed, on `rt` in `local`. For measuring what a connection holds (`bin/memory.rs`).
pub fn open_in_memory(
    rt: &tokio::runtime::Runtime,
    local: &tokio::task::LocalSet,
    server: Server,
    conns: usize,
    size: usize,
) -> Open {
    let (_, frame, header) = message(size);
    local.block_on(rt, async move {
        let mut open = Open {
            clients: Vec::with_capacity(conns),
            tasks: Vec::with_capacity(conns),
        };
        for _ in 0..conns {
            let (client, task) = connect(server).await;
            open.clients.push(client);
            open.tasks.push(task);
        }
        let mut echo = vec![0; header + size];
        for client in &mut open.clients {
            echo_one(client, &frame, &mut echo, header).await;
        }
        open
    })
}
