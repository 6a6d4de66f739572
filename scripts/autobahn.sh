#!/usr/bin/env bash
# Run the real Autobahn|Testsuite 0.8.2 against wspc, in both roles and on both socket drivers
# (the blocking `wspc::io` and the async `wspc::tokio`), and gate the results.
#
#   scripts/autobahn.sh [server|client|tokio-server|tokio-client|all]   (default: all)
#   scripts/autobahn.sh setup            (only bootstrap the testsuite into the cache)
#   scripts/autobahn.sh --server-cmd CMD | --client-cmd CMD [OPTIONS]   (any other implementation)
#   scripts/autobahn.sh --help           (this text)
#
# role          testee            testsuite side                        spec (autobahn/)            agent       reports (reports/autobahn/)
# server        `server`          fuzzingclient -> ws://127.0.0.1:9001  fuzzingclient.json          wspc        server/
# client        `client`          fuzzingserver on ws://127.0.0.1:9002  fuzzingserver.json          wspc        client/
# tokio-server  `server --tokio`  fuzzingclient -> ws://127.0.0.1:9003  fuzzingclient-tokio.json    wspc-tokio  tokio-server/
# tokio-client  `client --tokio`  fuzzingserver on ws://127.0.0.1:9004  fuzzingserver-tokio.json    wspc-tokio  tokio-client/
#
# `all` runs the four roles two at a time (WSPC_AUTOBAHN_JOBS, below), about 16 minutes on two
# cores: a role takes about 8 minutes, 7 of them in sections 12 and 13 (permessage-deflate, where
# the testsuite's own Python compresses and inflates every message). Then the gate
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
# Any other implementation (an "external run"): the same testsuite, bootstrapped the same way,
# judges a WebSocket server or client that is not wspc. Nothing is built, and wspc's roles, their
# reports and reports/autobahn/SUMMARY.md are left alone. It needs python3 (for the spec and the
# gate). Exactly one of:
#   --server-cmd CMD   The fuzzingclient against a server: the script starts CMD with `bash -c`
#                      in the directory it was called from (in a process group of its own, stdin
#                      /dev/null, output to DIR/testee.log), waits until 127.0.0.1:PORT accepts
#                      connections, runs the cases against ws://127.0.0.1:PORT, then stops CMD's
#                      process group (TERM, then KILL after 5 s). CMD must stay in the foreground.
#   --client-cmd CMD   The fuzzingserver for a client: the script starts the fuzzingserver on
#                      ws://127.0.0.1:PORT, then runs CMD the same way (bounded by
#                      WSPC_AUTOBAHN_TIMEOUT) and waits for it to exit. CMD must do what
#                      Autobahn's own clients do: read the count from URL/getCaseCount, open
#                      URL/runCase?case=N&agent=AGENT for N = 1..count (echoing every message until
#                      the testsuite closes), then URL/updateReports?agent=AGENT, and exit 0.
#                      A CMD with none of the placeholders below gets two arguments appended: the
#                      URL and the agent (`CMD ws://127.0.0.1:PORT AGENT`).
#   In CMD, {url} becomes ws://127.0.0.1:PORT, {addr} 127.0.0.1:PORT, {port} PORT and {agent}
#   AGENT. Options:
#   --port N           the port (default: the spec port of wspc's own role, 9001 with
#                      --server-cmd, 9002 with --client-cmd; so not while that role runs)
#   --agent NAME       the agent name in the reports, letters, digits and ._- (default external)
#   --cases LIST       case patterns, comma- or space-separated, as the spec's "cases" takes them:
#                      `*` matches anything, e.g. '1.*,2.*,5.*' or '6.4.1' (default '*': all 517)
#   --exclude-cases LIST   patterns left out, e.g. '9.*,12.*,13.*' (default none)
#   --reports DIR      where the reports go (default reports/autobahn/external-server or
#                      reports/autobahn/external-client); DIR is cleared first, and only if it is
#                      empty or was made by an earlier external run (it holds .autobahn-external)
#   --expected FILE    the expected results, in the format of autobahn/expected-*.json
#   --write-expected FILE   also write this run's results in that format, to review and then pass
#                      as --expected
#   --start-timeout S  how long the server command may take to listen, in seconds (default 60)
# Relative paths in DIR and FILE are taken from the directory the script was called from. The gate
# of an external run fails unless the report holds exactly the agent AGENT, with every selected
# case (the list the testsuite prints when it starts), and
#   - without --expected: every case's behavior and behaviorClose are OK or INFORMATIONAL:
#     UNIMPLEMENTED, NON-STRICT, WRONG CODE, UNCLEAN and FAILED fail, as in wspc's own gate (an
#     implementation without permessage-deflate leaves it out: --exclude-cases '12.*,13.*');
#   - with --expected FILE: every selected case equals FILE's entry (behavior, behaviorClose,
#     remoteCloseCode; durations ignored), so that any change, better or worse, fails; entries
#     for cases not selected are ignored, a selected case without an entry fails;
# and, with --client-cmd, unless CMD exited 0. It writes DIR/SUMMARY.md (tallies per section, the
# cases not OK, the problems), DIR/summary.json (the same, for scripts), DIR/meta.json and
# DIR/spec.json, prints the summary, a one-line tally and `gate: N passed, M failed`, and exits 0
# if the gate passed, 1 if not (2 for a usage error). For example:
#   scripts/autobahn.sh --server-cmd './my_echo_server --port {port}' --port 9010 --agent mine \
#       --exclude-cases '12.*,13.*'
#   scripts/autobahn.sh --client-cmd 'node my_client.js {url} {agent}' --cases '1.*,5.*'
#
# Environment:
#   WSPC_CACHE              cache root (default ~/.cache/wspc); the testsuite goes to $WSPC_CACHE/autobahn
#   WSPC_AUTOBAHN_DOCKER    0 to never use Docker, 1 to require it (default: use it if `docker info` works)
#   WSPC_AUTOBAHN_TIMEOUT   bound in seconds for each role's testsuite run (default 1800)
#   WSPC_AUTOBAHN_JOBS      how many of wspc's roles run at once (default 2; 1: one after another)
set -euo pipefail

# The directory the script was called from: an external run's command and paths are taken from it.
CALLER_PWD=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    echo "usage: $0 [server|client|tokio-server|tokio-client|all|setup]" >&2
    echo "       $0 --server-cmd CMD | --client-cmd CMD [--port N] [--agent NAME] [--cases LIST]" >&2
    echo "          [--exclude-cases LIST] [--reports DIR] [--expected FILE] [--write-expected FILE]" >&2
    echo "          [--start-timeout S]      ($0 --help for the details)" >&2
    exit 2
}

MODE=${1:-all}
case "$MODE" in
server | client | tokio-server | tokio-client | all | setup) ;;
-h | --help)
    sed -n '2,/^set -euo pipefail$/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
--*) MODE=external ;;
*) usage ;;
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

# Processes this script started, stopped on exit by their ids; PGIDS: process groups it started
# (an external run's command, in a group of its own), stopped as groups.
PIDS=()
PGIDS=()
cleanup() {
    local pid
    for pid in "${PGIDS[@]}"; do
        stop_group "$pid"
    done
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
# More directories the container needs (an external run's reports outside the repository).
DOCKER_MOUNTS=()
CASE_TOTAL=""
TESTSUITE=""
setup_testsuite() {
    if [ "$USE_DOCKER" = 1 ]; then
        log "using Docker image $IMAGE"
        docker pull -q "$IMAGE" >/dev/null
        # Host networking: the testees listen on and connect to 127.0.0.1.
        # --init: the testsuite stops when this script stops the `docker run` it started.
        WSTEST=(docker run --rm --init --network host -v "$ROOT:$ROOT" "${DOCKER_MOUNTS[@]}" -w "$ROOT"
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
BUILD_COMMIT=""
build_testees() {
    log "building the testees (release)"
    # What the reports name: the sources as they are built, not as they are when a role ends.
    BUILD_COMMIT=$(source_commit)
    cargo build --release --locked -q -p wspc-autobahn --bins
    TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --locked |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    [ -x "$TARGET_DIR/release/server" ] || die "testee binaries not found under $TARGET_DIR/release"
}

port_free() {
    ! (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}

# Usage: wait_for_port ADDR PID [TENTHS_OF_A_SECOND] (default 200: 20 s)
wait_for_port() {
    local addr=$1 pid=$2 i
    for i in $(seq 1 "${3:-200}"); do
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
        /will run [0-9]+ test cases/ { total = $4 }
        /Running test case ID/ {
            n++
            for (i = 1; i <= NF; i++) if ($i == "ID") id = $(i + 1)
            printf "[%s] case %d of %s: %s\n", role, n, total, id
            fflush()
        }'
}

# The commit the testees are built from, with "+changes" if tracked files other than the
# reports differ from it (the reports are written by this very run).
source_commit() {
    local commit
    commit=$(git rev-parse --short HEAD 2>/dev/null) || { echo unknown; return; }
    if [ -n "$(git status --porcelain --untracked-files=no -- . ':(exclude)reports' 2>/dev/null)" ]; then
        commit="$commit+changes"
    fi
    echo "$commit"
}

write_meta() {
    local role=$1 secs=$2 testee=$3
    cat >"$REPORTS/$role/meta.json" <<EOF
{"role": "$role", "driver": "$(role_driver "$role")", "testee": "$testee", "agent": "$(role_agent "$role")", "wall_seconds": $secs, "testsuite": "$TESTSUITE", "runner": "$([ "$USE_DOCKER" = 1 ] && echo Docker || echo bootstrapped)", "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "commit": "${BUILD_COMMIT:-unknown}"}
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

# After a client run: wait for the fuzzingserver to write its reports (they are written on
# /updateReports), then stop it. Usage: end_fuzzingserver DIR PID
end_fuzzingserver() {
    local i
    for i in $(seq 1 100); do
        [ -f "$1/index.json" ] && break
        sleep 0.1
    done
    sleep 1
    kill "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
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
    end_fuzzingserver "$dir" "$wpid"
    [ "$rc" = 0 ] || die "the client testee failed or timed out (exit $rc; see $dir/testee.log)"
    [ -f "$dir/index.json" ] || die "no $dir/index.json was written"
    write_meta "$role" $((SECONDS - t0)) "client $url $agent${flag:+ $flag}"
    log "$role role done in $((SECONDS - t0)) s"
}

# ----- any other implementation: --server-cmd / --client-cmd ------------------------------

EXT_KIND=""
EXT_CMD=""
EXT_PORT=""
EXT_AGENT=external
EXT_CASES="*"
EXT_EXCLUDE=""
EXT_DIR=""
EXT_EXPECTED=""
EXT_WRITE_EXPECTED=""
EXT_START_TIMEOUT=60

# A path from the command line, absolute, relative ones taken from the caller's directory.
from_caller() {
    case $1 in
    /*) realpath -m -- "$1" ;;
    *) realpath -m -- "$CALLER_PWD/$1" ;;
    esac
}

# Case patterns as the spec takes them: digits, dots and `*`, comma- or space-separated.
check_patterns() {
    local what=$1 list=$2 p n=0
    local -a pats
    IFS=$', \t\n' read -ra pats <<<"$list"
    for p in "${pats[@]}"; do
        [[ $p =~ ^[0-9*][0-9.*]*$ ]] || { log "error: $what: bad case pattern '$p'"; usage; }
        n=$((n + 1))
    done
    [ "$what" != --cases ] || [ "$n" -gt 0 ] || { log "error: --cases names no pattern"; usage; }
}

parse_external_args() {
    local opt value
    while [ $# -gt 0 ]; do
        opt=$1
        case $opt in
        --*=*)
            value=${opt#*=}
            opt=${opt%%=*}
            shift
            ;;
        --server-cmd | --client-cmd | --port | --agent | --cases | --exclude-cases | --reports | \
            --expected | --write-expected | --start-timeout)
            [ $# -ge 2 ] || { log "error: $opt needs a value"; usage; }
            value=$2
            shift 2
            ;;
        *) log "error: unknown argument '$opt'" && usage ;;
        esac
        case $opt in
        --server-cmd | --client-cmd)
            [ -z "$EXT_KIND" ] || { log "error: give one of --server-cmd and --client-cmd, once"; usage; }
            EXT_KIND=${opt#--}
            EXT_KIND=${EXT_KIND%-cmd}
            EXT_CMD=$value
            ;;
        --port) EXT_PORT=$value ;;
        --agent) EXT_AGENT=$value ;;
        --cases) EXT_CASES=$value ;;
        --exclude-cases) EXT_EXCLUDE=$value ;;
        --reports) EXT_DIR=$(from_caller "$value") ;;
        --expected) EXT_EXPECTED=$(from_caller "$value") ;;
        --write-expected) EXT_WRITE_EXPECTED=$(from_caller "$value") ;;
        --start-timeout) EXT_START_TIMEOUT=$value ;;
        *) log "error: unknown option '$opt'" && usage ;;
        esac
    done
    [ -n "$EXT_KIND" ] || { log "error: an external run needs --server-cmd or --client-cmd"; usage; }
    [[ $EXT_CMD =~ [^[:space:]] ]] || { log "error: --$EXT_KIND-cmd is empty"; usage; }
    if [ -z "$EXT_PORT" ]; then
        EXT_PORT=$([ "$EXT_KIND" = server ] && echo 9001 || echo 9002)
    fi
    [[ $EXT_PORT =~ ^[0-9]{1,5}$ ]] && [ $((10#$EXT_PORT)) -ge 1 ] && [ $((10#$EXT_PORT)) -le 65535 ] ||
        { log "error: --port '$EXT_PORT' is not a port"; usage; }
    EXT_PORT=$((10#$EXT_PORT))
    [[ $EXT_AGENT =~ ^[A-Za-z0-9._-]+$ ]] || { log "error: --agent '$EXT_AGENT': letters, digits and ._- only"; usage; }
    [[ $EXT_START_TIMEOUT =~ ^[0-9]{1,6}$ ]] && [ "$EXT_START_TIMEOUT" -ge 1 ] ||
        { log "error: --start-timeout '$EXT_START_TIMEOUT' is not a number of seconds"; usage; }
    check_patterns --cases "$EXT_CASES"
    check_patterns --exclude-cases "$EXT_EXCLUDE"
    [ -z "$EXT_EXPECTED" ] || [ -f "$EXT_EXPECTED" ] || die "--expected $EXT_EXPECTED: no such file"
    [ -z "$EXT_WRITE_EXPECTED" ] || [ -d "$(dirname "$EXT_WRITE_EXPECTED")" ] ||
        die "--write-expected $EXT_WRITE_EXPECTED: its directory does not exist"
    EXT_DIR=${EXT_DIR:-$ROOT/$REPORTS/external-$EXT_KIND}
    command -v python3 >/dev/null || die "an external run needs python3"
    command -v setsid >/dev/null || die "an external run needs setsid (util-linux)"
}

# The reports directory: never wspc's own, and cleared only if empty or made by an external run.
prepare_external_dir() {
    local d=$EXT_DIR r
    [ "$d" != "$ROOT/$REPORTS" ] || die "--reports $d: that holds wspc's own reports"
    for r in server client tokio-server tokio-client; do
        case "$d/" in "$ROOT/$REPORTS/$r/"*) die "--reports $d: that is inside wspc's $r reports" ;; esac
    done
    case "$ROOT/" in "$d/"*) die "--reports $d: that holds this repository" ;; esac
    if [ -e "$d" ] || [ -L "$d" ]; then
        [ -d "$d" ] || die "--reports $d is not a directory"
        if [ -n "$(ls -A "$d")" ] && [ ! -f "$d/.autobahn-external" ]; then
            die "--reports $d is not empty and holds no .autobahn-external (not made by an external run): not clearing it"
        fi
        find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
    fi
    mkdir -p "$d"
    echo "Reports of an external run of scripts/autobahn.sh; the next external run into this directory clears it." \
        >"$d/.autobahn-external"
    # The container sees the repository; a directory elsewhere is mounted at the same path.
    case "$d/" in "$ROOT/"*) ;; *) DOCKER_MOUNTS=(-v "$d:$d") ;; esac
}

# Stop a process group this script started: TERM, then KILL after 5 s; reap its leader.
stop_group() {
    local pgid=$1 keep=() p sleeper
    if kill -0 "$pgid" 2>/dev/null; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
        # Wait for the leader, 5 s at most: `wait -n` returns when the leader or the sleep ends.
        # (A plain command, not a subshell: a subshell would run this script's EXIT trap.)
        sleep 5 &
        sleeper=$!
        wait -n "$pgid" "$sleeper" 2>/dev/null || true
        kill "$sleeper" 2>/dev/null || true
        wait "$sleeper" 2>/dev/null || true
    fi
    # What is left of the group (all of it, if the leader ignored TERM) gets KILL.
    kill -KILL -- "-$pgid" 2>/dev/null || true
    wait "$pgid" 2>/dev/null || true
    for p in "${PGIDS[@]}"; do [ "$p" = "$pgid" ] || keep+=("$p"); done
    PGIDS=("${keep[@]}")
}

run_external() {
    local kind=$EXT_KIND dir=$EXT_DIR role="external-$EXT_KIND" t0=$SECONDS
    local addr="127.0.0.1:$EXT_PORT" url="ws://127.0.0.1:$EXT_PORT" cmd=$EXT_CMD
    local problems="" rc=0 status=0 pid
    # The placeholders; a client command without any gets the URL and the agent as arguments.
    if [ "$kind" = client ] && ! [[ $cmd =~ \{(url|addr|port|agent)\} ]]; then
        cmd+=" $url $EXT_AGENT"
    fi
    cmd=${cmd//'{url}'/"$url"}
    cmd=${cmd//'{addr}'/"$addr"}
    cmd=${cmd//'{port}'/"$EXT_PORT"}
    cmd=${cmd//'{agent}'/"$EXT_AGENT"}
    # The spec: the role's URL and report directory, the selected cases.
    S_KIND=$kind S_URL=$url S_DIR=$dir S_AGENT=$EXT_AGENT S_CASES=$EXT_CASES S_EXCLUDE=$EXT_EXCLUDE \
        python3 - "$dir/spec.json" <<'EOF'
import json, os, re, sys
e = os.environ
split = lambda s: [p for p in re.split(r"[,\s]+", s) if p]
spec = {"outdir": e["S_DIR"], "cases": split(e["S_CASES"]), "exclude-cases": split(e["S_EXCLUDE"]),
        "exclude-agent-cases": {}}
if e["S_KIND"] == "server":
    spec["servers"] = [{"agent": e["S_AGENT"], "url": e["S_URL"]}]
else:
    spec["url"] = e["S_URL"]
with open(sys.argv[1], "w") as f:
    json.dump(spec, f, indent=4)
    f.write("\n")
EOF
    port_free "$addr" || die "$addr is in use"
    if [ "$kind" = server ]; then
        log "$role: starting the server command (in $CALLER_PWD): $cmd"
        (cd "$CALLER_PWD" && exec setsid bash -c "$cmd") </dev/null >"$dir/testee.log" 2>&1 &
        pid=$!
        PGIDS+=("$pid")
        if ! wait_for_port "$addr" "$pid" $((EXT_START_TIMEOUT * 10)); then
            tail -n 20 "$dir/testee.log" >&2 || true
            if ! kill -0 "$pid" 2>/dev/null; then
                wait "$pid" 2>/dev/null || status=$?
                die "the server command exited (status $status) before listening on $addr (see $dir/testee.log)"
            fi
            die "the server command did not listen on $addr within $EXT_START_TIMEOUT s (see $dir/testee.log)"
        fi
        log "$role: fuzzingclient -> $url, agent $EXT_AGENT, cases '$EXT_CASES'${EXT_EXCLUDE:+ but '$EXT_EXCLUDE'} (bound ${RUN_TIMEOUT} s)"
        timeout "$RUN_TIMEOUT" "${WSTEST[@]}" -m fuzzingclient -s "$dir/spec.json" 2>&1 |
            progress "$role" "$dir/wstest.log" || rc=$?
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || status=$?
            problems+="the server command exited during the run (status $status; see testee.log)"$'\n'
        fi
        stop_group "$pid"
        [ "$rc" = 0 ] || die "the fuzzingclient run failed or timed out (exit $rc; see $dir/wstest.log)"
    else
        "${WSTEST[@]}" -m fuzzingserver -s "$dir/spec.json" -u 0 >"$dir/wstest.log" 2>&1 &
        local wpid=$!
        PIDS+=("$wpid")
        wait_for_port "$addr" "$wpid" || die "the fuzzingserver did not start (see $dir/wstest.log)"
        log "$role: fuzzingserver on $url, cases '$EXT_CASES'${EXT_EXCLUDE:+ but '$EXT_EXCLUDE'}; running the client command (in $CALLER_PWD, bound ${RUN_TIMEOUT} s): $cmd"
        # `timeout` puts the command in a process group of its own, stopped as one on exit.
        (cd "$CALLER_PWD" && exec timeout -k 10 "$RUN_TIMEOUT" bash -c "$cmd") </dev/null >"$dir/testee.log" 2>&1 &
        pid=$!
        PGIDS+=("$pid")
        wait "$pid" || status=$?
        stop_group "$pid"
        end_fuzzingserver "$dir" "$wpid"
        case $status in
        0) ;;
        124) problems+="the client command timed out after $RUN_TIMEOUT s (see testee.log)"$'\n' ;;
        *) problems+="the client command exited with status $status (see testee.log)"$'\n' ;;
        esac
        [ -f "$dir/index.json" ] || {
            tail -n 20 "$dir/testee.log" >&2 || true
            die "no $dir/index.json was written: did the client command end with $url/updateReports?agent=$EXT_AGENT? (its status: $status; see $dir/testee.log)"
        }
    fi
    log "$role done in $((SECONDS - t0)) s; the gate:"
    J_DIR=$dir J_ROLE=$role J_AGENT=$EXT_AGENT J_EXPECTED=$EXT_EXPECTED J_WRITE_EXPECTED=$EXT_WRITE_EXPECTED \
        J_PROBLEMS=$problems J_COMMAND=$cmd J_URL=$url J_CASES=$EXT_CASES J_EXCLUDE=$EXT_EXCLUDE \
        J_WALL=$((SECONDS - t0)) J_TESTSUITE=$TESTSUITE J_RUNNER=$([ "$USE_DOCKER" = 1 ] && echo Docker || echo bootstrapped) \
        python3 - <<'EOF'
# The gate of an external run (the rules are in the script's header).
import ast, datetime, json, os, sys

e = os.environ
d, role, agent = e["J_DIR"], e["J_ROLE"], e["J_AGENT"]
expected_path, write_path = e["J_EXPECTED"], e["J_WRITE_EXPECTED"]
problems = [p for p in e["J_PROBLEMS"].split("\n") if p]
OUTCOMES = ["OK", "INFORMATIONAL", "UNIMPLEMENTED", "NON-STRICT", "WRONG CODE", "UNCLEAN",
            "FAILED BY CLIENT", "FAILED"]
SECTIONS = {1: "Framing", 2: "Pings/Pongs", 3: "Reserved Bits", 4: "Opcodes", 5: "Fragmentation",
            6: "UTF-8 Handling", 7: "Close Handling", 9: "Limits/Performance", 10: "Misc",
            12: "WebSocket Compression (different payloads)",
            13: "WebSocket Compression (different parameters)"}


def key(case):
    return tuple(int(x) for x in case.split("."))


def rank(b):
    return OUTCOMES.index(b) if b in OUTCOMES else len(OUTCOMES)


def outcome(r):
    return max(r["behavior"], r["behaviorClose"], key=rank)


def describe(r):
    code = r.get("remoteCloseCode")
    return (f"behavior {r.get('behavior')}, behaviorClose {r.get('behaviorClose')}, "
            f"remoteCloseCode {'none' if code is None else code}")


def same(a, b):
    return all(a.get(k) == b.get(k) for k in ("behavior", "behaviorClose", "remoteCloseCode"))


# The selected cases: the testsuite prints them as it starts ("Cases = ['1.1.1', ...]").
selected = None
with open(os.path.join(d, "wstest.log"), errors="replace") as f:
    for line in f:
        if line.startswith("Cases = "):
            selected = sorted({str(c) for c in ast.literal_eval(line[len("Cases = "):].strip())}, key=key)
            break
if selected is None:
    problems.append("the testsuite did not print the list of selected cases (see wstest.log)")
elif not selected:
    problems.append("no case matches the selection")

with open(os.path.join(d, "index.json")) as f:
    index = json.load(f)
others = sorted(a for a in index if a != agent)
if others:
    problems.append(f"the report holds agent(s) {', '.join(others)} besides {agent}")
if agent not in index:
    problems.append(f"the report holds no result for agent {agent}")
results = {}
for case, v in index.get(agent, {}).items():
    results[case] = {"behavior": v.get("behavior"), "behaviorClose": v.get("behaviorClose"),
                     "remoteCloseCode": v.get("remoteCloseCode"), "duration": v.get("duration") or 0}

findings = {}
judged = selected if selected is not None else sorted(results, key=key)
for case in judged:
    if case not in results:
        findings[case] = "missing"
for case in results:
    if selected is not None and case not in selected:
        findings[case] = f"case {case}: in the report, but not selected"
if expected_path:
    with open(expected_path) as f:
        expected = json.load(f)
    rule = f"every selected case equal to its entry in `{expected_path}` (behavior, behaviorClose, remoteCloseCode)"
    for case in judged:
        got, want = results.get(case), expected.get(case)
        if got is None:
            continue
        if want is None:
            findings[case] = f"case {case}: {describe(got)}; not in the expected file"
        elif not same(got, want):
            findings[case] = f"case {case}: {describe(got)} (expected {describe(want)})"
else:
    rule = ("every case OK or INFORMATIONAL (an implementation without permessage-deflate leaves "
            "12.* and 13.* out with --exclude-cases); no expected-results file")

    def allowed(b):
        return b in ("OK", "INFORMATIONAL")

    for case, r in results.items():
        if not (allowed(r["behavior"]) and allowed(r["behaviorClose"])):
            findings.setdefault(case, f"case {case}: {describe(r)}")

cols = OUTCOMES + sorted({outcome(r) for r in results.values()} - set(OUTCOMES))
tally = {c: 0 for c in cols}
sections = {}
for case, r in results.items():
    tally[outcome(r)] += 1
    s = sections.setdefault(key(case)[0], {"cases": 0, "duration_ms": 0, **{c: 0 for c in cols}})
    s["cases"] += 1
    s[outcome(r)] += 1
    s["duration_ms"] += r["duration"]
bad_present = sum(1 for c in findings if c in results)
cases_passed = len(results) - bad_present
cases_failed = len(findings) + (1 if problems else 0)
passed = not findings and not problems
# Cases missing from the report are listed on one line (a server that died leaves many).
missing = [c for c in sorted(findings, key=key) if c not in results]
finding_list = [findings[c] for c in sorted(findings, key=key) if c in results]
if missing:
    finding_list.insert(0, f"{len(missing)} selected case{'s' if len(missing) > 1 else ''} "
                           f"missing from the report: {', '.join(missing)}")
not_ok = [f"{c} ({describe(results[c])})" for c in sorted(results, key=key)
          if outcome(results[c]) != "OK"]
finished = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

meta = {"role": role, "agent": agent, "command": e["J_COMMAND"], "url": e["J_URL"],
        "cases": e["J_CASES"], "exclude-cases": e["J_EXCLUDE"], "wall_seconds": int(e["J_WALL"]),
        "testsuite": e["J_TESTSUITE"], "runner": e["J_RUNNER"], "finished": finished}
with open(os.path.join(d, "meta.json"), "w") as f:
    json.dump(meta, f, indent=2)
    f.write("\n")
summary = {"role": role, "agent": agent, "passed": passed, "rule": rule,
           "expected": expected_path or None,
           "cases_selected": None if selected is None else len(selected),
           "cases_reported": len(results), "cases_passed": cases_passed,
           "cases_failed": cases_failed, "tally": tally,
           "sections": {str(s): v for s, v in sorted(sections.items())},
           "missing": missing, "findings": finding_list, "problems": problems, "meta": meta}
with open(os.path.join(d, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")

if write_path:
    lines = []
    for case in sorted(results, key=key):
        r = results[case]
        code = "null" if r["remoteCloseCode"] is None else json.dumps(r["remoteCloseCode"])
        lines.append(f'  "{case}": {{"behavior": {json.dumps(r["behavior"])}, "behaviorClose": '
                     f'{json.dumps(r["behaviorClose"])}, "remoteCloseCode": {code}}}')
    with open(write_path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + ("\n" if lines else "") + "}\n")
    print(f"gate: wrote {write_path} ({len(lines)} cases)", file=sys.stderr)

kind = "server, driven by the testsuite's fuzzingclient" if role.endswith("server") \
    else "client, driving the testsuite's fuzzingserver"
out = [f"# Autobahn|Testsuite results for `{agent}` (external {kind})", "",
       f"Generated by `scripts/autobahn.sh --{role.split('-')[1]}-cmd` on {finished} with the "
       f"{e['J_RUNNER']} testsuite ({e['J_TESTSUITE']}); wall time {e['J_WALL']} s.", "",
       f"- command: `{e['J_COMMAND']}`",
       f"- URL: `{e['J_URL']}`; cases `{e['J_CASES']}`"
       + (f", excluding `{e['J_EXCLUDE']}`" if e["J_EXCLUDE"] else "")
       + (f": {len(selected)} selected" if selected is not None else ""),
       f"- rule: {rule}",
       f"- gate: **{'PASSED' if passed else 'FAILED'}**, {cases_passed} passed, {cases_failed} failed", "",
       "| section | cases | " + " | ".join(cols) + " | case time |",
       "|---|---:" + "|---:" * len(cols) + "|---:|"]
for s, v in sorted(sections.items()):
    out.append(f"| {s} {SECTIONS.get(s, '')} | {v['cases']} | " + " | ".join(str(v[c]) for c in cols)
               + f" | {v['duration_ms'] / 1000:.1f} s |")
out.append(f"| all | {len(results)} | " + " | ".join(str(tally[c]) for c in cols) + " | |")
if not_ok:
    out += ["", "Cases not OK: " + "; ".join(not_ok) + "."]
if finding_list or problems:
    out += ["", "Problems:", ""] + [f"- {p}" for p in problems + finding_list]
text = "\n".join(out) + "\n"
with open(os.path.join(d, "SUMMARY.md"), "w") as f:
    f.write(text)
print(text)
for p in problems + finding_list:
    print(f"gate: {role}: {p}", file=sys.stderr)
print(f"{role} agent {agent}: {len(results)} cases"
      + (f" of {len(selected)} selected" if selected is not None else "") + ": "
      + ", ".join(f"{c} {tally[c]}" for c in cols))
print(f"gate: {'PASSED' if passed else 'FAILED'}", file=sys.stderr)
print(f"gate: {cases_passed} passed, {cases_failed} failed")
sys.exit(0 if passed else 1)
EOF
}

if [ "$MODE" = external ]; then
    parse_external_args "$@"
    prepare_external_dir
fi
setup_testsuite
if [ "$MODE" = setup ]; then
    log "wstest: ${WSTEST[*]} ($CASE_TOTAL cases)"
    exit 0
fi
if [ "$MODE" = external ]; then
    run_external
    exit
fi
build_testees
roles=$MODE
[ "$MODE" = all ] && roles=server,client,tokio-server,tokio-client
run_role() {
    case $1 in
    *server) run_server_role "$1" ;;
    *client) run_client_role "$1" ;;
    esac
}
# The roles run JOBS at a time, each in a subshell of its own (with its own cleanup), in the order
# given: each role has its own port, testee and report directory, and most of a role's time is
# the testsuite's single-threaded Python, so on two cores two roles take little longer than one.
JOBS=${WSPC_AUTOBAHN_JOBS:-2}
case $JOBS in '' | *[!0-9]* | 0) die "WSPC_AUTOBAHN_JOBS must be a positive number, not '$JOBS'" ;; esac
batch=()
failed=()
run_batch() {
    local role pids=() i
    if [ "$JOBS" = 1 ]; then
        run_role "${batch[0]}" || failed+=("${batch[0]}")
    else
        for role in "${batch[@]}"; do
            (
                PIDS=()
                PGIDS=()
                trap cleanup EXIT
                run_role "$role"
            ) &
            pids+=($!)
            PIDS+=($!)
        done
        for i in "${!pids[@]}"; do
            wait "${pids[$i]}" || failed+=("${batch[$i]}")
        done
    fi
    batch=()
}
for role in ${roles//,/ }; do
    batch+=("$role")
    [ "${#batch[@]}" -lt "$JOBS" ] || run_batch
done
[ "${#batch[@]}" = 0 ] || run_batch
[ "${#failed[@]}" = 0 ] || die "role(s) ${failed[*]} did not complete (see their logs under $REPORTS/)"
"$TARGET_DIR/release/gate" --roles "$roles"
