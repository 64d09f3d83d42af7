/* The one atomics layer. Nothing else in the library names <stdatomic.h>
 * operations: every access to a shared word goes through a wrapper whose name
 * carries its memory order, so `grep _acquire` finds every acquire.
 *
 * Shared words are _Atomic fixed-width integers inside *_shm structs. They are
 * lock-free and address-free on every supported target (checked below), so
 * they work across processes that map the segment at different addresses. */
#ifndef ZIPC_ATOMICS_H
#define ZIPC_ATOMICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

typedef _Atomic uint32_t zipc_atomic_u32;
typedef _Atomic uint64_t zipc_atomic_u64;
typedef _Atomic int32_t zipc_atomic_i32;

#define ZIPC__DEFINE_ATOMICS(sfx, T, AT)                                                        \
    static inline T zipc__load_relaxed_##sfx(const AT *p)                                      \
    { return atomic_load_explicit((AT *)p, memory_order_relaxed); }                            \
    static inline T zipc__load_acquire_##sfx(const AT *p)                                      \
    { return atomic_load_explicit((AT *)p, memory_order_acquire); }                            \
    static inline T zipc__load_seq_cst_##sfx(const AT *p)                                      \
    { return atomic_load_explicit((AT *)p, memory_order_seq_cst); }                            \
    static inline void zipc__store_relaxed_##sfx(AT *p, T v)                                   \
    { atomic_store_explicit(p, v, memory_order_relaxed); }                                     \
    static inline void zipc__store_release_##sfx(AT *p, T v)                                   \
    { atomic_store_explicit(p, v, memory_order_release); }                                     \
    static inline void zipc__store_seq_cst_##sfx(AT *p, T v)                                   \
    { atomic_store_explicit(p, v, memory_order_seq_cst); }                                     \
    static inline T zipc__exchange_acq_rel_##sfx(AT *p, T v)                                   \
    { return atomic_exchange_explicit(p, v, memory_order_acq_rel); }                           \
    static inline T zipc__exchange_seq_cst_##sfx(AT *p, T v)                                   \
    { return atomic_exchange_explicit(p, v, memory_order_seq_cst); }                           \
    /* CAS: on failure *expected receives the current value (relaxed). */                     \
    static inline bool zipc__cas_relaxed_##sfx(AT *p, T *expected, T desired)                  \
    { return atomic_compare_exchange_strong_explicit(p, expected, desired,                     \
                                                     memory_order_relaxed,                     \
                                                     memory_order_relaxed); }                  \
    static inline bool zipc__cas_acquire_##sfx(AT *p, T *expected, T desired)                  \
    { return atomic_compare_exchange_strong_explicit(p, expected, desired,                     \
                                                     memory_order_acquire,                     \
                                                     memory_order_relaxed); }                  \
    static inline bool zipc__cas_release_##sfx(AT *p, T *expected, T desired)                  \
    { return atomic_compare_exchange_strong_explicit(p, expected, desired,                     \
                                                     memory_order_release,                     \
                                                     memory_order_relaxed); }                  \
    static inline bool zipc__cas_acq_rel_##sfx(AT *p, T *expected, T desired)                  \
    { return atomic_compare_exchange_strong_explicit(p, expected, desired,                     \
                                                     memory_order_acq_rel,                     \
                                                     memory_order_acquire); }                  \
    static inline bool zipc__cas_seq_cst_##sfx(AT *p, T *expected, T desired)                  \
    { return atomic_compare_exchange_strong_explicit(p, expected, desired,                     \
                                                     memory_order_seq_cst,                     \
                                                     memory_order_seq_cst); }                  \
    static inline T zipc__fetch_add_relaxed_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_add_explicit(p, v, memory_order_relaxed); }                          \
    static inline T zipc__fetch_add_release_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_add_explicit(p, v, memory_order_release); }                          \
    static inline T zipc__fetch_add_acq_rel_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_add_explicit(p, v, memory_order_acq_rel); }                          \
    static inline T zipc__fetch_add_seq_cst_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_add_explicit(p, v, memory_order_seq_cst); }                          \
    static inline T zipc__fetch_sub_relaxed_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_sub_explicit(p, v, memory_order_relaxed); }                          \
    static inline T zipc__fetch_sub_release_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_sub_explicit(p, v, memory_order_release); }                          \
    static inline T zipc__fetch_sub_acq_rel_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_sub_explicit(p, v, memory_order_acq_rel); }                          \
    static inline T zipc__fetch_sub_seq_cst_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_sub_explicit(p, v, memory_order_seq_cst); }                          \
    static inline T zipc__fetch_and_seq_cst_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_and_explicit(p, v, memory_order_seq_cst); }                          \
    static inline T zipc__fetch_or_seq_cst_##sfx(AT *p, T v)                                   \
    { return atomic_fetch_or_explicit(p, v, memory_order_seq_cst); }                           \
    static inline T zipc__fetch_xor_seq_cst_##sfx(AT *p, T v)                                  \
    { return atomic_fetch_xor_explicit(p, v, memory_order_seq_cst); }

ZIPC__DEFINE_ATOMICS(u32, uint32_t, zipc_atomic_u32)
ZIPC__DEFINE_ATOMICS(u64, uint64_t, zipc_atomic_u64)
ZIPC__DEFINE_ATOMICS(i32, int32_t, zipc_atomic_i32)

/* Full fences. seq_cst: orders an earlier store before a later load (the
 * store->load pattern of "publish, then check for sleepers"); callers name the
 * pair. */
#if defined(__SANITIZE_THREAD__)
#define ZIPC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZIPC_TSAN 1
#endif
#endif

#ifdef ZIPC_TSAN
/* ThreadSanitizer does not model fences (gcc refuses to compile them). In
 * TSan builds a fence is a seq_cst RMW on one process-wide word: between the
 * threads TSan watches it orders at least as strongly as the fence. */
extern zipc_atomic_u32 zipc__tsan_fence_word;
static inline void zipc__fence_seq_cst(void) { zipc__fetch_add_seq_cst_u32(&zipc__tsan_fence_word, 0); }
static inline void zipc__fence_acquire(void) { zipc__fetch_add_acq_rel_u32(&zipc__tsan_fence_word, 0); }
static inline void zipc__fence_release(void) { zipc__fetch_add_acq_rel_u32(&zipc__tsan_fence_word, 0); }
static inline void zipc__signal_fence_seq_cst(void) { zipc__fence_seq_cst(); }
#else
static inline void zipc__fence_seq_cst(void) { atomic_thread_fence(memory_order_seq_cst); }
/* A compiler-only barrier: the light side of an asymmetric fence pair
 * (wait.h, zipc__asym_heavy). */
static inline void zipc__signal_fence_seq_cst(void) { atomic_signal_fence(memory_order_seq_cst); }
static inline void zipc__fence_acquire(void) { atomic_thread_fence(memory_order_acquire); }
static inline void zipc__fence_release(void) { atomic_thread_fence(memory_order_release); }
#endif

/* A hint to the CPU inside spin loops. */
static inline void zipc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* Atomic byte copies for slot data that a reader may read while a writer
 * rewrites it (seqlock style: the reader validates a version word afterwards
 * and discards what it read if the version moved). Plain memcpy would be a
 * data race (undefined, and reported by TSan). Each step on the shared side
 * is the widest access its address is aligned to, so an aligned 1/2/4/8-byte
 * field is accessed with exactly one single-copy-atomic access, whatever the
 * alignment of the local buffer.
 * Shared loads are acquire and shared stores release, so no standalone fence
 * is needed (ThreadSanitizer does not model fences): a writer's release
 * stores of data come after its claim of the version word, and a reader whose
 * acquire load sees any of them also sees that claim when it re-reads the
 * version (labels S3/L3 where used). */
#define ZIPC__BYTES_STEP(T, shared, local, n, is_store)                                       \
    if (n >= sizeof(T) && (uintptr_t)(shared) % sizeof(T) == 0) {                             \
        T v_;                                                                                  \
        if (is_store) {                                                                        \
            __builtin_memcpy(&v_, local, sizeof(T));                                           \
            __atomic_store_n((T *)(shared), v_, __ATOMIC_RELEASE);                             \
        } else {                                                                               \
            v_ = __atomic_load_n((const T *)(shared), __ATOMIC_ACQUIRE);                       \
            __builtin_memcpy(local, &v_, sizeof(T));                                           \
        }                                                                                      \
        shared += sizeof(T);                                                                   \
        local += sizeof(T);                                                                    \
        n -= sizeof(T);                                                                        \
        continue;                                                                              \
    }

static inline void zipc__bytes_copy_(uint8_t *shared, uint8_t *local, size_t n, bool is_store)
{
    while (n > 0) {
        ZIPC__BYTES_STEP(uint64_t, shared, local, n, is_store)
        ZIPC__BYTES_STEP(uint32_t, shared, local, n, is_store)
        ZIPC__BYTES_STEP(uint16_t, shared, local, n, is_store)
        ZIPC__BYTES_STEP(uint8_t, shared, local, n, is_store)
    }
}

/* Copy N local bytes into shared memory (release stores). */
static inline void zipc__store_bytes_release(void *shared, const void *local, size_t n)
{
    zipc__bytes_copy_((uint8_t *)shared, (uint8_t *)(uintptr_t)local, n, true);
}

/* Copy N shared bytes into local memory (acquire loads). */
static inline void zipc__load_bytes_acquire(void *local, const void *shared, size_t n)
{
    zipc__bytes_copy_((uint8_t *)(uintptr_t)shared, (uint8_t *)local, n, false);
}

/* Shared bytes A equal local bytes B (A read as by zipc__load_bytes_acquire). */
static inline bool zipc__equal_acquire(const void *av, const void *bv, size_t n)
{
    uint8_t buf[64];
    const uint8_t *a = av, *b = bv;
    while (n > 0) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        zipc__load_bytes_acquire(buf, a, k);
        if (__builtin_memcmp(buf, b, k) != 0)
            return false;
        a += k;
        b += k;
        n -= k;
    }
    return true;
}

/* Cache hints, no ordering: start fetching P's line so that its miss overlaps
 * other work. for_write asks for the line in exclusive state (PREFETCHW on
 * x86-64: a no-op on CPUs that predate it, which decode it as a NOP). */
static inline void zipc__prefetch_for_write(const void *p)
{
#if defined(__x86_64__)
    __asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}

static inline void zipc__prefetch_for_read(const void *p) { __builtin_prefetch(p, 0); }

#endif /* ZIPC_ATOMICS_H */
