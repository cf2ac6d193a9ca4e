/* coord.c - the coordinator's loop: sockets, messages, pushes, reloads (see coord.h). */
#include "coord.h"

#include <czmq.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "curve.h"
#include "clock.h"
#include "daemon_log.h"
#include "health.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "plan.h"
#include "registry.h"
#include "timestamp.h"
#include "zap.h"

#define TICK_MS 1000          /* file watch, SIGHUP, due pushes */
#define HEALTH_EVERY 5.0      /* seconds between health log passes */
#define REFUSED_SLOTS 64      /* keys whose refusal was logged recently */
#define REFUSED_QUIET 60.0    /* log one refused key at most once a minute */
#define BATCH 256             /* messages handled per readable event */


static volatile sig_atomic_t reload_requested;

typedef struct refused_key {
    char key[OWMC_Z85_KEY_LEN + 1];
    double at;
} refused_key;

typedef struct file_id {
    int ok;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} file_id;

struct owmc_coord {
    char *mesh_path, *endpoint;
    double node_timeout;
    zcert_t *cert;
    char own_key[OWMC_Z85_KEY_LEN + 1];
    owm_mesh *mesh;
    owmc_plan *plan;
    owmc_registry *reg;
    uint64_t generation;
    file_id watched;
    owm_zap *auth;
    zsock_t *router;
    zloop_t *loop;
    double started, last_health;
    refused_key refused[REFUSED_SLOTS];
    zframe_t *peer_health;       /* the current down set, encoded once per version */
    uint64_t peer_health_version;
};

/* Who sent a message: the node owning the CURVE key, or an operator (the
 * coordinator's own key), as the ZAP handler told libzmq. */
typedef struct sender {
    const char *key;
    const char *address;
    const owm_node *node;
    owmc_peer *peer;
    int operator;
    char label[120];
} sender;

/* ------------------------------------------------------------ clocks */

static uint64_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return owp_ntp_from_timespec(&ts);
}

static uint64_t next_generation(uint64_t previous)
{
    /* Seconds since 1970 so that a restarted coordinator still counts up
     * (a node ignores a generation lower than the one it runs). */
    uint64_t t = (uint64_t)time(NULL);
    return t > previous ? t : previous + 1;
}

/* ------------------------------------------------------------ loading */

static void log_mesh_warnings(const owm_mesh *mesh)
{
    for (size_t i = 0; i < owm_mesh_warning_count(mesh); i++)
        log_warn("%s", owm_mesh_warning(mesh, i));
}

static file_id identify(const char *path)
{
    file_id id = {0};
    struct stat sb;
    if (stat(path, &sb) == 0) {
        id.ok = 1;
        id.dev = sb.st_dev;
        id.ino = sb.st_ino;
        id.size = sb.st_size;
        id.mtime = sb.st_mtim;
        id.ctime = sb.st_ctim;
    }
    return id;
}

static int same_file(const file_id *a, const file_id *b)
{
    return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Load and plan a mesh file; both NULL on failure (err filled). */
static owp_status load_plan(const char *path, owm_mesh **mesh, owmc_plan **plan, double *seconds,
                            owp_err *err)
{
    double t0 = owp_clock_monotonic();
    *plan = NULL;
    *mesh = owm_mesh_load(path, err);
    if (!*mesh)
        return err->code;
    *plan = owmc_plan_new(*mesh, err);
    if (!*plan) {
        owm_mesh_destroy(mesh);
        return err->code;
    }
    *seconds = owp_clock_monotonic() - t0;
    return OWP_OK;
}

owmc_coord *owmc_coord_new(const owmc_config *config, owp_err *err)
{
    owmc_coord *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->mesh_path = strdup(config->mesh_path);
    self->endpoint = strdup(config->endpoint ? config->endpoint : OWMC_DEFAULT_ENDPOINT);
    self->node_timeout = config->node_timeout > 0 ? config->node_timeout
                                                  : OWMC_DEFAULT_NODE_TIMEOUT;
    if (!self->mesh_path || !self->endpoint) {
        owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        owmc_coord_destroy(&self);
        return NULL;
    }
    self->cert = owmc_cert_load(config->cert_path, 1, err);
    if (!self->cert) {
        owmc_coord_destroy(&self);
        return NULL;
    }
    snprintf(self->own_key, sizeof self->own_key, "%s", zcert_public_txt(self->cert));
    self->watched = identify(self->mesh_path);
    double seconds = 0;
    if (load_plan(self->mesh_path, &self->mesh, &self->plan, &seconds, err) != OWP_OK) {
        owmc_coord_destroy(&self);
        return NULL;
    }
    self->generation = next_generation(0);
    self->reg = owmc_reg_new(self->plan, self->generation, self->node_timeout, err);
    if (!self->reg) {
        owmc_coord_destroy(&self);
        return NULL;
    }
    log_mesh_warnings(self->mesh);
    log_info("%s: %zu nodes, %zu streams; schedules computed in %.3f s, generation %llu",
                  self->mesh_path, owm_mesh_node_count(self->mesh),
                  owm_mesh_stream_count(self->mesh), seconds,
                  (unsigned long long)self->generation);
    if (owm_mesh_node_by_key(self->mesh, self->own_key))
        log_warn("%s: node \"%s\" has the coordinator's own public key %s",
                      self->mesh_path, owm_mesh_node_by_key(self->mesh, self->own_key)->name,
                      self->own_key);
    for (size_t i = 0; i < owm_mesh_node_count(self->mesh); i++)
        if (!owm_mesh_node(self->mesh, i)->public_key)
            log_warn("%s: node \"%s\" has no public-key: it cannot connect",
                          self->mesh_path, owm_mesh_node(self->mesh, i)->name);
    return self;
}

void owmc_coord_destroy(owmc_coord **self_p)
{
    if (!self_p || !*self_p)
        return;
    owmc_coord *self = *self_p;
    zloop_destroy(&self->loop);
    zframe_destroy(&self->peer_health);
    zsock_destroy(&self->router);
    owm_zap_destroy(&self->auth);
    owmc_reg_destroy(&self->reg);
    owmc_plan_destroy(&self->plan);
    owm_mesh_destroy(&self->mesh);
    zcert_destroy(&self->cert);
    free(self->mesh_path);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------ sending */

/* Send an encoded envelope of the given kind (takes the frame). */
static int send_frame(owmc_coord *self, zframe_t *route, zframe_t *frame,
                      Owmesh__Envelope__BodyCase kind, const char *to)
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

static int send_env(owmc_coord *self, zframe_t *route, const Owmesh__Envelope *env,
                    const char *to)
{
    owp_err err = {0};
    zframe_t *frame = owm_msg_encode_frame(env, &err);
    if (!frame) {
        log_err("%s: cannot encode %s: %s", to, owm_msg_kind_name(env->body_case), err.msg);
        return -1;
    }
    return send_frame(self, route, frame, env->body_case, to);
}

static void send_error(owmc_coord *self, zframe_t *route, Owmesh__ErrorCode code,
                       const char *text, const char *to)
{
    owp_err err = {0};
    Owmesh__Envelope *env = owm_msg_new_error(code, text, &err);
    if (env)
        send_env(self, route, env, to);
    owm_msg_free(&env);
}

static void push_schedule(owmc_coord *self, owmc_peer *p, double now)
{
    owp_err err = {0};
    const char *name = p->plan->node->name;
    Owmesh__Envelope *env = owmc_plan_schedule(p->plan, p->expected_gen, &err);
    if (!env) {
        log_err("node %s: cannot build its schedule: %s", name, err.msg);
        owmc_reg_pushed(p, now);
        return;
    }
    char to[100];
    snprintf(to, sizeof to, "node %s", name);
    int sent = send_env(self, p->route, env, to) == 0;
    owm_msg_free(&env);
    owmc_reg_pushed(p, now);
    if (sent)
        log_info("node %s: pushed schedule generation %llu (%zu streams)%s", name,
                      (unsigned long long)p->expected_gen, p->plan->n_streams,
                      p->pushes > 1 ? ", again: not acked yet" : "");
}

static void push_due(owmc_coord *self, double now)
{
    for (size_t i = 0; i < owmc_reg_count(self->reg); i++) {
        owmc_peer *p = owmc_reg_peer(self->reg, i);
        if (owmc_reg_push_due(p, now))
            push_schedule(self, p, now);
    }
}

/* The current down set as an encoded PeerHealth, built once per version so
 * that telling every node costs one encoding. NULL when it cannot be built. */
static zframe_t *peer_health_frame(owmc_coord *self)
{
    uint64_t version = owmc_reg_down_version(self->reg);
    if (self->peer_health && self->peer_health_version == version)
        return self->peer_health;
    zframe_destroy(&self->peer_health);
    owp_err err = {0};
    Owmesh__Envelope *env = owmc_reg_peer_health(self->reg, wall_now(), &err);
    self->peer_health = env ? owm_msg_encode_frame(env, &err) : NULL;
    owm_msg_free(&env);
    if (!self->peer_health)
        log_err("cannot build PeerHealth: %s", err.msg);
    self->peer_health_version = version;
    return self->peer_health;
}

static void send_peer_health(owmc_coord *self, owmc_peer *p, double now)
{
    if (!owmc_reg_peer_health_due(self->reg, p, now))
        return;
    zframe_t *frame = peer_health_frame(self);
    if (!frame)
        return;
    char to[100];
    snprintf(to, sizeof to, "node %s", p->plan->node->name);
    if (send_frame(self, p->route, zframe_dup(frame), OWMESH__ENVELOPE__BODY_PEER_HEALTH, to) == 0)
        owmc_reg_peer_health_sent(self->reg, p);
}

/* Once a tick: when the down set changed, every connected node hears it
 * once (a storm of changes within the tick is one message per node). */
static void peer_health_due(owmc_coord *self, double now)
{
    if (owmc_reg_update_down(self->reg, now))
        log_debug("peer health: %zu of %zu nodes down", owmc_reg_down_count(self->reg),
                  owmc_reg_count(self->reg));
    for (size_t i = 0; i < owmc_reg_count(self->reg); i++)
        send_peer_health(self, owmc_reg_peer(self->reg, i), now);
}

/* ------------------------------------------------------------ authentication */

static int allow_key(void *arg, const char *key, const char *address)
{
    owmc_coord *self = arg;
    if (strcmp(key, self->own_key) == 0 || owm_mesh_node_by_key(self->mesh, key))
        return 1;
    double now = owp_clock_monotonic();
    refused_key *slot = &self->refused[0];
    for (size_t i = 0; i < REFUSED_SLOTS; i++) {
        if (strcmp(self->refused[i].key, key) == 0) {
            slot = &self->refused[i];
            break;
        }
        if (self->refused[i].at < slot->at)
            slot = &self->refused[i];
    }
    if (strcmp(slot->key, key) != 0 || now - slot->at > REFUSED_QUIET) {
        log_warn("refused connection from %s: CURVE key %s is not in %s", address, key,
                      self->mesh_path);
        snprintf(slot->key, sizeof slot->key, "%s", key);
        slot->at = now;
    }
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
    who->node = owm_mesh_node_by_key(self->mesh, who->key);
    if (who->node) {
        who->peer = owmc_reg_peer(self->reg, who->node->index);
        snprintf(who->label, sizeof who->label, "node %s (%s)", who->node->name, who->address);
    } else if (strcmp(who->key, self->own_key) == 0) {
        who->operator = 1;
        snprintf(who->label, sizeof who->label, "operator %s", who->address);
    } else {
        snprintf(who->label, sizeof who->label, "key %s (%s), no longer in the mesh", who->key,
                 who->address);
        return -1;
    }
    return 0;
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
    send_error(self, route, OWMESH__ERROR_CODE__ERROR_REFUSED, text, who->label);
    return 0;
}

static void on_hello(owmc_coord *self, zframe_t *route, const sender *who,
                     const Owmesh__Hello *h, double now)
{
    if (!name_matches(self, route, who, "Hello", h->node))
        return;
    owmc_peer *p = who->peer;
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
    send_peer_health(self, p, now);
}

static void on_ack(const sender *who, const Owmesh__ScheduleAck *a, double now)
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
                      Owmesh__Envelope **env, double now)
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
        send_error(self, route, OWMESH__ERROR_CODE__ERROR_NOT_REGISTERED,
                   "coordinator does not know you yet: send Hello", who->label);
    }
}

static void on_error(const sender *who, const Owmesh__Error *e)
{
    owmc_peer *p = who->peer;
    /* A node older than minor version 2 does not know PeerHealth: stop
     * sending it, and say so once rather than at every change. */
    if (p && p->peer_health_sent && e->code == OWMESH__ERROR_CODE__ERROR_UNKNOWN_MESSAGE) {
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
                              const Owmesh__StatusRequest *q, uint32_t minor, double now)
{
    owp_err err = {0};
    Owmesh__Envelope *env =
        owmc_reg_status_reply(self->reg, q, self->generation, now, wall_now(), minor, &err);
    if (!env) {
        send_error(self, route, OWMESH__ERROR_CODE__ERROR_NOT_FOUND, err.msg, who->label);
        return;
    }
    size_t size = owmesh__envelope__get_packed_size(env);
    if (size > OWM_MSG_MAX_SIZE) {
        char text[200];
        snprintf(text, sizeof text, "StatusReply for %zu nodes would be %zu bytes, over the "
                 "limit of %u: ask for fewer nodes", env->status_reply->n_nodes, size,
                 OWM_MSG_MAX_SIZE);
        send_error(self, route, OWMESH__ERROR_CODE__ERROR_REFUSED, text, who->label);
    } else {
        send_env(self, route, env, who->label);
    }
    owm_msg_free(&env);
    log_debug("%s: status request %llu answered", who->label,
                   (unsigned long long)q->request_id);
}

static void on_directory_request(owmc_coord *self, zframe_t *route, const sender *who)
{
    owp_err err = {0};
    Owmesh__Envelope *env = owmc_reg_directory(self->reg, self->generation, &err);
    if (!env) {
        log_err("%s: directory not built: %s", who->label, err.msg);
        send_error(self, route, OWMESH__ERROR_CODE__ERROR_INTERNAL, err.msg, who->label);
        return;
    }
    send_env(self, route, env, who->label);
    owm_msg_free(&env);
}

/* ------------------------------------------------------------ dispatch */

static int needs_node(Owmesh__Envelope__BodyCase kind)
{
    return kind == OWMESH__ENVELOPE__BODY_HELLO || kind == OWMESH__ENVELOPE__BODY_SCHEDULE_ACK ||
           kind == OWMESH__ENVELOPE__BODY_STATUS;
}

static void dispatch(owmc_coord *self, zframe_t *route, const sender *who, Owmesh__Envelope **env,
                     double now)
{
    Owmesh__Envelope *e = *env;
    if (needs_node(e->body_case) && !who->node) {
        log_warn("%s: sent %s, which only nodes may send", who->label,
                      owm_msg_kind_name(e->body_case));
        send_error(self, route, OWMESH__ERROR_CODE__ERROR_UNEXPECTED,
                   "only mesh nodes send Hello, ScheduleAck and Status", who->label);
        return;
    }
    /* Only the node plane counts as hearing from the node: `owmesh status`
     * run with a node's key must neither mark it alive nor take over the
     * connection its schedules go to. */
    int node_plane = needs_node(e->body_case) || e->body_case == OWMESH__ENVELOPE__BODY_ERROR;
    if (who->peer && node_plane) {
        if (owmc_reg_heard(who->peer, route, now, wall_now(), NULL) != OWP_OK)
            log_err("%s: out of memory", who->label);
        who->peer->minor = e->minor;
    }
    switch (e->body_case) {
    case OWMESH__ENVELOPE__BODY_HELLO:
        on_hello(self, route, who, e->hello, now);
        break;
    case OWMESH__ENVELOPE__BODY_SCHEDULE_ACK:
        on_ack(who, e->schedule_ack, now);
        break;
    case OWMESH__ENVELOPE__BODY_STATUS:
        on_status(self, route, who, env, now);
        break;
    case OWMESH__ENVELOPE__BODY_ERROR:
        on_error(who, e->error);
        break;
    case OWMESH__ENVELOPE__BODY_STATUS_REQUEST:
        on_status_request(self, route, who, e->status_request, e->minor, now);
        break;
    case OWMESH__ENVELOPE__BODY_DIRECTORY_REQUEST:
        on_directory_request(self, route, who);
        break;
    default:
        log_warn("%s: unexpected %s", who->label, owm_msg_kind_name(e->body_case));
        send_error(self, route, OWMESH__ERROR_CODE__ERROR_UNEXPECTED,
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
        send_error(self, route, OWMESH__ERROR_CODE__ERROR_UNKNOWN_NODE,
                   "your CURVE key is not in the coordinator's mesh", who.label);
        zframe_destroy(&route);
        return;
    }
    owp_err err = {0};
    Owmesh__ErrorCode why = OWMESH__ERROR_CODE__ERROR_MALFORMED;
    Owmesh__Envelope *env = NULL;
    if (owm_msg_decode_frame(body, &env, &why, &err) != OWP_OK) {
        log_warn("%s: %s", who.label, err.msg);
        send_error(self, route, why, err.msg, who.label);
    } else {
        dispatch(self, route, &who, &env, owp_clock_monotonic());
    }
    owm_msg_free(&env);
    zframe_destroy(&route);
}

static int on_router(zloop_t *loop, zsock_t *router, void *arg)
{
    (void)loop;
    owmc_coord *self = arg;
    for (int i = 0; i < BATCH && (zsock_events(router) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv(router);
        if (!msg)
            return zsys_interrupted ? -1 : 0;
        handle_message(self, msg);
        zmsg_destroy(&msg);
    }
    return 0;
}

static int on_zap(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    return owm_zap_handle(arg) < 0 && zsys_interrupted ? -1 : 0;
}

/* ------------------------------------------------------------ reload */

static void node_removed(void *arg, owmc_peer *gone)
{
    owmc_coord *self = arg;
    const char *name = gone->plan->node->name;
    if (!gone->route) {
        log_info("node %s: left the mesh", name);
        return;
    }
    owp_err err = {0};
    Owmesh__Envelope *env = owmc_plan_empty_schedule(name, self->generation, &err);
    char to[100];
    snprintf(to, sizeof to, "node %s", name);
    if (env && send_env(self, gone->route, env, to) == 0)
        log_info("node %s: left the mesh: sent it an empty schedule (generation %llu)", name,
                      (unsigned long long)self->generation);
    else
        log_warn("node %s: left the mesh; its empty schedule was not sent", name);
    owm_msg_free(&env);
}

/* Which nodes the new plan changes, and how many. */
static size_t count_changes(const owmc_plan *old_plan, const owmc_plan *new_plan)
{
    size_t changed = 0;
    for (size_t i = 0; i < owmc_plan_node_count(new_plan); i++)
        if (owmc_plan_change(old_plan, new_plan, owmc_plan_node(new_plan, i)->node->name) !=
            OWMC_UNCHANGED)
            changed++;
    for (size_t i = 0; i < owmc_plan_node_count(old_plan); i++)
        if (!owmc_plan_find(new_plan, owmc_plan_node(old_plan, i)->node->name))
            changed++;
    return changed;
}

static void reload(owmc_coord *self, const char *why)
{
    owp_err err = {0};
    owm_mesh *mesh;
    owmc_plan *plan;
    double seconds = 0;
    if (load_plan(self->mesh_path, &mesh, &plan, &seconds, &err) != OWP_OK) {
        log_err("reload (%s) failed: %s; still running generation %llu", why, err.msg,
                     (unsigned long long)self->generation);
        return;
    }
    log_mesh_warnings(mesh);
    size_t changes = count_changes(self->plan, plan);
    uint64_t generation = changes ? next_generation(self->generation) : self->generation;
    uint64_t previous = self->generation;
    self->generation = generation; /* node_removed() sends this one */
    if (owmc_reg_apply_plan(self->reg, plan, generation, node_removed, self, &err) < 0) {
        self->generation = previous;
        log_err("reload (%s) failed: %s; still running generation %llu", why, err.msg,
                     (unsigned long long)previous);
        owmc_plan_destroy(&plan);
        owm_mesh_destroy(&mesh);
        return;
    }
    owmc_plan_destroy(&self->plan);
    owm_mesh_destroy(&self->mesh);
    self->plan = plan;
    self->mesh = mesh;
    log_info("reloaded %s (%s): %zu nodes, %zu streams, computed in %.3f s; %zu node "
                  "schedules changed%s%llu", self->mesh_path, why, owm_mesh_node_count(mesh),
                  owm_mesh_stream_count(mesh), seconds, changes,
                  changes ? ": generation " : ", generation stays ",
                  (unsigned long long)generation);
    for (size_t i = 0; i < owmc_reg_count(self->reg); i++) {
        owmc_peer *p = owmc_reg_peer(self->reg, i);
        if (p->expected_gen == generation && changes)
            log_info("node %s: new schedule (%zu streams), generation %llu",
                          p->plan->node->name, p->plan->n_streams,
                          (unsigned long long)generation);
    }
    push_due(self, owp_clock_monotonic());
}

static void check_reload(owmc_coord *self)
{
    file_id now = identify(self->mesh_path);
    if (reload_requested) {
        reload_requested = 0;
        self->watched = now;
        reload(self, "SIGHUP");
    } else if (!same_file(&now, &self->watched)) {
        self->watched = now;
        if (now.ok)
            reload(self, "file changed");
        else
            log_warn("%s: gone; still running generation %llu", self->mesh_path,
                          (unsigned long long)self->generation);
    }
}

/* ------------------------------------------------------------ health logging */

static void log_stream(const owmc_peer *p, size_t i, owmc_verdict v, owmc_verdict was,
                       const char *why)
{
    const owm_stream *s = p->plan->streams[i];
    const Owmesh__StreamHealth *h = owmc_reg_health(p, s->id);
    /* the evidence of these already quotes the node's error */
    const char *said = v == OWMC_V_UNMEASURED || v == OWMC_V_FAILING || !h ? "" : h->last_error;
    if (owmc_verdict_is_problem(v))
        log_warn("stream %s %s -> %s: %s%s%s%s%s", s->id, s->src->name, s->dst->name,
                      owmc_verdict_name(v), why[0] ? ": " : "", why,
                      said[0] ? "; node says: " : "", said);
    else if (owmc_verdict_is_problem(was))
        log_info("stream %s %s -> %s: %s again (was %s)", s->id, s->src->name,
                      s->dst->name, owmc_verdict_name(v), owmc_verdict_name(was));
}

static void check_health(owmc_coord *self, double now)
{
    /* Nodes get one node timeout after start-up to connect before they are
     * reported missing. */
    int settled = now - self->started > self->node_timeout;
    for (size_t n = 0; n < owmc_reg_count(self->reg); n++) {
        owmc_peer *p = owmc_reg_peer(self->reg, n);
        const char *name = p->plan->node->name;
        int missing = owmc_reg_node_missing(self->reg, p, now);
        if (missing && !p->missing && (settled || p->last_seen >= 0)) {
            if (p->last_seen < 0)
                log_warn("node %s: missing: never connected; its %zu streams are not "
                              "measured", name, p->plan->n_streams);
            else
                log_warn("node %s: missing: nothing heard for %.0f s; its %zu streams "
                              "are not measured", name, now - p->last_seen, p->plan->n_streams);
            p->missing = 1;
        } else if (!missing && p->missing) {
            log_info("node %s: back", name);
            p->missing = 0;
        }
        if (missing || !p->status)
            continue;
        for (size_t i = 0; i < p->plan->n_streams; i++) {
            char why[OWMC_EVIDENCE_MAX];
            owmc_verdict v = owmc_reg_stream_verdict(self->reg, p, i, now, why, sizeof why);
            owmc_verdict was = (owmc_verdict)p->verdicts[i];
            if (v != was && (owmc_verdict_is_problem(v) || owmc_verdict_is_problem(was)))
                log_stream(p, i, v, was, why);
            p->verdicts[i] = (unsigned char)v;
        }
    }
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    owmc_coord *self = arg;
    check_reload(self);
    double now = owp_clock_monotonic();
    push_due(self, now);
    peer_health_due(self, now);
    if (now - self->last_health >= HEALTH_EVERY) {
        self->last_health = now;
        check_health(self, now);
    }
    return 0;
}

/* ------------------------------------------------------------ run */

void owmc_coord_request_reload(void)
{
    reload_requested = 1;
}

static int bind_router(owmc_coord *self)
{
    owp_err err = {0};
    self->auth = owm_zap_new(allow_key, self, &err);
    if (!self->auth) {
        log_err("%s", err.msg);
        return -1;
    }
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router) {
        log_err("cannot create the ROUTER socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    zcert_apply(self->cert, self->router);
    zsock_set_curve_server(self->router, 1);
    zsock_set_zap_domain(self->router, "owmesh");
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_sndtimeo(self->router, 0);
    zsock_set_maxmsgsize(self->router, (int64_t)OWM_MSG_MAX_SIZE + 1024);
    zsock_set_linger(self->router, 0);
    if (zsock_bind(self->router, "%s", self->endpoint) < 0) {
        log_err("cannot bind %s: %s", self->endpoint, zmq_strerror(zmq_errno()));
        return -1;
    }
    log_info("listening on %s (CURVE, server key %s)", self->endpoint, self->own_key);
    return 0;
}

int owmc_coord_run(owmc_coord *self)
{
    if (bind_router(self) != 0)
        return 1;
    self->loop = zloop_new();
    if (!self->loop)
        return 1;
    self->started = owp_clock_monotonic();
    self->last_health = self->started;
    zloop_reader(self->loop, owm_zap_socket(self->auth), on_zap, self->auth);
    zloop_reader(self->loop, self->router, on_router, self);
    zloop_timer(self->loop, TICK_MS, 0, on_tick, self);
    /* zloop_start returns on any EINTR: go on after SIGHUP, stop on
     * SIGINT/SIGTERM (czmq's handler sets zsys_interrupted) or a handler's -1. */
    while (zloop_start(self->loop) == 0 && !zsys_interrupted)
        ;
    log_info("stopping (generation %llu)", (unsigned long long)self->generation);
    return 0;
}
