/*
 * twamp_wire.h - what TWAMP (RFC 5357, mixed mode RFC 5618) adds to the
 * OWAMP wire: the Request-TW-Session control message and the two TWAMP-Test
 * packet layouts, with their per-packet crypto. Everything else on the
 * TWAMP-Control connection (greeting, Set-Up-Response, Server-Start,
 * Accept-Session, Start-Sessions, Start-Ack, Stop-Sessions without session
 * records) is OWAMP's, encoded by wire.h and carried by channel.h.
 *
 * Facts as the reference (owamp 5.2.3) puts them on the wire:
 * tests/vectors/twamp/README.md sections A-C.
 *
 * Test packets (UDP payload; "keyed" = authenticated or encrypted mode; mixed
 * mode uses the open layouts):
 *   sender, open:     seq(4) ts(8) err(2) padding                         >= 14
 *   sender, keyed:    seq(4) MBZ(12) ts(8) err(2) MBZ(6) HMAC(16) padding  >= 48
 *                     (the OWAMP-Test layout: testpkt.h builds and opens it)
 *   reflector, open:  seq(4) ts(8) err(2) MBZ(2) rts(8) sseq(4) sts(8)
 *                     serr(2) MBZ(2) sttl(1) padding                      >= 41
 *   reflector, keyed: seq(4) MBZ(12) ts(8) err(2) MBZ(6) rts(8) MBZ(8)
 *                     sseq(4) MBZ(12) sts(8) serr(2) MBZ(6) sttl(1) MBZ(15)
 *                     HMAC(16) padding                                    >= 112
 * Authenticated mode encrypts octets 0-15 (AES-ECB) and the HMAC covers
 * plaintext 0-15, in both directions; encrypted mode encrypts 0-31 (sender)
 * or 0-95 (reflector) with AES-CBC, IV 0, and the HMAC covers the same
 * plaintext. The test keys are OWAMP's (crypto.h owp_test_session_keys).
 */
#ifndef OWP_TWAMP_WIRE_H
#define OWP_TWAMP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

#define OWP_TW_CONTROL_PORT "862"

/* ---- Request-TW-Session (command 5), 112 octets, HMAC at 96 ----
 * The layout of OWAMP's Request-Session preamble; Conf-Sender, Conf-Receiver,
 * Number of Schedule Slots and Number of Packets must be zero, and there are
 * no slot blocks. The owp_request's slots must be NULL and nslots 0. */
#define OWP_TW_REQUEST_LEN 112
void owp_tw_encode_request(const owp_request *m, uint8_t out[OWP_TW_REQUEST_LEN]);

/* Why a decoded request cannot be served (an Accept-Session value to answer
 * with, never a reason to drop the connection). */
typedef enum owp_tw_request_verdict {
    OWP_TW_REQUEST_OK = 0,
    OWP_TW_REQUEST_UNSUPPORTED /* Accept 3: non-zero Conf/slots/packets, IPVN, Type-P */
} owp_tw_request_verdict;

/* Decode the 112 octets (the HMAC field is not looked at). OWP_ERR_PROTO only
 * for a wrong command number; a request the reflector does not support
 * decodes with *verdict = OWP_TW_REQUEST_UNSUPPORTED and why in err's message
 * (the status is still OWP_OK). m->slots is set to NULL. */
owp_status owp_tw_decode_request(const uint8_t in[OWP_TW_REQUEST_LEN], owp_request *m,
                                 owp_tw_request_verdict *verdict, owp_err *err);

/* ---- TWAMP-Test ---- */
#define OWP_TW_SENDER_OPEN_MIN 14
#define OWP_TW_SENDER_KEYED_MIN 48
#define OWP_TW_REFLECT_OPEN_MIN 41
#define OWP_TW_REFLECT_KEYED_MIN 112
#define OWP_TW_PACKET_MAX 65535

/* The mode the test packets follow: mixed mode's are open. */
owp_mode owp_tw_test_mode(owp_mode control_mode);
/* Sizes for the test mode (O/A/E): a sender packet with this padding, and
 * the reflected packet answering a sender packet of sender_len octets (the
 * reference's rule: the sender's size, at least the reflector's minimum). */
size_t owp_tw_sender_size(owp_mode test_mode, uint32_t padding);
size_t owp_tw_reflect_size(owp_mode test_mode, size_t sender_len);
size_t owp_tw_reflect_min(owp_mode test_mode);

/* One reflected packet's fields. */
typedef struct owp_tw_reflected {
    uint32_t seq;            /* the reflector's own count */
    owp_num64 timestamp;     /* when the reflector sent it (T3) */
    uint16_t errest;
    owp_num64 recv_time;     /* when the reflector received the sender packet (T2) */
    uint32_t sender_seq;
    owp_num64 sender_time;   /* T1 as the sender packet carried it */
    uint16_t sender_errest;
    uint8_t sender_ttl;      /* IP TTL / hop limit the sender packet arrived with */
} owp_tw_reflected;

/* Per-session crypto of the reflected layout (NULL in open mode); keys as
 * from owp_test_session_keys(). */
typedef struct owp_tw_crypt owp_tw_crypt;
owp_tw_crypt *owp_tw_crypt_new(owp_mode test_mode, const uint8_t test_aes_key[16],
                               const uint8_t test_hmac_key[32], owp_err *err);
/* The same, derived from the control connection's session keys and the SID
 * (*out NULL in open and mixed mode). */
owp_status owp_tw_crypt_for_session(owp_mode control_mode, const uint8_t sid[OWP_SID_LEN],
                                    const uint8_t aes_session_key[16],
                                    const uint8_t hmac_session_key[32], owp_tw_crypt **out,
                                    owp_err *err);
void owp_tw_crypt_destroy(owp_tw_crypt **self_p);

/* Write every field but the timestamp (and the HMAC) into buf[0..len), len
 * >= owp_tw_reflect_min(); octets from the minimum on (the padding) are left
 * as the caller put them. Then owp_tw_reflect_seal() sets the timestamp as
 * late as possible and does the crypto. */
owp_status owp_tw_reflect_prepare(owp_mode test_mode, const owp_tw_reflected *m, uint8_t *buf,
                                  size_t len, owp_err *err);
owp_status owp_tw_reflect_seal(owp_tw_crypt *tc, owp_mode test_mode, owp_num64 timestamp,
                               uint16_t errest, uint8_t *buf, size_t len, owp_err *err);
/* Decode a reflected packet in place (decrypting it): OWP_ERR_FORMAT when
 * shorter than the minimum, OWP_ERR_PROTO on a bad HMAC. */
owp_status owp_tw_reflect_open(owp_tw_crypt *tc, owp_mode test_mode, uint8_t *buf, size_t len,
                               owp_tw_reflected *m, owp_err *err);

/* The reflected layouts alone, without TWAMP's crypto: STAMP (RFC 8762)
 * reflects in the same layouts (its authenticated one is TWAMP's keyed
 * layout, sealed with its own HMAC; stamp_wire.h). layout is OWP_MODE_OPEN
 * or a keyed mode. set_time writes the timestamp and error estimate; fields
 * decodes buf, which holds at least owp_tw_reflect_min(layout) octets. */
void owp_tw_reflect_set_time(owp_mode layout, owp_num64 timestamp, uint16_t errest,
                             uint8_t *buf);
void owp_tw_reflect_fields(owp_mode layout, const uint8_t *buf, owp_tw_reflected *m);

/* Sender packets in the same crypto object (the layouts of testpkt.h, for
 * tests and for readers that have an owp_tw_crypt rather than an
 * owp_testcrypt). open decodes in place. */
owp_status owp_tw_sender_seal(owp_tw_crypt *tc, owp_mode test_mode, uint32_t seq,
                              owp_num64 timestamp, uint16_t errest, uint8_t *buf, size_t len,
                              owp_err *err);
owp_status owp_tw_sender_open(owp_tw_crypt *tc, owp_mode test_mode, uint8_t *buf, size_t len,
                              uint32_t *seq, owp_num64 *timestamp, uint16_t *errest,
                              owp_err *err);

#endif
