/* Set: the Map core with 0-byte values. Layout, return codes, concurrency. */
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "testhooks.h"

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

ZTEST(set_int32_elements_sit_in_the_format_home_slots, ZT_FAST)
{
    zipc_segment *seg;
    zipc_set *s;
    zipc_entry_info info;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_set_create(seg, "s", 4, 10, NULL, &s));
    int32_t e[3] = {1, 42, -1}; /* home slots 1, 2, 5 of 10 */
    for (int i = 0; i < 3; i++)
        ZT_OK(zipc_set_insert(s, &e[i], NULL));
    ZT_OK(zipc_segment_find(seg, "s", &info));
    ZT_EQ(info.size, 16 + 8 * 10);
    const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + info.offset;
    ZT_EQ(rd32(p), 3);
    ZT_EQ(rd32(p + 4), 10);
    ZT_EQ(rd32(p + 8), 4);
    ZT_EQ(rd32(p + 12), 0);
    ZT_EQ(rd32(p + 16 + 8 * 1), 1);
    ZT_EQ(rd32(p + 16 + 8 * 1 + 4), 1);
    ZT_EQ(rd32(p + 16 + 8 * 2 + 4), 42);
    ZT_EQ((int32_t)rd32(p + 16 + 8 * 5 + 4), -1);
    ZT_EQ(rd32(p + 16 + 8 * 0), 0);
    zipc_set_close(s);
    zipc_segment_close(seg);
}

ZTEST(set_int64_entries_are_16_bytes_with_the_value_at_8, ZT_FAST)
{
    zipc_segment *seg;
    zipc_set *s;
    zipc_entry_info info;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_set_create(seg, "s", 8, 7, NULL, &s));
    int64_t e = 42; /* home 0x19f519f70a % 7 = 0 */
    ZT_OK(zipc_set_insert(s, &e, NULL));
    ZT_OK(zipc_segment_find(seg, "s", &info));
    ZT_EQ(info.size, 16 + 16 * 7);
    const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + info.offset;
    ZT_EQ(rd32(p + 16), 1);
    ZT_EQ_U64(rd64(p + 16 + 8), 42);
    zipc_set_close(s);
    zipc_segment_close(seg);
}

ZTEST(set_insert_contains_remove_and_iterate, ZT_FAST)
{
    zipc_segment *seg;
    zipc_set *s, *s2;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_set_create(seg, "s", 4, 8, NULL, &s));
    ZT_OK(zipc_set_open(seg, "s", 4, NULL, &s2));
    bool added, present;
    int32_t e = 3;
    ZT_OK(zipc_set_insert(s, &e, &added));
    ZT_ASSERT(added);
    ZT_OK(zipc_set_insert(s2, &e, &added));
    ZT_ASSERT(!added);
    ZT_OK(zipc_set_contains(s2, &e, &present));
    ZT_ASSERT(present);
    ZT_EQ(zipc_set_size(s), 1);
    ZT_EQ(zipc_set_capacity(s), 8);
    for (int32_t i = 10; i < 17; i++)
        ZT_OK(zipc_set_insert(s, &i, NULL));
    int32_t x = 99;
    ZT_ERR(zipc_set_insert(s, &x, NULL), -ENOSPC);
    int n = 0;
    uint64_t cur = 0;
    int32_t got;
    while (zipc_set_next(s2, &cur, &got) == 0)
        n++;
    ZT_EQ(n, 8);
    ZT_OK(zipc_set_remove(s, &e));
    ZT_ERR(zipc_set_remove(s, &e), -ENOENT);
    ZT_OK(zipc_set_contains(s, &e, &present));
    ZT_ASSERT(!present);
    ZT_ERR(zipc_set_open(seg, "s", 8, NULL, &(zipc_set *){0}), -EBADMSG);
    ZT_ERR(zipc_set_open(seg, "zz", 4, NULL, &(zipc_set *){0}), -ENOENT);
    ZT_ERR(zipc_set_create(seg, "t", 0, 8, NULL, &(zipc_set *){0}), -EINVAL);
    ZT_ERR(zipc_set_insert(NULL, &e, NULL), -EINVAL);
    ZT_ERR(zipc_set_contains(s, &e, NULL), -EINVAL);
    uint32_t rec;
    ZT_OK(zipc_set_recover(s, &rec));
    ZT_EQ(rec, 0);
    zipc_set_close(s);
    zipc_set_close(s2);
    zipc_segment_close(seg);
}

struct set_stress {
    const char *seg;
    int id, iters;
};

/* Every worker adds and removes the same small range; each one counts the
 * adds and removes that succeeded. At the end: size == adds - removes, and
 * every element appears at most once. */
static void set_body(void *p)
{
    struct set_stress *c = p;
    zipc_segment *seg;
    zipc_set *s;
    zipc_array *counts;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_set_open(seg, "s", 8, NULL, &s));
    ZT_OK(zipc_array_open(seg, "n", 8, &counts));
    int64_t net = 0;
    for (int i = 0; i < c->iters; i++) {
        int64_t e = (i * 7 + c->id) % 16;
        bool added;
        int r;
        if ((i + c->id) % 2 == 0) {
            while ((r = zipc_set_insert(s, &e, &added)) == -EAGAIN)
                ;
            ZT_OK(r);
            net += added;
        } else {
            while ((r = zipc_set_remove(s, &e)) == -EAGAIN)
                ;
            ZT_ASSERT(r == 0 || r == -ENOENT);
            net -= r == 0;
        }
    }
    ZT_OK(zipc_array_fetch_add_u64(counts, 0, (uint64_t)net, NULL));
    zipc_array_close(counts);
    zipc_set_close(s);
    zipc_segment_close(seg);
}

static void *set_thread(void *p)
{
    set_body(p);
    return NULL;
}

static void set_stress_run(bool threads)
{
    enum { N = 4 };
    const char *name = zt_name(NULL);
    int iters = (int)zt_env_u64("ZIPC_STRESS_ITERS", 200000) / (threads ? 4 : 1);
    zipc_segment *seg;
    zipc_set *s;
    zipc_array *counts;
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_set_create(seg, "s", 8, 24, NULL, &s));
    ZT_OK(zipc_array_create(seg, "n", 8, 1, &counts));
    struct set_stress c[N];
    pid_t pids[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        c[i] = (struct set_stress){name, i, iters};
        if (threads)
            ZT_OK(pthread_create(&th[i], NULL, set_thread, &c[i]));
        else
            pids[i] = zt_fork(set_body, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        if (threads)
            pthread_join(th[i], NULL);
        else
            zt_wait_ok(pids[i]);
    }
    uint64_t net;
    ZT_OK(zipc_array_load_u64(counts, 0, &net));
    int seen[16] = {0}, n = 0;
    uint64_t cur = 0;
    int64_t e;
    while (zipc_set_next(s, &cur, &e) == 0) {
        ZT_ASSERT(e >= 0 && e < 16);
        ZT_EQ(seen[e]++, 0);
        n++;
    }
    ZT_EQ(n, (int64_t)net);
    ZT_EQ(zipc_set_size(s), n);
    zipc_array_close(counts);
    zipc_set_close(s);
    zipc_segment_close(seg);
}

ZTEST(set_many_processes_count_adds_and_removes_exactly, ZT_MEDIUM) { set_stress_run(false); }
ZTEST(set_many_threads_count_adds_and_removes_exactly, ZT_MEDIUM) { set_stress_run(true); }

/* ---- read-only ------------------------------------------------------------------------- */

/* A set opened through a read-only segment reads, and refuses every write
 * with -EROFS; also one made by another implementation (no "_own" entry: the
 * read-only handle keeps private claim words instead of adding the entry). */
ZTEST(set_writes_through_a_readonly_segment_are_erofs_with_or_without_claim_words, ZT_FAST)
{
    zipc_segment *seg, *ro;
    zipc_set *s, *r;
    uint64_t off;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_set_create(seg, "s", 4, 8, NULL, &s));
    int32_t e = 42;
    ZT_OK(zipc_set_insert(s, &e, NULL));
    ZT_OK(zipc_segment_add_entry(seg, "cpp", 16 + 8 * 10, &off)); /* foreign, no cpp_own */
    uint8_t *p = (uint8_t *)zipc_segment_base(seg) + off;
    uint32_t hdr[4] = {1, 10, 4, 0}, ent[2] = {1, 42};
    memcpy(p, hdr, 16);
    memcpy(p + 16 + 8 * 2, ent, 8); /* 42 in its home slot 2 */
    ZT_OK(zipc_segment_open_ex(zt_name(NULL), ZIPC_SEGMENT_READONLY, &ro));
    const char *names[2] = {"s", "cpp"};
    for (int i = 0; i < 2; i++) {
        ZT_OK(zipc_set_open(ro, names[i], 4, NULL, &r));
        bool present = false;
        ZT_OK(zipc_set_contains(r, &e, &present));
        ZT_ASSERT(present);
        uint64_t cur = 0;
        int32_t got;
        ZT_OK(zipc_set_next(r, &cur, &got));
        ZT_EQ(got, 42);
        int32_t x = 7;
        ZT_ERR(zipc_set_insert(r, &x, NULL), -EROFS);
        ZT_ERR(zipc_set_insert(r, &e, NULL), -EROFS);
        ZT_ERR(zipc_set_remove(r, &e), -EROFS);
        ZT_ERR(zipc_set_recover(r, NULL), -EROFS);
        ZT_EQ(zipc_set_size(r), 1);
        zipc_set_close(r);
    }
    zipc_entry_info info;
    ZT_ERR(zipc_segment_find(seg, "cpp_own", &info), -ENOENT); /* nothing added */
    zipc_segment_close(ro);
    zipc_set_close(s);
    zipc_segment_close(seg);
}

/* ---- crashes --------------------------------------------------------------------------- */

/* Set operations run the Map core with the Set's own crash points (450-499,
 * the same offsets as Map's 400-449): insert 450-455, remove 470-472. There
 * is no in-place update in a Set, so 460/461 cannot be reached. */
struct set_crash {
    const char *seg;
    int point;
};

static void set_crash_body(void *p)
{
    const struct set_crash *c = p;
    zipc_segment *seg;
    zipc_set *s;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_set_open(seg, "s", 4, NULL, &s));
    int32_t e = 7;
    zipc__crash_at = c->point;
    if (c->point >= 470)
        zipc_set_remove(s, &e);
    else
        zipc_set_insert(s, &e, NULL);
    zipc__crash_at = -1;
    _exit(3); /* the crash point was not reached */
}

ZTEST(set_crash_at_each_point_leaves_one_slot_and_recovery_reclaims_it, ZT_MEDIUM)
{
    static const struct { int point; bool present_after; int size_delta; } cases[] = {
        {450, false, 0}, {451, false, 0}, {452, false, 0}, {453, false, 1}, {454, true, 0},
        {455, true, 0},  {470, true, 0},  {471, true, -1}, {472, false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), "c%d", cases[i].point);
        struct set_crash c = {zt_name(suffix), cases[i].point};
        zipc_segment *seg;
        zipc_set *s;
        ZT_OK(zipc_segment_create(c.seg, 1 << 16, 0, &seg));
        ZT_OK(zipc_set_create(seg, "s", 4, 16, NULL, &s));
        int32_t e = 7, other = 8;
        for (int32_t k = 20; k < 25; k++)
            ZT_OK(zipc_set_insert(s, &k, NULL));
        if (c.point >= 470)
            ZT_OK(zipc_set_insert(s, &e, NULL));
        int st = zt_wait(zt_fork(set_crash_body, &c));
        if (st != 128 + SIGKILL)
            zt_fail(__FILE__, __LINE__, "point %d: child status %d", c.point, st);
        /* Survivors: other elements work; the crashed one answers within
         * the bounded wait. */
        ZT_OK(zipc_set_insert(s, &other, NULL));
        int64_t t0 = (int64_t)time(NULL);
        bool present;
        int r = zipc_set_contains(s, &e, &present);
        ZT_ASSERT(r == 0 || r == -EOWNERDEAD);
        bool added = false;
        r = zipc_set_insert(s, &e, &added);
        if (r != 0 && r != -EOWNERDEAD)
            zt_fail(__FILE__, __LINE__, "point %d: insert during the crash %d", c.point, r);
        ZT_ASSERT((int64_t)time(NULL) - t0 < 10);
        bool by_survivor = r == 0 && added;
        uint32_t reclaimed = 0;
        ZT_OK(zipc_set_recover(s, &reclaimed));
        if (reclaimed != 1)
            zt_fail(__FILE__, __LINE__, "point %d: reclaimed %u", c.point, reclaimed);
        ZT_OK(zipc_set_contains(s, &e, &present));
        if (!by_survivor && present != cases[i].present_after)
            zt_fail(__FILE__, __LINE__, "point %d: present %d after recovery", c.point, present);
        int n = 0, copies = 0;
        uint64_t cur = 0;
        int32_t got;
        while (zipc_set_next(s, &cur, &got) == 0) {
            n++;
            copies += got == e;
        }
        ZT_ASSERT(copies <= 1);
        int delta = by_survivor ? 0 : cases[i].size_delta;
        if ((int64_t)zipc_set_size(s) != n + delta)
            zt_fail(__FILE__, __LINE__, "point %d: size %llu, %d elements", c.point,
                    (unsigned long long)zipc_set_size(s), n);
        ZT_OK(zipc_set_insert(s, &e, NULL)); /* works normally again */
        ZT_OK(zipc_set_remove(s, &e));
        ZT_ERR(zipc_set_remove(s, &e), -ENOENT);
        zipc_set_close(s);
        zipc_segment_close(seg);
        zipc_segment_unlink(c.seg);
    }
}
