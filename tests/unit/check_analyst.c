/*
 * check_analyst.c - the owmesh analysts' commands' pure parts: durations,
 * ISO-8601 and NTP times, periods, percentile lists (analyst_args.c); the
 * --every buckets aligned to the clock with partial first/last buckets
 * (analyst_args.c); the table and CSV writers and the machine formats'
 * shared precision (render_table.c); grid statistics, thresholds and
 * classes, missing never good (render_grid.c); SVG escaping and
 * well-formedness (render_svg.c, checked with a tag-balance parser here).
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyst.h"
#include "render.h"
#include "testutil.h"

/* ---- helpers ---- */

/* Run fn(fp, arg) into a memory buffer; caller frees. */
static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(fp);
    fn(fp, arg);
    fclose(fp);
    return buf;
}

/* Minimal XML well-formedness: every element closed in order, attributes
 * quoted, no raw '<' or '&' outside markup other than entities. Returns NULL
 * when balanced, else a static description. */
static const char *xml_balance(const char *s)
{
    static char why[128];
    char stack[64][32];
    int depth = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '&') {
            const char *e = strchr(p, ';');
            if (!e || e - p > 6)
                return "bare &";
            continue;
        }
        if (*p == '>')
            return "bare >";
        if (*p != '<')
            continue;
        const char *end = p + 1;
        char quote = 0;
        while (*end && (quote || *end != '>')) {
            if (*end == '"' || *end == '\'')
                quote = quote == *end ? 0 : quote ? quote : *end;
            else if (*end == '<' && !quote)
                return "< inside a tag";
            end++;
        }
        if (!*end)
            return "unterminated tag";
        if (p[1] == '/') {
            size_t n = strcspn(p + 2, " >");
            if (!depth || strncmp(stack[depth - 1], p + 2, n) || stack[depth - 1][n]) {
                snprintf(why, sizeof why, "</%.*s> does not close <%s>", (int)n, p + 2,
                         depth ? stack[depth - 1] : "nothing");
                return why;
            }
            depth--;
        } else if (end[-1] != '/' && p[1] != '?' && p[1] != '!') {
            if (depth == 64)
                return "too deep";
            size_t n = strcspn(p + 1, " />");
            snprintf(stack[depth++], sizeof stack[0], "%.*s", (int)(n < 31 ? n : 31), p + 1);
        }
        p = end;
    }
    return depth ? "unclosed element" : NULL;
}

/* ---- durations ---- */

START_TEST(duration_units)
{
    static const struct { const char *text; uint64_t s; } ok[] = {
        {"90", 90}, {"90s", 90}, {"5m", 300}, {"1h", 3600}, {"2d", 172800}, {"1w", 604800},
        {"1.5h", 5400}, {"0.5m", 30}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t s = 0;
        owp_err err = {0};
        ck_assert_msg(owmesh_parse_duration(ok[i].text, &s, &err) == OWP_OK, "%s: %s", ok[i].text,
                      err.msg);
        ck_assert_uint_eq(s, ok[i].s);
    }
}
END_TEST

START_TEST(duration_rejects)
{
    static const char *const bad[] = {"", "h", "-5m", "0", "0s", "5x", "5mm", "1e400", " 5",
                                      "0.2s", "nan", "5 m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t s = 7;
        owp_err err = {0};
        ck_assert_msg(owmesh_parse_duration(bad[i], &s, &err) == OWP_ERR_PARSE, "%s", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "bad duration"));
        ck_assert_uint_eq(s, 7);
    }
}
END_TEST

/* ---- times ---- */

#define NTP(unix_s) (((owp_num64)((unix_s) + 2208988800ULL)) << 32)

START_TEST(time_iso)
{
    static const struct { const char *text; owp_num64 t; } ok[] = {
        {"2024-11-23T10:00:00Z", NTP(1732356000)},
        {"2024-11-23T10:00:00", NTP(1732356000)},
        {"2024-11-23 10:00", NTP(1732356000)},
        {"2024-11-23T11:00:00+01:00", NTP(1732356000)},
        {"2024-11-23T09:30:00-0030", NTP(1732356000)},
        {"2024-11-23", NTP(1732320000)},
        {"2024-02-29T00:00:00Z", NTP(1709164800)},
        {"2024-11-23T10:00:00.5Z", NTP(1732356000) + 0x80000000u},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        owp_num64 t = 0;
        owp_err err = {0};
        ck_assert_msg(owmesh_parse_time(ok[i].text, 0, &t, &err) == OWP_OK, "%s: %s", ok[i].text,
                      err.msg);
        ck_assert_msg(t == ok[i].t, "%s: %llx != %llx", ok[i].text, (unsigned long long)t,
                      (unsigned long long)ok[i].t);
    }
}
END_TEST

START_TEST(time_ntp_and_now)
{
    owp_num64 t;
    owp_err err = {0};
    /* A powstream file name: the 32.32 value itself. */
    ck_assert_int_eq(owmesh_parse_time("17198800808123080680", 0, &t, &err), OWP_OK);
    ck_assert(t == 17198800808123080680ULL);
    /* NTP seconds, with a fraction. */
    ck_assert_int_eq(owmesh_parse_time("3941107200.5", 0, &t, &err), OWP_OK);
    ck_assert(t == ((owp_num64)3941107200u << 32) + 0x80000000u);
    ck_assert_int_eq(owmesh_parse_time("3941107200", 0, &t, &err), OWP_OK);
    ck_assert(t == (owp_num64)3941107200u << 32);
    ck_assert_int_eq(owmesh_parse_time("now", 1234, &t, &err), OWP_OK);
    ck_assert(t == 1234);
}
END_TEST

START_TEST(time_rejects)
{
    static const char *const bad[] = {"", "yesterday", "2024-13-01", "2024-02-30", "2024-11-23T25:00",
                                      "2024-11-23T10:00Zjunk", "2024-11-23T10:00+25:00", "1.2.3",
                                      "99999999999999999999999", "4294967296.5", "1899-12-31"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        owp_num64 t = 0;
        owp_err err = {0};
        ck_assert_msg(owmesh_parse_time(bad[i], 0, &t, &err) == OWP_ERR_PARSE, "%s", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "ISO-8601"));
    }
}
END_TEST

START_TEST(format_iso_round_trip)
{
    char buf[48];
    owmesh_format_iso(NTP(1732356000), buf, sizeof buf);
    ck_assert_str_eq(buf, "2024-11-23T10:00:00Z");
    owmesh_format_iso(NTP(1732356000) + 0x80000000u, buf, sizeof buf);
    ck_assert_str_eq(buf, "2024-11-23T10:00:00.500Z");
    owp_num64 t;
    owp_err err = {0};
    ck_assert_int_eq(owmesh_parse_time(buf, 0, &t, &err), OWP_OK);
    ck_assert(t == NTP(1732356000) + 0x80000000u);
    owmesh_format_age(45, buf, sizeof buf);
    ck_assert_str_eq(buf, "45s");
    owmesh_format_age(725, buf, sizeof buf);
    ck_assert_str_eq(buf, "12m05s");
    owmesh_format_age(2 * 86400 + 4 * 3600 + 5, buf, sizeof buf);
    ck_assert_str_eq(buf, "2d04h");
}
END_TEST

/* ---- periods ---- */

START_TEST(period_since_from_to)
{
    owmesh_common c;
    owmesh_common_init(&c);
    owp_num64 now, from, to;
    owp_err err = {0};
    c.now = "2024-11-23T10:00:00Z";
    ck_assert_int_eq(owmesh_common_period(&c, 3600, &now, &from, &to, &err), OWP_OK);
    ck_assert(now == NTP(1732356000) && to == now && from == NTP(1732356000 - 3600));
    c.since = "5m";
    ck_assert_int_eq(owmesh_common_period(&c, 3600, &now, &from, &to, &err), OWP_OK);
    ck_assert(from == NTP(1732356000 - 300));
    c.since = NULL;
    c.from = "2024-11-23T09:00:00Z";
    c.to = "2024-11-23T09:30:00Z";
    ck_assert_int_eq(owmesh_common_period(&c, 3600, &now, &from, &to, &err), OWP_OK);
    ck_assert(from == NTP(1732352400) && to == NTP(1732354200));
    c.since = "1h"; /* with --from: refused */
    ck_assert_int_eq(owmesh_common_period(&c, 3600, &now, &from, &to, &err), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "exclude"));
    c.since = NULL;
    c.from = "2024-11-23T09:30:00Z"; /* from == to: empty */
    ck_assert_int_eq(owmesh_common_period(&c, 3600, &now, &from, &to, &err), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty period"));
    c.from = "bogus";
    ck_assert_int_eq(owmesh_common_period(&c, 3600, &now, &from, &to, &err), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "--from: bad time \"bogus\""));
}
END_TEST

START_TEST(common_options_and_store_default)
{
    setenv(OWMESH_STORE_ENV, "/srv/store", 1);
    owmesh_common c;
    owmesh_common_init(&c);
    ck_assert_str_eq(c.store_dir, "/srv/store");
    unsetenv(OWMESH_STORE_ENV);
    owmesh_common_init(&c);
    ck_assert_str_eq(c.store_dir, OWMESH_DEFAULT_STORE);
    ck_assert_int_eq(owmesh_common_opt(&c, OWMESH_OPT_SRC, "a"), 1);
    ck_assert_int_eq(owmesh_common_opt(&c, 'x', "a"), 0);
    ck_assert_str_eq(c.src, "a");
}
END_TEST

/* ---- percentiles ---- */

START_TEST(percentile_lists)
{
    double p[STORE_MAX_PERCENTILES];
    size_t n = 0;
    owp_err err = {0};
    ck_assert_int_eq(owmesh_parse_percentiles("50,90,99,99.9", p, &n, &err), OWP_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert(p[0] == 50 && p[1] == 90 && p[2] == 99 && p[3] == 99.9);
    ck_assert_int_eq(owmesh_parse_percentiles("0,100", p, &n, &err), OWP_OK);
    ck_assert_uint_eq(n, 2);
    static const char *const bad[] = {"", "50,", ",50", "101", "-1", "50;90", "abc", "50,,90"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(owmesh_parse_percentiles(bad[i], p, &n, &err) == OWP_ERR_PARSE, "%s",
                      bad[i]);
    char many[200] = "1";
    for (int i = 2; i <= STORE_MAX_PERCENTILES + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", i);
    ck_assert_int_eq(owmesh_parse_percentiles(many, p, &n, &err), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "at most"));
    char label[24];
    owmesh_format_percentile(50, label, sizeof label);
    ck_assert_str_eq(label, "50");
    owmesh_format_percentile(99.9, label, sizeof label);
    ck_assert_str_eq(label, "99.9");
    owmesh_format_percentile(99.999, label, sizeof label);
    ck_assert_str_eq(label, "99.999");
}
END_TEST

/* ---- tables and CSV ---- */

static void print_plain(FILE *fp, const void *t) { owmesh_table_print(t, fp); }
static void print_csv(FILE *fp, const void *t) { owmesh_table_print_csv(t, fp); }

START_TEST(table_alignment_and_csv)
{
    const char *hdr[] = {"path", "sent", "p50"};
    owmesh_table *t = owmesh_table_new(3, hdr);
    ck_assert_ptr_nonnull(t);
    owmesh_table_left(t, 0);
    const char *r1[] = {"a -> b", "1000", "0.044"};
    const char *r2[] = {"x, \"y\"", "7", NULL};
    ck_assert_int_eq(owmesh_table_add(t, r1), 0);
    ck_assert_int_eq(owmesh_table_add(t, r2), 0);
    ck_assert_uint_eq(owmesh_table_rows(t), 2);
    char *text = capture(print_plain, t);
    ck_assert_str_eq(text, "path    sent    p50\n"
                           "a -> b  1000  0.044\n"
                           "x, \"y\"     7\n");
    free(text);
    text = capture(print_csv, t);
    ck_assert_str_eq(text, "path,sent,p50\n"
                           "a -> b,1000,0.044\n"
                           "\"x, \"\"y\"\"\",7,\n");
    free(text);
    owmesh_table_destroy(&t);
    ck_assert_ptr_null(t);
    owmesh_table_destroy(&t); /* NULL is fine */
    char ms[32];
    owmesh_format_ms(0.0123456, ms, sizeof ms);
    ck_assert_str_eq(ms, "12.346");
}
END_TEST

START_TEST(table_grows)
{
    const char *hdr[] = {"n"};
    owmesh_table *t = owmesh_table_new(1, hdr);
    for (int i = 0; i < 1000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *row[] = {v};
        ck_assert_int_eq(owmesh_table_add(t, row), 0);
    }
    char *text = capture(print_csv, t);
    ck_assert_ptr_nonnull(strstr(text, "\n999\n"));
    free(text);
    owmesh_table_destroy(&t);
}
END_TEST

static void print_body(FILE *fp, const void *t) { owmesh_table_print_body(t, fp); }

START_TEST(table_body_aligned_without_header)
{
    const char *hdr[] = {"a-very-long-header", "x"};
    owmesh_table *t = owmesh_table_new(2, hdr);
    owmesh_table_left(t, 0);
    owmesh_table_left(t, 1);
    const char *r1[] = {"alpha -> bravo", "interval=0.1"};
    const char *r2[] = {"n1 -> n2", "interval=1"};
    owmesh_table_add(t, r1);
    owmesh_table_add(t, r2);
    char *text = capture(print_body, t);
    /* aligned over the rows alone: the header's width does not count */
    ck_assert_str_eq(text, "alpha -> bravo  interval=0.1\n"
                           "n1 -> n2        interval=1\n");
    free(text);
    owmesh_table_destroy(&t);
}
END_TEST

/* The CSV text of a figure is the JSON's: the same number, parsed back. */
START_TEST(csv_has_the_json_precision)
{
    static const double seconds[] = {0.0000441234567, 0.012345678912, 1.5, 123.456789012345,
                                     -0.000001234, 0};
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
        double ms = owmesh_ms_ns(seconds[i]);
        char csv[64];
        owmesh_format_real(ms, csv, sizeof csv);
        json_t *v = json_real(ms);
        char *js = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(OWMESH_JSON_PRECISION));
        ck_assert_msg(strtod(csv, NULL) == strtod(js, NULL), "%g s: CSV %s, JSON %s", seconds[i],
                      csv, js);
        free(js);
        json_decref(v);
    }
    /* nanosecond resolution, not the table's microsecond */
    char buf[64];
    owmesh_format_real(owmesh_ms_ns(0.0000441234567), buf, sizeof buf);
    ck_assert_str_eq(buf, "0.044123");
    owmesh_format_real(1.0746352, buf, sizeof buf); /* a loss %: not cut to 3 places */
    ck_assert_str_eq(buf, "1.0746352");
}
END_TEST

/* ---- buckets ---- */

static owp_num64 at(const char *iso)
{
    owp_num64 t;
    owp_err err = {0};
    ck_assert_int_eq(owmesh_parse_time(iso, 0, &t, &err), OWP_OK);
    return t;
}

START_TEST(bucket_floor_on_the_clock)
{
    ck_assert(owmesh_bucket_floor(at("2026-11-23T10:00:42.5Z"), 60) == at("2026-11-23T10:00:00Z"));
    ck_assert(owmesh_bucket_floor(at("2026-11-23T10:00:00Z"), 60) == at("2026-11-23T10:00:00Z"));
    ck_assert(owmesh_bucket_floor(at("2026-11-23T10:59:59Z"), 3600) == at("2026-11-23T10:00:00Z"));
    ck_assert(owmesh_bucket_floor(at("2026-11-23T23:59:59Z"), 86400) == at("2026-11-23T00:00:00Z"));
    ck_assert(owmesh_bucket_floor(at("2026-11-23T10:07:00Z"), 300) == at("2026-11-23T10:05:00Z"));
    /* 2026-11-26 is a Thursday: its week began on Monday the 23rd */
    ck_assert(owmesh_bucket_floor(at("2026-11-26T12:00:00Z"), 7 * 86400) ==
              at("2026-11-23T00:00:00Z"));
    ck_assert(owmesh_bucket_floor(at("2026-11-22T23:59:59Z"), 7 * 86400) ==
              at("2026-11-16T00:00:00Z"));
    /* before 1970: still whole multiples */
    ck_assert(owmesh_bucket_floor(at("1969-12-31T23:59:30Z"), 60) == at("1969-12-31T23:59:00Z"));
}
END_TEST

START_TEST(bucket_plan_partial_ends)
{
    owmesh_span sp[3];
    /* 10:00:30 .. 10:03:10 in minutes: partial, whole 10:01-10:03, partial */
    size_t n = owmesh_bucket_plan(at("2026-11-23T10:00:30Z"), at("2026-11-23T10:03:10Z"), 60, sp);
    ck_assert_uint_eq(n, 3);
    ck_assert(sp[0].from == at("2026-11-23T10:00:30Z") && sp[0].to == at("2026-11-23T10:01:00Z"));
    ck_assert(sp[0].partial && sp[0].every == 0);
    ck_assert(sp[1].from == at("2026-11-23T10:01:00Z") && sp[1].to == at("2026-11-23T10:03:00Z"));
    ck_assert(!sp[1].partial && sp[1].every == 60);
    ck_assert(sp[2].from == at("2026-11-23T10:03:00Z") && sp[2].to == at("2026-11-23T10:03:10Z"));
    ck_assert(sp[2].partial && sp[2].every == 0);
    /* aligned both ends: whole buckets only */
    n = owmesh_bucket_plan(at("2026-11-23T10:00:00Z"), at("2026-11-23T12:00:00Z"), 3600, sp);
    ck_assert_uint_eq(n, 1);
    ck_assert(!sp[0].partial && sp[0].every == 3600);
    /* aligned start, ragged end */
    n = owmesh_bucket_plan(at("2026-11-23T10:00:00Z"), at("2026-11-23T10:01:30Z"), 60, sp);
    ck_assert_uint_eq(n, 2);
    ck_assert(!sp[0].partial && sp[1].partial && sp[1].from == at("2026-11-23T10:01:00Z"));
    /* inside one bucket: one partial span */
    n = owmesh_bucket_plan(at("2026-11-23T10:00:10Z"), at("2026-11-23T10:00:50Z"), 60, sp);
    ck_assert_uint_eq(n, 1);
    ck_assert(sp[0].partial && sp[0].from == at("2026-11-23T10:00:10Z") &&
              sp[0].to == at("2026-11-23T10:00:50Z"));
    /* ending on the boundary of the only bucket it touches */
    n = owmesh_bucket_plan(at("2026-11-23T10:00:10Z"), at("2026-11-23T10:01:00Z"), 60, sp);
    ck_assert_uint_eq(n, 1);
    ck_assert(sp[0].partial && sp[0].to == at("2026-11-23T10:01:00Z"));
    /* no --every: the period, not partial */
    n = owmesh_bucket_plan(at("2026-11-23T10:00:10Z"), at("2026-11-23T10:01:00Z"), 0, sp);
    ck_assert_uint_eq(n, 1);
    ck_assert(!sp[0].partial && sp[0].every == 0);
}
END_TEST

/* ---- grid classes ---- */

static store_row data_row(double median_s, uint64_t sent, uint64_t lost)
{
    store_row r;
    memset(&r, 0, sizeof r);
    r.sent = sent;
    r.lost = lost;
    r.received = sent - lost;
    r.loss_pct = sent ? 100.0 * (double)lost / (double)sent : 0;
    r.has_delay = r.received > 0;
    r.min = r.max = r.percentiles[0] = median_s;
    r.ipdv_pairs = r.received > 1 ? r.received - 1 : 0;
    r.jitter = 0.002;
    r.hops_min = r.hops_max = r.has_delay ? 3 : -1;
    r.source = STORE_SOURCE_RAW;
    return r;
}

START_TEST(stat_parse)
{
    owmesh_stat s;
    owp_err err = {0};
    ck_assert_int_eq(owmesh_stat_parse("median", &s, &err), OWP_OK);
    ck_assert(s.kind == OWMESH_STAT_PERCENTILE && s.percentile == 50);
    ck_assert_str_eq(s.unit, "ms");
    ck_assert_int_eq(owmesh_stat_parse("p99.9", &s, &err), OWP_OK);
    ck_assert(s.percentile == 99.9);
    ck_assert_int_eq(owmesh_stat_parse("loss", &s, &err), OWP_OK);
    ck_assert(s.kind == OWMESH_STAT_LOSS_PCT);
    ck_assert_int_eq(owmesh_stat_parse("loss-count", &s, &err), OWP_OK);
    ck_assert_str_eq(s.unit, "packets");
    ck_assert_int_eq(owmesh_stat_parse("jitter", &s, &err), OWP_OK);
    static const char *const bad[] = {"", "p", "p101", "pxx", "mean", "p50x", "loss%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(owmesh_stat_parse(bad[i], &s, &err) == OWP_ERR_PARSE, "%s", bad[i]);
}
END_TEST

START_TEST(missing_is_never_good)
{
    owmesh_stat s;
    owp_err err = {0};
    owmesh_cell cell;
    static const char *const stats[] = {"median", "p99", "min", "max", "loss", "loss-count",
                                        "jitter", "dups", "reordered"};
    store_row empty;
    memset(&empty, 0, sizeof empty);
    empty.empty = 1;
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        ck_assert_int_eq(owmesh_stat_parse(stats[i], &s, &err), OWP_OK);
        /* Generous thresholds: anything with a value would be good. */
        owmesh_cell_classify(&s, 1e9, 1e10, 1, NULL, &cell);
        ck_assert_int_eq(cell.cls, OWMESH_CELL_MISSING);
        ck_assert_str_eq(cell.text, "missing");
        ck_assert_int_eq(cell.has_value, 0);
        owmesh_cell_classify(&s, 1e9, 1e10, 1, &empty, &cell);
        ck_assert_int_eq(cell.cls, OWMESH_CELL_MISSING);
        owmesh_cell_classify(&s, 1e9, 1e10, 0, &empty, &cell);
        ck_assert_int_eq(cell.cls, OWMESH_CELL_NONE);
        /* Everything lost: delay and jitter cannot be good either. */
        store_row lost = data_row(0, 10, 10);
        owmesh_cell_classify(&s, 1e9, 1e10, 1, &lost, &cell);
        if (s.kind >= OWMESH_STAT_LOSS_PCT && s.kind != OWMESH_STAT_JITTER) {
            ck_assert_int_eq(cell.has_value, 1); /* counts are real values: thresholds decide */
            continue;
        }
        ck_assert_str_eq(cell.text, "all lost");
        ck_assert_int_eq(cell.cls, OWMESH_CELL_CRIT);
    }
}
END_TEST

START_TEST(thresholds)
{
    owmesh_stat s;
    owp_err err = {0};
    owmesh_cell cell;
    double warn, crit;
    ck_assert_int_eq(owmesh_stat_parse("median", &s, &err), OWP_OK);
    owmesh_stat_thresholds(&s, &warn, &crit);
    ck_assert(warn == 100 && crit == 250);
    store_row r = data_row(0.010, 100, 0); /* 10 ms */
    owmesh_cell_classify(&s, 10, 20, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_WARN); /* >= warn */
    ck_assert_str_eq(cell.text, "10.000");
    owmesh_cell_classify(&s, 10.001, 20, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_GOOD);
    owmesh_cell_classify(&s, 5, 10, 0, &r, &cell); /* data on an unexpected path: classified */
    ck_assert_int_eq(cell.cls, OWMESH_CELL_CRIT);

    ck_assert_int_eq(owmesh_stat_parse("loss", &s, &err), OWP_OK);
    owmesh_stat_thresholds(&s, &warn, &crit);
    r = data_row(0.010, 1000, 5); /* 0.5 % */
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_WARN);
    ck_assert_str_eq(cell.text, "0.50%");
    r = data_row(0.010, 1000, 0);
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_GOOD);

    ck_assert_int_eq(owmesh_stat_parse("loss-count", &s, &err), OWP_OK);
    owmesh_stat_thresholds(&s, &warn, &crit);
    r = data_row(0.010, 1000, 12);
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_CRIT);
    ck_assert_str_eq(cell.text, "12");

    ck_assert_int_eq(owmesh_stat_parse("jitter", &s, &err), OWP_OK);
    owmesh_stat_thresholds(&s, &warn, &crit);
    r = data_row(0.010, 1000, 0); /* jitter 2 ms */
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_WARN);
    r = data_row(0.010, 1, 0); /* one packet: P95 - P50 = 0, defined */
    r.jitter = 0;
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_GOOD);
    r = data_row(0.010, 1, 1); /* nothing arrived: no jitter, never good */
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_CRIT);
    ck_assert_str_eq(cell.text, "all lost");
    ck_assert_str_eq(owmesh_cell_class_name(OWMESH_CELL_MISSING), "missing");
    ck_assert_str_ne(owmesh_cell_class_fill(OWMESH_CELL_MISSING),
                     owmesh_cell_class_fill(OWMESH_CELL_GOOD));
}
END_TEST

/* ---- SVG ---- */

static void svg_sample(FILE *fp, const void *arg)
{
    (void)arg;
    owmesh_svg_begin(fp, 200, 100, "a <title> & \"quotes\"");
    owmesh_svg_rect(fp, 1, 2, 3, 4, "#fff", "#000", "tip <b> & 'x'");
    owmesh_svg_rect(fp, 1, 2, 3, 4, "#fff", NULL, NULL);
    owmesh_svg_text(fp, 5, 6, "middle", 12, "#000", "x < y && y > z\x01");
    owmesh_svg_line(fp, 0, 0, 10, 10, "#000", 1, "4 2");
    double xs[] = {1, 2, 3}, ys[] = {4, 5, 6};
    owmesh_svg_polyline(fp, xs, ys, 3, "#f00", 2);
    owmesh_svg_polyline(fp, xs, ys, 1, "#f00", 2);
    owmesh_svg_polyline(fp, xs, ys, 0, "#f00", 2);
    owmesh_svg_end(fp);
}

START_TEST(relative_thresholds)
{
    owmesh_stat s;
    owp_err err = {0};
    double warn, crit;
    ck_assert_int_eq(owmesh_stat_parse("p99", &s, &err), OWP_OK);
    ck_assert(owmesh_stat_is_delay(&s));
    ck_assert_int_eq(owmesh_stat_parse("loss", &s, &err), OWP_OK);
    ck_assert(!owmesh_stat_is_delay(&s));
    ck_assert_int_eq(owmesh_stat_parse("jitter", &s, &err), OWP_OK);
    ck_assert(!owmesh_stat_is_delay(&s));
    /* A LAN path (0.05 ms): the 1 ms and 5 ms floors, not 20 % / 50 %. */
    owmesh_relative_thresholds(0.05, &warn, &crit);
    ck_assert_double_eq_tol(warn, 1.05, 1e-12);
    ck_assert_double_eq_tol(crit, 5.05, 1e-12);
    /* A WAN path (180 ms): 20 % and 50 % above its own baseline. */
    owmesh_relative_thresholds(180, &warn, &crit);
    ck_assert_double_eq_tol(warn, 216, 1e-9);
    ck_assert_double_eq_tol(crit, 270, 1e-9);
    /* Where the fraction overtakes the floor: 5 ms x 20 % = 1 ms. */
    owmesh_relative_thresholds(5, &warn, &crit);
    ck_assert_double_eq_tol(warn, 6, 1e-12);
    ck_assert_double_eq_tol(crit, 10, 1e-12);
    /* Unsynchronised clocks: a negative baseline still gets a positive margin. */
    owmesh_relative_thresholds(-20, &warn, &crit);
    ck_assert_double_eq_tol(warn, -16, 1e-12);
    ck_assert_double_eq_tol(crit, -10, 1e-12);
    /* The same cell is good on one path and critical on another. */
    ck_assert_int_eq(owmesh_stat_parse("median", &s, &err), OWP_OK);
    store_row r = data_row(0.010, 100, 0); /* 10 ms */
    owmesh_cell cell;
    owmesh_relative_thresholds(9.5, &warn, &crit);
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_GOOD);
    owmesh_relative_thresholds(0.05, &warn, &crit);
    owmesh_cell_classify(&s, warn, crit, 1, &r, &cell);
    ck_assert_int_eq(cell.cls, OWMESH_CELL_CRIT);
    char text[300];
    owmesh_relative_rule_text(text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "baseline + max(20%, 1 ms)"));
    ck_assert_ptr_nonnull(strstr(text, "baseline + max(50%, 5 ms)"));
}
END_TEST

START_TEST(loss_ticks)
{
    double t[8];
    size_t n = owmesh_loss_ticks(0, t);
    ck_assert_uint_eq(n, 2);
    ck_assert(t[0] == 0 && t[1] == 1);
    n = owmesh_loss_ticks(1, t); /* exactly on a value: that value is the top */
    ck_assert_uint_eq(n, 2);
    ck_assert(t[1] == 1);
    n = owmesh_loss_ticks(3.2, t);
    ck_assert_uint_eq(n, 4);
    ck_assert(t[0] == 0 && t[1] == 1 && t[2] == 2 && t[3] == 5);
    n = owmesh_loss_ticks(12, t);
    ck_assert_uint_eq(n, 4);
    ck_assert(t[1] == 5 && t[2] == 10 && t[3] == 20);
    n = owmesh_loss_ticks(100, t);
    ck_assert_uint_eq(n, 4);
    ck_assert(t[0] == 0 && t[1] == 20 && t[2] == 50 && t[3] == 100);
}
END_TEST

START_TEST(scale_rule)
{
    /* 100 points near 10 ms and two spikes: the bulk (98th percentile,
     * nearest rank) ignores the spikes, the axis clips them. */
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 10 + (i % 7) * 0.3;
    v[40] = 900;
    v[41] = 650;
    double bulk = owmesh_scale_bulk(v, 100);
    ck_assert_double_eq_tol(bulk, 11.8, 1e-9);
    ck_assert(v[0] <= v[99]); /* sorted in place */
    int clipped = 0;
    double top = owmesh_scale_top(bulk, 900, 10, &clipped);
    ck_assert_int_eq(clipped, 1);
    ck_assert_double_eq_tol(top, 11.8 * OWMESH_SCALE_HEADROOM, 1e-9);
    /* Nothing far above the bulk: no clipping, the highest point plus a pad. */
    top = owmesh_scale_top(10, 12, 8, &clipped);
    ck_assert_int_eq(clipped, 0);
    ck_assert_double_eq_tol(top, 12 * (1 + OWMESH_SCALE_PAD), 1e-9);
    /* Negative delays (clock offset): the axis starts below zero. */
    top = owmesh_scale_top(-1, -1, -2, &clipped);
    ck_assert_int_eq(clipped, 0);
    ck_assert(top > -1);
    /* Few points: the 98th percentile is the largest, nothing is clipped. */
    double few[3] = {1, 500, 2};
    ck_assert(owmesh_scale_bulk(few, 3) == 500);
    ck_assert(owmesh_scale_bulk(few, 0) == 0);
}
END_TEST

START_TEST(log_ticks)
{
    double t[16];
    size_t n = owmesh_log_ticks(1, 1000, t, 16);
    ck_assert_uint_eq(n, 10); /* 1 2 5 10 20 50 100 200 500 1000 */
    ck_assert(t[0] == 1 && t[2] == 5 && t[9] == 1000);
    n = owmesh_log_ticks(0.001, 1000, t, 10); /* too many: decades only */
    ck_assert_uint_eq(n, 7);
    ck_assert_double_eq_tol(t[0], 0.001, 1e-15);
    ck_assert_double_eq_tol(t[6], 1000, 1e-9);
    ck_assert_uint_eq(owmesh_log_ticks(0, 10, t, 16), 0);
}
END_TEST

START_TEST(svg_well_formed)
{
    char *svg = capture(svg_sample, NULL);
    const char *why = xml_balance(svg);
    ck_assert_msg(why == NULL, "%s in:\n%s", why ? why : "", svg);
    ck_assert_ptr_nonnull(strstr(svg, "a &lt;title&gt; &amp; &quot;quotes&quot;"));
    ck_assert_ptr_nonnull(strstr(svg, "x &lt; y &amp;&amp; y &gt; z<"));
    ck_assert_ptr_null(strchr(svg, '\x01'));
    ck_assert_ptr_nonnull(strstr(svg, "<circle")); /* the lone point */
    ck_assert_ptr_null(strstr(svg, "href"));       /* self-contained */
    free(svg);
    /* The checker itself can fail. */
    ck_assert_ptr_nonnull(xml_balance("<svg><g></svg></g>"));
    ck_assert_ptr_nonnull(xml_balance("<svg>a & b</svg>"));
    ck_assert_ptr_nonnull(xml_balance("<svg>"));
}
END_TEST

START_TEST(nice_steps)
{
    ck_assert(owmesh_nice_step(10, 5) == 2);
    ck_assert(owmesh_nice_step(1, 5) == 0.2);
    ck_assert_double_eq_tol(owmesh_nice_step(0.9, 3), 0.2, 1e-12);
    ck_assert_double_eq_tol(owmesh_nice_step(8, 1), 10, 1e-12);
    ck_assert(owmesh_nice_step(3600, 8) == 500);
    ck_assert(owmesh_nice_step(0, 5) == 1);
}
END_TEST

static Suite *analyst_suite(void)
{
    Suite *s = suite_create("analyst");
    TCase *tc = tcase_create("durations");
    tcase_add_test(tc, duration_units);
    tcase_add_test(tc, duration_rejects);
    suite_add_tcase(s, tc);
    tc = tcase_create("times");
    tcase_add_test(tc, time_iso);
    tcase_add_test(tc, time_ntp_and_now);
    tcase_add_test(tc, time_rejects);
    tcase_add_test(tc, format_iso_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("periods");
    tcase_add_test(tc, period_since_from_to);
    tcase_add_test(tc, common_options_and_store_default);
    suite_add_tcase(s, tc);
    tc = tcase_create("percentiles");
    tcase_add_test(tc, percentile_lists);
    suite_add_tcase(s, tc);
    tc = tcase_create("tables");
    tcase_add_test(tc, table_alignment_and_csv);
    tcase_add_test(tc, table_grows);
    tcase_add_test(tc, table_body_aligned_without_header);
    tcase_add_test(tc, csv_has_the_json_precision);
    suite_add_tcase(s, tc);
    tc = tcase_create("buckets");
    tcase_add_test(tc, bucket_floor_on_the_clock);
    tcase_add_test(tc, bucket_plan_partial_ends);
    suite_add_tcase(s, tc);
    tc = tcase_create("grid");
    tcase_add_test(tc, stat_parse);
    tcase_add_test(tc, missing_is_never_good);
    tcase_add_test(tc, thresholds);
    tcase_add_test(tc, relative_thresholds);
    suite_add_tcase(s, tc);
    tc = tcase_create("svg");
    tcase_add_test(tc, svg_well_formed);
    tcase_add_test(tc, nice_steps);
    tcase_add_test(tc, loss_ticks);
    tcase_add_test(tc, scale_rule);
    tcase_add_test(tc, log_ticks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(analyst_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
