/* Pool: a Treiber free list of node indices with a generation-tagged head. */
#include "zeroipc/pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool_shm.h"
#include "segment_internal.h"
#include "testhooks.h"

struct zipc_pool {
    zipc_pool_shm *hdr;
    uint8_t *nodes;
    zipc_atomic_u32 *own;  /* "<name>_own" node states */
    uint32_t capacity;     /* validated local copies */
    uint32_t elem_size, next_off, node_size;
    bool readonly;
};

/* Largest ELEM_ALIGN accepted (a page). ELEM_ALIGN only enters the node size
 * formula: table entries are 8-aligned, so objects are not placed at
 * addresses aligned beyond 8 whatever ELEM_ALIGN says. */
#define POOL_MAX_ALIGN 4096u

static uint64_t align_up(uint64_t n, uint64_t a) { return (n + a - 1) & ~(a - 1); }

/* Node geometry from the object size and alignment; false if invalid. */
static bool geometry(size_t elem_size, size_t elem_align, uint32_t *next_off, uint32_t *node_size)
{
    if (elem_size == 0 || elem_size > UINT32_MAX / 2)
        return false;
    if (elem_align == 0)
        elem_align = elem_size == 2 || elem_size == 4 || elem_size == 8 ? elem_size : 1;
    if ((elem_align & (elem_align - 1)) || elem_align > POOL_MAX_ALIGN || elem_size % elem_align)
        return false;
    uint64_t a = elem_align > 4 ? elem_align : 4;
    *next_off = (uint32_t)align_up(elem_size, 4);
    *node_size = (uint32_t)align_up(*next_off + 4u, a);
    return true;
}

static bool total_for(uint64_t capacity, uint32_t node_size, uint64_t *total)
{
    if (capacity == 0 || capacity >= ZIPC_POOL_NONE)
        return false;
    *total = ZIPC_POOL_HEADER + capacity * node_size;
    return true;
}

static zipc_atomic_u32 *next_of(const zipc_pool *p, uint32_t i)
{
    return (zipc_atomic_u32 *)(p->nodes + (uint64_t)i * p->node_size + p->next_off);
}

struct pool_init {
    uint32_t capacity, elem_size, next_off, node_size;
};

static void init_pool(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    const struct pool_init *c = ctx;
    zipc_pool_shm *h = mem;
    h->capacity = c->capacity;
    h->elem_size = c->elem_size;
    uint8_t *nodes = (uint8_t *)mem + ZIPC_POOL_HEADER;
    for (uint32_t i = 0; i < c->capacity; i++) {
        uint32_t next = i + 1 == c->capacity ? ZIPC_POOL_NONE : i + 1;
        zipc__store_relaxed_u32((zipc_atomic_u32 *)(nodes + (uint64_t)i * c->node_size + c->next_off),
                                next);
    }
    /* free_head = 0: generation 0, index 0 (the zeroed bytes) */
}

static void init_own(void *mem, uint64_t size, void *ctx)
{
    (void)ctx;
    zipc_atomic_u32 *own = mem;
    for (uint64_t i = 0; i < size / sizeof(*own); i++)
        zipc__store_relaxed_u32(&own[i], ZIPC__NODE_FREE);
}

static int make_handle(zipc_segment *seg, uint64_t off, uint64_t own_off, uint32_t capacity,
                       uint32_t elem_size, uint32_t next_off, uint32_t node_size, zipc_pool **out)
{
    zipc_pool *p = malloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    *p = (zipc_pool){
        .hdr = zipc__seg_ptr(seg, off),
        .nodes = (uint8_t *)zipc__seg_ptr(seg, off) + ZIPC_POOL_HEADER,
        .own = zipc__seg_ptr(seg, own_off),
        .capacity = capacity,
        .elem_size = elem_size,
        .next_off = next_off,
        .node_size = node_size,
        .readonly = seg->readonly,
    };
    *out = p;
    return 0;
}

int zipc_pool_create(zipc_segment *seg, const char *name, size_t elem_size, size_t elem_align,
                     uint64_t capacity, zipc_pool **out)
{
    char own[ZIPC_ENTRY_NAME_MAX + 1];
    uint32_t next_off, node_size;
    uint64_t total;
    if (!seg || !out || !geometry(elem_size, elem_align, &next_off, &node_size) ||
        !total_for(capacity, node_size, &total))
        return -EINVAL;
    int r = zipc__aux_name(name, ZIPC_POOL_OWN_SUFFIX, own);
    if (r)
        return r;
    struct pool_init c = {(uint32_t)capacity, (uint32_t)elem_size, next_off, node_size};
    zipc__new_entry es[2] = {
        {.name = own, .size = capacity * sizeof(uint32_t), .init = init_own},
        {.name = name, .size = total, .init = init_pool, .ctx = &c},
    };
    r = zipc__seg_add_many(seg, es, 2);
    if (r)
        return r;
    return make_handle(seg, es[1].offset, es[0].offset, c.capacity, c.elem_size, next_off,
                       node_size, out);
}

int zipc_pool_open(zipc_segment *seg, const char *name, size_t elem_size, size_t elem_align,
                   zipc_pool **out)
{
    char own[ZIPC_ENTRY_NAME_MAX + 1];
    uint32_t next_off, node_size;
    uint64_t off, size, total, own_off, own_size;
    if (!seg || !out || !geometry(elem_size, elem_align, &next_off, &node_size))
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (r)
        return r;
    if (size < ZIPC_POOL_HEADER)
        return -EBADMSG;
    const zipc_pool_shm *h = zipc__seg_ptr(seg, off);
    uint32_t capacity = h->capacity, es = h->elem_size; /* read once, then checked */
    if (es != elem_size || !total_for(capacity, node_size, &total) || total != size)
        return -EBADMSG;
    if ((r = zipc__aux_name(name, ZIPC_POOL_OWN_SUFFIX, own)))
        return r;
    uint64_t want = (uint64_t)capacity * sizeof(uint32_t);
    r = zipc__seg_lookup(seg, own, &own_off, &own_size);
    if (r == -ENOENT && !seg->readonly) {
        /* Made by another implementation: node states start UNKNOWN (0). */
        r = zipc__seg_add(seg, own, want, NULL, NULL, &own_off);
        own_size = want;
        if (r == -EEXIST)
            r = zipc__seg_lookup(seg, own, &own_off, &own_size);
    }
    if (r)
        return r;
    if (own_size != want)
        return -EBADMSG;
    return make_handle(seg, off, own_off, capacity, es, next_off, node_size, out);
}

void zipc_pool_close(zipc_pool *pool) { free(pool); }

/* Mark the node IDX, just popped, ALLOCATED. A listed node is FREE (or
 * UNKNOWN: made by another implementation); an ALLOCATED one means the list
 * is corrupt (or held an UNKNOWN node freed by mistake): false, and the
 * index is not handed out a second time. Relaxed: the node is ours; the
 * free that later reads this state runs in the process we hand the index
 * to, which synchronises with us through whatever carried the index. */
static bool mark_allocated(zipc_pool *pool, uint32_t idx)
{
    uint32_t st = zipc__load_relaxed_u32(&pool->own[idx]);
    do {
        if (st != ZIPC__NODE_FREE && st != ZIPC__NODE_UNKNOWN)
            return false;
    } while (!zipc__cas_relaxed_u32(&pool->own[idx], &st, ZIPC__NODE_ALLOCATED));
    return true;
}

int zipc_pool_alloc(zipc_pool *pool, uint32_t *index, void **ptr)
{
    if (!pool || !index)
        return -EINVAL;
    if (pool->readonly)
        return -EROFS;
    zipc_pool_shm *h = pool->hdr;
    /* A1 (acquire): pairs with R1 in zipc_pool_free: the head node's next
     * (and its object bytes) are visible. */
    uint64_t head = zipc__load_acquire_u64(&h->free_head);
    uint32_t idx;
    for (;;) {
        idx = (uint32_t)head;
        if (idx == ZIPC_POOL_NONE)
            return -EAGAIN;
        if (idx >= pool->capacity)
            return -EBADMSG;
        uint32_t next = zipc__load_relaxed_u32(next_of(pool, idx));
        uint64_t want = ((head >> 32) + 1) << 32 | next;
        /* A2 (acq_rel CAS): on success we own node idx; the generation
         * bump makes a stale head (popped and pushed back meanwhile) fail.
         * On failure head is reloaded (acquire, as A1). */
        if (zipc__cas_acq_rel_u64(&h->free_head, &head, want))
            break;
    }
    ZIPC_CRASH_POINT(500);
    if (!mark_allocated(pool, idx))
        return -EBADMSG; /* it stays off the list: it is someone's */
    ZIPC_CRASH_POINT(501);
    zipc__fetch_add_relaxed_u32(&h->allocated, 1);
    *index = idx;
    if (ptr)
        *ptr = pool->nodes + (uint64_t)idx * pool->node_size;
    return 0;
}

int zipc_pool_free(zipc_pool *pool, uint32_t index)
{
    if (!pool || index >= pool->capacity)
        return -EINVAL;
    if (pool->readonly)
        return -EROFS;
    zipc_pool_shm *h = pool->hdr;
    uint32_t st = ZIPC__NODE_ALLOCATED;
    /* Exactly one free of an allocation wins this CAS; a second one (or a
     * free of an index never handed out) finds FREE and is refused. */
    if (!zipc__cas_relaxed_u32(&pool->own[index], &st, ZIPC__NODE_FREE)) {
        if (st != ZIPC__NODE_UNKNOWN || !zipc__cas_relaxed_u32(&pool->own[index], &st, ZIPC__NODE_FREE))
            return -EINVAL;
    }
    ZIPC_CRASH_POINT(510);
    zipc__fetch_sub_relaxed_u32(&h->allocated, 1);
    ZIPC_CRASH_POINT(511);
    uint64_t head = zipc__load_relaxed_u64(&h->free_head);
    for (;;) {
        zipc__store_relaxed_u32(next_of(pool, index), (uint32_t)head);
        uint64_t want = ((head >> 32) + 1) << 32 | index;
        /* R1 (release): pairs with A1/A2 in alloc: next and the object's
         * bytes are visible to the process that pops this node. */
        if (zipc__cas_release_u64(&h->free_head, &head, want))
            return 0;
    }
}

void *zipc_pool_at(zipc_pool *pool, uint32_t index)
{
    if (!pool || index >= pool->capacity)
        return NULL;
    return pool->nodes + (uint64_t)index * pool->node_size;
}

uint32_t zipc_pool_allocated(const zipc_pool *pool)
{
    return pool ? zipc__load_relaxed_u32(&pool->hdr->allocated) : 0;
}
uint32_t zipc_pool_capacity(const zipc_pool *pool) { return pool ? pool->capacity : 0; }
size_t zipc_pool_elem_size(const zipc_pool *pool) { return pool ? pool->elem_size : 0; }

int zipc_pool_recover_quiescent(zipc_pool *pool, uint32_t *reclaimed)
{
    if (!pool)
        return -EINVAL;
    if (pool->readonly)
        return -EROFS;
    uint8_t *on_list = calloc(pool->capacity, 1);
    if (!on_list)
        return -ENOMEM;
    zipc_pool_shm *h = pool->hdr;
    /* Acquire: pairs with R1 of the last free: the links below are its. */
    uint64_t head = zipc__load_acquire_u64(&h->free_head);
    uint32_t listed = 0;
    /* Walk the list; a corrupt link (out of range or a cycle) ends it, and
     * the rebuild below repairs it. */
    for (uint32_t i = (uint32_t)head; i < pool->capacity && !on_list[i] && listed < pool->capacity;
         i = zipc__load_relaxed_u32(next_of(pool, i))) {
        on_list[i] = 1;
        listed++;
    }
    /* Rebuild: every FREE node and every listed node not marked ALLOCATED
     * (a listed ALLOCATED node is corruption: it is someone's), in index
     * order (highest pushed first so the lowest index ends up on top). */
    uint32_t first = ZIPC_POOL_NONE, back = 0, allocated = 0;
    for (uint32_t i = pool->capacity; i-- > 0;) {
        uint32_t st = zipc__load_relaxed_u32(&pool->own[i]);
        if (st != ZIPC__NODE_FREE && (!on_list[i] || st == ZIPC__NODE_ALLOCATED)) {
            allocated++;
            continue;
        }
        if (!on_list[i])
            back++;
        zipc__store_relaxed_u32(&pool->own[i], ZIPC__NODE_FREE);
        zipc__store_relaxed_u32(next_of(pool, i), first);
        first = i;
    }
    free(on_list);
    zipc__store_relaxed_u32(&h->allocated, allocated);
    /* Release: the rebuilt links are visible to whoever pops next (A1). */
    zipc__store_release_u64(&h->free_head, ((head >> 32) + 1) << 32 | first);
    if (reclaimed)
        *reclaimed = back;
    return 0;
}
