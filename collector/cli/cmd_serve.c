/*
 * cmd_serve.c - `owmesh serve`: the live dashboard and Prometheus metrics
 * over the store (collector/serve, serve.h). A foreground command as the
 * daemons are: logs on stderr, runs until SIGINT or SIGTERM, then exits 0.
 * Read-only and on loopback unless told otherwise (--allow-remote).
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "analyst.h"
#include "cli.h"
#include "serve.h"

enum {
    OPT_LISTEN = OWMESH_OPT_FIRST_FREE, OPT_ALLOW_REMOTE, OPT_REFRESH, OPT_WINDOW, OPT_AUTH,
    OPT_TLS_CERT, OPT_TLS_KEY, OPT_MAX_CONN, OPT_PER_IP, OPT_TIMEOUT, OPT_VERSION, OPT_COORD_TIMEOUT
};

static void usage(FILE *fp)
{
    fputs("usage: owmesh serve --mesh FILE [--store DIR|URL] [--listen ADDR:PORT]\n"
          "                    [--allow-remote]\n"
          "                    [--refresh DUR] [--metrics-window DUR] [--now TIME]\n"
          "                    [--auth FILE] [--tls-cert FILE --tls-key FILE]\n"
          "                    [--max-connections N] [--per-ip N] [--timeout SECONDS] [-v]\n"
          "                    [-c ENDPOINT -k CERT [-s KEY] [--coordinator-timeout SECONDS]]\n"
          "  a read-only dashboard and /metrics on the store; default listen "
          SERVE_DEFAULT_LISTEN "\n"
          "  --allow-remote     bind a non-loopback address (use --auth and TLS there)\n"
          "  --refresh DUR      how often the pages refresh (default: one session length)\n"
          "  --metrics-window DUR  the window of /metrics' per-path figures (default 5m)\n"
          "  --auth FILE        HTTP basic auth: user:password lines, mode 600\n"
          "  --tls-cert, --tls-key  PEM files: serve HTTPS\n"
          "  --max-connections N (64), --per-ip N (16), --timeout SECONDS (30): limits\n"
          "  -v, --verbose      log every request on stderr\n"
          "  -c, -k, -s         the coordinator, as owmesh status takes them: serve its view\n"
          "                     at /status and /api/status (default $OWMESH_COORDINATOR,\n"
          "                     $OWMESH_CERT; without a certificate /api/status is refused)\n"
          "runs until SIGINT or SIGTERM, then exits 0; see owmesh(1)\n",
          fp);
}

static int parse_count(const char *text, const char *opt, unsigned max, unsigned *v)
{
    char *end;
    unsigned long n = strtoul(text, &end, 10);
    if (!*text || *end || n == 0 || n > max) {
        owmesh_error("%s: expected a whole number from 1 to %u, got \"%s\"", opt, max, text);
        return -1;
    }
    *v = (unsigned)n;
    return 0;
}

static int parse_dur(const char *text, const char *opt, uint64_t *v)
{
    owp_err err = {0};
    if (owmesh_parse_duration(text, v, &err) != OWP_OK || *v > 86400 * 30) {
        owmesh_error("%s: %s", opt, err.code ? err.msg : "at most 30 days");
        return -1;
    }
    return 0;
}

typedef struct serve_opts {
    owmesh_common common;
    serve_app_opts app;
    serve_http_opts http;
} serve_opts;

/* 0: serve; 1: answered (--help, --version); -1: bad command line. */
static int parse_args(int argc, char **argv, serve_opts *o)
{
    static const struct option longopts[] = {
        OWMESH_COMMON_LONGOPTS,
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
        {"refresh", required_argument, NULL, OPT_REFRESH},
        {"metrics-window", required_argument, NULL, OPT_WINDOW},
        {"auth", required_argument, NULL, OPT_AUTH},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"per-ip", required_argument, NULL, OPT_PER_IP},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"coordinator", required_argument, NULL, 'c'},
        {"cert", required_argument, NULL, 'k'},
        {"server-key", required_argument, NULL, 's'},
        {"coordinator-timeout", required_argument, NULL, OPT_COORD_TIMEOUT},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    uint64_t d;
    int c;
    optind = 1;
    unsigned coord_timeout;
    while ((c = getopt_long(argc, argv, "c:k:s:vh", longopts, NULL)) != -1) {
        if (owmesh_common_opt(&o->common, c, optarg))
            continue;
        switch (c) {
        case OPT_LISTEN: o->http.listen = optarg; break;
        case OPT_ALLOW_REMOTE: o->http.allow_remote = 1; break;
        case OPT_REFRESH:
            if (parse_dur(optarg, "--refresh", &d))
                return -1;
            o->app.refresh_s = (unsigned)d;
            break;
        case OPT_WINDOW:
            if (parse_dur(optarg, "--metrics-window", &o->app.metrics_window_s))
                return -1;
            break;
        case OPT_AUTH: o->http.auth_file = optarg; break;
        case OPT_TLS_CERT: o->http.tls_cert = optarg; break;
        case OPT_TLS_KEY: o->http.tls_key = optarg; break;
        case OPT_MAX_CONN:
            if (parse_count(optarg, "--max-connections", 4096, &o->http.max_connections))
                return -1;
            break;
        case OPT_PER_IP:
            if (parse_count(optarg, "--per-ip", 4096, &o->http.per_ip))
                return -1;
            break;
        case OPT_TIMEOUT:
            if (parse_count(optarg, "--timeout", 3600, &o->http.timeout_s))
                return -1;
            break;
        case 'v': o->http.verbose = 1; break;
        case 'c': o->app.status.endpoint = optarg; break;
        case 'k': o->app.status.cert = optarg; break;
        case 's': o->app.status.server_key = optarg; break;
        case OPT_COORD_TIMEOUT:
            if (parse_count(optarg, "--coordinator-timeout", 3600, &coord_timeout))
                return -1;
            o->app.status.timeout_ms = (int)coord_timeout * 1000;
            break;
        case OPT_VERSION: printf("owmesh serve %s\n", PACKAGE_VERSION); return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc || o->common.src || o->common.dst || o->common.node || o->common.group ||
        o->common.since || o->common.from || o->common.to) {
        owmesh_error("serve: no selection, period or argument (the pages choose them)");
        usage(stderr);
        return -1;
    }
    return 0;
}

int owmesh_cmd_serve(int argc, char **argv)
{
    serve_opts o = {0};
    owmesh_common_init(&o.common);
    serve_http_opts_default(&o.http);
    o.app.metrics_window_s = 300;
    /* The coordinator as owmesh status finds it. */
    const char *env = getenv("OWMESH_COORDINATOR");
    o.app.status.endpoint = env && *env ? env : OWMESH_DEFAULT_COORDINATOR;
    env = getenv("OWMESH_CERT");
    o.app.status.cert = env && *env ? env : NULL;
    o.app.status.timeout_ms = OWMESH_DEFAULT_TIMEOUT_MS;
    int p = parse_args(argc, argv, &o);
    if (p)
        return p > 0 ? 0 : 1;
    o.app.mesh_path = o.common.mesh_path;
    o.app.store = o.common.store_dir;
    o.app.now = o.common.now;
    owp_err err = {0};
    if (o.app.now) { /* a bad --now is named now, not on every request */
        owp_num64 now, from, to;
        if (owmesh_common_period(&o.common, 60, &now, &from, &to, &err) != OWP_OK) {
            owmesh_error("%s", err.msg);
            return 1;
        }
    }
    /* The server's thread inherits the mask: signals come to sigwait below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    serve_app *app = serve_app_new(&o.app, &err);
    serve_http *http = app ? serve_http_start(app, &o.http, &err) : NULL;
    if (!http) {
        owmesh_error("serve: %s", err.msg);
        serve_app_destroy(&app);
        return 1;
    }
    char shown[512];
    store_location_shown(o.common.store_dir, shown, sizeof shown);
    struct sockaddr_storage sa;
    socklen_t salen;
    int loopback;
    serve_listen_parse(o.http.listen, &sa, &salen, &loopback, &err);
    char host[128];
    snprintf(host, sizeof host, "%s", o.http.listen);
    char *colon = strrchr(host, ':');
    if (colon && strchr(o.http.listen, ':'))
        *colon = '\0';
    else
        snprintf(host, sizeof host, "127.0.0.1");
    fprintf(stderr, "owmesh serve: serving %s://%s:%u/ (store %s, refresh %u s)\n",
            o.http.tls_cert ? "https" : "http", host, serve_http_port(http), shown,
            serve_app_refresh(app));
    fflush(stderr);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "owmesh serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    serve_http_stop(&http);
    serve_app_destroy(&app);
    return 0;
}
