//! The Autobahn|Testsuite testees for wspc, and what they share.
//!
//! Both testees are thin programs over the library's socket drivers on real sockets, with a flag
//! choosing the driver: the blocking [`wspc::io`] (one thread per connection) or, with
//! `--tokio`, the async [`wspc::tokio`] (one task per connection):
//! - `server` is the echo server driven by the testsuite's `fuzzingclient`;
//! - `client` is the client driven by the testsuite's `fuzzingserver` (`/getCaseCount`, then
//!   `/runCase?case=N&agent=A` for each case, then `/updateReports?agent=A`);
//! - `gate` checks the reports the testsuite writes (see `src/bin/gate.rs`).
//!
//! Messages are echoed whole, as users of the drivers receive them by default ([`echo`],
//! [`echo_async`]): the drivers assemble each message up to their cap (64 MiB; the testsuite's
//! largest is 16 MiB) and answer pings and closes themselves.

use futures_util::{SinkExt, StreamExt};
use wspc::deflate::DeflateConfig;
use wspc::driver::{Config, DriverError, Message};
use wspc::io::{Transport, WebSocket};
use wspc::tokio::WebSocketStream;
use wspc::{CloseStatus, Property};

/// The receive buffer of each testee session: the largest the engine allows, so that big messages
/// arrive in few pieces.
pub const RECEIVE_BUFFER_SIZE: u32 = 65536;

/// The connection settings of both testees: the drivers' defaults, with the largest receive
/// buffer and without keep-alive pings (a ping of ours in the middle of a case would be a frame
/// the testsuite did not ask for; the cases never idle long enough anyway).
///
/// permessage-deflate is on with the default [`DeflateConfig`] (the drivers' default, set here
/// explicitly so that the testees do not depend on it): the client testee offers it on every case (the fuzzingserver accepts
/// it only in sections 12 and 13) and the server testee accepts the offers of sections 12 and
/// 13, whose 216 cases all vary the offer and its parameters.
pub fn config() -> Config {
    let mut config = Config::default();
    config.properties = vec![Property::ReceiveBufferSize(RECEIVE_BUFFER_SIZE)];
    config.ping_interval = None;
    config.deflate = Some(DeflateConfig::DEFAULT);
    config
}

/// Which driver a testee runs, from its command line (`--tokio`), and the other arguments.
pub fn driver_and_args() -> (bool, Vec<String>) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tokio = args.iter().any(|a| a == "--tokio");
    (tokio, args.into_iter().filter(|a| a != "--tokio").collect())
}

/// How an echo session ended.
#[derive(Debug)]
pub enum End {
    /// The peer sent a close frame with this status (1005 if it had none); the driver answered.
    Closed(CloseStatus),
    /// The transport ended without a close frame.
    Dropped,
    /// The peer broke the protocol: the driver failed the connection with the status the error
    /// carries.
    Failed(wspc::Error),
    /// Anything else (transport error, timeout); the session was aborted.
    Error(DriverError),
}

impl End {
    /// True when the session ended with a completed or failed close handshake on our side.
    pub fn is_orderly(&self) -> bool {
        matches!(self, Self::Closed(_) | Self::Failed(_))
    }

    fn of(error: DriverError, closed: Option<CloseStatus>) -> Self {
        match (error, closed) {
            (DriverError::Closed, Some(status)) => Self::Closed(status),
            (DriverError::Closed, None) => Self::Dropped,
            (DriverError::Ws(e), _) => Self::Failed(e),
            (other, _) => Self::Error(other),
        }
    }
}

fn status_of(frame: Option<&wspc::driver::CloseFrame>) -> CloseStatus {
    frame.map_or(CloseStatus::EMPTY, |f| f.code)
}

/// Echo every message until the connection ends, on the blocking driver. The driver answers
/// pings and the peer's close, and fails the connection on a protocol error.
pub fn echo<S: Transport>(ws: &mut WebSocket<S>) -> End {
    let mut closed = None;
    loop {
        let error = match ws.read_message() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => match ws.send(m) {
                Ok(()) => continue,
                Err(e) => e,
            },
            Ok(Message::Close(frame)) => {
                closed = Some(status_of(frame.as_ref()));
                continue;
            }
            Ok(_) => continue,
            Err(e) => e,
        };
        return End::of(error, closed);
    }
}

/// [`echo`] on the tokio driver.
pub async fn echo_async<S>(ws: &mut WebSocketStream<S>) -> End
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut closed = None;
    while let Some(message) = ws.next().await {
        let error = match message {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => match ws.send(m).await {
                Ok(()) => continue,
                Err(e) => e,
            },
            Ok(Message::Close(frame)) => {
                closed = Some(status_of(frame.as_ref()));
                continue;
            }
            Ok(_) => continue,
            Err(e) => e,
        };
        return End::of(error, closed);
    }
    End::of(DriverError::Closed, closed)
}
