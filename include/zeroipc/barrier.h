/* libzeroipc: Barrier, a reusable rendezvous of N participants across
 * processes.
 *
 * Layout (docs/format.md "Barrier"): 16 bytes {arrived, generation,
 * num_participants, padding}. The last of N arrivers resets arrived to 0 and
 * advances generation in one step; the others sleep (futex on generation,
 * slices of ZIPC_WAIT_SLICE_NS) until it moves. Reusable at once: a
 * participant may call wait again for the next generation as soon as its
 * previous wait returned.
 *
 * Crash outcomes: a participant that died before arriving makes the others
 * wait; with a timeout they get -ETIMEDOUT and their arrival is withdrawn
 * (the barrier stays usable for a new round of N). Without a timeout they
 * wait forever: a barrier cannot know who should come. A participant that
 * died after arriving still counts. A waiter killed while sleeping leaves its
 * arrival counted for that generation.
 */
#ifndef ZEROIPC_BARRIER_H
#define ZEROIPC_BARRIER_H

#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_barrier zipc_barrier;

/* Returned by the wait of the participant that completed a generation. */
#define ZIPC_BARRIER_LAST 1

/* Create the Barrier NAME for PARTICIPANTS (>= 1) processes or threads.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -EEXIST, -ENOSPC, -EROFS, -EBADMSG,
 * -ENOMEM. */
ZIPC_API int zipc_barrier_create(zipc_segment *seg, const char *name, int32_t participants,
                                 zipc_barrier **out);
/* Open the Barrier NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG
 * (size is not 16, or num_participants < 1), -EROFS, -ENOMEM. */
ZIPC_API int zipc_barrier_open(zipc_segment *seg, const char *name, zipc_barrier **out);
ZIPC_API void zipc_barrier_close(zipc_barrier *bar);

/* Arrive and wait for the others. Returns 0, ZIPC_BARRIER_LAST (this call
 * completed the generation), -EINVAL. */
ZIPC_API int zipc_barrier_wait(zipc_barrier *bar);
/* As zipc_barrier_wait, at most TIMEOUT_NS (< 0: no limit). On -ETIMEDOUT
 * this arrival has been withdrawn; a generation that completes while the
 * timeout is being handled still returns 0. */
ZIPC_API int zipc_barrier_wait_timeout(zipc_barrier *bar, int64_t timeout_ns);
ZIPC_API int32_t zipc_barrier_participants(const zipc_barrier *bar);
/* The current generation (completed rounds, modulo 2^32). */
ZIPC_API uint32_t zipc_barrier_generation(const zipc_barrier *bar);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_BARRIER_H */
