/* Latch: one-shot countdown (latch_shm.h). */
#include "zeroipc/latch.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "latch_shm.h"
#include "segment_internal.h"
#include "wait.h"

struct zipc_latch {
    zipc_latch_shm *l;
    int32_t initial; /* local copy */
};

static void init_latch(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    zipc_latch_shm *l = mem;
    int32_t n = *(const int32_t *)ctx;
    zipc__store_relaxed_i32(&l->count, n);
    l->initial_count = n;
}

static int make_handle(zipc_latch_shm *l, int32_t initial, zipc_latch **out)
{
    zipc_latch *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = (zipc_latch){.l = l, .initial = initial};
    *out = h;
    return 0;
}

int zipc_latch_create(zipc_segment *seg, const char *name, int32_t count, zipc_latch **out)
{
    if (!seg || !out || count < 0)
        return -EINVAL;
    uint64_t off;
    int r = zipc__seg_add(seg, name, ZIPC_LATCH_SIZE, init_latch, &count, &off);
    return r ? r : make_handle(zipc__seg_ptr(seg, off), count, out);
}

int zipc_latch_open(zipc_segment *seg, const char *name, zipc_latch **out)
{
    zipc_latch_shm *l;
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__seg_lookup_fixed(seg, name, ZIPC_LATCH_SIZE, (void **)&l);
    if (r)
        return r;
    return seg->readonly ? -EROFS : make_handle(l, l->initial_count, out);
}

void zipc_latch_close(zipc_latch *latch) { free(latch); }

int zipc_latch_count_down(zipc_latch *latch, int32_t n)
{
    if (!latch || n < 1)
        return -EINVAL;
    zipc_latch_shm *l = latch->l;
    int32_t c = zipc__load_relaxed_i32(&l->count);
    do {
        if (c <= 0)
            return 0; /* already open: stays 0 */
        /* L1 (release half of seq_cst): pairs with L2: what the counter did
         * before counting down is visible to whoever sees 0. S2 (seq_cst):
         * pairs with S1 in wait_slow. */
    } while (!zipc__cas_seq_cst_i32(&l->count, &c, c > n ? c - n : 0));
    if (c <= n && zipc__load_seq_cst_u32(&l->waiters) > 0)
        zipc__futex_wake((zipc_atomic_u32 *)(void *)&l->count, INT32_MAX);
    return 0;
}

int zipc_latch_try_wait(zipc_latch *latch)
{
    if (!latch)
        return -EINVAL;
    /* L2: pairs with L1. */
    return zipc__load_acquire_i32(&latch->l->count) <= 0 ? 0 : -EAGAIN;
}

static int wait_slow(zipc_latch_shm *l, int64_t timeout_ns)
{
    for (int i = 0; i < ZIPC_SPIN_LIMIT; i++) {
        if (zipc__load_acquire_i32(&l->count) <= 0) /* L2 */
            return 0;
        zipc__cpu_relax();
    }
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    int r = 0;
    /* S1: pairs with S2 in count_down: sleeper count before re-reading count. */
    zipc__fetch_add_seq_cst_u32(&l->waiters, 1);
    for (int32_t c; (c = zipc__load_seq_cst_i32(&l->count)) > 0;) {
        if (zipc__futex_wait((zipc_atomic_u32 *)(void *)&l->count, (uint32_t)c, &d) == -ETIMEDOUT) {
            r = zipc__load_acquire_i32(&l->count) <= 0 ? 0 : -ETIMEDOUT;
            break;
        }
    }
    zipc__fetch_sub_relaxed_u32(&l->waiters, 1);
    return r;
}

int zipc_latch_wait_timeout(zipc_latch *latch, int64_t timeout_ns)
{
    if (!latch)
        return -EINVAL;
    if (zipc__load_acquire_i32(&latch->l->count) <= 0) /* L2 */
        return 0;
    return wait_slow(latch->l, timeout_ns);
}

int zipc_latch_wait(zipc_latch *latch) { return zipc_latch_wait_timeout(latch, ZIPC_WAIT_FOREVER); }

int32_t zipc_latch_count(const zipc_latch *latch)
{
    return latch ? zipc__load_relaxed_i32(&latch->l->count) : 0;
}

int32_t zipc_latch_initial_count(const zipc_latch *latch) { return latch ? latch->initial : 0; }
