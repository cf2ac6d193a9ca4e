/*
 * check_stream.c - the continuous-stream engine (libowamp/stream.h):
 * option checks, pool sizing, file names, and the fault path that needs no
 * server: a stream whose server refuses every connection must still write
 * its time line, session after session, as lost packets (names abutting,
 * files parsing, every record lost), log why, back off, and stop promptly.
 * The paths with a live owampd are covered end to end by
 * tests/e2e/powstream_stream.sh and powstream_faults.sh.
 */
#include <check.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "owpfile.h"
#include "stream.h"
#include "testutil.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(test_opts_defaults)
{
    owp_stream_opts o;
    owp_stream_opts_default(&o);
    ck_assert_uint_eq(o.npackets, 300);
    ck_assert(o.interval == 0.1);
    ck_assert(o.loss_timeout == 10.0);
    ck_assert(o.start_delay == 10.0);
    ck_assert(o.retry_delay == 60.0);
    ck_assert(o.bucket_width == 0.0001);
    owp_err err;
    /* No server. */
    ck_assert_int_eq(owp_stream_check_opts(&o, &err), OWP_ERR_INVALID);
    o.client.server = "127.0.0.1";
    ck_assert_int_eq(owp_stream_check_opts(&o, &err), OWP_OK);
}
END_TEST

START_TEST(test_opts_sub_count)
{
    owp_stream_opts o;
    owp_stream_opts_default(&o);
    o.client.server = "127.0.0.1";
    o.npackets = 200;
    o.sub_count = 50;
    owp_err err;
    ck_assert_int_eq(owp_stream_check_opts(&o, &err), OWP_OK);
    o.sub_count = 30;
    ck_assert_int_eq(owp_stream_check_opts(&o, &err), OWP_ERR_INVALID);
    ck_assert_str_eq(err.msg, "Number of summary packets (-N 30) must be a divisor of the number "
                              "of session packets (-c 200).");
    o.sub_count = 400;
    ck_assert_int_eq(owp_stream_check_opts(&o, &err), OWP_ERR_INVALID);
    o.sub_count = 0;
    o.interval = 0;
    ck_assert_int_eq(owp_stream_check_opts(&o, &err), OWP_ERR_INVALID);
    o.interval = 0.1;
    o.loss_timeout = -1;
    ck_assert_int_eq(owp_stream_check_opts(&o, &err), OWP_ERR_INVALID);
    ck_assert_ptr_null(owp_stream_start(&o, &err));
}
END_TEST

START_TEST(test_pool_size)
{
    owp_stream_opts o;
    owp_stream_opts_default(&o);
    /* The manual's defaults: 30 s sessions, 10 s loss timeout: two connections. */
    ck_assert_uint_eq(owp_stream_pool_size(&o), 2);
    /* 1 s sessions with -L 1: the Stop-Sessions exchange outlasts a session,
     * so more connections keep the sessions abutting. */
    o.npackets = 100;
    o.interval = 0.01;
    o.loss_timeout = 1;
    unsigned n = owp_stream_pool_size(&o);
    ck_assert_uint_ge(n, 4);
    ck_assert_uint_le(n, 64);
    o.interval = 1e-9;
    ck_assert_uint_eq(owp_stream_pool_size(&o), 64);
}
END_TEST

START_TEST(test_file_name)
{
    char buf[64];
    owp_stream_file_name(buf, sizeof buf, 17198800808123080680ull, 17198800812948965449ull, ".sum");
    ck_assert_str_eq(buf, "17198800808123080680_17198800812948965449.sum");
    owp_stream_file_name(buf, sizeof buf, 1, 2, ".owp");
    ck_assert_str_eq(buf, "00000000000000000001_00000000000000000002.owp");
}
END_TEST

/* ---- a stream whose server refuses: the time line is written as loss ---- */

typedef struct seen {
    atomic_int owp, sum, subsum, logs, unmeasured;
    char last_owp[4096];
} seen;

static void on_file(void *arg, const owp_stream_file *f)
{
    seen *s = arg;
    if (f->kind == OWP_STREAM_FILE_OWP) {
        atomic_fetch_add(&s->owp, 1);
        snprintf(s->last_owp, sizeof s->last_owp, "%s", f->path);
    } else if (f->kind == OWP_STREAM_FILE_SUM) {
        atomic_fetch_add(&s->sum, 1);
    } else {
        atomic_fetch_add(&s->subsum, 1);
    }
    if (!f->measured)
        atomic_fetch_add(&s->unmeasured, 1);
}

static void on_log(void *arg, int priority, const char *msg)
{
    seen *s = arg;
    (void)priority;
    (void)msg;
    atomic_fetch_add(&s->logs, 1);
}

/* A loopback TCP port nobody listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

typedef struct lost_ctx {
    uint32_t n, lost, bad_seq;
} lost_ctx;

static int count_lost(const owp_record *r, void *arg)
{
    lost_ctx *c = arg;
    if (r->seq != c->n)
        c->bad_seq++;
    c->n++;
    if (owp_record_lost(r))
        c->lost++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

START_TEST(test_refused_server_written_as_loss)
{
    owp_err err;
    ck_assert_int_eq(owp_clock_init(&err), OWP_OK);
    char *dir = tu_tempdir();
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", closed_port());
    seen s;
    memset(&s, 0, sizeof s);

    owp_stream_opts o;
    owp_stream_opts_default(&o);
    o.client.server = server;
    o.npackets = 20;
    o.sub_count = 10;
    o.interval = 0.01;
    o.loss_timeout = 0.1;
    o.start_delay = 0.3;
    o.min_lead = 0.1;
    o.retry_delay = 0.2;
    o.dir = dir;
    o.file_fn = on_file;
    o.log_fn = on_log;
    o.arg = &s;
    owp_stream *st = owp_stream_start(&o, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);
    double t0 = mono();
    while (atomic_load(&s.owp) < 4 && mono() - t0 < 6)
        usleep(20000);
    owp_stream_counters c;
    owp_stream_get_counters(st, &c);
    double t1 = mono();
    owp_stream_destroy(&st);
    ck_assert_ptr_null(st);
    ck_assert_msg(mono() - t1 < 1.0, "stop took %.2f s", mono() - t1);

    ck_assert_int_ge(atomic_load(&s.owp), 4);
    ck_assert_int_eq(atomic_load(&s.sum), atomic_load(&s.owp));
    ck_assert_int_eq(atomic_load(&s.subsum), 2 * atomic_load(&s.owp));
    ck_assert_int_gt(atomic_load(&s.logs), 0);
    ck_assert_uint_gt(c.connect_failures, 0);
    ck_assert_uint_ge(c.sessions_unmeasured, 4);
    ck_assert_uint_eq(c.sessions_measured, 0);
    ck_assert_uint_ge(c.packets_lost, 4 * 20);

    /* Every .owp: 20 records, seqs 0..19 in order, all lost; names abut. */
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);
    ck_assert_int_gt(n, 0);
    char prev_end[32] = "";
    int nowp = 0;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        size_t len = strlen(name);
        if (len == 45 && strcmp(name + 41, ".owp") == 0) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            FILE *fp = fopen(path, "rb");
            ck_assert_ptr_nonnull(fp);
            owp_file *f = owp_file_read(fp, path, &err);
            ck_assert_msg(f != NULL, "%s", err.msg);
            lost_ctx lc = { 0 };
            ck_assert_int_eq(owp_file_each_record(f, 0, count_lost, &lc, &err), OWP_OK);
            ck_assert_uint_eq(lc.n, 20);
            ck_assert_uint_eq(lc.lost, 20);
            ck_assert_uint_eq(lc.bad_seq, 0);
            ck_assert_uint_eq(owp_file_next_seqno(f), 20);
            ck_assert_uint_eq(owp_file_finished(f), OWP_FINISHED_INCOMPLETE);
            owp_file_destroy(&f);
            fclose(fp);
            if (prev_end[0])
                ck_assert_msg(strncmp(prev_end, name, 20) == 0, "hole before %s", name);
            snprintf(prev_end, sizeof prev_end, "%.20s", name + 21);
            nowp++;
        }
        ck_assert_msg(!(len > 2 && strcmp(name + len - 2, ".i") == 0), "temp file %s left", name);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (name[0] != '.')
            unlink(path);
        free(ents[i]);
    }
    free(ents);
    ck_assert_int_eq(nowp, atomic_load(&s.owp));
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(test_stop_is_prompt)
{
    owp_err err;
    ck_assert_int_eq(owp_clock_init(&err), OWP_OK);
    char *dir = tu_tempdir();
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", closed_port());
    owp_stream_opts o;
    owp_stream_opts_default(&o);
    o.client.server = server;
    o.dir = dir;
    /* Many streams in one process, stopped together. */
    owp_stream *st[16];
    for (int i = 0; i < 16; i++) {
        st[i] = owp_stream_start(&o, &err);
        ck_assert_msg(st[i] != NULL, "%s", err.msg);
    }
    usleep(100000);
    double t0 = mono();
    for (int i = 0; i < 16; i++)
        owp_stream_stop(st[i]);
    for (int i = 0; i < 16; i++)
        owp_stream_destroy(&st[i]);
    ck_assert_msg(mono() - t0 < 1.0, "stopping 16 streams took %.2f s", mono() - t0);
    owp_stream_destroy(&st[0]); /* NULL: no-op */
    /* Nothing was due yet: no files (the first session starts 10 s out). */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            files++;
    closedir(d);
    ck_assert_int_eq(files, 0);
    rmdir(dir);
    free(dir);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_opts_defaults);
    tcase_add_test(tc, test_opts_sub_count);
    tcase_add_test(tc, test_pool_size);
    tcase_add_test(tc, test_file_name);
    suite_add_tcase(s, tc);
    tc = tcase_create("faults");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_refused_server_written_as_loss);
    tcase_add_test(tc, test_stop_is_prompt);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stream_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
