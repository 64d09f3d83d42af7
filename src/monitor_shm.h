/* Monitor layout (docs/format.md section 2, "Monitor"): four entries created
 * in one zipc__seg_add_many batch, in this order:
 *
 * | entry        | size | contents | written by | read by | order |
 * |--------------|------|----------|------------|---------|-------|
 * | NAME "_mtx"  | 16   | Mutex (mutex_shm.h): the monitor lock | lock/unlock | all | the mutex's A1/R1 |
 * | NAME "_cond" | 16   | Semaphore, count 0, max 0. Here: padding @12 = notify sequence, the futex word waiters sleep on; count = permits a peer of another implementation may release (a waiter takes one as a notification) | notify (seq +1, lock held) | waiters | M2 release / M1 acquire |
 * | NAME "_count"| 4    | atomic u32: waiters registered (between their unlock and re-lock) | wait (+1 before unlocking, -1 after re-locking) | notify: no wake call when 0 | relaxed: only touched with the lock held |
 * | NAME         | 1    | marker byte 0 (ZIPC_MARKER_SIZE, sync_internal.h): the monitor exists | creator | open | entry publication |
 */
#ifndef ZIPC_MONITOR_SHM_H
#define ZIPC_MONITOR_SHM_H

#include <assert.h>
#include <stdint.h>

#include "atomics.h"
#include "semaphore_shm.h"

#define ZIPC_MONITOR_MTX_SUFFIX "_mtx"
#define ZIPC_MONITOR_COND_SUFFIX "_cond"
#define ZIPC_MONITOR_COUNT_SUFFIX "_count"
#define ZIPC_MONITOR_COUNT_SIZE 4u

static_assert(sizeof(zipc_atomic_u32) == ZIPC_MONITOR_COUNT_SIZE, "waiter count is 4 bytes");
static_assert(sizeof(zipc_semaphore_shm) == 16, "_mtx and _cond are 16 bytes");
static_assert(offsetof(zipc_semaphore_shm, owner) == 12, "_cond notify sequence @12");

#endif /* ZIPC_MONITOR_SHM_H */
