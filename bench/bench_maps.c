/* Single-thread cost of Map, Pool and Ring operations (ns per operation).
 * Usage: bench_maps [iterations]. Prints one line per operation. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "zeroipc/zeroipc.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define CHECK(x)                                                                               \
    do {                                                                                       \
        int r_ = (x);                                                                          \
        if (r_) {                                                                              \
            fprintf(stderr, "%s: %s\n", #x, zipc_strerror(r_));                                \
            return 1;                                                                          \
        }                                                                                      \
    } while (0)

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    char name[64];
    snprintf(name, sizeof(name), "/bench_maps_%d", (int)getpid());
    zipc_segment *seg;
    zipc_map *m;
    zipc_pool *p;
    zipc_ring *r;
    CHECK(zipc_segment_create(name, 64 << 20, 0, &seg));
    zipc_segment_unlink(name);
    enum { KEYS = 4096 };
    CHECK(zipc_map_create(seg, "m", 8, 8, KEYS * 2, NULL, &m));
    CHECK(zipc_pool_create(seg, "p", 64, 8, 1024, &p));
    CHECK(zipc_ring_create(seg, "r", 8, 4096, &r));

    double t = now_ns();
    for (long i = 0; i < n; i++) {
        int64_t k = i % KEYS, v = i;
        CHECK(zipc_map_insert(m, &k, &v, NULL));
    }
    printf("map insert/update (8->8, half full): %.1f ns\n", (now_ns() - t) / n);
    t = now_ns();
    for (long i = 0; i < n; i++) {
        int64_t k = i % KEYS, v;
        CHECK(zipc_map_get(m, &k, &v));
    }
    printf("map get (hit): %.1f ns\n", (now_ns() - t) / n);
    t = now_ns();
    for (long i = 0; i < n; i++) {
        uint32_t idx;
        CHECK(zipc_pool_alloc(p, &idx, NULL));
        CHECK(zipc_pool_free(p, idx));
    }
    printf("pool alloc+free: %.1f ns\n", (now_ns() - t) / n);
    t = now_ns();
    for (long i = 0; i < n; i++) {
        uint64_t v = (uint64_t)i;
        CHECK(zipc_ring_write(r, &v));
        CHECK(zipc_ring_read(r, &v));
    }
    printf("ring write+read (8 bytes): %.1f ns\n", (now_ns() - t) / n);
    zipc_map_close(m);
    zipc_pool_close(p);
    zipc_ring_close(r);
    zipc_segment_close(seg);
    return 0;
}
