/* Segment: names, create options, read-only handles, the entry table, the
 * byte-exact layout, concurrent and crashing adders, a full /dev/shm. */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segment_internal.h" /* zipc__seg_add with an init callback (crash test) */

extern int zipc__crash_at;

#define KIB 1024u
#define MIB (1024u * 1024u)
#define TABLE_SIZE(n) (32u + 48u * (n))

/* ---- helpers ---------------------------------------------------------------- */

/* "/dev/shm/<name without its leading '/'>" */
static const char *shm_path(const char *name)
{
    static char buf[4][300];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof(buf[0]), "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
    return b;
}

static bool shm_exists(const char *name)
{
    struct stat st;
    return stat(shm_path(name), &st) == 0;
}

/* The whole file /dev/shm/NAME into a malloc'd buffer; *len receives its size. */
static uint8_t *read_shm_file(const char *name, size_t *len)
{
    int fd = open(shm_path(name), O_RDONLY);
    ZT_ASSERT(fd >= 0);
    struct stat st;
    ZT_ASSERT(fstat(fd, &st) == 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    ZT_ASSERT(buf);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        ZT_ASSERT(n > 0);
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return buf;
}

/* Temporary files our create() left in /dev/shm for process PID. */
static int tmp_leftovers(pid_t pid)
{
    char pfx[64];
    snprintf(pfx, sizeof(pfx), ".zipc-tmp-%d-", (int)pid);
    DIR *d = opendir("/dev/shm");
    ZT_ASSERT(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, pfx, strlen(pfx)) == 0)
            n++;
    closedir(d);
    return n;
}

static uint32_t get_u32(const uint8_t *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}

static uint64_t get_u64(const uint8_t *p, size_t off)
{
    uint64_t v;
    memcpy(&v, p + off, sizeof(v));
    return v;
}

/* A MAP_SHARED anonymous buffer that forked workers write results into. */
static void *shared_buf(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ZT_ASSERT(p != MAP_FAILED);
    return p;
}

/* ---- names ------------------------------------------------------------------ */

ZTEST(segment_name_leading_slash_is_optional, ZT_FAST)
{
    zipc_segment *seg, *seg2;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name + 1, 64 * KIB, 0, &seg)); /* without the '/' */
    ZT_ASSERT(strcmp(zipc_segment_name(seg), name) == 0);
    ZT_ASSERT(shm_exists(name));
    ZT_OK(zipc_segment_open(name, &seg2)); /* with it: the same segment */
    ZT_OK(zipc_segment_add_entry(seg, "x", 8, NULL));
    ZT_EQ(zipc_segment_entry_count(seg2), 1);
    zipc_segment_close(seg2);
    ZT_ERR(zipc_segment_create(name, 64 * KIB, 0, &seg2), -EEXIST);
    ZT_OK(zipc_segment_unlink(name + 1));
    ZT_ASSERT(!shm_exists(name));
    zipc_segment_close(seg);
}

ZTEST(segment_names_with_inner_slash_dots_or_empty_are_einval, ZT_FAST)
{
    zipc_segment *seg = NULL;
    const char *bad[] = {"", "/", "a/b", "/a/b", "//a", "a/", ".", "..", "/.", "/.."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ZT_ERR(zipc_segment_create(bad[i], 64 * KIB, 0, &seg), -EINVAL);
        ZT_ERR(zipc_segment_open(bad[i], &seg), -EINVAL);
        ZT_ERR(zipc_segment_unlink(bad[i]), -EINVAL);
    }
    ZT_ERR(zipc_segment_create(NULL, 64 * KIB, 0, &seg), -EINVAL);
    ZT_ERR(zipc_segment_open(NULL, &seg), -EINVAL);
    ZT_ERR(zipc_segment_unlink(NULL), -EINVAL);
    ZT_ASSERT(seg == NULL);
}

ZTEST(segment_name_longer_than_max_is_enametoolong, ZT_FAST)
{
    zipc_segment *seg;
    char name[ZIPC_SEGMENT_NAME_MAX + 3];
    /* exactly the maximum (plus the optional '/') is fine */
    const char *base = zt_name(NULL) + 1;
    size_t n = strlen(base);
    memcpy(name, base, n);
    memset(name + n, 'x', ZIPC_SEGMENT_NAME_MAX - n);
    name[ZIPC_SEGMENT_NAME_MAX] = '\0';
    ZT_OK(zipc_segment_create(name, 64 * KIB, 0, &seg));
    zipc_segment_close(seg);
    ZT_OK(zipc_segment_unlink(name));
    /* one more byte is too long, with or without the '/' */
    name[ZIPC_SEGMENT_NAME_MAX] = 'y';
    name[ZIPC_SEGMENT_NAME_MAX + 1] = '\0';
    ZT_ERR(zipc_segment_create(name, 64 * KIB, 0, &seg), -ENAMETOOLONG);
    ZT_ERR(zipc_segment_open(name, &seg), -ENAMETOOLONG);
    ZT_ERR(zipc_segment_unlink(name), -ENAMETOOLONG);
    char slashed[ZIPC_SEGMENT_NAME_MAX + 4];
    snprintf(slashed, sizeof(slashed), "/%s", name);
    ZT_ERR(zipc_segment_create(slashed, 64 * KIB, 0, &seg), -ENAMETOOLONG);
}

ZTEST(entry_names_are_one_to_31_bytes, ZT_FAST)
{
    zipc_segment *seg;
    zipc_entry_info info;
    char n31[32], n32[33];
    memset(n31, 'a', 31);
    n31[31] = '\0';
    memset(n32, 'b', 32);
    n32[32] = '\0';
    ZT_OK(zipc_segment_create(zt_name(NULL), 64 * KIB, 0, &seg));
    ZT_ERR(zipc_segment_add_entry(seg, "", 8, NULL), -EINVAL);
    ZT_ERR(zipc_segment_add_entry(seg, NULL, 8, NULL), -EINVAL);
    ZT_ERR(zipc_segment_add_entry(seg, n32, 8, NULL), -ENAMETOOLONG);
    ZT_ERR(zipc_array_create(seg, n32, 4, 1, &(zipc_array *){0}), -ENAMETOOLONG);
    ZT_ERR(zipc_segment_find(seg, n32, &info), -ENAMETOOLONG);
    ZT_ERR(zipc_segment_find(seg, "", &info), -EINVAL);
    ZT_ERR(zipc_array_open(seg, n32, 4, &(zipc_array *){0}), -ENAMETOOLONG);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_OK(zipc_segment_add_entry(seg, n31, 8, NULL));
    ZT_OK(zipc_segment_find(seg, n31, &info));
    ZT_ASSERT(strcmp(info.name, n31) == 0);
    /* names are case-sensitive bytes */
    ZT_OK(zipc_segment_add_entry(seg, "Name", 8, NULL));
    ZT_OK(zipc_segment_add_entry(seg, "name", 8, NULL));
    ZT_ERR(zipc_segment_add_entry(seg, "name", 8, NULL), -EEXIST);
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    zipc_segment_close(seg);
}

/* ---- create arguments and options -------------------------------------------- */

ZTEST(segment_create_rejects_bad_arguments_and_leaves_nothing, ZT_FAST)
{
    zipc_segment *seg = NULL;
    const char *name = zt_name(NULL);
    zipc_segment_options bad_flags = {.flags = 0x80};
    zipc_segment_options bad_mode = {.mode = 010000};
    ZT_ERR(zipc_segment_create(name, 64 * KIB, 0, NULL), -EINVAL);
    ZT_ERR(zipc_segment_create(name, TABLE_SIZE(64) - 1, 0, &seg), -EINVAL);
    ZT_ERR(zipc_segment_create(name, 0, 0, &seg), -EINVAL);
    ZT_ERR(zipc_segment_create(name, TABLE_SIZE(10) - 1, 10, &seg), -EINVAL);
    ZT_ERR(zipc_segment_create(name, 64 * KIB, UINT32_MAX, &seg), -EINVAL);
    ZT_ERR(zipc_segment_create(name, UINT64_MAX, 0, &seg), -EINVAL);
    ZT_ERR(zipc_segment_create_ex(name, 64 * KIB, 0, &bad_flags, &seg, NULL), -EINVAL);
    ZT_ERR(zipc_segment_create_ex(name, 64 * KIB, 0, &bad_mode, &seg, NULL), -EINVAL);
    ZT_ERR(zipc_segment_open_ex(name, 0x80, &seg), -EINVAL);
    ZT_ERR(zipc_segment_open(name, NULL), -EINVAL);
    ZT_ASSERT(seg == NULL);
    ZT_ASSERT(!shm_exists(name));
    ZT_EQ(tmp_leftovers(getpid()), 0);
    /* the smallest legal size: the table alone */
    ZT_OK(zipc_segment_create(name, TABLE_SIZE(3), 3, &seg));
    ZT_EQ_U64(zipc_segment_bytes_free(seg), 0);
    ZT_ERR(zipc_segment_add_entry(seg, "a", 1, NULL), -ENOSPC);
    zipc_segment_close(seg);
}

ZTEST(segment_open_and_unlink_of_missing_name_are_enoent, ZT_FAST)
{
    zipc_segment *seg;
    ZT_ERR(zipc_segment_open(zt_name("missing"), &seg), -ENOENT);
    ZT_ERR(zipc_segment_open_ex(zt_name("missing"), ZIPC_SEGMENT_READONLY, &seg), -ENOENT);
    ZT_ERR(zipc_segment_unlink(zt_name("missing")), -ENOENT);
}

ZTEST(segment_create_default_mode_is_owner_only, ZT_FAST)
{
    zipc_segment *seg;
    const char *name = zt_name(NULL);
    mode_t old = umask(0); /* the default must not depend on the umask */
    ZT_OK(zipc_segment_create(name, 64 * KIB, 0, &seg));
    umask(old);
    struct stat st;
    ZT_ASSERT(stat(shm_path(name), &st) == 0);
    ZT_EQ(st.st_mode & 07777, 0600);
    ZT_EQ_U64(st.st_size, 64 * KIB);
    zipc_segment_close(seg);
}

ZTEST(segment_create_applies_explicit_mode_despite_umask, ZT_FAST)
{
    const uint32_t modes[] = {0644, 0660, 0666, 0400, 0640};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        zipc_segment *seg;
        char sfx[16];
        snprintf(sfx, sizeof(sfx), "m%zu", i);
        const char *name = zt_name(sfx);
        zipc_segment_options o = {.mode = modes[i]};
        mode_t old = umask(077); /* fchmod is not filtered by the umask */
        bool created = false;
        ZT_OK(zipc_segment_create_ex(name, 64 * KIB, 0, &o, &seg, &created));
        umask(old);
        ZT_ASSERT(created);
        struct stat st;
        ZT_ASSERT(stat(shm_path(name), &st) == 0);
        ZT_EQ(st.st_mode & 07777, modes[i]);
        zipc_segment_close(seg);
    }
}

ZTEST(segment_create_on_existing_name_is_eexist_and_leaves_it_untouched, ZT_FAST)
{
    zipc_segment *seg, *seg2 = NULL;
    zipc_array *a;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 64 * KIB, 16, &seg));
    ZT_OK(zipc_array_create(seg, "arr", 4, 100, &a));
    for (uint32_t i = 0; i < 100; i++)
        ZT_OK(zipc_array_store_u32(a, i, i * 7 + 1));
    size_t len0, len1;
    uint8_t *before = read_shm_file(name, &len0);
    struct stat st0, st1;
    ZT_ASSERT(stat(shm_path(name), &st0) == 0);
    /* a different size and table: must still not touch it */
    ZT_ERR(zipc_segment_create(name, 128 * KIB, 4, &seg2), -EEXIST);
    ZT_ERR(zipc_segment_create(name + 1, 64 * KIB, 16, &seg2), -EEXIST);
    zipc_segment_options o = {.mode = 0666};
    ZT_ERR(zipc_segment_create_ex(name, 64 * KIB, 0, &o, &seg2, NULL), -EEXIST);
    ZT_ASSERT(seg2 == NULL);
    uint8_t *after = read_shm_file(name, &len1);
    ZT_ASSERT(stat(shm_path(name), &st1) == 0);
    ZT_EQ(len0, len1);
    ZT_ASSERT(memcmp(before, after, len0) == 0);
    ZT_EQ(st0.st_ino, st1.st_ino);
    ZT_EQ(st1.st_mode & 07777, 0600);
    ZT_EQ(tmp_leftovers(getpid()), 0);
    free(before);
    free(after);
    zipc_array_close(a);
    zipc_segment_close(seg);
}

ZTEST(segment_open_or_create_creates_then_opens, ZT_FAST)
{
    zipc_segment *seg, *seg2;
    const char *name = zt_name(NULL);
    zipc_segment_options o = {.flags = ZIPC_SEGMENT_OPEN_EXISTING};
    bool created = false;
    ZT_OK(zipc_segment_create_ex(name, 64 * KIB, 8, &o, &seg, &created));
    ZT_ASSERT(created);
    ZT_OK(zipc_segment_add_entry(seg, "e", 16, NULL));
    /* the second call opens the existing one, whatever size it asks for */
    ZT_OK(zipc_segment_create_ex(name, 128 * KIB, 32, &o, &seg2, &created));
    ZT_ASSERT(!created);
    ZT_EQ_U64(zipc_segment_size(seg2), 64 * KIB);
    ZT_EQ(zipc_segment_max_entries(seg2), 8);
    ZT_EQ(zipc_segment_entry_count(seg2), 1);
    zipc_segment_close(seg2);
    zipc_segment_close(seg);
}

struct race_arg {
    const char *name;
    zt_gate *gate;
    int *results; /* shared: one slot per worker */
    int index;
};

static void open_or_create_worker(void *p)
{
    struct race_arg *a = p;
    zipc_segment *seg;
    zipc_segment_options o = {.flags = ZIPC_SEGMENT_OPEN_EXISTING};
    bool created = false;
    zt_gate_wait(a->gate);
    ZT_OK(zipc_segment_create_ex(a->name, 64 * KIB, 0, &o, &seg, &created));
    char ent[32];
    snprintf(ent, sizeof(ent), "w%d", a->index);
    ZT_OK(zipc_segment_add_entry(seg, ent, 8, NULL));
    a->results[a->index] = created ? 1 : 2;
    zipc_segment_close(seg);
}

ZTEST(segment_open_or_create_from_many_processes_creates_exactly_once, ZT_MEDIUM)
{
    enum { NPROC = 8 };
    int rounds = (int)zt_env_u64("ZIPC_SEG_RACE_ROUNDS", 10);
    for (int round = 0; round < rounds; round++) {
        char sfx[16];
        snprintf(sfx, sizeof(sfx), "r%d", round);
        const char *name = zt_name(sfx);
        int *results = shared_buf(sizeof(int) * NPROC);
        zt_gate gate;
        zt_gate_init(&gate);
        struct race_arg args[NPROC];
        pid_t pids[NPROC];
        for (int i = 0; i < NPROC; i++) {
            args[i] = (struct race_arg){name, &gate, results, i};
            pids[i] = zt_fork(open_or_create_worker, &args[i]);
        }
        zt_gate_open(&gate);
        for (int i = 0; i < NPROC; i++)
            zt_wait_ok(pids[i]);
        int creators = 0;
        for (int i = 0; i < NPROC; i++) {
            ZT_ASSERT(results[i] == 1 || results[i] == 2);
            creators += results[i] == 1;
        }
        ZT_EQ(creators, 1);
        zipc_segment *seg;
        ZT_OK(zipc_segment_open(name, &seg));
        ZT_EQ(zipc_segment_entry_count(seg), NPROC); /* nobody re-initialised it */
        zipc_segment_close(seg);
        munmap(results, sizeof(int) * NPROC);
    }
}

/* ---- read-only handles -------------------------------------------------------- */

ZTEST(segment_readonly_handle_rejects_every_write_with_erofs, ZT_FAST)
{
    zipc_segment *seg, *ro;
    zipc_array *a, *ra32, *ra64;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 64 * KIB, 0, &seg));
    ZT_OK(zipc_array_create(seg, "a32", 4, 4, &a));
    ZT_OK(zipc_array_store_u32(a, 2, 77));
    zipc_array_close(a);
    ZT_OK(zipc_array_create(seg, "a64", 8, 4, &a));
    zipc_array_close(a);
    ZT_OK(zipc_segment_open_ex(name, ZIPC_SEGMENT_READONLY, &ro));
    ZT_ASSERT(zipc_segment_is_readonly(ro));
    ZT_ASSERT(!zipc_segment_is_readonly(seg));
    ZT_ERR(zipc_segment_add_entry(ro, "x", 8, NULL), -EROFS);
    ZT_ERR(zipc_array_create(ro, "y", 4, 4, &a), -EROFS);
    ZT_EQ(zipc_segment_entry_count(ro), 2);

    ZT_OK(zipc_array_open(ro, "a32", 4, &ra32));
    ZT_OK(zipc_array_open(ro, "a64", 8, &ra64));
    uint32_t v32 = 5, old32;
    uint64_t v64 = 5, old64;
    ZT_OK(zipc_array_get(ra32, 2, &v32));
    ZT_EQ(v32, 77);
    ZT_OK(zipc_array_load_u32(ra32, 2, &v32));
    ZT_EQ(v32, 77);
    ZT_OK(zipc_array_load_u64(ra64, 0, &v64));
    ZT_ERR(zipc_array_set(ra32, 0, &v32), -EROFS);
    ZT_ERR(zipc_array_store_u32(ra32, 0, 1), -EROFS);
    ZT_ERR(zipc_array_exchange_u32(ra32, 0, 1, &old32), -EROFS);
    ZT_ERR(zipc_array_compare_exchange_u32(ra32, 0, &old32, 1), -EROFS);
    ZT_ERR(zipc_array_fetch_add_u32(ra32, 0, 1, &old32), -EROFS);
    ZT_ERR(zipc_array_fetch_sub_u32(ra32, 0, 1, &old32), -EROFS);
    ZT_ERR(zipc_array_fetch_and_u32(ra32, 0, 1, &old32), -EROFS);
    ZT_ERR(zipc_array_fetch_or_u32(ra32, 0, 1, &old32), -EROFS);
    ZT_ERR(zipc_array_fetch_xor_u32(ra32, 0, 1, &old32), -EROFS);
    ZT_ERR(zipc_array_store_u64(ra64, 0, 1), -EROFS);
    ZT_ERR(zipc_array_exchange_u64(ra64, 0, 1, &old64), -EROFS);
    ZT_ERR(zipc_array_compare_exchange_u64(ra64, 0, &old64, 1), -EROFS);
    ZT_ERR(zipc_array_fetch_add_u64(ra64, 0, 1, &old64), -EROFS);
    ZT_ERR(zipc_array_fetch_sub_u64(ra64, 0, 1, &old64), -EROFS);
    ZT_ERR(zipc_array_fetch_and_u64(ra64, 0, 1, &old64), -EROFS);
    ZT_ERR(zipc_array_fetch_or_u64(ra64, 0, 1, &old64), -EROFS);
    ZT_ERR(zipc_array_fetch_xor_u64(ra64, 0, 1, &old64), -EROFS);
    /* range and width are still checked first */
    ZT_ERR(zipc_array_store_u32(ra32, 4, 1), -ERANGE);
    ZT_ERR(zipc_array_store_u64(ra32, 0, 1), -EINVAL);
    /* a write through the read-write handle is seen through the read-only one */
    ZT_OK(zipc_array_open(seg, "a32", 4, &a));
    ZT_OK(zipc_array_store_u32(a, 0, 99));
    ZT_OK(zipc_array_load_u32(ra32, 0, &v32));
    ZT_EQ(v32, 99);
    zipc_array_close(a);
    zipc_array_close(ra32);
    zipc_array_close(ra64);
    zipc_segment_close(ro);
    zipc_segment_close(seg);
}

/* ---- the entry table ------------------------------------------------------------ */

ZTEST(segment_entries_iterate_in_table_order_with_offsets_and_sizes, ZT_FAST)
{
    zipc_segment *seg;
    zipc_entry_info info;
    const uint32_t max = 8;
    const uint64_t table = TABLE_SIZE(max);
    ZT_OK(zipc_segment_create(zt_name(NULL), 64 * KIB, max, &seg));
    ZT_EQ(zipc_segment_max_entries(seg), max);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_EQ_U64(zipc_segment_size(seg), 64 * KIB);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), table);
    ZT_EQ_U64(zipc_segment_bytes_free(seg), 64 * KIB - table);
    ZT_ERR(zipc_segment_entry_at(seg, 0, &info), -ENOENT);

    const char *names[] = {"first", "second", "third"};
    const uint64_t sizes[] = {13, 8, 100};
    uint64_t offs[3], expect = table, used = table;
    for (int i = 0; i < 3; i++) {
        ZT_OK(zipc_segment_add_entry(seg, names[i], sizes[i], &offs[i]));
        expect = (expect + 7) & ~(uint64_t)7;
        ZT_EQ_U64(offs[i], expect);
        expect += sizes[i];
        used = expect;
        ZT_EQ_U64(zipc_segment_bytes_used(seg), used); /* next_offset, not rounded */
        ZT_EQ_U64(zipc_segment_bytes_free(seg), 64 * KIB - ((used + 7) & ~(uint64_t)7));
    }
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    for (uint32_t i = 0; i < 3; i++) {
        ZT_OK(zipc_segment_entry_at(seg, i, &info));
        ZT_ASSERT(strcmp(info.name, names[i]) == 0);
        ZT_EQ_U64(info.offset, offs[i]);
        ZT_EQ_U64(info.size, sizes[i]);
        zipc_entry_info f;
        ZT_OK(zipc_segment_find(seg, names[i], &f));
        ZT_EQ_U64(f.offset, offs[i]);
        /* a raw entry is zeroed and 8-aligned */
        const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + info.offset;
        ZT_EQ((uintptr_t)p % 8, 0);
        for (uint64_t k = 0; k < info.size; k++)
            ZT_EQ(p[k], 0);
    }
    ZT_ERR(zipc_segment_entry_at(seg, 3, &info), -ENOENT);
    ZT_ERR(zipc_segment_entry_at(seg, UINT32_MAX, &info), -ENOENT);
    ZT_ERR(zipc_segment_entry_at(seg, 0, NULL), -EINVAL);
    ZT_ERR(zipc_segment_entry_at(NULL, 0, &info), -EINVAL);
    ZT_ERR(zipc_segment_find(seg, "fourth", &info), -ENOENT);
    ZT_ERR(zipc_segment_find(seg, "first", NULL), -EINVAL);
    ZT_ERR(zipc_segment_find(NULL, "first", &info), -EINVAL);
    ZT_ERR(zipc_segment_add_entry(seg, "zero", 0, NULL), -EINVAL);
    ZT_ERR(zipc_segment_add_entry(NULL, "x", 8, NULL), -EINVAL);
    ZT_ERR(zipc_segment_add_entry(seg, "first", 8, NULL), -EEXIST);
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), used);
    zipc_segment_close(seg);
    zipc_segment_close(NULL); /* ignored */
    zipc_array_close(NULL);
}

ZTEST(segment_full_table_and_full_bytes_are_both_enospc_but_distinguishable, ZT_FAST)
{
    zipc_segment *seg;
    /* table full: entry_count == max_entries while bytes are left */
    ZT_OK(zipc_segment_create(zt_name("t"), 64 * KIB, 2, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "a", 8, NULL));
    ZT_OK(zipc_segment_add_entry(seg, "b", 8, NULL));
    ZT_ERR(zipc_segment_add_entry(seg, "c", 8, NULL), -ENOSPC);
    ZT_ERR(zipc_array_create(seg, "c", 4, 1, &(zipc_array *){0}), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), zipc_segment_max_entries(seg));
    ZT_ASSERT(zipc_segment_bytes_free(seg) >= 8);
    /* a duplicate name is still -EEXIST, not -ENOSPC */
    ZT_ERR(zipc_segment_add_entry(seg, "a", 8, NULL), -EEXIST);
    zipc_segment_close(seg);

    /* bytes full: entries left, bytes_free smaller than the request */
    ZT_OK(zipc_segment_create(zt_name("b"), 8 * KIB, 4, &seg));
    uint64_t left = zipc_segment_bytes_free(seg);
    ZT_ERR(zipc_segment_add_entry(seg, "big", left + 1, NULL), -ENOSPC);
    ZT_ERR(zipc_segment_add_entry(seg, "huge", UINT64_MAX, NULL), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_ASSERT(zipc_segment_entry_count(seg) < zipc_segment_max_entries(seg));
    ZT_ASSERT(zipc_segment_bytes_free(seg) < left + 1);
    ZT_OK(zipc_segment_add_entry(seg, "fits", left - 3, NULL)); /* ends unaligned */
    ZT_EQ_U64(zipc_segment_bytes_free(seg), 0);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), 8 * KIB - 3);
    ZT_ERR(zipc_segment_add_entry(seg, "one", 1, NULL), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 1);
    zipc_segment_close(seg);
}

ZTEST(segment_stats_and_find_work_through_a_second_mapping, ZT_FAST)
{
    zipc_segment *seg, *seg2;
    zipc_entry_info a, b;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 64 * KIB, 0, &seg));
    ZT_OK(zipc_segment_open(name, &seg2));
    ZT_ASSERT(zipc_segment_base(seg) != zipc_segment_base(seg2));
    ZT_OK(zipc_segment_add_entry(seg2, "late", 40, NULL)); /* added after seg2 opened */
    ZT_OK(zipc_segment_find(seg, "late", &a));
    ZT_OK(zipc_segment_find(seg2, "late", &b));
    ZT_EQ_U64(a.offset, b.offset);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), zipc_segment_bytes_used(seg2));
    zipc_segment_close(seg2);
    zipc_segment_close(seg);
}

ZTEST(strerror_names_every_documented_code, ZT_FAST)
{
    const int codes[] = {EINVAL, ENAMETOOLONG, ENOENT, EEXIST,    ENOSPC, EBADMSG,    EPROTO, ERANGE,
                         EROFS,  EAGAIN,       ETIMEDOUT, ENOMEM, EACCES, EOWNERDEAD, EPERM,  EOVERFLOW};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = zipc_strerror(-codes[i]);
        ZT_ASSERT(s && strcmp(s, "system error") != 0);
        ZT_ASSERT(strcmp(s, zipc_strerror(codes[i])) == 0);
    }
    ZT_ASSERT(strcmp(zipc_strerror(0), "success") == 0);
    ZT_ASSERT(zipc_strerror(-EXDEV) != NULL);
    ZT_ASSERT(zipc_strerror(INT32_MIN + 1) != NULL);
    ZT_ASSERT(strcmp(zipc_version(), "0.1.0") == 0);
}

/* ---- the bytes (FORMAT.md section 4, the Array part) ----------------------------- */

ZTEST(segment_with_array_matches_format_section_4_byte_for_byte, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, MIB, 64, &seg));
    ZT_OK(zipc_array_create(seg, "arr", sizeof(int32_t), 10, &a));
    for (int32_t i = 0; i < 10; i++)
        ZT_OK(zipc_array_set(a, (uint64_t)i, &(int32_t){i * i}));
    zipc_array_close(a);
    zipc_segment_close(seg);

    size_t len;
    uint8_t *m = read_shm_file(name, &len);
    uint8_t *named = calloc(len, 1); /* 1 where a byte has a stated value */
    ZT_ASSERT(named);
    ZT_EQ(len, MIB);
    static const uint8_t magic_bytes[4] = {0x4D, 0x50, 0x49, 0x5A};
    ZT_ASSERT(memcmp(m, magic_bytes, 4) == 0);
    ZT_EQ_U64(get_u32(m, 0x00), 0x5A49504D);
    ZT_EQ_U64(get_u32(m, 0x04), 2);       /* version */
    ZT_EQ_U64(get_u32(m, 0x08), 1);       /* entry_count */
    ZT_EQ_U64(get_u32(m, 0x0C), 64);      /* max_entries */
    ZT_EQ_U64(get_u64(m, 0x10), 0x100000); /* memory_size */
    ZT_EQ_U64(get_u64(m, 0x18), 0xC50);   /* next_offset = 0xC20 + 48 */
    memset(named, 1, 32);
    /* entry 0 at 32: "arr", zero-padded name field, offset 0xC20, size 48 */
    ZT_ASSERT(memcmp(m + 32, "arr", 4) == 0);
    ZT_EQ_U64(get_u64(m, 32 + 32), 0xC20);
    ZT_EQ_U64(get_u64(m, 32 + 40), 48);
    memset(named + 32, 1, 3); /* the name's zero padding must be zero like the rest */
    memset(named + 64, 1, 16);
    /* the array: capacity 10, then arr[i] = i*i as int32 */
    ZT_EQ_U64(get_u64(m, 0xC20), 10);
    memset(named + 0xC20, 1, 8);
    for (uint32_t i = 0; i < 10; i++) {
        ZT_EQ_U64(get_u32(m, 0xC28 + 4 * i), i * i);
        if (i * i != 0)
            memset(named + 0xC28 + 4 * i, 1, 4);
    }
    for (size_t i = 0; i < len; i++)
        if (!named[i] && m[i] != 0)
            zt_fail(__FILE__, __LINE__, "byte 0x%zx is 0x%02x, expected 0", i, m[i]);
    free(named);
    free(m);
}

/* ---- several processes adding entries at once ------------------------------------ */

struct adder_arg {
    const char *name;
    zipc_segment *inherited; /* use this handle (forked copy) instead of opening one */
    zt_gate *gate;
    int id, per;
};

static uint64_t entry_size_for(int id, int i) { return 8 + (uint64_t)((id * 131 + i * 17) % 57); }

/* Every byte of entry (ID, I) holds this pattern: overlapping ranges show up. */
static uint8_t entry_fill(int id, int i) { return (uint8_t)(1 + (id * 37 + i) % 251); }

static void adder_worker(void *p)
{
    struct adder_arg *a = p;
    zipc_segment *seg = a->inherited;
    if (!seg)
        ZT_OK(zipc_segment_open(a->name, &seg));
    zt_gate_wait(a->gate);
    for (int i = 0; i < a->per; i++) {
        char ent[32];
        uint64_t off, size = entry_size_for(a->id, i);
        snprintf(ent, sizeof(ent), "p%d-%d", a->id, i);
        ZT_OK(zipc_segment_add_entry(seg, ent, size, &off));
        memset((uint8_t *)zipc_segment_base(seg) + off, entry_fill(a->id, i), size);
    }
    if (!a->inherited)
        zipc_segment_close(seg);
}

static int cmp_info_offset(const void *x, const void *y)
{
    const zipc_entry_info *a = x, *b = y;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Every entry (id, i) present once, its bytes intact, no ranges overlapping. */
static void check_adders_result(zipc_segment *seg, int nproc, int per)
{
    uint32_t n = zipc_segment_entry_count(seg);
    ZT_EQ(n, (uint32_t)(nproc * per));
    zipc_entry_info *all = calloc(n, sizeof(*all));
    uint8_t *seen = calloc((size_t)nproc * (size_t)per, 1);
    ZT_ASSERT(all && seen);
    for (uint32_t k = 0; k < n; k++) {
        ZT_OK(zipc_segment_entry_at(seg, k, &all[k]));
        int id, i;
        ZT_EQ(sscanf(all[k].name, "p%d-%d", &id, &i), 2);
        ZT_ASSERT(id >= 0 && id < nproc && i >= 0 && i < per);
        ZT_EQ(seen[id * per + i], 0);
        seen[id * per + i] = 1;
        ZT_EQ_U64(all[k].size, entry_size_for(id, i));
        const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + all[k].offset;
        for (uint64_t b = 0; b < all[k].size; b++)
            ZT_EQ(p[b], entry_fill(id, i));
    }
    qsort(all, n, sizeof(*all), cmp_info_offset);
    for (uint32_t k = 1; k < n; k++)
        ZT_ASSERT(all[k - 1].offset + all[k - 1].size <= all[k].offset);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), all[n - 1].offset + all[n - 1].size);
    free(all);
    free(seen);
}

static void run_adders(bool inherit, int nproc, int per)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(name, 4 * MIB, (uint32_t)(nproc * per), &seg));
    zt_gate gate;
    zt_gate_init(&gate);
    struct adder_arg *args = calloc((size_t)nproc, sizeof(*args));
    pid_t *pids = calloc((size_t)nproc, sizeof(*pids));
    for (int i = 0; i < nproc; i++) {
        args[i] = (struct adder_arg){name, inherit ? seg : NULL, &gate, i, per};
        pids[i] = zt_fork(adder_worker, &args[i]);
    }
    zt_gate_open(&gate);
    for (int i = 0; i < nproc; i++)
        zt_wait_ok(pids[i]);
    check_adders_result(seg, nproc, per);
    /* the table is full now: one more is -ENOSPC by entries */
    ZT_ERR(zipc_segment_add_entry(seg, "extra", 8, NULL), -ENOSPC);
    zipc_segment *again;
    ZT_OK(zipc_segment_open(name, &again)); /* and it still validates */
    zipc_segment_close(again);
    free(args);
    free(pids);
    zipc_segment_close(seg);
}

ZTEST(segment_concurrent_adders_lose_no_entry_and_never_overlap, ZT_MEDIUM)
{
    run_adders(false, (int)zt_env_u64("ZIPC_SEG_ADDERS", 6), /* more than the cores */
               (int)zt_env_u64("ZIPC_SEG_ADDS_PER_PROC", 40));
}

ZTEST(segment_many_concurrent_adders_lose_no_entry_and_never_overlap, ZT_SLOW)
{
    run_adders(false, (int)zt_env_u64("ZIPC_SEG_ADDERS_SLOW", 16),
               (int)zt_env_u64("ZIPC_SEG_ADDS_PER_PROC_SLOW", 250));
}

/* Regression (fork-shared lock): the adders' lock was flock(2) on the handle's
 * descriptor. fork() shares that open file description, so a parent and its
 * children adding through the same inherited handle did not exclude each
 * other and entries were lost or overlapped. */
ZTEST(segment_adders_through_a_handle_inherited_by_fork_exclude_each_other, ZT_MEDIUM)
{
    run_adders(true, (int)zt_env_u64("ZIPC_SEG_ADDERS", 6),
               (int)zt_env_u64("ZIPC_SEG_ADDS_PER_PROC", 40));
}

struct thread_adder {
    const char *name;
    pthread_barrier_t *start;
    int id, per;
};

static void *thread_adder_main(void *p)
{
    struct thread_adder *t = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(t->name, &seg)); /* its own mapping */
    pthread_barrier_wait(t->start);
    for (int i = 0; i < t->per; i++) {
        char ent[32];
        uint64_t off, size = entry_size_for(t->id, i);
        snprintf(ent, sizeof(ent), "p%d-%d", t->id, i);
        ZT_OK(zipc_segment_add_entry(seg, ent, size, &off));
        memset((uint8_t *)zipc_segment_base(seg) + off, entry_fill(t->id, i), size);
        zipc_entry_info info; /* readers run alongside the adders */
        ZT_OK(zipc_segment_find(seg, ent, &info));
        ZT_EQ_U64(info.offset, off);
    }
    zipc_segment_close(seg);
    return NULL;
}

ZTEST(segment_concurrent_adders_thread_variant_lose_no_entry, ZT_MEDIUM)
{
    enum { NTHREADS = 4 };
    int per = (int)zt_env_u64("ZIPC_SEG_ADDS_PER_PROC", 40);
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(name, 4 * MIB, (uint32_t)(NTHREADS * per), &seg));
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, NTHREADS);
    pthread_t th[NTHREADS];
    struct thread_adder args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (struct thread_adder){name, &start, i, per};
        ZT_ASSERT(pthread_create(&th[i], NULL, thread_adder_main, &args[i]) == 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    check_adders_result(seg, NTHREADS, per);
    zipc_segment_close(seg);
}

static void same_name_worker(void *p)
{
    struct race_arg *a = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(a->name, &seg));
    zt_gate_wait(a->gate);
    int r = zipc_array_create(seg, "same", 8, 16, &(zipc_array *){0});
    a->results[a->index] = r == 0 ? 1 : r == -EEXIST ? 2 : 100 + -r;
    zipc_segment_close(seg);
}

ZTEST(segment_racing_adders_of_one_name_exactly_one_wins, ZT_MEDIUM)
{
    enum { NPROC = 8 };
    int rounds = (int)zt_env_u64("ZIPC_SEG_RACE_ROUNDS", 10);
    for (int round = 0; round < rounds; round++) {
        char sfx[16];
        snprintf(sfx, sizeof(sfx), "r%d", round);
        const char *name = zt_name(sfx);
        zipc_segment *seg;
        ZT_OK(zipc_segment_create(name, 64 * KIB, 0, &seg));
        int *results = shared_buf(sizeof(int) * NPROC);
        zt_gate gate;
        zt_gate_init(&gate);
        struct race_arg args[NPROC];
        pid_t pids[NPROC];
        for (int i = 0; i < NPROC; i++) {
            args[i] = (struct race_arg){name, &gate, results, i};
            pids[i] = zt_fork(same_name_worker, &args[i]);
        }
        zt_gate_open(&gate);
        int winners = 0;
        for (int i = 0; i < NPROC; i++) {
            zt_wait_ok(pids[i]);
            ZT_ASSERT(results[i] == 1 || results[i] == 2);
            winners += results[i] == 1;
        }
        ZT_EQ(winners, 1);
        ZT_EQ(zipc_segment_entry_count(seg), 1);
        munmap(results, sizeof(int) * NPROC);
        zipc_segment_close(seg);
        ZT_OK(zipc_segment_unlink(name));
    }
}

/* Regression (stale next_offset in open): validate() read next_offset before
 * entry_count, so an open racing with an adder could pair an old next_offset
 * with a newer count and reject a good segment as -EBADMSG. The window is a
 * few instructions wide: this test catches it only now and then. */
static void reopen_worker(void *p)
{
    struct race_arg *a = p;
    zt_gate_wait(a->gate);
    int opens = 0;
    while (__atomic_load_n(&a->results[0], __ATOMIC_ACQUIRE) == 0 || opens < 10) {
        zipc_segment *seg;
        ZT_OK(zipc_segment_open(a->name, &seg));
        zipc_segment_close(seg);
        opens++;
    }
}

ZTEST(segment_open_while_entries_are_added_always_validates, ZT_MEDIUM)
{
    enum { NOPENERS = 2 };
    int adds = (int)zt_env_u64("ZIPC_SEG_OPEN_RACE_ADDS", 2000);
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(name, 4 * MIB, (uint32_t)adds, &seg));
    int *done = shared_buf(sizeof(int));
    zt_gate gate;
    zt_gate_init(&gate);
    struct race_arg arg = {name, &gate, done, 0};
    pid_t pids[NOPENERS];
    for (int i = 0; i < NOPENERS; i++)
        pids[i] = zt_fork(reopen_worker, &arg);
    zt_gate_open(&gate);
    for (int i = 0; i < adds; i++) {
        char ent[32];
        snprintf(ent, sizeof(ent), "e%d", i);
        ZT_OK(zipc_segment_add_entry(seg, ent, 8, NULL));
    }
    __atomic_store_n(done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < NOPENERS; i++)
        zt_wait_ok(pids[i]);
    zipc_segment_close(seg);
}

/* ---- crashes ------------------------------------------------------------------ */

struct crash_arg {
    const char *name;
    int point;
};

static void crash_adder(void *p)
{
    struct crash_arg *c = p;
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(c->name, &seg)); /* own descriptor: the kernel drops its lock */
    zipc__crash_at = c->point;
    zipc_array_create(seg, "doomed", 4, 64, &(zipc_array *){0});
    _exit(3); /* not reached: the crash point kills us */
}

static void late_adder(void *p)
{
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(p, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "after", 32, NULL));
    zipc_segment_close(seg);
}

ZTEST(segment_adder_killed_mid_add_blocks_nobody_and_leaves_no_entry, ZT_FAST)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    zipc_entry_info info;
    ZT_OK(zipc_segment_create(name, 64 * KIB, 8, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "before", 16, NULL));
    uint64_t used = zipc_segment_bytes_used(seg);
    struct crash_arg c = {name, 102};
    ZT_EQ(zt_wait(zt_fork(crash_adder, &c)), 128 + SIGKILL);
    /* the killed add is not visible (its bytes may be lost, never reused) */
    ZT_EQ(zipc_segment_entry_count(seg), 1);
    ZT_ERR(zipc_segment_find(seg, "doomed", &info), -ENOENT);
    ZT_ASSERT(zipc_segment_bytes_used(seg) >= used);
    /* another process can add (the lock died with its holder), and so can we */
    zt_wait_ok(zt_fork(late_adder, (void *)name));
    ZT_OK(zipc_segment_add_entry(seg, "doomed", 8, NULL)); /* the name is free */
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    zipc_segment *again;
    ZT_OK(zipc_segment_open(name, &again));
    ZT_OK(zipc_segment_find(again, "after", &info));
    ZT_EQ(zipc_segment_entry_count(again), 3);
    zipc_segment_close(again);
    zipc_segment_close(seg);
}

/* Kills itself inside its init callback, after dirtying the entry's bytes. */
static void dirty_then_die(void *mem, uint64_t size, void *ctx)
{
    (void)ctx;
    memset(mem, 0xAB, size);
    raise(SIGKILL);
}

static void crash_in_init(void *p)
{
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(p, &seg));
    zipc__seg_add(seg, "doomed", 256, dirty_then_die, NULL, NULL);
    _exit(3);
}

/* Regression (dirty reuse): next_offset was advanced only after the init
 * callbacks ran, so an adder killed inside init left dirty bytes that the next
 * adder received as its "zeroed" entry. */
ZTEST(segment_adder_killed_in_init_never_hands_out_dirty_bytes, ZT_FAST)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(name, 64 * KIB, 8, &seg));
    ZT_EQ(zt_wait(zt_fork(crash_in_init, (void *)name)), 128 + SIGKILL);
    uint64_t off;
    ZT_OK(zipc_segment_add_entry(seg, "fresh", 256, &off));
    const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + off;
    for (int i = 0; i < 256; i++)
        ZT_EQ(p[i], 0);
    zipc_array *a;
    ZT_OK(zipc_array_create(seg, "arr", 8, 16, &a));
    for (uint64_t i = 0; i < 16; i++) {
        uint64_t v;
        ZT_OK(zipc_array_load_u64(a, i, &v));
        ZT_EQ_U64(v, 0);
    }
    zipc_array_close(a);
    zipc_segment_close(seg);
}

static void crash_creator(void *p)
{
    zipc__crash_at = 101;
    zipc_segment_create(p, 256 * KIB, 0, &(zipc_segment *){0});
    _exit(3);
}

ZTEST(segment_creator_killed_before_publish_leaves_no_name_and_no_file, ZT_FAST)
{
    const char *name = zt_name(NULL);
    pid_t pid = zt_fork(crash_creator, (void *)name);
    ZT_EQ(zt_wait(pid), 128 + SIGKILL);
    ZT_ASSERT(!shm_exists(name));
    ZT_ERR(zipc_segment_open(name, &(zipc_segment *){0}), -ENOENT);
    ZT_EQ(tmp_leftovers(pid), 0);
    /* the name is free for a new create */
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(name, 64 * KIB, 0, &seg));
    zipc_segment_close(seg);
}

/* ---- a full /dev/shm ------------------------------------------------------------ */

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ZT_ASSERT(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* The test process itself is a disposable fork: it moves into its own mount
 * namespace and puts a 256 KiB tmpfs over /dev/shm. */
ZTEST(segment_create_on_full_dev_shm_is_enospc_and_leaves_nothing, ZT_FAST)
{
    int flags = CLONE_NEWNS | (geteuid() == 0 ? 0 : CLONE_NEWUSER);
    if (unshare(flags) != 0)
        zt_skip("cannot make a private mount namespace (unshare: %s)", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        zt_skip("cannot make mounts private: %s", strerror(errno));
    if (mount("zipc-test", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,mode=1777") != 0)
        zt_skip("cannot mount a tmpfs on /dev/shm: %s", strerror(errno));
    zipc_segment *seg = NULL, *small;
    ZT_ERR(zipc_segment_create(zt_name("big"), MIB, 0, &seg), -ENOSPC);
    ZT_ASSERT(seg == NULL);
    ZT_EQ(count_dir_entries("/dev/shm"), 0);
    /* room for one small segment; the next big one fails and leaves it alone */
    ZT_OK(zipc_segment_create(zt_name("small"), 128 * KIB, 0, &small));
    ZT_OK(zipc_segment_add_entry(small, "x", 64 * KIB, NULL));
    ZT_ERR(zipc_segment_create(zt_name("big"), 192 * KIB, 0, &seg), -ENOSPC);
    ZT_EQ(count_dir_entries("/dev/shm"), 1);
    ZT_ASSERT(!shm_exists(zt_name("big")));
    zipc_segment_options o = {.flags = ZIPC_SEGMENT_OPEN_EXISTING};
    bool created = true;
    ZT_ERR(zipc_segment_create_ex(zt_name("big"), 192 * KIB, 0, &o, &seg, &created), -ENOSPC);
    ZT_ASSERT(!created);
    ZT_EQ(count_dir_entries("/dev/shm"), 1);
    zipc_segment_close(small);
}

/* Without /proc (to link an O_TMPFILE file) create falls back to a named
 * temporary: it must still publish atomically, refuse an existing name, and
 * remove its temporary on every path. */
ZTEST(segment_create_without_proc_uses_a_named_temporary_and_removes_it, ZT_FAST)
{
    int flags = CLONE_NEWNS | (geteuid() == 0 ? 0 : CLONE_NEWUSER);
    if (unshare(flags) != 0)
        zt_skip("cannot make a private mount namespace (unshare: %s)", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        zt_skip("cannot make mounts private: %s", strerror(errno));
    if (mount("zipc-test", "/proc", "tmpfs", MS_NOSUID | MS_NODEV, "size=16k") != 0)
        zt_skip("cannot hide /proc: %s", strerror(errno));
    ZT_ASSERT(access("/proc/self/fd", X_OK) != 0);
    zipc_segment *seg, *seg2 = NULL;
    const char *name = zt_name(NULL);
    ZT_OK(zipc_segment_create(name, 64 * KIB, 0, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "x", 8, NULL));
    ZT_ERR(zipc_segment_create(name, 64 * KIB, 0, &seg2), -EEXIST);
    ZT_ERR(zipc_segment_create(zt_name("big"), UINT64_MAX / 2, 0, &seg2), -ENOSPC);
    ZT_ASSERT(seg2 == NULL);
    ZT_EQ(tmp_leftovers(getpid()), 0);
    ZT_OK(zipc_segment_open(name, &seg2));
    ZT_EQ(zipc_segment_entry_count(seg2), 1);
    zipc_segment_close(seg2);
    zipc_segment_close(seg);
}

/* ---- fork while another thread adds ------------------------------------------- */

struct busy_adder {
    zipc_segment *seg;
    int stop; /* atomic flag */
};

static void *busy_adder_main(void *p)
{
    struct busy_adder *b = p;
    for (int i = 0; !__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE); i++) {
        char ent[32];
        snprintf(ent, sizeof(ent), "busy%d", i);
        if (zipc_segment_add_entry(b->seg, ent, 8, NULL) == -ENOSPC)
            i = -1; /* keep going through the error path */
    }
    return NULL;
}

static void forked_child_uses_segment(void *p)
{
    struct busy_adder *b = p;
    char ent[32];
    snprintf(ent, sizeof(ent), "child%d", (int)getpid());
    int r = zipc_segment_add_entry(b->seg, ent, 8, NULL);
    ZT_ASSERT(r == 0 || r == -ENOSPC);
    zipc_segment_close(b->seg);
}

/* A process forked while one of its threads is inside an add (holding the
 * process's adders' mutex) must get a usable copy: its own adds and closes may
 * not deadlock on the mutex copied in the locked state. */
ZTEST(segment_fork_during_a_concurrent_add_leaves_the_child_able_to_add_and_close, ZT_MEDIUM)
{
    int forks = (int)zt_env_u64("ZIPC_SEG_FORKS", 40);
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(zt_name(NULL), 256 * KIB, 1000, &seg));
    struct busy_adder b = {seg, 0};
    pthread_t th;
    ZT_ASSERT(pthread_create(&th, NULL, busy_adder_main, &b) == 0);
    for (int i = 0; i < forks; i++)
        zt_wait_ok(zt_fork(forked_child_uses_segment, &b));
    __atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    zipc_segment_close(seg);
}

/* ---- batches (zipc__seg_add_many: composites are all or nothing) ---------------- */

static void fill_ab(void *mem, uint64_t size, void *ctx)
{
    memset(mem, *(const int *)ctx, size);
}

ZTEST(segment_add_many_publishes_all_entries_or_none, ZT_FAST)
{
    zipc_segment *seg;
    zipc_entry_info info;
    int byte = 0x5A;
    ZT_OK(zipc_segment_create(zt_name(NULL), 8 * KIB, 4, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "x", 8, NULL));
    uint64_t used = zipc_segment_bytes_used(seg);

    /* a duplicate (with the table or inside the batch), a bad name, a zero
     * size, too few slots, too few bytes: nothing becomes visible */
    zipc__new_entry dup_table[] = {{.name = "n1", .size = 8}, {.name = "x", .size = 8}};
    ZT_ERR(zipc__seg_add_many(seg, dup_table, 2), -EEXIST);
    zipc__new_entry dup_batch[] = {{.name = "n1", .size = 8}, {.name = "n1", .size = 8}};
    ZT_ERR(zipc__seg_add_many(seg, dup_batch, 2), -EEXIST);
    zipc__new_entry bad_name[] = {{.name = "n1", .size = 8}, {.name = "", .size = 8}};
    ZT_ERR(zipc__seg_add_many(seg, bad_name, 2), -EINVAL);
    zipc__new_entry zero[] = {{.name = "n1", .size = 8}, {.name = "n2", .size = 0}};
    ZT_ERR(zipc__seg_add_many(seg, zero, 2), -EINVAL);
    zipc__new_entry slots[] = {{.name = "n1", .size = 8}, {.name = "n2", .size = 8},
                               {.name = "n3", .size = 8}, {.name = "n4", .size = 8}};
    ZT_ERR(zipc__seg_add_many(seg, slots, 4), -ENOSPC);
    zipc__new_entry bytes[] = {{.name = "n1", .size = 8}, {.name = "n2", .size = 8 * KIB}};
    ZT_ERR(zipc__seg_add_many(seg, bytes, 2), -ENOSPC);
    ZT_ERR(zipc__seg_add_many(seg, bytes, 0), -EINVAL);
    ZT_EQ(zipc_segment_entry_count(seg), 1);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), used);
    ZT_ERR(zipc_segment_find(seg, "n1", &info), -ENOENT);

    /* success: in order, each initialised before it is visible, the last user-named */
    zipc__new_entry ok[] = {{.name = "c_aux", .size = 5, .init = fill_ab, .ctx = &byte},
                            {.name = "c", .size = 16, .init = fill_ab, .ctx = &byte}};
    ZT_OK(zipc__seg_add_many(seg, ok, 2));
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    ZT_OK(zipc_segment_entry_at(seg, 1, &info));
    ZT_ASSERT(strcmp(info.name, "c_aux") == 0);
    ZT_EQ_U64(info.offset, ok[0].offset);
    ZT_OK(zipc_segment_entry_at(seg, 2, &info));
    ZT_ASSERT(strcmp(info.name, "c") == 0);
    ZT_EQ_U64(ok[1].offset, (ok[0].offset + 5 + 7) & ~(uint64_t)7);
    const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + ok[1].offset;
    for (int i = 0; i < 16; i++)
        ZT_EQ(p[i], 0x5A);
    zipc_segment_close(seg);
}

static void crash_in_batch(void *p)
{
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(p, &seg));
    zipc__crash_at = 102;
    zipc__new_entry es[] = {{.name = "b_state", .size = 8}, {.name = "b", .size = 1}};
    zipc__seg_add_many(seg, es, 2);
    _exit(3);
}

ZTEST(segment_add_many_killed_before_publish_shows_no_part_of_the_batch, ZT_FAST)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    zipc_entry_info info;
    ZT_OK(zipc_segment_create(name, 8 * KIB, 4, &seg));
    ZT_EQ(zt_wait(zt_fork(crash_in_batch, (void *)name)), 128 + SIGKILL);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_ERR(zipc_segment_find(seg, "b_state", &info), -ENOENT);
    ZT_ERR(zipc_segment_find(seg, "b", &info), -ENOENT);
    zipc__new_entry es[] = {{.name = "b_state", .size = 8}, {.name = "b", .size = 1}};
    ZT_OK(zipc__seg_add_many(seg, es, 2));
    ZT_EQ(zipc_segment_entry_count(seg), 2);
    zipc_segment_close(seg);
}
