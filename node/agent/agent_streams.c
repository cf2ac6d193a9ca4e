/* agent_streams.c - one stream engine per scheduled stream (see agent_streams.h). */
#include "agent_streams_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_reconcile.h"
#include "agent_store.h"
#include "clock.h"
#include "daemon_log.h"
#include "meshmsg.h"
#include "pfs.h"
#include "stream.h"
#include "unmeasured.h"

#define PASSPHRASE_MAX 1024

/* ------------------------------------------------------------------ helpers */

void agent_streams_opts_of(const owm_msg_stream *st, owp_stream_opts *o)
{
    const owm_msg_stream_params *p = st->params;
    o->client.server = st->peer;
    o->client.modes = p ? p->modes : 0;
    o->client.identity = p && p->identity && p->identity[0] ? p->identity : NULL;
    o->sender = 0;
    o->testpeer = NULL;
    if (!p)
        return;
    o->npackets = p->count;
    o->sub_count = p->sub_session_count;
    o->interval = p->interval;
    o->loss_timeout = p->loss_timeout;
    o->padding = p->padding;
    o->dscp = p->dscp;
    o->bucket_width = p->bucket_width;
}

void agent_streams_clean_text(char *out, size_t len, const char *text)
{
    if (len == 0)
        return;
    size_t max = len - 1 < OWM_MSG_MAX_TEXT ? len - 1 : OWM_MSG_MAX_TEXT;
    size_t i = 0;
    for (; text && text[i] && i < max; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[i] = '\0';
}

int agent_streams_read_summary(const char *path, uint32_t *sent, uint32_t *lost)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char line[256];
    int have_sent = 0, have_lost = 0;
    while (fgets(line, sizeof line, fp) && !(have_sent && have_lost)) {
        unsigned long v;
        char *end;
        if (strncmp(line, "SENT\t", 5) == 0) {
            v = strtoul(line + 5, &end, 10);
            if (end != line + 5 && v <= UINT32_MAX) {
                *sent = (uint32_t)v;
                have_sent = 1;
            }
        } else if (strncmp(line, "LOST\t", 5) == 0) {
            v = strtoul(line + 5, &end, 10);
            if (end != line + 5 && v <= UINT32_MAX) {
                *lost = (uint32_t)v;
                have_lost = 1;
            }
        }
    }
    fclose(fp);
    return have_sent && have_lost ? 0 : -1;
}

const char *agent_stream_source(const agent_stream *s)
{
    return s->spec->source && s->spec->source[0] ? s->spec->source : "?";
}

/* Every message names the node and the stream: the running stream s (its
 * source too), or, once it has stopped (s NULL), the stream of queue q. */
static void agent_stream_vlog(const agent_streams *set, const agent_stream *s,
                              const agent_spool_queue *q, int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void agent_stream_vlog(const agent_streams *set, const agent_stream *s,
                              const agent_spool_queue *q, int priority, const char *fmt, va_list ap)
{
    if (!daemon_log_enabled(priority))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (s)
        daemon_log_at(priority, NULL, 0, "node %s: stream %s (%s -> %s): %s", s->set->node,
                      s->spec->id, agent_stream_source(s), s->set->node, msg);
    else
        daemon_log_at(priority, NULL, 0, "node %s: stream %s (stopped): %s", set->node,
                      agent_spool_queue_stream(q), msg);
}

void agent_stream_log(const agent_stream *s, int priority, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    agent_stream_vlog(s->set, s, NULL, priority, fmt, ap);
    va_end(ap);
}

static void set_state_locked(agent_stream *s, owm_stream_state state)
{
    if (s->state != state) {
        s->state = state;
        atomic_store(&s->set->changed, 1);
    }
}

void agent_stream_set_error_locked(agent_stream *s, const char *text)
{
    agent_streams_clean_text(s->last_error, sizeof s->last_error, text);
}

/* ------------------------------------------------------------------ the spool queues */

/* A line about a queue: its stream's line while the stream runs (s), else
 * one naming the stopped stream. */
static void queue_log(const agent_streams *set, const agent_stream *s, const agent_spool_queue *q,
                      int priority, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void queue_log(const agent_streams *set, const agent_stream *s, const agent_spool_queue *q,
                      int priority, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    agent_stream_vlog(set, s, q, priority, fmt, ap);
    va_end(ap);
}

/* "no space left on device" for ENOSPC, else the failure's message. */
static void blocked_reason(const agent_spool_drain *r, const owp_err *err, char *buf, size_t len)
{
    snprintf(buf, len, "%s", r->blocked_errno ? strerror(r->blocked_errno) : err->msg);
    if (r->blocked_errno && buf[0])
        buf[0] = (char)tolower((unsigned char)buf[0]);
}

/* Say what a drain changed, once per change (never once per file). */
static void report_drain(const agent_streams *set, agent_stream *s, agent_spool_queue *q,
                         const agent_spool_drain *r, const owp_err *err)
{
    if (r->vanished)
        queue_log(set, s, q, LOG_WARNING, "spool: %u queued file(s) vanished from %s before "
                  "they could be spooled", r->vanished, agent_spool_queue_dir(q));
    if (r->now_blocked) {
        char why[OWP_ERR_MSG_MAX];
        blocked_reason(r, err, why, sizeof why);
        queue_log(set, s, q, LOG_ERR, "spool: %s: %zu file(s) waiting in %s", why, r->waiting,
                  agent_spool_queue_dir(q));
        if (s) {
            pthread_mutex_lock(&s->mu);
            agent_stream_set_error_locked(s, err->msg);
            pthread_mutex_unlock(&s->mu);
        }
    }
    if (r->now_unblocked)
        queue_log(set, s, q, LOG_NOTICE, "spool: space back, %u file(s) spooled",
                  r->since_blocked);
}

/* Spool what q holds, as far as the disk lets us. Files still waiting. */
size_t agent_stream_drain_queue(const agent_streams *set, agent_stream *s, agent_spool_queue *q)
{
    agent_spool_drain r;
    owp_err err;
    owp_err_clear(&err);
    agent_spool_queue_drain(q, &r, &err);
    report_drain(set, s, q, &r, &err);
    return r.waiting;
}

/* ------------------------------------------------------------------ engine callbacks */

static void on_engine_log(void *arg, int priority, const char *msg)
{
    agent_stream *s = arg;
    agent_stream_log(s, priority, "%s", msg);
    if (priority <= LOG_WARNING) {
        pthread_mutex_lock(&s->mu);
        agent_stream_set_error_locked(s, msg);
        pthread_mutex_unlock(&s->mu);
    }
}

static owm_file_kind file_kind(owp_stream_file_kind k)
{
    switch (k) {
    case OWP_STREAM_FILE_OWP: return OWM_FILE_KIND_OWP;
    case OWP_STREAM_FILE_SUM: return OWM_FILE_KIND_SUM;
    default: return OWM_FILE_KIND_SUBSUM;
    }
}

static void note_session(agent_stream *s, const owp_stream_file *f)
{
    pthread_mutex_lock(&s->mu);
    s->last_session_end = f->end;
    s->sessions_completed++;
    if (f->complete)
        s->last_error[0] = '\0';
    set_state_locked(s, OWM_STREAM_STATE_RUNNING);
    pthread_mutex_unlock(&s->mu);
}

static void note_summary(agent_stream *s, const char *path)
{
    uint32_t sent = 0, lost = 0;
    if (agent_streams_read_summary(path, &sent, &lost) != 0)
        return;
    pthread_mutex_lock(&s->mu);
    s->sent = sent;
    s->lost = lost <= sent ? lost : sent;
    pthread_mutex_unlock(&s->mu);
}

/* A finished file: queued for the spool, and the queue drained (the
 * queue keeps the order, removes each work copy once it is spooled, and
 * keeps a session's .owp, which the engine still reads to write its .sum,
 * until that .sum is spooled). Health is noted first: a spooled work copy
 * is gone. */
static void on_engine_file(void *arg, const owp_stream_file *f)
{
    agent_stream *s = arg;
    if (f->kind == OWP_STREAM_FILE_OWP)
        note_session(s, f);
    else if (f->kind == OWP_STREAM_FILE_SUM)
        note_summary(s, f->path);
    const char *slash = strrchr(f->path, '/');
    owp_err err;
    owp_err_clear(&err);
    if (agent_spool_queue_file(s->queue, slash ? slash + 1 : f->path, file_kind(f->kind),
                               f->start, f->end, &err) != OWP_OK) {
        agent_stream_log(s, LOG_ERR, "%s: %s (kept in the work directory for the next start)",
                         f->path, err.msg);
        pthread_mutex_lock(&s->mu);
        agent_stream_set_error_locked(s, err.msg);
        pthread_mutex_unlock(&s->mu);
    }
    agent_stream_drain_queue(s->set, s, s->queue);
}

/* ------------------------------------------------------------------ one stream */

static void stream_free(agent_stream **sp)
{
    agent_stream *s = *sp;
    if (!s)
        return;
    owp_stream_destroy(&s->engine);
    agent_spool_queue_destroy(&s->queue);
    pthread_mutex_destroy(&s->mu);
    owm_msg_stream_free(&s->spec);
    free(s);
    *sp = NULL;
}

static owp_status retire(agent_streams *set, agent_spool_queue *q)
{
    agent_spool_queue **more = realloc(set->retired, (set->nretired + 1) * sizeof *more);
    if (!more)
        return OWP_ERR_NOMEM;
    set->retired = more;
    set->retired[set->nretired++] = q;
    return OWP_OK;
}

/* A queue whose engine is gone: empty, it goes with its work directory;
 * otherwise it is retried with the stopped streams' (or, when even that
 * fails, its files stay where the next start adopts them). */
static void settle_queue(agent_streams *set, agent_stream *s, agent_spool_queue **qp)
{
    agent_spool_queue *q = *qp;
    size_t waiting = agent_stream_drain_queue(set, s, q);
    agent_spool_queue_engine_gone(q);
    if (waiting == 0) {
        rmdir(agent_spool_queue_dir(q)); /* only when empty */
        agent_spool_queue_destroy(qp);
        return;
    }
    if (retire(set, q) != OWP_OK) {
        queue_log(set, s, q, LOG_ERR, "spool: out of memory: %zu file(s) left in %s for the "
                  "next start", waiting, agent_spool_queue_dir(q));
        agent_spool_queue_destroy(qp);
        return;
    }
    queue_log(set, s, q, LOG_WARNING, "spool: %zu file(s) still waiting in %s: retried until "
              "spooled", waiting, agent_spool_queue_dir(q));
    *qp = NULL;
}

/* The queue of a stopped stream with this id, taken out of the retired
 * list (the work directory is the same: one queue per directory, so no file
 * is spooled twice), or NULL. */
static agent_spool_queue *take_retired(agent_streams *set, const char *id)
{
    for (size_t i = 0; i < set->nretired; i++) {
        agent_spool_queue *q = set->retired[i];
        if (strcmp(agent_spool_queue_stream(q), id) == 0) {
            memmove(set->retired + i, set->retired + i + 1,
                    (set->nretired - i - 1) * sizeof *set->retired);
            set->nretired--;
            return q;
        }
    }
    return NULL;
}

/* Before the engine starts: what an earlier run left in the work directory
 * (temporaries go; finished files join the queue, in order) is spooled. */
static void adopt_leftovers(agent_stream *s)
{
    owp_err err;
    owp_err_clear(&err);
    unsigned found = 0;
    if (agent_spool_queue_adopt(s->queue, &found, &err) != OWP_OK)
        agent_stream_log(s, LOG_WARNING, "tidying %s: %s", s->work_dir, err.msg);
    size_t waiting = agent_stream_drain_queue(s->set, s, s->queue);
    if (found)
        agent_stream_log(s, LOG_INFO,
                         "%u finished file(s) left in %s: %zu still waiting for the spool", found,
                         s->work_dir, waiting);
}

static void fail(agent_stream *s, const char *msg)
{
    agent_stream_log(s, LOG_ERR, "cannot run: %s", msg);
    pthread_mutex_lock(&s->mu);
    set_state_locked(s, OWM_STREAM_STATE_FAILED);
    agent_stream_set_error_locked(s, msg);
    pthread_mutex_unlock(&s->mu);
}

/* The pass-phrase of the stream's identity from the node's pfs file. 0: use
 * it (or open mode, with a warning, when open is allowed); -1: cannot run. */
static int find_passphrase(agent_stream *s, owp_stream_opts *o, uint8_t *buf, size_t cap)
{
    if (!o->client.identity)
        return 0;
    owp_err err;
    owp_err_clear(&err);
    size_t len = 0;
    if (!s->set->pfs_path[0])
        owp_err_set(&err, OWP_ERR_INVALID, "no pass-phrase file (owamp-server.pfs in -c)");
    else if (owp_pfs_find_in_file(s->set->pfs_path, o->client.identity, buf, cap, &len, &err) ==
             OWP_OK) {
        o->client.passphrase = buf;
        o->client.passphrase_len = len;
        return 0;
    }
    uint32_t modes = o->client.modes ? o->client.modes : 1u;
    if (!(modes & 1u)) {
        char msg[OWP_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "identity %s: %s", o->client.identity, err.msg);
        fail(s, msg);
        return -1;
    }
    agent_stream_log(s, LOG_WARNING, "identity %s: %s: using open mode only", o->client.identity,
                     err.msg);
    o->client.identity = NULL;
    return 0;
}

static agent_stream *stream_start(agent_streams *set, const owm_msg_stream *spec)
{
    agent_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->set = set;
    s->started = owp_clock_now(NULL);
    pthread_mutex_init(&s->mu, NULL);
    s->state = OWM_STREAM_STATE_STARTING;
    s->spec = owm_msg_stream_copy(spec, NULL);
    if (!s->spec) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    snprintf(s->work_dir, sizeof s->work_dir, "%s/%s", set->work_root, s->spec->id);
    s->queue = take_retired(set, s->spec->id);
    owp_err qerr;
    owp_err_clear(&qerr);
    if (!s->queue)
        s->queue = agent_spool_queue_new(set->spool, s->work_dir, s->spec->id, &qerr);
    if (!s->queue) {
        fail(s, qerr.msg);
        return s;
    }
    adopt_leftovers(s); /* a previous run's leftovers */
    if (mkdir(s->work_dir, 0755) != 0 && errno != EEXIST) {
        char msg[sizeof s->work_dir + 128];
        snprintf(msg, sizeof msg, "mkdir %s: %.100s", s->work_dir, strerror(errno));
        fail(s, msg);
        return s;
    }
    owp_stream_opts o;
    owp_stream_opts_default(&o);
    agent_streams_opts_of(s->spec, &o);
    o.client.src_addr = set->src_addr[0] ? set->src_addr : NULL;
    o.ports = set->ports;
    o.dir = s->work_dir;
    o.verbose = set->verbose;
    o.numeric_hosts = 1; /* no DNS on the measurement path; the mesh names nodes itself */
    if (set->start_delay > 0)
        o.start_delay = set->start_delay;
    o.file_fn = on_engine_file;
    o.unmeasured_fn = agent_stream_on_unmeasured;
    o.log_fn = on_engine_log;
    o.arg = s;
    uint8_t pass[PASSPHRASE_MAX];
    if (find_passphrase(s, &o, pass, sizeof pass) != 0)
        return s;
    owp_err err;
    owp_err_clear(&err);
    owp_stream *engine = owp_stream_start(&o, &err);
    memset(pass, 0, sizeof pass);
    pthread_mutex_lock(&s->mu);
    s->engine = engine;
    pthread_mutex_unlock(&s->mu);
    if (!engine) {
        fail(s, err.msg);
        return s;
    }
    agent_stream_log(s, LOG_INFO,
                     "started: peer %s, %u packets every %g s per session, loss timeout %g s",
                     s->spec->peer, o.npackets, o.interval, o.loss_timeout);
    return s;
}

/* ------------------------------------------------------------------ the set */

/* At start-up, every work directory under the root (streams stopped or
 * removed while the node was down too): its finished files go to the spool,
 * or, while the disk is full, wait in a retired queue (a stream of the
 * schedule takes its own back when it starts). */
static void adopt_work_dirs(agent_streams *self)
{
    DIR *d = opendir(self->work_root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        if (de->d_name[0] == '.' || !owm_msg_token_ok(de->d_name, OWM_MSG_MAX_ID) ||
            fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        char dir[sizeof self->work_root + OWM_MSG_MAX_ID + 2];
        snprintf(dir, sizeof dir, "%s/%.*s", self->work_root, (int)OWM_MSG_MAX_ID, de->d_name);
        owp_err err;
        owp_err_clear(&err);
        unsigned found = 0;
        agent_spool_queue *q = agent_spool_queue_new(self->spool, dir, de->d_name, &err);
        if (!q || agent_spool_queue_adopt(q, &found, &err) != OWP_OK) {
            daemon_log_at(LOG_WARNING, NULL, 0, "node %s: tidying %s: %s", self->node, dir,
                          err.msg);
            agent_spool_queue_destroy(&q);
            continue;
        }
        if (found)
            queue_log(self, NULL, q, LOG_INFO, "%u finished file(s) left in %s by the last run",
                      found, dir);
        settle_queue(self, NULL, &q);
    }
    closedir(d);
}

agent_streams *agent_streams_new(const agent_streams_config *c, owp_err *err)
{
    if (!c || !c->node || !c->work_root || !c->spool) {
        owp_err_set(err, OWP_ERR_INVALID, "agent_streams_new: node, work_root and spool needed");
        return NULL;
    }
    agent_streams *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "streams: out of memory");
        return NULL;
    }
    snprintf(self->node, sizeof self->node, "%s", c->node);
    if (strlen(c->work_root) + OWM_MSG_MAX_ID + 2 > sizeof self->work_root) {
        owp_err_set(err, OWP_ERR_INVALID, "%s: path too long", c->work_root);
        free(self);
        return NULL;
    }
    snprintf(self->work_root, sizeof self->work_root, "%s", c->work_root);
    snprintf(self->src_addr, sizeof self->src_addr, "%s", c->src_addr ? c->src_addr : "");
    snprintf(self->pfs_path, sizeof self->pfs_path, "%s", c->pfs_path ? c->pfs_path : "");
    self->spool = c->spool;
    self->ports = c->ports;
    self->verbose = c->verbose;
    self->start_delay = c->start_delay;
    if (mkdir(self->work_root, 0755) != 0 && errno != EEXIST) {
        owp_err_sys(err, "mkdir %s", self->work_root);
        free(self);
        return NULL;
    }
    adopt_work_dirs(self);
    return self;
}

/* Stop the streams v[0..n) together (each stop returns at once), then wait
 * for each one and tidy its work directory. */
static void stop_all(agent_stream **v, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++)
        if (v[i]->engine)
            owp_stream_stop(v[i]->engine);
    for (size_t i = 0; i < n; i++) {
        owp_stream_destroy(&v[i]->engine);
        if (v[i]->queue)
            settle_queue(v[i]->set, v[i], &v[i]->queue);
        agent_stream_log(v[i], LOG_INFO, "stopped (%s)", why);
        stream_free(&v[i]);
    }
}

void agent_streams_destroy(agent_streams **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_streams *self = *self_p;
    stop_all(self->v, self->n, "node shutting down");
    self->n = 0;
    agent_streams_retry_spool(self); /* the stopped streams' last chance */
    for (size_t i = 0; i < self->nretired; i++) {
        agent_spool_queue *q = self->retired[i];
        size_t unwritten = agent_spool_queue_unwritten(q);
        queue_log(self, NULL, q, LOG_ERR, "spool: %zu file(s) left in %s for the next start",
                  agent_spool_queue_waiting(q) - unwritten, agent_spool_queue_dir(q));
        if (unwritten) /* held in memory: nowhere to keep them once we exit */
            queue_log(self, NULL, q, LOG_ERR, "spool: %zu unmeasured interval(s) lost: they "
                      "could not be written to %s", unwritten, agent_spool_queue_dir(q));
        agent_spool_queue_destroy(&self->retired[i]);
    }
    free(self->retired);
    free(self->v);
    free(self);
    *self_p = NULL;
}

size_t agent_streams_count(const agent_streams *self)
{
    return self->n;
}

owp_status agent_streams_apply(agent_streams *self, owm_msg_stream *const *wanted, size_t n,
                               agent_apply_result *result, owp_err *err)
{
    memset(result, 0, sizeof *result);
    const owm_msg_stream **running = calloc(self->n ? self->n : 1, sizeof *running);
    if (!running)
        return owp_err_set(err, OWP_ERR_NOMEM, "streams: out of memory");
    for (size_t i = 0; i < self->n; i++)
        running[i] = self->v[i]->spec;
    agent_changes plan;
    owp_status st = agent_reconcile(running, self->n, (const owm_msg_stream *const *)wanted, n,
                                    &plan, err);
    free(running);
    if (st != OWP_OK)
        return st;
    agent_stream **gone = calloc(plan.nstop ? plan.nstop : 1, sizeof *gone);
    agent_stream **next = calloc(plan.nkeep + plan.nstart + 1, sizeof *next);
    if (!gone || !next) {
        free(gone);
        free(next);
        agent_changes_clear(&plan);
        return owp_err_set(err, OWP_ERR_NOMEM, "streams: out of memory");
    }
    for (size_t k = 0; k < plan.nstop; k++)
        gone[k] = self->v[plan.stop[k]];
    size_t nnext = 0;
    for (size_t k = 0; k < plan.nkeep; k++)
        next[nnext++] = self->v[plan.keep[k]];
    /* Removed and changed streams end before their replacements start: a
     * changed stream reuses its work directory. */
    stop_all(gone, plan.nstop, "no longer scheduled, or its parameters changed");
    free(gone);
    free(self->v);
    self->v = next;
    self->n = nnext;
    self->cap = plan.nkeep + plan.nstart + 1;
    for (size_t k = 0; k < plan.nstart; k++) {
        agent_stream *s = stream_start(self, wanted[plan.start[k]]);
        if (!s) {
            st = owp_err_set(err, OWP_ERR_NOMEM, "streams: out of memory starting stream %s",
                             wanted[plan.start[k]]->id);
            break;
        }
        if (!s->engine)
            result->failed++;
        self->v[self->n++] = s;
    }
    result->started = plan.nstart;
    result->stopped = plan.nstop;
    result->kept = plan.nkeep;
    result->changed = plan.nchanged;
    agent_changes_clear(&plan);
    atomic_store(&self->changed, 1);
    return st;
}

int agent_streams_take_changed(agent_streams *self)
{
    return atomic_exchange(&self->changed, 0);
}
