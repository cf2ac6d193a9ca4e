/*
 * serve_app.c - one request, one reply: the pages from the embedded www/
 * files, the /api/... JSON from the analysts' commands' own writers
 * (cmd_json.h: the same bytes as `owmesh query|grid|completeness --json`
 * with the same options), /api/config, and /metrics. No HTTP here
 * (serve_http.c), so the unit tests and the fuzzer call it directly.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_json.h"
#include "serve.h"

struct serve_app {
    serve_app_opts opts;
    owmesh_common common; /* the mesh and the store, for the context */
    owmesh_ctx ctx;
    unsigned refresh_s;
};

/* One session of the mesh's shortest stream: new data cannot come faster. */
static unsigned session_refresh(const owm_mesh *mesh)
{
    double shortest = 0;
    const owm_stream *s = owm_mesh_streams(mesh);
    for (size_t i = 0; i < owm_mesh_stream_count(mesh); i++) {
        double len = s[i].params.packet_count * s[i].params.packet_interval;
        if (len > 0 && (shortest == 0 || len < shortest))
            shortest = len;
    }
    if (shortest < 5)
        return 5;
    return shortest > 3600 ? 3600 : (unsigned)shortest;
}

serve_app *serve_app_new(const serve_app_opts *opts, owp_err *err)
{
    serve_app *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->opts = *opts;
    owmesh_common_init(&self->common);
    self->common.mesh_path = opts->mesh_path;
    if (opts->store)
        self->common.store_dir = opts->store;
    if (owmesh_ctx_open(&self->ctx, &self->common, 0, err) != OWP_OK) {
        free(self);
        return NULL;
    }
    self->refresh_s = opts->refresh_s ? opts->refresh_s : session_refresh(self->ctx.mesh);
    return self;
}

void serve_app_destroy(serve_app **self_p)
{
    if (!self_p || !*self_p)
        return;
    owmesh_ctx_close(&(*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}

unsigned serve_app_refresh(const serve_app *self) { return self->refresh_s; }

void serve_reply_free(serve_reply *reply)
{
    if (!reply->body_static)
        free(reply->body);
    reply->body = NULL;
    reply->len = 0;
}

/* ---- replies ---- */

static void reply_static(serve_reply *r, unsigned status, const char *type, const void *body,
                         size_t len)
{
    r->status = status;
    r->content_type = type;
    r->body = (char *)(uintptr_t)body; /* never freed: body_static */
    r->len = len;
    r->body_static = 1;
}

/* {"error": "why"} with the status. */
static void reply_error(serve_reply *r, unsigned status, const char *why)
{
    json_t *o = json_pack("{s:s, s:I}", "error", why, "status", (json_int_t)status);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!text) {
        static const char oom[] = "{\"error\": \"out of memory\"}\n";
        reply_static(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    size_t n = strlen(text);
    char *body = realloc(text, n + 2);
    if (body) {
        body[n++] = '\n';
        body[n] = '\0';
        text = body;
    }
    r->status = status;
    r->content_type = "application/json";
    r->body = text;
    r->len = strlen(text);
    r->body_static = 0;
}

static unsigned status_of(owp_status st)
{
    if (st == OWP_ERR_INVALID || st == OWP_ERR_PARSE)
        return 400;
    /* The coordinator could not be asked: not this server's fault. */
    if (st == OWP_ERR_TIMEOUT || st == OWP_ERR_REFUSED || st == OWP_ERR_CLOSED ||
        st == OWP_ERR_PROTO || st == OWP_ERR_CRYPTO)
        return 502;
    return 500;
}

/* The memstream's bytes become the body; an error replaces them. */
static void reply_stream(serve_reply *r, const char *type, char *buf, size_t len, owp_status st,
                         const owp_err *err)
{
    if (st != OWP_OK) {
        free(buf);
        reply_error(r, status_of(st), err->msg);
        return;
    }
    r->status = 200;
    r->content_type = type;
    r->body = buf;
    r->len = len;
    r->body_static = 0;
}

/* ---- the API ---- */

/* The period and --now from the request, the server's --now by default. */
static void common_from(const serve_app *self, const serve_params *p, owmesh_common *c)
{
    c->mesh_path = self->common.mesh_path;
    c->store_dir = self->common.store_dir;
    c->since = serve_params_get(p, "since");
    c->from = serve_params_get(p, "from");
    c->to = serve_params_get(p, "to");
    c->now = serve_params_get(p, "now");
    if (!c->now)
        c->now = self->opts.now;
}

static owp_status api_query(serve_app *self, const serve_params *p, int csv, FILE *fp,
                            owp_err *err)
{
    owmesh_query_opts o;
    owmesh_query_opts_init(&o);
    common_from(self, p, &o.common);
    o.common.src = serve_params_get(p, "src");
    o.common.dst = serve_params_get(p, "dst");
    o.common.node = serve_params_get(p, "node");
    o.common.group = serve_params_get(p, "group");
    o.every = serve_params_get(p, "every");
    const char *pct = serve_params_get(p, "p"), *source = serve_params_get(p, "source");
    const char *per_path = serve_params_get(p, "per-path");
    if (pct && owmesh_parse_percentiles(pct, o.pct, &o.npct, err) != OWP_OK)
        return owp_err_prefix(err, "p");
    if (source && !strcmp(source, "raw"))
        o.source = STORE_SOURCE_RAW;
    else if (source && !strcmp(source, "hist"))
        o.source = STORE_SOURCE_HIST;
    else if (source && strcmp(source, "auto"))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "source: expected auto, raw or hist, got \"%s\"", source);
    if (per_path && *per_path && strcmp(per_path, "1") && strcmp(per_path, "true"))
        return owp_err_set(err, OWP_ERR_INVALID, "per-path: expected 1 or true");
    o.per_path = per_path != NULL;
    return csv ? owmesh_query_csv(&self->ctx, &o, fp, err)
               : owmesh_query_json(&self->ctx, &o, fp, err);
}

static owp_status api_grid(serve_app *self, const serve_params *p, FILE *fp, owp_err *err)
{
    owmesh_grid_opts o;
    owmesh_grid_opts_init(&o);
    common_from(self, p, &o.common);
    if (serve_params_get(p, "stat"))
        o.stat = serve_params_get(p, "stat");
    o.warn = serve_params_get(p, "warn");
    o.crit = serve_params_get(p, "crit");
    return owmesh_grid_json(&self->ctx, &o, fp, err);
}

static owp_status api_completeness(serve_app *self, const serve_params *p, FILE *fp,
                                   owp_err *err)
{
    owmesh_completeness_opts o;
    owmesh_completeness_opts_init(&o);
    common_from(self, p, &o.common);
    if (serve_params_get(p, "bucket"))
        o.bucket = serve_params_get(p, "bucket");
    if (serve_params_get(p, "grace"))
        o.grace = serve_params_get(p, "grace");
    o.stale = serve_params_get(p, "stale");
    return owmesh_completeness_json(&self->ctx, &o, fp, err);
}

/* The coordinator's view, when the server was given a certificate. */
static owp_status api_status(serve_app *self, FILE *fp, owp_err *err)
{
    if (!self->opts.status.cert)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "no coordinator: owmesh serve was started without -k CERT "
                           "(and -c ENDPOINT), as owmesh status takes them");
    return owmesh_status_json(&self->opts.status, fp, err);
}

/* What the pages need besides the data: the refresh interval, the nodes
 * and tasks of the mesh, the version. */
static owp_status api_config(serve_app *self, FILE *fp, owp_err *err)
{
    json_t *nodes = json_array(), *tasks = json_array();
    for (size_t i = 0; i < owm_mesh_node_count(self->ctx.mesh); i++)
        json_array_append_new(nodes, json_string(owm_mesh_node(self->ctx.mesh, i)->name));
    const owm_stream *s = owm_mesh_streams(self->ctx.mesh);
    for (size_t i = 0; i < owm_mesh_stream_count(self->ctx.mesh); i++) {
        int seen = 0;
        for (size_t k = 0; k < json_array_size(tasks) && !seen; k++)
            seen = !strcmp(json_string_value(json_array_get(tasks, k)), s[i].task);
        if (!seen)
            json_array_append_new(tasks, json_string(s[i].task));
    }
    json_t *root = json_pack("{s:s, s:I, s:o, s:o, s:s?, s:I, s:b}", "version", PACKAGE_VERSION,
                             "refresh_s", (json_int_t)self->refresh_s, "nodes", nodes, "tasks",
                             tasks, "now", self->opts.now, "metrics_window_s",
                             (json_int_t)self->opts.metrics_window_s, "status",
                             self->opts.status.cert != NULL);
    if (!root || json_dumpf(root, fp, JSON_INDENT(2)) != 0) {
        json_decref(root);
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    }
    fputc('\n', fp);
    json_decref(root);
    return OWP_OK;
}

static owp_status api_metrics(serve_app *self, FILE *fp, owp_err *err)
{
    owmesh_common c;
    owmesh_common_init(&c);
    c.now = self->opts.now;
    owp_num64 now, from, to;
    if (owmesh_common_period(&c, 60, &now, &from, &to, err) != OWP_OK)
        return err->code;
    return serve_metrics_write(&self->ctx, now, self->opts.metrics_window_s, fp, err);
}

static void handle_api(serve_app *self, const serve_route *route, const serve_params *p,
                       serve_reply *reply)
{
    owp_err err = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) {
        reply_error(reply, 500, "out of memory");
        return;
    }
    /* New paths appear while the collector ingests: read them per request. */
    owp_status st = owmesh_ctx_load_paths(&self->ctx, &err);
    const char *type = "application/json";
    if (st == OWP_OK) {
        switch (route->kind) {
        case SERVE_API_QUERY: st = api_query(self, p, 0, fp, &err); break;
        case SERVE_API_QUERY_CSV:
            type = "text/csv; charset=utf-8";
            st = api_query(self, p, 1, fp, &err);
            break;
        case SERVE_API_GRID: st = api_grid(self, p, fp, &err); break;
        case SERVE_API_COMPLETENESS: st = api_completeness(self, p, fp, &err); break;
        case SERVE_API_CONFIG: st = api_config(self, fp, &err); break;
        case SERVE_API_STATUS: st = api_status(self, fp, &err); break;
        case SERVE_METRICS:
            type = "text/plain; version=0.0.4; charset=utf-8";
            st = api_metrics(self, fp, &err);
            break;
        case SERVE_PAGE: break;
        }
    }
    if (fclose(fp) != 0 && st == OWP_OK)
        st = owp_err_set(&err, OWP_ERR_NOMEM, "out of memory");
    reply_stream(reply, type, buf, len, st, &err);
}

void serve_app_handle(serve_app *self, const char *method, const char *path,
                      const serve_params *params, serve_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    owp_err err = {0};
    const serve_route *route = serve_route_find(path);
    if (!route) {
        reply_error(reply, 404, "no such page");
        return;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        reply_error(reply, 405, "read-only: only GET and HEAD");
        return;
    }
    if (serve_route_check(route, params, &err) != OWP_OK) {
        reply_error(reply, 400, err.msg);
        return;
    }
    if (route->kind != SERVE_PAGE) {
        handle_api(self, route, params, reply);
        return;
    }
    const serve_asset *a = serve_asset_find(route->asset);
    if (!a) {
        reply_error(reply, 500, "asset missing from the build");
        return;
    }
    reply_static(reply, 200, serve_content_type(a->name), a->data, a->len);
}
