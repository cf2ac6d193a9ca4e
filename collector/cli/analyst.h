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

#define OWMESH_DEFAULT_STORE "/var/lib/owmesh/store"
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

/* ---- common options ---- */
typedef struct owmesh_common {
    const char *store_dir;   /* --store, else $OWMESH_STORE, else the default */
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
    owmesh_path *paths; /* every stored path, in id order */
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

/* The stored paths the selection names (--src/--dst: a path or every path
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
