//! An echo server on the tokio driver (`wspc::tokio`), one task per connection: every text and
//! binary message comes back whole, with its type. The driver answers pings and closes, sends
//! keep-alive pings, and enforces its timeouts and message cap (see `wspc::driver::Config`).
//!
//! It is built to survive a bad day: at most `MAX_CONNECTIONS` connections at once (more are
//! answered `503` and closed), and a failed `accept` (EMFILE: out of file descriptors) is
//! logged and retried after a pause that doubles while failures go on.
//!
//! Run with `cargo run --features tokio --example tokio_echo_server -- 127.0.0.1:9003`, then
//! talk to it with `cargo run --features tokio --example tokio_client -- 127.0.0.1:9003`.

use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use wspc::tokio::{accept, DriverError, Message, ServerOptions};

/// The default cap on connections served at once.
const MAX_CONNECTIONS: usize = 10_000;
/// The pause after a failed accept, doubling up to the second one while failures go on.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

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

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9003".into());
    let cap = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MAX_CONNECTIONS);
    run(&addr, cap).await
}

/// Serve on `addr`, at most `cap` connections at once, until the process ends.
pub(crate) async fn run(addr: &str, cap: usize) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    let options = Arc::new(ServerOptions::default());
    let slots = Arc::new(Semaphore::new(cap));
    let mut backoff = BACKOFF.0;
    loop {
        let (mut stream, peer) = match listener.accept().await {
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
            tokio::spawn(async move {
                let busy = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(busy)).await;
            });
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
