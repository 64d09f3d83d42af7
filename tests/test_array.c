/* Array: create/open, bounds, atomics. */
#include "harness.h"

ZTEST(array_create_then_open_sees_same_elements, ZT_FAST)
{
    zipc_segment *seg, *seg2;
    zipc_array *a, *b;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_array_create(seg, "arr", sizeof(int32_t), 10, &a));
    for (int32_t i = 0; i < 10; i++)
        ZT_OK(zipc_array_set(a, (uint64_t)i, &(int32_t){i * i}));
    ZT_OK(zipc_segment_open(zt_name(NULL), &seg2));
    ZT_OK(zipc_array_open(seg2, "arr", sizeof(int32_t), &b));
    ZT_EQ(zipc_array_capacity(b), 10);
    ZT_ASSERT(zipc_array_data(a) != zipc_array_data(b));
    for (int32_t i = 0; i < 10; i++) {
        int32_t v;
        ZT_OK(zipc_array_get(b, (uint64_t)i, &v));
        ZT_EQ(v, i * i);
    }
    zipc_array_close(a);
    zipc_array_close(b);
    zipc_segment_close(seg);
    zipc_segment_close(seg2);
}

ZTEST(array_open_with_wrong_elem_size_is_ebadmsg, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_array_create(seg, "arr", 4, 10, &a));
    ZT_ERR(zipc_array_open(seg, "arr", 8, &(zipc_array *){0}), -EBADMSG);
    ZT_ERR(zipc_array_open(seg, "nope", 4, &(zipc_array *){0}), -ENOENT);
    zipc_array_close(a);
    zipc_segment_close(seg);
}

ZTEST(array_get_set_out_of_range_is_erange, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a;
    int32_t v = 1;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_array_create(seg, "arr", 4, 3, &a));
    ZT_ERR(zipc_array_get(a, 3, &v), -ERANGE);
    ZT_ERR(zipc_array_set(a, 3, &v), -ERANGE);
    ZT_ASSERT(zipc_array_at(a, 3) == NULL);
    ZT_ASSERT(zipc_array_at(a, 2) != NULL);
    ZT_ERR(zipc_array_load_u32(a, 3, (uint32_t *)&v), -ERANGE);
    zipc_array_close(a);
    zipc_segment_close(seg);
}

ZTEST(array_create_rejects_zero_and_overflowing_sizes, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_ERR(zipc_array_create(seg, "a", 0, 3, &a), -EINVAL);
    ZT_ERR(zipc_array_create(seg, "a", 4, 0, &a), -EINVAL);
    ZT_ERR(zipc_array_create(seg, "a", 8, UINT64_MAX / 4, &a), -EINVAL);
    ZT_ERR(zipc_array_create(seg, "a", 8, 1 << 20, &a), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    zipc_segment_close(seg);
}

ZTEST(array_atomic_ops_return_previous_values, ZT_FAST)
{
    zipc_segment *seg;
    zipc_array *a, *b;
    uint32_t old32, v32;
    uint64_t old64, v64;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_array_create(seg, "a32", 4, 4, &a));
    ZT_OK(zipc_array_create(seg, "a64", 8, 4, &b));
    ZT_OK(zipc_array_store_u32(a, 1, 5));
    ZT_OK(zipc_array_fetch_add_u32(a, 1, 3, &old32));
    ZT_EQ(old32, 5);
    ZT_OK(zipc_array_fetch_sub_u32(a, 1, 1, &old32));
    ZT_EQ(old32, 8);
    ZT_OK(zipc_array_fetch_or_u32(a, 1, 0x10, &old32));
    ZT_OK(zipc_array_fetch_and_u32(a, 1, 0x17, &old32));
    ZT_EQ(old32, 0x17);
    ZT_OK(zipc_array_fetch_xor_u32(a, 1, 0xff, &old32));
    ZT_OK(zipc_array_load_u32(a, 1, &v32));
    ZT_EQ(v32, 0x17 ^ 0xff);
    ZT_OK(zipc_array_exchange_u32(a, 1, 42, &old32));
    ZT_EQ(old32, 0x17 ^ 0xff);
    uint32_t exp32 = 41;
    ZT_ERR(zipc_array_compare_exchange_u32(a, 1, &exp32, 7), -EAGAIN);
    ZT_EQ(exp32, 42);
    ZT_OK(zipc_array_compare_exchange_u32(a, 1, &exp32, 7));
    ZT_OK(zipc_array_load_u32(a, 1, &v32));
    ZT_EQ(v32, 7);
    ZT_ERR(zipc_array_load_u64(a, 1, &v64), -EINVAL); /* wrong width */

    ZT_OK(zipc_array_store_u64(b, 3, UINT64_C(1) << 40));
    ZT_OK(zipc_array_fetch_add_u64(b, 3, 1, &old64));
    ZT_EQ_U64(old64, UINT64_C(1) << 40);
    uint64_t exp64 = (UINT64_C(1) << 40) + 1;
    ZT_OK(zipc_array_compare_exchange_u64(b, 3, &exp64, 9));
    ZT_OK(zipc_array_load_u64(b, 3, &v64));
    ZT_EQ_U64(v64, 9);
    zipc_array_close(a);
    zipc_array_close(b);
    zipc_segment_close(seg);
}

struct counter_arg {
    const char *seg;
    int iters;
};

static void add_worker(void *p)
{
    struct counter_arg *c = p;
    zipc_segment *seg;
    zipc_array *a;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_array_open(seg, "ctr", 8, &a));
    for (int i = 0; i < c->iters; i++)
        ZT_OK(zipc_array_fetch_add_u64(a, 0, 1, NULL));
    zipc_array_close(a);
    zipc_segment_close(seg);
}

ZTEST(array_fetch_add_from_many_processes_loses_no_increment, ZT_MEDIUM)
{
    zipc_segment *seg;
    zipc_array *a;
    enum { NPROC = 4 };
    struct counter_arg c = {zt_name(NULL), (int)zt_env_u64("ZIPC_STRESS_ITERS", 100000)};
    ZT_OK(zipc_segment_create(c.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_array_create(seg, "ctr", 8, 1, &a));
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++)
        pids[i] = zt_fork(add_worker, &c);
    for (int i = 0; i < NPROC; i++)
        zt_wait_ok(pids[i]);
    uint64_t v;
    ZT_OK(zipc_array_load_u64(a, 0, &v));
    ZT_EQ_U64(v, (uint64_t)NPROC * (uint64_t)c.iters);
    zipc_array_close(a);
    zipc_segment_close(seg);
}
