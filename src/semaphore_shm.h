/* Semaphore layout (docs/format.md section 2, "Semaphore"; a Mutex is the
 * same 16 bytes with max_count 1).
 * | off | size | field     | written by                 | read by            | order |
 * |-----|------|-----------|----------------------------|--------------------|-------|
 * | 0   | 4    | count     | acquire (CAS -1), release  | all                | A1/R1 acquire/release; S1 seq_cst vs waiting |
 * | 4   | 4    | waiting   | sleepers (+1 before, -1 after a sleep) | release (wake only if > 0) | S1/S2 seq_cst pair |
 * | 8   | 4    | max_count | creator (0 = unbounded)    | open (local copy)  | entry publication |
 * | 12  | 4    | owner     | Mutex only: lock holder's thread id plus the INCONSISTENT flag (mutex_shm.h); a Semaphore leaves it 0 | mutex waiters (recovery) | relaxed, under the lock |
 * Entry size is exactly 16. count and the futex word are the same word: a
 * sleeper waits while count still holds the (non-positive) value it saw. */
#ifndef ZIPC_SEMAPHORE_SHM_H
#define ZIPC_SEMAPHORE_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_semaphore_shm {
    zipc_atomic_i32 count;
    zipc_atomic_i32 waiting;
    int32_t max_count;
    zipc_atomic_u32 owner; /* the format's padding word */
} zipc_semaphore_shm;

#define ZIPC_SEMAPHORE_SIZE 16u

static_assert(offsetof(zipc_semaphore_shm, count) == 0, "count @0");
static_assert(offsetof(zipc_semaphore_shm, waiting) == 4, "waiting @4");
static_assert(offsetof(zipc_semaphore_shm, max_count) == 8, "max_count @8");
static_assert(offsetof(zipc_semaphore_shm, owner) == 12, "padding/owner @12");
static_assert(sizeof(zipc_semaphore_shm) == ZIPC_SEMAPHORE_SIZE, "semaphore is 16 bytes");

/* The count word as a futex word (same bytes; futexes are untyped u32). */
static inline zipc_atomic_u32 *zipc__sem_futex(zipc_semaphore_shm *s)
{
    return (zipc_atomic_u32 *)(void *)&s->count;
}

#endif /* ZIPC_SEMAPHORE_SHM_H */
