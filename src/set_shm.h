/* Set layout (docs/format.md "Set"): a Map without values.
 *
 * Header, 16 bytes:
 * | off | size | field     | written by    | read by | order |
 * |-----|------|-----------|---------------|---------|-------|
 * | 0   | 4    | size      | insert/remove | size()  | relaxed counter |
 * | 4   | 4    | capacity  | creator       | open    | E1 |
 * | 8   | 4    | elem_size | creator       | open    | E1 |
 * | 12  | 4    | reserved  | creator (0)   | nobody  | |
 *
 * Entries at +16: {u32 state; T value} laid out exactly like Map entries with
 * value_size 0 (map_shm.h), so one hash-table core serves both: key_off =
 * align(4, align), entry_size = align(key_off + elem_size, max(4, align)).
 * The same "<name>_own" slot meta entry as Map. */
#ifndef ZIPC_SET_SHM_H
#define ZIPC_SET_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "map_shm.h"

typedef struct zipc_set_shm {
    zipc_atomic_u32 size;
    uint32_t capacity;
    uint32_t elem_size;
    uint32_t reserved;
} zipc_set_shm;

#define ZIPC_SET_HEADER 16u

static_assert(offsetof(zipc_set_shm, size) == 0, "size @0");
static_assert(offsetof(zipc_set_shm, capacity) == 4, "capacity @4");
static_assert(offsetof(zipc_set_shm, elem_size) == 8, "elem_size @8");
static_assert(offsetof(zipc_set_shm, reserved) == 12, "reserved @12");
static_assert(sizeof(zipc_set_shm) == ZIPC_SET_HEADER, "set header is 16 bytes");
static_assert(sizeof(zipc_set_shm) == sizeof(zipc_map_shm), "a set header is a map header");

#endif /* ZIPC_SET_SHM_H */
