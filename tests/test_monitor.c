/* Monitor: layout, wait/notify contract, producer/consumer across processes
 * and threads, a killed holder. */
#include "sync_util.h"

ZTEST(monitor_layout_is_mtx_cond_count_then_marker_created_together, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_monitor *m;
    ZT_OK(zipc_monitor_create(seg, "mon", &m));
    ZT_EQ(zipc_segment_entry_count(seg), 4);
    const uint8_t *mtx = zs_entry(seg, "mon_mtx", 16, 0);
    const uint8_t *cond = zs_entry(seg, "mon_cond", 16, 1);
    const uint8_t *cnt = zs_entry(seg, "mon_count", 4, 2);
    const uint8_t *mark = zs_entry(seg, "mon", 1, 3);
    ZT_EQ(zs_u32(mtx, 0), 1);
    ZT_EQ(zs_u32(mtx, 8), 1);
    ZT_EQ_U64(zs_u64(cond, 0), 0);
    ZT_EQ_U64(zs_u64(cond, 8), 0);
    ZT_EQ(zs_u32(cnt, 0), 0);
    ZT_EQ(mark[0], 0);
    zipc_monitor_close(m);
    zipc_segment_close(seg);
}

ZTEST(monitor_create_and_open_reject_bad_names_and_parts, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_monitor *m;
    ZT_ERR(zipc_monitor_create(seg, "a-name-of-exactly-26-bytes", &m), -ENAMETOOLONG);
    ZT_OK(zipc_monitor_create(seg, "a-name-of-exactly-25-byte", &m));
    zipc_monitor_close(m);
    ZT_ERR(zipc_monitor_create(NULL, "m", &m), -EINVAL);
    ZT_OK(zipc_segment_add_entry(seg, "m_cond", 16, NULL)); /* a part exists */
    ZT_ERR(zipc_monitor_create(seg, "m", &m), -EEXIST);
    ZT_ERR(zipc_monitor_open(seg, "m", &m), -ENOENT); /* no marker: nothing half-made */
    ZT_OK(zipc_segment_add_entry(seg, "m", 1, NULL));
    ZT_ERR(zipc_monitor_open(seg, "m", &m), -ENOENT); /* no m_mtx */
    ZT_OK(zipc_segment_add_entry(seg, "m_mtx", 16, NULL)); /* max_count 0: not a mutex */
    ZT_ERR(zipc_monitor_open(seg, "m", &m), -EBADMSG);
    ZT_ERR(zipc_monitor_wait(NULL, 0), -EINVAL);
    zipc_segment_close(seg);
}

ZTEST(monitor_wait_and_notify_need_the_lock, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_monitor *m;
    ZT_OK(zipc_monitor_create(seg, "mon", &m));
    ZT_ERR(zipc_monitor_wait(m, 0), -EPERM);
    ZT_ERR(zipc_monitor_notify_one(m), -EPERM);
    ZT_ERR(zipc_monitor_notify_all(m), -EPERM);
    ZT_ERR(zipc_monitor_unlock(m), -EPERM);
    ZT_OK(zipc_monitor_lock(m));
    ZT_OK(zipc_monitor_notify_one(m)); /* nobody waits: nothing */
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_monitor_wait(m, 60 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 60 * ZT_MS);
    ZT_EQ(zs_u32(zs_entry(seg, "mon_count", 4, 2), 0), 0); /* withdrawn */
    ZT_OK(zipc_monitor_unlock(m)); /* still held after the wait */
    ZT_OK(zipc_monitor_lock_timeout(m, 0));
    ZT_OK(zipc_monitor_unlock(m));
    zipc_monitor_close(m);
    zipc_segment_close(seg);
}

ZTEST(monitor_blocked_wait_uses_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_monitor *m;
    ZT_OK(zipc_monitor_create(seg, "mon", &m));
    ZT_OK(zipc_monitor_lock(m));
    ZS_ASSERT_IDLE_WAIT(zipc_monitor_wait(m, 300 * ZT_MS), 300 * ZT_MS);
    ZT_OK(zipc_monitor_unlock(m));
    zipc_monitor_close(m);
    zipc_segment_close(seg);
}

/* Producer/consumer through a one-slot buffer guarded by the monitor:
 * {full flag, value}. Predicate loops; notify_all, so both roles wake. */
struct slot {
    uint64_t full, value;
};

static uint64_t items(void) { return zt_env_u64("ZIPC_TEST_MONITOR_ITEMS", 2000); }

static struct slot *slot_of(zipc_segment *seg)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "slot", &info));
    return (struct slot *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

static void producer(zipc_segment *seg, uint64_t id, uint64_t producers)
{
    zipc_monitor *m;
    ZT_OK(zipc_monitor_open(seg, "mon", &m));
    struct slot *s = slot_of(seg);
    for (uint64_t i = id; i < items(); i += producers) {
        ZT_OK(zipc_monitor_lock(m));
        while (s->full)
            ZT_OK(zipc_monitor_wait(m, ZIPC_WAIT_FOREVER));
        s->value = i;
        s->full = 1;
        ZT_OK(zipc_monitor_notify_all(m));
        ZT_OK(zipc_monitor_unlock(m));
    }
    zipc_monitor_close(m);
}

static void consume_all(zipc_segment *seg)
{
    zipc_monitor *m;
    ZT_OK(zipc_monitor_open(seg, "mon", &m));
    struct slot *s = slot_of(seg);
    uint8_t *seen = calloc(items(), 1);
    for (uint64_t n = 0; n < items(); n++) {
        ZT_OK(zipc_monitor_lock(m));
        while (!s->full)
            ZT_OK(zipc_monitor_wait(m, ZIPC_WAIT_FOREVER));
        ZT_ASSERT(s->value < items() && !seen[s->value]); /* no loss, no duplicate */
        seen[s->value] = 1;
        s->full = 0;
        ZT_OK(zipc_monitor_notify_all(m));
        ZT_OK(zipc_monitor_unlock(m));
    }
    free(seen);
    zipc_monitor_close(m);
}

#define PRODUCERS 2

static void producer_proc(void *arg)
{
    zipc_segment *seg = zs_reopen();
    producer(seg, (uint64_t)(intptr_t)arg, PRODUCERS);
    zipc_segment_close(seg);
}

static zipc_segment *make_pc(void)
{
    zipc_segment *seg = zs_segment();
    zipc_monitor *m;
    ZT_OK(zipc_monitor_create(seg, "mon", &m));
    zipc_monitor_close(m);
    ZT_OK(zipc_segment_add_entry(seg, "slot", sizeof(struct slot), NULL));
    return seg;
}

ZTEST(monitor_producers_and_consumer_processes_pass_every_item_once, ZT_MEDIUM)
{
    zipc_segment *seg = make_pc();
    pid_t p[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        p[i] = zt_fork(producer_proc, (void *)(intptr_t)i);
    consume_all(seg);
    for (int i = 0; i < PRODUCERS; i++)
        zt_wait_ok(p[i]);
    zipc_segment_close(seg);
}

struct prod_thread {
    zipc_segment *seg;
    uint64_t id;
};

static void *producer_thread(void *arg)
{
    struct prod_thread *t = arg;
    producer(t->seg, t->id, PRODUCERS);
    return NULL;
}

ZTEST(monitor_producer_and_consumer_threads_pass_every_item_once, ZT_MEDIUM)
{
    zipc_segment *seg = make_pc();
    pthread_t t[PRODUCERS];
    struct prod_thread pt[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        pt[i] = (struct prod_thread){.seg = zs_reopen(), .id = (uint64_t)i};
        ZT_ASSERT(pthread_create(&t[i], NULL, producer_thread, &pt[i]) == 0);
    }
    consume_all(seg);
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        zipc_segment_close(pt[i].seg);
    }
    zipc_segment_close(seg);
}

static void lock_monitor_and_hold(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_monitor *m;
    ZT_OK(zipc_monitor_open(seg, "mon", &m));
    ZT_OK(zipc_monitor_lock(m));
}

ZTEST(monitor_holder_killed_gives_eownerdead_to_the_next_locker, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_monitor *m;
    ZT_OK(zipc_monitor_create(seg, "mon", &m));
    zs_run_and_kill(lock_monitor_and_hold, NULL);
    ZT_ERR(zipc_monitor_lock_timeout(m, 5000 * ZT_MS), -EOWNERDEAD);
    ZT_OK(zipc_monitor_consistent(m));
    ZT_OK(zipc_monitor_notify_all(m));
    ZT_OK(zipc_monitor_unlock(m));
    zipc_monitor_close(m);
    zipc_segment_close(seg);
}
