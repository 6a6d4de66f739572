//! Property 5 of issue 7: the action API against a reference model of its queues.
//!
//! Random sequences of `send`, `send_close`, `receive`/`receive_into`, `get_action` on each queue
//! (capacity 0, 1 or 2), `complete_action` (full, short, zero, over, or with an id that is not
//! outstanding) and `abort` run on one handle whose peer stream (messages, pings, pongs, then a
//! close, a frame with a reserved opcode, or nothing) is read as the handle asks. A small model of
//! the queues (spec §5.8–§5.10, §6, §9 Q7, Q11, Q13, Q18) predicts the result of every
//! application call and judges every action handed out:
//!
//! - calls fail exactly where the model says (state and argument errors, unknown ids), and a
//!   protocol error comes only once the bad frame has been read and everything before it
//!   delivered, then sticks until the abort;
//! - each action is one the model allows at that point (the front operation's context, the echo of
//!   the send, the next bytes of the next expected message, a 1006 close after an end of stream or
//!   an abort), and `NoAction` only when the model has nothing due;
//! - at the end (serve everything, then abort and drain) every send and receive has completed
//!   exactly once, in FIFO order, with its own context and buffer; the bytes on the wire are the
//!   frames of the sends reported as sent, in order, with pongs only for pings received.

use proptest::prelude::*;
use std::collections::VecDeque;
use wspc::{
    Action, ActionId, BufferType, CloseStatus, Error, Misuse, Property, ProtocolError, Queue, Role,
};
use wspc_testkit::data::*;
use wspc_testkit::frame::*;
use wspc_testkit::pair::{open_seeded, Ws, DATA_TYPES};
use wspc_testkit::parse::parse_lax;
use wspc_testkit::prop::*;

// ----- the case ----------------------------------------------------------------------------------

/// One item of the stream the peer sends.
#[derive(Clone, Debug)]
enum In {
    Msg(bool, Vec<u8>, Vec<usize>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// How the peer's stream ends.
#[derive(Clone, Debug)]
enum Tail {
    /// Nothing: a read then waits, until the harness completes it with 0 (end of stream).
    Nothing,
    Close(u16, Vec<u8>),
    /// A frame with the reserved opcode 0x3 (RFC 6455 §5.2), refused from its first byte.
    Bad,
}

/// How an action is completed.
#[derive(Clone, Copy, Debug)]
enum How {
    /// The whole count (for a read: what fits and is there).
    Full,
    /// A smaller count, as a fraction in 1/256 (at least 1 byte for a read; may be 0 for a write).
    Short(u8),
    /// 0 bytes.
    Zero,
    /// One byte more than the total (a write: cancels, like a short count).
    Over,
}

#[derive(Clone, Debug)]
enum Op {
    /// `send` with a type and a payload of this many bytes (or no buffer).
    Send(BufferType, Option<usize>),
    /// `send_close` with a status, a reason of this many bytes, valid UTF-8 or not.
    SendClose(u16, usize, bool),
    /// `receive` (None) or `receive_into` a buffer of this size (0 is refused).
    Receive(Option<usize>),
    /// `get_action_with_capacity`.
    Get(Queue, usize),
    /// Complete the i-th outstanding action (modulo their count).
    Complete(usize, How),
    /// Complete an id that is not outstanding (one already completed, or never issued).
    Stale(usize),
    Abort,
}

fn small_msg() -> impl Strategy<Value = In> {
    (
        any::<bool>(),
        0usize..=700,
        any::<u64>(),
        proptest::collection::vec(any::<usize>(), 0..=3),
    )
        .prop_map(|(text, len, seed, cuts)| {
            let data = if text {
                random_text(seed, len)
            } else {
                random_bytes(seed, len)
            };
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (len + 1)).collect();
            cuts.sort_unstable();
            In::Msg(text, data, cuts)
        })
}

fn incoming() -> impl Strategy<Value = (Vec<In>, Tail)> {
    let small = proptest::collection::vec(any::<u8>(), 0..=12);
    let item = prop_oneof![
        3 => small_msg(),
        2 => small.clone().prop_map(In::Ping),
        1 => small.prop_map(In::Pong),
    ];
    let tail = prop_oneof![
        1 => Just(Tail::Nothing),
        2 => (prop::sample::select(vec![1000u16, 1001, 3000, 4999]), 0usize..=20)
            .prop_map(|(s, n)| Tail::Close(s, random_text(u64::from(s), n))),
        1 => Just(Tail::Bad),
    ];
    (proptest::collection::vec(item, 0..=6), tail)
}

fn data_type() -> impl Strategy<Value = BufferType> {
    prop::sample::select(DATA_TYPES.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    let queue = prop::sample::select(vec![Queue::Send, Queue::Receive, Queue::All]);
    let len = prop_oneof![
        4 => (0usize..=40).prop_map(Some),
        2 => (41usize..=3000).prop_map(Some),
        1 => Just(None),
    ];
    // Weighted so that a run of 120 operations is cut short by an abort or an end of stream about
    // one time in three, and most runs reach pings, pongs, the close or the bad frame.
    prop_oneof![
        36 => (data_type(), len).prop_map(|(t, n)| Op::Send(t, n)),
        6 => (
            prop::sample::select(vec![
                BufferType::PingPong,
                BufferType::UnsolicitedPong,
                BufferType::Close,
            ]),
            prop_oneof![4 => Just(None), 1 => Just(Some(1usize))],
        )
            .prop_map(|(t, n)| Op::Send(t, n)),
        3 => (
            prop::sample::select(vec![
                1000u16, 1001, 1011, 3000, 4999, 999, 1005, 1006, 1015, 5000,
            ]),
            prop_oneof![4 => 0usize..=20, 1 => 121usize..=126],
            prop_oneof![5 => Just(true), 1 => Just(false)],
        )
            .prop_map(|(s, n, ok)| Op::SendClose(s, n, ok)),
        30 => prop_oneof![6 => Just(None), 3 => (1usize..=300).prop_map(Some), 1 => Just(Some(0))]
            .prop_map(Op::Receive),
        120 => (queue, prop_oneof![1 => Just(0usize), 6 => Just(1), 20 => Just(2)])
            .prop_map(|(q, c)| Op::Get(q, c)),
        100 => (
            any::<usize>(),
            prop_oneof![
                100 => Just(How::Full),
                6 => any::<u8>().prop_map(How::Short),
                1 => Just(How::Zero),
                1 => Just(How::Over),
            ],
        )
            .prop_map(|(i, h)| Op::Complete(i, h)),
        3 => any::<usize>().prop_map(Op::Stale),
        1 => Just(Op::Abort),
    ]
}

// ----- the model ---------------------------------------------------------------------------------

/// A send the model knows about, until its `IndicateSendComplete` is completed.
#[derive(Clone, Debug)]
struct MSend {
    ctx: u32,
    ty: BufferType,
    payload: Option<Vec<u8>>,
    status: Option<u16>,
    /// The frame as it must appear on the wire: opcode, FIN, payload (unmasked).
    opcode: u8,
    fin: bool,
    body: Vec<u8>,
    frame_len: usize,
    /// Bytes written by full completions.
    written: usize,
    /// A write of it was completed short (or over): cancelled (§9 Q13).
    cut: bool,
}

#[derive(Clone, Debug)]
struct MRecv {
    ctx: u32,
    buffer: Option<usize>,
}

/// What the peer's stream still has to deliver, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    Msg(bool, Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, Vec<u8>),
}

/// An action handed out and not yet completed.
#[derive(Clone, Debug)]
enum Out {
    /// A write: its bytes, and the send's context (None for an automatic pong).
    Write(Option<u32>, Vec<u8>),
    SendDone(u32),
    Read(usize),
    RecvDone(u32),
}

struct Model {
    role: Role,
    rbs: usize,
    sbs: usize,
    aborted: bool,
    /// A write was cut short: the wire holds a partial frame (§9 Q13).
    broken: bool,
    close_queued: bool,
    /// An outgoing fragmented message is open: text?
    msg_open: Option<bool>,
    sends: VecDeque<MSend>,
    recvs: VecDeque<MRecv>,
    fault: Option<ProtocolError>,
    close_received: bool,
    /// The peer's stream, how much of it was read, and where the bad frame starts.
    stream: Vec<u8>,
    fed: usize,
    bad_at: Option<usize>,
    expect: VecDeque<Expect>,
    pings: Vec<Vec<u8>>,
    /// Bytes of the pong frame being written that are still to come (0: none in flight).
    pong_rest: usize,
    outs: Vec<(ActionId, Out)>,
    completed_ids: Vec<ActionId>,
    /// The writes completed in full before the first cut one, in order: from a pong?, bytes.
    writes: Vec<(bool, Vec<u8>)>,
    /// A write was completed short or over.
    cut: bool,
    /// A send was drained with part of its frame written (an abort in the middle of it).
    partial: bool,
    /// Every send and receive accepted, and every completion, in order.
    posted_sends: Vec<u32>,
    posted_recvs: Vec<u32>,
    done_sends: Vec<(u32, bool)>,
    done_recvs: Vec<u32>,
    /// The frames of the sends reported sent, in order.
    sent_frames: Vec<(u8, bool, Vec<u8>)>,
    next_ctx: u32,
}

fn is_state<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Misuse(Misuse::InvalidState(_))))
}

fn is_arg<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Misuse(Misuse::InvalidArgument(_))))
}

/// The model's verdict on an application call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    State,
    Arg,
}

fn verdict<T: std::fmt::Debug>(r: &Result<T, Error>) -> Verdict {
    match r {
        Ok(_) => Verdict::Ok,
        _ if is_state(r) => Verdict::State,
        _ if is_arg(r) => Verdict::Arg,
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

impl Model {
    fn new(role: Role, rbs: usize, sbs: usize, items: &[In], tail: &Tail, seed: u64) -> Self {
        let masked = role == Role::Server;
        let mut keys = XorShift::new(seed);
        let mut frames = Vec::new();
        let mut expect = VecDeque::new();
        let mut pings = Vec::new();
        for item in items {
            match item {
                In::Msg(text, data, cuts) => {
                    let spec = MsgSpec {
                        text: *text,
                        data: data.clone(),
                        cuts: cuts.clone(),
                        pings: vec![],
                    };
                    frames.extend(spec.frames(&mut keys, masked));
                    expect.push_back(Expect::Msg(*text, data.clone()));
                }
                In::Ping(p) => {
                    frames.push(RawFrame::new(0x9, key(&mut keys, masked), p.clone()));
                    pings.push(p.clone());
                }
                In::Pong(p) => {
                    frames.push(RawFrame::new(0xA, key(&mut keys, masked), p.clone()));
                    expect.push_back(Expect::Pong(p.clone()));
                }
            }
        }
        let mut stream = encode_all(&frames);
        let mut bad_at = None;
        match tail {
            Tail::Nothing => {}
            Tail::Close(s, r) => {
                let payload = [&s.to_be_bytes()[..], r].concat();
                RawFrame::new(0x8, key(&mut keys, masked), payload).encode(&mut stream);
                expect.push_back(Expect::Close(*s, r.clone()));
            }
            Tail::Bad => {
                bad_at = Some(stream.len());
                RawFrame::new(0x3, key(&mut keys, masked), vec![1, 2, 3]).encode(&mut stream);
            }
        }
        Self {
            role,
            rbs,
            sbs,
            aborted: false,
            broken: false,
            close_queued: false,
            msg_open: None,
            sends: VecDeque::new(),
            recvs: VecDeque::new(),
            fault: None,
            close_received: false,
            stream,
            fed: 0,
            bad_at,
            expect,
            pings,
            pong_rest: 0,
            outs: Vec::new(),
            completed_ids: Vec::new(),
            writes: Vec::new(),
            cut: false,
            partial: false,
            posted_sends: Vec::new(),
            posted_recvs: Vec::new(),
            done_sends: Vec::new(),
            done_recvs: Vec::new(),
            sent_frames: Vec::new(),
            next_ctx: 0,
        }
    }

    fn ctx(&mut self) -> u32 {
        self.next_ctx += 1;
        self.next_ctx
    }

    fn frame_len(&self, body: usize) -> usize {
        let ext = match body {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + ext + if self.role == Role::Client { 4 } else { 0 } + body
    }

    fn slot_busy(&self, f: impl Fn(&Out) -> bool) -> bool {
        self.outs.iter().any(|(_, o)| f(o))
    }

    fn send_slot_busy(&self) -> bool {
        self.slot_busy(|o| matches!(o, Out::Write(Some(_), _) | Out::SendDone(_)))
    }

    fn recv_slot_busy(&self) -> bool {
        self.slot_busy(|o| matches!(o, Out::Read(_) | Out::RecvDone(_)))
    }

    /// An automatic pong is on its way to the wire (its slot is busy or its frame unfinished).
    fn pong_in_flight(&self) -> bool {
        self.pong_rest > 0 || self.slot_busy(|o| matches!(o, Out::Write(None, _)))
    }

    /// The front send is finished, cancelled or to be drained: its completion is due.
    fn front_done(&self) -> Option<bool> {
        let f = self.sends.front()?;
        let sent = f.written == f.frame_len && !f.cut;
        (sent || f.cut || self.aborted || self.broken).then_some(sent)
    }

    /// `send` or `send_close`: the verdict, and the send queued when it is Ok.
    fn send(
        &mut self,
        ty: BufferType,
        payload: Option<Vec<u8>>,
        status: Option<u16>,
    ) -> (Verdict, Option<MSend>) {
        if self.aborted || self.broken {
            return (Verdict::State, None);
        }
        // Spec §9 Q18: after a protocol error only the close that fails the connection is sent.
        if self.fault.is_some() && ty != BufferType::Close {
            return (Verdict::State, None);
        }
        let (opcode, fin, body) = if ty.is_data() {
            if self.close_queued {
                return (Verdict::State, None);
            }
            let text = ty.is_text();
            let opcode = match self.msg_open {
                Some(open) if open != text => return (Verdict::State, None),
                Some(_) => 0,
                None if text => 1,
                None => 2,
            };
            self.msg_open = if ty.is_final() { None } else { Some(text) };
            (opcode, ty.is_final(), payload.clone().unwrap_or_default())
        } else if matches!(ty, BufferType::PingPong | BufferType::UnsolicitedPong) {
            if payload.is_some() {
                return (Verdict::Arg, None);
            }
            (
                if ty == BufferType::PingPong { 0x9 } else { 0xA },
                true,
                vec![],
            )
        } else {
            if self.close_queued {
                return (Verdict::State, None);
            }
            let body = match status {
                None if payload.is_some() => return (Verdict::Arg, None),
                None => vec![],
                Some(s) => {
                    let reason = payload.clone().unwrap_or_default();
                    // RFC 6455 §7.4.1, §5.5.1, §8.1: a status that may be sent, and a short
                    // UTF-8 reason.
                    if !CloseStatus(s).is_valid_on_wire()
                        || reason.len() > 123
                        || std::str::from_utf8(&reason).is_err()
                    {
                        return (Verdict::Arg, None);
                    }
                    [&s.to_be_bytes()[..], &reason].concat()
                }
            };
            self.close_queued = true;
            (0x8, true, body)
        };
        let ctx = self.ctx();
        let send = MSend {
            ctx,
            ty,
            payload,
            status,
            opcode,
            fin,
            frame_len: self.frame_len(body.len()),
            body,
            written: 0,
            cut: false,
        };
        self.sends.push_back(send.clone());
        self.posted_sends.push(ctx);
        (Verdict::Ok, Some(send))
    }

    fn receive(&mut self, buffer: Option<usize>) -> (Verdict, u32) {
        if buffer == Some(0) {
            return (Verdict::Arg, 0);
        }
        if self.aborted || self.fault.is_some() || self.close_received {
            return (Verdict::State, 0);
        }
        let ctx = self.ctx();
        self.recvs.push_back(MRecv { ctx, buffer });
        self.posted_recvs.push(ctx);
        (Verdict::Ok, ctx)
    }

    /// Everything before the bad frame has been delivered and its first byte read: parsing on
    /// fails.
    fn error_due(&self) -> bool {
        self.bad_at.is_some_and(|at| self.fed > at) && self.expect.is_empty()
    }
}

// ----- the harness -------------------------------------------------------------------------------

struct Harness {
    ws: Ws,
    m: Model,
}

type Check = Result<(), TestCaseError>;

impl Harness {
    fn apply(&mut self, op: &Op) -> Check {
        match *op {
            Op::Send(ty, len) => {
                let payload = len.map(|n| random_bytes(n as u64, n));
                let payload = match (ty.is_text(), len) {
                    (true, Some(n)) => Some(random_text(n as u64, n)),
                    _ => payload,
                };
                let ctx = self.m.next_ctx + 1;
                let r = self.ws.send(ty, payload.clone(), ctx);
                let (v, _) = self.m.send(ty, payload, None);
                prop_assert_eq!(verdict(&r), v, "send {:?}: {:?}", ty, r);
            }
            Op::SendClose(status, len, utf8) => {
                let mut reason = random_text(len as u64, len);
                if !utf8 {
                    reason.push(0xFF);
                }
                let ctx = self.m.next_ctx + 1;
                let r = self
                    .ws
                    .send_close(CloseStatus(status), Some(reason.clone()), ctx);
                let (v, _) = self.m.send(BufferType::Close, Some(reason), Some(status));
                prop_assert_eq!(verdict(&r), v, "send_close {}: {:?}", status, r);
            }
            Op::Receive(buffer) => {
                let ctx = self.m.next_ctx + 1;
                let r = match buffer {
                    Some(n) => self.ws.receive_into(vec![0; n], ctx),
                    None => self.ws.receive(ctx),
                };
                let (v, _) = self.m.receive(buffer);
                prop_assert_eq!(verdict(&r), v, "receive: {:?}", r);
            }
            Op::Get(queue, capacity) => self.get(queue, capacity)?,
            Op::Complete(i, how) => {
                if !self.m.outs.is_empty() {
                    let i = i % self.m.outs.len();
                    self.complete(i, how)?;
                }
            }
            Op::Stale(i) => {
                let id = match self.m.completed_ids.len() {
                    0 => ActionId::from_raw(u64::MAX - i as u64 % 1000),
                    n => self.m.completed_ids[i % n],
                };
                let r = self.ws.complete_action(id, 0);
                prop_assert!(
                    matches!(r, Err(Error::Misuse(Misuse::UnknownAction))),
                    "{:?}",
                    r
                );
            }
            Op::Abort => {
                self.ws.abort();
                self.m.aborted = true;
                // An automatic pong not yet started is dropped; one being written finishes.
            }
        }
        Ok(())
    }

    /// `get_action` and the model's judgement of what it gave.
    fn get(&mut self, queue: Queue, capacity: usize) -> Check {
        let m = &mut self.m;
        let (send_free, recv_free) = (!m.send_slot_busy(), !m.recv_slot_busy());
        let has_send = matches!(queue, Queue::Send | Queue::All);
        let has_recv = matches!(queue, Queue::Receive | Queue::All);
        let action = self.ws.get_action_with_capacity(queue, capacity);
        if capacity == 0 {
            prop_assert!(is_arg(&action), "capacity 0: {:?}", action);
            return Ok(());
        }
        let action = match action {
            Err(Error::Protocol(p)) => {
                // Only from a queue with receives, once everything before the bad frame is
                // delivered and its byte read, or again after that (sticky until the abort).
                prop_assert!(has_recv && recv_free && !m.aborted && !m.recvs.is_empty());
                prop_assert!(m.fault.is_some() || m.error_due(), "early error {:?}", p);
                prop_assert_eq!(p, ProtocolError::ReservedOpcode(3));
                m.fault = Some(p);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("get_action: {e:?}"))),
            Ok(a) => a,
        };
        let (id, out) = match action {
            Action::NoAction => {
                // Nothing may be lost: NoAction only when the model has nothing due.
                if has_send && send_free {
                    prop_assert!(m.front_done().is_none(), "a send completion is due");
                    let can_start = m.sends.front().is_some_and(|f| {
                        f.written > 0
                            || (!m.pong_in_flight()
                                && !m.slot_busy(|o| matches!(o, Out::Write(..))))
                    });
                    prop_assert!(!can_start, "a send's write is due");
                }
                if has_recv && recv_free && !m.recvs.is_empty() {
                    prop_assert!(!m.aborted, "a 1006 completion is due after the abort");
                    let stalled = m.pong_in_flight();
                    prop_assert!(
                        m.close_received || stalled,
                        "a receive is queued and nothing happens (fault {:?})",
                        m.fault
                    );
                }
                return Ok(());
            }
            Action::SendToNetwork(a) => {
                prop_assert!(a.buffers().len() <= capacity);
                let bytes: Vec<u8> = a.buffers().concat();
                prop_assert!(!bytes.is_empty());
                match a.context {
                    Some(&ctx) => {
                        prop_assert!(has_send && send_free && !m.aborted && !m.broken);
                        let f = m.sends.front().expect("a send queued");
                        prop_assert_eq!(ctx, f.ctx);
                        prop_assert_eq!(a.buffer_type, f.ty);
                        prop_assert!(!f.cut && f.written + bytes.len() <= f.frame_len);
                        if f.written == 0 {
                            prop_assert!(!m.pong_in_flight(), "a frame starts inside a pong");
                        }
                        if m.role == Role::Client && f.body.len() > m.sbs {
                            // Masked payload goes out in chunks of at most the send buffer.
                            prop_assert!(bytes.len() <= m.sbs + 16);
                        }
                    }
                    None => {
                        // No pong after an abort, nor after a cut write (its bytes would land
                        // inside the partial frame).
                        prop_assert!(has_recv && !m.aborted && !m.broken);
                        prop_assert_eq!(a.buffer_type, BufferType::PingPong);
                        prop_assert!(
                            m.sends
                                .front()
                                .is_none_or(|f| f.written == 0 || f.written == f.frame_len),
                            "a pong inside a frame"
                        );
                    }
                }
                (a.id, Out::Write(a.context.copied(), bytes))
            }
            Action::IndicateSendComplete(a) => {
                prop_assert!(has_send && send_free);
                let f = m.sends.front().expect("a send queued");
                prop_assert_eq!(*a.context, f.ctx);
                prop_assert_eq!(
                    Some(a.sent),
                    m.front_done(),
                    "sent flag or completion not due"
                );
                // §9 Q6: the send is echoed.
                prop_assert_eq!(a.buffer_type, f.ty);
                prop_assert_eq!(a.payload, f.payload.as_deref());
                prop_assert_eq!(a.close_status.map(|s| s.0), f.status);
                (a.id, Out::SendDone(f.ctx))
            }
            Action::ReceiveFromNetwork(a) => {
                prop_assert!(
                    has_recv && recv_free && !m.aborted && m.fault.is_none() && !m.close_received
                );
                let f = m.recvs.front().expect("a receive queued");
                prop_assert_eq!(*a.context, f.ctx);
                prop_assert!(!a.buffer.is_empty() && a.buffer.len() <= m.rbs);
                prop_assert!(!m.error_due(), "a read instead of the error");
                (a.id, Out::Read(a.buffer.len()))
            }
            Action::IndicateReceiveComplete(a) => {
                prop_assert!(has_recv && recv_free);
                let f = m.recvs.front().expect("a receive queued").clone();
                prop_assert_eq!(*a.context, f.ctx);
                let ctx = f.ctx;
                let data = a.data.to_vec();
                let ty = a.buffer_type;
                let status = a.close_status.map(|s| s.0);
                let id = a.id;
                if m.aborted {
                    // §9 Q7, Q18: after an end of stream or an abort, a 1006 close, no reason.
                    prop_assert_eq!((ty, status, data.len()), (BufferType::Close, Some(1006), 0));
                } else {
                    prop_assert!(m.fault.is_none() && !m.close_received);
                    Self::piece(m, ty, status, data, f.buffer)?;
                }
                (id, Out::RecvDone(ctx))
            }
        };
        m.outs.push((id, out));
        Ok(())
    }

    /// A piece delivered while open must be the next thing the stream holds.
    fn piece(
        m: &mut Model,
        ty: BufferType,
        status: Option<u16>,
        data: Vec<u8>,
        buffer: Option<usize>,
    ) -> Check {
        let front = m.expect.front_mut();
        match (ty, front) {
            (BufferType::Close, Some(Expect::Close(s, r))) => {
                prop_assert_eq!((status, &data), (Some(*s), &*r));
                m.expect.pop_front();
                m.close_received = true;
            }
            (BufferType::PingPong, Some(Expect::Pong(p))) => {
                prop_assert_eq!(&data, &*p);
                m.expect.pop_front();
            }
            (t, Some(Expect::Msg(text, rest))) if t.is_data() => {
                prop_assert_eq!(t.is_text(), *text);
                prop_assert!(data.len() <= m.rbs.min(buffer.unwrap_or(usize::MAX)));
                prop_assert!(rest.starts_with(&data), "not the next bytes of the message");
                rest.drain(..data.len());
                if t.is_final() {
                    prop_assert!(rest.is_empty(), "the message ended early");
                    m.expect.pop_front();
                } else {
                    prop_assert!(!data.is_empty(), "an empty fragment piece");
                }
            }
            (t, e) => {
                return Err(TestCaseError::fail(format!(
                    "{t:?} {status:?} {data:?} delivered, expected {e:?}"
                )))
            }
        }
        Ok(())
    }

    fn complete(&mut self, i: usize, how: How) -> Check {
        let m = &mut self.m;
        let (id, out) = m.outs[i].clone();
        let n = match (&out, how) {
            (Out::Write(_, b), How::Full) => b.len(),
            (Out::Write(_, b), How::Short(f)) => b.len() * usize::from(f) / 256,
            (Out::Write(_, b), How::Over) => b.len() + 1,
            (Out::Read(_), How::Zero) => 0,
            (Out::Read(len), h) => {
                let avail = (m.stream.len() - m.fed).min(*len);
                if avail == 0 {
                    // Nothing to read yet: the read stays outstanding.
                    return Ok(());
                }
                match h {
                    How::Short(f) => (avail * usize::from(f) / 256).max(1),
                    _ => avail,
                }
            }
            (_, How::Zero) => 0,
            _ => 0,
        };
        if let Out::Read(_) = out {
            // The "network" gives the next n bytes.
            let from = m.fed;
            if let Some(Action::ReceiveFromNetwork(a)) = self.ws.outstanding_action(id) {
                a.buffer[..n].copy_from_slice(&m.stream[from..from + n]);
            } else {
                return Err(TestCaseError::fail("the read is no longer outstanding"));
            }
        }
        let r = self.ws.complete_action(id, n);
        m.outs.remove(i);
        m.completed_ids.push(id);
        let done = match r {
            Ok(done) => done,
            Err(e) => return Err(TestCaseError::fail(format!("complete_action: {e:?}"))),
        };
        match out {
            Out::Write(ctx, bytes) => {
                prop_assert!(done.is_none());
                let full = n == bytes.len();
                if !full {
                    m.cut = true;
                } else if !m.cut {
                    m.writes.push((ctx.is_none(), bytes.clone()));
                }
                match ctx {
                    Some(_) => {
                        let f = m.sends.front_mut().expect("the written send");
                        if full {
                            f.written += n;
                        } else {
                            f.cut = true;
                            m.broken = true;
                        }
                    }
                    None if full => {
                        // The first write of a pong holds its header: the frame's length.
                        if m.pong_rest == 0 {
                            let masked = usize::from(bytes[1] & 0x80 != 0) * 4;
                            m.pong_rest = 2 + masked + usize::from(bytes[1] & 0x7F);
                        }
                        m.pong_rest -= n;
                    }
                    None => {
                        m.pong_rest = 0;
                        m.broken = true;
                    }
                }
            }
            Out::SendDone(ctx) => {
                let f = m.sends.pop_front().expect("the completed send");
                let sent = f.written == f.frame_len && !f.cut;
                let done = done.expect("a send completion returns its context");
                prop_assert_eq!(done.context, ctx);
                prop_assert_eq!(done.buffer, f.payload);
                m.done_sends.push((ctx, sent));
                m.partial |= f.written > 0 && !sent;
                if sent {
                    m.sent_frames.push((f.opcode, f.fin, f.body));
                }
            }
            Out::Read(_) => {
                prop_assert!(done.is_none());
                if n == 0 {
                    // §9 Q7: the end of stream aborts the handle.
                    m.aborted = true;
                } else {
                    m.fed += n;
                }
            }
            Out::RecvDone(ctx) => {
                let f = m.recvs.pop_front().expect("the completed receive");
                let done = done.expect("a receive completion returns its context");
                prop_assert_eq!(done.context, ctx);
                prop_assert_eq!(done.buffer.map(|b| b.len()), f.buffer);
                m.done_recvs.push(ctx);
            }
        }
        Ok(())
    }

    /// Serve everything with full completions (posting receives while the stream has more) until
    /// nothing is left to do.
    fn settle(&mut self) -> Check {
        for _ in 0..100_000 {
            if !self.m.outs.is_empty() {
                // A read with nothing left to give ends the stream.
                let how = match self.m.outs[0].1 {
                    Out::Read(_) if self.m.fed == self.m.stream.len() => How::Zero,
                    _ => How::Full,
                };
                self.complete(0, how)?;
                continue;
            }
            let before = self.m.outs.len();
            self.get(Queue::All, 2)?;
            if self.m.outs.len() > before {
                continue;
            }
            let m = &self.m;
            let more = !m.aborted && m.fault.is_none() && !m.close_received;
            if more && m.recvs.is_empty() {
                self.apply(&Op::Receive(None))?;
                continue;
            }
            return Ok(());
        }
        Err(TestCaseError::fail("settling did not end"))
    }

    fn finish(&mut self) -> Check {
        self.settle()?;
        let m = &self.m;
        if !m.aborted && !m.broken {
            prop_assert!(m.sends.is_empty(), "sends left: {:?}", m.sends);
        }
        if m.fault.is_none() && !m.aborted {
            prop_assert!(m.expect.is_empty(), "not delivered: {:?}", m.expect);
        }
        if !m.aborted {
            // Everything the peer sent was delivered, or stopped at the bad frame.
            prop_assert_eq!(m.fault.is_some(), m.bad_at.is_some());
        }

        // Abort and drain (spec §5.10, §9 Q18).
        self.ws.abort();
        self.m.aborted = true;
        self.settle()?;
        let m = &self.m;
        prop_assert!(m.sends.is_empty() && m.recvs.is_empty());
        // Every operation completed exactly once, in order, with its own context.
        let sends: Vec<u32> = m.done_sends.iter().map(|&(c, _)| c).collect();
        prop_assert_eq!(&sends, &m.posted_sends);
        prop_assert_eq!(&m.done_recvs, &m.posted_recvs);
        prop_assert!(is_state(&self.ws.send(BufferType::BinaryMessage, None, 0)));
        prop_assert!(is_state(&self.ws.receive(0)));
        prop_assert!(matches!(
            self.ws.get_action(Queue::All),
            Ok(Action::NoAction)
        ));

        // The wire, up to the first cut: frames never interleave; the application's are those of
        // the sends reported sent, in order; the automatic pongs answer pings, in order (the
        // latest of several may stand for all, RFC 6455 §5.5.3).
        let wire: Vec<u8> = m.writes.iter().flat_map(|(_, b)| b.clone()).collect();
        let (frames, whole) = parse_lax(&wire);
        if !m.cut && !m.partial && m.pong_rest == 0 {
            prop_assert_eq!(whole, wire.len(), "a partial frame on the wire");
        }
        let mut ranges = Vec::new();
        let mut at = 0;
        for (pong, b) in &m.writes {
            ranges.push((at, at + b.len(), *pong));
            at += b.len();
        }
        let mut app = Vec::new();
        let mut pongs = Vec::new();
        for f in frames {
            let sources: Vec<bool> = ranges
                .iter()
                .filter(|r| r.0 < f.end && f.start < r.1)
                .map(|r| r.2)
                .collect();
            prop_assert!(
                sources.iter().all(|&p| p == sources[0]),
                "frames interleave at {}",
                f.start
            );
            prop_assert_eq!(f.head.mask.is_some(), m.role == Role::Client);
            prop_assert_eq!(f.head.b0() & 0x70, 0);
            if sources[0] {
                prop_assert_eq!(f.head.b0(), 0x8A);
                pongs.push(f.payload);
            } else {
                app.push((f.head.b0() & 0xF, f.head.b0() & 0x80 != 0, f.payload));
            }
        }
        prop_assert_eq!(&app, &m.sent_frames);
        let mut pings = m.pings.iter();
        for p in &pongs {
            prop_assert!(
                pings.any(|q| q == p),
                "pong {:?} answers no ping in order",
                p
            );
        }
        Ok(())
    }
}

/// Run `ops` on a `role` handle whose peer sends `items` then `tail`, against the model.
fn run_case(
    role: Role,
    (items, tail): &(Vec<In>, Tail),
    ops: &[Op],
    rbs: u32,
    sbs: u32,
    seed: u64,
) -> Check {
    let props = [
        Property::ReceiveBufferSize(rbs),
        Property::SendBufferSize(sbs),
    ];
    let mut h = Harness {
        ws: open_seeded(role, &props, seed).session,
        m: Model::new(role, rbs as usize, sbs as usize, items, tail, seed),
    };
    for op in ops {
        h.apply(op)?;
    }
    h.finish()
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn action_api_matches_the_model(
        role in role(),
        incoming in incoming(),
        ops in proptest::collection::vec(op(), 1..=120),
        rbs in prop_oneof![Just(256u32), 257u32..=1024],
        sbs in prop_oneof![Just(16u32), 17u32..=512],
        seed in any::<u64>(),
    ) {
        run_case(role, &incoming, &ops, rbs, sbs, seed)?;
    }
}

/// Found by this test: after a write was cut short (§9 Q13), a ping read later was still answered,
/// and the pong's bytes went out inside the partial frame.
#[test]
fn no_pong_after_a_cut_write() {
    let incoming = (vec![In::Ping(vec![])], Tail::Nothing);
    let ops = [
        Op::Send(BufferType::Utf8Message, Some(0)),
        Op::Get(Queue::Send, 1),
        Op::Complete(0, How::Short(0)),
        Op::Receive(None),
        Op::Get(Queue::Receive, 2),
        Op::Complete(0, How::Full),
        Op::Get(Queue::All, 2),
    ];
    run_case(Role::Client, &incoming, &ops, 256, 16, 0).unwrap();
}
