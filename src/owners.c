/* Owner rows of queues and stacks: attach, detach, and the dead-owner tests
 * recovery relies on. See owners.h for the layout and protocol. */
#include "owners.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segment_internal.h"

static void init_owners(void *mem, uint64_t size, void *ctx)
{
    const uint32_t *mode = ctx;
    zipc_owners_shm *o = mem;
    o->nrows = (uint32_t)((size - ZIPC_OWNERS_HEADER) / sizeof(zipc_owner_row_shm));
    /* Published with the entry (E1), before any handle exists. */
    zipc__store_relaxed_u32(&o->roles, *mode & ZIPC_OWN_MODE_MASK);
}

static const uint32_t no_mode = 0;

bool zipc__owners_prepare(zipc__new_entry *e, char namebuf[ZIPC_ENTRY_NAME_MAX + 1],
                          const char *name, const uint32_t *mode)
{
    if (zipc__aux_name(name, ZIPC_OWNERS_SUFFIX, namebuf) != 0)
        return false;
    *e = (zipc__new_entry){.name = namebuf,
                           .size = ZIPC_OWNERS_HEADER +
                                   (uint64_t)ZIPC_OWNERS_ROWS * sizeof(zipc_owner_row_shm),
                           .init = init_owners, .ctx = (void *)(mode ? mode : &no_mode)};
    return true;
}

/* ---- this process's registry of the rows its handles hold ----------------
 * A row's pid says which process holds it. A row carrying OUR pid may still
 * be left over from an earlier process that had the same pid (a container
 * restarted with /dev/shm kept: pid 1 again), or from this process before an
 * exec. The registry tells: a row of our pid that none of our handles holds
 * is dead. Keys name a row the same way in every mapping of the segment: the
 * file's identity plus the row's offset. */
static struct {
    uint32_t n, cap;
    bool lost;            /* a key could not be stored: own rows count as alive */
    uint64_t *keys;
} reg;
static pthread_mutex_t reg_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t reg_atfork_once = PTHREAD_ONCE_INIT;

/* fork() copies reg_mutex as it is: the mutex is held across fork() and both
 * sides release their copy, so a child never starts with it taken by a
 * thread it does not have (nor with the keys half-reallocated). */
static void reg_atfork_lock(void) { pthread_mutex_lock(&reg_mutex); }
static void reg_atfork_unlock(void) { pthread_mutex_unlock(&reg_mutex); }
static void reg_register_atfork(void)
{
    pthread_atfork(reg_atfork_lock, reg_atfork_unlock, reg_atfork_unlock);
}

static void reg_lock(void)
{
    /* Registered before the mutex is first taken, so no fork copies it locked. */
    pthread_once(&reg_atfork_once, reg_register_atfork);
    pthread_mutex_lock(&reg_mutex);
}

static void reg_unlock(void) { pthread_mutex_unlock(&reg_mutex); }

static bool reg_find(uint64_t key, uint32_t *at)
{
    for (uint32_t i = 0; i < reg.n; i++)
        if (reg.keys[i] == key) {
            *at = i;
            return true;
        }
    return false;
}

static void reg_insert_locked(uint64_t key)
{
    if (reg.n == reg.cap) {
        uint32_t cap = reg.cap ? 2 * reg.cap : 16;
        uint64_t *k = realloc(reg.keys, cap * sizeof(*k));
        if (k) {
            reg.keys = k;
            reg.cap = cap;
        }
    }
    if (reg.n < reg.cap)
        reg.keys[reg.n++] = key;
    else
        reg.lost = true; /* out of memory: from now on, cannot tell */
}

static uint64_t row_key(const zipc__owners *o, const zipc_owner_row_shm *r);

static void reg_add(uint64_t key)
{
    if (!key)
        return;
    reg_lock();
    reg_insert_locked(key);
    reg_unlock();
}

/* Take row R, whose pid reads OURS (this process's pid), if no handle of
 * ours holds it: check and CAS (OURS -> TO) under the registry lock, so no
 * other thread of ours can take the row between the two (a CAS from our pid
 * cannot tell: taking the row for a handle leaves the value unchanged). Our
 * threads register a row before they write our pid into it and unregister
 * it only after our pid has left it, so a row not registered here that
 * still carries our pid is stale for as long as we hold the lock. KEEP:
 * register it for the caller (a handle's row, a role pin). */
static bool take_own_stale(const zipc__owners *o, zipc_owner_row_shm *r, uint32_t ours,
                           uint32_t to, bool keep)
{
    uint32_t at;
    if (o->key0 == 0)
        return false; /* no identity: cannot tell, so alive */
    uint64_t key = row_key(o, r);
    reg_lock();
    /* O3/O4 (acq_rel): as the CASes this replaces. */
    bool ok = !reg.lost && !reg_find(key, &at) && zipc__cas_acq_rel_u32(&r->pid, &ours, to);
    if (ok && keep)
        reg_insert_locked(key);
    reg_unlock();
    return ok;
}

static void reg_del(uint64_t key)
{
    uint32_t at;
    if (!key)
        return;
    reg_lock();
    if (reg_find(key, &at))
        reg.keys[at] = reg.keys[--reg.n];
    reg_unlock();
}

static bool reg_has(uint64_t key)
{
    uint32_t at;
    reg_lock();
    bool has = reg.lost || reg_find(key, &at);
    reg_unlock();
    return has;
}

/* 0: the table has no identity (fstat failed); such rows are not registered. */
static uint64_t row_key(const zipc__owners *o, const zipc_owner_row_shm *r)
{
    return o->key0 ? o->key0 + (uint64_t)(r - o->rows) * sizeof(*r) : 0;
}

/* Is the process that row R's pid P names alive: its holder, or the
 * recoverer whose mark it carries? A row of our own pid only if one of our
 * handles (or recoverers) holds it. */
static bool row_alive(const zipc__owners *o, const zipc_owner_row_shm *r, uint32_t p)
{
    p &= ~ZIPC_OWNER_RECOVERING;
    if (p == 0)
        return false;
    if (p == (uint32_t)getpid())
        return o->key0 == 0 || reg_has(row_key(o, r)); /* no identity: cannot tell */
    return !zipc__pid_dead(p);
}

static zipc__owners owners_in(zipc_segment *seg, uint64_t off, uint64_t size)
{
    zipc__owners o = {0};
    if (size < ZIPC_OWNERS_HEADER)
        return o;
    const zipc_owners_shm *h = zipc__seg_ptr(seg, off);
    uint32_t n = h->nrows; /* read once, then checked against the entry size */
    if (n == 0 || (uint64_t)ZIPC_OWNERS_HEADER + (uint64_t)n * sizeof(zipc_owner_row_shm) != size)
        return o;
    o.hdr = zipc__seg_ptr(seg, off);
    o.rows = (zipc_owner_row_shm *)((uint8_t *)o.hdr + ZIPC_OWNERS_HEADER);
    struct stat st;
    if (fstat(seg->fd, &st) == 0) {
        /* A 64-bit mix of the file's identity, plus the rows' offset. */
        uint64_t x = (uint64_t)st.st_dev * 0x9E3779B97F4A7C15ull ^ (uint64_t)st.st_ino;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 29;
        o.key0 = (x | 1) + off + ZIPC_OWNERS_HEADER;
    }
    o.nrows = n;
    return o;
}

zipc__owners zipc__owners_at(zipc_segment *seg, const zipc__new_entry *e)
{
    return owners_in(seg, e->offset, e->size);
}

zipc__owners zipc__owners_open(zipc_segment *seg, const char *name, bool add)
{
    char aux[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t off, size;
    zipc__owners none = {0};
    if (zipc__aux_name(name, ZIPC_OWNERS_SUFFIX, aux) != 0)
        return none;
    int r = zipc__seg_lookup(seg, aux, &off, &size);
    if (r == -ENOENT && add && !seg->readonly) {
        /* Made by another implementation: add the table now. A racing opener
         * may add it first (-EEXIST): then use theirs. */
        zipc__new_entry e;
        char buf[ZIPC_ENTRY_NAME_MAX + 1];
        zipc__owners_prepare(&e, buf, name, NULL);
        r = zipc__seg_add_many(seg, &e, 1);
        if (r == 0)
            return zipc__owners_at(seg, &e);
        if (r == -EEXIST)
            r = zipc__seg_lookup(seg, aux, &off, &size);
    }
    return r == 0 ? owners_in(seg, off, size) : none;
}

int zipc__tracked_add(zipc_segment *seg, zipc__new_entry *main, uint32_t nsets, bool aux,
                      uint32_t mode, zipc_waitset_shm **ws, zipc__owners *owners)
{
    zipc__new_entry es[3];
    char wname[ZIPC_ENTRY_NAME_MAX + 1], oname[ZIPC_ENTRY_NAME_MAX + 1];
    aux = aux && zipc__waitset_prepare(&es[0], wname, main->name, nsets) &&
          zipc__owners_prepare(&es[1], oname, main->name, &mode);
    uint32_t n = aux ? 2 : 0;
    es[n] = *main;
    int r = zipc__seg_add_many(seg, es, n + 1);
    if (r)
        return r;
    main->offset = es[n].offset;
    *ws = aux ? zipc__waitset_at(seg, &es[0]) : NULL;
    *owners = aux ? zipc__owners_at(seg, &es[1]) : (zipc__owners){0};
    return 0;
}

void zipc__tracked_open(zipc_segment *seg, const char *name, uint32_t nsets, bool add,
                        zipc_waitset_shm **ws, zipc__owners *owners)
{
    *ws = zipc__waitset_open(seg, name, nsets, add);
    *owners = zipc__owners_open(seg, name, add);
}

/* /proc/PID/FILE into BUF (NUL-terminated); false if it cannot be read. */
static bool read_proc(uint32_t pid, const char *file, char *buf, size_t size)
{
    char path[48];
    snprintf(path, sizeof(path), "/proc/%u/%s", pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    return true;
}

/* A zombie (killed, not yet reaped by its parent) never runs again: it counts
 * as dead. Its state is the field after the last ')' of /proc/PID/stat. */
static bool is_zombie(uint32_t pid)
{
    char buf[4096]; /* /proc/PID/status of a zombie: well under 4 KiB */
    if (!read_proc(pid, "stat", buf, sizeof(buf)))
        return false;
    const char *rp = strrchr(buf, ')');
    if (!rp || rp[1] != ' ' || rp[2] != 'Z')
        return false;
    /* A leader that left with pthread_exit() is a zombie too while its other
     * threads run: the process is dead only when no thread is left but it. */
    if (!read_proc(pid, "status", buf, sizeof(buf)))
        return true; /* reaped meanwhile */
    const char *th = strstr(buf, "\nThreads:");
    return !th || strtoul(th + 9, NULL, 10) <= 1;
}

bool zipc__pid_dead(uint32_t pid)
{
    if (pid == 0 || pid > INT32_MAX)
        return false;
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    return is_zombie(pid);
}

/* The I-th row to try when attaching. Every operation writes its row, so two
 * busy handles whose rows shared a cache line would bounce it between their
 * CPUs on every push and pop (rows are 16 bytes, four to a line). Rows are
 * therefore handed out 8 apart (128 bytes: never in one line) before any
 * two close ones are, and the first group of 8 last: row 0 sits next to
 * the "_wait" entry that every waker reads. A permutation of
 * [0, 8 * ceil(nrows / 8)); callers skip indices >= nrows. */
#define OWN_SPREAD 8u
static uint32_t spread_row(uint32_t i, uint32_t nrows)
{
    static const uint8_t phase[OWN_SPREAD] = {0, 4, 2, 6, 1, 5, 3, 7};
    uint32_t groups = (nrows + OWN_SPREAD - 1) / OWN_SPREAD;
    uint32_t g = (i % groups + 1) % groups;
    return g * OWN_SPREAD + phase[(i / groups) % OWN_SPREAD];
}

/* Is row I named as the holder of a role? Such a row is not handed out: its
 * dead pid is what tells the next role taker that the holder is gone. (A
 * role taken right after this check names a row its taker already owns.) */
static bool holds_role(const zipc__owners *o, uint32_t i)
{
    if (!o->hdr)
        return false;
    uint32_t roles = zipc__load_relaxed_u32(&o->hdr->roles);
    for (uint32_t role = ZIPC_OWN_ROLE_PRODUCER; role <= ZIPC_OWN_ROLE_CONSUMER; role++)
        if (((roles >> ZIPC_OWN_ROLE_SHIFT(role)) & ZIPC_OWN_ROLE_MAX_ROWS) == i + 1)
            return true;
    return false;
}

zipc_owner_row_shm *zipc__own_attach(const zipc__owners *o, uint32_t pid)
{
    uint32_t groups = o->rows ? (o->nrows + OWN_SPREAD - 1) / OWN_SPREAD : 0;
    for (uint32_t k = 0; k < groups * OWN_SPREAD; k++) {
        uint32_t i = spread_row(k, o->nrows), expect = 0;
        if (i >= o->nrows || holds_role(o, i))
            continue;
        /* O3 (acquire): pairs with the release in zipc__own_detach/_put: the
         * row's previous user is done with it. */
        /* Registered before it is ours, so no other thread of this process
         * ever sees it carrying our pid unregistered (and takes it for a
         * stale row). Only rows that look free: registering a stale row of
         * ours here would make it look alive for a moment. */
        if (zipc__load_relaxed_u32(&o->rows[i].pid) != 0)
            continue;
        reg_add(row_key(o, &o->rows[i]));
        if (zipc__cas_acquire_u32(&o->rows[i].pid, &expect, pid))
            return &o->rows[i];
        reg_del(row_key(o, &o->rows[i]));
    }
    /* No free row: reuse one whose process died with nothing in flight. */
    for (uint32_t i = 0; o->rows && i < o->nrows; i++) {
        zipc_owner_row_shm *r = &o->rows[i];
        uint32_t p = zipc__load_acquire_u32(&r->pid); /* O4 */
        if (p == 0 || holds_role(o, i))
            continue;
        if (zipc__load_acquire_u32(&r->state) != ZIPC_OWN_IDLE)
            continue;
        /* (An idle row a recoverer died on is reused like a dead owner's.) */
        if ((p & ~ZIPC_OWNER_RECOVERING) == pid) {
            if (take_own_stale(o, r, p, pid, true))
                return r;
            continue;
        }
        if (row_alive(o, r, p)) /* O4 */
            continue;
        reg_add(row_key(o, r)); /* as above */
        if (zipc__cas_acquire_u32(&r->pid, &p, pid)) /* O3 */
            return r;
        reg_del(row_key(o, r));
    }
    return NULL;
}

static void free_row(zipc_owner_row_shm *r)
{
    zipc__store_relaxed_u32(&r->state, ZIPC_OWN_IDLE);
    /* O3 (release): pairs with the acquire CAS in zipc__own_attach. */
    zipc__store_release_u32(&r->pid, 0);
}

void zipc__own_detach(const zipc__owners *o, zipc_owner_row_shm *r)
{
    if (!r)
        return;
    free_row(r);
    /* Unregistered only once it no longer carries our pid (see attach). A
     * thread of ours that attached it meanwhile registered it again. */
    if (o->key0)
        reg_del(row_key(o, r));
}

zipc_owner_row_shm *zipc__own_abandon(const zipc__owners *o, zipc_owner_row_shm *r, uint32_t pid)
{
    if (!r)
        return NULL;
    uint32_t st = zipc__load_relaxed_u32(&r->state);
    zipc__own_phase(r, st >> 8, ZIPC_OWN_ABANDONED);
    if (o->key0)
        reg_del(row_key(o, r)); /* nobody's current row now */
    return zipc__own_attach(o, pid);
}

bool zipc__own_take_dead(const zipc__owners *o, zipc_owner_row_shm *r, zipc__own_claim *c)
{
    /* O4 (acquire): pairs with O3 and with the owner's phase releases: a dead
     * row's fields are final once its pid is read. */
    uint32_t p = zipc__load_acquire_u32(&r->pid);
    if (p == 0)
        return false;
    uint32_t st = zipc__load_acquire_u32(&r->state); /* O4 */
    uint32_t me = (uint32_t)getpid(), mark = ZIPC_OWNER_RECOVERING | me;
    /* A row marked by a recoverer is taken over only once that recoverer is
     * dead; every repair is a CAS from the state the dead claim left, so
     * repeating what it did is harmless. An ABANDONED row is nobody's
     * current row, so even the process that abandoned it may repair it. A
     * row that carries our own pid (or mark) is checked against the
     * registry under its lock (take_own_stale). */
    if ((p & ~ZIPC_OWNER_RECOVERING) == me) {
        if (!take_own_stale(o, r, p, mark, true))
            return false;
    } else {
        bool abandoned = !(p & ZIPC_OWNER_RECOVERING) && (st & 0xffu) == ZIPC_OWN_ABANDONED;
        if (!abandoned && row_alive(o, r, p))
            return false;
        /* Registered before it carries our mark, as in attach. */
        reg_add(row_key(o, r));
        if (!zipc__cas_acquire_u32(&r->pid, &p, mark)) { /* O4 */
            reg_del(row_key(o, r));
            return false;
        }
    }
    st = zipc__load_acquire_u32(&r->state); /* O4 */
    *c = (zipc__own_claim){.pid = p, .op = st >> 8, .phase = st & 0xffu,
                           .counter = zipc__load_relaxed_u32(&r->counter),
                           .count = zipc__load_relaxed_u32(&r->count)};
    return true;
}

void zipc__own_put(const zipc__owners *o, zipc_owner_row_shm *r, const zipc__own_claim *c,
                   bool done)
{
    if (done)
        free_row(r);
    else
        /* O3 (release): the row goes back to its dead owner (or dead
         * recoverer's mark) for a later retry. */
        zipc__store_release_u32(&r->pid, c->pid);
    /* Unregistered once our mark has left it (see attach). */
    reg_del(row_key(o, r));
}

/* Does row R's claim [counter, counter + count) cover COUNTER (wrapping)? */
static bool row_covers(const zipc_owner_row_shm *r, uint32_t counter)
{
    uint32_t first = zipc__load_relaxed_u32(&r->counter);
    return (uint32_t)(counter - first) < zipc__load_relaxed_u32(&r->count);
}

bool zipc__own_live_claim(const zipc__owners *o, const zipc_owner_row_shm *skip, uint32_t op,
                          uint32_t counter)
{
    for (uint32_t i = 0; o->rows && i < o->nrows; i++) {
        zipc_owner_row_shm *r = &o->rows[i];
        if (r == skip)
            continue;
        uint32_t p = zipc__load_acquire_u32(&r->pid); /* O4 */
        if (p == 0 || (p & ZIPC_OWNER_RECOVERING))
            continue;
        /* O5: pairs with the owner's intent, phase and idle releases: once a
         * claim is seen ended here, its slot stores are visible. */
        uint32_t st = zipc__load_acquire_u32(&r->state);
        uint32_t phase = st & 0xffu;
        if (phase == ZIPC_OWN_IDLE || phase == ZIPC_OWN_ABANDONED || (st >> 8) != op)
            continue;
        if (row_covers(r, counter) && row_alive(o, r, p))
            return true;
    }
    return false;
}

bool zipc__own_any_claim(const zipc__owners *o, const zipc_owner_row_shm *skip, uint32_t counter)
{
    for (uint32_t i = 0; o->rows && i < o->nrows; i++) {
        zipc_owner_row_shm *r = &o->rows[i];
        /* O4: pairs with O3 and the owners' intent releases. */
        if (r == skip || zipc__load_acquire_u32(&r->pid) == 0)
            continue;
        uint32_t st = zipc__load_acquire_u32(&r->state); /* O5 */
        if (st == ZIPC_OWN_IDLE)
            continue;
        if (row_covers(r, counter))
            return true;
    }
    return false;
}

uint32_t zipc__own_count_dead(const zipc__owners *o)
{
    uint32_t n = 0;
    for (uint32_t i = 0; o->rows && i < o->nrows; i++) {
        zipc_owner_row_shm *r = &o->rows[i];
        uint32_t p = zipc__load_acquire_u32(&r->pid); /* O4 */
        if (p == 0)
            continue;
        uint32_t st = zipc__load_acquire_u32(&r->state); /* O4 */
        if (st == ZIPC_OWN_IDLE)
            continue;
        /* As zipc__own_take_dead decides (our rows: the registry). */
        if ((st & 0xffu) == ZIPC_OWN_ABANDONED || (p & ZIPC_OWNER_RECOVERING) ||
            !row_alive(o, r, p))
            n++;
    }
    return n;
}

/* ---- roles of single-producer / single-consumer structures --------------- */

bool zipc__own_role_named(const zipc__owners *o, const zipc_owner_row_shm *r)
{
    return o->rows && r >= o->rows && r < o->rows + o->nrows &&
           holds_role(o, (uint32_t)(r - o->rows));
}

uint32_t zipc__own_mode(const zipc__owners *o)
{
    return o->hdr ? zipc__load_relaxed_u32(&o->hdr->roles) & ZIPC_OWN_MODE_MASK : 0;
}

int zipc__own_role_take(const zipc__owners *o, zipc_owner_row_shm *row, uint32_t role)
{
    if (!o->hdr || !row)
        return -EPERM;
    uint32_t me = (uint32_t)(row - o->rows) + 1, shift = ZIPC_OWN_ROLE_SHIFT(role);
    if (me > ZIPC_OWN_ROLE_MAX_ROWS)
        return -EPERM;
    uint32_t self = zipc__load_relaxed_u32(&row->pid); /* our row: our pid */
    /* O6 (acquire): pairs with the release CAS of the previous holder's drop
     * or of our own take: we see everything it published before giving up
     * the role (its last slot stores are also ordered by the seq words). */
    uint32_t roles = zipc__load_acquire_u32(&o->hdr->roles);
    for (;;) {
        uint32_t holder = (roles >> shift) & ZIPC_OWN_ROLE_MAX_ROWS;
        if (holder == me)
            return 1;
        zipc_owner_row_shm *old = holder != 0 && holder <= o->nrows ? &o->rows[holder - 1] : NULL;
        uint32_t p = 0;
        if (old) {
            /* O4: pairs with O3: a free row (0) was given back by its holder's
             * detach, which drops its roles first. */
            p = zipc__load_acquire_u32(&old->pid);
            if ((p & ZIPC_OWNER_RECOVERING) && row_alive(o, old, p))
                return -EAGAIN; /* a live recoverer is repairing it */
            if ((p & ~ZIPC_OWNER_RECOVERING) == self) {
                if (!take_own_stale(o, old, p, self, true)) {
                    if (row_alive(o, old, p))
                        return (p & ZIPC_OWNER_RECOVERING) ? -EAGAIN : -EPERM;
                    roles = zipc__load_acquire_u32(&o->hdr->roles);
                    continue;
                }
                goto pinned;
            }
            if (row_alive(o, old, p))
                return -EPERM;
            /* Pin the row with our (live) pid until our CAS is decided: nobody
             * attaches it meanwhile, so the roles word cannot come to name it
             * again through a new live holder while we hold an old value of
             * it (ABA), and no other taker or recoverer touches it. While it
             * carries our pid it is in our registry (or another thread of
             * ours would take it for a stale row of ours). */
            reg_add(row_key(o, old));
            if (!zipc__cas_acq_rel_u32(&old->pid, &p, self)) {
                reg_del(row_key(o, old));
                roles = zipc__load_acquire_u32(&o->hdr->roles);
                continue;
            }
        }
    pinned:;
        uint32_t next = (roles & ~(ZIPC_OWN_ROLE_MAX_ROWS << shift)) | (me << shift);
        /* O6 (acq_rel): release: pairs with the acquire of a later taker. */
        bool won = zipc__cas_acq_rel_u32(&o->hdr->roles, &roles, next);
        if (old) {
            /* Unpin. A dead holder's row with nothing in flight goes back to
             * the pool once no role of ours names it; otherwise it keeps what
             * it had (a dead pid keeps its claim for recover). */
            uint32_t back = p;
            if (won && p != 0 && zipc__load_relaxed_u32(&old->state) == ZIPC_OWN_IDLE)
                back = 0;
            zipc__store_release_u32(&old->pid, back); /* O3: pairs with attach */
            reg_del(row_key(o, old));
        }
        if (won)
            return 0;
    }
}

void zipc__own_role_drop(const zipc__owners *o, zipc_owner_row_shm *row, uint32_t role)
{
    if (!o->hdr || !row)
        return;
    uint32_t me = (uint32_t)(row - o->rows) + 1, shift = ZIPC_OWN_ROLE_SHIFT(role);
    uint32_t roles = zipc__load_relaxed_u32(&o->hdr->roles);
    while (((roles >> shift) & ZIPC_OWN_ROLE_MAX_ROWS) == me) {
        /* O6 (release): pairs with the acquire in a later zipc__own_role_take:
         * our last counter store and slot stores are seen by the next holder. */
        if (zipc__cas_release_u32(&o->hdr->roles, &roles, roles & ~(ZIPC_OWN_ROLE_MAX_ROWS << shift)))
            return;
    }
}
