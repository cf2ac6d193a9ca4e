/* check_access.c - who may say what to the coordinator (coordinator/access.c,
 * issue 11): the role of every key of a mesh with nodes, collectors and
 * analysts, and the verdict for every message kind and role. */
#include <check.h>
#include <string.h>

#include "access.h"
#include "coord_testutil.h"
#include "testutil.h"

#define KEY_COLL "{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?(B"
#define KEY_ANALYST "0000000000000000000000000000000000000000"
#define KEY_OWN "1111111111111111111111111111111111111111"

#define MESH                                                                                \
    "{" NODES3 ", \"collectors\": {\"coll\": {\"public-key\": \"" KEY_COLL "\"}},"           \
    " \"analysts\": {\"alice\": {\"public-key\": \"" KEY_ANALYST "\"}}}"

START_TEST(every_key_has_its_role)
{
    owm_mesh *m = parse_ok(MESH);
    const char *name = "unset";
    ck_assert_int_eq(owmc_access_role(m, KEY_OWN, KEY_A, &name), OWMC_SENDER_NODE);
    ck_assert_str_eq(name, "a");
    ck_assert_int_eq(owmc_access_role(m, KEY_OWN, KEY_COLL, &name), OWMC_SENDER_COLLECTOR);
    ck_assert_str_eq(name, "coll");
    ck_assert_int_eq(owmc_access_role(m, KEY_OWN, KEY_ANALYST, &name), OWMC_SENDER_ANALYST);
    ck_assert_str_eq(name, "alice");
    ck_assert_int_eq(owmc_access_role(m, KEY_OWN, KEY_OWN, &name), OWMC_SENDER_OPERATOR);
    ck_assert_ptr_null(name);
    ck_assert_int_eq(owmc_access_role(m, KEY_OWN, "2222222222222222222222222222222222222222",
                                      &name),
                     OWMC_SENDER_UNKNOWN);
    ck_assert_int_eq(owmc_access_role(m, KEY_OWN, NULL, NULL), OWMC_SENDER_UNKNOWN);
    /* a node holding the coordinator's key is a node (the coordinator warns) */
    ck_assert_int_eq(owmc_access_role(m, KEY_A, KEY_A, NULL), OWMC_SENDER_NODE);
    owm_mesh_destroy(&m);
}
END_TEST

/* The whole table: every kind the coordinator takes, for every role. */
START_TEST(verdict_per_kind_and_role)
{
    static const struct {
        owm_msg_kind kind;
        int node, collector, analyst, operator;
    } rules[] = {
        {OWM_MSG_HELLO, 1, 0, 0, 0},
        {OWM_MSG_SCHEDULE_ACK, 1, 0, 0, 0},
        {OWM_MSG_STATUS, 1, 0, 0, 0},
        {OWM_MSG_ERROR, 1, 1, 1, 1},
        {OWM_MSG_DIRECTORY_REQUEST, 0, 1, 1, 1},
        {OWM_MSG_STATUS_REQUEST, 0, 1, 1, 1},
        /* what the coordinator never takes: nobody's (answered UNEXPECTED) */
        {OWM_MSG_SCHEDULE, 0, 0, 0, 0},
        {OWM_MSG_DIRECTORY, 0, 0, 0, 0},
        {OWM_MSG_FILE_LIST_REQUEST, 0, 0, 0, 0},
        {OWM_MSG_FILE_FETCH, 0, 0, 0, 0},
        {OWM_MSG_PEER_HEALTH, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        owm_msg_kind k = rules[i].kind;
        const char *n = owm_msg_kind_name(k);
        ck_assert_msg(owmc_access_allows(OWMC_SENDER_NODE, k) == rules[i].node, "node %s", n);
        ck_assert_msg(owmc_access_allows(OWMC_SENDER_COLLECTOR, k) == rules[i].collector,
                      "collector %s", n);
        ck_assert_msg(owmc_access_allows(OWMC_SENDER_ANALYST, k) == rules[i].analyst,
                      "analyst %s", n);
        ck_assert_msg(owmc_access_allows(OWMC_SENDER_OPERATOR, k) == rules[i].operator,
                      "operator %s", n);
        ck_assert_msg(!owmc_access_allows(OWMC_SENDER_UNKNOWN, k), "unknown %s", n);
        int taken = rules[i].node || rules[i].collector;
        ck_assert_msg(owmc_access_known(k) == taken, "known %s", n);
    }
}
END_TEST

START_TEST(refusals_say_the_rule)
{
    ck_assert_ptr_nonnull(strstr(owmc_access_rule(OWMC_SENDER_NODE),
                                 "a node sends only Hello, ScheduleAck, Status and Error"));
    ck_assert_ptr_nonnull(strstr(owmc_access_rule(OWMC_SENDER_ANALYST), "DirectoryRequest"));
    ck_assert_str_eq(owmc_access_role_name(OWMC_SENDER_COLLECTOR), "collector");
    ck_assert_str_eq(owmc_access_role_name(OWMC_SENDER_OPERATOR), "operator");
    ck_assert_str_eq(owmc_access_role_name(OWMC_SENDER_UNKNOWN), "unknown key");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("roles");
    tcase_add_test(tc, every_key_has_its_role);
    tcase_add_test(tc, verdict_per_kind_and_role);
    tcase_add_test(tc, refusals_say_the_rule);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
