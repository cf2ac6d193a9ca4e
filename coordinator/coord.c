/* coord.c - the coordinator daemon: loading and reloading the mesh, the
 * ROUTER, the loop and its tick (see coord.h; messages in coord_messages.c,
 * health in coord_health.c). */
#include "coord_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon_log.h"
#include "timestamp.h"

#define TICK_MS 1000          /* file watch, due pushes */
#define HEALTH_EVERY 5.0      /* seconds between health log passes */

/* ------------------------------------------------------------ clocks */

uint64_t owmc_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return owp_ntp_from_timespec(&ts);
}

uint64_t owmc_next_generation(uint64_t previous)
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

/* The keys besides the nodes' that the mesh admits, and what they may do. */
static void log_clients(const owm_mesh *mesh)
{
    size_t n[2] = {0, 0};
    for (size_t i = 0; i < owm_mesh_client_count(mesh); i++)
        n[owm_mesh_client(mesh, i)->role == OWM_ROLE_ANALYST]++;
    log_info("%s: %zu collector%s (directory, status, data pulls), %zu analyst%s (directory, "
             "status)%s", owm_mesh_source(mesh), n[0], n[0] == 1 ? "" : "s", n[1],
             n[1] == 1 ? "" : "s",
             n[0] ? "" : ": no collector may pull data (list them under \"collectors\")");
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
    self->cert = owm_curve_load(config->cert_path, 1, err);
    if (!self->cert) {
        owmc_coord_destroy(&self);
        return NULL;
    }
    snprintf(self->own_key, sizeof self->own_key, "%s", zcert_public_txt(self->cert));
    owm_ratelimit_init(&self->refused, OWM_RATELIMIT_PERIOD);
    self->watched = identify(self->mesh_path);
    double seconds = 0;
    if (load_plan(self->mesh_path, &self->mesh, &self->plan, &seconds, err) != OWP_OK) {
        owmc_coord_destroy(&self);
        return NULL;
    }
    self->generation = owmc_next_generation(0);
    self->reg = owmc_reg_new(self->plan, self->generation, self->node_timeout, err);
    self->assign = self->reg ? owmc_assign_new(self->mesh, owp_clock_monotonic(), err) : NULL;
    if (!self->reg || !self->assign) {
        owmc_coord_destroy(&self);
        return NULL;
    }
    log_mesh_warnings(self->mesh);
    log_info("%s: %zu nodes, %zu streams; schedules computed in %.3f s, generation %llu",
                  self->mesh_path, owm_mesh_node_count(self->mesh),
                  owm_mesh_stream_count(self->mesh), seconds,
                  (unsigned long long)self->generation);
    log_clients(self->mesh);
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
    daemon_loop_destroy(&self->loop);
    zframe_destroy(&self->peer_health);
    owm_monitor_destroy(&self->monitor);
    zsock_destroy(&self->router);
    owm_zap_destroy(&self->auth);
    owmc_assign_destroy(&self->assign);
    owmc_reg_destroy(&self->reg);
    owmc_plan_destroy(&self->plan);
    owm_mesh_destroy(&self->mesh);
    zcert_destroy(&self->cert);
    free(self->mesh_path);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
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
    owm_msg *env = owmc_plan_empty_schedule(name, self->generation, &err);
    char to[100];
    snprintf(to, sizeof to, "node %s", name);
    if (env && owmc_send_env(self, gone->route, env, to) == 0)
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
    log_clients(mesh);
    size_t changes = count_changes(self->plan, plan);
    uint64_t generation = changes ? owmc_next_generation(self->generation) : self->generation;
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
    owmc_collectors_reload(self, mesh, owp_clock_monotonic()); /* reads the old mesh too */
    owmc_plan_destroy(&self->plan);
    owm_mesh_destroy(&self->mesh);
    self->plan = plan;
    self->mesh = mesh;
    owmc_collectors_update(self, owp_clock_monotonic());
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
    owmc_push_due(self, owp_clock_monotonic());
}

static void check_reload(owmc_coord *self)
{
    file_id now = identify(self->mesh_path);
    if (!same_file(&now, &self->watched)) {
        self->watched = now;
        if (now.ok)
            reload(self, "file changed");
        else
            log_warn("%s: gone; still running generation %llu", self->mesh_path,
                          (unsigned long long)self->generation);
    }
}

/* SIGHUP: reload whether or not the file changed. */
static void on_sighup(daemon_loop *loop, void *arg)
{
    (void)loop;
    owmc_coord *self = arg;
    self->watched = identify(self->mesh_path);
    reload(self, "SIGHUP");
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    owmc_coord *self = arg;
    check_reload(self);
    double now = owp_clock_monotonic();
    owmc_collectors_update(self, now);
    owmc_push_due(self, now);
    owmc_peer_health_due(self, now);
    if (now - self->last_health >= HEALTH_EVERY) {
        self->last_health = now;
        owmc_check_health(self, now);
    }
    return 0;
}

/* ------------------------------------------------------------ run */

static int bind_router(owmc_coord *self)
{
    owp_err err = {0};
    self->auth = owm_zap_new(owmc_allow_key, self, &err);
    if (!self->auth) {
        log_err("%s", err.msg);
        return -1;
    }
    owm_zap_set_log(self->auth, daemon_log_callback, NULL);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router) {
        log_err("cannot create the ROUTER socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    /* Before binding: a plaintext client or a wrong server key never
     * reaches ZAP, only the monitor hears of it. */
    self->monitor = owm_monitor_new(self->router, "coordinator", daemon_log_callback, NULL, &err);
    if (!self->monitor) {
        log_err("%s", err.msg);
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
    owp_err err = {0};
    self->loop = daemon_loop_new(&err); /* first: the signals are ours, not czmq's */
    if (!self->loop) {
        log_err("%s", err.msg);
        return 1;
    }
    if (bind_router(self) != 0)
        return 1;
    self->started = owp_clock_monotonic();
    self->last_health = self->started;
    daemon_loop_on_reload(self->loop, on_sighup, self);
    daemon_loop_reader(self->loop, owm_zap_socket(self->auth), owmc_on_zap, self->auth);
    daemon_loop_reader(self->loop, owm_monitor_socket(self->monitor), owmc_on_monitor,
                       self->monitor);
    daemon_loop_reader(self->loop, self->router, owmc_on_router, self);
    daemon_loop_timer(self->loop, TICK_MS, on_tick, self);
    daemon_loop_run(self->loop); /* until SIGINT/SIGTERM */
    log_info("stopping (generation %llu)", (unsigned long long)self->generation);
    return 0;
}
