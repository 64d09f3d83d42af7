/* Interoperation with an independent implementation of the format: the
 * reference peer tests/interop/zeroipc_ref.py (pure Python, written from
 * FORMAT.md alone, behaving like the other ZeroIPC implementations: no lock,
 * no O_EXCL, never wakes anybody). Segments go both ways: the peer writes,
 * this library reads; this library writes, the peer reads. docs/interop.md.
 *
 * The peer runs as /usr/bin/python3 (skipped if missing); its path is
 * tests/interop/zeroipc_ref.py from the working directory of `make test`, or
 * $ZIPC_INTEROP_PEER. */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "payload.h"

#define PYTHON "/usr/bin/python3"
#define SEC 1000000000LL
#define MS 1000000LL
#define PEER_OUT 65536
#define PEER_ARGS 128

/* How late a blocked call may see the peer's change: one 10 ms slice
 * (ZIPC_WAIT_SLICE_NS) plus the slack of a loaded 2-core machine. */
#define SLICE_SLACK_NS (500 * MS)

static const char *peer_path(void)
{
    const char *p = getenv("ZIPC_INTEROP_PEER");
    return p && *p ? p : "tests/interop/zeroipc_ref.py";
}

static void need_peer(void)
{
    if (access(PYTHON, X_OK) != 0)
        zt_skip("%s not installed: no reference peer", PYTHON);
    if (access(peer_path(), R_OK) != 0)
        zt_fail(__FILE__, __LINE__, "reference peer %s not found (run from the source tree "
                "or set ZIPC_INTEROP_PEER)", peer_path());
}

/* Run a program with a NULL-terminated argument list; its stdout goes to OUT
 * (NUL-terminated, at most PEER_OUT bytes), its stderr to ours. Returns its
 * exit status. */
static int run_argv(char *out, const char *const *argv)
{
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    ZT_ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, PEER_OUT - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        ZT_ASSERT(n > 0);
        len += (size_t)n;
        ZT_ASSERT(len < PEER_OUT - 1);
    }
    out[len] = '\0';
    close(fds[0]);
    return zt_wait(pid);
}

/* Run the peer: peer(out, "dump", name, NULL). OUT may be NULL. */
static int peer(char *out, ...)
{
    static char sink[PEER_OUT];
    const char *argv[PEER_ARGS] = {PYTHON, peer_path()};
    int n = 2;
    va_list ap;
    va_start(ap, out);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        ZT_ASSERT(n < PEER_ARGS - 1);
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return run_argv(out ? out : sink, argv);
}

#define PEER_OK(...)                                                                           \
    do {                                                                                       \
        int zt_st_ = peer(__VA_ARGS__, (const char *)NULL);                                    \
        if (zt_st_ != 0)                                                                       \
            zt_fail(__FILE__, __LINE__, "reference peer failed (status %d): %s", zt_st_,      \
                    #__VA_ARGS__);                                                             \
    } while (0)

static void expect_str(const char *file, int line, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        zt_fail(file, line, "\n      got:  %s\n      want: %s", got, want);
}
#define EXPECT_STR(got, want) expect_str(__FILE__, __LINE__, got, want)

/* The line of a dump describing entry NAME (without its newline). */
static const char *dump_line(const char *dump, const char *name)
{
    static char line[8192];
    char key[64];
    snprintf(key, sizeof(key), "\"name\":\"%s\"", name);
    for (const char *p = dump; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        ZT_ASSERT(len < sizeof(line));
        memcpy(line, p, len);
        line[len] = '\0';
        if (strstr(line, key))
            return line;
        p += len + (end ? 1 : 0);
    }
    zt_fail(__FILE__, __LINE__, "no entry %s in the dump:\n%s", name, dump);
}

/* The integers of the JSON list after "KEY": in OUT, into V (at most N). */
static size_t json_ints(const char *out, const char *key, int64_t *v, size_t n)
{
    char k[64];
    snprintf(k, sizeof(k), "\"%s\":[", key);
    const char *p = strstr(out, k);
    if (!p)
        zt_fail(__FILE__, __LINE__, "no list %s in %s", key, out);
    p += strlen(k);
    size_t i = 0;
    while (*p && *p != ']' && i < n) {
        char *end;
        v[i++] = strtoll(p, &end, 10);
        ZT_ASSERT(end != p);
        p = *end == ',' ? end + 1 : end;
    }
    return i;
}

/* The test payload, byte for byte what zeroipc_ref.py's payload() makes:
 * seq as u64, then byte j = (seq * 131 + j * 7 + 1) & 0xFF. */
static void payload(uint64_t seq, uint8_t *buf, size_t es)
{
    memcpy(buf, &seq, sizeof(seq));
    for (size_t j = 8; j < es; j++)
        buf[j] = (uint8_t)((seq * 131 + j * 7 + 1) & 0xFF);
}

static void copy_name(char *dst, const char *suffix)
{
    snprintf(dst, 128, "%s", zt_name(suffix));
}

/* ---- the FORMAT.md section 4 example, both ways ------------------------------------- */

ZTEST(interop_example_written_by_the_reference_peer_is_read_and_used_here, ZT_FAST)
{
    need_peer();
    char name[128];
    copy_name(name, "peer");
    PEER_OK(NULL, "write-example", name);

    zipc_segment *seg;
    zipc_array *arr;
    zipc_queue *q;
    zipc_stack *s;
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_EQ(zipc_segment_max_entries(seg), 64);
    ZT_EQ(zipc_segment_entry_count(seg), 3);
    ZT_EQ_U64(zipc_segment_size(seg), 1 << 20);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), 0xD50);

    ZT_OK(zipc_array_open(seg, "arr", 4, &arr));
    ZT_EQ(zipc_array_capacity(arr), 10);
    for (uint64_t i = 0; i < 10; i++) {
        int32_t v;
        ZT_OK(zipc_array_get(arr, i, &v));
        ZT_EQ(v, (int64_t)(i * i));
    }

    /* On a writable segment our opens add q_wait/q_own and s_wait/s_own. */
    ZT_OK(zipc_queue_open(seg, "q", 8, &q));
    ZT_EQ(zipc_queue_capacity(q), 8);
    for (int64_t want = 20; want <= 50; want += 10) {
        int64_t v;
        ZT_OK(zipc_queue_try_pop(q, &v));
        ZT_EQ(v, want);
    }
    int64_t v64;
    ZT_ERR(zipc_queue_try_pop(q, &v64), -EAGAIN);

    ZT_OK(zipc_stack_open(seg, "s", 4, &s));
    for (int32_t want = 9; want >= 7; want--) {
        int32_t v;
        ZT_OK(zipc_stack_try_pop(s, &v));
        ZT_EQ(v, want);
    }
    int32_t v32;
    ZT_ERR(zipc_stack_try_pop(s, &v32), -EAGAIN);
    ZT_EQ(zipc_segment_entry_count(seg), 7);

    /* The peer still reads the segment (ignoring our extension entries) and
     * sees the pops as the format says: seq[slot] = h + cap after each. */
    static char dump[PEER_OUT];
    PEER_OK(dump, "dump", name);
    EXPECT_STR(dump_line(dump, "q"),
               "{\"capacity\":8,\"elem_size\":8,\"entry\":1,\"head\":5,\"items\":[],"
               "\"kind\":\"queue\",\"name\":\"q\",\"offset\":3152,\"seq\":[8,9,10,11,12,5,6,7],"
               "\"size\":112,\"slots\":[10,20,30,40,50,0,0,0],\"tail\":5}");
    EXPECT_STR(dump_line(dump, "s"),
               "{\"capacity\":16,\"elem_size\":4,\"entry\":2,\"items\":[],\"kind\":\"stack\","
               "\"name\":\"s\",\"offset\":3264,\"reserved\":0,\"size\":144,"
               "\"states\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],\"top\":-1}");
    for (const char *aux = "q_wait\0q_own\0s_wait\0s_own\0"; *aux; aux += strlen(aux) + 1)
        (void)dump_line(dump, aux);

    /* And keeps using it: it pushes and allocates after our entries. */
    PEER_OK(NULL, "queue-push", name, "q", "8", "60", "70", "+", "stack-push", name, "s", "4",
            "-5", "+", "array-create", name, "late", "2", "3", "-1", "2", "-3");
    ZT_OK(zipc_queue_try_pop(q, &v64));
    ZT_EQ(v64, 60);
    ZT_OK(zipc_queue_try_pop(q, &v64));
    ZT_EQ(v64, 70);
    ZT_OK(zipc_stack_try_pop(s, &v32));
    ZT_EQ(v32, -5);
    zipc_array *late;
    ZT_OK(zipc_array_open(seg, "late", 2, &late));
    for (int16_t i = 0; i < 3; i++) {
        int16_t v;
        ZT_OK(zipc_array_get(late, (uint64_t)i, &v));
        ZT_EQ(v, i % 2 ? 2 : -(i + 1));
    }
    zipc_array_close(late);
    zipc_array_close(arr);
    zipc_queue_close(q);
    zipc_stack_close(s);
    zipc_segment_close(seg);
}

ZTEST(interop_example_written_here_is_read_by_the_reference_peer_byte_for_byte, ZT_FAST)
{
    need_peer();
    char ours[128], theirs[128], prog[512];
    copy_name(ours, "ours");
    copy_name(theirs, "theirs");
    snprintf(prog, sizeof(prog), "%s/format_fixture", ZIPC_EXAMPLES_DIR);
    if (access(prog, X_OK) != 0)
        zt_skip("%s not built (make examples)", prog);
    static char out[PEER_OUT];
    ZT_EQ(run_argv(out, (const char *const[]){prog, ours, NULL}), 0);

    PEER_OK(out, "dump", ours);
    const char *want =
        "{\"header\":{\"entry_count\":3,\"magic\":1514754125,\"max_entries\":64,"
        "\"memory_size\":1048576,\"next_offset\":3408,\"version\":2}}\n"
        "{\"capacity\":10,\"elem_size\":4,\"entry\":0,\"kind\":\"array\",\"name\":\"arr\","
        "\"offset\":3104,\"size\":48,\"values\":[0,1,4,9,16,25,36,49,64,81]}\n"
        "{\"capacity\":8,\"elem_size\":8,\"entry\":1,\"head\":1,\"items\":[20,30,40,50],"
        "\"kind\":\"queue\",\"name\":\"q\",\"offset\":3152,\"seq\":[8,2,3,4,5,5,6,7],"
        "\"size\":112,\"slots\":[10,20,30,40,50,0,0,0],\"tail\":5}\n"
        "{\"capacity\":16,\"elem_size\":4,\"entry\":2,\"items\":[7,8,9],\"kind\":\"stack\","
        "\"name\":\"s\",\"offset\":3264,\"reserved\":0,\"size\":144,"
        "\"states\":[2,2,2,0,0,0,0,0,0,0,0,0,0,0,0,0],\"top\":2}\n";
    EXPECT_STR(out, want);

    /* Every byte of the 1 MiB equals what the peer writes for the example. */
    PEER_OK(NULL, "write-example", theirs);
    PEER_OK(out, "compare", ours, theirs);
    EXPECT_STR(out, "{\"bytes\":1048576,\"equal\":true}\n");

    /* The peer pops what our queue and stack hold, in the format's order. */
    PEER_OK(out, "queue-pop", ours, "q", "8", "10", "+", "stack-pop", ours, "s", "4", "10");
    EXPECT_STR(out, "[20,30,40,50]\n[9,8,7]\n");
}

/* ---- stored max_entries --------------------------------------------------------------- */

ZTEST(interop_table_of_16_entries_written_by_the_peer_is_honoured_here, ZT_FAST)
{
    need_peer();
    char name[128];
    copy_name(name, "t16");
    /* 12 entries; "odd" is 13 bytes, so next_offset is left unaligned. */
    PEER_OK(NULL, "create", name, "65536", "16", "+", "array-create", name, "a0", "4", "3", "1",
            "2", "3", "+", "array-create", name, "odd", "1", "5", "9", "8", "7", "6", "5", "+",
            "queue-create", name, "q", "8", "4", "+", "stack-create", name, "s", "4", "4", "+",
            "array-create", name, "a4", "8", "1", "+", "array-create", name, "a5", "8", "1", "+",
            "array-create", name, "a6", "8", "1", "+", "array-create", name, "a7", "8", "1", "+",
            "array-create", name, "a8", "8", "1", "+", "array-create", name, "a9", "8", "1", "+",
            "array-create", name, "a10", "8", "1", "+", "array-create", name, "a11", "8", "1");
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_EQ(zipc_segment_max_entries(seg), 16);
    ZT_EQ(zipc_segment_entry_count(seg), 12);
    const char *names[] = {"a0", "odd", "q", "s", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11"};
    uint64_t expect_off = 32 + 48 * 16; /* the table of 16 entries: 800 */
    uint64_t sizes[12] = {8 + 12, 8 + 5, 16 + 32 + 16, 16 + 16 + 16, 16, 16, 16, 16, 16, 16, 16, 16};
    for (uint32_t i = 0; i < 12; i++) {
        zipc_entry_info e, f;
        ZT_OK(zipc_segment_entry_at(seg, i, &e));
        EXPECT_STR(e.name, names[i]);
        expect_off = (expect_off + 7) & ~7ull;
        ZT_EQ_U64(e.offset, expect_off);
        ZT_EQ_U64(e.size, sizes[i]);
        expect_off += sizes[i];
        ZT_OK(zipc_segment_find(seg, names[i], &f));
        ZT_EQ_U64(f.offset, e.offset);
    }
    ZT_ERR(zipc_segment_entry_at(seg, 12, &(zipc_entry_info){0}), -ENOENT);
    ZT_EQ_U64(zipc_segment_bytes_used(seg), expect_off);

    zipc_array *odd;
    ZT_OK(zipc_array_open(seg, "odd", 1, &odd));
    ZT_EQ(((int8_t *)zipc_array_data(odd))[4], 5);
    zipc_array_close(odd);

    /* Our adds go after the unaligned next_offset, aligned up; the 17th is
     * refused although 64 would fit in the default table. */
    uint64_t off;
    ZT_OK(zipc_segment_add_entry(seg, "x12", 8, &off));
    ZT_EQ_U64(off, (expect_off + 7) & ~7ull);
    zipc_queue *q;
    ZT_OK(zipc_queue_open(seg, "q", 8, &q)); /* adds q_wait and q_own: 15 entries */
    ZT_EQ(zipc_segment_entry_count(seg), 15);
    ZT_OK(zipc_segment_add_entry(seg, "x15", 8, NULL));
    ZT_ERR(zipc_segment_add_entry(seg, "x16", 8, NULL), -ENOSPC);
    ZT_EQ(zipc_segment_entry_count(seg), 16);

    /* The peer reads the full table we extended and pushes; we pop. */
    static char out[PEER_OUT];
    PEER_OK(out, "dump", name);
    ZT_ASSERT(strstr(out, "\"entry_count\":16"));
    ZT_ASSERT(strstr(out, "\"max_entries\":16"));
    (void)dump_line(out, "x15");
    PEER_OK(NULL, "queue-push", name, "q", "8", "123456789012");
    int64_t v;
    ZT_OK(zipc_queue_try_pop(q, &v));
    ZT_EQ(v, 123456789012LL);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(interop_max_entries_0_from_very_old_writers_reads_as_64, ZT_FAST)
{
    need_peer();
    char name[128];
    copy_name(name, "t0");
    PEER_OK(NULL, "create", name, "65536", "0", "+", "array-create", name, "a", "8", "2", "11",
            "-22");
    zipc_segment *seg;
    zipc_array *a;
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_EQ(zipc_segment_max_entries(seg), 64);
    zipc_entry_info e;
    ZT_OK(zipc_segment_find(seg, "a", &e));
    ZT_EQ_U64(e.offset, 3104);
    ZT_OK(zipc_array_open(seg, "a", 8, &a));
    int64_t v;
    ZT_OK(zipc_array_get(a, 1, &v));
    ZT_EQ(v, -22);
    zipc_array_close(a);
    zipc_segment_close(seg);
}

/* ---- queue traffic between processes ----------------------------------------------- */

#define ES 24 /* payload element: seq + 16 derived bytes */

struct traffic {
    const char *seg;
    uint64_t start, count;
};

static void open_queue(const char *name, zipc_segment **seg, zipc_queue **q)
{
    ZT_OK(zipc_segment_open(name, seg));
    ZT_OK(zipc_queue_open(*seg, "q", ES, q));
}

static void producer_here(void *p)
{
    struct traffic *t = p;
    zipc_segment *seg;
    zipc_queue *q;
    open_queue(t->seg, &seg, &q);
    uint8_t buf[ES];
    for (uint64_t seq = t->start; seq < t->start + t->count; seq++) {
        payload(seq, buf, ES);
        ZT_OK(zipc_queue_push(q, buf, 20 * SEC)); /* the peer never wakes us: slices */
    }
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static void consumer_here(void *p)
{
    struct traffic *t = p;
    zipc_segment *seg;
    zipc_queue *q;
    open_queue(t->seg, &seg, &q);
    uint8_t buf[ES], want[ES];
    for (uint64_t seq = t->start; seq < t->start + t->count; seq++) {
        ZT_OK(zipc_queue_pop(q, buf, 20 * SEC));
        payload(seq, want, ES);
        if (memcmp(buf, want, ES) != 0)
            zt_fail(__FILE__, __LINE__, "element %" PRIu64 " is not its payload", seq);
    }
    ZT_ERR(zipc_queue_try_pop(q, buf), -EAGAIN);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static void make_queue(const char *name, uint32_t cap)
{
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(name, 1 << 20, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", ES, cap, &q));
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static void u64_text(char *buf, uint64_t v)
{
    snprintf(buf, 24, "%" PRIu64, v);
}

ZTEST(interop_queue_elements_pushed_here_reach_the_reference_peer_intact_and_in_order, ZT_MEDIUM)
{
    need_peer();
    char name[128], n[24], es[24];
    copy_name(name, "q2peer");
    uint64_t count = zt_env_u64("ZIPC_INTEROP_ITEMS", 3000);
    make_queue(name, 64); /* wraps the 64 slots many times */
    struct traffic t = {name, 0, count};
    pid_t pid = zt_fork(producer_here, &t);
    u64_text(n, count);
    u64_text(es, ES);
    static char out[PEER_OUT];
    int64_t t0 = zt_now_ns();
    PEER_OK(out, "queue-pop-seq", name, "q", es, "0", n, "20");
    zt_wait_ok(pid);
    printf("    %" PRIu64 " elements here -> peer in %.0f ms\n", count, (zt_now_ns() - t0) / 1e6);
    ZT_ASSERT(strstr(out, "\"popped\":"));
    /* Nothing left over: the peer sees the queue empty, head == tail. */
    PEER_OK(out, "queue-pop", name, "q", es, "1");
    EXPECT_STR(out, "[]\n");
}

ZTEST(interop_queue_elements_pushed_by_the_reference_peer_arrive_here_intact_and_in_order, ZT_MEDIUM)
{
    need_peer();
    char name[128], n[24], es[24];
    copy_name(name, "peer2q");
    uint64_t count = zt_env_u64("ZIPC_INTEROP_ITEMS", 3000);
    make_queue(name, 64);
    struct traffic t = {name, 0, count};
    pid_t pid = zt_fork(consumer_here, &t);
    u64_text(n, count);
    u64_text(es, ES);
    int64_t t0 = zt_now_ns();
    PEER_OK(NULL, "queue-push-seq", name, "q", es, "0", n, "20");
    zt_wait_ok(pid);
    printf("    %" PRIu64 " elements peer -> here in %.0f ms\n", count, (zt_now_ns() - t0) / 1e6);
}

/* ZIPC_QUEUE_LINE_ALIGNED leaves bytes before the queue that belong to no
 * entry. The peer, which follows the table's offsets, validates the segment,
 * moves elements through the queue both ways and allocates after it. */
ZTEST(interop_line_aligned_queue_after_a_gap_is_used_and_allocated_after_by_the_reference_peer,
      ZT_MEDIUM)
{
    need_peer();
    char name[128], n[24], es[24];
    copy_name(name, "qline");
    uint64_t count = zt_env_u64("ZIPC_INTEROP_ITEMS", 3000) / 6;
    zipc_segment *seg;
    zipc_queue *q;
    zipc_entry_info e, own, late;
    ZT_OK(zipc_segment_create(name, 1 << 20, 0, &seg));
    ZT_OK(zipc_segment_add_entry(seg, "odd", 13, NULL));
    ZT_OK(zipc_queue_create_ex(seg, "q", ES, 2, ZIPC_QUEUE_LINE_ALIGNED, &q));
    zipc_queue_close(q);
    ZT_OK(zipc_segment_find(seg, "q", &e));
    ZT_OK(zipc_segment_find(seg, "q_own", &own));
    ZT_EQ(e.offset % 64, 0);
    uint64_t free_at = (own.offset + own.size + 7) & ~(uint64_t)7;
    ZT_ASSERT(e.offset > free_at); /* a gap: the "odd" entry was chosen for one */
    static char dump[PEER_OUT];
    PEER_OK(dump, "dump", name);
    ZT_ASSERT(strstr(dump_line(dump, "q"), "\"kind\":\"queue\""));

    u64_text(n, count);
    u64_text(es, ES);
    struct traffic t = {name, 0, count};
    pid_t pid = zt_fork(producer_here, &t);
    PEER_OK(NULL, "queue-pop-seq", name, "q", es, "0", n, "20");
    zt_wait_ok(pid);
    pid = zt_fork(consumer_here, &t);
    PEER_OK(NULL, "queue-push-seq", name, "q", es, "0", n, "20");
    zt_wait_ok(pid);

    PEER_OK(NULL, "array-create", name, "late", "8", "2", "7", "9");
    ZT_OK(zipc_segment_find(seg, "late", &late));
    ZT_EQ(late.offset, (e.offset + e.size + 7) & ~(uint64_t)7);
    zipc_segment_close(seg);
}

/* ---- blocked calls see a peer that never wakes --------------------------------------- */

#define WAKE_ROUNDS 5
#define WAKE_INTERVAL "40" /* ms between the peer's operations: we are asleep by then */

/* What the blocked process here waits for. */
enum blocked_mode { BLOCK_QUEUE_POP, BLOCK_QUEUE_PUSH, BLOCK_STACK_POP, BLOCK_RING_READ };

struct blocked {
    const char *seg;
    enum blocked_mode mode;
    int ready_fd;
};

/* Block WAKE_ROUNDS times; after each return, note the time in "when". */
static void blocked_here(void *p)
{
    struct blocked *b = p;
    zipc_segment *seg;
    zipc_queue *q;
    zipc_stack *s;
    zipc_ring *r;
    zipc_array *when;
    open_queue(b->seg, &seg, &q);
    ZT_OK(zipc_stack_open(seg, "s", ES, &s));
    ZT_OK(zipc_ring_open(seg, "r", ES, &r));
    ZT_OK(zipc_array_open(seg, "when", 8, &when));
    ZT_ASSERT(write(b->ready_fd, "x", 1) == 1);
    uint8_t buf[ES], want[ES];
    for (uint64_t k = 0; k < WAKE_ROUNDS; k++) {
        payload(b->mode == BLOCK_QUEUE_PUSH ? k + 2 : k, want, ES); /* 0, 1 fill the queue */
        switch (b->mode) {
        case BLOCK_QUEUE_PUSH:
            ZT_OK(zipc_queue_push(q, want, 10 * SEC));
            break;
        case BLOCK_QUEUE_POP:
            ZT_OK(zipc_queue_pop(q, buf, 10 * SEC));
            break;
        case BLOCK_STACK_POP:
            ZT_OK(zipc_stack_pop(s, buf, 10 * SEC));
            break;
        case BLOCK_RING_READ:
            ZT_OK(zipc_ring_read_timeout(r, buf, 10 * SEC));
            break;
        }
        ZT_OK(zipc_array_store_u64(when, k, (uint64_t)zt_now_ns()));
        if (b->mode != BLOCK_QUEUE_PUSH)
            ZT_ASSERT(memcmp(buf, want, ES) == 0);
    }
    zipc_array_close(when);
    zipc_ring_close(r);
    zipc_stack_close(s);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

static void blocked_sees_peer(enum blocked_mode mode)
{
    static const char *what[] = {"queue pop", "queue push", "stack pop", "ring read"};
    need_peer();
    char name[128], es[24], n[24];
    copy_name(name, "blocked");
    u64_text(es, ES);
    zipc_segment *seg;
    zipc_queue *q;
    zipc_stack *s;
    zipc_ring *r;
    zipc_array *when;
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", ES, 2, &q));
    ZT_OK(zipc_stack_create(seg, "s", ES, 2, &s));
    ZT_OK(zipc_ring_create(seg, "r", ES, 2, &r));
    ZT_OK(zipc_array_create(seg, "when", 8, WAKE_ROUNDS, &when));
    if (mode == BLOCK_QUEUE_PUSH) {
        uint8_t buf[ES];
        for (uint64_t seq = 0; seq < 2; seq++) {
            payload(seq, buf, ES);
            ZT_OK(zipc_queue_try_push(q, buf));
        }
    }
    int fds[2];
    ZT_ASSERT(pipe(fds) == 0);
    struct blocked b = {name, mode, fds[1]};
    pid_t pid = zt_fork(blocked_here, &b);
    char c;
    ZT_ASSERT(read(fds[0], &c, 1) == 1);
    /* The peer starts (tens of ms of interpreter start-up) while the child
     * blocks; its first operation comes long after the child's spin. */
    static char out[PEER_OUT];
    u64_text(n, WAKE_ROUNDS);
    switch (mode) {
    case BLOCK_QUEUE_PUSH:
        u64_text(n, WAKE_ROUNDS + 2);
        PEER_OK(out, "queue-pop-seq", name, "q", es, "0", n, "10", WAKE_INTERVAL);
        break;
    case BLOCK_QUEUE_POP:
        PEER_OK(out, "queue-push-seq", name, "q", es, "0", n, "10", WAKE_INTERVAL);
        break;
    case BLOCK_STACK_POP:
        PEER_OK(out, "stack-push-seq", name, "s", es, "0", n, "10", WAKE_INTERVAL);
        break;
    case BLOCK_RING_READ:
        PEER_OK(out, "ring-write-seq", name, "r", es, "0", n, "10", WAKE_INTERVAL);
        break;
    }
    zt_wait_ok(pid);
    int64_t peer_t[WAKE_ROUNDS + 2];
    ZT_ASSERT(json_ints(out, "t_ns", peer_t, WAKE_ROUNDS + 2) >= WAKE_ROUNDS);
    int64_t worst = 0, sum = 0;
    for (uint64_t k = 0; k < WAKE_ROUNDS; k++) {
        uint64_t seen;
        ZT_OK(zipc_array_load_u64(when, k, &seen));
        /* Round k here could only complete after the peer's operation k
         * (for BLOCK_QUEUE_PUSH: push k+2 needs the slot freed by pop k). */
        int64_t late = (int64_t)seen - peer_t[k];
        ZT_ASSERT(late > 0);
        ZT_ASSERT(late < SLICE_SLACK_NS);
        worst = late > worst ? late : worst;
        sum += late;
    }
    printf("    blocked %s saw the peer's change after %.2f ms on average, %.2f ms at worst "
           "(slice 10 ms)\n", what[mode], sum / 1e6 / WAKE_ROUNDS, worst / 1e6);
    zipc_array_close(when);
    zipc_ring_close(r);
    zipc_stack_close(s);
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

ZTEST(interop_blocked_queue_pop_sees_each_push_of_the_reference_peer_within_about_a_slice, ZT_FAST)
{
    blocked_sees_peer(BLOCK_QUEUE_POP);
}

ZTEST(interop_blocked_queue_push_sees_each_pop_of_the_reference_peer_within_about_a_slice, ZT_FAST)
{
    blocked_sees_peer(BLOCK_QUEUE_PUSH);
}

ZTEST(interop_blocked_stack_pop_sees_each_push_of_the_reference_peer_within_about_a_slice, ZT_FAST)
{
    blocked_sees_peer(BLOCK_STACK_POP);
}

ZTEST(interop_blocked_ring_read_sees_each_write_of_the_reference_peer_within_about_a_slice, ZT_FAST)
{
    blocked_sees_peer(BLOCK_RING_READ);
}

/* ---- counters across the 2^32 wrap ------------------------------------------------- */

static void push_here(zipc_queue *q, uint64_t from, uint64_t to)
{
    uint8_t buf[ES];
    for (uint64_t seq = from; seq < to; seq++) {
        payload(seq, buf, ES);
        ZT_OK(zipc_queue_try_push(q, buf));
    }
}

static void pop_here(zipc_queue *q, uint64_t from, uint64_t to)
{
    uint8_t buf[ES], want[ES];
    for (uint64_t seq = from; seq < to; seq++) {
        ZT_OK(zipc_queue_try_pop(q, buf));
        payload(seq, want, ES);
        ZT_ASSERT(memcmp(buf, want, ES) == 0);
    }
}

ZTEST(interop_queue_counters_crossing_2_pow_32_agree_with_the_reference_peer, ZT_FAST)
{
    need_peer();
    char name[128], es[24];
    copy_name(name, "wrap");
    u64_text(es, ES);
    zipc_segment *seg;
    zipc_queue *q;
    ZT_OK(zipc_segment_create(name, 1 << 16, 0, &seg));
    ZT_OK(zipc_queue_create(seg, "q", ES, 4, &q));
    /* head = tail = 2^32 - 3, seq[] to match: the wrap comes at the 4th element. */
    PEER_OK(NULL, "queue-seed", name, "q", es, "0xFFFFFFFD");
    push_here(q, 0, 3);
    PEER_OK(NULL, "queue-pop-seq", name, "q", es, "0", "3");
    push_here(q, 3, 6);
    PEER_OK(NULL, "queue-pop-seq", name, "q", es, "3", "3");
    PEER_OK(NULL, "queue-push-seq", name, "q", es, "6", "4");
    ZT_ERR(zipc_queue_try_push(q, (uint8_t[ES]){0}), -EAGAIN); /* full: 4 of 4 */
    pop_here(q, 6, 10);
    ZT_ERR(zipc_queue_try_pop(q, (uint8_t[ES]){0}), -EAGAIN);
    static char out[PEER_OUT];
    PEER_OK(out, "dump", name, "q=queue");
    /* 2^32 - 3 + 10 = 7; each slot's seq = the counter that will next use it. */
    ZT_ASSERT(strstr(dump_line(out, "q"), "\"head\":7,"));
    ZT_ASSERT(strstr(dump_line(out, "q"), "\"tail\":7}"));
    ZT_ASSERT(strstr(dump_line(out, "q"), "\"seq\":[8,9,10,7]"));
    zipc_queue_close(q);
    zipc_segment_close(seg);
}

/* ---- the same operations here and in the peer give the same bytes ------------------- */

ZTEST(interop_odd_sizes_padding_and_rounding_give_the_peers_bytes_exactly, ZT_FAST)
{
    need_peer();
    char ours[128], theirs[128];
    copy_name(ours, "ours");
    copy_name(theirs, "theirs");
    /* 3-byte elements: cap*es is never a multiple of 8 (align8 padding before
     * seq[]/state[]); queue capacity 3 rounds to 4; 13-byte array leaves
     * next_offset unaligned; a table of 8 entries. */
    zipc_segment *seg;
    zipc_array *a;
    zipc_queue *q;
    zipc_stack *s;
    ZT_OK(zipc_segment_create(ours, 1 << 16, 8, &seg));
    ZT_OK(zipc_array_create(seg, "a3", 3, 5, &a));
    ZT_OK(zipc_array_set(a, 1, "\x01\x02\x03"));
    ZT_OK(zipc_array_set(a, 4, "\xfd\xfe\xff"));
    ZT_OK(zipc_queue_create_ex(seg, "q3", 3, 3, ZIPC_QUEUE_NO_AUX, &q));
    ZT_EQ(zipc_queue_capacity(q), 4);
    ZT_OK(zipc_queue_try_push(q, "abc"));
    ZT_OK(zipc_queue_try_push(q, "def"));
    ZT_OK(zipc_queue_try_push(q, "ghi"));
    ZT_OK(zipc_queue_try_pop(q, (char[3]){0}));
    ZT_OK(zipc_stack_create_ex(seg, "s3", 3, 5, ZIPC_STACK_NO_AUX, &s));
    ZT_OK(zipc_stack_try_push(s, "xyz"));
    ZT_OK(zipc_stack_try_push(s, "XYZ"));
    zipc_array_close(a);
    zipc_queue_close(q);
    zipc_stack_close(s);
    zipc_segment_close(seg);

    PEER_OK(NULL, "create", theirs, "65536", "8", "+", "array-create", theirs, "a3", "3", "5",
            "x:000000", "x:010203", "x:000000", "x:000000", "x:fdfeff", "+", "queue-create", theirs, "q3", "3", "3",
            "+", "queue-push", theirs, "q3", "3", "x:616263", "x:646566", "x:676869", "+",
            "queue-pop", theirs, "q3", "3", "1", "+", "stack-create", theirs, "s3", "3", "5",
            "+", "stack-push", theirs, "s3", "3", "x:78797a", "x:58595a");
    static char out[PEER_OUT];
    PEER_OK(out, "compare", ours, theirs);
    EXPECT_STR(out, "{\"bytes\":65536,\"equal\":true}\n");
    PEER_OK(out, "dump", ours, "a3=array:3");
    EXPECT_STR(dump_line(out, "q3"),
               "{\"capacity\":4,\"elem_size\":3,\"entry\":1,\"head\":1,"
               "\"items\":[\"646566\",\"676869\"],\"kind\":\"queue\",\"name\":\"q3\","
               "\"offset\":440,\"seq\":[4,2,3,3],\"size\":48,"
               "\"slots\":[\"616263\",\"646566\",\"676869\",\"000000\"],\"tail\":3}");
}

/* ---- no room for our extension entries --------------------------------------------- */

ZTEST(interop_peer_segment_without_room_for_extension_entries_is_still_usable, ZT_FAST)
{
    need_peer();
    char full[128], tight[128];
    copy_name(full, "full");
    copy_name(tight, "tight");
    /* A table of 3 entries, all used; and a segment whose bytes end 132
     * bytes after the queue (too small for q_own's 1032 bytes). */
    PEER_OK(NULL, "create", full, "4096", "3", "+", "queue-create", full, "q", "8", "4", "+",
            "stack-create", full, "s", "4", "4", "+", "array-create", full, "a", "8", "1", "+",
            "queue-push", full, "q", "8", "5", "+", "stack-push", full, "s", "4", "6", "+",
            "create", tight, "3300", "64", "+", "queue-create", tight, "q", "8", "4", "+",
            "queue-push", tight, "q", "8", "7");
    const char *names[] = {full, tight};
    for (int i = 0; i < 2; i++) {
        zipc_segment *seg;
        zipc_queue *q;
        int64_t v;
        ZT_OK(zipc_segment_open(names[i], &seg));
        ZT_OK(zipc_queue_open(seg, "q", 8, &q));
        ZT_OK(zipc_queue_pop(q, &v, 5 * SEC));
        ZT_EQ(v, i == 0 ? 5 : 7);
        int64_t t0 = zt_now_ns();
        ZT_ERR(zipc_queue_pop(q, &v, 30 * MS), -ETIMEDOUT);
        ZT_ASSERT(zt_now_ns() - t0 >= 30 * MS);
        if (i == 0) {
            zipc_stack *s;
            int32_t w;
            ZT_OK(zipc_stack_open(seg, "s", 4, &s));
            ZT_OK(zipc_stack_pop(s, &w, 5 * SEC));
            ZT_EQ(w, 6);
            zipc_stack_close(s);
        }
        /* The peer still reads it, and what it pushes reaches us. */
        PEER_OK(NULL, "dump", names[i], "+", "queue-push", names[i], "q", "8", "9");
        ZT_OK(zipc_queue_pop(q, &v, 5 * SEC));
        ZT_EQ(v, 9);
        zipc_queue_close(q);
        zipc_segment_close(seg);
    }
}

/* ---- Map and Set (FORMAT.md section 3: layout, hash, probing) -------------------------- */

static const int32_t map_keys[] = {1, 42, -1, 8, 15, -100, 7, INT32_MAX, INT32_MIN, 13, 26};
#define MAP_KEYS (sizeof(map_keys) / sizeof(map_keys[0]))
static const int64_t md_keys[] = {7, -3, 1000000000000LL, 5};
static const double md_vals[] = {1.5, -2.25, 3e10, 0.5};
static const int32_t set_vals[] = {3, -4, 100};
static const double setd_vals[] = {1.5, -2.5};

static const zipc_map_options float_keys = {.flags = ZIPC_MAP_KIND_SET,
                                            .key_kind = ZIPC_KEY_FLOAT};

/* The maps and sets both sides build, in this order: m32 (i32 -> i32, 13
 * slots; every key's value is key * 10, 42 updated to 421 afterwards), md
 * (i64 -> f64, 8 slots), st (Set<i32>, 11 slots), sd (Set<f64>, 7 slots). */
static void peer_builds_maps(const char *name)
{
    PEER_OK(NULL, "create", name, "65536", "+", "map-create", name, "m32", "i32", "i32", "13",
            "+", "map-put", name, "m32", "i32", "i32", "1=10", "42=420", "-1=-10", "8=80",
            "15=150", "-100=-1000", "7=70", "2147483647=-10", "-2147483648=0", "13=130",
            "26=260", "+", "map-put", name, "m32", "i32", "i32", "42=421", "+", "map-create",
            name, "md", "i64", "f64", "8", "+", "map-put", name, "md", "i64", "f64", "7=1.5",
            "-3=-2.25", "1000000000000=3e10", "5=0.5", "+", "set-create", name, "st", "i32", "11",
            "+", "set-add", name, "st", "i32", "3", "-4", "100", "3", "+", "set-create", name,
            "sd", "f64", "7", "+", "set-add", name, "sd", "f64", "1.5", "-2.5");
}

static int32_t m32_value(int32_t key)
{
    return key == 42 ? 421 : (int32_t)((uint32_t)key * 10u);
}

static void we_build_maps(zipc_segment *seg)
{
    zipc_map *m, *md;
    zipc_set *st, *sd;
    bool added;
    ZT_OK(zipc_map_create(seg, "m32", 4, 4, 13, NULL, &m));
    for (size_t i = 0; i < MAP_KEYS; i++) {
        int32_t v = map_keys[i] == 42 ? 420 : m32_value(map_keys[i]);
        ZT_OK(zipc_map_insert(m, &map_keys[i], &v, &added));
        ZT_ASSERT(added);
    }
    ZT_OK(zipc_map_insert(m, &(int32_t){42}, &(int32_t){421}, &added));
    ZT_ASSERT(!added);
    ZT_OK(zipc_map_create(seg, "md", 8, 8, 8, NULL, &md));
    for (size_t i = 0; i < 4; i++)
        ZT_OK(zipc_map_insert(md, &md_keys[i], &md_vals[i], NULL));
    ZT_OK(zipc_set_create(seg, "st", 4, 11, NULL, &st));
    for (size_t i = 0; i < 3; i++)
        ZT_OK(zipc_set_insert(st, &set_vals[i], NULL));
    ZT_OK(zipc_set_insert(st, &set_vals[0], &added));
    ZT_ASSERT(!added);
    ZT_OK(zipc_set_create(seg, "sd", 8, 7, &float_keys, &sd));
    for (size_t i = 0; i < 2; i++)
        ZT_OK(zipc_set_insert(sd, &setd_vals[i], NULL));
    zipc_map_close(m);
    zipc_map_close(md);
    zipc_set_close(st);
    zipc_set_close(sd);
}

ZTEST(interop_maps_and_sets_written_by_the_reference_peer_are_read_and_extended_here, ZT_FAST)
{
    need_peer();
    char name[128];
    copy_name(name, "maps");
    peer_builds_maps(name);
    zipc_segment *seg;
    zipc_map *m, *md;
    zipc_set *st, *sd;
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_OK(zipc_map_open(seg, "m32", 4, 4, NULL, &m));
    ZT_EQ(zipc_map_size(m), MAP_KEYS);
    ZT_EQ(zipc_map_capacity(m), 13);
    for (size_t i = 0; i < MAP_KEYS; i++) {
        int32_t v;
        ZT_OK(zipc_map_get(m, &map_keys[i], &v));
        ZT_EQ(v, m32_value(map_keys[i]));
    }
    ZT_ERR(zipc_map_get(m, &(int32_t){2}, NULL), -ENOENT);
    uint64_t cursor = 0, seen = 0;
    int32_t k, v;
    while (zipc_map_next(m, &cursor, &k, &v) == 0) {
        ZT_EQ(v, m32_value(k));
        seen++;
    }
    ZT_EQ(seen, MAP_KEYS);

    ZT_OK(zipc_map_open(seg, "md", 8, 8, NULL, &md));
    for (size_t i = 0; i < 4; i++) {
        double d;
        ZT_OK(zipc_map_get(md, &md_keys[i], &d));
        ZT_ASSERT(d == md_vals[i]);
    }
    ZT_OK(zipc_set_open(seg, "st", 4, NULL, &st));
    ZT_OK(zipc_set_open(seg, "sd", 8, &float_keys, &sd));
    ZT_EQ(zipc_set_size(st), 3);
    bool present;
    for (size_t i = 0; i < 3; i++) {
        ZT_OK(zipc_set_contains(st, &set_vals[i], &present));
        ZT_ASSERT(present);
    }
    for (size_t i = 0; i < 2; i++) {
        ZT_OK(zipc_set_contains(sd, &setd_vals[i], &present));
        ZT_ASSERT(present);
    }
    ZT_OK(zipc_set_contains(sd, &(double){2.5}, &present));
    ZT_ASSERT(!present);

    /* What we add lands where the peer's probing finds it (our opens added
     * the "_own" entries, which the peer ignores). */
    ZT_OK(zipc_map_insert(m, &(int32_t){2}, &(int32_t){20}, NULL));
    ZT_OK(zipc_map_insert(md, &(int64_t){-1}, &(double){-0.125}, NULL));
    ZT_OK(zipc_set_insert(st, &(int32_t){-5}, NULL));
    ZT_OK(zipc_set_insert(sd, &(double){100.25}, NULL));
    static char out[PEER_OUT];
    PEER_OK(out, "map-get", name, "m32", "i32", "i32", "1", "2", "42", "-100", "2147483647",
            "-2147483648", "26", "3", "+", "map-get", name, "md", "i64", "f64", "-1", "7",
            "1000000000000");
    EXPECT_STR(out, "{\"-100\":-1000,\"-2147483648\":0,\"1\":10,\"2\":20,\"2147483647\":-10,"
                    "\"26\":260,\"3\":null,\"42\":421}\n"
                    "{\"-1\":-0.125,\"1000000000000\":30000000000.0,\"7\":1.5}\n");
    PEER_OK(out, "set-dump", name, "sd", "f64");
    ZT_ASSERT(strstr(out, "\"count\":3"));
    ZT_ASSERT(strstr(out, "1.5") && strstr(out, "-2.5") && strstr(out, "100.25"));
    PEER_OK(out, "set-add", name, "st", "i32", "-5", "+", "set-dump", name, "st", "i32");
    ZT_ASSERT(strstr(out, "\"count\":4"));       /* -5 was found, not added twice */
    zipc_map_close(m);
    zipc_map_close(md);
    zipc_set_close(st);
    zipc_set_close(sd);
    zipc_segment_close(seg);
}

ZTEST(interop_maps_and_sets_written_here_equal_the_reference_peers_bytes, ZT_FAST)
{
    need_peer();
    char ours[128], theirs[128];
    copy_name(ours, "ours");
    copy_name(theirs, "theirs");
    zipc_segment *seg;
    ZT_OK(zipc_segment_create(ours, 65536, 0, &seg));
    we_build_maps(seg);
    zipc_segment_close(seg);
    peer_builds_maps(theirs);
    /* Same operations, same order: each structure's bytes are identical
     * (home slots, probing, layout, size word); only the offsets differ,
     * by our "_own" entries. */
    static char out[PEER_OUT];
    const char *entries[] = {"m32", "md", "st", "sd"};
    const char *sizes[] = {"{\"bytes\":172,", "{\"bytes\":208,", "{\"bytes\":104,",
                           "{\"bytes\":128,"};
    for (int i = 0; i < 4; i++) {
        PEER_OK(out, "compare", ours, theirs, entries[i]);
        ZT_ASSERT(strncmp(out, sizes[i], strlen(sizes[i])) == 0);
    }
    PEER_OK(out, "map-get", ours, "m32", "i32", "i32", "-1", "8", "13", "15", "7", "5");
    EXPECT_STR(out, "{\"-1\":-10,\"13\":130,\"15\":150,\"5\":null,\"7\":70,\"8\":80}\n");
}

ZTEST(interop_peer_map_in_a_full_table_is_readable_through_a_readonly_open, ZT_FAST)
{
    need_peer();
    char name[128];
    copy_name(name, "mapfull");
    /* One table entry, used by the map: no room for "m_own". A read-write
     * open needs that entry (docs/maps.md); a read-only one does not. */
    PEER_OK(NULL, "create", name, "8192", "1", "+", "map-create", name, "m", "i32", "i32", "5",
            "+", "map-put", name, "m", "i32", "i32", "3=4", "-8=9");
    zipc_segment *seg;
    zipc_map *m;
    int32_t v;
    ZT_OK(zipc_segment_open_ex(name, ZIPC_SEGMENT_READONLY, &seg));
    ZT_OK(zipc_map_open(seg, "m", 4, 4, NULL, &m));
    ZT_OK(zipc_map_get(m, &(int32_t){3}, &v));
    ZT_EQ(v, 4);
    ZT_OK(zipc_map_get(m, &(int32_t){-8}, &v));
    ZT_EQ(v, 9);
    ZT_EQ(zipc_map_size(m), 2);
    zipc_map_close(m);
    zipc_segment_close(seg);
}

/* ---- Ring and Pool ---------------------------------------------------------------------- */

ZTEST(interop_ring_and_pool_operations_here_equal_the_reference_peers_bytes, ZT_FAST)
{
    need_peer();
    char ours[128], theirs[128];
    copy_name(ours, "ours");
    copy_name(theirs, "theirs");
    zipc_segment *seg;
    zipc_ring *r;
    zipc_pool *p;
    ZT_OK(zipc_segment_create(ours, 65536, 0, &seg));
    ZT_OK(zipc_ring_create(seg, "r", 8, 5, &r));
    int64_t v;
    for (int64_t x = 1; x <= 3; x++)
        ZT_OK(zipc_ring_write(r, &x));
    for (int64_t want = 1; want <= 2; want++) {
        ZT_OK(zipc_ring_read(r, &v));
        ZT_EQ(v, want);
    }
    for (int64_t x = 4; x <= 7; x++) /* the write position passes the end */
        ZT_OK(zipc_ring_write(r, &x));
    ZT_OK(zipc_ring_read(r, &v));
    ZT_EQ(v, 3);
    ZT_OK(zipc_pool_create(seg, "p", 8, 8, 4, &p));
    uint32_t i0, i1, i2;
    void *ptr;
    ZT_OK(zipc_pool_alloc(p, &i0, &ptr));
    memcpy(ptr, &(int64_t){11}, 8);
    ZT_OK(zipc_pool_alloc(p, &i1, &ptr));
    memcpy(ptr, &(int64_t){22}, 8);
    ZT_OK(zipc_pool_free(p, i0));
    ZT_OK(zipc_pool_alloc(p, &i2, &ptr));
    memcpy(ptr, &(int64_t){33}, 8);
    ZT_EQ(i0, 0);
    ZT_EQ(i1, 1);
    ZT_EQ(i2, 0);
    zipc_ring_close(r);
    zipc_pool_close(p);
    zipc_segment_close(seg);

    static char out[PEER_OUT];
    PEER_OK(out, "create", theirs, "65536", "+", "ring-create", theirs, "r", "8", "5", "+",
            "ring-write", theirs, "r", "8", "1", "2", "3", "+", "ring-read", theirs, "r", "8", "2",
            "+", "ring-write", theirs, "r", "8", "4", "5", "6", "7", "+", "ring-read", theirs, "r",
            "8", "1", "+", "pool-create", theirs, "p", "i64", "4", "+", "pool-alloc", theirs, "p",
            "i64", "11", "22", "+", "pool-free", theirs, "p", "i64", "0", "+", "pool-alloc",
            theirs, "p", "i64", "33");
    EXPECT_STR(out, "[1,2]\n[3]\n[0,1]\n[0]\n");
    PEER_OK(out, "compare", ours, theirs, "r");
    EXPECT_STR(out, "{\"bytes\":64,\"equal\":true}\n");
    PEER_OK(out, "compare", ours, theirs, "p");
    EXPECT_STR(out, "{\"bytes\":88,\"equal\":true}\n");
    /* The peer goes on with our ring and pool: reads what is left, takes the
     * next free object. */
    PEER_OK(out, "ring-read", ours, "r", "8", "9", "+", "pool-alloc", ours, "p", "i64", "44",
            "+", "pool-dump", ours, "p", "i64");
    EXPECT_STR(out, "[4,5,6,7]\n[2]\n{\"allocated\":3,\"capacity\":4,\"elem_size\":8,"
                    "\"free\":[3],\"generation\":5,\"head\":3,\"node_size\":16}\n");
}

ZTEST(interop_ring_and_pool_written_by_the_reference_peer_are_used_here, ZT_FAST)
{
    need_peer();
    char name[128];
    copy_name(name, "ringpool");
    static char out[PEER_OUT];
    PEER_OK(out, "create", name, "65536", "+", "ring-create", name, "r", "4", "3", "+",
            "ring-write", name, "r", "4", "-1", "-2", "+", "ring-read", name, "r", "4", "1", "+",
            "ring-write", name, "r", "4", "-3", "-4", "+", "pool-create", name, "p", "f64", "3",
            "+", "pool-alloc", name, "p", "f64", "x:000000000000f83f", "x:0000000000000440");
    EXPECT_STR(out, "[-1]\n[0,1]\n");
    zipc_segment *seg;
    zipc_ring *r;
    zipc_pool *p;
    ZT_OK(zipc_segment_open(name, &seg));
    ZT_OK(zipc_ring_open(seg, "r", 4, &r));
    ZT_EQ(zipc_ring_available(r), 3);
    int32_t v;
    for (int32_t want = -2; want >= -4; want--) { /* -3 and -4 wrapped around the end */
        ZT_OK(zipc_ring_read(r, &v));
        ZT_EQ(v, want);
    }
    ZT_ERR(zipc_ring_read(r, &v), -EAGAIN);
    ZT_OK(zipc_ring_write(r, &(int32_t){-5}));
    ZT_OK(zipc_pool_open(seg, "p", 8, 8, &p));
    ZT_EQ(zipc_pool_allocated(p), 2);
    ZT_ASSERT(*(double *)zipc_pool_at(p, 0) == 1.5);
    ZT_ASSERT(*(double *)zipc_pool_at(p, 1) == 2.5);
    uint32_t idx;
    ZT_OK(zipc_pool_alloc(p, &idx, NULL));
    ZT_EQ(idx, 2);
    ZT_ERR(zipc_pool_alloc(p, &idx, NULL), -EAGAIN);
    ZT_OK(zipc_pool_free(p, 1)); /* allocated by the peer: accepted once */
    PEER_OK(out, "ring-read", name, "r", "4", "5", "+", "pool-dump", name, "p", "f64");
    EXPECT_STR(out, "[-5]\n{\"allocated\":2,\"capacity\":3,\"elem_size\":8,\"free\":[1],"
                    "\"generation\":4,\"head\":1,\"node_size\":16}\n");
    zipc_ring_close(r);
    zipc_pool_close(p);
    zipc_segment_close(seg);
}
