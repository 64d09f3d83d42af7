/* Mutex layout (docs/format.md section 2, "Mutex"): a Semaphore
 * (semaphore_shm.h) with count 1 (free) / 0 (held) and max_count 1, stored
 * under the mutex's own name. This implementation uses the padding word @12:
 *
 * | off | size | field   | written by | read by | order |
 * |-----|------|---------|------------|---------|-------|
 * | 12  | 4    | owner   | the locker right after its count CAS (tid); the unlocker before its count release (0, keeping INCONSISTENT); a recoverer by CAS dead-tid -> own tid | waiters (liveness of the holder), unlock (-EPERM check) | relaxed: ordered by the count word's A1/R1 for holders; recoverers use CAS |
 *
 * owner = tid | flags, tid in bits 0..29 (0: nobody recorded, e.g. a peer of
 * another implementation holds the lock, or the holder is between its count
 * CAS and the owner store), flag INCONSISTENT bit 31: the protected state may
 * be half-updated because a holder died; every locker gets -EOWNERDEAD until
 * one calls zipc_mutex_consistent(). Peers that ignore the word still work. */
#ifndef ZIPC_MUTEX_SHM_H
#define ZIPC_MUTEX_SHM_H

#include <assert.h>
#include <stddef.h>

#include "semaphore_shm.h"

#define ZIPC_MUTEX_INCONSISTENT 0x80000000u
#define ZIPC_MUTEX_FREE 1
#define ZIPC_MUTEX_HELD 0

/* The layout this header relies on (asserted in full in semaphore_shm.h). */
static_assert(offsetof(zipc_semaphore_shm, owner) == 12, "owner @12");
static_assert(sizeof(zipc_semaphore_shm) == 16, "a mutex is 16 bytes");

#endif /* ZIPC_MUTEX_SHM_H */
