//! The interop matrix for wspc as a client: `interop_client URL SIDE [--tokio] [--peer NAME]
//! [--deflate-url URL2] ROW...`, run by `scripts/interop.sh` against the Python `websockets` and
//! Node `ws` echo servers (`scripts/interop/py_echo_server.py`, `node_echo_server.js`) and
//! against `scripts/interop/hostile_server.py`. URL is an echo server without compression; URL2
//! (for the `deflate-accepted`, `deflate-fragmented`, `deflate-small-messages` and `deflate-off`
//! rows) the same peer's echo server started with `--deflate`, which accepts permessage-deflate.
//!
//! Each row runs on its own connection(s), with the blocking driver (`wspc::io`) or, with
//! `--tokio`, the tokio driver (`wspc::tokio`), bounded by `WSPC_INTEROP_ROW_TIMEOUT` seconds
//! (default 60), and prints one line:
//!
//! ```text
//! PASS|FAIL <SIDE> <NAME> <row> (<detail>)
//! ```
//!
//! The exit status is 0 if every row passed. Rows against an echo server (URL's path used as is):
//!
//! | row | what passes |
//! |---|---|
//! | `subprotocol` | offering `chat`, or `nope, chat`, selects `chat`; no offer selects none; offering only `nope` is answered without a subprotocol, which wspc refuses (`SubprotocolNotSupported`, its §9 Q10 decision); a text echoes on each connection |
//! | `text-ascii` | 64 KiB of all 128 ASCII code points echoed equal |
//! | `text-nonascii` | 1 MiB of "é€😀" echoed equal |
//! | `text-split-codepoints` | a text message sent as 9 pieces (`send_piece`) whose 8 boundaries cut 2-, 3- and 4-byte code points, echoed equal as one text |
//! | `binary-sizes` | binary of 0, 1, 125, 126, 65535, 65536 B, 1 MiB and 16 MiB, each echoed equal |
//! | `fragmented` | 100 000 B sent as 5 pieces (4 fragments and the final piece), echoed equal as one message |
//! | `small-messages` | 1000 text and binary messages of 0–125 B, all sent before the first is read, echoed equal and in order |
//! | `ping-pong` | a ping with a payload is answered by a pong with that payload |
//! | `close-code` | our close 4001 "bye" is answered with a close of code 4001, then the stream ends |
//! | `16mib-send-before-read` | one 16 MiB binary message written whole before reading; the echo is equal |
//! | `deflate-declined` | wspc's default offer (`permessage-deflate; client_max_window_bits`) is declined by the server without compression: no `Sec-WebSocket-Extensions` in the 101, `permessage_deflate()` is `None`; a text and 1 MiB of compressible binary echo, the binary written uncompressed (counted on the socket) |
//!
//! Rows against the compressing echo server (URL2), the driver's default `Config::deflate`
//! unless said otherwise; "on the wire" is what the socket read or wrote (a counting wrapper
//! around the `TcpStream`), frame headers included:
//!
//! | row | what passes |
//! |---|---|
//! | `deflate-accepted` | the 101's `Sec-WebSocket-Extensions` names permessage-deflate and `permessage_deflate()` is `Some`; on that one connection 1 MiB of non-ASCII text, binary of 0, 1, 125, 126, 65535, 65536 B, 1 MiB random, 1 MiB compressible and 16 MiB echo equal; the compressible MiB went out and came back in under a quarter of its size (both sides compressed) |
//! | `deflate-fragmented` | a text in 9 pieces cut inside code points and a binary in 5 pieces (`send_piece`), each compressed and echoed equal as one message |
//! | `deflate-small-messages` | 1000 text and binary messages of 0–125 B that share most of their bytes, all sent before the first is read, echoed equal and in order; under half their payload went out, and under half came back (context taken over from message to message on both sides) |
//! | `deflate-off` | `config.deflate = None`: nothing offered, so the compressing server selects nothing (`permessage_deflate()` is `None`); a text and 1 MiB of compressible binary echo, the binary written and read uncompressed |
//!
//! Rows against the hostile server (the row chooses the server's mode by the path):
//!
//! | row | path | what passes |
//! |---|---|---|
//! | `refuse-extension` | `/extension-not-offered` | with `config.deflate = None` (nothing offered), a 101 selecting permessage-deflate: connect fails with `HandshakeError::ExtensionNotSupported` |
//! | `refuse-other-extension` | `/other-extension` | with the default offer of permessage-deflate, a 101 selecting `x-webkit-deflate-frame`: connect fails with `HandshakeError::ExtensionNotSupported` |
//! | `refuse-deflate-answer` | `/deflate-answer?ext=…` | 11 answers selecting permessage-deflate in a way the offer does not allow (window bits 7, 20 or `010`, a parameter twice, unknown or with a value it cannot have, `client_max_window_bits` without a value or not offered, the extension twice, a larger `server_max_window_bits` than asked, `server_no_context_takeover` asked and not answered): each connect fails with a handshake error (`ExtensionNotSupported`, or `Malformed` for syntax) |
//! | `refuse-subprotocol` | `/subprotocol-not-offered` | connect fails with `HandshakeError::SubprotocolNotSupported` |
//! | `refuse-wrong-accept` | `/wrong-accept` | connect fails with a malformed-handshake error naming `Sec-WebSocket-Accept` |
//! | `frame-with-101` | `/frame-with-101` | the text frame "early" that came in the same segment as the 101 is the first message; then a text echoes and the close completes |
//!
//! The rows are written once, as async functions over a small [`Ws`] trait. The tokio
//! implementation is the driver itself; the blocking one calls the blocking driver and never
//! waits on the runtime, so on that side a row is plain sequential blocking code. Each row runs
//! in a thread of its own with a current-thread runtime; a row over its time bound is reported
//! and left behind (the process exits when all rows are reported).

use futures_util::{SinkExt, StreamExt};
use std::io::{self, IoSlice, Read, Write};
use std::net::ToSocketAddrs;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::mpsc;
use std::task::{Context as TaskContext, Poll};
use std::thread;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wspc::deflate::{DeflateConfig, Params, WindowBits};
use wspc::driver::{ClientOptions, CloseFrame, DriverError, Message, Response};
use wspc::{BufferType, CloseStatus, HandshakeError};

const MIB: usize = 1 << 20;
/// Bound on connecting the TCP socket (the driver's handshake timeout follows).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The binary sizes of `binary-sizes`: the edges of the three length encodings, and large ones.
const BINARY_SIZES: [usize; 8] = [0, 1, 125, 126, 65535, 65536, MIB, 16 * MIB];

/// Every row this binary knows, in the order `--help` lists them.
const ROWS: [&str; 21] = [
    "subprotocol",
    "text-ascii",
    "text-nonascii",
    "text-split-codepoints",
    "binary-sizes",
    "fragmented",
    "small-messages",
    "ping-pong",
    "close-code",
    "16mib-send-before-read",
    "deflate-declined",
    "deflate-accepted",
    "deflate-fragmented",
    "deflate-small-messages",
    "deflate-off",
    "refuse-extension",
    "refuse-other-extension",
    "refuse-deflate-answer",
    "refuse-subprotocol",
    "refuse-wrong-accept",
    "frame-with-101",
];

type RowResult = Result<String, String>;

/// Adds what was being done to an error, for a row's detail.
trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

fn check(cond: bool, detail: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(detail())
    }
}

// ----- the wire --------------------------------------------------------------------------------

/// A transport that counts the bytes read and written through it: what went over the wire, the
/// upgrade and frame headers included. Both drivers run over it (it is `Read + Write` and
/// `AsyncRead + AsyncWrite`).
struct Counted<S> {
    inner: S,
    read: u64,
    written: u64,
}

impl<S> Counted<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            read: 0,
            written: 0,
        }
    }
}

impl<S: Read> Read for Counted<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<S: Write> Write for Counted<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.write_vectored(bufs)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl wspc::io::Transport for Counted<std::net::TcpStream> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        wspc::io::Transport::set_read_timeout(&mut self.inner, timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        wspc::io::Transport::set_write_timeout(&mut self.inner, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        wspc::io::Transport::shutdown_write(&mut self.inner)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.read += (buf.filled().len() - before) as u64;
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            this.written += n as u64;
        }
        polled
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            this.written += n as u64;
        }
        polled
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

// ----- the two drivers behind one trait -------------------------------------------------------

/// What a row does with a connection.
trait Ws {
    /// Send one message and return once it is written.
    async fn send(&mut self, message: Message) -> Result<(), DriverError>;
    /// Send every message before reading anything.
    async fn send_all(&mut self, messages: Vec<Message>) -> Result<(), DriverError>;
    /// Send one piece of a message (`*_FRAGMENT`, then `*_MESSAGE`).
    async fn send_piece(&mut self, buffer_type: BufferType, data: &[u8])
        -> Result<(), DriverError>;
    /// The next message (`DriverError::Closed` once the connection is over).
    async fn read(&mut self) -> Result<Message, DriverError>;
    /// The closing handshake.
    async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), DriverError>;
    /// What the handshake agreed for permessage-deflate (`None`: not negotiated).
    fn deflate(&self) -> Option<Params>;
    /// Bytes (read, written) on the socket so far, the upgrade included.
    fn wire(&self) -> (u64, u64);
}

/// How a row connects.
trait Driver {
    type Ws: Ws;
    async fn connect(
        &self,
        host: &str,
        path: &str,
        options: &ClientOptions,
    ) -> Result<(Self::Ws, Response), DriverError>;
}

struct Blocking;
struct Tokio;

impl Driver for Blocking {
    type Ws = wspc::io::WebSocket<Counted<std::net::TcpStream>>;

    async fn connect(
        &self,
        host: &str,
        path: &str,
        options: &ClientOptions,
    ) -> Result<(Self::Ws, Response), DriverError> {
        let addr = host
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| DriverError::Http(format!("{host}: no address")))?;
        let stream = std::net::TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        wspc::io::connect(Counted::new(stream), host, path, options)
    }
}

impl Ws for wspc::io::WebSocket<Counted<std::net::TcpStream>> {
    async fn send(&mut self, message: Message) -> Result<(), DriverError> {
        Self::send(self, message)
    }
    async fn send_all(&mut self, messages: Vec<Message>) -> Result<(), DriverError> {
        messages.into_iter().try_for_each(|m| Self::send(self, m))
    }
    async fn send_piece(
        &mut self,
        buffer_type: BufferType,
        data: &[u8],
    ) -> Result<(), DriverError> {
        Self::send_piece(self, buffer_type, data)
    }
    async fn read(&mut self) -> Result<Message, DriverError> {
        self.read_message()
    }
    async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), DriverError> {
        Self::close(self, frame)
    }
    fn deflate(&self) -> Option<Params> {
        self.session().permessage_deflate()
    }
    fn wire(&self) -> (u64, u64) {
        (self.get_ref().read, self.get_ref().written)
    }
}

impl Driver for Tokio {
    type Ws = wspc::tokio::WebSocketStream<Counted<tokio::net::TcpStream>>;

    async fn connect(
        &self,
        host: &str,
        path: &str,
        options: &ClientOptions,
    ) -> Result<(Self::Ws, Response), DriverError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(host))
            .await
            .map_err(|_| DriverError::Io(std::io::ErrorKind::TimedOut.into()))??;
        stream.set_nodelay(true)?;
        wspc::tokio::connect(Counted::new(stream), host, path, options).await
    }
}

impl Ws for wspc::tokio::WebSocketStream<Counted<tokio::net::TcpStream>> {
    async fn send(&mut self, message: Message) -> Result<(), DriverError> {
        SinkExt::send(self, message).await
    }
    async fn send_all(&mut self, messages: Vec<Message>) -> Result<(), DriverError> {
        // Queued as the sink's backpressure allows, flushed once.
        for m in messages {
            self.feed(m).await?;
        }
        self.flush().await
    }
    async fn send_piece(
        &mut self,
        buffer_type: BufferType,
        data: &[u8],
    ) -> Result<(), DriverError> {
        Self::send_piece(self, buffer_type, data.to_vec()).await
    }
    async fn read(&mut self) -> Result<Message, DriverError> {
        self.next().await.unwrap_or(Err(DriverError::Closed))
    }
    async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), DriverError> {
        Self::close(self, frame).await
    }
    fn deflate(&self) -> Option<Params> {
        self.session().permessage_deflate()
    }
    fn wire(&self) -> (u64, u64) {
        (self.get_ref().read, self.get_ref().written)
    }
}

// ----- data -----------------------------------------------------------------------------------

/// xorshift64*: reproducible payloads without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("text of {} B", t.len()),
        Message::Binary(b) => format!("binary of {} B", b.len()),
        Message::Ping(p) => format!("ping of {} B", p.len()),
        Message::Pong(p) => format!("pong of {} B", p.len()),
        Message::Close(f) => format!("close {f:?}"),
    }
}

/// `n` messages alternating text and binary, of 0..=`max_len` bytes (every 50th empty).
fn small_messages(rng: &mut Rng, n: usize, max_len: usize) -> Vec<Message> {
    const ALPHABET: [&str; 30] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z", "é", "€", "😀", " ",
    ];
    (0..n)
        .map(|i| {
            let size = if i % 50 == 0 {
                0
            } else {
                rng.below(max_len + 1)
            };
            if i % 2 == 1 {
                return Message::Binary(rng.bytes(size));
            }
            // Up to `size` bytes of UTF-8, stopping at the first character that does not fit.
            let mut text = String::new();
            loop {
                let c = ALPHABET[rng.below(ALPHABET.len())];
                if text.len() + c.len() > size {
                    break;
                }
                text.push_str(c);
            }
            Message::Text(text)
        })
        .collect()
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Cut UTF-8 `data` (a repeated "aé€😀") where code points are cut: after every byte of the first
/// "é€😀" at or after `start` (a multiple of 10) that is not its last, then twice more in the
/// rest, each moved forward onto a continuation byte. Returns the pieces and how many boundaries
/// fall inside a code point.
fn split_codepoints(data: &[u8], start: usize) -> (Vec<&[u8]>, usize) {
    let mut cuts: Vec<usize> = (start + 1..start + 10)
        .filter(|&i| is_continuation(data[i]))
        .collect();
    for mut at in [data.len() / 3, 2 * data.len() / 3] {
        while !is_continuation(data[at]) {
            at += 1;
        }
        cuts.push(at);
    }
    let inside = cuts.iter().filter(|&&c| is_continuation(data[c])).count();
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(data.len());
    (cut(data, &bounds), inside)
}

/// `data` cut at `bounds` (sorted, from 0 to `data.len()`): the pieces between them.
fn cut<'a>(data: &'a [u8], bounds: &[usize]) -> Vec<&'a [u8]> {
    bounds.windows(2).map(|w| &data[w[0]..w[1]]).collect()
}

/// Sends `pieces` as one message with `send_piece` (text or binary), the last one final.
async fn send_pieces<W: Ws>(ws: &mut W, text: bool, pieces: &[&[u8]]) -> Result<(), String> {
    for (i, piece) in pieces.iter().enumerate() {
        let kind = match (text, i + 1 == pieces.len()) {
            (true, true) => BufferType::Utf8Message,
            (true, false) => BufferType::Utf8Fragment,
            (false, true) => BufferType::BinaryMessage,
            (false, false) => BufferType::BinaryFragment,
        };
        ws.send_piece(kind, piece).await.ctx("send_piece")?;
    }
    Ok(())
}

/// `n` bytes that compress well: numbered lines of one sentence.
fn compressible_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0;
    while out.len() < n {
        out.extend_from_slice(
            format!("line {i:07}: the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
        i += 1;
    }
    out.truncate(n);
    out
}

/// `n` messages of 0–125 B, alternating text and binary (every 50th an empty text), that share
/// most of their bytes: a number, then a prefix of one random string (120 letters for the texts,
/// 123 bytes for the binaries). Alone each compresses hardly at all; after the messages before
/// it, to a few bytes.
fn deflate_small_messages(n: usize) -> Vec<Message> {
    let mut rng = Rng(0x5EED_7692);
    let shared_text: String = (0..120)
        .map(|_| char::from(b'a' + rng.below(26) as u8))
        .collect();
    let shared_bin = rng.bytes(123);
    (0..n)
        .map(|i| {
            if i % 50 == 0 {
                Message::text("")
            } else if i % 2 == 1 {
                let mut b = (i as u16).to_be_bytes().to_vec();
                b.extend_from_slice(&shared_bin[..rng.below(124)]);
                Message::Binary(b)
            } else {
                Message::text(format!("{i:04} {}", &shared_text[..rng.below(121)]))
            }
        })
        .collect()
}

// ----- the rows -------------------------------------------------------------------------------

/// Where the rows connect: the echo server, and the same peer's compressing echo server
/// (`--deflate-url`), if given.
#[derive(Clone)]
struct Target {
    host: String,
    path: String,
    deflate: Option<(String, String)>,
}

impl Target {
    /// The compressing echo server, for the rows that need it.
    fn compressing(&self) -> Result<Self, String> {
        let (host, path) = self
            .deflate
            .clone()
            .ok_or("no --deflate-url (the peer's compressing echo server) given")?;
        Ok(Self {
            host,
            path,
            deflate: None,
        })
    }
}

/// `ws://HOST[:PORT]/PATH` as (host, path).
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("ws://")?;
    Some(match rest.find('/') {
        Some(i) => (rest[..i].to_owned(), rest[i..].to_owned()),
        None => (rest.to_owned(), "/".to_owned()),
    })
}

fn options() -> ClientOptions {
    ClientOptions::default()
}

/// The options with permessage-deflate off: nothing offered.
fn without_deflate() -> ClientOptions {
    let mut options = options();
    options.config.deflate = None;
    options
}

/// The options offering permessage-deflate as `deflate` says.
fn offering_deflate(deflate: DeflateConfig) -> ClientOptions {
    let mut options = options();
    options.config.deflate = Some(deflate);
    options
}

/// The `Sec-WebSocket-Extensions` value a client with these options offers.
fn offer_of(options: &ClientOptions) -> String {
    options
        .config
        .deflate
        .as_ref()
        .map_or_else(|| "nothing".into(), wspc::deflate::offer)
}

fn describe_params(p: &Params) -> String {
    let takeover = |no: bool| {
        if no {
            "no context takeover"
        } else {
            "context takeover"
        }
    };
    format!(
        "we compress with {} window bits and {}, the server with {} and {}",
        p.local_max_window_bits,
        takeover(p.local_no_context_takeover),
        p.remote_max_window_bits,
        takeover(p.remote_no_context_takeover)
    )
}

/// Connect with the default options and check that permessage-deflate was agreed: the 101's
/// `Sec-WebSocket-Extensions` names it and the session has its parameters.
async fn connect_compressed<D: Driver>(
    d: &D,
    t: &Target,
) -> Result<(D::Ws, String, Params), String> {
    let opts = options();
    let offer = offer_of(&opts);
    let (ws, response) = d.connect(&t.host, &t.path, &opts).await.ctx("connect")?;
    let answer = response
        .header("sec-websocket-extensions")
        .map(str::to_owned);
    let Some(answer) = answer.filter(|a| a.contains("permessage-deflate")) else {
        return Err(format!(
            "wspc offered '{offer}'; the 101 answered Sec-WebSocket-Extensions {:?}",
            response.header("sec-websocket-extensions")
        ));
    };
    let params = ws
        .deflate()
        .ok_or_else(|| format!("the 101 answered '{answer}' but permessage_deflate() is None"))?;
    Ok((
        ws,
        format!("offered '{offer}', the 101 answered '{answer}'"),
        params,
    ))
}

/// Echo `message` and return the bytes (read, written) on the wire meanwhile.
async fn echo_measured<W: Ws>(ws: &mut W, message: Message) -> Result<(u64, u64), String> {
    let (r0, w0) = ws.wire();
    echo_one(ws, message).await?;
    let (r1, w1) = ws.wire();
    Ok((r1 - r0, w1 - w0))
}

/// Send every message before reading, then check the echoes equal and in order; returns the
/// bytes (read, written) on the wire meanwhile.
async fn echo_all_measured<W: Ws>(ws: &mut W, messages: &[Message]) -> Result<(u64, u64), String> {
    let (r0, w0) = ws.wire();
    ws.send_all(messages.to_vec()).await.ctx("send")?;
    for (i, m) in messages.iter().enumerate() {
        let echo = ws.read().await.ctx(&format!("read echo {i}"))?;
        check(&echo == m, || {
            format!("message {i}: sent {}, got {}", describe(m), describe(&echo))
        })?;
    }
    let (r1, w1) = ws.wire();
    Ok((r1 - r0, w1 - w0))
}

fn offering(subprotocols: &[&str]) -> ClientOptions {
    let mut options = options();
    options.subprotocols = subprotocols.iter().map(|s| (*s).to_owned()).collect();
    options
}

async fn connect<D: Driver>(d: &D, t: &Target) -> Result<D::Ws, String> {
    Ok(d.connect(&t.host, &t.path, &options())
        .await
        .ctx("connect")?
        .0)
}

/// Send `message` and check that the next message is an equal one.
async fn echo_one<W: Ws>(ws: &mut W, message: Message) -> Result<(), String> {
    let what = describe(&message);
    ws.send(message.clone()).await.ctx("send")?;
    let echo = ws.read().await.ctx("read the echo")?;
    check(echo == message, || {
        format!("sent {what}, got {} (not equal)", describe(&echo))
    })
}

async fn close_normally<W: Ws>(ws: &mut W) -> Result<(), String> {
    ws.close(Some(CloseFrame {
        code: CloseStatus::SUCCESS,
        reason: String::new(),
    }))
    .await
    .ctx("close")
}

async fn row_subprotocol<D: Driver>(d: &D, t: &Target) -> RowResult {
    let mut seen = Vec::new();
    for (offer, want) in [
        (&["chat"][..], Some("chat")),
        (&["nope", "chat"][..], Some("chat")),
        (&[][..], None),
    ] {
        let (mut ws, response) = d
            .connect(&t.host, &t.path, &offering(offer))
            .await
            .ctx(&format!("connect offering {offer:?}"))?;
        echo_one(&mut ws, Message::text(format!("offered {offer:?}"))).await?;
        close_normally(&mut ws).await?;
        let got = response.subprotocol.as_deref();
        check(got == want, || {
            format!("offered {offer:?}: selected {got:?}, expected {want:?}")
        })?;
        seen.push(format!(
            "{offer:?} -> {}",
            got.map_or("none".into(), |p| format!("'{p}'"))
        ));
    }
    match d.connect(&t.host, &t.path, &offering(&["nope"])).await {
        Err(DriverError::Ws(wspc::Error::Handshake(HandshakeError::SubprotocolNotSupported))) => {}
        Err(e) => return Err(format!("offered [\"nope\"]: refused, but with {e:?}")),
        Ok((_, r)) => {
            return Err(format!(
                "offered [\"nope\"]: connected with {:?}; expected the server to select none and wspc to refuse that",
                r.subprotocol
            ))
        }
    }
    Ok(format!(
        "{}, a text echoed on each; [\"nope\"] -> the server selected none and wspc refused it (SubprotocolNotSupported)",
        seen.join("; ")
    ))
}

async fn row_text_ascii<D: Driver>(d: &D, t: &Target) -> RowResult {
    let unit: String = (0..128u8).map(char::from).collect();
    let text = unit.repeat(512);
    let mut ws = connect(d, t).await?;
    echo_one(&mut ws, Message::text(text.clone())).await?;
    close_normally(&mut ws).await?;
    Ok(format!(
        "{} chars (U+0000-U+007F x 512) echoed equal",
        text.len()
    ))
}

async fn row_text_nonascii<D: Driver>(d: &D, t: &Target) -> RowResult {
    let unit = "é€😀";
    let text = unit.repeat(MIB / unit.len());
    let mut ws = connect(d, t).await?;
    echo_one(&mut ws, Message::text(text.clone())).await?;
    close_normally(&mut ws).await?;
    Ok(format!(
        "{} B of UTF-8 ({} chars) echoed equal",
        text.len(),
        text.chars().count()
    ))
}

async fn row_text_split<D: Driver>(d: &D, t: &Target) -> RowResult {
    let text = "aé€😀".repeat(6554);
    let (pieces, inside) = split_codepoints(text.as_bytes(), 0);
    let mut ws = connect(d, t).await?;
    send_pieces(&mut ws, true, &pieces).await?;
    let echo = ws.read().await.ctx("read the echo")?;
    close_normally(&mut ws).await?;
    check(echo == Message::Text(text.clone()), || {
        format!("sent text of {} B, got {}", text.len(), describe(&echo))
    })?;
    Ok(format!(
        "{} B of UTF-8 sent in {} pieces, {inside} boundaries inside code points (2-, 3- and 4-byte), echoed equal as one text",
        text.len(),
        pieces.len()
    ))
}

async fn row_binary_sizes<D: Driver>(d: &D, t: &Target) -> RowResult {
    let mut rng = Rng(0x5EED_0001);
    let t0 = Instant::now();
    for size in BINARY_SIZES {
        let mut ws = connect(d, t).await?;
        echo_one(&mut ws, Message::Binary(rng.bytes(size))).await?;
        close_normally(&mut ws).await?;
    }
    let sizes: Vec<String> = BINARY_SIZES.iter().map(ToString::to_string).collect();
    Ok(format!(
        "binary of {} B each echoed equal, {:.2} s",
        sizes.join(", "),
        t0.elapsed().as_secs_f64()
    ))
}

async fn row_fragmented<D: Driver>(d: &D, t: &Target) -> RowResult {
    let payload = Rng(0x5EED_0005).bytes(100_000);
    let bounds = [0, 1, 126, 252, 65788, payload.len()];
    let mut ws = connect(d, t).await?;
    send_pieces(&mut ws, false, &cut(&payload, &bounds)).await?;
    let echo = ws.read().await.ctx("read the echo")?;
    close_normally(&mut ws).await?;
    check(echo == Message::Binary(payload.clone()), || {
        format!(
            "sent binary of {} B, got {}",
            payload.len(),
            describe(&echo)
        )
    })?;
    let sizes: Vec<String> = bounds
        .windows(2)
        .map(|w| (w[1] - w[0]).to_string())
        .collect();
    Ok(format!(
        "{} B sent in {} pieces ({} B), echoed equal as one message",
        payload.len(),
        sizes.len(),
        sizes.join(", ")
    ))
}

async fn row_small<D: Driver>(d: &D, t: &Target) -> RowResult {
    let messages = small_messages(&mut Rng(0x5EED_1000), 1000, 125);
    let mut ws = connect(d, t).await?;
    ws.send_all(messages.clone()).await.ctx("send")?;
    for (i, m) in messages.iter().enumerate() {
        let echo = ws.read().await.ctx(&format!("read echo {i}"))?;
        check(&echo == m, || {
            format!("message {i}: sent {}, got {}", describe(m), describe(&echo))
        })?;
    }
    close_normally(&mut ws).await?;
    let texts = messages
        .iter()
        .filter(|m| matches!(m, Message::Text(_)))
        .count();
    let empty = messages.iter().filter(|m| m.is_empty()).count();
    Ok(format!(
        "{} messages ({texts} text, {} binary, {empty} empty) sent before reading, echoed equal, in order",
        messages.len(),
        messages.len() - texts
    ))
}

async fn row_ping<D: Driver>(d: &D, t: &Target) -> RowResult {
    let payload = b"wspc-interop-ping".to_vec();
    let mut ws = connect(d, t).await?;
    let t0 = Instant::now();
    ws.send(Message::Ping(payload.clone()))
        .await
        .ctx("send the ping")?;
    // Nothing else was sent: the next message must be the pong.
    let got = match ws.read().await.ctx("read the pong")? {
        Message::Pong(p) => p,
        other => return Err(format!("{} instead of the pong", describe(&other))),
    };
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    close_normally(&mut ws).await?;
    check(got == payload, || {
        format!(
            "pong payload {:?}, pinged {:?}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&payload)
        )
    })?;
    Ok(format!(
        "pong with payload '{}' in {ms:.1} ms",
        String::from_utf8_lossy(&payload)
    ))
}

async fn row_close<D: Driver>(d: &D, t: &Target) -> RowResult {
    let mut ws = connect(d, t).await?;
    echo_one(&mut ws, Message::text("before close")).await?;
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseStatus(4001),
        reason: "bye".into(),
    })))
    .await
    .ctx("send the close")?;
    let answer = match ws.read().await.ctx("read the server's close")? {
        Message::Close(Some(frame)) => frame,
        other => {
            return Err(format!(
                "got {} instead of the server's close",
                describe(&other)
            ))
        }
    };
    let after = ws.read().await;
    check(answer.code == CloseStatus(4001), || {
        format!(
            "server answered close code {} reason {:?}",
            answer.code.0, answer.reason
        )
    })?;
    check(matches!(after, Err(DriverError::Closed)), || {
        format!("after the closing handshake, a read gave {after:?}")
    })?;
    Ok(format!(
        "sent 4001 'bye', server echoed code {} reason '{}'; the connection then ended",
        answer.code.0, answer.reason
    ))
}

async fn row_16mib<D: Driver>(d: &D, t: &Target) -> RowResult {
    let payload = Rng(0x5EED_0016).bytes(16 * MIB);
    let mut ws = connect(d, t).await?;
    let t0 = Instant::now();
    // The whole message is written before the first read.
    ws.send(Message::Binary(payload.clone()))
        .await
        .ctx("send")?;
    let echo = ws.read().await.ctx("read the echo")?;
    let dt = t0.elapsed().as_secs_f64();
    close_normally(&mut ws).await?;
    check(echo == Message::Binary(payload.clone()), || {
        format!(
            "sent binary of {} B, got {}",
            payload.len(),
            describe(&echo)
        )
    })?;
    Ok(format!(
        "{} bytes written whole, then echoed equal as one message, {dt:.2} s",
        payload.len()
    ))
}

/// Connects to `host`/`path` with `opts`, echoes `text` and 1 MiB of compressible binary, and
/// checks that no compression was agreed and the binary went both ways uncompressed (`why`
/// says why none was expected). Returns the bytes read and written for the binary.
async fn echo_uncompressed<D: Driver>(
    d: &D,
    (host, path): (&str, &str),
    opts: &ClientOptions,
    text: &str,
    why: &str,
) -> Result<(u64, u64), String> {
    let (mut ws, response) = d.connect(host, path, opts).await.ctx("connect")?;
    let params = ws.deflate();
    echo_one(&mut ws, Message::text(text.to_owned())).await?;
    let (read, written) = echo_measured(&mut ws, Message::Binary(compressible_bytes(MIB))).await?;
    close_normally(&mut ws).await?;
    let header = response.header("sec-websocket-extensions");
    check(header.is_none() && response.extensions.is_empty(), || {
        format!("{why}, yet the server's 101 selected {header:?}")
    })?;
    check(params.is_none(), || {
        format!("{why}, yet permessage_deflate() is {params:?}")
    })?;
    check(written >= MIB as u64 && read >= MIB as u64, || {
        format!("1 MiB of compressible binary took {written} B to write and {read} B to read: compressed?")
    })?;
    Ok((read, written))
}

async fn row_deflate_declined<D: Driver>(d: &D, t: &Target) -> RowResult {
    let opts = options();
    check(opts.config.deflate.is_some(), || {
        "the client options do not offer permessage-deflate".into()
    })?;
    let offer = offer_of(&opts);
    let text = "no permessage-deflate; ".repeat(40);
    let why = format!("wspc offered '{offer}' to a server without compression");
    let (read, written) = echo_uncompressed(d, (&t.host, &t.path), &opts, &text, &why).await?;
    Ok(format!(
        "wspc offered '{offer}'; the 101 had no Sec-WebSocket-Extensions and permessage_deflate() is None; {}-char text and 1 MiB of compressible binary echoed equal, uncompressed ({written} B written, {read} B read)",
        text.len()
    ))
}

async fn row_deflate_accepted<D: Driver>(d: &D, t: &Target) -> RowResult {
    let c = t.compressing()?;
    let (mut ws, agreed, params) = connect_compressed(d, &c).await?;
    let t0 = Instant::now();
    let text = "é€😀".repeat(MIB / "é€😀".len());
    let (text_read, text_written) = echo_measured(&mut ws, Message::text(text.clone())).await?;
    let mut rng = Rng(0x5EED_0692);
    for size in BINARY_SIZES {
        echo_one(&mut ws, Message::Binary(rng.bytes(size))).await?;
    }
    let (read, written) = echo_measured(&mut ws, Message::Binary(compressible_bytes(MIB))).await?;
    let dt = t0.elapsed().as_secs_f64();
    close_normally(&mut ws).await?;
    let quarter = (MIB / 4) as u64;
    check(written < quarter && read < quarter, || {
        format!("1 MiB of compressible binary took {written} B to write and {read} B to read, expected under {quarter} each")
    })?;
    let sizes: Vec<String> = BINARY_SIZES.iter().map(ToString::to_string).collect();
    Ok(format!(
        "{agreed} ({}); on one connection {} B of non-ASCII text ({text_written} B written, {text_read} B read), binary of {} B and 1 MiB compressible ({written} B written, {read} B read) echoed equal, {dt:.2} s",
        describe_params(&params),
        text.len(),
        sizes.join(", ")
    ))
}

async fn row_deflate_fragmented<D: Driver>(d: &D, t: &Target) -> RowResult {
    let c = t.compressing()?;
    let (mut ws, agreed, _) = connect_compressed(d, &c).await?;
    let text = "aé€😀".repeat(6554);
    let (pieces, inside) = split_codepoints(text.as_bytes(), 4000);
    let (r0, w0) = ws.wire();
    send_pieces(&mut ws, true, &pieces).await?;
    let echo = ws.read().await.ctx("read the text's echo")?;
    check(echo == Message::Text(text.clone()), || {
        format!("sent text of {} B, got {}", text.len(), describe(&echo))
    })?;
    let (r1, w1) = ws.wire();
    let mut payload = Rng(0x5EED_0005).bytes(50_000);
    payload.extend(compressible_bytes(50_000));
    let bounds = [0, 4096, 4097, 4223, 65788, payload.len()];
    send_pieces(&mut ws, false, &cut(&payload, &bounds)).await?;
    let echo = ws.read().await.ctx("read the binary's echo")?;
    check(echo == Message::Binary(payload.clone()), || {
        format!(
            "sent binary of {} B, got {}",
            payload.len(),
            describe(&echo)
        )
    })?;
    let (r2, w2) = ws.wire();
    close_normally(&mut ws).await?;
    let half = (text.len() / 2) as u64;
    check(w1 - w0 < half && r1 - r0 < half, || {
        format!(
            "the {} B text took {} B to write and {} B to read: not compressed?",
            text.len(),
            w1 - w0,
            r1 - r0
        )
    })?;
    let sizes: Vec<String> = bounds
        .windows(2)
        .map(|w| (w[1] - w[0]).to_string())
        .collect();
    Ok(format!(
        "{agreed}; text of {} B in {} pieces ({inside} boundaries inside code points; {} B written, {} B read) and binary of {} B in {} pieces ({} B; {} B written, {} B read), each echoed equal as one message",
        text.len(),
        pieces.len(),
        w1 - w0,
        r1 - r0,
        payload.len(),
        sizes.len(),
        sizes.join(", "),
        w2 - w1,
        r2 - r1
    ))
}

async fn row_deflate_small<D: Driver>(d: &D, t: &Target) -> RowResult {
    let c = t.compressing()?;
    let messages = deflate_small_messages(1000);
    let raw: usize = messages.iter().map(Message::len).sum();
    let (mut ws, agreed, _) = connect_compressed(d, &c).await?;
    let (read, written) = echo_all_measured(&mut ws, &messages).await?;
    close_normally(&mut ws).await?;
    let half = (raw / 2) as u64;
    check(written < half && read < half, || {
        format!("{} messages of {raw} B of payload took {written} B to write and {read} B to read: context not taken over?", messages.len())
    })?;
    Ok(format!(
        "{agreed}; {} messages of 0-125 B sharing most bytes, sent before reading, echoed equal and in order; {raw} B of payload took {written} B to write and {read} B to read, headers included (context taken over between messages)",
        messages.len()
    ))
}

async fn row_deflate_off<D: Driver>(d: &D, t: &Target) -> RowResult {
    let c = t.compressing()?;
    let text = "permessage-deflate off; ".repeat(40);
    let why = "config.deflate = None against the compressing server";
    let (read, written) =
        echo_uncompressed(d, (&c.host, &c.path), &without_deflate(), &text, why).await?;
    Ok(format!(
        "config.deflate = None: nothing offered, and the compressing server's 101 selected nothing; {}-char text and 1 MiB of compressible binary echoed equal, uncompressed ({written} B written, {read} B read)",
        text.len()
    ))
}

/// Connect to a hostile mode whose 101 must be refused: `judge` accepts the right error,
/// `expected` names it for the detail.
async fn refused<D: Driver>(
    d: &D,
    t: &Target,
    mode: &str,
    options: &ClientOptions,
    expected: &str,
    judge: impl FnOnce(&DriverError) -> bool,
) -> RowResult {
    match d.connect(&t.host, &format!("/{mode}"), options).await {
        Ok((_, r)) => Err(format!(
            "connected (status {}, subprotocol {:?}, extensions {:?}); expected {expected}",
            r.status, r.subprotocol, r.extensions
        )),
        Err(e) if judge(&e) => Ok(format!("connect refused the 101: {e}")),
        Err(e) => Err(format!(
            "refused, but with {e:?} ('{e}'); expected {expected}"
        )),
    }
}

fn is_extension_not_supported(e: &DriverError) -> bool {
    matches!(
        e,
        DriverError::Ws(wspc::Error::Handshake(
            HandshakeError::ExtensionNotSupported
        ))
    )
}

async fn row_refuse_extension<D: Driver>(d: &D, t: &Target) -> RowResult {
    // Nothing offered: a 101 selecting permessage-deflate selects what was not offered.
    let detail = refused(
        d,
        t,
        "extension-not-offered",
        &without_deflate(),
        "ExtensionNotSupported",
        is_extension_not_supported,
    )
    .await?;
    Ok(format!("config.deflate = None (nothing offered): {detail}"))
}

async fn row_refuse_other_extension<D: Driver>(d: &D, t: &Target) -> RowResult {
    let opts = options();
    let offer = offer_of(&opts);
    let detail = refused(
        d,
        t,
        "other-extension",
        &opts,
        "ExtensionNotSupported",
        is_extension_not_supported,
    )
    .await?;
    Ok(format!(
        "offered '{offer}', answered x-webkit-deflate-frame: {detail}"
    ))
}

/// `s` percent-encoded for a query value (everything but unreserved characters).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn row_refuse_deflate_answer<D: Driver>(d: &D, t: &Target) -> RowResult {
    let plain = DeflateConfig::DEFAULT;
    let mut no_client_bits = plain;
    no_client_bits.client_max_window_bits = None;
    let mut server_bits_10 = plain;
    server_bits_10.server_max_window_bits = WindowBits::new(10);
    let mut server_no_takeover = plain;
    server_no_takeover.server_no_context_takeover = true;
    // (the server's answer, what the client offered)
    let cases = [
        ("permessage-deflate; server_max_window_bits=7", plain),
        ("permessage-deflate; client_max_window_bits=20", plain),
        ("permessage-deflate; server_max_window_bits=010", plain),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            plain,
        ),
        ("permessage-deflate; x_unknown_parameter", plain),
        ("permessage-deflate; client_no_context_takeover=1", plain),
        ("permessage-deflate; client_max_window_bits", plain),
        ("permessage-deflate, permessage-deflate", plain),
        (
            "permessage-deflate; client_max_window_bits=10",
            no_client_bits,
        ),
        (
            "permessage-deflate; server_max_window_bits=12",
            server_bits_10,
        ),
        ("permessage-deflate", server_no_takeover),
    ];
    let mut seen = Vec::new();
    for (answer, deflate) in cases {
        let opts = offering_deflate(deflate);
        let offer = offer_of(&opts);
        let path = format!("/deflate-answer?ext={}", percent_encode(answer));
        match d.connect(&t.host, &path, &opts).await {
            Ok((_, r)) => {
                return Err(format!(
                    "offered '{offer}', answered '{answer}': connected (status {}, extensions {:?})",
                    r.status,
                    r.header("sec-websocket-extensions")
                ))
            }
            Err(DriverError::Ws(wspc::Error::Handshake(
                e @ (HandshakeError::ExtensionNotSupported | HandshakeError::Malformed(_)),
            ))) => seen.push(format!("'{answer}' to '{offer}': {e:?}")),
            Err(e) => {
                return Err(format!(
                    "offered '{offer}', answered '{answer}': refused, but with {e:?} ('{e}'); expected a handshake error"
                ))
            }
        }
    }
    Ok(format!(
        "{} answers refused by connect: {}",
        seen.len(),
        seen.join("; ")
    ))
}

async fn row_refuse_subprotocol<D: Driver>(d: &D, t: &Target) -> RowResult {
    refused(
        d,
        t,
        "subprotocol-not-offered",
        &options(),
        "SubprotocolNotSupported",
        |e| {
            matches!(
                e,
                DriverError::Ws(wspc::Error::Handshake(
                    HandshakeError::SubprotocolNotSupported
                ))
            )
        },
    )
    .await
}

async fn row_refuse_wrong_accept<D: Driver>(d: &D, t: &Target) -> RowResult {
    refused(
        d,
        t,
        "wrong-accept",
        &options(),
        "a malformed handshake naming Sec-WebSocket-Accept",
        |e| {
            matches!(e, DriverError::Ws(wspc::Error::Handshake(HandshakeError::Malformed(why))) if why.contains("Sec-WebSocket-Accept"))
        },
    )
    .await
}

async fn row_frame_with_101<D: Driver>(d: &D, t: &Target) -> RowResult {
    let (mut ws, _) = d
        .connect(&t.host, "/frame-with-101", &options())
        .await
        .ctx("connect")?;
    let first = ws.read().await.ctx("read the first message")?;
    check(first == Message::text("early"), || {
        format!(
            "the first message was {} {:?}, expected the text \"early\"",
            describe(&first),
            String::from_utf8_lossy(first.as_bytes())
        )
    })?;
    echo_one(&mut ws, Message::text("after the early frame")).await?;
    close_normally(&mut ws).await?;
    Ok("the text \"early\" sent in the 101's segment came first; a text echoed after it; closed 1000".into())
}

async fn run_row<D: Driver>(d: &D, t: &Target, row: &str) -> RowResult {
    match row {
        "subprotocol" => row_subprotocol(d, t).await,
        "text-ascii" => row_text_ascii(d, t).await,
        "text-nonascii" => row_text_nonascii(d, t).await,
        "text-split-codepoints" => row_text_split(d, t).await,
        "binary-sizes" => row_binary_sizes(d, t).await,
        "fragmented" => row_fragmented(d, t).await,
        "small-messages" => row_small(d, t).await,
        "ping-pong" => row_ping(d, t).await,
        "close-code" => row_close(d, t).await,
        "16mib-send-before-read" => row_16mib(d, t).await,
        "deflate-declined" => row_deflate_declined(d, t).await,
        "deflate-accepted" => row_deflate_accepted(d, t).await,
        "deflate-fragmented" => row_deflate_fragmented(d, t).await,
        "deflate-small-messages" => row_deflate_small(d, t).await,
        "deflate-off" => row_deflate_off(d, t).await,
        "refuse-extension" => row_refuse_extension(d, t).await,
        "refuse-other-extension" => row_refuse_other_extension(d, t).await,
        "refuse-deflate-answer" => row_refuse_deflate_answer(d, t).await,
        "refuse-subprotocol" => row_refuse_subprotocol(d, t).await,
        "refuse-wrong-accept" => row_refuse_wrong_accept(d, t).await,
        "frame-with-101" => row_frame_with_101(d, t).await,
        _ => Err(format!("no such row (known: {})", ROWS.join(", "))),
    }
}

// ----- the runner -----------------------------------------------------------------------------

/// Run one row in a thread of its own, bounded by `bound`.
fn run_bounded(tokio: bool, target: &Target, row: &str, bound: Duration) -> RowResult {
    let (tx, rx) = mpsc::channel();
    let target = target.clone();
    let name = row.to_owned();
    let spawned = thread::Builder::new()
        .name(format!("row {row}"))
        .spawn(move || {
            let result = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) if tokio => rt.block_on(run_row(&Tokio, &target, &name)),
                Ok(rt) => rt.block_on(run_row(&Blocking, &target, &name)),
                Err(e) => Err(format!("cannot start a runtime: {e}")),
            };
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(bound) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(format!("timed out after {} s", bound.as_secs()))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("the row panicked".into()),
    }
}

const USAGE: &str =
    "usage: interop_client URL SIDE [--tokio] [--peer NAME] [--deflate-url URL2] ROW...";

fn main() -> ExitCode {
    let mut tokio = false;
    let mut peer = "peer".to_owned();
    let mut deflate_url = None;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tokio" => tokio = true,
            "--peer" => match args.next() {
                Some(name) => peer = name,
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--deflate-url" => match args.next() {
                Some(url) => deflate_url = Some(url),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}\nrows: {}", ROWS.join(" "));
                return ExitCode::SUCCESS;
            }
            _ => positional.push(arg),
        }
    }
    if positional.len() < 3 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let (url, side, rows) = (&positional[0], &positional[1], &positional[2..]);
    let Some((host, path)) = split_url(url) else {
        eprintln!("interop_client: only ws:// URLs: {url}");
        return ExitCode::from(2);
    };
    let deflate = match deflate_url.as_deref().map(split_url) {
        None => None,
        Some(Some(target)) => Some(target),
        Some(None) => {
            eprintln!("interop_client: only ws:// URLs: {deflate_url:?}");
            return ExitCode::from(2);
        }
    };
    let target = Target {
        host,
        path,
        deflate,
    };
    let bound = Duration::from_secs(
        std::env::var("WSPC_INTEROP_ROW_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let driver = if tokio { "wspc::tokio" } else { "wspc::io" };
    eprintln!("# interop_client: {driver} against {url}");
    let mut failed = 0;
    for row in rows {
        let (verdict, detail) = match run_bounded(tokio, &target, row, bound) {
            Ok(detail) => ("PASS", detail),
            Err(detail) => {
                failed += 1;
                ("FAIL", detail)
            }
        };
        println!("{verdict} {side} {peer} {row} ({detail})");
    }
    // A row that timed out may still hold its thread: leave without waiting for it.
    std::process::exit(i32::from(failed > 0));
}
