/* Array: fixed-capacity element array with atomic element operations. */
#include "zeroipc/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array_shm.h"
#include "atomics.h"
#include "segment_internal.h"

struct zipc_array {
    uint8_t *data;      /* first element in this mapping */
    uint64_t capacity;  /* validated local copy */
    size_t elem_size;
    bool readonly;
};

/* capacity * elem_size + header, or false on overflow. */
static bool entry_size_for(uint64_t capacity, size_t elem_size, uint64_t header, uint64_t *total)
{
    if (elem_size == 0 || capacity > (UINT64_MAX - header) / elem_size)
        return false;
    *total = header + capacity * elem_size;
    return true;
}

static void init_array(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    zipc_array_shm *a = mem;
    a->capacity = *(const uint64_t *)ctx;
}

static int make_handle(zipc_segment *seg, uint8_t *data, uint64_t capacity, size_t elem_size,
                       zipc_array **out)
{
    zipc_array *arr = malloc(sizeof(*arr));
    if (!arr)
        return -ENOMEM;
    *arr = (zipc_array){.data = data, .capacity = capacity, .elem_size = elem_size,
                        .readonly = seg->readonly};
    *out = arr;
    return 0;
}

int zipc_array_create(zipc_segment *seg, const char *name, size_t elem_size, uint64_t capacity,
                      zipc_array **out)
{
    uint64_t total, off;
    if (!seg || !out || capacity == 0 || !entry_size_for(capacity, elem_size, ZIPC_ARRAY_HEADER, &total))
        return -EINVAL;
    int r = zipc__seg_add(seg, name, total, init_array, &capacity, &off);
    if (r)
        return r;
    return make_handle(seg, seg->base + off + ZIPC_ARRAY_HEADER, capacity, elem_size, out);
}

int zipc_array_open(zipc_segment *seg, const char *name, size_t elem_size, zipc_array **out)
{
    uint64_t off, size, want;
    if (!seg || !out || elem_size == 0)
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (r)
        return r;
    if (size < ZIPC_ARRAY_HEADER)
        return -EBADMSG;
    const uint8_t *mem = seg->base + off;
    uint64_t capacity;
    memcpy(&capacity, mem, sizeof(capacity)); /* read once, then checked */
    if (entry_size_for(capacity, elem_size, ZIPC_ARRAY_HEADER, &want) && want == size)
        return make_handle(seg, seg->base + off + ZIPC_ARRAY_HEADER, capacity, elem_size, out);
    /* The older 16-byte {capacity, elem_size} header: read it as a kindness. */
    uint64_t stored_es;
    if (size >= ZIPC_ARRAY_LEGACY_HEADER) {
        memcpy(&stored_es, mem + 8, sizeof(stored_es));
        if (stored_es == elem_size &&
            entry_size_for(capacity, elem_size, ZIPC_ARRAY_LEGACY_HEADER, &want) && want == size)
            return make_handle(seg, seg->base + off + ZIPC_ARRAY_LEGACY_HEADER, capacity,
                               elem_size, out);
    }
    return -EBADMSG;
}

void *zipc_array_data(zipc_array *arr) { return arr->data; }
uint64_t zipc_array_capacity(const zipc_array *arr) { return arr->capacity; }
size_t zipc_array_elem_size(const zipc_array *arr) { return arr->elem_size; }
void zipc_array_close(zipc_array *arr) { free(arr); }

void *zipc_array_at(zipc_array *arr, uint64_t index)
{
    if (!arr || index >= arr->capacity)
        return NULL;
    return arr->data + index * arr->elem_size;
}

int zipc_array_get(zipc_array *arr, uint64_t index, void *elem)
{
    if (!arr || !elem)
        return -EINVAL;
    if (index >= arr->capacity)
        return -ERANGE;
    memcpy(elem, arr->data + index * arr->elem_size, arr->elem_size);
    return 0;
}

int zipc_array_set(zipc_array *arr, uint64_t index, const void *elem)
{
    if (!arr || !elem)
        return -EINVAL;
    if (index >= arr->capacity)
        return -ERANGE;
    if (arr->readonly)
        return -EROFS;
    memcpy(arr->data + index * arr->elem_size, elem, arr->elem_size);
    return 0;
}

/* ---- atomic element operations: one core, instantiated per width -------- */

enum elem_op { OP_LOAD, OP_STORE, OP_XCHG, OP_ADD, OP_SUB, OP_AND, OP_OR, OP_XOR };

/* The element's address for an atomic op of WIDTH bytes, after the checks every
 * operation shares. Elements are naturally aligned: entries are 8-aligned and
 * the header is 8 (or 16) bytes. */
static int elem_addr(zipc_array *arr, uint64_t index, size_t width, bool writes, void **p)
{
    if (!arr || arr->elem_size != width)
        return -EINVAL;
    if (index >= arr->capacity)
        return -ERANGE;
    if (writes && arr->readonly)
        return -EROFS;
    *p = arr->data + index * width;
    return 0;
}

/* All operations are seq_cst: the documented contract of the public API (no
 * partner inside the library; users pair them with each other). */
#define ZIPC__ARRAY_OP_CORE(sfx, T)                                                            \
    static int op_##sfx(zipc_array *arr, uint64_t index, enum elem_op op, T v, T *old)         \
    {                                                                                          \
        void *p;                                                                               \
        int r = elem_addr(arr, index, sizeof(T), op != OP_LOAD, &p);                           \
        if (r)                                                                                 \
            return r;                                                                          \
        zipc_atomic_##sfx *a = p;                                                              \
        T prev = 0;                                                                            \
        switch (op) {                                                                          \
        case OP_LOAD: prev = zipc__load_seq_cst_##sfx(a); break;                               \
        case OP_STORE: zipc__store_seq_cst_##sfx(a, v); break;                                 \
        case OP_XCHG: prev = zipc__exchange_seq_cst_##sfx(a, v); break;                        \
        case OP_ADD: prev = zipc__fetch_add_seq_cst_##sfx(a, v); break;                        \
        case OP_SUB: prev = zipc__fetch_sub_seq_cst_##sfx(a, v); break;                        \
        case OP_AND: prev = zipc__fetch_and_seq_cst_##sfx(a, v); break;                        \
        case OP_OR: prev = zipc__fetch_or_seq_cst_##sfx(a, v); break;                          \
        case OP_XOR: prev = zipc__fetch_xor_seq_cst_##sfx(a, v); break;                        \
        }                                                                                      \
        if (old)                                                                               \
            *old = prev;                                                                       \
        return 0;                                                                              \
    }                                                                                          \
    int zipc_array_load_##sfx(zipc_array *arr, uint64_t i, T *value)                           \
    { return value ? op_##sfx(arr, i, OP_LOAD, 0, value) : -EINVAL; }                          \
    int zipc_array_store_##sfx(zipc_array *arr, uint64_t i, T v)                               \
    { return op_##sfx(arr, i, OP_STORE, v, NULL); }                                            \
    int zipc_array_exchange_##sfx(zipc_array *arr, uint64_t i, T v, T *old)                    \
    { return op_##sfx(arr, i, OP_XCHG, v, old); }                                              \
    int zipc_array_fetch_add_##sfx(zipc_array *arr, uint64_t i, T v, T *old)                   \
    { return op_##sfx(arr, i, OP_ADD, v, old); }                                               \
    int zipc_array_fetch_sub_##sfx(zipc_array *arr, uint64_t i, T v, T *old)                   \
    { return op_##sfx(arr, i, OP_SUB, v, old); }                                               \
    int zipc_array_fetch_and_##sfx(zipc_array *arr, uint64_t i, T v, T *old)                   \
    { return op_##sfx(arr, i, OP_AND, v, old); }                                               \
    int zipc_array_fetch_or_##sfx(zipc_array *arr, uint64_t i, T v, T *old)                    \
    { return op_##sfx(arr, i, OP_OR, v, old); }                                                \
    int zipc_array_fetch_xor_##sfx(zipc_array *arr, uint64_t i, T v, T *old)                   \
    { return op_##sfx(arr, i, OP_XOR, v, old); }                                               \
    int zipc_array_compare_exchange_##sfx(zipc_array *arr, uint64_t i, T *expected, T desired) \
    {                                                                                          \
        void *p;                                                                               \
        if (!expected)                                                                         \
            return -EINVAL;                                                                    \
        int r = elem_addr(arr, i, sizeof(T), true, &p);                                        \
        if (r)                                                                                 \
            return r;                                                                          \
        return zipc__cas_seq_cst_##sfx((zipc_atomic_##sfx *)p, expected, desired) ? 0 : -EAGAIN; \
    }

ZIPC__ARRAY_OP_CORE(u32, uint32_t)
ZIPC__ARRAY_OP_CORE(u64, uint64_t)
