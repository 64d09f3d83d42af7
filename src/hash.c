/* Key hashing for Map and Set: see hash.h. */
#include "hash.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MURMUR_MUL UINT64_C(0xc6a4a7935bd1e995)
#define MURMUR_SHIFT 47

static uint64_t shift_mix(uint64_t v) { return v ^ (v >> MURMUR_SHIFT); }

static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

uint64_t zipc__hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    size_t whole = len & ~(size_t)7;
    uint64_t h = seed ^ ((uint64_t)len * MURMUR_MUL);
    for (size_t i = 0; i < whole; i += 8) {
        h ^= shift_mix(load_le(p + i, 8) * MURMUR_MUL) * MURMUR_MUL;
        h *= MURMUR_MUL;
    }
    if (len & 7) {
        h ^= load_le(p + whole, len & 7);
        h *= MURMUR_MUL;
    }
    h = shift_mix(h) * MURMUR_MUL;
    return shift_mix(h);
}

/* The integer value of a little-endian key of SIZE bytes, widened to 64 bits. */
static uint64_t widen(const void *key, size_t size, bool is_signed)
{
    uint64_t v = load_le(key, size);
    if (is_signed && size < 8 && (v >> (size * 8 - 1)) & 1)
        v |= ~UINT64_C(0) << (size * 8);
    return v;
}

/* True when a canonical float key is zero (its bytes are all zero). */
static bool is_zero(const void *key, size_t size)
{
    return load_le(key, size) == 0;
}

uint64_t zipc__hash_key(int kind, const void *key, size_t size)
{
    if (kind == ZIPC__KEY_SIGNED || kind == ZIPC__KEY_UNSIGNED)
        return zipc__hash_int(widen(key, size, kind == ZIPC__KEY_SIGNED));
    /* libstdc++'s std::hash<double> and std::hash<float> return 0 for +0.0 and
     * -0.0 and hash the bytes of any other value; the C++ implementation uses
     * them, so a zero key must hash to 0 here too to land in the same slot. */
    if (kind == ZIPC__KEY_FLOAT && is_zero(key, size))
        return 0;
    return zipc__hash_bytes(key, size, ZIPC_HASH_BYTES_SEED);
}

int zipc__key_canonical(int kind, const void *key, size_t size, void *out)
{
    memcpy(out, key, size);
    if (kind != ZIPC__KEY_FLOAT)
        return 0;
    if (size == sizeof(double)) {
        double d;
        memcpy(&d, key, sizeof(d));
        if (d != d)
            return -EINVAL;
        if (d == 0.0)
            memset(out, 0, size); /* -0.0 == +0.0: one representation */
    } else {
        float f;
        memcpy(&f, key, sizeof(f));
        if (f != f)
            return -EINVAL;
        if (f == 0.0f)
            memset(out, 0, size);
    }
    return 0;
}
