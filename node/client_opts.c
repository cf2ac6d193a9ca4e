/*
 * client_opts.c - output options of owping/owstats/owfetch with the
 * reference's wording (programs.md section 5.3).
 */
#include "client_opts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void owp_output_opts_init(owp_output_opts *o)
{
    memset(o, 0, sizeof *o);
    owp_report_opts_default(&o->report);
}

void owp_output_opts_clear(owp_output_opts *o)
{
    free(o->percentiles);
    free(o->dir);
    memset(o, 0, sizeof *o);
}

static int fail(char *log, size_t loglen, const char *logline, char *msg, size_t msglen,
                const char *usage_msg)
{
    snprintf(log, loglen, "%s", logline ? logline : "");
    snprintf(msg, msglen, "%s", usage_msg);
    return -1;
}

/* -a: comma-separated percentiles 0.0-100.0 (strtod syntax, trailing text ignored). */
static int parse_percentiles(owp_output_opts *o, const char *arg, char *log, size_t loglen,
                             char *msg, size_t msglen)
{
    static const char *usage_msg = "Invalid '-a' alpha list .";
    size_t n = 1;
    for (const char *p = arg; (p = strchr(p, ',')); p++)
        n++;
    double *vals = calloc(n, sizeof *vals);
    char *copy = strdup(arg);
    if (!vals || !copy) {
        free(vals);
        free(copy);
        return fail(log, loglen, "Can't alloc alpha list", msg, msglen, usage_msg);
    }
    size_t i = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && i < n; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(tok, &end);
        if (end == tok || v < 0.0 || v > 100.0) {
            char line[256];
            snprintf(line, sizeof line, "Invalid numeric value (%s) for percentile", tok);
            free(vals);
            free(copy);
            return fail(log, loglen, line, msg, msglen, usage_msg);
        }
        vals[i++] = v;
    }
    free(copy);
    if (i != n) { /* empty elements ("10,,20") */
        free(vals);
        return fail(log, loglen, "Unable to parse percentiles specification", msg, msglen,
                    usage_msg);
    }
    free(o->percentiles);
    o->percentiles = vals;
    o->report.percentiles = vals;
    o->report.npercentiles = (unsigned)n;
    return 1;
}

static int parse_uint(const char *arg, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end != '\0')
        return 0;
    *out = (uint32_t)v; /* the reference stores strtoul's result unchecked */
    return 1;
}

int owp_output_opts_parse(owp_output_opts *o, int opt, const char *arg, char *log, size_t loglen,
                          char *msg, size_t msglen)
{
    if (loglen)
        log[0] = '\0';
    if (msglen)
        msg[0] = '\0';
    switch (opt) {
    case 'a':
        return parse_percentiles(o, arg, log, loglen, msg, msglen);
    case 'b': {
        char *end;
        double w = strtod(arg, &end);
        if (*end != '\0' || !(w > 0.0))
            return fail(log, loglen, NULL, msg, msglen,
                        "Invalid '-b' value. Positive float expected");
        o->report.bucket_width = w;
        return 1;
    }
    case 'd': {
        char *d = strdup(arg);
        if (!d)
            return fail(log, loglen, "malloc failed", msg, msglen, "out of memory");
        free(o->dir);
        o->dir = d;
        o->report.files_dir = d;
        return 1;
    }
    case 'M':
        o->report.machine = 1;
        return 1;
    case 'n': {
        int c = tolower((unsigned char)arg[0]);
        if (c != 'n' && c != 'u' && c != 'm' && c != 's')
            return fail(log, loglen, NULL, msg, msglen, "Invalid '-n' value.");
        o->report.units = (char)c;
        return 1;
    }
    case 'N':
        if (!parse_uint(arg, &o->report.sub_count))
            return fail(log, loglen, NULL, msg, msglen,
                        "Invalid \"-N\" value. Positive integer expected");
        return 1;
    case 'p':
        o->report.print_files = 1;
        return 1;
    case 'Q':
        o->quiet = 1;
        return 1;
    case 'R':
        o->report.raw = 1;
        return 1;
    case 'U':
        o->report.unix_times = 1;
        return 1;
    case 'v':
        o->report.verbose = 1;
        if (arg && !parse_uint(arg, &o->report.verbose_max))
            return fail(log, loglen, NULL, msg, msglen,
                        "Invalid \"-v\" value. Positive integer expected");
        return 1;
    }
    return 0;
}

void owp_output_opts_finish(owp_output_opts *o, void (*warn)(const char *line, void *arg),
                            void *arg)
{
    if (o->report.raw)
        o->quiet = 1;
    if (o->report.verbose && o->quiet) {
        if (warn)
            warn("Ignoring '-v', '-Q' set", arg);
        o->report.verbose = 0;
    }
    if (o->report.machine && o->quiet) {
        if (warn)
            warn("Ignoring '-M', '-Q' set", arg);
        o->report.machine = 0;
    }
    if (o->report.verbose && o->report.machine) {
        if (warn)
            warn("Ignoring '-v', '-M' set", arg);
        o->report.verbose = 0;
    }
    /* -p does not apply to raw output. */
    if (o->report.raw)
        o->report.print_files = 0;
}

void owp_output_usage(FILE *out)
{
    fprintf(out, "%s\n\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n",
            "              [Output Args]",
            "   -a alpha       report an additional percentile level for the delays",
            "   -b bucketwidth bin size for histogram calculations",
            "   -M             print machine (perl) readable summary",
            "   -n units       'n','u','m', or 's'",
            "   -N count       number of test packets (to summarize per sub-session)\n"
            "   -Q             run the test and exit without reporting statistics",
            "   -R             print RAW data: \"SEQNO STIME SS SERR RTIME RS RERR TTL\\n\"",
            "   -v[N]          print out individual delays. You can supply an optional N here to "
            "limit the print to the first N packets",
            "   -U             Adds UNIX timestamps when printing individual delays");
}
