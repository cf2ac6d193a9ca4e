/*
 * check_server.c - the OWAMP-Control server engine, driven over loopback TCP
 * by a minimal client written here from wire.h + channel.h (not client.c):
 * handshake in the three modes, refusals, sessions both ways with real UDP
 * test packets, Stop-Sessions, Fetch-Session, hostile input and timeouts.
 * The data directory on its own: check_datadir.c.
 *
 * Longer than our ~800-line rule on purpose: a third of it is the client
 * harness the cases share (one place, so every case speaks the protocol the
 * same way), and the engine's files (server.c, server_session.c,
 * server_stop.c) are one state machine best tested end to end through it.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#define TEST_PATH_MAX 4096

#include "bytes.h"
#include "channel.h"
#include "clock.h"
#include "crypto.h"
#include "owpfile.h"
#include "pfs.h"
#include "server.h"
#include "testpkt.h"
#include "testutil.h"
#include "wire.h"

#define START_TIME 0xeeae66d019dfa871ULL

/* ------------------------------------------------------------------ harness */

/* Policy hooks for the next harness_start (NULL: none); reset by it. */
static const owp_server_policy *harness_policy;
/* setuptimeout for the next harness_start (0: the default); reset by it. */
static uint32_t harness_setuptimeout;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[16384];

/* Each line is kept as "<PRIO> message". */
static void test_log(void *arg, int prio, const char *msg)
{
    (void)arg;
    pthread_mutex_lock(&log_lock);
    size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "<%d> %s\n", prio, msg);
    pthread_mutex_unlock(&log_lock);
}

/* The priority of the first log line holding s, -1 when none does. */
static int log_priority_of(const char *s)
{
    pthread_mutex_lock(&log_lock);
    int prio = -1;
    const char *hit = strstr(log_text, s);
    if (hit) {
        const char *line = hit;
        while (line > log_text && line[-1] != '\n')
            line--;
        prio = atoi(line + 1);
    }
    pthread_mutex_unlock(&log_lock);
    return prio;
}

static int log_contains(const char *s)
{
    pthread_mutex_lock(&log_lock);
    int r = strstr(log_text, s) != NULL;
    pthread_mutex_unlock(&log_lock);
    return r;
}

typedef struct harness {
    owp_server *srv;
    owp_pfs *pfs;
    char *datadir;
    pthread_t thread;
    int server_fd;
    struct sockaddr_in peer;
    owp_status status;
    owp_err err;
    owp_chan *chan; /* client side */
    int client_fd;
    double served_seconds;
    int joined;
} harness;

static void harness_join(harness *h)
{
    if (!h->joined)
        pthread_join(h->thread, NULL);
    h->joined = 1;
}

static void *serve_thread(void *arg)
{
    harness *h = arg;
    double t0 = owp_clock_monotonic();
    h->status = owp_server_serve(h->srv, h->server_fd, (struct sockaddr *)&h->peer,
                                 sizeof h->peer, &h->err);
    h->served_seconds = owp_clock_monotonic() - t0;
    return NULL;
}

/* Start a server on one end of a loopback TCP connection; cfg may adjust
 * modes/timeouts before the server is made. */
static void harness_start(harness *h, uint32_t modes, uint32_t controltimeout)
{
    memset(h, 0, sizeof *h);
    log_text[0] = '\0';
    owp_err err;
    ck_assert_int_eq(owp_clock_init(&err), OWP_OK);
    char *pfs_path = tu_vector_path("lab/owampd.pfs");
    h->pfs = owp_pfs_load(pfs_path, &err);
    ck_assert_msg(h->pfs != NULL, "%s", err.msg);
    free(pfs_path);
    h->datadir = tu_tempdir();
    ck_assert_int_eq(owp_server_datadir_init(h->datadir, NULL, NULL, NULL, &err), OWP_OK);

    owp_server_config cfg;
    owp_server_config_default(&cfg);
    cfg.modes = modes;
    cfg.pfs = h->pfs;
    cfg.datadir = h->datadir;
    cfg.controltimeout = controltimeout;
    if (harness_setuptimeout)
        cfg.setuptimeout = harness_setuptimeout;
    harness_setuptimeout = 0;
    cfg.enddelay = 0.1;
    cfg.start_time = START_TIME;
    cfg.log = test_log;
    if (harness_policy)
        cfg.policy = *harness_policy;
    harness_policy = NULL;
    h->srv = owp_server_new(&cfg, &err);
    ck_assert_msg(h->srv != NULL, "%s", err.msg);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    h->client_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(h->client_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    len = sizeof h->peer;
    h->server_fd = accept(lfd, (struct sockaddr *)&h->peer, &len);
    ck_assert_int_ge(h->server_fd, 0);
    close(lfd);
    ck_assert_int_eq(pthread_create(&h->thread, NULL, serve_thread, h), 0);
    h->chan = owp_chan_new(h->client_fd, "test-server", 5000, &err);
    ck_assert_msg(h->chan != NULL, "%s", err.msg);
}

/* Close the client side and wait for owp_server_serve to return. */
static owp_status harness_finish(harness *h)
{
    owp_chan_destroy(&h->chan);
    harness_join(h);
    owp_server_destroy(&h->srv);
    owp_pfs_destroy(&h->pfs);
    free(h->datadir);
    h->datadir = NULL;
    return h->status;
}

/* ------------------------------------------------------------------ mini client */

typedef struct client_keys {
    uint8_t aes[16], hmac[32], client_iv[16];
} client_keys;

static void read_greeting(harness *h, owp_greeting *g)
{
    uint8_t buf[OWP_GREETING_LEN];
    owp_err err;
    ck_assert_int_eq(owp_chan_recv_clear(h->chan, buf, sizeof buf, &err), OWP_OK);
    ck_assert_int_eq(owp_wire_decode_greeting(buf, g, &err), OWP_OK);
}

/* Set-Up-Response for mode with identity/pass (A/E), returns Server-Start Accept. */
static uint8_t setup(harness *h, const owp_greeting *g, uint32_t mode, const char *identity,
                     const char *pass, client_keys *k)
{
    owp_err err;
    owp_setup_response sr;
    memset(&sr, 0, sizeof sr);
    memset(k, 0, sizeof *k);
    sr.mode = mode;
    if (mode != OWP_MODE_OPEN) {
        snprintf(sr.keyid, sizeof sr.keyid, "%s", identity);
        uint8_t key[16];
        ck_assert_int_eq(owp_random_bytes(k->aes, 16, &err), OWP_OK);
        ck_assert_int_eq(owp_random_bytes(k->hmac, 32, &err), OWP_OK);
        ck_assert_int_eq(owp_random_bytes(k->client_iv, 16, &err), OWP_OK);
        ck_assert_int_eq(owp_pbkdf2_key((const uint8_t *)pass, strlen(pass), g->salt, g->count,
                                        key, &err),
                         OWP_OK);
        ck_assert_int_eq(owp_token_encrypt(key, g->challenge, k->aes, k->hmac, sr.token, &err),
                         OWP_OK);
        memcpy(sr.client_iv, k->client_iv, 16);
    }
    uint8_t buf[OWP_SETUP_RESPONSE_LEN];
    owp_wire_encode_setup_response(&sr, buf);
    ck_assert_int_eq(owp_chan_send_clear(h->chan, buf, sizeof buf, &err), OWP_OK);

    uint8_t ss[OWP_SERVER_START_LEN];
    ck_assert_int_eq(owp_chan_recv_clear(h->chan, ss, 32, &err), OWP_OK);
    uint8_t accept = ss[15];
    if (accept != 0) {
        ck_assert_int_eq(owp_chan_recv_clear(h->chan, ss + 32, 16, &err), OWP_OK);
        ck_assert(owp_all_zero(ss + 16, 32));
        return accept;
    }
    if (mode == OWP_MODE_OPEN) {
        ck_assert(owp_all_zero(ss + 16, 16)); /* Server-IV zero in open mode */
        ck_assert_int_eq(owp_chan_set_mode(h->chan, OWP_MODE_OPEN, NULL, NULL, NULL, NULL, &err),
                         OWP_OK);
    } else {
        ck_assert(!owp_all_zero(ss + 16, 16));
        ck_assert_int_eq(owp_chan_set_mode(h->chan, (owp_mode)mode, k->aes, k->hmac,
                                           k->client_iv, ss + 16, &err),
                         OWP_OK);
    }
    ck_assert_int_eq(owp_chan_recv(h->chan, ss + 32, 16, &err), OWP_OK);
    owp_server_start start;
    ck_assert_int_eq(owp_wire_decode_server_start(ss, &start, &err), OWP_OK);
    ck_assert_uint_eq(start.start_time, START_TIME);
    return 0;
}

static void open_session(harness *h, uint32_t modes)
{
    owp_greeting g;
    client_keys k;
    read_greeting(h, &g);
    ck_assert_uint_eq(g.modes, modes);
    ck_assert_uint_eq(g.count, 2048);
    ck_assert_uint_eq(setup(h, &g, OWP_MODE_OPEN, NULL, NULL, &k), 0);
}

static void send_with_hmac(harness *h, const uint8_t *buf, size_t len)
{
    owp_err err;
    ck_assert_int_eq(owp_chan_send(h->chan, buf, len, &err), OWP_OK);
    ck_assert_int_eq(owp_chan_send_hmac(h->chan, &err), OWP_OK);
}

static void recv_with_hmac(harness *h, uint8_t *buf, size_t len)
{
    owp_err err;
    ck_assert_msg(owp_chan_recv(h->chan, buf, len, &err) == OWP_OK, "%s", err.msg);
    ck_assert_msg(owp_chan_recv_hmac(h->chan, &err) == OWP_OK, "%s", err.msg);
}

/* The next receive sees the server's close. */
static void expect_closed(harness *h)
{
    uint8_t b[16];
    owp_err err;
    ck_assert_int_eq(owp_chan_recv_clear(h->chan, b, sizeof b, &err), OWP_ERR_CLOSED);
}

static void fill_request(owp_request *r, int server_receives, uint16_t client_port,
                         owp_slot *slot, uint32_t npackets, double start_in,
                         double timeout)
{
    memset(r, 0, sizeof *r);
    r->ipvn = 4;
    r->conf_sender = !server_receives;
    r->conf_receiver = (uint8_t)server_receives;
    r->nslots = 1;
    r->npackets = npackets;
    const uint8_t lo[4] = {127, 0, 0, 1};
    memcpy(r->sender_addr, lo, 4);
    memcpy(r->receiver_addr, lo, 4);
    if (server_receives)
        r->sender_port = client_port;
    else
        r->receiver_port = client_port;
    uint16_t e;
    r->start_time = owp_clock_now(&e) + owp_num64_from_double(start_in);
    r->timeout = owp_num64_from_double(timeout);
    r->slots = slot;
}

static void request_session(harness *h, const owp_request *r, owp_accept_session *as)
{
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN], slot[OWP_SLOT_LEN];
    owp_wire_encode_request_preamble(r, pre);
    send_with_hmac(h, pre, 96);
    for (uint32_t i = 0; i < r->nslots; i++) {
        owp_wire_encode_slot(&r->slots[i], slot);
        owp_err err;
        ck_assert_int_eq(owp_chan_send(h->chan, slot, sizeof slot, &err), OWP_OK);
    }
    owp_err err;
    ck_assert_int_eq(owp_chan_send_hmac(h->chan, &err), OWP_OK);
    uint8_t buf[OWP_ACCEPT_SESSION_LEN] = {0};
    recv_with_hmac(h, buf, 32);
    ck_assert_int_eq(owp_wire_decode_accept_session(buf, as, &err), OWP_OK);
}

static void start_sessions(harness *h)
{
    uint8_t buf[OWP_START_SESSIONS_LEN];
    owp_wire_encode_start_sessions(buf);
    send_with_hmac(h, buf, 16);
    uint8_t ack[OWP_START_ACK_LEN] = {0};
    recv_with_hmac(h, ack, 16);
    uint8_t accept;
    owp_err err;
    ck_assert_int_eq(owp_wire_decode_start_ack(ack, &accept, &err), OWP_OK);
    ck_assert_uint_eq(accept, 0);
}

/* Read a Stop-Sessions from the server. */
static void read_stop(harness *h, owp_stop_sessions *m)
{
    owp_err err;
    uint8_t *buf = malloc(16);
    size_t len = 16;
    ck_assert_int_eq(owp_chan_recv(h->chan, buf, 16, &err), OWP_OK);
    uint8_t accept;
    uint32_t n;
    ck_assert_int_eq(owp_wire_decode_stop_header(buf, &accept, &n, &err), OWP_OK);
    for (uint32_t i = 0; i < n; i++) {
        buf = realloc(buf, len + 32);
        ck_assert_int_eq(owp_chan_recv(h->chan, buf + len, 32, &err), OWP_OK);
        uint32_t next, nskips;
        ck_assert_int_eq(owp_wire_decode_stop_counts(buf + len + 16, &next, &nskips, &err),
                         OWP_OK);
        len += 32;
        size_t more = (owp_wire_stop_session_blocks(nskips) - 2) * 16;
        buf = realloc(buf, len + more);
        if (more)
            ck_assert_int_eq(owp_chan_recv(h->chan, buf + len, more, &err), OWP_OK);
        len += more;
    }
    ck_assert_int_eq(owp_chan_recv_hmac(h->chan, &err), OWP_OK);
    ck_assert_msg(owp_wire_decode_stop_sessions(buf, len, m, &err) == OWP_OK, "%s", err.msg);
    free(buf);
}

static void send_stop(harness *h, owp_stop_session *list, uint32_t n)
{
    owp_stop_sessions m = {.accept = 0, .nsessions = n, .sessions = list};
    size_t len = owp_wire_stop_sessions_len(&m);
    uint8_t *buf = malloc(len);
    owp_wire_encode_stop_sessions(&m, buf);
    send_with_hmac(h, buf, len);
    free(buf);
}

static owp_fetch_ack fetch_ack(harness *h, const uint8_t sid[16], uint32_t begin, uint32_t end)
{
    owp_fetch_session fs = {.begin_seq = begin, .end_seq = end};
    memcpy(fs.sid, sid, 16);
    uint8_t buf[OWP_FETCH_SESSION_LEN];
    owp_wire_encode_fetch_session(&fs, buf);
    send_with_hmac(h, buf, 32);
    uint8_t ack[OWP_FETCH_ACK_LEN] = {0};
    recv_with_hmac(h, ack, 16);
    owp_fetch_ack a;
    owp_err err;
    ck_assert_int_eq(owp_wire_decode_fetch_ack(ack, &a, &err), OWP_OK);
    return a;
}

/* Read the data after an accepted Fetch-Ack; records into recs (cap). */
static void fetch_data(harness *h, const owp_fetch_ack *a, const uint8_t sid[16],
                       owp_skip *skips, owp_record *recs)
{
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN] = {0};
    recv_with_hmac(h, pre, 96);
    owp_request req;
    memset(&req, 0, sizeof req);
    owp_err err;
    ck_assert_int_eq(owp_wire_decode_request_preamble(pre, &req, &err), OWP_OK);
    ck_assert(memcmp(req.sid, sid, 16) == 0);
    ck_assert_uint_ne(req.receiver_port, 0);
    uint8_t *slots = malloc(16 * req.nslots);
    recv_with_hmac(h, slots, 16 * req.nslots);
    free(slots);
    size_t sk = owp_wire_pad16(8 * (size_t)a->nskips);
    uint8_t *sbuf = calloc(1, sk + 16);
    if (sk)
        ck_assert_int_eq(owp_chan_recv(h->chan, sbuf, sk, &err), OWP_OK);
    ck_assert_int_eq(owp_chan_recv_hmac(h->chan, &err), OWP_OK);
    for (uint32_t i = 0; i < a->nskips; i++) {
        skips[i].first = owp_get32(sbuf + 8 * i);
        skips[i].last = owp_get32(sbuf + 8 * i + 4);
    }
    free(sbuf);
    size_t rl = owp_wire_pad16((size_t)OWP_RECORD_LEN * a->nrecords);
    uint8_t *rbuf = calloc(1, rl + 16);
    if (rl)
        ck_assert_int_eq(owp_chan_recv(h->chan, rbuf, rl, &err), OWP_OK);
    ck_assert_int_eq(owp_chan_recv_hmac(h->chan, &err), OWP_OK);
    for (uint32_t i = 0; i < a->nrecords; i++)
        owp_record_decode(rbuf + OWP_RECORD_LEN * i, &recs[i]);
    ck_assert(owp_all_zero(rbuf + OWP_RECORD_LEN * a->nrecords,
                           (unsigned)(rl - OWP_RECORD_LEN * a->nrecords)));
    free(rbuf);
}

static int udp_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_test_packet(int fd, uint16_t port, uint32_t seq)
{
    uint8_t pkt[OWP_TESTPKT_OPEN_MIN];
    owp_err err;
    ck_assert_int_eq(owp_testpkt_prepare(OWP_MODE_OPEN, seq, pkt, sizeof pkt, &err), OWP_OK);
    uint16_t e;
    owp_num64 now = owp_clock_now(&e);
    ck_assert_int_eq(owp_testpkt_seal(NULL, OWP_MODE_OPEN, now, e, pkt, sizeof pkt, &err),
                     OWP_OK);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)sizeof pkt);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ the session fixture */

/* The steps every session test takes: an open-mode connection, one session
 * requested and accepted, Start-Sessions, test packets, the Stop-Sessions
 * exchange in either order. */

/* A server offering every mode, and an open-mode connection to it. */
static void harness_open(harness *h, uint32_t controltimeout)
{
    harness_start(h, 7, controltimeout);
    open_session(h, 7);
}

/* One test session: the client's UDP socket, the request, the answer. */
typedef struct test_session {
    int ufd;
    uint16_t cport;
    owp_slot slot;
    owp_request req;
    owp_accept_session as;
} test_session;

/* Request npackets at 10 ms intervals from start_in seconds on, which the
 * server receives from (server_receives) or sends to the client's UDP socket;
 * a send session carries a SID the client chose. The server must accept. */
static void session_request(harness *h, test_session *ts, int server_receives, uint32_t npackets,
                            double start_in, double timeout)
{
    memset(ts, 0, sizeof *ts);
    ts->ufd = udp_socket(&ts->cport);
    ts->slot = (owp_slot){OWP_SLOT_FIXED, owp_num64_from_double(0.01)};
    fill_request(&ts->req, server_receives, ts->cport, &ts->slot, npackets, start_in, timeout);
    if (!server_receives) {
        owp_err err;
        ck_assert_int_eq(owp_random_bytes(ts->req.sid, 16, &err), OWP_OK);
    }
    request_session(h, &ts->req, &ts->as);
    ck_assert_uint_eq(ts->as.accept, 0);
}

/* Start-Sessions, then (a receive session) the n test packets seqs once the
 * session's start time has passed. */
static void session_start(harness *h, const test_session *ts, const uint32_t *seqs, size_t n)
{
    start_sessions(h);
    if (n == 0)
        return;
    sleep_s(0.25);
    for (size_t i = 0; i < n; i++)
        send_test_packet(ts->ufd, ts->as.port, seqs[i]);
}

/* The Stop-Sessions exchange: ours (mine, n sessions) and the server's
 * (theirs). client_first: ours goes first; otherwise we wait for the
 * server's, which comes once every packet is accounted for. */
static void session_stop(harness *h, owp_stop_session *mine, uint32_t n, int client_first,
                         owp_stop_sessions *theirs)
{
    if (client_first) {
        sleep_s(0.1);
        send_stop(h, mine, n);
        read_stop(h, theirs);
    } else {
        read_stop(h, theirs);
        send_stop(h, mine, n);
    }
}

/* Close the session's socket and the connection; the server's status. */
static owp_status session_finish(harness *h, test_session *ts)
{
    close(ts->ufd);
    return harness_finish(h);
}

/* ------------------------------------------------------------------ handshake */

START_TEST(open_mode_handshake)
{
    harness h;
    harness_open(&h, 10);
    ck_assert_int_eq(harness_finish(&h), OWP_OK);
}
END_TEST

START_TEST(mode_not_offered_is_refused)
{
    harness h;
    harness_start(&h, OWP_MODE_AUTH | OWP_MODE_ENCRYPTED, 10);
    owp_greeting g;
    client_keys k;
    read_greeting(&h, &g);
    ck_assert_uint_eq(g.modes, 6);
    ck_assert_uint_eq(setup(&h, &g, OWP_MODE_OPEN, NULL, NULL, &k), OWP_ACCEPT_FAILURE);
    expect_closed(&h);
    ck_assert_int_eq(harness_finish(&h), OWP_ERR_REFUSED);
    ck_assert(log_contains("was not offered"));
}
END_TEST

START_TEST(unknown_identity_gets_accept_1)
{
    harness h;
    harness_start(&h, 7, 10);
    owp_greeting g;
    client_keys k;
    read_greeting(&h, &g);
    ck_assert_uint_eq(setup(&h, &g, OWP_MODE_AUTH, "mallory", "correct horse", &k), 1);
    expect_closed(&h);
    ck_assert_int_eq(harness_finish(&h), OWP_ERR_REFUSED);
    ck_assert(log_contains("mallory"));
}
END_TEST

START_TEST(wrong_passphrase_gets_accept_1)
{
    harness h;
    harness_start(&h, 7, 10);
    owp_greeting g;
    client_keys k;
    read_greeting(&h, &g);
    ck_assert_uint_eq(setup(&h, &g, OWP_MODE_ENCRYPTED, "alice", "battery staple", &k), 1);
    expect_closed(&h);
    ck_assert_int_eq(harness_finish(&h), OWP_ERR_REFUSED);
}
END_TEST

/* A/E with the lab pass-phrase; a Fetch-Session of an unknown SID exercises
 * both CBC chains and HMACs (including the Server-Start block). */
static void auth_mode_case(uint32_t mode)
{
    harness h;
    harness_start(&h, 7, 10);
    owp_greeting g;
    client_keys k;
    read_greeting(&h, &g);
    ck_assert_uint_eq(setup(&h, &g, mode, "alice", "correct horse", &k), 0);
    uint8_t sid[16] = {1, 2, 3};
    owp_fetch_ack a = fetch_ack(&h, sid, 0, UINT32_MAX);
    ck_assert_uint_eq(a.accept, OWP_ACCEPT_FAILURE);
    a = fetch_ack(&h, sid, 0, 10); /* the chains carry on across messages */
    ck_assert_uint_eq(a.accept, OWP_ACCEPT_FAILURE);
    ck_assert_int_eq(harness_finish(&h), OWP_OK);
}

START_TEST(authenticated_mode_with_lab_pfs)
{
    auth_mode_case(OWP_MODE_AUTH);
}
END_TEST

START_TEST(encrypted_mode_with_lab_pfs)
{
    auth_mode_case(OWP_MODE_ENCRYPTED);
}
END_TEST

/* ------------------------------------------------------------------ sessions */

/* The server receives 5 packets of which the client skips 2-3; both
 * Stop-Sessions orders are covered by client_stop_first. */
static void receive_session_case(int client_stop_first)
{
    harness h;
    harness_open(&h, 10);
    test_session ts;
    session_request(&h, &ts, 1, 5, 0.2, 0.3);
    const owp_accept_session as = ts.as;
    ck_assert_uint_ne(as.port, 0);
    const uint8_t lo[4] = {127, 0, 0, 1};
    ck_assert(memcmp(as.sid, lo, 4) == 0); /* receiver address || time || random */

    /* The file is created at once, with its catalog link. */
    char hex[33], path[TEST_PATH_MAX], link[TEST_PATH_MAX];
    owp_sid_hex(as.sid, hex);
    snprintf(path, sizeof path, "%s/hierarchy/default/%s.owp", h.datadir, hex);
    ck_assert_int_eq(owp_server_catalog_path(h.datadir, as.sid, link, sizeof link), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));

    const uint32_t seqs[] = {0, 1, 4, 4}; /* 4 twice: a duplicate */
    session_start(&h, &ts, seqs, 4);
    owp_skip skip = {2, 3};
    owp_stop_session mine = {.next_seqno = 5, .nskips = 1, .skips = &skip};
    memcpy(mine.sid, as.sid, 16);
    owp_stop_sessions theirs;
    session_stop(&h, &mine, 1, client_stop_first, &theirs);
    ck_assert_uint_eq(theirs.accept, 0);
    ck_assert_uint_eq(theirs.nsessions, 0); /* the server sent nothing */
    owp_stop_sessions_clear(&theirs);

    owp_fetch_ack a = fetch_ack(&h, as.sid, 0, UINT32_MAX);
    ck_assert_uint_eq(a.accept, 0);
    ck_assert_uint_eq(a.finished, 1);
    ck_assert_uint_eq(a.next_seqno, 5);
    ck_assert_uint_eq(a.nskips, 1);
    ck_assert_uint_eq(a.nrecords, 6); /* 0, 1, 4, 4 received; 2, 3 lost */
    owp_skip skips[1];
    owp_record recs[6];
    fetch_data(&h, &a, as.sid, skips, recs);
    ck_assert_uint_eq(skips[0].first, 2);
    ck_assert_uint_eq(skips[0].last, 3);
    int seen[5] = {0}, lost = 0;
    for (int i = 0; i < 6; i++) {
        ck_assert_uint_lt(recs[i].seq, 5);
        seen[recs[i].seq]++;
        lost += owp_record_lost(&recs[i]);
    }
    ck_assert_int_eq(seen[4], 2);
    ck_assert_int_eq(lost, 2);

    /* A sub-range fetch counts only its records. */
    a = fetch_ack(&h, as.sid, 4, 4);
    ck_assert_uint_eq(a.nrecords, 2);
    fetch_data(&h, &a, as.sid, skips, recs);
    ck_assert_uint_eq(recs[0].seq, 4);

    ck_assert_int_eq(session_finish(&h, &ts), OWP_OK); /* link[] still names the file */

    /* The stored file is a finished receiver-layout file. */
    FILE *fp = fopen(link, "rb");
    ck_assert_ptr_nonnull(fp);
    owp_err err;
    owp_file *f = owp_file_read(fp, link, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    ck_assert_uint_eq(owp_file_finished(f), 1);
    ck_assert_uint_eq(owp_file_nrecords(f), 6);
    ck_assert_uint_eq(owp_file_request(f)->receiver_port, as.port);
    owp_file_destroy(&f);
    fclose(fp);
}

START_TEST(receive_session_server_stops_first)
{
    receive_session_case(0);
}
END_TEST

START_TEST(receive_session_client_stops_first)
{
    receive_session_case(1);
}
END_TEST

START_TEST(send_session)
{
    harness h;
    harness_open(&h, 10);
    test_session ts;
    session_request(&h, &ts, 0, 5, 0.2, 0.2);
    ck_assert(memcmp(ts.as.sid, ts.req.sid, 16) == 0); /* the client's SID is kept */
    session_start(&h, &ts, NULL, 0);
    owp_err err;
    int got[5] = {0};
    for (int i = 0; i < 5; i++) {
        uint8_t pkt[256];
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(ts.ufd, pkt, sizeof pkt, 0, (struct sockaddr *)&from, &flen);
        ck_assert_int_eq(n, OWP_TESTPKT_OPEN_MIN);
        ck_assert_uint_eq(ntohs(from.sin_port), ts.as.port);
        uint32_t seq;
        owp_num64 sent;
        uint16_t e;
        ck_assert_int_eq(owp_testpkt_open(NULL, OWP_MODE_OPEN, pkt, (size_t)n, &seq, &sent, &e,
                                          &err),
                         OWP_OK);
        ck_assert_uint_lt(seq, 5);
        got[seq]++;
    }
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(got[i], 1);
    owp_stop_sessions theirs;
    session_stop(&h, NULL, 0, 0, &theirs); /* last packet + timeout + enddelay */
    ck_assert_uint_eq(theirs.nsessions, 1);
    ck_assert(memcmp(theirs.sessions[0].sid, ts.req.sid, 16) == 0);
    ck_assert_uint_eq(theirs.sessions[0].next_seqno, 5);
    ck_assert_uint_eq(theirs.sessions[0].nskips, 0);
    owp_stop_sessions_clear(&theirs);
    /* A send session leaves nothing to fetch. */
    owp_fetch_ack a = fetch_ack(&h, ts.req.sid, 0, UINT32_MAX);
    ck_assert_uint_eq(a.accept, OWP_ACCEPT_FAILURE);
    ck_assert_int_eq(session_finish(&h, &ts), OWP_OK);
}
END_TEST

/* owp_server_stop (owampd's SIGTERM) during a test: the sender stops early,
 * Stop-Sessions still crosses both ways, then the connection ends cleanly. */
START_TEST(stop_request_during_test)
{
    harness h;
    harness_open(&h, 10);
    test_session ts;
    session_request(&h, &ts, 0, 1000, 0.1, 0.5);
    session_start(&h, &ts, NULL, 0);
    sleep_s(0.4);
    owp_server_stop(h.srv);
    owp_stop_sessions theirs;
    double t0 = owp_clock_monotonic();
    session_stop(&h, NULL, 0, 0, &theirs);
    ck_assert(owp_clock_monotonic() - t0 < 2.0); /* not last packet + timeout + enddelay (10 s) */
    ck_assert_uint_eq(theirs.nsessions, 1);
    ck_assert_uint_gt(theirs.sessions[0].next_seqno, 0);
    ck_assert_uint_lt(theirs.sessions[0].next_seqno, 1000);
    owp_stop_sessions_clear(&theirs);
    harness_join(&h);
    ck_assert_int_eq(h.status, OWP_OK);
    session_finish(&h, &ts);
}
END_TEST

START_TEST(session_refusals)
{
    harness h;
    harness_open(&h, 10);
    owp_slot slot = {OWP_SLOT_EXP, owp_num64_from_double(0.1)};
    owp_request r;
    owp_accept_session as;
    /* Open mode: no test traffic to anyone but the control client. */
    fill_request(&r, 0, 9000, &slot, 10, 1, 1);
    const uint8_t other[4] = {127, 0, 0, 2};
    memcpy(r.receiver_addr, other, 4);
    request_session(&h, &r, &as);
    ck_assert_uint_eq(as.accept, OWP_ACCEPT_FAILURE);
    ck_assert(log_contains("recieve_addr(127.0.0.2) != control_client(127.0.0.1)"));
    /* Both Conf-Sender and Conf-Receiver: not supported. */
    fill_request(&r, 1, 9000, &slot, 10, 1, 1);
    r.conf_sender = 1;
    request_session(&h, &r, &as);
    ck_assert_uint_eq(as.accept, OWP_ACCEPT_NOT_SUPPORTED);
    /* A send session with padding no UDP datagram carries: refused now
     * (Accept 3), not accepted and failed at Start-Sessions. */
    fill_request(&r, 0, 9000, &slot, 10, 1, 1);
    r.padding = 0xFFFFFFFF;
    request_session(&h, &r, &as);
    ck_assert_uint_eq(as.accept, OWP_ACCEPT_NOT_SUPPORTED);
    ck_assert_msg(log_contains("127.0.0.1:") && log_contains("padding 4294967295"), "log: %s",
                  log_text);
    fill_request(&r, 1, 9000, &slot, 10, 1, 1);
    r.padding = 65507 - 14 + 1; /* one byte more than an IPv4 datagram */
    request_session(&h, &r, &as);
    ck_assert_uint_eq(as.accept, OWP_ACCEPT_NOT_SUPPORTED);
    /* A send session to receiver port 0: nowhere to send. */
    fill_request(&r, 0, 0, &slot, 10, 1, 1);
    request_session(&h, &r, &as);
    ck_assert_uint_eq(as.accept, OWP_ACCEPT_FAILURE);
    ck_assert_msg(log_contains("receiver port 0"), "log: %s", log_text);
    ck_assert_int_eq(log_priority_of("receiver port 0"), OWP_LOG_WARNING);
    /* The connection is still usable. */
    uint8_t sid[16] = {0};
    ck_assert_uint_eq(fetch_ack(&h, sid, 0, UINT32_MAX).accept, OWP_ACCEPT_FAILURE);
    ck_assert_int_eq(harness_finish(&h), OWP_OK);
}
END_TEST

/* ------------------------------------------------------------------ fetch right after stop */

/* A second control connection to h's server, set up in open mode. */
static void harness_attach(harness *h2, const harness *h)
{
    memset(h2, 0, sizeof *h2);
    h2->srv = h->srv;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    h2->client_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(h2->client_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    len = sizeof h2->peer;
    h2->server_fd = accept(lfd, (struct sockaddr *)&h2->peer, &len);
    close(lfd);
    ck_assert_int_eq(pthread_create(&h2->thread, NULL, serve_thread, h2), 0);
    owp_err err;
    h2->chan = owp_chan_new(h2->client_fd, "test-server-2", 5000, &err);
    ck_assert_ptr_nonnull(h2->chan);
    open_session(h2, 7);
}

/* While the connection's send session is being ended (after our
 * Stop-Sessions reply has left), its policy hook holds the connection
 * until the test has fetched the received session on another connection:
 * the file must already be finished by then. */
static atomic_int fetched_elsewhere;

static int hold_session(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                        uint64_t *handle)
{
    (void)arg, (void)conn, (void)req, (void)handle;
    return 0;
}

static int hold_session_end(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                            uint64_t handle, int keep_file, const char *path, uint64_t size)
{
    (void)arg, (void)conn, (void)handle, (void)keep_file, (void)path, (void)size;
    for (int i = 0; req->conf_sender && i < 300 && !atomic_load(&fetched_elsewhere); i++)
        sleep_s(0.01);
    return 0;
}

static const owp_server_policy hold_policy = {.session = hold_session,
                                              .session_end = hold_session_end};

/* powstream -t: the client stops first and fetches on a second connection
 * the moment our Stop-Sessions reply arrives. The file it gets must be
 * finished (Finished 1, Next Seqno from the client's Stop-Sessions). */
START_TEST(fetch_on_second_connection_right_after_stop)
{
    harness h, h2;
    atomic_store(&fetched_elsewhere, 0);
    harness_policy = &hold_policy;
    harness_open(&h, 10);
    test_session snd, rcv; /* the send session first: it is ended first */
    session_request(&h, &snd, 0, 1000, 0.2, 0.5);
    session_request(&h, &rcv, 1, 1000, 0.2, 0.5);
    const uint32_t seqs[] = {0, 1, 2};
    session_start(&h, &rcv, seqs, 3);
    harness_attach(&h2, &h);

    owp_stop_session mine = {.next_seqno = 3};
    memcpy(mine.sid, rcv.as.sid, 16);
    owp_stop_sessions theirs;
    session_stop(&h, &mine, 1, 1, &theirs);
    owp_stop_sessions_clear(&theirs);
    owp_fetch_ack a = fetch_ack(&h2, rcv.as.sid, 0, UINT32_MAX);
    atomic_store(&fetched_elsewhere, 1);
    ck_assert_uint_eq(a.accept, 0);
    ck_assert_uint_eq(a.finished, 1);
    ck_assert_uint_eq(a.next_seqno, 3);
    ck_assert_uint_eq(a.nrecords, 3);
    owp_skip skips[1];
    owp_record recs[3];
    fetch_data(&h2, &a, rcv.as.sid, skips, recs);
    owp_chan_destroy(&h2.chan);
    harness_join(&h2);
    ck_assert_int_eq(h2.status, OWP_OK);
    close(snd.ufd);
    ck_assert_int_eq(session_finish(&h, &rcv), OWP_OK);
}
END_TEST

/* ------------------------------------------------------------------ policy hooks */

/* What the hooks saw; they run on the connection's thread, the test reads
 * after the server has answered the message that triggered them. */
typedef struct policy_record {
    uint32_t configured_modes;
    int sessions, ends, fetches;
    uint64_t end_handle;
    int end_keep;
    char end_path[TEST_PATH_MAX];
    uint64_t end_size;
    char fetched_class[OWP_SERVER_CLASS_MAX];
    uint64_t fetched_size;
    char control_identity[OWP_PFS_IDENTITY_MAX + 1];
} policy_record;

static policy_record prec;

static uint32_t tp_greeting_modes(void *arg, const struct sockaddr *peer, socklen_t peer_len,
                                  uint32_t configured)
{
    (void)arg;
    (void)peer;
    (void)peer_len;
    prec.configured_modes = configured;
    return configured & ~(uint32_t)OWP_MODE_OPEN;
}

static int tp_control(void *arg, const owp_server_conn_info *conn, char *class_path)
{
    (void)arg;
    snprintf(prec.control_identity, sizeof prec.control_identity, "%s", conn->identity);
    snprintf(class_path, OWP_SERVER_CLASS_MAX, "root/regular");
    return 0;
}

/* The first request is granted as handle 41, every later one refused. */
static int tp_session(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                      uint64_t *handle)
{
    (void)arg;
    (void)req;
    ck_assert_str_eq(conn->class_path, "root/regular");
    if (++prec.sessions > 1)
        return 1;
    *handle = 41;
    return 0;
}

static int tp_session_end(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                          uint64_t handle, int keep_file, const char *path, uint64_t size)
{
    (void)arg;
    (void)conn;
    (void)req;
    prec.ends++;
    prec.end_handle = handle;
    prec.end_keep = keep_file;
    snprintf(prec.end_path, sizeof prec.end_path, "%s", path ? path : "");
    prec.end_size = size;
    return 0;
}

static int tp_fetched(void *arg, const owp_server_conn_info *conn, const char *file_class,
                      const char *path, uint64_t size)
{
    (void)arg;
    (void)conn;
    (void)path;
    prec.fetches++;
    snprintf(prec.fetched_class, sizeof prec.fetched_class, "%s", file_class);
    prec.fetched_size = size;
    return 1; /* delete_on_fetch */
}

static const owp_server_policy test_policy = {
    NULL, tp_greeting_modes, tp_control, tp_session, tp_session_end, tp_fetched,
};

START_TEST(policy_filters_greeting_modes)
{
    memset(&prec, 0, sizeof prec);
    harness_policy = &test_policy;
    harness h;
    harness_start(&h, 7, 10);
    owp_greeting g;
    read_greeting(&h, &g);
    ck_assert_uint_eq(prec.configured_modes, 7);
    ck_assert_uint_eq(g.modes, OWP_MODE_AUTH | OWP_MODE_ENCRYPTED);
    client_keys k;
    /* Open mode was not offered: Server-Start refuses it. */
    ck_assert_uint_eq(setup(&h, &g, OWP_MODE_OPEN, "", "", &k), OWP_ACCEPT_FAILURE);
    ck_assert_int_eq(harness_finish(&h), OWP_ERR_REFUSED);
}
END_TEST

START_TEST(policy_grants_follow_sessions)
{
    memset(&prec, 0, sizeof prec);
    owp_server_policy pol = test_policy;
    pol.greeting_modes = NULL;
    harness_policy = &pol;
    harness h;
    harness_open(&h, 10);
    ck_assert_str_eq(prec.control_identity, "");
    test_session ts;
    session_request(&h, &ts, 1, 3, 0.2, 0.3);
    const owp_accept_session as = ts.as;
    owp_accept_session refused;
    /* The policy refuses the second: Accept 1, and it owes no session_end. */
    request_session(&h, &ts.req, &refused);
    ck_assert_uint_eq(refused.accept, OWP_ACCEPT_FAILURE);
    ck_assert(log_contains("Test not allowed"));
    ck_assert_int_eq(prec.sessions, 2);
    ck_assert_int_eq(prec.ends, 0);

    /* The file goes to the class directory the control hook chose. */
    char hex[33], path[TEST_PATH_MAX], link[TEST_PATH_MAX];
    owp_sid_hex(as.sid, hex);
    snprintf(path, sizeof path, "%s/hierarchy/root/regular/%s.owp", h.datadir, hex);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);

    const uint32_t seqs[] = {0, 1, 2};
    session_start(&h, &ts, seqs, 3);
    owp_stop_session mine = {.next_seqno = 3};
    memcpy(mine.sid, as.sid, 16);
    owp_stop_sessions theirs;
    session_stop(&h, &mine, 1, 1, &theirs);
    owp_stop_sessions_clear(&theirs);

    /* session_end got the grant's handle, the kept file and its final size.
     * (A partial fetch, which deletes nothing, is the round trip that
     * shows the server is past it.) */
    owp_skip skips[1];
    owp_record recs[3];
    owp_fetch_ack a = fetch_ack(&h, as.sid, 1, 1);
    ck_assert_uint_eq(a.accept, 0);
    fetch_data(&h, &a, as.sid, skips, recs);
    ck_assert_int_eq(prec.fetches, 0);
    ck_assert_int_eq(prec.ends, 1);
    ck_assert_uint_eq(prec.end_handle, 41);
    ck_assert_int_eq(prec.end_keep, 1);
    ck_assert_str_eq(prec.end_path, path);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(prec.end_size, (uint64_t)st.st_size);

    /* A whole-session fetch asks fetched() with the file's class; yes deletes it. */
    a = fetch_ack(&h, as.sid, 0, UINT32_MAX);
    ck_assert_uint_eq(a.accept, 0);
    ck_assert_uint_eq(a.nrecords, 3);
    fetch_data(&h, &a, as.sid, skips, recs);
    owp_fetch_ack again = fetch_ack(&h, as.sid, 0, UINT32_MAX); /* a round trip after it */
    ck_assert_uint_eq(again.accept, OWP_ACCEPT_FAILURE);      /* ... finds nothing */
    ck_assert_int_eq(prec.fetches, 1);
    ck_assert_str_eq(prec.fetched_class, "root/regular");
    ck_assert_uint_eq(prec.fetched_size, (uint64_t)st.st_size);
    ck_assert_int_ne(stat(path, &st), 0);
    ck_assert_int_eq(owp_server_catalog_path(h.datadir, as.sid, link, sizeof link), 0);
    ck_assert_int_ne(lstat(link, &st), 0);
    ck_assert_int_eq(session_finish(&h, &ts), OWP_OK);
}
END_TEST

/* ------------------------------------------------------------------ hostile input */

START_TEST(garbage_setup_response_closes)
{
    harness h;
    harness_start(&h, 7, 10);
    owp_greeting g;
    read_greeting(&h, &g);
    uint8_t junk[OWP_SETUP_RESPONSE_LEN];
    memset(junk, 0xa5, sizeof junk); /* Mode with many bits */
    owp_err err;
    ck_assert_int_eq(owp_chan_send_clear(h.chan, junk, sizeof junk, &err), OWP_OK);
    expect_closed(&h); /* no Server-Start */
    ck_assert_int_ne(harness_finish(&h), OWP_OK);
    ck_assert(log_contains("127.0.0.1"));
}
END_TEST

static void bad_command_case(uint8_t type, const char *logged)
{
    harness h;
    harness_open(&h, 10);
    uint8_t blk[32];
    memset(blk, 0x5a, sizeof blk);
    blk[0] = type;
    owp_err err;
    ck_assert_int_eq(owp_chan_send(h.chan, blk, sizeof blk, &err), OWP_OK);
    ck_assert_int_eq(owp_chan_flush(h.chan, &err), OWP_OK);
    expect_closed(&h);
    ck_assert_int_eq(harness_finish(&h), OWP_ERR_PROTO);
    ck_assert_msg(log_contains(logged), "log: %s", log_text);
    /* One line, a warning (not an error), naming the peer and why. */
    ck_assert_int_eq(log_priority_of(logged), OWP_LOG_WARNING);
    ck_assert_int_eq(log_priority_of("terminated abnormally"), OWP_LOG_WARNING);
    ck_assert(log_contains("127.0.0.1"));
}

START_TEST(unknown_command_closes)
{
    bad_command_case(9, "unknown message type 9");
}
END_TEST

START_TEST(twamp_request_closes)
{
    bad_command_case(5, "type 5");
}
END_TEST

START_TEST(stop_without_tests_closes)
{
    bad_command_case(3, "Stop-Sessions");
}
END_TEST

START_TEST(malformed_request_closes)
{
    harness h;
    harness_open(&h, 10);
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN] = {0};
    pre[0] = 1;
    pre[1] = 4;
    owp_put32(pre + 4, 0); /* no slots */
    send_with_hmac(&h, pre, 96);
    expect_closed(&h);
    ck_assert_int_eq(harness_finish(&h), OWP_ERR_PROTO);
    ck_assert(log_contains("Slots"));
}
END_TEST

START_TEST(truncated_message_then_close)
{
    harness h;
    harness_open(&h, 10);
    uint8_t pre[32] = {1, 4};
    owp_err err;
    ck_assert_int_eq(owp_chan_send(h.chan, pre, sizeof pre, &err), OWP_OK);
    ck_assert_int_eq(owp_chan_flush(h.chan, &err), OWP_OK);
    ck_assert_int_ne(harness_finish(&h), OWP_OK); /* closed mid-message: an error, no crash */
    /* A client that hangs up is routine: info, not an error. */
    ck_assert_msg(log_priority_of("ended early") == OWP_LOG_INFO, "log: %s", log_text);
    ck_assert(log_priority_of("closed the connection") == OWP_LOG_INFO);
}
END_TEST

START_TEST(silent_client_times_out)
{
    harness h;
    harness_start(&h, 7, 1);
    owp_greeting g;
    read_greeting(&h, &g);
    /* Say nothing: the server gives up after the 1 s control timeout. */
    harness_join(&h);
    ck_assert_int_eq(h.status, OWP_ERR_TIMEOUT);
    ck_assert(h.served_seconds < 3.0);
    harness_finish(&h);
}
END_TEST

/* The set-up has its own, short bound (setuptimeout), whatever the
 * control timeout: an idle connection does not hold its process for long. */
START_TEST(silent_client_setup_times_out)
{
    harness h;
    harness_setuptimeout = 1;
    harness_start(&h, 7, 1800); /* the default control timeout */
    owp_greeting g;
    read_greeting(&h, &g);
    harness_join(&h);
    ck_assert_int_eq(h.status, OWP_ERR_TIMEOUT);
    ck_assert_msg(h.served_seconds < 3.0, "%.1f s", h.served_seconds);
    ck_assert_msg(log_contains("setuptimeout"), "log: %s", log_text);
    ck_assert(log_priority_of("setuptimeout") == OWP_LOG_INFO);
    harness_finish(&h);
}
END_TEST

START_TEST(idle_client_times_out)
{
    harness h;
    harness_open(&h, 1);
    harness_join(&h);
    ck_assert_int_eq(h.status, OWP_ERR_TIMEOUT);
    harness_finish(&h);
}
END_TEST

/* ------------------------------------------------------------------ configuration */

START_TEST(relative_datadir_refused)
{
    owp_server_config cfg;
    owp_server_config_default(&cfg);
    owp_err err;
    cfg.datadir = "relative";
    ck_assert_ptr_null(owp_server_new(&cfg, &err)); /* datadir must be absolute */
    /* A greeting count clients refuse to compute is refused at start-up. */
    cfg.datadir = "/tmp";
    cfg.pbkdf2_count = OWP_PBKDF2_COUNT_MAX + 1;
    ck_assert_ptr_null(owp_server_new(&cfg, &err));
    ck_assert_msg(strstr(err.msg, "pbkdf2_count 1048577") != NULL, "%s", err.msg);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("handshake");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, open_mode_handshake);
    tcase_add_test(tc, mode_not_offered_is_refused);
    tcase_add_test(tc, unknown_identity_gets_accept_1);
    tcase_add_test(tc, wrong_passphrase_gets_accept_1);
    tcase_add_test(tc, authenticated_mode_with_lab_pfs);
    tcase_add_test(tc, encrypted_mode_with_lab_pfs);
    suite_add_tcase(s, tc);

    tc = tcase_create("sessions");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, receive_session_server_stops_first);
    tcase_add_test(tc, receive_session_client_stops_first);
    tcase_add_test(tc, send_session);
    tcase_add_test(tc, session_refusals);
    tcase_add_test(tc, stop_request_during_test);
    tcase_add_test(tc, fetch_on_second_connection_right_after_stop);
    tcase_add_test(tc, policy_filters_greeting_modes);
    tcase_add_test(tc, policy_grants_follow_sessions);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, garbage_setup_response_closes);
    tcase_add_test(tc, unknown_command_closes);
    tcase_add_test(tc, twamp_request_closes);
    tcase_add_test(tc, stop_without_tests_closes);
    tcase_add_test(tc, malformed_request_closes);
    tcase_add_test(tc, truncated_message_then_close);
    tcase_add_test(tc, silent_client_times_out);
    tcase_add_test(tc, idle_client_times_out);
    tcase_add_test(tc, silent_client_setup_times_out);
    suite_add_tcase(s, tc);

    tc = tcase_create("configuration");
    tcase_add_test(tc, relative_datadir_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(server_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
