/* check_fmt.c - fmt.h's conversions give exactly printf's bytes: "%u" and
 * "%020" PRIu64 over their edges and a million random values each, "%g" of
 * every one of the 65536 error estimates (twice, in an order that makes the
 * memo's slots collide); the output buffer writes everything, in order, and
 * reports a stream that cannot be written. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "testutil.h"
#include "timestamp.h"

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = (*state += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void check_u32(uint32_t v)
{
    char want[32], got[32];
    int n = snprintf(want, sizeof want, "%u", v);
    char *end = owp_fmt_u32(got, v);
    ck_assert_int_eq(end - got, n);
    ck_assert_msg(memcmp(got, want, (size_t)n) == 0, "%u: got %.*s", v, n, got);
}

static void check_u64(uint64_t v)
{
    char want[32], got[32];
    int n = snprintf(want, sizeof want, "%020" PRIu64, v);
    char *end = owp_fmt_u64_020(got, v);
    ck_assert_int_eq(end - got, n);
    ck_assert_msg(memcmp(got, want, (size_t)n) == 0, "%" PRIu64 ": got %.*s", v, n, got);
}

START_TEST(u32_is_printf)
{
    uint64_t p = 1;
    for (int d = 0; d <= 10; d++, p *= 10)
        for (int64_t delta = -2; delta <= 2; delta++)
            if ((int64_t)p + delta >= 0 && (uint64_t)((int64_t)p + delta) <= UINT32_MAX)
                check_u32((uint32_t)((int64_t)p + delta));
    check_u32(UINT32_MAX);
    uint64_t rs = 1;
    for (int i = 0; i < 1000000; i++) {
        uint64_t x = next_random(&rs);
        check_u32((uint32_t)(x >> (x % 32))); /* every length */
    }
}
END_TEST

START_TEST(u64_020_is_printf)
{
    uint64_t p = 1;
    for (int d = 0; d <= 19; d++, p *= 10) {
        check_u64(p - 1);
        check_u64(p);
        check_u64(p + 1);
    }
    check_u64(UINT64_MAX);
    check_u64(UINT64_MAX - 1);
    check_u64((uint64_t)100000000 * 100000000 - 1); /* the part boundaries */
    check_u64((uint64_t)100000000 * 100000000);
    uint64_t rs = 2;
    for (int i = 0; i < 1000000; i++) {
        uint64_t x = next_random(&rs);
        check_u64(x >> (x % 64));
    }
}
END_TEST

static void check_errest(owp_fmt_errest_memo *m, uint16_t e)
{
    char want[64], got[64];
    int n = snprintf(want, sizeof want, "%g", owp_errest_seconds(e));
    ck_assert_int_le(n, OWP_FMT_ERREST_MAX);
    char *end = owp_fmt_errest_g(m, got, e);
    ck_assert_int_eq(end - got, n);
    ck_assert_msg(memcmp(got, want, (size_t)n) == 0, "0x%04x: got %.*s want %s", e, n, got, want);
}

START_TEST(errest_g_is_printf)
{
    owp_fmt_errest_memo *m = malloc(sizeof *m);
    ck_assert_ptr_nonnull(m);
    owp_fmt_errest_memo_init(m);
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t e = 0; e <= 0xFFFF; e++)
            check_errest(m, (uint16_t)(pass ? 0xFFFF - e : e));
    /* Alternating values whose memo slots collide. */
    for (int i = 0; i < 1000; i++) {
        check_errest(m, 0x0101);
        check_errest(m, 0x8000);
        check_errest(m, 0x0001);
    }
    free(m);
}
END_TEST

START_TEST(out_writes_everything_in_order)
{
    char *text = NULL, want[64];
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(mem);
    owp_fmt_out o;
    owp_err err;
    ck_assert_int_eq(owp_fmt_out_init(&o, mem, &err), OWP_OK);
    for (uint32_t i = 0; i < 50000; i++) { /* ~350 KB: several buffers */
        char *p = owp_fmt_reserve(&o, 16);
        p = owp_fmt_u32(p, i);
        *p++ = '\n';
        owp_fmt_commit(&o, p);
    }
    ck_assert_int_eq(owp_fmt_out_finish(&o, "numbers", &err), OWP_OK);
    fclose(mem);
    const char *at = text;
    for (uint32_t i = 0; i < 50000; i++) {
        int n = snprintf(want, sizeof want, "%u\n", i);
        ck_assert_msg(strncmp(at, want, (size_t)n) == 0, "line %u", i);
        at += n;
    }
    ck_assert_uint_eq((size_t)(at - text), len);
    free(text);
}
END_TEST

START_TEST(out_reports_write_failure)
{
    FILE *full = fopen("/dev/full", "w");
    if (!full)
        return; /* no /dev/full here */
    owp_fmt_out o;
    owp_err err;
    ck_assert_int_eq(owp_fmt_out_init(&o, full, &err), OWP_OK);
    char *p = owp_fmt_reserve(&o, 16);
    p = owp_fmt_u32(p, 12345);
    owp_fmt_commit(&o, p);
    ck_assert_int_eq(owp_fmt_out_finish(&o, "the numbers", &err), OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(err.msg, "writing the numbers"));
    fclose(full);
}
END_TEST

static Suite *fmt_suite(void)
{
    Suite *s = suite_create("fmt");
    TCase *tc = tcase_create("fmt");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, u32_is_printf);
    tcase_add_test(tc, u64_020_is_printf);
    tcase_add_test(tc, errest_g_is_printf);
    tcase_add_test(tc, out_writes_everything_in_order);
    tcase_add_test(tc, out_reports_write_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(fmt_suite()); }
