/* store_testutil.h - the store suites' shared fixtures (check_store.c,
 * check_store_hist.c, check_store_unmeasured.c): a store in a fresh
 * temporary directory for each test (setup/teardown, as a Check checked
 * fixture), paths and ingests, synthetic receiver-layout .owp sessions, and
 * one-row queries. Every helper fails the running Check test on error. */
#ifndef OWMESH_TESTS_STORE_TESTUTIL_H
#define OWMESH_TESTS_STORE_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

#include "owpfile.h"
#include "store.h"
#include "store_hist.h"

#define T0 ((owp_num64)3900000000u << 32) /* 2023-08-02, NTP seconds */
#define ALL_FROM ((owp_num64)1 << 32)
#define ALL_TO (UINT64_MAX)

/* The test's store directory and its open store (setup opens, teardown
 * closes and removes). */
extern char *dir;
extern store_db *store;

void open_store(void);
void setup(void);
void teardown(void);

/* The id of path src -> dst (parameters "test"), created if new. */
uint32_t path(const char *src, const char *dst);

/* Ingests fp (from its start) as file seq of node, expecting status want. */
store_ingest_result ingest_fp(const char *node, uint64_t seq, uint32_t pid, FILE *fp,
                              owp_status want);

/* The cursor (last file seq ingested) of node. */
uint64_t cursor_of(const char *node);

/* ---- synthetic sessions ---- */
typedef struct gen {
    uint32_t n;
    owp_num64 start;
    double interval, delay, spread; /* seconds; delay = base + spread * lognormal-ish */
    unsigned loss_pm, dup_pm, reorder_pm; /* per mille */
    uint32_t seed;
} gen;

/* A deterministic xorshift step. */
uint32_t rnd(uint32_t *s);

/* A receiver-layout .owp file (tmpfile) of the session g describes. */
FILE *make_file(const gen *g);

/* ---- queries ---- */

typedef struct rows {
    store_row row[64];
    int n;
} rows;

/* A store_query_run callback keeping up to 64 rows in a rows. */
int collect(const store_row *row, void *arg);

/* The percentiles every query asks for. */
extern const double pcts[6];
#define NPCTS (sizeof pcts / sizeof pcts[0])

/* The one row of paths ids[0..n) over [from, to) from src. */
store_row query1(const uint32_t *ids, size_t n, owp_num64 from, owp_num64 to,
                 store_source src);

/* Whether a histogram value is within the stated bound of the exact one. */
int within_bound(double hist, double exact);

#endif
