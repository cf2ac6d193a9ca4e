/* check_timestamp.c - 32.32 time values and error estimates against the
 * reference's vectors (tests/vectors/time/timestamps.json and the first:/last:
 * lines of every owstats summary). The clock module: check_clock.c. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "testutil.h"
#include "timestamp.h"

#define TIMESTAMPS "time/timestamps.json"

static long long int_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_integer(v), "vector lacks integer member %s", key);
    return json_integer_value(v);
}

static double real_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_number(v), "vector lacks number member %s", key);
    return json_number_value(v);
}

/* The vectors print errors with 9 significant digits. */
static void assert_close(double got, double want, const char *what, size_t i)
{
    double tol = fabs(want) * 1e-8 + 1e-18;
    ck_assert_msg(fabs(got - want) <= tol, "%s[%zu]: got %.12g, want %.12g", what, i, got, want);
}

/* v is the entry's "ntp" value, and its "wire" bytes are v on the wire. */
static void assert_ntp(json_t *obj, owp_num64 v, size_t i)
{
    ck_assert_msg(v == tu_json_hex64(obj, "ntp"), "entry %zu: ntp %016llx", i, (unsigned long long)v);
    uint8_t want[8], got[8];
    ck_assert_uint_eq(tu_json_hex(obj, "wire", want, sizeof want), 8);
    owp_put64(got, v);
    ck_assert_msg(memcmp(got, want, 8) == 0, "wire bytes differ in entry %zu", i);
}

/* ---------------------------------------------------------------- conversions */

static void check_timeval_to_ntp(json_t *e, size_t i)
{
    struct timeval tv = { .tv_sec = (time_t)int_member(e, "unix_sec"),
                          .tv_usec = (suseconds_t)int_member(e, "unix_usec") };
    owp_num64 ntp = owp_ntp_from_timeval(&tv);
    assert_ntp(e, ntp, i);
    ck_assert_msg(owp_num64_to_double(ntp) == real_member(e, "double"), "entry %zu: double", i);

    struct timeval back;
    owp_ntp_to_timeval(ntp, &back);
    ck_assert_int_eq((long long)back.tv_sec, int_member(e, "back_sec"));
    ck_assert_int_eq((long long)back.tv_usec, int_member(e, "back_usec"));
}

static void check_timespec_with_errest(json_t *e, size_t i)
{
    struct timespec ts = { .tv_sec = (time_t)int_member(e, "unix_sec"),
                           .tv_nsec = (long)int_member(e, "unix_nsec") };
    owp_num64 ntp = owp_ntp_from_timespec(&ts);
    assert_ntp(e, ntp, i);

    /* Truncation both ways loses at most 1 ns. */
    struct timespec back;
    owp_ntp_to_timespec(ntp, &back);
    ck_assert_int_eq((long long)back.tv_sec, (long long)ts.tv_sec);
    ck_assert_msg(ts.tv_nsec - back.tv_nsec >= 0 && ts.tv_nsec - back.tv_nsec <= 1, "entry %zu: nsec %ld", i,
                  back.tv_nsec);

    uint32_t usec = (uint32_t)int_member(e, "errest_usec");
    uint8_t want[2];
    ck_assert_uint_eq(tu_json_hex(e, "errest_wire", want, sizeof want), 2);
    uint16_t errest = owp_errest_from_usec(0, usec);
    ck_assert_msg(errest == owp_get16(want), "entry %zu: errest %04x", i, errest);
    ck_assert_int_eq(errest >> 8, int_member(e, "scale"));
    ck_assert_int_eq(errest & 0xFF, int_member(e, "multiplier"));
    ck_assert_uint_eq(owp_errest_encode(0, usec / 1e6), errest);
    ck_assert_uint_eq(owp_errest_from_usec(1, usec), errest | 0x8000);
    assert_close(owp_errest_seconds(errest), real_member(e, "error_seconds"), "error_seconds", i);
}

static void check_error_estimate_to_seconds(json_t *e, size_t i)
{
    uint16_t errest = (uint16_t)(int_member(e, "scale") << 8 | int_member(e, "multiplier"));
    assert_close(owp_errest_seconds(errest), real_member(e, "error_seconds"), "error_seconds", i);
    /* S and Z bits do not change the value. */
    assert_close(owp_errest_seconds(errest | 0xC000), real_member(e, "error_seconds"), "with S|Z", i);
}

static void check_double_to_num64(json_t *e, size_t i)
{
    owp_num64 v = owp_num64_from_double(real_member(e, "double"));
    ck_assert_msg(v == tu_json_hex64(e, "num64"), "entry %zu: %016llx", i, (unsigned long long)v);
    ck_assert_msg(owp_num64_to_double(v) == real_member(e, "back"), "entry %zu: back", i);
}

static void check_usec_to_num64(json_t *e, size_t i)
{
    uint64_t usec = (uint64_t)int_member(e, "usec");
    owp_num64 v = owp_num64_from_usec(usec);
    ck_assert_msg(v == tu_json_hex64(e, "num64"), "entry %zu: %016llx", i, (unsigned long long)v);
    /* Truncation loses at most one microsecond on the way back. */
    ck_assert_msg(usec - owp_num64_to_usec(v) <= 1, "entry %zu: back", i);
}

static void check_num64_multiply(json_t *e, size_t i)
{
    owp_num64 a = tu_json_hex64(e, "a"), b = tu_json_hex64(e, "b");
    ck_assert_msg(owp_num64_mul(a, b) == tu_json_hex64(e, "product"), "entry %zu", i);
    ck_assert_msg(owp_num64_mul(b, a) == tu_json_hex64(e, "product"), "entry %zu commuted", i);
}

/* Every array of timestamps.json and the check each of its entries must pass. */
static const tu_vector_check reference_vectors[] = {
    {TIMESTAMPS, "timeval_to_ntp", check_timeval_to_ntp},
    {TIMESTAMPS, "timespec_with_errest", check_timespec_with_errest},
    {TIMESTAMPS, "error_estimate_to_seconds", check_error_estimate_to_seconds},
    {TIMESTAMPS, "double_to_num64", check_double_to_num64},
    {TIMESTAMPS, "usec_to_num64", check_usec_to_num64},
    {TIMESTAMPS, "num64_multiply", check_num64_multiply},
};
#define N_REFERENCE_VECTORS (int)(sizeof reference_vectors / sizeof reference_vectors[0])

START_TEST(conversions_match_reference)
{
    tu_each_vector(&reference_vectors[_i]);
}
END_TEST

START_TEST(nsec_conversions_truncate)
{
    ck_assert_uint_eq(owp_num64_from_nsec(1000000000u), (owp_num64)1 << 32);
    ck_assert_uint_eq(owp_num64_from_nsec(1), 4); /* 4.29 truncated */
    ck_assert_uint_eq(owp_num64_to_nsec((owp_num64)1 << 32), 1000000000u);
    ck_assert_uint_eq(owp_num64_to_nsec(4), 0); /* 0.93 ns truncated */
    /* Large values do not overflow the intermediate product. */
    ck_assert_uint_eq(owp_num64_to_usec(UINT64_MAX), 4294967295999999ULL);
    ck_assert_uint_eq(owp_num64_from_nsec(4294967295000000000ULL), 0xFFFFFFFF00000000ULL);
}
END_TEST

START_TEST(hostile_doubles_saturate)
{
    ck_assert_uint_eq(owp_num64_from_double(-1.0), 0);
    ck_assert_uint_eq(owp_num64_from_double(NAN), 0);
    ck_assert_uint_eq(owp_num64_from_double(-INFINITY), 0);
    ck_assert_uint_eq(owp_num64_from_double(INFINITY), UINT64_MAX);
    ck_assert_uint_eq(owp_num64_from_double(1e30), UINT64_MAX);
    ck_assert_uint_eq(owp_num64_from_double(4294967295.5), 0xFFFFFFFF80000000ULL);
}
END_TEST

START_TEST(unnormalized_time_values)
{
    /* Out-of-range sub-second fields are carried into the seconds. */
    struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = -500000000 };
    struct timespec want = { .tv_sec = 1699999999, .tv_nsec = 500000000 };
    ck_assert_uint_eq(owp_ntp_from_timespec(&ts), owp_ntp_from_timespec(&want));
    struct timeval tv = { .tv_sec = 1, .tv_usec = 2500000 };
    struct timeval tvw = { .tv_sec = 3, .tv_usec = 500000 };
    ck_assert_uint_eq(owp_ntp_from_timeval(&tv), owp_ntp_from_timeval(&tvw));
    /* Before 1970 still lands in era 0. */
    struct timespec old = { .tv_sec = -2208988800LL, .tv_nsec = 0 };
    ck_assert_uint_eq(owp_ntp_from_timespec(&old), 0);
}
END_TEST

/* ---------------------------------------------------------------- error estimate */

START_TEST(errest_bits)
{
    ck_assert_uint_eq(owp_errest_encode(0, 0.0), OWP_ERREST_UNSYNC);
    ck_assert_uint_eq(owp_errest_from_usec(0, 0), OWP_ERREST_UNSYNC);
    ck_assert_int_eq(owp_errest_synchronized(0x8587), 1);
    ck_assert_int_eq(owp_errest_synchronized(0x0587), 0);
    ck_assert_int_eq(owp_errest_synchronized(0x4587), 0); /* Z bit is not S */
    ck_assert_int_eq(owp_errest_valid(0x0500), 0);
    ck_assert_int_eq(owp_errest_valid(0x8000), 0);
    ck_assert_int_eq(owp_errest_valid(0x0001), 1);
    /* The reference's "unknown" estimate decodes as 2^-32 s. */
    ck_assert(owp_errest_seconds(OWP_ERREST_UNSYNC) == ldexp(1.0, -32));
    /* Multiplier 0 decodes as 0 at every scale. */
    ck_assert(owp_errest_seconds(0x3F00) == 0.0);
}
END_TEST

START_TEST(errest_never_understates)
{
    /* Rounding up: the encoded error is at least the input, within 2x, for
     * errors from 1 ns to beyond a year. */
    for (double err = 1e-9; err < 1e8; err *= 1.37) {
        uint16_t e = owp_errest_encode(1, err);
        double back = owp_errest_seconds(e);
        ck_assert_msg(back >= err, "%g encoded as %04x = %g", err, e, back);
        ck_assert_msg(back <= 2 * err + 3e-10, "%g encoded as %04x = %g", err, e, back);
        ck_assert_int_eq(owp_errest_synchronized(e), 1);
        ck_assert_int_eq(owp_errest_valid(e), 1);
        ck_assert_int_eq(e & 0x4000, 0); /* Z stays clear */
    }
    /* Absurd errors saturate at the largest estimate that still decodes
     * (255 << 56 = 4278190080 s) instead of wrapping to nonsense. */
    uint16_t max = owp_errest_from_num64(0, UINT64_MAX);
    ck_assert_uint_eq(max, 56 << 8 | 0xFF);
    ck_assert(owp_errest_seconds(max) == 4278190080.0);
    ck_assert_uint_eq(owp_errest_encode(1, 1e30), 0x8000 | max);
    ck_assert_uint_eq(owp_errest_encode(1, INFINITY), 0x8000 | max);
    ck_assert_uint_eq(owp_errest_encode(1, NAN), 0x8001);
}
END_TEST

/* ---------------------------------------------------------------- report format */

/* owstats vectors were made with TZ=UTC. */
static void use_utc(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

static int line_value(const char *text, const char *key, char *out, size_t outlen)
{
    const char *p = text;
    size_t klen = strlen(key);
    while (p && *p) {
        if (strncmp(p, key, klen) == 0) {
            const char *v = p + klen;
            size_t n = strcspn(v, "\n");
            if (n >= outlen)
                return -1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static void check_pair(const char *dir, const char *summary_name)
{
    char path[4096], machine_path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, summary_name);
    snprintf(machine_path, sizeof machine_path, "%s/%.*s.machine.txt", dir,
             (int)(strlen(summary_name) - strlen(".summary.txt")), summary_name);
    char *summary = tu_read_file(path, NULL);
    char *machine = tu_read_file(machine_path, NULL);

    const char *keys[2][2] = { { "START_TIME\t", "first:\t" }, { "END_TIME\t", "last:\t" } };
    for (int k = 0; k < 2; k++) {
        char num[64], want[64], got[64];
        ck_assert_msg(line_value(machine, keys[k][0], num, sizeof num) == 0, "%s: no %s", machine_path,
                      keys[k][0]);
        ck_assert_msg(line_value(summary, keys[k][1], want, sizeof want) == 0, "%s: no %s", path, keys[k][1]);
        owp_ntp_format_local(strtoull(num, NULL, 10), got, sizeof got);
        ck_assert_msg(strcmp(got, want) == 0, "%s: %s formats as %s, reference %s", summary_name, num, got, want);
    }
    free(summary);
    free(machine);
}

START_TEST(format_matches_owstats_first_last)
{
    use_utc();
    char *dir = tu_vector_path("owstats");
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int pairs = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        size_t n = strlen(de->d_name);
        const char *suffix = ".summary.txt";
        if (n > strlen(suffix) && strcmp(de->d_name + n - strlen(suffix), suffix) == 0) {
            check_pair(dir, de->d_name);
            pairs++;
        }
    }
    closedir(d);
    free(dir);
    ck_assert_int_ge(pairs, 20);
}
END_TEST

START_TEST(format_rounds_like_reference)
{
    use_utc();
    char buf[64];
    /* 2026-11-23T07:17:40 UTC plus fractions. */
    owp_num64 base = (owp_num64)(1795418260ULL + OWP_NTP_UNIX_OFFSET) << 32;
    owp_ntp_format_local(base, buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-23T07:17:40.000");
    owp_ntp_format_local(base + owp_num64_from_nsec(999600000), buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-23T07:17:40.1000"); /* the reference's quirk */
    owp_ntp_format_local(base + owp_num64_from_nsec(312400000), buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-23T07:17:40.312");
    owp_ntp_format_local(base + owp_num64_from_nsec(1600000), buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-23T07:17:40.002");
    /* Local time follows TZ. */
    setenv("TZ", "EST5", 1);
    tzset();
    owp_ntp_format_local(base, buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-23T02:17:40.000");
}
END_TEST

START_TEST(format_respects_buffer_length)
{
    use_utc();
    char buf[8];
    memset(buf, 'Z', sizeof buf);
    owp_ntp_format_local(0, buf, 5);
    ck_assert_str_eq(buf, "2036");
    ck_assert_int_eq(buf[5], 'Z');
    owp_ntp_format_local(0, buf, 0); /* no write at all */
    ck_assert_str_eq(buf, "2036");
    owp_ntp_format_local(0, NULL, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timestamp");

    TCase *conv = tcase_create("conversions");
    tcase_add_loop_test(conv, conversions_match_reference, 0, N_REFERENCE_VECTORS);
    tcase_add_test(conv, nsec_conversions_truncate);
    tcase_add_test(conv, hostile_doubles_saturate);
    tcase_add_test(conv, unnormalized_time_values);
    suite_add_tcase(s, conv);

    TCase *errest = tcase_create("errest");
    tcase_add_test(errest, errest_bits);
    tcase_add_test(errest, errest_never_understates);
    suite_add_tcase(s, errest);

    TCase *format = tcase_create("format");
    tcase_add_test(format, format_matches_owstats_first_last);
    tcase_add_test(format, format_rounds_like_reference);
    tcase_add_test(format, format_respects_buffer_length);
    suite_add_tcase(s, format);

    return tu_run_suite(s);
}
