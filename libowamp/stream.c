/*
 * stream.c - the continuous-stream engine (see stream.h for the contract).
 *
 * One thread per stream drives a pool of control connections ("slots"). The
 * stream's time line is a sequence of sessions k = 0, 1, ... with start times
 * S_0 = now + start_delay and S_{k+1} = scheduled time of the last packet of
 * session k, interrupted only by unmeasured intervals. Each turn of the loop:
 *   1. polls the running sessions; a finished one has its files written and
 *      its slot freed (its connection kept for the next session); what it
 *      could not measure goes back to the time line (the last session) or
 *      is held as an unmeasured interval;
 *   2. writes the sub-session summaries that are due, from the growing file;
 *   3. opens a "hole" when the next start is too close to be set up any
 *      more: from then on the next start follows the clock (now + lead)
 *      until a session is set up, which closes the hole at its start;
 *   4. sets the next session up on a free slot, unless backing off;
 *   5. reports the held unmeasured intervals whose end has passed;
 * then sleeps until woken by a stop or a retry, or for at most TICK_MS.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hostport.h"
#include "owpfile.h"
#include "report.h"
#include "sendsched.h"

#define TICK_MS 20
#define STREAM_PATH_MAX 4096
/* Seconds after a sub-session's last packet + loss timeout before its summary
 * is taken from the growing file (the receiver has then written every record). */
#define SUB_SETTLE_SEC 1.0
/* First back-off step after a failed attempt; doubles up to retry_delay and
 * OWP_STREAM_RETRY_MAX. */
#define BACKOFF_FIRST_SEC 1.0
#define BACKOFF_MIN_SEC 0.1
#define POOL_MAX 64
/* A failed session: packets due this close to the last sign of life of its
 * server may not have left or arrived yet; they count as unmeasured. */
#define IN_FLIGHT_SEC 0.1
#define TSTAMP_FMT "%020" PRIu64

/* A session in flight on a slot. */
typedef struct stream_session {
    uint64_t index;
    owp_num64 start, end;          /* file-name times */
    owp_request req;               /* as accepted (owned copy) */
    owp_sched *sched;
    char tmp_path[STREAM_PATH_MAX]; /* receive: the client's file; -t: the fetched copy */
    FILE *fp;
    uint32_t subs_done;            /* sub-session summaries written */
    owp_num64 sub_start;           /* name START of the next sub-session */
} stream_session;

typedef struct stream_slot {
    owp_client *client;
    int running;
    stream_session sess;
    owp_num64 alive_at;            /* the connection was last seen open (set-up, polls) */
} stream_slot;

/* A stretch of the time line that was not measured, and why. */
typedef struct stream_interval {
    owp_num64 start, end;
    owp_stream_reason reason;
    char detail[OWP_ERR_MSG_MAX];
} stream_interval;

/* How a session ended, as write_session needs to know it. */
typedef struct session_outcome {
    int ok;                        /* Stop-Sessions exchanged normally */
    owp_num64 alive_at;            /* unless ok: the server was last known alive */
    owp_stream_reason reason;      /* unless ok */
    char detail[OWP_ERR_MSG_MAX];
} session_outcome;

struct owp_stream {
    owp_stream_opts o;
    char *server, *testpeer, *dir, *identity, *src_addr, *bind_device, *default_port;
    uint8_t *passphrase;

    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int done;
    atomic_int retry;              /* owp_stream_retry_now() was called */
    pthread_mutex_t mu;            /* guards counters, health and the wake-up */
    pthread_cond_t cv;
    owp_stream_counters counters;
    owp_stream_health health;

    owp_slot sched_slot;           /* one exponential slot of mean interval */
    stream_slot *slots;
    unsigned nslots;
    uint64_t next_index;
    owp_num64 first_start;
    owp_num64 next_start;
    double last_rtt;

    /* Set-up failures: the latest one (a hole opened later takes its reason)
     * and the back-off, for the whole stream (one dead server, one wait). */
    int have_fail;
    owp_stream_reason fail_reason;
    char fail_detail[OWP_ERR_MSG_MAX];
    unsigned failures;
    double retry_at;               /* monotonic seconds; 0 = no wait */

    /* Unmeasured time: the open hole [hole.start, next_start), and closed
     * intervals held until their end has passed. */
    int hole_open;
    stream_interval hole;
    stream_interval *held;
    unsigned nheld, held_cap;

    struct sockaddr_storage peer;  /* test peer (for spec.peer) */
    socklen_t peer_len;
    int have_peer;                 /* testpeer given apart from the server */

    /* Host names for .sum files, resolved once: a reverse lookup can take seconds
     * and must not sit on the measurement thread at every session boundary. */
    uint8_t named_addr[2][16];
    char host_name[2][NI_MAXHOST];
    int names_valid;
    const char *names_ptr[2];
};

/* ------------------------------------------------------------------ helpers */

static void slog(owp_stream *s, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void slog(owp_stream *s, int priority, const char *fmt, ...)
{
    if (!s->o.log_fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->o.log_fn(s->o.arg, priority, msg);
}

static void count(owp_stream *s, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    *field += n;
    pthread_mutex_unlock(&s->mu);
}

void owp_stream_file_name(char *buf, unsigned len, owp_num64 start, owp_num64 end,
                          const char *ext)
{
    snprintf(buf, len, TSTAMP_FMT "_" TSTAMP_FMT "%s", start, end, ext);
}

static void stream_path(const owp_stream *s, char *buf, size_t len, owp_num64 start,
                        owp_num64 end, const char *ext)
{
    char name[64];
    owp_stream_file_name(name, sizeof name, start, end, ext);
    snprintf(buf, len, "%s/%s", s->dir, name);
}

void owp_stream_opts_default(owp_stream_opts *o)
{
    memset(o, 0, sizeof *o);
    owp_client_opts_default(&o->client);
    o->client.modes = OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    o->client.control_timeout_ms = 5000;
    o->npackets = 300;
    o->interval = 0.1;
    o->loss_timeout = 10.0;
    o->enddelay = 1.0;
    o->dscp = -1;
    o->start_delay = 10.0;
    o->retry_delay = 60.0;
    o->bucket_width = 0.0001;
    o->dir = ".";
}

owp_status owp_stream_check_opts(const owp_stream_opts *o, owp_err *err)
{
    if (!o || !o->client.server || !o->client.server[0])
        return owp_err_set(err, OWP_ERR_INVALID, "stream: no server given");
    if (o->npackets == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: packet count (-c) must be positive");
    if (o->sub_count > o->npackets || (o->sub_count && o->npackets % o->sub_count != 0))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "Number of summary packets (-N %u) must be a divisor of the number "
                           "of session packets (-c %u).",
                           o->sub_count, o->npackets);
    if (!(o->interval > 0) || o->interval > 1e6)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: interval (-i) %g must be positive",
                           o->interval);
    if (!(o->loss_timeout > 0) || o->loss_timeout > 1e6)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: loss timeout (-L) %g must be positive",
                           o->loss_timeout);
    if (!(o->bucket_width > 0))
        return owp_err_set(err, OWP_ERR_INVALID, "stream: bucket width (-b) must be positive");
    if (o->enddelay < 0 || o->start_delay < 0 || o->retry_delay < 0 || o->min_lead < 0)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: negative delay");
    return OWP_OK;
}

/* Seconds a session occupies its connection after its last packet: loss
 * timeout + end delay + the Stop-Sessions exchange; the next session on the
 * same connection needs its start at least min_lead after that. */
unsigned owp_stream_pool_size(const owp_stream_opts *o)
{
    double duration = 0.9 * o->npackets * o->interval; /* exponential: allow for variance */
    double busy = o->loss_timeout + (o->enddelay > 1.0 ? o->enddelay : 1.0) +
                  (o->min_lead > 0 ? o->min_lead : 1.0) + 1.0;
    if (duration <= 0)
        return POOL_MAX;
    double n = 1.0 + ceil(busy / duration);
    if (n < 2)
        n = 2;
    if (n > POOL_MAX)
        n = POOL_MAX;
    return (unsigned)n;
}

void owp_stream_get_counters(const owp_stream *self, owp_stream_counters *c)
{
    owp_stream *s = (owp_stream *)self;
    pthread_mutex_lock(&s->mu);
    *c = s->counters;
    pthread_mutex_unlock(&s->mu);
}

void owp_stream_get_health(const owp_stream *self, owp_stream_health *h)
{
    owp_stream *s = (owp_stream *)self;
    pthread_mutex_lock(&s->mu);
    *h = s->health;
    pthread_mutex_unlock(&s->mu);
}

const char *owp_stream_reason_text(owp_stream_reason r)
{
    switch (r) {
    case OWP_STREAM_REFUSED: return "owampd refused";
    case OWP_STREAM_TIMEOUT: return "control timeout";
    case OWP_STREAM_UNREACHABLE: return "unreachable";
    case OWP_STREAM_LOCAL: return "local error";
    }
    return "local error";
}

int owp_stream_done(const owp_stream *self) { return atomic_load(&self->done); }

owp_num64 owp_stream_first_start(const owp_stream *self) { return self->first_start; }

static void notify_file(owp_stream *s, owp_stream_file_kind kind, const char *path,
                        owp_num64 start, owp_num64 end, uint64_t index, uint32_t first,
                        uint32_t last, int complete)
{
    count(s, &s->counters.files, 1);
    if (!s->o.file_fn)
        return;
    owp_stream_file f = {
        .kind = kind, .path = path, .start = start, .end = end, .session = index,
        .first_seq = first, .last_seq = last, .complete = complete,
    };
    s->o.file_fn(s->o.arg, &f);
}

/* NAME.i -> NAME (link, so an existing NAME is never replaced), then drop NAME.i. */
static owp_status publish(const char *tmp, const char *name, owp_err *err)
{
    if (link(tmp, name) != 0) {
        owp_status st = owp_err_sys(err, "link(%s, %s)", tmp, name);
        unlink(tmp);
        return st;
    }
    unlink(tmp);
    return OWP_OK;
}

/* ------------------------------------------------------------------ summaries */

/* The -M summary of block `block` (sub_count packets each; sub_count 0 = the
 * whole session) of the file at path, into out. preliminary: SESSION_FINISHED 0. */
/* Sender and receiver names for a session's summary: numeric with
 * numeric_hosts, else reverse-resolved once per stream and cached. */
static const char **stream_host_names(owp_stream *s, const owp_request *req)
{
    static const char *none[2] = {NULL, NULL};
    if (!req)
        return none;
    const uint8_t *addr[2] = {req->sender_addr, req->receiver_addr};
    if (!s->names_valid || memcmp(s->named_addr[0], addr[0], 16) != 0 ||
        memcmp(s->named_addr[1], addr[1], 16) != 0) {
        for (int i = 0; i < 2; i++) {
            struct sockaddr_storage ss;
            socklen_t len;
            memcpy(s->named_addr[i], addr[i], 16);
            if (owp_sockaddr_from_wire(req->ipvn, addr[i], 0, &ss, &len, NULL) != OWP_OK)
                snprintf(s->host_name[i], sizeof s->host_name[i], "***");
            else if (s->o.numeric_hosts)
                owp_sockaddr_format_addr((struct sockaddr *)&ss, s->host_name[i], NI_MAXHOST);
            else
                owp_sockaddr_name((struct sockaddr *)&ss, s->host_name[i], NI_MAXHOST);
        }
        s->names_valid = 1;
    }
    s->names_ptr[0] = s->host_name[0];
    s->names_ptr[1] = s->host_name[1];
    return s->names_ptr;
}

static owp_status render_summary(owp_stream *s, const char *path, uint32_t sub_count,
                                 uint32_t block, int preliminary, FILE *out, owp_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return owp_err_sys(err, "open %s", path);
    owp_file *f = owp_file_read(fp, path, err);
    if (!f) {
        fclose(fp);
        return err ? err->code : OWP_ERR_FORMAT;
    }
    owp_report_opts ro;
    owp_report_opts_default(&ro);
    ro.machine = 1;
    ro.bucket_width = s->o.bucket_width;
    ro.unix_times = s->o.unix_times;
    ro.sub_count = sub_count;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    owp_status st = mem ? OWP_OK : owp_err_sys(err, "open_memstream");
    if (st == OWP_OK) {
        const char **names = stream_host_names(s, owp_file_request(f));
        st = owp_report_file(mem, f, names[0], names[1], &ro, err);
        fclose(mem);
    }
    owp_file_destroy(&f);
    fclose(fp);
    if (st != OWP_OK) {
        free(text);
        return st;
    }
    /* Blocks each begin with a SUMMARY line. */
    const char *tag = "SUMMARY\t";
    char *b = text;
    for (uint32_t i = 0; b && i < block; i++)
        b = strstr(b + 1, tag);
    if (!b || strncmp(b, tag, strlen(tag)) != 0) {
        free(text);
        return owp_err_set(err, OWP_ERR_FORMAT, "%s: no summary for block %u", path, block);
    }
    char *e = strstr(b + 1, tag);
    size_t blen = e ? (size_t)(e - b) : strlen(b);
    char *fin = preliminary ? strstr(b, "SESSION_FINISHED\t1\n") : NULL;
    if (fin && (size_t)(fin - b) < blen)
        fin[strlen("SESSION_FINISHED\t")] = '0';
    if (fwrite(b, 1, blen, out) != blen)
        st = owp_err_sys(err, "write summary");
    free(text);
    return st;
}

/* Write one .sum file (via NAME.i) from the data file at data_path. */
static owp_status write_sum(owp_stream *s, const char *data_path, uint32_t sub_count,
                            uint32_t block, int preliminary, const char *name, owp_err *err)
{
    char tmp[STREAM_PATH_MAX + 4];
    snprintf(tmp, sizeof tmp, "%s.i", name);
    FILE *out = fopen(tmp, "w");
    if (!out)
        return owp_err_sys(err, "create %s", tmp);
    owp_status st = render_summary(s, data_path, sub_count, block, preliminary, out, err);
    if (fclose(out) != 0 && st == OWP_OK)
        st = owp_err_sys(err, "write %s", tmp);
    if (st != OWP_OK) {
        unlink(tmp);
        return st;
    }
    return publish(tmp, name, err);
}

/* Scheduled send time of seq in a session. */
static owp_num64 sched_time(stream_session *ss, uint32_t seq)
{
    return ss->req.start_time + owp_sched_offset(ss->sched, seq);
}

/* Sub-session summaries [subs_done, upto) of ss from the data at data_path;
 * the name END of a block is clamped to end_cap. */
static void write_subs(owp_stream *s, stream_session *ss, const char *data_path, uint32_t upto,
                       owp_num64 end_cap, int complete)
{
    uint32_t n = s->o.sub_count;
    while (ss->subs_done < upto) {
        uint32_t j = ss->subs_done;
        owp_num64 end = sched_time(ss, (j + 1) * n - 1);
        if (end > end_cap)
            end = end_cap;
        if (ss->sub_start == ss->start && end == end_cap) {
            /* A stopped session inside its first block: the session's own
             * summary has this very name and content. */
            ss->subs_done = upto;
            break;
        }
        char name[STREAM_PATH_MAX];
        stream_path(s, name, sizeof name, ss->sub_start, end, ".sum");
        owp_err err;
        owp_err_clear(&err);
        if (write_sum(s, data_path, n, j, 1, name, &err) != OWP_OK)
            slog(s, LOG_WARNING, "sub-session summary %s: %s", name, err.msg);
        else
            notify_file(s, OWP_STREAM_FILE_SUBSUM, name, ss->sub_start, end, ss->index, j * n,
                        (j + 1) * n, complete);
        ss->sub_start = end;
        ss->subs_done++;
    }
}

static int subs_enabled(const owp_stream *s)
{
    return s->o.sub_count && s->o.sub_count < s->o.npackets;
}

/* While a receive session runs: summaries whose packets have all settled. */
static void running_subs(owp_stream *s, stream_slot *sl)
{
    stream_session *ss = &sl->sess;
    if (!subs_enabled(s) || s->o.sender || !ss->fp)
        return;
    uint32_t nblocks = s->o.npackets / s->o.sub_count;
    owp_num64 now = owp_clock_now(NULL);
    owp_num64 settle = owp_num64_from_double(s->o.loss_timeout + SUB_SETTLE_SEC);
    uint32_t upto = ss->subs_done;
    /* The last block is left to the end of the session (it ends the .owp's time line). */
    while (upto + 1 < nblocks &&
           sched_time(ss, (upto + 1) * s->o.sub_count - 1) + settle <= now)
        upto++;
    if (upto > ss->subs_done)
        write_subs(s, ss, ss->tmp_path, upto, ss->end, 0);
}

/* ------------------------------------------------------------------ session files */

typedef struct scan_ctx {
    uint8_t *seen;                 /* one byte per seq */
    uint32_t npackets;
    int have_max;
    uint32_t max_seq;              /* highest seq outside the skip ranges */
    const owp_skip *skips;
    uint32_t nskips;
    owp_file_writer *copy;         /* when padding: every record below `keep` copied */
    uint32_t keep;
    uint64_t lost;                 /* lost records seen (below `keep` when copying) */
    owp_status st;
    owp_err *err;
} scan_ctx;

static int in_skips(const owp_skip *skips, uint32_t nskips, uint32_t seq)
{
    for (uint32_t i = 0; i < nskips; i++)
        if (seq >= skips[i].first && seq <= skips[i].last)
            return 1;
    return 0;
}

static int scan_record(const owp_record *r, void *arg)
{
    scan_ctx *c = arg;
    if (owp_record_lost(r) && (!c->copy || r->seq < c->keep))
        c->lost++;
    if (r->seq < c->npackets) {
        c->seen[r->seq] = 1;
        if (!in_skips(c->skips, c->nskips, r->seq) && (!c->have_max || r->seq > c->max_seq)) {
            c->max_seq = r->seq;
            c->have_max = 1;
        }
    }
    if (c->copy && r->seq < c->keep &&
        (c->st = owp_file_writer_add(c->copy, r, c->err)) != OWP_OK)
        return 1;
    return 0;
}

/* Write a receiver-layout file at path holding seqs [0, keep) of req: the
 * records of f (if any), then a lost record for every such seq that has none
 * and is in no skip range. Its Next Seqno is keep; *nlost counts its lost
 * records. */
static owp_status write_padded(stream_session *ss, owp_file *f, const owp_request *req,
                               uint32_t keep, const char *path, uint64_t *nlost, owp_err *err)
{
    *nlost = 0;
    FILE *out = fopen(path, "w+b");
    if (!out)
        return owp_err_sys(err, "create %s", path);
    owp_file_writer *w = owp_file_writer_new(out, req, err);
    owp_status st = w ? OWP_OK : (err ? err->code : OWP_ERR_SYS);
    uint8_t *seen = st == OWP_OK ? calloc(req->npackets ? req->npackets : 1, 1) : NULL;
    if (st == OWP_OK && !seen)
        st = owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path);
    const owp_skip *skips = f ? owp_file_skips(f) : NULL;
    uint32_t nskips = f ? owp_file_nskips(f) : 0;
    if (st == OWP_OK && f) {
        scan_ctx c = { .seen = seen, .npackets = req->npackets, .skips = skips, .nskips = nskips,
                       .copy = w, .keep = keep, .err = err };
        st = owp_file_each_record(f, 0, scan_record, &c, err);
        if (st == OWP_OK)
            st = c.st;
        *nlost = c.lost;
    }
    uint16_t recv_err = owp_clock_errest();
    for (uint32_t seq = 0; st == OWP_OK && seq < keep && seq < req->npackets; seq++) {
        if (seen[seq] || in_skips(skips, nskips, seq))
            continue;
        owp_record r = { .seq = seq, .send_err = OWP_ERREST_UNSYNC, .recv_err = recv_err,
                         .send_time = sched_time(ss, seq), .recv_time = 0, .ttl = 255 };
        st = owp_file_writer_add(w, &r, err);
        (*nlost)++;
    }
    if (st == OWP_OK)
        st = owp_file_writer_finish(w, OWP_FINISHED_INCOMPLETE, keep, skips, nskips, err);
    free(seen);
    owp_file_writer_destroy(&w);
    if (fclose(out) != 0 && st == OWP_OK)
        st = owp_err_sys(err, "write %s", path);
    if (st != OWP_OK)
        unlink(path);
    return st;
}

/* Does f hold every packet of the session, finished normally? Also finds the
 * highest measured seq (for a stopped or cut session's END) and counts its
 * lost records. */
static owp_status examine(owp_file *f, uint32_t npackets, int *whole, int *have_max,
                          uint32_t *max_seq, uint64_t *nlost, owp_err *err)
{
    uint8_t *seen = calloc(npackets ? npackets : 1, 1);
    if (!seen)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    scan_ctx c = { .seen = seen, .npackets = npackets, .skips = owp_file_skips(f),
                   .nskips = owp_file_nskips(f), .err = err };
    owp_status st = owp_file_each_record(f, 0, scan_record, &c, err);
    *whole = owp_file_finished(f) == OWP_FINISHED_NORMAL && owp_file_next_seqno(f) >= npackets;
    for (uint32_t i = 0; *whole && i < npackets; i++)
        if (!seen[i] && !in_skips(c.skips, c.nskips, i))
            *whole = 0;
    *have_max = c.have_max;
    *max_seq = c.max_seq;
    *nlost = c.lost;
    free(seen);
    return st;
}

static void session_clear(stream_session *ss)
{
    if (ss->fp)
        fclose(ss->fp);
    ss->fp = NULL;
    if (ss->tmp_path[0])
        unlink(ss->tmp_path);
    ss->tmp_path[0] = '\0';
    owp_sched_destroy(&ss->sched);
    owp_request_clear(&ss->req);
}

/* A private file in the output directory for session data. */
static FILE *temp_file(owp_stream *s, char *path, size_t len, owp_err *err)
{
    snprintf(path, len, "%s/.pow.XXXXXX", s->dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        owp_err_sys(err, "mkstemp(%s)", path);
        path[0] = '\0';
        return NULL;
    }
    /* Readers of the output directory get the same access as to the summaries. */
    if (fchmod(fd, 0644) != 0) {
        owp_err_sys(err, "fchmod(%s)", path);
        close(fd);
        unlink(path);
        path[0] = '\0';
        return NULL;
    }
    FILE *fp = fdopen(fd, "w+b");
    if (!fp) {
        owp_err_sys(err, "fdopen(%s)", path);
        close(fd);
        unlink(path);
        path[0] = '\0';
        return NULL;
    }
    /* Unbuffered: sub-session summaries read the file while it grows. */
    setvbuf(fp, NULL, _IONBF, 0);
    return fp;
}

/* ------------------------------------------------------------------ unmeasured time */

/* Does msg carry the text of errno e (owp_err_sys appends strerror)? */
static int mentions_errno(const char *msg, int e)
{
    char buf[128];
    const char *text = strerror_r(e, buf, sizeof buf);
    return text && text[0] && strstr(msg, text) != NULL;
}

/* Why a set-up or a session failed, from its error: the peer's doing
 * (refused, silent, out of reach) or ours. */
static owp_stream_reason classify(const owp_err *err)
{
    static const int refused[] = { ECONNREFUSED, ECONNRESET, ECONNABORTED, EPIPE };
    static const int unreachable[] = { EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN };
    if (strstr(err->msg, "unable to resolve"))
        return OWP_STREAM_UNREACHABLE;
    switch (err->code) {
    case OWP_ERR_REFUSED:
    case OWP_ERR_CLOSED:
    case OWP_ERR_PROTO:
    case OWP_ERR_FORMAT: /* the server's messages: a broken or dying peer */
        return OWP_STREAM_REFUSED;
    case OWP_ERR_TIMEOUT:
        return OWP_STREAM_TIMEOUT;
    case OWP_ERR_SYS:
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            if (mentions_errno(err->msg, refused[i]))
                return OWP_STREAM_REFUSED;
        if (mentions_errno(err->msg, ETIMEDOUT))
            return OWP_STREAM_TIMEOUT;
        for (size_t i = 0; i < sizeof unreachable / sizeof unreachable[0]; i++)
            if (mentions_errno(err->msg, unreachable[i]))
                return OWP_STREAM_UNREACHABLE;
        return OWP_STREAM_LOCAL;
    default:
        return OWP_STREAM_LOCAL;
    }
}

static void outcome_failed(session_outcome *o, owp_stream_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void outcome_failed(session_outcome *o, owp_stream_reason reason, const char *fmt, ...)
{
    o->ok = 0;
    o->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
}

/* The length of one session on the time line (at least 1 s): the unit in
 * which a long outage is reported. */
static owp_num64 session_length(const owp_stream *s)
{
    double d = s->o.npackets * s->o.interval;
    return owp_num64_from_double(d > 1.0 ? d : 1.0);
}

static void report_interval(owp_stream *s, const stream_interval *iv)
{
    count(s, &s->counters.intervals, 1);
    slog(s, LOG_WARNING, "not measured [" TSTAMP_FMT " - " TSTAMP_FMT "] (%.1f s): %s: %s",
         iv->start, iv->end, owp_num64_to_double(iv->end - iv->start),
         owp_stream_reason_text(iv->reason), iv->detail);
    if (s->o.unmeasured_fn) {
        owp_stream_unmeasured u = { .start = iv->start, .end = iv->end, .reason = iv->reason,
                                    .detail = iv->detail };
        s->o.unmeasured_fn(s->o.arg, &u);
    }
}

/* Hold [start, end) until its end has passed; merged into the interval
 * before it when they abut, agree on the reason and stay within a session
 * length (a long outage is reported piece by piece, never held long). */
static void hold(owp_stream *s, owp_num64 start, owp_num64 end, owp_stream_reason reason,
                 const char *detail)
{
    if (end <= start)
        return;
    if (s->nheld) {
        stream_interval *last = &s->held[s->nheld - 1];
        if (last->end == start && last->reason == reason &&
            end - last->start <= session_length(s)) {
            last->end = end;
            return;
        }
    }
    stream_interval iv = { .start = start, .end = end, .reason = reason };
    snprintf(iv.detail, sizeof iv.detail, "%s", detail);
    if (s->nheld == s->held_cap) {
        unsigned cap = s->held_cap ? s->held_cap * 2 : 4;
        stream_interval *v = realloc(s->held, cap * sizeof *v);
        if (!v) { /* cannot wait for its end: say it now rather than never */
            report_interval(s, &iv);
            return;
        }
        s->held = v;
        s->held_cap = cap;
    }
    s->held[s->nheld++] = iv;
}

/* Report the held intervals whose end has passed. flush (the stream ends):
 * everything up to now, the open hole included; nothing after now. */
static void report_held(owp_stream *s, int flush)
{
    owp_num64 now = owp_clock_now(NULL);
    if (flush && s->hole_open) {
        hold(s, s->hole.start, now, s->hole.reason, s->hole.detail);
        s->hole_open = 0;
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < s->nheld; i++) {
        stream_interval *iv = &s->held[i];
        if (iv->end <= now) {
            report_interval(s, iv);
        } else if (flush) {
            if (iv->start < now) {
                iv->end = now;
                report_interval(s, iv);
            }
        } else {
            if (kept != i)
                s->held[kept] = *iv;
            kept++;
        }
    }
    s->nheld = kept;
}

/* Something failed for reason: the open hole (if any) ends its stretch with
 * the old reason at now, and health says the stream is failing. */
static void note_fault(owp_stream *s, owp_stream_reason reason, const char *detail)
{
    owp_num64 now = owp_clock_now(NULL);
    if (s->hole_open && (reason != s->hole.reason || strcmp(detail, s->hole.detail) != 0)) {
        owp_num64 at = now < s->next_start ? now : s->next_start;
        if (reason != s->hole.reason && at > s->hole.start) {
            hold(s, s->hole.start, at, s->hole.reason, s->hole.detail);
            s->hole.start = at;
        }
        s->hole.reason = reason;
        snprintf(s->hole.detail, sizeof s->hole.detail, "%s", detail);
    }
    s->have_fail = 1;
    s->fail_reason = reason;
    snprintf(s->fail_detail, sizeof s->fail_detail, "%s", detail);
    pthread_mutex_lock(&s->mu);
    if (!s->health.failing_since)
        s->health.failing_since = now;
    s->health.reason = reason;
    pthread_mutex_unlock(&s->mu);
}

static double backoff(const owp_stream *s, unsigned failures)
{
    double cap = s->o.retry_delay < OWP_STREAM_RETRY_MAX ? s->o.retry_delay : OWP_STREAM_RETRY_MAX;
    double d = BACKOFF_FIRST_SEC;
    for (unsigned i = 1; i < failures && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d < BACKOFF_MIN_SEC ? BACKOFF_MIN_SEC : d;
}

/* A set-up attempt failed: wait before the next one. */
static void note_failure(owp_stream *s, owp_stream_reason reason, const char *detail)
{
    note_fault(s, reason, detail);
    s->failures++;
    s->retry_at = owp_clock_monotonic() + backoff(s, s->failures);
    count(s, &s->counters.connect_failures, 1);
}

/* A session was set up at ss->start: an open hole ends there. */
static void note_setup(owp_stream *s, const stream_session *ss)
{
    if (s->hole_open) {
        hold(s, s->hole.start, ss->start, s->hole.reason, s->hole.detail);
        s->hole_open = 0;
    }
    s->have_fail = 0;
    s->failures = 0;
    s->retry_at = 0;
    pthread_mutex_lock(&s->mu);
    s->health.failing_since = 0;
    s->health.last_setup = owp_clock_now(NULL);
    pthread_mutex_unlock(&s->mu);
}

static double lead_seconds(const owp_stream *s)
{
    if (s->o.min_lead > 0)
        return s->o.min_lead;
    return 1.0 + 2 * s->last_rtt;
}

/* The next start is too near to be set up: open a hole there (unmeasured
 * until a session is set up) and let the next start follow the clock, so
 * the first session set up after an outage starts one lead later. */
static void hole_overdue(owp_stream *s)
{
    owp_num64 now = owp_clock_now(NULL);
    owp_num64 limit = now + owp_num64_from_double(lead_seconds(s));
    if (s->next_start >= limit)
        return;
    if (!s->hole_open) {
        if (!s->have_fail) /* e.g. a set-up that succeeded too slowly */
            note_fault(s, OWP_STREAM_TIMEOUT, "no session could be set up before its start time");
        s->hole_open = 1;
        s->hole.start = s->next_start;
        s->hole.reason = s->fail_reason;
        snprintf(s->hole.detail, sizeof s->hole.detail, "%s", s->fail_detail);
    }
    s->next_start = limit;
    owp_num64 len = session_length(s);
    while (s->hole.start + len <= now) {
        hold(s, s->hole.start, s->hole.start + len, s->hole.reason, s->hole.detail);
        s->hole.start += len;
    }
}

/* Session ss was not measured from `from` to its end. The last session of
 * the time line gives that time back (the next one set up starts there, or
 * a hole opens there); an earlier one holds it as an unmeasured interval. */
static void give_back(owp_stream *s, const stream_session *ss, owp_num64 from,
                      const session_outcome *o)
{
    note_fault(s, o->reason, o->detail);
    if (!s->hole_open && ss->end == s->next_start && from <= s->next_start) {
        s->next_start = from;
        return;
    }
    hold(s, from, ss->end, o->reason, o->detail);
}

/* How many packets of the session (seqs [0, n)) its file keeps. A session
 * that ended normally keeps what the server says it sent; one that failed
 * keeps what arrived and what was due while its control connection was last
 * seen open, less IN_FLIGHT_SEC and two round trips (a packet may leave a
 * little late and still be on its way): the server was alive to send those,
 * so any not received are lost. The rest was never sent, or nobody can
 * tell: unmeasured. The connection is looked at every tick, so on a dead
 * server's reset that is about when it died; a network outage keeps it
 * open, and its packets are lost. */
static uint32_t kept_packets(owp_stream *s, stream_session *ss, owp_file *f,
                             session_outcome *o, int have_max, uint32_t max_seq)
{
    uint32_t np = ss->req.npackets;
    if (!f)
        return 0;
    uint32_t arrived = have_max ? max_seq + 1 : 0;
    if (o->ok) {
        uint32_t n = owp_file_next_seqno(f);
        if (n >= np)
            return np;
        outcome_failed(o, OWP_STREAM_REFUSED,
                       "the server ended the session after %u of its %u packets", n, np);
        return n > arrived ? n : arrived;
    }
    owp_num64 limit = o->alive_at - owp_num64_from_double(IN_FLIGHT_SEC + 2 * s->last_rtt);
    uint32_t n = arrived;
    while (n < np && sched_time(ss, n) <= limit)
        n++;
    return n;
}

/* ------------------------------------------------------------------ writing a session */

/* The session's .owp, .sum and sub-session summaries, with its first nkeep
 * packets. data: the session's data file or NULL (nothing to read); as_is:
 * link it unchanged (it has nlost lost records), else rewrite it. */
static void write_files(owp_stream *s, stream_session *ss, const char *data, owp_file *f,
                        uint32_t nkeep, int as_is, uint64_t nlost, int user_stop, int complete,
                        session_outcome *o)
{
    owp_err err;
    owp_err_clear(&err);
    uint32_t np = ss->req.npackets;
    owp_num64 end = nkeep >= np ? ss->end : sched_time(ss, nkeep - 1);
    int cut = nkeep < np && !user_stop;
    char name[STREAM_PATH_MAX], tmp[STREAM_PATH_MAX + 4];
    stream_path(s, name, sizeof name, ss->start, end, ".owp");
    snprintf(tmp, sizeof tmp, "%s.i", name);
    owp_status st = OWP_OK;
    if (as_is) {
        if (link(data, tmp) != 0)
            st = owp_err_sys(&err, "link(%s, %s)", data, tmp);
    } else {
        st = write_padded(ss, f, f ? owp_file_request(f) : &ss->req, nkeep, tmp, &nlost, &err);
    }
    if (st != OWP_OK) {
        slog(s, LOG_ERR, "session %" PRIu64 ": %s", ss->index, err.msg);
        if (!user_stop) { /* measured, but lost here: the time is unmeasured */
            outcome_failed(o, OWP_STREAM_LOCAL, "%s", err.msg);
            give_back(s, ss, ss->start, o);
        }
        return;
    }
    count(s, &s->counters.packets_lost, nlost);
    count(s, &s->counters.sessions_measured, 1);
    if (cut)
        count(s, &s->counters.sessions_cut, 1);
    if (subs_enabled(s)) {
        uint32_t nblocks = s->o.npackets / s->o.sub_count;
        uint32_t upto = nkeep < np ? (nkeep + s->o.sub_count - 1) / s->o.sub_count : nblocks;
        write_subs(s, ss, tmp, upto, end, complete);
    }
    if ((st = publish(tmp, name, &err)) != OWP_OK) {
        slog(s, LOG_ERR, "session %" PRIu64 ": %s", ss->index, err.msg);
        return;
    }
    notify_file(s, OWP_STREAM_FILE_OWP, name, ss->start, end, ss->index, 0, nkeep, complete);
    char sum[STREAM_PATH_MAX];
    stream_path(s, sum, sizeof sum, ss->start, end, ".sum");
    if (write_sum(s, name, 0, 0, 0, sum, &err) != OWP_OK)
        slog(s, LOG_ERR, "session %" PRIu64 ": summary: %s", ss->index, err.msg);
    else
        notify_file(s, OWP_STREAM_FILE_SUM, sum, ss->start, end, ss->index, 0, nkeep, complete);
    if (cut) {
        slog(s, LOG_WARNING,
             "session %" PRIu64 " [" TSTAMP_FMT " - " TSTAMP_FMT "] ended early: %u of %u "
             "packets kept, %" PRIu64 " of them lost; the rest is not measured",
             ss->index, ss->start, ss->end, nkeep, np, nlost);
        give_back(s, ss, end, o);
    }
}

/* A finished session: its files, and its unmeasured rest. user_stop: the
 * caller ended the stream, so the file ends at its last measured packet and
 * nothing is reported about the rest. */
static void write_session(owp_stream *s, stream_session *ss, const char *data, int user_stop,
                          session_outcome *o)
{
    owp_err err;
    owp_err_clear(&err);
    FILE *fp = data ? fopen(data, "rb") : NULL;
    owp_file *f = fp ? owp_file_read(fp, data, &err) : NULL;
    if (data && !f)
        outcome_failed(o, OWP_STREAM_LOCAL, "session data unreadable: %s",
                       err.msg[0] ? err.msg : strerror(errno));
    int whole = 0, have_max = 0;
    uint32_t max_seq = 0;
    uint64_t nlost = 0;
    if (f && examine(f, ss->req.npackets, &whole, &have_max, &max_seq, &nlost, &err) != OWP_OK) {
        outcome_failed(o, OWP_STREAM_LOCAL, "session data: %s", err.msg);
        owp_file_destroy(&f);
        whole = have_max = 0;
    }
    uint32_t np = ss->req.npackets;
    uint32_t nkeep = user_stop ? (f && have_max ? max_seq + 1 : 0)
                               : kept_packets(s, ss, f, o, have_max, max_seq);
    if (!user_stop)
        count(s, &s->counters.sessions, 1);
    if (nkeep == 0) {
        if (!user_stop) {
            count(s, &s->counters.sessions_unmeasured, 1);
            give_back(s, ss, ss->start, o);
        }
    } else {
        int as_is = user_stop || (whole && nkeep == np);
        if (user_stop)
            count(s, &s->counters.sessions, 1);
        write_files(s, ss, data, f, nkeep, as_is, nlost, user_stop,
                    !user_stop && o->ok && whole && nkeep == np, o);
    }
    owp_file_destroy(&f);
    if (fp)
        fclose(fp);
}

/* ------------------------------------------------------------------ set-up */

static owp_status request_session(owp_stream *s, stream_slot *sl, owp_stream_reason *why,
                                  owp_err *err)
{
    stream_session *ss = &sl->sess;
    memset(ss, 0, sizeof *ss);
    ss->index = s->next_index;
    ss->start = ss->sub_start = s->next_start;
    *why = OWP_STREAM_LOCAL;
    if (!s->o.sender && !(ss->fp = temp_file(s, ss->tmp_path, sizeof ss->tmp_path, err)))
        return err ? err->code : OWP_ERR_SYS;
    owp_test_spec spec = {
        .dir = s->o.sender ? OWP_DIR_TO : OWP_DIR_FROM,
        .peer = s->have_peer ? (struct sockaddr *)&s->peer : NULL,
        .peer_len = s->have_peer ? s->peer_len : 0,
        .npackets = s->o.npackets,
        .slots = &s->sched_slot,
        .nslots = 1,
        .padding = s->o.padding,
        .start_time = ss->start,
        .timeout = owp_num64_from_double(s->o.loss_timeout),
        .dscp = s->o.dscp,
        .ports = s->o.ports,
        .enddelay = s->o.enddelay,
        .out = ss->fp,
    };
    unsigned idx = 0;
    owp_status st = owp_client_request(sl->client, &spec, &idx, err);
    if (st != OWP_OK) {
        *why = classify(err);
        return owp_err_prefix(err, "OWPSessionRequest");
    }
    if ((st = owp_request_copy(&ss->req, owp_client_session_request(sl->client, idx), err)) !=
        OWP_OK)
        return st;
    ss->sched = owp_sched_new(ss->req.sid, ss->req.slots, ss->req.nslots, err);
    if (!ss->sched)
        return err ? err->code : OWP_ERR_CRYPTO;
    ss->end = sched_time(ss, ss->req.npackets - 1);
    if ((st = owp_client_start(sl->client, err)) != OWP_OK) {
        *why = classify(err);
        return owp_err_prefix(err, "OWPStartSessions");
    }
    return OWP_OK;
}

/* Why a control connection could not be opened, in the reference's words
 * when the connect itself failed (programs.md §8.5): the client reports
 * "connect to ADDR: REASON"; anything later (greeting, modes, pass-phrase)
 * keeps the client's own message. */
static void reword_connect_error(owp_err *err)
{
    static const char connect_to[] = "connect to ";
    if (strncmp(err->msg, connect_to, sizeof connect_to - 1) != 0)
        return;
    const char *reason = strstr(err->msg, ": ");
    char why[OWP_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", reason ? reason + 2 : "failed");
    owp_err_set(err, err->code, "Couldn't open 'control' connection to server: %s", why);
}

/* Connect if needed and set the next session up on slot sl. */
static void setup_on(owp_stream *s, stream_slot *sl)
{
    owp_err err;
    owp_err_clear(&err);
    pthread_mutex_lock(&s->mu);
    s->health.last_attempt = owp_clock_now(NULL);
    pthread_mutex_unlock(&s->mu);
    if (!sl->client) {
        sl->client = owp_client_open(&s->o.client, &err);
        if (!sl->client) {
            owp_stream_reason why = classify(&err);
            reword_connect_error(&err);
            slog(s, LOG_WARNING, "OWPControlOpen(%s): %s", s->server, err.msg);
            note_failure(s, why, err.msg);
            return;
        }
        s->last_rtt = owp_client_rtt(sl->client);
    }
    hole_overdue(s); /* connecting took time */
    if (atomic_load(&s->stop))
        return;
    owp_stream_reason why;
    if (request_session(s, sl, &why, &err) != OWP_OK) {
        slog(s, LOG_WARNING, "session %" PRIu64 " via %s: %s", s->next_index, s->server, err.msg);
        session_clear(&sl->sess);
        owp_client_close(&sl->client);
        note_failure(s, why, err.msg);
        return;
    }
    sl->running = 1;
    sl->alive_at = owp_clock_now(NULL);
    note_setup(s, &sl->sess);
    if (s->o.verbose) /* the reference's line (programs.md §8.1) */
        slog(s, LOG_DEBUG, "Starting session [" TSTAMP_FMT " - " TSTAMP_FMT "] v=%d",
             sl->sess.start, sl->sess.end, s->o.verbose);
    s->next_start = sl->sess.end;
    s->next_index++;
}

static void setup_next(owp_stream *s)
{
    for (unsigned i = 0; i < s->nslots && !atomic_load(&s->stop); i++) {
        if (s->retry_at > owp_clock_monotonic())
            return;
        stream_slot *sl = &s->slots[i];
        if (sl->running)
            continue;
        hole_overdue(s);
        setup_on(s, sl);
    }
}

/* ------------------------------------------------------------------ finishing */

/* -t: fetch the session the server received into a temp file. */
static const char *fetch_data(owp_stream *s, stream_slot *sl, owp_err *err)
{
    stream_session *ss = &sl->sess;
    if (!sl->client)
        return NULL;
    ss->fp = temp_file(s, ss->tmp_path, sizeof ss->tmp_path, err);
    if (!ss->fp)
        return NULL;
    if (owp_client_fetch(sl->client, ss->req.sid, 0, 0xFFFFFFFFu, ss->fp, NULL, err) != OWP_OK) {
        slog(s, LOG_WARNING, "session %" PRIu64 ": fetching its data: %s", ss->index, err->msg);
        owp_client_close(&sl->client);
        return NULL;
    }
    fflush(ss->fp);
    return ss->tmp_path;
}

static void finish_slot(owp_stream *s, stream_slot *sl, owp_status st, owp_err *err,
                        int user_stop)
{
    stream_session *ss = &sl->sess;
    session_outcome o = { .ok = 1, .alive_at = sl->alive_at };
    if (st != OWP_OK) {
        slog(s, user_stop ? LOG_INFO : LOG_WARNING, "session %" PRIu64 " via %s: %s", ss->index,
             s->server, err->msg);
        outcome_failed(&o, classify(err), "%s", err->msg);
        /* The connection is in an unknown state: a fresh one for the next session. */
        owp_client_close(&sl->client);
    }
    const char *data = ss->tmp_path[0] ? ss->tmp_path : NULL;
    if (s->o.sender) {
        owp_err ferr;
        owp_err_clear(&ferr);
        data = fetch_data(s, sl, &ferr);
        /* fetch_data closes the connection when the fetch itself failed;
         * with the connection still open, our temporary file did. */
        if (!data && o.ok)
            outcome_failed(&o, sl->client ? OWP_STREAM_LOCAL : classify(&ferr),
                           "fetching the session's data: %s", ferr.msg);
    } else if (ss->fp) {
        fflush(ss->fp);
    }
    write_session(s, ss, data, user_stop, &o);
    if (!o.ok && !user_stop) {
        /* A server that accepts sessions and then fails them is not asked
         * again at every tick. */
        s->failures++;
        s->retry_at = owp_clock_monotonic() + backoff(s, s->failures);
    }
    session_clear(ss);
    if (sl->client && owp_client_reset(sl->client, err) != OWP_OK)
        owp_client_close(&sl->client);
    sl->running = 0;
}

/* Slots by session index, latest first: when several sessions fail at once
 * (the server died), the last of the time line gives its time back first,
 * so the ones before it can give theirs back too. */
static unsigned running_latest_first(const owp_stream *s, unsigned *order)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->nslots; i++) {
        if (!s->slots[i].running)
            continue;
        unsigned j = n++;
        while (j > 0 && s->slots[order[j - 1]].sess.index < s->slots[i].sess.index) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    return n;
}

static void poll_running(owp_stream *s)
{
    unsigned order[POOL_MAX];
    unsigned n = running_latest_first(s, order);
    for (unsigned k = 0; k < n; k++) {
        stream_slot *sl = &s->slots[order[k]];
        owp_err err;
        owp_err_clear(&err);
        int done = 0;
        owp_status st = owp_client_poll(sl->client, NULL, 0, &done, &err);
        if (done) {
            finish_slot(s, sl, st, &err, 0);
        } else {
            sl->alive_at = owp_clock_now(NULL);
            running_subs(s, sl);
        }
    }
}

static void stop_all(owp_stream *s)
{
    for (unsigned i = 0; i < s->nslots; i++) {
        stream_slot *sl = &s->slots[i];
        if (!sl->running)
            continue;
        owp_err err;
        owp_err_clear(&err);
        owp_status st = owp_client_stop_now(sl->client, &err);
        finish_slot(s, sl, st, &err, 1);
    }
    report_held(s, 1);
    for (unsigned i = 0; i < s->nslots; i++)
        owp_client_close(&s->slots[i].client);
}

static void sleep_tick(owp_stream *s)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += TICK_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop) && !atomic_load(&s->retry)) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->mu);
}

static void *stream_main(void *arg)
{
    owp_stream *s = arg;
    while (!atomic_load(&s->stop)) {
        if (atomic_exchange(&s->retry, 0)) {
            s->failures = 0;
            s->retry_at = 0;
        }
        poll_running(s);
        setup_next(s);
        hole_overdue(s);
        report_held(s, 0);
        sleep_tick(s);
    }
    stop_all(s);
    atomic_store(&s->done, 1);
    return NULL;
}

/* ------------------------------------------------------------------ life cycle */

static char *dup_or_null(const char *p, int *fail)
{
    if (!p)
        return NULL;
    char *d = strdup(p);
    if (!d)
        *fail = 1;
    return d;
}

static void free_strings(owp_stream *s)
{
    free(s->server);
    free(s->testpeer);
    free(s->dir);
    free(s->identity);
    free(s->src_addr);
    free(s->bind_device);
    free(s->default_port);
    if (s->passphrase)
        memset(s->passphrase, 0, s->o.client.passphrase_len);
    free(s->passphrase);
}

static owp_status copy_opts(owp_stream *s, const owp_stream_opts *o, owp_err *err)
{
    int fail = 0;
    s->o = *o;
    s->server = dup_or_null(o->client.server, &fail);
    s->testpeer = dup_or_null(o->testpeer, &fail);
    s->dir = dup_or_null(o->dir && o->dir[0] ? o->dir : ".", &fail);
    s->identity = dup_or_null(o->client.identity, &fail);
    s->src_addr = dup_or_null(o->client.src_addr, &fail);
    s->bind_device = dup_or_null(o->client.bind_device, &fail);
    s->default_port = dup_or_null(o->client.default_port, &fail);
    if (o->client.passphrase && o->client.passphrase_len) {
        s->passphrase = malloc(o->client.passphrase_len);
        if (s->passphrase)
            memcpy(s->passphrase, o->client.passphrase, o->client.passphrase_len);
        else
            fail = 1;
    }
    if (fail)
        return owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
    s->o.client.server = s->server;
    s->o.client.identity = s->identity;
    s->o.client.src_addr = s->src_addr;
    s->o.client.bind_device = s->bind_device;
    s->o.client.default_port = s->default_port;
    s->o.client.passphrase = s->passphrase;
    s->o.testpeer = s->testpeer;
    s->o.dir = s->dir;
    return OWP_OK;
}

/* The test peer's address: the testpeer operand when given, else the server. */
static void resolve_peer(owp_stream *s)
{
    const char *host = s->testpeer ? s->testpeer : s->server;
    owp_hostport hp;
    owp_err err;
    if (owp_hostport_parse(host, &hp, &err) != OWP_OK ||
        owp_hostport_resolve(&hp, "0", s->o.client.family, SOCK_DGRAM, 0, &s->peer, &s->peer_len,
                             &err) != OWP_OK) {
        memset(&s->peer, 0, sizeof s->peer);
        s->peer.ss_family = AF_INET;
        s->peer_len = sizeof(struct sockaddr_in);
        if (s->testpeer)
            slog(s, LOG_WARNING, "test peer %s: %s", host, err.msg);
        return;
    }
    s->have_peer = s->testpeer != NULL;
}

owp_stream *owp_stream_start(const owp_stream_opts *o, owp_err *err)
{
    if (owp_stream_check_opts(o, err) != OWP_OK)
        return NULL;
    owp_stream *s = calloc(1, sizeof *s);
    if (!s) {
        owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->stop, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->retry, 0);
    if (copy_opts(s, o, err) != OWP_OK) {
        owp_stream_destroy(&s);
        return NULL;
    }
    s->sched_slot.type = OWP_SLOT_EXP;
    s->sched_slot.value = owp_num64_from_double(o->interval);
    s->nslots = owp_stream_pool_size(&s->o);
    s->slots = calloc(s->nslots, sizeof *s->slots);
    if (!s->slots) {
        owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
        owp_stream_destroy(&s);
        return NULL;
    }
    resolve_peer(s);
    s->first_start = owp_clock_now(NULL) + owp_num64_from_double(s->o.start_delay);
    s->next_start = s->first_start;
    int rc = pthread_create(&s->thread, NULL, stream_main, s);
    if (rc != 0) {
        errno = rc;
        owp_err_sys(err, "stream: pthread_create");
        owp_stream_destroy(&s);
        return NULL;
    }
    s->thread_started = 1;
    return s;
}

/* Raise flag and wake the stream's thread. */
static void wake(owp_stream *self, atomic_int *flag)
{
    pthread_mutex_lock(&self->mu);
    atomic_store(flag, 1);
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

void owp_stream_stop(owp_stream *self)
{
    if (self)
        wake(self, &self->stop);
}

void owp_stream_retry_now(owp_stream *self)
{
    if (self)
        wake(self, &self->retry);
}

void owp_stream_destroy(owp_stream **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_stream *s = *self_p;
    owp_stream_stop(s);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    for (unsigned i = 0; s->slots && i < s->nslots; i++) {
        session_clear(&s->slots[i].sess);
        owp_client_close(&s->slots[i].client);
    }
    free(s->slots);
    free(s->held);
    free_strings(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *self_p = NULL;
}
