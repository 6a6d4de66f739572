#!/usr/bin/env bash
# CI smoke test of the fuzz targets: build every target (cargo-fuzz on nightly, AddressSanitizer,
# debug assertions), run each for FUZZ_SMOKE_SECONDS (default 30) from the committed seeds and
# regressions, and fail on any crash, timeout, leak or OOM. New corpus entries go to a temporary
# directory, so the tree is left as it was. Then checks that .clusterfuzzlite/build.sh works
# locally (scripts/clusterfuzzlite-local.sh), unless FUZZ_SMOKE_CLUSTERFUZZLITE=0 (.ci/run runs
# that check as a step of its own, after it has freed the disk space of this build).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SMOKE_SECONDS:-30}
triple=x86_64-unknown-linux-gnu

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.'; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi

cd fuzz
cargo +nightly fuzz build -a
mapfile -t targets < <(cargo +nightly fuzz list)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$tmp/$t/corpus" "$tmp/$t/artifacts"
  seeds=("corpus/$t")
  [ -d "regressions/$t" ] && seeds+=("regressions/$t")
  case $t in
    handshake_* | http_*) dict=dict/handshake.dict ;;
    utf8_*) dict=dict/utf8.dict ;;
    *) dict=dict/frame.dict ;;
  esac
  printf '== %s: %ss\n' "$t" "$seconds"
  if ! "target/$triple/release/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -dict="$dict" -artifact_prefix="$tmp/$t/artifacts/" \
    "$tmp/$t/corpus" "${seeds[@]}" >"$tmp/$t/log" 2>&1 ||
    [ -n "$(ls -A "$tmp/$t/artifacts")" ]; then
    failed+=("$t")
    grep -E 'panicked|ERROR|SUMMARY|Test unit|Base64' "$tmp/$t/log" | head -n 20 || tail -n 40 "$tmp/$t/log"
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|DONE' "$tmp/$t/log" || true
done
cd ..
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz smoke FAILED: ${failed[*]} (reproduce: cd fuzz && cargo +nightly fuzz run -a TARGET INPUT)"
  exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets, ${seconds}s each, no crash"

if [ "${FUZZ_SMOKE_CLUSTERFUZZLITE:-1}" != 0 ]; then
  scripts/clusterfuzzlite-local.sh
fi
