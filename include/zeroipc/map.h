/* libzeroipc: Map, a fixed-capacity hash map in shared memory.
 *
 * Layout (docs/format.md "Map"): the C++ ZeroIPC implementation's open
 * addressing table with linear probing, byte for byte: the same entry layout,
 * the same hash of the key and the same probe order, so maps written there are
 * read here and the reverse. Keys and values are fixed-size byte blocks; the
 * key kind chooses the hash and the equality (see zipc_key_kind).
 *
 * Concurrency: insert, get, remove and iteration are safe from many processes
 * and threads at once. No lock is taken: a process never waits for a peer
 * working on another key; it waits (boundedly, see -EAGAIN/-EOWNERDEAD) only
 * for a peer that is in the middle of changing a slot it must read or pass:
 * the same key, or the EMPTY slot that ends its key's path. Every slot has a
 * 64-bit claim word in the auxiliary entry
 * "<name>_own" (so NAME is at most 27 bytes); docs/maps.md describes the
 * protocol, why no key is ever stored twice, and what a crash can leave.
 *
 * Values: zipc_map_get always returns a consistent value, of any size (it
 * re-reads while a writer changes the slot). A value of 1, 2, 4 or 8 bytes
 * aligned to its size (the default alignment) is also written with a single
 * store, so even a reader of another implementation, which does not validate,
 * cannot see half of it; a larger value can look torn to such a reader. */
#ifndef ZEROIPC_MAP_H
#define ZEROIPC_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How keys are hashed and compared (must match what the creator used; it is
 * not stored). Integers: hash = value widened to 64 bits (signed ones
 * sign-extended) * 2654435761, equality by value. FLOAT (4 or 8 bytes):
 * libstdc++'s MurmurHash2 of the bytes, equality by value; -0.0 is stored and
 * hashed as +0.0 and NaN is refused. BYTES: MurmurHash2, equality by bytes. */
typedef enum zipc_key_kind {
    ZIPC_KEY_SIGNED = 0,   /* int8/16/32/64 (the default for 1, 2, 4, 8-byte keys) */
    ZIPC_KEY_UNSIGNED = 1, /* uint8/16/32/64 */
    ZIPC_KEY_FLOAT = 2,    /* float, double */
    ZIPC_KEY_BYTES = 3,    /* anything else (the default for other sizes) */
} zipc_key_kind;

/* Optional layout details for create and open (NULL: all defaults). */
typedef struct zipc_map_options {
    uint32_t key_align;   /* alignof(K); 0: the size for 1/2/4/8-byte keys, else 1 */
    uint32_t value_align; /* alignof(V); 0: likewise from the value size */
    uint32_t flags;       /* ZIPC_MAP_KIND_SET to use key_kind below */
    zipc_key_kind key_kind;
} zipc_map_options;

#define ZIPC_MAP_KIND_SET 0x1u /* key_kind is given (else derived from the key size) */

/* Longest Map/Set name: the "_own" claim entry must fit in 31 bytes. */
#define ZIPC_MAP_NAME_MAX 27

typedef struct zipc_map zipc_map;

/* Create the Map NAME with CAPACITY slots (1 .. 2^32-1) for KEY_SIZE-byte keys
 * and VALUE_SIZE-byte values (0 allowed). Entry size and offsets follow the
 * format's natural-alignment formula from the sizes and alignments.
 * Returns 0, -EINVAL (NULL, zero key size or capacity, a key size the kind
 * does not allow, alignment not a power of two or not dividing the size,
 * overflow), -ENAMETOOLONG (NAME longer than 27 bytes), -EEXIST, -ENOSPC
 * (segment full), -EROFS, -EBADMSG, -ENOMEM. */
ZIPC_API int zipc_map_create(zipc_segment *seg, const char *name, size_t key_size,
                             size_t value_size, uint64_t capacity, const zipc_map_options *opts,
                             zipc_map **out);

/* Open the Map NAME with the creator's sizes, alignments and key kind. Adds
 * the "<name>_own" entry if another implementation made the map (read-only
 * handles use a private one instead).
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EBADMSG (key or value size
 * differs from the header, or the entry size does not match 16 + capacity *
 * entry_size), -ENOSPC (no room for "<name>_own"), -ENOMEM. */
ZIPC_API int zipc_map_open(zipc_segment *seg, const char *name, size_t key_size,
                           size_t value_size, const zipc_map_options *opts, zipc_map **out);

/* Free the handle (the map stays). NULL is ignored. */
ZIPC_API void zipc_map_close(zipc_map *map);

/* Insert KEY -> VALUE, or update the value in place when KEY is present.
 * *added (may be NULL) is true when KEY was new.
 * Returns 0, -EINVAL (NULL, NaN float key), -ENOSPC (no free slot on the
 * key's path: the table is full, counting slots that concurrent inserts hold
 * at this moment), -EAGAIN (a peer held a slot on the path for too long:
 * retry; also a slot left mid-write by a writer of another implementation,
 * which has no owner to recover), -EOWNERDEAD (that peer died holding it:
 * call zipc_map_recover, then retry), -EROFS. */
ZIPC_API int zipc_map_insert(zipc_map *map, const void *key, const void *value, bool *added);

/* Copy KEY's value to VALUE (may be NULL). The copy is consistent: never
 * half of an update. Returns 0, -ENOENT (absent), -EINVAL, -EAGAIN,
 * -EOWNERDEAD (as for insert: the key's slot is held by a dead process). */
ZIPC_API int zipc_map_get(zipc_map *map, const void *key, void *value);

/* *present = KEY is in the map. Returns 0, -EINVAL, -EAGAIN, -EOWNERDEAD. */
ZIPC_API int zipc_map_contains(zipc_map *map, const void *key, bool *present);

/* Remove KEY (its slot becomes a DELETED tombstone). Returns 0, -ENOENT,
 * -EINVAL, -EAGAIN, -EOWNERDEAD, -EROFS. */
ZIPC_API int zipc_map_remove(zipc_map *map, const void *key);

/* Keys present now (the shared counter; exact when no operation is in
 * flight and no process died mid-operation without recovery). */
ZIPC_API uint64_t zipc_map_size(const zipc_map *map);
ZIPC_API uint64_t zipc_map_capacity(const zipc_map *map);

/* Iterate: start with *cursor = 0; each call copies the next present entry
 * (KEY and VALUE may be NULL) and advances *cursor. Safe while others write:
 * every entry returned was present, with that value, at the moment it was
 * read; keys inserted or removed during the walk may or may not be seen, and
 * a key removed and re-inserted during the walk may be seen twice.
 * Returns 0, -ENOENT (no more entries), -EINVAL, -EAGAIN, -EOWNERDEAD. */
ZIPC_API int zipc_map_next(zipc_map *map, uint64_t *cursor, void *key, void *value);

/* Reclaim every slot held by a process that no longer exists: an insert it
 * had checked is completed, an unchecked one dropped; an interrupted update
 * keeps the old or new value (values of at most 8 aligned bytes) or removes
 * the key (larger values, which may be torn); an interrupted removal is
 * completed or undone. Safe to call at any time, from any process.
 * *reclaimed (may be NULL) counts the slots. Liveness is tested with
 * kill(pid, 0): run it in the pid namespace of the writers.
 * Returns 0, -EINVAL, -EROFS. */
ZIPC_API int zipc_map_recover(zipc_map *map, uint32_t *reclaimed);

#ifdef __cplusplus
}
#endif

#endif /* ZEROIPC_MAP_H */
