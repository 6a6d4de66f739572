//! A handle fed a whole byte stream, as the property tests use it: [`receive_stream`] posts
//! receives one at a time on a [`Side`] and reads the stream in chosen chunks ([`Feed`]),
//! collecting whole messages, pongs and the close ([`Run`]) and how it ended ([`End`]);
//! [`drain_sends`] serves the send queue alone. Both are views of [`Side`]'s own driving.

use crate::pair::{Got, Side};
use crate::parse::parse_lax;
use wspc::{ActionKind, Error, ProtocolError, Queue};

/// Something a receiver delivered, as the application sees it (messages whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A text (`true`) or binary message.
    Msg(bool, Vec<u8>),
    /// A ping (tungstenite reports them; wspc answers them itself).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame: status (1005 for none) and reason.
    Close(u16, Vec<u8>),
}

/// How wspc's receiving ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// A close frame arrived (the last event).
    Closed,
    /// `get_action` returned this protocol error.
    Failed(ProtocolError),
    /// The input ended: the receive completed as a close with status 1006.
    Eof,
    /// The input ran out and no end of stream was signalled: a read is waiting.
    Starved,
}

impl End {
    /// The close status the application fails or closes the connection with (1006 for Eof),
    /// `None` for Closed and Starved.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Failed(p) => Some(p.close_status().0),
            Self::Eof => Some(1006),
            Self::Closed | Self::Starved => None,
        }
    }
}

/// How [`receive_stream`] feeds the stream.
#[derive(Clone, Debug)]
pub struct Feed {
    /// Bytes per network read, used in turn (cycled); each read is also capped by the free space
    /// the session offers.
    pub reads: Vec<usize>,
    /// Signal the end of stream (a 0-byte read) once the stream is used up.
    pub eof: bool,
    /// Receive into a caller buffer of this size (`receive_into`) instead of the internal one.
    pub caller_buffer: Option<usize>,
}

impl Feed {
    /// Everything in as few reads as the session allows, then the end of stream.
    pub fn whole() -> Self {
        Self {
            reads: vec![usize::MAX],
            eof: true,
            caller_buffer: None,
        }
    }
}

/// What wspc delivered from a stream.
#[derive(Clone, Debug)]
pub struct Run {
    /// Whole messages, pongs and the close, in order.
    pub events: Vec<Event>,
    /// The pieces of a message that had not ended when receiving stopped: text?, bytes.
    pub partial: Option<(bool, Vec<u8>)>,
    /// How receiving ended.
    pub end: End,
    /// Everything the session wrote meanwhile (automatic pongs).
    pub wire: Vec<u8>,
    /// The longest data piece delivered (pongs and close reasons always come from the internal
    /// buffer).
    pub max_piece: usize,
    /// Bytes of the stream handed to the session.
    pub fed: usize,
}

impl Run {
    /// The payloads of the pongs the session wrote.
    pub fn pongs(&self) -> Vec<Vec<u8>> {
        let (frames, used) = parse_lax(&self.wire);
        assert_eq!(used, self.wire.len(), "a partial frame written");
        frames
            .into_iter()
            .map(|f| {
                assert_eq!(f.head.b0(), 0x8A, "only pongs are written: {f:?}");
                f.payload
            })
            .collect()
    }
}

/// Receive `stream` on `side` (its inbox empty) as `feed` says, with [`Side::receive_all`]: until
/// a close arrives, `get_action` fails, the end of stream completes a receive, or (with
/// `feed.eof` false) the stream is used up. Everything else the session has to do meanwhile
/// (pongs) is served too.
pub fn receive_stream(side: &mut Side, stream: &[u8], feed: &Feed) -> Run {
    assert!(side.inbox.is_empty(), "bytes left from before");
    let (got_at, wire_at) = (side.got.len(), side.wire.len());
    let (posted_at, done_at) = (side.recvs_posted, side.recvs_done.len());
    side.inbox.extend_from_slice(stream);
    side.read_sizes.clone_from(&feed.reads);
    side.eof = feed.eof;
    side.receive_buffer = feed.caller_buffer;
    let result = side.receive_all();
    // Each receive completed with its own context, in order.
    let posted: Vec<u32> = (posted_at + 1..=side.recvs_posted)
        .map(|k| 1000 + k)
        .collect();
    let done = &side.recvs_done[done_at..];
    assert_eq!(
        done,
        &posted[..done.len()],
        "a receive completed with another's context"
    );
    let mut run = Run {
        events: Vec::new(),
        partial: None,
        end: End::Starved,
        wire: side.wire[wire_at..].to_vec(),
        max_piece: 0,
        fed: stream.len() - side.inbox.len(),
    };
    for got in &side.got[got_at..] {
        match got.clone() {
            Got::Close(status, data) => {
                assert_ne!(status, 0, "a close has a status");
                if status == 1006 {
                    run.end = End::Eof;
                } else {
                    run.events.push(Event::Close(status, data));
                    run.end = End::Closed;
                }
            }
            Got::Pong(data) => run.events.push(Event::Pong(data)),
            Got::Piece(t, data) => {
                run.max_piece = run.max_piece.max(data.len());
                let (text, mut bytes) = run.partial.take().unwrap_or((t.is_text(), vec![]));
                assert_eq!(text, t.is_text(), "a message changed type");
                bytes.extend_from_slice(&data);
                if t.is_final() {
                    run.events.push(Event::Msg(text, bytes));
                } else {
                    run.partial = Some((text, bytes));
                }
            }
        }
    }
    match result {
        Ok(_) => {}
        Err(Error::Protocol(p)) => run.end = End::Failed(p),
        Err(e) => panic!("receive_stream: {e:?}"),
    }
    run
}

/// Serve `side`'s send queue alone (writes completed in full, `capacity` buffers at most) until
/// it is idle; returns the bytes written and the contexts of the sends that completed, with
/// their `sent` flags.
pub fn drain_sends(side: &mut Side, capacity: usize) -> (Vec<u8>, Vec<(u32, bool)>) {
    let queues = std::mem::replace(&mut side.queues, vec![Queue::Send]);
    let capacity = std::mem::replace(&mut side.capacity, capacity);
    let (wire_at, log_at) = (side.wire.len(), side.log.len());
    let (done_at, sent_at) = (side.sends_done.len(), side.sends_sent.len());
    side.drive_alone();
    side.queues = queues;
    side.capacity = capacity;
    assert_eq!(side.error, None, "get_action failed on the send queue");
    for kind in &side.log[log_at..] {
        assert!(
            matches!(
                kind,
                ActionKind::SendToNetwork | ActionKind::IndicateSendComplete
            ),
            "{kind:?} on the send queue"
        );
    }
    let done = &side.sends_done[done_at..];
    let sent = &side.sends_sent[sent_at..];
    assert_eq!(
        done.len(),
        sent.len(),
        "a send completion without its context"
    );
    let done = done.iter().copied().zip(sent.iter().copied()).collect();
    (side.wire[wire_at..].to_vec(), done)
}
