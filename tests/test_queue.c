/* Queue: return codes, the format's bytes, wrap-around, blocking, stress,
 * crash recovery. The stack has its own file; the byte-exact example of
 * FORMAT.md section 4 (arr, q, s) lives here. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "owner_rows.h"
#include "payload.h"
#include "queue_shm.h"
#include "testhooks.h"
#include "wait.h"

#define SEC 1000000000LL
#define MS 1000000LL

static zipc_queue_shm *raw_queue(zipc_segment *seg, const char *name)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, name, &info));
    return (zipc_queue_shm *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

static uint32_t *raw_seq(zipc_queue_shm *q)
{
    return (uint32_t *)((uint8_t *)q + zipc__queue_seq_offset(q->capacity, q->elem_size));
}

/* Open segment NAME and its queue "q" of ES-byte elements. */
static zipc_queue *open_q(const char *name, size_t es, zipc_segment **seg)
{
    zipc_queue *q;
    ZT_OK(zipc_segment_open(name, seg));
    ZT_OK(zipc_queue_open(*seg, "q", es, &q));
    return q;
}

/* ---- return codes ------------------------------------------------------------ */

ZTEST(queue_create_rounds_capacity_up_to_a_power_of_two, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *q2;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 5, &q));
    ZT_EQ(zipc_queue_capacity(q), 8);
    ZT_EQ(zipc_queue_elem_size(q), 8);
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "q", &info));
    ZT_EQ(info.size, 16 + 64 + 32);
    ZT_OK(zipc_segment_find(seg, "q_wait", &info)); /* auxiliary entries */
    ZT_EQ(info.size, 16);
    ZT_OK(zipc_segment_find(seg, "q_own", &info));
    ZT_OK(zipc_queue_open(seg, "q", 8, &q2));
    ZT_EQ(zipc_queue_capacity(q2), 8);
    zipc_queue *one;
    ZT_OK(zipc_queue_create(seg, "one", 3, 1, &one));
    ZT_EQ(zipc_queue_capacity(one), 2); /* one slot cannot tell published from released */
    ZT_OK(zipc_segment_find(seg, "one", &info));
    ZT_EQ(info.size, 16 + 8 + 8); /* align8(2*3) + 4*2 */
    zipc_queue_close(one);
    zipc_queue_close(q);
    zipc_queue_close(q2);
    zipc_segment_close(seg);
}

ZTEST(queue_create_rejects_bad_arguments_with_einval, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_ERR(zipc_queue_create(seg, "q", 0, 4, &q), -EINVAL);
    ZT_ERR(zipc_queue_create(seg, "q", 4, 0, &q), -EINVAL);
    ZT_ERR(zipc_queue_create(seg, "q", (size_t)UINT32_MAX + 1, 4, &q), -EINVAL);
    ZT_ERR(zipc_queue_create(seg, "q", 4, (UINT32_C(1) << 31) + 1, &q), -EINVAL);
    ZT_ERR(zipc_queue_create(NULL, "q", 4, 4, &q), -EINVAL);
    ZT_ERR(zipc_queue_create(seg, "q", 4, 4, NULL), -EINVAL);
    ZT_ERR(zipc_queue_create_ex(seg, "q", 4, 4, 0x80, &q), -EINVAL);
    ZT_ERR(zipc_queue_create(seg, "", 4, 4, &q), -EINVAL);
    ZT_ERR(zipc_queue_create(seg, "0123456789012345678901234567890123", 4, 4, &q), -ENAMETOOLONG);
    ZT_ERR(zipc_queue_create(seg, "q", 4096, UINT32_C(1) << 20, &q), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 0); /* nothing half-made */
    ZT_OK(zipc_queue_create(seg, "q", 4, 4, &q));
    ZT_ERR(zipc_queue_create(seg, "q", 4, 4, &(zipc_queue *){0}), -EEXIST);
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_open_rejects_wrong_or_corrupt_layouts_with_ebadmsg, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *o;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &q));
    ZT_ERR(zipc_queue_open(seg, "nope", 8, &o), -ENOENT);
    ZT_ERR(zipc_queue_open(seg, "q", 4, &o), -EBADMSG);
    ZT_ERR(zipc_queue_open(seg, "q", 0, &o), -EINVAL);
    ZT_ERR(zipc_queue_open(seg, "q", 8, NULL), -EINVAL);
    zipc_queue_shm *raw = raw_queue(seg, "q");
    raw->capacity = 0;
    ZT_ERR(zipc_queue_open(seg, "q", 8, &o), -EBADMSG);
    raw->capacity = 6; /* not a power of two */
    ZT_ERR(zipc_queue_open(seg, "q", 8, &o), -EBADMSG);
    raw->capacity = 4; /* power of two, but the entry size says 8 */
    ZT_ERR(zipc_queue_open(seg, "q", 8, &o), -EBADMSG);
    raw->capacity = 8;
    raw->elem_size = 4;
    ZT_ERR(zipc_queue_open(seg, "q", 4, &o), -EBADMSG);
    raw->elem_size = 8;
    ZT_OK(zipc_queue_open(seg, "q", 8, &o));
    ZT_OK(zipc_array_create(seg, "arr", 4, 4, &(zipc_array *){0}));
    ZT_ERR(zipc_queue_open(seg, "arr", 4, &(zipc_queue *){0}), -EBADMSG);
    zipc_queue_close(o);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_try_ops_return_eagain_when_empty_or_full_and_keep_fifo_order, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    uint64_t v;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 4, &q));
    ZT_ERR(zipc_queue_try_pop(q, &v), -EAGAIN);
    ZT_ASSERT(zipc_queue_empty_approx(q));
    for (uint64_t i = 0; i < 4; i++)
        ZT_OK(zipc_queue_try_push(q, &i));
    ZT_ERR(zipc_queue_try_push(q, &v), -EAGAIN);
    ZT_ASSERT(zipc_queue_full_approx(q));
    ZT_EQ(zipc_queue_size_approx(q), 4);
    for (uint64_t i = 0; i < 4; i++) {
        ZT_OK(zipc_queue_try_pop(q, &v));
        ZT_EQ_U64(v, i);
    }
    ZT_ERR(zipc_queue_try_pop(q, &v), -EAGAIN);
    ZT_ERR(zipc_queue_try_pop(NULL, &v), -EINVAL);
    ZT_ERR(zipc_queue_try_pop(q, NULL), -EINVAL);
    ZT_ERR(zipc_queue_try_push(q, NULL), -EINVAL);
    ZT_ERR(zipc_queue_push(q, NULL, 0), -EINVAL);
    ZT_ERR(zipc_queue_pop(q, &v, 0), -ETIMEDOUT);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_batches_move_as_many_elements_as_fit_with_one_claim, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    uint64_t in[10], out[10];
    for (int i = 0; i < 10; i++)
        in[i] = 100 + (uint64_t)i;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &q));
    ZT_EQ(zipc_queue_try_push_batch(q, in, 0), 0);
    ZT_EQ(zipc_queue_try_push_batch(q, in, 3), 3);
    ZT_EQ(zipc_queue_try_push_batch(q, in + 3, 10), 5); /* only 5 free */
    ZT_ERR(zipc_queue_try_push_batch(q, in, 1), -EAGAIN);
    ZT_EQ(zipc_queue_try_pop_batch(q, out, 2), 2);
    ZT_EQ(zipc_queue_try_pop_batch(q, out + 2, 10), 6);
    for (int i = 0; i < 8; i++)
        ZT_EQ_U64(out[i], in[i]);
    ZT_ERR(zipc_queue_try_pop_batch(q, out, 4), -EAGAIN);
    ZT_EQ(zipc_queue_push_batch(q, in, 4, SEC), 4);
    ZT_EQ(zipc_queue_pop_batch(q, out, 10, SEC), 4);
    ZT_ERR(zipc_queue_pop_batch(q, out, 10, 10 * MS), -ETIMEDOUT);
    ZT_ERR(zipc_queue_try_pop_batch(q, NULL, 1), -EINVAL);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_writes_through_a_readonly_segment_return_erofs, ZT_FAST)
{
    zipc_segment *seg, *ro;
    zipc_queue *q, *r;
    uint64_t v = 1;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 4, &q));
    ZT_OK(zipc_queue_try_push(q, &v));
    ZT_OK(zipc_segment_open_ex(zt_name(NULL), ZIPC_SEGMENT_READONLY, &ro));
    ZT_OK(zipc_queue_open(ro, "q", 8, &r));
    ZT_ERR(zipc_queue_try_push(r, &v), -EROFS);
    ZT_ERR(zipc_queue_try_pop(r, &v), -EROFS);
    ZT_ERR(zipc_queue_pop(r, &v, 0), -EROFS);
    ZT_ERR(zipc_queue_recover(r, NULL), -EROFS);
    ZT_EQ(zipc_queue_size_approx(r), 1);
    ZT_ERR(zipc_queue_create(ro, "q2", 8, 4, &(zipc_queue *){0}), -EROFS);
    zipc_queue_close(r);
    zipc_queue_close(q);
    zipc_segment_close(ro);
    zipc_segment_close(seg);
}

ZTEST(queue_counters_wrap_past_2_pow_32_without_losing_order, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &q));
    zipc_queue_shm *raw = raw_queue(seg, "q");
    uint32_t base = UINT32_MAX - 4, *seq = raw_seq(raw);
    /* A queue that has moved 2^32 - 5 elements: slot of counter c holds seq c. */
    for (uint32_t k = 0; k < 8; k++)
        seq[(base + k) & 7] = base + k;
    __atomic_store_n(&raw->head, base, __ATOMIC_SEQ_CST);
    __atomic_store_n(&raw->tail, base, __ATOMIC_SEQ_CST);
    uint64_t next_in = 0, next_out = 0, v, batch[3];
    for (int round = 0; round < 6; round++) {
        while (zipc_queue_try_push(q, &next_in) == 0)
            next_in++;
        ZT_EQ(zipc_queue_size_approx(q), 8);
        ZT_EQ(zipc_queue_try_pop_batch(q, batch, 3), 3);
        for (int j = 0; j < 3; j++)
            ZT_EQ_U64(batch[j], next_out++);
        while (zipc_queue_try_pop(q, &v) == 0)
            ZT_EQ_U64(v, next_out++);
    }
    ZT_EQ_U64(next_in, next_out);
    ZT_ASSERT(__atomic_load_n(&raw->head, __ATOMIC_SEQ_CST) < 64); /* wrapped */
    zipc_queue_report rep;
    ZT_OK(zipc_queue_check(q, &rep));
    ZT_EQ(rep.inflight_push + rep.inflight_pop, 0);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- FORMAT.md section 4, byte for byte -------------------------------------- */

/* ---- ZIPC_QUEUE_LINE_ALIGNED ------------------------------------------------- */

static uint64_t end8(const zipc_entry_info *e) { return (e->offset + e->size + 7) & ~(uint64_t)7; }

ZTEST(queue_line_aligned_starts_on_a_line_after_a_gap_and_a_64_byte_queue_is_one_line, ZT_FAST)
{
    const char *name = zt_name(NULL);
    zipc_segment *seg, *again;
    zipc_queue *q, *p;
    zipc_entry_info odd, e, plain, after;
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "odd", 13, NULL));
    ZT_OK(zipc_segment_find(seg, "odd", &odd));
    ZT_ASSERT(end8(&odd) % 64 != 0); /* the format's next offset is not on a line */
    /* 16 + 4 * 8 + 4 * 4 = 64 bytes: exactly one line, not two halves. */
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, ZIPC_QUEUE_LINE_ALIGNED | ZIPC_QUEUE_NO_AUX, &q));
    ZT_OK(zipc_segment_find(seg, "q", &e));
    ZT_EQ(e.size, 64);
    ZT_EQ(e.offset % 64, 0);
    ZT_ASSERT(e.offset > end8(&odd) && e.offset - end8(&odd) < 64); /* the gap, under a line */
    ZT_EQ(zipc_queue_flags(q), ZIPC_QUEUE_NO_AUX); /* not a property the queue records */
    /* Without the flag the format's rule holds: align8 of the end before. */
    ZT_OK(zipc_queue_create_ex(seg, "plain", 8, 4, ZIPC_QUEUE_NO_AUX, &p));
    ZT_OK(zipc_segment_find(seg, "plain", &plain));
    ZT_EQ(plain.offset, end8(&e));
    /* With the auxiliary entries and the single-* roles: the queue is still
     * the one that starts on the line (its entries come before it). */
    ZT_OK(zipc_segment_add_entry(seg, "odd2", 20, NULL));
    zipc_queue *r;
    ZT_OK(zipc_queue_create_ex(seg, "r", 16, 2,
                               ZIPC_QUEUE_LINE_ALIGNED | ZIPC_QUEUE_SINGLE_PRODUCER |
                                   ZIPC_QUEUE_SINGLE_CONSUMER,
                               &r));
    ZT_OK(zipc_segment_find(seg, "r", &e));
    ZT_EQ(e.offset % 64, 0);
    ZT_EQ(e.size, 16 + 32 + 8);
    ZT_OK(zipc_segment_add_entry(seg, "after", 8, NULL));
    ZT_OK(zipc_segment_find(seg, "after", &after));
    ZT_EQ(after.offset, end8(&e)); /* allocation goes on right after it */
    uint64_t v = 0x1122334455667788, w[2] = {v, ~v}, got[2];
    ZT_OK(zipc_queue_try_push(q, &v));
    ZT_OK(zipc_queue_try_push(r, w));
    /* The segment, gaps and all, opens and validates; the queues work in it. */
    ZT_OK(zipc_segment_open(name, &again));
    zipc_queue *q2, *r2;
    ZT_OK(zipc_queue_open_ex(again, "q", 8, ZIPC_QUEUE_NO_AUX, &q2));
    ZT_OK(zipc_queue_open(again, "r", 16, &r2));
    ZT_ERR(zipc_queue_open_ex(again, "q", 8, ZIPC_QUEUE_LINE_ALIGNED, &(zipc_queue *){0}),
           -EINVAL); /* create only */
    uint64_t out = 0;
    ZT_OK(zipc_queue_try_pop(q2, &out));
    ZT_EQ(out, v);
    ZT_OK(zipc_queue_try_pop(r2, got));
    ZT_ASSERT(got[0] == v && got[1] == ~v);
    zipc_queue_close(r2);
    zipc_queue_close(q2);
    zipc_queue_close(r);
    zipc_queue_close(p);
    zipc_queue_close(q);
    zipc_segment_close(again);
    zipc_segment_close(seg);
}

ZTEST(queue_line_aligned_that_only_fits_without_its_gap_is_enospc_and_adds_nothing, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    zipc_entry_info odd;
    /* Two entries: a table of 32 + 2 * 48 = 128 bytes, "odd" at 128..136,
     * and room for a 64-byte queue at 136 but not at the line at 192. */
    ZT_OK(zipc_segment_create(zt_name(NULL), 200, 2, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "odd", 8, NULL));
    ZT_OK(zipc_segment_find(seg, "odd", &odd));
    ZT_EQ(odd.offset, 128);
    ZT_ERR(zipc_queue_create_ex(seg, "q", 8, 4, ZIPC_QUEUE_LINE_ALIGNED | ZIPC_QUEUE_NO_AUX, &q),
           -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 1);
    ZT_EQ(zipc_segment_bytes_used(seg), 136);
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, ZIPC_QUEUE_NO_AUX, &q));
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* A stream between two processes through a queue that is one line: header,
 * slots and sequence words all on it. Elements carry their number and a
 * checksum: loss, duplication, tearing and reordering show. */
struct line_stream {
    const char *name;
    uint64_t n;
};

static void line_stream_producer(void *p)
{
    const struct line_stream *ls = p;
    zipc_segment *seg;
    zipc_queue *q = open_q(ls->name, 16, &seg);
    for (uint64_t i = 0; i < ls->n; i++) {
        uint64_t m[2] = {i, zt_checksum(&i, sizeof i)};
        ZT_OK(zipc_queue_push(q, m, 10 * SEC));
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_line_aligned_single_line_queue_streams_between_processes_intact_and_in_order,
      ZT_MEDIUM)
{
    struct line_stream ls = {zt_name(NULL), zt_env_u64("ZIPC_STRESS_ITEMS", 200000)};
    zipc_segment *seg;
    zipc_queue *q;
    zipc_entry_info e;
    ZT_OK(zipc_segment_create(ls.name, 1 << 16, 0, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "odd", 13, NULL));
    ZT_OK(zipc_queue_create_ex(seg, "q", 16, 2,
                               ZIPC_QUEUE_LINE_ALIGNED | ZIPC_QUEUE_SINGLE_PRODUCER |
                                   ZIPC_QUEUE_SINGLE_CONSUMER,
                               &q));
    ZT_OK(zipc_segment_find(seg, "q", &e));
    ZT_ASSERT(e.offset % 64 == 0 && e.size <= 64);
    pid_t pid = zt_fork(line_stream_producer, &ls);
    for (uint64_t i = 0; i < ls.n; i++) {
        uint64_t m[2];
        ZT_OK(zipc_queue_pop(q, m, 10 * SEC));
        if (m[0] != i || m[1] != zt_checksum(&i, sizeof i))
            zt_fail(__FILE__, __LINE__, "element %" PRIu64 " arrived as %" PRIu64 " (sum %s)", i,
                    m[0], m[1] == zt_checksum(&m[0], sizeof m[0]) ? "ok" : "torn");
    }
    zt_wait_ok(pid);
    ZT_ERR(zipc_queue_try_pop(q, &(uint64_t[2]){0}), -EAGAIN);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static void put32(uint8_t *m, size_t off, uint32_t v) { memcpy(m + off, &v, 4); }
static void put64(uint8_t *m, size_t off, uint64_t v) { memcpy(m + off, &v, 8); }

static void check_format_example(zipc_segment *seg)
{
    enum { SIZE = 1 << 20 };
    ZT_EQ_U64(zipc_segment_size(seg), SIZE);
    uint8_t *want = calloc(1, SIZE);
    ZT_ASSERT(want);
    put32(want, 0, 0x5A49504D);
    put32(want, 4, 2);
    put32(want, 8, 3);
    put32(want, 12, 64);
    put64(want, 16, SIZE);
    put64(want, 24, 0xD50);
    const char *names[3] = {"arr", "q", "s"};
    uint64_t offs[3] = {0xC20, 0xC50, 0xCC0}, sizes[3] = {48, 112, 144};
    for (int i = 0; i < 3; i++) {
        memcpy(want + 32 + 48 * i, names[i], strlen(names[i]));
        put64(want, 32 + 48 * i + 32, offs[i]);
        put64(want, 32 + 48 * i + 40, sizes[i]);
    }
    put64(want, 0xC20, 10);
    for (uint32_t i = 0; i < 10; i++)
        put32(want, 0xC28 + 4 * i, i * i);
    put32(want, 0xC50, 1);
    put32(want, 0xC54, 5);
    put32(want, 0xC58, 8);
    put32(want, 0xC5C, 8);
    for (uint64_t i = 0; i < 5; i++)
        put64(want, 0xC60 + 8 * i, 10 * (i + 1));
    uint32_t qseq[8] = {8, 2, 3, 4, 5, 5, 6, 7};
    for (int i = 0; i < 8; i++)
        put32(want, 0xCA0 + 4 * i, qseq[i]);
    put32(want, 0xCC0, 2);
    put32(want, 0xCC4, 16);
    put32(want, 0xCC8, 4);
    for (uint32_t i = 0; i < 3; i++) {
        put32(want, 0xCD0 + 4 * i, 7 + i);
        put32(want, 0xD10 + 4 * i, 2);
    }
    const uint8_t *got = zipc_segment_base(seg);
    for (size_t i = 0; i < SIZE; i++)
        if (got[i] != want[i])
            zt_fail(__FILE__, __LINE__, "byte 0x%zx is 0x%02x, FORMAT.md says 0x%02x", i, got[i],
                    want[i]);
    free(want);
}

ZTEST(format_example_of_section_4_matches_every_byte_of_the_segment, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a;
    zipc_queue *q;
    zipc_stack *s;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 20, 64, &seg));
    ZT_OK(zipc_array_create(seg, "arr", 4, 10, &a));
    for (int32_t i = 0; i < 10; i++)
        ZT_OK(zipc_array_set(a, (uint64_t)i, &(int32_t){i * i}));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 8, ZIPC_QUEUE_NO_AUX, &q));
    for (int64_t v = 10; v <= 50; v += 10)
        ZT_OK(zipc_queue_try_push(q, &v));
    int64_t out;
    ZT_OK(zipc_queue_try_pop(q, &out));
    ZT_EQ(out, 10);
    ZT_OK(zipc_stack_create_ex(seg, "s", 4, 16, ZIPC_STACK_NO_AUX, &s));
    for (int32_t v = 7; v <= 9; v++)
        ZT_OK(zipc_stack_try_push(s, &v));
    check_format_example(seg);
    zipc_array_close(a);
    zipc_queue_close(q);
    zipc_stack_close(s);
    zipc_segment_close(seg);
}

ZTEST(format_fixture_example_program_writes_the_section_4_example, ZT_FAST)
{
    char prog[512];
    snprintf(prog, sizeof(prog), "%s/format_fixture", ZIPC_EXAMPLES_DIR);
    if (access(prog, X_OK) != 0)
        zt_skip("%s not built (make examples)", prog);
    const char *name = zt_name("fixture");
    pid_t pid = fork();
    ZT_ASSERT(pid >= 0);
    if (pid == 0) {
        execl(prog, prog, name, (char *)NULL);
        _exit(127);
    }
    ZT_EQ(zt_wait(pid), 0);
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(name, &seg));
    check_format_example(seg);
    zipc_segment_close(seg);
}

/* ---- blocking ---------------------------------------------------------------- */

ZTEST(queue_pop_on_empty_times_out_after_the_timeout_using_almost_no_cpu, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    uint64_t v;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 4, &q));
    int64_t t0 = zt_now_ns(), c0 = zt_cpu_ns();
    ZT_ERR(zipc_queue_pop(q, &v, 300 * MS), -ETIMEDOUT);
    int64_t wall = zt_now_ns() - t0, cpu = zt_cpu_ns() - c0;
    printf("    pop timeout 300 ms: waited %.1f ms, cpu %.2f ms\n", wall / 1e6, cpu / 1e6);
    ZT_ASSERT(wall >= 300 * MS);
    ZT_ASSERT(wall < 3 * SEC);
    ZT_ASSERT(cpu < 30 * MS); /* 10% of the wait would be far too much; idle is ~1% */
    for (int i = 0; i < 4; i++)
        ZT_OK(zipc_queue_try_push(q, &v));
    t0 = zt_now_ns();
    ZT_ERR(zipc_queue_push(q, &v, 50 * MS), -ETIMEDOUT);
    ZT_ASSERT(zt_now_ns() - t0 >= 50 * MS);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

struct waker_arg {
    const char *seg;
    int fd;          /* write end: "about to block" */
    bool push;       /* the blocked side pushes (queue full) */
    int go;          /* read end: "go on" (inflight test) */
};

/* Opens the queue, announces itself, blocks, and checks what it got. */
static void blocked_worker(void *p)
{
    struct waker_arg *w = p;
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *when;
    ZT_OK(zipc_segment_open(w->seg, &seg));
    ZT_OK(zipc_queue_open(seg, "q", 8, &q));
    ZT_OK(zipc_array_open(seg, "when", 8, &when));
    ZT_ASSERT(write(w->fd, "x", 1) == 1);
    uint64_t v = 7, t;
    int64_t c0 = zt_cpu_ns();
    if (w->push)
        ZT_OK(zipc_queue_push(q, &v, 20 * SEC));
    else
        ZT_OK(zipc_queue_pop(q, &v, 20 * SEC));
    int64_t now = zt_now_ns();
    ZT_OK(zipc_array_load_u64(when, 0, &t));
    printf("    woken %.1f us after the peer's operation, blocked cpu %.2f ms\n",
           (double)(now - (int64_t)t) / 1e3, (zt_cpu_ns() - c0) / 1e6);
    if (!w->push)
        ZT_EQ_U64(v, 42);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* Until PID, blocked on waitset WHICH of queue "q", has announced itself as a
 * waiter and sleeps (in the futex: nothing else puts it to sleep then), so that
 * a test exercises the sleeping path whatever the length of the spin. */
static void wait_for_sleeper(zipc_segment *seg, uint32_t which, pid_t pid)
{
    zipc_entry_info wi;
    ZT_OK(zipc_segment_find(seg, "q_wait", &wi));
    zipc_waitset_shm *ws = (zipc_waitset_shm *)((uint8_t *)zipc_segment_base(seg) + wi.offset);
    int64_t give_up = zt_now_ns() + 10 * SEC;
    while (__atomic_load_n(&ws[which].waiters, __ATOMIC_SEQ_CST) == 0 || zt_proc_state(pid) != 'S') {
        ZT_ASSERT(zt_now_ns() < give_up);
        sched_yield();
    }
}

static void wake_test(bool full)
{
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *when;
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    struct waker_arg w = {zt_name(NULL), fds[1], full};
    ZT_OK(zipc_segment_create(w.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 2, &q));
    ZT_OK(zipc_array_create(seg, "when", 8, 1, &when));
    uint64_t v = 42;
    if (full) {
        ZT_OK(zipc_queue_try_push(q, &v));
        ZT_OK(zipc_queue_try_push(q, &v));
    }
    pid_t pid = zt_fork(blocked_worker, &w);
    char c;
    ZT_ASSERT(read(fds[0], &c, 1) == 1);
    wait_for_sleeper(seg, full ? 1 : 0, pid); /* [1] "not full", [0] "not empty" */
    ZT_OK(zipc_array_store_u64(when, 0, (uint64_t)zt_now_ns()));
    if (full)
        ZT_OK(zipc_queue_try_pop(q, &v));
    else
        ZT_OK(zipc_queue_try_push(q, &v));
    zt_wait_ok(pid);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_push_wakes_a_consumer_blocked_on_empty, ZT_FAST) { wake_test(false); }
ZTEST(queue_pop_wakes_a_producer_blocked_on_full, ZT_FAST) { wake_test(true); }

static void foreign_consumer(void *p)
{
    struct waker_arg *w = p;
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *when;
    ZT_OK(zipc_segment_open(w->seg, &seg));
    ZT_OK(zipc_queue_open(seg, "q", 8, &q));
    ZT_OK(zipc_array_open(seg, "when", 8, &when));
    ZT_ASSERT(write(w->fd, "x", 1) == 1);
    uint64_t v, t;
    ZT_OK(zipc_queue_pop(q, &v, 20 * SEC));
    int64_t late = zt_now_ns();
    ZT_OK(zipc_array_load_u64(when, 0, &t));
    late -= (int64_t)t;
    printf("    foreign push seen after %.2f ms (slice 10 ms)\n", late / 1e6);
    ZT_EQ_U64(v, 0xF0F0);
    ZT_ASSERT(late < 500 * MS); /* one 10 ms slice, with a loaded machine's slack */
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(queue_blocked_pop_sees_a_push_by_a_peer_that_never_wakes_within_a_slice, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *when;
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    struct waker_arg w = {zt_name(NULL), fds[1], false};
    ZT_OK(zipc_segment_create(w.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 4, &q));
    ZT_OK(zipc_array_create(seg, "when", 8, 1, &when));
    pid_t pid = zt_fork(foreign_consumer, &w);
    char c;
    ZT_ASSERT(read(fds[0], &c, 1) == 1);
    wait_for_sleeper(seg, 0, pid);
    /* Act like another implementation: the format's push, no waitset. */
    zipc_queue_shm *raw = raw_queue(seg, "q");
    uint32_t t = __atomic_load_n(&raw->tail, __ATOMIC_ACQUIRE);
    ZT_ASSERT(__atomic_compare_exchange_n(&raw->tail, &t, t + 1, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    uint64_t v = 0xF0F0;
    memcpy((uint8_t *)raw + ZIPC_QUEUE_HEADER + (t & 3) * 8, &v, 8);
    ZT_OK(zipc_array_store_u64(when, 0, (uint64_t)zt_now_ns()));
    __atomic_store_n(&raw_seq(raw)[t & 3], t + 1, __ATOMIC_RELEASE);
    zt_wait_ok(pid);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* A producer's claim can race with a consumer going to sleep: the producer
 * reads the waiters count right after its CAS, before the consumer announces
 * itself, and will not wake it. The consumer must then see the claim (tail
 * moved) and poll until the element is published instead of sleeping a slice.
 * The parent plays that producer: it claims, waits until the consumer counts
 * as a waiter, then publishes without waking anybody. */
#define INFLIGHT_ROUNDS 20

static void inflight_consumer(void *p)
{
    struct waker_arg *w = p;
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *when, *late;
    ZT_OK(zipc_segment_open(w->seg, &seg));
    ZT_OK(zipc_queue_open(seg, "q", 8, &q));
    ZT_OK(zipc_array_open(seg, "when", 8, &when));
    ZT_OK(zipc_array_open(seg, "late", 8, &late));
    for (uint32_t i = 0; i < INFLIGHT_ROUNDS; i++) {
        char c;
        ZT_ASSERT(read(w->go, &c, 1) == 1);
        uint64_t v, t;
        ZT_OK(zipc_queue_pop(q, &v, 20 * SEC));
        int64_t now = zt_now_ns();
        ZT_EQ_U64(v, 1000 + i);
        ZT_OK(zipc_array_load_u64(when, 0, &t));
        ZT_OK(zipc_array_store_u64(late, i, (uint64_t)(now - (int64_t)t)));
        ZT_ASSERT(write(w->fd, "x", 1) == 1);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

ZTEST(queue_blocked_pop_polls_for_an_element_claimed_before_it_slept_instead_of_sleeping, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *when, *late;
    int done[2], go[2];
    ZT_ASSERT(pipe(done) == 0 && pipe(go) == 0);
    struct waker_arg w = {zt_name(NULL), done[1], false, go[0]};
    ZT_OK(zipc_segment_create(w.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 4, &q));
    ZT_OK(zipc_array_create(seg, "when", 8, 1, &when));
    ZT_OK(zipc_array_create(seg, "late", 8, INFLIGHT_ROUNDS, &late));
    zipc_entry_info wi;
    ZT_OK(zipc_segment_find(seg, "q_wait", &wi));
    zipc_waitset_shm *not_empty = (zipc_waitset_shm *)((uint8_t *)zipc_segment_base(seg) + wi.offset);
    zipc_queue_shm *raw = raw_queue(seg, "q");
    pid_t pid = zt_fork(inflight_consumer, &w);
    for (uint32_t i = 0; i < INFLIGHT_ROUNDS; i++) {
        /* Claim as a producer whose waiters check came before the consumer. */
        uint32_t t = __atomic_load_n(&raw->tail, __ATOMIC_ACQUIRE);
        ZT_ASSERT(__atomic_compare_exchange_n(&raw->tail, &t, t + 1, false, __ATOMIC_SEQ_CST,
                                              __ATOMIC_SEQ_CST));
        ZT_ASSERT(write(go[1], "x", 1) == 1);
        int64_t give_up = zt_now_ns() + 10 * SEC;
        while (__atomic_load_n(&not_empty->waiters, __ATOMIC_SEQ_CST) == 0) {
            ZT_ASSERT(zt_now_ns() < give_up);
            sched_yield();
        }
        uint64_t v = 1000 + i;
        memcpy((uint8_t *)raw + ZIPC_QUEUE_HEADER + (t & 3) * 8, &v, 8);
        ZT_OK(zipc_array_store_u64(when, 0, (uint64_t)zt_now_ns()));
        __atomic_store_n(&raw_seq(raw)[t & 3], t + 1, __ATOMIC_RELEASE); /* no wake */
        char c;
        ZT_ASSERT(read(done[0], &c, 1) == 1);
    }
    zt_wait_ok(pid);
    uint64_t l[INFLIGHT_ROUNDS];
    for (uint32_t i = 0; i < INFLIGHT_ROUNDS; i++)
        ZT_OK(zipc_array_load_u64(late, i, &l[i]));
    qsort(l, INFLIGHT_ROUNDS, sizeof l[0], cmp_u64);
    printf("    seen %.1f us (median), %.1f us (max) after the publish (a slice is 10 ms)\n",
           l[INFLIGHT_ROUNDS / 2] / 1e3, l[INFLIGHT_ROUNDS - 1] / 1e3);
    /* Sleeping until the slice ends would make the median about 5 ms. */
    ZT_ASSERT(l[INFLIGHT_ROUNDS / 2] < 2 * MS);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- stress: processes and threads ----------------------------------------------- */

struct stress {
    const char *seg;
    uint32_t nprod, ncons;
    uint64_t items;        /* per producer */
    uint32_t id;           /* worker number within its role */
    int crash_point;       /* >= 0: this worker dies there after crash_after ops */
    uint64_t crash_after;
    zipc_segment *shared;  /* threads sharing one mapping: use it, do not close it */
};

/* Shared control words ("ctl" Array<u64>): [0] consumed, [1] producers done. */
enum { CTL_CONSUMED, CTL_DONE, CTL_N };

static void open_all(const struct stress *s, zipc_segment **seg, zipc_queue **q, zipc_array **seen,
                     zipc_array **ctl)
{
    *seg = s->shared;
    if (!*seg)
        ZT_OK(zipc_segment_open(s->seg, seg));
    ZT_OK(zipc_queue_open(*seg, "q", sizeof(zt_payload), q));
    ZT_OK(zipc_array_open(*seg, "seen", 4, seen));
    ZT_OK(zipc_array_open(*seg, "ctl", 8, ctl));
}

static void producer(void *p)
{
    const struct stress *s = p;
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *seen, *ctl;
    open_all(s, &seg, &q, &seen, &ctl);
    for (uint64_t i = 0; i < s->items; i++) {
        if (s->crash_point >= 0 && i == s->crash_after)
            zipc__crash_at = s->crash_point;
        zt_payload pl = zt_payload_make(s->id, i);
        int r;
        while ((r = zipc_queue_push(q, &pl, 50 * MS)) == -ETIMEDOUT)
            ZT_OK(zipc_queue_recover(q, NULL)); /* a dead consumer may hold a slot */
        ZT_OK(r);
    }
    zipc_queue_close(q);
    if (!s->shared)
        zipc_segment_close(seg);
}

static void consume_one(const struct stress *s, zipc_array *seen, zipc_array *ctl,
                        const zt_payload *pl, int64_t *last)
{
    ZT_ASSERT(zt_payload_ok(pl));
    ZT_ASSERT(pl->producer < s->nprod && pl->seq < s->items);
    ZT_ASSERT((int64_t)pl->seq > last[pl->producer]); /* per-producer FIFO */
    last[pl->producer] = (int64_t)pl->seq;
    uint32_t old;
    ZT_OK(zipc_array_fetch_add_u32(seen, pl->producer * s->items + pl->seq, 1, &old));
    if (old != 0)
        zt_fail(__FILE__, __LINE__, "duplicate: producer %u seq %llu", pl->producer,
                (unsigned long long)pl->seq);
    ZT_OK(zipc_array_fetch_add_u64(ctl, CTL_CONSUMED, 1, NULL));
}

static void consumer(void *p)
{
    const struct stress *s = p;
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *seen, *ctl;
    open_all(s, &seg, &q, &seen, &ctl);
    int64_t last[64];
    for (int i = 0; i < 64; i++)
        last[i] = -1;
    uint64_t total = s->nprod * s->items, n = 0, got;
    int64_t give_up = zt_now_ns() + 100 * SEC;
    zt_payload batch[4];
    for (;;) {
        ZT_ASSERT(zt_now_ns() < give_up);
        if (s->crash_point >= 0 && n == s->crash_after)
            zipc__crash_at = s->crash_point;
        /* Alternate single pops and batches: both paths see traffic. */
        int r = (n & 1) ? zipc_queue_pop_batch(q, batch, 4, 20 * MS)
                        : zipc_queue_pop(q, batch, 20 * MS);
        if (r >= 0) {
            int k = (n & 1) ? r : 1;
            for (int j = 0; j < k; j++)
                consume_one(s, seen, ctl, &batch[j], last);
            n++;
            continue;
        }
        ZT_ERR(r, -ETIMEDOUT);
        zipc_queue_report rep;
        ZT_OK(zipc_queue_recover(q, &rep));
        ZT_OK(zipc_array_load_u64(ctl, CTL_CONSUMED, &got));
        if (got == total)
            break;
        uint64_t done;
        ZT_OK(zipc_array_load_u64(ctl, CTL_DONE, &done));
        ZT_OK(zipc_queue_check(q, &rep));
        if (done && rep.head == rep.tail && rep.inflight_pop == 0 && rep.dead_owners == 0)
            break; /* crash runs: everything that can arrive has arrived */
    }
    zipc_queue_close(q);
    if (!s->shared)
        zipc_segment_close(seg);
}

static void *producer_thread(void *p) { producer(p); return NULL; }
static void *consumer_thread(void *p) { consumer(p); return NULL; }

static void setup(struct stress *base, uint32_t cap)
{
    zipc_segment *seg;
    zipc_queue *q;
    zipc_array *a;
    ZT_OK(zipc_segment_create(base->seg, (1 << 20) + base->nprod * base->items * 4, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", sizeof(zt_payload), cap, &q));
    ZT_OK(zipc_array_create(seg, "seen", 4, base->nprod * base->items, &a));
    zipc_array_close(a);
    ZT_OK(zipc_array_create(seg, "ctl", 8, CTL_N, &a));
    zipc_array_close(a);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* Missing elements after a run: 0 unless a process died. */
static uint64_t count_missing(const struct stress *base, int victim_producer, uint64_t victim_sent)
{
    zipc_segment *seg;
    zipc_array *seen;
    ZT_OK(zipc_segment_open(base->seg, &seg));
    ZT_OK(zipc_array_open(seg, "seen", 4, &seen));
    uint64_t missing = 0;
    for (uint32_t p = 0; p < base->nprod; p++)
        for (uint64_t i = 0; i < base->items; i++) {
            uint32_t v;
            ZT_OK(zipc_array_load_u32(seen, p * base->items + i, &v));
            ZT_ASSERT(v <= 1);
            bool never_sent = (int)p == victim_producer && i >= victim_sent;
            if (v == 0 && !never_sent)
                missing++;
            if (v == 1 && never_sent)
                ZT_ASSERT(i == victim_sent); /* only its in-flight element may appear */
        }
    zipc_array_close(seen);
    zipc_segment_close(seg);
    return missing;
}

static void run_processes(uint32_t nprod, uint32_t ncons, uint64_t items, uint32_t cap)
{
    struct stress base = {zt_name(NULL), nprod, ncons, items, 0, -1, 0, NULL}, w[64];
    setup(&base, cap);
    printf("    %u producers x %llu items, %u consumers, capacity %u\n", nprod,
           (unsigned long long)items, ncons, cap);
    pid_t pids[64];
    for (uint32_t i = 0; i < nprod + ncons; i++) {
        w[i] = base;
        w[i].id = i < nprod ? i : i - nprod;
        pids[i] = zt_fork(i < nprod ? producer : consumer, &w[i]);
    }
    for (uint32_t i = 0; i < nprod + ncons; i++)
        zt_wait_ok(pids[i]);
    ZT_EQ(count_missing(&base, -1, 0), 0);
}

ZTEST(queue_processes_lose_duplicate_tear_and_reorder_nothing, ZT_MEDIUM)
{
    run_processes(2, 2, zt_env_u64("ZIPC_STRESS_ITEMS", 100000), 64);
}

ZTEST(queue_oversubscribed_processes_lose_nothing, ZT_MEDIUM)
{
    run_processes(5, 5, zt_env_u64("ZIPC_STRESS_ITEMS", 100000) / 8, 8);
}

/* Each thread opens the segment itself (one mapping per thread), or all
 * share one mapping (SHARED): there TSan sees every access at one address. */
static void run_threads(bool shared)
{
    uint64_t items = zt_env_u64("ZIPC_STRESS_ITEMS", 100000) / (shared ? 10 : 2);
    struct stress base = {zt_name(NULL), 2, 2, items, 0, -1, 0, NULL}, p[2], c[2];
    setup(&base, 16);
    zipc_segment *seg = NULL;
    if (shared)
        ZT_OK(zipc_segment_open(base.seg, &seg));
    base.shared = seg;
    for (uint32_t i = 0; i < 2; i++) {
        p[i] = c[i] = base;
        p[i].id = c[i].id = i;
    }
    pthread_t th[4];
    for (int i = 0; i < 2; i++) {
        ZT_ASSERT(pthread_create(&th[i], NULL, producer_thread, &p[i]) == 0);
        ZT_ASSERT(pthread_create(&th[2 + i], NULL, consumer_thread, &c[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ZT_EQ(count_missing(&base, -1, 0), 0);
    zipc_segment_close(seg);
}

ZTEST(queue_threads_over_separate_mappings_lose_nothing, ZT_MEDIUM) { run_threads(false); }
ZTEST(queue_threads_sharing_one_mapping_lose_nothing, ZT_MEDIUM) { run_threads(true); }

/* ---- crashes --------------------------------------------------------------------- */

struct victim {
    const char *seg;
    int point;
    bool batch;
};

static void victim_op(void *p)
{
    const struct victim *v = p;
    zipc_segment *seg;
    zipc_queue *q = open_q(v->seg, 8, &seg);
    uint64_t in[2] = {3, 4}, out[2];
    zipc__crash_at = v->point;
    if (v->point < 210)
        ZT_EQ(zipc_queue_try_push_batch(q, in, 2), 2);
    else if (v->batch)
        ZT_EQ(zipc_queue_try_pop_batch(q, out, 2), 2);
    else
        ZT_OK(zipc_queue_try_pop(q, out));
    zt_fail(__FILE__, __LINE__, "crash point %d not reached", v->point);
}

static void recoverer_op(void *p)
{
    const struct victim *v = p;
    zipc_segment *seg;
    zipc_queue *q = open_q(v->seg, 8, &seg);
    zipc__crash_at = v->point;
    zipc_queue_recover(q, NULL);
    zt_fail(__FILE__, __LINE__, "crash point %d not reached", v->point);
}

/* Kill a process at POINT inside an operation on a queue holding 0, 1, 2;
 * then (RPOINT) kill a recoverer at RPOINT; then check, recover, and verify
 * what survives. */
static void crash_at_point(int point, bool batch, int rpoint)
{
    zipc_segment *seg;
    zipc_queue *q;
    char suffix[32];
    snprintf(suffix, sizeof(suffix), "crash%d%c%d", point, batch ? 'b' : 's', rpoint);
    struct victim v = {zt_name(suffix), point, batch};
    ZT_OK(zipc_segment_create(v.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &q));
    for (uint64_t i = 0; i < 3; i++)
        ZT_OK(zipc_queue_try_push(q, &i));
    ZT_EQ(zt_wait(zt_fork(victim_op, &v)), 128 + SIGKILL);
    zipc_queue_report rep;
    ZT_OK(zipc_queue_check(q, &rep));
    ZT_EQ(rep.dead_owners, 1);
    /* Survivors never hang: a blocked call returns by its deadline. */
    uint64_t x;
    int64_t t0 = zt_now_ns();
    if (point >= 210)
        for (int i = 0; i < 8 && zipc_queue_try_push(q, &(uint64_t){99}) == 0; i++)
            ;
    int r = point >= 210 ? zipc_queue_push(q, &x, 30 * MS) : 0;
    ZT_ASSERT(r == 0 || r == -ETIMEDOUT);
    ZT_ASSERT(zt_now_ns() - t0 < 5 * SEC);
    /* Recover, draining whatever a pending repair waits for. */
    uint64_t got[16];
    int n = 0;
    if (rpoint) {
        /* Consumers first reach the claim, then a recoverer dies at work on
         * it: its mark on the row is a dead claim, taken over below. */
        while (n < 16 && zipc_queue_try_pop(q, &got[n]) == 0)
            n++;
        struct victim rv = {v.seg, rpoint, false};
        ZT_EQ(zt_wait(zt_fork(recoverer_op, &rv)), 128 + SIGKILL);
        ZT_OK(zipc_queue_check(q, &rep));
        ZT_EQ(rep.dead_owners, 1);
    }
    for (int round = 0; round < 4; round++) {
        ZT_OK(zipc_queue_recover(q, &rep));
        while (n < 16 && zipc_queue_try_pop(q, &got[n]) == 0)
            n++;
        if (rep.pending == 0)
            break;
    }
    ZT_EQ(rep.pending, 0);
    ZT_OK(zipc_queue_check(q, &rep));
    ZT_EQ(rep.dead_owners, 0);
    ZT_EQ(rep.inflight_push + rep.inflight_pop, 0);
    /* What came out: an increasing run, no duplicates, and the loss allowed. */
    int real = 0;
    for (int i = 0; i < n; i++) {
        if (got[i] == 99)
            continue;
        ZT_ASSERT(real == 0 || got[i] > got[real - 1]);
        got[real++] = got[i];
    }
    /* Push: a claim never filled is skipped, a filled one published. Pop:
     * what the victim had taken is gone (1 element, or its batch of 2). */
    int want = point == 202 || point == 203 ? 5 : point <= 210 ? 3 : batch ? 1 : 2;
    ZT_EQ(real, want);
    /* Every slot works again, across several rounds. */
    for (uint64_t i = 0; i < 40; i++) {
        ZT_OK(zipc_queue_try_push(q, &i));
        ZT_OK(zipc_queue_try_pop(q, &x));
        ZT_EQ_U64(x, i);
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
    zipc_segment_unlink(v.seg);
}

ZTEST(queue_process_killed_at_each_crash_point_is_detected_and_recovered, ZT_FAST)
{
    static const int points[] = {200, 201, 202, 203, 210, 211, 212};
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        printf("    crash point %d\n", points[i]);
        crash_at_point(points[i], false, 0);
        if (points[i] >= 210)
            crash_at_point(points[i], true, 0);
    }
    crash_at_point(213, true, 0);
}

/* A recoverer killed at work leaves its mark (not a bare "recovering") on
 * the dead row: the next recover sees the recoverer dead, takes the row over
 * and finishes the repair, including a skip killed halfway (head moved past
 * the unfilled slot, its seq not yet freed). Before, the row stayed
 * "recovering" for good: dead_owners never reached 0, and the skipped
 * slot's next round waited forever. */
ZTEST(queue_recoverer_killed_at_work_is_taken_over_by_the_next_recover, ZT_FAST)
{
    static const int points[][2] = {{201, 240}, {201, 241}, {202, 240}, {211, 240}};
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        printf("    claim killed at %d, recoverer at %d\n", points[i][0], points[i][1]);
        crash_at_point(points[i][0], false, points[i][1]);
    }
    crash_at_point(211, true, 240);
}

/* Live producers and consumers keep going while one of them is killed
 * mid-operation; survivors recover and finish without hanging. */
static void crash_with_live_peers(int point, bool victim_is_producer)
{
    uint64_t items = zt_env_u64("ZIPC_CRASH_ITEMS", 3000);
    char suffix[32];
    snprintf(suffix, sizeof(suffix), "live%d", point);
    struct stress base = {zt_name(suffix), 3, 2, items, 0, -1, 0, NULL}, w[8];
    setup(&base, 8);
    pid_t pids[8];
    int n = 0;
    uint64_t after = items / 3;
    for (uint32_t i = 0; i < 3; i++, n++) {
        w[n] = base;
        w[n].id = i;
        if (victim_is_producer && i == 2) {
            w[n].crash_point = point;
            w[n].crash_after = after;
        }
        pids[n] = zt_fork(producer, &w[n]);
    }
    for (uint32_t i = 0; i < 3; i++, n++) {
        w[n] = base;
        w[n].id = i;
        if (!victim_is_producer && i == 2) {
            w[n].crash_point = point;
            w[n].crash_after = after / 4;
        }
        pids[n] = zt_fork(consumer, &w[n]);
    }
    for (int i = 0; i < 3; i++) {
        int st = zt_wait(pids[i]);
        ZT_ASSERT(st == 0 || (victim_is_producer && i == 2 && st == 128 + SIGKILL));
    }
    zipc_segment *seg;
    zipc_array *ctl;
    ZT_OK(zipc_segment_open(base.seg, &seg));
    ZT_OK(zipc_array_open(seg, "ctl", 8, &ctl));
    ZT_OK(zipc_array_store_u64(ctl, CTL_DONE, 1));
    for (int i = 3; i < 6; i++) {
        int st = zt_wait(pids[i]);
        ZT_ASSERT(st == 0 || (!victim_is_producer && i == 5 && st == 128 + SIGKILL));
    }
    uint64_t missing = count_missing(&base, victim_is_producer ? 2 : -1, after);
    printf("    point %d: %llu element(s) lost\n", point, (unsigned long long)missing);
    ZT_ASSERT(missing <= (victim_is_producer ? 0u : 4u)); /* a killed consumer: its one batch */
    zipc_array_close(ctl);
    zipc_segment_close(seg);
}

ZTEST(queue_survivors_recover_and_finish_when_a_peer_is_killed_mid_operation, ZT_MEDIUM)
{
    crash_with_live_peers(201, true);
    crash_with_live_peers(202, true);
    crash_with_live_peers(211, false);
    crash_with_live_peers(212, false);
}

ZTEST(queue_made_without_aux_entries_gets_them_from_the_first_default_open, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *plain, *full;
    zipc_entry_info info;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create_ex(seg, "q", 8, 4, ZIPC_QUEUE_NO_AUX, &q));
    ZT_EQ(zipc_segment_entry_count(seg), 1);
    ZT_OK(zipc_queue_open_ex(seg, "q", 8, ZIPC_QUEUE_NO_AUX, &plain));
    ZT_EQ(zipc_segment_entry_count(seg), 1); /* NO_AUX open adds nothing */
    ZT_ERR(zipc_queue_open_ex(seg, "q", 8, 0x40, &(zipc_queue *){0}), -EINVAL);
    ZT_OK(zipc_queue_open(seg, "q", 8, &full)); /* like opening another implementation's queue */
    ZT_OK(zipc_segment_find(seg, "q_wait", &info));
    ZT_OK(zipc_segment_find(seg, "q_own", &info));
    uint64_t v = 5;
    ZT_OK(zipc_queue_try_push(plain, &v));
    ZT_OK(zipc_queue_pop(full, &v, SEC));
    ZT_EQ_U64(v, 5);
    /* A name too long for the suffixes: no auxiliary entries, still works. */
    const char *longname = "a_queue_name_of_29_characters";
    ZT_OK(zipc_queue_create(seg, longname, 8, 4, &(zipc_queue *){0}));
    ZT_ERR(zipc_segment_find(seg, "a_queue_name_of_29_characters_wait", &info), -ENAMETOOLONG);
    zipc_queue_close(q);
    zipc_queue_close(plain);
    zipc_queue_close(full);
    zipc_segment_close(seg);
}

ZTEST(queue_handles_beyond_the_owner_rows_still_work_untracked, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *h[80];
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 128, &h[0]));
    for (int i = 1; i < 80; i++)
        ZT_OK(zipc_queue_open(seg, "q", 8, &h[i]));
    for (uint64_t i = 0; i < 80; i++)
        ZT_OK(zipc_queue_try_push(h[i], &i));
    for (uint64_t i = 0; i < 80; i++) {
        uint64_t v;
        ZT_OK(zipc_queue_try_pop(h[79 - i], &v));
        ZT_EQ_U64(v, i);
    }
    zipc_queue_report rep;
    ZT_OK(zipc_queue_recover(h[0], &rep));
    ZT_EQ(rep.rows_freed, 0); /* every row belongs to this live process */
    for (int i = 0; i < 80; i++)
        zipc_queue_close(h[i]);
    zipc_segment_close(seg);
}

/* Regression (found by fuzz/fuzz_structs.c): a slot whose seq is ahead of
 * the counter at tail (or head) means another producer (consumer) already
 * moved on, so claim_push/claim_pop re-read the counter and looped; on a
 * corrupt queue whose counter never moves that loop never ended, and
 * try_push/try_pop hung. Legitimately, once seq is seen ahead (acquire), the
 * re-read counter has moved too; if it has not, the queue is corrupt. */
static void corrupt_seq_ops(void *arg)
{
    zipc_queue *q = arg;
    alarm(5); /* a hang fails the test quickly */
    uint64_t v = 1, out[2];
    ZT_ERR(zipc_queue_try_push(q, &v), -EBADMSG);
    ZT_ERR(zipc_queue_try_push_batch(q, out, 2), -EBADMSG);
    ZT_ERR(zipc_queue_try_pop(q, &v), -EBADMSG);
    ZT_ERR(zipc_queue_try_pop_batch(q, out, 2), -EBADMSG);
    ZT_ERR(zipc_queue_pop(q, &v, 20 * MS), -EBADMSG);
}

ZTEST(queue_seq_ahead_of_counters_that_never_move_is_ebadmsg_not_a_hang, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 4, &q));
    zipc_queue_shm *raw = raw_queue(seg, "q");
    raw_seq(raw)[0] = 5; /* head = tail = 0: neither push nor pop may use slot 0 */
    zt_wait_ok(zt_fork(corrupt_seq_ops, q));
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- hostile pid values in owner rows ------------------------------------------- */

/* Marks whose pid part is 0, 1 (init: alive, and kill(1, 0) answers EPERM),
 * beyond any pid (0xFFFFFFFF, the old "recovering" value), and a live
 * process's mark, each on a row with a claim that does not match the queue
 * (an odd counter). Open, check, recover, push and pop: no crash, no hang,
 * and the live marks (pid 1, the runner) are never taken. */
ZTEST(queue_owner_rows_with_hostile_recovering_marks_never_crash_hang_or_lose_live_marks,
      ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *q, *o;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &q));
    zipc_owner_row_shm *rows = raw_rows(seg, "q_own");
    const uint32_t live1 = ZIPC_OWNER_RECOVERING | 1u;
    const uint32_t live2 = ZIPC_OWNER_RECOVERING | (uint32_t)getppid();
    set_row(&rows[1], ZIPC_OWNER_RECOVERING, ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 12345);
    set_row(&rows[2], live1, ZIPC_OWN_PUSH, ZIPC_OWN_CLAIMED, 0);
    set_row(&rows[3], 0xFFFFFFFFu, ZIPC_OWN_PUSH, ZIPC_OWN_PENDING, 77);
    set_row(&rows[4], live2, ZIPC_OWN_POP, ZIPC_OWN_CLAIMED, 0);
    set_row(&rows[5], ZIPC_OWNER_RECOVERING | 0x7FFFFFFFu, ZIPC_OWN_IDLE, ZIPC_OWN_IDLE, 0);
    ZT_OK(zipc_queue_open(seg, "q", 8, &o));
    zipc_queue_report rep;
    ZT_OK(zipc_queue_check(o, &rep));
    for (int round = 0; round < 3; round++)
        ZT_OK(zipc_queue_recover(o, &rep));
    ZT_EQ_U64(__atomic_load_n((uint32_t *)&rows[2].pid, __ATOMIC_ACQUIRE), live1);
    ZT_EQ_U64(__atomic_load_n((uint32_t *)&rows[4].pid, __ATOMIC_ACQUIRE), live2);
    ZT_EQ(__atomic_load_n((uint32_t *)&rows[1].pid, __ATOMIC_ACQUIRE), 0);
    ZT_EQ(__atomic_load_n((uint32_t *)&rows[3].pid, __ATOMIC_ACQUIRE), 0);
    for (uint64_t i = 0; i < 20; i++) {
        uint64_t x;
        ZT_OK(zipc_queue_try_push(o, &i));
        ZT_OK(zipc_queue_try_pop(q, &x));
        ZT_EQ_U64(x, i);
    }
    zipc_queue_close(o);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- a call that lost its CAS and gives up leaves its row idle --------------------- */

struct row_racer {
    zipc_queue *q;
    zipc_owner_row_shm *row;
    int64_t deadline;
    uint32_t *stop;
    uint32_t bad_state, calls;
};

/* Pushes and pops through its own handle, two of them at once on a queue
 * that is nearly full and nearly empty; after every -EAGAIN its owner row
 * must be idle. A CAS lost to the other racer, then a queue found full
 * (empty) on the retry, used to leave the intent of the lost try in the row:
 * recover then took it for a live claim on that counter. */
static void *row_race(void *p)
{
    struct row_racer *r = p;
    uint64_t x = 1;
    while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
        for (int op = 0; op < 2; op++) {
            int ret = op ? zipc_queue_try_pop(r->q, &x) : zipc_queue_try_push(r->q, &x);
            uint32_t st = __atomic_load_n((uint32_t *)&r->row->state, __ATOMIC_ACQUIRE);
            if (ret == -EAGAIN && st != ZIPC_OWN_IDLE && !r->bad_state) {
                r->bad_state = st;
                __atomic_store_n(r->stop, 1, __ATOMIC_RELEASE);
            }
        }
        if ((++r->calls & 1023) == 0 && zt_now_ns() > r->deadline)
            __atomic_store_n(r->stop, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

ZTEST(queue_a_call_that_lost_its_cas_and_found_the_queue_full_or_empty_leaves_its_row_idle_thread,
      ZT_FAST)
{
    zipc_segment *seg, *sa, *sb;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 2, &q));
    uint64_t one = 7;
    ZT_OK(zipc_queue_try_push(q, &one)); /* one free slot: pushes race for it */
    zipc_owner_row_shm *rows = raw_rows(seg, "q_own");
    bool before[ZIPC_OWNERS_ROWS] = {0};
    (void)new_row(rows, before);
    uint32_t stop = 0;
    int64_t deadline = zt_now_ns() + (int64_t)zt_env_u64("ZIPC_REVIEW_RACE_MS", 300) * 1000000;
    struct row_racer a = {.deadline = deadline, .stop = &stop}, b = a;
    a.q = open_q(zipc_segment_name(seg), 8, &sa);
    a.row = new_row(rows, before);
    b.q = open_q(zipc_segment_name(seg), 8, &sb);
    b.row = new_row(rows, before);
    pthread_t ta, tb;
    ZT_ASSERT(pthread_create(&ta, NULL, row_race, &a) == 0);
    ZT_ASSERT(pthread_create(&tb, NULL, row_race, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    uint32_t bad = a.bad_state ? a.bad_state : b.bad_state;
    if (bad)
        fprintf(stderr, "    after %u + %u rounds: a call that answered -EAGAIN left its row at %#x\n",
                a.calls, b.calls, bad);
    ZT_EQ(bad, 0);
    zipc_queue_close(a.q);
    zipc_queue_close(b.q);
    zipc_queue_close(q);
    zipc_segment_close(sa);
    zipc_segment_close(sb);
    zipc_segment_close(seg);
}
