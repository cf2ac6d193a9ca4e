/*
 * stream.c - the continuous-stream engine (see stream.h for the contract).
 *
 * One thread per stream drives a pool of control connections ("slots"). The
 * stream's time line is a sequence of sessions k = 0, 1, ... with start times
 * S_0 = now + start_delay and S_{k+1} = scheduled time of the last packet of
 * session k. Each turn of the loop:
 *   1. polls the running sessions; a finished one has its files written and
 *      its slot freed (its connection kept for the next session);
 *   2. writes the sub-session summaries that are due, from the growing file;
 *   3. turns the next session into an unmeasured one (all packets lost, a
 *      local schedule) when its start is too close to be set up any more;
 *   4. sets the next session up on a free slot whose back-off has expired;
 *   5. writes unmeasured sessions whose time has passed;
 * then sleeps until woken by a stop or for at most TICK_MS.
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
#include "crypto.h"
#include "hostport.h"
#include "owpfile.h"
#include "report.h"
#include "schedule.h"

#define TICK_MS 20
#define STREAM_PATH_MAX 4096
/* Seconds after a sub-session's last packet + loss timeout before its summary
 * is taken from the growing file (the receiver has then written every record). */
#define SUB_SETTLE_SEC 1.0
/* First back-off step after a failed attempt; doubles up to retry_delay. */
#define BACKOFF_FIRST_SEC 1.0
#define BACKOFF_MIN_SEC 0.1
#define POOL_MAX 64
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
    double next_attempt;           /* monotonic seconds */
    unsigned failures;
} stream_slot;

/* A session that could not run, written once its time has passed. */
typedef struct stream_gap {
    uint64_t index;
    owp_num64 start, end;
    owp_request req;
} stream_gap;

struct owp_stream {
    owp_stream_opts o;
    char *server, *testpeer, *dir, *identity, *src_addr, *bind_device, *default_port;
    uint8_t *passphrase;

    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int done;
    pthread_mutex_t mu;            /* guards counters and the wake-up */
    pthread_cond_t cv;
    owp_stream_counters counters;

    owp_slot sched_slot;           /* one exponential slot of mean interval */
    stream_slot *slots;
    unsigned nslots;
    uint64_t next_index;
    owp_num64 next_start;
    double last_rtt;

    struct sockaddr_storage peer;  /* test peer (for spec.peer and unmeasured sessions) */
    socklen_t peer_len;
    int have_peer;                 /* testpeer given apart from the server */

    stream_gap *gaps;
    unsigned ngaps, gaps_cap;

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

int owp_stream_done(const owp_stream *self) { return atomic_load(&self->done); }

static void notify_file(owp_stream *s, owp_stream_file_kind kind, const char *path,
                        owp_num64 start, owp_num64 end, uint64_t index, uint32_t first,
                        uint32_t last, int measured, int complete)
{
    count(s, &s->counters.files, 1);
    if (!s->o.file_fn)
        return;
    owp_stream_file f = {
        .kind = kind, .path = path, .start = start, .end = end, .session = index,
        .first_seq = first, .last_seq = last, .measured = measured, .complete = complete,
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
                        (j + 1) * n, 1, complete);
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
    owp_file_writer *copy;         /* when padding: every record copied */
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
    if (r->seq < c->npackets) {
        c->seen[r->seq] = 1;
        if (!in_skips(c->skips, c->nskips, r->seq) && (!c->have_max || r->seq > c->max_seq)) {
            c->max_seq = r->seq;
            c->have_max = 1;
        }
    }
    if (c->copy && (c->st = owp_file_writer_add(c->copy, r, c->err)) != OWP_OK)
        return 1;
    return 0;
}

/* Write a receiver-layout file at path: the records of f (if any), then a
 * lost record for every seq of req that has none and is in no skip range. */
static owp_status write_padded(stream_session *ss, owp_file *f,
                               const owp_request *req, const char *path, uint64_t *nlost,
                               owp_err *err)
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
                       .copy = w, .err = err };
        st = owp_file_each_record(f, 0, scan_record, &c, err);
        if (st == OWP_OK)
            st = c.st;
    }
    uint16_t recv_err = owp_clock_errest();
    for (uint32_t seq = 0; st == OWP_OK && seq < req->npackets; seq++) {
        if (seen[seq] || in_skips(skips, nskips, seq))
            continue;
        owp_record r = { .seq = seq, .send_err = OWP_ERREST_UNSYNC, .recv_err = recv_err,
                         .send_time = sched_time(ss, seq), .recv_time = 0, .ttl = 255 };
        st = owp_file_writer_add(w, &r, err);
        (*nlost)++;
    }
    if (st == OWP_OK)
        st = owp_file_writer_finish(w, OWP_FINISHED_INCOMPLETE, req->npackets, skips, nskips, err);
    free(seen);
    owp_file_writer_destroy(&w);
    if (fclose(out) != 0 && st == OWP_OK)
        st = owp_err_sys(err, "write %s", path);
    if (st != OWP_OK)
        unlink(path);
    return st;
}

/* Does f hold every packet of the session, finished normally? Also finds the
 * highest measured seq (for a stopped session's END). */
static owp_status examine(owp_file *f, uint32_t npackets, int *whole, int *have_max,
                          uint32_t *max_seq, owp_err *err)
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
    free(seen);
    return st;
}

/* The session's .owp (and its summaries). data: the session's data file or
 * NULL (nothing could be measured). user_stop: the caller ended the stream,
 * so the file ends at its last measured packet instead of being padded. */
static void write_session(owp_stream *s, stream_session *ss, const char *data, int user_stop,
                          int measured)
{
    owp_err err;
    owp_err_clear(&err);
    FILE *fp = data ? fopen(data, "rb") : NULL;
    owp_file *f = fp ? owp_file_read(fp, data, &err) : NULL;
    if (data && !f)
        slog(s, LOG_WARNING, "session %" PRIu64 ": data unreadable (%s): recorded as lost",
             ss->index, err.msg[0] ? err.msg : strerror(errno));
    int whole = 0, have_max = 0;
    uint32_t max_seq = 0;
    if (f && examine(f, ss->req.npackets, &whole, &have_max, &max_seq, &err) != OWP_OK) {
        slog(s, LOG_WARNING, "session %" PRIu64 ": %s: recorded as lost", ss->index, err.msg);
        owp_file_destroy(&f);
        whole = have_max = 0;
    }

    owp_num64 end = ss->end;
    uint32_t last_seq = ss->req.npackets;
    if (user_stop) {
        if (!f || !have_max) { /* nothing measured: nothing to write */
            owp_file_destroy(&f);
            if (fp)
                fclose(fp);
            return;
        }
        end = sched_time(ss, max_seq);
        last_seq = max_seq + 1;
    }

    char name[STREAM_PATH_MAX], tmp[STREAM_PATH_MAX + 4];
    stream_path(s, name, sizeof name, ss->start, end, ".owp");
    snprintf(tmp, sizeof tmp, "%s.i", name);
    owp_status st = OWP_OK;
    int padded = 0;
    uint64_t nlost = 0;
    if (user_stop || whole) {
        if (link(data, tmp) != 0)
            st = owp_err_sys(&err, "link(%s, %s)", data, tmp);
    } else {
        padded = 1;
        st = write_padded(ss, f, f ? owp_file_request(f) : &ss->req, tmp, &nlost, &err);
    }
    owp_file_destroy(&f);
    if (fp)
        fclose(fp);
    if (st != OWP_OK) {
        slog(s, LOG_ERR, "session %" PRIu64 ": %s", ss->index, err.msg);
        return;
    }
    int complete = !padded && !user_stop;
    if (padded) {
        count(s, measured ? &s->counters.sessions_cut : &s->counters.sessions_unmeasured, 1);
        count(s, &s->counters.packets_lost, nlost);
        if (measured)
            slog(s, LOG_WARNING,
                 "session %" PRIu64 " [" TSTAMP_FMT " - " TSTAMP_FMT "] ended early: %" PRIu64
                 " unmeasured packets recorded as lost",
                 ss->index, ss->start, ss->end, nlost);
    }
    count(s, &s->counters.sessions, 1);
    if (measured)
        count(s, &s->counters.sessions_measured, 1);

    if (subs_enabled(s)) {
        uint32_t nblocks = s->o.npackets / s->o.sub_count;
        uint32_t upto = user_stop ? (last_seq + s->o.sub_count - 1) / s->o.sub_count : nblocks;
        write_subs(s, ss, tmp, upto, end, complete);
    }
    if ((st = publish(tmp, name, &err)) != OWP_OK) {
        slog(s, LOG_ERR, "session %" PRIu64 ": %s", ss->index, err.msg);
        return;
    }
    notify_file(s, OWP_STREAM_FILE_OWP, name, ss->start, end, ss->index, 0, last_seq, measured,
                complete);
    char sum[STREAM_PATH_MAX];
    stream_path(s, sum, sizeof sum, ss->start, end, ".sum");
    if (write_sum(s, name, 0, 0, 0, sum, &err) != OWP_OK)
        slog(s, LOG_ERR, "session %" PRIu64 ": summary: %s", ss->index, err.msg);
    else
        notify_file(s, OWP_STREAM_FILE_SUM, sum, ss->start, end, ss->index, 0, last_seq,
                    measured, complete);
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

/* ------------------------------------------------------------------ unmeasured sessions */

static void fill_addresses(owp_stream *s, owp_request *r)
{
    struct sockaddr_storage local;
    memset(&local, 0, sizeof local);
    local.ss_family = s->peer.ss_family ? s->peer.ss_family : AF_INET;
    uint8_t ipvn;
    if (s->o.sender) {
        owp_sockaddr_to_wire((struct sockaddr *)&local, &ipvn, r->sender_addr);
        owp_sockaddr_to_wire((struct sockaddr *)&s->peer, &ipvn, r->receiver_addr);
    } else {
        owp_sockaddr_to_wire((struct sockaddr *)&s->peer, &ipvn, r->sender_addr);
        owp_sockaddr_to_wire((struct sockaddr *)&local, &ipvn, r->receiver_addr);
    }
    r->ipvn = local.ss_family == AF_INET6 ? 6 : 4;
}

/* Session k cannot be set up in time: give it a local schedule (random SID),
 * queue it to be written as lost once its time has passed. */
static owp_status make_gap(owp_stream *s, owp_err *err)
{
    if (s->ngaps == s->gaps_cap) {
        unsigned cap = s->gaps_cap ? s->gaps_cap * 2 : 4;
        stream_gap *g = realloc(s->gaps, cap * sizeof *g);
        if (!g)
            return owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
        s->gaps = g;
        s->gaps_cap = cap;
    }
    stream_gap *g = &s->gaps[s->ngaps];
    memset(g, 0, sizeof *g);
    owp_request *r = &g->req;
    r->slots = malloc(sizeof *r->slots);
    if (!r->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
    r->slots[0] = s->sched_slot;
    r->nslots = 1;
    r->npackets = s->o.npackets;
    r->padding = s->o.padding;
    r->start_time = s->next_start;
    r->timeout = owp_num64_from_double(s->o.loss_timeout);
    r->typep = s->o.dscp > 0 ? (uint32_t)s->o.dscp << 24 : 0;
    if (s->o.sender)
        r->conf_receiver = 1;
    else
        r->conf_sender = 1;
    fill_addresses(s, r);
    owp_status st = owp_random_bytes(r->sid, sizeof r->sid, err);
    owp_sched *sched = st == OWP_OK ? owp_sched_new(r->sid, r->slots, 1, err) : NULL;
    if (!sched) {
        owp_request_clear(r);
        return err ? err->code : OWP_ERR_CRYPTO;
    }
    g->index = s->next_index;
    g->start = s->next_start;
    g->end = r->start_time + owp_sched_offset(sched, r->npackets - 1);
    owp_sched_destroy(&sched);
    s->ngaps++;
    slog(s, LOG_WARNING,
         "session %" PRIu64 " [" TSTAMP_FMT " - " TSTAMP_FMT "] could not be set up in time: "
         "its packets are recorded as lost",
         g->index, g->start, g->end);
    s->next_start = g->end;
    s->next_index++;
    return OWP_OK;
}

static void write_gap(owp_stream *s, stream_gap *g)
{
    stream_session ss;
    memset(&ss, 0, sizeof ss);
    ss.index = g->index;
    ss.start = ss.sub_start = g->start;
    ss.end = g->end;
    ss.req = g->req; /* ownership moves to ss */
    memset(&g->req, 0, sizeof g->req);
    owp_err err;
    ss.sched = owp_sched_new(ss.req.sid, ss.req.slots, ss.req.nslots, &err);
    if (!ss.sched)
        slog(s, LOG_ERR, "session %" PRIu64 ": %s", ss.index, err.msg);
    else
        write_session(s, &ss, NULL, 0, 0);
    session_clear(&ss);
}

/* Write the unmeasured sessions whose time has passed (all, when flushing). */
static void write_due_gaps(owp_stream *s, int flush)
{
    owp_num64 now = owp_clock_now(NULL);
    owp_num64 wait = owp_num64_from_double(s->o.loss_timeout);
    unsigned kept = 0;
    for (unsigned i = 0; i < s->ngaps; i++) {
        stream_gap *g = &s->gaps[i];
        if (g->end + wait <= now || (flush && g->start <= now)) {
            write_gap(s, g);
        } else if (flush) {
            owp_request_clear(&g->req); /* entirely in the future: nothing was missed */
        } else {
            s->gaps[kept++] = *g;
        }
    }
    s->ngaps = kept;
}

/* ------------------------------------------------------------------ set-up */

static double backoff(const owp_stream *s, unsigned failures)
{
    double d = BACKOFF_FIRST_SEC;
    for (unsigned i = 1; i < failures && d < s->o.retry_delay; i++)
        d *= 2;
    if (d > s->o.retry_delay)
        d = s->o.retry_delay;
    return d < BACKOFF_MIN_SEC ? BACKOFF_MIN_SEC : d;
}

static void slot_failed(owp_stream *s, stream_slot *sl)
{
    owp_client_close(&sl->client);
    sl->failures++;
    sl->next_attempt = owp_clock_monotonic() + backoff(s, sl->failures);
    count(s, &s->counters.connect_failures, 1);
}

static double lead_seconds(const owp_stream *s)
{
    if (s->o.min_lead > 0)
        return s->o.min_lead;
    return 1.0 + 2 * s->last_rtt;
}

/* Sessions whose start is too near to be set up become unmeasured ones. */
static void gap_overdue(owp_stream *s)
{
    owp_num64 limit = owp_clock_now(NULL) + owp_num64_from_double(lead_seconds(s));
    while (s->next_start < limit && !atomic_load(&s->stop)) {
        owp_err err;
        if (make_gap(s, &err) != OWP_OK) {
            slog(s, LOG_ERR, "%s", err.msg);
            return;
        }
    }
}

static owp_status request_session(owp_stream *s, stream_slot *sl, owp_err *err)
{
    stream_session *ss = &sl->sess;
    memset(ss, 0, sizeof *ss);
    ss->index = s->next_index;
    ss->start = ss->sub_start = s->next_start;
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
    if (st != OWP_OK)
        return owp_err_prefix(err, "OWPSessionRequest");
    if ((st = owp_request_copy(&ss->req, owp_client_session_request(sl->client, idx), err)) !=
        OWP_OK)
        return st;
    ss->sched = owp_sched_new(ss->req.sid, ss->req.slots, ss->req.nslots, err);
    if (!ss->sched)
        return err ? err->code : OWP_ERR_CRYPTO;
    ss->end = sched_time(ss, ss->req.npackets - 1);
    if ((st = owp_client_start(sl->client, err)) != OWP_OK)
        return owp_err_prefix(err, "OWPStartSessions");
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
    if (!sl->client) {
        sl->client = owp_client_open(&s->o.client, &err);
        if (!sl->client) {
            reword_connect_error(&err);
            slog(s, LOG_WARNING, "OWPControlOpen(%s): %s", s->server, err.msg);
            slot_failed(s, sl);
            return;
        }
        s->last_rtt = owp_client_rtt(sl->client);
    }
    gap_overdue(s); /* connecting took time */
    if (atomic_load(&s->stop))
        return;
    if (request_session(s, sl, &err) != OWP_OK) {
        slog(s, LOG_WARNING, "session %" PRIu64 " via %s: %s", s->next_index, s->server, err.msg);
        session_clear(&sl->sess);
        slot_failed(s, sl);
        return;
    }
    sl->running = 1;
    sl->failures = 0;
    if (s->o.verbose) /* the reference's line (programs.md §8.1) */
        slog(s, LOG_DEBUG, "Starting session [" TSTAMP_FMT " - " TSTAMP_FMT "] v=%d",
             sl->sess.start, sl->sess.end, s->o.verbose);
    s->next_start = sl->sess.end;
    s->next_index++;
}

static void setup_next(owp_stream *s)
{
    double now = owp_clock_monotonic();
    for (unsigned i = 0; i < s->nslots && !atomic_load(&s->stop); i++) {
        stream_slot *sl = &s->slots[i];
        if (sl->running || sl->next_attempt > now)
            continue;
        gap_overdue(s);
        setup_on(s, sl);
        now = owp_clock_monotonic();
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

/* A failed session that had not begun yet: nothing was measured, so it is
 * written as lost once its time has passed, like one never set up. Returns 1
 * when queued. */
static int defer_as_gap(owp_stream *s, stream_session *ss)
{
    if (s->ngaps == s->gaps_cap) {
        unsigned cap = s->gaps_cap ? s->gaps_cap * 2 : 4;
        stream_gap *g = realloc(s->gaps, cap * sizeof *g);
        if (!g)
            return 0;
        s->gaps = g;
        s->gaps_cap = cap;
    }
    stream_gap *g = &s->gaps[s->ngaps++];
    g->index = ss->index;
    g->start = ss->start;
    g->end = ss->end;
    g->req = ss->req; /* ownership moves to the gap */
    memset(&ss->req, 0, sizeof ss->req);
    return 1;
}

static void finish_slot(owp_stream *s, stream_slot *sl, owp_status st, owp_err *err,
                        int user_stop)
{
    stream_session *ss = &sl->sess;
    if (st != OWP_OK) {
        slog(s, user_stop ? LOG_INFO : LOG_WARNING, "session %" PRIu64 " via %s: %s", ss->index,
             s->server, err->msg);
        /* The connection is in an unknown state: a fresh one for the next session. */
        owp_client_close(&sl->client);
        sl->next_attempt = 0;
    }
    if (st != OWP_OK && !user_stop && ss->start > owp_clock_now(NULL) && defer_as_gap(s, ss)) {
        session_clear(ss);
        if (sl->client && owp_client_reset(sl->client, err) != OWP_OK)
            owp_client_close(&sl->client);
        sl->running = 0;
        return;
    }
    const char *data = ss->tmp_path[0] ? ss->tmp_path : NULL;
    if (s->o.sender)
        data = fetch_data(s, sl, err);
    else if (ss->fp)
        fflush(ss->fp);
    write_session(s, ss, data, user_stop, data != NULL);
    session_clear(ss);
    if (sl->client && owp_client_reset(sl->client, err) != OWP_OK)
        owp_client_close(&sl->client);
    sl->running = 0;
}

static void poll_running(owp_stream *s)
{
    for (unsigned i = 0; i < s->nslots; i++) {
        stream_slot *sl = &s->slots[i];
        if (!sl->running)
            continue;
        owp_err err;
        owp_err_clear(&err);
        int done = 0;
        owp_status st = owp_client_poll(sl->client, NULL, 0, &done, &err);
        if (done)
            finish_slot(s, sl, st, &err, 0);
        else
            running_subs(s, sl);
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
    write_due_gaps(s, 1);
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
    while (!atomic_load(&s->stop)) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->mu);
}

static void *stream_main(void *arg)
{
    owp_stream *s = arg;
    s->next_start = owp_clock_now(NULL) + owp_num64_from_double(s->o.start_delay);
    while (!atomic_load(&s->stop)) {
        poll_running(s);
        setup_next(s);
        gap_overdue(s);
        write_due_gaps(s, 0);
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

void owp_stream_stop(owp_stream *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->mu);
    atomic_store(&self->stop, 1);
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
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
    for (unsigned i = 0; i < s->ngaps; i++)
        owp_request_clear(&s->gaps[i].req);
    free(s->gaps);
    free_strings(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *self_p = NULL;
}
