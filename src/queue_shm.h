/* Queue layout (docs/format.md "Queue"; FORMAT.md section 2): a bounded MPMC
 * queue with one sequence number per slot (Vyukov).
 * | off              | size     | field     | written by          | read by             | order |
 * |------------------|----------|-----------|---------------------|---------------------|-------|
 * | 0                | 4        | head      | consumers (CAS)     | consumers, size()   | O1 release CAS / O2 acquire in recover |
 * | 4                | 4        | tail      | producers (CAS)     | producers, size()   | O1 release CAS / O2 acquire in recover |
 * | 8                | 4        | capacity  | creator             | open (validated)    | entry publication |
 * | 12               | 4        | elem_size | creator             | open (validated)    | entry publication |
 * | 16               | cap*es   | slot data | claim holder        | claim holder        | ordered by seq |
 * | 16+align8(cap*es)| 4*cap    | seq[cap]  | producers, consumers| producers, consumers| R1/A2 (publish), R2/A1 (release) |
 * Total = 16 + align8(cap*es) + 4*cap. Init: head = tail = 0, seq[i] = i.
 * capacity is a power of two (slot = counter & (cap - 1) stays continuous
 * across the 2^32 wrap of the counters). */
#ifndef ZIPC_QUEUE_SHM_H
#define ZIPC_QUEUE_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

typedef struct zipc_queue_shm {
    zipc_atomic_u32 head;
    zipc_atomic_u32 tail;
    uint32_t capacity;
    uint32_t elem_size;
    /* uint8_t data[align8(capacity * elem_size)]; zipc_atomic_u32 seq[capacity]; */
} zipc_queue_shm;

#define ZIPC_QUEUE_HEADER 16u

static_assert(offsetof(zipc_queue_shm, head) == 0, "head @0");
static_assert(offsetof(zipc_queue_shm, tail) == 4, "tail @4");
static_assert(offsetof(zipc_queue_shm, capacity) == 8, "capacity @8");
static_assert(offsetof(zipc_queue_shm, elem_size) == 12, "elem_size @12");
static_assert(sizeof(zipc_queue_shm) == ZIPC_QUEUE_HEADER, "queue header is 16 bytes");
static_assert(sizeof(zipc_atomic_u32) == 4, "seq words are 4 bytes");

/* Offset of seq[0] from the queue's start. */
static inline uint64_t zipc__queue_seq_offset(uint64_t capacity, uint64_t elem_size)
{
    return ZIPC_QUEUE_HEADER + ((capacity * elem_size + 7u) & ~(uint64_t)7u);
}

/* Entry size: 16 + align8(cap*es) + 4*cap (cap, es < 2^32: no overflow). */
static inline uint64_t zipc__queue_entry_size(uint64_t capacity, uint64_t elem_size)
{
    return zipc__queue_seq_offset(capacity, elem_size) + 4u * capacity;
}

#endif /* ZIPC_QUEUE_SHM_H */
