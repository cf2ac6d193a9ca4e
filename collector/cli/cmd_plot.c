/*
 * cmd_plot.c - `owmesh plot`: delay percentiles (and the minimum) and loss
 * over time for a path, as one self-contained SVG: the delay panel above, a
 * loss panel below, one point per bucket; buckets without data break the
 * lines (never drawn through), so gaps stay visible. The delay axis is
 * scaled to the bulk of the data (render.h: owmesh_scale_top): points above
 * it are drawn at the top edge with a marker whose tooltip gives the true
 * value, so one spike cannot flatten the median into a line at zero; --log
 * draws a logarithmic delay axis instead, with nothing clipped.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyst.h"
#include "cli.h"
#include "grow.h"
#include "render.h"

enum { OPT_EVERY = OWMESH_OPT_FIRST_FREE, OPT_LOG };

#define PLOT_W 960
#define PLOT_H 560
#define LEFT 80.0
#define RIGHT 180.0 /* legend column */
#define DELAY_TOP 70.0
#define DELAY_BOTTOM 380.0
#define LOSS_TOP 420.0
#define LOSS_BOTTOM 500.0

typedef struct rows {
    store_row *v;
    size_t n, cap;
    int nomem;
} rows;

static int collect(const store_row *row, int partial, void *arg)
{
    (void)partial; /* a partial bucket is drawn over the time it covers */
    rows *r = arg;
    if (owp_grow(&r->v, r->n, &r->cap, sizeof *r->v, 128) != 0) {
        r->nomem = 1;
        return 1;
    }
    r->v[r->n++] = *row;
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh plot --mesh FILE [--store DIR|URL] --src NAME --dst NAME\n"
                "                   [--since DUR | --from TIME --to TIME] [--every DUR] [-p LIST]\n"
                "                   [--log] [-o FILE.svg]\n"
                "  the delay axis covers the bulk of the data; points above it are marked at\n"
                "  the top edge (true value in the tooltip); --log: a logarithmic delay axis\n");
}

static const char *series_colour(size_t i)
{
    static const char *const colours[] = {"#1e88e5", "#fb8c00", "#e53935", "#8e24aa",
                                          "#00897b", "#6d4c41", "#3949ab", "#c0ca33"};
    return colours[i % (sizeof colours / sizeof colours[0])];
}

static void time_label(owp_num64 t, int with_date, char *buf, size_t len)
{
    time_t unix_s = (time_t)((int64_t)(t >> 32) - (int64_t)OWP_NTP_UNIX_OFFSET);
    struct tm tm;
    gmtime_r(&unix_s, &tm);
    strftime(buf, len, with_date ? "%m-%d %H:%M" : "%H:%M:%S", &tm);
}

/* Unmeasured intervals of the plotted paths (store_unmeasured_list). */
/* An interval kept beyond its callback: its reason copied. */
typedef struct unm_kept {
    store_unmeasured u; /* without detail and reason: see reason */
    char reason[STORE_REASON_MAX + 1];
} unm_kept;

typedef struct unm_list {
    unm_kept *v;
    size_t n, cap;
    int nomem;
} unm_list;

static int collect_unmeasured(const store_unmeasured *u, void *arg)
{
    unm_list *l = arg;
    if (owp_grow(&l->v, l->n, &l->cap, sizeof *l->v, 32) != 0) {
        l->nomem = 1;
        return 1;
    }
    unm_kept *k = &l->v[l->n++];
    k->u = *u;
    k->u.detail = "";
    snprintf(k->reason, sizeof k->reason, "%s", u->reason);
    k->u.reason = NULL; /* a pointer would not survive the array's growth: k->reason */
    return 0;
}

typedef struct plot {
    const rows *r;
    const unm_list *unm;
    const double *pct;
    size_t npct;
    double t0, t1, ymin, ymax, lmax;
    int log;                 /* logarithmic delay axis over [ymin, ymax], ymin > 0 */
    int clipped;             /* some points lie above ymax */
    double loss_ticks[8];
    size_t nloss_ticks;
} plot;

static double px(const plot *p, owp_num64 t)
{
    double s = (double)(t >> 32) + (uint32_t)t / 4294967296.0;
    return LEFT + (s - p->t0) / (p->t1 - p->t0) * (PLOT_W - LEFT - RIGHT);
}
/* Inside the delay panel always: a point off the axis sits on its edge. */
static double py(const plot *p, double ms)
{
    double f = p->log ? (log10(fmax(ms, p->ymin)) - log10(p->ymin)) /
                            (log10(p->ymax) - log10(p->ymin))
                      : (ms - p->ymin) / (p->ymax - p->ymin);
    return DELAY_BOTTOM - fmin(fmax(f, 0), 1) * (DELAY_BOTTOM - DELAY_TOP);
}

/* Value of series k (0 = min, 1.. = percentiles) of a row, in ms. */
static double series_value(const store_row *row, size_t k)
{
    return (k ? row->percentiles[k - 1] : row->min) * 1e3;
}

static void series_name(const plot *p, size_t k, char *buf, size_t len)
{
    char pl[16];
    if (!k) {
        snprintf(buf, len, "min");
        return;
    }
    owmesh_format_percentile(p->pct[k - 1], pl, sizeof pl);
    snprintf(buf, len, "p%s", pl);
}

/* A marker at the top edge for every point of series k above the axis. */
static void clip_markers(const plot *p, FILE *fp, size_t k, const char *colour)
{
    for (size_t i = 0; p->clipped && i < p->r->n; i++) {
        const store_row *row = &p->r->v[i];
        double v = row->empty || !row->has_delay ? 0 : series_value(row, k);
        if (row->empty || !row->has_delay || v <= p->ymax)
            continue;
        char name[24], at[48], tip[160];
        series_name(p, k, name, sizeof name);
        owmesh_format_iso(row->start, at, sizeof at);
        snprintf(tip, sizeof tip, "%s %s: %.3f ms (above the axis, clipped)", name, at, v);
        owmesh_svg_clip_marker(fp, px(p, row->start + (row->end - row->start) / 2), DELAY_TOP,
                               colour, tip);
    }
}

static void draw_series(const plot *p, FILE *fp, size_t k, const char *colour, double width)
{
    double *xs = malloc(p->r->n * sizeof *xs), *ys = malloc(p->r->n * sizeof *ys);
    size_t n = 0;
    for (size_t i = 0; xs && ys && i <= p->r->n; i++) {
        const store_row *row = i < p->r->n ? &p->r->v[i] : NULL;
        if (row && !row->empty && row->has_delay) {
            owp_num64 mid = row->start + (row->end - row->start) / 2;
            xs[n] = px(p, mid);
            ys[n++] = py(p, series_value(row, k));
            continue;
        }
        owmesh_svg_polyline(fp, xs, ys, n, colour, width); /* a gap ends the line */
        n = 0;
    }
    free(xs);
    free(ys);
}

static void delay_tick(const plot *p, FILE *fp, double v, double zero)
{
    char label[32];
    snprintf(label, sizeof label, "%g", fabs(v) < zero ? 0.0 : v);
    owmesh_svg_line(fp, LEFT, py(p, v), PLOT_W - RIGHT, py(p, v), "#e0e0e0", 1, NULL);
    owmesh_svg_text(fp, LEFT - 6, py(p, v) + 4, "end", 11, "#424242", label);
}

static void delay_ticks(const plot *p, FILE *fp)
{
    if (p->log) {
        double ticks[16];
        size_t n = owmesh_log_ticks(p->ymin, p->ymax, ticks, 10);
        for (size_t i = 0; i < n; i++)
            delay_tick(p, fp, ticks[i], 0);
        return;
    }
    double ystep = owmesh_nice_step(p->ymax - p->ymin, 6);
    for (double v = ceil(p->ymin / ystep) * ystep; v <= p->ymax + ystep * 1e-9; v += ystep)
        delay_tick(p, fp, v, ystep * 1e-9);
}

static double ly(const plot *p, double pct)
{
    return LOSS_BOTTOM - fmin(pct / p->lmax, 1) * (LOSS_BOTTOM - LOSS_TOP);
}

static void loss_ticks(const plot *p, FILE *fp)
{
    for (size_t i = 0; i < p->nloss_ticks; i++) {
        double v = p->loss_ticks[i], y = ly(p, v);
        char label[16];
        snprintf(label, sizeof label, "%g", v);
        if (v > 0)
            owmesh_svg_line(fp, LEFT, y, PLOT_W - RIGHT, y, "#eeeeee", 1, NULL);
        owmesh_svg_text(fp, LEFT - 6, y + 4, "end", 11, "#424242", label);
    }
}

static void axes(const plot *p, FILE *fp, owp_num64 from, owp_num64 to)
{
    delay_ticks(p, fp);
    loss_ticks(p, fp);
    double span = p->t1 - p->t0, tstep = owmesh_nice_step(span, 8);
    static const double steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                   7200, 10800, 21600, 43200, 86400, 172800, 604800};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] >= tstep) {
            tstep = steps[i];
            break;
        }
    for (double s = ceil(p->t0 / tstep) * tstep; s <= p->t1; s += tstep) {
        owp_num64 t = (owp_num64)s << 32;
        char label[32];
        time_label(t, span > 2 * 86400, label, sizeof label);
        double x = px(p, t);
        owmesh_svg_line(fp, x, DELAY_TOP, x, DELAY_BOTTOM, "#eeeeee", 1, NULL);
        owmesh_svg_line(fp, x, LOSS_BOTTOM, x, LOSS_BOTTOM + 4, "#424242", 1, NULL);
        owmesh_svg_text(fp, x, LOSS_BOTTOM + 18, "middle", 11, "#424242", label);
    }
    owmesh_svg_line(fp, LEFT, DELAY_BOTTOM, PLOT_W - RIGHT, DELAY_BOTTOM, "#424242", 1, NULL);
    owmesh_svg_line(fp, LEFT, DELAY_TOP, LEFT, DELAY_BOTTOM, "#424242", 1, NULL);
    owmesh_svg_line(fp, LEFT, LOSS_BOTTOM, PLOT_W - RIGHT, LOSS_BOTTOM, "#424242", 1, NULL);
    owmesh_svg_line(fp, LEFT, LOSS_TOP, LEFT, LOSS_BOTTOM, "#424242", 1, NULL);
    owmesh_svg_text(fp, 30, (DELAY_TOP + DELAY_BOTTOM) / 2, "middle", 12, "#212121",
                    p->log ? "ms (log)" : "ms");
    owmesh_svg_text(fp, 30, (LOSS_TOP + LOSS_BOTTOM) / 2, "middle", 12, "#212121", "loss %");
    char a[48], b[48], span_text[160];
    owmesh_format_iso(from, a, sizeof a);
    owmesh_format_iso(to, b, sizeof b);
    snprintf(span_text, sizeof span_text, "time (UTC), %s to %s", a, b);
    owmesh_svg_text(fp, (LEFT + PLOT_W - RIGHT) / 2, LOSS_BOTTOM + 40, "middle", 12, "#212121",
                    span_text);
}

static void loss_bars(const plot *p, FILE *fp)
{
    for (size_t i = 0; i < p->r->n; i++) {
        const store_row *row = &p->r->v[i];
        double x0 = px(p, row->start), x1 = px(p, row->end);
        if (row->empty) { /* no data: a grey band across both panels, not zero loss */
            owmesh_svg_rect(fp, x0, DELAY_TOP, fmax(x1 - x0, 1), LOSS_BOTTOM - DELAY_TOP,
                            "#f5f5f5", NULL, "no data");
            continue;
        }
        if (!row->lost)
            continue;
        double h = LOSS_BOTTOM - ly(p, row->loss_pct);
        char tip[96];
        snprintf(tip, sizeof tip, "loss %.2f%% (%llu of %llu)", row->loss_pct,
                 (unsigned long long)row->lost, (unsigned long long)row->sent);
        owmesh_svg_rect(fp, x0, LOSS_BOTTOM - h, fmax(x1 - x0 - 1, 1), h, "#e53935", NULL, tip);
    }
}

/* Unmeasured time: hatched grey across both panels, its reason written in
 * it when there is room: not loss, not missing data. */
static void unmeasured_bands(const plot *p, FILE *fp)
{
    for (size_t i = 0; i < p->unm->n; i++) {
        const store_unmeasured *u = &p->unm->v[i].u;
        double x0 = fmax(px(p, u->start), LEFT), x1 = fmin(px(p, u->end), PLOT_W - RIGHT);
        if (x1 <= x0)
            continue;
        const char *why = owmesh_reason_text(p->unm->v[i].reason);
        char tip[160];
        snprintf(tip, sizeof tip, "unmeasured %.0f s: %s",
                 owp_num64_to_double(u->end - u->start), why);
        owmesh_svg_rect(fp, x0, DELAY_TOP, fmax(x1 - x0, 1), LOSS_BOTTOM - DELAY_TOP,
                        OWMESH_SVG_UNMEASURED_FILL, NULL, tip);
        if (x1 - x0 >= 7.0 * (double)strlen(why))
            owmesh_svg_text(fp, (x0 + x1) / 2, DELAY_TOP + 16, "middle", 11, "#212121", why);
    }
}

static void legend(const plot *p, FILE *fp, int hist)
{
    double x = PLOT_W - RIGHT + 16, y = DELAY_TOP + 10;
    for (size_t k = 0; k <= p->npct; k++) {
        char label[32];
        series_name(p, k, label, sizeof label);
        owmesh_svg_line(fp, x, y, x + 24, y, k ? series_colour(k - 1) : "#9e9e9e", 2, NULL);
        owmesh_svg_text(fp, x + 30, y + 4, "start", 12, "#212121", label);
        y += 20;
    }
    owmesh_svg_rect(fp, x, y - 6, 24, 10, "#e53935", NULL, NULL);
    owmesh_svg_text(fp, x + 30, y + 4, "start", 12, "#212121", "loss");
    y += 20;
    owmesh_svg_rect(fp, x, y - 6, 24, 10, "#f5f5f5", "#bdbdbd", NULL);
    owmesh_svg_text(fp, x + 30, y + 4, "start", 12, "#212121", "no data");
    y += 20;
    owmesh_svg_rect(fp, x, y - 6, 24, 10, OWMESH_SVG_UNMEASURED_FILL, "#9e9e9e", NULL);
    owmesh_svg_text(fp, x + 30, y + 4, "start", 12, "#212121", "unmeasured");
    if (p->clipped) {
        y += 20;
        owmesh_svg_clip_marker(fp, x + 12, y - 7, "#ffffff", "a point above the axis");
        owmesh_svg_text(fp, x + 30, y + 4, "start", 12, "#212121", "above the axis");
        owmesh_svg_text(fp, x + 30, y + 18, "start", 11, "#616161", "(value in its tooltip)");
        y += 14;
    }
    y += 28;
    owmesh_svg_text(fp, x, y, "start", 11, "#616161",
                    hist ? "percentiles within 1%" : "percentiles exact");
    owmesh_svg_text(fp, x, y + 14, "start", 11, "#616161",
                    hist ? "(histograms)" : "(raw records)");
}

/* The loss axis (nice ticks) and the delay axis: linear, scaled to the bulk
 * of every series; or logarithmic, whole decades around every positive
 * point. */
static owp_status scale(plot *p, owp_err *err)
{
    double max_loss = 0, lo = INFINITY, hi = -INFINITY, minpos = INFINITY, bulk = -INFINITY;
    double *v = malloc((p->r->n ? p->r->n : 1) * sizeof *v);
    if (!v)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k <= p->npct; k++) {
        size_t n = 0;
        for (size_t i = 0; i < p->r->n; i++) {
            const store_row *row = &p->r->v[i];
            if (!row->empty)
                max_loss = fmax(max_loss, row->loss_pct);
            if (row->empty || !row->has_delay)
                continue;
            v[n] = series_value(row, k);
            lo = fmin(lo, v[n]);
            hi = fmax(hi, v[n]);
            if (v[n] > 0)
                minpos = fmin(minpos, v[n]);
            n++;
        }
        if (n)
            bulk = fmax(bulk, owmesh_scale_bulk(v, n));
    }
    free(v);
    p->nloss_ticks = owmesh_loss_ticks(max_loss, p->loss_ticks);
    p->lmax = p->loss_ticks[p->nloss_ticks - 1];
    if (!isfinite(hi)) { /* no delay at all (everything lost, or unmeasured) */
        p->log = 0;
        p->ymin = 0, p->ymax = 1;
        return OWP_OK;
    }
    if (p->log && isfinite(minpos)) {
        p->ymin = pow(10, floor(log10(minpos)));
        p->ymax = pow(10, ceil(log10(hi)));
        if (p->ymax <= p->ymin)
            p->ymax = p->ymin * 10;
        return OWP_OK;
    }
    p->log = 0; /* no positive delay to put on a log axis */
    p->ymin = fmin(0, lo);
    p->ymax = owmesh_scale_top(bulk, hi, lo, &p->clipped);
    return OWP_OK;
}

static void render(const plot *p, FILE *fp, const char *label, owp_num64 from, owp_num64 to)
{
    char title[400];
    snprintf(title, sizeof title, "owmesh: delay and loss, %s", label);
    owmesh_svg_begin(fp, PLOT_W, PLOT_H, title);
    owmesh_svg_unmeasured_defs(fp);
    owmesh_svg_text(fp, LEFT, 30, "start", 18, "#212121", title);
    int hist = 0;
    for (size_t i = 0; i < p->r->n; i++)
        hist |= !p->r->v[i].empty && p->r->v[i].source == STORE_SOURCE_HIST;
    loss_bars(p, fp);
    unmeasured_bands(p, fp);
    axes(p, fp, from, to);
    draw_series(p, fp, 0, "#9e9e9e", 1.5);
    for (size_t k = 1; k <= p->npct; k++)
        draw_series(p, fp, k, series_colour(k - 1), 2);
    clip_markers(p, fp, 0, "#9e9e9e");
    for (size_t k = 1; k <= p->npct; k++)
        clip_markers(p, fp, k, series_colour(k - 1));
    legend(p, fp, hist);
    owmesh_svg_end(fp);
}

int owmesh_cmd_plot(int argc, char **argv)
{
    static const struct option longopts[] = {OWMESH_COMMON_LONGOPTS,
                                             {"every", required_argument, NULL, OPT_EVERY},
                                             {"percentiles", required_argument, NULL, 'p'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"log", no_argument, NULL, OPT_LOG},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    owmesh_common common;
    owmesh_common_init(&common);
    double pct[STORE_MAX_PERCENTILES] = {50, 90, 99};
    size_t npct = 3;
    const char *every_s = NULL, *out = NULL;
    int log_axis = 0;
    owp_err err = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:o:h", longopts, NULL)) != -1) {
        if (owmesh_common_opt(&common, c, optarg))
            continue;
        switch (c) {
        case 'p':
            if (owmesh_parse_percentiles(optarg, pct, &npct, &err) != OWP_OK) {
                owmesh_error("-p: %s", err.msg);
                return 1;
            }
            break;
        case OPT_EVERY: every_s = optarg; break;
        case 'o': out = optarg; break;
        case OPT_LOG: log_axis = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc || !common.src || !common.dst) {
        owmesh_error("plot: give the path with --src NAME --dst NAME");
        usage(stderr);
        return 1;
    }
    owp_num64 now, from, to;
    uint64_t every = 0;
    if (owmesh_common_period(&common, 3600, &now, &from, &to, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    if (every_s && owmesh_parse_duration(every_s, &every, &err) != OWP_OK) {
        owmesh_error("--every: %s", err.msg);
        return 1;
    }
    uint64_t span = (to - from) >> 32;
    if (!every) /* about 120 points across the plot */
        every = span / 120 ? span / 120 : 1;
    if (every > UINT32_MAX || span / every > 100000) {
        owmesh_error("--every: %llu buckets are too many to plot (at most 100000)",
                     (unsigned long long)(span / every));
        return 1;
    }
    owmesh_ctx ctx = {0};
    uint32_t *ids = NULL;
    size_t nids = 0;
    char label[300];
    rows r = {0};
    unm_list u = {0};
    int rc = 1;
    if (owmesh_ctx_open(&ctx, &common, 0, &err) != OWP_OK ||
        owmesh_ctx_select(&ctx, &common, &ids, &nids, label, sizeof label, &err) != OWP_OK)
        goto fail;
    store_query q = {.paths = ids, .npaths = nids, .from = from, .to = to,
                         .every = (uint32_t)every, .percentiles = pct, .npercentiles = npct};
    if (owmesh_query_buckets(&ctx, &q, collect, &r, &err) != OWP_OK)
        goto fail;
    for (size_t i = 0; i < nids && !u.nomem; i++)
        if (store_unmeasured_list(ctx.store, ids[i], from, to, collect_unmeasured, &u,
                                      &err) != OWP_OK)
            goto fail;
    if (r.nomem || u.nomem) {
        owp_err_set(&err, OWP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    plot p = {.r = &r, .unm = &u, .pct = pct, .npct = npct, .log = log_axis};
    p.t0 = (double)(from >> 32) + (uint32_t)from / 4294967296.0;
    p.t1 = (double)(to >> 32) + (uint32_t)to / 4294967296.0;
    if (scale(&p, &err) != OWP_OK)
        goto fail;
    size_t with_data = 0;
    for (size_t i = 0; i < r.n; i++)
        with_data += !r.v[i].empty;
    if (!with_data && !u.n) {
        char a[48], b[48];
        owmesh_format_iso(from, a, sizeof a);
        owmesh_format_iso(to, b, sizeof b);
        owp_err_set(&err, OWP_ERR_INVALID, "no data for %s from %s to %s (the period is empty)",
                    label, a, b);
        goto fail;
    }
    FILE *fp = out ? fopen(out, "w") : stdout;
    if (!fp) {
        owp_err_sys(&err, "%s", out);
        goto fail;
    }
    render(&p, fp, label, from, to);
    if (out && fclose(fp) != 0) {
        owp_err_sys(&err, "%s", out);
        goto fail;
    }
    rc = 0;
fail:
    if (rc)
        owmesh_error("%s", err.msg);
    free(r.v);
    free(u.v);
    free(ids);
    owmesh_ctx_close(&ctx);
    return rc;
}
