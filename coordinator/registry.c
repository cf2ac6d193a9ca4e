/* registry.c - per-node state of the coordinator (see registry.h). */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

struct owmc_registry {
    const owmc_plan *plan;
    size_t n;
    owmc_peer *peers;
    double node_timeout;
};

/* ------------------------------------------------------------ entries */

static void peer_forget_status(owmc_peer *p)
{
    owm_msg_free(&p->status);
    free((void *)p->health);
    p->health = NULL;
}

static void peer_clear(owmc_peer *p)
{
    zframe_destroy(&p->route);
    free(p->software_version);
    free(p->owamp_address);
    free(p->data_endpoint);
    free(p->last_error);
    free(p->verdicts);
    peer_forget_status(p);
    memset(p, 0, sizeof *p);
}

static owp_status peer_init(owmc_peer *p, const owmc_node_plan *np, uint64_t generation,
                            owp_err *err)
{
    memset(p, 0, sizeof *p);
    p->plan = np;
    p->last_seen = -1;
    p->acked_at = -1;
    p->next_push = 0; /* due as soon as the node is connected */
    p->backoff = OWMC_PUSH_BACKOFF_MIN;
    p->expected_gen = generation;
    p->verdicts = calloc(np->n_streams ? np->n_streams : 1, 1);
    if (!p->verdicts)
        return owp_err_set(err, OWP_ERR_NOMEM, "node \"%s\": out of memory", np->node->name);
    return OWP_OK;
}

owmc_registry *owmc_reg_new(const owmc_plan *plan, uint64_t generation, double node_timeout,
                            owp_err *err)
{
    owmc_registry *self = calloc(1, sizeof *self);
    size_t n = owmc_plan_node_count(plan);
    if (self)
        self->peers = calloc(n ? n : 1, sizeof *self->peers);
    if (!self || !self->peers) {
        free(self);
        owp_err_set(err, OWP_ERR_NOMEM, "node registry: out of memory");
        return NULL;
    }
    self->plan = plan;
    self->node_timeout = node_timeout;
    for (size_t i = 0; i < n; i++) {
        if (peer_init(&self->peers[i], owmc_plan_node(plan, i), generation, err) != OWP_OK) {
            self->n = i;
            owmc_reg_destroy(&self);
            return NULL;
        }
    }
    self->n = n;
    return self;
}

void owmc_reg_destroy(owmc_registry **self_p)
{
    if (!self_p || !*self_p)
        return;
    owmc_registry *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        peer_clear(&self->peers[i]);
    free(self->peers);
    free(self);
    *self_p = NULL;
}

const owmc_plan *owmc_reg_plan(const owmc_registry *self)
{
    return self->plan;
}

size_t owmc_reg_count(const owmc_registry *self)
{
    return self->n;
}

owmc_peer *owmc_reg_peer(owmc_registry *self, size_t index)
{
    return index < self->n ? &self->peers[index] : NULL;
}

owmc_peer *owmc_reg_find(owmc_registry *self, const char *node)
{
    const owmc_node_plan *np = owmc_plan_find(self->plan, node);
    return np ? &self->peers[np->node->index] : NULL;
}

double owmc_reg_node_timeout(const owmc_registry *self)
{
    return self->node_timeout;
}

/* ------------------------------------------------------------ reload */

long owmc_reg_apply_plan(owmc_registry *self, const owmc_plan *new_plan, uint64_t generation,
                         owmc_reg_removed_fn *removed, void *arg, owp_err *err)
{
    size_t n = owmc_plan_node_count(new_plan);
    owmc_peer *peers = calloc(n ? n : 1, sizeof *peers);
    unsigned char *taken = calloc(self->n ? self->n : 1, 1);
    if (!peers || !taken) {
        free(peers);
        free(taken);
        owp_err_set(err, OWP_ERR_NOMEM, "node registry: out of memory");
        return -1;
    }
    /* Build every new entry first: a failure leaves the registry as it was. */
    long changed = 0;
    size_t built = 0;
    owp_status st = OWP_OK;
    for (; built < n && st == OWP_OK; built++) {
        const owmc_node_plan *np = owmc_plan_node(new_plan, built);
        if (owmc_plan_change(self->plan, new_plan, np->node->name) != OWMC_UNCHANGED)
            changed++;
        st = peer_init(&peers[built], np, generation, err);
    }
    if (st != OWP_OK) {
        for (size_t i = 0; i < built; i++)
            peer_clear(&peers[i]);
        free(peers);
        free(taken);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        owmc_peer *fresh = &peers[i];
        owmc_peer *old = owmc_reg_find(self, fresh->plan->node->name);
        if (!old)
            continue;
        taken[old - self->peers] = 1;
        const owmc_node_plan *np = fresh->plan;
        unsigned char *verdicts = fresh->verdicts;
        int same = owmc_plan_change(self->plan, new_plan, np->node->name) == OWMC_UNCHANGED;
        /* The node's connection, announcements and health carry over. */
        *fresh = *old;
        fresh->plan = np;
        if (same) {
            /* Same streams in the same (id) order: the stall memory still applies. */
            free(verdicts);
        } else {
            free(old->verdicts);
            fresh->verdicts = verdicts;
            fresh->expected_gen = generation;
            fresh->acked_at = -1;
            fresh->next_push = 0;
            fresh->backoff = OWMC_PUSH_BACKOFF_MIN;
            fresh->pushes = 0;
        }
        memset(old, 0, sizeof *old);
    }
    for (size_t i = 0; i < self->n; i++) {
        if (taken[i])
            continue;
        if (removed)
            removed(arg, &self->peers[i]);
        peer_clear(&self->peers[i]);
    }
    free(taken);
    free(self->peers);
    self->peers = peers;
    self->n = n;
    self->plan = new_plan;
    return changed;
}

/* ------------------------------------------------------------ events */

static void set_text(char **field, const char *value)
{
    free(*field);
    *field = value && value[0] ? strdup(value) : NULL;
}

owp_status owmc_reg_heard(owmc_peer *p, zframe_t *route, double now, uint64_t wall,
                          owp_err *err)
{
    if (!p->route || !zframe_eq(p->route, route)) {
        zframe_t *copy = zframe_dup(route);
        if (!copy)
            return owp_err_set(err, OWP_ERR_NOMEM, "node \"%s\": out of memory",
                               p->plan->node->name);
        zframe_destroy(&p->route);
        p->route = copy;
    }
    p->last_seen = now;
    p->last_seen_wall = wall;
    return OWP_OK;
}

int owmc_reg_on_hello(owmc_peer *p, const Owmesh__Hello *hello, double now)
{
    p->registered = 1;
    set_text(&p->software_version, hello->software_version);
    set_text(&p->owamp_address, hello->owamp_address);
    set_text(&p->data_endpoint, hello->data_endpoint);
    p->running_gen = hello->running_generation;
    if (hello->running_generation == p->expected_gen) {
        /* It already runs what we want (we restarted, or it reconnected). */
        if (p->acked_gen != p->expected_gen)
            p->acked_at = now;
        p->acked_gen = p->expected_gen;
        p->next_push = -1;
        return 0;
    }
    /* A (re)started node: push its schedule now, with a fresh back-off. */
    p->next_push = now;
    p->backoff = OWMC_PUSH_BACKOFF_MIN;
    return 1;
}

int owmc_reg_on_ack(owmc_peer *p, const Owmesh__ScheduleAck *ack, double now)
{
    if (!ack->accepted) {
        set_text(&p->last_error, ack->error);
        /* Refused: keep retrying with back-off (a fixed mesh or node will take it). */
        return 0;
    }
    if (ack->generation > p->acked_gen)
        p->acked_gen = ack->generation;
    p->running_gen = ack->generation;
    if (ack->generation != p->expected_gen)
        return 0;
    p->acked_at = now;
    p->next_push = -1;
    p->backoff = OWMC_PUSH_BACKOFF_MIN;
    return 1;
}

static int cmp_health(const void *a, const void *b)
{
    return strcmp((*(const Owmesh__StreamHealth *const *)a)->id,
                  (*(const Owmesh__StreamHealth *const *)b)->id);
}

owp_status owmc_reg_on_status(owmc_peer *p, Owmesh__Envelope **env, double now, owp_err *err)
{
    Owmesh__Status *s = (*env)->status;
    const Owmesh__StreamHealth **index = calloc(s->n_streams ? s->n_streams : 1, sizeof *index);
    if (!index)
        return owp_err_set(err, OWP_ERR_NOMEM, "node \"%s\": out of memory",
                           p->plan->node->name);
    if (s->n_streams) {
        memcpy((void *)index, s->streams, s->n_streams * sizeof *index);
        qsort((void *)index, s->n_streams, sizeof *index, cmp_health);
    }
    peer_forget_status(p);
    p->status = *env;
    p->health = index;
    p->status_at = now;
    p->running_gen = s->generation;
    *env = NULL;
    return OWP_OK;
}

void owmc_reg_on_error(owmc_peer *p, const Owmesh__Error *e)
{
    char text[OWM_MSG_MAX_TEXT + 64];
    snprintf(text, sizeof text, "%s: %s", owm_msg_error_code_name(e->code), e->text);
    set_text(&p->last_error, text);
}

/* ------------------------------------------------------------ pushes */

int owmc_reg_push_due(const owmc_peer *p, double now)
{
    return p->route && p->next_push >= 0 && p->next_push <= now &&
           p->acked_gen != p->expected_gen;
}

void owmc_reg_pushed(owmc_peer *p, double now)
{
    p->pushes++;
    p->next_push = now + p->backoff;
    p->backoff *= 2;
    if (p->backoff > OWMC_PUSH_BACKOFF_MAX)
        p->backoff = OWMC_PUSH_BACKOFF_MAX;
}

double owmc_reg_next_push(const owmc_registry *self, double now)
{
    double best = -1;
    for (size_t i = 0; i < self->n; i++) {
        const owmc_peer *p = &self->peers[i];
        if (!p->route || p->next_push < 0 || p->acked_gen == p->expected_gen)
            continue;
        double wait = p->next_push > now ? p->next_push - now : 0;
        if (best < 0 || wait < best)
            best = wait;
    }
    return best;
}

/* ------------------------------------------------------------ health */

const Owmesh__StreamHealth *owmc_reg_health(const owmc_peer *p, const char *id)
{
    if (!p->status)
        return NULL;
    Owmesh__StreamHealth key = {.id = (char *)id};
    const Owmesh__StreamHealth *kp = &key;
    const Owmesh__StreamHealth **hit =
        bsearch(&kp, p->health, p->status->status->n_streams, sizeof *p->health, cmp_health);
    return hit ? *hit : NULL;
}

int owmc_reg_node_missing(const owmc_registry *self, const owmc_peer *p, double now)
{
    return owmc_health_node_missing(p->last_seen < 0 ? -1 : now - p->last_seen,
                                    self->node_timeout);
}

owmc_verdict owmc_reg_stream_verdict(owmc_registry *self, const owmc_peer *p, size_t i,
                                     double now, char *why, size_t why_len)
{
    const owm_stream *s = p->plan->streams[i];
    owmc_stream_obs obs = {
        .health = owmc_reg_health(p, s->id),
        .node_missing = owmc_reg_node_missing(self, p, now),
        .acked = p->acked_gen == p->expected_gen && p->acked_at >= 0,
        .since_ack = p->acked_at >= 0 ? now - p->acked_at : 0,
        .session_age = -1,
    };
    if (obs.health && p->status)
        obs.session_age = owmc_health_session_age(p->status->status->time,
                                                  obs.health->last_session_end,
                                                  now - p->status_at);
    return owmc_health_classify(&s->params, &obs, why, why_len);
}

/* ------------------------------------------------------------ replies */

static owp_status copy_health(Owmesh__StreamStatus *out, const Owmesh__StreamHealth *h,
                              const char *stall_note, owp_err *err)
{
    Owmesh__StreamHealth *c = owm_msg_stream_status_set_health(out, err);
    if (!c)
        return OWP_ERR_NOMEM;
    c->state = h->state;
    c->sessions_completed = h->sessions_completed;
    c->last_session_end = h->last_session_end;
    c->packets_sent = h->packets_sent;
    c->packets_lost = h->packets_lost;
    c->files_spooled = h->files_spooled;
    char text[OWM_MSG_MAX_TEXT + 1];
    const char *error = h->last_error;
    if (stall_note) {
        snprintf(text, sizeof text, "%s%s%s%s", OWMC_STALLED_MARK, stall_note,
                 error && error[0] ? "; " : "", error ? error : "");
        error = text;
    }
    owp_status st = owm_msg_set_string(&c->id, h->id, err);
    if (st == OWP_OK)
        st = owm_msg_set_string(&c->last_error, error, err);
    return st;
}

static owp_status add_expected(owmc_registry *self, Owmesh__NodeStatus *ns, const owmc_peer *p,
                               size_t i, double now, owp_err *err)
{
    const owm_stream *s = p->plan->streams[i];
    Owmesh__StreamStatus *ss = owm_msg_node_status_add_stream(ns, err);
    if (!ss)
        return err ? err->code : OWP_ERR_NOMEM;
    ss->expected = 1;
    owp_status st;
    if ((st = owm_msg_set_string(&ss->id, s->id, err)) ||
        (st = owm_msg_set_string(&ss->source, s->src->name, err)) ||
        (st = owm_msg_set_string(&ss->destination, s->dst->name, err)))
        return st;
    char why[200];
    owmc_verdict v = owmc_reg_stream_verdict(self, p, i, now, why, sizeof why);
    ss->verdict = owmc_verdict_wire(v);
    const Owmesh__StreamHealth *h = owmc_reg_health(p, s->id);
    if (!h)
        return OWP_OK;
    return copy_health(ss, h, v == OWMC_V_STALLED ? why : NULL, err);
}

static int cmp_id_stream(const void *key, const void *elem)
{
    return strcmp((const char *)key, (*(const owm_stream *const *)elem)->id);
}

/* 1 when id is in the node's schedule (its streams are sorted by id). */
static int planned(const owmc_node_plan *np, const char *id)
{
    return bsearch(id, np->streams, np->n_streams, sizeof *np->streams, cmp_id_stream) != NULL;
}

/* Streams the node reports that its schedule does not list. */
static owp_status add_unexpected(Owmesh__NodeStatus *ns, const owmc_peer *p, owp_err *err)
{
    if (!p->status)
        return OWP_OK;
    const Owmesh__Status *s = p->status->status;
    for (size_t j = 0; j < s->n_streams; j++) {
        const Owmesh__StreamHealth *h = s->streams[j];
        if (planned(p->plan, h->id))
            continue;
        Owmesh__StreamStatus *ss = owm_msg_node_status_add_stream(ns, err);
        if (!ss)
            return err ? err->code : OWP_ERR_NOMEM;
        ss->verdict = owmc_verdict_wire(owmc_health_unexpected(h));
        owp_status st;
        if ((st = owm_msg_set_string(&ss->id, h->id, err)) ||
            (st = owm_msg_set_string(&ss->source, "?", err)) ||
            (st = owm_msg_set_string(&ss->destination, p->plan->node->name, err)) ||
            (st = copy_health(ss, h, NULL, err)))
            return st;
    }
    return OWP_OK;
}

static owp_status add_node(owmc_registry *self, Owmesh__StatusReply *r, const owmc_peer *p,
                           double now, owp_err *err)
{
    Owmesh__NodeStatus *ns = owm_msg_status_reply_add_node(r, err);
    if (!ns)
        return err ? err->code : OWP_ERR_NOMEM;
    ns->connected = !owmc_reg_node_missing(self, p, now);
    ns->last_seen = p->last_seen_wall;
    ns->expected_generation = p->expected_gen;
    ns->acked_generation = p->acked_gen;
    ns->running_generation = p->running_gen;
    owp_status st;
    if ((st = owm_msg_set_string(&ns->node, p->plan->node->name, err)) ||
        (st = owm_msg_set_string(&ns->software_version, p->software_version, err)) ||
        (st = owm_msg_set_string(&ns->owamp_address, p->owamp_address, err)) ||
        (st = owm_msg_set_string(&ns->last_error, p->last_error, err)))
        return st;
    for (size_t i = 0; i < p->plan->n_streams && st == OWP_OK; i++)
        st = add_expected(self, ns, p, i, now, err);
    if (st == OWP_OK)
        st = add_unexpected(ns, p, err);
    return st;
}

Owmesh__Envelope *owmc_reg_status_reply(owmc_registry *self, const Owmesh__StatusRequest *request,
                                        uint64_t generation, double now, uint64_t wall,
                                        owp_err *err)
{
    if (request) {
        for (size_t i = 0; i < request->n_nodes; i++) {
            if (!owmc_reg_find(self, request->nodes[i])) {
                owp_err_set(err, OWP_ERR_INVALID, "StatusRequest.nodes[%zu]: no node \"%s\" in "
                            "the mesh", i, request->nodes[i]);
                return NULL;
            }
        }
    }
    Owmesh__Envelope *env = owm_msg_new(OWMESH__ENVELOPE__BODY_STATUS_REPLY, err);
    if (!env)
        return NULL;
    Owmesh__StatusReply *r = env->status_reply;
    r->request_id = request ? request->request_id : 0;
    r->generation = generation;
    r->time = wall;
    owp_status st = OWP_OK;
    if (request && request->n_nodes) {
        for (size_t i = 0; i < request->n_nodes && st == OWP_OK; i++) {
            int dup = 0; /* a name asked twice is answered once */
            for (size_t j = 0; j < i && !dup; j++)
                dup = strcmp(request->nodes[j], request->nodes[i]) == 0;
            if (!dup)
                st = add_node(self, r, owmc_reg_find(self, request->nodes[i]), now, err);
        }
    } else {
        for (size_t i = 0; i < self->n && st == OWP_OK; i++)
            st = add_node(self, r, &self->peers[i], now, err);
    }
    if (st != OWP_OK)
        owm_msg_free(&env);
    return env;
}

Owmesh__Envelope *owmc_reg_directory(owmc_registry *self, uint64_t generation, owp_err *err)
{
    Owmesh__Envelope *env = owm_msg_new(OWMESH__ENVELOPE__BODY_DIRECTORY, err);
    if (!env)
        return NULL;
    env->directory->generation = generation;
    owp_status st = OWP_OK;
    for (size_t i = 0; i < self->n && st == OWP_OK; i++) {
        const owmc_peer *p = &self->peers[i];
        const owm_node *node = p->plan->node;
        Owmesh__DirectoryEntry *e = owm_msg_directory_add_node(env->directory, err);
        if (!e) {
            st = OWP_ERR_NOMEM;
            break;
        }
        char address[300];
        owm_node_format_server(node, address, sizeof address);
        const char *data = p->data_endpoint ? p->data_endpoint : node->data_endpoint;
        if ((st = owm_msg_set_string(&e->node, node->name, err)) == OWP_OK &&
            (st = owm_msg_set_string(&e->address, address, err)) == OWP_OK &&
            (st = owm_msg_set_string(&e->data_endpoint, data, err)) == OWP_OK)
            st = owm_msg_set_string(&e->public_key, node->public_key, err);
    }
    if (st != OWP_OK)
        owm_msg_free(&env);
    return env;
}
