/* store_testutil.c - the store suites' shared fixtures (store_testutil.h). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_testutil.h"
#include "testutil.h"

char *dir;
store_db *store;

void open_store(void)
{
    owp_err err = {0};
    store = store_open(dir, NULL, &err);
    ck_assert_msg(store != NULL, "%s", err.msg);
}

void setup(void)
{
    dir = tu_tempdir();
    open_store();
}

void teardown(void)
{
    store_close(&store);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
}

uint32_t path(const char *src, const char *dst)
{
    uint32_t id = 0;
    owp_err err = {0};
    ck_assert_msg(store_path_id(store, src, dst, "test", &id, &err) == OWP_OK, "%s", err.msg);
    ck_assert_uint_gt(id, 0);
    return id;
}

store_ingest_result ingest_fp(const char *node, uint64_t seq, uint32_t pid, FILE *fp,
                                   owp_status want)
{
    store_ingest_result res;
    owp_err err = {0};
    rewind(fp);
    owp_status st = store_ingest_file(store, node, seq, "f.owp", pid, fp, &res, &err);
    ck_assert_msg(st == want, "ingest: %d (%s)", st, err.msg);
    return res;
}

uint64_t cursor_of(const char *node)
{
    uint64_t seq = 0;
    owp_err err = {0};
    ck_assert_int_eq(store_cursor(store, node, &seq, NULL, 0, &err), OWP_OK);
    return seq;
}

/* ---- synthetic sessions ---- */

uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

FILE *make_file(const gen *g)
{
    static owp_slot slot;
    owp_request req = {0};
    slot.type = OWP_SLOT_FIXED;
    slot.value = owp_num64_from_double(g->interval);
    req.ipvn = 4;
    req.nslots = 1;
    req.slots = &slot;
    req.npackets = g->n;
    req.start_time = g->start;
    req.timeout = owp_num64_from_double(10);
    uint32_t s = g->seed | 1;
    for (int i = 0; i < 16; i++)
        req.sid[i] = (uint8_t)rnd(&s);
    FILE *fp = tmpfile();
    ck_assert_ptr_nonnull(fp);
    owp_err err = {0};
    owp_file_writer *w = owp_file_writer_new(fp, &req, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    owp_record held = {0};
    int holding = 0;
    for (uint32_t i = 0; i < g->n; i++) {
        owp_record r = {.seq = i, .send_err = OWP_ERREST_UNSYNC, .recv_err = OWP_ERREST_UNSYNC,
                        .ttl = (uint8_t)(250 + rnd(&s) % 3)};
        r.send_time = g->start + owp_num64_from_double(g->interval * (i + 1));
        if (rnd(&s) % 1000 < g->loss_pm) {
            r.recv_time = 0;
            r.ttl = 255;
        } else {
            double u = (rnd(&s) % 100000 + 1) / 100000.0;
            double d = g->delay + g->spread * exp(2.0 * sqrt(-2 * log(u)) - 2);
            r.recv_time = r.send_time + owp_num64_from_double(d);
        }
        if (!holding && !owp_record_lost(&r) && rnd(&s) % 1000 < g->reorder_pm) {
            held = r; /* arrives after the next one */
            holding = 1;
            continue;
        }
        ck_assert_int_eq(owp_file_writer_add(w, &r, &err), OWP_OK);
        if (holding) {
            ck_assert_int_eq(owp_file_writer_add(w, &held, &err), OWP_OK);
            holding = 0;
        }
        if (!owp_record_lost(&r) && rnd(&s) % 1000 < g->dup_pm) {
            r.recv_time += owp_num64_from_double(0.0001);
            ck_assert_int_eq(owp_file_writer_add(w, &r, &err), OWP_OK);
        }
    }
    if (holding)
        ck_assert_int_eq(owp_file_writer_add(w, &held, &err), OWP_OK);
    ck_assert_int_eq(owp_file_writer_finish(w, OWP_FINISHED_NORMAL, g->n, NULL, 0, &err), OWP_OK);
    owp_file_writer_destroy(&w);
    fflush(fp);
    return fp;
}

/* ---- queries ---- */

int collect(const store_row *row, void *arg)
{
    rows *r = arg;
    if (r->n < 64)
        r->row[r->n] = *row;
    r->n++;
    return 0;
}

const double pcts[] = {0, 50, 90, 99, 99.9, 100};

store_row query1(const uint32_t *ids, size_t n, owp_num64 from, owp_num64 to,
                 store_source src)
{
    store_query q = {ids, n, from, to, 0, pcts, NPCTS, src};
    rows r = {.n = 0};
    owp_err err = {0};
    ck_assert_msg(store_query_run(store, &q, collect, &r, &err) == OWP_OK, "%s", err.msg);
    ck_assert_int_eq(r.n, 1);
    return r.row[0];
}

int within_bound(double hist, double exact)
{
    return fabs(hist - exact) <= STORE_HIST_REL_ERROR * fabs(exact) * 1.000001 +
                                     STORE_HIST_ABS_ERROR;
}
