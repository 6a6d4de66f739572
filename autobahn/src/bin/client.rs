//! The Autobahn client testee: `client [URL [AGENT]]` (default ws://127.0.0.1:9002, wspc).
//!
//! Speaks the fuzzingserver's protocol: `/getCaseCount`, then `/runCase?case=N&agent=A` for each
//! case (echoing every message piece by piece), then `/updateReports?agent=A`. After a close
//! handshake or a failed connection it waits, bounded, for the server to close TCP.

use std::io::Write;
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use wspc::io::{connect, ClientOptions, DriverError, WebSocket};
use wspc::BufferType;
use wspc_autobahn::{await_server_close, echo, properties, End};

/// No read may stall longer than this (the slowest cases pause a few seconds at most).
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for the server to close TCP after the close handshake.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9002".into());
    let agent = args.next().unwrap_or_else(|| "wspc".into());
    let Some(host) = url.strip_prefix("ws://").map(|h| h.trim_end_matches('/')) else {
        eprintln!("client: only ws:// URLs are supported: {url}");
        return ExitCode::FAILURE;
    };
    match run(host, &agent) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(host: &str, agent: &str) -> Result<(), String> {
    let count = case_count(host)?;
    println!("[client] {count} cases");
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    for case in 1..=count {
        let _ = writeln!(stdout, "[client] case {case} of {count}");
        let _ = stdout.flush();
        match open(host, &format!("/runCase?case={case}&agent={agent}")) {
            Ok(mut ws) => {
                let end = echo(&mut ws);
                match &end {
                    End::Failed(e) => eprintln!("client: case {case}: failed: {e}"),
                    End::Error(e) => eprintln!("client: case {case}: {e}"),
                    End::Closed(_) | End::Dropped => {}
                }
                if end.is_orderly() {
                    await_server_close(&mut ws.into_inner(), CLOSE_WAIT);
                }
            }
            // A case whose opening handshake the testsuite refuses is its finding, not ours.
            Err(e) => eprintln!("client: case {case}: cannot connect: {e}"),
        }
    }
    println!(
        "[client] {count} cases run in {:.1} s; updating reports",
        started.elapsed().as_secs_f64()
    );
    let mut ws = open(host, &format!("/updateReports?agent={agent}"))
        .map_err(|e| format!("updateReports: {e}"))?;
    let end = echo(&mut ws);
    if end.is_orderly() {
        await_server_close(&mut ws.into_inner(), CLOSE_WAIT);
    }
    match end {
        End::Closed(_) | End::Dropped => Ok(()),
        other => Err(format!("updateReports: {other:?}")),
    }
}

fn open(host: &str, path: &str) -> Result<WebSocket<TcpStream>, DriverError> {
    let stream = TcpStream::connect(host)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let options = ClientOptions {
        properties: properties(),
        ..ClientOptions::default()
    };
    let (ws, _negotiated) = connect(stream, host, path, &options)?;
    Ok(ws)
}

/// `/getCaseCount`: the server sends the count as one text message, then closes.
fn case_count(host: &str) -> Result<u32, String> {
    let mut ws = open(host, "/getCaseCount").map_err(|e| format!("getCaseCount: {e}"))?;
    let mut text = Vec::new();
    let count = loop {
        let piece = ws.receive().map_err(|e| format!("getCaseCount: {e}"))?;
        match piece.buffer_type {
            BufferType::Utf8Fragment => text.extend_from_slice(piece.data),
            BufferType::Utf8Message => {
                text.extend_from_slice(piece.data);
                break String::from_utf8_lossy(&text)
                    .trim()
                    .parse::<u32>()
                    .map_err(|e| format!("getCaseCount: bad count: {e}"))?;
            }
            BufferType::Close => return Err("getCaseCount: closed before the count".into()),
            _ => {}
        }
    };
    // The server closes next: complete the handshake.
    if echo(&mut ws).is_orderly() {
        await_server_close(&mut ws.into_inner(), CLOSE_WAIT);
    }
    Ok(count)
}
