/* The one wait layer: bounded spin, then sleep on a shared futex with a
 * CLOCK_MONOTONIC deadline. Every blocking call of the library goes through
 * here; nothing else calls syscall(SYS_futex).
 *
 * Two levels:
 *  - zipc__futex_wait/wake: sleep while a shared 32-bit word holds a value.
 *    Used directly by primitives whose format word is itself the thing waited
 *    on (a semaphore count, a barrier generation).
 *  - zipc_waitset_shm, an event count kept in an auxiliary table entry, plus
 *    zipc__wait_until(): "retry this try-operation until it stops returning
 *    -EAGAIN", for structures whose format has no word to sleep on (queue,
 *    stack, ring). Wakers call futex only when somebody sleeps.
 *
 * Peers written against other ZeroIPC implementations never wake anybody, so
 * no sleep lasts longer than ZIPC_WAIT_SLICE_NS: a blocked waiter re-checks
 * its condition at least that often and sees their changes within one slice.
 */
#ifndef ZIPC_WAIT_H
#define ZIPC_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "atomics.h"

/* Polls of the condition (with a CPU pause between them) per clock reading
 * in zipc__wait_until's spin phase, and the spin budget of other loops. */
#define ZIPC_SPIN_LIMIT 64
/* How long zipc__wait_until polls before it sleeps (never past the caller's
 * deadline). A little longer than waking a sleeping process costs (25-35 us
 * on a loaded 2-CPU VM): a peer that answers within that time is seen
 * without either side paying a wake-up; a longer wait costs this much CPU
 * once per blocking call, then sleeps. */
#define ZIPC_SPIN_NS 50000LL
/* Longest single sleep: bounds how late a change by a peer that never wakes
 * anybody is seen, and costs at most 1e9/ZIPC_WAIT_SLICE_NS wake-ups a
 * second for an idle waiter (100/s: far below 1% of a core). */
#define ZIPC_WAIT_SLICE_NS 10000000LL

/* A waker whose FUTEX_WAKE on a waitset woke nobody, while `waiters` stayed
 * non-zero and unchanged for this long, takes the count for stale (a sleeper
 * killed inside zipc__wait_until never decrements it) and from then on makes
 * at most one FUTEX_WAKE call per this interval on that waitset while the
 * count keeps that value (zipc__waitset_wake in wait.c says why a live
 * sleeper is still woken in time). */
#define ZIPC_WAKE_RETRY_NS 1000000LL

/* An absolute CLOCK_MONOTONIC deadline, or none. */
typedef struct zipc__deadline {
    bool forever;
    int64_t at_ns; /* CLOCK_MONOTONIC, nanoseconds */
} zipc__deadline;

int64_t zipc__now_ns(void);
/* timeout_ns < 0: no limit; 0: already expired (try once, then -ETIMEDOUT). */
void zipc__deadline_init(zipc__deadline *d, int64_t timeout_ns);
bool zipc__deadline_expired(const zipc__deadline *d);

/* Sleep while *word == expected, for at most one slice and never past D (NULL:
 * no deadline). Returns 0 when the caller should re-check its condition
 * (woken, value already different, slice over, signal), or -ETIMEDOUT once
 * the deadline has passed. */
int zipc__futex_wait(zipc_atomic_u32 *word, uint32_t expected, const zipc__deadline *d);
/* Wake up to N sleepers on WORD (INT32_MAX: all). */
void zipc__futex_wake(zipc_atomic_u32 *word, int32_t n);

/* Event count in shared memory (an auxiliary table entry, docs/format.md
 * "extensions"):
 *   @0 u32 seq      bumped by a waker that saw sleepers; the futex word
 *   @4 u32 waiters  processes between prepare and cancel
 */
typedef struct zipc_waitset_shm {
    zipc_atomic_u32 seq;
    zipc_atomic_u32 waiters;
} zipc_waitset_shm;
_Static_assert(sizeof(zipc_waitset_shm) == 8, "waitset is 8 bytes");
_Static_assert(offsetof(zipc_waitset_shm, seq) == 0, "seq @0");
_Static_assert(offsetof(zipc_waitset_shm, waiters) == 4, "waiters @4");

/* Wake up to N waiters if any sleep (the fast path is a fence and a load).
 * Call after the state change the waiters wait for has been published. */
void zipc__waitset_notify(zipc_waitset_shm *ws, int32_t n);

/* The two halves of zipc__waitset_notify without its fence, for a waker
 * whose state change is itself a seq_cst read-modify-write (a claiming CAS):
 * read has_waiters right after that RMW (N3: pairs with W1; the waiter must
 * re-check with a seq_cst load of the word the RMW changed, after its W1),
 * and if it was true, call zipc__waitset_wake once the change is complete. */
static inline bool zipc__waitset_has_waiters(zipc_waitset_shm *ws)
{
    /* N3: seq_cst, pairs with W1 (see above). */
    return zipc__load_seq_cst_u32(&ws->waiters) != 0;
}
void zipc__waitset_wake(zipc_waitset_shm *ws, int32_t n);

#ifdef ZIPC_TEST_HOOKS
/* Test build: FUTEX_WAKE calls made by zipc__waitset_wake in this process. */
extern zipc_atomic_u64 zipc__test_waitset_wake_calls;
#endif

/* Call TRY(CTX) until it returns something other than -EAGAIN, spinning
 * briefly and then sleeping on WS (which may be NULL: then sleeps are plain
 * slices) until TIMEOUT_NS (< 0: none) elapses. Returns TRY's result, or
 * -ETIMEDOUT. */
typedef int (*zipc__try_fn)(void *ctx);
int zipc__wait_until(zipc_waitset_shm *ws, zipc__try_fn try_op, void *ctx, int64_t timeout_ns);

/* ---- asymmetric fences (membarrier) ------------------------------------ *
 * A waker that changes state with a plain store and then reads `waiters`
 * needs a store->load fence between the two (N1) to pair with the waiter's
 * W1. A waker on every operation of a hot path (a queue's single producer)
 * can instead rely on the waiter: once the waker's process has registered
 * (zipc__asym_register), the waker needs only a compiler barrier
 * (zipc__signal_fence_seq_cst) and the waiter, after W1 and before its
 * re-check, calls zipc__asym_heavy(), which makes every CPU running a
 * registered process execute a full barrier (membarrier(2),
 * MEMBARRIER_CMD_GLOBAL_EXPEDITED). Either the waker's store was before that
 * barrier (the re-check sees it) or its load of `waiters` after (it sees W1).
 * Registration is per process and refused where the kernel lacks the
 * command (and always in ThreadSanitizer builds): the waker then fences. */

/* Register this process (once per pid); true when registered. */
bool zipc__asym_register(void);
/* The heavy side. Returns 0, or -errno when the kernel refused: then the
 * caller may miss a registered waker's store until its next sleep slice. */
int zipc__asym_heavy(void);
/* zipc__wait_until whose waiter calls zipc__asym_heavy() after W1 when
 * HEAVY is set (the wakers of WS use the light side). */
int zipc__wait_until_ex(zipc_waitset_shm *ws, zipc__try_fn try_op, void *ctx,
                        int64_t timeout_ns, bool heavy);

/* ---- auxiliary waitset entries (waitset.c) ----------------------------- */

/* A structure NAME keeps its waitsets in the entry NAME "_wait": N
 * consecutive zipc_waitset_shm (for a queue: [0] "not empty", [1] "not full"). */
#define ZIPC_WAITSET_SUFFIX "_wait"

struct zipc__new_entry;
struct zipc_segment;
/* Fill E (and NAMEBUF) so that zipc__seg_add_many() creates the waitset entry
 * of NAME together with the structure: list it BEFORE the structure's own
 * entry, so that whoever sees the structure also sees its waitset. Returns
 * false when NAME + suffix does not fit in 31 bytes (then create without). */
bool zipc__waitset_prepare(struct zipc__new_entry *e, char namebuf[32], const char *name,
                           uint32_t nsets);
/* After zipc__seg_add_many succeeded: the waitsets in this mapping. */
zipc_waitset_shm *zipc__waitset_at(struct zipc_segment *seg, const struct zipc__new_entry *e);
/* On open: the waitsets of NAME, adding the entry if a foreign creator did not
 * and ADD is set (writable segments only). NULL: none usable; callers pass NULL on to
 * zipc__wait_until(), which then sleeps in bounded slices. */
zipc_waitset_shm *zipc__waitset_open(struct zipc_segment *seg, const char *name, uint32_t nsets,
                                     bool add);

#endif /* ZIPC_WAIT_H */
