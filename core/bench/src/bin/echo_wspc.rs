//! The echo benchmark's wspc server: `echo_wspc ADDR [RECEIVE_BUFFER_SIZE]`, the tokio driver on
//! a single-threaded runtime (the benchmark pins the process to one core), one task per
//! connection, whole messages echoed with their type (`wspc_bench::echo`).

use std::rc::Rc;

fn main() -> std::io::Result<()> {
    // An optional second argument sets the engine's receive buffer size (default 4 KiB), to
    // compare buffer sizes by hand.
    let size = std::env::args()
        .nth(2)
        .map(|s| s.parse().expect("receive buffer size in bytes"));
    let options = Rc::new(wspc_bench::echo::wspc_options(size));
    wspc_bench::serve::serve("echo_wspc", "127.0.0.1:9100", move |stream| {
        let options = Rc::clone(&options);
        async move { wspc_bench::echo::wspc_echo(stream, &options).await }
    })
}
