/* nagios.c - Nagios/Icinga plugin states, thresholds and output (see nagios.h). */
#include "nagios.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *owmesh_nagios_name(owmesh_nagios_state state)
{
    switch (state) {
    case OWMESH_NAGIOS_OK: return "OK";
    case OWMESH_NAGIOS_WARNING: return "WARNING";
    case OWMESH_NAGIOS_CRITICAL: return "CRITICAL";
    default: return "UNKNOWN";
    }
}

owmesh_nagios_state owmesh_nagios_worse(owmesh_nagios_state a, owmesh_nagios_state b)
{
    /* UNKNOWN (3) is the highest code, so the larger code is the worse state */
    return a > b ? a : b;
}

owp_status owmesh_threshold_parse(const char *text, const char *what, owmesh_threshold *t,
                                  owp_err *err)
{
    char *end;
    errno = 0;
    double v = text && *text ? strtod(text, &end) : NAN;
    int percent = !isnan(v) && *end == '%' && !end[1];
    if (isnan(v) || errno || (*end && !percent) || end == text)
        goto bad;
    if (percent ? !(v > 0 && v <= 100) : !(v >= 1 && v == floor(v) && v < 1e15))
        goto bad;
    t->value = v;
    t->percent = percent;
    return OWP_OK;
bad:
    return owp_err_set(err, OWP_ERR_PARSE,
                       "%s: bad threshold \"%s\": expected a count (1 or more) or a percentage "
                       "of the total (e.g. 25%%, above 0 and at most 100)",
                       what, text ? text : "");
}

uint64_t owmesh_threshold_count(const owmesh_threshold *t, uint64_t total)
{
    double n = t->percent ? ceil(t->value * (double)total / 100.0 - 1e-9) : t->value;
    return n < 1 ? 1 : (uint64_t)n;
}

owmesh_nagios_state owmesh_nagios_judge(uint64_t bad, uint64_t total, const owmesh_threshold *warn,
                                        const owmesh_threshold *crit)
{
    if (bad >= owmesh_threshold_count(crit, total))
        return OWMESH_NAGIOS_CRITICAL;
    if (bad >= owmesh_threshold_count(warn, total))
        return OWMESH_NAGIOS_WARNING;
    return OWMESH_NAGIOS_OK;
}

void owmesh_perf_append(char *buf, size_t len, const char *label, double value, const char *uom,
                        uint64_t warn, uint64_t crit, double max)
{
    char w[24] = "", c[24] = "", m[32] = "";
    if (warn)
        snprintf(w, sizeof w, "%llu", (unsigned long long)(warn - 1));
    if (crit)
        snprintf(c, sizeof c, "%llu", (unsigned long long)(crit - 1));
    if (max >= 0)
        snprintf(m, sizeof m, "%.12g", max);
    size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, "%s%s=%.12g%s;%s;%s;0;%s", used ? " " : "", label, value,
                 uom ? uom : "", w, c, m);
}

void owmesh_nagios_print(FILE *fp, const char *service, owmesh_nagios_state state,
                         const char *summary, const char *perf)
{
    /* One line: a line break in a message would start Nagios' long output. */
    fprintf(fp, "OWMESH %s %s - ", service, owmesh_nagios_name(state));
    for (const char *p = summary; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p == '|' ? '/' : *p, fp);
    if (perf && *perf)
        fprintf(fp, " | %s", perf);
    fputc('\n', fp);
}
