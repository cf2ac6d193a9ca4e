/*
 * policy.c - owamp-server.limits: limit classes, assign rules, class
 * resolution and the resource ledger (programs.md sections 3, 1.5, 1.7).
 *
 * File syntax (as section 2 for owamp-server.conf): one statement per logical
 * line; a line whose first non-blank character is '#' is a comment; blank
 * lines are ignored; backslash-newline continues a line, any other backslash
 * is an error. Statements:
 *
 *   limit NAME with KEY=VALUE[, KEY=VALUE]*
 *   assign default CLASS | assign net ADDR[/BITS] CLASS | assign user ID CLASS
 *
 * The first limit line is the root class; every other names its parent,
 * which must already exist, and copies every parent value it does not set.
 * Error messages use the reference's wording where it has one (the reference
 * prints that wording, then "PATH:LINE Invalid file syntax"; we print one
 * "PATH:LINE: wording" line with the true line number).
 */
#include "policy.h"
#include "textfile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* Defaults of a root class (section 3.1). */
static const owp_limit_values default_values = {0, 0, 0, 0, 1};

struct owp_limits_class {
    char name[OWP_LIMITS_CLASS_NAME_MAX + 1];
    const owp_limits_class *parent;
    owp_limit_values values;
    size_t index; /* position in owp_limits.classes: the ledger's counter index */
};

typedef struct net_rule {
    int v6;          /* 0: IPv4 (4 bytes used), 1: IPv6 */
    uint8_t addr[16];
    unsigned bits;
    const owp_limits_class *cls;
    size_t line;
} net_rule;

typedef struct user_rule {
    char identity[OWP_PFS_IDENTITY_MAX + 1];
    const owp_limits_class *cls;
    size_t line;
} user_rule;

struct owp_limits {
    owp_limits_class **classes; /* pointers, so classes never move */
    size_t nclasses, cap_classes;
    net_rule *nets;
    size_t nnets, cap_nets;
    user_rule *users;
    size_t nusers, cap_users;
    const owp_limits_class *default_class; /* "assign default", or NULL */
    const char *warning;
};

/* ================================================================ storage */

static int grow(void **array, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*array, ncap * elem);
    if (!p)
        return -1;
    *array = p;
    *cap = ncap;
    return 0;
}

static owp_limits *limits_new(void)
{
    return calloc(1, sizeof(owp_limits));
}

void owp_limits_destroy(owp_limits **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_limits *self = *self_p;
    for (size_t i = 0; i < self->nclasses; i++)
        free(self->classes[i]);
    free(self->classes);
    free(self->nets);
    free(self->users);
    free(self);
    *self_p = NULL;
}

static owp_limits_class *add_class(owp_limits *self, const char *name,
                                   const owp_limits_class *parent, const owp_limit_values *v)
{
    void *arr = self->classes;
    if (grow(&arr, &self->cap_classes, self->nclasses, sizeof(owp_limits_class *)) != 0)
        return NULL;
    self->classes = arr;
    owp_limits_class *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->parent = parent;
    c->values = *v;
    c->index = self->nclasses;
    self->classes[self->nclasses++] = c;
    return c;
}

/* No class defined: the implicit root "default" with no limits. */
static int install_default_root(owp_limits *self)
{
    if (!add_class(self, OWP_LIMITS_DEFAULT_CLASS, NULL, &default_values))
        return -1;
    self->warning = OWP_LIMITS_NO_LIMITS_WARNING;
    return 0;
}

/* Nothing but blanks or a '#' comment may remain. */
static owp_status expect_end(char *cursor, const char *after, owp_err *err)
{
    char *extra = owp_text_token(&cursor);
    if (extra && extra[0] != '#')
        return owp_err_set(err, OWP_ERR_PARSE,
                           "unexpected \"%s\" after %s (only a '#' comment may follow)", extra,
                           after);
    return OWP_OK;
}

/* ================================================================ limit lines */

typedef enum { KEY_PARENT, KEY_BANDWIDTH, KEY_DISK, KEY_TEST_SESSIONS, KEY_DELETE_ON_FETCH,
               KEY_ALLOW_OPEN_MODE, KEY_COUNT } limit_key;

static const char *const key_names[KEY_COUNT] = {
    "parent", "bandwidth", "disk", "test_sessions", "delete_on_fetch", "allow_open_mode",
};

static int find_key(const char *name)
{
    for (int k = 0; k < KEY_COUNT; k++)
        if (strcasecmp(name, key_names[k]) == 0)
            return k;
    return -1;
}

/* Digits with at most one trailing SI letter (powers of 1000); "" is 0. */
static int parse_uint_si(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    unsigned power = 0;
    if (*p) {
        static const char letters[] = "kmgtpez";
        const char *at = strchr(letters, tolower((unsigned char)*p));
        if (!at || p[1] != '\0')
            return -1;
        power = (unsigned)(at - letters) + 1;
    }
    for (unsigned i = 0; i < power && v; i++) {
        if (v > UINT64_MAX / 1000)
            return -1;
        v *= 1000;
    }
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcasecmp(s, "on") == 0)
        return *out = 1, 0;
    if (strcasecmp(s, "off") == 0)
        return *out = 0, 0;
    return -1;
}

/* One KEY=VALUE element of a limit line, split in place. The key ends at
 * blanks or '='; blanks and '=' signs before the value are skipped; the value
 * ends at a blank, after which only a '#' comment may follow. A comment runs
 * to the end of the line (commas in it included): *comment is set when one
 * starts in this element. */
static owp_status split_pair(char *elem, char **key, char **value, int *comment, owp_err *err)
{
    char *s = elem;
    while (isspace((unsigned char)*s))
        s++;
    *key = s;
    *value = s + strlen(s);
    if (*s == '#') {
        *comment = 1;
        **key = '\0';
        return OWP_OK;
    }
    while (*s && !isspace((unsigned char)*s) && *s != '=')
        s++;
    char *key_end = s;
    while (*s && (isspace((unsigned char)*s) || *s == '='))
        s++;
    *key_end = '\0';
    *value = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (*s) {
        *s++ = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '#')
            *comment = 1;
        else if (*s)
            return owp_err_set(err, OWP_ERR_PARSE,
                               "unexpected \"%s\" after the value of \"%s\" (only a '#' "
                               "comment may follow)", s, *key);
    }
    return OWP_OK;
}

static int valid_class_name(const char *name)
{
    return strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* What one limit line says, before inheritance. */
typedef struct limit_line {
    int is_root;
    int seen[KEY_COUNT];
    const owp_limits_class *parent;
    owp_limit_values set;
} limit_line;

/* Record one KEY=VALUE pair in ll. */
static owp_status apply_pair(owp_limits *self, limit_line *ll, const char *key,
                             const char *value, owp_err *err)
{
    int k = find_key(key);
    if (k < 0)
        return owp_err_set(err, OWP_ERR_PARSE, "Unknown limit name \"%s\".", key);
    if (ll->seen[k])
        return owp_err_set(err, OWP_ERR_PARSE, "multiple %s values specified.", key);
    ll->seen[k] = 1;
    int bad = 0;
    switch ((limit_key)k) {
    case KEY_PARENT:
        if (ll->is_root)
            return owp_err_set(err, OWP_ERR_PARSE, "\"parent\" specified for root node.");
        ll->parent = owp_limits_class_find(self, value);
        if (!ll->parent)
            return owp_err_set(err, OWP_ERR_PARSE, "parent \"%s\" undefined", value);
        break;
    case KEY_BANDWIDTH:
        bad = parse_uint_si(value, &ll->set.bandwidth);
        break;
    case KEY_DISK:
        bad = parse_uint_si(value, &ll->set.disk);
        break;
    case KEY_TEST_SESSIONS:
        bad = parse_uint_si(value, &ll->set.test_sessions);
        break;
    case KEY_DELETE_ON_FETCH:
        bad = parse_bool(value, &ll->set.delete_on_fetch);
        break;
    case KEY_ALLOW_OPEN_MODE:
        bad = parse_bool(value, &ll->set.allow_open_mode);
        break;
    case KEY_COUNT:
        break;
    }
    if (bad)
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid value specified for \"%s\".", key);
    return OWP_OK;
}

/* The comma-separated pairs after "with"; empty elements are skipped. */
static owp_status parse_pairs(owp_limits *self, char *rest, limit_line *ll, owp_err *err)
{
    int comment = 0;
    while (rest && !comment) {
        char *elem = rest;
        char *comma = strchr(rest, ',');
        rest = comma ? comma + 1 : NULL;
        if (comma)
            *comma = '\0';
        char *key, *value;
        owp_status st = split_pair(elem, &key, &value, &comment, err);
        if (st == OWP_OK && (key[0] || value[0]))
            st = apply_pair(self, ll, key, value, err);
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

/* Inheritance: every value the line does not set comes from the parent,
 * whose own values already include what it inherited. */
static owp_limit_values inherit(const limit_line *ll)
{
    owp_limit_values v = ll->parent ? ll->parent->values : default_values;
    if (ll->seen[KEY_BANDWIDTH])
        v.bandwidth = ll->set.bandwidth;
    if (ll->seen[KEY_DISK])
        v.disk = ll->set.disk;
    if (ll->seen[KEY_TEST_SESSIONS])
        v.test_sessions = ll->set.test_sessions;
    if (ll->seen[KEY_DELETE_ON_FETCH])
        v.delete_on_fetch = ll->set.delete_on_fetch;
    if (ll->seen[KEY_ALLOW_OPEN_MODE])
        v.allow_open_mode = ll->set.allow_open_mode;
    return v;
}

static owp_status check_class_name(const owp_limits *self, const char *name, owp_err *err)
{
    if (!name)
        return owp_err_set(err, OWP_ERR_PARSE,
                           "expected \"limit CLASSNAME with KEY=VALUE, ...\"");
    if (strlen(name) > OWP_LIMITS_CLASS_NAME_MAX)
        return owp_err_set(err, OWP_ERR_PARSE, "classname \"%s\" too long - max length = %d",
                           name, OWP_LIMITS_CLASS_NAME_MAX);
    if (!valid_class_name(name))
        return owp_err_set(err, OWP_ERR_PARSE,
                           "classname \"%s\" invalid (it names a directory: no '/', not "
                           "\".\" or \"..\")", name);
    if (owp_limits_class_find(self, name))
        return owp_err_set(err, OWP_ERR_PARSE, "classname \"%s\" duplicated", name);
    return OWP_OK;
}

static owp_status parse_limit_line(owp_limits *self, char *cursor, owp_err *err)
{
    char *name = owp_text_token(&cursor);
    owp_status st = check_class_name(self, name, err);
    if (st != OWP_OK)
        return st;
    char *with = owp_text_token(&cursor);
    if (!with || strcasecmp(with, "with") != 0)
        return owp_err_set(err, OWP_ERR_PARSE,
                           "expected \"with\" after the classname \"%s\", found \"%s\"", name,
                           with ? with : "");
    limit_line ll;
    memset(&ll, 0, sizeof ll);
    ll.is_root = self->nclasses == 0;
    ll.set = default_values;
    st = parse_pairs(self, cursor, &ll, err);
    if (st != OWP_OK)
        return st;
    if (!ll.is_root && !ll.parent)
        return owp_err_set(err, OWP_ERR_PARSE, "\"parent\" must be specified for non-root node");
    owp_limit_values v = inherit(&ll);
    if (!add_class(self, name, ll.parent, &v))
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    return OWP_OK;
}

/* ================================================================ assign lines */

static owp_status class_operand(owp_limits *self, char **cursor, const owp_limits_class **cls,
                                owp_err *err)
{
    char *name = owp_text_token(cursor);
    if (!name || name[0] == '#')
        return owp_err_set(err, OWP_ERR_PARSE, "expected a limit class name at the end of the "
                                               "\"assign\" line");
    *cls = owp_limits_class_find(self, name);
    if (!*cls)
        return owp_err_set(err, OWP_ERR_PARSE, "Unknown limitclass name \"%s\".", name);
    return expect_end(*cursor, "the class name", err);
}

static int host_bits_zero(const uint8_t *addr, unsigned nbytes, unsigned bits)
{
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned covered = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
        uint8_t host_mask = (uint8_t)(0xFFu >> covered);
        if (addr[i] & host_mask)
            return 0;
    }
    return 1;
}

static owp_status parse_net(char *spec, net_rule *rule, owp_err *err)
{
    char *mask = strchr(spec, '/');
    if (mask) {
        *mask++ = '\0';
        if (*mask == '\0')
            return owp_err_set(err, OWP_ERR_PARSE, "Invalid address mask.");
    }
    memset(rule, 0, sizeof *rule);
    if (inet_pton(AF_INET, spec, rule->addr) == 1) {
        rule->v6 = 0;
    } else if (inet_pton(AF_INET6, spec, rule->addr) == 1) {
        rule->v6 = 1;
    } else {
        return owp_err_set(err, OWP_ERR_PARSE,
                           "Invalid address \"%s\" (expected a numeric IPv4 or IPv6 address)",
                           spec);
    }
    unsigned maxbits = rule->v6 ? 128 : 32;
    rule->bits = maxbits;
    if (mask) {
        unsigned long b = 0;
        const char *p = mask;
        for (; isdigit((unsigned char)*p) && b <= maxbits; p++)
            b = b * 10 + (unsigned long)(*p - '0');
        if (*p || b < 1 || b > maxbits)
            return owp_err_set(err, OWP_ERR_PARSE, "Invalid address mask \"%s\" (1..%u).", mask,
                               maxbits);
        rule->bits = (unsigned)b;
    }
    if (!host_bits_zero(rule->addr, maxbits / 8, rule->bits))
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid address/mask combination.");
    return OWP_OK;
}

static owp_status add_net_rule(owp_limits *self, const net_rule *rule, owp_err *err)
{
    for (size_t i = 0; i < self->nnets; i++) {
        const net_rule *o = &self->nets[i];
        if (o->v6 == rule->v6 && o->bits == rule->bits &&
            memcmp(o->addr, rule->addr, sizeof o->addr) == 0) {
            if (o->cls == rule->cls)
                return OWP_OK; /* a harmless repetition */
            return owp_err_set(err, OWP_ERR_PARSE,
                               "\"assign net\" for this network already given on line %zu "
                               "(class \"%s\")", o->line, o->cls->name);
        }
    }
    void *arr = self->nets;
    if (grow(&arr, &self->cap_nets, self->nnets, sizeof(net_rule)) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    self->nets = arr;
    self->nets[self->nnets++] = *rule;
    return OWP_OK;
}

static owp_status add_user_rule(owp_limits *self, const user_rule *rule, owp_err *err)
{
    for (size_t i = 0; i < self->nusers; i++) {
        const user_rule *o = &self->users[i];
        if (strcmp(o->identity, rule->identity) == 0) {
            if (o->cls == rule->cls)
                return OWP_OK;
            return owp_err_set(err, OWP_ERR_PARSE,
                               "\"assign user %s\" already given on line %zu (class \"%s\")",
                               rule->identity, o->line, o->cls->name);
        }
    }
    void *arr = self->users;
    if (grow(&arr, &self->cap_users, self->nusers, sizeof(user_rule)) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    self->users = arr;
    self->users[self->nusers++] = *rule;
    return OWP_OK;
}

static owp_status parse_assign_line(owp_limits *self, char *cursor, const owp_pfs *pfs,
                                    size_t line, owp_err *err)
{
    char *type = owp_text_token(&cursor);
    if (!type)
        return owp_err_set(err, OWP_ERR_PARSE, "Unknown \"assign\" specification. (expected "
                                               "\"assign default|net|user ...\")");
    owp_status st;
    const owp_limits_class *cls = NULL;
    if (strcasecmp(type, "default") == 0) {
        if (self->default_class)
            return owp_err_set(err, OWP_ERR_PARSE, "Invalid multiple \"assign default\" lines.");
        st = class_operand(self, &cursor, &cls, err);
        if (st == OWP_OK)
            self->default_class = cls;
        return st;
    }
    if (strcasecmp(type, "net") == 0) {
        char *spec = owp_text_token(&cursor);
        if (!spec)
            return owp_err_set(err, OWP_ERR_PARSE, "Invalid \"assign net\" argument.");
        net_rule rule;
        st = parse_net(spec, &rule, err);
        if (st == OWP_OK)
            st = class_operand(self, &cursor, &cls, err);
        if (st != OWP_OK)
            return st;
        rule.cls = cls;
        rule.line = line;
        return add_net_rule(self, &rule, err);
    }
    if (strcasecmp(type, "user") == 0) {
        char *id = owp_text_token(&cursor);
        if (!id)
            return owp_err_set(err, OWP_ERR_PARSE, "Invalid \"assign user\" argument.");
        if (strlen(id) > OWP_PFS_IDENTITY_MAX || !owp_pfs_lookup(pfs, id, NULL))
            return owp_err_set(err, OWP_ERR_PARSE,
                               "Invalid user \"%s\". (not in the pass-phrase file)", id);
        user_rule rule;
        memset(&rule, 0, sizeof rule);
        snprintf(rule.identity, sizeof rule.identity, "%s", id);
        st = class_operand(self, &cursor, &cls, err);
        if (st != OWP_OK)
            return st;
        rule.cls = cls;
        rule.line = line;
        return add_user_rule(self, &rule, err);
    }
    return owp_err_set(err, OWP_ERR_PARSE, "Unknown \"assign\" specification. (\"%s\": "
                                           "expected default, net or user)", type);
}

static owp_status parse_statement(owp_limits *self, char *text, const owp_pfs *pfs,
                                  size_t line, owp_err *err)
{
    char *cursor = text;
    char *keyword = owp_text_token(&cursor);
    if (keyword && strcasecmp(keyword, "limit") == 0)
        return parse_limit_line(self, cursor, err);
    if (keyword && strcasecmp(keyword, "assign") == 0)
        return parse_assign_line(self, cursor, pfs, line, err);
    return owp_err_set(err, OWP_ERR_PARSE,
                       "Invalid file syntax (\"%s\": expected a \"limit\" or \"assign\" line)",
                       keyword ? keyword : "");
}

/* ================================================================ loading */

owp_limits *owp_limits_parse(const char *text, size_t len, const char *name,
                             const owp_pfs *pfs, owp_err *err)
{
    if (!text && len)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_limits_parse: NULL text"), NULL;
    if (!name)
        name = "limits";
    owp_limits *self = limits_new();
    owp_textfile r;
    owp_status st = self ? owp_textfile_open(&r, name, text, len, err)
                         : owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    if (st == OWP_OK) {
        size_t start = 1;
        int more;
        while (st == OWP_OK && (more = owp_textfile_next(&r, &start, err)) != 0) {
            if (more < 0) {
                st = OWP_ERR_PARSE;
                break;
            }
            st = parse_statement(self, r.text, pfs, start, err);
            if (st != OWP_OK)
                owp_err_prefix(err, "%s:%zu", name, start);
        }
        owp_textfile_close(&r);
    }
    if (st == OWP_OK && self->nclasses == 0 && install_default_root(self) != 0)
        st = owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    if (st != OWP_OK)
        owp_limits_destroy(&self);
    return self;
}

owp_limits *owp_limits_load(const char *path, const owp_pfs *pfs, owp_err *err)
{
    if (!path)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_limits_load: NULL path"), NULL;
    char *buf = NULL;
    size_t len = 0;
    if (owp_textfile_slurp(path, &buf, &len, err) != OWP_OK) {
        if (errno == ENOENT) /* no limits file: everything allowed, with a warning */
            return owp_limits_parse("", 0, path, pfs, err);
        return NULL;
    }
    owp_limits *self = owp_limits_parse(buf, len, path, pfs, err);
    free(buf);
    return self;
}

const char *owp_limits_warning(const owp_limits *self)
{
    return self ? self->warning : NULL;
}

/* ================================================================ classes */

size_t owp_limits_class_count(const owp_limits *self)
{
    return self ? self->nclasses : 0;
}

const owp_limits_class *owp_limits_class_at(const owp_limits *self, size_t index)
{
    return self && index < self->nclasses ? self->classes[index] : NULL;
}

const owp_limits_class *owp_limits_root(const owp_limits *self)
{
    return owp_limits_class_at(self, 0);
}

const owp_limits_class *owp_limits_class_find(const owp_limits *self, const char *name)
{
    if (!self || !name)
        return NULL;
    for (size_t i = 0; i < self->nclasses; i++)
        if (strcmp(self->classes[i]->name, name) == 0)
            return self->classes[i];
    return NULL;
}

const char *owp_limits_class_name(const owp_limits_class *cls)
{
    return cls ? cls->name : NULL;
}

const owp_limits_class *owp_limits_class_parent(const owp_limits_class *cls)
{
    return cls ? cls->parent : NULL;
}

const owp_limit_values *owp_limits_class_values(const owp_limits_class *cls)
{
    return cls ? &cls->values : NULL;
}

int owp_limits_class_path(const owp_limits_class *cls, char *buf, size_t len)
{
    if (!buf || len == 0)
        return -1;
    buf[0] = '\0';
    if (!cls)
        return -1;
    /* Length first, then fill from the end: the chain is walked child to root. */
    size_t need = 0;
    for (const owp_limits_class *c = cls; c; c = c->parent)
        need += strlen(c->name) + (c->parent ? 1 : 0);
    if (need + 1 > len)
        return -1;
    size_t end = need;
    buf[end] = '\0';
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        size_t n = strlen(c->name);
        end -= n;
        memcpy(buf + end, c->name, n);
        if (c->parent)
            buf[--end] = '/';
    }
    return 0;
}

const owp_limits_class *owp_limits_class_by_path(const owp_limits *self,
                                                 const char *class_path)
{
    if (!self || !class_path)
        return NULL;
    const char *last = strrchr(class_path, '/');
    const owp_limits_class *cls = owp_limits_class_find(self, last ? last + 1 : class_path);
    /* Walk the chain from the class up, matching the path from its end. */
    size_t n = strlen(class_path);
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        size_t k = strlen(c->name);
        if (k > n || memcmp(class_path + n - k, c->name, k) != 0)
            return NULL;
        n -= k;
        if (c->parent) {
            if (n == 0 || class_path[n - 1] != '/')
                return NULL;
            n--;
        }
    }
    return cls && n == 0 ? cls : NULL;
}

/* ================================================================ resolution */

/* The address as 4 (IPv4, also for IPv4-mapped IPv6) or 16 bytes. */
static int addr_bytes(const struct sockaddr *sa, socklen_t len, uint8_t out[16], int *v6)
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(out, &s4->sin_addr, 4);
        *v6 = 0;
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            memcpy(out, &s6->sin6_addr.s6_addr[12], 4);
            *v6 = 0;
        } else {
            memcpy(out, s6->sin6_addr.s6_addr, 16);
            *v6 = 1;
        }
        return 0;
    }
    return -1;
}

static int prefix_matches(const uint8_t *addr, const uint8_t *net, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(addr, net, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (addr[whole] & mask) == (net[whole] & mask);
}

static const owp_limits_class *default_or_root(const owp_limits *self)
{
    return self->default_class ? self->default_class : owp_limits_root(self);
}

const owp_limits_class *owp_limits_class_for_addr(const owp_limits *self,
                                                  const struct sockaddr *addr,
                                                  socklen_t addr_len)
{
    if (!self)
        return NULL;
    uint8_t bytes[16];
    int v6 = 0;
    if (addr_bytes(addr, addr_len, bytes, &v6) != 0)
        return default_or_root(self);
    const net_rule *best = NULL;
    for (size_t i = 0; i < self->nnets; i++) {
        const net_rule *r = &self->nets[i];
        if (r->v6 == v6 && (!best || r->bits > best->bits) &&
            prefix_matches(bytes, r->addr, r->bits))
            best = r;
    }
    return best ? best->cls : default_or_root(self);
}

const owp_limits_class *owp_limits_class_for_conn(const owp_limits *self,
                                                  const struct sockaddr *addr,
                                                  socklen_t addr_len, uint32_t mode,
                                                  const char *identity)
{
    if (!self)
        return NULL;
    int authenticated = (mode & (OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)) != 0;
    if (authenticated && identity && identity[0]) {
        const owp_limits_class *named = owp_limits_class_find(self, identity);
        if (named)
            return named;
        for (size_t i = 0; i < self->nusers; i++)
            if (strcmp(self->users[i].identity, identity) == 0)
                return self->users[i].cls;
    }
    return owp_limits_class_for_addr(self, addr, addr_len);
}

int owp_limits_allow_open_mode(const owp_limits *self, const struct sockaddr *addr,
                               socklen_t addr_len)
{
    const owp_limits_class *cls = owp_limits_class_for_addr(self, addr, addr_len);
    return cls ? cls->values.allow_open_mode : 1;
}

/* ================================================================ session cost */

uint64_t owp_limits_session_bandwidth(const owp_slot *slots, uint32_t nslots, uint32_t padding,
                                      uint32_t mode, int ipv6)
{
    double duration = 0.0;
    for (uint32_t i = 0; slots && i < nslots; i++)
        duration += (double)slots[i].value / 4294967296.0;
    if (!slots || nslots == 0 || !(duration > 0.0))
        return UINT64_MAX;
    unsigned payload = (mode & (OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)) ? 48 : 14;
    double size = (ipv6 ? 40.0 : 20.0) + 8.0 + payload + (double)padding;
    double bits = (double)nslots / duration * size * 8.0;
    if (!(bits < 18446744073709551616.0))
        return UINT64_MAX;
    return (uint64_t)bits;
}

uint64_t owp_limits_session_disk(uint32_t nslots, uint32_t npackets)
{
    return 184u + 16u * (uint64_t)nslots + 25u * (uint64_t)npackets;
}

/* ================================================================ the ledger */

typedef enum { RES_TEST_SESSIONS, RES_BANDWIDTH, RES_DISK } resource;

static const char *const resource_names[] = {"test_sessions", "bandwidth", "disk"};

typedef struct usage {
    uint64_t bandwidth;
    uint64_t disk;
} usage;

typedef struct grant {
    uint64_t id;
    uint64_t conn_id;
    const owp_limits_class *cls;
    uint64_t bandwidth;
    uint64_t disk;
} grant;

typedef struct conn {
    uint64_t id;
    const owp_limits_class *cls;
    uint64_t nrequests; /* granted Request-Sessions (test_sessions) */
} conn;

struct owp_limits_ledger {
    const owp_limits *limits;
    double diskfudge;
    usage *used; /* one per class, by class index */
    conn *conns;
    size_t nconns, cap_conns;
    grant *grants;
    size_t ngrants, cap_grants;
    uint64_t next_grant_id;
};

owp_limits_ledger *owp_limits_ledger_new(const owp_limits *limits, double diskfudge,
                                         owp_err *err)
{
    if (!limits || limits->nclasses == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_limits_ledger_new: no limits"), NULL;
    if (!(diskfudge >= 1.0 && diskfudge <= 10.0))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "Invalid diskfudge \"%g\":valid values 1.0<=diskfudge<=10.0",
                           diskfudge), NULL;
    owp_limits_ledger *self = calloc(1, sizeof *self);
    if (self)
        self->used = calloc(limits->nclasses, sizeof(usage));
    if (!self || !self->used) {
        free(self);
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory"), NULL;
    }
    self->limits = limits;
    self->diskfudge = diskfudge;
    self->next_grant_id = 1;
    return self;
}

void owp_limits_ledger_destroy(owp_limits_ledger **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_limits_ledger *self = *self_p;
    free(self->used);
    free(self->conns);
    free(self->grants);
    free(self);
    *self_p = NULL;
}

static int owns_class(const owp_limits_ledger *self, const owp_limits_class *cls)
{
    return cls && cls->index < self->limits->nclasses &&
           self->limits->classes[cls->index] == cls;
}

static conn *find_conn(const owp_limits_ledger *self, uint64_t conn_id)
{
    for (size_t i = 0; i < self->nconns; i++)
        if (self->conns[i].id == conn_id)
            return &self->conns[i];
    return NULL;
}

static grant *find_grant(const owp_limits_ledger *self, uint64_t grant_id)
{
    for (size_t i = 0; i < self->ngrants; i++)
        if (self->grants[i].id == grant_id)
            return &self->grants[i];
    return NULL;
}

static uint64_t limit_of(const owp_limits_class *c, resource r)
{
    return r == RES_TEST_SESSIONS ? c->values.test_sessions
           : r == RES_BANDWIDTH   ? c->values.bandwidth
                                  : c->values.disk;
}

static uint64_t *counter(owp_limits_ledger *self, const owp_limits_class *c, resource r)
{
    usage *u = &self->used[c->index];
    return r == RES_BANDWIDTH ? &u->bandwidth : &u->disk;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* limit x fudge as an integer, saturating. */
static uint64_t hard_limit(uint64_t limit, double fudge)
{
    if (fudge == 1.0)
        return limit;
    double h = floor((double)limit * fudge);
    return h >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)h;
}

/* The first level (from cls up) that cannot take amount more, or NULL.
 * A level's usage is its own counter, except for test_sessions, which are
 * counted per connection (conn_count) and checked against every level. */
static const owp_limits_class *refusing_level(owp_limits_ledger *self,
                                              const owp_limits_class *cls, resource r,
                                              uint64_t amount, uint64_t conn_count,
                                              double fudge, uint64_t *used_out)
{
    if (amount == 0)
        return NULL; /* nothing asked (a send session's disk): nothing to refuse */
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        uint64_t limit = limit_of(c, r);
        if (limit == 0)
            continue; /* no limit at this level: look further up */
        uint64_t used = r == RES_TEST_SESSIONS ? conn_count : *counter(self, c, r);
        uint64_t hard = hard_limit(limit, fudge);
        if (amount > hard || used > hard - amount) {
            *used_out = used;
            return c;
        }
    }
    return NULL;
}

static owp_status deny(owp_err *err, const owp_limits_class *c, const char *query, resource r,
                       uint64_t amount, uint64_t used)
{
    return owp_err_set(err, OWP_ERR_REFUSED,
                       "ResReq DENIED: %s:%s:%s = %llu (result = %llu, limit = %llu)", c->name,
                       query, resource_names[r], (unsigned long long)amount,
                       (unsigned long long)used, (unsigned long long)limit_of(c, r));
}

/* Add (sign > 0) or release (sign < 0) amount at cls and every ancestor.
 * Releases clamp at 0; returns -1 if one had to. */
static int charge(owp_limits_ledger *self, const owp_limits_class *cls, resource r,
                  uint64_t amount, int sign)
{
    int clamped = 0;
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        uint64_t *u = counter(self, c, r);
        if (sign > 0) {
            *u = sat_add(*u, amount);
        } else if (amount > *u) {
            *u = 0;
            clamped = 1;
        } else {
            *u -= amount;
        }
    }
    return clamped ? -1 : 0;
}

static owp_status stored_class(owp_limits_ledger *self, const char *class_path,
                               const owp_limits_class **cls, owp_err *err)
{
    if (!self || !class_path)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_limits_ledger: NULL argument");
    *cls = owp_limits_class_by_path(self->limits, class_path);
    if (!*cls)
        return owp_err_set(err, OWP_ERR_INVALID, "\"%s\": No associated user class", class_path);
    return OWP_OK;
}

owp_status owp_limits_ledger_add_stored(owp_limits_ledger *self, const char *class_path,
                                        uint64_t bytes, owp_err *err)
{
    const owp_limits_class *cls;
    owp_status st = stored_class(self, class_path, &cls, err);
    if (st == OWP_OK)
        charge(self, cls, RES_DISK, bytes, +1);
    return st;
}

owp_status owp_limits_ledger_remove_stored(owp_limits_ledger *self, const char *class_path,
                                           uint64_t bytes, owp_err *err)
{
    const owp_limits_class *cls;
    owp_status st = stored_class(self, class_path, &cls, err);
    if (st == OWP_OK && charge(self, cls, RES_DISK, bytes, -1) != 0)
        st = owp_err_set(err, OWP_ERR_INVALID,
                         "release of %llu disk bytes for \"%s\" exceeds its usage (now 0)",
                         (unsigned long long)bytes, class_path);
    return st;
}

owp_status owp_limits_ledger_conn_open(owp_limits_ledger *self, uint64_t conn_id,
                                       const owp_limits_class *cls, owp_err *err)
{
    if (!self || !owns_class(self, cls))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "owp_limits_ledger_conn_open: class not from this ledger's limits");
    if (find_conn(self, conn_id))
        return owp_err_set(err, OWP_ERR_INVALID, "connection %llu is already open",
                           (unsigned long long)conn_id);
    void *arr = self->conns;
    if (grow(&arr, &self->cap_conns, self->nconns, sizeof(conn)) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    self->conns = arr;
    self->conns[self->nconns++] = (conn){conn_id, cls, 0};
    return OWP_OK;
}

static void release_grant(owp_limits_ledger *self, grant *g)
{
    charge(self, g->cls, RES_BANDWIDTH, g->bandwidth, -1);
    charge(self, g->cls, RES_DISK, g->disk, -1);
    *g = self->grants[--self->ngrants]; /* order of grants does not matter */
}

size_t owp_limits_ledger_conn_close(owp_limits_ledger *self, uint64_t conn_id)
{
    if (!self)
        return 0;
    size_t released = 0;
    for (size_t i = 0; i < self->ngrants;) {
        if (self->grants[i].conn_id == conn_id) {
            release_grant(self, &self->grants[i]); /* moves the last grant to i */
            released++;
        } else {
            i++;
        }
    }
    conn *c = find_conn(self, conn_id);
    if (c)
        *c = self->conns[--self->nconns];
    return released;
}

owp_status owp_limits_ledger_request(owp_limits_ledger *self, uint64_t conn_id,
                                     uint64_t bandwidth, uint64_t disk, uint64_t *grant_id,
                                     uint8_t *accept, owp_err *err)
{
    uint8_t dummy_accept;
    uint64_t dummy_id;
    if (!accept)
        accept = &dummy_accept;
    if (!grant_id)
        grant_id = &dummy_id;
    *accept = 2; /* internal error until decided */
    *grant_id = 0;
    conn *c = self ? find_conn(self, conn_id) : NULL;
    if (!c)
        return owp_err_set(err, OWP_ERR_INVALID, "resource request from unknown connection %llu",
                           (unsigned long long)conn_id);
    const owp_limits_class *cls = c->cls;
    uint64_t used = 0;
    const owp_limits_class *at;

    /* In the reference's order; the first refusal decides and nothing is
     * charged (so a refused request does not count as a test session). */
    const resource order[] = {RES_TEST_SESSIONS, RES_BANDWIDTH, RES_DISK};
    const uint64_t amount[] = {1, bandwidth, disk};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        at = refusing_level(self, cls, order[i], amount[i], c->nrequests, 1.0, &used);
        if (at) {
            *accept = OWP_LIMITS_ACCEPT_DENIED;
            return deny(err, at, "request", order[i], amount[i], used);
        }
    }

    void *arr = self->grants;
    if (grow(&arr, &self->cap_grants, self->ngrants, sizeof(grant)) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    self->grants = arr;
    grant *g = &self->grants[self->ngrants++];
    *g = (grant){self->next_grant_id++, conn_id, cls, bandwidth, disk};
    if (self->next_grant_id == 0)
        self->next_grant_id = 1; /* 0 never names a grant */
    charge(self, cls, RES_BANDWIDTH, bandwidth, +1);
    charge(self, cls, RES_DISK, disk, +1);
    c->nrequests++;
    *grant_id = g->id;
    *accept = 0;
    return OWP_OK;
}

owp_status owp_limits_ledger_end(owp_limits_ledger *self, uint64_t grant_id, int keep_file,
                                 uint64_t file_size, owp_err *err)
{
    grant *g = self ? find_grant(self, grant_id) : NULL;
    if (!g)
        return owp_err_set(err, OWP_ERR_INVALID, "no resource grant %llu",
                           (unsigned long long)grant_id);
    if (!keep_file) {
        release_grant(self, g);
        return OWP_OK;
    }
    owp_status st = OWP_OK;
    if (file_size < g->disk) {
        charge(self, g->cls, RES_DISK, g->disk - file_size, -1);
        g->disk = file_size;
    } else if (file_size > g->disk) {
        /* Larger than estimated: claim the rest against the hard limit. */
        uint64_t more = file_size - g->disk, used = 0;
        const owp_limits_class *at =
            refusing_level(self, g->cls, RES_DISK, more, 0, self->diskfudge, &used);
        if (at) {
            st = deny(err, at, "claim", RES_DISK, more, used);
        } else {
            charge(self, g->cls, RES_DISK, more, +1);
            g->disk = file_size;
        }
    }
    if (st != OWP_OK) {
        release_grant(self, g); /* the caller deletes the file */
        return st;
    }
    /* The file's bytes stay charged to the class as stored data. */
    g->disk = 0;
    release_grant(self, g);
    return OWP_OK;
}

int owp_limits_ledger_usage(const owp_limits_ledger *self, const owp_limits_class *cls,
                            uint64_t *bandwidth, uint64_t *disk)
{
    if (!self || !owns_class(self, cls))
        return -1;
    if (bandwidth)
        *bandwidth = self->used[cls->index].bandwidth;
    if (disk)
        *disk = self->used[cls->index].disk;
    return 0;
}

size_t owp_limits_ledger_grants(const owp_limits_ledger *self, uint64_t conn_id)
{
    size_t n = 0;
    for (size_t i = 0; self && i < self->ngrants; i++)
        n += self->grants[i].conn_id == conn_id;
    return n;
}

int owp_limits_ledger_grant_conn(const owp_limits_ledger *self, uint64_t grant_id,
                                 uint64_t *conn_id)
{
    for (size_t i = 0; self && i < self->ngrants; i++) {
        if (self->grants[i].id == grant_id) {
            if (conn_id)
                *conn_id = self->grants[i].conn_id;
            return 0;
        }
    }
    return -1;
}
