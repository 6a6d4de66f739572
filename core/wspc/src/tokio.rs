//! The tokio driver (cargo feature `tokio`): the HTTP/1.1 upgrade and the action loop over any
//! `AsyncRead + AsyncWrite + Unpin` stream, as a [`Stream`] of received [`Message`]s and a
//! [`Sink`] of messages to send (the tokio-tungstenite convention).
//!
//! ```no_run
//! # async fn run() -> Result<(), wspc::tokio::DriverError> {
//! use futures_util::{SinkExt, StreamExt};
//! use wspc::tokio::{accept, Message, ServerOptions};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! let (tcp, _) = listener.accept().await?;
//! let mut ws = accept(tcp, &ServerOptions::default()).await?;
//! while let Some(message) = ws.next().await {
//!     match message? {
//!         m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await?,
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! It is the same engine as every other face of wspc: the stream drives one
//! [`Session`] through the pump the blocking driver uses; nothing here frames or
//! parses. It is full duplex: while a write waits for the peer to read, polling the stream goes
//! on reading (and answering pings), and after [`WebSocketStream::split`] one task can read while
//! another writes. A send that waits reads on too, into a buffer of up to
//! [`Config::max_read_ahead`] bytes (64 MiB by default) that the next receive takes first, so an
//! application that sends before it receives (an echo) and a peer that sends before it reads do
//! not wait on each other forever. Writes are buffered up to [`Config::max_write_buffer`] bytes;
//! beyond it `poll_ready` waits (backpressure). The timeouts of [`Config`] run on tokio's clock:
//! the handshake, the close, the keep-alive ping and pong, and writes that make no progress.
//! Keep-alive pings and the close clock run while the stream is polled for messages.
//!
//! Streams whose read and write sides share one waker (some TLS wrappers) work too: the driver
//! wakes both the reading and the writing task whenever the stream wakes it.

use crate::driver::conn::{coalesce, Conn, Next};
use crate::driver::upgrade::{self, HeadReader, ServerUpgrade};
use crate::error::Error;
use crate::session::action::BufferType;
use crate::session::Session;
use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use ::tokio::time::{sleep_until, Instant, Sleep};
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use futures_core::Stream;
use futures_sink::Sink;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Wake;

pub use crate::driver::upgrade::MAX_HEAD_BYTES;
pub use crate::driver::{
    Accept, ClientOptions, CloseFrame, Config, DriverError, Message, Piece, Refusal, Request,
    Response, ServerOptions, Timeout,
};

/// The most time and bytes spent draining input after failing a connection.
const DRAIN_TIME: Duration = Duration::from_secs(1);
const DRAIN_BYTES: usize = 1 << 20;

/// The tasks to wake when the stream is ready, once two tasks poll the connection: the stream
/// keeps one waker per direction (or one in all), and the reading side also writes (pongs, the
/// close) while the writing side may wait on the same direction, so the driver hands the
/// stream this one (the proxy), which wakes the reading and the writing task both.
///
/// While only one task polls an unsplit stream, the proxy is not used at all: the stream gets
/// that task's own waker (`Inner::direct`), which saves a lock and an indirection per wake-up.
/// The first poll from a second task (an unsplit stream shared behind a lock) or a `split`
/// switches to the proxy for good.
///
/// While one task polls both sides through the proxy, its waker stays in the slots across
/// wake-ups, so a running stream stores nothing per poll and takes one lock per wake-up. Once
/// two tasks poll (after `split`), a wake-up takes the wakers out, so a task that stopped
/// polling the stream (a writer with nothing to send) is woken once, not on every message
/// received; it stores its waker again when it polls again.
#[derive(Debug, Default)]
struct Wakers {
    reader: Slot,
    writer: Slot,
    /// Both slots hold the same task's waker: one wake does, and the wakers stay.
    one_task: AtomicBool,
}

/// One side's waker.
#[derive(Debug, Default)]
struct Slot {
    waker: Mutex<Option<Waker>>,
    /// A wake-up took the waker out (set under the lock; cleared when one is stored).
    taken: AtomicBool,
}

impl Slot {
    /// Wake the slot's task, if it holds one (false if not); `keep` leaves its waker in the slot.
    fn wake(&self, keep: bool) -> bool {
        let mut slot = self.waker.lock().unwrap_or_else(PoisonError::into_inner);
        if keep {
            return slot.as_ref().map(Waker::wake_by_ref).is_some();
        }
        let waker = slot.take();
        self.taken.store(true, Ordering::Release);
        drop(slot);
        waker.map(Waker::wake).is_some()
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if self.one_task.load(Ordering::Acquire) {
            // The writer's slot holds the same task; it is asked only if a wake-up racing with
            // the switch to one task took the reader's.
            if !self.reader.wake(true) {
                self.writer.wake(true);
            }
        } else {
            self.reader.wake(false);
            self.writer.wake(false);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Reader = 0,
    Writer = 1,
}

/// Where the connection is in its ending.
#[derive(Debug)]
enum Ending {
    /// Running.
    No,
    /// Failing after `error`: the close goes out, the write side is shut, input is drained until
    /// `until`; then `error` is returned.
    Failing {
        error: Option<DriverError>,
        until: Instant,
        drained: usize,
        shut: bool,
    },
    /// Over; the stream yields `None` (the error, if any, was returned).
    Done,
}

#[derive(Debug)]
struct Inner<S> {
    stream: S,
    conn: Conn,
    config: Config,
    /// Where the stream's wake-ups go: the owner of `Inner` keeps a [`Waker`] of it (the
    /// proxy), which it passes to every poll below.
    wakers: Arc<Wakers>,
    /// The wakers in the reader's and the writer's slot of `wakers` (compared without a lock);
    /// while `direct`, the wakers the reading and the writing side were last polled with.
    stored: [Option<Waker>; 2],
    /// One task polls both sides (an unsplit stream that no second task has polled): the
    /// stream and the clocks get that task's own waker, and the proxy is not used. Cleared for
    /// good, the slots of `wakers` filled from `stored`, when a second task polls or on
    /// [`split`](WebSocketStream::split).
    direct: bool,
    /// The keep-alive clock: fires at the end of the interval being watched for silence (or at
    /// the pong deadline once a ping is out).
    keepalive: Option<Pin<Box<Sleep>>>,
    /// Bytes were read since the keep-alive clock was last set: the interval was not silent.
    /// (A flag, not a time: reading the clock on every read costs more than the rest of a small
    /// message's receive.)
    read_seen: bool,
    /// A keep-alive ping is out and its pong has not come.
    ping_out: bool,
    /// Runs while a write makes no progress.
    write_timer: Option<Pin<Box<Sleep>>>,
    /// Runs once our close is out.
    close_timer: Option<Pin<Box<Sleep>>>,
    ending: Ending,
    /// The write side is shut down.
    shut: bool,
    /// Input read while a write waited (see [`Inner::read_ahead`]); the receive side uses it
    /// before reading the stream again. Allocated only when a write has to wait.
    ahead: Option<Box<ReadAhead>>,
}

/// Bytes read from the stream ahead of the engine while a write waited: a peer that sends
/// before it reads (and stops reading once its own queue is full) must not find us doing the
/// same, or both writes wait forever.
#[derive(Debug, Default)]
struct ReadAhead {
    /// Room the reads go into (zeroed once, as it grows); `bytes[used..filled]` are the bytes
    /// read and not yet given to the engine.
    bytes: Vec<u8>,
    used: usize,
    filled: usize,
    /// How reading ahead ended, if it did: the end of the stream (`Ok`) or an error. The
    /// receive side meets it once the bytes before it are used.
    end: Option<io::Result<()>>,
}

impl ReadAhead {
    fn unread(&self) -> usize {
        self.filled - self.used
    }
}

/// Reading ahead reads at most this much per call of the stream.
const READ_AHEAD_CHUNK: usize = 64 * 1024;

/// A WebSocket over an async stream: a [`Stream`] of received messages and a [`Sink`] of
/// messages to send, plus piece-level reads and writes for streaming large messages.
#[derive(Debug)]
pub struct WebSocketStream<S> {
    inner: Inner<S>,
    /// The waker handed to the stream (see [`Wakers`]); kept here, not in `Inner`, so a poll
    /// borrows it instead of cloning it (two atomic operations saved per poll).
    proxy: Waker,
}

/// The reading half of a split [`WebSocketStream`].
#[derive(Debug)]
pub struct ReadHalf<S> {
    inner: Arc<Mutex<Inner<S>>>,
    proxy: Waker,
}

/// The writing half of a split [`WebSocketStream`].
#[derive(Debug)]
pub struct WriteHalf<S> {
    inner: Arc<Mutex<Inner<S>>>,
    proxy: Waker,
}

fn poll_sleep(timer: &mut Option<Pin<Box<Sleep>>>, cx: &mut Context<'_>) -> bool {
    timer
        .as_mut()
        .is_some_and(|t| t.as_mut().poll(cx).is_ready())
}

fn timer_at(timer: &mut Option<Pin<Box<Sleep>>>, at: Instant) {
    match timer {
        Some(t) if t.deadline() == at => {}
        Some(t) => t.as_mut().reset(at),
        None => *timer = Some(Box::pin(sleep_until(at))),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    fn new(stream: S, session: Session, leftover: Vec<u8>, config: Config) -> Self {
        let wakers = Arc::new(Wakers::default());
        Self {
            stream,
            conn: Conn::new(session, leftover, config.max_message_size),
            config,
            wakers,
            stored: [None, None],
            direct: false,
            keepalive: None,
            read_seen: false,
            ping_out: false,
            write_timer: None,
            close_timer: None,
            ending: Ending::No,
            shut: false,
            ahead: None,
        }
    }

    /// Store the polling task's waker in `side`'s slot, so that the proxy wakes it; nothing to
    /// do when the slot holds this task's waker still (see [`Wakers`]).
    fn register(&mut self, side: Side, cx: &Context<'_>) {
        let i = side as usize;
        if self.direct {
            let me = cx.waker();
            if self.stored[i].as_ref().is_some_and(|w| w.will_wake(me)) {
                return;
            }
            // This side's first poll, or the stream moved to another task: still one task.
            if self.stored[1 - i].as_ref().is_none_or(|w| w.will_wake(me)) {
                self.stored[i] = Some(me.clone());
                return;
            }
            // A second task: from now on the proxy wakes them both.
            self.use_proxy();
        }
        let slot = match side {
            Side::Reader => &self.wakers.reader,
            Side::Writer => &self.wakers.writer,
        };
        if !slot.taken.load(Ordering::Acquire)
            && self.stored[i]
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
        {
            // Taken after the load: the wake-up went to this very task, which polls again.
            return;
        }
        // Until both slots are known to hold the same task again, wake-ups go to both.
        self.wakers.one_task.store(false, Ordering::Release);
        let waker = cx.waker().clone();
        let mut stored = slot.waker.lock().unwrap_or_else(PoisonError::into_inner);
        *stored = Some(waker.clone());
        slot.taken.store(false, Ordering::Release);
        drop(stored);
        self.stored[i] = Some(waker);
        let untaken = |s: &Slot| !s.taken.load(Ordering::Acquire);
        if let [Some(r), Some(w)] = &self.stored {
            if r.will_wake(w) && untaken(&self.wakers.reader) && untaken(&self.wakers.writer) {
                self.wakers.one_task.store(true, Ordering::Release);
            }
        }
    }

    /// Leave `direct` mode: the proxy's slots get the wakers polled with so far, so that a
    /// wake-up through the proxy reaches them (the stream and the clocks may still hold a
    /// task's own waker until they are polled again, which wakes that task as before).
    fn use_proxy(&mut self) {
        if !self.direct {
            return;
        }
        self.direct = false;
        self.wakers.one_task.store(false, Ordering::Release);
        for (slot, waker) in [&self.wakers.reader, &self.wakers.writer]
            .into_iter()
            .zip(&self.stored)
        {
            let mut stored = slot.waker.lock().unwrap_or_else(PoisonError::into_inner);
            stored.clone_from(waker);
            slot.taken.store(false, Ordering::Release);
        }
    }

    /// The waker the stream and the clocks get: the polling task's own while `direct`, else
    /// the proxy. The polls below pass it on to the helpers as their `proxy`.
    fn waker<'a>(&self, cx: &'a Context<'_>, proxy: &'a Waker) -> &'a Waker {
        if self.direct {
            cx.waker()
        } else {
            proxy
        }
    }

    /// Write what is queued until done or the stream would block (then `Pending`, with the write
    /// clock running).
    fn poll_write_out(&mut self, proxy: &Waker) -> Poll<Result<(), DriverError>> {
        let mut cx = Context::from_waker(proxy);
        loop {
            let polled = match self.conn.write_buf()? {
                None => break,
                Some(bufs) => {
                    let mut scratch = None;
                    match coalesce(bufs, &mut scratch) {
                        Ok(one) => Pin::new(&mut self.stream).poll_write(&mut cx, one),
                        Err(slices) => {
                            Pin::new(&mut self.stream).poll_write_vectored(&mut cx, &slices)
                        }
                    }
                }
            };
            match polled {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(self.broken(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => {
                    self.write_timer = None;
                    self.conn.wrote(n)?;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.broken(e))),
                Poll::Pending => {
                    if let Some(limit) = self.config.write_timeout {
                        if self.write_timer.is_none() {
                            timer_at(&mut self.write_timer, Instant::now() + limit);
                        }
                        if poll_sleep(&mut self.write_timer, &mut cx) {
                            self.conn.abort();
                            self.end();
                            return Poll::Ready(Err(DriverError::Timeout(Timeout::Write)));
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
        self.write_timer = None;
        match Pin::new(&mut self.stream).poll_flush(&mut cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.broken(e))),
            other => other.map(|r| r.map_err(DriverError::Io)),
        }
    }

    /// Write what is queued, as [`poll_write_out`](Self::poll_write_out), for the sending side;
    /// while the write waits, input is read ahead (see [`read_ahead`](Self::read_ahead)).
    fn poll_send_out(&mut self, proxy: &Waker) -> Poll<Result<(), DriverError>> {
        let polled = self.poll_write_out(proxy);
        if polled.is_pending() {
            self.read_ahead(proxy);
        }
        polled
    }

    /// A write waits for the peer to read: read on meanwhile, up to
    /// [`Config::max_read_ahead`] bytes not yet given to the engine, so that a peer that only
    /// reads once it has sent everything (its own writes waiting on ours) is not deadlocked
    /// against us, however the application orders its sends and receives. The bytes go to the
    /// engine, in order, on the next receive; pings among them are answered then.
    fn read_ahead(&mut self, proxy: &Waker) {
        let limit = self.config.max_read_ahead;
        if limit == 0 || !matches!(self.ending, Ending::No) || self.conn.ended() {
            return;
        }
        let ahead = self.ahead.get_or_insert_with(Box::default);
        let mut cx = Context::from_waker(proxy);
        while ahead.end.is_none() && ahead.unread() < limit {
            // Move the unread bytes to the front once they are no more than those used, so
            // each byte is moved at most about once.
            if ahead.used > 0 && ahead.used >= ahead.unread() {
                ahead.bytes.copy_within(ahead.used..ahead.filled, 0);
                ahead.filled -= ahead.used;
                ahead.used = 0;
            }
            let want = (limit - ahead.unread()).min(READ_AHEAD_CHUNK);
            let end = ahead.filled + want;
            if ahead.bytes.len() < end {
                ahead.bytes.resize(end, 0);
            }
            let mut buf = ReadBuf::new(&mut ahead.bytes[ahead.filled..end]);
            let polled = Pin::new(&mut self.stream).poll_read(&mut cx, &mut buf);
            let n = buf.filled().len();
            ahead.filled += n;
            match polled {
                Poll::Pending => break,
                Poll::Ready(Ok(())) if n == 0 => ahead.end = Some(Ok(())),
                Poll::Ready(Ok(())) => self.read_seen = true,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => ahead.end = Some(Err(e)),
            }
        }
        if ahead.unread() == 0 && ahead.end.is_none() {
            self.ahead = None;
        }
    }

    /// Give the engine bytes read ahead, if there are any (`None`: read the stream): the number
    /// of bytes, 0 at the end of the stream, or the error that ended reading ahead.
    fn take_ahead(&mut self) -> Option<io::Result<usize>> {
        let ahead = self.ahead.as_mut()?;
        let unread = &ahead.bytes[ahead.used..ahead.filled];
        let taken = if unread.is_empty() {
            ahead.end.take().map(|end| end.map(|()| 0))
        } else {
            let buf = self.conn.read_buf();
            let n = unread.len().min(buf.len());
            buf[..n].copy_from_slice(&unread[..n]);
            ahead.used += n;
            Some(Ok(n))
        };
        if ahead.unread() == 0 && ahead.end.is_none() {
            // All used: the memory goes (up to the limit, it may be large).
            self.ahead = None;
        }
        taken
    }

    /// The connection is over: nothing more is read, and input read ahead is dropped.
    fn end(&mut self) {
        self.ending = Ending::Done;
        self.ahead = None;
    }

    /// The write failed: the frame on the wire is cut, so the connection is over.
    fn broken(&mut self, e: io::Error) -> DriverError {
        self.conn.abort();
        self.end();
        DriverError::Io(e)
    }

    fn poll_shutdown(&mut self, proxy: &Waker) -> Poll<()> {
        if self.shut {
            return Poll::Ready(());
        }
        let mut cx = Context::from_waker(proxy);
        match Pin::new(&mut self.stream).poll_shutdown(&mut cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => {
                self.shut = true;
                Poll::Ready(())
            }
        }
    }

    /// Start failing the connection after `error` (RFC 6455 §7.1.7).
    fn fail(&mut self, error: DriverError) {
        match &error {
            DriverError::Ws(e) => self.conn.fail(e),
            DriverError::Timeout(Timeout::Pong) => {
                self.conn.fail_with(crate::CloseStatus::SERVER_ERROR);
            }
            _ => self.conn.abort(),
        }
        // No message is delivered any more: what was read ahead goes, like the rest of the
        // input, which is drained.
        self.ahead = None;
        let time = DRAIN_TIME.min(self.config.close_timeout.unwrap_or(DRAIN_TIME));
        self.ending = Ending::Failing {
            error: Some(error),
            until: Instant::now() + time,
            drained: 0,
            shut: false,
        };
    }

    /// Drive a failing connection: the close out, the write side shut, input drained.
    fn poll_failing(&mut self, proxy: &Waker) -> Poll<Option<DriverError>> {
        let mut cx = Context::from_waker(proxy);
        let Ending::Failing { until, .. } = self.ending else {
            return Poll::Ready(None);
        };
        timer_at(&mut self.close_timer, until);
        let expired = poll_sleep(&mut self.close_timer, &mut cx);
        while let Ending::Failing { shut, drained, .. } = &mut self.ending {
            if expired || *drained >= DRAIN_BYTES {
                break;
            }
            if !*shut {
                let written = match self.conn.write_buf() {
                    Ok(None) | Err(_) => None,
                    Ok(Some(bufs)) => {
                        let slices = [IoSlice::new(bufs[0]), IoSlice::new(bufs[1])];
                        Some(Pin::new(&mut self.stream).poll_write_vectored(&mut cx, &slices))
                    }
                };
                match written {
                    Some(Poll::Pending) => return Poll::Pending,
                    Some(Poll::Ready(Ok(n))) if n > 0 => {
                        let _ = self.conn.wrote(n);
                        continue;
                    }
                    Some(Poll::Ready(_)) => break,
                    None => {}
                }
                match Pin::new(&mut self.stream).poll_shutdown(&mut cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(_) => {
                        *shut = true;
                        self.shut = true;
                    }
                }
            }
            let mut sink = [0u8; 4096];
            let mut buf = ReadBuf::new(&mut sink);
            match Pin::new(&mut self.stream).poll_read(&mut cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    if let Ending::Failing { drained, .. } = &mut self.ending {
                        *drained += buf.filled().len();
                    }
                }
                Poll::Ready(_) => break,
            }
        }
        self.conn.abort();
        let error = match &mut self.ending {
            Ending::Failing { error, .. } => error.take(),
            _ => None,
        };
        self.end();
        self.close_timer = None;
        Poll::Ready(error)
    }

    /// The keep-alive clock: a ping once a whole interval passes without a byte read, a failure
    /// when its pong is late. The clock is read only when it fires or a pong comes, never per
    /// message, so a ping goes out between one and two intervals after the last byte read.
    fn poll_keepalive(&mut self, cx: &mut Context<'_>) -> Result<(), DriverError> {
        let Some(interval) = self.config.ping_interval else {
            return Ok(());
        };
        if self.conn.close_sent() || self.conn.ended() {
            self.keepalive = None;
            return Ok(());
        }
        // Watching for silence starts with the connection, and again when the pong comes.
        let pong_came = self.ping_out && !self.conn.awaiting_pong();
        if pong_came || self.keepalive.is_none() {
            self.ping_out = false;
            self.read_seen = false;
            timer_at(&mut self.keepalive, Instant::now() + interval);
        }
        if !poll_sleep(&mut self.keepalive, cx) {
            return Ok(());
        }
        let now = Instant::now();
        let next = if self.ping_out {
            let ahead = self.ahead.as_ref().is_some_and(|a| a.unread() > 0);
            // Input read ahead may hold the pong: the engine sees it first.
            if self.config.ping_timeout.is_some() && !ahead {
                return Err(DriverError::Timeout(Timeout::Pong));
            }
            // No pong deadline: wait for it as long as it takes.
            now + interval
        } else if core::mem::take(&mut self.read_seen) {
            // Not silent: watch the next interval.
            now + interval
        } else {
            self.conn.queue_keepalive()?;
            self.ping_out = true;
            now + self.config.ping_timeout.unwrap_or(interval)
        };
        timer_at(&mut self.keepalive, next);
        if poll_sleep(&mut self.keepalive, cx) {
            // Already due (a zero duration): the next turn acts on it.
            cx.waker().wake_by_ref();
        }
        Ok(())
    }

    /// The close clock: once our close frame is written, the peer has `close_timeout` to answer.
    fn close_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(limit) = self.config.close_timeout else {
            return false;
        };
        if !self.conn.close_written() {
            return false;
        }
        if self.close_timer.is_none() {
            timer_at(&mut self.close_timer, Instant::now() + limit);
        }
        poll_sleep(&mut self.close_timer, cx)
    }

    /// The receive loop behind both the message stream and the piece reads. `Ready(None)` once
    /// the connection is over. `cx` is the polling task's, `proxy` the stream's proxy waker (see
    /// [`Wakers`]).
    fn poll_receive(
        &mut self,
        cx: &Context<'_>,
        proxy: &Waker,
        whole: bool,
    ) -> Poll<Option<Result<Option<Message>, DriverError>>> {
        self.register(Side::Reader, cx);
        let proxy = self.waker(cx, proxy);
        let mut pcx = Context::from_waker(proxy);
        loop {
            match self.ending {
                Ending::No => {}
                Ending::Failing { .. } => {
                    return self.poll_failing(proxy).map(|e| e.map(Err));
                }
                Ending::Done => return Poll::Ready(None),
            }
            // The keep-alive clock first, so that a ping it queues goes out in this turn.
            if let Err(e) = self.poll_keepalive(&mut pcx) {
                self.fail(e);
                continue;
            }
            // Writes in progress (pongs, a close answering the peer's, keep-alive pings, queued
            // messages) go out as the stream allows; reading goes on while they wait.
            if self.conn.wants_write() {
                if let Poll::Ready(Err(e)) = self.poll_write_out(proxy) {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            if self.close_expired(&mut pcx) {
                self.conn.abort();
                self.end();
                return Poll::Ready(None);
            }
            let step = self.conn.next(whole);
            let step = match step {
                Ok(step) => step,
                Err(e) => {
                    self.fail(DriverError::Ws(e));
                    continue;
                }
            };
            match step {
                Next::Write => {}
                // The pong waits for the peer to read: read ahead meanwhile, as a send does.
                Next::Blocked => match self.poll_send_out(proxy) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                    Poll::Pending => return Poll::Pending,
                },
                Next::Read => {
                    let polled = match self.take_ahead() {
                        Some(taken) => Poll::Ready(taken),
                        None => {
                            let mut buf = ReadBuf::new(self.conn.read_buf());
                            Pin::new(&mut self.stream)
                                .poll_read(&mut pcx, &mut buf)
                                .map_ok(|()| buf.filled().len())
                        }
                    };
                    match polled {
                        Poll::Pending => {
                            self.conn.no_read();
                            return Poll::Pending;
                        }
                        Poll::Ready(Ok(n)) => {
                            self.read_seen = true;
                            if let Err(e) = self.conn.did_read(n) {
                                return Poll::Ready(Some(Err(e.into())));
                            }
                        }
                        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                        Poll::Ready(Err(e)) => {
                            self.conn.abort();
                            self.end();
                            return Poll::Ready(Some(Err(e.into())));
                        }
                    }
                }
                Next::Ended => {
                    let session = self.conn.session();
                    if session.role() == crate::Role::Client && !session.is_aborted() {
                        // A client lets the server close first (RFC 6455 §7.1.1): our answer
                        // goes out, our write side is shut, and the server's end of stream is
                        // awaited for at most the close timeout.
                        let wait = self.config.close_timeout.unwrap_or(DRAIN_TIME);
                        self.ending = Ending::Failing {
                            error: None,
                            until: Instant::now() + wait,
                            drained: 0,
                            shut: false,
                        };
                        continue;
                    }
                    // The closing handshake is over or the stream ended: our answer goes out,
                    // then the write side is shut (a server closes first, RFC 6455 §7.1.1).
                    if self.conn.wants_write() && self.poll_write_out(proxy).is_pending() {
                        return Poll::Pending;
                    }
                    if self.poll_shutdown(proxy).is_pending() {
                        return Poll::Pending;
                    }
                    self.conn.abort();
                    self.end();
                    return Poll::Ready(None);
                }
                got @ (Next::Piece | Next::Message) => {
                    let message = match got {
                        Next::Message => self.conn.take_message(),
                        _ => None,
                    };
                    if self.conn.close_received() {
                        // Try to get the answering close out now; the next poll finishes it.
                        let _ = self.poll_write_out(proxy);
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
            }
        }
    }

    fn poll_ready(&mut self, cx: &Context<'_>, proxy: &Waker) -> Poll<Result<(), DriverError>> {
        self.register(Side::Writer, cx);
        let proxy = self.waker(cx, proxy);
        if !matches!(self.ending, Ending::No) {
            return Poll::Ready(Err(DriverError::Closed));
        }
        while self.conn.queued_bytes() >= self.config.max_write_buffer.max(1) {
            match self.poll_send_out(proxy) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_flush(&mut self, cx: &Context<'_>, proxy: &Waker) -> Poll<Result<(), DriverError>> {
        self.register(Side::Writer, cx);
        let proxy = self.waker(cx, proxy);
        match self.ending {
            Ending::No => self.poll_send_out(proxy),
            // The connection ended: what was queued and not written is lost, and says so.
            _ if self.conn.lost_sends() => Poll::Ready(Err(DriverError::Closed)),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Queue a close (unless one is out), write everything, and shut the write side once the
    /// closing handshake is complete; the reading side sees the peer's close and the end.
    fn poll_close(&mut self, cx: &Context<'_>, proxy: &Waker) -> Poll<Result<(), DriverError>> {
        self.register(Side::Writer, cx);
        let proxy = self.waker(cx, proxy);
        match self.ending {
            Ending::No => {}
            // The reading side is failing the connection: it writes the close and shuts down.
            Ending::Failing { .. } => return Poll::Ready(Ok(())),
            Ending::Done => return self.poll_shutdown(proxy).map(Ok),
        }
        if !self.conn.close_sent() && !self.conn.ended() {
            self.conn.queue(Message::Close(None))?;
        }
        match self.poll_send_out(proxy) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        if self.conn.close_received() {
            return self.poll_shutdown(proxy).map(Ok);
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(&mut self, message: Message) -> Result<(), DriverError> {
        if !matches!(self.ending, Ending::No) {
            return Err(DriverError::Closed);
        }
        self.conn.queue(message).map_err(Into::into)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Drive an open `session` over `stream` (after a handshake of your own); `leftover` are
    /// bytes already read from the stream that belong to the WebSocket connection.
    pub fn from_session(stream: S, session: Session, leftover: Vec<u8>, config: Config) -> Self {
        let mut inner = Inner::new(stream, session, leftover, config);
        inner.direct = true;
        Self {
            proxy: Waker::from(Arc::clone(&inner.wakers)),
            inner,
        }
    }

    /// The engine.
    pub fn session(&self) -> &Session {
        self.inner.conn.session()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.inner.stream
    }

    /// Payload bytes of messages queued and not yet written: at most
    /// [`Config::max_write_buffer`] plus one message, as `poll_ready` waits beyond it.
    pub fn queued_bytes(&self) -> usize {
        self.inner.conn.queued_bytes()
    }

    /// Read the next piece: a part of a message as it arrived (`*_FRAGMENT`, or the final
    /// `*_MESSAGE`), a pong (`PingPong`) or the peer's close (`Close`, already answered);
    /// `Ok(None)` once the connection is over. Pieces are at most the receive buffer and not
    /// capped in total: for streaming messages without assembling them.
    pub async fn read_piece(&mut self) -> Result<Option<Piece<'_>>, DriverError> {
        match poll_fn(|cx| self.inner.poll_receive(cx, &self.proxy, false)).await {
            None => Ok(None),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => Ok(Some(self.inner.conn.piece())),
        }
    }

    /// Send one piece of a message being streamed (`*_FRAGMENT` pieces, then `*_MESSAGE`), and
    /// wait until it is written.
    pub async fn send_piece(
        &mut self,
        buffer_type: BufferType,
        data: Vec<u8>,
    ) -> Result<(), DriverError> {
        poll_fn(|cx| self.inner.poll_ready(cx, &self.proxy)).await?;
        self.inner.conn.queue_piece(buffer_type, data)?;
        poll_fn(|cx| self.inner.poll_flush(cx, &self.proxy)).await
    }

    /// Close the connection: send a close (`None`: without a status), then read until the
    /// peer's close arrives (messages meanwhile are discarded) or [`Config::close_timeout`]
    /// runs out, and shut down.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), DriverError> {
        if matches!(self.inner.ending, Ending::No)
            && !self.inner.conn.close_sent()
            && !self.inner.conn.ended()
        {
            self.inner.conn.queue(Message::Close(frame))?;
        }
        poll_fn(|cx| self.inner.poll_flush(cx, &self.proxy)).await?;
        loop {
            match poll_fn(|cx| self.inner.poll_receive(cx, &self.proxy, true)).await {
                None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(DriverError::Closed)) => return Ok(()),
                Some(Err(e)) => return Err(e),
            }
        }
    }

    /// Split into a reading and a writing half, for one task to read while another writes.
    pub fn split(mut self) -> (WriteHalf<S>, ReadHalf<S>) {
        self.inner.use_proxy();
        let inner = Arc::new(Mutex::new(self.inner));
        (
            WriteHalf {
                inner: Arc::clone(&inner),
                proxy: self.proxy.clone(),
            },
            ReadHalf {
                inner,
                proxy: self.proxy,
            },
        )
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, DriverError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.inner
            .poll_receive(cx, &this.proxy, true)
            .map(|o| o.map(|r| r.map(|m| m.unwrap_or(Message::Close(None)))))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = DriverError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), DriverError>> {
        let this = self.get_mut();
        this.inner.poll_ready(cx, &this.proxy)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), DriverError> {
        self.get_mut().inner.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), DriverError>> {
        let this = self.get_mut();
        this.inner.poll_flush(cx, &this.proxy)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), DriverError>> {
        let this = self.get_mut();
        this.inner.poll_close(cx, &this.proxy)
    }
}

fn lock<S>(inner: &Mutex<Inner<S>>) -> std::sync::MutexGuard<'_, Inner<S>> {
    // A panic while holding the lock leaves the pump consistent (every step is one engine call),
    // so a poisoned lock is used as it is.
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = Result<Message, DriverError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.inner)
            .poll_receive(cx, &self.proxy, true)
            .map(|o| o.map(|r| r.map(|m| m.unwrap_or(Message::Close(None)))))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WriteHalf<S> {
    type Error = DriverError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), DriverError>> {
        lock(&self.inner).poll_ready(cx, &self.proxy)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), DriverError> {
        lock(&self.inner).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), DriverError>> {
        lock(&self.inner).poll_flush(cx, &self.proxy)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), DriverError>> {
        lock(&self.inner).poll_close(cx, &self.proxy)
    }
}

impl<S> ReadHalf<S> {
    /// True if `other` is the other half of the same stream.
    pub fn is_pair_of(&self, other: &WriteHalf<S>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

// ----- the upgrade ----------------------------------------------------------------------------

async fn with_deadline<T>(
    deadline: Option<Instant>,
    work: impl Future<Output = Result<T, DriverError>>,
) -> Result<T, DriverError> {
    match deadline {
        Some(deadline) => ::tokio::time::timeout_at(deadline, work)
            .await
            .unwrap_or(Err(DriverError::Timeout(Timeout::Handshake))),
        None => work.await,
    }
}

enum HeadRead {
    Head(Vec<u8>, usize),
    TooLarge,
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Result<HeadRead, DriverError> {
    let mut reader = HeadReader::new();
    loop {
        let Ok(space) = reader.space() else {
            return Ok(HeadRead::TooLarge);
        };
        let n = stream.read(space).await?;
        if n == 0 {
            return Err(DriverError::Closed);
        }
        if let Some(len) = reader.filled(n) {
            return Ok(HeadRead::Head(reader.into_bytes(), len));
        }
    }
}

async fn write_head<S: AsyncWrite + Unpin>(stream: &mut S, head: &[u8]) -> Result<(), DriverError> {
    stream.write_all(head).await?;
    stream.flush().await?;
    Ok(())
}

/// Client side of the upgrade over `stream`: send `GET path` with `Host: host` (or the `Host`
/// of `options.headers`) and the engine's headers, check the `101` response and open a client
/// session, all within [`Config::handshake_timeout`]. A status other than 101 is
/// [`DriverError::Refused`] with the response; `path` must start with `/` and be visible ASCII.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    path: &str,
    options: &ClientOptions,
) -> Result<(WebSocketStream<S>, Response), DriverError> {
    let (mut session, request) = upgrade::client_request(host, path, options)?;
    let deadline = options.config.handshake_timeout.map(|t| Instant::now() + t);
    let (bytes, len) = with_deadline(deadline, async {
        write_head(&mut stream, &request).await?;
        match read_head(&mut stream).await? {
            HeadRead::Head(bytes, len) => Ok((bytes, len)),
            HeadRead::TooLarge => Err(DriverError::Http(format!(
                "response head over {MAX_HEAD_BYTES} bytes"
            ))),
        }
    })
    .await?;
    let (response, start) = upgrade::client_response(&mut session, &bytes, len, options)?;
    let ws = WebSocketStream::from_session(
        stream,
        session,
        bytes[start..].to_vec(),
        options.config.clone(),
    );
    Ok((ws, response))
}

/// Server side of the upgrade with the defaults: [`accept_with`] accepting every valid request.
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    options: &ServerOptions,
) -> Result<WebSocketStream<S>, DriverError> {
    // No callback: no owned copy of the request is made for one.
    upgrade_server(stream, options, None::<upgrade::AcceptAll>).await
}

/// Server side of the upgrade: read the request (within [`Config::handshake_timeout`]), show it
/// to `decide`, validate it with the engine, answer `101` and open a server session. Refusals as
/// in [`crate::io::accept_with`]: the callback's status, or 400, 426 or 431, then the stream is
/// shut down.
pub async fn accept_with<S, F>(
    stream: S,
    options: &ServerOptions,
    decide: F,
) -> Result<WebSocketStream<S>, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, Refusal>,
{
    upgrade_server(stream, options, Some(decide)).await
}

/// [`accept_with`], or [`accept`] without a callback.
async fn upgrade_server<S, F>(
    mut stream: S,
    options: &ServerOptions,
    decide: Option<F>,
) -> Result<WebSocketStream<S>, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, Refusal>,
{
    // One clock for the whole upgrade: reading the request and writing the answer.
    let deadline = options.config.handshake_timeout.map(|t| Instant::now() + t);
    let head = with_deadline(deadline, read_head(&mut stream)).await?;
    let outcome = match head {
        HeadRead::Head(bytes, len) => match upgrade::server_upgrade(&bytes, len, options, decide) {
            ServerUpgrade::Accepted {
                session,
                response,
                start,
            } => {
                with_deadline(deadline, write_head(&mut stream, &response)).await?;
                let leftover = bytes[start..].to_vec();
                return Ok(WebSocketStream::from_session(
                    stream,
                    *session,
                    leftover,
                    options.config.clone(),
                ));
            }
            refused => refused,
        },
        HeadRead::TooLarge => upgrade::head_too_large(),
    };
    let ServerUpgrade::Refused { response, error } = outcome else {
        unreachable!("accepted upgrades returned above")
    };
    let _ = with_deadline(Some(Instant::now() + DRAIN_TIME), async {
        write_head(&mut stream, &response).await?;
        stream.shutdown().await?;
        // On the heap: an array here would be part of every connection's task, refused or not.
        let mut sink = vec![0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN_BYTES {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok(())
    })
    .await;
    Err(error)
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// The session's protocol error, if the peer broke RFC 6455.
    pub fn fault(&self) -> Option<Error> {
        self.inner.conn.session().fault().map(Error::Protocol)
    }
}
