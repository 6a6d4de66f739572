//! A client on the blocking driver (`wspc::io`): connects to an echo server, sends a text
//! message, a binary message and a ping, prints what comes back, and closes.
//!
//! Run `cargo run --example echo_server` first, then
//! `cargo run --example client -- 127.0.0.1:9002 [PATH]`.

use std::net::TcpStream;
use std::time::Duration;
use wspc::io::{connect, ClientOptions, CloseFrame, DriverError, Message};
use wspc::CloseStatus;

fn main() -> Result<(), DriverError> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9002".into());
    let path = args.next().unwrap_or_else(|| "/".into());
    // A server that does not answer costs at most the connect timeout here, and the handshake
    // timeout of the driver after that.
    let socket = addr
        .parse()
        .map_err(|e| DriverError::Http(format!("{addr}: {e}")))?;
    let stream = TcpStream::connect_timeout(&socket, Duration::from_secs(10))?;
    stream.set_nodelay(true)?;
    let (mut ws, response) = connect(stream, &addr, &path, &ClientOptions::default())?;
    println!(
        "connected to ws://{addr}{path} (status {})",
        response.status
    );

    ws.send(Message::text("hello from wspc"))?;
    ws.send(Message::binary([1, 2, 3, 4, 5]))?;
    ws.send(Message::Ping(b"are you there?".to_vec()))?;
    let mut seen = 0;
    while seen < 3 {
        match ws.read_message()? {
            Message::Text(text) => println!("text: {text}"),
            Message::Binary(bytes) => println!("binary: {bytes:?}"),
            Message::Pong(payload) => println!("pong: {:?}", String::from_utf8_lossy(&payload)),
            Message::Close(frame) => {
                println!("server closed: {frame:?}");
                return Ok(());
            }
            Message::Ping(_) => continue,
        }
        seen += 1;
    }
    ws.close(Some(CloseFrame {
        code: CloseStatus::SUCCESS,
        reason: "bye".into(),
    }))?;
    println!("closed");
    Ok(())
}
