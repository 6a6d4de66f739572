//! The echo benchmark's tokio-tungstenite 0.30 server: `echo_tungstenite ADDR`, on a
//! single-threaded runtime, one task per connection, whole messages echoed.

use futures_util::{SinkExt, StreamExt};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9101".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("echo_tungstenite listening on {addr}");
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    };
                    tokio::task::spawn_local(async move {
                        let _ = stream.set_nodelay(true);
                        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                            return;
                        };
                        while let Some(Ok(m)) = ws.next().await {
                            if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            })
            .await
    })
}
