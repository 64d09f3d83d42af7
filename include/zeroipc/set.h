/* libzeroipc: Set, a fixed-capacity hash set in shared memory.
 *
 * Layout (docs/format.md "Set"): a Map whose values are 0 bytes, laid out as
 * the C++ implementation's Set<T>; the same hash, probing and claim protocol
 * as Map (zeroipc/map.h, docs/maps.md), including the "<name>_own" claim
 * entry (NAME at most 27 bytes) and the crash recovery. */
#ifndef ZEROIPC_SET_H
#define ZEROIPC_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_set zipc_set;

/* Create the Set NAME of CAPACITY slots for ELEM_SIZE-byte elements. OPTS
 * (may be NULL): key_align and key_kind/flags as for zipc_map_create
 * (value_align is ignored). Returns as zipc_map_create. */
ZIPC_API int zipc_set_create(zipc_segment *seg, const char *name, size_t elem_size,
                             uint64_t capacity, const zipc_map_options *opts, zipc_set **out);

/* Open the Set NAME. Returns as zipc_map_open (-EBADMSG: elem_size differs
 * or the entry size does not match the formula). */
ZIPC_API int zipc_set_open(zipc_segment *seg, const char *name, size_t elem_size,
                           const zipc_map_options *opts, zipc_set **out);

/* Free the handle. NULL is ignored. */
ZIPC_API void zipc_set_close(zipc_set *set);

/* Add ELEM; *added (may be NULL) is false when it was already present.
 * Returns 0, -EINVAL, -ENOSPC (full), -EAGAIN, -EOWNERDEAD, -EROFS. */
ZIPC_API int zipc_set_insert(zipc_set *set, const void *elem, bool *added);

/* *present = ELEM is in the set. Returns 0, -EINVAL, -EAGAIN, -EOWNERDEAD. */
ZIPC_API int zipc_set_contains(zipc_set *set, const void *elem, bool *present);

/* Remove ELEM. Returns 0, -ENOENT, -EINVAL, -EAGAIN, -EOWNERDEAD, -EROFS. */
ZIPC_API int zipc_set_remove(zipc_set *set, const void *elem);

ZIPC_API uint64_t zipc_set_size(const zipc_set *set);
ZIPC_API uint64_t zipc_set_capacity(const zipc_set *set);

/* Iterate as zipc_map_next. Returns 0, -ENOENT (end), -EINVAL, -EAGAIN,
 * -EOWNERDEAD. */
ZIPC_API int zipc_set_next(zipc_set *set, uint64_t *cursor, void *elem);

/* Reclaim slots held by dead processes, as zipc_map_recover. */
ZIPC_API int zipc_set_recover(zipc_set *set, uint32_t *reclaimed);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_SET_H */
