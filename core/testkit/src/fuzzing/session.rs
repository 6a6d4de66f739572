//! `session_server` and `session_client`: the whole engine, driven by a fuzzer-written script.
//!
//! Input: `[flags: u8] [rbs: u16] [sbs: u16]` then operations until the input ends (integers
//! little-endian). Flags: bit 0 disables masking, bit 1 disables UTF-8 verification, bit 2 sets
//! the buffer capacity of `get_action` to 1 (else 2). Buffer sizes are mostly small (see
//! [`buffer_size`]): the receive buffer is `256 + rbs % 1024` bytes for `rbs < 0x8000`, else up
//! to 65536; the send buffer `16 + sbs % 256`, else up to 65536. Each operation is a byte (taken mod 16, see [`op`])
//! followed by its arguments. The handshake is done before the script starts (with a peer
//! session), and after it the harness settles (posts receives until the engine waits for bytes,
//! fails, or has the peer's close), compares, aborts and drains.
//!
//! Invariants checked:
//! - every action: buffers lie in the session's block (receive area for reads, send area for
//!   masked copies) or in the caller's own payload or receive buffer; reads ask for 1 to RBS
//!   bytes; pieces are at most RBS bytes and at most the caller's buffer; contexts, types,
//!   payloads and close statuses are echoed for the operation at the front of its FIFO queue;
//! - no network action after an abort (by the caller or by end of stream); a 1006 close only then;
//! - every send and receive that was accepted completes exactly once, with its context and
//!   buffer; a refused one fails exactly when the API contract says (predicted here);
//! - the pieces delivered are what the kit's reference parser ([`crate::parse::Reference`],
//!   written from RFC 6455) finds in the bytes the engine read: the same messages, pongs and
//!   close, and the same protocol error, exactly once the engine has caught up; text pieces
//!   concatenate to valid UTF-8 when verification is on;
//! - the bytes written parse as frames of the right role (masked or not, no RSV) carrying exactly
//!   the sends that completed with `sent`, in order, plus automatic pongs echoing a ping;
//! - the heap the engine holds grows only with the operations the caller has posted (see
//!   [`HEAP_SLACK`]); the block is the caller's;
//! - progress: the number of actions is bounded by the input and payload sizes.

use super::pool::Pooled;
use super::{heap, Reader};
use crate::frame::mask;
use crate::parse::{check_head, push_event, Event, Reference};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::VecDeque;
use wspc::close::CloseStatus;
use wspc::error::{Error, Misuse, ProtocolError};
use wspc::frame::Opcode;
use wspc::properties::{Properties, Role};
use wspc::session::action::{Action, ActionId, BufferType, Completed, Queue};
use wspc::session::Session;

type Ws = Session<Pooled, u32>;

/// Operation codes of the session script (the byte is taken mod 16).
pub mod op {
    /// `[len: u16] [len bytes]`: a chunk arrives from the network; each read takes at most one chunk.
    pub const DATA: u8 = 0;
    /// The network stream ends: reads with nothing left complete with 0 bytes.
    pub const EOF: u8 = 1;
    /// `[type: u8] [len: u16] [fill: u8]`: send data (type mod 4: text/binary, fragment/message)
    /// of `len` bytes `fill`; `len` is taken mod 1024 unless its top 3 bits are set.
    pub const SEND: u8 = 2;
    /// `[type: u8] [len: u8] [len bytes]`: send data with the given bytes.
    pub const SEND_BYTES: u8 = 3;
    /// Send a ping.
    pub const PING: u8 = 4;
    /// Send an unsolicited pong.
    pub const PONG: u8 = 5;
    /// `[status: u16] [len: u8] [len bytes]`: send a close with a status and a reason.
    pub const CLOSE: u8 = 6;
    /// Send a close without a status.
    pub const CLOSE_EMPTY: u8 = 7;
    /// Post a receive into the internal buffer.
    pub const RECEIVE: u8 = 8;
    /// `[len: u16]`: post a receive into a caller buffer of `len` bytes (0 is refused).
    pub const RECEIVE_INTO: u8 = 9;
    /// `[ctl: u8]`: one `get_action` and its I/O. ctl bits 0–1: queue (0 send, 1 receive, else
    /// all); bit 2: the other capacity; bit 3: complete a write short by `ctl >> 4` mod its length.
    pub const STEP: u8 = 10;
    /// Serve actions on the all-queue until there are none.
    pub const DRIVE: u8 = 11;
    /// Abort the handle (an outstanding read is then completed with 0 bytes).
    pub const ABORT: u8 = 12;
    /// `[id: u8]`: complete an id that is not outstanding: must be refused.
    pub const BOGUS: u8 = 13;
    /// `[type: u8]`: `send` with type `0x80000000 + type % 7` and, if bit 7 is set, a payload.
    pub const RAW_SEND: u8 = 14;
    /// Post a receive if none is waiting, then drive.
    pub const PUMP: u8 = 15;
}

/// The send payload and caller receive buffer bytes one input may allocate in all: a send or a
/// receive buffer past it is cut to what is left. It bounds the work per input (a client masks
/// its payload in chunks of the send buffer, down to 16 bytes: one action each), so that no input
/// runs for milliseconds while the interesting lengths (125/126, the 16-bit length form, many
/// chunks) stay reachable.
pub const BYTES_PER_INPUT: usize = 4 * 1024;

/// Heap bytes the engine may hold beyond its operation queues.
pub const HEAP_SLACK: isize = 4096;
/// Heap bytes per posted operation (a queue slot, doubled for the growth of a `VecDeque`).
pub const HEAP_PER_OP: isize = 512;

/// Runs a script against a server handle.
pub fn session_server(data: &[u8]) {
    run(Role::Server, data);
}

/// Runs a script against a client handle.
pub fn session_client(data: &[u8]) {
    run(Role::Client, data);
}

/// A send the caller posted, with what it must look like on the wire.
#[derive(Debug)]
struct Sent {
    ctx: u32,
    buffer_type: BufferType,
    payload: Option<Vec<u8>>,
    /// Address range of the payload given to the engine.
    range: Option<(usize, usize)>,
    status: Option<CloseStatus>,
    opcode: Opcode,
    fin: bool,
    wire: Vec<u8>,
}

#[derive(Debug)]
struct Posted {
    ctx: u32,
    /// Address range and length of a caller buffer.
    buffer: Option<(usize, usize)>,
}

#[derive(Debug)]
struct State {
    role: Role,
    props: Properties,
    capacity: usize,
    block: (usize, usize),
    // From the peer.
    inbox: VecDeque<Vec<u8>>,
    inbox_at: usize,
    eof: bool,
    read: Vec<u8>,
    pending_read: Option<ActionId>,
    // To the peer.
    out: Vec<u8>,
    /// Start offset in `out` of each write, and whether it was an automatic pong.
    writes: Vec<(usize, bool)>,
    frozen: bool,
    // The caller's operations.
    next_ctx: u32,
    sends: VecDeque<Sent>,
    sent_ok: Vec<Sent>,
    recvs: VecDeque<Posted>,
    max_posted: usize,
    out_message: Option<bool>,
    close_queued: bool,
    broken: bool,
    // What came back.
    events: Vec<Event>,
    /// The text message being received (its pieces may be split into several events by
    /// control frames), whether it is open, and how much of it is complete valid UTF-8.
    text: Vec<u8>,
    text_open: bool,
    text_ok: usize,
    fault: Option<ProtocolError>,
    close_received: bool,
    aborted: bool,
    // Budgets.
    engine_heap: isize,
    actions: u64,
    budget: u64,
    /// Send payload and caller receive buffer bytes this input may still allocate
    /// ([`BYTES_PER_INPUT`]).
    bytes_left: usize,
}

fn range(b: &[u8]) -> (usize, usize) {
    let p = b.as_ptr() as usize;
    (p, p + b.len())
}

fn inside(b: &[u8], (lo, hi): (usize, usize)) -> bool {
    let (p, q) = range(b);
    b.is_empty() || (lo <= p && q <= hi)
}

impl State {
    /// `len` bytes of this input's allocation budget, or what is left of it.
    fn take_bytes(&mut self, len: usize) -> usize {
        let n = len.min(self.bytes_left);
        self.bytes_left -= n;
        n
    }

    fn rbs(&self) -> usize {
        self.props.receive_buffer_size as usize
    }

    fn sbs(&self) -> usize {
        self.props.send_buffer_size as usize
    }

    fn verify(&self) -> bool {
        !self.props.disable_utf8_verification
    }

    fn receive_area(&self) -> (usize, usize) {
        (self.block.0, self.block.0 + self.rbs())
    }

    fn has_input(&self) -> bool {
        !self.inbox.is_empty()
    }

    /// Heap accounting around one engine call that started when the heap was `before`.
    fn account(&mut self, before: Option<isize>) {
        if let (Some(a), Some(b)) = (before, heap()) {
            // Growth only: the engine frees nothing of its own inside a call, but drops the
            // payload of a refused send, which the harness allocated.
            self.engine_heap += (b - a).max(0);
            let posted = self.max_posted as isize;
            assert!(
                self.engine_heap <= HEAP_SLACK + HEAP_PER_OP * posted,
                "engine holds {} heap bytes with at most {posted} operations posted",
                self.engine_heap
            );
        }
    }

    fn posted(&mut self) {
        self.max_posted = self.max_posted.max(self.sends.len() + self.recvs.len());
    }

    /// Copy the next bytes of the front chunk into `buf`.
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let Some(chunk) = self.inbox.front() else {
            return 0;
        };
        let n = buf.len().min(chunk.len() - self.inbox_at);
        buf[..n].copy_from_slice(&chunk[self.inbox_at..self.inbox_at + n]);
        self.read
            .extend_from_slice(&chunk[self.inbox_at..self.inbox_at + n]);
        self.inbox_at += n;
        if self.inbox_at == chunk.len() {
            self.inbox.pop_front();
            self.inbox_at = 0;
        }
        n
    }

    fn tick(&mut self) {
        self.actions += 1;
        assert!(
            self.actions <= self.budget,
            "more than {} actions: no progress",
            self.budget
        );
    }
}

fn complete(s: &mut Ws, st: &mut State, id: ActionId, n: usize) -> Option<Completed<Pooled, u32>> {
    let h = heap();
    let r = s.complete_action(id, n);
    st.account(h);
    r.expect("completing an outstanding action")
}

fn finish_read(s: &mut Ws, st: &mut State, id: ActionId, n: usize) {
    assert!(complete(s, st, id, n).is_none());
    if n == 0 {
        // End of stream (or a cancelled read): the handle is aborted.
        st.aborted = true;
    }
}

/// One `get_action` on `queue` and its I/O. Returns false when nothing happened.
fn step(s: &mut Ws, st: &mut State, queue: Queue, capacity: usize, short: Option<u8>) -> bool {
    if let Some(id) = st.pending_read {
        if st.has_input() || st.eof {
            let Some(Action::ReceiveFromNetwork(a)) = s.outstanding_action(id) else {
                panic!("read {id:?} no longer outstanding");
            };
            let n = st.fill(a.buffer);
            st.pending_read = None;
            finish_read(s, st, id, n);
            return true;
        }
    }
    let h = heap();
    let got = s.get_action_with_capacity(queue, capacity);
    st.account(h);
    let action = match got {
        Ok(Action::NoAction) => return false,
        Ok(a) => a,
        Err(Error::Protocol(p)) => {
            assert!(queue != Queue::Send, "a protocol error on the send queue");
            assert!(
                st.fault.is_none_or(|f| f == p),
                "the fault changed to {p:?}"
            );
            st.fault = Some(p);
            return false;
        }
        Err(e) => panic!("get_action failed with {e:?}"),
    };
    st.tick();
    match action {
        Action::NoAction => unreachable!(),
        Action::SendToNetwork(a) => {
            assert!(!st.aborted, "a write after the abort");
            assert!(queue != Queue::Receive || a.context.is_none());
            let bufs = a.buffers();
            assert!(
                (1..=capacity).contains(&bufs.len()),
                "{} buffers",
                bufs.len()
            );
            let auto = a.context.is_none();
            let payload = if auto {
                assert_eq!(a.buffer_type, BufferType::PingPong);
                None
            } else {
                let front = st.sends.front().expect("a write with no send posted");
                assert_eq!(a.context, Some(&front.ctx));
                assert_eq!(a.buffer_type, front.buffer_type);
                front.range
            };
            for b in bufs {
                let in_block = inside(b, st.block);
                let in_payload = payload.is_some_and(|p| inside(b, p));
                assert!(
                    in_block || in_payload,
                    "write buffer outside the block and payload"
                );
                if in_block && !b.is_empty() {
                    // From the header, send or pong areas, never the receive buffer: at most a
                    // header (with a close status) and a masked chunk of the send buffer, or a
                    // pong's payload.
                    let from_receive = range(b).0 < st.block.0 + st.rbs();
                    assert!(!from_receive, "a write from the receive buffer");
                    let most = 16 + st.sbs().max(125);
                    assert!(b.len() <= most, "a write of {} bytes", b.len());
                }
            }
            let total = a.total_len();
            assert!(total > 0);
            let id = a.id;
            let n = match short {
                Some(k) => usize::from(k) % total,
                None => total,
            };
            if n == total && !st.frozen {
                st.writes.push((st.out.len(), auto));
                bufs.iter().for_each(|b| st.out.extend_from_slice(b));
            }
            assert!(complete(s, st, id, n).is_none());
            if n != total {
                // A short write cancels the send and leaves a partial frame (§9 Q13).
                st.frozen = true;
                st.broken = true;
            }
        }
        Action::IndicateSendComplete(a) => {
            let front = st
                .sends
                .pop_front()
                .expect("a send completion with no send");
            assert_eq!(a.context, &front.ctx);
            assert_eq!(a.buffer_type, front.buffer_type);
            assert_eq!(a.payload, front.payload.as_deref());
            assert_eq!(a.close_status, front.status);
            let (id, sent) = (a.id, a.sent);
            let done = complete(s, st, id, 0).expect("a send completion returns its context");
            assert_eq!(done.context, front.ctx);
            assert_eq!(done.buffer.as_ref().map(|b| range(b)), front.range);
            if sent {
                st.sent_ok.push(front);
            }
        }
        Action::ReceiveFromNetwork(a) => {
            assert!(!st.aborted, "a read after the abort");
            assert!(queue != Queue::Send);
            let front = st.recvs.front().expect("a read with no receive posted");
            assert_eq!(a.context, &front.ctx);
            assert!(!a.buffer.is_empty() && a.buffer.len() <= st.rbs());
            assert!(
                inside(a.buffer, st.receive_area()),
                "read outside the receive buffer"
            );
            let id = a.id;
            if !st.has_input() && !st.eof {
                // Nothing in flight: the read stays outstanding until bytes come.
                st.pending_read = Some(id);
                return false;
            }
            let n = st.fill(a.buffer);
            finish_read(s, st, id, n);
        }
        Action::IndicateReceiveComplete(a) => {
            assert!(queue != Queue::Send);
            let front = st
                .recvs
                .pop_front()
                .expect("a receive completion with no receive");
            assert_eq!(a.context, &front.ctx);
            let data = a.data;
            assert!(
                data.len() <= st.rbs(),
                "a piece larger than the receive buffer"
            );
            let t = a.buffer_type;
            match (t.is_data(), front.buffer) {
                (true, Some((lo, hi))) => {
                    assert!(
                        data.len() <= hi - lo,
                        "a piece larger than the caller's buffer"
                    );
                    assert!(inside(data, (lo, hi)));
                    assert!(data.is_empty() || range(data).0 == lo);
                }
                _ => assert!(
                    inside(data, st.receive_area()),
                    "a piece outside the buffer"
                ),
            }
            let status = a.close_status;
            assert_eq!(status.is_some(), t == BufferType::Close);
            let event = match t {
                BufferType::Close if status == Some(CloseStatus::ABORTED) => {
                    assert!(st.aborted, "a 1006 close before an abort");
                    assert!(data.is_empty());
                    None
                }
                _ if st.aborted => panic!("a {t:?} piece after the abort"),
                BufferType::Close => {
                    assert!(!st.close_received, "two closes");
                    st.close_received = true;
                    Some(Event::Close(status.map_or(0, |c| c.0), data.to_vec()))
                }
                BufferType::PingPong => Some(Event::Pong(data.to_vec())),
                t if t.is_data() => Some(Event::Data {
                    text: t.is_text(),
                    bytes: data.to_vec(),
                    fin: t.is_final(),
                }),
                t => panic!("received a {t:?}"),
            };
            let id = a.id;
            let done = complete(s, st, id, 0).expect("a receive completion returns its context");
            assert_eq!(done.context, front.ctx);
            assert_eq!(done.buffer.as_ref().map(|b| range(b)), front.buffer);
            if let Some(e) = event {
                check_text(st, &e);
                push_event(&mut st.events, e);
            }
        }
    }
    true
}

/// The text pieces of a message so far must be the start of valid UTF-8, and a finished text
/// message valid UTF-8 (when verification is on).
fn check_text(st: &mut State, e: &Event) {
    let Event::Data {
        text: true,
        bytes,
        fin,
    } = e
    else {
        return;
    };
    if !st.verify() {
        return;
    }
    if !st.text_open {
        st.text.clear();
        st.text_ok = 0;
    }
    st.text.extend_from_slice(bytes);
    st.text_open = !fin;
    match std::str::from_utf8(&st.text[st.text_ok..]) {
        Ok(_) => st.text_ok = st.text.len(),
        Err(e) => {
            assert!(e.error_len().is_none(), "invalid UTF-8 delivered");
            assert!(!fin, "a text message ends inside a character");
            st.text_ok += e.valid_up_to();
        }
    }
}

/// Serve actions on the all-queue (and the send queue after a fault, since the all-queue then
/// returns the error) until nothing happens.
fn drive(s: &mut Ws, st: &mut State) {
    while step(s, st, Queue::All, st.capacity, None)
        || (st.fault.is_some() && step(s, st, Queue::Send, st.capacity, None))
    {}
}

/// Whether the engine must accept a send, given the API contract (spec §9 Q13, RFC 6455 §5.5.1).
fn expect_send(
    st: &State,
    t: BufferType,
    has_payload: bool,
    close: Option<(CloseStatus, &[u8])>,
) -> Result<(), fn(&Misuse) -> bool> {
    let state: fn(&Misuse) -> bool = |m| matches!(m, Misuse::InvalidState(_));
    let arg: fn(&Misuse) -> bool = |m| matches!(m, Misuse::InvalidArgument(_));
    if st.aborted || st.broken {
        return Err(state);
    }
    if st.fault.is_some() && t != BufferType::Close {
        // Spec §9 Q18: after a protocol error only the close that fails the connection.
        return Err(state);
    }
    if t.is_data() {
        if st.close_queued || st.out_message.is_some_and(|open| open != t.is_text()) {
            return Err(state);
        }
        return Ok(());
    }
    match t {
        BufferType::PingPong | BufferType::UnsolicitedPong if has_payload => Err(arg),
        BufferType::PingPong | BufferType::UnsolicitedPong => Ok(()),
        _ if st.close_queued => Err(state),
        _ => match close {
            None if has_payload => Err(arg),
            None => Ok(()),
            Some((status, reason)) => {
                if !status.is_valid_on_wire()
                    || reason.len() > wspc::close::MAX_CLOSE_REASON_LENGTH
                    || std::str::from_utf8(reason).is_err()
                {
                    Err(arg)
                } else {
                    Ok(())
                }
            }
        },
    }
}

/// Post a send (`close` set for `send_close`) and check the verdict.
fn post_send(
    s: &mut Ws,
    st: &mut State,
    t: BufferType,
    payload: Option<Pooled>,
    close: Option<CloseStatus>,
) {
    let bytes = payload.as_deref().map(<[u8]>::to_vec);
    let expected = expect_send(
        st,
        t,
        payload.is_some(),
        close.map(|c| (c, bytes.as_deref().unwrap_or(&[]))),
    );
    let ctx = st.next_ctx;
    st.next_ctx += 1;
    let range = payload.as_deref().map(range);
    let h = heap();
    let r = match close {
        Some(status) => s.send_close(status, payload, ctx),
        None => s.send(t, payload, ctx),
    };
    st.account(h);
    match (r, expected) {
        (Ok(()), Ok(())) => {}
        (Err(Error::Misuse(m)), Err(kind)) if kind(&m) => return,
        (r, expected) => panic!("send {t:?} gave {r:?}, expected ok: {}", expected.is_ok()),
    }
    let text = t.is_text();
    let (opcode, fin) = match t {
        t if t.is_data() => {
            let opcode = match st.out_message {
                Some(_) => Opcode::Continuation,
                None if text => Opcode::Text,
                None => Opcode::Binary,
            };
            st.out_message = if t.is_final() { None } else { Some(text) };
            (opcode, t.is_final())
        }
        BufferType::PingPong => (Opcode::Ping, true),
        BufferType::UnsolicitedPong => (Opcode::Pong, true),
        _ => {
            st.close_queued = true;
            (Opcode::Close, true)
        }
    };
    let mut wire = close.map_or(Vec::new(), |c| c.0.to_be_bytes().to_vec());
    wire.extend_from_slice(bytes.as_deref().unwrap_or(&[]));
    st.sends.push_back(Sent {
        ctx,
        buffer_type: t,
        payload: bytes,
        range,
        status: close,
        opcode,
        fin,
        wire,
    });
    st.posted();
}

fn post_receive(s: &mut Ws, st: &mut State, buffer: Option<Pooled>) {
    let ctx = st.next_ctx;
    st.next_ctx += 1;
    let empty = buffer.as_ref().is_some_and(|b| b.is_empty());
    let range = buffer.as_deref().map(range);
    let h = heap();
    let r = match buffer {
        Some(b) => s.receive_into(b, ctx),
        None => s.receive(ctx),
    };
    st.account(h);
    let refused = st.aborted || st.fault.is_some() || st.close_received;
    match r {
        Err(Error::Misuse(Misuse::InvalidArgument(_))) if empty => {}
        Err(Error::Misuse(Misuse::InvalidState(_))) if refused && !empty => {}
        Ok(()) if !refused && !empty => {
            st.recvs.push_back(Posted { ctx, buffer: range });
            st.posted();
        }
        r => panic!(
            "receive gave {r:?} (aborted {}, fault {:?})",
            st.aborted, st.fault
        ),
    }
}

fn abort(s: &mut Ws, st: &mut State) {
    let h = heap();
    s.abort();
    st.account(h);
    if let Some(id) = st.pending_read.take() {
        finish_read(s, st, id, 0);
    }
    st.aborted = true;
}

/// A session opened without a handshake (the handshake targets cover it), with a fixed RNG.
fn open(role: Role, props: Properties, block: Pooled) -> Ws {
    let mut s =
        Ws::with_block(role, props, block, StdRng::seed_from_u64(1)).expect("a valid block");
    wspc::fuzz_bridge::open(&mut s);
    s
}

fn run(role: Role, data: &[u8]) {
    let mut r = Reader::new(data);
    let flags = r.u8();
    let mut props = Properties::new(role);
    props.receive_buffer_size = buffer_size(r.u16(), 256, 1024);
    props.send_buffer_size = buffer_size(r.u16(), 16, 256);
    props.disable_masking = flags & 1 != 0;
    props.disable_utf8_verification = flags & 2 != 0;
    let capacity = if flags & 4 != 0 { 1 } else { 2 };

    let block = Pooled::filled(props.block_size(), 0);
    let block_range = range(&block);
    let mut s = open(role, props, block);
    let mut st = State {
        role,
        props,
        capacity,
        block: block_range,
        inbox: VecDeque::new(),
        inbox_at: 0,
        eof: false,
        read: Vec::new(),
        pending_read: None,
        out: Vec::new(),
        writes: Vec::new(),
        frozen: false,
        next_ctx: 1,
        sends: VecDeque::new(),
        sent_ok: Vec::new(),
        recvs: VecDeque::new(),
        max_posted: 0,
        out_message: None,
        close_queued: false,
        broken: false,
        events: Vec::new(),
        text: Vec::new(),
        text_open: false,
        text_ok: 0,
        fault: None,
        close_received: false,
        aborted: false,
        engine_heap: 0,
        actions: 0,
        budget: 0,
        bytes_left: BYTES_PER_INPUT,
    };
    // Every action moves at least one byte of input or payload, or completes an operation.
    st.budget = 64 + 16 * data.len() as u64;

    while !r.is_empty() {
        match r.u8() % 16 {
            op::DATA => {
                let len = usize::from(r.u16());
                let chunk = r.bytes(len);
                if !chunk.is_empty() {
                    st.inbox.push_back(chunk.to_vec());
                }
            }
            op::EOF => st.eof = true,
            op::SEND => {
                let t = data_type(r.u8());
                let len = send_len(r.u16());
                let fill = r.u8();
                let len = st.take_bytes(usize::from(len));
                let payload = Pooled::filled(len, fill);
                st.budget += 4 * len as u64;
                post_send(&mut s, &mut st, t, Some(payload), None);
            }
            op::SEND_BYTES => {
                let t = data_type(r.u8());
                let len = usize::from(r.u8());
                let payload = Pooled::copy_of(r.bytes(len));
                post_send(&mut s, &mut st, t, Some(payload), None);
            }
            op::PING => post_send(&mut s, &mut st, BufferType::PingPong, None, None),
            op::PONG => post_send(&mut s, &mut st, BufferType::UnsolicitedPong, None, None),
            op::CLOSE => {
                let status = CloseStatus(r.u16());
                let len = usize::from(r.u8());
                let reason = Pooled::copy_of(r.bytes(len));
                post_send(
                    &mut s,
                    &mut st,
                    BufferType::Close,
                    Some(reason),
                    Some(status),
                );
            }
            op::CLOSE_EMPTY => post_send(&mut s, &mut st, BufferType::Close, None, None),
            op::RECEIVE => post_receive(&mut s, &mut st, None),
            op::RECEIVE_INTO => {
                let len = usize::from(r.u16());
                // Never 0 by exhaustion: 0 is the refused empty buffer, chosen by the input alone.
                let len = if len == 0 {
                    0
                } else {
                    st.take_bytes(len).max(1)
                };
                post_receive(&mut s, &mut st, Some(Pooled::filled(len, 0)));
            }
            op::STEP => {
                let ctl = r.u8();
                let queue = match ctl & 3 {
                    0 => Queue::Send,
                    1 => Queue::Receive,
                    _ => Queue::All,
                };
                let capacity = if ctl & 4 != 0 {
                    3 - st.capacity
                } else {
                    st.capacity
                };
                let short = (ctl & 8 != 0).then_some(ctl >> 4);
                step(&mut s, &mut st, queue, capacity, short);
            }
            op::DRIVE => drive(&mut s, &mut st),
            op::ABORT => abort(&mut s, &mut st),
            op::BOGUS => {
                let id = ActionId::from_raw(u64::from(r.u8()));
                if st.pending_read != Some(id) {
                    let h = heap();
                    let got = s.complete_action(id, 0);
                    st.account(h);
                    assert_eq!(got, Err(Error::Misuse(Misuse::UnknownAction)));
                }
            }
            op::RAW_SEND => {
                let b = r.u8();
                let t = BufferType::from_raw(0x8000_0000 + u32::from(b & 0x7F) % 7)
                    .expect("a buffer type");
                let payload = (b & 0x80 != 0).then(|| Pooled::copy_of(b"raw"));
                post_send(&mut s, &mut st, t, payload, None);
            }
            _ => {
                // op::PUMP
                if st.recvs.is_empty() && !st.aborted && st.fault.is_none() && !st.close_received {
                    post_receive(&mut s, &mut st, None);
                }
                drive(&mut s, &mut st);
            }
        }
    }
    settle(&mut s, &mut st);
    let (want, pings, error) = reference(&st);
    compare(&st, &want, error);
    check_wire(&st, &pings);
    teardown(&mut s, &mut st);
}

/// A buffer size from its raw value: below `0x8000`, `min + raw % small` (small buffers, many
/// pieces); from `0x8000`, `min + 2 * (raw - 0x8000)`, at most 65536.
pub fn buffer_size(raw: u16, min: u32, small: u32) -> u32 {
    match raw.checked_sub(0x8000) {
        None => min + u32::from(raw) % small,
        Some(big) => (min + 2 * u32::from(big)).min(wspc::properties::MAX_BUFFER_SIZE),
    }
}

/// The raw value of a buffer size (the inverse of [`buffer_size`], rounding odd large sizes down).
pub fn buffer_size_raw(size: u32, min: u32, small: u32) -> u16 {
    if size < min + small {
        (size - min) as u16
    } else {
        0x8000 + ((size - min) / 2) as u16
    }
}

/// A send length from its raw value: one in eight up to 65535 bytes, else below 1024.
fn send_len(raw: u16) -> u16 {
    if raw >> 13 == 7 {
        raw
    } else {
        raw % 1024
    }
}

fn data_type(b: u8) -> BufferType {
    crate::pair::DATA_TYPES[usize::from(b % 4)]
}

/// Post receives and drive until the engine waits for bytes it has not got, failed, has the
/// peer's close, or is aborted. Returns with `caught_up` semantics checked by [`compare`].
fn settle(s: &mut Ws, st: &mut State) {
    loop {
        drive(s, st);
        if st.aborted || st.fault.is_some() || st.close_received {
            return;
        }
        if st.recvs.is_empty() {
            post_receive(s, st, None);
            continue;
        }
        assert!(
            st.pending_read.is_some() && !st.has_input(),
            "a receive is posted, bytes are there, and the engine does nothing"
        );
        return;
    }
}

/// The reference parse (RFC 6455 §5, §7.4, §8.1, [`crate::parse::Reference`]) of the bytes the
/// engine read: the events, the ping payloads, and the protocol error, if any.
fn reference(st: &State) -> (Vec<Event>, Vec<Vec<u8>>, Option<ProtocolError>) {
    let parsed = Reference {
        role: st.role,
        accept_unmasked: st.props.disable_masking,
        verify_utf8: st.verify(),
    }
    .parse(&st.read);
    (parsed.events, parsed.pings, parsed.error)
}

/// The engine's events against the reference: equal once the engine has caught up (or failed or
/// got the close), a prefix (the last data run possibly cut) if it was aborted first.
fn compare(st: &State, want: &[Event], error: Option<ProtocolError>) {
    let got = &st.events[..];
    if let Some(f) = st.fault {
        assert_eq!(
            error,
            Some(f),
            "the engine failed where the reference did not"
        );
    }
    let exact = !st.aborted && st.fault.is_none();
    if exact {
        assert_eq!(error, None, "the reference failed, the engine did not");
        assert_eq!(got, want, "the engine delivered something else");
        return;
    }
    assert!(
        got.len() <= want.len(),
        "more events than the reference: {got:?} {want:?} (reference error {error:?}, read {:x?})",
        &st.read[..st.read.len().min(64)]
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g == w {
            continue;
        }
        let cut = match (g, w) {
            (
                Event::Data {
                    text: a,
                    bytes: x,
                    fin: false,
                },
                Event::Data {
                    text: b, bytes: y, ..
                },
            ) => a == b && y.starts_with(x),
            _ => false,
        };
        assert!(
            cut && i + 1 == got.len(),
            "event {i}: {g:?}, reference {w:?}"
        );
    }
}

/// Our bytes on the wire, as the peer parses them.
fn check_wire(st: &State, pings: &[Vec<u8>]) {
    let out = &st.out[..];
    let mut sent = st.sent_ok.iter();
    let mut pos = 0;
    while pos < out.len() {
        let (h, n) = match check_head(&out[pos..]) {
            Ok(Some(done)) => done,
            Ok(None) => break,
            Err(e) => panic!("we wrote a bad frame header at {pos}: {e:?}"),
        };
        let len = h.len as usize;
        if out.len() - pos - n < len {
            break;
        }
        let auto = st
            .writes
            .iter()
            .rev()
            .find(|(at, _)| *at <= pos)
            .is_some_and(|(_, auto)| *auto);
        assert_eq!(h.rsv, 0);
        match st.role {
            Role::Client if st.props.disable_masking => assert_eq!(h.mask, Some([0; 4])),
            Role::Client => assert!(h.mask.is_some(), "an unmasked client frame"),
            Role::Server => assert_eq!(h.mask, None, "a masked server frame"),
        }
        let mut payload = out[pos + n..pos + n + len].to_vec();
        if let Some(k) = h.mask {
            mask(&mut payload, k);
        }
        if auto {
            assert_eq!((h.kind(), h.fin), (Some(Opcode::Pong), true));
            assert!(pings.contains(&payload), "a pong that answers no ping");
        } else {
            let want = sent.next().expect("a frame for no completed send");
            assert_eq!((h.kind(), h.fin), (Some(want.opcode), want.fin), "{want:?}");
            assert!(payload == want.wire, "frame payload differs from {want:?}");
        }
        pos += n + len;
    }
    assert!(
        pos == out.len() || st.frozen || st.aborted,
        "a partial frame on the wire"
    );
    assert!(
        sent.next().is_none(),
        "a send reported sent is not on the wire"
    );
}

/// Abort and drain: every operation completes exactly once, nothing goes to the network, and the
/// handle ends idle.
fn teardown(s: &mut Ws, st: &mut State) {
    abort(s, st);
    drive(s, st);
    assert!(st.sends.is_empty(), "sends never completed: {:?}", st.sends);
    assert!(
        st.recvs.is_empty(),
        "receives never completed: {:?}",
        st.recvs
    );
    for q in [Queue::Send, Queue::Receive, Queue::All] {
        assert!(matches!(s.get_action(q), Ok(Action::NoAction)));
    }
    assert!(s.is_aborted());
}
