//! The blocking driver: the action loop and the HTTP/1.1 upgrade over a blocking stream
//! (`TcpStream`, `UnixStream`, or any [`Transport`]), one connection per thread.
//!
//! ```no_run
//! use std::net::TcpStream;
//! use wspc::io::{connect, ClientOptions, Message};
//!
//! let stream = TcpStream::connect("127.0.0.1:9001")?;
//! let (mut ws, response) = connect(stream, "127.0.0.1:9001", "/", &ClientOptions::default())?;
//! println!("subprotocol: {:?}", response.subprotocol);
//! ws.send(Message::text("hello"))?;
//! match ws.read_message()? {
//!     Message::Text(text) => println!("echo: {text}"),
//!     other => println!("{other:?}"),
//! }
//! ws.close(None)?;
//! # Ok::<(), wspc::io::DriverError>(())
//! ```
//!
//! Reads deliver whole messages ([`WebSocket::read_message`], capped by
//! [`Config::max_message_size`]) or pieces ([`WebSocket::read_piece`], for streaming); a read
//! that times out or would block leaves the session intact. Every timeout of [`Config`] but
//! [`Config::read_timeout`] is on by default: the driver sets the socket's read and write
//! timeouts itself through [`Transport`], so set them with [`Config`], not on the socket.
//!
//! A blocking driver cannot read while it writes. A peer that sends one large message before it
//! reads is served (the whole message is read before the answer is written); a peer that sends
//! several, more than the sockets' buffers hold, before it reads anything waits on our answer
//! while we wait on it, until [`Config::write_timeout`] fails the connection. The tokio driver
//! reads ahead while a write waits ([`Config::max_read_ahead`]) and serves that peer too.
//!
//! After a protocol error, a message over the cap or a keep-alive timeout, the driver fails the
//! connection itself (RFC 6455 §7.1.7): it sends the close the error calls for, shuts down its
//! write side and drains input briefly so that the close frame is not destroyed by a reset, then
//! returns the error.

use crate::driver::conn::{coalesce, Conn, Next};
use crate::driver::upgrade::{self, HeadReader, ServerUpgrade};
use crate::error::Error;
use crate::session::action::BufferType;
use crate::session::Session;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub use crate::driver::upgrade::MAX_HEAD_BYTES;
pub use crate::driver::{
    Accept, ClientOptions, CloseFrame, Config, DriverError, Message, Piece, Refusal, Request,
    Response, ServerOptions, Timeout,
};

/// How early a socket timeout may fire and still count as our clock running out (timeouts are
/// rounded by the kernel); a `WouldBlock` earlier than that comes from a non-blocking stream.
const CLOCK_SLACK: Duration = Duration::from_millis(20);

/// The most time and bytes spent draining input after failing a connection.
const DRAIN_TIME: Duration = Duration::from_secs(1);
const DRAIN_BYTES: usize = 1 << 20;

/// A blocking byte stream the driver can put timeouts on and half-close. The methods default to
/// doing nothing, for streams without timeouts (then [`Config`]'s timeouts cannot fire).
pub trait Transport: Read + Write {
    /// Bound the next reads (`None`: wait forever).
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }
    /// Bound the next writes (`None`: wait forever).
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }
    /// Shut down the write side (the peer reads end of stream after what was written).
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Whether a write that times out has moved no byte, and leaves the stream usable, so that
    /// it may be tried again: true for the standard library's sockets on Unix (a write that
    /// moved some bytes returns their count). Then the driver puts a quarter of
    /// [`Config::write_timeout`] on the stream and counts the quarters without progress, and a
    /// stalled write fails within 1¼ of the timeout. Otherwise (the default: a TLS stream may
    /// move bytes and still time out; Windows leaves a socket whose send timed out in an
    /// undefined state) the whole timeout is put on the stream and its first timeout fails the
    /// write, which then comes up to twice the timeout after the last byte moved.
    fn retry_timed_out_writes(&self) -> bool {
        false
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
    fn retry_timed_out_writes(&self) -> bool {
        (**self).retry_timed_out_writes()
    }
}

/// Sockets: timeouts through the standard library, half-close through `shutdown`.
macro_rules! socket_transport {
    ($($socket:ty),*) => {$(
        impl Transport for $socket {
            fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                Self::set_read_timeout(self, timeout.map(at_least_1ms))
            }
            fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                Self::set_write_timeout(self, timeout.map(at_least_1ms))
            }
            fn shutdown_write(&mut self) -> io::Result<()> {
                self.shutdown(std::net::Shutdown::Write)
            }
            fn retry_timed_out_writes(&self) -> bool {
                cfg!(unix)
            }
        }
    )*};
}

socket_transport!(TcpStream);
#[cfg(unix)]
socket_transport!(std::os::unix::net::UnixStream);

/// A zero timeout means "none" to the standard library (and is refused): use 1 ms.
fn at_least_1ms(t: Duration) -> Duration {
    t.max(Duration::from_millis(1))
}

/// How many stream timeouts a [`Config::write_timeout`] is cut into when the stream's timed-out
/// writes can be tried again ([`Transport::retry_timed_out_writes`]). A blocking write that
/// copies some bytes and then waits returns them only when its timeout runs out, so with the
/// whole write timeout on the socket a stalled write could take up to twice as long to fail.
/// With a slice of it on the socket, the driver counts the slices that pass without progress
/// and fails the write between one and 1¼ write timeouts after its last byte moved.
const WRITE_SLICES: u32 = 4;

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A WebSocket over a blocking stream: a [`Session`], the pump that serves its actions, and
/// the clocks of [`Config`].
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Conn,
    config: Config,
    /// When a byte last arrived (the keep-alive clock).
    last_read: Instant,
    /// When the keep-alive ping went out.
    ping_sent: Option<Instant>,
    /// When our close frame was completely written (the close clock).
    close_written_at: Option<Instant>,
    /// The read timeout now set on the stream.
    read_timeout: Option<Duration>,
    /// The write timeout set on the stream: [`Config::write_timeout`], or a slice of it (see
    /// [`WRITE_SLICES`]).
    write_slice: Option<Duration>,
}

/// What one turn of the receive loop produced.
enum Got {
    Message(Message),
    Piece,
}

impl<S: Transport> WebSocket<S> {
    /// Drive an open `session` over `stream` (after a handshake of your own); `leftover` are
    /// bytes already read from the stream that belong to the WebSocket connection.
    pub fn from_session(
        stream: S,
        session: Session,
        leftover: Vec<u8>,
        config: Config,
    ) -> Result<Self, DriverError> {
        let mut stream = stream;
        let slices = if stream.retry_timed_out_writes() {
            WRITE_SLICES
        } else {
            1
        };
        let write_slice = config.write_timeout.map(|t| at_least_1ms(t / slices));
        stream.set_write_timeout(write_slice)?;
        Ok(Self {
            stream,
            conn: Conn::new(session, leftover, config.max_message_size),
            config,
            last_read: Instant::now(),
            ping_sent: None,
            close_written_at: None,
            read_timeout: None,
            write_slice,
        })
    }

    /// The engine.
    pub fn session(&self) -> &Session {
        self.conn.session()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Give back the stream, with the read and write timeouts the driver last set on it (the
    /// write timeout may be a quarter of [`Config::write_timeout`]: see
    /// [`Transport::retry_timed_out_writes`]).
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Read the next whole message (up to [`Config::max_message_size`]), or a pong, or the
    /// peer's close (already answered; later reads return [`DriverError::Closed`]). Pings are
    /// answered on the way; keep-alive pings go out while waiting.
    ///
    /// Errors: [`DriverError::Timeout`] with [`Timeout::Read`] (or an `Io` error of kind
    /// `WouldBlock` on a non-blocking stream) leaves the session usable; every other error has
    /// ended the connection (failing it first if the peer broke the protocol).
    pub fn read_message(&mut self) -> Result<Message, DriverError> {
        match self.receive(true)? {
            Got::Message(m) => Ok(m),
            Got::Piece => Err(DriverError::Closed),
        }
    }

    /// Read the next piece: a part of a message as it arrived (`*_FRAGMENT`, or the final
    /// `*_MESSAGE`), a pong (`PingPong`) or the peer's close (`Close`, already answered). Pieces
    /// are at most the receive buffer and not capped in total: for streaming large messages.
    /// Errors as for [`read_message`](Self::read_message).
    pub fn read_piece(&mut self) -> Result<Piece<'_>, DriverError> {
        match self.receive(false)? {
            Got::Piece => Ok(self.conn.piece()),
            Got::Message(_) => Err(DriverError::Closed),
        }
    }

    /// Send `message` and return once it is written (pongs due go out first).
    pub fn send(&mut self, message: Message) -> Result<(), DriverError> {
        self.conn.queue(message)?;
        self.flush()
    }

    /// Send one piece of a message being streamed (`*_FRAGMENT` pieces, then `*_MESSAGE`).
    pub fn send_piece(&mut self, buffer_type: BufferType, data: &[u8]) -> Result<(), DriverError> {
        self.conn.queue_piece(buffer_type, data.to_vec())?;
        self.flush()
    }

    /// Write everything queued (automatic pongs, a close answering the peer's).
    pub fn flush(&mut self) -> Result<(), DriverError> {
        // Once a write timed out: when the stall began at the latest. The clock is read only
        // then, not on writes that make progress.
        let mut stalled: Option<Instant> = None;
        loop {
            let call = stalled.map(|_| Instant::now());
            let written = match self.conn.write_buf()? {
                None => break,
                Some(bufs) => {
                    let mut scratch = None;
                    match coalesce(bufs, &mut scratch) {
                        Ok(one) => self.stream.write(one),
                        Err(slices) => self.stream.write_vectored(&slices),
                    }
                }
            };
            match written {
                Ok(0) => return Err(self.broken(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    stalled = None;
                    self.conn.wrote(n)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if timed_out(&e) && self.write_waits_on(&mut stalled, call) => {}
                Err(e) => return Err(self.broken(e)),
            }
        }
        self.stream.flush().map_err(|e| self.broken(e))
    }

    /// A write timed out after `call` began (`None`: the first in this stall): whether to try
    /// again, because less than [`Config::write_timeout`] passed without progress. A write that
    /// returned at once (a non-blocking stream, or a socket timeout of the application's) does
    /// not count as our clock: it fails as any other error.
    fn write_waits_on(&self, stalled: &mut Option<Instant>, call: Option<Instant>) -> bool {
        let (Some(limit), Some(slice)) = (self.config.write_timeout, self.write_slice) else {
            return false;
        };
        if slice >= limit {
            // The whole timeout is on the stream: its first timeout is the end.
            return false;
        }
        let now = Instant::now();
        match (*stalled, call) {
            (Some(since), Some(call)) => {
                // A timeout of ours waited about a slice (kernels round it; a write that would
                // block returns at once). The first timed-out write waited a slice before
                // `since`, so the stall is at least `now - since + slice` long.
                now.duration_since(call) * 2 >= slice && now.duration_since(since) + slice < limit
            }
            // The next write tells a socket timeout of ours from a write that would block.
            _ => {
                *stalled = Some(now);
                true
            }
        }
    }

    /// Close the connection: send a close (`None`: without a status), wait up to
    /// [`Config::close_timeout`] for the peer's (discarding messages that arrive meanwhile), then
    /// shut down. Returns once the connection is closed.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), DriverError> {
        if !self.conn.close_sent() && !self.conn.ended() {
            self.send(Message::Close(frame))?;
        }
        loop {
            match self.read_message() {
                Ok(Message::Close(_)) | Err(DriverError::Closed) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The write failed: the frame on the wire is cut, so the connection is over.
    fn broken(&mut self, e: io::Error) -> DriverError {
        self.conn.abort();
        if timed_out(&e) {
            DriverError::Timeout(Timeout::Write)
        } else {
            DriverError::Io(e)
        }
    }

    fn receive(&mut self, whole: bool) -> Result<Got, DriverError> {
        let started = self.config.read_timeout.map(|_| Instant::now());
        loop {
            let step = self.conn.next(whole);
            let step = match step {
                Ok(step) => step,
                Err(e) => return Err(self.fail(e)),
            };
            match step {
                Next::Write | Next::Blocked => self.flush()?,
                Next::Read => self.read_once(started)?,
                Next::Ended => {
                    self.shut_down();
                    return Err(DriverError::Closed);
                }
                got @ (Next::Piece | Next::Message) => {
                    let got = match (got, self.conn.take_message()) {
                        (Next::Message, Some(m)) => Got::Message(m),
                        _ => Got::Piece,
                    };
                    if self.conn.close_received() {
                        // The peer's close: our answer goes out now, then the stream is shut.
                        self.flush()?;
                        self.shut_down();
                    }
                    return Ok(got);
                }
            }
        }
    }

    /// One read into the pump, with the keep-alive, close and read clocks around it.
    fn read_once(&mut self, started: Option<Instant>) -> Result<(), DriverError> {
        if !self.conn.awaiting_pong() {
            self.ping_sent = None;
        }
        let c = &self.config;
        // With every clock off the driver never reads the time (a read per syscall is cheap,
        // but a stream read a byte at a time should not pay for clocks it does not use).
        let clocks = c.ping_interval.is_some()
            || c.close_timeout.is_some()
            || c.read_timeout.is_some()
            || self.ping_sent.is_some();
        let due = if clocks {
            match self.check_clocks(started)? {
                Some(due) => due,
                None => return Ok(()),
            }
        } else {
            None
        };
        let timeout = due.map(|t| t.saturating_duration_since(Instant::now()));
        if timeout != self.read_timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        let read = self.stream.read(self.conn.read_buf());
        if read.is_err() {
            self.conn.no_read();
        }
        match read {
            Ok(n) => {
                if clocks {
                    self.last_read = Instant::now();
                }
                self.conn.did_read(n)?;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            // A clock of ours ran out: the next turn acts on it.
            Err(e) if timed_out(&e) && due.is_some_and(|t| Instant::now() + CLOCK_SLACK >= t) => {
                Ok(())
            }
            // A non-blocking stream, or a timeout set by the application: the read stays
            // outstanding and the session usable.
            Err(e) if timed_out(&e) => Err(DriverError::Io(e)),
            Err(e) => {
                self.conn.abort();
                Err(DriverError::Io(e))
            }
        }
    }

    /// Act on the clocks that ran out (a keep-alive ping is sent: `Ok(None)`, the caller turns
    /// again); otherwise the next deadline, if any.
    #[allow(clippy::option_option)]
    fn check_clocks(
        &mut self,
        started: Option<Instant>,
    ) -> Result<Option<Option<Instant>>, DriverError> {
        let now = Instant::now();
        if self.conn.close_written() {
            // The close clock runs from when our close frame is out.
            self.close_written_at.get_or_insert(now);
        }
        let c = &self.config;
        let pong_due = self.ping_sent.zip(c.ping_timeout).map(|(t, d)| t + d);
        let ping_due = (self.ping_sent.is_none() && !self.conn.close_sent())
            .then(|| c.ping_interval.map(|d| self.last_read + d))
            .flatten();
        let close_due = self
            .close_written_at
            .zip(c.close_timeout)
            .map(|(t, d)| t + d);
        let read_due = c.read_timeout.zip(started).map(|(d, t)| t + d);
        if close_due.is_some_and(|t| now >= t) {
            self.conn.abort();
            self.shut_down();
            return Err(DriverError::Closed);
        }
        if pong_due.is_some_and(|t| now >= t) {
            self.conn.fail_with(crate::CloseStatus::SERVER_ERROR);
            self.close_after_failure();
            return Err(DriverError::Timeout(Timeout::Pong));
        }
        if ping_due.is_some_and(|t| now >= t) {
            self.conn.queue_keepalive()?;
            self.ping_sent = Some(now);
            self.flush()?;
            return Ok(None);
        }
        if read_due.is_some_and(|t| now >= t) {
            return Err(DriverError::Timeout(Timeout::Read));
        }
        Ok(Some(
            [pong_due, ping_due, close_due, read_due]
                .into_iter()
                .flatten()
                .min(),
        ))
    }

    /// Fail the connection after `error` (RFC 6455 §7.1.7) and return it as the driver error.
    fn fail(&mut self, error: Error) -> DriverError {
        self.conn.fail(&error);
        self.close_after_failure();
        DriverError::Ws(error)
    }

    /// Write the failing close, shut the write side, drain input briefly, drop.
    fn close_after_failure(&mut self) {
        if self.flush().is_ok() {
            let _ = self.stream.shutdown_write();
            drain(
                &mut self.stream,
                DRAIN_TIME.min(self.config.close_timeout.unwrap_or(DRAIN_TIME)),
            );
        }
        self.conn.abort();
    }

    /// The closing handshake is over or the stream ended: shut the write side (a server closes
    /// first, RFC 6455 §7.1.1; a client waits a little for the server to do so).
    fn shut_down(&mut self) {
        let _ = self.stream.shutdown_write();
        if self.conn.session().role() == crate::Role::Client && !self.conn.session().is_aborted() {
            drain(
                &mut self.stream,
                self.config.close_timeout.unwrap_or(DRAIN_TIME),
            );
        }
        self.conn.abort();
    }
}

/// Read and discard until end of stream, `time` or [`DRAIN_BYTES`].
fn drain<S: Transport>(stream: &mut S, time: Duration) {
    let end = Instant::now() + time;
    let mut sink = [0u8; 4096];
    let mut total = 0;
    while total < DRAIN_BYTES {
        let now = Instant::now();
        if now >= end || stream.set_read_timeout(Some(end - now)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Read a head with the handshake clock: its bytes and length, or what went wrong.
enum HeadRead {
    Head(Vec<u8>, usize),
    TooLarge,
    Failed(DriverError),
}

fn read_head<S: Transport>(stream: &mut S, deadline: Option<Instant>) -> HeadRead {
    let mut reader = HeadReader::new();
    loop {
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return HeadRead::Failed(DriverError::Timeout(Timeout::Handshake));
            }
            if let Err(e) = stream.set_read_timeout(Some(deadline - now)) {
                return HeadRead::Failed(e.into());
            }
        }
        let Ok(space) = reader.space() else {
            return HeadRead::TooLarge;
        };
        match stream.read(space) {
            Ok(0) => return HeadRead::Failed(DriverError::Closed),
            Ok(n) => {
                if let Some(len) = reader.filled(n) {
                    return HeadRead::Head(reader.into_bytes(), len);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The handshake clock ran out: the next turn reports it. (A non-blocking stream
            // fails here with `WouldBlock`: the upgrade needs a blocking one.)
            Err(e)
                if timed_out(&e) && deadline.is_some_and(|t| Instant::now() + CLOCK_SLACK >= t) => {
            }
            Err(e) => return HeadRead::Failed(e.into()),
        }
    }
}

fn write_head<S: Transport>(stream: &mut S, head: &[u8]) -> Result<(), DriverError> {
    match stream.write_all(head).and_then(|()| stream.flush()) {
        Ok(()) => Ok(()),
        Err(e) if timed_out(&e) => Err(DriverError::Timeout(Timeout::Handshake)),
        Err(e) => Err(e.into()),
    }
}

/// Client side of the upgrade: send `GET path` with `Host: host` (or the `Host` of
/// `options.headers`) and the engine's headers, check the `101` response and open a client
/// session. A status other than 101 is [`DriverError::Refused`] with the response; `path` must
/// start with `/` and be visible ASCII (no spaces or controls), else [`DriverError::Http`].
pub fn connect<S: Transport>(
    mut stream: S,
    host: &str,
    path: &str,
    options: &ClientOptions,
) -> Result<(WebSocket<S>, Response), DriverError> {
    let config = &options.config;
    let deadline = config.handshake_timeout.map(|t| Instant::now() + t);
    let (mut session, request) = upgrade::client_request(host, path, options)?;
    stream.set_write_timeout(config.handshake_timeout)?;
    write_head(&mut stream, &request)?;
    let (bytes, len) = match read_head(&mut stream, deadline) {
        HeadRead::Head(bytes, len) => (bytes, len),
        HeadRead::TooLarge => {
            return Err(DriverError::Http(format!(
                "response head over {MAX_HEAD_BYTES} bytes"
            )))
        }
        HeadRead::Failed(e) => return Err(e),
    };
    let (response, start) = upgrade::client_response(&mut session, &bytes, len, options)?;
    stream.set_read_timeout(None)?;
    let ws = WebSocket::from_session(stream, session, bytes[start..].to_vec(), config.clone())?;
    Ok((ws, response))
}

/// Server side of the upgrade with the defaults: [`accept_with`] accepting every valid request.
pub fn accept<S: Transport>(
    stream: S,
    options: &ServerOptions,
) -> Result<WebSocket<S>, DriverError> {
    // No callback: no owned copy of the request is made for one.
    upgrade_server(stream, options, None::<upgrade::AcceptAll>)
}

/// Server side of the upgrade: read the request (within [`Config::handshake_timeout`]), show it
/// to `decide`, validate it with the engine, answer `101` and open a server session. A refusal
/// by `decide` is answered with its status, headers and body, and returned as
/// [`DriverError::Refused`]; a malformed request gets 400 (426 for a version other than 13, 431
/// for a head over [`MAX_HEAD_BYTES`]) and [`DriverError::Http`] or [`DriverError::Ws`]. The
/// stream is shut down after every refusal.
pub fn accept_with<S, F>(
    stream: S,
    options: &ServerOptions,
    decide: F,
) -> Result<WebSocket<S>, DriverError>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, Refusal>,
{
    upgrade_server(stream, options, Some(decide))
}

/// [`accept_with`], or [`accept`] without a callback.
fn upgrade_server<S, F>(
    mut stream: S,
    options: &ServerOptions,
    decide: Option<F>,
) -> Result<WebSocket<S>, DriverError>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, Refusal>,
{
    let config = &options.config;
    let deadline = config.handshake_timeout.map(|t| Instant::now() + t);
    stream.set_write_timeout(config.handshake_timeout)?;
    let outcome = match read_head(&mut stream, deadline) {
        HeadRead::Head(bytes, len) => match upgrade::server_upgrade(&bytes, len, options, decide) {
            ServerUpgrade::Accepted {
                session,
                response,
                start,
            } => {
                write_head(&mut stream, &response)?;
                stream.set_read_timeout(None)?;
                let leftover = bytes[start..].to_vec();
                return WebSocket::from_session(stream, *session, leftover, config.clone());
            }
            refused => refused,
        },
        HeadRead::TooLarge => upgrade::head_too_large(),
        HeadRead::Failed(e) => return Err(e),
    };
    let ServerUpgrade::Refused { response, error } = outcome else {
        unreachable!("accepted upgrades returned above")
    };
    if write_head(&mut stream, &response).is_ok() {
        let _ = stream.shutdown_write();
        drain(&mut stream, DRAIN_TIME);
    }
    Err(error)
}
