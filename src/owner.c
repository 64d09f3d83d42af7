/* Owner ids and liveness for crash recovery of the synchronisation
 * primitives (see sync_internal.h and docs/sync.md "Crash recovery").
 *
 * Limits, documented in docs/sync.md: a thread id can be reused by the
 * kernel after its owner died, and then the owner looks alive until the new
 * task exits (recovery is delayed, never wrong in the unsafe direction as
 * long as every user shares one pid namespace). Processes in different pid
 * namespaces see different numbers: do not share a lock across them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "segment_internal.h"
#include "sync_internal.h"

__thread int32_t zipc__tls_tid __attribute__((tls_model("initial-exec")));

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* The forking thread's cached id is wrong in the child. */
static void forget_tid_in_child(void) { zipc__tls_tid = 0; }
static void register_atfork(void) { pthread_atfork(NULL, NULL, forget_tid_in_child); }

int32_t zipc__self_tid_slow(void)
{
    pthread_once(&atfork_once, register_atfork);
    zipc__tls_tid = (int32_t)syscall(SYS_gettid);
    return zipc__tls_tid;
}

/* A task that exited but was not reaped yet answers kill(0): ask /proc
 * whether it is a zombie ('Z') or dead ('X'). */
static bool is_zombie(uint32_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%u/stat", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false; /* gone since kill() (the next check says ESRCH), or no /proc */
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold ')' */
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

bool zipc__tid_dead(uint32_t tid)
{
    tid &= ZIPC_TID_MASK;
    if (tid == 0 || tid > (uint32_t)INT32_MAX)
        return false;
    if (kill((pid_t)tid, 0) != 0)
        return errno == ESRCH; /* EPERM: alive, another user's */
    return is_zombie(tid);
}

bool zipc__liveness_due(int64_t *next_ns)
{
    int64_t now = zipc__now_ns();
    if (*next_ns == 0) { /* first call of a wait: a holder is usually alive */
        *next_ns = now + ZIPC_WAIT_SLICE_NS;
        return false;
    }
    if (now < *next_ns)
        return false;
    *next_ns = now + ZIPC_WAIT_SLICE_NS;
    return true;
}

void *zipc__aux_open(zipc_segment *seg, const char *name, const char *suffix, uint64_t size,
                     zipc__aux_init_fn init, void *ctx)
{
    char aux[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t off, have;
    if (zipc__aux_name(name, suffix, aux) != 0)
        return NULL;
    int r = zipc__seg_lookup(seg, aux, &off, &have);
    if (r == -ENOENT && !seg->readonly) {
        /* A racing opener may add it first (-EEXIST): then use theirs. */
        r = zipc__seg_add(seg, aux, size, init, ctx, &off);
        if (r == 0)
            have = size;
        else if (r == -EEXIST)
            r = zipc__seg_lookup(seg, aux, &off, &have);
    }
    if (r != 0 || have != size)
        return NULL;
    return zipc__seg_ptr(seg, off);
}
