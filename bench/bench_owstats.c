/*
 * bench_owstats.c - how fast we read and summarise a large .owp session
 * file (the owstats path). Prints figures, not pass/fail.
 *
 *   bench_owstats [RECORDS] [--keep FILE] [--owstats PATH]
 *                                           default 5000000 records (~125 MB)
 *
 * --keep FILE writes the session to FILE and leaves it there, e.g. to time
 * or profile the real owstats binary on it (perf record owstats -M FILE).
 * --owstats PATH also times that binary (a new process each run, output to
 * /dev/null: what a person or pScheduler pays) for the summary, -R and
 * -M -N. In a build tree node/tools/owstats is libtool's shell wrapper,
 * whose start costs more than owstats' work: give node/tools/.libs/owstats
 * with LD_LIBRARY_PATH=libowamp/.libs, or an installed owstats.
 * Writes a temporary receiver-layout session file with the libowamp writer:
 * one exponential slot (mean 10 ms, i.e. 100 packets/s), loss timeout 10 s,
 * 1 % loss, 0.5 % duplicates, delays of 20 ms plus exponential jitter (so
 * some packets arrive out of order), records in arrival order with the lost
 * records written when their loss timeout expires, as owampd writes them.
 * Then, best of 3 (CLOCK_MONOTONIC, the file in the page cache):
 *   read      owp_file_read + owp_file_each_record, trivial callback
 *   stats     the statistics owstats -M prints (stats.h), driven as
 *             report.c drives them, over every record
 *   owstats -M  owp_report_file(machine format) to /dev/null
 *   owstats     owp_report_file(default summary) to /dev/null
 *   owstats -a  the same with five -a percentiles (10,25,75,90,99.9)
 *   owstats -M -N  the same with 100 sub-session summaries (-N npackets/100),
 *               as powstream-style per-interval reports are made
 *   owstats -R  the raw records (what pScheduler-style tools parse)
 * and prints records/s and MB/s of each (records of the file, once, over
 * the time taken), then what the summary's exact percentiles (median,
 * jitter, the five -a ones, owdstat.h) cost of the stats pass. Then the
 * physical limit, measured in the same run: reading the file's bytes with
 * one read(), writing as many bytes as -R prints with one fwrite to
 * /dev/null, and formatting -R alone (fmt.h over records already decoded
 * in memory); each output's distance to it; and the reference owamp
 * 5.2.3's figures as issue 15 measured them on this machine (200 000
 * records: summary 0.47 s, -R 0.14 s; the reference is not installed here,
 * so they are quoted, scaled per record, not run). The load average is
 * printed with the figures: other work on the machine slows every line.
 * The first target: at least 4 million records a second.
 * Without --keep the file is a temporary one ($TMPDIR or /tmp), removed at
 * the end, also on failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "owstats_limits.h"
#include "owpfile.h"
#include "report.h"
#include "sendsched.h"
#include "stats.h"
#include "timestamp.h"
#include "wire.h"

#define DEFAULT_RECORDS 5000000u
#define REPEATS 3
#define TARGET_RECORDS_PER_SEC 4e6

/* The reference owamp 5.2.3's owstats, measured by issue 15 on this
 * machine: records, summary and -R wall time. */
#define REF_RECORDS 200000.0
#define REF_SUMMARY_S 0.47
#define REF_RAW_S 0.14

/* The simulated session. */
#define MEAN_INTERVAL 0.01   /* s: 100 packets/s */
#define LOSS_TIMEOUT 10.0    /* s: powstream's default -L */
#define LOSS_PER_MILLE 10    /* 1 % */
#define DUP_PER_MILLE 5      /* 0.5 % */
#define BASE_DELAY 0.020     /* s */
#define JITTER_MEAN 0.0003   /* s, exponential */
#define DUP_LAG 0.00005      /* s: a duplicate follows its original */
#define SEND_LATENESS 0.000004 /* s: sender timestamp after the scheduled time */
#define PATH_TTL 251         /* 4 hops */

/* ---------------------------------------------------------------- randomness */

/* Loss and duplicate decisions are a pure function of seq, so the record
 * count of a session can be known before it is written (the header needs
 * npackets first). */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int packet_lost(uint32_t seq) { return splitmix64(seq) % 1000 < LOSS_PER_MILLE; }

static int packet_duplicated(uint32_t seq)
{
    return !packet_lost(seq) && splitmix64((uint64_t)seq << 32 | 0xd0b1e) % 1000 < DUP_PER_MILLE;
}

static unsigned records_of(uint32_t seq) { return 1u + (unsigned)packet_duplicated(seq); }

/* Delay jitter: a sequential stream is enough. */
static uint64_t rng_state = 0x0123456789abcdefull;

static double uniform01(void)
{
    rng_state = splitmix64(rng_state);
    return ((double)(rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------- arrival order */

/* Records waiting for their arrival (or loss-timeout) time: a binary
 * min-heap on (time, seq, copy). It stays small: what is in flight plus the
 * lost packets of the last loss timeout. */
typedef struct event {
    owp_num64 when;
    uint32_t order; /* tie-break: creation order */
    owp_record rec;
} event;

typedef struct heap {
    event *v;
    size_t n, cap;
} heap;

static int event_before(const event *a, const event *b)
{
    return a->when != b->when ? a->when < b->when : a->order < b->order;
}

static int heap_push(heap *h, const event *e)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 1024;
        event *nv = realloc(h->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        h->v = nv;
        h->cap = ncap;
    }
    size_t i = h->n++;
    while (i > 0 && event_before(e, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = *e;
    return 0;
}

static event heap_pop(heap *h)
{
    event top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && event_before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!event_before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* ---------------------------------------------------------------- the file */

typedef struct session {
    owp_request req;
    owp_slot slot;
    uint32_t nrecords;
    int last_single; /* the last packet's duplicate would overshoot: not written */
} session;

static void session_init(session *s, uint32_t nrecords)
{
    memset(s, 0, sizeof *s);
    uint32_t npackets = 0, have = 0;
    while (have < nrecords)
        have += records_of(npackets++);
    s->last_single = have > nrecords;
    s->nrecords = nrecords;

    s->slot.type = OWP_SLOT_EXP;
    s->slot.value = owp_num64_from_double(MEAN_INTERVAL);
    owp_request *req = &s->req;
    req->ipvn = 4;
    req->conf_receiver = 1;
    req->nslots = 1;
    req->slots = &s->slot;
    req->npackets = npackets;
    req->sender_port = 8760;
    req->receiver_port = 9001;
    const uint8_t loopback[4] = {127, 0, 0, 1};
    memcpy(req->sender_addr, loopback, 4);
    memcpy(req->receiver_addr, loopback, 4);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    owp_num64 start = owp_ntp_from_timespec(&now);
    /* SID as owampd makes it: receiver address, start time, random bytes. */
    memcpy(req->sid, loopback, 4);
    for (int i = 0; i < 8; i++)
        req->sid[4 + i] = (uint8_t)(start >> (56 - 8 * i));
    for (int i = 12; i < OWP_SID_LEN; i++)
        req->sid[i] = (uint8_t)splitmix64((uint64_t)i);
    req->start_time = start;
    req->timeout = owp_num64_from_double(LOSS_TIMEOUT);
}

static owp_num64 exp_seconds(double mean) { return owp_num64_from_double(-mean * log(uniform01())); }

/* Queue the record(s) of packet seq, scheduled at t. */
static int queue_packet(heap *h, uint32_t *order, uint32_t seq, owp_num64 t, uint16_t errest,
                        int no_duplicate)
{
    event e = {0};
    e.rec.seq = seq;
    if (packet_lost(seq)) {
        /* Written when the loss timeout expires: scheduled time, send error
         * "unknown", the receiver's estimate. */
        e.when = t + owp_num64_from_double(LOSS_TIMEOUT);
        e.rec.send_time = t;
        e.rec.send_err = OWP_ERREST_UNSYNC;
        e.rec.recv_err = errest;
        e.rec.ttl = 255;
        e.order = (*order)++;
        return heap_push(h, &e);
    }
    e.rec.send_time = t + owp_num64_from_double(SEND_LATENESS);
    e.rec.recv_time =
        e.rec.send_time + owp_num64_from_double(BASE_DELAY) + exp_seconds(JITTER_MEAN);
    e.rec.send_err = e.rec.recv_err = errest;
    /* A route change now and then: a few packets take one hop more. */
    e.rec.ttl = seq % 100000 < 50 ? PATH_TTL - 1 : PATH_TTL;
    e.when = e.rec.recv_time;
    e.order = (*order)++;
    if (heap_push(h, &e) != 0)
        return -1;
    if (no_duplicate || !packet_duplicated(seq))
        return 0;
    e.when = e.rec.recv_time = e.rec.recv_time + owp_num64_from_double(DUP_LAG);
    e.order = (*order)++;
    return heap_push(h, &e);
}

static int write_session(FILE *fp, const session *s, owp_err *err)
{
    owp_file_writer *w = owp_file_writer_new(fp, &s->req, err);
    owp_sched *sched = owp_sched_new(s->req.sid, s->req.slots, s->req.nslots, err);
    heap h = {0};
    uint32_t order = 0;
    int rc = (w && sched) ? 0 : -1;
    uint16_t errest = owp_errest_encode(1, 0.0004);
    owp_num64 t = s->req.start_time;
    for (uint32_t seq = 0; rc == 0 && seq < s->req.npackets; seq++) {
        t += owp_sched_next_delta(sched);
        /* Everything due before this packet's send time has arrived. */
        while (rc == 0 && h.n && h.v[0].when <= t) {
            event e = heap_pop(&h);
            rc = owp_file_writer_add(w, &e.rec, err) == OWP_OK ? 0 : -1;
        }
        int no_dup = s->last_single && seq + 1 == s->req.npackets;
        if (rc == 0 && queue_packet(&h, &order, seq, t, errest, no_dup) != 0) {
            owp_err_set(err, OWP_ERR_NOMEM, "event queue: out of memory");
            rc = -1;
        }
    }
    while (rc == 0 && h.n) {
        event e = heap_pop(&h);
        rc = owp_file_writer_add(w, &e.rec, err) == OWP_OK ? 0 : -1;
    }
    if (rc == 0 &&
        owp_file_writer_finish(w, OWP_FINISHED_NORMAL, s->req.npackets, NULL, 0, err) != OWP_OK)
        rc = -1;
    free(h.v);
    owp_sched_destroy(&sched);
    owp_file_writer_destroy(&w);
    return rc;
}

/* ---------------------------------------------------------------- the passes */

typedef struct sink {
    uint64_t n, x;
} sink;

static volatile uint64_t keep_alive; /* results the compiler must not drop */

static int touch_record(const owp_record *r, void *arg)
{
    sink *s = arg;
    s->n++;
    s->x += r->seq ^ r->recv_time;
    return 0;
}

/* (a) Read: open, validate the header, walk every record. */
static int pass_read(const char *path, uint64_t *records, owp_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        owp_err_sys(err, "fopen(%s)", path);
        return -1;
    }
    owp_file *f = owp_file_read(fp, path, err);
    sink s = {0};
    int rc = f && owp_file_each_record(f, 0, touch_record, &s, err) == OWP_OK ? 0 : -1;
    owp_file_destroy(&f);
    fclose(fp);
    keep_alive += s.x;
    *records = s.n;
    return rc;
}

typedef struct feed {
    owp_stats *stats;
    owp_err *err;
    owp_status status;
    uint64_t n;
} feed;

static int feed_stats(const owp_record *r, void *arg)
{
    feed *fd = arg;
    fd->n++;
    fd->status = owp_stats_add(fd->stats, r, NULL, fd->err);
    return fd->status != OWP_OK;
}

/* What print_summary() with -a 10,25,75,90,99.9 selects: the median, the
 * jitter's P95 and P50, the -a values. */
static const double summary_alphas[] = {0.5, 0.95, 0.5, 0.10, 0.25, 0.75, 0.90, 0.999};
static double percentile_time = INFINITY; /* best time of the summary's percentiles */

/* The summary's exact percentiles (median, P95 for the jitter, -a), timed. */
static double summary_percentiles(owp_stats *st)
{
    double acc = 0, v, t0 = owp_clock_monotonic();
    for (size_t i = 0; i < sizeof summary_alphas / sizeof summary_alphas[0]; i++)
        if (owp_stats_percentile(st, summary_alphas[i], &v))
            acc += v;
    double dt = owp_clock_monotonic() - t0;
    if (dt < percentile_time)
        percentile_time = dt;
    return acc;
}

/* Everything print_machine() and print_summary() ask the statistics for,
 * into keep_alive. */
static void consume_results(owp_stats *st)
{
    double v, acc = 0;
    uint64_t k = owp_stats_sent(st) + owp_stats_lost(st) + owp_stats_dups(st);
    if (owp_stats_min(st, &v))
        acc += v;
    if (owp_stats_max(st, &v))
        acc += v;
    if (owp_stats_percentile_ref(st, 0.5, &v))
        acc += v;
    if (owp_stats_jitter_ref(st, &v))
        acc += v;
    acc += summary_percentiles(st);
    for (uint32_t i = 0; i < owp_stats_nbuckets(st); i++) {
        int32_t idx;
        uint32_t c;
        owp_stats_bucket(st, i, &idx, &c);
        k += (uint64_t)idx * c;
    }
    uint8_t lo, hi;
    k += owp_stats_ttl_values(st, &lo, &hi) + lo + hi;
    for (uint32_t j = 1; j <= owp_stats_reorder_limit(st) && owp_stats_reorder(st, j); j++)
        k += owp_stats_reorder(st, j);
    keep_alive += k + (uint64_t)acc;
}

/* (b) The statistics of owstats -M over the whole session, as report.c
 * drives stats.c for one block. */
static int pass_stats(const char *path, uint64_t *records, owp_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        owp_err_sys(err, "fopen(%s)", path);
        return -1;
    }
    owp_file *f = owp_file_read(fp, path, err);
    owp_stats *st = NULL;
    feed fd = {.err = err, .status = OWP_OK};
    int rc = -1;
    if (f)
        st = owp_stats_new(owp_file_request(f), owp_file_skips(f), owp_file_nskips(f),
                           OWP_STATS_DEFAULT_BUCKET_WIDTH, err);
    if (st && owp_stats_begin(st, 0, UINT32_MAX, 0, err) == OWP_OK) {
        fd.stats = st;
        owp_status s = owp_file_each_record_from(f, 0, owp_file_region_nrecords(f), feed_stats,
                                                 &fd, err);
        if (s == OWP_OK && fd.status == OWP_OK && owp_stats_end(st, err) == OWP_OK) {
            consume_results(st);
            rc = 0;
        }
    }
    owp_stats_destroy(&st);
    owp_file_destroy(&f);
    fclose(fp);
    *records = fd.n;
    return rc;
}

/* (c), (d), (e) The whole owstats path: owp_report_file into /dev/null;
 * sub_blocks > 0 asks for that many -N summaries. */
static const double a_percentiles[] = {10, 25, 75, 90, 99.9};

typedef struct report_mode {
    int machine, raw, with_a;
    uint32_t sub_blocks;
} report_mode;

/* owp_report_file(mode) of path into out (NULL: /dev/null). */
static int pass_report_to(const char *path, report_mode m, FILE *to, uint64_t *records,
                          owp_err *err)
{
    FILE *fp = fopen(path, "rb");
    FILE *out = to ? to : fopen("/dev/null", "w");
    int rc = -1;
    if (!fp || !out) {
        owp_err_sys(err, "fopen(%s)", fp ? "/dev/null" : path);
    } else {
        owp_file *f = owp_file_read(fp, path, err);
        if (f) {
            owp_report_opts o;
            owp_report_opts_default(&o);
            o.machine = m.machine;
            o.raw = m.raw;
            if (m.with_a) {
                o.percentiles = a_percentiles;
                o.npercentiles = sizeof a_percentiles / sizeof a_percentiles[0];
            }
            const owp_request *req = owp_file_request(f);
            if (m.sub_blocks && req && req->npackets >= m.sub_blocks)
                o.sub_count = req->npackets / m.sub_blocks;
            if (owp_report_file(out, f, NULL, NULL, &o, err) == OWP_OK)
                rc = 0;
            *records = owp_file_region_nrecords(f);
        }
        owp_file_destroy(&f);
    }
    if (fp)
        fclose(fp);
    if (out && !to)
        fclose(out);
    return rc;
}

static int pass_report(const char *path, report_mode m, uint64_t *records, owp_err *err)
{
    return pass_report_to(path, m, NULL, records, err);
}

typedef enum {
    PASS_READ,
    PASS_STATS,
    PASS_REPORT_M,
    PASS_REPORT,
    PASS_REPORT_A,
    PASS_REPORT_SUB,
    PASS_REPORT_R,
    NPASSES
} pass_kind;

#define SUB_BLOCKS 100

static int run_pass(pass_kind k, const char *path, uint64_t *records, owp_err *err)
{
    switch (k) {
    case PASS_READ: return pass_read(path, records, err);
    case PASS_STATS: return pass_stats(path, records, err);
    case PASS_REPORT_M: return pass_report(path, (report_mode){.machine = 1}, records, err);
    case PASS_REPORT: return pass_report(path, (report_mode){0}, records, err);
    case PASS_REPORT_A: return pass_report(path, (report_mode){.with_a = 1}, records, err);
    case PASS_REPORT_SUB:
        return pass_report(path, (report_mode){.machine = 1, .sub_blocks = SUB_BLOCKS}, records,
                           err);
    case PASS_REPORT_R: return pass_report(path, (report_mode){.raw = 1}, records, err);
    case NPASSES: break;
    }
    return -1;
}

static int time_pass(pass_kind k, const char *label, const char *path, uint64_t file_size,
                     uint32_t expected, double *best_time, owp_err *err)
{
    double best = INFINITY;
    uint64_t records = 0;
    for (int i = 0; i < REPEATS; i++) {
        double t0 = owp_clock_monotonic();
        if (run_pass(k, path, &records, err) != 0)
            return -1;
        double dt = owp_clock_monotonic() - t0;
        if (dt < best)
            best = dt;
    }
    if (records != expected)
        fprintf(stderr, "bench_owstats: %s read %" PRIu64 " records, expected %u\n", label,
                records, expected);
    *best_time = best;
    double rate = (double)records / best;
    printf("  %-14s %8.4f s   %6.2f M records/s   %7.1f MB/s   (%4.1fx the target)\n", label,
           best, rate / 1e6, (double)file_size / best / 1e6, rate / TARGET_RECORDS_PER_SEC);
    return 0;
}

/* ---------------------------------------------------------------- main */

static int parse_count(const char *arg, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (end == arg || *end || errno || v == 0 || v > UINT32_MAX / 2)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_owstats [RECORDS] [--keep FILE] [--owstats PATH]   (default %u "
            "records)\n",
            DEFAULT_RECORDS);
    return 2;
}

/* ---------------------------------------------------------------- against the limit */

/* "ours" next to the limit and, when the reference measured it, the
 * reference at its measured rate (records per second) for this file. */
static void print_against(const char *label, double ours, double limit, double ref_seconds,
                          uint32_t nrecords)
{
    printf("  %-14s ours %8.4f s   limit %8.4f s (ours %5.1fx the limit)", label, ours, limit,
           limit > 0 ? ours / limit : 0.0);
    if (ref_seconds > 0) {
        double ref = ref_seconds * nrecords / REF_RECORDS;
        printf("   reference %6.3f s (ours %5.1fx faster)", ref, ref / ours);
    }
    printf("\n");
}

static const char *const opts_summary[] = {NULL};
static const char *const opts_raw[] = {"-R", NULL};

/* The limit lines, then each output against them (and the reference's). */
static int report_limits(const char *path, const session *s, uint64_t file_size,
                         const double *best, owp_err *err)
{
    uint64_t raw_bytes = 0, records = 0;
    FILE *counter = counting_file(&raw_bytes);
    if (!counter)
        return owp_err_sys(err, "fopencookie"), -1;
    int rc = pass_report_to(path, (report_mode){.raw = 1}, counter, &records, err);
    fclose(counter);
    double read_s = limit_read_file(path, file_size, REPEATS);
    double write_s = limit_write_bytes(raw_bytes, REPEATS);
    double format_s = limit_format_raw(path, &records, REPEATS);
    if (rc != 0 || read_s < 0 || write_s < 0 || format_s < 0) {
        if (rc == 0)
            owp_err_set(err, OWP_ERR_SYS, "measuring the limits failed");
        return -1;
    }
    printf("the limit, same run (load %.2f):\n", load_average());
    printf("  %-14s %8.4f s   (one read() of the file's %.1f MB)\n", "read bytes", read_s,
           (double)file_size / 1e6);
    printf("  %-14s %8.4f s   (fwrite of -R's %.1f MB to /dev/null)\n", "write bytes", write_s,
           (double)raw_bytes / 1e6);
    printf("  %-14s %8.4f s   (fmt.h over the records decoded in memory)\n", "format -R",
           format_s);
    printf("against the limit (read + write the output's bytes) and the reference owamp 5.2.3\n"
           "(issue 15's measurement on this machine, %.0f records: summary %.2f s, -R %.2f s;\n"
           " not installed here, quoted at its rate for this file's %u records):\n",
           REF_RECORDS, REF_SUMMARY_S, REF_RAW_S, s->nrecords);
    print_against("owstats", best[PASS_REPORT], read_s, REF_SUMMARY_S, s->nrecords);
    print_against("owstats -M -N", best[PASS_REPORT_SUB], read_s, 0, s->nrecords);
    print_against("owstats -R", best[PASS_REPORT_R], read_s + write_s, REF_RAW_S, s->nrecords);
    printf("  %-14s %8.4f s of -R is formatting at fmt.h's speed, %.4f s the rest (reading, "
           "decoding, the records' walk)\n",
           "", format_s, best[PASS_REPORT_R] - format_s - write_s);
    return 0;
}

/* --owstats PATH: the binary, a process per run. */
static void report_binary(const char *prog, const char *path, const session *s)
{
    char sub[32];
    snprintf(sub, sizeof sub, "%u", s->req.npackets / SUB_BLOCKS ? s->req.npackets / SUB_BLOCKS : 1);
    const char *const opts_sub[] = {"-M", "-N", sub, NULL};
    double sum = time_binary(prog, opts_summary, path, 5);
    double raw = time_binary(prog, opts_raw, path, 5);
    double mn = time_binary(prog, opts_sub, path, 5);
    printf("the binary %s, a process per run, best of 5 (load %.2f):\n", prog, load_average());
    if (sum < 0 || raw < 0 || mn < 0) {
        printf("  (could not run it)\n");
        return;
    }
    double ref_sum = REF_SUMMARY_S * s->nrecords / REF_RECORDS;
    double ref_raw = REF_RAW_S * s->nrecords / REF_RECORDS;
    printf("  %-14s %8.4f s   (reference %.3f s: ours %.1fx faster)\n", "owstats", sum, ref_sum,
           ref_sum / sum);
    printf("  %-14s %8.4f s   (reference %.3f s: ours %.1fx faster)\n", "owstats -R", raw,
           ref_raw, ref_raw / raw);
    printf("  %-14s %8.4f s   (-N %s: %u summaries)\n", "owstats -M -N", mn, sub, SUB_BLOCKS);
}

/* The session file: FILE of --keep, else a fresh temporary file. */
static FILE *open_output(const char *keep, char *path, size_t len)
{
    int fd;
    if (keep) {
        snprintf(path, len, "%s", keep);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    } else {
        const char *tmpdir = getenv("TMPDIR");
        snprintf(path, len, "%s/bench_owstats.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
        fd = mkstemp(path);
    }
    if (fd < 0) {
        fprintf(stderr, "bench_owstats: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    FILE *fp = fdopen(fd, "w+b");
    if (!fp) {
        fprintf(stderr, "bench_owstats: fdopen(%s): %s\n", path, strerror(errno));
        close(fd);
        unlink(path);
    }
    return fp;
}

int main(int argc, char **argv)
{
    uint32_t nrecords = DEFAULT_RECORDS;
    const char *keep = NULL, *binary = NULL;
    int have_count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc && !keep)
            keep = argv[++i];
        else if (strcmp(argv[i], "--owstats") == 0 && i + 1 < argc && !binary)
            binary = argv[++i];
        else if (!have_count && parse_count(argv[i], &nrecords) == 0)
            have_count = 1;
        else
            return usage();
    }
    char path[4096];
    FILE *fp = open_output(keep, path, sizeof path);
    if (!fp)
        return 1;

    session s;
    session_init(&s, nrecords);
    owp_err err;
    owp_err_clear(&err);
    double t0 = owp_clock_monotonic();
    int rc = write_session(fp, &s, &err);
    double write_time = owp_clock_monotonic() - t0;
    if (fclose(fp) != 0 && rc == 0) {
        owp_err_sys(&err, "closing %s", path);
        rc = -1;
    }
    struct stat sb;
    if (rc == 0 && stat(path, &sb) != 0) {
        owp_err_sys(&err, "stat(%s)", path);
        rc = -1;
    }

    if (rc == 0) {
        printf("bench_owstats: %u records (%u packets, %.1f%% lost, %.1f%% duplicated), "
               "%.1f MB, %.0f packets/s, loss timeout %.0f s\n",
               s.nrecords, s.req.npackets, LOSS_PER_MILLE / 10.0, DUP_PER_MILLE / 10.0,
               (double)sb.st_size / 1e6, 1.0 / MEAN_INTERVAL, LOSS_TIMEOUT);
        printf("  %-14s %8.3f s   %6.2f M records/s   (libowamp writer, not timed best of 3)\n",
               "write", write_time, s.nrecords / write_time / 1e6);
        printf("best of %d, file in the page cache, in this process (load %.2f); target %.1f M "
               "records/s:\n",
               REPEATS, load_average(), TARGET_RECORDS_PER_SEC / 1e6);
        static const struct {
            pass_kind k;
            const char *label;
        } passes[] = {{PASS_READ, "read"},
                      {PASS_STATS, "stats"},
                      {PASS_REPORT_M, "owstats -M"},
                      {PASS_REPORT, "owstats"},
                      {PASS_REPORT_A, "owstats -a"},
                      {PASS_REPORT_SUB, "owstats -M -N"},
                      {PASS_REPORT_R, "owstats -R"}};
        double best[NPASSES] = {0};
        for (size_t i = 0; rc == 0 && i < sizeof passes / sizeof passes[0]; i++)
            rc = time_pass(passes[i].k, passes[i].label, path, (uint64_t)sb.st_size, s.nrecords,
                           &best[passes[i].k], &err);
        if (rc == 0)
            printf("  %-14s %8.4f s   (%zu exact percentiles of the first copies: %.1f%% of "
                   "the stats pass)\n",
                   "percentiles", percentile_time,
                   sizeof summary_alphas / sizeof summary_alphas[0],
                   100.0 * percentile_time / best[PASS_STATS]);
        if (rc == 0)
            rc = report_limits(path, &s, (uint64_t)sb.st_size, best, &err);
        if (rc == 0 && binary)
            report_binary(binary, path, &s);
    }
    if (rc != 0)
        fprintf(stderr, "bench_owstats: %s\n", err.msg[0] ? err.msg : "failed");
    if (!keep || rc != 0)
        unlink(path);
    else
        printf("session file kept: %s\n", path);
    return rc == 0 ? 0 : 1;
}
