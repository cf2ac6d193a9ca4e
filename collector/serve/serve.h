/*
 * serve.h - `owmesh serve`: a read-only HTTP server on the store, for
 * people (the live grid, the pair pages, completeness) and for Prometheus
 * (/metrics). One concern per file:
 *   serve_route.c    the routes and the query strings: names, limits, checks
 *   serve_app.c      a request -> a reply (status, type, body), no HTTP in it:
 *                    the /api/... JSON comes from the commands' own writers
 *                    (cmd_json.h), so it is byte for byte `owmesh ... --json`
 *   serve_metrics.c  the Prometheus text exposition of the stored paths
 *   serve_auth.c     the basic-auth file (user:password lines, never readable
 *                    by others)
 *   serve_http.c     libmicrohttpd: listening, limits, TLS, auth, replies
 *   serve_types.c    the Content-Type of an asset
 *   serve_assets.c   generated at build time from www/ (serve_embed.sh): the
 *                    pages, script and style, served by the binary itself
 *
 * Threads: libmicrohttpd runs one internal thread that polls every
 * connection and calls serve_app_handle() for one request at a time, so
 * the application (one store handle, getopt-free writers) is never entered
 * twice at once. A slow client costs a connection slot until the
 * per-connection timeout, never the thread.
 */
#ifndef OWMESH_SERVE_H
#define OWMESH_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "analyst.h"
#include "cmd_json.h"
#include "error.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:8600"

/* ---- query strings (serve_route.c) ----
 * Limits: a hostile URL is refused with 400/414 before any store work. */
#define SERVE_MAX_URL 2048     /* path and query string together */
#define SERVE_MAX_PARAMS 16
#define SERVE_MAX_KEY 16
#define SERVE_MAX_VALUE 256

typedef struct serve_param {
    const char *key, *value; /* not owned: valid for the request */
} serve_param;

typedef struct serve_params {
    serve_param p[SERVE_MAX_PARAMS];
    size_t n;
} serve_params;

/* Append key=value, refusing (OWP_ERR_INVALID, naming the parameter) an
 * empty or over-long key, a key of other than [a-z0-9-], an over-long
 * value, a control character in a value, a repeated key, or one parameter
 * too many. */
owp_status serve_params_add(serve_params *p, const char *key, const char *value, owp_err *err);
/* The value of key, or NULL. */
const char *serve_params_get(const serve_params *p, const char *key);
/* Split a raw query string ("a=1&b=x%20y") in place into p, decoding
 * %XX and '+' as libmicrohttpd does; used where no server parsed it (the
 * unit tests, the fuzzer). */
owp_status serve_params_parse(char *query, serve_params *p, owp_err *err);

typedef enum serve_route_kind {
    SERVE_PAGE,       /* an HTML page or asset from www/ */
    SERVE_API_GRID,
    SERVE_API_QUERY,
    SERVE_API_QUERY_CSV,
    SERVE_API_COMPLETENESS,
    SERVE_API_STATUS, /* the coordinator's view (owmesh status --json), when configured */
    SERVE_API_CONFIG, /* what the pages need: refresh interval, nodes, version */
    SERVE_METRICS
} serve_route_kind;

typedef struct serve_route {
    const char *path;
    serve_route_kind kind;
    const char *asset;              /* SERVE_PAGE: the file of www/ */
    const char *const *params;      /* the parameters it takes (NULL-terminated) */
} serve_route;

/* The route of a URL path (no query string), or NULL (404). */
const serve_route *serve_route_find(const char *path);
/* Every parameter of p is one the route takes; else OWP_ERR_INVALID
 * "unknown parameter "x" (known: a, b, c)". */
owp_status serve_route_check(const serve_route *r, const serve_params *p, owp_err *err);

/* ---- the application (serve_app.c) ---- */
typedef struct serve_app_opts {
    const char *mesh_path, *store; /* as `owmesh query` takes them */
    const char *now;               /* --now TIME for every request (tests), or NULL */
    unsigned refresh_s;            /* the pages' refresh; 0 = one session length */
    uint64_t metrics_window_s;     /* /metrics: the recent window */
    owmesh_status_opts status;     /* /api/status asks this coordinator (status.cert set) */
} serve_app_opts;

typedef struct serve_app serve_app;

/* Open the mesh and the store (read-only); errors name the file or store. */
serve_app *serve_app_new(const serve_app_opts *opts, owp_err *err);
void serve_app_destroy(serve_app **self_p);
/* The refresh interval the pages get, in seconds. */
unsigned serve_app_refresh(const serve_app *self);

typedef struct serve_reply {
    unsigned status;          /* 200, 400, 404, 405, 500 */
    const char *content_type;
    char *body;               /* malloc'ed unless body_static */
    size_t len;
    int body_static;
} serve_reply;

/* Answer one request. method is the HTTP method (only GET and HEAD are
 * served: this server changes nothing), path the URL path. Never fails:
 * every error is a reply with its status and a JSON or text message. */
void serve_app_handle(serve_app *self, const char *method, const char *path,
                      const serve_params *params, serve_reply *reply);
void serve_reply_free(serve_reply *reply);

/* ---- metrics (serve_metrics.c) ---- */
/* A label value as the exposition format escapes it: \\, \" and \n. */
void serve_prom_label(FILE *fp, const char *value);
/* A sample value: NaN, +Inf, -Inf, or the shortest %g that reads back. */
void serve_prom_number(FILE *fp, double v);
/* Every stored path over [now - window_s, now): delay quantiles, loss,
 * duplicates, reordering, unmeasured time and the age of the newest data,
 * with # HELP and # TYPE for each family. */
owp_status serve_metrics_write(const owmesh_ctx *ctx, owp_num64 now, uint64_t window_s,
                               FILE *fp, owp_err *err);

/* ---- basic auth (serve_auth.c) ---- */
typedef struct serve_auth serve_auth;
/* "user:password" lines ('#' comments and blank lines skipped). Refused
 * when the file is readable or writable by group or others, as secret keys
 * are; errors name file:line. */
serve_auth *serve_auth_load(const char *file, owp_err *err);
/* 1 when user and password match a line (compared in constant time). */
int serve_auth_check(const serve_auth *self, const char *user, const char *password);
size_t serve_auth_count(const serve_auth *self);
void serve_auth_destroy(serve_auth **self_p);

/* ---- HTTP (serve_http.c) ---- */
typedef struct serve_http_opts {
    const char *listen;        /* ADDR:PORT or [ADDR]:PORT */
    int allow_remote;          /* binding a non-loopback address was asked for */
    unsigned max_connections;  /* at once, all clients */
    unsigned per_ip;           /* at once, one client address */
    unsigned timeout_s;        /* idle or slow connection closed after */
    size_t memory_limit;       /* per connection: request line and headers */
    const char *auth_file;     /* basic auth, or NULL */
    const char *tls_cert, *tls_key; /* PEM files: HTTPS, or NULL */
    int verbose;               /* log every request on stderr */
    int no_listen;             /* no socket: connections come by serve_http_add (the fuzzer) */
} serve_http_opts;

void serve_http_opts_default(serve_http_opts *o);

/* ADDR:PORT, [V6]:PORT or PORT alone (loopback); *loopback = 1 for
 * 127.0.0.0/8 and ::1. */
owp_status serve_listen_parse(const char *text, struct sockaddr_storage *sa, socklen_t *len,
                              int *loopback, owp_err *err);

typedef struct serve_http serve_http;
/* Listen and serve app (until serve_http_stop); refuses a non-loopback
 * address unless allow_remote. */
serve_http *serve_http_start(serve_app *app, const serve_http_opts *o, owp_err *err);
/* Serve a connected socket (taken over: closed by the server). */
owp_status serve_http_add(serve_http *self, int fd, owp_err *err);
/* The port bound (for port 0). */
unsigned serve_http_port(const serve_http *self);
void serve_http_stop(serve_http **self_p);

/* ---- assets (serve_assets.c, generated) ---- */
typedef struct serve_asset {
    const char *name; /* file name under www/ */
    const unsigned char *data;
    size_t len;
} serve_asset;
const serve_asset *serve_asset_find(const char *name);
/* "text/html; charset=utf-8" ... from the name's extension. */
const char *serve_content_type(const char *name);

#endif
