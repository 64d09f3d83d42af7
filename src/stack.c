/* Stack: bounded LIFO with 4-state slots (format's algorithm: move top with a
 * CAS, then claim the slot), bounded claims, crash recovery. docs/queue.md. */
#include "zeroipc/stack.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomics.h"
#include "owners.h"
#include "segment_internal.h"
#include "stack_shm.h"
#include "testhooks.h"
#include "wait.h"

#define WS_NOT_EMPTY 0
#define WS_NOT_FULL 1
#define WS_COUNT 2u

/* After the move of top could not be undone (top moved on meanwhile) the
 * operation owns its index and keeps trying this many more yields before it
 * abandons the claim (docs/queue.md "Stack: double faults"). */
#define ZIPC_STACK_COMMIT_YIELDS 20000u

struct zipc_stack {
    zipc_stack_shm *shm;
    uint8_t *data;
    zipc_atomic_u32 *state;
    uint32_t capacity, elem_size; /* validated local copies */
    zipc_waitset_shm *ws;
    zipc__owners owners;
    zipc_owner_row_shm *row;
    uint32_t pid;
    bool readonly;
};

/* ---- create / open ------------------------------------------------------- */

struct init_ctx {
    uint32_t capacity, elem_size;
};

static void init_stack(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    const struct init_ctx *c = ctx;
    zipc_stack_shm *s = mem;
    zipc__store_relaxed_i32(&s->top, -1); /* published by the entry count (E1) */
    s->capacity = c->capacity;
    s->elem_size = c->elem_size;
}

static int make_handle(zipc_segment *seg, uint64_t off, uint32_t cap, uint32_t es,
                       zipc_waitset_shm *ws, zipc__owners owners, zipc_stack **out)
{
    zipc_stack *s = malloc(sizeof(*s));
    if (!s)
        return -ENOMEM;
    uint8_t *mem = zipc__seg_ptr(seg, off);
    *s = (zipc_stack){.shm = (zipc_stack_shm *)mem, .data = mem + ZIPC_STACK_HEADER,
                      .state = (zipc_atomic_u32 *)(mem + zipc__stack_state_offset(cap, es)),
                      .capacity = cap, .elem_size = es, .ws = ws, .owners = owners,
                      .pid = (uint32_t)getpid(), .readonly = seg->readonly};
    if (!s->readonly)
        s->row = zipc__own_attach(&s->owners, s->pid);
    *out = s;
    return 0;
}

int zipc_stack_create_ex(zipc_segment *seg, const char *name, size_t elem_size,
                         uint32_t capacity, uint32_t flags, zipc_stack **out)
{
    if (!seg || !out || elem_size == 0 || elem_size > UINT32_MAX || capacity == 0 ||
        capacity > (uint32_t)INT32_MAX || (flags & ~ZIPC_STACK_NO_AUX))
        return -EINVAL;
    int r = zipc__check_entry_name(name);
    if (r)
        return r;
    struct init_ctx c = {capacity, (uint32_t)elem_size};
    zipc__new_entry e = {.name = name, .size = zipc__stack_entry_size(capacity, elem_size),
                         .init = init_stack, .ctx = &c};
    zipc_waitset_shm *ws;
    zipc__owners owners;
    r = zipc__tracked_add(seg, &e, WS_COUNT, !(flags & ZIPC_STACK_NO_AUX), 0, &ws, &owners);
    if (r)
        return r;
    return make_handle(seg, e.offset, c.capacity, c.elem_size, ws, owners, out);
}

int zipc_stack_create(zipc_segment *seg, const char *name, size_t elem_size, uint32_t capacity,
                      zipc_stack **out)
{
    return zipc_stack_create_ex(seg, name, elem_size, capacity, 0, out);
}

int zipc_stack_open_ex(zipc_segment *seg, const char *name, size_t elem_size, uint32_t flags,
                       zipc_stack **out)
{
    uint64_t off, size;
    if (!seg || !out || elem_size == 0 || elem_size > UINT32_MAX || (flags & ~ZIPC_STACK_NO_AUX))
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (r)
        return r;
    if (size < ZIPC_STACK_HEADER)
        return -EBADMSG;
    zipc_stack_shm *h = zipc__seg_ptr(seg, off);
    uint32_t cap = h->capacity, es = h->elem_size; /* read once, then checked */
    int32_t top = zipc__load_relaxed_i32(&h->top);
    if (cap == 0 || cap > (uint32_t)INT32_MAX || es != elem_size || top < -1 ||
        top >= (int32_t)cap || zipc__stack_entry_size(cap, es) != size)
        return -EBADMSG;
    bool add = !(flags & ZIPC_STACK_NO_AUX);
    zipc_waitset_shm *ws;
    zipc__owners owners;
    zipc__tracked_open(seg, name, WS_COUNT, add, &ws, &owners);
    return make_handle(seg, off, cap, es, ws, owners, out);
}

int zipc_stack_open(zipc_segment *seg, const char *name, size_t elem_size, zipc_stack **out)
{
    return zipc_stack_open_ex(seg, name, elem_size, 0, out);
}

void zipc_stack_close(zipc_stack *s)
{
    if (!s)
        return;
    zipc__own_detach(&s->owners, s->row);
    free(s);
}

/* ---- bounded claims -------------------------------------------------------- */

/* One more retry: spin, then yield; false once YIELDS yields are used up. */
static bool backoff(uint32_t *n, uint32_t yields)
{
    if (*n >= ZIPC_STACK_CLAIM_SPINS + yields)
        return false;
    if (*n < ZIPC_STACK_CLAIM_SPINS)
        zipc__cpu_relax();
    else
        sched_yield(); /* cold: the slot's holder is descheduled, stuck or dead */
    (*n)++;
    return true;
}

static inline uint8_t *slot(zipc_stack *s, uint32_t i)
{
    return s->data + (size_t)i * s->elem_size;
}

/* After moving top from BACK to MOVED, claim state[i] FROM -> TO. On failure
 * undo the move of top; if top has moved on meanwhile the operation owns
 * index i and keeps trying, then abandons the claim to recovery. */
static int claim_slot(zipc_stack *s, uint32_t i, uint32_t from, uint32_t to, int32_t moved,
                      int32_t back)
{
    uint32_t n = 0;
    do {
        uint32_t exp = from;
        /* A5 (acquire): pairs with R3 (pop: the element's bytes are visible)
         * and R4 (push: the last reader of the slot is done). */
        if (zipc__cas_acquire_u32(&s->state[i], &exp, to))
            return 0;
    } while (backoff(&n, ZIPC_STACK_CLAIM_YIELDS));
    int32_t m = moved;
    /* Relaxed: undoing our own move publishes nothing. */
    if (zipc__cas_relaxed_i32(&s->shm->top, &m, back)) {
        zipc__own_idle(s->row);
        return -EBUSY;
    }
    n = 0;
    do {
        uint32_t exp = from;
        if (zipc__cas_acquire_u32(&s->state[i], &exp, to)) /* A5 */
            return 0;
    } while (backoff(&n, ZIPC_STACK_COMMIT_YIELDS));
    s->row = zipc__own_abandon(&s->owners, s->row, s->pid);
    return -EBUSY;
}

/* ---- push / pop / peek ------------------------------------------------------ */

static int push_one(zipc_stack *s, const void *elem, uint32_t yields)
{
    int32_t t = zipc__load_relaxed_i32(&s->shm->top);
    uint32_t n = 0, i;
    int r = 0;
    for (;;) {
        if (t < -1 || t >= (int32_t)s->capacity) {
            r = -EBADMSG;
            break;
        }
        if (t == (int32_t)s->capacity - 1) {
            r = -EAGAIN;
            break;
        }
        i = (uint32_t)(t + 1);
        /* A3: pairs with R4 in pop_one(): the last reader of slot i is done. */
        if (zipc__load_acquire_u32(&s->state[i]) != ZIPC_SLOT_EMPTY) {
            if (!backoff(&n, yields)) {
                r = -EBUSY; /* a popper holds slot i: nothing changed */
                break;
            }
            t = zipc__load_relaxed_i32(&s->shm->top);
            continue;
        }
        zipc__own_intent(s->row, ZIPC_OWN_PUSH, i, 1);
        ZIPC_CRASH_POINT(300); /* intent recorded, top not moved */
        /* O1 (release): pairs with O2 in recover(): the intent is visible to
         * whoever sees top moved. */
        if (zipc__cas_release_i32(&s->shm->top, &t, t + 1))
            break;
    }
    if (r) {
        /* A lost CAS on top left our intent on an index we never claimed:
         * the row must not go on claiming it (recover counts it). */
        zipc__own_idle(s->row);
        return r;
    }
    zipc__own_phase(s->row, ZIPC_OWN_PUSH, ZIPC_OWN_CLAIMED);
    ZIPC_CRASH_POINT(301); /* top moved, slot still EMPTY */
    r = claim_slot(s, i, ZIPC_SLOT_EMPTY, ZIPC_SLOT_WRITING, t + 1, t);
    if (r)
        return r;
    ZIPC_CRASH_POINT(302); /* slot WRITING, nothing written */
    memcpy(slot(s, i), elem, s->elem_size);
    zipc__own_phase(s->row, ZIPC_OWN_PUSH, ZIPC_OWN_COPIED);
    ZIPC_CRASH_POINT(303); /* payload complete, slot still WRITING */
    /* R3: pairs with A4/A5 in pop_one(): the bytes before READY. */
    zipc__store_release_u32(&s->state[i], ZIPC_SLOT_READY);
    ZIPC_CRASH_POINT(304); /* published, row not yet idle */
    zipc__own_idle(s->row);
    if (s->ws)
        zipc__waitset_notify(&s->ws[WS_NOT_EMPTY], 1);
    return 0;
}

static int pop_one(zipc_stack *s, void *elem, uint32_t yields)
{
    int32_t t = zipc__load_relaxed_i32(&s->shm->top);
    uint32_t n = 0;
    int r = 0;
    for (;;) {
        if (t < -1 || t >= (int32_t)s->capacity) {
            r = -EBADMSG;
            break;
        }
        if (t == -1) {
            r = -EAGAIN;
            break;
        }
        /* A4: pairs with R3 in push_one(): the top element is complete. */
        if (zipc__load_acquire_u32(&s->state[t]) != ZIPC_SLOT_READY) {
            if (!backoff(&n, yields)) {
                r = -EBUSY; /* a pusher holds slot t: nothing changed */
                break;
            }
            t = zipc__load_relaxed_i32(&s->shm->top);
            continue;
        }
        zipc__own_intent(s->row, ZIPC_OWN_POP, (uint32_t)t, 1);
        ZIPC_CRASH_POINT(310); /* intent recorded, top not moved */
        if (zipc__cas_release_i32(&s->shm->top, &t, t - 1)) /* O1, as in push_one */
            break;
    }
    if (r) {
        zipc__own_idle(s->row); /* as in push_one */
        return r;
    }
    uint32_t i = (uint32_t)t;
    zipc__own_phase(s->row, ZIPC_OWN_POP, ZIPC_OWN_CLAIMED);
    ZIPC_CRASH_POINT(311); /* top moved, slot still READY */
    r = claim_slot(s, i, ZIPC_SLOT_READY, ZIPC_SLOT_READING, t - 1, t);
    if (r)
        return r;
    ZIPC_CRASH_POINT(312); /* slot READING, nothing read */
    memcpy(elem, slot(s, i), s->elem_size);
    zipc__own_phase(s->row, ZIPC_OWN_POP, ZIPC_OWN_COPIED);
    ZIPC_CRASH_POINT(313); /* payload read, slot still READING */
    /* R4: pairs with A3/A5 in push_one(): our reads before the slot is reused. */
    zipc__store_release_u32(&s->state[i], ZIPC_SLOT_EMPTY);
    ZIPC_CRASH_POINT(314);
    zipc__own_idle(s->row);
    if (s->ws)
        zipc__waitset_notify(&s->ws[WS_NOT_FULL], 1);
    return 0;
}

static int check_args(zipc_stack *s, const void *p)
{
    if (!s || !p)
        return -EINVAL;
    return s->readonly ? -EROFS : 0;
}

int zipc_stack_try_push(zipc_stack *s, const void *elem)
{
    int r = check_args(s, elem);
    return r ? r : push_one(s, elem, ZIPC_STACK_CLAIM_YIELDS);
}

int zipc_stack_try_pop(zipc_stack *s, void *elem)
{
    int r = check_args(s, elem);
    return r ? r : pop_one(s, elem, ZIPC_STACK_CLAIM_YIELDS);
}

int zipc_stack_try_peek(zipc_stack *s, void *elem)
{
    if (!s || !elem)
        return -EINVAL;
    uint32_t n = 0;
    for (;;) {
        int32_t t = zipc__load_acquire_i32(&s->shm->top); /* O2: pairs with O1 */
        if (t < -1 || t >= (int32_t)s->capacity)
            return -EBADMSG;
        if (t == -1)
            return -EAGAIN;
        if (s->readonly) {
            /* No claim possible: copy, and accept it only if the slot stayed
             * READY and top stayed put around the copy. */
            if (zipc__load_acquire_u32(&s->state[t]) == ZIPC_SLOT_READY) { /* A4 */
                memcpy(elem, slot(s, (uint32_t)t), s->elem_size);
                /* F1: seqlock read side: the copy completes before the
                 * re-checks (pairs with the claim a writer makes first, A5). */
                zipc__fence_acquire();
                if (zipc__load_relaxed_u32(&s->state[t]) == ZIPC_SLOT_READY &&
                    zipc__load_relaxed_i32(&s->shm->top) == t)
                    return 0;
            }
        } else {
            /* Hold the slot READING while copying, so it cannot change. */
            zipc__own_intent(s->row, ZIPC_OWN_PEEK, (uint32_t)t, 1);
            uint32_t exp = ZIPC_SLOT_READY;
            if (zipc__cas_acquire_u32(&s->state[t], &exp, ZIPC_SLOT_READING)) { /* A5 */
                zipc__own_phase(s->row, ZIPC_OWN_PEEK, ZIPC_OWN_CLAIMED);
                ZIPC_CRASH_POINT(320); /* slot held READING by a peek */
                bool still_top = zipc__load_relaxed_i32(&s->shm->top) == t;
                if (still_top)
                    memcpy(elem, slot(s, (uint32_t)t), s->elem_size);
                /* R3: the slot is READY again with its bytes unchanged. */
                zipc__store_release_u32(&s->state[t], ZIPC_SLOT_READY);
                zipc__own_idle(s->row);
                if (still_top)
                    return 0;
            } else {
                zipc__own_idle(s->row);
            }
        }
        if (!backoff(&n, ZIPC_STACK_CLAIM_YIELDS))
            return -EBUSY;
    }
}

int zipc_stack_try_push_batch(zipc_stack *s, const void *elems, uint32_t n)
{
    int r = check_args(s, elems);
    if (r)
        return r;
    uint32_t k = 0;
    for (; k < n; k++) {
        r = push_one(s, (const uint8_t *)elems + (size_t)k * s->elem_size, ZIPC_STACK_CLAIM_YIELDS);
        if (r)
            break;
    }
    return k > 0 ? (int)k : r;
}

int zipc_stack_try_pop_batch(zipc_stack *s, void *elems, uint32_t n)
{
    int r = check_args(s, elems);
    if (r)
        return r;
    uint32_t k = 0;
    for (; k < n; k++) {
        r = pop_one(s, (uint8_t *)elems + (size_t)k * s->elem_size, ZIPC_STACK_CLAIM_YIELDS);
        if (r)
            break;
    }
    return k > 0 ? (int)k : r;
}

/* ---- blocking ----------------------------------------------------------------- */

struct wait_ctx {
    zipc_stack *s;
    void *elem;
    bool push;
    int last; /* last result, to tell -EBUSY from -ETIMEDOUT at the deadline */
};

static int try_cb(void *p)
{
    struct wait_ctx *c = p;
    /* No yields here: between attempts the wait layer sleeps instead. */
    int r = c->push ? push_one(c->s, c->elem, 0) : pop_one(c->s, c->elem, 0);
    c->last = r;
    return r == -EBUSY ? -EAGAIN : r;
}

static int blocking(zipc_stack *s, void *elem, bool push, int64_t timeout_ns)
{
    int r = check_args(s, elem);
    if (r)
        return r;
    struct wait_ctx c = {s, elem, push, 0};
    zipc_waitset_shm *ws = s->ws ? &s->ws[push ? WS_NOT_FULL : WS_NOT_EMPTY] : NULL;
    r = zipc__wait_until(ws, try_cb, &c, timeout_ns);
    return r == -ETIMEDOUT && c.last == -EBUSY ? -EBUSY : r;
}

int zipc_stack_push(zipc_stack *s, const void *elem, int64_t timeout_ns)
{
    return blocking(s, (void *)elem, true, timeout_ns);
}

int zipc_stack_pop(zipc_stack *s, void *elem, int64_t timeout_ns)
{
    return blocking(s, elem, false, timeout_ns);
}

/* ---- observers ------------------------------------------------------------------ */

uint32_t zipc_stack_size_approx(const zipc_stack *s)
{
    int32_t t = zipc__load_relaxed_i32(&s->shm->top);
    return t < 0 ? 0 : (uint32_t)t >= s->capacity ? s->capacity : (uint32_t)t + 1;
}

bool zipc_stack_empty_approx(const zipc_stack *s) { return zipc_stack_size_approx(s) == 0; }
bool zipc_stack_full_approx(const zipc_stack *s) { return zipc_stack_size_approx(s) == s->capacity; }
uint32_t zipc_stack_capacity(const zipc_stack *s) { return s->capacity; }
size_t zipc_stack_elem_size(const zipc_stack *s) { return s->elem_size; }

/* ---- crash detection and recovery (cold) ---------------------------------------- */

int zipc_stack_check(zipc_stack *s, zipc_stack_report *rep)
{
    if (!s || !rep)
        return -EINVAL;
    *rep = (zipc_stack_report){0};
    int32_t top = zipc__load_acquire_i32(&s->shm->top); /* O2: pairs with O1 */
    rep->top = top;
    for (uint32_t i = 0; i < s->capacity; i++) {
        uint32_t st = zipc__load_acquire_u32(&s->state[i]); /* as A4: pairs with R3/R4 */
        bool below = (int32_t)i <= top;
        if ((below && st != ZIPC_SLOT_READY) || (!below && st != ZIPC_SLOT_EMPTY))
            rep->inflight++;
    }
    rep->dead_owners = zipc__own_count_dead(&s->owners);
    return 0;
}

/* What a stack recoverer writes on the row it holds (ours while it carries
 * our mark). Slot states and indices come back, unlike the Queue's counters,
 * so a recoverer taking over the row of one that died at work must know
 * whether that one's repair took effect: repeating it over live operations
 * that reused the index since would put top back over a live pop, publish a
 * live pusher's slot or free one a live popper reads (tests/test_stack.c,
 * "taking over a dead recoverer's row").
 *  - REPAIRING, just before a repair's CAS: after a death there, the CAS may
 *    or may not have happened, and the taker-over touches nothing.
 *  - RELEASING (push): we hold slot i WRITING and have moved top below it;
 *    the taker-over frees the slot (nobody else changes a WRITING slot; we
 *    write REPAIRING again before our own freeing store).
 *  - PUBLISHING, just before making READY a slot the dead claim holds (a
 *    pusher's complete element, a peek's element): see finish_publish.
 *  - IDLE right after a repair took effect: nothing is left.
 * A CAS that fails puts back the phase the row had (an ABANDONED row of a
 * live owner must stay ABANDONED, not become that owner's live claim). */
static uint32_t swap_phase(zipc_owner_row_shm *row, uint32_t op, uint32_t phase)
{
    uint32_t was = zipc__load_relaxed_u32(&row->state) & 0xffu; /* ours while we hold it */
    zipc__own_phase(row, op, phase);
    return was;
}

static uint32_t begin_repair(zipc_owner_row_shm *row, uint32_t op, uint32_t phase)
{
    uint32_t was = swap_phase(row, op, phase);
    ZIPC_CRASH_POINT(332); /* recoverer: repair announced, its CAS not done */
    return was;
}

static void repaired(zipc_owner_row_shm *row, uint32_t *counter)
{
    zipc__own_idle(row);
    (*counter)++;
}

/* The CAS after begin_repair (PHASE: REPAIRING or PUBLISHING): on success
 * the row says so at once. */
static bool repair_u32(zipc_owner_row_shm *row, uint32_t op, uint32_t phase, zipc_atomic_u32 *w,
                       uint32_t from, uint32_t to, uint32_t *counter)
{
    uint32_t was = begin_repair(row, op, phase);
    /* R3/R4 (release): as the publishing/releasing store of a live owner. */
    if (zipc__cas_release_u32(w, &from, to)) {
        repaired(row, counter);
        return true;
    }
    zipc__own_phase(row, op, was);
    return false;
}

/* Taking over a PUBLISHING row: the dead recoverer was making READY a slot
 * that the dead claim held (push: WRITING, a complete element; peek:
 * READING). A held slot changes only through its holder, and a tracked
 * holder's row claims the index from before its hold until after its
 * release. So while no other row claims the index, a slot still held is the
 * dead claim's own hold (the dead recoverer's CAS did not run, or nobody has
 * held the index since): publishing it is the repair either way. A slot not
 * held is done. Another row on the index: pending, a later call retries.
 * (Peers that record no claims, other implementations, are the exception,
 * as everywhere in recovery: docs/queue.md "Limits".) */
static bool finish_publish(zipc_stack *s, zipc_owner_row_shm *row, const zipc__own_claim *c,
                           zipc_stack_report *rep)
{
    if (c->counter >= s->capacity || (c->op != ZIPC_OWN_PUSH && c->op != ZIPC_OWN_PEEK))
        return true;
    if (zipc__own_any_claim(&s->owners, row, c->counter))
        return false;
    bool push = c->op == ZIPC_OWN_PUSH;
    uint32_t held = push ? ZIPC_SLOT_WRITING : ZIPC_SLOT_READING;
    /* R3 (release): as the holder's publishing store (for a push, its bytes
     * were complete: COPIED was read with acquire by the first recoverer). */
    if (zipc__cas_release_u32(&s->state[c->counter], &held, ZIPC_SLOT_READY)) {
        repaired(row, push ? &rep->republished : &rep->restored);
        if (s->ws)
            zipc__waitset_notify(&s->ws[WS_NOT_EMPTY], INT32_MAX);
    }
    return true;
}

/* A dead pusher's claim on index i. True when nothing is left to repair. */
static bool recover_push(zipc_stack *s, zipc_owner_row_shm *row, const zipc__own_claim *c,
                         zipc_stack_report *rep)
{
    uint32_t i = c->counter;
    zipc_atomic_u32 *st = &s->state[i];
    int32_t top = zipc__load_acquire_i32(&s->shm->top); /* O2: pairs with O1 */
    uint32_t v = zipc__load_acquire_u32(st); /* as A3/A4: pairs with R3/R4 */
    if (v == ZIPC_SLOT_READY || v == ZIPC_SLOT_READING)
        return true; /* published (its element is in the stack) */
    if (v == ZIPC_SLOT_WRITING && c->phase == ZIPC_OWN_COPIED) {
        /* Its bytes were complete (COPIED was a release, read with acquire). */
        repair_u32(row, ZIPC_OWN_PUSH, ZIPC_OWN_PUBLISHING, st, v, ZIPC_SLOT_READY,
                   &rep->republished);
        return true;
    }
    /* A live pusher that owns i too (two pushers can own one index after a
     * stale popper's ABA CAS on top) may hold the slot: never touch it then.
     * A PENDING pusher never reached the slot at all. */
    if (zipc__own_live_claim(&s->owners, row, ZIPC_OWN_PUSH, i))
        return false;
    if ((int32_t)i > top) {
        /* top never covered it (or the move was undone): free the slot it
         * claimed. A WRITING slot here is not its own if it was PENDING. */
        if (c->phase != ZIPC_OWN_PENDING && v == ZIPC_SLOT_WRITING)
            repair_u32(row, ZIPC_OWN_PUSH, ZIPC_OWN_REPAIRING, st, v, ZIPC_SLOT_EMPTY,
                       &rep->skipped);
        return true;
    }
    if ((int32_t)i != top)
        return false; /* elements above it: pending until they are popped */
    if (c->phase == ZIPC_OWN_PENDING && v == ZIPC_SLOT_WRITING)
        return false; /* not its slot (it never reached one): another claim's, pending */
    /* Hold the slot ourselves (as a pusher would), then take i off the top.
     * No REPAIRING before the hold: while we hold slot i WRITING nobody
     * else can use index i (pops need READY, pushes EMPTY), so a taker-over
     * after our death may redo all of it. The row says CLAIMED while we
     * hold the slot, so that a taker-over frees it even when the dead claim
     * was PENDING; the phase the row had (ABANDONED for a live owner's row)
     * is put back if the top CAS fails. */
    uint32_t held = v;
    if (!zipc__cas_acquire_u32(st, &v, ZIPC_SLOT_WRITING)) /* A5 */
        return false;
    uint32_t was = swap_phase(row, ZIPC_OWN_PUSH, ZIPC_OWN_CLAIMED);
    int32_t t = top;
    if (!zipc__cas_release_i32(&s->shm->top, &t, top - 1)) { /* O1, as a popper's */
        zipc__store_release_u32(st, held); /* R3/R4: the slot as it was */
        zipc__own_phase(row, ZIPC_OWN_PUSH, was);
        return false;
    }
    zipc__own_phase(row, ZIPC_OWN_PUSH, ZIPC_OWN_RELEASING);
    ZIPC_CRASH_POINT(331); /* recoverer: top moved below the slot, slot held */
    /* Freeing the slot is the repair that lets live pushers reuse index i:
     * announced like any other, or a taker-over of a RELEASING row killed
     * after this store would free a later pusher's slot. */
    begin_repair(row, ZIPC_OWN_PUSH, ZIPC_OWN_REPAIRING);
    /* R4: the slot is free for the next pusher. */
    zipc__store_release_u32(st, ZIPC_SLOT_EMPTY);
    ZIPC_CRASH_POINT(333); /* recoverer: held slot freed, row not yet idle */
    repaired(row, &rep->skipped);
    if (s->ws)
        zipc__waitset_notify(&s->ws[WS_NOT_FULL], INT32_MAX);
    return true;
}

/* A dead popper's (or peeker's) claim on index i. */
static bool recover_pop(zipc_stack *s, zipc_owner_row_shm *row, const zipc__own_claim *c,
                        zipc_stack_report *rep)
{
    uint32_t i = c->counter;
    zipc_atomic_u32 *st = &s->state[i];
    int32_t top = zipc__load_acquire_i32(&s->shm->top); /* O2: pairs with O1 */
    bool peek = c->op == ZIPC_OWN_PEEK;
    if (c->phase == ZIPC_OWN_PENDING &&
        (zipc__own_live_claim(&s->owners, row, ZIPC_OWN_POP, i) ||
         zipc__own_live_claim(&s->owners, row, ZIPC_OWN_PEEK, i)))
        return false;
    /* The slot is read only after the live-claim check (O5): a live popper
     * of i that finished meanwhile left it EMPTY, and acting on a READY read
     * before its pop would put top back over that empty slot (a hole no
     * recovery removes). docs/queue.md "Limits": what remains of the race. */
    uint32_t v = zipc__load_acquire_u32(st); /* as A4: pairs with R3/R4 */
    if (v == ZIPC_SLOT_READING) {
        /* A peek held an element still in the stack: READY again, nothing
         * lost. A pop had taken it: the element is lost, the slot is freed. */
        uint32_t to = peek ? ZIPC_SLOT_READY : ZIPC_SLOT_EMPTY;
        if (c->phase != ZIPC_OWN_PENDING)
            repair_u32(row, c->op, peek ? ZIPC_OWN_PUBLISHING : ZIPC_OWN_REPAIRING, st, v, to,
                       peek ? &rep->restored : &rep->released);
        return true;
    }
    if (v == ZIPC_SLOT_READY && !peek && (int32_t)i > top) {
        /* It moved top below i but never read the element: put it back on
         * top if nothing was popped since, otherwise drop it. */
        int32_t t = (int32_t)i - 1;
        uint32_t was = begin_repair(row, ZIPC_OWN_POP, ZIPC_OWN_REPAIRING);
        if (t == top && zipc__cas_release_i32(&s->shm->top, &t, (int32_t)i)) { /* O1 */
            repaired(row, &rep->restored);
            if (s->ws)
                zipc__waitset_notify(&s->ws[WS_NOT_EMPTY], INT32_MAX);
        } else if (zipc__cas_release_u32(st, &v, ZIPC_SLOT_EMPTY)) { /* R4 */
            repaired(row, &rep->released);
        } else {
            zipc__own_phase(row, ZIPC_OWN_POP, was);
        }
        return true;
    }
    if (s->ws)
        zipc__waitset_notify(&s->ws[WS_NOT_FULL], INT32_MAX);
    return true;
}

int zipc_stack_recover(zipc_stack *s, zipc_stack_report *report)
{
    zipc_stack_report local;
    if (!s)
        return -EINVAL;
    if (s->readonly)
        return -EROFS;
    zipc_stack_report *rep = report ? report : &local;
    zipc_stack_check(s, rep);
    for (uint32_t k = 0; k < s->owners.nrows; k++) {
        zipc_owner_row_shm *row = &s->owners.rows[k];
        zipc__own_claim c;
        if (!zipc__own_take_dead(&s->owners, row, &c))
            continue;
        ZIPC_CRASH_POINT(330); /* recoverer: row marked, nothing repaired */
        bool done = true;
        if (c.phase == ZIPC_OWN_ABANDONED)
            c.phase = ZIPC_OWN_CLAIMED;
        if (c.phase == ZIPC_OWN_REPAIRING) {
            /* A recoverer died at its repair's CAS: whether it happened
             * cannot be told (see begin_repair), so nothing is touched. */
        } else if (c.phase == ZIPC_OWN_RELEASING) {
            if (c.counter < s->capacity)
                repair_u32(row, ZIPC_OWN_PUSH, ZIPC_OWN_REPAIRING, &s->state[c.counter],
                           ZIPC_SLOT_WRITING, ZIPC_SLOT_EMPTY, &rep->skipped);
        } else if (c.phase == ZIPC_OWN_PUBLISHING) {
            done = finish_publish(s, row, &c, rep);
        } else if (c.phase != ZIPC_OWN_IDLE && c.counter < s->capacity) {
            if (c.op == ZIPC_OWN_PUSH)
                done = recover_push(s, row, &c, rep);
            else if (c.op == ZIPC_OWN_POP || c.op == ZIPC_OWN_PEEK)
                done = recover_pop(s, row, &c, rep);
        }
        if (done)
            rep->rows_freed++;
        else
            rep->pending++;
        zipc__own_put(&s->owners, row, &c, done);
    }
    return 0;
}
