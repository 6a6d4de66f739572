//! The one pump both drivers run: it serves a [`Session`]'s actions without doing I/O itself.
//!
//! A driver asks [`Conn::write_buf`] for bytes to write and reports progress with
//! [`Conn::wrote`]; it asks [`Conn::next_event`] (pieces) or [`Conn::next_message`] (whole
//! messages) what the receive side needs, reads into [`Conn::read_buf`] when told to and reports
//! with [`Conn::did_read`]. Actions stay outstanding in the session while the I/O waits, so a
//! read that times out or would block leaves the session exactly as it was: the next call picks
//! the same action up again.
//!
//! Writes come from both queues (the application's sends, and the automatic pongs of the receive
//! queue), but the engine never has two writes outstanding (it keeps frames whole on the wire),
//! so one slot holds the write in progress, whichever side issued it.

use super::message::{buffers, Assembler, CloseFrame, Message, Piece};
use crate::close::CloseStatus;
use crate::error::Error;
use crate::frame::{FrameHeader, Status};
use crate::session::action::{Action, ActionId, BufferType, Queue};
use crate::session::Session;
use std::io::IoSlice;

/// The payload of keep-alive pings; the pongs answering them are not delivered.
const KEEPALIVE: &[u8] = b"wspc keep-alive";

/// Writes whose two buffers (a frame header and its payload) total at most this many bytes are
/// copied into one, so that they go out with one plain `write` instead of a `writev`.
pub(crate) const COALESCE_MAX: usize = 1024;

/// Messages (and streamed pieces) of at most this many payload bytes are framed straight into
/// the connection's own write buffer with [`Session::send_into`] when nothing else is queued:
/// one engine call instead of the action loop's six, and several such messages go out in one
/// write. Larger ones go through the action loop, which writes the payload from the message
/// itself instead of copying it.
pub(crate) const DIRECT_MAX: usize = 4 * 1024;

/// The size of the staging buffer that reads go into once one filled the session's receive
/// buffer (see [`Conn::read_buf`]): a 16 KiB message then takes one read instead of five (with
/// the default 4 KiB receive buffer), and a 1 MiB one 32 instead of 256.
pub(crate) const STAGE_BYTES: usize = 32 * 1024;

/// Room for [`coalesce`] to join two small buffers in, on the writer's stack; made (zeroed)
/// only when two buffers are joined, not for every write.
pub(crate) type Scratch = Option<[u8; COALESCE_MAX]>;

/// The buffers of [`Conn::write_buf`] as one slice (`Ok`) for a plain write: the first when the
/// second is empty, or both copied into `scratch` when they fit in [`COALESCE_MAX`] bytes; else
/// (`Err`) as they are, for a vectored write.
pub(crate) fn coalesce<'a>(
    bufs: [&'a [u8]; 2],
    scratch: &'a mut Scratch,
) -> Result<&'a [u8], [IoSlice<'a>; 2]> {
    let [first, second] = bufs;
    if second.is_empty() {
        return Ok(first);
    }
    let total = first.len() + second.len();
    if total > COALESCE_MAX {
        return Err([IoSlice::new(first), IoSlice::new(second)]);
    }
    let both = &mut scratch.insert([0; COALESCE_MAX])[..total];
    let (a, b) = both.split_at_mut(first.len());
    a.copy_from_slice(first);
    b.copy_from_slice(second);
    Ok(both)
}

/// The payload size from which a staged frame's header is served alone (see
/// [`Conn::serve_payload`]); smaller frames are served with their neighbours, one engine turn
/// for many.
const SERVE_HEADER_FROM: u64 = 1024;

/// The length of the header `bytes` begin with, if it is an uncompressed data frame's
/// announcing at least [`SERVE_HEADER_FROM`] payload bytes (a compressed one's payload goes
/// through the decompressor anyway). A hint only: the bytes might continue a header the session
/// holds part of, and the session judges the header it reads either way.
fn header_of_large_frame(bytes: &[u8]) -> Option<usize> {
    match FrameHeader::decode(bytes) {
        Ok(Status::Complete((h, n)))
            if !h.opcode.is_control() && h.rsv == 0 && h.payload_len >= SERVE_HEADER_FROM =>
        {
            Some(n)
        }
        _ => None,
    }
}

/// What the receive side needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Read from the transport into [`Conn::read_buf`], then call [`Conn::did_read`].
    Read,
    /// An automatic pong is ready in [`Conn::write_buf`]; reading may go on meanwhile.
    Write,
    /// A piece is ready: [`Conn::piece`].
    Piece,
    /// A ping arrived while the previous pong is still being written: finish that write
    /// ([`Conn::write_buf`]) before reading on.
    Blocked,
    /// No more receives: the peer's close was delivered or the stream ended.
    Ended,
}

/// What a driver's receive loop does next ([`Conn::next`]).
#[derive(Debug)]
pub(crate) enum Next {
    /// As [`Step::Read`].
    Read,
    /// As [`Step::Write`].
    Write,
    /// As [`Step::Blocked`].
    Blocked,
    /// As [`Step::Ended`].
    Ended,
    /// A piece is ready in [`Conn::piece`] (piece-level reads).
    Piece,
    /// A whole message, a pong or the peer's close (already answered) is ready in
    /// [`Conn::take_message`] (message-level reads). The message is not carried here: a
    /// payload-free `Next` comes back from [`Conn::next`] in registers rather than through
    /// memory, on the path every message takes.
    Message,
}

/// Bytes read ahead of the session: past the HTTP head, or staged.
#[derive(Debug, Default)]
struct ReadAhead {
    /// Bytes read past the HTTP head, served before the transport is read again.
    leftover: Vec<u8>,
    leftover_at: usize,
    /// Staged reads: once a read fills the session's receive buffer, reads go into `stage`
    /// ([`STAGE_BYTES`]) and the session takes its bytes from there; a read that the receive
    /// buffer could have held ends this. Small messages never use a stage.
    staging: bool,
    /// Taken from the thread's [`stages`] for a read, and given back as soon as its bytes are
    /// all served (see there); empty in between.
    stage: Vec<u8>,
    /// The bytes of `stage` read and not yet served to the session.
    staged: core::ops::Range<usize>,
}

impl ReadAhead {
    /// The bytes not yet served: the leftover first, then the stage's.
    fn rest(&self) -> &[u8] {
        if self.leftover_at < self.leftover.len() {
            &self.leftover[self.leftover_at..]
        } else {
            self.stage.get(self.staged.clone()).unwrap_or_default()
        }
    }

    /// `n` bytes of [`rest`](Self::rest) went to the session.
    fn served(&mut self, n: usize) {
        if self.leftover_at < self.leftover.len() {
            self.leftover_at += n;
            if self.leftover_at == self.leftover.len() {
                self.leftover = Vec::new();
                self.leftover_at = 0;
            }
            return;
        }
        self.staged.start += n;
        self.give_back_stage();
    }

    /// The stage to read into: this connection's if it still holds one, else one from the
    /// thread's pool.
    fn stage_for_read(&mut self) -> &mut [u8] {
        if self.stage.len() != STAGE_BYTES {
            self.stage = stages::take();
        }
        &mut self.stage
    }

    /// Gives the stage back to the thread's pool once its bytes are all served.
    fn give_back_stage(&mut self) {
        if self.staged.is_empty() && !self.stage.is_empty() {
            self.staged = 0..0;
            stages::give_back(core::mem::take(&mut self.stage));
        }
    }
}

/// The stages of the connections driven on this thread, shared: a connection holds one only
/// from a staged read until its bytes are served, which with one message in flight per
/// connection is within the one poll that reads it. So the next connection's read lands in the
/// memory the last one just used, still in the CPU's caches, where a stage per connection (32
/// KiB each, a few hundred connections) had the kernel copy each message into memory cold for
/// hundreds of messages; and an idle connection holds no stage at all. Like uWebSockets' one
/// receive buffer per event loop, without tying a connection to a thread: a stage taken on one
/// thread may be given back on another.
mod stages {
    use super::super::pool::Pool;
    use super::STAGE_BYTES;

    thread_local! {
        static STAGES: Pool = const { Pool::new() };
    }

    /// A stage of [`STAGE_BYTES`] bytes: the last one given back on this thread, or a new one.
    pub(super) fn take() -> Vec<u8> {
        Pool::take(&STAGES, |stage| stage.len() == STAGE_BYTES)
            .unwrap_or_else(|| vec![0; STAGE_BYTES])
    }

    pub(super) fn give_back(stage: Vec<u8>) {
        Pool::give_back(&STAGES, stage);
    }
}

#[derive(Debug)]
pub(crate) struct Conn {
    session: Session,
    /// Bytes read and not yet served to the session.
    ahead: ReadAhead,
    /// Frames written with [`Session::send_into`] (see [`DIRECT_MAX`]) and not yet on the wire,
    /// from `out_at`. They go out before any `SendToNetwork` of the engine: nothing is framed
    /// into `out` while the engine has a send queued or a write outstanding.
    out: Vec<u8>,
    out_at: usize,
    /// The payload bytes of the messages in `out` and `big` (part of
    /// [`queued_bytes`](Self::queued_bytes)).
    out_payload: usize,
    /// The payload of a larger message whose frame header is at the end of `out` (see
    /// [`Session::send_header_into`]), written from here after `out`, from `big_at`; empty if
    /// none. No frame is added to `out` while it waits.
    big: Vec<u8>,
    big_at: usize,
    /// The outstanding `SendToNetwork` and how many of its bytes are written.
    write: Option<(ActionId, usize)>,
    /// The outstanding `ReceiveFromNetwork`.
    read: Option<ActionId>,
    /// The length of the receive buffer [`read_buf`](Self::read_buf) last handed out (a read
    /// that fills it turns staging on).
    read_room: usize,
    /// A data piece handed out, completed on the next receive call.
    held: Option<ActionId>,
    /// A control piece (pong, close), copied out so its action could complete at once.
    control: Option<(BufferType, Option<CloseStatus>, Vec<u8>)>,
    receive_queued: bool,
    ended: bool,
    assembler: Assembler,
    /// Messages are assembled (the last receive call was for messages, not pieces).
    whole: bool,
    /// The message [`Next::Message`] announces, for [`take_message`](Self::take_message); a
    /// message ended by bytes served straight into the assembler (see
    /// [`serve_payload`](Self::serve_payload)) waits here for the next `next_message`.
    assembled: Option<Message>,
    /// Payload bytes of sends not yet completed.
    queued: usize,
    /// Sends queued in the engine and not yet completed (keep-alive pings and close answers
    /// included), so a driver knows there is writing to do.
    sends: usize,
    /// An abort dropped sends that were not completely written.
    lost: bool,
    /// Our close frame is completely written (the close clock starts here).
    close_written: bool,
    /// A keep-alive ping is out and no pong has come since.
    awaiting_pong: bool,
}

impl Conn {
    pub(crate) fn new(session: Session, leftover: Vec<u8>, max_message: Option<usize>) -> Self {
        Self {
            session,
            ahead: ReadAhead {
                leftover,
                ..ReadAhead::default()
            },
            out: Vec::new(),
            out_at: 0,
            out_payload: 0,
            big: Vec::new(),
            big_at: 0,
            write: None,
            read: None,
            read_room: 0,
            held: None,
            control: None,
            receive_queued: false,
            ended: false,
            whole: false,
            assembled: None,
            assembler: Assembler::new(max_message),
            queued: 0,
            sends: 0,
            lost: false,
            close_written: false,
            awaiting_pong: false,
        }
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    // ----- sending ----------------------------------------------------------------------------

    /// Frame a small data message or piece, ping or pong straight into `out` when the engine has
    /// nothing queued (see [`DIRECT_MAX`]); false if it must go through the engine's queue.
    fn direct(&mut self, buffer_type: BufferType, payload: &[u8]) -> bool {
        let framed = payload.len() <= DIRECT_MAX
            && self.direct_ok()
            // The same rules as `send`; an error here (data after our close, say) is reported
            // by the queued send that follows, which refuses it the same way.
            && self
                .session
                .send_into(buffer_type, payload, &mut self.out)
                .is_ok();
        if framed {
            self.out_payload += payload.len();
        }
        framed
    }

    /// Nothing is queued in the engine or waits after `out`: a frame may go into `out`.
    fn direct_ok(&self) -> bool {
        self.write.is_none() && self.sends == 0 && self.big.is_empty()
    }

    /// [`direct_ok`](Self::direct_ok), and the payload goes on the wire as it is (no
    /// permessage-deflate): a larger message may be framed with [`direct_big`](Self::direct_big).
    fn big_ok(&self) -> bool {
        self.direct_ok() && !self.session.compresses()
    }

    /// Frame a larger data message: its header goes into `out`, its payload is written from the
    /// message itself after it, without a copy, with one engine call instead of the action
    /// loop's six. The caller checked [`big_ok`](Self::big_ok). `Err` gives the payload back
    /// unchanged, nothing framed: it then goes through the engine's queue, which reports any
    /// error of the send.
    fn direct_big(&mut self, buffer_type: BufferType, mut payload: Vec<u8>) -> Result<(), Vec<u8>> {
        if self
            .session
            .send_header_into(buffer_type, &mut payload, &mut self.out)
            .is_err()
        {
            return Err(payload);
        }
        self.out_payload += payload.len();
        self.big = payload;
        self.big_at = 0;
        Ok(())
    }

    /// Queue `message` for sending (it is written by serving [`write_buf`](Self::write_buf)).
    pub(crate) fn queue(&mut self, message: Message) -> Result<(), Error> {
        let message = match message {
            Message::Text(s) if s.len() > DIRECT_MAX && self.big_ok() => {
                match self.direct_big(BufferType::Utf8Message, s.into_bytes()) {
                    Ok(()) => return Ok(()),
                    // Given back unchanged (nothing was framed), so still the text it was:
                    // the check cannot fail.
                    Err(b) => Message::Text(wspc_simd::string_from_utf8(b).unwrap_or_default()),
                }
            }
            Message::Binary(b) if b.len() > DIRECT_MAX && self.big_ok() => {
                match self.direct_big(BufferType::BinaryMessage, b) {
                    Ok(()) => return Ok(()),
                    Err(b) => Message::Binary(b),
                }
            }
            m => m,
        };
        let direct = match &message {
            Message::Text(s) => self.direct(BufferType::Utf8Message, s.as_bytes()),
            Message::Binary(b) => self.direct(BufferType::BinaryMessage, b),
            Message::Ping(p) => self.direct(BufferType::PingPong, p),
            Message::Pong(p) => self.direct(BufferType::UnsolicitedPong, p),
            Message::Close(_) => false,
        };
        if direct {
            return Ok(());
        }
        let len = message.len();
        match message {
            Message::Text(s) => {
                self.session
                    .send(BufferType::Utf8Message, Some(s.into_bytes()), ())?
            }
            Message::Binary(b) => self.session.send(BufferType::BinaryMessage, Some(b), ())?,
            Message::Ping(p) => self.session.send_control(BufferType::PingPong, p, ())?,
            Message::Pong(p) => self
                .session
                .send_control(BufferType::UnsolicitedPong, p, ())?,
            Message::Close(None) => self.session.send(BufferType::Close, None, ())?,
            Message::Close(Some(CloseFrame { code, reason })) => {
                let reason = (!reason.is_empty()).then(|| reason.into_bytes());
                self.session.send_close(code, reason, ())?;
            }
        }
        self.queued += len;
        self.sends += 1;
        Ok(())
    }

    /// Queue one piece of a message being streamed: `*_FRAGMENT` pieces, then a `*_MESSAGE`.
    pub(crate) fn queue_piece(
        &mut self,
        buffer_type: BufferType,
        data: Vec<u8>,
    ) -> Result<(), Error> {
        if !buffer_type.is_data() {
            return Err(Error::arg(
                "a piece is a text or binary fragment or message",
            ));
        }
        if self.direct(buffer_type, &data) {
            return Ok(());
        }
        let len = data.len();
        self.session.send(buffer_type, Some(data), ())?;
        self.queued += len;
        self.sends += 1;
        Ok(())
    }

    /// A keep-alive ping; [`awaiting_pong`](Self::awaiting_pong) until a pong arrives.
    pub(crate) fn queue_keepalive(&mut self) -> Result<(), Error> {
        self.session
            .send_control(BufferType::PingPong, KEEPALIVE.to_vec(), ())?;
        self.sends += 1;
        self.awaiting_pong = true;
        Ok(())
    }

    pub(crate) fn awaiting_pong(&self) -> bool {
        self.awaiting_pong
    }

    /// Payload bytes queued and not yet written.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued + self.out_payload
    }

    /// The bytes still to write of the write in progress, taking the next one from the send
    /// queue if none is; `None` when nothing is left to write.
    pub(crate) fn write_buf(&mut self) -> Result<Option<[&[u8]; 2]>, Error> {
        if self.out_at < self.out.len() {
            return Ok(Some([&self.out[self.out_at..], &self.big]));
        }
        if self.big_at < self.big.len() {
            return Ok(Some([&self.big[self.big_at..], &[]]));
        }
        if self.write.is_none()
            && (self.read.is_some() || self.held.is_some())
            && self.session.owes_pong()
        {
            // A pong owed while the wire was busy goes first. With the receive side's action
            // outstanding, the receive queue can only hand out that pong; the writing side takes
            // it, so it does not wait for the peer's next bytes.
            if let Action::SendToNetwork(a) = self.session.get_action(Queue::Receive)? {
                self.write = Some((a.id, 0));
            }
        }
        while self.write.is_none() && self.session.sends_queued() {
            match self.session.get_action(Queue::Send)? {
                Action::SendToNetwork(a) => self.write = Some((a.id, 0)),
                Action::IndicateSendComplete(a) => {
                    let (id, len) = (a.id, a.payload.map_or(0, <[u8]>::len));
                    if a.buffer_type == BufferType::Close && a.sent {
                        self.close_written = true;
                    }
                    let done = self.session.complete_action(id, 0)?;
                    if let Some(buffer) = done.and_then(|d| d.buffer) {
                        buffers::give_back(buffer);
                    }
                    self.queued = self.queued.saturating_sub(len);
                    self.sends = self.sends.saturating_sub(1);
                }
                _ => break,
            }
        }
        let Some((id, done)) = self.write else {
            return Ok(None);
        };
        let Some(Action::SendToNetwork(a)) = self.session.outstanding_action(id) else {
            self.write = None;
            return Ok(None);
        };
        let bufs = a.buffers();
        let first = bufs.first().copied().unwrap_or_default();
        let second = bufs.get(1).copied().unwrap_or_default();
        Ok(Some(if done < first.len() {
            [&first[done..], second]
        } else {
            [&second[done - first.len()..], &[]]
        }))
    }

    /// `n` more bytes of the write in progress went out.
    pub(crate) fn wrote(&mut self, mut n: usize) -> Result<(), Error> {
        if self.out_at < self.out.len() || self.big_at < self.big.len() {
            let in_out = n.min(self.out.len() - self.out_at);
            self.out_at += in_out;
            n -= in_out;
            self.big_at = (self.big_at + n).min(self.big.len());
            if self.out_at >= self.out.len() && self.big_at >= self.big.len() {
                self.out_at = 0;
                self.out_payload = 0;
                self.out.clear();
                // Kept for the next small messages, unless a burst of them grew it.
                if self.out.capacity() > 2 * DIRECT_MAX {
                    self.out = Vec::new();
                }
                buffers::give_back(core::mem::take(&mut self.big));
                self.big_at = 0;
            }
            return Ok(());
        }
        let Some((id, done)) = self.write.as_mut() else {
            return Ok(());
        };
        *done += n;
        let (id, done) = (*id, *done);
        let total = match self.session.outstanding_action(id) {
            Some(Action::SendToNetwork(a)) => a.total_len(),
            _ => 0,
        };
        if done >= total {
            self.write = None;
            self.session.complete_action(id, total)?;
        }
        Ok(())
    }

    /// True while a write is in progress or sends are queued.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn wants_write(&self) -> bool {
        self.write.is_some()
            || self.sends > 0
            || self.out_at < self.out.len()
            || self.big_at < self.big.len()
    }

    /// True once our close frame is completely written.
    pub(crate) fn close_written(&self) -> bool {
        self.close_written
    }

    /// True if an abort dropped sends that were not completely written.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn lost_sends(&self) -> bool {
        self.lost
    }

    // ----- receiving --------------------------------------------------------------------------

    fn release(&mut self) -> Result<(), Error> {
        self.control = None;
        if let Some(id) = self.held.take() {
            self.session.complete_action(id, 0)?;
        }
        Ok(())
    }

    /// What the receive side needs next. A protocol error is returned here (and again on every
    /// later call); the driver then fails the connection with [`fail`](Self::fail). With
    /// messages assembled (`whole`), bytes already read that are payload of the incoming
    /// data frame go straight into the assembler ([`Self::serve`]).
    fn next_event(&mut self) -> Result<Step, Error> {
        self.release()?;
        if self.read.is_some() {
            // A pong owed while the wire was busy goes out as soon as it is free.
            if self.write.is_none() && self.session.owes_pong() {
                if let Action::SendToNetwork(a) = self.session.get_action(Queue::Receive)? {
                    self.write = Some((a.id, 0));
                    return Ok(Step::Write);
                }
            }
            return Ok(Step::Read);
        }
        if self.ended {
            return Ok(Step::Ended);
        }
        loop {
            if !self.receive_queued {
                if self.session.is_aborted() {
                    self.ended = true;
                    return Ok(Step::Ended);
                }
                self.session.receive(())?;
                self.receive_queued = true;
            }
            match self.session.get_action(Queue::Receive)? {
                Action::SendToNetwork(a) => {
                    debug_assert!(self.write.is_none(), "the engine keeps one write at a time");
                    self.write = Some((a.id, 0));
                    return Ok(Step::Write);
                }
                Action::ReceiveFromNetwork(a) => {
                    let id = a.id;
                    // Bytes already read (past the HTTP head, or staged) go first.
                    if self.ahead.rest().is_empty() {
                        self.read = Some(id);
                        return Ok(Step::Read);
                    }
                    if let Some(m) = self.serve(id)? {
                        self.assembled = Some(m);
                        return Ok(Step::Piece);
                    }
                }
                Action::IndicateReceiveComplete(a) => {
                    self.receive_queued = false;
                    let id = a.id;
                    if a.buffer_type.is_data() {
                        if self.whole && a.buffer_type.is_final() {
                            // The last piece of a message goes into it at once, and the action
                            // completes now, not on the next call after a second lookup.
                            let got = self.assembler.push(a.buffer_type, a.data, 0);
                            self.session.complete_action(id, 0)?;
                            self.assembled = got?;
                            return Ok(Step::Piece);
                        }
                        self.held = Some(id);
                        return Ok(Step::Piece);
                    }
                    let (bt, status) = (a.buffer_type, a.close_status);
                    // Only the answer to our own keep-alive ping ends the wait for it.
                    let keepalive =
                        self.awaiting_pong && bt == BufferType::PingPong && a.data == KEEPALIVE;
                    if !keepalive {
                        self.control = Some((bt, status, a.data.to_vec()));
                    }
                    self.session.complete_action(id, 0)?;
                    if bt == BufferType::Close {
                        self.ended = true;
                        let reason = self.control.as_ref().map(|(_, _, r)| r.clone());
                        self.answer_close(status, reason.unwrap_or_default());
                    } else if keepalive {
                        self.awaiting_pong = false;
                    }
                    if keepalive {
                        // The answer to our own keep-alive ping: the driver's business only.
                        continue;
                    }
                    return Ok(Step::Piece);
                }
                Action::IndicateSendComplete(_) | Action::NoAction => {
                    return Ok(
                        if self.session.is_aborted() || self.session.close_received() {
                            self.ended = true;
                            Step::Ended
                        } else {
                            Step::Blocked
                        },
                    )
                }
            }
        }
    }

    /// The peer's close arrived: answer it with the same status and reason (RFC 6455 §5.5.1:
    /// "typically echos the status code"; the reason is echoed too, as Python `websockets`
    /// does, so the peer sees its own words back), or with an empty close if it had no status,
    /// unless ours is already out or the stream ended. A reason that is not UTF-8 (possible only
    /// with `DisableUtf8Verification`) is not echoed: the status goes back alone.
    fn answer_close(&mut self, status: Option<CloseStatus>, reason: Vec<u8>) {
        if self.session.close_sent() || self.session.is_aborted() {
            return;
        }
        let reason = (!reason.is_empty() && crate::utf8::validate(&reason)).then_some(reason);
        let sent = match status.filter(|s| s.is_valid_on_wire()) {
            Some(s) => self.session.send_close(s, reason, ()),
            None => self.session.send(BufferType::Close, None, ()),
        };
        if sent.is_ok() {
            self.sends += 1;
        }
    }

    /// Completes the outstanding read `id` from the bytes read ahead ([`ReadAhead::rest`], not
    /// empty): payload of the incoming data frame goes straight into the message
    /// ([`serve_payload`](Self::serve_payload)) when messages are assembled; anything else is
    /// copied into the session's receive buffer, a large frame's header alone so that its payload
    /// goes straight on next. Returns the message if the bytes ended one.
    fn serve(&mut self, id: ActionId) -> Result<Option<Message>, Error> {
        let pending = if self.whole {
            self.session.payload_pending()
        } else {
            0
        };
        if pending > 0 {
            let rest = self.ahead.rest().len();
            let n = rest.min(usize::try_from(pending).unwrap_or(usize::MAX));
            if self.assembler.fits(n) {
                return self.serve_payload(id, n, pending);
            }
        }
        let Some(Action::ReceiveFromNetwork(a)) = self.session.outstanding_action(id) else {
            return Err(Error::state("the read is not outstanding"));
        };
        let rest = self.ahead.rest();
        let mut n = rest.len().min(a.buffer.len());
        if self.whole && pending == 0 {
            n = n.min(header_of_large_frame(rest).unwrap_or(n));
        }
        a.buffer[..n].copy_from_slice(&rest[..n]);
        self.ahead.served(n);
        self.session.complete_action(id, n)?;
        Ok(None)
    }

    /// The first `n` bytes of [`ReadAhead::rest`], all payload of the incoming data frame
    /// (`pending` bytes of it to come in all), complete the read `id` by going straight into
    /// the assembler: one copy, where the receive buffer takes two (into it, and out into the
    /// message). Returns the message if they end it. A protocol error in them (bad UTF-8) has
    /// failed the session, whose next `get_action` reports it.
    fn serve_payload(
        &mut self,
        id: ActionId,
        n: usize,
        pending: u64,
    ) -> Result<Option<Message>, Error> {
        let rest = self.ahead.rest();
        let out = self.assembler.reserve(n, pending);
        let done = self.session.complete_receive_into(id, &rest[..n], out);
        self.ahead.served(n);
        match done {
            Ok(buffer_type) => self.assembler.appended(buffer_type),
            Err(Error::Protocol(_)) => {
                self.assembler.discard();
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The buffer to read into after [`Step::Read`]: the free part of the session's receive
    /// buffer, or the stage while reads are staged (see [`STAGE_BYTES`]).
    pub(crate) fn read_buf(&mut self) -> &mut [u8] {
        if self.read.is_none() {
            return &mut [];
        }
        if self.ahead.staging {
            return self.ahead.stage_for_read();
        }
        let buf = match self.read.and_then(|id| self.session.outstanding_action(id)) {
            Some(Action::ReceiveFromNetwork(a)) => a.buffer,
            _ => &mut [],
        };
        self.read_room = buf.len();
        buf
    }

    /// The read into [`read_buf`](Self::read_buf) did not happen (it would block, or failed):
    /// a stage taken for it goes back to the thread's pool while the connection waits.
    pub(crate) fn no_read(&mut self) {
        self.ahead.give_back_stage();
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf); 0 is the end of the stream.
    pub(crate) fn did_read(&mut self, n: usize) -> Result<(), Error> {
        let Some(id) = self.read.take() else {
            return Ok(());
        };
        let rbs = self.session.properties().receive_buffer_size as usize;
        if !self.ahead.staging {
            // A read that fills the receive buffer suggests more is waiting: stage the next
            // (unless the receive buffer is as large as the stage).
            self.ahead.staging = n > 0 && n == self.read_room && rbs < STAGE_BYTES;
            return self.session.complete_action(id, n).map(drop);
        }
        // A read the receive buffer could have held: back to reading into it after this one.
        let n = n.min(self.ahead.stage.len());
        self.ahead.staging = n > rbs;
        self.ahead.staged = 0..n;
        if n == 0 {
            self.ahead.give_back_stage();
            return self.session.complete_action(id, 0).map(drop);
        }
        self.assembled = self.serve(id)?;
        Ok(())
    }

    /// The piece after [`Step::Piece`].
    pub(crate) fn piece(&mut self) -> Piece<'_> {
        if let Some((buffer_type, close_status, data)) = &self.control {
            return Piece {
                buffer_type: *buffer_type,
                data,
                close_status: *close_status,
            };
        }
        match self.held.and_then(|id| self.session.outstanding_action(id)) {
            Some(Action::IndicateReceiveComplete(a)) => Piece {
                buffer_type: a.buffer_type,
                data: a.data,
                close_status: a.close_status,
            },
            _ => Piece {
                buffer_type: BufferType::Close,
                data: &[],
                close_status: Some(CloseStatus::ABORTED),
            },
        }
    }

    /// The next thing a driver's receive loop does: with `whole`, whole messages
    /// ([`next_message`](Self::next_message)); without, pieces ([`next_event`](Self::next_event)).
    pub(crate) fn next(&mut self, whole: bool) -> Result<Next, Error> {
        if whole {
            return self.next_message();
        }
        self.whole = false;
        Ok(match self.next_event()? {
            Step::Read => Next::Read,
            Step::Write => Next::Write,
            Step::Blocked => Next::Blocked,
            Step::Ended => Next::Ended,
            Step::Piece => Next::Piece,
        })
    }

    /// The message after [`Next::Message`] (`None` once taken).
    pub(crate) fn take_message(&mut self) -> Option<Message> {
        self.assembled.take()
    }

    /// As [`next_event`](Self::next_event), assembling data pieces into whole messages under the
    /// cap (a longer message is [`ProtocolError::MessageTooBig`](crate::ProtocolError)).
    pub(crate) fn next_message(&mut self) -> Result<Next, Error> {
        self.whole = true;
        loop {
            // A message that bytes served straight into the assembler ended (`serve`).
            if self.assembled.is_some() {
                return Ok(Next::Message);
            }
            match self.next_event()? {
                Step::Read => return Ok(Next::Read),
                Step::Write => return Ok(Next::Write),
                Step::Blocked => return Ok(Next::Blocked),
                Step::Ended => return Ok(Next::Ended),
                Step::Piece => {}
            }
            if let Some((bt, status, data)) = self.control.take() {
                self.assembled = Some(match status {
                    _ if bt != BufferType::Close => Message::Pong(data),
                    // The stream ended without a close frame: no message, the end.
                    Some(CloseStatus::ABORTED) => return Ok(Next::Ended),
                    // A close frame without a status.
                    Some(CloseStatus::EMPTY) | None => Message::Close(None),
                    Some(code) => Message::Close(Some(CloseFrame {
                        code,
                        reason: String::from_utf8_lossy(&data).into_owned(),
                    })),
                });
                return Ok(Next::Message);
            }
            // A held piece is one that does not end its message: `next_event` puts a last piece
            // into the message itself (`assembled`, returned at the top of the loop).
            let more = self.session.frame_remaining();
            let Some(Action::IndicateReceiveComplete(a)) =
                self.held.and_then(|id| self.session.outstanding_action(id))
            else {
                continue;
            };
            if let Some(message) = self.assembler.push(a.buffer_type, a.data, more)? {
                self.assembled = Some(message);
                return Ok(Next::Message);
            }
        }
    }

    // ----- failing and closing ----------------------------------------------------------------

    /// Fail the connection after `error` (RFC 6455 §7.1.7): queue the close it calls for, unless
    /// one is out already. The driver then writes it, shuts its write side and drains input.
    pub(crate) fn fail(&mut self, error: &Error) {
        self.ended = true;
        if let Some(status) = error.close_status() {
            self.fail_with(status);
        }
    }

    /// Queue a close with `status` to fail the connection, unless one is out already.
    pub(crate) fn fail_with(&mut self, status: CloseStatus) {
        self.ended = true;
        if !self.session.close_sent()
            && !self.session.is_aborted()
            && self.session.send_close(status, None, ()).is_ok()
        {
            self.sends += 1;
        }
    }

    pub(crate) fn close_sent(&self) -> bool {
        self.session.close_sent()
    }

    pub(crate) fn close_received(&self) -> bool {
        self.session.close_received()
    }

    /// True once nothing more will be received.
    pub(crate) fn ended(&self) -> bool {
        self.ended || self.session.is_aborted()
    }

    /// Stop all I/O: the write in progress is cancelled, the read is ended, queued operations
    /// drain as completions.
    pub(crate) fn abort(&mut self) {
        self.ended = true;
        self.lost |= self.wants_write();
        self.out = Vec::new();
        self.out_at = 0;
        self.big = Vec::new();
        self.big_at = 0;
        self.out_payload = 0;
        let write = self.write.take().map(|(id, _)| id);
        for id in [write, self.read.take(), self.held.take()]
            .into_iter()
            .flatten()
        {
            let _ = self.session.complete_action(id, 0);
        }
        self.session.abort();
        while let Ok(action) = self.session.get_action(Queue::All) {
            let Some(id) = action.id() else { break };
            if self.session.complete_action(id, 0).is_err() {
                break;
            }
        }
        self.queued = 0;
        self.sends = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::{coalesce, Conn, Next, COALESCE_MAX, DIRECT_MAX, STAGE_BYTES};
    use crate::driver::message::Message;
    use crate::session::action::BufferType;
    use crate::session::Session;
    use std::io::IoSlice;

    /// The frames a client writes for `messages` (binary), to be read by a server.
    fn client_wire(messages: &[Vec<u8>]) -> Vec<u8> {
        let mut client: Session = Session::client(&[]).unwrap();
        client.open_without_handshake();
        let mut wire = Vec::new();
        for m in messages {
            client
                .send_into(BufferType::BinaryMessage, m, &mut wire)
                .unwrap();
        }
        wire
    }

    /// A server's `Conn` reading `wire`, each read taking at most `chunk(k)` bytes for the k-th
    /// read (and what the buffer holds): the messages it delivered and the number of reads.
    fn read_all(wire: &[u8], chunk: impl FnMut(usize) -> usize) -> (Vec<Vec<u8>>, usize, Conn) {
        read_all_with(&[], wire, chunk)
    }

    /// [`read_all`] with a server of these properties.
    fn read_all_with(
        properties: &[crate::properties::Property],
        wire: &[u8],
        mut chunk: impl FnMut(usize) -> usize,
    ) -> (Vec<Vec<u8>>, usize, Conn) {
        let mut server: Session = Session::server(properties).unwrap();
        server.open_without_handshake();
        let mut conn = Conn::new(server, Vec::new(), None);
        let (mut input, mut reads, mut got) = (wire, 0, Vec::new());
        loop {
            match conn.next_message().unwrap() {
                Next::Read if input.is_empty() => return (got, reads, conn),
                Next::Read => {
                    let buf = conn.read_buf();
                    let n = buf.len().min(input.len()).min(chunk(reads).max(1));
                    buf[..n].copy_from_slice(&input[..n]);
                    input = &input[n..];
                    reads += 1;
                    conn.did_read(n).unwrap();
                }
                Next::Message => match conn.take_message() {
                    Some(Message::Binary(m)) => got.push(m),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_last_piece_of_a_message_is_completed_as_the_message_is_returned() {
        // A small message in one read: once it is out, nothing of it is left outstanding in
        // the engine for the next call to release, and it is handed out once.
        let wire = client_wire(&[vec![5u8; 20]]);
        let mut conn = open_conn(false);
        assert!(matches!(conn.next_message().unwrap(), Next::Read));
        conn.read_buf()[..wire.len()].copy_from_slice(&wire);
        conn.did_read(wire.len()).unwrap();
        assert!(matches!(conn.next_message().unwrap(), Next::Message));
        assert!(conn.held.is_none(), "the last piece's action is completed");
        assert_eq!(conn.take_message(), Some(Message::Binary(vec![5; 20])));
        assert_eq!(conn.take_message(), None);
        assert!(matches!(conn.next_message().unwrap(), Next::Read));
    }

    /// A server's `Conn` with a cap reading `wire` in reads of `chunk` bytes: each message, or
    /// the error that ended the reading.
    fn read_messages(
        wire: &[u8],
        chunk: usize,
        max: Option<usize>,
    ) -> Vec<Result<Message, crate::Error>> {
        let mut server: Session = Session::server(&[]).unwrap();
        server.open_without_handshake();
        let mut conn = Conn::new(server, Vec::new(), max);
        let (mut input, mut got) = (wire, Vec::new());
        loop {
            match conn.next_message() {
                Ok(Next::Read) if input.is_empty() => return got,
                Ok(Next::Read) => {
                    let buf = conn.read_buf();
                    let n = buf.len().min(input.len()).min(chunk);
                    buf[..n].copy_from_slice(&input[..n]);
                    input = &input[n..];
                    conn.did_read(n).unwrap();
                }
                Ok(Next::Message) => got.extend(conn.take_message().map(Ok)),
                Ok(other) => panic!("{other:?}"),
                Err(e) => {
                    got.push(Err(e));
                    return got;
                }
            }
        }
    }

    #[test]
    fn connections_on_one_thread_share_a_stage_between_messages() {
        // Like the echo benchmark: each connection reads one large message in reads as large as
        // the buffer, then waits. The stage goes back with its bytes served, the next
        // connection's read lands in that same memory, and a waiting connection holds none.
        let message = vec![7u8; 20_000];
        let wire = client_wire(std::slice::from_ref(&message));
        let mut stages = Vec::new();
        let mut conns = Vec::new();
        for _ in 0..2 {
            let mut conn = open_conn(false);
            let mut input = &wire[..];
            loop {
                match conn.next_message().unwrap() {
                    Next::Read => {
                        let buf = conn.read_buf();
                        if buf.len() == STAGE_BYTES {
                            stages.push(buf.as_ptr() as usize);
                        }
                        let n = buf.len().min(input.len());
                        buf[..n].copy_from_slice(&input[..n]);
                        input = &input[n..];
                        conn.did_read(n).unwrap();
                    }
                    Next::Message => {
                        assert!(conn.take_message() == Some(Message::Binary(message.clone())));
                        break;
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(
                conn.ahead.stage.capacity(),
                0,
                "the stage went back, served"
            );
            conns.push(conn);
        }
        assert_eq!(
            stages.len(),
            2,
            "one staged read per connection: {stages:?}"
        );
        assert_eq!(
            stages[0], stages[1],
            "the second read went into the first one's stage"
        );
        // Still staging (the last read filled more than the receive buffer): the next read
        // takes a stage, and gives it back when the read would block.
        let conn = &mut conns[0];
        assert!(matches!(conn.next_message().unwrap(), Next::Read));
        assert_eq!(conn.read_buf().len(), STAGE_BYTES);
        conn.no_read();
        assert_eq!(conn.ahead.stage.capacity(), 0);
    }

    #[test]
    fn a_message_sent_back_lends_its_buffer_to_the_next_one_received() {
        // An echo: the message received is sent back; once written, its buffer is where the
        // next message is assembled, instead of a new allocation.
        let wire = client_wire(&[vec![1u8; 20_000], vec![2u8; 20_000]]);
        let mut conn = open_conn(false);
        let mut input = &wire[..];
        let mut buffers = Vec::new();
        while buffers.len() < 2 {
            match conn.next_message().unwrap() {
                Next::Read => {
                    let buf = conn.read_buf();
                    let n = buf.len().min(input.len());
                    buf[..n].copy_from_slice(&input[..n]);
                    input = &input[n..];
                    conn.did_read(n).unwrap();
                }
                Next::Message => {
                    let Some(Message::Binary(m)) = conn.take_message() else {
                        panic!("not a binary message");
                    };
                    assert!(m.iter().all(|&b| usize::from(b) == buffers.len() + 1));
                    assert_eq!(super::buffers::kept(), 0, "the kept buffer was taken");
                    buffers.push(m.as_ptr() as usize);
                    conn.queue(Message::Binary(m)).unwrap();
                    let echoed = write_all(&mut conn, usize::MAX);
                    assert_eq!(echoed.len(), 4 + 20_000);
                    assert_eq!(super::buffers::kept(), 1, "the buffer written was kept");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            buffers[0], buffers[1],
            "the second message reused the first one's buffer"
        );
    }

    #[test]
    fn staged_payload_served_straight_into_the_message_keeps_text_checked() {
        // Text of 2-, 3- and 4-byte characters, in messages of one frame and of several, so that
        // characters are cut at every read and frame boundary of the staged path.
        let text: String = (0..30_000u32)
            .map(|i| ['a', 'é', '€', '𝄞'][(i % 4) as usize])
            .collect();
        let mut client: Session = Session::client(&[]).unwrap();
        client.open_without_handshake();
        let mut wire = Vec::new();
        client
            .send_into(BufferType::Utf8Message, text.as_bytes(), &mut wire)
            .unwrap();
        let bytes = text.as_bytes();
        let (a, b) = bytes.split_at(9_001);
        let (b, c) = b.split_at(20_002);
        client
            .send_into(BufferType::Utf8Fragment, a, &mut wire)
            .unwrap();
        client
            .send_into(BufferType::Utf8Fragment, b, &mut wire)
            .unwrap();
        client
            .send_into(BufferType::Utf8Message, c, &mut wire)
            .unwrap();
        for chunk in [4096, 5000, 9000, 40_000, usize::MAX] {
            let got = read_messages(&wire, chunk, None);
            assert_eq!(got.len(), 2, "chunk {chunk}");
            for m in got {
                assert_eq!(m.unwrap(), Message::Text(text.clone()), "chunk {chunk}");
            }
        }
        // A byte that is not UTF-8 deep in a large text message, past the first receive
        // buffer, fails the message as 1007 (invalid payload).
        let mut bad = text.clone().into_bytes();
        bad[50_000] = 0xff;
        let mut wire = Vec::new();
        client
            .send_into(BufferType::BinaryMessage, &bad, &mut wire)
            .unwrap();
        wire[0] = 0x81; // the same payload, sent as text
        for chunk in [4096, 40_000, usize::MAX] {
            let got = read_messages(&wire, chunk, None);
            let e = got.last().unwrap().as_ref().unwrap_err();
            assert_eq!(
                *e,
                crate::Error::Protocol(crate::ProtocolError::InvalidUtf8),
                "chunk {chunk}"
            );
            assert_eq!(e.close_status(), Some(crate::CloseStatus(1007)));
        }
    }

    #[test]
    fn staged_payload_past_the_cap_is_refused_before_it_is_stored() {
        let big = vec![3u8; 100_000];
        let wire = client_wire(&[big.clone(), big]);
        let got = read_messages(&wire, usize::MAX, Some(60_000));
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].as_ref().unwrap_err(),
            &crate::Error::Protocol(crate::ProtocolError::MessageTooBig)
        );
        let got = read_messages(&wire, usize::MAX, Some(100_000));
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|m| m.as_ref().unwrap().len() == 100_000));
    }

    #[test]
    fn a_large_message_is_read_through_the_stage_in_few_reads() {
        let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let (got, reads, conn) = read_all(&client_wire(std::slice::from_ref(&big)), |_| usize::MAX);
        assert_eq!(got, [big]);
        // One read fills the 4 KiB receive buffer, the rest go through the stage.
        assert!(reads <= 2 + (1 << 20) / STAGE_BYTES, "{reads} reads");
        assert!(conn.ahead.staging, "still streaming a large message");
    }

    #[test]
    fn a_receive_buffer_as_large_as_the_stage_is_read_into_directly() {
        let big = vec![5u8; 1 << 20];
        let rbs = crate::properties::Property::ReceiveBufferSize(STAGE_BYTES as u32);
        let wire = client_wire(std::slice::from_ref(&big));
        let (got, reads, conn) = read_all_with(&[rbs], &wire, |_| usize::MAX);
        assert_eq!(got, [big]);
        assert!(reads <= 2 + (1 << 20) / STAGE_BYTES, "{reads} reads");
        assert_eq!(conn.ahead.stage.capacity(), 0);
    }

    #[test]
    fn small_messages_never_allocate_the_stage() {
        let small: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 20]).collect();
        let wire = client_wire(&small);
        // One message per read, as a peer waiting for each echo sends them.
        let (got, reads, conn) = read_all(&wire, |_| 26);
        assert_eq!(got, small);
        assert_eq!(reads, 100);
        assert_eq!(conn.ahead.stage.capacity(), 0);
    }

    #[test]
    fn any_read_sizes_deliver_every_message_and_free_the_stage_after() {
        // Large and small messages mixed, so reads enter and leave the stage, with reads of
        // every size from a byte to more than the stage.
        let messages: Vec<Vec<u8>> = (0..40u32)
            .map(|i| {
                let len = [0, 7, 125, 4096, 20_000, 70_000][i as usize % 6] + i as usize;
                (0..len).map(|j| (j as u32 * 7 + i) as u8).collect()
            })
            .collect();
        let wire = client_wire(&messages);
        for seed in 1..=20u64 {
            let mut x = seed;
            let (got, _, _) = read_all(&wire, |_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                [1, 3, 100, 4095, 4096, 5000, 40_000][(x % 7) as usize]
            });
            assert_eq!(got, messages, "seed {seed}");
        }
        // After a large message, small reads go back to the receive buffer, the stage freed.
        let mut tail = vec![vec![1u8; 200_000]];
        tail.extend((0..10u8).map(|i| vec![i; 10]));
        let wire = client_wire(&tail);
        let big_end = wire.len() - 10 * 16;
        let mut at = 0;
        let (got, _, conn) = read_all(&wire, |_| {
            let n = if at < big_end { big_end - at } else { 16 };
            at += n.min(STAGE_BYTES);
            n
        });
        assert_eq!(got, tail);
        assert!(!conn.ahead.staging);
        assert_eq!(conn.ahead.stage.capacity(), 0);
    }

    /// A server `Conn` writing everything queued in writes of at most `chunk` bytes.
    fn write_all(conn: &mut Conn, chunk: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        while let Some(bufs) = conn.write_buf().unwrap() {
            let mut scratch = None;
            let one: Vec<u8> = match coalesce(bufs, &mut scratch) {
                Ok(one) => one.to_vec(),
                Err(slices) => slices.iter().flat_map(|s| s.to_vec()).collect(),
            };
            let n = one.len().min(chunk);
            wire.extend_from_slice(&one[..n]);
            conn.wrote(n).unwrap();
        }
        wire
    }

    /// An open connection of a client or a server (no handshake), default properties.
    fn open_conn(client: bool) -> Conn {
        let session: Result<Session, _> = if client {
            Session::client(&[])
        } else {
            Session::server(&[])
        };
        let mut session = session.unwrap();
        session.open_without_handshake();
        Conn::new(session, Vec::new(), None)
    }

    /// The frames of `wire`, which must end with a whole one (written in writes of `chunk`
    /// bytes), and their opcodes and unmasked payloads.
    fn frames_of(
        wire: &[u8],
        chunk: usize,
    ) -> (Vec<wspc_testkit::parse::Frame>, Vec<(u8, Vec<u8>)>) {
        let (frames, end) = wspc_testkit::parse::parse_lax(wire);
        assert_eq!(end, wire.len(), "chunk {chunk}: a cut frame");
        let got = frames
            .iter()
            .map(|f| (f.head.opcode, f.payload.clone()))
            .collect();
        (frames, got)
    }

    #[test]
    fn small_sends_framed_directly_keep_their_order_with_queued_ones() {
        use crate::driver::message::CloseFrame;
        for chunk in [1, 5, 64, usize::MAX] {
            let mut conn = open_conn(false);
            let big = vec![7u8; DIRECT_MAX + 1];
            let sent = [
                Message::Binary(vec![1; 10]),
                Message::text("two"),
                Message::Ping(b"three".to_vec()),
                // Too large to copy: its header goes into `out`, its payload is written from
                // the message after it.
                Message::Binary(big.clone()),
                // Queued behind that payload, although small: through the engine's queue.
                Message::Binary(vec![5; 10]),
            ];
            for m in sent.clone() {
                conn.queue(m).unwrap();
            }
            assert_eq!(conn.queued_bytes(), 10 + 3 + 5 + big.len() + 10);
            assert!(conn.wants_write());
            let mut wire = write_all(&mut conn, chunk);
            assert_eq!(conn.queued_bytes(), 0);
            assert!(!conn.wants_write());
            // Direct again once the queue is idle, then a close through the queue.
            conn.queue(Message::Binary(vec![6; 10])).unwrap();
            assert_eq!(conn.out.len(), 12, "framed directly");
            let close = CloseFrame {
                code: crate::CloseStatus::SUCCESS,
                reason: String::new(),
            };
            conn.queue(Message::Close(Some(close))).unwrap();
            wire.extend(write_all(&mut conn, chunk));
            assert!(conn.close_written());
            // After our close, data is refused as before.
            assert!(conn.queue(Message::Binary(vec![1])).is_err());
            let (frames, got) = frames_of(&wire, chunk);
            let want: Vec<(u8, Vec<u8>)> = vec![
                (2, vec![1; 10]),
                (1, b"two".to_vec()),
                (9, b"three".to_vec()),
                (2, big.clone()),
                (2, vec![5; 10]),
                (2, vec![6; 10]),
                (8, vec![0x03, 0xe8]),
            ];
            assert_eq!(got, want, "chunk {chunk}");
            assert!(frames.iter().all(|f| f.head.mask.is_none() && f.head.fin));
        }
    }

    #[test]
    fn a_client_masks_large_messages_in_place_and_writes_them_from_the_message() {
        for chunk in [1, 7, 4096, usize::MAX] {
            let mut conn = open_conn(true);
            let text: String = "añ€".repeat(3000);
            let binary: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
            conn.queue(Message::Text(text.clone())).unwrap();
            // Only the header was copied; the payload waits in the message, masked.
            assert!(conn.out.len() <= 14 && conn.big.len() == text.len());
            assert_ne!(conn.big, text.as_bytes());
            // Behind it, through the engine's queue: a large one and a small one.
            conn.queue(Message::Binary(binary.clone())).unwrap();
            conn.queue(Message::text("end")).unwrap();
            assert_eq!(conn.queued_bytes(), text.len() + binary.len() + 3);
            let wire = write_all(&mut conn, chunk);
            assert!(!conn.wants_write() && conn.big.capacity() == 0);
            let (frames, got) = frames_of(&wire, chunk);
            let want = vec![
                (1, text.as_bytes().to_vec()),
                (2, binary.clone()),
                (1, b"end".to_vec()),
            ];
            assert!(got == want, "chunk {chunk}");
            assert!(frames.iter().all(|f| f.head.mask.is_some() && f.head.fin));
            // Idle again: the next large message is framed the same way.
            conn.queue(Message::Binary(binary.clone())).unwrap();
            assert_eq!(conn.big.len(), binary.len());
        }
    }

    /// The lengths of the slices of a vectored write.
    fn lens(slices: [IoSlice<'_>; 2]) -> [usize; 2] {
        slices.map(|s| s.len())
    }

    #[test]
    fn coalesce_joins_small_writes_only() {
        let mut scratch = None;
        assert_eq!(
            coalesce([b"head", b""], &mut scratch).map_err(lens),
            Ok(&b"head"[..])
        );
        assert!(scratch.is_none(), "no room made for a lone buffer");
        assert_eq!(
            coalesce([b"\x82\x05", b"hello"], &mut scratch).map_err(lens),
            Ok(&b"\x82\x05hello"[..])
        );
        let big = vec![7; COALESCE_MAX - 1];
        let joined = coalesce([b"h", &big], &mut scratch).map(<[u8]>::len);
        assert_eq!(joined.map_err(lens), Ok(COALESCE_MAX));
        let too_big = vec![7; COALESCE_MAX];
        assert_eq!(
            coalesce([b"h", &too_big], &mut scratch).map_err(lens),
            Err([1, COALESCE_MAX])
        );
        // A lone large buffer goes out as it is, without a copy.
        assert_eq!(
            coalesce([&too_big, b""], &mut scratch)
                .map(<[u8]>::len)
                .map_err(lens),
            Ok(COALESCE_MAX)
        );
    }
}
