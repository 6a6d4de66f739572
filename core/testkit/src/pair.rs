//! The one in-memory `Pair`: a client and a server session opened by a handshake between them,
//! each a [`Side`] that serves its actions, writes into the other's inbox and records what it
//! did; [`Pair::run`] drives both until neither has anything to do.
//!
//! Openers: [`Pair::new`] (the engine's own constructors, OS randomness), [`Pair::seeded`]
//! (masking keys and nonce from a seed, for reproducible property tests), [`Pair::from_sessions`]
//! (any two fresh handles); [`open`], [`open_seeded`], [`client`] and [`server`] keep one side of
//! a pair and drop its peer, to be fed crafted bytes through [`Side::feed`] or [`Side::inbox`].

use crate::parse::{parse_frames, Frame};
use rand::rngs::StdRng;
use rand::SeedableRng;
use wspc::frame::Opcode;
use wspc::{
    Action, ActionId, ActionKind, BufferType, CloseStatus, Error, HeaderRef, Properties, Property,
    Queue, Role, Session,
};

/// The session type of the kit: owned buffers, `u32` contexts.
pub type Ws = Session<Vec<u8>, u32>;

/// A fresh handle of `role` whose masking keys and nonce come from `seed`.
pub fn session(role: Role, props: &[Property], seed: u64) -> Ws {
    let p = Properties::from_list(role, props).expect("valid properties");
    Session::with_block(
        role,
        p,
        vec![0; p.block_size()],
        StdRng::seed_from_u64(seed),
    )
    .expect("a block of the right size")
}

/// Open `client` and `server` with a handshake between them (the client's headers plus `Host`).
pub fn handshake(client: &mut Ws, server: &mut Ws) {
    let request = client.begin_client_handshake(&[], &[], &[]).unwrap();
    let mut refs: Vec<HeaderRef<'_>> = request.iter().map(|h| h.as_header_ref()).collect();
    refs.push(HeaderRef {
        name: b"Host",
        value: b"example.com",
    });
    let response = server.begin_server_handshake(None, &[], &refs).unwrap();
    let refs: Vec<HeaderRef<'_>> = response.iter().map(|h| h.as_header_ref()).collect();
    let _negotiated = client.end_client_handshake(&refs).unwrap();
    server.end_server_handshake().unwrap();
}

/// The other role.
pub fn peer_of(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

/// The four data buffer types: text and binary, message and fragment.
pub const DATA_TYPES: [BufferType; 4] = [
    BufferType::Utf8Message,
    BufferType::Utf8Fragment,
    BufferType::BinaryMessage,
    BufferType::BinaryFragment,
];

/// The data buffer type of a text or binary piece that ends its message (`last`) or not.
pub fn data_type(text: bool, last: bool) -> BufferType {
    match (text, last) {
        (true, true) => BufferType::Utf8Message,
        (true, false) => BufferType::Utf8Fragment,
        (false, true) => BufferType::BinaryMessage,
        (false, false) => BufferType::BinaryFragment,
    }
}

/// What one side received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Got {
    /// A piece of a message.
    Piece(BufferType, Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close: its status (1006 after an end of stream or an abort) and reason.
    Close(u16, Vec<u8>),
}

/// A check run on every action a side gets (before the side serves it).
pub type Inspect = Box<dyn FnMut(&Action<'_, u32>)>;

/// One side of a pair: its session, bytes in flight towards it, and what it did and received.
pub struct Side {
    /// The handle.
    pub session: Ws,
    /// Bytes the peer wrote that this side has not read yet.
    pub inbox: Vec<u8>,
    /// Every byte this side wrote, in order.
    pub wire: Vec<u8>,
    /// What this side received, in order.
    pub got: Vec<Got>,
    /// Contexts handed back by completing `IndicateSendComplete`, in order.
    pub sends_done: Vec<u32>,
    /// The `sent` flag of each `IndicateSendComplete`, in order.
    pub sends_sent: Vec<bool>,
    /// Contexts handed back by completing `IndicateReceiveComplete`, in order.
    pub recvs_done: Vec<u32>,
    /// Receives posted by [`Side::receive_all`] (the k-th has context `1000 + k`).
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
    /// Bytes per network read, used in turn (the k-th read takes at most `read_sizes[k % len]`,
    /// and at most what the session offers); default: as much as possible.
    pub read_sizes: Vec<usize>,
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

impl Side {
    /// A side around an open (or opening) handle, with nothing in flight.
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
            read_sizes: vec![usize::MAX],
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

    /// Receives posted by [`receive_all`](Self::receive_all) and not completed yet.
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

    /// The frames this side wrote so far (see [`parse_frames`]).
    pub fn wire_frames(&self) -> Vec<Frame> {
        parse_frames(&self.wire)
    }

    /// What was received so far, split: the data pieces, and the rest (pongs and the close).
    pub fn split_got(&self) -> (Vec<Got>, Vec<Got>) {
        self.got
            .iter()
            .cloned()
            .partition(|g| matches!(g, Got::Piece(..)))
    }

    /// The data pieces received so far (no pongs, no close).
    pub fn pieces(&self) -> Vec<Got> {
        self.split_got().0
    }

    /// The opcodes of the frames this side wrote so far.
    pub fn wire_opcodes(&self) -> Vec<Opcode> {
        self.wire_frames().iter().map(Frame::opcode).collect()
    }

    /// The bytes of each `SendToNetwork` action, in order.
    pub fn write_bytes(&self) -> Vec<Vec<u8>> {
        let mut at = 0;
        self.writes
            .iter()
            .map(|lens| {
                let n: usize = lens.iter().sum();
                at += n;
                self.wire[at - n..at].to_vec()
            })
            .collect()
    }

    /// The most the next network read may take from the inbox.
    fn read_size(&self) -> usize {
        self.read_sizes[self.reads.len() % self.read_sizes.len()].max(1)
    }
}

/// A client and a server joined in memory.
pub struct Pair {
    /// The client side; its writes go to the server's inbox.
    pub client: Side,
    /// The server side; its writes go to the client's inbox.
    pub server: Side,
}

impl Pair {
    /// Create both handles with the engine's constructors and run the handshake (client headers
    /// and `Host` → server → client).
    pub fn new(client_props: &[Property], server_props: &[Property]) -> Self {
        Self::from_sessions(
            Session::client(client_props).unwrap(),
            Session::server(server_props).unwrap(),
        )
    }

    /// [`Pair::new`] with seeded randomness: the client's from `seed`, the server's from
    /// `seed ^ 0x5eed` (see [`session`]).
    pub fn seeded(client_props: &[Property], server_props: &[Property], seed: u64) -> Self {
        Self::from_sessions(
            session(Role::Client, client_props, seed),
            session(Role::Server, server_props, seed ^ 0x5eed),
        )
    }

    /// Run the handshake between two fresh handles.
    pub fn from_sessions(mut client: Ws, mut server: Ws) -> Self {
        handshake(&mut client, &mut server);
        Self::joined(client, server)
    }

    /// Join two handles as they are (opened elsewhere, or not yet: no handshake here).
    pub fn joined(client: Ws, server: Ws) -> Self {
        Self {
            client: Side::new(client),
            server: Side::new(server),
        }
    }

    /// The side of `role` and its peer.
    pub fn sides(&mut self, role: Role) -> (&mut Side, &mut Side) {
        match role {
            Role::Client => (&mut self.client, &mut self.server),
            Role::Server => (&mut self.server, &mut self.client),
        }
    }

    /// The handles work: a text message from the client (send context 1) reaches the server
    /// (receive context 2) whole, and is all the server got.
    pub fn assert_text_arrives(&mut self, text: &[u8]) {
        self.client
            .session
            .send(BufferType::Utf8Message, Some(text.to_vec()), 1)
            .unwrap();
        self.server.session.receive(2).unwrap();
        self.run();
        assert_eq!(
            self.server.got,
            [Got::Piece(BufferType::Utf8Message, text.to_vec())]
        );
    }

    /// The side of `role`; the other is dropped.
    pub fn into_side(self, role: Role) -> Side {
        match role {
            Role::Client => self.client,
            Role::Server => self.server,
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
            let before = self.progress();
            let _ = self.client.receive_to(&mut self.server.inbox);
            let _ = self.server.receive_to(&mut self.client.inbox);
            self.run();
            if before == self.progress() {
                return;
            }
        }
    }

    /// What has moved so far: pieces received, bytes written and bytes waiting, per side.
    fn progress(&self) -> [usize; 6] {
        let (c, s) = (&self.client, &self.server);
        [
            c.got.len(),
            s.got.len(),
            c.wire.len(),
            s.wire.len(),
            c.inbox.len(),
            s.inbox.len(),
        ]
    }

    /// The server sends `payload` as one binary message (context 1) and the client receives
    /// everything (see [`Side::receive_all`]); returns what the client got.
    pub fn binary_to_client(&mut self, payload: Vec<u8>) -> Vec<Got> {
        self.server
            .session
            .send(BufferType::BinaryMessage, Some(payload), 1)
            .unwrap();
        self.run_server();
        self.client.receive_all().unwrap()
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

/// An open handle of `role` (from the engine's constructor; its peer is dropped), for feeding
/// crafted frames. Both ends get `props`.
pub fn open(role: Role, props: &[Property]) -> Side {
    Pair::new(props, props).into_side(role)
}

/// [`open`] with seeded randomness (see [`Pair::seeded`]).
pub fn open_seeded(role: Role, props: &[Property], seed: u64) -> Side {
    Pair::seeded(props, props, seed).into_side(role)
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
        let n = me.inbox.len().min(me.read_size());
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
        let read_size = me.read_size();
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
                let n = a.buffer.len().min(me.inbox.len()).min(read_size);
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

/// Concatenate the data pieces of `got` (checking that only the last is final): the message's
/// type as its last piece has it, and its bytes.
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
