/* Monitor layout (docs/format.md section 2, "Monitor"): four entries created
 * in one zipc__seg_add_many batch, in this order:
 *
 * | entry        | size | contents | written by | read by | order |
 * |--------------|------|----------|------------|---------|-------|
 * | NAME "_mtx"  | 16   | Mutex (mutex_shm.h): the monitor lock | lock/unlock | all | the mutex's A1/R1 |
 * | NAME "_cond" | 16   | Semaphore, count 0, max 0: wake-up permits | notify (release), wait (acquire) | waiters | semaphore A1/R1, S1/S2 |
 * | NAME "_count"| 4    | atomic u32: waiters registered and not yet notified | wait (+1, -1 on timeout), notify (-1 / -> 0) | notify | relaxed: only touched with the lock held |
 * | NAME         | 1    | marker byte 0: the monitor exists | creator | open | entry publication |
 */
#ifndef ZIPC_MONITOR_SHM_H
#define ZIPC_MONITOR_SHM_H

#include <assert.h>
#include <stdint.h>

#include "atomics.h"

#define ZIPC_MONITOR_MTX_SUFFIX "_mtx"
#define ZIPC_MONITOR_COND_SUFFIX "_cond"
#define ZIPC_MONITOR_COUNT_SUFFIX "_count"
#define ZIPC_MONITOR_COUNT_SIZE 4u
#define ZIPC_MARKER_SIZE 1u

static_assert(sizeof(zipc_atomic_u32) == ZIPC_MONITOR_COUNT_SIZE, "waiter count is 4 bytes");

#endif /* ZIPC_MONITOR_SHM_H */
