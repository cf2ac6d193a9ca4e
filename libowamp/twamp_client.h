/*
 * twamp_client.h - a TWAMP Control-Client and Session-Sender (RFC 5357; the
 * engine of twping) on an owp_client connection opened with opts.twamp set.
 *
 *   owp_tw_request()  bind the local UDP endpoint, Request-TW-Session,
 *                     Accept-Session
 *   owp_tw_run()      Start-Sessions / Start-Ack; the sender (endpoint.h's
 *                     OWAMP sender: the TWAMP sender packet is the OWAMP-Test
 *                     packet) runs in a thread while this thread collects the
 *                     reflected packets with kernel receive stamps; after the
 *                     last packet's loss timeout, Stop-Sessions
 *   owp_tw_records()  the session's records (twstats.h): one per reflection
 *                     received, in arrival order, then one per packet lost;
 *                     what twping reports and saves (twpfile.h)
 *
 * One session per run, as the reference's twping. Every wait is bounded.
 */
#ifndef OWP_TWAMP_CLIENT_H
#define OWP_TWAMP_CLIENT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client.h"
#include "error.h"
#include "owamp.h"
#include "twstats.h"

typedef struct owp_tw_spec {
    uint32_t npackets;
    const owp_slot *slots;       /* the send schedule (copied) */
    uint32_t nslots;
    uint32_t padding;
    owp_num64 start_time;        /* absolute; see owp_client_start_time() */
    owp_num64 timeout;           /* loss threshold, 32.32 seconds */
    int dscp;                    /* 0-63, or -1 */
    owp_portrange ports;         /* our UDP port range */
    int zero_addresses;          /* -Z: Sender/Receiver Address left zero */
} owp_tw_spec;

typedef struct owp_tw_session owp_tw_session;

owp_tw_session *owp_tw_request(owp_client *c, const owp_tw_spec *spec, owp_err *err);
void owp_tw_session_destroy(owp_tw_session **self_p);

/* Run the test; *interrupt (may be NULL) stops it early (the records sent so
 * far are kept). */
owp_status owp_tw_run(owp_tw_session *s, const atomic_int *interrupt, owp_err *err);

/* Seconds from now until the results are in (twping's "Approximately"). */
double owp_tw_seconds_until_results(const owp_tw_session *s);

/* The session as it runs and is stored: the request with npackets, the
 * slots, SID, our address and port (sender_*) and the reflector's
 * (receiver_*), the actual ones even when the wire's were zero (-Z). */
const owp_request *owp_tw_session_request(const owp_tw_session *s);
/* The records (valid after owp_tw_run), as owp_tw_records() above. */
const owp_tw_record *owp_tw_records(const owp_tw_session *s, uint32_t *n);

#endif
