//! The interop matrix for wspc as a client: `interop_client URL SIDE [--tokio] [--peer NAME]
//! ROW...`, run by `scripts/interop.sh` against the Python `websockets` and Node `ws` echo
//! servers (`scripts/interop/py_echo_server.py`, `node_echo_server.js`) and against
//! `scripts/interop/hostile_server.py`.
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
//! | `deflate` | wspc offers no extension and the server's 101 selects none; a text echoes |
//!
//! Rows against the hostile server (the row chooses the server's mode by the path):
//!
//! | row | path | what passes |
//! |---|---|---|
//! | `refuse-extension` | `/extension-not-offered` | connect fails with `HandshakeError::ExtensionNotSupported` |
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
use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use wspc::driver::{ClientOptions, CloseFrame, DriverError, Message, Response};
use wspc::{BufferType, CloseStatus, HandshakeError};

const MIB: usize = 1 << 20;
/// Bound on connecting the TCP socket (the driver's handshake timeout follows).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The binary sizes of `binary-sizes`: the edges of the three length encodings, and large ones.
const BINARY_SIZES: [usize; 8] = [0, 1, 125, 126, 65535, 65536, MIB, 16 * MIB];

/// Every row this binary knows, in the order `--help` lists them.
const ROWS: [&str; 15] = [
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
    "deflate",
    "refuse-extension",
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
    type Ws = wspc::io::WebSocket<std::net::TcpStream>;

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
        wspc::io::connect(stream, host, path, options)
    }
}

impl Ws for wspc::io::WebSocket<std::net::TcpStream> {
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
}

impl Driver for Tokio {
    type Ws = wspc::tokio::WebSocketStream<tokio::net::TcpStream>;

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
        wspc::tokio::connect(stream, host, path, options).await
    }
}

impl Ws for wspc::tokio::WebSocketStream<tokio::net::TcpStream> {
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
/// "é€😀" that is not its last, then twice more in the rest, each moved forward onto a
/// continuation byte. Returns the pieces and how many boundaries fall inside a code point.
fn split_codepoints(data: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut cuts: Vec<usize> = (1..10).filter(|&i| is_continuation(data[i])).collect();
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
    (
        bounds.windows(2).map(|w| &data[w[0]..w[1]]).collect(),
        inside,
    )
}

// ----- the rows -------------------------------------------------------------------------------

/// Where the rows connect.
struct Target {
    host: String,
    path: String,
}

fn options() -> ClientOptions {
    ClientOptions::default()
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
    let (pieces, inside) = split_codepoints(text.as_bytes());
    let mut ws = connect(d, t).await?;
    let last = pieces.len() - 1;
    for (i, piece) in pieces.iter().enumerate() {
        let kind = if i == last {
            BufferType::Utf8Message
        } else {
            BufferType::Utf8Fragment
        };
        ws.send_piece(kind, piece).await.ctx("send_piece")?;
    }
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
    for (i, w) in bounds.windows(2).enumerate() {
        let kind = if i == bounds.len() - 2 {
            BufferType::BinaryMessage
        } else {
            BufferType::BinaryFragment
        };
        ws.send_piece(kind, &payload[w[0]..w[1]])
            .await
            .ctx("send_piece")?;
    }
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

async fn row_deflate<D: Driver>(d: &D, t: &Target) -> RowResult {
    let opts = options();
    check(opts.extensions.is_empty(), || {
        format!("the client options offer {:?}", opts.extensions)
    })?;
    let (mut ws, response) = d.connect(&t.host, &t.path, &opts).await.ctx("connect")?;
    let text = "no permessage-deflate; ".repeat(40);
    echo_one(&mut ws, Message::text(text.clone())).await?;
    close_normally(&mut ws).await?;
    let header = response.header("sec-websocket-extensions");
    check(header.is_none() && response.extensions.is_empty(), || {
        format!("the server's 101 selected {header:?}")
    })?;
    Ok(format!(
        "wspc offered no extension; the 101 had no Sec-WebSocket-Extensions; {}-char text echoed equal",
        text.len()
    ))
}

/// Connect to a hostile mode whose 101 must be refused: `judge` accepts the right error,
/// `expected` names it for the detail.
async fn refused<D: Driver>(
    d: &D,
    t: &Target,
    mode: &str,
    expected: &str,
    judge: impl FnOnce(&DriverError) -> bool,
) -> RowResult {
    match d.connect(&t.host, &format!("/{mode}"), &options()).await {
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

async fn row_refuse_extension<D: Driver>(d: &D, t: &Target) -> RowResult {
    refused(
        d,
        t,
        "extension-not-offered",
        "ExtensionNotSupported",
        |e| {
            matches!(
                e,
                DriverError::Ws(wspc::Error::Handshake(
                    HandshakeError::ExtensionNotSupported
                ))
            )
        },
    )
    .await
}

async fn row_refuse_subprotocol<D: Driver>(d: &D, t: &Target) -> RowResult {
    refused(
        d,
        t,
        "subprotocol-not-offered",
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
        "deflate" => row_deflate(d, t).await,
        "refuse-extension" => row_refuse_extension(d, t).await,
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
    let target = Target {
        host: target.host.clone(),
        path: target.path.clone(),
    };
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

const USAGE: &str = "usage: interop_client URL SIDE [--tokio] [--peer NAME] ROW...";

fn main() -> ExitCode {
    let mut tokio = false;
    let mut peer = "peer".to_owned();
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
    let Some(rest) = url.strip_prefix("ws://") else {
        eprintln!("interop_client: only ws:// URLs: {url}");
        return ExitCode::from(2);
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let target = Target {
        host: host.to_owned(),
        path: path.to_owned(),
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
