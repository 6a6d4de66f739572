//! What the two socket drivers share: the settings ([`Config`]), the message type
//! ([`Message`]), the errors ([`DriverError`]), the HTTP/1.1 upgrade ([`upgrade`]) and the one
//! sans-IO pump that serves a [`Session`](crate::Session)'s actions (`conn`, private).
//!
//! The blocking driver is [`crate::io`]; the tokio driver is `crate::tokio` (cargo feature
//! `tokio`). Both are thin: they move bytes between a transport and the pump, and keep the
//! clocks the engine does not read. Framing, masking, UTF-8 checks, pongs and the closing
//! handshake all stay in the engine.
//!
//! # Defaults and limits
//!
//! | setting | default | what happens |
//! |---|---|---|
//! | [`Config::max_message_size`] | 64 MiB (as tungstenite) | a longer message fails the connection with close 1009 ([`ProtocolError::MessageTooBig`](crate::ProtocolError::MessageTooBig)) |
//! | [`Config::handshake_timeout`] | 10 s | the upgrade (request, response) must complete in it, else [`DriverError::Timeout`] and the socket is dropped |
//! | [`Config::close_timeout`] | 10 s | after our close frame, how long to wait for the peer's close (or end of stream) before dropping |
//! | [`Config::ping_interval`] | 20 s (as python-websockets) | a ping is sent once this much time passed without any received byte (the tokio driver checks once per interval: one to two intervals after the last byte) |
//! | [`Config::ping_timeout`] | 20 s | no pong that long after a keep-alive ping fails the connection with close 1011 |
//! | [`Config::write_timeout`] | 30 s | a write that makes no progress that long fails the connection (the blocking driver on a socket: within 1¼ times that) |
//! | [`Config::read_timeout`] | none | [`io`](crate::io) only: a read that waits that long returns [`DriverError::Timeout`] and leaves the session usable |
//! | [`Config::max_write_buffer`] | 1 MiB | tokio only: `poll_ready` waits while more than this is queued and unwritten |
//! | [`Config::max_read_ahead`] | 64 MiB (one message at the cap) | tokio only: while a write waits, input is read ahead up to this, so a peer that sends before it reads does not deadlock against a sender; then reading stops until the application receives. With the message cap, a connection may hold up to 128 MiB of the peer's input |
//! | `Config::deflate` (cargo feature `deflate`) | on, [`DeflateConfig::DEFAULT`](crate::deflate::DeflateConfig::DEFAULT) | a client offers permessage-deflate, a server accepts an offer; see below |
//! | HTTP head ([`upgrade::MAX_HEAD_BYTES`]) | 20 KiB | a server answers 431 and closes; a client fails with [`DriverError::Http`] |
//! | staged reads | 32 KiB per thread, lent to a connection only while it holds unread bytes | see below |
//! | small-message writes | as large as the messages, at most 8 KiB kept | see below |
//! | message buffers sent, kept for reuse | at most 4 per thread, of 4 to 256 KiB each | see below |
//!
//! Reads go straight into the engine's receive buffer (4 KiB by default) until one fills it.
//! Then the driver reads into a 32 KiB staging buffer and feeds the engine from it, so a 16 KiB
//! message takes one system call instead of five. A read that the receive buffer could have
//! held switches this off again. Staging buffers are shared by the connections driven on one
//! thread: a connection takes one for a read and gives it back as soon as its bytes are used
//! (or the read would block), so with one message in flight per connection the next
//! connection's read lands in memory still in the CPU's caches, and a waiting connection holds
//! none. A connection that was given more than it used at once (pipelined messages) keeps its
//! buffer until it has used them. Each thread keeps at most 4 free buffers (128 KiB).
//!
//! When whole messages are read, the payload of a data frame of 1 KiB or more that is already in
//! the staging buffer goes from there straight into the message, unmasked and checked on the
//! way by the engine (its header alone passes through the receive buffer): one copy where the
//! receive buffer takes two, into it and out of it. Compressed messages, control frames and
//! piece-level reads go through the receive buffer as before.
//!
//! A message of at most 4 KiB sent while nothing else waits to be written is framed (and, for a
//! client, masked) in one engine call, [`Session::send_into`](crate::Session::send_into), into a
//! write buffer of the connection's own, instead of going through the action loop; messages sent
//! before a flush then go out in one write. A larger data message sent while nothing else
//! waits is framed in one engine call too, but only its header goes into the write buffer: its
//! payload is written from the message itself right after it (masked in place, for a client),
//! without a copy. Compressed messages, closes, and anything sent while the engine still has a
//! send queued or a larger message's payload waits go through the action loop, which also
//! writes the payload from the message itself. The order on the wire is the order of the sends
//! either way. The write buffer keeps its memory for the next small messages, unless a burst
//! grew it past 8 KiB. A message's own buffer, once its bytes are written, is kept by the thread
//! (at most 4 of them, of 4 to 256 KiB each) for the next message assembled there, so a server
//! that sends back what it receives assembles in memory it just used instead of allocating.
//!
//! Pings from the peer are answered by the engine (the latest one, RFC 6455 §5.5.3) and are not
//! delivered; pongs are delivered as [`Message::Pong`], except those answering the driver's own
//! keep-alive pings. The peer's close is answered with the same status (an empty close if it had
//! none) before it is delivered as [`Message::Close`]; a stream that ends without a close is the
//! end of the messages ([`DriverError::Closed`] for the blocking driver, `None` for the tokio
//! stream), while piece-level reads see it as a `Close` piece with status 1006.
//!
//! # Compression
//!
//! With the cargo feature `deflate` (a default feature), both drivers negotiate permessage-deflate
//! (RFC 7692) by default, as browsers, Python `websockets` and Node `ws` clients do: a client
//! offers `permessage-deflate; client_max_window_bits`, a server accepts the first acceptable
//! offer. Messages are then compressed and decompressed by the engine; what the application reads
//! and writes is unchanged. Decompression is bounded per message by
//! [`DeflateLimits`](crate::deflate::DeflateLimits) (64 MiB by default, close 1009 beyond it).
//!
//! The cost is memory and CPU on connections that use it: about 420 KiB per connection with the
//! default 32 KiB windows (zlib's compressor state, about 370 KiB, comes with the first message
//! sent, the decompressor's 46 KiB with the first compressed message received; agreement alone
//! costs nothing), so a server with many busy connections may want it off. Set
//! `config.deflate = None` to never negotiate it (the C ABI's default, and websocket.dll's
//! behaviour), or a [`DeflateConfig`](crate::deflate::DeflateConfig) with smaller windows or no
//! context takeover. A `Property::PermessageDeflate` in [`Config::properties`] takes precedence
//! over `Config::deflate`.

pub(crate) mod conn;
pub mod message;
mod pool;
pub mod upgrade;

use crate::close::CloseStatus;
use crate::error::Error;
use crate::properties::Property;
use core::fmt;
use core::time::Duration;
use std::io;

pub use message::{CloseFrame, Message, Piece};
pub use upgrade::{Accept, Refusal, Request, Response};

/// Settings of a connection, shared by both drivers. Every timeout is on by default (see the
/// [module docs](self)); `None` turns one off.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Handle properties (buffer sizes, UTF-8 verification…) for the engine.
    ///
    /// The receive buffer size bounds the pieces the engine delivers and the reads that go
    /// straight into it; once a read fills it, reads go through the driver's staging buffer
    /// (see the [module docs](self)), so a larger receive buffer is rarely needed for speed. It
    /// is allocated (and zeroed, so resident) when the connection opens.
    pub properties: Vec<Property>,
    /// The longest message [`Message`]-level reads assemble; `None` for no cap (then memory is
    /// bounded only by what the peer sends). Piece-level reads are not capped: pieces are at most
    /// the receive buffer.
    pub max_message_size: Option<usize>,
    /// Time for the whole upgrade (reading and writing the HTTP heads).
    pub handshake_timeout: Option<Duration>,
    /// Time to wait for the peer's close frame (or end of stream) once ours is sent.
    pub close_timeout: Option<Duration>,
    /// Idle time (nothing received) after which a keep-alive ping is sent. The blocking driver
    /// measures it from the last read; the tokio driver, so as not to read the clock on every
    /// message, checks once per interval whether anything was read in it, so its ping goes out
    /// one to two intervals after the last byte received.
    pub ping_interval: Option<Duration>,
    /// Time to wait for a pong after a keep-alive ping before failing with close 1011.
    pub ping_timeout: Option<Duration>,
    /// Time a write may make no progress before the connection fails. The blocking driver on
    /// a socket puts a quarter of it on the socket and counts the quarters that pass without
    /// progress, so its writes fail between one and 1¼ times this after their last byte moved
    /// (for timeouts of 4 ms and more); on other transports, see
    /// [`Transport::retry_timed_out_writes`](crate::io::Transport::retry_timed_out_writes).
    pub write_timeout: Option<Duration>,
    /// [`io`](crate::io) only: the longest a read waits before returning
    /// [`DriverError::Timeout`] with the session intact.
    pub read_timeout: Option<Duration>,
    /// Tokio only: bytes queued for writing beyond which the sink applies backpressure.
    pub max_write_buffer: usize,
    /// Tokio only: while a write waits for the peer to read, the driver reads on, up to this
    /// many bytes the engine has not taken yet (they go to the engine, in order, on the next
    /// receive). A peer that sends before it reads is then not deadlocked against an
    /// application that sends before it receives; beyond the limit, reading stops until the
    /// application receives. 0 turns reading ahead off.
    pub max_read_ahead: usize,
    /// permessage-deflate: `Some` offers it (client) or accepts an offer (server) with these
    /// settings, `None` never negotiates it. Default: `Some(DeflateConfig::DEFAULT)` (see the
    /// [module docs](self#compression)).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Config {
    /// The engine properties a session of this connection gets: [`Config::properties`], plus
    /// [`Config::deflate`] unless `properties` already says something about permessage-deflate.
    pub(crate) fn session_properties(&self) -> std::borrow::Cow<'_, [Property]> {
        #[cfg(feature = "deflate")]
        if !self
            .properties
            .iter()
            .any(|p| matches!(p, Property::PermessageDeflate(_)))
        {
            if let Some(deflate) = self.deflate {
                let mut all = self.properties.clone();
                all.push(Property::PermessageDeflate(Some(deflate)));
                return std::borrow::Cow::Owned(all);
            }
        }
        std::borrow::Cow::Borrowed(&self.properties)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            properties: Vec::new(),
            max_message_size: Some(64 << 20),
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Some(Duration::from_secs(10)),
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
            write_timeout: Some(Duration::from_secs(30)),
            read_timeout: None,
            max_write_buffer: 1 << 20,
            max_read_ahead: 64 << 20,
            #[cfg(feature = "deflate")]
            deflate: Some(crate::deflate::DeflateConfig::DEFAULT),
        }
    }
}

/// Which timer ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// The upgrade did not complete in [`Config::handshake_timeout`].
    Handshake,
    /// Nothing arrived in [`Config::read_timeout`]; the session is intact.
    Read,
    /// A write made no progress in [`Config::write_timeout`]; the connection is dropped.
    Write,
    /// No pong within [`Config::ping_timeout`] of a keep-alive ping; the connection was failed
    /// with close 1011.
    Pong,
}

/// What can go wrong in a driver.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverError {
    /// The transport failed.
    Io(io::Error),
    /// The engine refused: a protocol error from the peer (the driver has already sent the close
    /// it calls for), a handshake failure, or misuse.
    Ws(Error),
    /// The HTTP upgrade was malformed (the text says how). A server has answered it: 400 or 431
    /// for a bad request head, 500 when the `accept_with` callback's answer was invalid (a
    /// header that cannot be sent, a subprotocol the client did not offer).
    Http(String),
    /// The upgrade was refused: for a client, the server answered a status other than 101 (it is
    /// in the [`Response`]); for a server, the `accept_with` callback refused it.
    Refused(Box<Response>),
    /// A timer ran out.
    Timeout(Timeout),
    /// The connection is closed: the closing handshake completed or the peer ended the stream.
    Closed,
}

impl DriverError {
    /// The status of a refused upgrade, if that is what this is: the server's answer (client
    /// side), or the status the `accept_with` callback refused with (server side).
    pub fn refused_status(&self) -> Option<u16> {
        match self {
            Self::Refused(r) => Some(r.status),
            _ => None,
        }
    }

    /// The close status this error fails the connection with, if any.
    pub fn close_status(&self) -> Option<CloseStatus> {
        match self {
            Self::Ws(e) => e.close_status(),
            Self::Timeout(Timeout::Pong) => Some(CloseStatus::SERVER_ERROR),
            _ => None,
        }
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Ws(e) => write!(f, "{e}"),
            Self::Http(why) => write!(f, "HTTP upgrade failed: {why}"),
            Self::Refused(r) => write!(f, "upgrade refused with status {}", r.status),
            Self::Timeout(t) => write!(f, "timed out: {t:?}"),
            Self::Closed => f.write_str("connection closed"),
        }
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Ws(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for DriverError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<Error> for DriverError {
    fn from(e: Error) -> Self {
        Self::Ws(e)
    }
}

/// Settings of a client connection.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Connection settings.
    pub config: Config,
    /// Subprotocols to offer, in order of preference.
    pub subprotocols: Vec<String>,
    /// Other extensions to offer, as `Sec-WebSocket-Extensions` elements. The engine implements
    /// none of them: they are for an application that handles one itself. A server selecting an
    /// extension that was not offered is refused. permessage-deflate is not named here but
    /// through [`Config::deflate`].
    pub extensions: Vec<String>,
    /// More headers for the GET request (`Origin`, cookies, authorisation…). A `Host` here
    /// replaces the default one; names and values are checked (no CR, LF or NUL).
    pub headers: Vec<(String, String)>,
}

/// Settings of a server connection.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Connection settings.
    pub config: Config,
    /// Subprotocols this server speaks, in order of preference: the first one the client offers
    /// is selected (an `accept_with` callback may choose otherwise).
    pub subprotocols: Vec<String>,
}
