/*
 * cmd_grid.c - `owmesh grid`: the mesh as a matrix, rows sources, columns
 * destinations, of one statistic over a period, classified by thresholds in
 * the manner of a MaDDash dashboard: in the terminal (coloured on a TTY), as
 * a self-contained SVG, and as an HTML page embedding that SVG and a table.
 * A path the mesh expects with no data in the period is "missing", never
 * good; a pair the mesh does not measure and nobody stored stays blank.
 * Delay statistics are judged against each path's own baseline (render.h:
 * owmesh_relative_thresholds) unless --warn/--crit give absolute values.
 * Rows and columns are the mesh's nodes in the order its file lists them.
 * With --html the page is the whole output: nothing goes to stdout (a job
 * that publishes the page stays quiet); --svg alone keeps the terminal grid.
 * --json gives the same cells as data (owmesh_grid_json, cmd_json.h): what
 * the dashboard of `owmesh serve` draws.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyst.h"
#include "cli.h"
#include "cmd_json.h"
#include "render.h"

enum {
    OPT_STAT = OWMESH_OPT_FIRST_FREE, OPT_WARN, OPT_CRIT, OPT_HTML, OPT_SVG, OPT_COLOR, OPT_JSON
};

typedef struct grid_cell {
    owmesh_cell cell;
    int expected;
    const owm_stream *stream; /* the mesh's first stream of the pair, when expected */
    store_row row;
    int has_row;
    store_unmeasured_totals unm; /* unmeasured time of the cell's paths in the period */
    double period_s;        /* the period in path-seconds */
    int has_baseline;       /* relative thresholds: the baseline was measured */
    double baseline_ms;
    double warn, crit;      /* this cell's thresholds */
} grid_cell;

typedef struct grid {
    const owmesh_ctx *ctx;
    size_t n;             /* nodes */
    grid_cell *cells;     /* n * n, [src * n + dst] */
    owmesh_stat stat;
    double warn, crit;    /* absolute thresholds (unless relative) */
    int relative;         /* delay thresholds from each path's baseline */
    owp_num64 from, to;
} grid;

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh grid --mesh FILE [--store DIR|URL] [--since DUR | --from TIME --to TIME]\n"
                "                   [--stat median|pN|min|max|loss|loss-count|jitter|dups|reordered]\n"
                "                   [--warn X] [--crit Y] [--color auto|always|never]\n"
                "                   [--svg FILE] [--html FILE] [--json]\n"
                "  rows are sources, columns destinations, in the mesh file's node order;\n"
                "  with --html nothing is printed: the page is the output\n");
}

static const char *node_name(const grid *g, size_t i)
{
    return owm_mesh_node(g->ctx->mesh, i)->name;
}

/* The cells' queries, asked together (store_query_many: one prefetch for
 * the whole grid, which a ClickHouse store needs to answer thousands of
 * cells fast): cell[i] is the cell query i answers. */
typedef struct cell_queries {
    store_query *q;
    grid_cell **cell;
    size_t n;
} cell_queries;

static int cell_row(size_t i, const store_row *row, void *arg)
{
    grid_cell *c = ((const cell_queries *)arg)->cell[i];
    c->row = *row;
    c->has_row = 1;
    return 0;
}

static int baseline_row(size_t i, const store_row *row, void *arg)
{
    grid_cell *c = ((const cell_queries *)arg)->cell[i];
    c->has_baseline = !row->empty && row->has_delay;
    c->baseline_ms = row->percentiles[0] * 1e3;
    return 0;
}

static void add_query(cell_queries *cq, grid_cell *c, const uint32_t *ids, size_t nids,
                      owp_num64 from, owp_num64 to, const double *p)
{
    cq->q[cq->n] = (store_query){.paths = ids, .npaths = nids, .from = from, .to = to,
                                 .percentiles = p, .npercentiles = 1};
    cq->cell[cq->n++] = c;
}

/* The statistic of every cell with data, and with relative thresholds the
 * baseline of its paths over the look-back window ending with the period. */
static owp_status query_cells(grid *g, const owmesh_pairs *pairs, owp_err *err)
{
    size_t ncells = g->n * g->n;
    cell_queries stat = {calloc(ncells + 1, sizeof *stat.q), calloc(ncells + 1, sizeof *stat.cell), 0};
    cell_queries base = {calloc(ncells + 1, sizeof *base.q), calloc(ncells + 1, sizeof *base.cell), 0};
    owp_status st = OWP_OK;
    if (!stat.q || !stat.cell || !base.q || !base.cell)
        st = owp_err_set(err, OWP_ERR_NOMEM, "grid: out of memory");
    static const double baseline_p = OWMESH_BASELINE_PERCENTILE;
    double p = g->stat.kind == OWMESH_STAT_PERCENTILE ? g->stat.percentile : 50;
    owp_num64 lookback = (owp_num64)OWMESH_BASELINE_DAYS * 86400 << 32;
    owp_num64 base_from = g->to - g->from > lookback || g->to < lookback ? g->from
                                                                          : g->to - lookback;
    for (size_t k = 0; k < ncells && !st; k++) {
        if (!pairs->count[k])
            continue;
        const uint32_t *ids = &pairs->ids[pairs->first[k]];
        add_query(&stat, &g->cells[k], ids, pairs->count[k], g->from, g->to, &p);
        if (g->relative)
            add_query(&base, &g->cells[k], ids, pairs->count[k], base_from, g->to, &baseline_p);
    }
    if (!st && stat.n)
        st = store_query_many(g->ctx->store, stat.q, stat.n, cell_row, &stat, err);
    if (!st && base.n)
        st = store_query_many(g->ctx->store, base.q, base.n, baseline_row, &base, err);
    free(stat.q);
    free(stat.cell);
    free(base.q);
    free(base.cell);
    return st;
}

/* The cell's thresholds: the grid's, or relative to its baseline. */
static void cell_thresholds(const grid *g, grid_cell *c, size_t nids)
{
    c->warn = g->warn;
    c->crit = g->crit;
    if (!g->relative || !nids)
        return;
    if (c->has_baseline)
        owmesh_relative_thresholds(c->baseline_ms, &c->warn, &c->crit);
    else
        c->warn = c->crit = INFINITY; /* no delay at all: nothing to judge a delay by */
}

static owp_status fill_cells(grid *g, const owmesh_pairs *pairs, owp_err *err)
{
    owp_status st = query_cells(g, pairs, err);
    for (size_t s = 0; s < g->n && !st; s++)
        for (size_t d = 0; d < g->n && !st; d++) {
            size_t k = s * g->n + d;
            grid_cell *c = &g->cells[k];
            c->stream = pairs->expected[k];
            c->expected = c->stream != NULL;
            const uint32_t *ids = &pairs->ids[pairs->first[k]];
            size_t nids = pairs->count[k];
            if (nids)
                st = owmesh_unmeasured(g->ctx, ids, nids, g->from, g->to, &c->unm,
                                       &c->period_s, err);
            cell_thresholds(g, c, nids);
            owmesh_cell_classify(&g->stat, c->warn, c->crit, c->expected,
                                 c->has_row ? &c->row : NULL, &c->cell);
            if (c->unm.nreasons)
                owmesh_cell_unmeasured(&c->cell, c->unm.total, c->period_s,
                                       owmesh_reason_text(c->unm.r[0].reason));
        }
    return st;
}

static owp_status fill(grid *g, owp_err *err)
{
    owmesh_pairs pairs;
    owp_status st = owmesh_pairs_build(g->ctx, &pairs, err);
    if (st == OWP_OK)
        st = fill_cells(g, &pairs, err);
    owmesh_pairs_free(&pairs);
    return st;
}

/* ---- terminal ---- */

static void print_terminal(const grid *g, int colour, FILE *fp)
{
    size_t w0 = strlen("src \\ dst"), w = 8;
    for (size_t i = 0; i < g->n; i++) {
        size_t l = strlen(node_name(g, i));
        w0 = l > w0 ? l : w0;
        w = l > w ? l : w;
    }
    for (size_t i = 0; i < g->n * g->n; i++) {
        size_t l = strlen(g->cells[i].cell.text) + (colour ? 0 : 8);
        w = l > w ? l : w;
    }
    fprintf(fp, "%-*s", (int)w0, "src \\ dst");
    for (size_t d = 0; d < g->n; d++)
        fprintf(fp, "  %*s", (int)w, node_name(g, d));
    fputc('\n', fp);
    for (size_t s = 0; s < g->n; s++) {
        fprintf(fp, "%-*s", (int)w0, node_name(g, s));
        for (size_t d = 0; d < g->n; d++) {
            const owmesh_cell *c = &g->cells[s * g->n + d].cell;
            char text[64];
            if (colour || c->cls == OWMESH_CELL_NONE || c->cls == OWMESH_CELL_MISSING ||
                c->cls == OWMESH_CELL_UNMEASURED)
                snprintf(text, sizeof text, "%s", c->cls == OWMESH_CELL_NONE ? "." : c->text);
            else
                snprintf(text, sizeof text, "%s %s", c->text, owmesh_cell_class_name(c->cls));
            const char *on = colour ? owmesh_cell_class_ansi(c->cls) : "";
            fprintf(fp, "  %s%*s%s", on, (int)w, text, *on ? "\033[0m" : "");
        }
        fputc('\n', fp);
    }
}

/* ---- SVG and HTML ---- */

/* "; unmeasured 60 s (1.7%): peer down 50 s, control timeout 10 s" */
static void unmeasured_tip(const grid_cell *c, char *buf, size_t len)
{
    char part[128];
    owmesh_format_unmeasured(c->unm.total, c->period_s, owmesh_reason_text(c->unm.r[0].reason),
                             part, sizeof part);
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "; unmeasured %s (not loss)", part);
    for (size_t i = 1; i < c->unm.nreasons; i++) {
        used = strlen(buf);
        snprintf(buf + used, len - used, ", %s %.0f s", owmesh_reason_text(c->unm.r[i].reason),
                 c->unm.r[i].seconds);
    }
}

static void cell_tooltip(const grid *g, size_t s, size_t d, char *buf, size_t len)
{
    const grid_cell *c = &g->cells[s * g->n + d];
    int n = snprintf(buf, len, "%s -> %s: %s %s%s (%s)", node_name(g, s), node_name(g, d),
                     g->stat.name, c->cell.has_value ? c->cell.text : "",
                     c->cell.has_value && strcmp(g->stat.unit, "%") ? g->stat.unit : "",
                     owmesh_cell_class_name(c->cell.cls));
    if (c->has_row && !c->row.empty && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "; sent %llu, lost %llu (%.2f%%), dups %llu",
                 (unsigned long long)c->row.sent, (unsigned long long)c->row.lost,
                 c->row.loss_pct, (unsigned long long)c->row.dups);
    if (c->unm.nreasons && n > 0)
        unmeasured_tip(c, buf, len);
    if (g->relative && c->has_baseline && n > 0) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "; baseline (p%g, %d days) %.3f ms: warn >= %.3f, "
                 "crit >= %.3f", OWMESH_BASELINE_PERCENTILE, OWMESH_BASELINE_DAYS,
                 c->baseline_ms, c->warn, c->crit);
    }
    if (!c->expected && c->has_row && n > 0)
        strncat(buf, "; not a path of the mesh", len - strlen(buf) - 1);
}

/* "warn >= 0.1, crit >= 1", or the relative rule. */
static void threshold_text(const grid *g, char *buf, size_t len)
{
    if (g->relative)
        owmesh_relative_rule_text(buf, len);
    else
        snprintf(buf, len, "warn >= %g, crit >= %g", g->warn, g->crit);
}

/* Two short lines, so the reason fits the cell: "unmeasured" / "peer down". */
static void unmeasured_label(const grid_cell *c, double cx, double cy, FILE *fp)
{
    owmesh_svg_text(fp, cx, cy - 3, "middle", 11, "#212121", "unmeasured");
    owmesh_svg_text(fp, cx, cy + 11, "middle", 10, "#212121",
                    owmesh_reason_text(c->unm.r[0].reason));
}

/* The legend row below the grid: its six entries at ~7 px a character. */
#define LEGEND_WIDTH 800

static void write_svg(const grid *g, FILE *fp)
{
    size_t longest = 4;
    for (size_t i = 0; i < g->n; i++)
        longest = strlen(node_name(g, i)) > longest ? strlen(node_name(g, i)) : longest;
    double cw = fmax(96, (double)longest * 7.5 + 16), ch = 40, left = (double)longest * 7.5 + 40;
    double n = (double)g->n;
    double top = g->relative ? 136 : 110;
    int width = (int)(left + cw * n + 20), height = (int)(top + ch * n + 80);
    /* Wide enough for the relative rule and for the whole legend row. */
    if (width < (g->relative ? 620 : 560))
        width = g->relative ? 620 : 560;
    if (width < LEGEND_WIDTH)
        width = LEGEND_WIDTH;
    char title[200], sub[400], a[48], b[48];
    snprintf(title, sizeof title, "owmesh grid: %s (%s)", g->stat.name, g->stat.unit);
    owmesh_format_iso(g->from, a, sizeof a);
    owmesh_format_iso(g->to, b, sizeof b);
    snprintf(sub, sizeof sub, "%s to %s", a, b);
    owmesh_svg_begin(fp, width, height, title);
    owmesh_svg_unmeasured_defs(fp);
    owmesh_svg_text(fp, 16, 26, "start", 18, "#212121", title);
    owmesh_svg_text(fp, 16, 48, "start", 12, "#424242", sub);
    threshold_text(g, sub, sizeof sub);
    char *rule = g->relative ? strstr(sub, "): ") : NULL;
    if (rule) { /* the relative rule on two lines: what the baseline is, then the margins */
        rule[1] = '\0';
        owmesh_svg_text(fp, 16, 66, "start", 12, "#424242", sub);
        owmesh_svg_text(fp, 16, 82, "start", 12, "#424242", rule + 3);
        owmesh_svg_text(fp, 16, 98, "start", 12, "#424242", "rows: sources, columns: destinations");
    } else {
        strncat(sub, "; rows: sources, columns: destinations", sizeof sub - strlen(sub) - 1);
        owmesh_svg_text(fp, 16, 66, "start", 12, "#424242", sub);
    }
    owmesh_svg_text(fp, left - 8, top - 12, "end", 11, "#757575", "src \\ dst");
    for (size_t d = 0; d < g->n; d++)
        owmesh_svg_text(fp, left + cw * (double)d + cw / 2, top - 12, "middle", 12, "#212121",
                        node_name(g, d));
    for (size_t s = 0; s < g->n; s++) {
        owmesh_svg_text(fp, left - 8, top + ch * (double)s + ch / 2 + 4, "end", 12, "#212121",
                        node_name(g, s));
        for (size_t d = 0; d < g->n; d++) {
            const owmesh_cell *c = &g->cells[s * g->n + d].cell;
            char tip[400];
            cell_tooltip(g, s, d, tip, sizeof tip);
            double x = left + cw * (double)d, y = top + ch * (double)s;
            owmesh_svg_rect(fp, x, y, cw, ch, owmesh_cell_class_fill(c->cls), "#ffffff", tip);
            if (c->cls == OWMESH_CELL_UNMEASURED)
                unmeasured_label(&g->cells[s * g->n + d], x + cw / 2, y + ch / 2, fp);
            else if (c->cls != OWMESH_CELL_NONE)
                owmesh_svg_text(fp, x + cw / 2, y + ch / 2 + 4, "middle", 12,
                                c->cls == OWMESH_CELL_CRIT ? "#ffffff" : "#212121", c->text);
        }
    }
    /* Legend: every class, so grey is never mistaken for good. */
    static const owmesh_cell_class legend[] = {OWMESH_CELL_GOOD,       OWMESH_CELL_WARN,
                                               OWMESH_CELL_CRIT,       OWMESH_CELL_MISSING,
                                               OWMESH_CELL_UNMEASURED, OWMESH_CELL_NONE};
    static const char *const legend_text[] = {"good", "warn", "crit", "missing (no data)",
                                              "unmeasured (reason in the cell)",
                                              "not in the mesh"};
    double lx = 16, ly = top + ch * n + 30;
    for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++) {
        owmesh_svg_rect(fp, lx, ly, 14, 14, owmesh_cell_class_fill(legend[i]), "#9e9e9e", NULL);
        owmesh_svg_text(fp, lx + 20, ly + 11, "start", 12, "#212121", legend_text[i]);
        lx += 20 + (double)strlen(legend_text[i]) * 7.0 + 20;
    }
    owmesh_svg_end(fp);
}

static int write_html(const grid *g, const char *file)
{
    FILE *fp = fopen(file, "w");
    if (!fp)
        return -1;
    char a[48], b[48];
    owmesh_format_iso(g->from, a, sizeof a);
    owmesh_format_iso(g->to, b, sizeof b);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", fp);
    fprintf(fp, "owmesh grid: ");
    owmesh_xml_escape(fp, g->stat.name);
    fputs("</title>\n<style>\n"
          "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#212121}\n"
          "table{border-collapse:collapse;margin-top:16px}\n"
          "td,th{border:1px solid #e0e0e0;padding:4px 10px;text-align:right}\n"
          "th{background:#fafafa}\n"
          ".good{background:#43a047}.warn{background:#fbc02d}.crit{background:#e53935;color:#fff}\n"
          ".missing{background:#9e9e9e}.none{background:#f5f5f5}\n"
          ".unmeasured{background:repeating-linear-gradient(45deg,#e0e0e0 0 4px,#9e9e9e 4px 6px)}\n"
          "</style>\n</head>\n<body>\n<h1>owmesh grid</h1>\n<p>", fp);
    owmesh_xml_escape(fp, g->stat.name);
    char rule[400];
    threshold_text(g, rule, sizeof rule);
    fprintf(fp, " (%s), %s to %s; ", g->stat.unit, a, b);
    owmesh_xml_escape(fp, rule);
    fprintf(fp, ". A path with no data in the "
                "period is <em>missing</em>; one mostly <em>unmeasured</em> (its sessions could "
                "not be set up: peer down, owampd refused ...) is hatched grey with its reason: "
                "unmeasured time is not loss.</p>\n");
    write_svg(g, fp);
    fputs("<table>\n<tr><th>src \\ dst</th>", fp);
    for (size_t d = 0; d < g->n; d++) {
        fputs("<th>", fp);
        owmesh_xml_escape(fp, node_name(g, d));
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    for (size_t s = 0; s < g->n; s++) {
        fputs("<tr><th>", fp);
        owmesh_xml_escape(fp, node_name(g, s));
        fputs("</th>", fp);
        for (size_t d = 0; d < g->n; d++) {
            const owmesh_cell *c = &g->cells[s * g->n + d].cell;
            char tip[400];
            cell_tooltip(g, s, d, tip, sizeof tip);
            fprintf(fp, "<td class=\"%s\" title=\"", owmesh_cell_class_name(c->cls));
            owmesh_xml_escape(fp, tip);
            fputs("\">", fp);
            owmesh_xml_escape(fp, c->text);
            fputs("</td>", fp);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n</body>\n</html>\n", fp);
    return fclose(fp);
}

/* ---- JSON (the dashboard's grid, owmesh serve) ---- */

/* A real, or null where JSON has none (no value, infinite thresholds). */
static json_t *real_or_null(int valid, double v)
{
    return valid && isfinite(v) ? json_real(v) : json_null();
}

/* One cell: what it shows and why; cells that are not paths of the mesh and
 * hold no data (class none) are left out. */
static json_t *cell_json(const grid *g, size_t s, size_t d)
{
    const grid_cell *c = &g->cells[s * g->n + d];
    char tip[400];
    cell_tooltip(g, s, d, tip, sizeof tip);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:s?, s:s}", "src", node_name(g, s),
                          "dst", node_name(g, d), "class", owmesh_cell_class_name(c->cell.cls),
                          "text", c->cell.text,
                          "value", real_or_null(c->cell.has_value, c->cell.value), "expected",
                          c->expected, "task", c->stream ? c->stream->task : NULL, "tooltip", tip);
    int data = c->has_row && !c->row.empty;
    json_object_set_new(o, "sent", data ? json_integer((json_int_t)c->row.sent) : json_null());
    json_object_set_new(o, "lost", data ? json_integer((json_int_t)c->row.lost) : json_null());
    json_object_set_new(o, "unmeasured_s", json_real(round(c->unm.total * 1e3) / 1e3));
    json_object_set_new(o, "reason", c->unm.nreasons
                                         ? json_string(owmesh_reason_text(c->unm.r[0].reason))
                                         : json_null());
    json_object_set_new(o, "warn", real_or_null(1, c->warn));
    json_object_set_new(o, "crit", real_or_null(1, c->crit));
    json_object_set_new(o, "baseline_ms", real_or_null(c->has_baseline, c->baseline_ms));
    return o;
}

static void write_json(const grid *g, FILE *fp)
{
    char a[48], b[48], rule[400];
    owmesh_format_iso(g->from, a, sizeof a);
    owmesh_format_iso(g->to, b, sizeof b);
    threshold_text(g, rule, sizeof rule);
    json_t *nodes = json_array(), *cells = json_array();
    for (size_t i = 0; i < g->n; i++)
        json_array_append_new(nodes, json_string(node_name(g, i)));
    for (size_t s = 0; s < g->n; s++)
        for (size_t d = 0; d < g->n; d++)
            if (g->cells[s * g->n + d].cell.cls != OWMESH_CELL_NONE)
                json_array_append_new(cells, cell_json(g, s, d));
    json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:s, s:o, s:o}", "from", a,
                             "to", b, "stat", g->stat.name, "unit", g->stat.unit, "relative",
                             g->relative, "warn", real_or_null(!g->relative, g->warn), "crit",
                             real_or_null(!g->relative, g->crit), "rule", rule, "nodes", nodes,
                             "cells", cells);
    json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(OWMESH_JSON_PRECISION));
    fputc('\n', fp);
    json_decref(root);
}

static int write_svg_file(const grid *g, const char *file)
{
    FILE *fp = fopen(file, "w");
    if (!fp)
        return -1;
    write_svg(g, fp);
    return fclose(fp);
}

static owp_status parse_threshold(const char *text, const char *opt, double *v, owp_err *err)
{
    char *end;
    *v = strtod(text, &end);
    if (end == text || *end || !isfinite(*v))
        return owp_err_set(err, OWP_ERR_PARSE, "%s: expected a number, got \"%s\"", opt, text);
    return OWP_OK;
}

void owmesh_grid_opts_init(owmesh_grid_opts *o)
{
    memset(o, 0, sizeof *o);
    owmesh_common_init(&o->common);
    o->stat = "loss";
}

/* The statistic, the period and the thresholds: checked before the store
 * is opened, so a bad option is named before a missing store. */
static owp_status grid_setup(const owmesh_grid_opts *o, grid *g, owp_err *err)
{
    owp_num64 now;
    if (o->common.src || o->common.dst || o->common.node || o->common.group)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "grid: shows the whole mesh; no selection or argument");
    if (owmesh_stat_parse(o->stat, &g->stat, err) != OWP_OK ||
        owmesh_common_period(&o->common, 3600, &now, &g->from, &g->to, err) != OWP_OK)
        return err->code;
    owmesh_stat_thresholds(&g->stat, &g->warn, &g->crit);
    g->relative = owmesh_stat_is_delay(&g->stat) && !o->warn && !o->crit;
    if ((o->warn && parse_threshold(o->warn, "--warn", &g->warn, err) != OWP_OK) ||
        (o->crit && parse_threshold(o->crit, "--crit", &g->crit, err) != OWP_OK))
        return err->code;
    if (g->crit < g->warn)
        return owp_err_set(err, OWP_ERR_INVALID, "--crit %g is below --warn %g", g->crit,
                           g->warn);
    return OWP_OK;
}

/* Every cell of the mesh, classified; g->cells is the caller's to free. */
static owp_status grid_build(const owmesh_ctx *ctx, grid *g, owp_err *err)
{
    g->ctx = ctx;
    g->n = owm_mesh_node_count(ctx->mesh);
    g->cells = calloc(g->n ? g->n * g->n : 1, sizeof *g->cells);
    if (!g->cells)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    return fill(g, err);
}

owp_status owmesh_grid_json(owmesh_ctx *ctx, const owmesh_grid_opts *o, FILE *out, owp_err *err)
{
    grid g = {0};
    owp_status st = grid_setup(o, &g, err);
    if (st == OWP_OK)
        st = grid_build(ctx, &g, err);
    if (st == OWP_OK)
        write_json(&g, out);
    free(g.cells);
    return st;
}

int owmesh_cmd_grid(int argc, char **argv)
{
    static const struct option longopts[] = {OWMESH_COMMON_LONGOPTS,
                                             {"stat", required_argument, NULL, OPT_STAT},
                                             {"warn", required_argument, NULL, OPT_WARN},
                                             {"crit", required_argument, NULL, OPT_CRIT},
                                             {"html", required_argument, NULL, OPT_HTML},
                                             {"svg", required_argument, NULL, OPT_SVG},
                                             {"color", required_argument, NULL, OPT_COLOR},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    owmesh_grid_opts o;
    owmesh_grid_opts_init(&o);
    const char *html = NULL, *svg = NULL;
    const char *color = "auto";
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (owmesh_common_opt(&o.common, c, optarg))
            continue;
        switch (c) {
        case OPT_STAT: o.stat = optarg; break;
        case OPT_WARN: o.warn = optarg; break;
        case OPT_CRIT: o.crit = optarg; break;
        case OPT_HTML: html = optarg; break;
        case OPT_SVG: svg = optarg; break;
        case OPT_COLOR: color = optarg; break;
        case OPT_JSON: json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc || o.common.src || o.common.dst || o.common.node || o.common.group) {
        owmesh_error("grid: shows the whole mesh; no selection or argument");
        usage(stderr);
        return 1;
    }
    if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) {
        owmesh_error("--color: expected auto, always or never, got \"%s\"", color);
        return 1;
    }
    if (json && (html || svg)) {
        owmesh_error("grid: --json excludes --html and --svg");
        return 1;
    }
    grid g = {0};
    owp_err err = {0};
    if (grid_setup(&o, &g, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    owmesh_ctx ctx = {0};
    if (owmesh_ctx_open(&ctx, &o.common, 0, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    int rc = 0;
    if (grid_build(&ctx, &g, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        rc = 1;
    } else if (json) {
        write_json(&g, stdout);
    } else {
        char a[48], b[48];
        owmesh_format_iso(g.from, a, sizeof a);
        owmesh_format_iso(g.to, b, sizeof b);
        int colour = !strcmp(color, "always") || (!strcmp(color, "auto") && isatty(1));
        char rule[400];
        threshold_text(&g, rule, sizeof rule);
        if (!html) {
            printf("# %s (%s), %s to %s; %s\n", g.stat.name, g.stat.unit, a, b, rule);
            print_terminal(&g, colour, stdout);
        }
        if (svg && write_svg_file(&g, svg) != 0) {
            owp_err_sys(&err, "%s", svg);
            owmesh_error("%s", err.msg);
            rc = 1;
        }
        if (html && write_html(&g, html) != 0) {
            owp_err_sys(&err, "%s", html);
            owmesh_error("%s", err.msg);
            rc = 1;
        }
    }
    free(g.cells);
    owmesh_ctx_close(&ctx);
    return rc;
}
