/*
 * render.h - output of the analysts' commands, one concern per file:
 *   render_table.c  aligned text tables and CSV
 *   render_svg.c    hand-written, self-contained SVG (escaping, shapes, axes)
 *   render_grid.c   the grid's statistics, thresholds and cell classes
 * None of them reads the store: they format what they are given.
 */
#ifndef OWMESH_RENDER_H
#define OWMESH_RENDER_H

#include <stddef.h>
#include <stdio.h>

#include "store.h"

/* ---- tables (render_table.c) ---- */
typedef struct owmesh_table owmesh_table;

/* A table of ncols columns with these headers (copied); every column is
 * right-aligned unless owmesh_table_left() says otherwise. NULL: no memory. */
owmesh_table *owmesh_table_new(size_t ncols, const char *const *headers);
void owmesh_table_destroy(owmesh_table **self_p);
void owmesh_table_left(owmesh_table *self, size_t col);
/* Append a row of ncols cells (copied; NULL = ""). -1 when out of memory. */
int owmesh_table_add(owmesh_table *self, const char *const *cells);
size_t owmesh_table_rows(const owmesh_table *self);
/* Aligned columns, two spaces apart, the header first, no trailing blanks. */
void owmesh_table_print(const owmesh_table *self, FILE *fp);
/* The same without the header line (aligned over the rows alone). */
void owmesh_table_print_body(const owmesh_table *self, FILE *fp);
/* RFC 4180: the header line, then the rows; fields quoted only when they
 * hold a comma, a quote or a line break. */
void owmesh_table_print_csv(const owmesh_table *self, FILE *fp);
void owmesh_csv_field(FILE *fp, const char *text);

/* Delay in seconds as milliseconds with microsecond resolution ("12.345"),
 * for people (tables). */
void owmesh_format_ms(double seconds, char *buf, size_t len);

/* Machine formats (JSON and CSV) carry the same figures at the same
 * precision: delays in ms rounded to the nanosecond (owmesh_ms_ns), every
 * real written with OWMESH_JSON_PRECISION significant digits, the JSON
 * writer's JSON_REAL_PRECISION (owmesh_format_real gives the CSV text of
 * what the JSON holds; the JSON adds ".0" to a whole number). */
#define OWMESH_JSON_PRECISION 12
double owmesh_ms_ns(double seconds);
void owmesh_format_real(double v, char *buf, size_t len);

/* ---- SVG (render_svg.c) ---- */
/* Text with &, <, >, " and ' escaped; control characters dropped. */
void owmesh_xml_escape(FILE *fp, const char *text);
/* <svg ...> with width/height/viewBox, a <title>, and a font default. */
void owmesh_svg_begin(FILE *fp, int width, int height, const char *title);
void owmesh_svg_end(FILE *fp);
void owmesh_svg_rect(FILE *fp, double x, double y, double w, double h, const char *fill,
                     const char *stroke, const char *tooltip);
void owmesh_svg_line(FILE *fp, double x1, double y1, double x2, double y2, const char *stroke,
                     double width, const char *dash);
/* anchor: "start", "middle" or "end"; text is escaped. */
void owmesh_svg_text(FILE *fp, double x, double y, const char *anchor, int size,
                     const char *fill, const char *text);
/* A polyline through n points (skipping none), or nothing when n == 0. */
void owmesh_svg_polyline(FILE *fp, const double *xs, const double *ys, size_t n,
                         const char *stroke, double width);
/* <defs> with the hatch pattern of unmeasured time; its fill is
 * OWMESH_SVG_UNMEASURED_FILL. Once per document, after owmesh_svg_begin. */
#define OWMESH_SVG_UNMEASURED_FILL "url(#owmesh-unmeasured)"
void owmesh_svg_unmeasured_defs(FILE *fp);
/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about ticks
 * intervals over range (> 0). */
double owmesh_nice_step(double range, int ticks);
/* A small triangle pointing up at (x, y): a point drawn at the top edge
 * because its value is above the axis; the tooltip gives the true value. */
void owmesh_svg_clip_marker(FILE *fp, double x, double y, const char *fill, const char *tooltip);

/* ---- plot scales (render_svg.c) ----
 * A delay axis is scaled to the bulk of the data so that one spike does not
 * flatten the median into a line at zero: the bulk of a series is the
 * OWMESH_SCALE_PERCENTILE-th percentile (nearest rank) of its plotted
 * points; the axis top is the largest bulk of the series times
 * OWMESH_SCALE_HEADROOM. When every point fits under that, nothing is
 * clipped and the top is the largest point plus OWMESH_SCALE_PAD. Points
 * above the top are drawn at the top edge with a marker. */
#define OWMESH_SCALE_PERCENTILE 98.0
#define OWMESH_SCALE_HEADROOM 1.25
#define OWMESH_SCALE_PAD 0.08 /* of the range, above the highest point */
/* Nearest-rank OWMESH_SCALE_PERCENTILE-th percentile of v (sorted in place);
 * 0 when n == 0. */
double owmesh_scale_bulk(double *v, size_t n);
/* The axis top from the largest bulk, the largest and the smallest point
 * (bottom is min(0, smallest)); *clipped = 1 when points lie above it. */
double owmesh_scale_top(double bulk, double max, double min, int *clipped);
/* Loss axis: its top, the smallest of 1, 2, 5, 10, 20, 50, 100 % at or above
 * max_pct, and the ticks: 0, then those of the same values from a fifth of
 * the top up to it (top 100: 0 20 50 100; top 5: 0 1 2 5). Returns the
 * number of ticks (at most 8) written to ticks; the last is the top. */
size_t owmesh_loss_ticks(double max_pct, double ticks[8]);
/* Decade ticks of a log axis over [lo, hi] (lo > 0): every 1, 2 and 5 times
 * a power of ten, or only the powers of ten when that gives more than max;
 * returns how many were written. */
size_t owmesh_log_ticks(double lo, double hi, double *ticks, size_t max);

/* ---- the grid's statistics and classes (render_grid.c) ---- */
typedef enum owmesh_stat_kind {
    OWMESH_STAT_PERCENTILE, /* a delay percentile (median = 50) */
    OWMESH_STAT_MIN,
    OWMESH_STAT_MAX,
    OWMESH_STAT_LOSS_PCT,
    OWMESH_STAT_LOSS_COUNT,
    OWMESH_STAT_JITTER,
    OWMESH_STAT_DUPS,
    OWMESH_STAT_REORDERED
} owmesh_stat_kind;

typedef struct owmesh_stat {
    owmesh_stat_kind kind;
    double percentile; /* OWMESH_STAT_PERCENTILE */
    char name[24];     /* as given, canonical: "median", "p99", "loss", ... */
    const char *unit;  /* "ms", "%" or "packets" */
} owmesh_stat;

/* "median", "pN" (p99, p99.9), "min", "max", "loss" (%), "loss-count",
 * "jitter", "dups", "reordered". */
owp_status owmesh_stat_parse(const char *text, owmesh_stat *stat, owp_err *err);
/* Thresholds in the statistic's unit; a value >= warn is WARN, >= crit CRIT. */
void owmesh_stat_thresholds(const owmesh_stat *stat, double *warn, double *crit);
/* 1 for the delay statistics (percentiles, min, max), whose default
 * thresholds are relative to each path's baseline. */
int owmesh_stat_is_delay(const owmesh_stat *stat);

/* Relative delay thresholds. An absolute 100/250 ms says nothing on a LAN
 * (0.05 ms paths would be good at 99 ms) nor on an intercontinental WAN (a
 * 180 ms path is always warn). A path's baseline is the
 * OWMESH_BASELINE_PERCENTILE-th percentile of its delays over the
 * OWMESH_BASELINE_DAYS days up to the period's end (or the period, when
 * longer): its usual floor, robust to a few early outliers and clock
 * glitches. A cell warns at baseline + max(20 %, 1 ms) and is critical at
 * baseline + max(50 %, 5 ms): the floors keep microsecond noise on short
 * paths quiet; the fractions scale with the path's length. */
#define OWMESH_BASELINE_PERCENTILE 10.0
#define OWMESH_BASELINE_DAYS 7
#define OWMESH_REL_WARN_FRACTION 0.20
#define OWMESH_REL_WARN_FLOOR_MS 1.0
#define OWMESH_REL_CRIT_FRACTION 0.50
#define OWMESH_REL_CRIT_FLOOR_MS 5.0
/* The thresholds of a path whose baseline is baseline_ms (may be negative:
 * unsynchronised clocks; the margin is then over its magnitude). */
void owmesh_relative_thresholds(double baseline_ms, double *warn, double *crit);
/* The rule in words, for legends: "warn at baseline + max(20%, 1 ms), ...". */
void owmesh_relative_rule_text(char *buf, size_t len);
/* The statistic of a row in its unit; 0 when the row cannot give it (nothing
 * arrived, no IPDV pair). row->percentiles[0] holds the percentile. */
int owmesh_stat_value(const owmesh_stat *stat, const store_row *row, double *value);

typedef enum owmesh_cell_class {
    OWMESH_CELL_NONE = 0, /* not a path of the mesh and no data: blank */
    OWMESH_CELL_MISSING,  /* expected, but no data in the period: never good */
    OWMESH_CELL_GOOD,
    OWMESH_CELL_WARN,
    OWMESH_CELL_CRIT,
    OWMESH_CELL_UNMEASURED /* mostly unmeasured (peer down ...): hatched grey, with its
                            * reason; never good, never critical */
} owmesh_cell_class;

typedef struct owmesh_cell {
    owmesh_cell_class cls;
    int has_value;
    double value;
    char text[32]; /* what the cell shows: "12.345", "0.5%", "missing", "all lost" */
} owmesh_cell;

/* Classify one cell. row == NULL or row->empty: no data in the period. */
void owmesh_cell_classify(const owmesh_stat *stat, double warn, double crit, int expected,
                          const store_row *row, owmesh_cell *cell);
/* A cell whose period is mostly unmeasured (more than half of period_s, or
 * any of it when the cell has no data) becomes UNMEASURED, its text naming
 * the main reason ("unmeasured (peer down)"); 1 when it did. Unmeasured
 * time is not loss: a cell with enough measured data keeps its class. */
int owmesh_cell_unmeasured(owmesh_cell *cell, double unmeasured_s, double period_s,
                           const char *reason_text);
/* "60 s (1.7%, peer down)": unmeasured time for people; "-" when none. */
void owmesh_format_unmeasured(double unmeasured_s, double period_s, const char *reason_text,
                              char *buf, size_t len);
const char *owmesh_cell_class_name(owmesh_cell_class cls);  /* "good", "missing", ... */
const char *owmesh_cell_class_fill(owmesh_cell_class cls);  /* SVG colour */
const char *owmesh_cell_class_ansi(owmesh_cell_class cls);  /* SGR sequence, "" for none */

#endif
