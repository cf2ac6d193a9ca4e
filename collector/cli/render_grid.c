/*
 * render_grid.c - the grid's statistics, thresholds and cell classes (see
 * render.h). The one rule that matters most: a cell without data in the
 * period is MISSING (expected) or NONE (not expected), never GOOD, and its
 * value is never filled in from elsewhere.
 */
#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

owp_status owmesh_stat_parse(const char *text, owmesh_stat *stat, owp_err *err)
{
    static const struct { const char *name; owmesh_stat_kind kind; const char *unit; } named[] = {
        {"min", OWMESH_STAT_MIN, "ms"},
        {"max", OWMESH_STAT_MAX, "ms"},
        {"loss", OWMESH_STAT_LOSS_PCT, "%"},
        {"loss-count", OWMESH_STAT_LOSS_COUNT, "packets"},
        {"jitter", OWMESH_STAT_JITTER, "ms"},
        {"dups", OWMESH_STAT_DUPS, "packets"},
        {"reordered", OWMESH_STAT_REORDERED, "packets"},
    };
    memset(stat, 0, sizeof *stat);
    text = text ? text : "";
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!strcmp(text, named[i].name)) {
            stat->kind = named[i].kind;
            stat->unit = named[i].unit;
            snprintf(stat->name, sizeof stat->name, "%s", text);
            return OWP_OK;
        }
    double p = NAN;
    char *end = NULL;
    if (!strcmp(text, "median"))
        p = 50;
    else if (text[0] == 'p' && text[1] >= '0' && text[1] <= '9')
        p = strtod(text + 1, &end);
    if (isnan(p) || (end && *end) || p < 0 || p > 100 || strlen(text) >= sizeof stat->name)
        return owp_err_set(err, OWP_ERR_PARSE,
                           "bad statistic \"%s\": expected median, pN (e.g. p99, p99.9), min, "
                           "max, loss, loss-count, jitter, dups or reordered", text);
    stat->kind = OWMESH_STAT_PERCENTILE;
    stat->percentile = p;
    stat->unit = "ms";
    snprintf(stat->name, sizeof stat->name, "%s", text);
    return OWP_OK;
}

void owmesh_stat_thresholds(const owmesh_stat *stat, double *warn, double *crit)
{
    switch (stat->kind) {
    case OWMESH_STAT_LOSS_PCT: *warn = 0.1, *crit = 1; break;
    case OWMESH_STAT_JITTER: *warn = 1, *crit = 5; break;
    case OWMESH_STAT_LOSS_COUNT:
    case OWMESH_STAT_DUPS:
    case OWMESH_STAT_REORDERED: *warn = 1, *crit = 10; break;
    default: *warn = 100, *crit = 250; break; /* delays, ms */
    }
}

int owmesh_stat_is_delay(const owmesh_stat *stat)
{
    return stat->kind == OWMESH_STAT_PERCENTILE || stat->kind == OWMESH_STAT_MIN ||
           stat->kind == OWMESH_STAT_MAX;
}

void owmesh_relative_thresholds(double baseline_ms, double *warn, double *crit)
{
    double size = fabs(baseline_ms);
    *warn = baseline_ms + fmax(OWMESH_REL_WARN_FRACTION * size, OWMESH_REL_WARN_FLOOR_MS);
    *crit = baseline_ms + fmax(OWMESH_REL_CRIT_FRACTION * size, OWMESH_REL_CRIT_FLOOR_MS);
}

void owmesh_relative_rule_text(char *buf, size_t len)
{
    snprintf(buf, len,
             "thresholds relative to each path's baseline (its p%g over the last %d days, or the period if longer): "
             "warn at baseline + max(%g%%, %g ms), crit at baseline + max(%g%%, %g ms)",
             OWMESH_BASELINE_PERCENTILE, OWMESH_BASELINE_DAYS, OWMESH_REL_WARN_FRACTION * 100,
             OWMESH_REL_WARN_FLOOR_MS, OWMESH_REL_CRIT_FRACTION * 100, OWMESH_REL_CRIT_FLOOR_MS);
}

int owmesh_stat_value(const owmesh_stat *stat, const store_row *row, double *value)
{
    switch (stat->kind) {
    case OWMESH_STAT_PERCENTILE:
        *value = row->percentiles[0] * 1e3;
        return row->has_delay;
    case OWMESH_STAT_MIN: *value = row->min * 1e3; return row->has_delay;
    case OWMESH_STAT_MAX: *value = row->max * 1e3; return row->has_delay;
    case OWMESH_STAT_JITTER: *value = row->jitter * 1e3; return row->has_delay;
    case OWMESH_STAT_LOSS_PCT: *value = row->loss_pct; return row->sent > 0;
    case OWMESH_STAT_LOSS_COUNT: *value = (double)row->lost; return row->sent > 0;
    case OWMESH_STAT_DUPS: *value = (double)row->dups; return row->sent > 0;
    case OWMESH_STAT_REORDERED: *value = (double)row->reordered; return row->sent > 0;
    }
    return 0;
}

static void format_value(const owmesh_stat *stat, double v, char *buf, size_t len)
{
    switch (stat->kind) {
    case OWMESH_STAT_LOSS_PCT: snprintf(buf, len, "%.2f%%", v); break;
    case OWMESH_STAT_LOSS_COUNT:
    case OWMESH_STAT_DUPS:
    case OWMESH_STAT_REORDERED: snprintf(buf, len, "%.0f", v); break;
    default: snprintf(buf, len, "%.3f", v); break;
    }
}

void owmesh_cell_classify(const owmesh_stat *stat, double warn, double crit, int expected,
                          const store_row *row, owmesh_cell *cell)
{
    memset(cell, 0, sizeof *cell);
    if (!row || row->empty || row->sent == 0) {
        cell->cls = expected ? OWMESH_CELL_MISSING : OWMESH_CELL_NONE;
        snprintf(cell->text, sizeof cell->text, "%s", expected ? "missing" : "");
        return;
    }
    if (!owmesh_stat_value(stat, row, &cell->value)) {
        /* Data, but not this statistic: every delay statistic needs a
         * packet that arrived, so everything lost is critical; a statistic
         * undefined for another reason is a warning, never good. */
        cell->cls = row->received ? OWMESH_CELL_WARN : OWMESH_CELL_CRIT;
        snprintf(cell->text, sizeof cell->text, "%s", row->received ? "n/a" : "all lost");
        return;
    }
    cell->has_value = 1;
    format_value(stat, cell->value, cell->text, sizeof cell->text);
    cell->cls = cell->value >= crit   ? OWMESH_CELL_CRIT
                : cell->value >= warn ? OWMESH_CELL_WARN
                                      : OWMESH_CELL_GOOD;
}

int owmesh_cell_unmeasured(owmesh_cell *cell, double unmeasured_s, double period_s,
                           const char *reason_text)
{
    int no_data = cell->cls == OWMESH_CELL_MISSING || cell->cls == OWMESH_CELL_NONE;
    if (!(unmeasured_s > 0) || (!no_data && !(unmeasured_s > period_s / 2)))
        return 0;
    cell->cls = OWMESH_CELL_UNMEASURED;
    cell->has_value = 0;
    snprintf(cell->text, sizeof cell->text, "unmeasured (%s)", reason_text ? reason_text : "?");
    return 1;
}

void owmesh_format_unmeasured(double unmeasured_s, double period_s, const char *reason_text,
                              char *buf, size_t len)
{
    if (!(unmeasured_s > 0)) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(buf, len, "%.0f s (%.1f%%, %s)", unmeasured_s,
             period_s > 0 ? 100.0 * unmeasured_s / period_s : 0.0,
             reason_text ? reason_text : "?");
}

const char *owmesh_cell_class_name(owmesh_cell_class cls)
{
    switch (cls) {
    case OWMESH_CELL_MISSING: return "missing";
    case OWMESH_CELL_GOOD: return "good";
    case OWMESH_CELL_WARN: return "warn";
    case OWMESH_CELL_CRIT: return "crit";
    case OWMESH_CELL_UNMEASURED: return "unmeasured";
    default: return "none";
    }
}

const char *owmesh_cell_class_fill(owmesh_cell_class cls)
{
    switch (cls) {
    case OWMESH_CELL_MISSING: return "#9e9e9e";
    case OWMESH_CELL_GOOD: return "#43a047";
    case OWMESH_CELL_WARN: return "#fbc02d";
    case OWMESH_CELL_CRIT: return "#e53935";
    case OWMESH_CELL_UNMEASURED: return OWMESH_SVG_UNMEASURED_FILL;
    default: return "#f5f5f5";
    }
}

const char *owmesh_cell_class_ansi(owmesh_cell_class cls)
{
    switch (cls) {
    case OWMESH_CELL_MISSING: return "\033[30;47m";
    case OWMESH_CELL_GOOD: return "\033[30;42m";
    case OWMESH_CELL_WARN: return "\033[30;43m";
    case OWMESH_CELL_CRIT: return "\033[97;41m";
    case OWMESH_CELL_UNMEASURED: return "\033[2;30;47m"; /* dim grey, not missing's */
    default: return "";
    }
}
