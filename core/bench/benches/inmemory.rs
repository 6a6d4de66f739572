//! In-memory benchmarks, wspc against tungstenite 0.30 and fastwebsockets 0.10 on the same bytes
//! (`cargo bench -p wspc-bench --bench inmemory`). `scripts/bench.sh` runs them and turns
//! criterion's estimates into the ratio tables of `reports/bench/SUMMARY.md`.
//!
//! Groups (ids are `library/parameters`):
//! - `receive/<kind>/<size>/<buffer>`: a server unmasks, checks UTF-8 and delivers a run of
//!   messages (about 4 MiB) at the default (4096) and a 64 KiB receive buffer;
//! - `send/<kind>/<size>`: a client masks and writes the same run (wspc twice: through the
//!   action loop, and through `Session::send_into`, one call per message);
//! - `round_trip/16`: 100 000 16-byte messages client → server → client, one at a time;
//! - `driver/<size>`: the echo servers of the loopback benchmark (tokio drivers: wspc's,
//!   fastwebsockets', tokio-tungstenite) echoing binary messages one at a time over an in-memory
//!   pipe to a raw client, per message: what each driver costs in user space, without the
//!   kernel time that dominates over loopback; `driver/500x<size>` sends the messages to 500
//!   connections in turn, so each finds its connection's state cold;
//! - `handshake/accept`: a server parses a browser's upgrade request and answers 101;
//! - `mask/<where>`: the masking kernel against `memcpy`, in L1 (4 KiB) and in DRAM (64 MiB);
//! - `utf8/<size>`: UTF-8 validation alone of the non-ASCII text, wspc's validator against
//!   `simdutf8`'s `basic` one and `std::str::from_utf8`, in L1 (4 KiB) and in L2/L3 (1 MiB).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use wspc_bench::inputs::{count_for, payload, upgrade_request, wire};
use wspc_bench::{echo, fastws_impl, tungstenite_impl, wspc_impl, Kind};

const SIZES: [usize; 5] = [16, 125, 1024, 65536, 1 << 20];
const BUFFERS: [usize; 2] = [4096, 65536];

fn receive(c: &mut Criterion) {
    for kind in Kind::ALL {
        for size in SIZES {
            let p = payload(kind, size);
            let n = count_for(size);
            let w = wire(kind, &p, n);
            let mut g = c.benchmark_group(format!("receive/{}/{size}", kind.name()));
            g.throughput(Throughput::Bytes((n * size) as u64));
            for rbs in BUFFERS {
                g.bench_with_input(BenchmarkId::new("wspc", rbs), &rbs, |b, &rbs| {
                    b.iter(|| black_box(wspc_impl::receive(black_box(&w), n, rbs)));
                });
                g.bench_with_input(BenchmarkId::new("tungstenite", rbs), &rbs, |b, &rbs| {
                    b.iter(|| black_box(tungstenite_impl::receive(black_box(&w), n, rbs)));
                });
            }
            g.bench_function(BenchmarkId::new("fastwebsockets", "default"), |b| {
                b.iter(|| black_box(fastws_impl::receive(black_box(&w), n, kind)));
            });
            g.finish();
        }
    }
}

fn send(c: &mut Criterion) {
    for kind in Kind::ALL {
        for size in SIZES {
            let p = payload(kind, size);
            let n = count_for(size);
            let mut g = c.benchmark_group(format!("send/{}/{size}", kind.name()));
            g.throughput(Throughput::Bytes((n * size) as u64));
            let mut w = wspc_impl::Sender::new();
            g.bench_function("wspc", |b| {
                b.iter(|| black_box(w.send(kind, black_box(&p), n).len()));
            });
            g.bench_function("wspc_send_into", |b| {
                b.iter(|| black_box(w.send_into(kind, black_box(&p), n).len()));
            });
            let mut t = tungstenite_impl::Sender::new();
            g.bench_function("tungstenite", |b| {
                b.iter(|| black_box(t.send(kind, black_box(&p), n).len()));
            });
            let mut f = fastws_impl::Sender::new();
            g.bench_function("fastwebsockets", |b| {
                b.iter(|| black_box(f.send(kind, black_box(&p), n).len()));
            });
            g.finish();
        }
    }
}

fn round_trip(c: &mut Criterion) {
    const N: usize = 100_000;
    let p = payload(Kind::Binary, 16);
    let mut g = c.benchmark_group("round_trip/16");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    g.bench_function("wspc", |b| b.iter(|| wspc_impl::round_trip(&p, N)));
    g.bench_function("tungstenite", |b| {
        b.iter(|| tungstenite_impl::round_trip(&p, N))
    });
    g.bench_function("fastwebsockets", |b| {
        b.iter(|| fastws_impl::round_trip(&p, N))
    });
    g.finish();
}

fn driver(c: &mut Criterion) {
    for (conns, size) in [(1, 20), (1, 1024), (1, 16384), (500, 20), (500, 16384)] {
        let name = match conns {
            1 => format!("driver/{size}"),
            _ => format!("driver/{conns}x{size}"),
        };
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        for server in echo::Server::ALL {
            g.bench_function(server.name(), |b| {
                b.iter_custom(|iters| echo::in_memory(server, conns, size, iters).0)
            });
        }
        g.finish();
    }
}

fn handshake(c: &mut Criterion) {
    let request = upgrade_request();
    let mut g = c.benchmark_group("handshake/accept");
    g.throughput(Throughput::Elements(1));
    g.bench_function("wspc", |b| {
        b.iter(|| wspc_impl::accept(black_box(&request)))
    });
    g.bench_function("tungstenite", |b| {
        b.iter(|| tungstenite_impl::accept(black_box(&request)));
    });
    g.finish();
}

fn mask(c: &mut Criterion) {
    for (place, size) in [("l1", 4096usize), ("dram", 64 << 20)] {
        // Source and destination in one allocation, the destination starting 4 KiB + 128 bytes
        // after the end of the source (never a multiple of 4 KiB from it): two separate
        // allocations land at whatever distance the allocator picks, and a multiple of 4 KiB
        // (loads that look like they alias the stores just made) halved memcpy in some runs.
        let mut both = vec![0u8; 2 * size + 4096 + 128];
        let (src, dst) = both.split_at_mut(size + 4096 + 128);
        let src = &mut src[..size];
        src.copy_from_slice(&payload(Kind::Binary, size));
        let (src, dst): (&[u8], &mut [u8]) = (src, &mut dst[..size]);
        let mut g = c.benchmark_group(format!("mask/{place}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function("memcpy", |b| {
            b.iter(|| dst.copy_from_slice(black_box(src)));
        });
        g.bench_function("wspc_mask_copy", |b| {
            b.iter(|| wspc::mask::mask_copy(dst, black_box(src), [1, 2, 3, 4], 0));
        });
        g.bench_function("wspc_apply_mask", |b| {
            b.iter(|| wspc::mask::apply_mask(dst, [1, 2, 3, 4], 0));
        });
        g.finish();
    }
}

fn utf8(c: &mut Criterion) {
    for size in [4096usize, 1 << 20] {
        let text = payload(Kind::NonAscii, size);
        let mut g = c.benchmark_group(format!("utf8/{size}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function("wspc", |b| {
            b.iter(|| wspc::utf8::validate(black_box(&text)));
        });
        g.bench_function("simdutf8", |b| {
            b.iter(|| simdutf8::basic::from_utf8(black_box(&text)).is_ok());
        });
        g.bench_function("std", |b| {
            b.iter(|| core::str::from_utf8(black_box(&text)).is_ok());
        });
        g.finish();
    }
}

fn config() -> Criterion {
    // Overridden by the command line (`scripts/bench.sh quick` shortens every group).
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    // `driver` first, in a fresh process: after the groups that allocate and free megabytes of
    // buffers, the allocator's state slowed the echo servers that allocate per message (wspc and
    // tokio-tungstenite: 1.5-2x per message) and not fastwebsockets, which does not.
    targets = driver, receive, send, round_trip, handshake, mask, utf8
}
criterion_main!(benches);
