/* Barrier: layout, generations across processes and threads, timeouts and a
 * missing (killed) participant. */
#include "sync_util.h"

ZTEST(barrier_layout_is_arrived_generation_participants_padding, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_create(seg, "bar", 1, &b));
    const uint8_t *p = zs_entry(seg, "bar", 16, 0);
    ZT_EQ(zs_u32(p, 0), 0);
    ZT_EQ(zs_u32(p, 4), 0);
    ZT_EQ(zs_u32(p, 8), 1);
    ZT_EQ(zs_u32(p, 12), 0);
    ZT_EQ(zipc_barrier_wait(b), ZIPC_BARRIER_LAST); /* one participant: always last */
    ZT_EQ(zs_u32(p, 0), 0);
    ZT_EQ(zs_u32(p, 4), 1);
    ZT_EQ(zipc_barrier_generation(b), 1);
    zipc_barrier_close(b);
    zipc_segment_close(seg);
}

ZTEST(barrier_create_and_open_reject_bad_arguments_and_entries, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_barrier *b;
    uint64_t off;
    ZT_ERR(zipc_barrier_create(seg, "b", 0, &b), -EINVAL);
    ZT_ERR(zipc_barrier_create(seg, "b", -2, &b), -EINVAL);
    ZT_ERR(zipc_barrier_create(NULL, "b", 2, &b), -EINVAL);
    ZT_ERR(zipc_barrier_open(seg, "b", &b), -ENOENT);
    ZT_OK(zipc_segment_add_entry(seg, "zero", 16, &off)); /* num_participants 0 */
    ZT_ERR(zipc_barrier_open(seg, "zero", &b), -EBADMSG);
    ZT_OK(zipc_segment_add_entry(seg, "big", 24, &off));
    ZT_ERR(zipc_barrier_open(seg, "big", &b), -EBADMSG);
    ZT_ERR(zipc_barrier_wait(NULL), -EINVAL);
    zipc_segment_close(seg);
}

ZTEST(barrier_wait_timeout_withdraws_the_arrival_at_the_deadline, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_create(seg, "bar", 2, &b));
    const uint8_t *p = zs_entry(seg, "bar", 16, 0);
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_barrier_wait_timeout(b, 60 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 60 * ZT_MS);
    ZT_EQ(zs_u32(p, 0), 0); /* withdrawn */
    ZT_EQ(zs_u32(p, 4), 0);
    ZT_EQ(zs_u32(p, 12), 0);
    zipc_barrier_close(b);
    zipc_segment_close(seg);
}

#define PARTIES 3

static uint64_t rounds(void) { return zt_env_u64("ZIPC_TEST_BARRIER_ROUNDS", 1000); }

/* Each party writes its slot of round r, crosses the barrier, checks that
 * every slot holds r, crosses again (so nobody overwrites early). */
static void barrier_party(zipc_segment *seg, int id)
{
    zipc_barrier *b;
    ZT_OK(zipc_barrier_open(seg, "bar", &b));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "slots", &info));
    uint64_t *slot = (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
    int lasts = 0;
    for (uint64_t r = 1; r <= rounds(); r++) {
        __atomic_store_n(&slot[id], r, __ATOMIC_RELAXED);
        int x = zipc_barrier_wait_timeout(b, 20000 * ZT_MS);
        ZT_ASSERT(x == 0 || x == ZIPC_BARRIER_LAST);
        lasts += x;
        for (int j = 0; j < PARTIES; j++)
            ZT_EQ_U64(__atomic_load_n(&slot[j], __ATOMIC_RELAXED), r);
        x = zipc_barrier_wait_timeout(b, 20000 * ZT_MS);
        ZT_ASSERT(x == 0 || x == ZIPC_BARRIER_LAST);
    }
    (void)lasts;
    zipc_barrier_close(b);
}

static void party_proc(void *arg)
{
    zipc_segment *seg = zs_reopen();
    barrier_party(seg, (int)(intptr_t)arg);
    zipc_segment_close(seg);
}

static zipc_segment *make_barrier(void)
{
    zipc_segment *seg = zs_segment();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_create(seg, "bar", PARTIES, &b));
    zipc_barrier_close(b);
    ZT_OK(zipc_segment_add_entry(seg, "slots", 8 * PARTIES, NULL));
    return seg;
}

ZTEST(barrier_generations_keep_processes_in_lockstep, ZT_MEDIUM)
{
    zipc_segment *seg = make_barrier();
    pid_t pids[PARTIES];
    for (int i = 0; i < PARTIES; i++)
        pids[i] = zt_fork(party_proc, (void *)(intptr_t)i);
    for (int i = 0; i < PARTIES; i++)
        zt_wait_ok(pids[i]);
    zipc_barrier *b;
    ZT_OK(zipc_barrier_open(seg, "bar", &b));
    ZT_EQ(zipc_barrier_generation(b), 2 * rounds());
    zipc_barrier_close(b);
    zipc_segment_close(seg);
}

struct party {
    zipc_segment *seg;
    int id;
};

static void *party_thread(void *p)
{
    struct party *t = p;
    barrier_party(t->seg, t->id);
    return NULL;
}

ZTEST(barrier_generations_keep_threads_in_lockstep, ZT_MEDIUM)
{
    zipc_segment *seg = make_barrier();
    pthread_t t[PARTIES];
    struct party ps[PARTIES];
    for (int i = 0; i < PARTIES; i++) {
        ps[i] = (struct party){.seg = zs_reopen(), .id = i};
        ZT_ASSERT(pthread_create(&t[i], NULL, party_thread, &ps[i]) == 0);
    }
    for (int i = 0; i < PARTIES; i++) {
        pthread_join(t[i], NULL);
        zipc_segment_close(ps[i].seg);
    }
    zipc_segment_close(seg);
}

static void arrive_and_expect_timeout(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_open(seg, "bar", &b));
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_barrier_wait_timeout(b, 150 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 150 * ZT_MS);
    zipc_barrier_close(b);
    zipc_segment_close(seg);
}

static void die_before_arriving(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_open(seg, "bar", &b));
}

ZTEST(barrier_participant_killed_before_arriving_makes_the_others_time_out, ZT_FAST)
{
    zipc_segment *seg = make_barrier();
    zs_run_and_kill(die_before_arriving, NULL); /* the third party never comes */
    pid_t a = zt_fork(arrive_and_expect_timeout, NULL);
    pid_t b = zt_fork(arrive_and_expect_timeout, NULL);
    zt_wait_ok(a);
    zt_wait_ok(b);
    /* Both arrivals were withdrawn: a fresh round of three completes. */
    const uint8_t *p = zs_entry(seg, "bar", 16, 0);
    ZT_EQ(zs_u32(p, 0), 0);
    pid_t pids[PARTIES];
    for (int i = 0; i < PARTIES; i++)
        pids[i] = zt_fork(party_proc, (void *)(intptr_t)i);
    for (int i = 0; i < PARTIES; i++)
        zt_wait_ok(pids[i]);
    zipc_segment_close(seg);
}

static void arrive_then_crash(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_open(seg, "bar", &b));
    zipc_barrier_wait(b);
}

ZTEST(barrier_participant_killed_after_arriving_still_counts, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_create(seg, "bar", 2, &b));
    zs_crash_at(610, arrive_then_crash, NULL); /* arrived, then killed */
    ZT_EQ(zipc_barrier_wait_timeout(b, 5000 * ZT_MS), ZIPC_BARRIER_LAST);
    zipc_barrier_close(b);
    zipc_segment_close(seg);
}

ZTEST(barrier_blocked_wait_uses_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_barrier *b;
    ZT_OK(zipc_barrier_create(seg, "bar", 2, &b));
    ZS_ASSERT_IDLE_WAIT(zipc_barrier_wait_timeout(b, 300 * ZT_MS), 300 * ZT_MS);
    zipc_barrier_close(b);
    zipc_segment_close(seg);
}
