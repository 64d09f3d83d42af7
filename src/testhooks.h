/* Crash points for crash tests. In the test build (ZIPC_TEST_HOOKS) a test sets
 * zipc__crash_at to a point's id and the process kills itself with SIGKILL when
 * it reaches that point, between two atomic steps of an operation. In every
 * other build ZIPC_CRASH_POINT compiles to nothing. */
#ifndef ZIPC_TESTHOOKS_H
#define ZIPC_TESTHOOKS_H

#ifdef ZIPC_TEST_HOOKS
#include <signal.h>
#include <unistd.h>
extern int zipc__crash_at;
#define ZIPC_CRASH_POINT(id)                                                                   \
    do {                                                                                       \
        if (zipc__crash_at == (id))                                                            \
            kill(getpid(), SIGKILL);                                                           \
    } while (0)
#else
#define ZIPC_CRASH_POINT(id) ((void)0)
#endif

#endif /* ZIPC_TESTHOOKS_H */
