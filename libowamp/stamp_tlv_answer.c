/*
 * stamp_tlv_answer.c - the Session-Reflector's answers to a test packet's
 * TLVs (stamp_tlv.h, RFC 8972 section 4). The request's TLV area is copied
 * into the reply and each TLV answered in place, in the room the sender gave
 * it; the one exception is an authenticated reply whose request carried
 * TLVs but no HMAC TLV: it needs one of its own, 20 octets more, which only
 * the caller's growth allowance permits.
 */
#include "stamp_tlv.h"

#include <netinet/in.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"

#define HMAC_TLV_LEN (OWP_STAMP_TLV_HDR + OWP_STAMP_LEN_HMAC)

/* What the walk over the request learned about its HMAC TLV. */
typedef struct hmac_state {
    long at;            /* offset of the first HMAC TLV, -1 none */
    int unusable;       /* misplaced, repeated or malformed */
    unsigned protected; /* TLVs other than Extra Padding and HMAC */
} hmac_state;

/* ------------------------------------------------------------ Location */

/* An address as 4 (IPv4, also v4-mapped IPv6) or 16 octets; 0 if unknown. */
static int address_octets(const struct sockaddr *sa, socklen_t len, uint8_t out[16], uint16_t *port)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(out, &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        *port = ntohs(s6->sin6_port);
        if (memcmp(&s6->sin6_addr, mapped, sizeof mapped) == 0) {
            memcpy(out, (const uint8_t *)&s6->sin6_addr + 12, 4);
            return AF_INET;
        }
        memcpy(out, &s6->sin6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

/* Answer one address sub-TLV (value of 16 octets) with the specific type
 * for the address's family: 0, or OWP_STAMP_TLV_U when it is not known. */
static uint8_t answer_address(uint8_t *sub, const struct sockaddr *sa, socklen_t len,
                              uint8_t v4_type, uint8_t v6_type)
{
    uint8_t addr[16];
    uint16_t port;
    int family = address_octets(sa, len, addr, &port);
    if (!family)
        return OWP_STAMP_TLV_U;
    uint8_t *v = sub + OWP_STAMP_TLV_HDR;
    memset(v, 0, OWP_STAMP_LEN_SUB_IP);
    memcpy(v, addr, family == AF_INET ? 4 : 16);
    sub[1] = family == AF_INET ? v4_type : v6_type;
    return 0;
}

static uint8_t answer_sub(const owp_stamp_tlv_ctx *c, uint8_t *sub, uint8_t type)
{
    switch (type) {
    case OWP_STAMP_SUB_DST_IP:
    case OWP_STAMP_SUB_DST_IPV4:
    case OWP_STAMP_SUB_DST_IPV6:
        return answer_address(sub, c->dst, c->dst_len, OWP_STAMP_SUB_DST_IPV4,
                              OWP_STAMP_SUB_DST_IPV6);
    case OWP_STAMP_SUB_SRC_IP:
    case OWP_STAMP_SUB_SRC_IPV4:
    case OWP_STAMP_SUB_SRC_IPV6:
        return answer_address(sub, c->src, c->src_len, OWP_STAMP_SUB_SRC_IPV4,
                              OWP_STAMP_SUB_SRC_IPV6);
    }
    return OWP_STAMP_TLV_U; /* MAC addresses: a UDP socket never sees them */
}

static int sub_length_valid(uint8_t type, uint16_t length)
{
    if (type >= OWP_STAMP_SUB_SRC_MAC && type <= OWP_STAMP_SUB_SRC_EUI64)
        return length == OWP_STAMP_LEN_SUB_MAC;
    if (type >= OWP_STAMP_SUB_DST_IP && type <= OWP_STAMP_SUB_SRC_IPV6)
        return length == OWP_STAMP_LEN_SUB_IP;
    return 1; /* unknown sub-TLVs are flagged U, whatever their length */
}

/* The Location TLV's value v of length octets: ports, then each sub-TLV
 * answered; the flags of the Location TLV itself come back. */
static uint8_t answer_location(const owp_stamp_tlv_ctx *c, uint8_t *v, uint16_t length)
{
    uint8_t addr[16];
    uint16_t dport = 0, sport = 0;
    address_octets(c->dst, c->dst_len, addr, &dport);
    address_octets(c->src, c->src_len, addr, &sport);
    owp_put16(v, dport);
    owp_put16(v + 2, sport);
    uint8_t flags = 0;
    owp_stamp_tlv_walk w;
    owp_stamp_tlv_walk_init(&w, v + OWP_STAMP_LEN_LOCATION, length - OWP_STAMP_LEN_LOCATION);
    owp_stamp_tlv s;
    int got;
    while ((got = owp_stamp_tlv_next(&w, &s, NULL)) == 1) {
        uint8_t *sub = v + OWP_STAMP_LEN_LOCATION + s.at;
        if (!sub_length_valid(s.type, s.length)) {
            sub[0] = OWP_STAMP_TLV_M;
            flags = OWP_STAMP_TLV_M;
            continue;
        }
        sub[0] = answer_sub(c, sub, s.type);
    }
    if (got < 0) { /* a sub-TLV runs past the Location TLV's end */
        v[OWP_STAMP_LEN_LOCATION + s.at] = OWP_STAMP_TLV_M;
        flags = OWP_STAMP_TLV_M;
    }
    return flags;
}

/* ------------------------------------------------------------ the others */

static void answer_cos(const owp_stamp_tlv_ctx *c, uint8_t *v, owp_stamp_tlv_result *r)
{
    uint8_t dscp1 = v[0] >> 2;
    uint8_t dscp2 = c->tos >= 0 ? (uint8_t)(c->tos >> 2) : 0;
    uint8_t ecn = c->tos >= 0 ? (uint8_t)(c->tos & 0x03) : 0;
    int allowed = (c->dscp_allowed >> dscp1) & 1;
    v[0] = (uint8_t)(dscp1 << 2 | dscp2 >> 4);
    v[1] = (uint8_t)((dscp2 & 0x0F) << 4 | ecn << 2 | (allowed ? 0 : 1));
    v[2] = v[3] = 0;
    if (allowed && r->reply_dscp < 0)
        r->reply_dscp = dscp1;
}

static void answer_follow_up(const owp_stamp_tlv_ctx *c, uint8_t *v)
{
    memset(v, 0, OWP_STAMP_LEN_FOLLOW_UP);
    if (!c->stateful || !c->have_last)
        return; /* stateless: nothing to follow up (erratum 8339 zeroes it) */
    owp_put32(v, c->last_seq);
    owp_put64(v + 4, c->last_time);
    v[12] = OWP_STAMP_TS_SW;
}

/* Answer one recognized TLV of valid length: its new flags. */
static uint8_t answer_one(const owp_stamp_tlv_ctx *c, const owp_stamp_tlv *t, uint8_t *v,
                          owp_stamp_tlv_result *r)
{
    switch (t->type) {
    case OWP_STAMP_TLV_LOCATION:
        return answer_location(c, v, t->length);
    case OWP_STAMP_TLV_TIMESTAMP_INFO:
        v[0] = v[2] = c->synchronized ? OWP_STAMP_SYNC_NTP : OWP_STAMP_SYNC_LOCAL;
        v[1] = v[3] = OWP_STAMP_TS_SW;
        return 0;
    case OWP_STAMP_TLV_COS:
        answer_cos(c, v, r);
        return 0;
    case OWP_STAMP_TLV_DIRECT:
        owp_put32(v + 4, c->rx_count);
        owp_put32(v + 8, c->tx_count);
        return 0;
    case OWP_STAMP_TLV_ACCESS_REPORT:
        /* Only the 3GPP (1) and non-3GPP (2) IDs exist; others are discarded. */
        return (v[0] >> 4) == 1 || (v[0] >> 4) == 2 ? 0 : OWP_STAMP_TLV_U;
    case OWP_STAMP_TLV_FOLLOW_UP:
        answer_follow_up(c, v);
        return 0;
    }
    return 0; /* Extra Padding and HMAC: copied */
}

/* One TLV of the request, answered in out: its flags set there. */
static void answer_tlv(const owp_stamp_tlv_ctx *c, const owp_stamp_tlv *t, uint8_t *out,
                       hmac_state *h, owp_stamp_tlv_result *r)
{
    uint8_t *o = out + t->at;
    int valid = owp_stamp_tlv_length_valid(t->type, t->length);
    uint8_t flags;
    if (h->at >= 0 && t->type != OWP_STAMP_TLV_EXTRA_PADDING)
        h->unusable = 1; /* only Extra Padding may follow the HMAC TLV */
    if (valid < 0)
        flags = OWP_STAMP_TLV_U;
    else if (valid == 0)
        flags = OWP_STAMP_TLV_M;
    else
        flags = answer_one(c, t, o + OWP_STAMP_TLV_HDR, r);
    if (t->type == OWP_STAMP_TLV_HMAC) {
        if (h->at < 0)
            h->at = (long)t->at;
        if (valid != 1)
            h->unusable = 1;
    } else if (t->type != OWP_STAMP_TLV_EXTRA_PADDING) {
        h->protected++;
    }
    o[0] = flags; /* reserved bits cleared */
    r->count++;
    r->unrecognized += (flags & OWP_STAMP_TLV_U) != 0;
    r->malformed += (flags & OWP_STAMP_TLV_M) != 0;
}

/* ------------------------------------------------------------ integrity */

static int request_hmac_good(const owp_stamp_tlv_ctx *c, const uint8_t *in, const hmac_state *h,
                             uint32_t req_seq)
{
    uint8_t mac[OWP_STAMP_HMAC_LEN];
    if (h->at < 0 || h->unusable || !c->key)
        return 0;
    if (owp_stamp_tlv_hmac(c->key, req_seq, in, (size_t)h->at, mac, NULL) != OWP_OK)
        return 0;
    return owp_hmac_equal(mac, in + h->at + OWP_STAMP_TLV_HDR);
}

/* Set I on every TLV of out[0..len) (the walk stops where the request's did). */
static void flag_integrity(uint8_t *out, size_t len)
{
    owp_stamp_tlv_walk w;
    owp_stamp_tlv_walk_init(&w, out, len);
    owp_stamp_tlv t;
    int got;
    while ((got = owp_stamp_tlv_next(&w, &t, NULL)) == 1)
        out[t.at] |= OWP_STAMP_TLV_I;
    if (got < 0)
        out[t.at] |= OWP_STAMP_TLV_I;
}

/* An authenticated reply for a request with TLVs but no HMAC TLV: the
 * reply's own HMAC TLV right after the last TLV (the zero padding after it
 * moves down), when the growth is allowed and there is room. */
static owp_status append_hmac(const owp_stamp_tlv_ctx *c, uint8_t *out, size_t len, size_t cap,
                              size_t end, uint32_t reply_seq, owp_stamp_tlv_result *r,
                              owp_err *err)
{
    if (c->growth_allowed < HMAC_TLV_LEN || cap < len + HMAC_TLV_LEN || !c->key)
        return OWP_OK;
    memset(out + end, 0, len + HMAC_TLV_LEN - end);
    out[end] = 0;
    out[end + 1] = OWP_STAMP_TLV_HMAC;
    owp_put16(out + end + 2, OWP_STAMP_LEN_HMAC);
    owp_status st = owp_stamp_tlv_hmac(c->key, reply_seq, out, end,
                                       out + end + OWP_STAMP_TLV_HDR, err);
    if (st == OWP_OK) {
        r->hmac_added = 1;
        r->reply_len = len + HMAC_TLV_LEN;
    }
    return st;
}

owp_status owp_stamp_tlv_answer(const owp_stamp_tlv_ctx *c, const uint8_t *in, size_t len,
                                uint32_t req_seq, uint32_t reply_seq, uint8_t *out, size_t cap,
                                owp_stamp_tlv_result *r, owp_err *err)
{
    memset(r, 0, sizeof *r);
    r->reply_dscp = -1;
    r->reply_len = len;
    if (!c || (len && (!in || !out)) || cap < len)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP TLV answer: %zu octets into %zu", len,
                           cap);
    memcpy(out, in, len);
    hmac_state h = {.at = -1};
    owp_stamp_tlv_walk w;
    owp_stamp_tlv_walk_init(&w, in, len);
    owp_stamp_tlv t;
    int got;
    while ((got = owp_stamp_tlv_next(&w, &t, NULL)) == 1)
        answer_tlv(c, &t, out, &h, r);
    if (got < 0) { /* the rest is copied unprocessed, the TLV where it starts marked */
        out[t.at] = OWP_STAMP_TLV_M;
        r->count++;
        r->malformed++;
        h.protected++;
        h.unusable |= h.at >= 0;
    }
    int needed = h.at >= 0 || (c->authenticated && h.protected > 0);
    if (!needed)
        return OWP_OK;
    if (!request_hmac_good(c, in, &h, req_seq)) {
        r->integrity_failed = 1;
        flag_integrity(out, len);
        return h.at < 0 && got == 0 ? append_hmac(c, out, len, cap, w.pos, reply_seq, r, err)
                                    : OWP_OK;
    }
    return owp_stamp_tlv_hmac(c->key, reply_seq, out, (size_t)h.at,
                              out + h.at + OWP_STAMP_TLV_HDR, err);
}
