//! An echo server on the blocking driver (`wspc::io`), one thread per connection: every text and
//! binary message comes back whole, with its type. The driver answers pings and closes, sends
//! keep-alive pings, and enforces its timeouts and message cap (see `wspc::driver::Config`).
//!
//! It is built to survive a bad day: at most `MAX_CONNECTIONS` connections at once (more are
//! answered `503` and closed, see `refuse`), and a failed `accept` (EMFILE: out of file
//! descriptors) or a thread that cannot be started is logged and costs only that connection,
//! never the server.
//!
//! Subprotocols: by default it speaks none, and answers an offer without a
//! `Sec-WebSocket-Protocol` header (RFC 6455 allows it; browsers then fail the handshake). Each
//! `--subprotocol NAME` adds one to `ServerOptions::subprotocols`, in order of preference: the
//! server selects the first of its own list that the client offered, and none if the client
//! offered none of them (or nothing).
//!
//! Compression: permessage-deflate is accepted when a client offers it (the drivers' default;
//! browsers, Python `websockets` and Node `ws` clients offer it); `--no-deflate` declines every
//! offer.
//!
//! Run with `cargo run --example echo_server -- [--subprotocol NAME]... [--no-deflate]
//! 127.0.0.1:9002 [MAX_CONNECTIONS]`, then talk to it with `cargo run --example client -- 127.0.0.1:9002`.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use wspc::io::{accept, DriverError, Message, ServerOptions};

/// The default cap on connections served at once.
const MAX_CONNECTIONS: usize = 512;
/// The pause after a failed accept, doubling up to the second one while failures go on.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));
/// The answer to a connection over the cap.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// How long, and how many bytes, a refused connection's input is drained (see `refuse`).
const DRAIN: (Duration, usize) = (Duration::from_secs(1), 64 << 10);
/// The cap on refusals in progress (a thread each, for up to `DRAIN.0`): past it, connections
/// over the cap are dropped without an answer.
const MAX_REFUSING: usize = 64;

/// Serve one connection: the upgrade, then echo until the peer closes.
pub(crate) fn serve(stream: TcpStream, options: &ServerOptions) -> Result<(), DriverError> {
    stream.set_nodelay(true)?;
    let mut ws = accept(stream, options)?;
    loop {
        match ws.read_message()? {
            m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m)?,
            // The driver has answered the close; the connection is over.
            Message::Close(_) => return Ok(()),
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

/// Refuse a connection: answer `503`, shut the write side, then read and discard the client's
/// input until it closes, for at most `DRAIN`. Closing a socket with unread input (the client's
/// upgrade request, most likely) makes Linux send a reset instead of an orderly close, and the
/// reset can destroy the `503` before the client reads it; the drivers do the same after a
/// failed handshake. Blocks for up to a second: run it on a thread of its own.
fn refuse(mut stream: TcpStream) {
    let end = Instant::now() + DRAIN.0;
    let _ = stream.set_write_timeout(Some(DRAIN.0));
    if stream.write_all(BUSY).is_err() || stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let (mut sink, mut drained) = ([0u8; 4096], 0);
    while drained < DRAIN.1 {
        let left = end.saturating_duration_since(Instant::now());
        // A zero timeout is an error to `set_read_timeout`: time is up.
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            // The client has closed: nothing is left unread, the close will be orderly.
            Ok(0) => return,
            Ok(n) => drained += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // The timeout (WouldBlock or TimedOut) or a broken connection: give up.
            Err(_) => return,
        }
    }
}

/// Counts a connection as active until dropped.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The command line: `--subprotocol NAME` (repeatable, anywhere), `--no-deflate`, and up to two
/// positional arguments, the address and the connection cap.
fn parse_args(
    args: impl IntoIterator<Item = String>,
) -> Result<(ServerOptions, Vec<String>), String> {
    let (mut options, mut positional) = (ServerOptions::default(), Vec::new());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if let Some(name) = arg.strip_prefix("--subprotocol=") {
            options.subprotocols.push(name.to_owned());
        } else if arg == "--subprotocol" {
            let name = args.next().ok_or("--subprotocol needs a name")?;
            options.subprotocols.push(name);
        } else if arg == "--no-deflate" {
            #[cfg(feature = "deflate")]
            {
                options.config.deflate = None;
            }
        } else if arg.starts_with("--") {
            return Err(format!("unknown option {arg}"));
        } else {
            positional.push(arg);
        }
    }
    Ok((options, positional))
}

fn main() -> std::io::Result<()> {
    let (options, positional) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("echo_server: {why}");
            eprintln!("usage: echo_server [--subprotocol NAME]... [--no-deflate] [ADDR [MAX_CONNECTIONS]]");
            std::process::exit(2);
        }
    };
    let mut positional = positional.into_iter();
    let addr = positional.next().unwrap_or_else(|| "127.0.0.1:9002".into());
    let cap = positional
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MAX_CONNECTIONS);
    run_with(&addr, cap, options)
}

/// Serve on `addr`, at most `cap` connections at once, until the process ends, with the default
/// options (no subprotocol). The entry of the driver's tests, which include this file.
#[allow(dead_code)]
pub(crate) fn run(addr: &str, cap: usize) -> std::io::Result<()> {
    run_with(addr, cap, ServerOptions::default())
}

/// Serve on `addr` with `options`, at most `cap` connections at once, until the process ends.
pub(crate) fn run_with(addr: &str, cap: usize, options: ServerOptions) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    let active = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(AtomicUsize::new(0));
    let mut backoff = BACKOFF.0;
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => {
                backoff = BACKOFF.0;
                accepted
            }
            Err(e) => {
                // EMFILE, ENFILE, ENOMEM, ECONNABORTED…: none of them is a reason to stop
                // serving the connections we have. Wait for some to end, then try again.
                eprintln!("accept failed: {e}; retrying in {backoff:?}");
                thread::sleep(backoff);
                backoff = (backoff * 2).min(BACKOFF.1);
                continue;
            }
        };
        if active.fetch_add(1, Ordering::Relaxed) >= cap {
            active.fetch_sub(1, Ordering::Relaxed);
            // The refusal takes up to a second (see `refuse`): a short-lived thread of its own,
            // so that the accept loop goes on at once. Those threads are capped too, or a flood
            // of connections over the cap would cost a thread each.
            if refusing.fetch_add(1, Ordering::Relaxed) >= MAX_REFUSING {
                refusing.fetch_sub(1, Ordering::Relaxed);
                eprintln!("{peer}: over {cap} connections, dropped");
                continue;
            }
            eprintln!("{peer}: over {cap} connections, refused");
            let guard = Active(Arc::clone(&refusing));
            let spawned = thread::Builder::new()
                .name(format!("refuse {peer}"))
                .spawn(move || {
                    let _guard = guard;
                    refuse(stream);
                });
            if let Err(e) = spawned {
                // As below: the stream and the guard are dropped with the closure.
                eprintln!("{peer}: cannot start a thread: {e}; connection dropped");
            }
            continue;
        }
        let guard = Active(Arc::clone(&active));
        let options = options.clone();
        let spawned = thread::Builder::new()
            .name(format!("ws {peer}"))
            .spawn(move || {
                let _guard = guard;
                match serve(stream, &options) {
                    Ok(()) | Err(DriverError::Closed) => println!("{peer}: closed"),
                    Err(e) => println!("{peer}: {e}"),
                }
            });
        if let Err(e) = spawned {
            // `spawn` returns the error (only `thread::spawn` panics on it) and drops the
            // closure, with the stream and the guard: only this connection is lost, and its slot
            // is free again.
            eprintln!("{peer}: cannot start a thread: {e}; connection dropped");
        }
    }
}
