/* check_agent_link.c - the node agent's link to the coordinator
 * (node/agent/agent_link.c): the PeerHealth set it keeps. */
#include <check.h>
#include <stdio.h>

#include "agent_link.h"
#include "agent_testutil.h"
#include "meshmsg.h"
#include "testutil.h"

START_TEST(link_keeps_peer_health)
{
    owp_err e;
    zcert_t *cert = zcert_new();
    zcert_t *coord = zcert_new();
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ABSENT_PORT);
    agent_link_config lc = {.endpoint = endpoint, .cert = cert,
                            .server_key = zcert_public_txt(coord)};
    agent_link *link = agent_link_new(&lc, &e);
    ck_assert_msg(link != NULL, "%s", e.msg);
    const char *const *names;
    ck_assert_uint_eq(agent_link_peers_down(link, &names), 0);

    owm_msg *env = owm_msg_new(OWM_MSG_PEER_HEALTH, &e);
    ck_assert_ptr_nonnull(env);
    ck_assert(owm_msg_peer_health_add_down(env->peer_health, "lax", &e) == OWP_OK);
    ck_assert(owm_msg_peer_health_add_down(env->peer_health, "nyc", &e) == OWP_OK);
    int changed = 0;
    ck_assert(agent_link_set_peer_health(link, env->peer_health, &changed, &e) == OWP_OK);
    ck_assert_int_eq(changed, 1);
    ck_assert_uint_eq(agent_link_peers_down(link, &names), 2);
    ck_assert_str_eq(names[0], "lax");
    ck_assert_str_eq(names[1], "nyc");
    ck_assert(agent_link_set_peer_health(link, env->peer_health, &changed, &e) == OWP_OK);
    ck_assert_int_eq(changed, 0); /* the same set again */
    owm_msg_free(&env);

    env = owm_msg_new(OWM_MSG_PEER_HEALTH, &e); /* every node up */
    ck_assert(agent_link_set_peer_health(link, env->peer_health, &changed, &e) == OWP_OK);
    ck_assert_int_eq(changed, 1);
    ck_assert_uint_eq(agent_link_peers_down(link, &names), 0);
    owm_msg_free(&env);
    agent_link_destroy(&link);
    ck_assert_ptr_null(link);
    zcert_destroy(&cert);
    zcert_destroy(&coord);
}
END_TEST

static Suite *agent_link_suite(void)
{
    Suite *s = suite_create("agent_link");
    TCase *tc = tcase_create("unmeasured");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, link_keeps_peer_health);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(agent_link_suite());
}
