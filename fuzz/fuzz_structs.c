/* libFuzzer target: arbitrary bytes as a segment, every entry opened as every
 * structure type. Writes the input as the shared-memory object
 * /zipc-fuzzs-<pid>, opens it read-write and read-only, and opens each of the
 * first entries as an Array, Queue, Stack, Map, Set, Pool and Ring with a few
 * element / key / value sizes. Each structure that opens gets a few
 * operations (pop, get, contains, iteration, alloc/free, ring read/peek/
 * write, check and recovery). They must return codes: no crash, no hang, no
 * leak, nothing reported by ASan/UBSan.
 *
 * The Makefile builds the library into this target with a short
 * ZIPC_HTABLE_BUSY_NS: a hostile table shows busy claims everywhere, and each
 * is waited for only that long before -EAGAIN / -EOWNERDEAD.
 *
 *   make fuzz-smoke FUZZ_SECONDS=20     (corpus: fuzz/corpus/fuzz_structs/,
 *                                        made by fuzz/seedgen/make_struct_seeds.c) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zeroipc/zeroipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Entries looked at per input (opening may add auxiliary entries). */
#define MAX_ENTRIES 12
/* Iteration steps per table, elements per batch. */
#define MAX_STEPS 64
#define BUF 64

static char seg_name[64];
static volatile uint64_t sink;

static int write_segment(const uint8_t *data, size_t size)
{
    int fd = shm_open(seg_name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    return done == size ? 0 : -1;
}

static void use(int r) { sink += (uint64_t)(r + 200); }

static void try_array(zipc_segment *seg, const char *name)
{
    static const size_t sizes[] = {1, 4, 8, 12};
    uint8_t buf[BUF];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zipc_array *a;
        if (zipc_array_open(seg, name, sizes[i], &a) != 0)
            continue;
        uint64_t cap = zipc_array_capacity(a);
        use(zipc_array_get(a, 0, buf));
        use(zipc_array_get(a, cap ? cap - 1 : 0, buf));
        use(zipc_array_get(a, cap, buf));
        zipc_array_close(a);
    }
}

static void try_queue(zipc_segment *seg, const char *name, bool ro)
{
    static const size_t sizes[] = {4, 8, 12};
    uint8_t buf[BUF * 4] = {0};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zipc_queue *q;
        if (zipc_queue_open(seg, name, sizes[i], &q) != 0)
            continue;
        zipc_queue_report rep;
        use(zipc_queue_check(q, &rep));
        use(zipc_queue_try_pop(q, buf));
        use(zipc_queue_try_pop_batch(q, buf, 3));
        sink += zipc_queue_size_approx(q) + zipc_queue_capacity(q);
        if (!ro) {
            use(zipc_queue_try_push(q, buf));
            use(zipc_queue_try_push_batch(q, buf, 3));
            use(zipc_queue_recover(q, &rep));
            use(zipc_queue_try_pop(q, buf));
        }
        zipc_queue_close(q);
    }
}

static void try_stack(zipc_segment *seg, const char *name, bool ro)
{
    static const size_t sizes[] = {4, 8, 12};
    uint8_t buf[BUF * 4] = {0};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zipc_stack *s;
        if (zipc_stack_open(seg, name, sizes[i], &s) != 0)
            continue;
        zipc_stack_report rep;
        use(zipc_stack_check(s, &rep));
        use(zipc_stack_try_peek(s, buf));
        use(zipc_stack_try_pop(s, buf));
        use(zipc_stack_try_pop_batch(s, buf, 3));
        sink += zipc_stack_size_approx(s) + zipc_stack_capacity(s);
        if (!ro) {
            use(zipc_stack_try_push(s, buf));
            use(zipc_stack_try_push_batch(s, buf, 3));
            use(zipc_stack_recover(s, &rep));
            use(zipc_stack_try_pop(s, buf));
        }
        zipc_stack_close(s);
    }
}

/* Key/value layouts tried for maps (key kind 0xff: derived from the size). */
static const struct {
    size_t key, val;
    int kind;
    uint32_t key_align;
} map_kinds[] = {
    {4, 4, 0xff, 0}, {8, 8, 0xff, 0}, {4, 8, 0xff, 0}, {8, 4, ZIPC_KEY_FLOAT, 0},
    {16, 8, ZIPC_KEY_BYTES, 8}, {3, 0, ZIPC_KEY_BYTES, 0}, {2, 24, ZIPC_KEY_UNSIGNED, 0},
};

static zipc_map_options map_opts(size_t k)
{
    zipc_map_options o = {.key_align = map_kinds[k].key_align};
    if (map_kinds[k].kind != 0xff) {
        o.flags = ZIPC_MAP_KIND_SET;
        o.key_kind = (zipc_key_kind)map_kinds[k].kind;
    }
    return o;
}

static void try_map(zipc_segment *seg, const char *name, bool ro)
{
    uint8_t key[BUF], val[BUF], probe[BUF] = {1};
    for (size_t k = 0; k < sizeof(map_kinds) / sizeof(map_kinds[0]); k++) {
        zipc_map_options o = map_opts(k);
        zipc_map *m;
        if (zipc_map_open(seg, name, map_kinds[k].key, map_kinds[k].val, &o, &m) != 0)
            continue;
        uint64_t cur = 0;
        bool found = false, present;
        for (int n = 0; n < MAX_STEPS; n++) {
            int r = zipc_map_next(m, &cur, key, val);
            use(r);
            if (r != 0)
                break;
            found = true;
        }
        use(zipc_map_get(m, probe, val));
        use(zipc_map_contains(m, probe, &present));
        if (found)
            use(zipc_map_get(m, key, val));
        sink += zipc_map_size(m) + zipc_map_capacity(m);
        if (!ro) {
            use(zipc_map_insert(m, probe, val, NULL));
            if (found)
                use(zipc_map_remove(m, key));
            uint32_t n;
            use(zipc_map_recover(m, &n));
            use(zipc_map_remove(m, probe));
        }
        zipc_map_close(m);
    }
}

static void try_set(zipc_segment *seg, const char *name, bool ro)
{
    static const size_t sizes[] = {4, 8, 16};
    uint8_t elem[BUF], probe[BUF] = {2};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zipc_set *s;
        if (zipc_set_open(seg, name, sizes[i], NULL, &s) != 0)
            continue;
        uint64_t cur = 0;
        bool found = false, present;
        for (int n = 0; n < MAX_STEPS; n++) {
            int r = zipc_set_next(s, &cur, elem);
            use(r);
            if (r != 0)
                break;
            found = true;
        }
        use(zipc_set_contains(s, probe, &present));
        if (found)
            use(zipc_set_contains(s, elem, &present));
        sink += zipc_set_size(s) + zipc_set_capacity(s);
        if (!ro) {
            use(zipc_set_insert(s, probe, NULL));
            if (found)
                use(zipc_set_remove(s, elem));
            uint32_t n;
            use(zipc_set_recover(s, &n));
        }
        zipc_set_close(s);
    }
}

static void try_pool(zipc_segment *seg, const char *name, bool ro)
{
    static const size_t sizes[] = {4, 8, 16};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zipc_pool *p;
        if (zipc_pool_open(seg, name, sizes[i], 0, &p) != 0)
            continue;
        sink += zipc_pool_allocated(p) + zipc_pool_capacity(p);
        uint32_t a = 0, b = 0;
        void *ptr = NULL;
        int ra = zipc_pool_alloc(p, &a, &ptr);
        use(ra);
        if (ra == 0 && ptr)
            memset(ptr, 0x5a, sizes[i]); /* the object is ours: all of it */
        int rb = zipc_pool_alloc(p, &b, NULL);
        use(rb);
        if (ra == 0)
            use(zipc_pool_free(p, a));
        if (rb == 0)
            use(zipc_pool_free(p, b));
        use(zipc_pool_free(p, 0));
        sink += (uintptr_t)zipc_pool_at(p, 0) & 1;
        if (!ro) {
            uint32_t n;
            use(zipc_pool_recover_quiescent(p, &n));
            if (zipc_pool_alloc(p, &a, &ptr) == 0) {
                memset(ptr, 0xa5, sizes[i]);
                use(zipc_pool_free(p, a));
            }
        }
        zipc_pool_close(p);
    }
}

static void try_ring(zipc_segment *seg, const char *name, bool ro)
{
    static const size_t sizes[] = {1, 4, 8, 12};
    uint8_t buf[BUF * 4] = {0};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zipc_ring *r;
        if (zipc_ring_open(seg, name, sizes[i], &r) != 0)
            continue;
        sink += zipc_ring_available(r) + zipc_ring_free_space(r) + zipc_ring_capacity(r);
        size_t n;
        const void *rp;
        void *wp;
        use(zipc_ring_read(r, buf));
        use(zipc_ring_read_many(r, buf, 4, &n));
        if (zipc_ring_peek(r, 4, &rp, &n) == 0) {
            sink += ((const uint8_t *)rp)[n * sizes[i] - 1];
            use(zipc_ring_release(r, n));
        }
        use(zipc_ring_write(r, buf));
        use(zipc_ring_write_many(r, buf, 4, &n));
        if (zipc_ring_reserve(r, 4, &wp, &n) == 0) {
            memset(wp, 0x33, n * sizes[i]);
            use(zipc_ring_commit(r, n));
        }
        use(zipc_ring_read_timeout(r, buf, 0));
        (void)ro; /* read-only: every call above is -EROFS */
        zipc_ring_close(r);
    }
}

static void walk(zipc_segment *seg, bool ro)
{
    uint32_t count = zipc_segment_entry_count(seg);
    if (count > MAX_ENTRIES)
        count = MAX_ENTRIES;
    for (uint32_t i = 0; i < count; i++) {
        zipc_entry_info info;
        if (zipc_segment_entry_at(seg, i, &info) != 0)
            continue;
        char name[sizeof(info.name)];
        memcpy(name, info.name, sizeof(name));
        try_array(seg, name);
        try_queue(seg, name, ro);
        try_stack(seg, name, ro);
        try_map(seg, name, ro);
        try_set(seg, name, ro);
        try_pool(seg, name, ro);
        try_ring(seg, name, ro);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!seg_name[0])
        snprintf(seg_name, sizeof(seg_name), "/zipc-fuzzs-%ld", (long)getpid());
    if (write_segment(data, size) != 0)
        return 0;
    zipc_segment *seg;
    if (zipc_segment_open_ex(seg_name, ZIPC_SEGMENT_READONLY, &seg) == 0) {
        walk(seg, true);
        zipc_segment_close(seg);
    }
    if (zipc_segment_open(seg_name, &seg) == 0) {
        walk(seg, false);
        zipc_segment_close(seg);
    }
    zipc_segment_unlink(seg_name);
    return 0;
}
