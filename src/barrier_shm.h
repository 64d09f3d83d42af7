/* Barrier layout (docs/format.md section 2, "Barrier"), 16 bytes.
 * | off | size | field            | written by | read by | order |
 * |-----|------|------------------|------------|---------|-------|
 * | 0   | 4    | arrived          | arrivers (+1), the last arriver (-> 0), timed-out waiters (-1) | arrivers | B1: one 8-byte acq_rel CAS on {arrived, generation} |
 * | 4   | 4    | generation       | the last arriver (+1, in the same CAS) | waiters (futex word) | B1 / B2 acquire load |
 * | 8   | 4    | num_participants | creator    | open (local copy) | entry publication |
 * | 12  | 4    | waiters (format: padding) | sleepers of this library (+1/-1) | last arriver: wake only if > 0 | S1/S2 seq_cst |
 * arrived and generation share one naturally aligned 8-byte word (entries are
 * 8-aligned; little-endian: arrived is the low half), so completing a
 * generation (arrived N-1 -> 0, generation +1) and withdrawing after a
 * timeout (arrived -1, only if the generation did not move) are each one CAS.
 * Peers of other implementations use 4-byte operations on the same words,
 * which the hardware keeps atomic per word. */
#ifndef ZIPC_BARRIER_SHM_H
#define ZIPC_BARRIER_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_barrier_shm {
    zipc_atomic_u32 arrived;    /* format: atomic i32 */
    zipc_atomic_u32 generation; /* format: atomic i32; compared for change only */
    int32_t num_participants;
    zipc_atomic_u32 waiters;    /* format: padding */
} zipc_barrier_shm;

#define ZIPC_BARRIER_SIZE 16u

static_assert(offsetof(zipc_barrier_shm, arrived) == 0, "arrived @0");
static_assert(offsetof(zipc_barrier_shm, generation) == 4, "generation @4");
static_assert(offsetof(zipc_barrier_shm, num_participants) == 8, "num_participants @8");
static_assert(offsetof(zipc_barrier_shm, waiters) == 12, "padding/waiters @12");
static_assert(sizeof(zipc_barrier_shm) == ZIPC_BARRIER_SIZE, "barrier is 16 bytes");

/* {arrived, generation} as one 8-byte word (the entry is 8-aligned). */
static inline zipc_atomic_u64 *zipc__barrier_pair(zipc_barrier_shm *b)
{
    return (zipc_atomic_u64 *)(void *)b;
}
static inline uint64_t zipc__barrier_make(uint32_t arrived, uint32_t generation)
{
    return (uint64_t)generation << 32 | arrived;
}

#endif /* ZIPC_BARRIER_SHM_H */
