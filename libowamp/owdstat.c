/*
 * owdstat.c - the one definition of each delay statistic (see owdstat.h and
 * doc/statistics.md).
 *
 * The exact percentile is a selection (Hoare's FIND) rather than a sort: a
 * summary asks for a handful of percentiles of up to millions of delays.
 * Every selection leaves its rank in its sorted place with smaller values
 * before it and larger after, so a sample remembers those places and the
 * next percentile only searches between its two nearest neighbours: the
 * median costs ~3 n comparisons, the jitter's P95 and the -a percentiles
 * after it a fraction of that.
 */
#include "owdstat.h"

#include <math.h>
#include <stdlib.h>

uint64_t owp_owd_rank(double alpha, uint64_t n)
{
    if (n == 0)
        return 0;
    double x = alpha * (double)n;
    /* Two roundings (the decimal alpha, the product) err by ~2e-16 x. */
    double k = ceil(x - fabs(x) * 1e-12);
    if (!(k >= 1.0))
        return 1; /* also NaN */
    if (k >= (double)n)
        return n;
    return (uint64_t)k;
}

static int double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double a, double b, double c)
{
    if (a < b)
        return b < c ? b : a < c ? c : a;
    return a < c ? a : b < c ? c : b;
}

/* Put the value of 0-based rank k of v[lo, hi] (inclusive) at v[k], smaller
 * ones before it and larger ones after (Hoare's FIND). Elements equal to
 * the pivot stop both scans, so equal delays split evenly instead of piling
 * up on one side. The pivot is a median of three pseudo-random elements, so
 * no arrival order is a bad case; a run of bad pivots anyway ends in a sort. */
static void select_rank(double *v, size_t lo, size_t hi, size_t k)
{
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (hi - lo);
    unsigned budget = 16;
    for (size_t m = hi - lo; m > 1; m >>= 1)
        budget += 2;
    while (lo < hi) {
        if (budget-- == 0) {
            qsort(v + lo, hi - lo + 1, sizeof *v, double_cmp);
            return;
        }
        size_t span = hi - lo + 1, pick[3];
        for (int t = 0; t < 3; t++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            pick[t] = lo + (size_t)(x % span);
        }
        double p = median3(v[pick[0]], v[pick[1]], v[pick[2]]);
        size_t i = lo, j = hi;
        while (i <= j) {
            /* p is one of v[lo, hi]: each scan stops at it at the latest. */
            while (v[i] < p)
                i++;
            while (p < v[j])
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j-- == 0)
                    break;
            }
        }
        /* now v[lo, j] <= p <= v[i, hi], and v(j, i) == p */
        if (k <= j && j != (size_t)-1)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

void owp_owd_sample_init(owp_owd_sample *s, double *delays, size_t n)
{
    s->v = delays;
    s->n = n;
    s->nfixed = 0;
}

/* Where k may lie: (after the last fixed position below k, before the first
 * above it); -1 when k itself is fixed. */
static int known_bounds(const owp_owd_sample *s, size_t k, size_t *lo, size_t *hi)
{
    *lo = 0;
    *hi = s->n - 1;
    for (unsigned i = 0; i < s->nfixed; i++) {
        size_t f = s->fixed[i];
        if (f == k)
            return -1;
        if (f < k && f + 1 > *lo)
            *lo = f + 1;
        if (f > k && f - 1 < *hi)
            *hi = f - 1;
    }
    return 0;
}

int owp_owd_sample_percentile(owp_owd_sample *s, double alpha, double *v)
{
    if (s->n == 0)
        return 0;
    size_t k = (size_t)owp_owd_rank(alpha, s->n) - 1, lo, hi;
    if (known_bounds(s, k, &lo, &hi) == 0) {
        select_rank(s->v, lo, hi, k);
        /* A selection (or the sort it may end in) only moves values inside
         * [lo, hi]: every earlier position stays where it was. */
        if (s->nfixed < OWP_OWD_SAMPLE_FIXED)
            s->fixed[s->nfixed++] = k;
    }
    *v = s->v[k];
    return 1;
}

int owp_owd_select(double *v, size_t n, uint64_t k, double *out)
{
    if (k < 1 || k > n)
        return 0;
    select_rank(v, 0, n - 1, (size_t)(k - 1));
    *out = v[k - 1];
    return 1;
}

int owp_owd_percentile(double *delays, size_t n, double alpha, double *v)
{
    owp_owd_sample s;
    owp_owd_sample_init(&s, delays, n);
    return owp_owd_sample_percentile(&s, alpha, v);
}

int owp_owd_percentile_bucket(const uint64_t *counts, size_t nbuckets, double alpha,
                              size_t *bucket)
{
    uint64_t total = 0;
    for (size_t i = 0; i < nbuckets; i++)
        total += counts[i];
    uint64_t rank = owp_owd_rank(alpha, total), sum = 0;
    if (rank == 0)
        return 0;
    for (size_t i = 0; i < nbuckets; i++) {
        sum += counts[i];
        if (sum >= rank) {
            *bucket = i;
            return 1;
        }
    }
    return 0; /* not reached: sum ends at total >= rank */
}

int owp_owd_jitter(owp_owd_quantile_fn q, void *src, double *v)
{
    double high, low;
    if (!q(src, OWP_OWD_JITTER_HIGH, &high) || !q(src, OWP_OWD_JITTER_LOW, &low))
        return 0;
    *v = high - low;
    return 1;
}

static int sample_quantile(void *src, double alpha, double *v)
{
    return owp_owd_sample_percentile(src, alpha, v);
}

int owp_owd_sample_jitter(owp_owd_sample *s, double *v)
{
    return owp_owd_jitter(sample_quantile, s, v);
}

void owp_owd_ipdv_init(owp_owd_ipdv *acc)
{
    *acc = (owp_owd_ipdv){0};
}

int owp_owd_ipdv_add(owp_owd_ipdv *acc, uint32_t seq, double delay, double *pair)
{
    int paired = acc->have_prev && seq == acc->prev_seq + 1;
    if (paired) {
        double d = fabs(delay - acc->prev_delay);
        acc->pairs++;
        acc->sum += d;
        if (pair)
            *pair = d;
    }
    acc->have_prev = 1;
    acc->prev_seq = seq;
    acc->prev_delay = delay;
    return paired;
}

void owp_owd_ipdv_break(owp_owd_ipdv *acc) { acc->have_prev = 0; }

int owp_owd_ipdv_mean(uint64_t pairs, double sum, double *v)
{
    if (pairs == 0)
        return 0;
    *v = sum / (double)pairs;
    return 1;
}

double owp_owd_loss_ratio(uint64_t lost, uint64_t sent)
{
    return sent ? (double)lost / (double)sent : 0.0;
}

int owp_owd_hops(uint8_t ttl) { return 255 - ttl; }
