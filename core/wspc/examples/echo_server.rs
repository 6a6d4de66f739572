//! A std::net echo server on the `wspc::io` driver: every text and binary message is echoed with
//! its type, piece by piece; pings are answered by the engine; a close is answered with the same
//! status. One thread per connection.
//!
//! Run with `cargo run --example echo_server -- 127.0.0.1:9002`, then talk to it with
//! `cargo run --example client -- 127.0.0.1:9002`.

use std::net::{TcpListener, TcpStream};
use wspc::io::{accept, DriverError, ServerOptions};
use wspc::{BufferType, CloseStatus};

pub(crate) fn serve(stream: TcpStream) -> Result<(), DriverError> {
    stream.set_nodelay(true)?;
    let mut ws = accept(stream, &ServerOptions::default())?;
    let mut copy = Vec::new();
    loop {
        let piece = match ws.receive() {
            Ok(piece) => piece,
            Err(DriverError::Ws(e)) => {
                // A protocol error: send the close status it carries, then drop the connection.
                ws.fail(&e);
                return Err(DriverError::Ws(e));
            }
            Err(e) => return Err(e),
        };
        let (kind, status) = (piece.buffer_type, piece.close_status);
        copy.clear();
        copy.extend_from_slice(piece.data);
        match kind {
            BufferType::Close => {
                match status {
                    Some(CloseStatus::EMPTY) => ws.close_empty()?,
                    Some(CloseStatus::ABORTED) | None => {}
                    Some(s) => ws.close(s, "")?,
                }
                return Ok(());
            }
            BufferType::PingPong => {}
            data => ws.send(data, &copy)?,
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr)?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = stream?;
        std::thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            match serve(stream) {
                Ok(()) => println!("{peer:?}: closed"),
                Err(e) => println!("{peer:?}: {e}"),
            }
        });
    }
    Ok(())
}
