/* RWLock layout (docs/format.md section 2, "RWLock"). Entries created in one
 * zipc__seg_add_many batch, in this order:
 *
 * | entry          | size | contents |
 * |----------------|------|----------|
 * | NAME "_rtab"   | 520  | this library's reader table (below; docs/format.md "Extensions") |
 * | NAME "_state"  | 8    | {atomic i32 readers @0, atomic i32 writer_active @4} |
 * | NAME "_rmtx"   | 16   | Mutex: serialises reader entry/exit and the reader table |
 * | NAME "_wmtx"   | 16   | Mutex: held by the writer for the whole write section |
 * | NAME           | 1    | marker byte 0 |
 *
 * NAME_state:
 * | off | size | field | written by | read by | order |
 * |-----|------|-------|------------|---------|-------|
 * | 0   | 4    | readers | readers under rmtx (+1 / -1), repair under rmtx | writers (futex word) | RW1: reader's seq_cst +1 then load of writer_active / writer's seq_cst store then load of readers |
 * | 4   | 4    | writer_active | the wmtx holder (1 / 0), a recoverer holding wmtx (0) | readers (futex word) | RW2 seq_cst |
 *
 * NAME_rtab:
 * | off | size | field | written by | read by | order |
 * |-----|------|-------|------------|---------|-------|
 * | 0   | 4    | read_waiters  | readers sleeping on writer_active (+1/-1) | write unlock: wake only if > 0 | S1/S2 seq_cst |
 * | 4   | 4    | write_waiters | writers sleeping on readers (+1/-1) | read unlock: wake only if > 0 | S1/S2 seq_cst |
 * | 8   | 4*128 | tid[128] | readers under rmtx: own tid on entry, 0 on exit; sweeps clear dead tids | sweeps, read unlock | relaxed, under rmtx |
 * Invariant under rmtx (this library's readers only): readers == number of
 * non-zero tid slots. */
#ifndef ZIPC_RWLOCK_SHM_H
#define ZIPC_RWLOCK_SHM_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

#define ZIPC_RWLOCK_READER_SLOTS 128u

typedef struct zipc_rwlock_state_shm {
    zipc_atomic_i32 readers;
    zipc_atomic_i32 writer_active;
} zipc_rwlock_state_shm;

typedef struct zipc_rwlock_rtab_shm {
    zipc_atomic_u32 read_waiters;
    zipc_atomic_u32 write_waiters;
    zipc_atomic_u32 tid[ZIPC_RWLOCK_READER_SLOTS];
} zipc_rwlock_rtab_shm;

#define ZIPC_RWLOCK_STATE_SIZE 8u
#define ZIPC_RWLOCK_RTAB_SIZE (8u + 4u * ZIPC_RWLOCK_READER_SLOTS)
#define ZIPC_RWLOCK_STATE_SUFFIX "_state"
#define ZIPC_RWLOCK_RMTX_SUFFIX "_rmtx"
#define ZIPC_RWLOCK_WMTX_SUFFIX "_wmtx"
#define ZIPC_RWLOCK_RTAB_SUFFIX "_rtab"

static_assert(offsetof(zipc_rwlock_state_shm, readers) == 0, "readers @0");
static_assert(offsetof(zipc_rwlock_state_shm, writer_active) == 4, "writer_active @4");
static_assert(sizeof(zipc_rwlock_state_shm) == ZIPC_RWLOCK_STATE_SIZE, "state is 8 bytes");
static_assert(offsetof(zipc_rwlock_rtab_shm, read_waiters) == 0, "read_waiters @0");
static_assert(offsetof(zipc_rwlock_rtab_shm, write_waiters) == 4, "write_waiters @4");
static_assert(offsetof(zipc_rwlock_rtab_shm, tid) == 8, "tid @8");
static_assert(sizeof(zipc_rwlock_rtab_shm) == ZIPC_RWLOCK_RTAB_SIZE, "rtab is 520 bytes");

#endif /* ZIPC_RWLOCK_SHM_H */
