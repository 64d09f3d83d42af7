/* Latch layout (docs/format.md section 2, "Latch"), 16 bytes.
 * | off | size | field         | written by | read by | order |
 * |-----|------|---------------|------------|---------|-------|
 * | 0   | 4    | count         | count_down (CAS, saturating at 0) | waiters (futex word) | L1 release CAS / L2 acquire load |
 * | 4   | 4    | initial_count | creator    | open, zipc_latch_initial_count | entry publication |
 * | 8   | 4    | waiters (format: padding[0]) | sleepers of this library | the count_down reaching 0: wake only if > 0 | S1/S2 seq_cst |
 * | 12  | 4    | padding[1], 0 | nobody     | nobody | - |
 * Once count is 0 it stays 0 (count_down never moves it up). */
#ifndef ZIPC_LATCH_SHM_H
#define ZIPC_LATCH_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_latch_shm {
    zipc_atomic_i32 count;
    int32_t initial_count;
    zipc_atomic_u32 waiters; /* format: padding[0] */
    uint32_t reserved;       /* format: padding[1] */
} zipc_latch_shm;

#define ZIPC_LATCH_SIZE 16u

static_assert(offsetof(zipc_latch_shm, count) == 0, "count @0");
static_assert(offsetof(zipc_latch_shm, initial_count) == 4, "initial_count @4");
static_assert(offsetof(zipc_latch_shm, waiters) == 8, "padding[0]/waiters @8");
static_assert(offsetof(zipc_latch_shm, reserved) == 12, "padding[1] @12");
static_assert(sizeof(zipc_latch_shm) == ZIPC_LATCH_SIZE, "latch is 16 bytes");

#endif /* ZIPC_LATCH_SHM_H */
