/* Test helpers for the owner rows ("<name>_own", src/owners.h) of Queue and
 * Stack: find them, forge a row, and get the pid of a process that is
 * certainly dead. */
#ifndef ZT_OWNER_ROWS_H
#define ZT_OWNER_ROWS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "harness.h"
#include "owners.h"

static inline zipc_owner_row_shm *raw_rows(zipc_segment *seg, const char *own_name)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, own_name, &info));
    return (zipc_owner_row_shm *)((uint8_t *)zipc_segment_base(seg) + info.offset +
                                  ZIPC_OWNERS_HEADER);
}

static inline void zt_exit_at_once(void *arg) { (void)arg; }

/* The pid of a process that has exited and been reaped. */
static inline uint32_t dead_pid(void)
{
    pid_t p = zt_fork(zt_exit_at_once, NULL);
    zt_wait_ok(p);
    return (uint32_t)p;
}

/* A row claiming one slot at COUNTER, published last (release). */
static inline void set_row(zipc_owner_row_shm *r, uint32_t pid, uint32_t op, uint32_t phase,
                           uint32_t counter)
{
    __atomic_store_n((uint32_t *)&r->counter, counter, __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)&r->count, 1u, __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)&r->state, ZIPC_OWN_STATE(op, phase), __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)&r->pid, pid, __ATOMIC_RELEASE);
}

/* The row a handle opened just now took: ours and not in BEFORE (which is
 * then brought up to date). */
static inline zipc_owner_row_shm *new_row(zipc_owner_row_shm *rows, bool before[ZIPC_OWNERS_ROWS])
{
    zipc_owner_row_shm *r = NULL;
    for (uint32_t i = 0; i < ZIPC_OWNERS_ROWS; i++) {
        uint32_t pid = __atomic_load_n((uint32_t *)&rows[i].pid, __ATOMIC_ACQUIRE);
        if (pid != 0 && !before[i] && pid == (uint32_t)getpid())
            r = &rows[i];
        before[i] = pid != 0;
    }
    ZT_ASSERT(r != NULL);
    return r;
}

#endif /* ZT_OWNER_ROWS_H */
