/* Set: the hash-table core (hashtable.c) with 0-byte values. */
#include "zeroipc/set.h"

#include <errno.h>
#include <stdlib.h>

#include "hash.h"
#include "hashtable.h"
#include "set_shm.h"

/* Crash points of Set operations (testhooks.h range 450-499). */
#define ZIPC_SET_CRASH_BASE 450

struct zipc_set {
    zipc__htable t;
};

static int set_geometry(size_t elem_size, const zipc_map_options *o, zipc__htable_geom *g)
{
    if (elem_size == 0 || elem_size > UINT32_MAX)
        return -EINVAL;
    bool scalar = elem_size == 1 || elem_size == 2 || elem_size == 4 || elem_size == 8;
    *g = (zipc__htable_geom){
        .key_size = (uint32_t)elem_size,
        .key_align = o ? o->key_align : 0,
        .key_kind = (o && (o->flags & ZIPC_MAP_KIND_SET)) ? (int)o->key_kind
                    : scalar                             ? ZIPC__KEY_SIGNED
                                                         : ZIPC__KEY_BYTES,
    };
    return zipc__htable_geometry(g);
}

static int wrap(zipc__htable *t, zipc_set **out)
{
    zipc_set *s = malloc(sizeof(*s));
    if (!s) {
        zipc__htable_free(t);
        return -ENOMEM;
    }
    s->t = *t;
    s->t.update_existing = false;
    s->t.crash_base = ZIPC_SET_CRASH_BASE;
    *out = s;
    return 0;
}

int zipc_set_create(zipc_segment *seg, const char *name, size_t elem_size, uint64_t capacity,
                    const zipc_map_options *opts, zipc_set **out)
{
    zipc__htable_geom g;
    zipc__htable t;
    if (!out)
        return -EINVAL;
    int r = set_geometry(elem_size, opts, &g);
    if (!r)
        r = zipc__htable_create(seg, name, &g, capacity, 0 /* reserved */, &t);
    return r ? r : wrap(&t, out);
}

int zipc_set_open(zipc_segment *seg, const char *name, size_t elem_size,
                  const zipc_map_options *opts, zipc_set **out)
{
    zipc__htable_geom g;
    zipc__htable t;
    if (!out)
        return -EINVAL;
    int r = set_geometry(elem_size, opts, &g);
    /* The reserved word is not checked: other writers may leave it nonzero. */
    if (!r)
        r = zipc__htable_open(seg, name, &g, UINT32_MAX, &t);
    return r ? r : wrap(&t, out);
}

void zipc_set_close(zipc_set *set)
{
    if (set)
        zipc__htable_free(&set->t);
    free(set);
}

int zipc_set_insert(zipc_set *set, const void *elem, bool *added)
{
    return set ? zipc__htable_insert(&set->t, elem, NULL, added) : -EINVAL;
}

int zipc_set_contains(zipc_set *set, const void *elem, bool *present)
{
    if (!set || !present)
        return -EINVAL;
    int r = zipc__htable_get(&set->t, elem, NULL);
    *present = r == 0;
    return r == -ENOENT ? 0 : r;
}

int zipc_set_remove(zipc_set *set, const void *elem)
{
    return set ? zipc__htable_remove(&set->t, elem) : -EINVAL;
}

uint64_t zipc_set_size(const zipc_set *set) { return set ? zipc__htable_size(&set->t) : 0; }
uint64_t zipc_set_capacity(const zipc_set *set) { return set ? set->t.capacity : 0; }

int zipc_set_next(zipc_set *set, uint64_t *cursor, void *elem)
{
    return set ? zipc__htable_next(&set->t, cursor, elem, NULL) : -EINVAL;
}

int zipc_set_recover(zipc_set *set, uint32_t *reclaimed)
{
    return set ? zipc__htable_recover(&set->t, reclaimed) : -EINVAL;
}
