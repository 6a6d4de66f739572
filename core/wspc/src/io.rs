//! The one socket driver: the action loop over any blocking `std::io::Read + Write` stream, plus
//! the HTTP/1.1 upgrade around the handshake that the engine leaves to the application.
//!
//! ```no_run
//! use std::net::TcpStream;
//! use wspc::io::{connect, ClientOptions};
//! use wspc::BufferType;
//!
//! let stream = TcpStream::connect("127.0.0.1:9001")?;
//! let (mut ws, _negotiated) = connect(stream, "127.0.0.1:9001", "/", &ClientOptions::default())?;
//! ws.send(BufferType::Utf8Message, b"hello")?;
//! let piece = ws.receive()?;
//! println!("{:?}: {:?}", piece.buffer_type, piece.data);
//! # Ok::<(), wspc::io::DriverError>(())
//! ```
//!
//! The upgrade reads the request or response head with one linear scan for the blank line, capped
//! at [`MAX_HEAD_BYTES`] bytes and [`MAX_HEADER_COUNT`]
//! headers, then parses it once with `httparse`. Bytes that arrive after the head are fed to the
//! session before any further read.

use crate::close::CloseStatus;
use crate::error::Error;
use crate::handshake::{HeaderRef, Negotiated, MAX_HEADER_BYTES, MAX_HEADER_COUNT};
use crate::properties::Property;
use crate::session::action::{Action, ActionId, BufferType, Queue};
use crate::session::Session;
use core::fmt;
use std::io::{self, IoSlice, Read, Write};

/// The cap on the bytes of an HTTP request or response head (request or status line, headers and
/// line ends). A longer head is refused with [`DriverError::Http`].
pub const MAX_HEAD_BYTES: usize = MAX_HEADER_BYTES + 4096;

/// What can go wrong in the driver.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverError {
    /// The transport failed.
    Io(io::Error),
    /// The engine refused (a protocol error from the peer, a handshake failure, or misuse).
    Ws(Error),
    /// The HTTP upgrade failed before the engine saw it: the text says why (for a client, a
    /// status other than 101 is reported here with its code).
    Http(String),
    /// The peer closed the transport.
    Closed,
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Ws(e) => write!(f, "{e}"),
            Self::Http(why) => write!(f, "HTTP upgrade failed: {why}"),
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

/// Settings of [`connect`].
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Handle properties.
    pub properties: Vec<Property>,
    /// Subprotocols to offer.
    pub subprotocols: Vec<String>,
    /// Extensions to offer.
    pub extensions: Vec<String>,
    /// More headers for the GET request (for example `Origin`).
    pub headers: Vec<(String, String)>,
}

/// Settings of [`accept`].
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Handle properties.
    pub properties: Vec<Property>,
    /// Subprotocols this server speaks, in order of preference: the first one the client offers
    /// is selected.
    pub subprotocols: Vec<String>,
}

/// One piece handed out by [`WebSocket::receive`], valid until the next call on the socket.
#[derive(Debug)]
pub struct Piece<'a> {
    /// `*_FRAGMENT`, `*_MESSAGE`, `PingPong` (a pong arrived) or `Close`.
    pub buffer_type: BufferType,
    /// The bytes of the piece, the pong payload, or the close reason.
    pub data: &'a [u8],
    /// For `Close`: the status (1005 if the frame had none, 1006 if the stream ended without one).
    pub close_status: Option<CloseStatus>,
}

/// A WebSocket over a blocking stream: a [`Session`] and the loop that serves its actions.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    session: Session,
    /// Bytes read past the HTTP head, served before the stream is read again.
    leftover: Vec<u8>,
    leftover_at: usize,
    /// A received piece handed to the caller, completed on the next call.
    held: Option<ActionId>,
    /// Reused copy of outgoing payloads, so `send` allocates nothing once warm.
    spare: Vec<u8>,
}

impl<S: Read + Write> WebSocket<S> {
    /// Drive an open `session` over `stream`; `leftover` are bytes already read from the stream
    /// that belong to the WebSocket connection.
    pub fn from_session(stream: S, session: Session, leftover: Vec<u8>) -> Self {
        Self {
            stream,
            session,
            leftover,
            leftover_at: 0,
            held: None,
            spare: Vec::new(),
        }
    }

    /// The engine.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Send one frame of `buffer_type` with a copy of `data` (empty for `PingPong` and
    /// `UnsolicitedPong`), and return once it is written. Automatic pongs that are due go out
    /// first.
    pub fn send(&mut self, buffer_type: BufferType, data: &[u8]) -> Result<(), DriverError> {
        let mut buf = core::mem::take(&mut self.spare);
        buf.clear();
        buf.extend_from_slice(data);
        let payload = (!matches!(
            buffer_type,
            BufferType::PingPong | BufferType::UnsolicitedPong
        ))
        .then_some(buf);
        self.release_held()?;
        self.session.send(buffer_type, payload, ())?;
        if let Some(b) = self.run_until_sent()? {
            self.spare = b;
        }
        Ok(())
    }

    /// Send `data` without copying it (zero-copy on a server), returning the buffer once written.
    pub fn send_vec(
        &mut self,
        buffer_type: BufferType,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, DriverError> {
        self.release_held()?;
        self.session.send(buffer_type, Some(data), ())?;
        Ok(self.run_until_sent()?.unwrap_or_default())
    }

    /// Send a close frame with `status` and `reason` (at most 123 bytes of UTF-8).
    pub fn close(&mut self, status: CloseStatus, reason: &str) -> Result<(), DriverError> {
        self.release_held()?;
        let reason = (!reason.is_empty()).then(|| reason.as_bytes().to_vec());
        self.session.send_close(status, reason, ())?;
        self.run_until_sent()?;
        Ok(())
    }

    /// Send a close frame without a body (the peer sees 1005).
    pub fn close_empty(&mut self) -> Result<(), DriverError> {
        self.release_held()?;
        self.session.send(BufferType::Close, None, ())?;
        self.run_until_sent()?;
        Ok(())
    }

    /// Fail the connection the RFC way after `error`: send a close frame with the status it
    /// carries (if any, and if no close was sent yet), then abort. Errors while doing so are
    /// ignored: the connection is being dropped anyway.
    pub fn fail(&mut self, error: &Error) {
        if let Some(status) = error.close_status() {
            if !self.session.close_sent() && self.session.send_close(status, None, ()).is_ok() {
                let _ = self.run_until_sent();
            }
        }
        self.abort();
    }

    /// Abort the session and drain every queued operation (no more network I/O).
    pub fn abort(&mut self) {
        self.held = None;
        self.session.abort();
        // Outstanding actions were all completed by the loop; draining yields completions only.
        while let Ok(action) = self.session.get_action(Queue::All) {
            let Some(id) = action.id() else { break };
            if self.session.complete_action(id, 0).is_err() {
                break;
            }
        }
    }

    /// Receive the next piece: a part of a message (`*_FRAGMENT` or the final `*_MESSAGE`), a pong
    /// (`PingPong`) or a close (`Close`). Pings are answered on the way. A protocol error comes
    /// back as `DriverError::Ws`: call [`fail`](Self::fail) with it.
    pub fn receive(&mut self) -> Result<Piece<'_>, DriverError> {
        self.release_held()?;
        self.session.receive(())?;
        let id = self.run(None)?.ok_or(DriverError::Closed)?;
        self.held = Some(id);
        match self.session.outstanding_action(id) {
            Some(Action::IndicateReceiveComplete(a)) => Ok(Piece {
                buffer_type: a.buffer_type,
                data: a.data,
                close_status: a.close_status,
            }),
            _ => Err(DriverError::Closed),
        }
    }

    /// Write every due automatic pong and finish every queued send.
    pub fn flush(&mut self) -> Result<(), DriverError> {
        self.release_held()?;
        self.run_until_sent().map(drop)
    }

    /// Give back the stream.
    pub fn into_inner(self) -> S {
        self.stream
    }

    fn release_held(&mut self) -> Result<(), DriverError> {
        if let Some(id) = self.held.take() {
            self.session.complete_action(id, 0)?;
        }
        Ok(())
    }

    fn run_until_sent(&mut self) -> Result<Option<Vec<u8>>, DriverError> {
        let mut returned = None;
        self.run(Some(&mut returned))?;
        Ok(returned)
    }

    /// Serve actions on the all-queue. With `sent`, run until no action is left (every send
    /// done; the last send's buffer is stored in it). Without, run until a receive completes and
    /// return its action id, holding it.
    fn run(
        &mut self,
        mut sent: Option<&mut Option<Vec<u8>>>,
    ) -> Result<Option<ActionId>, DriverError> {
        loop {
            let (id, result) = match self.session.get_action(Queue::All)? {
                Action::NoAction => return Ok(None),
                Action::SendToNetwork(a) => {
                    let total = a.total_len();
                    let written = write_all_bufs(&mut self.stream, a.buffers());
                    (a.id, written.map(|()| total))
                }
                Action::ReceiveFromNetwork(a) => {
                    let n = if self.leftover_at < self.leftover.len() {
                        let rest = &self.leftover[self.leftover_at..];
                        let n = rest.len().min(a.buffer.len());
                        a.buffer[..n].copy_from_slice(&rest[..n]);
                        self.leftover_at += n;
                        Ok(n)
                    } else {
                        read_retrying(&mut self.stream, a.buffer)
                    };
                    (a.id, n)
                }
                Action::IndicateSendComplete(a) => (a.id, Ok(0)),
                Action::IndicateReceiveComplete(a) if sent.is_none() => return Ok(Some(a.id)),
                Action::IndicateReceiveComplete(a) => (a.id, Ok(0)),
            };
            match result {
                Ok(n) => {
                    if let Some(done) = self.session.complete_action(id, n)? {
                        if let (Some(slot), Some(buf)) = (sent.as_deref_mut(), done.buffer) {
                            *slot = Some(buf);
                        }
                    }
                }
                Err(e) => {
                    // Complete the action as cancelled so the session stays consistent.
                    let _ = self.session.complete_action(id, 0);
                    return Err(e.into());
                }
            }
        }
    }
}

fn read_retrying<S: Read>(stream: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn write_all_bufs<S: Write>(stream: &mut S, bufs: &[&[u8]]) -> io::Result<()> {
    let mut slices = [IoSlice::new(&[]), IoSlice::new(&[])];
    for (slot, b) in slices.iter_mut().zip(bufs) {
        *slot = IoSlice::new(b);
    }
    let mut slices = &mut slices[..bufs.len()];
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match stream.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    stream.flush()
}

/// Read an HTTP head: bytes up to and including the first blank line, scanning each byte once.
/// Returns the head length and the buffer (which may hold bytes past the head). The buffer grows
/// by doubling and each byte of it is zeroed once, so a peer sending a byte per read costs work
/// linear in the head, not a zeroed read buffer per byte.
fn read_head<S: Read>(stream: &mut S) -> Result<(usize, Vec<u8>), DriverError> {
    let mut buf = vec![0; 1024];
    let mut filled = 0;
    let mut scanned: usize = 0;
    loop {
        // Resume the search three bytes back so a terminator split across reads is found.
        let from = scanned.saturating_sub(3);
        if let Some(pos) = buf[from..filled]
            .windows(4)
            .position(|w| matches!(w, [b'\r', b'\n', b'\r', b'\n']))
        {
            buf.truncate(filled);
            return Ok((from + pos + 4, buf));
        }
        scanned = filled;
        if filled >= MAX_HEAD_BYTES {
            return Err(DriverError::Http(format!(
                "head over {MAX_HEAD_BYTES} bytes"
            )));
        }
        if filled == buf.len() {
            buf.resize((2 * buf.len()).min(MAX_HEAD_BYTES), 0);
        }
        let n = read_retrying(stream, &mut buf[filled..])?;
        if n == 0 {
            return Err(DriverError::Closed);
        }
        filled += n;
    }
}

fn header_refs<'a>(headers: &[httparse::Header<'a>]) -> Vec<HeaderRef<'a>> {
    headers
        .iter()
        .map(|h| HeaderRef {
            name: h.name.as_bytes(),
            value: h.value,
        })
        .collect()
}

fn write_head<S: Write>(
    stream: &mut S,
    first_line: &str,
    headers: &[(&str, &str)],
) -> io::Result<()> {
    let mut head = String::with_capacity(256);
    head.push_str(first_line);
    head.push_str("\r\n");
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()
}

/// Client side of the upgrade: send `GET path` with `Host: host` and the engine's headers, check
/// the `101` response and open a client session.
pub fn connect<S: Read + Write>(
    mut stream: S,
    host: &str,
    path: &str,
    options: &ClientOptions,
) -> Result<(WebSocket<S>, Negotiated), DriverError> {
    let mut session = Session::client(&options.properties)?;
    let subprotocols: Vec<&str> = options.subprotocols.iter().map(String::as_str).collect();
    let extensions: Vec<&str> = options.extensions.iter().map(String::as_str).collect();
    let mut initial = vec![HeaderRef {
        name: b"Host",
        value: host.as_bytes(),
    }];
    initial.extend(options.headers.iter().map(|(n, v)| HeaderRef {
        name: n.as_bytes(),
        value: v.as_bytes(),
    }));
    let added = session.begin_client_handshake(&subprotocols, &extensions, &initial)?;
    let mut lines: Vec<(&str, &str)> = vec![("Host", host)];
    lines.extend(
        options
            .headers
            .iter()
            .filter(|(n, _)| !added.iter().any(|a| a.name.eq_ignore_ascii_case(n)))
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    lines.extend(added.iter().map(|h| (h.name.as_str(), h.value.as_str())));
    write_head(&mut stream, &format!("GET {path} HTTP/1.1"), &lines)?;

    let (len, buf) = read_head(&mut stream)?;
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADER_COUNT];
    let mut response = httparse::Response::new(&mut storage);
    // `httparse` may end the head earlier than our CRLF CRLF search (at an empty line ended by a
    // bare LF): what follows its end belongs to the WebSocket stream.
    let len = match response.parse(&buf[..len]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(DriverError::Http("incomplete response head".into()))
        }
        Err(e) => return Err(DriverError::Http(format!("bad response head: {e}"))),
    };
    if response.code != Some(101) {
        return Err(DriverError::Http(format!(
            "status {} instead of 101",
            response.code.unwrap_or(0)
        )));
    }
    let negotiated = session.end_client_handshake(&header_refs(response.headers))?;
    let leftover = buf[len..].to_vec();
    Ok((
        WebSocket::from_session(stream, session, leftover),
        negotiated,
    ))
}

/// Server side of the upgrade: read the request, validate it with the engine, answer `101` (or
/// `400`/`426` with the reason, then fail) and open a server session.
pub fn accept<S: Read + Write>(
    mut stream: S,
    options: &ServerOptions,
) -> Result<WebSocket<S>, DriverError> {
    let (len, buf) = read_head(&mut stream)?;
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADER_COUNT];
    let mut request = httparse::Request::new(&mut storage);
    let refused = |stream: &mut S, status: &str, extra: &[(&str, &str)], why: String| {
        let _ = write_head(
            stream,
            &format!("HTTP/1.1 {status}"),
            &[extra, &[("Content-Length", "0")]].concat(),
        );
        DriverError::Http(why)
    };
    // As in `connect`: the head ends where `httparse` says.
    let len = match request.parse(&buf[..len]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(refused(
                &mut stream,
                "400 Bad Request",
                &[],
                "incomplete request head".into(),
            ))
        }
        Err(e) => {
            return Err(refused(
                &mut stream,
                "400 Bad Request",
                &[],
                format!("bad request head: {e}"),
            ))
        }
    };
    // RFC 6455 §4.1: the opening handshake is an HTTP/1.1 (or later) GET.
    if request.method != Some("GET") || request.version != Some(1) {
        return Err(refused(
            &mut stream,
            "400 Bad Request",
            &[],
            "not an HTTP/1.1 GET".into(),
        ));
    }
    let headers = header_refs(request.headers);
    let offered = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(b"sec-websocket-protocol"))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .map(|t| t.trim_ascii())
        .collect::<Vec<_>>();
    let selected = options
        .subprotocols
        .iter()
        .find(|p| offered.contains(&p.as_bytes()))
        .map(String::as_str);
    let mut session = Session::server(&options.properties)?;
    let added = match session.begin_server_handshake(selected, &[], &headers) {
        Ok(added) => added,
        Err(e @ Error::Handshake(crate::HandshakeError::UnsupportedVersion)) => {
            // RFC 6455 §4.4: answer 426 with the versions we speak.
            return Err(refused(
                &mut stream,
                "426 Upgrade Required",
                &[("Sec-WebSocket-Version", "13")],
                e.to_string(),
            ));
        }
        Err(e) => return Err(refused(&mut stream, "400 Bad Request", &[], e.to_string())),
    };
    let lines: Vec<(&str, &str)> = added
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect();
    write_head(&mut stream, "HTTP/1.1 101 Switching Protocols", &lines)?;
    session.end_server_handshake()?;
    let leftover = buf[len..].to_vec();
    Ok(WebSocket::from_session(stream, session, leftover))
}
