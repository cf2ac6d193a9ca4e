/*
 * twstats.h - two-way (TWAMP, STAMP) session results: the records of a
 * session, the round-trip and per-direction statistics over a range of
 * them, and the reference twping's report formats (the human summary, -M,
 * -R, -v, -N, -a).
 *
 * A record is the pair of one-way records the reference's twping stores
 * (tests/vectors/twamp/README.md E; twpfile.h keeps them in a file): the
 * forward half (fwd.seq the sender seq, T1 = fwd.send_time the sender's
 * time stamp, T2 = fwd.recv_time the reflector's receive time, the Sender
 * TTL) and the reflected half (bck.seq the reflector's seq, T3 =
 * bck.send_time its send time, T4 = bck.recv_time ours, the TTL we saw).
 * A session's records come in arrival order: one per reflected packet
 * received (duplicates too), then one per packet that got no answer
 * (owp_tw_record_lost_at). The times of a record:
 *   send      T2 - T1            reflect    T4 - T3
 *   processing T3 - T2           round trip (T4 - T1) - (T3 - T2)
 *
 * The statistics read the records as the reference's owstats reads a
 * two-way file: a record is a send duplicate when its sender seq came back
 * before under another reflector seq (the reflector answered it twice), a
 * reflect duplicate when its reflector seq came back before (the answer was
 * duplicated); min/max and error estimates take every copy, histograms,
 * percentiles and TTLs the first copies; SYNC is cleared only by a lost
 * record without S (the reference's). Percentiles, jitter and loss follow
 * owdstat.h (doc/statistics.md): the human summary's median, jitter and -a
 * values are exact nearest-rank percentiles of the first copies; -M's
 * MEDIAN and PDV keep the reference's bucket arithmetic, so that tools
 * parsing them read the same values.
 */
#ifndef OWP_TWSTATS_H
#define OWP_TWSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owamp.h"
#include "report.h"
#include "timestamp.h"

typedef struct owp_tw_record {
    owp_record fwd;             /* fwd.recv_time == 0: lost (no reflection came back) */
    owp_record bck;
} owp_tw_record;

static inline int owp_tw_record_lost(const owp_tw_record *r) { return r->fwd.recv_time == 0; }

/* The record of packet seq that got no reflection, as the reference writes
 * it: its scheduled send time with error estimate 00 01, our clock's error
 * estimate (errest) for the missing times, TTLs 255, reflector seq 0. */
owp_tw_record owp_tw_record_lost_at(uint32_t seq, owp_num64 scheduled, uint16_t errest);

/* ---- collecting a session's records (twping's and stping's engines) ---- */

/* The records of a running session in arrival order, and which sender seqs
 * have come back. */
typedef struct owp_tw_log {
    owp_tw_record *records;
    size_t n, cap;
    uint8_t *seen;          /* per sender seq < npackets */
    uint32_t npackets;
    uint32_t dropped;       /* reflections not kept: see owp_tw_log_add */
} owp_tw_log;

owp_status owp_tw_log_init(owp_tw_log *log, uint32_t npackets, owp_err *err);
/* A reflection that arrived: kept unless its sender seq is not one of the
 * session's, or the log already holds twice npackets reflections (a
 * reflector flooding duplicates must not grow memory without bound). */
void owp_tw_log_add(owp_tw_log *log, const owp_tw_record *r);
/* After the run: a lost record (owp_tw_record_lost_at, our clock's error
 * estimate) for every packet [0, sent) that got no reflection, in seq order,
 * at its scheduled send time (req's schedule). */
owp_status owp_tw_log_finish(owp_tw_log *log, const owp_request *req, uint32_t sent,
                             owp_err *err);
void owp_tw_log_clear(owp_tw_log *log);

/* The four times of a received record, seconds. */
double owp_tw_send_time(const owp_tw_record *r);
double owp_tw_reflect_time(const owp_tw_record *r);
double owp_tw_processing_time(const owp_tw_record *r);
double owp_tw_round_trip(const owp_tw_record *r);
/* Error estimates, seconds: of each direction (both of its stamps). */
double owp_tw_err_fwd(const owp_tw_record *r);
double owp_tw_err_bck(const owp_tw_record *r);

/* The packets a summary covers: sender seqs [first, last), whose scheduled
 * send times are start_time (first) and end_time (last - 1). */
typedef struct owp_tw_range {
    uint32_t first, last;
    owp_num64 start_time, end_time;
} owp_tw_range;

/* Statistics of the records in a range. */
typedef struct owp_tw_stats {
    uint32_t sent, lost, send_dups, reflect_dups, received;
    owp_num64 start_time, end_time;   /* the range's */
    double maxerr, maxerr_fwd, maxerr_bck;
    int sync;                         /* the reference's: 0 only for a lost record without S */
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

/* The statistics of records[0..n) (in arrival order) whose sender seq lies
 * in the range; the others are ignored. Records the reference's owstats
 * refuses (a lost record for a packet that came back or the other way
 * round, a reflector seq answering two sender seqs) fail with
 * OWP_ERR_FORMAT naming the sender seq. */
owp_status owp_tw_stats_compute(const owp_tw_record *records, uint32_t n,
                                const owp_tw_range *range, double bucket_width, owp_tw_stats *s,
                                owp_err *err);
void owp_tw_stats_clear(owp_tw_stats *s);
/* Exact percentile of the round trip, alpha in [0, 1]; 0 when undefined. */
int owp_tw_stats_rtt_percentile(owp_tw_stats *s, double alpha, double *v);

/* ---- reports ---- */

/* What a report names and shows about the session. */
typedef struct owp_tw_session_info {
    const owp_request *req;     /* SID, ports (sender = ours, receiver = the reflector's),
                                 * padding, Type-P, timeout, and the schedule (npackets,
                                 * slots, start time) the summaries' ranges come from */
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

/* The two-way report's options from owping's and owstats' (report.h). */
owp_tw_report_opts owp_tw_report_opts_of(const owp_report_opts *ro);

/* The report of the session's records[0..n) (arrival order) in the chosen
 * format: -R every record in order; otherwise one summary per -N range of
 * the schedule's sender seqs (the whole session without), -v first listing
 * the range's records in order. */
owp_status owp_tw_report(FILE *out, const owp_tw_session_info *info, const owp_tw_record *records,
                         uint32_t n, const owp_tw_report_opts *o, owp_err *err);

#endif
