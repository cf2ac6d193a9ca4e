/*
 * stamp_tlv.h - the TLVs that may follow a STAMP base packet (RFC 8972
 * section 4): walking a TLV area, the Session-Sender's requests, the
 * Session-Reflector's answers, and the sender's reading of them.
 *
 * A TLV: Flags (1 octet: U 0x80 unrecognized, M 0x40 malformed, I 0x20
 * integrity failed, the rest reserved), Type (1), Length (2, of the value),
 * Value. A Session-Sender sends every TLV with U set and M, I clear; the
 * Session-Reflector clears U on the TLVs it recognizes, sets M on a TLV whose
 * Length is not valid for its type or that runs past the end of the packet
 * (and then copies the rest of the packet unprocessed), and sets I on every
 * TLV when the HMAC TLV does not verify.
 *
 * The types and what the reflector answers (values; lengths in octets):
 *   1 Extra Padding (any)          copied
 *   2 Location (4 + sub-TLVs)      Destination Port, Source Port of the
 *        packet; sub-TLVs (4-octet headers as TLVs): Destination IP (4, 16
 *        octets) answered as Destination IPv4 (5: 4 octets + 12 MBZ) or IPv6
 *        (6), Source IP (7) as Source IPv4 (8) or IPv6 (9); MAC sub-TLVs
 *        (1-3, 8 octets) are unknown to a UDP socket: U
 *   3 Timestamp Information (4 + sub-TLVs): Sync Src In, Timestamp In, Sync
 *        Src Out, Timestamp Out: NTP (1) when the clock is synchronized, else
 *        local free-running (5); software, local (2) both ways
 *   4 Class of Service (4): DSCP1 (6 bits, the DSCP the sender asks for the
 *        reflected packet), DSCP2 (6, received), ECN (2, received), RP (2:
 *        0 DSCP1 was used, 1 policy refused it), Reserved (16)
 *   5 Direct Measurement (12): S_TxC, R_RxC, R_TxC: the session's received
 *        and transmitted counts, this packet and its reflection included
 *   6 Access Report (4): ID (4 bits: 1 3GPP, 2 non-3GPP), Resv (4), Return
 *        Code (8), Reserved (16): echoed; another ID is discarded (U)
 *   7 Follow-Up Telemetry (16): Sequence Number and Follow-Up Timestamp of
 *        the session's previous reflected packet, Timestamp Mode (1 octet,
 *        software local 2), Reserved (3); zero in stateless mode
 *   8 HMAC (16): HMAC-SHA-256/128 (stamp_wire.h) of the base packet's
 *        Sequence Number and every TLV before it; it follows every TLV but
 *        Extra Padding (anywhere else: verification failure). Required in
 *        authenticated mode when TLVs other than Extra Padding are present.
 * Octets that are all zero to the end of the packet are padding, not TLVs.
 */
#ifndef OWP_STAMP_TLV_H
#define OWP_STAMP_TLV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "stamp_wire.h"
#include "timestamp.h"

#define OWP_STAMP_TLV_HDR 4
enum { OWP_STAMP_TLV_U = 0x80, OWP_STAMP_TLV_M = 0x40, OWP_STAMP_TLV_I = 0x20 };

typedef enum owp_stamp_tlv_type {
    OWP_STAMP_TLV_EXTRA_PADDING = 1,
    OWP_STAMP_TLV_LOCATION = 2,
    OWP_STAMP_TLV_TIMESTAMP_INFO = 3,
    OWP_STAMP_TLV_COS = 4,
    OWP_STAMP_TLV_DIRECT = 5,
    OWP_STAMP_TLV_ACCESS_REPORT = 6,
    OWP_STAMP_TLV_FOLLOW_UP = 7,
    OWP_STAMP_TLV_HMAC = 8
} owp_stamp_tlv_type;

/* Value lengths (Location and Timestamp Information: the fixed part). */
enum {
    OWP_STAMP_LEN_LOCATION = 4, OWP_STAMP_LEN_TIMESTAMP_INFO = 4, OWP_STAMP_LEN_COS = 4,
    OWP_STAMP_LEN_DIRECT = 12, OWP_STAMP_LEN_ACCESS_REPORT = 4, OWP_STAMP_LEN_FOLLOW_UP = 16,
    OWP_STAMP_LEN_HMAC = 16, OWP_STAMP_LEN_SUB_IP = 16, OWP_STAMP_LEN_SUB_MAC = 8
};

/* Location sub-TLV types. */
enum {
    OWP_STAMP_SUB_SRC_MAC = 1, OWP_STAMP_SUB_SRC_EUI48 = 2, OWP_STAMP_SUB_SRC_EUI64 = 3,
    OWP_STAMP_SUB_DST_IP = 4, OWP_STAMP_SUB_DST_IPV4 = 5, OWP_STAMP_SUB_DST_IPV6 = 6,
    OWP_STAMP_SUB_SRC_IP = 7, OWP_STAMP_SUB_SRC_IPV4 = 8, OWP_STAMP_SUB_SRC_IPV6 = 9
};

/* Synchronization sources and timestamping methods (Timestamp Information,
 * Follow-Up Telemetry). */
enum { OWP_STAMP_SYNC_NTP = 1, OWP_STAMP_SYNC_PTP = 2, OWP_STAMP_SYNC_LOCAL = 5 };
enum { OWP_STAMP_TS_HW = 1, OWP_STAMP_TS_SW = 2, OWP_STAMP_TS_CONTROL = 3 };

/* ---- walking a TLV area ---- */

/* One TLV as found at area[at]. */
typedef struct owp_stamp_tlv {
    size_t at;        /* offset of its header */
    uint8_t flags, type;
    uint16_t length;  /* the Length field */
} owp_stamp_tlv;

/* A walk over area[0..len). */
typedef struct owp_stamp_tlv_walk {
    const uint8_t *area;
    size_t len, pos;
    size_t end;       /* after the last non-zero octet: what follows is padding */
} owp_stamp_tlv_walk;

void owp_stamp_tlv_walk_init(owp_stamp_tlv_walk *w, const uint8_t *area, size_t len);
/* The next TLV: 1; 0 at the end (nothing left, or only zero octets); -1
 * when the rest is malformed (a header or a value running past the end):
 * t->at is where it starts and why (may be NULL) says what is wrong. */
int owp_stamp_tlv_next(owp_stamp_tlv_walk *w, owp_stamp_tlv *t, owp_err *why);
/* The value length valid for a type's TLV: 1 valid, 0 not; -1 for a type
 * this implementation does not know. */
int owp_stamp_tlv_length_valid(uint8_t type, uint16_t length);
/* "Location", "type 200", ... */
const char *owp_stamp_tlv_name(uint8_t type, char *buf, size_t len);

/* The HMAC TLV's value for a packet whose Sequence Number is seq and whose
 * TLVs before the HMAC TLV are area[0..upto). */
owp_status owp_stamp_tlv_hmac(owp_stamp_key *key, uint32_t seq, const uint8_t *area, size_t upto,
                              uint8_t out[OWP_STAMP_HMAC_LEN], owp_err *err);

/* ---- the Session-Sender's TLVs ---- */
typedef struct owp_stamp_tlv_request {
    int extra_padding;   /* value octets of an Extra Padding TLV, -1 none */
    int location;        /* a Location TLV asking for both addresses */
    int timestamp_info;
    int cos_dscp;        /* a Class of Service TLV asking for this DSCP1, -1 none */
    int direct;          /* Direct Measurement */
    int access_id;       /* an Access Report with this ID (1 or 2), 0 none */
    int access_return_code;
    int follow_up;
    int hmac;            /* an HMAC TLV (needs a key) */
} owp_stamp_tlv_request;

/* A request for no TLV at all. */
void owp_stamp_tlv_request_none(owp_stamp_tlv_request *r);
/* Octets the TLVs take. */
size_t owp_stamp_tlv_request_len(const owp_stamp_tlv_request *r);
/* Write them into area[0..len), len = owp_stamp_tlv_request_len(): the
 * HMAC TLV after the others but Extra Padding, which comes last, outside its
 * coverage. seq: the base packet's Sequence Number; s_txc the Direct
 * Measurement TLV's count of packets sent. */
owp_status owp_stamp_tlv_request_encode(const owp_stamp_tlv_request *r, owp_stamp_key *key,
                                        uint32_t seq, uint32_t s_txc, uint8_t *area,
                                        size_t len, owp_err *err);

/* ---- what the Session-Sender reads in a reflected packet's TLVs ---- */
typedef struct owp_stamp_tlv_answers {
    unsigned count, unrecognized, malformed, integrity; /* TLVs, and those flagged */
    int hmac_present, hmac_ok;    /* hmac_ok: verified with the key */
    int have_location;
    uint16_t loc_dst_port, loc_src_port;
    int loc_src_family, loc_dst_family;  /* AF_INET, AF_INET6, 0: not answered */
    uint8_t loc_src[16], loc_dst[16];
    int have_timestamp_info;
    uint8_t sync_in, ts_in, sync_out, ts_out;
    int have_cos;
    uint8_t dscp1, dscp2, ecn, rp;
    int have_direct;
    uint32_t s_txc, r_rxc, r_txc;
    int have_access_report;
    uint8_t access_id, return_code;
    int have_follow_up;
    uint32_t follow_up_seq;
    owp_num64 follow_up_time;
    uint8_t follow_up_mode;
} owp_stamp_tlv_answers;

/* Read the TLVs of a reflected packet whose Sequence Number is seq; key
 * (may be NULL) verifies its HMAC TLV. OWP_ERR_FORMAT, with what was read so
 * far in *a, when the area is malformed. */
owp_status owp_stamp_tlv_read_answers(const uint8_t *area, size_t len, owp_stamp_key *key,
                                      uint32_t seq, owp_stamp_tlv_answers *a, owp_err *err);

/* ---- the Session-Reflector's answers (stamp_tlv_answer.c) ---- */

/* What the reflector knows when it answers one packet. */
typedef struct owp_stamp_tlv_ctx {
    const struct sockaddr *src;   /* the sender's address and port */
    socklen_t src_len;
    const struct sockaddr *dst;   /* the address and port the packet came to; NULL unknown */
    socklen_t dst_len;
    int tos;                      /* the received TOS / traffic class octet, -1 unknown */
    int synchronized;             /* our clock is NTP-synchronized */
    uint32_t rx_count, tx_count;  /* the session's, with this packet and its reflection */
    int stateful;
    int have_last;                /* stateful: the session's previous reflected packet */
    uint32_t last_seq;
    owp_num64 last_time;
    uint64_t dscp_allowed;        /* bit d set: the reply may take DSCP d */
    owp_stamp_key *key;           /* verifies and makes HMAC TLVs; NULL none */
    int authenticated;            /* the mode: the HMAC TLV is required */
    size_t growth_allowed;        /* octets the reply may grow when a TLV needs room */
} owp_stamp_tlv_ctx;

typedef struct owp_stamp_tlv_result {
    int reply_dscp;               /* -1: the socket's own; else the CoS TLV's DSCP1 */
    unsigned count, unrecognized, malformed;
    int integrity_failed;
    int hmac_added;               /* an HMAC TLV was appended (growth) */
    size_t reply_len;             /* the reply's TLV area: len, or len + 20 when added */
} owp_stamp_tlv_result;

/* Answer the TLV area in[0..len) of a request whose Sequence Number is
 * req_seq into out[0..cap) for a reply numbered reply_seq (cap >= len;
 * out may not overlap in). Every TLV is copied, then answered in place. */
owp_status owp_stamp_tlv_answer(const owp_stamp_tlv_ctx *c, const uint8_t *in, size_t len,
                                uint32_t req_seq, uint32_t reply_seq, uint8_t *out, size_t cap,
                                owp_stamp_tlv_result *r, owp_err *err);

#endif
