//! The Autobahn|Testsuite testees for wspc, and what they share.
//!
//! Both testees are thin programs over the library's socket driver [`wspc::io`] on real
//! `std::net` sockets, one thread per connection:
//! - `server` is the echo server driven by the testsuite's `fuzzingclient`;
//! - `client` is the client driven by the testsuite's `fuzzingserver` (`/getCaseCount`, then
//!   `/runCase?case=N&agent=A` for each case, then `/updateReports?agent=A`);
//! - `gate` checks the reports the testsuite writes (see `src/bin/gate.rs`).
//!
//! Messages are echoed piece by piece as they arrive ([`echo`]): a received `*_FRAGMENT` piece
//! goes out as a fragment of the same type and a `*_MESSAGE` piece as the final frame, so a
//! 16 MiB message needs no 16 MiB buffer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use wspc::io::{DriverError, WebSocket};
use wspc::{BufferType, CloseStatus, Property};

/// The receive buffer of each testee session: the largest the engine allows, so that big messages
/// arrive in few pieces.
pub const RECEIVE_BUFFER_SIZE: u32 = 65536;

/// The handle properties of both testees.
pub fn properties() -> Vec<Property> {
    vec![Property::ReceiveBufferSize(RECEIVE_BUFFER_SIZE)]
}

/// How an echo session ended.
#[derive(Debug)]
pub enum End {
    /// The peer sent a close frame with this status (1005 if it had none) and ours went out.
    Closed(CloseStatus),
    /// The transport ended without a close frame.
    Dropped,
    /// The peer broke the protocol: the connection was failed with the status the error carries.
    Failed(wspc::Error),
    /// Anything else (transport error, an error while answering); the session was aborted.
    Error(DriverError),
}

impl End {
    /// True when the session ended with a completed or failed close handshake on our side.
    pub fn is_orderly(&self) -> bool {
        matches!(self, Self::Closed(_) | Self::Failed(_))
    }
}

/// Echo every message piece by piece until the connection ends; answer a close with a close
/// carrying the same status (an empty close for 1005); fail the connection on a protocol error.
/// Pings are answered by the driver on the way.
pub fn echo<S: Read + Write>(ws: &mut WebSocket<S>) -> End {
    // The piece borrows the socket, so it is copied into this reused buffer before it goes out.
    let mut buf: Vec<u8> = Vec::with_capacity(RECEIVE_BUFFER_SIZE as usize);
    loop {
        let piece = match ws.receive() {
            Ok(piece) => piece,
            Err(e) => return failed(ws, e),
        };
        let buffer_type = piece.buffer_type;
        match buffer_type {
            BufferType::Close => {
                let status = piece.close_status.unwrap_or(CloseStatus::ABORTED);
                let answered = match status {
                    CloseStatus::ABORTED => return End::Dropped,
                    CloseStatus::EMPTY => ws.close_empty(),
                    status => ws.close(status, ""),
                };
                return match answered {
                    Ok(()) => End::Closed(status),
                    Err(e) => failed(ws, e),
                };
            }
            t if t.is_data() => {
                buf.clear();
                buf.extend_from_slice(piece.data);
                match ws.send_vec(t, core::mem::take(&mut buf)) {
                    Ok(back) => buf = back,
                    Err(e) => return failed(ws, e),
                }
            }
            // A pong arrived: nothing to do.
            _ => {}
        }
    }
}

/// Handle an error of the driver: a protocol error fails the connection (close frame with the
/// status the error carries, then abort); anything else aborts.
fn failed<S: Read + Write>(ws: &mut WebSocket<S>, error: DriverError) -> End {
    match error {
        DriverError::Ws(e) if e.close_status().is_some() => {
            ws.fail(&e);
            End::Failed(e)
        }
        DriverError::Closed => {
            ws.abort();
            End::Dropped
        }
        other => {
            ws.abort();
            End::Error(other)
        }
    }
}

/// Client side of closing the transport (RFC 6455 §7.1.1): wait, bounded by `limit`, for the
/// server to close the TCP connection, discarding whatever still arrives.
pub fn await_server_close(stream: &mut TcpStream, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut sink = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
