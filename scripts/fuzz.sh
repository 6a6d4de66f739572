#!/usr/bin/env bash
# A recorded fuzzing campaign: scripts/fuzz.sh [TARGET[=SECONDS][,TARGET…]|all|report] [SECONDS]
#                                                                     (default: all 600)
#
# TARGET=SECONDS gives one target its own time. FUZZ_JOBS=N (default 1) runs the targets in N
# lanes at once (each lane one job at a time): on a 2-core machine FUZZ_JOBS=2 halves the wall
# time of `all`, and nothing else should run meanwhile.
#
# Installs cargo-fuzz 0.13.2 if missing and uses the installed nightly (`cargo +nightly fuzz`:
# stable refuses the sanitizer flags). Builds every target once (AddressSanitizer, debug
# assertions; FUZZ_SANITIZER=none builds without a sanitizer: 4-5x the execs/s for the safe-code
# targets, whose memory errors Rust's own checks already catch, and then every merged corpus is
# replayed once under ASan, built apart in fuzz/target/asan-replay), then runs the targets one after the other, one job each, for SECONDS, over the
# committed seeds (fuzz/corpus/T), the past crashes (fuzz/regressions/T) and the growing corpus
# (fuzz/work/T, git-ignored), with the target's dictionary. Progress is printed every 30 s.
# Afterwards the corpus is merged (minimised) into fuzz/work/T, line coverage of the product crates (core/wspc/src, core/capi/src) is
# measured with `cargo +nightly fuzz coverage` and the nightly llvm-tools, and
# reports/fuzz/summary.json and reports/fuzz/SUMMARY.md are written (targets not run this time
# keep their previous entry; `report` only measures the union of line coverage again and rewrites them). Exits non-zero if any target crashed, timed out or leaked; the
# input is then in fuzz/artifacts/T/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
what=${1:-all}
seconds=${2:-600}
sanitizer=${FUZZ_SANITIZER:-address}
triple=x86_64-unknown-linux-gnu
say() { printf '[fuzz %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.'; then
  say "installing cargo-fuzz 0.13.2"
  cargo install cargo-fuzz --locked --version 0.13.2
fi
sysroot=$(rustc +nightly --print sysroot)
llvm_bin=$sysroot/lib/rustlib/$triple/bin
if [ ! -x "$llvm_bin/llvm-cov" ]; then
  say "adding the nightly llvm-tools component (for line coverage)"
  rustup +nightly component add llvm-tools-preview || say "no llvm-tools: line coverage skipped"
fi

cd fuzz
mapfile -t all < <(cargo +nightly fuzz list)
if [ "$what" = report ]; then
  # Only rewrite the reports from summary.json and the coverage profiles already measured.
  targets=()
elif [ "$what" = all ]; then
  # The stateful targets first: they are the likeliest to find something.
  first=(session_server session_client capi)
  targets=()
  for t in "${first[@]}" "${all[@]}"; do
    printf '%s\n' "${all[@]}" | grep -qx "$t" && [[ " ${targets[*]} " != *" $t "* ]] && targets+=("$t")
  done
else
  IFS=, read -r -a targets <<<"$what"
fi
declare -A time_of=()
for i in "${!targets[@]}"; do
  t=${targets[$i]%%=*}
  [[ ${targets[$i]} == *=* ]] && time_of[$t]=${targets[$i]#*=}
  targets[i]=$t
  printf '%s\n' "${all[@]}" | grep -qx "$t" || { echo "unknown target $t (have: ${all[*]})" >&2; exit 2; }
done

if [ ${#targets[@]} -gt 0 ]; then
  say "building ${#targets[@]} target(s): ASan, debug assertions"
  cargo +nightly fuzz build -a -s "$sanitizer"
  # `capi`'s harness reaches the library only through the extern "C" functions, which are
  # compiled (and instrumented) in wspc-capi and wspc. Built apart with the test kit itself
  # uninstrumented (tools/rustc-wrapper), the harness's own branches no longer cost libFuzzer's
  # per-feature bookkeeping: about 1.3x the execs/s. The other harnesses instantiate the engine's
  # generic and inline code inside the test kit, so they keep it instrumented.
  if [[ " ${targets[*]} " == *" capi "* ]]; then
    say "building capi apart, the test kit uninstrumented"
    WSPC_FUZZ_UNINSTRUMENTED=wspc_testkit cargo +nightly fuzz build -a -s "$sanitizer" \
      --target-dir target/capi-harness capi
  fi
fi
# The directory of target $1's binary.
bin_of() {
  if [ "$1" = capi ]; then
    echo "$root/fuzz/target/capi-harness/$triple/release"
  else
    echo "$root/fuzz/target/$triple/release"
  fi
}

# Keeps the whole libFuzzer output in $log and shows status lines, at most one every 30 s.
progress() {
  local t=$1 last=0 start=$SECONDS line
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    if [[ $line =~ (pulse|DONE|INITED|ERROR|SUMMARY|panicked|Test\ unit) ]] ||
      { [[ $line == *cov:* ]] && ((SECONDS - last >= 30)); }; then
      printf '  [%s %ds] %s\n' "$t" $((SECONDS - start)) "$line"
      last=$SECONDS
    fi
  done
}

dict_for() {
  case $1 in
    handshake_* | http_*) echo dict/handshake.dict ;;
    utf8_*) echo dict/utf8.dict ;;
    *) echo dict/frame.dict ;;
  esac
}

mkdir -p work/logs "$root/reports/fuzz"
results=$root/fuzz/work/results.jsonl
: >"$results"

# One target: run, merge, measure coverage, and append its record to the file $2. Returns 1 if it
# crashed, timed out or leaked.
run_target() {
  local t=$1 results=$2 seconds=${time_of[$1]:-$seconds} log before start status elapsed crashes lines
  local failed=0
  mkdir -p "work/$t" "artifacts/$t" "corpus/$t" "regressions/$t"
  log=work/logs/$t.log
  : >"$log"
  before=$(find "artifacts/$t" -type f | wc -l)
  say "$t: ${seconds}s, dictionary $(dict_for "$t"), $(find "work/$t" -type f | wc -l) corpus + $(find "corpus/$t" -type f | wc -l) seeds + $(find "regressions/$t" -type f | wc -l) regressions"
  start=$SECONDS
  set +e
  "$(bin_of "$t")/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -dict="$(dict_for "$t")" -artifact_prefix="artifacts/$t/" \
    "work/$t" "corpus/$t" "regressions/$t" 2>&1 | progress "$t"
  status=${PIPESTATUS[0]}
  set -e
  elapsed=$((SECONDS - start))
  crashes=$(($(find "artifacts/$t" -type f | wc -l) - before))
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    say "$t: FAILED (exit $status, $crashes new artifact(s) in fuzz/artifacts/$t)"
  fi

  say "$t: merging the corpus"
  rm -rf "work/$t.merged" && mkdir -p "work/$t.merged"
  "$(bin_of "$t")/$t" -merge=1 -timeout=10 -rss_limit_mb=2048 "work/$t.merged" "work/$t" "corpus/$t" "regressions/$t" \
    >"work/logs/$t.merge.log" 2>&1 || say "$t: merge failed (see fuzz/work/logs/$t.merge.log)"
  if [ -n "$(ls -A "work/$t.merged")" ]; then
    rm -rf "work/$t" && mv "work/$t.merged" "work/$t"
  fi

  lines=null
  if [ -x "$llvm_bin/llvm-cov" ]; then
    say "$t: line coverage"
    if cargo +nightly fuzz coverage "$t" "work/$t" >"work/logs/$t.coverage.log" 2>&1; then
      "$llvm_bin/llvm-cov" export -summary-only \
        -instr-profile="coverage/$t/coverage.profdata" \
        "target/$triple/coverage/$triple/release/$t" >"work/$t.coverage.json" 2>/dev/null &&
        lines=$(python3 - "work/$t.coverage.json" <<'EOF'
import json, sys
files = json.load(open(sys.argv[1]))["data"][0]["files"]
core = [f for f in files if "/core/wspc/src/" in f["filename"] or "/core/capi/src/" in f["filename"]]
covered = sum(f["summary"]["lines"]["covered"] for f in core)
count = sum(f["summary"]["lines"]["count"] for f in core)
per = {f["filename"].split("/core/")[1]: round(100 * f["summary"]["lines"]["percent"]) / 100 for f in core if f["summary"]["lines"]["covered"]}
print(json.dumps({"covered": covered, "count": count, "percent": round(10000 * covered / max(count, 1)) / 100, "files": per}))
EOF
        ) || lines=null
    else
      say "$t: coverage failed (see fuzz/work/logs/$t.coverage.log)"
    fi
  fi

  python3 - "$log" "$t" "$elapsed" "$crashes" "$(find "work/$t" -type f | wc -l)" "$lines" "$status" "$sanitizer" >>"$results" <<'EOF'
import datetime, json, re, sys
log, name, elapsed, crashes, corpus, lines, status, sanitizer = sys.argv[1:]
text = open(log, errors="replace").read()
stat = dict(re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M))
cov = re.findall(r"cov: (\d+) ft: (\d+)", text)
edges, features = (int(cov[-1][0]), int(cov[-1][1])) if cov else (0, 0)
print(json.dumps({
    "name": name,
    "seconds": int(elapsed),
    "execs": int(stat.get("number_of_executed_units", 0)),
    "execs_per_s": int(stat.get("average_exec_per_sec", 0)),
    "edges": edges,
    "features": features,
    "corpus": int(corpus),
    "crashes": int(crashes),
    "exit": int(status),
    "peak_rss_mb": int(stat.get("peak_rss_mb", 0)),
    "sanitizer": sanitizer,
    "lines": json.loads(lines),
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
}))
EOF
  say "$t: $(tail -n 1 "$results")"
  return "$failed"
}

jobs=${FUZZ_JOBS:-1}
failed=0
for ((lane = 0; lane < jobs; lane++)); do
  (
    lane_failed=0
    for i in "${!targets[@]}"; do
      ((i % jobs == lane)) || continue
      run_target "${targets[$i]}" "work/results.$lane.jsonl" || lane_failed=1
    done
    exit "$lane_failed"
  ) &
done
for ((lane = 0; lane < jobs; lane++)); do
  wait -n || failed=1
done
for ((lane = 0; lane < jobs; lane++)); do
  [ -f "work/results.$lane.jsonl" ] && cat "work/results.$lane.jsonl" >>"$results" && rm "work/results.$lane.jsonl"
done

# A campaign without a sanitizer is fast but blind to memory errors in unsafe code (the C ABI):
# replay every input of each merged corpus once under AddressSanitizer, built apart.
if [ "$sanitizer" = none ] && [ ${#targets[@]} -gt 0 ]; then
  say "replaying the merged corpora under AddressSanitizer"
  cargo +nightly fuzz build -a -s address --target-dir target/asan-replay
  for t in "${targets[@]}"; do
    n=$(find "work/$t" -type f | wc -l)
    if target/asan-replay/$triple/release/$t -runs=0 -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="artifacts/$t/" "work/$t" >"work/logs/$t.asan-replay.log" 2>&1; then
      say "$t: $n inputs replayed under ASan, clean"
    else
      say "$t: ASan replay FAILED (see fuzz/work/logs/$t.asan-replay.log)"
      failed=1
    fi
  done
fi


# Line coverage of core/wspc/src and core/capi/src by all targets together. Every target binary
# links the whole test kit and engine, so profiles from binaries built from other sources clash
# in the merge (llvm-cov drops the functions whose hashes differ, and files read 0%): the targets
# not run this time are measured again over their corpora, with binaries built from these sources.
union=null
for p in coverage/*/coverage.profdata; do
  [ -e "$p" ] || continue
  t=$(basename "$(dirname "$p")")
  case " ${targets[*]} " in *" $t "*) continue ;; esac
  [ -d "work/$t" ] || continue
  say "$t: measuring line coverage again (for the union)"
  cargo +nightly fuzz coverage "$t" "work/$t" >"work/logs/$t.coverage.log" 2>&1 ||
    say "$t: coverage failed (see fuzz/work/logs/$t.coverage.log)"
done
profiles=(coverage/*/coverage.profdata)
if [ -x "$llvm_bin/llvm-cov" ] && [ -e "${profiles[0]}" ]; then
  objects=()
  for p in "${profiles[@]}"; do
    t=$(basename "$(dirname "$p")")
    b=target/$triple/coverage/$triple/release/$t
    [ -x "$b" ] && objects+=(-object "$b")
  done
  if "$llvm_bin/llvm-profdata" merge -sparse "${profiles[@]}" -o work/all.profdata &&
    "$llvm_bin/llvm-cov" export -summary-only -instr-profile=work/all.profdata "${objects[@]:1}" \
      >work/all.coverage.json 2>/dev/null; then
    union=$(python3 - work/all.coverage.json <<'EOF'
import json, sys
files = {}
for f in json.load(open(sys.argv[1]))["data"][0]["files"]:
    if "/core/wspc/src/" in f["filename"] or "/core/capi/src/" in f["filename"]:
        files[f["filename"].split("/core/")[1]] = f["summary"]["lines"]
covered = sum(l["covered"] for l in files.values())
count = sum(l["count"] for l in files.values())
print(json.dumps({"covered": covered, "count": count, "percent": round(10000 * covered / max(count, 1)) / 100,
                  "files": {k: round(l["percent"], 2) for k, l in sorted(files.items())}}))
EOF
    ) || union=null
  fi
fi

python3 - "$results" "$root/reports/fuzz" "$seconds" "$union" <<'EOF'
import datetime, json, os, sys
results, out, seconds, union = sys.argv[1:]
union = json.loads(union)
path = os.path.join(out, "summary.json")
old = json.load(open(path))["targets"] if os.path.exists(path) else []
new = []
for line in open(results):
    r = json.loads(line)
    r["command"] = f"FUZZ_SANITIZER={r['sanitizer']} scripts/fuzz.sh {r['name']} {r['seconds']}"
    new.append(r)
names = [r["name"] for r in new]
targets = [r for r in old if r["name"] not in names] + new
order = ["frame_header", "session_server", "session_client", "handshake_request", "handshake_response", "utf8_stream", "capi", "http_head", "driver", "deflate"]
targets.sort(key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
summary = {"targets": targets}
if union:
    summary["all_targets_lines"] = union
json.dump(summary, open(path, "w"), indent=2)
open(path, "a").write("\n")

md = ["# Fuzzing summary", "",
      "Written by `scripts/fuzz.sh` (cargo-fuzz 0.13.2, libFuzzer, debug assertions, the sanitizer of each row:",
      "`address` is AddressSanitizer + LeakSanitizer, `none` is Rust's own checks only;",
      "one job per target, `FUZZ_JOBS` targets side by side). Edges and features are libFuzzer's `cov:` and `ft:` at the end of the",
      "run; line coverage is of the product crates' sources, `core/wspc/src/` and `core/capi/src/` (the harnesses in `core/testkit/` excluded), over the merged",
      "corpus, from `cargo +nightly fuzz coverage` and `llvm-cov`. Crashes counts crash, timeout, leak and",
      "OOM artifacts.", "",
      "| target | sanitizer | seconds | execs | execs/s | edges | features | line coverage of core | corpus | crashes | finished |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
for r in targets:
    l = r.get("lines")
    cov = f"{l['percent']:.1f}% ({l['covered']}/{l['count']})" if l else "—"
    md.append(f"| `{r['name']}` | {r.get('sanitizer', 'address')} | {r['seconds']} | {r['execs']:,} | {r['execs_per_s']:,} | {r['edges']} | {r['features']} | {cov} | {r['corpus']} | {r['crashes']} | {r['date']} |")
if union:
    md += ["", f"All targets together cover {union['percent']:.1f}% of the lines of `core/wspc/src/` and `core/capi/src/` "
               f"({union['covered']}/{union['count']}, harnesses excluded):", ""]
    md += [f"- `{k}`: {v:.1f}%" for k, v in union["files"].items()]
md += ["", "## Reproduce", "", "```sh"]
md += [r["command"] for r in targets]
md += ["# one input:", "cd fuzz && cargo +nightly fuzz run -a TARGET path/to/input", "```", "",
       "## Line coverage by file", ""]
for r in targets:
    l = r.get("lines")
    if l:
        files = ", ".join(f"{k} {v:.0f}%" for k, v in sorted(l["files"].items()))
        md.append(f"- `{r['name']}`: {files}")
open(os.path.join(out, "SUMMARY.md"), "w").write("\n".join(md) + "\n")
EOF
say "wrote reports/fuzz/summary.json and reports/fuzz/SUMMARY.md"
exit $failed
