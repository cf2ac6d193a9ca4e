/*
 * meshconf_model.c - what the native and the pSConfig formats mean alike:
 * the passes over the sections (nodes, tests, groups, then tasks), node
 * addresses, keys and endpoints, the latencybg parameters, group members
 * and types, and the tasks that join a group with a test. Each format
 * (meshconf_native.c, meshconf_psconfig.c) reads its own entries with these.
 */
#include "meshconf_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "hostport.h"
#include "meshmsg.h"
#include "options.h"
#include "testpkt.h"

#define DEFAULT_INTERVAL 0.1
#define DEFAULT_COUNT 300
#define DEFAULT_LOSS_TIMEOUT 10.0
#define DEFAULT_BUCKET_WIDTH 0.0001
#define ALL_MODES (OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)

/* ------------------------------------------------------------ entries */

static bool valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > OWM_CONF_NAME_MAX || !isalnum((unsigned char)name[0]))
        return false;
    for (const char *s = name; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._:-", *s))
            return false;
    return true;
}

owp_status owm_conf_check_entry(owm_conf_parser *ps, const char *name, json_t *obj,
                                const char *path, const char *kind, const char *what)
{
    if (!valid_name(name))
        return owm_conf_fail(ps, path,
                             "expected a %s name of letters, digits, '.', '_', ':' or '-' "
                             "(1-%d characters, starting with a letter or digit)",
                             kind, OWM_CONF_NAME_MAX);
    if (!json_is_object(obj))
        return owm_conf_expected(ps, path, what, obj);
    return OWP_OK;
}

/* ------------------------------------------------------------ nodes */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* "host", "host:port" or "[v6]:port" at path; *has_port tells whether a
 * port was written. */
static owp_status parse_address(owm_conf_parser *ps, owm_node *node, json_t *value,
                                const char *path, bool *has_port)
{
    owp_hostport hp;
    owp_err why;
    const char *form = "a host name or address, optionally with :port ([v6]:port for IPv6)";
    if (owp_hostport_parse(node->address, &hp, &why) != OWP_OK)
        return owm_conf_fail(ps, path, "expected %s (%s)", form, why.msg);
    if (hp.host[0] == '\0')
        return owm_conf_expected(ps, path, form, value);
    snprintf(node->host, sizeof node->host, "%s", hp.host);
    node->owamp_port = OWM_OWAMP_PORT;
    *has_port = hp.port[0] != '\0';
    if (*has_port) {
        long port = all_digits(hp.port) && strlen(hp.port) <= 5 ? strtol(hp.port, NULL, 10) : 0;
        if (port < 1 || port > 65535)
            return owm_conf_fail(ps, path, "expected a port number 1-65535 after ':', got \"%s\"",
                                 hp.port);
        node->owamp_port = (uint16_t)port;
    }
    return OWP_OK;
}

owp_status owm_conf_node_address(owm_conf_parser *ps, owm_node *node, json_t *obj, const char *path,
                                 bool *has_port)
{
    owp_status st = owm_conf_get_string(ps, obj, "address", path, true, &node->address);
    if (st)
        return st;
    char p[OWM_CONF_PATH_MAX];
    owm_conf_path_key(p, sizeof p, path, "address");
    *has_port = false;
    return parse_address(ps, node, json_object_get(obj, "address"), p, has_port);
}

static owp_status parse_public_key(owm_conf_parser *ps, owm_node *node, json_t *obj,
                                   const char *path)
{
    owp_status st = owm_conf_get_string(ps, obj, "public-key", path, false, &node->public_key);
    if (st || !node->public_key)
        return st;
    char p[OWM_CONF_PATH_MAX];
    owm_conf_path_key(p, sizeof p, path, "public-key");
    if (!owm_curve_key_valid(node->public_key))
        return owm_conf_expected(ps, p,
                                 "a Z85 CURVE public key (40 characters, as in a zcert file)",
                                 json_object_get(obj, "public-key"));
    json_t *other = json_object_get(ps->mesh->node_by_key, node->public_key);
    if (other)
        return owm_conf_fail(ps, p, "expected a key of this node only, got the key of node %s",
                             ps->mesh->nodes[json_integer_value(other)].name);
    return OWP_OK;
}

static owp_status parse_owamp_port(owm_conf_parser *ps, owm_node *node, json_t *obj,
                                   const char *path, bool address_has_port)
{
    char p[OWM_CONF_PATH_MAX];
    json_t *v;
    uint32_t port;
    owp_status st = owm_conf_member(ps, obj, "owamp-port", path, NULL, &v, p);
    if (st || !v)
        return st;
    if ((st = owm_conf_get_uint(ps, v, p, 1, 65535, "a port number 1-65535", &port)))
        return st;
    if (address_has_port && port != node->owamp_port)
        return owm_conf_fail(ps, p, "expected the port of the address (%u), got %u",
                             (unsigned)node->owamp_port, (unsigned)port);
    node->owamp_port = (uint16_t)port;
    return OWP_OK;
}

static owp_status parse_data_endpoint(owm_conf_parser *ps, owm_node *node, json_t *obj,
                                      const char *path)
{
    owp_status st =
        owm_conf_get_string(ps, obj, "data-endpoint", path, false, &node->data_endpoint);
    if (st || !node->data_endpoint)
        return st;
    /* What the messages can carry (the coordinator sends it to the node in
     * its schedule and to collectors in the directory), over TCP or IPC. */
    const char *e = node->data_endpoint;
    if ((!strncmp(e, "tcp://", 6) || !strncmp(e, "ipc://", 6)) && owm_msg_endpoint_ok(e))
        return OWP_OK;
    char p[OWM_CONF_PATH_MAX];
    owm_conf_path_key(p, sizeof p, path, "data-endpoint");
    return owm_conf_expected(ps, p, "a ZeroMQ endpoint such as \"tcp://127.0.0.2:5556\"",
                             json_object_get(obj, "data-endpoint"));
}

owp_status owm_conf_node_extras(owm_conf_parser *ps, owm_node *node, json_t *obj, const char *path,
                                bool address_has_port)
{
    owp_status st;
    if ((st = parse_public_key(ps, node, obj, path)) ||
        (st = parse_owamp_port(ps, node, obj, path, address_has_port)))
        return st;
    return parse_data_endpoint(ps, node, obj, path);
}

owp_status owm_conf_add_node(owm_conf_parser *ps, const owm_node *node, const char *path)
{
    owm_mesh *m = ps->mesh;
    owp_status st;
    for (size_t i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].host, node->host) && m->nodes[i].owamp_port == node->owamp_port)
            if ((st = owm_conf_warn(ps, path, "same OWAMP server (%s port %u) as node %s",
                                    node->host, (unsigned)node->owamp_port, m->nodes[i].name)))
                return st;
    if ((st = owm_conf_index_set(ps, m->node_by_name, node->name, m->n_nodes)))
        return st;
    if (node->public_key &&
        (st = owm_conf_index_set(ps, m->node_by_key, node->public_key, m->n_nodes)))
        return st;
    m->nodes[m->n_nodes] = *node;
    m->nodes[m->n_nodes].index = m->n_nodes;
    m->n_nodes++;
    return OWP_OK;
}

/* ------------------------------------------------------------ test parameters */

void owm_test_params_default(owm_test_params *params)
{
    params->packet_interval = DEFAULT_INTERVAL;
    params->packet_count = DEFAULT_COUNT;
    params->packet_padding = 0;
    params->loss_timeout = DEFAULT_LOSS_TIMEOUT;
    params->bucket_width = DEFAULT_BUCKET_WIDTH;
    params->sub_session_count = 0; /* filled from packet_count once known */
    params->dscp = 0;
    params->auth_modes = ALL_MODES;
}

void owm_conf_default_params(owm_test_params *params)
{
    owm_test_params_default(params);
    params->sub_session_count = params->packet_count;
}

static owp_status parse_dscp_value(owm_conf_parser *ps, json_t *v, const char *path, uint8_t *dscp)
{
    const char *what = "a DSCP value 0-63 or a name such as \"EF\", \"AF41\" or \"CS5\"";
    if (json_is_string(v)) {
        int d;
        if (json_string_length(v) == 0 || owp_parse_dscp(json_string_value(v), &d, NULL))
            return owm_conf_expected(ps, path, what, v);
        *dscp = (uint8_t)d;
        return OWP_OK;
    }
    uint32_t d;
    owp_status st = owm_conf_get_uint(ps, v, path, 0, 63, what, &d);
    *dscp = (uint8_t)d;
    return st;
}

static owp_status parse_auth(owm_conf_parser *ps, json_t *v, const char *path, uint32_t *modes)
{
    const char *what = "authentication modes: letters A, E and/or O (such as \"AEO\")";
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        owp_parse_authmode(json_string_value(v), modes, NULL))
        return owm_conf_expected(ps, path, what, v);
    return OWP_OK;
}

static owp_status parse_loss_timeout(owm_conf_parser *ps, json_t *v, const char *p,
                                     const owm_conf_param_names *k, owm_test_params *t)
{
    const char *what = "a number of seconds > 0 and <= 3600";
    if (k->zero_timeout_is_default && json_is_number(v) && json_number_value(v) == 0.0)
        return OWP_OK;
    return owm_conf_get_seconds(ps, v, p, OWM_CONF_MAX_SECONDS, what, &t->loss_timeout);
}

static owp_status parse_bucket_width(owm_conf_parser *ps, json_t *v, const char *p,
                                     owm_test_params *t)
{
    const char *what = "a number of seconds > 0 and < 1";
    owp_status st = owm_conf_get_seconds(ps, v, p, 1.0, what, &t->bucket_width);
    if (!st && t->bucket_width >= 1.0)
        return owm_conf_expected(ps, p, what, v);
    return st;
}

static owp_status parse_sub_sessions(owm_conf_parser *ps, json_t *v, const char *p,
                                     owm_test_params *t)
{
    char what[96];
    snprintf(what, sizeof what, "a divisor of packet-count (%u)", (unsigned)t->packet_count);
    owp_status st = owm_conf_get_uint(ps, v, p, 1, t->packet_count, what, &t->sub_session_count);
    if (!st && t->packet_count % t->sub_session_count)
        return owm_conf_expected(ps, p, what, v);
    return st;
}

static owp_status parse_tos(owm_conf_parser *ps, json_t *v, const char *p, owm_test_params *t)
{
    uint32_t tos;
    owp_status st = owm_conf_get_uint(ps, v, p, 0, 255, "an IP TOS byte 0-255", &tos);
    if (!st)
        t->dscp = (uint8_t)(tos >> 2); /* the DSCP is the TOS byte's upper six bits */
    return st;
}

/* powstream's start-up check, made before the mesh is deployed. */
static owp_status warn_short_session(owm_conf_parser *ps, const char *path,
                                     const owm_test_params *t)
{
    double session = floor(t->packet_count * t->packet_interval);
    if (session >= 10.0 + t->loss_timeout)
        return OWP_OK;
    char c[32], l[32];
    owm_conf_format_double(session, c, sizeof c);
    owm_conf_format_double(t->loss_timeout, l, sizeof l);
    return owm_conf_warn(ps, path,
                         "a session lasts about %s s, less than 10 s + loss-timeout (%s s): "
                         "powstream warns that holes in the data are likely",
                         c, l);
}

/* The parameter key of the format (NULL: none) that obj has: *v and its path p. */
static bool param(json_t *obj, const char *key, const char *path, json_t **v,
                  char p[OWM_CONF_PATH_MAX])
{
    if (!key || !(*v = json_object_get(obj, key)))
        return false;
    owm_conf_path_key(p, OWM_CONF_PATH_MAX, path, key);
    return true;
}

owp_status owm_conf_parse_params(owm_conf_parser *ps, json_t *obj, const char *path,
                                 const owm_conf_param_names *k, owm_test_params *t)
{
    owp_status st = OWP_OK;
    char p[OWM_CONF_PATH_MAX];
    json_t *v;
    owm_test_params_default(t);

    if (param(obj, k->interval, path, &v, p) &&
        (st = owm_conf_get_seconds(ps, v, p, OWM_CONF_MAX_SECONDS,
                                   "a number of seconds > 0 and <= 3600", &t->packet_interval)))
        return st;
    if (param(obj, k->count, path, &v, p) &&
        (st = owm_conf_get_uint(ps, v, p, 1, UINT32_MAX, "a positive integer", &t->packet_count)))
        return st;
    if (param(obj, k->padding, path, &v, p) &&
        (st = owm_conf_get_uint(ps, v, p, 0, 65535, "an integer 0-65535", &t->packet_padding)))
        return st;
    if (param(obj, k->loss_timeout, path, &v, p) && (st = parse_loss_timeout(ps, v, p, k, t)))
        return st;
    if (param(obj, k->loss_timeout_alt, path, &v, p) &&
        (st = parse_loss_timeout(ps, v, p, k, t)))
        return st;
    if (param(obj, k->bucket_width, path, &v, p) && (st = parse_bucket_width(ps, v, p, t)))
        return st;
    t->sub_session_count = t->packet_count;
    if (param(obj, k->sub_sessions, path, &v, p) && (st = parse_sub_sessions(ps, v, p, t)))
        return st;
    if (param(obj, k->dscp, path, &v, p) && (st = parse_dscp_value(ps, v, p, &t->dscp)))
        return st;
    if (param(obj, k->tos, path, &v, p) && (st = parse_tos(ps, v, p, t)))
        return st;
    if (param(obj, k->auth, path, &v, p) && (st = parse_auth(ps, v, p, &t->auth_modes)))
        return st;
    return warn_short_session(ps, path, t);
}

owp_status owm_conf_test_type(owm_conf_parser *ps, owm_conf_test *t, json_t *obj, const char *path,
                              char p[OWM_CONF_PATH_MAX])
{
    owp_status st = owm_conf_get_string(ps, obj, "type", path, true, &t->type);
    owm_conf_path_key(p, OWM_CONF_PATH_MAX, path, "type");
    return st;
}

/* ------------------------------------------------------------ groups */

owp_status owm_conf_resolve_name(owm_conf_parser *ps, json_t *v, const char *path, size_t *index,
                                 bool *skip)
{
    const owm_conf_format *f = ps->format;
    *skip = false;
    if (!json_is_string(v)) {
        char what[40];
        snprintf(what, sizeof what, "a %s name", f->node_kind);
        return owm_conf_expected(ps, path, what, v);
    }
    const char *name = json_string_value(v);
    json_t *at = json_object_get(ps->mesh->node_by_name, name);
    if (at) {
        *index = (size_t)json_integer_value(at);
        return OWP_OK;
    }
    if (json_object_get(ps->disabled, name)) {
        *skip = true;
        return OWP_OK;
    }
    char list[OWM_CONF_KNOWN_LIST_MAX + 64], what[OWM_CONF_KNOWN_LIST_MAX + 96];
    owm_conf_join_names(&ps->mesh->nodes[0].name, ps->mesh->n_nodes, sizeof(owm_node), list,
                        sizeof list);
    snprintf(what, sizeof what, "one of the %s (%s)", f->node_kinds, list);
    return owm_conf_expected(ps, path, what, v);
}

typedef struct member_list {
    size_t *index, n;
} member_list;

/* Appends the member at path to the list, which holds each node once. */
static owp_status add_member(owm_conf_parser *ps, void *ctx, json_t *v, const char *path)
{
    member_list *list = ctx;
    size_t index;
    bool skip;
    owp_status st = ps->format->member(ps, v, path, &index, &skip);
    if (st || skip)
        return st;
    for (size_t j = 0; j < list->n; j++)
        if (list->index[j] == index)
            return owm_conf_fail(ps, path, "expected each %s once, got %s again",
                                 ps->format->node_kind, ps->mesh->nodes[index].name);
    list->index[list->n++] = index;
    return OWP_OK;
}

owp_status owm_conf_resolve_members(owm_conf_parser *ps, json_t *parent, const char *key,
                                    const char *path, size_t min, size_t **out, size_t *n)
{
    const owm_conf_format *f = ps->format;
    char p[OWM_CONF_PATH_MAX], missing[64], what[64];
    json_t *arr;
    snprintf(missing, sizeof missing, "an array of %s names", f->node_kind);
    snprintf(what, sizeof what, "an array of at least %zu %s", min,
             min == 1 ? f->node_kind : f->node_kinds);
    owp_status st = owm_conf_get_array(ps, parent, key, path, missing, min, what, &arr, p);
    if (st)
        return st;
    member_list list = {.index = calloc(json_array_size(arr) + 1, sizeof *list.index)};
    *out = list.index;
    *n = 0;
    if (!list.index)
        return owm_conf_nomem(ps);
    st = owm_conf_each_item(ps, arr, p, add_member, &list);
    *n = list.n;
    return st;
}

owp_status owm_conf_group_type_of(owm_conf_parser *ps, json_t *obj, const char *path,
                                  owm_conf_group_type *type)
{
    const char *text;
    owp_status st = owm_conf_get_string(ps, obj, "type", path, true, &text);
    if (st)
        return st;
    static const struct {
        const char *name;
        owm_conf_group_type type;
    } types[] = {{"mesh", OWM_CONF_GROUP_MESH},
                 {"disjoint", OWM_CONF_GROUP_DISJOINT},
                 {"list", OWM_CONF_GROUP_LIST}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(text, types[i].name)) {
            *type = types[i].type;
            return OWP_OK;
        }
    char p[OWM_CONF_PATH_MAX];
    owm_conf_path_key(p, sizeof p, path, "type");
    return owm_conf_expected(ps, p, "\"mesh\", \"disjoint\" or \"list\"",
                             json_object_get(obj, "type"));
}

owp_status owm_conf_disjoint_sides(owm_conf_parser *ps, owm_conf_group *g, json_t *obj,
                                   const char *path, const char *a_key, const char *b_key,
                                   size_t min)
{
    owp_status st;
    if ((st = owm_conf_get_bool(ps, obj, "unidirectional", path, &g->unidirectional)) ||
        (st = owm_conf_resolve_members(ps, obj, a_key, path, min, &g->a, &g->na)))
        return st;
    return owm_conf_resolve_members(ps, obj, b_key, path, min, &g->b, &g->nb);
}

/* ------------------------------------------------------------ tasks */

/* The group or test a task names; unknown names list the known ones. */
static owp_status find_ref(owm_conf_parser *ps, json_t *task, const char *key, const char *path,
                           const void *items, size_t n, size_t stride, size_t *index)
{
    const char *name;
    owp_status st = owm_conf_get_string(ps, task, key, path, true, &name);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(*(const char *const *)((const char *)items + i * stride), name)) {
            *index = i;
            return OWP_OK;
        }
    char p[OWM_CONF_PATH_MAX], list[OWM_CONF_KNOWN_LIST_MAX + 64],
        what[OWM_CONF_KNOWN_LIST_MAX + 96];
    owm_conf_path_key(p, sizeof p, path, key);
    owm_conf_join_names(items, n, stride, list, sizeof list);
    snprintf(what, sizeof what, "one of the %ss (%s)", key, list);
    return owm_conf_expected(ps, p, what, json_object_get(task, key));
}

owp_status owm_conf_run_task(owm_conf_parser *ps, const char *name, json_t *obj, const char *path)
{
    owp_status st;
    size_t gi, ti;
    bool disabled = false;
    if ((st = find_ref(ps, obj, "group", path, ps->groups ? &ps->groups[0].name : NULL,
                       ps->n_groups, sizeof(owm_conf_group), &gi)) ||
        (st = find_ref(ps, obj, "test", path, ps->tests ? &ps->tests[0].name : NULL,
                       ps->n_tests, sizeof(owm_conf_test), &ti)) ||
        (st = owm_conf_get_bool(ps, obj, "disabled", path, &disabled)))
        return st;
    const owm_conf_group *g = &ps->groups[gi];
    const owm_conf_test *t = &ps->tests[ti];
    if (disabled)
        return OWP_OK;
    if (!t->usable)
        return owm_conf_warn(ps, path, "skipped: test %s has type \"%s\", not latencybg", t->name,
                             t->type);
    if (!g->usable)
        return owm_conf_warn(
            ps, path, "skipped: group %s is a list group, which pairs no addresses", g->name);
    return owm_conf_expand(ps, g, t, name, path);
}

/* ------------------------------------------------------------ the passes */

/* fn on every entry of the object section at path, in file order. */
static owp_status each_entry(owm_conf_parser *ps, json_t *section, const char *path,
                             owm_conf_entry_fn fn)
{
    const char *name;
    json_t *obj;
    json_object_foreach(section, name, obj) {
        char p[OWM_CONF_PATH_MAX];
        owm_conf_path_key(p, sizeof p, path, name);
        owp_status st = fn(ps, name, obj, p);
        if (st)
            return st;
    }
    return OWP_OK;
}

/* The optional section $.KEY in *section (NULL when absent) and, when it is
 * there, calloc'd *slots for its entries (one more, so never NULL). */
static owp_status optional_section(owm_conf_parser *ps, const char *key, size_t size,
                                   json_t **section, void **slots)
{
    *slots = NULL;
    owp_status st = owm_conf_get_object(ps, ps->mesh->root, key, "$", false, section);
    if (st || !*section)
        return st;
    *slots = calloc(json_object_size(*section) + 1, size);
    return *slots ? OWP_OK : owm_conf_nomem(ps);
}

static owp_status parse_nodes(owm_conf_parser *ps)
{
    const owm_conf_format *f = ps->format;
    owm_mesh *m = ps->mesh;
    json_t *nodes;
    owp_status st = owm_conf_get_object(ps, m->root, f->nodes_section, "$", true, &nodes);
    if (st)
        return st;
    char path[OWM_CONF_PATH_MAX];
    owm_conf_path_key(path, sizeof path, "$", f->nodes_section);
    if (json_object_size(nodes) == 0) {
        char what[32];
        snprintf(what, sizeof what, "at least one %s", f->node_kind);
        return owm_conf_expected(ps, path, what, nodes);
    }
    m->nodes = calloc(json_object_size(nodes), sizeof *m->nodes);
    if (!m->nodes)
        return owm_conf_nomem(ps);
    return each_entry(ps, nodes, path, f->node);
}

static owp_status test_entry(owm_conf_parser *ps, const char *name, json_t *obj, const char *path)
{
    owm_conf_test *t = &ps->tests[ps->n_tests++];
    t->name = name;
    return ps->format->test(ps, t, obj, path);
}

static owp_status group_entry(owm_conf_parser *ps, const char *name, json_t *obj, const char *path)
{
    owm_conf_group *g = &ps->groups[ps->n_groups++];
    g->name = name;
    return ps->format->group(ps, g, obj, path);
}

owp_status owm_conf_parse_sections(owm_conf_parser *ps)
{
    json_t *tests, *groups, *tasks;
    void *slots;
    owp_status st;
    if ((st = parse_nodes(ps)) || (st = owm_conf_parse_clients(ps)))
        return st;
    st = optional_section(ps, "tests", sizeof *ps->tests, &tests, &slots);
    ps->tests = slots;
    if (st || (tests && (st = each_entry(ps, tests, "$.tests", test_entry))))
        return st;
    st = optional_section(ps, "groups", sizeof *ps->groups, &groups, &slots);
    ps->groups = slots;
    if (st || (groups && (st = each_entry(ps, groups, "$.groups", group_entry))))
        return st;
    if ((st = owm_conf_get_object(ps, ps->mesh->root, "tasks", "$", false, &tasks)) || !tasks)
        return st;
    return each_entry(ps, tasks, "$.tasks", ps->format->task);
}

void owm_conf_parser_free(owm_conf_parser *ps)
{
    for (size_t i = 0; i < ps->n_groups; i++) {
        free(ps->groups[i].a);
        free(ps->groups[i].b);
        free(ps->groups[i].ex_src);
        free(ps->groups[i].ex_dst);
    }
    free(ps->groups);
    free(ps->tests);
}
