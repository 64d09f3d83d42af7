/* The zipc command-line tool, run as a user would. */
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"

/* Run "zipc ARGS", capture stdout into OUT; returns the exit status. */
static int run_zipc(const char *args, char *out, size_t outsz)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/zipc %s 2>/dev/null", ZIPC_TOOLS_DIR, args);
    FILE *p = popen(cmd, "r");
    ZT_ASSERT(p != NULL);
    size_t n = fread(out, 1, outsz - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

ZTEST(cli_info_lists_every_entry_of_a_segment, ZT_FAST)
{
    char out[4096], args[256];
    zipc_segment *seg;
    zipc_array *a;
    ZT_OK(zipc_segment_create(zt_name(NULL), 1 << 16, 16, &seg));
    ZT_OK(zipc_array_create(seg, "temperatures", 8, 5, &a));
    ZT_OK(zipc_array_store_u64(a, 3, 77));
    snprintf(args, sizeof(args), "info %s", zt_name(NULL));
    ZT_EQ(run_zipc(args, out, sizeof(out)), 0);
    ZT_ASSERT(strstr(out, "entries 1 of 16") != NULL);
    ZT_ASSERT(strstr(out, "temperatures") != NULL);
    ZT_ASSERT(strstr(out, "size 48") != NULL);
    snprintf(args, sizeof(args), "array %s temperatures 8", zt_name(NULL));
    ZT_EQ(run_zipc(args, out, sizeof(out)), 0);
    ZT_ASSERT(strstr(out, "3\t77\n") != NULL);
    zipc_array_close(a);
    zipc_segment_close(seg);
}

ZTEST(cli_create_and_rm_manage_a_segment_and_report_errors, ZT_FAST)
{
    char out[4096], args[256];
    snprintf(args, sizeof(args), "create %s 64k 8", zt_name(NULL));
    ZT_EQ(run_zipc(args, out, sizeof(out)), 0);
    ZT_EQ(run_zipc(args, out, sizeof(out)), 1); /* exists */
    zipc_segment *seg;
    ZT_OK(zipc_segment_open(zt_name(NULL), &seg));
    ZT_EQ(zipc_segment_size(seg), 65536);
    ZT_EQ(zipc_segment_max_entries(seg), 8);
    zipc_segment_close(seg);
    snprintf(args, sizeof(args), "rm %s", zt_name(NULL));
    ZT_EQ(run_zipc(args, out, sizeof(out)), 0);
    ZT_EQ(run_zipc(args, out, sizeof(out)), 1); /* already gone */
    ZT_EQ(run_zipc("bogus", out, sizeof(out)), 2);
}
