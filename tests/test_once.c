/* Once: layout, exactly-once with many racers, takeover after the executor
 * is killed. */
#include "sync_util.h"

static uint64_t *runs_counter(zipc_segment *seg)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "runs", &info));
    return (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

static void count_run(void *arg) { __atomic_fetch_add((uint64_t *)arg, 1, __ATOMIC_RELAXED); }

ZTEST(once_layout_is_a_state_word_plus_pid_entry_created_first, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    uint64_t runs = 0;
    ZT_OK(zipc_once_create(seg, "init", &o));
    ZT_EQ(zipc_segment_entry_count(seg), 2);
    const uint8_t *aux = zs_entry(seg, "init_pid", 8, 0);
    const uint8_t *p = zs_entry(seg, "init", 4, 1);
    ZT_EQ(zs_u32(p, 0), 0);
    ZT_EQ(zs_u64(aux, 0), 0);
    ZT_ASSERT(!zipc_once_done(o));
    ZT_EQ(zipc_once_call(o, count_run, &runs), ZIPC_ONCE_RAN);
    ZT_EQ(zs_u32(p, 0), 2);
    ZT_ASSERT(zs_u32(aux, 0) != 0); /* the executor's tid stays recorded */
    ZT_EQ(zipc_once_call(o, count_run, &runs), 0);
    ZT_EQ_U64(runs, 1);
    ZT_ASSERT(zipc_once_done(o));
    zipc_once_close(o);
    zipc_segment_close(seg);
}

ZTEST(once_create_and_open_reject_bad_arguments_and_entries, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    ZT_ERR(zipc_once_create(seg, "a-name-of-exactly-28-bytes-x", &o), -ENAMETOOLONG);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_ERR(zipc_once_create(NULL, "o", &o), -EINVAL);
    ZT_ERR(zipc_once_open(seg, "o", &o), -ENOENT);
    ZT_OK(zipc_segment_add_entry(seg, "o", 8, NULL));
    ZT_ERR(zipc_once_open(seg, "o", &o), -EBADMSG);
    ZT_ERR(zipc_once_create(seg, "o", &o), -EEXIST);
    ZT_EQ(zipc_segment_entry_count(seg), 1); /* nothing half-made */
    ZT_ERR(zipc_once_call(NULL, count_run, NULL), -EINVAL);
    zipc_segment_close(seg);
}

ZTEST(once_opened_without_pid_entry_adds_it_and_works, ZT_FAST)
{
    /* As created by another implementation: only the 4-byte state. */
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    uint64_t runs = 0;
    ZT_OK(zipc_segment_add_entry(seg, "foreign", 4, NULL));
    ZT_OK(zipc_once_open(seg, "foreign", &o));
    zs_entry(seg, "foreign_pid", 8, 1);
    ZT_EQ(zipc_once_call(o, count_run, &runs), ZIPC_ONCE_RAN);
    ZT_EQ(zipc_once_call(o, count_run, &runs), 0);
    ZT_EQ_U64(runs, 1);
    zipc_once_close(o);
    zipc_segment_close(seg);
}

#define RACERS 6

static void racer(void *arg)
{
    zt_gate *g = arg;
    zipc_segment *seg = zs_reopen();
    zipc_once *o;
    ZT_OK(zipc_once_open(seg, "init", &o));
    zt_gate_wait(g);
    int r = zipc_once_call_timeout(o, count_run, runs_counter(seg), 20000 * ZT_MS);
    ZT_ASSERT(r == 0 || r == ZIPC_ONCE_RAN);
    ZT_ASSERT(zipc_once_done(o));
    ZT_EQ_U64(*runs_counter(seg), 1); /* FN's effect is visible to everyone */
    zipc_once_close(o);
    zipc_segment_close(seg);
    _exit(r == ZIPC_ONCE_RAN ? 10 : 0);
}

ZTEST(once_runs_exactly_once_with_many_racing_processes, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    ZT_OK(zipc_once_create(seg, "init", &o));
    ZT_OK(zipc_segment_add_entry(seg, "runs", 8, NULL));
    zt_gate g;
    zt_gate_init(&g);
    pid_t pids[RACERS];
    for (int i = 0; i < RACERS; i++)
        pids[i] = zt_fork(racer, &g);
    zt_gate_open(&g);
    int ran = 0;
    for (int i = 0; i < RACERS; i++) {
        int st = zt_wait(pids[i]);
        ZT_ASSERT(st == 0 || st == 10);
        ran += st == 10;
    }
    ZT_EQ(ran, 1);
    ZT_EQ_U64(*runs_counter(seg), 1);
    zipc_once_close(o);
    zipc_segment_close(seg);
}

struct thread_racer {
    zipc_segment *seg;
    int result;
};

static void *racer_thread(void *p)
{
    struct thread_racer *t = p;
    zipc_once *o;
    ZT_OK(zipc_once_open(t->seg, "init", &o));
    t->result = zipc_once_call(o, count_run, runs_counter(t->seg));
    ZT_EQ_U64(*runs_counter(t->seg), 1);
    zipc_once_close(o);
    return NULL;
}

ZTEST(once_runs_exactly_once_with_many_racing_threads, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    ZT_OK(zipc_once_create(seg, "init", &o));
    ZT_OK(zipc_segment_add_entry(seg, "runs", 8, NULL));
    pthread_t t[RACERS];
    struct thread_racer r[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct thread_racer){.seg = zs_reopen()};
        ZT_ASSERT(pthread_create(&t[i], NULL, racer_thread, &r[i]) == 0);
    }
    int ran = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        ran += r[i].result == ZIPC_ONCE_RAN;
        ZT_ASSERT(r[i].result == 0 || r[i].result == ZIPC_ONCE_RAN);
        zipc_segment_close(r[i].seg);
    }
    ZT_EQ(ran, 1);
    zipc_once_close(o);
    zipc_segment_close(seg);
}

static void hang_in_fn(void *arg)
{
    (void)arg;
    /* returns to zs_crash_child, which reports and waits to be killed */
}

static void start_once_and_hang(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_once *o;
    ZT_OK(zipc_once_open(seg, "init", &o));
    zipc_once_call(o, hang_in_fn, NULL);
}

ZTEST(once_executor_killed_mid_call_is_taken_over_and_reported, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    uint64_t runs = 0;
    ZT_OK(zipc_once_create(seg, "init", &o));
    zs_crash_at(620, start_once_and_hang, NULL); /* EXECUTING, then killed */
    const uint8_t *p = zs_entry(seg, "init", 4, 1);
    ZT_EQ(zs_u32(p, 0), 1);
    int64_t t0 = zs_now_ns();
    ZT_EQ(zipc_once_call_timeout(o, count_run, &runs, 5000 * ZT_MS), ZIPC_ONCE_RECOVERED);
    ZT_ASSERT(zs_now_ns() - t0 < 2000 * ZT_MS);
    ZT_EQ_U64(runs, 1);
    ZT_EQ(zipc_once_call(o, count_run, &runs), 0);
    zipc_once_close(o);
    zipc_segment_close(seg);
}

static void block_in_once(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_once *o;
    ZT_OK(zipc_once_open(seg, "init", &o));
    ZT_EQ(zipc_once_call_timeout(o, count_run, runs_counter(seg), 10000 * ZT_MS),
          ZIPC_ONCE_RECOVERED);
    zipc_once_close(o);
    zipc_segment_close(seg);
}

static void pause_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
}

static void execute_forever(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_once *o;
    ZT_OK(zipc_once_open(seg, "init", &o));
    zipc_once_call(o, pause_forever, NULL);
}

ZTEST(once_waiter_takes_over_when_the_executor_dies_while_it_waits, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    ZT_OK(zipc_once_create(seg, "init", &o));
    ZT_OK(zipc_segment_add_entry(seg, "runs", 8, NULL));
    pid_t ex = zt_fork(execute_forever, NULL); /* stuck inside FN */
    const uint8_t *p = zs_entry(seg, "init", 4, 1);
    while (zs_u32(p, 0) != 1) /* executing */
        sched_yield();
    pid_t waiter = zt_fork(block_in_once, NULL);
    const uint8_t *aux = zs_entry(seg, "init_pid", 8, 0);
    while (zs_u32(aux, 4) == 0) /* the waiter sleeps */
        sched_yield();
    kill(ex, SIGKILL);
    ZT_EQ(zt_wait(ex), 128 + SIGKILL);
    zt_wait_ok(waiter);
    ZT_EQ_U64(*runs_counter(seg), 1);
    ZT_ASSERT(zipc_once_done(o));
    zipc_once_close(o);
    zipc_segment_close(seg);
}

ZTEST(once_blocked_call_uses_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_once *o;
    ZT_OK(zipc_once_create(seg, "init", &o));
    pid_t ex = zt_fork(execute_forever, NULL);
    const uint8_t *p = zs_entry(seg, "init", 4, 1);
    while (zs_u32(p, 0) != 1)
        sched_yield();
    ZS_ASSERT_IDLE_WAIT(zipc_once_call_timeout(o, count_run, NULL, 300 * ZT_MS), 300 * ZT_MS);
    kill(ex, SIGKILL);
    zt_wait(ex);
    zipc_once_close(o);
    zipc_segment_close(seg);
}
