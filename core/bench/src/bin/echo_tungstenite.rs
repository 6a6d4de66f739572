//! The echo benchmark's tokio-tungstenite 0.30 server: `echo_tungstenite ADDR`, on a
//! single-threaded runtime, one task per connection, whole messages echoed.

use futures_util::{SinkExt, StreamExt};

fn main() -> std::io::Result<()> {
    wspc_bench::serve::serve("echo_tungstenite", "127.0.0.1:9101", |stream| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        while let Some(Ok(m)) = ws.next().await {
            if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                return;
            }
        }
    })
}
