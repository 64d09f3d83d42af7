/* The wait layer: see wait.h. */
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
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

void zipc__futex_wake(zipc_atomic_u32 *word, int32_t n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);
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

void zipc__waitset_wake(zipc_waitset_shm *ws, int32_t n)
{
    /* N2: pairs with W2: a waiter that read seq before this bump finds the
     * futex word changed and does not sleep. */
    zipc__fetch_add_release_u32(&ws->seq, 1);
    zipc__futex_wake(&ws->seq, n);
}

int zipc__wait_until(zipc_waitset_shm *ws, zipc__try_fn try_op, void *ctx, int64_t timeout_ns)
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
