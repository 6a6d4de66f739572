//! The workloads on tungstenite 0.30 (blocking `WebSocket` over in-memory streams).

use crate::mem::{Mem, Pipe};
use crate::{Kind, Tally};
use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tungstenite::{Bytes, Message};

fn config(read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .max_message_size(None)
        .max_frame_size(None)
}

/// A server receives `n` messages from `wire` with a read buffer of `rbs` bytes.
pub fn receive(wire: &[u8], n: usize, rbs: usize) -> Tally {
    let mut ws = WebSocket::from_raw_socket(Mem::new(wire), Role::Server, Some(config(rbs)));
    let mut tally = Tally::default();
    while tally.messages < n {
        match ws.read().expect("read") {
            Message::Text(t) => tally.bytes += t.len(),
            Message::Binary(b) => tally.bytes += b.len(),
            _ => continue,
        }
        tally.messages += 1;
    }
    tally
}

/// A client that sends messages into a reused sink.
pub struct Sender {
    ws: WebSocket<Mem<'static>>,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    pub fn new() -> Self {
        Self {
            ws: WebSocket::from_raw_socket(Mem::new(&[]), Role::Client, Some(config(4096))),
        }
    }

    /// Send `n` messages of `payload`; the bytes written.
    pub fn send(&mut self, kind: Kind, payload: &[u8], n: usize) -> &[u8] {
        self.ws.get_mut().output.clear();
        // One owned copy of the payload, shared by every message (tungstenite's `Bytes`).
        let bytes = Bytes::copy_from_slice(payload);
        for _ in 0..n {
            let m = if kind.is_text() {
                Message::Text(bytes.clone().try_into().expect("UTF-8"))
            } else {
                Message::Binary(bytes.clone())
            };
            self.ws.send(m).expect("send");
        }
        &self.ws.get_ref().output
    }
}

/// `n` messages of `payload` from a client to a server and back, one at a time, in memory.
pub fn round_trip(payload: &[u8], n: usize) -> Tally {
    let mut client = WebSocket::from_raw_socket(Pipe::default(), Role::Client, Some(config(4096)));
    let mut server = WebSocket::from_raw_socket(Pipe::default(), Role::Server, Some(config(4096)));
    let bytes = Bytes::copy_from_slice(payload);
    let mut tally = Tally::default();
    for _ in 0..n {
        client.send(Message::Binary(bytes.clone())).expect("send");
        let up = core::mem::take(&mut client.get_mut().output);
        server.get_mut().feed(&up);
        client.get_mut().output = recycle(up);
        let m = server.read().expect("read");
        server.send(m).expect("echo");
        let down = core::mem::take(&mut server.get_mut().output);
        client.get_mut().feed(&down);
        server.get_mut().output = recycle(down);
        let m = client.read().expect("read");
        tally.messages += 1;
        tally.bytes += m.len();
    }
    tally
}

fn recycle(mut v: Vec<u8>) -> Vec<u8> {
    v.clear();
    v
}

/// The server side of the upgrade: parse `request`, answer 101.
pub fn accept(request: &[u8]) -> Vec<u8> {
    let mut stream = Mem::new(request);
    let ws = tungstenite::accept(&mut stream).expect("accept");
    drop(ws);
    stream.output
}
