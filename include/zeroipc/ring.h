/* libzeroipc: Ring, a single-producer single-consumer ring of fixed-size
 * elements over a byte buffer.
 *
 * Layout (docs/format.md "Ring"): two 64-bit byte positions that only grow,
 * and a data buffer of capacity bytes (a multiple of the element size).
 *
 * Exactly ONE producer and ONE consumer at a time (they may be the same
 * process, through one handle or two). A second producer (or consumer) is
 * unsupported: the data it copies may overwrite the other's. It is detected
 * where that is cheap: a position is published with a CAS from the value
 * this call started from, and a call that finds it moved fails with -EPERM
 * without publishing. A new producer after a crashed one is fine.
 *
 * Ordering: each publication is a release paired with the other side's
 * acquire: bytes are complete before the position shows them. Blocking
 * variants sleep in the shared wait layer on the auxiliary entry
 * "<name>_wait" ([0] data available, [1] space available), added only when
 * NAME is at most 26 bytes; without it blocking calls sleep in plain slices
 * (ZIPC_WAIT_SLICE_NS) and see each change within one. */
#ifndef ZEROIPC_RING_H
#define ZEROIPC_RING_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_ring zipc_ring;

/* Create the Ring NAME holding CAPACITY elements of ELEM_SIZE bytes
 * (capacity * elem_size bytes, at most 2^32-1).
 * Returns 0, -EINVAL, -ENAMETOOLONG, -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_ring_create(zipc_segment *seg, const char *name, size_t elem_size,
                              uint64_t capacity, zipc_ring **out);

/* Open the Ring NAME of ELEM_SIZE-byte elements. Returns 0, -EINVAL,
 * -ENAMETOOLONG, -ENOENT, -EBADMSG (elem_size differs, capacity 0 or not a
 * multiple of it, entry size not 24 + capacity), -ENOMEM. */
ZIPC_API int zipc_ring_open(zipc_segment *seg, const char *name, size_t elem_size,
                            zipc_ring **out);

/* Free the handle. NULL is ignored. */
ZIPC_API void zipc_ring_close(zipc_ring *ring);

/* Common returns of the calls below: -EINVAL (NULL), -EROFS (writes through a
 * read-only segment, and reads too: reading moves read_pos), -EPERM (another
 * producer/consumer moved the position during the call: unsupported use),
 * -EBADMSG (positions further apart than the capacity: corrupt). */

/* Producer. write: one element, or -EAGAIN when full. write_many: as many of
 * the N elements as fit (at least one), *written (may be NULL) tells how
 * many; -EAGAIN when none fit. Both are wait-free. */
ZIPC_API int zipc_ring_write(zipc_ring *ring, const void *elem);
ZIPC_API int zipc_ring_write_many(zipc_ring *ring, const void *elems, size_t n, size_t *written);
/* Blocking: wait until at least one element fits, up to TIMEOUT_NS
 * (ZIPC_WAIT_FOREVER: no limit; 0: try once). -ETIMEDOUT at the deadline. */
ZIPC_API int zipc_ring_write_timeout(zipc_ring *ring, const void *elem, int64_t timeout_ns);
ZIPC_API int zipc_ring_write_many_timeout(zipc_ring *ring, const void *elems, size_t n,
                                          size_t *written, int64_t timeout_ns);

/* Consumer. read: one element, or -EAGAIN when empty. read_many: up to MAX
 * elements (at least one), *nread tells how many; -EAGAIN when empty. */
ZIPC_API int zipc_ring_read(zipc_ring *ring, void *elem);
ZIPC_API int zipc_ring_read_many(zipc_ring *ring, void *elems, size_t max, size_t *nread);
ZIPC_API int zipc_ring_read_timeout(zipc_ring *ring, void *elem, int64_t timeout_ns);
ZIPC_API int zipc_ring_read_many_timeout(zipc_ring *ring, void *elems, size_t max,
                                         size_t *nread, int64_t timeout_ns);

/* Zero copy, producer: *ptr receives a contiguous writable region of *n
 * elements (1 .. MAX; it stops at the end of the buffer). Fill it, then
 * commit how many were filled (0 .. *n). -EAGAIN when full.
 * commit: -EINVAL when N exceeds the reservation (or nothing is reserved). */
ZIPC_API int zipc_ring_reserve(zipc_ring *ring, size_t max, void **ptr, size_t *n);
ZIPC_API int zipc_ring_commit(zipc_ring *ring, size_t n);

/* Zero copy, consumer: *ptr receives a contiguous readable region of *n
 * elements (1 .. MAX). Read it, then release how many were consumed.
 * -EAGAIN when empty. release: -EINVAL when N exceeds the peeked region. */
ZIPC_API int zipc_ring_peek(zipc_ring *ring, size_t max, const void **ptr, size_t *n);
ZIPC_API int zipc_ring_release(zipc_ring *ring, size_t n);

/* Elements readable now / writable now (snapshots). */
ZIPC_API uint64_t zipc_ring_available(const zipc_ring *ring);
ZIPC_API uint64_t zipc_ring_free_space(const zipc_ring *ring);
/* Capacity in elements, and the element size. */
ZIPC_API uint64_t zipc_ring_capacity(const zipc_ring *ring);
ZIPC_API size_t zipc_ring_elem_size(const zipc_ring *ring);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_RING_H */
