//! The session: one state machine per handle, its queues and its memory block.
//!
//! Methods fall into four groups (as in quinn-proto):
//! - construction: [`Session::client`], [`Session::server`], [`Session::with_block`];
//! - handshake: `begin_*`/`end_*`;
//! - application input: [`Session::send`], [`Session::send_close`], [`Session::receive`],
//!   [`Session::receive_into`], [`Session::abort`];
//! - the action loop: [`Session::get_action`] then, after the I/O, [`Session::complete_action`].
//!
//! The memory block is carved once and never reallocated:
//! `[receive buffer | frame header (16) | send buffer | pong payload (128)]`.
//!
//! # State
//!
//! Each fact lives in one place, as an enum whose variants are the states that can happen:
//! - `Phase`, the life cycle (spec §6): `Created → ClientHandshake | ServerHandshake → Open →
//!   Aborted`. An abort (by the caller, or by end of stream) stops all network actions.
//! - `CloseState`, the closing handshake (RFC 6455 §7, after wsproto's `ConnectionState`):
//!   `Open`, then `LocalClosing` (our close is queued) or `RemoteClosing` (the peer's close was
//!   read), then `Closed` (both); or `Failed` once the peer broke RFC 6455, holding the
//!   `ProtocolError` for good and whether our close is queued. It is kept apart from `Phase`
//!   because neither closing direction stops the other, and an abort stops the I/O but keeps what
//!   the closing handshake had reached (the getters still report it).
//! - the send side (send.rs): each queued send's `Progress` (`Queued → Header → Payload → Done`),
//!   the open outgoing message (`Option<DataKind>`), the automatic pong, and `broken` (a
//!   cancelled write left a partial frame on the wire, §9 Q13: nothing more may be written);
//! - the receive side (recv.rs): the parser over the receive buffer, the frame being read and the
//!   open incoming message (its kind and, if compressed, where its decompression stands);
//! - permessage-deflate (deflate.rs, RFC 7692): `codec`, `Some` once the handshake agreed on it
//!   (wspc's own property, cargo feature `deflate`), owning the compressor, the decompressor and
//!   their two buffers; the send and receive sides call it as frames start and as compressed
//!   payload arrives;
//! - the outstanding actions, one per `Slot`, each kept as the `Plan` it was issued from.

pub mod action;
mod deflate;
mod fifo;
mod recv;
mod send;

use crate::close::CloseStatus;
use crate::error::{Error, Misuse, PropertyError, ProtocolError};
use crate::handshake::{self, client::ClientHandshake, Header, HeaderRef, Negotiated};
use crate::properties::{Properties, Property, Role};
use action::{
    Action, ActionId, BufferType, Completed, IndicateReceiveComplete, IndicateSendComplete, Queue,
    ReceiveFromNetwork, SendToNetwork,
};
use deflate::Codec;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use recv::RecvSide;
use send::SendSide;

/// Memory that a session may use as its block, as a send payload, and as a receive target.
///
/// Every owned byte storage with `AsRef<[u8]> + AsMut<[u8]>` (`Vec<u8>`, `Box<[u8]>`, arrays)
/// is one. The engine only ever borrows the ranges it works on, never the whole block at once,
/// so a type over raw memory (as in the C ABI) can hand other ranges of the same block to
/// another thread for I/O while the session is in use.
pub trait Buffer {
    /// Length in bytes.
    fn len(&self) -> usize;
    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes of `range` (which lies within `0..len()`).
    fn bytes(&self, range: core::ops::Range<usize>) -> &[u8];
    /// The bytes of `range`, writable.
    fn bytes_mut(&mut self, range: core::ops::Range<usize>) -> &mut [u8];
    /// The address of the first byte (the block must be 8-byte aligned).
    fn addr(&self) -> usize;
}

impl<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized> Buffer for T {
    fn len(&self) -> usize {
        self.as_ref().len()
    }
    fn bytes(&self, range: core::ops::Range<usize>) -> &[u8] {
        &self.as_ref()[range]
    }
    fn bytes_mut(&mut self, range: core::ops::Range<usize>) -> &mut [u8] {
        &mut self.as_mut()[range]
    }
    fn addr(&self) -> usize {
        self.as_ref().as_ptr() as usize
    }
}

const HEADER_AREA: usize = 16;
const PONG_AREA: usize = 128;
const _: () = assert!(HEADER_AREA + PONG_AREA == crate::properties::ALLOCATED_BUFFER_OVERHEAD);

/// The life cycle (spec §6). The closing handshake is [`CloseState`], apart: see the module docs.
#[derive(Debug)]
enum Phase {
    /// Made; no handshake begun.
    Created,
    /// `begin_client_handshake` returned the request headers; the response is awaited.
    ClientHandshake(Box<ClientHandshake>),
    /// `begin_server_handshake` returned the response headers; `end_server_handshake` (or the
    /// first session call) opens the session.
    ServerHandshake,
    /// The handshake is complete: frames flow.
    Open,
    /// Aborted by the caller or by end of stream: no more network actions; queued operations
    /// drain as completions.
    Aborted,
}

/// The closing handshake (RFC 6455 §7.1), as wsproto's `ConnectionState` tells it: who has
/// closed, and whether the peer broke the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseState {
    /// Neither close frame yet.
    Open,
    /// Our close is queued (it may still be on its way); the peer's has not been read. Only
    /// pings and pongs may still be sent (RFC 6455 §5.5.1); automatic pongs stop.
    LocalClosing,
    /// The peer's close frame was read (its receive handed out); ours is not queued. Receives
    /// stop; sends go on so that a close can answer it (RFC 6455 §5.5.1).
    RemoteClosing,
    /// Both close frames: ours queued, the peer's read.
    Closed,
    /// The peer broke RFC 6455 (§7.1.7 _Fail the WebSocket Connection_): receiving stopped on
    /// `error`, which every later receive returns. Only a close may still be sent (§9 Q18), to
    /// fail the connection the RFC way; `close_sent` tells whether ours is queued.
    Failed {
        /// The sticky fault.
        error: ProtocolError,
        /// Our close is queued (before or after the fault).
        close_sent: bool,
    },
}

impl CloseState {
    /// True once our close is queued.
    const fn sent(self) -> bool {
        matches!(
            self,
            Self::LocalClosing
                | Self::Closed
                | Self::Failed {
                    close_sent: true,
                    ..
                }
        )
    }

    /// True once the peer's close frame has been read.
    const fn received(self) -> bool {
        matches!(self, Self::RemoteClosing | Self::Closed)
    }

    /// The protocol error the receive side stopped on, if any.
    const fn fault(self) -> Option<ProtocolError> {
        match self {
            Self::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Our close was queued (`send_close`, or `send` of a `Close`; refused when already sent).
    fn queue_close(&mut self) {
        *self = match *self {
            Self::Open | Self::LocalClosing => Self::LocalClosing,
            Self::RemoteClosing | Self::Closed => Self::Closed,
            Self::Failed { error, .. } => Self::Failed {
                error,
                close_sent: true,
            },
        };
    }

    /// The peer's close frame was read. The parser stops after it and never runs after a
    /// fault, so this comes from `Open` or `LocalClosing`.
    fn receive_close(&mut self) {
        *self = match *self {
            Self::Open | Self::RemoteClosing => Self::RemoteClosing,
            Self::LocalClosing | Self::Closed => Self::Closed,
            failed @ Self::Failed { .. } => failed,
        };
    }

    /// The peer broke RFC 6455: the error sticks (the parser never runs again).
    fn fail(&mut self, error: ProtocolError) {
        *self = Self::Failed {
            error,
            close_sent: self.sent(),
        };
    }
}

/// The kind of a data message (RFC 6455 §5.6), fixed by its first frame; continuation frames
/// and the `*_FRAGMENT`/`*_MESSAGE` buffer types of its pieces follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataKind {
    /// Opcode 0x1: UTF-8 text.
    Text,
    /// Opcode 0x2: binary data.
    Binary,
}

impl DataKind {
    /// The buffer type of a piece of a message of this kind: `*_MESSAGE` for the piece that ends
    /// it, `*_FRAGMENT` before.
    const fn buffer_type(self, last: bool) -> BufferType {
        match (self, last) {
            (Self::Text, true) => BufferType::Utf8Message,
            (Self::Text, false) => BufferType::Utf8Fragment,
            (Self::Binary, true) => BufferType::BinaryMessage,
            (Self::Binary, false) => BufferType::BinaryFragment,
        }
    }
}

/// Which queue an outstanding action belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// The application's sends.
    Send = 0,
    /// Network reads and receive completions.
    Receive = 1,
    /// An automatic pong (on the receive queue, but a write: it may go out while a read waits).
    Pong = 2,
}

/// An action handed out and not yet completed: its id and the plan it was made from (which also
/// tells `complete_action` what the completion means).
#[derive(Clone, Copy, Debug)]
struct Outstanding {
    id: u64,
    plan: Plan,
}

/// A WebSocket handle: the sans-IO engine of one connection.
///
/// `B` is the storage type for the memory block, send payloads and caller receive buffers (default
/// `Vec<u8>`); `C` is the per-operation context handed back with each completion (default `()`).
pub struct Session<B: Buffer = Vec<u8>, C = ()> {
    role: Role,
    props: Properties,
    block: B,
    rng: StdRng,
    phase: Phase,
    close: CloseState,
    send: SendSide<B, C>,
    recv: RecvSide<B, C>,
    /// permessage-deflate, once agreed (always `None` without the cargo feature `deflate`).
    codec: Option<Box<Codec>>,
    next_id: u64,
    outstanding: [Option<Outstanding>; 3],
}

impl<B: Buffer, C> core::fmt::Debug for Session<B, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("props", &self.props)
            .field("phase", &self.phase)
            .field("close", &self.close)
            .field("outstanding", &self.outstanding)
            .finish_non_exhaustive()
    }
}

impl<C> Session<Vec<u8>, C> {
    /// `WebSocketCreateClientHandle`: a client handle with the given properties (defaults for the
    /// rest); the block is allocated here, once.
    pub fn client(properties: &[Property]) -> Result<Self, Error> {
        Self::new(Role::Client, properties)
    }

    /// `WebSocketCreateServerHandle`: a server handle.
    pub fn server(properties: &[Property]) -> Result<Self, Error> {
        Self::new(Role::Server, properties)
    }

    /// A handle of either role with an allocated block. Its masking keys and handshake nonce
    /// come from a generator seeded from the thread's own (`rand::rng()`, a cryptographically
    /// secure generator seeded from the operating system and reseeded as it goes), not from the
    /// operating system directly: a system call per handle was a sixth of a server's upgrade.
    pub fn new(role: Role, properties: &[Property]) -> Result<Self, Error> {
        let props = Properties::from_list(role, properties)?;
        Self::with_block(
            role,
            props,
            vec![0; props.block_size()],
            StdRng::from_rng(&mut rand::rng()),
        )
    }
}

impl<B: Buffer, C> Session<B, C> {
    /// A handle whose internal buffers are carved from `block` (the `ALLOCATED_BUFFER` property):
    /// it must be 8-byte aligned and hold at least [`Properties::block_size`] bytes, else
    /// [`PropertyError::BadAllocatedBuffer`]. Every buffer handed out by `get_action`, other than
    /// the caller's own payloads and receive buffers, lies inside it. Masking keys and handshake
    /// nonces come from `rng` (seed it for reproducible tests; use `StdRng::from_os_rng` otherwise).
    pub fn with_block(role: Role, props: Properties, block: B, rng: StdRng) -> Result<Self, Error> {
        props.validate()?;
        if block.len() < props.block_size() || !block.addr().is_multiple_of(8) {
            return Err(PropertyError::BadAllocatedBuffer {
                needed: props.block_size(),
                given: block.len(),
            }
            .into());
        }
        Ok(Self {
            role,
            props,
            block,
            rng,
            phase: Phase::Created,
            close: CloseState::Open,
            send: SendSide::new(),
            recv: RecvSide::new(),
            codec: None,
            next_id: 0,
            outstanding: [None, None, None],
        })
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The properties in force.
    pub fn properties(&self) -> &Properties {
        &self.props
    }

    /// True once the handshake is complete (and until an abort).
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open)
    }

    /// True after an abort (by the caller, or by end of stream).
    pub fn is_aborted(&self) -> bool {
        matches!(self.phase, Phase::Aborted)
    }

    /// True once a close frame from the peer has been delivered by a receive.
    pub fn close_received(&self) -> bool {
        self.close.received()
    }

    /// True once a close frame has been queued by `send_close` or `send(Close, ..)`.
    pub fn close_sent(&self) -> bool {
        self.close.sent()
    }

    /// The protocol error the receive side stopped on, if any.
    pub fn fault(&self) -> Option<ProtocolError> {
        self.close.fault()
    }

    /// What the handshake agreed for permessage-deflate (RFC 7692), seen from this side; `None`
    /// when [`Properties::permessage_deflate`] is off, the peer did not offer or accept it, or
    /// the handshake has not got that far.
    #[cfg(feature = "deflate")]
    pub fn permessage_deflate(&self) -> Option<crate::deflate::Params> {
        self.codec.as_ref().map(|c| c.params())
    }

    /// permessage-deflate was agreed: data frames carry compressed payloads.
    pub(crate) fn compresses(&self) -> bool {
        self.codec.is_some()
    }

    fn rbs(&self) -> usize {
        self.props.receive_buffer_size as usize
    }

    fn sbs(&self) -> usize {
        self.props.send_buffer_size as usize
    }

    /// Where the send buffer starts; the header area ends here, so a header written flush
    /// against its end and a masked chunk at the start of the send buffer are one contiguous
    /// buffer (used to coalesce them when the caller takes one buffer at a time, §9 Q5).
    fn send_at(&self) -> usize {
        self.rbs() + HEADER_AREA
    }

    fn pong_at(&self) -> usize {
        self.send_at() + self.sbs()
    }

    fn masking(&self) -> bool {
        self.role == Role::Client && !self.props.disable_masking
    }

    // ----- handshake -------------------------------------------------------------------------

    /// `WebSocketBeginClientHandshake`: returns the headers to add to the GET request. Client
    /// handles only, once ([`Misuse::InvalidState`] otherwise). Next: send the request, then call
    /// [`end_client_handshake`](Self::end_client_handshake) with the response headers.
    ///
    /// With `Properties::permessage_deflate` set (cargo feature `deflate`), the
    /// `Sec-WebSocket-Extensions` header also offers permessage-deflate, after the application's
    /// `extensions` (which must not name it: [`Misuse::InvalidArgument`]); without it, no offer
    /// is made and the header is exactly as websocket.dll's.
    #[must_use = "the headers must go into the request"]
    pub fn begin_client_handshake(
        &mut self,
        subprotocols: &[&str],
        extensions: &[&str],
        initial_headers: &[HeaderRef<'_>],
    ) -> Result<Vec<Header>, Error> {
        if self.role != Role::Client {
            return Err(Error::state("client handshake on a server handle"));
        }
        if !matches!(self.phase, Phase::Created) {
            return Err(Error::state("client handshake already begun"));
        }
        // permessage-deflate, when enabled, is offered after the application's extensions.
        let offer = self.deflate_offer(extensions)?;
        let mut offered = extensions.to_vec();
        offered.extend(offer.as_deref());
        let mut nonce = [0u8; 16];
        self.rng.fill_bytes(&mut nonce);
        let (hs, headers) = ClientHandshake::begin(nonce, subprotocols, &offered, initial_headers)?;
        self.phase = Phase::ClientHandshake(Box::new(hs));
        Ok(headers)
    }

    /// The permessage-deflate offer of a client whose property enables it (the application's
    /// `extensions` must not name it: [`Misuse::InvalidArgument`]).
    fn deflate_offer(&self, extensions: &[&str]) -> Result<Option<String>, Error> {
        #[cfg(feature = "deflate")]
        if let Some(config) = &self.props.permessage_deflate {
            return handshake::deflate::client_offer(config, extensions).map(Some);
        }
        #[cfg(not(feature = "deflate"))]
        let _ = extensions;
        Ok(None)
    }

    /// permessage-deflate was agreed: the codec is allocated, and the receive side lets RSV1
    /// mark compressed messages.
    #[cfg(feature = "deflate")]
    fn agree_deflate(
        &mut self,
        params: crate::deflate::Params,
        config: &crate::deflate::DeflateConfig,
    ) {
        self.codec = Some(Box::new(Codec::new(params, config, self.rbs())));
        self.recv.allow_rsv(crate::frame::RSV1);
    }

    /// `WebSocketEndClientHandshake`: validates the response headers (the caller checked the
    /// status is 101) and opens the session. Returns the indices of the selected subprotocol and
    /// extensions. On error the handle stays in the handshake phase; delete it.
    ///
    /// With `Properties::permessage_deflate` set (cargo feature `deflate`), the server's
    /// permessage-deflate answer, if any, is checked against the offer (an answer that does not
    /// honour it is
    /// [`HandshakeError::ExtensionNotSupported`](crate::HandshakeError::ExtensionNotSupported),
    /// or `Malformed` for its syntax) and, when accepted, turns compression on; the extension
    /// indices returned are the application's own, never permessage-deflate's.
    pub fn end_client_handshake(
        &mut self,
        response_headers: &[HeaderRef<'_>],
    ) -> Result<Negotiated, Error> {
        let Phase::ClientHandshake(hs) = &self.phase else {
            return Err(Error::state("client handshake not begun"));
        };
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut negotiated = hs.end(response_headers)?;
        #[cfg(feature = "deflate")]
        if let Some(config) = self.props.permessage_deflate {
            // Our offer was the last extension offered: its index is not the application's.
            let ours = hs.extensions().len() - 1;
            negotiated.extensions.retain(|&i| i != ours);
            if let Some(params) = handshake::deflate::client_agreed(&config, response_headers)? {
                self.agree_deflate(params, &config);
            }
        }
        self.phase = Phase::Open;
        Ok(negotiated)
    }

    /// `WebSocketBeginServerHandshake`: validates the request headers and returns the headers to
    /// add to the `101` response. Server handles only, once. A version other than 13 is
    /// [`HandshakeError::UnsupportedVersion`](crate::HandshakeError::UnsupportedVersion): answer
    /// 426 with `Sec-WebSocket-Version: 13`.
    ///
    /// With `Properties::permessage_deflate` set (cargo feature `deflate`), the first acceptable
    /// permessage-deflate offer of the request is accepted (none acceptable: no compression, and
    /// no error) and its answer appended to the response's `Sec-WebSocket-Extensions`, after the
    /// application's selected `extensions` (which must not name permessage-deflate:
    /// [`Misuse::InvalidArgument`]).
    #[must_use = "the headers must go into the 101 response"]
    pub fn begin_server_handshake(
        &mut self,
        subprotocol: Option<&str>,
        extensions: &[&str],
        request_headers: &[HeaderRef<'_>],
    ) -> Result<Vec<Header>, Error> {
        if self.role != Role::Server {
            return Err(Error::state("server handshake on a client handle"));
        }
        if !matches!(self.phase, Phase::Created) {
            return Err(Error::state("server handshake already begun"));
        }
        #[cfg(feature = "deflate")]
        if self.props.permessage_deflate.is_some() {
            handshake::deflate::check_not_named(extensions)?;
        }
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut headers = handshake::server::accept(subprotocol, extensions, request_headers)?;
        #[cfg(feature = "deflate")]
        if let Some(config) = self.props.permessage_deflate {
            let agreed = handshake::deflate::server_agree(&config, request_headers, &mut headers)?;
            if let Some(params) = agreed {
                self.agree_deflate(params, &config);
            }
        }
        self.phase = Phase::ServerHandshake;
        Ok(headers)
    }

    /// `WebSocketEndServerHandshake`: opens the session. Optional: the first session call does it.
    pub fn end_server_handshake(&mut self) -> Result<(), Error> {
        match self.phase {
            Phase::ServerHandshake => {
                self.phase = Phase::Open;
                Ok(())
            }
            _ => Err(Error::state("server handshake not begun")),
        }
    }

    /// Opens a new session as if its handshake had succeeded, negotiating nothing. Only for the
    /// fuzz harnesses, through [`crate::fuzz_bridge::open`]: the handshake has targets of its own.
    pub(crate) fn open_without_handshake(&mut self) {
        if matches!(self.phase, Phase::Created) {
            self.phase = Phase::Open;
        }
    }

    /// True while an automatic pong is owed or part-way written: only then can the receive
    /// queue hand out a write while a receive is outstanding. The drivers ask this before
    /// asking [`get_action`](Self::get_action) for it, which costs more.
    pub(crate) fn owes_pong(&self) -> bool {
        self.send.pong.is_some()
    }

    /// True while sends are queued: only then does the send queue hand out anything (a write
    /// or a completion). As [`owes_pong`](Self::owes_pong), a cheap check for the drivers.
    pub(crate) fn sends_queued(&self) -> bool {
        self.send.front().is_some()
    }

    /// Payload bytes of the incoming frame still to arrive after the pieces delivered so far (0
    /// between frames; for a compressed message, compressed bytes): what the peer announced, so
    /// a hint only, for a driver sizing a message buffer once instead of growing it.
    pub(crate) fn frame_remaining(&self) -> u64 {
        self.recv.frame_remaining()
    }

    /// Session calls need the handshake done; a begun server handshake ends implicitly.
    fn ensure_session(&mut self) -> Result<(), Error> {
        match self.phase {
            Phase::Open | Phase::Aborted => Ok(()),
            Phase::ServerHandshake => {
                self.phase = Phase::Open;
                Ok(())
            }
            Phase::Created | Phase::ClientHandshake(_) => {
                Err(Error::state("handshake not complete"))
            }
        }
    }

    // ----- application input -----------------------------------------------------------------

    /// `WebSocketSend` for data, `PingPong` (an empty ping) and `UnsolicitedPong` (an empty pong),
    /// and `Close` without a body (`payload` must be `None`; use
    /// [`send_close`](Self::send_close) for a status). The payload is not copied: it is returned by
    /// `complete_action` of the `IndicateSendComplete`. One call sends one frame. (With
    /// permessage-deflate agreed, a data frame's payload is compressed, into the session's own
    /// buffer, when the frame starts; the caller's buffer is returned untouched all the same.)
    ///
    /// Errors: [`Misuse::InvalidState`] before the handshake, after an abort or a cancelled send,
    /// for anything but a close after a protocol error, for data after a close, and for switching
    /// between text and binary inside a message;
    /// [`Misuse::InvalidArgument`] for a payload with a control type.
    pub fn send(
        &mut self,
        buffer_type: BufferType,
        payload: Option<B>,
        context: C,
    ) -> Result<(), Error> {
        self.check_can_send(buffer_type)?;
        self.send
            .enqueue(&mut self.close, buffer_type, payload, None, false, context)
    }

    /// `WebSocketSend` of a close frame with `status` and an optional UTF-8 `reason` of at most 123
    /// bytes. `status` must be valid on the wire (see [`CloseStatus::is_valid_on_wire`]), else
    /// [`Misuse::InvalidArgument`]. Allowed after a protocol error, so the connection can be failed
    /// the RFC way. After it only control frames may be sent.
    pub fn send_close(
        &mut self,
        status: CloseStatus,
        reason: Option<B>,
        context: C,
    ) -> Result<(), Error> {
        self.check_can_send(BufferType::Close)?;
        self.send.enqueue(
            &mut self.close,
            BufferType::Close,
            reason,
            Some(status),
            false,
            context,
        )
    }

    /// A ping (`PingPong`) or unsolicited pong (`UnsolicitedPong`) carrying `payload` (at most 125
    /// bytes, RFC 6455 §5.5; [`Misuse::InvalidArgument`] otherwise). A Rust-only extension of
    /// `WebSocketSend`, whose control sends are always empty; the drivers use it for
    /// keep-alive pings and `Message::Ping`/`Message::Pong`. Same rules as [`send`](Self::send)
    /// otherwise.
    pub fn send_control(
        &mut self,
        buffer_type: BufferType,
        payload: B,
        context: C,
    ) -> Result<(), Error> {
        if !matches!(
            buffer_type,
            BufferType::PingPong | BufferType::UnsolicitedPong
        ) {
            return Err(Error::arg("send_control takes PingPong or UnsolicitedPong"));
        }
        self.check_can_send(buffer_type)?;
        self.send.enqueue(
            &mut self.close,
            buffer_type,
            Some(payload),
            None,
            true,
            context,
        )
    }

    /// What every send path checks first, whichever way the frame goes out (`send`,
    /// `send_close`, `send_control`, `send_into`): the handshake is done, the handle is not
    /// aborted, no cancelled send left a partial frame, and after a protocol error only a close
    /// may be sent (spec §9 Q18: the close that fails the connection).
    pub(super) fn check_can_send(&mut self, buffer_type: BufferType) -> Result<(), Error> {
        self.ensure_session()?;
        if matches!(self.phase, Phase::Aborted) {
            return Err(Error::state("handle aborted"));
        }
        if self.send.broken {
            return Err(Error::state("a cancelled send left a partial frame"));
        }
        if self.close.fault().is_some() && buffer_type != BufferType::Close {
            return Err(Error::state(
                "only a close may be sent after a protocol error",
            ));
        }
        Ok(())
    }

    /// `WebSocketReceive` into the internal buffer: the piece delivered points into it (no copy;
    /// a compressed message's pieces point into the session's buffer of decompressed bytes, of
    /// the receive buffer size). Errors: [`Misuse::InvalidState`] before the handshake, after an abort, after a close was
    /// received, or after a protocol error.
    pub fn receive(&mut self, context: C) -> Result<(), Error> {
        self.receive_with(None, context)
    }

    /// `WebSocketReceive` into `buffer`: data pieces are copied (and unmasked in the same pass) into
    /// it, at most its length per piece; pong payloads and close reasons still point into the
    /// internal buffer. The buffer is returned by `complete_action` of the
    /// `IndicateReceiveComplete`. An empty buffer is [`Misuse::InvalidArgument`]. A compressed
    /// message (permessage-deflate) is decompressed straight into it, at most the receive buffer
    /// size per piece.
    pub fn receive_into(&mut self, buffer: B, context: C) -> Result<(), Error> {
        if buffer.is_empty() {
            return Err(Error::arg("empty receive buffer"));
        }
        self.receive_with(Some(buffer), context)
    }

    fn receive_with(&mut self, buffer: Option<B>, context: C) -> Result<(), Error> {
        self.ensure_session()?;
        if matches!(self.phase, Phase::Aborted) {
            return Err(Error::state("handle aborted"));
        }
        self.recv.enqueue(self.close, buffer, context)
    }

    /// `WebSocketAbortHandle`: no more network actions; every queued operation is still surfaced
    /// by `get_action` as a completion (sends as `IndicateSendComplete` with `sent == false`,
    /// receives as a `Close` with status 1006), then `NoAction`. Later sends and receives fail.
    /// Idempotent; a no-op before the handshake completed (for a server: before
    /// `end_server_handshake` or the first session call).
    pub fn abort(&mut self) {
        if matches!(self.phase, Phase::Open) {
            self.phase = Phase::Aborted;
            self.send.pong = None;
        }
    }

    /// `WebSocketDeleteHandle`: drop the handle (dropping it has the same effect).
    pub fn delete(self) {}

    // ----- the action loop -------------------------------------------------------------------

    /// `WebSocketGetAction`: the next thing to do on `queue`. Every action other than
    /// [`Action::NoAction`] must be completed exactly once with
    /// [`complete_action`](Self::complete_action). While one action of a queue is outstanding,
    /// that queue yields `NoAction`.
    ///
    /// A protocol error in received data is returned here (on a queue that includes receives),
    /// and again on every later call until [`abort`](Self::abort); sends keep working so that a
    /// close frame can still go out.
    pub fn get_action(&mut self, queue: Queue) -> Result<Action<'_, C>, Error> {
        self.get_action_with_capacity(queue, 2)
    }

    /// [`get_action`](Self::get_action) for callers that can take only `capacity` buffers at once:
    /// with 1, a frame header and a payload that is not copied go out as two consecutive
    /// `SendToNetwork` actions (§9 Q5). A capacity of 0 is [`Misuse::InvalidArgument`].
    pub fn get_action_with_capacity(
        &mut self,
        queue: Queue,
        capacity: usize,
    ) -> Result<Action<'_, C>, Error> {
        if capacity == 0 {
            return Err(Error::arg("buffer capacity 0"));
        }
        self.ensure_session()?;
        let two = capacity >= 2;
        // An automatic pong goes first when the wire is free: answering pings promptly keeps the
        // peer's keep-alive happy, and it is at most 131 bytes.
        if queue.has_receive() && self.pong_to_plan() {
            if let Some(plan) = self.plan_pong(two) {
                return Ok(self.issue(Slot::Pong, plan));
            }
        }
        if queue.has_send() && self.outstanding[Slot::Send as usize].is_none() {
            if let Some(plan) = self.plan_send(two) {
                return Ok(self.issue(Slot::Send, plan));
            }
        }
        while queue.has_receive() && self.outstanding[Slot::Receive as usize].is_none() {
            match self.plan_receive()? {
                Received::Plan(plan) => return Ok(self.issue(Slot::Receive, plan)),
                Received::Nothing => break,
                // A ping was read: its pong goes first, else parsing goes on.
                Received::PongDue => {
                    if self.pong_to_plan() {
                        if let Some(plan) = self.plan_pong(two) {
                            return Ok(self.issue(Slot::Pong, plan));
                        }
                    }
                }
            }
        }
        Ok(Action::NoAction)
    }

    /// A pong is owed and none is outstanding: worth calling `plan_pong`, which is not
    /// inlined (nearly every `get_action` has no pong to plan).
    fn pong_to_plan(&self) -> bool {
        self.send.pong.is_some() && self.outstanding[Slot::Pong as usize].is_none()
    }

    /// `WebSocketCompleteAction`: report the result of an action. For `SendToNetwork`, the bytes
    /// written (a count other than the total cancels the send); for `ReceiveFromNetwork`, the bytes
    /// read (0 = end of stream: the pending receive completes as a `Close` with 1006 and the handle
    /// is aborted); for the `Indicate*` actions the count is ignored and the operation's context and
    /// buffer are returned. An id that is not outstanding is [`Misuse::UnknownAction`].
    pub fn complete_action(
        &mut self,
        id: ActionId,
        bytes: usize,
    ) -> Result<Option<Completed<B, C>>, Error> {
        let slot = self
            .outstanding
            .iter()
            .position(|o| o.is_some_and(|o| o.id == id.0))
            .ok_or(Error::Misuse(Misuse::UnknownAction))?;
        let Some(out) = self.outstanding[slot].take() else {
            return Err(Error::Misuse(Misuse::UnknownAction));
        };
        Ok(match out.plan {
            Plan::Write {
                total,
                payload,
                header,
                pong: true,
                ..
            } => {
                self.send.wrote_pong(bytes == total, header, payload);
                None
            }
            Plan::Write {
                total,
                payload,
                pong: false,
                ..
            } => {
                self.send.wrote(bytes == total, payload);
                None
            }
            Plan::SendDone { .. } => {
                if let Some(codec) = self.codec.as_deref_mut() {
                    codec.frame_done();
                }
                self.send.finish_front()
            }
            Plan::Read { at, len } => {
                let n = bytes.min(len);
                if n == 0 {
                    // End of stream: the queued receives complete as a 1006 close (§9 Q7).
                    self.phase = Phase::Aborted;
                    self.send.pong = None;
                } else {
                    debug_assert_eq!(at, self.recv.end);
                    self.recv.end = at + n;
                }
                None
            }
            Plan::RecvDone { consume, .. } => {
                self.recv.consume(consume);
                self.recv.finish_front()
            }
        })
    }

    /// The outstanding action `id` again, as `get_action` handed it out (for callers that dropped
    /// the view before doing the I/O, such as a driver returning a received piece). `None` if `id`
    /// is not outstanding.
    pub fn outstanding_action(&mut self, id: ActionId) -> Option<Action<'_, C>> {
        let out = self.outstanding.iter().flatten().find(|o| o.id == id.0)?;
        let plan = out.plan;
        Some(self.view(id, plan))
    }

    // Inlined into `get_action_with_capacity`, so that the plan and the view are built in place
    // rather than moved through two calls (the moves were a fifth of a small send's time).
    #[inline(always)]
    fn issue(&mut self, slot: Slot, plan: Plan) -> Action<'_, C> {
        self.next_id += 1;
        let id = self.next_id;
        self.outstanding[slot as usize] = Some(Outstanding { id, plan });
        self.view(ActionId(id), plan)
    }

    /// Turn a plan into the borrowed view handed to the caller.
    #[inline(always)]
    fn view(&mut self, id: ActionId, plan: Plan) -> Action<'_, C> {
        match plan {
            Plan::Write {
                segs,
                count,
                buffer_type,
                pong,
                ..
            } => {
                let block = &self.block;
                let codec = self.codec.as_deref();
                let front = if pong { None } else { self.send.front() };
                Action::SendToNetwork(SendToNetwork {
                    id,
                    buffer_type,
                    context: front.map(|op| &op.context),
                    bufs: [
                        seg_bytes(segs[0], block, front, codec),
                        seg_bytes(segs[1], block, front, codec),
                    ],
                    count,
                })
            }
            Plan::SendDone { sent } => {
                let op = self.send.front().expect("planned from the front send");
                Action::IndicateSendComplete(IndicateSendComplete {
                    id,
                    buffer_type: op.buffer_type,
                    context: &op.context,
                    payload: op.payload.as_ref().map(|p| p.bytes(0..p.len())),
                    close_status: op.status,
                    sent,
                })
            }
            Plan::Read { at, len } => {
                let op = self
                    .recv
                    .ops
                    .front()
                    .expect("planned from the front receive");
                Action::ReceiveFromNetwork(ReceiveFromNetwork {
                    id,
                    buffer: self.block.bytes_mut(at..at + len),
                    context: &op.context,
                })
            }
            Plan::RecvDone {
                buffer_type,
                data,
                close_status,
                ..
            } => {
                let op = self
                    .recv
                    .ops
                    .front()
                    .expect("planned from the front receive");
                let data = match data {
                    Data::Block(a, b) => self.block.bytes(a..b),
                    Data::Caller(n) => op.buffer.as_ref().map_or(&[][..], |b| b.bytes(0..n)),
                    Data::Inflated(n) => self.codec.as_deref().map_or(&[][..], |c| c.inflated(n)),
                };
                Action::IndicateReceiveComplete(IndicateReceiveComplete {
                    id,
                    buffer_type,
                    data,
                    close_status,
                    context: &op.context,
                })
            }
        }
    }
}

/// A buffer of a planned write: a range of the block or of the front send's wire payload (the
/// caller's bytes, or their compressed form).
#[derive(Clone, Copy, Debug)]
enum Seg {
    Block(usize, usize),
    Payload(usize, usize),
}

/// The bytes of the planned write segment `s`: a range of `block`, or of the wire payload of
/// `front`, the send being written. Inlined into `view`: as a call (a closure LLVM kept out of
/// line), each segment went to the stack and was read back, and the read stalled on store
/// forwarding, a tenth of a small send's time.
#[inline(always)]
fn seg_bytes<'a, B: Buffer, C>(
    s: Seg,
    block: &'a B,
    front: Option<&'a send::SendOp<B, C>>,
    codec: Option<&'a Codec>,
) -> &'a [u8] {
    match s {
        Seg::Block(a, b) => block.bytes(a..b),
        Seg::Payload(a, b) => front.map_or(&[][..], |op| op.wire_bytes(codec, a..b)),
    }
}

/// Where delivered data lies: a range of the block, the first `n` bytes of the caller's buffer,
/// or the first `n` decompressed bytes in the codec's buffer.
#[derive(Clone, Copy, Debug)]
enum Data {
    Block(usize, usize),
    Caller(usize),
    Inflated(usize),
}

/// What the receive side has to offer.
#[must_use]
enum Received {
    /// An action to hand out.
    Plan(Plan),
    /// Nothing now (no receive queued, the peer's close read, or a ping waiting for the wire).
    Nothing,
    /// A ping was read: its pong is owed.
    PongDue,
}

/// An action decided on: what `view` hands out, and what `complete_action` makes of its completion.
#[derive(Clone, Copy, Debug)]
#[must_use = "a plan may already have moved the session on (a header written, a pong started)"]
enum Plan {
    /// A frame segment write: `segs[..count]`, `total` bytes, of which the frame header (and
    /// close status) if `header`, and `payload` payload bytes.
    Write {
        segs: [Seg; 2],
        count: usize,
        total: usize,
        header: bool,
        payload: usize,
        /// The type of the send the frame belongs to (`PingPong` for an automatic pong).
        buffer_type: BufferType,
        /// An automatic pong (in the `Pong` slot) rather than the front send.
        pong: bool,
    },
    /// The INDICATE_SEND_COMPLETE of the front send; `sent` if every byte of its frame went out.
    SendDone { sent: bool },
    /// A network read into `[at, at + len)` of the receive buffer.
    Read { at: usize, len: usize },
    /// An INDICATE_RECEIVE_COMPLETE whose `consume` bytes leave the receive buffer on completion.
    RecvDone {
        consume: usize,
        buffer_type: BufferType,
        data: Data,
        close_status: Option<CloseStatus>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{FrameHeader, Status};

    fn open_pair(props: &[Property]) -> (Session<Vec<u8>, u8>, Session<Vec<u8>, u8>) {
        let mut client = Session::client(props).unwrap();
        let mut server = Session::server(props).unwrap();
        let req = client.begin_client_handshake(&[], &[], &[]).unwrap();
        let mut refs: Vec<HeaderRef<'_>> = req.iter().map(|h| h.as_header_ref()).collect();
        refs.push(HeaderRef {
            name: b"Host",
            value: b"h",
        });
        let resp = server.begin_server_handshake(None, &[], &refs).unwrap();
        let refs: Vec<HeaderRef<'_>> = resp.iter().map(|h| h.as_header_ref()).collect();
        let _negotiated = client.end_client_handshake(&refs).unwrap();
        server.end_server_handshake().unwrap();
        (client, server)
    }

    #[test]
    fn block_layout_fills_the_block_exactly() {
        let s: Session<Vec<u8>, u8> = Session::client(&[
            Property::ReceiveBufferSize(300),
            Property::SendBufferSize(40),
        ])
        .unwrap();
        assert_eq!(s.send_at(), 300 + HEADER_AREA);
        assert_eq!(s.pong_at(), s.send_at() + 40);
        assert_eq!(s.pong_at() + PONG_AREA, s.props.block_size());
        assert_eq!(s.block.len(), s.props.block_size());
    }

    #[test]
    fn coalesced_chunks_stay_within_the_smallest_send_buffer() {
        // A 64-bit length and a mask make a 14-byte header: with a 16-byte send buffer and one
        // buffer at a time, the first action carries the header and 2 payload bytes.
        let (mut client, _) = open_pair(&[Property::SendBufferSize(16)]);
        let payload: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        client
            .send(BufferType::BinaryMessage, Some(payload.clone()), 1)
            .unwrap();
        let mut wire = Vec::new();
        let mut lens = Vec::new();
        loop {
            let (id, n) = match client.get_action_with_capacity(Queue::Send, 1).unwrap() {
                Action::SendToNetwork(a) => {
                    assert_eq!(a.buffers().len(), 1);
                    lens.push(a.total_len());
                    a.buffers().iter().for_each(|b| wire.extend_from_slice(b));
                    (a.id, a.total_len())
                }
                Action::IndicateSendComplete(a) => (a.id, 0),
                _ => break,
            };
            client.complete_action(id, n).unwrap();
        }
        assert!(lens.iter().all(|&l| l <= 16), "{lens:?}");
        assert_eq!(lens[0], 16);
        let Ok(Status::Complete((h, n))) = FrameHeader::decode(&wire) else {
            panic!("no header")
        };
        assert_eq!((n, h.payload_len), (14, 70_000));
        let mut body = wire[n..].to_vec();
        crate::mask::apply_mask(&mut body, h.mask.unwrap(), 0);
        assert_eq!(body, payload);
    }

    #[test]
    fn close_state_tells_local_from_remote_closing() {
        use CloseState::*;
        let mut s = Open;
        s.queue_close();
        assert_eq!(s, LocalClosing);
        assert!(s.sent() && !s.received());
        s.receive_close();
        assert_eq!(s, Closed);
        let mut s = Open;
        s.receive_close();
        assert_eq!(s, RemoteClosing);
        assert!(s.received() && !s.sent());
        s.queue_close();
        assert_eq!(s, Closed);
        assert!(s.sent() && s.received() && s.fault().is_none());
        // RFC 6455 §7.1.7: a fault sticks, and our close may still go out, before or after it.
        let error = ProtocolError::InvalidUtf8;
        let mut s = Open;
        s.fail(error);
        assert_eq!(s.fault(), Some(error));
        assert!(!s.sent() && !s.received());
        s.queue_close();
        assert_eq!(
            s,
            Failed {
                error,
                close_sent: true
            }
        );
        let mut s = LocalClosing;
        s.fail(error);
        assert!(s.sent() && s.fault() == Some(error));
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn the_compressed_frame_buffer_is_reused_and_trimmed_back() {
        let on = Property::PermessageDeflate(Some(crate::deflate::DeflateConfig::DEFAULT));
        let (_, mut server) = open_pair(&[on]);
        let capacity = |s: &Session<Vec<u8>, u8>| s.codec.as_ref().map(|c| c.deflated_capacity());
        fn send(s: &mut Session<Vec<u8>, u8>, payload: Vec<u8>) {
            s.send(BufferType::BinaryMessage, Some(payload.clone()), 1)
                .unwrap();
            let mut wire = Vec::new();
            loop {
                let (id, n) = match s.get_action(Queue::Send).unwrap() {
                    Action::SendToNetwork(a) => {
                        a.buffers().iter().for_each(|b| wire.extend_from_slice(b));
                        (a.id, a.total_len())
                    }
                    Action::IndicateSendComplete(a) => (a.id, 0),
                    _ => break,
                };
                let done = s.complete_action(id, n).unwrap();
                if let Some(done) = done {
                    // The caller's buffer comes back, not the compressed bytes.
                    assert_eq!(done.buffer, Some(payload.clone()));
                }
            }
            let Ok(Status::Complete((h, n))) = FrameHeader::decode(&wire) else {
                panic!("no header")
            };
            assert_eq!(h.rsv, crate::frame::RSV1);
            assert_eq!(wire.len() - n, h.payload_len as usize);
        }
        // Incompressible: the compressed frame is a little larger than the payload.
        let mut noise = vec![0u8; 3 << 20];
        let mut x = 0x9e37_79b9_u32;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        send(&mut server, noise);
        // Trimmed as soon as that frame is done, not only when the next one starts: an idle
        // connection does not keep the size of its last big send.
        assert!(capacity(&server).unwrap() <= 1 << 20);
        send(&mut server, b"small".to_vec());
        assert!(capacity(&server).unwrap() <= 1 << 20);
        send(&mut server, b"small again".to_vec());
        assert!(capacity(&server).unwrap() > 0, "kept for the next frame");
    }

    #[test]
    fn drained_receive_buffer_starts_over() {
        let mut r: RecvSide<Vec<u8>, u8> = RecvSide::new();
        r.end = 10;
        r.consume(4);
        assert_eq!(r.end, 10);
        r.consume(6);
        assert_eq!(r.end, 0, "all consumed: reads start at the front again");
    }
}
