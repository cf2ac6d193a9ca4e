/*
 * analyst.h - what the owmesh analysts' commands (query, grid, plot,
 * completeness, export, import) share: their common options, periods and
 * time parsing, percentile lists, and the store + mesh they read, with the
 * selection of stored paths by path, node, group or the whole mesh.
 *
 * Times are OWAMP timestamps (owp_num64, 32.32 seconds since 1900 UTC) as in
 * the store; durations are whole seconds.
 */
#ifndef OWMESH_ANALYST_H
#define OWMESH_ANALYST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "meshconf.h"
#include "store.h"
#include "timestamp.h"

/* The collector's default store (configure's localstatedir), so that an
 * analyst on the collector's machine needs no --store. */
#define OWMESH_DEFAULT_STORE OWMESH_STATEDIR "/store"
#define OWMESH_STORE_ENV "OWMESH_STORE"

/* ---- parsing (pure functions; unit-tested) ---- */

/* "90", "90s", "5m", "1h", "2d", "1w", also "1.5h": whole seconds > 0
 * (fractions rounded to the nearest second, which must stay > 0). */
owp_status owmesh_parse_duration(const char *text, uint64_t *seconds, owp_err *err);

/* An absolute time:
 *   ISO-8601 "2024-11-23", "2024-11-23T10:00", "2024-11-23T10:00:00.25Z",
 *            "2024-11-23 10:00:00+01:00" (no zone = UTC);
 *   NTP      a number below 2^32: seconds since 1900 ("3941107200.5"),
 *            an integer >= 2^32: the 32.32 fixed-point value itself
 *            (powstream file names: "17198800808123080680");
 *   "now".
 * now is the value of "now". */
owp_status owmesh_parse_time(const char *text, owp_num64 now, owp_num64 *t, owp_err *err);

/* "50,90,99,99.9": at most STORE_MAX_PERCENTILES values in [0, 100]. */
owp_status owmesh_parse_percentiles(const char *text, double *p, size_t *n, owp_err *err);

/* Percentile label: "50", "99.9" (shortest text that reads back). */
void owmesh_format_percentile(double p, char *buf, size_t len);
/* UTC "2024-11-23T10:00:00Z", with ".sss" when the time has a fraction. */
void owmesh_format_iso(owp_num64 t, char *buf, size_t len);
/* A duration for people: "45s", "12m05s", "3h02m", "2d04h". */
void owmesh_format_age(uint64_t seconds, char *buf, size_t len);

/* ---- buckets aligned to the clock ----
 * `--every DUR` buckets start at whole multiples of DUR since
 * 1970-01-01T00:00:00Z UTC (a 60 s bucket at a whole minute, 1h at a whole
 * hour, 1d at midnight UTC), except that buckets of whole weeks start on a
 * Monday (multiples since Monday 1970-01-05). A period that does not begin
 * or end on such a boundary has a partial first or last bucket: the part of
 * its bucket inside the period, marked partial. So two queries of the same
 * data over different periods agree on every whole bucket. */
#define OWMESH_WEEK_EPOCH_UNIX 345600 /* 1970-01-05T00:00:00Z, a Monday */

/* The start of the bucket of every seconds (> 0) that holds t. */
owp_num64 owmesh_bucket_floor(owp_num64 t, uint64_t every);

/* One run of a bucketed query: [from, to) in buckets of every seconds
 * (0: one row), partial when its rows are partial buckets. */
typedef struct owmesh_span {
    owp_num64 from, to;
    uint64_t every;
    int partial;
} owmesh_span;

/* Split [from, to) into at most three spans: a partial first bucket, the
 * whole buckets, a partial last bucket (one partial span when the period
 * lies inside one bucket). Returns the number of spans (1 to 3); every
 * == 0 gives the whole period as one span, not partial. */
size_t owmesh_bucket_plan(owp_num64 from, owp_num64 to, uint64_t every, owmesh_span spans[3]);

/* ---- common options ---- */
typedef struct owmesh_common {
    const char *store_dir;   /* --store DIR|URL, else $OWMESH_STORE, else the default */
    const char *mesh_path;   /* --mesh (required by every analyst command) */
    const char *since, *from, *to, *now; /* the period, as given */
    const char *src, *dst, *node, *group; /* the selection, as given */
} owmesh_common;

/* Long-option codes of the common options (beyond any char). */
enum {
    OWMESH_OPT_STORE = 1000, OWMESH_OPT_MESH, OWMESH_OPT_SINCE, OWMESH_OPT_FROM, OWMESH_OPT_TO,
    OWMESH_OPT_NOW, OWMESH_OPT_SRC, OWMESH_OPT_DST, OWMESH_OPT_NODE, OWMESH_OPT_GROUP,
    OWMESH_OPT_FIRST_FREE
};
/* For a command's struct option table. */
#define OWMESH_COMMON_LONGOPTS                                                                     \
    {"store", required_argument, NULL, OWMESH_OPT_STORE},                                          \
        {"mesh", required_argument, NULL, OWMESH_OPT_MESH},                                        \
        {"since", required_argument, NULL, OWMESH_OPT_SINCE},                                      \
        {"from", required_argument, NULL, OWMESH_OPT_FROM},                                        \
        {"to", required_argument, NULL, OWMESH_OPT_TO},                                            \
        {"now", required_argument, NULL, OWMESH_OPT_NOW},                                          \
        {"src", required_argument, NULL, OWMESH_OPT_SRC},                                          \
        {"dst", required_argument, NULL, OWMESH_OPT_DST},                                          \
        {"node", required_argument, NULL, OWMESH_OPT_NODE},                                        \
        {"group", required_argument, NULL, OWMESH_OPT_GROUP}

void owmesh_common_init(owmesh_common *c);
/* 1 when opt was a common option (stored), 0 otherwise. */
int owmesh_common_opt(owmesh_common *c, int opt, const char *arg);

/* The period [from, to): --from/--to, else --since (default default_since
 * seconds) before now. now comes from --now or the clock. */
owp_status owmesh_common_period(const owmesh_common *c, uint64_t default_since, owp_num64 *now,
                                owp_num64 *from, owp_num64 *to, owp_err *err);

/* ---- the store and the mesh ---- */
typedef struct owmesh_path {
    uint32_t id;
    char *src, *dst, *params;
    owp_num64 newest;
} owmesh_path;

typedef struct owmesh_ctx {
    store_db *store;
    owm_mesh *mesh;
    owmesh_path *paths; /* every stored path, by source, destination, params, id */
    size_t npaths;
} owmesh_ctx;

/* Open the store (read-only unless writable) and load the mesh; errors name
 * the directory or the file. */
owp_status owmesh_ctx_open(owmesh_ctx *ctx, const owmesh_common *c, int writable, owp_err *err);
void owmesh_ctx_close(owmesh_ctx *ctx);
/* Re-read the stored paths (after an import created some). */
owp_status owmesh_ctx_load_paths(owmesh_ctx *ctx, owp_err *err);

/* Check a node name against the mesh; unknown -> OWP_ERR_INVALID
 * "unknown node \"x\" (known nodes: a, b, c)". what names the option. */
owp_status owmesh_ctx_check_node(const owmesh_ctx *ctx, const char *what, const char *name,
                                 owp_err *err);

/* The stored paths the selection names, in ctx->paths' order (by source,
 * then destination, then parameters) (--src/--dst: a path or every path
 * from/to a node; --node: every path from or to it; --group: the group's
 * streams; nothing: every path). The ids go to *ids (malloc'ed, caller
 * frees), a description ("lo -> far", "node lo", "group core", "mesh") to
 * label. A selection of known names without stored data fails with
 * "no data stored for ...; paths with data: ..." (OWP_ERR_INVALID). */
owp_status owmesh_ctx_select(const owmesh_ctx *ctx, const owmesh_common *c, uint32_t **ids,
                             size_t *nids, char *label, size_t label_len, owp_err *err);

/* Stored path ids for exactly src -> dst (any params); *n = 0 when none. */
size_t owmesh_ctx_pair_ids(const owmesh_ctx *ctx, const char *src, const char *dst,
                           uint32_t *ids, size_t max);

/* 1 when the mesh has a stream src -> dst; *stream_out (optional) is the first. */
int owmesh_ctx_expected(const owmesh_ctx *ctx, const char *src, const char *dst,
                        const owm_stream **stream_out);

/* ---- bucketed queries ---- */
/* Called once per row, in time order, with partial = 1 for a partial first
 * or last bucket (owmesh_bucket_plan); return non-zero to stop. */
typedef int (*owmesh_bucket_fn)(const store_row *row, int partial, void *arg);
/* store_query_run with q->every's buckets aligned to the clock: the
 * query's period split by owmesh_bucket_plan, one store query per span. */
owp_status owmesh_query_buckets(const owmesh_ctx *ctx, const store_query *q, owmesh_bucket_fn fn,
                                void *arg, owp_err *err);

/* ---- unmeasured time ---- */
/* A stored reason token ("peer-down") for people ("peer down"); an unknown
 * token is shown as it is. Never NULL. */
const char *owmesh_reason_text(const char *token);
/* Unmeasured time of the paths ids over [from, to) (store_unmeasured_sum)
 * and the period's path-seconds (npaths x its length), so that measured =
 * period - unmeasured. */
owp_status owmesh_unmeasured(const owmesh_ctx *ctx, const uint32_t *ids, size_t nids,
                             owp_num64 from, owp_num64 to, store_unmeasured_totals *sum,
                             double *period_s, owp_err *err);

#endif
