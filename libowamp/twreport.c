/*
 * twreport.c - twping's report formats (twstats.h; the reference's outputs
 * are in tests/vectors/twamp/outputs and README.md F), the same whether the
 * records come from a run (twping, stping) or a file (owstats, twpfile.h).
 * The -M and -R formats are the reference's byte for byte; the human summary
 * too, except the median, jitter and -a values, which are exact nearest-rank
 * percentiles (doc/statistics.md, doc/compat.md), as in owping's summary.
 * The ranges summarised (the whole session, or -N's) are ranges of the
 * schedule's sender seqs, their first and last times scheduled ones, as the
 * reference's.
 */
#include "twstats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "report.h"
#include "sendsched.h"

#define TSTAMP_FMT "%020" PRIu64
enum { RTT = 0, FWD = 1, BCK = 2, PROC = 3 };

typedef struct tw_ctx {
    FILE *out;
    const owp_tw_session_info *info;
    const owp_tw_report_opts *o;
    double scale;
    const char *unit;
} tw_ctx;

static void print_sid(FILE *out, const uint8_t *sid)
{
    for (int i = 0; i < OWP_SID_LEN; i++)
        fprintf(out, "%02x", sid[i]);
    fprintf(out, "\n");
}

static void print_header(const tw_ctx *c)
{
    const owp_request *req = c->info->req;
    fprintf(c->out, "\n--- %s statistics from [%s]:%u to [%s]:%u ---\n",
            c->info->prog ? c->info->prog : "twping", c->info->from_host, req->sender_port,
            c->info->to_host, req->receiver_port);
    fprintf(c->out, "SID:\t");
    print_sid(c->out, req->sid);
}

static void print_hops(FILE *out, const char *dir, const uint32_t ttl[256])
{
    int nvalues = 0, min_ttl = -1, max_ttl = -1;
    for (int t = 0; t < 256; t++)
        if (ttl[t]) {
            nvalues++;
            if (min_ttl < 0)
                min_ttl = t;
            max_ttl = t;
        }
    if (nvalues == 0)
        fprintf(out, "%s hops not reported\n", dir);
    else if (nvalues == 1)
        fprintf(out, "%s hops = %d (consistently)\n", dir, owp_owd_hops((uint8_t)min_ttl));
    else
        fprintf(out, "%s hops takes %d values; min hops = %d, max hops = %d\n", dir, nvalues,
                owp_owd_hops((uint8_t)max_ttl), owp_owd_hops((uint8_t)min_ttl));
}

static void print_times(const tw_ctx *c, const owp_tw_stats *s, const char *what, int k,
                        double err)
{
    char b1[64], b2[64], b3[64];
    fprintf(c->out, "%s min/median/max = %s/%s/%s %s, ", what,
            owp_report_value(b1, sizeof b1, s->have[k], s->min[k], c->scale),
            owp_report_value(b2, sizeof b2, s->have[k], s->median_exact[k], c->scale),
            owp_report_value(b3, sizeof b3, s->have[k], s->max[k], c->scale), c->unit);
    if (s->sync)
        fprintf(c->out, "(err=%.3g %s)\n", err * c->scale, c->unit);
    else
        fprintf(c->out, "(unsync)\n");
}

static void print_summary(const tw_ctx *c, owp_tw_stats *s)
{
    FILE *out = c->out;
    char tbuf[80], b1[64], b2[64];
    print_header(c);
    owp_ntp_format_local(s->start_time, tbuf, sizeof tbuf);
    fprintf(out, "first:\t%s\n", tbuf);
    owp_ntp_format_local(s->end_time, tbuf, sizeof tbuf);
    fprintf(out, "last:\t%s\n", tbuf);
    fprintf(out, "%u sent, %u lost (%.3f%%), %u send duplicates, %u reflect duplicates\n", s->sent,
            s->lost, 100.0 * owp_owd_loss_ratio(s->lost, s->sent), s->send_dups,
            s->reflect_dups);
    print_times(c, s, "round-trip time", RTT, s->maxerr);
    print_times(c, s, "send time", FWD, s->maxerr_fwd);
    print_times(c, s, "reflect time", BCK, s->maxerr_bck);
    fprintf(out, "reflector processing time min/max = %s/%s %s\n",
            owp_report_value(b1, sizeof b1, s->have[PROC], s->min[PROC], c->scale),
            owp_report_value(b2, sizeof b2, s->have[PROC], s->max[PROC], c->scale), c->unit);
    static const char *const jitter_name[3] = {"two-way", "send", "reflect"};
    for (int k = 0; k < 3; k++)
        fprintf(out, "%s jitter = %s %s (P95-P50)\n", jitter_name[k],
                owp_report_value(b1, sizeof b1, s->have[k], s->jitter_exact[k], c->scale),
                c->unit);
    if (c->o->npercentiles) {
        fprintf(out, "Percentiles:\n");
        for (unsigned i = 0; i < c->o->npercentiles; i++) {
            double v = 0, p = (double)(float)c->o->percentiles[i]; /* -a values are floats */
            int ok = owp_tw_stats_rtt_percentile(s, c->o->percentiles[i] / 100.0, &v);
            fprintf(out, "\t%.1f: %s %s\n", p, owp_report_value(b1, sizeof b1, ok, v, c->scale),
                    c->unit);
        }
    }
    print_hops(out, "send", s->ttl_fwd);
    print_hops(out, "reflect", s->ttl_bck);
    fprintf(out, "\n");
}

static void print_ttl_range(FILE *out, const char *key, const uint32_t ttl[256])
{
    int min_ttl = 255, max_ttl = 0;
    for (int t = 0; t < 256; t++)
        if (ttl[t]) {
            if (t < min_ttl)
                min_ttl = t;
            max_ttl = t;
        }
    fprintf(out, "MINTTL_%s\t%d\nMAXTTL_%s\t%d\n", key, min_ttl, key, max_ttl);
}

static void print_machine(const tw_ctx *c, const owp_tw_stats *s, uint32_t first, uint32_t last)
{
    FILE *out = c->out;
    const owp_tw_session_info *in = c->info;
    const owp_request *req = in->req;
    fprintf(out, "SUMMARY\t%.2f\nSID\t", 3.0);
    print_sid(out, req->sid);
    fprintf(out, "FROM_HOST\t%s\nFROM_ADDR\t%s\nFROM_PORT\t%u\n", in->from_host, in->from_addr,
            req->sender_port);
    fprintf(out, "TO_HOST\t%s\nTO_ADDR\t%s\nTO_PORT\t%u\n", in->to_host, in->to_addr,
            req->receiver_port);
    fprintf(out, "START_TIME\t" TSTAMP_FMT "\nEND_TIME\t" TSTAMP_FMT "\n", s->start_time,
            s->end_time);
    fprintf(out, "DSCP\t0x%2.2x\n", (unsigned)(req->typep >> 24));
    fprintf(out, "LOSS_TIMEOUT\t%" PRIu64 "\nPACKET_PADDING\t%u\n", req->timeout, req->padding);
    fprintf(out, "SESSION_PACKET_COUNT\t%u\nSAMPLE_PACKET_COUNT\t%u\n", req->npackets,
            last - first);
    fprintf(out, "BUCKET_WIDTH\t%g\nSESSION_FINISHED\t%d\n", s->bucket_width, in->finished);
    fprintf(out, "SENT\t%u\nSYNC\t%d\n", s->sent, s->sync);
    fprintf(out, "MAXERR\t%g\nMAXERR_FWD\t%g\nMAXERR_BCK\t%g\n", s->maxerr, s->maxerr_fwd,
            s->maxerr_bck);
    fprintf(out, "DUPS_FWD\t%u\nDUPS_BCK\t%u\nLOST\t%u\n", s->send_dups, s->reflect_dups,
            s->lost);
    if (s->have[RTT]) {
        fprintf(out, "MIN\t%g\nMIN_FWD\t%g\nMIN_BCK\t%g\nMIN_PROC\t%g\n", s->min[RTT],
                s->min[FWD], s->min[BCK], s->min[PROC]);
        static const char *const sfx[3] = {"", "_FWD", "_BCK"};
        for (int k = 0; k < 3; k++)
            if (s->have_median_ref[k])
                fprintf(out, "MEDIAN%s\t%g\n", sfx[k], s->median_ref[k]);
        fprintf(out, "MAX\t%g\nMAX_FWD\t%g\nMAX_BCK\t%g\nMAX_PROC\t%g\n", s->max[RTT],
                s->max[FWD], s->max[BCK], s->max[PROC]);
        for (int k = 0; k < 3; k++)
            if (s->have_jitter_ref[k])
                fprintf(out, "PDV%s\t%g\n", sfx[k], s->jitter_ref[k]);
        fprintf(out, "<BUCKETS>\n");
        for (size_t i = 0; i < s->nbuckets; i++)
            fprintf(out, "\t%d\t%u\t%u\t%u\n", s->bucket_index[i], s->bucket_count[i][0],
                    s->bucket_count[i][1], s->bucket_count[i][2]);
        fprintf(out, "</BUCKETS>\n");
    }
    print_ttl_range(out, "FWD", s->ttl_fwd);
    print_ttl_range(out, "BCK", s->ttl_bck);
    if (s->received) {
        fprintf(out, "<TTLBUCKETS>\n");
        for (int t = 0; t < 256; t++)
            if (s->ttl_fwd[t] || s->ttl_bck[t])
                fprintf(out, "\t%d\t%u\t%u\n", t, s->ttl_fwd[t], s->ttl_bck[t]);
        fprintf(out, "</TTLBUCKETS>\n");
    }
    fprintf(out, "\n");
}

static void print_raw_half(FILE *out, const owp_record *r, const char *end)
{
    fprintf(out, "%lu " TSTAMP_FMT " %u %g " TSTAMP_FMT " %u %g %u%s", (unsigned long)r->seq,
            r->send_time, (unsigned)owp_errest_synchronized(r->send_err),
            owp_errest_seconds(r->send_err), r->recv_time,
            (unsigned)owp_errest_synchronized(r->recv_err), owp_errest_seconds(r->recv_err),
            (unsigned)r->ttl, end);
}

static void print_record_line(const tw_ctx *c, const owp_tw_record *r)
{
    if (owp_tw_record_lost(r)) {
        fprintf(c->out, "seq_no=%-10u *LOST*\n", r->fwd.seq);
        return;
    }
    fprintf(c->out,
            "seq_no=%-10u fwd_delay=%.3g %s bck_delay=%.3g %s delay=%.3g %s proc_delay=%.3g %s"
            "\t(err=%.3g %s)\n",
            r->fwd.seq, owp_tw_send_time(r) * c->scale, c->unit,
            owp_tw_reflect_time(r) * c->scale, c->unit, owp_tw_round_trip(r) * c->scale, c->unit,
            owp_tw_processing_time(r) * c->scale, c->unit,
            (owp_tw_err_fwd(r) + owp_tw_err_bck(r)) * c->scale, c->unit);
}

/* A range's first and last scheduled send times, from the session's
 * schedule (walked forward once when the ranges come in order). */
static void range_times(owp_sched *sched, const owp_request *req, owp_tw_range *r)
{
    uint32_t end = r->last > r->first ? r->last - 1 : r->first;
    r->start_time = req->start_time + owp_sched_offset(sched, r->first);
    r->end_time = req->start_time + owp_sched_offset(sched, end);
}

/* One summary (with -v its records first) of the records of a range. */
static owp_status report_range(const tw_ctx *c, const owp_tw_record *records, uint32_t n,
                               const owp_tw_range *range, owp_err *err)
{
    if (c->o->verbose) {
        print_header(c);
        for (uint32_t i = 0; i < n; i++)
            if (records[i].fwd.seq >= range->first && records[i].fwd.seq < range->last)
                print_record_line(c, &records[i]);
    }
    owp_tw_stats s;
    owp_status st = owp_tw_stats_compute(records, n, range, c->o->bucket_width, &s, err);
    if (st != OWP_OK)
        return st;
    if (c->o->machine)
        print_machine(c, &s, range->first, range->last);
    else
        print_summary(c, &s);
    owp_tw_stats_clear(&s);
    return OWP_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* -N: one summary per step sender seqs. Each reads only its own records,
 * gathered in arrival order: the records sorted once by (range, arrival),
 * so that many ranges cost one sort, not a pass over the session each. */
static owp_status report_ranges(const tw_ctx *c, owp_sched *sched, const owp_tw_record *records,
                                uint32_t n, uint32_t step, owp_err *err)
{
    const owp_request *req = c->info->req;
    uint64_t *keys = malloc(((size_t)n + 1) * sizeof *keys);
    owp_tw_record *mine = malloc(((size_t)n + 1) * sizeof *mine);
    owp_status st = OWP_OK;
    if (!keys || !mine)
        st = owp_err_set(err, OWP_ERR_NOMEM, "two-way report: out of memory");
    for (uint32_t i = 0; i < n && st == OWP_OK; i++)
        keys[i] = (uint64_t)(records[i].fwd.seq / step) << 32 | i;
    if (st == OWP_OK)
        qsort(keys, n, sizeof *keys, cmp_u64);
    uint32_t next = 0;
    for (uint64_t first = 0; first < req->npackets && st == OWP_OK; first += step) {
        uint64_t last = first + step < req->npackets ? first + step : req->npackets;
        owp_tw_range range = {.first = (uint32_t)first, .last = (uint32_t)last};
        range_times(sched, req, &range);
        uint32_t count = 0;
        uint64_t block = first / step;
        for (; next < n && keys[next] >> 32 <= block; next++)
            if (keys[next] >> 32 == block)
                mine[count++] = records[(uint32_t)keys[next]];
        st = report_range(c, mine, count, &range, err);
    }
    free(keys);
    free(mine);
    return st;
}

static void print_raw(FILE *out, const owp_tw_record *records, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        print_raw_half(out, &records[i].fwd, " ");
        print_raw_half(out, &records[i].bck, "\n");
    }
}

owp_tw_report_opts owp_tw_report_opts_of(const owp_report_opts *ro)
{
    owp_tw_report_opts to = {
        .bucket_width = ro->bucket_width, .units = ro->units, .sub_count = ro->sub_count,
        .machine = ro->machine, .raw = ro->raw, .verbose = ro->verbose,
        .percentiles = ro->percentiles, .npercentiles = ro->npercentiles,
    };
    return to;
}

owp_status owp_tw_report(FILE *out, const owp_tw_session_info *info, const owp_tw_record *records,
                         uint32_t n, const owp_tw_report_opts *o, owp_err *err)
{
    if (!out || !info || !info->req || !o || (n && !records))
        return owp_err_set(err, OWP_ERR_INVALID, "owp_tw_report: missing argument");
    if (o->raw) {
        print_raw(out, records, n);
        return OWP_OK;
    }
    const owp_request *req = info->req;
    owp_err serr;
    owp_sched *sched = owp_sched_new(req->sid, req->slots, req->nslots, &serr);
    if (!sched)
        return owp_err_set(err, serr.code, "two-way report: the session's schedule: %s",
                           serr.msg);
    tw_ctx c = {.out = out, .info = info, .o = o};
    c.scale = owp_report_unit_scale(o->units, &c.unit);
    owp_status st;
    if (o->sub_count && o->sub_count < req->npackets) {
        st = report_ranges(&c, sched, records, n, o->sub_count, err);
    } else {
        owp_tw_range whole = {.first = 0, .last = req->npackets};
        range_times(sched, req, &whole);
        st = report_range(&c, records, n, &whole, err);
    }
    owp_sched_destroy(&sched);
    return st;
}
