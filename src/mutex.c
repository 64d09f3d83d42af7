/* Mutex: a Semaphore with max 1 plus an owner word for crash recovery
 * (mutex_shm.h). The core works on any zipc_semaphore_shm so that RWLock,
 * Monitor and Signal embed the same mutex. */
#include "zeroipc/mutex.h"

#include <errno.h>
#include <stdlib.h>

#include "mutex_shm.h"
#include "segment_internal.h"
#include "sync_internal.h"
#include "testhooks.h"

const zipc__sem_init zipc__mutex_initial = {.count = ZIPC_MUTEX_FREE, .max_count = 1};

struct zipc_mutex {
    zipc_semaphore_shm *m;
};

/* Just acquired the count: record ourselves, keeping the inconsistent mark.
 * The owner word is stable here: nobody else writes it while the count is
 * held and the word names no dead thread. */
static inline int took_lock(zipc_semaphore_shm *m)
{
    ZIPC_CRASH_POINT(600); /* count taken, owner not recorded: the unrecoverable window */
    uint32_t prev = zipc__load_relaxed_u32(&m->owner);
    uint32_t me = (uint32_t)zipc__self_tid();
    if (prev & ZIPC_MUTEX_INCONSISTENT) {
        zipc__store_relaxed_u32(&m->owner, me | ZIPC_MUTEX_INCONSISTENT);
        return -EOWNERDEAD;
    }
    zipc__store_relaxed_u32(&m->owner, me);
    return 0;
}

/* Cold: the count is held; if its recorded holder is dead, take the lock
 * over (the count stays 0: ownership passes without a release). */
static int recover_dead_owner(zipc_semaphore_shm *m)
{
    uint32_t o = zipc__load_relaxed_u32(&m->owner);
    if ((o & ZIPC_TID_MASK) == 0 || zipc__load_relaxed_i32(&m->count) != ZIPC_MUTEX_HELD ||
        !zipc__tid_dead(o))
        return 0;
    uint32_t me = (uint32_t)zipc__self_tid() | ZIPC_MUTEX_INCONSISTENT;
    /* O1 (acq_rel): the dead holder cannot release; the kernel ordered its
     * last stores before its death. Only one waiter's CAS from the dead id
     * succeeds; a holder that unlocked meanwhile changed the word first. */
    if (!zipc__cas_acq_rel_u32(&m->owner, &o, me))
        return 0;
    return -EOWNERDEAD;
}

static int mutex_wait_hook(zipc_semaphore_shm *m, void *ctx)
{
    (void)ctx;
    return recover_dead_owner(m);
}

int zipc__mutex_try_lock(zipc_semaphore_shm *m)
{
    int32_t c = ZIPC_MUTEX_FREE;
    /* A1: pairs with R1 in zipc__mutex_unlock. */
    if (zipc__cas_acquire_i32(&m->count, &c, ZIPC_MUTEX_HELD))
        return took_lock(m);
    int r = recover_dead_owner(m);
    return r ? r : -EAGAIN;
}

int zipc__mutex_lock(zipc_semaphore_shm *m, int64_t timeout_ns)
{
    int32_t c = ZIPC_MUTEX_FREE;
    /* A1: pairs with R1 in zipc__mutex_unlock. */
    if (zipc__cas_acquire_i32(&m->count, &c, ZIPC_MUTEX_HELD))
        return took_lock(m);
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    int r = zipc__sem_acquire_slow(m, &d, mutex_wait_hook, NULL);
    return r == 0 ? took_lock(m) : r; /* -EOWNERDEAD: owner already set */
}

int zipc__mutex_unlock(zipc_semaphore_shm *m)
{
    uint32_t o = zipc__load_relaxed_u32(&m->owner);
    if ((o & ZIPC_TID_MASK) != (uint32_t)zipc__self_tid() ||
        zipc__load_relaxed_i32(&m->count) != ZIPC_MUTEX_HELD)
        return -EPERM;
    zipc__store_relaxed_u32(&m->owner, o & ZIPC_MUTEX_INCONSISTENT);
    ZIPC_CRASH_POINT(601); /* owner cleared, count still held */
    /* R1 (release half): pairs with A1: the critical section and the owner
     * store above are visible to the next holder. S2 (seq_cst exchange, then
     * seq_cst load of waiting): pairs with S1 in zipc__sem_acquire_slow. */
    zipc__exchange_seq_cst_i32(&m->count, ZIPC_MUTEX_FREE);
    if (zipc__load_seq_cst_i32(&m->waiting) > 0)
        zipc__futex_wake(zipc__sem_futex(m), 1);
    return 0;
}

bool zipc__mutex_held_by_self(const zipc_semaphore_shm *m)
{
    return (zipc__load_relaxed_u32(&m->owner) & ZIPC_TID_MASK) == (uint32_t)zipc__self_tid() &&
           zipc__load_relaxed_i32(&m->count) == ZIPC_MUTEX_HELD;
}

int zipc__mutex_consistent(zipc_semaphore_shm *m)
{
    if (!zipc__mutex_held_by_self(m))
        return -EPERM;
    zipc__store_relaxed_u32(&m->owner, (uint32_t)zipc__self_tid());
    return 0;
}

/* ---- public API ---------------------------------------------------------- */

static int make_handle(zipc_semaphore_shm *m, zipc_mutex **out)
{
    zipc_mutex *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->m = m;
    *out = h;
    return 0;
}

int zipc_mutex_create(zipc_segment *seg, const char *name, zipc_mutex **out)
{
    if (!seg || !out)
        return -EINVAL;
    uint64_t off;
    int r = zipc__seg_add(seg, name, ZIPC_SEMAPHORE_SIZE, zipc__semaphore_init,
                          (void *)&zipc__mutex_initial, &off);
    return r ? r : make_handle(zipc__seg_ptr(seg, off), out);
}

int zipc_mutex_open(zipc_segment *seg, const char *name, zipc_mutex **out)
{
    zipc_semaphore_shm *m;
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__sem_lookup(seg, name, 1, &m, NULL);
    if (r)
        return r;
    return seg->readonly ? -EROFS : make_handle(m, out);
}

void zipc_mutex_close(zipc_mutex *mtx) { free(mtx); }

int zipc_mutex_lock(zipc_mutex *mtx)
{
    return mtx ? zipc__mutex_lock(mtx->m, ZIPC_WAIT_FOREVER) : -EINVAL;
}

int zipc_mutex_try_lock(zipc_mutex *mtx) { return mtx ? zipc__mutex_try_lock(mtx->m) : -EINVAL; }

int zipc_mutex_lock_timeout(zipc_mutex *mtx, int64_t timeout_ns)
{
    return mtx ? zipc__mutex_lock(mtx->m, timeout_ns) : -EINVAL;
}

int zipc_mutex_unlock(zipc_mutex *mtx) { return mtx ? zipc__mutex_unlock(mtx->m) : -EINVAL; }

int zipc_mutex_consistent(zipc_mutex *mtx)
{
    return mtx ? zipc__mutex_consistent(mtx->m) : -EINVAL;
}

bool zipc_mutex_held(const zipc_mutex *mtx) { return mtx && zipc__mutex_held_by_self(mtx->m); }

int32_t zipc_mutex_owner(const zipc_mutex *mtx)
{
    return mtx ? (int32_t)(zipc__load_relaxed_u32(&mtx->m->owner) & ZIPC_TID_MASK) : 0;
}
