/* Semaphore: counting semaphore on a 16-byte shared entry (semaphore_shm.h).
 * Also the core of Mutex, Event and Monitor (sync_internal.h). */
#include "zeroipc/semaphore.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "segment_internal.h"
#include "sync_internal.h"

struct zipc_semaphore {
    zipc_semaphore_shm *s;
    int32_t max_count; /* validated local copy: a hostile segment cannot move it */
};

void zipc__semaphore_init(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    const zipc__sem_init *in = ctx;
    zipc_semaphore_shm *s = mem;
    zipc__store_relaxed_i32(&s->count, in->count);
    zipc__store_relaxed_i32(&s->waiting, 0);
    s->max_count = in->max_count;
    zipc__store_relaxed_u32(&s->owner, 0);
}

int zipc__semaphore_check(const void *mem, uint64_t size, int32_t *max_count)
{
    if (size != ZIPC_SEMAPHORE_SIZE)
        return -EBADMSG;
    const zipc_semaphore_shm *s = mem;
    int32_t max = s->max_count; /* read once, then checked */
    if (max < 0)
        return -EBADMSG;
    *max_count = max;
    return 0;
}

int zipc__sem_lookup(zipc_segment *seg, const char *name, int32_t want_max,
                     zipc_semaphore_shm **out, int32_t *max_count)
{
    uint64_t off, size;
    int32_t max;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (r)
        return r;
    void *mem = zipc__seg_ptr(seg, off);
    r = zipc__semaphore_check(mem, size, &max);
    if (r)
        return r;
    if (want_max >= 0 && max != want_max)
        return -EBADMSG;
    *out = mem;
    if (max_count)
        *max_count = max;
    return 0;
}

int zipc__sem_try_acquire(zipc_semaphore_shm *s)
{
    int32_t c = zipc__load_relaxed_i32(&s->count);
    while (c > 0) {
        /* A1: pairs with R1 in zipc__sem_release (and the mutex unlock):
         * what the releaser did before giving the permit back is visible. */
        if (zipc__cas_acquire_i32(&s->count, &c, c - 1))
            return 0;
    }
    return -EAGAIN;
}

int zipc__sem_acquire_slow(zipc_semaphore_shm *s, const zipc__deadline *d, zipc__sem_hook hook,
                           void *ctx)
{
    for (int i = 0; i < ZIPC_LOCK_SPIN_LIMIT; i++) {
        if (zipc__sem_try_acquire(s) == 0)
            return 0;
        zipc__cpu_relax();
    }
    int64_t next_check = 0;
    bool slept = false;
    int r;
    /* S1: pairs with S2 in zipc__sem_release / mutex unlock. Our seq_cst
     * increment of waiting precedes our seq_cst load of count; the releaser's
     * seq_cst count update precedes its seq_cst load of waiting. In the single
     * seq_cst order one of the two loads sees the other's write: either the
     * releaser wakes us, or we see the permit and do not sleep. */
    zipc__fetch_add_seq_cst_i32(&s->waiting, 1);
    for (;;) {
        int32_t c = zipc__load_seq_cst_i32(&s->count);
        if (c > 0) {
            /* A1 again (see zipc__sem_try_acquire). */
            if (zipc__cas_acquire_i32(&s->count, &c, c - 1)) {
                r = 0;
                break;
            }
            continue;
        }
        /* Still no permit after a sleep: maybe a slice ended, time to look
         * at the holder (not before: a hand-off must not pay a clock read). */
        if (hook && slept && zipc__liveness_due(&next_check) && (r = hook(s, ctx)) != 0)
            break;
        /* Sleeps only while count still equals c: a release in between
         * changes the word and the kernel returns at once. */
        if (zipc__futex_wait(zipc__sem_futex(s), (uint32_t)c, d) == -ETIMEDOUT) {
            r = zipc__sem_try_acquire(s) == 0 ? 0 : -ETIMEDOUT;
            break;
        }
        slept = true;
    }
    zipc__fetch_sub_relaxed_i32(&s->waiting, 1);
    return r;
}

int zipc__sem_release(zipc_semaphore_shm *s, int32_t max_count, int32_t n)
{
    int32_t limit = max_count > 0 ? max_count : INT32_MAX;
    int32_t c = zipc__load_relaxed_i32(&s->count);
    do {
        if (c > limit - n)
            return -EOVERFLOW;
        /* R1 (the release half): pairs with A1 in the acquirers.
         * S2 (seq_cst): pairs with S1 in zipc__sem_acquire_slow. */
    } while (!zipc__cas_seq_cst_i32(&s->count, &c, c + n));
    if (zipc__load_seq_cst_i32(&s->waiting) > 0) /* S2 load side */
        zipc__futex_wake(zipc__sem_futex(s), n);
    return 0;
}

/* ---- public API ---------------------------------------------------------- */

static int make_handle(zipc_semaphore_shm *s, int32_t max_count, zipc_semaphore **out)
{
    zipc_semaphore *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = (zipc_semaphore){.s = s, .max_count = max_count};
    *out = h;
    return 0;
}

int zipc_semaphore_create(zipc_segment *seg, const char *name, int32_t initial, int32_t max_count,
                          zipc_semaphore **out)
{
    if (!seg || !out || initial < 0 || max_count < 0 || (max_count > 0 && initial > max_count))
        return -EINVAL;
    zipc__sem_init in = {.count = initial, .max_count = max_count};
    uint64_t off;
    int r = zipc__seg_add(seg, name, ZIPC_SEMAPHORE_SIZE, zipc__semaphore_init, &in, &off);
    if (r)
        return r;
    return make_handle(zipc__seg_ptr(seg, off), max_count, out);
}

int zipc_semaphore_open(zipc_segment *seg, const char *name, zipc_semaphore **out)
{
    zipc_semaphore_shm *s;
    int32_t max;
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__sem_lookup(seg, name, -1, &s, &max);
    if (r)
        return r;
    if (seg->readonly)
        return -EROFS;
    return make_handle(s, max, out);
}

void zipc_semaphore_close(zipc_semaphore *sem) { free(sem); }

int zipc_semaphore_try_acquire(zipc_semaphore *sem)
{
    return sem ? zipc__sem_try_acquire(sem->s) : -EINVAL;
}

int zipc_semaphore_acquire_timeout(zipc_semaphore *sem, int64_t timeout_ns)
{
    if (!sem)
        return -EINVAL;
    if (zipc__sem_try_acquire(sem->s) == 0)
        return 0;
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    return zipc__sem_acquire_slow(sem->s, &d, NULL, NULL);
}

int zipc_semaphore_acquire(zipc_semaphore *sem)
{
    return zipc_semaphore_acquire_timeout(sem, ZIPC_WAIT_FOREVER);
}

int zipc_semaphore_release(zipc_semaphore *sem, int32_t n)
{
    if (!sem || n < 1)
        return -EINVAL;
    return zipc__sem_release(sem->s, sem->max_count, n);
}

int32_t zipc_semaphore_count(const zipc_semaphore *sem)
{
    return sem ? zipc__load_relaxed_i32(&sem->s->count) : 0;
}

int32_t zipc_semaphore_max_count(const zipc_semaphore *sem) { return sem ? sem->max_count : 0; }
