/* check_clock.c - the clock module (clock.h): the debug time offset, the
 * kernel's synchronisation state as an error estimate, and owp_clock_now
 * from many threads at once. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "clock.h"
#include "testutil.h"
#include "timestamp.h"

static owp_status init_with_offset(const char *value, owp_err *err)
{
    if (value)
        setenv("OWAMP_DEBUG_TIMEOFFSET", value, 1);
    else
        unsetenv("OWAMP_DEBUG_TIMEOFFSET");
    return owp_clock_init(err);
}

static const struct timespec kernel_ts = { .tv_sec = 1795418192, .tv_nsec = 101069000 };

START_TEST(clock_without_offset)
{
    owp_err err;
    ck_assert_int_eq(init_with_offset(NULL, &err), OWP_OK);
    uint16_t errest = 0;
    ck_assert_uint_eq(owp_clock_from_kernel(&kernel_ts, &errest), 0xeeae66d019dfa871ULL);
    ck_assert_int_eq(owp_errest_valid(errest), 1);

    struct timespec before, after;
    clock_gettime(CLOCK_REALTIME, &before);
    owp_num64 now = owp_clock_now(NULL);
    clock_gettime(CLOCK_REALTIME, &after);
    ck_assert_uint_ge(now, owp_ntp_from_timespec(&before));
    ck_assert_uint_le(now, owp_ntp_from_timespec(&after));
}
END_TEST

START_TEST(clock_applies_offset)
{
    owp_err err;
    ck_assert_int_eq(init_with_offset("1.5", &err), OWP_OK);
    struct timespec shifted = { .tv_sec = kernel_ts.tv_sec + 1, .tv_nsec = kernel_ts.tv_nsec + 500000000 };
    ck_assert_uint_eq(owp_clock_from_kernel(&kernel_ts, NULL), owp_ntp_from_timespec(&shifted));

    /* Negative offsets borrow from the seconds. */
    ck_assert_int_eq(init_with_offset("-0.25", &err), OWP_OK);
    struct timespec earlier = { .tv_sec = kernel_ts.tv_sec - 1, .tv_nsec = kernel_ts.tv_nsec + 750000000 };
    ck_assert_uint_eq(owp_clock_from_kernel(&kernel_ts, NULL), owp_ntp_from_timespec(&earlier));

    /* The offset is truncated to whole microseconds like the reference's. */
    ck_assert_int_eq(init_with_offset("0.0000019", &err), OWP_OK);
    struct timespec plus_1us = { .tv_sec = kernel_ts.tv_sec, .tv_nsec = kernel_ts.tv_nsec + 1000 };
    ck_assert_uint_eq(owp_clock_from_kernel(&kernel_ts, NULL), owp_ntp_from_timespec(&plus_1us));

    /* owp_clock_now sees the offset too (100 s is far beyond scheduling noise). */
    ck_assert_int_eq(init_with_offset("100", &err), OWP_OK);
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    owp_num64 diff = owp_clock_now(NULL) - owp_ntp_from_timespec(&real);
    ck_assert_uint_ge(diff, (owp_num64)100 << 32);
    ck_assert_uint_lt(diff, (owp_num64)101 << 32);

    /* Re-init without the variable clears it. */
    ck_assert_int_eq(init_with_offset(NULL, &err), OWP_OK);
    ck_assert_uint_eq(owp_clock_from_kernel(&kernel_ts, NULL), owp_ntp_from_timespec(&kernel_ts));
}
END_TEST

START_TEST(clock_rejects_bad_offsets)
{
    const char *bad[] = { "abc", "1.5x", "", " ", "1.5 ", "nan", "inf", "-inf", "1e400", "5e9", "0x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        owp_err err;
        char want[128];
        ck_assert_msg(init_with_offset(bad[i], &err) == OWP_ERR_PARSE, "\"%s\" accepted", bad[i]);
        snprintf(want, sizeof want, "Invalid OWAMP_DEBUG_TIMEOFFSET env var: %s", bad[i]);
        ck_assert_str_eq(err.msg, want);
        ck_assert_int_eq(err.code, OWP_ERR_PARSE);
    }
    /* NULL err is fine; strtod syntax such as exponents and hex is accepted. */
    ck_assert_int_eq(init_with_offset("zzz", NULL), OWP_ERR_PARSE);
    ck_assert_int_eq(init_with_offset("-1e-3", NULL), OWP_OK);
    ck_assert_int_eq(init_with_offset("0x10", NULL), OWP_OK);
}
END_TEST

START_TEST(clock_state_is_consistent)
{
    ck_assert_int_eq(init_with_offset(NULL, NULL), OWP_OK);
    uint16_t errest = owp_clock_errest();
    ck_assert_int_eq(owp_errest_valid(errest), 1);
    ck_assert_int_eq(errest & 0x4000, 0);
    int sync = owp_clock_synchronized();
    ck_assert_int_eq(sync, owp_errest_synchronized(errest));
    const char *warning = owp_clock_warning();
    if (sync) {
        ck_assert_ptr_null(warning);
    } else {
        /* Unsynchronized (or kernel state unreadable): exactly the reference's 0x0001. */
        ck_assert_uint_eq(errest, OWP_ERREST_UNSYNC);
        ck_assert_ptr_nonnull(warning);
        ck_assert_ptr_nonnull(strstr(warning, "unsynchronized"));
        ck_assert_ptr_null(strchr(warning, '\n'));
    }
    uint16_t from_now = 0;
    owp_clock_now(&from_now);
    ck_assert_int_eq(owp_errest_synchronized(from_now), sync);
}
END_TEST

START_TEST(clock_encodes_kernel_state)
{
    /* Unsynchronized: the reference's 0x0001 whatever the error fields say. */
    ck_assert_uint_eq(owp_clock_errest_for_state(STA_UNSYNC, 16000000, 16000000), OWP_ERREST_UNSYNC);
    ck_assert_uint_eq(owp_clock_errest_for_state(STA_UNSYNC | STA_NANO | STA_PLL, 5, 5), OWP_ERREST_UNSYNC);
    /* Synchronized: S set, esterror + maxerror microseconds (1000 us -> 0f84). */
    ck_assert_uint_eq(owp_clock_errest_for_state(STA_PLL, 100, 900), 0x8f84);
    /* STA_NANO present or absent makes no difference. */
    ck_assert_uint_eq(owp_clock_errest_for_state(STA_PLL | STA_NANO, 100, 900), 0x8f84);
    ck_assert_uint_eq(owp_clock_errest_for_state(0, 1, 0), 0x8587);
    /* Never claims perfection, ignores negative fields, saturates. */
    ck_assert_uint_eq(owp_clock_errest_for_state(0, 0, 0), 0x8587);
    ck_assert_uint_eq(owp_clock_errest_for_state(0, -5, -7), 0x8587);
    ck_assert_uint_eq(owp_clock_errest_for_state(0, 4294967295L, 4294967295L), owp_errest_from_usec(1, UINT32_MAX));
}
END_TEST

START_TEST(clock_works_without_init)
{
    /* A program that never calls init still gets time and an estimate. */
    uint16_t errest = 0;
    ck_assert_uint_ne(owp_clock_now(&errest), 0);
    ck_assert_int_eq(owp_errest_valid(errest), 1);
}
END_TEST

#define CLOCK_THREADS 8
#define CLOCK_CALLS 20000

static void *hammer_clock(void *arg)
{
    uint16_t *seen = arg;
    for (int i = 0; i < CLOCK_CALLS; i++) {
        uint16_t e;
        if (owp_clock_now(&e) == 0 || !owp_errest_valid(e))
            *seen = 0;
        if (i == CLOCK_CALLS - 1 && *seen)
            *seen = e;
    }
    return NULL;
}

START_TEST(clock_is_thread_safe)
{
    ck_assert_int_eq(init_with_offset(NULL, NULL), OWP_OK);
    pthread_t threads[CLOCK_THREADS];
    uint16_t seen[CLOCK_THREADS];
    for (int i = 0; i < CLOCK_THREADS; i++) {
        seen[i] = 1;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hammer_clock, &seen[i]), 0);
    }
    for (int i = 0; i < CLOCK_THREADS; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_msg(owp_errest_valid(seen[i]), "thread %d saw an invalid estimate or time", i);
    }
}
END_TEST
int main(void)
{
    Suite *s = suite_create("clock");
    TCase *clock = tcase_create("clock");
    tcase_add_test(clock, clock_without_offset);
    tcase_add_test(clock, clock_applies_offset);
    tcase_add_test(clock, clock_rejects_bad_offsets);
    tcase_add_test(clock, clock_state_is_consistent);
    tcase_add_test(clock, clock_encodes_kernel_state);
    tcase_add_test(clock, clock_works_without_init);
    tcase_add_test(clock, clock_is_thread_safe);
    suite_add_tcase(s, clock);
    return tu_run_suite(s);
}
