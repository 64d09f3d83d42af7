/* Queue: each handle starts its claims from where it last saw head / tail
 * (src/queue.c, "hints", added for speed: docs/benchmarks.md). These tests
 * pin that a hint left behind by other handles never changes an answer. */
#include "harness.h"
#include "queue_shm.h"

static zipc_queue_shm *hint_raw_queue(zipc_segment *seg, const char *name)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, name, &info));
    return (zipc_queue_shm *)((uint8_t *)zipc_segment_base(seg) + info.offset);
}

/* Fill B to full from empty, then check that A (stale) sees full, can pop the
 * oldest, push again, and that everything drains in order. */
static void check_full_then_drain(zipc_queue *a, zipc_queue *b, uint64_t first)
{
    uint64_t v, next = first;
    uint32_t cap = zipc_queue_capacity(a);
    for (uint32_t i = 0; i < cap; i++) {
        v = first + i;
        ZT_OK(zipc_queue_try_push(b, &v));
    }
    v = 999;
    ZT_ERR(zipc_queue_try_push(a, &v), -EAGAIN);
    ZT_OK(zipc_queue_try_pop(a, &v));
    ZT_EQ_U64(v, next++);
    v = first + cap;
    ZT_OK(zipc_queue_try_push(a, &v));
    ZT_ERR(zipc_queue_try_push(a, &v), -EAGAIN);
    while (zipc_queue_try_pop(b, &v) == 0)
        ZT_EQ_U64(v, next++);
    ZT_EQ_U64(next, first + cap + 1);
    ZT_ERR(zipc_queue_try_pop(a, &v), -EAGAIN);
}

ZTEST(queue_handle_left_behind_by_other_handles_still_answers_full_and_empty_right, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *a, *b;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &a));
    ZT_OK(zipc_queue_open(seg, "q", 8, &b));
    uint64_t v = 1;
    ZT_OK(zipc_queue_try_push(a, &v));
    ZT_OK(zipc_queue_try_pop(a, &v));
    /* B moves the counters 5 rounds and 3 slots past A's hints. */
    for (uint64_t i = 0; i < 5 * 8 + 3; i++) {
        ZT_OK(zipc_queue_try_push(b, &i));
        ZT_OK(zipc_queue_try_pop(b, &v));
        ZT_EQ_U64(v, i);
    }
    ZT_ERR(zipc_queue_try_pop(a, &v), -EAGAIN);
    v = 77;
    ZT_OK(zipc_queue_try_push(a, &v));
    ZT_OK(zipc_queue_try_pop(b, &v));
    ZT_EQ_U64(v, 77);
    /* And again with A behind: B moves on, then fills the queue. */
    for (uint64_t i = 0; i < 11; i++) {
        ZT_OK(zipc_queue_try_push(b, &i));
        ZT_OK(zipc_queue_try_pop(b, &v));
    }
    check_full_then_drain(a, b, 100);
    zipc_queue_close(a);
    zipc_queue_close(b);
    zipc_segment_close(seg);
}

/* A hint 2^31 + 2 operations behind: the wrapping difference seq - hint then
 * looks negative, like "full"/"empty"; only the exact full/empty values may
 * be believed, anything else re-reads the counter. */
ZTEST(queue_handle_stale_by_2_pow_31_operations_is_not_fooled, ZT_FAST)
{
    zipc_segment *seg;
    zipc_queue *a, *b;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", 8, 8, &a)); /* A's hints: 0, 0 */
    zipc_queue_shm *raw = hint_raw_queue(seg, "q");
    uint32_t base = (UINT32_C(1) << 31) + 2;
    uint32_t *seq = (uint32_t *)((uint8_t *)raw + zipc__queue_seq_offset(8, 8));
    /* An empty queue that has moved `base` elements: slot of counter c holds seq c. */
    for (uint32_t k = 0; k < 8; k++)
        seq[(base + k) & 7] = base + k;
    __atomic_store_n(&raw->head, base, __ATOMIC_SEQ_CST);
    __atomic_store_n(&raw->tail, base, __ATOMIC_SEQ_CST);
    ZT_OK(zipc_queue_open(seg, "q", 8, &b)); /* B starts exact */
    uint64_t v;
    ZT_ERR(zipc_queue_try_pop(a, &v), -EAGAIN);
    v = 5;
    ZT_OK(zipc_queue_try_push(a, &v));
    ZT_EQ(__atomic_load_n(&raw->tail, __ATOMIC_SEQ_CST), base + 1);
    ZT_OK(zipc_queue_try_pop(b, &v));
    ZT_EQ_U64(v, 5);
    check_full_then_drain(a, b, 200);
    ZT_EQ(__atomic_load_n(&raw->head, __ATOMIC_SEQ_CST), base + 10);
    zipc_queue_close(a);
    zipc_queue_close(b);
    zipc_segment_close(seg);
}
