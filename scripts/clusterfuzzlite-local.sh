#!/usr/bin/env bash
# Tests .clusterfuzzlite/build.sh outside Docker: a copy of the tree as $SRC/wspc, with SRC, OUT
# and WORK set to temporary directories, then checks that every fuzz target has its binary, seed
# corpus and dictionary in $OUT, and runs each binary over its unzipped seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SRC=$tmp/src OUT=$tmp/out WORK=$tmp/work
mkdir -p "$SRC/wspc" "$OUT" "$WORK"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$SRC/wspc" 2>/dev/null || true
bash .clusterfuzzlite/build.sh
for src in fuzz/fuzz_targets/*.rs; do
  t=$(basename "${src%.rs}")
  for f in "$OUT/$t" "$OUT/${t}_seed_corpus.zip" "$OUT/$t.dict"; do
    [ -s "$f" ] || { echo "clusterfuzzlite: missing $f" >&2; exit 1; }
  done
  mkdir -p "$tmp/seeds/$t"
  unzip -q -o "$OUT/${t}_seed_corpus.zip" -d "$tmp/seeds/$t"
  "$OUT/$t" -runs=0 -dict="$OUT/$t.dict" "$tmp/seeds/$t" >"$tmp/$t.log" 2>&1 ||
    { tail -n 30 "$tmp/$t.log"; echo "clusterfuzzlite: $t fails on its seeds" >&2; exit 1; }
  echo "clusterfuzzlite: $t ok ($(find "$tmp/seeds/$t" -type f | wc -l) seeds)"
done
echo "clusterfuzzlite: build.sh works locally"
