/* Segment table layout (docs/format.md section 1). Little-endian, LP64.
 *
 * Table header, 32 bytes at offset 0:
 * | off  | size | field       | written by               | read by        | order |
 * |------|------|-------------|--------------------------|----------------|-------|
 * | 0x00 | 4    | magic       | creator, last (release)  | open           | P1    |
 * | 0x04 | 4    | version     | creator, before magic    | open           |       |
 * | 0x08 | 4    | entry_count | adder, after entry (rel) | find/iterate   | E1    |
 * | 0x0C | 4    | max_entries | creator                  | open (0 => 64) |       |
 * | 0x10 | 8    | memory_size | creator                  | open           |       |
 * | 0x18 | 8    | next_offset | adder, under the lock    | adder, stats   |       |
 *
 * Table entry i, 48 bytes at 32 + 48*i, written once by its adder before the
 * entry_count release (E1) that makes it visible, never changed afterwards:
 * | 0  | 32 | name, NUL-terminated, zero-padded |
 * | 32 | 8  | offset from the segment base (8-aligned, past the table) |
 * | 40 | 8  | size in bytes as requested (not rounded) |
 */
#ifndef ZIPC_SEGMENT_SHM_H
#define ZIPC_SEGMENT_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

#define ZIPC_MAGIC 0x5A49504Du
#define ZIPC_HEADER_SIZE 32u
#define ZIPC_ENTRY_SIZE 48u
#define ZIPC_NAME_FIELD 32u

typedef struct zipc_table_header_shm {
    zipc_atomic_u32 magic;
    uint32_t version;
    zipc_atomic_u32 entry_count;
    uint32_t max_entries;
    uint64_t memory_size;
    zipc_atomic_u64 next_offset;
} zipc_table_header_shm;

typedef struct zipc_table_entry_shm {
    uint8_t name[ZIPC_NAME_FIELD];
    uint64_t offset;
    uint64_t size;
} zipc_table_entry_shm;

static_assert(offsetof(zipc_table_header_shm, magic) == 0x00, "magic");
static_assert(offsetof(zipc_table_header_shm, version) == 0x04, "version");
static_assert(offsetof(zipc_table_header_shm, entry_count) == 0x08, "entry_count");
static_assert(offsetof(zipc_table_header_shm, max_entries) == 0x0C, "max_entries");
static_assert(offsetof(zipc_table_header_shm, memory_size) == 0x10, "memory_size");
static_assert(offsetof(zipc_table_header_shm, next_offset) == 0x18, "next_offset");
static_assert(sizeof(zipc_table_header_shm) == ZIPC_HEADER_SIZE, "header is 32 bytes");
static_assert(offsetof(zipc_table_entry_shm, name) == 0, "entry name");
static_assert(offsetof(zipc_table_entry_shm, offset) == 32, "entry offset");
static_assert(offsetof(zipc_table_entry_shm, size) == 40, "entry size");
static_assert(sizeof(zipc_table_entry_shm) == ZIPC_ENTRY_SIZE, "entry is 48 bytes");

static inline uint64_t zipc__align8(uint64_t n) { return (n + 7u) & ~(uint64_t)7u; }

/* The unit of coherence the hot paths lay out for (x86-64 and most arm64). */
#define ZIPC_CACHE_LINE 64u
static inline uint64_t zipc__table_size(uint32_t max_entries)
{
    return ZIPC_HEADER_SIZE + (uint64_t)ZIPC_ENTRY_SIZE * max_entries;
}

#endif /* ZIPC_SEGMENT_SHM_H */
