//! tungstenite, an independent implementation, as the oracle of the property tests (feature
//! `oracle`): a socket of either role over memory ([`Duplex`], [`oracle`]) and [`oracle_read`] to
//! collect what it received, as [`Event`]s comparable with [`crate::stream::Run`]'s.

use crate::stream::Event;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use wspc::Role;

/// An in-memory transport: reads come from `input` (0 bytes, end of stream, once it is empty),
/// writes go to `output`.
#[derive(Debug, Default)]
pub struct Duplex {
    /// What reads return.
    pub input: VecDeque<u8>,
    /// What was written.
    pub output: Vec<u8>,
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// tungstenite's frame size limit as configured here. Every stream the tests give it is shorter,
/// so a frame declaring more cannot complete: its `Capacity` error means the same as running out
/// of input ([`OracleEnd::Eof`]), and the limit causes no divergence of its own. (Without a limit
/// it would try to reserve the declared length, up to 2⁶⁴ − 1 bytes.)
pub const ORACLE_MAX_FRAME: usize = 16 << 20;

/// A tungstenite socket of `role` (no handshake: as after one) reading `input`. No message size
/// limit; writes go straight to the transport.
pub fn oracle(role: Role, input: Vec<u8>) -> tungstenite::WebSocket<Duplex> {
    assert!(input.len() < ORACLE_MAX_FRAME);
    let role = match role {
        Role::Client => tungstenite::protocol::Role::Client,
        Role::Server => tungstenite::protocol::Role::Server,
    };
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(Some(ORACLE_MAX_FRAME))
        .write_buffer_size(0);
    let duplex = Duplex {
        input: input.into(),
        output: Vec::new(),
    };
    tungstenite::WebSocket::from_raw_socket(duplex, role, Some(config))
}

/// How tungstenite's reading ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OracleEnd {
    /// A close frame arrived (the last event).
    Closed,
    /// It failed the connection; the status is the one the RFC asks for (1002 for a protocol
    /// error, 1007 for invalid UTF-8), and the text is tungstenite's error.
    Failed(u16, String),
    /// The input ended (also for a frame over [`ORACLE_MAX_FRAME`], which cannot complete).
    Eof,
}

/// What tungstenite received.
#[derive(Clone, Debug)]
pub struct OracleRun {
    /// What it delivered, pings included.
    pub events: Vec<Event>,
    /// How it ended.
    pub end: OracleEnd,
    /// What it wrote back (pongs, the close reply).
    pub wire: Vec<u8>,
}

/// Read `ws` until a close, an error or the end of its input.
pub fn oracle_read(ws: &mut tungstenite::WebSocket<Duplex>) -> OracleRun {
    use tungstenite::error::{Error as TError, ProtocolError as TProtocol};
    use tungstenite::Message;
    let mut events = Vec::new();
    let end = loop {
        match ws.read() {
            Ok(Message::Text(t)) => events.push(Event::Msg(true, t.as_bytes().to_vec())),
            Ok(Message::Binary(b)) => events.push(Event::Msg(false, b.to_vec())),
            Ok(Message::Ping(p)) => events.push(Event::Ping(p.to_vec())),
            Ok(Message::Pong(p)) => events.push(Event::Pong(p.to_vec())),
            Ok(Message::Close(c)) => {
                events.push(match c {
                    Some(c) => Event::Close(c.code.into(), c.reason.as_bytes().to_vec()),
                    None => Event::Close(1005, Vec::new()),
                });
                break OracleEnd::Closed;
            }
            Ok(Message::Frame(_)) => unreachable!("read never returns raw frames"),
            Err(TError::Protocol(TProtocol::ResetWithoutClosingHandshake)) => break OracleEnd::Eof,
            Err(TError::Capacity(_)) => break OracleEnd::Eof,
            Err(TError::Protocol(p)) => break OracleEnd::Failed(1002, p.to_string()),
            Err(TError::Utf8(e)) => break OracleEnd::Failed(1007, e),
            Err(other) => panic!("tungstenite: unexpected error {other:?}"),
        }
    };
    // Flush the reply to a close (or a last pong); errors past a close are of no interest.
    let _ = ws.flush();
    OracleRun {
        events,
        end,
        wire: std::mem::take(&mut ws.get_mut().output),
    }
}
