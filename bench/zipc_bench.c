/* zipc_bench: libzeroipc against the physical limits and its peers, every
 * participant its own process, every figure repeated over rounds.
 *
 *   zipc_bench [REPORT.md [CHART.dat]]    (bench/run.sh runs it and draws the chart)
 *
 * Scenarios, each run once per round for every mechanism that supports it:
 *   rt    round trip latency, p50 and p99: a pinger sends, a ponger echoes
 *   tp    one-way throughput, 1 producer / 1 consumer
 *   mp    2 producers / 2 consumers on the machine's cores (oversubscribed on
 *         2 cores), yield when full or empty; the longest single call and the
 *         calls over 1 ms
 *   wake  round trip between two processes that block when idle: the pinger
 *         pauses BENCH_WAKE_GAP_US before each ping so the ponger has gone to
 *         sleep, then waits for the echo the mechanism's way (the Queue spins
 *         ZIPC_SPIN_NS first, so a quick echo finds it still awake); and
 *         "both asleep": the ponger also pauses before it echoes, so the echo
 *         finds the pinger asleep too (the pause is subtracted)
 *   idle  CPU used by a consumer blocked on an empty channel for BENCH_IDLE_MS
 * Messages are 8 bytes and carry (producer << 48 | sequence); every receiver
 * checks them (no loss, duplication or reordering) and the run fails loudly
 * otherwise. Comparisons are ratios of figures taken in the same round.
 *
 * Extra environment for quick runs: BENCH_ONLY=key,key (mechanisms),
 * BENCH_SCENARIOS=rt,tp,mp,wake,idle. See bench_harness.h for the rest. */
#include "bench_mechs.h"

#define SEQ_BITS 48
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)
#define SENTINEL UINT64_MAX
#define MAX_BATCH 32

/* ---- one message at a time, waiting by spinning ------------------------- */

static void send_one(bench_run *r, int ch, uint64_t v)
{
    for (;;) {
        int k = r->m->send(r, ch, &v, 1);
        if (k == 1)
            return;
        if (k < 0)
            bench_die("%s: send: %s", r->m->key, strerror(-k));
        zipc__cpu_relax();
    }
}

static uint64_t recv_one(bench_run *r, int ch)
{
    uint64_t v;
    for (;;) {
        int k = r->m->recv(r, ch, &v, 1);
        if (k == 1)
            return v;
        if (k < 0)
            bench_die("%s: recv: %s", r->m->key, strerror(-k));
        zipc__cpu_relax();
    }
}

static void attach_or_die(bench_run *r)
{
    int rc = r->m->attach(r);
    if (rc)
        bench_die("%s: attach: %s", r->m->key, zipc_strerror(rc));
}

/* ---- round trip --------------------------------------------------------- */

typedef struct rt_arg {
    bench_run *r;
    uint64_t n, warm;
    int64_t gap_ns;      /* pinger: pause before each ping */
    int64_t pong_gap_ns; /* ponger: pause before each echo (subtracted) */
} rt_arg;

static void rt_child(bench_ctl *ctl, int idx, void *arg)
{
    rt_arg *a = arg;
    bench_run *r = a->r;
    uint64_t total = a->warm + a->n;
    attach_or_die(r);
    bench_gate(ctl, 2);
    if (idx == 0) {
        uint64_t *lat = malloc(a->n * sizeof *lat);
        uint64_t pong_gap_ticks = (uint64_t)((double)a->pong_gap_ns / bench_tick_ns);
        if (!lat)
            bench_die("out of memory");
        for (uint64_t i = 0; i < total; i++) {
            if (a->gap_ns)
                bench_busy_wait_ns(a->gap_ns);
            uint64_t t0 = bench_ticks();
            send_one(r, 0, i);
            uint64_t v = recv_one(r, 1);
            uint64_t t1 = bench_ticks();
            if (v != i)
                bench_die("%s: round trip %" PRIu64 " came back as %" PRIu64, r->m->key, i, v);
            if (i >= a->warm)
                lat[i - a->warm] = t1 - t0 - pong_gap_ticks;
        }
        ctl->res[0].p50_ns = bench_percentile_ns(lat, a->n, 0.50);
        ctl->res[0].p99_ns = bench_percentile_ns(lat, a->n, 0.99);
        free(lat);
    } else {
        for (uint64_t i = 0; i < total; i++) {
            uint64_t v = recv_one(r, 0);
            if (v != i)
                bench_die("%s: ping %" PRIu64 " arrived as %" PRIu64, r->m->key, i, v);
            if (a->pong_gap_ns)
                bench_busy_wait_ns(a->pong_gap_ns);
            send_one(r, 1, v);
        }
    }
    r->m->detach(r);
}

static void run_rt(const mech *m, int round, uint64_t n, int64_t gap_ns, int64_t pong_gap_ns,
                   const char *prefix)
{
    bench_run r = { .m = m, .nchan = 2 };
    int rc = m->setup(&r);
    if (rc)
        bench_die("%s: setup: %s", m->key, zipc_strerror(rc));
    rt_arg a = { &r, n, n / 10 + 10, gap_ns, pong_gap_ns };
    bench_ctl *ctl = bench_ctl_new();
    bench_spawn(ctl, 2, rt_child, &a, m->key);
    m->teardown(&r);
    char key[96];
    snprintf(key, sizeof key, "%s50:%s", prefix, m->key);
    bench_record(key, round, ctl->res[0].p50_ns);
    snprintf(key, sizeof key, "%s99:%s", prefix, m->key);
    bench_record(key, round, ctl->res[0].p99_ns);
    munmap(ctl, sizeof *ctl);
}

/* ---- throughput: NP producers, NC consumers ----------------------------- */

typedef struct tp_arg {
    bench_run *r;
    uint64_t n; /* messages in total */
    int np, nc;
    bool yield;      /* back off with sched_yield (else a CPU pause) */
    bool time_calls; /* record the longest call and the calls over 1 ms */
    int64_t max_ns;  /* producers stop early after this long (0: never) */
} tp_arg;

typedef struct call_timer {
    uint64_t max_ticks, over, limit_ticks;
} call_timer;

static inline void call_timed(call_timer *t, uint64_t t0)
{
    uint64_t d = bench_ticks() - t0;
    if (d > t->max_ticks)
        t->max_ticks = d;
    if (d > t->limit_ticks)
        t->over++;
}

static void backoff(const tp_arg *a)
{
    if (a->yield)
        sched_yield();
    else
        zipc__cpu_relax();
}

/* Send V[0..N) completely. */
static void tp_send_all(const tp_arg *a, call_timer *t, const uint64_t *v, unsigned n)
{
    bench_run *r = a->r;
    while (n) {
        uint64_t t0 = a->time_calls ? bench_ticks() : 0;
        int k = r->m->send(r, 0, v, n);
        if (a->time_calls)
            call_timed(t, t0);
        if (k < 0)
            bench_die("%s: send: %s", r->m->key, strerror(-k));
        if (k == 0)
            backoff(a);
        v += k;
        n -= (unsigned)k;
    }
}

static void tp_producer(bench_ctl *ctl, int idx, const tp_arg *a)
{
    bench_run *r = a->r;
    unsigned batch = r->m->batch;
    uint64_t per = a->n / (uint64_t)a->np, buf[MAX_BATCH];
    call_timer t = { 0, 0, (uint64_t)(1e6 / bench_tick_ns) };
    bench_result *res = &ctl->res[idx];
    res->t_start_ns = bench_now_ns();
    int64_t stop_at = a->max_ns ? res->t_start_ns + a->max_ns : INT64_MAX;
    uint64_t seq = 0;
    while (seq < per) {
        unsigned k = 0;
        while (k < batch && seq < per)
            buf[k++] = (uint64_t)idx << SEQ_BITS | seq++;
        tp_send_all(a, &t, buf, k);
        if (seq % 1024 < batch && bench_now_ns() > stop_at)
            break; /* a pathological case: report the rate so far */
    }
    res->sent = seq;
    if (a->np > 1 || a->nc > 1 || a->max_ns) {
        /* S1: pairs with itself in the other producers: the last one to
         * finish sends one end marker per consumer, after every message. */
        if (zipc__fetch_add_acq_rel_u32(&ctl->producers_done, 1) + 1 == (uint32_t)a->np)
            for (int c = 0; c < a->nc; c++) {
                uint64_t s = SENTINEL;
                tp_send_all(a, &t, &s, 1);
            }
    }
    res->max_call_ns = (double)t.max_ticks * bench_tick_ns;
    res->calls_over_1ms = t.over;
}

static void tp_consumer(bench_ctl *ctl, int idx, const tp_arg *a)
{
    bench_run *r = a->r;
    bool lifo = r->m->flags & BM_LIFO, single = a->np == 1 && a->nc == 1 && !a->max_ns;
    uint64_t per = a->n / (uint64_t)a->np, buf[MAX_BATCH], got = 0;
    uint64_t next[BENCH_MAX_PROCS] = { 0 }; /* per producer: lowest sequence still allowed */
    uint8_t *seen = lifo ? calloc(per / 8 + 1, 1) : NULL;
    call_timer t = { 0, 0, (uint64_t)(1e6 / bench_tick_ns) };
    bench_result *res = &ctl->res[idx];
    unsigned ends = 0;
    while (single ? got < a->n : ends == 0) {
        uint64_t t0 = a->time_calls ? bench_ticks() : 0;
        int k = r->m->recv(r, 0, buf, r->m->batch);
        if (a->time_calls)
            call_timed(&t, t0);
        if (k < 0)
            bench_die("%s: recv: %s", r->m->key, strerror(-k));
        if (k == 0) {
            backoff(a);
            continue;
        }
        for (int i = 0; i < k; i++) {
            uint64_t v = buf[i];
            if (v == SENTINEL) {
                ends++;
                continue;
            }
            uint64_t p = v >> SEQ_BITS, seq = v & SEQ_MASK;
            if (p >= (uint64_t)a->np || seq >= per)
                bench_die("%s: garbage message 0x%" PRIx64, r->m->key, v);
            if (lifo) {
                if (seen[seq / 8] & (1u << seq % 8))
                    bench_die("%s: message %" PRIu64 " duplicated", r->m->key, seq);
                seen[seq / 8] |= (uint8_t)(1u << seq % 8);
            } else if (single ? seq != next[p] : seq < next[p]) {
                bench_die("%s: from producer %" PRIu64 " expected %s%" PRIu64 ", got %" PRIu64
                          " (lost, duplicated or reordered)",
                          r->m->key, p, single ? "" : "at least ", next[p], seq);
            }
            next[p] = seq + 1;
            res->count[p]++;
            res->sum[p] += seq;
            res->sumsq[p] += seq * seq;
            got++;
        }
    }
    res->t_end_ns = bench_now_ns();
    /* A consumer that took more than one end marker hands the rest back. */
    for (unsigned e = 1; e < ends; e++) {
        uint64_t s = SENTINEL;
        tp_send_all(a, &t, &s, 1);
    }
    res->max_call_ns = (double)t.max_ticks * bench_tick_ns;
    res->calls_over_1ms = t.over;
    free(seen);
}

static void tp_child(bench_ctl *ctl, int idx, void *arg)
{
    tp_arg *a = arg;
    attach_or_die(a->r);
    bench_gate(ctl, (uint32_t)(a->np + a->nc));
    if (idx < a->np)
        tp_producer(ctl, idx, a);
    else
        tp_consumer(ctl, idx, a);
    a->r->m->detach(a->r);
}

typedef struct tp_out {
    double mmsg_per_s, max_call_ns;
    uint64_t calls_over_1ms;
} tp_out;

static tp_out run_tp(const mech *m, uint64_t n, int np, int nc, bool yield, bool time_calls,
                     int64_t max_ns)
{
    bench_run r = { .m = m, .nchan = 1 };
    int rc = m->setup(&r);
    if (rc)
        bench_die("%s: setup: %s", m->key, zipc_strerror(rc));
    n -= n % (uint64_t)np;
    tp_arg a = { &r, n, np, nc, yield, time_calls, max_ns };
    bench_ctl *ctl = bench_ctl_new();
    char what[64];
    snprintf(what, sizeof what, "%s %dP/%dC", m->key, np, nc);
    bench_spawn(ctl, np + nc, tp_child, &a, what);
    m->teardown(&r);

    /* Every producer's messages arrived exactly once: counts, sums and sums of
     * squares of the sequence numbers over all consumers. */
    tp_out out = { 0 };
    int64_t t0 = INT64_MAX, t1 = 0;
    uint64_t total = 0;
    for (int p = 0; p < np; p++) {
        uint64_t per = ctl->res[p].sent, want_sum = 0, want_sq = 0;
        for (uint64_t s = 0; s < per; s++) {
            want_sum += s;
            want_sq += s * s;
        }
        total += per;
        uint64_t c = 0, sum = 0, sq = 0;
        for (int i = np; i < np + nc; i++) {
            c += ctl->res[i].count[p];
            sum += ctl->res[i].sum[p];
            sq += ctl->res[i].sumsq[p];
        }
        if (c != per || sum != want_sum || sq != want_sq)
            bench_die("%s: producer %d: %" PRIu64 " of %" PRIu64
                      " messages arrived, or some twice and others never",
                      what, p, c, per);
        if (ctl->res[p].t_start_ns < t0)
            t0 = ctl->res[p].t_start_ns;
    }
    for (int i = 0; i < np + nc; i++) {
        if (i >= np && ctl->res[i].t_end_ns > t1)
            t1 = ctl->res[i].t_end_ns;
        if (ctl->res[i].max_call_ns > out.max_call_ns)
            out.max_call_ns = ctl->res[i].max_call_ns;
        out.calls_over_1ms += ctl->res[i].calls_over_1ms;
    }
    out.mmsg_per_s = (double)total / (double)(t1 - t0) * 1e3;
    munmap(ctl, sizeof *ctl);
    return out;
}

/* ---- CPU of an idle blocked consumer ------------------------------------ */

typedef struct idle_arg {
    bench_run *r;
    int64_t idle_ns;
} idle_arg;

static void idle_child(bench_ctl *ctl, int idx, void *arg)
{
    idle_arg *a = arg;
    bench_run *r = a->r;
    attach_or_die(r);
    bench_gate(ctl, 2);
    if (idx == 0) {
        int64_t w0 = bench_now_ns(), c0 = bench_cpu_ns();
        /* I1: pairs with I2: the producer starts its clock after this. */
        zipc__store_release_u32(&ctl->consumer_blocked, 1);
        uint64_t v = recv_one(r, 0);
        ctl->res[0].cpu_ns = (double)(bench_cpu_ns() - c0);
        ctl->res[0].wall_ns = (double)(bench_now_ns() - w0);
        if (v != 42)
            bench_die("%s: idle consumer got %" PRIu64, r->m->key, v);
    } else {
        /* I2: pairs with I1. */
        while (!zipc__load_acquire_u32(&ctl->consumer_blocked))
            sched_yield();
        struct timespec ts = { a->idle_ns / 1000000000, a->idle_ns % 1000000000 };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        send_one(r, 0, 42);
    }
    r->m->detach(r);
}

static double run_idle(const mech *m, int64_t idle_ns)
{
    bench_run r = { .m = m, .nchan = 1 };
    int rc = m->setup(&r);
    if (rc)
        bench_die("%s: setup: %s", m->key, zipc_strerror(rc));
    idle_arg a = { &r, idle_ns };
    bench_ctl *ctl = bench_ctl_new();
    bench_spawn(ctl, 2, idle_child, &a, m->key);
    m->teardown(&r);
    double pct = 100.0 * ctl->res[0].cpu_ns / ctl->res[0].wall_ns;
    munmap(ctl, sizeof *ctl);
    return pct;
}

/* ---- selection ---------------------------------------------------------- */

static bool listed(const char *env, const char *word)
{
    const char *s = getenv(env);
    if (!s || !*s)
        return true;
    size_t n = strlen(word);
    for (const char *p = s; (p = strstr(p, word)) != NULL; p += n)
        if ((p == s || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return true;
    return false;
}

static bool want(const mech *m) { return listed("BENCH_ONLY", m->key); }

static bool in_rt(const mech *m) { return m->batch == 1; }
static bool in_tp(const mech *m) { return !(m->flags & BM_ONE_SLOT); }
static bool in_mp(const mech *m) { return (m->flags & BM_MPMC) && !(m->flags & BM_BLOCKS); }
static bool in_wake(const mech *m) { return (m->flags & BM_BLOCKS) && m->batch == 1; }
static bool in_idle(const mech *m)
{
    return (m->flags & BM_BLOCKS) && m->batch == 1 &&
           (strcmp(m->key, "pipe") == 0 || !(m->flags & BM_KERNEL));
}

/* ---- the report --------------------------------------------------------- */

static FILE *md;

static void cell(const char *key, const char *fmt)
{
    bench_stat s = bench_fig_stat(key);
    if (!s.ok) {
        fprintf(md, " n/a |");
        return;
    }
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, fmt, s.med);
    snprintf(b, sizeof b, fmt, s.min);
    snprintf(c, sizeof c, fmt, s.max);
    fprintf(md, " %s (%s–%s) |", a, b, c);
}

static void key_of(char *buf, size_t len, const char *prefix, const mech *m)
{
    snprintf(buf, len, "%s:%s", prefix, m->key);
}

static void print_tables(int rounds)
{
    char k1[96], k2[96], k3[96];
    fprintf(md, "Each cell: median (min–max) over %d rounds.\n\n", rounds);

    fprintf(md, "### Round-trip latency (2 processes, each on its own core; spinning "
                "receivers, kernel IPC blocks)\n\n");
    fprintf(md, "| mechanism | p50 ns | p99 ns |\n|---|---:|---:|\n");
    for (int i = 0; i < BENCH_NMECHS; i++) {
        const mech *m = &bench_mechs[i];
        key_of(k1, sizeof k1, "rt50", m);
        if (!bench_fig_get(k1, false))
            continue;
        key_of(k2, sizeof k2, "rt99", m);
        fprintf(md, "| %s |", m->label);
        cell(k1, "%.0f");
        cell(k2, "%.0f");
        fprintf(md, "\n");
    }

    fprintf(md, "\n### One-way throughput, 1 producer / 1 consumer (each on its own core, "
                "spinning when full or empty)\n\n");
    fprintf(md, "| mechanism | million msgs/s |\n|---|---:|\n");
    for (int i = 0; i < BENCH_NMECHS; i++) {
        const mech *m = &bench_mechs[i];
        key_of(k1, sizeof k1, "tp", m);
        if (!bench_fig_get(k1, false))
            continue;
        fprintf(md, "| %s |", m->label);
        cell(k1, "%.2f");
        fprintf(md, "\n");
    }

    fprintf(md, "\n### 2 producers / 2 consumers, 4 processes on %d cores (sched_yield when "
                "full or empty)\n\n", bench_ncpu());
    fprintf(md, "| mechanism | million msgs/s | longest single call, µs | calls over 1 ms |\n"
                "|---|---:|---:|---:|\n");
    for (int i = 0; i < BENCH_NMECHS; i++) {
        const mech *m = &bench_mechs[i];
        key_of(k1, sizeof k1, "mp", m);
        if (!bench_fig_get(k1, false))
            continue;
        key_of(k2, sizeof k2, "mpmax", m);
        key_of(k3, sizeof k3, "mpover", m);
        fprintf(md, "| %s |", m->label);
        cell(k1, "%.2f");
        cell(k2, "%.0f");
        cell(k3, "%.0f");
        fprintf(md, "\n");
    }

    fprintf(md, "\n### Blocking: wake-up round trip (the ping finds the ponger asleep; "
                "\"both asleep\": the echo finds the pinger asleep too) and CPU of an idle "
                "blocked consumer\n\n");
    fprintf(md, "| mechanism | wake-up round trip p50 µs | p99 µs | both asleep p50 µs | p99 µs "
                "| idle consumer, %% of a core |\n"
                "|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < BENCH_NMECHS; i++) {
        const mech *m = &bench_mechs[i];
        key_of(k1, sizeof k1, "wake50", m);
        key_of(k3, sizeof k3, "idle", m);
        if (!bench_fig_get(k1, false) && !bench_fig_get(k3, false))
            continue;
        key_of(k2, sizeof k2, "wake99", m);
        fprintf(md, "| %s |", m->label);
        cell(k1, "%.1f");
        cell(k2, "%.1f");
        key_of(k2, sizeof k2, "wakeb50", m);
        cell(k2, "%.1f");
        key_of(k2, sizeof k2, "wakeb99", m);
        cell(k2, "%.1f");
        cell(k3, "%.3f");
        fprintf(md, "\n");
    }
}

typedef struct target {
    const char *what, *a, *b; /* ratio a/b, or the figure a alone when b is NULL */
    bool at_most;
    double bound;
    const char *unit;
    bool worst; /* judged on the worst round (max), not the median */
} target;

static void print_targets(void)
{
    static const target ts[] = {
        { "Queue round-trip p50 / cache-line ping-pong p50", "rt50:queue", "rt50:pingpong",
          true, 1.3, "x" },
        { "... single producer/consumer", "rt50:queue_sp", "rt50:pingpong", true, 1.3, "x" },
        { "(for reference) single producer/consumer / two-line ping-pong", "rt50:queue_sp",
          "rt50:pingpong2", true, 1.3, "x" },
        { "... a queue of one line (4 slots, ZIPC_QUEUE_LINE_ALIGNED)", "rt50:queue_line",
          "rt50:pingpong", true, 1.3, "x" },
        { "... one line, single producer/consumer", "rt50:queue_sp_line", "rt50:pingpong", true,
          1.3, "x" },
        { "Queue 1P/1C throughput / rte_ring MP/MC", "tp:queue", "tp:rte_mp", false, 3.0, "x" },
        { "... single producer/consumer", "tp:queue_sp", "tp:rte_mp", false, 3.0, "x" },
        { "Queue 1P/1C throughput / rte_ring SP/SC", "tp:queue", "tp:rte_sp", false, 1.0, "x" },
        { "... single producer/consumer", "tp:queue_sp", "tp:rte_sp", false, 1.0, "x" },
        { "Queue batch-32 throughput / hand-written SPSC ring (batch 32)", "tp:queue32",
          "tp:hring32", false, 0.3, "x" },
        { "... single producer/consumer", "tp:queue_sp32", "tp:hring32", false, 0.3, "x" },
        { "Queue 2P/2C throughput / rte_ring MP/MC 2P/2C", "mp:queue", "mp:rte_mp", false, 1.5,
          "x" },
        { "Queue 2P/2C longest single call (judged on the worst round)", "mpmax:queue", NULL,
          true, 50000.0, " µs", true },
        { "Queue blocking wake-up round trip p50 / pipe's", "wake50:queue_blk", "wake50:pipe",
          true, 1.0, "x" },
        { "... single producer/consumer", "wake50:queue_sp_blk", "wake50:pipe", true, 1.0, "x" },
        { "... both asleep: Queue p50 / pipe's", "wakeb50:queue_blk", "wakeb50:pipe", true, 1.0,
          "x" },
        { "... both asleep, single producer/consumer", "wakeb50:queue_sp_blk", "wakeb50:pipe",
          true, 1.0, "x" },
        { "Idle blocked Queue consumer, % of a core", "idle:queue_blk", NULL, true, 1.0, "%" },
        { "... single producer/consumer", "idle:queue_sp_blk", NULL, true, 1.0, "%" },
    };
    fprintf(md, "\n### Targets (ratios taken round by round, then median (min–max))\n\n");
    fprintf(md, "| target | measured | bound | met |\n|---|---:|---:|:---:|\n");
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        const target *t = &ts[i];
        bench_stat s = t->b ? bench_ratio_stat(t->a, t->b) : bench_fig_stat(t->a);
        if (!s.ok) {
            fprintf(md, "| %s | not measured | %s %g%s | – |\n", t->what, t->at_most ? "<=" : ">=",
                    t->bound, t->unit);
            continue;
        }
        double v = t->worst ? (t->at_most ? s.max : s.min) : s.med;
        bool met = t->at_most ? v <= t->bound : v >= t->bound;
        const char *fmt = t->b ? "%.2f" : "%.3g";
        char a[32], b[32], c[32];
        snprintf(a, sizeof a, fmt, s.med);
        snprintf(b, sizeof b, fmt, s.min);
        snprintf(c, sizeof c, fmt, s.max);
        fprintf(md, "| %s | %s%s (%s–%s) | %s %g%s | %s |\n", t->what, a, t->unit, b, c,
                t->at_most ? "<=" : ">=", t->bound, t->unit, met ? "yes" : "**no**");
    }
}

/* gnuplot data: one line per mechanism: label, throughput med/min/max,
 * round-trip p50 med/min/max (-1 when not measured). */
static void write_dat(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bench_die("%s: %s", path, strerror(errno));
    char k[96];
    for (int i = 0; i < BENCH_NMECHS; i++) {
        const mech *m = &bench_mechs[i];
        key_of(k, sizeof k, "tp", m);
        bench_stat tp = bench_fig_stat(k);
        key_of(k, sizeof k, "rt50", m);
        bench_stat rt = bench_fig_stat(k);
        if (!tp.ok && !rt.ok)
            continue;
        fprintf(f, "\"%s\" %g %g %g %g %g %g\n", m->label, tp.ok ? tp.med : -1,
                tp.ok ? tp.min : -1, tp.ok ? tp.max : -1, rt.ok ? rt.med : -1,
                rt.ok ? rt.min : -1, rt.ok ? rt.max : -1);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    int rounds = (int)bench_env_u64("BENCH_ROUNDS", 5);
    uint64_t rt_n = bench_env_u64("BENCH_RT_N", 50000);
    uint64_t tp_n = bench_env_u64("BENCH_TP_N", 2000000);
    uint64_t ktp_n = bench_env_u64("BENCH_KTP_N", 200000);
    uint64_t mp_n = bench_env_u64("BENCH_MP_N", 500000);
    uint64_t wake_n = bench_env_u64("BENCH_WAKE_N", 2000);
    int64_t mp_max_ns = (int64_t)bench_env_u64("BENCH_MP_MAX_MS", 3000) * 1000000;
    int64_t wake_gap = (int64_t)bench_env_u64("BENCH_WAKE_GAP_US", 100) * 1000;
    int64_t idle_ns = (int64_t)bench_env_u64("BENCH_IDLE_MS", 500) * 1000000;
    if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
        bench_die("BENCH_ROUNDS must be 1..%d", BENCH_MAX_ROUNDS);
    md = stdout;
    if (argc > 1 && !(md = fopen(argv[1], "w")))
        bench_die("%s: %s", argv[1], strerror(errno));
    bench_calibrate_ticks();

    /* Scenario-major order: within a round, the figures a ratio compares are
     * taken close together in time (the machine may be shared). */
    static const char *const scenarios[] = { "rt", "tp", "mp", "wake", "idle" };
    for (int round = 0; round < rounds; round++) {
        fprintf(stderr, "round %d/%d:", round + 1, rounds);
        for (size_t sc = 0; sc < sizeof scenarios / sizeof *scenarios; sc++) {
            const char *scen = scenarios[sc];
            if (!listed("BENCH_SCENARIOS", scen))
                continue;
            fprintf(stderr, " %s", scen);
            for (int i = 0; i < BENCH_NMECHS; i++) {
                const mech *m = &bench_mechs[i];
                if (!want(m))
                    continue;
                /* a system call or a sleep per message: fewer messages */
                bool kernel = m->flags & (BM_KERNEL | BM_BLOCKS);
                char k[96];
                if (sc == 0 && in_rt(m)) {
                    run_rt(m, round, kernel ? rt_n / 5 : rt_n, 0, 0, "rt");
                } else if (sc == 1 && in_tp(m)) {
                    tp_out o = run_tp(m, kernel ? ktp_n : tp_n, 1, 1, false, false, 0);
                    key_of(k, sizeof k, "tp", m);
                    bench_record(k, round, o.mmsg_per_s);
                } else if (sc == 2 && in_mp(m)) {
                    tp_out o = run_tp(m, mp_n, 2, 2, true, true, mp_max_ns);
                    key_of(k, sizeof k, "mp", m);
                    bench_record(k, round, o.mmsg_per_s);
                    key_of(k, sizeof k, "mpmax", m);
                    bench_record(k, round, o.max_call_ns / 1e3);
                    key_of(k, sizeof k, "mpover", m);
                    bench_record(k, round, (double)o.calls_over_1ms);
                } else if (sc == 3 && in_wake(m)) {
                    run_rt(m, round, wake_n, wake_gap, 0, "wake");
                    run_rt(m, round, wake_n, wake_gap, wake_gap, "wakeb");
                } else if (sc == 4 && in_idle(m)) {
                    key_of(k, sizeof k, "idle", m);
                    bench_record(k, round, run_idle(m, idle_ns));
                }
            }
        }
        fprintf(stderr, "\n");
    }
    /* wake-up round trips are reported in µs */
    for (int i = 0; i < bench_nfigs; i++)
        if (strncmp(bench_figs[i].key, "wake", 4) == 0)
            for (int r = 0; r < BENCH_MAX_ROUNDS; r++)
                bench_figs[i].v[r] /= 1e3;

    print_tables(rounds);
    print_targets();
    if (md != stdout)
        fclose(md);
    if (argc > 2)
        write_dat(argv[2]);
    return 0;
}
