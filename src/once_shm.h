/* Once layout (docs/format.md section 2, "Once") and this library's
 * auxiliary entry "<name>_pid" (docs/format.md "Extensions").
 *
 * Entry NAME, 4 bytes:
 * | off | size | field | written by | read by | order |
 * |-----|------|-------|------------|---------|-------|
 * | 0   | 4    | state | executor: PENDING 0 -> EXECUTING 1 (CAS), -> DONE 2 (store) | callers (futex word) | C1 release store of DONE / C2 acquire load |
 *
 * Entry NAME "_pid", 8 bytes (created in the same zipc__seg_add_many batch,
 * before NAME):
 * | off | size | field   | written by | read by | order |
 * |-----|------|---------|------------|---------|-------|
 * | 0   | 4    | owner   | the claimer (CAS 0 -> tid), a recoverer (CAS dead tid -> own tid), an executor that found a foreign one running (-> 0) | waiting callers (liveness) | O1 acq_rel CAS |
 * | 4   | 4    | waiters | sleeping callers (+1/-1) | the executor finishing: wake only if > 0 | S1/S2 seq_cst |
 * The owner stays set after DONE (it is not looked at again). */
#ifndef ZIPC_ONCE_SHM_H
#define ZIPC_ONCE_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

enum { ZIPC_ONCE_PENDING = 0, ZIPC_ONCE_EXECUTING = 1, ZIPC_ONCE_DONE = 2 };

typedef struct zipc_once_shm {
    zipc_atomic_u32 state;
} zipc_once_shm;

typedef struct zipc_once_aux_shm {
    zipc_atomic_u32 owner;
    zipc_atomic_u32 waiters;
} zipc_once_aux_shm;

#define ZIPC_ONCE_SIZE 4u
#define ZIPC_ONCE_AUX_SIZE 8u
#define ZIPC_ONCE_AUX_SUFFIX "_pid"

static_assert(offsetof(zipc_once_shm, state) == 0, "state @0");
static_assert(sizeof(zipc_once_shm) == ZIPC_ONCE_SIZE, "once is 4 bytes");
static_assert(offsetof(zipc_once_aux_shm, owner) == 0, "owner @0");
static_assert(offsetof(zipc_once_aux_shm, waiters) == 4, "waiters @4");
static_assert(sizeof(zipc_once_aux_shm) == ZIPC_ONCE_AUX_SIZE, "once aux is 8 bytes");

#endif /* ZIPC_ONCE_SHM_H */
