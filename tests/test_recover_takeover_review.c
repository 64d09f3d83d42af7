/* Review of 51ce700 (a recoverer marks a row with 0x80000000 | its pid; a
 * later recover takes over the row of a recoverer that died at work and
 * re-runs the repairs). The commit's argument: "every repair is a CAS from
 * the state the dead claim left, so repeating what it did is harmless".
 * That holds for the queue, whose counters only grow (a CAS expecting
 * seq == ctr or ctr + 1 cannot succeed once the slot has moved on). It does
 * not hold for the stack: its indices and slot states are reused. Once a
 * dead recoverer's repair has taken effect, live operations go on using the
 * same index, and the taking-over recoverer reads their states as the dead
 * claim's and "repairs" live claims.
 *
 * The states below are built by hand: there is no crash point right after a
 * stack repair's CAS (330 is before it), and a live operation cannot be
 * paused mid-way. Each one is the state that a recoverer killed right after
 * its repair CAS, followed by ordinary live operations, leaves. The live
 * operation belongs to the test runner, our parent (alive; a row of our own
 * pid that none of our handles holds would count as a stale one). */
#include <signal.h>
#include <unistd.h>

#include "harness.h"
#include "owners.h"
#include "stack_shm.h"
#include "testhooks.h"

static zipc_stack_shm *raw_stack(zipc_segment *seg, const char *name)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, name, &info));
    return (zipc_stack_shm *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

static uint32_t *raw_state(zipc_stack_shm *s)
{
    return (uint32_t *)((uint8_t *)s + zipc__stack_state_offset(s->capacity, s->elem_size));
}

static int32_t *raw_slot(zipc_stack_shm *s, uint32_t i)
{
    return (int32_t *)((uint8_t *)s + ZIPC_STACK_HEADER + (size_t)i * s->elem_size);
}

static zipc_owner_row_shm *raw_rows(zipc_segment *seg, const char *own_name)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, own_name, &info));
    return (zipc_owner_row_shm *)((uint8_t *)zipc_segment_base(seg) + info.offset +
                                  ZIPC_OWNERS_HEADER);
}

static void exit_at_once(void *arg) { (void)arg; }

/* The pid of a process that has exited and been reaped. */
static uint32_t dead_pid(void)
{
    pid_t p = zt_fork(exit_at_once, NULL);
    zt_wait_ok(p);
    return (uint32_t)p;
}

static void set_row(zipc_owner_row_shm *r, uint32_t pid, uint32_t op, uint32_t phase,
                    uint32_t counter)
{
    __atomic_store_n((uint32_t *)&r->counter, counter, __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)&r->count, 1u, __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)&r->state, ZIPC_OWN_STATE(op, phase), __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)&r->pid, pid, __ATOMIC_RELEASE);
}

static uint32_t load(const void *p) { return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE); }
static void store(void *p, uint32_t v) { __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELEASE); }

/* A stack of int32 holding 0, 1, 2 (top 2). Rows 1 and 2 are free (the
 * handle's own row is spread further out). */
static zipc_stack *stack_012(zipc_segment **seg)
{
    zipc_stack *s;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, seg));
    ZT_OK(zipc_stack_create(*seg, "s", 4, 8, &s));
    for (int32_t i = 0; i < 3; i++)
        ZT_OK(zipc_stack_try_push(s, &i));
    zipc_owner_row_shm *rows = raw_rows(*seg, "s_own");
    ZT_EQ(load(&rows[1].pid), 0);
    ZT_EQ(load(&rows[2].pid), 0);
    return s;
}

/* History: popper D took index 2 (top 2 -> 1) and was killed before claiming
 * the slot (crash point 311: CLAIMED, slot READY). Recoverer Q took D's row
 * and put the element back (recover_pop: CAS top 1 -> 2, "restored"), then
 * was killed before zipc__own_put: the row keeps Q's mark, Q is dead. The
 * element is in the stack again, and a live popper L takes it: top 2 -> 1,
 * L about to claim slot 2 (READY) and read it.
 * The next recover takes D's row over and re-runs the put-back: it sees slot
 * 2 READY above top and top == 1, so it moves top back to 2, over the element
 * L is taking. When L finishes (slot 2 EMPTY), top covers an empty slot: every
 * pop answers -EBUSY, and no row is left to repair it. */
ZTEST(stack_recover_taking_over_a_dead_recoverers_row_does_not_put_top_back_over_a_live_pop,
      ZT_FAST)
{
    zipc_segment *seg;
    zipc_stack *s = stack_012(&seg);
    zipc_stack_shm *raw = raw_stack(seg, "s");
    uint32_t *st = raw_state(raw);
    zipc_owner_row_shm *rows = raw_rows(seg, "s_own");
    set_row(&rows[1], ZIPC_OWNER_RECOVERING | dead_pid(), ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 2);
    /* L: intent, top 2 -> 1, CLAIMED; slot 2 still READY. */
    set_row(&rows[2], (uint32_t)getppid(), ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 2);
    store(&raw->top, 1);
    zipc_stack_report rep;
    ZT_OK(zipc_stack_recover(s, &rep));
    ZT_EQ(rep.restored, 0);
    ZT_EQ((int32_t)load(&raw->top), 1); /* L's move of top stands */
    /* L finishes its pop: claim, read, release, idle. */
    uint32_t exp = ZIPC_SLOT_READY;
    ZT_ASSERT(__atomic_compare_exchange_n(&st[2], &exp, ZIPC_SLOT_READING, false,
                                          __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
    ZT_EQ(*raw_slot(raw, 2), 2);
    store(&st[2], ZIPC_SLOT_EMPTY);
    store(&rows[2].state, ZIPC_OWN_IDLE);
    /* Left: 1, 0. */
    int32_t x;
    for (int32_t want = 1; want >= 0; want--) {
        ZT_OK(zipc_stack_try_pop(s, &x));
        ZT_EQ(x, want);
    }
    ZT_ERR(zipc_stack_try_pop(s, &x), -EAGAIN);
    zipc_stack_close(s);
    zipc_segment_close(seg);
}

/* History: pusher D moved top 2 -> 3, claimed slot 3, wrote its element and
 * was killed before publishing (crash point 303: COPIED, slot WRITING).
 * Recoverer Q republished it (WRITING -> READY) and was killed before
 * zipc__own_put. A pop took that element (top 3 -> 2, slot EMPTY); a live
 * pusher L now pushes: top 2 -> 3, slot 3 claimed WRITING, its bytes half
 * written.
 * The next recover takes D's row over and re-runs the republish: slot 3 is
 * WRITING and D's row says COPIED, so it stores READY over L's unfinished
 * element. A popper then reads half-written bytes; and L's own READY store
 * later lands on a slot that pop has emptied (above top: pushes to index 3
 * answer -EBUSY for good). */
ZTEST(stack_recover_taking_over_a_dead_recoverers_row_does_not_publish_a_live_pushers_slot,
      ZT_FAST)
{
    zipc_segment *seg;
    zipc_stack *s = stack_012(&seg);
    zipc_stack_shm *raw = raw_stack(seg, "s");
    uint32_t *st = raw_state(raw);
    zipc_owner_row_shm *rows = raw_rows(seg, "s_own");
    set_row(&rows[1], ZIPC_OWNER_RECOVERING | dead_pid(), ZIPC_OWN_PUSH, ZIPC_OWN_COPIED, 3);
    /* L: intent, top 2 -> 3, CLAIMED, slot 3 EMPTY -> WRITING, writing. */
    set_row(&rows[2], (uint32_t)getppid(), ZIPC_OWN_PUSH, ZIPC_OWN_CLAIMED, 3);
    store(&raw->top, 3);
    store(&st[3], ZIPC_SLOT_WRITING);
    *raw_slot(raw, 3) = -1; /* not L's element yet */
    zipc_stack_report rep;
    ZT_OK(zipc_stack_recover(s, &rep));
    ZT_EQ(rep.republished, 0);
    ZT_EQ(load(&st[3]), ZIPC_SLOT_WRITING); /* still L's */
    /* L finishes: its element, COPIED, READY, idle. */
    *raw_slot(raw, 3) = 33;
    store(&rows[2].state, ZIPC_OWN_STATE(ZIPC_OWN_PUSH, ZIPC_OWN_COPIED));
    store(&st[3], ZIPC_SLOT_READY);
    store(&rows[2].state, ZIPC_OWN_IDLE);
    int32_t x;
    ZT_OK(zipc_stack_try_pop(s, &x));
    ZT_EQ(x, 33);
    for (int32_t want = 2; want >= 0; want--) {
        ZT_OK(zipc_stack_try_pop(s, &x));
        ZT_EQ(x, want);
    }
    ZT_ERR(zipc_stack_try_pop(s, &x), -EAGAIN);
    zipc_stack_close(s);
    zipc_segment_close(seg);
}

/* History: popper D took index 2 (top 2 -> 1), claimed the slot and was
 * killed before reading it (crash point 312: CLAIMED, slot READING).
 * Recoverer Q freed the slot (READING -> EMPTY, "released") and was killed
 * before zipc__own_put. A push put 7 at index 2 (top 2, READY); a live popper
 * L now pops it: top 2 -> 1, slot 2 claimed READING, L copying it out.
 * The next recover takes D's row over and re-runs the release: slot 2 is
 * READING and D's row says CLAIMED, so it frees the slot under L. A pusher can
 * then overwrite it while L copies (torn read), and L's EMPTY store at the end
 * erases that pusher's element under top (a hole: pops answer -EBUSY). */
ZTEST(stack_recover_taking_over_a_dead_recoverers_row_does_not_free_a_slot_a_live_popper_reads,
      ZT_FAST)
{
    zipc_segment *seg;
    zipc_stack *s = stack_012(&seg);
    zipc_stack_shm *raw = raw_stack(seg, "s");
    uint32_t *st = raw_state(raw);
    zipc_owner_row_shm *rows = raw_rows(seg, "s_own");
    set_row(&rows[1], ZIPC_OWNER_RECOVERING | dead_pid(), ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 2);
    *raw_slot(raw, 2) = 7; /* the element pushed after Q's release */
    /* L: intent, top 2 -> 1, CLAIMED, slot 2 READY -> READING. */
    set_row(&rows[2], (uint32_t)getppid(), ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 2);
    store(&raw->top, 1);
    store(&st[2], ZIPC_SLOT_READING);
    zipc_stack_report rep;
    ZT_OK(zipc_stack_recover(s, &rep));
    ZT_EQ(rep.released, 0);
    ZT_EQ(load(&st[2]), ZIPC_SLOT_READING); /* still L's */
    /* While L copies, a push must not get slot 2. */
    int32_t x = 99;
    ZT_ERR(zipc_stack_try_push(s, &x), -EBUSY);
    ZT_EQ(*raw_slot(raw, 2), 7);
    /* L finishes: release, idle. Left: 1, 0. */
    store(&st[2], ZIPC_SLOT_EMPTY);
    store(&rows[2].state, ZIPC_OWN_IDLE);
    for (int32_t want = 1; want >= 0; want--) {
        ZT_OK(zipc_stack_try_pop(s, &x));
        ZT_EQ(x, want);
    }
    ZT_ERR(zipc_stack_try_pop(s, &x), -EAGAIN);
    zipc_stack_close(s);
    zipc_segment_close(seg);
}

/* A pusher killed between its move of top and its CLAIMED store (row
 * PENDING, top over an EMPTY slot); a recoverer that held the slot, moved
 * top back below it and was killed (crash point 331) before freeing it. The
 * recoverer had marked the row CLAIMED when it took the slot, so the next
 * recover frees the WRITING slot; before, the PENDING row made it leave the
 * slot alone and every push to that index answered -EBUSY. */
static void recover_killed_at_331(void *arg)
{
    zipc_segment *seg;
    zipc_stack *s;
    ZT_OK(zipc_segment_open((const char *)arg, &seg));
    ZT_OK(zipc_stack_open(seg, "s", 4, &s));
    zipc__crash_at = 331;
    zipc_stack_recover(s, NULL);
    zt_fail(__FILE__, __LINE__, "crash point 331 not reached");
}

ZTEST(stack_recoverer_killed_holding_the_slot_of_a_pending_pusher_leaves_no_stuck_slot, ZT_FAST)
{
    zipc_segment *seg;
    zipc_stack *s = stack_012(&seg);
    zipc_stack_shm *raw = raw_stack(seg, "s");
    uint32_t *st = raw_state(raw);
    zipc_owner_row_shm *rows = raw_rows(seg, "s_own");
    set_row(&rows[1], dead_pid(), ZIPC_OWN_PUSH, ZIPC_OWN_PENDING, 3);
    store(&raw->top, 3);
    ZT_EQ(load(&st[3]), ZIPC_SLOT_EMPTY);
    ZT_EQ(zt_wait(zt_fork(recover_killed_at_331, (void *)zipc_segment_name(seg))),
          128 + SIGKILL);
    ZT_EQ((int32_t)load(&raw->top), 2);
    ZT_EQ(load(&st[3]), ZIPC_SLOT_WRITING); /* held by the dead recoverer */
    zipc_stack_report rep;
    ZT_OK(zipc_stack_recover(s, &rep));
    ZT_EQ(rep.pending, 0);
    ZT_OK(zipc_stack_check(s, &rep));
    ZT_EQ(rep.dead_owners, 0);
    ZT_EQ(load(&st[3]), ZIPC_SLOT_EMPTY);
    int32_t x;
    for (int32_t i = 10; i < 50; i++) {
        ZT_OK(zipc_stack_try_push(s, &i));
        ZT_OK(zipc_stack_try_pop(s, &x));
        ZT_EQ(x, i);
    }
    for (int32_t want = 2; want >= 0; want--) {
        ZT_OK(zipc_stack_try_pop(s, &x));
        ZT_EQ(x, want);
    }
    zipc_stack_close(s);
    zipc_segment_close(seg);
}

/* ---- hostile pid values in owner rows ------------------------------------------- */

/* Marks whose pid part is 0, 1 (init: alive, and kill(1, 0) answers EPERM),
 * beyond any pid (0xFFFFFFFF, the old "recovering" value), and a live
 * process's mark, each on a row with a claim that does not match the queue
 * (an odd counter). Open, check, recover, push and pop: no crash, no hang,
 * and the live marks (pid 1, the runner) are never taken. */
ZTEST(queue_owner_rows_with_hostile_recovering_marks_never_crash_hang_or_lose_live_marks,
      ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *o;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &q));
    zipc_owner_row_shm *rows = raw_rows(seg, "q_own");
    const uint32_t live1 = ZIPC_OWNER_RECOVERING | 1u;
    const uint32_t live2 = ZIPC_OWNER_RECOVERING | (uint32_t)getppid();
    set_row(&rows[1], ZIPC_OWNER_RECOVERING, ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 12345);
    set_row(&rows[2], live1, ZIPC_OWN_PUSH, ZIPC_OWN_CLAIMED, 0);
    set_row(&rows[3], 0xFFFFFFFFu, ZIPC_OWN_PUSH, ZIPC_OWN_PENDING, 77);
    set_row(&rows[4], live2, ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 0);
    set_row(&rows[5], ZIPC_OWNER_RECOVERING | 0x7FFFFFFFu, ZIPC_OWN_IDLE, ZIPC_OWN_IDLE, 0);
    ZT_OK(zipc_queue_open(seg, "q", 8, &o));
    zipc_queue_report rep;
    ZT_OK(zipc_queue_check(o, &rep));
    for (int round = 0; round < 3; round++)
        ZT_OK(zipc_queue_recover(o, &rep));
    ZT_EQ_U64(load(&rows[2].pid), live1);
    ZT_EQ_U64(load(&rows[4].pid), live2);
    ZT_EQ(load(&rows[1].pid), 0);
    ZT_EQ(load(&rows[3].pid), 0);
    for (uint64_t i = 0; i < 20; i++) {
        uint64_t x;
        ZT_OK(zipc_queue_try_push(o, &i));
        ZT_OK(zipc_queue_try_pop(q, &x));
        ZT_EQ_U64(x, i);
    }
    zipc_queue_close(o);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- review of cba12d7: restoring the row after a failed top CAS ------------------ */

#include <pthread.h>
#include <time.h>

struct bouncer {
    zipc_stack *s;     /* its own handle (second mapping of the segment) */
    uint32_t pause;    /* 1: stop between a push and its pop, and ack */
    uint32_t paused;
    uint32_t stop;
};

/* pause / paused: a store then a load of the other's flag on each side, so
 * seq_cst (with acquire / release both could read the old value). */

/* A live peer pushing one element above the top and popping it again: top
 * bounces between i and i + 1, as it does under any pusher above i. */
static void *bounce(void *arg)
{
    struct bouncer *b = arg;
    int32_t v = 1000, x;
    while (!__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST)) {
        if (__atomic_load_n(&b->pause, __ATOMIC_SEQ_CST)) {
            __atomic_store_n(&b->paused, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&b->pause, __ATOMIC_SEQ_CST) &&
                   !__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST))
                sched_yield();
            __atomic_store_n(&b->paused, 0, __ATOMIC_SEQ_CST);
            continue;
        }
        if (zipc_stack_try_push(b->s, &v) != 0)
            continue;
        while (zipc_stack_try_pop(b->s, &x) != 0) /* back to where it was */
            ;
    }
    return NULL;
}

static void bouncer_pause(struct bouncer *b)
{
    __atomic_store_n(&b->pause, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&b->paused, __ATOMIC_SEQ_CST))
        sched_yield();
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* History: a live pusher L (the runner, alive) moved top 2 -> 3, could
 * neither claim slot 3 nor undo its move, and abandoned the claim (row
 * ABANDONED; L went on with a fresh row). Slot 3 is EMPTY under top. A
 * recover holds slot 3, marks the row CLAIMED (cba12d7) and tries to move top
 * 3 -> 2; a live pusher above (top 3 -> 4) makes that CAS fail, and the
 * recoverer "restores" the row's phase from c->phase, which zipc_stack_recover
 * had rewritten from ABANDONED to CLAIMED. The row goes back to L's live pid
 * saying PUSH CLAIMED: no other process ever takes it again (L is alive and
 * the row no longer says ABANDONED), it counts as a live push claim on index
 * 3 for every later recover, and slot 3 stays EMPTY under top: pops answer
 * -EBUSY until L exits. A race: retried (bounded by time) until the top CAS
 * fails at least once, as far as can be told from outside. */
ZTEST(stack_recover_of_an_abandoned_push_keeps_it_abandoned_when_its_top_cas_fails_thread,
      ZT_FAST)
{
    zipc_segment *seg, *seg2;
    zipc_stack *s = stack_012(&seg);
    zipc_stack_shm *raw = raw_stack(seg, "s");
    uint32_t *st = raw_state(raw);
    zipc_owner_row_shm *rows = raw_rows(seg, "s_own");
    struct bouncer b = {0};
    ZT_OK(zipc_segment_open(zipc_segment_name(seg), &seg2));
    ZT_OK(zipc_stack_open(seg2, "s", 4, &b.s));
    const uint32_t live = (uint32_t)getppid();
    __atomic_store_n(&b.pause, 1, __ATOMIC_SEQ_CST);
    pthread_t th;
    ZT_ASSERT(pthread_create(&th, NULL, bounce, &b) == 0);
    uint64_t budget = zt_env_u64("ZIPC_REVIEW_RACE_MS", 300) * 1000000u;
    uint64_t t0 = now_ns(), tries = 0, freed = 0;
    bool stuck = false;
    while (!stuck && now_ns() - t0 < budget) {
        bouncer_pause(&b);
        store(&raw->top, 3);
        store(&st[3], ZIPC_SLOT_EMPTY);
        set_row(&rows[1], live, ZIPC_OWN_PUSH, ZIPC_OWN_ABANDONED, 3);
        __atomic_store_n(&b.pause, 0, __ATOMIC_SEQ_CST);
        zipc_stack_report rep;
        ZT_OK(zipc_stack_recover(s, &rep));
        tries++;
        uint32_t p = load(&rows[1].pid), state = load(&rows[1].state);
        if (p == 0)
            freed++;
        else if (p == live && state != ZIPC_OWN_STATE(ZIPC_OWN_PUSH, ZIPC_OWN_ABANDONED))
            stuck = true;
    }
    bouncer_pause(&b);
    __atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    /* Whatever the last try left, a quiet recover finishes it. */
    zipc_stack_report rep;
    ZT_OK(zipc_stack_recover(s, &rep));
    int32_t x;
    if (stuck)
        fprintf(stderr,
                "    after %llu recovers (%llu freed): row says %#x, pid %u (live); "
                "a quiet recover then: pending %u, freed %u; pop answers %d\n",
                (unsigned long long)tries, (unsigned long long)freed, load(&rows[1].state),
                load(&rows[1].pid), rep.pending, rep.rows_freed, zipc_stack_try_pop(s, &x));
    ZT_ASSERT(!stuck);
    for (int32_t want = 2; want >= 0; want--) {
        ZT_OK(zipc_stack_try_pop(s, &x));
        ZT_EQ(x, want);
    }
    ZT_ERR(zipc_stack_try_pop(s, &x), -EAGAIN);
    zipc_stack_close(b.s);
    zipc_segment_close(seg2);
    zipc_stack_close(s);
    zipc_segment_close(seg);
}

/* A live peer popping the top element and pushing it back: top bounces
 * between i and i - 1, as it does under any popper of i. */
static void *pop_push(void *arg)
{
    struct bouncer *b = arg;
    int32_t x;
    while (!__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST)) {
        if (__atomic_load_n(&b->pause, __ATOMIC_SEQ_CST)) {
            __atomic_store_n(&b->paused, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&b->pause, __ATOMIC_SEQ_CST) &&
                   !__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST))
                sched_yield();
            __atomic_store_n(&b->paused, 0, __ATOMIC_SEQ_CST);
            continue;
        }
        if (zipc_stack_try_pop(b->s, &x) != 0)
            continue;
        while (zipc_stack_try_push(b->s, &x) != 0) /* back where it was */
            ;
    }
    return NULL;
}

/* docs/queue.md "Limits" says a taker-over can only mistake a reuse of the
 * index for the dead claim when the reusing operation's process dies too.
 * retaken_and_busy() is a check, then the repair acts: a live popper that
 * starts between the two is not seen. History (by hand, as above): popper D
 * killed at 311 (POP CLAIMED on index 2, slot READY, top 1); recoverer Q put
 * the element back (top 1 -> 2) and was killed before its idle store. The
 * next recover takes the row over while a live peer pops index 2 and pushes
 * it back. When the peer moved top 2 -> 1 after the check, the taker-over
 * reads slot 2 READY above top and moves top back to 2 over the peer's pop:
 * once the peer has read and freed the slot, top covers an EMPTY slot (its
 * push lands at 3). A race, retried (bounded by time). */
ZTEST(stack_recover_taking_over_a_dead_recoverers_row_ignores_a_live_pop_starting_after_its_check_thread,
      ZT_FAST)
{
    zipc_segment *seg, *seg2;
    zipc_stack *s = stack_012(&seg);
    zipc_stack_shm *raw = raw_stack(seg, "s");
    uint32_t *st = raw_state(raw);
    zipc_owner_row_shm *rows = raw_rows(seg, "s_own");
    struct bouncer b = {0};
    ZT_OK(zipc_segment_open(zipc_segment_name(seg), &seg2));
    ZT_OK(zipc_stack_open(seg2, "s", 4, &b.s));
    const uint32_t dead = ZIPC_OWNER_RECOVERING | dead_pid();
    __atomic_store_n(&b.pause, 1, __ATOMIC_SEQ_CST);
    pthread_t th;
    ZT_ASSERT(pthread_create(&th, NULL, pop_push, &b) == 0);
    uint64_t budget = zt_env_u64("ZIPC_REVIEW_RACE_MS", 300) * 1000000u;
    uint64_t t0 = now_ns(), tries = 0;
    bool hole = false;
    while (!hole && now_ns() - t0 < budget) {
        bouncer_pause(&b);
        if (load(&raw->top) != 2 || load(&st[2]) != ZIPC_SLOT_READY ||
            load(&st[3]) != ZIPC_SLOT_EMPTY) {
            hole = true;
            break;
        }
        set_row(&rows[1], dead, ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 2);
        __atomic_store_n(&b.pause, 0, __ATOMIC_SEQ_CST);
        zipc_stack_report rep;
        ZT_OK(zipc_stack_recover(s, &rep));
        tries++;
    }
    bouncer_pause(&b);
    __atomic_store_n(&b.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    if (hole)
        fprintf(stderr, "    after %llu recovers: top %d, slots 2/3 states %u/%u\n",
                (unsigned long long)tries, (int32_t)load(&raw->top), load(&st[2]),
                load(&st[3]));
    ZT_ASSERT(!hole);
    zipc_stack_close(b.s);
    zipc_segment_close(seg2);
    zipc_stack_close(s);
    zipc_segment_close(seg);
}
