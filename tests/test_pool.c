/* Pool: layout, return codes, double-free detection, stress, crashes. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "harness.h"
#include "testhooks.h"

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static const uint8_t *pool_bytes(zipc_segment *seg, const char *name, uint64_t *size)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, name, &info));
    *size = info.size;
    return (const uint8_t *)zipc_segment_base(seg) + info.offset;
}

ZTEST(pool_layout_matches_the_format_after_create_and_alloc, ZT_FAST)
{
    zipc_segment *seg;
    zipc_pool *p, *d, *b;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_pool_create(seg, "p", 4, 0, 4, &p));  /* i32: nodes of 8, next @4 */
    ZT_OK(zipc_pool_create(seg, "d", 8, 0, 3, &d));  /* f64: nodes of 16, next @8 */
    ZT_OK(zipc_pool_create(seg, "b", 1, 0, 2, &b));  /* 1 byte: nodes of 8, next @4 */
    uint64_t size;
    const uint8_t *m = pool_bytes(seg, "p", &size);
    ZT_EQ(size, 24 + 8 * 4);
    ZT_EQ_U64(rd64(m), 0); /* generation 0, index 0 */
    ZT_EQ(rd32(m + 8), 0);
    ZT_EQ(rd32(m + 16), 4);
    ZT_EQ(rd32(m + 20), 4);
    for (uint32_t i = 0; i < 4; i++)
        ZT_EQ(rd32(m + 24 + 8 * i + 4), i == 3 ? 0xFFFFFFFFu : i + 1);
    ZT_ASSERT(pool_bytes(seg, "d", &size) != NULL);
    ZT_EQ(size, 24 + 16 * 3);
    const uint8_t *dm = pool_bytes(seg, "d", &size);
    ZT_EQ(rd32(dm + 24 + 8), 1);
    ZT_ASSERT(pool_bytes(seg, "b", &size) != NULL);
    ZT_EQ(size, 24 + 8 * 2);
    uint32_t idx;
    void *ptr;
    ZT_OK(zipc_pool_alloc(p, &idx, &ptr));
    ZT_EQ(idx, 0);
    ZT_ASSERT(ptr == m + 24);
    ZT_EQ_U64(rd64(m), (UINT64_C(1) << 32) | 1); /* generation bumped, head -> 1 */
    ZT_EQ(rd32(m + 8), 1);
    ZT_OK(zipc_pool_free(p, idx));
    ZT_EQ_U64(rd64(m), (UINT64_C(2) << 32) | 0);
    ZT_EQ(rd32(m + 24 + 4), 1); /* node 0 points to node 1 again */
    zipc_pool_close(p);
    zipc_pool_close(d);
    zipc_pool_close(b);
    zipc_segment_close(seg);
}

ZTEST(pool_empty_is_eagain_and_bad_frees_are_einval, ZT_FAST)
{
    zipc_segment *seg;
    zipc_pool *p, *q;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_pool_create(seg, "p", 16, 8, 3, &p));
    ZT_OK(zipc_pool_open(seg, "p", 16, 8, &q));
    uint32_t idx[3], extra;
    for (int i = 0; i < 3; i++)
        ZT_OK(zipc_pool_alloc(i % 2 ? p : q, &idx[i], NULL));
    ZT_ERR(zipc_pool_alloc(p, &extra, NULL), -EAGAIN);
    ZT_EQ(zipc_pool_allocated(q), 3);
    ZT_OK(zipc_pool_free(q, idx[1]));
    ZT_ERR(zipc_pool_free(p, idx[1]), -EINVAL); /* double free */
    ZT_ERR(zipc_pool_free(p, 3), -EINVAL);      /* foreign index */
    ZT_ERR(zipc_pool_free(p, 0xFFFFFFFFu), -EINVAL);
    ZT_ERR(zipc_pool_free(NULL, 0), -EINVAL);
    ZT_ERR(zipc_pool_alloc(p, NULL, NULL), -EINVAL);
    ZT_EQ(zipc_pool_allocated(p), 2);
    ZT_ASSERT(zipc_pool_at(p, 3) == NULL);
    ZT_EQ(zipc_pool_capacity(p), 3);
    ZT_EQ(zipc_pool_elem_size(p), 16);
    ZT_ERR(zipc_pool_create(seg, "x", 0, 0, 3, &(zipc_pool *){0}), -EINVAL);
    ZT_ERR(zipc_pool_create(seg, "x", 4, 0, 0, &(zipc_pool *){0}), -EINVAL);
    ZT_ERR(zipc_pool_create(seg, "x", 4, 3, 2, &(zipc_pool *){0}), -EINVAL);
    ZT_ERR(zipc_pool_create(seg, "x", 4, 0, 0xFFFFFFFFu, &(zipc_pool *){0}), -EINVAL);
    ZT_ERR(zipc_pool_create(seg, "p", 4, 0, 2, &(zipc_pool *){0}), -EEXIST);
    ZT_ERR(zipc_pool_create(seg, "abcdefghijklmnopqrstuvwxyz01", 4, 0, 2, &(zipc_pool *){0}),
           -ENAMETOOLONG);
    ZT_ERR(zipc_pool_open(seg, "p", 8, 8, &(zipc_pool *){0}), -EBADMSG);
    ZT_ERR(zipc_pool_open(seg, "p", 16, 4, &(zipc_pool *){0}), -EBADMSG); /* node 20, not 24 */
    ZT_ERR(zipc_pool_open(seg, "none", 16, 8, &(zipc_pool *){0}), -ENOENT);
    zipc_pool_close(p);
    zipc_pool_close(q);
    zipc_segment_close(seg);
}

ZTEST(pool_writes_through_a_readonly_segment_are_erofs, ZT_FAST)
{
    zipc_segment *seg, *ro;
    zipc_pool *p, *r;
    uint32_t idx;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_pool_create(seg, "p", 4, 0, 2, &p));
    ZT_OK(zipc_segment_open_ex(zt_name(NULL), ZIPC_SEGMENT_READONLY, &ro));
    ZT_OK(zipc_pool_open(ro, "p", 4, 0, &r));
    ZT_ERR(zipc_pool_alloc(r, &idx, NULL), -EROFS);
    ZT_ERR(zipc_pool_free(r, 0), -EROFS);
    ZT_ERR(zipc_pool_recover_quiescent(r, NULL), -EROFS);
    zipc_pool_close(r);
    zipc_pool_close(p);
    zipc_segment_close(ro);
    zipc_segment_close(seg);
}

/* ---- stress: no index is ever held by two owners at once ---------------------- */

struct pool_stress {
    const char *seg;
    int id, iters;
};

/* Each worker holds up to HOLD objects, stamps each with (id, seq) while
 * holding it and checks the stamp before freeing: an index handed out twice
 * shows as a foreign stamp. */
enum { HOLD = 4, POOL_CAP = 12 };

struct stamp {
    uint32_t owner, pad;
    uint64_t seq;
};

static void pool_body(void *p)
{
    struct pool_stress *c = p;
    zipc_segment *seg;
    zipc_pool *pool;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_pool_open(seg, "p", sizeof(struct stamp), 8, &pool));
    uint32_t held[HOLD];
    uint64_t seqs[HOLD];
    int n = 0;
    for (int i = 0; i < c->iters; i++) {
        if (n < HOLD && (i % 3 != 2 || n == 0)) {
            uint32_t idx;
            struct stamp *s;
            int r = zipc_pool_alloc(pool, &idx, (void **)&s);
            if (r == -EAGAIN)
                continue; /* all taken: others hold them */
            ZT_OK(r);
            s->owner = (uint32_t)c->id;
            s->seq = (uint64_t)i;
            held[n] = idx;
            seqs[n++] = (uint64_t)i;
        } else {
            int k = i % n;
            struct stamp *s = zipc_pool_at(pool, held[k]);
            ZT_EQ(s->owner, c->id);
            ZT_EQ_U64(s->seq, seqs[k]);
            ZT_OK(zipc_pool_free(pool, held[k]));
            held[k] = held[--n];
            seqs[k] = seqs[n];
        }
    }
    while (n > 0)
        ZT_OK(zipc_pool_free(pool, held[--n]));
    zipc_pool_close(pool);
    zipc_segment_close(seg);
}

static void *pool_thread(void *p)
{
    pool_body(p);
    return NULL;
}

static void pool_stress_run(bool threads)
{
    enum { N = 4 };
    const char *name = zt_name(NULL);
    int iters = (int)zt_env_u64("ZIPC_STRESS_ITERS", 200000) / (threads ? 4 : 1);
    zipc_segment *seg;
    zipc_pool *pool;
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_pool_create(seg, "p", sizeof(struct stamp), 8, POOL_CAP, &pool));
    struct pool_stress c[N];
    pid_t pids[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        c[i] = (struct pool_stress){name, i + 1, iters};
        if (threads)
            ZT_OK(pthread_create(&th[i], NULL, pool_thread, &c[i]));
        else
            pids[i] = zt_fork(pool_body, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        if (threads)
            pthread_join(th[i], NULL);
        else
            zt_wait_ok(pids[i]);
    }
    ZT_EQ(zipc_pool_allocated(pool), 0);
    /* All objects are back on the list, each once. */
    uint32_t got[POOL_CAP];
    bool seen[POOL_CAP] = {false};
    for (int i = 0; i < POOL_CAP; i++) {
        ZT_OK(zipc_pool_alloc(pool, &got[i], NULL));
        ZT_ASSERT(got[i] < POOL_CAP && !seen[got[i]]);
        seen[got[i]] = true;
    }
    ZT_ERR(zipc_pool_alloc(pool, &got[0], NULL), -EAGAIN);
    zipc_pool_close(pool);
    zipc_segment_close(seg);
}

ZTEST(pool_many_processes_never_hand_out_an_index_twice, ZT_MEDIUM) { pool_stress_run(false); }
ZTEST(pool_many_threads_never_hand_out_an_index_twice, ZT_MEDIUM) { pool_stress_run(true); }

/* ---- crashes ---------------------------------------------------------------------- */

struct pool_crash {
    const char *seg;
    int point;
};

static void pool_crash_body(void *p)
{
    struct pool_crash *c = p;
    zipc_segment *seg;
    zipc_pool *pool;
    uint32_t idx;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_pool_open(seg, "p", 8, 0, &pool));
    ZT_OK(zipc_pool_alloc(pool, &idx, NULL)); /* holds one object */
    zipc__crash_at = c->point;
    if (c->point < 510)
        zipc_pool_alloc(pool, &idx, NULL);
    else
        zipc_pool_free(pool, idx);
    _exit(3);
}

/* Kill a process at each crash point of alloc and free, then let a survivor
 * allocate and free everything: it never blocks, the dead process lost at
 * most the object in flight, and quiescent recovery puts that object back.
 * Objects the dead process had allocated stay allocated. */
ZTEST(pool_crash_at_each_point_loses_at_most_one_object_until_recovery, ZT_MEDIUM)
{
    static const struct { int point; uint32_t reclaimed, held_after; } cases[] = {
        {500, 1, 1}, {501, 0, 2}, {510, 1, 0}, {511, 1, 0},
    };
    enum { CAP = 6 };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), "c%d", cases[i].point);
        struct pool_crash c = {zt_name(suffix), cases[i].point};
        zipc_segment *seg;
        zipc_pool *pool;
        ZT_OK(zipc_segment_create(c.seg, 1 << 16, 0, &seg));
        ZT_OK(zipc_pool_create(seg, "p", 8, 0, CAP, &pool));
        int st = zt_wait(zt_fork(pool_crash_body, &c));
        if (st != 128 + SIGKILL)
            zt_fail(__FILE__, __LINE__, "point %d: status %d", c.point, st);
        /* Survivor: everything not lost is still allocatable, no hang. */
        uint32_t idx[CAP];
        int n = 0;
        while (n < CAP && zipc_pool_alloc(pool, &idx[n], NULL) == 0)
            n++;
        uint32_t lost = CAP - (uint32_t)n - cases[i].held_after;
        ZT_EQ(lost, cases[i].reclaimed);
        while (n > 0)
            ZT_OK(zipc_pool_free(pool, idx[--n]));
        uint32_t back = 99;
        ZT_OK(zipc_pool_recover_quiescent(pool, &back));
        ZT_EQ(back, cases[i].reclaimed);
        ZT_EQ(zipc_pool_allocated(pool), cases[i].held_after);
        while (n < CAP && zipc_pool_alloc(pool, &idx[n], NULL) == 0)
            n++;
        ZT_EQ((uint32_t)n, CAP - cases[i].held_after);
        ZT_OK(zipc_pool_recover_quiescent(pool, &back));
        ZT_EQ(back, 0);
        zipc_pool_close(pool);
        zipc_segment_close(seg);
        zipc_segment_unlink(c.seg);
    }
}

ZTEST(pool_free_list_pointing_out_of_range_is_ebadmsg, ZT_FAST)
{
    zipc_segment *seg;
    zipc_pool *p;
    uint32_t idx;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_pool_create(seg, "p", 4, 0, 4, &p));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "p", &info));
    uint64_t *head = (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
    *head = 100;
    ZT_ERR(zipc_pool_alloc(p, &idx, NULL), -EBADMSG);
    uint32_t back;
    ZT_OK(zipc_pool_recover_quiescent(p, &back)); /* rebuilds the list */
    ZT_EQ(back, 4);
    ZT_OK(zipc_pool_alloc(p, &idx, NULL));
    zipc_pool_close(p);
    zipc_segment_close(seg);
}

/* A pool written by another implementation has no "_own" entry: open adds
 * it with every node UNKNOWN; a free of such a node is accepted once. */
ZTEST(pool_made_by_another_implementation_accepts_one_free_per_unknown_node, ZT_FAST)
{
    zipc_segment *seg;
    zipc_pool *p;
    uint64_t off;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "cpp", 24 + 8 * 3, &off));
    uint8_t *b = (uint8_t *)zipc_segment_base(seg) + off;
    /* Node 0 allocated there; the list is 1 -> 2. */
    uint64_t head = (UINT64_C(1) << 32) | 1;
    uint32_t cap = 3, es = 4, next1 = 2, none = 0xFFFFFFFFu, allocated = 1;
    memcpy(b, &head, 8);
    memcpy(b + 8, &allocated, 4);
    memcpy(b + 16, &cap, 4);
    memcpy(b + 20, &es, 4);
    memcpy(b + 24 + 8 * 1 + 4, &next1, 4);
    memcpy(b + 24 + 8 * 2 + 4, &none, 4);
    ZT_OK(zipc_pool_open(seg, "cpp", 4, 0, &p));
    uint32_t idx;
    ZT_OK(zipc_pool_alloc(p, &idx, NULL));
    ZT_EQ(idx, 1);
    ZT_OK(zipc_pool_free(p, 0)); /* allocated by the other side */
    ZT_ERR(zipc_pool_free(p, 0), -EINVAL);
    ZT_OK(zipc_pool_free(p, idx));
    ZT_ERR(zipc_pool_free(p, idx), -EINVAL);
    zipc_pool_close(p);
    zipc_segment_close(seg);
}

/* Regression: alloc stored ALLOCATED over whatever state a popped node had,
 * so a free list holding an allocated node (a corrupt list, or the one free
 * of an UNKNOWN node of another implementation's pool that was in fact on
 * the list: here a cycle 2 -> 1 -> 2) handed the same index out twice,
 * silently. A popped node must be FREE or UNKNOWN; an ALLOCATED one is
 * -EBADMSG, and recovery does not put allocated nodes back on the list. */
ZTEST(pool_free_list_holding_an_allocated_node_is_ebadmsg_not_a_second_handout, ZT_FAST)
{
    zipc_segment *seg;
    zipc_pool *p;
    uint64_t off;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "cpp", 24 + 8 * 3, &off));
    uint8_t *b = (uint8_t *)zipc_segment_base(seg) + off;
    /* Node 0 allocated by the other side; the list is 1 -> 2. */
    uint64_t head = 1;
    uint32_t cap = 3, es = 4, next1 = 2, none = 0xFFFFFFFFu, allocated = 1;
    memcpy(b, &head, 8);
    memcpy(b + 8, &allocated, 4);
    memcpy(b + 16, &cap, 4);
    memcpy(b + 20, &es, 4);
    memcpy(b + 24 + 8 * 1 + 4, &next1, 4);
    memcpy(b + 24 + 8 * 2 + 4, &none, 4);
    ZT_OK(zipc_pool_open(seg, "cpp", 4, 0, &p));
    ZT_OK(zipc_pool_free(p, 2)); /* UNKNOWN: accepted, though it was listed */
    uint32_t a, c, d;
    ZT_OK(zipc_pool_alloc(p, &a, NULL));
    ZT_OK(zipc_pool_alloc(p, &c, NULL));
    ZT_ASSERT(a != c);
    ZT_ERR(zipc_pool_alloc(p, &d, NULL), -EBADMSG); /* 2 again: refused */
    uint32_t back;
    ZT_OK(zipc_pool_recover_quiescent(p, &back));
    ZT_EQ(back, 0);
    ZT_EQ(zipc_pool_allocated(p), 3); /* 0 (theirs), a, c */
    ZT_ERR(zipc_pool_alloc(p, &d, NULL), -EAGAIN);
    ZT_OK(zipc_pool_free(p, a));
    ZT_OK(zipc_pool_free(p, c));
    ZT_OK(zipc_pool_alloc(p, &d, NULL));
    uint32_t e;
    ZT_OK(zipc_pool_alloc(p, &e, NULL));
    ZT_ASSERT(d != e);
    ZT_ERR(zipc_pool_alloc(p, &e, NULL), -EAGAIN);
    zipc_pool_close(p);
    zipc_segment_close(seg);
}

/* The ABA guard: a head whose index comes back (pop 0, pop 1, push 0) has a
 * new generation, so a pop that read the old head fails its CAS; and the
 * generation wraps from 2^32-1 to 0 without carrying into the index. */
ZTEST(pool_head_index_seen_again_has_a_new_generation_that_wraps_cleanly, ZT_FAST)
{
    zipc_segment *seg;
    zipc_pool *p;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_pool_create(seg, "p", 4, 0, 3, &p));
    uint64_t size;
    uint64_t *head = (uint64_t *)(uintptr_t)pool_bytes(seg, "p", &size);
    uint64_t stale = __atomic_load_n(head, __ATOMIC_ACQUIRE); /* {0, 0} */
    uint32_t a, b;
    ZT_OK(zipc_pool_alloc(p, &a, NULL));
    ZT_OK(zipc_pool_alloc(p, &b, NULL));
    ZT_OK(zipc_pool_free(p, a));
    uint64_t now = __atomic_load_n(head, __ATOMIC_ACQUIRE);
    ZT_EQ((uint32_t)now, (uint32_t)stale); /* the same index on top ... */
    ZT_ASSERT(now != stale);                /* ... under another generation */
    ZT_EQ(now >> 32, 3);
    /* Generation 2^32-1: the next pop wraps it to 0, index bits intact. */
    __atomic_store_n(head, (UINT64_C(0xFFFFFFFF) << 32) | a, __ATOMIC_RELEASE);
    uint32_t c;
    ZT_OK(zipc_pool_alloc(p, &c, NULL));
    ZT_EQ(c, a);
    now = __atomic_load_n(head, __ATOMIC_ACQUIRE);
    ZT_EQ_U64(now, 2); /* generation 0, index 2 (node 0's successor) */
    zipc_pool_close(p);
    zipc_segment_close(seg);
}
