/* The mechanisms under measurement, behind one small interface.
 *
 * A mechanism moves 8-byte messages through NCHAN one-way channels. The parent
 * calls setup() (creates the segment / pipe / message queue), forks, and every
 * child calls attach() to open the object itself. send()/recv() move up to N
 * messages and return how many moved (0: full/empty, try again), or a
 * negative errno. Mechanisms marked BM_BLOCKS wait inside the call instead
 * (kernel IPC, our blocking push/pop): they never return 0.
 *
 * Shared-memory peers (rte_ring, ck_ring) and the hand-written limits live
 * in raw entries of a libzeroipc segment, so they too are opened by name in
 * each child and mapped at a different address there.
 */
#ifndef ZIPC_BENCH_MECHS_H
#define ZIPC_BENCH_MECHS_H

#include <fcntl.h>
#include <mqueue.h>
#include <sys/socket.h>

#include "bench_harness.h"
#include "zeroipc/zeroipc.h"

#if __has_include("zeroipc/queue.h")
#include "zeroipc/queue.h"
#define BENCH_HAVE_QUEUE 1
#endif
#if __has_include("zeroipc/stack.h")
#include "zeroipc/stack.h"
#define BENCH_HAVE_STACK 1
#endif
#if __has_include("zeroipc/ring.h")
#include "zeroipc/ring.h"
#define BENCH_HAVE_RING 1
#endif

#ifdef BENCH_WITH_DPDK
#include <rte_ring.h>
#endif
#ifdef BENCH_WITH_CK
#include <ck_ring.h>
#endif

#define BENCH_MAX_CHAN 2
#define BENCH_CAPACITY 1024u /* slots per channel, the same for every ring */
#define BENCH_CACHELINE 64

enum {
    BM_BLOCKS = 1,   /* send/recv wait inside the call */
    BM_MPMC = 2,     /* any number of producers and consumers */
    BM_LIFO = 4,     /* a stack: no order to check, only loss and duplication */
    BM_ONE_SLOT = 8, /* at most one message in flight: latency only */
    BM_KERNEL = 16,  /* a system call per operation: smaller message counts */
};

typedef struct bench_run bench_run;

typedef struct mech {
    const char *key;   /* short id used in figure keys */
    const char *label; /* shown in the tables */
    unsigned flags;
    unsigned batch; /* messages per call the scenarios use (1 or 32) */
    int (*setup)(bench_run *r);
    int (*attach)(bench_run *r);
    int (*send)(bench_run *r, int ch, const uint64_t *v, unsigned n);
    int (*recv)(bench_run *r, int ch, uint64_t *v, unsigned n);
    void (*detach)(bench_run *r);
    void (*teardown)(bench_run *r);
} mech;

struct bench_run {
    const mech *m;
    int nchan;
    char seg_name[64];
    zipc_segment *seg;
    int fd[BENCH_MAX_CHAN][2];
    char mq_name[BENCH_MAX_CHAN][64];
    mqd_t mq[BENCH_MAX_CHAN];
    void *chan[BENCH_MAX_CHAN]; /* this process's handle or address per channel */
    /* process-local cursors of the hand-written ring, per channel */
    uint64_t ring_mine[BENCH_MAX_CHAN], ring_theirs[BENCH_MAX_CHAN];
};

static unsigned bench_run_counter;

/* ---- segment plumbing shared by every shared-memory mechanism ------------ */

static int seg_create(bench_run *r, uint64_t bytes)
{
    snprintf(r->seg_name, sizeof r->seg_name, "/zipc_bench_%d_%u", (int)getpid(),
             bench_run_counter++);
    return zipc_segment_create(r->seg_name, bytes + 65536, 16, &r->seg);
}

/* A raw entry of BYTES, returned 64-byte aligned (the mapping base is page
 * aligned, so the aligned offset is the same in every process). */
static void *seg_raw_add(bench_run *r, int ch, uint64_t bytes)
{
    char name[32];
    uint64_t off;
    snprintf(name, sizeof name, "raw%d", ch);
    int rc = zipc_segment_add_entry(r->seg, name, bytes + BENCH_CACHELINE, &off);
    if (rc)
        bench_die("add_entry %s: %s", name, zipc_strerror(rc));
    off = (off + BENCH_CACHELINE - 1) & ~(uint64_t)(BENCH_CACHELINE - 1);
    return (char *)zipc_segment_base(r->seg) + off;
}

static void *seg_raw_find(bench_run *r, int ch)
{
    char name[32];
    zipc_entry_info info;
    snprintf(name, sizeof name, "raw%d", ch);
    int rc = zipc_segment_find(r->seg, name, &info);
    if (rc)
        bench_die("find %s: %s", name, zipc_strerror(rc));
    uint64_t off = (info.offset + BENCH_CACHELINE - 1) & ~(uint64_t)(BENCH_CACHELINE - 1);
    return (char *)zipc_segment_base(r->seg) + off;
}

static int seg_open(bench_run *r)
{
    return zipc_segment_open(r->seg_name, &r->seg);
}

static void seg_close(bench_run *r)
{
    zipc_segment_close(r->seg);
    r->seg = NULL;
}

static void seg_destroy(bench_run *r)
{
    zipc_segment_close(r->seg);
    r->seg = NULL;
    zipc_segment_unlink(r->seg_name);
}

static int raw_attach(bench_run *r)
{
    int rc = seg_open(r);
    if (rc)
        return rc;
    for (int ch = 0; ch < r->nchan; ch++) {
        r->chan[ch] = seg_raw_find(r, ch);
        r->ring_mine[ch] = r->ring_theirs[ch] = 0;
    }
    return 0;
}

/* ---- limit 1: cache-line ping-pong (one atomic word per direction) ------ */
/* The word holds the last message + 1; one message in flight at most. */

static int cl_setup(bench_run *r)
{
    int rc = seg_create(r, 4096);
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        seg_raw_add(r, ch, BENCH_CACHELINE);
    return rc;
}

static int cl_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    /* P1: pairs with P2: the receiver sees the new value whole. */
    zipc__store_release_u64((zipc_atomic_u64 *)r->chan[ch], v[0] + 1);
    return 1;
}

static int cl_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    /* P2: pairs with P1. */
    uint64_t x = zipc__load_acquire_u64((zipc_atomic_u64 *)r->chan[ch]);
    if (x == r->ring_theirs[ch])
        return 0;
    r->ring_theirs[ch] = x;
    v[0] = x - 1;
    return 1;
}

/* Two-line ping-pong: the message in one line and the flag that publishes
 * it in another, the receiver fetching both at once (it prefetches the
 * message line while it polls the flag). The least any queue whose element
 * and index live on different lines can move per message: the physical
 * limit for the Queue's format, whose element and sequence word are in
 * separate arrays. */
static int cl2_setup(bench_run *r)
{
    int rc = seg_create(r, 4096);
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        seg_raw_add(r, ch, 2 * BENCH_CACHELINE);
    return rc;
}

static int cl2_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    zipc_atomic_u64 *line = (zipc_atomic_u64 *)r->chan[ch];
    zipc__store_relaxed_u64(&line[0], v[0]);
    /* P1: pairs with P2: the message line before the flag. */
    zipc__store_release_u64(&line[BENCH_CACHELINE / 8], v[0] + 1);
    return 1;
}

static int cl2_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    zipc_atomic_u64 *line = (zipc_atomic_u64 *)r->chan[ch];
    zipc__prefetch_for_read(&line[0]);
    /* P2: pairs with P1. */
    uint64_t x = zipc__load_acquire_u64(&line[BENCH_CACHELINE / 8]);
    if (x == r->ring_theirs[ch])
        return 0;
    r->ring_theirs[ch] = x;
    v[0] = zipc__load_relaxed_u64(&line[0]);
    return v[0] + 1 == x ? 1 : -EBADMSG;
}

/* ---- limit 2: the simplest SPSC ring ------------------------------------ */
/* Producer and consumer index on lines of their own; each side caches the
 * other's index and refreshes it only when the cached value says full/empty,
 * and publishes its own index once per call (batched publishing). */

typedef struct hring_shm {
    zipc_atomic_u64 tail; /* producer's count */
    char pad1[BENCH_CACHELINE - 8];
    zipc_atomic_u64 head; /* consumer's count */
    char pad2[BENCH_CACHELINE - 8];
    uint64_t slot[BENCH_CAPACITY];
} hring_shm;

static int hr_setup(bench_run *r)
{
    int rc = seg_create(r, 2 * (sizeof(hring_shm) + 128));
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        seg_raw_add(r, ch, sizeof(hring_shm));
    return rc;
}

static int hr_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    hring_shm *h = r->chan[ch];
    uint64_t tail = r->ring_mine[ch];
    if (BENCH_CAPACITY - (tail - r->ring_theirs[ch]) < n)
        /* H1: pairs with H4: the consumer is done with the slots it freed. */
        r->ring_theirs[ch] = zipc__load_acquire_u64(&h->head);
    uint64_t room = BENCH_CAPACITY - (tail - r->ring_theirs[ch]);
    unsigned k = room < n ? (unsigned)room : n;
    for (unsigned i = 0; i < k; i++)
        h->slot[(tail + i) & (BENCH_CAPACITY - 1)] = v[i];
    if (k) {
        r->ring_mine[ch] = tail + k;
        /* H2: pairs with H3: the slots are written before they are counted. */
        zipc__store_release_u64(&h->tail, tail + k);
    }
    return (int)k;
}

static int hr_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    hring_shm *h = r->chan[ch];
    uint64_t head = r->ring_mine[ch];
    if (r->ring_theirs[ch] == head)
        /* H3: pairs with H2. */
        r->ring_theirs[ch] = zipc__load_acquire_u64(&h->tail);
    uint64_t avail = r->ring_theirs[ch] - head;
    unsigned k = avail < n ? (unsigned)avail : n;
    for (unsigned i = 0; i < k; i++)
        v[i] = h->slot[(head + i) & (BENCH_CAPACITY - 1)];
    if (k) {
        r->ring_mine[ch] = head + k;
        /* H4: pairs with H1: the slots are read before they are handed back. */
        zipc__store_release_u64(&h->head, head + k);
    }
    return (int)k;
}

static int noop_attach(bench_run *r)
{
    (void)r;
    return 0;
}

static void noop_detach(bench_run *r)
{
    (void)r;
}

/* ---- kernel IPC: pipe, UNIX socketpair, POSIX message queue -------------- */

static int fd_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int fd_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    int rc = fd_write_all(r->fd[ch][1], v, n * sizeof *v);
    return rc ? rc : (int)n;
}

/* Reads whole messages: a stream may split one, so finish any partial one. */
static int fd_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    ssize_t got;
    do
        got = read(r->fd[ch][0], v, n * sizeof *v);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return got == 0 ? -EPIPE : -errno;
    size_t rest = (sizeof *v - (size_t)got % sizeof *v) % sizeof *v;
    while (rest) {
        ssize_t more = read(r->fd[ch][0], (char *)v + got, rest);
        if (more <= 0) {
            if (more < 0 && errno == EINTR)
                continue;
            return more == 0 ? -EPIPE : -errno;
        }
        got += more;
        rest -= (size_t)more;
    }
    return (int)((size_t)got / sizeof *v);
}

static int pipe_setup(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        if (pipe(r->fd[ch]) != 0)
            return -errno;
    return 0;
}

static int sock_setup(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, r->fd[ch]) != 0)
            return -errno;
    return 0;
}

static void fd_teardown(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++) {
        close(r->fd[ch][0]);
        close(r->fd[ch][1]);
    }
}

static int mq_setup(bench_run *r)
{
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = sizeof(uint64_t) };
    for (int ch = 0; ch < r->nchan; ch++) {
        snprintf(r->mq_name[ch], sizeof r->mq_name[ch], "/zipc_bench_mq_%d_%u_%d",
                 (int)getpid(), bench_run_counter++, ch);
        mqd_t q = mq_open(r->mq_name[ch], O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
        if (q == (mqd_t)-1)
            return -errno;
        mq_close(q);
    }
    return 0;
}

static int mq_attach(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++) {
        r->mq[ch] = mq_open(r->mq_name[ch], O_RDWR);
        if (r->mq[ch] == (mqd_t)-1)
            return -errno;
    }
    return 0;
}

static int mq_send_one(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    while (mq_send(r->mq[ch], (const char *)v, sizeof *v, 0) != 0)
        if (errno != EINTR)
            return -errno;
    return 1;
}

static int mq_recv_one(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    ssize_t got;
    while ((got = mq_receive(r->mq[ch], (char *)v, sizeof *v, NULL)) < 0)
        if (errno != EINTR)
            return -errno;
    return got == sizeof *v ? 1 : -EBADMSG;
}

static void mq_detach(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        mq_close(r->mq[ch]);
}

static void mq_teardown(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        mq_unlink(r->mq_name[ch]);
}

/* ---- DPDK rte_ring, initialised inside our segment (no EAL) -------------- */
/* rte_ring_init() only fills in the ring header, and the enqueue/dequeue
 * calls are inline code over that header and the slots right after it: none
 * of them needs rte_eal_init(). The ring is address-free (no pointers), so
 * each process uses it at its own mapping address. */
#ifdef BENCH_WITH_DPDK
static int rte_setup_flags(bench_run *r, unsigned flags)
{
    ssize_t bytes = rte_ring_get_memsize(BENCH_CAPACITY);
    if (bytes < 0)
        return (int)bytes;
    int rc = seg_create(r, 2 * ((uint64_t)bytes + 128));
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        rc = rte_ring_init(seg_raw_add(r, ch, (uint64_t)bytes), "bench", BENCH_CAPACITY, flags);
    return rc;
}

static int rte_sp_setup(bench_run *r) { return rte_setup_flags(r, RING_F_SP_ENQ | RING_F_SC_DEQ); }
static int rte_mp_setup(bench_run *r) { return rte_setup_flags(r, 0); }

static int rte_sp_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    return (int)rte_ring_sp_enqueue_burst(r->chan[ch], (void *const *)v, n, NULL);
}
static int rte_sc_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    return (int)rte_ring_sc_dequeue_burst(r->chan[ch], (void **)v, n, NULL);
}
static int rte_mp_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    return (int)rte_ring_mp_enqueue_burst(r->chan[ch], (void *const *)v, n, NULL);
}
static int rte_mc_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    return (int)rte_ring_mc_dequeue_burst(r->chan[ch], (void **)v, n, NULL);
}
#endif

/* ---- Concurrency Kit ck_ring: counters and buffer both in the segment ---- */
#ifdef BENCH_WITH_CK
typedef struct ckring_shm {
    ck_ring_t ring;
    char pad[BENCH_CACHELINE];
    ck_ring_buffer_t buf[BENCH_CAPACITY];
} ckring_shm;

static int ck_setup(bench_run *r)
{
    int rc = seg_create(r, 2 * (sizeof(ckring_shm) + 128));
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        ck_ring_init(&((ckring_shm *)seg_raw_add(r, ch, sizeof(ckring_shm)))->ring,
                     BENCH_CAPACITY);
    return rc;
}

static int ck_spsc_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    ckring_shm *c = r->chan[ch];
    unsigned k = 0;
    while (k < n && ck_ring_enqueue_spsc(&c->ring, c->buf, (void *)(uintptr_t)v[k]))
        k++;
    return (int)k;
}
static int ck_spsc_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    ckring_shm *c = r->chan[ch];
    unsigned k = 0;
    while (k < n && ck_ring_dequeue_spsc(&c->ring, c->buf, &v[k]))
        k++;
    return (int)k;
}
static int ck_mpmc_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    ckring_shm *c = r->chan[ch];
    unsigned k = 0;
    while (k < n && ck_ring_enqueue_mpmc(&c->ring, c->buf, (void *)(uintptr_t)v[k]))
        k++;
    return (int)k;
}
static int ck_mpmc_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    ckring_shm *c = r->chan[ch];
    unsigned k = 0;
    while (k < n && ck_ring_dequeue_mpmc(&c->ring, c->buf, &v[k]))
        k++;
    return (int)k;
}
#endif

/* ---- ours: zipc Queue ---------------------------------------------------- */
#ifdef BENCH_HAVE_QUEUE
static const char *q_name(int ch) { return ch ? "q1" : "q0"; }

/* FLAGS: ZIPC_QUEUE_NO_AUX measures the queue without its auxiliary entries
 * (no owner rows for crash attribution, no waitsets: as a queue made by
 * another implementation), i.e. the cost of those two features. */
/* One queue of CAP 8-byte slots per channel, made by CREATE (the library's
 * zipc_queue_create_ex, or another build's in bench/ab). */
typedef int (*q_create_fn)(zipc_segment *, const char *, size_t, uint32_t, uint32_t,
                           zipc_queue **);
typedef void (*q_close_fn)(zipc_queue *);

static int q_setup_with(bench_run *r, uint32_t cap, uint32_t flags, q_create_fn create,
                        q_close_fn close)
{
    int rc = seg_create(r, 2 * (16 + 12 * (uint64_t)cap + 4096));
    for (int ch = 0; !rc && ch < r->nchan; ch++) {
        zipc_queue *q;
        rc = create(r->seg, q_name(ch), sizeof(uint64_t), cap, flags, &q);
        if (!rc)
            close(q);
    }
    return rc;
}

static int q_setup_flags(bench_run *r, uint32_t flags)
{
    return q_setup_with(r, BENCH_CAPACITY, flags, zipc_queue_create_ex, zipc_queue_close);
}

static int q_attach_flags(bench_run *r, uint32_t flags)
{
    int rc = seg_open(r);
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        rc = zipc_queue_open_ex(r->seg, q_name(ch), sizeof(uint64_t), flags,
                                (zipc_queue **)&r->chan[ch]);
    return rc;
}

static int q_setup(bench_run *r) { return q_setup_flags(r, 0); }
static int q_attach(bench_run *r) { return q_attach_flags(r, 0); }
static int qn_setup(bench_run *r) { return q_setup_flags(r, ZIPC_QUEUE_NO_AUX); }
static int qn_attach(bench_run *r) { return q_attach_flags(r, ZIPC_QUEUE_NO_AUX); }
/* Single producer / single consumer: the mode is the queue's, set at
 * creation; handles are opened as usual. */
static int qs_setup(bench_run *r)
{
    return q_setup_flags(r, ZIPC_QUEUE_SINGLE_PRODUCER | ZIPC_QUEUE_SINGLE_CONSUMER);
}

/* The whole queue in one cache line: 4 slots of 8 bytes are 16 + 32 + 16 =
 * 64 bytes, started on a line boundary (ZIPC_QUEUE_LINE_ALIGNED). */
static int qline_setup_flags(bench_run *r, uint32_t flags)
{
    int rc = q_setup_with(r, 4, flags | ZIPC_QUEUE_LINE_ALIGNED, zipc_queue_create_ex,
                          zipc_queue_close);
    for (int ch = 0; !rc && ch < r->nchan; ch++) {
        zipc_entry_info e;
        rc = zipc_segment_find(r->seg, q_name(ch), &e);
        if (!rc && e.offset % BENCH_CACHELINE)
            bench_die("one-line queue at offset %llu", (unsigned long long)e.offset);
    }
    return rc;
}

static int qline_sp_setup(bench_run *r)
{
    return qline_setup_flags(r, ZIPC_QUEUE_SINGLE_PRODUCER | ZIPC_QUEUE_SINGLE_CONSUMER);
}
static int qline_setup(bench_run *r) { return qline_setup_flags(r, 0); }

static void q_detach(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        zipc_queue_close(r->chan[ch]);
    seg_close(r);
}

static int q_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zipc_queue_try_push(r->chan[ch], v);
    return rc == 0 ? 1 : rc == -EAGAIN ? 0 : rc;
}
static int q_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zipc_queue_try_pop(r->chan[ch], v);
    return rc == 0 ? 1 : rc == -EAGAIN ? 0 : rc;
}
static int qb_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zipc_queue_push(r->chan[ch], v, -1);
    return rc == 0 ? 1 : rc;
}
static int qb_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zipc_queue_pop(r->chan[ch], v, -1);
    return rc == 0 ? 1 : rc;
}
static int q32_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    int rc = zipc_queue_try_push_batch(r->chan[ch], v, n);
    return rc == -EAGAIN ? 0 : rc;
}
static int q32_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    int rc = zipc_queue_try_pop_batch(r->chan[ch], v, n);
    return rc == -EAGAIN ? 0 : rc;
}
#endif

/* ---- ours: zipc Stack ----------------------------------------------------- */
#ifdef BENCH_HAVE_STACK
static int s_setup(bench_run *r)
{
    int rc = seg_create(r, 2 * (16 + 12 * BENCH_CAPACITY + 4096));
    for (int ch = 0; !rc && ch < r->nchan; ch++) {
        zipc_stack *s;
        rc = zipc_stack_create(r->seg, q_name(ch), sizeof(uint64_t), BENCH_CAPACITY, &s);
        if (!rc)
            zipc_stack_close(s);
    }
    return rc;
}

static int s_attach(bench_run *r)
{
    int rc = seg_open(r);
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        rc = zipc_stack_open(r->seg, q_name(ch), sizeof(uint64_t), (zipc_stack **)&r->chan[ch]);
    return rc;
}

static void s_detach(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        zipc_stack_close(r->chan[ch]);
    seg_close(r);
}

static int s_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zipc_stack_try_push(r->chan[ch], v);
    /* -EBUSY: a peer held the slot past the claim bound; nothing changed. */
    return rc == 0 ? 1 : rc == -EAGAIN || rc == -EBUSY ? 0 : rc;
}
static int s_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    (void)n;
    int rc = zipc_stack_try_pop(r->chan[ch], v);
    return rc == 0 ? 1 : rc == -EAGAIN || rc == -EBUSY ? 0 : rc;
}
#endif

/* ---- ours: zipc Ring (single producer, single consumer) ------------------ */
#ifdef BENCH_HAVE_RING
static const char *r_name(int ch) { return ch ? "r1" : "r0"; }

static int r_setup(bench_run *r)
{
    int rc = seg_create(r, 2 * (24 + 8 * BENCH_CAPACITY + 4096));
    for (int ch = 0; !rc && ch < r->nchan; ch++) {
        zipc_ring *ring;
        rc = zipc_ring_create(r->seg, r_name(ch), sizeof(uint64_t), BENCH_CAPACITY, &ring);
        if (!rc)
            zipc_ring_close(ring);
    }
    return rc;
}

static int r_attach(bench_run *r)
{
    int rc = seg_open(r);
    for (int ch = 0; !rc && ch < r->nchan; ch++)
        rc = zipc_ring_open(r->seg, r_name(ch), sizeof(uint64_t), (zipc_ring **)&r->chan[ch]);
    return rc;
}

static void r_detach(bench_run *r)
{
    for (int ch = 0; ch < r->nchan; ch++)
        zipc_ring_close(r->chan[ch]);
    seg_close(r);
}

static int r_send(bench_run *r, int ch, const uint64_t *v, unsigned n)
{
    size_t k = 0;
    int rc = n == 1 ? zipc_ring_write(r->chan[ch], v)
                    : zipc_ring_write_many(r->chan[ch], v, n, &k);
    if (rc == -EAGAIN)
        return 0;
    return rc < 0 ? rc : n == 1 ? 1 : (int)k;
}

static int r_recv(bench_run *r, int ch, uint64_t *v, unsigned n)
{
    size_t k = 0;
    int rc = n == 1 ? zipc_ring_read(r->chan[ch], v) : zipc_ring_read_many(r->chan[ch], v, n, &k);
    if (rc == -EAGAIN)
        return 0;
    return rc < 0 ? rc : n == 1 ? 1 : (int)k;
}
#endif

/* ---- the table of mechanisms --------------------------------------------- */

#define MECH_SEG(k, l, f, b, su, se, re)                                                     \
    { k, l, f, b, su, raw_attach, se, re, seg_close, seg_destroy }

#include "proto_vyukov.h"

static const mech bench_mechs[] = {
    MECH_SEG("pingpong", "cache-line ping-pong (limit)", BM_ONE_SLOT, 1, cl_setup, cl_send,
             cl_recv),
    MECH_SEG("pingpong2", "two-line ping-pong (limit for the Queue's format)", BM_ONE_SLOT, 1,
             cl2_setup, cl2_send, cl2_recv),
    MECH_SEG("hring32", "hand-written SPSC ring, batch 32 (limit)", 0, 32, hr_setup, hr_send,
             hr_recv),
    MECH_SEG("hring", "hand-written SPSC ring", 0, 1, hr_setup, hr_send, hr_recv),
#ifdef BENCH_HAVE_QUEUE
    { "queue", "zipc Queue", BM_MPMC, 1, q_setup, q_attach, q_send, q_recv, q_detach,
      seg_destroy },
    { "queue_blk", "zipc Queue, blocking push/pop", BM_MPMC | BM_BLOCKS, 1, q_setup, q_attach,
      qb_send, qb_recv, q_detach, seg_destroy },
    { "queue_noaux", "zipc Queue without owner rows and waitsets", BM_MPMC, 1, qn_setup,
      qn_attach, q_send, q_recv, q_detach, seg_destroy },
    { "queue32", "zipc Queue, batch 32", BM_MPMC, 32, q_setup, q_attach, q32_send, q32_recv,
      q_detach, seg_destroy },
    { "queue_sp", "zipc Queue, single producer/consumer", 0, 1, qs_setup, q_attach, q_send,
      q_recv, q_detach, seg_destroy },
    { "queue_line", "zipc Queue, 4 slots in one line", 0, 1, qline_setup, q_attach, q_send,
      q_recv, q_detach, seg_destroy },
    { "queue_sp_line", "zipc Queue, single producer/consumer, 4 slots in one line", 0, 1,
      qline_sp_setup, q_attach, q_send, q_recv, q_detach, seg_destroy },
    { "queue_sp_blk", "zipc Queue, single producer/consumer, blocking", BM_BLOCKS, 1, qs_setup,
      q_attach, qb_send, qb_recv, q_detach, seg_destroy },
    { "queue_sp32", "zipc Queue, single producer/consumer, batch 32", 0, 32, qs_setup, q_attach,
      q32_send, q32_recv, q_detach, seg_destroy },
#endif
#ifdef BENCH_HAVE_RING
    { "ring", "zipc Ring (SPSC)", 0, 1, r_setup, r_attach, r_send, r_recv, r_detach,
      seg_destroy },
    { "ring32", "zipc Ring (SPSC), 32 per call", 0, 32, r_setup, r_attach, r_send, r_recv,
      r_detach, seg_destroy },
#endif
#ifdef BENCH_HAVE_STACK
    { "stack", "zipc Stack", BM_LIFO, 1, s_setup, s_attach, s_send, s_recv, s_detach,
      seg_destroy },
#endif
    BENCH_PROTO_MECHS
#ifdef BENCH_WITH_DPDK
    MECH_SEG("rte_sp", "DPDK rte_ring SP/SC", 0, 1, rte_sp_setup, rte_sp_send, rte_sc_recv),
    MECH_SEG("rte_sp32", "DPDK rte_ring SP/SC, burst 32", 0, 32, rte_sp_setup, rte_sp_send,
             rte_sc_recv),
    MECH_SEG("rte_mp", "DPDK rte_ring MP/MC", BM_MPMC, 1, rte_mp_setup, rte_mp_send,
             rte_mc_recv),
    MECH_SEG("rte_mp32", "DPDK rte_ring MP/MC, burst 32", BM_MPMC, 32, rte_mp_setup,
             rte_mp_send, rte_mc_recv),
#endif
#ifdef BENCH_WITH_CK
    MECH_SEG("ck_spsc", "ck_ring SPSC", 0, 1, ck_setup, ck_spsc_send, ck_spsc_recv),
    MECH_SEG("ck_mpmc", "ck_ring MPMC", BM_MPMC, 1, ck_setup, ck_mpmc_send, ck_mpmc_recv),
#endif
    { "pipe", "pipe", BM_BLOCKS | BM_KERNEL, 1, pipe_setup, noop_attach, fd_send, fd_recv,
      noop_detach, fd_teardown },
    { "pipe32", "pipe, 32 per write", BM_BLOCKS | BM_KERNEL, 32, pipe_setup, noop_attach,
      fd_send, fd_recv, noop_detach, fd_teardown },
    { "sock", "UNIX socketpair (stream)", BM_BLOCKS | BM_KERNEL, 1, sock_setup, noop_attach,
      fd_send, fd_recv, noop_detach, fd_teardown },
    { "mq", "POSIX message queue", BM_BLOCKS | BM_KERNEL, 1, mq_setup, mq_attach,
      mq_send_one, mq_recv_one, mq_detach, mq_teardown },
};

#define BENCH_NMECHS ((int)(sizeof bench_mechs / sizeof bench_mechs[0]))

#endif /* ZIPC_BENCH_MECHS_H */
