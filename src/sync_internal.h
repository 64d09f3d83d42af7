/* What the synchronisation primitives share (semaphore.c, mutex.c, owner.c
 * and the composites built on them): the calling thread's id, the liveness
 * test behind crash recovery, and the semaphore / mutex cores that work on a
 * zipc_semaphore_shm wherever it lives (a stand-alone Semaphore or Mutex, or
 * the mutex inside an RWLock, Monitor or Signal). Internal: prefix zipc__. */
#ifndef ZIPC_SYNC_INTERNAL_H
#define ZIPC_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "semaphore_shm.h"
#include "wait.h"

struct zipc_segment;

/* Size of the 1-byte marker entry that names a composite (RWLock, Monitor,
 * Signal): its presence says the structure exists; its byte is 0. */
#define ZIPC_MARKER_SIZE 1u

/* ---- owner ids (owner.c) --------------------------------------------------
 * An owner is a kernel thread id (gettid), so a thread that exits holding a
 * lock is detected like a process that dies. Ids are positive and below
 * 2^22 (the kernel's PID_MAX_LIMIT), which leaves the top bits of an owner
 * word free for flags. */
#define ZIPC_TID_MASK 0x3FFFFFFFu

extern __thread int32_t zipc__tls_tid __attribute__((tls_model("initial-exec")));
int32_t zipc__self_tid_slow(void);
/* This thread's id, cached per thread (reset in a forked child). */
static inline int32_t zipc__self_tid(void)
{
    int32_t t = zipc__tls_tid;
    return t ? t : zipc__self_tid_slow();
}
/* True only when TID certainly no longer runs: kill(tid, 0) says ESRCH, or
 * the task is a zombie (dead, not yet reaped by its parent). False for 0. */
bool zipc__tid_dead(uint32_t tid);

/* Rate limit for liveness checks inside wait loops: false on the first call
 * (checking costs system calls and the holder is nearly always alive; a
 * contended hand-off must not pay them), then true at most once per wait
 * slice. *NEXT_NS starts at 0. */
bool zipc__liveness_due(int64_t *next_ns);

/* ---- semaphore core (semaphore.c) ---------------------------------------- */

/* Polls of a semaphore or mutex count before sleeping: none, unlike the
 * wait layer's ZIPC_SPIN_LIMIT. Measured with bench/bench_sync on a loaded
 * 2-vCPU VM (docs/sync.md): 64 polls (~1.7 us of PAUSE) made the
 * two-process hand-off about twice as slow as sem_t's, 8 polls still cost
 * ~150 ns per hand-off, because the spinner delays its own sleep while the
 * peer it waits for needs the CPU. glibc's mutex and sem_t do not spin
 * either. The uncontended path never reaches this. */
#define ZIPC_LOCK_SPIN_LIMIT 0

typedef struct zipc__sem_init {
    int32_t count;
    int32_t max_count;
} zipc__sem_init;
/* zipc__init_fn for a semaphore entry; CTX is a zipc__sem_init. */
void zipc__semaphore_init(void *mem, uint64_t size, void *ctx);
/* Validate an existing entry: size 16 and a sane max_count. 0 or -EBADMSG. */
int zipc__semaphore_check(const void *mem, uint64_t size, int32_t *max_count);

int zipc__sem_try_acquire(zipc_semaphore_shm *s);
/* Called between sleeps (once per slice at most, see zipc__liveness_due):
 * returns 0 to keep waiting, anything else ends the wait with that value. */
typedef int (*zipc__sem_hook)(zipc_semaphore_shm *s, void *ctx);
int zipc__sem_acquire_slow(zipc_semaphore_shm *s, const zipc__deadline *d, zipc__sem_hook hook,
                           void *ctx);
int zipc__sem_release(zipc_semaphore_shm *s, int32_t max_count, int32_t n);

/* ---- mutex core (mutex.c) -----------------------------------------------
 * On a zipc_semaphore_shm with max_count 1. Return 0, -EOWNERDEAD (the
 * caller holds the lock; the previous owner died or left it inconsistent),
 * -EAGAIN (try) or -ETIMEDOUT. */
int zipc__mutex_lock(zipc_semaphore_shm *m, int64_t timeout_ns);
int zipc__mutex_try_lock(zipc_semaphore_shm *m);
/* 0 or -EPERM (the calling thread is not the owner). */
int zipc__mutex_unlock(zipc_semaphore_shm *m);
int zipc__mutex_consistent(zipc_semaphore_shm *m);
bool zipc__mutex_held_by_self(const zipc_semaphore_shm *m);
/* The zipc__new_entry init context of a fresh mutex. */
extern const zipc__sem_init zipc__mutex_initial;

/* Look up NAME (a Semaphore/Mutex entry) and check it: 0, -ENOENT, -EBADMSG.
 * WANT_MAX >= 0: max_count must equal it (a Mutex: 1). */
int zipc__sem_lookup(struct zipc_segment *seg, const char *name, int32_t want_max,
                     zipc_semaphore_shm **out, int32_t *max_count);

/* ---- auxiliary entries of this library (owner.c) -------------------------
 * The entry NAME SUFFIX of SIZE bytes: found, or added now (initialised by
 * INIT, may be NULL) when a peer of another implementation created the
 * structure without it and the segment is writable. NULL when unusable (name
 * too long, read-only, no space, wrong size): callers then run without the
 * extension (no crash recovery, wakes always made, bounded-slice sleeps). */
typedef void (*zipc__aux_init_fn)(void *mem, uint64_t size, void *ctx);
void *zipc__aux_open(struct zipc_segment *seg, const char *name, const char *suffix,
                     uint64_t size, zipc__aux_init_fn init, void *ctx);

#endif /* ZIPC_SYNC_INTERNAL_H */
