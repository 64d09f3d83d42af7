/* libzeroipc: shared definitions (export macro, error codes, timeouts).
 *
 * Every fallible call returns 0 on success or a negative errno value whose
 * meaning is fixed across the whole library:
 *
 *   -EINVAL        an argument is invalid (NULL, zero size, overflow, bad flag)
 *   -ENAMETOOLONG  a segment or entry name is longer than allowed
 *   -ENOENT        no segment / no table entry with that name
 *   -EEXIST        a segment / table entry with that name already exists
 *   -ENOSPC        the segment has no table entry or no byte left for a new
 *                  structure, or /dev/shm cannot hold a new segment
 *   -EBADMSG       the segment's contents are corrupt or do not match what was
 *                  asked for (wrong structure formula, bad offsets, bad magic)
 *   -EPROTO        the segment uses an incompatible format version
 *   -ERANGE        an element index is out of range
 *   -EROFS         a write was attempted through a read-only handle
 *   -EAGAIN        a non-blocking operation would have to wait (full / empty)
 *   -ETIMEDOUT     a blocking operation reached its deadline
 *   -ENOMEM        the process could not allocate its local handle
 *   -EACCES        permission denied by the operating system
 *   -EOWNERDEAD    the previous holder of a lock (mutex, rwlock, monitor,
 *                  signal) or of a map/set slot died holding it
 *   -EPERM         the caller does not own the lock it tries to release or
 *                  wait on, or a second producer/consumer uses a ring, or the
 *                  producer / consumer role of a single-producer /
 *                  single-consumer queue is held by another live handle (or
 *                  this handle has no owner row to hold it with)
 *   -EOVERFLOW     a counter would exceed its maximum
 *   -EBUSY         a slot is held by a peer that appears stuck or dead: the
 *                  operation gave up after a bounded number of retries and
 *                  changed nothing; see the structure's check/recover calls
 *   other          an errno reported by the operating system, passed through
 */
#ifndef ZEROIPC_COMMON_H
#define ZEROIPC_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#if defined(ZIPC_BUILDING_LIBRARY)
#define ZIPC_API __attribute__((visibility("default")))
#else
#define ZIPC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define ZIPC_VERSION_MAJOR 0
#define ZIPC_VERSION_MINOR 1
#define ZIPC_VERSION_PATCH 0

/* On-disk format version written and accepted by this library. */
#define ZIPC_FORMAT_VERSION 2

/* Longest table entry name, in bytes, not counting the terminating NUL. */
#define ZIPC_ENTRY_NAME_MAX 31

/* Pass as timeout_ns to blocking calls to wait without limit. */
#define ZIPC_WAIT_FOREVER ((int64_t)-1)

/* A human-readable description of a return code (negative or positive errno).
 * Never returns NULL; the string is static. */
ZIPC_API const char *zipc_strerror(int err);

/* The library version as "MAJOR.MINOR.PATCH". */
ZIPC_API const char *zipc_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_COMMON_H */
