/* Writes the seed corpus of fuzz/fuzz_structs.c: small segments (a few KiB)
 * holding every structure type with some contents, made by the library
 * itself, plus variants caught mid-operation (claim words of a dead pid,
 * states in flight, wrapped ring positions, a free list with a cycle) and
 * structures laid out by "another implementation" (no auxiliary entries).
 * Regenerate with:
 *
 *   make && cc -std=c11 -D_GNU_SOURCE -Iinclude fuzz/seedgen/make_struct_seeds.c \
 *        build/libzeroipc.a -lpthread -lrt -o build/make_struct_seeds \
 *     && build/make_struct_seeds fuzz/corpus/fuzz_structs
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zeroipc/zeroipc.h"

/* A pid above Linux's largest pid_max (2^22): kill(pid, 0) says ESRCH, so
 * claims carrying it read as held by a dead process. */
#define DEAD_PID 0xFFFFF0u

static const char *outdir;
static char name[64];

static void check(const char *what, int r)
{
    if (r) {
        fprintf(stderr, "make_struct_seeds: %s: %s\n", what, zipc_strerror(r));
        exit(1);
    }
}

static zipc_segment *fresh(uint64_t size, uint32_t max)
{
    zipc_segment *seg;
    snprintf(name, sizeof(name), "/zipc-seedgen-s-%ld", (long)getpid());
    zipc_segment_unlink(name);
    check("create", zipc_segment_create(name, size, max, &seg));
    return seg;
}

static uint8_t *at(zipc_segment *seg, const char *entry)
{
    zipc_entry_info info;
    check(entry, zipc_segment_find(seg, entry, &info));
    return (uint8_t *)zipc_segment_base(seg) + info.offset;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void save(zipc_segment *seg, const char *file)
{
    zipc_segment_close(seg);
    char path[512];
    snprintf(path, sizeof(path), "/dev/shm%s", name);
    int in = open(path, O_RDONLY);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0)
        check("read back", -EIO);
    unsigned char *buf = malloc((size_t)st.st_size);
    if (!buf || read(in, buf, (size_t)st.st_size) != st.st_size)
        check("read back", -EIO);
    close(in);
    snprintf(path, sizeof(path), "%s/%s", outdir, file);
    FILE *out = fopen(path, "wb");
    if (!out || fwrite(buf, 1, (size_t)st.st_size, out) != (size_t)st.st_size || fclose(out))
        check(path, -EIO);
    free(buf);
    zipc_segment_unlink(name);
}

/* One of each structure, with contents. */
static zipc_segment *all_structures(void)
{
    zipc_segment *seg = fresh(6144, 24);
    zipc_array *a;
    check("a", zipc_array_create(seg, "a", 4, 4, &a));
    zipc_array_store_u32(a, 1, 11);
    zipc_array_close(a);

    zipc_queue *q;
    check("q", zipc_queue_create(seg, "q", 8, 4, &q));
    for (uint64_t v = 1; v <= 3; v++)
        zipc_queue_try_push(q, &v);
    uint64_t out;
    zipc_queue_try_pop(q, &out);
    zipc_queue_close(q);

    zipc_stack *s;
    check("s", zipc_stack_create(seg, "s", 4, 4, &s));
    for (uint32_t v = 7; v <= 9; v++)
        zipc_stack_try_push(s, &v);
    zipc_stack_close(s);

    zipc_map *m;
    check("m", zipc_map_create(seg, "m", 4, 4, 8, NULL, &m));
    for (int32_t k = 0; k < 6; k++)
        zipc_map_insert(m, &k, &k, NULL);
    int32_t gone = 2;
    zipc_map_remove(m, &gone); /* a DELETED tombstone */
    zipc_map_close(m);

    zipc_map *m8;
    check("m8", zipc_map_create(seg, "m8", 8, 8, 5, NULL, &m8));
    for (int64_t k = 40; k < 43; k++)
        zipc_map_insert(m8, &k, &k, NULL);
    zipc_map_close(m8);

    zipc_set *st;
    check("st", zipc_set_create(seg, "st", 4, 6, NULL, &st));
    for (int32_t e = 1; e <= 4; e++)
        zipc_set_insert(st, &e, NULL);
    int32_t e1 = 1;
    zipc_set_remove(st, &e1);
    zipc_set_close(st);

    zipc_pool *p;
    check("p", zipc_pool_create(seg, "p", 8, 0, 4, &p));
    uint32_t i0, i1;
    zipc_pool_alloc(p, &i0, NULL);
    zipc_pool_alloc(p, &i1, NULL);
    zipc_pool_free(p, i0);
    zipc_pool_close(p);

    zipc_ring *r;
    check("r", zipc_ring_create(seg, "r", 4, 5, &r));
    uint32_t v[4] = {1, 2, 3, 4};
    size_t n;
    zipc_ring_write_many(r, v, 4, &n);
    zipc_ring_read_many(r, v, 3, &n);
    zipc_ring_write_many(r, v, 3, &n); /* wraps across the end */
    zipc_ring_close(r);
    return seg;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_struct_seeds OUTDIR\n");
        return 2;
    }
    outdir = argv[1];

    save(all_structures(), "all_structures");

    /* Mid-operation: a map slot claimed by a dead pid (KEYED, state
     * INSERTING), a set slot mid-removal, a pool node popped but not marked,
     * ring positions far apart. */
    zipc_segment *seg = all_structures();
    uint8_t *own = at(seg, "m_own"), *m = at(seg, "m");
    put64(own + 8 * 6, (UINT64_C(9) << 32) | (uint64_t)DEAD_PID << 8 | 2);
    put32(m + 16 + 12 * 6, 3);
    put64(at(seg, "st_own") + 8 * 3, (UINT64_C(4) << 32) | (uint64_t)DEAD_PID << 8 | 5);
    uint8_t *p = at(seg, "p");
    put64(p, (UINT64_C(7) << 32) | 2);
    put64(at(seg, "r"), UINT64_C(1) << 40);
    save(seg, "mid_operation");

    /* Layouts only, as another implementation writes them: no "_own" or
     * "_wait" entries (openers add them), a foreign writer's INSERTING slot,
     * a pool free list with a cycle 1 -> 2 -> 1. */
    seg = fresh(2048, 8);
    uint64_t off;
    check("cm", zipc_segment_add_entry(seg, "cm", 16 + 12 * 5, &off));
    uint8_t *b = (uint8_t *)zipc_segment_base(seg) + off;
    put32(b, 2);
    put32(b + 4, 5);
    put32(b + 8, 4);
    put32(b + 12, 4);
    put32(b + 16 + 12 * 1, 1); /* key 1 in its home slot 1 */
    put32(b + 16 + 12 * 1 + 4, 1);
    put32(b + 16 + 12 * 1 + 8, 10);
    put32(b + 16 + 12 * 2, 3); /* INSERTING, no claim word */
    put32(b + 16 + 12 * 2 + 4, 6);
    check("cp", zipc_segment_add_entry(seg, "cp", 24 + 8 * 3, &off));
    b = (uint8_t *)zipc_segment_base(seg) + off;
    put64(b, 1);
    put32(b + 16, 3);
    put32(b + 20, 4);
    put32(b + 24 + 8 * 1 + 4, 2);
    put32(b + 24 + 8 * 2 + 4, 1);
    check("cr", zipc_segment_add_entry(seg, "cr", 24 + 16, &off));
    b = (uint8_t *)zipc_segment_base(seg) + off;
    put64(b, 13); /* positions not a multiple of the element size */
    put64(b + 8, 5);
    put32(b + 16, 16);
    put32(b + 20, 4);
    save(seg, "foreign_layouts");

    /* Single producer / single consumer queues with their roles held (by
     * this process, dead when the fuzzer reads the seed) and counters stored
     * lazily, a lap and more behind the slots. */
    seg = fresh(6144, 12);
    zipc_queue *sp, *sc;
    check("qs", zipc_queue_create_ex(seg, "qs", 8, 4,
                                     ZIPC_QUEUE_SINGLE_PRODUCER | ZIPC_QUEUE_SINGLE_CONSUMER, &sp));
    check("qs open", zipc_queue_open(seg, "qs", 8, &sc));
    uint64_t val = 0, got;
    for (int k = 0; k < 7; k++) {
        zipc_queue_try_push(sp, &val);
        val++;
        if (k % 2)
            zipc_queue_try_pop(sc, &got);
    }
    zipc_queue *p1;
    check("qp", zipc_queue_create_ex(seg, "qp", 4, 8, ZIPC_QUEUE_SINGLE_PRODUCER, &p1));
    for (uint32_t k = 0; k < 5; k++)
        zipc_queue_try_push(p1, &k);
    save(seg, "single_roles");
    return 0;
}
