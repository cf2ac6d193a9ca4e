/* check_twamp.c - TWAMP's wire (twamp_wire.h) against the reference's
 * captures (tests/vectors/twamp/pcap/NAME.decoded.json): every Request-TW-Session
 * decodes and re-encodes to its octets, every test packet of every mode opens
 * with the session's test keys to the decoded fields and re-seals to the
 * captured octets, the per-session test keys derive from the control keys;
 * hostile packets and requests are refused; the two-way statistics and the
 * report formats (twstats.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "options.h"
#include "testutil.h"
#include "twamp_wire.h"
#include "twstats.h"
#include "wire.h"

static uint64_t jint(json_t *v) { return (uint64_t)json_integer_value(v); }

static const char *const captures[] = {
    "twamp/pcap/open.decoded.json",        "twamp/pcap/auth.decoded.json",
    "twamp/pcap/enc.decoded.json",         "twamp/pcap/mixed.decoded.json",
    "twamp/pcap/ipv6-open.decoded.json",   "twamp/pcap/padding-dscp.decoded.json",
    "twamp/pcap/padding-enc.decoded.json", "twamp/pcap/open-s0.decoded.json",
    "twamp/pcap/default-modes.decoded.json", "twamp/pcap/zero-addr.decoded.json",
};
#define NCAPTURES (sizeof captures / sizeof captures[0])

static json_t *control_msg(json_t *cap, const char *name)
{
    json_t *ctl = json_object_get(cap, "control");
    size_t i;
    json_t *m;
    json_array_foreach(ctl, i, m) {
        if (strcmp(json_string_value(json_object_get(m, "msg")), name) == 0)
            return m;
    }
    ck_abort_msg("no %s in capture", name);
    return NULL;
}

static owp_mode capture_mode(json_t *cap)
{
    return (owp_mode)jint(json_object_get(control_msg(cap, "Set-Up-Response"), "mode"));
}

/* The plaintext of a message: plain_hex in keyed modes, wire_hex in open mode. */
static size_t plain(json_t *m, uint8_t *out, size_t len)
{
    return tu_json_hex(m, json_object_get(m, "plain_hex") ? "plain_hex" : "wire_hex", out, len);
}

static uint64_t ts_hex(json_t *m, const char *key)
{
    return tu_json_hex64(json_object_get(m, key), "hex");
}

static uint16_t errest_hex(json_t *m, const char *key)
{
    uint8_t b[2];
    ck_assert_uint_eq(tu_json_hex(json_object_get(m, key), "hex", b, 2), 2);
    return owp_get16(b);
}

static owp_tw_crypt *capture_crypt(json_t *cap, owp_mode tm)
{
    if (tm == OWP_MODE_OPEN)
        return NULL;
    json_t *k = json_array_get(json_object_get(cap, "test_keys"), 0);
    uint8_t aes[16], hmac[32];
    tu_json_hex(k, "test_aes_key", aes, sizeof aes);
    tu_json_hex(k, "test_hmac_key", hmac, sizeof hmac);
    owp_err e;
    owp_tw_crypt *tc = owp_tw_crypt_new(tm, aes, hmac, &e);
    ck_assert_msg(tc != NULL, "%s", e.msg);
    return tc;
}

START_TEST(test_request_tw_session_vectors)
{
    for (size_t c = 0; c < NCAPTURES; c++) {
        json_t *cap = tu_load_json(captures[c]);
        json_t *m = control_msg(cap, "Request-TW-Session");
        uint8_t buf[OWP_TW_REQUEST_LEN];
        ck_assert_uint_eq(plain(m, buf, sizeof buf), OWP_TW_REQUEST_LEN);
        owp_request r;
        owp_tw_request_verdict v;
        owp_err e;
        ck_assert_int_eq(owp_tw_decode_request(buf, &r, &v, &e), OWP_OK);
        ck_assert_int_eq(v, OWP_TW_REQUEST_OK);
        ck_assert_uint_eq(r.ipvn, jint(json_object_get(m, "ipvn")));
        ck_assert_uint_eq(r.sender_port, jint(json_object_get(m, "sender_port")));
        ck_assert_uint_eq(r.receiver_port, jint(json_object_get(m, "receiver_port")));
        ck_assert_uint_eq(r.padding, jint(json_object_get(m, "padding_length")));
        ck_assert_uint_eq(r.start_time, ts_hex(m, "start_time"));
        ck_assert_uint_eq(r.timeout, ts_hex(m, "timeout"));
        uint8_t typep[4];
        tu_json_hex(json_object_get(m, "type_p"), "hex", typep, 4);
        ck_assert_uint_eq(r.typep, owp_get32(typep));
        uint8_t again[OWP_TW_REQUEST_LEN];
        owp_tw_encode_request(&r, again);
        ck_assert_mem_eq(again, buf, 96); /* the HMAC field is the channel's */
        json_decref(cap);
    }
}
END_TEST

/* Accept-Session as the reference fills it decodes with OWAMP's decoder. */
START_TEST(test_accept_session_vectors)
{
    for (size_t c = 0; c < NCAPTURES; c++) {
        json_t *cap = tu_load_json(captures[c]);
        json_t *m = control_msg(cap, "Accept-Session");
        uint8_t buf[48], sid[16];
        plain(m, buf, sizeof buf);
        owp_accept_session as;
        owp_err e;
        ck_assert_int_eq(owp_wire_decode_accept_session(buf, &as, &e), OWP_OK);
        ck_assert_uint_eq(as.accept, 0);
        ck_assert_uint_eq(as.port, jint(json_object_get(m, "port")));
        tu_json_hex(m, "sid", sid, sizeof sid);
        ck_assert_mem_eq(as.sid, sid, 16);
        json_decref(cap);
    }
}
END_TEST

/* Test keys: the OWAMP derivation from the control session keys and the SID. */
START_TEST(test_session_keys_vectors)
{
    for (size_t c = 0; c < NCAPTURES; c++) {
        json_t *cap = tu_load_json(captures[c]);
        owp_mode mode = capture_mode(cap);
        if (owp_tw_test_mode(mode) == OWP_MODE_OPEN) {
            json_decref(cap);
            continue;
        }
        json_t *sr = control_msg(cap, "Set-Up-Response");
        json_t *k = json_array_get(json_object_get(cap, "test_keys"), 0);
        uint8_t aes_s[16], hmac_s[32], sid[16], want_aes[16], want_hmac[32], aes[16], hmac[32];
        tu_json_hex(sr, "aes_session_key", aes_s, 16);
        tu_json_hex(sr, "hmac_session_key", hmac_s, 32);
        tu_json_hex(k, "sid", sid, 16);
        tu_json_hex(k, "test_aes_key", want_aes, 16);
        tu_json_hex(k, "test_hmac_key", want_hmac, 32);
        owp_err e;
        ck_assert_int_eq(owp_test_session_keys(sid, aes_s, hmac_s, aes, hmac, &e), OWP_OK);
        ck_assert_mem_eq(aes, want_aes, 16);
        ck_assert_mem_eq(hmac, want_hmac, 32);
        owp_tw_crypt *tc = NULL;
        ck_assert_int_eq(owp_tw_crypt_for_session(mode, sid, aes_s, hmac_s, &tc, &e), OWP_OK);
        ck_assert_ptr_nonnull(tc);
        owp_tw_crypt_destroy(&tc);
        json_decref(cap);
    }
}
END_TEST

static void check_sender(owp_tw_crypt *tc, owp_mode tm, json_t *t, const uint8_t *wire, size_t len)
{
    uint8_t buf[OWP_TW_PACKET_MAX];
    memcpy(buf, wire, len);
    uint32_t seq;
    owp_num64 ts;
    uint16_t er;
    owp_err e;
    ck_assert_msg(owp_tw_sender_open(tc, tm, buf, len, &seq, &ts, &er, &e) == OWP_OK, "%s", e.msg);
    ck_assert_uint_eq(seq, jint(json_object_get(t, "seq")));
    ck_assert_uint_eq(ts, ts_hex(t, "timestamp"));
    ck_assert_uint_eq(er, errest_hex(t, "errest"));
    /* Re-sealed from its fields and padding: the captured octets. */
    uint8_t again[OWP_TW_PACKET_MAX];
    memcpy(again, wire, len);
    ck_assert_int_eq(owp_tw_sender_seal(tc, tm, seq, ts, er, again, len, &e), OWP_OK);
    ck_assert_mem_eq(again, wire, len);
}

static void check_reflected(owp_tw_crypt *tc, owp_mode tm, json_t *t, const uint8_t *wire,
                            size_t len)
{
    uint8_t buf[OWP_TW_PACKET_MAX];
    memcpy(buf, wire, len);
    owp_tw_reflected m;
    owp_err e;
    ck_assert_msg(owp_tw_reflect_open(tc, tm, buf, len, &m, &e) == OWP_OK, "%s", e.msg);
    ck_assert_uint_eq(m.seq, jint(json_object_get(t, "seq")));
    ck_assert_uint_eq(m.timestamp, ts_hex(t, "timestamp"));
    ck_assert_uint_eq(m.recv_time, ts_hex(t, "receive_timestamp"));
    ck_assert_uint_eq(m.sender_seq, jint(json_object_get(t, "sender_seq")));
    ck_assert_uint_eq(m.sender_time, ts_hex(t, "sender_timestamp"));
    ck_assert_uint_eq(m.sender_errest, errest_hex(t, "sender_errest"));
    ck_assert_uint_eq(m.sender_ttl, jint(json_object_get(t, "sender_ttl")));
    uint8_t again[OWP_TW_PACKET_MAX];
    memcpy(again, wire, len); /* the padding */
    ck_assert_int_eq(owp_tw_reflect_prepare(tm, &m, again, len, &e), OWP_OK);
    ck_assert_int_eq(owp_tw_reflect_seal(tc, tm, m.timestamp, m.errest, again, len, &e), OWP_OK);
    ck_assert_mem_eq(again, wire, len);
    /* One flipped bit in the protected part: a keyed packet no longer opens. */
    if (tm != OWP_MODE_OPEN) {
        memcpy(buf, wire, len);
        buf[5] ^= 0x10;
        ck_assert_int_eq(owp_tw_reflect_open(tc, tm, buf, len, &m, NULL), OWP_ERR_PROTO);
    }
}

START_TEST(test_test_packet_vectors)
{
    for (size_t c = 0; c < NCAPTURES; c++) {
        json_t *cap = tu_load_json(captures[c]);
        owp_mode tm = owp_tw_test_mode(capture_mode(cap));
        owp_tw_crypt *tc = capture_crypt(cap, tm);
        json_t *tests = json_object_get(cap, "test");
        ck_assert_uint_gt(json_array_size(tests), 0);
        size_t i;
        json_t *t;
        json_array_foreach(tests, i, t) {
            static uint8_t wire[OWP_TW_PACKET_MAX];
            size_t len = tu_json_hex(t, "wire_hex", wire, sizeof wire);
            if (strcmp(json_string_value(json_object_get(t, "role")), "sender") == 0) {
                ck_assert_uint_ge(len, owp_tw_sender_size(tm, 0));
                check_sender(tc, tm, t, wire, len);
            } else {
                ck_assert_uint_ge(len, owp_tw_reflect_min(tm));
                check_reflected(tc, tm, t, wire, len);
            }
        }
        owp_tw_crypt_destroy(&tc);
        json_decref(cap);
    }
}
END_TEST

/* The reference's size rule, from the captures' README (section C). */
START_TEST(test_sizes)
{
    ck_assert_uint_eq(owp_tw_sender_size(OWP_MODE_OPEN, 27), 41);
    ck_assert_uint_eq(owp_tw_sender_size(OWP_MODE_AUTH, 64), 112);
    ck_assert_uint_eq(owp_tw_reflect_size(OWP_MODE_OPEN, 14), 41);
    ck_assert_uint_eq(owp_tw_reflect_size(OWP_MODE_OPEN, 114), 114);
    ck_assert_uint_eq(owp_tw_reflect_size(OWP_MODE_ENCRYPTED, 48), 112);
    ck_assert_uint_eq(owp_tw_reflect_size(OWP_MODE_ENCRYPTED, 148), 148);
    ck_assert_int_eq(owp_tw_test_mode(OWP_MODE_MIXED), OWP_MODE_OPEN);
    ck_assert_uint_eq(owp_tw_sender_size(OWP_MODE_MIXED, 0), 0); /* not a test mode */
}
END_TEST

/* Requests the reference does not serve: answered Accept 3, never dropped. */
START_TEST(test_request_refusals)
{
    static const struct {
        unsigned off;
        uint8_t value;
    } bad[] = {{1, 5}, {2, 1}, {3, 1}, {7, 1}, {11, 1}, {84, 0x40}, {87, 1}};
    owp_request r;
    memset(&r, 0, sizeof r);
    r.ipvn = 4;
    uint8_t ok[OWP_TW_REQUEST_LEN];
    owp_tw_encode_request(&r, ok);
    ck_assert_uint_eq(ok[0], 5);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[OWP_TW_REQUEST_LEN];
        memcpy(buf, ok, sizeof buf);
        buf[bad[i].off] = bad[i].value;
        owp_tw_request_verdict v;
        owp_err e;
        ck_assert_int_eq(owp_tw_decode_request(buf, &r, &v, &e), OWP_OK);
        ck_assert_msg(v == OWP_TW_REQUEST_UNSUPPORTED, "octet %u", bad[i].off);
        ck_assert_ptr_nonnull(strstr(e.msg, "Request-TW-Session"));
    }
    ok[84] = 0x2e; /* DSCP 46 */
    owp_tw_request_verdict v;
    ck_assert_int_eq(owp_tw_decode_request(ok, &r, &v, NULL), OWP_OK);
    ck_assert_int_eq(v, OWP_TW_REQUEST_OK);
    ok[0] = 1; /* an OWAMP Request-Session */
    ck_assert_int_eq(owp_tw_decode_request(ok, &r, &v, NULL), OWP_ERR_PROTO);
}
END_TEST

/* Short or garbage datagrams never decode as reflections. */
START_TEST(test_hostile_packets)
{
    uint8_t key[32] = {1, 2, 3};
    owp_tw_crypt *tc = owp_tw_crypt_new(OWP_MODE_ENCRYPTED, key, key, NULL);
    ck_assert_ptr_nonnull(tc);
    uint8_t buf[200];
    uint32_t x = 7;
    owp_tw_reflected m;
    for (size_t len = 0; len < sizeof buf; len++) {
        tu_fill_garbage((char *)buf, sizeof buf, "\x01\x02\xff\x00\x7f", &x);
        owp_status st = owp_tw_reflect_open(tc, OWP_MODE_ENCRYPTED, buf, len, &m, NULL);
        ck_assert_int_eq(st, len < 112 ? OWP_ERR_FORMAT : OWP_ERR_PROTO);
        uint32_t seq;
        owp_num64 ts;
        uint16_t er;
        st = owp_tw_sender_open(tc, OWP_MODE_ENCRYPTED, buf, len, &seq, &ts, &er, NULL);
        ck_assert_int_eq(st, len < 48 ? OWP_ERR_FORMAT : OWP_ERR_PROTO);
    }
    ck_assert_int_eq(owp_tw_reflect_open(NULL, OWP_MODE_OPEN, buf, 40, &m, NULL), OWP_ERR_FORMAT);
    ck_assert_int_eq(owp_tw_reflect_open(NULL, OWP_MODE_AUTH, buf, 112, &m, NULL),
                     OWP_ERR_INVALID);
    owp_tw_crypt_destroy(&tc);
}
END_TEST

/* Mixed mode (8) is TWAMP's: twping -A and twampd's authmode take M, and a
 * Set-Up-Response choosing it decodes only where it is known. */
START_TEST(test_mixed_mode)
{
    uint32_t m = 0;
    owp_err e;
    ck_assert_int_eq(owp_parse_authmode_twamp("AEMO", &m, &e), OWP_OK);
    ck_assert_uint_eq(m, 15);
    ck_assert_int_eq(owp_parse_authmode("M", &m, &e), OWP_ERR_PARSE);
    owp_setup_response sr;
    memset(&sr, 0, sizeof sr);
    sr.mode = OWP_MODE_MIXED;
    uint8_t buf[OWP_SETUP_RESPONSE_LEN];
    owp_wire_encode_setup_response(&sr, buf);
    ck_assert_int_eq(owp_wire_decode_setup_response(buf, &sr, NULL), OWP_ERR_PROTO);
    ck_assert_int_eq(owp_wire_decode_setup_response_modes(buf, 15, &sr, &e), OWP_OK);
    ck_assert_uint_eq(sr.mode, OWP_MODE_MIXED);
    owp_put32(buf, OWP_MODE_MIXED | OWP_MODE_OPEN); /* never two at once */
    ck_assert_int_eq(owp_wire_decode_setup_response_modes(buf, 15, &sr, NULL), OWP_ERR_PROTO);
}
END_TEST

/* ---- statistics ---- */

static owp_num64 sec(double s) { return owp_num64_from_double(s); }

/* Record i: T1 = 100 + i, send (i+1) ms, processing 0.1 ms, reflect 2 ms. */
static void make_records(owp_tw_record *r, uint32_t n)
{
    memset(r, 0, n * sizeof *r);
    for (uint32_t i = 0; i < n; i++) {
        double t1 = 100 + i, t2 = t1 + (i + 1) * 1e-3, t3 = t2 + 1e-4, t4 = t3 + 2e-3;
        r[i].fwd = (owp_record){.seq = i, .send_time = sec(t1), .recv_time = sec(t2),
                                .send_err = 1, .recv_err = 1, .ttl = 254};
        r[i].bck = (owp_record){.seq = i, .send_time = sec(t3), .recv_time = sec(t4),
                                .send_err = 1, .recv_err = 1, .ttl = 255};
    }
}

START_TEST(test_stats)
{
    owp_tw_record r[11];
    make_records(r, 10);
    r[4].fwd.recv_time = 0; /* lost */
    r[10] = r[2];
    r[10].bck.seq = 100; /* packet 2 answered again: a send duplicate */
    owp_tw_stats s;
    owp_tw_range range = {.first = 0, .last = 10};
    ck_assert_int_eq(owp_tw_stats_compute(r, 11, &range, 0, &s, NULL), OWP_OK);
    ck_assert_uint_eq(s.sent, 10);
    ck_assert_uint_eq(s.lost, 1);
    ck_assert_uint_eq(s.received, 9);
    ck_assert_uint_eq(s.send_dups, 1);
    ck_assert_int_eq(s.sync, 0);
    ck_assert_double_eq_tol(s.min[1], 1e-3, 1e-8);
    ck_assert_double_eq_tol(s.max[1], 10e-3, 1e-8);
    ck_assert_double_eq_tol(s.min[0], 3e-3, 1e-8);
    ck_assert_double_eq_tol(s.max[3], 1e-4, 1e-8);
    /* Exact median of send times {1,2,3,4,6,7,8,9,10} ms: the 5th, 6 ms. */
    ck_assert_double_eq_tol(s.median_exact[1], 6e-3, 1e-8);
    ck_assert_double_eq_tol(s.maxerr, 4 * ldexp(1, -32), 1e-15);
    ck_assert_uint_eq(s.ttl_fwd[254], 9);
    double v;
    ck_assert(owp_tw_stats_rtt_percentile(&s, 1.0, &v));
    ck_assert_double_eq_tol(v, 12e-3, 1e-8);
    owp_tw_stats_clear(&s);
}
END_TEST

static char *report_text(const owp_tw_report_opts *o, owp_tw_record *r, uint32_t n)
{
    owp_request req;
    memset(&req, 0, sizeof req);
    owp_slot slot = {.type = OWP_SLOT_EXP, .value = sec(0.01)}; /* the summaries' schedule */
    req.nslots = 1;
    req.slots = &slot;
    req.sender_port = 19069;
    req.receiver_port = 19864;
    req.npackets = n;
    req.padding = 27;
    owp_tw_session_info info = {.req = &req, .from_host = "localhost", .from_addr = "127.0.0.1",
                                .to_host = "127.0.0.1", .to_addr = "127.0.0.1", .finished = 1};
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    ck_assert_int_eq(owp_tw_report(fp, &info, r, n, o, NULL), OWP_OK);
    fclose(fp);
    return text;
}

/* The summary's lines in the reference's order and words. */
START_TEST(test_report_formats)
{
    owp_tw_record r[20];
    make_records(r, 20);
    owp_tw_report_opts o = {.units = 'm'};
    char *t = report_text(&o, r, 20);
    const char *order[] = {"\n--- twping statistics from [localhost]:19069 to [127.0.0.1]:19864 ---\nSID:\t",
                           "\nfirst:\t", "\nlast:\t",
                           "\n20 sent, 0 lost (0.000%), 0 send duplicates, 0 reflect duplicates\n",
                           "round-trip time min/median/max = 3/", " ms, (err=9.31e-07 ms)\n",
                           "send time min/median/max = 1/", "reflect time min/median/max = 2/2/2 ms, (err=4.66e-07 ms)\n",
                           "reflector processing time min/max = 0.1/0.1 ms\n",
                           "two-way jitter = ", "send jitter = ", "reflect jitter = 0 ms (P95-P50)\n",
                           "send hops = 1 (consistently)\nreflect hops = 0 (consistently)\n\n"};
    const char *p = t;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *q = strstr(p, order[i]);
        ck_assert_msg(q != NULL, "missing or out of order: %s\nin:\n%s", order[i], t);
        p = q + strlen(order[i]);
    }
    free(t);
    o.machine = 1;
    t = report_text(&o, r, 20);
    ck_assert_ptr_nonnull(strstr(t, "SUMMARY\t3.00\nSID\t"));
    ck_assert_ptr_nonnull(strstr(t, "MAXERR\t9.31323e-10\nMAXERR_FWD\t4.65661e-10\n"));
    ck_assert_ptr_nonnull(strstr(t, "DUPS_FWD\t0\nDUPS_BCK\t0\nLOST\t0\nMIN\t"));
    ck_assert_ptr_nonnull(strstr(t, "MINTTL_FWD\t254\nMAXTTL_FWD\t254\nMINTTL_BCK\t255\n"));
    ck_assert_ptr_nonnull(strstr(t, "<TTLBUCKETS>\n\t254\t20\t0\n\t255\t0\t20\n</TTLBUCKETS>\n\n"));
    free(t);
    o.machine = 0;
    o.raw = 1;
    t = report_text(&o, r, 2);
    ck_assert_ptr_nonnull(strstr(t, "0 "));
    ck_assert_int_eq((int)(strchr(t, '\n') - t) > 0, 1);
    int fields = 1;
    for (const char *c = t; *c != '\n'; c++)
        fields += *c == ' ';
    ck_assert_int_eq(fields, 16);
    free(t);
    o.raw = 0;
    o.sub_count = 10;
    t = report_text(&o, r, 20);
    int blocks = 0;
    for (const char *c = t; (c = strstr(c, "--- twping statistics")); c++)
        blocks++;
    ck_assert_int_eq(blocks, 2);
    free(t);
}
END_TEST

static Suite *twamp_suite(void)
{
    Suite *s = suite_create("twamp");
    TCase *tc = tcase_create("wire");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_request_tw_session_vectors);
    tcase_add_test(tc, test_accept_session_vectors);
    tcase_add_test(tc, test_session_keys_vectors);
    tcase_add_test(tc, test_test_packet_vectors);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_request_refusals);
    tcase_add_test(tc, test_hostile_packets);
    tcase_add_test(tc, test_mixed_mode);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("stats");
    tcase_add_test(st, test_stats);
    tcase_add_test(st, test_report_formats);
    suite_add_tcase(s, st);
    return s;
}

int main(void) { return tu_run_suite(twamp_suite()); }
