/* check_agent_streams.c - the node agent's streams
 * (node/agent/agent_streams.c): a scheduled stream as stream engine options,
 * the summary and text helpers; and, with real stream engines against an
 * absent owampd, unmeasured time: the .unm files a stream writes and spools,
 * "peer down" while the coordinator says so (and the retry when the peer is
 * back), and "node down" at start-up; and, on a full disk (issue 11), the
 * files that wait in the work directory until space returns, then reach the
 * spool once each, from a running stream, a stopped one, and at a restart. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_spool.h"
#include "agent_streams.h"
#include "agent_testutil.h"
#include "clock.h"
#include "meshmsg.h"
#include "testutil.h"
#include "unmeasured.h"

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

/* ------------------------------------------------------------ a full disk (issue 11) */

/* .unm files waiting in the stream's work directory. */
static size_t unm_in_work(stream_rig *r)
{
    char *wd = path_in(r->work, "s-nyc");
    DIR *d = opendir(wd);
    free(wd);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        n += len > 4 && strcmp(de->d_name + len - 4, ".unm") == 0;
    }
    closedir(d);
    return n;
}

static void wait_unm_in_work(stream_rig *r, size_t at_least)
{
    double t0 = mono_now();
    while (unm_in_work(r) < at_least && mono_now() - t0 < 10)
        nap(0.05);
    ck_assert_uint_ge(unm_in_work(r), at_least);
}

typedef struct unm_seen {
    owp_num64 start[256];
    size_t n;
} unm_seen;

/* Every spooled interval once: no two with the same start. */
static void note_unm_once(void *arg, const agent_spool_entry *e, uint64_t size)
{
    (void)size;
    unm_seen *u = arg;
    if (e->kind != OWM_FILE_KIND_UNMEASURED)
        return;
    for (size_t i = 0; i < u->n; i++)
        ck_assert_msg(u->start[i] != e->start, "interval starting %llu spooled twice",
                      (unsigned long long)e->start);
    ck_assert_uint_lt(u->n, 256);
    u->start[u->n++] = e->start;
}

static size_t spooled_unm_once(stream_rig *r)
{
    unm_seen u;
    memset(&u, 0, sizeof u);
    owp_err e;
    ck_assert(agent_spool_scan(r->spool, note_unm_once, &u, &e) == OWP_OK);
    return u.n;
}

START_TEST(streams_full_disk_then_space)
{
    stream_rig r;
    rig_start(&r);
    agent_spool_fail_links(r.spool, ENOSPC);
    rig_apply(&r);
    wait_unm_in_work(&r, 2);
    ck_assert_uint_eq(spooled_unm_once(&r), 0);
    ck_assert_uint_ge(agent_streams_retry_spool(r.set), 2);
    /* Space is back: the next retry (the status's) spools them all. */
    agent_spool_fail_links(r.spool, 0);
    owm_msg_stream_health *h;
    owm_msg *env = rig_status(&r, &h);
    owm_msg_free(&env);
    assert_work_dir_clean(&r);
    size_t spooled = spooled_unm_once(&r);
    ck_assert_uint_ge(spooled, 2);

    /* Full again, and the stream stops: its files still reach the spool. */
    agent_spool_fail_links(r.spool, ENOSPC);
    wait_unm_in_work(&r, 1);
    owp_err e;
    agent_apply_result res;
    ck_assert(agent_streams_apply(r.set, NULL, 0, &res, &e) == OWP_OK);
    ck_assert_uint_eq(res.stopped, 1);
    ck_assert_uint_ge(unm_in_work(&r), 1);
    agent_spool_fail_links(r.spool, 0);
    ck_assert_uint_eq(agent_streams_retry_spool(r.set), 0);
    ck_assert_uint_gt(spooled_unm_once(&r), spooled);
    char *wd = path_in(r.work, "s-nyc");
    ck_assert_int_ne(access(wd, F_OK), 0); /* gone with its last file */
    free(wd);
    rig_stop(&r);
}
END_TEST

START_TEST(streams_restart_spools_what_waits)
{
    stream_rig r;
    rig_start(&r);
    agent_spool_fail_links(r.spool, ENOSPC);
    rig_apply(&r);
    wait_unm_in_work(&r, 1);
    agent_streams_destroy(&r.set); /* the node stops, the disk still full */
    size_t left = unm_in_work(&r);
    ck_assert_uint_ge(left, 1);
    ck_assert_uint_eq(spooled_unm_once(&r), 0);
    /* It starts again with space, before any schedule: nothing waits. */
    agent_spool_fail_links(r.spool, 0);
    owp_err e;
    agent_streams_config c = {.node = "chi", .work_root = r.work, .spool = r.spool};
    r.set = agent_streams_new(&c, &e);
    ck_assert_msg(r.set != NULL, "%s", e.msg);
    ck_assert_uint_eq(spooled_unm_once(&r), left);
    char *wd = path_in(r.work, "s-nyc");
    ck_assert_int_ne(access(wd, F_OK), 0);
    free(wd);
    rig_stop(&r);
}
END_TEST

static Suite *agent_streams_suite(void)
{
    Suite *s = suite_create("agent_streams");
    TCase *tc = tcase_create("helpers");
    tcase_add_test(tc, stream_opts_from_schedule);
    tcase_add_test(tc, summary_sent_lost);
    tcase_add_test(tc, clean_text_is_valid_message_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("unmeasured");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, streams_unmeasured_spooled);
    tcase_add_test(tc, streams_peer_down_and_back);
    tcase_add_test(tc, streams_node_down_recorded);
    suite_add_tcase(s, tc);
    tc = tcase_create("full_disk");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, streams_full_disk_then_space);
    tcase_add_test(tc, streams_restart_spools_what_waits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(agent_streams_suite());
}
