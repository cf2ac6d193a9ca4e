/*
 * check_collector.c - the data plane end to end in one process: a node's
 * spool served by agent_data, pulled by a puller into an LMDB store (issue
 * 6). Reference record counts come from ingesting the same vector files
 * straight into a second store.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector_share.h"
#include "collector_testutil.h"
#include "daemon_log.h"
#include "meshmsg.h"
#include "testutil.h"

static const char *const VECTORS[] = {"owp/clean100-to.owp", "owp/dscp-ef-to.owp",
                                      "owp/auth-to.owp", "owp/enc-to.owp"};
#define NVEC (sizeof VECTORS / sizeof VECTORS[0])

static puller *rig_puller(rig *r, unsigned credit, unsigned chunk, unsigned window)
{
    puller_config pc = rig_puller_config(r);
    pc.credit = credit;
    pc.chunk_size = chunk;
    pc.window = window;
    return rig_puller_new(&pc);
}

/* Run node and collector until the puller has nothing left (or 5 s). */
static void run_until_idle(rig *r, puller *p)
{
    rig_run(r, p, false);
}

/* Records of the vectors, ingested directly into a scratch store. */
static uint64_t reference_records(void)
{
    char *dir = tu_tempdir();
    owp_err err = {0};
    store_db *s = store_open(dir, NULL, &err);
    ck_assert_msg(s, "%s", err.msg);
    uint64_t total = 0;
    for (size_t i = 0; i < NVEC; i++) {
        char *path = tu_vector_path(VECTORS[i]);
        FILE *fp = fopen(path, "rb");
        ck_assert_ptr_nonnull(fp);
        uint32_t id;
        store_ingest_result res;
        ck_assert_int_eq(store_path_id(s, "x", "y", "z", &id, &err), OWP_OK);
        ck_assert_int_eq(store_ingest_file(s, "ref", i + 1, "f", id, fp, &res, &err), OWP_OK);
        ck_assert_int_eq(res.status, STORE_INGEST_STORED);
        total += res.records;
        fclose(fp);
        free(path);
    }
    store_close(&s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
    return total;
}

static void spool_all(rig *r, const char *prefix)
{
    char stream[32];
    for (size_t i = 0; i < NVEC; i++) {
        snprintf(stream, sizeof stream, "%s%zu", prefix, i);
        spool_vector(r, VECTORS[i], stream, 1000 + i, OWM_FILE_KIND_OWP);
        /* A summary beside each: never fetched, acked all the same. */
        spool_vector(r, VECTORS[i], stream, 1000 + i, OWM_FILE_KIND_SUM);
    }
}

/* ------------------------------------------------------------------ pulling */

START_TEST(test_pull_all)
{
    rig r;
    rig_up(&r, 0, 0, 0);
    spool_all(&r, "s");
    r.puller = rig_puller(&r, 4, 0, 8);
    run_until_idle(&r, r.puller);
    const puller_stats *st = puller_get_stats(r.puller);
    ck_assert_uint_eq(st->files, NVEC);
    ck_assert_uint_eq(st->records, reference_records());
    ck_assert_uint_eq(st->acked, 2 * NVEC);
    ck_assert_uint_eq(st->resets, 0);
    owp_err err = {0};
    uint64_t cursor;
    char name[200];
    ck_assert_int_eq(store_cursor(r.store, "n2", &cursor, name, sizeof name, &err), OWP_OK);
    /* The cursor is the last seq: summaries move it too (it stays contiguous). */
    ck_assert_uint_eq(cursor, r.seqs[2 * NVEC - 1]);
    ck_assert_ptr_nonnull(strstr(name, "s3."));
    /* Acked with retention 0: deleted. */
    ck_assert_uint_eq(spool_count(&r), 0);
    rig_down(&r);
}
END_TEST

/* Tiny chunks, credit 2: the node never has more than 2 chunks in flight
 * per file, and the reassembled files ingest exactly. */
START_TEST(test_credit_small_chunks)
{
    rig r;
    rig_up(&r, 0, 0, 0);
    spool_all(&r, "c");
    r.puller = rig_puller(&r, 2, 512, 2);
    run_until_idle(&r, r.puller);
    const puller_stats *st = puller_get_stats(r.puller);
    ck_assert_uint_eq(st->files, NVEC);
    ck_assert_uint_eq(st->records, reference_records());
    ck_assert_uint_le(st->max_credit_seen, 2);
    ck_assert_uint_gt(st->bytes, 512u * NVEC); /* really chunked */
    rig_down(&r);
}
END_TEST

/* A second collector, or the same one rebuilt: files re-spooled under new
 * seqs hold sessions already stored: counted once. */
START_TEST(test_no_double_count)
{
    rig r;
    rig_up(&r, 0, 0, 0);
    spool_all(&r, "d");
    r.puller = rig_puller(&r, 4, 0, 4);
    run_until_idle(&r, r.puller);
    uint64_t records = puller_get_stats(r.puller)->records;
    puller_destroy(&r.puller);
    spool_all(&r, "d");
    r.puller = rig_puller(&r, 4, 0, 4);
    run_until_idle(&r, r.puller);
    ck_assert_uint_eq(puller_get_stats(r.puller)->records, 0);
    ck_assert_uint_eq(puller_get_stats(r.puller)->skipped, 2 * NVEC);
    ck_assert_uint_eq(records, reference_records());
    ck_assert_uint_eq(spool_count(&r), 0);
    rig_down(&r);
}
END_TEST

/* A collector restarted from the store's cursor lists only newer files. */
START_TEST(test_resume_from_cursor)
{
    rig r;
    rig_up(&r, 3600, 0, 0); /* retention: acked files stay listed */
    spool_all(&r, "r");
    r.puller = rig_puller(&r, 4, 0, 8);
    run_until_idle(&r, r.puller);
    ck_assert_uint_eq(puller_get_stats(r.puller)->files, NVEC);
    puller_destroy(&r.puller);
    ck_assert_uint_eq(spool_count(&r), 2 * NVEC); /* kept: retention */
    r.puller = rig_puller(&r, 4, 0, 8);
    run_until_idle(&r, r.puller);
    /* Everything is at or before the cursor: listed after it, nothing is
     * listed, fetched or stored again (issue 11: no longer re-listed). */
    ck_assert_uint_eq(puller_get_stats(r.puller)->files, 0);
    ck_assert_uint_eq(puller_get_stats(r.puller)->skipped, 0);
    ck_assert_uint_eq(puller_get_stats(r.puller)->bytes, 0);
    rig_down(&r);
}
END_TEST

/* ------------------------------------------------------------------ retention, budget */

static mode_t mode_of(const rig *r, uint64_t seq)
{
    char cmd[700], name[600] = "";
    snprintf(cmd, sizeof cmd, "ls '%s' | grep '^0*%llu\\.'", r->spool_dir, (unsigned long long)seq);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(name, sizeof name, p)) {
        if (p)
            pclose(p);
        return 0;
    }
    pclose(p);
    name[strcspn(name, "\n")] = '\0';
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", r->spool_dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 0777 : 0;
}

START_TEST(test_retention_marks_acked)
{
    rig r;
    rig_up(&r, 3600, 0, 0);
    spool_all(&r, "m");
    r.puller = rig_puller(&r, 4, 0, 8);
    run_until_idle(&r, r.puller);
    for (size_t i = 0; i < r.nseqs; i++)
        ck_assert_uint_eq(mode_of(&r, r.seqs[i]), 0444);
    /* Within the retention nothing goes. */
    agent_data_enforce(r.data, now_s());
    ck_assert_uint_eq(spool_count(&r), 2 * NVEC);
    rig_down(&r);
}
END_TEST

START_TEST(test_budget_acked_first)
{
    rig r;
    rig_up(&r, 3600, 1, 0);
    spool_all(&r, "b");
    /* Mark the first pair acked, as the node does. */
    for (size_t i = 0; i < 2; i++) {
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "chmod 444 '%s'/$(ls '%s' | grep '^0*%llu\\.')", r.spool_dir,
                 r.spool_dir, (unsigned long long)r.seqs[i]);
        ck_assert_int_eq(system(cmd), 0);
    }
    /* Budget 1 byte: everything must go, acked first, unacked logged. */
    agent_data_enforce(r.data, now_s());
    ck_assert_uint_eq(spool_count(&r), 0);
    rig_down(&r);
}
END_TEST

START_TEST(test_budget_spares_unacked)
{
    rig r;
    rig_up(&r, 3600, 0, 0);
    spool_all(&r, "u");
    /* Total size, minus the first pair: the budget. */
    uint64_t total = 0, first = 0;
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "du -b -s --apparent-size '%s'/[0-9]* | awk '{ s += $1 } END { print s }'",
             r.spool_dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fscanf(p, "%" SCNu64, &total), 1);
    pclose(p);
    for (size_t i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "f='%s'/$(ls '%s' | grep '^0*%llu\\.'); chmod 444 \"$f\"; "
                 "stat -c %%s \"$f\"", r.spool_dir, r.spool_dir, (unsigned long long)r.seqs[i]);
        p = popen(cmd, "r");
        uint64_t sz = 0;
        ck_assert_int_eq(fscanf(p, "%" SCNu64, &sz), 1);
        pclose(p);
        first += sz;
    }
    agent_data_destroy(&r.data);
    /* A fresh name: libzmq releases an inproc name asynchronously, so rebinding the
     * old one right after closing its socket can fail with EADDRINUSE. */
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "%s-budget", r.endpoint);
    agent_data_config dc = {.node = "n2", .endpoint = endpoint, .spool = r.spool,
                            .retention_s = 3600, .budget_bytes = total - first};
    owp_err err = {0};
    r.data = agent_data_new(&dc, &err);
    ck_assert_msg(r.data, "%s", err.msg);
    agent_data_enforce(r.data, now_s());
    ck_assert_uint_eq(spool_count(&r), 2 * NVEC - 2);
    ck_assert_uint_eq(mode_of(&r, r.seqs[0]), 0); /* the acked ones went */
    ck_assert_uint_ne(mode_of(&r, r.seqs[2]), 0);
    rig_down(&r);
}
END_TEST

/* ------------------------------------------------------------------ hostile peers */

static owm_msg *ask(rig *r, zsock_t *dealer, const void *bytes, size_t len)
{
    zframe_t *f = zframe_new(bytes, len);
    zframe_send(&f, dealer, 0);
    double end = now_s() + 2;
    while (now_s() < end) {
        if (zsock_events(agent_data_socket(r->data)) & ZMQ_POLLIN)
            agent_data_handle(r->data);
        if (zsock_events(dealer) & ZMQ_POLLIN) {
            zmsg_t *m = zmsg_recv(dealer);
            owm_msg *env = NULL;
            owp_err err = {0};
            owm_msg_decode_zmsg(m, &env, NULL, &err);
            zmsg_destroy(&m);
            return env;
        }
        zclock_sleep(2);
    }
    return NULL;
}

START_TEST(test_hostile)
{
    rig r;
    rig_up(&r, 0, 0, 0);
    spool_all(&r, "h");
    zsock_t *dealer = zsock_new_dealer(r.endpoint);
    ck_assert_ptr_nonnull(dealer);
    /* Garbage: an Error, not a crash. */
    owm_msg *env = ask(&r, dealer, "\xff\xff\xff garbage", 12);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->kind, OWM_MSG_ERROR);
    owm_msg_free(&env);
    /* A file that does not exist: NOT_FOUND. */
    owm_msg_file_fetch ff = {0};
    ff.seq = 999999;
    ff.credit = 1;
    owm_msg req;
    owm_msg_init(&req);
    req.kind = OWM_MSG_FILE_FETCH;
    req.file_fetch = &ff;
    uint8_t *buf;
    size_t len;
    owp_err err = {0};
    ck_assert_int_eq(owm_msg_encode(&req, &buf, &len, &err), OWP_OK);
    env = ask(&r, dealer, buf, len);
    free(buf);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->kind, OWM_MSG_ERROR);
    ck_assert_int_eq(env->error->code, OWM_ERROR_NOT_FOUND);
    owm_msg_free(&env);
    /* Credit 1: exactly one chunk arrives, then silence until more credit. */
    ff.seq = r.seqs[0];
    ff.chunk_size = 100;
    ck_assert_int_eq(owm_msg_encode(&req, &buf, &len, &err), OWP_OK);
    env = ask(&r, dealer, buf, len);
    free(buf);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->kind, OWM_MSG_FILE_CHUNK);
    ck_assert_uint_eq(env->file_chunk->data.len, 100);
    ck_assert(!env->file_chunk->last);
    owm_msg_free(&env);
    zclock_sleep(50);
    agent_data_handle(r.data);
    agent_data_tick(r.data, now_s());
    ck_assert(!(zsock_events(dealer) & ZMQ_POLLIN));
    /* A message of the coordinator's plane: ERROR_UNEXPECTED. */
    owm_msg *hello = owm_msg_new_hello("x", "v", "", "", 0, &err);
    ck_assert_int_eq(owm_msg_encode(hello, &buf, &len, &err), OWP_OK);
    owm_msg_free(&hello);
    env = ask(&r, dealer, buf, len);
    free(buf);
    /* Chunks of the earlier fetch are not sent without credit: the answer
     * is the Error. */
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->kind, OWM_MSG_ERROR);
    ck_assert_int_eq(env->error->code, OWM_ERROR_UNEXPECTED);
    owm_msg_free(&env);
    zsock_destroy(&dealer);
    rig_down(&r);
}
END_TEST

/* ------------------------------------------------------------------ nothing lost (issue 9) */

/* The spool path of seq (the only file with that number). */
static void spool_file_path(const rig *r, uint64_t seq, char *path, size_t len)
{
    char cmd[700], name[600] = "";
    snprintf(cmd, sizeof cmd, "ls '%s' | grep '^0*%llu\\.'", r->spool_dir, (unsigned long long)seq);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(name, sizeof name, p));
    pclose(p);
    name[strcspn(name, "\n")] = '\0';
    snprintf(path, len, "%s/%s", r->spool_dir, name);
}

static int count_interval(const store_unmeasured *u, void *arg)
{
    if (!strcmp(u->reason, "spool-budget"))
        ++*(int *)arg;
    return 0;
}

/* Seqs missing from a spool are explained by the node, and the collector's
 * cursor passes them only so: a file acked and deleted, one deleted
 * uncollected over the disk budget (its time recorded as unmeasured), the
 * numbers a restart skipped. Every file that is there is stored. */
START_TEST(test_gaps_explained)
{
    rig r;
    rig_up(&r, 3600, 0, 0);
    spool_all(&r, "g"); /* seqs 1-8: .owp (odd) and .sum (even) of streams g0-g3 */
    char path[1400];
    spool_file_path(&r, 4, path, sizeof path);
    ck_assert_int_eq(unlink(path), 0); /* as if acked by another collector and expired */
    owp_err err = {0};
    agent_spool_entry e;
    spool_file_path(&r, 5, path, sizeof path);
    ck_assert(agent_spool_parse_name(strrchr(path, '/') + 1, &e));
    ck_assert_int_eq(agent_spool_note_uncollected(r.spool, &e, &err), OWP_OK);
    ck_assert_int_eq(unlink(path), 0); /* g2's session data, deleted over the budget */
    /* A restart: the rest of the reserved block is skipped. */
    agent_data_destroy(&r.data);
    agent_spool_destroy(&r.spool);
    r.spool = agent_spool_open(r.spool_dir, &err);
    ck_assert_msg(r.spool, "%s", err.msg);
    agent_spool_gap g;
    ck_assert(agent_spool_gap_from(r.spool, 9, &g));
    ck_assert_uint_eq(g.first, 9);
    ck_assert_int_eq(g.reason, OWM_GAP_REASON_UNUSED);
    ck_assert(agent_spool_gap_from(r.spool, 5, &g));
    ck_assert_int_eq(g.reason, OWM_GAP_REASON_BUDGET);
    ck_assert_str_eq(g.stream_id, "g2");
    agent_data_config dc = {.node = "n2", .endpoint = r.endpoint, .spool = r.spool,
                            .retention_s = 3600};
    rig_new_endpoint(&r);
    r.data = agent_data_new(&dc, &err);
    ck_assert_msg(r.data, "%s", err.msg);
    spool_vector(&r, VECTORS[0], "g9", 2000, OWM_FILE_KIND_OWP);
    uint64_t last = r.seqs[r.nseqs - 1];
    ck_assert_uint_gt(last, 9);
    r.puller = rig_puller(&r, 4, 0, 8);
    run_until_idle(&r, r.puller);
    const puller_stats *st = puller_get_stats(r.puller);
    ck_assert_uint_eq(st->files, 4); /* g0, g1, g3 and g9 */
    ck_assert_uint_eq(st->resets, 0);
    ck_assert_uint_eq(rig_cursor(&r), last);
    uint32_t g2 = 0;
    ck_assert_int_eq(store_path_find(r.store, "g2", "n2", "test", &g2, &err), OWP_OK);
    ck_assert_uint_ne(g2, 0);
    int budget = 0;
    ck_assert_int_eq(store_unmeasured_list(r.store, g2, 0, UINT64_MAX, count_interval,
                                               &budget, &err), OWP_OK);
    ck_assert_int_eq(budget, 1);
    rig_down(&r);
}
END_TEST

/* A file whose number the spool has not handed out yet (being spooled while
 * the node reads its directory) is not listed: the listing stops below the
 * counter read before the scan, so the cursor cannot pass an earlier file
 * that the scan missed. */
START_TEST(test_listing_stops_below_counter)
{
    rig r;
    rig_up(&r, 3600, 0, 0);
    spool_vector(&r, VECTORS[0], "c0", 1000, OWM_FILE_KIND_OWP);
    uint64_t next = agent_spool_next_seq(r.spool);
    char name[AGENT_SPOOL_NAME_MAX], src[1400], dst[1400];
    ck_assert_int_eq(agent_spool_format_name(name, sizeof name, next, "c1", 1, 2,
                                             OWM_FILE_KIND_OWP, NULL), OWP_OK);
    spool_file_path(&r, r.seqs[0], src, sizeof src);
    snprintf(dst, sizeof dst, "%s/%s", r.spool_dir, name);
    ck_assert_int_eq(link(src, dst), 0);
    r.puller = rig_puller(&r, 4, 0, 8);
    run_until_idle(&r, r.puller);
    ck_assert_uint_eq(puller_get_stats(r.puller)->files, 1);
    ck_assert_uint_eq(rig_cursor(&r), r.seqs[0]);
    rig_down(&r);
}
END_TEST

/* A byte flipped in a spooled file after it was spooled: quarantined and
 * logged, never stored; the cursor moves on. Without a place to keep it the
 * cursor does not pass it at all. */
START_TEST(test_digest_mismatch_quarantined)
{
    for (int keep = 0; keep < 2; keep++) {
        rig r;
        rig_up(&r, 3600, 0, 0);
        spool_vector(&r, VECTORS[0], "x0", 1000, OWM_FILE_KIND_OWP);
        char path[1400];
        spool_file_path(&r, r.seqs[0], path, sizeof path);
        FILE *fp = fopen(path, "r+b");
        ck_assert_ptr_nonnull(fp);
        ck_assert_int_eq(fseek(fp, 200, SEEK_SET), 0);
        int c = fgetc(fp);
        ck_assert_int_eq(fseek(fp, 200, SEEK_SET), 0);
        fputc(c ^ 0x10, fp);
        fclose(fp);
        puller_config pc = rig_puller_config(&r);
        pc.quarantine_dir = keep ? r.quarantine : NULL;
        r.puller = rig_puller_new(&pc);
        run_until_idle(&r, r.puller);
        ck_assert_uint_eq(puller_get_stats(r.puller)->files, 0);
        ck_assert_uint_eq(puller_get_stats(r.puller)->records, 0);
        ck_assert_uint_eq(rig_cursor(&r), keep ? r.seqs[0] : 0);
        char cmd[800];
        snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '^n2\\.%llu\\.x0\\.'", r.quarantine,
                 (unsigned long long)r.seqs[0]);
        ck_assert_int_eq(system(cmd) == 0, keep);
        rig_down(&r);
    }
}
END_TEST

/* A node that is not there: the puller times out and resets, no crash. */
START_TEST(test_timeout_reset)
{
    char *dir = tu_tempdir();
    owp_err err = {0};
    store_db *s = store_open(dir, NULL, &err);
    ck_assert_msg(s, "%s", err.msg);
    puller_config pc = {.node = "ghost", .endpoint = "tcp://127.0.0.1:9", .store = s,
                        .path = test_path, .path_arg = &s, .timeout_s = 0.2};
    puller *p = puller_new(&pc, &err);
    ck_assert_msg(p, "%s", err.msg);
    double end = now_s() + 1.0;
    while (now_s() < end) {
        puller_tick(p, now_s());
        zclock_sleep(10);
    }
    ck_assert_uint_ge(puller_get_stats(p)->resets, 1);
    puller_destroy(&p);
    store_close(&s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
}
END_TEST

/* Issue 12: a collector's part in sharing an archive (collector_share.h). */
START_TEST(test_share_archive_identity)
{
    char buf[300];
    ck_assert_str_eq(collector_archive_of("/var/lib/owmesh/store", buf, sizeof buf), "");
    ck_assert_str_eq(collector_archive_of("store", buf, sizeof buf), "");
    ck_assert_str_eq(collector_archive_of("clickhouse://db1:8123/owmesh", buf, sizeof buf),
                     "clickhouse://db1:8123/owmesh");
    /* the same database whoever logs in: no user, no password, no trailing '/' */
    ck_assert_str_eq(collector_archive_of("clickhouse://u:secret@db1:8123/owmesh/", buf,
                                          sizeof buf), "clickhouse://db1:8123/owmesh");
    ck_assert_str_eq(collector_archive_of("clickhouses://u@db1:8443/owmesh", buf, sizeof buf),
                     "clickhouses://db1:8443/owmesh");
    ck_assert_str_eq(collector_archive_of("clickhouse://db1:8123", buf, sizeof buf),
                     "clickhouse://db1:8123");
    ck_assert_str_eq(collector_archive_of("clickhouse://db1:8123/x", buf, 10), "clickhous");
    /* parameters are not the archive; a cluster is, whichever shard is asked */
    ck_assert_str_eq(collector_archive_of("clickhouse://u@db1:8123/owmesh?password_file=/k/p",
                                          buf, sizeof buf), "clickhouse://db1:8123/owmesh");
    ck_assert_str_eq(collector_archive_of("clickhouse://db1:8123/owmesh?cluster=c1", buf,
                                          sizeof buf), "clickhouse://cluster c1/owmesh");
    ck_assert_str_eq(collector_archive_of("clickhouse://db2:9123/owmesh?password_file=/p&cluster=c1",
                                          buf, sizeof buf), "clickhouse://cluster c1/owmesh");
}
END_TEST

START_TEST(test_share_lease_and_division)
{
    /* a lease of 1.5 periods from the request: over before the coordinator's 2 */
    ck_assert_double_eq(collector_lease_end(100, 5), 107.5);
    ck_assert(collector_lease_end(100, 5) < 100 + 2 * 5);
    ck_assert_double_eq(collector_next_request(5, 0), 5);
    ck_assert_double_eq(collector_next_request(5, 1.5), 1.5);
    ck_assert_double_eq(collector_next_request(5, 9), 5);
    owp_err e;
    owm_msg *env = owm_msg_new(OWM_MSG_DIRECTORY, &e);
    ck_assert_ptr_nonnull(owm_msg_directory_add_node(env->directory, &e));
    ck_assert_ptr_nonnull(owm_msg_directory_add_node(env->directory, &e));
    ck_assert(collector_pulls(env->directory, 0) && collector_pulls(env->directory, 1));
    env->directory->divided = true; /* nothing assigned: pull nothing */
    ck_assert(!collector_pulls(env->directory, 0) && !collector_pulls(env->directory, 1));
    env->directory->nodes[1]->assigned = true;
    ck_assert(!collector_pulls(env->directory, 0) && collector_pulls(env->directory, 1));
    ck_assert(!collector_pulls(env->directory, 2));
    owm_msg_free(&env);
}
END_TEST

static Suite *collector_suite(void)
{
    Suite *s = suite_create("collector");
    TCase *tc = tcase_create("pull");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_pull_all);
    tcase_add_test(tc, test_credit_small_chunks);
    tcase_add_test(tc, test_no_double_count);
    tcase_add_test(tc, test_resume_from_cursor);
    suite_add_tcase(s, tc);
    tc = tcase_create("retention");
    tcase_add_test(tc, test_retention_marks_acked);
    tcase_add_test(tc, test_budget_acked_first);
    tcase_add_test(tc, test_budget_spares_unacked);
    suite_add_tcase(s, tc);
    tc = tcase_create("nothing lost");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_gaps_explained);
    tcase_add_test(tc, test_listing_stops_below_counter);
    tcase_add_test(tc, test_digest_mismatch_quarantined);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_timeout_reset);
    suite_add_tcase(s, tc);
    tc = tcase_create("sharing an archive");
    tcase_add_test(tc, test_share_archive_identity);
    tcase_add_test(tc, test_share_lease_and_division);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    daemon_log_open("check_collector", LOG_USER, getenv("CHECK_VERBOSE") ? LOG_DEBUG : LOG_WARNING, getenv("CHECK_VERBOSE") != NULL);
    SRunner *sr = srunner_create(collector_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
