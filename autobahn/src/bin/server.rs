//! The Autobahn echo server testee: `server [ADDR]` (default 127.0.0.1:9001).
//!
//! Every text and binary message is echoed with its type, piece by piece; pings are answered;
//! closes are completed (the server then drops the connection); protocol errors fail the
//! connection with the close status the error carries. One thread per connection.

use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;
use wspc::io::{accept, DriverError, ServerOptions};
use wspc_autobahn::{echo, properties, End};

/// No read may stall longer than this: a stuck peer cannot pin a thread forever.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("server: listening on {addr}");
    let options = ServerOptions {
        properties: properties(),
        ..ServerOptions::default()
    };
    for (n, stream) in listener.incoming().enumerate() {
        match stream {
            Ok(stream) => {
                let options = options.clone();
                let spawned = thread::Builder::new()
                    .name(format!("conn-{n}"))
                    .spawn(move || serve(n, stream, &options));
                if let Err(e) = spawned {
                    eprintln!("server: cannot start a thread: {e}");
                }
            }
            Err(e) => eprintln!("server: accept failed: {e}"),
        }
    }
    ExitCode::SUCCESS
}

fn serve(n: usize, stream: TcpStream, options: &ServerOptions) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let mut ws = match accept(stream, options) {
        Ok(ws) => ws,
        // A bare TCP probe (the run script waiting for the port) sends nothing.
        Err(DriverError::Closed) => return,
        Err(e) => {
            eprintln!("server: connection {n}: upgrade failed: {e}");
            return;
        }
    };
    match echo(&mut ws) {
        End::Closed(_) | End::Dropped => {}
        End::Failed(e) => eprintln!("server: connection {n}: failed: {e}"),
        End::Error(e) => eprintln!("server: connection {n}: {e}"),
    }
    // Dropping the socket closes the TCP connection: the server closes first (RFC 6455 §7.1.1).
}
