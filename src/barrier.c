/* Barrier: N-party reusable rendezvous (barrier_shm.h). */
#include "zeroipc/barrier.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "barrier_shm.h"
#include "segment_internal.h"
#include "testhooks.h"
#include "wait.h"

struct zipc_barrier {
    zipc_barrier_shm *b;
    uint32_t n; /* validated local copy of num_participants */
};

static void init_barrier(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    zipc_barrier_shm *b = mem;
    b->num_participants = *(const int32_t *)ctx;
}

static int make_handle(zipc_barrier_shm *b, int32_t n, zipc_barrier **out)
{
    zipc_barrier *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = (zipc_barrier){.b = b, .n = (uint32_t)n};
    *out = h;
    return 0;
}

int zipc_barrier_create(zipc_segment *seg, const char *name, int32_t participants,
                        zipc_barrier **out)
{
    if (!seg || !out || participants < 1)
        return -EINVAL;
    uint64_t off;
    int r = zipc__seg_add(seg, name, ZIPC_BARRIER_SIZE, init_barrier, &participants, &off);
    return r ? r : make_handle(zipc__seg_ptr(seg, off), participants, out);
}

int zipc_barrier_open(zipc_segment *seg, const char *name, zipc_barrier **out)
{
    zipc_barrier_shm *b;
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__seg_lookup_fixed(seg, name, ZIPC_BARRIER_SIZE, (void **)&b);
    if (r)
        return r;
    int32_t n = b->num_participants; /* read once, then checked */
    if (n < 1)
        return -EBADMSG;
    return seg->readonly ? -EROFS : make_handle(b, n, out);
}

void zipc_barrier_close(zipc_barrier *bar) { free(bar); }

/* Cold: the deadline passed. Withdraw our arrival unless the generation we
 * joined completed meanwhile (then the wait succeeded after all). */
static int withdraw(zipc_barrier_shm *b, uint32_t gen)
{
    zipc_atomic_u64 *pair = zipc__barrier_pair(b);
    uint64_t v = zipc__load_acquire_u64(pair); /* B2: pairs with B1 (seeds the CAS) */
    for (;;) {
        uint32_t arrived = (uint32_t)v, g = (uint32_t)(v >> 32);
        if (g != gen)
            return 0;
        if (arrived == 0) /* not ours to withdraw: a peer's reset is in flight */
            return -ETIMEDOUT;
        /* B1: the same CAS protocol as arrival; fails if the generation moved. */
        if (zipc__cas_acq_rel_u64(pair, &v, zipc__barrier_make(arrived - 1, gen)))
            return -ETIMEDOUT;
    }
}

static int wait_generation(zipc_barrier_shm *b, uint32_t gen, int64_t timeout_ns)
{
    for (int i = 0; i < ZIPC_SPIN_LIMIT; i++) {
        /* B2: pairs with B1 of the completing arriver. */
        if (zipc__load_acquire_u32(&b->generation) != gen)
            return 0;
        zipc__cpu_relax();
    }
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    int r = 0;
    /* S1: pairs with S2 in arrive(): sleeper count before re-reading generation. */
    zipc__fetch_add_seq_cst_u32(&b->waiters, 1);
    /* The seq_cst load is also B2 (acquire) for the loop's exit. */
    while (zipc__load_seq_cst_u32(&b->generation) == gen) {
        if (zipc__futex_wait(&b->generation, gen, &d) == -ETIMEDOUT) {
            r = withdraw(b, gen);
            break;
        }
    }
    zipc__fetch_sub_relaxed_u32(&b->waiters, 1);
    return r;
}

int zipc_barrier_wait_timeout(zipc_barrier *bar, int64_t timeout_ns)
{
    if (!bar)
        return -EINVAL;
    zipc_barrier_shm *b = bar->b;
    zipc_atomic_u64 *pair = zipc__barrier_pair(b);
    uint64_t v = zipc__load_relaxed_u64(pair);
    for (;;) {
        uint32_t arrived = (uint32_t)v, gen = (uint32_t)(v >> 32);
        bool last = arrived + 1 >= bar->n;
        uint64_t next = last ? zipc__barrier_make(0, gen + 1) : zipc__barrier_make(arrived + 1, gen);
        /* B1 (seq_cst, so acq_rel): every arrival is a release, the
         * completing CAS acquires them all (one RMW chain) and releases to
         * the waiters' B2. Being seq_cst it is also S2's first half. */
        if (!zipc__cas_seq_cst_u64(pair, &v, next))
            continue;
        if (!last) {
            ZIPC_CRASH_POINT(610); /* arrived, not yet waiting */
            return wait_generation(b, gen, timeout_ns);
        }
        /* S2 (seq_cst CAS above, then this seq_cst load): pairs with S1 in
         * wait_generation(): we see its sleeper count or it sees the new
         * generation. */
        if (zipc__load_seq_cst_u32(&b->waiters) > 0)
            zipc__futex_wake(&b->generation, INT32_MAX);
        return ZIPC_BARRIER_LAST;
    }
}

int zipc_barrier_wait(zipc_barrier *bar) { return zipc_barrier_wait_timeout(bar, ZIPC_WAIT_FOREVER); }
int32_t zipc_barrier_participants(const zipc_barrier *bar) { return bar ? (int32_t)bar->n : 0; }

uint32_t zipc_barrier_generation(const zipc_barrier *bar)
{
    return bar ? zipc__load_acquire_u32(&bar->b->generation) : 0; /* B2: pairs with B1 */
}
