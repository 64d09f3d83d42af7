/* libzeroipc: Signal, a versioned value shared between processes: writers
 * set a value of fixed size, readers get it with its version and can sleep
 * until it changes. (Named versioned_signal.h to stay clear of <signal.h>.)
 *
 * Layout (docs/format.md "Signal"): NAME "_state" {u64 version, value},
 * NAME "_mtx" (Mutex), the 1-byte marker NAME, plus this library's waitset
 * NAME "_wait", all created in one step. Names are limited to 25 bytes.
 * The value size is not stored: creator and openers must agree on it; open
 * accepts a state entry of align8(8 + size) (C++, this library) or exactly
 * 8 + size (Python).
 *
 * set() and get() take the Signal's robust mutex; version(), has_changed()
 * and wait_change() read the version without it. Waiters sleep on the
 * waitset (slices of ZIPC_WAIT_SLICE_NS, so a change by a peer of another
 * implementation, which wakes nobody, is seen within a slice).
 *
 * Crash outcomes: a setter killed mid-copy leaves the value possibly torn;
 * get() then returns -EOWNERDEAD (with the bytes as they are) until the
 * next complete set(). The version only moves after a complete copy.
 */
#ifndef ZEROIPC_VERSIONED_SIGNAL_H
#define ZEROIPC_VERSIONED_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_signal zipc_signal;

/* Create the Signal NAME holding VALUE_SIZE (>= 1) bytes, initially INITIAL
 * (NULL: zeros), version 0. Returns 0, -EINVAL, -ENAMETOOLONG (NAME longer
 * than 25 bytes), -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_signal_create(zipc_segment *seg, const char *name, size_t value_size,
                                const void *initial, zipc_signal **out);
/* Open the Signal NAME whose value is VALUE_SIZE bytes. Returns 0, -EINVAL,
 * -ENAMETOOLONG, -ENOENT, -EBADMSG (state size matches neither formula, or
 * a part is malformed), -EROFS, -ENOMEM. */
ZIPC_API int zipc_signal_open(zipc_segment *seg, const char *name, size_t value_size,
                              zipc_signal **out);
ZIPC_API void zipc_signal_close(zipc_signal *sig);

/* Store a new value (VALUE_SIZE bytes), bump the version, wake waiters.
 * Returns 0, -EINVAL. */
ZIPC_API int zipc_signal_set(zipc_signal *sig, const void *value);
/* Copy the value into VALUE and its version into *VERSION (may be NULL).
 * Returns 0, -EOWNERDEAD (a setter died mid-copy; the bytes may be torn),
 * -EINVAL. */
ZIPC_API int zipc_signal_get(zipc_signal *sig, void *value, uint64_t *version);
/* The current version (sets so far). */
ZIPC_API uint64_t zipc_signal_version(const zipc_signal *sig);
/* True when the version differs from SINCE. */
ZIPC_API bool zipc_signal_has_changed(const zipc_signal *sig, uint64_t since);
/* Wait until the version differs from SINCE, at most TIMEOUT_NS (< 0: no
 * limit); *VERSION (may be NULL) receives the version seen. Returns 0,
 * -ETIMEDOUT, -EINVAL. */
ZIPC_API int zipc_signal_wait_change(zipc_signal *sig, uint64_t since, int64_t timeout_ns,
                                     uint64_t *version);
ZIPC_API size_t zipc_signal_value_size(const zipc_signal *sig);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_VERSIONED_SIGNAL_H */
