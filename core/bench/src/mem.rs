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

impl Read for Mem<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Mem<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Mem<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = buf.remaining().min(this.input.len());
        buf.put_slice(&this.input[..n]);
        this.input = &this.input[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Mem<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
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

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.input.len() - self.at);
        let s = &self.input[self.at..self.at + n];
        self.at += n;
        s
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let s = self.take(buf.len());
        let n = s.len();
        buf[..n].copy_from_slice(s);
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let s = this.take(buf.remaining());
        buf.put_slice(s);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
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

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut wire = self.read.borrow_mut();
        let n = buf.remaining().min(wire.bytes.len() - wire.at);
        let at = wire.at;
        buf.put_slice(&wire.bytes[at..at + n]);
        wire.at += n;
        if wire.at == wire.bytes.len() {
            wire.bytes.clear();
            wire.at = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write.borrow_mut().bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
