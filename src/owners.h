/* Owner rows: which process holds which in-flight claim of a queue or stack,
 * so that a claim left behind by a killed process can be told apart from one
 * that is merely slow, and repaired (see docs/queue.md "Crash recovery").
 *
 * The format has no room for an owner in a slot, so the rows live in an
 * auxiliary table entry NAME "_own" (docs/format.md "Extensions"), created
 * with the structure in one zipc__seg_add_many() call. Other implementations
 * ignore it; their claims are simply not attributed.
 *
 * Layout of "<name>_own" (all little-endian u32):
 * | off      | size | field   | written by               | read by           | order |
 * |----------|------|---------|--------------------------|-------------------|-------|
 * | 0        | 4    | nrows   | creator (init callback)  | open (validated)  | entry publication |
 * | 4        | 4    | roles   | creator (mode bits), role takers (CAS) | open, role takers | O6 |
 * | 8+16*r   | 4    | pid     | attach (CAS 0->pid), detach, recover | recover, attach | O3/O4 |
 * | 12+16*r  | 4    | state   | the row's process: op << 8 | phase; 0 idle | check, recover | O1/O2 |
 * | 16+16*r  | 4    | counter | the row's process: first claimed counter/index | recover | O1/O2 |
 * | 20+16*r  | 4    | count   | the row's process: slots claimed | recover | O1/O2 |
 * Entry size = 8 + 16 * nrows.
 *
 * Protocol: a process writes its intent (op, counter, count, phase PENDING)
 * into its own row BEFORE the CAS that claims the slots; that CAS is a
 * release (O1) and a recoverer reads the structure's counter with acquire
 * (O2) before reading rows, so a claim it sees is attributed. The phase then
 * moves to CLAIMED (CAS done) and COPIED (payload complete), and back to 0.
 * A row whose pid no longer exists (kill(pid, 0) == ESRCH) is frozen and
 * tells exactly what its process left half-done.
 *
 * roles (0 for everything but single-producer / single-consumer queues):
 * bits 0-7 the mode, fixed by the creator (ZIPC_OWN_MODE_*); bits 8-19 and
 * 20-31 the holder of the producer / consumer role, as its row index + 1
 * (0: nobody). A row named there is not handed out by attach, so a holder's
 * row keeps its dead pid until the role is taken over. */
#ifndef ZIPC_OWNERS_H
#define ZIPC_OWNERS_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"
#include "wait.h"

#define ZIPC_OWNERS_SUFFIX "_own"
/* Rows per structure: concurrent handles that can be tracked. Further
 * handles still work, untracked (their crashes are not attributable). */
#define ZIPC_OWNERS_ROWS 64u
/* A row's pid while one recoverer works on it: this bit | the recoverer's
 * pid (pids are below 2^22), so that a recoverer that dies at work is seen
 * dead and its row taken over, not held for good. */
#define ZIPC_OWNER_RECOVERING 0x80000000u

/* op (state >> 8) */
#define ZIPC_OWN_PUSH 1u
#define ZIPC_OWN_POP 2u
#define ZIPC_OWN_PEEK 3u
/* phase (state & 0xff) */
#define ZIPC_OWN_IDLE 0u
#define ZIPC_OWN_PENDING 1u   /* intent written; the claiming CAS may or may not have happened */
#define ZIPC_OWN_CLAIMED 2u   /* claiming CAS done; payload not complete */
#define ZIPC_OWN_COPIED 3u    /* push: payload fully written; pop: payload fully read */
#define ZIPC_OWN_ABANDONED 4u /* the live owner gave up on this claim and will never touch it */
/* Written only by a stack recoverer on the row it holds (src/stack.c). */
#define ZIPC_OWN_REPAIRING 5u /* a repair's CAS is about to run or has run */
#define ZIPC_OWN_RELEASING 6u /* push: slot held WRITING by the recoverer, top moved below it */
#define ZIPC_OWN_PUBLISHING 7u /* a slot held by the dead claim (push: WRITING, peek:
                                * READING) is being made READY */

#define ZIPC_OWN_STATE(op, phase) (((op) << 8) | (phase))

typedef struct zipc_owner_row_shm {
    zipc_atomic_u32 pid;
    zipc_atomic_u32 state;
    zipc_atomic_u32 counter;
    zipc_atomic_u32 count;
} zipc_owner_row_shm;

typedef struct zipc_owners_shm {
    uint32_t nrows;
    zipc_atomic_u32 roles;
    /* zipc_owner_row_shm rows[nrows] follow */
} zipc_owners_shm;

#define ZIPC_OWNERS_HEADER 8u
static_assert(sizeof(zipc_owners_shm) == ZIPC_OWNERS_HEADER, "owners header is 8 bytes");
static_assert(offsetof(zipc_owners_shm, nrows) == 0, "nrows @0");
static_assert(offsetof(zipc_owners_shm, roles) == 4, "roles @4");
static_assert(sizeof(zipc_owner_row_shm) == 16, "owner row is 16 bytes");
static_assert(offsetof(zipc_owner_row_shm, pid) == 0, "pid @0");
static_assert(offsetof(zipc_owner_row_shm, state) == 4, "state @4");
static_assert(offsetof(zipc_owner_row_shm, counter) == 8, "counter @8");
static_assert(offsetof(zipc_owner_row_shm, count) == 12, "count @12");

/* Mode bits of roles (bits 0-7). */
#define ZIPC_OWN_MODE_SP 0x1u /* one producer handle at a time */
#define ZIPC_OWN_MODE_SC 0x2u /* one consumer handle at a time */
#define ZIPC_OWN_MODE_MASK 0xffu
/* Roles: the holder field of role R is bits [8 + 12 R, 20 + 12 R). */
#define ZIPC_OWN_ROLE_PRODUCER 0u
#define ZIPC_OWN_ROLE_CONSUMER 1u
#define ZIPC_OWN_ROLE_SHIFT(role) (8u + 12u * (role))
#define ZIPC_OWN_ROLE_MAX_ROWS 4095u /* rows beyond cannot hold a role */

/* A validated owner table in this mapping. */
typedef struct zipc__owners {
    zipc_owners_shm *hdr;     /* NULL when rows is NULL */
    zipc_owner_row_shm *rows; /* NULL: the structure has no usable table */
    uint32_t nrows;
    /* Names row 0 the same way in every mapping of the segment (its file's
     * identity and the row's offset): the key of this process's registry of
     * the rows its handles hold (see zipc__own_attach). */
    uint64_t key0;
} zipc__owners;

/* ---- hot path: the row's own process records its claim ------------------ */

/* Intent before the claiming CAS; the CAS that follows must be a release (O1).
 * The state store is a release too (O5: pairs with the acquire in
 * zipc__own_live_claim): a recoverer that reads this new intent also sees
 * everything the row's previous operation published (its last slot store),
 * just as it would had it read that operation's idle store. (A plain store
 * on x86; stlr on arm64.) */
static inline void zipc__own_intent(zipc_owner_row_shm *r, uint32_t op, uint32_t counter,
                                    uint32_t count)
{
    if (!r)
        return;
    zipc__store_relaxed_u32(&r->counter, counter);
    zipc__store_relaxed_u32(&r->count, count);
    zipc__store_release_u32(&r->state, ZIPC_OWN_STATE(op, ZIPC_OWN_PENDING)); /* O5 */
}

/* Phase change. O5 (release): pairs with the recoverer's O4 acquire of the
 * state: it also sees the payload bytes written before (COPIED means complete). */
static inline void zipc__own_phase(zipc_owner_row_shm *r, uint32_t op, uint32_t phase)
{
    if (r)
        zipc__store_release_u32(&r->state, ZIPC_OWN_STATE(op, phase));
}

/* O5 (release): pairs with O4/O5 in the recoverer (zipc__own_live_claim). */
static inline void zipc__own_idle(zipc_owner_row_shm *r)
{
    if (r)
        zipc__store_release_u32(&r->state, ZIPC_OWN_IDLE);
}

/* ---- cold path (owners.c) ----------------------------------------------- */

struct zipc__new_entry;
struct zipc_segment;

/* Fill E so that zipc__seg_add_many() creates NAME "_own" (list it before the
 * structure), its roles word holding *MODE (ZIPC_OWN_MODE_*; MODE must stay
 * valid until the add). False when the name does not fit: create without. */
bool zipc__owners_prepare(struct zipc__new_entry *e, char namebuf[32], const char *name,
                          const uint32_t *mode);
/* After zipc__seg_add_many: the table in this mapping. */
zipc__owners zipc__owners_at(struct zipc_segment *seg, const struct zipc__new_entry *e);
/* On open: the table of NAME, adding it if missing and ADD is set (writable
 * segments only). rows == NULL when none is usable. */
zipc__owners zipc__owners_open(struct zipc_segment *seg, const char *name, bool add);

/* A tracked structure (queue, stack) has two auxiliary entries, "<name>_wait"
 * (NSETS waitsets) and "<name>_own". Create: add them with the structure's own
 * entry MAIN in one table transaction, listed before it, unless AUX is false
 * or the name leaves no room for the suffixes; "_own" gets MODE (see roles).
 * Returns zipc__seg_add_many's code; *ws / *owners are NULL / empty when
 * created without. */
int zipc__tracked_add(struct zipc_segment *seg, struct zipc__new_entry *main, uint32_t nsets,
                      bool aux, uint32_t mode, zipc_waitset_shm **ws, zipc__owners *owners);
/* Open: find them, adding missing ones (made by another implementation) when
 * ADD is set and the segment is writable. */
void zipc__tracked_open(struct zipc_segment *seg, const char *name, uint32_t nsets, bool add,
                        zipc_waitset_shm **ws, zipc__owners *owners);

/* Take a free row (or one left idle by a dead process) for PID (this
 * process); NULL if none. The row is entered in a registry of this process,
 * so that a row carrying this process's pid but held by none of its handles
 * (left by an earlier process that had the same pid, or by this process
 * before an exec) is told apart from a live one: such a row counts as dead. */
zipc_owner_row_shm *zipc__own_attach(const zipc__owners *o, uint32_t pid);
/* Give the row back (the process has no claim in flight). NULL is ignored. */
void zipc__own_detach(const zipc__owners *o, zipc_owner_row_shm *r);
/* Mark the row's claim ABANDONED (it stays for recovery) and take a fresh row
 * for PID; returns the new row, or NULL. */
zipc_owner_row_shm *zipc__own_abandon(const zipc__owners *o, zipc_owner_row_shm *r, uint32_t pid);

/* The mode bits of the table (0 without a table). Fixed by the creator:
 * read once at open. */
uint32_t zipc__own_mode(const zipc__owners *o);
/* Make ROW (this handle's row) the holder of ROLE. Returns 1 when ROW
 * already held it, 0 when it took a free role or one whose holder is gone
 * (its row's process is dead, the row is free, or the index is out of
 * range: the caller must then find where the previous holder stopped),
 * -EPERM when a live row holds it or ROW cannot hold roles (NULL, index too
 * large), -EAGAIN when the holder's row is being recovered right now. */
int zipc__own_role_take(const zipc__owners *o, zipc_owner_row_shm *row, uint32_t role);
/* True when the roles word names R as the holder of a role. */
bool zipc__own_role_named(const zipc__owners *o, const zipc_owner_row_shm *r);
/* Give ROLE up if ROW holds it. */
void zipc__own_role_drop(const zipc__owners *o, zipc_owner_row_shm *row, uint32_t role);

/* True when PID provably no longer exists (kill(pid, 0) fails with ESRCH). */
bool zipc__pid_dead(uint32_t pid);

/* A frozen row taken by a recoverer. */
typedef struct zipc__own_claim {
    uint32_t pid, op, phase, counter, count;
} zipc__own_claim;

/* Take row R for recovery if its owner is dead (or it was abandoned), or if
 * it carries the mark of a recoverer that died: the row's pid becomes our
 * mark (ZIPC_OWNER_RECOVERING | our pid) and *c receives the frozen claim
 * (c->pid: the pid it had, an owner's or a dead recoverer's mark).
 * A row one of this process's handles holds is taken only once ABANDONED;
 * a row of this process's pid that none of them holds is dead. */
bool zipc__own_take_dead(const zipc__owners *o, zipc_owner_row_shm *r, zipc__own_claim *c);
/* After recovery: DONE frees the row; otherwise the pid it had (a dead
 * owner's, or a dead recoverer's mark) is put back so that a later call
 * retries. */
void zipc__own_put(const zipc__owners *o, zipc_owner_row_shm *r, const zipc__own_claim *c,
                   bool done);
/* True if some row other than SKIP, whose process is alive, has a claim of OP
 * that covers COUNTER (wrapping u32 arithmetic). Conservative: such a claim may
 * be the real holder of a slot that a dead row only intended to claim. */
bool zipc__own_live_claim(const zipc__owners *o, const zipc_owner_row_shm *skip, uint32_t op,
                          uint32_t counter);
/* True if some row other than SKIP, live or not, has a claim of any
 * operation that covers COUNTER. */
bool zipc__own_any_claim(const zipc__owners *o, const zipc_owner_row_shm *skip, uint32_t counter);
/* Rows of dead processes that still hold a claim (for check()). */
uint32_t zipc__own_count_dead(const zipc__owners *o);

#endif /* ZIPC_OWNERS_H */
