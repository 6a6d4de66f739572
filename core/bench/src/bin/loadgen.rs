//! The echo benchmark's load generator, after uWebSockets' `load_test`: `loadgen ADDR
//! CONNECTIONS PAYLOAD SECONDS`. Each connection upgrades, then keeps exactly one masked binary
//! message of PAYLOAD bytes in flight: it sends, reads the whole echo, sends again. Messages
//! echoed are counted per second; the result is one JSON line on stdout (`msg_per_s` is the
//! median of the per-second samples after the first). A single-threaded runtime: the benchmark
//! pins it to one core and the server to the other.
//!
//! It speaks WebSocket by hand (a fixed key, pre-built frames, a minimal header parser), so that
//! the load costs the same whatever the server.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

fn frame(payload: usize) -> Vec<u8> {
    let mut out = vec![0x82];
    match payload {
        0..=125 => out.push(0x80 | payload as u8),
        126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(payload as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(payload as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&KEY);
    out.extend((0..payload).map(|i| i as u8 ^ KEY[i % 4]));
    out
}

async fn connection(addr: String, payload: usize, count: Rc<Cell<u64>>, stop: Rc<Cell<bool>>) {
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        eprintln!("loadgen: cannot connect to {addr}");
        return;
    };
    let _ = s.set_nodelay(true);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    if s.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    // The response head, byte by byte (nothing follows it before our first message).
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read_exact(&mut b).await.is_err() {
            return;
        }
        head.push(b[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        eprintln!("loadgen: refused: {}", String::from_utf8_lossy(&head));
        return;
    }
    let out = frame(payload);
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.get() {
        if s.write_all(&out).await.is_err() {
            return;
        }
        // One server frame: 2 header bytes, the extended length, the payload.
        let mut h = [0u8; 2];
        if s.read_exact(&mut h).await.is_err() {
            return;
        }
        let mut len = u64::from(h[1] & 0x7F);
        if len == 126 {
            let mut e = [0u8; 2];
            if s.read_exact(&mut e).await.is_err() {
                return;
            }
            len = u64::from(u16::from_be_bytes(e));
        } else if len == 127 {
            let mut e = [0u8; 8];
            if s.read_exact(&mut e).await.is_err() {
                return;
            }
            len = u64::from_be_bytes(e);
        }
        let mut left = len as usize;
        while left > 0 {
            let n = left.min(buf.len());
            if s.read_exact(&mut buf[..n]).await.is_err() {
                return;
            }
            left -= n;
        }
        if h[0] & 0x0F == 0x2 {
            count.set(count.get() + 1);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9100".into());
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let payload: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let (samples, total) = local.block_on(&rt, async move {
        let count = Rc::new(Cell::new(0u64));
        let stop = Rc::new(Cell::new(false));
        for _ in 0..connections {
            tokio::task::spawn_local(connection(
                addr.clone(),
                payload,
                Rc::clone(&count),
                Rc::clone(&stop),
            ));
        }
        let mut samples = Vec::new();
        let mut last = (Instant::now(), 0u64);
        for _ in 0..seconds {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = (Instant::now(), count.get());
            samples.push((now.1 - last.1) as f64 / (now.0 - last.0).as_secs_f64());
            last = now;
        }
        stop.set(true);
        (samples, count.get())
    });
    let mut steady: Vec<f64> = samples.iter().skip(1).copied().collect();
    if steady.is_empty() {
        steady.clone_from(&samples);
    }
    steady.sort_by(f64::total_cmp);
    let median = steady.get(steady.len() / 2).copied().unwrap_or(0.0);
    let list: Vec<String> = samples.iter().map(|s| format!("{s:.0}")).collect();
    println!(
        "{{\"connections\": {connections}, \"payload\": {payload}, \"seconds\": {seconds}, \"messages\": {total}, \"msg_per_s\": {median:.0}, \"samples\": [{}]}}",
        list.join(", ")
    );
}
