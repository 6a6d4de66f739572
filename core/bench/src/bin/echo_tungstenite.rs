//! The echo benchmark's tokio-tungstenite 0.30 server: `echo_tungstenite ADDR`, on a
//! single-threaded runtime, one task per connection, whole messages echoed
//! (`wspc_bench::echo`).

fn main() -> std::io::Result<()> {
    wspc_bench::serve::serve(
        "echo_tungstenite",
        "127.0.0.1:9101",
        wspc_bench::echo::tungstenite_echo,
    )
}
