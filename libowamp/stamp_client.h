/*
 * stamp_client.h - a STAMP Session-Sender (RFC 8762 4.2; the engine of
 * stping): test packets on an RFC 4656 schedule to a Session-Reflector, with
 * the TLVs asked for (stamp_tlv.h), and the reflected packets collected with
 * kernel receive stamps into two-way records (twstats.h), so that the
 * report is twping's and the records can be saved in twping's file format
 * (twpfile.h).
 *
 * There is no control protocol: the session is the sender's address and
 * port and its SSID, and it ends a loss timeout after the last packet. A
 * sender thread keeps the schedule (pacer.h, as the OWAMP sender) while the
 * calling thread collects. Only answers from the reflector's address and
 * port, that decode (and pass the HMAC in authenticated mode) and answer a
 * packet that was sent, count; anything else is ignored and counted.
 */
#ifndef OWP_STAMP_CLIENT_H
#define OWP_STAMP_CLIENT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "owamp.h"
#include "stamp_tlv.h"
#include "stamp_wire.h"
#include "twstats.h"

typedef struct owp_stamp_client_spec {
    owp_mode mode;                  /* OWP_MODE_OPEN or OWP_MODE_AUTH */
    owp_stamp_key *key;             /* authenticated mode, HMAC TLVs; not owned */
    uint16_t ssid;
    owp_stamp_tlv_request tlvs;
    uint32_t npackets;
    const owp_slot *slots;          /* the schedule (copied) */
    uint32_t nslots;
    owp_num64 start_time;           /* absolute */
    double timeout;                 /* seconds after which a packet is lost */
    int dscp;                       /* 0-63, or -1 */
    owp_portrange ports;            /* our UDP port: a range, or 0-0 ephemeral */
    const struct sockaddr *local;   /* our address, NULL: any of the reflector's family */
    socklen_t local_len;
    const char *bind_device;        /* or NULL */
    const struct sockaddr *reflector;
    socklen_t reflector_len;
} owp_stamp_client_spec;

/* What the reflected packets' TLVs said: counts over every answer, and the
 * values of the last one that carried them. */
typedef struct owp_stamp_client_tlvs {
    uint32_t answers;          /* answers that carried TLVs */
    uint32_t unrecognized, malformed, integrity; /* answers with a TLV so flagged */
    uint32_t hmac_ok, hmac_bad;                  /* answers with an HMAC TLV */
    uint32_t unreadable;       /* answers whose TLV area did not parse */
    owp_stamp_tlv_answers last;
} owp_stamp_client_tlvs;

typedef struct owp_stamp_client owp_stamp_client;

owp_stamp_client *owp_stamp_client_new(const owp_stamp_client_spec *spec, owp_err *err);
void owp_stamp_client_destroy(owp_stamp_client **self_p);

/* Run the session; *interrupt (may be NULL) ends it early, keeping what was
 * measured. */
owp_status owp_stamp_client_run(owp_stamp_client *c, const atomic_int *interrupt, owp_err *err);

/* The session as a report names it and a two-way file stores it
 * (twpfile.h): SID (made here: it also seeds the schedule), our address and
 * port (sender_*), the reflector's (receiver_*), DSCP (typep), timeout,
 * npackets and the schedule. */
const owp_request *owp_stamp_client_request(const owp_stamp_client *c);
/* Our address (the one the kernel picks toward the reflector when the spec
 * named none) and the reflector's, for the report. */
const struct sockaddr *owp_stamp_client_local(const owp_stamp_client *c, socklen_t *len);
const struct sockaddr *owp_stamp_client_reflector(const owp_stamp_client *c, socklen_t *len);
/* Seconds from now until the results are in. */
double owp_stamp_client_seconds_until_results(const owp_stamp_client *c);
/* The records (valid after run; twstats.h): one per answer received, in
 * arrival order, then one per packet sent or skipped that got none. */
const owp_tw_record *owp_stamp_client_records(const owp_stamp_client *c, uint32_t *n);
const owp_stamp_client_tlvs *owp_stamp_client_tlv_summary(const owp_stamp_client *c);
/* Datagrams ignored: from elsewhere, undecodable or failing the HMAC. */
uint32_t owp_stamp_client_ignored(const owp_stamp_client *c);

#endif
