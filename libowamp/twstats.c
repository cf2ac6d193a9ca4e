/*
 * twstats.c - two-way statistics over a range of TWAMP records (twstats.h).
 * The definitions are owdstat.h's, applied to each of the three times; the
 * histogram walk for -M's MEDIAN and PDV is the reference's (stats.c's
 * owp_stats_percentile_ref: cumulative count against alpha x SENT).
 */
#include "twstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "stats.h"

#define DEFAULT_BUCKET_WIDTH 0.0001

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

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The histograms of the three times, buckets ascending. */
static owp_status build_histograms(owp_tw_stats *s, const double *vals[3], size_t n, owp_err *err)
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

static void min_max(owp_tw_stats *s, int k, double v)
{
    if (!s->have[k] || v < s->min[k])
        s->min[k] = v;
    if (!s->have[k] || v > s->max[k])
        s->max[k] = v;
    s->have[k] = 1;
}

owp_status owp_tw_stats_compute(const owp_tw_record *records, uint32_t first, uint32_t last,
                                double bucket_width, owp_tw_stats *s, owp_err *err)
{
    memset(s, 0, sizeof *s);
    s->bucket_width = bucket_width > 0 ? bucket_width : DEFAULT_BUCKET_WIDTH;
    s->sync = 1;
    if (last < first)
        last = first;
    size_t cap = last - first;
    double *v[3];
    v[0] = s->rtt = malloc((cap + 1) * sizeof(double));
    v[1] = malloc((cap + 1) * sizeof(double));
    v[2] = malloc((cap + 1) * sizeof(double));
    owp_status st = OWP_OK;
    if (!v[0] || !v[1] || !v[2]) {
        st = owp_err_set(err, OWP_ERR_NOMEM, "two-way statistics: out of memory");
        goto done;
    }
    size_t n = 0;
    for (uint32_t i = first; i < last; i++) {
        const owp_tw_record *r = &records[i];
        if (i == first)
            s->start_time = r->scheduled;
        s->end_time = r->scheduled;
        s->sent++;
        if (owp_tw_record_lost(r)) {
            s->lost++;
            s->sync = 0;
            continue;
        }
        s->send_dups += r->send_dups;
        s->reflect_dups += r->reflect_dups;
        double e = owp_tw_err_fwd(r) + owp_tw_err_bck(r);
        if (e > s->maxerr)
            s->maxerr = e;
        if (owp_tw_err_fwd(r) > s->maxerr_fwd)
            s->maxerr_fwd = owp_tw_err_fwd(r);
        if (owp_tw_err_bck(r) > s->maxerr_bck)
            s->maxerr_bck = owp_tw_err_bck(r);
        v[0][n] = owp_tw_round_trip(r);
        v[1][n] = owp_tw_send_time(r);
        v[2][n] = owp_tw_reflect_time(r);
        for (int k = 0; k < 3; k++)
            min_max(s, k, v[k][n]);
        min_max(s, 3, owp_tw_processing_time(r));
        s->ttl_fwd[r->fwd.ttl]++;
        s->ttl_bck[r->bck.ttl]++;
        n++;
    }
    s->received = (uint32_t)n;
    s->nrtt = n;
    const double *cv[3] = {v[0], v[1], v[2]};
    if ((st = build_histograms(s, cv, n, err)) != OWP_OK)
        goto done;
    for (int k = 0; k < 3; k++) {
        ref_figures(s, k);
        exact_figures(s, v[k], n, k); /* reorders v[k]: after the histograms */
    }
done:
    free(v[1]);
    free(v[2]);
    if (st != OWP_OK)
        owp_tw_stats_clear(s);
    return st;
}

int owp_tw_stats_rtt_percentile(owp_tw_stats *s, double alpha, double *v)
{
    return owp_owd_percentile(s->rtt, s->nrtt, alpha, v);
}
