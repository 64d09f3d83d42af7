/* libzeroipc: Once, run a function exactly once across processes.
 *
 * Layout (docs/format.md "Once"): a 4-byte state PENDING 0 / EXECUTING 1 /
 * DONE 2, plus this library's entry NAME "_pid" {owner tid, waiters} so that
 * the death of the process running the function is detected (docs/format.md
 * "Extensions"). Names are limited to 27 bytes so the suffix fits.
 *
 * Contract: the first caller runs FN(ARG); the others wait until it has
 * returned, then return 0. If the executing thread dies before FN returns,
 * a waiting caller (within about two wait slices, ZIPC_WAIT_SLICE_NS each)
 * takes over, runs FN itself, and is told so with ZIPC_ONCE_RECOVERED: FN may
 * have partly run before, so it should be written to be re-startable. A
 * caller arriving later than that takes over the same way.
 *
 * Limits: thread-id reuse and pid namespaces as for Mutex (docs/sync.md); a
 * Once created by another implementation gets the "_pid" entry added on
 * open when the segment is writable, and a peer of another implementation
 * that executes records no owner, so its death is not recovered from.
 */
#ifndef ZEROIPC_ONCE_H
#define ZEROIPC_ONCE_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_once zipc_once;
typedef void (*zipc_once_fn)(void *arg);

/* zipc_once_call results besides 0 ("done; FN ran elsewhere or earlier"). */
#define ZIPC_ONCE_RAN 1       /* this call ran FN */
#define ZIPC_ONCE_RECOVERED 2 /* this call ran FN after its previous executor died */

/* Create the Once NAME (state PENDING) and its "_pid" entry, both at once.
 * Returns 0, -EINVAL, -ENAMETOOLONG (NAME longer than 27 bytes), -EEXIST,
 * -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_once_create(zipc_segment *seg, const char *name, zipc_once **out);
/* Open the Once NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG
 * (size is not 4), -EROFS, -ENOMEM. */
ZIPC_API int zipc_once_open(zipc_segment *seg, const char *name, zipc_once **out);
ZIPC_API void zipc_once_close(zipc_once *once);

/* Run FN(ARG) unless it has run; wait while another caller runs it.
 * Returns 0, ZIPC_ONCE_RAN, ZIPC_ONCE_RECOVERED, -EINVAL (NULL). */
ZIPC_API int zipc_once_call(zipc_once *once, zipc_once_fn fn, void *arg);
/* As zipc_once_call, waiting at most TIMEOUT_NS for another executor
 * (< 0: no limit); -ETIMEDOUT if it is still running then. */
ZIPC_API int zipc_once_call_timeout(zipc_once *once, zipc_once_fn fn, void *arg,
                                    int64_t timeout_ns);
/* True once FN has returned somewhere. */
ZIPC_API bool zipc_once_done(const zipc_once *once);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_ONCE_H */
