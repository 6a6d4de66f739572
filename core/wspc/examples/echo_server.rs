//! An echo server on the blocking driver (`wspc::io`), one thread per connection: every text and
//! binary message comes back whole, with its type. The driver answers pings and closes, sends
//! keep-alive pings, and enforces its timeouts and message cap (see `wspc::driver::Config`).
//!
//! It is built to survive a bad day: at most `MAX_CONNECTIONS` connections at once (more are
//! answered `503` and closed), and a failed `accept` (EMFILE: out of file descriptors) or a
//! thread that cannot be started is logged and costs only that connection, never the server.
//!
//! Run with `cargo run --example echo_server -- 127.0.0.1:9002 [MAX_CONNECTIONS]`, then talk to
//! it with `cargo run --example client -- 127.0.0.1:9002`.

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

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9002".into());
    let cap = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MAX_CONNECTIONS);
    run(&addr, cap)
}

/// Serve on `addr`, at most `cap` connections at once, until the process ends.
pub(crate) fn run(addr: &str, cap: usize) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    let options = ServerOptions::default();
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
