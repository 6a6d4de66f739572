#!/usr/bin/env bash
# Test of the harness for any implementation: `scripts/autobahn.sh --server-cmd/--client-cmd`
# judging a WebSocket server and client that are not wspc, Python `websockets` 17.4
# (scripts/interop/py_autobahn_peer.py, run with the venv that `scripts/interop.sh setup` installs).
#
#   scripts/test-autobahn-external.sh [--corrupt]
#
# Four runs of scripts/autobahn.sh, each on a free loopback port and into its own reports directory
# under a temporary directory (kept, and named, if the test fails):
#   1. server          --server-cmd, cases 1.* 2.* 5.* 7.* but 5.15 and 7.1.5 (82 cases), strict
#                      rule, --write-expected E. Wants exit 0, the 82 cases reported for the agent,
#                      79 OK and 3 INFORMATIONAL (7.1.6, 7.13.1, 7.13.2) and nothing else, the same
#                      tallies in summary.json as counted here from index.json, and E with 82 cases.
#   2. client          --client-cmd (URL and agent appended), the same cases, held to E with
#                      --expected. Wants the same.
#   3. corrupt         --server-cmd with the server's --corrupt (every echo gets a byte more),
#                      cases 1.1.1 and 1.2.1, strict rule. Wants exit 1, both cases FAILED.
#   4. corrupt-expected  the same held to E (whose other 80 entries are not selected, so ignored).
#                      Wants exit 1 and both cases reported as differing from E.
# It also checks that no file under reports/autobahn (wspc's own reports) was written meanwhile.
# websockets' own results outside that selection (NON-STRICT in 3.2-3.4, 4.1.3-5, 4.2.3-5, 5.15,
# 6.4.x and FAILED in 7.1.5, partly timing-dependent) are websockets' business, not the harness's.
#
# --corrupt: run 1 uses the corrupting server, so the test must fail: the test's own negative
# control. Prints `PASS|FAIL <run> (<detail>)` per run and `N passed, M failed`; exits 1 if any failed.
#
# Environment: WSPC_CACHE (as for scripts/interop.sh; the venv is $WSPC_CACHE/interop/venv).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CORRUPT_ALL=0
case "${1:-}" in
"") ;;
--corrupt) CORRUPT_ALL=1 ;;
*)
    echo "usage: $0 [--corrupt]" >&2
    exit 2
    ;;
esac

T0=$SECONDS
VENV=${WSPC_CACHE:-${HOME:-/tmp}/.cache/wspc}/interop/venv
PY=$VENV/bin/python
PEER=$ROOT/scripts/interop/py_autobahn_peer.py
CASES='1.*,2.*,5.*,7.*'
EXCLUDE='5.15,7.1.5'
# Each testsuite run is bounded (the harness's own bound), so a hang costs minutes, not half an hour.
export WSPC_AUTOBAHN_TIMEOUT=${WSPC_AUTOBAHN_TIMEOUT:-300}

log() { printf '[test-autobahn-external] %s\n' "$*" >&2; }

if ! "$PY" -c "import sys, websockets; sys.exit(websockets.__version__ != '17.4')" 2>/dev/null; then
    log "installing the interop peers (scripts/interop.sh setup)"
    scripts/interop.sh setup
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wspc-autobahn-external.XXXXXX")
STAMP=$WORK/started
: >"$STAMP"
EXPECTED=$WORK/expected-python-websockets.json
PASSED=0
FAILED=0

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Check a run's reports. Usage: check NAME DIR AGENT EXIT WANT_EXIT WANT_JSON
# WANT_JSON: {"cases": {section: count}, "tally": {outcome: count} (others must be 0),
#             "informational": [ids], "failed": [ids], "findings": N, "expected_file": N or null}
check() {
    local name=$1 out
    if out=$("$PY" - "$@" <<'EOF'
import json, os, sys

name, d, agent, rc, want_rc, want = sys.argv[1:7]
want = json.loads(want)
errors = []


def need(cond, what):
    if not cond:
        errors.append(what)


need(rc == want_rc, f"exit {rc}, wanted {want_rc}")
try:
    index = json.load(open(os.path.join(d, "index.json")))
    summary = json.load(open(os.path.join(d, "summary.json")))
except (OSError, ValueError) as e:
    print(f"no reports: {e}")
    sys.exit(1)
need(list(index) == [agent], f"agents {list(index)}, wanted [{agent!r}]")
results = index.get(agent, {})
order = ["OK", "INFORMATIONAL", "UNIMPLEMENTED", "NON-STRICT", "WRONG CODE", "UNCLEAN",
         "FAILED BY CLIENT", "FAILED"]


def outcome(r):
    return max(r["behavior"], r["behaviorClose"], key=order.index)


# Tallies counted here from the testsuite's own index.json.
sections, tally = {}, {o: 0 for o in order}
for case, r in results.items():
    sections[case.split(".")[0]] = sections.get(case.split(".")[0], 0) + 1
    tally[outcome(r)] += 1
need(sections == want["cases"], f"cases per section {sections}, wanted {want['cases']}")
wanted_tally = {o: want["tally"].get(o, 0) for o in order}
need(tally == wanted_tally, f"tally {tally}, wanted {wanted_tally}")
for o, ids in (("INFORMATIONAL", want.get("informational", [])), ("FAILED", want.get("failed", []))):
    got = sorted(c for c, r in results.items() if outcome(r) == o)
    need(got == sorted(ids), f"{o} cases {got}, wanted {sorted(ids)}")
# The harness's summary agrees with the count, and with the verdict.
total = sum(want["cases"].values())
need(summary["tally"] == tally, f"summary.json tally {summary['tally']} differs from index.json's")
need(summary["cases_selected"] == total, f"summary.json: {summary['cases_selected']} cases selected, wanted {total}")
need(summary["cases_reported"] == total, f"summary.json: {summary['cases_reported']} cases reported")
need(summary["missing"] == [], f"summary.json: missing cases {summary['missing']}")
need(summary["passed"] == (want_rc == "0"), f"summary.json: passed is {summary['passed']}")
need(len(summary["findings"]) == want["findings"], f"{len(summary['findings'])} findings, wanted {want['findings']}: {summary['findings'][:3]}")
need(summary["problems"] == [], f"problems {summary['problems']}")
if want.get("expected_differs"):
    need(all("(expected behavior OK" in f for f in summary["findings"]), f"findings not against the expected file: {summary['findings']}")
need(os.path.isfile(os.path.join(d, "SUMMARY.md")), "no SUMMARY.md")
if want.get("expected_file") is not None:
    path = want["expected_file_path"]
    n = len(json.load(open(path))) if os.path.isfile(path) else None
    need(n == want["expected_file"], f"{path} holds {n} cases, wanted {want['expected_file']}")
if errors:
    print("; ".join(errors))
    sys.exit(1)
print(f"exit {rc}; {len(results)} cases: " + ", ".join(f"{o} {n}" for o, n in tally.items() if n))
EOF
    ); then
        echo "PASS $name ($out)"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL $name ($out; reports in $2)"
        FAILED=$((FAILED + 1))
    fi
}

# One run of the harness; its output goes to DIR.log. Usage: harness NAME ARGS...; sets RC.
harness() {
    local name=$1
    shift
    log "run $name: scripts/autobahn.sh$(printf ' %q' "$@")"
    RC=0
    scripts/autobahn.sh "$@" >"$WORK/$name.log" 2>&1 || RC=$?
    tail -n 1 "$WORK/$name.log" >&2
}

# What each run must give (see check).
good() {
    printf '{"cases": {"1": 16, "2": 11, "5": 19, "7": 36}, "tally": {"OK": 79, "INFORMATIONAL": 3}, "informational": ["7.1.6", "7.13.1", "7.13.2"], "findings": 0, "expected_file": %s, "expected_file_path": "%s"}' "$1" "$EXPECTED"
}
bad() {
    printf '{"cases": {"1": 2}, "tally": {"FAILED": 2}, "failed": ["1.1.1", "1.2.1"], "findings": 2, "expected_differs": %s}' "$1"
}
FLAG=
[ "$CORRUPT_ALL" = 0 ] || FLAG=" --corrupt"

port=$(free_port)
harness server --server-cmd "$PY $PEER server 127.0.0.1:{port}$FLAG" --port "$port" \
    --agent python-websockets --cases "$CASES" --exclude-cases "$EXCLUDE" \
    --reports "$WORK/server" --write-expected "$EXPECTED"
check server "$WORK/server" python-websockets "$RC" 0 "$(good 82)"

port=$(free_port)
harness client --client-cmd "$PY $PEER client" --port "$port" --agent python-websockets-client \
    --cases "$CASES" --exclude-cases "$EXCLUDE" --reports "$WORK/client" --expected "$EXPECTED"
check client "$WORK/client" python-websockets-client "$RC" 0 "$(good null)"

port=$(free_port)
harness corrupt --server-cmd "$PY $PEER server {addr} --corrupt" --port "$port" \
    --agent python-websockets-corrupt --cases '1.1.1,1.2.1' --reports "$WORK/corrupt"
check corrupt "$WORK/corrupt" python-websockets-corrupt "$RC" 1 "$(bad false)"

port=$(free_port)
harness corrupt-expected --server-cmd "$PY $PEER server {addr} --corrupt" --port "$port" \
    --agent python-websockets-corrupt --cases '1.1.1 1.2.1' --reports "$WORK/corrupt-expected" \
    --expected "$EXPECTED"
check corrupt-expected "$WORK/corrupt-expected" python-websockets-corrupt "$RC" 1 "$(bad true)"

# wspc's own reports: nothing under reports/autobahn was written by these runs.
touched=$(find reports/autobahn -newer "$STAMP" 2>/dev/null | head -n 5 || true)
if [ -z "$touched" ]; then
    echo "PASS wspc-reports-untouched (nothing under reports/autobahn changed)"
    PASSED=$((PASSED + 1))
else
    echo "FAIL wspc-reports-untouched (written meanwhile: $(tr '\n' ' ' <<<"$touched")- by these runs, or by another run of scripts/autobahn.sh at the same time)"
    FAILED=$((FAILED + 1))
fi

echo "$PASSED passed, $FAILED failed ($((SECONDS - T0)) s)"
if [ "$FAILED" = 0 ]; then
    rm -rf "$WORK"
else
    log "reports and logs kept in $WORK"
    exit 1
fi
