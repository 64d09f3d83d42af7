/* Queue regressions found in review (issue 3); each test's first comment
 * names the bug it pins. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "payload.h"
#include "queue_shm.h"

#define MS 1000000LL
/* A call that should return at once gets this long before SIGALRM kills it. */
#define HANG_LIMIT_S 3

static zipc_queue_shm *raw_queue(zipc_segment *seg, const char *name)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, name, &info));
    return (zipc_queue_shm *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

static uint32_t *raw_seq(zipc_queue_shm *q)
{
    return (uint32_t *)((uint8_t *)q + zipc__queue_seq_offset(q->capacity, q->elem_size));
}

/* Run FN(ARG) in a child that SIGALRM kills after HANG_LIMIT_S: a hang shows
 * as a failure with a message, not as the harness's test timeout. */
static void must_not_hang(void (*fn)(void *), void *arg, const char *what)
{
    pid_t pid = fork();
    ZT_ASSERT(pid >= 0);
    if (pid == 0) {
        alarm(HANG_LIMIT_S);
        fn(arg);
        _exit(0);
    }
    int st = zt_wait(pid);
    if (st == 128 + SIGALRM)
        zt_fail(__FILE__, __LINE__, "%s did not return within %d s (spins forever)", what,
                HANG_LIMIT_S);
    ZT_EQ(st, 0);
}

static bool is_refusal(int r) { return r == -EAGAIN || r == -EBADMSG; }

struct corrupt_ctx {
    zipc_queue *q;
};

static void try_pop_once(void *p)
{
    uint64_t v;
    int r = zipc_queue_try_pop(((struct corrupt_ctx *)p)->q, &v);
    ZT_ASSERT(is_refusal(r));
}

static void try_push_once(void *p)
{
    uint64_t v = 7;
    int r = zipc_queue_try_push(((struct corrupt_ctx *)p)->q, &v);
    ZT_ASSERT(is_refusal(r));
}

static void try_pop_batch_once(void *p)
{
    uint64_t v[4];
    int r = zipc_queue_try_pop_batch(((struct corrupt_ctx *)p)->q, v, 4);
    ZT_ASSERT(is_refusal(r));
}

static void pop_with_timeout(void *p)
{
    uint64_t v;
    int64_t t0 = zt_now_ns();
    int r = zipc_queue_pop(((struct corrupt_ctx *)p)->q, &v, 50 * MS);
    int64_t took = zt_now_ns() - t0;
    ZT_ASSERT(r == -ETIMEDOUT || r == -EBADMSG);
    ZT_ASSERT(took < 1000 * MS); /* 50 ms asked; generous for a loaded machine */
}

static void push_with_timeout(void *p)
{
    uint64_t v = 7;
    int64_t t0 = zt_now_ns();
    int r = zipc_queue_push(((struct corrupt_ctx *)p)->q, &v, 50 * MS);
    int64_t took = zt_now_ns() - t0;
    ZT_ASSERT(r == -ETIMEDOUT || r == -EBADMSG);
    ZT_ASSERT(took < 1000 * MS);
}

/* Bug: claim_push()/claim_pop() in src/queue.c treat a slot whose seq is
 * AHEAD of the counter (d > 0) as "another producer/consumer moved on" and
 * reload the counter, forever: with a corrupt seq word and a counter that
 * nobody moves, try_pop/try_push never return and a blocking pop with a
 * timeout overruns it without limit (the wait layer never regains control).
 * Fix: when the reloaded counter equals the one just used, nobody moved on:
 * the slot is corrupt; return 0 (-EAGAIN), or -EBADMSG. */
ZTEST(queue_ops_on_a_seq_word_ahead_of_its_counter_return_instead_of_spinning, ZT_FAST)
{
    zipc_segment *seg;
    struct corrupt_ctx c;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 4, &c.q));
    zipc_queue_shm *raw = raw_queue(seg, "q");
    uint32_t *seq = raw_seq(raw);
    /* head = tail = 0: pop looks at seq[0] for 1, push for 0. 100 is ahead of
     * both, and nobody will ever move head or tail. */
    __atomic_store_n(&seq[0], 100u, __ATOMIC_RELEASE);
    must_not_hang(try_pop_once, &c, "try_pop on a corrupt seq word");
    must_not_hang(try_push_once, &c, "try_push on a corrupt seq word");
    must_not_hang(try_pop_batch_once, &c, "try_pop_batch on a corrupt seq word");
    must_not_hang(pop_with_timeout, &c, "pop(50 ms) on a corrupt seq word");
    must_not_hang(push_with_timeout, &c, "push(50 ms) on a corrupt seq word");
    zipc_queue_close(c.q);
    zipc_segment_close(seg);
}

static void garbage_round(void *p)
{
    zipc_queue *q = ((struct corrupt_ctx *)p)->q;
    uint64_t v = 1, w[8];
    for (int i = 0; i < 64; i++) {
        (void)zipc_queue_try_push(q, &v);
        (void)zipc_queue_try_pop(q, &w[0]);
        (void)zipc_queue_try_push_batch(q, w, 8);
        (void)zipc_queue_try_pop_batch(q, w, 8);
    }
}

/* Bug: as above, reached from a seq array full of random words (seeded,
 * printed): some slot ahead of head or tail makes a try-operation spin. */
ZTEST(queue_ops_on_a_seq_array_full_of_garbage_always_return, ZT_FAST)
{
    zipc_segment *seg;
    struct corrupt_ctx c;
    uint64_t seed = zt_env_u64("ZIPC_TEST_SEED", 12345);
    printf("    seed %" PRIu64 " (ZIPC_TEST_SEED)\n", seed);
    srandom((unsigned)seed);
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 16, &c.q));
    zipc_queue_shm *raw = raw_queue(seg, "q");
    uint32_t *seq = raw_seq(raw);
    for (int round = 0; round < 8; round++) {
        for (uint32_t i = 0; i < 16; i++)
            __atomic_store_n(&seq[i], (uint32_t)random() ^ ((uint32_t)random() << 16),
                             __ATOMIC_RELEASE);
        __atomic_store_n(&raw->head, (uint32_t)random(), __ATOMIC_RELEASE);
        __atomic_store_n(&raw->tail, (uint32_t)random(), __ATOMIC_RELEASE);
        must_not_hang(garbage_round, &c, "try-operations on a garbage seq array");
    }
    zipc_queue_close(c.q);
    zipc_segment_close(seg);
}
