/* check_conf.c - owamp-server.conf: the lab file, every directive, the
 * reference's syntax quirks, and errors that name the TRUE PATH:LINE. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "testpkt.h"
#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define ALL_MODES (OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)

static char *tmpdir;

static void setup(void) { tmpdir = tu_tempdir(); }

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *de;
        char p[4096];
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(tmpdir);
    free(tmpdir);
}

static char *write_file_n(const char *name, const char *text, size_t len)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", tmpdir, name);
    FILE *fp = fopen(p, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
    fclose(fp);
    return p;
}

static char *write_file(const char *name, const char *text)
{
    return write_file_n(name, text, strlen(text));
}

static owp_status load_text(const char *text, owp_server_conf *c, owp_err *e, char **path)
{
    char *p = write_file("owamp-server.conf", text);
    owp_status st = owp_server_conf_load(c, p, e);
    if (path)
        *path = p;
    else
        free(p);
    return st;
}

/* ------------------------------------------------------------ files */

START_TEST(defaults_match_programs_md)
{
    owp_server_conf c;
    owp_server_conf_default(&c);
    ck_assert_uint_eq(c.authmodes, ALL_MODES);
    ck_assert_uint_eq(c.controltimeout, 1800);
    ck_assert_str_eq(c.datadir, "");
    ck_assert_uint_eq(c.dieby, 5);
    ck_assert_double_eq(c.diskfudge, 1.0);
    ck_assert_double_eq(c.enddelay, 1.0);
    ck_assert_int_eq(c.facility, LOG_DAEMON);
    ck_assert_int_eq(c.loglevel, LOG_INFO);
    ck_assert_uint_eq(c.maxcontrolsessions, 0);
    ck_assert_uint_eq(c.pbkdf2_count, 2048);
    ck_assert_int_eq(c.rootfolly, 0);
    ck_assert_int_eq(c.loglocation, 0);
    ck_assert_int_eq(c.verbose, 0);
    ck_assert_str_eq(c.srcnode, "");
    ck_assert_uint_eq(c.testports.low, 0);
    ck_assert_uint_eq(c.testports.high, 0);
    ck_assert_str_eq(c.user, "");
    ck_assert_str_eq(c.group, "");
    ck_assert_str_eq(c.vardir, "");
}
END_TEST

START_TEST(lab_conf_parses)
{
    char *path = tu_vector_path("lab/owampd.conf");
    owp_server_conf c;
    owp_err e;
    owp_server_conf_default(&c);
    ck_assert_msg(owp_server_conf_load(&c, path, &e) == OWP_OK, "%s", e.msg);
    ck_assert_str_eq(c.srcnode, "127.0.0.1:8861");
    ck_assert_uint_eq(c.testports.low, 9000);
    ck_assert_uint_eq(c.testports.high, 9999);
    ck_assert_str_eq(c.datadir, "DATADIR");
    ck_assert_str_eq(c.vardir, "VARDIR");
    ck_assert_uint_eq(c.authmodes, ALL_MODES);
    ck_assert_int_eq(c.rootfolly, 1);
    ck_assert_uint_eq(c.dieby, 5);            /* untouched directives keep defaults */
    ck_assert_int_eq(c.loglevel, LOG_INFO);
    free(path);
}
END_TEST

START_TEST(full_conf_sets_every_directive)
{
    char *path = tu_vector_path("conf/full.conf");
    owp_server_conf c;
    owp_err e;
    owp_server_conf_default(&c);
    ck_assert_msg(owp_server_conf_load(&c, path, &e) == OWP_OK, "%s", e.msg);
    ck_assert_uint_eq(c.authmodes, OWP_MODE_AUTH | OWP_MODE_ENCRYPTED);
    ck_assert_uint_eq(c.controltimeout, 600);
    ck_assert_str_eq(c.datadir, "/var/lib/owamp/data");
    ck_assert_uint_eq(c.dieby, 30);
    ck_assert_double_eq(c.diskfudge, 2.5);
    ck_assert_double_eq(c.enddelay, 0.5);
    ck_assert_int_eq(c.facility, LOG_LOCAL5);
    ck_assert_str_eq(c.group, "owamp");
    ck_assert_int_eq(c.loglevel, LOG_DEBUG);
    ck_assert_int_eq(c.loglocation, 1);
    ck_assert_uint_eq(c.maxcontrolsessions, 50);
    ck_assert_uint_eq(c.pbkdf2_count, 4096);
    ck_assert_int_eq(c.rootfolly, 1);
    ck_assert_str_eq(c.srcnode, "[::1]:8862");
    ck_assert_uint_eq(c.testports.low, 9000);
    ck_assert_uint_eq(c.testports.high, 9999);
    ck_assert_str_eq(c.user, "owamp");
    ck_assert_str_eq(c.vardir, "/var/run/owamp");
    ck_assert_int_eq(c.verbose, 1);
    free(path);
}
END_TEST

START_TEST(continuation_conf)
{
    char *path = tu_vector_path("conf/continuation.conf");
    owp_server_conf c;
    owp_err e;
    owp_server_conf_default(&c);
    ck_assert_msg(owp_server_conf_load(&c, path, &e) == OWP_OK, "%s", e.msg);
    ck_assert_str_eq(c.datadir, "/srv/owamp/data");
    ck_assert_uint_eq(c.testports.low, 8000);
    ck_assert_uint_eq(c.testports.high, 8100);
    ck_assert_uint_eq(c.dieby, 30);
    ck_assert_str_eq(c.srcnode, ":8861");
    free(path);
}
END_TEST

START_TEST(broken_vector_names_true_line)
{
    char *path = tu_vector_path("conf/broken-line7.conf");
    owp_server_conf c, before;
    owp_err e;
    owp_server_conf_default(&c);
    before = c;
    ck_assert_int_eq(owp_server_conf_load(&c, path, &e), OWP_ERR_PARSE);
    char want[4200];
    snprintf(want, sizeof want, "%s:7: Log level \"WARN\" invalid", path);
    ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "got %s", e.msg);
    /* A bad file leaves the configuration as it was, earlier lines included. */
    ck_assert(memcmp(&c, &before, sizeof c) == 0);
    free(path);
}
END_TEST

/* ------------------------------------------------------------ quirks */

/* The value of one named field, as a double, for table-driven checks. */
static double field_value(const owp_server_conf *c, const char *f)
{
    if (!strcmp(f, "dieby")) return c->dieby;
    if (!strcmp(f, "controltimeout")) return c->controltimeout;
    if (!strcmp(f, "pbkdf2_count")) return c->pbkdf2_count;
    if (!strcmp(f, "maxcontrolsessions")) return c->maxcontrolsessions;
    if (!strcmp(f, "diskfudge")) return c->diskfudge;
    if (!strcmp(f, "enddelay")) return c->enddelay;
    if (!strcmp(f, "facility")) return c->facility;
    if (!strcmp(f, "loglevel")) return c->loglevel;
    if (!strcmp(f, "verbose")) return c->verbose;
    if (!strcmp(f, "rootfolly")) return c->rootfolly;
    if (!strcmp(f, "testports.low")) return c->testports.low;
    if (!strcmp(f, "testports.high")) return c->testports.high;
    if (!strcmp(f, "authmodes")) return c->authmodes;
    ck_abort_msg("unknown field %s", f);
    return 0;
}

START_TEST(reference_quirks_accepted)
{
    static const struct {
        const char *text;
        const char *field;
        double want;
    } ok[] = {
        {"dieby 30s\n", "dieby", 30},                 /* trailing characters ignored */
        {"controltimeout +60\n", "controltimeout", 60},
        {"controltimeout 0\n", "controltimeout", 0},
        {"pbkdf2_count 4294967295\n", "pbkdf2_count", 4294967295.0},
        {"maxcontrolsessionsXYZ 7\n", "maxcontrolsessions", 7}, /* prefix match */
        {"MAXCONTROLSESSIONS 8\n", "maxcontrolsessions", 8},
        {"DieBy 9\n", "dieby", 9},
        {"dieby 1 # c\n", "dieby", 1},
        {"dieby 1 #c more words\n", "dieby", 1},
        {"dieby 1\t#\n", "dieby", 1},
        {"diskfudge 1.0\n", "diskfudge", 1.0},
        {"diskfudge 10\n", "diskfudge", 10.0},
        {"diskfudge 2.5x\n", "diskfudge", 2.5},
        {"enddelay 0\n", "enddelay", 0},
        {"enddelay 3s\n", "enddelay", 3},
        {"facility authpriv\n", "facility", LOG_AUTH},
        {"facility DAEMONxyz\n", "facility", LOG_DAEMON},
        {"loglevel none\n", "loglevel", -1},
        {"loglevel ALL\n", "loglevel", LOG_DEBUG},
        {"loglevel fatal\n", "loglevel", LOG_ERR},
        {"verbose #comment\n", "verbose", 1},
        {"rootfolly\r\n", "rootfolly", 1},            /* CRLF line ending */
        {"dieby 7\r\n", "dieby", 7},
        {"testports 0\n", "testports.high", 0},
        {"testports 5000\n", "testports.high", 5000},
        {"testports 5000\n", "testports.low", 5000},
        {"   \n\n# only\n  # comments\ndieby 3", "dieby", 3}, /* no final newline */
        {"dieby \\\n4\n", "dieby", 4},
        {"die\\\nby 5\n", "dieby", 5},                /* continuation inside a keyword */
        {"authmode o\n", "authmodes", OWP_MODE_OPEN},
        {"dieby 1\ndieby 2\n", "dieby", 2},           /* last one wins */
    };
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        owp_server_conf c;
        owp_err e;
        owp_server_conf_default(&c);
        ck_assert_msg(load_text(ok[i].text, &c, &e, NULL) == OWP_OK, "case %zu: %s", i, e.msg);
        const char *f = ok[i].field;
        double got = field_value(&c, f);
        ck_assert_msg(got == ok[i].want, "case %zu (%s): %s = %g, want %g", i, ok[i].text, f, got,
                      ok[i].want);
    }
}
END_TEST

START_TEST(errors_name_true_path_and_line)
{
    static const struct {
        const char *text;
        int line;
        const char *why;
    } bad[] = {
        {"foo bar\n", 1, "unknown directive \"foo\""},
        {"# c\n\nloglevel WARN\n", 3, "Log level \"WARN\" invalid"},
        {"loglevel warn\n", 1, "Log level \"warn\" invalid"},
        {"testtimeout 5\n", 1, "unknown directive \"testtimeout\""}, /* twampd only */
        {"maxcontrolsession 5\n", 1, "unknown directive"},
        {"diebyx 5\n", 1, "unknown directive \"diebyx\""},
        {"dieby\n", 1, "dieby needs a value"},
        {"dieby #5\n", 1, "dieby needs a value"},    /* '#' value = no value */
        {"dieby abc\n", 1, "expected a non-negative integer"},
        {"dieby -1\n", 1, "expected a non-negative integer"},
        {"dieby 4294967296\n", 1, "larger than 4294967295"},
        {"dieby 1 2\n", 1, "unexpected \"2\" after the value of dieby"},
        {"datadir /a b\n", 1, "unexpected \"b\""},
        {"diskfudge 0.5\n", 1, "Invalid diskfudge \"0.5\": valid values 1.0<=diskfudge<=10.0"},
        {"diskfudge 10.5\n", 1, "Invalid diskfudge"},
        {"diskfudge x\n", 1, "expected a number"},
        {"diskfudge nan\n", 1, "expected a number"},
        {"enddelay -0.1\n", 1, "Invalid enddelay \"-0.1\""},
        {"enddelay inf\n", 1, "expected a number"},
        {"facility LOG_DAEMON\n", 1, "Syslog facility \"LOG_DAEMON\" unknown"},
        {"authmode AX\n", 1, "Invalid -authmode X"},
        {"authmode\n", 1, "authmode needs a value"},
        {"testports 9000-8000\n", 1, "Invalid port-range: \"9000-8000\""},
        {"testports x\n", 1, "Invalid port-range"},
        {"srcnode [::1\n", 1, "missing ']'"},
        {"srcnode host:\n", 1, "port"},
        {"rootfolly off\n", 1, "rootfolly takes no value"},
        {"verbose 1\n", 1, "verbose takes no value"},
        {"loglocation yes\n", 1, "loglocation takes no value"},
        {"datadir /a\\b\n", 1, "'\\' is allowed only at the end of a line"},
        {"datadir /a\\\n/b\ndieby x\n", 3, "expected a non-negative integer"},
        {"# x\ndieby \\\n\\\nabc\n", 2, "expected a non-negative integer"}, /* start line */
        {"\n\n\n\n\n\n\n\n\n\nuser\n", 11, "user needs a value"},
        {"dieby 1\\", 1, "'\\' is allowed only"},    /* backslash at end of file */
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        owp_server_conf c;
        owp_err e;
        char *p = NULL;
        owp_server_conf_default(&c);
        ck_assert_msg(load_text(bad[i].text, &c, &e, &p) == OWP_ERR_PARSE, "case %zu accepted: %s",
                      i, bad[i].text);
        char want[4200];
        snprintf(want, sizeof want, "%s:%d: ", p, bad[i].line);
        ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0 && strstr(e.msg, bad[i].why),
                      "case %zu: got \"%s\", want \"%s...%s\"", i, e.msg, want, bad[i].why);
        free(p);
    }
}
END_TEST

START_TEST(hostile_input)
{
    owp_server_conf c;
    owp_err e;
    char *p;
    /* NUL byte. */
    owp_server_conf_default(&c);
    p = write_file_n("nul.conf", "dieby 1\ndie\0by 2\n", 17);
    ck_assert_int_eq(owp_server_conf_load(&c, p, &e), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, ":2: NUL byte"));
    free(p);
    /* Values longer than their fields. */
    static char big[70000];
    memcpy(big, "datadir /", 9);
    memset(big + 9, 'd', 5000);
    strcpy(big + 5009, "\n");
    ck_assert_int_eq(load_text(big, &c, &e, NULL), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, ":1: datadir value longer than 4095"));
    memcpy(big, "user ", 5);
    memset(big + 5, 'u', 300);
    strcpy(big + 305, "\n");
    ck_assert_int_eq(load_text(big, &c, &e, NULL), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "user value longer than 255"));
    /* A logical line longer than the reader takes. */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(load_text(big, &c, &e, NULL), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, ":1: line longer than"));
    /* Deterministic garbage never crashes. */
    static const char alphabet[] = "dieby 1#\\\n\r\tauthmodeAEO-:[]\x01\xff";
    uint32_t x = 777;
    char buf[400];
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t)(round * 7) % sizeof buf;
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            buf[k] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
        }
        p = write_file_n("junk.conf", buf, n);
        owp_server_conf_default(&c);
        (void)owp_server_conf_load(&c, p, &e);
        free(p);
    }
}
END_TEST

START_TEST(missing_file_and_bad_arguments)
{
    owp_server_conf c;
    owp_err e;
    char p[4096];
    owp_server_conf_default(&c);
    snprintf(p, sizeof p, "%s/absent.conf", tmpdir);
    ck_assert_int_eq(owp_server_conf_load(&c, p, &e), OWP_ERR_SYS);
    char want[4200];
    snprintf(want, sizeof want, "Unable to open %s: ", p);
    ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "%s", e.msg);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(owp_server_conf_load(NULL, p, &e), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_server_conf_load(&c, NULL, &e), OWP_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ finding files */

START_TEST(find_prefers_existing_then_packaged_name)
{
    char path[4096], want[4200];
    /* Neither: 0, with the packaged name for messages. */
    ck_assert_int_eq(owp_server_conf_find(tmpdir, "conf", path, sizeof path), 0);
    snprintf(want, sizeof want, "%s/owamp-server.conf", tmpdir);
    ck_assert_str_eq(path, want);
    /* Only the manual's name. */
    free(write_file("owampd.conf", "dieby 1\n"));
    ck_assert_int_eq(owp_server_conf_find(tmpdir, "conf", path, sizeof path), 1);
    snprintf(want, sizeof want, "%s/owampd.conf", tmpdir);
    ck_assert_str_eq(path, want);
    /* Both: 2, the packaged name wins. */
    free(write_file("owamp-server.conf", "dieby 2\n"));
    ck_assert_int_eq(owp_server_conf_find(tmpdir, "conf", path, sizeof path), 2);
    snprintf(want, sizeof want, "%s/owamp-server.conf", tmpdir);
    ck_assert_str_eq(path, want);
    /* Each base is looked up on its own; a trailing '/' is not doubled. */
    free(write_file("owamp-server.pfs", "alice 61\n"));
    char dir_slash[4096];
    snprintf(dir_slash, sizeof dir_slash, "%s/", tmpdir);
    ck_assert_int_eq(owp_server_conf_find(dir_slash, "pfs", path, sizeof path), 1);
    snprintf(want, sizeof want, "%s/owamp-server.pfs", tmpdir);
    ck_assert_str_eq(path, want);
    ck_assert_int_eq(owp_server_conf_find(tmpdir, "limits", path, sizeof path), 0);
    /* No confdir: the current directory. */
    ck_assert_int_ge(owp_server_conf_find(NULL, "limits", path, sizeof path), 0);
    ck_assert_str_eq(path, "./owamp-server.limits");
    ck_assert_int_ge(owp_server_conf_find("", "limits", path, sizeof path), 0);
    ck_assert_str_eq(path, "./owamp-server.limits");
    /* Too small a buffer, bad arguments. */
    ck_assert_int_eq(owp_server_conf_find(tmpdir, "conf", path, 10), -1);
    ck_assert_int_eq(owp_server_conf_find(tmpdir, NULL, path, sizeof path), -1);
    ck_assert_int_eq(owp_server_conf_find(tmpdir, "conf", NULL, 10), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_match_programs_md);
    tcase_add_test(tc, lab_conf_parses);
    tcase_add_test(tc, full_conf_sets_every_directive);
    tcase_add_test(tc, continuation_conf);
    tcase_add_test(tc, broken_vector_names_true_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("syntax");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reference_quirks_accepted);
    tcase_add_test(tc, errors_name_true_path_and_line);
    tcase_add_test(tc, hostile_input);
    tcase_add_test(tc, missing_file_and_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("find");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, find_prefers_existing_then_packaged_name);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
