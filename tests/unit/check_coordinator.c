/* check_coordinator.c - the coordinator's logic without sockets: schedules
 * computed from every shipped mesh and vector, plan diffs after edits (only
 * changed nodes re-pushed, unchanged streams keep their ids), the node
 * registry's push/ack/retry cycle and health verdicts under a fake clock,
 * StatusReply/Directory building, and CURVE certificate files. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "curve.h"
#include "health.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "plan.h"
#include "registry.h"
#include "testpkt.h"
#include "testutil.h"

#define EXAMPLES_DIR VECTORS_DIR "/../../mesh-configs"
#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define T0 ((uint64_t)3900000000u << 32) /* a node clock reading, OWAMP time */

/* ------------------------------------------------------------ helpers */

static owm_mesh *parse_ok(const char *text)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_parse(text, strlen(text), "inline.json", &e);
    ck_assert_msg(m != NULL, "parse failed: %s", e.msg);
    return m;
}

static owmc_plan *plan_ok(const owm_mesh *m)
{
    owp_err e = {0};
    owmc_plan *p = owmc_plan_new(m, &e);
    ck_assert_msg(p != NULL, "plan failed: %s", e.msg);
    return p;
}

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

#define NODES3 \
    "\"nodes\": {\"a\": {\"address\": \"127.0.0.2\", \"public-key\": \"" KEY_A "\"}," \
    " \"b\": {\"address\": \"127.0.0.3\", \"public-key\": \"" KEY_B "\"}," \
    " \"c\": {\"address\": \"127.0.0.4\"}}"
#define BASE                                                                                 \
    "{" NODES3 ", \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\", \"c\"]}}," \
    " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600}},"                   \
    " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}"

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

/* ------------------------------------------------------------ registry: pushes */

static zframe_t *route(const char *id)
{
    return zframe_new(id, strlen(id));
}

static owm_msg_hello hello(const char *node, uint64_t running)
{
    owm_msg_hello h = {0};
    h.node = (char *)(uintptr_t)node; /* the registry only reads it */
    h.software_version = "test 1";
    h.owamp_address = "127.0.0.2:861";
    h.data_endpoint = "tcp://127.0.0.2:5560";
    h.running_generation = running;
    return h;
}

START_TEST(test_registry_push_retry_ack)
{
    owm_mesh *m = parse_ok(BASE);
    owmc_plan *p = plan_ok(m);
    owp_err e = {0};
    owmc_registry *reg = owmc_reg_new(p, 100, 30, &e);
    ck_assert_ptr_nonnull(reg);
    ck_assert_uint_eq(owmc_reg_count(reg), 3);
    owmc_peer *a = owmc_reg_find(reg, "a");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(owmc_reg_find(reg, "zz"));
    ck_assert_uint_eq(a->expected_gen, 100);
    /* never connected: nothing to push to, and missing */
    ck_assert_int_eq(owmc_reg_push_due(a, 0), 0);
    ck_assert_int_eq(owmc_reg_node_missing(reg, a, 0), 1);
    ck_assert_double_lt(owmc_reg_next_push(reg, 0), 0);

    zframe_t *r = route("conn-a");
    ck_assert_int_eq(owmc_reg_heard(a, r, 10, T0, &e), OWP_OK);
    owm_msg_hello h = hello("a", 0);
    ck_assert_int_eq(owmc_reg_on_hello(a, &h, 10), 1);
    ck_assert_int_eq(owmc_reg_push_due(a, 10), 1);
    owmc_reg_pushed(a, 10);
    /* back-off: 1 s, then 2 s, then 4 s ... */
    ck_assert_int_eq(owmc_reg_push_due(a, 10.5), 0);
    ck_assert_double_eq_tol(owmc_reg_next_push(reg, 10.5), 0.5, 1e-9);
    ck_assert_int_eq(owmc_reg_push_due(a, 11), 1);
    owmc_reg_pushed(a, 11);
    ck_assert_int_eq(owmc_reg_push_due(a, 12.9), 0);
    ck_assert_int_eq(owmc_reg_push_due(a, 13), 1);
    for (int i = 0; i < 20; i++)
        owmc_reg_pushed(a, 13);
    ck_assert_double_eq(a->backoff, OWMC_PUSH_BACKOFF_MAX);
    /* a refused ack keeps the retries going and records why */
    owm_msg_schedule_ack no = {0};
    no.generation = 100;
    no.error = "bad stream";
    ck_assert_int_eq(owmc_reg_on_ack(a, &no, 14), 0);
    ck_assert_str_eq(a->last_error, "bad stream");
    /* an ack of an older generation does not settle it */
    owm_msg_schedule_ack ack = {0};
    ack.generation = 99;
    ack.accepted = 1;
    ck_assert_int_eq(owmc_reg_on_ack(a, &ack, 14), 0);
    ack.generation = 100;
    ck_assert_int_eq(owmc_reg_on_ack(a, &ack, 15), 1);
    ck_assert_uint_eq(a->acked_gen, 100);
    ck_assert_int_eq(owmc_reg_push_due(a, 1000), 0);
    /* the node restarts (Hello, running nothing): pushed again at once */
    h = hello("a", 0);
    ck_assert_int_eq(owmc_reg_on_hello(a, &h, 20), 1);
    ck_assert_int_eq(owmc_reg_push_due(a, 20), 0); /* acked_gen still 100 == expected */
    /* a node that reports the current generation is not re-pushed */
    owmc_peer *b = owmc_reg_find(reg, "b");
    zframe_t *rb = route("conn-b");
    owmc_reg_heard(b, rb, 20, T0, &e);
    h = hello("b", 100);
    ck_assert_int_eq(owmc_reg_on_hello(b, &h, 20), 0);
    ck_assert_int_eq(owmc_reg_push_due(b, 20), 0);
    ck_assert_uint_eq(b->acked_gen, 100);
    ck_assert_str_eq(b->data_endpoint, "tcp://127.0.0.2:5560");
    zframe_destroy(&r);
    zframe_destroy(&rb);
    owmc_reg_destroy(&reg);
    ck_assert_ptr_null(reg);
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(test_registry_restarted_node_gets_schedule)
{
    owm_mesh *m = parse_ok(BASE);
    owmc_plan *p = plan_ok(m);
    owp_err e = {0};
    owmc_registry *reg = owmc_reg_new(p, 100, 30, &e);
    owmc_peer *a = owmc_reg_find(reg, "a");
    zframe_t *r = route("conn-a");
    owmc_reg_heard(a, r, 1, T0, &e);
    owm_msg_hello h = hello("a", 0);
    owmc_reg_on_hello(a, &h, 1);
    owmc_reg_pushed(a, 1);
    owm_msg_schedule_ack ack = {0};
    ack.generation = 100;
    ack.accepted = 1;
    owmc_reg_on_ack(a, &ack, 2);
    /* a new schedule generation (reload) while connected: due now */
    owm_mesh *m2 = parse_ok(
        "{" NODES3 ", \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\", "
        "\"c\"]}}, \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 300}},"
        " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}");
    owmc_plan *p2 = plan_ok(m2);
    ck_assert_int_eq(owmc_reg_apply_plan(reg, p2, 101, NULL, NULL, &e), 3);
    a = owmc_reg_find(reg, "a");
    ck_assert_uint_eq(a->expected_gen, 101);
    ck_assert_uint_eq(a->acked_gen, 100);
    ck_assert_ptr_nonnull(a->route); /* the connection carried over */
    ck_assert_int_eq(owmc_reg_push_due(a, 3), 1);
    /* b never connected: still nothing to push to */
    ck_assert_int_eq(owmc_reg_push_due(owmc_reg_find(reg, "b"), 3), 0);
    zframe_destroy(&r);
    owmc_reg_destroy(&reg);
    owmc_plan_destroy(&p);
    owmc_plan_destroy(&p2);
    owm_mesh_destroy(&m);
    owm_mesh_destroy(&m2);
}
END_TEST

typedef struct removed_log {
    char names[4][16];
    int n;
} removed_log;

static void on_removed(void *arg, owmc_peer *gone)
{
    removed_log *log = arg;
    snprintf(log->names[log->n++], sizeof log->names[0], "%s", gone->plan->node->name);
}

START_TEST(test_registry_reload_only_changed)
{
    owm_mesh *m1 = parse_ok(BASE);
    owmc_plan *p1 = plan_ok(m1);
    owp_err e = {0};
    owmc_registry *reg = owmc_reg_new(p1, 100, 30, &e);
    zframe_t *routes[3] = {route("ra"), route("rb"), route("rc")};
    const char *names[3] = {"a", "b", "c"};
    owm_msg_schedule_ack ack = {0};
    ack.generation = 100;
    ack.accepted = 1;
    for (int i = 0; i < 3; i++) {
        owmc_peer *x = owmc_reg_find(reg, names[i]);
        owmc_reg_heard(x, routes[i], 1, T0, &e);
        owm_msg_hello h = hello(names[i], 0);
        owmc_reg_on_hello(x, &h, 1);
        owmc_reg_pushed(x, 1);
        ck_assert_int_eq(owmc_reg_on_ack(x, &ack, 2), 1);
    }
    /* add a -> c with DSCP EF: only c changes */
    owm_mesh *m2 = parse_ok(
        "{" NODES3 ", \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\", \"c\"]},"
        " \"p\": {\"type\": \"list\", \"pairs\": [[\"a\", \"c\"]]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600},"
        " \"ef\": {\"type\": \"latencybg\", \"dscp\": \"EF\"}},"
        " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}, \"e\": {\"group\": \"p\", "
        "\"test\": \"ef\"}}}");
    owmc_plan *p2 = plan_ok(m2);
    removed_log log = {0};
    ck_assert_int_eq(owmc_reg_apply_plan(reg, p2, 101, on_removed, &log, &e), 1);
    ck_assert_int_eq(log.n, 0);
    ck_assert_uint_eq(owmc_reg_find(reg, "a")->expected_gen, 100);
    ck_assert_uint_eq(owmc_reg_find(reg, "b")->expected_gen, 100);
    ck_assert_uint_eq(owmc_reg_find(reg, "c")->expected_gen, 101);
    ck_assert_int_eq(owmc_reg_push_due(owmc_reg_find(reg, "a"), 3), 0);
    ck_assert_int_eq(owmc_reg_push_due(owmc_reg_find(reg, "b"), 3), 0);
    ck_assert_int_eq(owmc_reg_push_due(owmc_reg_find(reg, "c"), 3), 1);
    ck_assert_uint_eq(owmc_reg_find(reg, "c")->plan->n_streams, 3);
    /* c leaves: reported once, a and b change */
    owm_mesh *m3 = parse_ok(
        "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\", \"public-key\": \"" KEY_A "\"},"
        " \"b\": {\"address\": \"127.0.0.3\", \"public-key\": \"" KEY_B "\"}},"
        " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\"]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600}},"
        " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}");
    owmc_plan *p3 = plan_ok(m3);
    ck_assert_int_eq(owmc_reg_apply_plan(reg, p3, 102, on_removed, &log, &e), 2);
    ck_assert_int_eq(log.n, 1);
    ck_assert_str_eq(log.names[0], "c");
    ck_assert_uint_eq(owmc_reg_count(reg), 2);
    ck_assert_ptr_null(owmc_reg_find(reg, "c"));
    ck_assert_uint_eq(owmc_reg_find(reg, "a")->expected_gen, 102);
    for (int i = 0; i < 3; i++)
        zframe_destroy(&routes[i]);
    owmc_reg_destroy(&reg);
    owmc_plan_destroy(&p1);
    owmc_plan_destroy(&p2);
    owmc_plan_destroy(&p3);
    owm_mesh_destroy(&m1);
    owm_mesh_destroy(&m2);
    owm_mesh_destroy(&m3);
}
END_TEST

/* ------------------------------------------------------------ health */

START_TEST(test_health_bounds)
{
    owm_test_params p;
    owm_test_params_default(&p);
    p.packet_count = 600;
    p.packet_interval = 0.1;
    p.loss_timeout = 10;
    /* 60 s session + 10 s loss timeout + 30 s + 10 % of 60 s */
    ck_assert_double_eq_tol(owm_health_stall_bound(&p), 106, 1e-9);
    ck_assert_int_eq(owm_health_node_missing(-1, 30), 1);
    ck_assert_int_eq(owm_health_node_missing(29, 30), 0);
    ck_assert_int_eq(owm_health_node_missing(31, 30), 1);
    /* node-clock differences only */
    uint64_t five = (uint64_t)5 << 32;
    ck_assert_double_eq_tol(owm_health_session_age(T0, T0 - five, 2.5), 7.5, 1e-6);
    /* a session "ending" after the node's own clock never ran: none */
    ck_assert_double_lt(owm_health_session_age(T0, T0 + five, 2), 0);
    ck_assert_double_lt(owm_health_session_age(T0, 0, 2), 0);
    ck_assert_str_eq(owm_verdict_name(OWM_V_STALLED), "stalled");
    ck_assert_int_eq(owm_verdict_is_problem(OWM_V_STARTING), 0);
    ck_assert_int_eq(owm_verdict_is_problem(OWM_V_FAILING), 1);
    ck_assert_int_eq(owm_verdict_is_problem(OWM_V_UNMEASURED), 1);
    ck_assert_str_eq(owm_verdict_name(OWM_V_UNMEASURED), "unmeasured");
    /* readers of minor version < 2 refuse verdicts they do not know */
    ck_assert_int_eq(owm_verdict_wire_for(OWM_V_UNMEASURED, 2),
                     OWM_MSG_VERDICT_UNMEASURED);
    ck_assert_int_eq(owm_verdict_wire_for(OWM_V_UNMEASURED, 1),
                     OWM_MSG_VERDICT_FAILING);
    ck_assert_int_eq(owm_verdict_wire_for(OWM_V_STALLED, 0),
                     OWM_MSG_VERDICT_STALLED);
}
END_TEST

/* A stream's health as a node reports it: id "x", no error. */
static owm_msg_stream_health health_in(owm_stream_state state)
{
    owm_msg_stream_health h = {0};
    h.id = "x";
    h.state = state;
    h.last_error = "";
    return h;
}

/* The verdict on an observation, and its evidence. */
#define expect_classify(p, obs, want, evidence)                                          \
    do {                                                                                  \
        char why_[OWM_EVIDENCE_MAX];                                                     \
        ck_assert_int_eq(owm_health_classify(p, obs, why_, sizeof why_), want);          \
        ck_assert_str_eq(why_, evidence);                                                 \
    } while (0)

/* An observation of a stream of node b from source a, heard from just now,
 * acked, started since_start seconds ago. */
static owm_stream_obs obs_of(const owm_msg_stream_health *h, double since_start,
                             double session_age)
{
    owm_stream_obs obs = {.health = h, .node = "b", .node_silent = 1, .acked = 1,
                          .since_start = since_start, .session_age = session_age,
                          .unmeasured_for = -1, .source = "a", .source_seen = T0,
                          .source_silent = 1};
    return obs;
}

START_TEST(test_health_classify)
{
    owm_test_params p;
    owm_test_params_default(&p); /* 300 x 0.1 s: bound 30 + 10 + 30 + 3 = 73 s */
    owm_msg_stream_health h = health_in(OWM_STREAM_STATE_RUNNING);
    char why[OWM_EVIDENCE_MAX];
    owm_stream_obs obs = obs_of(&h, 500, 10);
    expect_classify(&p, &obs, OWM_V_OK, "last session ended 10 s ago");
    obs.session_age = 74;
    expect_classify(&p, &obs, OWM_V_STALLED, "no session finished for 74 s (bound 73 s)");
    /* FAILED is a local error: failing, whatever else holds */
    h.state = OWM_STREAM_STATE_FAILED;
    h.last_error = "spool: No space left on device";
    expect_classify(&p, &obs, OWM_V_FAILING,
                    "node b reports it failed: spool: No space left on device");
    obs.session_age = -1;
    obs.since_start = 3;
    ck_assert_int_eq(owm_health_classify(&p, &obs, why, sizeof why), OWM_V_FAILING);
    h.last_error = "";
    /* not reported: pending before the ack, missing after */
    obs = obs_of(NULL, 20, -1);
    expect_classify(&p, &obs, OWM_V_MISSING,
                    "node b acked its schedule but does not report the stream");
    obs.acked = 0;
    expect_classify(&p, &obs, OWM_V_PENDING, "node b has not acked the schedule that lists it");
    obs.node_missing = 1;
    obs.node_silent = 45;
    expect_classify(&p, &obs, OWM_V_MISSING, "node b not heard from for 45 s");
    obs.node_silent = -1;
    ck_assert_int_eq(owm_health_classify(&p, &obs, NULL, 0), OWM_V_MISSING);
    expect_classify(&p, &obs, OWM_V_MISSING, "node b never connected");
    h.state = OWM_STREAM_STATE_STOPPED;
    ck_assert_int_eq(owm_health_unexpected(&h, "b", why, sizeof why), OWM_V_STOPPED);
    ck_assert_str_eq(why, "not in b's schedule; it reports the stream stopped");
    h.state = OWM_STREAM_STATE_RUNNING;
    ck_assert_int_eq(owm_health_unexpected(&h, "b", NULL, 0), OWM_V_UNEXPECTED);
}
END_TEST

/* A stream whose peer is not up yet is starting for the grace period, not
 * failing, even while the node reports connection refused. */
START_TEST(test_health_starting_grace)
{
    owm_test_params p;
    owm_test_params_default(&p); /* bound 73 s */
    owm_msg_stream_health h = health_in(OWM_STREAM_STATE_STARTING);
    char why[OWM_EVIDENCE_MAX];
    owm_stream_obs obs = obs_of(&h, 8, -1);
    expect_classify(&p, &obs, OWM_V_STARTING, "starting: 8 s of a 30 s grace period");
    /* a node of minor version < 2: back-off after "Connection refused" */
    h.state = OWM_STREAM_STATE_BACKOFF;
    h.last_error = "connect 127.0.0.2:861: Connection refused";
    expect_classify(&p, &obs, OWM_V_STARTING,
                    "starting: 8 s of a 30 s grace period; not set up yet: unreachable");
    /* a node of minor 2: the outside reason, still within the grace period */
    h.state = OWM_STREAM_STATE_STARTING;
    h.unmeasured_since = T0;
    h.unmeasured_reason = "owampd-refused";
    obs.since_start = 29;
    obs.unmeasured_for = 28;
    expect_classify(&p, &obs, OWM_V_STARTING,
                    "starting: 29 s of a 30 s grace period; not set up yet: owampd refused");
    /* past the grace period: unmeasured with its reason, never failing */
    obs.since_start = 41;
    obs.unmeasured_for = 40;
    expect_classify(&p, &obs, OWM_V_UNMEASURED,
                    "owampd refused for 40 s; node says: connect 127.0.0.2:861: "
                    "Connection refused");
    /* the old node's back-off past the grace period: unmeasured, "unreachable" */
    h.unmeasured_since = 0;
    h.unmeasured_reason = "";
    h.state = OWM_STREAM_STATE_BACKOFF;
    obs.unmeasured_for = -1;
    expect_classify(&p, &obs, OWM_V_UNMEASURED,
                    "unreachable; node says: connect 127.0.0.2:861: Connection refused");
    /* a reason this version does not know is shown as the node gave it */
    h.unmeasured_since = T0;
    h.unmeasured_reason = "moon-phase";
    h.last_error = "";
    obs.unmeasured_for = 2;
    expect_classify(&p, &obs, OWM_V_UNMEASURED, "moon-phase for 2 s");
    /* measuring again after a session: ok */
    h.unmeasured_since = 0;
    h.state = OWM_STREAM_STATE_RUNNING;
    obs.session_age = 3;
    ck_assert_int_eq(owm_health_classify(&p, &obs, why, sizeof why), OWM_V_OK);
    /* sessions ran, then the peer went: unmeasured at once (no grace) */
    h.unmeasured_since = T0;
    h.unmeasured_reason = "control timeout";
    obs.since_start = 10;
    obs.unmeasured_for = 5;
    expect_classify(&p, &obs, OWM_V_UNMEASURED, "control timeout for 5 s");
}
END_TEST

/* "stalled" only after count x interval + loss timeout (+ margin) since the
 * stream (re)started, not since the schedule was first acked. */
START_TEST(test_health_stalled_since_start)
{
    owm_test_params p;
    owm_test_params_default(&p); /* 30 s session + 10 s loss timeout: bound 73 s */
    owm_msg_stream_health h = health_in(OWM_STREAM_STATE_RUNNING);
    char why[OWM_EVIDENCE_MAX];
    owm_stream_obs obs = obs_of(&h, 60, -1);
    expect_classify(&p, &obs, OWM_V_STARTING,
                    "starting: no session finished yet, 60 s after the stream started "
                    "(bound 73 s)");
    obs.since_start = 73;
    ck_assert_int_eq(owm_health_classify(&p, &obs, why, sizeof why), OWM_V_STARTING);
    obs.since_start = 95;
    expect_classify(&p, &obs, OWM_V_STALLED,
                    "no session finished 95 s after the stream started (bound 73 s)");
    /* the bound grows with the session and the loss timeout */
    p.packet_count = 600;
    p.loss_timeout = 20;
    ck_assert_double_eq_tol(owm_health_stall_bound(&p), 60 + 20 + 30 + 6, 1e-9);
    ck_assert_int_eq(owm_health_classify(&p, &obs, why, sizeof why), OWM_V_STARTING);
}
END_TEST

/* Where the coordinator knows the source node is down, the evidence says so,
 * whatever reason the receiving node gave. */
START_TEST(test_health_peer_down)
{
    owm_test_params p;
    owm_test_params_default(&p);
    owm_msg_stream_health h = {0};
    h.id = "x";
    h.state = OWM_STREAM_STATE_STARTING;
    h.last_error = "connect 127.0.0.2:861: Connection refused";
    h.unmeasured_since = T0;
    h.unmeasured_reason = "owampd refused";
    char why[OWM_EVIDENCE_MAX];
    owm_stream_obs obs = obs_of(&h, 120, 1);
    obs.session_age = -1;
    obs.source_missing = 1;
    obs.source_silent = 75;
    expect_classify(&p, &obs, OWM_V_UNMEASURED,
                    "peer down: node a not heard from since 2023-08-02T21:20:00Z (75 s)");
    obs.source_seen = 0;
    obs.source_silent = -1;
    expect_classify(&p, &obs, OWM_V_UNMEASURED, "peer down: node a never connected");
    /* within the grace period it is still starting, and says why */
    obs.since_start = 5;
    expect_classify(&p, &obs, OWM_V_STARTING,
                    "starting: 5 s of a 30 s grace period; not set up yet: peer down");
    /* the source is down but the stream measures (its owampd still answers): ok */
    h.unmeasured_since = 0;
    h.state = OWM_STREAM_STATE_RUNNING;
    obs.since_start = 120;
    obs.session_age = 4;
    ck_assert_int_eq(owm_health_classify(&p, &obs, why, sizeof why), OWM_V_OK);
}
END_TEST

START_TEST(test_health_from_status_verdict)
{
    owm_msg_node_status n = {0};
    n.connected = 1;
    n.expected_generation = n.acked_generation = 5;
    owm_msg_stream_health h = {0};
    h.id = "x";
    h.state = OWM_STREAM_STATE_RUNNING;
    h.last_session_end = T0;
    h.last_error = OWM_STALLED_MARK "no session finished for 200 s (bound 73 s)";
    owm_msg_stream_status s = {0};
    s.id = "x";
    s.expected = 1;
    s.health = &h;
    /* a coordinator of minor version 0: the mark says stalled */
    ck_assert_int_eq(owm_health_from_status(&n, &s), OWM_V_STALLED);
    ck_assert_str_eq(owm_health_stall_note(&s), "no session finished for 200 s (bound 73 s)");
    /* a verdict wins over what the rest would say */
    s.verdict = OWM_MSG_VERDICT_OK;
    ck_assert_int_eq(owm_health_from_status(&n, &s), OWM_V_OK);
    h.last_error = "";
    s.verdict = OWM_MSG_VERDICT_STALLED;
    ck_assert_int_eq(owm_health_from_status(&n, &s), OWM_V_STALLED);
    ck_assert_str_eq(owm_health_stall_note(&s), "");
    s.verdict = OWM_MSG_VERDICT_UNSPECIFIED;
    ck_assert_int_eq(owm_health_from_status(&n, &s), OWM_V_OK);
    s.health = NULL;
    ck_assert_str_eq(owm_health_stall_note(&s), "");
    for (owm_verdict v = OWM_V_OK; v <= OWM_V_UNMEASURED; v++)
        ck_assert_str_eq(owm_msg_verdict_name(owm_verdict_wire(v)), owm_verdict_name(v));
}
END_TEST

/* A Status from node b: one stream healthy, one failed, one the mesh does not
 * list; ages relative to the node's clock T0. */
static owm_msg *status_for_b(const owmc_node_plan *np, uint64_t last_end_age_s)
{
    owp_err e = {0};
    owm_msg *env = owm_msg_new(OWM_MSG_STATUS, &e);
    owm_msg_set_string(&env->status->node, "b", &e);
    env->status->generation = 100;
    env->status->time = T0;
    for (size_t i = 0; i < np->n_streams; i++) {
        owm_msg_stream_health *h = owm_msg_status_add_stream(env->status, &e);
        owm_msg_set_string(&h->id, np->streams[i]->id, &e);
        h->state = i == 0 ? OWM_STREAM_STATE_RUNNING
                          : OWM_STREAM_STATE_FAILED;
        h->sessions_completed = 4;
        h->last_session_end = T0 - ((uint64_t)last_end_age_s << 32);
        h->packets_sent = 600;
        h->packets_lost = 6;
        if (i)
            owm_msg_set_string(&h->last_error, "connection refused", &e);
    }
    owm_msg_stream_health *h = owm_msg_status_add_stream(env->status, &e);
    owm_msg_set_string(&h->id, "00000000000000000000000000000000", &e);
    h->state = OWM_STREAM_STATE_RUNNING;
    ck_assert_int_eq(owm_msg_validate(env, &e), OWP_OK);
    return env;
}

START_TEST(test_registry_health_fake_clock)
{
    owm_mesh *m = parse_ok(BASE); /* 600 x 0.1 s: bound 106 s */
    owmc_plan *p = plan_ok(m);
    owp_err e = {0};
    owmc_registry *reg = owmc_reg_new(p, 100, 30, &e);
    owmc_peer *b = owmc_reg_find(reg, "b");
    zframe_t *r = route("rb");
    owmc_reg_heard(b, r, 1000, T0, &e);
    owm_msg_hello h = hello("b", 0);
    owmc_reg_on_hello(b, &h, 1000);
    /* before the ack: pending */
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1000, NULL, 0), OWM_V_PENDING);
    owm_msg_schedule_ack ack = {0};
    ack.generation = 100;
    ack.accepted = 1;
    owmc_reg_on_ack(b, &ack, 1001);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1001, NULL, 0), OWM_V_MISSING);
    /* a status: stream 0 finished a session 5 s ago (node clock) */
    owm_msg *st = status_for_b(b->plan, 5);
    ck_assert_int_eq(owmc_reg_on_status(b, &st, 1002, &e), OWP_OK);
    ck_assert_ptr_null(st);
    owmc_reg_heard(b, r, 1002, T0, &e);
    ck_assert_ptr_nonnull(owmc_reg_health(b, b->plan->streams[0]->id));
    ck_assert_ptr_null(owmc_reg_health(b, "ffffffffffffffffffffffffffffffff"));
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1002, NULL, 0), OWM_V_OK);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 1, 1002, NULL, 0), OWM_V_FAILING);
    /* 100 s later (105 s after the session): still within the bound */
    owmc_reg_heard(b, r, 1102, T0, &e);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1102, NULL, 0), OWM_V_OK);
    /* 110 s later, still heard from (heartbeats) but no new session: stalled */
    owmc_reg_heard(b, r, 1112, T0, &e);
    char why[200];
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1112, why, sizeof why), OWM_V_STALLED);
    ck_assert_str_eq(why, "no session finished for 115 s (bound 106 s)");
    /* the StatusReply carries the verdicts `owmesh status` shows */
    owm_msg *rep =
        owmc_reg_status_reply(reg, NULL, 100, 1112, T0, OWM_MSG_VERSION_MINOR, &e);
    ck_assert_msg(rep != NULL, "%s", e.msg);
    ck_assert_int_eq(owm_msg_validate(rep, &e), OWP_OK);
    owm_msg_status_reply *sr = rep->status_reply;
    ck_assert_uint_eq(sr->n_nodes, 3);
    const owm_msg_node_status *nb = sr->nodes[1];
    ck_assert_str_eq(nb->node, "b");
    ck_assert_int_eq(nb->connected, 1);
    ck_assert_uint_eq(nb->expected_generation, 100);
    ck_assert_uint_eq(nb->acked_generation, 100);
    ck_assert_uint_eq(nb->n_streams, 3); /* two expected + one unexpected */
    int stalled = 0, failing = 0, unexpected = 0;
    for (size_t i = 0; i < nb->n_streams; i++) {
        owm_verdict v = owm_health_from_status(nb, nb->streams[i]);
        stalled += v == OWM_V_STALLED;
        failing += v == OWM_V_FAILING;
        unexpected += v == OWM_V_UNEXPECTED;
    }
    ck_assert_int_eq(stalled, 1);
    ck_assert_int_eq(failing, 1);
    ck_assert_int_eq(unexpected, 1);
    /* the verdicts travel in StreamStatus.verdict; a stalled stream keeps the
     * mark and reason in last_error for readers of minor version 0, and a
     * reply without verdicts (from such a coordinator) reads the same */
    for (size_t i = 0; i < nb->n_streams; i++) {
        owm_msg_stream_status *ss = nb->streams[i];
        owm_verdict v = owm_health_from_status(nb, ss);
        ck_assert_int_eq(ss->verdict, owm_verdict_wire(v));
        if (v == OWM_V_STALLED) {
            ck_assert_str_eq(ss->health->last_error,
                             OWM_STALLED_MARK "no session finished for 115 s (bound 106 s)");
            ck_assert_str_eq(owm_health_stall_note(ss),
                             "no session finished for 115 s (bound 106 s)");
        }
        ss->verdict = OWM_MSG_VERDICT_UNSPECIFIED;
        ck_assert_int_eq(owm_health_from_status(nb, ss), v);
        ss->verdict = owm_verdict_wire(v);
    }
    /* a and c never connected: every stream missing */
    for (size_t i = 0; i < sr->nodes[0]->n_streams; i++)
        ck_assert_int_eq(owm_health_from_status(sr->nodes[0], sr->nodes[0]->streams[i]),
                         OWM_V_MISSING);
    owm_msg_free(&rep);
    /* nothing heard for longer than the timeout: node missing */
    ck_assert_int_eq(owmc_reg_node_missing(reg, b, 1112 + 31), 1);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1112 + 31, NULL, 0), OWM_V_MISSING);
    zframe_destroy(&r);
    owmc_reg_destroy(&reg);
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

#define SECS(n) ((uint64_t)(n) << 32)

/* A mesh, its plan and a registry (heartbeat timeout 30 s, generation 100). */
typedef struct fixture {
    owm_mesh *mesh;
    owmc_plan *plan;
    owmc_registry *reg;
} fixture;

static fixture fixture_new(const char *text)
{
    fixture f = {.mesh = parse_ok(text)};
    owp_err e = {0};
    f.plan = plan_ok(f.mesh);
    f.reg = owmc_reg_new(f.plan, 100, 30, &e);
    ck_assert_msg(f.reg != NULL, "%s", e.msg);
    return f;
}

static fixture F; /* the checked fixture of the "health" case */

static void fixture_destroy(fixture *f)
{
    owmc_reg_destroy(&f->reg);
    owmc_plan_destroy(&f->plan);
    owm_mesh_destroy(&f->mesh);
}

static void teardown_fixture(void)
{
    fixture_destroy(&F);
}

static void setup_base(void)
{
    F = fixture_new(BASE);
}

/* The verdict on the i-th stream of p at now, and its evidence. */
#define expect_verdict(reg, p, i, now, want, evidence)                                     \
    do {                                                                                    \
        char why_[OWM_EVIDENCE_MAX];                                                       \
        ck_assert_int_eq(owmc_reg_stream_verdict(reg, p, i, now, why_, sizeof why_), want); \
        ck_assert_str_eq(why_, evidence);                                                   \
    } while (0)

/* The StatusReply on node b alone, for a reader of minor version minor. */
static owm_msg *reply_b(owmc_registry *reg, double now, uint64_t wall, uint32_t minor)
{
    char *only_b[] = {"b"};
    owm_msg_status_request q = {0};
    q.nodes = only_b;
    q.n_nodes = 1;
    owp_err e = {0};
    owm_msg *rep = owmc_reg_status_reply(reg, &q, 100, now, wall, minor, &e);
    ck_assert_msg(rep && owm_msg_validate(rep, &e) == OWP_OK, "%s", e.msg);
    return rep;
}

/* Node name connects at time at (on a route of its own, which the registry
 * copies), says Hello (minor version 2) and acks generation 100. */
static owmc_peer *up(fixture *f, const char *name, double at)
{
    owp_err e = {0};
    owmc_peer *p = owmc_reg_find(f->reg, name);
    zframe_t *r = route(name);
    ck_assert_int_eq(owmc_reg_heard(p, r, at, T0, &e), OWP_OK);
    zframe_destroy(&r);
    p->minor = 2;
    owm_msg_hello h = hello(name, 0);
    owmc_reg_on_hello(p, &h, at);
    owm_msg_schedule_ack ack = {0};
    ack.generation = 100;
    ack.accepted = 1;
    owmc_reg_on_ack(p, &ack, at);
    return p;
}

/* A Status of node name at node time T0 whose every stream has the given
 * start, last session end and unmeasured interval. */
static void report(owmc_peer *p, const char *name, double now, uint64_t started, uint64_t last_end,
                   uint64_t unmeasured_since, const char *reason)
{
    owp_err e = {0};
    owm_msg *env = owm_msg_new(OWM_MSG_STATUS, &e);
    owm_msg_set_string(&env->status->node, name, &e);
    env->status->generation = 100;
    env->status->time = T0;
    for (size_t i = 0; i < p->plan->n_streams; i++) {
        owm_msg_stream_health *h = owm_msg_status_add_stream(env->status, &e);
        owm_msg_set_string(&h->id, p->plan->streams[i]->id, &e);
        h->state = OWM_STREAM_STATE_RUNNING;
        h->started = started;
        h->last_session_end = last_end;
        h->sessions_completed = last_end ? 1 : 0;
        h->unmeasured_since = unmeasured_since;
        owm_msg_set_string(&h->unmeasured_reason, reason, &e);
        owm_msg_set_string(&h->last_error, unmeasured_since ? "Connection refused" : "", &e);
    }
    ck_assert_msg(owm_msg_validate(env, &e) == OWP_OK, "%s", e.msg);
    ck_assert_int_eq(owmc_reg_on_status(p, &env, now, &e), OWP_OK);
    owmc_reg_heard(p, p->route, now, T0, &e);
}

/* After a node restart its streams' clock restarts: from StreamHealth.started,
 * or from its Hello when the node does not say; never from the first ack. */
START_TEST(test_registry_restart_clock)
{
    owmc_registry *reg = F.reg;
    owmc_peer *b = up(&F, "b", 1000);
    report(b, "b", 1050, 0, T0 - SECS(5), 0, "");
    expect_verdict(reg, b, 0, 1050, OWM_V_OK,
                   "last session ended 5 s ago");
    /* b restarts 250 s after the ack, running the generation it had: no new ack */
    owm_msg_hello h = hello("b", 100);
    ck_assert_int_eq(owmc_reg_on_hello(b, &h, 1250), 0);
    report(b, "b", 1251, 0, 0, 0, "");
    expect_verdict(reg, b, 0, 1260, OWM_V_STARTING,
                   "starting: 10 s of a 30 s grace period");
    owmc_reg_heard(b, b->route, 1340, T0, NULL); /* heartbeats */
    expect_verdict(reg, b, 0, 1340, OWM_V_STARTING,
                   "starting: no session finished yet, 90 s after the stream started "
                   "(bound 106 s)");
    report(b, "b", 1357, 0, 0, 0, "");
    expect_verdict(reg, b, 0, 1357, OWM_V_STALLED,
                   "no session finished 107 s after the stream started (bound 106 s)");
    /* a node that says when the stream started: that clock, and a session
     * that ended before the start (before the restart) does not count */
    report(b, "b", 1400, T0 - SECS(12), T0 - SECS(20), 0, "");
    expect_verdict(reg, b, 0, 1402, OWM_V_STARTING,
                   "starting: 14 s of a 30 s grace period");
    report(b, "b", 1500, T0 - SECS(100), T0 - SECS(20), 0, "");
    expect_verdict(reg, b, 0, 1500, OWM_V_OK,
                   "last session ended 20 s ago");
}
END_TEST

/* A last session end later than the node's own clock is ignored (verdict and
 * reply), and none later than the coordinator's clock is shown. */
START_TEST(test_registry_future_timestamps)
{
    owmc_registry *reg = F.reg;
    owmc_peer *b = up(&F, "b", 1000);
    report(b, "b", 1100, T0 - SECS(50), T0 + SECS(30), 0, "");
    expect_verdict(reg, b, 0, 1100, OWM_V_STARTING,
                   "starting: no session finished yet, 50 s after the stream started "
                   "(bound 106 s)");
    owm_msg *rep = reply_b(reg, 1100, T0, 2);
    const owm_msg_stream_status *ss = rep->status_reply->nodes[0]->streams[0];
    ck_assert_uint_eq(ss->health->last_session_end, 0);
    ck_assert_str_eq(ss->evidence, "starting: no session finished yet, 50 s after the stream "
                                   "started (bound 106 s)");
    owm_msg_free(&rep);
    /* the node's clock runs 10 s ahead of the coordinator's: shown as now */
    report(b, "b", 1100, T0 - SECS(50), T0 - SECS(2), 0, "");
    rep = reply_b(reg, 1100, T0 - SECS(10), 2);
    ss = rep->status_reply->nodes[0]->streams[0];
    ck_assert_uint_eq(ss->health->last_session_end, T0 - SECS(10));
    ck_assert_int_eq(ss->verdict, OWM_MSG_VERDICT_OK);
    ck_assert_str_eq(ss->evidence, "last session ended 2 s ago");
    owm_msg_free(&rep);
}
END_TEST

/* Unmeasured with the node's reason, or "peer down" from the coordinator's
 * own knowledge of the source node; old readers get "failing". */
START_TEST(test_registry_unmeasured)
{
    owmc_registry *reg = F.reg;
    owmc_peer *b = up(&F, "b", 1000);
    /* b's stream 0 comes from a (never connected): the node says owampd refused */
    size_t from_a = 0;
    while (strcmp(b->plan->streams[from_a]->src->name, "a") != 0)
        from_a++;
    report(b, "b", 1100, T0 - SECS(100), 0, T0 - SECS(95), "owampd-refused");
    expect_verdict(reg, b, from_a, 1100, OWM_V_UNMEASURED,
                   "peer down: node a never connected");
    /* a comes up: the node's own reason */
    up(&F, "a", 1100);
    expect_verdict(reg, b, from_a, 1101, OWM_V_UNMEASURED,
                   "owampd refused for 96 s; node says: Connection refused");
    /* the reply: the verdict for this reader, the evidence, the node's reason */
    owm_msg *rep = reply_b(reg, 1101, T0, 2);
    const owm_msg_stream_status *ss = rep->status_reply->nodes[0]->streams[from_a];
    ck_assert_int_eq(ss->verdict, OWM_MSG_VERDICT_UNMEASURED);
    ck_assert_str_eq(ss->evidence, "owampd refused for 96 s; node says: Connection refused");
    ck_assert_str_eq(ss->health->unmeasured_reason, "owampd-refused");
    ck_assert_uint_eq(ss->health->unmeasured_since, T0 - SECS(95));
    ck_assert_int_eq(owm_health_from_status(rep->status_reply->nodes[0], ss),
                     OWM_V_UNMEASURED);
    owm_msg_free(&rep);
    rep = reply_b(reg, 1101, T0, 1);
    ck_assert_int_eq(rep->status_reply->nodes[0]->streams[from_a]->verdict,
                     OWM_MSG_VERDICT_FAILING);
    owm_msg_free(&rep);
    /* a goes silent past the heartbeat timeout: peer down, since when */
    owmc_reg_heard(b, b->route, 1140, T0, NULL);
    expect_verdict(reg, b, from_a, 1140, OWM_V_UNMEASURED,
                   "peer down: node a not heard from since 2023-08-02T21:20:00Z (40 s)");
}
END_TEST

#define NODES_UNSORTED                                                                        \
    "{\"nodes\": {\"zed\": {\"address\": \"127.0.0.2\"}, \"amy\": {\"address\": \"127.0.0.3\"}," \
    " \"kim\": {\"address\": \"127.0.0.4\"}, \"bob\": {\"address\": \"127.0.0.5\"}},"          \
    " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"zed\", \"amy\", \"kim\", \"bob\"]}}," \
    " \"tests\": {\"t\": {\"type\": \"latencybg\"}},"                                          \
    " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}"

static void expect_down(const owmc_registry *reg, const char *want)
{
    owp_err e = {0};
    owm_msg *env = owmc_reg_peer_health(reg, T0, &e);
    ck_assert_msg(env != NULL, "%s", e.msg);
    ck_assert_int_eq(owm_msg_validate(env, &e), OWP_OK); /* names ascending */
    ck_assert_uint_eq(env->peer_health->time, T0);
    char got[200] = "";
    for (size_t i = 0; i < env->peer_health->n_down; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "",
                 env->peer_health->down[i]);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(env->peer_health->n_down, owmc_reg_down_count(reg));
    owm_msg_free(&env);
}

/* PeerHealth: sent on register and on change, not again without a change;
 * never to nodes older than minor 2 or that refused it. */
START_TEST(test_registry_peer_health)
{
    fixture f = fixture_new(NODES_UNSORTED);
    owmc_registry *reg = f.reg;
    owp_err e = {0};
    expect_down(reg, "amy bob kim zed");
    owmc_peer *zed = up(&f, "zed", 10);
    owmc_peer *amy = up(&f, "amy", 10);
    /* registered: due once, with the set as it is now */
    ck_assert_int_eq(owmc_reg_update_down(reg, 10), 1);
    expect_down(reg, "bob kim");
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, zed, 10), 1);
    owmc_reg_peer_health_sent(reg, zed);
    owmc_reg_peer_health_sent(reg, amy);
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, zed, 10), 0);
    /* nothing changed: nothing due */
    ck_assert_int_eq(owmc_reg_update_down(reg, 11), 0);
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, zed, 11), 0);
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, amy, 11), 0);
    /* kim (minor 1) comes up: the set changed, zed and amy are due; kim never */
    owmc_peer *kim = up(&f, "kim", 12);
    kim->minor = 1;
    ck_assert_int_eq(owmc_reg_update_down(reg, 12), 1);
    expect_down(reg, "bob");
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, zed, 12), 1);
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, amy, 12), 1);
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, kim, 12), 0);
    owmc_reg_peer_health_sent(reg, zed);
    owmc_reg_peer_health_sent(reg, amy);
    /* amy answers ERROR_UNKNOWN_MESSAGE: not sent again (logged once) */
    ck_assert_int_eq(owmc_reg_peer_health_refused(amy), 1);
    ck_assert_int_eq(owmc_reg_peer_health_refused(amy), 0);
    /* zed goes silent past the timeout; amy and kim keep talking */
    owmc_reg_heard(amy, amy->route, 40, T0, &e);
    owmc_reg_heard(kim, kim->route, 40, T0, &e);
    ck_assert_int_eq(owmc_reg_update_down(reg, 41), 1);
    expect_down(reg, "bob zed");
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, amy, 41), 0);
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, zed, 41), 0); /* down itself */
    /* zed says Hello again: due at once (before any tick) */
    owmc_reg_heard(zed, zed->route, 45, T0, &e);
    owm_msg_hello h = hello("zed", 100);
    owmc_reg_on_hello(zed, &h, 45);
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, zed, 45), 1);
    ck_assert_int_eq(owmc_reg_update_down(reg, 45), 1);
    expect_down(reg, "bob");
    /* a reload that changes nothing still tells every node the set again */
    uint64_t version = owmc_reg_down_version(reg);
    owmc_reg_peer_health_sent(reg, zed);
    ck_assert_int_ge(owmc_reg_apply_plan(reg, f.plan, 100, NULL, NULL, &e), 0);
    ck_assert_uint_gt(owmc_reg_down_version(reg), version);
    zed = owmc_reg_find(reg, "zed");
    ck_assert_int_eq(owmc_reg_peer_health_due(reg, zed, 46), 1);
    expect_down(reg, "bob");
    fixture_destroy(&f);
}
END_TEST

START_TEST(test_registry_replies)
{
    owm_mesh *m = parse_ok(BASE);
    owmc_plan *p = plan_ok(m);
    owp_err e = {0};
    owmc_registry *reg = owmc_reg_new(p, 5, 30, &e);
    /* a request naming an unknown node is refused by name */
    owm_msg_status_request q = {0};
    char *names[] = {"c", "nope"};
    q.nodes = names;
    q.n_nodes = 2;
    q.request_id = 77;
    ck_assert_ptr_null(owmc_reg_status_reply(reg, &q, 5, 0, T0, OWM_MSG_VERSION_MINOR, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "\"nope\""));
    /* the same node twice is answered once */
    char *twice[] = {"c", "c"};
    q.nodes = twice;
    owm_msg *rep = owmc_reg_status_reply(reg, &q, 5, 0, T0, OWM_MSG_VERSION_MINOR, &e);
    ck_assert_ptr_nonnull(rep);
    ck_assert_uint_eq(rep->status_reply->request_id, 77);
    ck_assert_uint_eq(rep->status_reply->n_nodes, 1);
    ck_assert_int_eq(owm_msg_validate(rep, &e), OWP_OK);
    owm_msg_free(&rep);
    /* directory: every node, its server address and key; announced endpoint wins */
    owmc_peer *a = owmc_reg_find(reg, "a");
    zframe_t *r = route("ra");
    owmc_reg_heard(a, r, 1, T0, &e);
    owm_msg_hello h = hello("a", 0);
    owmc_reg_on_hello(a, &h, 1);
    owm_msg *dir = owmc_reg_directory(reg, 5, &e);
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(owm_msg_validate(dir, &e), OWP_OK);
    ck_assert_uint_eq(dir->directory->n_nodes, 3);
    ck_assert_str_eq(dir->directory->nodes[0]->address, "127.0.0.2:861");
    ck_assert_str_eq(dir->directory->nodes[0]->public_key, KEY_A);
    ck_assert_str_eq(dir->directory->nodes[0]->data_endpoint, "tcp://127.0.0.2:5560");
    ck_assert_str_eq(dir->directory->nodes[2]->public_key, "");
    owm_msg_free(&dir);
    /* an Error from the node is kept as its last error */
    owm_msg_error err = {0};
    err.code = OWM_ERROR_MALFORMED;
    err.text = "Schedule.streams[0]: bad";
    owmc_reg_on_error(a, &err);
    ck_assert_str_eq(a->last_error, "ERROR_MALFORMED: Schedule.streams[0]: bad");
    zframe_destroy(&r);
    owmc_reg_destroy(&reg);
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

/* ------------------------------------------------------------ certificates */

START_TEST(test_cert_files)
{
    char *dir = tu_tempdir();
    char path[512], spath[512], key[OWM_CURVE_KEY_LEN + 1], again[OWM_CURVE_KEY_LEN + 1];
    snprintf(path, sizeof path, "%s/node", dir);
    snprintf(spath, sizeof spath, "%s/node_secret", dir);
    owp_err e = {0};
    ck_assert_int_eq(owm_curve_generate(path, 0, "test node", key, &e), OWP_OK);
    ck_assert_int_eq(owm_curve_key_valid(key), 1);
    struct stat sb;
    ck_assert_int_eq(stat(spath, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    /* no silent overwrite */
    ck_assert_int_ne(owm_curve_generate(path, 0, NULL, again, &e), OWP_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "exists"));
    /* the secret file, or the public one plus NAME_secret */
    zcert_t *c1 = owm_curve_load(spath, 1, &e);
    zcert_t *c2 = owm_curve_load(path, 1, &e);
    ck_assert_ptr_nonnull(c1);
    ck_assert_ptr_nonnull(c2);
    ck_assert_str_eq(zcert_public_txt(c1), key);
    ck_assert_str_eq(zcert_secret_txt(c1), zcert_secret_txt(c2));
    zcert_destroy(&c1);
    zcert_destroy(&c2);
    ck_assert_int_eq(owm_curve_public_key(path, again, &e), OWP_OK);
    ck_assert_str_eq(again, key);
    ck_assert_int_eq(owm_curve_public_key(KEY_A, again, &e), OWP_OK);
    ck_assert_str_eq(again, KEY_A);
    /* only NAME_secret left: NAME still names the pair */
    char moved[520];
    snprintf(moved, sizeof moved, "%s.moved", path);
    ck_assert_int_eq(rename(path, moved), 0);
    c1 = owm_curve_load(path, 1, &e);
    ck_assert_msg(c1 != NULL, "%s", e.msg);
    ck_assert_str_eq(zcert_public_txt(c1), key);
    zcert_destroy(&c1);
    ck_assert_int_eq(rename(moved, path), 0);
    /* without its secret file, the public cert cannot be used as a key pair */
    unlink(spath);
    ck_assert_ptr_null(owm_curve_load(path, 1, &e));
    ck_assert_int_eq(e.code, OWP_ERR_SYS);
    /* garbage and missing files */
    FILE *fp = fopen(spath, "w");
    fputs("curve\n    public-key = \"short\"\n", fp);
    fclose(fp);
    ck_assert_ptr_null(owm_curve_load(spath, 1, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "curve/public-key"));
    ck_assert_ptr_null(owm_curve_load("/nonexistent/x", 0, &e));
    ck_assert_int_ne(owm_curve_public_key("not-a-key", again, &e), OWP_OK);
    unlink(spath);
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

static Suite *coordinator_suite(void)
{
    Suite *s = suite_create("coordinator");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_plan_every_example);
    tcase_add_test(tc, test_plan_demo);
    tcase_add_test(tc, test_plan_identity_for_auth_only);
    tcase_add_test(tc, test_plan_null);
    suite_add_tcase(s, tc);
    tc = tcase_create("diff");
    tcase_add_test(tc, test_diff_identical_and_reordered);
    tcase_add_test(tc, test_diff_one_receiver);
    tcase_add_test(tc, test_diff_parameters_and_nodes);
    tcase_add_test(tc, test_diff_address_change);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_push_retry_ack);
    tcase_add_test(tc, test_registry_restarted_node_gets_schedule);
    tcase_add_test(tc, test_registry_reload_only_changed);
    tcase_add_test(tc, test_registry_replies);
    suite_add_tcase(s, tc);
    tc = tcase_create("health");
    tcase_add_test(tc, test_health_bounds);
    tcase_add_test(tc, test_health_classify);
    tcase_add_test(tc, test_health_starting_grace);
    tcase_add_test(tc, test_health_stalled_since_start);
    tcase_add_test(tc, test_health_peer_down);
    tcase_add_test(tc, test_health_from_status_verdict);
    tcase_add_test(tc, test_registry_health_fake_clock);
    tcase_add_checked_fixture(tc, setup_base, teardown_fixture);
    tcase_add_test(tc, test_registry_restart_clock);
    tcase_add_test(tc, test_registry_future_timestamps);
    tcase_add_test(tc, test_registry_unmeasured);
    tcase_add_test(tc, test_registry_peer_health);
    suite_add_tcase(s, tc);
    tc = tcase_create("cert");
    tcase_add_test(tc, test_cert_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(coordinator_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
