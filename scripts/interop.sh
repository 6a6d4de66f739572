#!/usr/bin/env bash
# Interop: the wspc echo servers and clients against real peers nobody here wrote.
#
#   scripts/interop.sh          install the peers if needed, build, run every row, write the report
#   scripts/interop.sh setup    only install the peers into the cache
#
# What it installs (once, outside the repository, under $WSPC_CACHE/interop, default
# ~/.cache/wspc/interop; a later run reuses them if the versions match):
#   venv/   a Python venv with websockets==17.4 from PyPI (python3 -m venv; pip)
#   node/   Node ws@8.23.0 from the npm registry (npm install into that directory)
# If python3 (with venv), node or npm is missing it installs the Debian packages (apt-get).
#
# What it runs, after `cargo build --release --features tokio -p wspc --examples`:
#   1. The examples echo_server (blocking driver `wspc::io`) and tokio_echo_server (`wspc::tokio`),
#      each on a free loopback port, and against EACH of them the peers
#      scripts/interop/py_client.py (websockets asyncio client) and scripts/interop/node_client.js
#      (ws client), each running the rows
#        16mib-send-before-read  one 16 MiB binary message sent whole before reading; the echo is
#                                equal, one message (and, for websockets, one frame)
#        deflate-offered         the peer offers permessage-deflate with its defaults; a text echoes
#                                (wspc declines the extension)
#        text-nonascii           1 MiB of "é€😀" text echoed equal
#        small-messages          1000 pipelined text/binary messages of 0-125 bytes, in order
#        ping-pong               a ping with a payload gets its pong
#        close-code              the peer closes with 4001 "bye"; the server's close echoes 4001
#        concurrent              50 clients x 200 pipelined messages from one peer process
#      (no compression and no message-size cap in the peers except where stated), each row bounded
#      by $WSPC_INTEROP_ROW_TIMEOUT seconds (default 60), then the row
#        no-errors               the server still runs and its log has no connection ending in an error
#   2. A websockets echo server (scripts/interop/py_echo_server.py) and a ws echo server
#      (scripts/interop/node_echo_server.js), and against each the examples client and
#      tokio_client (text, binary, ping, close; exit 0), row `example`.
# Every row prints `PASS|FAIL <wspc side> <peer> <row> (<detail>)`. The report is
# reports/interop/SUMMARY.md (date, versions, commit, the rows), ending `N passed, M failed`; the
# script exits 1 if any row failed. Processes' logs of the last run: $WSPC_CACHE/interop/last-run/.
#
# Environment:
#   WSPC_CACHE                 cache root (default ~/.cache/wspc)
#   WSPC_INTEROP_ROW_TIMEOUT   bound for each row, whole seconds (default 60)
#   CARGO_TARGET_DIR           as for cargo (the binaries are found through `cargo metadata`)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MODE=${1:-run}
case "$MODE" in
run | setup) ;;
*)
    echo "usage: $0 [setup]" >&2
    exit 2
    ;;
esac

WEBSOCKETS_VERSION=17.4
WS_VERSION=8.23.0
CACHE=${WSPC_CACHE:-${HOME:-/tmp}/.cache/wspc}/interop
ROW_TIMEOUT=${WSPC_INTEROP_ROW_TIMEOUT:-60}
REPORTS=reports/interop
LOGS=$CACHE/last-run
VENV=$CACHE/venv
NODE_DIR=$CACHE/node
PEER_ROWS=(16mib-send-before-read deflate-offered text-nonascii small-messages ping-pong close-code concurrent)

log() { printf '[interop] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Processes this script started, stopped on exit by their ids.
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ----- the peers ------------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || die "need $*, and there is no apt-get to install it"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    if [ "$APT_UPDATED" = 0 ]; then
        "${sudo[@]}" apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
}

install_python_peer() {
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c \
        "import sys, websockets; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" 2>/dev/null; then
        return 0
    fi
    command -v python3 >/dev/null || apt_install python3 python3-venv
    log "installing websockets==$WEBSOCKETS_VERSION into $VENV"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's python3 lacks ensurepip without python3-venv.
        rm -rf "$VENV"
        apt_install python3-venv
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "websockets==$WEBSOCKETS_VERSION"
}

ws_installed() { node -p "require('$NODE_DIR/node_modules/ws/package.json').version" 2>/dev/null || true; }

install_node_peer() {
    if command -v node >/dev/null && [ "$(ws_installed)" = "$WS_VERSION" ]; then
        return 0
    fi
    command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
    log "installing ws@$WS_VERSION into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    # A package.json of its own, so that npm installs here and not into a parent directory.
    [ -f "$NODE_DIR/package.json" ] || echo '{ "private": true }' >"$NODE_DIR/package.json"
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent "ws@$WS_VERSION" >/dev/null
    [ "$(ws_installed)" = "$WS_VERSION" ] || die "ws $WS_VERSION did not install (found '$(ws_installed)')"
}

mkdir -p "$CACHE"
install_python_peer
install_node_peer
PY_VERSION=$("$VENV/bin/python" -c 'import platform; print(platform.python_version())')
WEBSOCKETS_USED=$("$VENV/bin/python" -c 'import websockets; print(websockets.__version__)')
NODE_VERSION=$(node --version)
WS_USED=$(ws_installed)
log "peers: Python websockets $WEBSOCKETS_USED (Python $PY_VERSION), Node ws $WS_USED (Node $NODE_VERSION)"
[ "$MODE" = setup ] && exit 0

# ----- the wspc examples ----------------------------------------------------------------------

log "building the examples"
cargo build --release --features tokio -p wspc --examples
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/examples
for b in echo_server tokio_echo_server client tokio_client; do
    [ -x "$BIN/$b" ] || die "$BIN/$b was not built"
done

T0=$SECONDS
rm -rf "$LOGS"
mkdir -p "$LOGS" "$REPORTS"
RESULTS=$LOGS/results.txt
: >"$RESULTS"

# Start a server that prints `listening on ws://ADDR` on its first line; sets SERVER_PID and
# SERVER_ADDR. Usage: start_server NAME COMMAND...
start_server() {
    local name=$1 i
    shift
    # Create the log before the server starts: the background job opens it asynchronously, and the
    # poll below must not race that open.
    : >"$LOGS/$name.log"
    "$@" >>"$LOGS/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    SERVER_ADDR=
    for ((i = 0; i < 200; i++)); do
        SERVER_ADDR=$(sed -n 's#.*listening on ws://\([^ /]*\).*#\1#p' "$LOGS/$name.log" 2>/dev/null | head -n1)
        [ -n "$SERVER_ADDR" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$LOGS/$name.log" >&2 || true
    die "$name did not start listening"
}

# One result row, printed and recorded. Usage: row PASS|FAIL SIDE PEER ROW DETAIL
row() {
    local line="$1 $2 $3 $4 ($5)"
    echo "$line"
    echo "$line" >>"$RESULTS"
}

# Run a peer client's rows against a wspc server; a row the peer did not report is a FAIL.
# Usage: run_peer SIDE PEER URL COMMAND...
run_peer() {
    local side=$1 peer=$2 url=$3 out status r
    shift 3
    out=$LOGS/$side-$peer.out
    set +e
    timeout -k 5 $((ROW_TIMEOUT * ${#PEER_ROWS[@]} + 60)) "$@" "$url" "$side" "${PEER_ROWS[@]}" \
        2>"$LOGS/$side-$peer.err" | tee -a "$RESULTS" | tee "$out"
    status=${PIPESTATUS[0]}
    set -e
    for r in "${PEER_ROWS[@]}"; do
        grep -q "^[A-Z]* $side $peer $r " "$out" ||
            row FAIL "$side" "$peer" "$r" "no result: the peer exited with status $status; $(tail -n 3 "$LOGS/$side-$peer.err" | tr '\n' ' ')"
    done
}

# ----- 1. wspc echo servers, peer clients -----------------------------------------------------

for server in echo_server tokio_echo_server; do
    start_server "$server" "$BIN/$server" 127.0.0.1:0
    pid=$SERVER_PID
    url=ws://$SERVER_ADDR/
    log "$server on $url"
    run_peer "$server" python-websockets "$url" "$VENV/bin/python" scripts/interop/py_client.py
    run_peer "$server" node-ws "$url" env NODE_PATH="$NODE_DIR/node_modules" node scripts/interop/node_client.js
    # The server logs `PEER: closed` for a connection that ended well, `PEER: ERROR` otherwise.
    ended=$(grep -cE '^[0-9.]+:[0-9]+: ' "$LOGS/$server.log" || true)
    errors=$(grep -E '^[0-9.]+:[0-9]+: ' "$LOGS/$server.log" | grep -vc ': closed$' || true)
    if ! kill -0 "$pid" 2>/dev/null; then
        row FAIL "$server" all-peers no-errors "the server exited; log tail: $(tail -n 3 "$LOGS/$server.log" | tr '\n' ' ')"
    elif [ "$errors" != 0 ]; then
        row FAIL "$server" all-peers no-errors "$errors of $ended connections ended in an error, first: $(grep -E '^[0-9.]+:[0-9]+: ' "$LOGS/$server.log" | grep -v ': closed$' | head -n1)"
    else
        row PASS "$server" all-peers no-errors "still running; all $ended connections ended cleanly"
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done

# ----- 2. peer echo servers, wspc clients -----------------------------------------------------

for peer in python-websockets node-ws; do
    case $peer in
    python-websockets) start_server "$peer-server" "$VENV/bin/python" scripts/interop/py_echo_server.py ;;
    node-ws) start_server "$peer-server" env NODE_PATH="$NODE_DIR/node_modules" node scripts/interop/node_echo_server.js ;;
    esac
    pid=$SERVER_PID
    log "$peer echo server on ws://$SERVER_ADDR/"
    for client in client tokio_client; do
        out=$LOGS/$client-$peer.out
        set +e
        timeout -k 5 30 "$BIN/$client" "$SERVER_ADDR" >"$out" 2>&1
        status=$?
        set -e
        missing=()
        for want in 'text: hello from wspc' 'binary: [1, 2, 3, 4, 5]' 'pong: "are you there?"'; do
            grep -qxF "$want" "$out" || missing+=("'$want'")
        done
        if [ "$status" = 0 ] && [ ${#missing[@]} = 0 ]; then
            row PASS "$client" "$peer" example "exit 0; text, binary and pong came back; closed"
        else
            row FAIL "$client" "$peer" example "exit $status; missing ${missing[*]:-nothing}; output: $(tr '\n' ' ' <"$out" | cut -c1-300)"
        fi
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done

# ----- the report -----------------------------------------------------------------------------

ELAPSED=$((SECONDS - T0))
PASSED=$(grep -c '^PASS ' "$RESULTS" || true)
FAILED=$(grep -c '^FAIL ' "$RESULTS" || true)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && DIRTY=" (the work tree had uncommitted changes)"
{
    echo "# Interop: wspc against independent peers"
    echo
    echo "Written by \`scripts/interop.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), in ${ELAPSED} s after the build."
    echo
    echo "- wspc commit: \`$COMMIT\`$DIRTY; examples built with \`cargo build --release --features tokio -p wspc --examples\` ($(rustc --version 2>/dev/null || echo rustc))"
    echo "- peers: Python \`websockets\` $WEBSOCKETS_USED (asyncio client and server, Python $PY_VERSION); Node \`ws\` $WS_USED (Node $NODE_VERSION)"
    echo "- peers run without compression and without a message-size cap (websockets \`compression=None, max_size=None\`, ws \`perMessageDeflate: false, maxPayload: 0\`), except \`deflate-offered\`, which offers permessage-deflate with the peer's defaults"
    echo "- each peer row is bounded by ${ROW_TIMEOUT} s"
    echo
    echo "Rows: \`16mib-send-before-read\` one 16 MiB binary message sent whole before reading, echoed equal as one message (websockets: one frame, via \`recv_streaming()\`); \`deflate-offered\` permessage-deflate offered, a text echoed; \`text-nonascii\` 1 MiB of \"é€😀\"; \`small-messages\` 1000 pipelined text/binary messages of 0–125 bytes, in order; \`ping-pong\` a ping with a payload gets its pong; \`close-code\` the peer closes with 4001 \"bye\" and the server's close echoes 4001; \`concurrent\` 50 clients × 200 pipelined messages; \`no-errors\` the server survived and logged no connection ending in an error; \`example\` the wspc example client against the peer's echo server exits 0 with its text, binary and pong back."
    echo
    echo "| wspc side | peer | row | result | detail |"
    echo "|---|---|---|---|---|"
    while read -r verdict side peer name detail; do
        detail=${detail#(}
        detail=${detail%)}
        echo "| $side | $peer | $name | $verdict | ${detail//|/\\|} |"
    done <"$RESULTS"
    echo
    echo "$PASSED passed, $FAILED failed"
} >"$REPORTS/SUMMARY.md"

log "report: $REPORTS/SUMMARY.md; logs: $LOGS"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
