/*
 * check_channel.c - the control channel: handshakes between two channels in
 * every mode, replay of the reference's captured streams through a receiving
 * and a sending channel (every HMAC verified, the ciphertext reproduced byte
 * for byte), tampering, stalls, closes, TCP_NODELAY.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "channel.h"
#include "crypto.h"
#include "pcap.h"
#include "testutil.h"
#include "wire.h"

static const uint8_t AES_KEY[16] = {0x30, 0xe5, 0xb8, 0xda, 0x60, 0x8e, 0xd2, 0x7c,
                                    0x54, 0x77, 0x43, 0x85, 0x10, 0xb7, 0x8f, 0x77};
static const uint8_t HMAC_KEY[32] = {0xf5, 0x1c, 0x7b, 0x28, 0xd7, 0x1c, 0x92, 0x07, 0xad, 0xfc, 0xb3,
                                     0x5c, 0x96, 0x31, 0x04, 0x33, 0x13, 0x73, 0x30, 0x88, 0xba, 0xad,
                                     0xb4, 0x74, 0x0b, 0x2e, 0x1e, 0x7f, 0x5d, 0x2e, 0x79, 0xfa};
static const uint8_t CLIENT_IV[16] = {0x94, 0xe5, 0xd9, 0xac, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t SERVER_IV[16] = {0x77, 0xff, 0xe2, 0x85, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static void make_pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static owp_chan *chan_on(int fd, const char *peer, int timeout_ms)
{
    owp_err err;
    owp_chan *c = owp_chan_new(fd, peer, timeout_ms, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    return c;
}

#define OK(call)                                                                    \
    do {                                                                            \
        owp_err err_;                                                               \
        owp_status st_ = (call);                                                    \
        ck_assert_msg(st_ == OWP_OK, "%s failed: %s", #call, err_.msg);             \
    } while (0)
/* OK() needs the call to use err_: */
#define E (&err_)

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* -------------------------------------------- handshake between two channels */

/* The data a big message carries: > CHAN_FLUSH_AT so it leaves in pieces. */
#define BIG_LEN (300 * 1024)

typedef struct server_args {
    owp_chan *chan;
    owp_mode offer_mode;
    int wrong_key;      /* use a different HMAC key: the client must notice */
    char failure[OWP_ERR_MSG_MAX + 64]; /* empty on success */
    owp_request got;
    uint8_t got_slot_value[8];
} server_args;

#define SFAIL(...)                                                                 \
    do {                                                                           \
        snprintf(a->failure, sizeof a->failure, __VA_ARGS__);                      \
        owp_chan_destroy(&a->chan); /* the client sees the close at once */        \
        return NULL;                                                               \
    } while (0)

static void *server_main(void *arg)
{
    server_args *a = arg;
    owp_chan *c = a->chan;
    owp_err err;
    uint8_t b[OWP_SETUP_RESPONSE_LEN];

    owp_greeting g = {.modes = 7, .count = 2048};
    memset(g.challenge, 0x11, 16);
    owp_wire_encode_greeting(&g, b);
    if (owp_chan_send_clear(c, b, OWP_GREETING_LEN, &err))
        SFAIL("greeting: %s", err.msg);
    owp_setup_response su;
    if (owp_chan_recv_clear(c, b, OWP_SETUP_RESPONSE_LEN, &err) ||
        owp_wire_decode_setup_response(b, &su, &err))
        SFAIL("setup: %s", err.msg);
    if (su.mode != (uint32_t)a->offer_mode)
        SFAIL("client chose mode %u", su.mode);

    /* Server-Start: 0-31 clear, switch, 32-47 as the first protected block. */
    uint8_t hkey[32];
    memcpy(hkey, HMAC_KEY, 32);
    if (a->wrong_key)
        hkey[31] ^= 1;
    owp_server_start ss = {.accept = 0, .start_time = 0xeeae66d019dfa871ULL};
    memcpy(ss.server_iv, a->offer_mode == OWP_MODE_OPEN ? (const uint8_t[16]){0} : SERVER_IV, 16);
    owp_wire_encode_server_start(&ss, b);
    if (owp_chan_send_clear(c, b, 32, &err) ||
        owp_chan_set_mode(c, a->offer_mode, AES_KEY, hkey, ss.server_iv, su.client_iv, &err) ||
        owp_chan_send(c, b + 32, 16, &err) || owp_chan_flush(c, &err))
        SFAIL("server-start: %s", err.msg);

    /* Request-Session */
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN], slot[16];
    memset(&a->got, 0, sizeof a->got);
    if (owp_chan_recv(c, pre, 96, &err) || owp_chan_recv_hmac(c, &err))
        SFAIL("request preamble: %s", err.msg);
    if (owp_wire_decode_request_preamble(pre, &a->got, &err))
        SFAIL("request decode: %s", err.msg);
    if (owp_chan_recv(c, slot, 16, &err) || owp_chan_recv_hmac(c, &err))
        SFAIL("request slots: %s", err.msg);
    memcpy(a->got_slot_value, slot + 8, 8);

    /* Accept-Session */
    owp_accept_session as = {.accept = 0, .port = 9251};
    memset(as.sid, 0x7f, 16);
    owp_wire_encode_accept_session(&as, b);
    if (owp_chan_send(c, b, 32, &err) || owp_chan_send_hmac(c, &err))
        SFAIL("accept-session: %s", err.msg);

    /* Start-Sessions, then a big message (Fetch-data sized), Start-Ack. */
    uint8_t acc;
    if (owp_chan_recv(c, b, 16, &err) || owp_chan_recv_hmac(c, &err) ||
        owp_wire_decode_start_sessions(b, &err))
        SFAIL("start-sessions: %s", err.msg);
    uint8_t *big = malloc(BIG_LEN);
    if (!big)
        SFAIL("malloc");
    if (owp_chan_recv(c, big, BIG_LEN, &err) || owp_chan_recv_hmac(c, &err)) {
        free(big);
        SFAIL("big: %s", err.msg);
    }
    for (size_t i = 0; i < BIG_LEN; i++)
        if (big[i] != (uint8_t)(i * 7)) {
            free(big);
            SFAIL("big message differs at %zu", i);
        }
    free(big);
    owp_wire_encode_start_ack(0, b);
    if (owp_chan_send(c, b, 16, &err) || owp_chan_send_hmac(c, &err))
        SFAIL("start-ack: %s", err.msg);
    (void)acc;
    return NULL;
}

/* Client side; returns the status of the first failing step. */
static owp_status client_run(owp_chan *c, owp_mode mode, owp_err *err)
{
    uint8_t b[OWP_SETUP_RESPONSE_LEN];
    owp_greeting g;
    owp_status st;
    if ((st = owp_chan_recv_clear(c, b, OWP_GREETING_LEN, err)) ||
        (st = owp_wire_decode_greeting(b, &g, err)))
        return st;
    ck_assert_uint_eq(g.modes, 7);
    owp_setup_response su = {.mode = mode};
    if (mode != OWP_MODE_OPEN) {
        strcpy(su.keyid, "alice");
        memcpy(su.client_iv, CLIENT_IV, 16);
    }
    owp_wire_encode_setup_response(&su, b);
    if ((st = owp_chan_send_clear(c, b, OWP_SETUP_RESPONSE_LEN, err)))
        return st;

    owp_server_start ss;
    if ((st = owp_chan_recv_clear(c, b, 32, err)) ||
        (st = owp_chan_set_mode(c, mode, AES_KEY, HMAC_KEY, su.client_iv, b + 16, err)) ||
        (st = owp_chan_recv(c, b + 32, 16, err)) ||
        (st = owp_wire_decode_server_start(b, &ss, err)))
        return st;
    ck_assert_int_eq(ss.accept, 0);
    ck_assert_uint_eq(ss.start_time, 0xeeae66d019dfa871ULL);
    ck_assert_int_eq(owp_chan_mode(c), mode);

    owp_slot slot = {OWP_SLOT_EXP, 0x0ccccccc};
    owp_request q = {.ipvn = 4, .conf_receiver = 1, .nslots = 1, .npackets = 20,
                     .sender_port = 8875, .start_time = 0xeeae671470a88f01ULL,
                     .timeout = 0x0000000200b13598ULL, .slots = &slot};
    q.sender_addr[0] = q.receiver_addr[0] = 127;
    q.sender_addr[3] = q.receiver_addr[3] = 1;
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN], sb[16];
    owp_wire_encode_request_preamble(&q, pre);
    owp_wire_encode_slot(&slot, sb);
    if ((st = owp_chan_send(c, pre, 96, err)) || (st = owp_chan_send_hmac(c, err)) ||
        (st = owp_chan_send(c, sb, 16, err)) || (st = owp_chan_send_hmac(c, err)))
        return st;

    owp_accept_session as;
    if ((st = owp_chan_recv(c, b, 32, err)) || (st = owp_chan_recv_hmac(c, err)) ||
        (st = owp_wire_decode_accept_session(b, &as, err)))
        return st;
    ck_assert_int_eq(as.port, 9251);
    ck_assert_int_eq(as.sid[15], 0x7f);

    owp_wire_encode_start_sessions(b);
    if ((st = owp_chan_send(c, b, 16, err)) || (st = owp_chan_send_hmac(c, err)))
        return st;
    uint8_t *big = malloc(BIG_LEN);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < BIG_LEN; i++)
        big[i] = (uint8_t)(i * 7);
    st = owp_chan_send(c, big, BIG_LEN, err);
    free(big);
    if (st || (st = owp_chan_send_hmac(c, err)))
        return st;
    uint8_t acc;
    if ((st = owp_chan_recv(c, b, 16, err)) || (st = owp_chan_recv_hmac(c, err)) ||
        (st = owp_wire_decode_start_ack(b, &acc, err)))
        return st;
    ck_assert_int_eq(acc, 0);
    return OWP_OK;
}

static const owp_mode modes[] = {OWP_MODE_OPEN, OWP_MODE_AUTH, OWP_MODE_ENCRYPTED};

START_TEST(handshake_each_mode)
{
    int sv[2];
    make_pair(sv);
    server_args a = {.chan = chan_on(sv[1], "client", 5000), .offer_mode = modes[_i]};
    owp_chan *client = chan_on(sv[0], "server", 5000);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, server_main, &a), 0);
    owp_err err;
    owp_status st = client_run(client, modes[_i], &err);
    ck_assert_msg(st == OWP_OK, "client: %s", err.msg);
    pthread_join(t, NULL);
    ck_assert_msg(a.failure[0] == '\0', "server: %s", a.failure);
    ck_assert_int_eq(a.got.conf_receiver, 1);
    ck_assert_uint_eq(a.got.npackets, 20);
    ck_assert_uint_eq(owp_get64(a.got_slot_value), 0x0ccccccc);
    owp_chan_destroy(&client);
    ck_assert_ptr_null(client);
    owp_chan_destroy(&a.chan);
    owp_chan_destroy(&a.chan); /* NULL-safe */
}
END_TEST

START_TEST(handshake_wrong_key_is_hmac_error)
{
    int sv[2];
    make_pair(sv);
    server_args a = {.chan = chan_on(sv[1], "client", 2000), .offer_mode = modes[_i],
                     .wrong_key = 1};
    owp_chan *client = chan_on(sv[0], "127.0.0.1:861", 2000);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, server_main, &a), 0);
    owp_err err;
    owp_status st = client_run(client, modes[_i], &err);
    /* The server notices first (the client's Request-Session HMAC). */
    owp_chan_destroy(&client);
    pthread_join(t, NULL);
    ck_assert_int_ne(st, OWP_OK);
    ck_assert_ptr_nonnull(strstr(a.failure, "HMAC mismatch from client"));
    owp_chan_destroy(&a.chan);
}
END_TEST

/* ------------------------------------------------------- capture replays */

enum seg_kind { SEG_CLEAR, SEG_MODE, SEG_DATA, SEG_HMAC };
typedef struct seg {
    enum seg_kind kind;
    size_t len;
    const char *msg; /* message it belongs to, for failure messages */
} seg;

typedef struct plan {
    seg s[200];
    size_t n;
} plan;

static void add(plan *p, enum seg_kind k, size_t len, const char *msg)
{
    ck_assert_uint_lt(p->n, sizeof p->s / sizeof p->s[0]);
    p->s[p->n++] = (seg){k, len, msg};
}

static size_t jsize(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_array(v))
        return json_array_size(v);
    ck_assert_msg(json_is_integer(v), "transcript lacks %s", key);
    return (size_t)json_integer_value(v);
}

/* The layout of one direction's stream, from the transcript (owamp-wire.md 1-10). */
static void plan_direction(json_t *control, const char *dir, plan *p)
{
    p->n = 0;
    uint32_t fetch_nskips = 0, fetch_nrecords = 0;
    for (size_t i = 0; i < json_array_size(control); i++) {
        json_t *m = json_array_get(control, i);
        const char *msg = json_string_value(json_object_get(m, "msg"));
        if (strcmp(json_string_value(json_object_get(m, "dir")), dir))
            continue;
        if (!strcmp(msg, "Server-Greeting")) {
            add(p, SEG_CLEAR, 64, msg);
        } else if (!strcmp(msg, "Set-Up-Response")) {
            add(p, SEG_CLEAR, 164, msg);
            add(p, SEG_MODE, 0, msg);
        } else if (!strcmp(msg, "Server-Start")) {
            add(p, SEG_CLEAR, 32, msg);
            add(p, SEG_MODE, 0, msg);
            add(p, SEG_DATA, 16, msg);
        } else if (!strcmp(msg, "Request-Session")) {
            add(p, SEG_DATA, 96, msg);
            add(p, SEG_HMAC, 16, msg);
            add(p, SEG_DATA, 16 * jsize(m, "slot_list"), msg);
            add(p, SEG_HMAC, 16, msg);
        } else if (!strcmp(msg, "Accept-Session") || !strcmp(msg, "Fetch-Session")) {
            add(p, SEG_DATA, 32, msg);
            add(p, SEG_HMAC, 16, msg);
        } else if (!strcmp(msg, "Start-Sessions") || !strcmp(msg, "Start-Ack")) {
            add(p, SEG_DATA, 16, msg);
            add(p, SEG_HMAC, 16, msg);
        } else if (!strcmp(msg, "Fetch-Ack")) {
            fetch_nskips = (uint32_t)jsize(m, "num_skip_ranges");
            fetch_nrecords = (uint32_t)jsize(m, "num_records");
            add(p, SEG_DATA, 16, msg);
            add(p, SEG_HMAC, 16, msg);
        } else if (!strcmp(msg, "Stop-Sessions")) {
            json_t *sessions = json_object_get(m, "sessions");
            size_t len = 16;
            for (size_t k = 0; k < json_array_size(sessions); k++)
                len += 16 * owp_wire_stop_session_blocks(
                                (uint32_t)jsize(json_array_get(sessions, k), "num_skips"));
            add(p, SEG_DATA, len, msg);
            add(p, SEG_HMAC, 16, msg);
        } else if (!strcmp(msg, "Fetch-Data")) {
            add(p, SEG_DATA, 96, msg);
            add(p, SEG_HMAC, 16, msg);
            add(p, SEG_DATA, 16 * jsize(m, "slots"), msg);
            add(p, SEG_HMAC, 16, msg);
            add(p, SEG_DATA, owp_wire_pad16(8 * (size_t)fetch_nskips), msg);
            add(p, SEG_HMAC, 16, msg);
            add(p, SEG_DATA, owp_wire_pad16(25 * (size_t)fetch_nrecords), msg);
            add(p, SEG_HMAC, 16, msg);
        } else {
            ck_abort_msg("unknown message %s", msg);
        }
    }
}

typedef struct capture {
    tu_pcap *pc;
    json_t *doc;
    uint8_t *c2s, *s2c;
    size_t c2s_len, s2c_len;
    uint32_t mode;
    uint8_t aes_key[16], hmac_key[32], client_iv[16], server_iv[16];
} capture;

static void load_capture(const char *name, capture *cap)
{
    char rel[128];
    memset(cap, 0, sizeof *cap);
    snprintf(rel, sizeof rel, "pcap/%s.pcap", name);
    char *path = tu_vector_path(rel);
    cap->pc = tu_pcap_load(path);
    free(path);
    snprintf(rel, sizeof rel, "pcap/%s.decoded.json", name);
    cap->doc = tu_load_json(rel);

    uint16_t sport = 0, cport = 0; /* the first TCP payload is the Server-Greeting */
    for (size_t i = 0; i < tu_pcap_count(cap->pc) && !sport; i++) {
        const tu_packet *p = tu_pcap_get(cap->pc, i);
        if (p->proto == 6 && p->len > 0)
            sport = p->sport, cport = p->dport;
    }
    ck_assert_uint_ne(sport, 0);
    cap->c2s = tu_pcap_tcp_stream(cap->pc, cport, sport, &cap->c2s_len);
    cap->s2c = tu_pcap_tcp_stream(cap->pc, sport, cport, &cap->s2c_len);
    ck_assert_uint_ge(cap->c2s_len, 164);
    ck_assert_uint_ge(cap->s2c_len, 112);
    cap->mode = owp_get32(cap->c2s);
    memcpy(cap->client_iv, cap->c2s + 148, 16);
    memcpy(cap->server_iv, cap->s2c + 64 + 16, 16);
    if (cap->mode != OWP_MODE_OPEN) {
        json_t *setup = json_array_get(json_object_get(cap->doc, "control"), 1);
        tu_json_hex(setup, "aes_session_key", cap->aes_key, 16);
        tu_json_hex(setup, "hmac_session_key", cap->hmac_key, 32);
    }
}

static void free_capture(capture *cap)
{
    free(cap->c2s);
    free(cap->s2c);
    json_decref(cap->doc);
    tu_pcap_free(&cap->pc);
}

/* Read everything available on fd (the writer has finished) into a buffer. */
static uint8_t *drain(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        ck_assert_int_ge(r, 0);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

/*
 * One direction of a capture: the captured bytes go into a receiving channel
 * (the far side of that stream, verifying every HMAC), and the plaintext it
 * yields goes out through a sending channel with the same keys and IVs, whose
 * output must equal the capture byte for byte. tamper_at >= 0 flips that byte
 * first; returns the receiving side's first failure (OWP_OK if none).
 */
static owp_status replay_direction(capture *cap, int to_server, long tamper_at, owp_err *rerr,
                                   uint8_t **plain_out, size_t *plain_len)
{
    const uint8_t *stream = to_server ? cap->c2s : cap->s2c;
    size_t stream_len = to_server ? cap->c2s_len : cap->s2c_len;
    const uint8_t *iv = to_server ? cap->client_iv : cap->server_iv;
    const uint8_t *other_iv = to_server ? cap->server_iv : cap->client_iv;
    plan p;
    plan_direction(json_object_get(cap->doc, "control"), to_server ? "C->S" : "S->C", &p);

    int in[2], out[2];
    make_pair(in);
    make_pair(out);
    uint8_t *copy = malloc(stream_len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, stream, stream_len);
    if (tamper_at >= 0)
        copy[tamper_at] ^= 0x01;
    /* The streams are a few KB: they fit in the socket buffer. */
    ck_assert_int_eq(write(in[0], copy, stream_len), (ssize_t)stream_len);
    free(copy);
    shutdown(in[0], SHUT_WR);

    owp_chan *rx = chan_on(in[1], to_server ? "client 127.0.0.1:8870" : "server", 2000);
    owp_chan *tx = chan_on(out[0], "replay", 2000);
    uint8_t *plain = malloc(stream_len + 16);
    ck_assert_ptr_nonnull(plain);
    size_t pos = 0;
    owp_status st = OWP_OK;
    owp_err err;
    for (size_t i = 0; i < p.n && st == OWP_OK; i++) {
        seg *s = &p.s[i];
        switch (s->kind) {
        case SEG_CLEAR:
            st = owp_chan_recv_clear(rx, plain + pos, s->len, rerr);
            if (st == OWP_OK)
                OK(owp_chan_send_clear(tx, plain + pos, s->len, E));
            pos += s->len;
            break;
        case SEG_MODE:
            OK(owp_chan_set_mode(rx, cap->mode, cap->aes_key, cap->hmac_key, other_iv, iv, E));
            OK(owp_chan_set_mode(tx, cap->mode, cap->aes_key, cap->hmac_key, iv, other_iv, E));
            break;
        case SEG_DATA:
            st = owp_chan_recv(rx, plain + pos, s->len, rerr);
            if (st == OWP_OK)
                OK(owp_chan_send(tx, plain + pos, s->len, E));
            pos += s->len;
            break;
        case SEG_HMAC:
            st = owp_chan_recv_hmac(rx, rerr);
            if (st == OWP_OK)
                OK(owp_chan_send_hmac(tx, E));
            break;
        }
    }
    if (st == OWP_OK) {
        /* The whole stream was consumed: next comes the capture's FIN. */
        uint8_t extra[16];
        ck_assert_int_eq(owp_chan_recv(rx, extra, 16, &err), OWP_ERR_CLOSED);
        ck_assert_ptr_nonnull(strstr(err.msg, owp_chan_peer(rx)));
        OK(owp_chan_flush(tx, E));
        shutdown(out[0], SHUT_WR);
        size_t got_len;
        uint8_t *got = drain(out[1], &got_len);
        ck_assert_uint_eq(got_len, stream_len);
        ck_assert_msg(memcmp(got, stream, stream_len) == 0,
                      "re-sent stream differs from the capture");
        free(got);
    }
    owp_chan_destroy(&rx);
    owp_chan_destroy(&tx);
    close(in[0]);
    close(out[1]);
    if (plain_out) {
        *plain_out = plain;
        *plain_len = pos;
    } else {
        free(plain);
    }
    return st;
}

static const char *const captures[] = {"open", "auth", "enc", "ipv6-open", "skips-open"};

START_TEST(replay_capture_both_directions)
{
    capture cap;
    load_capture(captures[_i], &cap);
    for (int to_server = 0; to_server <= 1; to_server++) {
        owp_err err;
        uint8_t *plain;
        size_t len;
        owp_status st = replay_direction(&cap, to_server, -1, &err, &plain, &len);
        ck_assert_msg(st == OWP_OK, "%s %s: %s", captures[_i], to_server ? "C->S" : "S->C",
                      err.msg);
        /* Spot-check the plaintext against the transcript. */
        json_t *control = json_object_get(cap.doc, "control");
        uint8_t sid[16];
        if (to_server) {
            /* First Request-Session starts after the Set-Up-Response. */
            owp_request q = {0};
            ck_assert_int_eq(owp_wire_decode_request_preamble(plain + 164, &q, &err), OWP_OK);
            tu_json_hex(json_array_get(control, 3), "sid", sid, 16);
            ck_assert_mem_eq(q.sid, sid, 16);
            ck_assert_int_eq(q.npackets, json_integer_value(json_object_get(
                                             json_array_get(control, 3), "packets")));
        } else {
            /* First Accept-Session follows greeting and Server-Start. */
            owp_accept_session as;
            ck_assert_int_eq(owp_wire_decode_accept_session(plain + 64 + 48, &as, &err), OWP_OK);
            tu_json_hex(json_array_get(control, 4), "sid", sid, 16);
            ck_assert_mem_eq(as.sid, sid, 16);
        }
        free(plain);
    }
    free_capture(&cap);
}
END_TEST

/* Flipping one ciphertext bit of a protected message breaks its HMAC. */
START_TEST(tampered_capture_fails_hmac)
{
    const char *name = _i == 0 ? "auth" : "enc";
    capture cap;
    load_capture(name, &cap);
    const long spots[] = {164 + 5, 164 + 96 + 3, 164 + 112 + 1, (long)cap.c2s_len - 1};
    for (size_t k = 0; k < sizeof spots / sizeof spots[0]; k++) {
        owp_err err;
        owp_status st = replay_direction(&cap, 1, spots[k], &err, NULL, NULL);
        ck_assert_int_eq(st, OWP_ERR_PROTO);
        ck_assert_str_eq(err.msg, "HMAC mismatch from client 127.0.0.1:8870");
    }
    /* S->C: the Server-Start block 32-47 is covered by the first Accept-Session HMAC. */
    owp_err err;
    ck_assert_int_eq(replay_direction(&cap, 0, 64 + 40, &err, NULL, NULL), OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "HMAC mismatch from server"));
    free_capture(&cap);
}
END_TEST

/* Open mode: HMAC fields are not checked, so a changed byte passes through. */
START_TEST(open_mode_does_not_check_hmac_fields)
{
    capture cap;
    load_capture("open", &cap);
    cap.c2s[164 + 100] ^= 0xff; /* inside the first HMAC field */
    owp_err err;
    int in[2];
    make_pair(in);
    ck_assert_int_eq(write(in[0], cap.c2s, cap.c2s_len), (ssize_t)cap.c2s_len);
    owp_chan *rx = chan_on(in[1], "client", 1000);
    uint8_t b[164];
    OK(owp_chan_recv_clear(rx, b, 164, E));
    OK(owp_chan_set_mode(rx, OWP_MODE_OPEN, NULL, NULL, NULL, NULL, E));
    OK(owp_chan_recv(rx, b, 96, E));
    ck_assert_int_eq(owp_chan_recv_hmac(rx, &err), OWP_OK);
    owp_chan_destroy(&rx);
    close(in[0]);
    free_capture(&cap);
}
END_TEST

/* ------------------------------------------------------ failures of the peer */

START_TEST(stalled_peer_times_out)
{
    int sv[2];
    make_pair(sv);
    owp_chan *c = chan_on(sv[0], "10.0.0.9:861", 300);
    owp_err err;
    uint8_t b[32];
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(owp_chan_recv_clear(c, b, 16, &err), OWP_ERR_TIMEOUT);
    double ms = elapsed_ms(&t0);
    ck_assert_msg(ms >= 250 && ms < 3000, "timed out after %.0f ms", ms);
    ck_assert_ptr_nonnull(strstr(err.msg, "10.0.0.9:861"));

    /* A peer that sends part of a message and stalls: the deadline covers the
     * whole receive. */
    ck_assert_int_eq(write(sv[1], "0123456789", 10), 10);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(owp_chan_recv(c, b, 32, &err), OWP_ERR_TIMEOUT);
    ms = elapsed_ms(&t0);
    ck_assert_msg(ms >= 250 && ms < 3000, "timed out after %.0f ms", ms);
    ck_assert_ptr_nonnull(strstr(err.msg, "10 of 32"));

    /* wait_readable: 0 on silence, 1 once the peer writes. */
    owp_chan_set_timeout(c, 100);
    ck_assert_int_eq(owp_chan_wait_readable(c, 50), 0);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert_int_eq(owp_chan_wait_readable(c, 1000), 1);
    ck_assert_int_eq(owp_chan_wait_readable(c, -1), 1);
    owp_chan_destroy(&c);
    close(sv[1]);
}
END_TEST

START_TEST(closed_peer_is_closed)
{
    int sv[2];
    make_pair(sv);
    owp_chan *c = chan_on(sv[0], "[::1]:861", 2000);
    owp_err err;
    uint8_t b[48] = {0};
    ck_assert_int_eq(write(sv[1], b, 20), 20);
    close(sv[1]);
    ck_assert_int_eq(owp_chan_wait_readable(c, 1000), 1);
    ck_assert_int_eq(owp_chan_recv(c, b, 16, &err), OWP_OK);
    ck_assert_int_eq(owp_chan_recv(c, b, 16, &err), OWP_ERR_CLOSED);
    ck_assert_ptr_nonnull(strstr(err.msg, "[::1]:861"));
    ck_assert_ptr_nonnull(strstr(err.msg, "4 of 16"));
    ck_assert_int_eq(owp_chan_recv_hmac(c, &err), OWP_ERR_CLOSED);

    /* Sending to a closed peer: an error, not SIGPIPE. */
    ck_assert_int_eq(owp_chan_send_clear(c, b, 48, &err), OWP_ERR_CLOSED);
    ck_assert_int_eq(owp_chan_send(c, b, 48, &err), OWP_OK); /* buffered */
    ck_assert_int_eq(owp_chan_send_hmac(c, &err), OWP_ERR_CLOSED);
    ck_assert_ptr_nonnull(strstr(err.msg, "[::1]:861"));
    owp_chan_destroy(&c);
}
END_TEST

START_TEST(misuse_is_reported)
{
    int sv[2];
    make_pair(sv);
    owp_chan *c = chan_on(sv[0], "peer", 100);
    owp_err err;
    uint8_t b[32] = {0};
    ck_assert_int_eq(owp_chan_send(c, b, 15, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_chan_recv(c, b, 17, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_chan_set_mode(c, OWP_MODE_AUTH, NULL, HMAC_KEY, CLIENT_IV, SERVER_IV, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_chan_set_mode(c, (owp_mode)3, AES_KEY, HMAC_KEY, CLIENT_IV, SERVER_IV, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_chan_mode(c), OWP_MODE_OPEN);
    ck_assert_int_eq(owp_chan_fd(c), sv[0]);
    ck_assert_str_eq(owp_chan_peer(c), "peer");
    ck_assert_ptr_null(owp_chan_new(-1, "x", 0, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
    owp_chan_destroy(&c);
    close(sv[1]);
}
END_TEST

/* Buffered sends leave in one write at the HMAC field: nothing before it. */
START_TEST(sends_are_buffered_until_hmac)
{
    int sv[2];
    make_pair(sv);
    owp_chan *c = chan_on(sv[0], "peer", 1000);
    owp_err err;
    uint8_t b[96] = {1};
    OK(owp_chan_set_mode(c, OWP_MODE_ENCRYPTED, AES_KEY, HMAC_KEY, CLIENT_IV, SERVER_IV, E));
    OK(owp_chan_send(c, b, 96, E));
    struct pollfd p = {.fd = sv[1], .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 50), 0);
    OK(owp_chan_send_hmac(c, E));
    uint8_t got[112];
    ck_assert_int_eq(read(sv[1], got, sizeof got), 112);
    /* Encrypted: the ciphertext is not the plaintext. */
    ck_assert(memcmp(got, b, 96) != 0);
    (void)err;
    owp_chan_destroy(&c);
    close(sv[1]);
}
END_TEST

START_TEST(tcp_socket_gets_nodelay)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(ls, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof sa;
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &slen), 0);
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(cs, (struct sockaddr *)&sa, sizeof sa), 0);
    int as = accept(ls, NULL, NULL);
    ck_assert_int_ge(as, 0);
    owp_chan *c = chan_on(cs, "127.0.0.1", 1000);
    int v = 0;
    socklen_t vlen = sizeof v;
    ck_assert_int_eq(getsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &v, &vlen), 0);
    ck_assert_int_eq(v, 1);
    owp_chan_destroy(&c);
    close(as);
    close(ls);
}
END_TEST

int main(void)
{
    /* SIGPIPE keeps its default disposition: closed_peer_is_closed proves
     * the channel never raises it (MSG_NOSIGNAL). */
    Suite *s = suite_create("channel");
    TCase *tc = tcase_create("handshake");
    tcase_add_loop_test(tc, handshake_each_mode, 0, 3);
    tcase_add_loop_test(tc, handshake_wrong_key_is_hmac_error, 1, 3);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(s, tc);

    tc = tcase_create("captures");
    tcase_add_loop_test(tc, replay_capture_both_directions, 0,
                        (int)(sizeof captures / sizeof captures[0]));
    tcase_add_loop_test(tc, tampered_capture_fails_hmac, 0, 2);
    tcase_add_test(tc, open_mode_does_not_check_hmac_fields);
    suite_add_tcase(s, tc);

    tc = tcase_create("peer_failures");
    tcase_add_test(tc, stalled_peer_times_out);
    tcase_add_test(tc, closed_peer_is_closed);
    tcase_add_test(tc, misuse_is_reported);
    tcase_add_test(tc, sends_are_buffered_until_hmac);
    tcase_add_test(tc, tcp_socket_gets_nodelay);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
