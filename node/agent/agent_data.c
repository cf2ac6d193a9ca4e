/* agent_data.c - the node's data endpoint (see agent_data.h). */
#include "agent_data_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "curve.h"
#include "daemon_log.h"
#include "meshmsg.h"
#include "monitor.h"
#include "ratelimit.h"
#include "zap.h"

#define PEER_IDLE_S 120.0   /* forget a collector's fetches after this much silence */
#define ENFORCE_EVERY_S 5.0

/* ------------------------------------------------------------------ set-up */

static void close_fetch(fetch *f)
{
    if (f->active && f->fd >= 0)
        close(f->fd);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

static void drop_peer(peer *p)
{
    for (size_t i = 0; i < AGENT_DATA_MAX_FETCHES; i++)
        close_fetch(&p->fetches[i]);
    zframe_destroy(&p->identity);
}

static owp_status bind_endpoint(agent_data *self, const char *endpoint, owp_err *err);

agent_data *agent_data_new(const agent_data_config *config, owp_err *err)
{
    agent_data *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "data endpoint: out of memory");
        return NULL;
    }
    self->cfg = *config;
    if (self->cfg.n_keys > AGENT_DATA_MAX_KEYS)
        self->cfg.n_keys = AGENT_DATA_MAX_KEYS;
    for (size_t i = 0; i < self->cfg.n_keys; i++) {
        snprintf(self->keys[i], sizeof self->keys[i], "%s", config->keys[i]);
        self->cfg.keys[i] = self->keys[i];
    }
    for (size_t i = 0; i < AGENT_DATA_MAX_PEERS; i++)
        for (size_t j = 0; j < AGENT_DATA_MAX_FETCHES; j++)
            self->peers[i].fetches[j].fd = -1;
    if (config->cert) {
        self->zap = owm_zap_new(agent_data_allow_collector, self, err);
        if (!self->zap) {
            owp_err_prefix(err, "data endpoint");
            agent_data_destroy(&self);
            return NULL;
        }
        owm_zap_set_log(self->zap, daemon_log_callback, NULL);
    }
    owm_ratelimit_init(&self->refused, OWM_RATELIMIT_PERIOD);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router) {
        owp_err_set(err, OWP_ERR_SYS, "data endpoint: socket: %s", zmq_strerror(zmq_errno()));
        agent_data_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->router, 0);
    zsock_set_router_mandatory(self->router, 1); /* a gone collector: EHOSTUNREACH, not silence */
    zsock_set_sndtimeo(self->router, 0);         /* a full queue: EAGAIN, never block the agent */
    zsock_set_maxmsgsize(self->router, (int64_t)OWM_MSG_MAX_SIZE + 1024);
    if (config->cert) {
        zcert_apply(config->cert, self->router);
        zsock_set_curve_server(self->router, 1);
        zsock_set_zap_domain(self->router, "owmesh-data");
        char who[120];
        snprintf(who, sizeof who, "node %s: data", config->node);
        /* before binding: the first client may be a plaintext one */
        self->monitor = owm_monitor_new(self->router, who, daemon_log_callback, NULL, err);
        if (!self->monitor) {
            agent_data_destroy(&self);
            return NULL;
        }
    }
    if (bind_endpoint(self, config->endpoint, err) != OWP_OK) {
        agent_data_destroy(&self);
        return NULL;
    }
    return self;
}

/* Bind the ROUTER to endpoint too and make it the one we serve (the
 * previous one, if any, is still bound: the caller unbinds it). */
static owp_status bind_endpoint(agent_data *self, const char *endpoint, owp_err *err)
{
    if (!endpoint || !endpoint[0] || strlen(endpoint) > AGENT_DATA_MAX_ENDPOINT)
        return owp_err_set(err, OWP_ERR_INVALID, "data endpoint \"%s\": not a ZeroMQ endpoint "
                           "of at most %u characters", endpoint ? endpoint : "",
                           AGENT_DATA_MAX_ENDPOINT);
    if (zsock_bind(self->router, "%s", endpoint) < 0)
        return owp_err_set(err, OWP_ERR_SYS, "data endpoint %s: cannot bind: %s", endpoint,
                           zmq_strerror(zmq_errno()));
    char *bound = zsock_last_endpoint(self->router);
    snprintf(self->bound, sizeof self->bound, "%s", bound ? bound : endpoint);
    zstr_free(&bound);
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->cfg.endpoint = self->endpoint;
    return OWP_OK;
}

owp_status agent_data_rebind(agent_data *self, const char *endpoint, owp_err *err)
{
    if (endpoint && strcmp(endpoint, self->endpoint) == 0)
        return OWP_OK;
    char old[AGENT_DATA_MAX_ENDPOINT + 1], old_bound[AGENT_DATA_MAX_ENDPOINT + 1];
    snprintf(old, sizeof old, "%s", self->endpoint);
    snprintf(old_bound, sizeof old_bound, "%s", self->bound);
    /* The new one first: if it cannot be bound, the old one still serves. */
    if (bind_endpoint(self, endpoint, err) != OWP_OK)
        return owp_err_prefix(err, "still serving on %s, not moved", old);
    /* Collectors connected to the old endpoint are dropped with it and find
     * the new one in the coordinator's directory. */
    if (zsock_unbind(self->router, "%s", old_bound) < 0)
        log_warn("node %s: data: unbinding the previous endpoint %s: %s", self->cfg.node, old,
                 zmq_strerror(zmq_errno()));
    log_info("node %s: data endpoint moved from %s to %s", self->cfg.node, old, self->endpoint);
    return OWP_OK;
}

const char *agent_data_endpoint(const agent_data *self)
{
    return self->endpoint;
}

void agent_data_destroy(agent_data **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_data *self = *self_p;
    for (size_t i = 0; i < AGENT_DATA_MAX_PEERS; i++)
        drop_peer(&self->peers[i]);
    owm_monitor_destroy(&self->monitor);
    zsock_destroy(&self->router);
    owm_zap_destroy(&self->zap);
    free(self->files);
    free(self);
    *self_p = NULL;
}

zsock_t *agent_data_socket(agent_data *self)
{
    return self->router;
}

zsock_t *agent_data_zap(agent_data *self)
{
    return self->zap ? owm_zap_socket(self->zap) : NULL;
}

zsock_t *agent_data_monitor(agent_data *self)
{
    return self->monitor ? owm_monitor_socket(self->monitor) : NULL;
}

void agent_data_handle_monitor(agent_data *self)
{
    owm_monitor_handle(self->monitor, owp_clock_monotonic());
}

int agent_data_busy(const agent_data *self)
{
    return self->blocked;
}

/* ------------------------------------------------------------------ sending */

/* 0 sent, 1 would block (queue full), -1 the collector is gone or the
 * message could not be built. */
static int send_to(agent_data *self, peer *p, const owm_msg *env)
{
    owp_err err;
    owp_err_clear(&err);
    zmsg_t *m = owm_msg_encode_zmsg(env, &err);
    if (!m) {
        log_err("node %s: data: %s", self->cfg.node, err.msg);
        return -1;
    }
    zframe_t *id = zframe_dup(p->identity);
    zmsg_prepend(m, &id);
    if (zmsg_send(&m, self->router) == 0)
        return 0;
    int e = zmq_errno();
    zmsg_destroy(&m);
    return e == EAGAIN ? 1 : -1;
}

static void send_error(agent_data *self, peer *p, owm_error_code code, const char *text)
{
    owp_err err;
    owp_err_clear(&err);
    owm_msg *env = owm_msg_new_error(code, text, &err);
    if (env)
        send_to(self, p, env);
    owm_msg_free(&env);
}

/* Send chunks of one fetch while it has credit; 1 when blocked. */
static int pump_fetch(agent_data *self, peer *p, fetch *f)
{
    uint8_t *buf = self->chunk;
    while (f->active && f->credit > 0) {
        uint64_t want = f->size - f->offset;
        if (want > f->chunk_size)
            want = f->chunk_size;
        ssize_t n = want ? pread(f->fd, buf, (size_t)want, (off_t)f->offset) : 0;
        if (n < 0 || (uint64_t)n != want) {
            char text[200];
            snprintf(text, sizeof text, "file %" PRIu64 ": read failed at offset %" PRIu64 ": %s",
                     f->seq, f->offset, n < 0 ? strerror(errno) : "file shrank");
            log_err("node %s: data: %s", self->cfg.node, text);
            send_error(self, p, OWM_ERROR_INTERNAL, text);
            close_fetch(f);
            return 0;
        }
        owm_msg_file_chunk c = {0};
        c.seq = f->seq;
        c.offset = f->offset;
        c.data.data = buf;
        c.data.len = (size_t)n;
        c.last = f->offset + (uint64_t)n == f->size;
        owm_msg env;
        owm_msg_init(&env);
        env.kind = OWM_MSG_FILE_CHUNK;
        env.file_chunk = &c;
        int r = send_to(self, p, &env);
        if (r == 1)
            return 1;
        if (r < 0) {
            close_fetch(f);
            return 0;
        }
        f->offset += (uint64_t)n;
        f->credit--;
        if (c.last)
            close_fetch(f);
    }
    return 0;
}

static void pump(agent_data *self)
{
    self->blocked = 0;
    for (size_t i = 0; i < AGENT_DATA_MAX_PEERS; i++) {
        peer *p = &self->peers[i];
        for (size_t j = 0; p->identity && j < AGENT_DATA_MAX_FETCHES; j++)
            if (pump_fetch(self, p, &p->fetches[j]))
                self->blocked = 1;
    }
}

/* ------------------------------------------------------------------ requests */

static peer *find_peer(agent_data *self, zframe_t *identity)
{
    peer *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < AGENT_DATA_MAX_PEERS; i++) {
        peer *p = &self->peers[i];
        if (p->identity && zframe_eq(p->identity, identity))
            return p;
        if (!p->identity && !free_slot)
            free_slot = p;
        if (p->identity && (!oldest || p->last_seen < oldest->last_seen))
            oldest = p;
    }
    peer *p = free_slot ? free_slot : oldest;
    drop_peer(p);
    p->identity = zframe_dup(identity);
    return p;
}

static owp_status list_file(owm_msg_file_list *list, const spool_file *f, owp_err *err)
{
    owm_msg_file_entry *e = owm_msg_file_list_add(list, err);
    if (!e || owm_msg_set_string(&e->stream_id, f->e.stream_id, err) != OWP_OK ||
        owm_msg_set_string(&e->name, f->e.name, err) != OWP_OK ||
        owm_msg_set_string(&e->digest, f->e.digest, err) != OWP_OK)
        return err->code ? err->code : OWP_ERR_NOMEM;
    e->seq = f->e.seq;
    e->kind = f->e.kind;
    e->size = f->size;
    e->start = f->e.start;
    e->end = f->e.end;
    return OWP_OK;
}

static owp_status list_gap(owm_msg_file_list *list, const agent_spool_gap *g, owp_err *err)
{
    owm_msg_seq_gap *out = owm_msg_file_list_add_gap(list, err);
    if (!out || owm_msg_set_string(&out->stream_id, g->stream_id, err) != OWP_OK)
        return err->code ? err->code : OWP_ERR_NOMEM;
    out->first = g->first;
    out->last = g->last;
    out->reason = g->reason;
    out->kind = g->kind;
    out->start = g->start;
    out->end = g->end;
    return OWP_OK;
}

/* Say why seqs first..last are not in the spool: the recorded gaps
 * (agent_spool_gap_from), and between them files deleted after an ack. */
static owp_status list_absent(agent_data *self, owm_msg_file_list *list, uint64_t first,
                              uint64_t last, owp_err *err)
{
    for (uint64_t seq = first; seq <= last;) {
        agent_spool_gap g, acked;
        int recorded = agent_spool_gap_from(self->cfg.spool, seq, &g);
        if (recorded && g.first <= seq) {
            g.first = seq;
        } else {
            memset(&acked, 0, sizeof acked);
            acked.first = seq;
            acked.last = recorded && g.first - 1 < last ? g.first - 1 : last;
            acked.reason = OWM_GAP_REASON_ACKED;
            g = acked;
        }
        if (g.last > last)
            g.last = last;
        owp_status st = list_gap(list, &g, err);
        if (st != OWP_OK)
            return st;
        seq = g.last + 1;
    }
    return OWP_OK;
}

/* The listing after r->after_seq: files in seq order and, between them, why
 * a seq is missing, complete through FileList.through. `below` is read
 * BEFORE the directory: every seq under it is then in the scan or gone for
 * good (agent_spool.h), while a file spooled during the scan may be seen or
 * not and so is left to the next listing. */
static owp_status build_list(agent_data *self, const owm_msg_file_list_request *r,
                             owm_msg_file_list *list, owp_err *err)
{
    uint64_t below = agent_spool_next_seq(self->cfg.spool);
    agent_data_index_rescan(self);
    uint64_t prev = r->after_seq;
    size_t i = agent_data_index_after(self, r->after_seq);
    owp_status st = OWP_OK;
    for (uint32_t n = 0; st == OWP_OK && i < self->n_files && self->files[i].e.seq < below &&
                         n < r->max_files; i++, n++) {
        const spool_file *f = &self->files[i];
        if (f->e.seq > prev + 1)
            st = list_absent(self, list, prev + 1, f->e.seq - 1, err);
        if (st == OWP_OK)
            st = list_file(list, f, err);
        prev = f->e.seq;
    }
    list->more = i < self->n_files && self->files[i].e.seq < below;
    if (st == OWP_OK && !list->more && below - 1 > prev)
        st = list_absent(self, list, prev + 1, below - 1, err);
    list->through = list->more || below - 1 < prev ? prev : below - 1;
    return st;
}

/* A collector lists after its cursor: every file up to it is in its store
 * (puller.h), so the unacked ones there (committed, then a crash before
 * the ack) are acked now rather than listed again. One line, not one a file. */
static void ack_through(agent_data *self, uint64_t after_seq)
{
    size_t n = 0, end = agent_data_index_after(self, after_seq);
    for (size_t i = 0; i < end; i++)
        if (!self->files[i].acked) {
            agent_data_mark_acked(self, &self->files[i]);
            n++;
        }
    if (n)
        log_info("node %s: data: a collector stored every file up to %" PRIu64 ": %zu unacked "
                 "file(s) at or below it acked", self->cfg.node, after_seq, n);
    if (n && self->cfg.retention_s == 0)
        agent_data_index_drop_deleted(self);
}

static void on_list(agent_data *self, peer *p, const owm_msg_file_list_request *r)
{
    owp_err err;
    owp_err_clear(&err);
    owm_msg *env = owm_msg_new(OWM_MSG_FILE_LIST, &err);
    if (env && build_list(self, r, env->file_list, &err) != OWP_OK)
        owm_msg_free(&env);
    if (env)
        ack_through(self, r->after_seq);
    if (!env) {
        log_err("node %s: data: FileList: %s", self->cfg.node, err.msg);
        send_error(self, p, OWM_ERROR_INTERNAL, err.msg);
        return;
    }
    log_debug("node %s: data: listed %zu files and %zu gaps after %" PRIu64 " through %" PRIu64
              "%s", self->cfg.node, env->file_list->n_files, env->file_list->n_gaps,
              r->after_seq, env->file_list->through, env->file_list->more ? " (more)" : "");
    send_to(self, p, env);
    owm_msg_free(&env);
}

static void on_fetch(agent_data *self, peer *p, const owm_msg_file_fetch *r)
{
    char text[200];
    spool_file *sf = agent_data_index_find(self, r->seq);
    if (!sf) {
        agent_data_index_rescan(self);
        sf = agent_data_index_find(self, r->seq);
    }
    if (!sf) {
        snprintf(text, sizeof text, "FileFetch: no file %" PRIu64 " in the spool", r->seq);
        send_error(self, p, OWM_ERROR_NOT_FOUND, text);
        return;
    }
    fetch *slot = NULL;
    for (size_t i = 0; i < AGENT_DATA_MAX_FETCHES; i++) {
        fetch *f = &p->fetches[i];
        if (f->active && f->seq == r->seq)
            close_fetch(f); /* fetched again: restart from the asked offset */
        if (!f->active && !slot)
            slot = f;
    }
    if (!slot) {
        snprintf(text, sizeof text, "FileFetch %" PRIu64 ": more than %d files fetched at once",
                 r->seq, AGENT_DATA_MAX_FETCHES);
        send_error(self, p, OWM_ERROR_REFUSED, text);
        return;
    }
    char path[4096 + AGENT_SPOOL_NAME_MAX];
    agent_data_spool_path(self, &sf->e, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size < r->offset) {
        snprintf(text, sizeof text, "FileFetch %" PRIu64 ": %s", r->seq,
                 fd < 0 ? strerror(errno) : "offset beyond the end of the file");
        if (fd >= 0)
            close(fd);
        send_error(self, p, fd < 0 && errno == ENOENT ? OWM_ERROR_NOT_FOUND
                                                      : OWM_ERROR_INTERNAL, text);
        return;
    }
    slot->active = 1;
    slot->seq = r->seq;
    slot->fd = fd;
    slot->offset = r->offset;
    slot->size = (uint64_t)st.st_size;
    slot->credit = r->credit;
    slot->chunk_size = r->chunk_size ? r->chunk_size : AGENT_DATA_CHUNK;
}

static void on_credit(agent_data *self, peer *p, const owm_msg_file_credit *r)
{
    (void)self;
    for (size_t i = 0; i < AGENT_DATA_MAX_FETCHES; i++) {
        fetch *f = &p->fetches[i];
        if (f->active && f->seq == r->seq) {
            /* Never above what one grant may hold: a runaway collector
             * cannot make us buffer more. */
            uint64_t c = (uint64_t)f->credit + r->credit;
            f->credit = c > OWM_MSG_MAX_CREDIT ? OWM_MSG_MAX_CREDIT : (uint32_t)c;
        }
    }
}

static void on_ack(agent_data *self, const owm_msg_file_ack *r)
{
    size_t done = 0;
    for (size_t i = 0; i < r->n_seqs; i++) {
        spool_file *sf = agent_data_index_find(self, r->seqs[i]);
        if (sf) {
            agent_data_mark_acked(self, sf);
            done++;
        }
    }
    log_debug("node %s: data: %zu of %zu acked files %s", self->cfg.node, done, r->n_seqs,
              self->cfg.retention_s ? "marked" : "deleted");
    if (self->cfg.retention_s == 0 && done)
        agent_data_index_drop_deleted(self);
}

/* ZAP admitted the connection; the mesh may have dropped the key since. */
static int key_still_admitted(agent_data *self, peer *p, zframe_t *body)
{
    const char *key = zframe_meta(body, "User-Id");
    if (agent_data_admits(self, key))
        return 1;
    const char *address = zframe_meta(body, "Peer-Address");
    agent_data_log_refused(self, key ? key : "(none)", address ? address : "?", "a request");
    send_error(self, p, OWM_ERROR_REFUSED, "your CURVE key is no longer a collector of the mesh");
    return 0;
}

static void handle_one(agent_data *self, zmsg_t *msg)
{
    zframe_t *identity = zmsg_pop(msg);
    if (!identity || zmsg_size(msg) != 1) {
        zframe_destroy(&identity);
        return;
    }
    peer *p = find_peer(self, identity);
    zframe_destroy(&identity);
    p->last_seen = self->now;
    if (self->zap && !key_still_admitted(self, p, zmsg_first(msg)))
        return;
    owp_err err;
    owp_err_clear(&err);
    owm_msg *env = NULL;
    owm_error_code why = OWM_ERROR_MALFORMED;
    if (owm_msg_decode_zmsg(msg, &env, &why, &err) != OWP_OK) {
        log_warn("node %s: data: %s", self->cfg.node, err.msg);
        send_error(self, p, why, err.msg);
        return;
    }
    switch (env->kind) {
    case OWM_MSG_FILE_LIST_REQUEST: on_list(self, p, env->file_list_request); break;
    case OWM_MSG_FILE_FETCH: on_fetch(self, p, env->file_fetch); break;
    case OWM_MSG_FILE_CREDIT: on_credit(self, p, env->file_credit); break;
    case OWM_MSG_FILE_ACK: on_ack(self, env->file_ack); break;
    case OWM_MSG_ERROR:
        log_warn("node %s: data: collector error %s: %s", self->cfg.node,
                 owm_msg_error_code_name(env->error->code), env->error->text);
        break;
    default: {
        char text[128];
        snprintf(text, sizeof text, "a node's data endpoint does not take %s messages",
                 owm_msg_kind_name(env->kind));
        send_error(self, p, OWM_ERROR_UNEXPECTED, text);
        break;
    }
    }
    owm_msg_free(&env);
}

void agent_data_handle(agent_data *self)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    self->now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    /* Everything waiting, a bounded number at a time. */
    for (int i = 0; i < 256 && (zsock_events(self->router) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv(self->router);
        if (!msg)
            break;
        handle_one(self, msg);
        zmsg_destroy(&msg);
    }
    pump(self);
}

void agent_data_tick(agent_data *self, double now)
{
    self->now = now;
    for (size_t i = 0; i < AGENT_DATA_MAX_PEERS; i++)
        if (self->peers[i].identity && now - self->peers[i].last_seen > PEER_IDLE_S)
            drop_peer(&self->peers[i]);
    if (self->blocked)
        pump(self);
    if (now - self->last_enforce >= ENFORCE_EVERY_S)
        agent_data_enforce(self, now);
}
