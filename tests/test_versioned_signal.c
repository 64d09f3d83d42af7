/* Signal (versioned value): layout, get/set/version, change notification
 * across processes and threads, a setter killed mid-copy. */
#include "sync_util.h"

struct value {
    uint64_t seq, check;
    uint8_t pad[12]; /* 28 bytes: align8(8 + 28) = 40 differs from 36 */
};

ZTEST(signal_layout_is_wait_state_mtx_then_marker, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_signal *s;
    struct value v = {.seq = 7, .check = 9};
    ZT_OK(zipc_signal_create(seg, "sig", 28, &v, &s));
    ZT_EQ(zipc_segment_entry_count(seg), 4);
    const uint8_t *ws = zs_entry(seg, "sig_wait", 8, 0);
    const uint8_t *st = zs_entry(seg, "sig_state", 40, 1);
    const uint8_t *mtx = zs_entry(seg, "sig_mtx", 16, 2);
    const uint8_t *mark = zs_entry(seg, "sig", 1, 3);
    ZT_EQ_U64(zs_u64(ws, 0), 0);
    ZT_EQ_U64(zs_u64(st, 0), 0);
    ZT_EQ_U64(zs_u64(st, 8), 7);
    ZT_EQ_U64(zs_u64(st, 16), 9);
    ZT_EQ(zs_u32(mtx, 0), 1);
    ZT_EQ(zs_u32(mtx, 8), 1);
    ZT_EQ(mark[0], 0);
    v.seq = 8;
    ZT_OK(zipc_signal_set(s, &v));
    ZT_EQ_U64(zs_u64(st, 0), 1);
    ZT_EQ_U64(zs_u64(st, 8), 8);
    zipc_signal_close(s);
    zipc_segment_close(seg);
}

ZTEST(signal_open_accepts_exact_and_aligned_state_sizes_only, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_signal *s;
    uint64_t off;
    /* As a Python writer makes it: state exactly 8 + 28, no _wait entry. */
    ZT_OK(zipc_segment_add_entry(seg, "py_state", 36, &off));
    zipc_mutex *m;
    ZT_OK(zipc_mutex_create(seg, "py_mtx", &m));
    zipc_mutex_close(m);
    ZT_OK(zipc_segment_add_entry(seg, "py", 1, NULL));
    ZT_OK(zipc_signal_open(seg, "py", 28, &s));
    struct value v = {.seq = 3}, got;
    ZT_OK(zipc_signal_set(s, &v));
    uint64_t ver;
    ZT_OK(zipc_signal_get(s, &got, &ver));
    ZT_EQ_U64(got.seq, 3);
    ZT_EQ_U64(ver, 1);
    zipc_signal_close(s);
    ZT_ERR(zipc_signal_open(seg, "py", 24, &s), -EBADMSG);
    ZT_ERR(zipc_signal_open(seg, "py", 0, &s), -EINVAL);
    ZT_ERR(zipc_signal_open(seg, "none", 28, &s), -ENOENT);
    ZT_ERR(zipc_signal_create(seg, "a-name-of-exactly-26-bytes", 4, NULL, &s), -ENAMETOOLONG);
    ZT_ERR(zipc_signal_create(seg, "py", 4, NULL, &s), -EEXIST);
    ZT_ERR(zipc_signal_create(seg, "z", 0, NULL, &s), -EINVAL);
    ZT_ERR(zipc_signal_set(NULL, &v), -EINVAL);
    ZT_ERR(zipc_signal_get(NULL, &v, NULL), -EINVAL);
    ZT_ERR(zipc_signal_wait_change(NULL, 0, 0, NULL), -EINVAL);
    zipc_segment_close(seg);
}

ZTEST(signal_version_counts_sets_and_wait_change_times_out_at_deadline, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_signal *s;
    uint32_t x = 5, y = 0;
    ZT_OK(zipc_signal_create(seg, "sig", 4, NULL, &s));
    ZT_EQ_U64(zipc_signal_version(s), 0);
    ZT_ASSERT(!zipc_signal_has_changed(s, 0));
    ZT_OK(zipc_signal_set(s, &x));
    ZT_ASSERT(zipc_signal_has_changed(s, 0));
    uint64_t v;
    ZT_OK(zipc_signal_wait_change(s, 0, 0, &v));
    ZT_EQ_U64(v, 1);
    ZT_OK(zipc_signal_get(s, &y, NULL));
    ZT_EQ(y, 5);
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_signal_wait_change(s, 1, 70 * ZT_MS, &v), -ETIMEDOUT);
    zs_check_timing(t0, 70 * ZT_MS);
    ZT_EQ(zipc_signal_value_size(s), 4);
    zipc_signal_close(s);
    zipc_segment_close(seg);
}

ZTEST(signal_blocked_wait_change_uses_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_signal *s;
    ZT_OK(zipc_signal_create(seg, "sig", 8, NULL, &s));
    ZS_ASSERT_IDLE_WAIT(zipc_signal_wait_change(s, 0, 300 * ZT_MS, NULL), 300 * ZT_MS);
    zipc_signal_close(s);
    zipc_segment_close(seg);
}

/* The writer sets values 1..N (with a checksum); the watcher waits for each
 * change and checks that versions only grow and every value it gets is whole. */
static uint64_t sets(void) { return zt_env_u64("ZIPC_TEST_SIGNAL_SETS", 500); }

static void writer(zipc_segment *seg)
{
    zipc_signal *s;
    ZT_OK(zipc_signal_open(seg, "sig", sizeof(struct value), &s));
    for (uint64_t i = 1; i <= sets(); i++) {
        struct value v = {.seq = i, .check = zt_checksum(&i, 8)};
        ZT_OK(zipc_signal_set(s, &v));
        if ((i & 15) == 0)
            sched_yield();
    }
    zipc_signal_close(s);
}

static void watch(zipc_segment *seg)
{
    zipc_signal *s;
    ZT_OK(zipc_signal_open(seg, "sig", sizeof(struct value), &s));
    uint64_t seen = 0, last_seq = 0;
    while (last_seq < sets()) {
        uint64_t v;
        ZT_OK(zipc_signal_wait_change(s, seen, 10000 * ZT_MS, &v));
        ZT_ASSERT(v > seen);
        struct value got;
        ZT_OK(zipc_signal_get(s, &got, &seen));
        ZT_ASSERT(seen >= v);
        ZT_EQ_U64(got.check, zt_checksum(&got.seq, 8));
        ZT_ASSERT(got.seq >= last_seq);
        last_seq = got.seq;
    }
    zipc_signal_close(s);
}

static void writer_proc(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    writer(seg);
    zipc_segment_close(seg);
}

static zipc_segment *make_signal(void)
{
    zipc_segment *seg = zs_segment();
    zipc_signal *s;
    ZT_OK(zipc_signal_create(seg, "sig", sizeof(struct value), NULL, &s));
    zipc_signal_close(s);
    return seg;
}

ZTEST(signal_watcher_process_sees_every_change_whole_and_in_order, ZT_MEDIUM)
{
    zipc_segment *seg = make_signal();
    pid_t w = zt_fork(writer_proc, NULL);
    watch(seg);
    zt_wait_ok(w);
    zipc_segment_close(seg);
}

static void *writer_thread(void *arg)
{
    writer(arg);
    return NULL;
}

ZTEST(signal_watcher_thread_sees_every_change_whole_and_in_order, ZT_MEDIUM)
{
    zipc_segment *seg = make_signal(), *other = zs_reopen();
    pthread_t t;
    ZT_ASSERT(pthread_create(&t, NULL, writer_thread, other) == 0);
    watch(seg);
    pthread_join(t, NULL);
    zipc_segment_close(other);
    zipc_segment_close(seg);
}

static void set_and_crash(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_signal *s;
    ZT_OK(zipc_signal_open(seg, "sig", sizeof(struct value), &s));
    struct value v = {.seq = 99};
    zipc_signal_set(s, &v);
}

ZTEST(signal_setter_killed_mid_set_reports_eownerdead_until_the_next_set, ZT_FAST)
{
    zipc_segment *seg = make_signal();
    zipc_signal *s;
    ZT_OK(zipc_signal_open(seg, "sig", sizeof(struct value), &s));
    zs_crash_at(650, set_and_crash, NULL); /* copied, version not bumped */
    struct value got, v = {.seq = 5};
    uint64_t ver;
    ZT_ERR(zipc_signal_get(s, &got, &ver), -EOWNERDEAD);
    ZT_EQ_U64(ver, 0);
    ZT_ERR(zipc_signal_get(s, &got, &ver), -EOWNERDEAD);
    ZT_OK(zipc_signal_set(s, &v));
    ZT_OK(zipc_signal_get(s, &got, &ver));
    ZT_EQ_U64(got.seq, 5);
    ZT_EQ_U64(ver, 1);
    zipc_signal_close(s);
    zipc_segment_close(seg);
}

ZTEST(signal_whose_state_does_not_fit_the_segment_leaves_nothing_visible, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_signal *s;
    uint64_t before = zipc_segment_bytes_used(seg);
    ZT_ERR(zipc_signal_create(seg, "big", 2u << 20, NULL, &s), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), before);
    zipc_segment_close(seg);
}
