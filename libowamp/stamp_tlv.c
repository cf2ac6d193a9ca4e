/*
 * stamp_tlv.c - STAMP TLVs (stamp_tlv.h, RFC 8972 section 4): walking a TLV
 * area, the Session-Sender's requests and its reading of the answers. The
 * Session-Reflector's side is stamp_tlv_answer.c.
 */
#include "stamp_tlv.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"

/* ------------------------------------------------------------ walking */

void owp_stamp_tlv_walk_init(owp_stamp_tlv_walk *w, const uint8_t *area, size_t len)
{
    w->area = area;
    w->len = area ? len : 0;
    w->pos = 0;
    w->end = w->len;
    while (w->end > 0 && area[w->end - 1] == 0)
        w->end--;
}

int owp_stamp_tlv_next(owp_stamp_tlv_walk *w, owp_stamp_tlv *t, owp_err *why)
{
    size_t p = w->pos, left = w->len - w->pos;
    if (p >= w->end)
        return 0;
    memset(t, 0, sizeof *t);
    t->at = p;
    t->flags = w->area[p];
    if (left < OWP_STAMP_TLV_HDR) {
        owp_err_set(why, OWP_ERR_FORMAT, "TLV at octet %zu: %zu octets left, a header takes %d", p,
                    left, OWP_STAMP_TLV_HDR);
        return -1;
    }
    t->type = w->area[p + 1];
    t->length = owp_get16(w->area + p + 2);
    if (t->length > left - OWP_STAMP_TLV_HDR) {
        char name[32];
        owp_err_set(why, OWP_ERR_FORMAT, "%s TLV at octet %zu: Length %u, %zu octets left",
                    owp_stamp_tlv_name(t->type, name, sizeof name), p, t->length,
                    left - OWP_STAMP_TLV_HDR);
        return -1;
    }
    w->pos = p + OWP_STAMP_TLV_HDR + t->length;
    return 1;
}

int owp_stamp_tlv_length_valid(uint8_t type, uint16_t length)
{
    switch (type) {
    case OWP_STAMP_TLV_EXTRA_PADDING: return 1;
    case OWP_STAMP_TLV_LOCATION: return length >= OWP_STAMP_LEN_LOCATION;
    case OWP_STAMP_TLV_TIMESTAMP_INFO: return length >= OWP_STAMP_LEN_TIMESTAMP_INFO;
    case OWP_STAMP_TLV_COS: return length == OWP_STAMP_LEN_COS;
    case OWP_STAMP_TLV_DIRECT: return length == OWP_STAMP_LEN_DIRECT;
    case OWP_STAMP_TLV_ACCESS_REPORT: return length == OWP_STAMP_LEN_ACCESS_REPORT;
    case OWP_STAMP_TLV_FOLLOW_UP: return length == OWP_STAMP_LEN_FOLLOW_UP;
    case OWP_STAMP_TLV_HMAC: return length == OWP_STAMP_LEN_HMAC;
    }
    return -1;
}

const char *owp_stamp_tlv_name(uint8_t type, char *buf, size_t len)
{
    static const char *const names[] = {
        NULL, "Extra Padding", "Location", "Timestamp Information", "Class of Service",
        "Direct Measurement", "Access Report", "Follow-Up Telemetry", "HMAC",
    };
    if (type < sizeof names / sizeof names[0] && names[type])
        snprintf(buf, len, "%s", names[type]);
    else
        snprintf(buf, len, "type %u", type);
    return buf;
}

owp_status owp_stamp_tlv_hmac(owp_stamp_key *key, uint32_t seq, const uint8_t *area, size_t upto,
                              uint8_t out[OWP_STAMP_HMAC_LEN], owp_err *err)
{
    uint8_t seq_octets[4];
    owp_put32(seq_octets, seq);
    return owp_stamp_hmac(key, seq_octets, sizeof seq_octets, area, upto, out, err);
}

/* ------------------------------------------------------------ the sender's TLVs */

/* The Location request: ports to fill and the generic Source and
 * Destination IP sub-TLVs to answer. */
#define LOCATION_REQUEST_LEN \
    (OWP_STAMP_LEN_LOCATION + 2 * (OWP_STAMP_TLV_HDR + OWP_STAMP_LEN_SUB_IP))

void owp_stamp_tlv_request_none(owp_stamp_tlv_request *r)
{
    memset(r, 0, sizeof *r);
    r->extra_padding = -1;
    r->cos_dscp = -1;
}

/* The value length of each TLV the request asks for, in the order they go
 * on the wire (HMAC before Extra Padding); 0 for one not asked for. */
typedef struct request_item {
    uint8_t type;
    int wanted;
    size_t length;
} request_item;

static size_t request_items(const owp_stamp_tlv_request *r, request_item items[8])
{
    const request_item all[8] = {
        {OWP_STAMP_TLV_LOCATION, r->location, LOCATION_REQUEST_LEN},
        {OWP_STAMP_TLV_TIMESTAMP_INFO, r->timestamp_info, OWP_STAMP_LEN_TIMESTAMP_INFO},
        {OWP_STAMP_TLV_COS, r->cos_dscp >= 0, OWP_STAMP_LEN_COS},
        {OWP_STAMP_TLV_DIRECT, r->direct, OWP_STAMP_LEN_DIRECT},
        {OWP_STAMP_TLV_ACCESS_REPORT, r->access_id > 0, OWP_STAMP_LEN_ACCESS_REPORT},
        {OWP_STAMP_TLV_FOLLOW_UP, r->follow_up, OWP_STAMP_LEN_FOLLOW_UP},
        {OWP_STAMP_TLV_HMAC, r->hmac, OWP_STAMP_LEN_HMAC},
        {OWP_STAMP_TLV_EXTRA_PADDING, r->extra_padding >= 0,
         r->extra_padding > 0 ? (size_t)r->extra_padding : 0},
    };
    size_t n = 0;
    for (size_t i = 0; i < 8; i++)
        if (all[i].wanted)
            items[n++] = all[i];
    return n;
}

size_t owp_stamp_tlv_request_len(const owp_stamp_tlv_request *r)
{
    request_item items[8];
    size_t n = request_items(r, items), total = 0;
    for (size_t i = 0; i < n; i++)
        total += OWP_STAMP_TLV_HDR + items[i].length;
    return total;
}

static void put_header(uint8_t *p, uint8_t flags, uint8_t type, size_t length)
{
    p[0] = flags;
    p[1] = type;
    owp_put16(p + 2, (uint16_t)length);
}

/* A TLV's value as the sender sends it (the area is zeroed before). */
static void request_value(const owp_stamp_tlv_request *r, uint8_t type, uint32_t s_txc,
                          uint8_t *v)
{
    switch (type) {
    case OWP_STAMP_TLV_LOCATION:
        put_header(v + 4, OWP_STAMP_TLV_U, OWP_STAMP_SUB_SRC_IP, OWP_STAMP_LEN_SUB_IP);
        put_header(v + 4 + OWP_STAMP_TLV_HDR + OWP_STAMP_LEN_SUB_IP, OWP_STAMP_TLV_U,
                   OWP_STAMP_SUB_DST_IP, OWP_STAMP_LEN_SUB_IP);
        break;
    case OWP_STAMP_TLV_COS:
        v[0] = (uint8_t)((r->cos_dscp & 0x3F) << 2);
        break;
    case OWP_STAMP_TLV_DIRECT:
        owp_put32(v, s_txc);
        break;
    case OWP_STAMP_TLV_ACCESS_REPORT:
        v[0] = (uint8_t)((r->access_id & 0x0F) << 4);
        v[1] = (uint8_t)r->access_return_code;
        break;
    }
}

owp_status owp_stamp_tlv_request_encode(const owp_stamp_tlv_request *r, owp_stamp_key *key,
                                        uint32_t seq, uint32_t s_txc, uint8_t *area,
                                        size_t len, owp_err *err)
{
    size_t need = owp_stamp_tlv_request_len(r);
    if (len != need)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP TLVs: %zu octets given, %zu needed", len,
                           need);
    if (r->extra_padding > 0xFFFF)
        return owp_err_set(err, OWP_ERR_INVALID, "Extra Padding of %d octets: at most 65535",
                           r->extra_padding);
    if (r->access_id < 0 || r->access_id > 15)
        return owp_err_set(err, OWP_ERR_INVALID, "Access Report ID %d: 0 to 15", r->access_id);
    if (r->hmac && !key)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP HMAC TLV: no key");
    memset(area, 0, len);
    request_item items[8];
    size_t n = request_items(r, items), p = 0;
    for (size_t i = 0; i < n; i++) {
        put_header(area + p, OWP_STAMP_TLV_U, items[i].type, items[i].length);
        if (items[i].type == OWP_STAMP_TLV_HMAC) {
            owp_status st = owp_stamp_tlv_hmac(key, seq, area, p, area + p + OWP_STAMP_TLV_HDR, err);
            if (st != OWP_OK)
                return st;
        } else {
            request_value(r, items[i].type, s_txc, area + p + OWP_STAMP_TLV_HDR);
        }
        p += OWP_STAMP_TLV_HDR + items[i].length;
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ reading the answers */

static void read_location(const uint8_t *v, uint16_t length, owp_stamp_tlv_answers *a)
{
    a->have_location = 1;
    a->loc_dst_port = owp_get16(v);
    a->loc_src_port = owp_get16(v + 2);
    owp_stamp_tlv_walk sub;
    owp_stamp_tlv_walk_init(&sub, v + OWP_STAMP_LEN_LOCATION, length - OWP_STAMP_LEN_LOCATION);
    owp_stamp_tlv s;
    while (owp_stamp_tlv_next(&sub, &s, NULL) == 1) {
        const uint8_t *sv = sub.area + s.at + OWP_STAMP_TLV_HDR;
        if (s.flags & (OWP_STAMP_TLV_U | OWP_STAMP_TLV_M) || s.length != OWP_STAMP_LEN_SUB_IP)
            continue;
        switch (s.type) {
        case OWP_STAMP_SUB_DST_IPV4: a->loc_dst_family = AF_INET; memcpy(a->loc_dst, sv, 4); break;
        case OWP_STAMP_SUB_DST_IPV6: a->loc_dst_family = AF_INET6; memcpy(a->loc_dst, sv, 16); break;
        case OWP_STAMP_SUB_SRC_IPV4: a->loc_src_family = AF_INET; memcpy(a->loc_src, sv, 4); break;
        case OWP_STAMP_SUB_SRC_IPV6: a->loc_src_family = AF_INET6; memcpy(a->loc_src, sv, 16); break;
        }
    }
}

/* The values of one recognized, well-formed TLV. */
static void read_value(const owp_stamp_tlv *t, const uint8_t *v, owp_stamp_tlv_answers *a)
{
    switch (t->type) {
    case OWP_STAMP_TLV_LOCATION:
        read_location(v, t->length, a);
        break;
    case OWP_STAMP_TLV_TIMESTAMP_INFO:
        a->have_timestamp_info = 1;
        a->sync_in = v[0], a->ts_in = v[1], a->sync_out = v[2], a->ts_out = v[3];
        break;
    case OWP_STAMP_TLV_COS:
        a->have_cos = 1;
        a->dscp1 = v[0] >> 2;
        a->dscp2 = (uint8_t)((v[0] & 0x03) << 4 | v[1] >> 4);
        a->ecn = (v[1] >> 2) & 0x03;
        a->rp = v[1] & 0x03;
        break;
    case OWP_STAMP_TLV_DIRECT:
        a->have_direct = 1;
        a->s_txc = owp_get32(v), a->r_rxc = owp_get32(v + 4), a->r_txc = owp_get32(v + 8);
        break;
    case OWP_STAMP_TLV_ACCESS_REPORT:
        a->have_access_report = 1;
        a->access_id = v[0] >> 4, a->return_code = v[1];
        break;
    case OWP_STAMP_TLV_FOLLOW_UP:
        a->have_follow_up = 1;
        a->follow_up_seq = owp_get32(v);
        a->follow_up_time = owp_get64(v + 4);
        a->follow_up_mode = v[12];
        break;
    }
}

static void tally_flags(uint8_t flags, owp_stamp_tlv_answers *a)
{
    a->count++;
    a->unrecognized += (flags & OWP_STAMP_TLV_U) != 0;
    a->malformed += (flags & OWP_STAMP_TLV_M) != 0;
    a->integrity += (flags & OWP_STAMP_TLV_I) != 0;
}

owp_status owp_stamp_tlv_read_answers(const uint8_t *area, size_t len, owp_stamp_key *key,
                                      uint32_t seq, owp_stamp_tlv_answers *a, owp_err *err)
{
    memset(a, 0, sizeof *a);
    owp_stamp_tlv_walk w;
    owp_stamp_tlv_walk_init(&w, area, len);
    owp_stamp_tlv t;
    int got;
    while ((got = owp_stamp_tlv_next(&w, &t, err)) == 1) {
        const uint8_t *v = area + t.at + OWP_STAMP_TLV_HDR;
        tally_flags(t.flags, a);
        if (t.type == OWP_STAMP_TLV_HMAC && t.length == OWP_STAMP_LEN_HMAC) {
            uint8_t mac[OWP_STAMP_HMAC_LEN];
            a->hmac_present = 1;
            a->hmac_ok = key && owp_stamp_tlv_hmac(key, seq, area, t.at, mac, NULL) == OWP_OK &&
                         owp_hmac_equal(mac, v);
            continue;
        }
        if (!(t.flags & (OWP_STAMP_TLV_U | OWP_STAMP_TLV_M)) &&
            owp_stamp_tlv_length_valid(t.type, t.length) == 1)
            read_value(&t, v, a);
    }
    if (got < 0) {
        tally_flags(t.flags, a);
        owp_err_prefix(err, "reflected TLVs");
        return OWP_ERR_FORMAT;
    }
    return OWP_OK;
}
