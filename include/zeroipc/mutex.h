/* libzeroipc: Mutex, a robust mutual-exclusion lock shared between processes.
 *
 * Layout (docs/format.md "Mutex"): a Semaphore (16 bytes) with max_count 1,
 * count 1 when free, 0 when held, under the mutex's own name. This library
 * records the holder's thread id in the semaphore's padding word, so:
 *
 *  - a lock held by a thread or process that died is detected: the next
 *    locker (or a waiter, within about two wait slices of the death) takes it over
 *    and gets -EOWNERDEAD. It then HOLDS the lock and should repair the
 *    protected state and call zipc_mutex_consistent(). If it unlocks without
 *    doing so, the mutex stays marked inconsistent and every following
 *    locker gets -EOWNERDEAD too (holding the lock), until one of them marks
 *    it consistent. (Unlike POSIX, the mutex never becomes unusable.)
 *  - unlock by a thread that does not hold the lock is refused (-EPERM).
 *
 * Limits (docs/sync.md "Crash recovery"): owners are thread ids, checked with
 * kill(tid, 0) and /proc; all users must share one pid namespace; if the
 * kernel reuses a dead owner's id before anyone notices, recovery waits until
 * that new task exits; a holder killed in the two instructions between its
 * count CAS and its owner store leaves an anonymous holder that cannot be
 * recovered; a peer of another ZeroIPC implementation records no owner, so
 * its crash is not recovered either. The mutex is not recursive: locking it
 * again from the holding thread waits (until the timeout).
 *
 * Waiting: a futex sleep on the count word (no spin: see docs/sync.md) in
 * slices of ZIPC_WAIT_SLICE_NS; unlock makes a system call only when
 * someone sleeps. A failed try_lock checks whether the holder is alive (a
 * kill() and a /proc read): do not poll try_lock in a loop.
 */
#ifndef ZEROIPC_MUTEX_H
#define ZEROIPC_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_mutex zipc_mutex;

/* Create the unlocked Mutex NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -EEXIST,
 * -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_mutex_create(zipc_segment *seg, const char *name, zipc_mutex **out);
/* Open the Mutex NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG
 * (size is not 16 or max_count is not 1), -EROFS, -ENOMEM. */
ZIPC_API int zipc_mutex_open(zipc_segment *seg, const char *name, zipc_mutex **out);
/* Free the handle (the lock state stays in the segment). NULL is ignored. */
ZIPC_API void zipc_mutex_close(zipc_mutex *mtx);

/* Lock, waiting as long as needed. Returns 0, -EOWNERDEAD (locked; the
 * previous holder died or left the state marked inconsistent), -EINVAL. */
ZIPC_API int zipc_mutex_lock(zipc_mutex *mtx);
/* Lock if free now. Returns 0, -EOWNERDEAD (taken over from a dead holder),
 * -EAGAIN (held by a live holder), -EINVAL. */
ZIPC_API int zipc_mutex_try_lock(zipc_mutex *mtx);
/* Lock, waiting at most TIMEOUT_NS (CLOCK_MONOTONIC; < 0: no limit).
 * Returns 0, -EOWNERDEAD, -ETIMEDOUT, -EINVAL. */
ZIPC_API int zipc_mutex_lock_timeout(zipc_mutex *mtx, int64_t timeout_ns);
/* Unlock and wake one waiter. Returns 0, -EPERM (the calling thread does not
 * hold the lock), -EINVAL. */
ZIPC_API int zipc_mutex_unlock(zipc_mutex *mtx);
/* Clear the inconsistent mark after repairing the protected state. The
 * caller must hold the lock. Returns 0, -EPERM, -EINVAL. */
ZIPC_API int zipc_mutex_consistent(zipc_mutex *mtx);
/* True when the calling thread holds the lock. */
ZIPC_API bool zipc_mutex_held(const zipc_mutex *mtx);
/* The recorded holder's thread id (0: free, or a holder that records none). */
ZIPC_API int32_t zipc_mutex_owner(const zipc_mutex *mtx);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_MUTEX_H */
