/* libzeroipc: Monitor, a lock with a condition variable, across processes.
 *
 * Layout (docs/format.md "Monitor"): NAME "_mtx" (Mutex), NAME "_cond"
 * (Semaphore), NAME "_count" (u32 waiters), then the 1-byte marker NAME,
 * created in one step so a failure leaves nothing visible. Names are limited
 * to 25 bytes so "_count" fits.
 *
 * Contract (as for condition variables): wait() must be called with the
 * monitor locked; it unlocks, sleeps until notified or timed out, and locks
 * again before returning. Wake-ups may be spurious and a notification may
 * be shared out differently than expected, so ALWAYS wait in a loop that
 * re-checks the predicate:
 *
 *     zipc_monitor_lock(m);
 *     while (!ready)
 *         if (zipc_monitor_wait(m, deadline_left) == -ETIMEDOUT) break;
 *     ... zipc_monitor_unlock(m);
 *
 * notify_one / notify_all must be called with the monitor locked (-EPERM
 * otherwise). notify_all wakes every waiter registered at that moment;
 * notify_one wakes one at once, and the other registered waiters may wake
 * too within a wait slice (a spurious wake-up under the loop contract: the
 * notify sequence they sleep on has moved). No notification is ever lost
 * for a waiter that registered before the notify.
 *
 * Crash outcomes: the lock is a robust Mutex (see mutex.h): a holder's death
 * gives the next locker -EOWNERDEAD and the inconsistent mark until
 * zipc_monitor_consistent(). A waiter killed while waiting stays counted in
 * NAME_count, which only makes later notifies issue a wake call for nobody.
 */
#ifndef ZEROIPC_MONITOR_H
#define ZEROIPC_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_monitor zipc_monitor;

/* Create the Monitor NAME. Returns 0, -EINVAL, -ENAMETOOLONG (NAME longer
 * than 25 bytes), -EEXIST (NAME or one of its entries exists), -ENOSPC,
 * -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_monitor_create(zipc_segment *seg, const char *name, zipc_monitor **out);
/* Open the Monitor NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT (the
 * marker or a part is missing), -EBADMSG (a part has the wrong size or
 * bounds), -EROFS, -ENOMEM. */
ZIPC_API int zipc_monitor_open(zipc_segment *seg, const char *name, zipc_monitor **out);
ZIPC_API void zipc_monitor_close(zipc_monitor *mon);

/* As zipc_mutex_lock / lock_timeout / unlock / consistent on the monitor's
 * lock: 0, -EOWNERDEAD, -ETIMEDOUT, -EPERM, -EINVAL. */
ZIPC_API int zipc_monitor_lock(zipc_monitor *mon);
ZIPC_API int zipc_monitor_lock_timeout(zipc_monitor *mon, int64_t timeout_ns);
ZIPC_API int zipc_monitor_unlock(zipc_monitor *mon);
ZIPC_API int zipc_monitor_consistent(zipc_monitor *mon);

/* Wait for a notification, at most TIMEOUT_NS (< 0: no limit), with the
 * lock held on entry and on return. Returns 0 (notified, or spuriously
 * woken), -ETIMEDOUT, -EOWNERDEAD (re-locking found a dead holder: the lock
 * is held, see mutex.h), -EPERM (the caller does not hold the lock; nothing
 * was done), -EINVAL. */
ZIPC_API int zipc_monitor_wait(zipc_monitor *mon, int64_t timeout_ns);
/* Wake one / all registered waiters. Returns 0, -EPERM (lock not held by the
 * caller), -EINVAL. */
ZIPC_API int zipc_monitor_notify_one(zipc_monitor *mon);
ZIPC_API int zipc_monitor_notify_all(zipc_monitor *mon);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_MONITOR_H */
