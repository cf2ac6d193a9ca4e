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

/* A secret key file open to group or others, or owned by another user, is
 * refused with the fix in the message; public keys are read from it still. */
START_TEST(unsafe_secret_file_refused)
{
    char *dir = tu_tempdir();
    char path[512], spath[512], key[OWM_CURVE_KEY_LEN + 1], fix[600];
    snprintf(path, sizeof path, "%s/coll", dir);
    snprintf(spath, sizeof spath, "%s/coll_secret", dir);
    snprintf(fix, sizeof fix, "(run: chmod 600 %s)", spath);
    owp_err e = {0};
    ck_assert_int_eq(owm_curve_generate(path, 0, NULL, key, &e), OWP_OK);
    static const mode_t unsafe[] = {0640, 0604, 0620, 0660, 0644};
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        ck_assert_int_eq(chmod(spath, unsafe[i]), 0);
        const char *given[] = {spath, path}; /* by its secret file, or by the public one */
        for (size_t g = 0; g < 2; g++) {
            owp_err_clear(&e);
            ck_assert_ptr_null(owm_curve_load(given[g], 1, &e));
            ck_assert_int_eq(e.code, OWP_ERR_REFUSED);
            ck_assert_msg(strstr(e.msg, "open to group or others") && strstr(e.msg, fix) &&
                              !strncmp(e.msg, spath, strlen(spath)),
                          "%s", e.msg);
        }
        /* only the public key is wanted: no secret is read, nothing to refuse */
        char pub[OWM_CURVE_KEY_LEN + 1];
        ck_assert_int_eq(owm_curve_public_key(spath, pub, &e), OWP_OK);
        ck_assert_str_eq(pub, key);
    }
    ck_assert_int_eq(chmod(spath, 0400), 0); /* read-only for us: fine */
    zcert_t *c = owm_curve_load(spath, 1, &e);
    ck_assert_msg(c != NULL, "%s", e.msg);
    zcert_destroy(&c);
    if (geteuid() == 0) { /* only root can give the file away */
        ck_assert_int_eq(chown(spath, 12345, 12345), 0);
        ck_assert_ptr_null(owm_curve_load(path, 1, &e));
        ck_assert_int_eq(e.code, OWP_ERR_REFUSED);
        ck_assert_msg(strstr(e.msg, "owned by uid 12345"), "%s", e.msg);
        ck_assert_int_eq(chown(spath, 0, 0), 0);
        c = owm_curve_load(path, 1, &e);
        ck_assert_msg(c != NULL, "%s", e.msg);
        zcert_destroy(&c);
    }
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
    tcase_add_test(tc, unsafe_secret_file_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(curve_suite());
}
