#!/usr/bin/env bash
# Run the real Autobahn|Testsuite 0.8.2 against wspc, in both roles and on both socket drivers
# (the blocking `wspc::io` and the async `wspc::tokio`), and gate the results.
#
#   scripts/autobahn.sh [server|client|tokio-server|tokio-client|all]   (default: all)
#   scripts/autobahn.sh setup            (only bootstrap the testsuite into the cache)
#
# role          testee            testsuite side                        spec (autobahn/)            agent       reports (reports/autobahn/)
# server        `server`          fuzzingclient -> ws://127.0.0.1:9001  fuzzingclient.json          wspc        server/
# client        `client`          fuzzingserver on ws://127.0.0.1:9002  fuzzingserver.json          wspc        client/
# tokio-server  `server --tokio`  fuzzingclient -> ws://127.0.0.1:9003  fuzzingclient-tokio.json    wspc-tokio  tokio-server/
# tokio-client  `client --tokio`  fuzzingserver on ws://127.0.0.1:9004  fuzzingserver-tokio.json    wspc-tokio  tokio-client/
#
# `all` runs the four roles one after another (each takes well under a minute). Then the gate
# (`cargo run -p wspc-autobahn --bin gate`) checks every case of the roles run against the rules
# and against autobahn/expected-{server,client}.json (a tokio role against the same file as its
# blocking twin: the drivers must give the same results), and writes reports/autobahn/SUMMARY.md.
#
# Nothing needs to be installed beforehand. With a working Docker engine the official image,
# pinned by digest, runs the testsuite. Without one, the testsuite (Python 2 only) is bootstrapped
# into a cache without touching the system: Python 2.7 from Debian 11 (bullseye) packages fetched
# with `apt-get download` under a private apt configuration and unpacked with `dpkg -x`, then pip,
# setuptools and wheel for Python 2.7, then `pip install autobahntestsuite==0.8.2`.
#
# Environment:
#   WSPC_CACHE              cache root (default ~/.cache/wspc); the testsuite goes to $WSPC_CACHE/autobahn
#   WSPC_AUTOBAHN_DOCKER    0 to never use Docker, 1 to require it (default: use it if `docker info` works)
#   WSPC_AUTOBAHN_TIMEOUT   bound in seconds for each role's testsuite run (default 1800)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MODE=${1:-all}
case "$MODE" in
server | client | tokio-server | tokio-client | all | setup) ;;
*)
    echo "usage: $0 [server|client|tokio-server|tokio-client|all|setup]" >&2
    exit 2
    ;;
esac

AUTOBAHN_VERSION=0.8.2
IMAGE=crossbario/autobahn-testsuite@sha256:519915fb568b04c9383f70a1c405ae3ff44ab9e35835b085239c258b6fac3074
CACHE=${WSPC_CACHE:-${HOME:-/tmp}/.cache/wspc}/autobahn
RUN_TIMEOUT=${WSPC_AUTOBAHN_TIMEOUT:-1800}
REPORTS=reports/autobahn

# Per role: the testsuite's URL and spec file (whose URL and outdir must match), the agent name and
# the testee's driver flag. The tokio roles have their own ports, specs and agent name, so that
# each report directory holds exactly one agent.
role_url() {
    case $1 in
    server) echo ws://127.0.0.1:9001 ;;
    client) echo ws://127.0.0.1:9002 ;;
    tokio-server) echo ws://127.0.0.1:9003 ;;
    tokio-client) echo ws://127.0.0.1:9004 ;;
    esac
}
role_spec() {
    case $1 in
    server) echo autobahn/fuzzingclient.json ;;
    client) echo autobahn/fuzzingserver.json ;;
    tokio-server) echo autobahn/fuzzingclient-tokio.json ;;
    tokio-client) echo autobahn/fuzzingserver-tokio.json ;;
    esac
}
role_agent() { case $1 in tokio-*) echo wspc-tokio ;; *) echo wspc ;; esac; }
role_flag() { case $1 in tokio-*) echo --tokio ;; *) echo "" ;; esac; }
role_driver() { case $1 in tokio-*) echo tokio ;; *) echo blocking ;; esac; }

log() { printf '[autobahn] %s\n' "$*" >&2; }
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

# ----- the testsuite: Docker, or a bootstrapped Python 2.7 ----------------------------------

USE_DOCKER=0
case "${WSPC_AUTOBAHN_DOCKER:-auto}" in
0) ;;
1) USE_DOCKER=1 ;;
*) if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then USE_DOCKER=1; fi ;;
esac

# The archive URIs the machine's own apt sources name (main archive and security archive).
apt_uris() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    # One-line entries ("deb [opts] URI suite ...") and deb822 "URIs:" fields.
    sed -n -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
        -e 's/^URIs:[[:space:]]*//p' "${files[@]}" | tr ' ' '\n' | grep -E '^https?://' || true
}

bootstrap() {
    local stamp="$CACHE/.ready-$AUTOBAHN_VERSION"
    if [ -f "$stamp" ] && [ -x "$CACHE/bin/wstest" ]; then
        return 0
    fi
    local arch triple
    arch=$(dpkg --print-architecture 2>/dev/null || echo unknown)
    [ "$arch" = amd64 ] || die "the bootstrap route supports amd64 only (this is $arch); use Docker"
    triple=x86_64-linux-gnu
    command -v apt-get >/dev/null || die "apt-get is needed to fetch Python 2.7"
    command -v python3 >/dev/null || die "python3 (with pip) is needed to fetch the pip wheels"
    command -v cc >/dev/null || die "a C compiler is needed (wsaccel)"
    local t0=$SECONDS
    log "bootstrapping Autobahn|Testsuite $AUTOBAHN_VERSION into $CACHE (once)"
    rm -rf "$CACHE"
    mkdir -p "$CACHE"/{apt/parts,apt/lists/partial,apt/cache/archives/partial,debs,root,wheels,home,pip-cache,bin}

    # 1. Python 2.7 from bullseye, under a private apt configuration (no system conf.d, no hooks).
    local main_uri security_uri uris
    uris=$(apt_uris)
    main_uri=$(grep -v -i security <<<"$uris" | grep -i debian | head -n1 || true)
    security_uri=$(grep -i security <<<"$uris" | head -n1 || true)
    main_uri=${main_uri:-http://deb.debian.org/debian}
    main_uri=${main_uri%/}
    security_uri=${security_uri:-${main_uri}-security}
    security_uri=${security_uri%/}
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"
    cat >"$CACHE/apt/sources.list" <<EOF
deb [signed-by=$keyring] $main_uri bullseye main
deb [signed-by=$keyring] $security_uri bullseye-security main
EOF
    cat >"$CACHE/apt/apt.conf" <<EOF
Dir::Etc::parts "$CACHE/apt/parts";
Dir::Etc::sourcelist "$CACHE/apt/sources.list";
Dir::Etc::sourceparts "-";
Dir::State::Lists "$CACHE/apt/lists";
Dir::Cache "$CACHE/apt/cache";
Dir::State::status "/dev/null";
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Sandbox::User "$(id -un)";
EOF
    log "fetching Python 2.7 packages from $main_uri (bullseye) and $security_uri (bullseye-security)"
    APT_CONFIG="$CACHE/apt/apt.conf" timeout 600 apt-get -q update >"$CACHE/apt/update.log" 2>&1 ||
        {
            cat "$CACHE/apt/update.log" >&2
            die "apt-get update (private configuration) failed"
        }
    (cd "$CACHE/debs" && APT_CONFIG="$CACHE/apt/apt.conf" timeout 600 apt-get -q download \
        python2.7 python2.7-minimal libpython2.7 libpython2.7-stdlib libpython2.7-minimal \
        libssl1.1 libffi7 python2.7-dev libpython2.7-dev >"$CACHE/apt/download.log" 2>&1) ||
        {
            cat "$CACHE/apt/download.log" >&2
            die "apt-get download failed"
        }
    local deb
    for deb in "$CACHE"/debs/*.deb; do
        dpkg -x "$deb" "$CACHE/root"
    done
    local py="$CACHE/root/usr/bin/python2.7"
    [ -x "$py" ] || die "python2.7 did not unpack"

    # 2. pip, setuptools and wheel for Python 2.7, then the testsuite.
    local -a pyenv=(
        env -u PIP_FIND_LINKS -u PYTHONPATH -u PYTHONHOME
        LD_LIBRARY_PATH="$CACHE/root/usr/lib/$triple"
        HOME="$CACHE/home" PIP_CACHE_DIR="$CACHE/pip-cache" PYTHONNOUSERSITE=1
        PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONWARNINGS=ignore
    )
    log "fetching pip 20.3.4, setuptools 44.1.1, wheel 0.37.1 for Python 2.7"
    "${pyenv[@]}" timeout 600 python3 -m pip download -q --no-deps --only-binary=:all: \
        --python-version 2.7 --implementation cp --abi cp27mu --platform manylinux1_x86_64 \
        -d "$CACHE/wheels" pip==20.3.4 setuptools==44.1.1 wheel==0.37.1 ||
        die "downloading the pip wheels failed"
    "${pyenv[@]}" timeout 600 "$py" "$CACHE/wheels/pip-20.3.4-py2.py3-none-any.whl/pip" install -q \
        --no-warn-script-location --no-index --find-links "$CACHE/wheels" pip==20.3.4 setuptools==44.1.1 wheel==0.37.1 ||
        die "installing pip for Python 2.7 failed"
    log "installing autobahntestsuite==$AUTOBAHN_VERSION"
    "${pyenv[@]}" CFLAGS="-I$CACHE/root/usr/include -I$CACHE/root/usr/include/python2.7" \
        timeout 900 "$py" -m pip install -q --no-warn-script-location "autobahntestsuite==$AUTOBAHN_VERSION" ||
        die "pip install autobahntestsuite==$AUTOBAHN_VERSION failed"
    [ -x "$CACHE/root/usr/local/bin/wstest" ] || die "wstest did not install"

    # 3. The wrappers: wstest, and the same Python for small queries.
    local q
    {
        echo '#!/bin/sh'
        printf 'exec env -u PIP_FIND_LINKS -u PYTHONPATH -u PYTHONHOME'
        for q in "LD_LIBRARY_PATH=$CACHE/root/usr/lib/$triple" "HOME=$CACHE/home" \
            "PIP_CACHE_DIR=$CACHE/pip-cache" PYTHONNOUSERSITE=1 PYTHONWARNINGS=ignore; do
            printf ' %q' "$q"
        done
        printf ' %q "$@"\n' "$py"
    } >"$CACHE/bin/python"
    {
        echo '#!/bin/sh'
        printf 'exec %q %q "$@"\n' "$CACHE/bin/python" "$CACHE/root/usr/local/bin/wstest"
    } >"$CACHE/bin/wstest"
    chmod +x "$CACHE/bin/python" "$CACHE/bin/wstest"
    "$CACHE/bin/wstest" --autobahnversion >/dev/null 2>&1 || die "the wstest wrapper does not run"
    # The package lists and the .debs are not needed any more.
    rm -rf "$CACHE/apt/lists" "$CACHE/apt/cache" "$CACHE/debs"
    touch "$stamp"
    log "testsuite ready in $((SECONDS - t0)) s ($(du -sh "$CACHE" | cut -f1))"
}

WSTEST=()
CASE_TOTAL=""
TESTSUITE=""
setup_testsuite() {
    if [ "$USE_DOCKER" = 1 ]; then
        log "using Docker image $IMAGE"
        docker pull -q "$IMAGE" >/dev/null
        # Host networking: the testees listen on and connect to 127.0.0.1.
        # --init: the testsuite stops when this script stops the `docker run` it started.
        WSTEST=(docker run --rm --init --network host -v "$ROOT:$ROOT" -w "$ROOT"
            -u "$(id -u):$(id -g)" --entrypoint wstest "$IMAGE")
        CASE_TOTAL=$(docker run --rm --entrypoint sh "$IMAGE" -c 'for p in python pypy python2; do
            command -v $p >/dev/null && exec $p -c "from autobahntestsuite.case import Cases; print(len(Cases))"
            done' 2>/dev/null || true)
    else
        bootstrap
        WSTEST=("$CACHE/bin/wstest")
        CASE_TOTAL=$("$CACHE/bin/python" -c 'from autobahntestsuite.case import Cases; print(len(Cases))' 2>/dev/null || true)
    fi
    CASE_TOTAL=${CASE_TOTAL:-?}
    TESTSUITE=$("${WSTEST[@]}" --autobahnversion 2>/dev/null | paste -sd ',' | sed 's/,/, /g' || true)
    TESTSUITE=${TESTSUITE:-AutobahnTestSuite $AUTOBAHN_VERSION}
}

# ----- the testees ------------------------------------------------------------------------

TARGET_DIR=""
build_testees() {
    log "building the testees (release)"
    cargo build --release --locked -q -p wspc-autobahn --bins
    TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --locked |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    [ -x "$TARGET_DIR/release/server" ] || die "testee binaries not found under $TARGET_DIR/release"
}

port_free() {
    ! (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}

wait_for_port() {
    local addr=$1 pid=$2 i
    for i in $(seq 1 200); do
        if ! port_free "$addr"; then return 0; fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Prefix-free progress from the testsuite's "Running test case ID X for agent ..." lines.
progress() {
    local role=$1 logfile=$2
    awk -v role="$role" -v total="$CASE_TOTAL" -v logfile="$logfile" '
        { print > logfile; fflush(logfile) }
        /Running test case ID/ {
            n++
            for (i = 1; i <= NF; i++) if ($i == "ID") id = $(i + 1)
            printf "[%s] case %d of %s: %s\n", role, n, total, id
            fflush()
        }'
}

write_meta() {
    local role=$1 secs=$2 testee=$3
    cat >"$REPORTS/$role/meta.json" <<EOF
{"role": "$role", "driver": "$(role_driver "$role")", "testee": "$testee", "agent": "$(role_agent "$role")", "wall_seconds": $secs, "testsuite": "$TESTSUITE", "runner": "$([ "$USE_DOCKER" = 1 ] && echo Docker || echo bootstrapped)", "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"}
EOF
}

# The spec must name the role's URL and report directory (and, for the fuzzingclient, its agent).
check_spec() {
    local role=$1 spec=$2 url=$3
    [ -f "$spec" ] || die "$spec is missing"
    grep -q "\"$url\"" "$spec" || die "$spec does not name $url (role $role)"
    grep -q "\"\./$REPORTS/$role\"" "$spec" || die "$spec does not write to ./$REPORTS/$role (role $role)"
    case $role in
    *server)
        grep -q "\"agent\": *\"$(role_agent "$role")\"" "$spec" ||
            die "$spec does not name agent $(role_agent "$role") (role $role)"
        ;;
    esac
}

# server, tokio-server: the testsuite's fuzzingclient drives the `server` testee.
run_server_role() {
    local role=$1 dir="$REPORTS/$1" t0=$SECONDS url spec flag addr
    url=$(role_url "$role") spec=$(role_spec "$role") flag=$(role_flag "$role")
    addr=${url#ws://}
    check_spec "$role" "$spec" "$url"
    port_free "$addr" || die "$addr is in use"
    rm -rf "$dir"
    mkdir -p "$dir"
    local testee=("$TARGET_DIR/release/server" "$addr")
    [ -z "$flag" ] || testee+=("$flag")
    "${testee[@]}" >"$dir/testee.log" 2>&1 &
    local spid=$!
    PIDS+=("$spid")
    wait_for_port "$addr" "$spid" || die "the server testee did not start (see $dir/testee.log)"
    log "$role role: fuzzingclient -> wspc server${flag:+ $flag} on $addr ($CASE_TOTAL cases, bound ${RUN_TIMEOUT} s)"
    local rc=0
    timeout "$RUN_TIMEOUT" "${WSTEST[@]}" -m fuzzingclient -s "$spec" 2>&1 |
        progress "$role" "$dir/wstest.log" || rc=$?
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    [ "$rc" = 0 ] || die "the fuzzingclient run failed or timed out (exit $rc; see $dir/wstest.log)"
    [ -f "$dir/index.json" ] || die "no $dir/index.json was written"
    write_meta "$role" $((SECONDS - t0)) "server $addr${flag:+ $flag}"
    log "$role role done in $((SECONDS - t0)) s"
}

# client, tokio-client: the `client` testee drives the testsuite's fuzzingserver.
run_client_role() {
    local role=$1 dir="$REPORTS/$1" t0=$SECONDS url spec flag agent addr
    url=$(role_url "$role") spec=$(role_spec "$role") flag=$(role_flag "$role") agent=$(role_agent "$role")
    addr=${url#ws://}
    check_spec "$role" "$spec" "$url"
    port_free "$addr" || die "$addr is in use"
    rm -rf "$dir"
    mkdir -p "$dir"
    # -u 0: no extra web server on 8080.
    "${WSTEST[@]}" -m fuzzingserver -s "$spec" -u 0 >"$dir/wstest.log" 2>&1 &
    local wpid=$!
    PIDS+=("$wpid")
    wait_for_port "$addr" "$wpid" || die "the fuzzingserver did not start (see $dir/wstest.log)"
    log "$role role: wspc client${flag:+ $flag} -> fuzzingserver on $url (bound ${RUN_TIMEOUT} s)"
    local testee=("$TARGET_DIR/release/client" "$url" "$agent")
    [ -z "$flag" ] || testee+=("$flag")
    local rc=0
    timeout "$RUN_TIMEOUT" "${testee[@]}" 2>"$dir/testee.log" || rc=$?
    # The reports are written on /updateReports; give the testsuite a moment to finish writing.
    local i
    for i in $(seq 1 100); do
        [ -f "$dir/index.json" ] && break
        sleep 0.1
    done
    sleep 1
    kill "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    [ "$rc" = 0 ] || die "the client testee failed or timed out (exit $rc; see $dir/testee.log)"
    [ -f "$dir/index.json" ] || die "no $dir/index.json was written"
    write_meta "$role" $((SECONDS - t0)) "client $url $agent${flag:+ $flag}"
    log "$role role done in $((SECONDS - t0)) s"
}

setup_testsuite
if [ "$MODE" = setup ]; then
    log "wstest: ${WSTEST[*]} ($CASE_TOTAL cases)"
    exit 0
fi
build_testees
roles=$MODE
[ "$MODE" = all ] && roles=server,client,tokio-server,tokio-client
for role in ${roles//,/ }; do
    case $role in
    *server) run_server_role "$role" ;;
    *client) run_client_role "$role" ;;
    esac
done
"$TARGET_DIR/release/gate" --roles "$roles"
