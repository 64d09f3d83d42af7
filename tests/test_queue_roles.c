/* Queue: single-producer / single-consumer roles (ZIPC_QUEUE_SINGLE_PRODUCER,
 * ZIPC_QUEUE_SINGLE_CONSUMER; include/zeroipc/queue.h, docs/queue.md).
 *
 * What is pinned here: the flags and where the mode is recorded; that one
 * handle at a time holds a role (-EPERM for the others) until it closes or
 * its process dies; streams between processes and threads in exact order;
 * counters across 2^32; takeover from exited, killed (crash points 220, 221,
 * 230, 231), zombie and sleeping holders without loss or duplication beyond
 * what the crash outcome allows; the lazily stored head / tail as seen by
 * zipc_queue_size_approx; corrupt roles words and seq words; and that a
 * sleeper on either side is woken by the single side without a lost wake-up.
 *
 * The roles word is the reserved u32 at offset 4 of "<name>_own": bits 0-7
 * the mode (1 single producer, 2 single consumer), bits 8-19 the producer's
 * holder and bits 20-31 the consumer's (owner row index + 1, 0: none). */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "payload.h"
#include "queue_shm.h"
#include "testhooks.h"
#include "wait.h"

#define SEC 1000000000LL
#define MS 1000000LL
#define US 1000LL

#define SP ZIPC_QUEUE_SINGLE_PRODUCER
#define SC ZIPC_QUEUE_SINGLE_CONSUMER
#define SPSC (ZIPC_QUEUE_SINGLE_PRODUCER | ZIPC_QUEUE_SINGLE_CONSUMER)

#define ROLE_MODE(w) ((w) & 0xffu)
#define ROLE_PROD(w) (((w) >> 8) & 0xfffu)
#define ROLE_CONS(w) ((w) >> 20)

/* Waitsets of "q_wait": [0] "not empty" (consumers sleep), [1] "not full". */
#define WS_NOT_EMPTY 0u
#define WS_NOT_FULL 1u

/* ---- raw views of the shared memory ---------------------------------------- */

static zipc_queue_shm *rq_raw(zipc_segment *seg)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "q", &info));
    return (zipc_queue_shm *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

static uint32_t *rq_seq(zipc_queue_shm *q)
{
    return (uint32_t *)((uint8_t *)q + zipc__queue_seq_offset(q->capacity, q->elem_size));
}

static uint32_t rq_head(zipc_segment *seg)
{
    return __atomic_load_n((uint32_t *)&rq_raw(seg)->head, __ATOMIC_SEQ_CST);
}

static uint32_t rq_tail(zipc_segment *seg)
{
    return __atomic_load_n((uint32_t *)&rq_raw(seg)->tail, __ATOMIC_SEQ_CST);
}

/* A queue that has already moved BASE elements and is empty: head = tail =
 * BASE, and the slot of counter c holds seq c (free for that round). Call
 * before any handle takes a role. */
static void rq_set_counters(zipc_segment *seg, uint32_t base)
{
    zipc_queue_shm *raw = rq_raw(seg);
    uint32_t cap = raw->capacity, *seq = rq_seq(raw);
    for (uint32_t k = 0; k < cap; k++)
        __atomic_store_n(&seq[(base + k) & (cap - 1)], base + k, __ATOMIC_SEQ_CST);
    __atomic_store_n((uint32_t *)&raw->head, base, __ATOMIC_SEQ_CST);
    __atomic_store_n((uint32_t *)&raw->tail, base, __ATOMIC_SEQ_CST);
}

static uint8_t *rq_own(zipc_segment *seg)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "q_own", &info));
    ZT_ASSERT(info.size >= 8);
    return (uint8_t *)zipc_segment_base(seg) + info.offset;
}

static uint32_t rq_roles(zipc_segment *seg)
{
    return __atomic_load_n((uint32_t *)(rq_own(seg) + 4), __ATOMIC_SEQ_CST);
}

static void rq_set_roles(zipc_segment *seg, uint32_t w)
{
    __atomic_store_n((uint32_t *)(rq_own(seg) + 4), w, __ATOMIC_SEQ_CST);
}

static uint32_t rq_nrows(zipc_segment *seg) { return *(uint32_t *)rq_own(seg); }

static uint32_t rq_row_pid(zipc_segment *seg, uint32_t row)
{
    return __atomic_load_n((uint32_t *)(rq_own(seg) + 8 + 16 * (size_t)row), __ATOMIC_SEQ_CST);
}

/* The first free owner row (pid 0); fails the test if there is none. */
static uint32_t rq_free_row(zipc_segment *seg)
{
    uint32_t nrows = rq_nrows(seg);
    for (uint32_t i = 0; i < nrows; i++)
        if (rq_row_pid(seg, i) == 0)
            return i;
    ZT_ASSERT(!"a free owner row");
    return 0;
}

/* HOLDER (row index + 1) names a row of this process. */
static void assert_holder_is_this_process(zipc_segment *seg, uint32_t holder)
{
    ZT_ASSERT(holder != 0);
    ZT_ASSERT(holder <= rq_nrows(seg));
    ZT_EQ(rq_row_pid(seg, holder - 1), getpid());
}

static zipc_waitset_shm *rq_waitsets(zipc_segment *seg)
{
    zipc_entry_info wi;
    ZT_OK(zipc_segment_find(seg, "q_wait", &wi));
    ZT_ASSERT(wi.size >= 2 * sizeof(zipc_waitset_shm));
    return (zipc_waitset_shm *)((uint8_t *)zipc_segment_base(seg) + wi.offset);
}

/* Memory shared with forked children (timestamps, counts): zeroed. */
static void *shared_mem(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ZT_ASSERT(p != MAP_FAILED);
    return p;
}

/* A segment name of its own for each call within one test. */
static const char *fresh_name(void)
{
    static int n;
    char suffix[16];
    snprintf(suffix, sizeof suffix, "n%d", n++);
    return zt_name(suffix);
}

static zipc_queue *rq_open(zipc_segment *seg, size_t es)
{
    zipc_queue *q;
    ZT_OK(zipc_queue_open(seg, "q", es, &q));
    return q;
}

static void push_u64(zipc_queue *q, uint64_t v) { ZT_OK(zipc_queue_try_push(q, &v)); }

static void pop_expect(zipc_queue *q, uint64_t want)
{
    uint64_t v = ~(uint64_t)0;
    ZT_OK(zipc_queue_try_pop(q, &v));
    ZT_EQ_U64(v, want);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Until PID sleeps ('S') and waitset WHICH counts a waiter: then it sleeps in
 * the futex of a blocking queue call (nothing else puts it to sleep in these
 * tests), whatever the length of the spin. */
static void wait_until_asleep(zipc_segment *seg, uint32_t which, pid_t pid)
{
    zipc_waitset_shm *ws = rq_waitsets(seg);
    int64_t give_up = zt_now_ns() + 10 * SEC;
    while (__atomic_load_n((uint32_t *)&ws[which].waiters, __ATOMIC_SEQ_CST) == 0 ||
           zt_proc_state(pid) != 'S') {
        ZT_ASSERT(zt_now_ns() < give_up);
        sched_yield();
    }
}

/* ---- flags and the recorded mode ------------------------------------------- */

ZTEST(queue_roles_single_flags_are_refused_with_no_aux_on_open_and_with_names_too_long_for_own, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *o;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_ERR(zipc_queue_create_ex(seg, "q", 8, 4, SP | ZIPC_QUEUE_NO_AUX, &q), -EINVAL);
    ZT_ERR(zipc_queue_create_ex(seg, "q", 8, 4, SC | ZIPC_QUEUE_NO_AUX, &q), -EINVAL);
    ZT_ERR(zipc_queue_create_ex(seg, "q", 8, 4, SPSC | ZIPC_QUEUE_NO_AUX, &q), -EINVAL);
    ZT_ERR(zipc_queue_create_ex(seg, "q", 8, 4, 0x10, &q), -EINVAL); /* unknown flag */
    /* 29 bytes: no room for the "_own" entry that records the mode. */
    ZT_ERR(zipc_queue_create_ex(seg, "a_queue_name_of_29_characters", 8, 4, SP, &q), -EINVAL);
    ZT_ERR(zipc_queue_create_ex(seg, "a_queue_name_of_29_characters", 8, 4, SC, &q), -EINVAL);
    ZT_EQ(zipc_segment_entry_count(seg), 0); /* nothing half-made */
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, SPSC, &q));
    ZT_ERR(zipc_queue_open_ex(seg, "q", 8, SP, &o), -EINVAL);
    ZT_ERR(zipc_queue_open_ex(seg, "q", 8, SC, &o), -EINVAL);
    ZT_ERR(zipc_queue_open_ex(seg, "q", 8, SPSC, &o), -EINVAL);
    ZT_ERR(zipc_queue_open_ex(seg, "q", 8, SP | ZIPC_QUEUE_NO_AUX, &o), -EINVAL);
    ZT_ERR(zipc_queue_open_ex(seg, "nope", 8, SP, &o), -EINVAL); /* flags first */
    /* A 26-byte name has room for both auxiliary entries. */
    zipc_queue *l;
    ZT_OK(zipc_queue_create_ex(seg, "a_queue_name_of_26_chars__", 8, 4, SP, &l));
    zipc_queue_close(l);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_flags_keep_the_layout_and_record_the_mode_in_the_own_entry, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *o;
    zipc_entry_info info;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 5, SPSC, &q));
    ZT_EQ(zipc_queue_capacity(q), 8);
    ZT_EQ(zipc_queue_elem_size(q), 8);
    ZT_OK(zipc_segment_find(seg, "q", &info));
    ZT_EQ(info.size, 16 + 64 + 32); /* the format's size: nothing added to the queue */
    ZT_OK(zipc_segment_find(seg, "q_wait", &info));
    ZT_EQ(info.size, 16);
    ZT_OK(zipc_segment_find(seg, "q_own", &info));
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    uint32_t w = rq_roles(seg);
    ZT_EQ(ROLE_MODE(w), 3);
    ZT_EQ(ROLE_PROD(w), 0);
    ZT_EQ(ROLE_CONS(w), 0);
    zipc_queue_shm *raw = rq_raw(seg);
    ZT_EQ(raw->capacity, 8);
    ZT_EQ(raw->elem_size, 8);
    for (uint32_t i = 0; i < 8; i++)
        ZT_EQ(rq_seq(raw)[i], i); /* Vyukov's initial state, as for any queue */
    ZT_EQ(zipc_queue_flags(q), SPSC);
    ZT_EQ(zipc_queue_flags(NULL), 0);
    /* Opened plainly (or NO_AUX: the entries exist), the queue is still single. */
    ZT_OK(zipc_queue_open_ex(seg, "q", 8, ZIPC_QUEUE_NO_AUX, &o));
    ZT_EQ(zipc_queue_capacity(o), 8);
    ZT_EQ(zipc_queue_flags(o), SPSC);
    push_u64(q, 1);
    ZT_ERR(zipc_queue_try_push(o, &(uint64_t){2}), -EPERM);
    zipc_queue_close(o);
    zipc_queue_close(q);
    /* One flag at a time. */
    zipc_queue *p, *c;
    ZT_OK(zipc_queue_create_ex(seg, "p", 8, 4, SP, &p));
    ZT_OK(zipc_queue_create_ex(seg, "c", 8, 4, SC, &c));
    uint8_t *base = zipc_segment_base(seg);
    ZT_OK(zipc_segment_find(seg, "p_own", &info));
    ZT_EQ(*(uint32_t *)(base + info.offset + 4), 1);
    ZT_OK(zipc_segment_find(seg, "c_own", &info));
    ZT_EQ(*(uint32_t *)(base + info.offset + 4), 2);
    ZT_EQ(zipc_queue_flags(p), SP);
    ZT_EQ(zipc_queue_flags(c), SC);
    zipc_queue *m, *n;
    ZT_OK(zipc_queue_create(seg, "m", 8, 4, &m));
    ZT_OK(zipc_queue_create_ex(seg, "n", 8, 4, ZIPC_QUEUE_NO_AUX, &n));
    ZT_EQ(zipc_queue_flags(m), 0);
    ZT_EQ(zipc_queue_flags(n), ZIPC_QUEUE_NO_AUX);
    zipc_queue_close(m);
    zipc_queue_close(n);
    zipc_queue_close(p);
    zipc_queue_close(c);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_without_single_flags_lets_every_handle_push_and_pop_and_stores_counters_at_once, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *a, *b;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 16, &a));
    ZT_OK(zipc_queue_open(seg, "q", 8, &b));
    for (uint64_t i = 0; i < 100; i++) {
        push_u64((i & 1) ? a : b, i);
        ZT_EQ(zipc_queue_size_approx(a), 1); /* not lazy: every push stores tail */
        pop_expect((i % 3) ? a : b, i);
        ZT_EQ(zipc_queue_size_approx(b), 0);
    }
    ZT_EQ(rq_roles(seg), 0); /* no mode, nobody holds anything */
    ZT_EQ(rq_head(seg), 100);
    ZT_EQ(rq_tail(seg), 100);
    zipc_queue_close(a);
    zipc_queue_close(b);
    zipc_segment_close(seg);
}

/* ---- role exclusivity -------------------------------------------------------- */

ZTEST(queue_roles_single_producer_role_belongs_to_the_first_pushing_handle_until_it_closes, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *a, *b;
    uint64_t in[3] = {100, 101, 102}, next_in = 0, next_out = 0;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SP, &q));
    a = rq_open(seg, 8);
    b = rq_open(seg, 8);
    push_u64(a, next_in++);
    uint32_t w = rq_roles(seg);
    ZT_EQ(ROLE_MODE(w), 1);
    assert_holder_is_this_process(seg, ROLE_PROD(w));
    ZT_EQ(ROLE_CONS(w), 0);
    ZT_ERR(zipc_queue_try_push(b, in), -EPERM);
    ZT_ERR(zipc_queue_try_push_batch(b, in, 3), -EPERM);
    ZT_ERR(zipc_queue_try_push(q, in), -EPERM);
    for (int i = 0; i < 40; i++) /* past the stride: the role stays */
        push_u64(a, next_in++);
    ZT_ERR(zipc_queue_try_push(b, in), -EPERM);
    /* The consumer side stays multi-handle: three handles pop in turn. */
    zipc_queue *pop_by[3] = {a, b, q};
    for (int i = 0; i < 30; i++)
        pop_expect(pop_by[i % 3], next_out++);
    ZT_EQ(ROLE_CONS(rq_roles(seg)), 0);
    zipc_queue_close(a);
    w = rq_roles(seg);
    ZT_EQ(ROLE_PROD(w), 0); /* released */
    ZT_EQ(ROLE_MODE(w), 1);
    ZT_EQ(rq_tail(seg), 41); /* close published the exact tail */
    push_u64(b, next_in++);
    assert_holder_is_this_process(seg, ROLE_PROD(rq_roles(seg)));
    ZT_ERR(zipc_queue_try_push(q, in), -EPERM);
    for (int i = 0; i < 3; i++) {
        ZT_EQ(zipc_queue_try_push_batch(b, in, 3), 3);
        for (int j = 0; j < 3; j++)
            in[j] += 3;
    }
    uint64_t v;
    for (; next_out < next_in; next_out++)
        pop_expect((next_out & 1) ? q : b, next_out);
    for (uint64_t want = 100; want < 109; want++) {
        ZT_OK(zipc_queue_try_pop(q, &v));
        ZT_EQ_U64(v, want);
    }
    ZT_ERR(zipc_queue_try_pop(q, &v), -EAGAIN);
    zipc_queue_close(b);
    ZT_EQ(ROLE_PROD(rq_roles(seg)), 0);
    ZT_EQ(rq_tail(seg), 51);
    ZT_EQ(rq_head(seg), 51);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_consumer_role_belongs_to_the_first_popping_handle_until_it_closes, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *a, *b;
    uint64_t v, out[4], next_in = 0, next_out = 0;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SC, &q));
    a = rq_open(seg, 8);
    b = rq_open(seg, 8);
    /* The producer side stays multi-handle. */
    zipc_queue *push_by[3] = {q, a, b};
    for (int i = 0; i < 60; i++)
        push_u64(push_by[i % 3], next_in++);
    ZT_EQ(ROLE_PROD(rq_roles(seg)), 0);
    pop_expect(a, next_out++);
    uint32_t w = rq_roles(seg);
    ZT_EQ(ROLE_MODE(w), 2);
    assert_holder_is_this_process(seg, ROLE_CONS(w));
    ZT_ERR(zipc_queue_try_pop(b, &v), -EPERM);
    ZT_ERR(zipc_queue_try_pop_batch(b, out, 4), -EPERM);
    ZT_ERR(zipc_queue_try_pop(q, &v), -EPERM);
    for (int i = 0; i < 35; i++)
        pop_expect(a, next_out++);
    ZT_EQ(zipc_queue_try_pop_batch(a, out, 4), 4);
    for (int j = 0; j < 4; j++)
        ZT_EQ_U64(out[j], next_out++);
    ZT_ERR(zipc_queue_try_pop(b, &v), -EPERM);
    zipc_queue_close(a);
    ZT_EQ(ROLE_CONS(rq_roles(seg)), 0);
    ZT_EQ(rq_head(seg), 40); /* close published the exact head */
    while (next_out < next_in)
        pop_expect(b, next_out++);
    ZT_ERR(zipc_queue_try_pop(b, &v), -EAGAIN);
    ZT_ERR(zipc_queue_try_pop(q, &v), -EPERM);
    zipc_queue_close(b);
    ZT_EQ(rq_head(seg), 60);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_producer_and_consumer_roles_may_be_held_by_one_handle, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *o;
    uint64_t v;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SPSC, &q));
    o = rq_open(seg, 8);
    for (uint64_t i = 0; i < 100; i++) {
        push_u64(q, i);
        pop_expect(q, i);
    }
    uint32_t w = rq_roles(seg);
    ZT_EQ(ROLE_MODE(w), 3);
    assert_holder_is_this_process(seg, ROLE_PROD(w));
    ZT_EQ(ROLE_PROD(w), ROLE_CONS(w)); /* one handle, one row */
    ZT_ERR(zipc_queue_try_push(o, &v), -EPERM);
    ZT_ERR(zipc_queue_try_pop(o, &v), -EPERM);
    zipc_queue_close(q);
    w = rq_roles(seg);
    ZT_EQ(w, 3); /* both released, mode kept */
    ZT_EQ(rq_head(seg), 100);
    ZT_EQ(rq_tail(seg), 100);
    push_u64(o, 7);
    pop_expect(o, 7);
    zipc_queue_close(o);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_queue_through_a_readonly_mapping_gets_erofs_and_takes_no_role, ZT_FAST)
{
    zipc_segment *seg, *ro;
    zipc_queue *q, *r;
    uint64_t v = 1;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, SPSC, &q));
    ZT_OK(zipc_segment_open_ex(zt_name(NULL), ZIPC_SEGMENT_READONLY, &ro));
    ZT_OK(zipc_queue_open(ro, "q", 8, &r));
    ZT_ERR(zipc_queue_try_push(r, &v), -EROFS);
    ZT_ERR(zipc_queue_try_pop(r, &v), -EROFS);
    ZT_ERR(zipc_queue_push(r, &v, 0), -EROFS);
    ZT_ERR(zipc_queue_pop(r, &v, 0), -EROFS);
    ZT_EQ(rq_roles(seg), 3);
    push_u64(q, 5);
    pop_expect(q, 5);
    zipc_queue_close(r);
    zipc_queue_close(q);
    zipc_segment_close(ro);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_handle_without_an_owner_row_cannot_take_a_single_role, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *h[65];
    uint64_t v = 3;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SP, &h[0]));
    uint32_t nrows = rq_nrows(seg);
    ZT_ASSERT(nrows >= 1 && nrows < 65);
    for (uint32_t i = 1; i <= nrows; i++)
        ZT_OK(zipc_queue_open(seg, "q", 8, &h[i]));
    /* h[nrows] found every row taken: it can still pop (multi side), not push. */
    ZT_ERR(zipc_queue_try_push(h[nrows], &v), -EPERM);
    ZT_EQ(ROLE_PROD(rq_roles(seg)), 0);
    push_u64(h[nrows - 1], 9);
    pop_expect(h[nrows], 9);
    for (uint32_t i = 0; i <= nrows; i++)
        zipc_queue_close(h[i]);
    zipc_segment_close(seg);
}

/* Across processes: a holder in another process keeps its role while it is
 * alive and its handle open; once it closes, this process takes it. */
struct holder_arg {
    const char *seg;
    bool consumer; /* hold the consumer role (else the producer role) */
    int to_parent, from_parent;
};

static void say(int fd) { ZT_ASSERT(write(fd, "x", 1) == 1); }
static void hear(int fd)
{
    char c;
    ZT_ASSERT(read(fd, &c, 1) == 1);
}

static void remote_holder(void *p)
{
    const struct holder_arg *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    if (a->consumer)
        pop_expect(q, 0);
    else
        push_u64(q, 0);
    say(a->to_parent); /* holding */
    hear(a->from_parent);
    zipc_queue_close(q);
    say(a->to_parent); /* released */
    hear(a->from_parent);
    zipc_segment_close(seg);
}

static void remote_role(bool consumer)
{
    zipc_segment *seg;
    zipc_queue *q;
    int up[2], down[2];
    ZT_ASSERT(pipe(up) == 0 && pipe(down) == 0);
    struct holder_arg a = {zt_name(consumer ? "c" : "p"), consumer, up[1], down[0]};
    ZT_OK(zipc_segment_create(a.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, consumer ? SC : SP, &q));
    uint64_t v;
    if (consumer)
        push_u64(q, 0);
    pid_t pid = zt_fork(remote_holder, &a);
    hear(up[0]);
    uint32_t w = rq_roles(seg);
    uint32_t holder = consumer ? ROLE_CONS(w) : ROLE_PROD(w);
    ZT_ASSERT(holder != 0 && holder <= rq_nrows(seg));
    ZT_EQ(rq_row_pid(seg, holder - 1), pid);
    if (consumer) {
        push_u64(q, 1); /* the other side is shared */
        ZT_ERR(zipc_queue_try_pop(q, &v), -EPERM);
        ZT_ERR(zipc_queue_try_pop_batch(q, &v, 1), -EPERM);
    } else {
        ZT_ERR(zipc_queue_try_push(q, &(uint64_t){1}), -EPERM);
        ZT_ERR(zipc_queue_try_push_batch(q, &(uint64_t){1}, 1), -EPERM);
        pop_expect(q, 0); /* the other side is shared */
    }
    say(down[1]);
    hear(up[0]);
    w = rq_roles(seg);
    ZT_EQ(consumer ? ROLE_CONS(w) : ROLE_PROD(w), 0);
    if (consumer) {
        ZT_EQ(rq_head(seg), 1); /* close published the exact head */
        pop_expect(q, 1);
    } else {
        ZT_EQ(rq_tail(seg), 1);
        push_u64(q, 1);
        pop_expect(q, 1);
    }
    say(down[1]);
    zt_wait_ok(pid);
    zipc_queue_close(q);
    zipc_segment_close(seg);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

ZTEST(queue_roles_single_role_held_in_another_live_process_is_eperm_here_until_it_closes, ZT_FAST)
{
    remote_role(false);
    remote_role(true);
}

/* A blocking call cannot wait for a role: a holder that never closes would
 * make it wait forever. It returns -EPERM at once, whatever the timeout. */
static void blocking_eperm_body(void *arg)
{
    (void)arg;
    alarm(5);
    zipc_segment *seg;
    zipc_queue *a, *b;
    uint64_t v = 1, many[2] = {1, 2};
    ZT_OK(zipc_segment_create(zt_name("b"), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SPSC, &a));
    b = rq_open(seg, 8);
    push_u64(a, 1);
    pop_expect(a, 1);
    int64_t t0 = zt_now_ns();
    ZT_ERR(zipc_queue_push(b, &v, 0), -EPERM);
    ZT_ERR(zipc_queue_push(b, &v, 20 * MS), -EPERM);
    ZT_ERR(zipc_queue_push(b, &v, ZIPC_WAIT_FOREVER), -EPERM);
    ZT_ERR(zipc_queue_push_batch(b, many, 2, ZIPC_WAIT_FOREVER), -EPERM);
    ZT_ERR(zipc_queue_pop(b, &v, 20 * MS), -EPERM);
    ZT_ERR(zipc_queue_pop(b, &v, ZIPC_WAIT_FOREVER), -EPERM);
    ZT_ERR(zipc_queue_pop_batch(b, many, 2, ZIPC_WAIT_FOREVER), -EPERM);
    ZT_ASSERT(zt_now_ns() - t0 < SEC);
    zipc_queue_close(b);
    zipc_queue_close(a);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_blocking_calls_on_a_single_role_held_elsewhere_return_eperm_without_waiting, ZT_FAST)
{
    zt_wait_ok(zt_fork(blocking_eperm_body, NULL));
}

/* Two processes push at the same moment through their own handles: exactly
 * one becomes the producer; the other sees -EPERM while the winner is open. */
struct racer_arg {
    const char *seg;
    uint64_t val;
    zt_gate *go, *done;
    int res_fd;
};

static void role_racer(void *p)
{
    const struct racer_arg *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    zt_gate_wait(a->go);
    int r = zipc_queue_try_push(q, &a->val);
    ZT_ASSERT(write(a->res_fd, &r, sizeof r) == (ssize_t)sizeof r);
    zt_gate_wait(a->done);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_exactly_one_of_two_processes_racing_for_the_single_producer_role_gets_it, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SP, &q));
    uint32_t rounds = (uint32_t)zt_env_u64("ZIPC_ROLES_RACE_ROUNDS", 20);
    uint32_t wins[2] = {0, 0};
    for (uint32_t round = 0; round < rounds; round++) {
        zt_gate go, done;
        int res[2];
        zt_gate_init(&go);
        zt_gate_init(&done);
        ZT_ASSERT(pipe(res) == 0);
        struct racer_arg a[2];
        pid_t pids[2];
        for (int i = 0; i < 2; i++) {
            a[i] = (struct racer_arg){name, 1000 * round + (uint64_t)i, &go, &done, res[1]};
            pids[i] = zt_fork(role_racer, &a[i]);
        }
        zt_gate_open(&go);
        int r[2];
        for (int i = 0; i < 2; i++)
            ZT_ASSERT(read(res[0], &r[i], sizeof r[i]) == (ssize_t)sizeof r[i]);
        ZT_ASSERT((r[0] == 0 && r[1] == -EPERM) || (r[0] == -EPERM && r[1] == 0));
        zt_gate_open(&done);
        for (int i = 0; i < 2; i++)
            zt_wait_ok(pids[i]);
        close(res[0]);
        close(res[1]);
        uint64_t v;
        ZT_OK(zipc_queue_try_pop(q, &v));
        ZT_ASSERT(v / 1000 == round && v % 1000 < 2);
        wins[v % 1000]++;
        ZT_ERR(zipc_queue_try_pop(q, &v), -EAGAIN);
        ZT_EQ(ROLE_PROD(rq_roles(seg)), 0);
    }
    printf("    %u rounds: first racer won %u, second %u\n", rounds, wins[0], wins[1]);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- streams between processes --------------------------------------------- */

struct flow {
    const char *seg;
    uint32_t nprod, ncons;
    uint64_t items; /* per producer */
    uint32_t id;
    zt_gate *gate;
};

enum { F_CONSUMED, F_SUM, F_N };

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Pushes payloads (id, 0..items-1), mixing single and batch, blocking and
 * non-blocking calls. */
static void flow_producer(void *p)
{
    const struct flow *f = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(f->seg, &seg));
    zipc_queue *q = rq_open(seg, sizeof(zt_payload));
    if (f->gate)
        zt_gate_wait(f->gate);
    zt_payload buf[8];
    uint64_t i = 0, rng = 0x9e3779b97f4a7c15ULL * (f->id + 1);
    while (i < f->items) {
        uint64_t x = rng_next(&rng);
        uint32_t n = 1 + (uint32_t)((x >> 8) % 8), k = 0;
        if (n > f->items - i)
            n = (uint32_t)(f->items - i);
        for (uint32_t j = 0; j < n; j++)
            buf[j] = zt_payload_make(f->id, i + j);
        int r;
        switch (x % 5) {
        case 0:
            while ((r = zipc_queue_try_push(q, buf)) == -EAGAIN)
                sched_yield();
            ZT_OK(r);
            k = 1;
            break;
        case 1:
            ZT_OK(zipc_queue_push(q, buf, 10 * SEC));
            k = 1;
            break;
        case 2:
            r = zipc_queue_push_batch(q, buf, n, 10 * SEC);
            ZT_ASSERT(r >= 1 && (uint32_t)r <= n);
            k = (uint32_t)r;
            break;
        default:
            while ((r = zipc_queue_try_push_batch(q, buf, n)) == -EAGAIN)
                sched_yield();
            ZT_ASSERT(r >= 1 && (uint32_t)r <= n);
            k = (uint32_t)r;
            break;
        }
        i += k;
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* Pops until every producer's items were consumed (by anyone), checking
 * checksums, per-producer order (consecutive when it is the only consumer),
 * and that nothing arrives twice. */
static void flow_consumer(void *p)
{
    const struct flow *f = p;
    zipc_segment *seg;
    zipc_array *seen, *ctl;
    ZT_OK(zipc_segment_open(f->seg, &seg));
    zipc_queue *q = rq_open(seg, sizeof(zt_payload));
    ZT_OK(zipc_array_open(seg, "seen", 4, &seen));
    ZT_OK(zipc_array_open(seg, "ctl", 8, &ctl));
    if (f->gate)
        zt_gate_wait(f->gate);
    int64_t last[16];
    ZT_ASSERT(f->nprod <= 16);
    for (int i = 0; i < 16; i++)
        last[i] = -1;
    uint64_t total = f->nprod * f->items, rng = 0x51ed270b27f0a2c3ULL * (f->id + 1), got;
    int64_t give_up = zt_now_ns() + 100 * SEC;
    zt_payload buf[8];
    for (;;) {
        ZT_ASSERT(zt_now_ns() < give_up);
        uint64_t x = rng_next(&rng);
        uint32_t n = 1 + (uint32_t)((x >> 8) % 8);
        int r;
        switch (x % 4) {
        case 0: r = zipc_queue_try_pop(q, buf); r = r ? r : 1; break;
        case 1: r = zipc_queue_pop(q, buf, 20 * MS); r = r ? r : 1; break;
        case 2: r = zipc_queue_pop_batch(q, buf, n, 20 * MS); break;
        default: r = zipc_queue_try_pop_batch(q, buf, n); break;
        }
        if (r > 0) {
            for (int j = 0; j < r; j++) {
                const zt_payload *pl = &buf[j];
                ZT_ASSERT(zt_payload_ok(pl));
                ZT_ASSERT(pl->producer < f->nprod && pl->seq < f->items);
                if (f->ncons == 1 && (int64_t)pl->seq != last[pl->producer] + 1)
                    zt_fail(__FILE__, __LINE__, "producer %u: got seq %llu after %lld",
                            pl->producer, (unsigned long long)pl->seq,
                            (long long)last[pl->producer]);
                ZT_ASSERT((int64_t)pl->seq > last[pl->producer]); /* per-producer FIFO */
                last[pl->producer] = (int64_t)pl->seq;
                uint32_t old;
                ZT_OK(zipc_array_fetch_add_u32(seen, pl->producer * f->items + pl->seq, 1, &old));
                if (old != 0)
                    zt_fail(__FILE__, __LINE__, "duplicate: producer %u seq %llu", pl->producer,
                            (unsigned long long)pl->seq);
                ZT_OK(zipc_array_fetch_add_u64(ctl, F_SUM, pl->seq, NULL));
            }
            ZT_OK(zipc_array_fetch_add_u64(ctl, F_CONSUMED, (uint64_t)r, NULL));
            continue;
        }
        ZT_ASSERT(r == -EAGAIN || r == -ETIMEDOUT);
        ZT_OK(zipc_array_load_u64(ctl, F_CONSUMED, &got));
        if (got == total)
            break;
        if (r == -EAGAIN)
            sched_yield();
    }
    zipc_queue_close(q);
    zipc_array_close(seen);
    zipc_array_close(ctl);
    zipc_segment_close(seg);
}

static void flow_setup(const char *name, uint32_t flags, uint32_t cap, uint64_t entries,
                       uint32_t base)
{
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *a;
    ZT_OK(zipc_segment_create(name, (1 << 20) + entries * 4, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", sizeof(zt_payload), cap, flags, &q));
    zipc_queue_close(q); /* never took a role */
    if (base)
        rq_set_counters(seg, base);
    ZT_OK(zipc_array_create(seg, "seen", 4, entries, &a));
    zipc_array_close(a);
    ZT_OK(zipc_array_create(seg, "ctl", 8, F_N, &a));
    zipc_array_close(a);
    zipc_segment_close(seg);
}

/* Every element exactly once, the sum right, and (every handle closed) the
 * stored counters exact. */
static void flow_verify(const char *name, uint32_t nprod, uint64_t items, uint32_t base)
{
    zipc_segment *seg;
    zipc_array *seen, *ctl;
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_OK(zipc_array_open(seg, "seen", 4, &seen));
    ZT_OK(zipc_array_open(seg, "ctl", 8, &ctl));
    for (uint64_t i = 0; i < nprod * items; i++) {
        uint32_t v;
        ZT_OK(zipc_array_load_u32(seen, i, &v));
        if (v != 1)
            zt_fail(__FILE__, __LINE__, "producer %llu seq %llu seen %u times",
                    (unsigned long long)(i / items), (unsigned long long)(i % items), v);
    }
    uint64_t consumed, sum;
    ZT_OK(zipc_array_load_u64(ctl, F_CONSUMED, &consumed));
    ZT_OK(zipc_array_load_u64(ctl, F_SUM, &sum));
    ZT_EQ_U64(consumed, nprod * items);
    ZT_EQ_U64(sum, nprod * (items * (items - 1) / 2));
    uint32_t end = base + (uint32_t)(nprod * items);
    ZT_EQ_U64(rq_head(seg), end);
    ZT_EQ_U64(rq_tail(seg), end);
    zipc_array_close(seen);
    zipc_array_close(ctl);
    zipc_segment_close(seg);
}

static void run_flow(uint32_t flags, uint32_t nprod, uint32_t ncons, uint64_t items, uint32_t cap,
                     uint32_t base)
{
    const char *name = fresh_name();
    printf("    flags %u: %u producer(s) x %llu, %u consumer(s), capacity %u, counters from %u\n",
           flags, nprod, (unsigned long long)items, ncons, cap, base);
    flow_setup(name, flags, cap, nprod * items, base);
    zt_gate gate;
    zt_gate_init(&gate);
    struct flow w[16];
    pid_t pids[16];
    ZT_ASSERT(nprod + ncons <= 16);
    for (uint32_t i = 0; i < nprod + ncons; i++) {
        w[i] = (struct flow){name, nprod, ncons, items, i < nprod ? i : i - nprod, &gate};
        pids[i] = zt_fork(i < nprod ? flow_producer : flow_consumer, &w[i]);
    }
    zt_gate_open(&gate);
    for (uint32_t i = 0; i < nprod + ncons; i++)
        zt_wait_ok(pids[i]);
    flow_verify(name, nprod, items, base);
}

static uint64_t flow_items(void) { return zt_env_u64("ZIPC_STRESS_ITEMS", 100000) / 5; }

ZTEST(queue_roles_spsc_processes_deliver_every_message_once_in_exact_order, ZT_MEDIUM)
{
    run_flow(SPSC, 1, 1, flow_items(), 16, 0);
    run_flow(SPSC, 1, 1, flow_items() / 4, 2, 0); /* full and empty all the time */
}

ZTEST(queue_roles_single_producer_feeds_several_consumer_processes_without_loss_or_duplicates, ZT_MEDIUM)
{
    run_flow(SP, 1, 2, flow_items(), 16, 0);
    run_flow(SP, 1, 4, flow_items() / 4, 4, 0); /* more processes than cores */
}

ZTEST(queue_roles_several_producer_processes_feed_a_single_consumer_in_per_producer_order, ZT_MEDIUM)
{
    run_flow(SC, 2, 1, flow_items() / 2, 16, 0);
    run_flow(SC, 4, 1, flow_items() / 8, 4, 0); /* more processes than cores */
}

/* ---- counters across 2^32 --------------------------------------------------- */

ZTEST(queue_roles_single_counters_cross_2_pow_32_and_are_stored_exactly_at_close, ZT_FAST)
{
    static const uint32_t flag_sets[3] = {SP, SC, SPSC};
    for (int f = 0; f < 3; f++) {
        zipc_segment *seg;
        zipc_queue *q;
        char suffix[16];
        snprintf(suffix, sizeof suffix, "w%d", f);
        ZT_OK(zipc_segment_create(zt_name(suffix), 1 << 16, 0, &seg));
        ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, flag_sets[f], &q));
        zipc_queue_close(q);
        uint32_t base = UINT32_MAX - 44; /* not a multiple of the capacity */
        rq_set_counters(seg, base);
        zipc_queue *p = rq_open(seg, 8), *c = rq_open(seg, 8);
        uint64_t next_in = 0, next_out = 0, v, batch[5];
        for (int round = 0; round < 12; round++) {
            /* Fill with singles and batches until full. */
            for (;;) {
                uint64_t in[3] = {next_in, next_in + 1, next_in + 2};
                int r = (round & 1) ? zipc_queue_try_push_batch(p, in, 3)
                                    : (zipc_queue_try_push(p, in) == 0 ? 1 : -EAGAIN);
                if (r == -EAGAIN)
                    break;
                ZT_ASSERT(r >= 1);
                next_in += (uint64_t)r;
            }
            ZT_EQ_U64(next_in - next_out, 8);
            ZT_EQ(zipc_queue_try_pop_batch(c, batch, 5), 5);
            for (int j = 0; j < 5; j++)
                ZT_EQ_U64(batch[j], next_out++);
            while (zipc_queue_try_pop(c, &v) == 0)
                ZT_EQ_U64(v, next_out++);
            ZT_EQ_U64(next_out, next_in);
        }
        zipc_queue_close(p);
        zipc_queue_close(c);
        ZT_EQ_U64(rq_head(seg), (uint32_t)(base + next_in)); /* wrapped, and exact */
        ZT_EQ_U64(rq_tail(seg), (uint32_t)(base + next_in));
        ZT_ASSERT(rq_tail(seg) < 64);
        zipc_queue_close(rq_open(seg, 8));
        zipc_segment_close(seg);
    }
}

/* A new producer knows the slots below head + capacity are free (single
 * consumer, docs/queue.md A3). Until it has read head it knows nothing: just
 * below the 2^32 wrap, a limit never read (0) must not pass for one. */
ZTEST(queue_roles_spsc_producer_taking_over_just_below_the_2_pow_32_wrap_overwrites_nothing, ZT_FAST)
{
    for (uint32_t below = 1; below <= 12; below++) {
        zipc_segment *seg;
        zipc_queue *q, *a, *b;
        char suffix[16];
        snprintf(suffix, sizeof suffix, "b%u", below);
        ZT_OK(zipc_segment_create(zt_name(suffix), 1 << 16, 0, &seg));
        ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, SPSC, &q));
        zipc_queue_close(q);
        uint32_t base = (uint32_t)(0 - below) - 3; /* the 3 pushes end `below` short of 2^32 */
        rq_set_counters(seg, base);
        a = rq_open(seg, 8);
        for (uint64_t i = 0; i < 3; i++)
            push_u64(a, i);
        zipc_queue_close(a); /* tail = 2^32 - below, 3 elements in 4 slots */
        b = rq_open(seg, 8);
        uint64_t v = 3;
        while (zipc_queue_try_push(b, &v) == 0)
            v++;
        if (v != 4)
            zt_fail(__FILE__, __LINE__, "tail 2^32 - %u, 1 slot free: pushed %llu elements",
                    below, (unsigned long long)(v - 3));
        for (uint64_t i = 0; i < 4; i++)
            pop_expect(b, i);
        ZT_ERR(zipc_queue_try_pop(b, &v), -EAGAIN);
        zipc_queue_close(b);
        ZT_EQ_U64(rq_tail(seg), (uint32_t)(base + 4));
        ZT_EQ_U64(rq_head(seg), (uint32_t)(base + 4));
        zipc_segment_close(seg);
    }
}

ZTEST(queue_roles_spsc_processes_stream_across_the_2_pow_32_wrap, ZT_FAST)
{
    uint64_t items = flow_items() / 20;
    run_flow(SPSC, 1, 1, items, 8, UINT32_MAX - (uint32_t)(items / 2));
    run_flow(SP, 1, 2, items, 4, UINT32_MAX - (uint32_t)(items / 3));
    run_flow(SC, 2, 1, items / 2, 4, UINT32_MAX - (uint32_t)(items / 3));
}

/* ---- takeover from a holder that exited or was killed ----------------------- */

/* The victim process takes both roles of an SPSC queue of u64 through two
 * handles, pushes 0..pushes-1, popping one after every POP_EVERY pushes
 * (and whenever the queue is full), then either leaves without closing
 * (crash 0) or dies at the crash point CRASH inside one more operation:
 * 220 / 221 pushing the value PUSHES, 230 / 231 popping. */
struct script {
    const char *seg;
    uint32_t pushes, pop_every;
    int crash;
    uint64_t *popped; /* shared: how many the victim popped before dying */
};

static void script_victim(void *p)
{
    const struct script *s = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(s->seg, &seg));
    zipc_queue *pq = rq_open(seg, 8), *cq = rq_open(seg, 8);
    uint32_t cap = zipc_queue_capacity(pq);
    uint64_t out = 0, v;
    for (uint64_t i = 0; i < s->pushes; i++) {
        int r;
        while ((r = zipc_queue_try_push(pq, &i)) == -EAGAIN) {
            ZT_OK(zipc_queue_try_pop(cq, &v));
            ZT_EQ_U64(v, out++);
        }
        ZT_OK(r);
        if (s->pop_every && (i + 1) % s->pop_every == 0) {
            ZT_OK(zipc_queue_try_pop(cq, &v));
            ZT_EQ_U64(v, out++);
        }
    }
    if ((s->crash == 220 || s->crash == 221) && s->pushes - out == cap) {
        ZT_OK(zipc_queue_try_pop(cq, &v)); /* room for the fatal push */
        ZT_EQ_U64(v, out++);
    }
    __atomic_store_n(s->popped, out, __ATOMIC_SEQ_CST);
    if (s->crash == 220 || s->crash == 221) {
        uint64_t x = s->pushes;
        zipc__crash_at = s->crash;
        int r = zipc_queue_try_push(pq, &x);
        zt_fail(__FILE__, __LINE__, "crash point %d not reached (push: %d)", s->crash, r);
    }
    if (s->crash == 230 || s->crash == 231) {
        ZT_ASSERT(out < s->pushes);
        zipc__crash_at = s->crash;
        int r = zipc_queue_try_pop(cq, &v);
        zt_fail(__FILE__, __LINE__, "crash point %d not reached (pop: %d)", s->crash, r);
    }
    _exit(0); /* without closing: both roles stay with a process that is gone */
}

/* Run the victim on a fresh queue (counters from BASE), then take both roles
 * over with new handles and check what comes out. RECOVER: call
 * zipc_queue_recover first (then the crashed element of 220 / 230 may or may
 * not come out, but once at most). */
static void run_script(uint32_t cap, uint32_t base, uint32_t pushes, uint32_t pop_every,
                       int crash, bool recover)
{
    zipc_segment *seg;
    zipc_queue *q;
    char suffix[64];
    snprintf(suffix, sizeof suffix, "s%u-%u-%u-%u-%d", cap, base, pushes, pop_every, crash);
    uint64_t *popped = shared_mem(4096);
    struct script s = {zt_name(suffix), pushes, pop_every, crash, popped};
    ZT_OK(zipc_segment_create(s.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, cap, SPSC, &q));
    if (base)
        rq_set_counters(seg, base);
    int st = zt_wait(zt_fork(script_victim, &s));
    if (st != (crash ? 128 + SIGKILL : 0))
        zt_fail(__FILE__, __LINE__, "cap %u base %u pushes %u pop_every %u crash %d: victim status %d",
                cap, base, pushes, pop_every, crash, st);
    uint64_t out = __atomic_load_n(popped, __ATOMIC_SEQ_CST);
    if (recover) {
        zipc_queue_report rep;
        ZT_OK(zipc_queue_recover(q, &rep));
    }
    /* What must come out: the victim's elements from OUT on (230: the one it
     * was copying again; 231: it was consumed), up to its last push (221:
     * the fatal one was published), then ours from pushes + 1 on. */
    uint64_t first = out + (crash == 231 ? 1 : 0);
    uint64_t last = pushes + (crash == 221 ? 1 : 0); /* exclusive */
    uint64_t extra = 3 * cap + 40, ours = pushes + 1;
    size_t nwant = (size_t)(last - first + extra), ngot = 0, cap_got = nwant + 8;
    uint64_t *want = malloc(nwant * sizeof *want), *got = malloc(cap_got * sizeof *got);
    ZT_ASSERT(want && got);
    for (size_t i = 0; i < nwant; i++)
        want[i] = i < last - first ? first + i : ours + (i - (last - first));
    /* Take both roles over; push ours, popping whenever the queue is full. */
    zipc_queue *pq = rq_open(seg, 8), *cq = rq_open(seg, 8);
    uint64_t v;
    for (uint64_t k = 0; k < extra;) {
        int r = zipc_queue_try_push(pq, &(uint64_t){ours + k});
        if (r == 0) {
            k++;
            continue;
        }
        if (r != -EAGAIN)
            zt_fail(__FILE__, __LINE__, "%s: push returned %d", suffix, r);
        r = zipc_queue_try_pop(cq, &v);
        if (r != 0)
            zt_fail(__FILE__, __LINE__, "%s: full, but pop returned %d after %zu elements",
                    suffix, r, ngot);
        ZT_ASSERT(ngot < cap_got);
        got[ngot++] = v;
    }
    while (ngot < cap_got && zipc_queue_try_pop(cq, &got[ngot]) == 0)
        ngot++;
    /* With recover, the element the victim died with (220: fully written,
     * unpublished; 230: copied, unreleased) may come out once, in its place. */
    bool maybe = recover && (crash == 220 || crash == 230);
    size_t at = crash == 220 ? (size_t)(last - first) : 0;
    uint64_t maybe_val = crash == 220 ? pushes : out;
    bool match = ngot == nwant;
    for (size_t i = 0; match && i < nwant; i++)
        match = got[i] == want[i];
    if (!match && maybe && ngot == nwant + 1 && got[at] == maybe_val) {
        match = true;
        for (size_t i = 0, j = 0; match && i < ngot; i++)
            if (i != at)
                match = got[i] == want[j++];
    }
    if (!match) {
        size_t i = 0;
        while (i < ngot && i < nwant && got[i] == want[i])
            i++;
        zt_fail(__FILE__, __LINE__,
                "%s (cap %u base %u pushes %u pop_every %u crash %d recover %d, victim popped "
                "%llu): %zu elements came out, want %zu; first difference at %zu: got %llu, "
                "want %llu",
                suffix, cap, base, pushes, pop_every, crash, recover, (unsigned long long)out,
                ngot, nwant, i, i < ngot ? (unsigned long long)got[i] : 0ULL,
                i < nwant ? (unsigned long long)want[i] : 0ULL);
    }
    free(want);
    free(got);
    zipc_queue_close(pq);
    zipc_queue_close(cq);
    if (!recover) {
        /* Stored exactly: every published counter, no hole. */
        uint32_t end = base + (uint32_t)(pushes + (crash == 221 ? 1 : 0) + extra);
        if (crash == 220)
            end = base + (uint32_t)(pushes + extra); /* the unpublished slot was reused */
        if (rq_tail(seg) != end || rq_head(seg) != end)
            zt_fail(__FILE__, __LINE__, "%s: closed with tail %u head %u, want both %u", suffix,
                    rq_tail(seg), rq_head(seg), end);
    } else {
        ZT_EQ_U64(rq_head(seg), rq_tail(seg));
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
    zipc_segment_unlink(s.seg);
    munmap(popped, 4096);
}

static const uint32_t script_pushes[] = {1, 5, 31, 32, 33, 100};

/* POP_EVERY 1 or 2 keeps a capacity-4 queue from ever filling or emptying
 * under its holders, so the stored counters lag by more than the capacity
 * (up to the stride) when the next holder looks for the real ones. */
ZTEST(queue_roles_single_roles_of_a_holder_that_exited_without_closing_are_taken_over_losing_nothing, ZT_FAST)
{
    static const uint32_t pop_every[] = {0, 1, 2, 3};
    for (size_t i = 0; i < sizeof script_pushes / sizeof script_pushes[0]; i++)
        for (uint32_t cap = 4; cap <= 64; cap *= 16)
            for (int b = 0; b < 2; b++)
                for (size_t e = 0; e < sizeof pop_every / sizeof pop_every[0]; e++)
                    run_script(cap, b ? UINT32_MAX - 37 : 0, script_pushes[i], pop_every[e], 0,
                               false);
}

static void crash_scripts(int point)
{
    /* A consumer must have something left to die popping: pop_every >= 2. */
    uint32_t every[2] = {point < 230 ? 1 : 2, 3};
    for (size_t i = 0; i < sizeof script_pushes / sizeof script_pushes[0]; i++)
        for (uint32_t cap = 4; cap <= 64; cap *= 16)
            for (int e = 0; e < 2; e++) {
                run_script(cap, 0, script_pushes[i], every[e], point, false);
                run_script(cap, UINT32_MAX - 37, script_pushes[i], every[e] + 2 * (uint32_t)e,
                           point, false);
            }
}

ZTEST(queue_roles_single_producer_killed_mid_push_loses_only_an_unpublished_element, ZT_FAST)
{
    crash_scripts(220);
    crash_scripts(221);
}

ZTEST(queue_roles_single_consumer_killed_mid_pop_redelivers_only_an_unreleased_element, ZT_FAST)
{
    crash_scripts(230);
    crash_scripts(231);
}

ZTEST(queue_roles_recover_after_a_dead_single_holder_leaves_order_and_no_duplicates, ZT_FAST)
{
    static const int points[] = {0, 220, 221, 230, 231};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        run_script(8, 0, 13, 3, points[i], true);
        run_script(4, 0, 45, 2, points[i], true);
        run_script(64, UINT32_MAX - 37, 40, 5, points[i], true);
    }
}

/* A holder that has exited but was not reaped yet (a zombie) never runs
 * again: its role is taken over at once. */
static void zombie_holder(void *p)
{
    const char *name = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(name, &seg));
    zipc_queue *q = rq_open(seg, 8);
    for (uint64_t i = 0; i < 5; i++)
        push_u64(q, i);
    pop_expect(q, 0);
    _exit(0);
}

ZTEST(queue_roles_single_roles_of_a_zombie_holder_are_taken_over_before_it_is_reaped, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SPSC, &q));
    pid_t pid = zt_fork(zombie_holder, (void *)name);
    siginfo_t si;
    ZT_ASSERT(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0); /* a zombie now */
    ZT_EQ(zt_proc_state(pid), 'Z');
    push_u64(q, 5);
    for (uint64_t i = 1; i <= 5; i++)
        pop_expect(q, i);
    ZT_EQ(zt_wait(pid), 0);
    zipc_queue_close(q);
    ZT_EQ(rq_tail(seg), 6);
    ZT_EQ(rq_head(seg), 6);
    zipc_segment_close(seg);
}

/* The dead holder's owner row goes back to the pool (zipc_queue_recover
 * frees rows of dead processes; a full table reuses them) and a new handle
 * of a live process gets it. The roles word still names that row, but its
 * holder is gone: the role must not stay blocked by a handle that never
 * took it. */
static void holder_then_exit(void *p)
{
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(p, &seg));
    zipc_queue *q = rq_open(seg, 8);
    for (uint64_t i = 0; i < 3; i++)
        push_u64(q, i);
    pop_expect(q, 0);
    _exit(0);
}

static uint32_t row_of_holder_before_exit(zipc_segment *seg, const char *name)
{
    pid_t pid = zt_fork(holder_then_exit, (void *)name);
    ZT_EQ(zt_wait(pid), 0);
    uint32_t w = rq_roles(seg);
    ZT_ASSERT(ROLE_PROD(w) != 0 && ROLE_PROD(w) == ROLE_CONS(w));
    ZT_EQ(rq_row_pid(seg, ROLE_PROD(w) - 1), pid);
    return ROLE_PROD(w) - 1;
}

ZTEST(queue_roles_dead_holders_row_freed_by_recover_hands_the_roles_to_no_new_handle, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *n;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SPSC, &q));
    uint32_t row = row_of_holder_before_exit(seg, name);
    zipc_queue_report rep;
    ZT_OK(zipc_queue_recover(q, &rep));
    printf("    recover freed %u row(s); the dead holder's row now has pid %u\n", rep.rows_freed,
           rq_row_pid(seg, row));
    /* Whether or not this new handle gets the dead holder's row (an
     * implementation may keep a row named in the roles word out of the
     * pool), it must not inherit the roles, nor keep them from q. */
    n = rq_open(seg, 8);
    push_u64(q, 3);
    for (uint64_t i = 1; i <= 3; i++)
        pop_expect(q, i);
    ZT_ERR(zipc_queue_try_push(n, &(uint64_t){9}), -EPERM); /* q holds both roles now */
    ZT_ERR(zipc_queue_try_pop(n, &(uint64_t){0}), -EPERM);
    zipc_queue_close(q);
    push_u64(n, 4);
    pop_expect(n, 4);
    zipc_queue_close(n);
    ZT_EQ(rq_tail(seg), 5);
    ZT_EQ(rq_head(seg), 5);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_full_owner_table_after_a_holder_died_still_lets_another_handle_take_over, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *h[64];
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SPSC, &q));
    uint32_t row = row_of_holder_before_exit(seg, name), nrows = rq_nrows(seg);
    ZT_ASSERT(nrows <= 64);
    /* Fill every free row; the last open may reuse the dead one (or, if the
     * implementation keeps a named row out of the pool, get none). */
    uint32_t k = 0;
    for (; k < nrows - 1; k++)
        ZT_OK(zipc_queue_open(seg, "q", 8, &h[k]));
    printf("    the dead holder's row now has pid %u (this process: %d)\n", rq_row_pid(seg, row),
           (int)getpid());
    push_u64(q, 3);
    for (uint64_t i = 1; i <= 3; i++)
        pop_expect(q, i);
    ZT_ERR(zipc_queue_try_push(h[k - 1], &(uint64_t){9}), -EPERM);
    for (uint32_t i = 0; i < k; i++)
        zipc_queue_close(h[i]);
    zipc_queue_close(q);
    ZT_EQ(rq_tail(seg), 4);
    ZT_EQ(rq_head(seg), 4);
    zipc_segment_close(seg);
}

/* A holder killed while it sleeps in a blocking call (producer on a full
 * queue, consumer on an empty one): the next handle takes over; the element
 * it was waiting to move never moved. */
struct sleeper_arg {
    const char *seg;
    bool producer;
};

static void sleeping_holder(void *p)
{
    const struct sleeper_arg *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    uint64_t v = 4;
    if (a->producer) {
        for (uint64_t i = 0; i < 4; i++)
            push_u64(q, i);
        ZT_OK(zipc_queue_push(q, &v, ZIPC_WAIT_FOREVER));
    } else {
        pop_expect(q, 0);
        ZT_OK(zipc_queue_pop(q, &v, ZIPC_WAIT_FOREVER));
    }
    zt_fail(__FILE__, __LINE__, "the blocked call returned");
}

static void killed_sleeper(bool producer)
{
    zipc_segment *seg;
    zipc_queue *q;
    struct sleeper_arg a = {zt_name(producer ? "p" : "c"), producer};
    ZT_OK(zipc_segment_create(a.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, SPSC, &q));
    if (!producer) {
        zipc_queue *pre = rq_open(seg, 8);
        push_u64(pre, 0);
        zipc_queue_close(pre); /* the producer role is free again */
    }
    pid_t pid = zt_fork(sleeping_holder, &a);
    wait_until_asleep(seg, producer ? WS_NOT_FULL : WS_NOT_EMPTY, pid);
    ZT_ASSERT(kill(pid, SIGKILL) == 0);
    ZT_EQ(zt_wait(pid), 128 + SIGKILL);
    uint64_t next_out = producer ? 0 : 1, next_in = producer ? 5 : 1;
    for (int round = 0; round < 10; round++) {
        if (producer && round == 0)
            for (uint64_t i = 0; i < 4; i++)
                pop_expect(q, next_out++);
        for (int k = 0; k < 3; k++) {
            ZT_OK(zipc_queue_push(q, &next_in, SEC));
            next_in++;
        }
        for (int k = 0; k < 3; k++) {
            uint64_t v;
            ZT_OK(zipc_queue_pop(q, &v, SEC));
            if (producer && next_out == 4)
                next_out = 5; /* 4 was never pushed */
            ZT_EQ_U64(v, next_out++);
        }
    }
    zipc_queue_close(q);
    ZT_EQ_U64(rq_head(seg), rq_tail(seg));
    ZT_EQ_U64(rq_tail(seg), producer ? 34 : 31);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_holders_killed_while_asleep_are_taken_over, ZT_FAST)
{
    killed_sleeper(true);
    killed_sleeper(false);
}

/* Under traffic: the first holder leaves without closing (or is killed at a
 * crash point) after part of the stream; a second process, already trying
 * (-EPERM meanwhile), takes over and the peers see the stream go on in exact
 * order, missing at most what the crash point allows. */
#define NO_SKIP UINT64_MAX

struct relay {
    const char *seg;
    uint64_t first, count;
    int say_fd;      /* >= 0: announce the role once held */
    bool vanish;     /* _exit(0) without closing (after a refusal of the successor) */
    int crash;       /* with vanish: instead, die at this crash point in one more call */
    uint64_t skip;   /* consumer: this value never arrives (NO_SKIP: none) */
    uint64_t *eperm; /* shared: -EPERM answers seen while waiting for the role */
};

/* The first holder leaves only once its successor has been refused. */
static void wait_for_a_refusal(const struct relay *r)
{
    int64_t give_up = zt_now_ns() + 30 * SEC;
    while (__atomic_load_n(r->eperm, __ATOMIC_RELAXED) == 0) {
        ZT_ASSERT(zt_now_ns() < give_up);
        sched_yield();
    }
}

static void relay_producer(void *p)
{
    const struct relay *r = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(r->seg, &seg));
    zipc_queue *q = rq_open(seg, sizeof(zt_payload));
    int64_t give_up = zt_now_ns() + 30 * SEC;
    for (uint64_t i = r->first; i < r->first + r->count; i++) {
        zt_payload pl = zt_payload_make(0, i);
        int rc;
        if (i == r->first) {
            while ((rc = zipc_queue_try_push(q, &pl)) == -EPERM || rc == -EAGAIN) {
                ZT_ASSERT(zt_now_ns() < give_up);
                if (rc == -EPERM)
                    __atomic_fetch_add(r->eperm, 1, __ATOMIC_RELAXED);
                sched_yield();
            }
            ZT_OK(rc);
            if (r->say_fd >= 0)
                say(r->say_fd);
        } else {
            ZT_OK(zipc_queue_push(q, &pl, 10 * SEC));
        }
    }
    if (r->vanish) {
        wait_for_a_refusal(r);
        if (r->crash) {
            zt_payload pl = zt_payload_make(0, r->first + r->count);
            zipc__crash_at = r->crash;
            int rc = zipc_queue_push(q, &pl, 10 * SEC);
            zt_fail(__FILE__, __LINE__, "crash point %d not reached (push: %d)", r->crash, rc);
        }
        _exit(0);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static void relay_consumer(void *p)
{
    const struct relay *r = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(r->seg, &seg));
    zipc_queue *q = rq_open(seg, sizeof(zt_payload));
    int64_t give_up = zt_now_ns() + 30 * SEC;
    zt_payload buf[4];
    uint64_t next = r->first, end = r->first + r->count;
    bool first = true;
    for (;;) {
        if (next == r->skip)
            next++;
        if (next >= end)
            break;
        uint32_t n = (uint32_t)(end - next - (r->skip > next && r->skip < end));
        n = n < 4 ? n : 4;
        if (n == 0)
            n = 1;
        int rc = first ? zipc_queue_try_pop_batch(q, buf, n) : zipc_queue_pop_batch(q, buf, n, 10 * SEC);
        if (first && (rc == -EPERM || rc == -EAGAIN)) {
            ZT_ASSERT(zt_now_ns() < give_up);
            if (rc == -EPERM)
                __atomic_fetch_add(r->eperm, 1, __ATOMIC_RELAXED);
            sched_yield();
            continue;
        }
        ZT_ASSERT(rc >= 1);
        if (first && r->say_fd >= 0)
            say(r->say_fd);
        first = false;
        for (int j = 0; j < rc; j++) {
            if (next == r->skip)
                next++;
            ZT_ASSERT(zt_payload_ok(&buf[j]));
            if (buf[j].seq != next)
                zt_fail(__FILE__, __LINE__, "got seq %llu, want %llu",
                        (unsigned long long)buf[j].seq, (unsigned long long)next);
            next++;
        }
    }
    if (r->vanish) {
        wait_for_a_refusal(r);
        if (r->crash) {
            zipc__crash_at = r->crash;
            int rc = zipc_queue_pop(q, buf, 10 * SEC);
            zt_fail(__FILE__, __LINE__, "crash point %d not reached (pop: %d)", r->crash, rc);
        }
        _exit(0);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* PRODUCERS: the producer role changes hands (else the consumer role), on
 * an SPSC queue, after a third of the stream; CRASH 0: the first holder
 * exits, else it dies at that crash point in one more call. */
static void relay_test(bool producers, int crash)
{
    uint64_t n = zt_env_u64("ZIPC_STRESS_ITEMS", 100000) / 20;
    uint64_t split = n / 3;
    const char *name = fresh_name();
    uint64_t *eperm = shared_mem(4096);
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(name, 1 << 20, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", sizeof(zt_payload), 8, SPSC, &q));
    zipc_queue_close(q);
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    void (*relayed)(void *) = producers ? relay_producer : relay_consumer;
    void (*peer)(void *) = producers ? relay_consumer : relay_producer;
    /* Where the successor starts: after the element a crashed producer was
     * pushing (published or not), at the element a consumer killed at 230
     * had copied (it was not released), after one released at 231. */
    uint64_t resume = split + (crash == 220 || crash == 221 || crash == 231 ? 1 : 0);
    struct relay first = {name, 0, split, fds[1], true, crash, NO_SKIP, eperm};
    struct relay second = {name, resume, n - resume, -1, false, 0, NO_SKIP, eperm};
    struct relay other = {name, 0, n, -1, false, 0, crash == 220 ? split : NO_SKIP, eperm};
    if (crash == 231)
        other.skip = NO_SKIP; /* the producer pushes everything */
    pid_t p1 = zt_fork(relayed, &first);
    pid_t pp = zt_fork(peer, &other);
    hear(fds[0]); /* the first holds the role: the second can only wait for it */
    pid_t p2 = zt_fork(relayed, &second);
    ZT_EQ(zt_wait(p1), crash ? 128 + SIGKILL : 0);
    zt_wait_ok(p2);
    zt_wait_ok(pp);
    printf("    %s, crash %d: %llu elements, role changed hands after %llu; -EPERM seen %llu "
           "times\n",
           producers ? "producer" : "consumer", crash, (unsigned long long)n,
           (unsigned long long)split, (unsigned long long)__atomic_load_n(eperm, __ATOMIC_RELAXED));
    ZT_ASSERT(__atomic_load_n(eperm, __ATOMIC_RELAXED) > 0);
    /* Every counter used once: 220 reused the slot it never published. */
    uint64_t used = crash == 220 ? n - 1 : n;
    ZT_EQ_U64(rq_tail(seg), used);
    ZT_EQ_U64(rq_head(seg), used);
    zipc_segment_close(seg);
    close(fds[0]);
    close(fds[1]);
    munmap(eperm, 4096);
}

ZTEST(queue_roles_single_producer_leaving_mid_stream_is_replaced_by_a_waiting_process_in_order, ZT_MEDIUM)
{
    relay_test(true, 0);
    relay_test(true, 220);
    relay_test(true, 221);
}

ZTEST(queue_roles_single_consumer_leaving_mid_stream_is_replaced_by_a_waiting_process_in_order, ZT_MEDIUM)
{
    relay_test(false, 0);
    relay_test(false, 230);
    relay_test(false, 231);
}

/* The single side changes hands mid-stream while the other side is several
 * processes: SP with two consumers (no loss, no duplicate), SC with two
 * producers (each producer's elements consecutive across both consumers). */
ZTEST(queue_roles_single_producer_replaced_mid_stream_still_feeds_two_consumer_processes, ZT_MEDIUM)
{
    uint64_t n = zt_env_u64("ZIPC_STRESS_ITEMS", 100000) / 20, split = n / 3;
    const char *name = fresh_name();
    uint64_t *eperm = shared_mem(4096);
    flow_setup(name, SP, 8, n, 0);
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    struct relay first = {name, 0, split, fds[1], true, 0, NO_SKIP, eperm};
    struct relay second = {name, split, n - split, -1, false, 0, NO_SKIP, eperm};
    struct flow cons[2] = {{name, 1, 2, n, 0, NULL}, {name, 1, 2, n, 1, NULL}};
    pid_t p1 = zt_fork(relay_producer, &first);
    pid_t c0 = zt_fork(flow_consumer, &cons[0]), c1 = zt_fork(flow_consumer, &cons[1]);
    hear(fds[0]);
    pid_t p2 = zt_fork(relay_producer, &second);
    zt_wait_ok(p1);
    zt_wait_ok(p2);
    zt_wait_ok(c0);
    zt_wait_ok(c1);
    ZT_ASSERT(__atomic_load_n(eperm, __ATOMIC_RELAXED) > 0);
    flow_verify(name, 1, n, 0);
    close(fds[0]);
    close(fds[1]);
    munmap(eperm, 4096);
}

/* A single consumer of a stream from NPROD producers that pops QUOTA
 * elements (0: to the end), continuing each producer's sequence where the
 * previous holder stopped (shared LAST[]). */
struct mrelay {
    const char *seg;
    uint32_t nprod;
    uint64_t items, quota;
    int say_fd;
    int64_t *last;   /* shared: [nprod] last seq seen per producer; [nprod] total */
    uint64_t *eperm;
};

static void mrelay_consumer(void *p)
{
    const struct mrelay *r = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(r->seg, &seg));
    zipc_queue *q = rq_open(seg, sizeof(zt_payload));
    int64_t give_up = zt_now_ns() + 30 * SEC;
    uint64_t total = r->nprod * r->items, mine = 0;
    bool held = false;
    for (;;) {
        int64_t done = __atomic_load_n(&r->last[r->nprod], __ATOMIC_SEQ_CST);
        if ((uint64_t)done == total || (r->quota && mine == r->quota))
            break;
        ZT_ASSERT(zt_now_ns() < give_up);
        zt_payload pl;
        int rc = zipc_queue_try_pop(q, &pl);
        if (rc == -EPERM && !held) {
            __atomic_fetch_add(r->eperm, 1, __ATOMIC_RELAXED);
            sched_yield();
            continue;
        }
        if (rc == -EAGAIN) {
            sched_yield();
            continue;
        }
        ZT_OK(rc);
        if (!held && r->say_fd >= 0)
            say(r->say_fd);
        held = true;
        ZT_ASSERT(zt_payload_ok(&pl) && pl.producer < r->nprod);
        int64_t prev = __atomic_load_n(&r->last[pl.producer], __ATOMIC_SEQ_CST);
        if ((int64_t)pl.seq != prev + 1)
            zt_fail(__FILE__, __LINE__, "producer %u: seq %llu after %lld", pl.producer,
                    (unsigned long long)pl.seq, (long long)prev);
        __atomic_store_n(&r->last[pl.producer], (int64_t)pl.seq, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&r->last[r->nprod], 1, __ATOMIC_SEQ_CST);
        mine++;
    }
    if (r->quota) {
        struct relay w = {.eperm = r->eperm};
        wait_for_a_refusal(&w);
        _exit(0);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_consumer_replaced_mid_stream_keeps_two_producers_orders, ZT_MEDIUM)
{
    uint64_t items = zt_env_u64("ZIPC_STRESS_ITEMS", 100000) / 40;
    const char *name = fresh_name();
    int64_t *last = shared_mem(4096);
    uint64_t *eperm = (uint64_t *)(last + 64);
    for (int i = 0; i < 2; i++)
        last[i] = -1;
    flow_setup(name, SC, 8, 2 * items, 0);
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    struct mrelay first = {name, 2, items, 2 * items / 3, fds[1], last, eperm};
    struct mrelay second = {name, 2, items, 0, -1, last, eperm};
    struct flow prod[2] = {{name, 2, 1, items, 0, NULL}, {name, 2, 1, items, 1, NULL}};
    pid_t c1 = zt_fork(mrelay_consumer, &first);
    pid_t p0 = zt_fork(flow_producer, &prod[0]), p1 = zt_fork(flow_producer, &prod[1]);
    hear(fds[0]);
    pid_t c2 = zt_fork(mrelay_consumer, &second);
    zt_wait_ok(c1);
    zt_wait_ok(c2);
    zt_wait_ok(p0);
    zt_wait_ok(p1);
    ZT_ASSERT(*eperm > 0);
    ZT_EQ(last[0], (int64_t)items - 1);
    ZT_EQ(last[1], (int64_t)items - 1);
    ZT_EQ(last[2], (int64_t)(2 * items));
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_EQ_U64(rq_head(seg), 2 * items);
    ZT_EQ_U64(rq_tail(seg), 2 * items);
    zipc_segment_close(seg);
    close(fds[0]);
    close(fds[1]);
    munmap(last, 4096);
}

/* ---- lazily stored counters --------------------------------------------------- */

ZTEST(queue_roles_size_approx_on_single_queues_lags_less_than_the_stride_and_is_exact_after_close, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *p, *c;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SPSC, &q)); /* q: observer only */
    const uint32_t lag = ZIPC_QUEUE_LAZY_STRIDE - 1;
    p = rq_open(seg, 8);
    for (uint64_t i = 0; i < 5; i++)
        push_u64(p, i);
    ZT_ASSERT(zipc_queue_size_approx(q) <= 5);
    for (uint64_t i = 5; i < 40; i++)
        push_u64(p, i);
    uint32_t s = zipc_queue_size_approx(q);
    printf("    40 pushed: observer sees %u (stride %u)\n", s, ZIPC_QUEUE_LAZY_STRIDE);
    ZT_ASSERT(s >= 40 - lag && s <= 40);
    zipc_queue_close(p);
    ZT_EQ(zipc_queue_size_approx(q), 40);
    c = rq_open(seg, 8);
    for (uint64_t i = 0; i < 3; i++)
        pop_expect(c, i);
    s = zipc_queue_size_approx(q);
    ZT_ASSERT(s >= 37 && s <= 37 + lag);
    for (uint64_t i = 3; i < 38; i++)
        pop_expect(c, i);
    s = zipc_queue_size_approx(q);
    ZT_ASSERT(s >= 2 && s <= 2 + lag);
    zipc_queue_close(c);
    ZT_EQ(zipc_queue_size_approx(q), 2);
    /* A holder that finds the queue full / empty stores its counter. */
    p = rq_open(seg, 8);
    uint64_t v = 40;
    while (zipc_queue_try_push(p, &v) == 0)
        v++;
    ZT_EQ_U64(v, 40 + 62);
    ZT_EQ(zipc_queue_size_approx(q), 64);
    ZT_ASSERT(zipc_queue_full_approx(q));
    c = rq_open(seg, 8);
    for (uint64_t i = 38; i < 40 + 62; i++)
        pop_expect(c, i);
    ZT_ERR(zipc_queue_try_pop(c, &v), -EAGAIN);
    ZT_EQ(zipc_queue_size_approx(q), 0);
    ZT_ASSERT(zipc_queue_empty_approx(q));
    /* Blocking calls that time out found it empty / full too. */
    push_u64(p, 1000);
    pop_expect(c, 1000);
    ZT_ERR(zipc_queue_pop(c, &v, 0), -ETIMEDOUT);
    ZT_EQ(zipc_queue_size_approx(q), 0);
    zipc_queue_close(p);
    zipc_queue_close(c);
    ZT_EQ_U64(rq_head(seg), 40 + 62 + 1);
    ZT_EQ_U64(rq_tail(seg), 40 + 62 + 1);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- hostile and corrupt shared memory ---------------------------------------- */

static void corrupt_roles_body(void *arg)
{
    (void)arg;
    alarm(5); /* a hang fails quickly */
    zipc_segment *seg;
    zipc_queue *q, *a;
    ZT_OK(zipc_segment_create(zt_name("r"), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SPSC, &q));
    uint32_t nrows = rq_nrows(seg);
    /* Holders past the table. */
    rq_set_roles(seg, 3u | ((nrows + 5) << 8) | (0xfffu << 20));
    push_u64(q, 1);
    pop_expect(q, 1);
    uint32_t w = rq_roles(seg);
    ZT_EQ(ROLE_MODE(w), 3);
    assert_holder_is_this_process(seg, ROLE_PROD(w));
    assert_holder_is_this_process(seg, ROLE_CONS(w));
    zipc_queue_close(q);
    /* Holders naming a free row (pid 0). */
    a = rq_open(seg, 8);
    uint32_t free_row = rq_free_row(seg);
    rq_set_roles(seg, 3u | ((free_row + 1) << 8) | ((free_row + 1) << 20));
    push_u64(a, 2);
    pop_expect(a, 2);
    w = rq_roles(seg);
    assert_holder_is_this_process(seg, ROLE_PROD(w));
    assert_holder_is_this_process(seg, ROLE_CONS(w));
    /* Holders naming a row of a process that is gone (not idle, not ours). */
    zipc_queue_close(a);
    a = rq_open(seg, 8);
    uint32_t other = rq_free_row(seg);
    pid_t dead = fork();
    ZT_ASSERT(dead >= 0);
    if (dead == 0)
        _exit(0);
    ZT_EQ(zt_wait(dead), 0);
    __atomic_store_n((uint32_t *)(rq_own(seg) + 8 + 16 * (size_t)other), (uint32_t)dead,
                     __ATOMIC_SEQ_CST);
    rq_set_roles(seg, 3u | ((other + 1) << 8) | ((other + 1) << 20));
    push_u64(a, 3);
    pop_expect(a, 3);
    zipc_queue_close(a);
    ZT_EQ(rq_head(seg), 3);
    ZT_EQ(rq_tail(seg), 3);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_roles_word_naming_a_row_past_the_table_or_a_free_or_dead_row_is_taken_over, ZT_FAST)
{
    zt_wait_ok(zt_fork(corrupt_roles_body, NULL));
}

/* The single side of FLAGS meets a corrupt seq word: the one it reads
 * says neither free/published nor full/empty. A producer that is the only
 * one and knows the consumer is single too writes the slots below head +
 * capacity without reading their seq words (docs/queue.md, A3): then the
 * corrupt word is overwritten, not reported. Either way: no hang. */
static void corrupt_seq_case(uint32_t flags)
{
    zipc_segment *seg;
    zipc_queue *q;
    uint64_t v = 1, two[2] = {1, 2};
    bool strict_push = !(flags & SC), strict_pop = !!(flags & SC);
    /* A new holder's first call: slot 0's seq is ahead of head = tail = 0. */
    ZT_OK(zipc_segment_create(fresh_name(), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, flags, &q));
    rq_seq(rq_raw(seg))[0] = 5;
    /* Where the previous holder stopped is found by walking the seq words
     * from the lazily stored tail: a corrupt word may make the walk start
     * at a wrong place, whose slot then says corrupt or full. */
    int rc = zipc_queue_try_push(q, &v);
    if (strict_push) {
        ZT_ASSERT(rc == -EBADMSG || rc == -EAGAIN);
        rc = zipc_queue_try_push_batch(q, two, 2);
        ZT_ASSERT(rc == -EBADMSG || rc == -EAGAIN);
        rc = zipc_queue_push(q, &v, 20 * MS);
        ZT_ASSERT(rc == -EBADMSG || rc == -ETIMEDOUT);
    } else {
        ZT_ASSERT(rc == 0 || rc == -EBADMSG || rc == -EAGAIN);
    }
    /* A consumer taking over cannot tell this from counter 4 published by a
     * producer that is ahead while counter 1's producer is still writing
     * (lazily stored head): it may call it corrupt or empty, but returns. */
    rc = zipc_queue_try_pop(q, &v);
    ZT_ASSERT(rc == -EBADMSG || rc == -EAGAIN || rc == 0);
    rc = zipc_queue_try_pop_batch(q, two, 2);
    ZT_ASSERT(rc == -EBADMSG || rc == -EAGAIN || rc >= 0);
    rc = zipc_queue_pop(q, &v, 20 * MS);
    ZT_ASSERT(rc == -EBADMSG || rc == -ETIMEDOUT || rc == 0);
    zipc_queue_close(q);
    zipc_segment_close(seg);
    /* A holder in the middle of its run: the next slot's seq is garbage. */
    zipc_queue *r;
    ZT_OK(zipc_segment_create(fresh_name(), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, flags, &r));
    push_u64(r, 10);
    push_u64(r, 11);
    uint32_t *seq = rq_seq(rq_raw(seg));
    seq[2] = 77;
    rc = zipc_queue_try_push(r, &v);
    if (strict_push) {
        ZT_ERR(rc, -EBADMSG);
        ZT_ERR(zipc_queue_push(r, &v, 20 * MS), -EBADMSG);
    } else {
        ZT_ASSERT(rc == 0 || rc == -EBADMSG);
    }
    pop_expect(r, 10);
    pop_expect(r, 11);
    rc = zipc_queue_try_pop(r, &v);
    if (strict_pop && seq[2] == 77) {
        ZT_ERR(rc, -EBADMSG); /* seq 77 is no element of counter 2 */
        ZT_ERR(zipc_queue_pop(r, &v, 20 * MS), -EBADMSG);
    } else {
        ZT_ASSERT(rc == 0 || rc == -EBADMSG);
    }
    zipc_queue_close(r);
    zipc_segment_close(seg);
}

static void corrupt_seq_body(void *arg)
{
    (void)arg;
    alarm(5); /* a hang fails quickly */
    corrupt_seq_case(SP);
    corrupt_seq_case(SC);
    corrupt_seq_case(SPSC);
}

ZTEST(queue_roles_single_holder_meeting_a_corrupt_seq_word_returns_ebadmsg_not_a_hang, ZT_FAST)
{
    zt_wait_ok(zt_fork(corrupt_seq_body, NULL));
}

/* ---- the other side in another implementation ------------------------------- */

/* The format's push and pop (FORMAT.md "Queue"), as another ZeroIPC
 * implementation does them: no waitset, no owner row, no roles. */
static int foreign_push(zipc_segment *seg, uint64_t v)
{
    zipc_queue_shm *raw = rq_raw(seg);
    uint32_t mask = raw->capacity - 1, *seq = rq_seq(raw);
    for (int tries = 0; tries < 100000; tries++) {
        uint32_t t = __atomic_load_n((uint32_t *)&raw->tail, __ATOMIC_ACQUIRE);
        int32_t d = (int32_t)(__atomic_load_n(&seq[t & mask], __ATOMIC_ACQUIRE) - t);
        if (d < 0)
            return -EAGAIN;
        if (d > 0)
            continue;
        if (__atomic_compare_exchange_n((uint32_t *)&raw->tail, &t, t + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            memcpy((uint8_t *)raw + ZIPC_QUEUE_HEADER + (size_t)(t & mask) * 8, &v, 8);
            __atomic_store_n(&seq[t & mask], t + 1, __ATOMIC_RELEASE);
            return 0;
        }
    }
    return -EBUSY;
}

static int foreign_pop(zipc_segment *seg, uint64_t *v)
{
    zipc_queue_shm *raw = rq_raw(seg);
    uint32_t cap = raw->capacity, mask = cap - 1, *seq = rq_seq(raw);
    for (int tries = 0; tries < 100000; tries++) {
        uint32_t h = __atomic_load_n((uint32_t *)&raw->head, __ATOMIC_ACQUIRE);
        int32_t d = (int32_t)(__atomic_load_n(&seq[h & mask], __ATOMIC_ACQUIRE) - (h + 1));
        if (d < 0)
            return -EAGAIN;
        if (d > 0)
            continue;
        if (__atomic_compare_exchange_n((uint32_t *)&raw->head, &h, h + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            memcpy(v, (uint8_t *)raw + ZIPC_QUEUE_HEADER + (size_t)(h & mask) * 8, 8);
            __atomic_store_n(&seq[h & mask], h + cap, __ATOMIC_RELEASE);
            return 0;
        }
    }
    return -EBUSY;
}

ZTEST(queue_roles_single_producer_queue_is_drained_by_a_foreign_consumer_following_the_format, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *c;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SP, &q));
    c = rq_open(seg, 8);
    uint64_t next_in = 0, next_out = 0, v;
    for (int round = 0; round < 50; round++) {
        /* Fill to full (the lazily stored tail is behind), drain alternately. */
        while (zipc_queue_try_push(q, &next_in) == 0)
            next_in++;
        ZT_EQ_U64(next_in - next_out, 8);
        for (int k = 0; k < 8; k++) {
            if ((k + round) % 3 == 0)
                ZT_OK(zipc_queue_try_pop(c, &v));
            else
                ZT_OK(foreign_pop(seg, &v));
            ZT_EQ_U64(v, next_out++);
        }
        ZT_ERR(foreign_pop(seg, &v), -EAGAIN);
        /* And a few pushed and popped at once, never full. */
        for (int k = 0; k < 5 + round % 7; k++) {
            push_u64(q, next_in++);
            ZT_OK(foreign_pop(seg, &v));
            ZT_EQ_U64(v, next_out++);
        }
    }
    zipc_queue_close(q);
    zipc_queue_close(c);
    ZT_EQ_U64(rq_tail(seg), next_in);
    ZT_EQ_U64(rq_head(seg), next_in);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_consumer_queue_takes_pushes_from_a_foreign_producer_following_the_format, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *p;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SC, &q));
    p = rq_open(seg, 8);
    uint64_t next_in = 0, next_out = 0, v;
    for (int round = 0; round < 50; round++) {
        for (;;) {
            int r = (next_in + (uint64_t)round) % 3 == 0 ? zipc_queue_try_push(p, &next_in)
                                                         : foreign_push(seg, next_in);
            if (r == -EAGAIN)
                break;
            ZT_OK(r);
            next_in++;
        }
        ZT_EQ_U64(next_in - next_out, 8);
        while (zipc_queue_try_pop(q, &v) == 0)
            ZT_EQ_U64(v, next_out++);
        ZT_EQ_U64(next_out, next_in);
        for (int k = 0; k < 5 + round % 7; k++) {
            ZT_OK(foreign_push(seg, next_in++));
            pop_expect(q, next_out++);
        }
    }
    zipc_queue_close(q);
    zipc_queue_close(p);
    ZT_EQ_U64(rq_tail(seg), next_in);
    ZT_EQ_U64(rq_head(seg), next_in);
    zipc_segment_close(seg);
}

/* A foreign producer wakes nobody: the single consumer asleep in pop still
 * sees its element within a sleep slice (10 ms), not never. */
struct foreign_wait {
    const char *seg;
    int ready_fd;
    int64_t *when, *late;
};

static void single_consumer_waits_for_foreign(void *p)
{
    const struct foreign_wait *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    pop_expect(q, 0); /* take the role */
    for (int i = 1; i <= 5; i++) {
        say(a->ready_fd);
        uint64_t v;
        ZT_OK(zipc_queue_pop(q, &v, 20 * SEC));
        int64_t now = zt_now_ns();
        ZT_EQ_U64(v, (uint64_t)i);
        a->late[i] = now - __atomic_load_n(&a->when[i], __ATOMIC_SEQ_CST);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_roles_single_consumer_asleep_sees_a_foreign_push_within_a_slice, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    int64_t *mem = shared_mem(4096);
    struct foreign_wait a = {zt_name(NULL), fds[1], mem, mem + 8};
    ZT_OK(zipc_segment_create(a.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, SC, &q));
    zipc_queue_close(q);
    ZT_OK(foreign_push(seg, 0));
    pid_t pid = zt_fork(single_consumer_waits_for_foreign, &a);
    for (int i = 1; i <= 5; i++) {
        hear(fds[0]);
        wait_until_asleep(seg, WS_NOT_EMPTY, pid);
        __atomic_store_n(&a.when[i], zt_now_ns(), __ATOMIC_SEQ_CST);
        ZT_OK(foreign_push(seg, (uint64_t)i));
    }
    zt_wait_ok(pid);
    for (int i = 1; i <= 5; i++) {
        printf("    foreign push %d seen after %.2f ms (slice 10 ms)\n", i, a.late[i] / 1e6);
        ZT_ASSERT(a.late[i] < 500 * MS); /* one slice, with a loaded machine's slack */
    }
    zipc_segment_close(seg);
    close(fds[0]);
    close(fds[1]);
    munmap(mem, 4096);
}

/* ---- blocking: wake-ups and timeouts ------------------------------------------ */

struct wake_arg {
    const char *seg;
    bool pusher; /* the sleeper pushes (on a full queue); else it pops (empty) */
    uint32_t iters;
    int ready_fd;
    int64_t *when, *late; /* shared: when the peer acted, how late the sleeper saw it */
};

/* The sleeper: announces itself, blocks with no deadline, records how long
 * after the peer's operation it returned. */
static void wake_sleeper(void *p)
{
    const struct wake_arg *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    for (uint32_t i = 0; i < a->iters; i++) {
        say(a->ready_fd);
        uint64_t v = 2 + i;
        if (a->pusher) {
            ZT_OK(zipc_queue_push(q, &v, ZIPC_WAIT_FOREVER));
        } else {
            ZT_OK(zipc_queue_pop(q, &v, ZIPC_WAIT_FOREVER));
            ZT_EQ_U64(v, i);
        }
        int64_t now = zt_now_ns();
        a->late[i] = now - __atomic_load_n(&a->when[i], __ATOMIC_SEQ_CST);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ITERS times: wait until the sleeper sleeps in the futex, then do the one
 * operation it waits for. A lost wake-up leaves it asleep for the rest of a
 * 10 ms slice. */
static void wake_every_time(uint32_t flags, bool pusher)
{
    zipc_segment *seg;
    zipc_queue *q;
    uint32_t iters = (uint32_t)zt_env_u64("ZIPC_ROLES_WAKE_ITERS", 200);
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    int64_t *mem = shared_mem(2 * sizeof(int64_t) * iters);
    struct wake_arg a = {fresh_name(), pusher, iters, fds[1], mem, mem + iters};
    ZT_OK(zipc_segment_create(a.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 2, flags, &q));
    if (pusher) {
        zipc_queue *pre = rq_open(seg, 8);
        push_u64(pre, 0);
        push_u64(pre, 1);
        zipc_queue_close(pre); /* releases the producer role for the sleeper */
    }
    pid_t pid = zt_fork(wake_sleeper, &a);
    for (uint32_t i = 0; i < iters; i++) {
        hear(fds[0]);
        wait_until_asleep(seg, pusher ? WS_NOT_FULL : WS_NOT_EMPTY, pid);
        __atomic_store_n(&a.when[i], zt_now_ns(), __ATOMIC_SEQ_CST);
        if (pusher)
            pop_expect(q, i);
        else
            push_u64(q, i);
    }
    zt_wait_ok(pid);
    if (pusher) {
        pop_expect(q, iters);
        pop_expect(q, iters + 1);
    }
    qsort(a.late, iters, sizeof a.late[0], cmp_i64);
    uint32_t over = 0;
    for (uint32_t i = 0; i < iters; i++)
        over += a.late[i] > 8 * MS;
    printf("    flags %u, sleeper %s: woken %.1f us (median), %.1f us (max) after the peer; "
           "%u of %u over 8 ms\n",
           flags, pusher ? "pushes" : "pops", a.late[iters / 2] / 1e3, a.late[iters - 1] / 1e3,
           over, iters);
    ZT_ASSERT(a.late[iters / 2] < 2 * MS); /* a slice is 10 ms */
    ZT_ASSERT(over <= 2 + iters / 100);
    zipc_queue_close(q);
    zipc_segment_close(seg);
    close(fds[0]);
    close(fds[1]);
    munmap(mem, 2 * sizeof(int64_t) * iters);
}

ZTEST(queue_roles_single_queue_push_wakes_a_consumer_asleep_on_empty_every_time, ZT_FAST)
{
    wake_every_time(SP, false);
    wake_every_time(SPSC, false);
    wake_every_time(SC, false);
}

ZTEST(queue_roles_single_queue_pop_wakes_a_producer_asleep_on_full_every_time, ZT_FAST)
{
    wake_every_time(SC, true);
    wake_every_time(SPSC, true);
    wake_every_time(SP, true);
}

/* Free-running: the producer pushes after a varying delay, so that its push
 * meets the consumer at every stage of going to sleep (spinning, announcing,
 * about to sleep, asleep). */
struct pingpong {
    const char *seg;
    uint32_t iters;
    int ack_fd;
    int64_t *when, *late;
};

static void pingpong_consumer(void *p)
{
    const struct pingpong *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    for (uint32_t i = 0; i < a->iters; i++) {
        uint64_t v;
        ZT_OK(zipc_queue_pop(q, &v, ZIPC_WAIT_FOREVER));
        int64_t now = zt_now_ns();
        ZT_EQ_U64(v, i);
        a->late[i] = now - __atomic_load_n(&a->when[i], __ATOMIC_SEQ_CST);
        say(a->ack_fd);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static void pingpong(uint32_t flags)
{
    zipc_segment *seg;
    zipc_queue *q;
    uint32_t iters = (uint32_t)zt_env_u64("ZIPC_ROLES_WAKE_ITERS", 200) * 2;
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    int64_t *mem = shared_mem(2 * sizeof(int64_t) * iters);
    struct pingpong a = {fresh_name(), iters, fds[1], mem, mem + iters};
    ZT_OK(zipc_segment_create(a.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, flags, &q));
    pid_t pid = zt_fork(pingpong_consumer, &a);
    for (uint32_t i = 0; i < iters; i++) {
        int64_t delay = (int64_t)((i * 37u) % 150u) * US; /* 0 .. 149 us */
        int64_t until = zt_now_ns() + delay;
        while (zt_now_ns() < until)
            ;
        __atomic_store_n(&a.when[i], zt_now_ns(), __ATOMIC_SEQ_CST);
        push_u64(q, i);
        hear(fds[0]);
    }
    zt_wait_ok(pid);
    qsort(a.late, iters, sizeof a.late[0], cmp_i64);
    uint32_t over = 0;
    for (uint32_t i = 0; i < iters; i++)
        over += a.late[i] > 8 * MS;
    printf("    flags %u: popped %.1f us (median), %.1f us (max) after the push; %u of %u over 8 ms\n",
           flags, a.late[iters / 2] / 1e3, a.late[iters - 1] / 1e3, over, iters);
    ZT_ASSERT(a.late[iters / 2] < 2 * MS);
    ZT_ASSERT(over <= 2 + iters / 100);
    zipc_queue_close(q);
    zipc_segment_close(seg);
    close(fds[0]);
    close(fds[1]);
    munmap(mem, 2 * sizeof(int64_t) * iters);
}

ZTEST(queue_roles_single_producer_pushes_at_every_stage_of_a_consumer_falling_asleep_lose_no_wake_up, ZT_FAST)
{
    pingpong(SPSC);
    pingpong(SP);
}

ZTEST(queue_roles_single_queue_blocking_calls_time_out_no_earlier_than_the_deadline, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    uint64_t v[2] = {1, 2};
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 2, SPSC, &q));
    int64_t t0 = zt_now_ns();
    ZT_ERR(zipc_queue_pop(q, v, 20 * MS), -ETIMEDOUT);
    int64_t waited = zt_now_ns() - t0;
    ZT_ASSERT(waited >= 20 * MS && waited < 2 * SEC);
    t0 = zt_now_ns();
    ZT_ERR(zipc_queue_pop_batch(q, v, 2, 20 * MS), -ETIMEDOUT);
    waited = zt_now_ns() - t0;
    ZT_ASSERT(waited >= 20 * MS && waited < 2 * SEC);
    ZT_EQ(zipc_queue_try_push_batch(q, v, 2), 2);
    t0 = zt_now_ns();
    ZT_ERR(zipc_queue_push(q, v, 20 * MS), -ETIMEDOUT);
    waited = zt_now_ns() - t0;
    ZT_ASSERT(waited >= 20 * MS && waited < 2 * SEC);
    t0 = zt_now_ns();
    ZT_ERR(zipc_queue_push_batch(q, v, 2, 20 * MS), -ETIMEDOUT);
    waited = zt_now_ns() - t0;
    ZT_ASSERT(waited >= 20 * MS && waited < 2 * SEC);
    ZT_ERR(zipc_queue_push(q, v, 0), -ETIMEDOUT);
    pop_expect(q, 1);
    pop_expect(q, 2);
    ZT_ERR(zipc_queue_pop(q, v, 0), -ETIMEDOUT);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- threads (ThreadSanitizer runs the tests named *thread*) ------------------- */

static void *flow_producer_thread(void *p) { flow_producer(p); return NULL; }
static void *flow_consumer_thread(void *p) { flow_consumer(p); return NULL; }

/* Each thread opens the segment itself: its own mapping and handle. */
static void run_flow_threads(uint32_t flags, uint32_t nprod, uint32_t ncons, uint64_t items,
                             uint32_t cap)
{
    const char *name = fresh_name();
    flow_setup(name, flags, cap, nprod * items, 0);
    struct flow w[8];
    pthread_t th[8];
    ZT_ASSERT(nprod + ncons <= 8);
    for (uint32_t i = 0; i < nprod + ncons; i++) {
        w[i] = (struct flow){name, nprod, ncons, items, i < nprod ? i : i - nprod, NULL};
        ZT_ASSERT(pthread_create(&th[i], NULL, i < nprod ? flow_producer_thread : flow_consumer_thread,
                                 &w[i]) == 0);
    }
    for (uint32_t i = 0; i < nprod + ncons; i++)
        pthread_join(th[i], NULL);
    flow_verify(name, nprod, items, 0);
}

ZTEST(queue_roles_spsc_threads_over_separate_mappings_deliver_in_exact_order, ZT_MEDIUM)
{
    uint64_t items = zt_env_u64("ZIPC_STRESS_ITEMS", 100000) / 10;
    run_flow_threads(SPSC, 1, 1, items, 8);
    run_flow_threads(SP, 1, 2, items / 2, 8);
    run_flow_threads(SC, 2, 1, items / 4, 8);
}

/* Two threads, each with its own handle, race for the producer role round
 * after round; the winner closes (releasing it) before the next round. */
struct role_race {
    const char *seg;
    uint32_t id, rounds;
    pthread_barrier_t *bar;
    int *results; /* [round * 2 + id] */
};

static void *role_race_thread(void *p)
{
    const struct role_race *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    for (uint32_t r = 0; r < a->rounds; r++) {
        uint64_t v = 1000 * (uint64_t)r + a->id;
        pthread_barrier_wait(a->bar);
        int rc = zipc_queue_try_push(q, &v);
        __atomic_store_n(&a->results[2 * r + a->id], rc, __ATOMIC_SEQ_CST);
        pthread_barrier_wait(a->bar);
        int mine = __atomic_load_n(&a->results[2 * r + a->id], __ATOMIC_SEQ_CST);
        int theirs = __atomic_load_n(&a->results[2 * r + 1 - a->id], __ATOMIC_SEQ_CST);
        ZT_ASSERT((mine == 0 && theirs == -EPERM) || (mine == -EPERM && theirs == 0));
        if (mine == 0) {
            /* The winner pops its element (consumers are many: any handle
             * may), then hands the role back by closing. */
            pop_expect(q, v);
            zipc_queue_close(q);
            q = rq_open(seg, 8);
        }
        pthread_barrier_wait(a->bar);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
    return NULL;
}

ZTEST(queue_roles_exactly_one_of_two_threads_racing_for_the_single_producer_role_gets_it, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    const char *name = zt_name(NULL);
    uint32_t rounds = (uint32_t)zt_env_u64("ZIPC_ROLES_RACE_ROUNDS", 20) * 10;
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SP, &q));
    zipc_queue_close(q);
    pthread_barrier_t bar;
    ZT_ASSERT(pthread_barrier_init(&bar, NULL, 2) == 0);
    int *results = calloc(2 * rounds, sizeof(int));
    ZT_ASSERT(results);
    struct role_race a[2] = {{name, 0, rounds, &bar, results}, {name, 1, rounds, &bar, results}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ZT_ASSERT(pthread_create(&th[i], NULL, role_race_thread, &a[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    uint32_t wins0 = 0;
    for (uint32_t r = 0; r < rounds; r++)
        wins0 += results[2 * r] == 0;
    printf("    %u rounds: thread 0 won %u\n", rounds, wins0);
    ZT_EQ_U64(rq_tail(seg), rounds);
    ZT_EQ_U64(rq_head(seg), rounds);
    ZT_EQ(ROLE_PROD(rq_roles(seg)), 0);
    free(results);
    pthread_barrier_destroy(&bar);
    zipc_segment_close(seg);
}

/* The producer role passes between two threads (close, then the other's
 * first push takes it) while a consumer thread pops: the exact tail each
 * holder publishes at close is where the next one goes on. */
struct handoff {
    const char *seg;
    uint32_t id, rounds, per_round;
    pthread_barrier_t *bar;
};

static void *handoff_producer_thread(void *p)
{
    const struct handoff *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    for (uint32_t r = 0; r < a->rounds; r++) {
        if (r % 2 == a->id) {
            zipc_queue *q = rq_open(seg, sizeof(zt_payload));
            for (uint32_t k = 0; k < a->per_round; k++) {
                zt_payload pl = zt_payload_make(0, (uint64_t)r * a->per_round + k);
                ZT_OK(zipc_queue_push(q, &pl, 10 * SEC));
            }
            zipc_queue_close(q);
        }
        pthread_barrier_wait(a->bar);
    }
    zipc_segment_close(seg);
    return NULL;
}

static void *handoff_consumer_thread(void *p)
{
    const struct handoff *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    zipc_queue *q = rq_open(seg, sizeof(zt_payload));
    uint64_t total = (uint64_t)a->rounds * a->per_round, next = 0;
    zt_payload buf[4];
    while (next < total) {
        int r = zipc_queue_pop_batch(q, buf, 4, 10 * SEC);
        ZT_ASSERT(r >= 1);
        for (int j = 0; j < r; j++) {
            ZT_ASSERT(zt_payload_ok(&buf[j]));
            ZT_EQ_U64(buf[j].seq, next);
            next++;
        }
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
    return NULL;
}

ZTEST(queue_roles_single_producer_role_handed_between_threads_keeps_exact_order, ZT_FAST)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    zipc_queue *q;
    uint32_t rounds = (uint32_t)zt_env_u64("ZIPC_ROLES_RACE_ROUNDS", 20) * 5;
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", sizeof(zt_payload), 8, SPSC, &q));
    zipc_queue_close(q);
    pthread_barrier_t bar;
    ZT_ASSERT(pthread_barrier_init(&bar, NULL, 2) == 0);
    struct handoff a[3] = {{name, 0, rounds, 37, &bar}, {name, 1, rounds, 37, &bar},
                           {name, 2, rounds, 37, &bar}};
    pthread_t th[3];
    for (int i = 0; i < 2; i++)
        ZT_ASSERT(pthread_create(&th[i], NULL, handoff_producer_thread, &a[i]) == 0);
    ZT_ASSERT(pthread_create(&th[2], NULL, handoff_consumer_thread, &a[2]) == 0);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ZT_EQ_U64(rq_tail(seg), rounds * 37);
    ZT_EQ_U64(rq_head(seg), rounds * 37);
    pthread_barrier_destroy(&bar);
    zipc_segment_close(seg);
}

/* ---- a recoverer killed on a role holder's row ------------------------------ */

struct role_victim {
    const char *seg;
    int point;
};

/* Takes the producer role with three pushes, then dies inside a pop (the
 * consumer side is multi-handle): its row is named by the role and holds a
 * claim. */
static void role_holder_dies_popping(void *p)
{
    const struct role_victim *v = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(v->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    for (uint64_t i = 10; i < 13; i++)
        ZT_OK(zipc_queue_try_push(q, &i));
    uint64_t x;
    zipc__crash_at = v->point;
    zipc_queue_try_pop(q, &x);
    zt_fail(__FILE__, __LINE__, "crash point %d not reached", v->point);
}

static void recoverer_dies(void *p)
{
    const struct role_victim *v = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(v->seg, &seg));
    zipc_queue *q = rq_open(seg, 8);
    zipc__crash_at = v->point;
    zipc_queue_recover(q, NULL);
    zt_fail(__FILE__, __LINE__, "crash point %d not reached", v->point);
}

/* Before the recoverer's mark carried its pid, this left the row
 * "recovering" for good and every later push answered -EAGAIN. */
ZTEST(queue_roles_role_row_whose_recoverer_was_killed_is_taken_over_not_blocked, ZT_FAST)
{
    struct role_victim v = {zt_name(NULL), 211};
    zipc_segment *seg;
    zipc_queue *q, *p;
    zipc_queue_report rep;
    ZT_OK(zipc_segment_create(v.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, SP, &q));
    ZT_EQ(zt_wait(zt_fork(role_holder_dies_popping, &v)), 128 + SIGKILL);
    struct role_victim r = {v.seg, 240};
    ZT_EQ(zt_wait(zt_fork(recoverer_dies, &r)), 128 + SIGKILL);
    ZT_OK(zipc_queue_check(q, &rep));
    ZT_EQ(rep.dead_owners, 1);
    /* The next producer takes the role over from under the dead mark. */
    ZT_OK(zipc_queue_open(seg, "q", 8, &p));
    uint64_t x = 13;
    ZT_OK(zipc_queue_try_push(p, &x));
    /* And the claim is still there to repair. */
    ZT_OK(zipc_queue_recover(q, &rep));
    ZT_EQ(rep.pending, 0);
    ZT_EQ(rep.released, 1);
    ZT_OK(zipc_queue_check(q, &rep));
    ZT_EQ(rep.dead_owners, 0);
    /* 10 was taken by the dead pop (lost, as docs/queue.md says); the rest
     * in order, and every slot works again. */
    for (uint64_t want = 11; want < 14; want++) {
        ZT_OK(zipc_queue_try_pop(q, &x));
        ZT_EQ_U64(x, want);
    }
    ZT_ERR(zipc_queue_try_pop(q, &x), -EAGAIN);
    for (uint64_t i = 0; i < 40; i++) {
        ZT_OK(zipc_queue_try_push(p, &i));
        ZT_OK(zipc_queue_try_pop(q, &x));
        ZT_EQ_U64(x, i);
    }
    zipc_queue_close(p);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}
