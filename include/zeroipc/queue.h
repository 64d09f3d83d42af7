/* libzeroipc: Queue, a bounded lock-free multi-producer multi-consumer FIFO of
 * fixed-size elements (Vyukov's per-slot sequence numbers; byte layout in
 * docs/format.md "Queue"; contract, algorithm and crash outcomes in
 * docs/queue.md).
 *
 * Handles: a zipc_queue handle is used by one thread at a time (it records the
 * one operation it has in flight, for crash recovery); open one handle per
 * thread. A handle must not be used in a child after fork(): open the queue
 * again there. Any number of handles, in any processes, may use one queue.
 *
 * Non-blocking calls never make a system call, except to wake a peer that
 * sleeps in a blocking call. Blocking calls spin briefly, then sleep in the
 * kernel (no CPU used) in slices of at most ZIPC_WAIT_SLICE_NS (10 ms), so a
 * peer that never wakes anybody (another ZeroIPC implementation) is still
 * seen within one slice.
 *
 * Auxiliary entries: zipc_queue_create also adds NAME "_wait" (sleeper
 * counts) and NAME "_own" (which process holds which claim), unless
 * ZIPC_QUEUE_NO_AUX is given or NAME is longer than 26 bytes. Without them the
 * queue is byte-for-byte what the format describes; blocking calls then sleep
 * in plain slices and crashes are not attributable (recover repairs nothing).
 */
#ifndef ZEROIPC_QUEUE_H
#define ZEROIPC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_queue zipc_queue;

/* Flags of zipc_queue_create_ex / zipc_queue_open_ex. */
#define ZIPC_QUEUE_NO_AUX 0x1u /* create: add no "_wait"/"_own" entries; open: add none if missing */
/* Create only (fixed for the queue's life, recorded in "<name>_own"; not
 * with ZIPC_QUEUE_NO_AUX): one handle at a time pushes / pops. */
#define ZIPC_QUEUE_SINGLE_PRODUCER 0x2u
#define ZIPC_QUEUE_SINGLE_CONSUMER 0x4u
/* Create only: the queue starts on a cache-line (64-byte) boundary, with up
 * to 56 bytes before it that belong to no entry. A queue of at most 64 bytes
 * (16 + align8(capacity * elem_size) + 4 * capacity: 4 slots of up to 8
 * bytes, 2 of up to 20) is then exactly one line, and a message costs one
 * line transfer instead of two: the lowest round-trip latency (docs/queue.md
 * "Latency"). Every ZeroIPC implementation reads the segment as usual (they
 * follow the table's offsets), but the allocation is not the one the
 * format's align8 rule makes, so the segment's bytes differ from those
 * another implementation would write for the same calls. Not reported by
 * zipc_queue_flags. */
#define ZIPC_QUEUE_LINE_ALIGNED 0x8u

/* Single-producer / single-consumer queues (docs/queue.md "Single producer,
 * single consumer"). The byte format is unchanged; what changes is who may
 * touch it. On a ZIPC_QUEUE_SINGLE_PRODUCER queue the first push through a
 * handle makes that handle THE producer until it is closed or its process
 * dies; a push through any other handle meanwhile returns -EPERM. The role
 * is taken over from a dead holder by the next handle that pushes. The
 * producer then claims no slot with a CAS: it writes the slot and publishes
 * its sequence word, and stores `tail` only every ZIPC_QUEUE_LAZY_STRIDE
 * pushes, when it finds the queue full, and at close. Likewise for pops on
 * a ZIPC_QUEUE_SINGLE_CONSUMER queue and `head`. Each side may be single
 * or not independently; the other side keeps the multi-handle protocol.
 *
 * Consequences:
 *  - zipc_queue_size_approx can lag by up to ZIPC_QUEUE_LAZY_STRIDE - 1
 *    elements per single side while its holder is between calls.
 *  - A single producer killed mid-push leaves nothing half-made: the element
 *    it was writing was never published. A single consumer killed mid-pop
 *    leaves its element in the queue for the next consumer (a batch pop
 *    killed while releasing loses the part already released). No recovery
 *    call is needed: the next holder finds the real tail / head itself.
 *  - Roles are told apart by process id: every process using a single-*
 *    queue must be in one pid namespace. A holder row left by a dead
 *    process whose pid now belongs to another live process blocks the role
 *    with -EPERM while that process lives (if the pid is the caller's own,
 *    say after a container restart that kept /dev/shm, the row is known not
 *    to be one of the caller's handles and is taken over). While a dead holder's
 *    row is being repaired by a live zipc_queue_recover, a push / pop that would
 *    take the role over returns -EAGAIN (blocking calls retry).
 *  - Other ZeroIPC implementations do not know these flags: a queue created
 *    with them must not be pushed (SINGLE_PRODUCER) / popped
 *    (SINGLE_CONSUMER) by them. Their pops / pushes on the other side work. */
#define ZIPC_QUEUE_LAZY_STRIDE 32u

/* Create the Queue NAME of CAPACITY elements of ELEM_SIZE bytes (capacity is
 * rounded up to a power of two, and to at least 2: with one slot Vyukov's
 * sequence numbers cannot tell "published" from "released";
 * zipc_queue_capacity tells the result).
 * Returns 0, -EINVAL (NULL, elem_size 0 or >= 2^32, capacity 0 or > 2^31),
 * -ENAMETOOLONG, -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_queue_create(zipc_segment *seg, const char *name, size_t elem_size,
                               uint32_t capacity, zipc_queue **out);
/* zipc_queue_create with ZIPC_QUEUE_* flags (-EINVAL for unknown flags, or
 * a SINGLE_* flag with NO_AUX or with a name longer than 26 bytes, which
 * leaves no room for the auxiliary entries' suffixes). */
ZIPC_API int zipc_queue_create_ex(zipc_segment *seg, const char *name, size_t elem_size,
                                  uint32_t capacity, uint32_t flags, zipc_queue **out);

/* Open the Queue NAME whose elements are ELEM_SIZE bytes. On a writable
 * segment, missing auxiliary entries (queue made by another implementation)
 * are added. Returns 0, -EINVAL (NULL, elem_size 0 or >= 2^32), -ENAMETOOLONG,
 * -ENOENT, -EBADMSG (capacity 0 or not a power of two, stored elem_size is
 * not ELEM_SIZE, or the entry size is not 16 + align8(cap*es) + 4*cap),
 * -ENOMEM. */
ZIPC_API int zipc_queue_open(zipc_segment *seg, const char *name, size_t elem_size,
                             zipc_queue **out);
/* zipc_queue_open with ZIPC_QUEUE_* flags: only ZIPC_QUEUE_NO_AUX (-EINVAL
 * otherwise). A single-producer / single-consumer queue is recognised from
 * its "_own" entry. */
ZIPC_API int zipc_queue_open_ex(zipc_segment *seg, const char *name, size_t elem_size,
                                uint32_t flags, zipc_queue **out);

/* Free the handle (the queue stays). NULL is ignored. A handle holding the
 * producer / consumer role of a single-* queue stores the exact tail / head
 * and gives the role up. */
ZIPC_API void zipc_queue_close(zipc_queue *q);

/* Copy ELEM in at the tail. Returns 0, -EAGAIN (full, or the slot is still
 * being read by a consumer), -EINVAL (NULL), -EROFS (read-only segment),
 * -EBADMSG (corrupt: a slot's sequence number is ahead of a tail that does
 * not move), -EPERM (a single-producer queue whose producer is another live
 * handle, or this handle has no owner row to hold the role with).
 * Pops likewise, with -EPERM for a single-consumer queue. */
ZIPC_API int zipc_queue_try_push(zipc_queue *q, const void *elem);
/* Copy the head element out to ELEM. Returns 0, -EAGAIN (empty, or the next
 * element is still being written by a producer), -EINVAL, -EROFS, -EBADMSG
 * (as for try_push, at head). */
ZIPC_API int zipc_queue_try_pop(zipc_queue *q, void *elem);

/* Blocking forms: wait up to TIMEOUT_NS (< 0: no limit, ZIPC_WAIT_FOREVER;
 * 0: a few attempts) for room / an element.
 * Return 0, -ETIMEDOUT, -EINVAL, -EROFS, -EBADMSG, -EPERM (at once: the
 * role of a single-* queue is held by another live handle). */
ZIPC_API int zipc_queue_push(zipc_queue *q, const void *elem, int64_t timeout_ns);
ZIPC_API int zipc_queue_pop(zipc_queue *q, void *elem, int64_t timeout_ns);

/* Batches: push the first k <= N elements of the array ELEMS (N * elem_size
 * bytes), claiming k consecutive slots with one CAS on tail; pop up to N
 * elements into ELEMS with one CAS on head. k is as many as are free
 * (published) right now, in order (on a single-* queue the single side
 * claims nothing). Return k >= 1, 0 when N == 0, -EAGAIN (full / empty),
 * -EINVAL, -EROFS, -EBADMSG, -EPERM. */
ZIPC_API int zipc_queue_try_push_batch(zipc_queue *q, const void *elems, uint32_t n);
ZIPC_API int zipc_queue_try_pop_batch(zipc_queue *q, void *elems, uint32_t n);
/* Blocking batches: wait up to TIMEOUT_NS until at least one element can be
 * moved, then move as many as possible (up to N). Return k >= 1, 0 when
 * N == 0, -ETIMEDOUT, -EINVAL, -EROFS, -EBADMSG, -EPERM. */
ZIPC_API int zipc_queue_push_batch(zipc_queue *q, const void *elems, uint32_t n,
                                   int64_t timeout_ns);
ZIPC_API int zipc_queue_pop_batch(zipc_queue *q, void *elems, uint32_t n, int64_t timeout_ns);

/* APPROXIMATE: tail - head read at slightly different moments, clamped to
 * [0, capacity]. Includes elements being written or read right now. Exact
 * only when no other thread or process uses the queue. */
ZIPC_API uint32_t zipc_queue_size_approx(const zipc_queue *q);
ZIPC_API bool zipc_queue_empty_approx(const zipc_queue *q);
ZIPC_API bool zipc_queue_full_approx(const zipc_queue *q);
/* Slots (a power of two) and element size, from the handle's validated copies. */
ZIPC_API uint32_t zipc_queue_capacity(const zipc_queue *q);
ZIPC_API size_t zipc_queue_elem_size(const zipc_queue *q);
/* The queue's ZIPC_QUEUE_SINGLE_* flags, plus ZIPC_QUEUE_NO_AUX when it has
 * no waitsets. 0 for NULL. */
ZIPC_API uint32_t zipc_queue_flags(const zipc_queue *q);

/* ---- crash detection and recovery (docs/queue.md "Crash recovery") ------ */

typedef struct zipc_queue_report {
    uint32_t head, tail;        /* the counters when looked at */
    /* check and recover: */
    uint32_t inflight_push;     /* slots claimed by a producer, not yet published */
    uint32_t inflight_pop;      /* slots taken by a consumer, not yet released */
    uint32_t dead_owners;       /* owner rows of dead processes with a claim in flight */
    /* recover only: */
    uint32_t republished;       /* elements fully written by a dead producer, now published */
    uint32_t skipped;           /* slots a dead producer never filled, skipped (no element lost) */
    uint32_t released;          /* slots a dead consumer took, released (that element is lost) */
    uint32_t pending;           /* dead claims that wait for consumers to reach them: call again */
    uint32_t rows_freed;        /* owner rows of dead processes returned to the pool */
} zipc_queue_report;

/* Look without changing anything: fills REPORT (check-only fields zero).
 * Slots in flight may belong to live, slow processes; dead_owners counts
 * claims whose process provably no longer exists (kill(pid, 0) == ESRCH;
 * a zombie not yet reaped still counts as alive).
 * Returns 0, -EINVAL. */
ZIPC_API int zipc_queue_check(zipc_queue *q, zipc_queue_report *report);
/* Repair every claim whose owner is provably dead: publish what it had fully
 * written, skip a slot it never filled once consumers reach it, release a
 * slot it had taken. Claims of live processes are never touched. Safe to call
 * from any number of processes at once. REPORT may be NULL.
 * Returns 0 (see report->pending), -EINVAL, -EROFS. */
ZIPC_API int zipc_queue_recover(zipc_queue *q, zipc_queue_report *report);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_QUEUE_H */
