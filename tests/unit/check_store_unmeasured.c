/* check_store_unmeasured.c - unmeasured intervals in the store
 * (collector/store/store_unmeasured.c): ingest and the cursor, batches,
 * overlapping intervals and their sums per reason, retention. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"
#include "store_testutil.h"
#include "store_unmeasured.h"
#include "testutil.h"

/* ---- unmeasured intervals ---- */

#define SEC(x) ((owp_num64)(x) << 32)

static store_ingest_status unm(const char *node, uint64_t seq, uint32_t pid, uint32_t s0,
                             uint32_t s1, const char *reason, const char *detail)
{
    store_ingest_result res = {.status = 99};
    owp_err err = {0};
    owp_status st = store_ingest_unmeasured(store, node, seq, "x.unm", pid, T0 + SEC(s0),
                                                T0 + SEC(s1), reason, detail, &res, &err);
    ck_assert_msg(st == OWP_OK, "ingest_unmeasured: %s", err.msg);
    return res.status;
}

typedef struct unm_seen {
    int n;
    store_unmeasured u[8];
    char reason[8][32], detail[8][64];
} unm_seen;

static int see_unm(const store_unmeasured *u, void *arg)
{
    unm_seen *s = arg;
    if (s->n < 8) {
        s->u[s->n] = *u;
        snprintf(s->reason[s->n], 32, "%s", u->reason);
        snprintf(s->detail[s->n], 64, "%s", u->detail);
    }
    s->n++;
    return 0;
}

static unm_seen list_unm(uint32_t pid, uint32_t from, uint32_t to)
{
    unm_seen s = {0};
    owp_err err = {0};
    ck_assert_int_eq(store_unmeasured_list(store, pid, T0 + SEC(from), T0 + SEC(to), see_unm,
                                               &s, &err),
                     OWP_OK);
    return s;
}

static uint64_t cursor_named(const char *node, char *name, size_t len)
{
    uint64_t cur;
    owp_err err = {0};
    ck_assert_int_eq(store_cursor(store, node, &cur, name, len, &err), OWP_OK);
    return cur;
}

START_TEST(test_unmeasured_ingest_cursor)
{
    uint32_t pid = path("a", "b");
    ck_assert_int_eq(unm("n", 3, pid, 100, 160, "peer-down", "connect: refused"),
                     STORE_INGEST_STORED);
    char name[32];
    ck_assert_uint_eq(cursor_named("n", name, sizeof name), 3);
    ck_assert_str_eq(name, "x.unm");
    unm_seen s = list_unm(pid, 0, 1000);
    ck_assert_int_eq(s.n, 1);
    ck_assert_uint_eq(s.u[0].start, T0 + SEC(100));
    ck_assert_uint_eq(s.u[0].end, T0 + SEC(160));
    ck_assert_uint_eq(s.u[0].path_id, pid);
    ck_assert_str_eq(s.reason[0], "peer-down");
    ck_assert_str_eq(s.detail[0], "connect: refused");
    /* at or below the cursor: nothing done, even for a new interval */
    ck_assert_int_eq(unm("n", 3, pid, 500, 560, "unreachable", ""), STORE_INGEST_ALREADY);
    ck_assert_int_eq(unm("n", 2, pid, 500, 560, "unreachable", ""), STORE_INGEST_ALREADY);
    ck_assert_int_eq(list_unm(pid, 0, 1000).n, 1);
    /* the same (path, start) again from a later file: one interval, cursor moves */
    ck_assert_int_eq(unm("n", 4, pid, 100, 900, "owampd-refused", NULL), STORE_INGEST_DUPLICATE);
    ck_assert_uint_eq(cursor_of("n"), 4);
    s = list_unm(pid, 0, 1000);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.reason[0], "peer-down");
    ck_assert_uint_eq(s.u[0].end, T0 + SEC(160));
    /* refused: nothing written, cursor kept */
    owp_err err = {0};
    store_ingest_result res;
    const char *bad_reasons[] = {"", "Peer down", "a-reason-token-longer-than-31-bytes", NULL};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(store_ingest_unmeasured(store, "n", 9, "y.unm", pid, T0, T0 + SEC(1),
                                                     bad_reasons[i], "", &res, &err),
                         OWP_ERR_INVALID);
    ck_assert_int_eq(store_ingest_unmeasured(store, "n", 9, "y.unm", pid, T0, T0, "peer-down",
                                                 "", &res, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(store_ingest_unmeasured(store, "n", 9, "y.unm", pid + 7, T0, T0 + SEC(1),
                                                 "peer-down", "", &res, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(store_ingest_unmeasured(store, "n", 0, "y.unm", pid, T0, T0 + SEC(1),
                                                 "peer-down", "", &res, &err),
                     OWP_ERR_INVALID);
    ck_assert_uint_eq(cursor_of("n"), 4);
    ck_assert_int_eq(list_unm(pid, 0, 1000).n, 1);
    /* a reopened store still has it */
    store_close(&store);
    open_store();
    ck_assert_int_eq(list_unm(pid, 0, 1000).n, 1);
}
END_TEST

START_TEST(test_unmeasured_batch)
{
    uint32_t pid = path("a", "b");
    owp_err err = {0};
    ck_assert_int_eq(store_batch_begin(store, &err), OWP_OK);
    ck_assert_int_eq(unm("n", 1, pid, 0, 10, "peer-down", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(unm("n", 1, pid, 20, 30, "peer-down", ""), STORE_INGEST_ALREADY);
    store_batch_abort(store);
    ck_assert_int_eq(list_unm(pid, 0, 100).n, 0);
    ck_assert_uint_eq(cursor_of("n"), 0);
    ck_assert_int_eq(store_batch_begin(store, &err), OWP_OK);
    ck_assert_int_eq(unm("n", 1, pid, 0, 10, "peer-down", ""), STORE_INGEST_STORED);
    /* a failing file leaves no trace, the others stay */
    store_ingest_result res;
    ck_assert_int_eq(store_ingest_unmeasured(store, "n", 2, "z", pid + 5, T0, T0 + SEC(1),
                                                 "peer-down", "", &res, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(unm("n", 3, pid, 20, 30, "control-timeout", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(store_batch_commit(store, &err), OWP_OK);
    ck_assert_int_eq(list_unm(pid, 0, 100).n, 2);
    ck_assert_uint_eq(cursor_of("n"), 3);
}
END_TEST

START_TEST(test_unmeasured_overlap_and_sum)
{
    uint32_t p1 = path("a", "b"), p2 = path("b", "a");
    /* p1: a long outage starting well before the query, two overlapping ones */
    ck_assert_int_eq(unm("n", 1, p1, 0, 1000, "node-down", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(unm("n", 2, p1, 2000, 2100, "peer-down", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(unm("n", 3, p1, 2050, 2300, "owampd-refused", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(unm("n", 4, p1, 2100, 2200, "peer-down", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(unm("n", 5, p1, 3000, 3010, "unreachable", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(unm("n", 6, p2, 2000, 2500, "control-timeout", ""), STORE_INGEST_STORED);
    /* overlap: start < to and end > from, only that path */
    unm_seen s = list_unm(p1, 900, 2001);
    ck_assert_int_eq(s.n, 2);
    ck_assert_uint_eq(s.u[0].start, T0);
    ck_assert_uint_eq(s.u[1].start, T0 + SEC(2000));
    ck_assert_int_eq(list_unm(p1, 1000, 2000).n, 0); /* [0,1000) ends, [2000,..) starts */
    ck_assert_int_eq(list_unm(p1, 3005, 3006).n, 1);
    ck_assert_int_eq(list_unm(p2, 0, 5000).n, 1);
    /* sum over [500, 3005): clipped, overlaps counted once */
    store_unmeasured_totals sum;
    owp_err err = {0};
    ck_assert_int_eq(store_unmeasured_sum(store, &p1, 1, T0 + SEC(500), T0 + SEC(3005), &sum,
                                              &err),
                     OWP_OK);
    ck_assert_double_eq_tol(sum.total, 500 + 300 + 5, 1e-6);
    ck_assert_uint_eq(sum.nreasons, 4);
    ck_assert_str_eq(sum.r[0].reason, "node-down"); /* most seconds first */
    ck_assert_double_eq_tol(sum.r[0].seconds, 500, 1e-6);
    ck_assert_str_eq(sum.r[1].reason, "owampd-refused");
    ck_assert_double_eq_tol(sum.r[1].seconds, 200, 1e-6); /* 2100..2300 */
    ck_assert_str_eq(sum.r[2].reason, "peer-down");
    ck_assert_double_eq_tol(sum.r[2].seconds, 100, 1e-6); /* 2000..2100 only */
    ck_assert_str_eq(sum.r[3].reason, "unreachable");
    ck_assert_double_eq_tol(sum.r[3].seconds, 5, 1e-6);
    /* two paths: path-seconds add up */
    uint32_t both[2] = {p1, p2};
    ck_assert_int_eq(store_unmeasured_sum(store, both, 2, T0 + SEC(2000), T0 + SEC(2400),
                                              &sum, &err),
                     OWP_OK);
    ck_assert_double_eq_tol(sum.total, 300 + 400, 1e-6);
    ck_assert_str_eq(sum.r[0].reason, "control-timeout");
    /* nothing in range */
    ck_assert_int_eq(store_unmeasured_sum(store, &p2, 1, T0 + SEC(5000), T0 + SEC(6000), &sum,
                                              &err),
                     OWP_OK);
    ck_assert_double_eq(sum.total, 0);
    ck_assert_uint_eq(sum.nreasons, 0);
    uint32_t unknown = p2 + 10;
    ck_assert_int_eq(store_unmeasured_sum(store, &unknown, 1, T0, T0 + SEC(1), &sum, &err),
                     OWP_ERR_INVALID);
}
END_TEST

START_TEST(test_unmeasured_prune)
{
    store_close(&store);
    store_opts o;
    store_opts_default(&o);
    o.keep_raw = 2 * STORE_DAY;
    owp_err err = {0};
    store = store_open(dir, &o, &err);
    ck_assert_ptr_nonnull(store);
    uint32_t pid = path("a", "b");
    ck_assert_int_eq(unm("n", 1, pid, 0, 60, "peer-down", ""), STORE_INGEST_STORED);
    ck_assert_int_eq(unm("n", 2, pid, 3 * STORE_DAY, 3 * STORE_DAY + 60, "peer-down", ""),
                     STORE_INGEST_STORED);
    ck_assert_int_eq(store_prune(store, T0 + SEC(4 * STORE_DAY), NULL, &err), OWP_OK);
    unm_seen s = list_unm(pid, 0, 5 * STORE_DAY);
    ck_assert_int_eq(s.n, 1);
    ck_assert_uint_eq(s.u[0].start, T0 + SEC(3 * STORE_DAY));
}
END_TEST

static Suite *store_unmeasured_suite(void)
{
    Suite *s = suite_create("store_unmeasured");
    TCase *tc = tcase_create("unmeasured");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_unmeasured_ingest_cursor);
    tcase_add_test(tc, test_unmeasured_batch);
    tcase_add_test(tc, test_unmeasured_overlap_and_sum);
    tcase_add_test(tc, test_unmeasured_prune);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(store_unmeasured_suite());
}
