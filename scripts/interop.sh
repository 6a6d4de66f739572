#!/usr/bin/env bash
# Interop: the wspc echo servers and clients against real peers nobody here wrote.
#
#   scripts/interop.sh          install the peers if needed, build, run every row, write the report
#   scripts/interop.sh setup    only install the peers (into the cache; Chromium with apt-get)
#
# What it installs (once, outside the repository, under $WSPC_CACHE/interop, default
# ~/.cache/wspc/interop; a later run reuses them if the versions match):
#   venv/   a Python venv with websockets==17.4 from PyPI (python3 -m venv; pip)
#   node/   Node ws@8.23.0 from the npm registry (npm install into that directory)
# If python3 (with venv), node or npm is missing it installs the Debian packages (apt-get); if
# /usr/bin/chromium is missing, the Debian package chromium (whatever version apt offers; the
# report records it).
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
#      by $WSPC_INTEROP_ROW_TIMEOUT seconds (default 60); then headless Chromium, whose
#      rows are run by a page (scripts/interop/chromium_page.html and .js) with the browser's own
#      WebSocket, each on its own connection:
#        subprotocol-offered     new WebSocket(url, ['chat']): the server selects none (its default
#                                options speak none) and Chromium, which requires an answer to an
#                                offer, fails that handshake (the reason confirmed in Chromium's
#                                net log); without an offer ws.protocol is '' and a text echoes
#        text-ascii              64 KiB of all 128 ASCII code points echoed equal
#        text-nonascii           1 MiB of text with the edges of every UTF-8 length and astral-plane
#                                emoji echoed equal
#        binary-0 ... binary-16mib  one binary message of 0, 1, 125, 126, 65535, 65536 B, 1 MiB and
#                                16 MiB echoed equal (ArrayBuffer compare)
#        small-messages          1000 pipelined text/binary messages of 0-125 bytes, in order
#        close-code              ws.close(4001, reason): onclose sees code 4001 and wasClean true
#        deflate-offered         Chromium offers permessage-deflate (confirmed in its net log);
#                                ws.extensions is '' (declined); a text and a binary echo
#      (a page can neither send pings nor choose how messages are fragmented: no rows for those).
#      How the verdict gets out: `chromium --headless --dump-dom PAGE_URL` prints the DOM once the
#      page's load event has fired, and the page, served from 127.0.0.1 by
#      scripts/interop/chromium_page_server.py, holds that event back with a frame the server
#      answers only when the page, its rows done and written into the DOM, asks it to.
#      (--virtual-time-budget does not do: virtual time runs out while real socket I/O is
#      pending.) The page's rows share a budget of 40 s (CHROMIUM_BUDGET); a row missing from the
#      dump is a FAIL. Then the row
#        no-errors               the server still runs and its log has no connection ending in an
#                                error (the browser's connections included; the one Chromium drops
#                                after the 101 in subprotocol-offered ends as `closed`: the drivers
#                                count a peer that ends the stream as closed)
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
CHROMIUM=/usr/bin/chromium
CHROMIUM_ROWS=(subprotocol-offered text-ascii text-nonascii binary-0 binary-1 binary-125 binary-126
    binary-65535 binary-65536 binary-1mib binary-16mib small-messages close-code deflate-offered)
# Seconds: all of the page's rows together; the page server's hold backstop; Chromium's bound.
CHROMIUM_BUDGET=40
CHROMIUM_HOLD_LIMIT=45
CHROMIUM_BOUND=55

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

install_chromium() {
    [ -x "$CHROMIUM" ] && return 0
    apt_install chromium
    [ -x "$CHROMIUM" ] || die "the Debian package chromium did not install $CHROMIUM"
}

mkdir -p "$CACHE"
install_python_peer
install_node_peer
install_chromium
PY_VERSION=$("$VENV/bin/python" -c 'import platform; print(platform.python_version())')
WEBSOCKETS_USED=$("$VENV/bin/python" -c 'import websockets; print(websockets.__version__)')
NODE_VERSION=$(node --version)
WS_USED=$(ws_installed)
# "Chromium 156.0.8078.108 built on Debian GNU/Linux 12 (bookworm)"; Debian's wrapper script
# may complain on stderr.
CHROMIUM_VERSION=$("$CHROMIUM" --version 2>/dev/null | head -n1)
[ -n "$CHROMIUM_VERSION" ] || die "$CHROMIUM --version printed nothing"
log "peers: Python websockets $WEBSOCKETS_USED (Python $PY_VERSION), Node ws $WS_USED (Node $NODE_VERSION), $CHROMIUM_VERSION"
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

# Start a server that prints `listening on ws://ADDR` (or http://) on its first line; sets
# SERVER_PID and SERVER_ADDR. Usage: start_server NAME COMMAND...
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
        SERVER_ADDR=$(sed -n 's#.*listening on [a-z]*://\([^ /]*\).*#\1#p' "$LOGS/$name.log" 2>/dev/null | head -n1)
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

# A PASS row of the Chromium page stays PASS only if Chromium's net log shows what the page
# cannot see (the request's headers, the reason a handshake failed); prints the row with NOTE
# added to its detail, or turned into a FAIL. Usage: netlog_confirm LINE NETLOG FIXED_STRING NOTE
netlog_confirm() {
    local line=$1 netlog=$2 want=$3 note=$4 rest
    if grep -qF -- "$want" "$netlog" 2>/dev/null; then
        echo "${line%)}; $note)"
    else
        rest=${line#PASS }
        echo "FAIL ${rest%)}; but Chromium's net log lacks \"$want\")"
    fi
}

# Headless Chromium loads the page, which runs CHROMIUM_ROWS against a wspc server with the
# browser's WebSocket; the rows come out of the dumped DOM, and a missing row is a FAIL.
# Usage: run_chromium SIDE WS_URL
run_chromium() {
    local side=$1 url=$2 base=$LOGS/$1-chromium t0=$SECONDS rows page profile status line r state error
    rows=$(
        IFS=,
        echo "${CHROMIUM_ROWS[*]}"
    )
    page="http://$PAGE_ADDR/chromium_page.html?side=$side&run=$side&rows=$rows&timeout=$ROW_TIMEOUT&budget=$CHROMIUM_BUDGET&ws=$url"
    profile=$(mktemp -d)
    set +e
    timeout -k 5 "$CHROMIUM_BOUND" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --log-net-log="$base.netlog.json" --dump-dom "$page" \
        >"$base.dom.html" 2>"$base.err"
    status=$?
    set -e
    rm -rf "$profile"
    # Tags become line breaks and entities characters again; what is left are the page's lines.
    sed -e 's/<[^>]*>/\n/g' "$base.dom.html" | sed -e 's/&lt;/</g; s/&gt;/>/g; s/&nbsp;/ /g; s/&amp;/\&/g' |
        grep -E "^(PASS|FAIL) $side chromium [^ ]+ \(.*\)$" >"$base.rows" || true
    while IFS= read -r line; do
        case $line in
        "PASS $side chromium subprotocol-offered "*)
            line=$(netlog_confirm "$line" "$base.netlog.json" \
                "Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received" \
                "Chromium's net log gives the reason: \"Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received\"")
            ;;
        "PASS $side chromium deflate-offered "*)
            line=$(netlog_confirm "$line" "$base.netlog.json" "Sec-WebSocket-Extensions: permessage-deflate" \
                "the offer in Chromium's net log: '$(grep -o 'Sec-WebSocket-Extensions: [^"\\]*' "$base.netlog.json" | head -n1)'")
            ;;
        esac
        echo "$line"
    done <"$base.rows" | tee -a "$RESULTS" | tee "$base.out"
    state=$(sed -n 's#.*<p id="state">\(.*\)</p>.*#\1#p' "$base.dom.html" | head -n1)
    error=$(sed -n 's#.*<p id="error">\(.*\)</p>.*#\1#p' "$base.dom.html" | head -n1)
    for r in "${CHROMIUM_ROWS[@]}"; do
        grep -q "^[A-Z]* $side chromium $r " "$base.out" ||
            row FAIL "$side" chromium "$r" "no result: chromium exited with status $status; the page's state '${state:-no dump}'${error:+, error '$error'}"
    done
    log "chromium against $side: $((SECONDS - t0)) s"
}

# ----- 1. wspc echo servers, peer clients -----------------------------------------------------

# The Chromium page's server, for both echo servers.
start_server chromium-page-server "$VENV/bin/python" scripts/interop/chromium_page_server.py 127.0.0.1:0 "$CHROMIUM_HOLD_LIMIT"
PAGE_PID=$SERVER_PID
PAGE_ADDR=$SERVER_ADDR
log "chromium page on http://$PAGE_ADDR/chromium_page.html"

for server in echo_server tokio_echo_server; do
    start_server "$server" "$BIN/$server" 127.0.0.1:0
    pid=$SERVER_PID
    url=ws://$SERVER_ADDR/
    log "$server on $url"
    run_peer "$server" python-websockets "$url" "$VENV/bin/python" scripts/interop/py_client.py
    run_peer "$server" node-ws "$url" env NODE_PATH="$NODE_DIR/node_modules" node scripts/interop/node_client.js
    run_chromium "$server" "$url"
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
kill "$PAGE_PID" 2>/dev/null || true
wait "$PAGE_PID" 2>/dev/null || true

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
    echo "- peers: Python \`websockets\` $WEBSOCKETS_USED (asyncio client and server, Python $PY_VERSION); Node \`ws\` $WS_USED (Node $NODE_VERSION); $CHROMIUM_VERSION, headless, its own \`WebSocket\` in a page served from 127.0.0.1"
    echo "- peers run without compression and without a message-size cap (websockets \`compression=None, max_size=None\`, ws \`perMessageDeflate: false, maxPayload: 0\`), except \`deflate-offered\`, which offers permessage-deflate with the peer's defaults; Chromium offers permessage-deflate on every connection (a page cannot turn that off)"
    echo "- each peer row is bounded by ${ROW_TIMEOUT} s; Chromium's rows together by ${CHROMIUM_BUDGET} s"
    echo
    echo "Rows: \`16mib-send-before-read\` one 16 MiB binary message sent whole before reading, echoed equal as one message (websockets: one frame, via \`recv_streaming()\`); \`deflate-offered\` permessage-deflate offered, a text echoed; \`text-nonascii\` 1 MiB of \"é€😀\"; \`small-messages\` 1000 pipelined text/binary messages of 0–125 bytes, in order; \`ping-pong\` a ping with a payload gets its pong; \`close-code\` the peer closes with 4001 \"bye\" and the server's close echoes 4001; \`concurrent\` 50 clients × 200 pipelined messages; \`no-errors\` the server survived and logged no connection ending in an error; \`example\` the wspc example client against the peer's echo server exits 0 with its text, binary and pong back."
    echo
    echo "Chromium's rows (a page with the browser's \`WebSocket\`, verdict read from \`chromium --headless --dump-dom\`; a page can neither ping nor choose fragmentation, so no rows for those): \`subprotocol-offered\` \`new WebSocket(url, ['chat'])\`: the server selects none (the examples' default options speak no subprotocol) and Chromium fails a handshake whose offer got no answer (its reason checked in its net log); without an offer \`ws.protocol\` is '' and a text echoes; \`text-ascii\` 64 KiB of all 128 ASCII code points; \`text-nonascii\` 1 MiB of text with the edges of each UTF-8 length and astral-plane emoji; \`binary-N\` one binary message of N bytes (0, 1, 125, 126, 65535, 65536, 1 MiB, 16 MiB) echoed equal; \`small-messages\` 1000 pipelined text/binary messages of 0–125 bytes, in order; \`close-code\` \`ws.close(4001, reason)\`: \`onclose\` sees 4001 and \`wasClean\`; \`deflate-offered\` Chromium's permessage-deflate offer (checked in its net log) declined: \`ws.extensions\` is '' and data echoes."
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
