/* check_meshconf_clients.c - the collectors and analysts a mesh trusts
 * (mesh/meshconf_clients.c, owmesh-mesh(5) "Security"): both sections read
 * in the native format and from a pSConfig template's "_meta", the role of
 * every key, and the errors: names and keys unique across nodes, collectors
 * and analysts, each naming its JSON path (more in tests/vectors/mesh/broken,
 * 51-59). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "meshconf.h"
#include "testutil.h"

#define KEY_N "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_C "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY_D "{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?(B"
#define KEY_A "0000000000000000000000000000000000000000"

static owm_mesh *parse(const char *text, owp_err *e)
{
    return owm_mesh_parse(text, strlen(text), "inline.json", e);
}

static owm_mesh *parse_ok(const char *text)
{
    owp_err e = {0};
    owm_mesh *m = parse(text, &e);
    ck_assert_msg(m != NULL, "parse failed: %s", e.msg);
    return m;
}

static void parse_fails(const char *text, const char *expected)
{
    owp_err e = {0};
    owm_mesh *m = parse(text, &e);
    ck_assert_msg(m == NULL, "parsed, expected: %s", expected);
    ck_assert_int_eq(e.code, OWP_ERR_PARSE);
    ck_assert_str_eq(e.msg, expected);
}

#define NODE_N "\"nodes\": {\"nyc\": {\"address\": \"127.0.0.2\", \"public-key\": \"" KEY_N "\"}}"

START_TEST(native_roles_of_every_key)
{
    owm_mesh *m = parse_ok("{" NODE_N ","
                           " \"collectors\": {\"c1\": {\"public-key\": \"" KEY_C "\"},"
                           "                  \"c2\": {\"public-key\": \"" KEY_D "\", \"_note\": 1}},"
                           " \"analysts\": {\"alice\": {\"public-key\": \"" KEY_A "\"}}}");
    ck_assert_uint_eq(owm_mesh_client_count(m), 3);
    const owm_client *c = owm_mesh_client(m, 0);
    ck_assert_str_eq(c->name, "c1");
    ck_assert_str_eq(c->public_key, KEY_C);
    ck_assert_int_eq(c->role, OWM_ROLE_COLLECTOR);
    ck_assert_str_eq(owm_mesh_client(m, 1)->name, "c2");
    ck_assert_int_eq(owm_mesh_client(m, 2)->role, OWM_ROLE_ANALYST);
    ck_assert_ptr_null(owm_mesh_client(m, 3));
    ck_assert_ptr_eq(owm_mesh_client_by_key(m, KEY_A), owm_mesh_client(m, 2));
    ck_assert_ptr_null(owm_mesh_client_by_key(m, KEY_N)); /* a node's key: not a client */
    const char *name = "unset";
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_N, &name), OWM_ROLE_NODE);
    ck_assert_str_eq(name, "nyc");
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_D, &name), OWM_ROLE_COLLECTOR);
    ck_assert_str_eq(name, "c2");
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_A, &name), OWM_ROLE_ANALYST);
    ck_assert_str_eq(name, "alice");
    ck_assert_int_eq(owm_mesh_key_role(m, "nobody", &name), OWM_ROLE_NONE);
    ck_assert_ptr_null(name);
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_C, NULL), OWM_ROLE_COLLECTOR);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(no_clients_is_fine)
{
    owm_mesh *m = parse_ok("{" NODE_N ", \"collectors\": {}}");
    ck_assert_uint_eq(owm_mesh_client_count(m), 0);
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_C, NULL), OWM_ROLE_NONE);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(psconfig_clients_in_meta)
{
    owm_mesh *m = parse_ok(
        "{\"addresses\": {\"x\": {\"address\": \"127.0.0.2\", \"_meta\": {\"public-key\": \"" KEY_N
        "\"}}},"
        " \"_meta\": {\"display-name\": \"lab\","
        "   \"collectors\": {\"c1\": {\"public-key\": \"" KEY_C "\"}},"
        "   \"analysts\": {\"alice\": {\"public-key\": \"" KEY_A "\"}}}}");
    ck_assert_uint_eq(owm_mesh_client_count(m), 2);
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_C, NULL), OWM_ROLE_COLLECTOR);
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_A, NULL), OWM_ROLE_ANALYST);
    ck_assert_int_eq(owm_mesh_key_role(m, KEY_N, NULL), OWM_ROLE_NODE);
    ck_assert_uint_eq(owm_mesh_warning_count(m), 0);
    owm_mesh_destroy(&m);
    /* a "_meta" that is not an object holds no clients: it is the template's */
    m = parse_ok("{\"addresses\": {\"x\": {\"address\": \"127.0.0.2\"}}, \"_meta\": \"lab\"}");
    ck_assert_uint_eq(owm_mesh_client_count(m), 0);
    owm_mesh_destroy(&m);
    /* top-level "collectors" is not where a pSConfig template keeps them */
    m = parse_ok("{\"addresses\": {\"x\": {\"address\": \"127.0.0.2\"}},"
                 " \"collectors\": {\"c1\": {\"public-key\": \"" KEY_C "\"}}}");
    ck_assert_uint_eq(owm_mesh_client_count(m), 0);
    ck_assert_uint_eq(owm_mesh_warning_count(m), 1);
    ck_assert_str_eq(owm_mesh_warning(m, 0), "inline.json: $.collectors: not used by owmesh, ignored");
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(errors_name_the_path)
{
    parse_fails("{" NODE_N ", \"collectors\": {\"c1\": {\"public-key\": \"" KEY_N "\"}}}",
                "inline.json: $.collectors.c1.public-key: expected a key of this collector only, "
                "got the key of node nyc (each node, collector and analyst has its own key pair)");
    parse_fails("{" NODE_N ", \"analysts\": {\"nyc\": {\"public-key\": \"" KEY_A "\"}}}",
                "inline.json: $.analysts.nyc: expected a name of this analyst only, got the name "
                "of node nyc (names are unique across nodes, collectors and analysts)");
    parse_fails("{" NODE_N ", \"collectors\": {\"c1\": {\"public-key\": \"" KEY_C "\"}},"
                " \"analysts\": {\"a1\": {\"public-key\": \"" KEY_C "\"}}}",
                "inline.json: $.analysts.a1.public-key: expected a key of this analyst only, got "
                "the key of collector c1 (each node, collector and analyst has its own key pair)");
    parse_fails("{" NODE_N ", \"collectors\": {\"c 1\": {\"public-key\": \"" KEY_C "\"}}}",
                "inline.json: $.collectors['c 1']: expected a collector name of letters, digits, "
                "'.', '_', ':' or '-' (1-64 characters, starting with a letter or digit)");
    parse_fails("{" NODE_N ", \"collectors\": {\"c1\": \"" KEY_C "\"}}",
                "inline.json: $.collectors.c1: expected a collector object, got \"" KEY_C "\"");
    parse_fails("{" NODE_N ", \"analysts\": {\"a1\": {\"public-key\": 7}}}",
                "inline.json: $.analysts.a1.public-key: expected a non-empty string, got 7");
}
END_TEST

START_TEST(role_names)
{
    ck_assert_str_eq(owm_role_name(OWM_ROLE_NODE), "node");
    ck_assert_str_eq(owm_role_name(OWM_ROLE_COLLECTOR), "collector");
    ck_assert_str_eq(owm_role_name(OWM_ROLE_ANALYST), "analyst");
    ck_assert_str_eq(owm_role_name(OWM_ROLE_NONE), "unknown");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meshconf_clients");
    TCase *tc = tcase_create("roles");
    tcase_add_test(tc, native_roles_of_every_key);
    tcase_add_test(tc, no_clients_is_fine);
    tcase_add_test(tc, psconfig_clients_in_meta);
    tcase_add_test(tc, role_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, errors_name_the_path);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
