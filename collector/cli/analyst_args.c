/*
 * analyst_args.c - periods, times, durations and percentile lists of the
 * analysts' commands (see analyst.h). Pure functions: no store, no mesh.
 */
#include "analyst.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

owp_status owmesh_parse_duration(const char *text, uint64_t *seconds, owp_err *err)
{
    static const struct { char unit; double seconds; } units[] = {
        {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    char *end;
    errno = 0;
    double v = text && *text && !isspace((unsigned char)*text) ? strtod(text, &end) : NAN;
    if (isnan(v) || errno || end == text || v <= 0)
        goto bad;
    double scale = 1;
    if (*end) {
        size_t i;
        for (i = 0; i < sizeof units / sizeof units[0]; i++)
            if (*end == units[i].unit)
                break;
        if (i == sizeof units / sizeof units[0] || end[1])
            goto bad;
        scale = units[i].seconds;
    }
    double s = round(v * scale);
    if (!(s >= 1) || s > 100.0 * 365 * 86400)
        goto bad;
    *seconds = (uint64_t)s;
    return OWP_OK;
bad:
    return owp_err_set(err, OWP_ERR_PARSE,
                       "bad duration \"%s\": expected a positive number with an optional unit "
                       "s, m, h, d or w (e.g. 90s, 5m, 1h, 7d), at least one second and at most "
                       "100 years", text ? text : "");
}

/* Read exactly n digits into *v. */
static int digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return 0;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 1;
}

static int parse_zone(const char *p, long *offset)
{
    *offset = 0;
    if (!*p)
        return 1;
    if ((*p == 'Z' || *p == 'z') && !p[1])
        return 1;
    if (*p != '+' && *p != '-')
        return 0;
    int sign = *p == '-' ? -1 : 1, hh, mm = 0;
    p++;
    if (!digits(&p, 2, &hh))
        return 0;
    if (*p == ':')
        p++;
    if (*p && !digits(&p, 2, &mm))
        return 0;
    if (*p || hh > 23 || mm > 59)
        return 0;
    *offset = sign * (hh * 3600L + mm * 60L);
    return 1;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

static int parse_iso(const char *text, owp_num64 *t)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0;
    double frac = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return 0;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &s))
                return 0;
            if (*p == '.' || *p == ',') {
                const char *f = ++p;
                double scale = 0.1;
                while (isdigit((unsigned char)*p)) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
                if (p == f)
                    return 0;
            }
        }
    }
    long offset;
    if (!parse_zone(p, &offset))
        return 0;
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || s > 60)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = s};
    int64_t unix_s = (int64_t)timegm(&tm) - offset;
    int64_t ntp_s = unix_s + (int64_t)OWP_NTP_UNIX_OFFSET;
    if (ntp_s < 0 || ntp_s > (int64_t)UINT32_MAX)
        return 0;
    *t = ((owp_num64)ntp_s << 32) + (owp_num64)(frac * 4294967296.0);
    return 1;
}

static int parse_ntp(const char *text, owp_num64 *t)
{
    const char *p = text;
    int dot = 0;
    if (!*p)
        return 0;
    for (; *p; p++) {
        if (*p == '.' && !dot)
            dot = 1;
        else if (!isdigit((unsigned char)*p))
            return 0;
    }
    if (!dot) {
        errno = 0;
        char *end;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || *end)
            return 0;
        *t = v > UINT32_MAX ? (owp_num64)v : (owp_num64)v << 32;
        return 1;
    }
    double v = strtod(text, NULL);
    if (!(v >= 0) || v >= 4294967296.0)
        return 0;
    *t = owp_num64_from_double(v);
    return 1;
}

owp_status owmesh_parse_time(const char *text, owp_num64 now, owp_num64 *t, owp_err *err)
{
    if (text && !strcmp(text, "now")) {
        *t = now;
        return OWP_OK;
    }
    if (text && (parse_ntp(text, t) || parse_iso(text, t)))
        return OWP_OK;
    return owp_err_set(err, OWP_ERR_PARSE,
                       "bad time \"%s\": expected ISO-8601 (2024-11-23T10:00:00Z, "
                       "2024-11-23 10:00+01:00, 2024-11-23), NTP seconds (3941107200.5), a 32.32 "
                       "NTP timestamp (17198800808123080680) or \"now\"", text ? text : "");
}

owp_status owmesh_parse_percentiles(const char *text, double *p, size_t *n, owp_err *err)
{
    const char *s = text ? text : "";
    size_t count = 0;
    for (;;) {
        char *end;
        errno = 0;
        double v = isdigit((unsigned char)*s) || *s == '.' ? strtod(s, &end) : NAN;
        if (isnan(v) || errno || end == s || v < 0 || v > 100 || (*end && *end != ','))
            return owp_err_set(err, OWP_ERR_PARSE,
                               "bad percentile list \"%s\": expected numbers in [0, 100] "
                               "separated by commas, e.g. 50,90,99,99.9", text ? text : "");
        if (count == STORE_MAX_PERCENTILES)
            return owp_err_set(err, OWP_ERR_PARSE, "bad percentile list \"%s\": at most %d values",
                               text, STORE_MAX_PERCENTILES);
        p[count++] = v;
        if (!*end)
            break;
        s = end + 1;
    }
    *n = count;
    return OWP_OK;
}

void owmesh_format_percentile(double p, char *buf, size_t len)
{
    /* Fixed notation, never an exponent: "50", "99.9", "99.999". */
    for (int prec = 0; prec <= 12; prec++) {
        snprintf(buf, len, "%.*f", prec, p);
        if (strtod(buf, NULL) == p)
            return;
    }
}

void owmesh_format_iso(owp_num64 t, char *buf, size_t len)
{
    time_t unix_s = (time_t)((int64_t)(t >> 32) - (int64_t)OWP_NTP_UNIX_OFFSET);
    struct tm tm;
    gmtime_r(&unix_s, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    uint32_t frac = (uint32_t)t;
    unsigned ms = (unsigned)((frac * 1000.0) / 4294967296.0);
    if (frac && ms)
        snprintf(buf, len, "%s.%03uZ", date, ms);
    else
        snprintf(buf, len, "%sZ", date);
}

void owmesh_format_age(uint64_t s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%us", (unsigned)s);
    else if (s < 3600)
        snprintf(buf, len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
    else if (s < 86400)
        snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
    else
        snprintf(buf, len, "%llud%02uh", (unsigned long long)(s / 86400),
                 (unsigned)(s % 86400 / 3600));
}

owp_num64 owmesh_bucket_floor(owp_num64 t, uint64_t every)
{
    uint64_t ref_unix = every % (7 * 86400) == 0 ? OWMESH_WEEK_EPOCH_UNIX : 0;
    owp_num64 ref = (owp_num64)(OWP_NTP_UNIX_OFFSET + ref_unix) << 32;
    owp_num64 step = (owp_num64)every << 32;
    if (t >= ref)
        return ref + (t - ref) / step * step;
    owp_num64 back = ((ref - t) + step - 1) / step * step; /* whole steps back to or past t */
    return back > ref ? t : ref - back; /* before 1900: no bucket, t itself */
}

size_t owmesh_bucket_plan(owp_num64 from, owp_num64 to, uint64_t every, owmesh_span spans[3])
{
    if (!every) {
        spans[0] = (owmesh_span){from, to, 0, 0};
        return 1;
    }
    owp_num64 first = owmesh_bucket_floor(from, every);
    owp_num64 whole_from = first == from ? from : first + ((owp_num64)every << 32);
    owp_num64 whole_to = owmesh_bucket_floor(to, every);
    if (whole_from > whole_to || whole_from >= to) { /* inside one bucket */
        spans[0] = (owmesh_span){from, to, 0, 1};
        return 1;
    }
    size_t n = 0;
    if (from < whole_from)
        spans[n++] = (owmesh_span){from, whole_from, 0, 1};
    if (whole_from < whole_to)
        spans[n++] = (owmesh_span){whole_from, whole_to, every, 0};
    if (whole_to < to)
        spans[n++] = (owmesh_span){whole_to, to, 0, 1};
    return n;
}

void owmesh_common_init(owmesh_common *c)
{
    memset(c, 0, sizeof *c);
    const char *env = getenv(OWMESH_STORE_ENV);
    c->store_dir = env && *env ? env : OWMESH_DEFAULT_STORE;
}

int owmesh_common_opt(owmesh_common *c, int opt, const char *arg)
{
    switch (opt) {
    case OWMESH_OPT_STORE: c->store_dir = arg; return 1;
    case OWMESH_OPT_MESH: c->mesh_path = arg; return 1;
    case OWMESH_OPT_SINCE: c->since = arg; return 1;
    case OWMESH_OPT_FROM: c->from = arg; return 1;
    case OWMESH_OPT_TO: c->to = arg; return 1;
    case OWMESH_OPT_NOW: c->now = arg; return 1;
    case OWMESH_OPT_SRC: c->src = arg; return 1;
    case OWMESH_OPT_DST: c->dst = arg; return 1;
    case OWMESH_OPT_NODE: c->node = arg; return 1;
    case OWMESH_OPT_GROUP: c->group = arg; return 1;
    default: return 0;
    }
}

owp_status owmesh_common_period(const owmesh_common *c, uint64_t default_since, owp_num64 *now,
                                owp_num64 *from, owp_num64 *to, owp_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    owp_num64 clock_now = owp_ntp_from_timespec(&ts);
    owp_status st;
    if (c->now && (st = owmesh_parse_time(c->now, clock_now, &clock_now, err)))
        return owp_err_prefix(err, "--now");
    *now = clock_now;
    if (c->since && (c->from || c->to))
        return owp_err_set(err, OWP_ERR_PARSE, "--since and --from/--to exclude each other");
    uint64_t since = default_since;
    if (c->since && (st = owmesh_parse_duration(c->since, &since, err)))
        return owp_err_prefix(err, "--since");
    *to = clock_now;
    if (c->to && (st = owmesh_parse_time(c->to, clock_now, to, err)))
        return owp_err_prefix(err, "--to");
    if (c->from) {
        if ((st = owmesh_parse_time(c->from, clock_now, from, err)))
            return owp_err_prefix(err, "--from");
    } else {
        *from = *to - ((owp_num64)since << 32);
    }
    if (*from >= *to) {
        char a[48], b[48];
        owmesh_format_iso(*from, a, sizeof a);
        owmesh_format_iso(*to, b, sizeof b);
        return owp_err_set(err, OWP_ERR_PARSE, "empty period: --from %s is not before --to %s", a,
                           b);
    }
    return OWP_OK;
}
