//! The skeleton every echo server of the echo benchmark shares, so that they differ only in the
//! library under test: `NAME [ADDR]`, a single-threaded tokio runtime (the benchmark pins the
//! process to one core), a listener that survives a failed `accept` (EMFILE), one local task per
//! connection with `TCP_NODELAY` set.

use std::future::Future;
use tokio::net::TcpStream;

/// Serves `handle(stream)` for every connection on the address given as the first argument
/// (`default_addr` without one), until the process is killed.
pub fn serve<F, Fut>(name: &str, default_addr: &str, handle: F) -> std::io::Result<()>
where
    F: Fn(TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| default_addr.into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("{name} listening on {addr}");
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::task::spawn_local(handle(stream));
                }
            })
            .await
    })
}
