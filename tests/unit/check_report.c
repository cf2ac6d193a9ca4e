/* check_report.c - report formats against the reference's outputs: owstats
 * vectors (-M, -R, -v) and powstream's .sum files (-M of whole sessions and
 * of -N sub-sessions); one -M block by itself (owp_report_summary_block)
 * against the same block of the whole report. Host names are passed in, so
 * no DNS is involved. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "owpfile.h"
#include "report.h"
#include "testutil.h"

/* Run owp_report_file (block NULL) or owp_report_summary_block (*block, with
 * finished) on a vector; returns the malloc'd output. */
static char *render(const char *rel, const owp_report_opts *o, const uint32_t *block,
                    int finished, owp_status *st, owp_err *err)
{
    char *path = tu_vector_path(rel);
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    owp_file *f = owp_file_read(fp, path, err);
    ck_assert_msg(f != NULL, "%s", err->msg);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (block)
        *st = owp_report_summary_block(out, f, "localhost", "localhost", o, *block, finished,
                                       err);
    else
        *st = owp_report_file(out, f, "localhost", "localhost", o, err);
    fclose(out);
    owp_file_destroy(&f);
    fclose(fp);
    free(path);
    return buf;
}

static char *report(const char *rel, const owp_report_opts *o, owp_status *st, owp_err *err)
{
    return render(rel, o, NULL, OWP_REPORT_FINISHED_FILE, st, err);
}

static char *golden(const char *rel)
{
    char *path = tu_vector_path(rel);
    size_t len;
    char *b = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(b);
    free(path);
    return b;
}

/* The text as it is (the <BUCKETS> lines too: the reference's hash-table
 * order must be reproduced byte for byte), with SESSION_FINISHED blanked out
 * when asked. */
static char *canonical(const char *text, int mask_finished)
{
    char *out = strdup(text);
    ck_assert_ptr_nonnull(out);
    if (!mask_finished)
        return out;
    for (char *p = strstr(out, "SESSION_FINISHED\t"); p; p = strstr(p + 1, "SESSION_FINISHED\t"))
        p[strlen("SESSION_FINISHED\t")] = '?';
    return out;
}

static const char *owp_names[] = {"open-from", "open-to", "loss-dup-from", "loss-dup-to",
                                  "skips-from", "skips-to", "slots-from", "dscp-ef-to",
                                  "reorder-from", "interrupted-from", "padding-auth-to",
                                  "skips-pcap-to"};
#define NNAMES (sizeof owp_names / sizeof owp_names[0])

START_TEST(machine_matches_reference)
{
    char rel[128], gold[128];
    snprintf(rel, sizeof rel, "owp/%s.owp", owp_names[_i]);
    static const struct {
        const char *variant;
        double width;
        int unix_times;
    } v[] = {{"machine", 0.0001, 0}, {"machine-bucket1ms", 0.001, 0}, {"machine-unix", 0.0001, 1}};
    for (size_t k = 0; k < 3; k++) {
        owp_report_opts o;
        owp_report_opts_default(&o);
        o.machine = 1;
        o.bucket_width = v[k].width;
        o.unix_times = v[k].unix_times;
        owp_status st;
        owp_err err;
        char *got = report(rel, &o, &st, &err);
        ck_assert_msg(st == OWP_OK, "%s", err.msg);
        snprintf(gold, sizeof gold, "owstats/%s.%s.txt", owp_names[_i], v[k].variant);
        char *want = golden(gold);
        char *a = canonical(got, 0), *b = canonical(want, 0);
        ck_assert_msg(strcmp(a, b) == 0, "%s differs:\n%s\n---\n%s", gold, a, b);
        free(a);
        free(b);
        free(got);
        free(want);
    }
}
END_TEST

/* Buckets on both sides of a multiple of 256: the reference's hash table
 * (bucket index's bytes summed, mod 1021; newest first within a slot) does
 * not print them in ascending order. straddle256-from: delays around 25.6 ms
 * (buckets 255 .. 288, 255 printed last); skips-pcap-to -b 0.00001: 266 and
 * 11 share a slot (byte sum 11), 266 came later and is printed first. */
START_TEST(bucket_order_matches_reference)
{
    static const struct {
        const char *owp, *gold;
        double width;
    } v[] = {{"owp/straddle256-from.owp", "owstats/straddle256-from.machine.txt", 0.0001},
             {"owp/skips-pcap-to.owp", "owstats/skips-pcap-to.machine-bucket10us.txt", 0.00001}};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        owp_report_opts o;
        owp_report_opts_default(&o);
        o.machine = 1;
        o.bucket_width = v[k].width;
        owp_status st;
        owp_err err;
        char *got = report(v[k].owp, &o, &st, &err);
        ck_assert_msg(st == OWP_OK, "%s", err.msg);
        char *want = golden(v[k].gold);
        ck_assert_msg(strcmp(got, want) == 0, "%s differs:\n%s\n---\n%s", v[k].gold, got, want);
        free(got);
        free(want);
    }
}
END_TEST

START_TEST(raw_and_verbose_match_reference)
{
    char rel[128], gold[128];
    snprintf(rel, sizeof rel, "owp/%s.owp", owp_names[_i]);
    owp_report_opts o;
    owp_status st;
    owp_err err;

    owp_report_opts_default(&o);
    o.raw = 1;
    char *got = report(rel, &o, &st, &err);
    ck_assert_int_eq(st, OWP_OK);
    snprintf(gold, sizeof gold, "owstats/%s.raw.txt", owp_names[_i]);
    char *want = golden(gold);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);

    /* -v10: the per-record lines up to the summary's delay line are identical */
    owp_report_opts_default(&o);
    o.verbose = 1;
    o.verbose_max = 10;
    got = report(rel, &o, &st, &err);
    ck_assert_int_eq(st, OWP_OK);
    snprintf(gold, sizeof gold, "owstats/%s.verbose10.txt", owp_names[_i]);
    want = golden(gold);
    char *cut_got = strstr(got, "one-way delay"), *cut_want = strstr(want, "one-way delay");
    ck_assert_ptr_nonnull(cut_got);
    ck_assert_ptr_nonnull(cut_want);
    ck_assert_int_eq(cut_got - got, cut_want - want);
    ck_assert(memcmp(got, want, (size_t)(cut_got - got)) == 0);
    /* and the lines after the jitter line (hops, reordering) too */
    ck_assert_str_eq(strstr(cut_got, "\nhops"), strstr(cut_want, "\nhops"));
    free(got);
    free(want);
}
END_TEST

/* powstream's .sum files: whole sessions and -N 100 sub-sessions. */
START_TEST(powstream_sums)
{
    static const char *sessions[2][5] = {
        {"17198800808123080680_17198800821161034206",
         "17198800808123080680_17198800812948965449", "17198800812948965449_17198800817082654520",
         "17198800817082654520_17198800821161034206", NULL},
        {"17198800821161034206_17198800833841743534",
         "17198800821161034206_17198800825823810332", "17198800825823810332_17198800829833373001",
         "17198800829833373001_17198800833841743534", NULL}};
    char rel[160], gold[160];
    for (int s = 0; s < 2; s++) {
        snprintf(rel, sizeof rel, "powstream/%s.owp", sessions[s][0]);
        owp_report_opts o;
        owp_report_opts_default(&o);
        o.machine = 1;
        owp_status st;
        owp_err err;
        char *got = report(rel, &o, &st, &err);
        ck_assert_int_eq(st, OWP_OK);
        snprintf(gold, sizeof gold, "powstream/%s.sum", sessions[s][0]);
        char *want = golden(gold);
        char *a = canonical(got, 0), *b = canonical(want, 0);
        ck_assert_msg(strcmp(a, b) == 0, "%s:\n%s\n---\n%s", gold, a, b);
        free(a), free(b), free(got), free(want);

        /* -N 100: three blocks, each the sub-session .sum (SESSION_FINISHED is
         * 0 there: powstream summarised the file while it was being written) */
        o.sub_count = 100;
        got = report(rel, &o, &st, &err);
        ck_assert_int_eq(st, OWP_OK);
        char *all = canonical(got, 1);
        size_t off = 0;
        for (int k = 1; k <= 3; k++) {
            snprintf(gold, sizeof gold, "powstream/%s.sum", sessions[s][k]);
            want = golden(gold);
            b = canonical(want, 1);
            ck_assert_msg(strncmp(all + off, b, strlen(b)) == 0, "%s:\n%s\n---\n%s", gold,
                          all + off, b);
            off += strlen(b);
            free(b), free(want);
        }
        ck_assert_uint_eq(off, strlen(all));
        free(all), free(got);
    }
}
END_TEST

START_TEST(print_files)
{
    char *dir = tu_tempdir();
    owp_report_opts o;
    owp_report_opts_default(&o);
    o.machine = 1;
    o.print_files = 1;
    o.files_dir = dir;
    o.sub_count = 10;
    owp_status st;
    owp_err err;
    char *got = report("owp/open-to.owp", &o, &st, &err);
    ck_assert_msg(st == OWP_OK, "%s", err.msg);
    /* two blocks of 10: two names printed, each an existing .sum file */
    char *save = NULL;
    int n = 0;
    for (char *l = strtok_r(got, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++) {
        ck_assert(strncmp(l, dir, strlen(dir)) == 0);
        ck_assert_ptr_nonnull(strstr(l, ".sum"));
        size_t len;
        char *content = tu_read_file(l, &len);
        ck_assert_ptr_nonnull(content);
        ck_assert(strncmp(content, "SUMMARY\t3.00\n", 13) == 0);
        free(content);
        unlink(l);
    }
    ck_assert_int_eq(n, 2);
    free(got);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(errors_are_reported)
{
    /* a record the reference rejects: a lost record for a packet that arrived */
    char *path = tu_vector_path("owp/open-from.owp");
    size_t len;
    char *b = tu_read_file(path, &len);
    free(path);
    memcpy(b + 184 + 25 * 5, b + 184 + 25 * 4, 25); /* record 5 := copy of record 4 */
    memset(b + 184 + 25 * 5 + 16, 0, 8);           /* ... marked lost */
    FILE *fp = fmemopen(b, len, "rb");
    owp_err err;
    owp_file *f = owp_file_read(fp, "x.owp", &err);
    ck_assert_ptr_nonnull(f);
    owp_report_opts o;
    owp_report_opts_default(&o);
    FILE *out = fopen("/dev/null", "w");
    ck_assert_int_eq(owp_report_file(out, f, "a", "b", &o, &err), OWP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "seq"));
    fclose(out);
    owp_file_destroy(&f);
    fclose(fp);
    free(b);
}
END_TEST

/* ---- owp_report_summary_block: one -M block, as powstream's .sum files hold ---- */

static char *summary_block(const char *rel, const owp_report_opts *o, uint32_t block,
                           int finished, owp_status *st, owp_err *err)
{
    return render(rel, o, &block, finished, st, err);
}

/* The -M blocks of a whole report: where each begins (at its SUMMARY line),
 * found in one pass; *n of them. */
static const char **block_starts(const char *text, uint32_t *n)
{
    static const char tag[] = "SUMMARY\t";
    size_t cap = 16;
    const char **at = malloc(cap * sizeof *at);
    ck_assert_ptr_nonnull(at);
    *n = 0;
    for (const char *p = strstr(text, tag); p; p = strstr(p + 1, tag)) {
        if (*n == cap) {
            cap *= 2;
            at = realloc(at, cap * sizeof *at);
            ck_assert_ptr_nonnull(at);
        }
        at[(*n)++] = p;
    }
    return at;
}

/* Block b of those (the way the stream engine once cut its .sum files out of
 * a whole report), with SESSION_FINISHED set to finished unless that is
 * OWP_REPORT_FINISHED_FILE. */
static char *nth_block(const char *const *at, uint32_t n, uint32_t b, int finished)
{
    const char *p = at[b];
    char *blk = b + 1 < n ? strndup(p, (size_t)(at[b + 1] - p)) : strdup(p);
    ck_assert_ptr_nonnull(blk);
    char *fin = strstr(blk, "SESSION_FINISHED\t");
    ck_assert_ptr_nonnull(fin);
    if (finished != OWP_REPORT_FINISHED_FILE)
        fin[strlen("SESSION_FINISHED\t")] = finished ? '1' : '0';
    return blk;
}

static const char *block_vectors[] = {
    "owp/open-from.owp", "owp/loss-dup-to.owp", "owp/skips-from.owp", "owp/reorder-from.owp",
    "owp/interrupted-from.owp", "owp/slots-to.owp", "owp/dscp-ef-to.owp",
    "powstream/17198800808123080680_17198800821161034206.owp",
    "powstream/17198800821161034206_17198800833841743534.owp"};
#define NBLOCK_VECTORS (sizeof block_vectors / sizeof block_vectors[0])

/* Every block, for block sizes from one packet to the whole session, equals
 * that block of owp_report_file -M -N, byte for byte; its SESSION_FINISHED
 * is the caller's when given. */
START_TEST(summary_block_is_the_report_block)
{
    static const uint32_t sub_counts[] = {0, 1, 7, 10, 50, 100, 299, 300, 100000};
    static const int finished[] = {OWP_REPORT_FINISHED_FILE, 0, 1};
    const char *rel = block_vectors[_i];
    for (size_t k = 0; k < sizeof sub_counts / sizeof sub_counts[0]; k++) {
        owp_report_opts o;
        owp_report_opts_default(&o);
        o.machine = 1;
        o.sub_count = sub_counts[k];
        o.unix_times = k % 2;
        o.bucket_width = k % 3 ? 0.0001 : 0.001;
        owp_status st;
        owp_err err;
        char *all = report(rel, &o, &st, &err);
        ck_assert_msg(st == OWP_OK, "%s: %s", rel, err.msg);
        uint32_t nblocks, b;
        const char **at = block_starts(all, &nblocks);
        for (b = 0; b < nblocks; b++) {
            /* Each block reads the whole file: with one-packet blocks a
             * large vector has thousands, so the first and last few and a
             * sample between them (quadratic otherwise, slow under ASan). */
            if (b >= 8 && b + 8 < nblocks && b % 61 != 0)
                continue;
            for (size_t j = 0; j < sizeof finished / sizeof finished[0]; j++) {
                char *want = nth_block(at, nblocks, b, finished[j]);
                char *got = summary_block(rel, &o, b, finished[j], &st, &err);
                ck_assert_msg(st == OWP_OK, "%s -N %u block %u: %s", rel, o.sub_count, b,
                              err.msg);
                ck_assert_msg(strcmp(got, want) == 0,
                              "%s -N %u block %u finished %d:\n%s\n---\n%s", rel, o.sub_count,
                              b, finished[j], got, want);
                free(got);
                free(want);
            }
        }
        ck_assert_uint_gt(b, 0);
        /* past the last block: an error, and nothing printed */
        char *got = summary_block(rel, &o, b, OWP_REPORT_FINISHED_FILE, &st, &err);
        ck_assert_int_eq(st, OWP_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(err.msg, "no summary for block"));
        ck_assert_str_eq(got, "");
        free(got);
        free(at);
        free(all);
    }
}
END_TEST

/* The reference powstream's .sum files, whole session (SESSION_FINISHED as
 * the file says) and -N 100 sub-sessions (preliminary: 0), each rendered as
 * one block. */
START_TEST(summary_block_makes_powstream_sums)
{
    static const char *sessions[2][4] = {
        {"17198800808123080680_17198800821161034206",
         "17198800808123080680_17198800812948965449", "17198800812948965449_17198800817082654520",
         "17198800817082654520_17198800821161034206"},
        {"17198800821161034206_17198800833841743534",
         "17198800821161034206_17198800825823810332", "17198800825823810332_17198800829833373001",
         "17198800829833373001_17198800833841743534"}};
    char rel[160], gold[160];
    for (int s = 0; s < 2; s++) {
        snprintf(rel, sizeof rel, "powstream/%s.owp", sessions[s][0]);
        for (int k = 0; k < 4; k++) {
            owp_report_opts o;
            owp_report_opts_default(&o);
            o.sub_count = k ? 100 : 0;
            owp_status st;
            owp_err err;
            char *got = summary_block(rel, &o, k ? (uint32_t)k - 1 : 0,
                                      k ? 0 : OWP_REPORT_FINISHED_FILE, &st, &err);
            ck_assert_msg(st == OWP_OK, "%s", err.msg);
            snprintf(gold, sizeof gold, "powstream/%s.sum", sessions[s][k]);
            char *want = golden(gold);
            char *a = canonical(got, 0), *b = canonical(want, 0);
            ck_assert_msg(strcmp(a, b) == 0, "%s:\n%s\n---\n%s", gold, a, b);
            free(a), free(b), free(got), free(want);
        }
    }
}
END_TEST

START_TEST(summary_block_errors)
{
    owp_report_opts o;
    owp_report_opts_default(&o);
    o.bucket_width = 0;
    owp_status st;
    owp_err err;
    char *got = summary_block("owp/open-to.owp", &o, 0, OWP_REPORT_FINISHED_FILE, &st, &err);
    ck_assert_int_eq(st, OWP_ERR_INVALID);
    ck_assert_str_eq(got, "");
    free(got);
    /* -R, -v and -p do not apply: still one -M block on out */
    owp_report_opts_default(&o);
    o.raw = o.verbose = o.print_files = 1;
    o.files_dir = "/nonexistent";
    got = summary_block("owp/open-to.owp", &o, 0, OWP_REPORT_FINISHED_FILE, &st, &err);
    ck_assert_msg(st == OWP_OK, "%s", err.msg);
    ck_assert(strncmp(got, "SUMMARY\t3.00\n", 13) == 0);
    free(got);
}
END_TEST

int main(void)
{
    setenv("TZ", "UTC", 1);
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("owstats-vectors");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, machine_matches_reference, 0, NNAMES);
    tcase_add_test(tc, bucket_order_matches_reference);
    tcase_add_loop_test(tc, raw_and_verbose_match_reference, 0, NNAMES);
    suite_add_tcase(s, tc);
    tc = tcase_create("powstream");
    tcase_add_test(tc, powstream_sums);
    tcase_add_test(tc, print_files);
    suite_add_tcase(s, tc);
    tc = tcase_create("summary-block");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, summary_block_is_the_report_block, 0, NBLOCK_VECTORS);
    tcase_add_test(tc, summary_block_makes_powstream_sums);
    tcase_add_test(tc, summary_block_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, errors_are_reported);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
