/* Set: the Map core with 0-byte values. Layout, return codes, concurrency. */
#include <pthread.h>

#include "harness.h"

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
