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
 *
 * Rows are sorted by source, then destination. The exit status is a
 * Nagios/Icinga plugin's (nagios.h): 0 OK, 1 WARNING, 2 CRITICAL by the count
 * of stale or missing paths against --warn-paths/--crit-paths, 3 UNKNOWN when
 * the store or the mesh cannot be read (or a bad option); --nagios prints
 * the plugin line.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyst.h"
#include "cli.h"
#include "cmd_json.h"
#include "nagios.h"
#include "render.h"

enum {
    OPT_JSON = OWMESH_OPT_FIRST_FREE, OPT_BUCKET, OPT_STALE, OPT_GRACE, OPT_NAGIOS,
    OPT_WARN_PATHS, OPT_CRIT_PATHS
};

/* Default thresholds: a stale path warns, a quarter of them is critical. */
#define DEFAULT_WARN "1"
#define DEFAULT_CRIT "25%"
#define UNKNOWN OWMESH_NAGIOS_UNKNOWN

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
    fputs("usage: owmesh completeness --mesh FILE [--store DIR|URL] [--since DUR | --from TIME"
          " --to TIME]\n"
          "                           [--bucket DUR] [--stale DUR] [--grace DUR]\n"
          "                           [--json | --nagios] [--warn-paths N] [--crit-paths N]\n"
          "  --nagios      one Nagios/Icinga plugin line with performance data\n"
          "  --warn-paths N, --crit-paths N  stale or missing paths that make the state\n"
          "                WARNING, CRITICAL: a count or a share (default " DEFAULT_WARN ", "
          DEFAULT_CRIT ")\n"
          "exit status (Nagios plugin codes): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the\n"
          "store or the mesh cannot be read, or a bad option)\n",
          fp);
}

static int count_bucket(const store_row *row, int partial, void *arg)
{
    expected_path *e = arg;
    (void)partial; /* a partial bucket with data covers its part as well */
    e->buckets++;
    e->covered += !row->empty;
    return 0;
}

/* Fill newest, coverage and status of one expected path, pair k of pairs. */
static owp_status measure(const owmesh_ctx *ctx, const owmesh_pairs *pairs, size_t k,
                          expected_path *e, owp_num64 now, owp_num64 from, owp_num64 to,
                          uint64_t bucket, owp_err *err)
{
    const uint32_t *ids = &pairs->ids[pairs->first[k]];
    size_t n = pairs->count[k];
    e->newest = pairs->newest[k];
    if (n) {
        store_query q = {.paths = ids, .npaths = n, .from = from, .to = to,
                             .every = (uint32_t)bucket};
        owp_status st = owmesh_query_buckets(ctx, &q, count_bucket, e, err);
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

/* ---- output ---- */

typedef struct report {
    const owmesh_ctx *ctx;
    expected_path *ep;
    size_t n;
    owp_num64 now, from, to;
    uint64_t bucket;
} report;

static double coverage_pct(const expected_path *e)
{
    return e->buckets ? 100.0 * (double)e->covered / (double)e->buckets : 0.0;
}

static void print_json(const report *r, FILE *fp)
{
    char a[48], b[48];
    owmesh_format_iso(r->from, a, sizeof a);
    owmesh_format_iso(r->to, b, sizeof b);
    json_t *rows = json_array(), *silent = json_array();
    for (size_t k = 0; k < r->n; k++) {
        const expected_path *e = &r->ep[k];
        char newest[48], age[48], cov[48];
        format_cells(e, r->now, newest, age, cov, sizeof newest);
        double age_s = e->newest ? (double)(int64_t)(r->now - e->newest) / 4294967296.0 : 0;
        json_t *row = json_pack("{s:s, s:s, s:s, s:s?, s:o, s:f, s:f, s:s}", "src",
                                e->stream->src->name, "dst", e->stream->dst->name, "test",
                                e->stream->test, "newest", e->newest ? newest : NULL, "age_s",
                                e->newest ? json_real(round(age_s * 1e3) / 1e3) : json_null(),
                                "coverage_pct", coverage_pct(e), "stale_after_s", e->threshold,
                                "status", e->status);
        json_t *unm = unmeasured_json(e);
        json_object_update(row, unm);
        json_decref(unm);
        json_array_append_new(rows, row);
    }
    silent_nodes(r->ctx, r->ep, r->n, silent, NULL);
    json_t *root = json_pack("{s:s, s:s, s:I, s:o, s:o}", "from", a, "to", b, "bucket",
                             (json_int_t)r->bucket, "paths", rows, "silent_nodes", silent);
    json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', fp);
    json_decref(root);
}

static void print_table(const report *r)
{
    char a[48], b[48];
    owmesh_format_iso(r->from, a, sizeof a);
    owmesh_format_iso(r->to, b, sizeof b);
    const char *hdr[] = {"src", "dst", "test", "newest", "age", "coverage", "status", "unmeasured"};
    owmesh_table *t = owmesh_table_new(8, hdr);
    for (size_t col = 0; t && col < 4; col++)
        owmesh_table_left(t, col);
    owmesh_table_left(t, 6);
    owmesh_table_left(t, 7);
    for (size_t k = 0; t && k < r->n; k++) {
        const expected_path *e = &r->ep[k];
        char newest[48], age[48], cov[48], unm[96];
        format_cells(e, r->now, newest, age, cov, sizeof newest);
        unmeasured_text(e, unm, sizeof unm);
        const char *cells[] = {e->stream->src->name, e->stream->dst->name, e->stream->test,
                               newest, age, cov, e->status, unm};
        owmesh_table_add(t, cells);
    }
    printf("# %zu expected paths, %s to %s, coverage in %llu s buckets\n", r->n, a, b,
           (unsigned long long)r->bucket);
    printf("# coverage: buckets with measured data (lost packets are data); unmeasured "
           "time (sessions that could not be set up) is not coverage\n");
    if (t)
        owmesh_table_print(t, stdout);
    owmesh_table_destroy(&t);
    silent_nodes(r->ctx, r->ep, r->n, NULL, stdout);
}

typedef struct tally {
    size_t ok, stale, missing;
} tally;

static tally count(const report *r)
{
    tally c = {0};
    for (size_t k = 0; k < r->n; k++) {
        const char *st = r->ep[k].status;
        if (!strcmp(st, "ok"))
            c.ok++;
        else if (!strcmp(st, "stale"))
            c.stale++;
        else
            c.missing++;
    }
    return c;
}

/* "OWMESH COMPLETENESS WARNING - 1 of 12 expected paths stale or missing
 * (1 stale, 0 missing) | paths_ok=11;;;0;12 ..." */
static void print_nagios(const report *r, const owmesh_threshold *warn,
                         const owmesh_threshold *crit, owmesh_nagios_state state)
{
    tally c = count(r);
    double cov = 0;
    for (size_t k = 0; k < r->n; k++)
        cov += coverage_pct(&r->ep[k]);
    char summary[256], perf[512] = "";
    snprintf(summary, sizeof summary,
             "%zu of %zu expected paths stale or missing (%zu stale, %zu missing)",
             c.stale + c.missing, r->n, c.stale, c.missing);
    double total = (double)r->n;
    owmesh_perf_append(perf, sizeof perf, "paths_ok", (double)c.ok, NULL, 0, 0, total);
    owmesh_perf_append(perf, sizeof perf, "paths_bad", (double)(c.stale + c.missing), NULL,
                       owmesh_threshold_count(warn, r->n), owmesh_threshold_count(crit, r->n),
                       total);
    owmesh_perf_append(perf, sizeof perf, "paths_stale", (double)c.stale, NULL, 0, 0, total);
    owmesh_perf_append(perf, sizeof perf, "paths_missing", (double)c.missing, NULL, 0, 0, total);
    owmesh_perf_append(perf, sizeof perf, "coverage", r->n ? round(cov / total * 10) / 10 : 0,
                       "%", 0, 0, 100);
    owmesh_nagios_print(stdout, "COMPLETENESS", state, summary, perf);
}

/* ---- the command ---- */

static int cmp_expected(const void *a, const void *b)
{
    const expected_path *x = a, *y = b;
    int c = strcmp(x->stream->src->name, y->stream->src->name);
    return c ? c : strcmp(x->stream->dst->name, y->stream->dst->name);
}

/* One row per pair of the mesh's streams (the store's paths are named by
 * node pair), measured, sorted by source then destination. */
static owp_status measure_pairs(report *r, const owmesh_pairs *pairs, uint64_t stale,
                                uint64_t grace, owp_err *err)
{
    for (size_t k = 0; k < pairs->n * pairs->n; k++) {
        const owm_stream *s = pairs->expected[k]; /* the pair's first stream */
        if (!s)
            continue;
        expected_path *e = &r->ep[r->n];
        e->stream = s;
        e->threshold = stale ? (double)stale
                             : s->params.packet_count * s->params.packet_interval +
                                   s->params.loss_timeout + (double)grace;
        owp_status st = measure(r->ctx, pairs, k, e, r->now, r->from, r->to, r->bucket, err);
        if (st != OWP_OK)
            return st;
        r->n++;
    }
    return OWP_OK;
}

static owp_status measure_all(report *r, uint64_t stale, uint64_t grace, owp_err *err)
{
    size_t nstreams = owm_mesh_stream_count(r->ctx->mesh);
    r->ep = calloc(nstreams ? nstreams : 1, sizeof *r->ep);
    if (!r->ep)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    owmesh_pairs pairs;
    owp_status st = owmesh_pairs_build(r->ctx, &pairs, err);
    if (st == OWP_OK)
        st = measure_pairs(r, &pairs, stale, grace, err);
    owmesh_pairs_free(&pairs);
    if (st != OWP_OK)
        return st;
    if (r->n)
        qsort(r->ep, r->n, sizeof *r->ep, cmp_expected);
    return OWP_OK;
}

typedef struct completeness_opts {
    owmesh_completeness_opts c;
    int json, nagios;
    owmesh_threshold warn, crit;
} completeness_opts;

void owmesh_completeness_opts_init(owmesh_completeness_opts *o)
{
    memset(o, 0, sizeof *o);
    owmesh_common_init(&o->common);
    o->bucket = "60";
    o->grace = "60";
}

/* The period, the bucket and the thresholds: checked before the store is
 * opened. */
static owp_status report_setup(const owmesh_completeness_opts *o, report *r, uint64_t *stale,
                               uint64_t *grace, owp_err *err)
{
    *stale = 0;
    if (o->common.src || o->common.dst || o->common.node || o->common.group)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "completeness: it covers every expected path; no selection or "
                           "argument");
    if (owmesh_common_period(&o->common, 86400, &r->now, &r->from, &r->to, err) != OWP_OK ||
        (owmesh_parse_duration(o->bucket, &r->bucket, err) != OWP_OK &&
         owp_err_prefix(err, "--bucket")) ||
        (o->stale && owmesh_parse_duration(o->stale, stale, err) != OWP_OK &&
         owp_err_prefix(err, "--stale")) ||
        (owmesh_parse_duration(o->grace, grace, err) != OWP_OK && owp_err_prefix(err, "--grace")))
        return err->code;
    if (r->bucket > UINT32_MAX || (double)((r->to - r->from) >> 32) / (double)r->bucket > 10e6)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "--bucket: too small for the period (at most 10 million buckets)");
    return OWP_OK;
}

owp_status owmesh_completeness_json(owmesh_ctx *ctx, const owmesh_completeness_opts *o,
                                    FILE *out, owp_err *err)
{
    report r = {0};
    uint64_t stale, grace;
    owp_status st = report_setup(o, &r, &stale, &grace, err);
    r.ctx = ctx;
    if (st == OWP_OK)
        st = measure_all(&r, stale, grace, err);
    if (st == OWP_OK)
        print_json(&r, out);
    free(r.ep);
    return st;
}

/* 0 to go on, 1 when --help was answered, -1 on a bad command line. */
static int parse_args(int argc, char **argv, completeness_opts *o)
{
    static const struct option longopts[] = {OWMESH_COMMON_LONGOPTS,
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"nagios", no_argument, NULL, OPT_NAGIOS},
                                             {"warn-paths", required_argument, NULL,
                                              OPT_WARN_PATHS},
                                             {"crit-paths", required_argument, NULL,
                                              OPT_CRIT_PATHS},
                                             {"bucket", required_argument, NULL, OPT_BUCKET},
                                             {"stale", required_argument, NULL, OPT_STALE},
                                             {"grace", required_argument, NULL, OPT_GRACE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    owp_err err = {0};
    owmesh_completeness_opts_init(&o->c);
    owmesh_threshold_parse(DEFAULT_WARN, "--warn-paths", &o->warn, &err);
    owmesh_threshold_parse(DEFAULT_CRIT, "--crit-paths", &o->crit, &err);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (owmesh_common_opt(&o->c.common, c, optarg))
            continue;
        switch (c) {
        case OPT_JSON: o->json = 1; break;
        case OPT_NAGIOS: o->nagios = 1; break;
        case OPT_BUCKET: o->c.bucket = optarg; break;
        case OPT_STALE: o->c.stale = optarg; break;
        case OPT_GRACE: o->c.grace = optarg; break;
        case OPT_WARN_PATHS:
        case OPT_CRIT_PATHS: {
            int warn = c == OPT_WARN_PATHS;
            if (owmesh_threshold_parse(optarg, warn ? "--warn-paths" : "--crit-paths",
                                       warn ? &o->warn : &o->crit, &err) != OWP_OK) {
                owmesh_error("completeness: %s", err.msg);
                return -1;
            }
            break;
        }
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc || o->c.common.src || o->c.common.dst || o->c.common.node || o->c.common.group) {
        owmesh_error("completeness: it covers every expected path; no selection or argument");
        usage(stderr);
        return -1;
    }
    if (o->json && o->nagios) {
        owmesh_error("completeness: --json and --nagios exclude each other");
        return -1;
    }
    return 0;
}

/* UNKNOWN: the error on stderr, and as the plugin line with --nagios. */
static int unknown(const completeness_opts *o, const char *why)
{
    owmesh_error("%s", why);
    if (o->nagios)
        owmesh_nagios_print(stdout, "COMPLETENESS", OWMESH_NAGIOS_UNKNOWN, why, NULL);
    return UNKNOWN;
}

int owmesh_cmd_completeness(int argc, char **argv)
{
    completeness_opts o = {0};
    int p = parse_args(argc, argv, &o);
    if (p)
        return p > 0 ? 0 : UNKNOWN;
    owp_err err = {0};
    report r = {0};
    uint64_t stale, grace;
    if (report_setup(&o.c, &r, &stale, &grace, &err) != OWP_OK)
        return unknown(&o, err.msg);
    owmesh_ctx ctx = {0};
    if (owmesh_ctx_open(&ctx, &o.c.common, 0, &err) != OWP_OK) {
        owmesh_ctx_close(&ctx);
        return unknown(&o, err.msg);
    }
    r.ctx = &ctx;
    int rc;
    if (measure_all(&r, stale, grace, &err) != OWP_OK) {
        rc = unknown(&o, err.msg);
    } else {
        tally c = count(&r);
        owmesh_nagios_state state = owmesh_nagios_judge(c.stale + c.missing, r.n, &o.warn,
                                                        &o.crit);
        if (o.nagios)
            print_nagios(&r, &o.warn, &o.crit, state);
        else if (o.json)
            print_json(&r, stdout);
        else
            print_table(&r);
        rc = fflush(stdout) == 0 ? (int)state : unknown(&o, "writing the report failed");
    }
    free(r.ep);
    owmesh_ctx_close(&ctx);
    return rc;
}
