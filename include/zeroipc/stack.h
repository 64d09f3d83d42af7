/* libzeroipc: Stack, a bounded LIFO of fixed-size elements shared between
 * processes (layout in docs/format.md "Stack"; contract and crash outcomes in
 * docs/queue.md "Stack").
 *
 * The format's algorithm moves top with a CAS and then claims the slot's
 * state word; a slot held by a stuck or dead peer can therefore not be waited
 * for forever. Every claim is retried a bounded number of times
 * (ZIPC_STACK_CLAIM_SPINS spins, then ZIPC_STACK_CLAIM_YIELDS yields); when
 * the bound is reached the operation undoes its move of top and returns
 * -EBUSY, having changed nothing. zipc_stack_recover repairs slots held by
 * dead processes.
 *
 * Handles, blocking and auxiliary entries ("_wait", "_own") work as for the
 * Queue (zeroipc/queue.h): one thread per handle at a time, no use after
 * fork(), ZIPC_STACK_NO_AUX for the format's bytes only.
 */
#ifndef ZEROIPC_STACK_H
#define ZEROIPC_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_stack zipc_stack;

#define ZIPC_STACK_NO_AUX 0x1u /* create: add no "_wait"/"_own" entries; open: add none */

/* Claim retries before giving up with -EBUSY. */
#define ZIPC_STACK_CLAIM_SPINS 256u
#define ZIPC_STACK_CLAIM_YIELDS 256u

/* Create the Stack NAME of CAPACITY elements of ELEM_SIZE bytes.
 * Returns 0, -EINVAL (NULL, elem_size 0 or >= 2^32, capacity 0 or >= 2^31,
 * unknown flags), -ENAMETOOLONG, -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_stack_create(zipc_segment *seg, const char *name, size_t elem_size,
                               uint32_t capacity, zipc_stack **out);
ZIPC_API int zipc_stack_create_ex(zipc_segment *seg, const char *name, size_t elem_size,
                                  uint32_t capacity, uint32_t flags, zipc_stack **out);
/* Open the Stack NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG
 * (capacity 0 or >= 2^31, stored elem_size is not ELEM_SIZE, top out of
 * range, or entry size not 16 + align8(cap*es) + 4*cap), -ENOMEM. */
ZIPC_API int zipc_stack_open(zipc_segment *seg, const char *name, size_t elem_size,
                             zipc_stack **out);
ZIPC_API int zipc_stack_open_ex(zipc_segment *seg, const char *name, size_t elem_size,
                                uint32_t flags, zipc_stack **out);
/* Free the handle (the stack stays). NULL is ignored. */
ZIPC_API void zipc_stack_close(zipc_stack *s);

/* Push ELEM on top / pop the top into ELEM / copy the top into ELEM without
 * removing it. Return 0, -EAGAIN (full / empty), -EBUSY (the slot is held by
 * a stuck or dead peer; nothing changed), -EBADMSG (top out of range: the
 * segment is corrupt), -EINVAL, -EROFS (push/pop on a read-only segment). */
ZIPC_API int zipc_stack_try_push(zipc_stack *s, const void *elem);
ZIPC_API int zipc_stack_try_pop(zipc_stack *s, void *elem);
ZIPC_API int zipc_stack_try_peek(zipc_stack *s, void *elem);

/* Blocking forms: wait up to TIMEOUT_NS (< 0: no limit) for room / an
 * element; a busy slot is waited for too. Return 0, -ETIMEDOUT, -EBUSY (the
 * deadline passed while a slot stayed held by a stuck or dead peer),
 * -EBADMSG, -EINVAL, -EROFS. */
ZIPC_API int zipc_stack_push(zipc_stack *s, const void *elem, int64_t timeout_ns);
ZIPC_API int zipc_stack_pop(zipc_stack *s, void *elem, int64_t timeout_ns);

/* Batches: push ELEMS[0..n) in order (ELEMS[n-1] ends on top) / pop up to N
 * elements, top first. One claim per slot (a batch is a run of single
 * operations: a crash never strands more than one slot). Return the number
 * moved k >= 1, 0 when N == 0, or the error that stopped the first one
 * (-EAGAIN, -EBUSY, -EBADMSG, -EINVAL, -EROFS). */
ZIPC_API int zipc_stack_try_push_batch(zipc_stack *s, const void *elems, uint32_t n);
ZIPC_API int zipc_stack_try_pop_batch(zipc_stack *s, void *elems, uint32_t n);

/* APPROXIMATE: top + 1 when read, clamped to [0, capacity]; counts elements
 * being pushed or popped right now. */
ZIPC_API uint32_t zipc_stack_size_approx(const zipc_stack *s);
ZIPC_API bool zipc_stack_empty_approx(const zipc_stack *s);
ZIPC_API bool zipc_stack_full_approx(const zipc_stack *s);
ZIPC_API uint32_t zipc_stack_capacity(const zipc_stack *s);
ZIPC_API size_t zipc_stack_elem_size(const zipc_stack *s);

/* ---- crash detection and recovery ---------------------------------------- */

typedef struct zipc_stack_report {
    int32_t top;              /* when looked at */
    /* check and recover: */
    uint32_t inflight;        /* slots in a transient state: a claim in progress or left by a dead peer */
    uint32_t dead_owners;     /* owner rows of dead processes with a claim in flight */
    /* recover only: */
    uint32_t republished;     /* elements fully written by a dead pusher, published */
    uint32_t skipped;         /* slots a dead pusher never filled, taken off the top (nothing lost) */
    uint32_t released;        /* slots a dead popper held, emptied (that element is lost) */
    uint32_t restored;        /* elements a dead popper had not read, put back on top */
    uint32_t pending;         /* dead claims below the top: pop down to them, then call again */
    uint32_t rows_freed;
} zipc_stack_report;

/* Look without changing anything. Returns 0, -EINVAL. */
ZIPC_API int zipc_stack_check(zipc_stack *s, zipc_stack_report *report);
/* Repair every claim whose owner is provably dead (kill(pid, 0) == ESRCH) or
 * was abandoned. REPORT may be NULL. Returns 0 (see report->pending),
 * -EINVAL, -EROFS. */
ZIPC_API int zipc_stack_recover(zipc_stack *s, zipc_stack_report *report);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_STACK_H */
