/*
 * stamp_policy.c - the STAMP reflector's policy file and its rate limiter
 * (stamp_policy.h).
 */
#include "stamp_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "stamp_table.h"
#include "textfile.h"

#define ALL_DSCPS UINT64_MAX
#define RATE_MAX 1e9
#define SESSION_IDLE_MAX (86400.0 * 365)
#define GROWTH_MAX 65535.0

typedef struct prefix_rule {
    uint8_t addr[16]; /* the v4-mapped IPv6 form, as owp_stamp_table_key makes it */
    unsigned bits;    /* over those 128 bits */
    int allow;
} prefix_rule;

struct owp_stamp_policy {
    prefix_rule *rules;
    size_t nrules, cap;
    int default_set, default_allow, has_allow;
    owp_stamp_limits lim;
};

static void default_limits(owp_stamp_limits *l)
{
    *l = (owp_stamp_limits){
        .rate_source = OWP_STAMP_RATE_SOURCE, .burst_source = OWP_STAMP_RATE_SOURCE,
        .rate_global = OWP_STAMP_RATE_GLOBAL, .burst_global = OWP_STAMP_RATE_GLOBAL,
        .max_sources = OWP_STAMP_MAX_SOURCES, .max_sessions = OWP_STAMP_MAX_SESSIONS,
        .session_idle = OWP_STAMP_SESSION_IDLE, .dscp_allowed = ALL_DSCPS,
    };
}

owp_stamp_policy *owp_stamp_policy_new(owp_err *err)
{
    owp_stamp_policy *p = calloc(1, sizeof *p);
    if (!p) {
        owp_err_set(err, OWP_ERR_NOMEM, "STAMP policy: out of memory");
        return NULL;
    }
    default_limits(&p->lim);
    p->default_allow = 1;
    return p;
}

void owp_stamp_policy_destroy(owp_stamp_policy **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->rules);
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------ statements */

/* "192.0.2.0/24", "2001:db8::/32", or a bare address. */
static owp_status parse_prefix(char *text, prefix_rule *rule, owp_err *err)
{
    char *slash = strchr(text, '/');
    if (slash)
        *slash++ = '\0';
    memset(rule, 0, sizeof *rule);
    unsigned offset, maxbits;
    if (inet_pton(AF_INET, text, rule->addr + 12) == 1) {
        rule->addr[10] = rule->addr[11] = 0xff;
        offset = 96, maxbits = 32;
    } else if (inet_pton(AF_INET6, text, rule->addr) == 1) {
        offset = 0, maxbits = 128;
    } else {
        return owp_err_set(err, OWP_ERR_PARSE, "\"%s\" is not an IPv4 or IPv6 address", text);
    }
    unsigned bits = maxbits;
    if (slash) {
        char *end;
        unsigned long b = strtoul(slash, &end, 10);
        if (!isdigit((unsigned char)*slash) || *end || b > maxbits)
            return owp_err_set(err, OWP_ERR_PARSE, "prefix length \"%s\": 0 to %u expected",
                               slash, maxbits);
        bits = (unsigned)b;
    }
    rule->bits = offset + bits;
    for (unsigned i = rule->bits; i < 128; i++)
        if (rule->addr[i / 8] & (0x80 >> (i % 8)))
            return owp_err_set(err, OWP_ERR_PARSE, "%s/%u has bits set past the prefix length",
                               text, bits);
    return OWP_OK;
}

static owp_status add_rule(owp_stamp_policy *p, const prefix_rule *r, owp_err *err)
{
    if (p->nrules == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        prefix_rule *more = realloc(p->rules, cap * sizeof *more);
        if (!more)
            return owp_err_set(err, OWP_ERR_NOMEM, "STAMP policy: out of memory");
        p->rules = more;
        p->cap = cap;
    }
    p->rules[p->nrules++] = *r;
    return OWP_OK;
}

static owp_status parse_rules(owp_stamp_policy *p, int allow, char *cursor, owp_err *err)
{
    char *tok;
    int n = 0;
    while ((tok = owp_text_token(&cursor))) {
        prefix_rule r;
        owp_status st = parse_prefix(tok, &r, err);
        if (st != OWP_OK)
            return st;
        r.allow = allow;
        if ((st = add_rule(p, &r, err)) != OWP_OK)
            return st;
        n++;
    }
    if (n == 0)
        return owp_err_set(err, OWP_ERR_PARSE, "\"%s\" needs at least one address prefix",
                           allow ? "allow" : "deny");
    p->has_allow |= allow;
    return OWP_OK;
}

/* The only (or the last) operand of a statement: NULL after the error. */
static char *operand(char **cursor, const char *keyword, int optional_more, owp_err *err)
{
    char *tok = owp_text_token(cursor);
    if (!tok) {
        owp_err_set(err, OWP_ERR_PARSE, "\"%s\" needs a value", keyword);
        return NULL;
    }
    if (!optional_more && owp_text_token(cursor)) {
        owp_err_set(err, OWP_ERR_PARSE, "\"%s\" takes one value", keyword);
        return NULL;
    }
    return tok;
}

static owp_status parse_number(const char *text, const char *keyword, double max, double *out,
                               owp_err *err)
{
    owp_status st = owp_parse_double(text, keyword, out, err);
    if (st == OWP_OK && !(*out >= 0 && *out <= max))
        st = owp_err_set(err, OWP_ERR_PARSE, "%s %s: 0 to %g expected", keyword, text, max);
    return st;
}

/* "PPS [BURST]". */
static owp_status parse_rate(char *cursor, const char *keyword, double *rate, double *burst,
                             owp_err *err)
{
    char *pps = operand(&cursor, keyword, 1, err);
    if (!pps)
        return OWP_ERR_PARSE;
    char *b = owp_text_token(&cursor);
    if (owp_text_token(&cursor))
        return owp_err_set(err, OWP_ERR_PARSE, "\"%s\" takes a rate and a burst at most", keyword);
    owp_status st = parse_number(pps, keyword, RATE_MAX, rate, err);
    if (st != OWP_OK)
        return st;
    *burst = *rate;
    if (b && (st = parse_number(b, keyword, RATE_MAX, burst, err)) != OWP_OK)
        return st;
    if (*rate > 0 && *burst < 1)
        return owp_err_set(err, OWP_ERR_PARSE, "%s: a burst below one packet lets none through",
                           keyword);
    return OWP_OK;
}

static owp_status parse_count(char *cursor, const char *keyword, size_t *out, owp_err *err)
{
    char *tok = operand(&cursor, keyword, 0, err);
    uint32_t v;
    if (!tok)
        return OWP_ERR_PARSE;
    owp_status st = owp_parse_uint32(tok, keyword, &v, err);
    if (st == OWP_OK && (v == 0 || v > (1u << 24)))
        st = owp_err_set(err, OWP_ERR_PARSE, "%s %u: 1 to %u expected", keyword, v, 1u << 24);
    if (st == OWP_OK)
        *out = v;
    return st;
}

/* One item of a DSCP list: "46", "ef", "10-14". */
static owp_status parse_dscp_item(char *item, uint64_t *mask, owp_err *err)
{
    char *dash = strchr(item, '-');
    int lo, hi;
    owp_status st;
    if (dash) {
        *dash = '\0';
        if ((st = owp_parse_dscp(item, &lo, err)) != OWP_OK ||
            (st = owp_parse_dscp(dash + 1, &hi, err)) != OWP_OK)
            return st;
        if (lo > hi)
            return owp_err_set(err, OWP_ERR_PARSE, "DSCP range %d-%d is empty", lo, hi);
    } else {
        if ((st = owp_parse_dscp(item, &lo, err)) != OWP_OK)
            return st;
        hi = lo;
    }
    for (int d = lo; d <= hi; d++)
        *mask |= 1ull << d;
    return OWP_OK;
}

static owp_status parse_dscp_list(char *cursor, uint64_t *mask, owp_err *err)
{
    char *list = operand(&cursor, "cos-dscp", 0, err);
    if (!list)
        return OWP_ERR_PARSE;
    if (strcmp(list, "all") == 0) {
        *mask = ALL_DSCPS;
        return OWP_OK;
    }
    *mask = 0;
    if (strcmp(list, "none") == 0)
        return OWP_OK;
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        owp_status st = parse_dscp_item(item, mask, err);
        if (st != OWP_OK)
            return owp_err_prefix(err, "cos-dscp");
    }
    return OWP_OK;
}

static owp_status parse_default(owp_stamp_policy *p, char *cursor, owp_err *err)
{
    char *v = operand(&cursor, "default", 0, err);
    if (!v)
        return OWP_ERR_PARSE;
    if (strcmp(v, "allow") != 0 && strcmp(v, "deny") != 0)
        return owp_err_set(err, OWP_ERR_PARSE, "default %s: allow or deny expected", v);
    p->default_set = 1;
    p->default_allow = strcmp(v, "allow") == 0;
    return OWP_OK;
}

/* A statement of one number. */
static owp_status parse_single(char *cursor, const char *keyword, double max, double *out,
                               owp_err *err)
{
    char *tok = operand(&cursor, keyword, 0, err);
    return tok ? parse_number(tok, keyword, max, out, err) : OWP_ERR_PARSE;
}

static owp_status parse_statement(owp_stamp_policy *p, char *text, owp_err *err)
{
    char *cursor = text;
    char *kw = owp_text_token(&cursor);
    if (!kw)
        return OWP_OK;
    owp_stamp_limits *l = &p->lim;
    double v;
    owp_status st;
    if (strcmp(kw, "allow") == 0 || strcmp(kw, "deny") == 0)
        return parse_rules(p, kw[0] == 'a', cursor, err);
    if (strcmp(kw, "default") == 0)
        return parse_default(p, cursor, err);
    if (strcmp(kw, "rate-per-source") == 0)
        return parse_rate(cursor, kw, &l->rate_source, &l->burst_source, err);
    if (strcmp(kw, "rate-global") == 0)
        return parse_rate(cursor, kw, &l->rate_global, &l->burst_global, err);
    if (strcmp(kw, "max-sources") == 0)
        return parse_count(cursor, kw, &l->max_sources, err);
    if (strcmp(kw, "max-sessions") == 0)
        return parse_count(cursor, kw, &l->max_sessions, err);
    if (strcmp(kw, "cos-dscp") == 0)
        return parse_dscp_list(cursor, &l->dscp_allowed, err);
    if (strcmp(kw, "session-idle") == 0)
        return parse_single(cursor, kw, SESSION_IDLE_MAX, &l->session_idle, err);
    if (strcmp(kw, "max-reply-growth") == 0) {
        if ((st = parse_single(cursor, kw, GROWTH_MAX, &v, err)) == OWP_OK)
            l->max_reply_growth = (size_t)v;
        return st;
    }
    return owp_err_set(err, OWP_ERR_PARSE, "unknown statement \"%s\"", kw);
}

owp_stamp_policy *owp_stamp_policy_parse(const char *text, size_t len, const char *name,
                                         owp_err *err)
{
    owp_stamp_policy *p = owp_stamp_policy_new(err);
    owp_textfile r;
    if (!p || owp_textfile_open(&r, name, text, len, err) != OWP_OK) {
        owp_stamp_policy_destroy(&p);
        return NULL;
    }
    size_t line;
    int got;
    while ((got = owp_textfile_next(&r, &line, err)) == 1) {
        if (parse_statement(p, r.text, err) != OWP_OK) {
            owp_err_prefix(err, "%s:%zu", name, line);
            got = -1;
            break;
        }
    }
    owp_textfile_close(&r);
    if (got < 0)
        owp_stamp_policy_destroy(&p);
    else if (!p->default_set)
        p->default_allow = !p->has_allow;
    return p;
}

owp_stamp_policy *owp_stamp_policy_load(const char *path, owp_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (owp_textfile_slurp(path, &buf, &len, err) != OWP_OK)
        return NULL;
    owp_stamp_policy *p = owp_stamp_policy_parse(buf, len, path, err);
    free(buf);
    return p;
}

/* ------------------------------------------------------------ decisions */

static int matches(const prefix_rule *r, const uint8_t addr[16])
{
    unsigned whole = r->bits / 8, rest = r->bits % 8;
    if (memcmp(r->addr, addr, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (r->addr[whole] & mask) == (addr[whole] & mask);
}

int owp_stamp_policy_allows(const owp_stamp_policy *p, const struct sockaddr *addr, socklen_t len)
{
    uint8_t key[OWP_STAMP_TABLE_KEY];
    if (!owp_stamp_table_key(addr, len, 0, 0, key))
        return 0;
    for (size_t i = 0; i < p->nrules; i++)
        if (matches(&p->rules[i], key))
            return p->rules[i].allow;
    return p->default_allow;
}

const owp_stamp_limits *owp_stamp_policy_limits(const owp_stamp_policy *p) { return &p->lim; }

static void describe_rate(char *buf, size_t len, double rate, double burst, const char *scope)
{
    if (rate > 0)
        snprintf(buf, len, "%g/s %s (burst %g)", rate, scope, burst);
    else
        snprintf(buf, len, "no limit %s", scope);
}

void owp_stamp_policy_describe(const owp_stamp_policy *p, char *buf, size_t len)
{
    char src[64], all[64];
    describe_rate(src, sizeof src, p->lim.rate_source, p->lim.burst_source, "per source");
    describe_rate(all, sizeof all, p->lim.rate_global, p->lim.burst_global, "in all");
    snprintf(buf, len, "%zu rule%s, default %s, %s, %s", p->nrules, p->nrules == 1 ? "" : "s",
             p->default_allow ? "allow" : "deny", src, all);
}

/* ------------------------------------------------------------ the rate limiter */

typedef struct bucket {
    double tokens, last;
} bucket;

struct owp_stamp_limiter {
    owp_stamp_table *sources;
    bucket global;
    int global_started;
    double last_sweep;
};

owp_stamp_limiter *owp_stamp_limiter_new(size_t max_sources, owp_err *err)
{
    owp_stamp_limiter *l = calloc(1, sizeof *l);
    if (!l) {
        owp_err_set(err, OWP_ERR_NOMEM, "STAMP rate limiter: out of memory");
        return NULL;
    }
    l->sources = owp_stamp_table_new(max_sources, sizeof(bucket), err);
    if (!l->sources)
        owp_stamp_limiter_destroy(&l);
    return l;
}

void owp_stamp_limiter_destroy(owp_stamp_limiter **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_stamp_table_destroy(&(*self_p)->sources);
    free(*self_p);
    *self_p = NULL;
}

/* One token from b (fresh: a new bucket, full): 1, or 0 when empty. */
static int take_token(bucket *b, double rate, double burst, double now, int fresh)
{
    if (rate <= 0)
        return 1;
    if (fresh) {
        b->tokens = burst;
    } else if (now > b->last) {
        b->tokens += (now - b->last) * rate;
        if (b->tokens > burst)
            b->tokens = burst;
    }
    b->last = now;
    if (b->tokens < 1)
        return 0;
    b->tokens -= 1;
    return 1;
}

owp_stamp_rate owp_stamp_limiter_take(owp_stamp_limiter *l, const owp_stamp_limits *lim,
                                      const struct sockaddr *addr, socklen_t len, double now)
{
    if (lim->rate_source > 0) {
        /* A bucket idle long enough to refill is as good as a new one. */
        if (now - l->last_sweep >= 1.0) {
            owp_stamp_table_expire(l->sources, now - lim->burst_source / lim->rate_source);
            l->last_sweep = now;
        }
        uint8_t key[OWP_STAMP_TABLE_KEY];
        int created = 0;
        bucket *b = owp_stamp_table_key(addr, len, 0, 0, key)
                        ? owp_stamp_table_get(l->sources, key, now, &created)
                        : NULL;
        if (!b || !take_token(b, lim->rate_source, lim->burst_source, now, created))
            return OWP_STAMP_RATE_SOURCE_EXCEEDED;
    }
    int fresh = !l->global_started;
    l->global_started = 1;
    if (!take_token(&l->global, lim->rate_global, lim->burst_global, now, fresh))
        return OWP_STAMP_RATE_GLOBAL_EXCEEDED;
    return OWP_STAMP_RATE_OK;
}
