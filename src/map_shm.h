/* Map layout (docs/format.md "Map"; the C++ implementation's layout).
 *
 * Header, 16 bytes:
 * | off | size | field      | written by         | read by     | order |
 * |-----|------|------------|--------------------|-------------|-------|
 * | 0   | 4    | size       | insert/remove      | size()      | relaxed counter |
 * | 4   | 4    | capacity   | creator            | open        | entry publication (E1) |
 * | 8   | 4    | key_size   | creator            | open        | E1 |
 * | 12  | 4    | value_size | creator            | open        | E1 |
 *
 * Entries at +16, capacity of them, entry_size bytes each (hashtable.h):
 * | key_off-4.. | field | |
 * | 0       | 4        | state: EMPTY 0, OCCUPIED 1, DELETED 2, INSERTING 3 | claimer | everyone | S1/S2 |
 * | key_off | key_size | key   | claimer (under a claim) | everyone | seqlock on meta |
 * | val_off | val_size | value | claimer (under a claim) | readers  | seqlock on meta |
 * key_off = align(4, key_align); val_off = align(key_off + key_size, value_align);
 * entry_size = align(val_off + value_size, max(4, key_align, value_align)).
 * Total = 16 + entry_size * capacity.
 *
 * Auxiliary entry "<name>_own" (this library's extension, docs/format.md
 * "Extensions"): capacity u64 slot meta words, zero-initialised:
 * | bits  | field   | meaning |
 * | 0-7   | phase   | what the claimer is doing (ZIPC__SLOT_*) |
 * | 8-31  | pid     | the claimer's pid (0 when idle) |
 * | 32-63 | version | bumped by every claim: the seqlock readers validate against |
 * Only the holder of a non-idle meta word changes the slot's state, key or value. */
#ifndef ZIPC_MAP_SHM_H
#define ZIPC_MAP_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_map_shm {
    zipc_atomic_u32 size;
    uint32_t capacity;
    uint32_t key_size;
    uint32_t value_size;
    /* capacity entries follow */
} zipc_map_shm;

#define ZIPC_MAP_HEADER 16u
#define ZIPC_OWN_SUFFIX "_own"

/* Entry states (the format's values). */
enum {
    ZIPC__ST_EMPTY = 0,
    ZIPC__ST_OCCUPIED = 1,
    ZIPC__ST_DELETED = 2,
    ZIPC__ST_INSERTING = 3,
};

static_assert(offsetof(zipc_map_shm, size) == 0, "size @0");
static_assert(offsetof(zipc_map_shm, capacity) == 4, "capacity @4");
static_assert(offsetof(zipc_map_shm, key_size) == 8, "key_size @8");
static_assert(offsetof(zipc_map_shm, value_size) == 12, "value_size @12");
static_assert(sizeof(zipc_map_shm) == ZIPC_MAP_HEADER, "map header is 16 bytes");
static_assert(sizeof(zipc_atomic_u64) == 8, "slot meta word is 8 bytes");

#endif /* ZIPC_MAP_SHM_H */
