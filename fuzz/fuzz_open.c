/* libFuzzer target: arbitrary bytes as a segment. Writes the input as the
 * shared-memory object /zipc-fuzz-<pid> (one name per fuzzing process, reused
 * for every input), opens it read-write and read-only, walks every entry, opens
 * each as an Array with several element sizes and reads its elements, and adds
 * entries to it. Nothing may crash or leak (ASan/UBSan/LeakSanitizer).
 *
 *   make fuzz-smoke FUZZ_SECONDS=20     (corpus: fuzz/corpus/fuzz_open/) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zeroipc/zeroipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t elem_sizes[] = {1, 2, 3, 4, 8, 16, 24};

static char seg_name[64];

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

/* Touch every element through the copy and the atomic paths. */
static uint64_t read_array(zipc_array *a)
{
    uint64_t cap = zipc_array_capacity(a), sum = 0;
    size_t es = zipc_array_elem_size(a);
    uint8_t buf[32];
    uint64_t step = cap > 64 ? cap / 64 : 1; /* bounded work for huge arrays */
    for (uint64_t i = 0; i < cap; i += step) {
        if (zipc_array_get(a, i, buf) == 0)
            sum += buf[0] + buf[es - 1];
        uint8_t *p = zipc_array_at(a, i);
        if (p)
            sum += p[es - 1];
        if (es == 4) {
            uint32_t v;
            if (zipc_array_load_u32(a, i, &v) == 0)
                sum += v;
        } else if (es == 8) {
            uint64_t v;
            if (zipc_array_load_u64(a, i, &v) == 0)
                sum += v;
        }
    }
    if (cap > 0 && zipc_array_get(a, cap - 1, buf) == 0)
        sum += buf[0];
    return sum + (zipc_array_get(a, cap, buf) == -ERANGE);
}

static uint64_t walk(zipc_segment *seg)
{
    uint64_t sum = zipc_segment_bytes_used(seg) + zipc_segment_bytes_free(seg) + zipc_segment_size(seg);
    uint32_t count = zipc_segment_entry_count(seg);
    for (uint32_t i = 0; i <= count; i++) { /* one past the end: -ENOENT */
        zipc_entry_info info;
        if (zipc_segment_entry_at(seg, i, &info) != 0)
            continue;
        zipc_entry_info again;
        if (zipc_segment_find(seg, info.name, &again) == 0)
            sum += again.offset;
        const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + info.offset;
        if (info.size)
            sum += p[0] + p[info.size - 1];
        for (size_t k = 0; k < sizeof(elem_sizes) / sizeof(elem_sizes[0]); k++) {
            zipc_array *a;
            if (zipc_array_open(seg, info.name, elem_sizes[k], &a) == 0) {
                sum += read_array(a);
                if (zipc_array_elem_size(a) == 8 && zipc_array_capacity(a) > 0)
                    zipc_array_fetch_add_u64(a, 0, 1, NULL);
                zipc_array_close(a);
            }
        }
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!seg_name[0])
        snprintf(seg_name, sizeof(seg_name), "/zipc-fuzz-%ld", (long)getpid());
    if (write_segment(data, size) != 0)
        return 0;
    volatile uint64_t sink = 0;
    zipc_segment *seg;
    if (zipc_segment_open_ex(seg_name, ZIPC_SEGMENT_READONLY, &seg) == 0) {
        sink += walk(seg);
        zipc_segment_close(seg);
    }
    if (zipc_segment_open(seg_name, &seg) == 0) {
        sink += walk(seg);
        /* the write path on a hostile table: add raw entries and an Array */
        uint64_t off;
        if (zipc_segment_add_entry(seg, "fz", 1 + size % 64, &off) == 0)
            sink += off;
        zipc_array *a;
        if (zipc_array_create(seg, "fz_arr", 4, 3, &a) == 0) {
            zipc_array_store_u32(a, 2, 7);
            zipc_array_close(a);
        }
        sink += walk(seg);
        zipc_segment_close(seg);
    }
    (void)sink;
    zipc_segment_unlink(seg_name);
    return 0;
}
