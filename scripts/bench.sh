#!/usr/bin/env bash
# Benchmarks of wspc side by side with its peers, in one run:
#
#   scripts/bench.sh [quick|full]      (default: full)
#
# The in-memory criterion benchmarks (core/bench/benches/inmemory.rs: receive, send, a round trip
# of 100 000 small messages, the tokio echo servers over an in-memory pipe, the server
# handshake, the masking kernel against memcpy) run wspc, tungstenite 0.30 and fastwebsockets 0.10
# on the same inputs. Their medians become
# reports/bench/SUMMARY.md (times, throughputs and the ratios wspc / peer: below 1 is faster)
# and reports/bench/inmemory.json. `quick` shortens every measurement: CI runs it as a smoke test
# of the benchmarks only (with 1000 bootstrap resamples instead of criterion's 100 000, which took
# 5 of every 6 seconds); no timing is asserted anywhere. The machine is noisy: compare ratios
# within one run, not numbers across runs.
#
# Environment: CARGO_TARGET_DIR is honoured (criterion's estimates are read from it). UWS_DIR, a
# checkout of uWebSockets with uSockets in its uSockets/ directory, adds uWebSockets' EchoServer
# to the echo matrix and runs its benchmarks/load_test.c against every server too (both built
# into WSPC_CACHE, default ~/.cache/wspc; nothing of uWebSockets enters the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-full}
case "$MODE" in
quick) ARGS=(--warm-up-time 0.05 --measurement-time 0.2 --sample-size 10 --nresamples 1000) ;;
full) ARGS=(--warm-up-time 1 --measurement-time 3 --sample-size 30) ;;
*)
    echo "usage: $0 [quick|full]" >&2
    exit 2
    ;;
esac
say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
CRITERION=$TARGET_DIR/criterion
rm -rf "$CRITERION"
start=$SECONDS
say "in-memory benchmarks ($MODE): wspc, tungstenite, fastwebsockets"
cargo bench --locked -q -p wspc-bench --bench inmemory -- "${ARGS[@]}" 2>&1 |
    grep -E '^[a-z_]+/|time:|thrpt:' || true

# ----- the echo benchmark over loopback ------------------------------------------------------
# Each server (wspc's tokio driver, fastwebsockets, tokio-tungstenite; uWebSockets' EchoServer
# when UWS_DIR is set) on one core, our load generator on the other; rows of (connections,
# payload); servers interleaved within each round, the order rotated between rounds.
mkdir -p reports/bench
say "building the echo servers and the load generator"
cargo build --locked -q --release -p wspc-bench --bins
BIN=$TARGET_DIR/release
# An entry is NAME:EXECUTABLE[ ARGUMENT] (echo_wspc takes a receive buffer size; wspc runs with
# its defaults here, as a user's server would). tokio-floor is no library: the least a server on
# the same tokio skeleton can do per message (core/bench/src/bin/echo_floor.rs), what the
# runtime and the kernel cost every server built on them.
SERVERS=(wspc:echo_wspc fastwebsockets:echo_fastwebsockets tokio-tungstenite:echo_tungstenite
    tokio-floor:echo_floor)
UWS_LOAD=
if [ -n "${UWS_DIR:-}" ]; then
    # uWebSockets (with uSockets in $UWS_DIR/uSockets) is built outside the repository: its
    # EchoServer, from a copy whose port comes from the command line (upstream listens on 9001
    # only), and its benchmarks/load_test.c, run against every server as a second load generator.
    UWS_CACHE=${WSPC_CACHE:-${HOME:-/tmp}/.cache/wspc}/uws
    mkdir -p "$UWS_CACHE"
    say "building uWebSockets' EchoServer and load_test from $UWS_DIR into $UWS_CACHE"
    sed -e 's/^int main() {/int main(int argc, char **argv) {/' \
        -e 's/\.listen(9001,/.listen(argc > 1 ? atoi(argv[1]) : 9001,/' \
        "$UWS_DIR/examples/EchoServer.cpp" >"$UWS_CACHE/EchoServer.cpp"
    (cd "$UWS_DIR" && make -C uSockets -s >/dev/null &&
        g++ -O3 -march=native -flto -std=c++20 -IuSockets/src -Isrc -include cstdlib \
            "$UWS_CACHE/EchoServer.cpp" uSockets/*.o -lz -o "$UWS_CACHE/EchoServer" &&
        gcc -O3 -march=native -IuSockets/src benchmarks/load_test.c uSockets/*.o -lz \
            -o "$UWS_CACHE/load_test") ||
        { say "uWebSockets build failed; continuing without it"; UWS_CACHE=; }
    if [ -n "${UWS_CACHE:-}" ] && [ -x "$UWS_CACHE/EchoServer" ]; then
        SERVERS+=(uwebsockets:"$UWS_CACHE/EchoServer")
        UWS_LOAD=$UWS_CACHE/load_test
    fi
fi
if [ "$MODE" = quick ]; then
    ROWS=("10 1024"); ROUNDS=1; SECS=2
else
    ROWS=("100 20" "10 1024" "10 16384" "200 16384" "500 16384"); ROUNDS=5; SECS=5
fi
CORES=$(nproc)
pin_server=(); pin_load=()
if command -v taskset >/dev/null && [ "$CORES" -ge 2 ]; then
    pin_server=(taskset -c 0); pin_load=(taskset -c 1)
fi
ECHO=reports/bench/echo.jsonl
: >"$ECHO"
port=9300
# Start the server of SERVERS entry $1 on the next port, pinned; sets name, port and spid, and
# returns once the port accepts connections (or after 5 s).
start_server() {
    name=${1%%:*}
    local exe extra
    read -r exe extra <<<"${1#*:}"
    [[ $exe == /* ]] || exe=$BIN/$exe
    port=$((port + 1))
    if [ "$name" = uwebsockets ]; then
        "${pin_server[@]}" "$exe" "$port" >/dev/null 2>&1 &
    else
        # shellcheck disable=SC2086 # $extra is one optional argument or nothing
        "${pin_server[@]}" "$exe" "127.0.0.1:$port" $extra >/dev/null 2>&1 &
    fi
    spid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
}
stop_server() {
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
}
# User and system clock ticks of process $1, as "user,system".
cpu_ticks() { awk '{print $14 "," $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
for ((round = 1; round <= ROUNDS; round++)); do
    for row in "${ROWS[@]}"; do
        read -r conns size <<<"$row"
        n=${#SERVERS[@]}
        for ((k = 0; k < n; k++)); do
            entry=${SERVERS[$(((k + round - 1) % n))]}
            start_server "$entry"
            # One connection for a second first, so that what the first connection faults in
            # once (code pages, the runtime's timer wheel) is not counted per connection.
            "${pin_load[@]}" "$BIN/loadgen" "127.0.0.1:$port" 1 "$size" 1 >/dev/null || true
            rss0=$(rss_kb "$spid")
            cpu0=$(cpu_ticks "$spid")
            "${pin_load[@]}" "$BIN/loadgen" "127.0.0.1:$port" "$conns" "$size" "$SECS" >"$ECHO.one" &
            lpid=$!
            sleep $((SECS - 1)).5
            rss1=$(rss_kb "$spid")
            wait "$lpid" || true
            cpu1=$(cpu_ticks "$spid")
            stop_server
            python3 - "$ECHO.one" "$name" "$round" "$cpu0" "$cpu1" "$rss0" "$rss1" "$(getconf CLK_TCK)" >>"$ECHO" <<'PY'
import json, sys
one, name, rnd, cpu0, cpu1, rss0, rss1, tck = sys.argv[1:]
r = json.load(open(one))
r.update(server=name, round=int(rnd))
msgs = max(r["messages"], 1)
(u0, s0), (u1, s1) = (map(int, c.split(",")) for c in (cpu0, cpu1))
r["cpu_us_per_msg"] = (u1 - u0 + s1 - s0) * 1e6 / int(tck) / msgs
r["user_us_per_msg"] = (u1 - u0) * 1e6 / int(tck) / msgs
r["rss_kb_per_conn"] = (int(rss1) - int(rss0)) / r["connections"]
print(json.dumps(r))
PY
            say "round $round, $conns x $size B, $name: $(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("%.0f msg/s, %.1f us/msg, %.1f KiB/conn" % (r["msg_per_s"], r["cpu_us_per_msg"], r["rss_kb_per_conn"]))' "$ECHO")"
        done
    done
done
rm -f "$ECHO.one"
# A server that failed to start, or broke, echoes nothing: the run fails, so that CI's smoke test
# (quick mode) catches it. Only that is judged here, no timing.
python3 - "$ECHO" <<'PY'
import json, sys
silent = sorted({(r["server"], r["connections"], r["payload"])
                 for r in map(json.loads, open(sys.argv[1])) if not r.get("messages")})
if silent:
    sys.exit("bench: nothing echoed by " + ", ".join(f"{s} ({c} x {p} B)" for s, c, p in silent))
PY
# uWebSockets' own load generator, when built: one run per row and server (the anchor the issue
# names). It prints msg/s every 4 seconds; a run of 9 seconds gives two samples, of which the
# report keeps the larger (the first may include the connections' start).
LOADTEST=reports/bench/echo-loadtest.jsonl
rm -f "$LOADTEST"
if [ -n "$UWS_LOAD" ]; then
    : >"$LOADTEST"
    for row in "${ROWS[@]}"; do
        read -r conns size <<<"$row"
        for entry in "${SERVERS[@]}"; do
            start_server "$entry"
            out=$(timeout 9 stdbuf -oL "${pin_load[@]}" "$UWS_LOAD" "$conns" 127.0.0.1 "$port" 0 0 "$size" 2>&1 || true)
            stop_server
            best=$(awk '/^Msg\/sec:/ {if ($2 > m) m = $2} END {printf "%d", m}' <<<"$out")
            printf '{"server": "%s", "connections": %d, "payload": %d, "msg_per_s": %d}\n' \
                "$name" "$conns" "$size" "$best" >>"$LOADTEST"
            say "uWebSockets load_test, $conns x $size B, $name: $best msg/s"
        done
    done
fi
say "heap of an idle connection, default settings"
"$BIN/memory" >reports/bench/memory.jsonl
KERNELS=$("$BIN/kernels")
elapsed=$((SECONDS - start))

mkdir -p reports/bench
python3 - "$CRITERION" "$MODE" "$elapsed" "$KERNELS" <<'EOF'
import datetime, glob, json, os, platform, subprocess, sys

root, mode, elapsed = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Which SIMD kernels wspc-simd's own dispatch picks on this CPU (core/bench/src/bin/kernels.rs).
kernels = json.loads(sys.argv[4])
rows = {}
for path in glob.glob(os.path.join(root, "**", "new", "benchmark.json"), recursive=True):
    bench = json.load(open(path))
    est = json.load(open(os.path.join(os.path.dirname(path), "estimates.json")))
    tp = bench.get("throughput") or {}
    rows[(bench["group_id"], bench["function_id"], bench.get("value_str") or "")] = {
        "median_ns": est["median"]["point_estimate"],
        "bytes": tp.get("Bytes"),
        "elements": tp.get("Elements"),
    }
if not rows:
    sys.exit("no criterion estimates found under " + root)

def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
# The reports are being rewritten by this very run; only changes elsewhere make the code differ.
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports"],
                       capture_output=True, text=True).stdout.strip()
meta = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "mode": mode, "seconds": elapsed, "commit": commit + (" (uncommitted changes)" if dirty else ""),
    "cpu": cpu(), "cores": os.cpu_count(),
    "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip(),
}
json.dump({"meta": meta, "rows": [dict(group=g, function=f, value=v, **r) for (g, f, v), r in sorted(rows.items())]},
          open("reports/bench/inmemory.json", "w"), indent=1)

def get(group, function, value=""):
    return rows.get((group, function, value))

def per_msg(r, n):
    return r["median_ns"] / n

def gbps(r):
    return r["bytes"] / r["median_ns"] if r and r.get("bytes") else None

def ratio(a, b):
    return f"{a['median_ns'] / b['median_ns']:.2f}" if a and b else "—"

def fmt_t(ns):
    return f"{ns:,.0f} ns" if ns >= 1000 else f"{ns:.1f} ns"

def per_msg_or_dash(r, n):
    return fmt_t(per_msg(r, n)) if r else "—"

def row(cells, w, t, f, n):
    """A receive or send row: its leading cells, then wspc's time per message and GB/s, the
    peers' times, and the two ratios."""
    return (f"| {cells} | {fmt_t(per_msg(w, n))} | {gbps(w):.2f} | {per_msg_or_dash(t, n)} | "
            f"{per_msg_or_dash(f, n)} | {ratio(w, t)} | {ratio(w, f)} |")

def count_for(size):
    return max(4, min(100_000, (4 << 20) // max(size, 1)))  # as core/bench/src/inputs.rs

md = [
    "# Benchmarks: wspc side by side with its peers",
    "",
    f"Written by `scripts/bench.sh {mode}` on {meta['date']} in {elapsed} s; wspc `{meta['commit']}`; "
    f"{meta['cpu']}, {meta['cores']} cores; {meta['rustc']}; release profile. Medians of criterion samples; "
    "**ratio = wspc time / peer time** (below 1: wspc is faster). The machine is shared and noisy: "
    "compare ratios within this run. Peers: tungstenite 0.30 (blocking, in-memory stream, read buffer as given), "
    "fastwebsockets 0.10 (`FragmentCollector`, which checks UTF-8 and assembles; its read buffer is fixed).",
    "",
]
if mode == "quick":
    md += ["**Quick mode** (a smoke test, 0.2 s per benchmark): numbers are indicative only.", ""]

md += ["## Receive (server: unmask, check UTF-8, deliver)", "",
       "| payload | size | buffer | wspc per msg | wspc GB/s | tungstenite per msg | fastwebsockets per msg | ratio vs tungstenite | ratio vs fastwebsockets |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for kind in ["binary", "ascii", "nonascii"]:
    for size in [16, 125, 1024, 65536, 1 << 20]:
        g = f"receive/{kind}/{size}"
        n = count_for(size)
        f = get(g, "fastwebsockets", "default")
        for buf in ["4096", "65536"]:
            w, t = get(g, "wspc", buf), get(g, "tungstenite", buf)
            if not w:
                continue
            md.append(row(f"{kind} | {size} | {buf}", w, t, f, n))
md += ["", "## Send (client: mask, frame, write)", "",
       "Two rows for wspc: `loop` is the Windows flow (`send`, then `get_action`/`complete_action` until the "
       "queue is idle: six calls per message, the payload handed over as a `Vec`), `send_into` the Rust API's "
       "one call per message that frames straight into the caller's buffer.", "",
       "| payload | size | wspc path | wspc per msg | wspc GB/s | tungstenite per msg | fastwebsockets per msg | ratio vs tungstenite | ratio vs fastwebsockets |",
       "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
for kind in ["binary", "ascii", "nonascii"]:
    for size in [16, 125, 1024, 65536, 1 << 20]:
        g = f"send/{kind}/{size}"
        n = count_for(size)
        t, f = get(g, "tungstenite"), get(g, "fastwebsockets")
        for path, bench_id in [("loop", "wspc"), ("send_into", "wspc_send_into")]:
            w = get(g, bench_id)
            if w:
                md.append(row(f"{kind} | {size} | {path}", w, t, f, n))
md += ["", "## Round trip, handshake", "", "| workload | wspc | tungstenite | fastwebsockets | ratio vs tungstenite | ratio vs fastwebsockets |",
       "|---|---:|---:|---:|---:|---:|"]
w, t, f = get("round_trip/16", "wspc"), get("round_trip/16", "tungstenite"), get("round_trip/16", "fastwebsockets")
if w:
    md.append(f"| 100 000 × 16 B client → server → client, per message | {fmt_t(per_msg(w, 100_000))} | "
              f"{per_msg_or_dash(t, 100_000)} | {per_msg_or_dash(f, 100_000)} | {ratio(w, t)} | {ratio(w, f)} |")
w, t = get("handshake/accept", "wspc"), get("handshake/accept", "tungstenite")
if w:
    md.append(f"| server upgrade: parse a browser's request, answer 101 | {fmt_t(w['median_ns'])} | "
              f"{fmt_t(t['median_ns']) if t else '—'} | n/a | {ratio(w, t)} | — |")
md += ["", "## Drivers in memory (tokio echo servers, per message)", "",
       "The echo servers of the loopback benchmark below, each on one end of a `tokio::io::duplex` pipe on a "
       "single-threaded runtime, a raw client on the other sending binary messages one at a time: what each driver costs "
       "in user space per echoed message (its engine, its buffers, its wakers, the runtime), without the kernel time that "
       "dominates over loopback. With 500 connections the messages go to them in turn, so that each finds its "
       "connection's state (and the memory a server keeps per connection) gone cold, as a server with many clients does.", "",
       "| connections | payload | wspc | fastwebsockets | tokio-tungstenite | ratio vs fastwebsockets | ratio vs tokio-tungstenite |",
       "|---:|---:|---:|---:|---:|---:|---:|"]
for conns, size in [(1, 20), (1, 1024), (1, 16384), (500, 20), (500, 16384)]:
    g = f"driver/{size}" if conns == 1 else f"driver/{conns}x{size}"
    w, f, t = get(g, "wspc"), get(g, "fastwebsockets"), get(g, "tokio-tungstenite")
    if w:
        md.append(f"| {conns} | {size} | {fmt_t(w['median_ns'])} | {per_msg_or_dash(f, 1)} | {per_msg_or_dash(t, 1)} | "
                  f"{ratio(w, f)} | {ratio(w, t)} |")
md += ["", "## Masking kernel", "", f"The kernel this CPU runs: {kernels['mask']}.", "", "| where | memcpy GB/s | `mask_copy` GB/s | `apply_mask` GB/s | `mask_copy` / memcpy throughput |",
       "|---|---:|---:|---:|---:|"]
for place, label in [("l1", "L1 (4 KiB)"), ("dram", "DRAM (64 MiB)")]:
    m, c, a = get(f"mask/{place}", "memcpy"), get(f"mask/{place}", "wspc_mask_copy"), get(f"mask/{place}", "wspc_apply_mask")
    if m and c and a:
        md.append(f"| {label} | {gbps(m):.1f} | {gbps(c):.1f} | {gbps(a):.1f} | {gbps(c) / gbps(m):.2f} |")
md += ["", "## UTF-8 validation alone (the non-ASCII text)", "",
       f"wspc's validator runs its AVX-512 kernel on this CPU: {'yes' if kernels['utf8'] == 'avx512' else 'no (it falls back to simdutf8)'}.", "",
       "| size | wspc GB/s | simdutf8 `basic` GB/s | std GB/s | wspc / simdutf8 throughput |",
       "|---:|---:|---:|---:|---:|"]
for size in [4096, 1 << 20]:
    w, u, s = get(f"utf8/{size}", "wspc"), get(f"utf8/{size}", "simdutf8"), get(f"utf8/{size}", "std")
    if w and u and s:
        md.append(f"| {size} | {gbps(w):.1f} | {gbps(u):.1f} | {gbps(s):.1f} | {gbps(w) / gbps(u):.2f} |")
echo_rows = [json.loads(l) for l in open("reports/bench/echo.jsonl") if l.strip()] if os.path.exists("reports/bench/echo.jsonl") else []
if echo_rows:
    import statistics
    servers = []
    for r in echo_rows:
        if r["server"] not in servers:
            servers.append(r["server"])
    keys = []
    for r in echo_rows:
        k = (r["connections"], r["payload"])
        if k not in keys:
            keys.append(k)
    med = {}
    for k in keys:
        for sv in servers:
            rs = [r for r in echo_rows if (r["connections"], r["payload"]) == k and r["server"] == sv]
            if rs:
                med[(k, sv)] = {f: statistics.median(r.get(f, 0) for r in rs) for f in ("msg_per_s", "cpu_us_per_msg", "user_us_per_msg", "rss_kb_per_conn")}
                med[(k, sv)]["rounds"] = len(rs)
    md += ["", "## Echo over loopback", "",
           "Each server on one core, our load generator (`loadgen`, after uWebSockets' `load_test`: every connection keeps one masked "
           "binary message in flight) on the other; medians over rounds, servers interleaved and their order rotated per round. "
           "CPU is the server's user + system time over the run (from /proc) divided by the messages echoed; user is the user-space "
           "part alone: the server's own code, where the system part is the kernel's work for the same reads and writes (all these "
           "servers make one read and one write per message, counted with `strace -c`) and the noisier of the two. RSS per connection "
           "is the server's resident memory during the run minus before it, over the connections; \"before\" follows a one-second "
           "warm-up connection, so that what a server faults in once (code pages) is not counted per connection. On 2 cores the small rows are "
           "bound by the load generator, so CPU per message is what ranks servers there. `tokio-floor` is not a library but the "
           "floor under the tokio servers: the same skeleton (runtime, task per connection) with a hand-written echo that only "
           "unmasks each frame in a buffer all its connections share and writes it back, checking nothing "
           "(`core/bench/src/bin/echo_floor.rs`): about the least any server on tokio can do per message. What a tokio server spends above "
           "it is its library's share.", "",
           "| connections × payload | server | msg/s | CPU µs/msg | user µs/msg | RSS KiB/conn | rounds | wspc msg/s ÷ this | wspc CPU ÷ this | wspc user ÷ this |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k in keys:
        w = med.get((k, "wspc"))
        for sv in servers:
            m = med.get((k, sv))
            if not m:
                continue
            rel = (f"{w['msg_per_s'] / m['msg_per_s']:.2f} | {w['cpu_us_per_msg'] / m['cpu_us_per_msg']:.2f} | "
                   + (f"{w['user_us_per_msg'] / m['user_us_per_msg']:.2f}" if m["user_us_per_msg"] else "—")
                   if w and sv != "wspc" and m["msg_per_s"] and m["cpu_us_per_msg"] else "— | — | —")
            md.append(f"| {k[0]} × {k[1]} B | {sv} | {m['msg_per_s']:,.0f} | {m['cpu_us_per_msg']:.1f} | {m['user_us_per_msg']:.2f} | "
                      f"{m['rss_kb_per_conn']:.1f} | {m['rounds']} | {rel} |")
    # The chart's data: msg/s per row and server.
    with open("reports/bench/echo.dat", "w") as f:
        f.write("row " + " ".join(servers) + "\n")
        for k in keys:
            f.write(f"{k[0]}x{k[1]}B " + " ".join(f"{med.get((k, sv), {}).get('msg_per_s', 0):.0f}" for sv in servers) + "\n")
    md += ["", "![echo msg/s per row and server](echo.png)", ""]
if os.path.exists("reports/bench/echo-loadtest.jsonl"):
    lt = [json.loads(l) for l in open("reports/bench/echo-loadtest.jsonl") if l.strip()]
    if lt:
        lt_servers = list(dict.fromkeys(r["server"] for r in lt))
        lt_rows = list(dict.fromkeys((r["connections"], r["payload"]) for r in lt))
        got = {((r["connections"], r["payload"]), r["server"]): r["msg_per_s"] for r in lt}
        md += ["", "### The same servers under uWebSockets' own `load_test`", "",
               "One run of 9 s per row and server (after the rounds above), the better of its two 4-second samples; "
               "msg/s only (no CPU or RSS). A second, independent load generator for the same ranking.", "",
               "| connections × payload | " + " | ".join(lt_servers) + " |",
               "|---|" + "---:|" * len(lt_servers)]
        for k in lt_rows:
            md.append(f"| {k[0]} × {k[1]} B | " + " | ".join(f"{got.get((k, sv), 0):,}" for sv in lt_servers) + " |")
if os.path.exists("reports/bench/memory.jsonl"):
    mem = [json.loads(l) for l in open("reports/bench/memory.jsonl") if l.strip()]
    md += ["", "## Memory of an idle connection", "",
           "Heap bytes allocated for one connection with default settings, opened and idle (the counting allocator of the "
           "test kit; `core/bench/src/bin/memory.rs`).", "", "| connection | heap bytes |", "|---|---:|"]
    md += [f"| {m['library']} | {m['idle_heap_bytes']:,} |" for m in mem if "library" in m]
    conns = [m for m in mem if "server" in m]
    if conns:
        md += ["", "Heap bytes per connection of the echo servers (the same servers as over loopback), 100 connections "
               "over in-memory pipes, each upgraded and with one message echoed: what a server keeps per connection "
               "(the pipes' buffers and the clients' ends are counted too, the same for every server).", "",
               "| payload | " + " | ".join(dict.fromkeys(m["server"] for m in conns)) + " |",
               "|---:|" + "---:|" * len(dict.fromkeys(m["server"] for m in conns))]
        for size in dict.fromkeys(m["payload"] for m in conns):
            cells = [f"{m['heap_bytes_per_conn']:,}" for m in conns if m["payload"] == size]
            md.append(f"| {size} | " + " | ".join(cells) + " |")
md += ["", "## Commands", "", "```sh", f"scripts/bench.sh {mode}",
       "cargo bench -p wspc-bench --bench inmemory -- 'receive/binary/16'   # one group", "```", ""]
open("reports/bench/SUMMARY.md", "w").write("\n".join(md))
print(f"bench: {len(rows)} benchmarks; reports/bench/SUMMARY.md written")
EOF

# The chart of the echo matrix (gnuplot, installed if missing).
if [ -s reports/bench/echo.dat ]; then
    if ! command -v gnuplot >/dev/null; then
        say "installing gnuplot (for the chart)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox) >/dev/null 2>&1 || true
    fi
    if command -v gnuplot >/dev/null; then
        servers=$(head -1 reports/bench/echo.dat | wc -w)
        gnuplot <<GP
set terminal png size 1000,500
set output 'reports/bench/echo.png'
set title 'Echo over loopback: messages per second (higher is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right autotitle columnhead
set ylabel 'msg/s'
set yrange [0:*]
set grid ytics
plot for [i=2:$servers] 'reports/bench/echo.dat' using i:xtic(1)
GP
        say "chart: reports/bench/echo.png"
    else
        say "no gnuplot: chart skipped"
    fi
fi
say "done in $((SECONDS - start)) s"
