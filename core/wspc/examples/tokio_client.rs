//! A client on the tokio driver (`wspc::tokio`): connects to an echo server, sends a text
//! message, a binary message and a ping, prints what comes back, and closes. Reading and writing
//! run in two tasks over the halves of `split()`.
//!
//! Run `cargo run --features tokio --example tokio_echo_server` first, then
//! `cargo run --features tokio --example tokio_client -- 127.0.0.1:9003 [PATH]`.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpStream;
use wspc::tokio::{connect, ClientOptions, CloseFrame, DriverError, Message};
use wspc::CloseStatus;

#[tokio::main]
async fn main() -> Result<(), DriverError> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9003".into());
    let path = args.next().unwrap_or_else(|| "/".into());
    // A server that does not answer costs at most this, then the driver's handshake timeout.
    let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&addr))
        .await
        .map_err(|_| DriverError::Io(std::io::ErrorKind::TimedOut.into()))??;
    stream.set_nodelay(true)?;
    let (ws, response) = connect(stream, &addr, &path, &ClientOptions::default()).await?;
    println!(
        "connected to ws://{addr}{path} (status {})",
        response.status
    );

    let (mut tx, mut rx) = ws.split();
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while let Some(message) = rx.next().await {
            match message? {
                Message::Text(text) => println!("text: {text}"),
                Message::Binary(bytes) => println!("binary: {bytes:?}"),
                Message::Pong(payload) => println!("pong: {:?}", String::from_utf8_lossy(&payload)),
                Message::Close(frame) => println!("closed: {frame:?}"),
                Message::Ping(_) => {}
            }
            seen += 1;
        }
        Ok::<usize, DriverError>(seen)
    });
    tx.send(Message::text("hello from wspc")).await?;
    tx.send(Message::binary([1, 2, 3, 4, 5])).await?;
    tx.send(Message::Ping(b"are you there?".to_vec())).await?;
    // Give the echoes a moment, then close; the reader sees the server's answering close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(Message::Close(Some(CloseFrame {
        code: CloseStatus::SUCCESS,
        reason: "bye".into(),
    })))
    .await?;
    let seen = reader
        .await
        .map_err(|e| DriverError::Io(std::io::Error::other(e)))??;
    println!("{seen} messages received");
    Ok(())
}
