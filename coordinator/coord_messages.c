/* coord_messages.c - the coordinator's conversation: who sent a message
 * (by its CURVE key) and whether its role may send it (access.h), what
 * nodes, collectors and analysts send, and what the coordinator sends back
 * (see coord.h). */
#include "coord_internal.h"

#include <string.h>

#include "clock.h"
#include "daemon_log.h"

#define BATCH 256             /* messages handled per readable event */

/* Who sent a message: the role the mesh gives its CURVE key (as the ZAP
 * handler told libzmq), and for a node, the node and its registry entry. */
typedef struct sender {
    const char *key;
    const char *address;
    owmc_sender_role role;
    const char *name;          /* the node's or client's name in the mesh; NULL: operator */
    const owm_node *node;
    owmc_peer *peer;
    char label[160];
} sender;

/* ------------------------------------------------------------ sending */

int owmc_send_frame(owmc_coord *self, zframe_t *route, zframe_t *frame,
                     owm_msg_kind kind, const char *to)
{
    zmsg_t *m = zmsg_new();
    zframe_t *id = zframe_dup(route);
    zmsg_append(m, &id);
    zmsg_append(m, &frame);
    if (zmsg_send(&m, self->router) != 0) {
        /* Peer gone (ROUTER_MANDATORY) or its queue full: the retry logic
         * or the peer's next request will come back to it. */
        log_debug("%s: %s not sent: %s", to, owm_msg_kind_name(kind),
                       zmq_strerror(zmq_errno()));
        zmsg_destroy(&m);
        return -1;
    }
    return 0;
}

int owmc_send_env(owmc_coord *self, zframe_t *route, const owm_msg *env,
                   const char *to)
{
    owp_err err = {0};
    zframe_t *frame = owm_msg_encode_frame(env, &err);
    if (!frame) {
        log_err("%s: cannot encode %s: %s", to, owm_msg_kind_name(env->kind), err.msg);
        return -1;
    }
    return owmc_send_frame(self, route, frame, env->kind, to);
}

static void send_error(owmc_coord *self, zframe_t *route, owm_error_code code,
                       const char *text, const char *to)
{
    owp_err err = {0};
    owm_msg *env = owm_msg_new_error(code, text, &err);
    if (env)
        owmc_send_env(self, route, env, to);
    owm_msg_free(&env);
}

static void push_schedule(owmc_coord *self, owmc_peer *p, double now)
{
    owp_err err = {0};
    const char *name = p->plan->node->name;
    owm_msg *env = owmc_plan_schedule_for(p->plan, p->expected_gen,
                                          owmc_collectors_of(self, p->plan->node->index), &err);
    if (!env) {
        log_err("node %s: cannot build its schedule: %s", name, err.msg);
        owmc_reg_pushed(p, now);
        return;
    }
    char to[100];
    snprintf(to, sizeof to, "node %s", name);
    int sent = owmc_send_env(self, p->route, env, to) == 0;
    owm_msg_free(&env);
    owmc_reg_pushed(p, now);
    if (sent)
        log_info("node %s: pushed schedule generation %llu (%zu streams)%s", name,
                      (unsigned long long)p->expected_gen, p->plan->n_streams,
                      p->pushes > 1 ? ", again: not acked yet" : "");
}

void owmc_push_due(owmc_coord *self, double now)
{
    for (size_t i = 0; i < owmc_reg_count(self->reg); i++) {
        owmc_peer *p = owmc_reg_peer(self->reg, i);
        if (owmc_reg_push_due(p, now))
            push_schedule(self, p, now);
    }
}


/* ------------------------------------------------------------ authentication */

int owmc_allow_key(void *arg, const char *key, const char *address)
{
    owmc_coord *self = arg;
    if (owmc_access_role(self->mesh, self->own_key, key, NULL) != OWMC_SENDER_UNKNOWN)
        return 1;
    if (owm_ratelimit_allow(&self->refused, key, owp_clock_monotonic()))
        log_warn("refused connection from %s: CURVE key %s is not in %s (neither a node, a "
                 "collector nor an analyst)", address, key, self->mesh_path);
    return 0;
}

static int identify_sender(owmc_coord *self, zframe_t *body, sender *who)
{
    memset(who, 0, sizeof *who);
    who->key = zframe_meta(body, "User-Id");
    who->address = zframe_meta(body, "Peer-Address");
    if (!who->address)
        who->address = "?";
    if (!who->key || !who->key[0]) {
        snprintf(who->label, sizeof who->label, "unauthenticated peer %s", who->address);
        return -1;
    }
    const char *name = NULL;
    who->role = owmc_access_role(self->mesh, self->own_key, who->key, &name);
    who->name = name;
    switch (who->role) {
    case OWMC_SENDER_NODE:
        who->node = owm_mesh_node_by_key(self->mesh, who->key);
        who->peer = owmc_reg_peer(self->reg, who->node->index);
        snprintf(who->label, sizeof who->label, "node %s (%s)", name, who->address);
        break;
    case OWMC_SENDER_COLLECTOR:
    case OWMC_SENDER_ANALYST:
        snprintf(who->label, sizeof who->label, "%s %s (%s)", owmc_access_role_name(who->role),
                 name, who->address);
        break;
    case OWMC_SENDER_OPERATOR:
        snprintf(who->label, sizeof who->label, "operator %s", who->address);
        break;
    case OWMC_SENDER_UNKNOWN:
        snprintf(who->label, sizeof who->label, "key %s (%s), no longer in the mesh", who->key,
                 who->address);
        return -1;
    }
    return 0;
}

/* A known message from a role that may not send it: refused, and said once
 * a minute per key and kind (a node key used as a collector retries). */
static void refuse_role(owmc_coord *self, zframe_t *route, const sender *who, owm_msg_kind kind)
{
    char subject[OWM_CURVE_KEY_LEN + 40], text[300];
    snprintf(subject, sizeof subject, "%s %s", who->key, owm_msg_kind_name(kind));
    snprintf(text, sizeof text, "%s refused: %s", owm_msg_kind_name(kind),
             owmc_access_rule(who->role));
    if (owm_ratelimit_allow(&self->refused, subject, owp_clock_monotonic()))
        log_warn("%s: %s refused: CURVE key %s is a %s's: %s", who->label,
                 owm_msg_kind_name(kind), who->key, owmc_access_role_name(who->role),
                 owmc_access_rule(who->role));
    send_error(self, route, OWM_ERROR_REFUSED, text, who->label);
}

/* ------------------------------------------------------------ node messages */

/* The message names a node: it must be the sender's own. */
static int name_matches(owmc_coord *self, zframe_t *route, const sender *who, const char *kind,
                        const char *claimed)
{
    if (strcmp(claimed, who->node->name) == 0)
        return 1;
    log_warn("%s: %s claims to be node %s: refused", who->label, kind, claimed);
    char text[200];
    snprintf(text, sizeof text, "%s.node \"%s\" is not the node of your key (%s)", kind, claimed,
             who->node->name);
    send_error(self, route, OWM_ERROR_REFUSED, text, who->label);
    return 0;
}

static void on_hello(owmc_coord *self, zframe_t *route, const sender *who,
                     const owm_msg_hello *h, double now)
{
    if (!name_matches(self, route, who, "Hello", h->node))
        return;
    owmc_peer *p = who->peer;
    if (h->running_generation > self->generation) {
        /* It runs a generation from our future (we restarted within
         * seconds of a burst of changes): move past it, or it would refuse
         * every push as stale. */
        self->generation = owmc_next_generation(h->running_generation);
        owmc_reg_reschedule(p, self->generation);
        log_info("%s: runs generation %llu, later than ours: generation %llu", who->label,
                 (unsigned long long)h->running_generation,
                 (unsigned long long)self->generation);
    }
    int push = owmc_reg_on_hello(p, h, now);
    log_info("%s: hello (%s, owamp %s, data %s), runs generation %llu; its schedule is "
                  "generation %llu%s", who->label, h->software_version,
                  h->owamp_address[0] ? h->owamp_address : "none",
                  h->data_endpoint[0] ? h->data_endpoint : "none",
                  (unsigned long long)h->running_generation,
                  (unsigned long long)p->expected_gen, push ? ": pushing it" : ": up to date");
    if (push)
        push_schedule(self, p, now);
    /* It is up now: tell it which of its peers are not (just this node; the
     * others hear of the change at the next tick). */
    owmc_reg_update_down(self->reg, now);
    owmc_send_peer_health(self, p, now);
}

static void on_ack(const sender *who, const owm_msg_schedule_ack *a, double now)
{
    owmc_peer *p = who->peer;
    if (!a->accepted) {
        owmc_reg_on_ack(p, a, now);
        log_warn("%s: refused schedule generation %llu: %s", who->label,
                      (unsigned long long)a->generation, a->error);
        return;
    }
    if (owmc_reg_on_ack(p, a, now))
        log_info("%s: acked schedule generation %llu", who->label,
                      (unsigned long long)a->generation);
    else
        log_debug("%s: acked old generation %llu (current %llu)", who->label,
                       (unsigned long long)a->generation, (unsigned long long)p->expected_gen);
}

static void on_status(owmc_coord *self, zframe_t *route, const sender *who,
                      owm_msg **env, double now)
{
    if (!name_matches(self, route, who, "Status", (*env)->status->node))
        return;
    owmc_peer *p = who->peer;
    owp_err err = {0};
    uint64_t gen = (*env)->status->generation;
    if (owmc_reg_on_status(p, env, now, &err) != OWP_OK)
        log_err("%s: status not recorded: %s", who->label, err.msg);
    if (!p->registered) {
        /* We restarted: ask it to say Hello (then it gets its schedule). */
        log_info("%s: status for generation %llu before Hello: asking it to register",
                      who->label, (unsigned long long)gen);
        send_error(self, route, OWM_ERROR_NOT_REGISTERED,
                   "coordinator does not know you yet: send Hello", who->label);
    }
}

static void on_error(const sender *who, const owm_msg_error *e)
{
    owmc_peer *p = who->peer;
    /* A node older than minor version 2 does not know PeerHealth: stop
     * sending it, and say so once rather than at every change. */
    if (p && p->peer_health_sent && e->code == OWM_ERROR_UNKNOWN_MESSAGE) {
        if (owmc_reg_peer_health_refused(p))
            log_info("%s: does not take PeerHealth (%s): not sent to it again", who->label,
                     e->text);
        return;
    }
    log_warn("%s: error %s: %s", who->label, owm_msg_error_code_name(e->code), e->text);
    if (p)
        owmc_reg_on_error(p, e);
}

/* ------------------------------------------------------------ queries */

static void on_status_request(owmc_coord *self, zframe_t *route, const sender *who,
                              const owm_msg_status_request *q, uint32_t minor, double now)
{
    owp_err err = {0};
    owm_msg *env =
        owmc_reg_status_reply(self->reg, q, self->generation, now, owmc_wall_now(), minor, &err);
    if (!env) {
        send_error(self, route, OWM_ERROR_NOT_FOUND, err.msg, who->label);
        return;
    }
    size_t size = owm_msg_encoded_size(env, NULL);
    if (size > OWM_MSG_MAX_SIZE) {
        char text[200];
        snprintf(text, sizeof text, "StatusReply for %zu nodes would be %zu bytes, over the "
                 "limit of %u: ask for fewer nodes", env->status_reply->n_nodes, size,
                 OWM_MSG_MAX_SIZE);
        send_error(self, route, OWM_ERROR_REFUSED, text, who->label);
    } else {
        owmc_send_env(self, route, env, who->label);
    }
    owm_msg_free(&env);
    log_debug("%s: status request %llu answered", who->label,
                   (unsigned long long)q->request_id);
}

/* A collector's request says which archive it writes to: the node lists
 * follow (and are pushed) before it is answered, so a node is told who may
 * pull it before that collector is. Analysts and the operator get every
 * node, undivided. */
static void on_directory_request(owmc_coord *self, zframe_t *route, const sender *who,
                                 const owm_msg_directory_request *q, double now)
{
    owp_err err = {0};
    const char *collector = who->role == OWMC_SENDER_COLLECTOR ? who->name : NULL;
    if (collector)
        owmc_collectors_heard(self, collector, q, now);
    owm_msg *env = owmc_reg_directory(self->reg, self->generation, &err);
    if (!env) {
        log_err("%s: directory not built: %s", who->label, err.msg);
        send_error(self, route, OWM_ERROR_INTERNAL, err.msg, who->label);
        return;
    }
    owmc_collectors_divide(self, collector, env->directory, now);
    owmc_send_env(self, route, env, who->label);
    log_debug("%s: directory request answered (generation %llu%s, next request in %.2f s)",
              who->label, (unsigned long long)self->generation,
              env->directory->divided ? ", divided" : "", env->directory->next_request);
    owm_msg_free(&env);
}

/* ------------------------------------------------------------ dispatch */

static void dispatch(owmc_coord *self, zframe_t *route, const sender *who, owm_msg **env,
                     double now)
{
    owm_msg *e = *env;
    if (owmc_access_known(e->kind) && !owmc_access_allows(who->role, e->kind)) {
        refuse_role(self, route, who, e->kind);
        return;
    }
    /* Every message a node may send is of the node plane: it is alive. */
    if (who->peer && owmc_access_known(e->kind)) {
        if (owmc_reg_heard(who->peer, route, now, owmc_wall_now(), NULL) != OWP_OK)
            log_err("%s: out of memory", who->label);
        who->peer->minor = e->minor;
    }
    switch (e->kind) {
    case OWM_MSG_HELLO:
        on_hello(self, route, who, e->hello, now);
        break;
    case OWM_MSG_SCHEDULE_ACK:
        on_ack(who, e->schedule_ack, now);
        break;
    case OWM_MSG_STATUS:
        on_status(self, route, who, env, now);
        break;
    case OWM_MSG_ERROR:
        on_error(who, e->error);
        break;
    case OWM_MSG_STATUS_REQUEST:
        on_status_request(self, route, who, e->status_request, e->minor, now);
        break;
    case OWM_MSG_DIRECTORY_REQUEST:
        on_directory_request(self, route, who, e->directory_request, now);
        break;
    default:
        log_warn("%s: unexpected %s", who->label, owm_msg_kind_name(e->kind));
        send_error(self, route, OWM_ERROR_UNEXPECTED,
                   "the coordinator does not take this message", who->label);
        break;
    }
}

static void handle_message(owmc_coord *self, zmsg_t *msg)
{
    zframe_t *route = zmsg_pop(msg);
    zframe_t *body = zmsg_first(msg);
    if (!route || !body || zmsg_size(msg) != 1) {
        zframe_destroy(&route);
        return;
    }
    sender who;
    if (identify_sender(self, body, &who) != 0) {
        log_warn("%s: message refused", who.label);
        send_error(self, route, OWM_ERROR_UNKNOWN_NODE,
                   "your CURVE key is not in the coordinator's mesh", who.label);
        zframe_destroy(&route);
        return;
    }
    owp_err err = {0};
    owm_error_code why = OWM_ERROR_MALFORMED;
    owm_msg *env = NULL;
    if (owm_msg_decode_frame(body, &env, &why, &err) != OWP_OK) {
        log_warn("%s: %s", who.label, err.msg);
        send_error(self, route, why, err.msg, who.label);
    } else {
        dispatch(self, route, &who, &env, owp_clock_monotonic());
    }
    owm_msg_free(&env);
    zframe_destroy(&route);
}

int owmc_on_router(zloop_t *loop, zsock_t *router, void *arg)
{
    (void)loop;
    owmc_coord *self = arg;
    for (int i = 0; i < BATCH && (zsock_events(router) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv(router);
        if (!msg)
            return 0; /* interrupted: the loop takes the signal */
        handle_message(self, msg);
        zmsg_destroy(&msg);
    }
    return 0;
}

int owmc_on_zap(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    owm_zap_handle(arg);
    return 0;
}

int owmc_on_monitor(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    owm_monitor_handle(arg, owp_clock_monotonic());
    return 0;
}
