/*
 * policy_parse.c - the owamp-server.limits parser: "limit" lines build the
 * tree of classes, "assign" lines the rules that map addresses and identities
 * to them (programs.md section 3). Lookups are in policy.c, accounting in
 * policy_ledger.c.
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
#include "policy_internal.h"
#include "textfile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Defaults of a root class (section 3.1). */
static const owp_limit_values default_values = {0, 0, 0, 0, 1};

/* ================================================================ building */

static owp_limits *limits_new(void)
{
    return calloc(1, sizeof(owp_limits));
}

static owp_limits_class *add_class(owp_limits *self, const char *name,
                                   const owp_limits_class *parent, const owp_limit_values *v)
{
    void *arr = self->classes;
    if (owp_limits_grow(&arr, &self->cap_classes, self->nclasses,
                        sizeof(owp_limits_class *)) != 0)
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

typedef enum { VALUE_CLASS, VALUE_NUMBER, VALUE_SWITCH } value_kind;

/* Every key but "parent" sets one field of owp_limit_values: a number with an
 * optional SI letter (uint64_t) or on/off (int). One table, so parsing a value
 * and inheriting it are written once for all keys. */
static const struct {
    const char *name;
    value_kind kind;
    size_t offset; /* of the field in owp_limit_values (not for VALUE_CLASS) */
} keys[KEY_COUNT] = {
    [KEY_PARENT] = {"parent", VALUE_CLASS, 0},
    [KEY_BANDWIDTH] = {"bandwidth", VALUE_NUMBER, offsetof(owp_limit_values, bandwidth)},
    [KEY_DISK] = {"disk", VALUE_NUMBER, offsetof(owp_limit_values, disk)},
    [KEY_TEST_SESSIONS] = {"test_sessions", VALUE_NUMBER,
                           offsetof(owp_limit_values, test_sessions)},
    [KEY_DELETE_ON_FETCH] = {"delete_on_fetch", VALUE_SWITCH,
                             offsetof(owp_limit_values, delete_on_fetch)},
    [KEY_ALLOW_OPEN_MODE] = {"allow_open_mode", VALUE_SWITCH,
                             offsetof(owp_limit_values, allow_open_mode)},
};

static int find_key(const char *name)
{
    for (int k = 0; k < KEY_COUNT; k++)
        if (strcasecmp(name, keys[k].name) == 0)
            return k;
    return -1;
}

/* The field of v that key k sets, and its size. */
static void *key_field(owp_limit_values *v, int k)
{
    return (char *)v + keys[k].offset;
}

static size_t key_field_size(int k)
{
    return keys[k].kind == VALUE_NUMBER ? sizeof(uint64_t) : sizeof(int);
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
    if (keys[k].kind == VALUE_CLASS) {
        if (ll->is_root)
            return owp_err_set(err, OWP_ERR_PARSE, "\"parent\" specified for root node.");
        ll->parent = owp_limits_class_find(self, value);
        if (!ll->parent)
            return owp_err_set(err, OWP_ERR_PARSE, "parent \"%s\" undefined", value);
        return OWP_OK;
    }
    void *field = key_field(&ll->set, k);
    int bad = keys[k].kind == VALUE_NUMBER ? parse_uint_si(value, field)
                                           : parse_bool(value, field);
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
    owp_limit_values set = ll->set;
    for (int k = 0; k < KEY_COUNT; k++)
        if (ll->seen[k] && keys[k].kind != VALUE_CLASS)
            memcpy(key_field(&v, k), key_field(&set, k), key_field_size(k));
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

/* An "assign" for a network or identity that an earlier line (line, class
 * had) already assigned: harmless if to the same class, else an error. */
static owp_status repeated_rule(const char *what, size_t line, const owp_limits_class *had,
                                const owp_limits_class *cls, owp_err *err)
{
    if (had == cls)
        return OWP_OK; /* a harmless repetition */
    return owp_err_set(err, OWP_ERR_PARSE, "%s already given on line %zu (class \"%s\")", what,
                       line, had->name);
}

/* Copy elem (size bytes) to the end of *array, which holds *n of *cap. */
static owp_status append(void **array, size_t *n, size_t *cap, const void *elem, size_t size,
                         owp_err *err)
{
    if (owp_limits_grow(array, cap, *n, size) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    memcpy((char *)*array + *n * size, elem, size);
    (*n)++;
    return OWP_OK;
}

static owp_status add_net_rule(owp_limits *self, const net_rule *rule, owp_err *err)
{
    for (size_t i = 0; i < self->nnets; i++) {
        const net_rule *o = &self->nets[i];
        if (o->v6 == rule->v6 && o->bits == rule->bits &&
            memcmp(o->addr, rule->addr, sizeof o->addr) == 0)
            return repeated_rule("\"assign net\" for this network", o->line, o->cls,
                                 rule->cls, err);
    }
    void *arr = self->nets;
    owp_status st = append(&arr, &self->nnets, &self->cap_nets, rule, sizeof *rule, err);
    self->nets = arr;
    return st;
}

static owp_status add_user_rule(owp_limits *self, const user_rule *rule, owp_err *err)
{
    const user_rule *o = NULL;
    for (size_t i = 0; i < self->nusers && !o; i++)
        if (strcmp(self->users[i].identity, rule->identity) == 0)
            o = &self->users[i];
    if (o) {
        char what[sizeof rule->identity + sizeof "\"assign user \""];
        snprintf(what, sizeof what, "\"assign user %s\"", rule->identity);
        return repeated_rule(what, o->line, o->cls, rule->cls, err);
    }
    void *arr = self->users;
    owp_status st = append(&arr, &self->nusers, &self->cap_users, rule, sizeof *rule, err);
    self->users = arr;
    return st;
}

/* "assign net ADDR[/BITS] CLASS", after "net". */
static owp_status parse_assign_net(owp_limits *self, char *cursor, size_t line, owp_err *err)
{
    char *spec = owp_text_token(&cursor);
    if (!spec)
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid \"assign net\" argument.");
    net_rule rule;
    owp_status st = parse_net(spec, &rule, err);
    if (st == OWP_OK)
        st = class_operand(self, &cursor, &rule.cls, err);
    rule.line = line;
    return st == OWP_OK ? add_net_rule(self, &rule, err) : st;
}

/* "assign user ID CLASS", after "user": ID must be in the pass-phrase file. */
static owp_status parse_assign_user(owp_limits *self, char *cursor, const owp_pfs *pfs,
                                    size_t line, owp_err *err)
{
    char *id = owp_text_token(&cursor);
    if (!id)
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid \"assign user\" argument.");
    if (strlen(id) > OWP_PFS_IDENTITY_MAX || !owp_pfs_lookup(pfs, id, NULL))
        return owp_err_set(err, OWP_ERR_PARSE,
                           "Invalid user \"%s\". (not in the pass-phrase file)", id);
    user_rule rule;
    memset(&rule, 0, sizeof rule);
    snprintf(rule.identity, sizeof rule.identity, "%s", id);
    rule.line = line;
    owp_status st = class_operand(self, &cursor, &rule.cls, err);
    return st == OWP_OK ? add_user_rule(self, &rule, err) : st;
}

static owp_status parse_assign_line(owp_limits *self, char *cursor, const owp_pfs *pfs,
                                    size_t line, owp_err *err)
{
    char *type = owp_text_token(&cursor);
    if (!type)
        return owp_err_set(err, OWP_ERR_PARSE, "Unknown \"assign\" specification. (expected "
                                               "\"assign default|net|user ...\")");
    if (strcasecmp(type, "default") == 0) {
        if (self->default_class)
            return owp_err_set(err, OWP_ERR_PARSE, "Invalid multiple \"assign default\" lines.");
        const owp_limits_class *cls = NULL;
        owp_status st = class_operand(self, &cursor, &cls, err);
        if (st == OWP_OK)
            self->default_class = cls;
        return st;
    }
    if (strcasecmp(type, "net") == 0)
        return parse_assign_net(self, cursor, line, err);
    if (strcasecmp(type, "user") == 0)
        return parse_assign_user(self, cursor, pfs, line, err);
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

