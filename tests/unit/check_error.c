/* check_error.c - owp_err: codes travel with their messages. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

START_TEST(set_returns_code_and_formats)
{
    owp_err e;
    ck_assert_int_eq(owp_err_set(&e, OWP_ERR_PARSE, "%s:%d: bad", "f.conf", 3), OWP_ERR_PARSE);
    ck_assert_int_eq(e.code, OWP_ERR_PARSE);
    ck_assert_str_eq(e.msg, "f.conf:3: bad");
}
END_TEST

START_TEST(null_err_is_allowed)
{
    ck_assert_int_eq(owp_err_set(NULL, OWP_ERR_PROTO, "x"), OWP_ERR_PROTO);
}
END_TEST

START_TEST(sys_appends_strerror)
{
    owp_err e;
    errno = ENOENT;
    ck_assert_int_eq(owp_err_sys(&e, "open %s", "/nope"), OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(e.msg, "open /nope: "));
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOENT)));
}
END_TEST

START_TEST(prefix_adds_context)
{
    owp_err e;
    owp_err_set(&e, OWP_ERR_TIMEOUT, "no reply");
    owp_err_prefix(&e, "peer %s", "127.0.0.1:861");
    ck_assert_str_eq(e.msg, "peer 127.0.0.1:861: no reply");
    ck_assert_int_eq(e.code, OWP_ERR_TIMEOUT);
}
END_TEST

START_TEST(long_messages_truncate_safely)
{
    owp_err e;
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    owp_err_set(&e, OWP_ERR_PARSE, "%s", big);
    ck_assert_uint_eq(strlen(e.msg), OWP_ERR_MSG_MAX - 1);
    owp_err_prefix(&e, "ctx");
    ck_assert_uint_eq(strlen(e.msg), OWP_ERR_MSG_MAX - 1);
    ck_assert_str_ne(owp_status_name(OWP_ERR_CLOSED), "unknown error");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, set_returns_code_and_formats);
    tcase_add_test(tc, null_err_is_allowed);
    tcase_add_test(tc, sys_appends_strerror);
    tcase_add_test(tc, prefix_adds_context);
    tcase_add_test(tc, long_messages_truncate_safely);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
