/* check_zap.c - the mesh plane's ZAP handler (mesh/zap.h): raw requests on the
 * ZAP endpoint (accepted key, unknown key, malformed requests answered, not
 * crashed on) and real CURVE clients of a ROUTER, one approved, one not; the
 * socket monitor that logs the handshakes a CURVE server refuses before ZAP
 * (mesh/monitor.h: a plaintext client, a wrong server key), and the log
 * rate limiter they share (mesh/ratelimit.h). */
#include <check.h>
#include <string.h>
#include <syslog.h>

#include "monitor.h"
#include "ratelimit.h"
#include "testutil.h"
#include "zap.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* What the callbacks saw. */
typedef struct verdicts {
    char approved[41];  /* the one key the allow callback accepts */
    int asked;
    char last_key[41];
    char last_address[64];
    int logged;
    int logged_priority;
    char last_log[256];
} verdicts;

static int allow(void *arg, const char *key, const char *address)
{
    verdicts *v = arg;
    v->asked++;
    snprintf(v->last_key, sizeof v->last_key, "%s", key);
    snprintf(v->last_address, sizeof v->last_address, "%s", address);
    return strcmp(key, v->approved) == 0;
}

static void log_hook(void *arg, int priority, const char *msg)
{
    verdicts *v = arg;
    v->logged++;
    v->logged_priority = priority;
    snprintf(v->last_log, sizeof v->last_log, "%s", msg);
}

/* The "requests" cases share one handler and one requester. */
static verdicts heard;
static owm_zap *zap;
static zsock_t *req;

static owm_zap *new_handler(verdicts *v)
{
    owp_err err = {0};
    owm_zap *handler = owm_zap_new(allow, v, &err);
    ck_assert_msg(handler != NULL, "%s", err.msg);
    owm_zap_set_log(handler, log_hook, v);
    return handler;
}

/* A REQ socket talking to the handler as libzmq would. */
static zsock_t *new_requester(void)
{
    zsock_t *s = zsock_new_req(ZAP_ENDPOINT);
    ck_assert_ptr_nonnull(s);
    zsock_set_rcvtimeo(s, 2000);
    return s;
}

/* Send the first n frames of a CURVE request with key (32 bytes, or NULL
 * for an empty frame), let the handler answer, return its reply. */
static zmsg_t *ask(const char *mechanism, const uint8_t *key, int n_frames)
{
    zmsg_t *m = zmsg_new();
    const char *text[] = {"1.0", "7", "owmesh", "192.0.2.9", "", mechanism};
    for (int i = 0; i < n_frames && i < 6; i++)
        zmsg_addstr(m, text[i]);
    if (n_frames > 6)
        zmsg_addmem(m, key, key ? 32 : 0);
    ck_assert_int_eq(zmsg_send(&m, req), 0);
    ck_assert_int_eq(owm_zap_handle(zap), 0);
    zmsg_t *reply = zmsg_recv(req);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq((int)zmsg_size(reply), 6);
    return reply;
}

/* Check a reply's frames: version, sequence, status code, text, user id, metadata. */
static void expect_reply(zmsg_t **reply_p, const char *sequence, const char *code,
                         const char *user_id)
{
    char *frames[5];
    for (int i = 0; i < 5; i++)
        frames[i] = zmsg_popstr(*reply_p);
    ck_assert_str_eq(frames[0], "1.0");
    ck_assert_str_eq(frames[1], sequence);
    ck_assert_str_eq(frames[2], code);
    ck_assert_str_eq(frames[4], user_id);
    for (int i = 0; i < 5; i++)
        free(frames[i]);
    zmsg_destroy(reply_p);
}

static void z85_of(const uint8_t key[32], char out[41])
{
    ck_assert_ptr_nonnull(zmq_z85_encode(out, key, 32));
}

/* ------------------------------------------------------------ raw requests */


static void setup(void)
{
    memset(&heard, 0, sizeof heard);
    zap = new_handler(&heard);
    req = new_requester();
}

static void teardown(void)
{
    zsock_destroy(&req);
    owm_zap_destroy(&zap);
    ck_assert_ptr_null(zap);
    owm_zap_destroy(&zap); /* a no-op */
}

START_TEST(approved_key_accepted_with_user_id)
{
    uint8_t key[32];
    memset(key, 0x42, sizeof key);
    z85_of(key, heard.approved);
    zmsg_t *reply = ask("CURVE", key, 7);
    expect_reply(&reply, "7", "200", heard.approved);
    ck_assert_int_eq(heard.asked, 1);
    ck_assert_str_eq(heard.last_key, heard.approved);
    ck_assert_str_eq(heard.last_address, "192.0.2.9");
    ck_assert_int_eq(heard.logged, 0);
}
END_TEST

START_TEST(unknown_key_refused_after_asking)
{
    uint8_t key[32], other[32];
    memset(key, 0x42, sizeof key);
    memset(other, 0x17, sizeof other);
    z85_of(key, heard.approved);
    zmsg_t *reply = ask("CURVE", other, 7);
    expect_reply(&reply, "7", "400", "");
    char z85[41];
    z85_of(other, z85);
    ck_assert_int_eq(heard.asked, 1);
    ck_assert_str_eq(heard.last_key, z85); /* the callback can name the key it refuses */
    ck_assert_str_eq(heard.last_address, "192.0.2.9");
    ck_assert_int_eq(heard.logged, 0); /* the callback logs its own refusals */
}
END_TEST

START_TEST(not_curve_refused_without_asking)
{
    zmsg_t *reply = ask("PLAIN", NULL, 7);
    expect_reply(&reply, "7", "400", "");
    ck_assert_int_eq(heard.asked, 0);
    ck_assert_int_eq(heard.logged, 1);
    ck_assert_int_eq(heard.logged_priority, LOG_WARNING);
    ck_assert_msg(strstr(heard.last_log, "192.0.2.9") && strstr(heard.last_log, "PLAIN"), "%s",
                  heard.last_log);
}
END_TEST

/* Every truncation of a request, and a key of the wrong size, gets a 400. */
START_TEST(malformed_requests_answered)
{
    for (int n = 1; n <= 6; n++) {
        zmsg_t *reply = ask("CURVE", NULL, n);
        expect_reply(&reply, n >= 2 ? "7" : "", "400", "");
    }
    zmsg_t *reply = ask("CURVE", NULL, 7); /* empty key frame */
    expect_reply(&reply, "7", "400", "");
    ck_assert_int_eq(heard.asked, 0);
    ck_assert_int_eq(heard.logged, 7);
}
END_TEST

/* ZAP has one endpoint per process: a second handler cannot bind it. */
START_TEST(one_handler_per_process)
{
    owp_err err = {0};
    owm_zap *second = owm_zap_new(allow, &heard, &err);
    ck_assert_ptr_null(second);
    ck_assert_int_eq(err.code, OWP_ERR_SYS);
    ck_assert_msg(strstr(err.msg, "ZAP handler: cannot bind " ZAP_ENDPOINT), "%s", err.msg);
}
END_TEST

/* ------------------------------------------------------------ real CURVE clients */

static zsock_t *curve_client(zcert_t *client, zcert_t *server, const char *endpoint)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    ck_assert_ptr_nonnull(s);
    zsock_set_linger(s, 0);
    zcert_apply(client, s);
    zsock_set_curve_serverkey(s, zcert_public_txt(server));
    ck_assert_int_eq(zsock_connect(s, "%s", endpoint), 0);
    zstr_send(s, zcert_public_txt(client));
    return s;
}

START_TEST(curve_router_admits_only_the_approved_client)
{
    verdicts seen = {0}; /* this case has a handler of its own */
    zcert_t *server = zcert_new(), *good = zcert_new(), *bad = zcert_new();
    snprintf(seen.approved, sizeof seen.approved, "%s", zcert_public_txt(good));
    owm_zap *handler = new_handler(&seen); /* before the CURVE server binds */
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(router, 0);
    zcert_apply(server, router);
    zsock_set_curve_server(router, 1);
    zsock_set_zap_domain(router, "check");
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    zsock_t *good_s = curve_client(good, server, endpoint);
    zsock_t *bad_s = curve_client(bad, server, endpoint);
    zpoller_t *poller = zpoller_new(owm_zap_socket(handler), router, NULL);
    int received = 0, refused_bad = 0;
    int64_t deadline = zclock_mono() + 5000;
    /* until the good client's message is in and the bad key was turned away */
    while ((!received || !refused_bad) && zclock_mono() < deadline) {
        void *which = zpoller_wait(poller, 100);
        if (which == owm_zap_socket(handler)) {
            ck_assert_int_eq(owm_zap_handle(handler), 0);
            refused_bad |= strcmp(seen.last_key, zcert_public_txt(bad)) == 0;
        } else if (which == router) {
            zmsg_t *m = zmsg_recv(router);
            zframe_t *id = zmsg_pop(m);
            zframe_t *body = zmsg_pop(m);
            ck_assert_str_eq(zframe_meta(body, "User-Id"), zcert_public_txt(good));
            ck_assert(zframe_streq(body, zcert_public_txt(good)));
            received++;
            zframe_destroy(&id);
            zframe_destroy(&body);
            zmsg_destroy(&m);
        }
    }
    ck_assert_int_eq(received, 1);
    ck_assert(refused_bad);
    zpoller_destroy(&poller);
    zsock_destroy(&good_s);
    zsock_destroy(&bad_s);
    zsock_destroy(&router);
    owm_zap_destroy(&handler);
    zcert_destroy(&server);
    zcert_destroy(&good);
    zcert_destroy(&bad);
}
END_TEST

/* ------------------------------------------------------------ refused handshakes */

/* A CURVE ROUTER on loopback with a ZAP handler admitting approved and a
 * monitor logging into seen; the endpoint in endpoint. */
typedef struct curve_server {
    zcert_t *cert;
    owm_zap *zap;
    zsock_t *router;
    owm_monitor *monitor;
    char endpoint[64];
} curve_server;

static void server_start(curve_server *srv, verdicts *seen)
{
    srv->cert = zcert_new();
    srv->zap = new_handler(seen);
    srv->router = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(srv->router, 0);
    zcert_apply(srv->cert, srv->router);
    zsock_set_curve_server(srv->router, 1);
    zsock_set_zap_domain(srv->router, "check");
    owp_err err = {0};
    srv->monitor = owm_monitor_new(srv->router, "check", log_hook, seen, &err);
    ck_assert_msg(srv->monitor != NULL, "%s", err.msg);
    int port = zsock_bind(srv->router, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    snprintf(srv->endpoint, sizeof srv->endpoint, "tcp://127.0.0.1:%d", port);
}

static void server_stop(curve_server *srv)
{
    owm_monitor_destroy(&srv->monitor);
    ck_assert_ptr_null(srv->monitor);
    zsock_destroy(&srv->router);
    owm_zap_destroy(&srv->zap);
    zcert_destroy(&srv->cert);
}

/* Serve ZAP and the monitor until a line is logged (or 5 s pass). */
static void wait_for_log(curve_server *srv, verdicts *seen)
{
    zpoller_t *poller = zpoller_new(owm_zap_socket(srv->zap), owm_monitor_socket(srv->monitor),
                                    NULL);
    int64_t deadline = zclock_mono() + 5000;
    while (!seen->logged && zclock_mono() < deadline) {
        void *which = zpoller_wait(poller, 100);
        if (which == owm_zap_socket(srv->zap))
            owm_zap_handle(srv->zap);
        else if (which == owm_monitor_socket(srv->monitor))
            owm_monitor_handle(srv->monitor, (double)zclock_mono() / 1000.0);
    }
    zpoller_destroy(&poller);
}

START_TEST(plaintext_client_logged)
{
    verdicts seen = {0};
    curve_server srv;
    server_start(&srv, &seen);
    zsock_t *plain = zsock_new(ZMQ_DEALER);
    zsock_set_linger(plain, 0);
    ck_assert_int_eq(zsock_connect(plain, "%s", srv.endpoint), 0);
    zstr_send(plain, "hello");
    wait_for_log(&srv, &seen);
    ck_assert_int_eq(seen.logged, 1);
    ck_assert_int_eq(seen.logged_priority, LOG_WARNING);
    ck_assert_int_eq(seen.asked, 0); /* ZAP never heard of it */
    ck_assert_msg(strstr(seen.last_log, "check: refused a connection on tcp://127.0.0.1:") &&
                      strstr(seen.last_log, "not CURVE"),
                  "%s", seen.last_log);
    zsock_destroy(&plain);
    server_stop(&srv);
}
END_TEST

START_TEST(wrong_server_key_logged)
{
    verdicts seen = {0};
    curve_server srv;
    server_start(&srv, &seen);
    zcert_t *client = zcert_new(), *not_the_server = zcert_new();
    snprintf(seen.approved, sizeof seen.approved, "%s", zcert_public_txt(client));
    zsock_t *s = curve_client(client, not_the_server, srv.endpoint);
    wait_for_log(&srv, &seen);
    ck_assert_int_eq(seen.logged, 1);
    ck_assert_msg(strstr(seen.last_log, "refused a connection on tcp://127.0.0.1:") &&
                      strstr(seen.last_log, "decryption failed"),
                  "%s", seen.last_log);
    zsock_destroy(&s);
    zcert_destroy(&client);
    zcert_destroy(&not_the_server);
    server_stop(&srv);
}
END_TEST

START_TEST(protocol_errors_in_words)
{
    ck_assert_ptr_nonnull(strstr(owm_monitor_protocol_error(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
                                 "plaintext"));
    ck_assert_ptr_nonnull(strstr(owm_monitor_protocol_error(0x10000018), "malformed"));
    ck_assert_str_eq(owm_monitor_protocol_error(0), "handshake failed");
}
END_TEST

START_TEST(ratelimit_once_a_period_per_subject)
{
    owm_ratelimit rl;
    owm_ratelimit_init(&rl, 60);
    ck_assert_int_eq(owm_ratelimit_allow(&rl, "key-a", 100), 1);
    ck_assert_int_eq(owm_ratelimit_allow(&rl, "key-a", 130), 0);
    ck_assert_int_eq(owm_ratelimit_allow(&rl, "key-b", 130), 1); /* another subject */
    ck_assert_int_eq(owm_ratelimit_allow(&rl, "key-a", 160.5), 1); /* the period is over */
    ck_assert_int_eq(owm_ratelimit_allow(&rl, "key-a", 170), 0);
    /* more subjects than slots: the one logged longest ago is forgotten */
    char subject[32];
    for (int i = 0; i < OWM_RATELIMIT_SLOTS; i++) {
        snprintf(subject, sizeof subject, "flood-%d", i);
        ck_assert_int_eq(owm_ratelimit_allow(&rl, subject, 200 + i), 1);
    }
    ck_assert_int_eq(owm_ratelimit_allow(&rl, "key-a", 270), 1);
    ck_assert_int_eq(owm_ratelimit_allow(&rl, "flood-63", 270), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("zap");
    TCase *tc = tcase_create("requests");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, approved_key_accepted_with_user_id);
    tcase_add_test(tc, unknown_key_refused_after_asking);
    tcase_add_test(tc, not_curve_refused_without_asking);
    tcase_add_test(tc, malformed_requests_answered);
    tcase_add_test(tc, one_handler_per_process);
    suite_add_tcase(s, tc);
    tc = tcase_create("curve");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, curve_router_admits_only_the_approved_client);
    tcase_add_test(tc, plaintext_client_logged);
    tcase_add_test(tc, wrong_server_key_logged);
    suite_add_tcase(s, tc);
    tc = tcase_create("monitor");
    tcase_add_test(tc, protocol_errors_in_words);
    tcase_add_test(tc, ratelimit_once_a_period_per_subject);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
