/* queue_ab: the library Queue (A) against another build of src/queue.c (B)
 * in one program, alternating round by round, so that two versions are
 * compared on a shared, noisy host with the drift of the machine cancelled
 * out. Built and run by bench/ab/run.sh (not by make: B's object has its
 * public symbols renamed zipc_ -> zv_).
 *
 *   queue_ab rt    round trip p50 (2 processes, 2 one-way queues)
 *   queue_ab tp    1P/1C throughput: median over chunks of 4096 messages
 *                  (chunks disturbed by other work are the slow tail)
 * Prints A, B and B/A per round, then the median B/A. N and REPS from the
 * environment; QFLAGS (default 0) are the ZIPC_QUEUE_* creation flags of both
 * (6: single producer and single consumer; 8: line aligned), QCAP the
 * capacity (default 1024; 4 with QFLAGS=8: a queue of one cache line). Development tool: used to decide what stays in the fast path
 * (docs/queue.md "Speed"). */
#include "../bench_mechs.h"

int zv_queue_create_ex(zipc_segment *, const char *, size_t, uint32_t, uint32_t, zipc_queue **);
int zv_queue_open_ex(zipc_segment *, const char *, size_t, uint32_t, zipc_queue **);
void zv_queue_close(zipc_queue *);
int zv_queue_try_push(zipc_queue *, const void *);
int zv_queue_try_pop(zipc_queue *, void *);

static uint32_t qflags(void) { return (uint32_t)bench_env_u64("QFLAGS", 0); }
static uint32_t qcap(void) { return (uint32_t)bench_env_u64("QCAP", BENCH_CAPACITY); }

static int a_setup(bench_run *r)
{
    return q_setup_with(r, qcap(), qflags(), zipc_queue_create_ex, zipc_queue_close);
}

static int v_setup(bench_run *r)
{
    return q_setup_with(r, qcap(), qflags(), zv_queue_create_ex, zv_queue_close);
}

static int v_attach(bench_run *r)
{
    int rc = seg_open(r);
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        rc = zv_queue_open_ex(r->seg, q_name(ch), 8, 0, (zipc_queue **)&r->chan[ch]);
    return rc;
}

static void v_detach(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        zv_queue_close(r->chan[ch]);
    seg_close(r);
}

static int v_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zv_queue_try_push(r->chan[ch], v);
    return rc == 0 ? 1 : rc == -EAGAIN ? 0 : rc;
}

static int v_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zv_queue_try_pop(r->chan[ch], v);
    return rc == 0 ? 1 : rc == -EAGAIN ? 0 : rc;
}

static const mech mech_a = { "A", "A", BM_MPMC, 1, a_setup, q_attach, q_send, q_recv,
                             q_detach, seg_destroy };
static const mech mech_b = { "B", "B", BM_MPMC, 1, v_setup, v_attach, v_send, v_recv,
                             v_detach, seg_destroy };

#define CHUNK 4096
#define MAX_CHUNKS 4096

typedef struct ab_arg {
    bench_run *r;
    uint64_t n;
    int64_t *out; /* rt: ticks per round trip; tp: tick stamp per chunk */
    bool rt;
} ab_arg;

static void snd(bench_run *r, int ch, uint64_t v)
{
    while (r->m->send(r, ch, &v, 1) != 1)
        zipc__cpu_relax();
}

static uint64_t rcv(bench_run *r, int ch)
{
    uint64_t v;
    while (r->m->recv(r, ch, &v, 1) != 1)
        zipc__cpu_relax();
    return v;
}

static void ab_child(bench_ctl *ctl, int idx, void *p)
{
    ab_arg *a = p;
    bench_run *r = a->r;
    if (r->m->attach(r))
        bench_die("attach");
    bench_gate(ctl, 2);
    for (uint64_t i = 0; i < a->n; i++) {
        if (a->rt && idx == 0) {
            uint64_t t0 = bench_ticks();
            snd(r, 0, i);
            if (rcv(r, 1) != i)
                bench_die("round trip %" PRIu64 " lost", i);
            a->out[i] = (int64_t)(bench_ticks() - t0);
        } else if (a->rt) {
            snd(r, 1, rcv(r, 0));
        } else if (idx == 0) {
            snd(r, 0, i);
        } else {
            if (rcv(r, 0) != i)
                bench_die("message %" PRIu64 " lost or reordered", i);
            if (i % CHUNK == 0)
                a->out[i / CHUNK] = (int64_t)bench_ticks();
        }
    }
    r->m->detach(r);
}

static int cmp_dbl(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* rt: p50 in ns; tp: median chunk rate in M msgs/s. */
static double ab_run(const mech *m, bool rt, uint64_t n, int64_t *out)
{
    bench_run r = { .m = m, .nchan = 2 };
    if (m->setup(&r))
        bench_die("setup");
    ab_arg a = { &r, n, out, rt };
    bench_ctl *ctl = bench_ctl_new();
    bench_spawn(ctl, 2, ab_child, &a, m->key);
    m->teardown(&r);
    munmap(ctl, sizeof *ctl);
    if (rt) {
        qsort(out, n, sizeof *out, cmp_i64);
        return (double)out[n / 2] * bench_tick_ns;
    }
    int nc = (int)(n / CHUNK) - 1;
    static double rate[MAX_CHUNKS];
    for (int i = 0; i < nc; i++)
        rate[i] = CHUNK / ((double)(out[i + 1] - out[i]) * bench_tick_ns) * 1e3;
    qsort(rate, (size_t)nc, sizeof rate[0], cmp_dbl);
    return rate[nc / 2];
}

int main(int argc, char **argv)
{
    bench_calibrate_ticks();
    bool rt = argc > 1 && strcmp(argv[1], "rt") == 0;
    uint64_t n = bench_env_u64("N", rt ? 20000 : 1000000);
    int reps = (int)bench_env_u64("REPS", 8);
    if (reps < 1 || reps > 256 || (!rt && n / CHUNK > MAX_CHUNKS) || n < 2 * CHUNK)
        bench_die("REPS 1..256, N at least %d (tp: at most %d chunks)", 2 * CHUNK, MAX_CHUNKS);
    int64_t *out = mmap(NULL, sizeof(int64_t) * (n + 8), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (out == MAP_FAILED)
        bench_die("mmap");
    double ratio[256];
    for (int i = 0; i < reps; i++) {
        double a = ab_run(&mech_a, rt, n, out), b = ab_run(&mech_b, rt, n, out);
        ratio[i] = b / a;
        printf("%s  A %8.2f  B %8.2f  B/A %.3f\n", rt ? "rt p50 ns " : "tp M msg/s", a, b, b / a);
    }
    qsort(ratio, (size_t)reps, sizeof ratio[0], cmp_dbl);
    printf("median B/A %.3f (min %.3f, max %.3f) over %d rounds\n", ratio[reps / 2], ratio[0],
           ratio[reps - 1], reps);
    return 0;
}
