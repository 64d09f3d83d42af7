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
    zipc_semaphore_shm *cond; /* padding @12: notify sequence (futex word) */
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
        r = zipc__sem_lookup(seg, cond, -1, &h.cond, NULL);
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
    zipc_atomic_u32 *seq = &mon->cond->owner;
    /* seq and count change only with the lock held: relaxed, ordered by it.
     * A notify after our unlock moves seq away from seq0, so the futex wait
     * below cannot miss it. */
    uint32_t seq0 = zipc__load_relaxed_u32(seq);
    zipc__fetch_add_relaxed_u32(mon->count, 1);
    zipc__mutex_unlock(mon->mtx);
    ZIPC_CRASH_POINT(640); /* registered as a waiter, not sleeping yet */
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    int r;
    for (;;) {
        /* M1: pairs with M2 in notify(). */
        if (zipc__load_acquire_u32(seq) != seq0 || zipc__sem_try_acquire(mon->cond) == 0) {
            r = 0; /* notified (a permit: notified by a peer of another implementation) */
            break;
        }
        if (zipc__futex_wait(seq, seq0, &d) == -ETIMEDOUT) {
            r = zipc__load_acquire_u32(seq) != seq0 ? 0 : -ETIMEDOUT; /* M1 */
            break;
        }
    }
    int lr = zipc__mutex_lock(mon->mtx, ZIPC_WAIT_FOREVER);
    zipc__fetch_sub_relaxed_u32(mon->count, 1);
    return lr ? lr : r;
}

static int notify(zipc_monitor *mon, bool all)
{
    if (!mon)
        return -EINVAL;
    if (!zipc__mutex_held_by_self(mon->mtx))
        return -EPERM;
    if (zipc__load_relaxed_u32(mon->count) == 0)
        return 0; /* nobody registered: no system call */
    /* M2 (release): pairs with M1: a waiter that sees the new seq also sees
     * what the notifier wrote before (it re-locks anyway). */
    zipc__fetch_add_release_u32(&mon->cond->owner, 1);
    zipc__futex_wake(&mon->cond->owner, all ? INT32_MAX : 1);
    return 0;
}

int zipc_monitor_notify_one(zipc_monitor *mon) { return notify(mon, false); }
int zipc_monitor_notify_all(zipc_monitor *mon) { return notify(mon, true); }
