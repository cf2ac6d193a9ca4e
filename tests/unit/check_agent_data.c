/* check_agent_data.c - who may pull a node's data (node/agent/agent_data.c,
 * issue 11): over real CURVE connections, a collector the schedule lists and
 * an -A key are served; an unlisted key (an analyst's, a node's) never gets
 * an answer; a collector dropped from a later schedule is refused on its next
 * request; a schedule's collectors are copied with a bound; and the endpoint
 * moves (rebind) or, when the new one cannot be bound, stays. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "agent_data.h"
#include "agent_spool.h"
#include "agent_testutil.h"
#include "clock.h"
#include "testutil.h"

/* A CURVE data endpoint on an ipc socket in a temporary directory. */
typedef struct rig {
    char *dir;
    char endpoint[600];
    zcert_t *node_cert;
    agent_spool *spool;
    agent_data *data;
} rig;

static void rig_up(rig *r, const char *a_key)
{
    memset(r, 0, sizeof *r);
    r->dir = tu_tempdir();
    snprintf(r->endpoint, sizeof r->endpoint, "ipc://%s/data", r->dir);
    char *spool_dir = path_in(r->dir, "spool");
    owp_err err = {0};
    r->spool = agent_spool_open(spool_dir, &err);
    ck_assert_msg(r->spool != NULL, "%s", err.msg);
    free(spool_dir);
    r->node_cert = zcert_new();
    agent_data_config dc = {.node = "n1", .endpoint = r->endpoint, .cert = r->node_cert,
                            .spool = r->spool};
    if (a_key)
        dc.keys[dc.n_keys++] = a_key;
    r->data = agent_data_new(&dc, &err);
    ck_assert_msg(r->data != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(agent_data_zap(r->data));
    ck_assert_ptr_nonnull(agent_data_monitor(r->data));
}

static void rig_down(rig *r)
{
    agent_data_destroy(&r->data);
    agent_spool_destroy(&r->spool);
    zcert_destroy(&r->node_cert);
    rm_tree(r->dir);
}

static zsock_t *client(const rig *r, zcert_t *cert)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    ck_assert_ptr_nonnull(s);
    zsock_set_linger(s, 0);
    /* A refused key leaves the DEALER without a peer: a send would block. */
    zsock_set_sndtimeo(s, 0);
    zcert_apply(cert, s);
    zsock_set_curve_serverkey(s, zcert_public_txt(r->node_cert));
    ck_assert_int_eq(zsock_connect(s, "%s", r->endpoint), 0);
    return s;
}

/* Send a FileListRequest from s and serve the node until s has an answer or
 * wait_ms pass: the answer's kind, or OWM_MSG_NONE for none. */
static owm_msg_kind ask(rig *r, zsock_t *s, int wait_ms, owm_error_code *code)
{
    owp_err err = {0};
    owm_msg *req = owm_msg_new(OWM_MSG_FILE_LIST_REQUEST, &err);
    ck_assert_ptr_nonnull(req);
    req->file_list_request->max_files = 10;
    zmsg_t *m = owm_msg_encode_zmsg(req, &err);
    owm_msg_free(&req);
    if (zmsg_send(&m, s) != 0) { /* no peer (yet, or refused): nothing sent */
        zmsg_destroy(&m);
        return OWM_MSG_NONE;
    }
    zpoller_t *poller = zpoller_new(agent_data_socket(r->data), agent_data_zap(r->data),
                                    agent_data_monitor(r->data), s, NULL);
    owm_msg_kind got = OWM_MSG_NONE;
    int64_t deadline = zclock_mono() + wait_ms;
    while (got == OWM_MSG_NONE && zclock_mono() < deadline) {
        void *which = zpoller_wait(poller, 20);
        if (which == agent_data_socket(r->data))
            agent_data_handle(r->data);
        else if (which == agent_data_zap(r->data))
            agent_data_handle_zap(r->data);
        else if (which == agent_data_monitor(r->data))
            agent_data_handle_monitor(r->data);
        else if (which == s) {
            zmsg_t *reply = zmsg_recv(s);
            owm_msg *env = NULL;
            ck_assert_int_eq(owm_msg_decode_zmsg(reply, &env, NULL, &err), OWP_OK);
            got = env->kind;
            if (code && env->kind == OWM_MSG_ERROR)
                *code = env->error->code;
            owm_msg_free(&env);
            zmsg_destroy(&reply);
        }
    }
    zpoller_destroy(&poller);
    return got;
}

static agent_data_collector listed(const char *name, zcert_t *cert)
{
    agent_data_collector c;
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.key, sizeof c.key, "%s", zcert_public_txt(cert));
    return c;
}

START_TEST(listed_collector_and_a_key_served_others_not)
{
    zcert_t *coll = zcert_new(), *extra = zcert_new(), *analyst = zcert_new();
    rig r;
    rig_up(&r, zcert_public_txt(extra));
    agent_data_collector c = listed("coll1", coll);
    agent_data_set_collectors(r.data, &c, 1);
    ck_assert(agent_data_admits(r.data, zcert_public_txt(coll)));
    ck_assert(agent_data_admits(r.data, zcert_public_txt(extra)));
    ck_assert(!agent_data_admits(r.data, zcert_public_txt(analyst)));
    ck_assert(!agent_data_admits(r.data, NULL));
    zsock_t *s_coll = client(&r, coll), *s_extra = client(&r, extra), *s_other = client(&r, analyst);
    ck_assert_int_eq(ask(&r, s_coll, 3000, NULL), OWM_MSG_FILE_LIST);
    ck_assert_int_eq(ask(&r, s_extra, 3000, NULL), OWM_MSG_FILE_LIST);
    ck_assert_int_eq(ask(&r, s_other, 500, NULL), OWM_MSG_NONE); /* ZAP refused it */
    zsock_destroy(&s_coll);
    zsock_destroy(&s_extra);
    zsock_destroy(&s_other);
    rig_down(&r);
    zcert_destroy(&coll);
    zcert_destroy(&extra);
    zcert_destroy(&analyst);
}
END_TEST

START_TEST(collector_dropped_by_a_new_schedule_refused)
{
    zcert_t *coll = zcert_new();
    rig r;
    rig_up(&r, NULL);
    agent_data_collector c = listed("coll1", coll);
    agent_data_set_collectors(r.data, &c, 1);
    zsock_t *s = client(&r, coll);
    ck_assert_int_eq(ask(&r, s, 3000, NULL), OWM_MSG_FILE_LIST);
    agent_data_set_collectors(r.data, NULL, 0); /* the mesh no longer lists it */
    owm_error_code code = OWM_ERROR_UNSPECIFIED;
    ck_assert_int_eq(ask(&r, s, 3000, &code), OWM_MSG_ERROR);
    ck_assert_int_eq(code, OWM_ERROR_REFUSED);
    zsock_destroy(&s);
    rig_down(&r);
    zcert_destroy(&coll);
}
END_TEST

START_TEST(collectors_copied_from_a_schedule)
{
    owp_err e;
    owm_msg *env = owm_msg_new(OWM_MSG_SCHEDULE, &e);
    ck_assert_int_eq(owm_msg_schedule_add_collector(env->schedule, "c1",
                                                    "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", &e),
                     OWP_OK);
    ck_assert_int_eq(owm_msg_schedule_add_collector(env->schedule, "c2",
                                                    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", &e),
                     OWP_OK);
    agent_data_collector out[2];
    size_t n = 9;
    ck_assert_int_eq(agent_data_collectors_from(env->schedule, out, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[1].name, "c2");
    ck_assert_str_eq(out[1].key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    ck_assert_int_eq(agent_data_collectors_from(env->schedule, out, 1, &n), 1); /* cut */
    ck_assert_uint_eq(n, 1);
    owm_msg_free(&env);
}
END_TEST

/* The mesh moves the data endpoint (issue 11): the same endpoint serves on
 * the new address, no longer on the old one. */
START_TEST(rebind_moves_the_endpoint)
{
    zcert_t *coll = zcert_new();
    rig r;
    rig_up(&r, zcert_public_txt(coll));
    char old[600];
    snprintf(old, sizeof old, "%s", r.endpoint);
    ck_assert_str_eq(agent_data_endpoint(r.data), old);
    owp_err err = {0};
    ck_assert_int_eq(agent_data_rebind(r.data, old, &err), OWP_OK); /* the same: nothing */
    snprintf(r.endpoint, sizeof r.endpoint, "ipc://%s/moved", r.dir);
    ck_assert_msg(agent_data_rebind(r.data, r.endpoint, &err) == OWP_OK, "%s", err.msg);
    ck_assert_str_eq(agent_data_endpoint(r.data), r.endpoint);
    zsock_t *s_new = client(&r, coll);
    ck_assert_int_eq(ask(&r, s_new, 3000, NULL), OWM_MSG_FILE_LIST);
    snprintf(r.endpoint, sizeof r.endpoint, "%s", old);
    zsock_t *s_old = client(&r, coll);
    ck_assert_int_eq(ask(&r, s_old, 500, NULL), OWM_MSG_NONE); /* unbound */
    zsock_destroy(&s_new);
    zsock_destroy(&s_old);
    rig_down(&r);
    zcert_destroy(&coll);
}
END_TEST

/* A new endpoint that cannot be bound: said with both endpoints and why,
 * and the old one still serves. */
START_TEST(rebind_failure_keeps_the_old_endpoint)
{
    zcert_t *coll = zcert_new();
    rig r;
    rig_up(&r, zcert_public_txt(coll));
    char bad[700];
    snprintf(bad, sizeof bad, "ipc://%s/no-such-dir/data", r.dir);
    owp_err err = {0};
    ck_assert_int_ne(agent_data_rebind(r.data, bad, &err), OWP_OK);
    ck_assert_msg(strstr(err.msg, bad) && strstr(err.msg, r.endpoint) &&
                      strstr(err.msg, "cannot bind: "),
                  "%s", err.msg);
    ck_assert_str_eq(agent_data_endpoint(r.data), r.endpoint);
    zsock_t *s = client(&r, coll);
    ck_assert_int_eq(ask(&r, s, 3000, NULL), OWM_MSG_FILE_LIST);
    zsock_destroy(&s);
    rig_down(&r);
    zcert_destroy(&coll);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent_data");
    TCase *tc = tcase_create("admission");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, listed_collector_and_a_key_served_others_not);
    tcase_add_test(tc, collector_dropped_by_a_new_schedule_refused);
    tcase_add_test(tc, collectors_copied_from_a_schedule);
    suite_add_tcase(s, tc);
    tc = tcase_create("rebind");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, rebind_moves_the_endpoint);
    tcase_add_test(tc, rebind_failure_keeps_the_old_endpoint);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
