/* libzeroipc: Array, a fixed-capacity array of fixed-size elements.
 *
 * Layout (docs/format.md): an 8-byte capacity, then capacity * elem_size bytes,
 * zero-initialised. The element size is not stored: the opener names it, and
 * open checks that the entry size equals 8 + capacity * elem_size.
 *
 * Plain access (zipc_array_data, get, set) is not synchronised: the caller
 * orders it. The atomic operations work on 4- and 8-byte elements (the array
 * must have been opened with that element size) and are lock-free, O(1) and
 * sequentially consistent (memory_order_seq_cst): each acts as both an acquire
 * and a release, and all of them form a single total order.
 */
#ifndef ZEROIPC_ARRAY_H
#define ZEROIPC_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_array zipc_array;

/* Create the Array NAME of CAPACITY elements of ELEM_SIZE bytes.
 * Returns 0, -EINVAL (zero size or capacity, size overflow), -ENAMETOOLONG,
 * -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_array_create(zipc_segment *seg, const char *name, size_t elem_size,
                               uint64_t capacity, zipc_array **out);

/* Open the Array NAME whose elements are ELEM_SIZE bytes.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG (entry size does not
 * match 8 + capacity * elem_size: wrong element size or not an Array), -ENOMEM. */
ZIPC_API int zipc_array_open(zipc_segment *seg, const char *name, size_t elem_size,
                             zipc_array **out);

/* First element in this process's mapping. */
ZIPC_API void *zipc_array_data(zipc_array *arr);
ZIPC_API uint64_t zipc_array_capacity(const zipc_array *arr);
ZIPC_API size_t zipc_array_elem_size(const zipc_array *arr);
/* Address of element INDEX, or NULL when out of range. */
ZIPC_API void *zipc_array_at(zipc_array *arr, uint64_t index);
/* Free the handle (the array stays in the segment). NULL is ignored. */
ZIPC_API void zipc_array_close(zipc_array *arr);

/* Bounds-checked copies of one element. Returns 0, -EINVAL (NULL), -ERANGE,
 * -EROFS (set on a read-only segment). */
ZIPC_API int zipc_array_get(zipc_array *arr, uint64_t index, void *elem);
ZIPC_API int zipc_array_set(zipc_array *arr, uint64_t index, const void *elem);

/* Atomic element operations (seq_cst). The _u32 family needs elem_size 4, the
 * _u64 family elem_size 8 (-EINVAL otherwise). The fetch_ operations return the
 * previous value in *old (may be NULL). compare_exchange stores DESIRED if the
 * element equals *expected and returns 0; otherwise it writes the current value
 * to *expected and returns -EAGAIN.
 * All return 0, -EINVAL, -ERANGE, or -EROFS (writes on a read-only segment). */
ZIPC_API int zipc_array_load_u32(zipc_array *arr, uint64_t index, uint32_t *value);
ZIPC_API int zipc_array_store_u32(zipc_array *arr, uint64_t index, uint32_t value);
ZIPC_API int zipc_array_exchange_u32(zipc_array *arr, uint64_t index, uint32_t value, uint32_t *old);
ZIPC_API int zipc_array_compare_exchange_u32(zipc_array *arr, uint64_t index, uint32_t *expected,
                                             uint32_t desired);
ZIPC_API int zipc_array_fetch_add_u32(zipc_array *arr, uint64_t index, uint32_t value, uint32_t *old);
ZIPC_API int zipc_array_fetch_sub_u32(zipc_array *arr, uint64_t index, uint32_t value, uint32_t *old);
ZIPC_API int zipc_array_fetch_and_u32(zipc_array *arr, uint64_t index, uint32_t value, uint32_t *old);
ZIPC_API int zipc_array_fetch_or_u32(zipc_array *arr, uint64_t index, uint32_t value, uint32_t *old);
ZIPC_API int zipc_array_fetch_xor_u32(zipc_array *arr, uint64_t index, uint32_t value, uint32_t *old);

ZIPC_API int zipc_array_load_u64(zipc_array *arr, uint64_t index, uint64_t *value);
ZIPC_API int zipc_array_store_u64(zipc_array *arr, uint64_t index, uint64_t value);
ZIPC_API int zipc_array_exchange_u64(zipc_array *arr, uint64_t index, uint64_t value, uint64_t *old);
ZIPC_API int zipc_array_compare_exchange_u64(zipc_array *arr, uint64_t index, uint64_t *expected,
                                             uint64_t desired);
ZIPC_API int zipc_array_fetch_add_u64(zipc_array *arr, uint64_t index, uint64_t value, uint64_t *old);
ZIPC_API int zipc_array_fetch_sub_u64(zipc_array *arr, uint64_t index, uint64_t value, uint64_t *old);
ZIPC_API int zipc_array_fetch_and_u64(zipc_array *arr, uint64_t index, uint64_t value, uint64_t *old);
ZIPC_API int zipc_array_fetch_or_u64(zipc_array *arr, uint64_t index, uint64_t value, uint64_t *old);
ZIPC_API int zipc_array_fetch_xor_u64(zipc_array *arr, uint64_t index, uint64_t value, uint64_t *old);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_ARRAY_H */
