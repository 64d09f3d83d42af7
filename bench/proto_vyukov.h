/* Bench-only models of the Queue algorithm, to measure what the byte format
 * itself costs (docs/benchmarks.md, "what the format costs"):
 *   vy_fmt    the textbook Vyukov queue on the FORMAT.md layout (head @0 and
 *             tail @4 share a cache line): load the counter, read the slot's
 *             seq, CAS the counter
 *   vy_split  the same algorithm with head and tail on cache lines of their
 *             own (NOT the format: a model only)
 * 8-byte elements, one element per call. Not used by the library. */
#ifndef ZIPC_BENCH_PROTO_VYUKOV_H
#define ZIPC_BENCH_PROTO_VYUKOV_H

/* Included by bench_mechs.h, after its segment helpers. */

typedef struct vy_shm {
    zipc_atomic_u32 head;
    zipc_atomic_u32 tail_fmt; /* the format's tail, next to head */
    char pad[BENCH_CACHELINE - 8];
    zipc_atomic_u32 tail_split; /* the model's tail, on a line of its own */
    char pad2[BENCH_CACHELINE - 4];
    uint64_t slot[BENCH_CAPACITY];
    zipc_atomic_u32 seq[BENCH_CAPACITY];
} vy_shm;

static int vy_setup(bench_run *r)
{
    int rc = seg_create(r, 2 * (sizeof(vy_shm) + 128));
    for (int ch = 0; !rc && ch < r->nchan; ch++) {
        vy_shm *q = seg_raw_add(r, ch, sizeof(vy_shm));
        for (uint32_t i = 0; i < BENCH_CAPACITY; i++)
            zipc__store_relaxed_u32(&q->seq[i], i);
    }
    return rc;
}

static inline int vy_push(zipc_atomic_u32 *tailp, vy_shm *q, uint64_t v)
{
    uint32_t t = zipc__load_relaxed_u32(tailp);
    for (;;) {
        uint32_t slot = t & (BENCH_CAPACITY - 1);
        /* V1: pairs with V4: the consumer has finished reading the slot. */
        int32_t d = (int32_t)(zipc__load_acquire_u32(&q->seq[slot]) - t);
        if (d == 0) {
            if (zipc__cas_relaxed_u32(tailp, &t, t + 1)) {
                q->slot[slot] = v;
                /* V2: pairs with V3: the slot is written before it is published. */
                zipc__store_release_u32(&q->seq[slot], t + 1);
                return 1;
            }
        } else if (d < 0) {
            return 0;
        } else {
            t = zipc__load_relaxed_u32(tailp);
        }
    }
}

static inline int vy_pop(vy_shm *q, uint64_t *v)
{
    uint32_t h = zipc__load_relaxed_u32(&q->head);
    for (;;) {
        uint32_t slot = h & (BENCH_CAPACITY - 1);
        /* V3: pairs with V2. */
        int32_t d = (int32_t)(zipc__load_acquire_u32(&q->seq[slot]) - (h + 1));
        if (d == 0) {
            if (zipc__cas_relaxed_u32(&q->head, &h, h + 1)) {
                *v = q->slot[slot];
                /* V4: pairs with V1. */
                zipc__store_release_u32(&q->seq[slot], h + BENCH_CAPACITY);
                return 1;
            }
        } else if (d < 0) {
            return 0;
        } else {
            h = zipc__load_relaxed_u32(&q->head);
        }
    }
}

/* vy_hint: the format layout, but each side starts from its own cached
 * counter (exact for a single producer / consumer) instead of loading the
 * shared one: the only access to the shared header line is the CAS, and a
 * side that finds the queue full / empty polls only its slot's seq word. */
typedef struct vy_hint {
    uint32_t t, h;
} vy_hint;

static inline int vyh_push(vy_shm *q, uint32_t *hint, uint64_t v)
{
    uint32_t t = *hint;
    for (;;) {
        uint32_t slot = t & (BENCH_CAPACITY - 1);
        /* V1 */
        int32_t d = (int32_t)(zipc__load_acquire_u32(&q->seq[slot]) - t);
        if (d == 0) {
#ifdef VY_PREFETCHW
            __builtin_prefetch(&q->slot[slot], 1);
#endif
#ifdef VY_PREFETCHW_SEQ
            __builtin_prefetch(&q->seq[slot], 1);
#endif
            if (zipc__cas_relaxed_u32(&q->tail_fmt, &t, t + 1)) {
                q->slot[slot] = v;
                /* V2 */
                zipc__store_release_u32(&q->seq[slot], t + 1);
                *hint = t + 1;
                return 1;
            }
        } else if (d < 0) {
            *hint = t;
            return 0;
        } else {
            t = zipc__load_relaxed_u32(&q->tail_fmt);
        }
    }
}

static inline int vyh_pop(vy_shm *q, uint32_t *hint, uint64_t *v)
{
    uint32_t h = *hint;
    for (;;) {
        uint32_t slot = h & (BENCH_CAPACITY - 1);
        /* V3 */
        int32_t d = (int32_t)(zipc__load_acquire_u32(&q->seq[slot]) - (h + 1));
        if (d == 0) {
            __builtin_prefetch(&q->slot[slot]);
            if (zipc__cas_relaxed_u32(&q->head, &h, h + 1)) {
                *v = q->slot[slot];
                /* V4 */
                zipc__store_release_u32(&q->seq[slot], h + BENCH_CAPACITY);
                *hint = h + 1;
                return 1;
            }
        } else if (d < 0) {
            *hint = h;
            return 0;
        } else {
            h = zipc__load_relaxed_u32(&q->head);
        }
    }
}

static int vyh_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    uint32_t hint = (uint32_t)r->ring_mine[ch];
    int k = vyh_push(r->chan[ch], &hint, v[0]);
    r->ring_mine[ch] = hint;
    return k;
}

static int vyh_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    uint32_t hint = (uint32_t)r->ring_theirs[ch];
    int k = vyh_pop(r->chan[ch], &hint, v);
    r->ring_theirs[ch] = hint;
    return k;
}

static int vyf_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    vy_shm *q = r->chan[ch];
    return vy_push(&q->tail_fmt, q, v[0]);
}

static int vys_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    vy_shm *q = r->chan[ch];
    return vy_push(&q->tail_split, q, v[0]);
}

static int vy_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    return vy_pop(r->chan[ch], v);
}

#define BENCH_PROTO_MECHS                                                                     \
    MECH_SEG("vy_fmt", "model: Vyukov queue, format layout", BM_MPMC, 1, vy_setup, vyf_send, \
             vy_recv),                                                                        \
        MECH_SEG("vy_hint", "model: Vyukov queue, format layout, cached counters", BM_MPMC, \
                 1, vy_setup, vyh_send, vyh_recv),                                            \
        MECH_SEG("vy_split", "model: Vyukov queue, head/tail on own lines (not the format)",  \
                 BM_MPMC, 1, vy_setup, vys_send, vy_recv),

#endif /* ZIPC_BENCH_PROTO_VYUKOV_H */
