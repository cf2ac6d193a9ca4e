/*
 * cmd_completeness.c - `owmesh completeness`: for every path the mesh
 * expects, the age of its newest data and the share of the period its data
 * covers, so a node that silently stopped is named within one session.
 *
 * A path is stale when its newest data is older than one session length
 * (packet-count x packet-interval) plus the loss timeout plus a grace for
 * collection (--grace, 60 s): while a node measures, a finished session
 * reaches the store at most that long after the previous one. --stale DUR
 * replaces that threshold for every path.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyst.h"
#include "cli.h"
#include "render.h"

enum { OPT_JSON = OWMESH_OPT_FIRST_FREE, OPT_BUCKET, OPT_STALE, OPT_GRACE };

typedef struct expected_path {
    const owm_stream *stream; /* the first stream of the pair */
    owp_num64 newest;
    uint64_t buckets, covered;
    double threshold; /* seconds */
    const char *status; /* "ok", "stale", "missing" */
    store_unmeasured_totals unm; /* time the path could not be measured, by reason */
    double period_s;
} expected_path;

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh completeness --mesh FILE [--store DIR] [--since DUR | --from TIME"
                " --to TIME]\n"
                "                           [--bucket DUR] [--stale DUR] [--grace DUR] [--json]\n"
                "  exit status 0: every expected path is fresh; 2: some are stale or missing\n");
}

static int count_bucket(const store_row *row, void *arg)
{
    expected_path *e = arg;
    e->buckets++;
    e->covered += !row->empty;
    return 0;
}

/* Fill newest, coverage and status of one expected path. */
static owp_status measure(const owmesh_ctx *ctx, expected_path *e, owp_num64 now, owp_num64 from,
                          owp_num64 to, uint64_t bucket, owp_err *err)
{
    uint32_t ids[64];
    size_t n = owmesh_ctx_pair_ids(ctx, e->stream->src->name, e->stream->dst->name, ids, 64);
    for (size_t i = 0; i < ctx->npaths; i++)
        for (size_t j = 0; j < n; j++)
            if (ctx->paths[i].id == ids[j] && ctx->paths[i].newest > e->newest)
                e->newest = ctx->paths[i].newest;
    if (n) {
        store_query q = {.paths = ids, .npaths = n, .from = from, .to = to,
                             .every = (uint32_t)bucket};
        owp_status st = store_query_run(ctx->store, &q, count_bucket, e, err);
        if (st == OWP_OK)
            st = owmesh_unmeasured(ctx, ids, n, from, to, &e->unm, &e->period_s, err);
        if (st != OWP_OK)
            return st;
    }
    double age = e->newest ? (double)(int64_t)(now - e->newest) / 4294967296.0 : INFINITY;
    if (!e->covered && (!e->newest || age > e->threshold))
        e->status = "missing";
    else if (age > e->threshold)
        e->status = "stale";
    else
        e->status = "ok";
    return OWP_OK;
}

static void format_cells(const expected_path *e, owp_num64 now, char *newest, char *age,
                         char *cov, size_t len)
{
    owmesh_format_iso(e->newest, newest, len);
    if (!e->newest) {
        snprintf(newest, len, "never");
        snprintf(age, len, "-");
    } else {
        int64_t d = (int64_t)(now - e->newest) >> 32;
        owmesh_format_age(d > 0 ? (uint64_t)d : 0, age, len);
    }
    snprintf(cov, len, "%.1f%%", e->buckets ? 100.0 * (double)e->covered / (double)e->buckets : 0.0);
}

/* Unmeasured time is not coverage (nothing was measured) and not loss
 * (nothing was sent): it is listed with its reasons, so a stale path says why. */
static void unmeasured_text(const expected_path *e, char *buf, size_t len)
{
    owmesh_format_unmeasured(e->unm.total, e->period_s,
                             e->unm.nreasons ? owmesh_reason_text(e->unm.r[0].reason) : NULL,
                             buf, len);
}

static json_t *unmeasured_json(const expected_path *e)
{
    json_t *by = json_object();
    for (size_t i = 0; i < e->unm.nreasons; i++)
        json_object_set_new(by, e->unm.r[i].reason,
                            json_real(round(e->unm.r[i].seconds * 1e3) / 1e3));
    double measured = e->period_s - e->unm.total;
    return json_pack("{s:f, s:f, s:o, s:s?}", "measured_s",
                     round((measured > 0 ? measured : 0) * 1e3) / 1e3, "unmeasured_s",
                     round(e->unm.total * 1e3) / 1e3, "unmeasured", by, "reason",
                     e->unm.nreasons ? owmesh_reason_text(e->unm.r[0].reason) : NULL);
}

/* Nodes all of whose expected paths are stale or missing: the silent ones. */
static void silent_nodes(const owmesh_ctx *ctx, const expected_path *ep, size_t n, json_t *json,
                         FILE *fp)
{
    for (size_t i = 0; i < owm_mesh_node_count(ctx->mesh); i++) {
        const owm_node *node = owm_mesh_node(ctx->mesh, i);
        size_t paths = 0, bad = 0;
        owp_num64 newest = 0;
        for (size_t k = 0; k < n; k++) {
            if (ep[k].stream->src != node && ep[k].stream->dst != node)
                continue;
            paths++;
            bad += strcmp(ep[k].status, "ok") != 0;
            if (ep[k].newest > newest)
                newest = ep[k].newest;
        }
        if (!paths || bad < paths)
            continue;
        char when[48];
        owmesh_format_iso(newest, when, sizeof when);
        if (json)
            json_array_append_new(json, json_pack("{s:s, s:s?}", "node", node->name, "newest",
                                                  newest ? when : NULL));
        else
            fprintf(fp, "node %s: no fresh data on any of its %zu paths (newest %s)\n",
                    node->name, paths, newest ? when : "never");
    }
}

int owmesh_cmd_completeness(int argc, char **argv)
{
    static const struct option longopts[] = {OWMESH_COMMON_LONGOPTS,
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"bucket", required_argument, NULL, OPT_BUCKET},
                                             {"stale", required_argument, NULL, OPT_STALE},
                                             {"grace", required_argument, NULL, OPT_GRACE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    owmesh_common common;
    owmesh_common_init(&common);
    const char *bucket_s = "60", *stale_s = NULL, *grace_s = "60";
    int json_out = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (owmesh_common_opt(&common, c, optarg))
            continue;
        switch (c) {
        case OPT_JSON: json_out = 1; break;
        case OPT_BUCKET: bucket_s = optarg; break;
        case OPT_STALE: stale_s = optarg; break;
        case OPT_GRACE: grace_s = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc || common.src || common.dst || common.node || common.group) {
        owmesh_error("completeness: it covers every expected path; no selection or argument");
        usage(stderr);
        return 1;
    }
    owp_err err = {0};
    owp_num64 now, from, to;
    uint64_t bucket, stale = 0, grace;
    if (owmesh_common_period(&common, 86400, &now, &from, &to, &err) != OWP_OK ||
        (owmesh_parse_duration(bucket_s, &bucket, &err) != OWP_OK &&
         owp_err_prefix(&err, "--bucket")) ||
        (stale_s && owmesh_parse_duration(stale_s, &stale, &err) != OWP_OK &&
         owp_err_prefix(&err, "--stale")) ||
        (owmesh_parse_duration(grace_s, &grace, &err) != OWP_OK && owp_err_prefix(&err, "--grace"))) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    if (bucket > UINT32_MAX || (double)((to - from) >> 32) / (double)bucket > 10e6) {
        owmesh_error("--bucket: too small for the period (at most 10 million buckets)");
        return 1;
    }
    owmesh_ctx ctx = {0};
    if (owmesh_ctx_open(&ctx, &common, 0, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    size_t nstreams = owm_mesh_stream_count(ctx.mesh), n = 0;
    const owm_stream *streams = owm_mesh_streams(ctx.mesh);
    expected_path *ep = calloc(nstreams ? nstreams : 1, sizeof *ep);
    int rc = ep ? 0 : 1;
    for (size_t i = 0; ep && i < nstreams; i++) {
        const owm_stream *s = &streams[i];
        int seen = 0;
        for (size_t k = 0; k < n; k++)
            seen |= ep[k].stream->src == s->src && ep[k].stream->dst == s->dst;
        if (seen)
            continue; /* one row per pair: the store's paths are named by node pair */
        ep[n].stream = s;
        ep[n].threshold = stale ? (double)stale
                                : s->params.packet_count * s->params.packet_interval +
                                      s->params.loss_timeout + (double)grace;
        if (measure(&ctx, &ep[n], now, from, to, bucket, &err) != OWP_OK) {
            owmesh_error("%s", err.msg);
            rc = 1;
            break;
        }
        n++;
    }
    if (!rc) {
        size_t bad = 0;
        for (size_t k = 0; k < n; k++)
            bad += strcmp(ep[k].status, "ok") != 0;
        char a[48], b[48];
        owmesh_format_iso(from, a, sizeof a);
        owmesh_format_iso(to, b, sizeof b);
        if (json_out) {
            json_t *rows = json_array(), *silent = json_array();
            for (size_t k = 0; k < n; k++) {
                char newest[48], age[48], cov[48];
                format_cells(&ep[k], now, newest, age, cov, sizeof newest);
                double age_s = ep[k].newest ? (double)(int64_t)(now - ep[k].newest) / 4294967296.0
                                            : 0;
                json_array_append_new(
                    rows, json_pack("{s:s, s:s, s:s, s:s?, s:o, s:f, s:f, s:s}", "src",
                                    ep[k].stream->src->name, "dst", ep[k].stream->dst->name,
                                    "test", ep[k].stream->test, "newest",
                                    ep[k].newest ? newest : NULL, "age_s",
                                    ep[k].newest ? json_real(round(age_s * 1e3) / 1e3) : json_null(),
                                    "coverage_pct",
                                    ep[k].buckets ? 100.0 * (double)ep[k].covered / (double)ep[k].buckets : 0.0,
                                    "stale_after_s", ep[k].threshold, "status", ep[k].status));
                json_t *unm = unmeasured_json(&ep[k]);
                json_object_update(json_array_get(rows, json_array_size(rows) - 1), unm);
                json_decref(unm);
            }
            silent_nodes(&ctx, ep, n, silent, NULL);
            json_t *root = json_pack("{s:s, s:s, s:I, s:o, s:o}", "from", a, "to", b, "bucket",
                                     (json_int_t)bucket, "paths", rows, "silent_nodes", silent);
            json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
            fputc('\n', stdout);
            json_decref(root);
        } else {
            const char *hdr[] = {"src", "dst",      "test",   "newest",
                                 "age", "coverage", "status", "unmeasured"};
            owmesh_table *t = owmesh_table_new(8, hdr);
            for (size_t col = 0; t && col < 4; col++)
                owmesh_table_left(t, col);
            owmesh_table_left(t, 6);
            owmesh_table_left(t, 7);
            for (size_t k = 0; t && k < n; k++) {
                char newest[48], age[48], cov[48], unm[96];
                format_cells(&ep[k], now, newest, age, cov, sizeof newest);
                unmeasured_text(&ep[k], unm, sizeof unm);
                const char *cells[] = {ep[k].stream->src->name, ep[k].stream->dst->name,
                                       ep[k].stream->test, newest, age, cov, ep[k].status, unm};
                owmesh_table_add(t, cells);
            }
            printf("# %zu expected paths, %s to %s, coverage in %llu s buckets\n", n, a, b,
                   (unsigned long long)bucket);
            printf("# coverage: buckets with measured data (lost packets are data); unmeasured "
                   "time (sessions that could not be set up) is not coverage\n");
            if (t)
                owmesh_table_print(t, stdout);
            owmesh_table_destroy(&t);
            silent_nodes(&ctx, ep, n, NULL, stdout);
        }
        rc = bad ? 2 : 0;
    }
    free(ep);
    owmesh_ctx_close(&ctx);
    return rc;
}
