/* check_agent.c - the node agent's logic: reconcile plans (keep / stop /
 * start), the saved schedule (round trip, missing, damaged, foreign files),
 * spool names (format, parse, hostile names, seq order), spool sequence
 * numbers across reopen, the tidying of a stream's work directory, the
 * summary / text helpers; and, with real stream engines against an absent
 * owampd, unmeasured time: the .unm files a stream writes and spools, "peer
 * down" while the coordinator says so (and the retry when the peer is back),
 * "node down" at start-up, the heartbeat file and the link's PeerHealth set. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw */
#endif
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_link.h"
#include "agent_reconcile.h"
#include "agent_spool.h"
#include "agent_store.h"
#include "agent_streams.h"
#include "clock.h"
#include "meshmsg.h"
#include "testutil.h"
#include "unmeasured.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void set(char **field, const char *value)
{
    owp_err e;
    ck_assert_msg(owm_msg_set_string(field, value, &e) == OWP_OK, "%s", e.msg);
}

/* A schedule for "chi" with streams from the given sources, ids "s-SOURCE". */
static owm_msg *make_schedule(uint64_t generation, const char *const *sources, size_t n)
{
    owp_err e;
    owm_msg *env = owm_msg_new(OWM_MSG_SCHEDULE, &e);
    ck_assert_msg(env != NULL, "%s", e.msg);
    env->schedule->generation = generation;
    set(&env->schedule->node, "chi");
    for (size_t i = 0; i < n; i++) {
        owm_msg_stream *st = owm_msg_schedule_add_stream(env->schedule, &e);
        ck_assert_msg(st != NULL, "%s", e.msg);
        char id[64], peer[64];
        snprintf(id, sizeof id, "s-%s", sources[i]);
        snprintf(peer, sizeof peer, "127.0.0.%zu:8610", i + 2);
        set(&st->id, id);
        set(&st->source, sources[i]);
        set(&st->peer, peer);
        st->params->count = 50;
        st->params->interval = 0.02;
        st->params->loss_timeout = 1;
    }
    return env;
}

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

/* ------------------------------------------------------------ saved schedule */

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    ck_assert_ptr_nonnull(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove a test's temporary directory and free its path. */
static void rm_tree(char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

START_TEST(store_round_trip)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "schedule.pb");
    const char *src[] = {"nyc", "sea", "lax"};
    owm_msg *env = make_schedule(7, src, 3);
    owm_msg_schedule_set_owamp_server(env->schedule, NULL)->test_port_low = 9000;
    env->schedule->owamp_server->test_port_high = 9100;
    env->schedule->owamp_server->modes = 1;
    owp_err e;
    ck_assert_msg(agent_store_save_schedule(path, env->schedule, &e) == OWP_OK, "%s", e.msg);
    char *tmp = path_in(dir, "schedule.pb.tmp");
    ck_assert_int_ne(access(tmp, F_OK), 0); /* renamed into place */
    owm_msg *back = NULL;
    ck_assert_msg(agent_store_load_schedule(path, &back, &e) == OWP_OK, "%s", e.msg);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->schedule->generation, 7);
    ck_assert_str_eq(back->schedule->node, "chi");
    ck_assert_uint_eq(back->schedule->n_streams, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert(owm_msg_stream_equal(back->schedule->streams[i], env->schedule->streams[i]));
    ck_assert_uint_eq(back->schedule->owamp_server->test_port_high, 9100);
    /* Overwriting replaces the whole content. */
    env->schedule->generation = 8;
    ck_assert(agent_store_save_schedule(path, env->schedule, &e) == OWP_OK);
    owm_msg_free(&back);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_OK);
    ck_assert_uint_eq(back->schedule->generation, 8);
    owm_msg_free(&back);
    owm_msg_free(&env);
    free(tmp);
    free(path);
    rm_tree(dir);
}
END_TEST

START_TEST(store_missing_file_is_no_schedule)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "none.pb");
    owm_msg *back = (owm_msg *)1;
    owp_err e;
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_OK);
    ck_assert_ptr_null(back);
    free(path);
    rm_tree(dir);
}
END_TEST

START_TEST(store_damaged_files_refused)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "schedule.pb");
    const char *src[] = {"nyc", "sea"};
    owm_msg *env = make_schedule(3, src, 2);
    owp_err e;
    uint8_t *good = NULL;
    size_t len = 0;
    ck_assert(owm_msg_encode(env, &good, &len, &e) == OWP_OK);

    /* empty, every truncation, garbage, another major version */
    write_bytes(path, "", 0);
    owm_msg *back = NULL;
    ck_assert(agent_store_load_schedule(path, &back, &e) != OWP_OK);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    int refused = 0;
    for (size_t cut = 1; cut < len; cut++) {
        write_bytes(path, good, cut);
        owp_status st = agent_store_load_schedule(path, &back, &e);
        if (st != OWP_OK)
            refused++;
        else /* a cut at a field boundary decodes: it must still be a valid schedule */
            ck_assert(back && back->schedule && back->schedule->generation == 3);
        owm_msg_free(&back);
    }
    ck_assert_int_gt(refused, (int)len / 2);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(0xff - i * 7);
    write_bytes(path, junk, sizeof junk);
    ck_assert(agent_store_load_schedule(path, &back, &e) != OWP_OK);
    ck_assert_ptr_null(back);
    uint8_t other[] = {0x08, 0x09}; /* version 9, nothing else */
    write_bytes(path, other, sizeof other);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(e.msg, "version"));

    /* A valid envelope of another kind is not a schedule. */
    owm_msg *hello = owm_msg_new_hello("chi", "x", "127.0.0.3:8610", "", 1, &e);
    uint8_t *hb = NULL;
    size_t hlen = 0;
    ck_assert(owm_msg_encode(hello, &hb, &hlen, &e) == OWP_OK);
    write_bytes(path, hb, hlen);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a Schedule"));

    /* Set aside: the damaged file moves to PATH.corrupt. */
    ck_assert(agent_store_set_aside(path, &e) == OWP_OK);
    ck_assert_int_ne(access(path, F_OK), 0);
    char *aside = path_in(dir, "schedule.pb.corrupt");
    ck_assert_int_eq(access(aside, F_OK), 0);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_OK && back == NULL);

    free(aside);
    free(hb);
    free(good);
    owm_msg_free(&hello);
    owm_msg_free(&env);
    free(path);
    rm_tree(dir);
}
END_TEST

START_TEST(store_atomic_write_fails_cleanly)
{
    owp_err e;
    ck_assert(agent_store_write_file("/nonexistent-dir/x", "a", 1, &e) == OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent-dir/x.tmp"));
}
END_TEST

/* ------------------------------------------------------------ spool names */

START_TEST(spool_name_round_trip)
{
    static const owm_file_kind kinds[] = {
        OWM_FILE_KIND_OWP, OWM_FILE_KIND_SUM,
        OWM_FILE_KIND_SUBSUM, OWM_FILE_KIND_UNMEASURED};
    static const char *digests[] = {"", "0123456789abcdef0123456789abcdef"};
    static const char *ids[] = {"3fa2c1d0e4b5968778695a4b3c2d1e0f", "a.b", "x.sub", "x_1.sum",
                                "0", "core-owd:nyc->chi"};
    static const char *names[] = {"00000000000000000012_00000000000000000034.owp",
                                  "00000000000000000012_00000000000000000034.sum",
                                  "00000000000000000012_00000000000000000034.sum",
                                  "00000000000000000012_00000000000000000034.unm"};
    for (size_t k = 0; k < N_ELEMS(kinds); k++)
        for (size_t i = 0; i < N_ELEMS(ids) * N_ELEMS(digests); i++) {
            const char *id = ids[i % N_ELEMS(ids)], *digest = digests[i / N_ELEMS(ids)];
            char buf[AGENT_SPOOL_NAME_MAX];
            ck_assert_int_eq(
                agent_spool_format_name(buf, sizeof buf, 42, id, 12, 34, kinds[k], digest), OWP_OK);
            agent_spool_entry e;
            ck_assert_msg(agent_spool_parse_name(buf, &e), "%s", buf);
            ck_assert_uint_eq(e.seq, 42);
            ck_assert_str_eq(e.stream_id, id);
            ck_assert_str_eq(e.digest, digest);
            ck_assert_uint_eq(e.start, 12);
            ck_assert_uint_eq(e.end, 34);
            ck_assert_int_eq(e.kind, kinds[k]);
            ck_assert_str_eq(e.name, names[k]);
        }
    char buf[AGENT_SPOOL_NAME_MAX];
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, 1, "ab", 17198800825823810332ull,
                                             17198800829833373001ull,
                                             OWM_FILE_KIND_SUBSUM, NULL), OWP_OK);
    ck_assert_str_eq(buf, "00000000000000000001.ab.17198800825823810332_17198800829833373001.sub.sum");
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, 1, "ab", 17198800825823810332ull,
                                             17198800829833373001ull,
                                             OWM_FILE_KIND_OWP,
                                             "0123456789abcdef0123456789abcdef"), OWP_OK);
    ck_assert_str_eq(buf, "00000000000000000001.ab.17198800825823810332_17198800829833373001."
                          "0123456789abcdef0123456789abcdef.owp");
    /* Longest id fits the buffer size. */
    char longid[OWM_MSG_MAX_ID + 1];
    memset(longid, 'z', OWM_MSG_MAX_ID);
    longid[OWM_MSG_MAX_ID] = '\0';
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, UINT64_MAX, longid, UINT64_MAX,
                                             UINT64_MAX, OWM_FILE_KIND_SUBSUM,
                                             "ffffffffffffffffffffffffffffffff"), OWP_OK);
    agent_spool_entry e;
    ck_assert(agent_spool_parse_name(buf, &e));
    ck_assert_uint_eq(e.seq, UINT64_MAX);
}
END_TEST

START_TEST(spool_name_refuses_bad_input)
{
    char buf[AGENT_SPOOL_NAME_MAX];
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, 1, "a/b", 1, 2,
                                             OWM_FILE_KIND_OWP, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, 1, "", 1, 2,
                                             OWM_FILE_KIND_OWP, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, 1, "..", 1, 2,
                                             OWM_FILE_KIND_OWP, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, 1, "ab", 1, 2,
                                             OWM_FILE_KIND_UNSPECIFIED, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(agent_spool_format_name(buf, 20, 1, "ab", 1, 2,
                                             OWM_FILE_KIND_OWP, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(agent_spool_format_name(buf, sizeof buf, 1, "ab", 1, 2,
                                             OWM_FILE_KIND_OWP, "ABCD"), OWP_ERR_INVALID);
    static const char *bad[] = {
        "",
        ".seq",
        ".seq.tmp",
        "00000000000000000001.ab.00000000000000000012_00000000000000000034.owp.i",
        "00000000000000000000.ab.00000000000000000012_00000000000000000034.owp", /* seq 0 */
        "0000000000000000001.ab.00000000000000000012_00000000000000000034.owp",  /* 19 digits */
        "00000000000000000001..00000000000000000012_00000000000000000034.owp",   /* empty id */
        "00000000000000000001.00000000000000000012_00000000000000000034.owp",    /* no id */
        "00000000000000000001.ab.0000000000000000001x_00000000000000000034.owp",
        "00000000000000000001.ab.00000000000000000012-00000000000000000034.owp",
        "00000000000000000001.ab.00000000000000000012_00000000000000000034.txt",
        "00000000000000000001-ab.00000000000000000012_00000000000000000034.owp",
        "99999999999999999999.ab.00000000000000000012_00000000000000000034.owp", /* > 2^64 */
        "00000000000000000001.a b.00000000000000000012_00000000000000000034.owp",
        "00000000000000000012_00000000000000000034.owp", /* the engine's own name */
        /* a digest that is not 32 lowercase hex digits */
        "00000000000000000001.ab.00000000000000000012_00000000000000000034."
        "0123456789ABCDEF0123456789abcdef.owp",
        "00000000000000000001.ab.00000000000000000012_00000000000000000034.0123456789abcdef.owp",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        agent_spool_entry e;
        ck_assert_msg(!agent_spool_parse_name(bad[i], &e), "accepted \"%s\"", bad[i]);
    }
}
END_TEST

START_TEST(spool_names_sort_in_seq_order)
{
    char a[AGENT_SPOOL_NAME_MAX], b[AGENT_SPOOL_NAME_MAX];
    for (uint64_t seq = 1; seq < 100000; seq = seq * 3 + 1) {
        agent_spool_format_name(a, sizeof a, seq, "zzz", 9, 9, OWM_FILE_KIND_SUM,
                                "ffffffffffffffffffffffffffffffff");
        agent_spool_format_name(b, sizeof b, seq + 1, "aaa", 1, 1,
                                OWM_FILE_KIND_OWP, NULL);
        ck_assert_int_lt(strcmp(a, b), 0);
    }
}
END_TEST

/* ------------------------------------------------------------ spool directory */

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        agent_spool_entry e;
        if (agent_spool_parse_name(de->d_name, &e))
            n++;
    }
    closedir(d);
    return n;
}

static void touch(const char *dir, const char *name, const char *text)
{
    char *p = path_in(dir, name);
    write_bytes(p, text, strlen(text));
    free(p);
}

static void max_seq(void *arg, const agent_spool_entry *e, uint64_t size)
{
    (void)size;
    uint64_t *m = arg;
    if (e->seq > *m)
        *m = e->seq;
}

START_TEST(spool_sequence_grows_across_reopen)
{
    char *dir = tu_tempdir();
    char *spooldir = path_in(dir, "spool");
    owp_err e;
    agent_spool *s = agent_spool_open(spooldir, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_uint_eq(agent_spool_next_seq(s), 1);
    touch(dir, "f.owp", "data");
    char *file = path_in(dir, "f.owp");
    uint64_t seq = 0;
    for (uint64_t want = 1; want <= 3; want++) {
        ck_assert_msg(agent_spool_add(s, file, "ab", want, want + 1,
                                      OWM_FILE_KIND_OWP, &seq, &e) == OWP_OK,
                      "%s", e.msg);
        ck_assert_uint_eq(seq, want);
    }
    ck_assert_uint_eq(count_entries(spooldir), 3);
    /* A file that cannot be linked takes no number. */
    ck_assert(agent_spool_add(s, "/nonexistent/f.owp", "ab", 1, 2,
                              OWM_FILE_KIND_OWP, &seq, &e) == OWP_ERR_SYS);
    ck_assert_uint_eq(agent_spool_next_seq(s), 4);
    agent_spool_destroy(&s);
    ck_assert_ptr_null(s);
    agent_spool_destroy(&s);

    /* Reopen: numbers continue past the reserved block, never reused, even
     * after every spooled file was collected (deleted). */
    s = agent_spool_open(spooldir, &e);
    ck_assert_ptr_nonnull(s);
    uint64_t next = agent_spool_next_seq(s);
    ck_assert_uint_ge(next, 4);
    agent_spool_destroy(&s);
    DIR *d = opendir(spooldir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        agent_spool_entry en;
        if (agent_spool_parse_name(de->d_name, &en))
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
    s = agent_spool_open(spooldir, &e);
    ck_assert_uint_ge(agent_spool_next_seq(s), next);
    agent_spool_destroy(&s);

    /* Without the .seq file the directory's highest seq still bounds it. */
    char *seqfile = path_in(spooldir, ".seq");
    unlink(seqfile);
    char name[AGENT_SPOOL_NAME_MAX];
    agent_spool_format_name(name, sizeof name, 5000, "ab", 1, 2, OWM_FILE_KIND_SUM,
                            NULL);
    touch(spooldir, name, "x");
    s = agent_spool_open(spooldir, &e);
    ck_assert_uint_eq(agent_spool_next_seq(s), 5001);
    uint64_t m = 0;
    ck_assert(agent_spool_scan(s, max_seq, &m, &e) == OWP_OK);
    ck_assert_uint_eq(m, 5000);
    agent_spool_destroy(&s);

    /* A damaged .seq file is an error naming it. */
    write_bytes(seqfile, "twelve\n", 7);
    s = agent_spool_open(spooldir, &e);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(e.msg, ".seq"));
    free(seqfile);
    free(file);
    free(spooldir);
    rm_tree(dir);
}
END_TEST

START_TEST(spool_tidy_work_dir)
{
    char *dir = tu_tempdir();
    char *spooldir = path_in(dir, "spool");
    char *work = path_in(dir, "work");
    ck_assert_int_eq(mkdir(work, 0755), 0);
    owp_err e;
    agent_spool *s = agent_spool_open(spooldir, &e);
    ck_assert_ptr_nonnull(s);
    /* A session whose .owp was spooled but not its .sum; a sub-session
     * summary never spooled; temporaries; an unrelated file. */
    const char *owp = "00000000000000000010_00000000000000000020.owp";
    const char *sum = "00000000000000000010_00000000000000000020.sum";
    const char *sub = "00000000000000000010_00000000000000000015.sum";
    touch(work, owp, "owp");
    touch(work, sum, "sum");
    touch(work, sub, "sub");
    touch(work, "00000000000000000020_00000000000000000030.owp.i", "partial");
    touch(work, ".pow.AbCdEf", "session data");
    touch(work, "README", "keep");
    char *owp_path = path_in(work, owp);
    ck_assert(agent_spool_add(s, owp_path, "ab", 10, 20, OWM_FILE_KIND_OWP, NULL,
                              &e) == OWP_OK);
    unsigned adopted = 0;
    ck_assert_msg(agent_spool_tidy_work_dir(s, work, "ab", &adopted, &e) == OWP_OK, "%s", e.msg);
    ck_assert_uint_eq(adopted, 2); /* the .sum and the sub-session .sum */
    ck_assert_uint_eq(count_entries(spooldir), 3);
    /* What is left in the work directory: only the unrelated file. */
    DIR *d = opendir(work);
    struct dirent *de;
    size_t left = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        ck_assert_str_eq(de->d_name, "README");
        left++;
    }
    closedir(d);
    ck_assert_uint_eq(left, 1);
    /* The summary kinds were told apart by the session's .owp. */
    int have_sum = 0, have_sub = 0;
    d = opendir(spooldir);
    while ((de = readdir(d)) != NULL) {
        agent_spool_entry en;
        if (!agent_spool_parse_name(de->d_name, &en))
            continue;
        if (en.kind == OWM_FILE_KIND_SUM && en.end == 20)
            have_sum = 1;
        if (en.kind == OWM_FILE_KIND_SUBSUM && en.end == 15)
            have_sub = 1;
    }
    closedir(d);
    ck_assert(have_sum && have_sub);
    /* A missing work directory is fine. */
    ck_assert(agent_spool_tidy_work_dir(s, "/nonexistent/work", "ab", &adopted, &e) == OWP_OK);
    ck_assert_uint_eq(adopted, 0);
    agent_spool_destroy(&s);
    free(owp_path);
    free(work);
    free(spooldir);
    rm_tree(dir);
}
END_TEST

/* ------------------------------------------------------------ helpers */

/* A scheduled stream as powstream options: the measurement fields only. */
START_TEST(stream_opts_from_schedule)
{
    static const char *const sources[] = {"nyc", "sea"};
    owm_msg *env = make_schedule(42, sources, 2);
    owm_msg_stream *st = env->schedule->streams[0];
    set(&st->peer, "127.0.0.2:8861");
    st->params->count = 600;
    st->params->sub_session_count = 60;
    st->params->interval = 0.1;
    st->params->loss_timeout = 10;
    st->params->padding = 20;
    st->params->dscp = 46;
    st->params->modes = OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    set(&st->params->identity, "meshkey");
    st = env->schedule->streams[1];
    st->params->count = 300;
    st->params->dscp = -1;
    owp_stream_opts o;
    owp_stream_opts_default(&o);
    o.dir = "/spool/x";
    agent_streams_opts_of(env->schedule->streams[0], &o);
    ck_assert_str_eq(o.client.server, "127.0.0.2:8861");
    ck_assert_str_eq(o.client.identity, "meshkey");
    ck_assert_uint_eq(o.client.modes, 6);
    ck_assert_int_eq(o.sender, 0);
    ck_assert_uint_eq(o.npackets, 600);
    ck_assert_uint_eq(o.sub_count, 60);
    ck_assert(o.interval == 0.1 && o.loss_timeout == 10 && o.bucket_width == 0.0001);
    ck_assert_uint_eq(o.padding, 20);
    ck_assert_int_eq(o.dscp, 46);
    ck_assert_str_eq(o.dir, "/spool/x"); /* untouched */
    owp_err e;
    ck_assert_msg(owp_stream_check_opts(&o, &e) == OWP_OK, "%s", e.msg);
    agent_streams_opts_of(env->schedule->streams[1], &o);
    ck_assert_ptr_null(o.client.identity);
    ck_assert_int_eq(o.dscp, -1);
    ck_assert_uint_eq(o.npackets, 300);
    owm_msg_free(&env);
}
END_TEST

START_TEST(summary_sent_lost)
{
    char *dir = tu_tempdir();
    char *p = path_in(dir, "x.sum");
    const char *text = "SUMMARY\t3.00\nSENT\t300\nSYNC\t0\nDUPS\t0\nLOST\t7\nMIN\t0.1\n";
    write_bytes(p, text, strlen(text));
    uint32_t sent = 0, lost = 0;
    ck_assert_int_eq(agent_streams_read_summary(p, &sent, &lost), 0);
    ck_assert_uint_eq(sent, 300);
    ck_assert_uint_eq(lost, 7);
    write_bytes(p, "SUMMARY\t3.00\nSENT\t300\n", 22);
    ck_assert_int_eq(agent_streams_read_summary(p, &sent, &lost), -1);
    write_bytes(p, "SENT\tx\nLOST\t1\n", 14);
    ck_assert_int_eq(agent_streams_read_summary(p, &sent, &lost), -1);
    ck_assert_int_eq(agent_streams_read_summary("/nonexistent/x.sum", &sent, &lost), -1);
    /* The reference vector (a preliminary sub-session summary). */
    char *vec = tu_vector_path("powstream/17198800825823810332_17198800829833373001.sum");
    ck_assert_int_eq(agent_streams_read_summary(vec, &sent, &lost), 0);
    ck_assert_uint_eq(sent, 100);
    ck_assert_uint_eq(lost, 0);
    free(vec);
    free(p);
    rm_tree(dir);
}
END_TEST

START_TEST(clean_text_is_valid_message_text)
{
    char out[OWM_MSG_MAX_TEXT + 100];
    agent_streams_clean_text(out, sizeof out, "peer\t127.0.0.2:\x01\x7f\xc3\xa9 refused\n");
    ck_assert_str_eq(out, "peer?127.0.0.2:???? refused?");
    ck_assert(owm_msg_text_ok(out, OWM_MSG_MAX_TEXT));
    char big[OWM_MSG_MAX_TEXT * 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    agent_streams_clean_text(out, sizeof out, big);
    ck_assert_uint_eq(strlen(out), OWM_MSG_MAX_TEXT);
    agent_streams_clean_text(out, 4, "abcdef");
    ck_assert_str_eq(out, "abc");
    agent_streams_clean_text(out, sizeof out, NULL);
    ck_assert_str_eq(out, "");
}
END_TEST

/* ------------------------------------------------------------ unmeasured time (issue 9) */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Where the peer's owampd would be: a loopback port nothing serves (tcpmux,
 * port 1), so every connection is refused. */
#define ABSENT_PORT 1

/* A node "chi" receiving one fast stream "s-nyc" from nyc, whose owampd is
 * absent. */
typedef struct stream_rig {
    char *dir, *spooldir, *work;
    char peer[64];
    agent_spool *spool;
    agent_streams *set;
    owm_msg *schedule;
} stream_rig;

static void rig_start(stream_rig *r)
{
    owp_err e;
    memset(r, 0, sizeof *r);
    ck_assert_int_eq(owp_clock_init(&e), OWP_OK);
    r->dir = tu_tempdir();
    r->spooldir = path_in(r->dir, "spool");
    r->work = path_in(r->dir, "streams");
    r->spool = agent_spool_open(r->spooldir, &e);
    ck_assert_msg(r->spool != NULL, "%s", e.msg);
    agent_streams_config c = {.node = "chi", .work_root = r->work, .spool = r->spool,
                              .start_delay = 0.3};
    r->set = agent_streams_new(&c, &e);
    ck_assert_msg(r->set != NULL, "%s", e.msg);
    const char *src[] = {"nyc"};
    r->schedule = make_schedule(1, src, 1);
    owm_msg_stream *st = r->schedule->schedule->streams[0];
    snprintf(r->peer, sizeof r->peer, "127.0.0.1:%d", ABSENT_PORT);
    set(&st->peer, r->peer);
    st->params->count = 20;
    st->params->interval = 0.01;
    st->params->loss_timeout = 0.1;
}

static void rig_apply(stream_rig *r)
{
    owp_err e;
    agent_apply_result res;
    ck_assert(agent_streams_apply(r->set, r->schedule->schedule->streams,
                                  r->schedule->schedule->n_streams, &res, &e) == OWP_OK);
    ck_assert_uint_eq(res.started, 1);
    ck_assert_uint_eq(res.failed, 0);
}

static void rig_stop(stream_rig *r)
{
    agent_streams_destroy(&r->set);
    agent_spool_destroy(&r->spool);
    owm_msg_free(&r->schedule);
    free(r->spooldir);
    free(r->work);
    rm_tree(r->dir);
}

typedef struct unm_found {
    const char *spooldir;
    owp_num64 min_start;   /* only intervals starting at or after this */
    int n;
    owm_unmeasured last;   /* the latest-starting one */
} unm_found;

static void find_unm(void *arg, const agent_spool_entry *e, uint64_t size)
{
    unm_found *f = arg;
    (void)size;
    if (e->kind != OWM_FILE_KIND_UNMEASURED || e->start < f->min_start)
        return;
    char name[AGENT_SPOOL_NAME_MAX];
    ck_assert_int_eq(agent_spool_entry_name(e, name, sizeof name), 0);
    char *path = path_in(f->spooldir, name);
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    owm_unmeasured u;
    owp_err err;
    ck_assert_msg(owm_unmeasured_parse(text, len, &u, &err) == OWP_OK, "%s: %s", name, err.msg);
    ck_assert_uint_eq(u.start, e->start);
    ck_assert_uint_eq(u.end, e->end);
    ck_assert_str_eq(u.stream_id, e->stream_id);
    if (!f->n || u.start > f->last.start)
        f->last = u;
    f->n++;
    free(text);
    free(path);
}

/* Wait (at most max_s) for an unmeasured interval starting at or after min_start. */
static unm_found wait_unm(stream_rig *r, owp_num64 min_start, double max_s)
{
    unm_found f = {.spooldir = r->spooldir, .min_start = min_start};
    double t0 = mono_now();
    owp_err e;
    do {
        nap(0.05);
        f.n = 0;
        ck_assert(agent_spool_scan(r->spool, find_unm, &f, &e) == OWP_OK);
    } while (f.n == 0 && mono_now() - t0 < max_s);
    ck_assert_msg(f.n > 0, "no unmeasured interval spooled within %.0f s", max_s);
    return f;
}

/* The one stream's health as the node would report it. */
static owm_msg *rig_status(stream_rig *r, owm_msg_stream_health **h)
{
    owp_err e;
    owm_msg *env = owm_msg_new(OWM_MSG_STATUS, &e);
    ck_assert_ptr_nonnull(env);
    set(&env->status->node, "chi");
    ck_assert(agent_streams_fill_status(r->set, env->status, &e) == OWP_OK);
    ck_assert_uint_eq(env->status->n_streams, 1);
    *h = env->status->streams[0];
    return env;
}

/* Nothing but the stream's finished-file temporaries may be left in its
 * work directory: every .unm went to the spool. */
static void assert_work_dir_clean(stream_rig *r)
{
    char *wd = path_in(r->work, "s-nyc");
    DIR *d = opendir(wd);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        ck_assert_msg(!(n > 4 && strcmp(de->d_name + n - 4, ".unm") == 0) &&
                          !(n > 2 && strcmp(de->d_name + n - 2, ".i") == 0),
                      "%s left in the work directory", de->d_name);
    }
    closedir(d);
    free(wd);
}

START_TEST(streams_unmeasured_spooled)
{
    stream_rig r;
    rig_start(&r);
    owp_num64 t0 = owp_clock_now(NULL);
    rig_apply(&r);
    unm_found f = wait_unm(&r, 0, 10);
    /* The peer's owampd refuses: "owampd refused", never lost packets. */
    ck_assert_str_eq(f.last.stream_id, "s-nyc");
    ck_assert_int_eq(f.last.reason, OWM_UNMEASURED_OWAMPD_REFUSED);
    ck_assert_str_eq(f.last.sender, r.peer);
    ck_assert_uint_gt(f.last.start, t0);
    ck_assert_uint_le(f.last.end, owp_clock_now(NULL));
    ck_assert_msg(strstr(f.last.detail, "Connection refused"), "detail: %s", f.last.detail);
    assert_work_dir_clean(&r);

    /* Health: starting (never measured), unmeasured since the first attempt. */
    owm_msg_stream_health *h;
    owm_msg *env = rig_status(&r, &h);
    owp_num64 now = owp_clock_now(NULL);
    ck_assert_int_eq(h->state, OWM_STREAM_STATE_STARTING);
    ck_assert_str_eq(h->unmeasured_reason, "owampd refused");
    ck_assert_uint_ge(h->started, t0);
    ck_assert_uint_ge(h->unmeasured_since, h->started);
    ck_assert_uint_le(h->unmeasured_since, now);
    ck_assert_uint_ge(h->last_attempt, h->unmeasured_since);
    ck_assert_uint_le(h->last_attempt, now);
    ck_assert_uint_eq(h->last_session_end, 0);
    ck_assert_uint_eq(h->sessions_completed, 0);
    owp_err e;
    ck_assert_msg(owm_msg_validate(env, &e) == OWP_OK, "%s", e.msg);
    owm_msg_free(&env);
    rig_stop(&r);
}
END_TEST

/* The attempt after which the engine waits at least 4 s (back-off 1, 2, 4 s):
 * wait for two attempts at least 1.8 s apart. Returns its time. */
static owp_num64 wait_long_backoff(stream_rig *r)
{
    owp_num64 prev = 0;
    double t0 = mono_now();
    while (mono_now() - t0 < 15) {
        owm_msg_stream_health *h;
        owm_msg *env = rig_status(r, &h);
        owp_num64 last = h->last_attempt;
        owm_msg_free(&env);
        if (prev && last != prev) {
            if (owp_num64_to_double(last - prev) >= 1.8)
                return last;
        }
        prev = last;
        nap(0.02);
    }
    ck_abort_msg("no back-off of 2 s seen");
    return 0;
}

START_TEST(streams_peer_down_and_back)
{
    stream_rig r;
    rig_start(&r);
    rig_apply(&r);
    const char *down[] = {"sea", "nyc"};
    agent_streams_set_peers_down(r.set, down, 2);
    /* While the coordinator says nyc is down, its stream's time is "peer down". */
    unm_found f = wait_unm(&r, 0, 10);
    ck_assert_int_eq(f.last.reason, OWM_UNMEASURED_PEER_DOWN);
    ck_assert_str_eq(f.last.sender, r.peer);
    owm_msg_stream_health *h;
    owm_msg *env = rig_status(&r, &h);
    ck_assert_str_eq(h->unmeasured_reason, "peer down");
    ck_assert_int_eq(h->state, OWM_STREAM_STATE_STARTING);
    owm_msg_free(&env);

    /* nyc is back: the stream tries at once instead of at the end of its
     * back-off (4 s away). */
    owp_num64 attempt = wait_long_backoff(&r);
    /* The time of the news, read before it is given: the stream may retry
     * before this thread runs again. */
    owp_num64 back = owp_clock_now(NULL);
    agent_streams_set_peers_down(r.set, down, 1); /* "sea" only */
    double t0 = mono_now();
    owp_num64 next = attempt;
    while (next == attempt && mono_now() - t0 < 3) {
        nap(0.02);
        env = rig_status(&r, &h);
        next = h->last_attempt;
        owm_msg_free(&env);
    }
    ck_assert_msg(next != attempt, "no attempt after the peer came back");
    ck_assert_msg(owp_num64_to_double(next - back) < 1.0, "retried %.2f s after the peer came back",
                  owp_num64_to_double(next - back));
    /* Its owampd still refuses: after the peer's return that is what it is. */
    f = wait_unm(&r, back, 10);
    ck_assert_int_eq(f.last.reason, OWM_UNMEASURED_OWAMPD_REFUSED);
    env = rig_status(&r, &h);
    ck_assert_str_eq(h->unmeasured_reason, "owampd refused");
    owm_msg_free(&env);
    assert_work_dir_clean(&r);
    rig_stop(&r);
}
END_TEST

START_TEST(streams_node_down_recorded)
{
    stream_rig r;
    rig_start(&r);
    rig_apply(&r);
    owp_num64 now = owp_clock_now(NULL);
    owp_num64 since = now - owp_num64_from_double(60);
    /* Down for a second before a 0.3 s start delay: no outage worth saying. */
    ck_assert_uint_eq(agent_streams_record_node_down(r.set, now - owp_num64_from_double(1), 5.0), 0);
    ck_assert_uint_eq(agent_streams_record_node_down(r.set, 0, 5.0), 0);
    /* Down for a minute: [last heartbeat, first session) is "node down". */
    ck_assert_uint_eq(agent_streams_record_node_down(r.set, since, 5.0), 1);
    unm_found f = wait_unm(&r, 0, 1);
    ck_assert_int_eq(f.n, 1);
    ck_assert_int_eq(f.last.reason, OWM_UNMEASURED_NODE_DOWN);
    ck_assert_uint_eq(f.last.start, since);
    ck_assert_uint_gt(f.last.end, now);
    ck_assert_uint_le(f.last.end, now + owp_num64_from_double(1.0));
    ck_assert_msg(strstr(f.last.detail, "not running"), "detail: %s", f.last.detail);
    assert_work_dir_clean(&r);
    rig_stop(&r);
}
END_TEST

START_TEST(store_alive_round_trip)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "alive");
    owp_err e;
    owp_num64 t = 1;
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_OK);
    ck_assert_uint_eq(t, 0); /* never ran */
    ck_assert(agent_store_save_alive(path, 17198800808123080680ull, &e) == OWP_OK);
    ck_assert(agent_store_save_alive(path, 17198800812948965449ull, &e) == OWP_OK);
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_OK);
    ck_assert_uint_eq(t, 17198800812948965449ull);
    char *tmp = path_in(dir, "alive.tmp");
    ck_assert_int_ne(access(tmp, F_OK), 0);
    write_bytes(path, "owmesh-node-alive twelve\n", 25);
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    write_bytes(path, "owmesh-node-alive 12", 20); /* cut short */
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_ERR_FORMAT);
    free(tmp);
    free(path);
    rm_tree(dir);
}
END_TEST

START_TEST(link_keeps_peer_health)
{
    owp_err e;
    zcert_t *cert = zcert_new();
    zcert_t *coord = zcert_new();
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ABSENT_PORT);
    agent_link_config lc = {.endpoint = endpoint, .cert = cert,
                            .server_key = zcert_public_txt(coord)};
    agent_link *link = agent_link_new(&lc, &e);
    ck_assert_msg(link != NULL, "%s", e.msg);
    const char *const *names;
    ck_assert_uint_eq(agent_link_peers_down(link, &names), 0);

    owm_msg *env = owm_msg_new(OWM_MSG_PEER_HEALTH, &e);
    ck_assert_ptr_nonnull(env);
    ck_assert(owm_msg_peer_health_add_down(env->peer_health, "lax", &e) == OWP_OK);
    ck_assert(owm_msg_peer_health_add_down(env->peer_health, "nyc", &e) == OWP_OK);
    int changed = 0;
    ck_assert(agent_link_set_peer_health(link, env->peer_health, &changed, &e) == OWP_OK);
    ck_assert_int_eq(changed, 1);
    ck_assert_uint_eq(agent_link_peers_down(link, &names), 2);
    ck_assert_str_eq(names[0], "lax");
    ck_assert_str_eq(names[1], "nyc");
    ck_assert(agent_link_set_peer_health(link, env->peer_health, &changed, &e) == OWP_OK);
    ck_assert_int_eq(changed, 0); /* the same set again */
    owm_msg_free(&env);

    env = owm_msg_new(OWM_MSG_PEER_HEALTH, &e); /* every node up */
    ck_assert(agent_link_set_peer_health(link, env->peer_health, &changed, &e) == OWP_OK);
    ck_assert_int_eq(changed, 1);
    ck_assert_uint_eq(agent_link_peers_down(link, &names), 0);
    owm_msg_free(&env);
    agent_link_destroy(&link);
    ck_assert_ptr_null(link);
    zcert_destroy(&cert);
    zcert_destroy(&coord);
}
END_TEST

static Suite *agent_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, plan_from_nothing_starts_all);
    tcase_add_test(tc, plan_same_schedule_keeps_all);
    tcase_add_test(tc, plan_removed_changed_new);
    tcase_add_test(tc, plan_every_parameter_counts);
    tcase_add_test(tc, plan_empty_schedule_stops_all_and_repeats_ignored);
    suite_add_tcase(s, tc);
    tc = tcase_create("store");
    tcase_add_test(tc, store_round_trip);
    tcase_add_test(tc, store_missing_file_is_no_schedule);
    tcase_add_test(tc, store_damaged_files_refused);
    tcase_add_test(tc, store_atomic_write_fails_cleanly);
    suite_add_tcase(s, tc);
    tc = tcase_create("spool_names");
    tcase_add_test(tc, spool_name_round_trip);
    tcase_add_test(tc, spool_name_refuses_bad_input);
    tcase_add_test(tc, spool_names_sort_in_seq_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("spool_dir");
    tcase_add_test(tc, spool_sequence_grows_across_reopen);
    tcase_add_test(tc, spool_tidy_work_dir);
    suite_add_tcase(s, tc);
    tc = tcase_create("helpers");
    tcase_add_test(tc, stream_opts_from_schedule);
    tcase_add_test(tc, summary_sent_lost);
    tcase_add_test(tc, clean_text_is_valid_message_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("unmeasured");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, store_alive_round_trip);
    tcase_add_test(tc, link_keeps_peer_health);
    tcase_add_test(tc, streams_unmeasured_spooled);
    tcase_add_test(tc, streams_peer_down_and_back);
    tcase_add_test(tc, streams_node_down_recorded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(agent_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
