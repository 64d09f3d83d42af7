/* The hash-table core shared by Map and Set (a Set is a Map whose values are
 * 0 bytes). Layout: map_shm.h. Protocol and crash outcomes: docs/maps.md.
 *
 * Every slot has a 64-bit meta word in the "<name>_own" auxiliary entry. A
 * process changes a slot's state, key or value only while it holds the slot's
 * meta word (CAS from idle to {version+1, pid, phase}); readers copy key and
 * value, then re-read the meta word and retry when it moved (a seqlock). */
#ifndef ZIPC_HASHTABLE_H
#define ZIPC_HASHTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "map_shm.h"
#include "segment_internal.h"

/* Slot phases (meta bits 0-7). Fresh inserts: CLAIMED -> KEYED -> COUNTED;
 * in-place updates: UPDATE; removals: REMOVE -> REMOVED. */
enum {
    ZIPC__SLOT_IDLE = 0,
    ZIPC__SLOT_CLAIMED = 1, /* fresh slot claimed; key not written yet */
    ZIPC__SLOT_KEYED = 2,   /* fresh key written; checking for a duplicate */
    ZIPC__SLOT_COUNTED = 3, /* fresh key checked and counted in size; publishing */
    ZIPC__SLOT_UPDATE = 4,  /* existing key; value being rewritten */
    ZIPC__SLOT_REMOVE = 5,  /* existing key being removed; size not changed yet */
    ZIPC__SLOT_REMOVED = 6, /* size decremented; state about to become DELETED */
};

typedef struct zipc__htable {
    zipc_map_shm *hdr;
    uint8_t *entries;
    zipc_atomic_u64 *meta;  /* capacity words ("<name>_own") */
    uint64_t capacity;      /* validated local copies from here on */
    uint32_t entry_size;
    uint32_t key_off, key_size;
    uint32_t val_off, val_size;
    int key_kind;
    bool val_atomic;        /* the value is copied with one aligned access */
    bool readonly;
    bool update_existing;   /* Map: insert updates; Set: insert leaves it */
    bool meta_owned;        /* meta is a private array (read-only, no "_own" entry) */
    int crash_base;         /* first crash point id of this structure */
} zipc__htable;

/* The geometry of a table: sizes and alignments in, offsets and sizes out. */
typedef struct zipc__htable_geom {
    uint32_t key_size, key_align, val_size, val_align;
    int key_kind;
    uint32_t key_off, val_off, entry_size;
} zipc__htable_geom;

/* Check kind/sizes/alignments, derive 0 alignments, compute offsets.
 * Returns 0 or -EINVAL. */
int zipc__htable_geometry(zipc__htable_geom *g);
/* 16 + entry_size * capacity, or false on overflow / capacity out of range. */
bool zipc__htable_total(const zipc__htable_geom *g, uint64_t capacity, uint64_t *total);

/* Create the table NAME (with its "<name>_own" entry) of CAPACITY slots.
 * HEADER_WORD3 is the value at offset 12 (Map: value_size; Set: 0). */
int zipc__htable_create(zipc_segment *seg, const char *name, const zipc__htable_geom *g,
                        uint64_t capacity, uint32_t header_word3, zipc__htable *t);
/* Open NAME, checking header fields and the entry size formula; adds a
 * missing "<name>_own" entry (tables made by other implementations).
 * HEADER_WORD3 UINT32_MAX: do not check the word at offset 12. */
int zipc__htable_open(zipc_segment *seg, const char *name, const zipc__htable_geom *g,
                      uint32_t header_word3, zipc__htable *t);

/* Insert KEY (and VALUE when val_size > 0). *added (may be NULL) tells whether
 * the key was new. Returns 0, -EINVAL (NaN float key), -ENOSPC (full),
 * -EAGAIN (a peer holds a slot on the key's path too long), -EOWNERDEAD (that
 * peer is dead: recover), -EROFS. */
int zipc__htable_insert(zipc__htable *t, const void *key, const void *value, bool *added);
/* Find KEY; copy its value (if VALUE and val_size). Returns 0, -ENOENT,
 * -EINVAL, -EAGAIN, -EOWNERDEAD. */
int zipc__htable_get(zipc__htable *t, const void *key, void *value);
/* Remove KEY. Returns 0, -ENOENT, -EINVAL, -EAGAIN, -EOWNERDEAD, -EROFS. */
int zipc__htable_remove(zipc__htable *t, const void *key);
/* The next present entry at or after *cursor; advances *cursor past it.
 * Returns 0 or -ENOENT (end of the table), -EINVAL. */
int zipc__htable_next(zipc__htable *t, uint64_t *cursor, void *key, void *value);
/* Reclaim slots held by dead processes; *reclaimed (may be NULL) counts them.
 * Returns 0, -EROFS, -EAGAIN (a slot changed under us: call again). */
int zipc__htable_recover(zipc__htable *t, uint32_t *reclaimed);
uint64_t zipc__htable_size(const zipc__htable *t);
void zipc__htable_free(zipc__htable *t);

#endif /* ZIPC_HASHTABLE_H */
