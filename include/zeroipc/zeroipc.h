/* libzeroipc: zero-copy IPC through POSIX shared memory. The umbrella header. */
#ifndef ZEROIPC_ZEROIPC_H
#define ZEROIPC_ZEROIPC_H

#include "common.h"
#include "segment.h"
#include "array.h"
#include "queue.h"
#include "stack.h"
#include "map.h"
#include "set.h"
#include "pool.h"
#include "ring.h"
#include "semaphore.h"
#include "mutex.h"
#include "rwlock.h"
#include "barrier.h"
#include "latch.h"
#include "once.h"
#include "event.h"
#include "monitor.h"
#include "versioned_signal.h"

#endif /* ZEROIPC_ZEROIPC_H */
