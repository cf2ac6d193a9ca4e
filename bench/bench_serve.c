/*
 * bench_serve.c - owmesh serve's figures (issue 13): the server's time for
 * the grid JSON and for /metrics on a 100-node mesh (9 900 paths) with a
 * day of data, warm, against the 200 ms the issue allows; and, with
 * --browser, the grid page's first render in headless Chromium against 1 s.
 *
 *   bench_serve [--packets N] [--browser SERVE_BROWSER_PY]
 *
 * ($SCREENSHOT, when set, is where the browser run saves the grid's PNG.)
 *
 * The day: every path one packet every 86400/N seconds (default N = 1440,
 * one a minute: 14 million records), ingested once (not timed) into a fresh
 * LMDB store under $TMPDIR, else /dev/shm, else /tmp (the figures are read
 * times; the directory is removed at the end). Times are serve_app_handle's
 * (the request's whole server-side work: store, JSON, memory buffer),
 * median and best of REPS warm runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "synth_owp.h"

#define NODES 100
#define REPS 7
#define DAY0_UNIX 1764979200ULL /* 2025-12-06T00:00:00Z */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_serve: %s: %s\n", what, msg);
    exit(1);
}

static const char *scratch_base(void)
{
    const char *t = getenv("TMPDIR");
    if (t && *t)
        return t;
    struct stat st;
    return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
}

static void write_mesh(const char *path, unsigned packets)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        die(path, "cannot write");
    fputs("{\"nodes\": {", fp);
    for (int i = 0; i < NODES; i++)
        fprintf(fp, "%s\"n%02d\": {\"address\": \"127.0.%d.%d\"}", i ? ", " : "", i, 1 + i / 200,
                2 + i % 200);
    fputs("}, \"groups\": {\"all\": {\"type\": \"mesh\", \"nodes\": [", fp);
    for (int i = 0; i < NODES; i++)
        fprintf(fp, "%s\"n%02d\"", i ? ", " : "", i);
    fprintf(fp, "]}}, \"tests\": {\"owd\": {\"type\": \"latencybg\", \"packet-interval\": %u, "
                "\"packet-count\": 60}}, \"tasks\": {\"all-owd\": {\"group\": \"all\", "
                "\"test\": \"owd\"}}}\n", 86400 / packets);
    fclose(fp);
}

/* Every ordered pair: one session of the day's packets. */
static void fill_store(const char *dir, unsigned packets)
{
    owp_err err = {0};
    store_opts opts;
    store_opts_default(&opts);
    opts.nometasync = 1;
    store_db *st = store_open(dir, &opts, &err);
    if (!st)
        die("open", err.msg);
    owp_num64 t0 = (owp_num64)(DAY0_UNIX + OWP_NTP_UNIX_OFFSET) << 32;
    uint32_t seed = 1;
    for (int s = 0; s < NODES; s++)
        for (int d = 0; d < NODES; d++) {
            if (s == d)
                continue;
            char src[16], dst[16];
            snprintf(src, sizeof src, "n%02d", s);
            snprintf(dst, sizeof dst, "n%02d", d);
            uint32_t id;
            if (store_path_id(st, src, dst, "owd", &id, &err))
                die("path", err.msg);
            FILE *fp = synth_owp_file(packets, t0, 86400.0 / packets, seed++, 1, &err);
            if (!fp)
                die("synthetic file", err.msg);
            rewind(fp);
            if (store_ingest_file(st, src, seed, "day.owp", id, fp, NULL, &err))
                die("ingest", err.msg);
            fclose(fp);
        }
    if (store_sync(st, &err))
        die("sync", err.msg);
    store_close(&st);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void time_request(serve_app *app, const char *path, const char *query)
{
    double ms[REPS];
    size_t len = 0;
    for (int i = -1; i < REPS; i++) { /* the first run warms the caches */
        char q[256];
        snprintf(q, sizeof q, "%s", query);
        serve_params p;
        owp_err err = {0};
        if (serve_params_parse(q, &p, &err))
            die(query, err.msg);
        serve_reply r;
        double t = now_s();
        serve_app_handle(app, "GET", path, &p, &r);
        double dt = (now_s() - t) * 1e3;
        if (r.status != 200)
            die(path, r.body);
        len = r.len;
        serve_reply_free(&r);
        if (i >= 0)
            ms[i] = dt;
    }
    qsort(ms, REPS, sizeof ms[0], cmp_double);
    char what[128];
    snprintf(what, sizeof what, "%s%s%s", path, *query ? "?" : "", query);
    printf("%-40s %8.1f ms median, %8.1f ms best, %8zu bytes  (limit 200 ms: %s)\n", what,
           ms[REPS / 2], ms[0], len, ms[REPS / 2] < 200 ? "met" : "NOT met");
}

int main(int argc, char **argv)
{
    unsigned packets = 1440;
    const char *browser = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--packets") && i + 1 < argc)
            packets = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--browser") && i + 1 < argc)
            browser = argv[++i];
        else {
            fprintf(stderr, "usage: bench_serve [--packets N] [--browser SERVE_BROWSER_PY]\n");
            return 2;
        }
    }
    if (packets < 24 || packets > 86400)
        die("--packets", "from 24 to 86400");
    char dir[4096], mesh[4200], store[4200];
    snprintf(dir, sizeof dir, "%s/bench_serve.XXXXXX", scratch_base());
    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    snprintf(mesh, sizeof mesh, "%s/mesh.json", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    if (mkdir(store, 0700))
        die(store, "mkdir");
    write_mesh(mesh, packets);
    double t = now_s();
    fill_store(store, packets);
    printf("bench_serve: %d nodes, %d paths, %u packets a path over a day (%.1f M records), "
           "stored in %.1f s under %s\n", NODES, NODES * (NODES - 1), packets,
           NODES * (NODES - 1) * (double)packets / 1e6, now_s() - t, scratch_base());

    owp_err err = {0};
    serve_app_opts o = {.mesh_path = mesh, .store = store, .now = "2025-12-07T00:00:00Z",
                        .metrics_window_s = 300};
    serve_app *app = serve_app_new(&o, &err);
    if (!app)
        die("serve", err.msg);
    time_request(app, "/api/grid", "since=1d");
    time_request(app, "/api/grid", "since=1h");
    time_request(app, "/api/grid", "since=1h&stat=median");
    time_request(app, "/metrics", "");
    time_request(app, "/api/completeness", "since=1h");
    time_request(app, "/api/query", "src=n00&dst=n01&since=1d&every=5m&p=50,90,99");

    if (browser) {
        serve_http_opts ho;
        serve_http_opts_default(&ho);
        ho.listen = "127.0.0.1:0";
        serve_http *http = serve_http_start(app, &ho, &err);
        if (!http)
            die("listen", err.msg);
        char cmd[4600];
        snprintf(cmd, sizeof cmd, "python3 '%s' --first-render \"${CHROMIUM:-chromium}\" "
                 "http://127.0.0.1:%u/?since=1h ${SCREENSHOT:-}", browser,
                 serve_http_port(http));
        fflush(stdout);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_serve: the browser run failed\n");
        serve_http_stop(&http);
    }
    serve_app_destroy(&app);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_serve: could not remove %s\n", dir);
    return 0;
}
