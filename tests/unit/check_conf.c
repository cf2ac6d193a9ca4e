/* check_conf.c - owamp-server.conf: the lab file, every directive, the
 * reference's syntax quirks, and errors that name the TRUE PATH:LINE. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "testpkt.h"
#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define ALL_MODES (OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)

static owp_status load_text(const char *text, owp_server_conf *c, owp_err *e, char **path)
{
    char *p = tu_write_file(tu_dir, "owamp-server.conf", text);
    owp_status st = owp_server_conf_load(c, p, e);
    if (path)
        *path = p;
    else
        free(p);
    return st;
}

/* ------------------------------------------------------------ files */

/* Loads the vector file rel over the defaults, which must succeed. */
static void load_vector(const char *rel, owp_server_conf *c)
{
    char *path = tu_vector_path(rel);
    owp_err e;
    owp_server_conf_default(c);
    ck_assert_msg(owp_server_conf_load(c, path, &e) == OWP_OK, "%s", e.msg);
    free(path);
}

/* The value of one named field, as a double, for table-driven checks. */
static double field_value(const owp_server_conf *c, const char *f)
{
    if (!strcmp(f, "dieby")) return c->dieby;
    if (!strcmp(f, "controltimeout")) return c->controltimeout;
    if (!strcmp(f, "pbkdf2_count")) return c->pbkdf2_count;
    if (!strcmp(f, "maxcontrolsessions")) return c->maxcontrolsessions;
    if (!strcmp(f, "setuptimeout")) return c->setuptimeout;
    if (!strcmp(f, "maxsetupsessions")) return c->maxsetupsessions;
    if (!strcmp(f, "maxsetupperaddr")) return c->maxsetupperaddr;
    if (!strcmp(f, "diskfudge")) return c->diskfudge;
    if (!strcmp(f, "enddelay")) return c->enddelay;
    if (!strcmp(f, "facility")) return c->facility;
    if (!strcmp(f, "loglevel")) return c->loglevel;
    if (!strcmp(f, "verbose")) return c->verbose;
    if (!strcmp(f, "loglocation")) return c->loglocation;
    if (!strcmp(f, "rootfolly")) return c->rootfolly;
    if (!strcmp(f, "testports.low")) return c->testports.low;
    if (!strcmp(f, "testports.high")) return c->testports.high;
    if (!strcmp(f, "authmodes")) return c->authmodes;
    ck_abort_msg("unknown field %s", f);
    return 0;
}

/* The value of one named string field. */
static const char *string_field(const owp_server_conf *c, const char *f)
{
    if (!strcmp(f, "datadir")) return c->datadir;
    if (!strcmp(f, "vardir")) return c->vardir;
    if (!strcmp(f, "srcnode")) return c->srcnode;
    if (!strcmp(f, "user")) return c->user;
    if (!strcmp(f, "group")) return c->group;
    ck_abort_msg("unknown string field %s", f);
    return NULL;
}

/* A field and the value expected in it: str for a string field, else num. */
typedef struct field_want {
    const char *field;
    const char *str;
    double num;
} field_want;
#define NUM(f, v) {f, NULL, v}
#define STR(f, v) {f, v, 0}

/* Each configuration vector, loaded over the defaults (NULL: the defaults
 * alone, as programs.md lists them), and fields it must leave as shown. */
static const struct {
    const char *rel;
    field_want want[24];
} conf_vectors[] = {
    {NULL,
     {NUM("authmodes", ALL_MODES), NUM("controltimeout", 1800), STR("datadir", ""),
      NUM("dieby", 5), NUM("diskfudge", 1.0), NUM("enddelay", 1.0), NUM("facility", LOG_DAEMON),
      NUM("loglevel", LOG_INFO), NUM("maxcontrolsessions", 0), NUM("pbkdf2_count", 2048),
      NUM("rootfolly", 0), NUM("loglocation", 0), NUM("verbose", 0), STR("srcnode", ""),
      NUM("testports.low", 0), NUM("testports.high", 0), STR("user", ""), STR("group", ""),
      STR("vardir", ""), NUM("setuptimeout", 10), NUM("maxsetupsessions", 64),
      NUM("maxsetupperaddr", 8)}},
    {"lab/owampd.conf", /* the last two: untouched directives keep their defaults */
     {STR("srcnode", "127.0.0.1:8861"), NUM("testports.low", 9000), NUM("testports.high", 9999),
      STR("datadir", "DATADIR"), STR("vardir", "VARDIR"), NUM("authmodes", ALL_MODES),
      NUM("rootfolly", 1), NUM("dieby", 5), NUM("loglevel", LOG_INFO)}},
    {"conf/full.conf", /* sets every directive */
     {NUM("authmodes", OWP_MODE_AUTH | OWP_MODE_ENCRYPTED), NUM("controltimeout", 600),
      STR("datadir", "/var/lib/owamp/data"), NUM("dieby", 30), NUM("diskfudge", 2.5),
      NUM("enddelay", 0.5), NUM("facility", LOG_LOCAL5), STR("group", "owamp"),
      NUM("loglevel", LOG_DEBUG), NUM("loglocation", 1), NUM("maxcontrolsessions", 50),
      NUM("pbkdf2_count", 4096), NUM("rootfolly", 1), STR("srcnode", "[::1]:8862"),
      NUM("testports.low", 9000), NUM("testports.high", 9999), STR("user", "owamp"),
      STR("vardir", "/var/run/owamp"), NUM("verbose", 1)}},
    {"conf/continuation.conf",
     {STR("datadir", "/srv/owamp/data"), NUM("testports.low", 8000), NUM("testports.high", 8100),
      NUM("dieby", 30), STR("srcnode", ":8861")}},
};
#define N_CONF_VECTORS (int)N_ELEMS(conf_vectors)

START_TEST(conf_vector_sets_fields)
{
    const char *rel = conf_vectors[_i].rel;
    owp_server_conf c;
    if (rel)
        load_vector(rel, &c);
    else
        owp_server_conf_default(&c);
    for (const field_want *w = conf_vectors[_i].want; w->field; w++) {
        if (w->str) {
            const char *got = string_field(&c, w->field);
            ck_assert_msg(strcmp(got, w->str) == 0, "%s: %s = \"%s\", want \"%s\"",
                          rel ? rel : "defaults", w->field, got, w->str);
        } else {
            double got = field_value(&c, w->field);
            ck_assert_msg(got == w->num, "%s: %s = %g, want %g", rel ? rel : "defaults", w->field,
                          got, w->num);
        }
    }
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
        {"setuptimeout 3\n", "setuptimeout", 3},     /* ours: the set-up bounds */
        {"setuptimeout 0\n", "setuptimeout", 0},
        {"maxsetupsessions 0\n", "maxsetupsessions", 0},
        {"MaxSetupPerAddr 2\n", "maxsetupperaddr", 2},
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
        tu_assert_error_at(e.msg, p, bad[i].line, bad[i].why, i);
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
    p = tu_write_file_n(tu_dir, "nul.conf", "dieby 1\ndie\0by 2\n", 17);
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
        tu_fill_garbage(buf, n, alphabet, &x);
        p = tu_write_file_n(tu_dir, "junk.conf", buf, n);
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
    snprintf(p, sizeof p, "%s/absent.conf", tu_dir);
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
    ck_assert_int_eq(owp_server_conf_find(tu_dir, "conf", path, sizeof path), 0);
    snprintf(want, sizeof want, "%s/owamp-server.conf", tu_dir);
    ck_assert_str_eq(path, want);
    /* Only the manual's name. */
    free(tu_write_file(tu_dir, "owampd.conf", "dieby 1\n"));
    ck_assert_int_eq(owp_server_conf_find(tu_dir, "conf", path, sizeof path), 1);
    snprintf(want, sizeof want, "%s/owampd.conf", tu_dir);
    ck_assert_str_eq(path, want);
    /* Both: 2, the packaged name wins. */
    free(tu_write_file(tu_dir, "owamp-server.conf", "dieby 2\n"));
    ck_assert_int_eq(owp_server_conf_find(tu_dir, "conf", path, sizeof path), 2);
    snprintf(want, sizeof want, "%s/owamp-server.conf", tu_dir);
    ck_assert_str_eq(path, want);
    /* Each base is looked up on its own; a trailing '/' is not doubled. */
    free(tu_write_file(tu_dir, "owamp-server.pfs", "alice 61\n"));
    char dir_slash[4096];
    snprintf(dir_slash, sizeof dir_slash, "%s/", tu_dir);
    ck_assert_int_eq(owp_server_conf_find(dir_slash, "pfs", path, sizeof path), 1);
    snprintf(want, sizeof want, "%s/owamp-server.pfs", tu_dir);
    ck_assert_str_eq(path, want);
    ck_assert_int_eq(owp_server_conf_find(tu_dir, "limits", path, sizeof path), 0);
    /* No confdir: the current directory. */
    ck_assert_int_ge(owp_server_conf_find(NULL, "limits", path, sizeof path), 0);
    ck_assert_str_eq(path, "./owamp-server.limits");
    ck_assert_int_ge(owp_server_conf_find("", "limits", path, sizeof path), 0);
    ck_assert_str_eq(path, "./owamp-server.limits");
    /* Too small a buffer, bad arguments. */
    ck_assert_int_eq(owp_server_conf_find(tu_dir, "conf", path, 10), -1);
    ck_assert_int_eq(owp_server_conf_find(tu_dir, NULL, path, sizeof path), -1);
    ck_assert_int_eq(owp_server_conf_find(tu_dir, "conf", NULL, 10), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_loop_test(tc, conf_vector_sets_fields, 0, N_CONF_VECTORS);
    tcase_add_test(tc, broken_vector_names_true_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("syntax");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, reference_quirks_accepted);
    tcase_add_test(tc, errors_name_true_path_and_line);
    tcase_add_test(tc, hostile_input);
    tcase_add_test(tc, missing_file_and_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("find");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, find_prefers_existing_then_packaged_name);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
