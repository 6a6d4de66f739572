//! What `get_action` hands out: buffer types, queues, action kinds, action ids, and the borrowed
//! views of each action.

use crate::close::CloseStatus;
use core::fmt;

/// `WEB_SOCKET_BUFFER_TYPE`, with the Windows values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum BufferType {
    /// Last (or only) piece of a text message.
    Utf8Message = 0x8000_0000,
    /// Non-final piece of a text message.
    Utf8Fragment = 0x8000_0001,
    /// Last (or only) piece of a binary message.
    BinaryMessage = 0x8000_0002,
    /// Non-final piece of a binary message.
    BinaryFragment = 0x8000_0003,
    /// A close frame (send: ours; receive: the peer's, or 1006 for a connection that ended without one).
    Close = 0x8000_0004,
    /// Send: an empty ping. Receive: a pong arrived.
    PingPong = 0x8000_0005,
    /// Send: an empty unsolicited pong (keep-alive).
    UnsolicitedPong = 0x8000_0006,
}

impl BufferType {
    /// The type for a raw Windows value. Extension buffer types (top bit clear, §9 Q12) and unknown
    /// values give `None`.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            0x8000_0000 => Self::Utf8Message,
            0x8000_0001 => Self::Utf8Fragment,
            0x8000_0002 => Self::BinaryMessage,
            0x8000_0003 => Self::BinaryFragment,
            0x8000_0004 => Self::Close,
            0x8000_0005 => Self::PingPong,
            0x8000_0006 => Self::UnsolicitedPong,
            _ => return None,
        })
    }

    /// True for the four data types (text or binary, fragment or message).
    pub const fn is_data(self) -> bool {
        (self as u32) <= 0x8000_0003
    }

    /// True for `Utf8Message` and `Utf8Fragment`.
    pub const fn is_text(self) -> bool {
        matches!(self, Self::Utf8Message | Self::Utf8Fragment)
    }

    /// True for a piece that ends its message (`*_MESSAGE`), false for `*_FRAGMENT`.
    pub const fn is_final(self) -> bool {
        !matches!(self, Self::Utf8Fragment | Self::BinaryFragment)
    }
}

/// `WEB_SOCKET_ACTION_QUEUE`: which work `get_action` may return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Queue {
    /// The application's sends only.
    Send = 1,
    /// Receives, plus automatic pongs.
    Receive = 2,
    /// Everything.
    All = 3,
}

impl Queue {
    /// The queue for a raw Windows value.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            1 => Self::Send,
            2 => Self::Receive,
            3 => Self::All,
            _ => return None,
        })
    }

    pub(crate) const fn has_send(self) -> bool {
        matches!(self, Self::Send | Self::All)
    }

    pub(crate) const fn has_receive(self) -> bool {
        matches!(self, Self::Receive | Self::All)
    }
}

/// `WEB_SOCKET_ACTION`: the kind of an action, with the Windows values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ActionKind {
    /// Nothing to do now.
    NoAction = 0,
    /// Write the buffers to the transport.
    SendToNetwork = 1,
    /// A send finished; its context may be released.
    IndicateSendComplete = 2,
    /// Read transport bytes into the buffer.
    ReceiveFromNetwork = 3,
    /// A receive finished; the data is in the buffer.
    IndicateReceiveComplete = 4,
}

/// Identifies one outstanding action. Pass it to `complete_action` exactly once; a second
/// completion, or an id that was never issued, is refused with `Misuse::UnknownAction`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionId(pub(crate) u64);

impl ActionId {
    /// The raw value (never 0), for carrying the id through C as a pointer-sized context.
    pub const fn to_raw(self) -> u64 {
        self.0
    }

    /// An id from its raw value. An id that does not match an outstanding action is refused by
    /// `complete_action`, so any raw value is harmless.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

impl fmt::Debug for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActionId({})", self.0)
    }
}

/// One action handed out by `get_action`, borrowing the session until it is dropped. Do the I/O it
/// asks for, drop it, then call `complete_action` with its id.
#[derive(Debug)]
#[must_use = "every action but NoAction must be completed with complete_action"]
pub enum Action<'a, C> {
    /// Nothing to do now (no completion needed).
    NoAction,
    /// Write the buffers, in order, to the transport.
    SendToNetwork(SendToNetwork<'a, C>),
    /// A send finished.
    IndicateSendComplete(IndicateSendComplete<'a, C>),
    /// Read from the transport into the buffer.
    ReceiveFromNetwork(ReceiveFromNetwork<'a, C>),
    /// A receive finished.
    IndicateReceiveComplete(IndicateReceiveComplete<'a, C>),
}

impl<C> Action<'_, C> {
    /// The kind of the action.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::NoAction => ActionKind::NoAction,
            Self::SendToNetwork(_) => ActionKind::SendToNetwork,
            Self::IndicateSendComplete(_) => ActionKind::IndicateSendComplete,
            Self::ReceiveFromNetwork(_) => ActionKind::ReceiveFromNetwork,
            Self::IndicateReceiveComplete(_) => ActionKind::IndicateReceiveComplete,
        }
    }

    /// The id to complete the action with (`None` for `NoAction`).
    pub fn id(&self) -> Option<ActionId> {
        match self {
            Self::NoAction => None,
            Self::SendToNetwork(a) => Some(a.id),
            Self::IndicateSendComplete(a) => Some(a.id),
            Self::ReceiveFromNetwork(a) => Some(a.id),
            Self::IndicateReceiveComplete(a) => Some(a.id),
        }
    }
}

/// `WEB_SOCKET_SEND_TO_NETWORK_ACTION`: write [`buffers`](Self::buffers) in order, then complete
/// with the number of bytes written. A count other than [`total_len`](Self::total_len) cancels the
/// send (§9 Q13).
#[derive(Debug)]
pub struct SendToNetwork<'a, C> {
    /// The id to complete with.
    pub id: ActionId,
    /// The type of the frame's send (`PingPong` for an automatic pong).
    pub buffer_type: BufferType,
    /// The send's context; `None` for an automatic pong.
    pub context: Option<&'a C>,
    pub(crate) bufs: [&'a [u8]; 2],
    pub(crate) count: usize,
}

impl<'a, C> SendToNetwork<'a, C> {
    /// One or two buffers: a frame header (internal), and a payload (the caller's own memory for a
    /// server or an unmasked client, else a masked copy in the send buffer).
    pub fn buffers(&self) -> &[&'a [u8]] {
        &self.bufs[..self.count]
    }

    /// Sum of the buffer lengths: the count that completes the action without cancelling.
    pub fn total_len(&self) -> usize {
        self.buffers().iter().map(|b| b.len()).sum()
    }
}

/// `WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION`: the send is finished (or was cancelled or drained);
/// completing the action returns its context and buffer.
#[derive(Debug)]
pub struct IndicateSendComplete<'a, C> {
    /// The id to complete with.
    pub id: ActionId,
    /// The type the send was made with.
    pub buffer_type: BufferType,
    /// The send's context.
    pub context: &'a C,
    /// The payload given to the send (or the close reason), echoed.
    pub payload: Option<&'a [u8]>,
    /// For a `Close` send with a status: the status, echoed.
    pub close_status: Option<CloseStatus>,
    /// True if every byte of the frame went to the network; false if it was cancelled by a short
    /// completion or drained after an abort.
    pub sent: bool,
}

/// `WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION`: read at most `buffer.len()` bytes into `buffer`, then
/// complete with the count (0 means end of stream, or cancel).
#[derive(Debug)]
pub struct ReceiveFromNetwork<'a, C> {
    /// The id to complete with.
    pub id: ActionId,
    /// A free region of the internal receive buffer.
    pub buffer: &'a mut [u8],
    /// The receive's context.
    pub context: &'a C,
}

/// `WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION`: one piece of a message, a pong, or a close.
/// The data is valid until the action is completed.
#[derive(Debug)]
pub struct IndicateReceiveComplete<'a, C> {
    /// The id to complete with.
    pub id: ActionId,
    /// `*_FRAGMENT` for a non-final piece, `*_MESSAGE` for the last, `PingPong` for a pong,
    /// `Close` for a close.
    pub buffer_type: BufferType,
    /// The piece, the pong's payload, or the close reason.
    pub data: &'a [u8],
    /// For `Close`: the status (1005 when the frame had none, 1006 when the connection ended
    /// without a close frame).
    pub close_status: Option<CloseStatus>,
    /// The receive's context.
    pub context: &'a C,
}

/// What `complete_action` returns once an operation has ended (an `INDICATE_*` action completed):
/// the context and buffer given to `send`/`receive_into`, back to the caller.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "it hands back the operation's context and buffer"]
pub struct Completed<B, C> {
    /// The context.
    pub context: C,
    /// The buffer, if one was given.
    pub buffer: Option<B>,
}
