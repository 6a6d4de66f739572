//! Heap bytes of one idle connection with default settings, for wspc and its peers: each
//! library's connection object over an in-memory stream, opened and then idle, measured with the
//! test kit's counting allocator. One JSON line per library on stdout (`scripts/bench.sh`
//! puts them in the report). The stream's own buffers are not counted where the library does not
//! own them; what is counted is what the library allocates for the connection.

use wspc_bench::echo;
use wspc_bench::mem::Link;

#[global_allocator]
static ALLOC: wspc_testkit::alloc::Counting = wspc_testkit::alloc::Counting;

fn heap() -> isize {
    wspc_testkit::alloc::live().expect("the counting allocator is installed")
}

/// The heap growth while `make` builds a value that is kept alive.
fn measure<T>(make: impl FnOnce() -> T) -> (isize, T) {
    let before = heap();
    let value = make();
    (heap() - before, value)
}

fn main() {
    let (wspc_session, s) = measure(|| wspc::Session::<Vec<u8>, ()>::server(&[]).expect("session"));
    drop(s);
    let (wspc_io, s) = measure(|| {
        let (_, server) = wspc_bench::wspc_impl::pair(&[]);
        wspc::io::WebSocket::from_session(
            wspc_bench::mem::Mem::new(&[]),
            server,
            Vec::new(),
            wspc::driver::Config::default(),
        )
        .expect("driver")
    });
    drop(s);
    let (wspc_tokio, s) = measure(|| {
        let (_, server) = wspc_bench::wspc_impl::pair(&[]);
        wspc::tokio::WebSocketStream::from_session(
            Link::default(),
            server,
            Vec::new(),
            wspc::driver::Config::default(),
        )
    });
    drop(s);
    let (tungstenite, s) = measure(|| {
        tungstenite::protocol::WebSocket::from_raw_socket(
            wspc_bench::mem::Mem::new(&[]),
            tungstenite::protocol::Role::Server,
            None,
        )
    });
    drop(s);
    let (fastws, s) = measure(|| {
        fastwebsockets::WebSocket::after_handshake(Link::default(), fastwebsockets::Role::Server)
    });
    drop(s);
    for (name, bytes) in [
        ("wspc Session (engine only)", wspc_session),
        ("wspc::io::WebSocket", wspc_io),
        ("wspc::tokio::WebSocketStream", wspc_tokio),
        ("tungstenite WebSocket", tungstenite),
        ("fastwebsockets WebSocket", fastws),
    ] {
        println!("{{\"library\": \"{name}\", \"idle_heap_bytes\": {bytes}}}");
    }
    // The echo servers of the echo benchmark, as they hold a connection: upgraded and with one
    // message echoed, over an in-memory pipe (the pipe's buffers and the clients' ends counted
    // too, the same for every server), and the peak while the connections opened.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    const CONNS: usize = 100;
    for server in echo::Server::ALL {
        for size in [20, 1024, 16384] {
            let (open, live, peak) = wspc_testkit::alloc::measure(|| {
                echo::open_in_memory(&rt, &local, server, CONNS, size)
            });
            open.close(&rt, &local);
            println!(
                "{{\"server\": \"{}\", \"payload\": {size}, \"connections\": {CONNS}, \
                 \"heap_bytes_per_conn\": {}, \"peak_bytes_per_conn\": {}}}",
                server.name(),
                live / CONNS as isize,
                peak / CONNS as isize
            );
        }
    }
}
