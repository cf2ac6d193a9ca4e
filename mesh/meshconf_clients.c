/*
 * meshconf_clients.c - the collectors and analysts a mesh trusts
 * (owmesh-mesh(5), "Security"): each has its own CURVE key pair, and the
 * mesh lists its public key under a name:
 *
 *   "collectors": {"coll1": {"public-key": "Z85..."}},
 *   "analysts":   {"alice": {"public-key": "Z85..."}}
 *
 * at the top level of a native mesh, in the top-level "_meta" object of a
 * pSConfig template (pSConfig leaves "_meta" to its users). Both formats read
 * the entries strictly: they are owmesh's own, so a typo is an error. A name
 * or a key used twice, by a node, a collector or an analyst, is an error: a
 * key has one role.
 */
#include "meshconf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "curve.h"

static const char *const CLIENT_KEYS[] = {"public-key"};

/* Who already has this name or key, as "node X" / "collector Y"; "" if nobody. */
static void holder(const owm_mesh *m, json_t *node_index, json_t *client_index, const char *what,
                   char *buf, size_t len)
{
    json_t *at = json_object_get(node_index, what);
    if (at) {
        snprintf(buf, len, "node %s", m->nodes[json_integer_value(at)].name);
        return;
    }
    at = json_object_get(client_index, what);
    if (at) {
        const owm_client *c = &m->clients[json_integer_value(at)];
        snprintf(buf, len, "%s %s", owm_role_name(c->role), c->name);
        return;
    }
    buf[0] = '\0';
}

static owp_status parse_client(owm_conf_parser *ps, owm_role role, const char *name, json_t *obj,
                               const char *path)
{
    owm_mesh *m = ps->mesh;
    const char *kind = owm_role_name(role);
    char what[48], taken[OWM_CONF_NAME_MAX + 32], p[OWM_CONF_PATH_MAX];
    snprintf(what, sizeof what, "a %s object", kind);
    owp_status st = owm_conf_check_entry(ps, name, obj, path, kind, what);
    if (st || (st = owm_conf_check_keys(ps, obj, path, OWM_CONF_KEYS(CLIENT_KEYS))))
        return st;
    holder(m, m->node_by_name, m->client_by_name, name, taken, sizeof taken);
    if (taken[0])
        return owm_conf_fail(ps, path, "expected a name of this %s only, got the name of %s "
                             "(names are unique across nodes, collectors and analysts)",
                             kind, taken);
    owm_client c = {.name = name, .role = role};
    if ((st = owm_conf_get_string(ps, obj, "public-key", path, true, &c.public_key)))
        return st;
    owm_conf_path_key(p, sizeof p, path, "public-key");
    if (!owm_curve_key_valid(c.public_key))
        return owm_conf_expected(ps, p,
                                 "a Z85 CURVE public key (40 characters, as in a zcert file)",
                                 json_object_get(obj, "public-key"));
    holder(m, m->node_by_key, m->client_by_key, c.public_key, taken, sizeof taken);
    if (taken[0])
        return owm_conf_fail(ps, p, "expected a key of this %s only, got the key of %s (each "
                             "node, collector and analyst has its own key pair)", kind, taken);
    if ((st = owm_conf_index_set(ps, m->client_by_name, name, m->n_clients)) ||
        (st = owm_conf_index_set(ps, m->client_by_key, c.public_key, m->n_clients)))
        return st;
    m->clients[m->n_clients++] = c;
    return OWP_OK;
}

static owp_status parse_section(owm_conf_parser *ps, json_t *parent, const char *parent_path,
                                const char *key, owm_role role)
{
    json_t *section;
    owp_status st = owm_conf_get_object(ps, parent, key, parent_path, false, &section);
    if (st || !section)
        return st;
    char path[OWM_CONF_PATH_MAX];
    owm_conf_path_key(path, sizeof path, parent_path, key);
    const char *name;
    json_t *obj;
    json_object_foreach(section, name, obj) {
        char p[OWM_CONF_PATH_MAX];
        owm_conf_path_key(p, sizeof p, path, name);
        if ((st = parse_client(ps, role, name, obj, p)))
            return st;
    }
    return OWP_OK;
}

owp_status owm_conf_parse_clients(owm_conf_parser *ps)
{
    owm_mesh *m = ps->mesh;
    json_t *parent = m->root;
    char path[OWM_CONF_PATH_MAX] = "$";
    if (ps->format->clients_at[0]) {
        parent = json_object_get(m->root, ps->format->clients_at);
        if (!json_is_object(parent))
            return OWP_OK; /* pSConfig: no "_meta", or one that is not ours to judge */
        owm_conf_path_key(path, sizeof path, "$", ps->format->clients_at);
    }
    size_t n = json_object_size(json_object_get(parent, "collectors")) +
               json_object_size(json_object_get(parent, "analysts"));
    m->clients = calloc(n + 1, sizeof *m->clients);
    if (!m->clients)
        return owm_conf_nomem(ps);
    owp_status st = parse_section(ps, parent, path, "collectors", OWM_ROLE_COLLECTOR);
    return st ? st : parse_section(ps, parent, path, "analysts", OWM_ROLE_ANALYST);
}
