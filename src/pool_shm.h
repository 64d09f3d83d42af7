/* Pool layout (docs/format.md "Pool"; the C++ implementation's layout).
 *
 * Header, 24 bytes:
 * | off | size | field     | written by        | read by     | order |
 * |-----|------|-----------|-------------------|-------------|-------|
 * | 0   | 8    | free_head | alloc/free (CAS)  | alloc/free  | A1/R1 |
 * | 8   | 4    | allocated | alloc/free        | allocated() | relaxed counter |
 * | 12  | 4    | padding   | creator (0)       | nobody      | |
 * | 16  | 4    | capacity  | creator           | open        | entry publication (E1) |
 * | 20  | 4    | elem_size | creator           | open        | E1 |
 * free_head = generation << 32 | index; index 0xFFFFFFFF = empty list.
 *
 * Nodes at +24, node_size bytes each: {T data @0; atomic u32 next @next_off}
 * next_off = align(elem_size, 4); node_size = align(next_off + 4, max(elem_align, 4)).
 * next: the free-list successor, written by a freeing process before R1.
 * Total = 24 + node_size * capacity. Init: free_head 0, next[i] = i + 1, last
 * next = 0xFFFFFFFF.
 *
 * Auxiliary entry "<name>_own" (this library's extension, docs/format.md
 * "Extensions"): capacity u32 node states, UNKNOWN 0 (made by another
 * implementation), ALLOCATED 1, FREE 2; the creator sets all to FREE. */
#ifndef ZIPC_POOL_SHM_H
#define ZIPC_POOL_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_pool_shm {
    zipc_atomic_u64 free_head;
    zipc_atomic_u32 allocated;
    uint32_t padding;
    uint32_t capacity;
    uint32_t elem_size;
    /* capacity nodes follow */
} zipc_pool_shm;

#define ZIPC_POOL_HEADER 24u
#define ZIPC_POOL_NONE 0xFFFFFFFFu
#define ZIPC_POOL_OWN_SUFFIX "_own"

enum {
    ZIPC__NODE_UNKNOWN = 0,
    ZIPC__NODE_ALLOCATED = 1,
    ZIPC__NODE_FREE = 2,
};

static_assert(offsetof(zipc_pool_shm, free_head) == 0, "free_head @0");
static_assert(offsetof(zipc_pool_shm, allocated) == 8, "allocated @8");
static_assert(offsetof(zipc_pool_shm, padding) == 12, "padding @12");
static_assert(offsetof(zipc_pool_shm, capacity) == 16, "capacity @16");
static_assert(offsetof(zipc_pool_shm, elem_size) == 20, "elem_size @20");
static_assert(sizeof(zipc_pool_shm) == ZIPC_POOL_HEADER, "pool header is 24 bytes");

#endif /* ZIPC_POOL_SHM_H */
