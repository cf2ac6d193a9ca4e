/* check_losswin.c - the statistics' loss window (losswin.h) against a plain
 * array of states: random packets near and far ahead of the window (the far
 * ones in its hash map until the ring reaches them or grows over them),
 * pops with and without advancing, and the states left at the end. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "losswin.h"
#include "testutil.h"

#define SPAN 3000000u /* seqs the model covers: past the ring's largest size */

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = (*state += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct left {
    const uint32_t *model;
    uint32_t base, seen;
} left;

static void check_left(uint32_t seq, uint32_t state, void *arg)
{
    left *l = arg;
    ck_assert_uint_ge(seq, l->base);
    ck_assert_uint_lt(seq - l->base, SPAN);
    ck_assert_uint_eq(state, l->model[seq - l->base]);
    l->seen++;
}

/* base: the first seq, so windows near UINT32_MAX are covered too. */
static void run_model(uint32_t base, uint64_t seed)
{
    uint32_t *model = calloc(SPAN, sizeof *model);
    ck_assert_ptr_nonnull(model);
    owp_losswin w = {0};
    owp_losswin_reset(&w, base);
    uint64_t rs = seed;
    uint32_t begin = 0; /* model's window start, relative to base */
    for (int step = 0; step < 400000 && begin + 2 < SPAN - 2100000; step++) {
        uint64_t x = next_random(&rs);
        if (x % 100 < 45) {
            /* A record near the start, or now and then anywhere up to past
             * the ring's largest size (1 << 20): the ring grows over some,
             * others wait in the map until pops bring them in. */
            uint32_t ahead = x % 1000 < 5 ? (uint32_t)(x >> 40) % 1200000
                                          : (uint32_t)(x >> 20) % 3000;
            uint32_t *st = owp_losswin_state(&w, base + begin + ahead);
            ck_assert_ptr_nonnull(st);
            ck_assert_uint_eq(*st, model[begin + ahead]);
            uint32_t v = (x >> 8) % 5 == 0 ? OWP_LOSSWIN_LOST : *st == OWP_LOSSWIN_LOST ? 1 : *st + 1;
            *st = model[begin + ahead] = v;
        } else {
            int advance = x % 100 < 99;
            ck_assert_uint_eq(owp_losswin_pop(&w, advance), model[begin]);
            model[begin] = 0;
            begin += advance ? 1 : 0;
            ck_assert_uint_eq(w.begin, base + begin);
        }
    }
    left l = {model + begin, base + begin, 0};
    owp_losswin_each(&w, check_left, &l);
    uint32_t nonzero = 0;
    for (uint32_t i = begin; i < SPAN; i++)
        nonzero += model[i] != 0;
    ck_assert_uint_eq(l.seen, nonzero);
    owp_losswin_free(&w);
    free(model);
}

START_TEST(matches_plain_array)
{
    run_model(0, 1);
    run_model(1000000, 2);
}
END_TEST

START_TEST(matches_plain_array_near_the_top)
{
    run_model(UINT32_MAX - SPAN + 1, 3);
}
END_TEST

static void count_left(uint32_t seq, uint32_t state, void *arg)
{
    (void)seq, (void)state;
    ++*(uint32_t *)arg;
}

START_TEST(reset_forgets_everything)
{
    owp_losswin w = {0};
    owp_losswin_reset(&w, 10);
    *owp_losswin_state(&w, 12) = 3;
    *owp_losswin_state(&w, 10 + 5000000) = OWP_LOSSWIN_LOST; /* far: the map */
    owp_losswin_reset(&w, 100);
    uint32_t seen = 0;
    owp_losswin_each(&w, count_left, &seen);
    ck_assert_uint_eq(seen, 0);
    ck_assert_uint_eq(*owp_losswin_state(&w, 100), 0);
    owp_losswin_free(&w);
}
END_TEST

static Suite *losswin_suite(void)
{
    Suite *s = suite_create("losswin");
    TCase *tc = tcase_create("losswin");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, matches_plain_array);
    tcase_add_test(tc, matches_plain_array_near_the_top);
    tcase_add_test(tc, reset_forgets_everything);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(losswin_suite()); }
