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

#endif /* ZEROIPC_ZEROIPC_H */
