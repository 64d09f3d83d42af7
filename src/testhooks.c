/* Crash-point switch of the test build (see testhooks.h). */
#include "testhooks.h"

#ifdef ZIPC_TEST_HOOKS
int zipc__crash_at = -1;
#else
typedef int zipc__no_test_hooks; /* ISO C wants a non-empty translation unit */
#endif
