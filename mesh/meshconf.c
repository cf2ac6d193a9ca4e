/*
 * meshconf.c - read a mesh definition (native or pSConfig), validate every
 * value, and expand tasks into streams (owmesh-mesh(5)).
 *
 * The parse runs in passes over the JSON tree: nodes, tests, groups, then
 * tasks, which are expanded at once. Each pass checks what it reads and
 * stops at the first error, whose message names the file, the JSON path and
 * what was expected. The JSON tree is kept for the life of the mesh: every
 * name and string handed out points into it.
 */
#include "meshconf.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "options.h"
#include "testpkt.h"

#define PATH_MAX_LEN 256       /* JSON paths in messages; longer ones are cut */
#define NAME_MAX_LEN 64        /* node, group, test and task names */
#define KNOWN_LIST_MAX 200     /* characters of "one of (...)" lists */
#define MAX_CANDIDATES (8 * (size_t)OWM_MESH_MAX_STREAMS) /* pairs before dedup */
#define MAX_SECONDS 3600.0     /* upper bound of interval and timeout */

#define DEFAULT_INTERVAL 0.1
#define DEFAULT_COUNT 300
#define DEFAULT_LOSS_TIMEOUT 10.0
#define DEFAULT_BUCKET_WIDTH 0.0001
#define ALL_MODES (OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)

struct owm_mesh {
    char *source;
    owm_mesh_format format;
    json_t *root;         /* owns every string the nodes and streams point at */
    owm_node *nodes;
    size_t n_nodes;
    json_t *node_by_name; /* name -> index */
    json_t *node_by_key;  /* public key -> index */
    owm_stream *streams;
    size_t n_streams, cap_streams;
    json_t *stream_by_id; /* id -> index; equal ids are duplicates, which collapse */
    char **warnings;
    size_t n_warnings;
};

typedef enum group_type { GROUP_MESH, GROUP_DISJOINT, GROUP_LIST } group_type;

typedef struct group {
    const char *name;
    group_type type;
    bool usable;          /* pSConfig list groups pair no addresses */
    bool unidirectional;
    size_t *a, na;        /* mesh: members; disjoint: a side; list: sources */
    size_t *b, nb;        /* disjoint: b side; list: destinations (nb == na) */
    size_t *ex_src, *ex_dst, n_ex; /* pSConfig excludes: pairs left out */
} group;

typedef struct test {
    const char *name;
    const char *type;
    bool usable;          /* pSConfig tests of other types are skipped */
    owm_test_params params;
} test;

typedef struct parser {
    owm_mesh *mesh;
    owp_err *err;
    bool psconfig;
    json_t *disabled;     /* pSConfig addresses with "disabled": true */
    group *groups;
    size_t n_groups;
    test *tests;
    size_t n_tests;
    size_t candidates;    /* pairs expanded, duplicates included */
} parser;

typedef struct allowed_keys {
    const char *const *keys;
    size_t n;
} allowed_keys;

#define ALLOWED(arr) ((allowed_keys){(arr), sizeof(arr) / sizeof((arr)[0])})

/* ------------------------------------------------------------ paths and messages */

/* A key that can follow a dot in a path: the rest need ['...']. */
static bool simple_key(const char *key)
{
    if (!*key)
        return false;
    for (const char *s = key; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* Paths longer than the buffer are cut: the message stays readable. */
static void path_printf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void path_printf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

static void path_key(char *out, size_t len, const char *parent, const char *key)
{
    if (simple_key(key)) {
        path_printf(out, len, "%s.%s", parent, key);
        return;
    }
    /* Quote the key jsonpath-style; control bytes become '?' so a message
     * stays one printable line. */
    char quoted[PATH_MAX_LEN];
    size_t q = 0;
    for (const char *s = key; *s && q + 3 < sizeof quoted; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'' || c == '\\')
            quoted[q++] = '\\';
        quoted[q++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    quoted[q] = '\0';
    path_printf(out, len, "%s['%s']", parent, quoted);
}

static void path_index(char *out, size_t len, const char *parent, size_t index)
{
    path_printf(out, len, "%s[%zu]", parent, index);
}

/* Shortest text that reads back as the same double ("0.1", not 0.1000...01). */
static void format_double(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v); /* "10", never "1e+01" */
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* What a value is, for "got ..." in messages. */
static void describe(const json_t *v, char *buf, size_t len)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, len, json_object_size(v) ? "an object" : "an empty object");
        break;
    case JSON_ARRAY:
        if (json_array_size(v) == 0)
            snprintf(buf, len, "an empty array");
        else
            snprintf(buf, len, "an array of %zu item%s", json_array_size(v),
                     json_array_size(v) == 1 ? "" : "s");
        break;
    case JSON_TRUE: snprintf(buf, len, "true"); break;
    case JSON_FALSE: snprintf(buf, len, "false"); break;
    case JSON_NULL: snprintf(buf, len, "null"); break;
    case JSON_INTEGER: snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL:
        /* Keep a real recognisable as one: 600.0 is not the integer 600. */
        format_double(json_real_value(v), buf, len);
        if (!strpbrk(buf, ".eEn"))
            snprintf(buf + strlen(buf), len - strlen(buf), ".0");
        break;
    case JSON_STRING: {
        /* ASCII only, so cutting it cannot split a UTF-8 sequence. */
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
        if (!text) {
            snprintf(buf, len, "a string");
            break;
        }
        if (strlen(text) > 60)
            snprintf(buf, len, "%.56s...\"", text);
        else
            snprintf(buf, len, "%s", text);
        free(text);
        break;
    }
    }
}

static owp_status fail(parser *ps, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static owp_status fail(parser *ps, const char *path, const char *fmt, ...)
{
    char what[OWP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return owp_err_set(ps->err, OWP_ERR_PARSE, "%s: %s: %s", ps->mesh->source, path, what);
}

/* "PATH: expected WHAT, got VALUE" */
static owp_status expected(parser *ps, const char *path, const char *what, const json_t *got)
{
    char desc[80];
    describe(got, desc, sizeof desc);
    return fail(ps, path, "expected %s, got %s", what, desc);
}

static owp_status warn(parser *ps, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static owp_status warn(parser *ps, const char *path, const char *fmt, ...)
{
    owm_mesh *m = ps->mesh;
    char what[OWP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t len = strlen(m->source) + strlen(path) + strlen(what) + 5;
    char *line = malloc(len);
    char **grown = realloc(m->warnings, (m->n_warnings + 1) * sizeof *grown);
    if (!line || !grown) {
        free(line);
        if (grown)
            m->warnings = grown;
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", m->source);
    }
    snprintf(line, len, "%s: %s: %s", m->source, path, what);
    m->warnings = grown;
    m->warnings[m->n_warnings++] = line;
    return OWP_OK;
}

/* "a, b, c" from names, cut with ", ..." when long; "none defined" if empty. */
static void join_names(const char *const *names, size_t n, size_t stride, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, len, "none defined");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *)((const char *)names + i * stride);
        if (used > KNOWN_LIST_MAX) {
            snprintf(buf + used, len - used, ", ...");
            return;
        }
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", name);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
}

static bool is_comment_key(const char *key) { return key[0] == '_'; }

/* Native objects reject unknown keys (a typo must not pass silently);
 * keys starting with '_' are comments and metadata. */
static owp_status check_keys(parser *ps, json_t *obj, const char *path, allowed_keys allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (is_comment_key(key))
            continue;
        bool ok = false;
        for (size_t i = 0; i < allowed.n && !ok; i++)
            ok = !strcmp(key, allowed.keys[i]);
        if (!ok) {
            char p[PATH_MAX_LEN], list[KNOWN_LIST_MAX + 64];
            path_key(p, sizeof p, path, key);
            join_names(allowed.keys, allowed.n, sizeof(char *), list, sizeof list);
            return fail(ps, p, "unknown key; expected one of (%s)", list);
        }
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ typed values */

static owp_status get_object(parser *ps, json_t *parent, const char *key, const char *path,
                             bool required, json_t **out)
{
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, key);
    json_t *v = json_object_get(parent, key);
    *out = NULL;
    if (!v) {
        if (required)
            return fail(ps, path, "expected the key \"%s\" (an object)", key);
        return OWP_OK;
    }
    if (!json_is_object(v))
        return expected(ps, p, "an object", v);
    *out = v;
    return OWP_OK;
}

static owp_status get_string(parser *ps, json_t *parent, const char *key, const char *path,
                             bool required, const char **out)
{
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, key);
    json_t *v = json_object_get(parent, key);
    *out = NULL;
    if (!v) {
        if (required)
            return fail(ps, path, "expected the key \"%s\" (a string)", key);
        return OWP_OK;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return expected(ps, p, "a non-empty string", v);
    *out = json_string_value(v);
    return OWP_OK;
}

static owp_status get_bool(parser *ps, json_t *parent, const char *key, const char *path,
                           bool *out)
{
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v)
        return OWP_OK;
    if (!json_is_boolean(v))
        return expected(ps, p, "true or false", v);
    *out = json_is_true(v);
    return OWP_OK;
}

/* An integer in [min, max]; reals such as 600.0 are refused (a count is a count). */
static owp_status get_uint(parser *ps, json_t *v, const char *path, json_int_t min,
                           json_int_t max, const char *what, uint32_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return expected(ps, path, what, v);
    *out = (uint32_t)json_integer_value(v);
    return OWP_OK;
}

/* A number of seconds in (0, max]; integers are fine too. */
static owp_status get_seconds(parser *ps, json_t *v, const char *path, double max,
                              const char *what, double *out)
{
    if (!json_is_number(v))
        return expected(ps, path, what, v);
    double d = json_number_value(v);
    if (!(d > 0.0) || !(d <= max) || !isfinite(d))
        return expected(ps, path, what, v);
    *out = d;
    return OWP_OK;
}

/* ------------------------------------------------------------ nodes */

static bool valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > NAME_MAX_LEN || !isalnum((unsigned char)name[0]))
        return false;
    for (const char *s = name; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._:-", *s))
            return false;
    return true;
}

static owp_status check_name(parser *ps, const char *path, const char *what)
{
    return fail(ps, path, "expected a %s name of letters, digits, '.', '_', ':' or '-' "
                          "(1-%d characters, starting with a letter or digit)",
                what, NAME_MAX_LEN);
}

static const char Z85_ALPHABET[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int owm_curve_key_valid(const char *text)
{
    if (!text || strlen(text) != OWM_CURVE_KEY_LEN)
        return 0;
    for (size_t group_at = 0; group_at < OWM_CURVE_KEY_LEN; group_at += 5) {
        uint64_t value = 0;
        for (size_t i = 0; i < 5; i++) {
            const char *pos = strchr(Z85_ALPHABET, text[group_at + i]);
            if (!pos || !*pos)
                return 0;
            value = value * 85 + (uint64_t)(pos - Z85_ALPHABET);
        }
        /* 85^5 exceeds 2^32: a group past 0xFFFFFFFF decodes to nothing. */
        if (value > 0xFFFFFFFFu)
            return 0;
    }
    return 1;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* "host", "host:port" or "[v6]:port"; *has_port tells whether a port was written. */
static owp_status parse_address(parser *ps, owm_node *node, json_t *value, const char *path,
                                bool *has_port)
{
    owp_hostport hp;
    owp_err why;
    const char *form = "a host name or address, optionally with :port ([v6]:port for IPv6)";
    if (owp_hostport_parse(node->address, &hp, &why) != OWP_OK)
        return fail(ps, path, "expected %s (%s)", form, why.msg);
    if (hp.host[0] == '\0')
        return expected(ps, path, form, value);
    snprintf(node->host, sizeof node->host, "%s", hp.host);
    node->owamp_port = OWM_OWAMP_PORT;
    *has_port = hp.port[0] != '\0';
    if (*has_port) {
        long port = all_digits(hp.port) && strlen(hp.port) <= 5 ? strtol(hp.port, NULL, 10) : 0;
        if (port < 1 || port > 65535)
            return fail(ps, path, "expected a port number 1-65535 after ':', got \"%s\"",
                        hp.port);
        node->owamp_port = (uint16_t)port;
    }
    return OWP_OK;
}

/* The optional keys a node may carry (native: in the node; pSConfig: in the
 * address object's "_meta"). */
static owp_status parse_node_extras(parser *ps, owm_node *node, json_t *obj, const char *path,
                                    bool address_has_port)
{
    owp_status st;
    char p[PATH_MAX_LEN];
    json_t *v;

    if ((st = get_string(ps, obj, "public-key", path, false, &node->public_key)))
        return st;
    if (node->public_key) {
        path_key(p, sizeof p, path, "public-key");
        if (!owm_curve_key_valid(node->public_key))
            return expected(ps, p, "a Z85 CURVE public key (40 characters, as in a zcert file)",
                            json_object_get(obj, "public-key"));
        json_t *other = json_object_get(ps->mesh->node_by_key, node->public_key);
        if (other)
            return fail(ps, p, "expected a key of this node only, got the key of node %s",
                        ps->mesh->nodes[json_integer_value(other)].name);
    }

    if ((v = json_object_get(obj, "owamp-port"))) {
        path_key(p, sizeof p, path, "owamp-port");
        uint32_t port;
        if ((st = get_uint(ps, v, p, 1, 65535, "a port number 1-65535", &port)))
            return st;
        if (address_has_port && port != node->owamp_port)
            return fail(ps, p, "expected the port of the address (%u), got %u",
                        (unsigned)node->owamp_port, (unsigned)port);
        node->owamp_port = (uint16_t)port;
    }

    if ((st = get_string(ps, obj, "data-endpoint", path, false, &node->data_endpoint)))
        return st;
    if (node->data_endpoint) {
        path_key(p, sizeof p, path, "data-endpoint");
        const char *e = node->data_endpoint;
        bool ok = (!strncmp(e, "tcp://", 6) || !strncmp(e, "ipc://", 6)) && e[6] != '\0' &&
                  strlen(e) < 256;
        for (const char *s = e; ok && *s; s++)
            ok = isgraph((unsigned char)*s);
        if (!ok)
            return expected(ps, p, "a ZeroMQ endpoint such as \"tcp://127.0.0.2:5556\"",
                            json_object_get(obj, "data-endpoint"));
    }
    return OWP_OK;
}

static owp_status index_set(parser *ps, json_t *index, const char *key, size_t value)
{
    json_t *n = json_integer((json_int_t)value);
    if (!n || json_object_set_new(index, key, n))
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", ps->mesh->source);
    return OWP_OK;
}

static const char *const NATIVE_NODE_KEYS[] = {"address", "public-key", "owamp-port",
                                               "data-endpoint"};

static owp_status parse_node(parser *ps, const char *name, json_t *obj, const char *path)
{
    owm_mesh *m = ps->mesh;
    owp_status st;
    if (!valid_name(name))
        return check_name(ps, path, ps->psconfig ? "address" : "node");
    if (!json_is_object(obj))
        return expected(ps, path, ps->psconfig ? "an address object" : "a node object", obj);
    if (!ps->psconfig && (st = check_keys(ps, obj, path, ALLOWED(NATIVE_NODE_KEYS))))
        return st;

    bool disabled = false;
    if (ps->psconfig && (st = get_bool(ps, obj, "disabled", path, &disabled)))
        return st;

    owm_node node;
    memset(&node, 0, sizeof node);
    node.name = name;
    node.index = m->n_nodes;
    if ((st = get_string(ps, obj, "address", path, true, &node.address)))
        return st;
    char ap[PATH_MAX_LEN];
    path_key(ap, sizeof ap, path, "address");
    bool has_port = false;
    if ((st = parse_address(ps, &node, json_object_get(obj, "address"), ap, &has_port)))
        return st;
    if (ps->psconfig) {
        json_t *meta = json_object_get(obj, "_meta");
        if (json_is_object(meta)) {
            char mp[PATH_MAX_LEN];
            path_key(mp, sizeof mp, path, "_meta");
            if ((st = parse_node_extras(ps, &node, meta, mp, has_port)))
                return st;
        }
    } else if ((st = parse_node_extras(ps, &node, obj, path, has_port))) {
        return st;
    }

    if (disabled) {
        /* pSConfig leaves disabled addresses out of every group. */
        return index_set(ps, ps->disabled, name, 0);
    }
    for (size_t i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].host, node.host) && m->nodes[i].owamp_port == node.owamp_port)
            if ((st = warn(ps, path, "same OWAMP server (%s port %u) as node %s", node.host,
                           (unsigned)node.owamp_port, m->nodes[i].name)))
                return st;
    if ((st = index_set(ps, m->node_by_name, name, m->n_nodes)))
        return st;
    if (node.public_key && (st = index_set(ps, m->node_by_key, node.public_key, m->n_nodes)))
        return st;
    m->nodes[m->n_nodes++] = node;
    return OWP_OK;
}

static owp_status parse_nodes(parser *ps)
{
    owm_mesh *m = ps->mesh;
    const char *section = ps->psconfig ? "addresses" : "nodes";
    json_t *nodes;
    owp_status st = get_object(ps, m->root, section, "$", true, &nodes);
    if (st)
        return st;
    char path[PATH_MAX_LEN];
    path_key(path, sizeof path, "$", section);
    if (json_object_size(nodes) == 0)
        return expected(ps, path, ps->psconfig ? "at least one address" : "at least one node",
                        nodes);
    m->nodes = calloc(json_object_size(nodes), sizeof *m->nodes);
    if (!m->nodes)
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", m->source);
    const char *name;
    json_t *obj;
    json_object_foreach(nodes, name, obj) {
        char p[PATH_MAX_LEN];
        path_key(p, sizeof p, path, name);
        if ((st = parse_node(ps, name, obj, p)))
            return st;
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ tests */

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

static owp_status parse_dscp_value(parser *ps, json_t *v, const char *path, uint8_t *dscp)
{
    const char *what = "a DSCP value 0-63 or a name such as \"EF\", \"AF41\" or \"CS5\"";
    if (json_is_string(v)) {
        int d;
        if (json_string_length(v) == 0 || owp_parse_dscp(json_string_value(v), &d, NULL))
            return expected(ps, path, what, v);
        *dscp = (uint8_t)d;
        return OWP_OK;
    }
    uint32_t d;
    owp_status st = get_uint(ps, v, path, 0, 63, what, &d);
    *dscp = (uint8_t)d;
    return st;
}

static owp_status parse_auth(parser *ps, json_t *v, const char *path, uint32_t *modes)
{
    const char *what = "authentication modes: letters A, E and/or O (such as \"AEO\")";
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        owp_parse_authmode(json_string_value(v), modes, NULL))
        return expected(ps, path, what, v);
    return OWP_OK;
}

/* The parameter keys, named as in each format. */
typedef struct param_names {
    const char *interval, *count, *padding, *loss_timeout, *loss_timeout_alt, *bucket_width;
    const char *sub_sessions, *dscp, *tos, *auth;
} param_names;

static const param_names NATIVE_PARAMS = {
    "packet-interval", "packet-count", "packet-padding", "loss-timeout", NULL,
    "bucket-width", "sub-session-count", "dscp", NULL, "auth"};
/* pScheduler's latencybg spec calls the loss timeout "packet-timeout";
 * "loss-threshold" (the MeshConfig name) is read as well. */
static const param_names PSCONFIG_PARAMS = {
    "packet-interval", "packet-count", "packet-padding", "packet-timeout", "loss-threshold",
    "bucket-width", NULL, NULL, "ip-tos", NULL};

static owp_status parse_loss_timeout(parser *ps, json_t *v, const char *p, owm_test_params *t)
{
    const char *what = "a number of seconds > 0 and <= 3600";
    /* pScheduler allows 0 for "the tool's default". */
    if (ps->psconfig && json_is_number(v) && json_number_value(v) == 0.0)
        return OWP_OK;
    return get_seconds(ps, v, p, MAX_SECONDS, what, &t->loss_timeout);
}

static owp_status parse_params(parser *ps, json_t *obj, const char *path, const param_names *k,
                               owm_test_params *t)
{
    owp_status st = OWP_OK;
    char p[PATH_MAX_LEN];
    json_t *v;
    owm_test_params_default(t);

#define PARAM(key) ((key) && (v = json_object_get(obj, (key))) && \
                    (path_key(p, sizeof p, path, (key)), 1))
    if (PARAM(k->interval) &&
        (st = get_seconds(ps, v, p, MAX_SECONDS, "a number of seconds > 0 and <= 3600",
                          &t->packet_interval)))
        return st;
    if (PARAM(k->count) &&
        (st = get_uint(ps, v, p, 1, UINT32_MAX, "a positive integer", &t->packet_count)))
        return st;
    if (PARAM(k->padding) &&
        (st = get_uint(ps, v, p, 0, 65535, "an integer 0-65535", &t->packet_padding)))
        return st;
    if (PARAM(k->loss_timeout) && (st = parse_loss_timeout(ps, v, p, t)))
        return st;
    if (PARAM(k->loss_timeout_alt) && (st = parse_loss_timeout(ps, v, p, t)))
        return st;
    if (PARAM(k->bucket_width)) {
        const char *what = "a number of seconds > 0 and < 1";
        if ((st = get_seconds(ps, v, p, 1.0, what, &t->bucket_width)))
            return st;
        if (t->bucket_width >= 1.0)
            return expected(ps, p, what, v);
    }
    t->sub_session_count = t->packet_count;
    if (PARAM(k->sub_sessions)) {
        char what[96];
        snprintf(what, sizeof what, "a divisor of packet-count (%u)", (unsigned)t->packet_count);
        if ((st = get_uint(ps, v, p, 1, t->packet_count, what, &t->sub_session_count)))
            return st;
        if (t->packet_count % t->sub_session_count)
            return expected(ps, p, what, v);
    }
    if (PARAM(k->dscp) && (st = parse_dscp_value(ps, v, p, &t->dscp)))
        return st;
    if (PARAM(k->tos)) {
        uint32_t tos;
        if ((st = get_uint(ps, v, p, 0, 255, "an IP TOS byte 0-255", &tos)))
            return st;
        t->dscp = (uint8_t)(tos >> 2); /* the DSCP is the TOS byte's upper six bits */
    }
    if (PARAM(k->auth) && (st = parse_auth(ps, v, p, &t->auth_modes)))
        return st;
#undef PARAM
    /* powstream's start-up check, made before the mesh is deployed. */
    double session = floor(t->packet_count * t->packet_interval);
    if (session < 10.0 + t->loss_timeout) {
        char c[32], l[32];
        format_double(session, c, sizeof c);
        format_double(t->loss_timeout, l, sizeof l);
        return warn(ps, path, "a session lasts about %s s, less than 10 s + loss-timeout (%s s): "
                    "powstream warns that holes in the data are likely", c, l);
    }
    return OWP_OK;
}

static const char *const NATIVE_TEST_KEYS[] = {
    "type", "packet-interval", "packet-count", "packet-padding", "loss-timeout",
    "bucket-width", "sub-session-count", "dscp", "auth"};

/* latencybg spec keys that say nothing owmesh needs: the pair comes from the
 * group, ports and tools from the node's configuration. */
static const char *const PSCONFIG_SPEC_IGNORED[] = {
    "schema", "source", "source-node", "dest", "dest-node", "duration", "ctrl-port",
    "data-ports", "ip-version", "output-raw", "flip", "report-interval"};

static owp_status warn_unknown_spec_keys(parser *ps, json_t *spec, const char *path)
{
    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v) {
        const param_names *k = &PSCONFIG_PARAMS;
        const char *known[] = {k->interval, k->count, k->padding, k->loss_timeout,
                               k->loss_timeout_alt, k->bucket_width, k->tos};
        bool ok = is_comment_key(key);
        for (size_t i = 0; i < sizeof known / sizeof known[0] && !ok; i++)
            ok = !strcmp(key, known[i]);
        for (size_t i = 0; i < ALLOWED(PSCONFIG_SPEC_IGNORED).n && !ok; i++)
            ok = !strcmp(key, PSCONFIG_SPEC_IGNORED[i]);
        if (!ok) {
            char p[PATH_MAX_LEN];
            path_key(p, sizeof p, path, key);
            owp_status st = warn(ps, p, "not a latencybg parameter owmesh knows, ignored");
            if (st)
                return st;
        }
    }
    return OWP_OK;
}

static owp_status parse_test(parser *ps, test *t, json_t *obj, const char *path)
{
    owp_status st;
    if (!valid_name(t->name))
        return check_name(ps, path, "test");
    if (!json_is_object(obj))
        return expected(ps, path, "a test object", obj);
    if (!ps->psconfig && (st = check_keys(ps, obj, path, ALLOWED(NATIVE_TEST_KEYS))))
        return st;
    if ((st = get_string(ps, obj, "type", path, true, &t->type)))
        return st;
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, "type");
    if (strcmp(t->type, "latencybg")) {
        if (!ps->psconfig)
            return expected(ps, p, "\"latencybg\"", json_object_get(obj, "type"));
        t->usable = false;
        return warn(ps, p, "test type \"%s\" ignored (owmesh runs latencybg tests only)",
                    t->type);
    }
    t->usable = true;
    if (!ps->psconfig)
        return parse_params(ps, obj, path, &NATIVE_PARAMS, &t->params);
    json_t *spec;
    if ((st = get_object(ps, obj, "spec", path, false, &spec)))
        return st;
    if (!spec) {
        owm_test_params_default(&t->params);
        t->params.sub_session_count = t->params.packet_count;
        return OWP_OK;
    }
    path_key(p, sizeof p, path, "spec");
    if ((st = parse_params(ps, spec, p, &PSCONFIG_PARAMS, &t->params)))
        return st;
    return warn_unknown_spec_keys(ps, spec, p);
}

static owp_status parse_tests(parser *ps)
{
    json_t *tests;
    owp_status st = get_object(ps, ps->mesh->root, "tests", "$", false, &tests);
    if (st || !tests)
        return st;
    ps->tests = calloc(json_object_size(tests) + 1, sizeof *ps->tests);
    if (!ps->tests)
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", ps->mesh->source);
    const char *name;
    json_t *obj;
    json_object_foreach(tests, name, obj) {
        char p[PATH_MAX_LEN];
        path_key(p, sizeof p, "$.tests", name);
        test *t = &ps->tests[ps->n_tests++];
        t->name = name;
        if ((st = parse_test(ps, t, obj, p)))
            return st;
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ groups */

/* Index of a node named at path (a string, or pSConfig's {"name": ...}).
 * Returns OWP_OK with *skip set for a disabled pSConfig address. */
static owp_status resolve_member(parser *ps, json_t *v, const char *path, size_t *index,
                                 bool *skip)
{
    char p[PATH_MAX_LEN];
    snprintf(p, sizeof p, "%s", path);
    *skip = false;
    if (ps->psconfig) {
        if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")))
            return expected(ps, path, "an address selector {\"name\": ...}", v);
        v = json_object_get(v, "name");
        path_key(p, sizeof p, path, "name");
    }
    const char *kind = ps->psconfig ? "address" : "node";
    if (!json_is_string(v)) {
        char what[40];
        snprintf(what, sizeof what, "a %s name", kind);
        return expected(ps, p, what, v);
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
    char list[KNOWN_LIST_MAX + 64], what[KNOWN_LIST_MAX + 96];
    join_names(&ps->mesh->nodes[0].name, ps->mesh->n_nodes, sizeof(owm_node), list,
               sizeof list);
    snprintf(what, sizeof what, "one of the %s (%s)", ps->psconfig ? "addresses" : "nodes",
             list);
    return expected(ps, p, what, v);
}

/* A non-empty array of distinct members; indexes go to a malloc'd array. */
static owp_status resolve_members(parser *ps, json_t *parent, const char *key, const char *path,
                                  size_t min, size_t **out, size_t *n)
{
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, key);
    json_t *arr = json_object_get(parent, key);
    const char *kind = ps->psconfig ? "address" : "node";
    if (!arr)
        return fail(ps, path, "expected the key \"%s\" (an array of %s names)", key, kind);
    char what[64];
    snprintf(what, sizeof what, "an array of at least %zu %s%s", min, kind,
             min == 1 ? "" : (ps->psconfig ? "es" : "s"));
    if (!json_is_array(arr) || json_array_size(arr) < min)
        return expected(ps, p, what, arr);
    *out = calloc(json_array_size(arr) + 1, sizeof **out);
    if (!*out)
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", ps->mesh->source);
    *n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char ip[PATH_MAX_LEN];
        path_index(ip, sizeof ip, p, i);
        size_t index;
        bool skip;
        owp_status st = resolve_member(ps, v, ip, &index, &skip);
        if (st)
            return st;
        if (skip)
            continue;
        for (size_t j = 0; j < *n; j++)
            if ((*out)[j] == index)
                return fail(ps, ip, "expected each %s once, got %s again", kind,
                            ps->mesh->nodes[index].name);
        (*out)[(*n)++] = index;
    }
    return OWP_OK;
}

static owp_status parse_pairs(parser *ps, group *g, json_t *obj, const char *path)
{
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, "pairs");
    json_t *pairs = json_object_get(obj, "pairs");
    if (!pairs)
        return fail(ps, path, "expected the key \"pairs\" (an array of [source, destination])");
    if (!json_is_array(pairs) || json_array_size(pairs) == 0)
        return expected(ps, p, "an array of at least one [source, destination] pair", pairs);
    g->a = calloc(json_array_size(pairs), sizeof *g->a);
    g->b = calloc(json_array_size(pairs), sizeof *g->b);
    if (!g->a || !g->b)
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", ps->mesh->source);
    size_t i;
    json_t *pair;
    json_array_foreach(pairs, i, pair) {
        char pp[PATH_MAX_LEN], ep[PATH_MAX_LEN];
        path_index(pp, sizeof pp, p, i);
        if (!json_is_array(pair) || json_array_size(pair) != 2)
            return expected(ps, pp, "a [source, destination] pair of node names", pair);
        size_t ends[2];
        bool skip;
        owp_status st;
        for (size_t e = 0; e < 2; e++) {
            path_index(ep, sizeof ep, pp, e);
            if ((st = resolve_member(ps, json_array_get(pair, e), ep, &ends[e], &skip)))
                return st;
        }
        if (ends[0] == ends[1])
            return fail(ps, pp, "expected two different nodes, got %s twice",
                        ps->mesh->nodes[ends[0]].name);
        g->a[g->na++] = ends[0];
        g->b[g->nb++] = ends[1];
    }
    return OWP_OK;
}

/* pSConfig "excludes": [{"local-address": {"name": X}, "target-addresses":
 * [{"name": Y}, ...]}] leaves out the pairs X -> Y. */
static owp_status parse_excludes(parser *ps, group *g, json_t *obj, const char *path)
{
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, "excludes");
    json_t *ex = json_object_get(obj, "excludes");
    if (!ex)
        return OWP_OK;
    if (!json_is_array(ex))
        return expected(ps, p, "an array of {\"local-address\", \"target-addresses\"}", ex);
    size_t total = 0, i;
    json_t *item;
    json_array_foreach(ex, i, item)
        total += json_array_size(json_object_get(item, "target-addresses"));
    g->ex_src = calloc(total + 1, sizeof *g->ex_src);
    g->ex_dst = calloc(total + 1, sizeof *g->ex_dst);
    if (!g->ex_src || !g->ex_dst)
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", ps->mesh->source);
    json_array_foreach(ex, i, item) {
        char ip[PATH_MAX_LEN], lp[PATH_MAX_LEN];
        path_index(ip, sizeof ip, p, i);
        if (!json_is_object(item))
            return expected(ps, ip, "an object with \"local-address\" and \"target-addresses\"",
                            item);
        size_t local, *targets = NULL, n_targets = 0;
        bool skip;
        path_key(lp, sizeof lp, ip, "local-address");
        json_t *lv = json_object_get(item, "local-address");
        if (!lv)
            return fail(ps, ip, "expected the key \"local-address\"");
        owp_status st = resolve_member(ps, lv, lp, &local, &skip);
        if (!st)
            st = resolve_members(ps, item, "target-addresses", ip, 0, &targets, &n_targets);
        for (size_t t = 0; !st && !skip && t < n_targets; t++) {
            g->ex_src[g->n_ex] = local;
            g->ex_dst[g->n_ex++] = targets[t];
        }
        free(targets);
        if (st)
            return st;
    }
    return OWP_OK;
}

static const char *const NATIVE_GROUP_KEYS[] = {"type", "nodes", "a-nodes", "b-nodes",
                                                "unidirectional", "pairs"};

static owp_status parse_group(parser *ps, group *g, json_t *obj, const char *path)
{
    owp_status st;
    if (!valid_name(g->name))
        return check_name(ps, path, "group");
    if (!json_is_object(obj))
        return expected(ps, path, "a group object", obj);
    if (!ps->psconfig && (st = check_keys(ps, obj, path, ALLOWED(NATIVE_GROUP_KEYS))))
        return st;
    const char *type;
    if ((st = get_string(ps, obj, "type", path, true, &type)))
        return st;
    char p[PATH_MAX_LEN];
    path_key(p, sizeof p, path, "type");
    const char *members = ps->psconfig ? "addresses" : "nodes";
    const char *a_key = ps->psconfig ? "a-addresses" : "a-nodes";
    const char *b_key = ps->psconfig ? "b-addresses" : "b-nodes";
    size_t min = ps->psconfig ? 0 : 1; /* pSConfig: disabled addresses may empty a list */
    g->usable = true;
    if (!strcmp(type, "mesh")) {
        g->type = GROUP_MESH;
        st = resolve_members(ps, obj, members, path, ps->psconfig ? 0 : 2, &g->a, &g->na);
    } else if (!strcmp(type, "disjoint")) {
        g->type = GROUP_DISJOINT;
        if (!(st = get_bool(ps, obj, "unidirectional", path, &g->unidirectional)) &&
            !(st = resolve_members(ps, obj, a_key, path, min, &g->a, &g->na)))
            st = resolve_members(ps, obj, b_key, path, min, &g->b, &g->nb);
    } else if (!strcmp(type, "list")) {
        g->type = GROUP_LIST;
        if (ps->psconfig) {
            /* A pSConfig list yields single addresses, for one-host tests. */
            g->usable = false;
            st = resolve_members(ps, obj, members, path, 0, &g->a, &g->na);
            g->na = 0;
        } else {
            st = parse_pairs(ps, g, obj, path);
        }
    } else {
        return expected(ps, p, "\"mesh\", \"disjoint\" or \"list\"", json_object_get(obj, "type"));
    }
    if (!st && ps->psconfig)
        st = parse_excludes(ps, g, obj, path);
    return st;
}

static owp_status parse_groups(parser *ps)
{
    json_t *groups;
    owp_status st = get_object(ps, ps->mesh->root, "groups", "$", false, &groups);
    if (st || !groups)
        return st;
    ps->groups = calloc(json_object_size(groups) + 1, sizeof *ps->groups);
    if (!ps->groups)
        return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", ps->mesh->source);
    const char *name;
    json_t *obj;
    json_object_foreach(groups, name, obj) {
        char p[PATH_MAX_LEN];
        path_key(p, sizeof p, "$.groups", name);
        group *g = &ps->groups[ps->n_groups++];
        g->name = name;
        if ((st = parse_group(ps, g, obj, p)))
            return st;
    }
    return OWP_OK;
}

static void free_groups(parser *ps)
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

/* ------------------------------------------------------------ streams */

static const char *modes_text(uint32_t modes, char buf[4])
{
    size_t n = 0;
    if (modes & OWP_MODE_AUTH)
        buf[n++] = 'A';
    if (modes & OWP_MODE_ENCRYPTED)
        buf[n++] = 'E';
    if (modes & OWP_MODE_OPEN)
        buf[n++] = 'O';
    buf[n] = '\0';
    return buf;
}

/* The parameters as they appear in the check line and the canonical key. */
static int format_params(const owm_test_params *t, char *buf, size_t len)
{
    char i[32], l[32], b[32], m[4];
    format_double(t->packet_interval, i, sizeof i);
    format_double(t->loss_timeout, l, sizeof l);
    format_double(t->bucket_width, b, sizeof b);
    return snprintf(buf, len,
                    "interval=%s count=%u padding=%u loss-timeout=%s bucket-width=%s "
                    "sub-sessions=%u dscp=%u auth=%s",
                    i, (unsigned)t->packet_count, (unsigned)t->packet_padding, l, b,
                    (unsigned)t->sub_session_count, (unsigned)t->dscp,
                    modes_text(t->auth_modes, m));
}

static owp_status stream_id(parser *ps, const char *key, char id[OWM_STREAM_ID_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(key, strlen(key), md, &md_len, EVP_sha256(), NULL) ||
        md_len < OWM_STREAM_ID_LEN / 2)
        return owp_err_set(ps->err, OWP_ERR_CRYPTO, "%s: SHA-256 failed", ps->mesh->source);
    for (size_t i = 0; i < OWM_STREAM_ID_LEN / 2; i++)
        snprintf(id + 2 * i, 3, "%02x", md[i]);
    return OWP_OK;
}

static owp_status add_stream(parser *ps, size_t src, size_t dst, const test *t,
                             const char *task, const char *path)
{
    owm_mesh *m = ps->mesh;
    if (++ps->candidates > MAX_CANDIDATES)
        return fail(ps, path, "expected at most %zu stream pairs in all, got more",
                    (size_t)MAX_CANDIDATES);
    const owm_node *s = &m->nodes[src], *d = &m->nodes[dst];
    char params[256], key[1024];
    format_params(&t->params, params, sizeof params);
    snprintf(key, sizeof key, "%s>%s %s:%u>%s:%u %s", s->name, d->name, s->host,
             (unsigned)s->owamp_port, d->host, (unsigned)d->owamp_port, params);
    /* 128 bits of SHA-256 identify the canonical text for all practical
     * purposes, so the id alone finds duplicates. */
    char id[OWM_STREAM_ID_LEN + 1];
    owp_status rc = stream_id(ps, key, id);
    if (rc)
        return rc;
    if (json_object_get(m->stream_by_id, id))
        return OWP_OK; /* the same stream from an earlier task */
    if (m->n_streams == OWM_MESH_MAX_STREAMS)
        return fail(ps, path, "expected at most %d streams in all, got more",
                    OWM_MESH_MAX_STREAMS);
    if (m->n_streams == m->cap_streams) {
        size_t cap = m->cap_streams ? 2 * m->cap_streams : 64;
        owm_stream *grown = realloc(m->streams, cap * sizeof *grown);
        if (!grown)
            return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", m->source);
        m->streams = grown;
        m->cap_streams = cap;
    }
    owm_stream *st = &m->streams[m->n_streams];
    memset(st, 0, sizeof *st);
    st->src = s;
    st->dst = d;
    st->params = t->params;
    st->test = t->name;
    st->task = task;
    memcpy(st->id, id, sizeof st->id);
    rc = index_set(ps, m->stream_by_id, st->id, m->n_streams);
    if (!rc)
        m->n_streams++;
    return rc;
}

static bool excluded(const group *g, size_t src, size_t dst)
{
    if (src == dst)
        return true;
    for (size_t i = 0; i < g->n_ex; i++)
        if (g->ex_src[i] == src && g->ex_dst[i] == dst)
            return true;
    return false;
}

static owp_status expand(parser *ps, const group *g, const test *t, const char *task,
                         const char *path)
{
    owp_status st = OWP_OK;
    switch (g->type) {
    case GROUP_MESH:
        for (size_t i = 0; i < g->na && !st; i++)
            for (size_t j = 0; j < g->na && !st; j++)
                if (!excluded(g, g->a[i], g->a[j]))
                    st = add_stream(ps, g->a[i], g->a[j], t, task, path);
        break;
    case GROUP_DISJOINT:
        for (size_t i = 0; i < g->na && !st; i++)
            for (size_t j = 0; j < g->nb && !st; j++)
                if (!excluded(g, g->a[i], g->b[j]))
                    st = add_stream(ps, g->a[i], g->b[j], t, task, path);
        for (size_t j = 0; j < g->nb && !st && !g->unidirectional; j++)
            for (size_t i = 0; i < g->na && !st; i++)
                if (!excluded(g, g->b[j], g->a[i]))
                    st = add_stream(ps, g->b[j], g->a[i], t, task, path);
        break;
    case GROUP_LIST:
        for (size_t i = 0; i < g->na && !st; i++)
            if (!excluded(g, g->a[i], g->b[i]))
                st = add_stream(ps, g->a[i], g->b[i], t, task, path);
        break;
    }
    return st;
}

/* The group or test a task names; unknown names list the known ones. */
static owp_status find_ref(parser *ps, json_t *task, const char *key, const char *path,
                           const void *items, size_t n, size_t stride, size_t *index)
{
    const char *name;
    owp_status st = get_string(ps, task, key, path, true, &name);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(*(const char *const *)((const char *)items + i * stride), name)) {
            *index = i;
            return OWP_OK;
        }
    char p[PATH_MAX_LEN], list[KNOWN_LIST_MAX + 64], what[KNOWN_LIST_MAX + 96];
    path_key(p, sizeof p, path, key);
    join_names(items, n, stride, list, sizeof list);
    snprintf(what, sizeof what, "one of the %ss (%s)", key, list);
    return expected(ps, p, what, json_object_get(task, key));
}

static const char *const NATIVE_TASK_KEYS[] = {"group", "test", "disabled"};

static owp_status parse_task(parser *ps, const char *name, json_t *obj, const char *path)
{
    owp_status st;
    if (!valid_name(name))
        return check_name(ps, path, "task");
    if (!json_is_object(obj))
        return expected(ps, path, "a task object", obj);
    if (!ps->psconfig && (st = check_keys(ps, obj, path, ALLOWED(NATIVE_TASK_KEYS))))
        return st;
    size_t gi, ti;
    bool disabled = false;
    if ((st = find_ref(ps, obj, "group", path, ps->groups ? &ps->groups[0].name : NULL,
                       ps->n_groups, sizeof(group), &gi)) ||
        (st = find_ref(ps, obj, "test", path, ps->tests ? &ps->tests[0].name : NULL,
                       ps->n_tests, sizeof(test), &ti)) ||
        (st = get_bool(ps, obj, "disabled", path, &disabled)))
        return st;
    const group *g = &ps->groups[gi];
    const test *t = &ps->tests[ti];
    if (disabled)
        return OWP_OK;
    if (!t->usable)
        return warn(ps, path, "skipped: test %s has type \"%s\", not latencybg", t->name,
                    t->type);
    if (!g->usable)
        return warn(ps, path, "skipped: group %s is a list group, which pairs no addresses",
                    g->name);
    return expand(ps, g, t, name, path);
}

static owp_status parse_tasks(parser *ps)
{
    json_t *tasks;
    owp_status st = get_object(ps, ps->mesh->root, "tasks", "$", false, &tasks);
    if (st || !tasks)
        return st;
    const char *name;
    json_t *obj;
    json_object_foreach(tasks, name, obj) {
        char p[PATH_MAX_LEN];
        path_key(p, sizeof p, "$.tasks", name);
        if ((st = parse_task(ps, name, obj, p)))
            return st;
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ top level */

static const char *const NATIVE_TOP_KEYS[] = {"nodes", "groups", "tests", "tasks"};
static const char *const PSCONFIG_TOP_KEYS[] = {"addresses", "groups", "tests", "tasks"};

static owp_status choose_format(parser *ps)
{
    json_t *root = ps->mesh->root;
    if (!json_is_object(root))
        return expected(ps, "$", "an object with \"nodes\", \"groups\", \"tests\", \"tasks\"",
                        root);
    bool native = json_object_get(root, "nodes") != NULL;
    bool psconfig = json_object_get(root, "addresses") != NULL;
    if (native && psconfig)
        return fail(ps, "$", "expected either \"nodes\" (owmesh) or \"addresses\" (pSConfig), "
                             "not both");
    if (!native && !psconfig)
        return fail(ps, "$", "expected the key \"nodes\" (or \"addresses\" in a pSConfig "
                             "template)");
    ps->psconfig = psconfig;
    ps->mesh->format = psconfig ? OWM_MESH_PSCONFIG : OWM_MESH_NATIVE;
    if (native)
        return check_keys(ps, root, "$", ALLOWED(NATIVE_TOP_KEYS));
    /* pSConfig templates carry archives, schedules, hosts, ...: note them. */
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        bool known = is_comment_key(key);
        for (size_t i = 0; i < ALLOWED(PSCONFIG_TOP_KEYS).n && !known; i++)
            known = !strcmp(key, PSCONFIG_TOP_KEYS[i]);
        if (!known) {
            char p[PATH_MAX_LEN];
            path_key(p, sizeof p, "$", key);
            owp_status st = warn(ps, p, "not used by owmesh, ignored");
            if (st)
                return st;
        }
    }
    return OWP_OK;
}

static owm_mesh *mesh_new(const char *source, owp_err *err)
{
    owm_mesh *m = calloc(1, sizeof *m);
    if (m) {
        m->source = strdup(source ? source : "<mesh>");
        m->node_by_name = json_object();
        m->node_by_key = json_object();
        m->stream_by_id = json_object();
    }
    if (!m || !m->source || !m->node_by_name || !m->node_by_key || !m->stream_by_id) {
        owm_mesh_destroy(&m);
        owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", source ? source : "<mesh>");
    }
    return m;
}

/* Validate and expand a loaded tree; takes the reference to root. */
static owm_mesh *build(json_t *root, const char *source, owp_err *err)
{
    owm_mesh *m = mesh_new(source, err);
    if (!m) {
        json_decref(root);
        return NULL;
    }
    m->root = root;
    parser ps = {.mesh = m, .err = err, .disabled = json_object()};
    owp_status st = ps.disabled ? OWP_OK
                                : owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", source);
    if (!st)
        st = choose_format(&ps);
    if (!st)
        st = parse_nodes(&ps);
    if (!st)
        st = parse_tests(&ps);
    if (!st)
        st = parse_groups(&ps);
    if (!st)
        st = parse_tasks(&ps);
    free_groups(&ps);
    json_decref(ps.disabled);
    if (st)
        owm_mesh_destroy(&m);
    return m;
}

static owm_mesh *json_failed(const json_error_t *je, const char *source, owp_err *err)
{
    if (json_error_code(je) == json_error_cannot_open_file)
        owp_err_set(err, OWP_ERR_SYS, "%s", je->text);
    else if (json_error_code(je) == json_error_out_of_memory)
        owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", source);
    else
        owp_err_set(err, OWP_ERR_PARSE, "%s:%d:%d: %s", source, je->line, je->column, je->text);
    return NULL;
}

owm_mesh *owm_mesh_load(const char *path, owp_err *err)
{
    if (!path) {
        owp_err_set(err, OWP_ERR_INVALID, "owm_mesh_load: NULL path");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return json_failed(&je, path, err);
    return build(root, path, err);
}

owm_mesh *owm_mesh_parse(const char *text, size_t len, const char *name, owp_err *err)
{
    if (!text && len) {
        owp_err_set(err, OWP_ERR_INVALID, "owm_mesh_parse: NULL text");
        return NULL;
    }
    const char *source = name ? name : "<mesh>";
    json_error_t je;
    json_t *root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return json_failed(&je, source, err);
    return build(root, source, err);
}

void owm_mesh_destroy(owm_mesh **self_p)
{
    if (!self_p || !*self_p)
        return;
    owm_mesh *m = *self_p;
    for (size_t i = 0; i < m->n_warnings; i++)
        free(m->warnings[i]);
    free(m->warnings);
    free(m->streams);
    free(m->nodes);
    json_decref(m->node_by_name);
    json_decref(m->node_by_key);
    json_decref(m->stream_by_id);
    json_decref(m->root);
    free(m->source);
    free(m);
    *self_p = NULL;
}

/* ------------------------------------------------------------ accessors */

owm_mesh_format owm_mesh_get_format(const owm_mesh *self) { return self->format; }
const char *owm_mesh_source(const owm_mesh *self) { return self->source; }
size_t owm_mesh_node_count(const owm_mesh *self) { return self->n_nodes; }
size_t owm_mesh_stream_count(const owm_mesh *self) { return self->n_streams; }
const owm_stream *owm_mesh_streams(const owm_mesh *self) { return self->streams; }
size_t owm_mesh_warning_count(const owm_mesh *self) { return self->n_warnings; }

const owm_node *owm_mesh_node(const owm_mesh *self, size_t index)
{
    return index < self->n_nodes ? &self->nodes[index] : NULL;
}

static const void *lookup(json_t *index, const char *key, const void *base, size_t stride)
{
    json_t *at = key ? json_object_get(index, key) : NULL;
    return at ? (const char *)base + (size_t)json_integer_value(at) * stride : NULL;
}

const owm_node *owm_mesh_node_find(const owm_mesh *self, const char *name)
{
    return lookup(self->node_by_name, name, self->nodes, sizeof(owm_node));
}

const owm_node *owm_mesh_node_by_key(const owm_mesh *self, const char *key)
{
    return lookup(self->node_by_key, key, self->nodes, sizeof(owm_node));
}

const owm_stream *owm_mesh_stream_find(const owm_mesh *self, const char *id)
{
    return lookup(self->stream_by_id, id, self->streams, sizeof(owm_stream));
}

const char *owm_mesh_warning(const owm_mesh *self, size_t index)
{
    return index < self->n_warnings ? self->warnings[index] : NULL;
}

int owm_stream_format(const owm_stream *stream, char *buf, size_t len)
{
    char params[256];
    format_params(&stream->params, params, sizeof params);
    return snprintf(buf, len, "%s -> %s  %s task=%s", stream->src->name, stream->dst->name,
                    params, stream->task);
}

owp_status owm_mesh_print_streams(const owm_mesh *self, FILE *fp, owp_err *err)
{
    char line[512];
    for (size_t i = 0; i < self->n_streams; i++) {
        owm_stream_format(&self->streams[i], line, sizeof line);
        if (fprintf(fp, "%s\n", line) < 0)
            return owp_err_sys(err, "writing the stream list of %s", self->source);
    }
    if (fflush(fp))
        return owp_err_sys(err, "writing the stream list of %s", self->source);
    return OWP_OK;
}

int owm_node_format_server(const owm_node *node, char *buf, size_t len)
{
    bool v6 = strchr(node->host, ':') != NULL;
    return snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", node->host, (unsigned)node->owamp_port);
}
