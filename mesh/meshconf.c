/*
 * meshconf.c - read a mesh definition (native or pSConfig), validate every
 * value, and expand tasks into streams (owmesh-mesh(5)).
 *
 * The parse runs in passes over the JSON tree: nodes, tests, groups, then
 * tasks, which are expanded at once (meshconf_model.c); each format reads
 * its own entries (meshconf_native.c, meshconf_psconfig.c). Each pass checks
 * what it reads and stops at the first error, whose message names the file,
 * the JSON path and what was expected (meshconf_jsonpath.c). The JSON tree
 * is kept for the life of the mesh: every name and string handed out points
 * into it.
 */
#include "meshconf.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "meshconf_internal.h"
#include "testpkt.h"

#define MAX_CANDIDATES (8 * (size_t)OWM_MESH_MAX_STREAMS) /* pairs before dedup */

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
    owm_conf_format_double(t->packet_interval, i, sizeof i);
    owm_conf_format_double(t->loss_timeout, l, sizeof l);
    owm_conf_format_double(t->bucket_width, b, sizeof b);
    return snprintf(buf, len,
                    "interval=%s count=%u padding=%u loss-timeout=%s bucket-width=%s "
                    "sub-sessions=%u dscp=%u auth=%s",
                    i, (unsigned)t->packet_count, (unsigned)t->packet_padding, l, b,
                    (unsigned)t->sub_session_count, (unsigned)t->dscp,
                    modes_text(t->auth_modes, m));
}

static owp_status stream_id(owm_conf_parser *ps, const char *key, char id[OWM_STREAM_ID_LEN + 1])
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

/* Room for one more stream. */
static owp_status reserve_stream(owm_conf_parser *ps, const char *path)
{
    owm_mesh *m = ps->mesh;
    if (m->n_streams == OWM_MESH_MAX_STREAMS)
        return owm_conf_fail(ps, path, "expected at most %d streams in all, got more",
                             OWM_MESH_MAX_STREAMS);
    if (m->n_streams < m->cap_streams)
        return OWP_OK;
    size_t cap = m->cap_streams ? 2 * m->cap_streams : 64;
    owm_stream *grown = realloc(m->streams, cap * sizeof *grown);
    if (!grown)
        return owm_conf_nomem(ps);
    m->streams = grown;
    m->cap_streams = cap;
    return OWP_OK;
}

static owp_status add_stream(owm_conf_parser *ps, size_t src, size_t dst, const owm_conf_test *t,
                             const char *task, const char *path)
{
    owm_mesh *m = ps->mesh;
    if (++ps->candidates > MAX_CANDIDATES)
        return owm_conf_fail(ps, path, "expected at most %zu stream pairs in all, got more",
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
    if ((rc = reserve_stream(ps, path)))
        return rc;
    owm_stream *st = &m->streams[m->n_streams];
    memset(st, 0, sizeof *st);
    st->src = s;
    st->dst = d;
    st->params = t->params;
    st->test = t->name;
    st->task = task;
    memcpy(st->id, id, sizeof st->id);
    rc = owm_conf_index_set(ps, m->stream_by_id, st->id, m->n_streams);
    if (!rc)
        m->n_streams++;
    return rc;
}

static bool excluded(const owm_conf_group *g, size_t src, size_t dst)
{
    if (src == dst)
        return true;
    for (size_t i = 0; i < g->n_ex; i++)
        if (g->ex_src[i] == src && g->ex_dst[i] == dst)
            return true;
    return false;
}

owp_status owm_conf_expand(owm_conf_parser *ps, const owm_conf_group *g, const owm_conf_test *t,
                           const char *task, const char *path)
{
    owp_status st = OWP_OK;
    switch (g->type) {
    case OWM_CONF_GROUP_MESH:
        for (size_t i = 0; i < g->na && !st; i++)
            for (size_t j = 0; j < g->na && !st; j++)
                if (!excluded(g, g->a[i], g->a[j]))
                    st = add_stream(ps, g->a[i], g->a[j], t, task, path);
        break;
    case OWM_CONF_GROUP_DISJOINT:
        for (size_t i = 0; i < g->na && !st; i++)
            for (size_t j = 0; j < g->nb && !st; j++)
                if (!excluded(g, g->a[i], g->b[j]))
                    st = add_stream(ps, g->a[i], g->b[j], t, task, path);
        for (size_t j = 0; j < g->nb && !st && !g->unidirectional; j++)
            for (size_t i = 0; i < g->na && !st; i++)
                if (!excluded(g, g->b[j], g->a[i]))
                    st = add_stream(ps, g->b[j], g->a[i], t, task, path);
        break;
    case OWM_CONF_GROUP_LIST:
        for (size_t i = 0; i < g->na && !st; i++)
            if (!excluded(g, g->a[i], g->b[i]))
                st = add_stream(ps, g->a[i], g->b[i], t, task, path);
        break;
    }
    return st;
}

/* ------------------------------------------------------------ top level */

static owp_status choose_format(owm_conf_parser *ps)
{
    json_t *root = ps->mesh->root;
    if (!json_is_object(root))
        return owm_conf_expected(
            ps, "$", "an object with \"nodes\", \"groups\", \"tests\", \"tasks\"", root);
    bool native = json_object_get(root, "nodes") != NULL;
    bool psconfig = json_object_get(root, "addresses") != NULL;
    if (native && psconfig)
        return owm_conf_fail(
            ps, "$", "expected either \"nodes\" (owmesh) or \"addresses\" (pSConfig), not both");
    if (!native && !psconfig)
        return owm_conf_fail(
            ps, "$", "expected the key \"nodes\" (or \"addresses\" in a pSConfig template)");
    ps->format = psconfig ? &owm_conf_psconfig_format : &owm_conf_native_format;
    ps->mesh->format = ps->format->id;
    return ps->format->top(ps);
}

static owm_mesh *mesh_new(const char *source, owp_err *err)
{
    owm_mesh *m = calloc(1, sizeof *m);
    if (m) {
        m->source = strdup(source ? source : "<mesh>");
        m->node_by_name = json_object();
        m->node_by_key = json_object();
        m->client_by_name = json_object();
        m->client_by_key = json_object();
        m->stream_by_id = json_object();
    }
    if (!m || !m->source || !m->node_by_name || !m->node_by_key || !m->client_by_name ||
        !m->client_by_key || !m->stream_by_id) {
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
    owm_conf_parser ps = {.mesh = m, .err = err, .disabled = json_object()};
    owp_status st = ps.disabled ? OWP_OK
                                : owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", source);
    if (!st)
        st = choose_format(&ps);
    if (!st)
        st = owm_conf_parse_sections(&ps);
    owm_conf_parser_free(&ps);
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
    free(m->clients);
    json_decref(m->node_by_name);
    json_decref(m->node_by_key);
    json_decref(m->client_by_name);
    json_decref(m->client_by_key);
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

size_t owm_mesh_client_count(const owm_mesh *self) { return self->n_clients; }

const owm_client *owm_mesh_client(const owm_mesh *self, size_t index)
{
    return index < self->n_clients ? &self->clients[index] : NULL;
}

const owm_client *owm_mesh_client_by_key(const owm_mesh *self, const char *key)
{
    return lookup(self->client_by_key, key, self->clients, sizeof(owm_client));
}

owm_role owm_mesh_key_role(const owm_mesh *self, const char *key, const char **name)
{
    const owm_node *node = owm_mesh_node_by_key(self, key);
    const owm_client *client = node ? NULL : owm_mesh_client_by_key(self, key);
    if (name)
        *name = node ? node->name : client ? client->name : NULL;
    return node ? OWM_ROLE_NODE : client ? client->role : OWM_ROLE_NONE;
}

const char *owm_role_name(owm_role role)
{
    switch (role) {
    case OWM_ROLE_NODE: return "node";
    case OWM_ROLE_COLLECTOR: return "collector";
    case OWM_ROLE_ANALYST: return "analyst";
    case OWM_ROLE_NONE: break;
    }
    return "unknown";
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
