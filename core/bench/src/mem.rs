//! In-memory streams: reads serve a byte slice, writes go to a vector.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Reads from `input`, writes into `output`.
#[derive(Debug, Default)]
pub struct Mem<'a> {
    pub input: &'a [u8],
    pub output: Vec<u8>,
}

impl<'a> Mem<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            output: Vec::new(),
        }
    }
}

impl Ends for Mem<'_> {
    fn read_with(&mut self, max: usize, f: impl FnOnce(&[u8])) -> usize {
        let n = max.min(self.input.len());
        f(&self.input[..n]);
        self.input = &self.input[n..];
        n
    }

    fn write_out(&mut self, buf: &[u8]) {
        self.output.extend_from_slice(buf);
    }
}

/// A stream that owns its input: what is fed is read back in order; writes go to `output`
/// (for the round trips, where each side's input is the other side's output).
#[derive(Debug, Default)]
pub struct Pipe {
    pub input: Vec<u8>,
    pub at: usize,
    pub output: Vec<u8>,
}

impl Pipe {
    /// Append `bytes` to what will be read.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.at == self.input.len() {
            self.input.clear();
            self.at = 0;
        }
        self.input.extend_from_slice(bytes);
    }
}

impl Ends for Pipe {
    fn read_with(&mut self, max: usize, f: impl FnOnce(&[u8])) -> usize {
        let n = max.min(self.input.len() - self.at);
        f(&self.input[self.at..self.at + n]);
        self.at += n;
        n
    }

    fn write_out(&mut self, buf: &[u8]) {
        self.output.extend_from_slice(buf);
    }
}

/// Runs a future that never waits (everything here is in memory) to completion.
pub fn run<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// One direction of an in-memory connection: bytes written and not yet read.
#[derive(Debug, Default)]
pub struct Wire {
    bytes: Vec<u8>,
    at: usize,
}

impl Wire {
    /// The bytes written and not read, taken out.
    pub fn take(&mut self) -> Vec<u8> {
        let out = self.bytes[self.at..].to_vec();
        self.bytes.clear();
        self.at = 0;
        out
    }
}

/// An end of an in-memory connection: reads from one [`Wire`], writes into another (shared with
/// the other end, or with the benchmark that inspects what was written).
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub read: std::rc::Rc<std::cell::RefCell<Wire>>,
    pub write: std::rc::Rc<std::cell::RefCell<Wire>>,
}

impl Link {
    /// Two ends joined: what one writes, the other reads.
    pub fn pair() -> (Self, Self) {
        let (a, b) = (Default::default(), std::rc::Rc::default());
        let one = Self {
            read: std::rc::Rc::clone(&a),
            write: std::rc::Rc::clone(&b),
        };
        (one, Self { read: b, write: a })
    }
}

impl Ends for Link {
    fn read_with(&mut self, max: usize, f: impl FnOnce(&[u8])) -> usize {
        let mut wire = self.read.borrow_mut();
        let (at, n) = (wire.at, max.min(wire.bytes.len() - wire.at));
        f(&wire.bytes[at..at + n]);
        wire.at += n;
        if wire.at == wire.bytes.len() {
            wire.bytes.clear();
            wire.at = 0;
        }
        n
    }

    fn write_out(&mut self, buf: &[u8]) {
        self.write.borrow_mut().bytes.extend_from_slice(buf);
    }
}

/// The two ends of an in-memory stream, from which the sync and async I/O traits are made once
/// for every stream type here.
trait Ends {
    /// Hands at most `max` readable bytes to `f` and consumes them; their count.
    fn read_with(&mut self, max: usize, f: impl FnOnce(&[u8])) -> usize;
    /// Keeps `buf` as written.
    fn write_out(&mut self, buf: &[u8]);
}

macro_rules! streams {
    ($($t:ty),*) => {$(
        impl Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                Ok(self.read_with(buf.len(), |s| buf[..s.len()].copy_from_slice(s)))
            }
        }

        impl Write for $t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.write_out(buf);
                Ok(buf.len())
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let max = buf.remaining();
                self.get_mut().read_with(max, |s| buf.put_slice(s));
                Poll::Ready(Ok(()))
            }
        }

        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().write_out(buf);
                Poll::Ready(Ok(buf.len()))
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

streams!(Mem<'_>, Pipe, Link);
