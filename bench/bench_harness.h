/* The benchmark harness: clocks, pinning, the start gate, child processes,
 * per-round figures and their median/min/max. Used by bench/zipc_bench.c.
 *
 * Every participant of a measurement is its own process: the parent creates
 * the shared object (segment, pipe, message queue), forks, and each child
 * opens the object itself (its own mapping, at its own address) before
 * meeting the others at the start gate. A child that finds a lost, duplicated
 * or reordered message prints why and exits non-zero; the parent then stops
 * the whole run with a non-zero exit status.
 *
 * Environment (all optional):
 *   BENCH_ROUNDS     rounds per figure (default 5)
 *   BENCH_RT_N       round trips per latency figure (default 50000)
 *   BENCH_TP_N       messages per shared-memory throughput figure (default 2000000)
 *   BENCH_KTP_N      messages per throughput figure of kernel IPC and blocking calls
 *                    (default 200000); their latency figures use BENCH_RT_N / 5
 *   BENCH_MP_N       messages per 2P/2C figure (default 500000)
 *   BENCH_MP_MAX_MS  2P/2C producers stop early after this long (default 3000): a
 *                    ring whose producers wait for a preempted one can take minutes
 *   BENCH_WAKE_N     round trips per wake-up figure (default 2000)
 *   BENCH_WAKE_GAP_US  pause before each wake-up ping, so the peer is asleep (default 100)
 *   BENCH_IDLE_MS    wall time an idle blocked consumer is observed (default 500)
 *   BENCH_TIMEOUT_S  a child still running after this is killed: the run fails (default 60)
 */
#ifndef ZIPC_BENCH_HARNESS_H
#define ZIPC_BENCH_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"

#define BENCH_MAX_PROCS 8
#define BENCH_MAX_ROUNDS 64

/* ---- clocks ------------------------------------------------------------ */

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A cheap cycle counter for timing single calls; converted with the rate
 * calibrated once in the parent (children inherit it). Elsewhere than x86 the
 * monotonic clock stands in (1 tick = 1 ns). */
static double bench_tick_ns = 1.0;

static inline uint64_t bench_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return (uint64_t)bench_now_ns();
#endif
}

static void bench_calibrate_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    int64_t t0 = bench_now_ns();
    uint64_t c0 = bench_ticks();
    while (bench_now_ns() - t0 < 50000000)
        ;
    int64_t t1 = bench_now_ns();
    uint64_t c1 = bench_ticks();
    bench_tick_ns = (double)(t1 - t0) / (double)(c1 - c0);
#endif
}

static void bench_busy_wait_ns(int64_t ns)
{
    int64_t until = bench_now_ns() + ns;
    while (bench_now_ns() < until)
        zipc__cpu_relax();
}

/* ---- environment ------------------------------------------------------- */

static uint64_t bench_env_u64(const char *name, uint64_t def)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end) {
        fprintf(stderr, "bench: %s=%s is not a number\n", name, s);
        exit(2);
    }
    return v;
}

/* ---- failure ----------------------------------------------------------- */

__attribute__((noreturn, format(printf, 1, 2))) static void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: FAILED: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    _exit(1);
}

/* ---- pinning ----------------------------------------------------------- */

static int bench_ncpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return CPU_COUNT(&set);
}

/* Pin to the IDX-th allowed CPU. Only called when every participant gets a
 * core of its own; oversubscribed runs leave placement to the scheduler. */
static void bench_pin(int idx)
{
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return;
    int seen = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &allowed))
            continue;
        if (seen++ == idx) {
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            if (sched_setaffinity(0, sizeof one, &one) != 0)
                bench_die("sched_setaffinity(%d): %s", c, strerror(errno));
            return;
        }
    }
}

/* ---- the control page shared by the parent and its children ------------ */

typedef struct bench_result {
    int64_t t_start_ns;   /* producer: first send */
    int64_t t_end_ns;     /* consumer: last message received */
    double p50_ns, p99_ns; /* latency runs: round trip percentiles */
    double max_call_ns;   /* longest single send or receive call */
    uint64_t calls_over_1ms;
    uint64_t sent;                   /* producers: messages sent */
    uint64_t count[BENCH_MAX_PROCS]; /* consumers: messages seen per producer */
    uint64_t sum[BENCH_MAX_PROCS];   /* ... and the sum of their sequence numbers */
    uint64_t sumsq[BENCH_MAX_PROCS]; /* ... and the sum of their squares (mod 2^64) */
    double cpu_ns, wall_ns;          /* idle-consumer runs */
    char pad[64];
} bench_result;

typedef struct bench_ctl {
    zipc_atomic_u32 arrived;
    zipc_atomic_u32 go;
    zipc_atomic_u32 producers_done;
    zipc_atomic_u32 consumer_blocked;
    char pad[48];
    bench_result res[BENCH_MAX_PROCS];
} bench_ctl;

static bench_ctl *bench_ctl_new(void)
{
    void *p = mmap(NULL, sizeof(bench_ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        bench_die("mmap control page: %s", strerror(errno));
    return p;
}

/* Every child calls this once it is ready; the last arrival opens the gate. */
static void bench_gate(bench_ctl *ctl, uint32_t nprocs)
{
    /* G1: pairs with G2: the last arrival's store of go happens after every
     * child has finished its setup (each arrival is an acq_rel RMW). */
    if (zipc__fetch_add_acq_rel_u32(&ctl->arrived, 1) + 1 == nprocs)
        zipc__store_release_u32(&ctl->go, 1);
    /* G2: pairs with G1. Yield while waiting: participants may share a core. */
    while (!zipc__load_acquire_u32(&ctl->go))
        sched_yield();
}

/* Fork NPROCS children running FN(ctl, idx, arg); each is pinned to CPU idx
 * when there are at least NPROCS CPUs, shifts its address space by idx+1
 * pages (so no two participants map the shared object at the same address)
 * and is killed by SIGALRM after BENCH_TIMEOUT_S. Waits for all of them and
 * dies loudly when any failed. */
typedef void (*bench_child_fn)(bench_ctl *ctl, int idx, void *arg);

static void bench_spawn(bench_ctl *ctl, int nprocs, bench_child_fn fn, void *arg,
                        const char *what)
{
    pid_t pids[BENCH_MAX_PROCS];
    unsigned timeout_s = (unsigned)bench_env_u64("BENCH_TIMEOUT_S", 60);
    bool pin = bench_ncpu() >= nprocs;
    memset(ctl, 0, sizeof *ctl);
    fflush(NULL);
    for (int i = 0; i < nprocs; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            bench_die("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            alarm(timeout_s);
            if (pin)
                bench_pin(i);
            void *shift = mmap(NULL, (size_t)(i + 1) * 4096, PROT_NONE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            (void)shift;
            fn(ctl, i, arg);
            _exit(0);
        }
    }
    bool failed = false;
    for (int i = 0; i < nprocs; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) < 0)
            bench_die("waitpid: %s", strerror(errno));
        if (WIFSIGNALED(st)) {
            fprintf(stderr, "bench: %s: participant %d killed by signal %d%s\n", what, i,
                    WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (timeout: a message lost?)" : "");
            failed = true;
        } else if (WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench: %s: participant %d exited with %d\n", what, i,
                    WEXITSTATUS(st));
            failed = true;
        }
        if (failed) /* the others may wait forever for the failed one */
            for (int j = 0; j < nprocs; j++)
                if (j != i)
                    kill(pids[j], SIGKILL);
    }
    if (failed)
        bench_die("%s: a participant failed (see above)", what);
}

/* ---- figures ----------------------------------------------------------- */

/* A figure: one value per round, reported as median [min, max]. */
typedef struct bench_fig {
    char key[96];
    double v[BENCH_MAX_ROUNDS];
    bool have[BENCH_MAX_ROUNDS];
} bench_fig;

#define BENCH_MAX_FIGS 256
static bench_fig bench_figs[BENCH_MAX_FIGS];
static int bench_nfigs;

static bench_fig *bench_fig_get(const char *key, bool create)
{
    for (int i = 0; i < bench_nfigs; i++)
        if (strcmp(bench_figs[i].key, key) == 0)
            return &bench_figs[i];
    if (!create)
        return NULL;
    if (bench_nfigs == BENCH_MAX_FIGS)
        bench_die("too many figures");
    bench_fig *f = &bench_figs[bench_nfigs++];
    snprintf(f->key, sizeof f->key, "%s", key);
    return f;
}

static void bench_record(const char *key, int round, double v)
{
    bench_fig *f = bench_fig_get(key, true);
    f->v[round] = v;
    f->have[round] = true;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_stat {
    bool ok;
    double med, min, max;
    int n;
} bench_stat;

static bench_stat bench_stat_of(const double *v, int n)
{
    bench_stat s = { 0 };
    if (n == 0)
        return s;
    double tmp[BENCH_MAX_ROUNDS];
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, bench_cmp_double);
    s.ok = true;
    s.n = n;
    s.min = tmp[0];
    s.max = tmp[n - 1];
    s.med = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
    return s;
}

static bench_stat bench_fig_stat(const char *key)
{
    bench_fig *f = bench_fig_get(key, false);
    double v[BENCH_MAX_ROUNDS];
    int n = 0;
    if (f)
        for (int r = 0; r < BENCH_MAX_ROUNDS; r++)
            if (f->have[r])
                v[n++] = f->v[r];
    return bench_stat_of(v, n);
}

/* The ratio A/B taken round by round (both figures from the same round). */
static bench_stat bench_ratio_stat(const char *a, const char *b)
{
    bench_fig *fa = bench_fig_get(a, false), *fb = bench_fig_get(b, false);
    double v[BENCH_MAX_ROUNDS];
    int n = 0;
    if (fa && fb)
        for (int r = 0; r < BENCH_MAX_ROUNDS; r++)
            if (fa->have[r] && fb->have[r] && fb->v[r] != 0)
                v[n++] = fa->v[r] / fb->v[r];
    return bench_stat_of(v, n);
}

/* ---- percentiles of a sample ------------------------------------------- */

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double bench_percentile_ns(uint64_t *ticks, size_t n, double p)
{
    qsort(ticks, n, sizeof *ticks, bench_cmp_u64);
    size_t i = (size_t)(p * (double)(n - 1));
    return (double)ticks[i] * bench_tick_ns;
}

#endif /* ZIPC_BENCH_HARNESS_H */
