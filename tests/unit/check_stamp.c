/* check_stamp.c - STAMP (RFC 8762, RFC 8972): every base packet layout
 * against octets written out by hand from the RFC figures, the HMAC against
 * RFC 4231's known answer and against HMACs computed outside this code
 * (Python's hmac module), every TLV the sender writes, the reflector's
 * answer to each TLV (U, M and I flags included), reading the answers, short
 * and malformed packets refused with their reason. The policy and the
 * reflector's decisions are check_stamp_reflector.c's. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "bytes.h"
#include "stamp_tlv.h"
#include "stamp_wire.h"
#include "testutil.h"

/* The test key: octets 0x00..0x1f. */
static owp_stamp_key *test_key(void)
{
    uint8_t k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)i;
    owp_stamp_key *key = owp_stamp_key_new(k, sizeof k, NULL);
    ck_assert_ptr_nonnull(key);
    return key;
}

static void assert_sender(const owp_stamp_sender *d, const owp_stamp_sender *m)
{
    ck_assert_uint_eq(d->seq, m->seq);
    ck_assert_uint_eq(d->timestamp, m->timestamp);
    ck_assert_uint_eq(d->errest, m->errest);
    ck_assert_uint_eq(d->ssid, m->ssid);
}

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[512];
    long n = tu_hex_decode(hex, want, sizeof want);
    ck_assert_int_eq(n, (long)len);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(got[i] == want[i], "octet %zu: %02x, want %02x", i, got[i], want[i]);
}

/* ------------------------------------------------------------ HMAC and keys */

START_TEST(hmac_known_answer)
{
    /* RFC 4231 test case 2, truncated to 128 bits. */
    owp_stamp_key *key = owp_stamp_key_new((const uint8_t *)"Jefe", 4, NULL);
    const char *data = "what do ya want for nothing?";
    uint8_t out[16];
    ck_assert_int_eq(owp_stamp_hmac(key, (const uint8_t *)data, 10, (const uint8_t *)data + 10,
                                    strlen(data) - 10, out, NULL), OWP_OK);
    assert_hex(out, 16, "5bdcc146bf60754e6a042426089575c7");
    owp_stamp_key *copy = owp_stamp_key_dup(key, NULL);
    uint8_t again[16];
    ck_assert_int_eq(owp_stamp_hmac(copy, (const uint8_t *)data, strlen(data), NULL, 0, again,
                                    NULL), OWP_OK);
    ck_assert_mem_eq(out, again, 16);
    owp_stamp_key_destroy(&copy);
    owp_stamp_key_destroy(&key);
}
END_TEST

START_TEST(key_file)
{
    char *path = tu_write_file(tu_dir, "stamp.keys",
                               "# STAMP keys\nalice\t0001020304050607\nbob zz\n");
    owp_err err;
    owp_stamp_key *key = owp_stamp_key_load(path, "alice", &err);
    ck_assert_msg(key != NULL, "%s", err.msg);
    owp_stamp_key_destroy(&key);
    ck_assert_ptr_null(owp_stamp_key_load(path, "carol", &err));
    ck_assert_msg(strstr(err.msg, "carol"), "%s", err.msg);
    ck_assert_ptr_null(owp_stamp_key_load(path, "bob", &err));
    ck_assert_msg(strstr(err.msg, ":3:"), "names the line: %s", err.msg);
    ck_assert_ptr_null(owp_stamp_key_new((const uint8_t *)"", 0, &err));
    free(path);
}
END_TEST

/* ------------------------------------------------------------ base packets */

START_TEST(sender_open_layout)
{
    uint8_t buf[44];
    owp_stamp_sender m = {.seq = 0x01020304, .timestamp = 0x1122334455667788ull,
                          .errest = 0x8001, .ssid = 0xBEEF};
    memset(buf, 0xAA, sizeof buf);
    ck_assert_int_eq(owp_stamp_sender_encode(OWP_MODE_OPEN, NULL, &m, buf, 44, NULL), OWP_OK);
    assert_hex(buf, 44, "01020304" "1122334455667788" "8001" "beef"
                        "00000000000000000000000000000000000000000000000000000000");
    owp_stamp_sender d;
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_OPEN, NULL, buf, 44, &d, NULL), OWP_OK);
    assert_sender(&d, &m);
    /* A TWAMP-Light packet: no SSID before octet 16. */
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_OPEN, NULL, buf, 14, &d, NULL), OWP_OK);
    ck_assert_uint_eq(d.ssid, 0);
    ck_assert_uint_eq(d.seq, 0x01020304);
    owp_err err;
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_OPEN, NULL, buf, 13, &d, &err),
                     OWP_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "13 octets"), "%s", err.msg);
}
END_TEST

START_TEST(sender_auth_layout)
{
    owp_stamp_key *key = test_key();
    uint8_t buf[112];
    owp_stamp_sender m = {.seq = 7, .timestamp = 0x1122334455667788ull, .errest = 0x8001,
                          .ssid = 0x0102};
    ck_assert_int_eq(owp_stamp_sender_encode(OWP_MODE_AUTH, key, &m, buf, 112, NULL), OWP_OK);
    uint8_t head[28];
    tu_hex_decode("00000007" "000000000000000000000000" "1122334455667788" "8001" "0102",
                  head, sizeof head);
    ck_assert_mem_eq(buf, head, 28);
    for (int i = 28; i < 96; i++)
        ck_assert_uint_eq(buf[i], 0);
    assert_hex(buf + 96, 16, "0c775173e114977e970ab2a68037c6bb"); /* Python's hmac */
    owp_stamp_sender d;
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_AUTH, key, buf, 112, &d, NULL), OWP_OK);
    assert_sender(&d, &m);
    owp_err err;
    buf[20] ^= 1;
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_AUTH, key, buf, 112, &d, &err),
                     OWP_ERR_PROTO);
    ck_assert_msg(strstr(err.msg, "bad HMAC"), "%s", err.msg);
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_AUTH, key, buf, 111, &d, &err),
                     OWP_ERR_FORMAT);
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_AUTH, NULL, buf, 112, &d, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_stamp_sender_decode(OWP_MODE_ENCRYPTED, key, buf, 112, &d, &err),
                     OWP_ERR_INVALID);
    owp_stamp_key_destroy(&key);
}
END_TEST

static const owp_stamp_reflected REFLECTED = {
    .seq = 9, .ssid = 0x0102, .recv_time = 0x1111111122222222ull, .sender_seq = 7,
    .sender_time = 0x1122334455667788ull, .sender_errest = 0x8001, .sender_ttl = 64,
};

START_TEST(reflected_open_layout)
{
    uint8_t buf[44];
    memset(buf, 0xAA, sizeof buf);
    ck_assert_int_eq(owp_stamp_reflected_prepare(OWP_MODE_OPEN, &REFLECTED, buf, 44, NULL),
                     OWP_OK);
    ck_assert_int_eq(owp_stamp_reflected_seal(OWP_MODE_OPEN, NULL, 0x2222222233333333ull, 0x8002,
                                              buf, 44, NULL), OWP_OK);
    assert_hex(buf, 44, "00000009" "2222222233333333" "8002" "0102" "1111111122222222"
                        "00000007" "1122334455667788" "8001" "0000" "40" "000000");
    owp_stamp_reflected d;
    ck_assert_int_eq(owp_stamp_reflected_decode(OWP_MODE_OPEN, NULL, buf, 44, &d, NULL), OWP_OK);
    ck_assert_uint_eq(d.seq, 9);
    ck_assert_uint_eq(d.timestamp, 0x2222222233333333ull);
    ck_assert_uint_eq(d.ssid, 0x0102);
    ck_assert_uint_eq(d.recv_time, REFLECTED.recv_time);
    ck_assert_uint_eq(d.sender_ttl, 64);
    /* TWAMP-Light: the layout cut to a 41-octet request; nothing but MBZ lost. */
    uint8_t light[41];
    ck_assert_int_eq(owp_stamp_reflected_prepare(OWP_MODE_OPEN, &REFLECTED, light, 41, NULL),
                     OWP_OK);
    ck_assert_mem_eq(light + 16, buf + 16, 25);
    ck_assert_int_eq(owp_stamp_reflected_prepare(OWP_MODE_OPEN, &REFLECTED, light, 40, NULL),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_stamp_reflected_decode(OWP_MODE_OPEN, NULL, buf, 43, &d, NULL),
                     OWP_ERR_FORMAT);
}
END_TEST

START_TEST(reflected_auth_layout)
{
    owp_stamp_key *key = test_key();
    uint8_t buf[112];
    ck_assert_int_eq(owp_stamp_reflected_prepare(OWP_MODE_AUTH, &REFLECTED, buf, 112, NULL),
                     OWP_OK);
    ck_assert_int_eq(owp_stamp_reflected_seal(OWP_MODE_AUTH, key, 0x2222222233333333ull, 0x8002,
                                              buf, 112, NULL), OWP_OK);
    assert_hex(buf, 96, "00000009" "000000000000000000000000" "2222222233333333" "8002" "0102"
                        "00000000" "1111111122222222" "0000000000000000" "00000007"
                        "000000000000000000000000" "1122334455667788" "8001" "000000000000"
                        "40" "000000000000000000000000000000");
    assert_hex(buf + 96, 16, "59ff83b65d97b2ff1b4f33f19473d6fd"); /* Python's hmac */
    owp_stamp_reflected d;
    ck_assert_int_eq(owp_stamp_reflected_decode(OWP_MODE_AUTH, key, buf, 112, &d, NULL), OWP_OK);
    ck_assert_uint_eq(d.sender_time, REFLECTED.sender_time);
    ck_assert_uint_eq(d.ssid, 0x0102);
    buf[40] ^= 0x80;
    ck_assert_int_eq(owp_stamp_reflected_decode(OWP_MODE_AUTH, key, buf, 112, &d, NULL),
                     OWP_ERR_PROTO);
    owp_stamp_key_destroy(&key);
}
END_TEST

/* ------------------------------------------------------------ the sender's TLVs */

static size_t encode_request(const owp_stamp_tlv_request *r, owp_stamp_key *key, uint8_t *area)
{
    size_t len = owp_stamp_tlv_request_len(r);
    ck_assert_int_eq(owp_stamp_tlv_request_encode(r, key, 7, 5, area, len, NULL), OWP_OK);
    return len;
}

START_TEST(request_each_tlv)
{
    uint8_t area[256];
    owp_stamp_tlv_request r;
    owp_stamp_tlv_request_none(&r);
    ck_assert_uint_eq(owp_stamp_tlv_request_len(&r), 0);
    r.timestamp_info = 1;
    assert_hex(area, encode_request(&r, NULL, area), "8003000400000000");
    owp_stamp_tlv_request_none(&r);
    r.cos_dscp = 46;
    assert_hex(area, encode_request(&r, NULL, area), "80040004b8000000");
    owp_stamp_tlv_request_none(&r);
    r.direct = 1;
    assert_hex(area, encode_request(&r, NULL, area), "8005000c000000050000000000000000");
    owp_stamp_tlv_request_none(&r);
    r.access_id = 2;
    r.access_return_code = 1;
    assert_hex(area, encode_request(&r, NULL, area), "8006000420010000");
    owp_stamp_tlv_request_none(&r);
    r.follow_up = 1;
    assert_hex(area, encode_request(&r, NULL, area), "80070010" "00000000000000000000000000000000");
    owp_stamp_tlv_request_none(&r);
    r.extra_padding = 3;
    assert_hex(area, encode_request(&r, NULL, area), "80010003000000");
    owp_stamp_tlv_request_none(&r);
    r.location = 1;
    assert_hex(area, encode_request(&r, NULL, area),
               "8002002c" "00000000" "80070010" "00000000000000000000000000000000"
               "80040010" "00000000000000000000000000000000");
}
END_TEST

START_TEST(request_hmac_last_but_padding)
{
    owp_stamp_key *key = test_key();
    owp_stamp_tlv_request r;
    owp_stamp_tlv_request_none(&r);
    r.timestamp_info = 1;
    r.hmac = 1;
    r.extra_padding = 2;
    uint8_t area[64];
    size_t len = encode_request(&r, key, area);
    /* Over seq 7 and the TLV before it (Python's hmac); padding after, uncovered. */
    assert_hex(area, len, "8003000400000000" "80080010" "84f4715e335150acde9cc5e49f15f137"
                          "800100020000");
    owp_err err;
    ck_assert_int_eq(owp_stamp_tlv_request_encode(&r, NULL, 7, 5, area, len, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_stamp_tlv_request_encode(&r, key, 7, 5, area, len - 1, &err),
                     OWP_ERR_INVALID);
    owp_stamp_key_destroy(&key);
}
END_TEST

/* ------------------------------------------------------------ walking */

START_TEST(walk_padding_and_overrun)
{
    uint8_t area[] = {0x80, 0x03, 0x00, 0x04, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0};
    owp_stamp_tlv_walk w;
    owp_stamp_tlv t;
    owp_stamp_tlv_walk_init(&w, area, sizeof area);
    ck_assert_int_eq(owp_stamp_tlv_next(&w, &t, NULL), 1);
    ck_assert_uint_eq(t.type, 3);
    ck_assert_uint_eq(t.length, 4);
    ck_assert_int_eq(owp_stamp_tlv_next(&w, &t, NULL), 0); /* zero octets: padding */
    area[3] = 40;
    owp_err why;
    owp_stamp_tlv_walk_init(&w, area, sizeof area);
    ck_assert_int_eq(owp_stamp_tlv_next(&w, &t, &why), -1);
    ck_assert_msg(strstr(why.msg, "Timestamp Information TLV at octet 0: Length 40"), "%s",
                  why.msg);
    uint8_t stub[] = {0x80, 0x01};
    owp_stamp_tlv_walk_init(&w, stub, sizeof stub);
    ck_assert_int_eq(owp_stamp_tlv_next(&w, &t, &why), -1);
    ck_assert_msg(strstr(why.msg, "2 octets left"), "%s", why.msg);
    ck_assert_int_eq(owp_stamp_tlv_length_valid(OWP_STAMP_TLV_COS, 3), 0);
    ck_assert_int_eq(owp_stamp_tlv_length_valid(200, 3), -1);
}
END_TEST

/* ------------------------------------------------------------ the reflector's answers */

static struct sockaddr_in v4(const char *addr, uint16_t port)
{
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, addr, &s.sin_addr);
    return s;
}

typedef struct answer_case {
    struct sockaddr_in src, dst;
    owp_stamp_tlv_ctx ctx;
    owp_stamp_tlv_result res;
    uint8_t out[256];
} answer_case;

static void answer_setup(answer_case *a)
{
    memset(a, 0, sizeof *a);
    a->src = v4("192.0.2.1", 4000);
    a->dst = v4("198.51.100.7", 862);
    a->ctx = (owp_stamp_tlv_ctx){
        .src = (struct sockaddr *)&a->src, .src_len = sizeof a->src,
        .dst = (struct sockaddr *)&a->dst, .dst_len = sizeof a->dst, .tos = 0xB9,
        .rx_count = 3, .tx_count = 3, .dscp_allowed = UINT64_MAX,
    };
}

static void answer_hex(answer_case *a, const char *request_hex, const char *want_hex)
{
    uint8_t in[256];
    long n = tu_hex_decode(request_hex, in, sizeof in);
    ck_assert_int_ge(n, 0);
    ck_assert_int_eq(owp_stamp_tlv_answer(&a->ctx, in, (size_t)n, 7, 7, a->out, sizeof a->out,
                                          &a->res, NULL), OWP_OK);
    assert_hex(a->out, a->res.reply_len, want_hex);
}

START_TEST(answer_values)
{
    answer_case a;
    answer_setup(&a);
    /* Timestamp Information (unsynchronized: local clock, software stamps),
     * Class of Service (DSCP1 46 used; arrived as DSCP 46 ECN 1), Direct
     * Measurement, Access Report, an unknown type (U), Extra Padding. */
    answer_hex(&a,
               "8003000400000000" "80040004b8000000" "8005000c000000030000000000000000"
               "8006000410010000" "80c800020102" "800100020000",
               "0003000405020502" "00040004bae40000" "0005000c000000030000000300000003"
               "0006000410010000" "80c800020102" "000100020000");
    ck_assert_int_eq(a.res.reply_dscp, 46);
    ck_assert_uint_eq(a.res.unrecognized, 1);
    ck_assert_uint_eq(a.res.count, 6);
}
END_TEST

START_TEST(answer_location)
{
    answer_case a;
    answer_setup(&a);
    answer_hex(&a,
               "8002002c00000000" "80070010" "00000000000000000000000000000000"
               "80040010" "00000000000000000000000000000000",
               "0002002c035e0fa0" "00080010" "c0000201000000000000000000000000"
               "00050010" "c6336407000000000000000000000000");
    /* A MAC sub-TLV (unknown to a UDP socket: U) and a sub-TLV of a wrong length (M). */
    answer_hex(&a, "80020016" "00000000" "80010008" "0000000000000000" "80070002" "0000",
               "40020016" "035e0fa0" "80010008" "0000000000000000" "40070002" "0000");
    ck_assert_uint_eq(a.res.malformed, 1);
}
END_TEST

START_TEST(answer_malformed)
{
    answer_case a;
    answer_setup(&a);
    /* A Class of Service TLV of 3 octets: M, and the walk goes on; then a TLV
     * whose Length runs past the end: M, the rest copied as it came. */
    answer_hex(&a, "80040003000000" "8003000400000000" "800300c80102",
               "40040003000000" "0003000405020502" "400300c80102");
    ck_assert_uint_eq(a.res.malformed, 2);
    ck_assert_int_eq(a.res.reply_dscp, -1);
    /* An Access Report with an ID that does not exist is discarded: U. */
    answer_hex(&a, "8006000430010000", "8006000430010000");
    ck_assert_uint_eq(a.res.unrecognized, 1);
}
END_TEST

START_TEST(answer_cos_refused_and_follow_up)
{
    answer_case a;
    answer_setup(&a);
    a.ctx.dscp_allowed = 0;
    answer_hex(&a, "80040004b8000000", "00040004bae50000"); /* RP 1 */
    ck_assert_int_eq(a.res.reply_dscp, -1);
    answer_hex(&a, "80070010" "ffffffffffffffffffffffffffffffff",
               "00070010" "00000000000000000000000000000000"); /* stateless: zero */
    a.ctx.stateful = a.ctx.have_last = 1;
    a.ctx.last_seq = 4;
    a.ctx.last_time = 0x0102030405060708ull;
    answer_hex(&a, "80070010" "00000000000000000000000000000000",
               "00070010" "00000004" "0102030405060708" "02000000");
}
END_TEST

START_TEST(answer_hmac)
{
    answer_case a;
    answer_setup(&a);
    a.ctx.key = test_key();
    const char *ts = "8003000400000000", *ts_answer = "0003000405020502";
    char req[128], want[128];
    snprintf(req, sizeof req, "%s%s", ts, "80080010" "84f4715e335150acde9cc5e49f15f137");
    /* Verified; the answer's own HMAC over seq 7 and the answered TLV (Python's hmac). */
    snprintf(want, sizeof want, "%s%s", ts_answer, "00080010" "3e925f61e166e2e8bbd1dd09a5138406");
    answer_hex(&a, req, want);
    ck_assert_int_eq(a.res.integrity_failed, 0);
    /* A wrong HMAC: I on every TLV, the HMAC echoed. */
    answer_hex(&a, "8003000400000000" "80080010" "84f4715e335150acde9cc5e49f15f138",
               "2003000405020502" "20080010" "84f4715e335150acde9cc5e49f15f138");
    ck_assert_int_eq(a.res.integrity_failed, 1);
    /* Misplaced: only Extra Padding may follow the HMAC TLV. */
    answer_hex(&a, "80080010" "84f4715e335150acde9cc5e49f15f137" "8003000400000000",
               "20080010" "84f4715e335150acde9cc5e49f15f137" "2003000405020502");
    ck_assert_int_eq(a.res.integrity_failed, 1);
    /* Authenticated mode without an HMAC TLV: I; with the growth allowed the
     * answer carries an HMAC TLV of its own, 20 octets more. */
    a.ctx.authenticated = 1;
    answer_hex(&a, ts, "2003000405020502");
    ck_assert_int_eq(a.res.hmac_added, 0);
    a.ctx.growth_allowed = 20;
    answer_hex(&a, ts, "2003000405020502" "00080010" "3fc393743023419caf2eba1da6337784");
    ck_assert_int_eq(a.res.hmac_added, 1);
    ck_assert_uint_eq(a.res.reply_len, 28);
    /* Extra Padding alone needs no HMAC TLV. */
    answer_hex(&a, "800100020000", "000100020000");
    ck_assert_int_eq(a.res.integrity_failed, 0);
    owp_stamp_key_destroy(&a.ctx.key);
}
END_TEST

START_TEST(read_answers)
{
    owp_stamp_key *key = test_key();
    uint8_t area[256];
    long n = tu_hex_decode("0002002c035e0fa0" "00080010" "c0000201000000000000000000000000"
                           "00050010" "c6336407000000000000000000000000"
                           "0003000401020102" "00040004bae50000"
                           "0005000c000000030000000400000005" "0006000420020000"
                           "00070010" "00000004" "0102030405060708" "02000000" "80c800020102"
                           "00080010" "00000000000000000000000000000000",
                           area, sizeof area);
    owp_stamp_tlv_answers a;
    ck_assert_int_eq(owp_stamp_tlv_read_answers(area, (size_t)n, key, 7, &a, NULL), OWP_OK);
    ck_assert_uint_eq(a.count, 8);
    ck_assert_uint_eq(a.unrecognized, 1);
    ck_assert_int_eq(a.hmac_present, 1);
    ck_assert_int_eq(a.hmac_ok, 0);
    ck_assert_uint_eq(a.loc_dst_port, 862);
    ck_assert_uint_eq(a.loc_src_port, 4000);
    ck_assert_int_eq(a.loc_src_family, AF_INET);
    ck_assert_mem_eq(a.loc_dst, "\xc6\x33\x64\x07", 4);
    ck_assert_uint_eq(a.sync_in, 1);
    ck_assert_uint_eq(a.ts_out, 2);
    ck_assert_uint_eq(a.dscp1, 46);
    ck_assert_uint_eq(a.dscp2, 46);
    ck_assert_uint_eq(a.ecn, 1);
    ck_assert_uint_eq(a.rp, 1);
    ck_assert_uint_eq(a.r_rxc, 4);
    ck_assert_uint_eq(a.r_txc, 5);
    ck_assert_uint_eq(a.access_id, 2);
    ck_assert_uint_eq(a.return_code, 2);
    ck_assert_uint_eq(a.follow_up_seq, 4);
    ck_assert_uint_eq(a.follow_up_time, 0x0102030405060708ull);
    ck_assert_uint_eq(a.follow_up_mode, OWP_STAMP_TS_SW);
    owp_err err;
    ck_assert_int_eq(owp_stamp_tlv_read_answers(area, 20, key, 7, &a, &err), OWP_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "Location TLV"), "%s", err.msg);
    owp_stamp_key_destroy(&key);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stamp");
    TCase *tc = tcase_create("wire");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, hmac_known_answer);
    tcase_add_test(tc, key_file);
    tcase_add_test(tc, sender_open_layout);
    tcase_add_test(tc, sender_auth_layout);
    tcase_add_test(tc, reflected_open_layout);
    tcase_add_test(tc, reflected_auth_layout);
    suite_add_tcase(s, tc);
    tc = tcase_create("tlv");
    tcase_add_test(tc, request_each_tlv);
    tcase_add_test(tc, request_hmac_last_but_padding);
    tcase_add_test(tc, walk_padding_and_overrun);
    tcase_add_test(tc, answer_values);
    tcase_add_test(tc, answer_location);
    tcase_add_test(tc, answer_malformed);
    tcase_add_test(tc, answer_cos_refused_and_follow_up);
    tcase_add_test(tc, answer_hmac);
    tcase_add_test(tc, read_answers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
