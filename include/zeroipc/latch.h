/* libzeroipc: Latch, a one-shot countdown shared between processes.
 *
 * Layout (docs/format.md "Latch"): 16 bytes {count, initial_count, padding}.
 * count_down(n) lowers the count, saturating at 0; once 0 it stays 0 and
 * every wait returns at once. Waiters sleep on the count word (futex, slices
 * of ZIPC_WAIT_SLICE_NS); the count_down that reaches 0 wakes them, with a
 * system call only if someone sleeps.
 *
 * Crash outcomes: a process that dies before its count_down never counts
 * down (waiters then need a timeout); a count_down is one CAS and cannot be
 * half done; a waiter killed while sleeping changes nothing for the others.
 */
#ifndef ZEROIPC_LATCH_H
#define ZEROIPC_LATCH_H

#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_latch zipc_latch;

/* Create the Latch NAME with COUNT (>= 0; 0 is already open).
 * Returns 0, -EINVAL, -ENAMETOOLONG, -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_latch_create(zipc_segment *seg, const char *name, int32_t count,
                               zipc_latch **out);
/* Open the Latch NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG
 * (size is not 16), -EROFS, -ENOMEM. */
ZIPC_API int zipc_latch_open(zipc_segment *seg, const char *name, zipc_latch **out);
ZIPC_API void zipc_latch_close(zipc_latch *latch);

/* Lower the count by N (>= 1), stopping at 0. Returns 0, -EINVAL. */
ZIPC_API int zipc_latch_count_down(zipc_latch *latch, int32_t n);
/* Wait until the count is 0. Returns 0, -EINVAL. */
ZIPC_API int zipc_latch_wait(zipc_latch *latch);
/* 0 if the count is 0 now, else -EAGAIN; -EINVAL. */
ZIPC_API int zipc_latch_try_wait(zipc_latch *latch);
/* Wait at most TIMEOUT_NS (< 0: no limit). Returns 0, -ETIMEDOUT, -EINVAL. */
ZIPC_API int zipc_latch_wait_timeout(zipc_latch *latch, int64_t timeout_ns);
/* The count now (a snapshot) and the count given at creation. */
ZIPC_API int32_t zipc_latch_count(const zipc_latch *latch);
ZIPC_API int32_t zipc_latch_initial_count(const zipc_latch *latch);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_LATCH_H */
