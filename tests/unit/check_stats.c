/* check_stats.c - session statistics on hand-built record sequences with
 * known answers, and on the reordering vector. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "owpfile.h"
#include "stats.h"
#include "testutil.h"

#define START (((owp_num64)3900000000u) << 32)
#define W 0.0001 /* default bucket width */

static owp_slot slot10ms = {OWP_SLOT_FIXED, 0};
static owp_request req;

/* A session of n packets, one every 10 ms (fixed slot), loss timeout 1 s. */
static const owp_request *session(uint32_t n)
{
    memset(&req, 0, sizeof req);
    slot10ms.value = owp_num64_from_double(0.01);
    req.ipvn = 4;
    req.nslots = 1;
    req.slots = &slot10ms;
    req.npackets = n;
    req.start_time = START;
    req.timeout = owp_num64_from_double(1.0);
    for (int i = 0; i < 16; i++)
        req.sid[i] = (uint8_t)i;
    return &req;
}

static owp_num64 sched(uint32_t seq) { return START + (seq + 1) * slot10ms.value; }

static owp_record rec(uint32_t seq, double delay)
{
    owp_record r = {.seq = seq, .send_err = OWP_ERREST_UNSYNC, .recv_err = OWP_ERREST_UNSYNC,
                    .ttl = 255};
    r.send_time = sched(seq);
    r.recv_time = r.send_time + owp_num64_from_double(delay);
    if (delay < 0)
        r.recv_time = r.send_time - owp_num64_from_double(-delay);
    return r;
}

static owp_record lost(uint32_t seq)
{
    owp_record r = rec(seq, 0);
    r.recv_time = 0;
    return r;
}

static owp_stats *run(const owp_request *q, const owp_skip *skips, uint32_t nskips,
                      const owp_record *recs, size_t n)
{
    owp_err err;
    owp_stats *s = owp_stats_new(q, skips, nskips, W, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_int_eq(owp_stats_begin(s, 0, UINT32_MAX, 0, &err), OWP_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(owp_stats_add(s, &recs[i], NULL, &err) == OWP_OK, "record %zu: %s", i,
                      err.msg);
    ck_assert_int_eq(owp_stats_end(s, &err), OWP_OK);
    return s;
}

/* Percentile alphas[i] of s is exactly the delay of record want[i]. */
static void expect_percentiles(owp_stats *s, const double *alphas, const owp_record *want,
                               size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        ck_assert_msg(owp_stats_percentile(s, alphas[i], &v), "alpha %g undefined", alphas[i]);
        ck_assert_msg(v == owp_stats_delay(&want[i]), "alpha %g: %.9g, want %.9g", alphas[i], v,
                      owp_stats_delay(&want[i]));
    }
}

START_TEST(loss_and_duplicates)
{
    owp_record r[12];
    size_t n = 0;
    for (uint32_t i = 0; i < 10; i++) {
        if (i == 3)
            continue; /* its lost record comes after the timeout, at the end */
        r[n++] = rec(i, 0.00005 * (i + 1));
        if (i == 5) {
            r[n++] = rec(5, 0.00002); /* two duplicates: min counts them */
            r[n++] = rec(5, 0.0009);  /* max counts them too */
        }
    }
    r[n++] = lost(3);
    owp_stats *s = run(session(10), NULL, 0, r, n);
    ck_assert_uint_eq(owp_stats_sent(s), 10);
    ck_assert_uint_eq(owp_stats_lost(s), 1);
    ck_assert_uint_eq(owp_stats_dups(s), 2);
    ck_assert_uint_eq(owp_stats_received(s), 9);
    double v;
    ck_assert(owp_stats_min(s, &v));
    /* 32.32 times near 2023 resolve delays to about 0.5 us */
    ck_assert_double_eq_tol(v, 0.00002, 1e-6);
    ck_assert(owp_stats_max(s, &v));
    ck_assert_double_eq_tol(v, 0.0009, 1e-6);
    /* histogram holds first copies only: delays 50..500 us step 50, minus seq 3 */
    uint32_t total = 0;
    for (uint32_t i = 0; i < owp_stats_nbuckets(s); i++) {
        int32_t idx;
        uint32_t c;
        owp_stats_bucket(s, i, &idx, &c);
        total += c;
        if (i)
            ck_assert_int_gt(idx, 0);
    }
    ck_assert_uint_eq(total, 9);
    ck_assert_uint_eq(owp_stats_ttl_count(s, 255), 9);
    ck_assert_int_eq(owp_stats_sync(s), 0);
    ck_assert_double_eq_tol(owp_stats_maxerr(s), 2.0 / 4294967296.0, 1e-15);
    ck_assert_uint_eq(owp_stats_start_time(s), sched(0));
    ck_assert_uint_eq(owp_stats_end_time(s), sched(9));
    ck_assert_uint_eq(owp_stats_reorder(s, 1), 0);
    owp_stats_destroy(&s);
    ck_assert_ptr_null(s);
}
END_TEST

/* Reference percentiles count lost packets in the denominator and report a
 * bucket edge; the summary's are exact nearest-rank over first copies. */
START_TEST(reference_vs_exact_percentiles)
{
    owp_record r[20];
    for (uint32_t i = 0; i < 18; i++)
        r[i] = rec(i, 0.000031 + 0.000001 * i); /* all in bucket 1 (0, 100us] */
    r[18] = lost(18);
    r[19] = lost(19);
    owp_stats *s = run(session(20), NULL, 0, r, 20);
    ck_assert_uint_eq(owp_stats_sent(s), 20);
    ck_assert_uint_eq(owp_stats_lost(s), 2);
    double v, mx;
    ck_assert(owp_stats_max(s, &mx));
    /* reference: median = bucket 1 upper edge, above the maximum */
    ck_assert(owp_stats_percentile_ref(s, 0.5, &v));
    ck_assert_double_eq_tol(v, W, 1e-12);
    ck_assert(v > mx);
    /* reference: 18 of 20 < 95 % -> P95 and jitter undefined */
    ck_assert(!owp_stats_percentile_ref(s, 0.95, &v));
    ck_assert(!owp_stats_jitter_ref(s, &v));
    /* exact over the 18 arrivals (31..48 us): P50 = rank 9 = 39 us,
     * P95 = rank ceil(17.1) = 18 = 48 us, P0 = min, P100 = max */
    double mn, p95;
    ck_assert(owp_stats_min(s, &mn));
    ck_assert(owp_stats_percentile(s, 0.5, &v));
    ck_assert(v == owp_stats_delay(&r[8]));
    ck_assert_double_eq_tol(v, 0.000039, 1e-6); /* 32.32 times: ~0.5 us */
    ck_assert(owp_stats_percentile(s, 0.95, &p95));
    ck_assert(p95 == mx);
    ck_assert(owp_stats_jitter(s, &v));
    ck_assert(v == p95 - owp_stats_delay(&r[8]));
    ck_assert(owp_stats_percentile(s, 0.0, &v) && v == mn);
    ck_assert(owp_stats_percentile(s, 1.0, &v) && v == mx);
    owp_stats_destroy(&s);
}
END_TEST

/* Duplicates count in min/max (as the reference) but not in percentiles. */
START_TEST(percentiles_exclude_duplicates)
{
    owp_record r[8] = {rec(0, 0.0001), rec(1, 0.0002), rec(1, 0.00001), rec(1, 0.00002),
                       rec(2, 0.0003), rec(2, 0.00003), rec(3, 0.0004), lost(4)};
    owp_stats *s = run(session(5), NULL, 0, r, 8);
    ck_assert_uint_eq(owp_stats_dups(s), 3);
    ck_assert_uint_eq(owp_stats_received(s), 4);
    double v;
    ck_assert(owp_stats_min(s, &v) && v == owp_stats_delay(&r[2])); /* a duplicate */
    /* first copies 100 200 300 400 us: P0 = 100, P50 = rank 2 = 200, P75 = 300 */
    const double alphas[4] = {0.0, 0.5, 0.75, 1.0};
    const owp_record want[4] = {r[0], r[1], r[4], r[6]};
    expect_percentiles(s, alphas, want, 4);
    owp_stats_destroy(&s);
}
END_TEST

START_TEST(single_packet)
{
    owp_record r[2] = {rec(0, 0.000038), lost(1)};
    owp_stats *s = run(session(2), NULL, 0, r, 2);
    double v;
    for (double a = 0.0; a <= 1.0; a += 0.25)
        ck_assert(owp_stats_percentile(s, a, &v) && v == owp_stats_delay(&r[0]));
    ck_assert(owp_stats_jitter(s, &v) && v == 0);
    owp_stats_destroy(&s);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 20 000 packets, some lost, some duplicated, some reordered: every
 * percentile equals a sort of the first copies' delays at ceil(alpha n). */
START_TEST(large_session_vs_sort)
{
    enum { N = 20000 };
    owp_record *r = malloc((N + N / 10) * sizeof *r);
    double *first = malloc(N * sizeof *first);
    ck_assert(r && first);
    size_t n = 0, nfirst = 0;
    uint32_t x = 12345;
    for (uint32_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        if (x % 100 == 7) {
            r[n++] = lost(i);
            continue;
        }
        double d = 0.001 + (x >> 8) % 50000 * 1e-8; /* 1 .. 1.5 ms */
        r[n++] = rec(i, d);
        first[nfirst++] = owp_stats_delay(&r[n - 1]);
        if (x % 50 == 3)
            r[n++] = rec(i, d / 2); /* a duplicate, faster than the original */
    }
    owp_stats *s = run(session(N), NULL, 0, r, n);
    ck_assert_uint_eq(owp_stats_received(s), nfirst);
    qsort(first, nfirst, sizeof *first, cmp_double);
    static const double alphas[] = {0, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1};
    for (size_t i = 0; i < sizeof alphas / sizeof alphas[0]; i++) {
        double v;
        size_t k = (size_t)ceil(alphas[i] * (double)nfirst - 1e-9);
        ck_assert(owp_stats_percentile(s, alphas[i], &v));
        ck_assert_msg(v == first[k ? k - 1 : 0], "alpha %g: %.9g, sort %.9g", alphas[i], v,
                      first[k ? k - 1 : 0]);
    }
    double j;
    ck_assert(owp_stats_jitter(s, &j));
    ck_assert(j == first[(size_t)ceil(0.95 * (double)nfirst) - 1] - first[(size_t)ceil(0.5 * (double)nfirst) - 1]);
    owp_stats_destroy(&s);
    free(r);
    free(first);
}
END_TEST

START_TEST(negative_delays)
{
    owp_record r[4] = {rec(0, -0.00015), rec(1, -0.00005), rec(2, 0.0), rec(3, 0.00025)};
    owp_stats *s = run(session(4), NULL, 0, r, 4);
    ck_assert_uint_eq(owp_stats_nbuckets(s), 4);
    int32_t want[4] = {-2, -1, 0, 3};
    for (uint32_t i = 0; i < 4; i++) {
        int32_t idx;
        uint32_t c;
        owp_stats_bucket(s, i, &idx, &c);
        ck_assert_int_eq(idx, want[i]);
        ck_assert_uint_eq(c, 1);
    }
    double v;
    ck_assert(owp_stats_min(s, &v));
    ck_assert(v < -0.000149 && v > -0.000151);
    ck_assert(owp_stats_percentile_ref(s, 0.25, &v));
    ck_assert_double_eq_tol(v, -2 * W, 1e-12);
    /* exact: the delays themselves, rank ceil(alpha x 4) */
    const double alphas[4] = {0.25, 0.5, 0.75, 1.0};
    expect_percentiles(s, alphas, r, 4);
    owp_stats_destroy(&s);
}
END_TEST

START_TEST(all_lost)
{
    owp_record r[5];
    for (uint32_t i = 0; i < 5; i++)
        r[i] = lost(i);
    owp_stats *s = run(session(5), NULL, 0, r, 5);
    ck_assert_uint_eq(owp_stats_sent(s), 5);
    ck_assert_uint_eq(owp_stats_lost(s), 5);
    ck_assert_uint_eq(owp_stats_received(s), 0);
    double v;
    ck_assert(!owp_stats_min(s, &v));
    ck_assert(!owp_stats_max(s, &v));
    ck_assert(!owp_stats_percentile_ref(s, 0.5, &v));
    ck_assert(!owp_stats_percentile(s, 0.5, &v));
    ck_assert(!owp_stats_jitter(s, &v));
    ck_assert_uint_eq(owp_stats_nbuckets(s), 0);
    uint8_t lo, hi;
    ck_assert_uint_eq(owp_stats_ttl_values(s, &lo, &hi), 0);
    owp_stats_destroy(&s);
}
END_TEST

START_TEST(zero_received)
{
    owp_stats *s = run(session(7), NULL, 0, NULL, 0);
    ck_assert_uint_eq(owp_stats_sent(s), 0);
    ck_assert_uint_eq(owp_stats_lost(s), 0);
    ck_assert_int_eq(owp_stats_sync(s), 1); /* nothing contradicted it */
    ck_assert_double_eq(owp_stats_maxerr(s), 0.0);
    double v;
    ck_assert(!owp_stats_percentile(s, 0.5, &v));
    ck_assert_uint_eq(owp_stats_end_time(s), sched(6));
    ck_assert_uint_eq(owp_stats_reorder_total(s), 0);
    owp_stats_destroy(&s);
}
END_TEST

START_TEST(skip_ranges_excluded)
{
    /* 0 1 2, a stray copy of 4, lost 3..6, 7 8 (9 never reported) */
    owp_record r[10] = {rec(0, 0.00005), rec(1, 0.00005), rec(2, 0.00005), rec(4, 0.0009),
                        lost(3), lost(4), lost(5), lost(6), rec(7, 0.00006), rec(8, 0.00005)};
    owp_skip sk = {3, 6};
    owp_stats *s = run(session(10), &sk, 1, r, 10);
    ck_assert_uint_eq(owp_stats_sent(s), 5); /* 0,1,2,7,8: the skip range counts nothing */
    ck_assert_uint_eq(owp_stats_lost(s), 0);
    ck_assert_uint_eq(owp_stats_dups(s), 0);
    ck_assert_uint_eq(owp_stats_received(s), 5);
    double v; /* nor does its stray copy's delay */
    ck_assert(owp_stats_percentile(s, 1.0, &v) && v == owp_stats_delay(&r[8]));
    owp_stats_destroy(&s);
}
END_TEST

START_TEST(reference_rejections)
{
    owp_err err;
    owp_stats *s = owp_stats_new(session(200), NULL, 0, W, &err);
    ck_assert_ptr_nonnull(s);
    owp_record a = rec(2, 0.0001), l = lost(2);
    ck_assert_int_eq(owp_stats_begin(s, 0, UINT32_MAX, 0, &err), OWP_OK);
    ck_assert_int_eq(owp_stats_add(s, &a, NULL, &err), OWP_OK);
    ck_assert_int_eq(owp_stats_add(s, &l, NULL, &err), OWP_ERR_FORMAT);

    /* a copy arriving after its packet aged out of the loss window */
    ck_assert_int_eq(owp_stats_begin(s, 0, UINT32_MAX, 0, &err), OWP_OK);
    owp_record late = rec(150, 0.0001), old = rec(0, 0.0001);
    ck_assert_int_eq(owp_stats_add(s, &old, NULL, &err), OWP_OK);
    ck_assert_int_eq(owp_stats_add(s, &late, NULL, &err), OWP_OK);
    ck_assert_int_eq(owp_stats_add(s, &old, NULL, &err), OWP_ERR_FORMAT);
    owp_stats_destroy(&s);

    /* a packet arriving more than the loss timeout after the last scheduled
     * one: the reference cannot age its window past the end of the range */
    s = owp_stats_new(session(10), NULL, 0, W, &err);
    ck_assert_int_eq(owp_stats_begin(s, 0, UINT32_MAX, 0, &err), OWP_OK);
    late = rec(8, 1.2);
    ck_assert_int_eq(owp_stats_add(s, &late, NULL, &err), OWP_ERR_FORMAT);
    owp_stats_destroy(&s);

    ck_assert_ptr_null(owp_stats_new(session(10), NULL, 0, 0.0, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
}
END_TEST

START_TEST(sub_sessions)
{
    owp_err err;
    owp_record r[20];
    for (uint32_t i = 0; i < 20; i++)
        r[i] = rec(i, 0.00005);
    /* 11 arrives before 9 and 10: the next range starts at its index */
    r[9] = rec(11, 0.00005);
    r[11] = rec(9, 0.00005);
    owp_stats *s = owp_stats_new(session(20), NULL, 0, W, &err);
    ck_assert_int_eq(owp_stats_begin(s, 0, 10, 0, &err), OWP_OK);
    owp_stats_event ev;
    for (uint32_t i = 0; i < 20; i++) {
        ck_assert_int_eq(owp_stats_add(s, &r[i], &ev, &err), OWP_OK);
        ck_assert_int_eq(ev, r[i].seq < 10 ? OWP_STATS_RECEIVED : OWP_STATS_IGNORED);
    }
    ck_assert_int_eq(owp_stats_end(s, &err), OWP_OK);
    ck_assert_uint_eq(owp_stats_sent(s), 10);
    ck_assert_uint_eq(owp_stats_next_index(s), 9);
    ck_assert_uint_eq(owp_stats_start_time(s), sched(0));
    ck_assert_uint_eq(owp_stats_end_time(s), sched(9));
    ck_assert_uint_eq(owp_stats_reorder(s, 1), 0); /* 9 after 8: in order */
    ck_assert_uint_eq(owp_stats_reorder_total(s), 10);

    ck_assert_int_eq(owp_stats_begin(s, 10, UINT32_MAX, 9, &err), OWP_OK);
    for (uint32_t i = 9; i < 20; i++)
        ck_assert_int_eq(owp_stats_add(s, &r[i], NULL, &err), OWP_OK);
    ck_assert_int_eq(owp_stats_end(s, &err), OWP_OK);
    ck_assert_uint_eq(owp_stats_sent(s), 10);
    ck_assert_uint_eq(owp_stats_last(s), 20);
    ck_assert_uint_eq(owp_stats_start_time(s), sched(10));
    ck_assert_uint_eq(owp_stats_end_time(s), sched(19));
    ck_assert_uint_eq(owp_stats_reorder(s, 1), 1); /* 10 after 11 */
    /* the reference keeps counting the denominator across sub-sessions */
    ck_assert_uint_eq(owp_stats_reorder_total(s), 20);
    ck_assert_int_eq(owp_stats_begin(s, 5, 30, 0, &err), OWP_ERR_INVALID);
    owp_stats_destroy(&s);
}
END_TEST

/* ---- the order of -M's <BUCKETS>: the reference's hash table ---- */

/* Run records whose delays fall in buckets idx[0..n) (in that arrival order)
 * through a session, as one range or -N ranges of `sub` packets; check range
 * `range`'s printed order. (The reference's table is smaller than 1021 slots
 * only when the raw 32.32 loss timeout is below 2048 bucket widths, where
 * every packet ages out before it arrives.) */
static void expect_bucket_order(const int32_t *idx, size_t n, uint32_t sub,
                                uint32_t range, const int32_t *want, size_t nwant)
{
    owp_record r[16];
    ck_assert_uint_le(n, 16);
    for (uint32_t i = 0; i < n; i++) { /* bucket: ceil(delay / W), floor below 0 */
        double half = idx[i] > 0 ? -0.5 : idx[i] < 0 ? 0.5 : 0.0;
        r[i] = rec(i, ((double)idx[i] + half) * W);
    }
    owp_err err;
    owp_stats *s = owp_stats_new(session((uint32_t)n), NULL, 0, W, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    uint32_t first = sub ? range * sub : 0, last = sub ? first + sub : UINT32_MAX;
    ck_assert_int_eq(owp_stats_begin(s, first, last, 0, &err), OWP_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(owp_stats_add(s, &r[i], NULL, &err), OWP_OK);
    ck_assert_int_eq(owp_stats_end(s, &err), OWP_OK);
    ck_assert_uint_eq(owp_stats_nbuckets(s), nwant);
    int32_t prev = INT32_MIN;
    for (uint32_t i = 0; i < nwant; i++) {
        int32_t got;
        uint32_t c;
        owp_stats_bucket_ref_order(s, i, &got, &c);
        ck_assert_msg(got == want[i], "printed bucket %u: %d, want %d", i, got, want[i]);
        ck_assert_uint_eq(c, 1);
        owp_stats_bucket(s, i, &got, &c); /* the percentiles' order stays ascending */
        ck_assert_int_gt(got, prev);
        prev = got;
    }
    owp_stats_destroy(&s);
}

START_TEST(bucket_order_is_the_references)
{
    /* Byte sums 255, 1, 2, 4, 5, 33 (mod 1021): 255 comes last. */
    static const int32_t straddle[] = {255, 256, 257, 259, 260, 288};
    static const int32_t straddle_printed[] = {256, 257, 259, 260, 288, 255};
    expect_bucket_order(straddle, 6, 0, 0, straddle_printed, 6);
    /* 11, 266 and 521 share slot 11: the newest first. -1 sums to 1020. */
    static const int32_t chain[] = {-1, 266, 11, 521, 10};
    static const int32_t chain_printed[] = {10, 521, 11, 266, -1};
    expect_bucket_order(chain, 5, 0, 0, chain_printed, 5);
    /* Each -N range starts an empty table: its own arrival order counts. */
    static const int32_t two_ranges[] = {266, 11, 11, 266};
    static const int32_t second_printed[] = {266, 11};
    expect_bucket_order(two_ranges, 4, 2, 1, second_printed, 2);
}
END_TEST

static int feed(const owp_record *r, void *arg)
{
    owp_err err;
    ck_assert_int_eq(owp_stats_add(arg, r, NULL, &err), OWP_OK);
    return 0;
}

/* reorder-from.owp: clean100 with swaps giving 1- to 10-reordering. */
START_TEST(reorder_vector)
{
    char *path = tu_vector_path("owp/reorder-from.owp");
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    owp_err err;
    owp_file *f = owp_file_read(fp, path, &err);
    ck_assert_ptr_nonnull(f);
    owp_stats *s = owp_stats_new(owp_file_request(f), owp_file_skips(f), owp_file_nskips(f), W,
                                 &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(owp_stats_begin(s, 0, UINT32_MAX, 0, &err), OWP_OK);
    ck_assert_int_eq(owp_file_each_record(f, 0, feed, s, &err), OWP_OK);
    ck_assert_int_eq(owp_stats_end(s, &err), OWP_OK);
    static const uint32_t want[] = {8, 4, 3, 2, 1, 1, 1, 1, 1, 1, 0};
    for (uint32_t j = 1; j <= 11; j++)
        ck_assert_uint_eq(owp_stats_reorder(s, j), want[j - 1]);
    ck_assert_uint_eq(owp_stats_reorder_total(s), 100);
    ck_assert_uint_eq(owp_stats_sent(s), 100);
    /* the reference's -M for this file: MEDIAN 0.0001, PDV 0, MIN 1.57356e-05 */
    double v;
    char buf[64];
    ck_assert(owp_stats_percentile_ref(s, 0.5, &v));
    snprintf(buf, sizeof buf, "%g", v);
    ck_assert_str_eq(buf, "0.0001");
    ck_assert(owp_stats_jitter_ref(s, &v));
    snprintf(buf, sizeof buf, "%g", v);
    ck_assert_str_eq(buf, "0");
    ck_assert(owp_stats_min(s, &v));
    snprintf(buf, sizeof buf, "%g", v);
    ck_assert_str_eq(buf, "1.57356e-05");
    ck_assert_uint_eq(owp_stats_start_time(s), 17198798622608394588ull);
    ck_assert_uint_eq(owp_stats_end_time(s), 17198798624825133369ull);
    owp_stats_destroy(&s);
    owp_file_destroy(&f);
    fclose(fp);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("counts");
    tcase_add_test(tc, loss_and_duplicates);
    tcase_add_test(tc, all_lost);
    tcase_add_test(tc, zero_received);
    tcase_add_test(tc, skip_ranges_excluded);
    tcase_add_test(tc, reference_rejections);
    tcase_add_test(tc, sub_sessions);
    suite_add_tcase(s, tc);
    tc = tcase_create("delays");
    tcase_add_test(tc, reference_vs_exact_percentiles);
    tcase_add_test(tc, percentiles_exclude_duplicates);
    tcase_add_test(tc, single_packet);
    tcase_add_test(tc, large_session_vs_sort);
    tcase_add_test(tc, negative_delays);
    tcase_add_test(tc, bucket_order_is_the_references);
    suite_add_tcase(s, tc);
    tc = tcase_create("reordering");
    tcase_add_test(tc, reorder_vector);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
