/*
 * options.c - option values the owamp programs share (programs.md §0, §5.1).
 *
 * Each parser accepts exactly what the reference accepts, quirks included
 * where a working command line depends on them (facility prefix matching,
 * AFxy needing an upper-case A), and reports what was expected otherwise.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "testpkt.h"

static owp_status parse_authmode(const char *text, int mixed, uint32_t *modes, owp_err *err)
{
    if (!text || !modes)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_parse_authmode: NULL argument");
    /* The reference would accept "" as "no modes", which can only end in
     * "No Common Modes" later; say so now instead. */
    if (text[0] == '\0')
        return owp_err_set(err, OWP_ERR_PARSE,
                           "Invalid -authmode \"\": expected letters A, E and/or O");
    uint32_t m = 0;
    for (const char *s = text; *s; s++) {
        switch (toupper((unsigned char)*s)) {
        case 'O': m |= OWP_MODE_OPEN; break;
        case 'A': m |= OWP_MODE_AUTH; break;
        case 'E': m |= OWP_MODE_ENCRYPTED; break;
        case 'M':
            if (mixed) {
                m |= OWP_MODE_MIXED;
                break;
            }
            /* fall through */
        default:
            return owp_err_set(err, OWP_ERR_PARSE,
                               "Invalid -authmode %c (expected letters A, E%s and/or O)", *s,
                               mixed ? ", M" : "");
        }
    }
    *modes = m;
    return OWP_OK;
}

owp_status owp_parse_authmode(const char *text, uint32_t *modes, owp_err *err)
{
    return parse_authmode(text, 0, modes, err);
}

owp_status owp_parse_authmode_twamp(const char *text, uint32_t *modes, owp_err *err)
{
    return parse_authmode(text, 1, modes, err);
}

/* One port number as strtol reads it after skipping blanks: a sign is
 * tolerated, the value must lie in 0..65535. Returns the end or NULL. */
static const char *parse_port_number(const char *s, uint16_t *port)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno == ERANGE || v < 0 || v > 65535)
        return NULL;
    *port = (uint16_t)v;
    return end;
}

owp_status owp_parse_portrange(const char *text, int client, owp_portrange *pr, owp_err *err)
{
    if (!text || !pr)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_parse_portrange: NULL argument");
    /* owping/powstream test for the exact string "0" before the range
     * parser, whose single-number form refuses 0. */
    if (client && strcmp(text, "0") == 0) {
        pr->low = pr->high = 0;
        return OWP_OK;
    }
    owp_portrange r = {0, 0};
    const char *p = parse_port_number(text, &r.low);
    if (!p)
        goto bad;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0') {
        if (client && r.low == 0)
            goto bad;
        r.high = r.low;
    } else if (*p == '-') {
        /* Whatever follows the high port is ignored, as in the reference. */
        if (!parse_port_number(p + 1, &r.high) || r.high < r.low)
            goto bad;
    } else {
        goto bad;
    }
    *pr = r;
    return OWP_OK;
bad:
    return owp_err_set(err, OWP_ERR_PARSE,
                       "Invalid port-range: \"%s\" (expected 0 or low-high with "
                       "0 <= low <= high <= 65535)", text);
}

/* Nothing but blanks from s on: -D values may end in blanks (programs.md §5.1). */
static int only_blanks(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* CSn and AFxy: the prefix, the digits, then only blanks. The reference
 * upper-cases the result of (c == 'A') instead of c, so "AF" needs an
 * upper-case A while "cs" and "aF" letters after it may be any case. */
static int parse_dscp_class_name(const char *s, int *dscp)
{
    const char *rest;
    int value;
    if (toupper((unsigned char)s[0]) == 'C' && toupper((unsigned char)s[1]) == 'S') {
        if (s[2] < '0' || s[2] > '7')
            return 0;
        value = (s[2] - '0') << 3;
        rest = s + 3;
    } else if (s[0] == 'A' && toupper((unsigned char)s[1]) == 'F') {
        if (s[2] < '1' || s[2] > '4' || s[3] < '1' || s[3] > '3')
            return 0;
        value = (s[2] - '0') << 3 | (s[3] - '0') << 1;
        rest = s + 4;
    } else {
        return 0;
    }
    if (!only_blanks(rest))
        return 0;
    *dscp = value;
    return 1;
}

/* s equals name (any case) apart from trailing blanks. */
static int is_dscp_word(const char *s, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(s, name, n) == 0 && only_blanks(s + n);
}

owp_status owp_parse_dscp(const char *text, int *dscp, owp_err *err)
{
    if (!text || !dscp)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_parse_dscp: NULL argument");
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;

    /* A number in C syntax (strtoul base 0) that uses only the low 6 bits;
     * blanks may follow it (programs.md §5.1). "" and all-blank strings come
     * out as 0, as in the reference. */
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    if (only_blanks(end) && errno != ERANGE && !(v & ~0x3FUL)) {
        *dscp = (int)v;
        return OWP_OK;
    }
    if (is_dscp_word(s, "none") || is_dscp_word(s, "default") || is_dscp_word(s, "df")) {
        *dscp = 0;
        return OWP_OK;
    }
    if (is_dscp_word(s, "ef")) {
        *dscp = 46;
        return OWP_OK;
    }
    if (parse_dscp_class_name(s, dscp))
        return OWP_OK;
    return owp_err_set(err, OWP_ERR_PARSE,
                       "Invalid DSCP value (-D): \"%s\": Invalid argument (expected 0-63, "
                       "none, default, df, ef, CS0-CS7 or AF11-AF43)", text);
}

static const struct {
    const char *name;
    int value;
} facility_names[] = {
    /* The reference's order matters: the first name that is a prefix of the
     * argument wins, so "authpriv" is taken as "auth". */
    {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
    {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
    {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
    {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

owp_status owp_parse_facility(const char *text, int *facility, owp_err *err)
{
    if (!text || !facility)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_parse_facility: NULL argument");
    for (size_t i = 0; i < sizeof facility_names / sizeof facility_names[0]; i++) {
        const char *name = facility_names[i].name;
        if (strncasecmp(text, name, strlen(name)) == 0) {
            *facility = facility_names[i].value;
            return OWP_OK;
        }
    }
    return owp_err_set(err, OWP_ERR_PARSE,
                       "Syslog facility \"%s\" unknown (expected auth, authpriv, cron, daemon, "
                       "ftp, kern, lpr, mail, news, syslog, user, uucp or local0-local7)", text);
}

owp_status owp_parse_loglevel(const char *text, int *level, owp_err *err)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {
        {"fatal", LOG_ERR}, {"warning", LOG_WARNING}, {"info", LOG_INFO},
        {"debug", LOG_DEBUG}, {"all", LOG_DEBUG}, {"none", -1},
    };
    if (!text || !level)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_parse_loglevel: NULL argument");
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcasecmp(text, levels[i].name) == 0) {
            *level = levels[i].level;
            return OWP_OK;
        }
    }
    return owp_err_set(err, OWP_ERR_PARSE,
                       "Log level \"%s\" invalid (expected fatal, warning, info, debug, all "
                       "or none)", text);
}

owp_status owp_parse_uint32(const char *text, const char *what, uint32_t *out, owp_err *err)
{
    if (!text || !out)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_parse_uint32: NULL argument");
    const char *label = what ? what : "value";
    /* Digits only: strtoul alone would take blanks, signs and "" (as 0). */
    int ok = text[0] != '\0';
    for (const char *s = text; *s && ok; s++)
        ok = isdigit((unsigned char)*s) != 0;
    if (ok) {
        errno = 0;
        unsigned long long v = strtoull(text, NULL, 10);
        if (errno != ERANGE && v <= UINT32_MAX) {
            *out = (uint32_t)v;
            return OWP_OK;
        }
    }
    return owp_err_set(err, OWP_ERR_PARSE,
                       "Invalid %s \"%s\": expected an integer from 0 to 4294967295", label,
                       text);
}

owp_status owp_parse_double(const char *text, const char *what, double *out, owp_err *err)
{
    if (!text || !out)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_parse_double: NULL argument");
    const char *label = what ? what : "value";
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) ||
        isspace((unsigned char)text[0]))
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid %s \"%s\": expected a number", label,
                           text);
    *out = v;
    return OWP_OK;
}
