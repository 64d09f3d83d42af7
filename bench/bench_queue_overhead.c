/* What the auxiliary entries cost on the queue's and stack's fast paths.
 *
 * Single process, one handle, try_push then try_pop of one 8-byte element,
 * repeated (the queue never holds more than one element, so every push and
 * every pop is the uncontended fast path). Variants:
 *   NO_AUX        the format's bytes only: no owner row, no waitset
 *   default       owner-row stores (intent, two phases, idle) + wake-up check (queue:
 *                 one load after the claiming CAS; stack: notify, a fence and a load)
 *   untracked     waitsets but no owner row (a handle opened after all 64 rows
 *                 are taken): notify only, so default - untracked = the rows
 *   single        created single-producer / single-consumer, one handle
 *                 holding both roles: no CAS, no owner-row stores
 *   stuck waiter  default, with both waitsets' waiters counters left at 1, as a
 *                 sleeper killed inside zipc__wait_until leaves them: every
 *                 notify then bumps seq; FUTEX_WAKE is called about once per
 *                 ZIPC_WAKE_RETRY_NS once the waker has taken the count for
 *                 stale (after its first millisecond, in the first run)
 * Then two processes pushing and popping on one queue (a shared counter
 * line, and with aux entries the two owner rows share a cache line).
 *
 * Usage: bench_queue_overhead [iterations] [repeats]. Prints the best of
 * REPEATS runs per variant in ns per push+pop pair. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wait.h"
#include "zeroipc/zeroipc.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define CHECK(x)                                                                               \
    do {                                                                                       \
        int r_ = (x);                                                                          \
        if (r_) {                                                                              \
            fprintf(stderr, "%s: %s\n", #x, zipc_strerror(r_));                                \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

static double queue_pairs(zipc_queue *q, long n)
{
    uint64_t v = 1, w;
    double t = now_ns();
    for (long i = 0; i < n; i++) {
        CHECK(zipc_queue_try_push(q, &v));
        CHECK(zipc_queue_try_pop(q, &w));
    }
    return (now_ns() - t) / n;
}

static double stack_pairs(zipc_stack *s, long n)
{
    uint64_t v = 1, w;
    double t = now_ns();
    for (long i = 0; i < n; i++) {
        CHECK(zipc_stack_try_push(s, &v));
        CHECK(zipc_stack_try_pop(s, &w));
    }
    return (now_ns() - t) / n;
}

static zipc_waitset_shm *waitsets(zipc_segment *seg, const char *name)
{
    zipc_entry_info info;
    CHECK(zipc_segment_find(seg, name, &info));
    return (zipc_waitset_shm *)((char *)zipc_segment_base(seg) + info.offset);
}

/* Best of REP runs. */
#define BEST(expr, rep)                                                                        \
    ({                                                                                         \
        double b_ = 1e30;                                                                      \
        for (int k_ = 0; k_ < (rep); k_++) {                                                   \
            double x_ = (expr);                                                                \
            if (x_ < b_)                                                                       \
                b_ = x_;                                                                       \
        }                                                                                      \
        b_;                                                                                    \
    })

/* Two processes, each with its own handle, each doing N push+pop pairs on
 * queue NAME; returns the wall time per pair of one process. */
static double two_procs(const char *segname, const char *qname, long n)
{
    int go[2];
    if (pipe(go) != 0)
        exit(1);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            zipc_segment *seg;
            zipc_queue *q;
            char c;
            CHECK(zipc_segment_open(segname, &seg));
            CHECK(zipc_queue_open(seg, qname, 8, &q));
            close(go[1]);
            if (read(go[0], &c, 1) != 0)
                _exit(1);
            uint64_t v = 1, w;
            for (long i = 0; i < n; i++) {
                while (zipc_queue_try_push(q, &v) != 0)
                    ;
                while (zipc_queue_try_pop(q, &w) != 0)
                    ;
            }
            zipc_queue_close(q);
            zipc_segment_close(seg);
            _exit(0);
        }
    }
    close(go[0]);
    double t = now_ns();
    close(go[1]); /* EOF: both start */
    for (int k = 0; k < 2; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            exit(1);
    }
    return (now_ns() - t) / n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int rep = argc > 2 ? atoi(argv[2]) : 5;
    char name[64];
    snprintf(name, sizeof(name), "/bench_qovh_%d", (int)getpid());
    zipc_segment *seg;
    zipc_queue *qa, *qn;
    zipc_stack *sa, *sn;
    CHECK(zipc_segment_create(name, 1 << 20, 0, &seg));
    CHECK(zipc_queue_create_ex(seg, "qn", 8, 1024, ZIPC_QUEUE_NO_AUX, &qn));
    CHECK(zipc_queue_create(seg, "qa", 8, 1024, &qa));
    CHECK(zipc_stack_create_ex(seg, "sn", 8, 1024, ZIPC_STACK_NO_AUX, &sn));
    CHECK(zipc_stack_create(seg, "sa", 8, 1024, &sa));

    double q_no = BEST(queue_pairs(qn, n), rep);
    double q_aux = BEST(queue_pairs(qa, n), rep);
    /* The creator holds row 0; 63 opens take the rest; the 64th is untracked. */
    zipc_queue *extra[64];
    for (int k = 0; k < 64; k++)
        CHECK(zipc_queue_open(seg, "qa", 8, &extra[k]));
    double q_untracked = BEST(queue_pairs(extra[63], n), rep);
    for (int k = 0; k < 64; k++)
        zipc_queue_close(extra[k]);
    zipc_queue *qs;
    CHECK(zipc_queue_create_ex(seg, "qs", 8, 1024,
                               ZIPC_QUEUE_SINGLE_PRODUCER | ZIPC_QUEUE_SINGLE_CONSUMER, &qs));
    double q_single = BEST(queue_pairs(qs, n), rep);
    zipc_queue_close(qs);
    double s_no = BEST(stack_pairs(sn, n), rep);
    double s_aux = BEST(stack_pairs(sa, n), rep);
    printf("queue push+pop, NO_AUX:            %6.1f ns/pair\n", q_no);
    printf("queue push+pop, default (aux):     %6.1f ns/pair  (+%.1f ns, +%.0f%%)\n", q_aux,
           q_aux - q_no, 100 * (q_aux - q_no) / q_no);
    printf("queue push+pop, untracked handle:  %6.1f ns/pair  (wake-up checks: +%.1f ns; "
           "owner rows: +%.1f ns)\n",
           q_untracked, q_untracked - q_no, q_aux - q_untracked);
    printf("queue push+pop, single prod/cons:  %6.1f ns/pair\n", q_single);
    printf("stack push+pop, NO_AUX:            %6.1f ns/pair\n", s_no);
    printf("stack push+pop, default (aux):     %6.1f ns/pair  (+%.1f ns, +%.0f%%)\n", s_aux,
           s_aux - s_no, 100 * (s_aux - s_no) / s_no);

    /* A sleeper killed inside the wait layer leaves waiters incremented. */
    zipc_waitset_shm *ws = waitsets(seg, "qa_wait");
    zipc__store_relaxed_u32(&ws[0].waiters, 1);
    zipc__store_relaxed_u32(&ws[1].waiters, 1);
    double q_stuck = BEST(queue_pairs(qa, n / 10), rep);
    zipc__store_relaxed_u32(&ws[0].waiters, 0);
    zipc__store_relaxed_u32(&ws[1].waiters, 0);
    printf("queue push+pop, stuck waiters=1:   %6.1f ns/pair  (+%.1f ns: seq bumps, clock reads)\n",
           q_stuck, q_stuck - q_aux);

    long n2 = n / 4;
    double p_no = BEST(two_procs(name, "qn", n2), rep);
    double p_aux = BEST(two_procs(name, "qa", n2), rep);
    printf("2 processes x push+pop, NO_AUX:    %6.1f ns/pair per process\n", p_no);
    printf("2 processes x push+pop, default:   %6.1f ns/pair per process  (%+.0f%%)\n", p_aux,
           100 * (p_aux - p_no) / p_no);

    zipc_queue_close(qa);
    zipc_queue_close(qn);
    zipc_stack_close(sa);
    zipc_stack_close(sn);
    zipc_segment_close(seg);
    zipc_segment_unlink(name);
    return 0;
}
