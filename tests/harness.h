/* A small test harness: every test runs in its own forked process (its own
 * process group) with a timeout, gets unique segment names from zt_name(),
 * and everything under those names is unlinked after it, pass or fail.
 *
 * Environment:
 *   ZIPC_TEST_CATEGORIES  comma list of FAST,MEDIUM,SLOW,STRESS (default FAST,MEDIUM; ALL)
 *   ZIPC_TEST_FILTER      run only tests whose name contains one of these comma-separated words
 *   ZIPC_TEST_TIMEOUT_SCALE  multiply every timeout (sanitizer builds)
 * Exit status 77 from a test means "skipped"; it prints why. */
#ifndef ZT_HARNESS_H
#define ZT_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "zeroipc/zeroipc.h"

enum zt_category { ZT_FAST = 1, ZT_MEDIUM = 2, ZT_SLOW = 4, ZT_STRESS = 8 };

void zt_register(const char *name, int category, void (*fn)(void), const char *file, int line);

/* ZTEST(queue_try_pop_returns_eagain_when_empty, ZT_FAST) { ... } */
#define ZTEST(name, category)                                                                  \
    static void name(void);                                                                    \
    __attribute__((constructor)) static void zt_reg_##name(void)                              \
    {                                                                                          \
        zt_register(#name, category, name, __FILE__, __LINE__);                              \
    }                                                                                          \
    static void name(void)

/* A segment name unique to this test run and test: "/zt<runner>-<test>-<suffix>". */
const char *zt_name(const char *suffix);
/* The running test's name. */
const char *zt_test_name(void);

__attribute__((noreturn, format(printf, 3, 4))) void zt_fail(const char *file, int line,
                                                            const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void zt_skip(const char *fmt, ...);

#define ZT_ASSERT(c)                                                                           \
    do {                                                                                       \
        if (!(c))                                                                              \
            zt_fail(__FILE__, __LINE__, "assertion failed: %s", #c);                           \
    } while (0)
#define ZT_EQ(a, b)                                                                            \
    do {                                                                                       \
        long long zt_a_ = (long long)(a), zt_b_ = (long long)(b);                              \
        if (zt_a_ != zt_b_)                                                                    \
            zt_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, zt_a_, zt_b_);      \
    } while (0)
#define ZT_EQ_U64(a, b)                                                                        \
    do {                                                                                       \
        uint64_t zt_a_ = (uint64_t)(a), zt_b_ = (uint64_t)(b);                                 \
        if (zt_a_ != zt_b_)                                                                    \
            zt_fail(__FILE__, __LINE__, "%s == %s: 0x%" PRIx64 " != 0x%" PRIx64, #a, #b,     \
                    zt_a_, zt_b_);                                                             \
    } while (0)
/* EXPR must return the (negative errno) code WANT. */
#define ZT_ERR(expr, want)                                                                     \
    do {                                                                                       \
        int zt_r_ = (expr), zt_w_ = (want);                                                    \
        if (zt_r_ != zt_w_)                                                                    \
            zt_fail(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s)", #expr, zt_r_, \
                    zipc_strerror(zt_r_), zt_w_, zipc_strerror(zt_w_));                        \
    } while (0)
#define ZT_OK(expr) ZT_ERR(expr, 0)

/* An environment variable as a number, or DEF. */
uint64_t zt_env_u64(const char *name, uint64_t def);

/* Fork a worker that runs FN(ARG) and exits 0 (a failed assertion exits 1). */
pid_t zt_fork(void (*fn)(void *), void *arg);
/* Wait for PID; returns its exit status, or 128+signal if it was killed. */
int zt_wait(pid_t pid);
/* Wait for PID and fail the test unless it exited 0. */
void zt_wait_ok(pid_t pid);

/* A start gate for many processes: workers block in zt_gate_wait() until the
 * parent calls zt_gate_open() (it closes the pipe: every reader sees EOF). */
typedef struct zt_gate {
    int fd[2];
} zt_gate;
void zt_gate_init(zt_gate *g);
void zt_gate_wait(zt_gate *g); /* in a worker */
void zt_gate_open(zt_gate *g); /* in the parent, after forking every worker */

/* A test-local 64-bit checksum (FNV-1a) for payload verification. */
uint64_t zt_checksum(const void *data, size_t len);

/* The scheduler state ('R', 'S', 'Z', ...) in the stat file PATH
 * (/proc/PID/stat or /proc/PID/task/TID/stat): the field after the last ')'. */
char zt_stat_state(const char *path);
/* zt_stat_state of process PID. */
char zt_proc_state(pid_t pid);

#endif /* ZT_HARNESS_H */
