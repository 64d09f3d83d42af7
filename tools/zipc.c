/* zipc: inspect and manage ZeroIPC segments from the shell.
 *
 *   zipc ls                          segments in /dev/shm that open as ZeroIPC segments
 *   zipc info NAME                   header and table of NAME
 *   zipc create NAME SIZE [MAX]      create a segment (SIZE accepts k/m/g suffixes)
 *   zipc rm NAME                     unlink a segment
 *   zipc hexdump NAME ENTRY          the bytes of one entry
 *   zipc array NAME ENTRY ELEMSIZE   print an Array's elements as integers (4 or 8 bytes)
 *   zipc queue-check NAME ENTRY ELEMSIZE   report wedged queue slots (read-only)
 *
 * Exit status: 0 success, 1 failure (the error is printed), 2 usage. Only the
 * public API is used, so what it prints is exactly what the library sees. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zeroipc/zeroipc.h>

static int usage(void)
{
    fprintf(stderr,
            "usage: zipc ls | info NAME | create NAME SIZE [MAX_ENTRIES] | rm NAME |\n"
            "            hexdump NAME ENTRY | array NAME ENTRY ELEMSIZE |\n"
            "            queue-check NAME ENTRY ELEMSIZE\n");
    return 2;
}

static int fail(const char *what, const char *name, int err)
{
    fprintf(stderr, "zipc: %s %s: %s\n", what, name, zipc_strerror(err));
    return 1;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    uint64_t mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1ULL << 10; end++; break;
    case 'm': case 'M': mult = 1ULL << 20; end++; break;
    case 'g': case 'G': mult = 1ULL << 30; end++; break;
    default: break;
    }
    if (end == s || *end != '\0' || v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

static int open_ro(const char *name, zipc_segment **seg)
{
    int r = zipc_segment_open_ex(name, ZIPC_SEGMENT_READONLY, seg);
    return r ? fail("open", name, r) : 0;
}

static int cmd_ls(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d) {
        perror("zipc: /dev/shm");
        return 1;
    }
    printf("%-40s %12s %9s %12s\n", "NAME", "SIZE", "ENTRIES", "FREE");
    for (struct dirent *e; (e = readdir(d));) {
        zipc_segment *seg;
        if (e->d_name[0] == '.' || zipc_segment_open_ex(e->d_name, ZIPC_SEGMENT_READONLY, &seg))
            continue;
        printf("/%-39s %12llu %4u/%-4u %12llu\n", e->d_name,
               (unsigned long long)zipc_segment_size(seg), zipc_segment_entry_count(seg),
               zipc_segment_max_entries(seg), (unsigned long long)zipc_segment_bytes_free(seg));
        zipc_segment_close(seg);
    }
    closedir(d);
    return 0;
}

static int cmd_info(const char *name)
{
    zipc_segment *seg;
    if (open_ro(name, &seg))
        return 1;
    uint32_t n = zipc_segment_entry_count(seg);
    printf("segment %s\n  size %llu bytes, %llu used, %llu free\n  entries %u of %u\n",
           zipc_segment_name(seg), (unsigned long long)zipc_segment_size(seg),
           (unsigned long long)zipc_segment_bytes_used(seg),
           (unsigned long long)zipc_segment_bytes_free(seg), n, zipc_segment_max_entries(seg));
    int status = 0;
    for (uint32_t i = 0; i < n; i++) {
        zipc_entry_info info;
        int r = zipc_segment_entry_at(seg, i, &info);
        if (r) {
            fprintf(stderr, "zipc: entry %u: %s\n", i, zipc_strerror(r));
            status = 1;
            continue;
        }
        printf("  %3u  %-31s  offset %#10llx  size %llu\n", i, info.name,
               (unsigned long long)info.offset, (unsigned long long)info.size);
    }
    zipc_segment_close(seg);
    return status;
}

static int cmd_create(const char *name, const char *size_s, const char *max_s)
{
    uint64_t size, max = 0;
    if (parse_size(size_s, &size) || (max_s && (parse_size(max_s, &max) || max > UINT32_MAX)))
        return usage();
    zipc_segment *seg;
    int r = zipc_segment_create(name, size, (uint32_t)max, &seg);
    if (r)
        return fail("create", name, r);
    printf("created %s: %llu bytes, %u entries\n", zipc_segment_name(seg),
           (unsigned long long)zipc_segment_size(seg), zipc_segment_max_entries(seg));
    zipc_segment_close(seg);
    return 0;
}

static int cmd_hexdump(const char *name, const char *entry)
{
    zipc_segment *seg;
    zipc_entry_info info;
    if (open_ro(name, &seg))
        return 1;
    int r = zipc_segment_find(seg, entry, &info);
    if (r) {
        zipc_segment_close(seg);
        return fail("find", entry, r);
    }
    const uint8_t *p = (const uint8_t *)zipc_segment_base(seg) + info.offset;
    for (uint64_t i = 0; i < info.size; i += 16) {
        printf("%08llx ", (unsigned long long)(info.offset + i));
        for (uint64_t j = i; j < i + 16 && j < info.size; j++)
            printf(" %02x", p[j]);
        printf("\n");
    }
    zipc_segment_close(seg);
    return 0;
}

static int cmd_array(const char *name, const char *entry, const char *es_s)
{
    uint64_t es;
    if (parse_size(es_s, &es) || (es != 4 && es != 8))
        return usage();
    zipc_segment *seg;
    zipc_array *arr;
    if (open_ro(name, &seg))
        return 1;
    int r = zipc_array_open(seg, entry, (size_t)es, &arr);
    if (r) {
        zipc_segment_close(seg);
        return fail("open array", entry, r);
    }
    for (uint64_t i = 0; i < zipc_array_capacity(arr); i++) {
        uint32_t v32 = 0;
        uint64_t v64 = 0;
        if (es == 4)
            zipc_array_load_u32(arr, i, &v32);
        else
            zipc_array_load_u64(arr, i, &v64);
        printf("%llu\t%llu\n", (unsigned long long)i, (unsigned long long)(es == 4 ? v32 : v64));
    }
    zipc_array_close(arr);
    zipc_segment_close(seg);
    return 0;
}

static int cmd_queue_check(const char *name, const char *entry, const char *es_s)
{
    uint64_t es;
    if (parse_size(es_s, &es) || es == 0)
        return usage();
    zipc_segment *seg;
    zipc_queue *q;
    zipc_queue_report rep;
    if (open_ro(name, &seg))
        return 1;
    int r = zipc_queue_open(seg, entry, (size_t)es, &q);
    if (!r) {
        r = zipc_queue_check(q, &rep);
        zipc_queue_close(q);
    }
    zipc_segment_close(seg);
    if (r)
        return fail("queue", entry, r);
    printf("head %u tail %u size %u\nin flight: %u push, %u pop; dead owners: %u\n", rep.head,
           rep.tail, rep.tail - rep.head, rep.inflight_push, rep.inflight_pop, rep.dead_owners);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "ls") && argc == 2)
        return cmd_ls();
    if (!strcmp(cmd, "info") && argc == 3)
        return cmd_info(argv[2]);
    if (!strcmp(cmd, "create") && (argc == 4 || argc == 5))
        return cmd_create(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    if (!strcmp(cmd, "rm") && argc == 3) {
        int r = zipc_segment_unlink(argv[2]);
        return r ? fail("unlink", argv[2], r) : 0;
    }
    if (!strcmp(cmd, "hexdump") && argc == 4)
        return cmd_hexdump(argv[2], argv[3]);
    if (!strcmp(cmd, "array") && argc == 5)
        return cmd_array(argv[2], argv[3], argv[4]);
    if (!strcmp(cmd, "queue-check") && argc == 5)
        return cmd_queue_check(argv[2], argv[3], argv[4]);
    return usage();
}
