/* registry.c - per-node state of the coordinator (see registry.h). */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

struct owmc_registry {
    const owmc_plan *plan;
    size_t n;
    owmc_peer *peers;
    const owmc_peer **by_name; /* peers, names ascending (PeerHealth lists them so) */
    double node_timeout;
    uint64_t down_version;     /* grows when the down set changes */
    size_t n_down;
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
    p->hello_at = -1;
    p->down = 1; /* never heard from */
    p->next_push = 0; /* due as soon as the node is connected */
    p->backoff = OWMC_PUSH_BACKOFF_MIN;
    p->expected_gen = generation;
    p->verdicts = calloc(np->n_streams ? np->n_streams : 1, 1);
    if (!p->verdicts)
        return owp_err_set(err, OWP_ERR_NOMEM, "node \"%s\": out of memory", np->node->name);
    return OWP_OK;
}

static int cmp_peer_name(const void *a, const void *b)
{
    return strcmp((*(const owmc_peer *const *)a)->plan->node->name,
                  (*(const owmc_peer *const *)b)->plan->node->name);
}

/* Sort the peers by name into by_name (room for self->n, owned from now on)
 * and count the down set: after any change of peers, a new set to send. */
static void index_peers(owmc_registry *self, const owmc_peer **by_name)
{
    self->n_down = 0;
    for (size_t i = 0; i < self->n; i++) {
        by_name[i] = &self->peers[i];
        self->n_down += self->peers[i].down != 0;
    }
    qsort((void *)by_name, self->n, sizeof *by_name, cmp_peer_name);
    free((void *)self->by_name);
    self->by_name = by_name;
    self->down_version++;
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
    const owmc_peer **by_name = calloc(n ? n : 1, sizeof *by_name);
    if (!by_name) {
        owp_err_set(err, OWP_ERR_NOMEM, "node registry: out of memory");
        owmc_reg_destroy(&self);
        return NULL;
    }
    index_peers(self, by_name);
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
    free((void *)self->by_name);
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
    const owmc_peer **by_name = calloc(n ? n : 1, sizeof *by_name);
    if (!peers || !taken || !by_name) {
        free(peers);
        free(taken);
        free((void *)by_name);
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
        free((void *)by_name);
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
    index_peers(self, by_name);
    return changed;
}

void owmc_reg_reschedule(owmc_peer *p, uint64_t generation)
{
    if (p->expected_gen >= generation)
        return;
    p->expected_gen = generation;
    p->rescheduled = 1;
    p->next_push = 0;
    p->backoff = OWMC_PUSH_BACKOFF_MIN;
    p->pushes = 0;
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

int owmc_reg_on_hello(owmc_peer *p, const owm_msg_hello *hello, double now)
{
    p->registered = 1;
    p->hello_at = now; /* a restarted node restarts its streams' clocks */
    p->peer_health_sent = 0;
    p->peer_health_off = 0;
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

int owmc_reg_on_ack(owmc_peer *p, const owm_msg_schedule_ack *ack, double now)
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
    /* A rescheduled node (owmc_reg_reschedule) kept its streams' clock. */
    if (p->acked_at < 0 || !p->rescheduled)
        p->acked_at = now;
    p->rescheduled = 0;
    p->next_push = -1;
    p->backoff = OWMC_PUSH_BACKOFF_MIN;
    return 1;
}

static int cmp_health(const void *a, const void *b)
{
    return strcmp((*(const owm_msg_stream_health *const *)a)->id,
                  (*(const owm_msg_stream_health *const *)b)->id);
}

/* bsearch: key is the id itself. */
static int cmp_health_id(const void *key, const void *b)
{
    return strcmp(key, (*(const owm_msg_stream_health *const *)b)->id);
}

owp_status owmc_reg_on_status(owmc_peer *p, owm_msg **env, double now, owp_err *err)
{
    owm_msg_status *s = (*env)->status;
    const owm_msg_stream_health **index = calloc(s->n_streams ? s->n_streams : 1, sizeof *index);
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

void owmc_reg_on_error(owmc_peer *p, const owm_msg_error *e)
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

const owm_msg_stream_health *owmc_reg_health(const owmc_peer *p, const char *id)
{
    if (!p->status)
        return NULL;
    const owm_msg_stream_health **hit =
        bsearch(id, p->health, p->status->status->n_streams, sizeof *p->health, cmp_health_id);
    return hit ? *hit : NULL;
}

int owmc_reg_node_missing(const owmc_registry *self, const owmc_peer *p, double now)
{
    return owm_health_node_missing(p->last_seen < 0 ? -1 : now - p->last_seen,
                                   self->node_timeout);
}

/* Seconds since the stream (re)started on the node: StreamHealth.started
 * (node-clock difference to the Status's time), or from a node that does not
 * say, the later of the ack and the last Hello; < 0 unknown. */
static double since_start(const owmc_peer *p, const owm_msg_stream_health *h, double now)
{
    if (h && h->started && p->status) {
        uint64_t node_time = p->status->status->time;
        double age = h->started < node_time ? owp_num64_to_double(node_time - h->started) : 0;
        return age + (now - p->status_at);
    }
    double from = p->acked_at > p->hello_at ? p->acked_at : p->hello_at;
    return from >= 0 ? now - from : -1;
}

/* Age of the last session that ended since the stream (re)started; < 0 none. */
static double session_age(const owmc_peer *p, const owm_msg_stream_health *h, double now)
{
    if (!h || !p->status || (h->started && h->last_session_end < h->started))
        return -1;
    return owm_health_session_age(p->status->status->time, h->last_session_end,
                                  now - p->status_at);
}

static double unmeasured_for(const owmc_peer *p, const owm_msg_stream_health *h, double now)
{
    if (!h || !h->unmeasured_since || !p->status)
        return -1;
    uint64_t node_time = p->status->status->time;
    double age = h->unmeasured_since < node_time
                     ? owp_num64_to_double(node_time - h->unmeasured_since) : 0;
    return age + (now - p->status_at);
}

owm_verdict owmc_reg_stream_verdict(owmc_registry *self, const owmc_peer *p, size_t i,
                                    double now, char *why, size_t why_len)
{
    const owm_stream *s = p->plan->streams[i];
    const owmc_peer *src = &self->peers[s->src->index];
    const owm_msg_stream_health *h = owmc_reg_health(p, s->id);
    owm_stream_obs obs = {
        .health = h,
        .node = p->plan->node->name,
        .node_missing = owmc_reg_node_missing(self, p, now),
        .node_silent = p->last_seen < 0 ? -1 : now - p->last_seen,
        .acked = p->acked_gen == p->expected_gen && p->acked_at >= 0,
        .since_start = since_start(p, h, now),
        .session_age = session_age(p, h, now),
        .unmeasured_for = unmeasured_for(p, h, now),
        .source = s->src->name,
        .source_missing = owmc_reg_node_missing(self, src, now),
        .source_seen = src->last_seen_wall,
        .source_silent = src->last_seen < 0 ? -1 : now - src->last_seen,
    };
    return owm_health_classify(&s->params, &obs, why, why_len);
}

/* ------------------------------------------------------------ replies */

/* A last session end shown to people: none when later than the node's own
 * clock at the report (a session that never ran), and never later than the
 * coordinator's clock (the node's may run ahead). */
static uint64_t shown_session_end(uint64_t end, uint64_t node_time, uint64_t wall)
{
    if (end > node_time)
        return 0;
    return end > wall ? wall : end;
}

/* The node-clock times of a reported health, as shown. */
static void copy_times(owm_msg_stream_health *c, const owm_msg_stream_health *h,
                       uint64_t node_time, uint64_t wall)
{
    c->last_session_end = shown_session_end(h->last_session_end, node_time, wall);
    c->started = h->started;
    c->unmeasured_since = h->unmeasured_since;
    c->last_attempt = h->last_attempt;
}

static owp_status copy_health(owm_msg_stream_status *out, const owm_msg_stream_health *h,
                              const owmc_peer *p, uint64_t wall, const char *stall_note,
                              owp_err *err)
{
    owm_msg_stream_health *c = owm_msg_stream_status_set_health(out, err);
    if (!c)
        return OWP_ERR_NOMEM;
    c->state = h->state;
    c->sessions_completed = h->sessions_completed;
    c->packets_sent = h->packets_sent;
    c->packets_lost = h->packets_lost;
    c->files_spooled = h->files_spooled;
    copy_times(c, h, p->status->status->time, wall);
    char text[OWM_MSG_MAX_TEXT + 1];
    const char *error = h->last_error;
    if (stall_note) {
        snprintf(text, sizeof text, "%s%s%s%s", OWM_STALLED_MARK, stall_note,
                 error && error[0] ? "; " : "", error ? error : "");
        error = text;
    }
    owp_status st = owm_msg_set_string(&c->id, h->id, err);
    if (st == OWP_OK)
        st = owm_msg_set_string(&c->last_error, error, err);
    if (st == OWP_OK)
        st = owm_msg_set_string(&c->unmeasured_reason, h->unmeasured_reason, err);
    return st;
}

typedef struct reply_ctx {
    double now;
    uint64_t wall;
    uint32_t reader_minor;
} reply_ctx;

static owp_status add_expected(owmc_registry *self, owm_msg_node_status *ns, const owmc_peer *p,
                               size_t i, const reply_ctx *ctx, owp_err *err)
{
    const owm_stream *s = p->plan->streams[i];
    owm_msg_stream_status *ss = owm_msg_node_status_add_stream(ns, err);
    if (!ss)
        return err ? err->code : OWP_ERR_NOMEM;
    ss->expected = 1;
    owp_status st;
    if ((st = owm_msg_set_string(&ss->id, s->id, err)) ||
        (st = owm_msg_set_string(&ss->source, s->src->name, err)) ||
        (st = owm_msg_set_string(&ss->destination, s->dst->name, err)))
        return st;
    char why[OWM_EVIDENCE_MAX];
    owm_verdict v = owmc_reg_stream_verdict(self, p, i, ctx->now, why, sizeof why);
    ss->verdict = owm_verdict_wire_for(v, ctx->reader_minor);
    if ((st = owm_msg_set_string(&ss->evidence, why, err)))
        return st;
    const owm_msg_stream_health *h = owmc_reg_health(p, s->id);
    if (!h)
        return OWP_OK;
    return copy_health(ss, h, p, ctx->wall, v == OWM_V_STALLED ? why : NULL, err);
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
static owp_status add_unexpected(owm_msg_node_status *ns, const owmc_peer *p, uint64_t wall,
                                 owp_err *err)
{
    if (!p->status)
        return OWP_OK;
    const owm_msg_status *s = p->status->status;
    for (size_t j = 0; j < s->n_streams; j++) {
        const owm_msg_stream_health *h = s->streams[j];
        if (planned(p->plan, h->id))
            continue;
        owm_msg_stream_status *ss = owm_msg_node_status_add_stream(ns, err);
        if (!ss)
            return err ? err->code : OWP_ERR_NOMEM;
        char why[OWM_EVIDENCE_MAX];
        const char *node = p->plan->node->name;
        ss->verdict = owm_verdict_wire(owm_health_unexpected(h, node, why, sizeof why));
        owp_status st;
        if ((st = owm_msg_set_string(&ss->id, h->id, err)) ||
            (st = owm_msg_set_string(&ss->source, "?", err)) ||
            (st = owm_msg_set_string(&ss->destination, node, err)) ||
            (st = owm_msg_set_string(&ss->evidence, why, err)) ||
            (st = copy_health(ss, h, p, wall, NULL, err)))
            return st;
    }
    return OWP_OK;
}

static owp_status add_node(owmc_registry *self, owm_msg_status_reply *r, const owmc_peer *p,
                           const reply_ctx *ctx, owp_err *err)
{
    double now = ctx->now;
    owm_msg_node_status *ns = owm_msg_status_reply_add_node(r, err);
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
        st = add_expected(self, ns, p, i, ctx, err);
    if (st == OWP_OK)
        st = add_unexpected(ns, p, ctx->wall, err);
    return st;
}

owm_msg *owmc_reg_status_reply(owmc_registry *self, const owm_msg_status_request *request,
                               uint64_t generation, double now, uint64_t wall,
                               uint32_t reader_minor, owp_err *err)
{
    const reply_ctx ctx = {.now = now, .wall = wall, .reader_minor = reader_minor};
    if (request) {
        for (size_t i = 0; i < request->n_nodes; i++) {
            if (!owmc_reg_find(self, request->nodes[i])) {
                owp_err_set(err, OWP_ERR_INVALID, "StatusRequest.nodes[%zu]: no node \"%s\" in "
                            "the mesh", i, request->nodes[i]);
                return NULL;
            }
        }
    }
    owm_msg *env = owm_msg_new(OWM_MSG_STATUS_REPLY, err);
    if (!env)
        return NULL;
    owm_msg_status_reply *r = env->status_reply;
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
                st = add_node(self, r, owmc_reg_find(self, request->nodes[i]), &ctx, err);
        }
    } else {
        for (size_t i = 0; i < self->n && st == OWP_OK; i++)
            st = add_node(self, r, &self->peers[i], &ctx, err);
    }
    if (st != OWP_OK)
        owm_msg_free(&env);
    return env;
}

owm_msg *owmc_reg_directory(owmc_registry *self, uint64_t generation, owp_err *err)
{
    owm_msg *env = owm_msg_new(OWM_MSG_DIRECTORY, err);
    if (!env)
        return NULL;
    env->directory->generation = generation;
    owp_status st = OWP_OK;
    for (size_t i = 0; i < self->n && st == OWP_OK; i++) {
        const owmc_peer *p = &self->peers[i];
        const owm_node *node = p->plan->node;
        owm_msg_directory_entry *e = owm_msg_directory_add_node(env->directory, err);
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

/* ------------------------------------------------------------ peer health */

int owmc_reg_update_down(owmc_registry *self, double now)
{
    int changed = 0;
    for (size_t i = 0; i < self->n; i++) {
        owmc_peer *p = &self->peers[i];
        int down = owmc_reg_node_missing(self, p, now);
        if (down != p->down) {
            p->down = down;
            self->n_down += down ? 1 : (size_t)-1;
            changed = 1;
        }
    }
    if (changed)
        self->down_version++;
    return changed;
}

uint64_t owmc_reg_down_version(const owmc_registry *self)
{
    return self->down_version;
}

size_t owmc_reg_down_count(const owmc_registry *self)
{
    return self->n_down;
}

owm_msg *owmc_reg_peer_health(const owmc_registry *self, uint64_t wall, owp_err *err)
{
    owm_msg *env = owm_msg_new(OWM_MSG_PEER_HEALTH, err);
    if (!env)
        return NULL;
    env->peer_health->time = wall;
    for (size_t i = 0; i < self->n; i++) {
        const owmc_peer *p = self->by_name[i];
        if (p->down && owm_msg_peer_health_add_down(env->peer_health, p->plan->node->name,
                                                    err) != OWP_OK) {
            owm_msg_free(&env);
            return NULL;
        }
    }
    return env;
}

int owmc_reg_peer_health_due(const owmc_registry *self, const owmc_peer *p, double now)
{
    return p->route && p->registered && p->minor >= 2 && !p->peer_health_off &&
           p->peer_health_sent != self->down_version && !owmc_reg_node_missing(self, p, now);
}

void owmc_reg_peer_health_sent(const owmc_registry *self, owmc_peer *p)
{
    p->peer_health_sent = self->down_version;
}

int owmc_reg_peer_health_refused(owmc_peer *p)
{
    int first = !p->peer_health_off;
    p->peer_health_off = 1;
    return first;
}
