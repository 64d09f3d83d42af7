/* Latch: layout, saturation, start gate across processes and threads. */
#include "sync_util.h"

ZTEST(latch_layout_is_count_initial_padding_in_16_bytes, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_latch *l;
    ZT_OK(zipc_latch_create(seg, "latch", 5, &l));
    const uint8_t *p = zs_entry(seg, "latch", 16, 0);
    ZT_EQ(zs_u32(p, 0), 5);
    ZT_EQ(zs_u32(p, 4), 5);
    ZT_EQ(zs_u64(p, 8), 0);
    ZT_OK(zipc_latch_count_down(l, 2));
    ZT_EQ(zs_u32(p, 0), 3);
    ZT_EQ(zipc_latch_count(l), 3);
    ZT_EQ(zipc_latch_initial_count(l), 5);
    zipc_latch_close(l);
    zipc_segment_close(seg);
}

ZTEST(latch_count_down_saturates_at_zero_and_stays_open, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_latch *l;
    ZT_OK(zipc_latch_create(seg, "latch", 3, &l));
    ZT_ERR(zipc_latch_try_wait(l), -EAGAIN);
    ZT_ERR(zipc_latch_wait_timeout(l, 0), -ETIMEDOUT);
    ZT_OK(zipc_latch_count_down(l, 10));
    ZT_EQ(zipc_latch_count(l), 0);
    ZT_OK(zipc_latch_count_down(l, 1));
    ZT_EQ(zipc_latch_count(l), 0);
    ZT_OK(zipc_latch_try_wait(l));
    ZT_OK(zipc_latch_wait(l));
    ZT_ERR(zipc_latch_count_down(l, 0), -EINVAL);
    ZT_ERR(zipc_latch_count_down(NULL, 1), -EINVAL);
    ZT_ERR(zipc_latch_create(seg, "x", -1, &l), -EINVAL);
    ZT_ERR(zipc_latch_open(seg, "x", &l), -ENOENT);
    ZT_OK(zipc_segment_add_entry(seg, "x", 12, NULL));
    ZT_ERR(zipc_latch_open(seg, "x", &l), -EBADMSG);
    zipc_segment_close(seg);
}

ZTEST(latch_wait_timeout_expires_no_earlier_than_deadline, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_latch *l;
    ZT_OK(zipc_latch_create(seg, "latch", 1, &l));
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_latch_wait_timeout(l, 70 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 70 * ZT_MS);
    zipc_latch_close(l);
    zipc_segment_close(seg);
}

ZTEST(latch_blocked_wait_uses_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_latch *l;
    ZT_OK(zipc_latch_create(seg, "latch", 1, &l));
    ZS_ASSERT_IDLE_WAIT(zipc_latch_wait_timeout(l, 300 * ZT_MS), 300 * ZT_MS);
    zipc_latch_close(l);
    zipc_segment_close(seg);
}

/* Start gate: workers count down "ready", then wait on "go"; the parent
 * waits for ready, records the time, opens go. No worker may pass before. */
#define WORKERS 4

static void gate_worker(zipc_segment *seg)
{
    zipc_latch *ready, *go;
    ZT_OK(zipc_latch_open(seg, "ready", &ready));
    ZT_OK(zipc_latch_open(seg, "go", &go));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "opened", &info));
    uint64_t *opened = (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
    ZT_OK(zipc_latch_count_down(ready, 1));
    ZT_OK(zipc_latch_wait_timeout(go, 20000 * ZT_MS));
    ZT_EQ_U64(*opened, 1); /* plain read: the latch orders it after the write */
    zipc_latch_close(ready);
    zipc_latch_close(go);
}

static void gate_proc(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    gate_worker(seg);
    zipc_segment_close(seg);
}

static void *gate_thread(void *arg)
{
    gate_worker(arg);
    return NULL;
}

static void run_gate(bool threads)
{
    zipc_segment *seg = zs_segment();
    zipc_latch *ready, *go;
    uint64_t off;
    ZT_OK(zipc_latch_create(seg, "ready", WORKERS, &ready));
    ZT_OK(zipc_latch_create(seg, "go", 1, &go));
    ZT_OK(zipc_segment_add_entry(seg, "opened", 8, &off));
    pid_t pids[WORKERS];
    pthread_t t[WORKERS];
    zipc_segment *maps[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        if (threads) {
            maps[i] = zs_reopen();
            ZT_ASSERT(pthread_create(&t[i], NULL, gate_thread, maps[i]) == 0);
        } else {
            pids[i] = zt_fork(gate_proc, NULL);
        }
    }
    ZT_OK(zipc_latch_wait_timeout(ready, 20000 * ZT_MS));
    *(uint64_t *)((uint8_t *)zipc_segment_base(seg) + off) = 1;
    ZT_OK(zipc_latch_count_down(go, 1));
    for (int i = 0; i < WORKERS; i++) {
        if (threads) {
            pthread_join(t[i], NULL);
            zipc_segment_close(maps[i]);
        } else {
            zt_wait_ok(pids[i]);
        }
    }
    zipc_latch_close(ready);
    zipc_latch_close(go);
    zipc_segment_close(seg);
}

ZTEST(latch_start_gate_releases_every_process_after_it_opens, ZT_FAST) { run_gate(false); }
ZTEST(latch_start_gate_releases_every_thread_after_it_opens, ZT_FAST) { run_gate(true); }
