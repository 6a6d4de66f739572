//! The workloads on fastwebsockets 0.10 (its tokio `WebSocket` over in-memory streams, run by a
//! poll loop: nothing ever waits). Its read buffer is not configurable.

use crate::mem::{run, Link, Mem};
use crate::{Kind, Tally};
use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, Role, WebSocket};

/// A server receives `n` messages from `wire`. Text is checked to be UTF-8 as in the other
/// libraries: through `FragmentCollector`, which is also what assembles messages.
pub fn receive(wire: &[u8], n: usize, _kind: Kind) -> Tally {
    run(async {
        let mut ws = WebSocket::after_handshake(Mem::new(wire), Role::Server);
        ws.set_max_message_size(usize::MAX);
        ws.set_auto_close(false);
        let mut ws = FragmentCollector::new(ws);
        let mut tally = Tally::default();
        while tally.messages < n {
            let frame = ws.read_frame().await.expect("read");
            if matches!(frame.opcode, OpCode::Text | OpCode::Binary) {
                tally.messages += 1;
                tally.bytes += frame.payload.len();
            }
        }
        tally
    })
}

/// A client that sends messages into a reused sink.
pub struct Sender {
    ws: WebSocket<Link>,
    link: Link,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    pub fn new() -> Self {
        let link = Link::default();
        let mut ws = WebSocket::after_handshake(link.clone(), Role::Client);
        ws.set_writev(false);
        Self { ws, link }
    }

    /// Send `n` messages of `payload`; the bytes written.
    pub fn send(&mut self, kind: Kind, payload: &[u8], n: usize) -> Vec<u8> {
        let ws = &mut self.ws;
        run(async {
            for _ in 0..n {
                let p = Payload::Borrowed(payload);
                let frame = if kind.is_text() {
                    Frame::text(p)
                } else {
                    Frame::binary(p)
                };
                ws.write_frame(frame).await.expect("send");
            }
        });
        self.link.write.borrow_mut().take()
    }
}

/// `n` messages of `payload` from a client to a server and back, one at a time, in memory.
pub fn round_trip(payload: &[u8], n: usize) -> Tally {
    run(async {
        let (a, b) = Link::pair();
        let mut client = WebSocket::after_handshake(a, Role::Client);
        let mut server = WebSocket::after_handshake(b, Role::Server);
        client.set_writev(false);
        server.set_writev(false);
        let mut tally = Tally::default();
        for _ in 0..n {
            client
                .write_frame(Frame::binary(Payload::Borrowed(payload)))
                .await
                .expect("send");
            let frame = server.read_frame().await.expect("read");
            let echo = Frame::binary(Payload::Owned(frame.payload.to_vec()));
            server.write_frame(echo).await.expect("echo");
            let frame = client.read_frame().await.expect("read");
            tally.messages += 1;
            tally.bytes += frame.payload.len();
        }
        tally
    })
}
