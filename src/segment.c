/* Segments: create, open (validating untrusted contents), the entry table. */
#include "segment_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testhooks.h"

/* Where glibc's shm_open keeps its objects; needed to publish a new segment
 * with link(2). */
#define ZIPC_SHM_DIR "/dev/shm"
#define ZIPC_DEFAULT_MODE 0600u
/* Attempts of open-or-create when the name appears and disappears under us. */
#define ZIPC_OPEN_OR_CREATE_TRIES 8

/* Adders are serialised by two locks: zipc_add_mutex between the threads of
 * this process, and a POSIX record lock (fcntl F_SETLKW on byte 0 of the file)
 * between processes. Not flock(2) or OFD locks: those belong to the open file
 * description, which fork() shares, so a parent and a child adding through one
 * inherited handle would not exclude each other. A record lock belongs to the
 * process: a child does not inherit it, and the kernel drops it when its holder
 * dies, so a process killed mid-add never blocks the others.
 * The record lock's trap: closing ANY descriptor of the file drops the
 * process's lock. So every close of a segment descriptor takes zipc_add_mutex,
 * i.e. never happens while a thread of this process holds the lock. */
static pthread_mutex_t zipc_add_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t zipc_atfork_once = PTHREAD_ONCE_INIT;

/* fork() copies zipc_add_mutex in whatever state it is in: a child forked while
 * another thread held it would deadlock on its first add or close. So the
 * mutex is held across fork(), and both sides release their copy. (A fork
 * therefore waits for an add in progress in another thread to finish.) */
static void atfork_lock(void) { pthread_mutex_lock(&zipc_add_mutex); }
static void atfork_unlock(void) { pthread_mutex_unlock(&zipc_add_mutex); }
static void register_atfork(void) { pthread_atfork(atfork_lock, atfork_unlock, atfork_unlock); }

static void add_mutex_lock(void)
{
    /* Registered before the mutex is first taken, so no fork can copy it locked. */
    pthread_once(&zipc_atfork_once, register_atfork);
    pthread_mutex_lock(&zipc_add_mutex);
}

/* "/name" into PATH (size ZIPC_SEGMENT_NAME_MAX + 2). */
static int seg_path(const char *name, char *path)
{
    if (!name)
        return -EINVAL;
    if (name[0] == '/')
        name++;
    size_t len = strnlen(name, ZIPC_SEGMENT_NAME_MAX + 1);
    if (len == 0)
        return -EINVAL;
    if (len > ZIPC_SEGMENT_NAME_MAX)
        return -ENAMETOOLONG;
    if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    path[0] = '/';
    memcpy(path + 1, name, len + 1);
    return 0;
}

int zipc__check_entry_name(const char *name)
{
    if (!name || name[0] == '\0')
        return -EINVAL;
    if (strnlen(name, ZIPC_ENTRY_NAME_MAX + 1) > ZIPC_ENTRY_NAME_MAX)
        return -ENAMETOOLONG;
    return 0;
}

static zipc_table_header_shm *hdr(zipc_segment *seg)
{
    return (zipc_table_header_shm *)seg->base;
}

static zipc_table_entry_shm *entry(zipc_segment *seg, uint32_t i)
{
    return (zipc_table_entry_shm *)(seg->base + ZIPC_HEADER_SIZE + (uint64_t)ZIPC_ENTRY_SIZE * i);
}

/* An entry's name field is valid when it holds 1..31 bytes and a NUL. */
static bool entry_name_ok(const zipc_table_entry_shm *e)
{
    size_t len = strnlen((const char *)e->name, ZIPC_NAME_FIELD);
    return len > 0 && len < ZIPC_NAME_FIELD;
}

static bool entry_range_ok(const zipc_segment *seg, uint64_t off, uint64_t size)
{
    return off % 8 == 0 && off >= seg->table_size && off <= seg->memory_size &&
           size <= seg->memory_size - off;
}

/* Read the live entry count; more than the table holds is corruption. */
static int live_count(zipc_segment *seg, uint32_t *count)
{
    /* E1 (acquire): pairs with the entry_count release in zipc__seg_add_many:
     * the entries below the count are fully written once we see it. */
    uint32_t c = zipc__load_acquire_u32(&hdr(seg)->entry_count);
    if (c > seg->max_entries)
        return -EBADMSG;
    *count = c;
    return 0;
}

static int errno_to_result(int e)
{
    return e ? -e : -EIO;
}

/* ---- validation of an opened segment ------------------------------------ */

struct range {
    uint64_t off, size;
    const char *name; /* into the mapping; checked NUL-terminated */
};

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

static int cmp_name(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return strncmp(x->name, y->name, ZIPC_NAME_FIELD);
}

/* Check the table of a freshly mapped segment (see docs/format.md "what open
 * checks"). Fills the handle's validated local copies. */
static int validate(zipc_segment *seg)
{
    if (seg->map_size < ZIPC_HEADER_SIZE)
        return -EBADMSG;
    zipc_table_header_shm *h = hdr(seg);
    /* P1 (acquire): pairs with the creator's magic release; the rest of the
     * header and table are initialised once the magic is seen. */
    if (zipc__load_acquire_u32(&h->magic) != ZIPC_MAGIC)
        return -EBADMSG;
    uint32_t version = h->version;
    if (version != ZIPC_FORMAT_VERSION)
        return version == 0 ? -EBADMSG : -EPROTO;
    uint32_t max = h->max_entries ? h->max_entries : ZIPC_DEFAULT_MAX_ENTRIES;
    uint64_t table = zipc__table_size(max);
    uint64_t memsize = h->memory_size;
    if (table > seg->map_size || memsize > seg->map_size || memsize < table)
        return -EBADMSG;
    seg->max_entries = max;
    seg->table_size = table;
    seg->memory_size = memsize;

    /* The count first: an adder stores next_offset before the count it
     * releases, so reading next_offset after the count (acquire) never sees
     * an entry that ends past it. */
    uint32_t count;
    int r = live_count(seg, &count);
    if (r)
        return r;
    uint64_t next = zipc__load_relaxed_u64(&h->next_offset);
    if (next < table || next > memsize)
        return -EBADMSG;
    if (count == 0)
        return 0;
    struct range *rs = malloc(sizeof(*rs) * count);
    if (!rs)
        return -ENOMEM;
    r = 0;
    for (uint32_t i = 0; i < count && !r; i++) {
        const zipc_table_entry_shm *e = entry(seg, i);
        rs[i] = (struct range){.off = e->offset, .size = e->size, .name = (const char *)e->name};
        if (!entry_name_ok(e) || !entry_range_ok(seg, rs[i].off, rs[i].size) ||
            rs[i].off + rs[i].size > next)
            r = -EBADMSG;
    }
    if (!r) {
        qsort(rs, count, sizeof(*rs), cmp_range);
        uint64_t end = table;
        for (uint32_t i = 0; i < count && !r; i++) {
            if (rs[i].size == 0)
                continue;
            if (rs[i].off < end)
                r = -EBADMSG; /* overlaps an earlier entry */
            end = rs[i].off + rs[i].size;
        }
    }
    if (!r) {
        qsort(rs, count, sizeof(*rs), cmp_name);
        for (uint32_t i = 1; i < count && !r; i++)
            if (cmp_name(&rs[i - 1], &rs[i]) == 0)
                r = -EBADMSG; /* duplicate name */
    }
    free(rs);
    return r;
}

/* ---- create / open / close ---------------------------------------------- */

static zipc_segment *alloc_handle(const char *path)
{
    zipc_segment *seg = calloc(1, sizeof(*seg));
    if (seg) {
        seg->fd = -1;
        snprintf(seg->name, sizeof(seg->name), "%s", path);
    }
    return seg;
}

static void free_handle(zipc_segment *seg)
{
    if (seg->base)
        munmap(seg->base, seg->map_size);
    if (seg->fd >= 0) {
        add_mutex_lock(); /* see zipc_add_mutex: keeps our record lock */
        close(seg->fd);
        pthread_mutex_unlock(&zipc_add_mutex);
    }
    free(seg);
}

static int map_fd(zipc_segment *seg, uint64_t size, bool readonly)
{
    if (size > SIZE_MAX || size == 0)
        return -EBADMSG;
    int prot = PROT_READ | (readonly ? 0 : PROT_WRITE);
    void *p = mmap(NULL, (size_t)size, prot, MAP_SHARED, seg->fd, 0);
    if (p == MAP_FAILED)
        return errno_to_result(errno);
    seg->base = p;
    seg->map_size = size;
    seg->readonly = readonly;
    return 0;
}

/* The file a new segment is built in before it gets its name. Preferably an
 * unnamed O_TMPFILE file in /dev/shm: if the creator dies before publishing,
 * the kernel frees it with the last descriptor. Where O_TMPFILE or /proc (to
 * link it) is missing, a named "/.zipc-tmp-<pid>-<n>" object instead, removed
 * on every path except the creator's death. */
struct new_file {
    int fd;
    bool named;
    char tmp[48];
};

static int open_new_file(struct new_file *nf)
{
    static zipc_atomic_u32 counter;
    nf->named = false;
    if (access("/proc/self/fd", X_OK) == 0) {
        nf->fd = open(ZIPC_SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, ZIPC_DEFAULT_MODE);
        if (nf->fd >= 0)
            return 0;
    }
    nf->named = true;
    snprintf(nf->tmp, sizeof(nf->tmp), "/.zipc-tmp-%ld-%u", (long)getpid(),
             zipc__fetch_add_relaxed_u32(&counter, 1));
    nf->fd = shm_open(nf->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, ZIPC_DEFAULT_MODE);
    return nf->fd >= 0 ? 0 : errno_to_result(errno);
}

/* Give the new file the name PATH: link(2) fails with EEXIST when the name
 * exists, so the name appears atomically with a complete segment and an
 * existing segment is never touched. */
static int publish_new_file(const struct new_file *nf, const char *path)
{
    char from[sizeof(ZIPC_SHM_DIR) + 48], to[sizeof(ZIPC_SHM_DIR) + ZIPC_SEGMENT_NAME_MAX + 2];
    snprintf(to, sizeof(to), ZIPC_SHM_DIR "%s", path);
    if (nf->named) {
        snprintf(from, sizeof(from), ZIPC_SHM_DIR "%s", nf->tmp);
        return link(from, to) == 0 ? 0 : errno_to_result(errno);
    }
    snprintf(from, sizeof(from), "/proc/self/fd/%d", nf->fd);
    return linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW) == 0 ? 0
                                                                        : errno_to_result(errno);
}

/* Build the whole segment in a new file, then publish it under PATH (the
 * magic is also written last, with release, for openers that map it while
 * we still own it). A failure leaves nothing behind. */
static int create_new(const char *path, uint64_t size, uint32_t max_entries, uint32_t mode,
                      zipc_segment **out)
{
    zipc_segment *seg = alloc_handle(path);
    if (!seg)
        return -ENOMEM;
    struct new_file nf;
    int r = open_new_file(&nf);
    if (r) {
        free_handle(seg);
        return r;
    }
    seg->fd = nf.fd;
    if (fchmod(seg->fd, mode) != 0)
        r = errno_to_result(errno);
    /* Reserve every byte now: a full /dev/shm fails here, not as SIGBUS later. */
    if (!r && size > (uint64_t)INT64_MAX)
        r = -EINVAL;
    if (!r) {
        int e = posix_fallocate(seg->fd, 0, (off_t)size);
        if (e)
            r = (e == EFBIG) ? -ENOSPC : -e;
    }
    if (!r)
        r = map_fd(seg, size, false);
    if (!r) {
        zipc_table_header_shm *h = hdr(seg);
        h->version = ZIPC_FORMAT_VERSION;
        h->max_entries = max_entries;
        h->memory_size = size;
        zipc__store_relaxed_u32(&h->entry_count, 0);
        zipc__store_relaxed_u64(&h->next_offset, zipc__table_size(max_entries));
        seg->max_entries = max_entries;
        seg->table_size = zipc__table_size(max_entries);
        seg->memory_size = size;
        /* P1 (release): pairs with the acquire in validate(). */
        zipc__store_release_u32(&h->magic, ZIPC_MAGIC);
        ZIPC_CRASH_POINT(101); /* initialised, not yet published */
        r = publish_new_file(&nf, path);
    }
    if (nf.named)
        shm_unlink(nf.tmp);
    if (r) {
        free_handle(seg);
        return r;
    }
    seg->created = true;
    *out = seg;
    return 0;
}

static int open_existing(const char *path, uint32_t flags, zipc_segment **out)
{
    bool ro = flags & ZIPC_SEGMENT_READONLY;
    zipc_segment *seg = alloc_handle(path);
    if (!seg)
        return -ENOMEM;
    int r = 0;
    seg->fd = shm_open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
    if (seg->fd < 0)
        r = errno_to_result(errno);
    struct stat st;
    if (!r && fstat(seg->fd, &st) != 0)
        r = errno_to_result(errno);
    if (!r && st.st_size < (off_t)ZIPC_HEADER_SIZE)
        r = -EBADMSG;
    if (!r)
        r = map_fd(seg, (uint64_t)st.st_size, ro);
    if (!r)
        r = validate(seg);
    if (r) {
        free_handle(seg);
        return r;
    }
    *out = seg;
    return 0;
}

int zipc_segment_create_ex(const char *name, uint64_t size, uint32_t max_entries,
                           const zipc_segment_options *opts, zipc_segment **out, bool *created)
{
    char path[ZIPC_SEGMENT_NAME_MAX + 2];
    int r = seg_path(name, path);
    if (r)
        return r;
    if (!out)
        return -EINVAL;
    uint32_t mode = (opts && opts->mode) ? opts->mode : ZIPC_DEFAULT_MODE;
    uint32_t flags = opts ? opts->flags : 0;
    if ((flags & ~ZIPC_SEGMENT_OPEN_EXISTING) || (mode & ~07777u))
        return -EINVAL;
    if (created)
        *created = false; /* also when every open-or-create attempt fails */
    if (max_entries == 0)
        max_entries = ZIPC_DEFAULT_MAX_ENTRIES;
    if (max_entries > (UINT32_MAX - ZIPC_HEADER_SIZE) / ZIPC_ENTRY_SIZE ||
        size < zipc__table_size(max_entries))
        return -EINVAL;
    for (int attempt = 0; attempt < ZIPC_OPEN_OR_CREATE_TRIES; attempt++) {
        r = create_new(path, size, max_entries, mode, out);
        if (r != -EEXIST || !(flags & ZIPC_SEGMENT_OPEN_EXISTING)) {
            if (created)
                *created = (r == 0);
            return r;
        }
        r = open_existing(path, 0, out);
        if (r != -ENOENT) { /* ENOENT: unlinked between our two calls; retry */
            if (created)
                *created = false;
            return r;
        }
    }
    return r;
}

int zipc_segment_create(const char *name, uint64_t size, uint32_t max_entries, zipc_segment **out)
{
    return zipc_segment_create_ex(name, size, max_entries, NULL, out, NULL);
}

int zipc_segment_open_ex(const char *name, uint32_t flags, zipc_segment **out)
{
    char path[ZIPC_SEGMENT_NAME_MAX + 2];
    int r = seg_path(name, path);
    if (r)
        return r;
    if (!out || (flags & ~ZIPC_SEGMENT_READONLY))
        return -EINVAL;
    return open_existing(path, flags, out);
}

int zipc_segment_open(const char *name, zipc_segment **out)
{
    return zipc_segment_open_ex(name, 0, out);
}

void zipc_segment_close(zipc_segment *seg)
{
    if (seg)
        free_handle(seg);
}

int zipc_segment_unlink(const char *name)
{
    char path[ZIPC_SEGMENT_NAME_MAX + 2];
    int r = seg_path(name, path);
    if (r)
        return r;
    return shm_unlink(path) == 0 ? 0 : errno_to_result(errno);
}

/* ---- entries ------------------------------------------------------------ */

static int find_index(zipc_segment *seg, const char *name, uint32_t count, uint32_t *index)
{
    for (uint32_t i = 0; i < count; i++) {
        if (strncmp((const char *)entry(seg, i)->name, name, ZIPC_NAME_FIELD) == 0) {
            *index = i;
            return 0;
        }
    }
    return -ENOENT;
}

/* Copy entry I out of shared memory and check it: each field is read once. */
static int read_entry(zipc_segment *seg, uint32_t i, zipc_entry_info *info)
{
    const zipc_table_entry_shm *e = entry(seg, i);
    memcpy(info->name, e->name, sizeof(info->name));
    info->offset = e->offset;
    info->size = e->size;
    if (memchr(info->name, '\0', sizeof(info->name)) == NULL || info->name[0] == '\0' ||
        !entry_range_ok(seg, info->offset, info->size))
        return -EBADMSG;
    return 0;
}

int zipc__seg_lookup(zipc_segment *seg, const char *name, uint64_t *offset, uint64_t *size)
{
    zipc_entry_info info;
    int r = zipc_segment_find(seg, name, &info);
    if (r == 0) {
        *offset = info.offset;
        *size = info.size;
    }
    return r;
}

int zipc__seg_lookup_fixed(zipc_segment *seg, const char *name, uint64_t size, void **mem)
{
    uint64_t off, got;
    int r = zipc__seg_lookup(seg, name, &off, &got);
    if (r == 0 && got != size)
        r = -EBADMSG;
    if (r == 0)
        *mem = seg->base + off;
    return r;
}

int zipc_segment_find(zipc_segment *seg, const char *name, zipc_entry_info *info)
{
    int r = zipc__check_entry_name(name);
    if (r)
        return r;
    if (!seg || !info)
        return -EINVAL;
    uint32_t count, i;
    r = live_count(seg, &count);
    if (!r)
        r = find_index(seg, name, count, &i);
    if (!r)
        r = read_entry(seg, i, info);
    return r;
}

int zipc_segment_entry_at(zipc_segment *seg, uint32_t index, zipc_entry_info *info)
{
    if (!seg || !info)
        return -EINVAL;
    uint32_t count;
    int r = live_count(seg, &count);
    if (r)
        return r;
    if (index >= count)
        return -ENOENT;
    return read_entry(seg, index, info);
}

/* The record lock of zipc_add_mutex's comment, on byte 0 (any fixed byte would
 * do: nothing else locks segment files). */
static int record_lock(int fd, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    while (fcntl(fd, type == F_UNLCK ? F_SETLK : F_SETLKW, &fl) != 0)
        if (errno != EINTR)
            return errno_to_result(errno);
    return 0;
}

static int lock_adders(zipc_segment *seg)
{
    add_mutex_lock();
    int r = record_lock(seg->fd, F_WRLCK);
    if (r)
        pthread_mutex_unlock(&zipc_add_mutex);
    return r;
}

static void unlock_adders(zipc_segment *seg)
{
    record_lock(seg->fd, F_UNLCK);
    pthread_mutex_unlock(&zipc_add_mutex);
}

static int check_new_names(zipc_segment *seg, const zipc__new_entry *es, uint32_t n, uint32_t count)
{
    uint32_t dummy;
    for (uint32_t k = 0; k < n; k++) {
        int r = zipc__check_entry_name(es[k].name);
        if (r)
            return r;
        if (find_index(seg, es[k].name, count, &dummy) == 0)
            return -EEXIST;
        for (uint32_t j = 0; j < k; j++)
            if (strcmp(es[j].name, es[k].name) == 0)
                return -EEXIST;
    }
    return 0;
}

/* Where an entry goes: align8(next), as FORMAT.md allocates, unless the
 * creator asked for a cache-line boundary (ZIPC_QUEUE_LINE_ALIGNED): then up
 * to 56 bytes before the entry belong to no entry. Readers follow the table's
 * offsets and never assume entries to be adjacent (ours checks bounds and
 * overlaps only), so every implementation reads such a segment. */
static uint64_t entry_offset(uint64_t next, const zipc__new_entry *e)
{
    if (e->align == ZIPC_CACHE_LINE)
        return (next + ZIPC_CACHE_LINE - 1) & ~(uint64_t)(ZIPC_CACHE_LINE - 1);
    return zipc__align8(next);
}

int zipc__seg_add_many(zipc_segment *seg, zipc__new_entry *es, uint32_t n)
{
    if (!seg || !es || n == 0)
        return -EINVAL;
    for (uint32_t k = 0; k < n; k++) {
        int r = zipc__check_entry_name(es[k].name);
        if (r)
            return r;
        if (es[k].size == 0 || (es[k].align && es[k].align != ZIPC_CACHE_LINE))
            return -EINVAL;
    }
    if (seg->readonly)
        return -EROFS;
    int r = lock_adders(seg);
    if (r)
        return r;
    zipc_table_header_shm *h = hdr(seg);
    uint32_t count = 0;
    r = live_count(seg, &count);
    if (!r)
        r = check_new_names(seg, es, n, count);
    if (!r && n > seg->max_entries - count)
        r = -ENOSPC;
    uint64_t next = zipc__load_relaxed_u64(&h->next_offset);
    if (!r && (next < seg->table_size || next > seg->memory_size))
        r = -EBADMSG;
    for (uint32_t k = 0; k < n && !r; k++) {
        uint64_t off = entry_offset(next, &es[k]);
        if (off > seg->memory_size || es[k].size > seg->memory_size - off)
            r = -ENOSPC;
        es[k].offset = off;
        next = off + es[k].size;
    }
    if (!r) {
        /* Take the bytes before writing into them: an adder killed from here
         * on loses them for good, and never hands dirty bytes to the next
         * adder as a "zeroed" entry. */
        zipc__store_relaxed_u64(&h->next_offset, next);
        for (uint32_t k = 0; k < n; k++) {
            zipc_table_entry_shm *e = entry(seg, count + k);
            memset(e->name, 0, sizeof(e->name));
            memcpy(e->name, es[k].name, strlen(es[k].name));
            e->offset = es[k].offset;
            e->size = es[k].size;
            if (es[k].init)
                es[k].init(seg->base + es[k].offset, es[k].size, es[k].ctx);
        }
        ZIPC_CRASH_POINT(102); /* bytes taken, entries written, not yet visible */
        /* E1 (release): pairs with the acquire in live_count(): entries and
         * their initialised structures are complete before the count shows them. */
        zipc__store_release_u32(&h->entry_count, count + n);
    }
    unlock_adders(seg);
    return r;
}

int zipc__seg_add(zipc_segment *seg, const char *name, uint64_t size, zipc__init_fn init,
                  void *ctx, uint64_t *offset)
{
    zipc__new_entry e = {.name = name, .size = size, .init = init, .ctx = ctx};
    int r = zipc__seg_add_many(seg, &e, 1);
    if (r == 0 && offset)
        *offset = e.offset;
    return r;
}

int zipc_segment_add_entry(zipc_segment *seg, const char *name, uint64_t size, uint64_t *offset)
{
    return zipc__seg_add(seg, name, size, NULL, NULL, offset);
}

/* ---- accessors ---------------------------------------------------------- */

void *zipc_segment_base(zipc_segment *seg) { return seg->base; }
const char *zipc_segment_name(const zipc_segment *seg) { return seg->name; }
uint64_t zipc_segment_size(const zipc_segment *seg) { return seg->memory_size; }
uint32_t zipc_segment_max_entries(const zipc_segment *seg) { return seg->max_entries; }
bool zipc_segment_is_readonly(const zipc_segment *seg) { return seg->readonly; }

uint32_t zipc_segment_entry_count(zipc_segment *seg)
{
    uint32_t count = 0;
    return live_count(seg, &count) == 0 ? count : seg->max_entries;
}

uint64_t zipc_segment_bytes_used(zipc_segment *seg)
{
    uint64_t next = zipc__load_relaxed_u64(&hdr(seg)->next_offset);
    return next > seg->memory_size ? seg->memory_size : next;
}

uint64_t zipc_segment_bytes_free(zipc_segment *seg)
{
    uint64_t next = zipc__align8(zipc_segment_bytes_used(seg));
    return next >= seg->memory_size ? 0 : seg->memory_size - next;
}
