/* RWLock: writer-preferring readers-writer lock with crash recovery
 * (rwlock_shm.h). Readers enter and leave through the short _rmtx section,
 * which keeps the reader table and the readers word in step; the writer
 * holds _wmtx for its whole section. */
#include "zeroipc/rwlock.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "rwlock_shm.h"
#include "segment_internal.h"
#include "sync_internal.h"
#include "testhooks.h"

static_assert(ZIPC_RWLOCK_READERS_MAX == ZIPC_RWLOCK_READER_SLOTS, "public limit = table size");

struct zipc_rwlock {
    zipc_rwlock_state_shm *st;
    zipc_semaphore_shm *rmtx, *wmtx;
    zipc_rwlock_rtab_shm *tab; /* NULL: no reader tracking (see zipc__aux_open) */
};

#define TABLE_FULL (-ENOSPC) /* internal: no free reader slot */

static int64_t remaining(const zipc__deadline *d)
{
    if (d->forever)
        return ZIPC_WAIT_FOREVER;
    int64_t left = d->at_ns - zipc__now_ns();
    return left > 0 ? left : 0;
}

static zipc_atomic_u32 *futex_of(zipc_atomic_i32 *w) { return (zipc_atomic_u32 *)(void *)w; }

/* S2 side of a sleeper count; without a table, always assume sleepers. */
static bool has_sleepers(zipc_atomic_u32 *w) { return !w || zipc__load_seq_cst_u32(w) > 0; }

static void wake_writers(zipc_rwlock *h)
{
    if (has_sleepers(h->tab ? &h->tab->write_waiters : NULL))
        zipc__futex_wake(futex_of(&h->st->readers), INT32_MAX);
}

static void wake_readers(zipc_rwlock *h)
{
    if (has_sleepers(h->tab ? &h->tab->read_waiters : NULL))
        zipc__futex_wake(futex_of(&h->st->writer_active), INT32_MAX);
}

/* Under rmtx, after its holder died inside the section: rebuild readers
 * from the table (the invariant of rwlock_shm.h). */
static void repair_readers(zipc_rwlock *h)
{
    if (!h->tab)
        return;
    int32_t n = 0;
    for (uint32_t i = 0; i < ZIPC_RWLOCK_READER_SLOTS; i++)
        n += zipc__load_relaxed_u32(&h->tab->tid[i]) != 0;
    zipc__store_seq_cst_i32(&h->st->readers, n); /* RW1 store side (as the reader's increment) */
}

static int lock_rmtx(zipc_rwlock *h, int64_t timeout_ns)
{
    int r = zipc__mutex_lock(h->rmtx, timeout_ns);
    if (r == -EOWNERDEAD) {
        repair_readers(h);
        zipc__mutex_consistent(h->rmtx);
        r = 0;
    }
    return r;
}

/* Under rmtx: drop the read locks of readers that died. */
static void sweep_dead_readers(zipc_rwlock *h)
{
    int32_t dropped = 0;
    for (uint32_t i = 0; i < ZIPC_RWLOCK_READER_SLOTS; i++) {
        uint32_t t = zipc__load_relaxed_u32(&h->tab->tid[i]);
        if (t != 0 && zipc__tid_dead(t)) {
            zipc__store_relaxed_u32(&h->tab->tid[i], 0);
            dropped++;
        }
    }
    if (dropped) /* RW3: as a read unlock; pairs with RW2's loads of readers */
        zipc__fetch_sub_seq_cst_i32(&h->st->readers, dropped);
}

/* One attempt to enter as a reader: 0, -EAGAIN (a writer is active),
 * TABLE_FULL, -ETIMEDOUT (rmtx). */
static int try_enter_read(zipc_rwlock *h, const zipc__deadline *d)
{
    /* A fast first look; RW1 below is what decides. */
    if (zipc__load_acquire_i32(&h->st->writer_active) != 0)
        return -EAGAIN;
    int r = lock_rmtx(h, remaining(d));
    if (r)
        return r;
    int slot = -1;
    if (h->tab) {
        for (uint32_t i = 0; i < ZIPC_RWLOCK_READER_SLOTS && slot < 0; i++)
            if (zipc__load_relaxed_u32(&h->tab->tid[i]) == 0)
                slot = (int)i;
        if (slot < 0) {
            zipc__mutex_unlock(h->rmtx);
            return TABLE_FULL;
        }
    }
    /* RW1: pairs with RW2 in write_lock_deadline(): our seq_cst increment of
     * readers precedes our seq_cst load of writer_active; the writer's store
     * of writer_active precedes its load of readers. One of us sees the
     * other: never both inside. The load also acquires the last writer's
     * section (its seq_cst store of 0 released it). */
    zipc__fetch_add_seq_cst_i32(&h->st->readers, 1);
    if (zipc__load_seq_cst_i32(&h->st->writer_active) != 0) {
        int32_t left = zipc__fetch_sub_seq_cst_i32(&h->st->readers, 1) - 1;
        zipc__mutex_unlock(h->rmtx);
        if (left <= 0)
            wake_writers(h);
        return -EAGAIN;
    }
    if (slot >= 0)
        zipc__store_relaxed_u32(&h->tab->tid[slot], (uint32_t)zipc__self_tid());
    ZIPC_CRASH_POINT(630); /* counted and recorded, rmtx still held */
    zipc__mutex_unlock(h->rmtx);
    return 0;
}

/* Cold, from a waiting reader: writer_active is up but the writer that
 * holds _wmtx is dead. Take _wmtx over, lower writer_active, release it.
 * Returns true when it recovered the lock. */
static bool recover_dead_writer(zipc_rwlock *h)
{
    if (zipc__load_relaxed_i32(&h->st->writer_active) == 0)
        return false;
    uint32_t o = zipc__load_relaxed_u32(&h->wmtx->owner);
    if ((o & ZIPC_TID_MASK) == 0 || !zipc__tid_dead(o))
        return false;
    int r = zipc__mutex_try_lock(h->wmtx);
    if (r == -EAGAIN)
        return false;
    zipc__store_seq_cst_i32(&h->st->writer_active, 0); /* RW2 */
    zipc__mutex_consistent(h->wmtx);
    zipc__mutex_unlock(h->wmtx);
    wake_readers(h);
    return r == -EOWNERDEAD;
}

static int read_lock_deadline(zipc_rwlock *h, int64_t timeout_ns)
{
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    int r = try_enter_read(h, &d);
    if (r != -EAGAIN && r != TABLE_FULL)
        return r;
    bool recovered = false;
    int64_t next_check = 0;
    zipc_atomic_u32 *waiters = h->tab ? &h->tab->read_waiters : NULL;
    if (waiters)
        zipc__fetch_add_seq_cst_u32(waiters, 1); /* S1: pairs with S2 in wake_readers() */
    for (;;) {
        r = try_enter_read(h, &d);
        if (r != -EAGAIN && r != TABLE_FULL)
            break;
        if (zipc__liveness_due(&next_check) && recover_dead_writer(h)) {
            recovered = true;
            continue;
        }
        int32_t wa = zipc__load_seq_cst_i32(&h->st->writer_active); /* RW1 load side */
        if (wa == 0 && r != TABLE_FULL)
            continue; /* the writer left meanwhile */
        if (zipc__futex_wait(futex_of(&h->st->writer_active), (uint32_t)wa, &d) == -ETIMEDOUT) {
            r = try_enter_read(h, &d);
            if (r == -EAGAIN || r == TABLE_FULL)
                r = -ETIMEDOUT;
            break;
        }
    }
    if (waiters)
        zipc__fetch_sub_relaxed_u32(waiters, 1);
    return r == 0 && recovered ? -EOWNERDEAD : r;
}

/* With _wmtx held and writer_active up: wait until the readers are gone. */
static int wait_readers_gone(zipc_rwlock *h, const zipc__deadline *d)
{
    for (int i = 0; i < ZIPC_SPIN_LIMIT; i++) {
        if (zipc__load_seq_cst_i32(&h->st->readers) <= 0) /* RW2 load side */
            return 0;
        zipc__cpu_relax();
    }
    int64_t next_check = 0;
    int r;
    zipc_atomic_u32 *waiters = h->tab ? &h->tab->write_waiters : NULL;
    if (waiters)
        zipc__fetch_add_seq_cst_u32(waiters, 1); /* S1: pairs with S2 in wake_writers() */
    for (;;) {
        int32_t n = zipc__load_seq_cst_i32(&h->st->readers); /* RW2 load side */
        if (n <= 0) {
            r = 0;
            break;
        }
        if (h->tab && zipc__liveness_due(&next_check)) {
            if (lock_rmtx(h, remaining(d)) == 0) {
                sweep_dead_readers(h);
                zipc__mutex_unlock(h->rmtx);
            }
            continue;
        }
        if (zipc__futex_wait(futex_of(&h->st->readers), (uint32_t)n, d) == -ETIMEDOUT) {
            r = zipc__load_seq_cst_i32(&h->st->readers) <= 0 ? 0 : -ETIMEDOUT; /* RW2 load */
            break;
        }
    }
    if (waiters)
        zipc__fetch_sub_relaxed_u32(waiters, 1);
    return r;
}

static int write_lock_deadline(zipc_rwlock *h, int64_t timeout_ns)
{
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    int r = zipc__mutex_lock(h->wmtx, timeout_ns);
    if (r == -ETIMEDOUT)
        return r;
    bool recovered = r == -EOWNERDEAD;
    if (recovered)
        zipc__mutex_consistent(h->wmtx); /* reported once, through our result */
    /* RW2: pairs with RW1 in try_enter_read() (see there). */
    zipc__store_seq_cst_i32(&h->st->writer_active, 1);
    ZIPC_CRASH_POINT(631); /* writer_active up, waiting for readers */
    r = wait_readers_gone(h, &d);
    if (r) {
        zipc__store_seq_cst_i32(&h->st->writer_active, 0); /* RW2: lower it again */
        wake_readers(h);
        zipc__mutex_unlock(h->wmtx);
        return r;
    }
    return recovered ? -EOWNERDEAD : 0;
}

/* ---- public API ---------------------------------------------------------- */

typedef struct names {
    char st[ZIPC_ENTRY_NAME_MAX + 1], rmtx[ZIPC_ENTRY_NAME_MAX + 1], wmtx[ZIPC_ENTRY_NAME_MAX + 1],
        tab[ZIPC_ENTRY_NAME_MAX + 1];
} names;

static int make_names(const char *name, names *n)
{
    int r = zipc__aux_name(name, ZIPC_RWLOCK_STATE_SUFFIX, n->st); /* the longest suffix first */
    if (!r)
        r = zipc__aux_name(name, ZIPC_RWLOCK_RMTX_SUFFIX, n->rmtx);
    if (!r)
        r = zipc__aux_name(name, ZIPC_RWLOCK_WMTX_SUFFIX, n->wmtx);
    if (!r)
        r = zipc__aux_name(name, ZIPC_RWLOCK_RTAB_SUFFIX, n->tab);
    return r;
}

static int make_handle(zipc_rwlock tmpl, zipc_rwlock **out)
{
    zipc_rwlock *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = tmpl;
    *out = h;
    return 0;
}

int zipc_rwlock_create(zipc_segment *seg, const char *name, zipc_rwlock **out)
{
    names n;
    if (!seg || !out)
        return -EINVAL;
    int r = make_names(name, &n);
    if (r)
        return r;
    zipc__new_entry es[5] = {
        {.name = n.tab, .size = ZIPC_RWLOCK_RTAB_SIZE},
        {.name = n.st, .size = ZIPC_RWLOCK_STATE_SIZE},
        {.name = n.rmtx, .size = ZIPC_SEMAPHORE_SIZE, .init = zipc__semaphore_init,
         .ctx = (void *)&zipc__mutex_initial},
        {.name = n.wmtx, .size = ZIPC_SEMAPHORE_SIZE, .init = zipc__semaphore_init,
         .ctx = (void *)&zipc__mutex_initial},
        {.name = name, .size = ZIPC_MARKER_SIZE}}; /* the marker last */
    r = zipc__seg_add_many(seg, es, 5);
    if (r)
        return r;
    return make_handle((zipc_rwlock){.tab = zipc__seg_ptr(seg, es[0].offset),
                                     .st = zipc__seg_ptr(seg, es[1].offset),
                                     .rmtx = zipc__seg_ptr(seg, es[2].offset),
                                     .wmtx = zipc__seg_ptr(seg, es[3].offset)},
                       out);
}

int zipc_rwlock_open(zipc_segment *seg, const char *name, zipc_rwlock **out)
{
    names n;
    uint64_t off, size;
    zipc_rwlock h = {0};
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (!r && size != ZIPC_MARKER_SIZE)
        r = -EBADMSG;
    if (!r)
        r = make_names(name, &n);
    if (!r)
        r = zipc__sem_lookup(seg, n.rmtx, 1, &h.rmtx, NULL);
    if (!r)
        r = zipc__sem_lookup(seg, n.wmtx, 1, &h.wmtx, NULL);
    if (!r)
        r = zipc__seg_lookup(seg, n.st, &off, &size);
    if (!r && size != ZIPC_RWLOCK_STATE_SIZE)
        r = -EBADMSG;
    if (r)
        return r;
    if (seg->readonly)
        return -EROFS;
    h.st = zipc__seg_ptr(seg, off);
    h.tab = zipc__aux_open(seg, name, ZIPC_RWLOCK_RTAB_SUFFIX, ZIPC_RWLOCK_RTAB_SIZE, NULL, NULL);
    return make_handle(h, out);
}

void zipc_rwlock_close(zipc_rwlock *rw) { free(rw); }

int zipc_rwlock_read_lock_timeout(zipc_rwlock *rw, int64_t timeout_ns)
{
    return rw ? read_lock_deadline(rw, timeout_ns) : -EINVAL;
}

int zipc_rwlock_read_lock(zipc_rwlock *rw)
{
    return zipc_rwlock_read_lock_timeout(rw, ZIPC_WAIT_FOREVER);
}

int zipc_rwlock_try_read_lock(zipc_rwlock *rw)
{
    int r = zipc_rwlock_read_lock_timeout(rw, 0);
    return r == -ETIMEDOUT ? -EAGAIN : r;
}

int zipc_rwlock_read_unlock(zipc_rwlock *rw)
{
    if (!rw)
        return -EINVAL;
    lock_rmtx(rw, ZIPC_WAIT_FOREVER);
    bool found = !rw->tab && zipc__load_relaxed_i32(&rw->st->readers) > 0;
    if (rw->tab) {
        uint32_t me = (uint32_t)zipc__self_tid();
        for (uint32_t i = 0; i < ZIPC_RWLOCK_READER_SLOTS && !found; i++) {
            if (zipc__load_relaxed_u32(&rw->tab->tid[i]) == me) {
                zipc__store_relaxed_u32(&rw->tab->tid[i], 0);
                found = true;
            }
        }
    }
    if (!found) {
        zipc__mutex_unlock(rw->rmtx);
        return -EPERM;
    }
    /* RW3 (release half of seq_cst): pairs with the writer's seq_cst load
     * of readers: our reads are done before it writes. */
    int32_t left = zipc__fetch_sub_seq_cst_i32(&rw->st->readers, 1) - 1;
    zipc__mutex_unlock(rw->rmtx);
    if (left <= 0)
        wake_writers(rw);
    return 0;
}

int zipc_rwlock_write_lock_timeout(zipc_rwlock *rw, int64_t timeout_ns)
{
    return rw ? write_lock_deadline(rw, timeout_ns) : -EINVAL;
}

int zipc_rwlock_write_lock(zipc_rwlock *rw)
{
    return zipc_rwlock_write_lock_timeout(rw, ZIPC_WAIT_FOREVER);
}

int zipc_rwlock_try_write_lock(zipc_rwlock *rw)
{
    int r = zipc_rwlock_write_lock_timeout(rw, 0);
    return r == -ETIMEDOUT ? -EAGAIN : r;
}

int zipc_rwlock_write_unlock(zipc_rwlock *rw)
{
    if (!rw)
        return -EINVAL;
    if (!zipc__mutex_held_by_self(rw->wmtx))
        return -EPERM;
    /* RW2 (release half): readers that see 0 see our section. */
    zipc__store_seq_cst_i32(&rw->st->writer_active, 0);
    wake_readers(rw);
    zipc__mutex_unlock(rw->wmtx);
    return 0;
}

int32_t zipc_rwlock_readers(const zipc_rwlock *rw)
{
    return rw ? zipc__load_relaxed_i32(&rw->st->readers) : 0;
}
