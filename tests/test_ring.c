/* Ring: layout, return codes, wrap-around, zero copy, blocking, SPSC stress. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "testhooks.h"

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

ZTEST(ring_layout_matches_the_format_and_data_wraps_across_the_end, ZT_FAST)
{
    zipc_segment *seg;
    zipc_ring *r;
    zipc_entry_info info;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 4, 4, &r));
    ZT_OK(zipc_segment_find(seg, "r", &info));
    ZT_EQ(info.size, 24 + 16);
    ZT_OK(zipc_segment_find(seg, "r_wait", &info)); /* created together */
    ZT_EQ(info.size, 16);
    ZT_OK(zipc_segment_find(seg, "r", &info));
    const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + info.offset;
    ZT_EQ(rd32(p + 16), 16);
    ZT_EQ(rd32(p + 20), 4);
    uint32_t in[3] = {1, 2, 3}, out[4];
    size_t n;
    ZT_OK(zipc_ring_write_many(r, in, 3, &n));
    ZT_EQ(n, 3);
    ZT_OK(zipc_ring_read_many(r, out, 2, &n));
    ZT_EQ(n, 2);
    uint32_t more[3] = {4, 5, 6};
    ZT_OK(zipc_ring_write_many(r, more, 3, &n)); /* positions 12..24: wraps */
    ZT_EQ(n, 3);
    ZT_EQ_U64(rd64(p), 24);
    ZT_EQ_U64(rd64(p + 8), 8);
    ZT_EQ(rd32(p + 24 + 12), 4); /* position 12 */
    ZT_EQ(rd32(p + 24 + 0), 5);  /* position 16 -> offset 0 */
    ZT_EQ(rd32(p + 24 + 4), 6);
    ZT_EQ(zipc_ring_available(r), 4);
    ZT_EQ(zipc_ring_free_space(r), 0);
    ZT_OK(zipc_ring_read_many(r, out, 4, &n));
    ZT_EQ(n, 4);
    ZT_EQ(out[0], 3);
    ZT_EQ(out[1], 4);
    ZT_EQ(out[2], 5);
    ZT_EQ(out[3], 6);
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

ZTEST(ring_full_and_empty_are_eagain_and_bad_arguments_einval, ZT_FAST)
{
    zipc_segment *seg;
    zipc_ring *r;
    uint64_t v = 7, out;
    size_t n;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 8, 2, &r));
    ZT_ERR(zipc_ring_read(r, &out), -EAGAIN);
    ZT_OK(zipc_ring_write(r, &v));
    ZT_OK(zipc_ring_write(r, &v));
    ZT_ERR(zipc_ring_write(r, &v), -EAGAIN);
    uint64_t many[5] = {0};
    ZT_ERR(zipc_ring_write_many(r, many, 5, &n), -EAGAIN);
    ZT_ERR(zipc_ring_write(NULL, &v), -EINVAL);
    ZT_ERR(zipc_ring_write(r, NULL), -EINVAL);
    ZT_ERR(zipc_ring_read_many(r, many, 0, &n), -EINVAL);
    ZT_ERR(zipc_ring_commit(r, 1), -EINVAL);  /* nothing reserved */
    ZT_ERR(zipc_ring_release(r, 1), -EINVAL); /* nothing peeked */
    ZT_EQ(zipc_ring_capacity(r), 2);
    ZT_EQ(zipc_ring_elem_size(r), 8);
    ZT_ERR(zipc_ring_create(seg, "x", 0, 2, &(zipc_ring *){0}), -EINVAL);
    ZT_ERR(zipc_ring_create(seg, "x", 8, 0, &(zipc_ring *){0}), -EINVAL);
    ZT_ERR(zipc_ring_create(seg, "x", 8, UINT64_C(1) << 30, &(zipc_ring *){0}), -EINVAL);
    ZT_ERR(zipc_ring_create(seg, "x", 8, 1 << 20, &(zipc_ring *){0}), -ENOSPC);
    ZT_ERR(zipc_ring_create(seg, "r", 8, 2, &(zipc_ring *){0}), -EEXIST);
    ZT_ERR(zipc_ring_open(seg, "r", 4, &(zipc_ring *){0}), -EBADMSG);
    ZT_ERR(zipc_ring_open(seg, "r", 16, &(zipc_ring *){0}), -EBADMSG);
    ZT_ERR(zipc_ring_open(seg, "none", 8, &(zipc_ring *){0}), -ENOENT);
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

ZTEST(ring_reads_through_a_readonly_segment_are_erofs, ZT_FAST)
{
    zipc_segment *seg, *ro;
    zipc_ring *r, *rr;
    uint32_t v = 1;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 4, 4, &r));
    ZT_OK(zipc_ring_write(r, &v));
    ZT_OK(zipc_segment_open_ex(zt_name(NULL), ZIPC_SEGMENT_READONLY, &ro));
    ZT_OK(zipc_ring_open(ro, "r", 4, &rr));
    ZT_EQ(zipc_ring_available(rr), 1);
    ZT_ERR(zipc_ring_read(rr, &v), -EROFS);
    ZT_ERR(zipc_ring_write(rr, &v), -EROFS);
    zipc_ring_close(rr);
    zipc_ring_close(r);
    zipc_segment_close(ro);
    zipc_segment_close(seg);
}

ZTEST(ring_zero_copy_regions_stop_at_the_end_and_commit_what_was_filled, ZT_FAST)
{
    zipc_segment *seg;
    zipc_ring *r;
    void *wp;
    const void *rp;
    size_t n;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 2, 5, &r));
    ZT_OK(zipc_ring_reserve(r, 3, &wp, &n));
    ZT_EQ(n, 3);
    uint16_t *w = wp;
    w[0] = 10;
    w[1] = 11;
    ZT_ERR(zipc_ring_commit(r, 4), -EINVAL);
    ZT_OK(zipc_ring_commit(r, 2));
    ZT_EQ(zipc_ring_available(r), 2);
    ZT_OK(zipc_ring_peek(r, 8, &rp, &n));
    ZT_EQ(n, 2);
    ZT_EQ(((const uint16_t *)rp)[1], 11);
    ZT_OK(zipc_ring_release(r, 2));
    /* Write position 2 of 5: the contiguous region is 3 elements long. */
    ZT_OK(zipc_ring_reserve(r, 8, &wp, &n));
    ZT_EQ(n, 3);
    ZT_OK(zipc_ring_commit(r, 3));
    ZT_OK(zipc_ring_reserve(r, 8, &wp, &n)); /* wrapped: 2 free at the start */
    ZT_EQ(n, 2);
    ZT_OK(zipc_ring_commit(r, 0));
    ZT_ERR(zipc_ring_peek(r, 0, &rp, &n), -EINVAL);
    ZT_OK(zipc_ring_peek(r, 8, &rp, &n));
    ZT_EQ(n, 3);
    ZT_OK(zipc_ring_release(r, 3));
    ZT_ERR(zipc_ring_peek(r, 8, &rp, &n), -EAGAIN);
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

ZTEST(ring_second_producer_moving_the_position_is_eperm, ZT_FAST)
{
    zipc_segment *seg;
    zipc_ring *a, *b;
    void *wp;
    size_t n;
    uint32_t v = 1;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 4, 8, &a));
    ZT_OK(zipc_ring_open(seg, "r", 4, &b));
    ZT_OK(zipc_ring_reserve(a, 1, &wp, &n));
    ZT_OK(zipc_ring_write(b, &v)); /* a second producer */
    ZT_ERR(zipc_ring_commit(a, 1), -EPERM);
    ZT_EQ(zipc_ring_available(a), 1);
    const void *rp;
    ZT_OK(zipc_ring_peek(a, 1, &rp, &n));
    ZT_OK(zipc_ring_read(b, &v)); /* a second consumer */
    ZT_ERR(zipc_ring_release(a, 1), -EPERM);
    zipc_ring_close(a);
    zipc_ring_close(b);
    zipc_segment_close(seg);
}

ZTEST(ring_blocking_read_times_out_no_earlier_than_the_deadline, ZT_FAST)
{
    zipc_segment *seg;
    zipc_ring *r;
    uint32_t v;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 4, 1, &r));
    int64_t t0 = mono_ns();
    ZT_ERR(zipc_ring_read_timeout(r, &v, 30000000), -ETIMEDOUT);
    int64_t took = mono_ns() - t0;
    ZT_ASSERT(took >= 30000000 && took < 3000000000LL);
    ZT_ERR(zipc_ring_read_timeout(r, &v, 0), -ETIMEDOUT);
    ZT_OK(zipc_ring_write_timeout(r, &v, 0));
    ZT_ERR(zipc_ring_write_timeout(r, &v, 20000000), -ETIMEDOUT);
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

/* ---- stress: one producer, one consumer, identical byte stream ------------------ */

/* Elements of 12 bytes (do not divide the ring evenly into cache lines) with
 * sequence and a running checksum; the producer uses every write flavour. */
struct rec {
    uint32_t seq;
    uint64_t sum;
} __attribute__((packed));

struct ring_stress {
    const char *seg;
    uint32_t count;
    bool threads;
};

/* Longest wait of a blocked side: a peer that failed ends the test quickly. */
#define STALL_NS 10000000000LL

static uint64_t rec_sum(uint32_t seq) { return zt_checksum(&seq, sizeof(seq)); }

static void producer(void *p)
{
    struct ring_stress *c = p;
    zipc_segment *seg;
    zipc_ring *r;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_ring_open(seg, "r", sizeof(struct rec), &r));
    struct rec batch[7];
    uint32_t seq = 0;
    while (seq < c->count) {
        int mode = (int)(seq % 3);
        size_t want = (size_t)(c->count - seq) < 7 ? (size_t)(c->count - seq) : 7;
        if (mode == 0) {
            struct rec x = {seq, rec_sum(seq)};
            ZT_OK(zipc_ring_write_timeout(r, &x, STALL_NS));
            seq++;
        } else if (mode == 1) {
            for (size_t i = 0; i < want; i++)
                batch[i] = (struct rec){seq + (uint32_t)i, rec_sum(seq + (uint32_t)i)};
            size_t n;
            ZT_OK(zipc_ring_write_many_timeout(r, batch, want, &n, STALL_NS));
            seq += (uint32_t)n;
        } else {
            void *wp;
            size_t n;
            int e = zipc_ring_reserve(r, want, &wp, &n);
            if (e == -EAGAIN) {
                struct rec x = {seq, rec_sum(seq)};
                ZT_OK(zipc_ring_write_timeout(r, &x, STALL_NS));
                seq++;
                continue;
            }
            ZT_OK(e);
            for (size_t i = 0; i < n; i++) {
                struct rec x = {seq + (uint32_t)i, rec_sum(seq + (uint32_t)i)};
                memcpy((uint8_t *)wp + i * sizeof(x), &x, sizeof(x));
            }
            ZT_OK(zipc_ring_commit(r, n));
            seq += (uint32_t)n;
        }
    }
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

static void consumer(void *p)
{
    struct ring_stress *c = p;
    zipc_segment *seg;
    zipc_ring *r;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_ring_open(seg, "r", sizeof(struct rec), &r));
    uint32_t next = 0;
    struct rec batch[5];
    while (next < c->count) {
        size_t n;
        if (next % 2) {
            ZT_OK(zipc_ring_read_many_timeout(r, batch, 5, &n, STALL_NS));
            for (size_t i = 0; i < n; i++, next++) {
                ZT_EQ(batch[i].seq, next);
                ZT_EQ_U64(batch[i].sum, rec_sum(next));
            }
        } else {
            const void *rp;
            int e = zipc_ring_peek(r, 5, &rp, &n);
            if (e == -EAGAIN) {
                ZT_OK(zipc_ring_read_timeout(r, batch, STALL_NS));
                ZT_EQ(batch[0].seq, next);
                ZT_EQ_U64(batch[0].sum, rec_sum(next));
                next++;
                continue;
            }
            ZT_OK(e);
            for (size_t i = 0; i < n; i++, next++) {
                struct rec x;
                memcpy(&x, (const uint8_t *)rp + i * sizeof(x), sizeof(x));
                ZT_EQ(x.seq, next);
                ZT_EQ_U64(x.sum, rec_sum(next));
            }
            ZT_OK(zipc_ring_release(r, n));
        }
    }
    ZT_EQ(zipc_ring_available(r), 0);
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

static void *run_producer(void *p) { producer(p); return NULL; }
static void *run_consumer(void *p) { consumer(p); return NULL; }

static void ring_stress_run(bool threads)
{
    struct ring_stress c = {zt_name(NULL), (uint32_t)zt_env_u64("ZIPC_STRESS_ITERS", 200000),
                            threads};
    if (threads)
        c.count /= 4;
    zipc_segment *seg;
    zipc_ring *r;
    ZT_OK(zipc_segment_create(c.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", sizeof(struct rec), 37, &r));
    if (threads) {
        pthread_t a, b;
        ZT_OK(pthread_create(&a, NULL, run_producer, &c));
        ZT_OK(pthread_create(&b, NULL, run_consumer, &c));
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    } else {
        pid_t a = zt_fork(producer, &c), b = zt_fork(consumer, &c);
        zt_wait_ok(a);
        zt_wait_ok(b);
    }
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

ZTEST(ring_producer_and_consumer_processes_see_an_identical_stream, ZT_MEDIUM)
{
    ring_stress_run(false);
}

ZTEST(ring_producer_and_consumer_threads_see_an_identical_stream, ZT_MEDIUM)
{
    ring_stress_run(true);
}

ZTEST(ring_positions_further_apart_than_the_capacity_are_ebadmsg, ZT_FAST)
{
    zipc_segment *seg;
    zipc_ring *r;
    uint32_t v = 0;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 4, 4, &r));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "r", &info));
    uint64_t *pos = (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
    pos[0] = 1000; /* write_pos */
    ZT_ERR(zipc_ring_read(r, &v), -EBADMSG);
    ZT_ERR(zipc_ring_write(r, &v), -EBADMSG);
    ZT_EQ(zipc_ring_free_space(r), 0);
    zipc_ring_close(r);
    zipc_segment_close(seg);
}

/* ---- crashes ------------------------------------------------------------------------ */

/* A survivor whose peer published before dying must not need its deadline;
 * one whose peer never published times out at it. */
#define CRASH_LONG_NS 10000000000LL
#define CRASH_SHORT_NS 300000000LL

struct ring_crash {
    const char *seg;
    int point;
    bool producer_dies;
    int64_t timeout_ns; /* the survivor's */
    int want;           /* the survivor's result */
};

/* Sleepers on the ring's waitset SET ([0] data, [1] space). */
static uint32_t ring_sleepers(zipc_segment *seg, int set)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "r_wait", &info));
    const uint32_t *ws = (const uint32_t *)((const uint8_t *)zipc_segment_base(seg) + info.offset);
    return __atomic_load_n(&ws[2 * set + 1], __ATOMIC_ACQUIRE);
}

/* The victim: once the survivor sleeps, write (or read) one element and die
 * at the crash point. */
static void ring_victim(void *p)
{
    const struct ring_crash *c = p;
    zipc_segment *seg;
    zipc_ring *r;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_ring_open(seg, "r", 8, &r));
    while (ring_sleepers(seg, c->producer_dies ? 0 : 1) == 0)
        sched_yield(); /* the survivor is blocked: the crash happens under it */
    uint64_t v = 2;
    size_t n;
    zipc__crash_at = c->point;
    if (c->point == 552) {
        void *wp;
        ZT_OK(zipc_ring_reserve(r, 1, &wp, &n));
        memcpy(wp, &v, sizeof(v));
        zipc_ring_commit(r, 1);
    } else if (c->point == 562) {
        const void *rp;
        ZT_OK(zipc_ring_peek(r, 1, &rp, &n));
        zipc_ring_release(r, 1);
    } else if (c->producer_dies) {
        zipc_ring_write(r, &v);
    } else {
        zipc_ring_read(r, &v);
    }
    _exit(3); /* the crash point was not reached */
}

/* The survivor: blocked on the other side when the victim dies. */
static void ring_survivor(void *p)
{
    const struct ring_crash *c = p;
    zipc_segment *seg;
    zipc_ring *r;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_ring_open(seg, "r", 8, &r));
    uint64_t v = 3;
    int64_t t0 = mono_ns();
    int e = c->producer_dies ? zipc_ring_read_timeout(r, &v, c->timeout_ns)
                             : zipc_ring_write_timeout(r, &v, c->timeout_ns);
    int64_t took = mono_ns() - t0;
    if (e != c->want)
        zt_fail(__FILE__, __LINE__, "point %d: survivor got %d after %lld ms", c->point, e,
                (long long)(took / 1000000));
    if (e == -ETIMEDOUT) /* at the deadline: not before, not absurdly after */
        ZT_ASSERT(took >= c->timeout_ns && took < c->timeout_ns + 5000000000LL);
    if (e == 0 && c->producer_dies)
        ZT_EQ(v, 2); /* published before the producer died */
}

/* A producer or consumer killed between the atomic steps of an operation:
 * the survivor, blocked on the other side, never hangs past its timeout;
 * a producer that died before publishing loses that one element; a consumer
 * that died before releasing leaves its element to be read again. */
ZTEST(ring_crash_at_each_point_loses_only_the_unpublished_element, ZT_MEDIUM)
{
    static const struct { int point; bool producer_dies; bool published; } cases[] = {
        {550, true, false},  {551, true, true},  {552, true, false},
        {560, false, false}, {561, false, true}, {562, false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), "c%d", cases[i].point);
        struct ring_crash c = {zt_name(suffix), cases[i].point, cases[i].producer_dies,
                               cases[i].published ? CRASH_LONG_NS : CRASH_SHORT_NS,
                               cases[i].published ? 0 : -ETIMEDOUT};
        zipc_segment *seg;
        zipc_ring *r;
        ZT_OK(zipc_segment_create(c.seg, 1 << 16, 0, &seg));
        ZT_OK(zipc_ring_create(seg, "r", 8, 2, &r));
        uint64_t v;
        if (!c.producer_dies) { /* full: the surviving producer blocks */
            v = 1;
            ZT_OK(zipc_ring_write(r, &v));
            v = 2;
            ZT_OK(zipc_ring_write(r, &v));
        }
        pid_t survivor = zt_fork(ring_survivor, &c);
        int st = zt_wait(zt_fork(ring_victim, &c));
        if (st != 128 + SIGKILL)
            zt_fail(__FILE__, __LINE__, "point %d: victim status %d", c.point, st);
        zt_wait_ok(survivor);
        /* What is left, read by a new consumer. */
        uint64_t want[2];
        size_t nwant = 0;
        if (!c.producer_dies) {
            if (!cases[i].published)
                want[nwant++] = 1; /* the dead consumer's element, again */
            want[nwant++] = 2;
            if (cases[i].published)
                want[nwant++] = 3; /* the survivor's */
        }
        for (size_t k = 0; k < nwant; k++) {
            ZT_OK(zipc_ring_read(r, &v));
            ZT_EQ(v, want[k]);
        }
        ZT_ERR(zipc_ring_read(r, &v), -EAGAIN);
        /* A new producer continues from write_pos. */
        v = 9;
        ZT_OK(zipc_ring_write(r, &v));
        ZT_OK(zipc_ring_read(r, &v));
        ZT_EQ(v, 9);
        zipc_ring_close(r);
        zipc_segment_close(seg);
        zipc_segment_unlink(c.seg);
    }
}
