/* RWLock: layout, read/write exclusion across processes and threads, writer
 * preference, recovery from killed readers and writers. */
#include <sys/syscall.h>

#include "sync_util.h"

ZTEST(rwlock_layout_is_rtab_state_rmtx_wmtx_then_marker, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_create(seg, "rw", &rw));
    ZT_EQ(zipc_segment_entry_count(seg), 5);
    const uint8_t *tab = zs_entry(seg, "rw_rtab", 520, 0);
    const uint8_t *st = zs_entry(seg, "rw_state", 8, 1);
    const uint8_t *rm = zs_entry(seg, "rw_rmtx", 16, 2);
    const uint8_t *wm = zs_entry(seg, "rw_wmtx", 16, 3);
    const uint8_t *mark = zs_entry(seg, "rw", 1, 4);
    for (int i = 0; i < 520; i += 8)
        ZT_EQ_U64(zs_u64(tab, (size_t)i), 0);
    ZT_EQ_U64(zs_u64(st, 0), 0);
    ZT_EQ(zs_u32(rm, 0), 1);
    ZT_EQ(zs_u32(rm, 8), 1);
    ZT_EQ(zs_u32(wm, 0), 1);
    ZT_EQ(zs_u32(wm, 8), 1);
    ZT_EQ(mark[0], 0);
    ZT_OK(zipc_rwlock_read_lock(rw));
    ZT_EQ(zs_u32(st, 0), 1);
    ZT_EQ(zs_u32(tab, 8), (uint32_t)syscall(SYS_gettid));
    ZT_OK(zipc_rwlock_read_unlock(rw));
    ZT_EQ(zs_u32(tab, 8), 0);
    ZT_OK(zipc_rwlock_write_lock(rw));
    ZT_EQ(zs_u32(st, 0), 0);
    ZT_EQ(zs_u32(st, 4), 1);
    ZT_EQ(zs_u32(wm, 0), 0);
    ZT_OK(zipc_rwlock_write_unlock(rw));
    ZT_EQ(zs_u32(st, 4), 0);
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

ZTEST(rwlock_create_and_open_reject_bad_names_and_parts, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_rwlock *rw;
    ZT_ERR(zipc_rwlock_create(seg, "a-name-of-exactly-26-bytes", &rw), -ENAMETOOLONG);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_ERR(zipc_rwlock_create(NULL, "rw", &rw), -EINVAL);
    ZT_ERR(zipc_rwlock_open(seg, "rw", &rw), -ENOENT);
    ZT_OK(zipc_segment_add_entry(seg, "rw_wmtx", 16, NULL));
    ZT_ERR(zipc_rwlock_create(seg, "rw", &rw), -EEXIST);
    ZT_EQ(zipc_segment_entry_count(seg), 1); /* nothing half-made */
    ZT_ERR(zipc_rwlock_read_lock(NULL), -EINVAL);
    ZT_ERR(zipc_rwlock_write_unlock(NULL), -EINVAL);
    zipc_segment_close(seg);
}

ZTEST(rwlock_opened_without_reader_table_adds_it, ZT_FAST)
{
    /* As another implementation creates it: state, rmtx, wmtx, marker. */
    zipc_segment *seg = zs_segment();
    zipc_rwlock *rw;
    zipc_mutex *m;
    ZT_OK(zipc_segment_add_entry(seg, "f_state", 8, NULL));
    ZT_OK(zipc_mutex_create(seg, "f_rmtx", &m));
    zipc_mutex_close(m);
    ZT_OK(zipc_mutex_create(seg, "f_wmtx", &m));
    zipc_mutex_close(m);
    ZT_OK(zipc_segment_add_entry(seg, "f", 1, NULL));
    ZT_OK(zipc_rwlock_open(seg, "f", &rw));
    zs_entry(seg, "f_rtab", 520, 4);
    ZT_OK(zipc_rwlock_read_lock(rw));
    ZT_OK(zipc_rwlock_read_unlock(rw));
    ZT_OK(zipc_rwlock_write_lock(rw));
    ZT_OK(zipc_rwlock_write_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

ZTEST(rwlock_readers_share_and_writers_exclude, ZT_FAST)
{
    zipc_segment *seg = zs_segment();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_create(seg, "rw", &rw));
    ZT_ERR(zipc_rwlock_read_unlock(rw), -EPERM);
    ZT_ERR(zipc_rwlock_write_unlock(rw), -EPERM);
    ZT_OK(zipc_rwlock_read_lock(rw));
    ZT_OK(zipc_rwlock_try_read_lock(rw)); /* readers share */
    ZT_EQ(zipc_rwlock_readers(rw), 2);
    ZT_ERR(zipc_rwlock_try_write_lock(rw), -EAGAIN);
    int64_t t0 = zs_now_ns();
    ZT_ERR(zipc_rwlock_write_lock_timeout(rw, 60 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 60 * ZT_MS);
    ZT_OK(zipc_rwlock_read_unlock(rw));
    ZT_OK(zipc_rwlock_read_unlock(rw));
    ZT_ERR(zipc_rwlock_read_unlock(rw), -EPERM);
    ZT_OK(zipc_rwlock_try_write_lock(rw));
    ZT_ERR(zipc_rwlock_try_read_lock(rw), -EAGAIN);
    t0 = zs_now_ns();
    ZT_ERR(zipc_rwlock_read_lock_timeout(rw, 60 * ZT_MS), -ETIMEDOUT);
    zs_check_timing(t0, 60 * ZT_MS);
    ZT_ERR(zipc_rwlock_try_write_lock(rw), -EAGAIN);
    ZT_OK(zipc_rwlock_write_unlock(rw));
    ZT_EQ(zipc_rwlock_readers(rw), 0);
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

ZTEST(rwlock_blocked_read_and_write_use_almost_no_cpu, ZT_MEDIUM)
{
    zipc_segment *seg = zs_segment();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_create(seg, "rw", &rw));
    ZT_OK(zipc_rwlock_write_lock(rw));
    pid_t pid = fork();
    if (pid == 0) {
        zipc_segment *s2 = zs_reopen();
        zipc_rwlock *r2;
        ZT_OK(zipc_rwlock_open(s2, "rw", &r2));
        ZS_ASSERT_IDLE_WAIT(zipc_rwlock_read_lock_timeout(r2, 300 * ZT_MS), 300 * ZT_MS);
        _exit(0);
    }
    zt_wait_ok(pid);
    ZT_OK(zipc_rwlock_write_unlock(rw));
    ZT_OK(zipc_rwlock_read_lock(rw));
    pid = fork();
    if (pid == 0) {
        zipc_segment *s2 = zs_reopen();
        zipc_rwlock *r2;
        ZT_OK(zipc_rwlock_open(s2, "rw", &r2));
        ZS_ASSERT_IDLE_WAIT(zipc_rwlock_write_lock_timeout(r2, 300 * ZT_MS), 300 * ZT_MS);
        _exit(0);
    }
    zt_wait_ok(pid);
    ZT_OK(zipc_rwlock_read_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

/* ---- exclusion under contention --------------------------------------- */
/* Data: N words that a writer sets all to one value (non-atomically, word by
 * word); readers check they are all equal. */
#define WORDS 16

static uint64_t rw_rounds(void) { return zt_env_u64("ZIPC_TEST_RWLOCK_ROUNDS", 6000); }

static uint64_t *words_of(zipc_segment *seg)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "data", &info));
    return (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

static void rw_worker(zipc_segment *seg, int id)
{
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    uint64_t *w = words_of(seg);
    for (uint64_t i = 0; i < rw_rounds(); i++) {
        if ((i + (uint64_t)id) % 4 == 0) {
            ZT_OK(zipc_rwlock_write_lock(rw));
            uint64_t v = w[0] + 1;
            for (int k = 0; k < WORDS; k++) {
                w[k] = v;
                if (k == WORDS / 2 && (i & 31) == 0)
                    sched_yield();
            }
            ZT_OK(zipc_rwlock_write_unlock(rw));
        } else {
            ZT_OK(zipc_rwlock_read_lock(rw));
            uint64_t v = w[0];
            for (int k = 1; k < WORDS; k++)
                ZT_EQ_U64(w[k], v);
            ZT_OK(zipc_rwlock_read_unlock(rw));
        }
    }
    zipc_rwlock_close(rw);
}

static void rw_proc(void *arg)
{
    zipc_segment *seg = zs_reopen();
    rw_worker(seg, (int)(intptr_t)arg);
    zipc_segment_close(seg);
}

static zipc_segment *make_rw(void)
{
    zipc_segment *seg = zs_segment();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_create(seg, "rw", &rw));
    zipc_rwlock_close(rw);
    ZT_OK(zipc_segment_add_entry(seg, "data", 8 * WORDS, NULL));
    return seg;
}

#define RW_WORKERS 4

ZTEST(rwlock_keeps_writers_exclusive_among_processes, ZT_MEDIUM)
{
    zipc_segment *seg = make_rw();
    pid_t p[RW_WORKERS];
    for (int i = 0; i < RW_WORKERS; i++)
        p[i] = zt_fork(rw_proc, (void *)(intptr_t)i);
    for (int i = 0; i < RW_WORKERS; i++)
        zt_wait_ok(p[i]);
    /* Every worker wrote rw_rounds()/4 times, each +1. */
    ZT_EQ_U64(words_of(seg)[0], RW_WORKERS * rw_rounds() / 4);
    zipc_segment_close(seg);
}

struct rw_thread {
    zipc_segment *seg;
    int id;
};

static void *rw_thread_fn(void *p)
{
    struct rw_thread *t = p;
    rw_worker(t->seg, t->id);
    return NULL;
}

ZTEST(rwlock_keeps_writers_exclusive_among_threads, ZT_MEDIUM)
{
    zipc_segment *seg = make_rw();
    pthread_t t[RW_WORKERS];
    struct rw_thread a[RW_WORKERS];
    for (int i = 0; i < RW_WORKERS; i++) {
        a[i] = (struct rw_thread){.seg = zs_reopen(), .id = i};
        ZT_ASSERT(pthread_create(&t[i], NULL, rw_thread_fn, &a[i]) == 0);
    }
    for (int i = 0; i < RW_WORKERS; i++) {
        pthread_join(t[i], NULL);
        zipc_segment_close(a[i].seg);
    }
    ZT_EQ_U64(words_of(seg)[0], RW_WORKERS * rw_rounds() / 4);
    zipc_segment_close(seg);
}

static void write_lock_then_release(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    ZT_OK(zipc_rwlock_write_lock_timeout(rw, 10000 * ZT_MS));
    ZT_OK(zipc_rwlock_write_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

ZTEST(rwlock_waiting_writer_blocks_new_readers, ZT_FAST)
{
    zipc_segment *seg = make_rw();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    ZT_OK(zipc_rwlock_read_lock(rw));
    pid_t w = zt_fork(write_lock_then_release, NULL);
    const uint8_t *st = zs_entry(seg, "rw_state", 8, 1);
    while (zs_u32(st, 4) == 0) /* the writer announced itself */
        sched_yield();
    ZT_ERR(zipc_rwlock_try_read_lock(rw), -EAGAIN); /* no starvation of writers */
    ZT_OK(zipc_rwlock_read_unlock(rw));
    zt_wait_ok(w);
    ZT_OK(zipc_rwlock_try_read_lock(rw));
    ZT_OK(zipc_rwlock_read_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

/* ---- crash recovery ----------------------------------------------------- */

static void take_write(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    ZT_OK(zipc_rwlock_write_lock(rw));
}

static void take_read(void *arg)
{
    (void)arg;
    zipc_segment *seg = zs_reopen();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    ZT_OK(zipc_rwlock_read_lock(rw));
}

ZTEST(rwlock_writer_killed_holding_the_lock_is_recovered_by_a_reader_and_a_writer, ZT_FAST)
{
    zipc_segment *seg = make_rw();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    zs_run_and_kill(take_write, NULL);
    ZT_ERR(zipc_rwlock_read_lock_timeout(rw, 5000 * ZT_MS), -EOWNERDEAD);
    ZT_OK(zipc_rwlock_read_unlock(rw));
    ZT_OK(zipc_rwlock_write_lock_timeout(rw, 0));
    ZT_OK(zipc_rwlock_write_unlock(rw));
    zs_run_and_kill(take_write, NULL);
    ZT_ERR(zipc_rwlock_write_lock_timeout(rw, 5000 * ZT_MS), -EOWNERDEAD);
    ZT_OK(zipc_rwlock_write_unlock(rw));
    ZT_OK(zipc_rwlock_read_lock(rw));
    ZT_OK(zipc_rwlock_read_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

ZTEST(rwlock_reader_killed_holding_a_read_lock_is_dropped_by_a_waiting_writer, ZT_FAST)
{
    zipc_segment *seg = make_rw();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    zs_run_and_kill(take_read, NULL);
    zs_run_and_kill(take_read, NULL);
    ZT_EQ(zipc_rwlock_readers(rw), 2);
    int64_t t0 = zs_now_ns();
    ZT_OK(zipc_rwlock_write_lock_timeout(rw, 5000 * ZT_MS));
    ZT_ASSERT(zs_now_ns() - t0 < 2000 * ZT_MS);
    ZT_EQ(zipc_rwlock_readers(rw), 0);
    ZT_OK(zipc_rwlock_write_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

static void read_to_crash_point(void *arg)
{
    (void)arg;
    take_read(NULL);
}

ZTEST(rwlock_reader_killed_inside_the_reader_section_is_repaired, ZT_FAST)
{
    zipc_segment *seg = make_rw();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    zs_crash_at(630, read_to_crash_point, NULL); /* dies holding rmtx */
    ZT_OK(zipc_rwlock_read_lock_timeout(rw, 5000 * ZT_MS)); /* repairs rmtx */
    ZT_OK(zipc_rwlock_read_unlock(rw));
    ZT_OK(zipc_rwlock_write_lock_timeout(rw, 5000 * ZT_MS)); /* drops the dead reader */
    ZT_EQ(zipc_rwlock_readers(rw), 0);
    ZT_OK(zipc_rwlock_write_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

ZTEST(rwlock_writer_killed_while_waiting_for_readers_is_recovered, ZT_FAST)
{
    zipc_segment *seg = make_rw();
    zipc_rwlock *rw;
    ZT_OK(zipc_rwlock_open(seg, "rw", &rw));
    ZT_OK(zipc_rwlock_read_lock(rw));
    zs_crash_at(631, take_write, NULL); /* writer_active up, then killed */
    ZT_OK(zipc_rwlock_read_unlock(rw));
    ZT_ERR(zipc_rwlock_read_lock_timeout(rw, 5000 * ZT_MS), -EOWNERDEAD);
    ZT_OK(zipc_rwlock_read_unlock(rw));
    zipc_rwlock_close(rw);
    zipc_segment_close(seg);
}

ZTEST(rwlock_and_monitor_that_do_not_fit_the_table_leave_nothing_visible, ZT_FAST)
{
    zipc_segment *seg;
    zipc_rwlock *rw;
    zipc_monitor *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 4, &seg)); /* 4 table slots */
    ZT_ERR(zipc_rwlock_create(seg, "rw", &rw), -ENOSPC);         /* needs 5 */
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_OK(zipc_monitor_create(seg, "mon", &m)); /* needs exactly 4 */
    zipc_monitor_close(m);
    ZT_EQ(zipc_segment_entry_count(seg), 4);
    zipc_segment_close(seg);
}
