/*
 * meshconf_native.c - the owmesh mesh format: "nodes", "groups", "tests",
 * "tasks" (owmesh-mesh(5)). Every object rejects keys it does not know, so
 * a typo cannot pass silently; keys starting with '_' are comments.
 */
#include "meshconf_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const TOP_KEYS[] = {"nodes", "groups", "tests", "tasks"};
static const char *const NODE_KEYS[] = {"address", "public-key", "owamp-port", "data-endpoint"};
static const char *const TEST_KEYS[] = {
    "type", "packet-interval", "packet-count", "packet-padding", "loss-timeout",
    "bucket-width", "sub-session-count", "dscp", "auth"};
static const char *const GROUP_KEYS[] = {"type", "nodes", "a-nodes", "b-nodes",
                                         "unidirectional", "pairs"};
static const char *const TASK_KEYS[] = {"group", "test", "disabled"};

static const mc_param_names PARAMS = {
    .interval = "packet-interval", .count = "packet-count", .padding = "packet-padding",
    .loss_timeout = "loss-timeout", .bucket_width = "bucket-width",
    .sub_sessions = "sub-session-count", .dscp = "dscp", .auth = "auth"};

static owp_status native_top(mc_parser *ps)
{
    return mc_check_keys(ps, ps->mesh->root, "$", MC_KEYS(TOP_KEYS));
}

/* An entry of a section: a valid name, an object, only known keys. */
static owp_status native_entry(mc_parser *ps, const char *name, json_t *obj, const char *path,
                               const char *kind, const char *what, mc_keys keys)
{
    owp_status st = mc_check_entry(ps, name, obj, path, kind, what);
    return st ? st : mc_check_keys(ps, obj, path, keys);
}

static owp_status native_node(mc_parser *ps, const char *name, json_t *obj, const char *path)
{
    owm_node node = {.name = name};
    bool has_port;
    owp_status st;
    if ((st = native_entry(ps, name, obj, path, "node", "a node object", MC_KEYS(NODE_KEYS))) ||
        (st = mc_node_address(ps, &node, obj, path, &has_port)) ||
        (st = mc_node_extras(ps, &node, obj, path, has_port)))
        return st;
    return mc_add_node(ps, &node, path);
}

static owp_status native_test(mc_parser *ps, mc_test *t, json_t *obj, const char *path)
{
    char p[MC_PATH_MAX];
    owp_status st;
    if ((st = native_entry(ps, t->name, obj, path, "test", "a test object",
                           MC_KEYS(TEST_KEYS))) ||
        (st = mc_test_type(ps, t, obj, path, p)))
        return st;
    if (strcmp(t->type, "latencybg"))
        return mc_expected(ps, p, "\"latencybg\"", json_object_get(obj, "type"));
    t->usable = true;
    return mc_parse_params(ps, obj, path, &PARAMS, &t->params);
}

/* Explicit [source, destination] pairs of a list group. */
static owp_status parse_pair(mc_parser *ps, void *ctx, json_t *pair, const char *path)
{
    mc_group *g = ctx;
    if (!json_is_array(pair) || json_array_size(pair) != 2)
        return mc_expected(ps, path, "a [source, destination] pair of node names", pair);
    size_t ends[2];
    bool skip;
    for (size_t e = 0; e < 2; e++) {
        char ep[MC_PATH_MAX];
        mc_path_index(ep, sizeof ep, path, e);
        owp_status st = mc_resolve_name(ps, json_array_get(pair, e), ep, &ends[e], &skip);
        if (st)
            return st;
    }
    if (ends[0] == ends[1])
        return mc_fail(ps, path, "expected two different nodes, got %s twice",
                       ps->mesh->nodes[ends[0]].name);
    g->a[g->na++] = ends[0];
    g->b[g->nb++] = ends[1];
    return OWP_OK;
}

static owp_status parse_pairs(mc_parser *ps, mc_group *g, json_t *obj, const char *path)
{
    char p[MC_PATH_MAX];
    json_t *pairs;
    owp_status st = mc_get_array(ps, obj, "pairs", path, "an array of [source, destination]", 1,
                                 "an array of at least one [source, destination] pair", &pairs,
                                 p);
    if (st)
        return st;
    g->a = calloc(json_array_size(pairs), sizeof *g->a);
    g->b = calloc(json_array_size(pairs), sizeof *g->b);
    if (!g->a || !g->b)
        return mc_nomem(ps);
    return mc_each_item(ps, pairs, p, parse_pair, g);
}

static owp_status native_group(mc_parser *ps, mc_group *g, json_t *obj, const char *path)
{
    owp_status st;
    if ((st = native_entry(ps, g->name, obj, path, "group", "a group object",
                           MC_KEYS(GROUP_KEYS))) ||
        (st = mc_group_type_of(ps, obj, path, &g->type)))
        return st;
    g->usable = true;
    switch (g->type) {
    case MC_GROUP_MESH: return mc_resolve_members(ps, obj, "nodes", path, 2, &g->a, &g->na);
    case MC_GROUP_DISJOINT: return mc_disjoint_sides(ps, g, obj, path, "a-nodes", "b-nodes", 1);
    case MC_GROUP_LIST: return parse_pairs(ps, g, obj, path);
    }
    return OWP_OK;
}

static owp_status native_task(mc_parser *ps, const char *name, json_t *obj, const char *path)
{
    owp_status st = native_entry(ps, name, obj, path, "task", "a task object",
                                 MC_KEYS(TASK_KEYS));
    return st ? st : mc_run_task(ps, name, obj, path);
}

const mc_format mc_native_format = {
    .id = OWM_MESH_NATIVE,
    .nodes_section = "nodes",
    .node_kind = "node",
    .node_kinds = "nodes",
    .top = native_top,
    .node = native_node,
    .test = native_test,
    .group = native_group,
    .task = native_task,
    .member = mc_resolve_name,
};
