/* Open treats a segment as untrusted: one test per validation rule, each on a
 * good segment with one field corrupted through a raw mapping of
 * /dev/shm/<name> (or a crafted file), expecting the exact code and no crash.
 * Then corruption after open: the handle's validated copies keep it safe. */
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The good segment: 4 KiB, 4 entries, table 32 + 4*48 = 224 bytes.
 *   entry 0 "a": offset 224 size 16  (224..240)
 *   entry 1 "b": offset 240 size 24  (240..264)
 *   next_offset 264 */
#define GOOD_SIZE 4096u
#define GOOD_MAX 4u
#define GOOD_TABLE 224u
#define OFF_MAGIC 0x00
#define OFF_VERSION 0x04
#define OFF_COUNT 0x08
#define OFF_MAX 0x0C
#define OFF_MEMSIZE 0x10
#define OFF_NEXT 0x18
#define ENTRY(i) (32u + 48u * (i))
#define E_NAME 0
#define E_OFFSET 32
#define E_SIZE 40

static const char *shm_path(const char *name)
{
    static char buf[300];
    snprintf(buf, sizeof(buf), "/dev/shm/%s", name + 1);
    return buf;
}

static void put_u32(uint8_t *m, size_t off, uint32_t v) { memcpy(m + off, &v, sizeof(v)); }
static void put_u64(uint8_t *m, size_t off, uint64_t v) { memcpy(m + off, &v, sizeof(v)); }

static const char *make_good(void)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    uint64_t off;
    ZT_OK(zipc_segment_create(name, GOOD_SIZE, GOOD_MAX, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "a", 16, &off));
    ZT_EQ_U64(off, GOOD_TABLE);
    ZT_OK(zipc_segment_add_entry(seg, "b", 24, &off));
    ZT_EQ_U64(off, 240);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), 264);
    zipc_segment_close(seg);
    return name;
}

/* A writable raw mapping of the whole file /dev/shm/NAME. */
static uint8_t *raw_map(const char *name, size_t *len)
{
    int fd = open(shm_path(name), O_RDWR);
    ZT_ASSERT(fd >= 0);
    struct stat st;
    ZT_ASSERT(fstat(fd, &st) == 0);
    uint8_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ZT_ASSERT(m != MAP_FAILED);
    close(fd);
    *len = (size_t)st.st_size;
    return m;
}

/* Both a read-write and a read-only open must fail with WANT. */
static void expect_open(const char *name, int want)
{
    zipc_segment *seg = NULL;
    zipc_segment_options o = {.flags = ZIPC_SEGMENT_OPEN_EXISTING};
    ZT_ERR(zipc_segment_open(name, &seg), want);
    ZT_ASSERT((seg != NULL) == (want == 0));
    zipc_segment_close(seg);
    seg = NULL;
    ZT_ERR(zipc_segment_open_ex(name, ZIPC_SEGMENT_READONLY, &seg), want);
    ZT_ASSERT((seg != NULL) == (want == 0));
    zipc_segment_close(seg);
    seg = NULL;
    ZT_ERR(zipc_segment_create_ex(name, GOOD_SIZE, GOOD_MAX, &o, &seg, NULL), want);
    zipc_segment_close(seg);
}

/* A good segment with one change applied, then the open result checked. */
#define CORRUPT_CASE(want, body)                                                               \
    do {                                                                                       \
        const char *name_ = make_good();                                                       \
        size_t len_;                                                                           \
        uint8_t *m = raw_map(name_, &len_);                                                    \
        body;                                                                                  \
        expect_open(name_, want);                                                              \
        munmap(m, len_);                                                                       \
        ZT_OK(zipc_segment_unlink(name_));                                                     \
    } while (0)

/* A file of exactly LEN bytes from DATA as /dev/shm/NAME. */
static void write_file(const char *name, const void *data, size_t len)
{
    int fd = open(shm_path(name), O_RDWR | O_CREAT | O_EXCL, 0600);
    ZT_ASSERT(fd >= 0);
    ZT_ASSERT(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

ZTEST(corrupt_baseline_good_segment_opens, ZT_FAST)
{
    CORRUPT_CASE(0, (void)m);
}

ZTEST(corrupt_file_smaller_than_the_header_is_ebadmsg, ZT_FAST)
{
    uint8_t good[32];
    const char *src = make_good();
    size_t len;
    uint8_t *m = raw_map(src, &len);
    memcpy(good, m, sizeof(good));
    munmap(m, len);
    const size_t sizes[] = {0, 1, 8, 31};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char sfx[16];
        snprintf(sfx, sizeof(sfx), "s%zu", sizes[i]);
        const char *name = zt_name(sfx);
        write_file(name, good, sizes[i]);
        expect_open(name, -EBADMSG);
    }
    /* a bare header (32 bytes) with a 64-entry table that is not there */
    write_file(zt_name("h32"), good, 32);
    expect_open(zt_name("h32"), -EBADMSG);
}

ZTEST(corrupt_bad_magic_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_MAGIC, 0x5A49504E));
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_MAGIC, 0x4D50495A)); /* byte-swapped */
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_MAGIC, 0));
}

ZTEST(corrupt_version_1_is_eproto, ZT_FAST)
{
    CORRUPT_CASE(-EPROTO, put_u32(m, OFF_VERSION, 1));
}

ZTEST(corrupt_version_3_and_later_is_eproto, ZT_FAST)
{
    CORRUPT_CASE(-EPROTO, put_u32(m, OFF_VERSION, 3));
    CORRUPT_CASE(-EPROTO, put_u32(m, OFF_VERSION, UINT32_MAX));
}

ZTEST(corrupt_version_0_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_VERSION, 0));
}

ZTEST(corrupt_stored_max_entries_0_is_treated_as_64, ZT_FAST)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(name, 16 * 1024, 64, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "e0", 8, NULL));
    ZT_OK(zipc_segment_add_entry(seg, "e1", 8, NULL));
    zipc_segment_close(seg);
    size_t len;
    uint8_t *m = raw_map(name, &len);
    put_u32(m, OFF_MAX, 0); /* as very old writers left it */
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_EQ(zipc_segment_max_entries(seg), 64);
    ZT_EQ(zipc_segment_entry_count(seg), 2);
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "e1", &info));
    for (int i = 2; i < 64; i++) {
        char ent[16];
        snprintf(ent, sizeof(ent), "e%d", i);
        ZT_OK(zipc_segment_add_entry(seg, ent, 8, NULL));
    }
    ZT_ERR(zipc_segment_add_entry(seg, "e64", 8, NULL), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 64);
    ZT_EQ_U64(m[OFF_MAX], 0); /* honoured, not rewritten */
    zipc_segment_close(seg);
    ZT_OK(zipc_segment_open(name, &seg)); /* all 64 entries validate */
    ZT_OK(zipc_segment_find(seg, "e63", &info));
    zipc_segment_close(seg);
    munmap(m, len);

    /* 0 means 64, so a file too small for a 64-entry table is corrupt */
    const char *small = zt_name("small");
    ZT_OK(zipc_segment_create(small, 2048, 4, &seg));
    zipc_segment_close(seg);
    m = raw_map(small, &len);
    put_u32(m, OFF_MAX, 0);
    expect_open(small, -EBADMSG);
    munmap(m, len);
}

ZTEST(corrupt_max_entries_whose_table_exceeds_the_file_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_MAX, (GOOD_SIZE - 32) / 48 + 1));
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_MAX, UINT32_MAX));
    /* a table inside the file but past memory_size */
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_MEMSIZE, GOOD_TABLE - 8); put_u64(m, OFF_NEXT, GOOD_TABLE - 8);
                 put_u32(m, OFF_COUNT, 0));
}

ZTEST(corrupt_entry_count_above_max_entries_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_COUNT, GOOD_MAX + 1));
    CORRUPT_CASE(-EBADMSG, put_u32(m, OFF_COUNT, UINT32_MAX));
}

ZTEST(corrupt_entry_name_without_nul_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, memset(m + ENTRY(1) + E_NAME, 'x', 32));
    /* a NUL in the last byte is fine: 31 bytes is the longest name */
    CORRUPT_CASE(0, memset(m + ENTRY(1) + E_NAME, 'x', 31));
}

ZTEST(corrupt_empty_entry_name_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, m[ENTRY(0) + E_NAME] = 0);
}

ZTEST(corrupt_entry_offset_not_8_aligned_is_ebadmsg, ZT_FAST)
{
    /* 241 + 23 still ends at next_offset: only the alignment is wrong */
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_OFFSET, 241); put_u64(m, ENTRY(1) + E_SIZE, 23));
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_OFFSET, 244); put_u64(m, ENTRY(1) + E_SIZE, 20));
}

ZTEST(corrupt_entry_offset_inside_the_table_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(0) + E_OFFSET, GOOD_TABLE - 8));
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(0) + E_OFFSET, 0));
}

ZTEST(corrupt_entry_end_beyond_memory_size_is_ebadmsg, ZT_FAST)
{
    /* memory_size 4000 < file 4096, next_offset at memory_size: the entry ends
     * inside the file but 8 bytes past memory_size */
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_MEMSIZE, 4000); put_u64(m, OFF_NEXT, 4000);
                 put_u64(m, ENTRY(1) + E_SIZE, 4000 - 240 + 8));
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_OFFSET, 8192));
}

ZTEST(corrupt_entry_offset_plus_size_overflowing_u64_is_ebadmsg, ZT_FAST)
{
    /* 240 + size wraps to 8: a naive "off + size <= memory_size" passes */
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_SIZE, UINT64_MAX - 240 + 1 + 8));
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_SIZE, UINT64_MAX));
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_OFFSET, UINT64_MAX - 7); put_u64(m, ENTRY(1) + E_SIZE, 16));
}

ZTEST(corrupt_overlapping_entries_are_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_OFFSET, 232)); /* into "a" */
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(1) + E_OFFSET, 224); put_u64(m, ENTRY(1) + E_SIZE, 16));
    /* "a" enclosing "b", listed in the other order */
    CORRUPT_CASE(-EBADMSG, put_u64(m, ENTRY(0) + E_SIZE, 40));
}

ZTEST(corrupt_duplicate_entry_names_are_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, memcpy(m + ENTRY(1) + E_NAME, "a", 2));
}

ZTEST(corrupt_memory_size_larger_than_the_file_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_MEMSIZE, GOOD_SIZE + 8));
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_MEMSIZE, UINT64_MAX));
    /* smaller than the file is fine: the rest is simply not used */
    CORRUPT_CASE(0, put_u64(m, OFF_MEMSIZE, 1024));
}

ZTEST(corrupt_next_offset_out_of_range_is_ebadmsg, ZT_FAST)
{
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_NEXT, GOOD_TABLE - 1)); /* inside the table */
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_NEXT, GOOD_SIZE + 1));  /* past memory_size */
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_NEXT, UINT64_MAX));
    CORRUPT_CASE(-EBADMSG, put_u64(m, OFF_NEXT, 260));            /* before "b" ends */
    CORRUPT_CASE(0, put_u64(m, OFF_NEXT, GOOD_SIZE));             /* all taken: fine */
}

ZTEST(corrupt_slots_past_entry_count_are_ignored, ZT_FAST)
{
    CORRUPT_CASE(0, memset(m + ENTRY(2), 0xFF, 2 * 48));
}

/* ---- corruption after open ------------------------------------------------------- */

ZTEST(corrupt_table_after_open_gives_ebadmsg_not_a_crash, ZT_FAST)
{
    const char *name = make_good();
    zipc_segment *seg;
    zipc_entry_info info;
    ZT_OK(zipc_segment_open(name, &seg));
    size_t len;
    uint8_t *m = raw_map(name, &len);

    put_u64(m, ENTRY(1) + E_OFFSET, UINT64_MAX - 7);
    ZT_ERR(zipc_segment_entry_at(seg, 1, &info), -EBADMSG);
    ZT_ERR(zipc_segment_find(seg, "b", &info), -EBADMSG);
    ZT_ERR(zipc_array_open(seg, "b", 1, &(zipc_array *){0}), -EBADMSG);
    put_u64(m, ENTRY(1) + E_OFFSET, 240);
    memset(m + ENTRY(0) + E_NAME, 'z', 32);
    ZT_ERR(zipc_segment_entry_at(seg, 0, &info), -EBADMSG);
    ZT_OK(zipc_segment_find(seg, "b", &info)); /* the other entry still works */
    memcpy(m + ENTRY(0) + E_NAME, "a\0", 2);

    put_u32(m, OFF_COUNT, UINT32_MAX);
    ZT_ERR(zipc_segment_entry_at(seg, 0, &info), -EBADMSG);
    ZT_ERR(zipc_segment_find(seg, "a", &info), -EBADMSG);
    ZT_ERR(zipc_segment_add_entry(seg, "c", 8, NULL), -EBADMSG);
    ZT_EQ(zipc_segment_entry_count(seg), GOOD_MAX); /* clamped */
    put_u32(m, OFF_COUNT, 2);

    put_u64(m, OFF_NEXT, UINT64_MAX);
    ZT_ERR(zipc_segment_add_entry(seg, "c", 8, NULL), -EBADMSG);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), GOOD_SIZE);
    ZT_EQ_U64(zipc_segment_bytes_free(seg), 0);
    put_u64(m, OFF_NEXT, 1);
    ZT_ERR(zipc_segment_add_entry(seg, "c", 8, NULL), -EBADMSG);
    put_u64(m, OFF_NEXT, 264);

    /* header fields the handle copied at open are not re-read */
    put_u32(m, OFF_MAX, 1000);
    put_u64(m, OFF_MEMSIZE, UINT64_MAX);
    ZT_EQ(zipc_segment_max_entries(seg), GOOD_MAX);
    ZT_EQ_U64(zipc_segment_size(seg), GOOD_SIZE);
    ZT_OK(zipc_segment_add_entry(seg, "c", 8, NULL));
    ZT_OK(zipc_segment_add_entry(seg, "d", 8, NULL));
    ZT_ERR(zipc_segment_add_entry(seg, "e", 8, NULL), -ENOSPC);
    ZT_ERR(zipc_segment_add_entry(seg, "e", GOOD_SIZE, NULL), -ENOSPC);
    munmap(m, len);
    zipc_segment_close(seg);
}

/* ---- Array entries ----------------------------------------------------------------- */

ZTEST(corrupt_array_entries_are_ebadmsg_on_open, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a;
    uint64_t off;
    ZT_OK(zipc_segment_create(zt_name(NULL), 64 * 1024, 0, &seg));
    uint8_t *base = zipc_segment_base(seg);
    /* too small for the 8-byte header */
    ZT_OK(zipc_segment_add_entry(seg, "tiny", 4, NULL));
    ZT_ERR(zipc_array_open(seg, "tiny", 1, &a), -EBADMSG);
    /* a capacity whose capacity * elem_size overflows */
    ZT_OK(zipc_segment_add_entry(seg, "ovf", 24, &off));
    put_u64(base, off, UINT64_MAX / 2 + 1);
    ZT_ERR(zipc_array_open(seg, "ovf", 2, &a), -EBADMSG);
    ZT_ERR(zipc_array_open(seg, "ovf", 16, &a), -EBADMSG);
    /* a capacity changed under an open handle: the handle keeps its copy */
    zipc_array *ok;
    ZT_OK(zipc_array_create(seg, "arr", 4, 4, &ok));
    ZT_OK(zipc_segment_find(seg, "arr", &(zipc_entry_info){0}));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "arr", &info));
    put_u64(base, info.offset, 1000);
    ZT_ERR(zipc_array_open(seg, "arr", 4, &a), -EBADMSG);
    ZT_EQ(zipc_array_capacity(ok), 4);
    ZT_OK(zipc_array_store_u32(ok, 3, 1));
    ZT_ERR(zipc_array_store_u32(ok, 4, 1), -ERANGE);
    put_u64(base, info.offset, 0);
    ZT_ERR(zipc_array_open(seg, "arr", 4, &a), -EBADMSG);
    zipc_array_close(ok);
    /* bad arguments */
    ZT_ERR(zipc_array_open(seg, "arr", 0, &a), -EINVAL);
    ZT_ERR(zipc_array_open(seg, "arr", 4, NULL), -EINVAL);
    ZT_ERR(zipc_array_open(NULL, "arr", 4, &a), -EINVAL);
    ZT_ERR(zipc_array_open(seg, NULL, 4, &a), -EINVAL);
    ZT_ERR(zipc_array_create(NULL, "x", 4, 1, &a), -EINVAL);
    ZT_ERR(zipc_array_create(seg, "x", 4, 1, NULL), -EINVAL);
    ZT_ERR(zipc_array_create(seg, NULL, 4, 1, &a), -EINVAL);
    ZT_ERR(zipc_array_get(NULL, 0, &off), -EINVAL);
    zipc_segment_close(seg);
}

ZTEST(array_with_the_old_16_byte_header_is_read_as_a_kindness, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a;
    uint64_t off;
    ZT_OK(zipc_segment_create(zt_name(NULL), 64 * 1024, 0, &seg));
    uint8_t *base = zipc_segment_base(seg);
    ZT_OK(zipc_segment_add_entry(seg, "old", 16 + 5 * 4, &off));
    put_u64(base, off, 5);     /* capacity */
    put_u64(base, off + 8, 4); /* elem_size */
    put_u32(base, off + 16 + 4 * 4, 0xBEEF);
    ZT_OK(zipc_array_open(seg, "old", 4, &a));
    ZT_EQ(zipc_array_capacity(a), 5);
    uint32_t v;
    ZT_OK(zipc_array_load_u32(a, 4, &v));
    ZT_EQ(v, 0xBEEF);
    zipc_array_close(a);
    /* the stored elem_size must match the opener's */
    ZT_ERR(zipc_array_open(seg, "old", 2, &a), -EBADMSG);
    put_u64(base, off + 8, 2);
    ZT_ERR(zipc_array_open(seg, "old", 4, &a), -EBADMSG);
    zipc_segment_close(seg);
}

ZTEST(array_bounds_and_width_checks_cover_every_operation, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a, *b;
    uint32_t v32 = 0;
    uint64_t v64 = 0;
    ZT_OK(zipc_segment_create(zt_name(NULL), 64 * 1024, 0, &seg));
    ZT_OK(zipc_array_create(seg, "a", 4, 2, &a));
    ZT_OK(zipc_array_create(seg, "b", 8, 2, &b));
    ZT_EQ(zipc_array_elem_size(a), 4);
    ZT_ERR(zipc_array_get(a, 0, NULL), -EINVAL);
    ZT_ERR(zipc_array_set(a, 0, NULL), -EINVAL);
    ZT_ERR(zipc_array_set(NULL, 0, &v32), -EINVAL);
    ZT_ASSERT(zipc_array_at(NULL, 0) == NULL);
    ZT_ERR(zipc_array_load_u32(a, 0, NULL), -EINVAL);
    ZT_ERR(zipc_array_load_u64(b, 0, NULL), -EINVAL);
    ZT_ERR(zipc_array_compare_exchange_u32(a, 0, NULL, 1), -EINVAL);
    ZT_ERR(zipc_array_compare_exchange_u64(b, 0, NULL, 1), -EINVAL);
    ZT_ERR(zipc_array_store_u32(NULL, 0, 1), -EINVAL);
    /* the wrong width for the element size */
    ZT_ERR(zipc_array_load_u32(b, 0, &v32), -EINVAL);
    ZT_ERR(zipc_array_store_u64(a, 0, 1), -EINVAL);
    ZT_ERR(zipc_array_fetch_add_u64(a, 0, 1, NULL), -EINVAL);
    ZT_ERR(zipc_array_compare_exchange_u64(a, 0, &v64, 1), -EINVAL);
    /* out of range, every operation */
    ZT_ERR(zipc_array_store_u32(a, 2, 1), -ERANGE);
    ZT_ERR(zipc_array_exchange_u32(a, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_compare_exchange_u32(a, 2, &v32, 1), -ERANGE);
    ZT_ERR(zipc_array_fetch_add_u32(a, UINT64_MAX, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_fetch_sub_u32(a, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_fetch_and_u32(a, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_fetch_or_u32(a, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_fetch_xor_u32(a, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_load_u64(b, 2, &v64), -ERANGE);
    ZT_ERR(zipc_array_store_u64(b, 2, 1), -ERANGE);
    ZT_ERR(zipc_array_exchange_u64(b, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_compare_exchange_u64(b, 2, &v64, 1), -ERANGE);
    ZT_ERR(zipc_array_fetch_sub_u64(b, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_fetch_and_u64(b, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_fetch_or_u64(b, 2, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_fetch_xor_u64(b, UINT64_MAX, 1, NULL), -ERANGE);
    ZT_ERR(zipc_array_get(b, UINT64_MAX, &v64), -ERANGE);
    /* 64-bit operations return previous values, old may be NULL */
    ZT_OK(zipc_array_store_u64(b, 1, 0xF0));
    ZT_OK(zipc_array_exchange_u64(b, 1, 0xFF, &v64));
    ZT_EQ_U64(v64, 0xF0);
    ZT_OK(zipc_array_fetch_sub_u64(b, 1, 0xF, &v64));
    ZT_EQ_U64(v64, 0xFF);
    ZT_OK(zipc_array_fetch_and_u64(b, 1, 0x30, &v64));
    ZT_EQ_U64(v64, 0xF0);
    ZT_OK(zipc_array_fetch_or_u64(b, 1, 0x1, NULL));
    ZT_OK(zipc_array_fetch_xor_u64(b, 1, UINT64_MAX, &v64));
    ZT_EQ_U64(v64, 0x31);
    ZT_OK(zipc_array_load_u64(b, 1, &v64));
    ZT_EQ_U64(v64, ~UINT64_C(0x31));
    uint64_t exp = 1;
    ZT_ERR(zipc_array_compare_exchange_u64(b, 1, &exp, 2), -EAGAIN);
    ZT_EQ_U64(exp, ~UINT64_C(0x31));
    ZT_OK(zipc_array_exchange_u32(a, 0, 3, NULL));
    ZT_OK(zipc_array_get(a, 0, &v32));
    ZT_EQ(v32, 3);
    ZT_ASSERT((uint8_t *)zipc_array_at(b, 1) == (uint8_t *)zipc_array_data(b) + 8);
    zipc_array_close(a);
    zipc_array_close(b);
    zipc_segment_close(seg);
}
