/* check_agent_spool.c - the node agent's spool (node/agent/agent_spool.c):
 * spool names (format, parse, hostile names, seq order), sequence numbers
 * across reopen, the tidying of a stream's work directory, and the work
 * queues on a full disk (issue 11): nothing left behind once space returns,
 * every file spooled once and in order, no unspooled .owp deleted, the
 * restart's adoption. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_spool.h"
#include "agent_testutil.h"
#include "meshmsg.h"
#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
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

/* ------------------------------------------------------------ a full disk (issue 11) */

/* A stream's work directory and the spool, side by side. */
typedef struct queue_rig {
    char *dir, *spooldir, *work;
    agent_spool *spool;
    agent_spool_queue *q;
} queue_rig;

static void queue_rig_start(queue_rig *r)
{
    owp_err e;
    r->dir = tu_tempdir();
    r->spooldir = path_in(r->dir, "spool");
    r->work = path_in(r->dir, "work");
    ck_assert_int_eq(mkdir(r->work, 0755), 0);
    r->spool = agent_spool_open(r->spooldir, &e);
    ck_assert_msg(r->spool != NULL, "%s", e.msg);
    r->q = agent_spool_queue_new(r->spool, r->work, "ab", &e);
    ck_assert_msg(r->q != NULL, "%s", e.msg);
}

static void queue_rig_stop(queue_rig *r)
{
    agent_spool_queue_destroy(&r->q);
    agent_spool_destroy(&r->spool);
    free(r->spooldir);
    free(r->work);
    rm_tree(r->dir);
}

/* The engine finished work/START_END.EXT (its content: the name). */
static void finish(queue_rig *r, uint64_t start, uint64_t end, const char *ext,
                   owm_file_kind kind)
{
    char name[64];
    snprintf(name, sizeof name, "%020llu_%020llu%s", (unsigned long long)start,
             (unsigned long long)end, ext);
    touch(r->work, name, name);
    owp_err e;
    ck_assert_msg(agent_spool_queue_file(r->q, name, kind, start, end, &e) == OWP_OK, "%s",
                  e.msg);
}

static agent_spool_drain drain(queue_rig *r)
{
    agent_spool_drain d;
    owp_err e;
    owp_err_clear(&e);
    agent_spool_queue_drain(r->q, &d, &e);
    return d;
}

/* Entries of a directory other than . and .. */
static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

typedef struct spooled {
    agent_spool_entry v[32];
    size_t n;
} spooled;

static void collect(void *arg, const agent_spool_entry *e, uint64_t size)
{
    (void)size;
    spooled *sp = arg;
    ck_assert_uint_lt(sp->n, 32);
    sp->v[sp->n++] = *e;
}

static int cmp_seq(const void *a, const void *b)
{
    uint64_t x = ((const agent_spool_entry *)a)->seq, y = ((const agent_spool_entry *)b)->seq;
    return x < y ? -1 : x > y;
}

/* The spool's files in seq order. */
static spooled list_spool(queue_rig *r)
{
    spooled sp;
    memset(&sp, 0, sizeof sp);
    owp_err e;
    ck_assert(agent_spool_scan(r->spool, collect, &sp, &e) == OWP_OK);
    qsort(sp.v, sp.n, sizeof sp.v[0], cmp_seq);
    return sp;
}

/* The spool's files in seq order, which must be n, of these kinds, ending
 * at these times. */
static spooled expect_spooled(queue_rig *r, const owm_file_kind *kinds, const uint64_t *ends,
                              size_t n)
{
    spooled sp = list_spool(r);
    ck_assert_uint_eq(sp.n, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(sp.v[i].kind, kinds[i]);
        ck_assert_uint_eq(sp.v[i].end, ends[i]);
    }
    return sp;
}

/* The spooled file e holds text. */
static void assert_spooled_text(queue_rig *r, const agent_spool_entry *e, const char *text)
{
    char name[AGENT_SPOOL_NAME_MAX];
    ck_assert_int_eq(agent_spool_entry_name(e, name, sizeof name), OWP_OK);
    char *p = path_in(r->spooldir, name);
    size_t len = 0;
    char *got = tu_read_file(p, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert(memcmp(got, text, len) == 0);
    free(got);
    free(p);
}

/* The disk is full while a session and what follows it finish: nothing is
 * spooled, nothing removed; once space returns one drain spools it all, in
 * the engine's order, once each, and leaves the work directory empty. */
START_TEST(queue_full_disk_then_space)
{
    queue_rig r;
    queue_rig_start(&r);
    agent_spool_fail_links(r.spool, ENOSPC);
    finish(&r, 10, 15, ".sum", OWM_FILE_KIND_SUBSUM);
    finish(&r, 10, 20, ".owp", OWM_FILE_KIND_OWP);
    finish(&r, 10, 20, ".sum", OWM_FILE_KIND_SUM);
    agent_spool_drain d = drain(&r);
    ck_assert_int_eq(d.now_blocked, 1);
    ck_assert_int_eq(d.blocked_errno, ENOSPC);
    ck_assert_uint_eq(d.waiting, 3);
    ck_assert_uint_eq(d.spooled, 0);
    owp_err e;
    ck_assert(agent_spool_queue_text(r.q, "00000000000000000020_00000000000000000025.unm",
                                     OWM_FILE_KIND_UNMEASURED, 20, 25, "unm", 3, &e) == OWP_OK);
    finish(&r, 25, 35, ".owp", OWM_FILE_KIND_OWP);
    finish(&r, 25, 35, ".sum", OWM_FILE_KIND_SUM);
    /* Still full: said once, not again for every file. */
    d = drain(&r);
    ck_assert_int_eq(d.now_blocked, 0);
    ck_assert_uint_eq(d.waiting, 6);
    ck_assert_uint_eq(count_entries(r.spooldir), 0);
    ck_assert_uint_eq(count_files(r.work), 6); /* the interval was written, not spooled */
    ck_assert_uint_eq(agent_spool_next_seq(r.spool), 1);

    agent_spool_fail_links(r.spool, 0);
    d = drain(&r);
    ck_assert_int_eq(d.now_unblocked, 1);
    ck_assert_uint_eq(d.since_blocked, 6);
    ck_assert_uint_eq(d.spooled, 6);
    ck_assert_uint_eq(d.waiting, 0);
    ck_assert_uint_eq(count_files(r.work), 0);
    static const owm_file_kind kinds[] = {OWM_FILE_KIND_SUBSUM, OWM_FILE_KIND_OWP,
                                          OWM_FILE_KIND_SUM, OWM_FILE_KIND_UNMEASURED,
                                          OWM_FILE_KIND_OWP, OWM_FILE_KIND_SUM};
    static const uint64_t ends[] = {15, 20, 20, 25, 35, 35};
    spooled sp = expect_spooled(&r, kinds, ends, 6);
    for (size_t i = 0; i < sp.n; i++) {
        ck_assert_uint_eq(sp.v[i].seq, i + 1);
        ck_assert_str_eq(sp.v[i].stream_id, "ab");
    }
    assert_spooled_text(&r, &sp.v[1], "00000000000000000010_00000000000000000020.owp");
    assert_spooled_text(&r, &sp.v[3], "unm");
    /* Nothing more to do, and nothing spooled twice. */
    d = drain(&r);
    ck_assert_uint_eq(d.spooled, 0);
    ck_assert_int_eq(d.now_unblocked, 0);
    ck_assert_uint_eq(count_entries(r.spooldir), 6);
    queue_rig_stop(&r);
}
END_TEST

/* A session's .owp that could not be spooled survives its summary: the
 * .sum waits behind it, and the .owp reaches the spool first. */
START_TEST(queue_summary_keeps_unspooled_owp)
{
    queue_rig r;
    queue_rig_start(&r);
    agent_spool_fail_links(r.spool, EDQUOT);
    finish(&r, 10, 20, ".owp", OWM_FILE_KIND_OWP);
    agent_spool_drain d = drain(&r);
    ck_assert_int_eq(d.blocked_errno, EDQUOT);
    agent_spool_fail_links(r.spool, 0); /* space back just as the summary comes */
    finish(&r, 10, 20, ".sum", OWM_FILE_KIND_SUM);
    d = drain(&r);
    ck_assert_uint_eq(d.spooled, 2);
    spooled sp = list_spool(&r);
    ck_assert_uint_eq(sp.n, 2);
    ck_assert_int_eq(sp.v[0].kind, OWM_FILE_KIND_OWP);
    ck_assert_int_eq(sp.v[1].kind, OWM_FILE_KIND_SUM);
    assert_spooled_text(&r, &sp.v[0], "00000000000000000010_00000000000000000020.owp");
    ck_assert_uint_eq(count_files(r.work), 0);

    /* The .owp spooled but its .sum not: the .owp's work copy stays (the
     * restart needs it), and is not spooled again. */
    finish(&r, 20, 30, ".owp", OWM_FILE_KIND_OWP);
    ck_assert_uint_eq(drain(&r).spooled, 1);
    agent_spool_fail_links(r.spool, ENOSPC);
    finish(&r, 20, 30, ".sum", OWM_FILE_KIND_SUM);
    ck_assert_uint_eq(drain(&r).waiting, 1);
    char *owp = path_in(r.work, "00000000000000000020_00000000000000000030.owp");
    ck_assert_int_eq(access(owp, F_OK), 0);
    /* The engine does not hand a file twice, but if it did: queued once. */
    owp_err e;
    ck_assert(agent_spool_queue_file(r.q, "00000000000000000020_00000000000000000030.owp",
                                     OWM_FILE_KIND_OWP, 20, 30, &e) == OWP_OK);
    ck_assert(agent_spool_queue_file(r.q, "00000000000000000020_00000000000000000030.sum",
                                     OWM_FILE_KIND_SUM, 20, 30, &e) == OWP_OK);
    ck_assert_uint_eq(agent_spool_queue_waiting(r.q), 1);
    agent_spool_fail_links(r.spool, 0);
    ck_assert_uint_eq(drain(&r).spooled, 1);
    ck_assert_int_ne(access(owp, F_OK), 0);
    sp = list_spool(&r);
    ck_assert_uint_eq(sp.n, 4);
    ck_assert_int_eq(sp.v[2].kind, OWM_FILE_KIND_OWP);
    ck_assert_int_eq(sp.v[3].kind, OWM_FILE_KIND_SUM);
    ck_assert_uint_eq(count_files(r.work), 0);
    free(owp);
    queue_rig_stop(&r);
}
END_TEST

/* An interval that cannot even be written (the file size limit gives
 * EFBIG, as a full disk gives ENOSPC) waits in memory; no asserts while the
 * limit is low (Check itself writes files). */
START_TEST(queue_holds_unwritten_interval)
{
    queue_rig r;
    queue_rig_start(&r);
    owp_err e;
    finish(&r, 1, 5, ".sum", OWM_FILE_KIND_SUBSUM);
    ck_assert_uint_eq(drain(&r).spooled, 1); /* the first block of numbers is reserved */
    struct rlimit old, low;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 0;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &low), 0);
    owp_status queued = agent_spool_queue_text(r.q, "00000000000000000005_00000000000000000009.unm",
                                               OWM_FILE_KIND_UNMEASURED, 5, 9, "interval", 8, &e);
    agent_spool_drain full = drain(&r);
    size_t files = count_files(r.work), unwritten = agent_spool_queue_unwritten(r.q);
    int restored = setrlimit(RLIMIT_FSIZE, &old);
    ck_assert_int_eq(restored, 0);
    ck_assert_int_eq(queued, OWP_OK);
    ck_assert_int_eq(full.now_blocked, 1);
    ck_assert_int_eq(full.blocked_errno, EFBIG);
    ck_assert_uint_eq(full.waiting, 1);
    ck_assert_uint_eq(unwritten, 1);
    ck_assert_uint_eq(files, 0); /* not even a NAME.i */
    agent_spool_drain d = drain(&r);
    ck_assert_int_eq(d.now_unblocked, 1);
    ck_assert_uint_eq(d.spooled, 1);
    ck_assert_uint_eq(agent_spool_queue_unwritten(r.q), 0);
    spooled sp = list_spool(&r);
    ck_assert_uint_eq(sp.n, 2);
    ck_assert_int_eq(sp.v[1].kind, OWM_FILE_KIND_UNMEASURED);
    assert_spooled_text(&r, &sp.v[1], "interval");
    ck_assert_uint_eq(count_files(r.work), 0);
    queue_rig_stop(&r);
}
END_TEST

/* The node stops while the disk is full: what waits stays in the work
 * directory, and the next start spools it, in order, without spooling the
 * session's .owp a second time. */
START_TEST(queue_restart_adopts_in_order)
{
    queue_rig r;
    queue_rig_start(&r);
    finish(&r, 10, 20, ".owp", OWM_FILE_KIND_OWP);
    ck_assert_uint_eq(drain(&r).spooled, 1);
    agent_spool_fail_links(r.spool, ENOSPC);
    finish(&r, 10, 20, ".sum", OWM_FILE_KIND_SUM);
    finish(&r, 20, 25, ".sum", OWM_FILE_KIND_SUBSUM);
    finish(&r, 20, 30, ".owp", OWM_FILE_KIND_OWP);
    finish(&r, 20, 30, ".sum", OWM_FILE_KIND_SUM);
    finish(&r, 30, 40, ".unm", OWM_FILE_KIND_UNMEASURED);
    ck_assert_uint_eq(drain(&r).waiting, 5);
    agent_spool_queue_engine_gone(r.q);
    agent_spool_queue_destroy(&r.q);
    /* Even a collector's delete of the spooled .owp cannot make it look
     * unspooled: its work copy is marked. */
    char *marked = path_in(r.work, "00000000000000000010_00000000000000000020.owp.spooled");
    ck_assert_int_eq(access(marked, F_OK), 0);
    touch(r.work, "00000000000000000040_00000000000000000050.owp.i", "partial");

    /* Still full at the restart: nothing moves, nothing is lost. */
    unsigned adopted = 9;
    owp_err e;
    ck_assert(agent_spool_tidy_work_dir(r.spool, r.work, "ab", &adopted, &e) != OWP_OK);
    ck_assert_uint_eq(adopted, 0);
    ck_assert_uint_eq(count_files(r.work), 6);
    agent_spool_fail_links(r.spool, 0);
    ck_assert_msg(agent_spool_tidy_work_dir(r.spool, r.work, "ab", &adopted, &e) == OWP_OK, "%s",
                  e.msg);
    ck_assert_uint_eq(adopted, 5);
    ck_assert_uint_eq(count_files(r.work), 0);
    static const owm_file_kind kinds[] = {OWM_FILE_KIND_OWP, OWM_FILE_KIND_SUM,
                                          OWM_FILE_KIND_SUBSUM, OWM_FILE_KIND_OWP,
                                          OWM_FILE_KIND_SUM, OWM_FILE_KIND_UNMEASURED};
    static const uint64_t ends[] = {20, 20, 25, 30, 30, 40};
    expect_spooled(&r, kinds, ends, 6);
    free(marked);
    queue_rig_stop(&r);
}
END_TEST

static Suite *agent_spool_suite(void)
{
    Suite *s = suite_create("agent_spool");
    TCase *tc = tcase_create("spool_names");
    tcase_add_test(tc, spool_name_round_trip);
    tcase_add_test(tc, spool_name_refuses_bad_input);
    tcase_add_test(tc, spool_names_sort_in_seq_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("spool_dir");
    tcase_add_test(tc, spool_sequence_grows_across_reopen);
    tcase_add_test(tc, spool_tidy_work_dir);
    suite_add_tcase(s, tc);
    tc = tcase_create("full_disk");
    tcase_add_test(tc, queue_full_disk_then_space);
    tcase_add_test(tc, queue_summary_keeps_unspooled_owp);
    tcase_add_test(tc, queue_holds_unwritten_interval);
    tcase_add_test(tc, queue_restart_adopts_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(agent_spool_suite());
}
