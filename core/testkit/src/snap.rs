//! Owned snapshots of actions ([`Snap`]), so that a test can look at an action, use the session
//! again and complete the action later; [`next`] and [`next_cap`] take one, [`fill`] completes a
//! read with given bytes, [`receive_bytes`] posts a receive and fills its read.

use crate::pair::Ws;
use wspc::{Action, ActionId, ActionKind, BufferType, CloseStatus, Error, Queue};

/// An owned snapshot of one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snap {
    /// `NoAction`.
    NoAction,
    /// `SendToNetwork`.
    Send {
        /// The action's id.
        id: ActionId,
        /// The type of the send (`PingPong` for an automatic pong).
        buffer_type: BufferType,
        /// The send's context (`None` for an automatic pong).
        context: Option<u32>,
        /// The buffers, copied.
        bufs: Vec<Vec<u8>>,
        /// Start address of each buffer.
        ptrs: Vec<usize>,
    },
    /// `IndicateSendComplete`.
    SendDone {
        /// The action's id.
        id: ActionId,
        /// The type of the send.
        buffer_type: BufferType,
        /// The send's context.
        context: u32,
        /// The send's payload, echoed.
        payload: Option<Vec<u8>>,
        /// The close status of a close send.
        close_status: Option<CloseStatus>,
        /// Whether the frame went out whole.
        sent: bool,
    },
    /// `ReceiveFromNetwork`.
    Read {
        /// The action's id.
        id: ActionId,
        /// The receive's context.
        context: u32,
        /// The length of the buffer to read into.
        len: usize,
        /// Its start address.
        ptr: usize,
    },
    /// `IndicateReceiveComplete`.
    RecvDone {
        /// The action's id.
        id: ActionId,
        /// What was received.
        buffer_type: BufferType,
        /// The receive's context.
        context: u32,
        /// The piece, copied.
        data: Vec<u8>,
        /// Its start address.
        ptr: usize,
        /// The status of a close.
        close_status: Option<CloseStatus>,
    },
}

impl Snap {
    /// The action's id (panics for `NoAction`).
    pub fn id(&self) -> ActionId {
        match self {
            Self::NoAction => panic!("NoAction has no id"),
            Self::Send { id, .. }
            | Self::SendDone { id, .. }
            | Self::Read { id, .. }
            | Self::RecvDone { id, .. } => *id,
        }
    }

    /// Sum of the buffer lengths of a `Send`.
    pub fn total(&self) -> usize {
        match self {
            Self::Send { bufs, .. } => bufs.iter().map(Vec::len).sum(),
            other => panic!("not a send: {other:?}"),
        }
    }

    /// The buffers of a `Send`, concatenated.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Send { bufs, .. } => bufs.concat(),
            other => panic!("not a send: {other:?}"),
        }
    }

    /// The context of a `Send` (`None` for an automatic pong); panics for another action.
    pub fn send_context(&self) -> Option<u32> {
        match self {
            Self::Send { context, .. } => *context,
            other => panic!("not a send: {other:?}"),
        }
    }

    /// The context and `sent` flag of a `SendDone`; panics for another action.
    pub fn send_done(&self) -> (u32, bool) {
        match self {
            Self::SendDone { context, sent, .. } => (*context, *sent),
            other => panic!("not a send completion: {other:?}"),
        }
    }

    /// The type, context, data and close status of a `RecvDone`; panics for another action.
    pub fn recv_done(&self) -> (BufferType, u32, &[u8], Option<CloseStatus>) {
        match self {
            Self::RecvDone {
                buffer_type,
                context,
                data,
                close_status,
                ..
            } => (*buffer_type, *context, data, *close_status),
            other => panic!("not a receive completion: {other:?}"),
        }
    }

    /// The kind of the action.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::NoAction => ActionKind::NoAction,
            Self::Send { .. } => ActionKind::SendToNetwork,
            Self::SendDone { .. } => ActionKind::IndicateSendComplete,
            Self::Read { .. } => ActionKind::ReceiveFromNetwork,
            Self::RecvDone { .. } => ActionKind::IndicateReceiveComplete,
        }
    }
}

/// Snapshot an action.
pub fn snapshot(action: &Action<'_, u32>) -> Snap {
    match action {
        Action::NoAction => Snap::NoAction,
        Action::SendToNetwork(a) => Snap::Send {
            id: a.id,
            buffer_type: a.buffer_type,
            context: a.context.copied(),
            bufs: a.buffers().iter().map(|b| b.to_vec()).collect(),
            ptrs: a.buffers().iter().map(|b| b.as_ptr() as usize).collect(),
        },
        Action::IndicateSendComplete(a) => Snap::SendDone {
            id: a.id,
            buffer_type: a.buffer_type,
            context: *a.context,
            payload: a.payload.map(<[u8]>::to_vec),
            close_status: a.close_status,
            sent: a.sent,
        },
        Action::ReceiveFromNetwork(a) => Snap::Read {
            id: a.id,
            context: *a.context,
            len: a.buffer.len(),
            ptr: a.buffer.as_ptr() as usize,
        },
        Action::IndicateReceiveComplete(a) => Snap::RecvDone {
            id: a.id,
            buffer_type: a.buffer_type,
            context: *a.context,
            data: a.data.to_vec(),
            ptr: a.data.as_ptr() as usize,
            close_status: a.close_status,
        },
    }
}

/// `get_action` on `queue`, snapshotted.
pub fn next(s: &mut Ws, queue: Queue) -> Result<Snap, Error> {
    next_cap(s, queue, 2)
}

/// `get_action_with_capacity`, snapshotted.
pub fn next_cap(s: &mut Ws, queue: Queue, capacity: usize) -> Result<Snap, Error> {
    s.get_action_with_capacity(queue, capacity)
        .map(|a| snapshot(&a))
}

/// Complete the outstanding read `id` with `bytes` (at most the buffer's length is taken);
/// returns the count.
pub fn fill(s: &mut Ws, id: ActionId, bytes: &[u8]) -> usize {
    let Some(Action::ReceiveFromNetwork(a)) = s.outstanding_action(id) else {
        panic!("{id:?} is not an outstanding read");
    };
    let n = bytes.len().min(a.buffer.len());
    a.buffer[..n].copy_from_slice(&bytes[..n]);
    s.complete_action(id, n).unwrap();
    n
}

/// Post a receive (`ctx`), take the network read it asks for, and complete it with `bytes` (at
/// most the buffer's length); returns the count.
pub fn receive_bytes(s: &mut Ws, ctx: u32, bytes: &[u8]) -> usize {
    s.receive(ctx).unwrap();
    let r = next(s, Queue::Receive).unwrap();
    assert_eq!(r.kind(), ActionKind::ReceiveFromNetwork, "{r:?}");
    fill(s, r.id(), bytes)
}
