/*
 * check_wire.c - the OWAMP-Control codec against the reference's captures.
 *
 * For every capture in tests/vectors/pcap, both TCP streams of the control
 * connection are walked message by message (owamp-wire.md section 1), A/E
 * traffic decrypted with the session keys and IVs of the .decoded.json
 * transcript; every message is decoded with wire.c, compared field by field
 * with the transcript, re-encoded and compared byte for byte, and every HMAC
 * field is recomputed. Then hostile and truncated inputs.
 *
 * Longer than our ~800-line rule on purpose: one case per control message
 * type, each checked against the reference's captures; splitting by message
 * would copy the capture-walking code into every file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "pcap.h"
#include "testutil.h"
#include "wire.h"

/* ------------------------------------------------------------------ helpers */

static long jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_integer(v), "transcript lacks integer %s", key);
    return (long)json_integer_value(v);
}

static const char *jstr(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    ck_assert_msg(s != NULL, "transcript lacks string %s", key);
    return s;
}

/* The transcript's hex member key equals the n bytes at p. */
static void assert_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    uint8_t want[256];
    size_t got = tu_json_hex(obj, key, want, sizeof want);
    ck_assert_msg(got == n, "%s: transcript has %zu bytes, wire %zu", key, got, n);
    ck_assert_msg(memcmp(want, p, n) == 0, "%s differs from the transcript", key);
}

static uint64_t jtime(json_t *obj, const char *key)
{
    return tu_json_hex64(json_object_get(obj, key), "hex");
}

/* One direction of the captured control stream, decrypted as we go. */
typedef struct reader {
    const char *name;
    const uint8_t *buf;
    size_t len, pos;
    owp_cbc *cbc;   /* NULL in open mode / before keys */
    owp_hmac *hmac; /* running HMAC over plaintext, NULL in open mode */
    int nhmacs;
} reader;

static void take(reader *r, size_t n, uint8_t *out)
{
    ck_assert_msg(r->pos + n <= r->len, "%s stream ends at %zu, need %zu more at %zu", r->name,
                  r->len, n, r->pos);
    memcpy(out, r->buf + r->pos, n);
    r->pos += n;
}

static void read_clear(reader *r, size_t n, uint8_t *out) { take(r, n, out); }

/* Protected bytes: decrypt (A/E) and feed the running HMAC. */
static void read_blocks(reader *r, size_t n, uint8_t *out)
{
    ck_assert_uint_eq(n % 16, 0);
    take(r, n, out);
    if (r->cbc) {
        owp_err err;
        ck_assert_int_eq(owp_cbc_update(r->cbc, out, out, n, &err), OWP_OK);
        ck_assert_int_eq(owp_hmac_update(r->hmac, out, n, &err), OWP_OK);
    }
}

/* An HMAC field: must equal the running HMAC (A/E) or zeros (open), and the
 * transcript's value obj.hmac. */
static void read_hmac(reader *r, json_t *obj)
{
    uint8_t field[16], want[16] = {0};
    take(r, 16, field);
    if (r->cbc) {
        owp_err err;
        ck_assert_int_eq(owp_cbc_update(r->cbc, field, field, 16, &err), OWP_OK);
        ck_assert_int_eq(owp_hmac_final(r->hmac, want, &err), OWP_OK);
    }
    ck_assert_msg(memcmp(field, want, 16) == 0, "%s: HMAC #%d does not verify", r->name,
                  r->nhmacs);
    r->nhmacs++;
    assert_hex(obj, "hmac", field, 16);
}

/* A message of n protected bytes followed by its HMAC field (checked against
 * hmac_obj's "hmac"): the n plaintext bytes into b, and the 16 bytes after
 * them, where the HMAC stands on the wire, zeroed as the decoders expect. */
static void read_sealed(reader *r, size_t n, uint8_t *b, json_t *hmac_obj)
{
    read_blocks(r, n, b);
    read_hmac(r, hmac_obj);
    memset(b + n, 0, 16);
}

static void start_crypto(reader *r, const uint8_t key[16], const uint8_t hmac_key[32],
                         const uint8_t iv[16])
{
    owp_err err;
    r->cbc = owp_cbc_new(key, iv, 0, &err);
    ck_assert_msg(r->cbc != NULL, "%s", err.msg);
    r->hmac = owp_hmac_new(hmac_key, 32, &err);
    ck_assert_msg(r->hmac != NULL, "%s", err.msg);
}

/* Control connection ports: the first TCP payload is the Server-Greeting. */
static void control_ports(const tu_pcap *pc, uint16_t *server, uint16_t *client)
{
    for (size_t i = 0; i < tu_pcap_count(pc); i++) {
        const tu_packet *p = tu_pcap_get(pc, i);
        if (p->proto == 6 && p->len > 0) {
            *server = p->sport;
            *client = p->dport;
            return;
        }
    }
    ck_abort_msg("capture has no TCP payload");
}

/* State of one replay: the two streams and what earlier messages told us. */
typedef struct replay {
    reader c2s, s2c;
    uint32_t mode;
    uint8_t aes_key[16], hmac_key[32];
    owp_fetch_ack last_fetch_ack;
} replay;

/* ---------------------------------------------------------- per message */

static void check_greeting(replay *rp, json_t *m)
{
    uint8_t b[OWP_GREETING_LEN], again[OWP_GREETING_LEN];
    owp_greeting g;
    owp_err err;
    read_clear(&rp->s2c, sizeof b, b);
    ck_assert_int_eq(owp_wire_decode_greeting(b, &g, &err), OWP_OK);
    assert_hex(m, "unused", b, 12);
    ck_assert_int_eq(g.modes, jint(m, "modes"));
    assert_hex(m, "challenge", g.challenge, 16);
    assert_hex(m, "salt", g.salt, 16);
    ck_assert_int_eq(g.count, jint(m, "count"));
    assert_hex(m, "mbz", b + 52, 12);
    owp_wire_encode_greeting(&g, again);
    ck_assert_mem_eq(again, b, sizeof b);
}

static void check_setup(replay *rp, json_t *m)
{
    uint8_t b[OWP_SETUP_RESPONSE_LEN], again[OWP_SETUP_RESPONSE_LEN];
    owp_setup_response s;
    owp_err err;
    read_clear(&rp->c2s, sizeof b, b);
    ck_assert_int_eq(owp_wire_decode_setup_response(b, &s, &err), OWP_OK);
    ck_assert_int_eq(s.mode, jint(m, "mode"));
    ck_assert_str_eq(s.keyid, jstr(m, "keyid"));
    assert_hex(m, "token", s.token, 64);
    assert_hex(m, "client_iv", s.client_iv, 16);
    owp_wire_encode_setup_response(&s, again);
    ck_assert_mem_eq(again, b, sizeof b);

    rp->mode = s.mode;
    if (s.mode != OWP_MODE_OPEN) {
        tu_json_hex(m, "aes_session_key", rp->aes_key, 16);
        tu_json_hex(m, "hmac_session_key", rp->hmac_key, 32);
        start_crypto(&rp->c2s, rp->aes_key, rp->hmac_key, s.client_iv);
    }
}

static void check_server_start(replay *rp, json_t *m)
{
    uint8_t b[OWP_SERVER_START_LEN], again[OWP_SERVER_START_LEN];
    owp_server_start s;
    owp_err err;
    read_clear(&rp->s2c, 32, b);
    if (rp->mode != OWP_MODE_OPEN)
        start_crypto(&rp->s2c, rp->aes_key, rp->hmac_key, b + 16);
    /* Bytes 32-47: the first S->C block, covered by the next server HMAC. */
    read_blocks(&rp->s2c, 16, b + 32);
    ck_assert_int_eq(owp_wire_decode_server_start(b, &s, &err), OWP_OK);
    assert_hex(m, "mbz", b, 15);
    ck_assert_int_eq(s.accept, jint(m, "accept"));
    assert_hex(m, "server_iv", s.server_iv, 16);
    ck_assert_uint_eq(s.start_time, jtime(m, "start_time"));
    assert_hex(m, "mbz2", b + 40, 8);
    owp_wire_encode_server_start(&s, again);
    ck_assert_mem_eq(again, b, sizeof b);
}

/* Preamble (96 bytes + HMAC), slots, slot HMAC; shared by Request-Session
 * and the stored request at the head of Fetch data. */
static void read_request(reader *r, owp_request *q, uint8_t pre[OWP_REQUEST_PREAMBLE_LEN],
                         json_t *hmac1)
{
    owp_err err;
    uint8_t again[OWP_REQUEST_PREAMBLE_LEN];
    read_sealed(r, 96, pre, hmac1);
    q->slots = NULL;
    ck_assert_msg(owp_wire_decode_request_preamble(pre, q, &err) == OWP_OK, "%s", err.msg);
    owp_wire_encode_request_preamble(q, again);
    ck_assert_mem_eq(again, pre, sizeof again);
    q->slots = calloc(q->nslots, sizeof *q->slots);
    ck_assert_ptr_nonnull(q->slots);
}

static void check_request(replay *rp, json_t *m)
{
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN];
    owp_request q;
    read_request(&rp->c2s, &q, pre, json_object_get(m, "hmac1"));
    ck_assert_int_eq(q.ipvn, jint(m, "ipvn"));
    ck_assert_int_eq(q.conf_sender, jint(m, "conf_sender"));
    ck_assert_int_eq(q.conf_receiver, jint(m, "conf_receiver"));
    ck_assert_int_eq(q.nslots, jint(m, "slots"));
    ck_assert_int_eq(q.npackets, jint(m, "packets"));
    ck_assert_int_eq(q.sender_port, jint(m, "sender_port"));
    ck_assert_int_eq(q.receiver_port, jint(m, "receiver_port"));
    assert_hex(m, "sender_addr", q.sender_addr, 16);
    assert_hex(m, "receiver_addr", q.receiver_addr, 16);
    assert_hex(m, "sid", q.sid, 16);
    ck_assert_int_eq(q.padding, jint(m, "padding"));
    ck_assert_uint_eq(q.start_time, jtime(m, "start_time"));
    ck_assert_uint_eq(q.timeout, jtime(m, "timeout"));
    uint8_t typep[4];
    owp_put32(typep, q.typep);
    assert_hex(m, "typep", typep, 4);
    assert_hex(m, "mbz", pre + 88, 8);

    json_t *list = json_object_get(m, "slot_list");
    ck_assert_uint_eq(json_array_size(list), q.nslots);
    for (uint32_t i = 0; i < q.nslots; i++) {
        uint8_t b[OWP_SLOT_LEN], again[OWP_SLOT_LEN];
        owp_err err;
        json_t *js = json_array_get(list, i);
        read_blocks(&rp->c2s, 16, b);
        ck_assert_int_eq(owp_wire_decode_slot(b, &q.slots[i], &err), OWP_OK);
        ck_assert_int_eq(q.slots[i].type, jint(js, "type"));
        assert_hex(js, "mbz", b + 1, 7);
        ck_assert_uint_eq(q.slots[i].value, tu_json_hex64(js, "value"));
        owp_wire_encode_slot(&q.slots[i], again);
        ck_assert_mem_eq(again, b, 16);
    }
    read_hmac(&rp->c2s, json_object_get(m, "hmac2"));

    owp_request copy;
    owp_err err;
    ck_assert_int_eq(owp_request_copy(&copy, &q, &err), OWP_OK);
    ck_assert_ptr_ne(copy.slots, q.slots);
    ck_assert_mem_eq(copy.slots, q.slots, q.nslots * sizeof *q.slots);
    ck_assert_int_eq(owp_request_dscp(&copy), 0);
    owp_request_clear(&copy);
    ck_assert_ptr_null(copy.slots);
    owp_request_clear(&q);
}

static void check_accept_session(replay *rp, json_t *m)
{
    uint8_t b[OWP_ACCEPT_SESSION_LEN], again[OWP_ACCEPT_SESSION_LEN];
    owp_accept_session a;
    owp_err err;
    read_sealed(&rp->s2c, 32, b, json_object_get(m, "hmac"));
    ck_assert_int_eq(owp_wire_decode_accept_session(b, &a, &err), OWP_OK);
    ck_assert_int_eq(a.accept, jint(m, "accept"));
    assert_hex(m, "mbz", b + 1, 1);
    ck_assert_int_eq(a.port, jint(m, "port"));
    assert_hex(m, "sid", a.sid, 16);
    assert_hex(m, "mbz2", b + 20, 12);
    owp_wire_encode_accept_session(&a, again);
    ck_assert_mem_eq(again, b, sizeof b);
}

static void check_start_sessions(replay *rp, json_t *m)
{
    uint8_t b[OWP_START_SESSIONS_LEN], again[OWP_START_SESSIONS_LEN];
    owp_err err;
    read_sealed(&rp->c2s, 16, b, json_object_get(m, "hmac"));
    ck_assert_int_eq(owp_wire_decode_start_sessions(b, &err), OWP_OK);
    assert_hex(m, "mbz", b + 1, 15);
    owp_wire_encode_start_sessions(again);
    ck_assert_mem_eq(again, b, sizeof b);
}

static void check_start_ack(replay *rp, json_t *m)
{
    uint8_t b[OWP_START_ACK_LEN], again[OWP_START_ACK_LEN], accept;
    owp_err err;
    read_sealed(&rp->s2c, 16, b, json_object_get(m, "hmac"));
    ck_assert_int_eq(owp_wire_decode_start_ack(b, &accept, &err), OWP_OK);
    ck_assert_int_eq(accept, jint(m, "accept"));
    assert_hex(m, "mbz", b + 1, 15);
    owp_wire_encode_start_ack(accept, again);
    ck_assert_mem_eq(again, b, sizeof b);
}

/* Incrementally, as a peer reads it: header, then per session SID + counts,
 * then the further blocks the counts call for. */
static void check_stop_sessions(replay *rp, json_t *m, reader *r)
{
    size_t cap = 16, len = 0;
    uint8_t *msg = malloc(cap);
    uint8_t accept;
    uint32_t nsessions;
    owp_err err;
    ck_assert_ptr_nonnull(msg);
    read_blocks(r, 16, msg);
    len = 16;
    ck_assert_int_eq(owp_wire_decode_stop_header(msg, &accept, &nsessions, &err), OWP_OK);
    for (uint32_t i = 0; i < nsessions; i++) {
        uint8_t head[32];
        uint32_t next_seqno, nskips;
        read_blocks(r, 32, head);
        ck_assert_int_eq(owp_wire_decode_stop_counts(head + 16, &next_seqno, &nskips, &err),
                         OWP_OK);
        size_t more = 16 * (owp_wire_stop_session_blocks(nskips) - 2);
        msg = realloc(msg, len + 32 + more);
        ck_assert_ptr_nonnull(msg);
        memcpy(msg + len, head, 32);
        read_blocks(r, more, msg + len + 32);
        len += 32 + more;
    }
    read_hmac(r, json_object_get(m, "hmac"));

    owp_stop_sessions s;
    ck_assert_msg(owp_wire_decode_stop_sessions(msg, len, &s, &err) == OWP_OK, "%s", err.msg);
    ck_assert_uint_eq(owp_wire_stop_sessions_len(&s), len);
    ck_assert_int_eq(s.accept, jint(m, "accept"));
    assert_hex(m, "mbz", msg + 2, 2);
    ck_assert_int_eq(s.nsessions, jint(m, "num_sessions"));
    assert_hex(m, "mbz2", msg + 8, 8);
    json_t *sessions = json_object_get(m, "sessions");
    ck_assert_uint_eq(json_array_size(sessions), s.nsessions);
    for (uint32_t i = 0; i < s.nsessions; i++) {
        json_t *js = json_array_get(sessions, i);
        json_t *skips = json_object_get(js, "skips");
        assert_hex(js, "sid", s.sessions[i].sid, 16);
        ck_assert_int_eq(s.sessions[i].next_seqno, jint(js, "next_seqno"));
        ck_assert_int_eq(s.sessions[i].nskips, jint(js, "num_skips"));
        ck_assert_uint_eq(json_array_size(skips), s.sessions[i].nskips);
        for (uint32_t k = 0; k < s.sessions[i].nskips; k++) {
            json_t *range = json_array_get(skips, k);
            ck_assert_int_eq(s.sessions[i].skips[k].first, json_integer_value(json_array_get(range, 0)));
            ck_assert_int_eq(s.sessions[i].skips[k].last, json_integer_value(json_array_get(range, 1)));
        }
    }
    uint8_t *again = malloc(len);
    ck_assert_ptr_nonnull(again);
    owp_wire_encode_stop_sessions(&s, again);
    ck_assert_mem_eq(again, msg, len);
    free(again);
    owp_stop_sessions_clear(&s);
    ck_assert_ptr_null(s.sessions);
    free(msg);
    (void)rp;
}

static void check_fetch_session(replay *rp, json_t *m)
{
    uint8_t b[OWP_FETCH_SESSION_LEN], again[OWP_FETCH_SESSION_LEN];
    owp_fetch_session f;
    owp_err err;
    read_sealed(&rp->c2s, 32, b, json_object_get(m, "hmac"));
    ck_assert_int_eq(owp_wire_decode_fetch_session(b, &f, &err), OWP_OK);
    assert_hex(m, "mbz", b + 1, 7);
    ck_assert_uint_eq(f.begin_seq, (uint32_t)jint(m, "begin"));
    ck_assert_uint_eq(f.end_seq, (uint32_t)jint(m, "end"));
    assert_hex(m, "sid", f.sid, 16);
    owp_wire_encode_fetch_session(&f, again);
    ck_assert_mem_eq(again, b, sizeof b);
}

static void check_fetch_ack(replay *rp, json_t *m)
{
    uint8_t b[OWP_FETCH_ACK_LEN], again[OWP_FETCH_ACK_LEN];
    owp_fetch_ack *a = &rp->last_fetch_ack;
    owp_err err;
    read_sealed(&rp->s2c, 16, b, json_object_get(m, "hmac"));
    ck_assert_int_eq(owp_wire_decode_fetch_ack(b, a, &err), OWP_OK);
    ck_assert_int_eq(a->accept, jint(m, "accept"));
    ck_assert_int_eq(a->finished, jint(m, "finished"));
    assert_hex(m, "mbz", b + 2, 2);
    ck_assert_int_eq(a->next_seqno, jint(m, "next_seqno"));
    ck_assert_int_eq(a->nskips, jint(m, "num_skip_ranges"));
    ck_assert_int_eq(a->nrecords, jint(m, "num_records"));
    owp_wire_encode_fetch_ack(a, again);
    ck_assert_mem_eq(again, b, sizeof b);
}

/* Fetch data (owamp-wire.md section 10): stored request, skips, records. */
static void check_fetch_data(replay *rp, json_t *m)
{
    reader *r = &rp->s2c;
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN];
    owp_request q;
    owp_err err;
    read_request(r, &q, pre, json_object_get(m, "hmac_preamble"));
    assert_hex(m, "request_preamble", pre, 96);
    json_t *slots = json_object_get(m, "slots");
    ck_assert_uint_eq(json_array_size(slots), q.nslots);
    for (uint32_t i = 0; i < q.nslots; i++) {
        uint8_t b[16], want[16];
        read_blocks(r, 16, b);
        ck_assert_int_eq(tu_hex_decode(json_string_value(json_array_get(slots, i)), want, 16), 16);
        ck_assert_mem_eq(b, want, 16);
        ck_assert_int_eq(owp_wire_decode_slot(b, &q.slots[i], &err), OWP_OK);
    }
    read_hmac(r, json_object_get(m, "hmac_slots"));
    owp_request_clear(&q);

    uint32_t nskips = rp->last_fetch_ack.nskips;
    json_t *skips = json_object_get(m, "skips");
    ck_assert_uint_eq(json_array_size(skips), nskips);
    size_t skiplen = owp_wire_pad16(8 * (size_t)nskips);
    uint8_t *sb = malloc(skiplen + 1);
    ck_assert_ptr_nonnull(sb);
    read_blocks(r, skiplen, sb);
    for (uint32_t k = 0; k < nskips; k++) {
        json_t *range = json_array_get(skips, k);
        ck_assert_int_eq(owp_get32(sb + 8 * k), json_integer_value(json_array_get(range, 0)));
        ck_assert_int_eq(owp_get32(sb + 8 * k + 4), json_integer_value(json_array_get(range, 1)));
    }
    ck_assert(owp_all_zero(sb + 8 * nskips, (unsigned)(skiplen - 8 * nskips)));
    free(sb);
    read_hmac(r, json_object_get(m, "hmac_skips"));

    uint32_t nrec = rp->last_fetch_ack.nrecords;
    json_t *recs = json_object_get(m, "records");
    ck_assert_uint_eq(json_array_size(recs), nrec);
    size_t reclen = owp_wire_pad16(25 * (size_t)nrec);
    uint8_t *rb = malloc(reclen + 1);
    ck_assert_ptr_nonnull(rb);
    read_blocks(r, reclen, rb);
    for (uint32_t i = 0; i < nrec; i++) {
        json_t *jr = json_array_get(recs, i);
        const uint8_t *p = rb + 25 * (size_t)i;
        ck_assert_int_eq(owp_get32(p), jint(jr, "seq"));
        assert_hex(jr, "send_err", p + 4, 2);
        assert_hex(jr, "recv_err", p + 6, 2);
        assert_hex(jr, "send", p + 8, 8);
        assert_hex(jr, "recv", p + 16, 8);
        ck_assert_int_eq(p[24], jint(jr, "ttl"));
    }
    assert_hex(m, "record_pad", rb + 25 * (size_t)nrec, reclen - 25 * (size_t)nrec);
    free(rb);
    read_hmac(r, json_object_get(m, "hmac_records"));
}

static const char *const captures[] = {"open", "auth", "enc", "ipv6-open", "skips-open"};

START_TEST(replay_capture)
{
    const char *name = captures[_i];
    char rel[128];
    snprintf(rel, sizeof rel, "pcap/%s.pcap", name);
    char *path = tu_vector_path(rel);
    tu_pcap *pc = tu_pcap_load(path);
    free(path);
    snprintf(rel, sizeof rel, "pcap/%s.decoded.json", name);
    json_t *doc = tu_load_json(rel);

    uint16_t sport, cport;
    control_ports(pc, &sport, &cport);
    replay rp;
    memset(&rp, 0, sizeof rp);
    uint8_t *c2s = tu_pcap_tcp_stream(pc, cport, sport, &rp.c2s.len);
    uint8_t *s2c = tu_pcap_tcp_stream(pc, sport, cport, &rp.s2c.len);
    rp.c2s.buf = c2s;
    rp.s2c.buf = s2c;
    rp.c2s.name = "C->S";
    rp.s2c.name = "S->C";

    json_t *control = json_object_get(doc, "control");
    ck_assert(json_array_size(control) >= 12);
    int hmacs_expected = 0;
    for (size_t i = 0; i < json_array_size(control); i++) {
        json_t *m = json_array_get(control, i);
        const char *msg = jstr(m, "msg");
        int to_server = strcmp(jstr(m, "dir"), "C->S") == 0;
        if (!strcmp(msg, "Server-Greeting"))
            check_greeting(&rp, m);
        else if (!strcmp(msg, "Set-Up-Response"))
            check_setup(&rp, m);
        else if (!strcmp(msg, "Server-Start"))
            check_server_start(&rp, m);
        else if (!strcmp(msg, "Request-Session"))
            check_request(&rp, m), hmacs_expected += 2;
        else if (!strcmp(msg, "Accept-Session"))
            check_accept_session(&rp, m), hmacs_expected++;
        else if (!strcmp(msg, "Start-Sessions"))
            check_start_sessions(&rp, m), hmacs_expected++;
        else if (!strcmp(msg, "Start-Ack"))
            check_start_ack(&rp, m), hmacs_expected++;
        else if (!strcmp(msg, "Stop-Sessions"))
            check_stop_sessions(&rp, m, to_server ? &rp.c2s : &rp.s2c), hmacs_expected++;
        else if (!strcmp(msg, "Fetch-Session"))
            check_fetch_session(&rp, m), hmacs_expected++;
        else if (!strcmp(msg, "Fetch-Ack"))
            check_fetch_ack(&rp, m), hmacs_expected++;
        else if (!strcmp(msg, "Fetch-Data"))
            check_fetch_data(&rp, m), hmacs_expected += 4;
        else
            ck_abort_msg("%s: unknown message %s", name, msg);
    }
    /* Every captured byte was accounted for, every HMAC field checked. */
    ck_assert_uint_eq(rp.c2s.pos, rp.c2s.len);
    ck_assert_uint_eq(rp.s2c.pos, rp.s2c.len);
    ck_assert_int_eq(rp.c2s.nhmacs + rp.s2c.nhmacs, hmacs_expected);
    ck_assert_int_eq(rp.mode == OWP_MODE_OPEN, strstr(name, "open") != NULL);

    owp_cbc_destroy(&rp.c2s.cbc);
    owp_cbc_destroy(&rp.s2c.cbc);
    owp_hmac_destroy(&rp.c2s.hmac);
    owp_hmac_destroy(&rp.s2c.hmac);
    free(c2s);
    free(s2c);
    json_decref(doc);
    tu_pcap_free(&pc);
}
END_TEST

/* ----------------------------------------------------- synthetic round trips */

START_TEST(request_round_trip_ipv6_dscp)
{
    owp_slot slots[3] = {{OWP_SLOT_FIXED, 0x028f5c28}, {OWP_SLOT_EXP, 0x07ae147a},
                         {OWP_SLOT_FIXED, 0x051eb851}};
    owp_request q = {.ipvn = 6, .conf_sender = 1, .nslots = 3, .npackets = 30,
                     .receiver_port = 9000, .padding = 200, .start_time = 0xeeae671470a88f01ULL,
                     .timeout = 0x0000000200b13598ULL, .typep = 0x2e000000, .slots = slots};
    q.sender_addr[15] = 1;
    q.receiver_addr[15] = 1;
    memset(q.sid, 0xab, sizeof q.sid);
    uint8_t b[OWP_REQUEST_PREAMBLE_LEN];
    owp_wire_encode_request_preamble(&q, b);
    ck_assert_int_eq(b[0], 1);
    ck_assert_int_eq(b[1], 6);
    ck_assert_int_eq(b[84], 0x2e);
    ck_assert(owp_all_zero(b + 88, 24));

    owp_request d = {0};
    owp_err err;
    ck_assert_int_eq(owp_wire_decode_request_preamble(b, &d, &err), OWP_OK);
    ck_assert_ptr_null(d.slots);
    ck_assert_int_eq(d.ipvn, 6);
    ck_assert_int_eq(d.conf_sender, 1);
    ck_assert_int_eq(d.conf_receiver, 0);
    ck_assert_uint_eq(d.padding, 200);
    ck_assert_uint_eq(d.start_time, q.start_time);
    ck_assert_int_eq(owp_request_dscp(&d), 0x2e);
    d.typep = 0xb8000000; /* top two bits set: not a plain DSCP */
    ck_assert_int_eq(owp_request_dscp(&d), -1);
    d.typep = 0x2e000001;
    ck_assert_int_eq(owp_request_dscp(&d), -1);

    for (int i = 0; i < 3; i++) {
        uint8_t s[OWP_SLOT_LEN];
        owp_slot back;
        owp_wire_encode_slot(&slots[i], s);
        ck_assert_int_eq(s[0], slots[i].type == OWP_SLOT_FIXED);
        ck_assert_int_eq(owp_wire_decode_slot(s, &back, &err), OWP_OK);
        ck_assert_int_eq(back.type, slots[i].type);
        ck_assert_uint_eq(back.value, slots[i].value);
    }

    owp_request copy;
    ck_assert_int_eq(owp_request_copy(&copy, &q, &err), OWP_OK);
    ck_assert_mem_eq(copy.slots, slots, sizeof slots);
    owp_request_clear(&copy);
    owp_request_clear(NULL);
}
END_TEST

START_TEST(stop_sessions_layouts)
{
    /* nskips 0..5: 8 zero bytes of padding exactly when the count is even. */
    for (uint32_t n = 0; n <= 5; n++)
        ck_assert_uint_eq(owp_wire_stop_session_blocks(n), 2 + n / 2);
    ck_assert_uint_eq(owp_wire_stop_session_blocks(UINT32_MAX),
                      owp_wire_pad16(24 + 8 * (size_t)UINT32_MAX) / 16);

    owp_skip sk[3] = {{1, 2}, {5, 5}, {7, 100}};
    owp_stop_session ss[2] = {{.next_seqno = 300, .nskips = 3, .skips = sk},
                              {.next_seqno = 7, .nskips = 0, .skips = NULL}};
    memset(ss[0].sid, 1, 16);
    memset(ss[1].sid, 2, 16);
    owp_stop_sessions m = {.accept = 2, .nsessions = 2, .sessions = ss};
    size_t len = owp_wire_stop_sessions_len(&m);
    ck_assert_uint_eq(len, 16 + 48 + 32);
    uint8_t b[96];
    owp_wire_encode_stop_sessions(&m, b);
    ck_assert_int_eq(b[0], 3);
    ck_assert_int_eq(b[1], 2);
    ck_assert_uint_eq(owp_get32(b + 4), 2);
    ck_assert_uint_eq(owp_get32(b + 32), 300);
    ck_assert_uint_eq(owp_get32(b + 36), 3);
    ck_assert_uint_eq(owp_get32(b + 56), 7);   /* third range, second block */
    ck_assert_uint_eq(owp_get32(b + 60), 100);
    ck_assert(owp_all_zero(b + 88, 8));       /* nskips 0: 8 bytes pad */

    owp_stop_sessions d;
    owp_err err;
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &d, &err), OWP_OK);
    ck_assert_int_eq(d.accept, 2);
    ck_assert_uint_eq(d.nsessions, 2);
    ck_assert_uint_eq(d.sessions[0].nskips, 3);
    ck_assert_uint_eq(d.sessions[0].skips[2].last, 100);
    ck_assert_ptr_null(d.sessions[1].skips);
    ck_assert_uint_eq(d.sessions[1].next_seqno, 7);
    owp_stop_sessions_clear(&d);
    owp_stop_sessions_clear(NULL);

    /* The empty message of a server with no send session. */
    owp_stop_sessions empty = {0};
    ck_assert_uint_eq(owp_wire_stop_sessions_len(&empty), 16);
    owp_wire_encode_stop_sessions(&empty, b);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, 16, &d, &err), OWP_OK);
    ck_assert_uint_eq(d.nsessions, 0);
    owp_stop_sessions_clear(&d);
}
END_TEST

START_TEST(accept_names)
{
    ck_assert_str_eq(owp_accept_name(OWP_ACCEPT_OK), "accepted");
    ck_assert_str_eq(owp_accept_name(OWP_ACCEPT_FAILURE), "failure, reason unspecified");
    ck_assert_ptr_nonnull(strstr(owp_accept_name(OWP_ACCEPT_TEMPORARY), "temporary"));
    ck_assert_ptr_nonnull(strstr(owp_accept_name(OWP_ACCEPT_PERMANENT), "permanent"));
    ck_assert_ptr_nonnull(strstr(owp_accept_name(OWP_ACCEPT_NOT_SUPPORTED), "not supported"));
    ck_assert_ptr_nonnull(strstr(owp_accept_name(OWP_ACCEPT_INTERNAL), "internal"));
    ck_assert_str_eq(owp_accept_name(6), "invalid accept value");
    ck_assert_str_eq(owp_accept_name(-1), "invalid accept value");
}
END_TEST

START_TEST(setup_keyid_fills_field)
{
    owp_setup_response s = {.mode = OWP_MODE_AUTH};
    memset(s.keyid, 'k', OWP_KEYID_LEN); /* 80 characters: no room for a NUL on the wire */
    s.keyid[OWP_KEYID_LEN] = '\0';
    uint8_t b[OWP_SETUP_RESPONSE_LEN];
    owp_wire_encode_setup_response(&s, b);
    ck_assert_int_eq(b[83], 'k');
    ck_assert_int_eq(b[84], 0);
    owp_setup_response d;
    owp_err err;
    ck_assert_int_eq(owp_wire_decode_setup_response(b, &d, &err), OWP_OK);
    ck_assert_uint_eq(strlen(d.keyid), OWP_KEYID_LEN);

    owp_server_start refuse = {.accept = OWP_ACCEPT_FAILURE, .start_time = 12345};
    uint8_t ss[OWP_SERVER_START_LEN];
    owp_wire_encode_server_start(&refuse, ss);
    ck_assert_int_eq(ss[15], 1);
    ck_assert(owp_all_zero(ss + 32, 16));
}
END_TEST

/* --------------------------------------------------------------- hostile */

START_TEST(hostile_setup_modes)
{
    uint8_t b[OWP_SETUP_RESPONSE_LEN] = {0};
    owp_setup_response s;
    owp_err err;
    const uint32_t bad[] = {0, 3, 5, 6, 7, 8, 0x10, 0x80000000u, 0x101};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        owp_put32(b, bad[i]);
        ck_assert_int_eq(owp_wire_decode_setup_response(b, &s, &err), OWP_ERR_PROTO);
        ck_assert_ptr_nonnull(strstr(err.msg, "Mode"));
    }
    for (uint32_t mode = 1; mode <= 4; mode <<= 1) {
        owp_put32(b, mode);
        ck_assert_int_eq(owp_wire_decode_setup_response(b, &s, &err), OWP_OK);
    }
    /* KeyID without any NUL stays bounded. */
    memset(b + 4, 'x', OWP_KEYID_LEN);
    ck_assert_int_eq(owp_wire_decode_setup_response(b, &s, &err), OWP_OK);
    ck_assert_uint_eq(strlen(s.keyid), OWP_KEYID_LEN);
}
END_TEST

START_TEST(hostile_accept_values)
{
    owp_err err;
    uint8_t b[48] = {0};
    owp_server_start ss;
    owp_accept_session as;
    owp_fetch_ack fa;
    uint8_t acc;
    for (int v = 0; v < 256; v++) {
        int ok = v <= 5;
        b[15] = (uint8_t)v;
        ck_assert_int_eq(owp_wire_decode_server_start(b, &ss, &err) == OWP_OK, ok);
        b[15] = 0;
        b[0] = (uint8_t)v;
        ck_assert_int_eq(owp_wire_decode_accept_session(b, &as, &err) == OWP_OK, ok);
        ck_assert_int_eq(owp_wire_decode_start_ack(b, &acc, &err) == OWP_OK, ok);
        ck_assert_int_eq(owp_wire_decode_fetch_ack(b, &fa, &err) == OWP_OK, ok);
        if (!ok)
            ck_assert_ptr_nonnull(strstr(err.msg, "Accept"));
        b[0] = 0;
    }
}
END_TEST

START_TEST(hostile_message_types)
{
    owp_err err;
    uint8_t b[OWP_REQUEST_PREAMBLE_LEN] = {0};
    owp_request q = {0};
    owp_fetch_session f;
    for (int t = 0; t < 256; t++) {
        b[0] = (uint8_t)t;
        b[1] = 4;
        owp_put32(b + 4, 1);
        owp_put32(b + 8, 1);
        ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err) == OWP_OK,
                         t == OWP_MSG_REQUEST_SESSION);
        ck_assert_int_eq(owp_wire_decode_start_sessions(b, &err) == OWP_OK,
                         t == OWP_MSG_START_SESSIONS);
        ck_assert_int_eq(owp_wire_decode_fetch_session(b, &f, &err) == OWP_OK,
                         t == OWP_MSG_FETCH_SESSION);
        uint8_t acc;
        uint32_t n;
        b[1] = 0;
        ck_assert_int_eq(owp_wire_decode_stop_header(b, &acc, &n, &err) == OWP_OK,
                         t == OWP_MSG_STOP_SESSIONS);
    }
    /* Request-TW-Session (TWAMP) is not a Request-Session. */
    b[0] = OWP_MSG_REQUEST_TW_SESSION;
    b[1] = 4;
    ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err), OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "type"));
}
END_TEST

START_TEST(hostile_request_fields)
{
    owp_err err;
    uint8_t b[OWP_REQUEST_PREAMBLE_LEN] = {0};
    owp_request q = {0};
    b[0] = 1;
    owp_put32(b + 8, 10);
    for (int v = 0; v < 16; v++) {
        b[1] = (uint8_t)v;
        owp_put32(b + 4, 1);
        ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err) == OWP_OK,
                         v == 4 || v == 6);
    }
    b[1] = 0x44; /* the MBZ nibble is masked, as the reference does */
    ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err), OWP_OK);
    ck_assert_int_eq(q.ipvn, 4);
    b[1] = 4;
    b[2] = 7; /* non-zero Conf byte counts as set */
    ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err), OWP_OK);
    ck_assert_int_eq(q.conf_sender, 1);
    b[2] = 0;

    const uint32_t bad_nslots[] = {0, OWP_MAX_SLOTS + 1, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        owp_put32(b + 4, bad_nslots[i]);
        ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err), OWP_ERR_PROTO);
        ck_assert_ptr_nonnull(strstr(err.msg, "Slots"));
    }
    owp_put32(b + 4, OWP_MAX_SLOTS);
    ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err), OWP_OK);
    owp_put32(b + 8, 0);
    ck_assert_int_eq(owp_wire_decode_request_preamble(b, &q, &err), OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "Packets"));

    uint8_t s[OWP_SLOT_LEN] = {0};
    owp_slot slot;
    for (int t = 2; t < 256; t++) {
        s[0] = (uint8_t)t;
        ck_assert_int_eq(owp_wire_decode_slot(s, &slot, &err), OWP_ERR_PROTO);
    }
}
END_TEST

static size_t one_session_message(uint8_t *b, uint32_t nskips)
{
    size_t len = 16 + 16 * owp_wire_stop_session_blocks(nskips);
    memset(b, 0, len);
    b[0] = 3;
    owp_put32(b + 4, 1);
    owp_put32(b + 32, 100);
    owp_put32(b + 36, nskips);
    for (uint32_t k = 0; k < nskips; k++) {
        owp_put32(b + 40 + 8 * k, 10 * k);
        owp_put32(b + 44 + 8 * k, 10 * k + 5);
    }
    return len;
}

START_TEST(hostile_stop_sessions)
{
    uint8_t b[256];
    owp_stop_sessions m;
    owp_err err;
    uint8_t acc;
    uint32_t n, seq;

    size_t len = one_session_message(b, 2);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_OK);
    owp_stop_sessions_clear(&m);

    /* Every truncation, and one byte too many, fails cleanly. */
    for (size_t l = 0; l < len; l++) {
        ck_assert_int_eq(owp_wire_decode_stop_sessions(b, l, &m, &err), OWP_ERR_PROTO);
        ck_assert_ptr_null(m.sessions);
    }
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len + 16, &m, &err), OWP_ERR_PROTO);

    /* Oversized counts: refused before anything is allocated. */
    owp_put32(b + 4, 0xffffffffu);
    ck_assert_int_eq(owp_wire_decode_stop_header(b, &acc, &n, &err), OWP_ERR_PROTO);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);
    owp_put32(b + 4, OWP_STOP_MAX_SESSIONS);
    ck_assert_int_eq(owp_wire_decode_stop_header(b, &acc, &n, &err), OWP_OK);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);
    owp_put32(b + 4, 2);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);
    owp_put32(b + 4, 1);

    owp_put32(b + 36, 0xffffffffu);
    ck_assert_int_eq(owp_wire_decode_stop_counts(b + 32, &seq, &n, &err), OWP_ERR_PROTO);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);
    owp_put32(b + 36, OWP_STOP_MAX_SKIPS);
    ck_assert_int_eq(owp_wire_decode_stop_counts(b + 32, &seq, &n, &err), OWP_OK);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "skip ranges"));
    owp_put32(b + 36, 4); /* needs one more block than there is */
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);

    /* Padding after an even count must be zero (the reference checks). */
    len = one_session_message(b, 2);
    b[len - 1] = 1;
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "padding"));
    len = one_session_message(b, 0);
    b[len - 8] = 1;
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);

    /* A range that ends before it starts. */
    len = one_session_message(b, 1);
    owp_put32(b + 44, 0);
    owp_put32(b + 40, 1);
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);

    /* Bad Accept in the header. */
    len = one_session_message(b, 1);
    b[1] = 9;
    ck_assert_int_eq(owp_wire_decode_stop_sessions(b, len, &m, &err), OWP_ERR_PROTO);
}
END_TEST

/* Random bytes of every length through the variable-length decoder: it must
 * never read out of bounds (ASan) nor leak. Deterministic generator. */
START_TEST(hostile_stop_sessions_random)
{
    uint32_t x = 0x12345678;
    uint8_t b[160];
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof b; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            b[i] = (uint8_t)x;
        }
        /* Make most inputs plausible enough to get past the header. */
        b[0] = 3;
        b[1] %= 6;
        b[4] = b[5] = b[6] = 0;
        b[7] %= 4;
        b[32 + 4] = b[32 + 5] = b[32 + 6] = 0;
        b[32 + 7] %= 8;
        size_t len = 16 * (x % 11);
        owp_stop_sessions m;
        owp_err err;
        if (owp_wire_decode_stop_sessions(b, len, &m, &err) == OWP_OK) {
            ck_assert_uint_eq(owp_wire_stop_sessions_len(&m), len);
            owp_stop_sessions_clear(&m);
        } else {
            ck_assert_ptr_null(m.sessions);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("captures");
    tcase_add_loop_test(tc, replay_capture, 0, (int)(sizeof captures / sizeof captures[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("round_trip");
    tcase_add_test(tc, request_round_trip_ipv6_dscp);
    tcase_add_test(tc, stop_sessions_layouts);
    tcase_add_test(tc, accept_names);
    tcase_add_test(tc, setup_keyid_fills_field);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_test(tc, hostile_setup_modes);
    tcase_add_test(tc, hostile_accept_values);
    tcase_add_test(tc, hostile_message_types);
    tcase_add_test(tc, hostile_request_fields);
    tcase_add_test(tc, hostile_stop_sessions);
    tcase_add_test(tc, hostile_stop_sessions_random);
    suite_add_tcase(s, tc);

    return tu_run_suite(s);
}
