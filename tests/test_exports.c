/* The shared library's interface: only zipc_ functions are exported, every
 * ZIPC_API function of the public headers is, and the soname is versioned.
 * Runs nm/readelf on ZIPC_SO_PATH (the runner starts at the repository top). */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_SYMS 2048
#define HEADER_DIR "include/zeroipc"

struct symset {
    char *names[MAX_SYMS];
    int n;
};

static void add_sym(struct symset *s, const char *name, size_t len)
{
    ZT_ASSERT(s->n < MAX_SYMS);
    s->names[s->n] = strndup(name, len);
    ZT_ASSERT(s->names[s->n]);
    s->n++;
}

static bool has_sym(const struct symset *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return true;
    return false;
}

/* Symbols the toolchain defines in every shared object. */
static bool linker_symbol(const char *name)
{
    static const char *const known[] = {"_init", "_fini", "_edata", "_end", "__bss_start",
                                        "_DYNAMIC", "_GLOBAL_OFFSET_TABLE_", "__dso_handle"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(name, known[i]) == 0)
            return true;
    return false;
}

/* Skip (not fail) only when the tools or the built tree are not there. */
static void need(const char *tool)
{
    if (access(ZIPC_SO_PATH, R_OK) != 0 || access(HEADER_DIR, R_OK) != 0)
        zt_skip("%s or %s not found: run the tests from the repository top", ZIPC_SO_PATH,
                HEADER_DIR);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    if (system(cmd) != 0)
        zt_skip("%s is not installed (binutils)", tool);
}

/* Exported (dynamic, defined) symbols of the library, by `nm -D --defined-only`. */
static void exported_symbols(struct symset *out)
{
    need("nm");
    FILE *p = popen("nm -D --defined-only " ZIPC_SO_PATH " 2>/dev/null", "r");
    if (!p)
        zt_skip("cannot run nm");
    char line[512];
    while (fgets(line, sizeof(line), p)) {
        char type, name[400];
        /* "<address> <type> <name>"; some versions print no address for A symbols */
        if (sscanf(line, "%*s %c %399s", &type, name) != 2 &&
            sscanf(line, "%c %399s", &type, name) != 2)
            continue;
        if (strchr(name, '@'))
            *strchr(name, '@') = '\0'; /* versioned name */
        add_sym(out, name, strlen(name));
    }
    int st = pclose(p);
    if (st != 0 || out->n == 0)
        zt_fail(__FILE__, __LINE__, "nm -D failed on %s (status %d)", ZIPC_SO_PATH, st);
}

/* Every function declared with ZIPC_API in include/zeroipc/\*.h. */
static void declared_api(struct symset *out)
{
    DIR *d = opendir(HEADER_DIR);
    ZT_ASSERT(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof(path), HEADER_DIR "/%s", e->d_name);
        FILE *f = fopen(path, "r");
        ZT_ASSERT(f);
        static char text[1 << 18];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
        for (char *q = text; (q = strstr(q, "ZIPC_API")); q += 8) {
            char *bol = q;
            while (bol > text && bol[-1] != '\n')
                bol--;
            while (*bol == ' ' || *bol == '\t')
                bol++;
            if (*bol == '#')
                continue; /* the macro's own definition */
            char *paren = strchr(q, '(');
            ZT_ASSERT(paren);
            char *end = paren;
            while (end > q && isspace((unsigned char)end[-1]))
                end--;
            char *start = end;
            while (start > q && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
                start--;
            ZT_ASSERT(end > start);
            add_sym(out, start, (size_t)(end - start));
        }
    }
    closedir(d);
}

ZTEST(exports_only_zipc_symbols_all_declared_in_public_headers, ZT_FAST)
{
    static struct symset exported, declared;
    exported_symbols(&exported);
    declared_api(&declared);
    ZT_ASSERT(declared.n > 0);
    for (int i = 0; i < exported.n; i++) {
        const char *s = exported.names[i];
        if (linker_symbol(s))
            continue;
        if (strncmp(s, "zipc_", 5) != 0 || strncmp(s, "zipc__", 6) == 0)
            zt_fail(__FILE__, __LINE__, "exported symbol %s is not public API", s);
        if (!has_sym(&declared, s))
            zt_fail(__FILE__, __LINE__, "exported %s is not declared ZIPC_API in a header", s);
    }
    for (int i = 0; i < declared.n; i++)
        if (!has_sym(&exported, declared.names[i]))
            zt_fail(__FILE__, __LINE__, "ZIPC_API %s is not exported", declared.names[i]);
    /* the names the issue fixes */
    static const char *const required[] = {
        "zipc_segment_create", "zipc_segment_open",  "zipc_segment_close",
        "zipc_segment_unlink", "zipc_array_create",  "zipc_array_open",
        "zipc_array_data",     "zipc_array_capacity", "zipc_array_close",
        "zipc_strerror"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!has_sym(&exported, required[i]))
            zt_fail(__FILE__, __LINE__, "%s is not exported", required[i]);
}

ZTEST(exports_soname_is_libzeroipc_so_0, ZT_FAST)
{
    need("readelf");
    FILE *p = popen("readelf -d " ZIPC_SO_PATH " 2>/dev/null", "r");
    if (!p)
        zt_skip("cannot run readelf");
    char line[512], soname[256] = "";
    while (fgets(line, sizeof(line), p)) {
        char *s = strstr(line, "(SONAME)");
        char *b = s ? strchr(s, '[') : NULL;
        char *e = b ? strchr(b, ']') : NULL;
        if (e)
            snprintf(soname, sizeof(soname), "%.*s", (int)(e - b - 1), b + 1);
    }
    int st = pclose(p);
    if (st != 0)
        zt_fail(__FILE__, __LINE__, "readelf -d failed on %s (status %d)", ZIPC_SO_PATH, st);
    if (strcmp(soname, "libzeroipc.so.0") != 0)
        zt_fail(__FILE__, __LINE__, "soname is \"%s\", expected libzeroipc.so.0", soname);
}
