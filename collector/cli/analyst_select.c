/*
 * analyst_select.c - the store and mesh an analyst command reads, and the
 * selection of stored paths by path, node, group or the whole mesh, with
 * errors that list what is known (see analyst.h).
 */
#include "analyst.h"
#include "grow.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "unmeasured.h"

static void free_paths(owmesh_ctx *ctx)
{
    for (size_t i = 0; i < ctx->npaths; i++) {
        free(ctx->paths[i].src);
        free(ctx->paths[i].dst);
        free(ctx->paths[i].params);
    }
    free(ctx->paths);
    ctx->paths = NULL;
    ctx->npaths = 0;
}

typedef struct path_list {
    owmesh_ctx *ctx;
    size_t cap;
    int nomem;
} path_list;

static int collect_path(const store_path *p, void *arg)
{
    path_list *pl = arg;
    owmesh_ctx *ctx = pl->ctx;
    if (owp_grow(&ctx->paths, ctx->npaths, &pl->cap, sizeof *ctx->paths, 16) != 0) {
        pl->nomem = 1;
        return 1;
    }
    owmesh_path *dst = &ctx->paths[ctx->npaths];
    dst->id = p->id;
    dst->newest = p->newest;
    dst->src = strdup(p->src);
    dst->dst = strdup(p->dst);
    dst->params = strdup(p->params);
    ctx->npaths++;
    if (!dst->src || !dst->dst || !dst->params) {
        pl->nomem = 1;
        return 1;
    }
    return 0;
}

/* Source, destination, parameters, then id: the order of every listing. */
static int cmp_paths(const void *a, const void *b)
{
    const owmesh_path *x = a, *y = b;
    int c = strcmp(x->src, y->src);
    if (!c)
        c = strcmp(x->dst, y->dst);
    if (!c)
        c = strcmp(x->params, y->params);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

owp_status owmesh_ctx_load_paths(owmesh_ctx *ctx, owp_err *err)
{
    free_paths(ctx);
    path_list pl = {.ctx = ctx};
    owp_status st = store_list_paths(ctx->store, collect_path, &pl, err);
    if (st == OWP_OK && pl.nomem)
        st = owp_err_set(err, OWP_ERR_NOMEM, "out of memory listing the stored paths");
    if (st == OWP_OK && ctx->npaths)
        qsort(ctx->paths, ctx->npaths, sizeof *ctx->paths, cmp_paths);
    return st;
}

owp_status owmesh_ctx_open(owmesh_ctx *ctx, const owmesh_common *c, int writable, owp_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    if (!c->mesh_path)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "--mesh FILE is required (the mesh definition names the nodes, groups "
                           "and expected paths)");
    if (!(ctx->mesh = owm_mesh_load(c->mesh_path, err)))
        return err->code;
    store_opts opts;
    store_opts_default(&opts);
    opts.readonly = !writable;
    if (!(ctx->store = store_open(c->store_dir, &opts, err))) {
        char shown[4096];
        store_location_shown(c->store_dir, shown, sizeof shown);
        if (!strstr(err->msg, shown)) /* name the store once, never its password */
            owp_err_prefix(err, "store %s", shown);
        owmesh_ctx_close(ctx);
        return err->code;
    }
    owp_status st = owmesh_ctx_load_paths(ctx, err);
    if (st != OWP_OK)
        owmesh_ctx_close(ctx);
    return st;
}

void owmesh_ctx_close(owmesh_ctx *ctx)
{
    free_paths(ctx);
    store_close(&ctx->store);
    owm_mesh_destroy(&ctx->mesh);
}

/* Append ", name" (or "name" first) to buf, truncating with "...". */
static void list_append(char *buf, size_t len, const char *name)
{
    size_t used = strlen(buf);
    if (used + 8 >= len)
        return;
    int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
    if (n < 0 || (size_t)n >= len - used)
        snprintf(buf + (len > 8 ? len - 5 : 0), 5, "...");
}

owp_status owmesh_ctx_check_node(const owmesh_ctx *ctx, const char *what, const char *name,
                                 owp_err *err)
{
    if (owm_mesh_node_find(ctx->mesh, name))
        return OWP_OK;
    for (size_t i = 0; i < ctx->npaths; i++)
        if (!strcmp(ctx->paths[i].src, name) || !strcmp(ctx->paths[i].dst, name))
            return OWP_OK; /* stored under a name the mesh no longer has */
    char known[384] = "";
    for (size_t i = 0; i < owm_mesh_node_count(ctx->mesh); i++)
        list_append(known, sizeof known, owm_mesh_node(ctx->mesh, i)->name);
    return owp_err_set(err, OWP_ERR_INVALID, "%s: unknown node \"%s\" (known nodes: %s)", what,
                       name, known);
}

size_t owmesh_ctx_pair_ids(const owmesh_ctx *ctx, const char *src, const char *dst,
                           uint32_t *ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < ctx->npaths; i++)
        if (!strcmp(ctx->paths[i].src, src) && !strcmp(ctx->paths[i].dst, dst) && n < max)
            ids[n++] = ctx->paths[i].id;
    return n;
}

int owmesh_ctx_expected(const owmesh_ctx *ctx, const char *src, const char *dst,
                        const owm_stream **stream_out)
{
    const owm_stream *s = owm_mesh_streams(ctx->mesh);
    for (size_t i = 0; i < owm_mesh_stream_count(ctx->mesh); i++)
        if (!strcmp(s[i].src->name, src) && !strcmp(s[i].dst->name, dst)) {
            if (stream_out)
                *stream_out = &s[i];
            return 1;
        }
    return 0;
}

/* The tasks of group (from the mesh file's "tasks": a group is measured
 * through the tasks that name it). Returns a JSON array of task names, or
 * NULL with err naming the known groups. */
static json_t *group_tasks(const owmesh_ctx *ctx, const char *group, owp_err *err)
{
    json_error_t jerr;
    const char *file = owm_mesh_source(ctx->mesh);
    json_t *root = json_load_file(file, 0, &jerr);
    if (!root) {
        owp_err_set(err, OWP_ERR_PARSE, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    json_t *groups = json_object_get(root, "groups"), *tasks = json_object_get(root, "tasks");
    if (!json_object_get(groups, group)) {
        char known[384] = "";
        const char *key;
        json_t *v;
        json_object_foreach(groups, key, v)
            list_append(known, sizeof known, key);
        owp_err_set(err, OWP_ERR_INVALID, "--group: unknown group \"%s\" (known groups: %s)",
                    group, *known ? known : "none");
        json_decref(root);
        return NULL;
    }
    json_t *names = json_array();
    const char *key;
    json_t *task;
    json_object_foreach(tasks, key, task) {
        const char *g = json_string_value(json_object_get(task, "group"));
        if (g && !strcmp(g, group))
            json_array_append_new(names, json_string(key));
    }
    json_decref(root);
    return names;
}

static int in_group(const owmesh_ctx *ctx, json_t *tasks, const char *src, const char *dst)
{
    const owm_stream *s = owm_mesh_streams(ctx->mesh);
    for (size_t i = 0; i < owm_mesh_stream_count(ctx->mesh); i++) {
        if (strcmp(s[i].src->name, src) || strcmp(s[i].dst->name, dst))
            continue;
        size_t k;
        json_t *t;
        json_array_foreach(tasks, k, t)
            if (!strcmp(json_string_value(t), s[i].task))
                return 1;
    }
    return 0;
}

static owp_status no_data(const owmesh_ctx *ctx, const char *label, owp_err *err)
{
    char known[400] = "";
    for (size_t i = 0; i < ctx->npaths; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s -> %s", ctx->paths[i].src, ctx->paths[i].dst);
        if (!strstr(known, p)) /* one entry per pair, whatever the params */
            list_append(known, sizeof known, p);
    }
    return owp_err_set(err, OWP_ERR_INVALID, "no data stored for %s; paths with data: %s", label,
                       *known ? known : "none (the store is empty)");
}

owp_status owmesh_ctx_select(const owmesh_ctx *ctx, const owmesh_common *c, uint32_t **ids,
                             size_t *nids, char *label, size_t label_len, owp_err *err)
{
    owp_status st;
    *ids = NULL;
    *nids = 0;
    int by_pair = c->src || c->dst;
    if (by_pair + !!c->node + !!c->group > 1)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "choose one selection: --src/--dst, --node or --group");
    if ((c->src && (st = owmesh_ctx_check_node(ctx, "--src", c->src, err))) ||
        (c->dst && (st = owmesh_ctx_check_node(ctx, "--dst", c->dst, err))) ||
        (c->node && (st = owmesh_ctx_check_node(ctx, "--node", c->node, err))))
        return st;
    json_t *tasks = NULL;
    if (c->group && !(tasks = group_tasks(ctx, c->group, err)))
        return err->code;

    if (c->src && c->dst)
        snprintf(label, label_len, "%s -> %s", c->src, c->dst);
    else if (c->src)
        snprintf(label, label_len, "%s -> *", c->src);
    else if (c->dst)
        snprintf(label, label_len, "* -> %s", c->dst);
    else if (c->node)
        snprintf(label, label_len, "node %s", c->node);
    else if (c->group)
        snprintf(label, label_len, "group %s", c->group);
    else
        snprintf(label, label_len, "mesh");

    uint32_t *out = ctx->npaths ? malloc(ctx->npaths * sizeof *out) : NULL;
    if (ctx->npaths && !out) {
        json_decref(tasks);
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < ctx->npaths; i++) {
        const owmesh_path *p = &ctx->paths[i];
        int take = 1;
        if (c->src && strcmp(p->src, c->src))
            take = 0;
        if (c->dst && strcmp(p->dst, c->dst))
            take = 0;
        if (c->node && strcmp(p->src, c->node) && strcmp(p->dst, c->node))
            take = 0;
        if (tasks && !in_group(ctx, tasks, p->src, p->dst))
            take = 0;
        if (take)
            out[n++] = p->id;
    }
    json_decref(tasks);
    if (!n) {
        free(out);
        return no_data(ctx, label, err);
    }
    *ids = out;
    *nids = n;
    return OWP_OK;
}

/* ---- unmeasured time ---- */

const char *owmesh_reason_text(const char *token)
{
    owm_unmeasured_reason r = owm_unmeasured_reason_parse(token ? token : "");
    return r == OWM_UNMEASURED_UNKNOWN && token && *token ? token : owm_unmeasured_reason_text(r);
}

owp_status owmesh_unmeasured(const owmesh_ctx *ctx, const uint32_t *ids, size_t nids,
                             owp_num64 from, owp_num64 to, store_unmeasured_totals *sum,
                             double *period_s, owp_err *err)
{
    *period_s = (double)nids * owp_num64_to_double(to - from);
    return store_unmeasured_sum(ctx->store, ids, nids, from, to, sum, err);
}

/* ---- bucketed queries ---- */

typedef struct bucket_run {
    owmesh_bucket_fn fn;
    void *arg;
    int partial, stopped;
} bucket_run;

static int bucket_row(const store_row *row, void *arg)
{
    bucket_run *b = arg;
    b->stopped = b->fn(row, b->partial, b->arg) != 0;
    return b->stopped;
}

owp_status owmesh_query_buckets(const owmesh_ctx *ctx, const store_query *q, owmesh_bucket_fn fn,
                                void *arg, owp_err *err)
{
    owmesh_span spans[3];
    size_t n = owmesh_bucket_plan(q->from, q->to, q->every, spans);
    bucket_run run = {.fn = fn, .arg = arg};
    owp_status st = OWP_OK;
    for (size_t i = 0; i < n && st == OWP_OK && !run.stopped; i++) {
        store_query part = *q;
        part.from = spans[i].from;
        part.to = spans[i].to;
        part.every = (uint32_t)spans[i].every;
        run.partial = spans[i].partial;
        st = store_query_run(ctx->store, &part, bucket_row, &run, err);
    }
    return st;
}
