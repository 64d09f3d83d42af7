/* Built against an installed libzeroipc (pkg-config and CMake) by
 * tests/install/check.sh: proves the installed headers, libraries and package
 * files are usable on their own. */
#include <stdio.h>
#include <unistd.h>
#include <zeroipc/zeroipc.h>

int main(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/zipc-install-check-%d", (int)getpid());
    zipc_segment *seg;
    zipc_array *arr;
    int r = zipc_segment_create(name, 1 << 16, 0, &seg);
    if (r == 0)
        r = zipc_array_create(seg, "a", 8, 4, &arr);
    if (r == 0)
        r = zipc_array_store_u64(arr, 2, 42);
    uint64_t v = 0;
    if (r == 0)
        r = zipc_array_load_u64(arr, 2, &v);
    zipc_segment_unlink(name);
    if (r != 0 || v != 42) {
        fprintf(stderr, "consumer: %s\n", zipc_strerror(r));
        return 1;
    }
    printf("consumer: libzeroipc %s works\n", zipc_version());
    return 0;
}
