/*
 * owamp.h - the protocol's vocabulary (RFC 4656): the plain types and
 * constants that several modules name without needing the module that
 * processes them. A header that only has to say "a mode", "a port range",
 * "a session request" or "a record" includes this file, not wire.h,
 * endpoint.h or owpfile.h.
 *
 * Types only: each one's operations stay with the module that owns them -
 * wire.h encodes and decodes requests (and copies and frees them),
 * sendsched.h parses and walks slots, owpfile.h reads and writes records,
 * options.h parses port ranges and modes.
 */
#ifndef OWP_OWAMP_H
#define OWP_OWAMP_H

#include <stdint.h>

#include "timestamp.h" /* owp_num64 */

/* ---- Modes (section 3.1): the bits of the Server-Greeting's Modes field;
 *      a Set-Up-Response picks exactly one. ---- */
typedef enum owp_mode {
    OWP_MODE_OPEN = 1,
    OWP_MODE_AUTH = 2,
    OWP_MODE_ENCRYPTED = 4,
    /* TWAMP only (RFC 5618): TWAMP-Control as in encrypted mode, TWAMP-Test
     * packets unauthenticated. OWAMP servers never offer it. */
    OWP_MODE_MIXED = 8
} owp_mode;

/* ---- UDP ports of test endpoints (owping/powstream -P, owampd testports) ---- */
typedef struct owp_portrange {
    uint16_t low, high; /* 0-0: ephemeral */
} owp_portrange;

/* ---- Session identifier (section 3.5): 16 bytes, chosen by the receiving
 *      side, carried as uint8_t sid[OWP_SID_LEN]. ---- */
#define OWP_SID_LEN 16

/* ---- Schedule slots (section 3.5): packet i uses slot i mod nslots ---- */
typedef enum owp_slot_type { OWP_SLOT_EXP = 0, OWP_SLOT_FIXED = 1 } owp_slot_type;

typedef struct owp_slot {
    owp_slot_type type;
    owp_num64 value; /* mean (exp) or offset (fixed), 32.32 seconds */
} owp_slot;

/* ---- One test session as Request-Session describes it (section 3.5) ---- */
typedef struct owp_request {
    uint8_t ipvn;           /* 4 or 6 */
    uint8_t conf_sender;    /* 1 when the server is asked to send */
    uint8_t conf_receiver;  /* 1 when the server is asked to receive */
    uint32_t nslots;
    uint32_t npackets;
    uint16_t sender_port;
    uint16_t receiver_port;
    uint8_t sender_addr[16];   /* IPv4: first 4 bytes, rest zero */
    uint8_t receiver_addr[16];
    uint8_t sid[OWP_SID_LEN];
    uint32_t padding;
    owp_num64 start_time;
    owp_num64 timeout;
    uint32_t typep;         /* Type-P descriptor; DSCP in the low 6 bits of its first byte */
    owp_slot *slots;        /* nslots entries, owned by whoever filled the struct */
} owp_request;

/* ---- A run of packets the sender did not send (Stop-Sessions, section
 *      3.8; the .owp file's skip ranges) ---- */
typedef struct owp_skip {
    uint32_t first, last; /* inclusive */
} owp_skip;

/* ---- One packet as the receiver saw it (section 4.2 / the .owp record) ---- */
typedef struct owp_record {
    uint32_t seq;
    uint16_t send_err;
    uint16_t recv_err;
    owp_num64 send_time;
    owp_num64 recv_time; /* 0 = lost */
    uint8_t ttl;         /* 255 when the receiver could not see it */
} owp_record;

static inline int owp_record_lost(const owp_record *r) { return r->recv_time == 0; }

/* A consumer of records (file readers, the test receiver): returns non-zero
 * to stop the producer early. */
typedef int (*owp_record_fn)(const owp_record *r, void *arg);

/* ---- Finished: how a session ended (the .owp header, Fetch-Ack, section 3.9) ---- */
enum { OWP_FINISHED_ERROR = 0, OWP_FINISHED_NORMAL = 1, OWP_FINISHED_INCOMPLETE = 2 };

#endif
