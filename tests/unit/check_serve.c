/*
 * check_serve.c - owmesh serve's parts that need no network: the routes
 * and query strings with their limits (serve_route.c), the application's
 * replies for every route on a small store (serve_app.c: statuses, types,
 * read-only), the Prometheus writer's format and escaping
 * (serve_metrics.c), the basic-auth file (serve_auth.c) and the --listen
 * address (serve_http.c).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"
#include "testutil.h"

/* ---- query strings ---- */

static serve_params parse_ok(const char *query)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", query);
    serve_params p;
    owp_err err = {0};
    ck_assert_msg(serve_params_parse(buf, &p, &err) == OWP_OK, "%s: %s", query, err.msg);
    return p;
}

static const char *parse_fails(const char *query)
{
    static char buf[8192];
    static owp_err err;
    snprintf(buf, sizeof buf, "%s", query);
    serve_params p;
    memset(&err, 0, sizeof err);
    ck_assert_msg(serve_params_parse(buf, &p, &err) != OWP_OK, "%.60s accepted", query);
    return err.msg;
}

START_TEST(params_decode)
{
    serve_params p = parse_ok("src=a&dst=b%20c+d&&p=50%2C90&flag&bad=%zz");
    ck_assert_uint_eq(p.n, 5);
    ck_assert_str_eq(serve_params_get(&p, "src"), "a");
    ck_assert_str_eq(serve_params_get(&p, "dst"), "b c d");
    ck_assert_str_eq(serve_params_get(&p, "p"), "50,90");
    ck_assert_str_eq(serve_params_get(&p, "flag"), "");
    ck_assert_str_eq(serve_params_get(&p, "bad"), "%zz");
    ck_assert_ptr_null(serve_params_get(&p, "none"));
    ck_assert_uint_eq(parse_ok("").n, 0);
}
END_TEST

START_TEST(params_limits)
{
    ck_assert_ptr_nonnull(strstr(parse_fails("since=1h&since=2h"), "\"since\" given twice"));
    ck_assert_ptr_nonnull(strstr(parse_fails("Since=1h"), "bad parameter name"));
    ck_assert_ptr_nonnull(strstr(parse_fails("=1"), "bad parameter name"));
    ck_assert_ptr_nonnull(strstr(parse_fails("abcdefghijklmnopq=1"), "bad parameter name"));
    ck_assert_ptr_nonnull(strstr(parse_fails("src=a%0ab"), "control character"));
    char q[1024];
    memset(q, 'x', sizeof q);
    memcpy(q, "src=", 4);
    q[4 + SERVE_MAX_VALUE + 1] = '\0'; /* one byte too many */
    ck_assert_ptr_nonnull(strstr(parse_fails(q), "longer than"));
    q[4 + SERVE_MAX_VALUE] = '\0'; /* exactly the limit */
    parse_ok(q);
    char many[512] = "";
    for (int i = 0; i <= SERVE_MAX_PARAMS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "k%d=1&", i);
    ck_assert_ptr_nonnull(strstr(parse_fails(many), "more than"));
}
END_TEST

START_TEST(routes)
{
    const serve_route *r = serve_route_find("/");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->kind, SERVE_PAGE);
    ck_assert_str_eq(r->asset, "index.html");
    ck_assert_int_eq(serve_route_find("/api/grid")->kind, SERVE_API_GRID);
    ck_assert_int_eq(serve_route_find("/api/query.csv")->kind, SERVE_API_QUERY_CSV);
    ck_assert_int_eq(serve_route_find("/metrics")->kind, SERVE_METRICS);
    ck_assert_int_eq(serve_route_find("/api/status")->kind, SERVE_API_STATUS);
    ck_assert_ptr_null(serve_route_find("/api/grid/"));
    ck_assert_ptr_null(serve_route_find("/assets/../serve.h"));
    ck_assert_ptr_null(serve_route_find(""));
    /* Every page's asset is in the build. */
    const char *pages[] = {"/",         "/pair",           "/completeness",
                           "/status",   "/assets/owmesh.js", "/assets/grid.js",
                           "/assets/pair.js", "/assets/status.js", "/assets/owmesh.css",
                           "/assets/completeness.js"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        ck_assert_ptr_nonnull(serve_asset_find(serve_route_find(pages[i])->asset));
    serve_params p = parse_ok("since=1h&bogus=2");
    owp_err err = {0};
    ck_assert_int_ne(serve_route_check(serve_route_find("/api/grid"), &p, &err), OWP_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown parameter \"bogus\" (known: since"));
    p = parse_ok("since=1h&stat=p99");
    ck_assert_int_eq(serve_route_check(serve_route_find("/api/grid"), &p, &err), OWP_OK);
    ck_assert_str_eq(serve_content_type("a.js"), "text/javascript; charset=utf-8");
    ck_assert_str_eq(serve_content_type("noext"), "application/octet-stream");
}
END_TEST

/* ---- metrics format ---- */

static char *printed(void (*fn)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    fn(fp, arg);
    fclose(fp);
    return buf;
}
static void label_fn(FILE *fp, const void *arg) { serve_prom_label(fp, arg); }
static void number_fn(FILE *fp, const void *arg) { serve_prom_number(fp, *(const double *)arg); }

START_TEST(prom_escaping)
{
    char *s = printed(label_fn, "a\\b\"c\nd e{}=,");
    ck_assert_str_eq(s, "a\\\\b\\\"c\\nd e{}=,");
    free(s);
    const double v[] = {0.1, 12345.678901234567, 0, -2.5e-7, NAN, INFINITY, -INFINITY};
    const char *want[] = {"0.10000000000000001", "12345.678901234567", "0",
                          "-2.4999999999999999e-07", "NaN", "+Inf", "-Inf"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        s = printed(number_fn, &v[i]);
        ck_assert_str_eq(s, want[i]);
        if (isfinite(v[i]))
            ck_assert(strtod(s, NULL) == v[i]); /* reads back exactly */
        free(s);
    }
}
END_TEST

/* ---- the application on a small store ---- */

static char *dir;
static serve_app *app;

static void app_setup(void)
{
    dir = tu_tempdir();
    char mesh[512], store[512];
    snprintf(mesh, sizeof mesh, "%s/mesh.json", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    FILE *fp = fopen(mesh, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": \"127.0.0.3\"}},"
          " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\"]}},"
          " \"tests\": {\"owd\": {\"type\": \"latencybg\", \"packet-interval\": 0.1,"
          " \"packet-count\": 100}},"
          " \"tasks\": {\"t\": {\"group\": \"g\", \"test\": \"owd\"}}}\n", fp);
    fclose(fp);
    ck_assert_int_eq(mkdir(store, 0700), 0);
    owp_err err = {0};
    store_db *db = store_open(store, NULL, &err); /* made once, then read-only */
    ck_assert_msg(db != NULL, "%s", err.msg);
    store_close(&db);
    serve_app_opts o = {.mesh_path = mesh, .store = store, .now = "2025-12-06T02:00:00Z",
                        .metrics_window_s = 300};
    app = serve_app_new(&o, &err);
    ck_assert_msg(app != NULL, "%s", err.msg);
}

static void app_teardown(void)
{
    serve_app_destroy(&app);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
}

static serve_reply get(const char *method, const char *path, const char *query)
{
    serve_params p = parse_ok(query);
    serve_reply r;
    serve_app_handle(app, method, path, &p, &r);
    return r;
}

START_TEST(app_replies)
{
    serve_reply r = get("GET", "/", "");
    ck_assert_uint_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "/assets/grid.js"));
    serve_reply_free(&r);
    r = get("GET", "/api/config", "");
    ck_assert_uint_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"refresh_s\": 10")); /* 100 x 0.1 s */
    serve_reply_free(&r);
    r = get("GET", "/api/grid", "since=1h");
    ck_assert_uint_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"class\": \"missing\""));
    serve_reply_free(&r);
    r = get("HEAD", "/api/completeness", "since=1h");
    ck_assert_uint_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\": \"missing\""));
    serve_reply_free(&r);
    r = get("GET", "/metrics", "");
    ck_assert_uint_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "# TYPE owmesh_paths gauge\nowmesh_paths 0\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "owmesh_window_seconds 300\n"));
    serve_reply_free(&r);
}
END_TEST

START_TEST(app_refusals)
{
    serve_reply r = get("POST", "/api/grid", "");
    ck_assert_uint_eq(r.status, 405);
    serve_reply_free(&r);
    r = get("PUT", "/", "");
    ck_assert_uint_eq(r.status, 405);
    serve_reply_free(&r);
    r = get("GET", "/nope", "");
    ck_assert_uint_eq(r.status, 404);
    serve_reply_free(&r);
    r = get("GET", "/api/grid", "stat=bogus");
    ck_assert_uint_eq(r.status, 400);
    ck_assert_str_eq(r.content_type, "application/json");
    serve_reply_free(&r);
    r = get("GET", "/api/query", "src=a&dst=b&since=1h");
    ck_assert_uint_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "no data stored"));
    serve_reply_free(&r);
    r = get("GET", "/api/query", "src=nobody");
    ck_assert_uint_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "unknown node"));
    serve_reply_free(&r);
    r = get("GET", "/api/query", "p=101");
    ck_assert_uint_eq(r.status, 400);
    serve_reply_free(&r);
    r = get("GET", "/api/query", "source=fast");
    ck_assert_uint_eq(r.status, 400);
    serve_reply_free(&r);
    r = get("GET", "/api/status", ""); /* no coordinator given */
    ck_assert_uint_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "without -k CERT"));
    serve_reply_free(&r);
    r = get("GET", "/metrics", "x=1");
    ck_assert_uint_eq(r.status, 400);
    serve_reply_free(&r);
}
END_TEST

/* ---- basic auth ---- */

static char *auth_file(const char *text, mode_t mode)
{
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/auth", dir), 0);
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

START_TEST(auth_file_rules)
{
    owp_err err = {0};
    char *path = auth_file("# viewers\n\nnoc:pass word\nops:x:y\n", 0600);
    serve_auth *a = serve_auth_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    ck_assert_uint_eq(serve_auth_count(a), 2);
    ck_assert(serve_auth_check(a, "noc", "pass word"));
    ck_assert(serve_auth_check(a, "ops", "x:y"));
    ck_assert(!serve_auth_check(a, "noc", "pass"));
    ck_assert(!serve_auth_check(a, "noc", "pass word!"));
    ck_assert(!serve_auth_check(a, "ops", "pass word"));
    ck_assert(!serve_auth_check(a, NULL, NULL));
    ck_assert(!serve_auth_check(a, "", ""));
    serve_auth_destroy(&a);
    ck_assert_ptr_null(a);
    free(path);

    path = auth_file("noc:pass\n", 0640);
    ck_assert_ptr_null(serve_auth_load(path, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "chmod 600"));
    free(path);
    path = auth_file("noc:pass\nnocolon\n", 0600);
    ck_assert_ptr_null(serve_auth_load(path, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "auth:2: expected user:password"));
    free(path);
    path = auth_file("noc:a\nnoc:b\n", 0600);
    ck_assert_ptr_null(serve_auth_load(path, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "given twice"));
    free(path);
    path = auth_file("# nobody\n", 0600);
    ck_assert_ptr_null(serve_auth_load(path, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "no user:password"));
    free(path);
    ck_assert_ptr_null(serve_auth_load("/nonexistent/auth", &err));
}
END_TEST

/* ---- --listen ---- */

START_TEST(listen_addresses)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int lo;
    owp_err err = {0};
    ck_assert_int_eq(serve_listen_parse("127.0.0.1:8600", &sa, &len, &lo, &err), OWP_OK);
    ck_assert(lo);
    ck_assert_int_eq(serve_listen_parse("127.3.4.5:0", &sa, &len, &lo, &err), OWP_OK);
    ck_assert(lo);
    ck_assert_int_eq(serve_listen_parse("[::1]:80", &sa, &len, &lo, &err), OWP_OK);
    ck_assert(lo);
    ck_assert_int_eq(sa.ss_family, AF_INET6);
    ck_assert_int_eq(serve_listen_parse("8600", &sa, &len, &lo, &err), OWP_OK);
    ck_assert(lo);
    ck_assert_int_eq(serve_listen_parse("0.0.0.0:8600", &sa, &len, &lo, &err), OWP_OK);
    ck_assert(!lo);
    ck_assert_int_eq(serve_listen_parse("[::]:8600", &sa, &len, &lo, &err), OWP_OK);
    ck_assert(!lo);
    ck_assert_int_ne(serve_listen_parse("localhost:80", &sa, &len, &lo, &err), OWP_OK);
    ck_assert_int_ne(serve_listen_parse("127.0.0.1:65536", &sa, &len, &lo, &err), OWP_OK);
    ck_assert_int_ne(serve_listen_parse("127.0.0.1:", &sa, &len, &lo, &err), OWP_OK);
    ck_assert_int_ne(serve_listen_parse("[::1]80", &sa, &len, &lo, &err), OWP_OK);
    ck_assert_int_ne(serve_listen_parse("::1:80", &sa, &len, &lo, &err), OWP_OK);
}
END_TEST

static Suite *serve_suite(void)
{
    Suite *s = suite_create("serve");
    TCase *tc = tcase_create("routes");
    tcase_add_test(tc, params_decode);
    tcase_add_test(tc, params_limits);
    tcase_add_test(tc, routes);
    tcase_add_test(tc, prom_escaping);
    tcase_add_test(tc, listen_addresses);
    suite_add_tcase(s, tc);
    tc = tcase_create("app");
    tcase_add_checked_fixture(tc, app_setup, app_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, app_replies);
    tcase_add_test(tc, app_refusals);
    tcase_add_test(tc, auth_file_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(serve_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
