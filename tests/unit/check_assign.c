/*
 * check_assign.c - collectors sharing an archive divide the nodes
 * (coordinator/assign.h, issue 12): the rendezvous weights (pinned), stable
 * owners (a collector joining takes only its share, a death moves only the
 * dead one's nodes), liveness on a fake clock (dead after exactly two
 * periods), grants that never give a node to two collectors at once, the
 * settling of a restarted coordinator, and the node lists.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "assign.h"
#include "coord_testutil.h"
#include "meshmsg.h"

#define N_NODES 100
#define N_COLLS 4 /* c1..c4 */

/* A mesh of N_NODES nodes n0.. and collectors c1..c4 (fresh keys) plus an analyst. */
static owm_mesh *big_mesh(void)
{
    static char text[32768];
    size_t used = (size_t)snprintf(text, sizeof text, "{\"nodes\": {");
    for (int i = 0; i < N_NODES; i++)
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "%s\"n%d\": {\"address\": \"10.0.%d.%d\"}", i ? ", " : "", i,
                                 i / 200, i % 200 + 1);
    used += (size_t)snprintf(text + used, sizeof text - used, "}, \"collectors\": {");
    for (int i = 1; i <= N_COLLS; i++) {
        zcert_t *cert = zcert_new();
        used += (size_t)snprintf(text + used, sizeof text - used, "%s\"c%d\": {\"public-key\": "
                                 "\"%s\"}", i > 1 ? ", " : "", i, zcert_public_txt(cert));
        zcert_destroy(&cert);
    }
    snprintf(text + used, sizeof text - used,
             "}, \"analysts\": {\"an\": {\"public-key\": \"" KEY_A "\"}},"
             " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"n0\", \"n1\"]}},"
             " \"tests\": {\"t\": {\"type\": \"latencybg\"}},"
             " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}");
    return parse_ok(text);
}

/* A collector's request: archive, heartbeat and the nodes it pulls (flags, may be NULL). */
static void hear(owmc_assign *a, const owm_mesh *m, const char *name, const char *archive,
                 double heartbeat, const unsigned char *pulling, double now)
{
    owp_err e = {0};
    owm_msg *env = owm_msg_new(OWM_MSG_DIRECTORY_REQUEST, &e);
    ck_assert_ptr_nonnull(env);
    owm_msg_directory_request *q = env->directory_request;
    ck_assert_int_eq(owm_msg_set_string(&q->archive, archive, &e), OWP_OK);
    q->heartbeat = heartbeat;
    for (size_t k = 0; pulling && k < owm_mesh_node_count(m); k++)
        if (pulling[k])
            ck_assert_int_eq(owm_msg_directory_request_add_pulling(
                                 q, owm_mesh_node(m, k)->name, &e), OWP_OK);
    ck_assert_int_eq(owm_msg_validate(env, &e), OWP_OK);
    owmc_assign_heard(a, name, q, now);
    owm_msg_free(&env);
}

/* heard + update + grant, as the coordinator answers a request. */
static int ask(owmc_assign *a, const owm_mesh *m, const char *name, const unsigned char *pulling,
               double now, unsigned char *granted, double *next)
{
    hear(a, m, name, "clickhouse://db:8123/owmesh", 5, pulling, now);
    owmc_assign_update(a, now, NULL, NULL, NULL);
    return owmc_assign_grant(a, name, now, granted, next);
}

static size_t count(const unsigned char *flags)
{
    size_t n = 0;
    for (size_t k = 0; k < N_NODES; k++)
        n += flags[k] != 0;
    return n;
}

/* Owner name of every node in the shared archive. */
static void owners(const owmc_assign *a, const char **out)
{
    for (size_t k = 0; k < N_NODES; k++)
        out[k] = owmc_assign_owner(a, k, "clickhouse://db:8123/owmesh");
}

START_TEST(test_weights_pinned)
{
    /* The same on every machine and run: tests/e2e/mesh_shared_collectors.sh
     * relies on ca owning n1 and n2, cb n3 and n4. */
    ck_assert_uint_eq(owmc_assign_weight("n1", "ca"), 0xfcbd9bb3293a595cULL);
    ck_assert_uint_eq(owmc_assign_weight("n3", "cb"), 0xff7cf53dfdb1a3a0ULL);
    ck_assert_uint_eq(owmc_assign_weight("", ""), 0x7bc210046bd616ccULL);
    ck_assert(owmc_assign_weight("n1", "ca") > owmc_assign_weight("n1", "cb"));
    ck_assert(owmc_assign_weight("n3", "cb") > owmc_assign_weight("n3", "ca"));
    /* the separator: moving a byte between the names changes the weight */
    ck_assert(owmc_assign_weight("ab", "c") != owmc_assign_weight("a", "bc"));
}
END_TEST

START_TEST(test_join_and_death_move_only_their_share)
{
    owm_mesh *m = big_mesh();
    owp_err e = {0};
    owmc_assign *a = owmc_assign_new(m, 0, &e);
    ck_assert_ptr_nonnull(a);
    for (int i = 1; i <= 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", i);
        hear(a, m, name, "clickhouse://db:8123/owmesh", 5, NULL, 1);
    }
    owmc_assign_update(a, 1, NULL, NULL, NULL);
    const char *before[N_NODES], *after[N_NODES];
    owners(a, before);
    size_t per[4] = {0};
    for (size_t k = 0; k < N_NODES; k++) {
        ck_assert_ptr_nonnull(before[k]);
        per[before[k][1] - '1']++;
    }
    for (int i = 0; i < 3; i++) /* about a third each */
        ck_assert_msg(per[i] >= 20 && per[i] <= 47, "c%d owns %zu of %d", i + 1, per[i], N_NODES);
    /* c4 joins: nodes move only to c4, about a quarter of them */
    hear(a, m, "c4", "clickhouse://db:8123/owmesh", 5, NULL, 2);
    owmc_assign_update(a, 2, NULL, NULL, NULL);
    owners(a, after);
    size_t moved = 0;
    for (size_t k = 0; k < N_NODES; k++) {
        if (strcmp(before[k], after[k]) == 0)
            continue;
        ck_assert_str_eq(after[k], "c4");
        moved++;
    }
    ck_assert_msg(moved >= 12 && moved <= 40, "%zu nodes moved to c4", moved);
    /* c2 dies (not heard since t=1, period 5: dead at t=11); the others
     * keep asking: only c2's nodes move */
    for (int i = 1; i <= 4; i++)
        if (i != 2) {
            char name[8];
            snprintf(name, sizeof name, "c%d", i);
            hear(a, m, name, "clickhouse://db:8123/owmesh", 5, NULL, 9);
        }
    owmc_assign_update(a, 11, NULL, NULL, NULL);
    owners(a, before);
    for (size_t k = 0; k < N_NODES; k++) {
        ck_assert_ptr_nonnull(before[k]);
        ck_assert_str_ne(before[k], "c2");
        if (strcmp(after[k], "c2") != 0)
            ck_assert_str_eq(before[k], after[k]);
    }
    owmc_assign_destroy(&a);
    owm_mesh_destroy(&m);
}
END_TEST

/* Logs of (re)assignments, for the liveness test. */
static char last_log[256];
static int n_logs;
static void record_log(void *arg, const char *node, const char *archive, const char *owner,
                       const char *was, const char *why)
{
    (void)arg, (void)archive;
    n_logs++;
    snprintf(last_log, sizeof last_log, "%s: %s (was %s: %s)", node, owner ? owner : "none",
             was ? was : "none", why);
}

START_TEST(test_dead_after_exactly_two_periods)
{
    owm_mesh *m = big_mesh();
    owp_err e = {0};
    owmc_assign *a = owmc_assign_new(m, 0, &e);
    hear(a, m, "c1", "ch", 5, NULL, 100);
    hear(a, m, "c2", "ch", 2.5, NULL, 100);
    ck_assert(owmc_assign_live(a, "c1", 109.999));
    ck_assert(!owmc_assign_live(a, "c1", 110.0));
    ck_assert(owmc_assign_live(a, "c2", 104.999));
    ck_assert(!owmc_assign_live(a, "c2", 105.0));
    ck_assert(!owmc_assign_live(a, "c3", 100)); /* never heard */
    ck_assert(!owmc_assign_live(a, "an", 100)); /* an analyst */
    owmc_assign_update(a, 100, NULL, NULL, NULL);
    n_logs = 0;
    owmc_assign_update(a, 104.999, record_log, NULL, NULL);
    ck_assert_int_eq(n_logs, 0);
    owmc_assign_update(a, 105.0, record_log, NULL, NULL); /* c2 dies: its nodes go to c1 */
    ck_assert_int_gt(n_logs, 0);
    ck_assert_msg(strstr(last_log, ": c1 (was c2: not heard from for 5.0 s)"), "%s", last_log);
    for (size_t k = 0; k < N_NODES; k++)
        ck_assert_str_eq(owmc_assign_owner(a, k, "ch"), "c1");
    n_logs = 0;
    owmc_assign_update(a, 110.0, record_log, NULL, NULL); /* c1 too: nobody */
    ck_assert_int_eq(n_logs, N_NODES);
    ck_assert_msg(strstr(last_log, ": none (was c1: not heard from for 10.0 s)"), "%s", last_log);
    ck_assert_ptr_null(owmc_assign_owner(a, 0, "ch"));
    owmc_assign_destroy(&a);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(test_handoff_never_two_at_once)
{
    owm_mesh *m = big_mesh();
    owp_err e = {0};
    owmc_assign *a = owmc_assign_new(m, 0, &e);
    /* every collector but c1 and c2 is heard as one of its own archive */
    hear(a, m, "c3", "", 30, NULL, 0);
    hear(a, m, "c4", "", 30, NULL, 0);
    unsigned char g1[N_NODES], g2[N_NODES], p1[N_NODES];
    double next;
    /* c1 alone (c2 not heard yet: not settled before t = 10) keeps nothing
     * it does not pull */
    ck_assert_int_eq(ask(a, m, "c1", NULL, 1, g1, &next), 1);
    ck_assert_uint_eq(count(g1), 0);
    ck_assert(next > 0 && next <= 5);
    /* settled by time: c1 gets every node */
    ck_assert_int_eq(ask(a, m, "c1", NULL, 10, g1, &next), 1);
    ck_assert_uint_eq(count(g1), N_NODES);
    ck_assert_double_eq(next, 5);
    memcpy(p1, g1, sizeof p1); /* it pulls them all */
    /* c2 joins: what it wins is still held by c1, so it gets nothing yet,
     * and is told to come back when c1 is due (t=15) */
    ck_assert_int_eq(ask(a, m, "c2", NULL, 12, g2, &next), 1);
    ck_assert_uint_eq(count(g2), 0);
    ck_assert_double_eq_tol(next, 3 + OWMC_ASSIGN_MARGIN, 1e-9);
    /* meanwhile the nodes moving to c2 list both collectors */
    size_t c1_at = 0, c2_at = 0;
    for (size_t i = 0; i < owm_mesh_client_count(m); i++) {
        if (!strcmp(owm_mesh_client(m, i)->name, "c1"))
            c1_at = i;
        if (!strcmp(owm_mesh_client(m, i)->name, "c2"))
            c2_at = i;
    }
    size_t both = 0;
    for (size_t k = 0; k < N_NODES; k++) {
        const unsigned char *l = owmc_assign_node_collectors(a, k);
        ck_assert(l[c1_at]);
        both += l[c2_at] != 0;
    }
    ck_assert_uint_gt(both, 0);
    /* c1 asks at t=15 still pulling all: it keeps only its share */
    ck_assert_int_eq(ask(a, m, "c1", p1, 15, g1, &next), 1);
    size_t mine = count(g1);
    ck_assert(mine > 20 && mine < 80);
    /* c2 before c1 let go (c1 reported pulling all): still nothing */
    ck_assert_int_eq(ask(a, m, "c2", NULL, 15.5, g2, &next), 1);
    ck_assert_uint_eq(count(g2), 0);
    /* c1 has stopped the others: c2 gets them, disjoint from c1's */
    ck_assert_int_eq(ask(a, m, "c1", g1, 16, g1, &next), 1);
    ck_assert_int_eq(ask(a, m, "c2", NULL, 16.5, g2, &next), 1);
    ck_assert_uint_eq(count(g1) + count(g2), N_NODES);
    for (size_t k = 0; k < N_NODES; k++) {
        ck_assert(!(g1[k] && g2[k]));
        const unsigned char *l = owmc_assign_node_collectors(a, k);
        ck_assert(l[g1[k] ? c1_at : c2_at] && !l[g1[k] ? c2_at : c1_at]);
    }
    /* c1 dies (last heard 16: dead at 26): c2 is told to come back right
     * after, and then gets everything */
    ck_assert_int_eq(ask(a, m, "c2", g2, 24, g2, &next), 1);
    ck_assert_double_eq_tol(next, 2 + OWMC_ASSIGN_MARGIN, 1e-9);
    ck_assert_int_eq(ask(a, m, "c2", g2, 26 + OWMC_ASSIGN_MARGIN, g2, &next), 1);
    ck_assert_uint_eq(count(g2), N_NODES);
    owmc_assign_destroy(&a);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(test_unshared_and_old_collectors_pull_everything)
{
    owm_mesh *m = big_mesh();
    owp_err e = {0};
    owmc_assign *a = owmc_assign_new(m, 0, &e);
    unsigned char g[N_NODES];
    double next = -1;
    /* an old collector: a DirectoryRequest without the fields */
    owm_msg *env = owm_msg_new(OWM_MSG_DIRECTORY_REQUEST, &e);
    owmc_assign_heard(a, "c1", env->directory_request, 1);
    owm_msg_free(&env);
    ck_assert_uint_eq(owmc_assign_update(a, 1, NULL, NULL, NULL), 0);
    ck_assert_int_eq(owmc_assign_grant(a, "c1", 1, g, &next), 0);
    ck_assert_double_eq(next, 0);
    ck_assert_int_eq(owmc_assign_grant(a, "an", 1, g, &next), 0); /* analysts: undivided */
    ck_assert_int_eq(owmc_assign_grant(a, "nobody", 1, g, &next), 0);
    /* c2 shares an archive alone: it owns every node, no list changes */
    hear(a, m, "c2", "ch", 5, NULL, 1);
    unsigned char changed[N_NODES];
    ck_assert_uint_eq(owmc_assign_update(a, 1, NULL, NULL, changed), 0);
    /* c3 joins it: each node lists one of them; c1 (its own archive) and
     * c4 (not heard) stay on every list, the analyst on none */
    hear(a, m, "c3", "ch", 5, NULL, 1);
    /* every list changed: c3 (listed everywhere while not heard) leaves c2's
     * nodes' lists, c2 leaves c3's */
    ck_assert_uint_eq(owmc_assign_update(a, 1, NULL, NULL, changed), N_NODES);
    for (size_t k = 0; k < N_NODES; k++) {
        const unsigned char *l = owmc_assign_node_collectors(a, k);
        int sharers = 0;
        for (size_t i = 0; i < owm_mesh_client_count(m); i++) {
            const owm_client *c = owm_mesh_client(m, i);
            if (c->role != OWM_ROLE_COLLECTOR)
                ck_assert(!l[i]);
            else if (!strcmp(c->name, "c2") || !strcmp(c->name, "c3"))
                sharers += l[i] != 0;
            else
                ck_assert(l[i]);
        }
        ck_assert_int_eq(sharers, 1);
        ck_assert_int_eq(changed[k], 1);
    }
    owmc_assign_destroy(&a);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(test_reload_keeps_what_is_known)
{
    owm_mesh *m = big_mesh();
    owp_err e = {0};
    owmc_assign *a = owmc_assign_new(m, 0, &e);
    hear(a, m, "c1", "ch", 5, NULL, 1);
    owmc_assign_update(a, 1, NULL, NULL, NULL);
    ck_assert_str_eq(owmc_assign_owner(a, 5, "ch"), "c1");
    /* the same names in another mesh (new keys): c1 stays live and the owner */
    owm_mesh *m2 = big_mesh();
    ck_assert_int_eq(owmc_assign_set_mesh(a, m2, &e), OWP_OK);
    owm_mesh_destroy(&m);
    ck_assert(owmc_assign_live(a, "c1", 2));
    ck_assert_str_eq(owmc_assign_owner(a, 5, "ch"), "c1");
    ck_assert_uint_eq(owmc_assign_update(a, 2, NULL, NULL, NULL), 0);
    owmc_assign_destroy(&a);
    owm_mesh_destroy(&m2);
}
END_TEST

static Suite *assign_suite(void)
{
    Suite *s = suite_create("assign");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_weights_pinned);
    tcase_add_test(tc, test_join_and_death_move_only_their_share);
    tcase_add_test(tc, test_dead_after_exactly_two_periods);
    tcase_add_test(tc, test_handoff_never_two_at_once);
    tcase_add_test(tc, test_unshared_and_old_collectors_pull_everything);
    tcase_add_test(tc, test_reload_keeps_what_is_known);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(assign_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
