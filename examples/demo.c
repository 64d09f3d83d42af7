/* make demo: one process creates a segment with an Array of sensor readings
 * and keeps writing sensor-like values; another process opens the segment by
 * name and prints what it sees. Each reading is one 8-byte element updated
 * with an atomic store, so the reader never sees a torn value. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zeroipc/zeroipc.h>

enum { SENSORS = 4, TICK = SENSORS }; /* elements 0..3: readings; 4: update counter */
static const char *const sensor_names[SENSORS] = {"temp_C", "pressure_kPa", "humidity_%", "flow_l/min"};

static void die(const char *what, int err)
{
    fprintf(stderr, "demo: %s: %s\n", what, zipc_strerror(err));
    exit(1);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t to_bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double from_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

static void writer(const char *name, int updates)
{
    zipc_segment *seg;
    zipc_array *arr;
    int r = zipc_segment_open(name, &seg);
    if (r) die("writer: open segment", r);
    if ((r = zipc_array_open(seg, "sensors", 8, &arr))) die("writer: open array", r);
    for (int t = 1; t <= updates; t++) {
        double x = t / 10.0;
        double v[SENSORS] = {21.0 + 2.0 * sin(x), 101.3 + 0.4 * cos(x / 2), 45.0 + 5.0 * sin(x / 3),
                             12.0 + (t % 7) * 0.25};
        for (int s = 0; s < SENSORS; s++)
            zipc_array_store_u64(arr, (uint64_t)s, to_bits(v[s]));
        zipc_array_fetch_add_u64(arr, TICK, 1, NULL); /* seq_cst: readings are visible first */
        pause_ms(10);
    }
    zipc_array_close(arr);
    zipc_segment_close(seg);
}

static void reader(const char *name, int lines)
{
    zipc_segment *seg;
    zipc_array *arr;
    int r = zipc_segment_open_ex(name, ZIPC_SEGMENT_READONLY, &seg);
    if (r) die("reader: open segment", r);
    if ((r = zipc_array_open(seg, "sensors", 8, &arr))) die("reader: open array", r);
    printf("reader pid %d opened %s read-only (%u entries, %llu bytes used)\n", (int)getpid(),
           zipc_segment_name(seg), zipc_segment_entry_count(seg),
           (unsigned long long)zipc_segment_bytes_used(seg));
    for (int l = 0; l < lines; l++) {
        uint64_t tick, bits;
        zipc_array_load_u64(arr, TICK, &tick);
        printf("update %4llu:", (unsigned long long)tick);
        for (int s = 0; s < SENSORS; s++) {
            zipc_array_load_u64(arr, (uint64_t)s, &bits);
            printf("  %s=%7.2f", sensor_names[s], from_bits(bits));
        }
        printf("\n");
        fflush(stdout);
        pause_ms(150);
    }
    zipc_array_close(arr);
    zipc_segment_close(seg);
}

int main(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/zipc-demo-%d", (int)getpid());
    zipc_segment *seg;
    zipc_array *arr;
    int r = zipc_segment_create(name, 64 * 1024, 0, &seg);
    if (r) die("create segment", r);
    if ((r = zipc_array_create(seg, "sensors", 8, SENSORS + 1, &arr))) die("create array", r);
    printf("created %s: %llu bytes, Array 'sensors' of %llu 8-byte elements\n", name,
           (unsigned long long)zipc_segment_size(seg), (unsigned long long)zipc_array_capacity(arr));
    fflush(stdout);
    pid_t w = fork();
    if (w == 0) { writer(name, 200); _exit(0); }
    pid_t rd = fork();
    if (rd == 0) { reader(name, 12); _exit(0); }
    int st1, st2;
    waitpid(w, &st1, 0);
    waitpid(rd, &st2, 0);
    zipc_array_close(arr);
    zipc_segment_close(seg);
    zipc_segment_unlink(name);
    int ok = WIFEXITED(st1) && !WEXITSTATUS(st1) && WIFEXITED(st2) && !WEXITSTATUS(st2);
    printf("%s\n", ok ? "demo finished: segment unlinked" : "demo failed");
    return ok ? 0 : 1;
}
