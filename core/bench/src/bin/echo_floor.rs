//! The echo benchmark's floor: `echo_floor ADDR`, the least a server on the same tokio skeleton
//! can do per message, with no WebSocket library. It answers the upgrade with 101, then reads
//! client frames into one buffer shared by all its connections (as uWebSockets does), unmasks
//! each payload in place and writes it back unmasked, checking nothing else (no close, no
//! control frames, no UTF-8, no fragments, no limits): for measuring only, never for serving.
//! What it costs per message is what the runtime and the kernel cost, which every server built
//! on them pays before its library does any work.

use std::cell::RefCell;
use std::io::{ErrorKind, IoSlice};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The largest frame (header and payload) the floor handles; the benchmark's is 16 KiB + 14.
const MAX_FRAME: usize = 64 * 1024;

thread_local! {
    /// The read buffer of every connection: used only between two awaits, so never by two
    /// connections at once (they run on one thread).
    static SHARED: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_FRAME]);
}

fn main() -> std::io::Result<()> {
    wspc_bench::serve::serve("echo_floor", "127.0.0.1:9104", echo)
}

async fn echo(mut s: TcpStream) {
    // The upgrade, done by hand as for fastwebsockets (which has no upgrade without hyper).
    if wspc_bench::echo::fastws_upgrade(&mut s).await.is_none() {
        return;
    }
    // Bytes of a frame that came in parts, and output the socket did not take: kept per
    // connection, and empty nearly always (one message in flight, written at once).
    let mut partial = Vec::new();
    let mut unsent = Vec::new();
    loop {
        if !unsent.is_empty() {
            if s.write_all(&unsent).await.is_err() {
                return;
            }
            unsent.clear();
        }
        if s.readable().await.is_err() {
            return;
        }
        let ok = SHARED.with(|shared| {
            let buf = &mut shared.borrow_mut()[..];
            let have = partial.len();
            buf[..have].copy_from_slice(&partial);
            partial.clear();
            let n = match s.try_read(&mut buf[have..]) {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                Err(_) => return false,
            };
            let mut at = 0;
            let end = have + n;
            while let Some((opcode, start, len, key)) = parse(&buf[at..end]) {
                let payload = &mut buf[at + start..at + start + len];
                unmask(payload, key);
                let mut header = [0x80 | opcode, 0, 0, 0];
                let h = if len <= 125 {
                    header[1] = len as u8;
                    2
                } else {
                    header[1] = 126;
                    header[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                    4
                };
                let wrote = if unsent.is_empty() {
                    let bufs = [IoSlice::new(&header[..h]), IoSlice::new(payload)];
                    match s.try_write_vectored(&bufs) {
                        Ok(w) => w,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                        Err(_) => return false,
                    }
                } else {
                    0
                };
                if wrote < h {
                    unsent.extend_from_slice(&header[wrote..h]);
                    unsent.extend_from_slice(payload);
                } else {
                    unsent.extend_from_slice(&payload[(wrote - h).min(len)..]);
                }
                at += start + len;
            }
            partial.extend_from_slice(&buf[at..end]);
            partial.len() < MAX_FRAME
        });
        if !ok {
            return;
        }
    }
}

/// A whole masked frame of at most 64 KiB at the front of `b`: its opcode, where its payload
/// starts, its length and its key.
fn parse(b: &[u8]) -> Option<(u8, usize, usize, [u8; 4])> {
    let (&b0, &b1) = (b.first()?, b.get(1)?);
    let (len, at) = match b1 & 0x7F {
        126 => (usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])), 4),
        127 => return None,
        n => (usize::from(n), 2),
    };
    let key: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    let start = at + 4;
    (b.len() >= start + len).then_some((b0 & 0x0F, start, len, key))
}

/// XOR `payload` with `key`, eight bytes at a time (which the compiler vectorises).
fn unmask(payload: &mut [u8], key: [u8; 4]) {
    let k = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut words = payload.chunks_exact_mut(8);
    for w in &mut words {
        let x = u64::from_ne_bytes(w.try_into().unwrap_or_default()) ^ k;
        w.copy_from_slice(&x.to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}
