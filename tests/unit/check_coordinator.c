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

#include "cert.h"
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
        Owmesh__Envelope *env = owmc_plan_schedule(np, 7, &e);
        ck_assert_msg(env != NULL, "%s", e.msg);
        uint8_t *buf = NULL;
        size_t len = 0;
        ck_assert_msg(owm_msg_encode(env, &buf, &len, &e) == OWP_OK, "%s: %s", np->node->name,
                      e.msg);
        Owmesh__Envelope *back = NULL;
        ck_assert_int_eq(owm_msg_decode(buf, len, &back, NULL, &e), OWP_OK);
        ck_assert_uint_eq(back->schedule->generation, 7);
        ck_assert_str_eq(back->schedule->node, np->node->name);
        ck_assert_uint_eq(back->schedule->n_streams, np->n_streams);
        ck_assert_int_eq(back->schedule->owamp_server != NULL, np->n_sent > 0);
        for (size_t k = 0; k < np->n_streams; k++) {
            const owm_stream *s = np->streams[k];
            const Owmesh__Stream *q = back->schedule->streams[k];
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
    Owmesh__Envelope *env = owmc_plan_schedule(bravo, 42, &e);
    ck_assert_ptr_nonnull(env);
    Owmesh__Schedule *s = env->schedule;
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
    Owmesh__Envelope *env = owmc_plan_schedule(owmc_plan_find(p, "b"), 1, &e);
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

static Owmesh__Hello hello(const char *node, uint64_t running)
{
    Owmesh__Hello h = OWMESH__HELLO__INIT;
    h.node = (char *)node;
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
    Owmesh__Hello h = hello("a", 0);
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
    Owmesh__ScheduleAck no = OWMESH__SCHEDULE_ACK__INIT;
    no.generation = 100;
    no.error = "bad stream";
    ck_assert_int_eq(owmc_reg_on_ack(a, &no, 14), 0);
    ck_assert_str_eq(a->last_error, "bad stream");
    /* an ack of an older generation does not settle it */
    Owmesh__ScheduleAck ack = OWMESH__SCHEDULE_ACK__INIT;
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
    Owmesh__Hello h = hello("a", 0);
    owmc_reg_on_hello(a, &h, 1);
    owmc_reg_pushed(a, 1);
    Owmesh__ScheduleAck ack = OWMESH__SCHEDULE_ACK__INIT;
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
    Owmesh__ScheduleAck ack = OWMESH__SCHEDULE_ACK__INIT;
    ack.generation = 100;
    ack.accepted = 1;
    for (int i = 0; i < 3; i++) {
        owmc_peer *x = owmc_reg_find(reg, names[i]);
        owmc_reg_heard(x, routes[i], 1, T0, &e);
        Owmesh__Hello h = hello(names[i], 0);
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
    ck_assert_double_eq_tol(owmc_health_stall_bound(&p), 106, 1e-9);
    ck_assert_int_eq(owmc_health_node_missing(-1, 30), 1);
    ck_assert_int_eq(owmc_health_node_missing(29, 30), 0);
    ck_assert_int_eq(owmc_health_node_missing(31, 30), 1);
    /* node-clock differences only */
    uint64_t five = (uint64_t)5 << 32;
    ck_assert_double_eq_tol(owmc_health_session_age(T0, T0 - five, 2.5), 7.5, 1e-6);
    ck_assert_double_eq_tol(owmc_health_session_age(T0, T0 + five, 2), 0, 1e-6);
    ck_assert_double_lt(owmc_health_session_age(T0, 0, 2), 0);
    ck_assert_str_eq(owmc_verdict_name(OWMC_V_STALLED), "stalled");
    ck_assert_int_eq(owmc_verdict_is_problem(OWMC_V_STARTING), 0);
    ck_assert_int_eq(owmc_verdict_is_problem(OWMC_V_FAILING), 1);
}
END_TEST

START_TEST(test_health_classify)
{
    owm_test_params p;
    owm_test_params_default(&p); /* 300 x 0.1 s: bound 30 + 10 + 30 + 3 = 73 s */
    Owmesh__StreamHealth h = OWMESH__STREAM_HEALTH__INIT;
    h.id = "x";
    h.state = OWMESH__STREAM_STATE__STREAM_STATE_RUNNING;
    h.last_error = "";
    char why[200];
    owmc_stream_obs obs = {.health = &h, .acked = 1, .since_ack = 500, .session_age = 10};
    ck_assert_int_eq(owmc_health_classify(&p, &obs, why, sizeof why), OWMC_V_OK);
    ck_assert_str_eq(why, "");
    obs.session_age = 74;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, why, sizeof why), OWMC_V_STALLED);
    ck_assert_str_eq(why, "no session finished for 74 s (bound 73 s)");
    h.state = OWMESH__STREAM_STATE__STREAM_STATE_BACKOFF;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, why, sizeof why), OWMC_V_FAILING);
    h.state = OWMESH__STREAM_STATE__STREAM_STATE_FAILED;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, why, sizeof why), OWMC_V_FAILING);
    /* starting: no session yet, within the bound after the ack */
    h.state = OWMESH__STREAM_STATE__STREAM_STATE_STARTING;
    obs.session_age = -1;
    obs.since_ack = 20;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, why, sizeof why), OWMC_V_STARTING);
    obs.since_ack = 80;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, why, sizeof why), OWMC_V_STALLED);
    /* not reported: pending before the ack, missing after */
    obs.health = NULL;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, NULL, 0), OWMC_V_MISSING);
    obs.acked = 0;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, NULL, 0), OWMC_V_PENDING);
    obs.node_missing = 1;
    ck_assert_int_eq(owmc_health_classify(&p, &obs, NULL, 0), OWMC_V_MISSING);
    h.state = OWMESH__STREAM_STATE__STREAM_STATE_STOPPED;
    ck_assert_int_eq(owmc_health_unexpected(&h), OWMC_V_STOPPED);
    h.state = OWMESH__STREAM_STATE__STREAM_STATE_RUNNING;
    ck_assert_int_eq(owmc_health_unexpected(&h), OWMC_V_UNEXPECTED);
}
END_TEST

START_TEST(test_health_from_status_verdict)
{
    Owmesh__NodeStatus n = OWMESH__NODE_STATUS__INIT;
    n.connected = 1;
    n.expected_generation = n.acked_generation = 5;
    Owmesh__StreamHealth h = OWMESH__STREAM_HEALTH__INIT;
    h.id = "x";
    h.state = OWMESH__STREAM_STATE__STREAM_STATE_RUNNING;
    h.last_session_end = T0;
    h.last_error = OWMC_STALLED_MARK "no session finished for 200 s (bound 73 s)";
    Owmesh__StreamStatus s = OWMESH__STREAM_STATUS__INIT;
    s.id = "x";
    s.expected = 1;
    s.health = &h;
    /* a coordinator of minor version 0: the mark says stalled */
    ck_assert_int_eq(owmc_health_from_status(&n, &s), OWMC_V_STALLED);
    ck_assert_str_eq(owmc_health_stall_note(&s), "no session finished for 200 s (bound 73 s)");
    /* a verdict wins over what the rest would say */
    s.verdict = OWMESH__STREAM_VERDICT__STREAM_VERDICT_OK;
    ck_assert_int_eq(owmc_health_from_status(&n, &s), OWMC_V_OK);
    h.last_error = "";
    s.verdict = OWMESH__STREAM_VERDICT__STREAM_VERDICT_STALLED;
    ck_assert_int_eq(owmc_health_from_status(&n, &s), OWMC_V_STALLED);
    ck_assert_str_eq(owmc_health_stall_note(&s), "");
    s.verdict = OWMESH__STREAM_VERDICT__STREAM_VERDICT_UNSPECIFIED;
    ck_assert_int_eq(owmc_health_from_status(&n, &s), OWMC_V_OK);
    s.health = NULL;
    ck_assert_str_eq(owmc_health_stall_note(&s), "");
    for (owmc_verdict v = OWMC_V_OK; v <= OWMC_V_STOPPED; v++)
        ck_assert_str_eq(owm_msg_verdict_name(owmc_verdict_wire(v)), owmc_verdict_name(v));
}
END_TEST

/* A Status from node b: one stream healthy, one failed, one the mesh does not
 * list; ages relative to the node's clock T0. */
static Owmesh__Envelope *status_for_b(const owmc_node_plan *np, uint64_t last_end_age_s)
{
    owp_err e = {0};
    Owmesh__Envelope *env = owm_msg_new(OWMESH__ENVELOPE__BODY_STATUS, &e);
    owm_msg_set_string(&env->status->node, "b", &e);
    env->status->generation = 100;
    env->status->time = T0;
    for (size_t i = 0; i < np->n_streams; i++) {
        Owmesh__StreamHealth *h = owm_msg_status_add_stream(env->status, &e);
        owm_msg_set_string(&h->id, np->streams[i]->id, &e);
        h->state = i == 0 ? OWMESH__STREAM_STATE__STREAM_STATE_RUNNING
                          : OWMESH__STREAM_STATE__STREAM_STATE_FAILED;
        h->sessions_completed = 4;
        h->last_session_end = T0 - ((uint64_t)last_end_age_s << 32);
        h->packets_sent = 600;
        h->packets_lost = 6;
        if (i)
            owm_msg_set_string(&h->last_error, "connection refused", &e);
    }
    Owmesh__StreamHealth *h = owm_msg_status_add_stream(env->status, &e);
    owm_msg_set_string(&h->id, "00000000000000000000000000000000", &e);
    h->state = OWMESH__STREAM_STATE__STREAM_STATE_RUNNING;
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
    Owmesh__Hello h = hello("b", 0);
    owmc_reg_on_hello(b, &h, 1000);
    /* before the ack: pending */
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1000, NULL, 0), OWMC_V_PENDING);
    Owmesh__ScheduleAck ack = OWMESH__SCHEDULE_ACK__INIT;
    ack.generation = 100;
    ack.accepted = 1;
    owmc_reg_on_ack(b, &ack, 1001);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1001, NULL, 0), OWMC_V_MISSING);
    /* a status: stream 0 finished a session 5 s ago (node clock) */
    Owmesh__Envelope *st = status_for_b(b->plan, 5);
    ck_assert_int_eq(owmc_reg_on_status(b, &st, 1002, &e), OWP_OK);
    ck_assert_ptr_null(st);
    owmc_reg_heard(b, r, 1002, T0, &e);
    ck_assert_ptr_nonnull(owmc_reg_health(b, b->plan->streams[0]->id));
    ck_assert_ptr_null(owmc_reg_health(b, "ffffffffffffffffffffffffffffffff"));
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1002, NULL, 0), OWMC_V_OK);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 1, 1002, NULL, 0), OWMC_V_FAILING);
    /* 100 s later (105 s after the session): still within the bound */
    owmc_reg_heard(b, r, 1102, T0, &e);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1102, NULL, 0), OWMC_V_OK);
    /* 110 s later, still heard from (heartbeats) but no new session: stalled */
    owmc_reg_heard(b, r, 1112, T0, &e);
    char why[200];
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1112, why, sizeof why), OWMC_V_STALLED);
    ck_assert_str_eq(why, "no session finished for 115 s (bound 106 s)");
    /* the StatusReply carries the verdicts `owmesh status` shows */
    Owmesh__Envelope *rep = owmc_reg_status_reply(reg, NULL, 100, 1112, T0, &e);
    ck_assert_msg(rep != NULL, "%s", e.msg);
    ck_assert_int_eq(owm_msg_validate(rep, &e), OWP_OK);
    Owmesh__StatusReply *sr = rep->status_reply;
    ck_assert_uint_eq(sr->n_nodes, 3);
    const Owmesh__NodeStatus *nb = sr->nodes[1];
    ck_assert_str_eq(nb->node, "b");
    ck_assert_int_eq(nb->connected, 1);
    ck_assert_uint_eq(nb->expected_generation, 100);
    ck_assert_uint_eq(nb->acked_generation, 100);
    ck_assert_uint_eq(nb->n_streams, 3); /* two expected + one unexpected */
    int stalled = 0, failing = 0, unexpected = 0;
    for (size_t i = 0; i < nb->n_streams; i++) {
        owmc_verdict v = owmc_health_from_status(nb, nb->streams[i]);
        stalled += v == OWMC_V_STALLED;
        failing += v == OWMC_V_FAILING;
        unexpected += v == OWMC_V_UNEXPECTED;
    }
    ck_assert_int_eq(stalled, 1);
    ck_assert_int_eq(failing, 1);
    ck_assert_int_eq(unexpected, 1);
    /* the verdicts travel in StreamStatus.verdict; a stalled stream keeps the
     * mark and reason in last_error for readers of minor version 0, and a
     * reply without verdicts (from such a coordinator) reads the same */
    for (size_t i = 0; i < nb->n_streams; i++) {
        Owmesh__StreamStatus *ss = nb->streams[i];
        owmc_verdict v = owmc_health_from_status(nb, ss);
        ck_assert_int_eq(ss->verdict, owmc_verdict_wire(v));
        if (v == OWMC_V_STALLED) {
            ck_assert_str_eq(ss->health->last_error,
                             OWMC_STALLED_MARK "no session finished for 115 s (bound 106 s)");
            ck_assert_str_eq(owmc_health_stall_note(ss),
                             "no session finished for 115 s (bound 106 s)");
        }
        ss->verdict = OWMESH__STREAM_VERDICT__STREAM_VERDICT_UNSPECIFIED;
        ck_assert_int_eq(owmc_health_from_status(nb, ss), v);
        ss->verdict = owmc_verdict_wire(v);
    }
    /* a and c never connected: every stream missing */
    for (size_t i = 0; i < sr->nodes[0]->n_streams; i++)
        ck_assert_int_eq(owmc_health_from_status(sr->nodes[0], sr->nodes[0]->streams[i]),
                         OWMC_V_MISSING);
    owm_msg_free(&rep);
    /* nothing heard for longer than the timeout: node missing */
    ck_assert_int_eq(owmc_reg_node_missing(reg, b, 1112 + 31), 1);
    ck_assert_int_eq(owmc_reg_stream_verdict(reg, b, 0, 1112 + 31, NULL, 0), OWMC_V_MISSING);
    zframe_destroy(&r);
    owmc_reg_destroy(&reg);
    owmc_plan_destroy(&p);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(test_registry_replies)
{
    owm_mesh *m = parse_ok(BASE);
    owmc_plan *p = plan_ok(m);
    owp_err e = {0};
    owmc_registry *reg = owmc_reg_new(p, 5, 30, &e);
    /* a request naming an unknown node is refused by name */
    Owmesh__StatusRequest q = OWMESH__STATUS_REQUEST__INIT;
    char *names[] = {"c", "nope"};
    q.nodes = names;
    q.n_nodes = 2;
    q.request_id = 77;
    ck_assert_ptr_null(owmc_reg_status_reply(reg, &q, 5, 0, T0, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "\"nope\""));
    /* the same node twice is answered once */
    char *twice[] = {"c", "c"};
    q.nodes = twice;
    Owmesh__Envelope *rep = owmc_reg_status_reply(reg, &q, 5, 0, T0, &e);
    ck_assert_ptr_nonnull(rep);
    ck_assert_uint_eq(rep->status_reply->request_id, 77);
    ck_assert_uint_eq(rep->status_reply->n_nodes, 1);
    ck_assert_int_eq(owm_msg_validate(rep, &e), OWP_OK);
    owm_msg_free(&rep);
    /* directory: every node, its server address and key; announced endpoint wins */
    owmc_peer *a = owmc_reg_find(reg, "a");
    zframe_t *r = route("ra");
    owmc_reg_heard(a, r, 1, T0, &e);
    Owmesh__Hello h = hello("a", 0);
    owmc_reg_on_hello(a, &h, 1);
    Owmesh__Envelope *dir = owmc_reg_directory(reg, 5, &e);
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(owm_msg_validate(dir, &e), OWP_OK);
    ck_assert_uint_eq(dir->directory->n_nodes, 3);
    ck_assert_str_eq(dir->directory->nodes[0]->address, "127.0.0.2:861");
    ck_assert_str_eq(dir->directory->nodes[0]->public_key, KEY_A);
    ck_assert_str_eq(dir->directory->nodes[0]->data_endpoint, "tcp://127.0.0.2:5560");
    ck_assert_str_eq(dir->directory->nodes[2]->public_key, "");
    owm_msg_free(&dir);
    /* an Error from the node is kept as its last error */
    Owmesh__Error err = OWMESH__ERROR__INIT;
    err.code = OWMESH__ERROR_CODE__ERROR_MALFORMED;
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
    char path[512], spath[512], key[OWMC_Z85_KEY_LEN + 1], again[OWMC_Z85_KEY_LEN + 1];
    snprintf(path, sizeof path, "%s/node", dir);
    snprintf(spath, sizeof spath, "%s/node_secret", dir);
    owp_err e = {0};
    ck_assert_int_eq(owmc_cert_generate(path, 0, "test node", key, &e), OWP_OK);
    ck_assert_int_eq(owm_curve_key_valid(key), 1);
    struct stat sb;
    ck_assert_int_eq(stat(spath, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    /* no silent overwrite */
    ck_assert_int_ne(owmc_cert_generate(path, 0, NULL, again, &e), OWP_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "exists"));
    /* the secret file, or the public one plus NAME_secret */
    zcert_t *c1 = owmc_cert_load(spath, 1, &e);
    zcert_t *c2 = owmc_cert_load(path, 1, &e);
    ck_assert_ptr_nonnull(c1);
    ck_assert_ptr_nonnull(c2);
    ck_assert_str_eq(zcert_public_txt(c1), key);
    ck_assert_str_eq(zcert_secret_txt(c1), zcert_secret_txt(c2));
    zcert_destroy(&c1);
    zcert_destroy(&c2);
    ck_assert_int_eq(owmc_cert_public_key(path, again, &e), OWP_OK);
    ck_assert_str_eq(again, key);
    ck_assert_int_eq(owmc_cert_public_key(KEY_A, again, &e), OWP_OK);
    ck_assert_str_eq(again, KEY_A);
    /* without its secret file, the public cert cannot be used as a key pair */
    unlink(spath);
    ck_assert_ptr_null(owmc_cert_load(path, 1, &e));
    ck_assert_int_eq(e.code, OWP_ERR_SYS);
    /* garbage and missing files */
    FILE *fp = fopen(spath, "w");
    fputs("curve\n    public-key = \"short\"\n", fp);
    fclose(fp);
    ck_assert_ptr_null(owmc_cert_load(spath, 1, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "curve/public-key"));
    ck_assert_ptr_null(owmc_cert_load("/nonexistent/x", 0, &e));
    ck_assert_int_ne(owmc_cert_public_key("not-a-key", again, &e), OWP_OK);
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
    tcase_add_test(tc, test_health_from_status_verdict);
    tcase_add_test(tc, test_registry_health_fake_clock);
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
