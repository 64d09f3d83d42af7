/* Ring: single-producer single-consumer ring of fixed-size elements. */
#include "zeroipc/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring_shm.h"
#include "segment_internal.h"
#include "testhooks.h"
#include "wait.h"

struct zipc_ring {
    zipc_ring_shm *hdr;
    uint8_t *data;
    uint64_t cap;            /* bytes; validated local copy */
    uint32_t es;
    zipc_waitset_shm *ws;    /* [0] data, [1] space; NULL: sleep in slices */
    bool readonly;
    bool reserved, peeked;   /* zero-copy regions handed out */
    uint64_t rsv_pos, rsv_len, peek_pos, peek_len; /* bytes */
};

/* Crash points (testhooks.h range 550-599; docs/maps.md "Ring"): producer
 * 550 copied, not published; 551 published, not notified; 552 commit of a
 * filled reservation, not published. Consumer 560 copied, not released;
 * 561 released, not notified; 562 release of a peeked region, not published. */

/* ---- positions ---------------------------------------------------------- */

/* The producer's view: its position and the free bytes. */
static int producer_view(const zipc_ring *r, uint64_t *w, uint64_t *space)
{
    *w = zipc__load_relaxed_u64(&r->hdr->write_pos); /* ours */
    /* P2 (acquire): pairs with C2 in publish_read: the consumer has finished
     * copying the bytes it released before we overwrite them. */
    uint64_t rd = zipc__load_acquire_u64(&r->hdr->read_pos);
    if (*w - rd > r->cap)
        return -EBADMSG;
    *space = r->cap - (*w - rd);
    return 0;
}

/* The consumer's view: its position and the readable bytes. */
static int consumer_view(const zipc_ring *r, uint64_t *rd, uint64_t *avail)
{
    *rd = zipc__load_relaxed_u64(&r->hdr->read_pos); /* ours */
    /* C1 (acquire): pairs with P1 in publish_write: the bytes below the
     * write position are complete. */
    uint64_t w = zipc__load_acquire_u64(&r->hdr->write_pos);
    if (w - *rd > r->cap)
        return -EBADMSG;
    *avail = w - *rd;
    return 0;
}

/* Wake-ups without a fence: the publishing CAS is a seq_cst read-modify-
 * write and the sleeper count is read right after it with seq_cst (N3, as
 * the Queue's claim: wait.h zipc__waitset_has_waiters); a sleeper announces
 * itself (W1, a seq_cst RMW and fence) before it re-reads the position. Of
 * the two, one sees the other. Unlike the Queue's claim, the CAS here is the
 * publication itself, so a sleeper that sees it also sees the bytes. */
static int publish_write(zipc_ring *r, uint64_t from, uint64_t len)
{
    /* P1 (release; seq_cst for N3): pairs with C1: the copied bytes are
     * visible before the position. A CAS, not a store, so a second producer
     * is detected. */
    if (!zipc__cas_seq_cst_u64(&r->hdr->write_pos, &from, from + len))
        return -EPERM;
    ZIPC_CRASH_POINT(551);
    if (r->ws && zipc__waitset_has_waiters(&r->ws[ZIPC_RING_WAIT_DATA])) /* N3 */
        zipc__waitset_wake(&r->ws[ZIPC_RING_WAIT_DATA], 1);
    return 0;
}

static int publish_read(zipc_ring *r, uint64_t from, uint64_t len)
{
    /* C2 (release; seq_cst for N3): pairs with P2: our reads of the bytes
     * are done before the producer may reuse them. */
    if (!zipc__cas_seq_cst_u64(&r->hdr->read_pos, &from, from + len))
        return -EPERM;
    ZIPC_CRASH_POINT(561);
    if (r->ws && zipc__waitset_has_waiters(&r->ws[ZIPC_RING_WAIT_SPACE])) /* N3 */
        zipc__waitset_wake(&r->ws[ZIPC_RING_WAIT_SPACE], 1);
    return 0;
}

/* Copy LEN bytes at ring position POS, in two pieces across the end. */
static void copy_in(zipc_ring *r, uint64_t pos, const uint8_t *src, uint64_t len)
{
    uint64_t off = pos % r->cap, first = len < r->cap - off ? len : r->cap - off;
    memcpy(r->data + off, src, first);
    memcpy(r->data, src + first, len - first);
}

static void copy_out(const zipc_ring *r, uint64_t pos, uint8_t *dst, uint64_t len)
{
    uint64_t off = pos % r->cap, first = len < r->cap - off ? len : r->cap - off;
    memcpy(dst, r->data + off, first);
    memcpy(dst + first, r->data, len - first);
}

/* ---- copying operations --------------------------------------------------- */

int zipc_ring_write_many(zipc_ring *r, const void *elems, size_t n, size_t *written)
{
    uint64_t w, space;
    if (!r || !elems || n == 0)
        return -EINVAL;
    if (r->readonly)
        return -EROFS;
    int e = producer_view(r, &w, &space);
    if (e)
        return e;
    uint64_t fit = space / r->es;
    if (fit == 0)
        return -EAGAIN;
    if (fit > n)
        fit = n;
    copy_in(r, w, elems, fit * r->es);
    ZIPC_CRASH_POINT(550);
    if ((e = publish_write(r, w, fit * r->es)))
        return e;
    if (written)
        *written = (size_t)fit;
    return 0;
}

int zipc_ring_write(zipc_ring *r, const void *elem)
{
    return zipc_ring_write_many(r, elem, 1, NULL);
}

int zipc_ring_read_many(zipc_ring *r, void *elems, size_t max, size_t *nread)
{
    uint64_t rd, avail;
    if (!r || !elems || max == 0)
        return -EINVAL;
    if (r->readonly)
        return -EROFS;
    int e = consumer_view(r, &rd, &avail);
    if (e)
        return e;
    uint64_t have = avail / r->es;
    if (have == 0)
        return -EAGAIN;
    if (have > max)
        have = max;
    copy_out(r, rd, elems, have * r->es);
    ZIPC_CRASH_POINT(560);
    if ((e = publish_read(r, rd, have * r->es)))
        return e;
    if (nread)
        *nread = (size_t)have;
    return 0;
}

int zipc_ring_read(zipc_ring *r, void *elem)
{
    return zipc_ring_read_many(r, elem, 1, NULL);
}

/* ---- blocking ------------------------------------------------------------------ */

struct io_ctx {
    zipc_ring *r;
    void *buf;
    size_t n, *done;
};

static int try_write(void *p)
{
    struct io_ctx *c = p;
    return zipc_ring_write_many(c->r, c->buf, c->n, c->done);
}

static int try_read(void *p)
{
    struct io_ctx *c = p;
    return zipc_ring_read_many(c->r, c->buf, c->n, c->done);
}

int zipc_ring_write_many_timeout(zipc_ring *r, const void *elems, size_t n, size_t *written,
                                 int64_t timeout_ns)
{
    if (!r)
        return -EINVAL;
    struct io_ctx c = {r, (void *)elems, n, written};
    return zipc__wait_until(r->ws ? &r->ws[ZIPC_RING_WAIT_SPACE] : NULL, try_write, &c,
                            timeout_ns);
}

int zipc_ring_write_timeout(zipc_ring *r, const void *elem, int64_t timeout_ns)
{
    return zipc_ring_write_many_timeout(r, elem, 1, NULL, timeout_ns);
}

int zipc_ring_read_many_timeout(zipc_ring *r, void *elems, size_t max, size_t *nread,
                                int64_t timeout_ns)
{
    if (!r)
        return -EINVAL;
    struct io_ctx c = {r, elems, max, nread};
    return zipc__wait_until(r->ws ? &r->ws[ZIPC_RING_WAIT_DATA] : NULL, try_read, &c,
                            timeout_ns);
}

int zipc_ring_read_timeout(zipc_ring *r, void *elem, int64_t timeout_ns)
{
    return zipc_ring_read_many_timeout(r, elem, 1, NULL, timeout_ns);
}

/* ---- zero copy ----------------------------------------------------------------- */

/* Whole elements of the HAVE bytes at position POS that lie in one piece
 * before the end of the buffer, at most MAX; *off receives POS's offset. */
static uint64_t contiguous_elems(const zipc_ring *r, uint64_t pos, uint64_t have, size_t max,
                                 uint64_t *off)
{
    *off = pos % r->cap;
    uint64_t contig = r->cap - *off;
    uint64_t k = (have < contig ? have : contig) / r->es;
    return k < max ? k : max;
}

int zipc_ring_reserve(zipc_ring *r, size_t max, void **ptr, size_t *n)
{
    uint64_t w, space;
    if (!r || !ptr || !n || max == 0)
        return -EINVAL;
    if (r->readonly)
        return -EROFS;
    int e = producer_view(r, &w, &space);
    if (e)
        return e;
    uint64_t off, k = contiguous_elems(r, w, space, max, &off);
    if (k == 0)
        return -EAGAIN;
    r->reserved = true;
    r->rsv_pos = w;
    r->rsv_len = k * r->es;
    *ptr = r->data + off;
    *n = (size_t)k;
    return 0;
}

int zipc_ring_commit(zipc_ring *r, size_t n)
{
    if (!r || !r->reserved || n > r->rsv_len / r->es)
        return -EINVAL;
    r->reserved = false;
    ZIPC_CRASH_POINT(552);
    return n ? publish_write(r, r->rsv_pos, (uint64_t)n * r->es) : 0;
}

int zipc_ring_peek(zipc_ring *r, size_t max, const void **ptr, size_t *n)
{
    uint64_t rd, avail;
    if (!r || !ptr || !n || max == 0)
        return -EINVAL;
    if (r->readonly)
        return -EROFS;
    int e = consumer_view(r, &rd, &avail);
    if (e)
        return e;
    uint64_t off, k = contiguous_elems(r, rd, avail, max, &off);
    if (k == 0)
        return -EAGAIN;
    r->peeked = true;
    r->peek_pos = rd;
    r->peek_len = k * r->es;
    *ptr = r->data + off;
    *n = (size_t)k;
    return 0;
}

int zipc_ring_release(zipc_ring *r, size_t n)
{
    if (!r || !r->peeked || n > r->peek_len / r->es)
        return -EINVAL;
    r->peeked = false;
    ZIPC_CRASH_POINT(562);
    return n ? publish_read(r, r->peek_pos, (uint64_t)n * r->es) : 0;
}

/* ---- counts ---------------------------------------------------------------------- */

/* Bytes between the positions, clamped to the capacity (corrupt: full). */
static uint64_t used_bytes(const zipc_ring *r)
{
    /* Acquire both: snapshots that pair with P1/C2 (either side may ask). */
    uint64_t rd = zipc__load_acquire_u64(&r->hdr->read_pos);
    uint64_t w = zipc__load_acquire_u64(&r->hdr->write_pos);
    return w - rd > r->cap ? r->cap : w - rd;
}

uint64_t zipc_ring_available(const zipc_ring *r) { return r ? used_bytes(r) / r->es : 0; }
uint64_t zipc_ring_free_space(const zipc_ring *r)
{
    return r ? (r->cap - used_bytes(r)) / r->es : 0;
}
uint64_t zipc_ring_capacity(const zipc_ring *r) { return r ? r->cap / r->es : 0; }
size_t zipc_ring_elem_size(const zipc_ring *r) { return r ? r->es : 0; }

/* ---- create / open ------------------------------------------------------------------- */

struct ring_init {
    uint32_t cap, es;
};

static void init_ring(void *mem, uint64_t size, void *ctx)
{
    (void)size;
    const struct ring_init *c = ctx;
    zipc_ring_shm *h = mem;
    h->capacity = c->cap;
    h->elem_size = c->es;
}

static int make_handle(zipc_segment *seg, uint64_t off, uint32_t cap, uint32_t es,
                       zipc_waitset_shm *ws, zipc_ring **out)
{
    zipc_ring *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->hdr = zipc__seg_ptr(seg, off);
    r->data = (uint8_t *)r->hdr + ZIPC_RING_HEADER;
    r->cap = cap;
    r->es = es;
    r->ws = ws;
    r->readonly = seg->readonly;
    *out = r;
    return 0;
}

int zipc_ring_create(zipc_segment *seg, const char *name, size_t elem_size, uint64_t capacity,
                     zipc_ring **out)
{
    char wname[ZIPC_ENTRY_NAME_MAX + 1];
    if (!seg || !out || elem_size == 0 || elem_size > UINT32_MAX || capacity == 0 ||
        capacity > UINT32_MAX / elem_size)
        return -EINVAL;
    int r = zipc__check_entry_name(name);
    if (r)
        return r;
    struct ring_init c = {(uint32_t)(capacity * elem_size), (uint32_t)elem_size};
    zipc__new_entry es[2];
    uint32_t n = 0;
    bool with_wait = zipc__waitset_prepare(&es[0], wname, name, ZIPC_RING_WAITSETS);
    if (with_wait)
        n++;
    es[n++] = (zipc__new_entry){.name = name, .size = ZIPC_RING_HEADER + (uint64_t)c.cap,
                                .init = init_ring, .ctx = &c};
    if ((r = zipc__seg_add_many(seg, es, n)))
        return r;
    return make_handle(seg, es[n - 1].offset, c.cap, c.es,
                       with_wait ? zipc__waitset_at(seg, &es[0]) : NULL, out);
}

int zipc_ring_open(zipc_segment *seg, const char *name, size_t elem_size, zipc_ring **out)
{
    uint64_t off, size;
    if (!seg || !out || elem_size == 0)
        return -EINVAL;
    int r = zipc__seg_lookup(seg, name, &off, &size);
    if (r)
        return r;
    if (size < ZIPC_RING_HEADER)
        return -EBADMSG;
    const zipc_ring_shm *h = zipc__seg_ptr(seg, off);
    uint32_t cap = h->capacity, es = h->elem_size; /* read once, then checked */
    if (es != elem_size || cap == 0 || cap % es != 0 || size != ZIPC_RING_HEADER + (uint64_t)cap)
        return -EBADMSG;
    return make_handle(seg, off, cap, es, zipc__waitset_open(seg, name, ZIPC_RING_WAITSETS, true), out);
}

void zipc_ring_close(zipc_ring *r) { free(r); }
