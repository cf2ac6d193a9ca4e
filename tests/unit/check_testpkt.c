/* check_testpkt.c - OWAMP-Test packets against every test packet of the
 * reference captures, and the tests' pcap reader on rewritten copies of them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "pcap.h"
#include "testpkt.h"
#include "testutil.h"

#define CONTROL_PORT 8861

static const char *const captures[] = {"open", "auth", "enc", "ipv6-open", "skips-open"};
#define NCAPTURES (sizeof captures / sizeof captures[0])

static tu_pcap *load_capture(const char *name)
{
    char rel[64];
    snprintf(rel, sizeof rel, "pcap/%s.pcap", name);
    char *path = tu_vector_path(rel);
    tu_pcap *cap = tu_pcap_load(path);
    free(path);
    return cap;
}

static json_t *load_transcript(const char *name)
{
    char rel[64];
    snprintf(rel, sizeof rel, "pcap/%s.decoded.json", name);
    return tu_load_json(rel);
}

static json_t *setup_response(json_t *root)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(root, "control"), i, m)
        if (strcmp(json_string_value(json_object_get(m, "msg")), "Set-Up-Response") == 0)
            return m;
    ck_abort_msg("transcript has no Set-Up-Response");
    return NULL;
}

/* The UDP packets of a capture, in capture order. */
static size_t udp_packets(const tu_pcap *cap, const tu_packet **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < tu_pcap_count(cap); i++) {
        const tu_packet *p = tu_pcap_get(cap, i);
        if (p->proto == 17) {
            ck_assert_uint_lt(n, max);
            out[n++] = p;
        }
    }
    return n;
}

/* A capture with its transcript: the session mode, the transcript's test
 * packets and the capture's UDP packets, which must come in the same order. */
typedef struct capture {
    json_t *root, *setup, *tests;
    owp_mode mode;
    tu_pcap *cap;
    const tu_packet *udp[512];
    size_t n;
} capture;

static void capture_open(capture *c, const char *name)
{
    c->root = load_transcript(name);
    c->setup = setup_response(c->root);
    c->mode = (owp_mode)json_integer_value(json_object_get(c->setup, "mode"));
    c->tests = json_object_get(c->root, "test");
    c->cap = load_capture(name);
    c->n = udp_packets(c->cap, c->udp, 512);
}

static void capture_close(capture *c)
{
    tu_pcap_free(&c->cap);
    ck_assert_ptr_null(c->cap);
    json_decref(c->root);
}

/* Test keys of the session a packet belongs to, from the transcript's
 * session keys and the packet's SID. */
static owp_testcrypt *session_crypt(owp_mode mode, json_t *setup, json_t *pkt)
{
    uint8_t aes[16], hmac[32], sid[16], taes[16], thmac[32];
    tu_json_hex(setup, "aes_session_key", aes, sizeof aes);
    tu_json_hex(setup, "hmac_session_key", hmac, sizeof hmac);
    tu_json_hex(pkt, "sid", sid, sizeof sid);
    owp_err err = {0};
    ck_assert_int_eq(owp_test_session_keys(sid, aes, hmac, taes, thmac, &err), OWP_OK);
    owp_testcrypt *tc = owp_testcrypt_new(mode, taes, thmac, &err);
    ck_assert_msg(tc != NULL, "%s", err.msg);
    return tc;
}

static uint64_t json_hex64_in(json_t *obj, const char *outer)
{
    return tu_json_hex64(json_object_get(obj, outer), "hex");
}

static uint16_t json_errest(json_t *pkt)
{
    uint8_t b[2];
    ck_assert_uint_eq(tu_json_hex(json_object_get(pkt, "errest"), "hex", b, 2), 2);
    return owp_get16(b);
}

/* ---- every captured test packet ------------------------------------------- */

START_TEST(capture_packets_decode_and_reseal)
{
    const char *name = captures[_i];
    capture c;
    capture_open(&c, name);
    owp_mode mode = c.mode;
    ck_assert_msg(c.n == json_array_size(c.tests), "%s: %zu UDP packets, transcript has %zu", name,
                  c.n, json_array_size(c.tests));
    ck_assert_uint_gt(c.n, 0);

    for (size_t i = 0; i < c.n; i++) {
        json_t *want = json_array_get(c.tests, i);
        const tu_packet *p = c.udp[i];
        ck_assert_int_eq(p->sport, json_integer_value(json_object_get(want, "sport")));
        ck_assert_int_eq(p->dport, json_integer_value(json_object_get(want, "dport")));
        ck_assert_uint_eq(p->len, (size_t)json_integer_value(json_object_get(want, "len")));
        ck_assert_uint_eq(p->ttl, 255); /* the reference sends test packets with TTL 255 */
        owp_testcrypt *tc = mode == OWP_MODE_OPEN ? NULL : session_crypt(mode, c.setup, want);

        uint8_t buf[OWP_TESTPKT_MAX];
        memcpy(buf, p->payload, p->len);
        uint32_t seq;
        owp_num64 ts;
        uint16_t errest;
        owp_err err = {0};
        ck_assert_msg(owp_testpkt_open(tc, mode, buf, p->len, &seq, &ts, &errest, &err) == OWP_OK,
                      "%s packet %zu: %s", name, i, err.msg);
        ck_assert_uint_eq(seq, (uintmax_t)json_integer_value(json_object_get(want, "seq")));
        ck_assert_uint_eq(ts, json_hex64_in(want, "timestamp"));
        ck_assert_uint_eq(errest, json_errest(want));

        /* Re-seal the decoded fields: the same bytes must come out. Padding
         * is random by design, so take the captured one. */
        uint8_t again[OWP_TESTPKT_MAX];
        ck_assert_int_eq(owp_testpkt_prepare(mode, seq, again, p->len, &err), OWP_OK);
        size_t head = mode == OWP_MODE_OPEN ? OWP_TESTPKT_OPEN_MIN : OWP_TESTPKT_AUTH_MIN;
        memcpy(again + head, p->payload + head, p->len - head);
        ck_assert_int_eq(owp_testpkt_seal(tc, mode, ts, errest, again, p->len, &err), OWP_OK);
        ck_assert_msg(memcmp(again, p->payload, p->len) == 0, "%s packet %zu: re-seal differs",
                      name, i);
        owp_testcrypt_destroy(&tc);
        ck_assert_ptr_null(tc);
    }
    capture_close(&c);
}
END_TEST

/* Which bytes of an A/E packet does the HMAC protect? The encrypted blocks
 * and the HMAC field itself; in mode A the timestamp block is not covered
 * (the reference's reading of RFC 4656 section 4.1.2). */
static int byte_protected(owp_mode mode, size_t off)
{
    if (off >= 32 && off < 48)
        return 1;
    return mode == OWP_MODE_AUTH ? off < 16 : off < 32;
}

START_TEST(capture_packets_tampered)
{
    const char *name = captures[1 + _i]; /* auth, enc */
    capture c;
    capture_open(&c, name);
    owp_mode mode = c.mode;
    ck_assert(mode == OWP_MODE_AUTH || mode == OWP_MODE_ENCRYPTED);
    json_t *tests = c.tests;
    const tu_packet *const *udp = c.udp;
    size_t n = c.n;

    for (size_t i = 0; i < n; i++) {
        const tu_packet *p = udp[i];
        owp_testcrypt *tc = session_crypt(mode, c.setup, json_array_get(tests, i));
        for (size_t off = 0; off < OWP_TESTPKT_AUTH_MIN; off++) {
            uint8_t buf[OWP_TESTPKT_MAX];
            memcpy(buf, p->payload, p->len);
            buf[off] ^= 0x01;
            owp_err err = {0};
            uint32_t seq;
            owp_num64 ts;
            uint16_t errest;
            owp_status st = owp_testpkt_open(tc, mode, buf, p->len, &seq, &ts, &errest, &err);
            if (byte_protected(mode, off)) {
                ck_assert_msg(st == OWP_ERR_PROTO, "%s packet %zu byte %zu: tamper accepted",
                              name, i, off);
                ck_assert_int_eq(err.code, OWP_ERR_PROTO);
                ck_assert_msg(strstr(err.msg, "bad HMAC") && strncmp(err.msg, "test packet seq ",
                                                                      16) == 0, "%s", err.msg);
            } else {
                ck_assert_int_eq(st, OWP_OK);
            }
        }
        /* The untouched packet still opens with the same context afterwards. */
        uint8_t buf[OWP_TESTPKT_MAX];
        memcpy(buf, p->payload, p->len);
        ck_assert_int_eq(owp_testpkt_open(tc, mode, buf, p->len, NULL, NULL, NULL, NULL), OWP_OK);

        /* A packet of the other session (other keys) fails the HMAC check. */
        if (i + 1 < n && strcmp(json_string_value(json_object_get(json_array_get(tests, i),
                                                                  "sid")),
                                json_string_value(json_object_get(json_array_get(tests, i + 1),
                                                                  "sid"))) != 0) {
            memcpy(buf, udp[i + 1]->payload, udp[i + 1]->len);
            ck_assert_int_eq(owp_testpkt_open(tc, mode, buf, udp[i + 1]->len, NULL, NULL, NULL,
                                              NULL), OWP_ERR_PROTO);
        }
        owp_testcrypt_destroy(&tc);
    }
    capture_close(&c);
}
END_TEST

/* ---- synthetic packets ---------------------------------------------------- */

static owp_testcrypt *fixed_crypt(owp_mode mode)
{
    uint8_t aes[16], hmac[32];
    for (int i = 0; i < 32; i++)
        hmac[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 16; i++)
        aes[i] = (uint8_t)(0x10 * i + 3);
    owp_err err = {0};
    owp_testcrypt *tc = owp_testcrypt_new(mode, aes, hmac, &err);
    ck_assert_ptr_nonnull(tc);
    return tc;
}

static const owp_mode all_modes[] = {OWP_MODE_OPEN, OWP_MODE_AUTH, OWP_MODE_ENCRYPTED};

START_TEST(truncated_packets_rejected)
{
    owp_mode mode = all_modes[_i];
    owp_testcrypt *tc = mode == OWP_MODE_OPEN ? NULL : fixed_crypt(mode);
    size_t min = owp_testpkt_size(mode, 0);
    uint8_t buf[OWP_TESTPKT_AUTH_MIN] = {0};
    for (size_t len = 0; len < min; len++) {
        owp_err err = {0};
        uint8_t *copy = malloc(len + 1); /* exact size, so ASan sees any over-read */
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, buf, len);
        ck_assert_int_eq(owp_testpkt_open(tc, mode, copy, len, NULL, NULL, NULL, &err),
                         OWP_ERR_FORMAT);
        ck_assert(strstr(err.msg, "test packet of") != NULL);
        ck_assert_int_eq(owp_testpkt_seal(tc, mode, 0, 1, copy, len, &err), OWP_ERR_INVALID);
        ck_assert_int_eq(owp_testpkt_prepare(mode, 0, copy, len, &err), OWP_ERR_INVALID);
        free(copy);
    }
    owp_testcrypt_destroy(&tc);
}
END_TEST

START_TEST(round_trip_all_modes)
{
    owp_mode mode = all_modes[_i];
    owp_testcrypt *tx = mode == OWP_MODE_OPEN ? NULL : fixed_crypt(mode);
    owp_testcrypt *rx = mode == OWP_MODE_OPEN ? NULL : fixed_crypt(mode);
    static const uint32_t paddings[] = {0, 1, 15, 16, 200, 1400};
    for (size_t k = 0; k < sizeof paddings / sizeof paddings[0]; k++) {
        size_t len = owp_testpkt_size(mode, paddings[k]);
        size_t head = owp_testpkt_size(mode, 0);
        ck_assert_uint_eq(len, head + paddings[k]);
        uint8_t *buf = malloc(len);
        ck_assert_ptr_nonnull(buf);
        memset(buf, 0xee, len);
        owp_err err = {0};
        uint32_t seq = 0x01020304u + (uint32_t)k;
        ck_assert_int_eq(owp_testpkt_prepare(mode, seq, buf, len, &err), OWP_OK);
        ck_assert_uint_eq(owp_get32(buf), seq);
        for (size_t i = 4; i < head; i++)
            ck_assert_msg(buf[i] == 0, "byte %zu not cleared by prepare", i);
        if (paddings[k] >= 16) {
            int all_same = 1;
            for (size_t i = head + 1; i < len; i++)
                all_same &= buf[i] == buf[head];
            ck_assert_msg(!all_same, "padding is not random");
        }
        owp_num64 ts = 0xeeae670c48d64d7fULL + k;
        ck_assert_int_eq(owp_testpkt_seal(tx, mode, ts, OWP_ERREST_UNSYNC, buf, len, &err),
                         OWP_OK);
        if (mode == OWP_MODE_ENCRYPTED)
            ck_assert_msg(owp_get64(buf + 16) != ts, "timestamp sent in the clear in mode E");
        if (mode == OWP_MODE_AUTH)
            ck_assert_uint_eq(owp_get64(buf + 16), ts); /* A leaves block 1 clear */
        uint32_t got_seq;
        owp_num64 got_ts;
        uint16_t got_errest;
        ck_assert_int_eq(owp_testpkt_open(rx, mode, buf, len, &got_seq, &got_ts, &got_errest,
                                          &err), OWP_OK);
        ck_assert_uint_eq(got_seq, seq);
        ck_assert_uint_eq(got_ts, ts);
        ck_assert_uint_eq(got_errest, OWP_ERREST_UNSYNC);
        free(buf);
    }
    owp_testcrypt_destroy(&tx);
    owp_testcrypt_destroy(&rx);
    owp_testcrypt_destroy(&rx); /* NULL is accepted */
}
END_TEST

START_TEST(open_mode_layout)
{
    uint8_t buf[OWP_TESTPKT_OPEN_MIN];
    owp_err err = {0};
    ck_assert_int_eq(owp_testpkt_prepare(OWP_MODE_OPEN, 7, buf, sizeof buf, &err), OWP_OK);
    ck_assert_int_eq(owp_testpkt_seal(NULL, OWP_MODE_OPEN, 0x1122334455667788ULL, 0x0587, buf,
                                      sizeof buf, &err), OWP_OK);
    static const uint8_t want[] = {0, 0, 0, 7, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x05, 0x87};
    ck_assert(memcmp(buf, want, sizeof want) == 0);
}
END_TEST

START_TEST(invalid_arguments)
{
    owp_err err = {0};
    uint8_t buf[64] = {0};
    ck_assert_uint_eq(owp_testpkt_size((owp_mode)3, 0), 0);
    ck_assert_uint_eq(owp_testpkt_size(OWP_MODE_OPEN, 10), 24);
    ck_assert_uint_eq(owp_testpkt_size(OWP_MODE_ENCRYPTED, 0), 48);
    /* A/E without keys, or with the other mode's keys. */
    ck_assert_int_eq(owp_testpkt_seal(NULL, OWP_MODE_AUTH, 0, 1, buf, 48, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_testpkt_open(NULL, OWP_MODE_ENCRYPTED, buf, 48, NULL, NULL, NULL, &err),
                     OWP_ERR_INVALID);
    owp_testcrypt *tc = fixed_crypt(OWP_MODE_AUTH);
    ck_assert_int_eq(owp_testpkt_seal(tc, OWP_MODE_ENCRYPTED, 0, 1, buf, 48, &err),
                     OWP_ERR_INVALID);
    owp_testcrypt_destroy(&tc);
    ck_assert_int_eq(owp_testpkt_prepare((owp_mode)8, 0, buf, 48, &err), OWP_ERR_INVALID);
    uint8_t k[32] = {0};
    ck_assert_ptr_null(owp_testcrypt_new(OWP_MODE_OPEN, k, k, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
}
END_TEST

/* ---- the pcap reader ------------------------------------------------------- */

/* One record of a capture file as raw bytes, for rewriting. */
typedef struct raw_rec {
    uint32_t sec, usec;
    uint8_t *data;
    size_t len;
} raw_rec;

typedef struct raw_cap {
    raw_rec *recs;
    size_t n;
} raw_cap;

/* The vectors are little-endian µs Ethernet captures; read one as records. */
static raw_cap raw_load(const char *name)
{
    char rel[64];
    snprintf(rel, sizeof rel, "pcap/%s.pcap", name);
    char *path = tu_vector_path(rel);
    size_t size;
    uint8_t *d = (uint8_t *)tu_read_file(path, &size);
    free(path);
    ck_assert_uint_ge(size, 24);
    ck_assert(d[0] == 0xd4 && d[1] == 0xc3 && d[20] == 1);
    raw_cap rc = {calloc(4096, sizeof(raw_rec)), 0};
    ck_assert_ptr_nonnull(rc.recs);
    for (size_t off = 24; off + 16 <= size; rc.n++) {
        ck_assert_uint_lt(rc.n, 4096);
        raw_rec *r = &rc.recs[rc.n];
        r->sec = d[off] | d[off + 1] << 8 | d[off + 2] << 16 | (uint32_t)d[off + 3] << 24;
        r->usec = d[off + 4] | d[off + 5] << 8 | d[off + 6] << 16 | (uint32_t)d[off + 7] << 24;
        r->len = d[off + 8] | d[off + 9] << 8 | (size_t)d[off + 10] << 16;
        r->data = malloc(r->len + 64);
        ck_assert_ptr_nonnull(r->data);
        memcpy(r->data, d + off + 16, r->len);
        off += 16 + r->len;
    }
    free(d);
    return rc;
}

static void raw_free(raw_cap *rc)
{
    for (size_t i = 0; i < rc->n; i++)
        free(rc->recs[i].data);
    free(rc->recs);
}

typedef struct variant {
    int big_endian, nsec;
    uint32_t linktype;
    int eth_pad;       /* Ethernet trailer bytes after the IP packet */
    int v6_ext;        /* insert IPv6 hop-by-hop + destination options headers */
} variant;

static void put32_order(FILE *fp, uint32_t v, int big_endian)
{
    uint8_t b[4];
    owp_put32(b, v);
    if (!big_endian) {
        uint8_t t = b[0];
        b[0] = b[3], b[3] = t;
        t = b[1];
        b[1] = b[2], b[2] = t;
    }
    ck_assert_uint_eq(fwrite(b, 1, 4, fp), 4);
}

/* Rewrite an Ethernet frame's IP packet into dst per the variant; returns its length. */
static size_t rewrite_frame(const variant *v, const uint8_t *frame, size_t len, uint8_t *dst)
{
    ck_assert_uint_ge(len, 14);
    uint16_t ethertype = owp_get16(frame + 12);
    const uint8_t *ip = frame + 14;
    size_t iplen = len - 14;
    uint8_t packet[2048];
    ck_assert_uint_le(iplen + 24, sizeof packet);
    memcpy(packet, ip, iplen);
    if (v->v6_ext && ethertype == 0x86dd) {
        /* IPv6 header, then hop-by-hop (8 bytes) and destination options (16). */
        uint8_t ext[24] = {0};
        ext[0] = 60;          /* next: destination options */
        ext[1] = 0;           /* 8 bytes */
        ext[8] = ip[6];       /* next: the original transport */
        ext[9] = 1;           /* 16 bytes */
        memcpy(packet + 40, ext, sizeof ext);
        memcpy(packet + 64, ip + 40, iplen - 40);
        packet[6] = 0; /* hop-by-hop */
        owp_put16(packet + 4, (uint16_t)(owp_get16(ip + 4) + 24));
        iplen += 24;
    }
    size_t n = 0;
    switch (v->linktype) {
    case 1:
        memcpy(dst, frame, 14);
        n = 14;
        break;
    case 113:
        memset(dst, 0, 16);
        owp_put16(dst + 2, 772); /* ARPHRD_LOOPBACK */
        owp_put16(dst + 4, 6);
        owp_put16(dst + 14, ethertype);
        n = 16;
        break;
    case 0: {
        uint32_t af = ethertype == 0x0800 ? 2 : 30; /* AF_INET6 as macOS writes it */
        owp_put32(dst, af);
        if (!v->big_endian) { /* as a little-endian host writes it */
            dst[0] = (uint8_t)af;
            dst[3] = 0;
        }
        n = 4;
        break;
    }
    case 101:
        break;
    default:
        ck_abort_msg("variant link type %u", v->linktype);
    }
    memcpy(dst + n, packet, iplen);
    n += iplen;
    if (v->eth_pad) {
        memset(dst + n, 0xa5, (size_t)v->eth_pad);
        n += (size_t)v->eth_pad;
    }
    return n;
}

static char *write_variant(const raw_cap *rc, const variant *v, const char *dir)
{
    char *path = malloc(strlen(dir) + 32);
    ck_assert_ptr_nonnull(path);
    sprintf(path, "%s/variant.pcap", dir);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    put32_order(fp, v->nsec ? 0xa1b23c4du : 0xa1b2c3d4u, v->big_endian);
    put32_order(fp, v->big_endian ? 0x00020004u : 0x00040002u, v->big_endian); /* 2.4 */
    put32_order(fp, 0, v->big_endian);
    put32_order(fp, 0, v->big_endian);
    put32_order(fp, 262144, v->big_endian);
    put32_order(fp, v->linktype, v->big_endian);
    for (size_t i = 0; i < rc->n; i++) {
        uint8_t frame[2200];
        size_t n = rewrite_frame(v, rc->recs[i].data, rc->recs[i].len, frame);
        put32_order(fp, rc->recs[i].sec, v->big_endian);
        put32_order(fp, v->nsec ? rc->recs[i].usec * 1000 : rc->recs[i].usec, v->big_endian);
        put32_order(fp, (uint32_t)n, v->big_endian);
        put32_order(fp, (uint32_t)n, v->big_endian);
        ck_assert_uint_eq(fwrite(frame, 1, n, fp), n);
    }
    ck_assert_int_eq(fclose(fp), 0);
    return path;
}

/* The capture rc rewritten per v, written to a temporary file and read back. */
static tu_pcap *reload_rewritten(const raw_cap *rc, const variant *v)
{
    char *dir = tu_tempdir();
    char *path = write_variant(rc, v, dir);
    tu_pcap *copy = tu_pcap_load(path);
    tu_tempdir_remove(dir);
    free(path);
    free(dir);
    return copy;
}

static void assert_same_packets(const tu_pcap *a, const tu_pcap *b)
{
    ck_assert_uint_eq(tu_pcap_count(a), tu_pcap_count(b));
    for (size_t i = 0; i < tu_pcap_count(a); i++) {
        const tu_packet *p = tu_pcap_get(a, i), *q = tu_pcap_get(b, i);
        ck_assert_int_eq(p->proto, q->proto);
        ck_assert_int_eq(p->family, q->family);
        ck_assert(memcmp(p->src, q->src, 16) == 0 && memcmp(p->dst, q->dst, 16) == 0);
        ck_assert_uint_eq(p->sport, q->sport);
        ck_assert_uint_eq(p->dport, q->dport);
        ck_assert_uint_eq(p->ttl, q->ttl);
        ck_assert_uint_eq(p->tos, q->tos);
        ck_assert_double_eq_tol(p->time, q->time, 1e-7);
        ck_assert_uint_eq(p->len, q->len);
        ck_assert(memcmp(p->payload, q->payload, p->len) == 0);
    }
}

/* The first TCP packet of a capture: the client's SYN of the control connection. */
static const tu_packet *control_syn(const tu_pcap *cap)
{
    for (size_t i = 0; i < tu_pcap_count(cap); i++)
        if (tu_pcap_get(cap, i)->proto == 6)
            return tu_pcap_get(cap, i);
    ck_abort_msg("capture has no TCP packet");
    return NULL;
}

/* Both directions of the capture's control connection read alike from both captures. */
static void assert_same_streams(const tu_pcap *a, const tu_pcap *b)
{
    const tu_packet *syn = control_syn(a);
    for (int dir = 0; dir < 2; dir++) {
        uint16_t s = dir ? syn->sport : syn->dport, d = dir ? syn->dport : syn->sport;
        size_t la, lb;
        uint8_t *sa = tu_pcap_tcp_stream(a, s, d, &la);
        uint8_t *sb = tu_pcap_tcp_stream(b, s, d, &lb);
        ck_assert_uint_gt(la, 0);
        ck_assert_uint_eq(la, lb);
        ck_assert(memcmp(sa, sb, la) == 0);
        free(sa);
        free(sb);
    }
}

START_TEST(pcap_vector_facts)
{
    tu_pcap *cap = load_capture("open");
    ck_assert_uint_gt(tu_pcap_count(cap), 40);
    double last = 0;
    for (size_t i = 0; i < tu_pcap_count(cap); i++) {
        const tu_packet *p = tu_pcap_get(cap, i);
        ck_assert_int_eq(p->family, 4);
        ck_assert(p->src[0] == 127 && p->src[3] == 1);
        ck_assert(p->time >= last && p->time > 1.7e9);
        last = p->time;
    }
    /* Control streams of open.pcap (owamp-wire.md §1): C->S Set-Up-Response
     * 164, two Request-Sessions 144, Start-Sessions 32, Stop-Sessions 64,
     * Fetch-Session 48; S->C greeting 64, Server-Start 48, 2 x Accept 48,
     * Start-Ack 32, Stop-Sessions 64, Fetch-Ack 32 and 688 bytes of data. */
    const tu_packet *syn = control_syn(cap);
    ck_assert_uint_eq(syn->dport, CONTROL_PORT);
    uint16_t port = syn->sport;
    size_t len;
    uint8_t *cs = tu_pcap_tcp_stream(cap, port, CONTROL_PORT, &len);
    ck_assert_uint_eq(len, 164 + 2 * 144 + 32 + 64 + 48);
    ck_assert_uint_eq(owp_get32(cs), 1); /* Set-Up-Response Mode: open */
    ck_assert_uint_eq(cs[164], 1);       /* Request-Session type */
    free(cs);
    uint8_t *sc = tu_pcap_tcp_stream(cap, CONTROL_PORT, port, &len);
    ck_assert_uint_eq(len, 64 + 48 + 2 * 48 + 32 + 64 + 32 + 688);
    ck_assert_uint_eq(owp_get32(sc + 12), 7); /* Server-Greeting Modes */
    free(sc);
    uint8_t *none = tu_pcap_tcp_stream(cap, 1, 2, &len);
    ck_assert_uint_eq(len, 0);
    free(none);
    tu_pcap_free(&cap);
    tu_pcap_free(&cap); /* NULL is accepted */

    cap = load_capture("ipv6-open");
    static const uint8_t loopback6[16] = {[15] = 1};
    for (size_t i = 0; i < tu_pcap_count(cap); i++) {
        const tu_packet *p = tu_pcap_get(cap, i);
        ck_assert_int_eq(p->family, 6);
        ck_assert(memcmp(p->src, loopback6, 16) == 0 && memcmp(p->dst, loopback6, 16) == 0);
    }
    tu_pcap_free(&cap);
}
END_TEST

static const variant variants[] = {
    {0, 0, 1, 6, 0},   /* Ethernet with a trailer */
    {1, 0, 1, 0, 0},   /* big-endian */
    {0, 1, 1, 0, 0},   /* nanoseconds */
    {1, 1, 113, 0, 0}, /* big-endian ns Linux cooked */
    {0, 0, 113, 0, 0},
    {0, 0, 0, 0, 0},   /* loopback/null, little-endian family */
    {1, 0, 0, 0, 0},   /* loopback/null, big-endian family */
    {0, 0, 101, 0, 0}, /* raw IP */
    {1, 1, 101, 0, 1}, /* raw IP with IPv6 extension headers */
    {0, 0, 1, 0, 1},
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

START_TEST(pcap_variants_read_alike)
{
    const variant *v = &variants[(size_t)_i % NVARIANTS];
    const char *name = _i < (int)NVARIANTS ? "open" : "ipv6-open";
    raw_cap rc = raw_load(name);
    tu_pcap *orig = load_capture(name);
    tu_pcap *copy = reload_rewritten(&rc, v);
    assert_same_packets(orig, copy);
    assert_same_streams(orig, copy);
    tu_pcap_free(&orig);
    tu_pcap_free(&copy);
    raw_free(&rc);
}
END_TEST

/* An Ethernet/IPv4/TCP frame carrying only payload bytes [a, b) of the original. */
static raw_rec tcp_slice(const raw_rec *r, size_t a, size_t b)
{
    const uint8_t *ip = r->data + 14;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4, thl = (size_t)(ip[ihl + 12] >> 4) * 4;
    size_t hdr = 14 + ihl + thl;
    raw_rec s = *r;
    s.data = malloc(hdr + (b - a) + 1);
    ck_assert_ptr_nonnull(s.data);
    memcpy(s.data, r->data, hdr);
    memcpy(s.data + hdr, r->data + hdr + a, b - a);
    s.len = hdr + (b - a);
    owp_put16(s.data + 14 + 2, (uint16_t)(ihl + thl + (b - a)));
    uint8_t *tcp = s.data + 14 + ihl;
    owp_put32(tcp + 4, owp_get32(tcp + 4) + (uint32_t)a);
    return s;
}

static raw_rec copy_rec(const raw_rec *r)
{
    raw_rec c = *r;
    c.data = malloc(r->len + 1);
    ck_assert_ptr_nonnull(c.data);
    memcpy(c.data, r->data, r->len);
    return c;
}

static size_t tcp_payload_len(const raw_rec *r)
{
    const uint8_t *ip = r->data + 14;
    if (owp_get16(r->data + 12) != 0x0800 || ip[9] != 6)
        return 0;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4, thl = (size_t)(ip[ihl + 12] >> 4) * 4;
    return owp_get16(ip + 2) - ihl - thl;
}

START_TEST(pcap_tcp_retransmissions)
{
    /* Rewrite open.pcap: every data segment becomes two overlapping halves
     * sent in reverse order, followed by a full retransmission; every
     * other data segment is also held back behind the next record. The
     * streams must come out exactly as from the original. */
    raw_cap rc = raw_load("open");
    raw_cap out = {calloc(4 * rc.n + 1, sizeof(raw_rec)), 0};
    ck_assert_ptr_nonnull(out.recs);
    raw_rec held = {0};
    int have_held = 0, seg = 0;
    for (size_t i = 0; i < rc.n; i++) {
        size_t len = tcp_payload_len(&rc.recs[i]);
        if (len >= 8) {
            size_t mid = len / 2;
            out.recs[out.n++] = tcp_slice(&rc.recs[i], mid - 3, len);
            out.recs[out.n++] = tcp_slice(&rc.recs[i], 0, mid + 3);
            raw_rec full = tcp_slice(&rc.recs[i], 0, len);
            if (seg++ % 2 == 0 && !have_held) {
                held = full;
                have_held = 1;
                continue;
            }
            out.recs[out.n++] = full;
        } else {
            out.recs[out.n++] = copy_rec(&rc.recs[i]); /* UDP, SYN, ACK, FIN: as captured */
        }
        if (have_held) {
            out.recs[out.n++] = held;
            have_held = 0;
        }
    }
    if (have_held)
        out.recs[out.n++] = held;
    ck_assert_int_gt(seg, 10);

    static const variant ethernet = {0, 0, 1, 0, 0};
    tu_pcap *orig = load_capture("open");
    tu_pcap *copy = reload_rewritten(&out, &ethernet);
    ck_assert_uint_gt(tu_pcap_count(copy), tu_pcap_count(orig));
    assert_same_streams(orig, copy);
    tu_pcap_free(&orig);
    tu_pcap_free(&copy);
    raw_free(&out);
    raw_free(&rc);
}
END_TEST

static Suite *testpkt_suite(void)
{
    Suite *s = suite_create("testpkt");
    TCase *tc = tcase_create("captures");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, capture_packets_decode_and_reseal, 0, (int)NCAPTURES);
    tcase_add_loop_test(tc, capture_packets_tampered, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("packets");
    tcase_add_loop_test(tc, truncated_packets_rejected, 0, 3);
    tcase_add_loop_test(tc, round_trip_all_modes, 0, 3);
    tcase_add_test(tc, open_mode_layout);
    tcase_add_test(tc, invalid_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("pcap");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, pcap_vector_facts);
    tcase_add_loop_test(tc, pcap_variants_read_alike, 0, 2 * (int)NVARIANTS);
    tcase_add_test(tc, pcap_tcp_retransmissions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(testpkt_suite());
}
