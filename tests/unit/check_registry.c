/* check_registry.c - the coordinator's node registry (coordinator/registry.c),
 * without sockets: the push/ack/retry cycle, reloads that re-push only changed
 * nodes, health verdicts under a fake clock, PeerHealth, and StatusReply and
 * Directory building. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_testutil.h"
#include "health.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "plan.h"
#include "registry.h"
#include "testutil.h"

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

/* Issue 12: the collectors that may pull a node changed, its streams did
 * not: a new generation pushed at once, the streams' clock kept. */
START_TEST(test_registry_reschedule_keeps_stream_clock)
{
    owm_mesh *m = parse_ok(BASE);
    owmc_plan *p = plan_ok(m);
    owp_err e = {0};
    owmc_registry *reg = owmc_reg_new(p, 100, 30, &e);
    owmc_peer *a = owmc_reg_find(reg, "a");
    zframe_t *r = route("conn-a");
    owmc_reg_heard(a, r, 10, T0, &e);
    owm_msg_hello h = hello("a", 0);
    owmc_reg_on_hello(a, &h, 10);
    owmc_reg_pushed(a, 10);
    owm_msg_schedule_ack ack = {0};
    ack.generation = 100;
    ack.accepted = 1;
    ck_assert_int_eq(owmc_reg_on_ack(a, &ack, 11), 1);
    ck_assert_double_eq(a->acked_at, 11);
    ck_assert_int_eq(owmc_reg_push_due(a, 50), 0);
    owmc_reg_reschedule(a, 99); /* not newer: nothing */
    ck_assert_uint_eq(a->expected_gen, 100);
    owmc_reg_reschedule(a, 101);
    ck_assert_uint_eq(a->expected_gen, 101);
    ck_assert_int_eq(owmc_reg_push_due(a, 50), 1);
    owmc_reg_pushed(a, 50);
    ack.generation = 101;
    ck_assert_int_eq(owmc_reg_on_ack(a, &ack, 51), 1);
    ck_assert_uint_eq(a->acked_gen, 101);
    ck_assert_double_eq(a->acked_at, 11); /* the node kept its streams running */
    ck_assert_int_eq(owmc_reg_push_due(a, 60), 0);
    zframe_destroy(&r);
    owmc_reg_destroy(&reg);
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

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_push_retry_ack);
    tcase_add_test(tc, test_registry_restarted_node_gets_schedule);
    tcase_add_test(tc, test_registry_reschedule_keeps_stream_clock);
    tcase_add_test(tc, test_registry_reload_only_changed);
    tcase_add_test(tc, test_registry_replies);
    suite_add_tcase(s, tc);
    tc = tcase_create("health");
    tcase_add_test(tc, test_registry_health_fake_clock);
    tcase_add_checked_fixture(tc, setup_base, teardown_fixture);
    tcase_add_test(tc, test_registry_restart_clock);
    tcase_add_test(tc, test_registry_future_timestamps);
    tcase_add_test(tc, test_registry_unmeasured);
    tcase_add_test(tc, test_registry_peer_health);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(registry_suite());
}
