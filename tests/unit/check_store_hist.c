/* check_store_hist.c - the store's histograms (collector/store/store_hist.c):
 * raw vs histogram agreement within the stated bound, and the histogram
 * encoding (round trip, truncations, corruptions). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_hist.h"
#include "store_testutil.h"
#include "testutil.h"

/* ---- raw vs histogram ---- */

START_TEST(test_raw_hist_agree)
{
    uint32_t ids[3];
    const char *dsts[3] = {"b", "c", "d"};
    for (int p = 0; p < 3; p++) {
        ids[p] = path("a", dsts[p]);
        /* delays from 0.5 us to seconds, one path with negative delays (clock offset) */
        gen g = {.n = 20000, .start = T0, .interval = 0.01, .delay = p == 2 ? -0.05 : 0.0000005,
                 .spread = p == 1 ? 0.05 : 0.0003, .loss_pm = 10, .dup_pm = 3, .reorder_pm = 3,
                 .seed = 900 + (uint32_t)p};
        FILE *fp = make_file(&g);
        ingest_fp("a", (uint64_t)p + 1, ids[p], fp, OWP_OK);
        fclose(fp);
    }
    /* each path alone, then all three merged; whole minutes so both read the same records */
    owp_num64 from = T0, to = T0 + ((owp_num64)240 << 32);
    for (int set = 0; set < 4; set++) {
        const uint32_t *q = set < 3 ? &ids[set] : ids;
        size_t n = set < 3 ? 1 : 3;
        store_row raw = query1(q, n, from, to, STORE_SOURCE_RAW);
        store_row hist = query1(q, n, from, to, STORE_SOURCE_HIST);
        ck_assert(!raw.empty && !hist.empty);
        ck_assert_uint_eq(raw.sent, hist.sent);
        ck_assert_uint_eq(raw.lost, hist.lost);
        ck_assert_uint_eq(raw.dups, hist.dups);
        ck_assert_uint_eq(raw.reordered, hist.reordered);
        ck_assert_uint_eq(raw.received, hist.received);
        ck_assert_uint_eq(raw.ipdv_pairs, hist.ipdv_pairs);
        ck_assert(fabs(raw.ipdv - hist.ipdv) <= 1e-9 * fabs(raw.ipdv) + 1e-12);
        ck_assert(raw.min == hist.min && raw.max == hist.max);
        ck_assert_int_eq(raw.hops_min, hist.hops_min);
        ck_assert_int_eq(raw.hops_max, hist.hops_max);
        ck_assert(raw.hops_min >= 2 && raw.hops_max <= 5);
        ck_assert(raw.loss_pct > 0 && fabs(raw.loss_pct - hist.loss_pct) < 1e-12);
        for (size_t i = 0; i < NPCTS; i++)
            ck_assert_msg(within_bound(hist.percentiles[i], raw.percentiles[i]),
                          "set %d p%g: hist %.9g raw %.9g", set, pcts[i], hist.percentiles[i],
                          raw.percentiles[i]);
        ck_assert(raw.percentiles[NPCTS - 1] <= raw.max);
    }
    /* auto: 60 000 records fit under the raw limit */
    ck_assert_int_eq(query1(ids, 3, from, to, STORE_SOURCE_AUTO).source, STORE_SOURCE_RAW);
}
END_TEST

START_TEST(test_hist_codec)
{
    store_hist *h = malloc(sizeof *h), *h2 = malloc(sizeof *h2);
    store_hist_init(h);
    store_hist_init(h2);
    double vals[] = {-3.5, -1e-3, -2e-7, 0, 3e-7, 1e-6, 1.5e-6, 0.0123, 0.5, 99, 1e4};
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        store_hist_add_first(h, vals[i], 250, i & 1);
        double rep = store_hist_value(store_hist_index(vals[i]));
        if (fabs(vals[i]) <= 100)
            ck_assert_msg(within_bound(rep, vals[i]), "%g -> %g", vals[i], rep);
    }
    store_hist_add_lost(h);
    store_hist_add_dup(h, 7);
    store_hist_add_ipdv(h, 0.25);
    uint8_t *buf = malloc(STORE_HIST_MAX_ENCODED);
    size_t len = store_hist_encode(h, buf);
    ck_assert_int_eq(store_hist_merge_encoded(h2, buf, len), OWP_OK);
    ck_assert_int_eq(memcmp(h->counts, h2->counts, sizeof h->counts), 0);
    ck_assert(h2->sent == 12 && h2->lost == 1 && h2->dups == 1 && h2->reordered == 5);
    ck_assert(h2->min == -3.5 && h2->max == 1e4 && h2->ipdv_sum == 0.25);
    /* every truncation and a few corruptions are refused */
    for (size_t n = 0; n < len; n++)
        ck_assert_int_eq(store_hist_merge_encoded(h2, buf, n), OWP_ERR_FORMAT);
    buf[0] = 9;
    ck_assert_int_eq(store_hist_merge_encoded(h2, buf, len), OWP_ERR_FORMAT);
    uint8_t huge[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                      1, 0x7e, 1}; /* one bucket far out of range */
    ck_assert_int_eq(store_hist_merge_encoded(h2, huge, sizeof huge), OWP_ERR_FORMAT);
    free(buf);
    free(h);
    free(h2);
}
END_TEST

static Suite *store_hist_suite(void)
{
    Suite *s = suite_create("store_hist");
    TCase *tc = tcase_create("queries");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_raw_hist_agree);
    tcase_add_test(tc, test_hist_codec);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(store_hist_suite());
}
