/* Event: auto-/manual-reset event (event_shm.h). */
#include "zeroipc/event.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "event_shm.h"
#include "segment_internal.h"
#include "sync_internal.h"

struct zipc_event {
    zipc_event_shm *e;
    zipc_semaphore_shm *sem;
    uint32_t mode; /* validated local copy */
};

static void init_event(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    zipc_event_shm *e = mem;
    e->mode = *(const uint32_t *)ctx;
}

static const zipc__sem_init event_sem_initial = {.count = 0, .max_count = 0};

static int make_handle(zipc_event_shm *e, zipc_semaphore_shm *sem, uint32_t mode,
                       zipc_event **out)
{
    zipc_event *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = (zipc_event){.e = e, .sem = sem, .mode = mode};
    *out = h;
    return 0;
}

int zipc_event_create(zipc_segment *seg, const char *name, uint32_t mode, zipc_event **out)
{
    char semname[ZIPC_ENTRY_NAME_MAX + 1];
    if (!seg || !out || mode > ZIPC_EVENT_MANUAL_RESET)
        return -EINVAL;
    int r = zipc__aux_name(name, ZIPC_EVENT_SEM_SUFFIX, semname);
    if (r)
        return r;
    /* The format's order (NAME, then NAME_sem), published together. */
    zipc__new_entry es[2] = {
        {.name = name, .size = ZIPC_EVENT_SIZE, .init = init_event, .ctx = &mode},
        {.name = semname, .size = ZIPC_SEMAPHORE_SIZE, .init = zipc__semaphore_init,
         .ctx = (void *)&event_sem_initial}};
    r = zipc__seg_add_many(seg, es, 2);
    if (r)
        return r;
    return make_handle(zipc__seg_ptr(seg, es[0].offset), zipc__seg_ptr(seg, es[1].offset), mode,
                       out);
}

int zipc_event_open(zipc_segment *seg, const char *name, zipc_event **out)
{
    char semname[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t off, size;
    zipc_semaphore_shm *sem;
    if (!seg || !out)
        return -EINVAL;
    int r = zipc__aux_name(name, ZIPC_EVENT_SEM_SUFFIX, semname);
    if (!r)
        r = zipc__seg_lookup(seg, name, &off, &size);
    if (!r)
        r = zipc__sem_lookup(seg, semname, -1, &sem, NULL);
    if (r)
        return r;
    zipc_event_shm *e = zipc__seg_ptr(seg, off);
    uint32_t mode = e->mode; /* read once, then checked */
    if (size != ZIPC_EVENT_SIZE || mode > ZIPC_EVENT_MANUAL_RESET)
        return -EBADMSG;
    return seg->readonly ? -EROFS : make_handle(e, sem, mode, out);
}

void zipc_event_close(zipc_event *ev) { free(ev); }

/* Wake sleepers after a change they wait for: bump seq (the futex word) so a
 * sleeper about to sleep does not, then wake if anyone sleeps. */
static void wake(zipc_event *h, int32_t n)
{
    zipc_atomic_u32 *seq = &h->sem->owner;
    /* S2 (seq_cst RMW, then seq_cst load of waiting): pairs with S1 in
     * wait_slow(): either we see its waiting count, or it sees our seq. */
    zipc__fetch_add_seq_cst_u32(seq, 1);
    if (zipc__load_seq_cst_u32(&h->e->waiting) > 0)
        zipc__futex_wake(seq, n);
}

int zipc_event_signal(zipc_event *ev)
{
    if (!ev)
        return -EINVAL;
    /* E1 (release half of seq_cst): pairs with E2: what the signaller did
     * before is visible to the waiter that sees signaled. */
    zipc__store_seq_cst_u32(&ev->e->signaled, 1);
    wake(ev, ev->mode == ZIPC_EVENT_AUTO_RESET ? 1 : INT32_MAX);
    return 0;
}

int zipc_event_reset(zipc_event *ev)
{
    if (!ev)
        return -EINVAL;
    /* E3 (release): no partner needed, a waiter never acts on 0; it only
     * keeps the caller's earlier writes before the reset, as E1 does. */
    zipc__store_release_u32(&ev->e->signaled, 0);
    /* Drop the auto-reset pulse tickets there are now (bounded: tickets
     * pulsed after this look belong to waiters that wait now). */
    for (int32_t n = zipc__load_relaxed_i32(&ev->sem->count); n > 0; n--)
        if (zipc__sem_try_acquire(ev->sem) != 0)
            break;
    return 0;
}

int zipc_event_pulse(zipc_event *ev)
{
    if (!ev)
        return -EINVAL;
    zipc__store_release_u32(&ev->e->signaled, 0); /* E3 (see zipc_event_reset) */
    if (ev->mode == ZIPC_EVENT_MANUAL_RESET) {
        wake(ev, INT32_MAX); /* every waiter that saw the old seq returns */
        return 0;
    }
    /* Auto-reset: one ticket, only if a sleeper has none yet. The seq_cst
     * load of waiting is a read only (no store->load pair): a sleeper that
     * registers just after it is woken by no one, and takes E1/E2 or the
     * next pulse; a pulse is by definition lost when no one waits. */
    int32_t sleepers = (int32_t)zipc__load_seq_cst_u32(&ev->e->waiting);
    int32_t tickets = zipc__load_relaxed_i32(&ev->sem->count);
    /* One CAS from the count we judged by: of concurrent pulses that saw the
     * same sleepers, only as many add tickets as there are sleepers. */
    while (sleepers > 0 && tickets >= 0 && tickets < sleepers) {
        /* R1 (release) for the ticket: pairs with A1 in try_consume. */
        if (zipc__cas_release_i32(&ev->sem->count, &tickets, tickets + 1)) {
            wake(ev, 1);
            break;
        }
    }
    return 0;
}

/* 0 when this waiter may return now, else -EAGAIN. */
static int try_consume(zipc_event *h)
{
    if (h->mode == ZIPC_EVENT_MANUAL_RESET)
        return zipc__load_acquire_u32(&h->e->signaled) ? 0 : -EAGAIN; /* E2 */
    uint32_t one = 1;
    /* E2 (acquire): pairs with E1. */
    if (zipc__cas_acq_rel_u32(&h->e->signaled, &one, 0))
        return 0;
    return zipc__sem_try_acquire(h->sem); /* a pulse ticket (A1) */
}

int zipc_event_try_wait(zipc_event *ev) { return ev ? try_consume(ev) : -EINVAL; }

static int wait_slow(zipc_event *h, int64_t timeout_ns)
{
    for (int i = 0; i < ZIPC_SPIN_LIMIT; i++) {
        if (try_consume(h) == 0)
            return 0;
        zipc__cpu_relax();
    }
    zipc__deadline d;
    zipc__deadline_init(&d, timeout_ns);
    zipc_atomic_u32 *seq = &h->sem->owner;
    /* S1: pairs with S2 in wake(): count ourselves, then read seq and state. */
    zipc__fetch_add_seq_cst_u32(&h->e->waiting, 1);
    uint32_t start = zipc__load_seq_cst_u32(seq);
    int r;
    for (;;) {
        /* seq_cst, so also an acquire of the waker's seq bump (S2). */
        uint32_t now = zipc__load_seq_cst_u32(seq);
        if (try_consume(h) == 0 || (h->mode == ZIPC_EVENT_MANUAL_RESET && now != start)) {
            r = 0;
            break;
        }
        if (zipc__futex_wait(seq, now, &d) == -ETIMEDOUT) {
            r = try_consume(h) == 0 ? 0 : -ETIMEDOUT;
            break;
        }
    }
    zipc__fetch_sub_relaxed_u32(&h->e->waiting, 1);
    return r;
}

int zipc_event_wait_timeout(zipc_event *ev, int64_t timeout_ns)
{
    if (!ev)
        return -EINVAL;
    return try_consume(ev) == 0 ? 0 : wait_slow(ev, timeout_ns);
}

int zipc_event_wait(zipc_event *ev) { return zipc_event_wait_timeout(ev, ZIPC_WAIT_FOREVER); }

bool zipc_event_is_signaled(const zipc_event *ev)
{
    return ev && zipc__load_acquire_u32(&ev->e->signaled) != 0; /* E2: pairs with E1 */
}

uint32_t zipc_event_mode(const zipc_event *ev) { return ev ? ev->mode : 0; }
