/* Queue: bounded lock-free MPMC FIFO (Vyukov per-slot sequence numbers).
 * Algorithm, memory orders and crash outcomes: docs/queue.md. */
#include "zeroipc/queue.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomics.h"
#include "owners.h"
#include "queue_shm.h"
#include "segment_internal.h"
#include "testhooks.h"
#include "wait.h"

/* Waitsets in "<name>_wait": producers wake [NOT_EMPTY], consumers [NOT_FULL]. */
#define WS_NOT_EMPTY 0
#define WS_NOT_FULL 1
#define WS_COUNT 2u

struct zipc_queue {
    zipc_queue_shm *shm;
    uint8_t *data;            /* slot 0 in this mapping */
    zipc_atomic_u32 *seq;     /* seq[0] in this mapping */
    uint32_t capacity, mask;  /* validated local copies */
    uint32_t elem_size;
    zipc_waitset_shm *ws;     /* WS_COUNT waitsets, or NULL: slice sleeps */
    zipc__owners owners;      /* rows == NULL: crashes not attributable */
    zipc_owner_row_shm *row;  /* this handle's row, or &untracked (never NULL) */
    zipc_owner_row_shm untracked; /* private stand-in row: the hot path writes a
                                   * row unconditionally, nobody reads this one */
    uint32_t pid;
    bool readonly;
    /* Speed (docs/benchmarks.md): where this handle expects tail / head to
     * be, so that a claim starts at the slot's seq word and touches the
     * shared header line (head and tail share it, by the format) only with
     * its CAS, and a side polling a full / empty queue reads only its slot's
     * seq word. A hint is a past value of its counter, so it is behind or
     * exact: a stale one costs a failed CAS or a reload of the counter, never
     * a wrong answer (see is_full / is_empty). */
    uint32_t push_hint, pop_hint;
    /* Single-producer / single-consumer queues (docs/queue.md): the mode
     * read once at open, and the roles this handle holds. A holder keeps the
     * real counter here and stores it to the header only every
     * ZIPC_QUEUE_LAZY_STRIDE operations (sp_pub / sc_pub: the value last
     * stored), so the header line is not moved between the two sides on
     * every element. */
    uint32_t mode;             /* ZIPC_OWN_MODE_* */
    bool sp, sc;               /* holds the producer / consumer role */
    bool light;                /* this process takes the light side of asymmetric fences */
    uint32_t sp_tail, sp_pub;
    uint32_t sp_limit; /* with a single consumer too: slots before it are known free */
    uint32_t sc_head, sc_pub;
};

/* ---- create / open ------------------------------------------------------- */

struct init_ctx {
    uint32_t capacity, elem_size;
};

static void init_queue(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    const struct init_ctx *c = ctx;
    zipc_queue_shm *q = mem;
    q->capacity = c->capacity;
    q->elem_size = c->elem_size;
    zipc_atomic_u32 *seq = (zipc_atomic_u32 *)((uint8_t *)mem +
                                               zipc__queue_seq_offset(c->capacity, c->elem_size));
    for (uint32_t i = 0; i < c->capacity; i++)
        zipc__store_relaxed_u32(&seq[i], i); /* published by the entry count (E1) */
}

static int make_handle(zipc_segment *seg, uint64_t off, uint32_t cap, uint32_t es,
                       zipc_waitset_shm *ws, zipc__owners owners, zipc_queue **out)
{
    zipc_queue *q = malloc(sizeof(*q));
    if (!q)
        return -ENOMEM;
    uint8_t *mem = zipc__seg_ptr(seg, off);
    zipc_queue_shm *h = (zipc_queue_shm *)mem;
    *q = (zipc_queue){.shm = h, .data = mem + ZIPC_QUEUE_HEADER,
                      .push_hint = zipc__load_relaxed_u32(&h->tail),
                      .pop_hint = zipc__load_relaxed_u32(&h->head),
                      .seq = (zipc_atomic_u32 *)(mem + zipc__queue_seq_offset(cap, es)),
                      .capacity = cap, .mask = cap - 1, .elem_size = es, .ws = ws,
                      .owners = owners, .pid = (uint32_t)getpid(), .readonly = seg->readonly};
    if (!q->readonly)
        q->row = zipc__own_attach(&q->owners, q->pid);
    if (!q->row)
        q->row = &q->untracked;
    q->mode = zipc__own_mode(&q->owners) & (ZIPC_OWN_MODE_SP | ZIPC_OWN_MODE_SC);
    *out = q;
    return 0;
}

/* Rounded up to a power of two, and at least 2: with one slot the values
 * "published for c" (c+1) and "released by the consumer of c" (c+cap) are the
 * same, so a producer could overwrite the element a consumer is still
 * copying out. (A one-slot queue made elsewhere is opened, with that hazard.) */
static uint32_t round_up_pow2(uint32_t v)
{
    uint32_t p = 2;
    while (p < v)
        p <<= 1;
    return p;
}

int zipc_queue_create_ex(zipc_segment *seg, const char *name, size_t elem_size,
                         uint32_t capacity, uint32_t flags, zipc_queue **out)
{
    const uint32_t single = ZIPC_QUEUE_SINGLE_PRODUCER | ZIPC_QUEUE_SINGLE_CONSUMER;
    const uint32_t known = ZIPC_QUEUE_NO_AUX | ZIPC_QUEUE_LINE_ALIGNED | single;
    if (!seg || !out || elem_size == 0 || elem_size > UINT32_MAX || capacity == 0 ||
        capacity > (UINT32_C(1) << 31) || (flags & ~known) ||
        ((flags & single) && (flags & ZIPC_QUEUE_NO_AUX)))
        return -EINVAL;
    int r = zipc__check_entry_name(name);
    if (r)
        return r;
    /* The roles live in "<name>_own", created only together with "<name>_wait"
     * (the longer suffix): a single-* queue needs room for both. */
    char aux[ZIPC_ENTRY_NAME_MAX + 1];
    if ((flags & single) && (zipc__aux_name(name, ZIPC_OWNERS_SUFFIX, aux) != 0 ||
                             zipc__aux_name(name, ZIPC_WAITSET_SUFFIX, aux) != 0))
        return -EINVAL;
    uint32_t mode = ((flags & ZIPC_QUEUE_SINGLE_PRODUCER) ? ZIPC_OWN_MODE_SP : 0) |
                    ((flags & ZIPC_QUEUE_SINGLE_CONSUMER) ? ZIPC_OWN_MODE_SC : 0);
    struct init_ctx c = {round_up_pow2(capacity), (uint32_t)elem_size};
    /* With its auxiliary entries listed first: whoever sees the queue also
     * sees them; all appear at once or not at all. */
    zipc__new_entry e = {.name = name, .size = zipc__queue_entry_size(c.capacity, c.elem_size),
                         .align = (flags & ZIPC_QUEUE_LINE_ALIGNED) ? ZIPC_CACHE_LINE : 0,
                         .init = init_queue, .ctx = &c};
    zipc_waitset_shm *ws;
    zipc__owners owners;
    r = zipc__tracked_add(seg, &e, WS_COUNT, !(flags & ZIPC_QUEUE_NO_AUX), mode, &ws, &owners);
    if (r)
        return r;
    return make_handle(seg, e.offset, c.capacity, c.elem_size, ws, owners, out);
}

int zipc_queue_create(zipc_segment *seg, const char *name, size_t elem_size, uint32_t capacity,
                      zipc_queue **out)
{
    return zipc_queue_create_ex(seg, name, elem_size, capacity, 0, out);
}

int zipc_queue_open_ex(zipc_segment *seg, const char *name, size_t elem_size, uint32_t flags,
                       zipc_queue **out)
{
    uint64_t off, size;
    if (!seg || !out || elem_size == 0 || elem_size > UINT32_MAX || (flags & ~ZIPC_QUEUE_NO_AUX))
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (r)
        return r;
    if (size < ZIPC_QUEUE_HEADER)
        return -EBADMSG;
    const zipc_queue_shm *h = zipc__seg_ptr(seg, off);
    uint32_t cap = h->capacity, es = h->elem_size; /* read once, then checked */
    if (cap == 0 || (cap & (cap - 1)) != 0 || es != elem_size ||
        zipc__queue_entry_size(cap, es) != size)
        return -EBADMSG;
    bool add = !(flags & ZIPC_QUEUE_NO_AUX);
    zipc_waitset_shm *ws;
    zipc__owners owners;
    zipc__tracked_open(seg, name, WS_COUNT, add, &ws, &owners);
    return make_handle(seg, off, cap, es, ws, owners, out);
}

int zipc_queue_open(zipc_segment *seg, const char *name, size_t elem_size, zipc_queue **out)
{
    return zipc_queue_open_ex(seg, name, elem_size, 0, out);
}

static void drop_roles(zipc_queue *q);

void zipc_queue_close(zipc_queue *q)
{
    if (!q)
        return;
    drop_roles(q);
    if (q->row != &q->untracked)
        zipc__own_detach(&q->owners, q->row);
    free(q);
}

uint32_t zipc_queue_flags(const zipc_queue *q)
{
    if (!q)
        return 0;
    return ((q->mode & ZIPC_OWN_MODE_SP) ? ZIPC_QUEUE_SINGLE_PRODUCER : 0) |
           ((q->mode & ZIPC_OWN_MODE_SC) ? ZIPC_QUEUE_SINGLE_CONSUMER : 0) |
           (q->ws ? 0 : ZIPC_QUEUE_NO_AUX);
}

/* ---- the core: claim, copy, publish ------------------------------------- */

/* The one core, for every element size, is inlined into each entry point:
 * a single-element call runs it with n == 1 and, for the common element sizes
 * 4, 8 and 16, with the size a constant too (the copy becomes a plain move and
 * the fast path calls nothing); everything else runs it with q->elem_size. */
#define QUEUE_HOT static inline __attribute__((always_inline))

static inline uint8_t *slot_data(zipc_queue *q, uint32_t counter, uint32_t es)
{
    return q->data + (size_t)(counter & q->mask) * es;
}

/* The handle's row, never NULL (see untracked): said so, the NULL checks of
 * the owners.h helpers drop out of the inlined fast path. */
static inline zipc_owner_row_shm *row_of(const zipc_queue *q)
{
    zipc_owner_row_shm *r = q->row;
    if (!r)
        __builtin_unreachable();
    return r;
}

/* What d = seq - expected says at the hinted counter, when negative: with
 * the real counter, "full" is exactly d == -cap (the previous round's producer
 * has claimed, not published) or -cap + 1 (published, not yet released by a
 * consumer), and "empty" exactly d == -1 (nothing published at head) or -cap
 * (the previous round's consumer has not released yet). A hint left behind
 * by other handles' operations gives any other value (short of a multiple of
 * 2^32 operations, when the hint is again exact modulo 2^32), so only these
 * values are believed without reading the shared counter. */
static inline bool is_full(const zipc_queue *q, int32_t d)
{
    return d == -(int32_t)q->capacity || d == 1 - (int32_t)q->capacity;
}

static inline bool is_empty(const zipc_queue *q, int32_t d)
{
    return d == -1 || d == -(int32_t)q->capacity;
}

/* Producer: claim up to WANT consecutive free slots at tail with one CAS.
 * A slot at counter c is free when seq == c. Returns the number claimed (0:
 * full), or -EBADMSG, and the first counter in *first. */
QUEUE_HOT int claim_push(zipc_queue *q, uint32_t want, uint32_t es, uint32_t *first)
{
    uint32_t t = q->push_hint;
    bool intent = false; /* written by a try whose CAS was lost */
    for (;;) {
        uint32_t m = 0;
        int32_t d = 0;
        for (; m < want; m++) {
            /* A1: pairs with R2 in pop_core(): the consumer's copy-out of
             * this slot is complete before we overwrite it. */
            uint32_t s = zipc__load_acquire_u32(&q->seq[(t + m) & q->mask]);
            d = (int32_t)(s - (t + m));
            if (d != 0)
                break;
        }
        if (m == 0) {
            int r = 0; /* full: the slot still holds an element of the previous round */
            if (!is_full(q, d)) {
                /* Another producer moved on (d > 0), or the hint is stale: go
                 * on from the real tail. In an intact queue A1 seeing seq
                 * ahead of t also sees tail past t, so seq ahead of an unmoved
                 * tail is a corrupt segment (-EBADMSG); any other odd value
                 * with an unmoved tail is reported full. Never spin. */
                uint32_t real = zipc__load_relaxed_u32(&q->shm->tail);
                if (real != t) {
                    t = real;
                    continue;
                }
                if (d > 0)
                    r = -EBADMSG;
            }
            q->push_hint = t;
            if (intent)
                zipc__own_idle(row_of(q)); /* a lost CAS: claiming nothing now */
            return r;
        }
        zipc__own_intent(row_of(q), ZIPC_OWN_PUSH, t, m);
        intent = true;
        ZIPC_CRASH_POINT(200); /* intent recorded, nothing claimed */
        /* Ask for the slot's line in exclusive state now, so that its miss
         * overlaps the CAS's miss on the header line instead of following it. */
        zipc__prefetch_for_write(slot_data(q, t, es));
        /* O1 (release): pairs with O2 in recover(): whoever sees the claim
         * also sees the intent row that attributes it. Seq_cst for N3 (see
         * push_core). */
        if (zipc__cas_seq_cst_u32(&q->shm->tail, &t, t + m)) {
            *first = t;
            q->push_hint = t + m;
            return (int)m;
        }
        /* A failed CAS loaded the real tail into t. */
    }
}

/* Consumer: claim up to WANT consecutive published slots at head (seq == c+1).
 * Returns as claim_push. */
QUEUE_HOT int claim_pop(zipc_queue *q, uint32_t want, uint32_t es, uint32_t *first)
{
    uint32_t h = q->pop_hint;
    bool intent = false; /* as in claim_push */
    for (;;) {
        uint32_t m = 0;
        int32_t d = 0;
        for (; m < want; m++) {
            /* A2: pairs with R1 in push_core(): the slot's bytes are visible
             * once its seq says published. */
            uint32_t s = zipc__load_acquire_u32(&q->seq[(h + m) & q->mask]);
            d = (int32_t)(s - (h + m + 1));
            if (d != 0)
                break;
        }
        if (m == 0) {
            int r = 0; /* empty, or the next element is not published yet */
            if (!is_empty(q, d)) {
                /* As in claim_push. */
                uint32_t real = zipc__load_relaxed_u32(&q->shm->head);
                if (real != h) {
                    h = real;
                    continue;
                }
                if (d > 0)
                    r = -EBADMSG;
            }
            q->pop_hint = h;
            if (intent)
                zipc__own_idle(row_of(q)); /* as in claim_push */
            return r;
        }
        zipc__own_intent(row_of(q), ZIPC_OWN_POP, h, m);
        intent = true;
        ZIPC_CRASH_POINT(210); /* intent recorded, nothing taken */
        /* Fetch the slot's bytes while the CAS waits for the header line. */
        zipc__prefetch_for_read(slot_data(q, h, es));
        /* O1 (release): as in claim_push; seq_cst for N3 (see pop_core). */
        if (zipc__cas_seq_cst_u32(&q->shm->head, &h, h + m)) {
            *first = h;
            q->pop_hint = h + m;
            return (int)m;
        }
    }
}

/* Wake-ups without a fence per operation. The claiming CAS is a seq_cst
 * read-modify-write and the waiters count is read right after it (N3); a
 * waiter, after announcing itself (W1, seq_cst), reads the same counter with
 * seq_cst before it sleeps (W3 in waiting_on_peer()). Of the two, at least
 * one sees the other: either we see the waiter and wake it once the elements
 * are published, or it sees our claim and polls until they are instead of
 * sleeping. (A fence after the seq store, as zipc__waitset_notify has, would
 * stall every operation until the consumer's copy of the seq line is
 * invalidated.) */
QUEUE_HOT bool want_wake(zipc_queue *q, uint32_t set)
{
    return q->ws && zipc__waitset_has_waiters(&q->ws[set]);
}

/* Wakes the sleepers of WS and returns M (a tail call: the fast path keeps
 * no register across it). */
static __attribute__((noinline)) int wake_then(zipc_waitset_shm *ws, uint32_t m)
{
    zipc__waitset_wake(ws, (int32_t)m);
    return (int)m;
}

/* ES: the element size, q->elem_size (a constant in the specialised calls). */
QUEUE_HOT int push_core(zipc_queue *q, const uint8_t *elems, uint32_t n, uint32_t es)
{
    uint32_t t;
    int c = claim_push(q, n, es, &t);
    if (c <= 0)
        return c ? c : -EAGAIN;
    uint32_t m = (uint32_t)c;
    bool wake = want_wake(q, WS_NOT_EMPTY); /* N3, right after O1 */
    zipc__own_phase(row_of(q), ZIPC_OWN_PUSH, ZIPC_OWN_CLAIMED);
    ZIPC_CRASH_POINT(201); /* slots claimed, nothing written */
    for (uint32_t j = 0; j < m; j++)
        memcpy(slot_data(q, t + j, es), elems + (size_t)j * es, es);
    zipc__own_phase(row_of(q), ZIPC_OWN_PUSH, ZIPC_OWN_COPIED);
    ZIPC_CRASH_POINT(202); /* payload complete, not published */
    for (uint32_t j = 0; j < m; j++) {
        /* R1: pairs with A2 in claim_pop(): bytes before seq. */
        zipc__store_release_u32(&q->seq[(t + j) & q->mask], t + j + 1);
        if (j == 0)
            ZIPC_CRASH_POINT(203); /* first slot published, the rest of a batch not */
    }
    zipc__own_idle(row_of(q));
    return wake ? wake_then(&q->ws[WS_NOT_EMPTY], m) : (int)m;
}

QUEUE_HOT int pop_core(zipc_queue *q, uint8_t *elems, uint32_t n, uint32_t es)
{
    uint32_t h;
    int c = claim_pop(q, n, es, &h);
    if (c <= 0)
        return c ? c : -EAGAIN;
    uint32_t m = (uint32_t)c;
    bool wake = want_wake(q, WS_NOT_FULL); /* N3, right after O1 */
    zipc__own_phase(row_of(q), ZIPC_OWN_POP, ZIPC_OWN_CLAIMED);
    ZIPC_CRASH_POINT(211); /* slots taken, nothing read */
    for (uint32_t j = 0; j < m; j++)
        memcpy(elems + (size_t)j * es, slot_data(q, h + j, es), es);
    zipc__own_phase(row_of(q), ZIPC_OWN_POP, ZIPC_OWN_COPIED);
    ZIPC_CRASH_POINT(212); /* payload read, slots not released */
    for (uint32_t j = 0; j < m; j++) {
        /* R2: pairs with A1 in claim_push(): our reads before the slot is reused. */
        zipc__store_release_u32(&q->seq[(h + j) & q->mask], h + j + q->capacity);
        if (j == 0)
            ZIPC_CRASH_POINT(213); /* first slot released, the rest of a batch not */
    }
    zipc__own_idle(row_of(q));
    return wake ? wake_then(&q->ws[WS_NOT_FULL], m) : (int)m;
}

/* ---- single producer / single consumer (docs/queue.md) -------------------- */

/* The role holder publishes with a plain release store and then reads the
 * sleeper count: a store->load pair (N4), which needs a full fence unless
 * the sleepers take the heavy side (W4 in the wait layer) and this process
 * is registered for it. Returns whether somebody sleeps on SET. */
QUEUE_HOT bool want_wake_after_store(zipc_queue *q, uint32_t set)
{
    if (!q->ws)
        return false;
    if (q->light)
        zipc__signal_fence_seq_cst(); /* N4 (light): pairs with W4 (membarrier) */
    else
        zipc__fence_seq_cst(); /* N4: pairs with W1 */
    return zipc__load_relaxed_u32(&q->ws[set].waiters) != 0;
}

static int take_role(zipc_queue *q, bool producer);

/* The producer role: no claim at all. The slot at the real tail t is free
 * when its seq word says t (A1, as in claim_push); we write it and publish
 * it (R1). Nobody else writes slots at or after t, so nothing is ever
 * claimed and a crash leaves nothing half-made. */
static __attribute__((noinline)) int sp_stalled(zipc_queue *q, uint32_t t, uint32_t s)
{
    /* Full: publish the real tail (size() is exact at rest). Any other value
     * cannot happen with one producer: corrupt. */
    if (!is_full(q, (int32_t)(s - t)))
        return -EBADMSG;
    if (q->sp_pub != t) {
        /* T1 (release): pairs with T2 in take_role (a later holder). */
        zipc__store_release_u32(&q->shm->tail, t);
        q->sp_pub = t;
    }
    return -EAGAIN;
}

QUEUE_HOT int sp_push(zipc_queue *q, const uint8_t *elems, uint32_t n, uint32_t es)
{
    if (__builtin_expect(!q->sp, 0)) {
        int r = take_role(q, true);
        if (r)
            return r;
    }
    uint32_t t = q->sp_tail, m = 0, s = 0;
    /* With a single consumer, head is stored only after the slots before it
     * were released (H1 after R2): slots before head + capacity are free
     * without reading their seq words, which the consumer keeps writing and
     * which would therefore cost a cache miss per push. */
    uint32_t room = (q->mode & ZIPC_OWN_MODE_SC) ? q->sp_limit - t : 0;
    if (room > q->capacity)
        room = 0; /* t passed the limit (a batch past a stale limit): check seq */
    if (room < n && (q->mode & ZIPC_OWN_MODE_SC)) {
        /* A3 (acquire): pairs with H1 of the consumer: its reads of every
         * slot before head are done. */
        q->sp_limit = zipc__load_acquire_u32(&q->shm->head) + q->capacity;
        room = q->sp_limit - t;
        if (room > q->capacity)
            room = 0;
    }
    /* Past the known room (or without it), each slot's seq word says; so a
     * batch still moves as many as are free right now. */
    for (m = room < n ? room : n; m < n; m++) {
        /* A1: pairs with R2 of the consumer that released the slot. */
        s = zipc__load_acquire_u32(&q->seq[(t + m) & q->mask]);
        if (s != t + m)
            break;
    }
    if (m == 0)
        return sp_stalled(q, t, s);
    for (uint32_t j = 0; j < m; j++)
        memcpy(slot_data(q, t + j, es), elems + (size_t)j * es, es);
    ZIPC_CRASH_POINT(220); /* written, not published */
    for (uint32_t j = 0; j < m; j++)
        /* R1: pairs with A2 of the consumer: bytes before seq. */
        zipc__store_release_u32(&q->seq[(t + j) & q->mask], t + j + 1);
    ZIPC_CRASH_POINT(221); /* published, tail not stored */
    t += m;
    q->sp_tail = t;
    if (t - q->sp_pub >= ZIPC_QUEUE_LAZY_STRIDE) {
        zipc__store_release_u32(&q->shm->tail, t); /* T1 */
        q->sp_pub = t;
    }
    return want_wake_after_store(q, WS_NOT_EMPTY) ? wake_then(&q->ws[WS_NOT_EMPTY], m) : (int)m;
}

/* The single consumer stores head H, forward only: zipc_queue_recover may
 * have moved head past H (a dead producer's unfilled slot, right where we
 * stopped) after our seq load, and our last stored value may be older than
 * what it moved (a takeover's walk).
 * H1 (release): pairs with the recoverer's head CAS (its "consumers have
 * reached this slot") and with H2 in take_role. */
static void store_head_forward(zipc_queue *q, uint32_t h)
{
    uint32_t cur = zipc__load_relaxed_u32(&q->shm->head);
    while ((int32_t)(h - cur) > 0 && !zipc__cas_release_u32(&q->shm->head, &cur, h))
        ;
}

/* The consumer role. At the real head h, seq == h + 1 is an element (A2);
 * seq == h + cap or h + cap + 1 is a slot that zipc_queue_recover skipped for
 * a dead multi-handle producer (it moved head past it first): go on from the
 * header's head. */
static __attribute__((noinline)) int sc_stalled(zipc_queue *q, uint32_t h, uint32_t s)
{
    int32_t d = (int32_t)(s - (h + 1));
    if (d == (int32_t)q->capacity - 1 || d == (int32_t)q->capacity) {
        /* O2 (acquire): pairs with the recoverer's head CAS; the seq word
         * we read was stored after it. */
        uint32_t real = zipc__load_acquire_u32(&q->shm->head);
        if ((int32_t)(real - h) <= 0)
            return -EBADMSG;
        q->sc_head = q->sc_pub = real;
        return 1; /* retry */
    }
    if (!is_empty(q, d))
        return -EBADMSG;
    if (q->sc_pub != h) {
        store_head_forward(q, h);
        q->sc_pub = h;
    }
    return -EAGAIN;
}

QUEUE_HOT int sc_pop(zipc_queue *q, uint8_t *elems, uint32_t n, uint32_t es)
{
    if (__builtin_expect(!q->sc, 0)) {
        int r = take_role(q, false);
        if (r)
            return r;
    }
    for (;;) {
        uint32_t h = q->sc_head, m = 0, s = 0;
        /* Ask for the slot's bytes together with its seq word: a consumer
         * polling an empty queue then takes both misses at once when the
         * element arrives, not one after the other. */
        zipc__prefetch_for_read(slot_data(q, h, es));
        for (; m < n; m++) {
            /* A2: pairs with R1 of the producer: the bytes are visible. */
            s = zipc__load_acquire_u32(&q->seq[(h + m) & q->mask]);
            if (s != h + m + 1)
                break;
        }
        if (m == 0) {
            int r = sc_stalled(q, h, s);
            if (r == 1)
                continue;
            return r;
        }
        for (uint32_t j = 0; j < m; j++)
            memcpy(elems + (size_t)j * es, slot_data(q, h + j, es), es);
        ZIPC_CRASH_POINT(230); /* copied, not released */
        for (uint32_t j = 0; j < m; j++)
            /* R2: pairs with A1 of the producer: our reads before reuse. */
            zipc__store_release_u32(&q->seq[(h + j) & q->mask], h + j + q->capacity);
        ZIPC_CRASH_POINT(231); /* released, head not stored */
        h += m;
        q->sc_head = h;
        if (h - q->sc_pub >= ZIPC_QUEUE_LAZY_STRIDE) {
            zipc__store_release_u32(&q->shm->head, h); /* H1 */
            q->sc_pub = h;
        }
        return want_wake_after_store(q, WS_NOT_FULL) ? wake_then(&q->ws[WS_NOT_FULL], m)
                                                     : (int)m;
    }
}

/* Where the previous holder of a role stopped. The stored counter is up to
 * ZIPC_QUEUE_LAZY_STRIDE - 1 operations plus one batch behind the real one:
 * for a small queue, several laps. From it, step over the slots that are
 * finished, reading each slot's seq word s at counter c (d = s - c, and the
 * lap of d modulo the capacity tells which round s speaks of):
 *  - producer: d == k*cap + 1 (k >= 0): round c + k*cap was published, go on
 *    at s; d == k*cap (k >= 1): round c + (k-1)*cap was consumed, go on at
 *    s - cap + 1. It stops at the real tail (d == 0: free; d < 0: full).
 *  - consumer: d == k*cap (k >= 1): round c + (k-1)*cap was released, go on
 *    at s - cap + 1; d == k*cap + 1 (k >= 1): round c + k*cap is published,
 *    so c + (k-1)*cap was released, go on at s - cap. It stops at the real
 *    head (d == 1: an element; d == 0: none yet).
 * Every step moves forward, and the walk ends after 2 * capacity + the
 * stride counters, so a corrupt segment costs a wrong start (whose slots then
 * answer -EBADMSG or full), never a hang. */
static uint32_t find_end(zipc_queue *q, zipc_atomic_u32 *counter, bool producer, uint32_t *stored)
{
    /* T2 / H2 (acquire): pairs with T1 / H1 of the previous holder. */
    uint32_t start = zipc__load_acquire_u32(counter), c = start;
    /* The caller's "last stored" value must be this very load: zipc_queue_recover
     * may move head between two loads, and a consumer that believed an older
     * value stored would store head back over the recoverer's skip. */
    *stored = start;
    const uint32_t cap = q->capacity, span = 2 * cap + ZIPC_QUEUE_LAZY_STRIDE;
    while (c - start < span) {
        /* A1 / A2: pairs with the R1 / R2 store that finished the slot. */
        uint32_t s = zipc__load_acquire_u32(&q->seq[c & q->mask]);
        int32_t d = (int32_t)(s - c);
        uint32_t lap = (uint32_t)d & q->mask;
        if (d <= 0 || (!producer && (uint32_t)d < cap) || (lap != 0 && lap != 1))
            break;
        if (lap == 0)
            c = s - cap + 1;
        else
            c = producer ? s : s - cap;
    }
    return c;
}

static __attribute__((noinline)) int take_role(zipc_queue *q, bool producer)
{
    zipc_owner_row_shm *row = q->row == &q->untracked ? NULL : q->row;
    int r = zipc__own_role_take(&q->owners, row,
                                producer ? ZIPC_OWN_ROLE_PRODUCER : ZIPC_OWN_ROLE_CONSUMER);
    if (r < 0)
        return r;
    q->light = zipc__asym_register();
    if (producer) {
        q->sp_tail = find_end(q, &q->shm->tail, true, &q->sp_pub);
        q->sp_limit = q->sp_tail; /* no room known until head is read */
        q->sp = true;
    } else {
        q->sc_head = find_end(q, &q->shm->head, false, &q->sc_pub);
        q->sc = true;
    }
    return 0;
}

static void drop_roles(zipc_queue *q)
{
    if (q->sp) {
        zipc__store_release_u32(&q->shm->tail, q->sp_tail); /* T1 */
        zipc__own_role_drop(&q->owners, q->row, ZIPC_OWN_ROLE_PRODUCER);
        q->sp = false;
    }
    if (q->sc) {
        store_head_forward(q, q->sc_head);
        zipc__own_role_drop(&q->owners, q->row, ZIPC_OWN_ROLE_CONSUMER);
        q->sc = false;
    }
}

/* Every push and pop goes through these: the mode is a handle-local copy. */
QUEUE_HOT int push_any(zipc_queue *q, const uint8_t *elems, uint32_t n, uint32_t es)
{
    if (q->mode & ZIPC_OWN_MODE_SP)
        return sp_push(q, elems, n, es);
    return push_core(q, elems, n, es);
}

QUEUE_HOT int pop_any(zipc_queue *q, uint8_t *elems, uint32_t n, uint32_t es)
{
    if (q->mode & ZIPC_OWN_MODE_SC)
        return sc_pop(q, elems, n, es);
    return pop_core(q, elems, n, es);
}

/* Batches and the blocking calls (not inlined there). */
static int push_n(zipc_queue *q, const uint8_t *elems, uint32_t n)
{
    return push_any(q, elems, n, q->elem_size);
}

static int pop_n(zipc_queue *q, uint8_t *elems, uint32_t n)
{
    return pop_any(q, elems, n, q->elem_size);
}

static int check_args(zipc_queue *q, const void *p)
{
    if (!q || !p)
        return -EINVAL;
    return q->readonly ? -EROFS : 0;
}

int zipc_queue_try_push(zipc_queue *q, const void *elem)
{
    int r = check_args(q, elem);
    if (r)
        return r;
    switch (q->elem_size) {
    case 8: r = push_any(q, elem, 1, 8); break;
    case 4: r = push_any(q, elem, 1, 4); break;
    case 16: r = push_any(q, elem, 1, 16); break;
    default: r = push_n(q, elem, 1); break;
    }
    return r < 0 ? r : 0;
}

int zipc_queue_try_pop(zipc_queue *q, void *elem)
{
    int r = check_args(q, elem);
    if (r)
        return r;
    switch (q->elem_size) {
    case 8: r = pop_any(q, elem, 1, 8); break;
    case 4: r = pop_any(q, elem, 1, 4); break;
    case 16: r = pop_any(q, elem, 1, 16); break;
    default: r = pop_n(q, elem, 1); break;
    }
    return r < 0 ? r : 0;
}

int zipc_queue_try_push_batch(zipc_queue *q, const void *elems, uint32_t n)
{
    int r = check_args(q, elems);
    if (r || n == 0)
        return r;
    return push_n(q, elems, n < q->capacity ? n : q->capacity);
}

int zipc_queue_try_pop_batch(zipc_queue *q, void *elems, uint32_t n)
{
    int r = check_args(q, elems);
    if (r || n == 0)
        return r;
    return pop_n(q, elems, n < q->capacity ? n : q->capacity);
}

/* ---- blocking: the wait layer retries the try-operation ----------------- */

struct wait_ctx {
    zipc_queue *q;
    void *elems;
    uint32_t n;
    bool push;
    zipc_waitset_shm *ws; /* the set this call sleeps on, or NULL */
    zipc__deadline deadline;
};

static int try_op(struct wait_ctx *c)
{
    return c->push ? push_n(c->q, c->elems, c->n) : pop_n(c->q, c->elems, c->n);
}

/* The try-operation failed: is the queue really empty (pop) / full (push)
 * by its counters, or has a peer claimed a slot it has not yet published /
 * released? W3 (seq_cst): pairs with N3 in the peer's push_core / pop_core:
 * read after our W1, it sees every claim whose CAS came too late to see us
 * among the waiters. */
static bool waiting_on_peer(const struct wait_ctx *c)
{
    zipc_queue *q = c->q;
    if (c->push) {
        uint32_t h = zipc__load_seq_cst_u32(&q->shm->head); /* W3 */
        uint32_t t = zipc__load_relaxed_u32(&q->shm->tail);
        return (int32_t)(t - h) < (int32_t)q->capacity;
    }
    uint32_t t = zipc__load_seq_cst_u32(&q->shm->tail); /* W3 */
    uint32_t h = zipc__load_relaxed_u32(&q->shm->head);
    return (int32_t)(t - h) > 0;
}

/* Longest a blocked call polls for a peer's claimed slot (a peer between its
 * CAS and its publish / release: normally nanoseconds, a time slice if it was
 * preempted there) before it sleeps anyway. A peer that died there is left to
 * zipc_queue_recover; until then such waiters poll this long per sleep slice. */
#define QUEUE_PEER_POLL_NS 1000000LL

static int try_cb(void *p)
{
    struct wait_ctx *c = p;
    int r = try_op(c);
    /* Only before sleeping (the waitset counts a waiter: us, after W1) is
     * the peer check needed; while spinning nobody has announced. */
    if (r != -EAGAIN || !c->ws || !zipc__waitset_has_waiters(c->ws) || !waiting_on_peer(c))
        return r;
    int64_t until = zipc__now_ns() + QUEUE_PEER_POLL_NS;
    if (!c->deadline.forever && c->deadline.at_ns < until)
        until = c->deadline.at_ns;
    for (int i = 0; r == -EAGAIN && waiting_on_peer(c); i++) {
        if (i < ZIPC_SPIN_LIMIT)
            zipc__cpu_relax();
        else if (zipc__now_ns() >= until)
            break; /* sleep: a slice at most, as for a peer that never wakes */
        else
            sched_yield();
        r = try_op(c);
    }
    return r;
}

static int blocking(zipc_queue *q, void *elems, uint32_t n, bool push, int64_t timeout_ns)
{
    int r = check_args(q, elems);
    if (r || n == 0)
        return r;
    struct wait_ctx c = {q, elems, n < q->capacity ? n : q->capacity, push};
    r = try_op(&c);
    if (r != -EAGAIN)
        return r;
    c.ws = q->ws ? &q->ws[push ? WS_NOT_FULL : WS_NOT_EMPTY] : NULL;
    zipc__deadline_init(&c.deadline, timeout_ns);
    /* Wakers on a single side use the light fence (want_wake_after_store). */
    bool heavy = (q->mode & (push ? ZIPC_OWN_MODE_SC : ZIPC_OWN_MODE_SP)) != 0;
    return zipc__wait_until_ex(c.ws, try_cb, &c, timeout_ns, heavy);
}

/* The first attempt is the specialised try-operation (a constant element
 * size, inlined core); only when it finds the queue full / empty does the
 * call go through the generic wait machinery. */
int zipc_queue_push(zipc_queue *q, const void *elem, int64_t timeout_ns)
{
    int r = zipc_queue_try_push(q, elem);
    if (r == -EAGAIN)
        r = blocking(q, (void *)elem, 1, true, timeout_ns);
    return r < 0 ? r : 0;
}

int zipc_queue_pop(zipc_queue *q, void *elem, int64_t timeout_ns)
{
    int r = zipc_queue_try_pop(q, elem);
    if (r == -EAGAIN)
        r = blocking(q, elem, 1, false, timeout_ns);
    return r < 0 ? r : 0;
}

int zipc_queue_push_batch(zipc_queue *q, const void *elems, uint32_t n, int64_t timeout_ns)
{
    return blocking(q, (void *)elems, n, true, timeout_ns);
}

int zipc_queue_pop_batch(zipc_queue *q, void *elems, uint32_t n, int64_t timeout_ns)
{
    return blocking(q, elems, n, false, timeout_ns);
}

/* ---- observers ------------------------------------------------------------ */

uint32_t zipc_queue_size_approx(const zipc_queue *q)
{
    uint32_t h = zipc__load_relaxed_u32(&q->shm->head);
    uint32_t t = zipc__load_relaxed_u32(&q->shm->tail);
    int32_t d = (int32_t)(t - h);
    return d <= 0 ? 0 : (uint32_t)d > q->capacity ? q->capacity : (uint32_t)d;
}

bool zipc_queue_empty_approx(const zipc_queue *q) { return zipc_queue_size_approx(q) == 0; }
bool zipc_queue_full_approx(const zipc_queue *q) { return zipc_queue_size_approx(q) == q->capacity; }
uint32_t zipc_queue_capacity(const zipc_queue *q) { return q->capacity; }
size_t zipc_queue_elem_size(const zipc_queue *q) { return q->elem_size; }

/* ---- crash detection and recovery (cold) ---------------------------------- */

int zipc_queue_check(zipc_queue *q, zipc_queue_report *rep)
{
    if (!q || !rep)
        return -EINVAL;
    *rep = (zipc_queue_report){0};
    /* O2 (acquire): pairs with O1: claims seen here have their rows visible. */
    uint32_t h = zipc__load_acquire_u32(&q->shm->head);
    uint32_t t = zipc__load_acquire_u32(&q->shm->tail);
    rep->head = h;
    rep->tail = t;
    uint32_t ahead = (uint32_t)(t - h);
    if ((int32_t)ahead < 0 || ahead > q->capacity)
        ahead = 0; /* counters moved while we read them: nothing reliable to scan */
    /* A1-style acquires of the seq words (pair with R1/R2): a report, not
     * a decision, so a stale value only miscounts. */
    for (uint32_t c = h; c != h + ahead; c++)
        if (zipc__load_acquire_u32(&q->seq[c & q->mask]) == c)
            rep->inflight_push++;
    /* Behind head: a slot whose seq is still c+1 was taken and not released. */
    for (uint32_t k = 1; k <= q->capacity; k++) {
        uint32_t c = h - k;
        if (zipc__load_acquire_u32(&q->seq[c & q->mask]) == c + 1)
            rep->inflight_pop++;
    }
    rep->dead_owners = zipc__own_count_dead(&q->owners);
    return 0;
}

/* A dead producer's claim: counters [first, first+count). Returns true when
 * nothing of it is left to repair. */
static bool recover_push(zipc_queue *q, const zipc_owner_row_shm *row, const zipc__own_claim *c,
                         zipc_queue_report *rep)
{
    uint32_t tail = zipc__load_acquire_u32(&q->shm->tail); /* O2: pairs with O1 */
    for (uint32_t j = 0; j < c->count && j < q->capacity; j++) {
        uint32_t ctr = c->counter + j;
        if ((int32_t)(tail - ctr) <= 0)
            return true; /* never claimed: it died before its CAS */
        zipc_atomic_u32 *sq = &q->seq[ctr & q->mask];
        uint32_t s = zipc__load_acquire_u32(sq); /* A1: pairs with R1 of the publisher */
        if (s != ctr)
            continue; /* published (by it, or by a live producer that owned ctr) */
        /* Unpublished and claimed. With phase PENDING the CAS may have been
         * someone else's: a live claim on ctr means it is not ours to touch. */
        if (c->phase == ZIPC_OWN_PENDING) {
            if (zipc__own_live_claim(&q->owners, row, ZIPC_OWN_PUSH, ctr))
                return false;
            /* O5: pairs with the release of a live owner's intent: one that
             * published and went idle between our seq load and the check
             * above must not have its element skipped. */
            s = zipc__load_acquire_u32(sq);
            if (s != ctr)
                continue;
        }
        if (c->phase == ZIPC_OWN_COPIED) {
            /* R1: the dead producer's bytes were complete (its COPIED store
             * was a release, read with acquire in take_dead). */
            if (zipc__cas_release_u32(sq, &s, ctr + 1))
                rep->republished++;
            continue;
        }
        /* Never filled: skip it the way a consumer would take it, once
         * consumers have reached it (head == ctr, the consumers' view). */
        uint32_t h = ctr;
        /* O1 (release, acq on success): as a consumer's head CAS. */
        if (!zipc__cas_acq_rel_u32(&q->shm->head, &h, ctr + 1) && (int32_t)(h - ctr) <= 0)
            return false; /* consumers are not there yet: pending */
        ZIPC_CRASH_POINT(241); /* recoverer: head moved past the slot, seq not */
        /* Head past an unfilled slot (CAS failed with h > ctr): no consumer
         * takes an unpublished slot, so a recoverer of this row was killed
         * between its head CAS and the CAS below; finish its skip. Nobody
         * else writes seq here meanwhile (the row is ours, its slot's next
         * producer waits for this very value).
         * R2: as release_pop: the slot is free for the next round. */
        if (zipc__cas_release_u32(sq, &s, ctr + q->capacity))
            rep->skipped++;
    }
    if (q->ws)
        zipc__waitset_notify(&q->ws[WS_NOT_EMPTY], INT32_MAX);
    return true;
}

/* A dead consumer's claim: counters [first, first+count). */
static bool recover_pop(zipc_queue *q, const zipc_owner_row_shm *row, const zipc__own_claim *c,
                        zipc_queue_report *rep)
{
    uint32_t head = zipc__load_acquire_u32(&q->shm->head); /* O2: pairs with O1 */
    for (uint32_t j = 0; j < c->count && j < q->capacity; j++) {
        uint32_t ctr = c->counter + j;
        if ((int32_t)(head - ctr) <= 0)
            return true; /* never taken */
        zipc_atomic_u32 *sq = &q->seq[ctr & q->mask];
        uint32_t s = zipc__load_acquire_u32(sq); /* A2-style: pairs with R2 of a releaser */
        if (s != ctr + 1)
            continue; /* released */
        if (c->phase == ZIPC_OWN_PENDING && zipc__own_live_claim(&q->owners, row, ZIPC_OWN_POP, ctr))
            return false;
        /* R2: pairs with A1: the slot is free for the next round. */
        if (zipc__cas_release_u32(sq, &s, ctr + q->capacity))
            rep->released++;
    }
    if (q->ws)
        zipc__waitset_notify(&q->ws[WS_NOT_FULL], INT32_MAX);
    return true;
}

int zipc_queue_recover(zipc_queue *q, zipc_queue_report *report)
{
    zipc_queue_report local;
    if (!q)
        return -EINVAL;
    if (q->readonly)
        return -EROFS;
    zipc_queue_report *rep = report ? report : &local;
    zipc_queue_check(q, rep);
    for (uint32_t i = 0; i < q->owners.nrows; i++) {
        zipc_owner_row_shm *row = &q->owners.rows[i];
        zipc__own_claim c;
        /* The idle row of a role holder has nothing to repair; the next
         * taker of the role retires it (taking it here would only make a
         * taker meanwhile wait with -EAGAIN). */
        if (zipc__own_role_named(&q->owners, row) &&
            zipc__load_relaxed_u32(&row->state) == ZIPC_OWN_IDLE)
            continue;
        if (!zipc__own_take_dead(&q->owners, row, &c))
            continue;
        ZIPC_CRASH_POINT(240); /* recoverer: row marked, nothing repaired */
        bool done = true;
        if (c.phase != ZIPC_OWN_IDLE && c.op == ZIPC_OWN_PUSH)
            done = recover_push(q, row, &c, rep);
        else if (c.phase != ZIPC_OWN_IDLE && c.op == ZIPC_OWN_POP)
            done = recover_pop(q, row, &c, rep);
        if (done)
            rep->rows_freed++;
        else
            rep->pending++;
        zipc__own_put(&q->owners, row, &c, done);
    }
    return 0;
}
