#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build for Rust: `cargo fuzz build -O` of every target in fuzz/, each
# binary copied to $OUT with its seed corpus ($OUT/<target>_seed_corpus.zip: the committed seeds
# and past crashes) and its dictionary ($OUT/<target>.dict).
#
# Runs in the base-builder-rust image (whose default toolchain is nightly and whose cargo adds the
# sanitizer flags for $SANITIZER), and locally with SRC and OUT (and optionally WORK) set to
# temporary directories: scripts/clusterfuzzlite-local.sh does that and runs each binary.
cd "$SRC/wspc/fuzz"

if rustc --version | grep -q nightly; then cargo=(cargo); else cargo=(cargo +nightly); fi
target_dir=${WORK:-$PWD/target}/cflite-target
sanitizer=()
case ${SANITIZER:-address} in
  address) sanitizer=(--sanitizer=address) ;;
  memory) sanitizer=(--sanitizer=memory) ;;
  undefined | coverage) sanitizer=(--sanitizer=none) ;;
esac
"${cargo[@]}" fuzz build -O --debug-assertions "${sanitizer[@]}" --target-dir "$target_dir"

release=$target_dir/x86_64-unknown-linux-gnu/release
for src in fuzz_targets/*.rs; do
  name=$(basename "${src%.rs}")
  cp "$release/$name" "$OUT/"
  rm -f "$OUT/${name}_seed_corpus.zip"
  dirs=()
  for d in "corpus/$name" "regressions/$name"; do [ -d "$d" ] && dirs+=("$d"); done
  if [ ${#dirs[@]} -gt 0 ]; then
    find "${dirs[@]}" -type f -print | zip -q -j "$OUT/${name}_seed_corpus.zip" -@
  fi
  case $name in
    handshake_* | http_*) dict=dict/handshake.dict ;;
    utf8_*) dict=dict/utf8.dict ;;
    *) dict=dict/frame.dict ;;
  esac
  cp "$dict" "$OUT/$name.dict"
done
