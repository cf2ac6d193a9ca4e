/* check_tools_opts.c - the conventions node/tools' programs share
 * (client_opts.h): -h/--help answered with the usage on stdout, --version
 * with the version, an unknown option with the usage on stderr (the
 * reference's), all before the program does anything else. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_opts.h"

static FILE *usage_out;
static int usage_calls;

static void record_usage(FILE *out, const char *msg)
{
    (void)msg;
    usage_out = out;
    usage_calls++;
}

START_TEST(convention_options)
{
    usage_calls = 0;
    ck_assert_int_eq(tools_convention_opt('h', "owping", record_usage), 0);
    ck_assert_int_eq(usage_calls, 1);
    ck_assert_ptr_eq(usage_out, stdout);
    ck_assert_int_eq(tools_convention_opt('c', "owping", record_usage), -1);
    ck_assert_int_eq(tools_convention_opt('?', "owping", record_usage), -1);
    ck_assert_int_eq(usage_calls, 1);
}
END_TEST

START_TEST(version_text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    tools_print_version(out, "owstats");
    fclose(out);
    ck_assert_str_eq(buf, "owstats (owmesh) " PACKAGE_VERSION "\n"
                          "a drop-in for owstats of perfSONAR owamp " OWAMP_COMPAT_VERSION "\n");
    free(buf);
}
END_TEST

/* tools_prog_getopt on argv; its result. */
static int getopt_on(int argc, char **argv)
{
    tools_conn_opts conn;
    tools_conn_opts_init(&conn);
    usage_calls = 0;
    usage_out = NULL;
    optind = 0; /* a fresh scan (glibc) */
    return tools_prog_getopt(argc, argv, &conn, NULL, "owup", record_usage);
}

START_TEST(getopt_answers_conventions)
{
    char p[] = "owup", h[] = "-h", help[] = "--help", ver[] = "--version", bad[] = "-Y",
         host[] = "127.0.0.1", four[] = "-4";
    char *a1[] = {p, help, NULL};
    ck_assert_int_eq(getopt_on(2, a1), 0);
    ck_assert_ptr_eq(usage_out, stdout);
    char *a2[] = {p, four, h, host, NULL}; /* after other options too */
    ck_assert_int_eq(getopt_on(4, a2), 0);
    ck_assert_ptr_eq(usage_out, stdout);
    char *a3[] = {p, bad, NULL};
    ck_assert_int_eq(getopt_on(2, a3), 0);
    ck_assert_ptr_eq(usage_out, stderr);
    /* --version: printed on stdout, no usage; silence stdout meanwhile */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    ck_assert(freopen("/dev/null", "w", stdout) != NULL);
    char *a4[] = {p, ver, NULL};
    int r = getopt_on(2, a4);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(usage_calls, 0);
    /* operands only: go on (-1) with optind at the operand */
    char *a5[] = {p, host, NULL};
    ck_assert_int_eq(getopt_on(2, a5), -1);
    ck_assert_int_eq(optind, 1);
    ck_assert_int_eq(usage_calls, 0);
}
END_TEST

/* The test options owping and twping share: defaults, the -D rule only
 * owping keeps, -s cut down, -c 0 refused; usage is what reports errors. */
START_TEST(test_options_shared)
{
    tools_test_opts o;
    ck_assert_int_eq(tools_test_opts_init(&o, record_usage), 0);
    ck_assert_uint_eq(o.count, 100);
    ck_assert_int_eq(o.dscp, -1);
    usage_calls = 0;
    ck_assert_int_eq(tools_test_opts_parse(&o, 'D', "ef", "twping", record_usage), 1);
    ck_assert_int_eq(tools_test_opts_parse(&o, 'D', "cs1", "twping", record_usage), 1);
    ck_assert_int_eq(o.dscp, 8);
    o.dscp_once = 1; /* owping: a second -D after a non-zero one is refused */
    ck_assert_int_eq(tools_test_opts_parse(&o, 'D', "ef", "owping", record_usage), -1);
    ck_assert_int_eq(usage_calls, 1);
    ck_assert_int_eq(tools_test_opts_parse(&o, 's', "70000", "owping", record_usage), 1);
    ck_assert_uint_eq(o.padding, TOOLS_TEST_MAX_PADDING);
    ck_assert_int_eq(o.padding_set, 1);
    ck_assert_int_eq(tools_test_opts_parse(&o, 'c', "0", "owping", record_usage), -1);
    ck_assert_int_eq(tools_test_opts_parse(&o, 'L', "-1", "owping", record_usage), -1);
    ck_assert_int_eq(tools_test_opts_parse(&o, 'z', "2.5", "owping", record_usage), 1);
    ck_assert(o.delay_start == 2.5);
    ck_assert_int_eq(tools_test_opts_parse(&o, 'i', "0.1,0.2f", "owping", record_usage), 1);
    ck_assert_uint_eq(o.nslots, 2);
    ck_assert_int_eq(tools_test_opts_parse(&o, 'E', "1", "owping", record_usage), 0);
    tools_test_opts_clear(&o);
    ck_assert_ptr_null(o.slots);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tools_opts");
    TCase *tc = tcase_create("conventions");
    tcase_add_test(tc, convention_options);
    tcase_add_test(tc, version_text);
    tcase_add_test(tc, getopt_answers_conventions);
    tcase_add_test(tc, test_options_shared);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
