/*
 * bench_archive.c - the archive's figures, both stores side by side in one
 * run (issue 12; bench/bench_archive.sh starts the private ClickHouse server
 * and runs this):
 *   1. ingest: the same synthetic files (2 % lost, 0.5 % duplicated, 0.5 %
 *      reordered) through store_ingest_buffer into LMDB and into ClickHouse,
 *      records/s; next to them ClickHouse's own bulk insert of the very rows
 *      the store wrote (clickhouse-client INSERT ... FORMAT RowBinary from a
 *      file, into a copy of the store's records table);
 *   2. bytes on disk per record in each (ClickHouse after OPTIMIZE ... FINAL:
 *      the records table alone and the whole database);
 *   3. query latency, warm, median + p99 of one path over all its records,
 *      and a whole-mesh grid over 30 days of aggregates (100 paths, one packet
 *      a minute: one query per path as `owmesh grid` makes them, and one query
 *      over all paths together).
 * Usage: bench_archive URL TCP_PORT PASSWORD [scale]
 *   URL       clickhouse://owmesh:PASSWORD@127.0.0.1:HTTP_PORT/DATABASE
 *   TCP_PORT  the server's native port, for clickhouse-client
 *   scale     1 = 100 million records on the one path (default 0.05)
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store.h"
#include "synth_owp.h"

#define FILE_RECORDS 100000
#define BATCH_FILES 10 /* files per store_batch_begin/commit, as the collector groups them */
#define T0 ((owp_num64)3900000000u << 32)
#define NPATHS 100
#define RECORDS_TABLE "records" /* the ClickHouse store's raw records (store_ch.c) */

typedef struct bench {
    const char *url, *tcp_port, *password;
    char http[256], db[128]; /* http://127.0.0.1:PORT/, the database */
    char tmp[4096];          /* a private directory */
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_archive: %s: %s\n", what, msg);
    exit(1);
}

/* ---- talking to the server beside the store (curl, clickhouse-client) ---- */

/* Run a statement over HTTP; its first line of output in out (may be NULL). */
static void sql(const bench *b, const char *statement, char *out, size_t len)
{
    char path[4200], cmd[8800];
    snprintf(path, sizeof path, "%s/sql.txt", b->tmp);
    FILE *fp = fopen(path, "w");
    if (!fp || fputs(statement, fp) < 0 || fclose(fp) != 0)
        die(path, "cannot write");
    snprintf(cmd, sizeof cmd, "curl -s -S -f -u owmesh:%s --data-binary @%s '%s' > %s/sql.out",
             b->password, path, b->http, b->tmp);
    if (system(cmd) != 0)
        die("SQL", statement);
    if (!out)
        return;
    snprintf(path, sizeof path, "%s/sql.out", b->tmp);
    fp = fopen(path, "r");
    if (!fp || !fgets(out, (int)len, fp))
        die("SQL answer", statement);
    fclose(fp);
    out[strcspn(out, "\n")] = 0;
}

static double sql_number(const bench *b, const char *statement)
{
    char out[256];
    sql(b, statement, out, sizeof out);
    return atof(out);
}

/* ClickHouse's own bulk insert of the store's rows: records/s. */
static double peer_insert_rate(const bench *b, uint64_t *rows)
{
    char q[1024], cmd[8800];
    snprintf(q, sizeof q, "DROP TABLE IF EXISTS %s.peer_records", b->db);
    sql(b, q, NULL, 0);
    snprintf(q, sizeof q, "CREATE TABLE %s.peer_records AS %s." RECORDS_TABLE, b->db, b->db);
    sql(b, q, NULL, 0);
    snprintf(cmd, sizeof cmd,
             "curl -s -S -f -u owmesh:%s --data-binary 'SELECT * FROM %s." RECORDS_TABLE
             " FORMAT RowBinary' '%s' > %s/rows.bin",
             b->password, b->db, b->http, b->tmp);
    if (system(cmd) != 0)
        die("export", "the rows as RowBinary");
    snprintf(q, sizeof q, "SELECT count() FROM %s." RECORDS_TABLE, b->db);
    *rows = (uint64_t)sql_number(b, q);
    snprintf(cmd, sizeof cmd,
             "clickhouse-client --host 127.0.0.1 --port %s --user owmesh --password %s "
             "--query 'INSERT INTO %s.peer_records FORMAT RowBinary' < %s/rows.bin",
             b->tcp_port, b->password, b->db, b->tmp);
    double t = now_s();
    if (system(cmd) != 0)
        die("clickhouse-client", "INSERT ... FORMAT RowBinary");
    double rate = (double)*rows / (now_s() - t);
    snprintf(q, sizeof q, "DROP TABLE %s.peer_records", b->db);
    sql(b, q, NULL, 0);
    return rate;
}

/* Bytes on disk of the active parts of a table ("" = the whole database). */
static double clickhouse_bytes(const bench *b, const char *table)
{
    char q[512];
    snprintf(q, sizeof q,
             "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '%s'%s%s%s",
             b->db, *table ? " AND table = '" : "", table, *table ? "'" : "");
    return sql_number(b, q);
}

static void clickhouse_optimize(const bench *b)
{
    char q[512], tables[8192] = "";
    snprintf(q, sizeof q,
             "SELECT arrayStringConcat(groupArray(name), ' ') FROM system.tables WHERE "
             "database = '%s' AND engine LIKE '%%MergeTree'", b->db);
    sql(b, q, tables, sizeof tables);
    for (char *t = strtok(tables, " "); t; t = strtok(NULL, " ")) {
        snprintf(q, sizeof q, "OPTIMIZE TABLE %s.%s FINAL", b->db, t);
        sql(b, q, NULL, 0);
    }
}

static double lmdb_bytes(const char *dir)
{
    MDB_env *env;
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) ||
        mdb_env_set_mapsize(env, 64ULL << 30) || mdb_env_open(env, dir, MDB_RDONLY, 0644) ||
        mdb_env_info(env, &info) || mdb_env_stat(env, &st))
        die("lmdb", dir);
    double bytes = (double)(info.me_last_pgno + 1) * st.ms_psize;
    mdb_env_close(env);
    return bytes;
}

/* ---- the store API, the same for both ---- */

/* One synthetic file of n packets from start, as the bytes a collector pulls. */
static uint8_t *synth_bytes(uint32_t n, owp_num64 start, uint32_t seed, size_t *len)
{
    owp_err err = {0};
    FILE *fp = synth_owp_file(n, start, 0.1, seed, 1, &err);
    uint8_t *data = fp ? synth_slurp(fp, len) : NULL;
    if (fp)
        fclose(fp);
    if (!data)
        die("synthetic file", err.msg);
    return data;
}

/* Ingest npackets in files of FILE_RECORDS into path pid, BATCH_FILES files
 * a batch: records/s of the store's time (making the files is not timed). */
static double ingest_rate(store_db *st, uint32_t pid, uint64_t npackets, uint64_t *records)
{
    double busy = 0;
    owp_err err = {0};
    uint64_t seq = 0;
    *records = 0;
    for (uint64_t done = 0; done < npackets;) {
        uint8_t *data[BATCH_FILES];
        size_t len[BATCH_FILES];
        int nfiles = 0;
        for (; nfiles < BATCH_FILES && done < npackets; nfiles++, done += FILE_RECORDS) {
            uint32_t n = npackets - done < FILE_RECORDS ? (uint32_t)(npackets - done) : FILE_RECORDS;
            owp_num64 start = T0 + (owp_num64)((double)done * 0.1 * 4294967296.0);
            data[nfiles] = synth_bytes(n, start, (uint32_t)(seq + (uint64_t)nfiles) + 1, &len[nfiles]);
        }
        double t = now_s();
        if (store_batch_begin(st, &err))
            die("batch", err.msg);
        for (int i = 0; i < nfiles; i++) {
            store_ingest_result res;
            if (store_ingest_buffer(st, "node", ++seq, "f.owp", pid, data[i], len[i], &res, &err))
                die("ingest", err.msg);
            *records += res.records;
        }
        if (store_batch_commit(st, &err))
            die("commit", err.msg);
        busy += now_s() - t;
        for (int i = 0; i < nfiles; i++)
            free(data[i]);
    }
    return (double)*records / busy;
}

static void mesh_setup(store_db *st, uint32_t *ids, uint32_t days)
{
    owp_err err = {0};
    for (int p = 0; p < NPATHS; p++) {
        char src[16], dst[16];
        snprintf(src, sizeof src, "n%02d", p / 10);
        snprintf(dst, sizeof dst, "m%02d", p % 10);
        if (store_path_id(st, src, dst, "owd-1pm", &ids[p], &err))
            die("path", err.msg);
        FILE *fp = synth_owp_file(days * 1440, T0, 60, 1000 + (uint32_t)p, 0, &err);
        if (!fp)
            die("synthetic file", err.msg);
        rewind(fp);
        /* each node's cursor must rise: its paths are its files 1, 2, ... */
        if (store_ingest_file(st, src, (uint64_t)(p % 10) + 1, "f.owp", ids[p], fp, NULL, &err))
            die("ingest", err.msg);
        fclose(fp);
    }
}

static int keep_row(const store_row *row, void *arg)
{
    *(store_row *)arg = *row;
    return 0;
}

/* The median of REPS warm runs of fn, in ms. */
typedef void (*query_fn)(store_db *st, const void *arg, store_row *row);
static double median_ms(store_db *st, query_fn fn, const void *arg, store_row *row)
{
    enum { REPS = 7 };
    double ms[REPS];
    fn(st, arg, row); /* warm-up */
    for (int i = 0; i < REPS; i++) {
        double t = now_s();
        fn(st, arg, row);
        ms[i] = (now_s() - t) * 1e3;
    }
    for (int i = 1; i < REPS; i++)
        for (int j = i; j > 0 && ms[j - 1] > ms[j]; j--) {
            double x = ms[j];
            ms[j] = ms[j - 1];
            ms[j - 1] = x;
        }
    return ms[REPS / 2];
}

static void one_query(store_db *st, const void *arg, store_row *row)
{
    owp_err err = {0};
    if (store_query_run(st, arg, keep_row, row, &err))
        die("query", err.msg);
}

/* A grid: one query per path, as `owmesh grid` makes them. */
static void grid_queries(store_db *st, const void *arg, store_row *row)
{
    const store_query *all = arg;
    for (size_t i = 0; i < all->npaths; i++) {
        store_query q = *all;
        q.paths = &all->paths[i];
        q.npaths = 1;
        one_query(st, &q, row);
    }
}

typedef struct many_rows {
    store_row *rows;
} many_rows;

static int keep_many(size_t query, const store_row *row, void *arg)
{
    ((many_rows *)arg)->rows[query] = *row;
    return 0;
}

/* The same grid in one store_query_many (what `owmesh grid` asks). */
static void grid_many(store_db *st, const void *arg, store_row *row)
{
    const store_query *all = arg;
    store_query qs[NPATHS];
    store_row rows[NPATHS];
    for (size_t i = 0; i < all->npaths && i < NPATHS; i++) {
        qs[i] = *all;
        qs[i].paths = &all->paths[i];
        qs[i].npaths = 1;
    }
    many_rows m = {rows};
    owp_err err = {0};
    if (store_query_many(st, qs, all->npaths, keep_many, &m, &err))
        die("query", err.msg);
    *row = rows[0];
}

/* ---- the run ---- */

typedef struct figures {
    double ingest, bytes, bytes_records, path_ms, grid_ms, many_ms, many_hist_ms, mesh_ms;
    uint64_t records;
    store_row path_row, mesh_row;
} figures;

static const double pct[2] = {50, 99};

/* Phase 1: n records on one path (10 packets/s) through the store. */
static void ingest_phase(const char *location, uint64_t n, figures *f)
{
    owp_err err = {0};
    store_db *st = store_open(location, NULL, &err);
    uint32_t pid;
    if (!st || store_path_id(st, "a", "b", "owd-10pps", &pid, &err))
        die("store", err.msg);
    f->ingest = ingest_rate(st, pid, n, &f->records);
    store_close(&st);
}

/* Phase 2: the queries, then the 100-path mesh and its grids. */
static void query_phase(const char *location, uint64_t n, uint32_t days, figures *f)
{
    owp_err err = {0};
    store_db *st = store_open(location, NULL, &err);
    uint32_t pid, ids[NPATHS];
    if (!st || store_path_id(st, "a", "b", "owd-10pps", &pid, &err))
        die("store", err.msg);
    store_query q = {&pid, 1, T0, T0 + (owp_num64)((double)n * 0.1 * 4294967296.0) + (1ULL << 32),
                     0, pct, 2, STORE_SOURCE_AUTO};
    f->path_ms = median_ms(st, one_query, &q, &f->path_row);
    mesh_setup(st, ids, days);
    store_query mq = {ids, NPATHS, T0, T0 + ((owp_num64)days * 86400 << 32), 0, pct, 2,
                      STORE_SOURCE_AUTO};
    store_row row;
    f->grid_ms = median_ms(st, grid_queries, &mq, &row);
    f->many_ms = median_ms(st, grid_many, &mq, &row);
    mq.source = STORE_SOURCE_HIST;
    f->many_hist_ms = median_ms(st, grid_many, &mq, &row);
    mq.source = STORE_SOURCE_AUTO;
    f->mesh_ms = median_ms(st, one_query, &mq, &f->mesh_row);
    store_close(&st);
}

static void print_row(const char *label, double lmdb, double clickhouse)
{
    printf("%-46s %14.1f %14.1f\n", label, lmdb, clickhouse);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: bench_archive URL TCP_PORT PASSWORD [scale]\n");
        return 2;
    }
    bench b = {.url = argv[1], .tcp_port = argv[2], .password = argv[3]};
    double scale = argc > 4 ? atof(argv[4]) : 0.05;
    if (!(scale > 0 && scale <= 1))
        die("scale", "expected a number in (0, 1]");
    const char *at = strrchr(b.url, '@'), *slash = at ? strchr(at, '/') : NULL;
    if (!slash)
        die("URL", "expected clickhouse://owmesh:PASSWORD@HOST:PORT/DATABASE");
    snprintf(b.http, sizeof b.http, "http://%.*s/", (int)(slash - at - 1), at + 1);
    snprintf(b.db, sizeof b.db, "%s", slash + 1);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(b.tmp, sizeof b.tmp, "%s/bench_archive.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(b.tmp))
        die("mkdtemp", b.tmp);

    uint64_t n = (uint64_t)(100000000 * scale);
    uint32_t days = 30;
    printf("bench_archive: %llu records on one path (10 packets/s), then %d paths x %u days "
           "(a packet a minute)\n", (unsigned long long)n, NPATHS, days);
    figures l = {0}, c = {0};
    char lmdb_dir[4200];
    snprintf(lmdb_dir, sizeof lmdb_dir, "%s/lmdb", b.tmp);
    if (mkdir(lmdb_dir, 0755) != 0)
        die("mkdir", lmdb_dir);
    ingest_phase(lmdb_dir, n, &l);
    l.bytes = lmdb_bytes(lmdb_dir);
    ingest_phase(b.url, n, &c);
    uint64_t peer_rows;
    double peer = peer_insert_rate(&b, &peer_rows);
    clickhouse_optimize(&b);
    c.bytes = clickhouse_bytes(&b, "");
    c.bytes_records = clickhouse_bytes(&b, RECORDS_TABLE);
    query_phase(lmdb_dir, n, days, &l);
    query_phase(b.url, n, days, &c);

    printf("%-46s %14s %14s\n", "", "LMDB", "ClickHouse");
    print_row("ingest through the store (records/s)", l.ingest, c.ingest);
    printf("%-46s %14s %14.1f  (%llu rows; the store reaches %.0f%% of it)\n",
           "clickhouse-client RowBinary insert (rows/s)", "", peer,
           (unsigned long long)peer_rows, 100 * c.ingest / peer);
    print_row("bytes on disk per record, whole store", l.bytes / (double)l.records,
              c.bytes / (double)c.records);
    printf("%-46s %14s %14.1f\n", "bytes on disk per record, raw records alone", "",
           c.bytes_records / (double)c.records);
    print_row("1 path, all records, median + p99 (ms)", l.path_ms, c.path_ms);
    print_row("grid: 100 paths x 30 days, a query each (ms)", l.grid_ms, c.grid_ms);
    print_row("grid, the same in one store_query_many (ms)", l.many_ms, c.many_ms);
    print_row("grid, store_query_many, histograms (ms)", l.many_hist_ms, c.many_hist_ms);
    print_row("100 paths x 30 days, one query (ms)", l.mesh_ms, c.mesh_ms);
    printf("(answers: 1 path median %.3f / %.3f ms, p99 %.3f / %.3f ms; mesh p99 %.3f / %.3f ms)\n",
           l.path_row.percentiles[0] * 1e3, c.path_row.percentiles[0] * 1e3,
           l.path_row.percentiles[1] * 1e3, c.path_row.percentiles[1] * 1e3,
           l.mesh_row.percentiles[1] * 1e3, c.mesh_row.percentiles[1] * 1e3);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_archive: could not remove %s\n", b.tmp);
    return 0;
}
