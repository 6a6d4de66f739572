#!/usr/bin/env bash
# Interop: the wspc echo servers and clients against real peers nobody here wrote, and the clients
# against a hostile server that breaks the upgrade on purpose.
#
#   scripts/interop.sh          install the peers if needed, build, run every row, write the report
#   scripts/interop.sh setup    only install the peers (into the cache; Chromium with apt-get)
#
# What it installs (once, outside the repository, under $WSPC_CACHE/interop, default
# ~/.cache/wspc/interop; a later run reuses them if the versions match):
#   venv/   a Python venv with websockets==17.4 from PyPI (python3 -m venv; pip)
#   node/   Node ws@8.23.0 from the npm registry (npm install into that directory)
# If python3 (with venv), node or npm is missing it installs the Debian packages (apt-get); if no
# Chromium is found ($CHROMIUM, /usr/bin/chromium, chromium-browser, google-chrome), the Debian
# package chromium (whatever version apt offers; the report records it).
#
# What it runs, after `cargo build --release --features tokio -p wspc --examples` and
# `cargo build --release -p wspc-autobahn --bin interop_client`:
#   1. The examples echo_server (blocking driver `wspc::io`) and tokio_echo_server (`wspc::tokio`),
#      each on a free loopback port with `--subprotocol chat` (accepting permessage-deflate, the
#      drivers' default), each with a second instance started with `--no-deflate` (declining every
#      offer), and against EACH of them the peers scripts/interop/py_client.py (websockets asyncio
#      client) and scripts/interop/node_client.js (ws client), each running the rows
#        subprotocol             offers ['chat'] and ['nope', 'chat'] select 'chat', no offer selects
#                                none; ['nope'] is answered with no subprotocol (websockets then
#                                connects without one, ws refuses the handshake as browsers do)
#        text-ascii              64 KiB of all 128 ASCII code points echoed equal
#        text-nonascii           1 MiB of "é€😀" text echoed equal
#        text-split-codepoints   a 64 KiB text sent as 9 fragments whose 8 boundaries cut 2-, 3- and
#                                4-byte code points, echoed equal as one text
#        binary-sizes            binary of 0, 1, 125, 126, 65535, 65536 B, 1 MiB, 16 MiB, each on its
#                                own connection, echoed equal
#        fragmented              100 000 B sent as 5 fragments, echoed equal as one message
#        16mib-send-before-read  one 16 MiB binary message sent whole before reading; the echo is
#                                equal, one message (and, for websockets, one frame)
#        small-messages          1000 pipelined text/binary messages of 0-125 bytes, in order
#        ping-pong               a ping with a payload gets its pong
#        close-code              the peer closes with 4001 "bye"; the server's close echoes 4001
#        concurrent              50 clients x 200 pipelined messages from one peer process
#      (no compression: the peer offers none; no message-size cap in the peers), and the
#      compressed rows, where the peer offers permessage-deflate with its defaults:
#        deflate-accepted        the 101 agrees to permessage-deflate (websockets: the response's
#                                Sec-WebSocket-Extensions and its negotiated extension; ws: the
#                                header and ws.extensions); on that one connection 1 MiB of
#                                non-ASCII text and binary of 0, 1, 125, 65536 B, 1 MiB
#                                compressible, 1 MiB random and 16 MiB echo equal; the compressible
#                                MiB comes back in under a quarter of its size (websockets also
#                                sees RSV1 on every echo)
#        deflate-fragmented      a text in 9 fragments cut inside code points and a binary in 5
#                                fragments, compressed by the peer, each echoed equal as one message
#        deflate-small-messages  1000 pipelined messages of 0-125 B sharing most of their bytes,
#                                echoed equal and in order, in under half their size (the server's
#                                context taken over from message to message)
#        deflate-params          offered with server_no_context_takeover, client_no_context_takeover
#                                and server_max_window_bits=10: the 101 agrees to exactly those; a
#                                4 KiB random block x 4 comes back uncompressed in size (a 1 KiB
#                                window finds no repeat; a reference beyond it would fail the peer's
#                                10-bit inflater) and 200 small messages over half their size (no
#                                context takeover)
#        deflate-declined        against the --no-deflate instance: the offer gets no extension in
#                                the 101; text and binary echo
#      each row bounded by $WSPC_INTEROP_ROW_TIMEOUT seconds (default 60); then headless Chromium,
#      whose rows are run by a page (scripts/interop/chromium_page.html and .js) with the
#      browser's own WebSocket, each on its own connection (tagged `?row=NAME` in its URL).
#      Chromium offers permessage-deflate on every connection and the server accepts it, so these
#      rows run compressed, except deflate-declined:
#        subprotocol-offered     new WebSocket(url, ['chat']) and (url, ['nope', 'chat']):
#                                ws.protocol is 'chat' and a text echoes; (url, ['nope']): the
#                                server selects none and Chromium, which requires an answer to an
#                                offer, fails that handshake (the reason confirmed in Chromium's
#                                net log); without an offer ws.protocol is '' and a text echoes
#        text-ascii              64 KiB of all 128 ASCII code points echoed equal
#        text-nonascii           1 MiB of text with the edges of every UTF-8 length and astral-plane
#                                emoji echoed equal
#        binary-0 ... binary-16mib  one binary message of 0, 1, 125, 126, 65535, 65536 B, 1 MiB and
#                                16 MiB echoed equal (ArrayBuffer compare)
#        small-messages          1000 pipelined text/binary messages of 0-125 bytes, in order
#        close-code              ws.close(4001, reason): onclose sees code 4001 and wasClean true
#        deflate-offered         ws.extensions names permessage-deflate; 1 MiB of text, 1 MiB of
#                                compressible and 1 MiB of random binary echo; Chromium's net log
#                                shows the offer, the 101's agreement and RSV1 on every message the
#                                server sent
#        deflate-declined        against the --no-deflate instance: ws.extensions is ''; 1 MiB of
#                                text and of binary echo; the net log shows the offer, a 101
#                                without Sec-WebSocket-Extensions and no RSV1 either way
#      (a page can neither send pings nor choose how messages are fragmented: no rows for those),
#      and from the net log (scripts/interop/netlog_ws.py)
#        all-compressed          every connection to the deflating server that got a 101 agreed to
#                                permessage-deflate and received only compressed messages
#      How the verdict gets out: `chromium --headless --dump-dom PAGE_URL` prints the DOM once the
#      page's load event has fired, and the page, served from 127.0.0.1 by
#      scripts/interop/chromium_page_server.py, holds that event back with a frame the server
#      answers only when the page, its rows done and written into the DOM, asks it to.
#      (--virtual-time-budget does not do: virtual time runs out while real socket I/O is
#      pending.) The page's rows share a budget of 40 s (CHROMIUM_BUDGET); a row missing from the
#      dump is a FAIL. Then the row
#        no-errors               both instances of the server still run and their logs have no
#                                connection ending in an error (the browser's connections included;
#                                those Chromium and ws drop after the 101 of an unanswered offer end
#                                as `closed`: the drivers count a peer that ends the stream as closed)
#   2. A websockets echo server (scripts/interop/py_echo_server.py) and a ws echo server
#      (scripts/interop/node_echo_server.js), both speaking the subprotocol 'chat' if offered and
#      without compression, and against each the examples client and tokio_client (text, binary,
#      ping, close; exit 0), row `example`. A second instance of each runs with `--deflate`
#      (websockets' default compression="deflate"; ws's perMessageDeflate with a threshold of 0,
#      so that it compresses every echo) for the compressed rows below.
#   3. Against the same two echo servers, the matrix client (autobahn/src/bin/interop_client.rs)
#      as side `client` (blocking driver) and `tokio_client` (--tokio), running the rows
#        subprotocol             offers ['chat'] and ['nope', 'chat'] select 'chat', no offer selects
#                                none; ['nope'] is answered with none, which wspc refuses
#                                (SubprotocolNotSupported, its §9 Q10 decision)
#        text-ascii, text-nonascii, binary-sizes, small-messages (1000 sent before the first read),
#        16mib-send-before-read  as above, wspc sending
#        text-split-codepoints   the 9 fragments sent with the driver's send_piece
#        fragmented              100 000 B as 5 pieces (send_piece), echoed equal as one message
#        ping-pong               a ping with a payload is answered by a pong with that payload
#        close-code              wspc closes with 4001 "bye"; the peer's close echoes 4001, then the
#                                connection ends
#        deflate-declined        wspc offers permessage-deflate (its default); the server without
#                                compression selects none (permessage_deflate() is None) and data
#                                echoes, written uncompressed
#      and against the --deflate instance (bytes on the wire counted on the client's socket):
#        deflate-accepted        the 101's Sec-WebSocket-Extensions names permessage-deflate and
#                                permessage_deflate() is Some; 1 MiB of non-ASCII text, binary of
#                                0, 1, 125, 126, 65535, 65536 B, 1 MiB, 16 MiB and 1 MiB
#                                compressible echo equal on one connection; the compressible MiB
#                                goes and comes back in under a quarter of its size
#        deflate-fragmented      send_piece: a text in 9 pieces cut inside code points and a binary
#                                in 5, compressed, each echoed equal as one message
#        deflate-small-messages  1000 messages of 0-125 B sharing most bytes, sent before reading,
#                                echoed equal and in order in under half their size both ways
#                                (context takeover on both sides)
#        deflate-off             config.deflate = None: nothing offered, nothing selected, data
#                                echoes uncompressed
#   4. scripts/interop/hostile_server.py (raw asyncio, no WebSocket library; the path picks the
#      mode), and against it the matrix client, both drivers, running the rows
#        refuse-extension        with config.deflate = None (nothing offered), a 101 selecting
#                                permessage-deflate: connect fails with ExtensionNotSupported
#        refuse-other-extension  with the default offer of permessage-deflate, a 101 selecting
#                                x-webkit-deflate-frame: connect fails with ExtensionNotSupported
#        refuse-deflate-answer   11 answers selecting permessage-deflate in a way the offer does not
#                                allow (window bits 7, 20, 010; a parameter twice, unknown or with a
#                                value; client_max_window_bits without a value or not offered; the
#                                extension twice; a larger window or no server_no_context_takeover
#                                than asked): each connect fails with a handshake error
#        refuse-subprotocol      a 101 selecting 'chat' when nothing was offered: connect fails
#                                with SubprotocolNotSupported
#        refuse-wrong-accept     a 101 with a wrong Sec-WebSocket-Accept: connect fails with a
#                                malformed-handshake error naming that header
#        frame-with-101          a correct 101 with a text frame "early" in the same write: it is
#                                the first message; then a text echoes and the close completes
#      then the row
#        quiet-refusal           the server's log shows each of the 30 refused connections ending
#                                with no byte sent by the client after the 101
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
PEER_ROWS=(subprotocol text-ascii text-nonascii text-split-codepoints binary-sizes fragmented
    16mib-send-before-read small-messages ping-pong close-code concurrent
    deflate-accepted deflate-fragmented deflate-small-messages deflate-params deflate-declined)
# The wspc clients' rows (autobahn/src/bin/interop_client.rs) against the peers' echo servers (the
# deflate-accepted ... deflate-off rows against their --deflate instances), and against
# scripts/interop/hostile_server.py.
CLIENT_ROWS=(subprotocol text-ascii text-nonascii text-split-codepoints binary-sizes fragmented
    small-messages ping-pong close-code 16mib-send-before-read deflate-declined
    deflate-accepted deflate-fragmented deflate-small-messages deflate-off)
HOSTILE_ROWS=(refuse-extension refuse-other-extension refuse-deflate-answer refuse-subprotocol
    refuse-wrong-accept frame-with-101)
# The hostile server's modes whose 101 the clients must refuse, as its log names them, and how
# many refused connections each client makes: one per refuse-* row, and refuse-deflate-answer's
# 11 answers (its cases in interop_client.rs).
REFUSAL_MODES="(extension-not-offered|other-extension|deflate-answer '[^']*'|subprotocol-not-offered|wrong-accept)"
REFUSALS_PER_CLIENT=$((4 + 11))
# The subprotocol the wspc echo servers and the peers' echo servers speak.
SUBPROTOCOL=chat
CHROMIUM_SET=${CHROMIUM:-}
CHROMIUM=/usr/bin/chromium
CHROMIUM_ROWS=(subprotocol-offered text-ascii text-nonascii binary-0 binary-1 binary-125 binary-126
    binary-65535 binary-65536 binary-1mib binary-16mib small-messages close-code deflate-offered
    deflate-declined)
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

# A Chromium already on the machine is used (CHROMIUM=path, or /usr/bin/chromium, or the
# chromium-browser / google-chrome that Ubuntu machines and GitHub's runners have); otherwise
# Debian's package chromium is installed.
install_chromium() {
    local c
    for c in "${CHROMIUM_SET:-}" /usr/bin/chromium chromium-browser google-chrome google-chrome-stable; do
        [ -n "$c" ] || continue
        c=$(command -v "$c" 2>/dev/null) || continue
        # Ubuntu's chromium-browser may be a stub that only points at the snap: it must answer.
        if timeout 20 "$c" --version >/dev/null 2>&1; then
            CHROMIUM=$c
            return 0
        fi
    done
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

# What the report names: the sources as they are built (reports written meanwhile, by this
# run or another job, do not count as changes).
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=
[ -n "$(git status --porcelain --untracked-files=no -- . ':(exclude)reports' 2>/dev/null)" ] &&
    DIRTY=" (the work tree had uncommitted changes)"
log "building the examples and the matrix client"
cargo build --release --features tokio -p wspc --examples
cargo build --release -p wspc-autobahn --bin interop_client
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/examples
for b in echo_server tokio_echo_server client tokio_client; do
    [ -x "$BIN/$b" ] || die "$BIN/$b was not built"
done
MATRIX_CLIENT=$TARGET_DIR/release/interop_client
[ -x "$MATRIX_CLIENT" ] || die "$MATRIX_CLIENT was not built"

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

# Run a client's rows (the names in the array ROWS_VAR) against a server: COMMAND URL SIDE ROW...
# prints one `PASS|FAIL SIDE PEER ROW (DETAIL)` line per row, and a row it did not report is a
# FAIL. Usage: run_peer SIDE PEER URL ROWS_VAR COMMAND...
run_peer() {
    local side=$1 peer=$2 url=$3 out status r
    local -n rows_=$4
    shift 4
    out=$LOGS/$side-$peer.out
    set +e
    timeout -k 5 $((ROW_TIMEOUT * ${#rows_[@]} + 60)) "$@" "$url" "$side" "${rows_[@]}" \
        2>"$LOGS/$side-$peer.err" | tee -a "$RESULTS" | tee "$out"
    status=${PIPESTATUS[0]}
    set -e
    for r in "${rows_[@]}"; do
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

# A PASS row of the Chromium page stays PASS only if scripts/interop/netlog_ws.py finds in the
# net log what it claims (see that script); prints the row with the finding added to its detail,
# or turned into a FAIL. Usage: netlog_check LINE NETLOG ARG ARG
netlog_check() {
    local line=$1 netlog=$2 found rest
    if found=$("$VENV/bin/python" scripts/interop/netlog_ws.py "$netlog" "$3" "$4" 2>&1); then
        echo "${line%)}; $found)"
    else
        rest=${line#PASS }
        echo "FAIL ${rest%)}; but $found)"
    fi
}

# Headless Chromium loads the page, which runs CHROMIUM_ROWS against a wspc server with the
# browser's WebSocket (deflate-declined against its --no-deflate instance); the rows come out of
# the dumped DOM, and a missing row is a FAIL. Then the row all-compressed, from the net log.
# Usage: run_chromium SIDE WS_URL NO_DEFLATE_WS_URL
run_chromium() {
    local side=$1 url=$2 plain=$3 base=$LOGS/$1-chromium t0=$SECONDS rows page profile status line r state error found
    rows=$(
        IFS=,
        echo "${CHROMIUM_ROWS[*]}"
    )
    page="http://$PAGE_ADDR/chromium_page.html?side=$side&run=$side&rows=$rows&timeout=$ROW_TIMEOUT&budget=$CHROMIUM_BUDGET&ws=$url&wsplain=$plain"
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
            line=$(netlog_check "$line" "$base.netlog.json" deflate-offered accepted)
            ;;
        "PASS $side chromium deflate-declined "*)
            line=$(netlog_check "$line" "$base.netlog.json" deflate-declined declined)
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
    r=${url#ws://}
    if found=$("$VENV/bin/python" scripts/interop/netlog_ws.py "$base.netlog.json" all-accepted "${r%%/*}" 2>&1); then
        row PASS "$side" chromium all-compressed "every connection of the rows above but deflate-declined: $found"
    else
        row FAIL "$side" chromium all-compressed "$found"
    fi
    log "chromium against $side: $((SECONDS - t0)) s"
}

# ----- 1. wspc echo servers, peer clients -----------------------------------------------------

# The Chromium page's server, for both echo servers.
start_server chromium-page-server "$VENV/bin/python" scripts/interop/chromium_page_server.py 127.0.0.1:0 "$CHROMIUM_HOLD_LIMIT"
PAGE_PID=$SERVER_PID
PAGE_ADDR=$SERVER_ADDR
log "chromium page on http://$PAGE_ADDR/chromium_page.html"

for server in echo_server tokio_echo_server; do
    start_server "$server" "$BIN/$server" --subprotocol "$SUBPROTOCOL" 127.0.0.1:0
    pid=$SERVER_PID
    url=ws://$SERVER_ADDR/
    log "$server on $url"
    start_server "$server-no-deflate" "$BIN/$server" --subprotocol "$SUBPROTOCOL" --no-deflate 127.0.0.1:0
    plain_pid=$SERVER_PID
    plain_url=ws://$SERVER_ADDR/
    log "$server --no-deflate on $plain_url"
    run_peer "$server" python-websockets "$url" PEER_ROWS "$VENV/bin/python" scripts/interop/py_client.py --no-deflate-url "$plain_url"
    run_peer "$server" node-ws "$url" PEER_ROWS env NODE_PATH="$NODE_DIR/node_modules" node scripts/interop/node_client.js --no-deflate-url "$plain_url"
    run_chromium "$server" "$url" "$plain_url"
    # The server logs `PEER: closed` for a connection that ended well, `PEER: ERROR` otherwise;
    # give it a moment to log the last ones.
    sleep 0.5
    ended=$(grep -cE '^[0-9.]+:[0-9]+: ' "$LOGS/$server.log" || true)
    errors=$(grep -E '^[0-9.]+:[0-9]+: ' "$LOGS/$server.log" | grep -vc ': closed$' || true)
    plain_ended=$(grep -cE '^[0-9.]+:[0-9]+: ' "$LOGS/$server-no-deflate.log" || true)
    plain_errors=$(grep -E '^[0-9.]+:[0-9]+: ' "$LOGS/$server-no-deflate.log" | grep -vc ': closed$' || true)
    if ! kill -0 "$pid" 2>/dev/null; then
        row FAIL "$server" all-peers no-errors "the server exited; log tail: $(tail -n 3 "$LOGS/$server.log" | tr '\n' ' ')"
    elif ! kill -0 "$plain_pid" 2>/dev/null; then
        row FAIL "$server" all-peers no-errors "the --no-deflate instance exited; log tail: $(tail -n 3 "$LOGS/$server-no-deflate.log" | tr '\n' ' ')"
    elif [ "$ended" -lt 100 ] || [ "$plain_ended" -lt 3 ]; then
        # The peers above open over 100 connections to the server and one each (3) to the
        # --no-deflate instance: fewer logged means the log is not read right.
        row FAIL "$server" all-peers no-errors "only $ended connections (and $plain_ended to the --no-deflate instance) were logged as ended"
    elif [ "$errors" != 0 ] || [ "$plain_errors" != 0 ]; then
        row FAIL "$server" all-peers no-errors "$errors of $ended connections (and $plain_errors of $plain_ended to the --no-deflate instance) ended in an error, first: $(cat "$LOGS/$server.log" "$LOGS/$server-no-deflate.log" | grep -E '^[0-9.]+:[0-9]+: ' | grep -v ': closed$' | head -n1)"
    else
        row PASS "$server" all-peers no-errors "both instances still running; all $ended connections (and the $plain_ended to the --no-deflate instance) ended cleanly"
    fi
    for p in "$pid" "$plain_pid"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
done
kill "$PAGE_PID" 2>/dev/null || true
wait "$PAGE_PID" 2>/dev/null || true

# ----- 2. peer echo servers, the wspc example clients ----------------------------------------

declare -A PEER_SERVER_PID PEER_SERVER_ADDR PEER_DEFLATE_PID PEER_DEFLATE_ADDR
for peer in python-websockets node-ws; do
    case $peer in
    python-websockets) server_cmd=("$VENV/bin/python" scripts/interop/py_echo_server.py) ;;
    node-ws) server_cmd=(env NODE_PATH="$NODE_DIR/node_modules" node scripts/interop/node_echo_server.js) ;;
    esac
    start_server "$peer-server" "${server_cmd[@]}"
    PEER_SERVER_PID[$peer]=$SERVER_PID
    PEER_SERVER_ADDR[$peer]=$SERVER_ADDR
    log "$peer echo server on ws://$SERVER_ADDR/"
    start_server "$peer-deflate-server" "${server_cmd[@]}" --deflate
    PEER_DEFLATE_PID[$peer]=$SERVER_PID
    PEER_DEFLATE_ADDR[$peer]=$SERVER_ADDR
    log "$peer echo server with permessage-deflate on ws://$SERVER_ADDR/"
    for client in client tokio_client; do
        out=$LOGS/$client-$peer.example.out
        set +e
        timeout -k 5 30 "$BIN/$client" "${PEER_SERVER_ADDR[$peer]}" >"$out" 2>&1
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
done

# ----- 3. wspc clients (both drivers), the matrix ---------------------------------------------

for peer in python-websockets node-ws; do
    url=ws://${PEER_SERVER_ADDR[$peer]}/
    deflate_url=ws://${PEER_DEFLATE_ADDR[$peer]}/
    run_peer client "$peer" "$url" CLIENT_ROWS "$MATRIX_CLIENT" --peer "$peer" --deflate-url "$deflate_url"
    run_peer tokio_client "$peer" "$url" CLIENT_ROWS "$MATRIX_CLIENT" --peer "$peer" --deflate-url "$deflate_url" --tokio
    for pid in "${PEER_SERVER_PID[$peer]}" "${PEER_DEFLATE_PID[$peer]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
done

# ----- 4. hostile servers ---------------------------------------------------------------------

start_server hostile-server "$VENV/bin/python" scripts/interop/hostile_server.py 127.0.0.1:0
pid=$SERVER_PID
url=ws://$SERVER_ADDR/
log "hostile server on $url"
run_peer client hostile-server "$url" HOSTILE_ROWS "$MATRIX_CLIENT" --peer hostile-server
run_peer tokio_client hostile-server "$url" HOSTILE_ROWS "$MATRIX_CLIENT" --peer hostile-server --tokio
# The server logs, per connection it refused to upgrade properly, what the client did after the
# 101: a client that refused it must have sent nothing and ended the stream. The line comes when
# the server sees the end of the stream: give it a moment before stopping the server.
expected=$((2 * REFUSALS_PER_CLIENT)) # both drivers
for ((i = 0; i < 40; i++)); do
    [ "$(grep -cE " $REFUSAL_MODES: " "$LOGS/hostile-server.log" || true)" -ge "$expected" ] && break
    sleep 0.05
done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
refusals=$(grep -cE " $REFUSAL_MODES: " "$LOGS/hostile-server.log" || true)
quiet=$(grep -cE " $REFUSAL_MODES: the client sent 0 bytes after the 101, then ended the stream\$" "$LOGS/hostile-server.log" || true)
if [ "$refusals" = "$expected" ] && [ "$quiet" = "$expected" ]; then
    row PASS both-clients hostile-server quiet-refusal "all $refusals refused connections: the client sent nothing after the bad 101 and ended the stream"
else
    row FAIL both-clients hostile-server quiet-refusal "$quiet of $refusals refused connections (expected $expected) ended quietly; first other: $(grep -E " $REFUSAL_MODES: " "$LOGS/hostile-server.log" | grep -v 'sent 0 bytes' | head -n1)"
fi

# ----- the report -----------------------------------------------------------------------------

ELAPSED=$((SECONDS - T0))
PASSED=$(grep -c '^PASS ' "$RESULTS" || true)
FAILED=$(grep -c '^FAIL ' "$RESULTS" || true)
{
    echo "# Interop: wspc against independent peers"
    echo
    echo "Written by \`scripts/interop.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), in ${ELAPSED} s after the build."
    echo
    echo "- wspc commit: \`$COMMIT\`$DIRTY; examples built with \`cargo build --release --features tokio -p wspc --examples\`, the matrix client with \`cargo build --release -p wspc-autobahn --bin interop_client\` ($(rustc --version 2>/dev/null || echo rustc))"
    echo "- peers: Python \`websockets\` $WEBSOCKETS_USED (asyncio client and server, Python $PY_VERSION); Node \`ws\` $WS_USED (Node $NODE_VERSION); $CHROMIUM_VERSION, headless, its own \`WebSocket\` in a page served from 127.0.0.1; \`scripts/interop/hostile_server.py\` (Python $PY_VERSION, asyncio, no WebSocket library)"
    echo "- permessage-deflate (RFC 7692): the wspc echo servers accept it (the drivers' default) and a second instance of each, started with \`--no-deflate\`, declines it; the wspc clients offer it (\`permessage-deflate; client_max_window_bits\`) unless \`config.deflate = None\`. The peers run without compression (websockets \`compression=None\`, ws \`perMessageDeflate: false\`) except in the \`deflate-*\` rows, where the peer clients offer it with their defaults (websockets \`compression=\"deflate\"\`, ws \`perMessageDeflate: true\`) and the wspc clients meet a second instance of each peer echo server started with \`--deflate\` (websockets' default \`compression=\"deflate\"\`, which answers \`server_max_window_bits=12; client_max_window_bits=12\`; ws \`perMessageDeflate: { threshold: 0 }\`, so that it compresses every echo). Chromium offers permessage-deflate on every connection (a page cannot turn that off), so all its rows but \`deflate-declined\` run compressed"
    echo "- the peers have no message-size cap (websockets \`max_size=None\`, ws \`maxPayload: 0\`)"
    echo "- each peer row is bounded by ${ROW_TIMEOUT} s; Chromium's rows together by ${CHROMIUM_BUDGET} s"
    echo
    echo "Rows of the peer clients against the wspc echo servers (run with \`--subprotocol $SUBPROTOCOL\`): \`subprotocol\` offers ['chat'] and ['nope', 'chat'] select 'chat', no offer selects none, ['nope'] is answered with none (websockets connects without one; ws refuses, as browsers do); \`text-ascii\` 64 KiB of all 128 ASCII code points; \`text-nonascii\` 1 MiB of \"é€😀\"; \`text-split-codepoints\` a 64 KiB text in 9 fragments whose 8 boundaries cut 2-, 3- and 4-byte code points, echoed as one text; \`binary-sizes\` 0, 1, 125, 126, 65535, 65536 B, 1 MiB and 16 MiB, each echoed equal; \`fragmented\` 100 000 B in 5 fragments echoed as one message; \`16mib-send-before-read\` one 16 MiB binary message sent whole before reading, echoed equal as one message (websockets: one frame, via \`recv_streaming()\`); \`small-messages\` 1000 pipelined text/binary messages of 0–125 bytes, in order; \`ping-pong\` a ping with a payload gets its pong; \`close-code\` the peer closes with 4001 \"bye\" and the server's close echoes 4001; \`concurrent\` 50 clients × 200 pipelined messages. Compressed (the peer offers permessage-deflate with its defaults): \`deflate-accepted\` the 101 agrees to it (the response's \`Sec-WebSocket-Extensions\`, and websockets' negotiated extension or ws's \`ws.extensions\`), then on one connection 1 MiB of non-ASCII text and binary of 0, 1, 125, 65536 B, 1 MiB compressible, 1 MiB random and 16 MiB echo equal, the compressible MiB coming back in under a quarter of its size (websockets: RSV1 seen on every echo, the frames read before its extension decodes them; ws: the socket's \`bytesRead\`); \`deflate-fragmented\` a text in 9 fragments cut inside code points and a binary in 5 fragments, compressed by the peer, each echoed equal as one message; \`deflate-small-messages\` 1000 pipelined messages of 0–125 B sharing most of their bytes echoed equal and in order, in under half their size (the server's context taken over between messages); \`deflate-params\` offered with \`server_no_context_takeover\`, \`client_no_context_takeover\` and \`server_max_window_bits=10\`: the 101 agrees to exactly those, a 4 KiB random block × 4 comes back at full size (a 1 KiB window finds no repeat, and a reference beyond it would fail the peer's 10-bit inflater) and 200 small messages at over half their size (no context takeover); \`deflate-declined\` against the \`--no-deflate\` instance: no extension in the 101, text and binary echo. \`no-errors\` both instances of the server survived and logged no connection ending in an error."
    echo
    echo "Rows of the wspc clients (\`client\`: \`wspc::io\`, \`tokio_client\`: \`wspc::tokio\`): \`example\` the example client against the peer's echo server exits 0 with its text, binary and pong back; then the matrix client \`autobahn/src/bin/interop_client.rs\` against the same echo servers (speaking 'chat' if offered), with the rows above seen from the client (\`text-split-codepoints\` and \`fragmented\` sent with the driver's \`send_piece\`; in \`subprotocol\` an offer answered with none is refused by wspc, \`SubprotocolNotSupported\`; \`close-code\` wspc closes with 4001 and the peer's close echoes it; \`deflate-declined\` wspc's default offer of permessage-deflate is declined by the server without compression, \`permessage_deflate()\` is \`None\` and data echoes, written uncompressed). Against the peer's \`--deflate\` echo server (bytes counted on the client's socket, headers included): \`deflate-accepted\` the 101's \`Sec-WebSocket-Extensions\` names permessage-deflate and \`permessage_deflate()\` is \`Some\` (the detail gives the agreed windows), then on one connection 1 MiB of non-ASCII text, binary of 0, 1, 125, 126, 65535, 65536 B, 1 MiB and 16 MiB and 1 MiB compressible echo equal, the compressible MiB written and read in under a quarter of its size; \`deflate-fragmented\` a text in 9 pieces cut inside code points and a binary in 5 (\`send_piece\`), compressed, each echoed equal as one message; \`deflate-small-messages\` 1000 messages of 0–125 B sharing most of their bytes, sent before reading, echoed equal and in order, in under half their size both ways (context takeover on both sides); \`deflate-off\` \`config.deflate = None\`: nothing offered, nothing selected, data echoes uncompressed. Against \`scripts/interop/hostile_server.py\`: \`refuse-extension\` (with \`config.deflate = None\`, nothing offered) a 101 selecting permessage-deflate, \`refuse-other-extension\` (the default offer of permessage-deflate) a 101 selecting \`x-webkit-deflate-frame\`: connect fails with \`ExtensionNotSupported\`; \`refuse-deflate-answer\` 11 answers selecting permessage-deflate in a way the offer does not allow (window bits 7, 20 or \`010\`, a parameter twice, unknown or with a value, \`client_max_window_bits\` without a value or not offered, the extension twice, a larger \`server_max_window_bits\` than asked, \`server_no_context_takeover\` asked and not answered): each connect fails with a handshake error; \`refuse-subprotocol\`, \`refuse-wrong-accept\` a 101 selecting a subprotocol that was not offered, or with a wrong \`Sec-WebSocket-Accept\`, fails connect with the matching handshake error; \`frame-with-101\` a text frame in the same write as the 101 is the first message; \`quiet-refusal\` the client sent nothing after each 101 it refused and ended the stream."
    echo
    echo "Chromium's rows (a page with the browser's \`WebSocket\`, verdict read from \`chromium --headless --dump-dom\`; a page can neither ping nor choose fragmentation, so no rows for those): \`subprotocol-offered\` \`new WebSocket(url, ['chat'])\` and \`(url, ['nope', 'chat'])\`: \`ws.protocol\` is 'chat' and a text echoes; \`(url, ['nope'])\`: the server selects none and Chromium fails a handshake whose offer got no answer (its reason checked in its net log); without an offer \`ws.protocol\` is '' and a text echoes; \`text-ascii\` 64 KiB of all 128 ASCII code points; \`text-nonascii\` 1 MiB of text with the edges of each UTF-8 length and astral-plane emoji; \`binary-N\` one binary message of N bytes (0, 1, 125, 126, 65535, 65536, 1 MiB, 16 MiB) echoed equal; \`small-messages\` 1000 pipelined text/binary messages of 0–125 bytes, in order; \`close-code\` \`ws.close(4001, reason)\`: \`onclose\` sees 4001 and \`wasClean\`; these rows all run compressed, as Chromium offers permessage-deflate and the server accepts it. \`deflate-offered\` \`ws.extensions\` names permessage-deflate and 1 MiB of text, 1 MiB of compressible and 1 MiB of random binary echo; Chromium's net log (\`scripts/interop/netlog_ws.py\`, each row's connections tagged \`?row=NAME\`) shows the offer, the 101's agreement and RSV1 on every message the server sent; \`deflate-declined\` against the \`--no-deflate\` instance: \`ws.extensions\` is '', text and binary echo, and the net log shows the offer, a 101 without \`Sec-WebSocket-Extensions\` and no RSV1 either way; \`all-compressed\` (from the net log) every connection of the other rows that got a 101 agreed to permessage-deflate and received only compressed messages."
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
