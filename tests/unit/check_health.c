/* check_health.c - stream health verdicts (mesh/health.c): the stall bound,
 * classifying what a node reports (ok, stalled, failing, missing, pending,
 * starting, unmeasured, peer down) with its evidence, and reading verdicts
 * back from a StatusReply. The registry's use of them is in check_registry.c. */
#include <check.h>
#include <stdint.h>

#include "coord_testutil.h"
#include "health.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "testutil.h"

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

static Suite *health_suite(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("health");
    tcase_add_test(tc, test_health_bounds);
    tcase_add_test(tc, test_health_classify);
    tcase_add_test(tc, test_health_starting_grace);
    tcase_add_test(tc, test_health_stalled_since_start);
    tcase_add_test(tc, test_health_peer_down);
    tcase_add_test(tc, test_health_from_status_verdict);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(health_suite());
}
