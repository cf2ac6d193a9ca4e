/*
 * meshconf_native.c - the owmesh mesh format: "nodes", "collectors",
 * "analysts", "groups", "tests", "tasks" (owmesh-mesh(5)). Every object rejects keys it does not know, so
 * a typo cannot pass silently; keys starting with '_' are comments.
 */
#include "meshconf_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const TOP_KEYS[] = {"nodes", "collectors", "analysts", "groups", "tests",
                                       "tasks"};
static const char *const NODE_KEYS[] = {"address", "public-key", "owamp-port", "data-endpoint"};
static const char *const TEST_KEYS[] = {
    "type", "packet-interval", "packet-count", "packet-padding", "loss-timeout",
    "bucket-width", "sub-session-count", "dscp", "auth"};
static const char *const GROUP_KEYS[] = {"type", "nodes", "a-nodes", "b-nodes",
                                         "unidirectional", "pairs"};
static const char *const TASK_KEYS[] = {"group", "test", "disabled"};

static const owm_conf_param_names PARAMS = {
    .interval = "packet-interval", .count = "packet-count", .padding = "packet-padding",
    .loss_timeout = "loss-timeout", .bucket_width = "bucket-width",
    .sub_sessions = "sub-session-count", .dscp = "dscp", .auth = "auth"};

static owp_status native_top(owm_conf_parser *ps)
{
    return owm_conf_check_keys(ps, ps->mesh->root, "$", OWM_CONF_KEYS(TOP_KEYS));
}

/* An entry of a section: a valid name, an object, only known keys. */
static owp_status native_entry(owm_conf_parser *ps, const char *name, json_t *obj, const char *path,
                               const char *kind, const char *what, owm_conf_keys keys)
{
    owp_status st = owm_conf_check_entry(ps, name, obj, path, kind, what);
    return st ? st : owm_conf_check_keys(ps, obj, path, keys);
}

static owp_status native_node(owm_conf_parser *ps, const char *name, json_t *obj, const char *path)
{
    owm_node node = {.name = name};
    bool has_port;
    owp_status st;
    if ((st = native_entry(ps, name, obj, path, "node", "a node object",
                           OWM_CONF_KEYS(NODE_KEYS))) ||
        (st = owm_conf_node_address(ps, &node, obj, path, &has_port)) ||
        (st = owm_conf_node_extras(ps, &node, obj, path, has_port)))
        return st;
    return owm_conf_add_node(ps, &node, path);
}

static owp_status native_test(owm_conf_parser *ps, owm_conf_test *t, json_t *obj, const char *path)
{
    char p[OWM_CONF_PATH_MAX];
    owp_status st;
    if ((st = native_entry(ps, t->name, obj, path, "test", "a test object",
                           OWM_CONF_KEYS(TEST_KEYS))) ||
        (st = owm_conf_test_type(ps, t, obj, path, p)))
        return st;
    if (strcmp(t->type, "latencybg"))
        return owm_conf_expected(ps, p, "\"latencybg\"", json_object_get(obj, "type"));
    t->usable = true;
    return owm_conf_parse_params(ps, obj, path, &PARAMS, &t->params);
}

/* Explicit [source, destination] pairs of a list group. */
static owp_status parse_pair(owm_conf_parser *ps, void *ctx, json_t *pair, const char *path)
{
    owm_conf_group *g = ctx;
    if (!json_is_array(pair) || json_array_size(pair) != 2)
        return owm_conf_expected(ps, path, "a [source, destination] pair of node names", pair);
    size_t ends[2];
    bool skip;
    for (size_t e = 0; e < 2; e++) {
        char ep[OWM_CONF_PATH_MAX];
        owm_conf_path_index(ep, sizeof ep, path, e);
        owp_status st = owm_conf_resolve_name(ps, json_array_get(pair, e), ep, &ends[e], &skip);
        if (st)
            return st;
    }
    if (ends[0] == ends[1])
        return owm_conf_fail(ps, path, "expected two different nodes, got %s twice",
                             ps->mesh->nodes[ends[0]].name);
    g->a[g->na++] = ends[0];
    g->b[g->nb++] = ends[1];
    return OWP_OK;
}

static owp_status parse_pairs(owm_conf_parser *ps, owm_conf_group *g, json_t *obj, const char *path)
{
    char p[OWM_CONF_PATH_MAX];
    json_t *pairs;
    owp_status st =
        owm_conf_get_array(ps, obj, "pairs", path, "an array of [source, destination]", 1,
                           "an array of at least one [source, destination] pair", &pairs, p);
    if (st)
        return st;
    g->a = calloc(json_array_size(pairs), sizeof *g->a);
    g->b = calloc(json_array_size(pairs), sizeof *g->b);
    if (!g->a || !g->b)
        return owm_conf_nomem(ps);
    return owm_conf_each_item(ps, pairs, p, parse_pair, g);
}

static owp_status native_group(owm_conf_parser *ps, owm_conf_group *g, json_t *obj,
                               const char *path)
{
    owp_status st;
    if ((st = native_entry(ps, g->name, obj, path, "group", "a group object",
                           OWM_CONF_KEYS(GROUP_KEYS))) ||
        (st = owm_conf_group_type_of(ps, obj, path, &g->type)))
        return st;
    g->usable = true;
    switch (g->type) {
    case OWM_CONF_GROUP_MESH:
        return owm_conf_resolve_members(ps, obj, "nodes", path, 2, &g->a, &g->na);
    case OWM_CONF_GROUP_DISJOINT:
        return owm_conf_disjoint_sides(ps, g, obj, path, "a-nodes", "b-nodes", 1);
    case OWM_CONF_GROUP_LIST: return parse_pairs(ps, g, obj, path);
    }
    return OWP_OK;
}

static owp_status native_task(owm_conf_parser *ps, const char *name, json_t *obj, const char *path)
{
    owp_status st = native_entry(ps, name, obj, path, "task", "a task object",
                                 OWM_CONF_KEYS(TASK_KEYS));
    return st ? st : owm_conf_run_task(ps, name, obj, path);
}

const owm_conf_format owm_conf_native_format = {
    .id = OWM_MESH_NATIVE,
    .nodes_section = "nodes",
    .node_kind = "node",
    .node_kinds = "nodes",
    .clients_at = "",
    .top = native_top,
    .node = native_node,
    .test = native_test,
    .group = native_group,
    .task = native_task,
    .member = owm_conf_resolve_name,
};
