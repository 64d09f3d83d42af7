/* The hash-table core of Map and Set: open addressing, linear probing, the
 * C++ implementation's entry layout, plus per-slot meta words (hashtable.h)
 * that make claims exclusive, reads consistent and crashes recoverable.
 * The protocol and its no-duplicate argument are in docs/maps.md. */
#include "hashtable.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "testhooks.h"
#include "wait.h"

/* Longest total time one operation waits for peers' claims on its path
 * before giving up with -EAGAIN (or -EOWNERDEAD when the holder is dead). */
#ifndef ZIPC_HTABLE_BUSY_NS /* the fuzz build shortens it (Makefile FUZZ_FLAGS) */
#define ZIPC_HTABLE_BUSY_NS 200000000LL
#endif
/* Yields to a (possibly preempted) claim holder before sleeping. */
#define ZIPC_HTABLE_YIELDS 64
/* Restarts of one operation after lost races. Each restart means another
 * process changed a slot on the path (progress), so this only bounds the
 * pathological case. */
#define ZIPC_HTABLE_MAX_RESTARTS 100000
/* Largest key or value alignment accepted. */
#define ZIPC_HTABLE_MAX_ALIGN 4096u

#define NO_SLOT UINT64_MAX
#define RESTART 1 /* internal: lost a race, start the operation again */

/* ---- meta words ---------------------------------------------------------- */

#define META_PID_MASK 0xffffffu

static uint64_t meta_make(uint32_t ver, uint32_t pid, uint32_t phase)
{
    return (uint64_t)ver << 32 | (uint64_t)(pid & META_PID_MASK) << 8 | phase;
}
static uint32_t meta_phase(uint64_t m) { return (uint32_t)m & 0xffu; }
static uint32_t meta_pid(uint64_t m) { return (uint32_t)m >> 8; }
static uint32_t meta_ver(uint64_t m) { return (uint32_t)(m >> 32); }
static uint64_t meta_idle(uint64_t m) { return meta_make(meta_ver(m), 0, ZIPC__SLOT_IDLE); }
static uint64_t meta_with(uint64_t m, uint32_t phase) { return (m & ~(uint64_t)0xff) | phase; }
static bool phase_fresh(uint32_t ph)
{
    return ph == ZIPC__SLOT_CLAIMED || ph == ZIPC__SLOT_KEYED || ph == ZIPC__SLOT_COUNTED;
}

/* The pid recorded in claims; cached (getpid is a syscall) and reset in
 * forked children. */
static zipc_atomic_u32 self_pid_cache;
static void reset_pid_cache(void) { zipc__store_relaxed_u32(&self_pid_cache, 0); }
__attribute__((constructor)) static void register_pid_reset(void)
{
    pthread_atfork(NULL, NULL, reset_pid_cache);
}
static uint32_t self_pid(void)
{
    uint32_t p = zipc__load_relaxed_u32(&self_pid_cache);
    if (p == 0) {
        p = (uint32_t)getpid();
        zipc__store_relaxed_u32(&self_pid_cache, p);
    }
    return p;
}

/* A pid recorded in a claim belongs to a live process (EPERM: exists, not ours). */
static bool pid_alive(uint32_t pid)
{
    return pid != 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

/* A claim recovery may take over: non-idle, held by a pid that is gone. */
static bool holder_dead(uint64_t m)
{
    return meta_phase(m) != ZIPC__SLOT_IDLE && !pid_alive(meta_pid(m));
}

/* ---- slot access ------------------------------------------------------- */

static uint8_t *slot(const zipc__htable *t, uint64_t i) { return t->entries + i * t->entry_size; }
static zipc_atomic_u32 *state_at(const zipc__htable *t, uint64_t i)
{
    return (zipc_atomic_u32 *)slot(t, i);
}
static uint64_t next_slot(const zipc__htable *t, uint64_t i) { return i + 1 == t->capacity ? 0 : i + 1; }
static uint64_t dist(const zipc__htable *t, uint64_t home, uint64_t i)
{
    return i >= home ? i - home : i + t->capacity - home;
}

/* The stored key equals KEY (canonical). Floats compare by value; a caller
 * validates the meta word afterwards (the copy may be torn). */
static bool key_matches(const zipc__htable *t, uint64_t i, const void *key)
{
    const uint8_t *k = slot(t, i) + t->key_off;
    if (t->key_kind == ZIPC__KEY_FLOAT) {
        uint8_t buf[8];
        zipc__load_bytes_acquire(buf, k, t->key_size); /* L3 */
        if (t->key_size == sizeof(double)) {
            double a, b;
            memcpy(&a, buf, sizeof(a));
            memcpy(&b, key, sizeof(b));
            return a == b;
        }
        float a, b;
        memcpy(&a, buf, sizeof(a));
        memcpy(&b, key, sizeof(b));
        return a == b;
    }
    return zipc__equal_acquire(k, key, t->key_size); /* L3 */
}

/* After copying slot bytes: did the slot stay as M? */
static bool still(const zipc__htable *t, uint64_t i, uint64_t m)
{
    /* L3: our copies were acquire loads; if one of them read a byte stored
     * (S3, release) under a claim made after M, that claim happens-before
     * this load, which therefore cannot return M. */
    return zipc__load_acquire_u64(&t->meta[i]) == m;
}

/* ---- bounded waiting (cold) ---------------------------------------------- */

struct op {
    zipc__deadline deadline;
    bool armed;
    uint32_t restarts;
};

struct slot_watch {
    const zipc__htable *t;
    uint64_t i, meta;
    uint32_t state;
};

static int slot_moved(void *ctx)
{
    const struct slot_watch *w = ctx;
    /* M2/S5 (acquire): pair with the holder's M1 (meta) and S2 (state)
     * releases: what it wrote before is visible to the rescan that follows. */
    if (zipc__load_acquire_u64(&w->t->meta[w->i]) != w->meta ||
        zipc__load_acquire_u32(state_at(w->t, w->i)) != w->state)
        return 0;
    return -EAGAIN;
}

/* Wait until slot I no longer shows (M, ST): spin, yield, then sleep in
 * bounded slices, all within the operation's ZIPC_HTABLE_BUSY_NS budget.
 * Returns 0 (moved), -EOWNERDEAD (holder dead: zipc_map_recover) or -EAGAIN. */
static __attribute__((noinline)) int wait_slot(const zipc__htable *t, struct op *op, uint64_t i,
                                              uint64_t m, uint32_t st)
{
    struct slot_watch w = {t, i, m, st};
    if (!op->armed) {
        zipc__deadline_init(&op->deadline, ZIPC_HTABLE_BUSY_NS);
        op->armed = true;
    }
    for (int k = 0; k < ZIPC_SPIN_LIMIT; k++) {
        if (slot_moved(&w) == 0)
            return 0;
        zipc__cpu_relax();
    }
    for (int k = 0; k < ZIPC_HTABLE_YIELDS && !zipc__deadline_expired(&op->deadline); k++) {
        if (slot_moved(&w) == 0)
            return 0;
        sched_yield();
    }
    int64_t left = op->deadline.at_ns - zipc__now_ns();
    int r = zipc__wait_until(NULL, slot_moved, &w, left > 0 ? left : 0);
    if (r == 0)
        return 0;
    /* -EOWNERDEAD only when zipc__htable_recover can act: a claim whose
     * holder is gone. An idle claim word (another implementation's writer
     * mid-write, without claim words) has no owner to recover from. */
    return holder_dead(m) ? -EOWNERDEAD : -EAGAIN;
}

/* ---- the probe walk -------------------------------------------------------- */

enum walk_mode { WALK_GET, WALK_INSERT, WALK_REMOVE };
enum { WALK_ABSENT = 0, WALK_FOUND = 2 };

struct walk {
    uint64_t at, at_meta;     /* WALK_FOUND: the key's slot and its meta */
    uint64_t free, free_meta; /* WALK_ABSENT: first reusable slot, or NO_SLOT */
};

/* Walk KEY's probe path from HOME. Returns WALK_FOUND (key present in a
 * readable slot), WALK_ABSENT, RESTART (waited for a slot; walk again) or an
 * error. All loads are seq_cst: the insert's duplicate check (verify) argues
 * over one total order of these loads and the claims (docs/maps.md). */
static int walk(const zipc__htable *t, struct op *op, const void *key, uint64_t home,
                enum walk_mode mode, struct walk *w)
{
    w->free = NO_SLOT;
    uint64_t i = home;
    for (uint64_t n = 0; n < t->capacity; n++, i = next_slot(t, i)) {
        /* W1 (seq_cst): in the total order with S1, C1 and K1/K2; also the
         * acquire of M1 (meta) and S2 (state). */
        uint64_t m = zipc__load_seq_cst_u64(&t->meta[i]);
        uint32_t st = zipc__load_seq_cst_u32(state_at(t, i));
        uint32_t ph = meta_phase(m);
        if (st == ZIPC__ST_EMPTY) {
            if (ph == ZIPC__SLOT_IDLE) {
                if (w->free == NO_SLOT) {
                    w->free = i;
                    w->free_meta = m;
                }
                return WALK_ABSENT;
            }
            /* A claim on the EMPTY slot that ends the path: nothing lies
             * beyond it. Readers are done; an inserter must not step past
             * an EMPTY slot (its key would be unreachable), so it waits. */
            if (mode != WALK_INSERT)
                return WALK_ABSENT;
            int r = wait_slot(t, op, i, m, st);
            return r ? r : RESTART;
        }
        if (phase_fresh(ph))
            continue; /* a key not inserted yet: verify() settles duplicates */
        if (st == ZIPC__ST_DELETED) {
            if (ph == ZIPC__SLOT_IDLE && w->free == NO_SLOT) {
                w->free = i;
                w->free_meta = m;
            }
            continue;
        }
        if (st == ZIPC__ST_INSERTING && ph == ZIPC__SLOT_IDLE) {
            /* Another implementation mid-write, without meta words. */
            int r = wait_slot(t, op, i, m, st);
            return r ? r : RESTART;
        }
        bool match = key_matches(t, i, key);
        if (!still(t, i, m))
            return RESTART;
        if (!match)
            continue;
        bool readable = st == ZIPC__ST_OCCUPIED &&
                        (ph == ZIPC__SLOT_IDLE ||
                         (mode == WALK_GET && (ph == ZIPC__SLOT_REMOVE || ph == ZIPC__SLOT_REMOVED)));
        if (readable) {
            w->at = i;
            w->at_meta = m;
            return WALK_FOUND;
        }
        int r = wait_slot(t, op, i, m, st); /* being updated or removed */
        return r ? r : RESTART;
    }
    return WALK_ABSENT;
}

static int count_restart(struct op *op)
{
    return ++op->restarts > ZIPC_HTABLE_MAX_RESTARTS ? -EAGAIN : 0;
}

/* ---- insert ---------------------------------------------------------------- */

/* Give a claimed fresh slot up: it becomes DELETED (never EMPTY again: other
 * inserters may have walked past it while it was INSERTING). */
static void abandon(const zipc__htable *t, uint64_t i, uint64_t mine)
{
    /* S2 (release): pairs with the state loads of walk()/verify(). */
    zipc__store_release_u32(state_at(t, i), ZIPC__ST_DELETED);
    /* M1 (release): pairs with the meta loads of readers and claimers: the
     * state above is final once the slot shows idle. */
    zipc__store_release_u64(&t->meta[i], meta_idle(mine));
}

/* Release a claim without having touched the slot. */
static void unclaim(const zipc__htable *t, uint64_t i, uint64_t mine)
{
    zipc__store_release_u64(&t->meta[i], meta_idle(mine)); /* M1 */
}

/* Claim slot I, seen idle as M, for PHASE. Returns the claim or 0 on a lost race. */
static uint64_t claim(const zipc__htable *t, uint64_t i, uint64_t m, uint32_t phase)
{
    uint64_t mine = meta_make(meta_ver(m) + 1, self_pid(), phase);
    /* C1 (seq_cst): acquires the previous holder's M1 release (its writes to
     * the slot are visible), and takes part in the total order verify() uses. */
    if (!zipc__cas_seq_cst_u64(&t->meta[i], &m, mine))
        return 0;
    /* Our slot writes that follow are release stores (S3): each is ordered
     * after this claim, so a reader that copies one sees the claim (L3). */
    return mine;
}

/* Our fresh key at FI (phase KEYED) against every other copy of the key on
 * the path. Returns 0 (we are the only one), RESTART (we must yield: *yield_to
 * is the slot we yield to, *yield_meta its meta if it is a fresh insert we
 * must wait for, else 0), or an error from waiting. */
static int verify(const zipc__htable *t, struct op *op, uint64_t fi, const void *key,
                  uint64_t home, uint64_t *yield_to, uint64_t *yield_meta, uint32_t *yield_state)
{
    uint64_t my_dist = dist(t, home, fi);
    uint64_t i = home;
    for (uint64_t n = 0; n < t->capacity; n++, i = next_slot(t, i)) {
        if (i == fi)
            continue;
    again:;
        /* K2 (seq_cst): pairs with K1 of another inserter of this key:
         * store(K1) then load(K2) on both sides, so at least one of two
         * concurrent inserters sees the other's KEYED slot. */
        uint64_t m = zipc__load_seq_cst_u64(&t->meta[i]);
        uint32_t st = zipc__load_seq_cst_u32(state_at(t, i));
        uint32_t ph = meta_phase(m);
        if (st == ZIPC__ST_EMPTY)
            return 0; /* end of the path (docs/maps.md: why nothing lies beyond) */
        bool fresh = ph == ZIPC__SLOT_KEYED || ph == ZIPC__SLOT_COUNTED;
        bool existing = (st == ZIPC__ST_OCCUPIED && !phase_fresh(ph)) ||
                        (st == ZIPC__ST_INSERTING && ph == ZIPC__SLOT_UPDATE);
        if (!fresh && !existing)
            continue;
        bool match = key_matches(t, i, key);
        if (!still(t, i, m))
            goto again;
        if (!match)
            continue;
        if (existing || dist(t, home, i) < my_dist) {
            *yield_to = i;
            *yield_meta = existing ? 0 : m;
            *yield_state = st;
            return RESTART;
        }
        /* A fresh copy further along the path yields to us, or publishes
         * first if it never saw us (then we yield to its OCCUPIED slot). */
        int r = wait_slot(t, op, i, m, st);
        if (r)
            return r;
        goto again;
    }
    return 0;
}

/* Insert KEY at the free slot W->free. Returns 0, RESTART or an error. */
static int insert_fresh(const zipc__htable *t, struct op *op, const void *key, const void *value,
                        uint64_t home, const struct walk *w)
{
    uint64_t fi = w->free;
    zipc_atomic_u32 *state = state_at(t, fi);
    uint64_t mine = claim(t, fi, w->free_meta, ZIPC__SLOT_CLAIMED);
    if (!mine)
        return RESTART;
    /* Stable while we hold the claim: the previous holder's last state
     * store is visible through C1. */
    uint32_t st = zipc__load_acquire_u32(state);
    /* S1 (seq_cst): the format's claim, EMPTY/DELETED -> INSERTING; part of
     * the total order verify() argues over. Fails only against a foreign peer. */
    if ((st != ZIPC__ST_EMPTY && st != ZIPC__ST_DELETED) ||
        !zipc__cas_seq_cst_u32(state, &st, ZIPC__ST_INSERTING)) {
        unclaim(t, fi, mine);
        return RESTART;
    }
    ZIPC_CRASH_POINT(t->crash_base + 0);
    /* S3 (release stores): pair with L3 in readers. */
    zipc__store_bytes_release(slot(t, fi) + t->key_off, key, t->key_size);
    if (t->val_size)
        zipc__store_bytes_release(slot(t, fi) + t->val_off, value, t->val_size);
    ZIPC_CRASH_POINT(t->crash_base + 1);
    mine = meta_with(mine, ZIPC__SLOT_KEYED);
    /* K1 (seq_cst): pairs with K2 in verify() of other inserters. */
    zipc__store_seq_cst_u64(&t->meta[fi], mine);
    ZIPC_CRASH_POINT(t->crash_base + 2);
    uint64_t yield_to = NO_SLOT, yield_meta = 0;
    uint32_t yield_state = 0;
    int r = verify(t, op, fi, key, home, &yield_to, &yield_meta, &yield_state);
    if (r) {
        abandon(t, fi, mine);
        if (r == RESTART && yield_meta) {
            /* Wait for the fresh copy we yielded to, so the next walk finds
             * it published (or gone) instead of racing it again. */
            int wr = wait_slot(t, op, yield_to, yield_meta, yield_state);
            if (wr)
                return wr;
        }
        return r;
    }
    zipc__fetch_add_relaxed_u32(&t->hdr->size, 1);
    ZIPC_CRASH_POINT(t->crash_base + 3);
    /* COUNTED tells recovery that size already includes this key. Release:
     * pairs with the acquire of the recovering process's claim (C1). */
    zipc__store_release_u64(&t->meta[fi], meta_with(mine, ZIPC__SLOT_COUNTED));
    ZIPC_CRASH_POINT(t->crash_base + 4);
    /* S2 (release): pairs with walk()'s state loads: key and value are
     * visible to whoever sees OCCUPIED (also foreign readers, which only look
     * at the state). */
    zipc__store_release_u32(state, ZIPC__ST_OCCUPIED);
    ZIPC_CRASH_POINT(t->crash_base + 5);
    zipc__store_release_u64(&t->meta[fi], meta_idle(mine)); /* M1 */
    return 0;
}

/* Rewrite the value of the key found at W->at. Returns 0 or RESTART. */
static int update_in_place(const zipc__htable *t, const void *value, const struct walk *w)
{
    zipc_atomic_u32 *state = state_at(t, w->at);
    uint64_t mine = claim(t, w->at, w->at_meta, ZIPC__SLOT_UPDATE);
    if (!mine)
        return RESTART; /* the slot changed since we matched its key */
    uint32_t st = ZIPC__ST_OCCUPIED;
    /* The format's claim OCCUPIED -> INSERTING, so that foreign readers skip
     * the slot while the value changes. S4 (acq_rel): ordered after C1 and
     * before the S3 value stores; verify() counts INSERTING+UPDATE as an
     * existing copy, so this needs no place in the total order S. */
    if (!zipc__cas_acq_rel_u32(state, &st, ZIPC__ST_INSERTING)) {
        unclaim(t, w->at, mine);
        return RESTART;
    }
    ZIPC_CRASH_POINT(t->crash_base + 10);
    /* S3 (release stores, pair with L3). One aligned access when
     * val_atomic: no reader, ours or foreign, can see half of it. */
    zipc__store_bytes_release(slot(t, w->at) + t->val_off, value, t->val_size);
    ZIPC_CRASH_POINT(t->crash_base + 11);
    zipc__store_release_u32(state, ZIPC__ST_OCCUPIED);      /* S2 */
    zipc__store_release_u64(&t->meta[w->at], meta_idle(mine)); /* M1 */
    return 0;
}

static int canonical_home(const zipc__htable *t, const void *key, uint8_t buf[8],
                          const void **kp, uint64_t *home)
{
    if (!key)
        return -EINVAL;
    *kp = key;
    if (t->key_kind == ZIPC__KEY_FLOAT) {
        int r = zipc__key_canonical(t->key_kind, key, t->key_size, buf);
        if (r)
            return r;
        *kp = buf;
    }
    *home = zipc__hash_key(t->key_kind, *kp, t->key_size) % t->capacity;
    return 0;
}

int zipc__htable_insert(zipc__htable *t, const void *key_in, const void *value, bool *added)
{
    uint8_t buf[8];
    const void *key;
    uint64_t home;
    if (!t || (t->val_size && !value))
        return -EINVAL;
    int r = canonical_home(t, key_in, buf, &key, &home);
    if (r)
        return r;
    if (t->readonly)
        return -EROFS;
    struct op op = {.restarts = 0};
    for (;;) {
        struct walk w;
        r = walk(t, &op, key, home, WALK_INSERT, &w);
        if (r == WALK_FOUND) {
            if (added)
                *added = false;
            if (!t->update_existing)
                return 0;
            r = update_in_place(t, value, &w);
        } else if (r == WALK_ABSENT) {
            if (w.free == NO_SLOT)
                return -ENOSPC;
            r = insert_fresh(t, &op, key, value, home, &w);
            if (r == 0 && added)
                *added = true;
        }
        if (r != RESTART)
            return r;
        if ((r = count_restart(&op)))
            return r;
    }
}

/* ---- get / remove / next ----------------------------------------------------- */

int zipc__htable_get(zipc__htable *t, const void *key_in, void *value)
{
    uint8_t buf[8];
    const void *key;
    uint64_t home;
    if (!t)
        return -EINVAL;
    int r = canonical_home(t, key_in, buf, &key, &home);
    if (r)
        return r;
    struct op op = {.restarts = 0};
    for (;;) {
        struct walk w;
        r = walk(t, &op, key, home, WALK_GET, &w);
        if (r == WALK_ABSENT)
            return -ENOENT;
        if (r == WALK_FOUND) {
            if (!value || !t->val_size)
                return 0;
            zipc__load_bytes_acquire(value, slot(t, w.at) + t->val_off, t->val_size); /* L3 */
            if (still(t, w.at, w.at_meta))
                return 0;
            r = RESTART;
        }
        if (r != RESTART)
            return r;
        if ((r = count_restart(&op)))
            return r;
    }
}

int zipc__htable_remove(zipc__htable *t, const void *key_in)
{
    uint8_t buf[8];
    const void *key;
    uint64_t home;
    if (!t)
        return -EINVAL;
    int r = canonical_home(t, key_in, buf, &key, &home);
    if (r)
        return r;
    if (t->readonly)
        return -EROFS;
    struct op op = {.restarts = 0};
    for (;;) {
        struct walk w;
        r = walk(t, &op, key, home, WALK_REMOVE, &w);
        if (r == WALK_ABSENT)
            return -ENOENT;
        if (r == WALK_FOUND) {
            uint64_t mine = claim(t, w.at, w.at_meta, ZIPC__SLOT_REMOVE);
            if (mine) {
                ZIPC_CRASH_POINT(t->crash_base + 20);
                zipc__fetch_sub_relaxed_u32(&t->hdr->size, 1);
                ZIPC_CRASH_POINT(t->crash_base + 21);
                /* REMOVED tells recovery that size no longer counts the key.
                 * Release: pairs with a recovering process's C1. */
                zipc__store_release_u64(&t->meta[w.at], meta_with(mine, ZIPC__SLOT_REMOVED));
                ZIPC_CRASH_POINT(t->crash_base + 22);
                zipc__store_release_u32(state_at(t, w.at), ZIPC__ST_DELETED); /* S2 */
                zipc__store_release_u64(&t->meta[w.at], meta_idle(mine));      /* M1 */
                return 0;
            }
            r = RESTART;
        }
        if (r != RESTART)
            return r;
        if ((r = count_restart(&op)))
            return r;
    }
}

int zipc__htable_next(zipc__htable *t, uint64_t *cursor, void *key, void *value)
{
    if (!t || !cursor)
        return -EINVAL;
    struct op op = {.restarts = 0};
    for (uint64_t i = *cursor; i < t->capacity;) {
        /* Acquire: pairs with M1: the state and bytes of an idle slot are final. */
        uint64_t m = zipc__load_acquire_u64(&t->meta[i]);
        uint32_t st = zipc__load_acquire_u32(state_at(t, i));
        uint32_t ph = meta_phase(m);
        bool present = st == ZIPC__ST_OCCUPIED &&
                       (ph == ZIPC__SLOT_IDLE || ph == ZIPC__SLOT_REMOVE || ph == ZIPC__SLOT_REMOVED);
        if (!present && !(st == ZIPC__ST_OCCUPIED && ph == ZIPC__SLOT_UPDATE) &&
            !(st == ZIPC__ST_INSERTING && (ph == ZIPC__SLOT_UPDATE || ph == ZIPC__SLOT_IDLE))) {
            i++;
            continue; /* not in the table (or not inserted yet) */
        }
        if (!present) { /* an update in progress: wait for its value */
            int r = wait_slot(t, &op, i, m, st);
            if (r)
                return r;
            continue;
        }
        if (key)
            zipc__load_bytes_acquire(key, slot(t, i) + t->key_off, t->key_size); /* L3 */
        if (value && t->val_size)
            zipc__load_bytes_acquire(value, slot(t, i) + t->val_off, t->val_size); /* L3 */
        if (still(t, i, m)) {
            *cursor = i + 1;
            return 0;
        }
        int r = count_restart(&op);
        if (r)
            return r;
    }
    *cursor = t->capacity;
    return -ENOENT;
}

uint64_t zipc__htable_size(const zipc__htable *t)
{
    return t ? zipc__load_relaxed_u32(&t->hdr->size) : 0;
}

/* ---- recovery -------------------------------------------------------------------- */

/* Finish or undo the operation of a dead claimer whose claim we took over as
 * MINE (same phase). Idempotent per phase, so a recoverer that dies half way
 * is itself recovered by the next call. */
static void finish_dead(const zipc__htable *t, uint64_t i, uint64_t mine)
{
    zipc_atomic_u32 *state = state_at(t, i);
    /* The dead holder's stores are visible: C1 acquired its claim word,
     * which it wrote after them (its phase stores are releases). The state
     * and claim-word stores below are S2/M1 releases like a live holder's. */
    uint32_t st = zipc__load_acquire_u32(state); /* S5: pairs with the holder's S2/S4 */
    switch (meta_phase(mine)) {
    case ZIPC__SLOT_CLAIMED:
    case ZIPC__SLOT_KEYED:
        /* Never counted, never visible to our readers: drop it. */
        if (st == ZIPC__ST_INSERTING)
            zipc__store_release_u32(state, ZIPC__ST_DELETED); /* S2 */
        break;
    case ZIPC__SLOT_COUNTED:
        /* Checked unique and counted: publish it. */
        zipc__store_release_u32(state, ZIPC__ST_OCCUPIED); /* S2 */
        break;
    case ZIPC__SLOT_UPDATE:
        if (st != ZIPC__ST_INSERTING || t->val_atomic) {
            /* The value is the old or the new one, never a mix. */
            zipc__store_release_u32(state, ZIPC__ST_OCCUPIED); /* S2 */
            break;
        }
        /* A value larger than one atomic access may be torn: remove the key. */
        mine = meta_with(mine, ZIPC__SLOT_REMOVE);
        zipc__store_release_u64(&t->meta[i], mine); /* M1 */
        /* fall through */
    case ZIPC__SLOT_REMOVE:
        if (st == ZIPC__ST_OCCUPIED)
            break; /* nothing done yet: the key stays */
        zipc__fetch_sub_relaxed_u32(&t->hdr->size, 1);
        zipc__store_release_u64(&t->meta[i], meta_with(mine, ZIPC__SLOT_REMOVED)); /* M1 */
        /* fall through */
    case ZIPC__SLOT_REMOVED:
        zipc__store_release_u32(state, ZIPC__ST_DELETED); /* S2 */
        break;
    default:
        break; /* unknown phase: leave the state, free the slot's meta */
    }
    /* M1: a new version: readers that copied bytes under the dead claim retry. */
    zipc__store_release_u64(&t->meta[i], meta_make(meta_ver(mine) + 1, 0, ZIPC__SLOT_IDLE));
}

int zipc__htable_recover(zipc__htable *t, uint32_t *reclaimed)
{
    if (!t)
        return -EINVAL;
    if (t->readonly)
        return -EROFS;
    uint32_t n = 0;
    for (uint64_t i = 0; i < t->capacity; i++) {
        /* M2 (acquire): pairs with the holder's M1 phase releases (a first
         * look; the C1 CAS below is what takes the slot). */
        uint64_t m = zipc__load_acquire_u64(&t->meta[i]);
        if (!holder_dead(m))
            continue;
        uint64_t mine = meta_make(meta_ver(m), self_pid(), meta_phase(m));
        /* C1 (seq_cst): take the dead claim over; acquires its writes. */
        if (!zipc__cas_seq_cst_u64(&t->meta[i], &m, mine))
            continue; /* it moved: someone else recovered it */
        finish_dead(t, i, mine);
        n++;
    }
    if (reclaimed)
        *reclaimed = n;
    return 0;
}

/* ---- geometry, create, open ---------------------------------------------------- */

static uint64_t align_up(uint64_t n, uint64_t a) { return (n + a - 1) & ~(a - 1); }
static bool pow2(uint32_t a) { return a && (a & (a - 1)) == 0; }

/* Scalars of 1, 2, 4 and 8 bytes are aligned to their size; anything else
 * to 1 (byte strings). Structs must say their alignment. */
static uint32_t derived_align(uint32_t size)
{
    return size == 2 || size == 4 || size == 8 ? size : 1;
}

int zipc__htable_geometry(zipc__htable_geom *g)
{
    bool scalar = g->key_size == 1 || g->key_size == 2 || g->key_size == 4 || g->key_size == 8;
    switch (g->key_kind) {
    case ZIPC__KEY_SIGNED:
    case ZIPC__KEY_UNSIGNED:
        if (!scalar)
            return -EINVAL;
        break;
    case ZIPC__KEY_FLOAT:
        if (g->key_size != 4 && g->key_size != 8)
            return -EINVAL;
        break;
    case ZIPC__KEY_BYTES:
        if (g->key_size == 0)
            return -EINVAL;
        break;
    default:
        return -EINVAL;
    }
    if (!g->key_align)
        g->key_align = derived_align(g->key_size);
    if (!g->val_align)
        g->val_align = derived_align(g->val_size);
    if (!pow2(g->key_align) || !pow2(g->val_align) || g->key_align > ZIPC_HTABLE_MAX_ALIGN ||
        g->val_align > ZIPC_HTABLE_MAX_ALIGN || g->key_size % g->key_align ||
        g->val_size % g->val_align)
        return -EINVAL; /* sizeof is always a multiple of alignof */
    uint64_t key_off = align_up(4, g->key_align);
    uint64_t val_off = align_up(key_off + g->key_size, g->val_align);
    uint64_t a = g->key_align > g->val_align ? g->key_align : g->val_align;
    uint64_t es = align_up(val_off + g->val_size, a > 4 ? a : 4);
    if (es > UINT32_MAX)
        return -EINVAL;
    g->key_off = (uint32_t)key_off;
    g->val_off = (uint32_t)val_off;
    g->entry_size = (uint32_t)es;
    return 0;
}

bool zipc__htable_total(const zipc__htable_geom *g, uint64_t capacity, uint64_t *total)
{
    if (capacity == 0 || capacity > UINT32_MAX ||
        capacity > (UINT64_MAX - ZIPC_MAP_HEADER) / g->entry_size)
        return false;
    *total = ZIPC_MAP_HEADER + capacity * g->entry_size;
    return true;
}

static void fill_handle(zipc_segment *seg, uint64_t off, const zipc__htable_geom *g,
                        uint64_t capacity, zipc_atomic_u64 *meta, zipc__htable *t)
{
    memset(t, 0, sizeof(*t));
    t->hdr = (zipc_map_shm *)zipc__seg_ptr(seg, off);
    t->entries = (uint8_t *)t->hdr + ZIPC_MAP_HEADER;
    t->meta = meta;
    t->capacity = capacity;
    t->entry_size = g->entry_size;
    t->key_off = g->key_off;
    t->key_size = g->key_size;
    t->val_off = g->val_off;
    t->val_size = g->val_size;
    t->key_kind = g->key_kind;
    t->readonly = seg->readonly;
    /* Entries start 8-aligned (the segment aligns every entry, the header is
     * 16 bytes): the value is aligned to its size in every slot when both its
     * offset and the entry size are multiples of it. */
    uint32_t vs = g->val_size;
    t->val_atomic = (vs == 1 || vs == 2 || vs == 4 || vs == 8) && g->val_off % vs == 0 &&
                    g->entry_size % vs == 0;
}

struct header_init {
    uint32_t capacity, key_size, word3;
};

static void init_header(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    const struct header_init *h = ctx;
    zipc_map_shm *m = mem;
    m->capacity = h->capacity;
    m->key_size = h->key_size;
    m->value_size = h->word3; /* entries stay zero: EMPTY */
}

int zipc__htable_create(zipc_segment *seg, const char *name, const zipc__htable_geom *g,
                        uint64_t capacity, uint32_t header_word3, zipc__htable *t)
{
    char own[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t total;
    if (!seg || !zipc__htable_total(g, capacity, &total))
        return -EINVAL;
    int r = zipc__aux_name(name, ZIPC_OWN_SUFFIX, own);
    if (r)
        return r;
    struct header_init h = {(uint32_t)capacity, g->key_size, header_word3};
    /* The meta words first, the user's name last: whoever finds the table
     * finds its meta words too. */
    zipc__new_entry es[2] = {
        {.name = own, .size = capacity * sizeof(zipc_atomic_u64)},
        {.name = name, .size = total, .init = init_header, .ctx = &h},
    };
    r = zipc__seg_add_many(seg, es, 2);
    if (r)
        return r;
    fill_handle(seg, es[1].offset, g, capacity,
                (zipc_atomic_u64 *)zipc__seg_ptr(seg, es[0].offset), t);
    return 0;
}

/* The "<name>_own" words of an opened table: found, added (a table made by
 * another implementation), or, read-only without one, a private zeroed array. */
static int open_meta(zipc_segment *seg, const char *name, uint64_t capacity,
                     zipc_atomic_u64 **meta, bool *owned)
{
    char own[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t off, size, want = capacity * sizeof(zipc_atomic_u64);
    int r = zipc__aux_name(name, ZIPC_OWN_SUFFIX, own);
    if (r)
        return r;
    r = zipc__seg_lookup(seg, own, &off, &size);
    if (r == -ENOENT && seg->readonly) {
        *meta = calloc(capacity, sizeof(zipc_atomic_u64));
        *owned = true;
        return *meta ? 0 : -ENOMEM;
    }
    if (r == -ENOENT) {
        r = zipc__seg_add(seg, own, want, NULL, NULL, &off);
        size = want;
        if (r == -EEXIST) /* a racing opener added it */
            r = zipc__seg_lookup(seg, own, &off, &size);
    }
    if (r)
        return r;
    if (size != want)
        return -EBADMSG;
    *meta = (zipc_atomic_u64 *)zipc__seg_ptr(seg, off);
    *owned = false;
    return 0;
}

int zipc__htable_open(zipc_segment *seg, const char *name, const zipc__htable_geom *g,
                      uint32_t header_word3, zipc__htable *t)
{
    uint64_t off, size, total;
    if (!seg)
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (r)
        return r;
    if (size < ZIPC_MAP_HEADER)
        return -EBADMSG;
    zipc_map_shm h;
    memcpy(&h, zipc__seg_ptr(seg, off), sizeof(h)); /* read once, then checked */
    if (h.key_size != g->key_size || (header_word3 != UINT32_MAX && h.value_size != header_word3) ||
        !zipc__htable_total(g, h.capacity, &total) || total != size)
        return -EBADMSG;
    zipc_atomic_u64 *meta;
    bool owned;
    r = open_meta(seg, name, h.capacity, &meta, &owned);
    if (r)
        return r;
    fill_handle(seg, off, g, h.capacity, meta, t);
    t->meta_owned = owned;
    return 0;
}

void zipc__htable_free(zipc__htable *t)
{
    if (t && t->meta_owned)
        free(t->meta);
}
