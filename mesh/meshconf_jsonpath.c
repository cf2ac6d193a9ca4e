/*
 * meshconf_jsonpath.c - JSON paths and the messages that name them, and the
 * typed reads of members that fail with such a message.
 *
 * Every error of the mesh reader goes through owm_conf_fail: "FILE: PATH: WHAT",
 * with PATH jsonpath-style ($.tests.owd['odd key'].spec[0]) and WHAT saying
 * what was expected and what the file has instead.
 */
#include "meshconf_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ paths */

/* A key that can follow a dot in a path: the rest need ['...']. */
static bool simple_key(const char *key)
{
    if (!*key)
        return false;
    for (const char *s = key; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* Paths longer than the buffer are cut: the message stays readable. */
static void path_printf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void path_printf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

void owm_conf_path_key(char *out, size_t len, const char *parent, const char *key)
{
    if (simple_key(key)) {
        path_printf(out, len, "%s.%s", parent, key);
        return;
    }
    /* Quote the key jsonpath-style; control bytes become '?' so a message
     * stays one printable line. */
    char quoted[OWM_CONF_PATH_MAX];
    size_t q = 0;
    for (const char *s = key; *s && q + 3 < sizeof quoted; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'' || c == '\\')
            quoted[q++] = '\\';
        quoted[q++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    quoted[q] = '\0';
    path_printf(out, len, "%s['%s']", parent, quoted);
}

void owm_conf_path_index(char *out, size_t len, const char *parent, size_t index)
{
    path_printf(out, len, "%s[%zu]", parent, index);
}

/* ------------------------------------------------------------ messages */

void owm_conf_format_double(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v); /* "10", never "1e+01" */
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A string value, JSON-quoted and cut when long. */
static void describe_string(const json_t *v, char *buf, size_t len)
{
    /* ASCII only, so cutting it cannot split a UTF-8 sequence. */
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    if (!text) {
        snprintf(buf, len, "a string");
        return;
    }
    if (strlen(text) > 60)
        snprintf(buf, len, "%.56s...\"", text);
    else
        snprintf(buf, len, "%s", text);
    free(text);
}

/* What a value is, for "got ..." in messages. */
static void describe(const json_t *v, char *buf, size_t len)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, len, json_object_size(v) ? "an object" : "an empty object");
        break;
    case JSON_ARRAY:
        if (json_array_size(v) == 0)
            snprintf(buf, len, "an empty array");
        else
            snprintf(buf, len, "an array of %zu item%s", json_array_size(v),
                     json_array_size(v) == 1 ? "" : "s");
        break;
    case JSON_TRUE: snprintf(buf, len, "true"); break;
    case JSON_FALSE: snprintf(buf, len, "false"); break;
    case JSON_NULL: snprintf(buf, len, "null"); break;
    case JSON_INTEGER: snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL:
        /* Keep a real recognisable as one: 600.0 is not the integer 600. */
        owm_conf_format_double(json_real_value(v), buf, len);
        if (!strpbrk(buf, ".eEn"))
            snprintf(buf + strlen(buf), len - strlen(buf), ".0");
        break;
    case JSON_STRING: describe_string(v, buf, len); break;
    }
}

owp_status owm_conf_fail(owm_conf_parser *ps, const char *path, const char *fmt, ...)
{
    char what[OWP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return owp_err_set(ps->err, OWP_ERR_PARSE, "%s: %s: %s", ps->mesh->source, path, what);
}

owp_status owm_conf_expected(owm_conf_parser *ps, const char *path, const char *what,
                             const json_t *got)
{
    char desc[80];
    describe(got, desc, sizeof desc);
    return owm_conf_fail(ps, path, "expected %s, got %s", what, desc);
}

owp_status owm_conf_nomem(owm_conf_parser *ps)
{
    return owp_err_set(ps->err, OWP_ERR_NOMEM, "%s: out of memory", ps->mesh->source);
}

owp_status owm_conf_warn(owm_conf_parser *ps, const char *path, const char *fmt, ...)
{
    owm_mesh *m = ps->mesh;
    char what[OWP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t len = strlen(m->source) + strlen(path) + strlen(what) + 5;
    char *line = malloc(len);
    char **grown = realloc(m->warnings, (m->n_warnings + 1) * sizeof *grown);
    if (!line || !grown) {
        free(line);
        if (grown)
            m->warnings = grown;
        return owm_conf_nomem(ps);
    }
    snprintf(line, len, "%s: %s: %s", m->source, path, what);
    m->warnings = grown;
    m->warnings[m->n_warnings++] = line;
    return OWP_OK;
}

void owm_conf_join_names(const void *base, size_t n, size_t stride, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, len, "none defined");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *)((const char *)base + i * stride);
        if (used > OWM_CONF_KNOWN_LIST_MAX) {
            snprintf(buf + used, len - used, ", ...");
            return;
        }
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", name);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
}

/* ------------------------------------------------------------ keys */

bool owm_conf_is_comment_key(const char *key) { return key[0] == '_'; }

bool owm_conf_keys_has(owm_conf_keys keys, const char *key)
{
    for (size_t i = 0; i < keys.n; i++)
        if (keys.keys[i] && !strcmp(key, keys.keys[i]))
            return true;
    return false;
}

owp_status owm_conf_check_keys(owm_conf_parser *ps, json_t *obj, const char *path,
                               owm_conf_keys allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (owm_conf_is_comment_key(key) || owm_conf_keys_has(allowed, key))
            continue;
        char p[OWM_CONF_PATH_MAX], list[OWM_CONF_KNOWN_LIST_MAX + 64];
        owm_conf_path_key(p, sizeof p, path, key);
        owm_conf_join_names(allowed.keys, allowed.n, sizeof(char *), list, sizeof list);
        return owm_conf_fail(ps, p, "unknown key; expected one of (%s)", list);
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ typed members */

owp_status owm_conf_member(owm_conf_parser *ps, json_t *parent, const char *key, const char *path,
                           const char *missing, json_t **v, char p[OWM_CONF_PATH_MAX])
{
    owm_conf_path_key(p, OWM_CONF_PATH_MAX, path, key);
    *v = json_object_get(parent, key);
    if (!*v && missing)
        return owm_conf_fail(ps, path, "expected the key \"%s\" (%s)", key, missing);
    return OWP_OK;
}

/* The member key of parent, which must be a value ok accepts (else "PATH:
 * expected WHAT, got ..."); absent as for owm_conf_member. */
static owp_status typed_member(owm_conf_parser *ps, json_t *parent, const char *key,
                               const char *path, const char *missing, bool ok(const json_t *),
                               const char *what, json_t **v)
{
    char p[OWM_CONF_PATH_MAX];
    owp_status st = owm_conf_member(ps, parent, key, path, missing, v, p);
    if (st || !*v)
        return st;
    return ok(*v) ? OWP_OK : owm_conf_expected(ps, p, what, *v);
}

static bool is_object(const json_t *v) { return json_is_object(v); }
static bool is_text(const json_t *v) { return json_is_string(v) && json_string_length(v) > 0; }
static bool is_boolean(const json_t *v) { return json_is_boolean(v); }

owp_status owm_conf_get_object(owm_conf_parser *ps, json_t *parent, const char *key,
                               const char *path, bool required, json_t **out)
{
    json_t *v;
    owp_status st = typed_member(ps, parent, key, path, required ? "an object" : NULL,
                                 is_object, "an object", &v);
    *out = st ? NULL : v;
    return st;
}

owp_status owm_conf_get_string(owm_conf_parser *ps, json_t *parent, const char *key,
                               const char *path, bool required, const char **out)
{
    json_t *v;
    owp_status st = typed_member(ps, parent, key, path, required ? "a string" : NULL, is_text,
                                 "a non-empty string", &v);
    *out = st || !v ? NULL : json_string_value(v);
    return st;
}

owp_status owm_conf_get_bool(owm_conf_parser *ps, json_t *parent, const char *key, const char *path,
                             bool *out)
{
    json_t *v;
    owp_status st = typed_member(ps, parent, key, path, NULL, is_boolean, "true or false", &v);
    if (!st && v)
        *out = json_is_true(v);
    return st;
}

owp_status owm_conf_get_array(owm_conf_parser *ps, json_t *parent, const char *key,
                              const char *path, const char *missing, size_t min, const char *what,
                              json_t **out, char p[OWM_CONF_PATH_MAX])
{
    owp_status st = owm_conf_member(ps, parent, key, path, missing, out, p);
    if (st || !*out)
        return st;
    if (!json_is_array(*out) || json_array_size(*out) < min)
        return owm_conf_expected(ps, p, what, *out);
    return OWP_OK;
}

owp_status owm_conf_each_item(owm_conf_parser *ps, json_t *arr, const char *path,
                              owm_conf_item_fn fn, void *ctx)
{
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        char ip[OWM_CONF_PATH_MAX];
        owm_conf_path_index(ip, sizeof ip, path, i);
        owp_status st = fn(ps, ctx, item, ip);
        if (st)
            return st;
    }
    return OWP_OK;
}

owp_status owm_conf_get_uint(owm_conf_parser *ps, json_t *v, const char *path, json_int_t min,
                             json_int_t max, const char *what, uint32_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return owm_conf_expected(ps, path, what, v);
    *out = (uint32_t)json_integer_value(v);
    return OWP_OK;
}

owp_status owm_conf_get_seconds(owm_conf_parser *ps, json_t *v, const char *path, double max,
                                const char *what, double *out)
{
    if (!json_is_number(v))
        return owm_conf_expected(ps, path, what, v);
    double d = json_number_value(v);
    if (!(d > 0.0) || !(d <= max) || !isfinite(d))
        return owm_conf_expected(ps, path, what, v);
    *out = d;
    return OWP_OK;
}

owp_status owm_conf_index_set(owm_conf_parser *ps, json_t *index, const char *key, size_t value)
{
    json_t *n = json_integer((json_int_t)value);
    if (!n || json_object_set_new(index, key, n))
        return owm_conf_nomem(ps);
    return OWP_OK;
}
