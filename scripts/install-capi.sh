#!/bin/sh
# Build and install wspc's C library (the websocket.h API of Windows' websocket.dll) into PREFIX:
#
#   scripts/install-capi.sh PREFIX
#
# installs
#   PREFIX/lib/libwspc.so        shared library
#   PREFIX/lib/libwspc.a         static library
#   PREFIX/include/websocket.h   the header (core/capi/include/websocket.h)
#   PREFIX/lib/pkgconfig/wspc.pc
#
# after a release build (cargo build --release -p wspc-capi --lib). Then build against it with
#
#   export PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
#   cc app.c $(pkg-config --cflags --libs wspc)            # shared (put PREFIX/lib on the loader
#                                                          # path or add -Wl,-rpath,PREFIX/lib)
#   cc app.c $(pkg-config --cflags wspc) PREFIX/lib/libwspc.a \
#       $(pkg-config --static --libs-only-l wspc | sed 's/-lwspc//')   # static
#
# This is what cargo-c's `cargo cinstall --prefix PREFIX` does, without needing cargo-c.
# Environment: CARGO (default: cargo), CARGO_TARGET_DIR (as for cargo), DESTDIR (prepended to
# every installed path, for staged installs; the .pc file still names PREFIX).
# Tested by core/capi/tests/capi.rs (install_script_and_pkg_config).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
prefix=$1
case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
manifest=$root/core/capi/Cargo.toml

"$cargo" build --release -p wspc-capi --lib --manifest-path "$manifest"

# The target directory as cargo sees it (CARGO_TARGET_DIR, config files or the default).
target=$("$cargo" metadata --format-version 1 --no-deps --manifest-path "$manifest" |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target" ] || { echo "cannot find the target directory" >&2; exit 1; }
pkgid=$("$cargo" pkgid -p wspc-capi --manifest-path "$manifest")
version=${pkgid##*[@#]}

destdir=${DESTDIR:-}
libdir=$destdir$prefix/lib
includedir=$destdir$prefix/include
install -d "$libdir/pkgconfig" "$includedir"
install -m 755 "$target/release/libwspc.so" "$libdir/libwspc.so"
install -m 644 "$target/release/libwspc.a" "$libdir/libwspc.a"
install -m 644 "$root/core/capi/include/websocket.h" "$includedir/websocket.h"

# Libs.private: what Rust's standard library needs from the system when libwspc.a is linked
# statically (rustc --print native-static-libs, Linux).
cat >"$libdir/pkgconfig/wspc.pc" <<EOF
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: wspc
Description: WebSocket Protocol Component API (websocket.h) over a sans-IO RFC 6455 engine
URL: https://github.com/wspc/wspc
Version: $version
Libs: -L\${libdir} -lwspc
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
EOF

echo "installed wspc $version into $destdir$prefix"
