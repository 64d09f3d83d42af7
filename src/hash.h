/* The key hash shared by Map and Set (docs/format.md "Map"): the one place that
 * must match the C++ implementation bit for bit, since the home slot of a key
 * is hash % capacity in every implementation. */
#ifndef ZIPC_HASH_H
#define ZIPC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Multiplier of the integer hash (Knuth's 2^32 / golden ratio). */
#define ZIPC_HASH_INT_MUL UINT64_C(2654435761)
/* Seed libstdc++ passes to its 64-bit MurmurHash2 for byte strings. */
#define ZIPC_HASH_BYTES_SEED UINT64_C(0xc70f6907)

/* Key kinds (values of zipc_map_key_kind in the public header). */
enum {
    ZIPC__KEY_SIGNED = 0,
    ZIPC__KEY_UNSIGNED = 1,
    ZIPC__KEY_FLOAT = 2,
    ZIPC__KEY_BYTES = 3,
};

/* Integer keys: the value widened to 64 bits (signed ones sign-extended),
 * times ZIPC_HASH_INT_MUL, wrapping mod 2^64. */
static inline uint64_t zipc__hash_int(uint64_t widened) { return widened * ZIPC_HASH_INT_MUL; }

/* libstdc++'s _Hash_bytes for 64-bit size_t (MurmurHash2, 64-bit variant). */
uint64_t zipc__hash_bytes(const void *data, size_t len, uint64_t seed);

/* The hash of a key of SIZE bytes (1, 2, 4, 8 for integer kinds; 4 or 8 for
 * FLOAT) at KEY. A float key must be canonical already (see
 * zipc__key_canonical: -0.0 is hashed as +0.0). */
uint64_t zipc__hash_key(int kind, const void *key, size_t size);

/* Copy KEY into OUT in the form stored and hashed: -0.0 becomes +0.0 for
 * FLOAT keys; everything else is copied. Returns -EINVAL for a NaN key
 * (NaN never equals itself, so it could never be found again), else 0. */
int zipc__key_canonical(int kind, const void *key, size_t size, void *out);

#endif /* ZIPC_HASH_H */
