/*
 * cmd_query.c - `owmesh query`: delay percentiles, loss, duplicates,
 * reordering, jitter (P95 - P50), IPDV and hop counts of a path, a node, a
 * group or the whole mesh over a period, optionally per bucket, as a table,
 * JSON or CSV.
 * Formats are documented in owmesh(1); change them there too.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyst.h"
#include "cli.h"
#include "cmd_json.h"
#include "grow.h"
#include "render.h"

enum { FORMAT_TABLE, FORMAT_JSON, FORMAT_CSV };
enum { OPT_EVERY = OWMESH_OPT_FIRST_FREE, OPT_JSON, OPT_CSV, OPT_SOURCE, OPT_PER_PATH };

typedef struct series_row {
    const char *path; /* label of the series: the selection, or one path */
    store_row row;
    int partial;      /* a partial first or last --every bucket */
} series_row;

typedef struct query_out {
    series_row *rows;
    size_t n, cap;
    const char *path;
    int nomem;
    store_unmeasured_totals *unm; /* per row: its unmeasured time (unmeasured_rows) */
    double *unm_period;      /* per row: its period in path-seconds */
} query_out;

static int collect_row(const store_row *row, int partial, void *arg)
{
    query_out *q = arg;
    if (owp_grow(&q->rows, q->n, &q->cap, sizeof *q->rows, 64) != 0) {
        q->nomem = 1;
        return 1;
    }
    q->rows[q->n].path = q->path;
    q->rows[q->n].row = *row;
    q->rows[q->n].partial = partial;
    q->n++;
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: owmesh query --mesh FILE [--store DIR|URL] [--src NAME] [--dst NAME] | --node NAME"
            " | --group NAME\n"
            "                    [--since DUR | --from TIME --to TIME] [--every DUR] [-p LIST]\n"
            "                    [--source auto|raw|hist] [--per-path] [--json | --csv]\n");
}

static const char *source_name(store_source s)
{
    return s == STORE_SOURCE_RAW ? "raw" : s == STORE_SOURCE_HIST ? "hist" : "-";
}


/* ---- unmeasured time ----
 * Time the paths could not be measured (peer down, owampd refused ...) is
 * neither data nor loss: each row says how much of its period it was, and
 * why. Loss % stays over the packets of the sessions that ran. */

/* The unmeasured time of rows [first, q->n) of one series of paths. */
static owp_status unmeasured_rows(const owmesh_ctx *ctx, const uint32_t *ids, size_t nids,
                                  query_out *q, size_t first, owp_err *err)
{
    store_unmeasured_totals *unm = realloc(q->unm, (q->n ? q->n : 1) * sizeof *unm);
    if (unm)
        q->unm = unm;
    double *per = realloc(q->unm_period, (q->n ? q->n : 1) * sizeof *per);
    if (per)
        q->unm_period = per;
    if (!unm || !per)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    for (size_t i = first; i < q->n; i++) {
        const store_row *row = &q->rows[i].row;
        owp_status st = owmesh_unmeasured(ctx, ids, nids, row->start, row->end, &q->unm[i],
                                          &q->unm_period[i], err);
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

/* Seconds to the millisecond, as the JSON gives them. */
static double seconds_ms(double s) { return round(s * 1e3) / 1e3; }

/* Table: "60 s (1.7%, peer down)" or "-"; CSV: the seconds, as the JSON's. */
static void unmeasured_cell(const query_out *q, size_t r, int csv, char *buf, size_t len)
{
    const store_unmeasured_totals *u = &q->unm[r];
    if (csv)
        owmesh_format_real(seconds_ms(u->total), buf, len);
    else
        owmesh_format_unmeasured(u->total, q->unm_period[r],
                                 u->nreasons ? owmesh_reason_text(u->r[0].reason) : NULL, buf,
                                 len);
}

/* "measured_s", "unmeasured_s" and "unmeasured": {reason token: seconds}. */
static void unmeasured_json(const query_out *q, size_t r, json_t *o)
{
    const store_unmeasured_totals *u = &q->unm[r];
    double measured = q->unm_period[r] - u->total;
    json_object_set_new(o, "measured_s", json_real(seconds_ms(measured > 0 ? measured : 0)));
    json_object_set_new(o, "unmeasured_s", json_real(seconds_ms(u->total)));
    json_t *by = json_object();
    for (size_t i = 0; i < u->nreasons; i++)
        json_object_set_new(by, u->r[i].reason, json_real(seconds_ms(u->r[i].seconds)));
    json_object_set_new(o, "unmeasured", by);
}

/* ---- table and CSV ---- */

typedef struct columns {
    const char **names;
    size_t n;
} columns;

static void col_add(columns *c, const char *name) { c->names[c->n++] = name; }

static void print_table(const query_out *q, const double *pct, size_t npct, int every,
                        int per_path, int csv, FILE *fp)
{
    char labels[STORE_MAX_PERCENTILES][24];
    const char *names[64];
    columns cols = {names, 0};
    int table = !csv;
    if (per_path || csv)
        col_add(&cols, "path");
    if (every || csv)
        col_add(&cols, "start");
    if (csv)
        col_add(&cols, "end"), col_add(&cols, "partial"), col_add(&cols, "source"),
            col_add(&cols, "rel_error"), col_add(&cols, "abs_error_ms");
    else if (every)
        col_add(&cols, "bucket");
    col_add(&cols, "sent");
    col_add(&cols, "lost");
    col_add(&cols, table ? "loss%" : "loss_pct");
    col_add(&cols, "dups");
    col_add(&cols, table ? "reord" : "reordered");
    if (csv)
        col_add(&cols, "received");
    col_add(&cols, table ? "min" : "min_ms");
    for (size_t i = 0; i < npct; i++) {
        char p[16];
        owmesh_format_percentile(pct[i], p, sizeof p);
        snprintf(labels[i], sizeof labels[i], table ? "p%s" : "p%s_ms", p);
        col_add(&cols, labels[i]);
    }
    col_add(&cols, table ? "max" : "max_ms");
    col_add(&cols, table ? "jitter" : "jitter_ms");
    col_add(&cols, table ? "ipdv" : "ipdv_ms");
    if (csv)
        col_add(&cols, "ipdv_pairs"), col_add(&cols, "hops_min"), col_add(&cols, "hops_max");
    else
        col_add(&cols, "hops"), col_add(&cols, "source");
    col_add(&cols, "unmeasured");

    owmesh_table *t = owmesh_table_new(cols.n, names);
    if (!t)
        return;
    for (size_t c = 0; c < cols.n; c++) /* text columns read from the left */
        if (!strcmp(names[c], "path") || !strcmp(names[c], "bucket") ||
            !strcmp(names[c], "source") || !strcmp(names[c], "unmeasured"))
            owmesh_table_left(t, c);
    char buf[64][48];
    const char *cells[64];
    for (size_t r = 0; r < q->n; r++) {
        const store_row *row = &q->rows[r].row;
        size_t k = 0;
        const char *none = table ? "-" : "";
#define CELL(...) (snprintf(buf[k], sizeof buf[k], __VA_ARGS__), cells[k] = buf[k], k++)
#define REAL(v) (owmesh_format_real((v), buf[k], sizeof buf[k]), cells[k] = buf[k], k++)
#define DELAY(v) (csv ? owmesh_format_real(owmesh_ms_ns(v), buf[k], sizeof buf[k])            \
                      : owmesh_format_ms((v), buf[k], sizeof buf[k]),                          \
                  cells[k] = buf[k], k++)
        if (per_path || csv)
            CELL("%s", q->rows[r].path);
        if (every || csv) {
            owmesh_format_iso(row->start, buf[k], sizeof buf[k]);
            cells[k] = buf[k], k++;
        }
        if (csv) {
            owmesh_format_iso(row->end, buf[k], sizeof buf[k]);
            cells[k] = buf[k], k++;
            CELL("%s", q->rows[r].partial ? "true" : "false");
            CELL("%s", row->empty ? "" : source_name(row->source));
            REAL(row->rel_error);
            REAL(row->abs_error * 1e3);
        } else if (every) {
            CELL("%s", q->rows[r].partial ? "partial" : "whole");
        }
        CELL("%llu", (unsigned long long)row->sent);
        CELL("%llu", (unsigned long long)row->lost);
        if (row->sent && csv)
            REAL(row->loss_pct);
        else if (row->sent)
            CELL("%.3f", row->loss_pct);
        else
            CELL("%s", none);
        CELL("%llu", (unsigned long long)row->dups);
        CELL("%llu", (unsigned long long)row->reordered);
        if (csv)
            CELL("%llu", (unsigned long long)row->received);
        double vals[STORE_MAX_PERCENTILES + 2];
        size_t nv = 0;
        vals[nv++] = row->min;
        for (size_t i = 0; i < npct; i++)
            vals[nv++] = row->percentiles[i];
        vals[nv++] = row->max;
        for (size_t i = 0; i < nv; i++) {
            if (row->has_delay)
                DELAY(vals[i]);
            else
                CELL("%s", none);
        }
        if (row->has_delay)
            DELAY(row->jitter);
        else
            CELL("%s", none);
        if (row->ipdv_pairs)
            DELAY(row->ipdv);
        else
            CELL("%s", none);
        if (csv) {
            CELL("%llu", (unsigned long long)row->ipdv_pairs);
            if (row->hops_min >= 0)
                CELL("%d", row->hops_min), CELL("%d", row->hops_max);
            else
                CELL("%s", ""), CELL("%s", "");
        } else {
            if (row->hops_min < 0)
                CELL("-");
            else if (row->hops_min == row->hops_max)
                CELL("%d", row->hops_min);
            else
                CELL("%d-%d", row->hops_min, row->hops_max);
            if (row->empty)
                CELL("-");
            else if (row->source == STORE_SOURCE_HIST)
                CELL("hist");
            else
                CELL("raw");
        }
#undef CELL
#undef REAL
#undef DELAY
        unmeasured_cell(q, r, csv, buf[k], sizeof buf[k]);
        cells[k] = buf[k], k++;
        if (owmesh_table_add(t, cells) != 0)
            break;
    }
    if (csv)
        owmesh_table_print_csv(t, fp);
    else
        owmesh_table_print(t, fp);
    owmesh_table_destroy(&t);
}

/* ---- JSON ---- */

/* A delay in ms to the nanosecond, or null when it does not exist. */
static json_t *ms_json(int valid, double seconds)
{
    return valid ? json_real(owmesh_ms_ns(seconds)) : json_null();
}

static json_t *row_json(const series_row *sr, const double *pct, size_t npct)
{
    const store_row *row = &sr->row;
    char start[48], end[48];
    owmesh_format_iso(row->start, start, sizeof start);
    owmesh_format_iso(row->end, end, sizeof end);
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b}", "path", sr->path, "start", start, "end",
                          end, "partial", sr->partial, "empty", row->empty);
    json_object_set_new(o, "source", row->empty ? json_null() : json_string(source_name(row->source)));
    json_object_set_new(o, "rel_error", json_real(row->rel_error));
    json_object_set_new(o, "abs_error_ms", json_real(row->abs_error * 1e3));
    json_object_set_new(o, "sent", json_integer((json_int_t)row->sent));
    json_object_set_new(o, "lost", json_integer((json_int_t)row->lost));
    json_object_set_new(o, "loss_pct", row->sent ? json_real(row->loss_pct) : json_null());
    json_object_set_new(o, "dups", json_integer((json_int_t)row->dups));
    json_object_set_new(o, "reordered", json_integer((json_int_t)row->reordered));
    json_object_set_new(o, "received", json_integer((json_int_t)row->received));
    json_object_set_new(o, "min_ms", ms_json(row->has_delay, row->min));
    json_object_set_new(o, "max_ms", ms_json(row->has_delay, row->max));
    json_t *p = json_object();
    for (size_t i = 0; i < npct; i++) {
        char key[24];
        owmesh_format_percentile(pct[i], key, sizeof key);
        json_object_set_new(p, key, ms_json(row->has_delay, row->percentiles[i]));
    }
    json_object_set_new(o, "percentiles_ms", p);
    json_object_set_new(o, "jitter_ms", ms_json(row->has_delay, row->jitter));
    json_object_set_new(o, "ipdv_ms", ms_json(row->ipdv_pairs != 0, row->ipdv));
    json_object_set_new(o, "ipdv_pairs", json_integer((json_int_t)row->ipdv_pairs));
    json_object_set_new(o, "hops_min", row->hops_min >= 0 ? json_integer(row->hops_min) : json_null());
    json_object_set_new(o, "hops_max", row->hops_max >= 0 ? json_integer(row->hops_max) : json_null());
    return o;
}

static void print_json(const query_out *q, const owmesh_ctx *ctx, const uint32_t *ids,
                       size_t nids, const char *label, owp_num64 from, owp_num64 to,
                       uint64_t every, const double *pct, size_t npct, FILE *fp)
{
    char a[48], b[48];
    owmesh_format_iso(from, a, sizeof a);
    owmesh_format_iso(to, b, sizeof b);
    json_t *paths = json_array();
    for (size_t i = 0; i < nids; i++)
        for (size_t j = 0; j < ctx->npaths; j++)
            if (ctx->paths[j].id == ids[i])
                json_array_append_new(paths, json_pack("{s:s, s:s, s:s}", "src", ctx->paths[j].src,
                                                       "dst", ctx->paths[j].dst, "params",
                                                       ctx->paths[j].params));
    json_t *plist = json_array();
    for (size_t i = 0; i < npct; i++)
        json_array_append_new(plist, json_real(pct[i]));
    json_t *rows = json_array();
    for (size_t i = 0; i < q->n; i++) {
        json_t *o = row_json(&q->rows[i], pct, npct);
        unmeasured_json(q, i, o);
        json_array_append_new(rows, o);
    }
    json_t *root = json_pack("{s:s, s:o, s:s, s:s, s:I, s:o, s:o}", "selection", label, "paths",
                             paths, "from", a, "to", b, "every", (json_int_t)every,
                             "percentiles", plist, "rows", rows);
    json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(OWMESH_JSON_PRECISION));
    fputc('\n', fp);
    json_decref(root);
}

/* ---- the command ---- */

typedef struct query_opts {
    owmesh_query_opts q;
    int format;
} query_opts;

void owmesh_query_opts_init(owmesh_query_opts *o)
{
    memset(o, 0, sizeof *o);
    owmesh_common_init(&o->common);
    o->pct[0] = 50;
    o->npct = 1;
    o->source = STORE_SOURCE_AUTO;
}

static int parse_args(int argc, char **argv, query_opts *o)
{
    static const struct option longopts[] = {OWMESH_COMMON_LONGOPTS,
                                             {"every", required_argument, NULL, OPT_EVERY},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"csv", no_argument, NULL, OPT_CSV},
                                             {"source", required_argument, NULL, OPT_SOURCE},
                                             {"per-path", no_argument, NULL, OPT_PER_PATH},
                                             {"percentiles", required_argument, NULL, 'p'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    owp_err err = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
        if (owmesh_common_opt(&o->q.common, c, optarg))
            continue;
        switch (c) {
        case 'p':
            if (owmesh_parse_percentiles(optarg, o->q.pct, &o->q.npct, &err) != OWP_OK) {
                owmesh_error("-p: %s", err.msg);
                return 1;
            }
            break;
        case OPT_EVERY: o->q.every = optarg; break;
        case OPT_JSON: o->format = FORMAT_JSON; break;
        case OPT_CSV: o->format = FORMAT_CSV; break;
        case OPT_PER_PATH: o->q.per_path = 1; break;
        case OPT_SOURCE:
            if (!strcmp(optarg, "auto"))
                o->q.source = STORE_SOURCE_AUTO;
            else if (!strcmp(optarg, "raw"))
                o->q.source = STORE_SOURCE_RAW;
            else if (!strcmp(optarg, "hist"))
                o->q.source = STORE_SOURCE_HIST;
            else {
                owmesh_error("--source: expected auto, raw or hist, got \"%s\"", optarg);
                return 1;
            }
            break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        owmesh_error("query: unexpected argument \"%s\"", argv[optind]);
        usage(stderr);
        return 1;
    }
    return 0;
}

static const char *path_label(const owmesh_ctx *ctx, uint32_t id, char *buf, size_t len)
{
    for (size_t i = 0; i < ctx->npaths; i++)
        if (ctx->paths[i].id == id)
            snprintf(buf, len, "%s -> %s (%s)", ctx->paths[i].src, ctx->paths[i].dst,
                     ctx->paths[i].params);
    return buf;
}

static void print_header(FILE *fp, const char *label, owp_num64 from, owp_num64 to,
                         const query_out *q)
{
    char a[48], b[48];
    owmesh_format_iso(from, a, sizeof a);
    owmesh_format_iso(to, b, sizeof b);
    int raw = 0, hist = 0;
    for (size_t i = 0; i < q->n; i++)
        if (!q->rows[i].row.empty)
            q->rows[i].row.source == STORE_SOURCE_HIST ? hist++ : raw++;
    fprintf(fp, "# %s, %s to %s; delays in ms\n", label, a, b);
    if (raw)
        fprintf(fp, "# source raw: percentiles exact, from the raw records\n");
    if (hist)
        fprintf(fp, "# source hist: percentiles from mergeable histograms, within %g%% "
                    "(relative) or %g ms (absolute) of the exact value\n",
                STORE_HIST_REL_ERROR * 100, STORE_HIST_ABS_ERROR * 1e3);
}

/* The period and the buckets: checked before the store is opened, so a
 * bad option is named before a missing store. */
static owp_status query_period(const owmesh_query_opts *o, owp_num64 *from, owp_num64 *to,
                               uint64_t *every, owp_err *err)
{
    owp_num64 now;
    *every = 0;
    if (owmesh_common_period(&o->common, 3600, &now, from, to, err) != OWP_OK)
        return err->code;
    if (o->every && owmesh_parse_duration(o->every, every, err) != OWP_OK)
        return owp_err_prefix(err, "--every");
    if (*every > UINT32_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "--every: at most %u seconds", UINT32_MAX);
    return OWP_OK;
}

/* "no data for SEL from A to B (the period is empty; ...)". */
static owp_status no_data(const owmesh_ctx *ctx, const uint32_t *ids, size_t nids,
                          const char *label, owp_num64 from, owp_num64 to, owp_err *err)
{
    char a[48], b[48], n[48];
    owp_num64 newest = 0;
    for (size_t i = 0; i < ctx->npaths; i++)
        for (size_t j = 0; j < nids; j++)
            if (ctx->paths[i].id == ids[j] && ctx->paths[i].newest > newest)
                newest = ctx->paths[i].newest;
    owmesh_format_iso(from, a, sizeof a);
    owmesh_format_iso(to, b, sizeof b);
    owmesh_format_iso(newest, n, sizeof n);
    return owp_err_set(err, OWP_ERR_INVALID,
                       "no data for %s from %s to %s (the period is empty; the newest data of %s "
                       "is from %s)", label, a, b, label, n);
}

/* The whole query on an open context, written to fp in format. */
static owp_status query_run(owmesh_ctx *ctx, const owmesh_query_opts *o, int format, FILE *fp,
                            owp_err *err)
{
    owp_num64 from, to;
    uint64_t every;
    if (query_period(o, &from, &to, &every, err) != OWP_OK)
        return err->code;
    uint32_t *ids = NULL;
    size_t nids = 0;
    char label[300];
    if (owmesh_ctx_select(ctx, &o->common, &ids, &nids, label, sizeof label, err) != OWP_OK)
        return err->code;
    query_out q = {0};
    char (*labels)[300] = calloc(nids ? nids : 1, sizeof *labels);
    owp_status st = labels ? OWP_OK : owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    size_t nseries = o->per_path ? nids : 1;
    for (size_t s = 0; st == OWP_OK && s < nseries; s++) {
        store_query qr = {.paths = o->per_path ? &ids[s] : ids,
                              .npaths = o->per_path ? 1 : nids,
                              .from = from, .to = to, .every = (uint32_t)every,
                              .percentiles = o->pct, .npercentiles = o->npct,
                              .source = o->source};
        q.path = o->per_path ? path_label(ctx, ids[s], labels[s], sizeof labels[s]) : label;
        size_t first = q.n;
        st = owmesh_query_buckets(ctx, &qr, collect_row, &q, err);
        if (st == OWP_OK && q.nomem)
            st = owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        if (st == OWP_OK)
            st = unmeasured_rows(ctx, qr.paths, qr.npaths, &q, first, err);
    }
    size_t with_data = 0;
    for (size_t i = 0; i < q.n; i++) /* unmeasured time is worth showing too */
        with_data += !q.rows[i].row.empty || (q.unm && q.unm[i].total > 0);
    if (st == OWP_OK && !with_data) {
        st = no_data(ctx, ids, nids, label, from, to, err);
    } else if (st == OWP_OK && format == FORMAT_JSON) {
        print_json(&q, ctx, ids, nids, label, from, to, every, o->pct, o->npct, fp);
    } else if (st == OWP_OK) {
        if (format == FORMAT_TABLE)
            print_header(fp, label, from, to, &q);
        print_table(&q, o->pct, o->npct, every != 0, o->per_path, format == FORMAT_CSV, fp);
    }
    free(labels);
    free(q.rows);
    free(q.unm);
    free(q.unm_period);
    free(ids);
    return st;
}

owp_status owmesh_query_json(owmesh_ctx *ctx, const owmesh_query_opts *o, FILE *out,
                             owp_err *err)
{
    return query_run(ctx, o, FORMAT_JSON, out, err);
}

owp_status owmesh_query_csv(owmesh_ctx *ctx, const owmesh_query_opts *o, FILE *out,
                            owp_err *err)
{
    return query_run(ctx, o, FORMAT_CSV, out, err);
}

int owmesh_cmd_query(int argc, char **argv)
{
    query_opts o = {.format = FORMAT_TABLE};
    owmesh_query_opts_init(&o.q);
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    owp_err err = {0};
    owp_num64 from, to;
    uint64_t every;
    owmesh_ctx ctx = {0};
    if (query_period(&o.q, &from, &to, &every, &err) != OWP_OK ||
        owmesh_ctx_open(&ctx, &o.q.common, 0, &err) != OWP_OK ||
        query_run(&ctx, &o.q, o.format, stdout, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        rc = 1;
    }
    owmesh_ctx_close(&ctx);
    return rc;
}
