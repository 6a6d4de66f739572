//! A client on the `wspc::io` driver: connects to the echo server, sends a text message, a
//! binary message and a ping, prints what comes back, and closes.
//!
//! Run `cargo run --example echo_server` first, then `cargo run --example client -- 127.0.0.1:9002`.

use std::net::TcpStream;
use wspc::io::{connect, ClientOptions, DriverError};
use wspc::{BufferType, CloseStatus};

/// Receive pieces until a whole message (or a pong or close) has arrived; print it.
fn receive_message(ws: &mut wspc::io::WebSocket<TcpStream>) -> Result<BufferType, DriverError> {
    let mut message = Vec::new();
    loop {
        let piece = ws.receive()?;
        message.extend_from_slice(piece.data);
        match piece.buffer_type {
            t if !t.is_final() => continue,
            BufferType::Close => {
                println!(
                    "close {:?} {:?}",
                    piece.close_status,
                    String::from_utf8_lossy(&message)
                );
                return Ok(BufferType::Close);
            }
            BufferType::PingPong => println!("pong ({} bytes)", message.len()),
            t if t.is_text() => println!("text: {}", String::from_utf8_lossy(&message)),
            _ => println!("binary: {} bytes", message.len()),
        }
        return Ok(piece.buffer_type);
    }
}

fn main() -> Result<(), DriverError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let stream = TcpStream::connect(&addr)?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = connect(stream, &addr, "/", &ClientOptions::default())?;
    println!("connected to ws://{addr}/");

    ws.send(BufferType::Utf8Message, "hello from wspc".as_bytes())?;
    receive_message(&mut ws)?;
    ws.send(BufferType::BinaryMessage, &[1, 2, 3, 4, 5])?;
    receive_message(&mut ws)?;
    ws.send(BufferType::PingPong, &[])?;
    receive_message(&mut ws)?;

    ws.close(CloseStatus::SUCCESS, "bye")?;
    while receive_message(&mut ws)? != BufferType::Close {}
    Ok(())
}
