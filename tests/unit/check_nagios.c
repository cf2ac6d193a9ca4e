/*
 * check_nagios.c - the Nagios/Icinga plugin conventions of `owmesh status`
 * and `owmesh completeness` (collector/cli/nagios.c): thresholds as counts
 * or shares, the state a count of bad things gives, the worse of two
 * states, performance data and the plugin line.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "nagios.h"

static owmesh_threshold threshold(const char *text)
{
    owmesh_threshold t;
    owp_err err = {0};
    ck_assert_msg(owmesh_threshold_parse(text, "--warn", &t, &err) == OWP_OK, "%s: %s", text,
                  err.msg);
    return t;
}

START_TEST(threshold_parse)
{
    owmesh_threshold t = threshold("3");
    ck_assert(!t.percent && t.value == 3);
    t = threshold("25%");
    ck_assert(t.percent && t.value == 25);
    t = threshold("0.5%");
    ck_assert(t.percent && t.value == 0.5);
    static const char *const bad[] = {"", "0", "-1", "1.5", "0%", "101%", "x", "5%%", "3 ", "%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        owp_err err = {0};
        ck_assert_msg(owmesh_threshold_parse(bad[i], "--crit-nodes", &t, &err) != OWP_OK, "%s",
                      bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "--crit-nodes: bad threshold"));
    }
}
END_TEST

START_TEST(threshold_counts)
{
    owmesh_threshold t = threshold("25%");
    ck_assert_uint_eq(owmesh_threshold_count(&t, 4), 1);   /* a quarter of 4 */
    ck_assert_uint_eq(owmesh_threshold_count(&t, 12), 3);
    ck_assert_uint_eq(owmesh_threshold_count(&t, 13), 4);  /* 3.25 rounds up */
    ck_assert_uint_eq(owmesh_threshold_count(&t, 3), 1);
    ck_assert_uint_eq(owmesh_threshold_count(&t, 0), 1);   /* nothing bad is never a problem */
    t = threshold("100%");
    ck_assert_uint_eq(owmesh_threshold_count(&t, 6), 6);
    t = threshold("5");
    ck_assert_uint_eq(owmesh_threshold_count(&t, 2), 5);   /* a count, whatever the total */
}
END_TEST

START_TEST(states_from_counts)
{
    owmesh_threshold warn = threshold("1"), crit = threshold("25%");
    ck_assert_int_eq(owmesh_nagios_judge(0, 12, &warn, &crit), OWMESH_NAGIOS_OK);
    ck_assert_int_eq(owmesh_nagios_judge(1, 12, &warn, &crit), OWMESH_NAGIOS_WARNING);
    ck_assert_int_eq(owmesh_nagios_judge(2, 12, &warn, &crit), OWMESH_NAGIOS_WARNING);
    ck_assert_int_eq(owmesh_nagios_judge(3, 12, &warn, &crit), OWMESH_NAGIOS_CRITICAL);
    ck_assert_int_eq(owmesh_nagios_judge(1, 3, &warn, &crit), OWMESH_NAGIOS_CRITICAL);
    ck_assert_int_eq(owmesh_nagios_judge(0, 0, &warn, &crit), OWMESH_NAGIOS_OK);
    /* plugin return codes */
    ck_assert_int_eq(OWMESH_NAGIOS_OK, 0);
    ck_assert_int_eq(OWMESH_NAGIOS_WARNING, 1);
    ck_assert_int_eq(OWMESH_NAGIOS_CRITICAL, 2);
    ck_assert_int_eq(OWMESH_NAGIOS_UNKNOWN, 3);
    ck_assert_int_eq(owmesh_nagios_worse(OWMESH_NAGIOS_WARNING, OWMESH_NAGIOS_CRITICAL),
                     OWMESH_NAGIOS_CRITICAL);
    ck_assert_int_eq(owmesh_nagios_worse(OWMESH_NAGIOS_UNKNOWN, OWMESH_NAGIOS_CRITICAL),
                     OWMESH_NAGIOS_UNKNOWN);
    ck_assert_int_eq(owmesh_nagios_worse(OWMESH_NAGIOS_OK, OWMESH_NAGIOS_OK), OWMESH_NAGIOS_OK);
    ck_assert_str_eq(owmesh_nagios_name(OWMESH_NAGIOS_CRITICAL), "CRITICAL");
    ck_assert_str_eq(owmesh_nagios_name(OWMESH_NAGIOS_UNKNOWN), "UNKNOWN");
}
END_TEST

START_TEST(perfdata_and_line)
{
    char perf[256] = "";
    owmesh_perf_append(perf, sizeof perf, "nodes_up", 12, NULL, 0, 0, 12);
    /* alert at 1 and at 3 missing: Nagios ranges "0" and "2" (alert above) */
    owmesh_perf_append(perf, sizeof perf, "nodes_missing", 0, NULL, 1, 3, 12);
    owmesh_perf_append(perf, sizeof perf, "coverage", 99.5, "%", 0, 0, 100);
    owmesh_perf_append(perf, sizeof perf, "streams", 4, NULL, 0, 0, -1);
    ck_assert_str_eq(perf, "nodes_up=12;;;0;12 nodes_missing=0;0;2;0;12 coverage=99.5%;;;0;100 "
                           "streams=4;;;0;");
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    owmesh_nagios_print(fp, "STATUS", OWMESH_NAGIOS_OK, "12 of 12 nodes up", "nodes_up=12;;;0;12");
    owmesh_nagios_print(fp, "STATUS", OWMESH_NAGIOS_UNKNOWN, "a | b\nc", NULL);
    fclose(fp);
    /* one line each; '|' in the text would start the performance data */
    ck_assert_str_eq(buf, "OWMESH STATUS OK - 12 of 12 nodes up | nodes_up=12;;;0;12\n"
                          "OWMESH STATUS UNKNOWN - a / b c\n");
    free(buf);
}
END_TEST

static Suite *nagios_suite(void)
{
    Suite *s = suite_create("nagios");
    TCase *tc = tcase_create("thresholds");
    tcase_add_test(tc, threshold_parse);
    tcase_add_test(tc, threshold_counts);
    tcase_add_test(tc, states_from_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("output");
    tcase_add_test(tc, perfdata_and_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nagios_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
