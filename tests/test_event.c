/* Event: layout, auto/manual reset, pulse, timeouts, processes and threads. */
#include "sync_util.h"

ZTEST(event_layout_is_12_byte_event_then_its_semaphore, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_MANUAL_RESET, &e));
    const uint8_t *p = zs_entry(seg, "ev", 12, 0);
    const uint8_t *s = zs_entry(seg, "ev_sem", 16, 1);
    ZT_EQ(zs_u32(p, 0), 0);
    ZT_EQ(zs_u32(p, 4), 1);
    ZT_EQ(zs_u32(p, 8), 0);
    ZT_EQ_U64(zs_u64(s, 0), 0); /* count 0, waiting 0 */
    ZT_EQ_U64(zs_u64(s, 8), 0); /* max 0, padding 0 */
    zipc_entry_info a, b;
    ZT_OK(zipc_segment_find(seg, "ev", &a));
    ZT_OK(zipc_segment_find(seg, "ev_sem", &b));
    ZT_EQ_U64(b.offset, (a.offset + 12 + 7) & ~7ull); /* allocated right after */
    ZT_OK(zipc_event_signal(e));
    ZT_EQ(zs_u32(p, 0), 1);
    ZT_OK(zipc_event_reset(e));
    ZT_EQ(zs_u32(p, 0), 0);
    zipc_event_close(e);
    zipc_segment_close(seg);
}

ZTEST(event_create_and_open_reject_bad_arguments_and_entries, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_ERR(zipc_event_create(seg, "e", 2, &e), -EINVAL);
    ZT_ERR(zipc_event_create(NULL, "e", 0, &e), -EINVAL);
    ZT_ERR(zipc_event_create(seg, "a-name-of-exactly-28-bytes-x", 0, &e), -ENAMETOOLONG);
    ZT_ERR(zipc_event_open(seg, "e", &e), -ENOENT);
    ZT_OK(zipc_segment_add_entry(seg, "e", 12, NULL));
    ZT_ERR(zipc_event_open(seg, "e", &e), -ENOENT); /* no e_sem */
    ZT_ERR(zipc_event_create(seg, "e", 0, &e), -EEXIST);
    ZT_EQ(zipc_segment_entry_count(seg), 1);
    ZT_OK(zipc_segment_add_entry(seg, "e_sem", 16, NULL));
    ZT_OK(zipc_event_open(seg, "e", &e)); /* mode 0: auto */
    ZT_EQ(zipc_event_mode(e), ZIPC_EVENT_AUTO_RESET);
    zipc_event_close(e);
    uint64_t off;
    ZT_OK(zipc_segment_add_entry(seg, "m", 12, &off));
    ZT_OK(zipc_segment_add_entry(seg, "m_sem", 16, NULL));
    ((uint8_t *)zipc_segment_base(seg))[off + 4] = 7; /* bad mode */
    ZT_ERR(zipc_event_open(seg, "m", &e), -EBADMSG);
    ZT_ERR(zipc_event_signal(NULL), -EINVAL);
    ZT_ERR(zipc_event_wait(NULL), -EINVAL);
    zipc_segment_close(seg);
}

ZTEST(event_auto_reset_releases_one_wait_per_signal, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_AUTO_RESET, &e));
    ZT_ERR(zipc_event_try_wait(e), -EAGAIN);
    ZT_OK(zipc_event_signal(e));
    ZT_OK(zipc_event_signal(e)); /* not counted: still one */
    ZT_ASSERT(zipc_event_is_signaled(e));
    ZT_OK(zipc_event_wait(e));
    ZT_ASSERT(!zipc_event_is_signaled(e));
    ZT_ERR(zipc_event_try_wait(e), -EAGAIN);
    ZT_ERR(zipc_event_wait_timeout(e, 0), -ETIMEDOUT);
    ZT_OK(zipc_event_pulse(e)); /* nobody waits: nothing happens */
    ZT_ERR(zipc_event_try_wait(e), -EAGAIN);
    zipc_event_close(e);
    zipc_segment_close(seg);
}

ZTEST(event_manual_reset_releases_every_wait_until_reset, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_MANUAL_RESET, &e));
    ZT_OK(zipc_event_signal(e));
    ZT_OK(zipc_event_wait(e));
    ZT_OK(zipc_event_try_wait(e));
    ZT_OK(zipc_event_wait_timeout(e, 0));
    ZT_OK(zipc_event_reset(e));
    ZT_ERR(zipc_event_try_wait(e), -EAGAIN);
    ZT_OK(zipc_event_pulse(e));
    ZT_ERR(zipc_event_try_wait(e), -EAGAIN); /* a pulse leaves it unsignaled */
    zipc_event_close(e);
    zipc_segment_close(seg);
}

ZTEST(event_wait_timeout_expires_no_earlier_than_deadline, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_AUTO_RESET, &e));
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_event_wait_timeout(e, 70 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 70 * ZT_MS);
    ZT_EQ(zs_u32(zs_entry(seg, "ev", 12, 0), 8), 0);
    zipc_event_close(e);
    zipc_segment_close(seg);
}

ZTEST(event_blocked_wait_uses_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_MANUAL_RESET, &e));
    ZS_ASSERT_IDLE_WAIT(zipc_event_wait_timeout(e, 300 * ZT_MS), 300 * ZT_MS);
    zipc_event_close(e);
    zipc_segment_close(seg);
}

#define WAITERS 3

static void wait_event(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_event *e;
    ZT_OK(zipc_event_open(seg, "ev", &e));
    ZT_OK(zipc_event_wait_timeout(e, 10000 * ZT_MS));
    zipc_event_close(e);
    zipc_segment_close(seg);
}

static void wait_sleepers(zipc_segment *seg, uint32_t n)
{
    const uint8_t *p = zs_entry(seg, "ev", 12, 0);
    while (zs_u32(p, 8) < n)
        sched_yield();
}

ZTEST(event_manual_signal_and_pulse_release_all_sleeping_processes, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_MANUAL_RESET, &e));
    for (int round = 0; round < 2; round++) {
        pid_t pids[WAITERS];
        for (int i = 0; i < WAITERS; i++)
            pids[i] = zt_fork(wait_event, NULL);
        wait_sleepers(seg, WAITERS);
        ZT_OK(round == 0 ? zipc_event_pulse(e) : zipc_event_signal(e));
        for (int i = 0; i < WAITERS; i++)
            zt_wait_ok(pids[i]);
        ZT_EQ(zipc_event_is_signaled(e), round == 1);
    }
    zipc_event_close(e);
    zipc_segment_close(seg);
}

static void wait_event_short(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_event *e;
    ZT_OK(zipc_event_open(seg, "ev", &e));
    int r = zipc_event_wait_timeout(e, 400 * ZT_MS);
    ZT_ASSERT(r == 0 || r == -ETIMEDOUT);
    _exit(r == 0 ? 10 : 0);
}

ZTEST(event_auto_signal_and_pulse_release_exactly_one_sleeping_process, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_AUTO_RESET, &e));
    for (int round = 0; round < 2; round++) {
        pid_t pids[WAITERS];
        for (int i = 0; i < WAITERS; i++)
            pids[i] = zt_fork(wait_event_short, NULL);
        wait_sleepers(seg, WAITERS);
        ZT_OK(round == 0 ? zipc_event_signal(e) : zipc_event_pulse(e));
        int released = 0;
        for (int i = 0; i < WAITERS; i++)
            released += zt_wait(pids[i]) == 10;
        ZT_EQ(released, 1);
        ZT_ASSERT(!zipc_event_is_signaled(e));
    }
    zipc_event_close(e);
    zipc_segment_close(seg);
}

static void *wait_event_thread(void *arg)
{
    zipc_event *e;
    ZT_OK(zipc_event_open(arg, "ev", &e));
    for (int i = 0; i < 200; i++)
        ZT_OK(zipc_event_wait_timeout(e, 10000 * ZT_MS));
    zipc_event_close(e);
    return NULL;
}

ZTEST(event_auto_reset_hands_each_signal_to_one_thread, ZT_FAST)
{
    zipc_segment *seg = zs_segment(), *other = zs_reopen();
    zipc_event *e;
    ZT_OK(zipc_event_create(seg, "ev", ZIPC_EVENT_AUTO_RESET, &e));
    pthread_t t;
    ZT_ASSERT(pthread_create(&t, NULL, wait_event_thread, other) == 0);
    const uint8_t *p = zs_entry(seg, "ev", 12, 0);
    for (int i = 0; i < 200; i++) {
        /* signal only when the previous one was consumed, so none merge */
        while (__atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE) != 0)
            sched_yield();
        ZT_OK(zipc_event_signal(e));
    }
    pthread_join(t, NULL);
    zipc_event_close(e);
    zipc_segment_close(other);
    zipc_segment_close(seg);
}
