#!/bin/sh
# A/B comparison of two versions of the Queue in one program (see queue_ab.c):
#     bench/ab/run.sh [rt|tp] [B-SOURCE [B-CFLAGS]]
# A is src/queue.c as built by `make` (build/libzeroipc.a); B is B-SOURCE
# (default: src/queue.c of git HEAD) compiled with B-CFLAGS. Example: what a
# change in the working tree gains over HEAD, for the round trip:
#     make && bench/ab/run.sh rt
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build}
mode=${1:-rt}
src=${2:-}
flags=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$src" ]; then
    git show HEAD:src/queue.c > "$tmp/queue_b.c"
    src=$tmp/queue_b.c
fi
make -s "$B/libzeroipc.a"
cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -fPIC -DZIPC_BUILDING_LIBRARY \
   -fvisibility=hidden $flags -c "$src" -o "$tmp/b.o"
nm --defined-only -g "$tmp/b.o" | awk '{print $3 " zv_" substr($3, 6)}' > "$tmp/syms"
objcopy --redefine-syms="$tmp/syms" "$tmp/b.o" "$tmp/b_renamed.o"
cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -Ibench \
   $(pkg-config --cflags libdpdk | sed 's/-I/-isystem /g') -DBENCH_WITH_DPDK -DBENCH_WITH_CK \
   -Wno-unused-function -o "$tmp/queue_ab" bench/ab/queue_ab.c "$tmp/b_renamed.o" "$B/libzeroipc.a" \
   -lpthread -lrt $(pkg-config --libs-only-L libdpdk) -lrte_ring
"$tmp/queue_ab" "$mode"
