/*
 * analyst_pairs.c - the mesh's node pairs indexed once per request: which
 * stored paths and which expected stream each (source, destination) pair
 * has. The grid and completeness look up every pair of the mesh; looking
 * each up by name in the path and stream lists made a 100-node grid
 * quadratic in the pairs (100 million string compares, most of a second).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd_json.h"

typedef struct named {
    const char *name;
    size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* The node's index in the mesh, or n when it is not a node of the mesh. */
static size_t node_index(const named *sorted, size_t n, const char *name)
{
    named key = {name, 0};
    const named *hit = bsearch(&key, sorted, n, sizeof *sorted, cmp_named);
    return hit ? hit->index : n;
}

void owmesh_pairs_free(owmesh_pairs *p)
{
    free(p->expected);
    free(p->first);
    free(p->count);
    free(p->ids);
    free(p->newest);
    memset(p, 0, sizeof *p);
}

/* Paths of each pair, in ctx->paths' order (a counting sort). */
static void group_paths(const owmesh_ctx *ctx, owmesh_pairs *p, const size_t *pair_of)
{
    for (size_t i = 0; i < ctx->npaths; i++)
        if (pair_of[i] != SIZE_MAX)
            p->count[pair_of[i]]++;
    size_t at = 0;
    for (size_t k = 0; k < p->n * p->n; k++) {
        p->first[k] = at;
        at += p->count[k];
        p->count[k] = 0;
    }
    for (size_t i = 0; i < ctx->npaths; i++) {
        size_t k = pair_of[i];
        if (k == SIZE_MAX)
            continue;
        p->ids[p->first[k] + p->count[k]++] = ctx->paths[i].id;
        if (ctx->paths[i].newest > p->newest[k])
            p->newest[k] = ctx->paths[i].newest;
    }
}

owp_status owmesh_pairs_build(const owmesh_ctx *ctx, owmesh_pairs *p, owp_err *err)
{
    memset(p, 0, sizeof *p);
    size_t n = owm_mesh_node_count(ctx->mesh), cells = n > 0 ? n * n : 1;
    p->n = n;
    named *sorted = calloc(n ? n : 1, sizeof *sorted);
    size_t *pair_of = calloc(ctx->npaths ? ctx->npaths : 1, sizeof *pair_of);
    p->expected = calloc(cells, sizeof *p->expected);
    p->first = calloc(cells, sizeof *p->first);
    p->count = calloc(cells, sizeof *p->count);
    p->newest = calloc(cells, sizeof *p->newest);
    p->ids = calloc(ctx->npaths ? ctx->npaths : 1, sizeof *p->ids);
    if (!sorted || !pair_of || !p->expected || !p->first || !p->count || !p->newest || !p->ids) {
        free(sorted);
        free(pair_of);
        owmesh_pairs_free(p);
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = (named){owm_mesh_node(ctx->mesh, i)->name, i};
    qsort(sorted, n, sizeof *sorted, cmp_named);
    for (size_t i = 0; i < ctx->npaths; i++) {
        size_t s = node_index(sorted, n, ctx->paths[i].src);
        size_t d = node_index(sorted, n, ctx->paths[i].dst);
        pair_of[i] = s < n && d < n ? s * n + d : SIZE_MAX;
    }
    group_paths(ctx, p, pair_of);
    const owm_stream *streams = owm_mesh_streams(ctx->mesh);
    for (size_t i = owm_mesh_stream_count(ctx->mesh); i-- > 0;) { /* the first stream wins */
        size_t s = node_index(sorted, n, streams[i].src->name);
        size_t d = node_index(sorted, n, streams[i].dst->name);
        if (s < n && d < n)
            p->expected[s * n + d] = &streams[i];
    }
    free(sorted);
    free(pair_of);
    return OWP_OK;
}
