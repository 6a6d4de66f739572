//! An echo server on the blocking driver (`wspc::io`), one thread per connection: every text and
//! binary message comes back whole, with its type. The driver answers pings and closes, sends
//! keep-alive pings, and enforces its timeouts and message cap (see `wspc::driver::Config`).
//!
//! It is built to survive a bad day: at most `MAX_CONNECTIONS` connections at once (more are
//! answered `503` and closed), and a failed `accept` (EMFILE: out of file descriptors) or a
//! thread that cannot be started is logged and costs only that connection, never the server.
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

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use wspc::io::{accept, DriverError, Message, ServerOptions};

/// The default cap on connections served at once.
const MAX_CONNECTIONS: usize = 512;
/// The pause after a failed accept, doubling up to the second one while failures go on.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

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
    let mut backoff = BACKOFF.0;
    loop {
        let (mut stream, peer) = match listener.accept() {
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
            eprintln!("{peer}: over {cap} connections, refused");
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
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
            // The closure, with the stream and the guard, is dropped: only this connection is lost.
            eprintln!("{peer}: cannot start a thread: {e}; connection dropped");
        }
    }
}
