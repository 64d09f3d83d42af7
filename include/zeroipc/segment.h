/* libzeroipc: named shared-memory segments and their table of entries.
 *
 * A segment is a POSIX shared-memory object (/dev/shm/NAME) that starts with a
 * table of (name, offset, size) entries; structures are bump-allocated after
 * the table and never freed. See docs/format.md for the bytes.
 *
 * Segment names: an optional leading '/', then 1..ZIPC_SEGMENT_NAME_MAX bytes
 * without '/', not "." or "..". Entry names: 1..ZIPC_ENTRY_NAME_MAX bytes.
 *
 * Thread safety: a zipc_segment handle may be used by several threads at once;
 * adding entries is serialised across threads and processes. Closing a segment
 * while structure handles opened through it are still in use is undefined.
 */
#ifndef ZEROIPC_SEGMENT_H
#define ZEROIPC_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zipc_segment zipc_segment;

/* Longest segment name without its leading '/'. */
#define ZIPC_SEGMENT_NAME_MAX 200

/* Table capacity used when max_entries is 0. */
#define ZIPC_DEFAULT_MAX_ENTRIES 64u

/* Flags for zipc_segment_options.flags. */
#define ZIPC_SEGMENT_OPEN_EXISTING 0x1u /* create, or open it if it already exists */

/* Flags for zipc_segment_open_ex(). */
#define ZIPC_SEGMENT_READONLY 0x1u /* map read-only: no entry can be added, no structure written */

typedef struct zipc_segment_options {
    uint32_t mode;  /* permission bits applied with fchmod; 0 means 0600 (owner only) */
    uint32_t flags; /* ZIPC_SEGMENT_* flags above */
} zipc_segment_options;

/* Create the segment NAME of SIZE bytes with room for MAX_ENTRIES table entries
 * (0: 64). The name must not exist (-EEXIST: an existing segment is never
 * adopted, re-initialised or deleted). The permission bits are 0600. The whole
 * size is reserved up front: a full /dev/shm is -ENOSPC here, never a SIGBUS
 * later. The segment becomes visible under NAME only once fully initialised,
 * and a failed create leaves nothing behind.
 * Returns 0, -EINVAL (size too small for the table, NULL), -ENAMETOOLONG,
 * -EEXIST, -ENOSPC, -EACCES, -ENOMEM, or an OS errno. */
ZIPC_API int zipc_segment_create(const char *name, uint64_t size, uint32_t max_entries,
                                 zipc_segment **out);

/* zipc_segment_create with options (NULL: defaults). With
 * ZIPC_SEGMENT_OPEN_EXISTING an existing segment is opened instead (and
 * validated like zipc_segment_open); *created (if not NULL) tells which. */
ZIPC_API int zipc_segment_create_ex(const char *name, uint64_t size, uint32_t max_entries,
                                    const zipc_segment_options *opts, zipc_segment **out,
                                    bool *created);

/* Open an existing segment read-write. The segment is treated as untrusted
 * input and validated (header, table, every entry) before use.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EACCES, -EPROTO (version 1 or
 * newer than 2), -EBADMSG (anything else inconsistent), -ENOMEM, or an OS errno. */
ZIPC_API int zipc_segment_open(const char *name, zipc_segment **out);

/* zipc_segment_open with flags (ZIPC_SEGMENT_READONLY). */
ZIPC_API int zipc_segment_open_ex(const char *name, uint32_t flags, zipc_segment **out);

/* Unmap and free the handle. NULL is ignored. The segment itself stays. */
ZIPC_API void zipc_segment_close(zipc_segment *seg);

/* Remove the name NAME; processes that have it open keep their mapping.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EACCES. */
ZIPC_API int zipc_segment_unlink(const char *name);

/* Information about one table entry. */
typedef struct zipc_entry_info {
    char name[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t offset; /* from the segment base */
    uint64_t size;   /* bytes, as the creator asked */
} zipc_entry_info;

/* Entry number INDEX (0 .. entry_count-1) in table order.
 * Returns 0, -EINVAL (NULL), -ENOENT (index >= entry count), -EBADMSG (the
 * entry is corrupt). */
ZIPC_API int zipc_segment_entry_at(zipc_segment *seg, uint32_t index, zipc_entry_info *info);

/* The entry called NAME. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG. */
ZIPC_API int zipc_segment_find(zipc_segment *seg, const char *name, zipc_entry_info *info);

/* Add a raw entry of SIZE zeroed bytes (8-byte aligned) for a structure of the
 * caller's own. *offset (if not NULL) receives its offset.
 * Returns 0, -EINVAL (size 0, NULL), -ENAMETOOLONG, -EEXIST (name taken),
 * -ENOSPC (table full or not enough bytes: see zipc_segment_entry_count and
 * zipc_segment_bytes_free to tell which), -EROFS, -EBADMSG. */
ZIPC_API int zipc_segment_add_entry(zipc_segment *seg, const char *name, uint64_t size,
                                    uint64_t *offset);

/* Base address of this process's mapping (offsets are relative to it). */
ZIPC_API void *zipc_segment_base(zipc_segment *seg);
/* Name as given to create/open, with its leading '/'. */
ZIPC_API const char *zipc_segment_name(const zipc_segment *seg);
/* memory_size: the usable size in bytes. */
ZIPC_API uint64_t zipc_segment_size(const zipc_segment *seg);
/* Entries in use now (re-read from the segment). */
ZIPC_API uint32_t zipc_segment_entry_count(zipc_segment *seg);
/* Table capacity (max_entries). */
ZIPC_API uint32_t zipc_segment_max_entries(const zipc_segment *seg);
/* Bytes used: table plus every allocation (next_offset). */
ZIPC_API uint64_t zipc_segment_bytes_used(zipc_segment *seg);
/* Bytes still available for the next allocation (after 8-byte alignment; a
 * queue created ZIPC_QUEUE_LINE_ALIGNED needs up to 56 more). */
ZIPC_API uint64_t zipc_segment_bytes_free(zipc_segment *seg);
/* True when the handle was opened with ZIPC_SEGMENT_READONLY. */
ZIPC_API bool zipc_segment_is_readonly(const zipc_segment *seg);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_SEGMENT_H */
