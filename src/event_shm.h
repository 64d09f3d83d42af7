/* Event layout (docs/format.md section 2, "Event").
 *
 * Entry NAME, 12 bytes:
 * | off | size | field    | written by | read by | order |
 * |-----|------|----------|------------|---------|-------|
 * | 0   | 4    | signaled | signal (1), reset (0), an auto-reset waiter (CAS 1 -> 0) | waiters | E1 seq_cst store / E2 acquire CAS or load |
 * | 4   | 4    | mode     | creator: 0 auto-reset, 1 manual-reset | open (local copy) | entry publication |
 * | 8   | 4    | waiting  | sleepers (+1/-1) | signal, pulse: wake only if > 0 | S1/S2 seq_cst |
 *
 * Entry NAME "_sem", a Semaphore (semaphore_shm.h, count 0, max 0), allocated
 * right after NAME in the same batch. This library uses it as:
 * | off | size | field | use here |
 * |-----|------|-------|----------|
 * | 0   | 4    | count | auto-reset pulse tickets: one per pulse that found a sleeper; an auto-reset waiter may take one instead of `signaled` (A1/R1 as a semaphore) |
 * | 4   | 4    | waiting | unused here (0) |
 * | 8   | 4    | max_count | 0 (unbounded) |
 * | 12  | 4    | padding: seq | +1 on every signal and pulse; the futex word sleepers wait on (S2 seq_cst RMW) |
 */
#ifndef ZIPC_EVENT_SHM_H
#define ZIPC_EVENT_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"
#include "semaphore_shm.h"

typedef struct zipc_event_shm {
    zipc_atomic_u32 signaled;
    uint32_t mode;
    zipc_atomic_u32 waiting;
} zipc_event_shm;

#define ZIPC_EVENT_SIZE 12u
#define ZIPC_EVENT_SEM_SUFFIX "_sem"

static_assert(offsetof(zipc_event_shm, signaled) == 0, "signaled @0");
static_assert(offsetof(zipc_event_shm, mode) == 4, "mode @4");
static_assert(offsetof(zipc_event_shm, waiting) == 8, "waiting @8");
static_assert(sizeof(zipc_event_shm) == ZIPC_EVENT_SIZE, "event is 12 bytes");

#endif /* ZIPC_EVENT_SHM_H */
