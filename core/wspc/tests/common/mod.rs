//! Test support: a client and a server session joined in memory, driven until idle, plus helpers
//! to craft raw frames and to parse what a side wrote to the wire.
#![allow(dead_code, unreachable_pub)]

use wspc::frame::{FrameHeader, Opcode, Status, MAX_HEADER_LEN};
use wspc::mask::apply_mask;
use wspc::{
    Action, ActionId, ActionKind, BufferType, CloseStatus, Error, HeaderRef, Property, Queue, Role,
    Session,
};

/// The session type of the harness: owned buffers, `u32` contexts.
pub type Ws = Session<Vec<u8>, u32>;

/// What one side received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Got {
    /// A piece of a message.
    Piece(BufferType, Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close.
    Close(u16, Vec<u8>),
}

/// A check run on every action a side gets (before the harness serves it).
pub type Inspect = Box<dyn FnMut(&Action<'_, u32>)>;

/// One side of a pair: its session, bytes in flight towards it, and what it received.
pub struct Side {
    pub session: Ws,
    /// Bytes the peer wrote that this side has not read yet.
    pub inbox: Vec<u8>,
    /// Every byte this side wrote, in order.
    pub wire: Vec<u8>,
    pub got: Vec<Got>,
    /// Contexts handed back by completing `IndicateSendComplete`, in order.
    pub sends_done: Vec<u32>,
    /// The `sent` flag of each `IndicateSendComplete`, in order.
    pub sends_sent: Vec<bool>,
    /// Contexts handed back by completing `IndicateReceiveComplete`, in order.
    pub recvs_done: Vec<u32>,
    /// Receive contexts posted by [`Side::receive_all`].
    pub recvs_posted: u32,
    /// Buffer lengths of each `SendToNetwork` action, in order.
    pub writes: Vec<Vec<usize>>,
    /// Byte counts of each completed network read, in order.
    pub reads: Vec<usize>,
    /// The kind of every action served, in order.
    pub log: Vec<ActionKind>,
    /// The first error `get_action` returned. Once set, only the send queue is served (so that a
    /// close frame can still go out).
    pub error: Option<Error>,
    /// Bytes per network read (to exercise chunking).
    pub read_size: usize,
    /// Buffer capacity passed to `get_action_with_capacity`.
    pub capacity: usize,
    /// If set, [`receive_all`](Side::receive_all) posts `receive_into` with a buffer of this
    /// many bytes instead of `receive`.
    pub receive_buffer: Option<usize>,
    /// The queues asked in turn (default: the all-queue only).
    pub queues: Vec<Queue>,
    next_queue: usize,
    /// The stream has ended: once the inbox is empty, reads complete with 0 bytes.
    pub eof: bool,
    /// A network read waiting for bytes.
    pub pending_read: Option<ActionId>,
    /// Called with every action before it is served.
    pub inspect: Option<Inspect>,
}

pub struct Pair {
    pub client: Side,
    pub server: Side,
}

impl Side {
    pub fn new(session: Ws) -> Self {
        Self {
            session,
            inbox: Vec::new(),
            wire: Vec::new(),
            got: Vec::new(),
            sends_done: Vec::new(),
            sends_sent: Vec::new(),
            recvs_done: Vec::new(),
            recvs_posted: 0,
            writes: Vec::new(),
            reads: Vec::new(),
            log: Vec::new(),
            error: None,
            read_size: usize::MAX,
            capacity: 2,
            receive_buffer: None,
            queues: vec![Queue::All],
            next_queue: 0,
            eof: false,
            pending_read: None,
            inspect: None,
        }
    }

    /// Serve actions until there are none; written bytes go to `peer_inbox` (and to `wire`).
    pub fn drive(&mut self, peer_inbox: &mut Vec<u8>) {
        while step(self, peer_inbox) {}
    }

    /// Drive with the written bytes kept only in `wire`.
    pub fn drive_alone(&mut self) {
        let mut sink = Vec::new();
        self.drive(&mut sink);
    }

    /// Receives completed so far minus receives posted by [`receive_all`](Self::receive_all).
    fn receives_open(&self) -> bool {
        self.recvs_posted as usize > self.recvs_done.len()
    }

    /// Post receives one at a time and drive until the inbox is used up, a close arrives or
    /// `get_action` fails. Returns what arrived in this call, or the error. Written bytes (pongs)
    /// stay in `wire`.
    pub fn receive_all(&mut self) -> Result<Vec<Got>, Error> {
        let mut sink = Vec::new();
        self.receive_to(&mut sink)
    }

    /// [`receive_all`](Self::receive_all), with written bytes going to `peer_inbox` too.
    pub fn receive_to(&mut self, peer_inbox: &mut Vec<u8>) -> Result<Vec<Got>, Error> {
        let before = self.got.len();
        loop {
            if !self.receives_open() {
                if self.session.close_received() || self.session.is_aborted() {
                    break;
                }
                self.recvs_posted += 1;
                let ctx = 1000 + self.recvs_posted;
                match self.receive_buffer {
                    Some(n) => self.session.receive_into(vec![0; n], ctx)?,
                    None => self.session.receive(ctx)?,
                }
            }
            self.drive(peer_inbox);
            if let Some(e) = &self.error {
                return Err(e.clone());
            }
            if self.receives_open() {
                // Waiting for bytes that are not there.
                break;
            }
        }
        Ok(self.got[before..].to_vec())
    }

    /// Append `bytes` to the inbox and receive everything, as [`receive_all`](Self::receive_all).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Got>, Error> {
        self.inbox.extend_from_slice(bytes);
        self.receive_all()
    }

    /// The frames this side wrote so far.
    pub fn wire_frames(&self) -> Vec<Frame> {
        parse_frames(&self.wire)
    }
}

impl Pair {
    /// Create both handles and run the handshake (client headers + Host → server → client).
    pub fn new(client_props: &[Property], server_props: &[Property]) -> Self {
        Self::from_sessions(
            Session::client(client_props).unwrap(),
            Session::server(server_props).unwrap(),
        )
    }

    /// Run the handshake between two fresh handles.
    pub fn from_sessions(mut client: Ws, mut server: Ws) -> Self {
        handshake(&mut client, &mut server);
        Self {
            client: Side::new(client),
            server: Side::new(server),
        }
    }

    /// Drive both sides until neither has anything to do.
    pub fn run(&mut self) {
        loop {
            let a = step(&mut self.client, &mut self.server.inbox);
            let b = step(&mut self.server, &mut self.client.inbox);
            if !a && !b {
                return;
            }
        }
    }

    /// Let both sides post receives (one at a time, as needed) and run until nothing moves.
    /// Errors stay in each side's `error`.
    pub fn exchange(&mut self) {
        loop {
            let before = (
                self.client.got.len(),
                self.server.got.len(),
                self.client.wire.len(),
                self.server.wire.len(),
                self.client.inbox.len(),
                self.server.inbox.len(),
            );
            let _ = self.client.receive_to(&mut self.server.inbox);
            let _ = self.server.receive_to(&mut self.client.inbox);
            self.run();
            let after = (
                self.client.got.len(),
                self.server.got.len(),
                self.client.wire.len(),
                self.server.wire.len(),
                self.client.inbox.len(),
                self.server.inbox.len(),
            );
            if before == after {
                return;
            }
        }
    }

    /// Drive the client only (its writes land in the server's inbox).
    pub fn run_client(&mut self) {
        self.client.drive(&mut self.server.inbox);
    }

    /// Drive the server only (its writes land in the client's inbox).
    pub fn run_server(&mut self) {
        self.server.drive(&mut self.client.inbox);
    }
}

/// Open `client` and `server` with a handshake between them.
pub fn handshake(client: &mut Ws, server: &mut Ws) {
    let request = client.begin_client_handshake(&[], &[], &[]).unwrap();
    let mut refs: Vec<HeaderRef<'_>> = request.iter().map(|h| h.as_ref()).collect();
    refs.push(HeaderRef {
        name: b"Host",
        value: b"example.com",
    });
    let response = server.begin_server_handshake(None, &[], &refs).unwrap();
    let refs: Vec<HeaderRef<'_>> = response.iter().map(|h| h.as_ref()).collect();
    client.end_client_handshake(&refs).unwrap();
    server.end_server_handshake().unwrap();
}

/// An open handle of `role` (its peer is dropped), for feeding crafted frames.
pub fn open(role: Role, props: &[Property]) -> Side {
    let Pair { client, server } = Pair::new(props, props);
    match role {
        Role::Client => client,
        Role::Server => server,
    }
}

/// An open client handle with default properties.
pub fn client() -> Side {
    open(Role::Client, &[])
}

/// An open server handle with default properties.
pub fn server() -> Side {
    open(Role::Server, &[])
}

/// One action of `me`; written bytes go to `peer_inbox`. Returns false when there was none.
pub fn step(me: &mut Side, peer_inbox: &mut Vec<u8>) -> bool {
    if let Some(id) = me.pending_read {
        // A read is outstanding: serve it once bytes have arrived (or the stream ended).
        // Without bytes the read keeps waiting, and the send queue may still have work (the
        // receive queue gives none while the read is outstanding).
        let n = me.inbox.len().min(me.read_size);
        if n > 0 || me.eof {
            let Some(Action::ReceiveFromNetwork(a)) = me.session.outstanding_action(id) else {
                panic!("read {id:?} no longer outstanding");
            };
            let n = n.min(a.buffer.len());
            a.buffer[..n].copy_from_slice(&me.inbox[..n]);
            me.inbox.drain(..n);
            me.pending_read = None;
            me.reads.push(n);
            me.session.complete_action(id, n).unwrap();
            return true;
        }
    }
    let queues: Vec<Queue> = if me.error.is_some() {
        vec![Queue::Send]
    } else {
        me.queues.clone()
    };
    for k in 0..queues.len() {
        let queue = queues[(me.next_queue + k) % queues.len()];
        let action = match me.session.get_action_with_capacity(queue, me.capacity) {
            Ok(Action::NoAction) => continue,
            Ok(a) => a,
            Err(e) => {
                if me.error.is_none() {
                    me.error = Some(e);
                    return true;
                }
                continue;
            }
        };
        me.next_queue = (me.next_queue + k + 1) % queues.len();
        me.log.push(action.kind());
        if let Some(inspect) = me.inspect.as_mut() {
            inspect(&action);
        }
        let send_done = matches!(action, Action::IndicateSendComplete(_));
        let (id, n) = match action {
            Action::NoAction => unreachable!(),
            Action::SendToNetwork(a) => {
                for b in a.buffers() {
                    peer_inbox.extend_from_slice(b);
                    me.wire.extend_from_slice(b);
                }
                me.writes
                    .push(a.buffers().iter().map(|b| b.len()).collect());
                (a.id, a.total_len())
            }
            Action::ReceiveFromNetwork(a) => {
                let n = a.buffer.len().min(me.inbox.len()).min(me.read_size);
                if n == 0 && !me.eof {
                    // Nothing in flight yet: keep the read outstanding until bytes arrive.
                    me.pending_read = Some(a.id);
                    return true;
                }
                a.buffer[..n].copy_from_slice(&me.inbox[..n]);
                me.inbox.drain(..n);
                me.reads.push(n);
                (a.id, n)
            }
            Action::IndicateSendComplete(a) => {
                me.sends_sent.push(a.sent);
                (a.id, 0)
            }
            Action::IndicateReceiveComplete(a) => {
                let got = match a.buffer_type {
                    BufferType::Close => {
                        Got::Close(a.close_status.unwrap_or(CloseStatus(0)).0, a.data.to_vec())
                    }
                    BufferType::PingPong => Got::Pong(a.data.to_vec()),
                    t => Got::Piece(t, a.data.to_vec()),
                };
                me.got.push(got);
                (a.id, 0)
            }
        };
        if let Some(done) = me.session.complete_action(id, n).unwrap() {
            if send_done {
                me.sends_done.push(done.context);
            } else {
                me.recvs_done.push(done.context);
            }
        }
        return true;
    }
    false
}

/// A frame as written on the wire, with its payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub header: FrameHeader,
    /// The encoded header bytes.
    pub header_bytes: Vec<u8>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn opcode(&self) -> Opcode {
        self.header.opcode
    }
}

/// Split a byte stream into whole frames (panics on a malformed or truncated stream).
pub fn parse_frames(mut bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (header, n) = match FrameHeader::decode(bytes) {
            Ok(Status::Complete(done)) => done,
            other => panic!("bad frame stream at {bytes:x?}: {other:?}"),
        };
        let len = header.payload_len as usize;
        assert!(bytes.len() >= n + len, "truncated frame");
        let mut payload = bytes[n..n + len].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push(Frame {
            header,
            header_bytes: bytes[..n].to_vec(),
            payload,
        });
        bytes = &bytes[n + len..];
    }
    frames
}

/// A frame with first byte `b0` (FIN, RSV and opcode bits, any opcode value), the minimal
/// length encoding, and `payload` masked with `mask` if given.
pub fn raw_frame(b0: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode: Opcode::Binary,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut out = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut out);
    out[0] = b0;
    let mut bytes = out[..n].to_vec();
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        apply_mask(&mut body, key, 0);
    }
    bytes.extend_from_slice(&body);
    bytes
}

/// The masking key used for crafted client frames.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a server sends it (unmasked).
pub fn server_frame(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    raw_frame(u8::from(fin) << 7 | opcode.as_u8(), None, payload)
}

/// A frame as a client sends it (masked with [`KEY`]).
pub fn client_frame(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    raw_frame(u8::from(fin) << 7 | opcode.as_u8(), Some(KEY), payload)
}

/// A frame as `role`'s peer sends it towards `role`.
pub fn frame_to(role: Role, fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    match role {
        Role::Client => server_frame(fin, opcode, payload),
        Role::Server => client_frame(fin, opcode, payload),
    }
}

/// A close frame payload: the status big-endian, then the reason.
pub fn close_payload(status: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = status.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// Bytes `0, 1, 2, …` (mod 251, so no period of 256 hides an offset error).
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The protocol error inside `e`, panicking otherwise.
pub fn protocol(e: &Error) -> wspc::ProtocolError {
    match e {
        Error::Protocol(p) => *p,
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

/// Concatenate the data pieces of `got` (checking that only the last is final).
pub fn message(got: &[Got]) -> (BufferType, Vec<u8>) {
    let mut data = Vec::new();
    let mut last = None;
    for (i, g) in got.iter().enumerate() {
        match g {
            Got::Piece(t, d) => {
                assert_eq!(
                    t.is_final(),
                    i + 1 == got.len(),
                    "piece {i} of {}: {t:?}",
                    got.len()
                );
                data.extend_from_slice(d);
                last = Some(*t);
            }
            other => panic!("not a data piece: {other:?}"),
        }
    }
    (last.expect("no pieces"), data)
}

/// A borrowed header from strings.
pub fn hdr<'a>(name: &'a str, value: &'a str) -> HeaderRef<'a> {
    HeaderRef {
        name: name.as_bytes(),
        value: value.as_bytes(),
    }
}

/// Borrow a list of output headers as input headers.
pub fn refs(headers: &[wspc::Header]) -> Vec<HeaderRef<'_>> {
    headers.iter().map(|h| h.as_ref()).collect()
}

/// The values of the headers named `name` (case-insensitively).
pub fn values<'a>(headers: &'a [wspc::Header], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
        .collect()
}

/// A valid client request (the RFC 6455 §1.3 example key) with `name` replaced by `value`, or
/// removed when `value` is `None`.
pub fn request_with<'a>(name: &'a str, value: Option<&'a str>) -> Vec<HeaderRef<'a>> {
    let mut r: Vec<HeaderRef<'a>> = [
        hdr("Host", "server.example.com"),
        hdr("Upgrade", "websocket"),
        hdr("Connection", "Upgrade"),
        hdr("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        hdr("Sec-WebSocket-Version", "13"),
    ]
    .into_iter()
    .filter(|h| !h.name.eq_ignore_ascii_case(name.as_bytes()))
    .collect();
    if let Some(v) = value {
        r.push(hdr(name, v));
    }
    r
}

/// An owned snapshot of one action (so that the session can be used again before completing it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snap {
    NoAction,
    Send {
        id: ActionId,
        buffer_type: BufferType,
        context: Option<u32>,
        bufs: Vec<Vec<u8>>,
        /// Start address of each buffer.
        ptrs: Vec<usize>,
    },
    SendDone {
        id: ActionId,
        buffer_type: BufferType,
        context: u32,
        payload: Option<Vec<u8>>,
        close_status: Option<CloseStatus>,
        sent: bool,
    },
    Read {
        id: ActionId,
        context: u32,
        len: usize,
        ptr: usize,
    },
    RecvDone {
        id: ActionId,
        buffer_type: BufferType,
        context: u32,
        data: Vec<u8>,
        ptr: usize,
        close_status: Option<CloseStatus>,
    },
}

impl Snap {
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
