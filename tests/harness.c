/* The harness runner (see harness.h). */
#include "harness.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ZT_MAX_TESTS 1024

struct zt_test {
    const char *name, *file;
    int category, line;
    void (*fn)(void);
};

static struct zt_test tests[ZT_MAX_TESTS];
static int ntests;
static char prefix[64];        /* "zt<runner pid>-<test index>-" */
static const char *current = "";

void zt_register(const char *name, int category, void (*fn)(void), const char *file, int line)
{
    if (ntests == ZT_MAX_TESTS) {
        fprintf(stderr, "harness: too many tests\n");
        exit(2);
    }
    tests[ntests++] = (struct zt_test){name, file, category, line, fn};
}

const char *zt_test_name(void) { return current; }

const char *zt_name(const char *suffix)
{
    static __thread char bufs[8][128];
    static __thread int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "/%s%s", prefix, suffix ? suffix : "seg");
    return b;
}

void zt_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: [%s pid %d] ", file, line, current, (int)getpid());
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(NULL);
    _exit(1);
}

void zt_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("    skipped: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(NULL);
    _exit(77);
}

uint64_t zt_env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return (v && *v) ? strtoull(v, NULL, 0) : def;
}

pid_t zt_fork(void (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        zt_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0) {
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    return pid;
}

int zt_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            zt_fail(__FILE__, __LINE__, "waitpid: %s", strerror(errno));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void zt_wait_ok(pid_t pid)
{
    int st = zt_wait(pid);
    if (st != 0)
        zt_fail(__FILE__, __LINE__, "worker %d ended with status %d", (int)pid, st);
}

void zt_gate_init(zt_gate *g)
{
    if (pipe(g->fd) != 0)
        zt_fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
}

void zt_gate_wait(zt_gate *g)
{
    char c;
    close(g->fd[1]);
    while (read(g->fd[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(g->fd[0]);
}

void zt_gate_open(zt_gate *g)
{
    close(g->fd[0]);
    close(g->fd[1]);
}

uint64_t zt_checksum(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* ---- runner --------------------------------------------------------------- */

static int parse_categories(void)
{
    const char *v = getenv("ZIPC_TEST_CATEGORIES");
    if (!v || !*v)
        return ZT_FAST | ZT_MEDIUM;
    int mask = 0;
    if (strstr(v, "FAST")) mask |= ZT_FAST;
    if (strstr(v, "MEDIUM")) mask |= ZT_MEDIUM;
    if (strstr(v, "SLOW")) mask |= ZT_SLOW;
    if (strstr(v, "STRESS")) mask |= ZT_STRESS;
    if (strstr(v, "ALL")) mask = ZT_FAST | ZT_MEDIUM | ZT_SLOW | ZT_STRESS;
    return mask;
}

static bool selected(const char *name, const char *filter)
{
    if (!filter || !*filter)
        return true;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", filter);
    for (char *save, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
        if (strstr(name, w))
            return true;
    return false;
}

static int timeout_for(int category)
{
    int base = category == ZT_FAST ? 30 : category == ZT_MEDIUM ? 120 : category == ZT_SLOW ? 300 : 900;
    return (int)(base * zt_env_u64("ZIPC_TEST_TIMEOUT_SCALE", 1));
}

/* Remove every /dev/shm object the test left under its prefix. */
static void cleanup_names(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            char n[300];
            snprintf(n, sizeof(n), "/%s", e->d_name);
            zipc_segment_unlink(n);
        }
    }
    closedir(d);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run test I in a child; returns 0 pass, 1 fail, 77 skip. */
static int run_one(int i)
{
    struct zt_test *t = &tests[i];
    snprintf(prefix, sizeof(prefix), "zt%d-%d-", (int)getpid(), i);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    fflush(NULL);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        current = t->name;
        t->fn();
        fflush(NULL);
        _exit(0);
    }
    setpgid(pid, pid);
    int limit = timeout_for(t->category), st = 0;
    bool timed_out = false;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        double left = limit * 1e3 - (now_ms() - t0);
        if (left <= 0) {
            timed_out = true;
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        struct timespec ts = {.tv_sec = (time_t)(left / 1e3), .tv_nsec = 0};
        if (ts.tv_sec > 1 || left < 0)
            ts.tv_sec = 1; /* re-check at least every second (SIGCHLD of grandchildren) */
        if (ts.tv_sec == 0)
            ts.tv_nsec = (long)(left * 1e6);
        sigtimedwait(&set, NULL, &ts);
    }
    kill(-pid, SIGKILL); /* stray workers of the test */
    while (waitpid(-pid, NULL, WNOHANG) > 0)
        ;
    cleanup_names();
    double ms = now_ms() - t0;
    if (timed_out) {
        printf("FAIL %s: timed out after %d s\n", t->name, limit);
        return 1;
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code == 0)
        printf("PASS %s (%.0f ms)\n", t->name, ms);
    else if (code == 77)
        printf("SKIP %s\n", t->name);
    else if (WIFSIGNALED(st))
        printf("FAIL %s: killed by signal %d\n", t->name, WTERMSIG(st));
    else
        printf("FAIL %s: exit status %d\n", t->name, code);
    fflush(stdout);
    return code == 0 ? 0 : code == 77 ? 77 : 1;
}

static int cmp_test(const void *a, const void *b)
{
    const struct zt_test *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : x->line - y->line;
}

int main(int argc, char **argv)
{
    qsort(tests, ntests, sizeof(tests[0]), cmp_test);
    int mask = parse_categories();
    const char *filter = argc > 1 ? argv[1] : getenv("ZIPC_TEST_FILTER");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        if (!(tests[i].category & mask) || !selected(tests[i].name, filter))
            continue;
        int r = run_one(i);
        if (r == 0)
            passed++;
        else if (r == 77)
            skipped++;
        else
            failed++;
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}

char zt_stat_state(const char *path)
{
    char buf[512];
    FILE *f = fopen(path, "r");
    ZT_ASSERT(f != NULL);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');
    ZT_ASSERT(rp && rp[1] == ' ');
    return rp[2];
}

char zt_proc_state(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return zt_stat_state(path);
}
