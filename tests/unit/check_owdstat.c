/* check_owdstat.c - each statistic's one definition (owdstat.h) against
 * hand-computed values, and the selection against a sort on large inputs. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "testutil.h"

/* owp_owd_percentile on a copy, so the caller's array stays as written. */
static double pct(const double *v, size_t n, double alpha)
{
    double *c = malloc((n ? n : 1) * sizeof *c);
    ck_assert_ptr_nonnull(c);
    memcpy(c, v, n * sizeof *c);
    double out = NAN;
    ck_assert(owp_owd_percentile(c, n, alpha, &out));
    free(c);
    return out;
}

START_TEST(rank_is_ceil_alpha_n)
{
    ck_assert_uint_eq(owp_owd_rank(0.5, 0), 0);
    ck_assert_uint_eq(owp_owd_rank(0.0, 10), 1);  /* alpha 0: the minimum */
    ck_assert_uint_eq(owp_owd_rank(1.0, 10), 10); /* alpha 1: the maximum */
    ck_assert_uint_eq(owp_owd_rank(0.5, 10), 5);
    ck_assert_uint_eq(owp_owd_rank(0.5, 11), 6);
    ck_assert_uint_eq(owp_owd_rank(0.95, 20), 19);
    ck_assert_uint_eq(owp_owd_rank(0.95, 21), 20);
    /* 0.1 x 30 is 3.0000000000000004 in binary: the rank is still 3 */
    ck_assert_uint_eq(owp_owd_rank(0.1, 30), 3);
    ck_assert_uint_eq(owp_owd_rank(99.9 / 100.0, 1000), 999);
    ck_assert_uint_eq(owp_owd_rank(0.999, 1001), 1000);
    ck_assert_uint_eq(owp_owd_rank(1e-9, 5), 1);
    ck_assert_uint_eq(owp_owd_rank(NAN, 5), 1);
    ck_assert_uint_eq(owp_owd_rank(2.0, 5), 5);
}
END_TEST

START_TEST(percentile_by_hand)
{
    /* sorted: 1 2 3 4 5 6 7 8 9 10 (as ms) */
    const double v[10] = {7, 3, 10, 1, 9, 2, 8, 6, 4, 5};
    ck_assert(pct(v, 10, 0.0) == 1);
    ck_assert(pct(v, 10, 0.1) == 1);  /* rank 1 */
    ck_assert(pct(v, 10, 0.11) == 2); /* rank ceil(1.1) = 2 */
    ck_assert(pct(v, 10, 0.5) == 5);  /* rank 5: no averaging of 5 and 6 */
    ck_assert(pct(v, 10, 0.9) == 9);
    ck_assert(pct(v, 10, 0.95) == 10);
    ck_assert(pct(v, 10, 1.0) == 10);
    double one = 0.038e-3;
    ck_assert(pct(&one, 1, 0.0) == one); /* n = 1: every percentile is the value */
    ck_assert(pct(&one, 1, 0.5) == one);
    ck_assert(pct(&one, 1, 1.0) == one);
    double out = 42;
    ck_assert(!owp_owd_percentile(NULL, 0, 0.5, &out)); /* nothing arrived */
    ck_assert(out == 42);
}
END_TEST

START_TEST(percentile_ties_and_negatives)
{
    const double ties[7] = {2, 2, 2, 1, 2, 3, 2}; /* 1 2 2 2 2 2 3 */
    ck_assert(pct(ties, 7, 0.0) == 1);
    ck_assert(pct(ties, 7, 0.15) == 2); /* rank 2 */
    ck_assert(pct(ties, 7, 0.5) == 2);
    ck_assert(pct(ties, 7, 0.86) == 3); /* rank ceil(6.02) = 7 */
    ck_assert(pct(ties, 7, 0.85) == 2); /* rank ceil(5.95) = 6 */
    const double same[5] = {4, 4, 4, 4, 4};
    ck_assert(pct(same, 5, 0.5) == 4);
    const double neg[4] = {-0.00015, 0.00025, -0.00005, 0.0}; /* unsynchronized clocks */
    ck_assert(pct(neg, 4, 0.25) == -0.00015);
    ck_assert(pct(neg, 4, 0.5) == -0.00005);
    ck_assert(pct(neg, 4, 0.75) == 0.0);
    ck_assert(pct(neg, 4, 1.0) == 0.00025);
}
END_TEST

/* The example: a true median of 0.038 ms is printed as that, not as
 * a value interpolated in its 0.1 ms bucket. */
START_TEST(percentile_is_a_delay_that_occurred)
{
    double v[120];
    for (int i = 0; i < 120; i++)
        v[i] = (i < 70 ? 0.000038 : 0.000090) + (i % 7) * 1e-9;
    double m = pct(v, 120, 0.5);
    int found = 0;
    for (int i = 0; i < 120; i++)
        found |= v[i] == m;
    ck_assert(found);
    ck_assert(m >= 0.000038 && m < 0.000039);
}
END_TEST

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Random, few distinct values, sorted, reverse sorted and organ-pipe inputs
 * of up to 200 000 values: every percentile equals the sort's v[rank - 1]. */
START_TEST(selection_matches_sort)
{
    static const size_t sizes[] = {2, 3, 17, 1000, 200000};
    static const double alphas[] = {0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        double *v = malloc(n * sizeof *v), *sorted = malloc(n * sizeof *v);
        ck_assert(v && sorted);
        for (int shape = 0; shape < 5; shape++) {
            for (size_t i = 0; i < n; i++) {
                switch (shape) {
                case 0: v[i] = (double)(xorshift() >> 11) * 1e-12; break;
                case 1: v[i] = (double)(xorshift() % 3) * 1e-4; break;
                case 2: v[i] = (double)i; break;
                case 3: v[i] = (double)(n - i); break;
                default: v[i] = (double)(i < n / 2 ? i : n - i); break;
                }
            }
            memcpy(sorted, v, n * sizeof *v);
            qsort(sorted, n, sizeof *sorted, dcmp);
            size_t na = sizeof alphas / sizeof alphas[0];
            for (size_t a = 0; a < na; a++) {
                uint64_t rank = owp_owd_rank(alphas[a], n);
                double got;
                ck_assert(owp_owd_percentile(v, n, alphas[a], &got)); /* v reordered, reused */
                ck_assert_msg(got == sorted[rank - 1], "n %zu shape %d alpha %g: %g, sort %g", n,
                              shape, alphas[a], got, sorted[rank - 1]);
            }
            /* one sample, the ranks in a scrambled order, each asked twice */
            owp_owd_sample smp;
            owp_owd_sample_init(&smp, v, n);
            for (size_t t = 0; t < 2 * na; t++) {
                double alpha = alphas[(t * 7 + 3) % na];
                double got;
                ck_assert(owp_owd_sample_percentile(&smp, alpha, &got));
                ck_assert_msg(got == sorted[owp_owd_rank(alpha, n) - 1],
                              "sample n %zu shape %d alpha %g", n, shape, alpha);
            }
            /* the array still holds the same values */
            qsort(v, n, sizeof *v, dcmp);
            ck_assert(memcmp(v, sorted, n * sizeof *v) == 0);
        }
        free(v);
        free(sorted);
    }
}
END_TEST

START_TEST(histogram_bucket)
{
    /* buckets 0..4 hold 0, 3, 0, 6, 1 values: ranks 1-3 in 1, 4-9 in 3, 10 in 4 */
    const uint64_t c[5] = {0, 3, 0, 6, 1};
    size_t b = 99;
    ck_assert(owp_owd_percentile_bucket(c, 5, 0.0, &b) && b == 1);
    ck_assert(owp_owd_percentile_bucket(c, 5, 0.3, &b) && b == 1);  /* rank 3 */
    ck_assert(owp_owd_percentile_bucket(c, 5, 0.31, &b) && b == 3); /* rank 4 */
    ck_assert(owp_owd_percentile_bucket(c, 5, 0.5, &b) && b == 3);
    ck_assert(owp_owd_percentile_bucket(c, 5, 0.9, &b) && b == 3);  /* rank 9 */
    ck_assert(owp_owd_percentile_bucket(c, 5, 0.95, &b) && b == 4); /* rank 10 */
    ck_assert(owp_owd_percentile_bucket(c, 5, 1.0, &b) && b == 4);
    const uint64_t empty[3] = {0, 0, 0};
    b = 99;
    ck_assert(!owp_owd_percentile_bucket(empty, 3, 0.5, &b) && b == 99);
    ck_assert(!owp_owd_percentile_bucket(NULL, 0, 0.5, &b));
}
END_TEST

START_TEST(jitter_is_p95_minus_p50)
{
    /* 1..20: P95 = rank 19 = 19, P50 = rank 10 = 10 */
    double v[20];
    for (int i = 0; i < 20; i++)
        v[i] = 20 - i;
    double j = -1;
    owp_owd_sample s;
    owp_owd_sample_init(&s, v, 20);
    ck_assert(owp_owd_sample_jitter(&s, &j));
    ck_assert(j == 9);
    double one = 0.5;
    owp_owd_sample_init(&s, &one, 1);
    ck_assert(owp_owd_sample_jitter(&s, &j) && j == 0); /* n = 1 */
    owp_owd_sample_init(&s, NULL, 0);
    ck_assert(!owp_owd_sample_jitter(&s, &j)); /* all lost */
}
END_TEST

START_TEST(ipdv_consecutive_pairs)
{
    owp_owd_ipdv a;
    owp_owd_ipdv_init(&a);
    double p = -1;
    ck_assert(!owp_owd_ipdv_add(&a, 0, 0.010, &p)); /* nothing before it */
    ck_assert(owp_owd_ipdv_add(&a, 1, 0.013, &p));
    ck_assert_double_eq_tol(p, 0.003, 1e-15);
    ck_assert(owp_owd_ipdv_add(&a, 2, 0.011, &p)); /* |D(2) - D(1)| */
    ck_assert_double_eq_tol(p, 0.002, 1e-15);
    ck_assert(!owp_owd_ipdv_add(&a, 4, 0.020, NULL)); /* seq 3 missing: no pair */
    owp_owd_ipdv_break(&a);                           /* seq 5 lost */
    ck_assert(!owp_owd_ipdv_add(&a, 6, 0.012, NULL));
    ck_assert(owp_owd_ipdv_add(&a, 7, 0.012, NULL));
    ck_assert_uint_eq(a.pairs, 3);
    double m;
    ck_assert(owp_owd_ipdv_mean(a.pairs, a.sum, &m));
    ck_assert_double_eq_tol(m, (0.003 + 0.002 + 0.0) / 3, 1e-15);
    ck_assert(!owp_owd_ipdv_mean(0, 0, &m));
}
END_TEST

START_TEST(loss_and_hops)
{
    ck_assert(owp_owd_loss_ratio(0, 0) == 0);   /* nothing sent: no loss */
    ck_assert(owp_owd_loss_ratio(5, 5) == 1);   /* all lost */
    ck_assert(owp_owd_loss_ratio(1, 4) == 0.25);
    ck_assert_int_eq(owp_owd_hops(255), 0);
    ck_assert_int_eq(owp_owd_hops(251), 4);
    ck_assert_int_eq(owp_owd_hops(0), 255);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("owdstat");
    TCase *tc = tcase_create("definitions");
    tcase_set_timeout(tc, 60); /* 200 000 values, five shapes, under ASan */
    tcase_add_test(tc, rank_is_ceil_alpha_n);
    tcase_add_test(tc, percentile_by_hand);
    tcase_add_test(tc, percentile_ties_and_negatives);
    tcase_add_test(tc, percentile_is_a_delay_that_occurred);
    tcase_add_test(tc, selection_matches_sort);
    tcase_add_test(tc, histogram_bucket);
    tcase_add_test(tc, jitter_is_p95_minus_p50);
    tcase_add_test(tc, ipdv_consecutive_pairs);
    tcase_add_test(tc, loss_and_hops);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
