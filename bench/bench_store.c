/*
 * bench_store.c - the collector store's figures (issue 6):
 *   1. raw LMDB put rate: the store's key and value sizes (17 + 14 bytes),
 *      the same records per write transaction, cursor puts with MDB_APPEND,
 *      synchronous commits - the ceiling for ingest on this machine;
 *   2. ingest rate of store_ingest_buffer (the collector's path: the file's
 *      bytes as pulled from the node) over the same number of records
 *      (.owp files of FILE_RECORDS records, 2 % lost, 0.5 % duplicated,
 *      0.5 % reordered; making the files is not timed), same run, same disk;
 *   3. query latency, warm, of median + p99 over one path with 10 million
 *      records, and over a 100-path mesh with 30 days of histograms (one
 *      packet a minute per path, every minute of the 30 days).
 * Usage: bench_store [scale]   (scale 1 = the sizes above; 0.1 for a quick look)
 * The store lives in a fresh directory under $TMPDIR (or /tmp), removed at the end.
 */
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "owpfile.h"
#include "synth_owp.h"

#define FILE_RECORDS 100000
#define T0 ((owp_num64)3900000000u << 32)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, msg);
    exit(1);
}

static char *fresh_dir(const char *name)
{
    const char *base = getenv("TMPDIR");
    char *d = malloc(4096);
    snprintf(d, 4096, "%s/bench_store_%s.XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(d))
        die("mkdtemp", d);
    return d;
}

static void remove_dir(char *d)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_store: could not remove %s\n", d);
    free(d);
}

/* ---- 1. raw LMDB ---- */

static double raw_lmdb_rate(uint64_t nrecords)
{
    char *d = fresh_dir("raw");
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 64ULL << 30) ||
        mdb_env_set_maxdbs(env, 4) || mdb_env_open(env, d, MDB_NOTLS, 0644))
        die("lmdb", "open");
    if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, "records", MDB_CREATE, &dbi) ||
        mdb_txn_commit(txn))
        die("lmdb", "dbi");
    uint8_t kb[17] = {0}, vb[14] = {0};
    double t = now_s();
    for (uint64_t done = 0; done < nrecords;) {
        MDB_cursor *c;
        if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_cursor_open(txn, dbi, &c))
            die("lmdb", "txn");
        for (int i = 0; i < FILE_RECORDS && done < nrecords; i++, done++) {
            uint64_t send = T0 + done * 429496729ULL; /* 0.1 s apart */
            kb[3] = 1;
            for (int b = 0; b < 8; b++)
                kb[4 + b] = (uint8_t)(send >> (56 - 8 * b));
            for (int b = 0; b < 4; b++)
                kb[12 + b] = (uint8_t)(done >> (24 - 8 * b));
            memcpy(vb, kb + 4, 8);
            MDB_val k = {sizeof kb, kb}, v = {sizeof vb, vb};
            int rc = mdb_cursor_put(c, &k, &v, MDB_APPEND);
            if (rc)
                die("lmdb put", mdb_strerror(rc));
        }
        mdb_cursor_close(c);
        if (mdb_txn_commit(txn))
            die("lmdb", "commit");
    }
    double rate = (double)nrecords / (now_s() - t);
    mdb_env_close(env);
    remove_dir(d);
    return rate;
}

/* Ingest files of FILE_RECORDS packets into path pid until n packets; returns the records/s. */
static double ingest_rate(store_db *st, uint32_t pid, uint64_t npackets, uint64_t *records)
{
    double busy = 0;
    owp_err err = {0};
    uint64_t seq = 0;
    *records = 0;
    for (uint64_t done = 0; done < npackets; done += FILE_RECORDS) {
        uint32_t n = npackets - done < FILE_RECORDS ? (uint32_t)(npackets - done) : FILE_RECORDS;
        owp_num64 start = T0 + (owp_num64)((double)done * 0.1 * 4294967296.0);
        FILE *fp = synth_owp_file(n, start, 0.1, (uint32_t)seq + 1, 1, &err);
        size_t len = 0;
        uint8_t *data = fp ? synth_slurp(fp, &len) : NULL;
        if (fp)
            fclose(fp);
        if (!data)
            die("synthetic file", err.msg);
        store_ingest_result res;
        double t = now_s();
        if (store_ingest_buffer(st, "node", ++seq, "f.owp", pid, data, len, &res, &err))
            die("ingest", err.msg);
        busy += now_s() - t;
        *records += res.records;
        free(data);
    }
    return (double)*records / busy;
}

/* ---- 3. queries ---- */

typedef struct one {
    store_row row;
} one;

static int keep_row(const store_row *row, void *arg)
{
    ((one *)arg)->row = *row;
    return 0;
}

/* Best and median of reps warm runs, in ms. */
static void time_query(store_db *st, const store_query *q, const char *label)
{
    enum { REPS = 9 };
    double ms[REPS];
    one o;
    owp_err err = {0};
    if (store_query_run(st, q, keep_row, &o, &err)) /* warm-up */
        die("query", err.msg);
    for (int i = 0; i < REPS; i++) {
        double t = now_s();
        if (store_query_run(st, q, keep_row, &o, &err))
            die("query", err.msg);
        ms[i] = (now_s() - t) * 1e3;
    }
    for (int i = 1; i < REPS; i++) /* insertion sort */
        for (int j = i; j > 0 && ms[j - 1] > ms[j]; j--) {
            double x = ms[j];
            ms[j] = ms[j - 1];
            ms[j - 1] = x;
        }
    printf("%-44s %8.2f ms median, %8.2f ms best  (%s, %llu packets, median %.3f ms, "
           "p99 %.3f ms, +-%.0f%%)\n",
           label, ms[REPS / 2], ms[0], o.row.source == STORE_SOURCE_RAW ? "raw" : "histograms",
           (unsigned long long)o.row.sent, o.row.percentiles[0] * 1e3,
           o.row.percentiles[1] * 1e3, o.row.rel_error * 100);
}

static void mesh_setup(store_db *st, uint32_t *ids, int npaths, uint32_t days)
{
    owp_err err = {0};
    for (int p = 0; p < npaths; p++) {
        char src[16], dst[16];
        snprintf(src, sizeof src, "n%02d", p / 10);
        snprintf(dst, sizeof dst, "m%02d", p % 10);
        if (store_path_id(st, src, dst, "owd-1pm", &ids[p], &err))
            die("path", err.msg);
        FILE *fp = synth_owp_file(days * 1440, T0, 60, 1000 + (uint32_t)p, 0, &err);
        if (!fp)
            die("synthetic file", err.msg);
        rewind(fp);
        if (store_ingest_file(st, src, 1, "f.owp", ids[p], fp, NULL, &err))
            die("ingest", err.msg);
        fclose(fp);
    }
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    if (!(scale > 0 && scale <= 10)) {
        fprintf(stderr, "usage: bench_store [scale in (0, 10]]\n");
        return 2;
    }
    uint64_t n = (uint64_t)(10000000 * scale);
    printf("bench_store: %llu records, %d per write transaction, synchronous commits\n",
           (unsigned long long)n, FILE_RECORDS);

    double raw = raw_lmdb_rate(n);
    printf("%-44s %12.0f records/s\n", "raw LMDB put (17+14 B, MDB_APPEND)", raw);

    char *d = fresh_dir("store");
    owp_err err = {0};
    store_db *st = store_open(d, NULL, &err);
    if (!st)
        die("open", err.msg);
    uint32_t pid;
    if (store_path_id(st, "a", "b", "owd-10pps", &pid, &err))
        die("path", err.msg);
    uint64_t records;
    double rate = ingest_rate(st, pid, n, &records);
    printf("%-44s %12.0f records/s  (%.0f%% of raw LMDB; %llu records)\n",
           "store_ingest_buffer", rate, 100 * rate / raw, (unsigned long long)records);

    static const double p[2] = {50, 99};
    store_query q = {&pid, 1, T0, T0 + (owp_num64)((double)n * 0.1 * 4294967296.0) + (1ULL << 32),
                         0, p, 2, STORE_SOURCE_AUTO};
    time_query(st, &q, "query 1 path, all records, median + p99");
    q.from = T0 + ((owp_num64)437 << 32); /* unaligned edges */
    q.to -= (owp_num64)3601 << 32;
    time_query(st, &q, "query 1 path, unaligned period");

    enum { NPATHS = 100 };
    uint32_t days = (uint32_t)(30 * (scale < 1 ? scale : 1));
    if (days < 2)
        days = 2;
    uint32_t ids[NPATHS];
    double t = now_s();
    mesh_setup(st, ids, NPATHS, days);
    printf("(mesh setup: %d paths x %u days, one packet a minute: %.1f s)\n", NPATHS, days,
           now_s() - t);
    store_query mq = {ids, NPATHS, T0, T0 + ((owp_num64)days * 86400 << 32), 0, p, 2,
                          STORE_SOURCE_AUTO};
    char label[64];
    snprintf(label, sizeof label, "query 100-path mesh, %u days, median + p99", days);
    time_query(st, &mq, label);
    mq.from = T0 + ((owp_num64)(7 * 60 + 13) << 32);
    mq.to -= (owp_num64)(5 * 3600 + 11 * 60) << 32;
    time_query(st, &mq, "query 100-path mesh, unaligned period");
    mq.every = 86400;
    mq.from = T0;
    mq.to = T0 + ((owp_num64)days * 86400 << 32);
    time_query(st, &mq, "query 100-path mesh, one row per day");

    store_close(&st);
    remove_dir(d);
    return 0;
}
