/* Review of the single-producer / single-consumer queue roles: cases found
 * by a review (each failed on the code reviewed at a2491f5). A holder row
 * left by an earlier process that had our pid (a restarted container) is a
 * documented limit (docs/queue.md), not tested here.
 *
 * The ABA test interposes kill(2): zipc__pid_dead() asks kill(pid, 0), and
 * the interposer runs the interleaving that the race needs while the taker
 * waits inside that call. Every other kill() passes straight through. */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "queue_shm.h"
#include "testhooks.h"

#define SP ZIPC_QUEUE_SINGLE_PRODUCER
#define SPSC (ZIPC_QUEUE_SINGLE_PRODUCER | ZIPC_QUEUE_SINGLE_CONSUMER)

static uint8_t *rv_own(zipc_segment *seg)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "q_own", &info));
    return (uint8_t *)zipc_segment_base(seg) + info.offset;
}

static uint32_t rv_roles(zipc_segment *seg)
{
    return __atomic_load_n((uint32_t *)(rv_own(seg) + 4), __ATOMIC_SEQ_CST);
}

static uint32_t *rv_row_pid(zipc_segment *seg, uint32_t row)
{
    return (uint32_t *)(rv_own(seg) + 8 + 16 * (size_t)row);
}

#define PROD(w) (((w) >> 8) & 0xfffu)

static void *rv_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ZT_ASSERT(p != MAP_FAILED);
    return p;
}

/* ---- 1. a 27-byte name: "_own" fits, "_wait" does not ---------------------- */

ZTEST(queue_roles_review_single_flag_with_a_27_byte_name_is_kept_or_refused, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    int r = zipc_queue_create_ex(seg, "a_queue_name_of_27_chars___", 8, 4, SP, &q);
    if (r == 0) {
        /* Created: then it must be a single-producer queue. */
        ZT_EQ(zipc_queue_flags(q) & SP, SP);
        zipc_queue_close(q);
    } else {
        ZT_EQ(r, -EINVAL);
    }
    zipc_segment_close(seg);
}

/* ---- 2. a holder whose main thread has exited but whose process lives ------ */

struct zl {
    const char *name;
    volatile uint32_t *flags; /* [0] holder ready, [1] parent done, [2] second push result + 100 */
};

static void *zl_worker(void *p)
{
    struct zl *z = p;
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_open(z->name, &seg));
    ZT_OK(zipc_queue_open(seg, "q", 8, &q));
    uint64_t v = 1;
    ZT_OK(zipc_queue_try_push(q, &v)); /* the producer role is ours */
    __atomic_store_n(&z->flags[0], 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&z->flags[1], __ATOMIC_SEQ_CST))
        sched_yield();
    v = 2;
    __atomic_store_n(&z->flags[2], (uint32_t)(zipc_queue_try_push(q, &v) + 100), __ATOMIC_SEQ_CST);
    _exit(0);
}

static void zl_child(void *p)
{
    static pthread_t t;
    ZT_ASSERT(pthread_create(&t, NULL, zl_worker, p) == 0);
    pthread_exit(NULL); /* the leader exits; the process lives on in the worker */
}

ZTEST(queue_roles_review_holder_whose_main_thread_exited_keeps_its_role, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    struct zl z = {zt_name(NULL), rv_shared(4096)};
    ZT_OK(zipc_segment_create(z.name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SPSC, &q));
    pid_t pid = zt_fork(zl_child, &z);
    while (!__atomic_load_n(&z.flags[0], __ATOMIC_SEQ_CST))
        sched_yield();
    ZT_EQ(kill(pid, 0), 0); /* the holder's process is alive */
    uint64_t v = 99;
    int r = zipc_queue_try_push(q, &v); /* must be -EPERM: a live handle holds the role */
    __atomic_store_n(&z.flags[1], 1, __ATOMIC_SEQ_CST);
    ZT_EQ(zt_wait(pid), 0);
    if (r != -EPERM)
        fprintf(stderr, "  push beside a live holder returned %d (the holder's next push: %d)\n",
                r, (int)z.flags[2] - 100);
    ZT_ERR(r, -EPERM);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- 3. a role whose holder row was being recovered when the recoverer died - */

static void rv_hold_and_exit(void *p)
{
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_open(p, &seg));
    ZT_OK(zipc_queue_open(seg, "q", 8, &q));
    uint64_t v = 1;
    ZT_OK(zipc_queue_try_push(q, &v));
    _exit(0); /* no close: the role names our row, our pid is dead */
}

/* zipc_queue_recover leaves the idle row of a dead role holder alone: the
 * next taker retires it. (Taking it would open a window in which a recoverer
 * killed between taking and putting the row leaves it RECOVERING, and every
 * taker would get -EAGAIN for good.) */
ZTEST(queue_roles_review_recover_leaves_a_dead_holders_idle_row_to_the_next_taker, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SPSC, &q));
    ZT_EQ(zt_wait(zt_fork(rv_hold_and_exit, (void *)name)), 0);
    uint32_t holder = PROD(rv_roles(seg));
    ZT_ASSERT(holder != 0);
    uint32_t dead = __atomic_load_n(rv_row_pid(seg, holder - 1), __ATOMIC_SEQ_CST);
    ZT_ASSERT(dead != 0 && dead != UINT32_MAX);
    zipc_queue_report rep;
    ZT_OK(zipc_queue_recover(q, &rep));
    ZT_EQ(rep.rows_freed, 0);
    ZT_EQ_U64(__atomic_load_n(rv_row_pid(seg, holder - 1), __ATOMIC_SEQ_CST), dead);
    uint64_t v = 2, w;
    ZT_OK(zipc_queue_try_push(q, &v));
    ZT_ASSERT(PROD(rv_roles(seg)) != holder);
    ZT_EQ_U64(__atomic_load_n(rv_row_pid(seg, holder - 1), __ATOMIC_SEQ_CST), 0);
    ZT_OK(zipc_queue_try_pop(q, &w));
    ZT_EQ_U64(w, 1); /* the dead holder's element first */
    ZT_OK(zipc_queue_try_pop(q, &w));
    ZT_EQ_U64(w, 2);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- 4. ABA on the roles word in zipc__own_role_take ----------------------- */

static int (*real_kill)(pid_t, int);
static volatile pid_t aba_target;  /* kill(aba_target, 0) from the taker thread pauses */
static volatile int aba_stage;     /* 1: taker paused inside kill, 2: go on */

int kill(pid_t pid, int sig)
{
    if (!real_kill)
        real_kill = (int (*)(pid_t, int))dlsym(RTLD_NEXT, "kill");
    if (sig == 0 && pid != 0 && __atomic_load_n(&aba_target, __ATOMIC_SEQ_CST) == pid) {
        __atomic_store_n(&aba_target, 0, __ATOMIC_SEQ_CST); /* once */
        __atomic_store_n(&aba_stage, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&aba_stage, __ATOMIC_SEQ_CST) != 2)
            sched_yield();
    }
    return real_kill(pid, sig);
}

static void *aba_taker(void *p)
{
    uint64_t v = 1000;
    return (void *)(intptr_t)zipc_queue_try_push(p, &v);
}

ZTEST(queue_roles_review_taker_paused_between_reading_the_holder_and_its_cas_steals_no_live_role, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *t, *t2, *n1, *n2;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SP, &q));
    pid_t dead = zt_fork(rv_hold_and_exit, (void *)name);
    ZT_EQ(zt_wait(dead), 0);
    uint32_t w0 = rv_roles(seg), row_i = PROD(w0) - 1;
    ZT_ASSERT(PROD(w0) != 0);
    ZT_OK(zipc_queue_open(seg, "q", 8, &t));
    ZT_OK(zipc_queue_open(seg, "q", 8, &t2));

    /* T reads roles (names row i of the dead holder), reads pid = dead, and
     * is paused in kill(dead, 0). */
    __atomic_store_n(&aba_target, dead, __ATOMIC_SEQ_CST);
    pthread_t th;
    ZT_ASSERT(pthread_create(&th, NULL, aba_taker, t) == 0);
    while (__atomic_load_n(&aba_stage, __ATOMIC_SEQ_CST) != 1)
        sched_yield();

    /* Meanwhile: T2 takes the role over (freeing row i), pushes, closes. */
    uint64_t v = 2;
    ZT_OK(zipc_queue_try_push(t2, &v));
    zipc_queue_close(t2);
    /* A new handle gets row i and takes the role: roles is w0 again. */
    ZT_OK(zipc_queue_open(seg, "q", 8, &n1));
    ZT_OK(zipc_queue_open(seg, "q", 8, &n2));
    zipc_queue *n = n1;
    v = 3;
    ZT_OK(zipc_queue_try_push(n1, &v));
    if (PROD(rv_roles(seg)) - 1 != row_i) {
        zipc_queue_close(n1);
        n1 = NULL;
        n = n2;
        v = 4;
        ZT_OK(zipc_queue_try_push(n2, &v));
    }
    ZT_EQ(rv_roles(seg), w0);
    ZT_EQ(*rv_row_pid(seg, row_i), getpid());

    /* T goes on: its CAS from w0 must fail (N, alive, holds the role). */
    __atomic_store_n(&aba_stage, 2, __ATOMIC_SEQ_CST);
    void *res;
    ZT_ASSERT(pthread_join(th, &res) == 0);
    int rt = (int)(intptr_t)res;
    v = 5;
    int rn = zipc_queue_try_push(n, &v);
    if (rt != -EPERM)
        fprintf(stderr, "  paused taker's push: %d, live holder's next push: %d\n", rt, rn);
    ZT_ERR(rt, -EPERM);
    ZT_OK(rn);
    if (n1)
        zipc_queue_close(n1);
    zipc_queue_close(n2);
    zipc_queue_close(t);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- 5. rows carrying our own pid, left by an earlier process ------------ */

/* A container restarted with its /dev/shm kept gives the new process the
 * pid of the old one (often 1): a dead holder's row then carries our own
 * pid. None of our handles holds it, so it counts as dead. */
ZTEST(queue_roles_review_role_left_by_an_earlier_process_with_our_pid_is_taken_over, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 64, SPSC, &q));
    ZT_EQ(zt_wait(zt_fork(rv_hold_and_exit, (void *)name)), 0);
    uint32_t holder = PROD(rv_roles(seg));
    ZT_ASSERT(holder != 0);
    /* The earlier incarnation's row, as it reads in the restarted one. */
    __atomic_store_n(rv_row_pid(seg, holder - 1), (uint32_t)getpid(), __ATOMIC_SEQ_CST);
    uint64_t v = 2, w;
    ZT_OK(zipc_queue_try_push(q, &v));
    ZT_ASSERT(PROD(rv_roles(seg)) != holder);
    ZT_OK(zipc_queue_try_pop(q, &w));
    ZT_EQ_U64(w, 1);
    ZT_OK(zipc_queue_try_pop(q, &w));
    ZT_EQ_U64(w, 2);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* The same segment mapped twice in this process: a role held through one
 * mapping is ours and alive when seen through the other (rows are told
 * apart by file and offset, not by address). */
ZTEST(queue_roles_review_role_held_through_another_mapping_of_this_process_stays_held, ZT_FAST)
{
    zipc_segment *s1, *s2;
    zipc_queue *a, *b;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &s1));
    ZT_OK(zipc_queue_create_ex(s1, "q", 8, 64, SPSC, &a));
    ZT_OK(zipc_segment_open(name, &s2));
    ZT_OK(zipc_queue_open(s2, "q", 8, &b));
    uint64_t v = 1, w;
    ZT_OK(zipc_queue_try_push(a, &v));
    ZT_ERR(zipc_queue_try_push(b, &v), -EPERM);
    ZT_OK(zipc_queue_try_pop(b, &w));
    ZT_ERR(zipc_queue_try_pop(a, &w), -EPERM);
    zipc_queue_report rep;
    ZT_OK(zipc_queue_recover(b, &rep));
    ZT_EQ(rep.rows_freed, 0);
    ZT_ERR(zipc_queue_try_push(b, &v), -EPERM);
    zipc_queue_close(a);
    ZT_OK(zipc_queue_try_push(b, &v));
    zipc_queue_close(b);
    zipc_segment_close(s2);
    zipc_segment_close(s1);
}

/* A multi-handle producer killed with its slot claimed, whose row then
 * carries our pid (reused): zipc_queue_recover repairs it like any dead
 * claim instead of taking it for one of ours. */
static void rv_claim_and_die(void *p)
{
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_open(p, &seg));
    ZT_OK(zipc_queue_open(seg, "m", 8, &q));
    uint64_t v = 7;
    zipc__crash_at = 201; /* tail moved, slot never written */
    zipc_queue_try_push(q, &v);
    _exit(3); /* not reached */
}

ZTEST(queue_recover_repairs_a_claim_left_under_our_own_pid_by_an_earlier_process, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "m", 8, 8, &q));
    pid_t child = zt_fork(rv_claim_and_die, (void *)name);
    int st;
    ZT_ASSERT(waitpid(child, &st, 0) == child && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "m_own", &info));
    uint32_t *pid0 = (uint32_t *)((uint8_t *)zipc_segment_base(seg) + info.offset + 8);
    uint32_t found = 0;
    for (uint32_t r = 0; r < 64; r++)
        if (pid0[4 * r] == (uint32_t)child) {
            pid0[4 * r] = (uint32_t)getpid(); /* the reused pid */
            found++;
        }
    ZT_EQ(found, 1);
    zipc_queue_report rep;
    ZT_OK(zipc_queue_recover(q, &rep));
    ZT_EQ(rep.skipped, 1);
    ZT_EQ(rep.rows_freed, 1);
    uint64_t v = 8, w;
    ZT_OK(zipc_queue_try_push(q, &v));
    ZT_OK(zipc_queue_try_pop(q, &w));
    ZT_EQ_U64(w, 8);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}
