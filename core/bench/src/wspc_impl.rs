//! The workloads on wspc's engine, driven through its action loop as an application would (the
//! internal receive buffer, payloads returned for reuse by `complete_action`).

use crate::mem::Mem;
use crate::{Kind, Tally};
use wspc::{Action, BufferType, HeaderRef, Property, Queue, Session};

/// A client and a server session, handshake done through the engine's own functions.
pub fn pair(properties: &[Property]) -> (Session, Session) {
    let mut client = Session::client(properties).expect("client");
    let mut server = Session::server(properties).expect("server");
    let request = client
        .begin_client_handshake(&[], &[], &[])
        .expect("request");
    let mut headers: Vec<HeaderRef<'_>> = request.iter().map(|h| h.as_header_ref()).collect();
    headers.push(HeaderRef {
        name: b"Host",
        value: b"bench",
    });
    let response = server
        .begin_server_handshake(None, &[], &headers)
        .expect("response");
    let response: Vec<HeaderRef<'_>> = response.iter().map(|h| h.as_header_ref()).collect();
    let _negotiated = client.end_client_handshake(&response).expect("open");
    server.end_server_handshake().expect("open");
    (client, server)
}

/// A server receives `n` messages from `wire` with a receive buffer of `rbs` bytes.
pub fn receive(wire: &[u8], n: usize, rbs: usize) -> Tally {
    let (_, mut server) = pair(&[Property::ReceiveBufferSize(rbs as u32)]);
    let mut input = wire;
    let mut tally = Tally::default();
    server.receive(()).expect("receive");
    loop {
        let (id, bytes) = match server.get_action(Queue::Receive).expect("action") {
            Action::ReceiveFromNetwork(a) => {
                let k = a.buffer.len().min(input.len());
                a.buffer[..k].copy_from_slice(&input[..k]);
                input = &input[k..];
                (a.id, k)
            }
            Action::IndicateReceiveComplete(a) => {
                tally.bytes += a.data.len();
                if a.buffer_type.is_final() {
                    tally.messages += 1;
                }
                (a.id, 0)
            }
            Action::SendToNetwork(a) => (a.id, a.total_len()),
            _ => break,
        };
        if server
            .complete_action(id, bytes)
            .expect("complete")
            .is_some()
        {
            if tally.messages == n {
                break;
            }
            server.receive(()).expect("receive");
        }
    }
    tally
}

/// A client that sends messages into a reused sink.
pub struct Sender {
    client: Session,
    out: Vec<u8>,
    spare: Vec<u8>,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    pub fn new() -> Self {
        Self::with(&[])
    }

    pub fn with(properties: &[Property]) -> Self {
        Self {
            client: pair(properties).0,
            out: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Send `n` messages of `payload`; the bytes written.
    pub fn send(&mut self, kind: Kind, payload: &[u8], n: usize) -> &[u8] {
        let bt = message_type(kind);
        self.out.clear();
        for _ in 0..n {
            let mut buf = core::mem::take(&mut self.spare);
            buf.clear();
            buf.extend_from_slice(payload);
            self.client.send(bt, Some(buf), ()).expect("send");
            loop {
                let (id, bytes) = match self.client.get_action(Queue::Send).expect("action") {
                    Action::SendToNetwork(a) => {
                        for b in a.buffers() {
                            self.out.extend_from_slice(b);
                        }
                        (a.id, a.total_len())
                    }
                    Action::IndicateSendComplete(a) => (a.id, 0),
                    _ => break,
                };
                if let Some(done) = self.client.complete_action(id, bytes).expect("complete") {
                    self.spare = done.buffer.unwrap_or_default();
                }
            }
        }
        &self.out
    }

    /// As [`send`](Self::send), through `Session::send_into`: one call per message, the payload
    /// borrowed, the frames appended to the same sink.
    pub fn send_into(&mut self, kind: Kind, payload: &[u8], n: usize) -> &[u8] {
        let bt = message_type(kind);
        self.out.clear();
        for _ in 0..n {
            self.client
                .send_into(bt, payload, &mut self.out)
                .expect("send_into");
        }
        &self.out
    }
}

/// The buffer type of a whole message of `kind`.
fn message_type(kind: Kind) -> BufferType {
    if kind.is_text() {
        BufferType::Utf8Message
    } else {
        BufferType::BinaryMessage
    }
}

/// Serve one session's send queue into `out`.
fn flush(s: &mut Session, out: &mut Vec<u8>, spare: &mut Vec<u8>) {
    loop {
        let (id, bytes) = match s.get_action(Queue::Send).expect("action") {
            Action::SendToNetwork(a) => {
                for b in a.buffers() {
                    out.extend_from_slice(b);
                }
                (a.id, a.total_len())
            }
            Action::IndicateSendComplete(a) => (a.id, 0),
            _ => return,
        };
        if let Some(done) = s.complete_action(id, bytes).expect("complete") {
            if let Some(b) = done.buffer {
                *spare = b;
            }
        }
    }
}

/// Receive one message from `input` (consuming what was read); its bytes go to `msg`.
fn receive_one(s: &mut Session, input: &mut &[u8], msg: &mut Vec<u8>) -> bool {
    msg.clear();
    s.receive(()).expect("receive");
    loop {
        let (id, bytes, fin) = match s.get_action(Queue::Receive).expect("action") {
            Action::ReceiveFromNetwork(a) => {
                let k = a.buffer.len().min(input.len());
                a.buffer[..k].copy_from_slice(&input[..k]);
                *input = &input[k..];
                (a.id, k, false)
            }
            Action::IndicateReceiveComplete(a) => {
                msg.extend_from_slice(a.data);
                (a.id, 0, a.buffer_type.is_final())
            }
            Action::SendToNetwork(a) => (a.id, a.total_len(), false),
            _ => return false,
        };
        if s.complete_action(id, bytes).expect("complete").is_some() {
            if fin {
                return true;
            }
            s.receive(()).expect("receive");
        }
    }
}

/// `n` messages of `payload` from a client to a server and back, one at a time, in memory.
pub fn round_trip(payload: &[u8], n: usize) -> Tally {
    let (mut client, mut server) = pair(&[]);
    let (mut up, mut down) = (Vec::new(), Vec::new());
    let (mut spare_c, mut spare_s, mut msg) = (Vec::new(), Vec::new(), Vec::new());
    let mut tally = Tally::default();
    for _ in 0..n {
        let mut buf = core::mem::take(&mut spare_c);
        buf.clear();
        buf.extend_from_slice(payload);
        client
            .send(BufferType::BinaryMessage, Some(buf), ())
            .expect("send");
        up.clear();
        flush(&mut client, &mut up, &mut spare_c);
        let mut input = &up[..];
        assert!(receive_one(&mut server, &mut input, &mut msg));
        let mut echo = core::mem::take(&mut spare_s);
        echo.clear();
        echo.extend_from_slice(&msg);
        server
            .send(BufferType::BinaryMessage, Some(echo), ())
            .expect("echo");
        down.clear();
        flush(&mut server, &mut down, &mut spare_s);
        let mut input = &down[..];
        assert!(receive_one(&mut client, &mut input, &mut msg));
        tally.messages += 1;
        tally.bytes += msg.len();
    }
    tally
}

/// The server side of the upgrade through the blocking driver: parse `request`, answer 101.
pub fn accept(request: &[u8]) -> Vec<u8> {
    let mut stream = Mem::new(request);
    let ws = wspc::io::accept(&mut stream, &wspc::io::ServerOptions::default()).expect("accept");
    drop(ws);
    stream.output
}

impl wspc::io::Transport for Mem<'_> {}
