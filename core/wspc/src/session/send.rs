//! The send side: queued sends, frame emission (header + payload segments), automatic pongs.

use super::action::{BufferType, Completed};
use super::{Buffer, Phase, Plan, Seg, Session, HEADER_AREA};
use crate::close::{CloseStatus, MAX_CLOSE_REASON_LENGTH};
use crate::error::Error;
use crate::frame::{FrameHeader, Opcode, MAX_HEADER_LEN};
use crate::mask::{apply_mask, mask_copy};
use crate::utf8;
use rand::RngCore;
use std::collections::VecDeque;

/// One `send` call: one frame.
#[derive(Debug)]
pub(super) struct SendOp<B, C> {
    pub(super) buffer_type: BufferType,
    pub(super) payload: Option<B>,
    pub(super) status: Option<CloseStatus>,
    pub(super) context: C,
    opcode: Opcode,
    fin: bool,
    /// Where the header bytes start in the block (frame header plus a masked close status,
    /// flush against the end of the header area).
    header_at: usize,
    /// The masking key, once the frame has started.
    key: Option<[u8; 4]>,
    started: bool,
    header_sent: bool,
    payload_sent: usize,
    done: bool,
    sent_all: bool,
}

impl<B: Buffer, C> SendOp<B, C> {
    fn payload_len(&self) -> usize {
        self.payload.as_ref().map_or(0, |p| p.len())
    }

    fn prefix_len(&self) -> usize {
        if self.status.is_some() {
            2
        } else {
            0
        }
    }
}

/// An automatic pong: its payload sits in the pong area of the block.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pong {
    pub(super) len: usize,
    /// Its first segment has been handed out: the area may no longer be overwritten.
    pub(super) in_flight: bool,
    header_sent: bool,
}

impl Pong {
    pub(super) fn new(len: usize) -> Self {
        Self {
            len,
            in_flight: false,
            header_sent: false,
        }
    }
}

#[derive(Debug)]
pub(super) struct SendSide<B, C> {
    ops: VecDeque<SendOp<B, C>>,
    /// An open outgoing fragmented message: `Some(true)` for text.
    message: Option<bool>,
    pub(super) close_queued: bool,
    /// A short completion left a partial frame on the wire (§9 Q13).
    pub(super) broken: bool,
}

impl<B: Buffer, C> SendSide<B, C> {
    pub(super) fn new() -> Self {
        Self {
            ops: VecDeque::with_capacity(4),
            message: None,
            close_queued: false,
            broken: false,
        }
    }

    pub(super) fn front(&self) -> Option<&SendOp<B, C>> {
        self.ops.front()
    }

    /// Validate and queue one send.
    pub(super) fn enqueue(
        &mut self,
        buffer_type: BufferType,
        payload: Option<B>,
        status: Option<CloseStatus>,
        context: C,
    ) -> Result<(), Error> {
        let (opcode, fin) = match buffer_type {
            t if t.is_data() => {
                // RFC 6455 §5.5.1: after sending a close, no more data frames.
                if self.close_queued {
                    return Err(Error::state("data send after a close"));
                }
                let text = t.is_text();
                let opcode = match self.message {
                    Some(open) if open != text => {
                        return Err(Error::state("switching text/binary inside a message"))
                    }
                    Some(_) => Opcode::Continuation,
                    None if text => Opcode::Text,
                    None => Opcode::Binary,
                };
                let fin = t.is_final();
                self.message = if fin { None } else { Some(text) };
                (opcode, fin)
            }
            BufferType::PingPong | BufferType::UnsolicitedPong => {
                if payload.is_some() {
                    return Err(Error::arg("ping and unsolicited pong sends take no buffer"));
                }
                let op = if buffer_type == BufferType::PingPong {
                    Opcode::Ping
                } else {
                    Opcode::Pong
                };
                (op, true)
            }
            _ => {
                if self.close_queued {
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
                        let reason = payload.as_ref().map_or(&[][..], |p| p.bytes(0..p.len()));
                        if reason.len() > MAX_CLOSE_REASON_LENGTH {
                            return Err(Error::arg("close reason over 123 bytes"));
                        }
                        // RFC 6455 §5.5.1: the reason is UTF-8.
                        if !utf8::validate(reason) {
                            return Err(Error::arg("close reason is not UTF-8"));
                        }
                    }
                }
                self.close_queued = true;
                (Opcode::Close, true)
            }
        };
        self.ops.push_back(SendOp {
            buffer_type,
            payload,
            status,
            context,
            opcode,
            fin,
            header_at: 0,
            key: None,
            started: false,
            header_sent: false,
            payload_sent: 0,
            done: false,
            sent_all: false,
        });
        Ok(())
    }

    /// A write of the front frame (or of the pong, if `pong`) completed.
    pub(super) fn wrote(
        &mut self,
        pong: Option<&mut Option<Pong>>,
        ok: bool,
        header: bool,
        payload: usize,
    ) {
        if let Some(slot) = pong {
            match (ok, slot.as_mut()) {
                (true, Some(p)) if header && payload < p.len => p.header_sent = true,
                (true, _) => *slot = None,
                (false, _) => {
                    *slot = None;
                    self.broken = true;
                }
            }
            return;
        }
        let Some(op) = self.ops.front_mut() else {
            return;
        };
        if !ok {
            op.done = true;
            self.broken = true;
            return;
        }
        op.header_sent |= header;
        op.payload_sent += payload;
        if op.header_sent && op.payload_sent == op.payload_len() {
            op.done = true;
            op.sent_all = true;
        }
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
        self.ops.front().is_some_and(|op| op.started && !op.done)
    }
}

impl<B: Buffer, C> Session<B, C> {
    fn wire_busy(&self) -> bool {
        let writing = self
            .outstanding
            .iter()
            .flatten()
            .any(|o| matches!(o.pending, super::Pending::Write { .. }));
        writing || self.send.mid_frame() || self.recv.pong.is_some_and(|p| p.in_flight)
    }

    fn new_key(&mut self) -> Option<[u8; 4]> {
        match self.role {
            crate::properties::Role::Server => None,
            // A client always sets the MASK bit (RFC 6455 §5.3); with masking disabled the key is
            // all zero, so the payload needs no copy.
            crate::properties::Role::Client if self.props.disable_masking => Some([0; 4]),
            crate::properties::Role::Client => {
                let mut key = [0u8; 4];
                self.rng.fill_bytes(&mut key);
                Some(key)
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
        let pong = self.recv.pong?;
        if matches!(self.phase, Phase::Aborted) {
            return None;
        }
        let area = self.pong_at();
        if pong.header_sent {
            // Capacity 1: the header went out alone, the payload follows.
            return Some(self.pong_plan(
                [Seg::Block(area, area + pong.len), Seg::Block(0, 0)],
                1,
                false,
                pong.len,
            ));
        }
        if pong.in_flight || self.wire_busy() {
            return None;
        }
        if self.send.close_queued || self.send.broken {
            // Like Windows, no automatic pongs once our close is on its way; and none after a
            // cancelled write (§9 Q13): its partial frame would swallow the pong's bytes.
            self.recv.pong = None;
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
        self.recv.pong = Some(Pong {
            in_flight: true,
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

    /// The next action of the send queue.
    pub(super) fn plan_send(&mut self, two: bool) -> Option<Plan> {
        let draining = matches!(self.phase, Phase::Aborted) || self.send.broken;
        let front = self.send.ops.front()?;
        if front.done {
            return Some(Plan::SendDone {
                sent: front.sent_all,
            });
        }
        let started = front.started;
        if draining {
            let front = self.send.ops.front_mut()?;
            front.done = true;
            return Some(Plan::SendDone { sent: false });
        }
        if !started {
            if self.wire_busy() {
                return None;
            }
            let key = self.new_key();
            let front = self.send.ops.front_mut()?;
            let header = FrameHeader {
                fin: front.fin,
                rsv: 0,
                opcode: front.opcode,
                mask: key,
                payload_len: (front.prefix_len() + front.payload_len()) as u64,
            };
            front.key = key;
            front.started = true;
            let status = front.status;
            let at = self.write_header(&header, status);
            self.send.ops.front_mut()?.header_at = at;
        }
        let copy = self.masking();
        let (sbs, send_at) = (self.sbs(), self.send_at());
        let op = self.send.ops.front_mut()?;
        let mut segs = [Seg::Block(0, 0); 2];
        let mut count = 0;
        let header = !op.header_sent;
        let header_len = if header { send_at - op.header_at } else { 0 };
        if header {
            segs[0] = Seg::Block(op.header_at, send_at);
            count = 1;
        }
        let remaining = op.payload_len() - op.payload_sent;
        let mut payload = 0;
        // With one buffer at a time, a masked chunk is coalesced with the header before it (it
        // is a copy anyway), keeping the whole buffer within the send buffer size.
        let coalesce = copy && header && !two;
        if remaining > 0 && (count == 0 || two || coalesce) {
            let from = op.payload_sent;
            if copy {
                let room = if coalesce {
                    sbs.saturating_sub(header_len)
                } else {
                    sbs
                };
                payload = remaining.min(room);
                let phase = op.prefix_len() + from;
                let key = op.key.unwrap_or_default();
                let src = op
                    .payload
                    .as_ref()
                    .map_or(&[][..], |p| p.bytes(from..from + payload));
                mask_copy(
                    self.block.bytes_mut(send_at..send_at + payload),
                    src,
                    key,
                    phase,
                );
                if coalesce {
                    segs[0] = Seg::Block(op.header_at, send_at + payload);
                } else {
                    segs[count] = Seg::Block(send_at, send_at + payload);
                    count += 1;
                }
            } else {
                payload = remaining;
                segs[count] = Seg::Payload(from, from + payload);
                count += 1;
            }
        }
        Some(Plan::Write {
            segs,
            count,
            total: header_len + payload,
            header,
            payload,
            buffer_type: op.buffer_type,
            pong: false,
        })
    }
}
