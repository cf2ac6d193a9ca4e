/* check_agent_reconcile.c - the node agent's reconciler
 * (node/agent/agent_reconcile.c): which streams a new schedule keeps, stops
 * and starts. */
#include <check.h>
#include <stddef.h>

#include "agent_reconcile.h"
#include "agent_testutil.h"
#include "meshmsg.h"
#include "testutil.h"

static const owm_msg_stream *const *streams_of(const owm_msg *env)
{
    return (const owm_msg_stream *const *)env->schedule->streams;
}

/* ------------------------------------------------------------ plan */

static int contains(const size_t *v, size_t n, size_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

START_TEST(plan_from_nothing_starts_all)
{
    const char *src[] = {"nyc", "sea", "lax"};
    owm_msg *want = make_schedule(1, src, 3);
    agent_changes p;
    owp_err e;
    ck_assert(agent_reconcile(NULL, 0, streams_of(want), 3, &p, &e) == OWP_OK);
    ck_assert_uint_eq(p.nstart, 3);
    ck_assert_uint_eq(p.nkeep, 0);
    ck_assert_uint_eq(p.nstop, 0);
    for (size_t j = 0; j < 3; j++)
        ck_assert(contains(p.start, p.nstart, j));
    agent_changes_clear(&p);
    ck_assert_ptr_null(p.start);
    owm_msg_free(&want);
}
END_TEST

START_TEST(plan_same_schedule_keeps_all)
{
    const char *src[] = {"nyc", "sea", "lax"};
    owm_msg *run = make_schedule(1, src, 3);
    /* The same streams in another order, in a newer generation. */
    const char *src2[] = {"lax", "nyc", "sea"};
    owm_msg *want = make_schedule(2, src2, 3);
    /* peers differ by position: make them equal to the running ones */
    for (size_t j = 0; j < 3; j++)
        for (size_t i = 0; i < 3; i++)
            if (strcmp(want->schedule->streams[j]->id, run->schedule->streams[i]->id) == 0)
                set(&want->schedule->streams[j]->peer, run->schedule->streams[i]->peer);
    agent_changes p;
    owp_err e;
    ck_assert(agent_reconcile(streams_of(run), 3, streams_of(want), 3, &p, &e) == OWP_OK);
    ck_assert_uint_eq(p.nkeep, 3);
    ck_assert_uint_eq(p.nstart, 0);
    ck_assert_uint_eq(p.nstop, 0);
    ck_assert_uint_eq(p.nchanged, 0);
    for (size_t k = 0; k < p.nkeep; k++)
        ck_assert_str_eq(run->schedule->streams[p.keep[k]]->id,
                         want->schedule->streams[p.keep_wanted[k]]->id);
    agent_changes_clear(&p);
    owm_msg_free(&run);
    owm_msg_free(&want);
}
END_TEST

START_TEST(plan_removed_changed_new)
{
    const char *src[] = {"nyc", "sea", "lax"};
    owm_msg *run = make_schedule(1, src, 3);
    const char *src2[] = {"nyc", "sea", "bos"};
    owm_msg *want = make_schedule(2, src2, 3);
    /* sea: interval changed; lax: removed; bos: new; nyc: unchanged. */
    want->schedule->streams[1]->params->interval = 0.05;
    agent_changes p;
    owp_err e;
    ck_assert(agent_reconcile(streams_of(run), 3, streams_of(want), 3, &p, &e) == OWP_OK);
    ck_assert_uint_eq(p.nkeep, 1);
    ck_assert_uint_eq(p.keep[0], 0);
    ck_assert_uint_eq(p.keep_wanted[0], 0);
    ck_assert_uint_eq(p.nstop, 2);
    ck_assert(contains(p.stop, p.nstop, 1)); /* changed */
    ck_assert(contains(p.stop, p.nstop, 2)); /* removed */
    ck_assert_uint_eq(p.nstart, 2);
    ck_assert(contains(p.start, p.nstart, 1)); /* the new version of sea */
    ck_assert(contains(p.start, p.nstart, 2)); /* bos */
    ck_assert_uint_eq(p.nchanged, 1);
    agent_changes_clear(&p);
    owm_msg_free(&run);
    owm_msg_free(&want);
}
END_TEST

START_TEST(plan_every_parameter_counts)
{
    const char *src[] = {"nyc"};
    for (int field = 0; field < 11; field++) {
        owm_msg *run = make_schedule(1, src, 1);
        owm_msg *want = make_schedule(2, src, 1);
        owm_msg_stream *w = want->schedule->streams[0];
        switch (field) {
        case 0: w->params->interval = 0.03; break;
        case 1: w->params->count = 60; break;
        case 2: w->params->padding = 8; break;
        case 3: w->params->loss_timeout = 2; break;
        case 4: w->params->bucket_width = 0.001; break;
        case 5: w->params->sub_session_count = 10; break;
        case 6: w->params->dscp = 46; break;
        case 7: w->params->modes = 2; break;
        case 8: set(&w->params->identity, "meshkey"); break;
        case 9: set(&w->peer, "127.0.0.9:8610"); break;
        default: set(&w->source, "bos"); break;
        }
        agent_changes p;
        owp_err e;
        ck_assert(agent_reconcile(streams_of(run), 1, streams_of(want), 1, &p, &e) == OWP_OK);
        ck_assert_msg(p.nstop == 1 && p.nstart == 1 && p.nkeep == 0 && p.nchanged == 1,
                      "field %d: a change must restart the stream", field);
        agent_changes_clear(&p);
        owm_msg_free(&run);
        owm_msg_free(&want);
    }
}
END_TEST

START_TEST(plan_empty_schedule_stops_all_and_repeats_ignored)
{
    const char *src[] = {"nyc", "sea"};
    owm_msg *run = make_schedule(1, src, 2);
    agent_changes p;
    owp_err e;
    ck_assert(agent_reconcile(streams_of(run), 2, NULL, 0, &p, &e) == OWP_OK);
    ck_assert_uint_eq(p.nstop, 2);
    ck_assert_uint_eq(p.nstart + p.nkeep + p.nchanged, 0);
    agent_changes_clear(&p);
    /* A repeated id in the wanted list (never valid on the wire) starts once. */
    const char *dup[] = {"bos", "bos"};
    owm_msg *want = make_schedule(2, dup, 2);
    ck_assert(agent_reconcile(streams_of(run), 2, streams_of(want), 2, &p, &e) == OWP_OK);
    ck_assert_uint_eq(p.nstart, 1);
    ck_assert_uint_eq(p.start[0], 0);
    ck_assert_uint_eq(p.nstop, 2);
    agent_changes_clear(&p);
    agent_changes_clear(NULL);
    owm_msg_free(&run);
    owm_msg_free(&want);
}
END_TEST

static Suite *agent_reconcile_suite(void)
{
    Suite *s = suite_create("agent_reconcile");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, plan_from_nothing_starts_all);
    tcase_add_test(tc, plan_same_schedule_keeps_all);
    tcase_add_test(tc, plan_removed_changed_new);
    tcase_add_test(tc, plan_every_parameter_counts);
    tcase_add_test(tc, plan_empty_schedule_stops_all_and_repeats_ignored);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(agent_reconcile_suite());
}
