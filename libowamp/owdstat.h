/*
 * owdstat.h - where each one-way delay statistic is defined: one function
 * per definition, used by every report (owping, owstats, powstream) and by
 * the store's queries (owmesh query, grid, plot). doc/statistics.md lists
 * them with where each is shown.
 *
 *   percentile  nearest rank over the first copies of the received packets:
 *               the smallest delay d such that at least ceil(alpha x n) of
 *               the n delays are <= d (alpha = 0: the minimum). Exact from
 *               the delays (owp_owd_percentile, a selection in O(n)); from a
 *               histogram, the bucket holding that rank
 *               (owp_owd_percentile_bucket), as exact as the bucket is narrow.
 *   jitter      P95 - P50 of the same percentiles (owamp's meaning).
 *   ipdv        mean |D(s+1) - D(s)| over consecutive sequence numbers s, s+1
 *               that both arrived (RFC 3393, "consecutive packets").
 *   loss ratio  lost / sent, over packets sent into a running session.
 *   hops        255 - TTL of a first copy.
 *
 * The -M, .sum and PDV/MEDIAN figures of the reference keep its own bucket
 * arithmetic (stats.h, owp_stats_percentile_ref): tools parse them.
 */
#ifndef OWP_OWDSTAT_H
#define OWP_OWDSTAT_H

#include <stddef.h>
#include <stdint.h>

/* The percentiles jitter is the difference of. */
#define OWP_OWD_JITTER_HIGH 0.95
#define OWP_OWD_JITTER_LOW 0.50

/* The 1-based rank of the alpha-quantile among n values: ceil(alpha x n)
 * kept in [1, n]; 0 when n == 0. alpha is a decimal fraction binary cannot
 * hold exactly (0.1 x 30 computes as 3.0000000000000004), so floating-point
 * noise is shaved off before rounding up. */
uint64_t owp_owd_rank(double alpha, uint64_t n);

/* Exact nearest-rank percentile of delays[0..n), alpha in [0, 1]. Selects in
 * place (expected O(n), never worse than O(n log n)): the order of delays
 * changes, the values do not. Returns 0 (v untouched) when n == 0. */
int owp_owd_percentile(double *delays, size_t n, double alpha, double *v);

/* The value of 1-based rank k among v[0..n) (the k-th smallest), selecting
 * in place as owp_owd_percentile does. Returns 0 (out untouched) unless
 * 1 <= k <= n. */
int owp_owd_select(double *v, size_t n, uint64_t k, double *out);

/* Several percentiles of one array: each selection leaves its rank in place,
 * the next ones search only between the ranks already placed. Re-init when
 * the array changes. The array stays the caller's. */
#define OWP_OWD_SAMPLE_FIXED 32
typedef struct owp_owd_sample {
    double *v;
    size_t n;
    size_t fixed[OWP_OWD_SAMPLE_FIXED]; /* ranks (0-based) already in their sorted place */
    unsigned nfixed;
} owp_owd_sample;

void owp_owd_sample_init(owp_owd_sample *s, double *delays, size_t n);
/* As owp_owd_percentile, on the sample. */
int owp_owd_sample_percentile(owp_owd_sample *s, double alpha, double *v);

/* Histogram percentile: counts[0..nbuckets) in ascending delay order; *bucket
 * = the first bucket whose cumulative count reaches owp_owd_rank(alpha,
 * total). The caller turns it into a value; the error is then that of the
 * bucket's representative against any delay the bucket holds. Returns 0 when
 * the histogram is empty. */
int owp_owd_percentile_bucket(const uint64_t *counts, size_t nbuckets, double alpha,
                              size_t *bucket);

/* Jitter from any percentile source: q(src, alpha, &v) returns 0 when
 * undefined. *v = P95 - P50; returns 0 when either is undefined. */
typedef int (*owp_owd_quantile_fn)(void *src, double alpha, double *v);
int owp_owd_jitter(owp_owd_quantile_fn q, void *src, double *v);
/* The exact one, of a sample. */
int owp_owd_sample_jitter(owp_owd_sample *s, double *v);

/* IPDV, fed the received first copies in sequence order. */
typedef struct owp_owd_ipdv {
    int have_prev;
    uint32_t prev_seq;
    double prev_delay;
    uint64_t pairs;
    double sum; /* of |D(s+1) - D(s)| */
} owp_owd_ipdv;

void owp_owd_ipdv_init(owp_owd_ipdv *acc);
/* A received first copy. Returns 1 when it pairs with the previous packet
 * (seq follows it directly), with *pair = |D(s+1) - D(s)| (pair may be NULL),
 * counted into acc; 0 otherwise. */
int owp_owd_ipdv_add(owp_owd_ipdv *acc, uint32_t seq, double delay, double *pair);
/* A lost packet or the start of another session: nothing pairs across it. */
void owp_owd_ipdv_break(owp_owd_ipdv *acc);
/* Mean IPDV of pairs whose |differences| add up to sum; 0 when no pair. */
int owp_owd_ipdv_mean(uint64_t pairs, double sum, double *v);

/* lost / sent; 0 when nothing was sent. */
double owp_owd_loss_ratio(uint64_t lost, uint64_t sent);

/* Hop count of a packet received with this TTL (senders use 255). */
int owp_owd_hops(uint8_t ttl);

#endif
