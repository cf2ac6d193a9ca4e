/* store_paths.c - the path of a collected file (see store_paths.h). */
#include "store_paths.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "owpfile.h"
#include "unmeasured.h"

typedef struct dir_node {
    char name[OWM_MSG_MAX_NAME + 1];
    int family; /* 4, 6, or 0 when its host is a name */
    uint8_t addr[16];
} dir_node;

struct store_paths {
    store_db *store;
    char *mesh_file;
    owm_mesh *mesh;
    dir_node *nodes;
    size_t n_nodes;
};

store_paths *store_paths_new(store_db *store, const char *mesh_file, owp_err *err)
{
    store_paths *self = calloc(1, sizeof *self);
    if (!self || (mesh_file && !(self->mesh_file = strdup(mesh_file)))) {
        free(self);
        owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->store = store;
    if (mesh_file && !(self->mesh = owm_mesh_load(mesh_file, err))) {
        store_paths_destroy(&self);
        return NULL;
    }
    return self;
}

void store_paths_destroy(store_paths **self_p)
{
    if (!self_p || !*self_p)
        return;
    owm_mesh_destroy(&(*self_p)->mesh);
    free((*self_p)->mesh_file);
    free((*self_p)->nodes);
    free(*self_p);
    *self_p = NULL;
}

owp_status store_paths_reload(store_paths *self, owp_err *err)
{
    if (!self->mesh_file)
        return OWP_OK;
    owm_mesh *m = owm_mesh_load(self->mesh_file, err);
    if (!m)
        return err->code;
    owm_mesh_destroy(&self->mesh);
    self->mesh = m;
    return OWP_OK;
}

owp_status store_paths_set_directory(store_paths *self, const owm_msg_directory *d,
                                         owp_err *err)
{
    dir_node *nodes = d->n_nodes ? calloc(d->n_nodes, sizeof *nodes) : NULL;
    if (d->n_nodes && !nodes)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->n_nodes; i++) {
        snprintf(nodes[i].name, sizeof nodes[i].name, "%s", d->nodes[i]->node);
        owp_hostport hp;
        owp_err ignored;
        owp_err_clear(&ignored);
        if (owp_hostport_parse(d->nodes[i]->address, &hp, &ignored) != OWP_OK)
            continue;
        if (inet_pton(AF_INET, hp.host, nodes[i].addr) == 1)
            nodes[i].family = 4;
        else if (inet_pton(AF_INET6, hp.host, nodes[i].addr) == 1)
            nodes[i].family = 6;
    }
    free(self->nodes);
    self->nodes = nodes;
    self->n_nodes = d->n_nodes;
    return OWP_OK;
}

/* The node with this OWAMP address; NULL when none (or several). */
static const char *node_at(const store_paths *self, uint8_t ipvn, const uint8_t addr[16])
{
    const char *found = NULL;
    for (size_t i = 0; i < self->n_nodes; i++) {
        const dir_node *n = &self->nodes[i];
        if (n->family != ipvn || memcmp(n->addr, addr, ipvn == 4 ? 4 : 16))
            continue;
        if (found)
            return NULL;
        found = n->name;
    }
    return found;
}

static int params_match(const owm_test_params *p, const owp_request *req)
{
    return req->padding == p->packet_padding && owp_request_dscp(req) == (int)p->dscp &&
           req->npackets == p->packet_count;
}

void collector_path_params(const owm_mesh *mesh, const char *src, const char *dst,
                           const owp_request *req, char *buf, size_t len)
{
    const owm_stream *s = mesh ? owm_mesh_streams(mesh) : NULL;
    for (size_t i = 0; s && i < owm_mesh_stream_count(mesh); i++)
        if (!strcmp(s[i].src->name, src) && !strcmp(s[i].dst->name, dst) &&
            (!req || params_match(&s[i].params, req))) {
            snprintf(buf, len, "%s", s[i].test);
            return;
        }
    if (req)
        snprintf(buf, len, "padding=%u dscp=%d", (unsigned)req->padding, owp_request_dscp(req));
    else
        snprintf(buf, len, "imported");
}

int collector_addr_parse(const char *text, uint8_t *ipvn, uint8_t addr[16])
{
    owp_hostport hp;
    owp_err ignored;
    owp_err_clear(&ignored);
    memset(addr, 0, 16);
    if (!text || owp_hostport_parse(text, &hp, &ignored) != OWP_OK)
        return 0;
    if (inet_pton(AF_INET, hp.host, addr) == 1)
        *ipvn = 4;
    else if (inet_pton(AF_INET6, hp.host, addr) == 1)
        *ipvn = 6;
    else
        return 0;
    return 1;
}

#define UNM_MAGIC "owmesh-unmeasured "

/* An unmeasured interval's path: its stream via the mesh, else its sender. */
static owp_status resolve_unmeasured(store_paths *self, const char *node, const void *data,
                                     size_t len, uint32_t *path_id, owp_err *err)
{
    owm_unmeasured u;
    owp_status st = owm_unmeasured_parse(data, len, &u, err);
    if (st)
        return owp_err_prefix(err, "node %s", node);
    const owm_stream *s = self->mesh ? owm_mesh_stream_find(self->mesh, u.stream_id) : NULL;
    if (s && !strcmp(s->dst->name, node))
        return store_path_id(self->store, s->src->name, node, s->test, path_id, err);
    char src[OWM_MSG_MAX_ADDRESS + 1], params[OWM_MSG_MAX_ID + 1];
    uint8_t ipvn = 0, addr[16];
    const char *sender = collector_addr_parse(u.sender, &ipvn, addr) ? node_at(self, ipvn, addr)
                                                                    : NULL;
    owp_hostport hp;
    owp_err ignored;
    owp_err_clear(&ignored);
    if (sender)
        snprintf(src, sizeof src, "%s", sender);
    else if (owp_hostport_parse(u.sender, &hp, &ignored) == OWP_OK && hp.host[0])
        snprintf(src, sizeof src, "%s", hp.host);
    else
        return owp_err_set(err, OWP_ERR_INVALID, "node %s: stream %s: no sender to name the path",
                           node, u.stream_id);
    collector_path_params(self->mesh, src, node, NULL, params, sizeof params);
    return store_path_id(self->store, src, node, params, path_id, err);
}

owp_status store_paths_resolve(void *arg, const char *node, const char *stream_id,
                                   const void *data, size_t len, uint32_t *path_id, owp_err *err)
{
    store_paths *self = arg;
    if (len >= strlen(UNM_MAGIC) && !memcmp(data, UNM_MAGIC, strlen(UNM_MAGIC)))
        return resolve_unmeasured(self, node, data, len, path_id, err);
    const owm_stream *s = self->mesh ? owm_mesh_stream_find(self->mesh, stream_id) : NULL;
    if (s && !strcmp(s->dst->name, node))
        return store_path_id(self->store, s->src->name, node, s->test, path_id, err);
    /* From the file itself. */
    /* fmemopen takes a non-const buffer; "rb" only reads it */
    FILE *fp = fmemopen((void *)(uintptr_t)data, len, "rb");
    if (!fp)
        return owp_err_sys(err, "node %s: stream %s: fmemopen", node, stream_id);
    char name[200];
    snprintf(name, sizeof name, "node %s: stream %s", node, stream_id);
    owp_file *f = owp_file_read(fp, name, err);
    if (!f) {
        fclose(fp);
        return err->code;
    }
    const owp_request *req = owp_file_request(f);
    char src[OWM_MSG_MAX_ID + INET6_ADDRSTRLEN] = "", params[OWM_MSG_MAX_ID + 1];
    owp_status st = OWP_OK;
    if (!req) {
        st = owp_err_set(err, OWP_ERR_INVALID, "%s: a version 0 file names no sender", name);
        goto done;
    }
    const char *sender = node_at(self, req->ipvn, req->sender_addr);
    if (sender)
        snprintf(src, sizeof src, "%s", sender);
    else if (!inet_ntop(req->ipvn == 6 ? AF_INET6 : AF_INET, req->sender_addr, src, sizeof src))
        snprintf(src, sizeof src, "unknown");
    collector_path_params(self->mesh, src, node, req, params, sizeof params);
    st = store_path_id(self->store, src, node, params, path_id, err);
done:
    owp_file_destroy(&f);
    fclose(fp);
    return st;
}
