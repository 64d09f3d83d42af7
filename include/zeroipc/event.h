/* libzeroipc: Event, an auto-reset or manual-reset event across processes.
 *
 * Layout (docs/format.md "Event"): NAME {signaled, mode, waiting} (12 bytes)
 * and the Semaphore NAME "_sem" allocated right after it, both created in
 * one step. Names are limited to 27 bytes so the suffix fits.
 *
 * Semantics:
 *  - manual-reset: signal() sets the event; every wait returns at once
 *    until reset(). A waiter also returns 0 if any signal or pulse happened
 *    while it waited, even if the event was reset again before it ran.
 *  - auto-reset: signal() sets the event; exactly one wait consumes it
 *    (setting it back to unsignaled) and returns; with nobody waiting it
 *    stays set until somebody waits.
 *  - pulse(): releases waiters that are waiting now and leaves the event
 *    unsignaled: all of them (manual-reset) or one (auto-reset; none if
 *    nobody sleeps). Pulses are inherently racy: a waiter that has not
 *    started waiting yet (or is still in its brief spin) misses them. An
 *    auto-reset pulse adds a ticket only while there are fewer tickets than
 *    sleepers (one CAS, so concurrent pulses do not over-issue), but it
 *    counts sleepers and adds the ticket in two steps: a pulse racing with
 *    a sleeper that is timing out can leave a ticket that releases a later
 *    waiter early, as a crashed waiter can (below); reset() clears tickets.
 * Waiters spin briefly, then sleep on a futex (slices of ZIPC_WAIT_SLICE_NS,
 * so a signal by a peer of another implementation is seen within a slice);
 * signal and pulse make a system call only when somebody sleeps.
 *
 * Crash outcomes: every operation is a few single-word steps; a process
 * killed mid-operation leaves the event signaled or not, never blocked; a
 * waiter killed while sleeping leaves `waiting` one too high (costing wakers
 * a needless wake call) and an auto-reset pulse may then leave a ticket that
 * releases a later waiter early (reset() clears tickets).
 */
#ifndef ZEROIPC_EVENT_H
#define ZEROIPC_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_event zipc_event;

#define ZIPC_EVENT_AUTO_RESET 0u
#define ZIPC_EVENT_MANUAL_RESET 1u

/* Create the unsignaled Event NAME with MODE (ZIPC_EVENT_*_RESET).
 * Returns 0, -EINVAL (NULL, bad mode), -ENAMETOOLONG (NAME longer than 27
 * bytes), -EEXIST, -ENOSPC, -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_event_create(zipc_segment *seg, const char *name, uint32_t mode,
                               zipc_event **out);
/* Open the Event NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT (NAME or
 * its "_sem" is missing), -EBADMSG (wrong sizes or mode), -EROFS, -ENOMEM. */
ZIPC_API int zipc_event_open(zipc_segment *seg, const char *name, zipc_event **out);
ZIPC_API void zipc_event_close(zipc_event *ev);

/* Set the event and wake waiters (one for auto-reset). Returns 0, -EINVAL. */
ZIPC_API int zipc_event_signal(zipc_event *ev);
/* Clear the event (and any auto-reset pulse tickets). Returns 0, -EINVAL. */
ZIPC_API int zipc_event_reset(zipc_event *ev);
/* Release current waiters, leave the event unsignaled. Returns 0, -EINVAL. */
ZIPC_API int zipc_event_pulse(zipc_event *ev);
/* Wait until signaled (consuming it for auto-reset). Returns 0, -EINVAL. */
ZIPC_API int zipc_event_wait(zipc_event *ev);
/* Succeed only if signaled now. Returns 0, -EAGAIN, -EINVAL. */
ZIPC_API int zipc_event_try_wait(zipc_event *ev);
/* Wait at most TIMEOUT_NS (< 0: no limit). Returns 0, -ETIMEDOUT, -EINVAL. */
ZIPC_API int zipc_event_wait_timeout(zipc_event *ev, int64_t timeout_ns);
/* True while signaled (a snapshot). */
ZIPC_API bool zipc_event_is_signaled(const zipc_event *ev);
ZIPC_API uint32_t zipc_event_mode(const zipc_event *ev);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_EVENT_H */
