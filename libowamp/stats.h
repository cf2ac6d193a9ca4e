/*
 * stats.h - per-session statistics over a range of sequence numbers, fed one
 * record at a time in file (arrival) order, computed as the reference owamp
 * 5.2.3 computes them (owp-file-format.md sections 6-8).
 *
 * Two flavours of percentiles are offered:
 *  - owp_stats_percentile_ref(): the reference's. Walks the histogram until
 *    the cumulative count reaches alpha x SENT, where SENT includes lost
 *    packets; the value is the bucket index x width. So the median can exceed
 *    the maximum, and with more than 5 % loss P95 does not exist. Used for the
 *    -M output (MEDIAN, PDV), which must stay byte-identical.
 *  - owp_stats_percentile(): the exact nearest-rank percentile of the first
 *    copies' delays (owdstat.h: owp_owd_percentile), defined whenever at
 *    least one packet arrived. Used by the human-readable summary.
 *
 * Loss and duplicates are settled as the reference does: a packet is counted
 * when it ages out of the loss window (its scheduled send time falls more
 * than the loss timeout behind a later packet's receive time, or a later
 * lost record passes it) or at the end. Records that the reference rejects
 * (a packet seen again after it aged out, a lost record for a packet that
 * arrived, a packet arriving after it was declared lost) make
 * owp_stats_add() fail with OWP_ERR_FORMAT.
 */
#ifndef OWP_STATS_H
#define OWP_STATS_H

#include <stdint.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

#define OWP_STATS_DEFAULT_BUCKET_WIDTH 0.0001

typedef struct owp_stats owp_stats;

/* req (with slots) and skips are copied. bucket_width in seconds, > 0. */
owp_stats *owp_stats_new(const owp_request *req, const owp_skip *skips, uint32_t nskips,
                         double bucket_width, owp_err *err);
void owp_stats_destroy(owp_stats **self_p);

/* Start a summary over seqs [first, last); last == UINT32_MAX means the whole
 * session (npackets). start_index is the file index of the first record that
 * will be fed (for owp_stats_next_index). Clears all counters. */
owp_status owp_stats_begin(owp_stats *self, uint32_t first, uint32_t last, uint32_t start_index,
                           owp_err *err);

/* What owp_stats_add did with a record (for the -v lines). */
typedef enum owp_stats_event {
    OWP_STATS_IGNORED = 0, /* outside the range or inside a skip range */
    OWP_STATS_LOST,        /* a lost record */
    OWP_STATS_RECEIVED     /* a received copy (first or duplicate) */
} owp_stats_event;

owp_status owp_stats_add(owp_stats *self, const owp_record *r, owp_stats_event *event,
                         owp_err *err);

/* Settle every packet still in the loss window; call once after the records. */
owp_status owp_stats_end(owp_stats *self, owp_err *err);

/* One-way delay of a record in seconds, as the reference computes it. */
double owp_stats_delay(const owp_record *r);

/* The histogram bucket of a time v (seconds) for buckets of width seconds:
 * ceil(v/width), floor below 0, clamped to +-INT32_MAX (the two-way
 * statistics bin their three times the same way). */
int32_t owp_stats_bucket_index(double v, double width);

/* ---- results (valid after owp_stats_end) ---- */
uint32_t owp_stats_first(const owp_stats *self);
uint32_t owp_stats_last(const owp_stats *self);   /* exclusive */
uint32_t owp_stats_sent(const owp_stats *self);   /* first copies + lost records */
uint32_t owp_stats_lost(const owp_stats *self);
uint32_t owp_stats_dups(const owp_stats *self);
uint32_t owp_stats_received(const owp_stats *self); /* first copies: histogram entries, delays */
int owp_stats_sync(const owp_stats *self);         /* 1 unless some record lacked S */
double owp_stats_maxerr(const owp_stats *self);    /* seconds */
/* Scheduled send times of the first and last packet of the range. */
owp_num64 owp_stats_start_time(const owp_stats *self);
owp_num64 owp_stats_end_time(const owp_stats *self);
double owp_stats_bucket_width(const owp_stats *self);

/* min/max over all copies; return 0 when nothing was received. */
int owp_stats_min(const owp_stats *self, double *v);
int owp_stats_max(const owp_stats *self, double *v);

/* alpha in [0, 1]; return 0 when undefined. The exact flavour (and its
 * jitter) finds the histogram bucket that holds the rank and selects among
 * that bucket's delays only (the stored delays stay as they are unless
 * memory runs out, when it selects among all of them, reordering them): not
 * const, and not for two threads at once on one object. */
int owp_stats_percentile_ref(const owp_stats *self, double alpha, double *v);
int owp_stats_percentile(owp_stats *self, double alpha, double *v);
/* P95 - P50 in each flavour (owp_owd_jitter). */
int owp_stats_jitter_ref(const owp_stats *self, double *v);
int owp_stats_jitter(owp_stats *self, double *v);

/* Histogram (index = ceil(delay/width), floor below 0), i < nbuckets, in
 * ascending bucket order ... */
uint32_t owp_stats_nbuckets(const owp_stats *self);
void owp_stats_bucket(const owp_stats *self, uint32_t i, int32_t *index, uint32_t *count);
/* ... or in the order the reference prints them in -M's <BUCKETS>: the
 * iteration order of its bucket hash table (bucket index's bytes summed, mod
 * the table size, 1021 in practice; newest bucket first within a slot). It
 * differs from ascending order once indices cross a multiple of 256. */
void owp_stats_bucket_ref_order(const owp_stats *self, uint32_t i, int32_t *index,
                                uint32_t *count);

/* Packets (first copies) per TTL value. */
uint32_t owp_stats_ttl_count(const owp_stats *self, uint8_t ttl);
/* Number of distinct TTL values; min/max TTL (255/0 when none). */
unsigned owp_stats_ttl_values(const owp_stats *self, uint8_t *min_ttl, uint8_t *max_ttl);

/* j-reordering over arrival order: count of j-reordered packets for
 * j = 1..owp_stats_reorder_limit(); the denominator is owp_stats_reorder_total():
 * received records (duplicates included) fed since owp_stats_new, i.e. the
 * reference's quirk of accumulating it over the -N sub-sessions of a file. */
uint32_t owp_stats_reorder(const owp_stats *self, uint32_t j);
uint32_t owp_stats_reorder_limit(const owp_stats *self);
uint32_t owp_stats_reorder_total(const owp_stats *self);

/* Index of the first record fed since owp_stats_begin whose seq is >= last
 * (where the next sub-session's parse starts); 0 if none. */
uint32_t owp_stats_next_index(const owp_stats *self);

#endif
