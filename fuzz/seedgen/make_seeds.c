/* Writes the seed corpus of fuzz/fuzz_open.c: small valid segments (a few KiB,
 * few table entries) made by the library itself, plus a few with one field
 * changed to reach the version and legacy-header paths. Regenerate with:
 *
 *   make && cc -std=c11 -D_GNU_SOURCE -Iinclude fuzz/seedgen/make_seeds.c \
 *        build/libzeroipc.a -lpthread -lrt -o build/make_seeds \
 *     && build/make_seeds fuzz/corpus/fuzz_open
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zeroipc/zeroipc.h"

static const char *outdir;
static char name[64];

static void die(const char *what, int r)
{
    fprintf(stderr, "make_seeds: %s: %s\n", what, zipc_strerror(r));
    exit(1);
}

static zipc_segment *fresh(uint64_t size, uint32_t max)
{
    zipc_segment *seg;
    snprintf(name, sizeof(name), "/zipc-seedgen-%ld", (long)getpid());
    zipc_segment_unlink(name);
    int r = zipc_segment_create(name, size, max, &seg);
    if (r)
        die("create", r);
    return seg;
}

/* Copy /dev/shm/<name> to OUTDIR/FILE, applying PATCH (offset, 4 bytes) if set. */
static void save(zipc_segment *seg, const char *file, long patch_off, uint32_t patch_val)
{
    zipc_segment_close(seg);
    char path[512];
    snprintf(path, sizeof(path), "/dev/shm%s", name);
    int in = open(path, O_RDONLY);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0)
        die("read back", -errno);
    unsigned char *buf = malloc((size_t)st.st_size);
    if (!buf || read(in, buf, (size_t)st.st_size) != st.st_size)
        die("read back", -EIO);
    close(in);
    if (patch_off >= 0)
        memcpy(buf + patch_off, &patch_val, 4);
    snprintf(path, sizeof(path), "%s/%s", outdir, file);
    FILE *out = fopen(path, "wb");
    if (!out || fwrite(buf, 1, (size_t)st.st_size, out) != (size_t)st.st_size || fclose(out))
        die(path, -EIO);
    free(buf);
    zipc_segment_unlink(name);
}

static void array_i32(zipc_segment *seg, const char *n, uint64_t cap)
{
    zipc_array *a;
    int r = zipc_array_create(seg, n, 4, cap, &a);
    if (r)
        die(n, r);
    for (uint32_t i = 0; i < cap; i++)
        zipc_array_store_u32(a, i, i * i);
    zipc_array_close(a);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    zipc_segment *seg;
    uint64_t off;

    save(fresh(512, 4), "empty_max4", -1, 0);

    seg = fresh(1024, 4);
    array_i32(seg, "arr", 10); /* the FORMAT.md example's array, in a small table */
    save(seg, "array_i32", -1, 0);

    seg = fresh(2048, 4);
    array_i32(seg, "a", 5);
    zipc_array *b;
    if (zipc_array_create(seg, "b", 8, 3, &b) == 0) {
        zipc_array_store_u64(b, 2, UINT64_MAX);
        zipc_array_close(b);
    }
    zipc_segment_add_entry(seg, "raw_unaligned_13", 13, NULL);
    zipc_segment_add_entry(seg, "last", 24, NULL);
    save(seg, "full_table_mixed", -1, 0);

    seg = fresh(1024, 3);
    zipc_segment_add_entry(seg, "old", 16 + 4 * 4, &off); /* 16-byte legacy array header */
    uint64_t legacy[2] = {4, 4};
    memcpy((char *)zipc_segment_base(seg) + off, legacy, sizeof(legacy));
    zipc_segment_add_entry(seg, "z", 1, NULL);
    save(seg, "legacy_array_header", -1, 0);

    seg = fresh(4096, 64);
    array_i32(seg, "x", 3);
    save(seg, "stored_max_entries_0", 0x0C, 0); /* old writers: 0 means 64 */

    seg = fresh(1024, 4);
    array_i32(seg, "v", 2);
    save(seg, "version_1", 0x04, 1);

    seg = fresh(1024, 4);
    zipc_segment_add_entry(seg, "p", 40, NULL);
    zipc_segment_add_entry(seg, "q", 40, NULL);
    save(seg, "overlap", 32 + 48 + 32, 32 + 4 * 48 + 8); /* q's offset into p */
    return 0;
}
