/*
 * twstats.h - two-way (TWAMP) session results: one record per sender packet,
 * the round-trip and per-direction statistics over a range of them, and the
 * reference twping's report formats (the human summary, -M, -R, -v, -N, -a).
 *
 * A record is the pair of one-way records the reference's twping stores
 * (tests/vectors/twamp/README.md E): the forward half (sender seq, T1 the
 * sender's time stamp, T2 the reflector's receive time, Sender TTL) and the
 * reflected half (reflector seq, T3 the reflector's send time, T4 our
 * receive time, the TTL we saw). The times of a record:
 *   send      T2 - T1            reflect    T4 - T3
 *   processing T3 - T2           round trip (T4 - T1) - (T3 - T2)
 * Percentiles, jitter and loss follow owdstat.h (doc/statistics.md): the
 * human summary's median, jitter and -a values are exact nearest-rank
 * percentiles of the first copies; -M's MEDIAN and PDV keep the reference's
 * bucket arithmetic, so that tools parsing them read the same values.
 */
#ifndef OWP_TWSTATS_H
#define OWP_TWSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

typedef struct owp_tw_record {
    owp_record fwd;             /* fwd.recv_time == 0: lost (no reflection came back) */
    owp_record bck;
    owp_num64 scheduled;        /* the packet's scheduled send time */
    uint32_t send_dups;         /* the reflector answered this sender packet again */
    uint32_t reflect_dups;      /* the same reflected packet arrived again */
} owp_tw_record;

static inline int owp_tw_record_lost(const owp_tw_record *r) { return r->fwd.recv_time == 0; }

/* The four times of a received record, seconds. */
double owp_tw_send_time(const owp_tw_record *r);
double owp_tw_reflect_time(const owp_tw_record *r);
double owp_tw_processing_time(const owp_tw_record *r);
double owp_tw_round_trip(const owp_tw_record *r);
/* Error estimates, seconds: of the round trip (all four stamps) and each direction. */
double owp_tw_err_fwd(const owp_tw_record *r);
double owp_tw_err_bck(const owp_tw_record *r);

/* Statistics of records[first, last) (by index = sender seq). */
typedef struct owp_tw_stats {
    uint32_t sent, lost, send_dups, reflect_dups, received;
    owp_num64 start_time, end_time;   /* scheduled times of the first and last packet */
    double maxerr, maxerr_fwd, maxerr_bck;
    int sync;                         /* the reference's: 0 only when a record was lost */
    /* round trip, send, reflect, processing: [0..3] */
    int have[4];
    double min[4], max[4];
    double median_exact[3], jitter_exact[3];   /* round trip, send, reflect */
    double median_ref[3], jitter_ref[3];       /* the reference's bucket walk */
    int have_median_ref[3], have_jitter_ref[3];
    double bucket_width;
    /* first copies' values, for more percentiles (round trip only) */
    double *rtt;
    size_t nrtt;
    /* histograms: buckets (index = ceil(value / width)) of round trip, send, reflect */
    int32_t *bucket_index;
    uint32_t (*bucket_count)[3];
    size_t nbuckets;
    uint32_t ttl_fwd[256], ttl_bck[256];
} owp_tw_stats;

owp_status owp_tw_stats_compute(const owp_tw_record *records, uint32_t first, uint32_t last,
                                double bucket_width, owp_tw_stats *s, owp_err *err);
void owp_tw_stats_clear(owp_tw_stats *s);
/* Exact percentile of the round trip, alpha in [0, 1]; 0 when undefined. */
int owp_tw_stats_rtt_percentile(owp_tw_stats *s, double alpha, double *v);

/* ---- reports ---- */

/* What a report names and shows about the session. */
typedef struct owp_tw_session_info {
    const owp_request *req;     /* SID, ports (sender = ours, receiver = the reflector's),
                                 * padding, Type-P, timeout, npackets */
    const char *from_host, *from_addr;   /* our end */
    const char *to_host, *to_addr;       /* the reflector */
    int finished;
    const char *prog;           /* the headers' "--- PROG statistics"; NULL: twping */
} owp_tw_session_info;

typedef struct owp_tw_report_opts {
    double bucket_width;      /* seconds; 0: 0.0001 */
    char units;               /* 'n', 'u', 'm' (default), 's' */
    uint32_t sub_count;       /* -N; 0: the whole session */
    int machine, raw, verbose;
    const double *percentiles;/* -a, in percent */
    unsigned npercentiles;
} owp_tw_report_opts;

/* The report of records[0..nrecords) in the chosen format. */
owp_status owp_tw_report(FILE *out, const owp_tw_session_info *info, const owp_tw_record *records,
                         uint32_t nrecords, const owp_tw_report_opts *o, owp_err *err);

#endif
