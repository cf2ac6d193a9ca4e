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
/* RFC 4180: the header line, then the rows; fields quoted only when they
 * hold a comma, a quote or a line break. */
void owmesh_table_print_csv(const owmesh_table *self, FILE *fp);
void owmesh_csv_field(FILE *fp, const char *text);

/* Delay in seconds as milliseconds with microsecond resolution ("12.345"). */
void owmesh_format_ms(double seconds, char *buf, size_t len);

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
/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about ticks
 * intervals over range (> 0). */
double owmesh_nice_step(double range, int ticks);

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
/* The statistic of a row in its unit; 0 when the row cannot give it (nothing
 * arrived, no IPDV pair). row->percentiles[0] holds the percentile. */
int owmesh_stat_value(const owmesh_stat *stat, const owm_store_row *row, double *value);

typedef enum owmesh_cell_class {
    OWMESH_CELL_NONE = 0, /* not a path of the mesh and no data: blank */
    OWMESH_CELL_MISSING,  /* expected, but no data in the period: never good */
    OWMESH_CELL_GOOD,
    OWMESH_CELL_WARN,
    OWMESH_CELL_CRIT
} owmesh_cell_class;

typedef struct owmesh_cell {
    owmesh_cell_class cls;
    int has_value;
    double value;
    char text[32]; /* what the cell shows: "12.345", "0.5%", "missing", "all lost" */
} owmesh_cell;

/* Classify one cell. row == NULL or row->empty: no data in the period. */
void owmesh_cell_classify(const owmesh_stat *stat, double warn, double crit, int expected,
                          const owm_store_row *row, owmesh_cell *cell);
const char *owmesh_cell_class_name(owmesh_cell_class cls);  /* "good", "missing", ... */
const char *owmesh_cell_class_fill(owmesh_cell_class cls);  /* SVG colour */
const char *owmesh_cell_class_ansi(owmesh_cell_class cls);  /* SGR sequence, "" for none */

#endif
