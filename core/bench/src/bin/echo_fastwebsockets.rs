//! The echo benchmark's fastwebsockets 0.10 server: `echo_fastwebsockets ADDR`, on a
//! single-threaded runtime, one task per connection, whole messages echoed (through
//! `FragmentCollector`). The upgrade is done here with `httparse` (fastwebsockets' own upgrade
//! needs hyper), then `WebSocket::after_handshake`.

use base64::Engine as _;
use fastwebsockets::{FragmentCollector, Frame, OpCode, Role, WebSocket};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn upgrade(stream: &mut TcpStream) -> Option<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if head.len() > 16 << 10 {
            return None;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(&head).ok()?;
    let key = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))?
        .value;
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await.ok()
}

fn main() -> std::io::Result<()> {
    wspc_bench::serve::serve(
        "echo_fastwebsockets",
        "127.0.0.1:9102",
        |mut stream| async move {
            if upgrade(&mut stream).await.is_none() {
                return;
            }
            let mut ws = WebSocket::after_handshake(stream, Role::Server);
            ws.set_writev(true);
            ws.set_auto_close(true);
            ws.set_auto_pong(true);
            let mut ws = FragmentCollector::new(ws);
            while let Ok(frame) = ws.read_frame().await {
                match frame.opcode {
                    OpCode::Close => return,
                    OpCode::Text | OpCode::Binary => {
                        let echo = Frame::new(true, frame.opcode, None, frame.payload);
                        if ws.write_frame(echo).await.is_err() {
                            return;
                        }
                    }
                    _ => {}
                }
            }
        },
    )
}
