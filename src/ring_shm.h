/* Ring layout (docs/format.md "Ring"): single producer, single consumer.
 *
 * Header, 24 bytes:
 * | off | size | field     | written by          | read by            | order |
 * |-----|------|-----------|---------------------|--------------------|-------|
 * | 0   | 8    | write_pos | producer (CAS, rel) | consumer (acquire) | P1/C1 |
 * | 8   | 8    | read_pos  | consumer (CAS, rel) | producer (acquire) | C2/P2 |
 * | 16  | 4    | capacity  | creator (bytes)     | open               | entry publication (E1) |
 * | 20  | 4    | elem_size | creator             | open               | E1 |
 * Positions count bytes ever written/read; byte position p lives at
 * 24 + p % capacity. capacity is a multiple of elem_size. Total = 24 + capacity.
 *
 * Auxiliary entry "<name>_wait" (docs/format.md "Extensions"): two waitsets,
 * [0] data available (producers notify), [1] space available (consumers notify). */
#ifndef ZIPC_RING_SHM_H
#define ZIPC_RING_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_ring_shm {
    zipc_atomic_u64 write_pos;
    zipc_atomic_u64 read_pos;
    uint32_t capacity;
    uint32_t elem_size;
    /* capacity bytes of data follow */
} zipc_ring_shm;

#define ZIPC_RING_HEADER 24u
#define ZIPC_RING_WAIT_DATA 0
#define ZIPC_RING_WAIT_SPACE 1
#define ZIPC_RING_WAITSETS 2

static_assert(offsetof(zipc_ring_shm, write_pos) == 0, "write_pos @0");
static_assert(offsetof(zipc_ring_shm, read_pos) == 8, "read_pos @8");
static_assert(offsetof(zipc_ring_shm, capacity) == 16, "capacity @16");
static_assert(offsetof(zipc_ring_shm, elem_size) == 20, "elem_size @20");
static_assert(sizeof(zipc_ring_shm) == ZIPC_RING_HEADER, "ring header is 24 bytes");

#endif /* ZIPC_RING_SHM_H */
