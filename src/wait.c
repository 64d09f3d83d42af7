/* The wait layer: see wait.h. */
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef ZIPC_TSAN
zipc_atomic_u32 zipc__tsan_fence_word;
#endif

#define NS_PER_SEC 1000000000LL

int64_t zipc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

void zipc__deadline_init(zipc__deadline *d, int64_t timeout_ns)
{
    d->forever = timeout_ns < 0;
    d->at_ns = 0;
    if (!d->forever) {
        int64_t now = zipc__now_ns();
        d->at_ns = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
    }
}

bool zipc__deadline_expired(const zipc__deadline *d)
{
    return !d->forever && zipc__now_ns() >= d->at_ns;
}

int zipc__futex_wait(zipc_atomic_u32 *word, uint32_t expected, const zipc__deadline *d)
{
    int64_t now = zipc__now_ns();
    int64_t until = now + ZIPC_WAIT_SLICE_NS;
    if (d && !d->forever) {
        if (now >= d->at_ns)
            return -ETIMEDOUT;
        if (d->at_ns < until)
            until = d->at_ns;
    }
    struct timespec abs = {.tv_sec = until / NS_PER_SEC, .tv_nsec = until % NS_PER_SEC};
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time; no
     * FUTEX_PRIVATE_FLAG: the word is shared between processes. */
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET, expected, &abs, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    (void)r; /* woken, EAGAIN (value changed), ETIMEDOUT (slice), EINTR: re-check */
    if (d && !d->forever && zipc__now_ns() >= d->at_ns)
        return -ETIMEDOUT;
    return 0;
}

/* Returns how many sleepers FUTEX_WAKE woke (0 also on error). */
static long futex_wake_count(zipc_atomic_u32 *word, int32_t n)
{
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);
    return r > 0 ? r : 0;
}

void zipc__futex_wake(zipc_atomic_u32 *word, int32_t n)
{
    (void)futex_wake_count(word, n);
}

void zipc__waitset_notify(zipc_waitset_shm *ws, int32_t n)
{
    /* N1: pairs with W1 in zipc__wait_until. The caller's state change (a store)
     * must be ordered before our load of waiters; the waiter orders its
     * waiters increment before re-checking the state. One of the two sees the
     * other: either we see a sleeper and wake it, or it sees the change. */
    zipc__fence_seq_cst();
    if (zipc__load_relaxed_u32(&ws->waiters) == 0)
        return;
    zipc__waitset_wake(ws, n);
}

/* Stale waiter counts, remembered per thread (process-local: nothing in
 * shared memory changes). A slot describes one waitset on which every
 * FUTEX_WAKE since FIRST_EMPTY_NS woke nobody while `waiters` read WAITERS;
 * LAST_CALL_NS is the last of those calls. Slots are picked by address, so
 * two waitsets may evict each other: they then both pay the system calls,
 * which is only slower. A slot left over from an unmapped waitset whose
 * address is reused can skip wakes on the new one for at most
 * ZIPC_WAKE_RETRY_NS each time, like any suspicion (below). */
#define STALE_SLOTS 8

typedef struct stale_slot {
    const zipc_waitset_shm *ws; /* NULL: free */
    uint32_t waiters;
    int64_t first_empty_ns;
    int64_t last_call_ns;
} stale_slot;

static _Thread_local stale_slot stale_slots[STALE_SLOTS];

#ifdef ZIPC_TEST_HOOKS
zipc_atomic_u64 zipc__test_waitset_wake_calls;
#endif

static stale_slot *stale_slot_of(const zipc_waitset_shm *ws)
{
    uintptr_t a = (uintptr_t)ws;
    /* The sets of one entry are 8 bytes apart; entries are further apart. */
    return &stale_slots[((a >> 3) ^ (a >> 9)) % STALE_SLOTS];
}

void zipc__waitset_wake(zipc_waitset_shm *ws, int32_t n)
{
    /* N2: pairs with W2: a waiter that read seq before this bump finds the
     * futex word changed and does not sleep; one that reads it after sees
     * (acquire) the state change the caller completed before calling us. */
    zipc__fetch_add_release_u32(&ws->seq, 1);

    /* Skipping the system call. The bump above is never skipped, so the only
     * sleepers a skipped FUTEX_WAKE can miss are those already inside
     * futex_wait. We skip only when (a) every FUTEX_WAKE of this thread on WS
     * for at least ZIPC_WAKE_RETRY_NS woke nobody while `waiters` kept one
     * non-zero value, (b) `waiters` still has that value, and (c) the last
     * real call was less than ZIPC_WAKE_RETRY_NS ago. A live waiter counted
     * at those calls was between its increment and futex_wait, or between
     * waking and its decrement, each time: short windows, so (a) means the
     * count is held by dead sleepers (a preempted live one is the rare
     * exception). A sleeper that arrives later raises the count and breaks
     * (b), unless another live one left in between. Whoever is missed
     * anyway is woken by this thread's next call after the interval (c), by
     * any other thread's or process's wake, or by the end of its slice: its
     * extra delay is at most ZIPC_WAKE_RETRY_NS while wakes keep coming, and
     * never past ZIPC_WAIT_SLICE_NS. The relaxed load of `waiters` only picks
     * between calling and skipping; no ordering hangs on it. */
    stale_slot *s = stale_slot_of(ws);
    uint32_t waiters = zipc__load_relaxed_u32(&ws->waiters);
    if (s->ws == ws && s->waiters == waiters &&
        s->last_call_ns - s->first_empty_ns >= ZIPC_WAKE_RETRY_NS &&
        zipc__now_ns() - s->last_call_ns < ZIPC_WAKE_RETRY_NS)
        return;
#ifdef ZIPC_TEST_HOOKS
    zipc__fetch_add_relaxed_u64(&zipc__test_waitset_wake_calls, 1);
#endif
    if (futex_wake_count(&ws->seq, n) > 0 || waiters == 0) {
        if (s->ws == ws)
            s->ws = NULL; /* somebody was asleep: the count is live */
        return;
    }
    int64_t now = zipc__now_ns();
    if (s->ws != ws || s->waiters != waiters) {
        s->ws = ws; /* start (or restart) watching this count */
        s->waiters = waiters;
        s->first_empty_ns = now;
    }
    s->last_call_ns = now;
}

/* ---- asymmetric fences ---------------------------------------------------- */

#ifndef ZIPC_TSAN
static zipc_atomic_u32 asym_registered_pid; /* pid that registered; after fork() a child registers anew */
#endif

bool zipc__asym_register(void)
{
#ifdef ZIPC_TSAN
    return false; /* TSan does not know membarrier: wakers fence instead */
#else
    uint32_t pid = (uint32_t)getpid();
    if (zipc__load_relaxed_u32(&asym_registered_pid) == pid)
        return true;
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) != 0)
        return false;
    zipc__store_relaxed_u32(&asym_registered_pid, pid);
    return true;
#endif
}

int zipc__asym_heavy(void)
{
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0)
        return -errno;
    return 0;
}

int zipc__wait_until(zipc_waitset_shm *ws, zipc__try_fn try_op, void *ctx, int64_t timeout_ns)
{
    return zipc__wait_until_ex(ws, try_op, ctx, timeout_ns, false);
}

int zipc__wait_until_ex(zipc_waitset_shm *ws, zipc__try_fn try_op, void *ctx,
                        int64_t timeout_ns, bool heavy)
{
    int r;
    /* The deadline counts from the call, not from the end of the spin: a
     * try-operation may itself spin (the stack's bounded claims). */
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    /* Spin for ZIPC_SPIN_NS (never past the deadline), reading the clock
     * once per ZIPC_SPIN_LIMIT polls. */
    int64_t spin_until = zipc__now_ns() + ZIPC_SPIN_NS;
    if (!d.forever && d.at_ns < spin_until)
        spin_until = d.at_ns;
    do {
        for (int i = 0; i < ZIPC_SPIN_LIMIT; i++) {
            r = try_op(ctx);
            if (r != -EAGAIN)
                return r;
            zipc__cpu_relax();
        }
    } while (zipc__now_ns() < spin_until);
    zipc_atomic_u32 slice_word = 0; /* private word: plain timed sleeps without a waitset */
    for (;;) {
        zipc_atomic_u32 *word = ws ? &ws->seq : &slice_word;
        uint32_t key = 0;
        if (ws) {
            /* W1: pairs with N1 in zipc__waitset_notify. Store->load: the
             * increment must be ordered before the re-check's loads of the
             * state. A seq_cst RMW alone does not order later non-seq_cst
             * loads in the C11 model (only a fence does; on arm64 a relaxed
             * load may pass the RMW's store), hence fence-to-fence. */
            zipc__fetch_add_seq_cst_u32(&ws->waiters, 1);
            zipc__fence_seq_cst();
            /* W2: pairs with N2: a bump after this load makes the futex fail. */
            key = zipc__load_acquire_u32(&ws->seq);
            /* W4: pairs with the light side of registered wakers (see
             * zipc__asym_register): after W1, before the re-check. */
            if (heavy)
                zipc__asym_heavy();
        }
        r = try_op(ctx);
        int w = (r == -EAGAIN) ? zipc__futex_wait(word, key, &d) : 0;
        if (ws)
            zipc__fetch_sub_relaxed_u32(&ws->waiters, 1);
        if (r != -EAGAIN)
            return r;
        r = try_op(ctx);
        if (r != -EAGAIN)
            return r;
        if (w == -ETIMEDOUT)
            return -ETIMEDOUT;
    }
}
