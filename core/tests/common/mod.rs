//! Test support: a client and a server session joined in memory, driven until idle.
#![allow(dead_code, unreachable_pub)]

use wspc::{Action, BufferType, CloseStatus, HeaderRef, Property, Queue, Session};

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

/// One side of a pair: its session, bytes in flight towards it, and what it received.
pub struct Side {
    pub session: Session<Vec<u8>, u32>,
    pub inbox: Vec<u8>,
    pub got: Vec<Got>,
    pub sends_done: Vec<u32>,
    pub error: Option<wspc::Error>,
    /// Bytes per network read (to exercise chunking).
    pub read_size: usize,
    /// A network read waiting for bytes.
    pub pending_read: Option<wspc::ActionId>,
}

pub struct Pair {
    pub client: Side,
    pub server: Side,
}

fn side(session: Session<Vec<u8>, u32>) -> Side {
    Side {
        session,
        inbox: Vec::new(),
        got: Vec::new(),
        sends_done: Vec::new(),
        error: None,
        read_size: usize::MAX,
        pending_read: None,
    }
}

impl Pair {
    /// Create both handles and run the handshake (client headers + Host → server → client).
    pub fn new(client_props: &[Property], server_props: &[Property]) -> Self {
        let mut client = Session::client(client_props).unwrap();
        let mut server = Session::server(server_props).unwrap();
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
        Self {
            client: side(client),
            server: side(server),
        }
    }

    /// Drive both sides on the all-queue until neither has anything to do.
    pub fn run(&mut self) {
        loop {
            let a = step(&mut self.client, &mut self.server.inbox);
            let b = step(&mut self.server, &mut self.client.inbox);
            if !a && !b {
                return;
            }
        }
    }
}

/// One action of `me`; written bytes go to `peer_inbox`. Returns false when there was none.
pub fn step(me: &mut Side, peer_inbox: &mut Vec<u8>) -> bool {
    if me.error.is_some() {
        return false;
    }
    if let (Some(id), false) = (me.pending_read, me.inbox.is_empty()) {
        // A read is outstanding: serve it once bytes have arrived.
        let n = me.inbox.len().min(me.read_size);
        let Some(Action::ReceiveFromNetwork(a)) = me.session.outstanding_action(id) else {
            panic!("read {id:?} no longer outstanding");
        };
        let n = n.min(a.buffer.len());
        a.buffer[..n].copy_from_slice(&me.inbox[..n]);
        me.inbox.drain(..n);
        me.pending_read = None;
        me.session.complete_action(id, n).unwrap();
        return true;
    }
    let action = match me.session.get_action(Queue::All) {
        Ok(a) => a,
        Err(e) => {
            me.error = Some(e);
            return false;
        }
    };
    let (id, n) = match action {
        Action::NoAction => return false,
        Action::SendToNetwork(a) => {
            for b in a.buffers() {
                peer_inbox.extend_from_slice(b);
            }
            (a.id, a.total_len())
        }
        Action::ReceiveFromNetwork(a) => {
            let n = a.buffer.len().min(me.inbox.len()).min(me.read_size);
            if n == 0 {
                // Nothing in flight yet: keep the read outstanding until bytes arrive.
                me.pending_read = Some(a.id);
                return false;
            }
            a.buffer[..n].copy_from_slice(&me.inbox[..n]);
            me.inbox.drain(..n);
            (a.id, n)
        }
        Action::IndicateSendComplete(a) => {
            me.sends_done.push(*a.context);
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
    me.session.complete_action(id, n).unwrap();
    true
}
