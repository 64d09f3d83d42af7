#!/usr/bin/env bash
# Install into a temporary prefix (and a DESTDIR staging tree) and build a
# consumer with pkg-config and with CMake's find_package(zeroipc).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$top"
make -s install PREFIX="$tmp/prefix" >/dev/null
make -s install PREFIX=/usr/local DESTDIR="$tmp/stage" >/dev/null
for f in include/zeroipc/zeroipc.h lib/libzeroipc.a lib/libzeroipc.so.0 lib/pkgconfig/zeroipc.pc \
         lib/cmake/zeroipc/zeroipcConfig.cmake; do
  test -e "$tmp/stage/usr/local/$f" || { echo "install check: DESTDIR lacks $f"; exit 1; }
done
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc -std=c11 -Wall -Werror $(pkg-config --cflags zeroipc) tests/install/consumer.c \
   $(pkg-config --libs zeroipc) -o "$tmp/consumer_pc"
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/consumer_pc"
cmake -S tests/install -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/consumer_shared"
"$tmp/cmake/consumer_static"
echo "install check: ok"
