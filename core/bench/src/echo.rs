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
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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

/// fastwebsockets' own upgrade needs hyper: the head is read and answered here with `httparse`.
async fn fastws_upgrade<S>(stream: &mut S) -> Option<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if head.len() > 16 << 10 {
            return None;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(&head).ok()?;
    let key = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))?
        .value;
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await.ok()
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

/// The in-memory echo: `server` on one end of a `tokio::io::duplex` pipe, on a single-threaded
/// runtime; on the other a raw client (no WebSocket library: pre-built masked frames, the
/// echoes read by length) upgrades, then sends `n` binary messages of `size` bytes, one at a
/// time, each read back before the next. Returns the time the `n` echoes took and the payload
/// bytes read back.
pub fn in_memory(server: Server, size: usize, n: u64) -> (Duration, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    let payload = crate::inputs::payload(crate::Kind::Binary, size);
    let frame = crate::inputs::wire(crate::Kind::Binary, &payload, 1);
    let header = match size {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    local.block_on(&rt, async move {
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
        let mut echo = vec![0; header + size];
        let mut got = 0;
        let start = Instant::now();
        for _ in 0..n {
            client.write_all(&frame).await.expect("frame written");
            client.read_exact(&mut echo).await.expect("echo read");
            got += echo.len() - header;
        }
        let took = start.elapsed();
        // The last echo is the message, unmasked, as one final binary frame.
        assert_eq!(echo[0], 0x82, "{}: FIN + binary", server.name());
        assert_eq!(
            echo[header..],
            payload[..],
            "{}: the payload",
            server.name()
        );
        drop(client);
        let _ = task.await;
        (took, got)
    })
}
