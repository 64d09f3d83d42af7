/* Monitor: robust mutex + condition variable built on a semaphore
 * (monitor_shm.h). */
#include "zeroipc/monitor.h"

#include <errno.h>
#include <stdlib.h>

#include "monitor_shm.h"
#include "segment_internal.h"
#include "sync_internal.h"
#include "testhooks.h"

struct zipc_monitor {
    zipc_semaphore_shm *mtx;
    zipc_semaphore_shm *cond;
    int32_t cond_max; /* validated local copy (0 when we created it) */
    zipc_atomic_u32 *count;
};

static const zipc__sem_init cond_initial = {.count = 0, .max_count = 0};

static int make_handle(zipc_monitor tmpl, zipc_monitor **out)
{
    zipc_monitor *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = tmpl;
    *out = h;
    return 0;
}

int zipc_monitor_create(zipc_segment *seg, const char *name, zipc_monitor **out)
{
    char mtx[ZIPC_ENTRY_NAME_MAX + 1], cond[ZIPC_ENTRY_NAME_MAX + 1], cnt[ZIPC_ENTRY_NAME_MAX + 1];
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__aux_name(name, ZIPC_MONITOR_COUNT_SUFFIX, cnt); /* the longest suffix first */
    if (!r)
        r = zipc__aux_name(name, ZIPC_MONITOR_MTX_SUFFIX, mtx);
    if (!r)
        r = zipc__aux_name(name, ZIPC_MONITOR_COND_SUFFIX, cond);
    if (r)
        return r;
    zipc__new_entry es[4] = {
        {.name = mtx, .size = ZIPC_SEMAPHORE_SIZE, .init = zipc__semaphore_init,
         .ctx = (void *)&zipc__mutex_initial},
        {.name = cond, .size = ZIPC_SEMAPHORE_SIZE, .init = zipc__semaphore_init,
         .ctx = (void *)&cond_initial},
        {.name = cnt, .size = ZIPC_MONITOR_COUNT_SIZE},
        {.name = name, .size = ZIPC_MARKER_SIZE}}; /* the marker last */
    r = zipc__seg_add_many(seg, es, 4);
    if (r)
        return r;
    return make_handle((zipc_monitor){.mtx = zipc__seg_ptr(seg, es[0].offset),
                                      .cond = zipc__seg_ptr(seg, es[1].offset),
                                      .count = zipc__seg_ptr(seg, es[2].offset)},
                       out);
}

int zipc_monitor_open(zipc_segment *seg, const char *name, zipc_monitor **out)
{
    char mtx[ZIPC_ENTRY_NAME_MAX + 1], cond[ZIPC_ENTRY_NAME_MAX + 1], cnt[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t off, size;
    zipc_monitor h = {0};
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (!r && size != ZIPC_MARKER_SIZE)
        r = -EBADMSG;
    if (!r)
        r = zipc__aux_name(name, ZIPC_MONITOR_COUNT_SUFFIX, cnt);
    if (!r)
        r = zipc__aux_name(name, ZIPC_MONITOR_MTX_SUFFIX, mtx);
    if (!r)
        r = zipc__aux_name(name, ZIPC_MONITOR_COND_SUFFIX, cond);
    if (!r)
        r = zipc__sem_lookup(seg, mtx, 1, &h.mtx, NULL);
    if (!r)
        r = zipc__sem_lookup(seg, cond, -1, &h.cond, &h.cond_max);
    if (!r)
        r = zipc__seg_lookup(seg, cnt, &off, &size);
    if (!r && size != ZIPC_MONITOR_COUNT_SIZE)
        r = -EBADMSG;
    if (r)
        return r;
    if (seg->readonly)
        return -EROFS;
    h.count = zipc__seg_ptr(seg, off);
    return make_handle(h, out);
}

void zipc_monitor_close(zipc_monitor *mon) { free(mon); }

int zipc_monitor_lock(zipc_monitor *mon)
{
    return mon ? zipc__mutex_lock(mon->mtx, ZIPC_WAIT_FOREVER) : -EINVAL;
}

int zipc_monitor_lock_timeout(zipc_monitor *mon, int64_t timeout_ns)
{
    return mon ? zipc__mutex_lock(mon->mtx, timeout_ns) : -EINVAL;
}

int zipc_monitor_unlock(zipc_monitor *mon) { return mon ? zipc__mutex_unlock(mon->mtx) : -EINVAL; }

int zipc_monitor_consistent(zipc_monitor *mon)
{
    return mon ? zipc__mutex_consistent(mon->mtx) : -EINVAL;
}

int zipc_monitor_wait(zipc_monitor *mon, int64_t timeout_ns)
{
    if (!mon)
        return -EINVAL;
    if (!zipc__mutex_held_by_self(mon->mtx))
        return -EPERM;
    /* count is only touched with the lock held: relaxed, ordered by it. */
    zipc__fetch_add_relaxed_u32(mon->count, 1);
    zipc__mutex_unlock(mon->mtx);
    ZIPC_CRASH_POINT(640); /* registered as a waiter, not sleeping yet */
    int r = zipc__sem_try_acquire(mon->cond);
    if (r) {
        zipc__deadline d;
        zipc__deadline_init(&d, timeout_ns);
        r = zipc__sem_acquire_slow(mon->cond, &d, NULL, NULL);
    }
    int lr = zipc__mutex_lock(mon->mtx, ZIPC_WAIT_FOREVER);
    if (r == -ETIMEDOUT) {
        uint32_t c = zipc__load_relaxed_u32(mon->count);
        if (c > 0)
            zipc__store_relaxed_u32(mon->count, c - 1); /* withdraw */
        else if (zipc__sem_try_acquire(mon->cond) == 0)
            r = 0; /* notified as the deadline passed: take the permit meant for us */
    }
    return lr ? lr : r;
}

static int notify(zipc_monitor *mon, bool all)
{
    if (!mon)
        return -EINVAL;
    if (!zipc__mutex_held_by_self(mon->mtx))
        return -EPERM;
    uint32_t c = zipc__load_relaxed_u32(mon->count);
    if (c == 0)
        return 0;
    uint32_t n = all ? c : 1;
    zipc__store_relaxed_u32(mon->count, c - n);
    /* Permits beyond the semaphore's bound (a foreign creator's max_count)
     * are dropped: the waiters then wake by their own timeouts. */
    zipc__sem_release(mon->cond, mon->cond_max, n > INT32_MAX ? INT32_MAX : (int32_t)n);
    return 0;
}

int zipc_monitor_notify_one(zipc_monitor *mon) { return notify(mon, false); }
int zipc_monitor_notify_all(zipc_monitor *mon) { return notify(mon, true); }
