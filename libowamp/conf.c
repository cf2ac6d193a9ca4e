/*
 * conf.c - owampd.conf / owamp-server.conf (programs.md §2).
 *
 * Syntax, as the reference's I2ReadConfVar reads it:
 *   - one directive per logical line: KEYWORD [VALUE] [#comment];
 *   - a line whose first non-blank character is '#' is a comment;
 *   - backslash-newline joins the next physical line; any other backslash
 *     is an error;
 *   - a value token starting with '#' means "no value"; a third token must
 *     start with '#'.
 * Numbers are read as strtoul/strtod read them: trailing characters are
 * ignored ("dieby 30s" is 30); only "no digits at all" and the listed range
 * checks fail. Errors name PATH:LINE with the line the directive starts on
 * (the reference adds the length of the path to its line numbers; we do not).
 *
 * Deliberate differences, all on lines the reference misreads: a negative
 * or > 4294967295 integer and an infinite/NaN float are rejected (the
 * reference wraps or accepts them); a flag directive (rootfolly, verbose,
 * loglocation) with a value is rejected, because the reference would turn
 * "rootfolly off" into "allow root"; a string directive without a value is
 * rejected.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "hostport.h"
#include "options.h"
#include "textfile.h"
#include "testpkt.h"


void owp_server_conf_default(owp_server_conf *c)
{
    memset(c, 0, sizeof *c);
    c->authmodes = OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    c->controltimeout = 1800;
    c->dieby = 5; /* the code's value; the man page says 30 */
    c->diskfudge = 1.0;
    c->enddelay = 1.0;
    c->facility = LOG_DAEMON;
    c->loglevel = LOG_INFO;
    c->pbkdf2_count = 2048;
    c->setuptimeout = 10;
    c->maxsetupsessions = 64;
    c->maxsetupperaddr = 8;
    c->testports.low = c->testports.high = 0;
    c->testtimeout = 900;
}

/* ------------------------------------------------------------ directives */

typedef enum {
    KIND_FLAG,      /* no value; sets an int to 1 */
    KIND_UINT,      /* uint32_t, strtoul syntax */
    KIND_STRING,    /* char[size] */
    KIND_FUDGE,     /* double in [1.0, 10.0] */
    KIND_SECONDS,   /* double >= 0 */
    KIND_AUTHMODE,
    KIND_FACILITY,
    KIND_LOGLEVEL,
    KIND_SRCNODE,   /* char[size], checked as node[:port] */
    KIND_TESTPORTS
} directive_kind;

typedef struct directive {
    const char *name;
    directive_kind kind;
    size_t offset, size;
} directive;

#define FIELD(f) offsetof(owp_server_conf, f), sizeof(((owp_server_conf *)0)->f)

static const directive directives[] = {
    {"authmode", KIND_AUTHMODE, FIELD(authmodes)},
    {"controltimeout", KIND_UINT, FIELD(controltimeout)},
    {"datadir", KIND_STRING, FIELD(datadir)},
    {"dieby", KIND_UINT, FIELD(dieby)},
    {"diskfudge", KIND_FUDGE, FIELD(diskfudge)},
    {"enddelay", KIND_SECONDS, FIELD(enddelay)},
    {"facility", KIND_FACILITY, FIELD(facility)},
    {"group", KIND_STRING, FIELD(group)},
    {"loglevel", KIND_LOGLEVEL, FIELD(loglevel)},
    {"loglocation", KIND_FLAG, FIELD(loglocation)},
    {"maxcontrolsessions", KIND_UINT, FIELD(maxcontrolsessions)},
    {"maxsetupperaddr", KIND_UINT, FIELD(maxsetupperaddr)},
    {"maxsetupsessions", KIND_UINT, FIELD(maxsetupsessions)},
    {"pbkdf2_count", KIND_UINT, FIELD(pbkdf2_count)},
    {"rootfolly", KIND_FLAG, FIELD(rootfolly)},
    {"setuptimeout", KIND_UINT, FIELD(setuptimeout)},
    {"srcnode", KIND_SRCNODE, FIELD(srcnode)},
    {"testports", KIND_TESTPORTS, FIELD(testports)},
    {"testtimeout", KIND_UINT, FIELD(testtimeout)}, /* twampd (the reference: only there) */
    {"user", KIND_STRING, FIELD(user)},
    {"vardir", KIND_STRING, FIELD(vardir)},
    {"verbose", KIND_FLAG, FIELD(verbose)},
};

static const directive *find_directive(const char *key)
{
    for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++) {
        const directive *d = &directives[i];
        /* The reference matches maxcontrolsessions as a prefix of the key
         * (strlen of the name, not +1), so "maxcontrolsessionsXYZ" works. */
        int prefix = strcmp(d->name, "maxcontrolsessions") == 0;
        if (prefix ? strncasecmp(key, d->name, strlen(d->name)) == 0
                   : strcasecmp(key, d->name) == 0)
            return d;
    }
    return NULL;
}

/* strtoul without its wrap-around: optional '+', digits, anything after. */
static owp_status conf_uint(const char *key, const char *value, uint32_t *out, owp_err *err)
{
    const char *s = value;
    if (*s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return owp_err_set(err, OWP_ERR_PARSE, "%s \"%s\": expected a non-negative integer",
                           key, value);
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE || v > UINT32_MAX)
        return owp_err_set(err, OWP_ERR_PARSE, "%s \"%s\": larger than 4294967295", key, value);
    *out = (uint32_t)v;
    return OWP_OK;
}

static owp_status conf_double(const char *key, const char *value, double *out, owp_err *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || errno == ERANGE || !isfinite(v))
        return owp_err_set(err, OWP_ERR_PARSE, "%s \"%s\": expected a number", key, value);
    *out = v;
    return OWP_OK;
}

static owp_status copy_string(const directive *d, char *field, const char *value, owp_err *err)
{
    size_t n = strlen(value);
    if (n >= d->size)
        return owp_err_set(err, OWP_ERR_PARSE, "%s value longer than %zu characters", d->name,
                           d->size - 1);
    memcpy(field, value, n + 1);
    return OWP_OK;
}

static owp_status apply(owp_server_conf *c, const directive *d, const char *key,
                        const char *value, owp_err *err)
{
    void *field = (char *)c + d->offset;
    owp_status st;
    double v;

    if (d->kind == KIND_FLAG) {
        if (value)
            return owp_err_set(err, OWP_ERR_PARSE,
                               "%s takes no value (found \"%s\"); remove the line to turn it "
                               "off", d->name, value);
        *(int *)field = 1;
        return OWP_OK;
    }
    if (!value)
        return owp_err_set(err, OWP_ERR_PARSE, "%s needs a value", d->name);

    switch (d->kind) {
    case KIND_UINT:
        return conf_uint(key, value, field, err);
    case KIND_SRCNODE: {
        owp_hostport hp; /* checked now for a PATH:LINE error, stored as written */
        st = owp_hostport_parse(value, &hp, err);
        return st == OWP_OK ? copy_string(d, field, value, err) : st;
    }
    case KIND_STRING:
        return copy_string(d, field, value, err);
    case KIND_FUDGE:
        st = conf_double(key, value, &v, err);
        if (st == OWP_OK && !(v >= 1.0 && v <= 10.0))
            st = owp_err_set(err, OWP_ERR_PARSE,
                             "Invalid diskfudge \"%s\": valid values 1.0<=diskfudge<=10.0", value);
        if (st == OWP_OK)
            *(double *)field = v;
        return st;
    case KIND_SECONDS:
        st = conf_double(key, value, &v, err);
        if (st == OWP_OK && v < 0.0)
            st = owp_err_set(err, OWP_ERR_PARSE,
                             "Invalid enddelay \"%s\": expected seconds >= 0", value);
        if (st == OWP_OK)
            *(double *)field = v;
        return st;
    case KIND_AUTHMODE:
        /* M (TWAMP mixed mode): twamp-server.conf has it; owampd never offers it. */
        return owp_parse_authmode_twamp(value, field, err);
    case KIND_FACILITY:
        return owp_parse_facility(value, field, err);
    case KIND_LOGLEVEL:
        return owp_parse_loglevel(value, field, err);
    case KIND_TESTPORTS:
        return owp_parse_portrange(value, 0, field, err);
    case KIND_FLAG:
        break;
    }
    return owp_err_set(err, OWP_ERR_INVALID, "%s: unhandled directive kind", d->name);
}

static owp_status parse_directive(owp_server_conf *c, owp_textfile *r, size_t line, owp_err *err)
{
    char *cursor = r->text;
    char *key = owp_text_token(&cursor);
    char *value = owp_text_token(&cursor);
    owp_status st = OWP_OK;
    if (value && value[0] == '#') {
        value = NULL; /* "key #comment": no value, rest is comment */
    } else if (value) {
        char *extra = owp_text_token(&cursor);
        if (extra && extra[0] != '#')
            st = owp_err_set(err, OWP_ERR_PARSE,
                             "unexpected \"%s\" after the value of %s (one value per line; "
                             "only a '#' comment may follow)", extra, key);
    }
    if (st == OWP_OK) {
        const directive *d = find_directive(key);
        /* testtimeout is twampd's alone (the reference's owampd rejects it). */
        if (d && d->offset == offsetof(owp_server_conf, testtimeout) && !c->twamp)
            d = NULL;
        st = d ? apply(c, d, key, value, err)
               : owp_err_set(err, OWP_ERR_PARSE, "unknown directive \"%s\"", key);
    }
    if (st != OWP_OK)
        owp_err_prefix(err, "%s:%zu", r->name, line);
    return st;
}

owp_status owp_server_conf_load(owp_server_conf *c, const char *path, owp_err *err)
{
    if (!c || !path)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_server_conf_load: NULL argument");
    char *buf = NULL;
    size_t len = 0;
    owp_status st = owp_textfile_slurp(path, &buf, &len, err);
    if (st != OWP_OK)
        return st;
    /* Work on a copy so a bad file leaves the caller's configuration as it was. */
    owp_server_conf *next = malloc(sizeof *next);
    owp_textfile r;
    st = next ? owp_textfile_open(&r, path, buf, len, err)
              : owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path);
    if (st == OWP_OK) {
        *next = *c;
        size_t start = 1;
        int more;
        while (st == OWP_OK && (more = owp_textfile_next(&r, &start, err)) != 0)
            st = more < 0 ? OWP_ERR_PARSE : parse_directive(next, &r, start, err);
        if (st == OWP_OK)
            *c = *next;
        owp_textfile_close(&r);
    }
    free(next);
    free(buf);
    return st;
}

int owp_server_conf_find(const char *confdir, const char *base, char *path, unsigned len)
{
    return owp_server_conf_find_named(confdir, "owampd", "owamp-server", base, path, len);
}

int owp_server_conf_find_named(const char *confdir, const char *manual_name,
                               const char *packaged_name, const char *base, char *path,
                               unsigned len)
{
    if (!base || !path || !len || !manual_name || !packaged_name)
        return -1;
    const char *dir = confdir && confdir[0] ? confdir : ".";
    const char *sep = dir[strlen(dir) - 1] == '/' ? "" : "/";
    char manual[4096], packaged[4096];
    int nm = snprintf(manual, sizeof manual, "%s%s%s.%s", dir, sep, manual_name, base);
    int np = snprintf(packaged, sizeof packaged, "%s%s%s.%s", dir, sep, packaged_name, base);
    if (nm < 0 || np < 0 || (size_t)nm >= sizeof manual || (size_t)np >= sizeof packaged)
        return -1;
    int has_manual = access(manual, F_OK) == 0;
    int has_packaged = access(packaged, F_OK) == 0;
    /* The reference reads only owamp-server.BASE, so when both exist that
     * one wins; owampd.BASE alone is accepted for files named as the manual
     * and the example configuration name them. */
    const char *chosen = has_manual && !has_packaged ? manual : packaged;
    if (strlen(chosen) >= len)
        return -1;
    memcpy(path, chosen, strlen(chosen) + 1);
    return has_manual && has_packaged ? 2 : has_manual || has_packaged ? 1 : 0;
}
