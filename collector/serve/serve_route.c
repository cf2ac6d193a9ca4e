/*
 * serve_route.c - the server's routes and their query strings: which path
 * answers what, which parameters each takes (the command line's option
 * names, so /api/query?src=a&dst=b&since=1h is `owmesh query --src a --dst
 * b --since 1h --json`), and the limits every query string is held to.
 */
#include <string.h>

#include "serve.h"

static const char *const no_params[] = {NULL};
static const char *const pair_page_params[] = {"src", "dst", "since", "from", "to", NULL};
static const char *const grid_params[] = {"since", "from", "to", "now", "stat", "warn", "crit",
                                          NULL};
static const char *const query_params[] = {"src", "dst", "node", "group", "since", "from",
                                           "to", "now", "every", "p", "source", "per-path",
                                           NULL};
static const char *const completeness_params[] = {"since", "from", "to", "now", "bucket",
                                                  "stale", "grace", NULL};
/* The pages pass their own settings (refresh, stat, ...) to their script,
 * which reads location.search; the server only bounds them. */
static const char *const grid_page_params[] = {"since", "stat", "refresh", "compact", "task",
                                               NULL};

static const serve_route routes[] = {
    {"/", SERVE_PAGE, "index.html", grid_page_params},
    {"/pair", SERVE_PAGE, "pair.html", pair_page_params},
    {"/completeness", SERVE_PAGE, "completeness.html", grid_page_params},
    {"/status", SERVE_PAGE, "status.html", grid_page_params},
    {"/assets/status.js", SERVE_PAGE, "status.js", no_params},
    {"/assets/owmesh.js", SERVE_PAGE, "owmesh.js", no_params},
    {"/assets/grid.js", SERVE_PAGE, "grid.js", no_params},
    {"/assets/pair.js", SERVE_PAGE, "pair.js", no_params},
    {"/assets/completeness.js", SERVE_PAGE, "completeness.js", no_params},
    {"/assets/owmesh.css", SERVE_PAGE, "owmesh.css", no_params},
    {"/api/grid", SERVE_API_GRID, NULL, grid_params},
    {"/api/query", SERVE_API_QUERY, NULL, query_params},
    {"/api/query.csv", SERVE_API_QUERY_CSV, NULL, query_params},
    {"/api/completeness", SERVE_API_COMPLETENESS, NULL, completeness_params},
    {"/api/status", SERVE_API_STATUS, NULL, no_params},
    {"/api/config", SERVE_API_CONFIG, NULL, no_params},
    {"/metrics", SERVE_METRICS, NULL, no_params},
};

const serve_route *serve_route_find(const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(path, routes[i].path))
            return &routes[i];
    return NULL;
}

static int key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > SERVE_MAX_KEY)
        return 0;
    for (const char *c = key; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return 0;
    return 1;
}

static int value_ok(const char *value)
{
    size_t n = strlen(value);
    if (n > SERVE_MAX_VALUE)
        return 0;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return 0;
    return 1;
}

owp_status serve_params_add(serve_params *p, const char *key, const char *value, owp_err *err)
{
    if (!key_ok(key))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "bad parameter name (1 to %d of a-z, 0-9 and '-')", SERVE_MAX_KEY);
    if (!value)
        value = "";
    if (!value_ok(value))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "parameter \"%s\": value longer than %d bytes or with a control "
                           "character", key, SERVE_MAX_VALUE);
    if (serve_params_get(p, key))
        return owp_err_set(err, OWP_ERR_INVALID, "parameter \"%s\" given twice", key);
    if (p->n == SERVE_MAX_PARAMS)
        return owp_err_set(err, OWP_ERR_INVALID, "more than %d parameters", SERVE_MAX_PARAMS);
    p->p[p->n].key = key;
    p->p[p->n].value = value;
    p->n++;
    return OWP_OK;
}

const char *serve_params_get(const serve_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->p[i].key, key))
            return p->p[i].value;
    return NULL;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %XX and '+' decoded in place; a '%' not followed by two hex digits
 * stays as it is (as libmicrohttpd leaves it). */
static void unescape(char *s)
{
    char *out = s;
    for (char *in = s; *in; in++) {
        int hi, lo;
        if (*in == '+') {
            *out++ = ' ';
        } else if (*in == '%' && (hi = hex_digit(in[1])) >= 0 && (lo = hex_digit(in[2])) >= 0) {
            *out++ = (char)(hi * 16 + lo);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

owp_status serve_params_parse(char *query, serve_params *p, owp_err *err)
{
    p->n = 0;
    char *next = query;
    while (next && *next) {
        char *item = next;
        next = strchr(item, '&');
        if (next)
            *next++ = '\0';
        if (!*item)
            continue;
        char *eq = strchr(item, '=');
        if (eq)
            *eq++ = '\0';
        unescape(item);
        if (eq)
            unescape(eq);
        if (serve_params_add(p, item, eq ? eq : "", err) != OWP_OK)
            return err->code;
    }
    return OWP_OK;
}

owp_status serve_route_check(const serve_route *r, const serve_params *p, owp_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        int known = 0;
        for (const char *const *k = r->params; *k && !known; k++)
            known = !strcmp(*k, p->p[i].key);
        if (known)
            continue;
        char list[256] = "";
        for (const char *const *k = r->params; *k; k++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", *k);
        }
        return owp_err_set(err, OWP_ERR_INVALID, "%s: unknown parameter \"%s\" (known: %s)",
                           r->path, p->p[i].key, *list ? list : "none");
    }
    return OWP_OK;
}
