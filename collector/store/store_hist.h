/*
 * store_hist.h - the store's mergeable delay histogram (internal to the store).
 *
 * Log-scaled buckets in the manner of DDSketch: bucket k > 0 holds |delay|
 * in [g^(k-1), g^k) microseconds with g = (1 + a) / (1 - a), a = 1 %, and
 * reports 2 g^k / (g + 1) us, so every value it stands for is within a
 * relative error a of the reported one. Bucket 0 holds |delay| < 1 us (reports
 * 0, absolute error < 1 us); negative delays (unsynchronized clocks) use the
 * mirror buckets -k. Bucket +-OWM_HIST_K also takes everything beyond ~1000 s.
 *
 * Besides the buckets a histogram carries the counters of its period (sent,
 * lost, dups, reordered), exact min/max, TTL range and the IPDV sum and pair
 * count (owdstat.h: owp_owd_ipdv), so that
 * merging histograms merges every statistic of a query.
 *
 * Encoded (owm_hist_encode) sparsely: version byte, varint counters, the
 * three doubles as big-endian IEEE bits, the TTL range, then (delta of bucket
 * index zigzagged, count) varint pairs.
 */
#ifndef OWM_STORE_HIST_H
#define OWM_STORE_HIST_H

#include <stddef.h>
#include <stdint.h>

#define OWM_HIST_K 1050                 /* g^1049 us ~ 1 270 s */
#define OWM_HIST_N (2 * OWM_HIST_K + 1) /* dense slots: index + OWM_HIST_K */
#define OWM_HIST_MAX_ENCODED (64 + (size_t)OWM_HIST_N * 14)

typedef struct owm_hist {
    uint64_t sent, lost, dups, reordered, received;
    uint64_t ipdv_count;
    double ipdv_sum;
    double min, max;           /* over every received copy; +inf/-inf when none */
    uint8_t ttl_min, ttl_max;  /* first copies; 255/0 when none */
    int lo, hi;                /* dense slots in use: [lo, hi], lo > hi when none */
    uint64_t counts[OWM_HIST_N];
} owm_hist;

/* init: the first time (whole struct); clear: to empty again (cheap). */
void owm_hist_init(owm_hist *h);
void owm_hist_clear(owm_hist *h);
int owm_hist_is_empty(const owm_hist *h); /* no record of any kind */

/* Bucket index (-OWM_HIST_K..OWM_HIST_K) of a delay in seconds, and the value it reports. */
int owm_hist_index(double delay);
double owm_hist_value(int index);

/* Record events. */
void owm_hist_add_lost(owm_hist *h);
void owm_hist_add_first(owm_hist *h, double delay, uint8_t ttl, int reordered);
void owm_hist_add_dup(owm_hist *h, double delay);
void owm_hist_add_ipdv(owm_hist *h, double ipdv);

/* dst += src. */
void owm_hist_merge(owm_hist *dst, const owm_hist *src);

/* Sparse encoding into out (OWM_HIST_MAX_ENCODED bytes); returns its length. */
size_t owm_hist_encode(const owm_hist *h, uint8_t *out);
/* h += the decoded histogram; returns 0 on success, -1 when data is malformed
 * (h may then hold part of it). */
int owm_hist_merge_encoded(owm_hist *h, const uint8_t *data, size_t len);

/* Percentile p in [0, 100] over first copies: the nearest rank's bucket
 * (owp_owd_percentile_bucket), reported as its value clamped into [min, max],
 * so within a relative 1 % (1 us absolute below 1 us) of the exact one
 * (see store.h); 0 when empty. */
int owm_hist_percentile(const owm_hist *h, double p, double *v);
/* Jitter P95 - P50 of those percentiles (owp_owd_jitter), so within
 * 1 % x (|P95| + |P50|) (plus 2 us below 1 us) of the exact one; 0 when empty. */
int owm_hist_jitter(const owm_hist *h, double *v);
/* Mean IPDV (owp_owd_ipdv_mean): exact; 0 when no pair. */
int owm_hist_ipdv(const owm_hist *h, double *v);

#endif
