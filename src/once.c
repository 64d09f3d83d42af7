/* Once: exactly-once execution with takeover after the executor's death
 * (once_shm.h). */
#include "zeroipc/once.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "once_shm.h"
#include "segment_internal.h"
#include "sync_internal.h"
#include "testhooks.h"

struct zipc_once {
    zipc_once_shm *o;
    zipc_once_aux_shm *aux; /* NULL: no owner tracking (see zipc__aux_open) */
};

static int make_handle(zipc_once_shm *o, zipc_once_aux_shm *aux, zipc_once **out)
{
    zipc_once *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = (zipc_once){.o = o, .aux = aux};
    *out = h;
    return 0;
}

int zipc_once_create(zipc_segment *seg, const char *name, zipc_once **out)
{
    char aux[ZIPC_ENTRY_NAME_MAX + 1];
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__aux_name(name, ZIPC_ONCE_AUX_SUFFIX, aux);
    if (r)
        return r;
    /* One batch, the user's name last: a failure leaves nothing visible. */
    zipc__new_entry es[2] = {{.name = aux, .size = ZIPC_ONCE_AUX_SIZE},
                             {.name = name, .size = ZIPC_ONCE_SIZE}};
    r = zipc__seg_add_many(seg, es, 2);
    if (r)
        return r;
    return make_handle(zipc__seg_ptr(seg, es[1].offset), zipc__seg_ptr(seg, es[0].offset), out);
}

int zipc_once_open(zipc_segment *seg, const char *name, zipc_once **out)
{
    void *mem;
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__seg_lookup_fixed(seg, name, ZIPC_ONCE_SIZE, &mem);
    if (r)
        return r;
    if (seg->readonly)
        return -EROFS;
    zipc_once_aux_shm *aux =
        zipc__aux_open(seg, name, ZIPC_ONCE_AUX_SUFFIX, ZIPC_ONCE_AUX_SIZE, NULL, NULL);
    return make_handle(mem, aux, out);
}

void zipc_once_close(zipc_once *once) { free(once); }

bool zipc_once_done(const zipc_once *once)
{
    /* C2: pairs with C1 in run(). */
    return once && zipc__load_acquire_u32(&once->o->state) == ZIPC_ONCE_DONE;
}

/* We own the claim: mark EXECUTING, run, publish DONE. Returns the call's
 * result, or -EAGAIN when a peer of another implementation (which does not
 * claim the owner word) is already executing: the caller then waits. */
static int run(zipc_once *h, zipc_once_fn fn, void *arg, bool recovered)
{
    uint32_t s = ZIPC_ONCE_PENDING;
    /* C2 (acquire, also on failure): seeing DONE acquires the runner's C1. */
    if (!zipc__cas_acq_rel_u32(&h->o->state, &s, ZIPC_ONCE_EXECUTING)) {
        if (s == ZIPC_ONCE_DONE)
            return 0;
        if (!recovered) {
            zipc__store_relaxed_u32(&h->aux->owner, 0); /* not ours: let it finish */
            return -EAGAIN;
        }
        /* s == EXECUTING under a dead owner of ours: keep it, run again. */
    }
    ZIPC_CRASH_POINT(620); /* executing, FN not run */
    fn(arg);
    ZIPC_CRASH_POINT(621); /* FN ran, DONE not published */
    /* C1 (release half): pairs with C2: FN's effects are visible to every
     * caller that sees DONE. S2 (seq_cst store, then seq_cst load of
     * waiters): pairs with S1 in wait_done(). */
    zipc__store_seq_cst_u32(&h->o->state, ZIPC_ONCE_DONE);
    if (!h->aux || zipc__load_seq_cst_u32(&h->aux->waiters) > 0)
        zipc__futex_wake(&h->o->state, INT32_MAX);
    return recovered ? ZIPC_ONCE_RECOVERED : ZIPC_ONCE_RAN;
}

/* Claim the owner word if it is free (0) or names a dead thread. */
static bool try_claim(zipc_once_aux_shm *aux, bool *recovered)
{
    uint32_t o = zipc__load_relaxed_u32(&aux->owner);
    uint32_t me = (uint32_t)zipc__self_tid();
    if (o != 0 && !zipc__tid_dead(o))
        return false;
    *recovered = o != 0;
    /* O1 (acq_rel): one claimer wins; a recoverer sees what the dead
     * executor wrote before dying (the kernel ordered it). */
    return zipc__cas_acq_rel_u32(&aux->owner, &o, me);
}

/* Wait for DONE, taking over if the executor died. */
static int wait_done(zipc_once *h, zipc_once_fn fn, void *arg, int64_t timeout_ns)
{
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    int64_t next_check = 0;
    int r;
    zipc_atomic_u32 *waiters = h->aux ? &h->aux->waiters : NULL;
    if (waiters)
        zipc__fetch_add_seq_cst_u32(waiters, 1); /* S1: pairs with S2 in run() */
    for (;;) {
        uint32_t s = zipc__load_seq_cst_u32(&h->o->state); /* C2 (acquire) and S1 */
        if (s == ZIPC_ONCE_DONE) {
            r = 0;
            break;
        }
        bool recovered = false;
        if (h->aux && zipc__liveness_due(&next_check) && try_claim(h->aux, &recovered)) {
            r = run(h, fn, arg, recovered);
            if (r != -EAGAIN)
                break;
            continue;
        }
        if (zipc__futex_wait(&h->o->state, s, &d) == -ETIMEDOUT) {
            r = zipc_once_done(h) ? 0 : -ETIMEDOUT;
            break;
        }
    }
    if (waiters)
        zipc__fetch_sub_relaxed_u32(waiters, 1);
    return r;
}

int zipc_once_call_timeout(zipc_once *once, zipc_once_fn fn, void *arg, int64_t timeout_ns)
{
    if (!once || !fn)
        return -EINVAL;
    if (zipc_once_done(once))
        return 0;
    bool recovered = false;
    if (once->aux ? try_claim(once->aux, &recovered) : false) {
        int r = run(once, fn, arg, recovered);
        if (r != -EAGAIN)
            return r;
    } else if (!once->aux) {
        /* No owner word (another implementation's Once, unwritable aux):
         * the plain format protocol, without crash recovery. */
        uint32_t s = ZIPC_ONCE_PENDING;
        if (zipc__cas_acq_rel_u32(&once->o->state, &s, ZIPC_ONCE_EXECUTING)) {
            fn(arg);
            zipc__store_seq_cst_u32(&once->o->state, ZIPC_ONCE_DONE); /* C1 */
            zipc__futex_wake(&once->o->state, INT32_MAX);
            return ZIPC_ONCE_RAN;
        }
    }
    return wait_done(once, fn, arg, timeout_ns);
}

int zipc_once_call(zipc_once *once, zipc_once_fn fn, void *arg)
{
    return zipc_once_call_timeout(once, fn, arg, ZIPC_WAIT_FOREVER);
}
