//! The Autobahn client testee: `client [URL [AGENT]] [--tokio]` (default ws://127.0.0.1:9002,
//! wspc).
//!
//! Speaks the fuzzingserver's protocol: `/getCaseCount`, then `/runCase?case=N&agent=A` for each
//! case (echoing every message whole), then `/updateReports?agent=A`. The driver (blocking, or
//! tokio with `--tokio`) completes the closing handshake and waits, bounded by its close timeout,
//! for the server to close TCP.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;
use wspc::driver::{ClientOptions, DriverError, Message};
use wspc_autobahn::{config, driver_and_args, echo, echo_async, End};

fn main() -> ExitCode {
    let (tokio, args) = driver_and_args();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:9002".into());
    let agent = args.get(1).cloned().unwrap_or_else(|| "wspc".into());
    let Some(host) = url.strip_prefix("ws://").map(|h| h.trim_end_matches('/')) else {
        eprintln!("client: only ws:// URLs are supported: {url}");
        return ExitCode::FAILURE;
    };
    let driver = if tokio {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => Driver::Tokio(rt),
            Err(e) => {
                eprintln!("client: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        Driver::Blocking
    };
    match run(&driver, host, &agent) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client: {e}");
            ExitCode::FAILURE
        }
    }
}

enum Driver {
    Blocking,
    Tokio(tokio::runtime::Runtime),
}

fn options() -> ClientOptions {
    let mut options = ClientOptions::default();
    options.config = config();
    options
}

impl Driver {
    /// Connect to `path` and echo until the connection ends.
    fn echo(&self, host: &str, path: &str) -> Result<End, DriverError> {
        match self {
            Self::Blocking => {
                let stream = std::net::TcpStream::connect(host)?;
                stream.set_nodelay(true)?;
                let (mut ws, _) = wspc::io::connect(stream, host, path, &options())?;
                Ok(echo(&mut ws))
            }
            Self::Tokio(rt) => rt.block_on(async {
                let stream = tokio::net::TcpStream::connect(host).await?;
                stream.set_nodelay(true)?;
                let (mut ws, _) = wspc::tokio::connect(stream, host, path, &options()).await?;
                Ok(echo_async(&mut ws).await)
            }),
        }
    }

    /// `/getCaseCount`: the server sends the count as one text message, then closes.
    fn case_count(&self, host: &str) -> Result<u32, String> {
        let first = match self {
            Self::Blocking => (|| {
                let stream = std::net::TcpStream::connect(host)?;
                let (mut ws, _) = wspc::io::connect(stream, host, "/getCaseCount", &options())?;
                let first = ws.read_message();
                echo(&mut ws);
                first
            })(),
            Self::Tokio(rt) => rt.block_on(async {
                use futures_util::StreamExt;
                let stream = tokio::net::TcpStream::connect(host).await?;
                let (mut ws, _) =
                    wspc::tokio::connect(stream, host, "/getCaseCount", &options()).await?;
                let first = ws.next().await.unwrap_or(Err(DriverError::Closed));
                echo_async(&mut ws).await;
                first
            }),
        };
        match first.map_err(|e| format!("getCaseCount: {e}"))? {
            Message::Text(text) => text
                .trim()
                .parse::<u32>()
                .map_err(|e| format!("getCaseCount: bad count: {e}")),
            other => Err(format!("getCaseCount: {other:?} instead of the count")),
        }
    }
}

fn run(driver: &Driver, host: &str, agent: &str) -> Result<(), String> {
    let count = driver.case_count(host)?;
    println!("[client] {count} cases");
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    for case in 1..=count {
        let _ = writeln!(stdout, "[client] case {case} of {count}");
        let _ = stdout.flush();
        match driver.echo(host, &format!("/runCase?case={case}&agent={agent}")) {
            Ok(End::Failed(e)) => eprintln!("client: case {case}: failed: {e}"),
            Ok(End::Error(e)) => eprintln!("client: case {case}: {e}"),
            Ok(End::Closed(_) | End::Dropped) => {}
            // A case whose opening handshake the testsuite refuses is its finding, not ours.
            Err(e) => eprintln!("client: case {case}: cannot connect: {e}"),
        }
    }
    println!(
        "[client] {count} cases run in {:.1} s; updating reports",
        started.elapsed().as_secs_f64()
    );
    match driver.echo(host, &format!("/updateReports?agent={agent}")) {
        Ok(End::Closed(_) | End::Dropped) => Ok(()),
        Ok(other) => Err(format!("updateReports: {other:?}")),
        Err(e) => Err(format!("updateReports: {e}")),
    }
}
