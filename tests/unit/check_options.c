/* check_options.c - option value parsers: every form programs.md §0/§5.1 lists. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "options.h"
#include "testpkt.h"
#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ int-valued parsers */

/* DSCP, syslog facility and log level all parse text into an int. */
typedef owp_status (*int_parser)(const char *text, int *out, owp_err *err);

typedef struct int_case {
    const char *text;
    int want;
} int_case;

/* What a parser must leave in place of its output when it refuses. */
#define UNTOUCHED 12345

/* Every case parses to its value. */
static void assert_parses(int_parser parse, const int_case *ok, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = UNTOUCHED;
        owp_err e;
        ck_assert_msg(parse(ok[i].text, &got, &e) == OWP_OK, "\"%s\": %s", ok[i].text, e.msg);
        ck_assert_msg(got == ok[i].want, "\"%s\" -> %d, want %d", ok[i].text, got, ok[i].want);
    }
}

/* want_fmt with its one "%s" replaced by text (not a printf format: the
 * message texts are data here). */
static void fill_in(char *out, size_t len, const char *want_fmt, const char *text)
{
    const char *hole = strstr(want_fmt, "%s");
    ck_assert_ptr_nonnull(hole);
    snprintf(out, len, "%.*s%s%s", (int)(hole - want_fmt), want_fmt, text, hole + 2);
}

/* Every text is refused, the output untouched, and the message begins with
 * want_fmt filled in with the text. */
static void assert_refuses(int_parser parse, const char *const *bad, size_t n, const char *want_fmt)
{
    for (size_t i = 0; i < n; i++) {
        int got = UNTOUCHED;
        owp_err e;
        ck_assert_msg(parse(bad[i], &got, &e) == OWP_ERR_PARSE, "\"%s\" accepted as %d", bad[i],
                      got);
        ck_assert_int_eq(got, UNTOUCHED);
        char want[128];
        fill_in(want, sizeof want, want_fmt, bad[i]);
        ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "%s", e.msg);
    }
}

/* ------------------------------------------------------------ authmode */

START_TEST(authmode_letters_any_case_any_combination)
{
    static const struct {
        const char *text;
        uint32_t modes;
    } ok[] = {
        {"O", OWP_MODE_OPEN},
        {"a", OWP_MODE_AUTH},
        {"E", OWP_MODE_ENCRYPTED},
        {"AEO", OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED},
        {"oae", OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED},
        {"EA", OWP_MODE_AUTH | OWP_MODE_ENCRYPTED},
        {"OO", OWP_MODE_OPEN},
    };
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        uint32_t m = 0;
        owp_err e;
        ck_assert_msg(owp_parse_authmode(ok[i].text, &m, &e) == OWP_OK, "%s: %s", ok[i].text,
                      e.msg);
        ck_assert_uint_eq(m, ok[i].modes);
    }
}
END_TEST

START_TEST(authmode_rejects_other_letters)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"X", "Invalid -authmode X"},
        {"AEX", "Invalid -authmode X"},
        {"A E", "Invalid -authmode  "},
        {"", "Invalid -authmode \"\""},
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        uint32_t m = 99;
        owp_err e;
        ck_assert_int_eq(owp_parse_authmode(bad[i].text, &m, &e), OWP_ERR_PARSE);
        ck_assert_uint_eq(m, 99);
        ck_assert_msg(strncmp(e.msg, bad[i].msg, strlen(bad[i].msg)) == 0, "%s", e.msg);
    }
}
END_TEST

/* ------------------------------------------------------------ port ranges */

static const struct {
    const char *text;
    int client;
    int ok;
    uint16_t low, high;
} port_cases[] = {
    {"0", 1, 1, 0, 0},
    {"0", 0, 1, 0, 0},
    {"0-0", 1, 1, 0, 0},
    {"0-0", 0, 1, 0, 0},
    {"8760-9960", 1, 1, 8760, 9960},
    {"9000-9999", 0, 1, 9000, 9999},
    {" 8870 - 8899", 1, 1, 8870, 8899},     /* blanks around numbers */
    {"8870-8899junk", 1, 1, 8870, 8899},    /* trailing junk after high ignored */
    {"8870-8899 x", 0, 1, 8870, 8899},
    {"5000", 1, 1, 5000, 5000},             /* single non-zero N = N-N */
    {"5000", 0, 1, 5000, 5000},
    {"0-65535", 0, 1, 0, 65535},
    {"65535", 1, 1, 65535, 65535},
    {" 0", 1, 0, 0, 0},                     /* only the exact "0" is ephemeral for clients */
    {" 0", 0, 1, 0, 0},
    {"00", 1, 0, 0, 0},
    {"", 1, 0, 0, 0},
    {"", 0, 0, 0, 0},
    {"-", 0, 0, 0, 0},
    {"abc", 1, 0, 0, 0},
    {"10x", 1, 0, 0, 0},                    /* junk after a single number */
    {"9000-", 0, 0, 0, 0},
    {"9000-8000", 1, 0, 0, 0},              /* high < low */
    {"65536", 0, 0, 0, 0},
    {"1-65536", 1, 0, 0, 0},
    {"-5", 1, 0, 0, 0},
    {"5--6", 1, 0, 0, 0},
    {"99999999999999999999", 0, 0, 0, 0},
};

START_TEST(portrange_table)
{
    for (size_t i = 0; i < N_ELEMS(port_cases); i++) {
        owp_portrange pr = {1, 1};
        owp_err e;
        owp_status st = owp_parse_portrange(port_cases[i].text, port_cases[i].client, &pr, &e);
        if (port_cases[i].ok) {
            ck_assert_msg(st == OWP_OK, "\"%s\" client=%d: %s", port_cases[i].text,
                          port_cases[i].client, e.msg);
            ck_assert_uint_eq(pr.low, port_cases[i].low);
            ck_assert_uint_eq(pr.high, port_cases[i].high);
        } else {
            ck_assert_msg(st == OWP_ERR_PARSE, "\"%s\" client=%d accepted",
                          port_cases[i].text, port_cases[i].client);
            ck_assert_uint_eq(pr.low, 1); /* untouched on failure */
            ck_assert_ptr_nonnull(strstr(e.msg, "Invalid port-range: \""));
        }
    }
}
END_TEST

/* ------------------------------------------------------------ DSCP */

START_TEST(dscp_names_table)
{
    /* programs.md §5.1 table, in every accepted spelling. */
    static const int_case ok[] = {
        {"none", 0},  {"NONE", 0},   {"default", 0}, {"Default", 0}, {"df", 0},  {"DF", 0},
        {"CS0", 0},   {"cs0", 0},    {"CS1", 8},     {"cS1", 8},     {"CS2", 16}, {"CS3", 24},
        {"CS4", 32},  {"CS5", 40},   {"CS6", 48},    {"CS7", 56},    {"ef", 46},  {"EF", 46},
        {"eF", 46},   {"AF11", 10},  {"AF12", 12},   {"AF13", 14},   {"AF21", 18}, {"AF22", 20},
        {"AF23", 22}, {"AF31", 26},  {"AF32", 28},   {"AF33", 30},   {"AF41", 34}, {"AF42", 36},
        {"AF43", 38}, {"Af11", 10},  {"AF41 ", 34},  {"CS5\t", 40},  {" ef", 46},  {"  AF12", 12},
    };
    assert_parses(owp_parse_dscp, ok, N_ELEMS(ok));
}
END_TEST

START_TEST(dscp_numbers_c_syntax)
{
    static const int_case ok[] = {
        {"0", 0},     {"46", 46}, {"63", 63}, {"0x2e", 46}, {"0X3F", 63}, {"056", 46},
        {" 10", 10},  {"+5", 5},  {"-0", 0},
        {"", 0},      /* reference: strtoul("") consumes everything -> 0 */
        {"   ", 0},   /* reference: blanks only fall through to "clean" -> 0 */
    };
    assert_parses(owp_parse_dscp, ok, N_ELEMS(ok));
}
END_TEST

START_TEST(dscp_rejects)
{
    static const char *const bad[] = {
        "64", "0x40", "-1", "99999999999999999999999", "08", "0x", "5 x", "1.5",
        "af11",   /* AFxy needs an upper-case A (reference quirk) */
        "aF11", "AF14", "AF51", "AF1", "AF", "CS8", "CS", "CS1x", "CS12",
        "none x", "ef\t1", "efx", "dfault", "EF1", "nonex", "BE",
    };
    assert_refuses(owp_parse_dscp, bad, N_ELEMS(bad),
                   "Invalid DSCP value (-D): \"%s\": Invalid argument");
}
END_TEST

START_TEST(dscp_trailing_blanks)
{
    /* programs.md §5.1: "Trailing whitespace allowed", numbers and names alike. */
    static const int_case ok[] = {
        {"46 ", 46},   {"0x2e\t", 46}, {" 10  ", 10},  {"ef ", 46},  {"EF\n", 46},
        {"none ", 0},  {"default\t", 0}, {"df  ", 0},  {"CS3\t", 24}, {"AF41 ", 34},
    };
    assert_parses(owp_parse_dscp, ok, N_ELEMS(ok));
}
END_TEST

/* ------------------------------------------------------------ syslog */

START_TEST(facility_prefix_match_in_reference_order)
{
    static const int_case ok[] = {
        {"auth", LOG_AUTH},       {"AUTH", LOG_AUTH},     {"authpriv", LOG_AUTH},
        {"cron", LOG_CRON},       {"daemon", LOG_DAEMON}, {"Daemon", LOG_DAEMON},
        {"daemonXYZ", LOG_DAEMON}, {"ftp", LOG_FTP},      {"kern", LOG_KERN},
        {"lpr", LOG_LPR},         {"mail", LOG_MAIL},     {"news", LOG_NEWS},
        {"syslog", LOG_SYSLOG},   {"user", LOG_USER},     {"uucp", LOG_UUCP},
        {"local0", LOG_LOCAL0},   {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
        {"local3", LOG_LOCAL3},   {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
        {"local6", LOG_LOCAL6},   {"LOCAL7", LOG_LOCAL7}, {"local77", LOG_LOCAL7},
    };
    assert_parses(owp_parse_facility, ok, N_ELEMS(ok));
    static const char *const bad[] = {"LOG_DAEMON", "dae", "local", "local8", "", " daemon", "x"};
    assert_refuses(owp_parse_facility, bad, N_ELEMS(bad), "Syslog facility \"%s\" unknown");
}
END_TEST

START_TEST(loglevel_whole_words)
{
    static const int_case ok[] = {
        {"fatal", LOG_ERR},   {"FATAL", LOG_ERR},  {"warning", LOG_WARNING}, {"info", LOG_INFO},
        {"Info", LOG_INFO},   {"debug", LOG_DEBUG}, {"all", LOG_DEBUG},      {"none", -1},
        {"NONE", -1},
    };
    assert_parses(owp_parse_loglevel, ok, N_ELEMS(ok));
    static const char *const bad[] = {"WARN", "warn", "err", "information", "info ", "", "debug2"};
    assert_refuses(owp_parse_loglevel, bad, N_ELEMS(bad), "Log level \"%s\" invalid");
}
END_TEST

/* ------------------------------------------------------------ numbers */

START_TEST(uint32_strict)
{
    static const struct {
        const char *text;
        uint32_t v;
    } ok[] = {{"0", 0}, {"100", 100}, {"007", 7}, {"4294967295", 4294967295u}};
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        uint32_t v = 1;
        owp_err e;
        ck_assert_msg(owp_parse_uint32(ok[i].text, "-c", &v, &e) == OWP_OK, "%s", ok[i].text);
        ck_assert_uint_eq(v, ok[i].v);
    }
    static const char *bad[] = {"", " 5", "5 ", "+5", "-5", "5x", "0x10", "4294967296",
                                "99999999999999999999999", "1.0"};
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        uint32_t v = 1;
        owp_err e;
        ck_assert_msg(owp_parse_uint32(bad[i], "-c", &v, &e) == OWP_ERR_PARSE, "\"%s\" accepted",
                      bad[i]);
        ck_assert_uint_eq(v, 1);
        ck_assert_ptr_nonnull(strstr(e.msg, "-c"));
    }
}
END_TEST

START_TEST(double_strict)
{
    static const struct {
        const char *text;
        double v;
    } ok[] = {{"0", 0}, {"0.05", 0.05}, {"1e-3", 0.001}, {"-2.5", -2.5}, {"10", 10}};
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        double v = 99;
        owp_err e;
        ck_assert_msg(owp_parse_double(ok[i].text, "-L", &v, &e) == OWP_OK, "%s", ok[i].text);
        ck_assert_double_eq(v, ok[i].v);
    }
    static const char *bad[] = {"", " 1", "1 ", "1s", "abc", "nan", "inf", "1e999", "0.1e"};
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        double v = 99;
        owp_err e;
        ck_assert_msg(owp_parse_double(bad[i], "-L", &v, &e) == OWP_ERR_PARSE, "\"%s\" accepted",
                      bad[i]);
        ck_assert_double_eq(v, 99);
    }
}
END_TEST

START_TEST(null_arguments_are_refused)
{
    uint32_t u;
    int i;
    owp_portrange pr;
    ck_assert_int_eq(owp_parse_authmode(NULL, &u, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_parse_portrange(NULL, 1, &pr, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_parse_dscp(NULL, &i, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_parse_facility("daemon", NULL, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_parse_loglevel(NULL, &i, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_parse_uint32(NULL, "x", &u, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_parse_double("1", "x", NULL, NULL), OWP_ERR_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("authmode");
    tcase_add_test(tc, authmode_letters_any_case_any_combination);
    tcase_add_test(tc, authmode_rejects_other_letters);
    suite_add_tcase(s, tc);
    tc = tcase_create("portrange");
    tcase_add_test(tc, portrange_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("dscp");
    tcase_add_test(tc, dscp_names_table);
    tcase_add_test(tc, dscp_numbers_c_syntax);
    tcase_add_test(tc, dscp_rejects);
    tcase_add_test(tc, dscp_trailing_blanks);
    suite_add_tcase(s, tc);
    tc = tcase_create("syslog");
    tcase_add_test(tc, facility_prefix_match_in_reference_order);
    tcase_add_test(tc, loglevel_whole_words);
    suite_add_tcase(s, tc);
    tc = tcase_create("numbers");
    tcase_add_test(tc, uint32_strict);
    tcase_add_test(tc, double_strict);
    tcase_add_test(tc, null_arguments_are_refused);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
