/* puller.c - the collector's data plane with one node: the protocol and its
 * clock (see puller.h; what becomes of each file is puller_ingest.c). */
#include "puller_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grow.h"

#define MAX_WINDOW 16u
#define BACKOFF_MIN_S 1.0
#define BACKOFF_MAX_S 30.0
#define DRAIN_BATCH 64 /* files per store transaction */
#define ACK_BATCH 256   /* acks per store sync */
#define ACK_DELAY_S 1.0 /* the longest an ack waits */

/* ------------------------------------------------------------------ life */

static void clear_queue(puller *self)
{
    for (size_t i = 0; i < self->qn; i++)
        free(self->q[i].buf);
    self->qn = self->qhead = 0;
}

static uint64_t cursor_in_store(puller *self)
{
    owp_err err;
    owp_err_clear(&err);
    uint64_t seq = 0;
    if (store_cursor(self->cfg.store, self->node, &seq, NULL, 0, &err) != OWP_OK)
        log_line(self, err, "reading the cursor: %s", err.msg);
    return seq;
}

/* ------------------------------------------------------------------ why silent */

#define MONITORED_EVENTS                                                                  \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |            \
     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* Watch the DEALER's connection with libzmq's socket monitor (read in
 * puller_tick, never blocking). Without it the verdict is only "timed out". */
static void open_monitor(puller *self)
{
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "inproc://puller-monitor-%p-%u", (void *)self,
             self->socket_serial);
    self->seen_retry = self->seen_connect = self->seen_handshake = 0;
    self->seen_drop = self->seen_refusal = 0;
    self->refusal[0] = '\0';
    if (zmq_socket_monitor(zsock_resolve(self->sock), endpoint, MONITORED_EVENTS) != 0)
        return;
    self->monitor = zsock_new(ZMQ_PAIR);
    if (self->monitor && zsock_connect(self->monitor, "%s", endpoint) != 0)
        zsock_destroy(&self->monitor);
    if (self->monitor)
        zsock_set_rcvtimeo(self->monitor, 0);
}

static void close_socket(puller *self)
{
    if (self->sock && self->monitor)
        zmq_socket_monitor(zsock_resolve(self->sock), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->sock);
}

static void note_event(puller *self, uint16_t event, uint32_t value)
{
    switch (event) {
    case ZMQ_EVENT_CONNECT_RETRIED: self->seen_retry = 1; break;
    case ZMQ_EVENT_CONNECTED: self->seen_connect = 1; break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self->seen_handshake = 1; break;
    case ZMQ_EVENT_DISCONNECTED:
        if (!self->seen_handshake)
            self->seen_drop = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        self->seen_refusal = 1;
        snprintf(self->refusal, sizeof self->refusal, "the node's ZAP handler denied our key, "
                 "status %u", value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        self->seen_refusal = 1;
        snprintf(self->refusal, sizeof self->refusal, "CURVE handshake failed, protocol error "
                 "0x%x", value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        self->seen_refusal = 1;
        snprintf(self->refusal, sizeof self->refusal, "CURVE handshake failed (errno %u)", value);
        break;
    default: break;
    }
}

/* Every event waiting on the monitor (two frames each: event + value, endpoint). */
static void read_monitor(puller *self)
{
    for (int i = 0; i < 256 && self->monitor; i++) {
        zmsg_t *m = zmsg_recv(self->monitor);
        if (!m)
            return;
        zframe_t *f = zmsg_first(m);
        if (f && zframe_size(f) >= 6) {
            const uint8_t *b = zframe_data(f);
            uint16_t event;
            uint32_t value;
            memcpy(&event, b, 2); /* host order, as libzmq writes them */
            memcpy(&value, b + 2, 4);
            note_event(self, event, value);
        }
        zmsg_destroy(&m);
    }
}

static puller_silence silence_verdict(const puller *self)
{
    if (self->seen_refusal || (self->seen_drop && !self->seen_handshake))
        return PULLER_KEY_REFUSED;
    if (self->seen_retry && !self->seen_connect)
        return PULLER_NOT_LISTENING;
    return PULLER_TIMED_OUT;
}

const char *puller_silence_name(puller_silence why)
{
    switch (why) {
    case PULLER_NOT_LISTENING: return "not listening";
    case PULLER_KEY_REFUSED: return "refused our key";
    case PULLER_TIMED_OUT: return "timed out";
    default: return "answered";
    }
}

puller_silence puller_last_silence(const puller *self) { return self->silence; }

/* The timeout's log line: which silence, and what to check. */
static void log_silence(puller *self, puller_silence why)
{
    const char *hint =
        why == PULLER_NOT_LISTENING
            ? "connection refused: nothing listens there; is owmesh-node running, with its "
              "data endpoint (-D) on this address?"
        : why == PULLER_KEY_REFUSED
            ? (self->refusal[0] ? self->refusal
                                : "the connection was closed during the CURVE handshake: "
                                  "does the node accept this collector's key, and is its "
                                  "public key the directory's?")
            : "connected, but no answer: the node is stuck or overloaded";
    log_line(self, warn, "no answer from %s within %g s: %s (%s): retrying in %g s",
             self->endpoint, self->cfg.timeout_s, puller_silence_name(why), hint,
             self->backoff);
}

/* ------------------------------------------------------------------ the socket */

static int open_socket(puller *self, owp_err *err)
{
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock) {
        owp_err_set(err, OWP_ERR_SYS, "node %s: socket: %s", self->node,
                    zmq_strerror(zmq_errno()));
        return -1;
    }
    zsock_set_linger(self->sock, 0);
    zsock_set_sndtimeo(self->sock, 0);
    zsock_set_maxmsgsize(self->sock, (int64_t)OWM_MSG_MAX_SIZE + 1024);
    zsock_set_reconnect_ivl(self->sock, 500);
    zsock_set_reconnect_ivl_max(self->sock, 5000);
    if (self->cfg.cert) {
        zcert_apply(self->cfg.cert, self->sock);
        zsock_set_curve_serverkey(self->sock, self->server_key);
    }
    self->socket_serial++;
    open_monitor(self);
    if (zsock_connect(self->sock, "%s", self->endpoint) != 0) {
        owp_err_set(err, OWP_ERR_SYS, "node %s: cannot connect to %s: %s", self->node,
                    self->endpoint, zmq_strerror(zmq_errno()));
        close_socket(self);
        return -1;
    }
    return 0;
}

/* Drop everything in flight and start again from the store's cursor. */
static void reset(puller *self, double now, double delay)
{
    close_socket(self);
    clear_queue(self);
    self->nacks = 0;
    self->listing = 0;
    self->more = 0;
    self->listed = 0;
    /* Listing resumes after the store's cursor: the node acks what is at or
     * below it (files committed before a crash but never acked) itself. */
    self->cursor = cursor_in_store(self);
    self->listed_upto = self->cursor;
    self->reconnect_at = now + delay;
    self->stats.resets++;
}

puller *puller_new(const puller_config *config, owp_err *err)
{
    puller *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "puller: out of memory");
        return NULL;
    }
    self->cfg = *config;
    if (!self->cfg.window || self->cfg.window > MAX_WINDOW)
        self->cfg.window = MAX_WINDOW;
    if (!self->cfg.credit || self->cfg.credit > OWM_MSG_MAX_CREDIT)
        self->cfg.credit = self->cfg.credit ? OWM_MSG_MAX_CREDIT : 4;
    if (!self->cfg.chunk_size || self->cfg.chunk_size > OWM_MSG_MAX_CHUNK)
        self->cfg.chunk_size = self->cfg.chunk_size ? OWM_MSG_MAX_CHUNK : 256u * 1024u;
    if (!self->cfg.list_max || self->cfg.list_max > OWM_MSG_MAX_ITEMS)
        self->cfg.list_max = self->cfg.list_max ? OWM_MSG_MAX_ITEMS : 512;
    if (self->cfg.poll_s <= 0)
        self->cfg.poll_s = 1.0;
    if (self->cfg.timeout_s <= 0)
        self->cfg.timeout_s = 15.0;
    self->node = strdup(config->node);
    self->endpoint = strdup(config->endpoint);
    self->server_key = strdup(config->server_key ? config->server_key : "");
    self->backoff = self->store_backoff = BACKOFF_MIN_S;
    if (!self->node || !self->endpoint || !self->server_key) {
        owp_err_set(err, OWP_ERR_NOMEM, "puller: out of memory");
        puller_destroy(&self);
        return NULL;
    }
    self->cursor = cursor_in_store(self);
    self->listed_upto = self->synced_upto = self->cursor;
    if (open_socket(self, err) != 0) {
        puller_destroy(&self);
        return NULL;
    }
    return self;
}

void puller_destroy(puller **self_p)
{
    if (!self_p || !*self_p)
        return;
    puller *self = *self_p;
    close_socket(self);
    clear_queue(self);
    free(self->q);
    free(self->acks);
    free(self->node);
    free(self->endpoint);
    free(self->server_key);
    free(self);
    *self_p = NULL;
}

zsock_t *puller_socket(puller *self) { return self->sock; }
unsigned puller_socket_serial(const puller *self) { return self->socket_serial; }
const puller_stats *puller_get_stats(const puller *self) { return &self->stats; }
const char *puller_node(const puller *self) { return self->node; }
const char *puller_endpoint(const puller *self) { return self->endpoint; }

int puller_idle(const puller *self)
{
    return self->sock && self->listed && !self->listing && self->qn == self->qhead && !self->more;
}

owp_status puller_retarget(puller *self, const char *endpoint, const char *server_key,
                           owp_err *err)
{
    char *e = strdup(endpoint), *k = strdup(server_key ? server_key : "");
    if (!e || !k) {
        free(e);
        free(k);
        return owp_err_set(err, OWP_ERR_NOMEM, "puller: out of memory");
    }
    free(self->endpoint);
    free(self->server_key);
    self->endpoint = e;
    self->server_key = k;
    reset(self, 0, 0);
    self->stats.resets--; /* not a failure */
    return OWP_OK;
}

/* ------------------------------------------------------------------ sending */

static int send_env(puller *self, const owm_msg *env, double now)
{
    owp_err err;
    owp_err_clear(&err);
    zmsg_t *m = owm_msg_encode_zmsg(env, &err);
    if (!m) {
        log_line(self, err, "%s", err.msg);
        return -1;
    }
    /* Waiting for an answer from now on (or still), sent or not. */
    if (self->deadline < now)
        self->deadline = now + self->cfg.timeout_s;
    if (zmsg_send(&m, self->sock) != 0) {
        zmsg_destroy(&m);
        log_line(self, warn, "%s: send: %s", self->endpoint, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

/* A listing after S tells the node that every file up to S is stored (it
 * acks them): with nometasync, make that true on disk first. */
static uint64_t durable_upto(puller *self)
{
    if (!self->cfg.store_nometasync || self->listed_upto <= self->synced_upto)
        return self->listed_upto;
    owp_err err;
    owp_err_clear(&err);
    if (store_sync(self->cfg.store, &err) != OWP_OK) {
        log_line(self, err, "store sync: %s: listing after file %" PRIu64 " only", err.msg,
                 self->synced_upto);
        return self->synced_upto;
    }
    self->synced_upto = self->listed_upto;
    return self->listed_upto;
}

static void send_list(puller *self, double now)
{
    owm_msg_file_list_request r = {0};
    r.after_seq = durable_upto(self);
    r.max_files = self->cfg.list_max;
    owm_msg env;
    owm_msg_init(&env);
    env.kind = OWM_MSG_FILE_LIST_REQUEST;
    env.file_list_request = &r;
    self->deadline = now + self->cfg.timeout_s;
    /* A request libzmq would not queue (the node refused our handshake
     * before we spoke, so there is no connection) is waited on like an
     * unanswered one: at the deadline the silence is named and we back off,
     * instead of retrying every tick and never timing out. */
    send_env(self, &env, now);
    self->listing = 1;
}

static void send_fetch(puller *self, pending *p, double now)
{
    owm_msg_file_fetch f = {0};
    f.seq = p->seq;
    f.offset = 0;
    f.credit = self->cfg.credit;
    f.chunk_size = self->cfg.chunk_size;
    owm_msg env;
    owm_msg_init(&env);
    env.kind = OWM_MSG_FILE_FETCH;
    env.file_fetch = &f;
    /* Waited on even when libzmq would not queue it (see send_list). */
    send_env(self, &env, now);
    p->fetching = 1;
    p->outstanding = self->cfg.credit;
    if (p->outstanding > self->stats.max_credit_seen)
        self->stats.max_credit_seen = p->outstanding;
}

static void send_credit(puller *self, pending *p, uint32_t credit, double now)
{
    owm_msg_file_credit c = {0};
    c.seq = p->seq;
    c.credit = credit;
    owm_msg env;
    owm_msg_init(&env);
    env.kind = OWM_MSG_FILE_CREDIT;
    env.file_credit = &c;
    if (send_env(self, &env, now) == 0) {
        p->outstanding += credit;
        if (p->outstanding > self->stats.max_credit_seen)
            self->stats.max_credit_seen = p->outstanding;
    }
}

static void flush_acks(puller *self, double now)
{
    if (!self->nacks)
        return;
    owp_err err;
    owp_err_clear(&err);
    /* With nometasync the last commits may not be durable yet: make them so
     * before the node may delete the files. */
    if (self->cfg.store_nometasync && store_sync(self->cfg.store, &err) != OWP_OK) {
        log_line(self, err, "store sync: %s: files not acked (the node keeps them)", err.msg);
        self->nacks = 0;
        return;
    }
    if (self->cursor > self->synced_upto)
        self->synced_upto = self->cursor;
    owm_msg_file_ack a = {0};
    a.seqs = self->acks;
    a.n_seqs = self->nacks;
    owm_msg env;
    owm_msg_init(&env);
    env.kind = OWM_MSG_FILE_ACK;
    env.file_ack = &a;
    double deadline = self->deadline;
    if (send_env(self, &env, now) == 0)
        self->stats.acked += self->nacks;
    self->deadline = deadline; /* an ack expects no answer */
    self->nacks = 0;
}

static void queue_ack(puller *self, uint64_t seq, double now)
{
    if (!self->nacks)
        self->first_unacked = now;
    if (owp_grow(&self->acks, self->nacks, &self->acks_cap, sizeof *self->acks, 64) != 0)
        return; /* not acked now: the node lists it again, we ack it then */
    self->acks[self->nacks++] = seq;
}


static double doubled(double backoff)
{
    return backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
}

static void grow_backoff(puller *self) { self->backoff = doubled(self->backoff); }
/* Apart from the node's back-off, which every answer of the node resets. */
static void grow_store_backoff(puller *self) { self->store_backoff = doubled(self->store_backoff); }

/* The batch is committed: count, tell the caller, ack. */
static void settle(puller *self, const outcome *o, double now)
{
    if (o->cursor && o->last > self->cursor)
        self->cursor = o->last;
    if (o->stored) {
        self->stats.files++;
        self->stats.records += o->res.records;
    } else if (o->gap) {
        self->stats.gaps++;
    } else {
        self->stats.skipped++;
    }
    if (self->cfg.on_file && o->name[0])
        self->cfg.on_file(self->cfg.on_file_arg, self->node, o->seq, o->name,
                          o->has_res ? &o->res : NULL, o->stored);
    if (o->ack)
        queue_ack(self, o->seq, now);
}

/* Ingest the complete files at the head of the queue, in seq order, up to
 * DRAIN_BATCH of them in one store transaction: one disk flush for the lot
 * instead of one per file (a flush costs milliseconds, a small file's
 * records microseconds). A crash before the commit loses the whole batch,
 * cursor included, so its files are pulled again: nothing is lost or
 * counted twice. Returns the files taken off the queue. */
static size_t ingest_batch(puller *self, double now)
{
    outcome done[DRAIN_BATCH];
    size_t n = 0;
    owp_err err;
    owp_err_clear(&err);
    int batched = store_batch_begin(self->cfg.store, &err) == OWP_OK;
    if (!batched)
        log_line(self, warn, "store: %s: committing file by file", err.msg);
    int retry = 0;
    while (n < DRAIN_BATCH && self->qhead < self->qn && self->q[self->qhead].complete) {
        pending *p = &self->q[self->qhead];
        puller_ingest_one(self, p, &done[n]);
        if (done[n].retry) {
            retry = 1; /* strictly in seq order: nothing after it either */
            break;
        }
        self->qhead++;
        n++;
        free(p->buf);
        p->buf = NULL;
        uint64_t last = p->gap ? p->gap_last : p->seq;
        if (last > self->listed_upto)
            self->listed_upto = last;
    }
    if (batched && store_batch_commit(self->cfg.store, &err) != OWP_OK) {
        int full = store_full(self->cfg.store);
        log_line(self, err, "%s: %zu files not stored (the cursor stays at %" PRIu64 "): pulling "
                 "them again in %.0f s", err.msg, n, self->cursor,
                 full ? self->store_backoff : BACKOFF_MIN_S);
        reset(self, now, full ? self->store_backoff : BACKOFF_MIN_S);
        if (full)
            grow_store_backoff(self);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        settle(self, &done[i], now);
    if (retry) {
        flush_acks(self, now);
        int full = done[n].full;
        reset(self, now, full ? self->store_backoff : BACKOFF_MAX_S);
        if (full)
            grow_store_backoff(self);
        return 0;
    }
    self->store_backoff = BACKOFF_MIN_S; /* the store takes files again */
    return n;
}

static void drain(puller *self, double now)
{
    while (self->qhead < self->qn && self->q[self->qhead].complete)
        if (ingest_batch(self, now) == 0)
            return; /* reset */
    /* Acks wait for the end of the listing, ACK_BATCH files or ACK_DELAY_S:
     * each flush of acks costs a store sync (a disk flush). */
    if (self->qhead == self->qn || self->nacks >= ACK_BATCH ||
        now - self->first_unacked >= ACK_DELAY_S)
        flush_acks(self, now);
    if (self->qn && self->qhead == self->qn) {
        self->qn = self->qhead = 0;
        if (!self->listing)
            self->list_at = self->more ? now : now + self->cfg.poll_s;
    }
}

/* Keep `window` fetches going. */
static void start_fetches(puller *self, double now)
{
    unsigned active = 0;
    for (size_t i = self->qhead; i < self->qn && self->sock; i++) {
        pending *p = &self->q[i];
        if (p->complete)
            continue;
        if (p->fetching) {
            active++;
            continue;
        }
        if (active >= self->cfg.window)
            break;
        if (p->gap || !puller_fetched_kind(p->kind)) {
            p->complete = 1; /* nothing to fetch */
            continue;
        }
        send_fetch(self, p, now);
        if (!p->fetching)
            break;
        active++;
    }
}

/* ------------------------------------------------------------------ receiving */

/* A new queue entry after the last one; NULL when out of memory. */
static pending *queue_push(puller *self)
{
    if (owp_grow(&self->q, self->qn, &self->qcap, sizeof *self->q, 64) != 0)
        return NULL;
    pending *p = &self->q[self->qn++];
    memset(p, 0, sizeof *p);
    return p;
}

/* The highest seq queued or handled: listings only add beyond it. */
static uint64_t queued_upto(const puller *self)
{
    if (self->qn) {
        const pending *p = &self->q[self->qn - 1];
        uint64_t last = p->gap ? p->gap_last : p->seq;
        return last > self->listed_upto ? last : self->listed_upto;
    }
    return self->listed_upto;
}

static int queue_file(puller *self, const owm_msg_file_entry *e)
{
    if (e->size > MAX_FILE_BYTES) {
        /* Not skipped: the cursor may not pass it. The node must fix it. */
        log_line(self, err, "file %" PRIu64 " %s: %" PRIu64 " bytes is no .owp file: not pulled "
                 "(nothing after it is either)", e->seq, e->name, e->size);
        return -1;
    }
    pending *p = queue_push(self);
    if (!p)
        return -1;
    p->seq = e->seq;
    snprintf(p->stream_id, sizeof p->stream_id, "%s", e->stream_id);
    snprintf(p->name, sizeof p->name, "%s", e->name);
    snprintf(p->digest, sizeof p->digest, "%s", e->digest ? e->digest : "");
    p->kind = e->kind;
    p->size = e->size;
    p->start = e->start;
    p->end = e->end;
    p->committed = e->seq <= self->cursor;
    p->complete = p->committed;
    return 0;
}

static int queue_gap(puller *self, const owm_msg_seq_gap *g)
{
    pending *p = queue_push(self);
    if (!p)
        return -1;
    p->gap = 1;
    p->seq = g->first;
    p->gap_last = g->last;
    p->gap_reason = g->reason;
    snprintf(p->stream_id, sizeof p->stream_id, "%s", g->stream_id ? g->stream_id : "");
    p->kind = g->kind;
    p->start = g->start;
    p->end = g->end;
    p->committed = g->last <= self->cursor;
    p->complete = 1;
    return 0;
}

/* Queue the listing's files and gaps in seq order (both ascend), beyond
 * what is queued already. A node of minor version < 2 sends no gaps and no
 * `through`: its listing may miss a file being spooled, so the cursor may
 * pass one (said once). */
static size_t queue_listing(puller *self, const owm_msg_file_list *fl)
{
    if (!fl->through && fl->n_files && !self->warned_legacy) {
        log_line(self, warn, "the node runs an older owmesh-node whose listings may skip a file "
                 "being spooled; upgrade it");
        self->warned_legacy = 1;
    }
    size_t added = 0, f = 0, g = 0;
    while (f < fl->n_files || g < fl->n_gaps) {
        int take_gap =
            g < fl->n_gaps && (f == fl->n_files || fl->gaps[g]->first < fl->files[f]->seq);
        uint64_t first = take_gap ? fl->gaps[g]->first : fl->files[f]->seq;
        if (first > queued_upto(self)) {
            if ((take_gap ? queue_gap(self, fl->gaps[g]) : queue_file(self, fl->files[f])) != 0)
                break;
            added++;
        }
        if (take_gap)
            g++;
        else
            f++;
    }
    return added;
}

static void on_list(puller *self, const owm_msg_file_list *fl, double now)
{
    if (!self->listing)
        return;
    self->listing = 0;
    int first = !self->listed;
    self->listed = 1;
    self->silence = PULLER_ANSWERED;
    self->more = fl->more;
    uint64_t after = self->listed_upto;
    size_t added = queue_listing(self, fl);
    /* One line when (re)connected, whatever the node keeps. */
    if (first)
        log_line(self, info, "%s: resuming after file %" PRIu64 " (the store's cursor): %zu "
                 "files, %zu gaps listed%s", self->endpoint, after, fl->n_files, fl->n_gaps,
                 self->more ? " (more to come)" : "");
    else if (added)
        log_line(self, debug, "%zu files and gaps listed after %" PRIu64 "%s", added, after,
                 self->more ? " (more)" : "");
    if (!added && !self->qn)
        self->list_at = self->more ? now : now + self->cfg.poll_s;
}

static pending *find_pending(puller *self, uint64_t seq)
{
    for (size_t i = self->qhead; i < self->qn; i++)
        if (self->q[i].seq == seq)
            return &self->q[i];
    return NULL;
}

/* 0, or -1 when the node's stream of chunks makes no sense (reset). */
static int on_chunk(puller *self, const owm_msg_file_chunk *c, double now)
{
    pending *p = find_pending(self, c->seq);
    if (!p || !p->fetching || c->offset != p->len) {
        log_line(self, warn, "unexpected chunk of file %" PRIu64 " at offset %" PRIu64
                 ": starting over", c->seq, c->offset);
        return -1;
    }
    if (p->outstanding == 0) {
        log_line(self, warn, "file %" PRIu64 ": chunk beyond the credit granted: starting "
                 "over", c->seq);
        return -1;
    }
    p->outstanding--;
    if (p->len + c->data.len > MAX_FILE_BYTES) {
        log_line(self, err, "file %" PRIu64 ": larger than %llu bytes: starting over", c->seq,
                 MAX_FILE_BYTES);
        return -1;
    }
    if (p->len + c->data.len > p->cap) {
        size_t cap = p->cap ? p->cap : (size_t)(p->size ? p->size : 4096);
        while (cap < p->len + c->data.len)
            cap *= 2;
        uint8_t *b = realloc(p->buf, cap);
        if (!b) {
            log_line(self, err, "file %" PRIu64 ": out of memory", c->seq);
            return -1;
        }
        p->buf = b;
        p->cap = cap;
    }
    if (c->data.len)
        memcpy(p->buf + p->len, c->data.data, c->data.len);
    p->len += c->data.len;
    self->stats.bytes += c->data.len;
    if (c->last) {
        p->fetching = 0;
        p->complete = 1;
    } else if (p->outstanding <= self->cfg.credit / 2) {
        /* Consumed: grant as much again (never more than `credit` in flight). */
        send_credit(self, p, self->cfg.credit - p->outstanding, now);
    }
    return 0;
}

static void handle_one(puller *self, zmsg_t *msg, double now)
{
    owp_err err;
    owp_err_clear(&err);
    owm_msg *env = NULL;
    if (owm_msg_decode_zmsg(msg, &env, NULL, &err) != OWP_OK) {
        log_line(self, warn, "%s: undecodable message: %s: starting over", self->endpoint,
                 err.msg);
        reset(self, now, self->backoff);
        return;
    }
    self->deadline = now + self->cfg.timeout_s;
    self->backoff = BACKOFF_MIN_S;
    switch (env->kind) {
    case OWM_MSG_FILE_LIST:
        on_list(self, env->file_list, now);
        break;
    case OWM_MSG_FILE_CHUNK:
        if (on_chunk(self, env->file_chunk, now) != 0)
            reset(self, now, BACKOFF_MIN_S);
        break;
    case OWM_MSG_ERROR:
        log_line(self, warn, "%s: %s: %s: starting over from the cursor", self->endpoint,
                 owm_msg_error_code_name(env->error->code), env->error->text);
        reset(self, now, BACKOFF_MIN_S);
        break;
    default:
        log_line(self, warn, "%s: unexpected %s: ignored", self->endpoint,
                 owm_msg_kind_name(env->kind));
        break;
    }
    owm_msg_free(&env);
}

void puller_handle(puller *self, double now)
{
    for (int i = 0; i < 1024 && self->sock && (zsock_events(self->sock) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv(self->sock);
        if (!msg)
            break;
        handle_one(self, msg, now);
        zmsg_destroy(&msg);
    }
    puller_tick(self, now);
}

/* ------------------------------------------------------------------ the clock */

static int waiting(const puller *self)
{
    if (self->listing)
        return 1;
    for (size_t i = self->qhead; i < self->qn; i++)
        if (self->q[i].fetching)
            return 1;
    return 0;
}

void puller_tick(puller *self, double now)
{
    if (!self->sock) {
        if (now < self->reconnect_at)
            return;
        owp_err err;
        owp_err_clear(&err);
        if (open_socket(self, &err) != 0) {
            log_line(self, err, "%s", err.msg);
            self->reconnect_at = now + self->backoff;
            return;
        }
        self->list_at = now;
    }
    read_monitor(self);
    if (waiting(self) && now > self->deadline) {
        self->silence = silence_verdict(self);
        log_silence(self, self->silence);
        reset(self, now, self->backoff);
        grow_backoff(self);
        return;
    }
    start_fetches(self, now); /* also marks summaries complete: nothing to fetch */
    drain(self, now);
    start_fetches(self, now);
    if (!self->listing && self->qn == self->qhead && now >= self->list_at && self->sock)
        send_list(self, now);
}
