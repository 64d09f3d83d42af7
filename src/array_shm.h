/* Array layout (docs/format.md section 2, "Array").
 * | off | size     | field    | written by | read by | order |
 * |-----|----------|----------|------------|---------|-------|
 * | 0   | 8        | capacity | creator    | open    | entry publication (E1) |
 * | 8   | cap * es | data     | users      | users   | user's own / seq_cst element ops |
 * Entry size = 8 + capacity * elem_size exactly.
 *
 * Tolerated on open (not written): the 16-byte header {capacity, elem_size} of
 * an older C implementation, recognised by its entry size and elem_size. */
#ifndef ZIPC_ARRAY_SHM_H
#define ZIPC_ARRAY_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zipc_array_shm {
    uint64_t capacity;
    /* uint8_t data[capacity * elem_size] follows */
} zipc_array_shm;

typedef struct zipc_array_legacy_shm {
    uint64_t capacity;
    uint64_t elem_size;
} zipc_array_legacy_shm;

#define ZIPC_ARRAY_HEADER 8u
#define ZIPC_ARRAY_LEGACY_HEADER 16u

static_assert(offsetof(zipc_array_shm, capacity) == 0, "capacity @0");
static_assert(sizeof(zipc_array_shm) == ZIPC_ARRAY_HEADER, "array header is 8 bytes");
static_assert(offsetof(zipc_array_legacy_shm, capacity) == 0, "legacy capacity @0");
static_assert(offsetof(zipc_array_legacy_shm, elem_size) == 8, "legacy elem_size @8");
static_assert(sizeof(zipc_array_legacy_shm) == ZIPC_ARRAY_LEGACY_HEADER, "legacy header");

#endif /* ZIPC_ARRAY_SHM_H */
