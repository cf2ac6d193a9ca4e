/*
 * serve_metrics.c - /metrics: every stored path as Prometheus samples, in
 * the text exposition format (version 0.0.4): per family one # HELP and
 * one # TYPE line, then its samples, every family's samples together.
 * Labels src, dst and test (the store's path parameters: the mesh's test
 * name). Figures are over the recent window [now - window, now), the same
 * figures `owmesh query --src S --dst D --since WINDOW -p 50,90,99 --json`
 * gives for a path, in seconds instead of milliseconds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

void serve_prom_label(FILE *fp, const char *value)
{
    for (const char *c = value; *c; c++) {
        if (*c == '\\')
            fputs("\\\\", fp);
        else if (*c == '"')
            fputs("\\\"", fp);
        else if (*c == '\n')
            fputs("\\n", fp);
        else
            fputc(*c, fp);
    }
}

void serve_prom_number(FILE *fp, double v)
{
    if (isnan(v))
        fputs("NaN", fp);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", fp);
    else
        fprintf(fp, "%.17g", v);
}

/* What /metrics says of one path. */
typedef struct path_sample {
    const owmesh_path *path;
    store_row row;
    store_unmeasured_totals unm;
} path_sample;

static const double quantiles[] = {0.5, 0.9, 0.99};
#define NQUANTILES (sizeof quantiles / sizeof quantiles[0])

static int keep_row(const store_row *row, void *arg)
{
    *(store_row *)arg = *row;
    return 1;
}

static owp_status sample_path(const owmesh_ctx *ctx, path_sample *s, owp_num64 from,
                              owp_num64 to, owp_err *err)
{
    double pct[NQUANTILES];
    for (size_t i = 0; i < NQUANTILES; i++)
        pct[i] = quantiles[i] * 100;
    store_query q = {.paths = &s->path->id, .npaths = 1, .from = from, .to = to,
                     .percentiles = pct, .npercentiles = NQUANTILES};
    s->row.empty = 1;
    owp_status st = store_query_run(ctx->store, &q, keep_row, &s->row, err);
    double period_s;
    if (st == OWP_OK)
        st = owmesh_unmeasured(ctx, &s->path->id, 1, from, to, &s->unm, &period_s, err);
    return st;
}

static void labels(FILE *fp, const owmesh_path *p)
{
    fputs("{src=\"", fp);
    serve_prom_label(fp, p->src);
    fputs("\",dst=\"", fp);
    serve_prom_label(fp, p->dst);
    fputs("\",test=\"", fp);
    serve_prom_label(fp, p->params);
    fputc('"', fp);
}

static void family(FILE *fp, const char *name, const char *help)
{
    fprintf(fp, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void sample(FILE *fp, const char *name, const owmesh_path *p, const char *extra,
                   double v)
{
    fputs(name, fp);
    labels(fp, p);
    if (extra)
        fprintf(fp, ",%s", extra);
    fputs("} ", fp);
    serve_prom_number(fp, v);
    fputc('\n', fp);
}

/* The value a family takes from a sample; 0 when the path has none. */
typedef int (*value_fn)(const path_sample *s, double *v);

static int v_sent(const path_sample *s, double *v) { *v = (double)s->row.sent; return 1; }
static int v_lost(const path_sample *s, double *v) { *v = (double)s->row.lost; return 1; }
static int v_dups(const path_sample *s, double *v) { *v = (double)s->row.dups; return 1; }
static int v_reord(const path_sample *s, double *v)
{
    *v = (double)s->row.reordered;
    return 1;
}
static int v_loss(const path_sample *s, double *v)
{
    *v = s->row.sent ? (double)s->row.lost / (double)s->row.sent : 0;
    return s->row.sent != 0;
}
static int v_jitter(const path_sample *s, double *v)
{
    *v = s->row.jitter;
    return s->row.has_delay;
}
static int v_unm(const path_sample *s, double *v)
{
    *v = round(s->unm.total * 1e3) / 1e3;
    return 1;
}

typedef struct simple_family {
    const char *name, *help;
    value_fn value;
} simple_family;

static const simple_family simple[] = {
    {"owmesh_packets_sent", "Test packets sent on the path in the window.", v_sent},
    {"owmesh_packets_lost", "Test packets lost on the path in the window.", v_lost},
    {"owmesh_loss_ratio", "Lost over sent packets in the window (absent when none was sent).",
     v_loss},
    {"owmesh_packets_duplicated", "Duplicate packets received in the window.", v_dups},
    {"owmesh_packets_reordered", "Packets received out of order in the window.", v_reord},
    {"owmesh_jitter_seconds", "Delay jitter (p95 - p50) in the window.", v_jitter},
    {"owmesh_unmeasured_seconds",
     "Seconds of the window the path could not be measured (peer down, refused ...): not loss.",
     v_unm},
};

static void write_delay(FILE *fp, const path_sample *ps, size_t n)
{
    family(fp, "owmesh_delay_seconds",
           "One-way delay quantiles in the window (quantile 0: min, 1: max).");
    for (size_t i = 0; i < n; i++) {
        const store_row *r = &ps[i].row;
        if (!r->has_delay)
            continue;
        sample(fp, "owmesh_delay_seconds", ps[i].path, "quantile=\"0\"", r->min);
        for (size_t q = 0; q < NQUANTILES; q++) {
            char extra[32];
            snprintf(extra, sizeof extra, "quantile=\"%g\"", quantiles[q]);
            sample(fp, "owmesh_delay_seconds", ps[i].path, extra, r->percentiles[q]);
        }
        sample(fp, "owmesh_delay_seconds", ps[i].path, "quantile=\"1\"", r->max);
    }
}

static void write_age(FILE *fp, const path_sample *ps, size_t n, owp_num64 now)
{
    family(fp, "owmesh_data_age_seconds", "Seconds since the send time of the newest stored data.");
    for (size_t i = 0; i < n; i++) {
        owp_num64 newest = ps[i].path->newest;
        if (newest)
            sample(fp, "owmesh_data_age_seconds", ps[i].path, NULL,
                   (double)(int64_t)(now - newest) / 4294967296.0);
    }
}

owp_status serve_metrics_write(const owmesh_ctx *ctx, owp_num64 now, uint64_t window_s,
                               FILE *fp, owp_err *err)
{
    owp_num64 to = now, from = now - (window_s << 32);
    path_sample *ps = calloc(ctx->npaths ? ctx->npaths : 1, sizeof *ps);
    if (!ps)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    owp_status st = OWP_OK;
    for (size_t i = 0; i < ctx->npaths && st == OWP_OK; i++) {
        ps[i].path = &ctx->paths[i];
        st = sample_path(ctx, &ps[i], from, to, err);
    }
    if (st == OWP_OK) {
        family(fp, "owmesh_window_seconds", "The window the per-path figures cover.");
        fprintf(fp, "owmesh_window_seconds %llu\n", (unsigned long long)window_s);
        family(fp, "owmesh_paths", "Paths in the store.");
        fprintf(fp, "owmesh_paths %zu\n", ctx->npaths);
        write_delay(fp, ps, ctx->npaths);
        for (size_t f = 0; f < sizeof simple / sizeof simple[0]; f++) {
            family(fp, simple[f].name, simple[f].help);
            for (size_t i = 0; i < ctx->npaths; i++) {
                double v;
                if (simple[f].value(&ps[i], &v))
                    sample(fp, simple[f].name, ps[i].path, NULL, v);
            }
        }
        write_age(fp, ps, ctx->npaths, now);
    }
    free(ps);
    return st;
}
