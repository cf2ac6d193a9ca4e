/*
 * twstats.c - two-way statistics over a range of TWAMP/STAMP records
 * (twstats.h). The definitions are owdstat.h's, applied to each of the three
 * times; which records count, and how duplicates and lost packets are told
 * apart, is the reference owstats' reading of a two-way file; the histogram
 * walk for -M's MEDIAN and PDV is the reference's (stats.c's
 * owp_stats_percentile_ref: cumulative count against alpha x SENT).
 *
 * Memory follows the records in the range, never a sequence number: the
 * packets seen are kept in two sparse maps (u32map.h), one by sender seq,
 * one by reflector seq.
 */
#include "twstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "grow.h"
#include "owdstat.h"
#include "sendsched.h"
#include "stats.h"
#include "u32map.h"

#define DEFAULT_BUCKET_WIDTH 0.0001
/* The error estimate of a lost packet's send time: S 0, scale 0, multiplier
 * 1 (the reference's "unknown", scale 64, cut to 6 bits). */
#define LOST_SEND_ERREST 0x0001
/* A sender seq's count in the map once a lost record named it. */
#define LOST_MARK UINT32_MAX

enum { RTT = 0, FWD = 1, BCK = 2, PROC = 3 };

owp_tw_record owp_tw_record_lost_at(uint32_t seq, owp_num64 scheduled, uint16_t errest)
{
    owp_tw_record r = {
        .fwd = {.seq = seq, .send_time = scheduled, .send_err = LOST_SEND_ERREST,
                .recv_err = errest, .ttl = 255},
        .bck = {.seq = 0, .send_err = errest, .recv_err = errest, .ttl = 255},
    };
    return r;
}

/* ------------------------------------------------------------ the log */

owp_status owp_tw_log_init(owp_tw_log *log, uint32_t npackets, owp_err *err)
{
    memset(log, 0, sizeof *log);
    log->npackets = npackets;
    log->seen = calloc((size_t)npackets + 1, 1);
    if (!log->seen)
        return owp_err_set(err, OWP_ERR_NOMEM, "two-way records: out of memory for %u packets",
                           npackets);
    return OWP_OK;
}

static int log_append(owp_tw_log *log, const owp_tw_record *r)
{
    if (owp_grow(&log->records, log->n, &log->cap, sizeof *log->records, 64) != 0)
        return -1;
    log->records[log->n++] = *r;
    return 0;
}

void owp_tw_log_add(owp_tw_log *log, const owp_tw_record *r)
{
    if (r->fwd.seq >= log->npackets || log->n >= 2 * (size_t)log->npackets ||
        log_append(log, r) != 0) {
        log->dropped++;
        return;
    }
    log->seen[r->fwd.seq] = 1;
}

owp_status owp_tw_log_finish(owp_tw_log *log, const owp_request *req, uint32_t sent,
                             owp_err *err)
{
    owp_sched *sched = owp_sched_new(req->sid, req->slots, req->nslots, err);
    if (!sched)
        return err ? err->code : OWP_ERR_INVALID;
    uint16_t errest;
    owp_clock_now(&errest);
    owp_num64 t = req->start_time;
    owp_status st = OWP_OK;
    for (uint32_t i = 0; i < sent && i < log->npackets && st == OWP_OK; i++) {
        owp_num64 delta = owp_sched_next_delta(sched);
        t = t > UINT64_MAX - delta ? UINT64_MAX : t + delta;
        owp_tw_record lost = owp_tw_record_lost_at(i, t, errest);
        if (!log->seen[i] && log_append(log, &lost) != 0)
            st = owp_err_set(err, OWP_ERR_NOMEM, "two-way records: out of memory");
    }
    owp_sched_destroy(&sched);
    return st;
}

void owp_tw_log_clear(owp_tw_log *log)
{
    free(log->records);
    free(log->seen);
    memset(log, 0, sizeof *log);
}

/* ------------------------------------------------------------ times */

static double diff(owp_num64 later, owp_num64 earlier)
{
    return owp_num64_to_double(later) - owp_num64_to_double(earlier);
}

double owp_tw_send_time(const owp_tw_record *r) { return diff(r->fwd.recv_time, r->fwd.send_time); }
double owp_tw_reflect_time(const owp_tw_record *r) { return diff(r->bck.recv_time, r->bck.send_time); }
double owp_tw_processing_time(const owp_tw_record *r) { return diff(r->bck.send_time, r->fwd.recv_time); }
double owp_tw_round_trip(const owp_tw_record *r)
{
    return owp_tw_send_time(r) + owp_tw_reflect_time(r);
}

double owp_tw_err_fwd(const owp_tw_record *r)
{
    return owp_errest_seconds(r->fwd.send_err) + owp_errest_seconds(r->fwd.recv_err);
}

double owp_tw_err_bck(const owp_tw_record *r)
{
    return owp_errest_seconds(r->bck.send_err) + owp_errest_seconds(r->bck.recv_err);
}

void owp_tw_stats_clear(owp_tw_stats *s)
{
    free(s->rtt);
    free(s->bucket_index);
    free(s->bucket_count);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ histograms */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The histograms of the three times, buckets ascending. */
static owp_status build_histograms(owp_tw_stats *s, double *const vals[3], size_t n, owp_err *err)
{
    int32_t *all = malloc((3 * n + 1) * sizeof *all);
    if (!all)
        return owp_err_set(err, OWP_ERR_NOMEM, "two-way statistics: out of memory");
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < n; i++)
            all[k * n + i] = owp_stats_bucket_index(vals[k][i], s->bucket_width);
    qsort(all, 3 * n, sizeof *all, cmp_i32);
    size_t u = 0;
    for (size_t i = 0; i < 3 * n; i++)
        if (u == 0 || all[u - 1] != all[i])
            all[u++] = all[i];
    s->bucket_index = all;
    s->nbuckets = u;
    s->bucket_count = calloc(u ? u : 1, sizeof *s->bucket_count);
    if (!s->bucket_count)
        return owp_err_set(err, OWP_ERR_NOMEM, "two-way statistics: out of memory");
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < n; i++) {
            int32_t b = owp_stats_bucket_index(vals[k][i], s->bucket_width);
            int32_t *p = bsearch(&b, all, u, sizeof *all, cmp_i32);
            if (p)
                s->bucket_count[p - all][k]++;
        }
    return OWP_OK;
}

/* The reference's percentile: the first bucket whose cumulative count reaches
 * alpha x SENT (lost packets count in SENT), as its index x width. */
static int percentile_ref(const owp_tw_stats *s, int k, double alpha, double *v)
{
    double sum = 0, target = alpha * s->sent;
    for (size_t i = 0; i < s->nbuckets; i++) {
        if (!(s->bucket_count[i][k] + sum < target)) {
            *v = s->bucket_index[i] * s->bucket_width;
            return 1;
        }
        sum += s->bucket_count[i][k];
    }
    return 0;
}

static void exact_figures(owp_tw_stats *s, double *vals, size_t n, int k)
{
    owp_owd_sample sample;
    owp_owd_sample_init(&sample, vals, n);
    double v;
    if (owp_owd_sample_percentile(&sample, 0.5, &v))
        s->median_exact[k] = v;
    if (owp_owd_sample_jitter(&sample, &v))
        s->jitter_exact[k] = v;
}

static void ref_figures(owp_tw_stats *s, int k)
{
    double p50, p95;
    s->have_median_ref[k] = percentile_ref(s, k, 0.5, &p50);
    if (s->have_median_ref[k])
        s->median_ref[k] = p50;
    s->have_jitter_ref[k] = s->have_median_ref[k] && percentile_ref(s, k, 0.95, &p95);
    if (s->have_jitter_ref[k])
        s->jitter_ref[k] = p95 - p50;
}

/* ------------------------------------------------------------ the records */

/* The walk over a range's records: the packets seen so far by sender seq
 * (count: copies, or LOST_MARK; order: the reflector seq of the first copy)
 * and by reflector seq (count: copies; order: the sender seq it answered),
 * and the first copies' three times. */
typedef struct tw_walk {
    owp_tw_stats *s;
    owp_u32map by_sender, by_reflector;
    double *v[3];
    size_t nv;
    owp_err *err;
} tw_walk;

static void min_max(owp_tw_stats *s, int k, double v)
{
    if (!s->have[k] || v < s->min[k])
        s->min[k] = v;
    if (!s->have[k] || v > s->max[k])
        s->max[k] = v;
    s->have[k] = 1;
}

static void raise_max(double *m, double v)
{
    if (v > *m)
        *m = v;
}

static owp_status out_of_memory(tw_walk *w)
{
    return owp_err_set(w->err, OWP_ERR_NOMEM, "two-way statistics: out of memory");
}

static owp_status add_lost(tw_walk *w, const owp_tw_record *r)
{
    owp_u32map_entry *e = owp_u32map_get(&w->by_sender, r->fwd.seq);
    if (!e)
        return out_of_memory(w);
    if (e->count != 0 && e->count != LOST_MARK)
        return owp_err_set(w->err, OWP_ERR_FORMAT,
                           "sender seq %u: a lost record for a packet that came back",
                           r->fwd.seq);
    e->count = LOST_MARK;
    owp_tw_stats *s = w->s;
    s->sent++; /* as the reference: a second lost record counts again */
    if (!owp_errest_synchronized(r->fwd.recv_err))
        s->sync = 0;
    double e_recv = owp_errest_seconds(r->fwd.recv_err);
    raise_max(&s->maxerr, e_recv);
    raise_max(&s->maxerr_fwd, e_recv);
    raise_max(&s->maxerr_bck, e_recv);
    return OWP_OK;
}

/* Counts a received record in the two maps; *first when it is a first copy
 * of both its sender packet and its reflected packet. */
static owp_status count_copy(tw_walk *w, const owp_tw_record *r, int *first)
{
    owp_u32map_entry *b = owp_u32map_get(&w->by_reflector, r->bck.seq);
    if (!b)
        return out_of_memory(w);
    if (b->count == 0)
        b->order = r->fwd.seq;
    else if (b->order != r->fwd.seq)
        return owp_err_set(w->err, OWP_ERR_FORMAT,
                           "sender seq %u: reflector seq %u answered sender seq %u before",
                           r->fwd.seq, r->bck.seq, b->order);
    if (b->count < LOST_MARK - 1)
        b->count++;
    uint32_t reflected = b->count;
    owp_u32map_entry *f = owp_u32map_get(&w->by_sender, r->fwd.seq);
    if (!f)
        return out_of_memory(w);
    if (f->count == LOST_MARK)
        return owp_err_set(w->err, OWP_ERR_FORMAT,
                           "sender seq %u: a reflection of a packet recorded lost", r->fwd.seq);
    if (f->count == 0) {
        w->s->sent++;
        f->count = 1;
        f->order = r->bck.seq;
    } else if (f->order != r->bck.seq && reflected == 1 && f->count < LOST_MARK - 1) {
        f->count++; /* answered again under a new reflector seq: a send duplicate */
    }
    *first = f->count == 1 && reflected == 1;
    return OWP_OK;
}

static owp_status add_received(tw_walk *w, const owp_tw_record *r)
{
    int first = 0;
    owp_status st = count_copy(w, r, &first);
    if (st != OWP_OK)
        return st;
    owp_tw_stats *s = w->s;
    double t[4] = {owp_tw_round_trip(r), owp_tw_send_time(r), owp_tw_reflect_time(r),
                   owp_tw_processing_time(r)};
    for (int k = 0; k < 4; k++)
        min_max(s, k, t[k]);
    raise_max(&s->maxerr, owp_tw_err_fwd(r) + owp_tw_err_bck(r));
    raise_max(&s->maxerr_fwd, owp_tw_err_fwd(r));
    raise_max(&s->maxerr_bck, owp_tw_err_bck(r));
    if (!first)
        return OWP_OK;
    for (int k = 0; k < 3; k++)
        w->v[k][w->nv] = t[k];
    w->nv++;
    s->ttl_fwd[r->fwd.ttl]++;
    s->ttl_bck[r->bck.ttl]++;
    return OWP_OK;
}

/* Lost packets and duplicates, from the maps once every record is in. */
static void count_settled(tw_walk *w)
{
    owp_tw_stats *s = w->s;
    for (size_t i = 0; i < w->by_sender.cap; i++) {
        const owp_u32map_entry *e = &w->by_sender.slots[i];
        if (e->used && e->count == LOST_MARK)
            s->lost++;
        else if (e->used && e->count > 1)
            s->send_dups += e->count - 1;
    }
    for (size_t i = 0; i < w->by_reflector.cap; i++) {
        const owp_u32map_entry *e = &w->by_reflector.slots[i];
        if (e->used && e->count > 1)
            s->reflect_dups += e->count - 1;
    }
}

static owp_status walk_records(tw_walk *w, const owp_tw_record *records, uint32_t n,
                               const owp_tw_range *range)
{
    for (uint32_t i = 0; i < n; i++) {
        const owp_tw_record *r = &records[i];
        if (r->fwd.seq < range->first || r->fwd.seq >= range->last)
            continue;
        owp_status st = owp_tw_record_lost(r) ? add_lost(w, r) : add_received(w, r);
        if (st != OWP_OK)
            return st;
    }
    count_settled(w);
    return OWP_OK;
}

owp_status owp_tw_stats_compute(const owp_tw_record *records, uint32_t n,
                                const owp_tw_range *range, double bucket_width, owp_tw_stats *s,
                                owp_err *err)
{
    memset(s, 0, sizeof *s);
    if ((n && !records) || !range)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_tw_stats_compute: missing argument");
    s->bucket_width = bucket_width > 0 ? bucket_width : DEFAULT_BUCKET_WIDTH;
    s->sync = 1;
    s->start_time = range->start_time;
    s->end_time = range->end_time;
    tw_walk w = {.s = s, .err = err};
    for (int k = 0; k < 3; k++)
        w.v[k] = malloc(((size_t)n + 1) * sizeof(double));
    s->rtt = w.v[RTT];
    owp_status st = OWP_OK;
    if (!w.v[0] || !w.v[1] || !w.v[2])
        st = out_of_memory(&w);
    if (st == OWP_OK)
        st = walk_records(&w, records, n, range);
    s->received = (uint32_t)w.nv;
    s->nrtt = w.nv;
    if (st == OWP_OK)
        st = build_histograms(s, w.v, w.nv, err);
    for (int k = 0; k < 3 && st == OWP_OK; k++) {
        ref_figures(s, k);
        exact_figures(s, w.v[k], w.nv, k); /* reorders v[k]: after the histograms */
    }
    free(w.v[FWD]);
    free(w.v[BCK]);
    owp_u32map_free(&w.by_sender);
    owp_u32map_free(&w.by_reflector);
    if (st != OWP_OK)
        owp_tw_stats_clear(s);
    return st;
}

int owp_tw_stats_rtt_percentile(owp_tw_stats *s, double alpha, double *v)
{
    return owp_owd_percentile(s->rtt, s->nrtt, alpha, v);
}
