//! The receive side: queued receives and the incremental parser over the receive buffer.
//!
//! Bytes from the network land in `[start, end)` of the receive buffer. Headers are decoded in
//! place (a partial header stays for the next read), data payloads are unmasked in place (or while
//! being copied into the caller's buffer) and handed out piece by piece as soon as they arrive;
//! control frames are delivered once whole (at most 125 bytes). The memory used is the receive
//! buffer, whatever the peer sends.
//!
//! A compressed message (permessage-deflate agreed, RSV1 on its first frame) takes one more
//! step: its payload bytes, unmasked in place as any, go through the decompressor, and what
//! comes out is the piece, written into the codec's output buffer (the receive buffer size) or
//! the caller's buffer, so pieces stay within both. The decompressor may stop taking input when
//! its output is full (the rest stays at the front of the receive buffer, already unmasked, for
//! the next piece), and may hold output after its input is all taken (drained before anything
//! else is read); after the final frame, `finish_message` ends the message, in as many pieces as
//! its output needs. UTF-8 is checked on the decompressed bytes. [`Inflate`] keeps where this
//! stands; the memory is still fixed: the receive buffer, the codec's buffer and zlib's state.

use super::action::{ActionId, BufferType, Completed};
use super::fifo::Fifo;
use super::{Buffer, CloseState, Data, DataKind, Phase, Plan, Received, Session};
use crate::close::CloseStatus;
use crate::error::{Error, Misuse, ProtocolError};
use crate::frame::{FrameHeader, Opcode, Status, RSV1};
use crate::mask::{apply_mask, extend_masked, mask_copy};
use crate::properties::Role;
use crate::utf8::Utf8Validator;

#[derive(Debug)]
pub(super) struct RecvOp<B, C> {
    pub(super) buffer: Option<B>,
    pub(super) context: C,
}

/// The frame whose header has been decoded and whose payload is still arriving.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    fin: bool,
    opcode: Opcode,
    key: Option<[u8; 4]>,
    remaining: u64,
    phase: usize,
}

/// The open incoming message, from its first frame until its last piece is delivered.
#[derive(Clone, Copy, Debug)]
struct InMessage {
    kind: DataKind,
    /// `Some` for a compressed message (permessage-deflate: RSV1 on its first frame).
    inflate: Option<Inflate>,
}

/// Where the decompression of a compressed message stands, between pieces.
#[derive(Clone, Copy, Debug, Default)]
struct Inflate {
    /// Payload bytes at the front of the unconsumed receive buffer, already unmasked, that the
    /// decompressor has not taken yet (its output was full).
    pending: usize,
    /// The decompressor's last call filled its output: it may hold more, which goes out before
    /// it takes more input.
    full: bool,
    /// The final frame's payload is all in: once it is taken, `finish_message` ends the message.
    ending: bool,
}

impl Inflate {
    /// True when the decompressor can make a piece without reading another byte.
    const fn has_work(self) -> bool {
        self.pending > 0 || self.full || self.ending
    }
}

#[derive(Debug)]
pub(super) struct RecvSide<B, C> {
    pub(super) ops: Fifo<RecvOp<B, C>>,
    /// Unconsumed bytes of the receive buffer.
    start: usize,
    pub(super) end: usize,
    frame: Option<InFrame>,
    /// The open incoming message.
    message: Option<InMessage>,
    utf8: Utf8Validator,
    /// RSV bits a negotiated extension has claimed on the first frame of a data message: RSV1
    /// once permessage-deflate is agreed, none otherwise.
    rsv_allowed: u8,
}

impl<B, C> RecvSide<B, C> {
    /// Payload bytes of the incoming frame not yet delivered (0 between frames).
    pub(super) fn frame_remaining(&self) -> u64 {
        self.frame.map_or(0, |f| f.remaining)
    }
}

/// What the parser found.
enum Step {
    NeedRead,
    /// A ping arrived while the previous pong is being written: wait for that write.
    Stall,
    /// A ping was answered: its pong is due.
    PongDue,
    Piece {
        consume: usize,
        buffer_type: BufferType,
        data: Data,
        close_status: Option<CloseStatus>,
    },
}

impl<B: Buffer, C> RecvSide<B, C> {
    pub(super) fn new() -> Self {
        Self {
            ops: Fifo::new(),
            start: 0,
            end: 0,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            rsv_allowed: 0,
        }
    }

    /// Queue one receive, unless the closing handshake (`close`) has ended receiving.
    pub(super) fn enqueue(
        &mut self,
        close: CloseState,
        buffer: Option<B>,
        context: C,
    ) -> Result<(), Error> {
        if close.fault().is_some() {
            return Err(Error::state("receive after a protocol error"));
        }
        if close.received() {
            return Err(Error::state("receive after the peer's close"));
        }
        self.ops.push_back(RecvOp { buffer, context });
        Ok(())
    }

    /// A negotiated extension claims `bits` on the first frame of data messages.
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    pub(super) fn allow_rsv(&mut self, bits: u8) {
        self.rsv_allowed |= bits;
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    pub(super) fn finish_front(&mut self) -> Option<Completed<B, C>> {
        self.ops.pop_front().map(|op| Completed {
            context: op.context,
            buffer: op.buffer,
        })
    }

    /// `input`, the next bytes of the incoming data frame's payload (as many as remain at
    /// most), appended to the caller's `out`: unmasked on the way in (one pass, see
    /// [`extend_masked`]), checked, and counted as a delivered piece (see
    /// [`Session::complete_receive_into`]).
    fn take_payload(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        verify: bool,
    ) -> Result<BufferType, ProtocolError> {
        let (Some(frame), Some(message)) = (self.frame, self.message) else {
            return Err(ProtocolError::UnexpectedContinuation);
        };
        let at = out.len();
        match frame.key {
            Some(k) => {
                extend_masked(out, input, k, frame.phase);
            }
            None => out.extend_from_slice(input),
        }
        if message.kind == DataKind::Text && verify {
            self.utf8
                .feed(&out[at..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        self.delivered(frame, message.kind, input.len(), verify)
    }

    /// `n` payload bytes of `frame` (of a message of `kind`) were delivered, unmasked and fed to
    /// the UTF-8 check: the frame moves on past them, and the message ends with its last byte
    /// (RFC 6455 §8.1: text must end on a character boundary). The piece's buffer type.
    fn delivered(
        &mut self,
        frame: InFrame,
        kind: DataKind,
        n: usize,
        verify: bool,
    ) -> Result<BufferType, ProtocolError> {
        let remaining = frame.remaining - n as u64;
        let last = remaining == 0 && frame.fin;
        self.frame = (remaining > 0).then_some(InFrame {
            remaining,
            phase: (frame.phase + n) % 4,
            ..frame
        });
        if last {
            self.message = None;
            if kind == DataKind::Text && verify {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        Ok(kind.buffer_type(last))
    }

    /// RFC 6455 §5.2, §5.1, §5.4: judge a decoded header against the role, the extensions and
    /// the open message. An extension's RSV bits are allowed on the first frame of a data
    /// message only (RFC 7692 §6: RSV1 on a continuation or control frame is an error).
    fn check(
        &mut self,
        h: &FrameHeader,
        role: Role,
        disable_masking: bool,
    ) -> Result<(), ProtocolError> {
        let claimed = match h.opcode {
            Opcode::Text | Opcode::Binary => self.rsv_allowed,
            _ => 0,
        };
        if h.rsv & !claimed != 0 {
            return Err(ProtocolError::ReservedBits(h.rsv));
        }
        match (role, h.mask.is_some()) {
            (Role::Server, false) if !disable_masking => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        match h.opcode {
            Opcode::Continuation if self.message.is_none() => {
                Err(ProtocolError::UnexpectedContinuation)
            }
            Opcode::Text | Opcode::Binary if self.message.is_some() => {
                Err(ProtocolError::ExpectedContinuation)
            }
            Opcode::Text | Opcode::Binary => {
                self.message = Some(InMessage {
                    kind: if h.opcode == Opcode::Text {
                        DataKind::Text
                    } else {
                        DataKind::Binary
                    },
                    inflate: (h.rsv & RSV1 != 0).then(Inflate::default),
                });
                self.utf8.reset();
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl<B: Buffer, C> Session<B, C> {
    /// Payload bytes of the incoming data frame that
    /// [`complete_receive_into`](Self::complete_receive_into) may take: the rest of the frame when
    /// the session is open and healthy, a receive is queued into the internal buffer, the frame
    /// is an uncompressed data frame and nothing of the stream is buffered; 0 otherwise.
    pub(crate) fn payload_pending(&self) -> u64 {
        let r = &self.recv;
        let plain_receive = r.ops.front().is_some_and(|op| op.buffer.is_none());
        let open = matches!(self.phase, Phase::Open)
            && self.close.fault().is_none()
            && !self.close.received();
        match (r.frame, r.message) {
            (Some(f), Some(m))
                if open
                    && plain_receive
                    && r.start == r.end
                    && !f.opcode.is_control()
                    && m.inflate.is_none() =>
            {
                f.remaining
            }
            _ => 0,
        }
    }

    /// Completes the outstanding `ReceiveFromNetwork` action `id` with `input`, bytes the caller
    /// read from the network that are all payload of the incoming data frame (1 to
    /// [`payload_pending`](Self::payload_pending) bytes): they are appended to `out`, unmasked
    /// and checked (UTF-8 for text) as a piece, instead of passing through the receive buffer
    /// and being copied out of it. For a driver assembling messages: one copy where the action
    /// loop takes two. Returns the piece's buffer type (`*_MESSAGE` when it ends the message);
    /// the queued receive stays queued for the next piece. A protocol error fails the session
    /// as it does in [`get_action`](Self::get_action) (the bytes appended are then garbage), and
    /// is returned again by the next `get_action` of the receive queue.
    pub(crate) fn complete_receive_into(
        &mut self,
        id: ActionId,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<BufferType, Error> {
        if input.is_empty() || input.len() as u64 > self.payload_pending() {
            return Err(Error::arg("not payload of the incoming data frame"));
        }
        let slot = self
            .outstanding
            .iter()
            .position(|o| o.is_some_and(|o| o.id == id.0 && matches!(o.plan, Plan::Read { .. })))
            .ok_or(Error::Misuse(Misuse::UnknownAction))?;
        self.outstanding[slot] = None;
        let verify = !self.props.disable_utf8_verification;
        self.recv.take_payload(input, out, verify).map_err(|e| {
            self.close.fail(e);
            e.into()
        })
    }
}

impl<B: Buffer, C> Session<B, C> {
    /// The next action of the receive queue (other than a pong).
    pub(super) fn plan_receive(&mut self) -> Result<Received, Error> {
        if self.recv.ops.is_empty() {
            return Ok(Received::Nothing);
        }
        if matches!(self.phase, Phase::Aborted) {
            // §9 Q7: a receive ended by an abort or end of stream reports a 1006 close.
            return Ok(Received::Plan(Plan::RecvDone {
                consume: 0,
                buffer_type: BufferType::Close,
                data: Data::Block(0, 0),
                close_status: Some(CloseStatus::ABORTED),
            }));
        }
        if let Some(e) = self.close.fault() {
            return Err(e.into());
        }
        if self.close.received() {
            // Receives queued behind the close wait for an abort to drain them.
            return Ok(Received::Nothing);
        }
        match self.parse() {
            Err(e) => {
                self.close.fail(e);
                Err(e.into())
            }
            Ok(Step::Stall) => Ok(Received::Nothing),
            Ok(Step::PongDue) => Ok(Received::PongDue),
            Ok(Step::Piece {
                consume,
                buffer_type,
                data,
                close_status,
            }) => Ok(Received::Plan(Plan::RecvDone {
                consume,
                buffer_type,
                data,
                close_status,
            })),
            Ok(Step::NeedRead) => {
                let rbs = self.rbs();
                let r = &mut self.recv;
                if r.end == rbs && r.start > 0 {
                    // Only a partial header or control frame (< 140 bytes) is ever left here.
                    self.block
                        .bytes_mut(0..r.end)
                        .copy_within(r.start..r.end, 0);
                    r.end -= r.start;
                    r.start = 0;
                }
                let at = self.recv.end;
                Ok(Received::Plan(Plan::Read { at, len: rbs - at }))
            }
        }
    }

    /// Advance the parser over the buffered bytes until a piece is ready or more bytes are needed.
    fn parse(&mut self) -> Result<Step, ProtocolError> {
        let verify = !self.props.disable_utf8_verification;
        loop {
            // A compressed message's decompressor may have a piece to give before any byte is
            // looked at (input it left, output it holds, or the message's end).
            if let Some(step) = self.inflate_piece(verify)? {
                return Ok(step);
            }
            let (start, end) = (self.recv.start, self.recv.end);
            let frame = match self.recv.frame {
                Some(f) => f,
                None => {
                    let (h, n) = match FrameHeader::decode(self.block.bytes(start..end))? {
                        Status::Partial => return Ok(Step::NeedRead),
                        Status::Complete(done) => done,
                    };
                    self.recv.check(&h, self.role, self.props.disable_masking)?;
                    self.recv.consume(n);
                    let f = InFrame {
                        fin: h.fin,
                        opcode: h.opcode,
                        key: h.mask,
                        remaining: h.payload_len,
                        phase: 0,
                    };
                    self.recv.frame = Some(f);
                    f
                }
            };
            let (start, end) = (self.recv.start, self.recv.end);
            if frame.opcode.is_control() {
                // Control frames are at most 125 bytes (checked by the decoder): wait for all of it.
                let len = frame.remaining as usize;
                if end - start < len {
                    return Ok(Step::NeedRead);
                }
                if frame.opcode == Opcode::Ping && self.send.pong_in_flight() {
                    return Ok(Step::Stall);
                }
                let payload = self.block.bytes_mut(start..start + len);
                if let Some(k) = frame.key {
                    apply_mask(payload, k, 0);
                }
                self.recv.frame = None;
                match frame.opcode {
                    Opcode::Ping => {
                        // RFC 6455 §5.5.2: answer with a pong carrying the same payload.
                        // Through a copy on the stack: the engine borrows only the two ranges, never
                        // the areas between them that a writer may be using.
                        let at = self.pong_at();
                        let mut ping = [0u8; 125];
                        ping[..len].copy_from_slice(self.block.bytes(start..start + len));
                        self.block
                            .bytes_mut(at..at + len)
                            .copy_from_slice(&ping[..len]);
                        self.send.owe_pong(len);
                        self.recv.consume(len);
                        return Ok(Step::PongDue);
                    }
                    Opcode::Pong => {
                        return Ok(Step::Piece {
                            consume: len,
                            buffer_type: BufferType::PingPong,
                            data: Data::Block(start, start + len),
                            close_status: None,
                        })
                    }
                    _ => return self.close_frame(start, len, verify),
                }
            }
            // A data frame: deliver whatever part of the payload is here.
            let avail = ((end - start) as u64).min(frame.remaining) as usize;
            if avail == 0 && frame.remaining > 0 {
                return Ok(Step::NeedRead);
            }
            if let Some(inflate) = self.recv.message.and_then(|m| m.inflate) {
                self.take_compressed(frame, avail, inflate);
                continue;
            }
            if avail == 0 && !frame.fin {
                // An empty non-final frame carries nothing to deliver.
                self.recv.frame = None;
                continue;
            }
            // Always open here: `check` opened it with the message's first frame.
            let kind = self.recv.message.map_or(DataKind::Binary, |m| m.kind);
            let text = kind == DataKind::Text;
            let front = self.recv.ops.front_mut();
            let caller = front.and_then(|op| op.buffer.as_mut());
            let (n, data, consume) = match caller {
                Some(dst) => {
                    let n = avail.min(dst.len());
                    let dst = dst.bytes_mut(0..n);
                    let src = self.block.bytes(start..start + n);
                    match frame.key {
                        Some(k) => {
                            mask_copy(&mut dst[..n], src, k, frame.phase);
                        }
                        None => dst[..n].copy_from_slice(src),
                    }
                    if text && verify {
                        self.recv
                            .utf8
                            .feed(&dst[..n])
                            .map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                    self.recv.consume(n);
                    (n, Data::Caller(n), 0)
                }
                None => {
                    let piece = self.block.bytes_mut(start..start + avail);
                    if let Some(k) = frame.key {
                        apply_mask(piece, k, frame.phase);
                    }
                    if text && verify {
                        self.recv
                            .utf8
                            .feed(piece)
                            .map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                    (avail, Data::Block(start, start + avail), avail)
                }
            };
            return Ok(Step::Piece {
                consume,
                buffer_type: self.recv.delivered(frame, kind, n, verify)?,
                data,
                close_status: None,
            });
        }
    }

    /// A compressed message: the `avail` payload bytes of `frame` at the front of the receive
    /// buffer are unmasked in place and handed to the decompressor's side as pending input (it
    /// has taken all earlier input: `inflate` has no work); the frame moves on past them.
    fn take_compressed(&mut self, frame: InFrame, avail: usize, mut inflate: Inflate) {
        let start = self.recv.start;
        if let Some(k) = frame.key {
            apply_mask(self.block.bytes_mut(start..start + avail), k, frame.phase);
        }
        let remaining = frame.remaining - avail as u64;
        self.recv.frame = (remaining > 0).then_some(InFrame {
            remaining,
            phase: (frame.phase + avail) % 4,
            ..frame
        });
        inflate.pending = avail;
        inflate.ending = remaining == 0 && frame.fin;
        if let Some(m) = self.recv.message.as_mut() {
            m.inflate = Some(inflate);
        }
    }

    /// The next piece of an open compressed message, if the decompressor can make one without
    /// more input: it takes the pending input, drains what it holds and, once the final frame is
    /// all taken, ends the message, until its output (the codec's buffer, or the caller's, at
    /// most the receive buffer size) is full. `None` when it needs more input (it then has
    /// taken all it was given), or no compressed message is open.
    fn inflate_piece(&mut self, verify: bool) -> Result<Option<Step>, ProtocolError> {
        let Some(InMessage {
            kind,
            inflate: Some(mut z),
        }) = self.recv.message
        else {
            return Ok(None);
        };
        if !z.has_work() {
            return Ok(None);
        }
        // RSV1 is claimed only once a codec exists.
        let codec = self
            .codec
            .as_deref_mut()
            .ok_or(ProtocolError::ReservedBits(RSV1))?;
        let rbs = self.props.receive_buffer_size as usize;
        let mut caller = self.recv.ops.front_mut().and_then(|op| op.buffer.as_mut());
        let room = caller.as_ref().map_or(rbs, |b| b.len().min(rbs));
        let (mut at, mut filled, mut last) = (self.recv.start, 0, false);
        while filled < room {
            let out = caller.as_mut().map(|b| b.bytes_mut(0..room));
            if z.pending > 0 || z.full {
                let input = self.block.bytes(at..at + z.pending);
                let (used, made) = codec.inflate(input, out, filled)?;
                at += used;
                z.pending -= used;
                filled += made;
                z.full = filled == room;
            } else if z.ending {
                let before = filled;
                let (made, done) = codec.finish(out, filled)?;
                filled += made;
                if done {
                    last = true;
                    break;
                }
                // Not done with room left would be a decompressor that neither ends the
                // message nor fills its output; it cannot happen, and must not loop forever.
                if filled < room && filled == before {
                    return Err(ProtocolError::InvalidCompressedData);
                }
            } else {
                break;
            }
        }
        let taken = at - self.recv.start;
        if kind == DataKind::Text && verify {
            let piece = match caller {
                Some(b) => b.bytes(0..filled),
                None => codec.inflated(filled),
            };
            self.recv
                .utf8
                .feed(piece)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
            if last {
                // RFC 6455 §8.1: a text message must end on a character boundary.
                self.recv
                    .utf8
                    .finish()
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        self.recv.consume(taken);
        self.recv.message = if last {
            None
        } else {
            Some(InMessage {
                kind,
                inflate: Some(z),
            })
        };
        if filled == 0 && !last {
            return Ok(None);
        }
        let into_caller = self.recv.ops.front().is_some_and(|op| op.buffer.is_some());
        Ok(Some(Step::Piece {
            consume: 0,
            buffer_type: kind.buffer_type(last),
            data: if into_caller {
                Data::Caller(filled)
            } else {
                Data::Inflated(filled)
            },
            close_status: None,
        }))
    }

    /// RFC 6455 §5.5.1, §7.4: a whole, unmasked close payload at `[start, start + len)`.
    fn close_frame(
        &mut self,
        start: usize,
        len: usize,
        verify: bool,
    ) -> Result<Step, ProtocolError> {
        let payload = self.block.bytes(start..start + len);
        let (status, reason) = match payload {
            [] => (CloseStatus::EMPTY, start..start),
            [_] => return Err(ProtocolError::CloseFrameTooShort),
            [hi, lo, reason @ ..] => {
                let status = CloseStatus(u16::from_be_bytes([*hi, *lo]));
                if !status.is_valid_on_wire() {
                    return Err(ProtocolError::InvalidCloseStatus(status.0));
                }
                if verify && !crate::utf8::validate(reason) {
                    return Err(ProtocolError::InvalidUtf8);
                }
                (status, start + 2..start + len)
            }
        };
        self.close.receive_close();
        Ok(Step::Piece {
            consume: len,
            buffer_type: BufferType::Close,
            data: Data::Block(reason.start, reason.end),
            close_status: Some(status),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{Error, Misuse};
    use crate::session::action::{Action, BufferType, Queue};
    use crate::session::Session;

    /// A server whose receive loop (a receive queued) waits for a read after `wire` (its pieces
    /// taken and another receive queued): the id of that read.
    fn reading(server: &mut Session, wire: &[u8]) -> crate::ActionId {
        loop {
            match server.get_action(Queue::Receive).unwrap() {
                Action::ReceiveFromNetwork(a) if !wire.is_empty() && a.buffer.len() > 4000 => {
                    let n = wire.len();
                    a.buffer[..n].copy_from_slice(wire);
                    let id = a.id;
                    server.complete_action(id, n).unwrap();
                    return reading(server, &[]);
                }
                Action::ReceiveFromNetwork(a) => return a.id,
                Action::IndicateReceiveComplete(a) => {
                    let id = a.id;
                    server.complete_action(id, 0).unwrap();
                    server.receive(()).unwrap();
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn payload_read_straight_into_the_caller_is_unmasked_checked_and_counted() {
        let mut client: Session = Session::client(&[]).unwrap();
        client.open_without_handshake();
        let payload: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        client
            .send_into(BufferType::BinaryMessage, &payload, &mut wire)
            .unwrap();
        let mut server: Session = Session::server(&[]).unwrap();
        server.open_without_handshake();
        // Nothing of a frame yet: nothing to take.
        server.receive(()).unwrap();
        let id = reading(&mut server, &[]);
        assert_eq!(server.payload_pending(), 0);
        let mut out = Vec::new();
        assert!(matches!(
            server.complete_receive_into(id, b"x", &mut out),
            Err(Error::Misuse(Misuse::InvalidArgument(_)))
        ));
        // The header and the first 7 bytes go through the receive buffer.
        let header = wire.len() - payload.len();
        let mut server: Session = Session::server(&[]).unwrap();
        server.open_without_handshake();
        server.receive(()).unwrap();
        let id = reading(&mut server, &wire[..header + 7]);
        let rest = &wire[header + 7..];
        assert_eq!(server.payload_pending(), rest.len() as u64);
        // More than the frame holds, or a read that is not outstanding: refused, no change.
        let too_long = [rest, b"x"].concat();
        assert!(server
            .complete_receive_into(id, &too_long, &mut out)
            .is_err());
        let other = crate::ActionId(id.0 + 100);
        assert_eq!(
            server.complete_receive_into(other, rest, &mut out),
            Err(Error::Misuse(Misuse::UnknownAction))
        );
        assert!(out.is_empty());
        // In two parts, at a mask phase other than 0: the bytes come out unmasked.
        let bt = server
            .complete_receive_into(id, &rest[..1001], &mut out)
            .unwrap();
        assert_eq!(bt, BufferType::BinaryFragment);
        let id = reading(&mut server, &[]);
        let bt = server
            .complete_receive_into(id, &rest[1001..], &mut out)
            .unwrap();
        assert_eq!(bt, BufferType::BinaryMessage);
        assert_eq!(out, payload[7..]);
        assert_eq!(server.payload_pending(), 0);
    }
}
