/*
 * stamp_wire.h - STAMP (RFC 8762, with the Session-Sender Identifier of RFC
 * 8972 section 3) test packets: the base packets of the Session-Sender and
 * the Session-Reflector in unauthenticated and authenticated mode, and the
 * HMAC that authenticates them. The TLVs that may follow a base packet are
 * stamp_tlv.h's.
 *
 * Layouts (octet offsets; "MBZ" must be zero; all fields network order):
 *   sender, open:        seq 0, timestamp 4, error estimate 12, SSID 14,
 *                        MBZ 16-43                                     = 44
 *   sender, auth:        seq 0, MBZ 4-15, timestamp 16, error estimate 24,
 *                        SSID 26, MBZ 28-95, HMAC 96-111               = 112
 *   reflector, open:     seq 0, timestamp 4, error estimate 12, SSID 14,
 *                        receive timestamp 16, sender seq 24, sender
 *                        timestamp 28, sender error estimate 36, MBZ 38-39,
 *                        sender TTL 40, MBZ 41-43                      = 44
 *   reflector, auth:     seq 0, MBZ 4-15, timestamp 16, error estimate 24,
 *                        SSID 26, MBZ 28-31, receive timestamp 32, MBZ
 *                        40-47, sender seq 48, MBZ 52-63, sender timestamp
 *                        64, sender error estimate 72, MBZ 74-79, sender TTL
 *                        80, MBZ 81-95, HMAC 96-111                    = 112
 * The reflected layouts are TWAMP's (twamp_wire.h) with the SSID in octets
 * TWAMP leaves zero; a TLV area may follow any of the four.
 *
 * Authenticated mode (RFC 8762 4.2.2, 4.3.2): HMAC-SHA-256 over octets 0-95,
 * truncated to its first 16 octets; there is no encryption. The key is
 * shared out of band: a key file in the style of the .pfs files, one
 * "IDENTITY HEXKEY" line per key (pfs.h), the hex decoded to the key bytes.
 *
 * TWAMP-Light (RFC 5357 appendix I): its unauthenticated sender packet (seq,
 * timestamp, error estimate, then padding) is STAMP's open sender packet as
 * far as it goes; a reflector answers one of at least
 * OWP_STAMP_TWLIGHT_MIN octets with the reflected layout cut to the same
 * length (only MBZ octets are cut).
 */
#ifndef OWP_STAMP_WIRE_H
#define OWP_STAMP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

#define OWP_STAMP_PORT "862"
#define OWP_STAMP_OPEN_LEN 44
#define OWP_STAMP_AUTH_LEN 112
#define OWP_STAMP_HMAC_AT 96
#define OWP_STAMP_HMAC_LEN 16
/* The shortest sender packet a reflector can answer without growing it:
 * the reflected open layout up to the sender TTL (TWAMP's own minimum). */
#define OWP_STAMP_TWLIGHT_MIN 41
/* The shortest sender packet that carries the fields a reflector copies
 * (seq, timestamp, error estimate). */
#define OWP_STAMP_SENDER_MIN 14
#define OWP_STAMP_PACKET_MAX 65507
/* A key file's key: at most this many octets (HMAC takes any length; 32
 * is SHA-256's block-safe recommendation, 64 its block). */
#define OWP_STAMP_KEY_MAX 64

/* The modes: OWP_MODE_OPEN (unauthenticated) and OWP_MODE_AUTH. */
int owp_stamp_mode_valid(owp_mode mode);
/* The base packet's length in a mode (both directions have the same). */
size_t owp_stamp_base_len(owp_mode mode);

/* ---- the HMAC key ---- */
typedef struct owp_stamp_key owp_stamp_key;

/* A key of len octets (1..OWP_STAMP_KEY_MAX). */
owp_stamp_key *owp_stamp_key_new(const uint8_t *key, size_t len, owp_err *err);
/* The key of identity in a key file ("IDENTITY HEXKEY" lines): errors name
 * the file, the line or the missing identity. */
owp_stamp_key *owp_stamp_key_load(const char *path, const char *identity, owp_err *err);
/* Another key of the same octets, for another thread. */
owp_stamp_key *owp_stamp_key_dup(const owp_stamp_key *key, owp_err *err);
void owp_stamp_key_destroy(owp_stamp_key **self_p);
/* HMAC-SHA-256 of the concatenation of two pieces (b may be NULL, blen 0),
 * truncated to 16 octets. Not thread-safe on one key: one key per thread. */
owp_status owp_stamp_hmac(owp_stamp_key *key, const uint8_t *a, size_t alen, const uint8_t *b,
                          size_t blen, uint8_t out[OWP_STAMP_HMAC_LEN], owp_err *err);

/* ---- the Session-Sender's packet ---- */
typedef struct owp_stamp_sender {
    uint32_t seq;
    owp_num64 timestamp;
    uint16_t errest;
    uint16_t ssid;
} owp_stamp_sender;

/* Write the base packet into buf[0..base) (MBZ zeroed; the octets after the
 * base, the TLVs, are left as they are) and, in authenticated mode, its
 * HMAC. len >= owp_stamp_base_len(mode). */
owp_status owp_stamp_sender_encode(owp_mode mode, owp_stamp_key *key, const owp_stamp_sender *m,
                                   uint8_t *buf, size_t len, owp_err *err);
/* Decode a sender packet. Open mode accepts OWP_STAMP_SENDER_MIN octets and
 * more (a TWAMP-Light packet; the SSID is 0 when the packet stops before
 * it); authenticated mode needs the whole base and a good HMAC
 * (OWP_ERR_PROTO "bad HMAC"). OWP_ERR_FORMAT when too short. */
owp_status owp_stamp_sender_decode(owp_mode mode, owp_stamp_key *key, const uint8_t *buf,
                                   size_t len, owp_stamp_sender *m, owp_err *err);

/* ---- the Session-Reflector's packet ---- */
typedef struct owp_stamp_reflected {
    uint32_t seq;
    owp_num64 timestamp;      /* T3 */
    uint16_t errest;
    uint16_t ssid;
    owp_num64 recv_time;      /* T2 */
    uint32_t sender_seq;
    owp_num64 sender_time;    /* T1 */
    uint16_t sender_errest;
    uint8_t sender_ttl;
} owp_stamp_reflected;

/* The shortest reflected packet a reflector may send in a mode: the open
 * layout up to the sender TTL (OWP_STAMP_TWLIGHT_MIN), the whole
 * authenticated base. */
size_t owp_stamp_reflected_min(owp_mode mode);
/* Write every field but the timestamp and the HMAC into buf[0..n), n =
 * min(len, base): a packet between owp_stamp_reflected_min() and the base
 * (a TWAMP-Light answer) is the layout cut to len. Octets from the base on
 * (the TLVs) are left as they are. */
owp_status owp_stamp_reflected_prepare(owp_mode mode, const owp_stamp_reflected *m,
                                       uint8_t *buf, size_t len, owp_err *err);
/* Set the timestamp (as late as possible) and, authenticated, the HMAC. */
owp_status owp_stamp_reflected_seal(owp_mode mode, owp_stamp_key *key, owp_num64 timestamp,
                                    uint16_t errest, uint8_t *buf, size_t len, owp_err *err);
/* Decode a reflected packet of at least the base (a Session-Sender reads
 * answers to its own, full-size, packets): OWP_ERR_FORMAT when shorter,
 * OWP_ERR_PROTO on a bad HMAC. */
owp_status owp_stamp_reflected_decode(owp_mode mode, owp_stamp_key *key, const uint8_t *buf,
                                      size_t len, owp_stamp_reflected *m, owp_err *err);

#endif
