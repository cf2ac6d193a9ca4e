/* check_curve.c - CURVE certificate files (mesh/curve.c): generating a key
 * pair, loading it by its secret or public file, public keys by file or Z85
 * text, and refusing garbage and missing files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord_testutil.h"
#include "curve.h"
#include "testutil.h"

START_TEST(test_cert_files)
{
    char *dir = tu_tempdir();
    char path[512], spath[512], key[OWM_CURVE_KEY_LEN + 1], again[OWM_CURVE_KEY_LEN + 1];
    snprintf(path, sizeof path, "%s/node", dir);
    snprintf(spath, sizeof spath, "%s/node_secret", dir);
    owp_err e = {0};
    ck_assert_int_eq(owm_curve_generate(path, 0, "test node", key, &e), OWP_OK);
    ck_assert_int_eq(owm_curve_key_valid(key), 1);
    struct stat sb;
    ck_assert_int_eq(stat(spath, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    /* no silent overwrite */
    ck_assert_int_ne(owm_curve_generate(path, 0, NULL, again, &e), OWP_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "exists"));
    /* the secret file, or the public one plus NAME_secret */
    zcert_t *c1 = owm_curve_load(spath, 1, &e);
    zcert_t *c2 = owm_curve_load(path, 1, &e);
    ck_assert_ptr_nonnull(c1);
    ck_assert_ptr_nonnull(c2);
    ck_assert_str_eq(zcert_public_txt(c1), key);
    ck_assert_str_eq(zcert_secret_txt(c1), zcert_secret_txt(c2));
    zcert_destroy(&c1);
    zcert_destroy(&c2);
    ck_assert_int_eq(owm_curve_public_key(path, again, &e), OWP_OK);
    ck_assert_str_eq(again, key);
    ck_assert_int_eq(owm_curve_public_key(KEY_A, again, &e), OWP_OK);
    ck_assert_str_eq(again, KEY_A);
    /* only NAME_secret left: NAME still names the pair */
    char moved[520];
    snprintf(moved, sizeof moved, "%s.moved", path);
    ck_assert_int_eq(rename(path, moved), 0);
    c1 = owm_curve_load(path, 1, &e);
    ck_assert_msg(c1 != NULL, "%s", e.msg);
    ck_assert_str_eq(zcert_public_txt(c1), key);
    zcert_destroy(&c1);
    ck_assert_int_eq(rename(moved, path), 0);
    /* without its secret file, the public cert cannot be used as a key pair */
    unlink(spath);
    ck_assert_ptr_null(owm_curve_load(path, 1, &e));
    ck_assert_int_eq(e.code, OWP_ERR_SYS);
    /* garbage and missing files */
    FILE *fp = fopen(spath, "w");
    fputs("curve\n    public-key = \"short\"\n", fp);
    fclose(fp);
    ck_assert_ptr_null(owm_curve_load(spath, 1, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "curve/public-key"));
    ck_assert_ptr_null(owm_curve_load("/nonexistent/x", 0, &e));
    ck_assert_int_ne(owm_curve_public_key("not-a-key", again, &e), OWP_OK);
    unlink(spath);
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

static Suite *curve_suite(void)
{
    Suite *s = suite_create("curve");
    TCase *tc = tcase_create("cert");
    tcase_add_test(tc, test_cert_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(curve_suite());
}
