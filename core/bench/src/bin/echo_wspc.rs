//! The echo benchmark's wspc server: `echo_wspc ADDR [RECEIVE_BUFFER_SIZE]`, the tokio driver on a single-threaded
//! runtime (the benchmark pins the process to one core), one task per connection, whole
//! messages echoed with their type.

use futures_util::{SinkExt, StreamExt};
use std::rc::Rc;
use wspc::tokio::{accept, Config, ServerOptions};

fn main() -> std::io::Result<()> {
    let mut config = Config::default();
    config.ping_interval = None;
    // An optional second argument sets the engine's receive buffer size (default 4 KiB), to
    // compare buffer sizes by hand.
    if let Some(size) = std::env::args().nth(2) {
        let size = size.parse().expect("receive buffer size in bytes");
        config
            .properties
            .push(wspc::Property::ReceiveBufferSize(size));
    }
    let mut options = ServerOptions::default();
    options.config = config;
    let options = Rc::new(options);
    wspc_bench::serve::serve("echo_wspc", "127.0.0.1:9100", move |stream| {
        let options = Rc::clone(&options);
        async move {
            let Ok(mut ws) = accept(stream, &options).await else {
                return;
            };
            while let Some(Ok(m)) = ws.next().await {
                if m.is_data() && ws.send(m).await.is_err() {
                    return;
                }
            }
        }
    })
}
