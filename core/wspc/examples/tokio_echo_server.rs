//! An echo server on the tokio driver (`wspc::tokio`), one task per connection: every text and
//! binary message comes back whole, with its type. The driver answers pings and closes, sends
//! keep-alive pings, and enforces its timeouts and message cap (see `wspc::driver::Config`).
//!
//! It is built to survive a bad day: at most `MAX_CONNECTIONS` connections at once (more are
//! answered `503` and closed, see `refuse`), and a failed `accept` (EMFILE: out of file
//! descriptors) is logged and retried after a pause that doubles while failures go on.
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
//! Run with `cargo run --features tokio --example tokio_echo_server -- [--subprotocol NAME]...
//! [--no-deflate] 127.0.0.1:9003 [MAX_CONNECTIONS]`, then talk to it with
//! `cargo run --features tokio --example tokio_client -- 127.0.0.1:9003`.

use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use wspc::tokio::{accept, DriverError, Message, ServerOptions};

/// The default cap on connections served at once.
const MAX_CONNECTIONS: usize = 10_000;
/// The pause after a failed accept, doubling up to the second one while failures go on.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));
/// The answer to a connection over the cap.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// How long, and how many bytes, a refused connection's input is drained (see `refuse`).
const DRAIN: (Duration, usize) = (Duration::from_secs(1), 64 << 10);

/// Serve one connection: the upgrade, then echo until the peer closes.
pub(crate) async fn serve(stream: TcpStream, options: &ServerOptions) -> Result<(), DriverError> {
    stream.set_nodelay(true)?;
    let mut ws = accept(stream, options).await?;
    while let Some(message) = ws.next().await {
        // Pongs need nothing; after the peer's close (answered by the driver) the stream ends.
        if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
            ws.send(m).await?;
        }
    }
    Ok(())
}

/// Refuse a connection: answer `503`, shut the write side, then read and discard the client's
/// input until it closes, up to `DRAIN.1` bytes. Closing a socket with unread input (the client's
/// upgrade request, most likely) makes Linux send a reset instead of an orderly close, and the
/// reset can destroy the `503` before the client reads it; the driver does the same after a
/// failed handshake. The caller bounds the time (`DRAIN.0`).
async fn refuse(mut stream: TcpStream) -> std::io::Result<()> {
    stream.write_all(BUSY).await?;
    stream.shutdown().await?;
    let (mut sink, mut drained) = ([0u8; 4096], 0);
    while drained < DRAIN.1 {
        match stream.read(&mut sink).await? {
            // The client has closed: nothing is left unread, the close will be orderly.
            0 => break,
            n => drained += n,
        }
    }
    Ok(())
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

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (options, positional) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("tokio_echo_server: {why}");
            eprintln!("usage: tokio_echo_server [--subprotocol NAME]... [--no-deflate] [ADDR [MAX_CONNECTIONS]]");
            std::process::exit(2);
        }
    };
    let mut positional = positional.into_iter();
    let addr = positional.next().unwrap_or_else(|| "127.0.0.1:9003".into());
    let cap = positional
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MAX_CONNECTIONS);
    run_with(&addr, cap, options).await
}

/// Serve on `addr`, at most `cap` connections at once, until the process ends, with the default
/// options (no subprotocol). The entry of the driver's tests, which include this file.
#[allow(dead_code)]
pub(crate) async fn run(addr: &str, cap: usize) -> std::io::Result<()> {
    run_with(addr, cap, ServerOptions::default()).await
}

/// Serve on `addr` with `options`, at most `cap` connections at once, until the process ends.
pub(crate) async fn run_with(
    addr: &str,
    cap: usize,
    options: ServerOptions,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    let options = Arc::new(options);
    let slots = Arc::new(Semaphore::new(cap));
    let mut backoff = BACKOFF.0;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff = BACKOFF.0;
                accepted
            }
            Err(e) => {
                // EMFILE, ENFILE, ENOMEM, ECONNABORTED…: none of them is a reason to stop
                // serving the connections we have. Wait for some to end, then try again.
                eprintln!("accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF.1);
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            eprintln!("{peer}: over {cap} connections, refused");
            // A task of its own, so that the accept loop goes on at once; the stream is dropped
            // (closed) when the refusal ends, or after a second at most.
            tokio::spawn(tokio::time::timeout(DRAIN.0, refuse(stream)));
            continue;
        };
        let options = Arc::clone(&options);
        tokio::spawn(async move {
            let _slot = slot;
            match serve(stream, &options).await {
                Ok(()) | Err(DriverError::Closed) => println!("{peer}: closed"),
                Err(e) => println!("{peer}: {e}"),
            }
        });
    }
}
