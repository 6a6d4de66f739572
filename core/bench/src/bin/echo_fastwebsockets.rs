//! The echo benchmark's fastwebsockets 0.10 server: `echo_fastwebsockets ADDR`, on a
//! single-threaded runtime, one task per connection, whole messages echoed (through
//! `FragmentCollector`; `wspc_bench::echo`).

fn main() -> std::io::Result<()> {
    wspc_bench::serve::serve(
        "echo_fastwebsockets",
        "127.0.0.1:9102",
        wspc_bench::echo::fastws_echo,
    )
}
