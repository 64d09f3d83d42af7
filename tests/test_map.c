/* Map: hash, byte layout, return codes, multi-process and thread stress,
 * crash recovery. Set shares the core and has its own file (test_set.c). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hash.h"
#include "hashtable.h"
#include "testhooks.h"

/* ---- hash and geometry ----------------------------------------------------- */

ZTEST(map_hash_matches_format_examples, ZT_FAST)
{
    int32_t one = 1, ft = 42, m1 = -1;
    double d = 1.5;
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_SIGNED, &one, 4), 0x9e3779b1u);
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_SIGNED, &ft, 4), UINT64_C(0x19f519f70a));
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_SIGNED, &m1, 4), UINT64_C(0xffffffff61c8864f));
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_FLOAT, &d, 8), UINT64_C(0x45256bc8bc1f14e7));
    /* Widths: sign extension for signed kinds, zero extension for unsigned. */
    int8_t s8 = -1;
    uint8_t u8 = 0xff;
    int64_t s64 = -1;
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_SIGNED, &s8, 1), UINT64_C(0xffffffff61c8864f));
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_SIGNED, &s64, 8), UINT64_C(0xffffffff61c8864f));
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_UNSIGNED, &u8, 1), UINT64_C(255) * 2654435761u);
    /* Byte keys of every tail length run through the same function. */
    ZT_EQ_U64(zipc__hash_bytes(&d, 8, ZIPC_HASH_BYTES_SEED), UINT64_C(0x45256bc8bc1f14e7));
}

ZTEST(map_float_keys_hash_negative_zero_as_positive_zero_and_refuse_nan, ZT_FAST)
{
    double pz = 0.0, nz = -0.0, nan = __builtin_nan(""), out;
    ZT_OK(zipc__key_canonical(ZIPC__KEY_FLOAT, &nz, 8, &out));
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_FLOAT, &out, 8), zipc__hash_key(ZIPC__KEY_FLOAT, &pz, 8));
    ZT_ERR(zipc__key_canonical(ZIPC__KEY_FLOAT, &nan, 8, &out), -EINVAL);
}

/* Regression: float keys equal to zero were hashed by their bytes, but the C++
 * implementation's std::hash<double>/<float> (libstdc++) returns 0 for +0.0 and
 * -0.0, so neither side found the other's zero key. */
ZTEST(map_zero_float_key_hashes_to_zero_like_std_hash_and_lands_in_slot_0, ZT_FAST)
{
    double pz = 0.0, nz = -0.0, out;
    float fz = 0.0f, f1 = 1.5f;
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_FLOAT, &pz, 8), 0);
    ZT_OK(zipc__key_canonical(ZIPC__KEY_FLOAT, &nz, 8, &out));
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_FLOAT, &out, 8), 0);
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_FLOAT, &fz, 4), 0);
    ZT_EQ_U64(zipc__hash_key(ZIPC__KEY_FLOAT, &f1, 4), zipc__hash_bytes(&f1, 4, ZIPC_HASH_BYTES_SEED));

    zipc_segment *seg;
    zipc_map *m;
    zipc_map_options o = {.flags = ZIPC_MAP_KIND_SET, .key_kind = ZIPC_KEY_FLOAT};
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 8, 4, 101, &o, &m));
    int32_t v = 7;
    ZT_OK(zipc_map_insert(m, &nz, &v, NULL));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "m", &info));
    const uint8_t *slot0 = (const uint8_t *)zipc_segment_base(seg) + info.offset + 16;
    uint32_t state;
    double key;
    int32_t val;
    memcpy(&state, slot0, 4);
    memcpy(&key, slot0 + 8, 8);
    memcpy(&val, slot0 + 16, 4);
    ZT_EQ(state, 1); /* OCCUPIED, in the home slot hash % 101 == 0 */
    ZT_ASSERT(key == 0.0);
    ZT_EQ(val, 7);
    ZT_OK(zipc_map_get(m, &pz, &val));
    ZT_EQ(val, 7);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_entry_geometry_matches_format_examples, ZT_FAST)
{
    struct { uint32_t ks, vs, es, ko, vo; } ex[] = {
        {4, 4, 12, 4, 8}, {4, 8, 16, 4, 8}, {8, 8, 24, 8, 16}, {8, 4, 24, 8, 16},
        {4, 0, 8, 4, 8}, {8, 0, 16, 8, 16}, /* Set<int32>, Set<int64> */
    };
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        zipc__htable_geom g = {.key_size = ex[i].ks, .val_size = ex[i].vs};
        ZT_OK(zipc__htable_geometry(&g));
        ZT_EQ(g.entry_size, ex[i].es);
        ZT_EQ(g.key_off, ex[i].ko);
        ZT_EQ(g.val_off, ex[i].vo);
    }
}

/* ---- byte-exact layout --------------------------------------------------------- */

static const uint8_t *entry_bytes(zipc_segment *seg, const char *name, uint64_t *size)
{
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, name, &info));
    *size = info.size;
    return (const uint8_t *)zipc_segment_base(seg) + info.offset;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

ZTEST(map_int32_to_int32_entries_sit_in_the_format_home_slots, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 10, NULL, &m));
    /* hash % 10: 1 -> 0x9e3779b1 % 10 = 1, 42 -> 0x19f519f70a % 10 = 2,
     * -1 -> 0xffffffff61c8864f % 10 = 5. */
    int32_t keys[3] = {1, 42, -1}, vals[3] = {100, 4200, -7};
    int slots[3] = {1, 2, 5};
    for (int i = 0; i < 3; i++)
        ZT_OK(zipc_map_insert(m, &keys[i], &vals[i], NULL));
    uint64_t size;
    const uint8_t *p = entry_bytes(seg, "m", &size);
    ZT_EQ(size, 16 + 12 * 10);
    ZT_EQ(rd32(p + 0), 3);  /* size */
    ZT_EQ(rd32(p + 4), 10); /* capacity */
    ZT_EQ(rd32(p + 8), 4);  /* key_size */
    ZT_EQ(rd32(p + 12), 4); /* value_size */
    for (int s = 0, k = 0; s < 10; s++) {
        const uint8_t *e = p + 16 + 12 * s;
        if (k < 3 && slots[k] == s) {
            ZT_EQ(rd32(e), 1); /* OCCUPIED */
            ZT_EQ((int32_t)rd32(e + 4), keys[k]);
            ZT_EQ((int32_t)rd32(e + 8), vals[k]);
            k++;
        } else {
            for (int b = 0; b < 12; b++)
                ZT_EQ(e[b], 0);
        }
    }
    /* A collision probes linearly: 11 hashes to (11*2654435761) % 10 = 1 -> slot 3. */
    ZT_EQ((uint64_t)11 * 2654435761u % 10, 1);
    int32_t k11 = 11, v11 = 11;
    ZT_OK(zipc_map_insert(m, &k11, &v11, NULL));
    ZT_EQ(rd32(p + 16 + 12 * 3), 1);
    ZT_EQ(rd32(p + 16 + 12 * 3 + 4), 11);
    /* Remove leaves a DELETED tombstone with the bytes in place. */
    ZT_OK(zipc_map_remove(m, &keys[1]));
    ZT_EQ(rd32(p + 16 + 12 * 2), 2);
    ZT_EQ(rd32(p + 0), 3);
    /* The claim words live in "m_own", all idle again. */
    const uint8_t *own = entry_bytes(seg, "m_own", &size);
    ZT_EQ(size, 8 * 10);
    for (int s = 0; s < 10; s++)
        ZT_EQ(rd64(own + 8 * s) & 0xffffffffu, 0);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_int64_to_double_entries_sit_in_the_format_home_slots, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 8, 8, 7, NULL, &m));
    /* hash % 7: 1 -> 5, 42 -> 0, -1 -> 4 (the int64 hashes equal the int32 ones). */
    int64_t keys[3] = {42, -1, 1};
    double vals[3] = {4.25, -1.5, 1e300};
    int slots[3] = {0, 4, 5};
    for (int i = 0; i < 3; i++)
        ZT_OK(zipc_map_insert(m, &keys[i], &vals[i], NULL));
    uint64_t size;
    const uint8_t *p = entry_bytes(seg, "m", &size);
    ZT_EQ(size, 16 + 24 * 7);
    ZT_EQ(rd32(p + 8), 8);
    ZT_EQ(rd32(p + 12), 8);
    for (int s = 0, k = 0; s < 7; s++) {
        const uint8_t *e = p + 16 + 24 * s;
        if (k < 3 && slots[k] == s) {
            ZT_EQ(rd32(e), 1);
            ZT_EQ(rd32(e + 4), 0); /* padding */
            ZT_EQ((int64_t)rd64(e + 8), keys[k]);
            double v;
            memcpy(&v, e + 16, 8);
            ZT_ASSERT(v == vals[k]);
            k++;
        } else {
            for (int b = 0; b < 24; b++)
                ZT_EQ(e[b], 0);
        }
    }
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_double_keys_use_murmur_home_slot, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    zipc_map_options o = {.flags = ZIPC_MAP_KIND_SET, .key_kind = ZIPC_KEY_FLOAT};
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 8, 4, 10, &o, &m));
    double k = 1.5;
    int32_t v = 9;
    ZT_OK(zipc_map_insert(m, &k, &v, NULL));
    uint64_t size;
    const uint8_t *p = entry_bytes(seg, "m", &size);
    /* 0x45256bc8bc1f14e7 % 10 = 3; i.e. f64,i32 entries of 24 bytes. */
    ZT_EQ(size, 16 + 24 * 10);
    ZT_EQ(rd32(p + 16 + 24 * 3), 1);
    ZT_EQ_U64(rd64(p + 16 + 24 * 3 + 8), 0x3ff8000000000000u);
    /* -0.0 and +0.0 are one key. */
    double pz = 0.0, nz = -0.0, nan = __builtin_nan("");
    bool added;
    ZT_OK(zipc_map_insert(m, &nz, &v, &added));
    ZT_ASSERT(added);
    ZT_OK(zipc_map_insert(m, &pz, &v, &added));
    ZT_ASSERT(!added);
    ZT_EQ(zipc_map_size(m), 2);
    ZT_ERR(zipc_map_insert(m, &nan, &v, NULL), -EINVAL);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

/* ---- return codes ---------------------------------------------------------------- */

ZTEST(map_insert_get_update_remove_round_trip, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m, *m2;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 8, 16, NULL, &m));
    ZT_OK(zipc_map_open(seg, "m", 4, 8, NULL, &m2));
    int32_t k = 5;
    uint64_t v = 50, out = 0;
    bool added = false, present = true;
    ZT_ERR(zipc_map_get(m, &k, &out), -ENOENT);
    ZT_OK(zipc_map_contains(m, &k, &present));
    ZT_ASSERT(!present);
    ZT_OK(zipc_map_insert(m, &k, &v, &added));
    ZT_ASSERT(added);
    ZT_OK(zipc_map_get(m2, &k, &out));
    ZT_EQ(out, 50);
    v = 51;
    ZT_OK(zipc_map_insert(m2, &k, &v, &added));
    ZT_ASSERT(!added);
    ZT_OK(zipc_map_get(m, &k, &out));
    ZT_EQ(out, 51);
    ZT_EQ(zipc_map_size(m), 1);
    ZT_EQ(zipc_map_capacity(m), 16);
    ZT_OK(zipc_map_contains(m, &k, &present));
    ZT_ASSERT(present);
    ZT_OK(zipc_map_remove(m, &k));
    ZT_ERR(zipc_map_remove(m, &k), -ENOENT);
    ZT_ERR(zipc_map_get(m2, &k, &out), -ENOENT);
    ZT_EQ(zipc_map_size(m), 0);
    zipc_map_close(m);
    zipc_map_close(m2);
    zipc_segment_close(seg);
}

ZTEST(map_full_table_is_enospc_and_tombstones_are_reused, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 5, NULL, &m));
    for (int32_t k = 0; k < 5; k++)
        ZT_OK(zipc_map_insert(m, &k, &k, NULL));
    int32_t extra = 99;
    ZT_ERR(zipc_map_insert(m, &extra, &extra, NULL), -ENOSPC);
    /* Updates still work on a full table. */
    int32_t k3 = 3, v = 33, out;
    ZT_OK(zipc_map_insert(m, &k3, &v, NULL));
    /* Remove then re-insert many times through the tombstones: never a
     * duplicate, never a lost key. */
    for (int round = 0; round < 50; round++) {
        int32_t k = round % 5;
        ZT_OK(zipc_map_remove(m, &k));
        ZT_ERR(zipc_map_get(m, &k, &out), -ENOENT);
        ZT_OK(zipc_map_insert(m, &extra, &round, NULL));
        ZT_ERR(zipc_map_insert(m, &k, &k, NULL), -ENOSPC);
        ZT_OK(zipc_map_remove(m, &extra));
        ZT_OK(zipc_map_insert(m, &k, &round, NULL));
        ZT_OK(zipc_map_get(m, &k, &out));
        ZT_EQ(out, round);
        ZT_EQ(zipc_map_size(m), 5);
    }
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_invalid_arguments_are_einval_and_names_too_long_are_enametoolong, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_ERR(zipc_map_create(seg, "m", 0, 4, 8, NULL, &m), -EINVAL);
    ZT_ERR(zipc_map_create(seg, "m", 4, 4, 0, NULL, &m), -EINVAL);
    ZT_ERR(zipc_map_create(seg, "m", 4, 4, UINT64_C(1) << 32, NULL, &m), -EINVAL);
    ZT_ERR(zipc_map_create(NULL, "m", 4, 4, 8, NULL, &m), -EINVAL);
    ZT_ERR(zipc_map_create(seg, "m", 4, 4, 8, NULL, NULL), -EINVAL);
    zipc_map_options o = {.flags = ZIPC_MAP_KIND_SET, .key_kind = ZIPC_KEY_SIGNED};
    ZT_ERR(zipc_map_create(seg, "m", 3, 4, 8, &o, &m), -EINVAL); /* 3-byte integer */
    o.key_kind = ZIPC_KEY_FLOAT;
    ZT_ERR(zipc_map_create(seg, "m", 2, 4, 8, &o, &m), -EINVAL);
    o.key_kind = (zipc_key_kind)7;
    ZT_ERR(zipc_map_create(seg, "m", 4, 4, 8, &o, &m), -EINVAL);
    zipc_map_options a = {.key_align = 3};
    ZT_ERR(zipc_map_create(seg, "m", 4, 4, 8, &a, &m), -EINVAL);
    a = (zipc_map_options){.value_align = 8};
    ZT_ERR(zipc_map_create(seg, "m", 4, 4, 8, &a, &m), -EINVAL); /* 4 % 8 */
    ZT_ERR(zipc_map_create(seg, "abcdefghijklmnopqrstuvwxyz01", 4, 4, 8, NULL, &m),
           -ENAMETOOLONG);
    ZT_ERR(zipc_map_create(seg, "m", 4, 4, 1 << 20, NULL, &m), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 0);
    ZT_OK(zipc_map_create(seg, "abcdefghijklmnopqrstuvwxyz0", 4, 4, 8, NULL, &m));
    ZT_ERR(zipc_map_create(seg, "abcdefghijklmnopqrstuvwxyz0", 4, 4, 8, NULL, &(zipc_map *){0}),
           -EEXIST);
    int32_t k = 1;
    ZT_ERR(zipc_map_insert(m, NULL, &k, NULL), -EINVAL);
    ZT_ERR(zipc_map_insert(m, &k, NULL, NULL), -EINVAL);
    ZT_ERR(zipc_map_insert(NULL, &k, &k, NULL), -EINVAL);
    ZT_ERR(zipc_map_get(m, NULL, &k), -EINVAL);
    ZT_ERR(zipc_map_contains(m, &k, NULL), -EINVAL);
    ZT_ERR(zipc_map_remove(NULL, &k), -EINVAL);
    ZT_ERR(zipc_map_next(m, NULL, NULL, NULL), -EINVAL);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_open_checks_the_entry_size_formula, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 8, 8, NULL, &m));
    ZT_ERR(zipc_map_open(seg, "m", 8, 8, NULL, &(zipc_map *){0}), -EBADMSG);
    ZT_ERR(zipc_map_open(seg, "m", 4, 4, NULL, &(zipc_map *){0}), -EBADMSG);
    zipc_map *m8;
    ZT_OK(zipc_map_create(seg, "m8", 8, 4, 8, NULL, &m8)); /* entries of 24 bytes */
    zipc_map_options a = {.key_align = 4};                 /* would be 16 */
    ZT_ERR(zipc_map_open(seg, "m8", 8, 4, &a, &(zipc_map *){0}), -EBADMSG);
    zipc_map_close(m8);
    ZT_ERR(zipc_map_open(seg, "nope", 4, 8, NULL, &(zipc_map *){0}), -ENOENT);
    ZT_OK(zipc_segment_add_entry(seg, "raw", 20, NULL));
    ZT_ERR(zipc_map_open(seg, "raw", 4, 8, NULL, &(zipc_map *){0}), -EBADMSG);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_writes_through_a_readonly_segment_are_erofs, ZT_FAST)
{
    zipc_segment *seg, *ro;
    zipc_map *m, *r;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 8, NULL, &m));
    int32_t k = 1, v = 2, out;
    ZT_OK(zipc_map_insert(m, &k, &v, NULL));
    ZT_OK(zipc_segment_open_ex(zt_name(NULL), ZIPC_SEGMENT_READONLY, &ro));
    ZT_OK(zipc_map_open(ro, "m", 4, 4, NULL, &r));
    ZT_OK(zipc_map_get(r, &k, &out));
    ZT_EQ(out, 2);
    ZT_ERR(zipc_map_insert(r, &k, &v, NULL), -EROFS);
    ZT_ERR(zipc_map_remove(r, &k), -EROFS);
    ZT_ERR(zipc_map_recover(r, NULL), -EROFS);
    zipc_map_close(r);
    zipc_map_close(m);
    zipc_segment_close(ro);
    zipc_segment_close(seg);
}

/* A map written by another implementation: header and entries only, no
 * "_own" entry. Open adds it; the contents read back. */
ZTEST(map_made_by_another_implementation_opens_and_gains_claim_words, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    uint64_t off;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "cpp", 16 + 12 * 10, &off));
    uint8_t *p = (uint8_t *)zipc_segment_base(seg) + off;
    uint32_t hdr[4] = {1, 10, 4, 4}, e[3] = {1, 42, 7};
    memcpy(p, hdr, 16);
    memcpy(p + 16 + 12 * 2, e, 12); /* 42 in its home slot 2 */
    ZT_OK(zipc_map_open(seg, "cpp", 4, 4, NULL, &m));
    int32_t k = 42, out;
    ZT_OK(zipc_map_get(m, &k, &out));
    ZT_EQ(out, 7);
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "cpp_own", &info));
    ZT_EQ(info.size, 80);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_iteration_returns_each_key_once, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 40, NULL, &m));
    for (int32_t k = 0; k < 30; k++) {
        int32_t v = k * 3;
        ZT_OK(zipc_map_insert(m, &k, &v, NULL));
    }
    for (int32_t k = 0; k < 30; k += 3)
        ZT_OK(zipc_map_remove(m, &k));
    int seen[30] = {0}, n = 0;
    uint64_t cur = 0;
    int32_t k, v;
    while (zipc_map_next(m, &cur, &k, &v) == 0) {
        ZT_ASSERT(k >= 0 && k < 30 && k % 3 != 0);
        ZT_EQ(v, k * 3);
        seen[k]++;
        n++;
    }
    ZT_ERR(zipc_map_next(m, &cur, &k, &v), -ENOENT);
    ZT_EQ(n, 20);
    ZT_EQ(zipc_map_size(m), 20);
    for (int i = 0; i < 30; i++)
        ZT_EQ(seen[i], i % 3 ? 1 : 0);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_byte_string_keys_compare_by_bytes, ZT_FAST)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 13, 4, 16, NULL, &m)); /* BYTES, align 1 */
    char a[13] = "hello world!", b[13] = "hello world?";
    int32_t va = 1, vb = 2, out;
    ZT_OK(zipc_map_insert(m, a, &va, NULL));
    ZT_OK(zipc_map_insert(m, b, &vb, NULL));
    ZT_OK(zipc_map_get(m, a, &out));
    ZT_EQ(out, 1);
    ZT_OK(zipc_map_get(m, b, &out));
    ZT_EQ(out, 2);
    ZT_EQ(zipc_map_size(m), 2);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

/* ---- stress: many writers, last writer wins, no duplicates ------------------------- */

/* A 24-byte value: larger than one atomic access, so torn reads would show. */
struct sval {
    uint32_t key, proc;
    uint64_t seq, check;
};

static uint64_t sval_check(uint32_t key, uint32_t proc, uint64_t seq)
{
    uint64_t x[3] = {key, proc, seq};
    return zt_checksum(x, sizeof(x));
}

static void sval_verify(int32_t key, const struct sval *v)
{
    ZT_EQ(v->key, (uint32_t)key);
    ZT_EQ_U64(v->check, sval_check(v->key, v->proc, v->seq));
}

/* Live keys at most 8 * 6 + 12 = 60, plus one in-flight claim per worker. */
enum { OWN_KEYS = 6, SHARED_KEYS = 12, STRESS_CAP = 72, MAX_WORKERS = 8 };

struct map_stress {
    const char *seg;
    int workers;
    uint64_t iters;
};

struct map_worker {
    struct map_stress *s;
    int id;
};

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Retry while a peer holds the slot for long (a loaded machine). */
static int retry_busy(int r) { return r == -EAGAIN; }

static void map_stress_body(void *p)
{
    struct map_worker *w = p;
    zipc_segment *seg;
    zipc_map *m;
    zipc_array *model;
    ZT_OK(zipc_segment_open(w->s->seg, &seg));
    zipc_map_options o = {.value_align = 8};
    ZT_OK(zipc_map_open(seg, "m", 4, sizeof(struct sval), &o, &m));
    ZT_OK(zipc_array_open(seg, "model", 8, &model));
    int64_t mine[OWN_KEYS];
    for (int i = 0; i < OWN_KEYS; i++)
        mine[i] = -1;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
    for (uint64_t seq = 1; seq <= w->s->iters; seq++) {
        uint64_t x = xorshift(&rng);
        bool shared = x & 1;
        int op = (int)((x >> 1) % 3);
        int idx = (int)((x >> 8) % (shared ? SHARED_KEYS : OWN_KEYS));
        int32_t key = shared ? idx + 1 : 1000 * (w->id + 1) + idx;
        struct sval v = {(uint32_t)key, (uint32_t)w->id, seq, sval_check((uint32_t)key, (uint32_t)w->id, seq)};
        struct sval got;
        int r;
        if (op == 0) {
            while (retry_busy(r = zipc_map_insert(m, &key, &v, NULL)))
                ;
            ZT_OK(r);
            if (!shared)
                mine[idx] = (int64_t)seq;
        } else if (op == 1) {
            while (retry_busy(r = zipc_map_remove(m, &key)))
                ;
            if (!shared) {
                ZT_ERR(r, mine[idx] >= 0 ? 0 : -ENOENT);
                mine[idx] = -1;
            } else {
                ZT_ASSERT(r == 0 || r == -ENOENT);
            }
        } else {
            while (retry_busy(r = zipc_map_get(m, &key, &got)))
                ;
            if (!shared) {
                ZT_ERR(r, mine[idx] >= 0 ? 0 : -ENOENT);
                if (r == 0)
                    ZT_EQ_U64(got.seq, (uint64_t)mine[idx]);
            } else {
                ZT_ASSERT(r == 0 || r == -ENOENT);
            }
            if (r == 0)
                sval_verify(key, &got);
        }
    }
    for (int i = 0; i < OWN_KEYS; i++)
        ZT_OK(zipc_array_set(model, (uint64_t)(w->id * OWN_KEYS + i), &mine[i]));
    zipc_array_close(model);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

static void *map_stress_thread(void *p)
{
    map_stress_body(p);
    return NULL;
}

static void map_stress_setup(struct map_stress *s, zipc_segment **seg, zipc_map **m)
{
    zipc_array *model;
    zipc_map_options o = {.value_align = 8};
    ZT_OK(zipc_segment_create(s->seg, 1 << 16, 0, seg));
    ZT_OK(zipc_map_create(*seg, "m", 4, sizeof(struct sval), STRESS_CAP, &o, m));
    ZT_OK(zipc_array_create(*seg, "model", 8, MAX_WORKERS * OWN_KEYS, &model));
    zipc_array_close(model);
}

/* The final table against the workers' own models, plus global invariants. */
static void map_stress_check(struct map_stress *s, zipc_segment *seg, zipc_map *m)
{
    zipc_array *model;
    ZT_OK(zipc_array_open(seg, "model", 8, &model));
    for (int w = 0; w < s->workers; w++) {
        for (int i = 0; i < OWN_KEYS; i++) {
            int64_t want;
            struct sval got;
            ZT_OK(zipc_array_get(model, (uint64_t)(w * OWN_KEYS + i), &want));
            int32_t key = 1000 * (w + 1) + i;
            int r = zipc_map_get(m, &key, &got);
            ZT_ERR(r, want >= 0 ? 0 : -ENOENT);
            if (r == 0) {
                sval_verify(key, &got);
                ZT_EQ_U64(got.seq, (uint64_t)want);
                ZT_EQ(got.proc, w);
            }
        }
    }
    /* No key twice, the count matches the size, every value intact. */
    int32_t keys[STRESS_CAP];
    int n = 0;
    uint64_t cur = 0;
    int32_t k;
    struct sval v;
    while (zipc_map_next(m, &cur, &k, &v) == 0) {
        sval_verify(k, &v);
        for (int j = 0; j < n; j++)
            ZT_ASSERT(keys[j] != k);
        keys[n++] = k;
    }
    ZT_EQ(zipc_map_size(m), n);
    zipc_array_close(model);
}

static void map_stress_processes(int workers, uint64_t iters)
{
    struct map_stress s = {zt_name(NULL), workers, iters};
    if (s.workers > MAX_WORKERS)
        s.workers = MAX_WORKERS;
    zipc_segment *seg;
    zipc_map *m;
    map_stress_setup(&s, &seg, &m);
    struct map_worker w[MAX_WORKERS];
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < s.workers; i++) {
        w[i] = (struct map_worker){&s, i};
        pids[i] = zt_fork(map_stress_body, &w[i]);
    }
    for (int i = 0; i < s.workers; i++)
        zt_wait_ok(pids[i]);
    map_stress_check(&s, seg, m);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_many_processes_keep_last_writer_values_and_never_duplicate_keys, ZT_MEDIUM)
{
    map_stress_processes((int)zt_env_u64("ZIPC_STRESS_PROCS", 4),
                         zt_env_u64("ZIPC_STRESS_ITERS", 200000));
}

ZTEST(map_eight_processes_long_run_keep_last_writer_values, ZT_SLOW)
{
    map_stress_processes(8, zt_env_u64("ZIPC_STRESS_ITERS", 200000) * 10);
}

ZTEST(map_many_threads_keep_last_writer_values_and_never_duplicate_keys, ZT_MEDIUM)
{
    struct map_stress s = {zt_name(NULL), 3, zt_env_u64("ZIPC_STRESS_ITERS", 200000) / 3};
    zipc_segment *seg;
    zipc_map *m;
    map_stress_setup(&s, &seg, &m);
    struct map_worker w[3];
    pthread_t th[3];
    for (int i = 0; i < s.workers; i++) {
        w[i] = (struct map_worker){&s, i};
        ZT_OK(pthread_create(&th[i], NULL, map_stress_thread, &w[i]));
    }
    for (int i = 0; i < s.workers; i++)
        pthread_join(th[i], NULL);
    map_stress_check(&s, seg, m);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

/* All workers insert the same few keys at the same moment, over and over:
 * concurrent inserts of one key must leave exactly one copy. */
struct same_key {
    const char *seg;
    zt_gate *gate;
    int rounds;
};

static void same_key_body(void *p)
{
    struct same_key *c = p;
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_open(c->seg, &seg));
    ZT_OK(zipc_map_open(seg, "m", 4, 4, NULL, &m));
    if (c->gate)
        zt_gate_wait(c->gate);
    for (int r = 0; r < c->rounds; r++) {
        int32_t key = r % 5, v = r;
        int e;
        while ((e = zipc_map_insert(m, &key, &v, NULL)) == -EAGAIN)
            ;
        ZT_OK(e);
        if (r % 3 == 0) {
            e = zipc_map_remove(m, &key);
            ZT_ASSERT(e == 0 || e == -ENOENT || e == -EAGAIN);
        }
    }
    zipc_map_close(m);
    zipc_segment_close(seg);
}

static void same_key_run(int n_workers, int rounds)
{
    enum { N = 8 };
    struct same_key c = {zt_name(NULL), NULL, rounds};
    zt_gate g;
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(c.seg, 1 << 16, 0, &seg));
    /* 5 keys plus one in-flight claim per worker always fit. */
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 5 + N, NULL, &m));
    zt_gate_init(&g);
    c.gate = &g;
    pid_t pids[N];
    for (int i = 0; i < n_workers && i < N; i++)
        pids[i] = zt_fork(same_key_body, &c);
    zt_gate_open(&g);
    for (int i = 0; i < n_workers && i < N; i++)
        zt_wait_ok(pids[i]);
    int seen[5] = {0}, n = 0;
    uint64_t cur = 0;
    int32_t k, v;
    while (zipc_map_next(m, &cur, &k, &v) == 0) {
        ZT_ASSERT(k >= 0 && k < 5);
        ZT_EQ(seen[k]++, 0);
        n++;
    }
    ZT_EQ(zipc_map_size(m), n);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

ZTEST(map_concurrent_inserts_of_the_same_key_leave_one_copy, ZT_MEDIUM)
{
    same_key_run(4, (int)zt_env_u64("ZIPC_STRESS_ITERS", 200000) / 2);
}

static void *same_key_thread(void *p)
{
    same_key_body(p);
    return NULL;
}

ZTEST(map_concurrent_inserts_of_the_same_key_from_threads_leave_one_copy, ZT_MEDIUM)
{
    enum { N = 4 };
    struct same_key c = {zt_name(NULL), NULL, (int)zt_env_u64("ZIPC_STRESS_ITERS", 200000) / 8};
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(c.seg, 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 5 + N, NULL, &m));
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        ZT_OK(pthread_create(&th[i], NULL, same_key_thread, &c));
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    int seen[5] = {0}, n = 0;
    uint64_t cur = 0;
    int32_t k, v;
    while (zipc_map_next(m, &cur, &k, &v) == 0) {
        ZT_ASSERT(k >= 0 && k < 5);
        ZT_EQ(seen[k]++, 0);
        n++;
    }
    ZT_EQ(zipc_map_size(m), n);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

/* Oversubscribed (8 processes on few cores) and long: many preemptions
 * inside claims, so the bounded waits and yields are exercised. */
ZTEST(map_concurrent_inserts_of_the_same_key_leave_one_copy_long, ZT_SLOW)
{
    same_key_run(8, (int)zt_env_u64("ZIPC_STRESS_ITERS", 200000) * 10);
}

/* ---- crashes ---------------------------------------------------------------------------- */

enum crash_op { C_INSERT, C_UPDATE, C_REMOVE };

struct crash_case {
    int point;
    enum crash_op op;
    bool present_after;  /* the key is in the map after recovery */
    int size_delta;      /* size after recovery minus the true count (documented windows) */
};

struct crash_arg {
    const char *seg;
    int point;
    enum crash_op op;
};

static void crash_body(void *p)
{
    struct crash_arg *a = p;
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_open(a->seg, &seg));
    ZT_OK(zipc_map_open(seg, "m", 4, 4, NULL, &m));
    int32_t key = 7, v = 2;
    zipc__crash_at = a->point;
    if (a->op == C_REMOVE)
        zipc_map_remove(m, &key);
    else
        zipc_map_insert(m, &key, &v, NULL);
    zipc__crash_at = -1;
    _exit(3); /* the crash point was not reached */
}

ZTEST(map_crash_at_each_point_leaves_one_slot_and_recovery_reclaims_it, ZT_MEDIUM)
{
    static const struct crash_case cases[] = {
        {400, C_INSERT, false, 0}, {401, C_INSERT, false, 0}, {402, C_INSERT, false, 0},
        {403, C_INSERT, false, 1}, {404, C_INSERT, true, 0},  {405, C_INSERT, true, 0},
        {410, C_UPDATE, true, 0},  {411, C_UPDATE, true, 0},  {420, C_REMOVE, true, 0},
        {421, C_REMOVE, true, -1}, {422, C_REMOVE, false, 0},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const struct crash_case *cc = &cases[c];
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "c%d", cc->point);
        struct crash_arg a = {zt_name(suffix), cc->point, cc->op};
        zipc_segment *seg;
        zipc_map *m;
        ZT_OK(zipc_segment_create(a.seg, 1 << 16, 0, &seg));
        ZT_OK(zipc_map_create(seg, "m", 4, 4, 16, NULL, &m));
        int32_t key = 7, v1 = 1, other = 8, out;
        for (int32_t k = 20; k < 25; k++)
            ZT_OK(zipc_map_insert(m, &k, &k, NULL));
        if (cc->op != C_INSERT)
            ZT_OK(zipc_map_insert(m, &key, &v1, NULL));
        uint64_t before = zipc_map_size(m);
        int st = zt_wait(zt_fork(crash_body, &a));
        if (st != 128 + SIGKILL)
            zt_fail(__FILE__, __LINE__, "point %d: child status %d", cc->point, st);
        /* Survivors: other keys work; the crashed key answers within the
         * bounded wait, never hangs. */
        ZT_OK(zipc_map_insert(m, &other, &v1, NULL));
        ZT_OK(zipc_map_get(m, &other, &out));
        int64_t t0 = (int64_t)time(NULL);
        int r = zipc_map_get(m, &key, &out);
        ZT_ASSERT(r == 0 || r == -ENOENT || r == -EOWNERDEAD);
        r = zipc_map_insert(m, &key, &v1, NULL);
        if (r != 0 && r != -EOWNERDEAD)
            zt_fail(__FILE__, __LINE__, "point %d: insert during the crash %d", cc->point, r);
        ZT_ASSERT((int64_t)time(NULL) - t0 < 10);
        bool inserted_by_survivor = r == 0;
        uint32_t reclaimed = 0;
        ZT_OK(zipc_map_recover(m, &reclaimed));
        if (reclaimed != 1)
            zt_fail(__FILE__, __LINE__, "point %d: reclaimed %u", cc->point, reclaimed);
        ZT_OK(zipc_map_recover(m, &reclaimed));
        ZT_EQ(reclaimed, 0);
        r = zipc_map_get(m, &key, &out);
        if (!inserted_by_survivor && (r == 0) != cc->present_after)
            zt_fail(__FILE__, __LINE__, "point %d: get after recovery %d", cc->point, r);
        if (r == 0 && cc->op == C_UPDATE && !inserted_by_survivor)
            ZT_ASSERT(out == 1 || out == 2); /* old or new, never torn */
        /* Count the table and compare with size. */
        int n = 0;
        uint64_t cur = 0;
        int32_t k, v;
        while (zipc_map_next(m, &cur, &k, &v) == 0)
            n++;
        int delta = inserted_by_survivor ? 0 : cc->size_delta;
        if ((int64_t)zipc_map_size(m) != n + delta)
            zt_fail(__FILE__, __LINE__, "point %d: size %llu, %d entries (before %llu)",
                    cc->point, (unsigned long long)zipc_map_size(m), n,
                    (unsigned long long)before);
        /* The key works normally again. */
        ZT_OK(zipc_map_insert(m, &key, &v1, NULL));
        ZT_OK(zipc_map_get(m, &key, &out));
        ZT_EQ(out, 1);
        ZT_OK(zipc_map_remove(m, &key));
        zipc_map_close(m);
        zipc_segment_close(seg);
        zipc_segment_unlink(a.seg);
    }
}

static void exit_at_once(void *arg) { (void)arg; }

/* A claim word forged in "m_own": held by this (live) process, then by a
 * reaped child's pid. Waiting is bounded either way. */
ZTEST(map_key_held_by_a_live_peer_is_eagain_and_by_a_dead_one_eownerdead, ZT_MEDIUM)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 10, NULL, &m));
    int32_t k = 1, v = 5, out; /* home slot 1 */
    ZT_OK(zipc_map_insert(m, &k, &v, NULL));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "m_own", &info));
    uint64_t *own = (uint64_t *)((uint8_t *)zipc_segment_base(seg) + info.offset);
    uint64_t idle = own[1];
    own[1] = idle + (UINT64_C(1) << 32) + ((uint64_t)getpid() << 8) + 4; /* UPDATE */
    int64_t t0 = (int64_t)time(NULL);
    ZT_ERR(zipc_map_get(m, &k, &out), -EAGAIN);
    ZT_ERR(zipc_map_insert(m, &k, &v, NULL), -EAGAIN);
    uint32_t n;
    ZT_OK(zipc_map_recover(m, &n));
    ZT_EQ(n, 0); /* the holder lives */
    pid_t dead = zt_fork(exit_at_once, NULL);
    zt_wait(dead);
    own[1] = idle + (UINT64_C(1) << 32) + ((uint64_t)dead << 8) + 4;
    ZT_ERR(zipc_map_get(m, &k, &out), -EOWNERDEAD);
    ZT_ERR(zipc_map_remove(m, &k), -EOWNERDEAD);
    ZT_ASSERT((int64_t)time(NULL) - t0 < 10);
    ZT_OK(zipc_map_recover(m, &n));
    ZT_EQ(n, 1);
    ZT_OK(zipc_map_get(m, &k, &out));
    ZT_EQ(out, 5);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

/* Regression: a slot INSERTING with an idle claim word (a writer of another
 * implementation mid-update, or one that crashed there) made get/insert
 * return -EOWNERDEAD, which tells the caller to recover and retry; but
 * recovery cannot reclaim a slot without an owner (reclaimed 0), so a
 * "recover, then retry" caller looped forever. docs/maps.md promises
 * -EAGAIN for such slots: -EOWNERDEAD only when recovery can act. */
ZTEST(map_slot_mid_write_by_another_implementation_is_eagain_not_eownerdead, ZT_MEDIUM)
{
    zipc_segment *seg;
    zipc_map *m;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 0, &seg));
    ZT_OK(zipc_map_create(seg, "m", 4, 4, 10, NULL, &m));
    int32_t k = 1, v = 5, out; /* home slot 1; entries of 12 bytes */
    ZT_OK(zipc_map_insert(m, &k, &v, NULL));
    zipc_entry_info info;
    ZT_OK(zipc_segment_find(seg, "m", &info));
    uint32_t *state = (uint32_t *)((uint8_t *)zipc_segment_base(seg) + info.offset + 16 + 12);
    ZT_EQ(*state, 1);
    *state = 3; /* INSERTING, claim word idle: a foreign writer */
    int64_t t0 = (int64_t)time(NULL);
    ZT_ERR(zipc_map_get(m, &k, &out), -EAGAIN);
    ZT_ERR(zipc_map_insert(m, &k, &v, NULL), -EAGAIN);
    uint64_t cur = 0;
    ZT_ERR(zipc_map_next(m, &cur, &k, &out), -EAGAIN);
    uint32_t n;
    ZT_OK(zipc_map_recover(m, &n));
    ZT_EQ(n, 0); /* nothing recovery could do */
    ZT_ASSERT((int64_t)time(NULL) - t0 < 10);
    *state = 1; /* the foreign writer finishes */
    ZT_OK(zipc_map_get(m, &k, &out));
    ZT_EQ(out, 5);
    zipc_map_close(m);
    zipc_segment_close(seg);
}
