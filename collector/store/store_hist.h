/*
 * store_hist.h - the store's mergeable delay histogram (internal to the store).
 *
 * Log-scaled buckets in the manner of DDSketch: bucket k > 0 holds |delay|
 * in [g^(k-1), g^k) microseconds with g = (1 + a) / (1 - a), a = 1 %, and
 * reports 2 g^k / (g + 1) us, so every value it stands for is within a
 * relative error a of the reported one. Bucket 0 holds |delay| < 1 us (reports
 * 0, absolute error < 1 us); negative delays (unsynchronized clocks) use the
 * mirror buckets -k. Bucket +-STORE_HIST_K also takes everything beyond ~1000 s.
 *
 * Besides the buckets a histogram carries the counters of its period (sent,
 * lost, dups, reordered), exact min/max, TTL range and the IPDV sum and pair
 * count (owdstat.h: owp_owd_ipdv), so that
 * merging histograms merges every statistic of a query.
 *
 * Encoded (store_hist_encode) sparsely: version byte, varint counters, the
 * three doubles as big-endian IEEE bits, the TTL range, then (delta of bucket
 * index zigzagged, count) varint pairs.
 */
#ifndef STORE_HIST_H
#define STORE_HIST_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define STORE_HIST_K 1050                 /* g^1049 us ~ 1 270 s */
#define STORE_HIST_N (2 * STORE_HIST_K + 1) /* dense slots: index + STORE_HIST_K */
#define STORE_HIST_MAX_ENCODED (64 + (size_t)STORE_HIST_N * 14)

typedef struct store_hist {
    uint64_t sent, lost, dups, reordered, received;
    uint64_t ipdv_count;
    double ipdv_sum;
    double min, max;           /* over every received copy; +inf/-inf when none */
    uint8_t ttl_min, ttl_max;  /* first copies; 255/0 when none */
    int lo, hi;                /* dense slots in use: [lo, hi], lo > hi when none */
    uint64_t counts[STORE_HIST_N];
} store_hist;

/* init: the first time (whole struct); clear: to empty again (cheap). */
void store_hist_init(store_hist *h);
void store_hist_clear(store_hist *h);
bool store_hist_is_empty(const store_hist *h); /* no record of any kind */

/* Bucket index (-STORE_HIST_K..STORE_HIST_K) of a delay in seconds, and the value it reports. */
int store_hist_index(double delay);
double store_hist_value(int index);

/* Record events. */
void store_hist_add_lost(store_hist *h);
void store_hist_add_first(store_hist *h, double delay, uint8_t ttl, int reordered);
void store_hist_add_dup(store_hist *h, double delay);
void store_hist_add_ipdv(store_hist *h, double ipdv);

/* dst += src. */
void store_hist_merge(store_hist *dst, const store_hist *src);

/* Sparse encoding into out (STORE_HIST_MAX_ENCODED bytes); returns its length. */
size_t store_hist_encode(const store_hist *h, uint8_t *out);
/* h += the decoded histogram: OWP_OK, or OWP_ERR_FORMAT when data is
 * malformed (h may then hold part of it; the caller names the record). */
owp_status store_hist_merge_encoded(store_hist *h, const uint8_t *data, size_t len);

/* Percentile p in [0, 100] over first copies: the nearest rank's bucket
 * (owp_owd_percentile_bucket), reported as its value clamped into [min, max],
 * so within a relative 1 % (1 us absolute below 1 us) of the exact one
 * (see store.h); false (nothing set) when empty. */
bool store_hist_percentile(const store_hist *h, double p, double *v);
/* Jitter P95 - P50 of those percentiles (owp_owd_jitter), so within
 * 1 % x (|P95| + |P50|) (plus 2 us below 1 us) of the exact one; false when empty. */
bool store_hist_jitter(const store_hist *h, double *v);
/* Mean IPDV (owp_owd_ipdv_mean): exact; false when no pair. */
bool store_hist_ipdv(const store_hist *h, double *v);

#endif
