/*
 * check_datadir.c - the data directory of receive sessions (datadir.h,
 * programs.md section 1.5): names (SID hex, catalog paths, class paths), a
 * session's file and its catalog link, and the start-up pass that empties
 * catalog/ and links every stored file back into it, with what a crash
 * leaves behind and the walks' depth bound.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"
#include "testutil.h"

#define TEST_PATH_MAX 4096
#define SID_HEX "7f000001eeae670b4bafd97611409158"

/* ------------------------------------------------------------------ helpers */

/* The log callback's lines, one after the other (tests are single-threaded). */
static char log_text[16384];

static void test_log(void *arg, int prio, const char *msg)
{
    (void)arg;
    (void)prio;
    size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "%s\n", msg);
}

static int log_contains(const char *s)
{
    return strstr(log_text, s) != NULL;
}

/* The symbolic link link leads to want. */
static void assert_links_to(const char *link, const char *want)
{
    char target[TEST_PATH_MAX];
    ssize_t n = readlink(link, target, sizeof target - 1);
    ck_assert_msg(n > 0, "readlink %s: %s", link, strerror(errno));
    target[n] = '\0';
    ck_assert_str_eq(target, want);
}

static void test_sid(uint8_t sid[OWP_SID_LEN])
{
    ck_assert_int_eq(tu_hex_decode(SID_HEX, sid, OWP_SID_LEN), OWP_SID_LEN);
}

/* A fresh DATADIR prepared by owp_server_datadir_init (malloc'd path), and
 * the SID SID_HEX. */
static char *prepared_datadir(uint8_t sid[OWP_SID_LEN])
{
    char *dd = tu_tempdir();
    owp_err err;
    ck_assert_int_eq(owp_server_datadir_init(dd, NULL, NULL, NULL, &err), OWP_OK);
    test_sid(sid);
    return dd;
}

/* owp_datadir_create_session, which must succeed; the open file. */
static FILE *create_session_ok(const char *dd, const char *cls, const uint8_t sid[OWP_SID_LEN],
                               char path[OWP_SERVER_PATH_MAX], char catalog[OWP_SERVER_PATH_MAX])
{
    FILE *fp = NULL;
    owp_err err;
    ck_assert_msg(owp_datadir_create_session(dd, cls, sid, path, catalog, &fp, &err) == OWP_OK,
                  "%s", err.msg);
    ck_assert_ptr_nonnull(fp);
    return fp;
}

/* Permission bits of path (lstat). */
static unsigned mode_of(const char *path)
{
    struct stat st;
    ck_assert_msg(lstat(path, &st) == 0, "lstat %s: %s", path, strerror(errno));
    return (unsigned)(st.st_mode & 07777);
}


static void touch(const char *path)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fclose(fp);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* mkdir -p */
static int make_test_dirs(const char *path)
{
    char buf[TEST_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *q = buf + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *q = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void write_bytes(const char *path, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    for (size_t i = 0; i < n; i++)
        fputc('x', fp);
    ck_assert_int_eq(fclose(fp), 0);
}

/* ------------------------------------------------------------------ names */

START_TEST(sid_hex_and_catalog_path)
{
    uint8_t sid[16];
    test_sid(sid);
    char hex[33], p[64];
    owp_sid_hex(sid, hex);
    ck_assert_str_eq(hex, SID_HEX);
    ck_assert_int_eq(owp_server_catalog_path("/d", sid, p, sizeof p), 0);
    ck_assert_str_eq(p, "/d/catalog/" SID_HEX ".owp");
    ck_assert_int_eq(owp_server_catalog_path("/d", sid, p, 20), -1);
    /* Exactly long enough: "/d/catalog/" + 32 + ".owp" + NUL. */
    ck_assert_int_eq(owp_server_catalog_path("/d", sid, p, 11 + 32 + 4 + 1), 0);
    ck_assert_int_eq(owp_server_catalog_path("/d", sid, p, 11 + 32 + 4), -1);
}
END_TEST

/* Upper-case input bytes give lower-case digits, every nibble in place. */
START_TEST(sid_hex_is_lower_case)
{
    uint8_t sid[16];
    for (int i = 0; i < 16; i++)
        sid[i] = (uint8_t)(0xf0 | i);
    char hex[33];
    owp_sid_hex(sid, hex);
    ck_assert_str_eq(hex, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
}
END_TEST

/* ------------------------------------------------------------------ start-up */

/* A missing DATADIR is made with its parents and catalog/ (0755 each); with
 * no hierarchy/ yet nothing is linked. */
START_TEST(datadir_init_creates_directories)
{
    umask(0);
    char *dd = tu_tempdir();
    char p[TEST_PATH_MAX];
    snprintf(p, sizeof p, "%s/a/b/data", dd);
    owp_err err;
    unsigned linked = 99;
    ck_assert_msg(owp_server_datadir_init(p, NULL, NULL, &linked, &err) == OWP_OK, "%s", err.msg);
    ck_assert_uint_eq(linked, 0);
    ck_assert_uint_eq(mode_of(p), 0755);
    snprintf(p, sizeof p, "%s/a/b/data/catalog", dd);
    ck_assert_uint_eq(mode_of(p), 0755);
    ck_assert_int_eq(count_entries(p), 0);
    /* nlinked may be NULL, and a second start finds everything in place. */
    snprintf(p, sizeof p, "%s/a/b/data", dd);
    ck_assert_int_eq(owp_server_datadir_init(p, NULL, NULL, NULL, &err), OWP_OK);
    free(dd);
}
END_TEST

START_TEST(datadir_init_refuses_bad_directories)
{
    owp_err err;
    unsigned linked = 99;
    ck_assert_int_eq(owp_server_datadir_init("", NULL, NULL, &linked, &err), OWP_ERR_INVALID);
    ck_assert_uint_eq(linked, 0);
    ck_assert_int_eq(owp_server_datadir_init(NULL, NULL, NULL, NULL, &err), OWP_ERR_INVALID);

    char *dd = tu_tempdir();
    char p[TEST_PATH_MAX];
    /* DATADIR is a file. */
    snprintf(p, sizeof p, "%s/file", dd);
    touch(p);
    ck_assert_int_eq(owp_server_datadir_init(p, NULL, NULL, NULL, &err), OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a directory"));
    /* hierarchy/ is a file. */
    snprintf(p, sizeof p, "%s/hierarchy", dd);
    touch(p);
    ck_assert_int_eq(owp_server_datadir_init(dd, NULL, NULL, NULL, &err), OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "hierarchy: not a directory"));
    free(dd);
}
END_TEST

START_TEST(datadir_catalog_rebuilt)
{
    char *dd = tu_tempdir();
    char p[TEST_PATH_MAX];
    owp_err err;
    ck_assert_int_eq(owp_server_datadir_init(dd, NULL, NULL, NULL, &err), OWP_OK);
    /* Stale entries: a dangling link, a file and a directory in catalog/. */
    snprintf(p, sizeof p, "%s/catalog/00000000000000000000000000000000.owp", dd);
    ck_assert_int_eq(symlink("/nonexistent/x.owp", p), 0);
    snprintf(p, sizeof p, "%s/catalog/junk", dd);
    touch(p);
    snprintf(p, sizeof p, "%s/catalog/sub", dd);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    /* Stored sessions, plus names that are not session files. */
    snprintf(p, sizeof p, "%s/hierarchy", dd);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/hierarchy/root", dd);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/hierarchy/root/regular", dd);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/hierarchy/root/regular/7f000001eeae69f69158d9b594d9178f.owp", dd);
    touch(p);
    snprintf(p, sizeof p, "%s/hierarchy/root/7f000001eeae69f69158d9b594d91790.owp", dd);
    touch(p);
    snprintf(p, sizeof p, "%s/hierarchy/root/7F000001EEAE69F69158D9B594D91790.owp", dd);
    touch(p);
    snprintf(p, sizeof p, "%s/hierarchy/root/notes.txt", dd);
    touch(p);
    unsigned linked = 0;
    ck_assert_int_eq(owp_server_datadir_init(dd, NULL, NULL, &linked, &err), OWP_OK);
    ck_assert_uint_eq(linked, 2);
    snprintf(p, sizeof p, "%s/catalog", dd);
    ck_assert_int_eq(count_entries(p), 2);
    char target[TEST_PATH_MAX];
    snprintf(p, sizeof p, "%s/catalog/7f000001eeae69f69158d9b594d9178f.owp", dd);
    ssize_t n = readlink(p, target, sizeof target - 1);
    ck_assert_int_gt(n, 0);
    target[n] = '\0';
    ck_assert(strstr(target, "/hierarchy/root/regular/7f000001eeae69f69158d9b594d9178f.owp"));
    free(dd);
}
END_TEST

/* What owampd's start-up scan sees: each stored file with its class path
 * and size; the ones it refuses stay out of the catalog. */
typedef struct stored_seen {
    char classes[4][64];
    uint64_t sizes[4];
    int n;
} stored_seen;

static int record_stored(void *arg, const char *class_path, const char *path, uint64_t size)
{
    stored_seen *seen = arg;
    ck_assert(strstr(path, "/hierarchy/") != NULL);
    if (seen->n < 4) {
        snprintf(seen->classes[seen->n], sizeof seen->classes[0], "%s", class_path);
        seen->sizes[seen->n] = size;
    }
    seen->n++;
    return strcmp(class_path, "gone") == 0; /* no such class: not served */
}

START_TEST(datadir_stored_files_reported)
{
    char *dd = tu_tempdir();
    char p[TEST_PATH_MAX];
    owp_err err;
    snprintf(p, sizeof p, "%s/hierarchy/root/regular", dd);
    ck_assert_int_eq(make_test_dirs(p), 0);
    snprintf(p, sizeof p, "%s/hierarchy/gone", dd);
    ck_assert_int_eq(make_test_dirs(p), 0);
    snprintf(p, sizeof p, "%s/hierarchy/root/regular/7f000001eeae69f69158d9b594d9178f.owp", dd);
    write_bytes(p, 123);
    snprintf(p, sizeof p, "%s/hierarchy/gone/7f000001eeae69f69158d9b594d91790.owp", dd);
    write_bytes(p, 7);
    stored_seen seen;
    memset(&seen, 0, sizeof seen);
    unsigned linked = 0;
    ck_assert_int_eq(
        owp_server_datadir_init_stored(dd, record_stored, &seen, NULL, NULL, &linked, &err),
        OWP_OK);
    ck_assert_int_eq(seen.n, 2);
    ck_assert_uint_eq(linked, 1);
    int regular = strcmp(seen.classes[0], "root/regular") == 0 ? 0 : 1;
    ck_assert_str_eq(seen.classes[regular], "root/regular");
    ck_assert_uint_eq(seen.sizes[regular], 123);
    ck_assert_str_eq(seen.classes[1 - regular], "gone");
    ck_assert_uint_eq(seen.sizes[1 - regular], 7);
    snprintf(p, sizeof p, "%s/catalog/7f000001eeae69f69158d9b594d9178f.owp", dd);
    struct stat st;
    ck_assert_int_eq(lstat(p, &st), 0);
    snprintf(p, sizeof p, "%s/catalog/7f000001eeae69f69158d9b594d91790.owp", dd);
    ck_assert_int_ne(lstat(p, &st), 0);
    free(dd);
}
END_TEST

/* "BASE/d01/d02/.../dNN" into buf: a chain of levels directories below base. */
static void nested_path(char *buf, size_t len, const char *base, int levels)
{
    int n = snprintf(buf, len, "%s", base);
    for (int i = 1; i <= levels; i++)
        n += snprintf(buf + n, len - (size_t)n, "/d%02d", i);
}

/* An empty file at DIR/REL, its directories made first; its path into buf. */
static void touch_under(const char *dir, const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", dir, rel);
    char *slash = strrchr(buf, '/');
    *slash = '\0';
    ck_assert_int_eq(make_test_dirs(buf), 0);
    *slash = '/';
    touch(buf);
}

/* What a crash leaves: catalog links to live files, files whose link never
 * came, and the same SID stored under two classes. */
START_TEST(datadir_crash_leftovers_relinked)
{
    char *dd = tu_tempdir();
    char p[TEST_PATH_MAX], link[TEST_PATH_MAX];
    owp_err err;
    log_text[0] = '\0';
    /* Linked before the crash. */
    touch_under(dd, "hierarchy/a/b/7f000001eeae69f69158d9b594d9178f.owp", p, sizeof p);
    snprintf(link, sizeof link, "%s/catalog", dd);
    ck_assert_int_eq(make_test_dirs(link), 0);
    snprintf(link, sizeof link, "%s/catalog/7f000001eeae69f69158d9b594d9178f.owp", dd);
    ck_assert_int_eq(symlink(p, link), 0);
    /* Never linked; and one SID twice, so only one of its files can be served. */
    touch_under(dd, "hierarchy/c/7f000001eeae69f69158d9b594d91790.owp", p, sizeof p);
    touch_under(dd, "hierarchy/c/7f000001eeae69f69158d9b594d9178f.owp", p, sizeof p);
    unsigned linked = 0;
    ck_assert_int_eq(owp_server_datadir_init(dd, test_log, NULL, &linked, &err), OWP_OK);
    ck_assert_uint_eq(linked, 2);
    ck_assert(log_contains("SID already stored elsewhere"));
    struct stat st;
    snprintf(link, sizeof link, "%s/catalog/7f000001eeae69f69158d9b594d9178f.owp", dd);
    ck_assert_int_eq(stat(link, &st), 0);
    snprintf(link, sizeof link, "%s/catalog/7f000001eeae69f69158d9b594d91790.owp", dd);
    ck_assert_int_eq(stat(link, &st), 0); /* the new link leads to the file */
    free(dd);
}
END_TEST

/* Both start-up walks go 32 levels deep: below that, hierarchy/ is skipped
 * with a warning and catalog/ cannot be emptied. */
START_TEST(datadir_walk_depth_bound)
{
    char *dd = tu_tempdir();
    char base[TEST_PATH_MAX], p[TEST_PATH_MAX], f[TEST_PATH_MAX + 64];
    owp_err err;
    log_text[0] = '\0';
    snprintf(base, sizeof base, "%s/hierarchy", dd);
    nested_path(p, sizeof p, base, 32);
    touch_under(p, "7f000001eeae69f69158d9b594d9178f.owp", f, sizeof f);
    nested_path(p, sizeof p, base, 33);
    touch_under(p, "7f000001eeae69f69158d9b594d91790.owp", f, sizeof f);
    unsigned linked = 0;
    ck_assert_int_eq(owp_server_datadir_init(dd, test_log, NULL, &linked, &err), OWP_OK);
    ck_assert_uint_eq(linked, 1);
    snprintf(f, sizeof f, "%s/catalog/7f000001eeae69f69158d9b594d9178f.owp", dd);
    struct stat st;
    ck_assert_int_eq(lstat(f, &st), 0);
    ck_assert(log_contains("too deep"));

    /* catalog/ nested 32 deep is emptied, 33 deep is an error. */
    snprintf(base, sizeof base, "%s/catalog", dd);
    nested_path(p, sizeof p, base, 32);
    touch_under(p, "junk", f, sizeof f);
    ck_assert_int_eq(owp_server_datadir_init(dd, NULL, NULL, &linked, &err), OWP_OK);
    ck_assert_int_eq(count_entries(base), 1); /* only the relinked session */
    nested_path(p, sizeof p, base, 33);
    ck_assert_int_eq(make_test_dirs(p), 0);
    ck_assert_int_eq(owp_server_datadir_init(dd, NULL, NULL, &linked, &err), OWP_ERR_INVALID);
    ck_assert(strstr(err.msg, "nested too deep"));
    free(dd);
}
END_TEST

START_TEST(datadir_class_path_ok)
{
    ck_assert(owp_datadir_class_path_ok("default"));
    ck_assert(owp_datadir_class_path_ok("root/regular"));
    ck_assert(owp_datadir_class_path_ok("a.b/..c"));
    const char *bad[] = {"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!owp_datadir_class_path_ok(bad[i]), "\"%s\" accepted", bad[i]);
    ck_assert(!owp_datadir_class_path_ok(NULL));
    char longpath[OWP_SERVER_CLASS_MAX + 1];
    memset(longpath, 'x', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    ck_assert(!owp_datadir_class_path_ok(longpath));
    longpath[OWP_SERVER_CLASS_MAX - 1] = '\0';
    ck_assert(owp_datadir_class_path_ok(longpath));
}
END_TEST

/* A session file and its catalog link; a second session with the same SID
 * must not touch either. */
START_TEST(datadir_create_session_file)
{
    uint8_t sid[16];
    char *dd = prepared_datadir(sid);
    char path[OWP_SERVER_PATH_MAX], catalog[OWP_SERVER_PATH_MAX], want[TEST_PATH_MAX];
    FILE *fp = create_session_ok(dd, "root/regular", sid, path, catalog);
    snprintf(want, sizeof want, "%s/hierarchy/root/regular/7f000001eeae670b4bafd97611409158.owp",
             dd);
    ck_assert_str_eq(path, want);
    snprintf(want, sizeof want, "%s/catalog/7f000001eeae670b4bafd97611409158.owp", dd);
    ck_assert_str_eq(catalog, want);
    assert_links_to(catalog, path);
    ck_assert_int_eq(fputs("data", fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);

    FILE *fp2 = NULL;
    owp_err err;
    char path2[OWP_SERVER_PATH_MAX], catalog2[OWP_SERVER_PATH_MAX];
    ck_assert_int_ne(
        owp_datadir_create_session(dd, "root/regular", sid, path2, catalog2, &fp2, &err), OWP_OK);
    ck_assert_ptr_null(fp2);
    ck_assert_str_eq(path2, ""); /* not ours to delete */
    ck_assert_str_eq(catalog2, "");
    ck_assert(strstr(err.msg, "7f000001eeae670b4bafd97611409158.owp"));
    struct stat st;
    ck_assert_int_eq(stat(catalog, &st), 0);
    ck_assert_int_eq(st.st_size, 4);
    free(dd);
}
END_TEST

/* Modes as the header promises (whatever the umask allows: here all), and
 * the class directories made on the way. */
START_TEST(datadir_create_session_modes)
{
    umask(0);
    uint8_t sid[16];
    char *dd = prepared_datadir(sid);
    char path[OWP_SERVER_PATH_MAX], catalog[OWP_SERVER_PATH_MAX], p[TEST_PATH_MAX];
    fclose(create_session_ok(dd, "a/b/c", sid, path, catalog));
    ck_assert_uint_eq(mode_of(path), 0644);
    snprintf(p, sizeof p, "%s/hierarchy/a", dd);
    ck_assert_uint_eq(mode_of(p), 0755);
    snprintf(p, sizeof p, "%s/hierarchy/a/b/c", dd);
    ck_assert_uint_eq(mode_of(p), 0755);
    free(dd);
}
END_TEST

/* A stale catalog link of the same name (a crash) is replaced; the file is
 * opened for reading and writing. */
START_TEST(datadir_create_session_replaces_stale_link)
{
    uint8_t sid[16];
    char *dd = prepared_datadir(sid);
    char path[OWP_SERVER_PATH_MAX], catalog[OWP_SERVER_PATH_MAX], link[TEST_PATH_MAX];
    ck_assert_int_eq(owp_server_catalog_path(dd, sid, link, sizeof link), 0);
    ck_assert_int_eq(symlink("/nonexistent/old.owp", link), 0);
    FILE *fp = create_session_ok(dd, "default", sid, path, catalog);
    ck_assert_str_eq(catalog, link);
    assert_links_to(link, path);
    ck_assert_int_eq(fputs("abc", fp) >= 0, 1);
    rewind(fp);
    char back[4] = {0};
    ck_assert_uint_eq(fread(back, 1, 3, fp), 3);
    ck_assert_str_eq(back, "abc");
    fclose(fp);
    free(dd);
}
END_TEST

/* ------------------------------------------------------------------ file class */

START_TEST(datadir_file_class_of_catalog_entry)
{
    uint8_t sid[16];
    char *dd = prepared_datadir(sid);
    char path[OWP_SERVER_PATH_MAX], catalog[OWP_SERVER_PATH_MAX], cls[64];
    fclose(create_session_ok(dd, "root/regular", sid, path, catalog));
    owp_datadir_file_class(dd, catalog, cls, sizeof cls);
    ck_assert_str_eq(cls, "root/regular");
    /* The class does not fit: "". "root/regular" needs 13 bytes. */
    owp_datadir_file_class(dd, catalog, cls, 12);
    ck_assert_str_eq(cls, "");
    owp_datadir_file_class(dd, catalog, cls, 13);
    ck_assert_str_eq(cls, "root/regular");
    free(dd);
}
END_TEST

START_TEST(datadir_file_class_outside_hierarchy)
{
    uint8_t sid[16];
    char *dd = prepared_datadir(sid);
    char link[TEST_PATH_MAX], cls[64];
    /* A link leading elsewhere. */
    snprintf(link, sizeof link, "%s/catalog/elsewhere.owp", dd);
    ck_assert_int_eq(symlink("/tmp/x/" SID_HEX ".owp", link), 0);
    memcpy(cls, "junk", 5);
    owp_datadir_file_class(dd, link, cls, sizeof cls);
    ck_assert_str_eq(cls, "");
    /* No link at all: a plain file, and a name that does not exist. */
    snprintf(link, sizeof link, "%s/catalog/plain.owp", dd);
    touch(link);
    owp_datadir_file_class(dd, link, cls, sizeof cls);
    ck_assert_str_eq(cls, "");
    snprintf(link, sizeof link, "%s/catalog/missing.owp", dd);
    owp_datadir_file_class(dd, link, cls, sizeof cls);
    ck_assert_str_eq(cls, "");
    free(dd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("datadir");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, sid_hex_and_catalog_path);
    tcase_add_test(tc, sid_hex_is_lower_case);
    tcase_add_test(tc, datadir_class_path_ok);
    suite_add_tcase(s, tc);

    tc = tcase_create("start-up");
    tcase_add_test(tc, datadir_init_creates_directories);
    tcase_add_test(tc, datadir_init_refuses_bad_directories);
    tcase_add_test(tc, datadir_catalog_rebuilt);
    tcase_add_test(tc, datadir_stored_files_reported);
    tcase_add_test(tc, datadir_crash_leftovers_relinked);
    tcase_add_test(tc, datadir_walk_depth_bound);
    suite_add_tcase(s, tc);

    tc = tcase_create("session files");
    tcase_add_test(tc, datadir_create_session_file);
    tcase_add_test(tc, datadir_create_session_modes);
    tcase_add_test(tc, datadir_create_session_replaces_stale_link);
    tcase_add_test(tc, datadir_file_class_of_catalog_entry);
    tcase_add_test(tc, datadir_file_class_outside_hierarchy);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
