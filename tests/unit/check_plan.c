/* check_plan.c - the coordinator's plans (coordinator/plan.c): schedules
 * computed from every shipped mesh and vector, and plan diffs after edits
 * (only changed nodes re-pushed, unchanged streams keep their ids). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_testutil.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "plan.h"
#include "testpkt.h"
#include "testutil.h"

#define EXAMPLES_DIR VECTORS_DIR "/../../mesh-configs"

/* ------------------------------------------------------------ helpers */

/* Every invariant a plan must hold against its mesh, and every schedule
 * must encode (so it passes the message validation a node applies). */
static void check_plan_invariants(const owm_mesh *m, const owmc_plan *p)
{
    size_t total = 0;
    ck_assert_uint_eq(owmc_plan_node_count(p), owm_mesh_node_count(m));
    for (size_t i = 0; i < owmc_plan_node_count(p); i++) {
        const owmc_node_plan *np = owmc_plan_node(p, i);
        ck_assert_ptr_eq(np->node, owm_mesh_node(m, i));
        size_t expected = 0, sent = 0;
        for (size_t k = 0; k < owm_mesh_stream_count(m); k++) {
            expected += owm_mesh_streams(m)[k].dst == np->node;
            sent += owm_mesh_streams(m)[k].src == np->node;
        }
        ck_assert_uint_eq(np->n_streams, expected);
        ck_assert_uint_eq(np->n_sent, sent);
        for (size_t k = 0; k < np->n_streams; k++) {
            ck_assert_ptr_eq(np->streams[k]->dst, np->node);
            if (k)
                ck_assert_int_lt(strcmp(np->streams[k - 1]->id, np->streams[k]->id), 0);
        }
        total += np->n_streams;
        owp_err e = {0};
        owm_msg *env = owmc_plan_schedule(np, 7, &e);
        ck_assert_msg(env != NULL, "%s", e.msg);
        uint8_t *buf = NULL;
        size_t len = 0;
        ck_assert_msg(owm_msg_encode(env, &buf, &len, &e) == OWP_OK, "%s: %s", np->node->name,
                      e.msg);
        owm_msg *back = NULL;
        ck_assert_int_eq(owm_msg_decode(buf, len, &back, NULL, &e), OWP_OK);
        ck_assert_uint_eq(back->schedule->generation, 7);
        ck_assert_str_eq(back->schedule->node, np->node->name);
        ck_assert_uint_eq(back->schedule->n_streams, np->n_streams);
        ck_assert_int_eq(back->schedule->owamp_server != NULL, np->n_sent > 0);
        for (size_t k = 0; k < np->n_streams; k++) {
            const owm_stream *s = np->streams[k];
            const owm_msg_stream *q = back->schedule->streams[k];
            char peer[300];
            owm_node_format_server(s->src, peer, sizeof peer);
            ck_assert_str_eq(q->id, s->id);
            ck_assert_str_eq(q->source, s->src->name);
            ck_assert_str_eq(q->peer, peer);
            ck_assert_double_eq(q->params->interval, s->params.packet_interval);
            ck_assert_uint_eq(q->params->count, s->params.packet_count);
            ck_assert_uint_eq(q->params->sub_session_count, s->params.sub_session_count);
            ck_assert_int_eq(q->params->dscp, s->params.dscp);
            ck_assert_uint_eq(q->params->modes, s->params.auth_modes);
        }
        free(buf);
        owm_msg_free(&back);
        owm_msg_free(&env);
    }
    ck_assert_uint_eq(total, owm_mesh_stream_count(m));
    ck_assert_uint_eq(owmc_plan_stream_count(p), total);
}

static void check_file(const char *path)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_load(path, &e);
    ck_assert_msg(m != NULL, "%s: %s", path, e.msg);
    owmc_plan *p = plan_ok(m);
    check_plan_invariants(m, p);
    owmc_plan_destroy(&p);
    ck_assert_ptr_null(p);
    owm_mesh_destroy(&m);
}

static size_t check_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "%s", dir);
    size_t n = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t l = strlen(ent->d_name);
        if (l < 6 || strcmp(ent->d_name + l - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        check_file(path);
        n++;
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ plan */

START_TEST(test_plan_every_example)
{
    ck_assert_uint_ge(check_dir(EXAMPLES_DIR), 4);
    ck_assert_uint_ge(check_dir(VECTORS_DIR "/mesh"), 3);
}
END_TEST

START_TEST(test_plan_demo)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_load(EXAMPLES_DIR "/demo-3node.json", &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    owmc_plan *p = plan_ok(m);
    const owmc_node_plan *bravo = owmc_plan_find(p, "bravo");
    ck_assert_ptr_nonnull(bravo);
    ck_assert_ptr_null(owmc_plan_find(p, "delta"));
    ck_assert_uint_eq(bravo->n_streams, 2);
    ck_assert_uint_eq(bravo->n_sent, 2);
    owm_msg *env = owmc_plan_schedule(bravo, 42, &e);
    ck_assert_ptr_nonnull(env);
    owm_msg_schedule *s = env->schedule;
    ck_assert_str_eq(s->owamp_server->listen, "127.0.0.3:8610");
    ck_assert_uint_eq(s->owamp_server->modes, OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED);
    int from_alpha = 0, from_charlie = 0;
    for (size_t i = 0; i < s->n_streams; i++) {
        ck_assert_double_eq(s->streams[i]->params->interval, 0.1);
        ck_assert_uint_eq(s->streams[i]->params->count, 600);
        ck_assert_uint_eq(s->streams[i]->params->sub_session_count, 60);
        ck_assert_str_eq(s->streams[i]->params->identity, ""); /* open allowed: no KeyID */
        if (strcmp(s->streams[i]->source, "alpha") == 0) {
            from_alpha++;
            ck_assert_str_eq(s->streams[i]->peer, "127.0.0.2:8610");
        }
        if (strcmp(s->streams[i]->source, "charlie") == 0) {
            from_charlie++;
            ck_assert_str_eq(s->streams[i]->peer, "127.0.0.4:8610");
        }
    }
    ck_assert_int_eq(from_alpha, 1);
    ck_assert_int_eq(from_charlie, 1);
    owm_msg_free(&env);
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(test_plan_identity_for_auth_only)
{
    owm_mesh *m = parse_ok(
        "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": \"127.0.0.3\"}},"
        " \"groups\": {\"g\": {\"type\": \"list\", \"pairs\": [[\"a\", \"b\"]]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\", \"auth\": \"A\"}},"
        " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}");
    owmc_plan *p = plan_ok(m);
    check_plan_invariants(m, p);
    owp_err e = {0};
    owm_msg *env = owmc_plan_schedule(owmc_plan_find(p, "b"), 1, &e);
    ck_assert_ptr_nonnull(env);
    ck_assert_str_eq(env->schedule->streams[0]->params->identity, "b");
    ck_assert_uint_eq(env->schedule->streams[0]->params->modes, OWP_MODE_AUTH);
    ck_assert_str_eq(env->schedule->streams[0]->peer, "127.0.0.2:861");
    owm_msg_free(&env);
    /* a receives nothing and sends: empty schedule with an owamp server */
    env = owmc_plan_schedule(owmc_plan_find(p, "a"), 1, &e);
    ck_assert_uint_eq(env->schedule->n_streams, 0);
    ck_assert_str_eq(env->schedule->owamp_server->listen, "127.0.0.2:861");
    owm_msg_free(&env);
    /* b sends nothing: no owamp server settings */
    env = owmc_plan_schedule(owmc_plan_find(p, "b"), 1, &e);
    ck_assert_ptr_null(env->schedule->owamp_server);
    owm_msg_free(&env);
    env = owmc_plan_empty_schedule("gone", 9, &e);
    ck_assert_uint_eq(env->schedule->n_streams, 0);
    ck_assert_uint_eq(env->schedule->generation, 9);
    owm_msg_free(&env);
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(test_plan_null)
{
    owp_err e = {0};
    ck_assert_ptr_null(owmc_plan_new(NULL, &e));
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);
    owmc_plan_destroy(NULL);
    owmc_plan *p = NULL;
    owmc_plan_destroy(&p);
}
END_TEST

/* ------------------------------------------------------------ diffs */

static void expect_changes(const char *old_text, const char *new_text, const char *a,
                           const char *b, const char *c)
{
    owm_mesh *m1 = parse_ok(old_text), *m2 = parse_ok(new_text);
    owmc_plan *p1 = plan_ok(m1), *p2 = plan_ok(m2);
    const char *want[3] = {a, b, c}, *names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(strcmp(owmc_change_name(owmc_plan_change(p1, p2, names[i])), want[i]) == 0,
                      "node %s: %s, expected %s", names[i],
                      owmc_change_name(owmc_plan_change(p1, p2, names[i])), want[i]);
    /* a stream in both meshes with the same endpoints and parameters keeps its id */
    for (size_t i = 0; i < owm_mesh_stream_count(m1); i++) {
        const owm_stream *s = &owm_mesh_streams(m1)[i];
        const owm_stream *t = owm_mesh_stream_find(m2, s->id);
        if (t) {
            ck_assert_str_eq(t->src->name, s->src->name);
            ck_assert_str_eq(t->dst->name, s->dst->name);
        }
    }
    owmc_plan_destroy(&p1);
    owmc_plan_destroy(&p2);
    owm_mesh_destroy(&m1);
    owm_mesh_destroy(&m2);
}

START_TEST(test_diff_identical_and_reordered)
{
    expect_changes(BASE, BASE, "unchanged", "unchanged", "unchanged");
    /* other names for test and task, another member order: same streams */
    expect_changes(BASE,
                   "{" NODES3 ", \"groups\": {\"all\": {\"type\": \"mesh\", \"nodes\": [\"c\", "
                   "\"a\", \"b\"]}}, \"tests\": {\"owd\": {\"type\": \"latencybg\", "
                   "\"packet-count\": 600}}, \"tasks\": {\"x\": {\"group\": \"all\", \"test\": "
                   "\"owd\"}}}",
                   "unchanged", "unchanged", "unchanged");
}
END_TEST

START_TEST(test_diff_one_receiver)
{
    /* one more stream a -> c (another DSCP): only c runs it; a's owamp
     * server modes do not change, so a is not re-pushed either */
    expect_changes(BASE,
                   "{" NODES3 ", \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", "
                   "\"b\", \"c\"]}, \"p\": {\"type\": \"list\", \"pairs\": [[\"a\", \"c\"]]}},"
                   " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600},"
                   " \"ef\": {\"type\": \"latencybg\", \"dscp\": \"EF\"}},"
                   " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"},"
                   " \"e\": {\"group\": \"p\", \"test\": \"ef\"}}}",
                   "unchanged", "unchanged", "changed");
}
END_TEST

START_TEST(test_diff_parameters_and_nodes)
{
    /* a parameter of every stream: everyone */
    expect_changes(BASE,
                   "{" NODES3 ", \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", "
                   "\"b\", \"c\"]}}, \"tests\": {\"t\": {\"type\": \"latencybg\", "
                   "\"packet-count\": 300}}, \"tasks\": {\"k\": {\"group\": \"g\", \"test\": "
                   "\"t\"}}}",
                   "changed", "changed", "changed");
    /* c leaves: a and b lose their streams from c */
    owm_mesh *m1 = parse_ok(BASE);
    owm_mesh *m2 = parse_ok(
        "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": \"127.0.0.3\"}},"
        " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\"]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600}},"
        " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}");
    owmc_plan *p1 = plan_ok(m1), *p2 = plan_ok(m2);
    ck_assert_int_eq(owmc_plan_change(p1, p2, "a"), OWMC_CHANGED);
    ck_assert_int_eq(owmc_plan_change(p1, p2, "c"), OWMC_REMOVED);
    ck_assert_int_eq(owmc_plan_change(p2, p1, "c"), OWMC_ADDED);
    ck_assert_int_eq(owmc_plan_change(p1, p2, "zz"), OWMC_ABSENT);
    ck_assert_int_eq(owmc_plan_change(NULL, p2, "a"), OWMC_ADDED);
    /* the streams a <-> b survive with their ids */
    for (size_t i = 0; i < owm_mesh_stream_count(m2); i++)
        ck_assert_ptr_nonnull(owm_mesh_stream_find(m1, owm_mesh_streams(m2)[i].id));
    owmc_plan_destroy(&p1);
    owmc_plan_destroy(&p2);
    owm_mesh_destroy(&m1);
    owm_mesh_destroy(&m2);
}
END_TEST

START_TEST(test_diff_address_change)
{
    /* a moves its owamp server: streams from a change (peer), a's own
     * settings change (listen, and the ids of streams to it) */
    expect_changes(BASE,
                   "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2:8610\", \"public-key\": \"" KEY_A
                   "\"}, \"b\": {\"address\": \"127.0.0.3\", \"public-key\": \"" KEY_B "\"},"
                   " \"c\": {\"address\": \"127.0.0.4\"}}, \"groups\": {\"g\": {\"type\": "
                   "\"mesh\", \"nodes\": [\"a\", \"b\", \"c\"]}}, \"tests\": {\"t\": {\"type\": "
                   "\"latencybg\", \"packet-count\": 600}}, \"tasks\": {\"k\": {\"group\": \"g\", "
                   "\"test\": \"t\"}}}",
                   "changed", "changed", "changed");
}
END_TEST

/* BASE with collectors and analysts (issue 11): each "{...}" member list. */
#define WITH_CLIENTS(collectors, analysts)                                                   \
    "{" NODES3 ", \"collectors\": {" collectors "}, \"analysts\": {" analysts "},"          \
    " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\", \"c\"]}},"        \
    " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600}},"              \
    " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}"
#define COLL1 "\"coll1\": {\"public-key\": \"{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?(B\"}"
#define COLL2 "\"coll2\": {\"public-key\": \"0000000000000000000000000000000000000000\"}"
#define ALICE "\"alice\": {\"public-key\": \"1111111111111111111111111111111111111111\"}"

/* Every node's schedule lists the collectors (not the analysts), in mesh order. */
START_TEST(test_plan_collectors_in_every_schedule)
{
    owm_mesh *m = parse_ok(WITH_CLIENTS(COLL1 ", " COLL2, ALICE));
    owmc_plan *p = plan_ok(m);
    for (size_t i = 0; i < owmc_plan_node_count(p); i++) {
        owp_err e;
        owm_msg *env = owmc_plan_schedule(owmc_plan_node(p, i), 7, &e);
        ck_assert_msg(env != NULL, "%s", e.msg);
        const owm_msg_schedule *s = env->schedule;
        ck_assert_uint_eq(s->n_collectors, 2);
        ck_assert_str_eq(s->collectors[0]->name, "coll1");
        ck_assert_str_eq(s->collectors[0]->public_key, "{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?(B");
        ck_assert_str_eq(s->collectors[1]->name, "coll2");
        ck_assert_int_eq(owm_msg_validate(env, &e), OWP_OK);
        owm_msg_free(&env);
        /* issue 12: only those the collector assignment lets pull the node
         * (flags per mesh client; the analyst's flag never lists it) */
        unsigned char only_coll2[8] = {0};
        for (size_t k = 0; k < owm_mesh_client_count(m); k++)
            only_coll2[k] = strcmp(owm_mesh_client(m, k)->name, "coll1") != 0;
        env = owmc_plan_schedule_for(owmc_plan_node(p, i), 7, only_coll2, &e);
        ck_assert_msg(env != NULL, "%s", e.msg);
        ck_assert_uint_eq(env->schedule->n_collectors, 1);
        ck_assert_str_eq(env->schedule->collectors[0]->name, "coll2");
        owm_msg_free(&env);
    }
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

/* A changed collector is pushed to every node; an analyst concerns no node. */
START_TEST(test_diff_collectors)
{
    expect_changes(WITH_CLIENTS(COLL1, ""), WITH_CLIENTS(COLL1 ", " COLL2, ""), "changed",
                   "changed", "changed");
    expect_changes(BASE, WITH_CLIENTS(COLL1, ""), "changed", "changed", "changed");
    expect_changes(WITH_CLIENTS(COLL1, ""), WITH_CLIENTS(COLL1, ALICE), "unchanged", "unchanged",
                   "unchanged");
}
END_TEST

/* BASE with node b's data-endpoint (issue 11): the given JSON string. */
#define WITH_DATA(endpoint)                                                                  \
    "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\", \"public-key\": \"" KEY_A "\"},"          \
    " \"b\": {\"address\": \"127.0.0.3\", \"public-key\": \"" KEY_B "\","                       \
    " \"data-endpoint\": \"" endpoint "\"}, \"c\": {\"address\": \"127.0.0.4\"}},"                \
    " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\", \"c\"]}},"              \
    " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600}},"                    \
    " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}"

/* A node's schedule carries its data-endpoint from the mesh; a node the
 * mesh gives none gets "" (it serves its default). */
START_TEST(test_plan_data_endpoint_in_schedule)
{
    owm_mesh *m = parse_ok(WITH_DATA("tcp://192.0.2.7:9000"));
    owmc_plan *p = plan_ok(m);
    const char *want[3] = {"", "tcp://192.0.2.7:9000", ""};
    for (size_t i = 0; i < owmc_plan_node_count(p); i++) {
        owp_err e;
        owm_msg *env = owmc_plan_schedule(owmc_plan_node(p, i), 7, &e);
        ck_assert_msg(env != NULL, "%s", e.msg);
        ck_assert_str_eq(env->schedule->data_endpoint, want[i]);
        ck_assert_int_eq(owm_msg_validate(env, &e), OWP_OK);
        owm_msg_free(&env);
    }
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

/* A node whose data-endpoint moves is pushed a new schedule; the others not. */
START_TEST(test_diff_data_endpoint)
{
    expect_changes(BASE, WITH_DATA("tcp://192.0.2.7:9000"), "unchanged", "changed",
                   "unchanged");
    expect_changes(WITH_DATA("tcp://192.0.2.7:9000"), WITH_DATA("tcp://192.0.2.7:9001"),
                   "unchanged", "changed", "unchanged");
    expect_changes(WITH_DATA("tcp://192.0.2.7:9000"), WITH_DATA("tcp://192.0.2.7:9000"),
                   "unchanged", "unchanged", "unchanged");
}
END_TEST

static Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_plan_every_example);
    tcase_add_test(tc, test_plan_demo);
    tcase_add_test(tc, test_plan_identity_for_auth_only);
    tcase_add_test(tc, test_plan_null);
    tcase_add_test(tc, test_plan_collectors_in_every_schedule);
    tcase_add_test(tc, test_plan_data_endpoint_in_schedule);
    suite_add_tcase(s, tc);
    tc = tcase_create("diff");
    tcase_add_test(tc, test_diff_identical_and_reordered);
    tcase_add_test(tc, test_diff_one_receiver);
    tcase_add_test(tc, test_diff_parameters_and_nodes);
    tcase_add_test(tc, test_diff_address_change);
    tcase_add_test(tc, test_diff_collectors);
    tcase_add_test(tc, test_diff_data_endpoint);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(plan_suite());
}
