/* agent_loop.c - owmesh-node's schedules, its conversation with the
 * coordinator and its loop (see agent_loop.h). */
#include "agent_loop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_store.h"
#include "clock.h"
#include "meshmsg.h"

#define HEARTBEAT_S 3.0       /* Status every ... */
#define SPOOL_RETRY_S 1.0     /* files a full disk held back retried every ... */
#define STATUS_MIN_GAP_S 0.5  /* ... and at once on a state change, at most this often */
#define HELLO_MIN_GAP_S 1.0   /* re-registration when the coordinator forgot us */
#define POLL_MS 200
#define BUSY_POLL_MS 5        /* while the data endpoint is sending */
#define NODE_DOWN_MIN_S 5.0   /* a shorter gap before the first session is not an outage */

/* ------------------------------------------------------------------ heartbeat */

void agent_write_heartbeat(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    a->alive_written = now;
    if (agent_store_save_alive(a->alive_path, owp_clock_now(NULL), &err) != OWP_OK)
        log_warn("node %s: heartbeat: %s", a->opt.node, err.msg);
}

/* ------------------------------------------------------------------ schedules */

static void modes_text(uint32_t modes, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", modes & 4u ? "E" : "", modes & 2u ? "A" : "",
             modes & 1u ? "O" : "");
}

/* The owamp server as the schedule asks (fields it leaves empty: ours). */
static void apply_owamp_server(agent *a, const owm_msg_owamp_server *srv)
{
    const char *listen = a->opt.owamp_address;
    char ports[32], modes[8];
    snprintf(ports, sizeof ports, "%s", a->opt.testports ? a->opt.testports : "");
    modes[0] = '\0';
    if (srv) {
        if (srv->listen && srv->listen[0])
            listen = srv->listen;
        if (srv->test_port_low)
            snprintf(ports, sizeof ports, "%u-%u", srv->test_port_low, srv->test_port_high);
        if (srv->modes)
            modes_text(srv->modes, modes, sizeof modes);
    }
    agent_owampd_reconfigure(a->owampd, listen, ports, modes);
    agent_owampd_release(a->owampd);
}

/* The streams learn the coordinator's set of nodes down (none before the
 * link is up, or after it went down). */
static void tell_streams_peers(agent *a)
{
    const char *const *down = NULL;
    size_t n = a->link ? agent_link_peers_down(a->link, &down) : 0;
    agent_streams_set_peers_down(a->streams, down, n);
}

/* The collectors the data endpoint serves are those of the schedule we run. */
static void adopt_collectors(agent *a, const owm_msg_schedule *s)
{
    if (agent_data_collectors_from(s, a->collectors, AGENT_DATA_MAX_COLLECTORS, &a->n_collectors))
        log_warn("node %s: the schedule lists %zu collectors: only the first %d may pull data",
                 a->opt.node, s->n_collectors, AGENT_DATA_MAX_COLLECTORS);
    if (a->data)
        agent_data_set_collectors(a->data, a->collectors, a->n_collectors);
}

/* ------------------------------------------------------------------ the data endpoint */

static int add_data_readers(agent *a);

/* Where the data endpoint belongs now; NULL: nowhere. */
static const char *wanted_data_endpoint(const agent *a)
{
    switch (a->data_source) {
    case AGENT_DATA_FROM_OPTION: return a->opt.data_endpoint;
    case AGENT_DATA_OFF: return NULL;
    case AGENT_DATA_FROM_MESH: break;
    }
    if (a->mesh_data_endpoint[0])
        return a->mesh_data_endpoint;
    return a->default_data_endpoint[0] ? a->default_data_endpoint : NULL;
}

static const char *data_source_text(const agent *a, const char *endpoint)
{
    if (a->data_source == AGENT_DATA_FROM_OPTION)
        return "-D";
    return strcmp(endpoint, a->mesh_data_endpoint) == 0 ? "the mesh's data-endpoint"
                                                        : "the default";
}

static agent_data *open_data(agent *a, const char *endpoint, owp_err *err)
{
    agent_data_config dc = {
        .node = a->opt.node, .endpoint = endpoint, .cert = a->cert, .spool = a->spool,
        .retention_s = a->opt.retention_s, .budget_bytes = a->opt.budget_bytes,
        .n_keys = a->opt.n_collector_keys,
    };
    /* The collectors of the mesh come with the schedule; the coordinator's
     * key pulls nothing (issue 11). */
    for (size_t i = 0; i < dc.n_keys; i++)
        dc.keys[i] = a->opt.collector_keys[i];
    return agent_data_new(&dc, err);
}

int agent_start_data(agent *a)
{
    const char *endpoint = wanted_data_endpoint(a);
    if (!endpoint)
        return 0;
    owp_err err;
    owp_err_clear(&err);
    a->data = open_data(a, endpoint, &err);
    if (!a->data && endpoint == a->mesh_data_endpoint && a->default_data_endpoint[0]) {
        log_err("node %s: cannot serve where the mesh says: %s: serving on the default %s",
                a->opt.node, err.msg, a->default_data_endpoint);
        owp_err_clear(&err);
        endpoint = a->default_data_endpoint;
        a->data = open_data(a, endpoint, &err);
    }
    if (!a->data && a->data_source == AGENT_DATA_FROM_MESH) {
        /* Measurement goes on; the mesh may name a free endpoint. */
        log_err("node %s: %s: not serving the spool for now (tried again with every schedule)",
                a->opt.node, err.msg);
        return 0;
    }
    if (!a->data) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    log_info("node %s: data endpoint %s (%s): serving the spool to the collectors the mesh "
             "lists and %zu -A key%s", a->opt.node, endpoint, data_source_text(a, endpoint),
             a->opt.n_collector_keys, a->opt.n_collector_keys == 1 ? "" : "s");
    agent_data_set_collectors(a->data, a->collectors, a->n_collectors);
    if (a->loop && add_data_readers(a) != 0) {
        log_err("node %s: data endpoint %s: cannot poll it", a->opt.node, endpoint);
        agent_data_destroy(&a->data);
        return -1;
    }
    return 0;
}

/* Without -D, serve where the schedule's mesh says (rebinding); with -D,
 * say that the mesh disagrees. Only once the loop runs: at start-up,
 * agent_start_data reads mesh_data_endpoint. */
static void adopt_data_endpoint(agent *a, const owm_msg_schedule *s)
{
    const char *mesh = s->data_endpoint ? s->data_endpoint : "";
    int changed = strcmp(mesh, a->mesh_data_endpoint) != 0;
    snprintf(a->mesh_data_endpoint, sizeof a->mesh_data_endpoint, "%s", mesh);
    if (a->data_source == AGENT_DATA_FROM_OPTION && changed && mesh[0] &&
        strcmp(mesh, a->opt.data_endpoint) != 0)
        log_warn("node %s: the mesh's data-endpoint for this node is %s, -D says %s: serving "
                 "on %s", a->opt.node, mesh, a->opt.data_endpoint, a->opt.data_endpoint);
    if (a->data_source == AGENT_DATA_OFF && changed && mesh[0])
        log_warn("node %s: the mesh's data-endpoint for this node is %s: not served (-D none)",
                 a->opt.node, mesh);
    const char *want = wanted_data_endpoint(a);
    if (a->data_source != AGENT_DATA_FROM_MESH || !a->loop || !want)
        return;
    if (!a->data) {
        agent_start_data(a);
        a->hello_due = a->data != NULL;
        return;
    }
    if (strcmp(want, agent_data_endpoint(a->data)) == 0)
        return;
    owp_err err;
    owp_err_clear(&err);
    if (agent_data_rebind(a->data, want, &err) != OWP_OK)
        log_err("node %s: %s", a->opt.node, err.msg);
    else
        a->hello_due = 1;
}

/* ------------------------------------------------------------------ running a schedule */

int agent_run_schedule(agent *a, const owm_msg_schedule *s, const char *origin)
{
    owp_err err;
    owp_err_clear(&err);
    agent_apply_result r;
    if (agent_streams_apply(a->streams, s->streams, s->n_streams, &r, &err) != OWP_OK) {
        log_err("node %s: schedule generation %" PRIu64 ": %s", a->opt.node, s->generation,
                err.msg);
        return -1;
    }
    apply_owamp_server(a, s->owamp_server);
    a->generation = s->generation;
    adopt_collectors(a, s);
    adopt_data_endpoint(a, s);
    log_info("node %s: running schedule generation %" PRIu64 " (%s): %zu streams: %zu kept "
             "running, %zu started, %zu stopped (%zu of them changed), %zu failed",
             a->opt.node, s->generation, origin, s->n_streams, r.kept, r.started, r.stopped,
             r.changed, r.failed);
    tell_streams_peers(a);
    if (a->last_alive) { /* the first schedule since start-up */
        size_t n = agent_streams_record_node_down(a->streams, a->last_alive, NODE_DOWN_MIN_S);
        if (n)
            log_info("node %s: the time this node was down is recorded as unmeasured for %zu "
                     "stream%s", a->opt.node, n, n == 1 ? "" : "s");
        a->last_alive = 0;
    }
    return 0;
}

int agent_resume_saved_schedule(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    owm_msg *env = NULL;
    if (agent_store_load_schedule(a->schedule_path, &env, &err) != OWP_OK) {
        log_warn("node %s: saved schedule unusable, starting without one: %s", a->opt.node,
                 err.msg);
        owp_err_clear(&err);
        if (agent_store_set_aside(a->schedule_path, &err) != OWP_OK)
            log_warn("node %s: %s", a->opt.node, err.msg);
        return 0;
    }
    if (!env) {
        log_info("node %s: no saved schedule: waiting for the coordinator", a->opt.node);
        return 0;
    }
    int ours = strcmp(env->schedule->node, a->opt.node) == 0;
    if (!ours)
        log_warn("node %s: saved schedule is for node \"%s\": ignored", a->opt.node,
                 env->schedule->node);
    else
        agent_run_schedule(a, env->schedule, "saved");
    owm_msg_free(&env);
    return ours;
}

static void send_msg(agent *a, owm_msg *env)
{
    owp_err err;
    owp_err_clear(&err);
    if (env && agent_link_send(a->link, env, &err) != OWP_OK)
        log_debug("node %s: %s", a->opt.node, err.msg);
    else if (!env)
        log_err("node %s: building a message: out of memory", a->opt.node);
}

static void send_ack(agent *a, uint64_t generation, int accepted, const char *why)
{
    owp_err err;
    owp_err_clear(&err);
    char text[OWM_MSG_MAX_TEXT + 1];
    agent_streams_clean_text(text, sizeof text, why ? why : "");
    owm_msg *env = owm_msg_new_schedule_ack(generation, accepted, text, &err);
    send_msg(a, env);
    owm_msg_free(&env);
}

static void send_hello(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    owm_msg *env = owm_msg_new_hello(a->opt.node, AGENT_PROGNAME " " PACKAGE_VERSION,
                                     a->opt.owamp_address,
                                     a->data ? agent_data_endpoint(a->data) : "",
                                     a->generation, &err);
    send_msg(a, env);
    owm_msg_free(&env);
    a->last_hello = now;
    a->hello_due = 0;
    log_info("node %s: hello sent (running generation %" PRIu64 ")", a->opt.node, a->generation);
}

static void send_status(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    a->last_status = now;
    owm_msg *env = owm_msg_new(OWM_MSG_STATUS, &err);
    if (!env || owm_msg_set_string(&env->status->node, a->opt.node, &err) != OWP_OK ||
        agent_streams_fill_status(a->streams, env->status, &err) != OWP_OK) {
        log_err("node %s: status: %s", a->opt.node, err.msg);
        owm_msg_free(&env);
        return;
    }
    env->status->generation = a->generation;
    env->status->time = owp_clock_now(NULL);
    send_msg(a, env);
    owm_msg_free(&env);
}

static void handle_schedule(agent *a, const owm_msg_schedule *s, double now)
{
    char why[OWM_MSG_MAX_TEXT];
    if (strcmp(s->node, a->opt.node) != 0) {
        snprintf(why, sizeof why, "schedule for node \"%s\" sent to node \"%s\"", s->node,
                 a->opt.node);
        log_warn("node %s: refused: %s", a->opt.node, why);
        send_ack(a, s->generation, 0, why);
        return;
    }
    if (s->generation < a->generation) {
        snprintf(why, sizeof why, "stale schedule: generation %" PRIu64 " is older than the "
                 "running generation %" PRIu64, s->generation, a->generation);
        log_warn("node %s: refused: %s", a->opt.node, why);
        send_ack(a, s->generation, 0, why);
        return;
    }
    uint64_t before = a->generation;
    if (agent_run_schedule(a, s, "from the coordinator") != 0) {
        send_ack(a, s->generation, 0, "the node could not apply the schedule (see its log)");
        return;
    }
    if (s->generation != before) {
        owp_err err;
        owp_err_clear(&err);
        if (agent_store_save_schedule(a->schedule_path, s, &err) != OWP_OK)
            log_err("node %s: saving the schedule: %s (it runs, but a restart would not "
                    "resume it)", a->opt.node, err.msg);
    }
    send_ack(a, s->generation, 1, NULL);
    send_status(a, now);
}

/* The coordinator says we are not part of its mesh: stop measuring. */
static void leave_mesh(agent *a, const char *text)
{
    log_err("node %s: the coordinator does not know this node (%s): stopping every stream",
            a->opt.node, text);
    owp_err err;
    owp_err_clear(&err);
    agent_apply_result r;
    agent_streams_apply(a->streams, NULL, 0, &r, &err);
    if (unlink(a->schedule_path) != 0 && errno != ENOENT)
        log_warn("node %s: removing %s: %s", a->opt.node, a->schedule_path, strerror(errno));
}

static void handle_error(agent *a, const owm_msg_error *e, double now)
{
    const char *code = owm_msg_error_code_name(e->code);
    switch (e->code) {
    case OWM_ERROR_NOT_REGISTERED:
        log_info("node %s: coordinator: %s (%s): registering again", a->opt.node, code, e->text);
        if (now - a->last_hello >= HELLO_MIN_GAP_S)
            send_hello(a, now);
        break;
    case OWM_ERROR_UNKNOWN_NODE:
        leave_mesh(a, e->text);
        break;
    default:
        log_warn("node %s: coordinator: %s: %s", a->opt.node, code, e->text);
        break;
    }
}

static void handle_peer_health(agent *a, const owm_msg_peer_health *m)
{
    owp_err err;
    owp_err_clear(&err);
    int changed = 0;
    if (agent_link_set_peer_health(a->link, m, &changed, &err) != OWP_OK) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return;
    }
    if (!changed)
        return;
    char list[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < m->n_down && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 m->down[i]);
    log_info("node %s: the coordinator reports %s%s", a->opt.node,
             m->n_down ? "nodes down: " : "every node up", list);
    tell_streams_peers(a);
}

static void handle_message(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    owm_msg *env = NULL;
    owm_error_code why = OWM_ERROR_MALFORMED;
    if (agent_link_recv(a->link, &env, &why, &err) != OWP_OK) {
        if (err.code == OWP_ERR_INTERRUPTED)
            return;
        log_warn("node %s: %s", a->opt.node, err.msg);
        owm_msg *reply = owm_msg_new_error(why, err.msg, &err);
        send_msg(a, reply);
        owm_msg_free(&reply);
        return;
    }
    switch (env->kind) {
    case OWM_MSG_SCHEDULE:
        handle_schedule(a, env->schedule, now);
        break;
    case OWM_MSG_ERROR:
        handle_error(a, env->error, now);
        break;
    case OWM_MSG_PEER_HEALTH:
        handle_peer_health(a, env->peer_health);
        break;
    default: {
        char text[128];
        snprintf(text, sizeof text, "a node does not take %s messages",
                 owm_msg_kind_name(env->kind));
        log_warn("node %s: coordinator sent %s: answered ERROR_UNEXPECTED", a->opt.node,
                 owm_msg_kind_name(env->kind));
        owm_msg *reply =
            owm_msg_new_error(OWM_ERROR_UNEXPECTED, text, &err);
        send_msg(a, reply);
        owm_msg_free(&reply);
        break;
    }
    }
    owm_msg_free(&env);
}

static void handle_link_event(agent *a, double now)
{
    char detail[512];
    switch (agent_link_read_event(a->link, detail, sizeof detail)) {
    case AGENT_LINK_UP:
        a->refusals = 0;
        log_info("node %s: connected to the coordinator (%s)", a->opt.node, detail);
        send_hello(a, now);
        send_status(a, now);
        break;
    case AGENT_LINK_DOWN:
        log_warn("node %s: lost the coordinator (%s): running generation %" PRIu64
                 " on, reconnecting", a->opt.node, detail, a->generation);
        tell_streams_peers(a); /* what it said about the other nodes is no longer known */
        break;
    case AGENT_LINK_REFUSED:
        /* Every reconnection is refused again: say it the first time, then now and then. */
        if (a->refusals++ % 20 == 0)
            log_err("node %s: the coordinator refused this node's key %s (CURVE authentication "
                    "failed, %s): is it listed for node %s in the mesh?", a->opt.node,
                    zcert_public_txt(a->cert), detail, a->opt.node);
        break;
    case AGENT_LINK_FAILED:
        log_warn("node %s: handshake with the coordinator failed (%s): is -K its public key?",
                 a->opt.node, detail);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ the loop */

static int on_tick(zloop_t *loop, int timer_id, void *arg);

/* The tick's period: BUSY_POLL_MS while the data endpoint is sending. */
static void set_tick_period(agent *a)
{
    size_t ms = a->data && agent_data_busy(a->data) ? BUSY_POLL_MS : POLL_MS;
    if (a->tick_id >= 0 && a->tick_ms == ms)
        return;
    if (a->tick_id >= 0)
        daemon_loop_timer_end(a->loop, a->tick_id);
    a->tick_id = daemon_loop_timer(a->loop, ms, on_tick, a);
    a->tick_ms = ms;
}

/* After every event and every tick period: supervision, timers, heartbeat, Status. */
static void tick(agent *a, double now)
{
    agent_owampd_tick(a->owampd, now);
    if (a->data)
        agent_data_tick(a->data, now);
    if (now - a->alive_written >= AGENT_ALIVE_S)
        agent_write_heartbeat(a, now);
    /* The engines retry after each new file and Status retries too, but a
     * node cut off from its coordinator with its streams stopped must still
     * drain once space returns. */
    if (now - a->spool_retried >= SPOOL_RETRY_S) {
        agent_streams_retry_spool(a->streams);
        a->spool_retried = now;
    }
    int changed = agent_streams_take_changed(a->streams);
    if (a->hello_due && agent_link_is_up(a->link))
        send_hello(a, now); /* the coordinator's directory follows the data endpoint */
    if (agent_link_is_up(a->link) &&
        (now - a->last_status >= HEARTBEAT_S ||
         (changed && now - a->last_status >= STATUS_MIN_GAP_S)))
        send_status(a, now);
    set_tick_period(a);
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tick(arg, owp_clock_monotonic());
    return 0;
}

static void data_request(agent *a, double now)
{
    (void)now;
    agent_data_handle(a->data);
}

static void data_zap_request(agent *a, double now)
{
    (void)now;
    agent_data_handle_zap(a->data);
}

static void data_monitor_event(agent *a, double now)
{
    (void)now;
    agent_data_handle_monitor(a->data);
}

/* Every reader: its event, then a tick (arg: one of agent.readers). */
static int on_readable(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    agent_reader *r = arg;
    double now = owp_clock_monotonic();
    r->handle(r->a, now);
    tick(r->a, now);
    return 0;
}

static void on_sighup(daemon_loop *loop, void *arg)
{
    (void)loop;
    agent *a = arg;
    double now = owp_clock_monotonic();
    log_info("node %s: SIGHUP: registering with the coordinator again", a->opt.node);
    send_hello(a, now);
    tick(a, now);
}

static int add_reader(agent *a, zsock_t *sock, void (*handle)(agent *, double))
{
    agent_reader *r = &a->readers[a->n_readers++];
    r->a = a;
    r->handle = handle;
    return daemon_loop_reader(a->loop, sock, on_readable, r);
}

/* The data endpoint, its ZAP socket and its monitor (added once: a rebind
 * keeps the sockets). */
static int add_data_readers(agent *a)
{
    int rc = add_reader(a, agent_data_socket(a->data), data_request);
    if (agent_data_zap(a->data))
        rc |= add_reader(a, agent_data_zap(a->data), data_zap_request);
    if (agent_data_monitor(a->data))
        rc |= add_reader(a, agent_data_monitor(a->data), data_monitor_event);
    return rc;
}

/* The coordinator link and its monitor; the data endpoint's. */
static int add_readers(agent *a)
{
    int rc = add_reader(a, agent_link_socket(a->link), handle_message);
    rc |= add_reader(a, agent_link_monitor(a->link), handle_link_event);
    if (a->data)
        rc |= add_data_readers(a);
    return rc;
}

int agent_loop_run(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    a->tick_id = -1;
    a->loop = daemon_loop_new(&err);
    if (!a->loop || add_readers(a) != 0) {
        log_err("node %s: cannot create a poller", a->opt.node);
        daemon_loop_destroy(&a->loop);
        return -1;
    }
    daemon_loop_on_reload(a->loop, on_sighup, a);
    set_tick_period(a);
    int rc = daemon_loop_run(a->loop);
    daemon_loop_destroy(&a->loop);
    return rc;
}
