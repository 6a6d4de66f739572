//! A client handle and a server handle talk through the action loop, with no sockets: each side's
//! `SendToNetwork` bytes are appended to the other side's inbox, and its `ReceiveFromNetwork`
//! actions are served from its own inbox.
//!
//! Run with `cargo run --example loopback`.

use wspc::{Action, BufferType, CloseStatus, HeaderRef, Property, Queue, Session};

/// One endpoint: its handle and the bytes on their way to it.
struct Peer {
    name: &'static str,
    session: Session<Vec<u8>, &'static str>,
    inbox: Vec<u8>,
    /// A network read waiting for bytes.
    waiting_read: Option<wspc::ActionId>,
    /// The type of the last piece received.
    last: Option<BufferType>,
}

impl Peer {
    /// Serve one action; bytes written go to `other`. Returns false when idle.
    fn step(&mut self, other: &mut Vec<u8>) -> bool {
        if let (Some(id), false) = (self.waiting_read, self.inbox.is_empty()) {
            let Some(Action::ReceiveFromNetwork(read)) = self.session.outstanding_action(id) else {
                unreachable!("the read is outstanding until completed")
            };
            let n = read.buffer.len().min(self.inbox.len());
            read.buffer[..n].copy_from_slice(&self.inbox[..n]);
            self.inbox.drain(..n);
            self.waiting_read = None;
            self.session
                .complete_action(id, n)
                .expect("outstanding read");
            return true;
        }
        let action = match self.session.get_action(Queue::All) {
            Ok(action) => action,
            Err(e) => panic!("{}: {e}", self.name),
        };
        let (id, bytes) = match action {
            Action::NoAction => return false,
            Action::SendToNetwork(send) => {
                for buffer in send.buffers() {
                    other.extend_from_slice(buffer);
                }
                let what = send.context.copied().unwrap_or("automatic pong");
                println!(
                    "{:>6} wrote {:>5} bytes ({what})",
                    self.name,
                    send.total_len()
                );
                (send.id, send.total_len())
            }
            Action::IndicateSendComplete(done) => {
                println!("{:>6} send complete: {}", self.name, done.context);
                (done.id, 0)
            }
            Action::ReceiveFromNetwork(read) => {
                if self.inbox.is_empty() {
                    self.waiting_read = Some(read.id);
                    return false;
                }
                let n = read.buffer.len().min(self.inbox.len());
                read.buffer[..n].copy_from_slice(&self.inbox[..n]);
                self.inbox.drain(..n);
                (read.id, n)
            }
            Action::IndicateReceiveComplete(piece) => {
                match piece.buffer_type {
                    BufferType::Close => println!(
                        "{:>6} received close {} {:?}",
                        self.name,
                        piece.close_status.map_or(0, |s| s.0),
                        String::from_utf8_lossy(piece.data)
                    ),
                    BufferType::PingPong => println!("{:>6} received a pong", self.name),
                    t if t.is_text() => {
                        let text = String::from_utf8_lossy(piece.data);
                        let preview: String = text.chars().take(24).collect();
                        let more = if text.len() > preview.len() {
                            "..."
                        } else {
                            ""
                        };
                        println!(
                            "{:>6} received {t:?} ({} bytes): {preview:?}{more}",
                            self.name,
                            piece.data.len()
                        )
                    }
                    t => println!(
                        "{:>6} received {t:?}: {} bytes",
                        self.name,
                        piece.data.len()
                    ),
                }
                self.last = Some(piece.buffer_type);
                (piece.id, 0)
            }
        };
        self.session
            .complete_action(id, bytes)
            .expect("outstanding action");
        true
    }
}

/// Run both sides until neither has anything to do.
fn pump(a: &mut Peer, b: &mut Peer) {
    while a.step(&mut b.inbox) | b.step(&mut a.inbox) {}
}

/// Post receives on `to` until one whole message (or a control frame) has arrived.
fn receive_message(to: &mut Peer, from: &mut Peer) -> Result<(), wspc::Error> {
    loop {
        to.last = None;
        to.session.receive("receive")?;
        pump(to, from);
        match to.last {
            Some(t) if !t.is_final() => continue,
            _ => return Ok(()),
        }
    }
}

fn main() -> Result<(), wspc::Error> {
    // Small buffers so that the large message below crosses many of them.
    let props = [
        Property::ReceiveBufferSize(256),
        Property::SendBufferSize(256),
    ];
    let mut client = Peer {
        name: "client",
        session: Session::client(&props)?,
        inbox: Vec::new(),
        waiting_read: None,
        last: None,
    };
    let mut server = Peer {
        name: "server",
        session: Session::server(&props)?,
        inbox: Vec::new(),
        waiting_read: None,
        last: None,
    };

    // The handshake: the client's headers (plus Host) go to the server, the server's back.
    let request = client.session.begin_client_handshake(&["chat"], &[], &[])?;
    let mut headers: Vec<HeaderRef<'_>> = request.iter().map(|h| h.as_header_ref()).collect();
    headers.push(HeaderRef {
        name: b"Host",
        value: b"loopback",
    });
    for h in &headers {
        println!(
            "client -> {}: {}",
            String::from_utf8_lossy(h.name),
            String::from_utf8_lossy(h.value)
        );
    }
    let response = server
        .session
        .begin_server_handshake(Some("chat"), &[], &headers)?;
    let headers: Vec<HeaderRef<'_>> = response.iter().map(|h| h.as_header_ref()).collect();
    for h in &headers {
        println!(
            "server -> {}: {}",
            String::from_utf8_lossy(h.name),
            String::from_utf8_lossy(h.value)
        );
    }
    let negotiated = client.session.end_client_handshake(&headers)?;
    server.session.end_server_handshake()?;
    println!("negotiated subprotocol index: {:?}", negotiated.subprotocol);

    // Text and binary, client to server.
    client.session.send(
        BufferType::Utf8Message,
        Some("héllo, wörld".as_bytes().to_vec()),
        "text",
    )?;
    client
        .session
        .send(BufferType::BinaryMessage, Some(vec![0xAB; 100]), "binary")?;
    // A fragmented message larger than the buffers, with a ping between its fragments.
    client.session.send(
        BufferType::Utf8Fragment,
        Some("a".repeat(700).into_bytes()),
        "fragment 1",
    )?;
    client.session.send(BufferType::PingPong, None, "ping")?;
    client.session.send(
        BufferType::Utf8Message,
        Some("b".repeat(300).into_bytes()),
        "fragment 2",
    )?;
    pump(&mut client, &mut server);
    for _ in 0..3 {
        receive_message(&mut server, &mut client)?;
    }
    // The ping between the fragments was answered automatically; the pong reaches the client.
    receive_message(&mut client, &mut server)?;

    // The server closes; the client answers with its own close.
    server
        .session
        .send_close(CloseStatus::SUCCESS, Some(b"done".to_vec()), "close")?;
    receive_message(&mut client, &mut server)?;
    client
        .session
        .send_close(CloseStatus::SUCCESS, None, "close reply")?;
    receive_message(&mut server, &mut client)?;
    println!(
        "close sent/received: client {}/{}, server {}/{}",
        client.session.close_sent(),
        client.session.close_received(),
        server.session.close_sent(),
        server.session.close_received()
    );
    Ok(())
}
