/*
 * wire.h - OWAMP-Control messages (RFC 4656 section 3) as C structs, and
 * their plaintext byte layouts. Encoding/decoding only: encryption and the
 * running HMACs are the channel's job (channel.h). Layout facts:
 * ../shared/spec/owamp-wire.md.
 *
 * Decoders check sizes, message types, MBZ fields and value ranges and return
 * OWP_ERR_PROTO with a message naming the message and field at fault.
 * Encoders zero every MBZ and HMAC field.
 */
#ifndef OWP_WIRE_H
#define OWP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

/* Control message type bytes (first byte of a client command). */
enum {
    OWP_MSG_REQUEST_SESSION = 1,
    OWP_MSG_START_SESSIONS = 2,
    OWP_MSG_STOP_SESSIONS = 3,
    OWP_MSG_FETCH_SESSION = 4,
    OWP_MSG_REQUEST_TW_SESSION = 5 /* TWAMP (RFC 5357): twamp_wire.h; owampd closes */
};

/* Accept values (section 3.3). */
enum {
    OWP_ACCEPT_OK = 0,
    OWP_ACCEPT_FAILURE = 1,
    OWP_ACCEPT_INTERNAL = 2,
    OWP_ACCEPT_NOT_SUPPORTED = 3,
    OWP_ACCEPT_PERMANENT = 4,
    OWP_ACCEPT_TEMPORARY = 5
};
const char *owp_accept_name(int accept);

/* ---- Server-Greeting, 64 bytes, clear ---- */
#define OWP_GREETING_LEN 64
typedef struct owp_greeting {
    uint32_t modes; /* owp_mode bits offered; 0 = refused */
    uint8_t challenge[16];
    uint8_t salt[16];
    uint32_t count; /* PBKDF2 iterations */
} owp_greeting;
void owp_wire_encode_greeting(const owp_greeting *m, uint8_t out[OWP_GREETING_LEN]);
owp_status owp_wire_decode_greeting(const uint8_t in[OWP_GREETING_LEN], owp_greeting *m,
                                    owp_err *err);

/* ---- Set-Up-Response, 164 bytes, clear ---- */
#define OWP_SETUP_RESPONSE_LEN 164
#define OWP_KEYID_LEN 80
typedef struct owp_setup_response {
    uint32_t mode;                   /* exactly one owp_mode bit */
    char keyid[OWP_KEYID_LEN + 1];   /* NUL-terminated; empty in open mode */
    uint8_t token[64];
    uint8_t client_iv[16];
} owp_setup_response;
void owp_wire_encode_setup_response(const owp_setup_response *m,
                                    uint8_t out[OWP_SETUP_RESPONSE_LEN]);
/* Rejects a Mode with zero, several or unknown bits. */
owp_status owp_wire_decode_setup_response(const uint8_t in[OWP_SETUP_RESPONSE_LEN],
                                          owp_setup_response *m, owp_err *err);
/* The same with the set of known modes given: TWAMP adds OWP_MODE_MIXED. */
owp_status owp_wire_decode_setup_response_modes(const uint8_t in[OWP_SETUP_RESPONSE_LEN],
                                                uint32_t known, owp_setup_response *m,
                                                owp_err *err);

/* ---- Server-Start, 48 bytes: 0-31 clear, 32-47 first encrypted block (A/E) ---- */
#define OWP_SERVER_START_LEN 48
typedef struct owp_server_start {
    uint8_t accept;
    uint8_t server_iv[16];
    owp_num64 start_time; /* daemon start time */
} owp_server_start;
void owp_wire_encode_server_start(const owp_server_start *m, uint8_t out[OWP_SERVER_START_LEN]);
owp_status owp_wire_decode_server_start(const uint8_t in[OWP_SERVER_START_LEN],
                                        owp_server_start *m, owp_err *err);

/* ---- Request-Session: 112-byte preamble (HMAC at 96), 16 per slot, HMAC block ---- */
#define OWP_REQUEST_PREAMBLE_LEN 112
#define OWP_SLOT_LEN 16
#define OWP_MAX_SLOTS 65536 /* sanity bound applied by decoders */
/* owp_request (owamp.h) on the wire. Preamble only (bytes 0-111, HMAC
 * field zero); slots are separate. */
void owp_wire_encode_request_preamble(const owp_request *m, uint8_t out[OWP_REQUEST_PREAMBLE_LEN]);
/* Bytes 1-87 into m's fields as they stand (IPVN's nibble, the Conf bytes
 * as sent), nothing checked, the rest of m untouched: the fields
 * Request-Session and TWAMP's Request-TW-Session share. */
void owp_wire_decode_request_fields(const uint8_t in[OWP_REQUEST_PREAMBLE_LEN], owp_request *m);
/* Fills every field but slots (m->slots untouched). */
owp_status owp_wire_decode_request_preamble(const uint8_t in[OWP_REQUEST_PREAMBLE_LEN],
                                            owp_request *m, owp_err *err);
void owp_wire_encode_slot(const owp_slot *slot, uint8_t out[OWP_SLOT_LEN]);
owp_status owp_wire_decode_slot(const uint8_t in[OWP_SLOT_LEN], owp_slot *slot, owp_err *err);
/* Deep copy (slots duplicated); free with owp_request_clear(). */
owp_status owp_request_copy(owp_request *dst, const owp_request *src, owp_err *err);
void owp_request_clear(owp_request *m);
/* DSCP carried by typep, or -1 if typep is not a plain DSCP. */
int owp_request_dscp(const owp_request *m);

/* ---- Accept-Session, 48 bytes (HMAC at 32) ---- */
#define OWP_ACCEPT_SESSION_LEN 48
typedef struct owp_accept_session {
    uint8_t accept;
    uint16_t port;
    uint8_t sid[OWP_SID_LEN];
} owp_accept_session;
void owp_wire_encode_accept_session(const owp_accept_session *m,
                                    uint8_t out[OWP_ACCEPT_SESSION_LEN]);
owp_status owp_wire_decode_accept_session(const uint8_t in[OWP_ACCEPT_SESSION_LEN],
                                          owp_accept_session *m, owp_err *err);

/* ---- Start-Sessions / Start-Ack, 32 bytes each (HMAC at 16) ---- */
#define OWP_START_SESSIONS_LEN 32
#define OWP_START_ACK_LEN 32
void owp_wire_encode_start_sessions(uint8_t out[OWP_START_SESSIONS_LEN]);
owp_status owp_wire_decode_start_sessions(const uint8_t in[OWP_START_SESSIONS_LEN], owp_err *err);
void owp_wire_encode_start_ack(uint8_t accept, uint8_t out[OWP_START_ACK_LEN]);
owp_status owp_wire_decode_start_ack(const uint8_t in[OWP_START_ACK_LEN], uint8_t *accept,
                                     owp_err *err);

/* ---- Stop-Sessions (type 3): header block, per session SID block +
 *      next-seqno/skip blocks, then an HMAC block ---- */
typedef struct owp_stop_session {
    uint8_t sid[OWP_SID_LEN];
    uint32_t next_seqno;
    uint32_t nskips;
    owp_skip *skips;
} owp_stop_session;
typedef struct owp_stop_sessions {
    uint8_t accept;
    uint32_t nsessions;
    owp_stop_session *sessions;
} owp_stop_sessions;
/* Bytes of a Stop-Sessions message excluding the final HMAC block. */
size_t owp_wire_stop_sessions_len(const owp_stop_sessions *m);
/* out must hold owp_wire_stop_sessions_len(m) bytes. */
void owp_wire_encode_stop_sessions(const owp_stop_sessions *m, uint8_t *out);
/* Incremental decode, since the length is only known after the first block:
 * decode_stop_header reads block 0 (nsessions); then, per session, the SID
 * block + the seqno block give nskips (owp_wire_stop_session_blocks says how
 * many further 16-byte blocks to read). The helpers below do the arithmetic;
 * owp_wire_decode_stop_sessions decodes a complete buffer. */
/* Sanity bounds applied by the Stop-Sessions decoders, so a hostile peer cannot
 * make us read or allocate without limit (the reference lists only the sessions
 * of one control connection; a skip range needs at least one unsent packet). */
#define OWP_STOP_MAX_SESSIONS 1024
#define OWP_STOP_MAX_SKIPS (1u << 20)
/* Rejects a wrong type, an Accept outside 0-5, nsessions > OWP_STOP_MAX_SESSIONS. */
owp_status owp_wire_decode_stop_header(const uint8_t in[16], uint8_t *accept, uint32_t *nsessions,
                                       owp_err *err);
/* The block after a session's SID: Next Seqno and Number of Skip Ranges
 * (rejects nskips > OWP_STOP_MAX_SKIPS). */
owp_status owp_wire_decode_stop_counts(const uint8_t in[16], uint32_t *next_seqno,
                                       uint32_t *nskips, owp_err *err);
/* Number of 16-byte blocks a session with nskips skip ranges occupies (SID block included). */
size_t owp_wire_stop_session_blocks(uint32_t nskips);
/* in/len: the whole message without its HMAC block (len must match exactly).
 * On failure m is left empty. Free a decoded m with owp_stop_sessions_clear(). */
owp_status owp_wire_decode_stop_sessions(const uint8_t *in, size_t len, owp_stop_sessions *m,
                                         owp_err *err);
void owp_stop_sessions_clear(owp_stop_sessions *m);

/* ---- Fetch-Session 48 bytes (HMAC at 32), Fetch-Ack 32 bytes (HMAC at 16) ---- */
#define OWP_FETCH_SESSION_LEN 48
#define OWP_FETCH_ACK_LEN 32
typedef struct owp_fetch_session {
    uint32_t begin_seq, end_seq;
    uint8_t sid[OWP_SID_LEN];
} owp_fetch_session;
void owp_wire_encode_fetch_session(const owp_fetch_session *m, uint8_t out[OWP_FETCH_SESSION_LEN]);
owp_status owp_wire_decode_fetch_session(const uint8_t in[OWP_FETCH_SESSION_LEN],
                                         owp_fetch_session *m, owp_err *err);
typedef struct owp_fetch_ack {
    uint8_t accept;
    uint8_t finished;
    uint32_t next_seqno;
    uint32_t nskips;
    uint32_t nrecords;
} owp_fetch_ack;
void owp_wire_encode_fetch_ack(const owp_fetch_ack *m, uint8_t out[OWP_FETCH_ACK_LEN]);
owp_status owp_wire_decode_fetch_ack(const uint8_t in[OWP_FETCH_ACK_LEN], owp_fetch_ack *m,
                                     owp_err *err);

/* Round up to the 16-byte block size. */
static inline size_t owp_wire_pad16(size_t n) { return (n + 15) & ~(size_t)15; }

#endif
