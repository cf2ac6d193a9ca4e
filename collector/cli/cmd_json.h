/*
 * cmd_json.h - the JSON of the analysts' commands as functions, so that the
 * command line (`owmesh query|grid|completeness --json`) and the dashboard
 * (`owmesh serve`, /api/...) write it with the same code: for the same
 * options and the same store the two are byte for byte the same.
 *
 * Each writer takes an open context (owmesh_ctx_open; its paths are
 * re-read by the caller when the store may have grown), the command's
 * options as the command line gives them (strings as given, checked here),
 * and the FILE to write to. A bad option or a selection without data is
 * OWP_ERR_INVALID or OWP_ERR_PARSE with the command line's message; nothing
 * is written then. Not thread-safe on one context (one store handle).
 */
#ifndef OWMESH_CMD_JSON_H
#define OWMESH_CMD_JSON_H

#include <stdio.h>

#include "analyst.h"

/* ---- the mesh's pairs, indexed (analyst_pairs.c) ---- */
typedef struct owmesh_pairs {
    size_t n;                     /* nodes of the mesh; pairs are [src * n + dst] */
    const owm_stream **expected;  /* the mesh's first stream of the pair, or NULL */
    size_t *first, *count;        /* the pair's stored paths: ids[first .. first + count) */
    uint32_t *ids;                /* in ctx->paths' order within a pair */
    owp_num64 *newest;            /* the newest data of the pair's paths (0: none) */
} owmesh_pairs;

/* Index ctx's stored paths and the mesh's streams by node pair (paths of
 * nodes not in the mesh are left out): the same answers as
 * owmesh_ctx_pair_ids and owmesh_ctx_expected, in constant time a pair. */
owp_status owmesh_pairs_build(const owmesh_ctx *ctx, owmesh_pairs *p, owp_err *err);
void owmesh_pairs_free(owmesh_pairs *p);

/* ---- owmesh query --json (cmd_query.c) ---- */
typedef struct owmesh_query_opts {
    owmesh_common common;
    double pct[STORE_MAX_PERCENTILES]; /* -p, parsed (owmesh_parse_percentiles) */
    size_t npct;
    const char *every; /* --every DUR, or NULL */
    int per_path;      /* --per-path */
    store_source source; /* --source */
} owmesh_query_opts;

/* The command line's defaults: percentile 50, no buckets, auto source. */
void owmesh_query_opts_init(owmesh_query_opts *o);
owp_status owmesh_query_json(owmesh_ctx *ctx, const owmesh_query_opts *o, FILE *out,
                             owp_err *err);
/* The same rows as `owmesh query --csv` (the dashboard's export links). */
owp_status owmesh_query_csv(owmesh_ctx *ctx, const owmesh_query_opts *o, FILE *out,
                            owp_err *err);

/* ---- owmesh grid --json (cmd_grid.c) ---- */
typedef struct owmesh_grid_opts {
    owmesh_common common;  /* the period only: the grid is the whole mesh */
    const char *stat;      /* --stat, default "loss" */
    const char *warn, *crit; /* --warn/--crit, or NULL */
} owmesh_grid_opts;

void owmesh_grid_opts_init(owmesh_grid_opts *o);
owp_status owmesh_grid_json(owmesh_ctx *ctx, const owmesh_grid_opts *o, FILE *out,
                            owp_err *err);

/* ---- owmesh completeness --json (cmd_completeness.c) ---- */
typedef struct owmesh_completeness_opts {
    owmesh_common common;  /* the period only */
    const char *bucket, *stale, *grace; /* default "60", none, "60" */
} owmesh_completeness_opts;

void owmesh_completeness_opts_init(owmesh_completeness_opts *o);
owp_status owmesh_completeness_json(owmesh_ctx *ctx, const owmesh_completeness_opts *o,
                                    FILE *out, owp_err *err);

/* ---- owmesh status --json (cmd_status.c) ---- */
typedef struct owmesh_status_opts {
    const char *endpoint;   /* -c: the coordinator */
    const char *cert;       /* -k: the analyst's certificate (secret key file) */
    const char *server_key; /* -s: the coordinator's public key, or NULL */
    int timeout_ms;         /* -t, in ms */
} owmesh_status_opts;

/* Every node the coordinator lists, asked now; an unreachable coordinator
 * or refused key is OWP_ERR_TIMEOUT/REFUSED/... with the command's words. */
owp_status owmesh_status_json(const owmesh_status_opts *o, FILE *out, owp_err *err);

#endif
