/*
 * meshconf_psconfig.c - perfSONAR pSConfig templates read as meshes:
 * "addresses" are the nodes (owmesh's node keys go in an address's "_meta",
 * the collectors and analysts it trusts in the template's own "_meta"),
 * groups select addresses with {"name": ...} and may leave pairs out with
 * "excludes", tests of type latencybg carry their parameters in a pScheduler
 * "spec", and tasks join the two. A template is written for more tools than
 * owmesh, so what owmesh does not use (archives, schedules, tests of other
 * types, unknown spec keys) is a warning, never an error.
 */
#include "meshconf_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const TOP_KEYS[] = {"addresses", "groups", "tests", "tasks"};

/* pScheduler's latencybg spec calls the loss timeout "packet-timeout";
 * "loss-threshold" (the MeshConfig name) is read as well. */
static const owm_conf_param_names PARAMS = {
    .interval = "packet-interval", .count = "packet-count", .padding = "packet-padding",
    .loss_timeout = "packet-timeout", .loss_timeout_alt = "loss-threshold",
    .bucket_width = "bucket-width", .tos = "ip-tos", .zero_timeout_is_default = true};

/* latencybg spec keys that say nothing owmesh needs: the pair comes from the
 * group, ports and tools from the node's configuration. */
static const char *const SPEC_IGNORED[] = {
    "schema", "source", "source-node", "dest", "dest-node", "duration", "ctrl-port",
    "data-ports", "ip-version", "output-raw", "flip", "report-interval"};

/* A warning "PATH.KEY: note" for each key of obj that is neither a comment
 * nor known nor also. */
static owp_status note_unused_keys(owm_conf_parser *ps, json_t *obj, const char *path,
                                   owm_conf_keys known, owm_conf_keys also, const char *note)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (owm_conf_is_comment_key(key) || owm_conf_keys_has(known, key) ||
            owm_conf_keys_has(also, key))
            continue;
        char p[OWM_CONF_PATH_MAX];
        owm_conf_path_key(p, sizeof p, path, key);
        owp_status st = owm_conf_warn(ps, p, "%s", note);
        if (st)
            return st;
    }
    return OWP_OK;
}

/* pSConfig templates carry archives, schedules, hosts, ...: note them. */
static owp_status psconfig_top(owm_conf_parser *ps)
{
    return note_unused_keys(ps, ps->mesh->root, "$", OWM_CONF_KEYS(TOP_KEYS),
                            (owm_conf_keys){NULL, 0}, "not used by owmesh, ignored");
}

static owp_status psconfig_node(owm_conf_parser *ps, const char *name, json_t *obj,
                                const char *path)
{
    owm_node node = {.name = name};
    bool disabled = false, has_port;
    owp_status st;
    if ((st = owm_conf_check_entry(ps, name, obj, path, "address", "an address object")) ||
        (st = owm_conf_get_bool(ps, obj, "disabled", path, &disabled)) ||
        (st = owm_conf_node_address(ps, &node, obj, path, &has_port)))
        return st;
    json_t *meta = json_object_get(obj, "_meta");
    if (json_is_object(meta)) {
        char mp[OWM_CONF_PATH_MAX];
        owm_conf_path_key(mp, sizeof mp, path, "_meta");
        if ((st = owm_conf_node_extras(ps, &node, meta, mp, has_port)))
            return st;
    }
    /* pSConfig leaves disabled addresses out of every group. */
    if (disabled)
        return owm_conf_index_set(ps, ps->disabled, name, 0);
    return owm_conf_add_node(ps, &node, path);
}

static owp_status warn_unknown_spec_keys(owm_conf_parser *ps, json_t *spec, const char *path)
{
    const owm_conf_param_names *k = &PARAMS;
    const char *const known[] = {k->interval, k->count, k->padding, k->loss_timeout,
                                 k->loss_timeout_alt, k->bucket_width, k->tos};
    return note_unused_keys(ps, spec, path, OWM_CONF_KEYS(known), OWM_CONF_KEYS(SPEC_IGNORED),
                            "not a latencybg parameter owmesh knows, ignored");
}

static owp_status psconfig_test(owm_conf_parser *ps, owm_conf_test *t, json_t *obj,
                                const char *path)
{
    char p[OWM_CONF_PATH_MAX];
    owp_status st;
    if ((st = owm_conf_check_entry(ps, t->name, obj, path, "test", "a test object")) ||
        (st = owm_conf_test_type(ps, t, obj, path, p)))
        return st;
    if (strcmp(t->type, "latencybg")) {
        t->usable = false;
        return owm_conf_warn(ps, p, "test type \"%s\" ignored (owmesh runs latencybg tests only)",
                             t->type);
    }
    t->usable = true;
    json_t *spec;
    if ((st = owm_conf_get_object(ps, obj, "spec", path, false, &spec)))
        return st;
    if (!spec) {
        owm_conf_default_params(&t->params);
        return OWP_OK;
    }
    owm_conf_path_key(p, sizeof p, path, "spec");
    if ((st = owm_conf_parse_params(ps, spec, p, &PARAMS, &t->params)))
        return st;
    return warn_unknown_spec_keys(ps, spec, p);
}

/* An address selector {"name": ...}. */
static owp_status psconfig_member(owm_conf_parser *ps, json_t *v, const char *path, size_t *index,
                                  bool *skip)
{
    *skip = false;
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")))
        return owm_conf_expected(ps, path, "an address selector {\"name\": ...}", v);
    char p[OWM_CONF_PATH_MAX];
    owm_conf_path_key(p, sizeof p, path, "name");
    return owm_conf_resolve_name(ps, json_object_get(v, "name"), p, index, skip);
}

/* One item of "excludes": the pairs local-address -> each target. */
static owp_status parse_exclude(owm_conf_parser *ps, void *ctx, json_t *item, const char *path)
{
    owm_conf_group *g = ctx;
    if (!json_is_object(item))
        return owm_conf_expected(ps, path,
                                 "an object with \"local-address\" and \"target-addresses\"", item);
    size_t local, *targets = NULL, n_targets = 0;
    bool skip;
    char lp[OWM_CONF_PATH_MAX];
    owm_conf_path_key(lp, sizeof lp, path, "local-address");
    json_t *lv = json_object_get(item, "local-address");
    if (!lv)
        return owm_conf_fail(ps, path, "expected the key \"local-address\"");
    owp_status st = psconfig_member(ps, lv, lp, &local, &skip);
    if (!st)
        st = owm_conf_resolve_members(ps, item, "target-addresses", path, 0, &targets, &n_targets);
    for (size_t t = 0; !st && !skip && t < n_targets; t++) {
        g->ex_src[g->n_ex] = local;
        g->ex_dst[g->n_ex++] = targets[t];
    }
    free(targets);
    return st;
}

/* "excludes": [{"local-address": {"name": X}, "target-addresses":
 * [{"name": Y}, ...]}] leaves out the pairs X -> Y. */
static owp_status parse_excludes(owm_conf_parser *ps, owm_conf_group *g, json_t *obj,
                                 const char *path)
{
    char p[OWM_CONF_PATH_MAX];
    json_t *ex;
    owp_status st =
        owm_conf_get_array(ps, obj, "excludes", path, NULL, 0,
                           "an array of {\"local-address\", \"target-addresses\"}", &ex, p);
    if (st || !ex)
        return st;
    size_t total = 0, i;
    json_t *item;
    json_array_foreach(ex, i, item)
        total += json_array_size(json_object_get(item, "target-addresses"));
    g->ex_src = calloc(total + 1, sizeof *g->ex_src);
    g->ex_dst = calloc(total + 1, sizeof *g->ex_dst);
    if (!g->ex_src || !g->ex_dst)
        return owm_conf_nomem(ps);
    return owm_conf_each_item(ps, ex, p, parse_exclude, g);
}

static owp_status psconfig_group(owm_conf_parser *ps, owm_conf_group *g, json_t *obj,
                                 const char *path)
{
    owp_status st;
    if ((st = owm_conf_check_entry(ps, g->name, obj, path, "group", "a group object")) ||
        (st = owm_conf_group_type_of(ps, obj, path, &g->type)))
        return st;
    /* Disabled addresses may leave a side empty: no minimum. */
    g->usable = true;
    switch (g->type) {
    case OWM_CONF_GROUP_MESH:
        st = owm_conf_resolve_members(ps, obj, "addresses", path, 0, &g->a, &g->na);
        break;
    case OWM_CONF_GROUP_DISJOINT:
        st = owm_conf_disjoint_sides(ps, g, obj, path, "a-addresses", "b-addresses", 0);
        break;
    case OWM_CONF_GROUP_LIST:
        /* A pSConfig list yields single addresses, for one-host tests. */
        g->usable = false;
        st = owm_conf_resolve_members(ps, obj, "addresses", path, 0, &g->a, &g->na);
        g->na = 0;
        break;
    }
    return st ? st : parse_excludes(ps, g, obj, path);
}

static owp_status psconfig_task(owm_conf_parser *ps, const char *name, json_t *obj,
                                const char *path)
{
    owp_status st = owm_conf_check_entry(ps, name, obj, path, "task", "a task object");
    return st ? st : owm_conf_run_task(ps, name, obj, path);
}

const owm_conf_format owm_conf_psconfig_format = {
    .id = OWM_MESH_PSCONFIG,
    .nodes_section = "addresses",
    .node_kind = "address",
    .node_kinds = "addresses",
    .clients_at = "_meta",
    .top = psconfig_top,
    .node = psconfig_node,
    .test = psconfig_test,
    .group = psconfig_group,
    .task = psconfig_task,
    .member = psconfig_member,
};
