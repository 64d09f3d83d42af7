/* What structure implementations need from the segment: the handle and the
 * internal entry API (prefix zipc__, hidden from the shared library). */
#ifndef ZIPC_SEGMENT_INTERNAL_H
#define ZIPC_SEGMENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "segment_shm.h"
#include "zeroipc/segment.h"

typedef struct zipc__new_entry zipc__new_entry;

struct zipc_segment {
    uint8_t *base;          /* mapping */
    uint64_t map_size;      /* file size at open: the mapped length */
    uint64_t memory_size;   /* validated: <= map_size */
    uint64_t table_size;    /* 32 + 48 * max_entries */
    uint32_t max_entries;   /* validated local copy (0 stored => 64) */
    bool readonly;
    bool created;
    int fd;                 /* kept open: entry additions lock it (fcntl record lock) */
    char name[ZIPC_SEGMENT_NAME_MAX + 2];
};

/* Writes into the new entry's bytes before the entry becomes visible to other
 * processes (so no opener ever sees a half-initialised structure). */
typedef void (*zipc__init_fn)(void *mem, uint64_t size, void *ctx);

/* One entry of a zipc__seg_add_many() batch. */
struct zipc__new_entry {
    const char *name;
    uint64_t size;
    zipc__init_fn init; /* may be NULL: bytes stay zero */
    void *ctx;
    uint32_t align;     /* 0: align8, as FORMAT.md allocates; ZIPC_CACHE_LINE:
                         * a line boundary, leaving a gap (see entry_offset) */
    uint64_t offset;    /* out */
};

/* Add N entries atomically with respect to other adders and readers: either
 * all become visible (in order, published by one entry_count store) or none.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -EEXIST, -ENOSPC, -EROFS, -EBADMSG. */
int zipc__seg_add_many(zipc_segment *seg, zipc__new_entry *entries, uint32_t n);
/* One entry. */
int zipc__seg_add(zipc_segment *seg, const char *name, uint64_t size, zipc__init_fn init,
                  void *ctx, uint64_t *offset);
/* Look NAME up; on success *offset and *size are validated against the
 * mapping (8-aligned, past the table, inside memory_size).
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG. */
int zipc__seg_lookup(zipc_segment *seg, const char *name, uint64_t *offset, uint64_t *size);
/* zipc__seg_lookup for a fixed-size structure: *mem is its address in this
 * mapping. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG (also when
 * the entry's size is not SIZE). */
int zipc__seg_lookup_fixed(zipc_segment *seg, const char *name, uint64_t size, void **mem);
/* Validate an entry name: 0, -EINVAL (NULL or empty), -ENAMETOOLONG. */
int zipc__check_entry_name(const char *name);

/* NAME + SUFFIX into OUT: 0, or -EINVAL/-ENAMETOOLONG. */
int zipc__aux_name(const char *name, const char *suffix, char out[ZIPC_ENTRY_NAME_MAX + 1]);

static inline void *zipc__seg_ptr(zipc_segment *seg, uint64_t offset)
{
    return seg->base + offset;
}

#endif /* ZIPC_SEGMENT_INTERNAL_H */
