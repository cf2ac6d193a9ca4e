/* agent_streams.c - one stream engine per scheduled stream (see agent_streams.h). */
#include "agent_streams.h"

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

#define STREAMS_PATH_MAX 4096
#define PASSPHRASE_MAX 1024

typedef struct agent_stream {
    agent_streams *set;
    owm_msg_stream *spec; /* our own copy (owm_msg_stream_copy) */
    char work_dir[STREAMS_PATH_MAX + OWM_MSG_MAX_ID + 2];
    owp_stream *engine;   /* NULL: failed to start */
    agent_spool_queue *queue; /* its finished files on their way to the spool */
    owp_num64 started;    /* when the stream (re)started */
    /* health, written by the engine's thread, read by the main loop */
    pthread_mutex_t mu;
    owm_stream_state state;
    uint64_t sessions_completed;
    uint64_t last_session_end;
    uint32_t sent, lost;
    /* The coordinator's word on the sending node (main loop writes, the
     * engine's thread reads): down since, and the last period it was down. */
    owp_num64 down_since;   /* 0: not reported down now */
    owp_num64 down_from, down_until;
    char last_error[OWM_MSG_MAX_TEXT + 1];
    uint64_t files_spooled; /* filled by the status census */
} agent_stream;

struct agent_streams {
    char node[OWM_MSG_MAX_NAME + 1];
    char work_root[STREAMS_PATH_MAX];
    char src_addr[256];
    char pfs_path[STREAMS_PATH_MAX];
    agent_spool *spool;
    owp_portrange ports;
    int verbose;
    double start_delay;
    agent_stream **v;
    size_t n, cap;
    /* Queues of stopped streams (and of work directories found at start-up)
     * whose files could not be spooled yet: retried until they are. */
    agent_spool_queue **retired;
    size_t nretired;
    atomic_int changed;
};

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

static const char *source_of(const agent_stream *s)
{
    return s->spec->source && s->spec->source[0] ? s->spec->source : "?";
}

/* Every message names the node and the stream: the running stream s (its
 * source too), or, once it has stopped (s NULL), the stream of queue q. */
static void stream_vlog(const agent_streams *set, const agent_stream *s,
                        const agent_spool_queue *q, int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void stream_vlog(const agent_streams *set, const agent_stream *s,
                        const agent_spool_queue *q, int priority, const char *fmt, va_list ap)
{
    if (!daemon_log_enabled(priority))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (s)
        daemon_log_at(priority, NULL, 0, "node %s: stream %s (%s -> %s): %s", s->set->node,
                      s->spec->id, source_of(s), s->set->node, msg);
    else
        daemon_log_at(priority, NULL, 0, "node %s: stream %s (stopped): %s", set->node,
                      agent_spool_queue_stream(q), msg);
}

static void stream_log(const agent_stream *s, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void stream_log(const agent_stream *s, int priority, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stream_vlog(s->set, s, NULL, priority, fmt, ap);
    va_end(ap);
}

static void set_state_locked(agent_stream *s, owm_stream_state state)
{
    if (s->state != state) {
        s->state = state;
        atomic_store(&s->set->changed, 1);
    }
}

static void set_error_locked(agent_stream *s, const char *text)
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
    stream_vlog(set, s, q, priority, fmt, ap);
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
            set_error_locked(s, err->msg);
            pthread_mutex_unlock(&s->mu);
        }
    }
    if (r->now_unblocked)
        queue_log(set, s, q, LOG_NOTICE, "spool: space back, %u file(s) spooled",
                  r->since_blocked);
}

/* Spool what q holds, as far as the disk lets us. Files still waiting. */
static size_t drain_queue(const agent_streams *set, agent_stream *s, agent_spool_queue *q)
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
    stream_log(s, priority, "%s", msg);
    if (priority <= LOG_WARNING) {
        pthread_mutex_lock(&s->mu);
        set_error_locked(s, msg);
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
        stream_log(s, LOG_ERR, "%s: %s (kept in the work directory for the next start)",
                   f->path, err.msg);
        pthread_mutex_lock(&s->mu);
        set_error_locked(s, err.msg);
        pthread_mutex_unlock(&s->mu);
    }
    drain_queue(s->set, s, s->queue);
}

/* ------------------------------------------------------------------ unmeasured time */

static owm_unmeasured_reason mesh_reason(owp_stream_reason r)
{
    switch (r) {
    case OWP_STREAM_REFUSED: return OWM_UNMEASURED_OWAMPD_REFUSED;
    case OWP_STREAM_TIMEOUT: return OWM_UNMEASURED_CONTROL_TIMEOUT;
    case OWP_STREAM_UNREACHABLE: return OWM_UNMEASURED_UNREACHABLE;
    case OWP_STREAM_LOCAL: return OWM_UNMEASURED_LOCAL_ERROR;
    }
    return OWM_UNMEASURED_LOCAL_ERROR;
}

/* Was the sending node reported down at any time during [start, end)? */
static int source_down_locked(const agent_stream *s, owp_num64 start, owp_num64 end)
{
    if (s->down_since && s->down_since < end)
        return 1;
    return s->down_until > start && s->down_from < end;
}

/* The reason the mesh records: an outside failure while the coordinator
 * said the sending node was down is "peer down" (not its owampd, not the
 * network); a local error stays ours. */
static owm_unmeasured_reason attribute(agent_stream *s, owp_stream_reason r, owp_num64 start,
                                       owp_num64 end)
{
    owm_unmeasured_reason reason = mesh_reason(r);
    if (reason == OWM_UNMEASURED_LOCAL_ERROR)
        return reason;
    pthread_mutex_lock(&s->mu);
    int down = source_down_locked(s, start, end);
    pthread_mutex_unlock(&s->mu);
    return down ? OWM_UNMEASURED_PEER_DOWN : reason;
}

/* WORK/START_END.unm, queued for the spool as its text: the queue writes
 * it (through NAME.i) and spools it in its turn; when the disk is full it
 * waits in memory, in order, until it can be written. */
static owp_status spool_unmeasured(agent_stream *s, const owm_unmeasured *u, owp_err *err)
{
    char text[OWM_UNMEASURED_MAX_FILE];
    int len = owm_unmeasured_format(u, text, sizeof text);
    if (len < 0)
        return owp_err_set(err, OWP_ERR_INVALID, "unmeasured interval: invalid fields");
    char name[64];
    owp_stream_file_name(name, sizeof name, u->start, u->end, ".unm");
    owp_status st = agent_spool_queue_text(s->queue, name, OWM_FILE_KIND_UNMEASURED, u->start,
                                           u->end, text, (size_t)len, err);
    if (st != OWP_OK)
        return st;
    stream_log(s, LOG_DEBUG, "unmeasured interval %s (%s) queued for the spool", name,
               owm_unmeasured_reason_text(u->reason));
    drain_queue(s->set, s, s->queue);
    return OWP_OK;
}

static void record_unmeasured(agent_stream *s, owp_num64 start, owp_num64 end,
                              owm_unmeasured_reason reason, const char *detail)
{
    owm_unmeasured u;
    memset(&u, 0, sizeof u);
    snprintf(u.stream_id, sizeof u.stream_id, "%s", s->spec->id);
    snprintf(u.sender, sizeof u.sender, "%s", s->spec->peer ? s->spec->peer : "");
    snprintf(u.detail, sizeof u.detail, "%s", detail ? detail : "");
    u.start = start;
    u.end = end;
    u.reason = reason;
    owp_err err;
    owp_err_clear(&err);
    if (spool_unmeasured(s, &u, &err) != OWP_OK) {
        stream_log(s, LOG_ERR, "unmeasured interval: %s", err.msg);
        pthread_mutex_lock(&s->mu);
        set_error_locked(s, err.msg);
        pthread_mutex_unlock(&s->mu);
    }
}

static void on_engine_unmeasured(void *arg, const owp_stream_unmeasured *u)
{
    agent_stream *s = arg;
    record_unmeasured(s, u->start, u->end, attribute(s, u->reason, u->start, u->end),
                      u->detail);
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
    size_t waiting = drain_queue(set, s, q);
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
        stream_log(s, LOG_WARNING, "tidying %s: %s", s->work_dir, err.msg);
    size_t waiting = drain_queue(s->set, s, s->queue);
    if (found)
        stream_log(s, LOG_INFO, "%u finished file(s) left in %s: %zu still waiting for the spool",
                   found, s->work_dir, waiting);
}

static void fail(agent_stream *s, const char *msg)
{
    stream_log(s, LOG_ERR, "cannot run: %s", msg);
    pthread_mutex_lock(&s->mu);
    set_state_locked(s, OWM_STREAM_STATE_FAILED);
    set_error_locked(s, msg);
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
    stream_log(s, LOG_WARNING, "identity %s: %s: using open mode only", o->client.identity,
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
    o.unmeasured_fn = on_engine_unmeasured;
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
    stream_log(s, LOG_INFO, "started: peer %s, %u packets every %g s per session, loss timeout %g s",
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
        stream_log(v[i], LOG_INFO, "stopped (%s)", why);
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

/* ------------------------------------------------------------------ status */

typedef struct census {
    agent_streams *set;
    uint64_t files, bytes;
} census;

static void count_file(void *arg, const agent_spool_entry *e, uint64_t size)
{
    census *c = arg;
    c->files++;
    c->bytes += size;
    for (size_t i = 0; i < c->set->n; i++)
        if (strcmp(c->set->v[i]->spec->id, e->stream_id) == 0) {
            c->set->v[i]->files_spooled++;
            break;
        }
}

/* One stream's health; last_error into text; returns the unmeasured reason
 * ("" when the stream is not failing). */
static const char *fill_health(agent_stream *s, owm_msg_stream_health *h, char *text, size_t len)
{
    owp_stream_health eh;
    memset(&eh, 0, sizeof eh);
    if (s->engine)
        owp_stream_get_health(s->engine, &eh);
    owp_num64 now = owp_clock_now(NULL);
    pthread_mutex_lock(&s->mu);
    owm_stream_state state = s->state;
    const char *why = "";
    if (eh.failing_since && state != OWM_STREAM_STATE_FAILED) {
        owm_unmeasured_reason r = mesh_reason(eh.reason);
        if (r != OWM_UNMEASURED_LOCAL_ERROR && s->down_since)
            r = OWM_UNMEASURED_PEER_DOWN;
        why = owm_unmeasured_reason_text(r);
        /* Failing for an outside reason is not the stream's failure: it is
         * starting (never measured yet) or backing off, and unmeasured. */
        if (r == OWM_UNMEASURED_LOCAL_ERROR)
            state = OWM_STREAM_STATE_FAILED;
        else if (s->sessions_completed == 0)
            state = OWM_STREAM_STATE_STARTING;
        else
            state = OWM_STREAM_STATE_BACKOFF;
        h->unmeasured_since = eh.failing_since;
    }
    h->state = state;
    h->started = s->started;
    h->last_attempt = eh.last_attempt;
    h->sessions_completed = s->sessions_completed;
    h->last_session_end = s->last_session_end <= now ? s->last_session_end : now;
    h->packets_sent = s->sent;
    h->packets_lost = s->lost;
    h->files_spooled = s->files_spooled;
    snprintf(text, len, "%s", s->last_error);
    pthread_mutex_unlock(&s->mu);
    return why;
}

size_t agent_streams_retry_spool(agent_streams *self)
{
    size_t waiting = 0;
    for (size_t i = 0; i < self->n; i++)
        if (self->v[i]->queue)
            waiting += drain_queue(self, self->v[i], self->v[i]->queue);
    for (size_t i = self->nretired; i-- > 0;) {
        agent_spool_queue *q = self->retired[i];
        size_t left = drain_queue(self, NULL, q);
        waiting += left;
        if (left)
            continue;
        agent_spool_queue_engine_gone(q);
        rmdir(agent_spool_queue_dir(q)); /* only when empty */
        agent_spool_queue_destroy(&q);
        memmove(self->retired + i, self->retired + i + 1,
                (self->nretired - i - 1) * sizeof *self->retired);
        self->nretired--;
    }
    return waiting;
}

owp_status agent_streams_fill_status(agent_streams *self, owm_msg_status *status, owp_err *err)
{
    agent_streams_retry_spool(self); /* the periodic retry, when space came back */
    census c = {.set = self};
    for (size_t i = 0; i < self->n; i++)
        self->v[i]->files_spooled = 0;
    owp_status st = agent_spool_scan(self->spool, count_file, &c, err);
    if (st != OWP_OK)
        return st;
    status->spool_files = c.files;
    status->spool_bytes = c.bytes;
    for (size_t i = 0; i < self->n; i++) {
        agent_stream *s = self->v[i];
        owm_msg_stream_health *h = owm_msg_status_add_stream(status, err);
        if (!h)
            return err ? err->code : OWP_ERR_NOMEM;
        char text[OWM_MSG_MAX_TEXT + 1];
        const char *why = fill_health(s, h, text, sizeof text);
        if ((st = owm_msg_set_string(&h->id, s->spec->id, err)) != OWP_OK ||
            (st = owm_msg_set_string(&h->last_error, text, err)) != OWP_OK ||
            (st = owm_msg_set_string(&h->unmeasured_reason, why, err)) != OWP_OK)
            return st;
    }
    return OWP_OK;
}

/* ------------------------------------------------------------------ the coordinator's word */

static int listed(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

void agent_streams_set_peers_down(agent_streams *self, const char *const *down, size_t n)
{
    owp_num64 now = owp_clock_now(NULL);
    for (size_t i = 0; i < self->n; i++) {
        agent_stream *s = self->v[i];
        int is_down = s->spec->source && listed(s->spec->source, down, n);
        pthread_mutex_lock(&s->mu);
        int went = is_down && !s->down_since, back = !is_down && s->down_since;
        if (went) {
            s->down_since = now;
        } else if (back) {
            s->down_from = s->down_since;
            s->down_until = now;
            s->down_since = 0;
        }
        pthread_mutex_unlock(&s->mu);
        if (went)
            stream_log(s, LOG_INFO, "the coordinator reports node %s down: what cannot be "
                       "measured is \"peer down\"", source_of(s));
        if (back) {
            stream_log(s, LOG_INFO, "the coordinator reports node %s back: retrying now",
                       source_of(s));
            owp_stream_retry_now(s->engine);
            atomic_store(&self->changed, 1);
        }
    }
}

size_t agent_streams_record_node_down(agent_streams *self, owp_num64 since, double min_seconds)
{
    size_t count = 0;
    char when[64], detail[160];
    owp_ntp_format_local(since, when, sizeof when);
    snprintf(detail, sizeof detail, "owmesh-node was not running (last alive %s)", when);
    for (size_t i = 0; since && i < self->n; i++) {
        agent_stream *s = self->v[i];
        if (!s->engine)
            continue;
        owp_num64 first = owp_stream_first_start(s->engine);
        if (first <= since || owp_num64_to_double(first - since) <= min_seconds)
            continue;
        record_unmeasured(s, since, first, OWM_UNMEASURED_NODE_DOWN, detail);
        stream_log(s, LOG_INFO, "unmeasured while the node was down: %.0f s",
                   owp_num64_to_double(first - since));
        count++;
    }
    return count;
}
