/* Signal: versioned value with change notification (versioned_signal_shm.h). */
#include "zeroipc/versioned_signal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "segment_internal.h"
#include "sync_internal.h"
#include "testhooks.h"
#include "versioned_signal_shm.h"

struct zipc_signal {
    zipc_signal_state_shm *st;
    uint8_t *value;
    size_t value_size; /* local: the creator's and opener's agreement */
    zipc_semaphore_shm *mtx;
    zipc_waitset_shm *ws; /* NULL: bounded-slice sleeps only */
};

typedef struct init_ctx {
    const void *initial;
    size_t size;
} init_ctx;

static void init_state(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    const init_ctx *in = ctx;
    if (in->initial)
        memcpy((uint8_t *)mem + ZIPC_SIGNAL_HEADER, in->initial, in->size);
}

static int make_handle(zipc_signal tmpl, zipc_signal **out)
{
    zipc_signal *h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = tmpl;
    h->value = (uint8_t *)h->st + ZIPC_SIGNAL_HEADER;
    *out = h;
    return 0;
}

int zipc_signal_create(zipc_segment *seg, const char *name, size_t value_size,
                       const void *initial, zipc_signal **out)
{
    char st[ZIPC_ENTRY_NAME_MAX + 1], mtx[ZIPC_ENTRY_NAME_MAX + 1], wsname[ZIPC_ENTRY_NAME_MAX + 1];
    if (!seg || !out || value_size == 0 || value_size > UINT64_MAX / 2)
        return -EINVAL;
    int r = zipc__aux_name(name, ZIPC_SIGNAL_STATE_SUFFIX, st);
    if (!r)
        r = zipc__aux_name(name, ZIPC_SIGNAL_MTX_SUFFIX, mtx);
    if (r)
        return r;
    zipc__new_entry es[4];
    init_ctx in = {.initial = initial, .size = value_size};
    uint32_t n = 0;
    bool has_ws = zipc__waitset_prepare(&es[n], wsname, name, 1); /* fits: "_wait" < "_state" */
    n += has_ws;
    uint32_t ist = n;
    es[n++] = (zipc__new_entry){.name = st, .size = zipc__align8(ZIPC_SIGNAL_HEADER + value_size),
                                .init = init_state, .ctx = &in};
    es[n++] = (zipc__new_entry){.name = mtx, .size = ZIPC_SEMAPHORE_SIZE,
                                .init = zipc__semaphore_init, .ctx = (void *)&zipc__mutex_initial};
    es[n++] = (zipc__new_entry){.name = name, .size = ZIPC_MARKER_SIZE}; /* the marker last */
    r = zipc__seg_add_many(seg, es, n);
    if (r)
        return r;
    return make_handle((zipc_signal){.st = zipc__seg_ptr(seg, es[ist].offset),
                                     .value_size = value_size,
                                     .mtx = zipc__seg_ptr(seg, es[ist + 1].offset),
                                     .ws = has_ws ? zipc__waitset_at(seg, &es[0]) : NULL},
                       out);
}

int zipc_signal_open(zipc_segment *seg, const char *name, size_t value_size, zipc_signal **out)
{
    char st[ZIPC_ENTRY_NAME_MAX + 1], mtx[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t off, size;
    zipc_signal h = {.value_size = value_size};
    if (!seg || !out || value_size == 0 || value_size > UINT64_MAX / 2)
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (!r && size != ZIPC_MARKER_SIZE)
        r = -EBADMSG;
    if (!r)
        r = zipc__aux_name(name, ZIPC_SIGNAL_STATE_SUFFIX, st);
    if (!r)
        r = zipc__aux_name(name, ZIPC_SIGNAL_MTX_SUFFIX, mtx);
    if (!r)
        r = zipc__sem_lookup(seg, mtx, 1, &h.mtx, NULL);
    if (!r)
        r = zipc__seg_lookup(seg, st, &off, &size);
    if (!r && size != zipc__align8(ZIPC_SIGNAL_HEADER + value_size) &&
        size != ZIPC_SIGNAL_HEADER + value_size)
        r = -EBADMSG;
    if (r)
        return r;
    if (seg->readonly)
        return -EROFS;
    h.st = zipc__seg_ptr(seg, off);
    h.ws = zipc__waitset_open(seg, name, 1, true);
    return make_handle(h, out);
}

void zipc_signal_close(zipc_signal *sig) { free(sig); }
size_t zipc_signal_value_size(const zipc_signal *sig) { return sig ? sig->value_size : 0; }

int zipc_signal_set(zipc_signal *sig, const void *value)
{
    if (!sig || !value)
        return -EINVAL;
    zipc__mutex_lock(sig->mtx, ZIPC_WAIT_FOREVER); /* -EOWNERDEAD: we rewrite it all */
    memcpy(sig->value, value, sig->value_size);
    ZIPC_CRASH_POINT(650); /* value written, version not bumped, lock held */
    uint64_t v = zipc__load_relaxed_u64(&sig->st->version);
    /* V1: pairs with V2 (version, has_changed, wait_change): the version
     * moves only after the copy is complete; the value itself is read
     * under the lock (get). */
    zipc__store_release_u64(&sig->st->version, v + 1);
    zipc__mutex_consistent(sig->mtx); /* a complete value repairs a torn one */
    zipc__mutex_unlock(sig->mtx);
    if (sig->ws)
        zipc__waitset_notify(sig->ws, INT32_MAX);
    return 0;
}

int zipc_signal_get(zipc_signal *sig, void *value, uint64_t *version)
{
    if (!sig || !value)
        return -EINVAL;
    /* -EOWNERDEAD: a setter died mid-copy; unlocking without marking
     * consistent keeps the mark for the next reader, until a set(). */
    int r = zipc__mutex_lock(sig->mtx, ZIPC_WAIT_FOREVER);
    memcpy(value, sig->value, sig->value_size);
    uint64_t v = zipc__load_relaxed_u64(&sig->st->version);
    zipc__mutex_unlock(sig->mtx);
    if (version)
        *version = v;
    return r;
}

uint64_t zipc_signal_version(const zipc_signal *sig)
{
    return sig ? zipc__load_acquire_u64(&sig->st->version) : 0; /* V2 */
}

bool zipc_signal_has_changed(const zipc_signal *sig, uint64_t since)
{
    return zipc_signal_version(sig) != since;
}

typedef struct change_ctx {
    zipc_signal *sig;
    uint64_t since, seen;
} change_ctx;

static int try_changed(void *p)
{
    change_ctx *c = p;
    c->seen = zipc__load_acquire_u64(&c->sig->st->version); /* V2 */
    return c->seen != c->since ? 0 : -EAGAIN;
}

int zipc_signal_wait_change(zipc_signal *sig, uint64_t since, int64_t timeout_ns,
                            uint64_t *version)
{
    if (!sig)
        return -EINVAL;
    change_ctx c = {.sig = sig, .since = since};
    int r = zipc__wait_until(sig->ws, try_changed, &c, timeout_ns);
    if (version)
        *version = c.seen;
    return r;
}
