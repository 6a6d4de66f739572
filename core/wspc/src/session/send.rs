//! The send side: queued sends, frame emission (header + payload segments), automatic pongs.
//!
//! Each send is one frame, written in segments whose progress is its [`Progress`]. The automatic
//! pong is owned here too (the receive side only asks for one when a ping arrives): it shares
//! the wire with the sends, and a frame once begun must end before another may start.
//!
//! With permessage-deflate agreed, a data frame's payload is compressed when the frame starts
//! (the front send leaving `Queued`: in wire order, so the compressor sees the messages as the
//! peer will), into the codec's buffer; from then on the frame's wire payload is those bytes
//! (`SendOp::wire_bytes`), sent exactly as a caller's payload would be: servers hand out slices
//! of it, clients mask chunks of it into the send buffer. RSV1 marks the first frame of each
//! message; control frames are never compressed. The caller's buffer is still what the
//! `IndicateSendComplete` hands back.

use super::action::{BufferType, Completed};
use super::deflate::Codec;
use super::fifo::Fifo;
use super::{Buffer, CloseState, DataKind, Phase, Plan, Seg, Session, HEADER_AREA};
use crate::close::{CloseStatus, MAX_CLOSE_REASON_LENGTH};
use crate::error::Error;
use crate::frame::{FrameHeader, Opcode, MAX_HEADER_LEN, RSV1};
use crate::mask::{apply_mask, extend_masked, mask_copy};
use crate::utf8;
use rand::RngCore;

/// How far one send's frame has got. It only moves forward, `Queued → Header → Payload → Done`,
/// skipping the steps that do not apply; a cancelled write or an abort jumps to
/// `Done { sent: false }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    /// Nothing written yet; the header is not encoded.
    Queued,
    /// The frame header (and any close status) is encoded in the block from `at` to the end of
    /// the header area, masked with `key` (`None` for a server); its write is handed out.
    Header { key: Option<[u8; 4]>, at: usize },
    /// The header and `sent` bytes of the payload are on the wire; the rest follows.
    Payload { key: Option<[u8; 4]>, sent: usize },
    /// Nothing more goes to the wire; the `IndicateSendComplete` is due. `sent` if every byte of
    /// the frame went out.
    Done { sent: bool },
}

/// The most bytes one `SendToNetwork` action hands out: `u32::MAX`, because the C ABI reports a
/// completed write as a `ULONG`. A header with an uncopied payload (server sends, unmasked client
/// sends) that would exceed it goes out with the first slice of the payload, the rest in later
/// actions (masked chunks are never larger than the send buffer anyway).
pub(crate) const MAX_ACTION_BYTES: usize = u32::MAX as usize;

/// One `send` call: one frame.
#[derive(Debug)]
pub(super) struct SendOp<B, C> {
    pub(super) buffer_type: BufferType,
    pub(super) payload: Option<B>,
    pub(super) status: Option<CloseStatus>,
    pub(super) context: C,
    opcode: Opcode,
    fin: bool,
    progress: Progress,
    /// permessage-deflate: the frame's payload was compressed into the codec's buffer, this
    /// long (set when the frame starts).
    deflated: Option<usize>,
}

impl<B: Buffer, C> SendOp<B, C> {
    fn payload_len(&self) -> usize {
        self.payload.as_ref().map_or(0, |p| p.len())
    }

    /// The length of the payload as it goes on the wire (after the close status, if any): the
    /// caller's, or its compressed form.
    fn wire_len(&self) -> usize {
        self.deflated.unwrap_or_else(|| self.payload_len())
    }

    /// `range` of the payload as it goes on the wire: the caller's bytes, or the compressed ones
    /// in `codec`'s buffer.
    pub(super) fn wire_bytes<'a>(
        &'a self,
        codec: Option<&'a Codec>,
        range: core::ops::Range<usize>,
    ) -> &'a [u8] {
        if self.deflated.is_some() {
            codec.map_or(&[][..], |c| c.deflated().get(range).unwrap_or_default())
        } else {
            self.payload.as_ref().map_or(&[][..], |p| p.bytes(range))
        }
    }

    fn is_data(&self) -> bool {
        matches!(
            self.opcode,
            Opcode::Text | Opcode::Binary | Opcode::Continuation
        )
    }

    fn prefix_len(&self) -> usize {
        if self.status.is_some() {
            2
        } else {
            0
        }
    }
}

/// The automatic pong owed for the latest ping (RFC 6455 §5.5.3 allows answering only the
/// latest): its `len` payload bytes sit in the pong area of the block.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pong {
    len: usize,
    stage: PongStage,
}

/// How far an automatic pong has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PongStage {
    /// Owed, not started: a newer ping may still overwrite the pong area.
    Due,
    /// Its first write (the header, and the payload when two buffers fit) is handed out: the
    /// pong area may no longer be overwritten.
    Writing,
    /// One buffer at a time: the header is on the wire, the payload follows.
    HeaderSent,
}

#[derive(Debug)]
pub(super) struct SendSide<B, C> {
    ops: Fifo<SendOp<B, C>>,
    /// The kind of an open outgoing fragmented message.
    message: Option<DataKind>,
    /// The automatic pong, if one is owed or being written.
    pub(super) pong: Option<Pong>,
    /// A short completion left a partial frame on the wire (§9 Q13): no more frames, queued sends
    /// drain unsent.
    pub(super) broken: bool,
}

impl<B: Buffer, C> SendSide<B, C> {
    pub(super) fn new() -> Self {
        Self {
            ops: Fifo::new(),
            message: None,
            pong: None,
            broken: false,
        }
    }

    pub(super) fn front(&self) -> Option<&SendOp<B, C>> {
        self.ops.front()
    }

    /// Validate and queue one send; a close moves `close` on.
    pub(super) fn enqueue(
        &mut self,
        close: &mut CloseState,
        buffer_type: BufferType,
        payload: Option<B>,
        status: Option<CloseStatus>,
        control_payload: bool,
        context: C,
    ) -> Result<(), Error> {
        let bytes = payload.as_ref().map(|p| p.bytes(0..p.len()));
        let (opcode, fin) = self.frame_of(close, buffer_type, bytes, status, control_payload)?;
        self.ops.push_back(SendOp {
            buffer_type,
            payload,
            status,
            context,
            opcode,
            fin,
            progress: Progress::Queued,
            deflated: None,
        });
        Ok(())
    }

    /// The rules every send obeys, whichever way it goes out: the opcode and FIN bit of the frame
    /// a send of `buffer_type` makes, or why it may not be sent. A data send opens or ends the
    /// outgoing message; a close moves `close` on.
    fn frame_of(
        &mut self,
        close: &mut CloseState,
        buffer_type: BufferType,
        payload: Option<&[u8]>,
        status: Option<CloseStatus>,
        control_payload: bool,
    ) -> Result<(Opcode, bool), Error> {
        Ok(match buffer_type {
            t if t.is_data() => {
                // RFC 6455 §5.5.1: after sending a close, no more data frames.
                if close.sent() {
                    return Err(Error::state("data send after a close"));
                }
                let kind = if t.is_text() {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                // RFC 6455 §5.4: a fragmented message keeps the opcode of its first frame.
                let opcode = match self.message {
                    Some(open) if open != kind => {
                        return Err(Error::state("switching text/binary inside a message"))
                    }
                    Some(_) => Opcode::Continuation,
                    None if kind == DataKind::Text => Opcode::Text,
                    None => Opcode::Binary,
                };
                let fin = t.is_final();
                self.message = if fin { None } else { Some(kind) };
                (opcode, fin)
            }
            BufferType::PingPong | BufferType::UnsolicitedPong => {
                let len = payload.map(<[u8]>::len);
                if len.is_some() && !control_payload {
                    return Err(Error::arg("ping and unsolicited pong sends take no buffer"));
                }
                // RFC 6455 §5.5: a control frame carries at most 125 bytes.
                if len.is_some_and(|n| n > crate::frame::MAX_CONTROL_PAYLOAD) {
                    return Err(Error::arg("ping or pong payload over 125 bytes"));
                }
                let op = if buffer_type == BufferType::PingPong {
                    Opcode::Ping
                } else {
                    Opcode::Pong
                };
                (op, true)
            }
            _ => {
                if close.sent() {
                    return Err(Error::state("close already sent"));
                }
                match status {
                    None if payload.is_some() => {
                        return Err(Error::arg("a close reason needs a status (use send_close)"))
                    }
                    None => {}
                    Some(s) => {
                        if !s.is_valid_on_wire() {
                            return Err(Error::arg("close status may not be sent"));
                        }
                        let reason = payload.unwrap_or_default();
                        if reason.len() > MAX_CLOSE_REASON_LENGTH {
                            return Err(Error::arg("close reason over 123 bytes"));
                        }
                        // RFC 6455 §5.5.1: the reason is UTF-8.
                        if !utf8::validate(reason) {
                            return Err(Error::arg("close reason is not UTF-8"));
                        }
                    }
                }
                close.queue_close();
                (Opcode::Close, true)
            }
        })
    }

    /// A write of the front frame completed: `ok` if all of it went out, with `payload` payload
    /// bytes in it (after the header, if the header was in it).
    pub(super) fn wrote(&mut self, ok: bool, payload: usize) {
        let Some(op) = self.ops.front_mut() else {
            return;
        };
        if !ok {
            op.progress = Progress::Done { sent: false };
            self.broken = true;
            return;
        }
        let (key, sent) = match op.progress {
            Progress::Header { key, .. } => (key, payload),
            Progress::Payload { key, sent } => (key, sent + payload),
            // Writes are planned only while a frame is under way.
            Progress::Queued | Progress::Done { .. } => return,
        };
        op.progress = if sent == op.wire_len() {
            Progress::Done { sent: true }
        } else {
            Progress::Payload { key, sent }
        };
    }

    /// A write of the automatic pong completed: `ok` if all of it went out; `header` if it held
    /// the header, and `payload` payload bytes.
    pub(super) fn wrote_pong(&mut self, ok: bool, header: bool, payload: usize) {
        match (ok, self.pong.as_mut()) {
            (true, Some(p)) if header && payload < p.len => p.stage = PongStage::HeaderSent,
            (true, _) => self.pong = None,
            (false, _) => {
                self.pong = None;
                self.broken = true;
            }
        }
    }

    /// A ping of `len` bytes (already copied to the pong area) is to be answered, replacing any
    /// pong not yet started.
    pub(super) fn owe_pong(&mut self, len: usize) {
        self.pong = Some(Pong {
            len,
            stage: PongStage::Due,
        });
    }

    /// True once the pong's first write is handed out, until it is all on the wire: the pong
    /// area may not be overwritten.
    pub(super) fn pong_in_flight(&self) -> bool {
        self.pong.is_some_and(|p| p.stage != PongStage::Due)
    }

    /// The front send's `IndicateSendComplete` was completed: hand back its context and buffer.
    pub(super) fn finish_front(&mut self) -> Option<Completed<B, C>> {
        self.ops.pop_front().map(|op| Completed {
            context: op.context,
            buffer: op.payload,
        })
    }

    /// True while a frame is partly on the wire: nothing else may be written in between.
    fn mid_frame(&self) -> bool {
        self.ops.front().is_some_and(|op| {
            matches!(
                op.progress,
                Progress::Header { .. } | Progress::Payload { .. }
            )
        })
    }
}

/// Where the payload of a frame that [`Session::frame_header_into`] began lies.
enum Wire {
    /// The caller's payload as it is.
    Payload,
    /// The first `n` bytes of the compressor's output.
    Deflated(usize),
}

impl<B: Buffer, C> Session<B, C> {
    /// Frames one data send, ping or unsolicited pong straight into `out`, masked for a client,
    /// compressed when permessage-deflate is agreed: the same rules and the same frame as
    /// [`send`](Self::send) followed by the action loop, without the loop. A Rust-only extension
    /// of `WebSocketSend`, for callers that own a write buffer and send many small messages: it
    /// takes one call per frame instead of six (`send`, three `get_action`s, two
    /// `complete_action`s), and it borrows the payload instead of taking it.
    ///
    /// The send queue must be idle: nothing queued with `send`, no frame and no automatic pong
    /// part-way on the wire ([`Misuse::InvalidState`](crate::Misuse::InvalidState) otherwise:
    /// queue it with `send`, or finish the action loop first). The bytes appended to `out` must
    /// reach the wire before those of any later `SendToNetwork` action, and whole: a frame cut
    /// short corrupts the stream. Data sends follow `send`'s rules on fragments and on the
    /// close; `PingPong` and `UnsolicitedPong` carry `payload` (at most 125 bytes), as with
    /// [`send_control`](Self::send_control). A close is refused: it goes through `send` or
    /// [`send_close`](Self::send_close), whose completion tells the close handshake it is out.
    ///
    /// ```
    /// use wspc::{BufferType, Session};
    /// let mut client: Session = Session::client(&[])?;
    /// # wspc::fuzz_bridge::open(&mut client); // as if the handshake had succeeded
    /// let mut out = Vec::new();
    /// client.send_into(BufferType::Utf8Message, b"hello", &mut out)?;
    /// assert_eq!(out.len(), 2 + 4 + 5); // header, masking key, masked payload
    /// assert_eq!(out[0], 0x81); // FIN, text
    /// # Ok::<(), wspc::Error>(())
    /// ```
    pub fn send_into(
        &mut self,
        buffer_type: BufferType,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let (key, wire) = self.frame_header_into(buffer_type, payload, out)?;
        let wire = match wire {
            Wire::Payload => payload,
            Wire::Deflated(n) => self
                .codec
                .as_deref()
                .and_then(|c| c.deflated().get(..n))
                .unwrap_or_default(),
        };
        match key {
            Some(k) => {
                extend_masked(out, wire, k, 0);
            }
            None => out.extend_from_slice(wire),
        }
        Ok(())
    }

    /// As [`send_into`](Self::send_into), for a payload the caller writes itself after `out`:
    /// only the frame header is appended to `out`, and a client's payload is masked in place.
    /// The caller must write `payload` whole right after the bytes appended to `out`. For a
    /// driver sending a message it owns: no copy of the payload, and one call instead of the
    /// action loop. Only data sends, and only without permessage-deflate (whose payload is the
    /// compressed one): [`Misuse::InvalidState`](crate::Misuse::InvalidState) otherwise, with
    /// nothing changed.
    pub(crate) fn send_header_into(
        &mut self,
        buffer_type: BufferType,
        payload: &mut [u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if !buffer_type.is_data() || self.compresses() {
            return Err(Error::state(
                "send_header_into takes data sends without permessage-deflate",
            ));
        }
        if let (Some(k), _) = self.frame_header_into(buffer_type, payload, out)? {
            apply_mask(payload, k, 0);
        }
        Ok(())
    }

    /// The checks and the frame header of [`send_into`](Self::send_into), appended to `out`:
    /// the key to mask the wire payload with (a client's, unless masking is disabled), and
    /// where that payload is.
    fn frame_header_into(
        &mut self,
        buffer_type: BufferType,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(Option<[u8; 4]>, Wire), Error> {
        self.check_can_send(buffer_type)?;
        if !(buffer_type.is_data()
            || matches!(
                buffer_type,
                BufferType::PingPong | BufferType::UnsolicitedPong
            ))
        {
            return Err(Error::arg(
                "send_into takes data, PingPong or UnsolicitedPong (a close goes through send)",
            ));
        }
        if self.send.front().is_some() || self.wire_busy() {
            return Err(Error::state(
                "sends are queued or on the wire: use send, or finish the action loop first",
            ));
        }
        let (opcode, fin) =
            self.send
                .frame_of(&mut self.close, buffer_type, Some(payload), None, true)?;
        let key = self.new_key();
        let mut rsv = 0;
        let mut wire = Wire::Payload;
        let mut wire_len = payload.len();
        if let Some(codec) = self.codec.as_deref_mut().filter(|_| buffer_type.is_data()) {
            // As `compress_front`: a zlib failure leaves the compressor unusable.
            let Some((n, bits)) = deflate_frame(codec, payload, fin, opcode) else {
                self.send.broken = true;
                return Err(Error::state("the compressor failed; no more sends"));
            };
            rsv = bits;
            wire = Wire::Deflated(n);
            wire_len = n;
        }
        let mut header = [0u8; MAX_HEADER_LEN];
        let n = FrameHeader {
            fin,
            rsv,
            opcode,
            mask: key,
            payload_len: wire_len as u64,
        }
        .encode(&mut header);
        // Room for the header only: `send_header_into`'s payload does not come here, and a
        // write buffer grown for it would be given up after the write (see the driver's `out`).
        out.extend_from_slice(&header[..n]);
        Ok((key.filter(|_| self.masking()), wire))
    }

    fn wire_busy(&self) -> bool {
        let writing = self
            .outstanding
            .iter()
            .flatten()
            .any(|o| matches!(o.plan, Plan::Write { .. }));
        writing || self.send.mid_frame() || self.send.pong_in_flight()
    }

    fn new_key(&mut self) -> Option<[u8; 4]> {
        match self.role {
            crate::properties::Role::Server => None,
            // A client always sets the MASK bit (RFC 6455 §5.3); with masking disabled the key is
            // all zero, so the payload needs no copy.
            crate::properties::Role::Client if self.props.disable_masking => Some([0; 4]),
            crate::properties::Role::Client => {
                // One word from the generator (`fill_bytes` of 4 bytes takes its slower
                // chunked path), in the byte order `fill_bytes` used, whatever the machine's.
                Some(self.rng.next_u32().to_le_bytes())
            }
        }
    }

    /// Write a frame header, followed by a close status masked with the same key if there is
    /// one, flush against the end of the header area; returns where it starts.
    fn write_header(&mut self, header: &FrameHeader, status: Option<CloseStatus>) -> usize {
        let mut bytes = [0u8; HEADER_AREA];
        let mut n = header.encode((&mut bytes[..MAX_HEADER_LEN]).try_into().expect("14 bytes"));
        if let Some(s) = status {
            let prefix = &mut bytes[n..n + 2];
            prefix.copy_from_slice(&s.0.to_be_bytes());
            if let Some(k) = header.mask {
                apply_mask(prefix, k, 0);
            }
            n += 2;
        }
        let end = self.send_at();
        self.block
            .bytes_mut(end - n..end)
            .copy_from_slice(&bytes[..n]);
        end - n
    }

    /// The next write of an automatic pong, if one is due and the wire is free.
    pub(super) fn plan_pong(&mut self, two: bool) -> Option<Plan> {
        let pong = self.send.pong?;
        if matches!(self.phase, Phase::Aborted) {
            return None;
        }
        let area = self.pong_at();
        match pong.stage {
            // One buffer at a time: the header went out alone, the payload follows.
            PongStage::HeaderSent => {
                return Some(self.pong_plan(
                    [Seg::Block(area, area + pong.len), Seg::Block(0, 0)],
                    1,
                    false,
                    pong.len,
                ))
            }
            PongStage::Writing => return None,
            PongStage::Due if self.wire_busy() => return None,
            PongStage::Due => {}
        }
        if self.close.sent() || self.send.broken {
            // Like Windows, no automatic pongs once our close is on its way; and none after a
            // cancelled write (§9 Q13): its partial frame would swallow the pong's bytes.
            self.send.pong = None;
            return None;
        }
        let key = self.new_key();
        if let Some(k) = key {
            apply_mask(self.block.bytes_mut(area..area + pong.len), k, 0);
        }
        let h = self.write_header(
            &FrameHeader {
                fin: true,
                rsv: 0,
                opcode: Opcode::Pong,
                mask: key,
                payload_len: pong.len as u64,
            },
            None,
        );
        self.send.pong = Some(Pong {
            stage: PongStage::Writing,
            ..pong
        });
        let with_payload = two && pong.len > 0;
        let payload = if with_payload { pong.len } else { 0 };
        let segs = [
            Seg::Block(h, self.send_at()),
            Seg::Block(area, area + payload),
        ];
        Some(self.pong_plan(segs, 1 + usize::from(with_payload), true, payload))
    }

    fn pong_plan(&self, segs: [Seg; 2], count: usize, header: bool, payload: usize) -> Plan {
        let len = |s: Seg| match s {
            Seg::Block(a, b) | Seg::Payload(a, b) => b - a,
        };
        Plan::Write {
            segs,
            count,
            total: segs[..count].iter().map(|&s| len(s)).sum(),
            header,
            payload,
            buffer_type: BufferType::PingPong,
            pong: true,
        }
    }

    /// permessage-deflate, as the front send's frame starts: a data frame's payload is
    /// compressed into the codec's buffer, which becomes the frame's wire payload; returns the
    /// RSV bits of its header (RSV1 on the first frame of a message). Without an agreed codec,
    /// and for control frames, nothing happens and the bits are 0.
    ///
    /// `Err` if zlib failed (it does not on valid use): the frame is not sent (its
    /// `IndicateSendComplete` reports `sent == false`) and, the compressor being unusable, the
    /// send side is broken as after a cancelled write (§9 Q13): later sends fail.
    fn compress_front(&mut self) -> Result<u8, ()> {
        let (Some(codec), Some(op)) = (self.codec.as_deref_mut(), self.send.ops.front_mut()) else {
            return Ok(0);
        };
        if !op.is_data() {
            return Ok(0);
        }
        let payload = op.payload.as_ref().map_or(&[][..], |p| p.bytes(0..p.len()));
        match deflate_frame(codec, payload, op.fin, op.opcode) {
            Some((n, rsv)) => {
                op.deflated = Some(n);
                Ok(rsv)
            }
            None => {
                op.progress = Progress::Done { sent: false };
                self.send.broken = true;
                Err(())
            }
        }
    }

    /// The next action of the send queue.
    pub(super) fn plan_send(&mut self, two: bool) -> Option<Plan> {
        let draining = matches!(self.phase, Phase::Aborted) || self.send.broken;
        let progress = self.send.ops.front()?.progress;
        // Where the frame stands: the masking key, where its header starts if it has yet to go
        // out, and how much payload has gone out.
        let (key, header_at, from) = match progress {
            Progress::Done { sent } => return Some(Plan::SendDone { sent }),
            _ if draining => {
                self.send.ops.front_mut()?.progress = Progress::Done { sent: false };
                return Some(Plan::SendDone { sent: false });
            }
            Progress::Queued => {
                if self.wire_busy() {
                    return None;
                }
                let key = self.new_key();
                let rsv = match self.compress_front() {
                    Ok(rsv) => rsv,
                    Err(()) => return Some(Plan::SendDone { sent: false }),
                };
                let front = self.send.ops.front()?;
                let header = FrameHeader {
                    fin: front.fin,
                    rsv,
                    opcode: front.opcode,
                    mask: key,
                    payload_len: (front.prefix_len() + front.wire_len()) as u64,
                };
                let status = front.status;
                let at = self.write_header(&header, status);
                self.send.ops.front_mut()?.progress = Progress::Header { key, at };
                (key, Some(at), 0)
            }
            Progress::Header { key, at } => (key, Some(at), 0),
            Progress::Payload { key, sent } => (key, None, sent),
        };
        let copy = self.masking();
        let (sbs, send_at) = (self.sbs(), self.send_at());
        let op = self.send.ops.front()?;
        let mut segs = [Seg::Block(0, 0); 2];
        let mut count = 0;
        let header_len = header_at.map_or(0, |at| send_at - at);
        if let Some(at) = header_at {
            segs[0] = Seg::Block(at, send_at);
            count = 1;
        }
        let remaining = op.wire_len() - from;
        let mut payload = 0;
        // A masked chunk is copied into the block right after the header, so the two go out as
        // one buffer (one `write` for a small message), which stays within the send buffer size.
        let coalesce_at = header_at.filter(|_| copy);
        if remaining > 0 && (count == 0 || two || coalesce_at.is_some()) {
            if copy {
                let room = if coalesce_at.is_some() {
                    sbs.saturating_sub(header_len)
                } else {
                    sbs
                };
                payload = remaining.min(room);
                let phase = op.prefix_len() + from;
                let src = op.wire_bytes(self.codec.as_deref(), from..from + payload);
                mask_copy(
                    self.block.bytes_mut(send_at..send_at + payload),
                    src,
                    key.unwrap_or_default(),
                    phase,
                );
                if let Some(at) = coalesce_at {
                    segs[0] = Seg::Block(at, send_at + payload);
                } else {
                    segs[count] = Seg::Block(send_at, send_at + payload);
                    count += 1;
                }
            } else {
                // The caller's own memory, in slices of at most MAX_ACTION_BYTES with the header.
                payload = remaining.min(MAX_ACTION_BYTES - header_len);
                segs[count] = Seg::Payload(from, from + payload);
                count += 1;
            }
        }
        Some(Plan::Write {
            segs,
            count,
            total: header_len + payload,
            header: header_at.is_some(),
            payload,
            buffer_type: op.buffer_type,
            pong: false,
        })
    }
}

/// permessage-deflate of one data frame's `payload` into the codec's buffer, for both send
/// paths: the compressed length there and the RSV bits of the frame's header (RSV1 on the first
/// frame of a message, RFC 7692 §6). `None` if zlib failed.
fn deflate_frame(
    codec: &mut Codec,
    payload: &[u8],
    fin: bool,
    opcode: Opcode,
) -> Option<(usize, u8)> {
    let n = codec.compress(payload, fin)?;
    Some((
        n,
        if opcode == Opcode::Continuation {
            0
        } else {
            RSV1
        },
    ))
}
