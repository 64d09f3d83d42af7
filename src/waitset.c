/* Auxiliary waitset entries: "<name>_wait" holding N zipc_waitset_shm event
 * counts for a structure whose format has no word to sleep on (queue, stack,
 * ring). See docs/format.md "Extensions". Other implementations ignore the
 * entry; a structure without one (made by them, or with a name too long for
 * the suffix) still works, its waiters sleeping in bounded slices. */
#include <errno.h>
#include <string.h>

#include "segment_internal.h"
#include "wait.h"

int zipc__aux_name(const char *name, const char *suffix, char out[ZIPC_ENTRY_NAME_MAX + 1])
{
    int r = zipc__check_entry_name(name);
    if (r)
        return r;
    size_t n = strlen(name), s = strlen(suffix);
    if (n + s > ZIPC_ENTRY_NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(out, name, n);
    memcpy(out + n, suffix, s + 1);
    return 0;
}

bool zipc__waitset_prepare(zipc__new_entry *e, char namebuf[ZIPC_ENTRY_NAME_MAX + 1],
                           const char *name, uint32_t nsets)
{
    if (zipc__aux_name(name, ZIPC_WAITSET_SUFFIX, namebuf) != 0)
        return false;
    *e = (zipc__new_entry){.name = namebuf, .size = (uint64_t)nsets * sizeof(zipc_waitset_shm)};
    return true; /* zero bytes are a valid initial waitset */
}

zipc_waitset_shm *zipc__waitset_at(zipc_segment *seg, const zipc__new_entry *e)
{
    return (zipc_waitset_shm *)zipc__seg_ptr(seg, e->offset);
}

zipc_waitset_shm *zipc__waitset_open(zipc_segment *seg, const char *name, uint32_t nsets, bool add)
{
    char aux[ZIPC_ENTRY_NAME_MAX + 1];
    uint64_t off, size, want = (uint64_t)nsets * sizeof(zipc_waitset_shm);
    if (zipc__aux_name(name, ZIPC_WAITSET_SUFFIX, aux) != 0)
        return NULL;
    int r = zipc__seg_lookup(seg, aux, &off, &size);
    if (r == -ENOENT && add && !seg->readonly) {
        /* Made by another implementation: add the waitset now. A racing opener
         * may add it first (-EEXIST): then use theirs. */
        r = zipc__seg_add(seg, aux, want, NULL, NULL, &off);
        if (r == 0)
            size = want;
        else if (r == -EEXIST)
            r = zipc__seg_lookup(seg, aux, &off, &size);
    }
    if (r != 0 || size != want)
        return NULL; /* no usable waitset: bounded-slice sleeps only */
    return (zipc_waitset_shm *)zipc__seg_ptr(seg, off);
}
