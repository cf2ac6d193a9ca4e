/*
 * stream_files.c - publishing a stream's finished sessions (see
 * stream_internal.h): the session's .owp (the received file as is, or
 * rewritten to the packets it keeps, with lost records for those that did
 * not arrive), its .sum, and its sub-session .sum files, each written as
 * NAME.i and linked to NAME when complete. The summaries are report.h's -M
 * blocks, rendered one at a time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "hostport.h"
#include "owpfile.h"
#include "report.h"
#include "stream_internal.h"
#include "wire.h"

/* Seconds after a sub-session's last packet + loss timeout before its summary
 * is taken from the growing file (the receiver has then written every record). */
#define SUB_SETTLE_SEC 1.0
/* A failed session: packets due this close to the last sign of life of its
 * server may not have left or arrived yet; they count as unmeasured. */
#define IN_FLIGHT_SEC 0.1

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

static void notify_file(owp_stream *s, owp_stream_file_kind kind, const char *path,
                        owp_num64 start, owp_num64 end, uint64_t index, uint32_t first,
                        uint32_t last, int complete)
{
    owp_strm_count(s, &s->counters.files, 1);
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

/* The -M summary of block `block` (sub_count packets each; sub_count 0 = the
 * whole session) of the file at path, into out. preliminary: the file is
 * still being written or was cut, so SESSION_FINISHED says 0. */
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
    const char **names = stream_host_names(s, owp_file_request(f));
    owp_status st = owp_report_summary_block(out, f, names[0], names[1], &ro, block,
                                             preliminary ? 0 : OWP_REPORT_FINISHED_FILE, err);
    owp_file_destroy(&f);
    fclose(fp);
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

/* Sub-session summaries [subs_done, upto) of ss from the data at data_path;
 * the name END of a block is clamped to end_cap. preliminary: SESSION_FINISHED
 * says 0 (the data is a receiver's, which the reference summarises while it
 * is written); else it says what the file says. */
static void write_subs(owp_stream *s, stream_session *ss, const char *data_path, uint32_t upto,
                       owp_num64 end_cap, int preliminary, int complete)
{
    uint32_t n = s->o.sub_count;
    while (ss->subs_done < upto) {
        uint32_t j = ss->subs_done;
        owp_num64 end = owp_strm_sched_time(ss, (j + 1) * n - 1);
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
        if (write_sum(s, data_path, n, j, preliminary, name, &err) != OWP_OK)
            owp_strm_log(s, LOG_WARNING, "sub-session summary %s: %s", name, err.msg);
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
void owp_strm_running_subs(owp_stream *s, stream_slot *sl)
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
           owp_strm_sched_time(ss, (upto + 1) * s->o.sub_count - 1) + settle <= now)
        upto++;
    if (upto > ss->subs_done)
        write_subs(s, ss, ss->tmp_path, upto, ss->end, 1, 0);
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
                         .send_time = owp_strm_sched_time(ss, seq), .recv_time = 0, .ttl = 255 };
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

void owp_strm_session_clear(stream_session *ss)
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
FILE *owp_strm_temp_file(owp_stream *s, char *path, size_t len, owp_err *err)
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
        owp_strm_outcome_failed(o, OWP_STREAM_REFUSED,
                                "the server ended the session after %u of its %u packets", n, np);
        return n > arrived ? n : arrived;
    }
    owp_num64 limit = o->alive_at - owp_num64_from_double(IN_FLIGHT_SEC + 2 * s->last_rtt);
    uint32_t n = arrived;
    while (n < np && owp_strm_sched_time(ss, n) <= limit)
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
    owp_num64 end = nkeep >= np ? ss->end : owp_strm_sched_time(ss, nkeep - 1);
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
        owp_strm_log(s, LOG_ERR, "session %" PRIu64 ": %s", ss->index, err.msg);
        if (!user_stop) { /* measured, but lost here: the time is unmeasured */
            owp_strm_outcome_failed(o, OWP_STREAM_LOCAL, "%s", err.msg);
            owp_strm_give_back(s, ss, ss->start, o);
        }
        return;
    }
    owp_strm_count(s, &s->counters.packets_lost, nlost);
    owp_strm_count(s, &s->counters.sessions_measured, 1);
    if (cut)
        owp_strm_count(s, &s->counters.sessions_cut, 1);
    if (subs_enabled(s)) {
        uint32_t nblocks = s->o.npackets / s->o.sub_count;
        uint32_t upto = nkeep < np ? (nkeep + s->o.sub_count - 1) / s->o.sub_count : nblocks;
        /* A receiver's summaries say 0, as the reference's, made from the
         * growing file, do (its last one too); a sender's come from the
         * fetched data, which says whether the session finished. */
        write_subs(s, ss, tmp, upto, end, !s->o.sender, complete);
    }
    if ((st = publish(tmp, name, &err)) != OWP_OK) {
        owp_strm_log(s, LOG_ERR, "session %" PRIu64 ": %s", ss->index, err.msg);
        return;
    }
    notify_file(s, OWP_STREAM_FILE_OWP, name, ss->start, end, ss->index, 0, nkeep, complete);
    char sum[STREAM_PATH_MAX];
    stream_path(s, sum, sizeof sum, ss->start, end, ".sum");
    if (write_sum(s, name, 0, 0, 0, sum, &err) != OWP_OK)
        owp_strm_log(s, LOG_ERR, "session %" PRIu64 ": summary: %s", ss->index, err.msg);
    else
        notify_file(s, OWP_STREAM_FILE_SUM, sum, ss->start, end, ss->index, 0, nkeep, complete);
    if (cut) {
        owp_strm_log(s, LOG_WARNING,
                     "session %" PRIu64 " [" TSTAMP_FMT " - " TSTAMP_FMT "] ended early: %u of %u "
                     "packets kept, %" PRIu64 " of them lost; the rest is not measured",
                     ss->index, ss->start, ss->end, nkeep, np, nlost);
        owp_strm_give_back(s, ss, end, o);
    }
}

/* A finished session: its files, and its unmeasured rest. user_stop: the
 * caller ended the stream, so the file ends at its last measured packet and
 * nothing is reported about the rest. */
void owp_strm_write_session(owp_stream *s, stream_session *ss, const char *data, int user_stop,
                            session_outcome *o)
{
    owp_err err;
    owp_err_clear(&err);
    FILE *fp = data ? fopen(data, "rb") : NULL;
    owp_file *f = fp ? owp_file_read(fp, data, &err) : NULL;
    if (data && !f)
        owp_strm_outcome_failed(o, OWP_STREAM_LOCAL, "session data unreadable: %s",
                                err.msg[0] ? err.msg : strerror(errno));
    int whole = 0, have_max = 0;
    uint32_t max_seq = 0;
    uint64_t nlost = 0;
    if (f && examine(f, ss->req.npackets, &whole, &have_max, &max_seq, &nlost, &err) != OWP_OK) {
        owp_strm_outcome_failed(o, OWP_STREAM_LOCAL, "session data: %s", err.msg);
        owp_file_destroy(&f);
        whole = have_max = 0;
    }
    uint32_t np = ss->req.npackets;
    uint32_t nkeep = user_stop ? (f && have_max ? max_seq + 1 : 0)
                               : kept_packets(s, ss, f, o, have_max, max_seq);
    if (!user_stop)
        owp_strm_count(s, &s->counters.sessions, 1);
    if (nkeep == 0) {
        if (!user_stop) {
            owp_strm_count(s, &s->counters.sessions_unmeasured, 1);
            owp_strm_give_back(s, ss, ss->start, o);
        }
    } else {
        int as_is = user_stop || (whole && nkeep == np);
        if (user_stop)
            owp_strm_count(s, &s->counters.sessions, 1);
        write_files(s, ss, data, f, nkeep, as_is, nlost, user_stop,
                    !user_stop && o->ok && whole && nkeep == np, o);
    }
    owp_file_destroy(&f);
    if (fp)
        fclose(fp);
}
