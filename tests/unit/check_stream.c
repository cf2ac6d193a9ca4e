/*
 * check_stream.c - the continuous-stream engine (libowamp/stream.h):
 * option checks, pool sizing, file names, and the fault paths, against a
 * closed port, a silent server and an in-process OWAMP server (the server
 * engine, server.h, one per control connection) that is killed and
 * restarted: a session that could not be set up writes NO file and no lost
 * packet but an unmeasured interval with its reason; a session cut short
 * keeps what was measured; the time line stays stitched (files and
 * unmeasured intervals abut); measurement resumes within one set-up of the
 * server's return, and owp_stream_retry_now() skips the back-off.
 * tests/e2e/powstream_faults.sh does the same with the real programs.
 */
#include <check.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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
#include "server.h"
#include "stream.h"
#include "testutil.h"

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

/* ---- what a stream reports: files and unmeasured intervals ---- */

#define MAX_SEEN 256

typedef struct seen_file {
    owp_num64 start, end;
    uint32_t last_seq;
    int complete;
} seen_file;

typedef struct seen_interval {
    owp_num64 start, end, called_at;
    owp_stream_reason reason;
    char detail[256];
} seen_interval;

#define MAX_SUBSUMS 64

typedef struct seen_subsum {
    char path[512];
    int complete;
} seen_subsum;

typedef struct seen {
    pthread_mutex_t mu;
    int nfiles, nsums, nsubsums, nintervals, logs;
    seen_file files[MAX_SEEN];        /* .owp only */
    seen_interval intervals[MAX_SEEN];
    seen_subsum subsums[MAX_SUBSUMS]; /* the first sub-session summaries */
} seen;

static void seen_init(seen *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

static void on_file(void *arg, const owp_stream_file *f)
{
    seen *s = arg;
    pthread_mutex_lock(&s->mu);
    if (f->kind == OWP_STREAM_FILE_OWP && s->nfiles < MAX_SEEN)
        s->files[s->nfiles++] = (seen_file){ f->start, f->end, f->last_seq, f->complete };
    else if (f->kind == OWP_STREAM_FILE_SUM)
        s->nsums++;
    else if (f->kind == OWP_STREAM_FILE_SUBSUM) {
        if (s->nsubsums < MAX_SUBSUMS) {
            seen_subsum *ss = &s->subsums[s->nsubsums];
            snprintf(ss->path, sizeof ss->path, "%s", f->path);
            ss->complete = f->complete;
        }
        s->nsubsums++;
    }
    pthread_mutex_unlock(&s->mu);
}

static void on_unmeasured(void *arg, const owp_stream_unmeasured *u)
{
    seen *s = arg;
    pthread_mutex_lock(&s->mu);
    if (s->nintervals < MAX_SEEN) {
        seen_interval *iv = &s->intervals[s->nintervals++];
        iv->start = u->start;
        iv->end = u->end;
        iv->called_at = owp_clock_now(NULL);
        iv->reason = u->reason;
        snprintf(iv->detail, sizeof iv->detail, "%s", u->detail);
    }
    pthread_mutex_unlock(&s->mu);
}

static void on_log(void *arg, int priority, const char *msg)
{
    seen *s = arg;
    if (getenv("DEBUG_STREAM"))
        fprintf(stderr, "log %d: %s\n", priority, msg);
    pthread_mutex_lock(&s->mu);
    s->logs++;
    pthread_mutex_unlock(&s->mu);
}

static int seen_count(seen *s, const int *field)
{
    pthread_mutex_lock(&s->mu);
    int n = *field;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Complete sessions that started at or after t. */
static int complete_since(seen *s, owp_num64 t)
{
    pthread_mutex_lock(&s->mu);
    int n = 0;
    for (int i = 0; i < s->nfiles; i++)
        n += s->files[i].complete && s->files[i].start >= t;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Fast stream options against server: 50 packets 10 ms apart (0.5 s sessions). */
static void fast_opts(owp_stream_opts *o, const char *server, const char *dir, seen *s)
{
    owp_stream_opts_default(o);
    o->client.server = server;
    o->client.control_timeout_ms = 1000;
    o->npackets = 50;
    o->interval = 0.01;
    o->loss_timeout = 0.2;
    o->start_delay = 0.5;
    o->min_lead = 0.3;
    o->retry_delay = 0.2;
    o->numeric_hosts = 1;
    o->dir = dir;
    o->file_fn = on_file;
    o->unmeasured_fn = on_unmeasured;
    o->log_fn = on_log;
    o->arg = s;
}

/* Intervals in report order: each starts where the one before ended (one
 * outage, no session in between), none ends after it was reported. */
static void assert_intervals_abut(seen *s, owp_stream_reason reason)
{
    ck_assert_int_gt(s->nintervals, 0);
    for (int i = 0; i < s->nintervals; i++) {
        seen_interval *iv = &s->intervals[i];
        ck_assert_msg(iv->end > iv->start, "interval %d is empty", i);
        ck_assert_msg(iv->end <= iv->called_at, "interval %d reported before its end", i);
        ck_assert_msg(iv->reason == reason, "interval %d: reason %s (%s), want %s", i,
                      owp_stream_reason_text(iv->reason), iv->detail,
                      owp_stream_reason_text(reason));
        if (i > 0)
            ck_assert_msg(iv->start == s->intervals[i - 1].end, "interval %d does not abut", i);
    }
}

/* Names in dir that are not dot files. */
static int visible_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void rm_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
}

/* A TCP socket bound to 127.0.0.1:want (0: any port), listening when
 * backlog > 0; *port gets its port. */
static int loopback_tcp(uint16_t want, int backlog, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(want),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (backlog > 0)
        ck_assert_int_eq(listen(fd, backlog), 0);
    socklen_t len = sizeof sa;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A stream's test bench: a work directory, what the stream reported, fast
 * options against 127.0.0.1:port (0: a port nobody listens on). */
typedef struct rig {
    char *dir;
    char server[64];
    seen s;
    owp_stream_opts o;
} rig;

static void rig_init(rig *r, uint16_t port)
{
    owp_err err;
    ck_assert_int_eq(owp_clock_init(&err), OWP_OK);
    if (!port)
        close(loopback_tcp(0, 0, &port));
    r->dir = tu_tempdir();
    snprintf(r->server, sizeof r->server, "127.0.0.1:%u", port);
    seen_init(&r->s);
    fast_opts(&r->o, r->server, r->dir, &r->s);
}

/* Start the stream; return once it reported n unmeasured intervals (or 6 s). */
static owp_stream *rig_run_until(rig *r, int n)
{
    owp_err err;
    owp_stream *st = owp_stream_start(&r->o, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);
    double t0 = owp_clock_monotonic();
    while (seen_count(&r->s, &r->s.nintervals) < n && owp_clock_monotonic() - t0 < 6)
        usleep(20000);
    return st;
}

static void rig_done(rig *r)
{
    rm_tree(r->dir);
    free(r->dir);
}

/* ---- no server: no files, the time is unmeasured ("owampd refused") ---- */

START_TEST(test_refused_server_unmeasured)
{
    rig r;
    rig_init(&r, 0);
    seen *s = &r.s;
    r.o.npackets = 20;
    r.o.sub_count = 10;
    r.o.start_delay = 0.3;
    r.o.min_lead = 0.1;
    /* Sessions of 0.2 s are reported in pieces of at least 1 s. */
    owp_stream *st = rig_run_until(&r, 2);
    owp_num64 first = owp_stream_first_start(st);
    owp_stream_counters c;
    owp_stream_get_counters(st, &c);
    owp_stream_health h;
    owp_stream_get_health(st, &h);
    double t1 = owp_clock_monotonic();
    owp_stream_destroy(&st);
    ck_assert_ptr_null(st);
    ck_assert_msg(owp_clock_monotonic() - t1 < 1.0, "stop took %.2f s", owp_clock_monotonic() - t1);
    owp_num64 stopped = owp_clock_now(NULL);

    /* Nothing was measured: no file at all, not one lost packet. */
    ck_assert_int_eq(s->nfiles + s->nsums + s->nsubsums, 0);
    ck_assert_int_eq(visible_files(r.dir), 0);
    ck_assert_uint_eq(c.sessions, 0);
    ck_assert_uint_eq(c.files, 0);
    ck_assert_uint_eq(c.packets_lost, 0);
    ck_assert_uint_gt(c.connect_failures, 0);
    ck_assert_int_gt(s->logs, 0);
    /* Health: failing since the first attempt, refused. */
    ck_assert_uint_ne(h.last_attempt, 0);
    ck_assert_uint_eq(h.last_setup, 0);
    ck_assert_uint_ne(h.failing_since, 0);
    ck_assert_uint_le(h.failing_since, h.last_attempt);
    ck_assert_int_eq(h.reason, OWP_STREAM_REFUSED);

    /* The time line from the first session's start to the stop is unmeasured,
     * in abutting pieces, refused, the last one cut at the stop. */
    ck_assert_int_ge(s->nintervals, 3);
    assert_intervals_abut(s, OWP_STREAM_REFUSED);
    ck_assert_uint_eq(s->intervals[0].start, first);
    ck_assert_uint_eq(s->intervals[0].end - s->intervals[0].start, owp_num64_from_double(1.0));
    ck_assert_uint_le(s->intervals[s->nintervals - 1].end, stopped);
    ck_assert_msg(strstr(s->intervals[0].detail, "Connection refused"), "detail: %s",
                  s->intervals[0].detail);
    rig_done(&r);
}
END_TEST

/* ---- a server that accepts the connection and never speaks: "control timeout" ---- */

START_TEST(test_silent_server_timeout)
{
    uint16_t port;
    int lfd = loopback_tcp(0, 16, &port); /* connections queue, nobody answers */
    rig r;
    rig_init(&r, port);
    r.o.client.control_timeout_ms = 200;
    r.o.start_delay = 0.2;
    r.o.min_lead = 0.1;
    owp_stream *st = rig_run_until(&r, 1);
    owp_stream_health h;
    owp_stream_get_health(st, &h);
    owp_stream_destroy(&st);
    close(lfd);
    ck_assert_int_eq(r.s.nfiles, 0);
    ck_assert_int_eq(visible_files(r.dir), 0);
    assert_intervals_abut(&r.s, OWP_STREAM_TIMEOUT);
    ck_assert_int_eq(h.reason, OWP_STREAM_TIMEOUT);
    rig_done(&r);
}
END_TEST

/* ---- retry now: the back-off is skipped ---- */

START_TEST(test_retry_now_skips_backoff)
{
    rig r;
    rig_init(&r, 0);
    r.o.retry_delay = 60; /* capped at OWP_STREAM_RETRY_MAX: 1 s, 2 s, 4 s, 5 s ... */
    owp_err err;
    owp_stream *st = owp_stream_start(&r.o, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);
    owp_stream_counters c;
    double t0 = owp_clock_monotonic();
    do {
        usleep(10000);
        owp_stream_get_counters(st, &c);
    } while (c.connect_failures < 2 && owp_clock_monotonic() - t0 < 5);
    ck_assert_uint_eq(c.connect_failures, 2);
    /* The next attempt is 2 s away ... */
    usleep(400000);
    owp_stream_get_counters(st, &c);
    ck_assert_uint_eq(c.connect_failures, 2);
    /* ... unless asked now. */
    owp_stream_retry_now(st);
    t0 = owp_clock_monotonic();
    do {
        usleep(10000);
        owp_stream_get_counters(st, &c);
    } while (c.connect_failures < 3 && owp_clock_monotonic() - t0 < 1);
    ck_assert_msg(c.connect_failures == 3, "no attempt %.2f s after retry_now", owp_clock_monotonic() - t0);
    ck_assert_msg(owp_clock_monotonic() - t0 < 0.5, "retry_now took %.2f s", owp_clock_monotonic() - t0);
    owp_stream_destroy(&st);
    owp_stream_retry_now(NULL); /* no-op */
    rig_done(&r);
}
END_TEST

/* ---- an in-process OWAMP server that can be killed and restarted ---- */

#define MINI_CONNS 128

typedef struct mini_conn {
    struct mini_owampd *m;
    int fd;                    /* ours: shut down to kill the connection */
    int serve_fd;              /* a dup the server engine owns */
    pthread_t thread;
} mini_conn;

typedef struct mini_owampd {
    int listen_fd;
    uint16_t port;
    char *datadir;
    int refuse_sessions;       /* Accept-Session 1 for every request */
    atomic_int closing;
    pthread_t acceptor;
    pthread_mutex_t mu;
    mini_conn conns[MINI_CONNS];
    int nconns;
} mini_owampd;

static int refuse_all(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                      uint64_t *handle)
{
    (void)arg;
    (void)conn;
    (void)req;
    (void)handle;
    return 1;
}

static void *mini_serve(void *arg)
{
    mini_conn *c = arg;
    owp_server_config cfg;
    owp_server_config_default(&cfg);
    cfg.modes = OWP_MODE_OPEN;
    cfg.datadir = c->m->datadir;
    cfg.controltimeout = 5;
    cfg.enddelay = 0.1;
    cfg.start_time = owp_clock_now(NULL);
    if (c->m->refuse_sessions)
        cfg.policy.session = refuse_all;
    owp_err err;
    owp_server *srv = owp_server_new(&cfg, &err);
    if (!srv) {
        close(c->serve_fd);
        return NULL;
    }
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    getpeername(c->serve_fd, (struct sockaddr *)&peer, &plen);
    owp_server_serve(srv, c->serve_fd, (struct sockaddr *)&peer, plen, &err);
    owp_server_destroy(&srv);
    return NULL;
}

static void *mini_accept(void *arg)
{
    mini_owampd *m = arg;
    while (!atomic_load(&m->closing)) {
        struct pollfd p = { .fd = m->listen_fd, .events = POLLIN };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(m->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&m->mu);
        if (m->nconns == MINI_CONNS) {
            pthread_mutex_unlock(&m->mu);
            close(fd);
            continue;
        }
        mini_conn *c = &m->conns[m->nconns++];
        c->m = m;
        c->fd = fd;
        c->serve_fd = dup(fd);
        pthread_create(&c->thread, NULL, mini_serve, c);
        pthread_mutex_unlock(&m->mu);
    }
    return NULL;
}

/* Listen (again) on m->port (0 at first: any port). */
static void mini_listen(mini_owampd *m)
{
    m->listen_fd = loopback_tcp(m->port, 64, &m->port);
    atomic_store(&m->closing, 0);
    ck_assert_int_eq(pthread_create(&m->acceptor, NULL, mini_accept, m), 0);
}

static void mini_start(mini_owampd *m, int refuse_sessions)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->refuse_sessions = refuse_sessions;
    m->datadir = tu_tempdir();
    owp_err err;
    ck_assert_msg(owp_server_datadir_init(m->datadir, NULL, NULL, NULL, &err) == OWP_OK, "%s",
                  err.msg);
    mini_listen(m);
}

/* As a crash: no new connections, every control connection reset at once
 * (its test endpoints end with it). */
static void mini_kill(mini_owampd *m)
{
    atomic_store(&m->closing, 1);
    pthread_join(m->acceptor, NULL);
    close(m->listen_fd);
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nconns; i++)
        shutdown(m->conns[i].fd, SHUT_RDWR);
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < m->nconns; i++) {
        pthread_join(m->conns[i].thread, NULL);
        close(m->conns[i].fd);
    }
    m->nconns = 0;
}

static void mini_destroy(mini_owampd *m)
{
    mini_kill(m);
    rm_tree(m->datadir);
    free(m->datadir);
    pthread_mutex_destroy(&m->mu);
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

/* Records of dir/START_END.owp. */
static lost_ctx read_owp(const char *dir, owp_num64 start, owp_num64 end)
{
    char name[64], path[4200];
    owp_stream_file_name(name, sizeof name, start, end, ".owp");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "%s missing", path);
    owp_err err;
    owp_file *f = owp_file_read(fp, path, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    lost_ctx lc = { 0 };
    ck_assert_int_eq(owp_file_each_record(f, 0, count_lost, &lc, &err), OWP_OK);
    ck_assert_uint_eq(lc.bad_seq, 0);
    ck_assert_uint_eq(owp_file_next_seqno(f), lc.n);
    owp_file_destroy(&f);
    fclose(fp);
    return lc;
}

/* One entry of the time line: a session file or an unmeasured interval. */
typedef struct span {
    owp_num64 start, end;
    int is_file;
} span;

static int by_start(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

START_TEST(test_server_killed_and_restarted)
{
    mini_owampd m;
    mini_start(&m, 0);
    rig r;
    rig_init(&r, m.port);
    seen *s = &r.s;
    owp_err err;
    owp_stream *st = owp_stream_start(&r.o, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);

    double t0 = owp_clock_monotonic();
    while (complete_since(s, 0) < 3 && owp_clock_monotonic() - t0 < 15)
        usleep(20000);
    ck_assert_int_ge(complete_since(s, 0), 3);
    ck_assert_int_eq(seen_count(s, &s->nintervals), 0);
    owp_num64 killed = owp_clock_now(NULL);
    mini_kill(&m);
    usleep(1500000);
    owp_num64 restarted = owp_clock_now(NULL);
    mini_listen(&m);
    t0 = owp_clock_monotonic();
    while (complete_since(s, restarted) < 2 && owp_clock_monotonic() - t0 < 15)
        usleep(20000);
    owp_stream_counters c;
    owp_stream_get_counters(st, &c);
    owp_stream_destroy(&st);
    mini_destroy(&m);

    ck_assert_int_ge(complete_since(s, restarted), 2);
    /* The outage is unmeasured, refused (connections reset, then refused). */
    assert_intervals_abut(s, OWP_STREAM_REFUSED);
    ck_assert_uint_eq(c.intervals, (uint64_t)s->nintervals);
    owp_num64 slack = owp_num64_from_double(0.3);
    span spans[2 * MAX_SEEN];
    int n = 0;
    uint32_t lost = 0;
    int cut = 0, cut_short = 0;
    owp_num64 resumed = 0, last_complete = 0;
    for (int i = 0; i < s->nfiles; i++) {
        seen_file *f = &s->files[i];
        lost_ctx lc = read_owp(r.dir, f->start, f->end);
        if (getenv("DEBUG_STREAM"))
            fprintf(stderr, "file %.3f .. %.3f last %u complete %d lost %u (kill %.3f restart %.3f)\n",
                    owp_num64_to_double(f->start) - 3.9e9, owp_num64_to_double(f->end) - 3.9e9,
                    f->last_seq, f->complete, lc.lost, owp_num64_to_double(killed) - 3.9e9,
                    owp_num64_to_double(restarted) - 3.9e9);
        ck_assert_uint_eq(lc.n, f->last_seq);
        lost += lc.lost;
        /* Only a session running at the kill may lose packets. */
        ck_assert_msg(lc.lost == 0 || (f->start < killed && f->end + slack > killed),
                      "%u packets lost in a session not running at the kill", lc.lost);
        /* No session measured during the outage. */
        ck_assert_msg(f->end <= killed + slack || f->start >= restarted,
                      "a session was measured while the server was down");
        /* In flight at the kill: kept what it measured, no more. */
        if (!f->complete && f->start < killed) {
            cut++;
            cut_short += f->last_seq < r.o.npackets;
            ck_assert_uint_le(f->end, killed + slack);
        }
        if (f->complete && f->start > last_complete)
            last_complete = f->start;
        if (f->start >= restarted && (!resumed || f->start < resumed))
            resumed = f->start;
        spans[n++] = (span){ f->start, f->end, 1 };
    }
    for (int i = 0; i < s->nintervals; i++)
        spans[n++] = (span){ s->intervals[i].start, s->intervals[i].end, 0 };
    /* The session in flight at the kill (the one before it too, when it was
     * still waiting for its Stop-Sessions) kept what it measured: at 100
     * packets/s only a few were on their way or left late (a busy machine
     * delays the server's sender threads); the 1.5 s outage would be 150. */
    ck_assert_int_ge(cut, 1);
    ck_assert_uint_le(lost, 15);
    ck_assert_uint_eq(c.packets_lost, lost);
    ck_assert_uint_ge(c.sessions_cut, (uint64_t)cut_short);
    /* Measured again within one set-up: back-off 0.2 s, lead 0.3 s. */
    ck_assert_msg(owp_num64_to_double(resumed - restarted) < 1.5,
                  "first session %.2f s after the restart", owp_num64_to_double(resumed - restarted));
    /* The time line is stitched: every span starts where the one before
     * ended, up to the last session that ended normally (the stop at the end
     * cuts the sessions after it at their last measured packet). */
    qsort(spans, (size_t)n, sizeof spans[0], by_start);
    for (int i = 1; i < n && spans[i].start <= last_complete; i++)
        ck_assert_msg(spans[i].start == spans[i - 1].end, "hole or overlap before span %d (%s)",
                      i, spans[i].is_file ? "file" : "unmeasured");
    rig_done(&r);
}
END_TEST

/* ---- sub-session summaries (-N): SESSION_FINISHED ---- */

/* The SESSION_FINISHED value of the .sum file at path; -1 if none. */
static int sum_finished(const char *path)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    ck_assert_msg(text != NULL, "%s unreadable", path);
    const char *key = strstr(text, "\nSESSION_FINISHED\t");
    int v = key ? key[strlen("\nSESSION_FINISHED\t")] - '0' : -1;
    free(text);
    return v;
}

/* One complete session of 50 packets in blocks of 10 against the in-process
 * server; every sub-session summary of it says SESSION_FINISHED want. */
static void check_sub_sums(int sender, int want)
{
    mini_owampd m;
    mini_start(&m, 0);
    rig r;
    rig_init(&r, m.port);
    r.o.sender = sender;
    r.o.sub_count = 10;
    owp_err err;
    owp_stream *st = owp_stream_start(&r.o, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);
    double t0 = owp_clock_monotonic();
    while (complete_since(&r.s, 0) < 1 && owp_clock_monotonic() - t0 < 15)
        usleep(20000);
    owp_stream_destroy(&st);
    mini_destroy(&m);
    ck_assert_int_ge(complete_since(&r.s, 0), 1);
    int checked = 0;
    for (int i = 0; i < r.s.nsubsums && i < MAX_SUBSUMS; i++) {
        if (sender && !r.s.subsums[i].complete)
            continue; /* a session the stop at the end cut */
        ck_assert_msg(sum_finished(r.s.subsums[i].path) == want, "%s: SESSION_FINISHED %d, want %d",
                      r.s.subsums[i].path, sum_finished(r.s.subsums[i].path), want);
        checked++;
    }
    ck_assert_int_ge(checked, 5);
    rig_done(&r);
}

/* -t: the blocks come from the fetched data of a finished session, so they
 * say 1, as the reference's summaries of ranges fetched after the session
 * ended do. */
START_TEST(test_sender_sub_sums_finished)
{
    check_sub_sums(1, 1);
}
END_TEST

/* Receiving: summaries of the growing file, 0 (the reference's vectors),
 * the last block of a session too. */
START_TEST(test_receiver_sub_sums_preliminary)
{
    check_sub_sums(0, 0);
}
END_TEST

/* ---- a server that refuses every session: "owampd refused", no files ---- */

START_TEST(test_sessions_refused)
{
    mini_owampd m;
    mini_start(&m, 1);
    rig r;
    rig_init(&r, m.port);
    owp_stream *st = rig_run_until(&r, 1);
    owp_stream_counters c;
    owp_stream_get_counters(st, &c);
    owp_stream_destroy(&st);
    mini_destroy(&m);
    ck_assert_int_eq(r.s.nfiles, 0);
    ck_assert_int_eq(visible_files(r.dir), 0);
    ck_assert_uint_gt(c.connect_failures, 0);
    assert_intervals_abut(&r.s, OWP_STREAM_REFUSED);
    ck_assert_msg(strstr(r.s.intervals[0].detail, "refused the"), "detail: %s",
                  r.s.intervals[0].detail);
    rig_done(&r);
}
END_TEST

START_TEST(test_reason_texts)
{
    ck_assert_str_eq(owp_stream_reason_text(OWP_STREAM_REFUSED), "owampd refused");
    ck_assert_str_eq(owp_stream_reason_text(OWP_STREAM_TIMEOUT), "control timeout");
    ck_assert_str_eq(owp_stream_reason_text(OWP_STREAM_UNREACHABLE), "unreachable");
    ck_assert_str_eq(owp_stream_reason_text(OWP_STREAM_LOCAL), "local error");
}
END_TEST

START_TEST(test_stop_is_prompt)
{
    rig r;
    rig_init(&r, 0);
    r.o.start_delay = 10; /* the default */
    /* Many streams in one process, stopped together. */
    owp_stream *st[16];
    for (int i = 0; i < 16; i++) {
        owp_err err;
        st[i] = owp_stream_start(&r.o, &err);
        ck_assert_msg(st[i] != NULL, "%s", err.msg);
    }
    usleep(100000);
    double t0 = owp_clock_monotonic();
    for (int i = 0; i < 16; i++)
        owp_stream_stop(st[i]);
    for (int i = 0; i < 16; i++)
        owp_stream_destroy(&st[i]);
    ck_assert_msg(owp_clock_monotonic() - t0 < 1.0, "stopping 16 streams took %.2f s", owp_clock_monotonic() - t0);
    owp_stream_destroy(&st[0]); /* NULL: no-op */
    /* Nothing was due yet (the first session starts 10 s out): no files, and
     * no unmeasured time either (the time line had not begun). */
    ck_assert_int_eq(visible_files(r.dir), 0);
    ck_assert_int_eq(r.s.nintervals, 0);
    rig_done(&r);
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
    tcase_add_test(tc, test_reason_texts);
    suite_add_tcase(s, tc);
    tc = tcase_create("unmeasured");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_refused_server_unmeasured);
    tcase_add_test(tc, test_silent_server_timeout);
    tcase_add_test(tc, test_sessions_refused);
    tcase_add_test(tc, test_retry_now_skips_backoff);
    tcase_add_test(tc, test_stop_is_prompt);
    suite_add_tcase(s, tc);
    tc = tcase_create("sub-sessions");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, test_sender_sub_sums_finished);
    tcase_add_test(tc, test_receiver_sub_sums_preliminary);
    suite_add_tcase(s, tc);
    tc = tcase_create("outage");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_server_killed_and_restarted);
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
