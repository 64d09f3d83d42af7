/* bench_sync: cost of libzeroipc's Mutex and Semaphore next to a
 * process-shared ROBUST pthread_mutex_t and a process-shared POSIX sem_t,
 * all living in the same shared-memory segment and measured in the same run.
 *
 *   uncontended  lock+unlock (acquire+release) pairs in one process: ns/pair
 *   hand-off     two processes alternate strictly (see step_a/step_b): with
 *                three mutexes each lock call waits for the other
 *                process's unlock; semaphores ping-pong post/wait. One
 *                iteration is two hand-offs: ns per hand-off = round / 2.
 *
 * Usage: bench_sync [rounds] [uncontended_pairs] [handoff_iterations]
 * (defaults 7, 5000000, 50000). Reports median, min and max over the rounds
 * and the ratios of the medians. Not a test: numbers depend on the machine. */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zeroipc/zeroipc.h"

#define MAX_ROUNDS 64

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, int r)
{
    fprintf(stderr, "bench_sync: %s: %s\n", what, zipc_strerror(r));
    exit(1);
}
#define CHECK(expr)                                                                            \
    do {                                                                                       \
        int r_ = (expr);                                                                       \
        if (r_ != 0)                                                                           \
            die(#expr, r_ > 0 ? -r_ : r_);                                                     \
    } while (0)

/* Everything POSIX that lives in shared memory, in one raw entry. Every lock
 * gets a cache line of its own (as do the zipc ones, see pad_to_line), so
 * the hand-off measures the locks, not false sharing between them. */
#define LINE 64
struct line_mutex {
    _Alignas(LINE) pthread_mutex_t m;
};
struct line_sem {
    _Alignas(LINE) sem_t s;
};
struct shared {
    struct line_mutex pm[3];
    struct line_sem ps[3]; /* [2] unused */
    _Alignas(LINE) sem_t ready;
    _Alignas(LINE) long turn; /* checks the strict alternation: written only by the holder */
};

/* One kind of lock, behind four operations, so each measurement is one loop. */
enum kind { ZIPC_MUTEX, PTHREAD_ROBUST, ZIPC_SEM, POSIX_SEM, KINDS };
static const char *const kind_name[KINDS] = {"zipc_mutex", "pthread_mutex(robust,pshared)",
                                             "zipc_semaphore", "sem_t(pshared)"};

struct ctx {
    struct shared *sh;
    zipc_mutex *zm[3];
    zipc_semaphore *zs[3]; /* [2] unused: same indices as the mutexes */
};

static inline void take(struct ctx *c, enum kind k, int i)
{
    switch (k) {
    case ZIPC_MUTEX: CHECK(zipc_mutex_lock(c->zm[i])); break;
    case PTHREAD_ROBUST: CHECK(pthread_mutex_lock(&c->sh->pm[i].m)); break;
    case ZIPC_SEM: CHECK(zipc_semaphore_acquire(c->zs[i])); break;
    case POSIX_SEM: CHECK(sem_wait(&c->sh->ps[i].s)); break;
    default: break;
    }
}

static inline void give(struct ctx *c, enum kind k, int i)
{
    switch (k) {
    case ZIPC_MUTEX: CHECK(zipc_mutex_unlock(c->zm[i])); break;
    case PTHREAD_ROBUST: CHECK(pthread_mutex_unlock(&c->sh->pm[i].m)); break;
    case ZIPC_SEM: CHECK(zipc_semaphore_release(c->zs[i], 1)); break;
    case POSIX_SEM: CHECK(sem_post(&c->sh->ps[i].s)); break;
    default: break;
    }
}

static double uncontended(struct ctx *c, enum kind k, long pairs)
{
    /* Semaphores start at 0: give first. Mutexes: take first. */
    bool sem = k == ZIPC_SEM || k == POSIX_SEM;
    int64_t t0 = now_ns();
    for (long i = 0; i < pairs; i++) {
        if (sem) {
            give(c, k, 0);
            take(c, k, 0);
        } else {
            take(c, k, 0);
            give(c, k, 0);
        }
    }
    return (double)(now_ns() - t0) / (double)pairs;
}

/* One step of the strict alternation. Mutexes (three of them, so nobody
 * ever re-locks the mutex it has just released):
 *   A holds {m[i], m[i+1]} and does unlock(m[i]); lock(m[i+2])
 *   B holds {m[i+2]}       and does lock(m[i]);   unlock(m[i+2])   (mod 3)
 * Semaphores: A posts s0 and waits s1; B waits s0 and posts s1.
 * Each step is two hand-offs (A to B, then B to A); `turn` checks them. */
static void step_a(struct ctx *c, enum kind k, bool sem, long i)
{
    if (sem) {
        give(c, k, 0);
        take(c, k, 1);
    } else {
        give(c, k, (int)(i % 3));
        take(c, k, (int)((i + 2) % 3));
    }
    if (c->sh->turn != 2 * i + 1)
        die("alternation broken (A)", -1);
    c->sh->turn = 2 * i + 2;
}

static void step_b(struct ctx *c, enum kind k, bool sem, long i)
{
    take(c, k, sem ? 0 : (int)(i % 3));
    if (c->sh->turn != 2 * i)
        die("alternation broken (B)", -1);
    c->sh->turn = 2 * i + 1;
    give(c, k, sem ? 1 : (int)((i + 2) % 3));
}

static double handoff(struct ctx *c, enum kind k, long iters)
{
    bool sem = k == ZIPC_SEM || k == POSIX_SEM;
    c->sh->turn = 0;
    if (!sem) {
        take(c, k, 0); /* A holds m0 and m1 */
        take(c, k, 1);
    }
    pid_t pid = fork();
    if (pid < 0)
        die("fork", -1);
    if (pid == 0) { /* B */
        if (!sem)
            take(c, k, 2);
        sem_post(&c->sh->ready);
        for (long i = 0; i < iters; i++)
            step_b(c, k, sem, i);
        if (!sem)
            give(c, k, (int)((iters + 2) % 3));
        _exit(0);
    }
    while (sem_wait(&c->sh->ready) != 0)
        ;
    int64_t t0 = now_ns();
    for (long i = 0; i < iters; i++)
        step_a(c, k, sem, i);
    int64_t t = now_ns() - t0;
    if (!sem) {
        give(c, k, (int)(iters % 3));
        give(c, k, (int)((iters + 1) % 3));
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("hand-off partner failed", -1);
    return (double)t / (double)iters / 2.0;
}

/* Add a filler entry so that the next entry starts on a cache line (the
 * mapping is page-aligned; entries start at align8 of bytes_used). */
static void pad_to_line(zipc_segment *seg, const char *name)
{
    static int n;
    char buf[32];
    uint64_t used = (zipc_segment_bytes_used(seg) + 7) & ~(uint64_t)7;
    uint64_t gap = (LINE - used % LINE) % LINE;
    if (gap == 0)
        return;
    if (gap < 8)
        gap += LINE;
    snprintf(buf, sizeof(buf), "%s-%d", name ? name : "pad", n++);
    CHECK(zipc_segment_add_entry(seg, buf, gap, NULL));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double med, min, max;
};

static struct stats summarise(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return (struct stats){.med = v[n / 2], .min = v[0], .max = v[n - 1]};
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    long pairs = argc > 2 ? atol(argv[2]) : 5000000;
    long iters = argc > 3 ? atol(argv[3]) : 50000;
    if (rounds < 1 || rounds > MAX_ROUNDS || pairs < 1 || iters < 2) {
        fprintf(stderr, "usage: bench_sync [rounds 1..%d] [pairs] [iterations >= 2]\n", MAX_ROUNDS);
        return 2;
    }
    char name[64];
    snprintf(name, sizeof(name), "/zipc-bench-sync-%d", (int)getpid());
    zipc_segment *seg;
    CHECK(zipc_segment_create(name, 1 << 20, 0, &seg));
    zipc_segment_unlink(name); /* the mapping stays; nothing left behind */
    struct ctx c;
    uint64_t off;
    pad_to_line(seg, "pad-posix");
    CHECK(zipc_segment_add_entry(seg, "posix", sizeof(struct shared), &off));
    c.sh = (struct shared *)((char *)zipc_segment_base(seg) + off);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_mutex_init(&c.sh->pm[i].m, &a));
    for (int i = 0; i < 2; i++)
        CHECK(sem_init(&c.sh->ps[i].s, 1, 0) ? errno : 0);
    CHECK(sem_init(&c.sh->ready, 1, 0) ? errno : 0);
    const char *const mname[3] = {"m0", "m1", "m2"}, *const sname[2] = {"s0", "s1"};
    for (int i = 0; i < 3; i++) {
        pad_to_line(seg, NULL);
        CHECK(zipc_mutex_create(seg, mname[i], &c.zm[i]));
    }
    for (int i = 0; i < 2; i++) {
        pad_to_line(seg, NULL);
        CHECK(zipc_semaphore_create(seg, sname[i], 0, 0, &c.zs[i]));
    }

    static double un[KINDS][MAX_ROUNDS], ho[KINDS][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < KINDS; k++) /* interleaved: drift hits all alike */
            un[k][r] = uncontended(&c, (enum kind)k, pairs);
        for (int k = 0; k < KINDS; k++)
            ho[k][r] = handoff(&c, (enum kind)k, iters);
    }
    struct stats su[KINDS], sh[KINDS];
    printf("bench_sync: %d rounds, %ld uncontended pairs, %ld hand-off iterations per round\n",
           rounds, pairs, iters);
    printf("\n%-32s %28s %28s\n", "", "uncontended ns/pair", "hand-off ns (one way)");
    printf("%-32s %9s %9s %9s %9s %9s %9s\n", "", "median", "min", "max", "median", "min", "max");
    for (int k = 0; k < KINDS; k++) {
        su[k] = summarise(un[k], rounds);
        sh[k] = summarise(ho[k], rounds);
        printf("%-32s %9.1f %9.1f %9.1f %9.0f %9.0f %9.0f\n", kind_name[k], su[k].med, su[k].min,
               su[k].max, sh[k].med, sh[k].min, sh[k].max);
    }
    printf("\nratios of medians (lower is better for zipc):\n");
    printf("  uncontended  zipc_mutex / pthread_mutex     %.2f  (target <= 1.20)\n",
           su[ZIPC_MUTEX].med / su[PTHREAD_ROBUST].med);
    printf("  uncontended  zipc_semaphore / sem_t         %.2f\n", su[ZIPC_SEM].med / su[POSIX_SEM].med);
    printf("  hand-off     zipc_mutex / sem_t             %.2f  (target <= 1.00)\n",
           sh[ZIPC_MUTEX].med / sh[POSIX_SEM].med);
    printf("  hand-off     zipc_mutex / pthread_mutex     %.2f\n",
           sh[ZIPC_MUTEX].med / sh[PTHREAD_ROBUST].med);
    printf("  hand-off     zipc_semaphore / sem_t         %.2f\n", sh[ZIPC_SEM].med / sh[POSIX_SEM].med);
    zipc_mutex_close(c.zm[0]);
    zipc_mutex_close(c.zm[1]);
    zipc_mutex_close(c.zm[2]);
    zipc_semaphore_close(c.zs[0]);
    zipc_semaphore_close(c.zs[1]);
    zipc_segment_close(seg);
    return 0;
}
