/* check_store_ch.c - the ClickHouse store's pieces that need no server
 * (collector/store/store_ch_url.c, store_ch_http.c): the URL in every form
 * and every error, the password file's permissions, SQL string escaping,
 * RowBinary encoding and decoding, ClickHouse's error bodies, and the
 * hashes that key paths (stable: they are stored). The backend against a
 * real server: tests/e2e/store_clickhouse.sh. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "store_ch.h"
#include "store_ch_http.h"
#include "testutil.h"

/* ---- URLs ---- */

static ch_url parse_ok(const char *text)
{
    ch_url u;
    owp_err err = {0};
    ck_assert_msg(store_ch_url_parse(text, &u, &err) == OWP_OK, "%s: %s", text, err.msg);
    return u;
}

/* The URL is refused with a message holding want (and never the password). */
static void parse_bad(const char *text, const char *want)
{
    ch_url u;
    owp_err err = {0};
    ck_assert_msg(store_ch_url_parse(text, &u, &err) != OWP_OK, "%s accepted", text);
    ck_assert_msg(strstr(err.msg, want), "%s: \"%s\" lacks \"%s\"", text, err.msg, want);
    ck_assert_msg(!strstr(err.msg, "s3cret"), "%s: the password shown: %s", text, err.msg);
}

START_TEST(test_url_forms)
{
    ch_url u = parse_ok("clickhouse://ch.example.org:8123/owmesh");
    ck_assert_int_eq(u.https, 0);
    ck_assert_str_eq(u.user, "default");
    ck_assert_int_eq(u.has_password, 0);
    ck_assert_str_eq(u.host, "ch.example.org");
    ck_assert_uint_eq(u.port, 8123);
    ck_assert_str_eq(u.database, "owmesh");
    ck_assert_str_eq(u.label, "clickhouse://ch.example.org:8123/owmesh");

    u = parse_ok("clickhouses://alice:s3cret@10.0.0.1:8443/mesh_1");
    ck_assert_int_eq(u.https, 1);
    ck_assert_str_eq(u.user, "alice");
    ck_assert_str_eq(u.password, "s3cret");
    ck_assert_int_eq(u.has_password, 1);
    ck_assert_str_eq(u.host, "10.0.0.1");
    ck_assert_uint_eq(u.port, 8443);
    /* the label, used in every message, has neither user nor password */
    ck_assert_str_eq(u.label, "clickhouses://10.0.0.1:8443/mesh_1");

    u = parse_ok("clickhouse://bob@[::1]:8123/db");
    ck_assert_str_eq(u.user, "bob");
    ck_assert_str_eq(u.host, "::1");
    ck_assert_str_eq(u.label, "clickhouse://[::1]:8123/db");

    /* percent-encoded password; an empty one; a password file */
    u = parse_ok("clickhouse://u:p%40ss%3Aw%2Fd@h:1/d");
    ck_assert_str_eq(u.password, "p@ss:w/d");
    u = parse_ok("clickhouse://u:@h:1/d");
    ck_assert_int_eq(u.has_password, 1);
    ck_assert_str_eq(u.password, "");
    u = parse_ok("clickhouse://u@h:65535/d?password_file=/etc/owmesh/ch%20pw");
    ck_assert_str_eq(u.password_file, "/etc/owmesh/ch pw");
    ck_assert_uint_eq(u.port, 65535);
}
END_TEST

START_TEST(test_url_errors)
{
    parse_bad("http://h:8123/d", "not a clickhouse:// or clickhouses:// URL");
    parse_bad("clickhouse://h/d", "no port");
    parse_bad("clickhouse://h:/d", "no port");
    parse_bad("clickhouse://h:0/d", "port 0 is not in 1-65535");
    parse_bad("clickhouse://h:65536/d", "is not in 1-65535");
    parse_bad("clickhouse://h:80x/d", "the port is not a number");
    parse_bad("clickhouse://:8123/d", "no host");
    parse_bad("clickhouse://h:8123", "no database");
    parse_bad("clickhouse://h:8123/", "no database");
    parse_bad("clickhouse://h:8123/my-db", "database \"my-db\" is not a name");
    parse_bad("clickhouse://h:8123/1db", "is not a name");
    parse_bad("clickhouse://::1:8123/d", "an IPv6 address goes in brackets");
    parse_bad("clickhouse://[::1:8123/d", "without ']'");
    parse_bad("clickhouse://[zz]:8123/d", "is not an IPv6 address");
    parse_bad("clickhouse://[::1]/d", "no port");
    parse_bad("clickhouse://:s3cret@h:1/d", "the user before '@' is empty");
    parse_bad("clickhouse://u:s3cret%zz@h:1/d", "the password is malformed");
    parse_bad("clickhouse://u:s3cret%0a@h:1/d", "the password is malformed");
    parse_bad("clickhouse://u:s3cret@h:1/d?password_file=/x", "give one");
    parse_bad("clickhouse://u@h:1/d?user=x", "unknown or empty parameter \"user\"");
    parse_bad("clickhouse://u@h:1/d?password_file=", "unknown or empty parameter");
    parse_bad("clickhouse://u@h:1/d?password_file=/a&x=1", "unknown or empty parameter \"x\"");
    parse_bad("clickhouse://u@h:1/d?cluster=a%20b", "is not a name");
    parse_bad("clickhouse://u@h:1/d?cluster=", "unknown or empty parameter");
    /* a cluster: the tables span its shards (Distributed over NAME_local) */
    ch_url u = parse_ok("clickhouse://u@h:1/d?cluster=owmesh_2");
    ck_assert_str_eq(u.cluster, "owmesh_2");
    u = parse_ok("clickhouse://u@h:1/d?password_file=/p&cluster=c-1");
    ck_assert_str_eq(u.cluster, "c-1");
    ck_assert_str_eq(u.password_file, "/p");
    ck_assert_str_eq(u.label, "clickhouse://h:1/d");
}
END_TEST

/* ---- the password file ---- */

START_TEST(test_password_file)
{
    char *dir = tu_tempdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/pw", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("s3cret\nsecond line\n", fp);
    fclose(fp);
    char pw[CH_PASSWORD_MAX + 1];
    owp_err err = {0};
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(store_ch_password_file(path, pw, sizeof pw, &err), OWP_ERR_REFUSED);
    ck_assert_msg(strstr(err.msg, "mode 0644, open to group or others"), "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "(run: chmod 600 "), "%s", err.msg);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(store_ch_password_file(path, pw, sizeof pw, &err), OWP_ERR_REFUSED);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(store_ch_password_file(path, pw, sizeof pw, &err), OWP_OK);
    ck_assert_str_eq(pw, "s3cret"); /* the first line, without its newline */
    snprintf(path, sizeof path, "%s/none", dir);
    ck_assert_int_eq(store_ch_password_file(path, pw, sizeof pw, &err), OWP_ERR_SYS);
    ck_assert_msg(strstr(err.msg, path), "%s", err.msg);
    tu_tempdir_remove(dir);
    free(dir);
}
END_TEST

/* ---- SQL strings ---- */

START_TEST(test_sql_string)
{
    ch_buf b = {0};
    ch_buf_sql_string(&b, "it's a \\ path\n\x01");
    ck_assert_str_eq(ch_buf_str(&b), "'it\\'s a \\\\ path\\x0A\\x01'");
    ch_buf_reset(&b);
    ch_buf_sql_string(&b, "");
    ck_assert_str_eq(ch_buf_str(&b), "''");
    ch_buf_reset(&b);
    ch_buf_printf(&b, "%s=%d;", "x", 1);
    for (int i = 0; i < 100; i++) /* longer than the small format buffer */
        ch_buf_printf(&b, "%0300d", i);
    ck_assert_uint_eq(b.len, 4 + 100 * 300);
    ck_assert_int_eq(b.oom, 0);
    ch_buf_free(&b);
}
END_TEST

/* ---- RowBinary ---- */

START_TEST(test_rowbinary)
{
    ch_buf b = {0};
    ch_buf_u64(&b, 0x0102030405060708ULL);
    ch_buf_u32(&b, 0xA1B2C3D4u);
    ch_buf_u16(&b, 0x1234);
    ch_buf_u8(&b, 0xFE);
    ch_buf_bytes(&b, "abc", 3);
    static const uint8_t want[] = {8, 7, 6, 5, 4, 3, 2, 1, 0xD4, 0xC3, 0xB2, 0xA1,
                                   0x34, 0x12, 0xFE, 3, 'a', 'b', 'c'};
    ck_assert_uint_eq(b.len, sizeof want);
    ck_assert_mem_eq(b.data, want, sizeof want);
    /* a 300-byte string: LEB128 length 0xAC 0x02 */
    char big[300];
    memset(big, 'x', sizeof big);
    ch_buf_reset(&b);
    ch_buf_bytes(&b, big, sizeof big);
    ck_assert_uint_eq(b.len, 302);
    ck_assert_uint_eq(b.data[0], 0xAC);
    ck_assert_uint_eq(b.data[1], 0x02);
    /* and back */
    ch_buf_reset(&b);
    ch_buf_u64(&b, 42);
    ch_buf_bytes(&b, big, sizeof big);
    ch_buf_u32(&b, 7);
    ch_reader r = ch_reader_of(&b);
    ck_assert_uint_eq(ch_rd_u64(&r), 42);
    const uint8_t *s;
    size_t n;
    ch_rd_bytes(&r, &s, &n);
    ck_assert_uint_eq(n, 300);
    ck_assert_uint_eq(ch_rd_u32(&r), 7);
    ck_assert(ch_reader_done(&r));
    ck_assert_int_eq(r.bad, 0);
    /* reading past the end is flagged, never out of bounds */
    ck_assert_uint_eq(ch_rd_u16(&r), 0);
    ck_assert_int_eq(r.bad, 1);
    /* a truncated string */
    uint8_t trunc[] = {5, 'a', 'b'};
    ch_reader t = {trunc, trunc + sizeof trunc, 0};
    char out[8];
    ch_rd_str(&t, out, sizeof out);
    ck_assert_int_eq(t.bad, 1);
    ck_assert_str_eq(out, "");
    ch_buf_free(&b);
}
END_TEST

/* ---- ClickHouse's error bodies ---- */

START_TEST(test_error_parse)
{
    int code = 0;
    char text[200];
    /* 18.16 */
    const char *old = "Code: 60, e.displayText() = DB::Exception: Table owm.nope doesn't exist., "
                      "e.what() = DB::Exception\n";
    ck_assert_int_eq(ch_error_parse(old, strlen(old), &code, text, sizeof text), 1);
    ck_assert_int_eq(code, 60);
    ck_assert_str_eq(text, "Table owm.nope doesn't exist");
    /* current releases */
    const char *cur = "Code: 62. DB::Exception: Syntax error: failed at position 1 ('SELEKT'). "
                      "(SYNTAX_ERROR) (version 23.8.2.7 (official build))\n";
    ck_assert_int_eq(ch_error_parse(cur, strlen(cur), &code, text, sizeof text), 1);
    ck_assert_int_eq(code, 62);
    ck_assert_str_eq(text, "Syntax error: failed at position 1 ('SELEKT'). (SYNTAX_ERROR)");
    /* not an error body */
    ck_assert_int_eq(ch_error_parse("Ok.\n", 4, &code, text, sizeof text), 0);
    ck_assert_int_eq(ch_error_parse("Code: x", 7, &code, text, sizeof text), 0);
    /* a short buffer cuts the text */
    char small[8];
    ck_assert_int_eq(ch_error_parse(old, strlen(old), &code, small, sizeof small), 1);
    ck_assert_str_eq(small, "Table o");
    /* out of space */
    ck_assert(ch_error_is_no_space(243, "Cannot reserve 1.00 MiB, not enough space"));
    ck_assert(ch_error_is_no_space(74, "Cannot write to file: No space left on device"));
    ck_assert(!ch_error_is_no_space(60, "Table doesn't exist"));
}
END_TEST

/* ---- hashes: stored keys, so they must never change ---- */

START_TEST(test_hashes_stable)
{
    ck_assert_uint_eq(store_ch_path_hash("a", "b", "test"), store_ch_path_hash("a", "b", "test"));
    /* the separators matter: "ab" -> "c" is not "a" -> "bc" */
    ck_assert_uint_ne(store_ch_path_hash("ab", "c", ""), store_ch_path_hash("a", "bc", ""));
    /* FNV-1a 64 of "a\0b\0test" */
    ck_assert_uint_eq(store_ch_path_hash("a", "b", "test"), 0x93e054ce2726de1eULL);
    uint8_t sid[OWP_SID_LEN] = {1, 2, 3};
    ck_assert_uint_ne(store_ch_session_hash(1, sid), store_ch_session_hash(2, sid));
}
END_TEST

/* ---- a server that is not there: a clear error, at once ---- */

START_TEST(test_open_refused)
{
    owp_err err = {0};
    store_db *db = store_open("clickhouse://u:s3cret@127.0.0.1:1/owm", NULL, &err);
    ck_assert_ptr_null(db);
    ck_assert_msg(strstr(err.msg, "store clickhouse://127.0.0.1:1/owm: open: cannot connect"),
                  "%s", err.msg);
    ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
    db = store_open("clickhouse://127.0.0.1/owm", NULL, &err);
    ck_assert_ptr_null(db);
    ck_assert_msg(strstr(err.msg, "no port"), "%s", err.msg);
}
END_TEST

static Suite *store_ch_suite(void)
{
    Suite *s = suite_create("store_ch");
    TCase *tc = tcase_create("store_ch");
    tcase_add_test(tc, test_url_forms);
    tcase_add_test(tc, test_url_errors);
    tcase_add_test(tc, test_password_file);
    tcase_add_test(tc, test_sql_string);
    tcase_add_test(tc, test_rowbinary);
    tcase_add_test(tc, test_error_parse);
    tcase_add_test(tc, test_hashes_stable);
    tcase_add_test(tc, test_open_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(store_ch_suite());
}
