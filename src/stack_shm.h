/* Stack layout (docs/format.md "Stack"; FORMAT.md section 2): a bounded stack
 * whose slots carry a 4-state claim word.
 * | off              | size   | field     | written by               | read by            | order |
 * |------------------|--------|-----------|--------------------------|--------------------|-------|
 * | 0                | 4      | top       | pushers/poppers (CAS)    | everyone           | O1 release CAS / O2 acquire in recover |
 * | 4                | 4      | capacity  | creator                  | open (validated)   | entry publication |
 * | 8                | 4      | elem_size | creator                  | open (validated)   | entry publication |
 * | 12               | 4      | reserved, 0 |                        |                    |       |
 * | 16               | cap*es | data      | slot's claim holder      | slot's claim holder| ordered by state |
 * | 16+align8(cap*es)| 4*cap  | state[cap]| claim holders            | everyone           | R3/A4,A5 (publish), R4/A3 (free) |
 * Total = 16 + align8(cap*es) + 4*cap. Init: top = -1, every state EMPTY.
 * top is the index of the top element (-1: empty), in [-1, capacity-1]. */
#ifndef ZIPC_STACK_SHM_H
#define ZIPC_STACK_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

/* Slot states (the format's values). */
#define ZIPC_SLOT_EMPTY 0u
#define ZIPC_SLOT_WRITING 1u
#define ZIPC_SLOT_READY 2u
#define ZIPC_SLOT_READING 3u

typedef struct zipc_stack_shm {
    zipc_atomic_i32 top;
    uint32_t capacity;
    uint32_t elem_size;
    uint32_t reserved;
    /* uint8_t data[align8(capacity * elem_size)]; zipc_atomic_u32 state[capacity]; */
} zipc_stack_shm;

#define ZIPC_STACK_HEADER 16u

static_assert(offsetof(zipc_stack_shm, top) == 0, "top @0");
static_assert(offsetof(zipc_stack_shm, capacity) == 4, "capacity @4");
static_assert(offsetof(zipc_stack_shm, elem_size) == 8, "elem_size @8");
static_assert(offsetof(zipc_stack_shm, reserved) == 12, "reserved @12");
static_assert(sizeof(zipc_stack_shm) == ZIPC_STACK_HEADER, "stack header is 16 bytes");

static inline uint64_t zipc__stack_state_offset(uint64_t capacity, uint64_t elem_size)
{
    return ZIPC_STACK_HEADER + ((capacity * elem_size + 7u) & ~(uint64_t)7u);
}

/* Entry size: 16 + align8(cap*es) + 4*cap (cap, es < 2^32: no overflow). */
static inline uint64_t zipc__stack_entry_size(uint64_t capacity, uint64_t elem_size)
{
    return zipc__stack_state_offset(capacity, elem_size) + 4u * capacity;
}

#endif /* ZIPC_STACK_SHM_H */
