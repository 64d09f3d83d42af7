/* Stress payload shared by the queue and stack tests: who sent it, its
 * number in that sender's sequence, and a checksum over both, so loss,
 * duplication, tearing and per-producer reordering are all visible. */
#ifndef ZT_PAYLOAD_H
#define ZT_PAYLOAD_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "harness.h"

typedef struct zt_payload {
    uint32_t producer;
    uint32_t pad;
    uint64_t seq;
    uint64_t sum;
} zt_payload;

static inline zt_payload zt_payload_make(uint32_t producer, uint64_t seq)
{
    zt_payload p = {.producer = producer, .seq = seq};
    p.sum = zt_checksum(&p, offsetof(zt_payload, sum));
    return p;
}

static inline int zt_payload_ok(const zt_payload *p)
{
    return p->sum == zt_checksum(p, offsetof(zt_payload, sum));
}

static inline int64_t zt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t zt_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Run FN(ARGS[i]) in N threads and join them. */
static inline void zt_run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t th[64];
    ZT_ASSERT(n <= 64);
    for (int i = 0; i < n; i++)
        ZT_ASSERT(pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * arg_size) == 0);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

#endif /* ZT_PAYLOAD_H */
