/* check_agent_spool.c - the node agent's spool (node/agent/agent_spool.c):
 * spool names (format, parse, hostile names, seq order), sequence numbers
 * across reopen, and the tidying of a stream's work directory. */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    return s;
}

int main(void)
{
    return tu_run_suite(agent_spool_suite());
}
