/* libzeroipc: Pool, a fixed-size object pool over a lock-free free list.
 *
 * Layout (docs/format.md "Pool"): the C++ implementation's Treiber stack of
 * node indices with a 64-bit {generation << 32 | index} head. The API hands
 * out indices (valid in every process) and pointers into this process's
 * mapping; the segment never holds a pointer.
 *
 * ABA: every push and pop bumps the 32-bit generation, so a pop that read the
 * head is fooled only if exactly a multiple of 2^32 pushes and pops complete
 * between its read and its CAS (at 10^8 operations a second, a stall of more
 * than 40 s inside one pop).
 *
 * Double frees: this library keeps a state per node in the auxiliary entry
 * "<name>_own" (NAME at most 27 bytes) and refuses to free an index that is
 * not allocated. Nodes of a pool made by another implementation start in an
 * unknown state, which a free accepts once. */
#ifndef ZEROIPC_POOL_H
#define ZEROIPC_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_pool zipc_pool;

/* Create the Pool NAME of CAPACITY (1 .. 2^32-2) objects of ELEM_SIZE bytes
 * aligned to ELEM_ALIGN (0: the size for 1/2/4/8-byte objects, else 1; give
 * alignof(T) for structs, it enters the node size formula; a power of two
 * up to 4096 that divides ELEM_SIZE). Objects are placed 8-aligned at most,
 * whatever ELEM_ALIGN: table entries are 8-aligned and nodes start at +24.
 * Returns 0, -EINVAL, -ENAMETOOLONG (NAME longer than 27 bytes), -EEXIST,
 * -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_pool_create(zipc_segment *seg, const char *name, size_t elem_size,
                              size_t elem_align, uint64_t capacity, zipc_pool **out);

/* Open the Pool NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG
 * (elem_size differs or the entry size does not match the formula), -ENOSPC
 * (no room for "<name>_own"), -ENOMEM. */
ZIPC_API int zipc_pool_open(zipc_segment *seg, const char *name, size_t elem_size,
                            size_t elem_align, zipc_pool **out);

/* Free the handle. NULL is ignored. */
ZIPC_API void zipc_pool_close(zipc_pool *pool);

/* Take a free object: *index (valid in every process) and *ptr (this
 * mapping; may be NULL). Lock-free. The object's bytes are whatever its last
 * user left. Returns 0, -EINVAL, -EAGAIN (no free object), -EROFS, -EBADMSG
 * (the free list holds an index out of range, or a node marked allocated:
 * corrupt; that node is taken off the list, not handed out twice). */
ZIPC_API int zipc_pool_alloc(zipc_pool *pool, uint32_t *index, void **ptr);

/* Return object INDEX to the pool. Lock-free. Returns 0, -EINVAL (NULL, index
 * out of range, or not allocated: a double free), -EROFS. */
ZIPC_API int zipc_pool_free(zipc_pool *pool, uint32_t index);

/* Object INDEX in this mapping, or NULL when out of range. */
ZIPC_API void *zipc_pool_at(zipc_pool *pool, uint32_t index);

/* Objects handed out now (exact when no alloc/free is in flight). */
ZIPC_API uint32_t zipc_pool_allocated(const zipc_pool *pool);
ZIPC_API uint32_t zipc_pool_capacity(const zipc_pool *pool);
ZIPC_API size_t zipc_pool_elem_size(const zipc_pool *pool);

/* Rebuild the free list after processes died inside alloc or free: every
 * object that is neither allocated nor on the list (lost by a crash) goes
 * back on it, and the allocated count is recomputed (a listed node marked
 * allocated, which only corruption makes, is taken off). Objects a dead process
 * had allocated stay allocated (it may have handed them to someone). Call
 * only while no other process or thread uses the pool. *reclaimed (may be
 * NULL) counts the objects put back. Returns 0, -EINVAL, -EROFS, -ENOMEM. */
ZIPC_API int zipc_pool_recover_quiescent(zipc_pool *pool, uint32_t *reclaimed);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_POOL_H */
