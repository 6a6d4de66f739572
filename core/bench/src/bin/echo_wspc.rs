//! The echo benchmark's wspc server: `echo_wspc ADDR`, the tokio driver on a single-threaded
//! runtime (the benchmark pins the process to one core), one task per connection, whole
//! messages echoed with their type.

use futures_util::{SinkExt, StreamExt};
use wspc::tokio::{accept, Config, ServerOptions};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("echo_wspc listening on {addr}");
        let mut config = Config::default();
        config.ping_interval = None;
        let mut options = ServerOptions::default();
        options.config = config;
        let options = std::rc::Rc::new(options);
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    };
                    let options = std::rc::Rc::clone(&options);
                    tokio::task::spawn_local(async move {
                        let _ = stream.set_nodelay(true);
                        let Ok(mut ws) = accept(stream, &options).await else {
                            return;
                        };
                        while let Some(Ok(m)) = ws.next().await {
                            if m.is_data() && ws.send(m).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            })
            .await
    })
}
