/* Semaphore: layout, return codes, waking, timeouts, processes and threads. */
#include "sync_util.h"

ZTEST(semaphore_layout_is_count_waiting_max_padding_in_16_bytes, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_semaphore *s;
    ZT_OK(zipc_semaphore_create(seg, "sem", 3, 5, &s));
    const uint8_t *p = zs_entry(seg, "sem", 16, 0);
    ZT_EQ(zs_u32(p, 0), 3);
    ZT_EQ(zs_u32(p, 4), 0);
    ZT_EQ(zs_u32(p, 8), 5);
    ZT_EQ(zs_u32(p, 12), 0);
    ZT_OK(zipc_semaphore_acquire(s));
    ZT_EQ(zs_u32(p, 0), 2);
    ZT_EQ(zipc_semaphore_count(s), 2);
    ZT_EQ(zipc_semaphore_max_count(s), 5);
    zipc_semaphore_close(s);
    zipc_segment_close(seg);
}

ZTEST(semaphore_try_acquire_returns_eagain_at_zero, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_semaphore *s;
    ZT_OK(zipc_semaphore_create(seg, "sem", 1, 0, &s));
    ZT_OK(zipc_semaphore_try_acquire(s));
    ZT_ERR(zipc_semaphore_try_acquire(s), -EAGAIN);
    ZT_ERR(zipc_semaphore_acquire_timeout(s, 0), -ETIMEDOUT);
    ZT_OK(zipc_semaphore_release(s, 2));
    ZT_OK(zipc_semaphore_try_acquire(s));
    ZT_OK(zipc_semaphore_acquire_timeout(s, 0));
    zipc_semaphore_close(s);
    zipc_segment_close(seg);
}

ZTEST(semaphore_release_beyond_max_is_eoverflow_and_changes_nothing, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_semaphore *s, *u;
    ZT_OK(zipc_semaphore_create(seg, "sem", 1, 3, &s));
    ZT_ERR(zipc_semaphore_release(s, 3), -EOVERFLOW);
    ZT_EQ(zipc_semaphore_count(s), 1);
    ZT_OK(zipc_semaphore_release(s, 2));
    ZT_ERR(zipc_semaphore_release(s, 1), -EOVERFLOW);
    ZT_EQ(zipc_semaphore_count(s), 3);
    ZT_ERR(zipc_semaphore_release(s, 0), -EINVAL);
    ZT_ERR(zipc_semaphore_release(s, -1), -EINVAL);
    ZT_OK(zipc_semaphore_create(seg, "unbounded", INT32_MAX - 1, 0, &u));
    ZT_OK(zipc_semaphore_release(u, 1));
    ZT_ERR(zipc_semaphore_release(u, 1), -EOVERFLOW);
    zipc_semaphore_close(s);
    zipc_semaphore_close(u);
    zipc_segment_close(seg);
}

ZTEST(semaphore_create_and_open_reject_bad_arguments_and_entries, ZT_FAST)
{
    zipc_segment *seg = zs_segment(), *ro;
    zipc_semaphore *s;
    ZT_ERR(zipc_semaphore_create(seg, "s", -1, 0, &s), -EINVAL);
    ZT_ERR(zipc_semaphore_create(seg, "s", 0, -1, &s), -EINVAL);
    ZT_ERR(zipc_semaphore_create(seg, "s", 3, 2, &s), -EINVAL);
    ZT_ERR(zipc_semaphore_create(NULL, "s", 0, 0, &s), -EINVAL);
    ZT_ERR(zipc_semaphore_create(seg, "s", 0, 0, NULL), -EINVAL);
    ZT_ERR(zipc_semaphore_create(seg, "a-name-that-is-longer-than-31-bytes", 0, 0, &s),
           -ENAMETOOLONG);
    ZT_OK(zipc_semaphore_create(seg, "s", 0, 0, &s));
    zipc_semaphore_close(s);
    ZT_ERR(zipc_semaphore_create(seg, "s", 0, 0, &s), -EEXIST);
    ZT_ERR(zipc_semaphore_open(seg, "missing", &s), -ENOENT);
    ZT_OK(zipc_segment_add_entry(seg, "wrong", 12, NULL));
    ZT_ERR(zipc_semaphore_open(seg, "wrong", &s), -EBADMSG);
    uint64_t off;
    ZT_OK(zipc_segment_add_entry(seg, "negmax", 16, &off));
    int32_t neg = -4;
    memcpy((uint8_t *)zipc_segment_base(seg) + off + 8, &neg, 4);
    ZT_ERR(zipc_semaphore_open(seg, "negmax", &s), -EBADMSG);
    ZT_OK(zipc_segment_open_ex(zt_name(NULL), ZIPC_SEGMENT_READONLY, &ro));
    ZT_ERR(zipc_semaphore_open(ro, "s", &s), -EROFS);
    ZT_ERR(zipc_semaphore_acquire(NULL), -EINVAL);
    ZT_ERR(zipc_semaphore_try_acquire(NULL), -EINVAL);
    ZT_ERR(zipc_semaphore_release(NULL, 1), -EINVAL);
    zipc_segment_close(ro);
    zipc_segment_close(seg);
}

ZTEST(semaphore_acquire_timeout_expires_no_earlier_than_deadline, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_semaphore *s;
    ZT_OK(zipc_semaphore_create(seg, "sem", 0, 0, &s));
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_semaphore_acquire_timeout(s, 80 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 80 * ZT_MS);
    const uint8_t *p = zs_entry(seg, "sem", 16, 0);
    ZT_EQ(zs_u32(p, 4), 0); /* the sleeper count went back to 0 */
    zipc_semaphore_close(s);
    zipc_segment_close(seg);
}

ZTEST(semaphore_blocked_acquire_uses_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_semaphore *s;
    ZT_OK(zipc_semaphore_create(seg, "sem", 0, 0, &s));
    ZS_ASSERT_IDLE_WAIT(zipc_semaphore_acquire_timeout(s, 300 * ZT_MS), 300 * ZT_MS);
    zipc_semaphore_close(s);
    zipc_segment_close(seg);
}

static void acquire_once(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_semaphore *s;
    ZT_OK(zipc_semaphore_open(seg, "sem", &s));
    ZT_OK(zipc_semaphore_acquire_timeout(s, 10000 * ZT_MS));
    zipc_semaphore_close(s);
    zipc_segment_close(seg);
}

static void wait_for_sleepers(const uint8_t *word, uint32_t n)
{
    int64_t t0 = zs_now_ns();
    while (zs_u32(word, 0) < n) {
        ZT_ASSERT(zs_now_ns() - t0 < 10000 * ZT_MS);
        sched_yield();
    }
}

ZTEST(semaphore_release_wakes_a_sleeping_process, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_semaphore *s;
    ZT_OK(zipc_semaphore_create(seg, "sem", 0, 0, &s));
    const uint8_t *p = zs_entry(seg, "sem", 16, 0);
    pid_t a = zt_fork(acquire_once, NULL), b = zt_fork(acquire_once, NULL);
    wait_for_sleepers(p + 4, 2);
    ZT_OK(zipc_semaphore_release(s, 2));
    zt_wait_ok(a);
    zt_wait_ok(b);
    ZT_EQ(zipc_semaphore_count(s), 0);
    zipc_semaphore_close(s);
    zipc_segment_close(seg);
}

ZTEST(semaphore_waiter_sees_release_by_a_peer_that_never_wakes, ZT_FAST)
{
    /* A peer of another implementation bumps count without futex_wake: the
     * sleeper must still return within a wait slice or so. */
    zipc_segment *seg = zs_segment();
    zipc_semaphore *s;
    ZT_OK(zipc_semaphore_create(seg, "sem", 0, 0, &s));
    uint8_t *p = (uint8_t *)zs_entry(seg, "sem", 16, 0);
    pid_t a = zt_fork(acquire_once, NULL);
    wait_for_sleepers(p + 4, 1);
    __atomic_store_n((int32_t *)p, 1, __ATOMIC_SEQ_CST);
    int64_t t0 = zs_now_ns();
    zt_wait_ok(a);
    ZT_ASSERT(zs_now_ns() - t0 < 2000 * ZT_MS);
    zipc_semaphore_close(s);
    zipc_segment_close(seg);
}

#define HANDOFFS 2000

static void produce(void *arg)
{
    zipc_segment *seg = arg ? arg : zs_reopen();
    zipc_semaphore *items, *slots;
    ZT_OK(zipc_semaphore_open(seg, "items", &items));
    ZT_OK(zipc_semaphore_open(seg, "slots", &slots));
    uint64_t *cell = zipc_segment_base(seg);
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "cell", &info));
    cell = (uint64_t *)((uint8_t *)cell + info.offset);
    for (uint64_t i = 1; i <= HANDOFFS; i++) {
        ZT_OK(zipc_semaphore_acquire(slots));
        *cell = i; /* plain write, ordered by the semaphore */
        ZT_OK(zipc_semaphore_release(items, 1));
    }
    zipc_semaphore_close(items);
    zipc_semaphore_close(slots);
    if (!arg)
        zipc_segment_close(seg);
}

static void consume_and_check(zipc_segment *seg)
{
    zipc_semaphore *items, *slots;
    ZT_OK(zipc_semaphore_open(seg, "items", &items));
    ZT_OK(zipc_semaphore_open(seg, "slots", &slots));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "cell", &info));
    uint64_t *cell = (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
    for (uint64_t i = 1; i <= HANDOFFS; i++) {
        ZT_OK(zipc_semaphore_acquire(items));
        ZT_EQ_U64(*cell, i);
        ZT_OK(zipc_semaphore_release(slots, 1));
    }
    zipc_semaphore_close(items);
    zipc_semaphore_close(slots);
}

static zipc_segment *make_handoff(void)
{
    zipc_segment *seg = zs_segment();
    zipc_semaphore *a, *b;
    ZT_OK(zipc_semaphore_create(seg, "items", 0, 1, &a));
    ZT_OK(zipc_semaphore_create(seg, "slots", 1, 1, &b));
    ZT_OK(zipc_segment_add_entry(seg, "cell", 8, NULL));
    zipc_semaphore_close(a);
    zipc_semaphore_close(b);
    return seg;
}

ZTEST(semaphore_pair_hands_values_between_processes_in_order, ZT_MEDIUM)
{
    zipc_segment *seg = make_handoff();
    pid_t p = zt_fork(produce, NULL);
    consume_and_check(seg);
    zt_wait_ok(p);
    zipc_segment_close(seg);
}

static void *produce_thread(void *arg)
{
    produce(arg);
    return NULL;
}

ZTEST(semaphore_pair_hands_values_between_threads_in_order, ZT_MEDIUM)
{
    zipc_segment *seg = make_handoff(), *other = zs_reopen();
    pthread_t t;
    ZT_ASSERT(pthread_create(&t, NULL, produce_thread, other) == 0);
    consume_and_check(seg);
    pthread_join(t, NULL);
    zipc_segment_close(other);
    zipc_segment_close(seg);
}
