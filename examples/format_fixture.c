/* Writes the worked example of FORMAT.md section 4 into a new segment, so that
 * other ZeroIPC implementations can read it:
 *   format_fixture NAME     (NAME e.g. /zipc_fixture; it must not exist yet)
 * 1 MiB, 64 entries: "arr" Array<int32>[10] with arr[i] = i*i; "q"
 * Queue<int64> capacity 8 after push 10..50 and one pop; "s" Stack<int32>
 * capacity 16 after push 7, 8, 9. No auxiliary entries, so every byte is the
 * format's. */
#include <stdio.h>

#include "zeroipc/zeroipc.h"

static int fail(const char *what, int r)
{
    fprintf(stderr, "format_fixture: %s: %s\n", what, zipc_strerror(r));
    return 1;
}

int main(int argc, char **argv)
{
    zipc_segment *seg;
    zipc_array *arr;
    zipc_queue *q;
    zipc_stack *s;
    int r;
    if (argc != 2) {
        fprintf(stderr, "usage: %s SEGMENT_NAME\n", argv[0]);
        return 2;
    }
    if ((r = zipc_segment_create(argv[1], 1 << 20, 64, &seg)))
        return fail("create segment", r);
    if ((r = zipc_array_create(seg, "arr", sizeof(int32_t), 10, &arr)))
        return fail("arr", r);
    for (int32_t i = 0; i < 10; i++)
        zipc_array_set(arr, (uint64_t)i, &(int32_t){i * i});
    if ((r = zipc_queue_create_ex(seg, "q", sizeof(int64_t), 8, ZIPC_QUEUE_NO_AUX, &q)))
        return fail("q", r);
    for (int64_t v = 10; v <= 50; v += 10)
        zipc_queue_try_push(q, &v);
    int64_t first;
    zipc_queue_try_pop(q, &first);
    if ((r = zipc_stack_create_ex(seg, "s", sizeof(int32_t), 16, ZIPC_STACK_NO_AUX, &s)))
        return fail("s", r);
    for (int32_t v = 7; v <= 9; v++)
        zipc_stack_try_push(s, &v);
    zipc_array_close(arr);
    zipc_queue_close(q);
    zipc_stack_close(s);
    zipc_segment_close(seg);
    printf("wrote the FORMAT.md section 4 example to %s\n", argv[1]);
    return 0;
}
