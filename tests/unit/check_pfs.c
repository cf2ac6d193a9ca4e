/* check_pfs.c - pass-phrase store files: the lab file, pfstore's vector
 * format, strict-loader errors with PATH:LINE, client lookup, editing. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pfs.h"
#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void assert_key(const owp_pfs *s, const char *id, const char *want)
{
    size_t len = 0;
    const uint8_t *k = owp_pfs_lookup(s, id, &len);
    ck_assert_msg(k != NULL, "identity %s missing", id);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(k, want, len) == 0);
}

/* ------------------------------------------------------------ vectors */

START_TEST(lab_file_loads)
{
    char *path = tu_vector_path("lab/owampd.pfs");
    owp_err e;
    owp_pfs *s = owp_pfs_load(path, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_uint_eq(owp_pfs_count(s), 1);
    assert_key(s, "alice", "correct horse");
    ck_assert_ptr_null(owp_pfs_lookup(s, "al", NULL));    /* exact match only */
    ck_assert_ptr_null(owp_pfs_lookup(s, "alice2", NULL));
    ck_assert_ptr_null(owp_pfs_lookup(s, "Alice", NULL));
    owp_pfs_destroy(&s);
    ck_assert_ptr_null(s);
    owp_pfs_destroy(&s); /* NULL is fine */
    owp_pfs_destroy(NULL);
    free(path);
}
END_TEST

START_TEST(pfstore_vector_reads_and_writes_byte_identical)
{
    json_t *v = tu_load_json("pfstore/pfstore.json");
    const char *contents = json_string_value(json_object_get(v, "file_contents"));
    json_t *entries = json_object_get(v, "entries");
    ck_assert_ptr_nonnull(contents);
    ck_assert_uint_eq(json_array_size(entries), 5);

    /* Read pfstore's file. */
    char *in = tu_write_file(tu_dir, "pfstore.pfs", contents);
    owp_err e;
    owp_pfs *s = owp_pfs_load(in, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_uint_eq(owp_pfs_count(s), 5);

    /* Build the same file from scratch the way pfstore -n + sets would. */
    owp_pfs *built = owp_pfs_new();
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *ent = json_array_get(entries, i);
        const char *id = json_string_value(json_object_get(ent, "identity"));
        const char *pp = json_string_value(json_object_get(ent, "passphrase"));
        assert_key(s, id, pp);
        ck_assert_int_eq(owp_pfs_set(built, id, (const uint8_t *)pp, strlen(pp), &e), OWP_OK);
    }
    char out[4096];
    snprintf(out, sizeof out, "%s/built.pfs", tu_dir);
    ck_assert_int_eq(owp_pfs_save(out, built, &e), OWP_OK);
    size_t len;
    char *got = tu_read_file(out, &len);
    ck_assert_str_eq(got, contents);
    ck_assert_uint_eq(len, strlen(contents));

    /* Each entry's line matches its pfs_line. */
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const char *line =
            json_string_value(json_object_get(json_array_get(entries, i), "pfs_line"));
        char want[256];
        snprintf(want, sizeof want, "%s\n", line);
        ck_assert_ptr_nonnull(strstr(got, want));
    }
    /* And re-saving the loaded store changes nothing either. */
    ck_assert_int_eq(owp_pfs_save(out, s, &e), OWP_OK);
    free(got);
    got = tu_read_file(out, NULL);
    ck_assert_str_eq(got, contents);

    free(got);
    free(in);
    owp_pfs_destroy(&s);
    owp_pfs_destroy(&built);
    json_decref(v);
}
END_TEST

/* ------------------------------------------------------------ strict syntax */

START_TEST(accepted_syntax)
{
    const char *text = "# leading comment\n"
                       "   # indented comment\n"
                       "\n"
                       "  \t \n"
                       "alice\t636f727265637420686f727365\n"
                       "bob    74657374   \t\n"               /* several blanks, trailing blanks */
                       "carol 7040737320773072642\x31\r\n"    /* CRLF */
                       "DAVE\t4142\n"                         /* identities are case-sensitive */
                       "upper\tC3A9\n"                        /* upper-case hex */
                       "eve\t78";                             /* no final newline */
    char *p = tu_write_file(tu_dir, "ok.pfs", text);
    owp_err e;
    owp_pfs *s = owp_pfs_load(p, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_uint_eq(owp_pfs_count(s), 6);
    assert_key(s, "alice", "correct horse");
    assert_key(s, "bob", "test");
    assert_key(s, "carol", "p@ss w0rd!");
    assert_key(s, "DAVE", "AB");
    assert_key(s, "upper", "\xc3\xa9");
    assert_key(s, "eve", "x");
    ck_assert_ptr_null(owp_pfs_lookup(s, "dave", NULL));
    owp_pfs_destroy(&s);
    free(p);
}
END_TEST

START_TEST(broken_files_name_path_and_line)
{
    static const struct {
        const char *text;
        int line;
        const char *why;
    } bad[] = {
        {" alice 6162\n", 1, "Leading spaces not allowed"},
        {"# c\n\n\tbob 6162\n", 3, "Leading spaces not allowed"},
        {"alice\n", 1, "missing pass-phrase"},
        {"alice\t\n", 1, "missing pass-phrase"},
        {"ok 61\nalice 616\n", 2, "odd number of hex digits"},
        {"alice 61zz\n", 1, "not hex"},
        {"alice 0x61\n", 1, "not hex"},
        {"alice 6162 # comment\n", 1, "unexpected text after the pass-phrase"},
        {"alice 6162 x\n", 1, "unexpected text after the pass-phrase"},
        {"# a\n\nalice 6162\nbob 61\nalice 63\n", 5, "username \"alice\" duplicated (first defined on line 3)"},
        {"x 61\n\n\n\n\n\n\n\n\n\n\n\nbad\n", 13, "missing pass-phrase"},
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char *p = tu_write_file(tu_dir, "bad.pfs", bad[i].text);
        owp_err e;
        owp_pfs *s = owp_pfs_load(p, &e);
        ck_assert_msg(s == NULL, "case %zu accepted", i);
        ck_assert_int_eq(e.code, OWP_ERR_PARSE);
        tu_assert_error_at(e.msg, p, bad[i].line, bad[i].why, i);
        free(p);
    }
    /* A NUL byte inside an entry. */
    char *p = tu_write_file_n(tu_dir, "nul.pfs", "a 61\nb 6\0002\n", 11);
    owp_err e;
    ck_assert_ptr_null(owp_pfs_load(p, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, ":2: NUL byte"));
    free(p);
}
END_TEST

START_TEST(missing_file_is_enoent)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/absent.pfs", tu_dir);
    owp_err e;
    errno = 0;
    ck_assert_ptr_null(owp_pfs_load(p, &e));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(e.code, OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(e.msg, "Unable to open"));
    ck_assert_ptr_null(owp_pfs_load(NULL, &e));
    ck_assert_uint_eq(owp_pfs_count(NULL), 0);
    ck_assert_ptr_null(owp_pfs_lookup(NULL, "x", NULL));
}
END_TEST

START_TEST(hostile_bytes_never_crash)
{
    /* Deterministic garbage: random bytes biased toward the syntax's
     * characters. Any result is fine as long as it is consistent. */
    static const char alphabet[] = "ab0f9 \t\n#\r\\\x01\xff";
    uint32_t x = 12345;
    char buf[512];
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t)(round % 97) * 5;
        tu_fill_garbage(buf, n, alphabet, &x);
        char *p = tu_write_file_n(tu_dir, "junk.pfs", buf, n);
        owp_err e;
        owp_pfs *s = owp_pfs_load(p, &e);
        if (s) {
            ck_assert_int_eq(owp_pfs_save(p, s, &e), OWP_OK);
            owp_pfs *again = owp_pfs_load(p, &e);
            ck_assert_ptr_nonnull(again);
            ck_assert_uint_eq(owp_pfs_count(again), owp_pfs_count(s));
            owp_pfs_destroy(&again);
        }
        owp_pfs_destroy(&s);
        uint8_t out[64];
        size_t len;
        (void)owp_pfs_find_in_file(p, "ab", out, sizeof out, &len, &e);
        owp_pfs *ed = owp_pfs_load_for_edit(p, "ab", &e);
        owp_pfs_destroy(&ed);
        free(p);
    }
}
END_TEST

/* ------------------------------------------------------------ client lookup */

START_TEST(find_in_file_tolerant_exact)
{
    const char *text = "  junk line before\n"
                       "bob 7465737\n"           /* malformed, but not the one we want */
                       "alice 636f727265637420686f727365 # trailing junk ignored for others\n"
                       "al 6869\n"
                       "alice\t78\n";            /* later duplicate: first match wins */
    char *p = tu_write_file(tu_dir, "client.pfs", text);
    uint8_t out[64];
    size_t len = 0;
    owp_err e;
    /* "alice"'s first line is malformed (trailing text): that is its error. */
    ck_assert_int_eq(owp_pfs_find_in_file(p, "alice", out, sizeof out, &len, &e), OWP_ERR_PARSE);
    char want[4200];
    snprintf(want, sizeof want, "%s:3: unexpected text", p);
    ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "%s", e.msg);
    /* "al" matches exactly its own line and never "alice" (reference bug). */
    ck_assert_int_eq(owp_pfs_find_in_file(p, "al", out, sizeof out, &len, &e), OWP_OK);
    ck_assert_uint_eq(len, 2);
    ck_assert(memcmp(out, "hi", 2) == 0);
    free(p);

    p = tu_write_file(tu_dir, "client2.pfs",
                      "bob zz\nalice\t636f727265637420686f727365\nalice 78\n");
    ck_assert_int_eq(owp_pfs_find_in_file(p, "alice", out, sizeof out, &len, &e), OWP_OK);
    ck_assert_uint_eq(len, 13);
    ck_assert(memcmp(out, "correct horse", 13) == 0);
    ck_assert_int_eq(owp_pfs_find_in_file(p, "ali", out, sizeof out, &len, &e), OWP_ERR_INVALID);
    snprintf(want, sizeof want, "Unable to find pass-phrase for id=\"ali\" from pffile=\"%s\"", p);
    ck_assert_str_eq(e.msg, want);
    /* Too small a buffer is an error naming the line, never an overflow. */
    ck_assert_int_eq(owp_pfs_find_in_file(p, "alice", out, 12, &len, &e), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, ":2: pass-phrase of 13 bytes"));
    /* The malformed matching line is reported. */
    ck_assert_int_eq(owp_pfs_find_in_file(p, "bob", out, sizeof out, &len, &e), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, ":1: pass-phrase is not hex"));
    free(p);

    char absent[4096];
    snprintf(absent, sizeof absent, "%s/none.pfs", tu_dir);
    ck_assert_int_eq(owp_pfs_find_in_file(absent, "alice", out, sizeof out, &len, &e),
                     OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(e.msg, "Unable to open"));
    ck_assert_int_eq(owp_pfs_find_in_file(NULL, "alice", out, sizeof out, &len, &e),
                     OWP_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ editing */

START_TEST(edit_keeps_other_lines_verbatim)
{
    const char *text = "# owampd pass-phrases\n"
                       "\n"
                       "alice  636f727265637420686f727365\n"
                       "bob 74657374\n"
                       "  stray text kept as is\n"
                       "bob 7878\n"
                       "carol 7040\n";
    char *p = tu_write_file(tu_dir, "edit.pfs", text);
    owp_err e;
    owp_pfs *s = owp_pfs_load_for_edit(p, "bob", &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    assert_key(s, "bob", "test");
    assert_key(s, "alice", "correct horse");

    ck_assert_int_eq(owp_pfs_set(s, "bob", (const uint8_t *)"new", 3, &e), OWP_OK);
    ck_assert_int_eq(owp_pfs_set(s, "dave", (const uint8_t *)"x", 1, &e), OWP_OK);
    ck_assert_int_eq(owp_pfs_remove(s, "carol", &e), OWP_OK);
    ck_assert_int_eq(owp_pfs_remove(s, "carol", &e), OWP_ERR_INVALID);
    ck_assert_str_eq(e.msg, "Identity 'carol' not found");
    ck_assert_int_eq(owp_pfs_save(p, s, &e), OWP_OK);
    char *got = tu_read_file(p, NULL);
    ck_assert_str_eq(got, "# owampd pass-phrases\n"
                          "\n"
                          "alice  636f727265637420686f727365\n"
                          "bob\t6e6577\n"
                          "  stray text kept as is\n"
                          "bob 7878\n"
                          "dave\t78\n");
    free(got);
    owp_pfs_destroy(&s);

    /* The file has a stray line, so owampd's strict loader refuses it... */
    ck_assert_ptr_null(owp_pfs_load(p, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, ":5: Leading spaces"));
    /* ...and editing an identity whose own line is malformed fails too. */
    ck_assert_ptr_null(owp_pfs_load_for_edit(p, "stray", &e));
    ck_assert_ptr_nonnull(strstr(e.msg, ":5: Leading spaces"));
    ck_assert_ptr_null(owp_pfs_load_for_edit(p, NULL, &e));
    free(p);
}
END_TEST

START_TEST(set_validates_identity_and_passphrase)
{
    owp_pfs *s = owp_pfs_new();
    owp_err e;
    char longid[100];
    memset(longid, 'u', 81);
    longid[81] = '\0';
    static const char *bad_ids[] = {"", "a b", "tab\tid", "#hash", "nl\n"};
    for (size_t i = 0; i < N_ELEMS(bad_ids); i++)
        ck_assert_msg(owp_pfs_set(s, bad_ids[i], (const uint8_t *)"x", 1, &e) == OWP_ERR_INVALID,
                      "\"%s\" accepted", bad_ids[i]);
    ck_assert_int_eq(owp_pfs_set(s, longid, (const uint8_t *)"x", 1, &e), OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(e.msg, "at most 80"));
    longid[80] = '\0';
    ck_assert_int_eq(owp_pfs_set(s, longid, (const uint8_t *)"x", 1, &e), OWP_OK);
    ck_assert_int_eq(owp_pfs_set(s, "alice", (const uint8_t *)"", 0, &e), OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(e.msg, "empty pass-phrase"));
    ck_assert_int_eq(owp_pfs_set(s, NULL, (const uint8_t *)"x", 1, &e), OWP_ERR_INVALID);
    ck_assert_uint_eq(owp_pfs_count(s), 1);
    /* Binary pass-phrases round-trip. */
    const uint8_t bin[] = {0, 1, 0xfe, 0xff, '\n', '#'};
    ck_assert_int_eq(owp_pfs_set(s, "bin", bin, sizeof bin, &e), OWP_OK);
    char p[4096];
    snprintf(p, sizeof p, "%s/bin.pfs", tu_dir);
    ck_assert_int_eq(owp_pfs_save(p, s, &e), OWP_OK);
    owp_pfs *back = owp_pfs_load(p, &e);
    ck_assert_ptr_nonnull(back);
    size_t len;
    const uint8_t *k = owp_pfs_lookup(back, "bin", &len);
    ck_assert_uint_eq(len, sizeof bin);
    ck_assert(memcmp(k, bin, len) == 0);
    owp_pfs_destroy(&back);
    owp_pfs_destroy(&s);
}
END_TEST

START_TEST(save_is_atomic_and_private)
{
    owp_pfs *s = owp_pfs_new();
    owp_err e;
    ck_assert_int_eq(owp_pfs_set(s, "alice", (const uint8_t *)"correct horse", 13, &e), OWP_OK);
    char p[4096];
    snprintf(p, sizeof p, "%s/owamp-server.pfs", tu_dir);
    char *old = tu_write_file(tu_dir, "owamp-server.pfs", "old contents\n");
    ck_assert_int_eq(owp_pfs_save(p, s, &e), OWP_OK);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    char *got = tu_read_file(p, NULL);
    ck_assert_str_eq(got, "alice\t636f727265637420686f727365\n");
    free(got);
    /* No temporary file is left behind. */
    DIR *d = opendir(tu_dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            files++;
    closedir(d);
    ck_assert_int_eq(files, 1);
    /* A directory that does not exist fails cleanly. */
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/no/such/dir.pfs", tu_dir);
    ck_assert_int_eq(owp_pfs_save(bad, s, &e), OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(e.msg, "Unable to create"));
    free(old);
    owp_pfs_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pfs");
    TCase *tc = tcase_create("vectors");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, lab_file_loads);
    tcase_add_test(tc, pfstore_vector_reads_and_writes_byte_identical);
    suite_add_tcase(s, tc);
    tc = tcase_create("strict");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, accepted_syntax);
    tcase_add_test(tc, broken_files_name_path_and_line);
    tcase_add_test(tc, missing_file_is_enoent);
    tcase_add_test(tc, hostile_bytes_never_crash);
    suite_add_tcase(s, tc);
    tc = tcase_create("client");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, find_in_file_tolerant_exact);
    suite_add_tcase(s, tc);
    tc = tcase_create("edit");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, edit_keeps_other_lines_verbatim);
    tcase_add_test(tc, set_validates_identity_and_passphrase);
    tcase_add_test(tc, save_is_atomic_and_private);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
