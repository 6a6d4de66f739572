//! The Autobahn echo server testee: `server [ADDR] [--tokio]` (default 127.0.0.1:9001).
//!
//! Every text and binary message is echoed whole with its type; pings are answered; closes are
//! completed (the server then closes the connection); protocol errors fail the connection with
//! the close status the error carries. One thread per connection on the blocking driver, one task
//! per connection with `--tokio`. Accept errors (EMFILE…) are logged and retried after a pause.

use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;
use wspc::driver::{DriverError, ServerOptions};
use wspc_autobahn::{config, driver_and_args, echo, echo_async, End};

/// The pause after a failed accept (EMFILE and its kind clear up as connections end).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let (tokio, args) = driver_and_args();
    let addr = args
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let mut options = ServerOptions::default();
    options.config = config();
    if tokio {
        return tokio_main(&addr, options);
    }
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("server: listening on {addr} (blocking driver)");
    for n in 0.. {
        match listener.accept() {
            Ok((stream, _)) => {
                let options = options.clone();
                let spawned = thread::Builder::new()
                    .name(format!("conn-{n}"))
                    .spawn(move || serve(n, stream, &options));
                if let Err(e) = spawned {
                    eprintln!("server: cannot start a thread: {e}");
                }
            }
            Err(e) => {
                eprintln!("server: accept failed: {e}");
                thread::sleep(ACCEPT_BACKOFF);
            }
        }
    }
    ExitCode::SUCCESS
}

fn serve(n: usize, stream: TcpStream, options: &ServerOptions) {
    let _ = stream.set_nodelay(true);
    let mut ws = match wspc::io::accept(stream, options) {
        Ok(ws) => ws,
        Err(e) => return upgrade_failed(n, &e),
    };
    report(n, &echo(&mut ws));
    // Dropping the socket closes the TCP connection: the server closes first (RFC 6455 §7.1.1).
}

fn upgrade_failed(n: usize, e: &DriverError) {
    // A bare TCP probe (the run script waiting for the port) sends nothing.
    if !matches!(e, DriverError::Closed) {
        eprintln!("server: connection {n}: upgrade failed: {e}");
    }
}

fn report(n: usize, end: &End) {
    match end {
        End::Closed(_) | End::Dropped => {}
        End::Failed(e) => eprintln!("server: connection {n}: failed: {e}"),
        End::Error(e) => eprintln!("server: connection {n}: {e}"),
    }
}

fn tokio_main(addr: &str, options: ServerOptions) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("server: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!("server: listening on {addr} (tokio driver)");
        let options = std::sync::Arc::new(options);
        for n in 0.. {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let options = std::sync::Arc::clone(&options);
                    tokio::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        match wspc::tokio::accept(stream, &options).await {
                            Ok(mut ws) => report(n, &echo_async(&mut ws).await),
                            Err(e) => upgrade_failed(n, &e),
                        }
                    });
                }
                Err(e) => {
                    eprintln!("server: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
        ExitCode::SUCCESS
    })
}
