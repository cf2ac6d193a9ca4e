/* plan.c - per-node schedules from a mesh, their digests and diffs. */
#include "plan.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testpkt.h"

struct owmc_plan {
    const owm_mesh *mesh;
    size_t n_nodes;
    owmc_node_plan *nodes;
    const owm_stream **slots; /* every stream once, grouped by receiving node */
};

static int cmp_stream_id(const void *a, const void *b)
{
    const owm_stream *x = *(const owm_stream *const *)a;
    const owm_stream *y = *(const owm_stream *const *)b;
    return strcmp(x->id, y->id);
}

/* Count per receiver, then point each node at its slice of slots. */
static void assign_streams(owmc_plan *self)
{
    const owm_stream *streams = owm_mesh_streams(self->mesh);
    size_t n = owm_mesh_stream_count(self->mesh);
    for (size_t i = 0; i < n; i++) {
        owmc_node_plan *dst = &self->nodes[streams[i].dst->index];
        owmc_node_plan *src = &self->nodes[streams[i].src->index];
        dst->n_streams++;
        src->n_sent++;
        src->server_modes |= streams[i].params.auth_modes;
    }
    size_t offset = 0;
    for (size_t i = 0; i < self->n_nodes; i++) {
        self->nodes[i].streams = self->slots + offset;
        offset += self->nodes[i].n_streams;
        self->nodes[i].n_streams = 0;
    }
    for (size_t i = 0; i < n; i++) {
        owmc_node_plan *dst = &self->nodes[streams[i].dst->index];
        dst->streams[dst->n_streams++] = &streams[i];
    }
    for (size_t i = 0; i < self->n_nodes; i++)
        qsort((void *)self->nodes[i].streams, self->nodes[i].n_streams,
              sizeof *self->nodes[i].streams, cmp_stream_id);
}

static int digest_text(EVP_MD_CTX *md, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int digest_text(EVP_MD_CTX *md, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return 0;
    return EVP_DigestUpdate(md, buf, (size_t)n);
}

/* Everything the Schedule carries but the generation: the node, each stream's
 * id (which already covers source, destination, servers and parameters), its
 * peer and identity, the owamp server settings, the data endpoint and the
 * collectors. */
static owp_status compute_digest(owmc_node_plan *np, EVP_MD_CTX *md, owp_err *err)
{
    int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
             digest_text(md, "node %s\n", np->node->name);
    for (size_t i = 0; ok && i < np->n_streams; i++) {
        const owm_stream *s = np->streams[i];
        char peer[300];
        owm_node_format_server(s->src, peer, sizeof peer);
        ok = digest_text(md, "stream %s %s %s %u\n", s->id, s->src->name, peer,
                         (unsigned)s->params.auth_modes);
    }
    if (ok && np->n_sent) {
        char listen[300];
        owm_node_format_server(np->node, listen, sizeof listen);
        ok = digest_text(md, "server %s %u\n", listen, (unsigned)np->server_modes);
    }
    if (ok && np->node->data_endpoint)
        ok = digest_text(md, "data %s\n", np->node->data_endpoint);
    for (size_t i = 0; ok && i < owm_mesh_client_count(np->mesh); i++) {
        const owm_client *c = owm_mesh_client(np->mesh, i);
        if (c->role == OWM_ROLE_COLLECTOR)
            ok = digest_text(md, "collector %s %s\n", c->name, c->public_key);
    }
    unsigned int len = 0;
    if (!ok || !EVP_DigestFinal_ex(md, np->digest, &len) || len != OWMC_DIGEST_LEN)
        return owp_err_set(err, OWP_ERR_CRYPTO, "node \"%s\": schedule digest failed",
                           np->node->name);
    return OWP_OK;
}

owmc_plan *owmc_plan_new(const owm_mesh *mesh, owp_err *err)
{
    if (!mesh) {
        owp_err_set(err, OWP_ERR_INVALID, "owmc_plan_new: NULL mesh");
        return NULL;
    }
    owmc_plan *self = calloc(1, sizeof *self);
    size_t n_nodes = owm_mesh_node_count(mesh);
    size_t n_streams = owm_mesh_stream_count(mesh);
    if (self) {
        self->mesh = mesh;
        self->n_nodes = n_nodes;
        self->nodes = calloc(n_nodes ? n_nodes : 1, sizeof *self->nodes);
        self->slots = calloc(n_streams ? n_streams : 1, sizeof *self->slots);
    }
    if (!self || !self->nodes || !self->slots) {
        owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory computing schedules",
                    owm_mesh_source(mesh));
        owmc_plan_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < n_nodes; i++) {
        self->nodes[i].mesh = mesh;
        self->nodes[i].node = owm_mesh_node(mesh, i);
    }
    assign_streams(self);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    owp_status st = md ? OWP_OK : owp_err_set(err, OWP_ERR_CRYPTO, "EVP_MD_CTX_new failed");
    for (size_t i = 0; st == OWP_OK && i < n_nodes; i++)
        st = compute_digest(&self->nodes[i], md, err);
    EVP_MD_CTX_free(md);
    if (st != OWP_OK)
        owmc_plan_destroy(&self);
    return self;
}

void owmc_plan_destroy(owmc_plan **self_p)
{
    if (!self_p || !*self_p)
        return;
    owmc_plan *self = *self_p;
    free(self->nodes);
    free((void *)self->slots);
    free(self);
    *self_p = NULL;
}

const owm_mesh *owmc_plan_mesh(const owmc_plan *self)
{
    return self->mesh;
}

size_t owmc_plan_node_count(const owmc_plan *self)
{
    return self->n_nodes;
}

const owmc_node_plan *owmc_plan_node(const owmc_plan *self, size_t index)
{
    return index < self->n_nodes ? &self->nodes[index] : NULL;
}

const owmc_node_plan *owmc_plan_find(const owmc_plan *self, const char *name)
{
    const owm_node *node = name ? owm_mesh_node_find(self->mesh, name) : NULL;
    return node ? &self->nodes[node->index] : NULL;
}

size_t owmc_plan_stream_count(const owmc_plan *self)
{
    return owm_mesh_stream_count(self->mesh);
}

owmc_change owmc_plan_change(const owmc_plan *old_plan, const owmc_plan *new_plan,
                             const char *node)
{
    const owmc_node_plan *was = old_plan ? owmc_plan_find(old_plan, node) : NULL;
    const owmc_node_plan *now = new_plan ? owmc_plan_find(new_plan, node) : NULL;
    if (!was && !now)
        return OWMC_ABSENT;
    if (!was)
        return OWMC_ADDED;
    if (!now)
        return OWMC_REMOVED;
    return memcmp(was->digest, now->digest, OWMC_DIGEST_LEN) == 0 ? OWMC_UNCHANGED
                                                                  : OWMC_CHANGED;
}

const char *owmc_change_name(owmc_change change)
{
    switch (change) {
    case OWMC_UNCHANGED: return "unchanged";
    case OWMC_CHANGED: return "changed";
    case OWMC_ADDED: return "added";
    case OWMC_REMOVED: return "removed";
    case OWMC_ABSENT: return "absent";
    }
    return "unknown";
}

owp_status owmc_plan_fill_stream(owm_msg_stream *out, const owm_stream *s, owp_err *err)
{
    char peer[300];
    owm_node_format_server(s->src, peer, sizeof peer);
    const owm_test_params *p = &s->params;
    owm_msg_stream_params *q = out->params;
    if (!q)
        return owp_err_set(err, OWP_ERR_INVALID, "stream %s: Stream without params", s->id);
    q->interval = p->packet_interval;
    q->count = p->packet_count;
    q->padding = p->packet_padding;
    q->loss_timeout = p->loss_timeout;
    q->bucket_width = p->bucket_width;
    q->sub_session_count = p->sub_session_count;
    q->dscp = p->dscp;
    q->modes = p->auth_modes;
    /* Authenticated/encrypted-only streams need a KeyID: the receiving node
     * uses its own name, whose pass-phrase lives in its local pfs file. */
    const char *identity = (p->auth_modes & OWP_MODE_OPEN) ? NULL : s->dst->name;
    owp_status st;
    if ((st = owm_msg_set_string(&out->id, s->id, err)) ||
        (st = owm_msg_set_string(&out->source, s->src->name, err)) ||
        (st = owm_msg_set_string(&out->peer, peer, err)) ||
        (st = owm_msg_set_string(&q->identity, identity, err)))
        return st;
    return OWP_OK;
}

owm_msg *owmc_plan_empty_schedule(const char *node, uint64_t generation, owp_err *err)
{
    owm_msg *env = owm_msg_new(OWM_MSG_SCHEDULE, err);
    if (!env)
        return NULL;
    env->schedule->generation = generation;
    if (owm_msg_set_string(&env->schedule->node, node, err) != OWP_OK)
        owm_msg_free(&env);
    return env;
}

/* The collectors the node's data endpoint admits: every collector of the
 * mesh, or those flagged in allowed (per mesh client). */
static owp_status add_collectors(owm_msg_schedule *m, const owm_mesh *mesh,
                                 const unsigned char *allowed, owp_err *err)
{
    for (size_t i = 0; i < owm_mesh_client_count(mesh); i++) {
        const owm_client *c = owm_mesh_client(mesh, i);
        owp_status st = c->role == OWM_ROLE_COLLECTOR && (!allowed || allowed[i])
                            ? owm_msg_schedule_add_collector(m, c->name, c->public_key, err)
                            : OWP_OK;
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

owm_msg *owmc_plan_schedule(const owmc_node_plan *np, uint64_t generation, owp_err *err)
{
    return owmc_plan_schedule_for(np, generation, NULL, err);
}

owm_msg *owmc_plan_schedule_for(const owmc_node_plan *np, uint64_t generation,
                                const unsigned char *collectors, owp_err *err)
{
    owm_msg *env = owmc_plan_empty_schedule(np->node->name, generation, err);
    if (!env)
        return NULL;
    owm_msg_schedule *m = env->schedule;
    for (size_t i = 0; i < np->n_streams; i++) {
        owm_msg_stream *s = owm_msg_schedule_add_stream(m, err);
        if (!s || owmc_plan_fill_stream(s, np->streams[i], err) != OWP_OK) {
            owm_msg_free(&env);
            return NULL;
        }
    }
    if (np->n_sent) {
        owm_msg_owamp_server *srv = owm_msg_schedule_set_owamp_server(m, err);
        char listen[300];
        owm_node_format_server(np->node, listen, sizeof listen);
        if (!srv || owm_msg_set_string(&srv->listen, listen, err) != OWP_OK) {
            owm_msg_free(&env);
            return NULL;
        }
        srv->modes = np->server_modes;
    }
    /* The node serves its data endpoint there unless its -D says otherwise. */
    if (owm_msg_set_string(&m->data_endpoint, np->node->data_endpoint, err) != OWP_OK ||
        add_collectors(m, np->mesh, collectors, err) != OWP_OK)
        owm_msg_free(&env);
    return env;
}
