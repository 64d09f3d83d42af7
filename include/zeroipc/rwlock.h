/* libzeroipc: RWLock, a readers-writer lock shared between processes.
 *
 * Layout (docs/format.md "RWLock"): NAME "_state" {readers, writer_active},
 * NAME "_rmtx" and NAME "_wmtx" (Mutexes), the 1-byte marker NAME, plus this
 * library's reader table NAME "_rtab" (docs/format.md "Extensions"), all
 * created in one step. Names are limited to 25 bytes.
 *
 * Contract: many readers or one writer. Writers are not starved: a writer
 * that holds _wmtx raises writer_active and new readers wait until it is
 * done; writers queue on _wmtx. (Readers can be delayed by a continuous
 * stream of writers.) A thread that holds a read lock and asks for another
 * while a writer waits deadlocks with that writer, as with most rwlocks.
 * At most ZIPC_RWLOCK_READERS_MAX read locks of this library are held at
 * once; more readers wait (try: -EAGAIN) until a slot frees.
 *
 * Crash recovery (docs/sync.md): a dead writer (its _wmtx owner is dead) is
 * detected by waiting readers and writers within about two wait slices; the lock is
 * taken over and the taker gets -EOWNERDEAD (holding the lock it asked for;
 * the protected data may be half-written). A dead reader is found in the
 * reader table by a waiting writer within two slices and its read lock dropped.
 * A reader killed inside the short _rmtx section is repaired by the next
 * reader entry (the count is rebuilt from the table). Limits: thread-id
 * reuse and pid namespaces as for Mutex; read locks taken by peers of other
 * implementations are not in the table, and mixing this library's lock
 * protocol with theirs on one lock is not supported (the bytes are shared,
 * the algorithms differ).
 */
#ifndef ZEROIPC_RWLOCK_H
#define ZEROIPC_RWLOCK_H

#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_rwlock zipc_rwlock;

#define ZIPC_RWLOCK_READERS_MAX 128

/* Create the RWLock NAME. Returns 0, -EINVAL, -ENAMETOOLONG (NAME longer than
 * 25 bytes), -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_rwlock_create(zipc_segment *seg, const char *name, zipc_rwlock **out);
/* Open the RWLock NAME (the reader table is added if a peer of another
 * implementation created the lock without it). Returns 0, -EINVAL,
 * -ENAMETOOLONG, -ENOENT, -EBADMSG, -EROFS, -ENOMEM. */
ZIPC_API int zipc_rwlock_open(zipc_segment *seg, const char *name, zipc_rwlock **out);
ZIPC_API void zipc_rwlock_close(zipc_rwlock *rw);

/* Read lock: 0, -EOWNERDEAD (read lock held; a writer had died holding the
 * lock and was cleared: the data may be half-written), -EINVAL. The _timeout
 * form (TIMEOUT_NS < 0: no limit) adds -ETIMEDOUT; try_ adds -EAGAIN (a
 * writer holds or waits, the table is full, or a reader was entering at
 * that instant). */
ZIPC_API int zipc_rwlock_read_lock(zipc_rwlock *rw);
ZIPC_API int zipc_rwlock_try_read_lock(zipc_rwlock *rw);
ZIPC_API int zipc_rwlock_read_lock_timeout(zipc_rwlock *rw, int64_t timeout_ns);
/* Drop one read lock of the calling thread. Returns 0, -EPERM (it holds
 * none), -EINVAL. */
ZIPC_API int zipc_rwlock_read_unlock(zipc_rwlock *rw);

/* Write lock: 0, -EOWNERDEAD (write lock held; the previous writer died
 * holding it), -EINVAL; _timeout adds -ETIMEDOUT, try_ adds -EAGAIN. */
ZIPC_API int zipc_rwlock_write_lock(zipc_rwlock *rw);
ZIPC_API int zipc_rwlock_try_write_lock(zipc_rwlock *rw);
ZIPC_API int zipc_rwlock_write_lock_timeout(zipc_rwlock *rw, int64_t timeout_ns);
/* Returns 0, -EPERM (the calling thread is not the writer), -EINVAL. */
ZIPC_API int zipc_rwlock_write_unlock(zipc_rwlock *rw);

/* Snapshot of the read locks held (the format's readers word). */
ZIPC_API int32_t zipc_rwlock_readers(const zipc_rwlock *rw);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_RWLOCK_H */
