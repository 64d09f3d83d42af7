/* Map: the hash-table core (hashtable.c) with values, insert updating in place. */
#include "zeroipc/map.h"

#include <errno.h>
#include <stdlib.h>

#include "hash.h"
#include "hashtable.h"

/* Crash points of Map operations (testhooks.h range 400-449). */
#define ZIPC_MAP_CRASH_BASE 400

struct zipc_map {
    zipc__htable t;
};

static int map_geometry(size_t key_size, size_t value_size, const zipc_map_options *o,
                        zipc__htable_geom *g)
{
    if (key_size == 0 || key_size > UINT32_MAX || value_size > UINT32_MAX)
        return -EINVAL;
    bool scalar = key_size == 1 || key_size == 2 || key_size == 4 || key_size == 8;
    *g = (zipc__htable_geom){
        .key_size = (uint32_t)key_size,
        .val_size = (uint32_t)value_size,
        .key_align = o ? o->key_align : 0,
        .val_align = o ? o->value_align : 0,
        .key_kind = (o && (o->flags & ZIPC_MAP_KIND_SET)) ? (int)o->key_kind
                    : scalar                             ? ZIPC__KEY_SIGNED
                                                         : ZIPC__KEY_BYTES,
    };
    return zipc__htable_geometry(g);
}

static int wrap(zipc__htable *t, zipc_map **out)
{
    zipc_map *m = malloc(sizeof(*m));
    if (!m) {
        zipc__htable_free(t);
        return -ENOMEM;
    }
    m->t = *t;
    m->t.update_existing = true;
    m->t.crash_base = ZIPC_MAP_CRASH_BASE;
    *out = m;
    return 0;
}

int zipc_map_create(zipc_segment *seg, const char *name, size_t key_size, size_t value_size,
                    uint64_t capacity, const zipc_map_options *opts, zipc_map **out)
{
    zipc__htable_geom g;
    zipc__htable t;
    if (!out)
        return -EINVAL;
    int r = map_geometry(key_size, value_size, opts, &g);
    if (!r)
        r = zipc__htable_create(seg, name, &g, capacity, g.val_size, &t);
    return r ? r : wrap(&t, out);
}

int zipc_map_open(zipc_segment *seg, const char *name, size_t key_size, size_t value_size,
                  const zipc_map_options *opts, zipc_map **out)
{
    zipc__htable_geom g;
    zipc__htable t;
    if (!out)
        return -EINVAL;
    int r = map_geometry(key_size, value_size, opts, &g);
    if (!r)
        r = zipc__htable_open(seg, name, &g, g.val_size, &t);
    return r ? r : wrap(&t, out);
}

void zipc_map_close(zipc_map *map)
{
    if (map)
        zipc__htable_free(&map->t);
    free(map);
}

int zipc_map_insert(zipc_map *map, const void *key, const void *value, bool *added)
{
    return map ? zipc__htable_insert(&map->t, key, value, added) : -EINVAL;
}

int zipc_map_get(zipc_map *map, const void *key, void *value)
{
    return map ? zipc__htable_get(&map->t, key, value) : -EINVAL;
}

int zipc_map_contains(zipc_map *map, const void *key, bool *present)
{
    if (!map || !present)
        return -EINVAL;
    int r = zipc__htable_get(&map->t, key, NULL);
    *present = r == 0;
    return r == -ENOENT ? 0 : r;
}

int zipc_map_remove(zipc_map *map, const void *key)
{
    return map ? zipc__htable_remove(&map->t, key) : -EINVAL;
}

uint64_t zipc_map_size(const zipc_map *map) { return map ? zipc__htable_size(&map->t) : 0; }
uint64_t zipc_map_capacity(const zipc_map *map) { return map ? map->t.capacity : 0; }

int zipc_map_next(zipc_map *map, uint64_t *cursor, void *key, void *value)
{
    return map ? zipc__htable_next(&map->t, cursor, key, value) : -EINVAL;
}

int zipc_map_recover(zipc_map *map, uint32_t *reclaimed)
{
    return map ? zipc__htable_recover(&map->t, reclaimed) : -EINVAL;
}
