/* Signal (versioned value) layout (docs/format.md section 2, "Signal").
 * Entries created in one zipc__seg_add_many batch, in this order:
 *
 * | entry         | size | contents | written by | read by | order |
 * |---------------|------|----------|------------|---------|-------|
 * | NAME "_wait"  | 8    | this library's waitset (wait.h, docs/format.md "Extensions") | set (notify), waiters | set | N1/W1 of the wait layer |
 * | NAME "_state" | align8(8 + value_size) (Python writers: 8 + value_size, accepted) | @0 atomic u64 version, @8 value bytes | set, under NAME_mtx | get (under the lock), version/has_changed/wait (lock-free) | V1 release store / V2 acquire load of version |
 * | NAME "_mtx"   | 16   | Mutex (mutex_shm.h) guarding the value | set/get | set/get | mutex A1/R1 |
 * | NAME          | 1    | marker byte 0 | creator | open | entry publication |
 *
 * version starts at 0 and grows by one per set. A set killed mid-copy leaves
 * the mutex marked inconsistent: get() reports -EOWNERDEAD (value may be
 * torn) until the next complete set(), which clears the mark. */
#ifndef ZIPC_VERSIONED_SIGNAL_SHM_H
#define ZIPC_VERSIONED_SIGNAL_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_signal_state_shm {
    zipc_atomic_u64 version;
    /* uint8_t value[value_size] follows */
} zipc_signal_state_shm;

#define ZIPC_SIGNAL_HEADER 8u
#define ZIPC_SIGNAL_STATE_SUFFIX "_state"
#define ZIPC_SIGNAL_MTX_SUFFIX "_mtx"

static_assert(offsetof(zipc_signal_state_shm, version) == 0, "version @0");
static_assert(sizeof(zipc_signal_state_shm) == ZIPC_SIGNAL_HEADER, "value @8");

#endif /* ZIPC_VERSIONED_SIGNAL_SHM_H */
