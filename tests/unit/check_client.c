/*
 * check_client.c - the client engine (client.h) against the real server
 * engine (server.h) over loopback TCP, in-process: every mode, both
 * directions, fetch, refusals, and a stalled or hostile server.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "owpfile.h"
#include "pfs.h"
#include "sendsched.h"
#include "server.h"
#include "testutil.h"

#define NPACKETS 50
#define PASSPHRASE "correct horse"

/* ------------------------------------------------------------ a loopback server */

typedef enum { SERVE_ENGINE, SERVE_SILENT, SERVE_GARBAGE, SERVE_HUGE_COUNT, SERVE_DRIBBLE } serve_kind;

typedef struct test_server {
    int listen_fd;
    uint16_t port;
    char addr[64]; /* "127.0.0.1:PORT" */
    serve_kind kind;
    owp_server *engine;
    owp_pfs *pfs;
    char *datadir;
    pthread_t thread;
    owp_status serve_status;
} test_server;

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A hostile server's set-up: SERVE_HUGE_COUNT offers A and E with a PBKDF2
 * count of 2^31 - 1 (minutes of CPU); SERVE_DRIBBLE is an open-mode server
 * that sends each piece of the set-up within 400 ms, so that no single
 * message waits a control timeout of 1 s, but the whole takes 1.6 s. */
static void serve_hostile_setup(const test_server *ts, int fd)
{
    uint8_t greet[64] = { 0 }, setup[164], start[48] = { 0 };
    if (ts->kind == SERVE_HUGE_COUNT) {
        greet[15] = 6;                    /* Modes: A, E */
        greet[48] = 0x7f;                 /* Count 0x7fffffff */
        memset(greet + 49, 0xff, 3);
    } else {
        greet[15] = 1;                    /* Modes: open */
        greet[50] = 0x08;                 /* Count 2048 */
        nap_ms(400);
    }
    if (write(fd, greet, sizeof greet) != (ssize_t)sizeof greet)
        return;
    size_t got = 0;
    ssize_t n;
    while (got < sizeof setup && (n = read(fd, setup + got, sizeof setup - got)) > 0)
        got += (size_t)n;
    if (ts->kind != SERVE_DRIBBLE || got != sizeof setup)
        return;
    for (size_t off = 0; off < sizeof start; off += 16) {
        nap_ms(400);
        if (send(fd, start + off, 16, MSG_NOSIGNAL) != 16)
            return;
    }
}

static void *serve_one(void *arg)
{
    test_server *ts = arg;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int fd = accept(ts->listen_fd, (struct sockaddr *)&peer, &plen);
    if (fd < 0)
        return NULL;
    if (ts->kind == SERVE_ENGINE) {
        owp_err err;
        ts->serve_status = owp_server_serve(ts->engine, fd, (struct sockaddr *)&peer, plen, &err);
        return NULL;
    }
    if (ts->kind == SERVE_GARBAGE) {
        /* A plausible open-mode greeting, then a Server-Start whose Accept
         * is no value RFC 4656 defines. */
        uint8_t greet[64] = { 0 }, setup[164], start[48];
        greet[15] = 1;      /* Modes: open */
        greet[50] = 0x08;   /* Count 2048 */
        memset(start, 0xa5, sizeof start);
        start[15] = 0xa5;
        size_t got = 0;
        ssize_t n;
        if (write(fd, greet, sizeof greet) == (ssize_t)sizeof greet) {
            while (got < sizeof setup && (n = read(fd, setup + got, sizeof setup - got)) > 0)
                got += (size_t)n;
            if (got == sizeof setup && write(fd, start, sizeof start) < 0)
                got = 0;
        }
    }
    if (ts->kind == SERVE_HUGE_COUNT || ts->kind == SERVE_DRIBBLE)
        serve_hostile_setup(ts, fd);
    /* Silent (or done with garbage): hold the connection until the client goes. */
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
    return NULL;
}

static void server_start(test_server *ts, serve_kind kind, uint32_t modes)
{
    memset(ts, 0, sizeof *ts);
    ts->kind = kind;
    ts->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(ts->listen_fd, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(ts->listen_fd, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(listen(ts->listen_fd, 4), 0);
    socklen_t len = sizeof sin;
    ck_assert_int_eq(getsockname(ts->listen_fd, (struct sockaddr *)&sin, &len), 0);
    ts->port = ntohs(sin.sin_port);
    snprintf(ts->addr, sizeof ts->addr, "127.0.0.1:%u", ts->port);

    if (kind == SERVE_ENGINE) {
        owp_err err;
        char *pfs_path = tu_vector_path("lab/owampd.pfs");
        ts->pfs = owp_pfs_load(pfs_path, &err);
        ck_assert_msg(ts->pfs != NULL, "%s", err.msg);
        free(pfs_path);
        ts->datadir = tu_tempdir();
        ck_assert_msg(owp_server_datadir_init(ts->datadir, NULL, NULL, NULL, &err) == OWP_OK,
                      "%s", err.msg);
        owp_server_config cfg;
        owp_server_config_default(&cfg);
        cfg.modes = modes;
        cfg.pfs = ts->pfs;
        cfg.datadir = ts->datadir;
        cfg.controltimeout = 5;
        cfg.enddelay = 0.1;
        cfg.start_time = owp_clock_now(NULL);
        ts->engine = owp_server_new(&cfg, &err);
        ck_assert_msg(ts->engine != NULL, "%s", err.msg);
    }
    ck_assert_int_eq(pthread_create(&ts->thread, NULL, serve_one, ts), 0);
}

static void rm_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
}

static void server_stop(test_server *ts)
{
    pthread_join(ts->thread, NULL);
    close(ts->listen_fd);
    owp_server_destroy(&ts->engine);
    owp_pfs_destroy(&ts->pfs);
    if (ts->datadir) {
        rm_tree(ts->datadir);
        free(ts->datadir);
    }
}

/* ------------------------------------------------------------ helpers */

static owp_client *connect_client(const test_server *ts, uint32_t modes, const char *identity,
                                  const char *pass, owp_err *err)
{
    owp_client_opts o;
    owp_client_opts_default(&o);
    o.server = ts->addr;
    o.family = AF_INET;
    o.modes = modes;
    o.identity = identity;
    o.passphrase = (const uint8_t *)pass;
    o.passphrase_len = pass ? strlen(pass) : 0;
    o.control_timeout_ms = 2000;
    return owp_client_open(&o, err);
}

/* Set-up against the engine offering server_modes, which must refuse it:
 * the refusal. */
static owp_err refusal(uint32_t server_modes, uint32_t modes, const char *identity,
                       const char *pass)
{
    test_server ts;
    server_start(&ts, SERVE_ENGINE, server_modes);
    owp_err err;
    owp_client *c = connect_client(&ts, modes, identity, pass, &err);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err.code, OWP_ERR_REFUSED);
    server_stop(&ts);
    return err;
}

/* What a client's failed set-up left: its error, how long it took (s), and
 * the address of the server it failed against. */
typedef struct failed_open {
    owp_err err;
    double took;
    char addr[64];
} failed_open;

/* Set-up with the options o (their server set here, to a fresh server of
 * kind), which must fail. */
static failed_open open_fails(serve_kind kind, owp_client_opts *o)
{
    failed_open f;
    test_server ts;
    server_start(&ts, kind, 0);
    o->server = ts.addr;
    double t0 = owp_clock_monotonic();
    owp_client *c = owp_client_open(o, &f.err);
    f.took = owp_clock_monotonic() - t0;
    ck_assert_ptr_null(c);
    snprintf(f.addr, sizeof f.addr, "%s", ts.addr);
    o->server = NULL; /* ts.addr goes with the server */
    server_stop(&ts);
    return f;
}

/* Default options but the control timeout. */
static owp_client_opts opts_with_timeout(int control_timeout_ms)
{
    owp_client_opts o;
    owp_client_opts_default(&o);
    o.control_timeout_ms = control_timeout_ms;
    return o;
}

typedef struct counts {
    uint32_t records, lost, received;
} counts;

static int count_record(const owp_record *r, void *arg)
{
    counts *c = arg;
    c->records++;
    if (owp_record_lost(r))
        c->lost++;
    else
        c->received++;
    return 0;
}

static counts check_file(FILE *fp, const char *name, const uint8_t sid[16])
{
    owp_err err;
    counts c = { 0 };
    ck_assert_int_eq(fflush(fp), 0);
    rewind(fp);
    owp_file *f = owp_file_read(fp, name, &err);
    ck_assert_msg(f != NULL, "%s: %s", name, err.msg);
    ck_assert_uint_eq(owp_file_finished(f), OWP_FINISHED_NORMAL);
    ck_assert_uint_eq(owp_file_next_seqno(f), NPACKETS);
    ck_assert_uint_eq(owp_file_nskips(f), 0);
    ck_assert_uint_eq(owp_file_request(f)->npackets, NPACKETS);
    ck_assert_mem_eq(owp_file_request(f)->sid, sid, 16);
    ck_assert_int_eq(owp_file_each_record(f, 0, count_record, &c, &err), OWP_OK);
    ck_assert_uint_eq(owp_file_nrecords(f), c.records);
    owp_file_destroy(&f);
    return c;
}

/* A 50-packet, 10 ms session pair that starts 0.3 s from now. */
static void run_both_directions(uint32_t modes, const char *identity, const char *pass,
                                owp_mode expect_mode)
{
    test_server ts;
    server_start(&ts, SERVE_ENGINE, OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED);
    owp_err err;
    owp_client *c = connect_client(&ts, modes, identity, pass, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(owp_client_mode(c), expect_mode);
    ck_assert(owp_client_rtt(c) >= 0 && owp_client_rtt(c) < 1.0);
    ck_assert_uint_ne(owp_client_server_start(c), 0);

    owp_slot slot = { .type = OWP_SLOT_EXP, .value = owp_num64_from_double(0.01) };
    FILE *from_fp = tmpfile();
    ck_assert_ptr_nonnull(from_fp);
    owp_test_spec spec = {
        .dir = OWP_DIR_TO,
        .npackets = NPACKETS,
        .slots = &slot,
        .nslots = 1,
        .start_time = owp_clock_now(NULL) + owp_num64_from_double(0.3),
        .timeout = owp_num64_from_double(0.3),
        .dscp = -1,
        .enddelay = 0.1,
    };
    unsigned to_idx, from_idx;
    ck_assert_msg(owp_client_request(c, &spec, &to_idx, &err) == OWP_OK, "%s", err.msg);
    spec.dir = OWP_DIR_FROM;
    spec.out = from_fp;
    ck_assert_msg(owp_client_request(c, &spec, &from_idx, &err) == OWP_OK, "%s", err.msg);
    ck_assert_uint_eq(owp_client_nsessions(c), 2);

    const owp_request *to_req = owp_client_session_request(c, to_idx);
    const owp_request *from_req = owp_client_session_request(c, from_idx);
    ck_assert_int_eq(to_req->conf_receiver, 1);
    ck_assert_int_eq(from_req->conf_sender, 1);
    ck_assert_uint_ne(to_req->receiver_port, 0);
    ck_assert_uint_ne(from_req->sender_port, 0);
    /* Our SID for the session we receive: our IPv4 address first. */
    static const uint8_t lo[4] = { 127, 0, 0, 1 };
    ck_assert_mem_eq(from_req->sid, lo, 4);

    ck_assert_msg(owp_client_start(c, &err) == OWP_OK, "%s", err.msg);
    double est = owp_client_seconds_until_results(c);
    ck_assert(est > 0.5 && est < 5.0);
    ck_assert_msg(owp_client_wait(c, NULL, &err) == OWP_OK, "%s", err.msg);

    owp_session_result res;
    ck_assert_int_eq(owp_client_session_result(c, to_idx, &res, &err), OWP_OK);
    ck_assert_uint_eq(res.next_seqno, NPACKETS);
    ck_assert_int_eq(res.stopped_early, 0);
    ck_assert_int_eq(owp_client_session_result(c, from_idx, &res, &err), OWP_OK);
    ck_assert_uint_eq(res.next_seqno, NPACKETS);
    ck_assert_uint_eq(res.nrecords, NPACKETS);

    counts from = check_file(from_fp, "from", from_req->sid);
    ck_assert_uint_eq(from.records, NPACKETS);
    ck_assert_uint_eq(from.lost, 0);

    FILE *to_fp = tmpfile();
    owp_fetch_result fr;
    ck_assert_msg(owp_client_fetch(c, to_req->sid, 0, 0xFFFFFFFFu, to_fp, &fr, &err) == OWP_OK,
                  "%s", err.msg);
    ck_assert_uint_eq(fr.finished, 1);
    ck_assert_uint_eq(fr.nrecords, NPACKETS);
    counts to = check_file(to_fp, "to", to_req->sid);
    ck_assert_uint_eq(to.records, NPACKETS);
    ck_assert_uint_eq(to.lost, 0);

    /* A session the server never stored cannot be fetched. */
    uint8_t bogus[16] = { 1, 2, 3 };
    FILE *none = tmpfile();
    ck_assert_int_eq(owp_client_fetch(c, bogus, 0, 0xFFFFFFFFu, none, NULL, &err),
                     OWP_ERR_REFUSED);
    fclose(none);

    fclose(to_fp);
    fclose(from_fp);
    owp_client_close(&c);
    ck_assert_ptr_null(c);
    owp_client_close(&c); /* NULL is fine */
    server_stop(&ts);
}

/* ------------------------------------------------------------ tests */

START_TEST(open_mode_both_directions)
{
    run_both_directions(OWP_MODE_OPEN, NULL, NULL, OWP_MODE_OPEN);
}
END_TEST

START_TEST(authenticated_mode_both_directions)
{
    run_both_directions(OWP_MODE_AUTH, "alice", PASSPHRASE, OWP_MODE_AUTH);
}
END_TEST

START_TEST(encrypted_mode_both_directions)
{
    /* AEO wanted: the client picks E first. */
    run_both_directions(OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED, "alice", PASSPHRASE,
                        OWP_MODE_ENCRYPTED);
}
END_TEST

START_TEST(no_passphrase_falls_back_to_open)
{
    run_both_directions(OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED, NULL, NULL,
                        OWP_MODE_OPEN);
}
END_TEST

START_TEST(wrong_passphrase_is_refused)
{
    owp_err err = refusal(OWP_MODE_AUTH | OWP_MODE_ENCRYPTED, OWP_MODE_AUTH, "alice",
                          "wrong horse");
    ck_assert_msg(strstr(err.msg, "pass-phrase") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "127.0.0.1") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(unknown_identity_is_refused)
{
    refusal(OWP_MODE_ENCRYPTED, OWP_MODE_ENCRYPTED, "mallory", PASSPHRASE);
}
END_TEST

START_TEST(no_common_mode)
{
    owp_err err = refusal(OWP_MODE_AUTH, OWP_MODE_OPEN, NULL, NULL);
    ck_assert_msg(strstr(err.msg, "no common mode") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(auth_without_passphrase_has_no_common_mode)
{
    owp_err err = refusal(OWP_MODE_AUTH | OWP_MODE_ENCRYPTED, OWP_MODE_AUTH | OWP_MODE_ENCRYPTED,
                          "alice", NULL);
    ck_assert_msg(strstr(err.msg, "no common mode") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(silent_server_times_out)
{
    owp_client_opts o = opts_with_timeout(300);
    failed_open f = open_fails(SERVE_SILENT, &o);
    ck_assert_int_eq(f.err.code, OWP_ERR_TIMEOUT);
}
END_TEST

START_TEST(garbage_greeting_is_a_protocol_error)
{
    owp_client_opts o = opts_with_timeout(1000);
    failed_open f = open_fails(SERVE_GARBAGE, &o);
    ck_assert_msg(f.err.code == OWP_ERR_PROTO, "%s", f.err.msg);
    ck_assert_msg(strstr(f.err.msg, "127.0.0.1") != NULL, "%s", f.err.msg);
}
END_TEST

/* A greeting asking for 2^31 - 1 PBKDF2 iterations is refused at once,
 * naming the server, instead of minutes of CPU. */
START_TEST(huge_pbkdf2_count_is_refused)
{
    owp_client_opts o = opts_with_timeout(2000);
    o.modes = OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    o.identity = "alice";
    o.passphrase = (const uint8_t *)PASSPHRASE;
    o.passphrase_len = strlen(PASSPHRASE);
    failed_open f = open_fails(SERVE_HUGE_COUNT, &o);
    ck_assert(f.took < 1.0);
    ck_assert_msg(f.err.code == OWP_ERR_PROTO, "%s", f.err.msg);
    ck_assert_msg(strstr(f.err.msg, f.addr) && strstr(f.err.msg, "2147483647 PBKDF2"), "%s",
                  f.err.msg);
}
END_TEST

/* The control timeout bounds the whole set-up, not each message. */
START_TEST(dribbling_server_times_out)
{
    owp_client_opts o = opts_with_timeout(1000);
    failed_open f = open_fails(SERVE_DRIBBLE, &o);
    ck_assert_msg(f.err.code == OWP_ERR_TIMEOUT, "%s", f.err.msg);
    ck_assert_msg(f.took < 1.4, "set-up took %.2f s", f.took);
}
END_TEST

START_TEST(connection_refused_names_the_server)
{
    test_server ts;
    server_start(&ts, SERVE_SILENT, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "%s", ts.addr);
    /* Let the server thread finish (connect once and go), then close the port. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(ts.port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    close(fd);
    server_stop(&ts);
    owp_client_opts o;
    owp_client_opts_default(&o);
    o.server = addr;
    owp_err err;
    owp_client *c = owp_client_open(&o, &err);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err.code, OWP_ERR_SYS);
    ck_assert_msg(strstr(err.msg, addr) != NULL, "%s", err.msg);
}
END_TEST

START_TEST(early_stop_keeps_partial_data)
{
    test_server ts;
    server_start(&ts, SERVE_ENGINE, OWP_MODE_OPEN);
    owp_err err;
    owp_client *c = connect_client(&ts, OWP_MODE_OPEN, NULL, NULL, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    owp_slot slot = { .type = OWP_SLOT_FIXED, .value = owp_num64_from_double(0.01) };
    FILE *from_fp = tmpfile();
    owp_test_spec spec = {
        .dir = OWP_DIR_FROM,
        .npackets = 1000, /* 10 s: stopped after about 0.5 s */
        .slots = &slot,
        .nslots = 1,
        .start_time = owp_clock_now(NULL) + owp_num64_from_double(0.2),
        .timeout = owp_num64_from_double(0.3),
        .dscp = -1,
        .enddelay = 0.1,
        .out = from_fp,
    };
    unsigned from_idx, to_idx;
    ck_assert_msg(owp_client_request(c, &spec, &from_idx, &err) == OWP_OK, "%s", err.msg);
    spec.dir = OWP_DIR_TO;
    spec.out = NULL;
    ck_assert_msg(owp_client_request(c, &spec, &to_idx, &err) == OWP_OK, "%s", err.msg);
    ck_assert_msg(owp_client_start(c, &err) == OWP_OK, "%s", err.msg);
    usleep(700000);
    ck_assert_msg(owp_client_stop_now(c, &err) == OWP_OK, "%s", err.msg);
    owp_session_result res;
    ck_assert_int_eq(owp_client_session_result(c, to_idx, &res, &err), OWP_OK);
    ck_assert(res.next_seqno > 10 && res.next_seqno < 1000);
    ck_assert_int_eq(res.stopped_early, 1);
    ck_assert_int_eq(owp_client_session_result(c, from_idx, &res, &err), OWP_OK);
    ck_assert(res.next_seqno > 10 && res.next_seqno < 1000);
    ck_assert(res.nrecords >= res.next_seqno / 2 && res.nrecords <= res.next_seqno);
    fflush(from_fp);
    rewind(from_fp);
    owp_file *f = owp_file_read(from_fp, "from", &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    ck_assert_uint_lt(owp_file_next_seqno(f), 1000);
    owp_file_destroy(&f);
    fclose(from_fp);
    owp_client_close(&c);
    server_stop(&ts);
}
END_TEST

START_TEST(request_checks_its_arguments)
{
    test_server ts;
    server_start(&ts, SERVE_ENGINE, OWP_MODE_OPEN);
    owp_err err;
    owp_client *c = connect_client(&ts, OWP_MODE_OPEN, NULL, NULL, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    owp_slot slot = { .type = OWP_SLOT_EXP, .value = owp_num64_from_double(0.01) };
    owp_test_spec spec = { .dir = OWP_DIR_FROM, .npackets = 5, .slots = &slot, .nslots = 1,
                           .dscp = -1 };
    /* A receive session without a file to write into. */
    ck_assert_int_eq(owp_client_request(c, &spec, NULL, &err), OWP_ERR_INVALID);
    spec.nslots = 0;
    spec.dir = OWP_DIR_TO;
    ck_assert_int_eq(owp_client_request(c, &spec, NULL, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_client_wait(c, NULL, &err), OWP_ERR_INVALID); /* not started */
    owp_client_close(&c);
    server_stop(&ts);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("client");
    TCase *modes = tcase_create("modes");
    tcase_set_timeout(modes, 20);
    tcase_add_test(modes, open_mode_both_directions);
    tcase_add_test(modes, authenticated_mode_both_directions);
    tcase_add_test(modes, encrypted_mode_both_directions);
    tcase_add_test(modes, no_passphrase_falls_back_to_open);
    suite_add_tcase(s, modes);

    TCase *refusals = tcase_create("refusals");
    tcase_add_test(refusals, wrong_passphrase_is_refused);
    tcase_add_test(refusals, unknown_identity_is_refused);
    tcase_add_test(refusals, no_common_mode);
    tcase_add_test(refusals, auth_without_passphrase_has_no_common_mode);
    tcase_add_test(refusals, request_checks_its_arguments);
    suite_add_tcase(s, refusals);

    TCase *hostile = tcase_create("hostile");
    tcase_add_test(hostile, silent_server_times_out);
    tcase_add_test(hostile, garbage_greeting_is_a_protocol_error);
    tcase_add_test(hostile, connection_refused_names_the_server);
    tcase_add_test(hostile, huge_pbkdf2_count_is_refused);
    tcase_add_test(hostile, dribbling_server_times_out);
    suite_add_tcase(s, hostile);

    TCase *stop = tcase_create("early_stop");
    tcase_set_timeout(stop, 20);
    tcase_add_test(stop, early_stop_keeps_partial_data);
    suite_add_tcase(s, stop);
    return s;
}

int main(void)
{
    if (owp_clock_init(NULL) != OWP_OK)
        return 1;
    SRunner *sr = srunner_create(session_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
