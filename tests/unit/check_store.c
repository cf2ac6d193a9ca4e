/* check_store.c - the collector's LMDB store (collector/store/store.c,
 * store_ingest.c, store_query.c): ingest of the reference .owp vectors
 * compared with libowamp's statistics, idempotence, group commit, crash
 * safety under SIGKILL inside the write transaction, retention, empty
 * periods, unknown paths, sessions and export, hostile files. The histograms
 * are in check_store_hist.c, unmeasured intervals in check_store_unmeasured.c. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_hist.h"
#include "store_testutil.h"
#include "owpfile.h"
#include "stats.h"
#include "testutil.h"

/* ---- vectors ---- */

typedef struct expect {
    int ok; /* 0 when libowamp's statistics reject the file */
    uint32_t sent, lost, dups;
    double min, max, median;
    int has_delay;
} expect;

static int stats_feed(const owp_record *r, void *arg)
{
    owp_stats_event ev;
    return owp_stats_add(arg, r, &ev, NULL) != OWP_OK;
}

/* What libowamp's statistics (with 0.1 us buckets) say about a file. */
static expect stats_of(FILE *fp, const char *name)
{
    expect e = {0};
    rewind(fp);
    owp_err err = {0};
    owp_file *f = owp_file_read(fp, name, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    owp_stats *s = owp_file_request(f)
                       ? owp_stats_new(owp_file_request(f), owp_file_skips(f), owp_file_nskips(f),
                                       1e-7, &err)
                       : NULL;
    if (s && owp_stats_begin(s, 0, UINT32_MAX, 0, &err) == OWP_OK &&
        owp_file_each_record_from(f, 0, owp_file_region_nrecords(f), stats_feed, s, &err) ==
            OWP_OK &&
        owp_stats_end(s, &err) == OWP_OK) {
        e.ok = 1;
        e.sent = owp_stats_sent(s);
        e.lost = owp_stats_lost(s);
        e.dups = owp_stats_dups(s);
        e.has_delay = owp_stats_min(s, &e.min) && owp_stats_max(s, &e.max) &&
                      owp_stats_percentile(s, 0.5, &e.median);
    }
    owp_stats_destroy(&s);
    owp_file_destroy(&f);
    return e;
}

static void check_vector_file(const char *rel, const char *name, uint64_t seq)
{
    char *p = tu_vector_path(rel);
    FILE *fp = fopen(p, "rb");
    ck_assert_msg(fp != NULL, "%s", p);
    uint32_t pid = path(name, "dst");
    expect e = stats_of(fp, name);
    store_ingest_result res = ingest_fp("vectors", seq, pid, fp, OWP_OK);
    ck_assert_int_eq(res.status, STORE_INGEST_STORED);
    store_row raw = query1(&pid, 1, ALL_FROM, ALL_TO, STORE_SOURCE_RAW);
    store_row hist = query1(&pid, 1, ALL_FROM, ALL_TO, STORE_SOURCE_HIST);
    ck_assert_uint_eq(raw.sent + raw.dups, res.records);
    for (int i = 0; i < 2; i++) {
        const store_row *r = i ? &hist : &raw;
        ck_assert_uint_eq(r->sent, res.sent);
        ck_assert_uint_eq(r->lost, res.lost);
        ck_assert_uint_eq(r->dups, res.dups);
        if (!e.ok)
            continue;
        ck_assert_msg(r->sent == e.sent && r->lost == e.lost && r->dups == e.dups,
                      "%s (%s): sent/lost/dups %llu/%llu/%llu, owstats %u/%u/%u", name,
                      i ? "hist" : "raw", (unsigned long long)r->sent,
                      (unsigned long long)r->lost, (unsigned long long)r->dups, e.sent, e.lost,
                      e.dups);
        ck_assert_int_eq(r->has_delay, e.has_delay);
        if (!e.has_delay)
            continue;
        ck_assert_msg(r->min == e.min && r->max == e.max, "%s: min/max %.9f/%.9f vs %.9f/%.9f",
                      name, r->min, r->max, e.min, e.max);
        /* stats' value is its 0.1 us bucket's upper edge */
        ck_assert_msg(within_bound(r->percentiles[1], e.median) ||
                          fabs(r->percentiles[1] - e.median) <= 1e-7 + 1e-12,
                      "%s (%s): median %.9f vs %.9f", name, i ? "hist" : "raw",
                      r->percentiles[1], e.median);
    }
    ck_assert_int_eq(raw.source, STORE_SOURCE_RAW);
    ck_assert_int_eq(hist.source, STORE_SOURCE_HIST);
    ck_assert(raw.rel_error == 0);
    ck_assert(hist.rel_error == STORE_HIST_REL_ERROR);
    fclose(fp);
    free(p);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int ingest_vector_dir(const char *sub, uint64_t seq)
{
    char *d = tu_vector_path(sub);
    DIR *dp = opendir(d);
    ck_assert_ptr_nonnull(dp);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(dp))) {
        if (!ends_with(de->d_name, ".owp"))
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "%s/%s", sub, de->d_name);
        check_vector_file(rel, de->d_name, seq + (uint64_t)n);
        n++;
    }
    closedir(dp);
    free(d);
    return n;
}

START_TEST(test_vectors_match_stats)
{
    int n = ingest_vector_dir("owp", 1);
    n += ingest_vector_dir("powstream", 1000);
    ck_assert_int_eq(n, 28); /* 26 in owp/, 2 in powstream/ */
    uint64_t seq;
    char name[64];
    owp_err err = {0};
    ck_assert_int_eq(store_cursor(store, "vectors", &seq, name, sizeof name, &err), OWP_OK);
    ck_assert_uint_eq(seq, 1000 + 1);
    ck_assert_str_eq(name, "f.owp");
}
END_TEST

START_TEST(test_vector_known_counts)
{
    /* README: loss-dup-to has 28 lost and 7 dups; interrupted-from 55 records, none lost. */
    const struct { const char *rel; uint64_t lost, dups, sent; } known[] = {
        {"owp/loss-dup-to.owp", 28, 7, 200},
        {"owp/loss-dup-from.owp", 23, 22, 200},
        {"owp/interrupted-from.owp", 0, 0, 55},
    };
    for (unsigned i = 0; i < 3; i++) {
        char *p = tu_vector_path(known[i].rel);
        FILE *fp = fopen(p, "rb");
        ck_assert_ptr_nonnull(fp);
        uint32_t pid = path(known[i].rel, "x");
        store_ingest_result res = ingest_fp("n", i + 1, pid, fp, OWP_OK);
        ck_assert_uint_eq(res.lost, known[i].lost);
        ck_assert_uint_eq(res.dups, known[i].dups);
        ck_assert_uint_eq(res.sent, known[i].sent);
        fclose(fp);
        free(p);
    }
}
END_TEST

START_TEST(test_idempotent_reingest)
{
    gen g = {.n = 3000, .start = T0, .interval = 0.01, .delay = 0.002, .spread = 0.001,
             .loss_pm = 20, .dup_pm = 10, .reorder_pm = 10, .seed = 7};
    FILE *fp = make_file(&g);
    uint32_t pid = path("a", "b");
    store_ingest_result first = ingest_fp("a", 5, pid, fp, OWP_OK);
    ck_assert_int_eq(first.status, STORE_INGEST_STORED);
    ck_assert_uint_eq(first.sent, 3000);
    ck_assert_uint_gt(first.lost, 0);
    ck_assert_uint_gt(first.dups, 0);
    ck_assert_uint_gt(first.reordered, 0);
    store_row before = query1(&pid, 1, ALL_FROM, ALL_TO, STORE_SOURCE_RAW);
    /* the same file number again, and an older one: nothing happens */
    ck_assert_int_eq(ingest_fp("a", 5, pid, fp, OWP_OK).status, STORE_INGEST_ALREADY);
    ck_assert_int_eq(ingest_fp("a", 4, pid, fp, OWP_OK).status, STORE_INGEST_ALREADY);
    /* the same session under a new file number: cursor moves, nothing counted */
    store_ingest_result dup = ingest_fp("a", 6, pid, fp, OWP_OK);
    ck_assert_int_eq(dup.status, STORE_INGEST_DUPLICATE);
    ck_assert_uint_eq(dup.records, 0);
    /* and through another node */
    ck_assert_int_eq(ingest_fp("b", 1, pid, fp, OWP_OK).status, STORE_INGEST_DUPLICATE);
    for (int src = STORE_SOURCE_RAW; src <= STORE_SOURCE_HIST; src++) {
        store_row after = query1(&pid, 1, ALL_FROM, ALL_TO, src);
        ck_assert_uint_eq(after.sent, before.sent);
        ck_assert_uint_eq(after.lost, before.lost);
        ck_assert_uint_eq(after.dups, before.dups);
        ck_assert_uint_eq(after.reordered, first.reordered);
    }
    uint64_t seq;
    owp_err err = {0};
    ck_assert_int_eq(store_cursor(store, "a", &seq, NULL, 0, &err), OWP_OK);
    ck_assert_uint_eq(seq, 6);
    ck_assert_int_eq(store_cursor(store, "nobody", &seq, NULL, 0, &err), OWP_OK);
    ck_assert_uint_eq(seq, 0);
    fclose(fp);
}
END_TEST

/* ---- group commit ---- */

START_TEST(test_batch_group_commit)
{
    gen g = {.n = 200, .start = T0, .interval = 0.1, .delay = 0.002, .spread = 0.001,
             .loss_pm = 20};
    FILE *files[5];
    for (int i = 0; i < 5; i++) {
        g.seed = 100 + (uint32_t)i;
        g.start = T0 + owp_num64_from_double(20.0 * i);
        files[i] = make_file(&g);
    }
    uint32_t ab = path("a", "b");
    owp_err err = {0};
    ck_assert_int_eq(store_batch_begin(store, &err), OWP_OK);
    ck_assert_int_eq(store_batch_begin(store, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(ingest_fp("a", 1, ab, files[0], OWP_OK).status, STORE_INGEST_STORED);
    ingest_fp("a", 2, 999, files[1], OWP_ERR_INVALID); /* unknown path: leaves no trace */
    ck_assert_int_eq(ingest_fp("a", 3, ab, files[2], OWP_OK).status, STORE_INGEST_STORED);
    uint32_t cd = path("c", "d"); /* a path created inside the batch */
    ck_assert_int_eq(ingest_fp("a", 4, cd, files[3], OWP_OK).status, STORE_INGEST_STORED);
    ck_assert_uint_eq(cursor_of("a"), 0); /* readers see nothing before the commit */
    ck_assert_int_eq(store_batch_commit(store, &err), OWP_OK);
    ck_assert_uint_eq(cursor_of("a"), 4);
    ck_assert_uint_eq(query1(&ab, 1, ALL_FROM, ALL_TO, STORE_SOURCE_RAW).sent, 400);
    ck_assert_uint_eq(query1(&cd, 1, ALL_FROM, ALL_TO, STORE_SOURCE_RAW).sent, 200);

    /* An aborted batch: nothing of it stays, the file can come again. */
    ck_assert_int_eq(store_batch_begin(store, &err), OWP_OK);
    ck_assert_int_eq(ingest_fp("a", 5, ab, files[4], OWP_OK).status, STORE_INGEST_STORED);
    store_batch_abort(store);
    ck_assert_uint_eq(cursor_of("a"), 4);
    ck_assert_uint_eq(query1(&ab, 1, ALL_FROM, ALL_TO, STORE_SOURCE_RAW).sent, 400);
    ck_assert_int_eq(ingest_fp("a", 5, ab, files[4], OWP_OK).status, STORE_INGEST_STORED);
    ck_assert_uint_eq(query1(&ab, 1, ALL_FROM, ALL_TO, STORE_SOURCE_RAW).sent, 600);
    /* Closing with a batch open drops it. */
    ck_assert_int_eq(store_batch_begin(store, &err), OWP_OK);
    ck_assert_int_eq(ingest_fp("a", 6, ab, files[1], OWP_OK).status, STORE_INGEST_STORED);
    store_close(&store);
    open_store();
    ck_assert_uint_eq(cursor_of("a"), 5);
    for (int i = 0; i < 5; i++)
        fclose(files[i]);
}
END_TEST

/* ---- crash safety ---- */

#define CRASH_FILES 12
static long kill_at;

static void kill_hook(const char *point, uint64_t n, void *arg)
{
    if (--kill_at == 0)
        raise(SIGKILL);
}

static gen crash_gen(int i)
{
    gen g = {.n = 1500 + 700 * (uint32_t)i, .start = T0 + ((owp_num64)(i * 100) << 32),
             .interval = 0.02, .delay = 0.003, .spread = 0.002, .loss_pm = 30, .dup_pm = 5,
             .reorder_pm = 5, .seed = 100 + (uint32_t)i};
    return g;
}

/* The collector's loop: ingest every file after the cursor. */
static void child_ingest(uint32_t pid, FILE *const *files, long kill_after)
{
    owp_err err = {0};
    store_db *s = store_open(dir, NULL, &err);
    if (!s)
        _exit(2);
    kill_at = kill_after;
    store_set_hook(s, kill_hook, NULL);
    uint64_t cur;
    if (store_cursor(s, "node", &cur, NULL, 0, &err))
        _exit(3);
    for (uint64_t seq = cur + 1; seq <= CRASH_FILES; seq++) {
        rewind(files[seq - 1]);
        if (store_ingest_file(s, "node", seq, "f.owp", pid, files[seq - 1], NULL, &err))
            _exit(4);
    }
    store_close(&s);
    _exit(0);
}

START_TEST(test_crash_safety)
{
    uint32_t pid = path("a", "b");
    FILE *files[CRASH_FILES];
    uint64_t sent_upto[CRASH_FILES + 1] = {0}, lost_upto[CRASH_FILES + 1] = {0};
    for (int i = 0; i < CRASH_FILES; i++) {
        gen g = crash_gen(i);
        files[i] = make_file(&g);
    }
    /* what each prefix of the files holds, from a scratch store */
    {
        store_close(&store);
        char *d2 = tu_tempdir();
        owp_err err = {0};
        store = store_open(d2, NULL, &err);
        ck_assert_ptr_nonnull(store);
        uint32_t p2 = path("a", "b");
        for (int i = 0; i < CRASH_FILES; i++) {
            store_ingest_result r = ingest_fp("x", (uint64_t)i + 1, p2, files[i], OWP_OK);
            sent_upto[i + 1] = sent_upto[i] + r.sent;
            lost_upto[i + 1] = lost_upto[i] + r.lost;
        }
        store_close(&store);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d2);
        ck_assert_int_eq(system(cmd), 0);
        free(d2);
        open_store();
    }
    uint32_t seed = 12345;
    int kills = 0;
    for (int round = 0; round < 200; round++) {
        uint64_t cur;
        owp_err err = {0};
        ck_assert_int_eq(store_cursor(store, "node", &cur, NULL, 0, &err), OWP_OK);
        if (cur == CRASH_FILES)
            break;
        /* hooks per file: begin, records every 1024, histograms, session, cursor */
        long kill_after = 1 + (long)(rnd(&seed) % 40);
        fflush(NULL);
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0)
            child_ingest(pid, files, kill_after);
        int status;
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        if (WIFSIGNALED(status)) {
            ck_assert_int_eq(WTERMSIG(status), SIGKILL);
            kills++;
        } else {
            ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
                          status);
        }
        /* what the store holds must be exactly the committed files */
        store_close(&store);
        open_store();
        ck_assert_int_eq(store_cursor(store, "node", &cur, NULL, 0, &err), OWP_OK);
        for (int src = STORE_SOURCE_RAW; src <= STORE_SOURCE_HIST; src++) {
            store_row r = query1(&pid, 1, ALL_FROM, ALL_TO, src);
            ck_assert_msg(r.sent == sent_upto[cur] && r.lost == lost_upto[cur],
                          "round %d cursor %llu: sent %llu lost %llu, want %llu %llu", round,
                          (unsigned long long)cur, (unsigned long long)r.sent,
                          (unsigned long long)r.lost, (unsigned long long)sent_upto[cur],
                          (unsigned long long)lost_upto[cur]);
        }
    }
    uint64_t cur;
    owp_err err = {0};
    ck_assert_int_eq(store_cursor(store, "node", &cur, NULL, 0, &err), OWP_OK);
    ck_assert_uint_eq(cur, CRASH_FILES);
    ck_assert_int_ge(kills, 5);
    for (int i = 0; i < CRASH_FILES; i++)
        fclose(files[i]);
}
END_TEST

/* ---- retention ---- */

START_TEST(test_retention_prune)
{
    store_close(&store);
    store_opts o;
    store_opts_default(&o);
    o.keep_raw = 2 * STORE_DAY;
    o.keep_minute = 3 * STORE_DAY;
    o.keep_hour = 10 * STORE_DAY;
    o.keep_day = 0; /* forever */
    owp_err err = {0};
    store = store_open(dir, &o, &err);
    ck_assert_ptr_nonnull(store);
    uint32_t pid = path("a", "b");
    /* one 100-packet session a day for 12 days */
    for (int day = 0; day < 12; day++) {
        gen g = {.n = 100, .start = T0 + ((owp_num64)day * 86400 << 32), .interval = 1,
                 .delay = 0.001, .spread = 0.001, .seed = 50 + (uint32_t)day};
        FILE *fp = make_file(&g);
        ingest_fp("a", (uint64_t)day + 1, pid, fp, OWP_OK);
        fclose(fp);
    }
    owp_num64 now = T0 + ((owp_num64)12 * 86400 << 32);
    store_prune_result pr;
    ck_assert_int_eq(store_prune(store, now, &pr, &err), OWP_OK);
    ck_assert_uint_eq(pr.records, 10 * 100);  /* days 0..9 are older than 2 days */
    ck_assert_uint_eq(pr.sessions, 10);
    ck_assert_uint_eq(pr.minutes, 9 * 2);     /* 100 s spans 2 minutes; days 0..8 */
    ck_assert_uint_eq(pr.hours, 2);           /* days 0, 1 */
    ck_assert_uint_eq(pr.days, 0);
    /* a second prune finds nothing more */
    ck_assert_int_eq(store_prune(store, now, &pr, &err), OWP_OK);
    ck_assert_uint_eq(pr.records + pr.sessions + pr.minutes + pr.hours + pr.days, 0);
    /* the whole period still counts every packet: the edge whose minutes and
     * hours are gone is widened to its day histogram, and the row says so */
    store_row all = query1(&pid, 1, T0, now, STORE_SOURCE_AUTO);
    ck_assert_int_eq(all.source, STORE_SOURCE_HIST);
    ck_assert_uint_eq(all.sent, 1200);
    owp_num64 d0_start = ((T0 >> 32) - (T0 >> 32) % 86400) << 32;
    ck_assert(all.start == d0_start);
    ck_assert(all.end == now);
    /* raw records of day 11 are there; those of day 0 are gone: auto picks histograms */
    store_row d11 = query1(&pid, 1, T0 + ((owp_num64)11 * 86400 << 32), now, STORE_SOURCE_AUTO);
    ck_assert_int_eq(d11.source, STORE_SOURCE_RAW);
    ck_assert_uint_eq(d11.sent, 100);
    owp_num64 d1_start = d0_start + ((owp_num64)86400 << 32);
    store_row d0 = query1(&pid, 1, d0_start, d1_start, STORE_SOURCE_AUTO);
    ck_assert_int_eq(d0.source, STORE_SOURCE_HIST);
    ck_assert_uint_eq(d0.sent, 100);
    store_row d0raw = query1(&pid, 1, d0_start, d1_start, STORE_SOURCE_RAW);
    ck_assert(d0raw.empty);
    /* hours of day 2 remain (10 days), its minutes do not: widened to the hour */
    owp_num64 s2 = T0 + ((owp_num64)2 * 86400 << 32);
    store_row d2 = query1(&pid, 1, s2 + ((owp_num64)30 << 32), s2 + ((owp_num64)90 << 32),
                              STORE_SOURCE_HIST);
    ck_assert_uint_eq(d2.sent, 100);
    ck_assert(d2.start == s2 - ((owp_num64)((T0 >> 32) % 3600) << 32));
    ck_assert(d2.end == d2.start + ((owp_num64)3600 << 32));
}
END_TEST

/* ---- rows, empty periods, unknown paths, hostile input ---- */

START_TEST(test_every_and_empty)
{
    uint32_t pid = path("a", "b");
    gen g = {.n = 600, .start = T0, .interval = 0.1, .delay = 0.001, .spread = 0.001, .seed = 3};
    FILE *fp = make_file(&g); /* 60 s of packets */
    ingest_fp("a", 1, pid, fp, OWP_OK);
    fclose(fp);
    store_query q = {&pid, 1, T0, T0 + ((owp_num64)300 << 32), 60, pcts, NPCTS,
                         STORE_SOURCE_AUTO};
    rows r = {.n = 0};
    owp_err err = {0};
    ck_assert_int_eq(store_query_run(store, &q, collect, &r, &err), OWP_OK);
    ck_assert_int_eq(r.n, 5);
    uint64_t total = 0;
    for (int i = 0; i < 5; i++) {
        ck_assert(r.row[i].start == T0 + ((owp_num64)(60 * i) << 32));
        total += r.row[i].sent;
    }
    ck_assert_uint_eq(total, 600);
    ck_assert(!r.row[0].empty && !r.row[1].empty);
    for (int i = 2; i < 5; i++)
        ck_assert(r.row[i].empty && r.row[i].sent == 0 && !r.row[i].has_delay);
    /* a period with nothing at all, in both sources */
    store_row e = query1(&pid, 1, T0 + ((owp_num64)3600 << 32), T0 + ((owp_num64)7200 << 32),
                             STORE_SOURCE_HIST);
    ck_assert(e.empty && e.hops_min == -1);
    /* unknown path and bad queries fail with a message */
    uint32_t bad[2] = {pid, 99};
    q.paths = bad;
    q.npaths = 2;
    ck_assert_int_eq(store_query_run(store, &q, collect, &r, &err), OWP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "unknown path id 99") != NULL, "%s", err.msg);
    q.npaths = 1;
    q.to = q.from;
    ck_assert_int_eq(store_query_run(store, &q, collect, &r, &err), OWP_ERR_INVALID);
    q.to = T0 + 1;
    double badp = 101;
    q.percentiles = &badp;
    q.npercentiles = 1;
    ck_assert_int_eq(store_query_run(store, &q, collect, &r, &err), OWP_ERR_INVALID);
    store_path info;
    ck_assert_int_eq(store_path_get(store, 99, &info, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(store_path_get(store, pid, &info, &err), OWP_OK);
    ck_assert_str_eq(info.src, "a");
    ck_assert_str_eq(info.dst, "b");
    ck_assert_str_eq(info.params, "test");
    ck_assert(info.newest >= T0 + ((owp_num64)59 << 32) && info.newest <= T0 + ((owp_num64)61 << 32));
}
END_TEST

/* store_query_many: each query's rows, told apart by index, the same as
 * one store_query_run each; a non-zero answer stops them all. */
typedef struct many_seen {
    rows by_query[3];
    int stop_after;
    int seen;
} many_seen;

static int collect_many(size_t query, const store_row *row, void *arg)
{
    many_seen *m = arg;
    ck_assert_uint_lt(query, 3);
    collect(row, &m->by_query[query]);
    return ++m->seen == m->stop_after;
}

START_TEST(test_query_many)
{
    uint32_t ab = path("a", "b"), ba = path("b", "a");
    gen g = {.n = 600, .start = T0, .interval = 0.1, .delay = 0.001, .spread = 0.001, .seed = 3};
    FILE *fp = make_file(&g);
    ingest_fp("a", 1, ab, fp, OWP_OK);
    fclose(fp);
    g.seed = 4;
    g.delay = 0.004;
    fp = make_file(&g);
    ingest_fp("b", 1, ba, fp, OWP_OK);
    fclose(fp);
    uint32_t both[2] = {ab, ba};
    store_query qs[3] = {
        {&ab, 1, T0, T0 + ((owp_num64)120 << 32), 60, pcts, NPCTS, STORE_SOURCE_AUTO},
        {&ba, 1, T0, T0 + ((owp_num64)60 << 32), 0, pcts, NPCTS, STORE_SOURCE_HIST},
        {both, 2, T0, T0 + ((owp_num64)60 << 32), 0, pcts, NPCTS, STORE_SOURCE_RAW}};
    many_seen m = {0};
    owp_err err = {0};
    ck_assert_int_eq(store_query_many(store, qs, 3, collect_many, &m, &err), OWP_OK);
    for (int i = 0; i < 3; i++) {
        rows one = {.n = 0};
        ck_assert_int_eq(store_query_run(store, &qs[i], collect, &one, &err), OWP_OK);
        ck_assert_int_eq(m.by_query[i].n, one.n);
        for (int r = 0; r < one.n; r++) {
            const store_row *a = &m.by_query[i].row[r], *b = &one.row[r];
            ck_assert(a->start == b->start && a->end == b->end && a->source == b->source);
            ck_assert(a->sent == b->sent && a->lost == b->lost && a->dups == b->dups);
            for (size_t k = 0; k < NPCTS; k++)
                ck_assert(a->percentiles[k] == b->percentiles[k]);
        }
    }
    ck_assert_int_eq(m.by_query[0].n, 2);
    many_seen stop = {.stop_after = 2};
    ck_assert_int_eq(store_query_many(store, qs, 3, collect_many, &stop, &err), OWP_OK);
    ck_assert_int_eq(stop.seen, 2);
    ck_assert_int_eq(stop.by_query[1].n, 0);
    uint32_t unknown = 99;
    qs[2].paths = &unknown;
    qs[2].npaths = 1;
    ck_assert_int_eq(store_query_many(store, qs, 3, collect_many, &m, &err), OWP_ERR_INVALID);
}
END_TEST

static int count_record(const owp_record *r, void *arg)
{
    uint64_t *c = arg;
    c[0]++;
    ck_assert(r->send_time >= c[1]);
    c[1] = r->send_time;
    return 0;
}

static int see_session(const store_session *s, void *arg)
{
    int *n = arg;
    (*n)++;
    ck_assert_uint_eq(s->request->nslots, 3);
    ck_assert_str_eq(s->node, "n");
    ck_assert_str_eq(s->file_name, "f.owp");
    ck_assert_uint_eq(s->file_seq, 7);
    ck_assert_uint_eq(s->sent, 30);
    return 0;
}

static int see_path(const store_path *p, void *arg)
{
    int *n = arg;
    (*n)++;
    ck_assert_uint_eq(p->id, (uint32_t)*n);
    return 0;
}

START_TEST(test_sessions_export_paths)
{
    char *p = tu_vector_path("owp/slots-from.owp");
    FILE *fp = fopen(p, "rb");
    ck_assert_ptr_nonnull(fp);
    uint32_t pid = path("a", "b");
    store_ingest_result res = ingest_fp("n", 7, pid, fp, OWP_OK);
    fclose(fp);
    free(p);
    owp_err err = {0};
    uint64_t c[2] = {0, 0};
    ck_assert_int_eq(store_export(store, pid, ALL_FROM, ALL_TO, count_record, c, &err), OWP_OK);
    ck_assert_uint_eq(c[0], res.records);
    c[0] = c[1] = 0;
    ck_assert_int_eq(store_export(store, pid, res.first, res.last, count_record, c, &err),
                     OWP_OK);
    ck_assert_uint_eq(c[0], res.records - 1); /* [first, last) */
    int n = 0;
    ck_assert_int_eq(store_sessions(store, pid, ALL_FROM, ALL_TO, see_session, &n, &err),
                     OWP_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(store_export(store, 42, ALL_FROM, ALL_TO, count_record, c, &err),
                     OWP_ERR_INVALID);
    /* paths: get-or-create is stable, find does not create */
    ck_assert_uint_eq(path("a", "b"), pid);
    uint32_t id;
    ck_assert_int_eq(store_path_find(store, "b", "a", "test", &id, &err), OWP_OK);
    ck_assert_uint_eq(id, 0);
    path("b", "a");
    n = 0;
    ck_assert_int_eq(store_list_paths(store, see_path, &n, &err), OWP_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(store_path_id(store, "", "a", "", &id, &err), OWP_ERR_INVALID);
}
END_TEST

START_TEST(test_hostile_files)
{
    uint32_t pid = path("a", "b");
    char *p = tu_vector_path("owp/clean100-from.owp");
    size_t len;
    char *data = tu_read_file(p, &len);
    owp_err err = {0};
    store_ingest_result res;
    /* every truncation: either refused with nothing written, or stored whole */
    uint64_t seq = 1;
    for (size_t n = 0; n < len; n += 7) {
        owp_status st = store_ingest_buffer(store, "h", seq, "t.owp", pid, data, n, &res, &err);
        if (st == OWP_OK) {
            seq++;
            continue;
        }
        uint64_t cur;
        ck_assert_int_eq(store_cursor(store, "h", &cur, NULL, 0, &err), OWP_OK);
        ck_assert_uint_eq(cur, seq - 1);
    }
    /* garbage and flipped bytes never crash */
    uint32_t s = 99;
    for (int i = 0; i < 200; i++) {
        char *copy = malloc(len);
        memcpy(copy, data, len);
        for (int j = 0; j < 4; j++)
            copy[rnd(&s) % len] = (char)rnd(&s);
        (void)store_ingest_buffer(store, "h", seq, "x.owp", pid, copy, len, &res, &err);
        if (err.code == OWP_OK)
            seq++;
        err.code = OWP_OK;
        free(copy);
    }
    ck_assert_int_eq(store_ingest_buffer(store, "h", seq, "x", 77, data, len, &res, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(store_ingest_buffer(store, "h", 0, "x", pid, data, len, &res, &err),
                     OWP_ERR_INVALID);
    /* a quarantined file moves the cursor, once */
    ck_assert_int_eq(store_cursor_advance(store, "h", seq + 10, "bad.owp", &err), OWP_OK);
    ck_assert_int_eq(store_cursor_advance(store, "h", seq + 10, "bad.owp", &err),
                     OWP_ERR_INVALID);
    char name[32];
    uint64_t cur;
    ck_assert_int_eq(store_cursor(store, "h", &cur, name, sizeof name, &err), OWP_OK);
    ck_assert_uint_eq(cur, seq + 10);
    ck_assert_str_eq(name, "bad.owp");
    free(data);
    free(p);
}
END_TEST

/* ---- a full disk ---- */

/* The disk fills up under a batch (here: the file size limit at the data
 * file's size, as a full disk without root): the commit says so, naming
 * the store and what to do, store_full() tells the caller to keep the
 * files, and nothing of the batch is stored; once there is room again the
 * same files go in. */
START_TEST(test_disk_full_commit)
{
    gen g = {.n = 2000, .start = T0, .interval = 0.01, .delay = 0.002, .spread = 0.0001,
             .seed = 7};
    FILE *fp = make_file(&g);
    uint32_t pid = path("a", "b");
    char data[600];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    struct stat st;
    ck_assert_int_eq(stat(data, &st), 0);
    struct rlimit old, tight;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    tight = old;
    tight.rlim_cur = (rlim_t)st.st_size;
    signal(SIGXFSZ, SIG_IGN); /* EFBIG, not a signal */
    owp_err err = {0};
    ck_assert_int_eq(store_batch_begin(store, &err), OWP_OK);
    rewind(fp);
    store_ingest_result res;
    ck_assert_int_eq(store_ingest_file(store, "n", 1, "f1", pid, fp, &res, &err), OWP_OK);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &tight), 0);
    owp_status got = store_batch_commit(store, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_ne(got, OWP_OK);
    ck_assert_int_eq(store_full(store), 1);
    ck_assert_msg(strstr(err.msg, dir) && strstr(err.msg, "batch commit") &&
                      (strstr(err.msg, "no space left on device") ||
                       strstr(err.msg, "file size limit")) &&
                      strstr(err.msg, "nothing of it was stored"),
                  "message: %s", err.msg);
    ck_assert_uint_eq(cursor_of("n"), 0);
    /* Room again: the same file goes in. */
    ingest_fp("n", 1, pid, fp, OWP_OK);
    ck_assert_int_eq(store_full(store), 0);
    ck_assert_uint_eq(cursor_of("n"), 1);
    fclose(fp);
}
END_TEST

/* A map that is too small: "store map full", with the knob to raise. */
START_TEST(test_map_full_message)
{
    store_close(&store);
    store_opts o;
    store_opts_default(&o);
    o.map_size = 64 * 1024;
    owp_err err = {0};
    store = store_open(dir, &o, &err);
    ck_assert_msg(store, "%s", err.msg);
    gen g = {.n = 20000, .start = T0, .interval = 0.01, .delay = 0.002, .seed = 3};
    FILE *fp = make_file(&g);
    uint32_t pid = 0;
    ck_assert_int_eq(store_path_id(store, "a", "b", "test", &pid, &err), OWP_OK);
    ck_assert_int_ne(store_ingest_file(store, "n", 1, "big", pid, fp, NULL, &err), OWP_OK);
    ck_assert_int_eq(store_full(store), 1);
    ck_assert_msg(strstr(err.msg, dir) && strstr(err.msg, "store map full") &&
                      strstr(err.msg, STORE_MAP_SIZE_ENV),
                  "message: %s", err.msg);
    ck_assert_uint_eq(cursor_of("n"), 0);
    fclose(fp);
    /* The operator's knob: the same store, a larger map. */
    store_close(&store);
    setenv(STORE_MAP_SIZE_ENV, "64M", 1);
    store = store_open(dir, &o, &err);
    unsetenv(STORE_MAP_SIZE_ENV);
    ck_assert_msg(store, "%s", err.msg);
    fp = make_file(&g);
    ingest_fp("n", 1, pid, fp, OWP_OK);
    fclose(fp);
    store_close(&store);
    setenv(STORE_MAP_SIZE_ENV, "lots", 1);
    ck_assert_ptr_null(store_open(dir, &o, &err));
    unsetenv(STORE_MAP_SIZE_ENV);
    ck_assert_msg(strstr(err.msg, "OWMESH_STORE_MAP_SIZE=lots"), "%s", err.msg);
    open_store();
}
END_TEST

/* store.c picks the backend by the location's form, and never shows a password. */
START_TEST(test_locations)
{
    char buf[256];
    ck_assert(!store_location_is_url("/var/lib/owmesh/store"));
    ck_assert(store_location_is_url("clickhouse://h:8123/db"));
    ck_assert_str_eq(store_location_shown("/a/b", buf, sizeof buf), "/a/b");
    ck_assert_str_eq(store_location_shown("clickhouse://u:secret@h:8123/db", buf, sizeof buf),
                     "clickhouse://u:***@h:8123/db");
    ck_assert_str_eq(store_location_shown("clickhouses://u@h:8443/db", buf, sizeof buf),
                     "clickhouses://u@h:8443/db");
    ck_assert_str_eq(store_location_shown("clickhouse://h:8123/db?password_file=/k:@", buf,
                                          sizeof buf),
                     "clickhouse://h:8123/db?password_file=/k:@"); /* not an authority */
    owp_err err = {0};
    ck_assert_ptr_null(store_open("redis://h:1/x", NULL, &err));
    ck_assert_msg(strstr(err.msg, "unknown kind of store"), "%s", err.msg);
    ck_assert_ptr_null(store_open("", NULL, &err));
    ck_assert_msg(strstr(err.msg, "no directory or URL"), "%s", err.msg);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("vectors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vectors_match_stats);
    tcase_add_test(tc, test_vector_known_counts);
    tcase_add_test(tc, test_sessions_export_paths);
    tcase_add_test(tc, test_locations);
    suite_add_tcase(s, tc);
    tc = tcase_create("ingest");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_idempotent_reingest);
    tcase_add_test(tc, test_hostile_files);
    tcase_add_test(tc, test_batch_group_commit);
    tcase_add_test(tc, test_disk_full_commit);
    tcase_add_test(tc, test_map_full_message);
    suite_add_tcase(s, tc);
    tc = tcase_create("crash");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_crash_safety);
    suite_add_tcase(s, tc);
    tc = tcase_create("retention");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_retention_prune);
    suite_add_tcase(s, tc);
    tc = tcase_create("queries");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_and_empty);
    tcase_add_test(tc, test_query_many);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(store_suite());
}
