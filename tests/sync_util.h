/* Helpers shared by the synchronisation-primitive tests (static inline so
 * every test file can include them). */
#ifndef ZT_SYNC_UTIL_H
#define ZT_SYNC_UTIL_H

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ZT_MS 1000000LL

static inline int64_t zs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t zs_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline zipc_segment *zs_segment(void)
{
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 20, 0, &seg));
    return seg;
}

/* A second mapping of the test's segment (another "process" for threads). */
static inline zipc_segment *zs_reopen(void)
{
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(zt_name(NULL), &seg));
    return seg;
}

/* The bytes of entry NAME, which must be SIZE bytes long and the INDEX-th
 * entry of the table (-1: any). */
static inline const uint8_t *zs_entry(zipc_segment *seg, const char *name, uint64_t size, int index)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, name, &info));
    ZT_EQ_U64(info.size, size);
    ZT_EQ_U64(info.offset % 8, 0);
    if (index >= 0) {
        zipc_entry_info at;
        ZT_OK(zipc_segment_entry_at(seg, (uint32_t)index, &at));
        ZT_ASSERT(strcmp(at.name, name) == 0);
    }
    return (const uint8_t *)zipc_segment_base(seg) + info.offset;
}

static inline uint32_t zs_u32(const uint8_t *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, 4);
    return v;
}

static inline uint64_t zs_u64(const uint8_t *p, size_t off)
{
    uint64_t v;
    memcpy(&v, p + off, 8);
    return v;
}

/* A timed-out call took at least its timeout and not absurdly longer (a
 * loaded machine may delay the wake-up; 2 s of slack). */
static inline void zs_check_timing(int64_t start, int64_t timeout)
{
    int64_t took = zs_now_ns() - start;
    if (took < timeout || took > timeout + 2000 * ZT_MS)
        zt_fail(__FILE__, __LINE__, "timed out after %lld ns for a %lld ns timeout",
                (long long)took, (long long)timeout);
}

/* CPU time of this process spent in BLOCKING_CALL (which should sleep for
 * WALL ns): almost nothing, or the wait is polling. */
#define ZS_ASSERT_IDLE_WAIT(blocking_call, wall)                                                \
    do {                                                                                       \
        int64_t zs_c0 = zs_cpu_ns(), zs_w0 = zs_now_ns();                                      \
        int zs_r = (blocking_call);                                                            \
        int64_t zs_cpu = zs_cpu_ns() - zs_c0, zs_wall = zs_now_ns() - zs_w0;                  \
        ZT_ERR(zs_r, -ETIMEDOUT);                                                              \
        ZT_ASSERT(zs_wall >= (wall));                                                          \
        if (zs_cpu * 20 > zs_wall) /* more than 5% of a core */                                \
            zt_fail(__FILE__, __LINE__, "blocked wait used %lld ns CPU in %lld ns",           \
                    (long long)zs_cpu, (long long)zs_wall);                                   \
    } while (0)

/* Run FN(ARG) in a child that then reports through a pipe and stays put;
 * the parent waits for the report, kills the child with SIGKILL and reaps
 * it. Used to leave a lock held by a dead process at a known point. */
struct zs_crash_ctx {
    void (*fn)(void *);
    void *arg;
    int fd;
};

static inline void zs_crash_child(void *p)
{
    struct zs_crash_ctx *c = p;
    c->fn(c->arg);
    char b = 1;
    if (write(c->fd, &b, 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

static inline void zs_run_and_kill(void (*fn)(void *), void *arg)
{
    int fd[2];
    ZT_ASSERT(pipe(fd) == 0);
    struct zs_crash_ctx c = {.fn = fn, .arg = arg, .fd = fd[1]};
    pid_t pid = zt_fork(zs_crash_child, &c);
    close(fd[1]);
    char b = 0;
    ZT_EQ(read(fd[0], &b, 1), 1);
    close(fd[0]);
    kill(pid, SIGKILL);
    ZT_EQ(zt_wait(pid), 128 + SIGKILL);
}

/* A child that dies by SIGKILL at crash point ID while running FN(ARG). */
extern int zipc__crash_at;
struct zs_point_ctx {
    int id;
    void (*fn)(void *);
    void *arg;
};
static inline void zs_point_child(void *p)
{
    struct zs_point_ctx *c = p;
    zipc__crash_at = c->id;
    c->fn(c->arg);
    _exit(4); /* the crash point was not reached */
}
static inline void zs_crash_at(int id, void (*fn)(void *), void *arg)
{
    struct zs_point_ctx c = {.id = id, .fn = fn, .arg = arg};
    ZT_EQ(zt_wait(zt_fork(zs_point_child, &c)), 128 + SIGKILL);
}

#endif /* ZT_SYNC_UTIL_H */
