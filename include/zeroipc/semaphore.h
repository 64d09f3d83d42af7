/* libzeroipc: Semaphore, a counting semaphore shared between processes.
 *
 * Layout (docs/format.md "Semaphore"): 16 bytes {count, waiting, max_count,
 * padding}. max_count 0 means unbounded. Waiters sleep (without spinning) in
 * the kernel on the count word (futex) with CLOCK_MONOTONIC deadlines; the
 * `waiting` word counts sleepers, so release makes a system call only when
 * somebody sleeps. Sleeps last at most one wait slice, so a peer of another
 * ZeroIPC implementation that releases without waking is seen within it.
 *
 * Crash outcomes: a process killed while holding permits does not give them
 * back (a semaphore has no owner); a process killed while sleeping leaves
 * `waiting` one too high, which only costs releasers a needless wake call.
 * Handles may be used by several threads at once.
 */
#ifndef ZEROIPC_SEMAPHORE_H
#define ZEROIPC_SEMAPHORE_H

#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_semaphore zipc_semaphore;

/* Create the Semaphore NAME holding INITIAL permits, at most MAX_COUNT
 * (0: unbounded). Returns 0, -EINVAL (NULL, initial < 0, max_count < 0,
 * initial > max_count when bounded), -ENAMETOOLONG, -EEXIST, -ENOSPC, -EROFS,
 * -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_semaphore_create(zipc_segment *seg, const char *name, int32_t initial,
                                   int32_t max_count, zipc_semaphore **out);
/* Open the Semaphore NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT,
 * -EBADMSG (entry size is not 16 or max_count < 0), -EROFS (read-only
 * segment: a semaphore cannot be used without writing), -ENOMEM. */
ZIPC_API int zipc_semaphore_open(zipc_segment *seg, const char *name, zipc_semaphore **out);
/* Free the handle. NULL is ignored. */
ZIPC_API void zipc_semaphore_close(zipc_semaphore *sem);

/* Take one permit, waiting as long as needed. Returns 0 or -EINVAL. */
ZIPC_API int zipc_semaphore_acquire(zipc_semaphore *sem);
/* Take one permit if one is available now. Returns 0, -EAGAIN, -EINVAL. */
ZIPC_API int zipc_semaphore_try_acquire(zipc_semaphore *sem);
/* Take one permit, waiting at most TIMEOUT_NS (CLOCK_MONOTONIC; < 0: no
 * limit; 0: like try but -ETIMEDOUT). Returns 0, -ETIMEDOUT, -EINVAL. */
ZIPC_API int zipc_semaphore_acquire_timeout(zipc_semaphore *sem, int64_t timeout_ns);
/* Give back N (>= 1) permits and wake up to N sleepers.
 * Returns 0, -EINVAL (n < 1), -EOVERFLOW (the count would exceed max_count,
 * or INT32_MAX when unbounded; nothing is released). */
ZIPC_API int zipc_semaphore_release(zipc_semaphore *sem, int32_t n);
/* Permits available now (a snapshot; may be stale at once). */
ZIPC_API int32_t zipc_semaphore_count(const zipc_semaphore *sem);
/* The bound given at creation (0: unbounded). */
ZIPC_API int32_t zipc_semaphore_max_count(const zipc_semaphore *sem);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_SEMAPHORE_H */
