/*
 * stamp_reflector.h - a STAMP Session-Reflector (RFC 8762 4.3, RFC 8972):
 * one engine answering every sender that reaches its sockets, under a
 * policy (stamp_policy.h). stampd runs it; the tests and the fuzz target
 * call its answer step directly.
 *
 * For each datagram, in order:
 *   1. the policy's address rules (denied: dropped, never answered);
 *   2. the rate buckets, per source address then in all;
 *   3. the packet: open mode answers OWP_STAMP_TWLIGHT_MIN octets and more
 *      (STAMP and TWAMP-Light senders), a shorter one would need a larger
 *      answer (dropped: amplification); authenticated mode needs the whole
 *      112-octet base with a good HMAC;
 *   4. the session, keyed by the sender's address, port and SSID (RFC 8972
 *      section 3): its counts of packets received and reflected, and, in
 *      stateful mode (RFC 8762 section 4.3), the reflector's own sequence
 *      numbers from 0; stateless mode copies the sender's;
 *   5. the TLVs (stamp_tlv.h), answered in the request's own room: the
 *      answer is never larger than the request unless a TLV needs it and
 *      the policy's max-reply-growth allows it.
 * Times: T2 is the kernel's receive stamp (SO_TIMESTAMPNS), T3 is read after
 * all the work but the sealing (the HMAC of authenticated mode), right
 * before the packet goes to the kernel, as the TWAMP reflector does
 * (reflector.h). The answer goes out from the address the request came to,
 * with the DSCP a Class of Service TLV asked for when the policy allows it.
 *
 * Threading: one thread per engine (the tables are not shared).
 */
#ifndef OWP_STAMP_REFLECTOR_H
#define OWP_STAMP_REFLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "owamp.h"
#include "stamp_policy.h"
#include "stamp_wire.h"

typedef enum owp_stamp_verdict {
    OWP_STAMP_REFLECTED = 0,
    OWP_STAMP_DROP_MALFORMED,      /* too short to be a test packet */
    OWP_STAMP_DROP_AUTH,           /* authenticated mode: the base HMAC is wrong */
    OWP_STAMP_DROP_DENIED,         /* the policy's address rules */
    OWP_STAMP_DROP_RATE_SOURCE,    /* this source's rate */
    OWP_STAMP_DROP_RATE_GLOBAL,    /* the reflector's rate */
    OWP_STAMP_DROP_AMPLIFICATION,  /* the answer would be larger than the request */
    OWP_STAMP_DROP_SESSIONS,       /* stateful: no room for another session */
    OWP_STAMP_DROP_SEND,           /* the kernel refused the answer */
    OWP_STAMP_VERDICTS
} owp_stamp_verdict;

/* "reflected", "malformed", "auth", "denied", "rate-source", "rate-global",
 * "amplification", "sessions-full", "send-error". */
const char *owp_stamp_verdict_name(owp_stamp_verdict v);

typedef struct owp_stamp_counters {
    uint64_t n[OWP_STAMP_VERDICTS];
    uint64_t tlv_unrecognized, tlv_malformed, tlv_integrity; /* TLVs answered with U, M, I */
} owp_stamp_counters;

typedef struct owp_stamp_reflector_config {
    owp_mode mode;          /* OWP_MODE_OPEN or OWP_MODE_AUTH */
    int stateful;
    owp_stamp_key *key;     /* authenticated mode, and HMAC TLVs; not owned */
    owp_log_fn log;         /* each drop at debug priority, with its reason; may be NULL */
    void *log_arg;
} owp_stamp_reflector_config;

typedef struct owp_stamp_reflector owp_stamp_reflector;

/* The engine, owning policy (its tables are sized by policy's max-sources
 * and max-sessions). */
owp_stamp_reflector *owp_stamp_reflector_new(const owp_stamp_reflector_config *cfg,
                                             owp_stamp_policy *policy, owp_err *err);
void owp_stamp_reflector_destroy(owp_stamp_reflector **self_p);
/* Swap in a new policy (owned from now on; the old one is freed). The rate
 * buckets and sessions carry over. */
void owp_stamp_reflector_set_policy(owp_stamp_reflector *r, owp_stamp_policy *policy);
const owp_stamp_policy *owp_stamp_reflector_policy(const owp_stamp_reflector *r);
const owp_stamp_counters *owp_stamp_reflector_counters(const owp_stamp_reflector *r);
size_t owp_stamp_reflector_sessions(const owp_stamp_reflector *r);

/* ---- one datagram ---- */

typedef struct owp_stamp_datagram {
    const uint8_t *buf;
    size_t len;
    const struct sockaddr *src;  /* the sender */
    socklen_t src_len;
    const struct sockaddr *dst;  /* where it came to (address and port); NULL unknown */
    socklen_t dst_len;
    owp_num64 t2;                /* receive time and its error estimate */
    uint16_t t2_err;
    uint8_t ttl;                 /* 255 unknown */
    int tos;                     /* the received TOS / traffic class, -1 unknown */
    double now;                  /* monotonic seconds: rates and session ages */
} owp_stamp_datagram;

typedef struct owp_stamp_reply {
    uint8_t *buf;   /* room for cap octets */
    size_t cap;
    size_t len;     /* set by answer */
    int dscp;       /* set by answer: -1 the socket's, else this DSCP */
} owp_stamp_reply;

/* Decide and build the answer to d in out, everything but its time stamp:
 * OWP_STAMP_REFLECTED, or the drop's verdict (counted; why, may be NULL,
 * says what was wrong). */
owp_stamp_verdict owp_stamp_reflector_answer(owp_stamp_reflector *r, const owp_stamp_datagram *d,
                                             owp_stamp_reply *out, owp_err *why);
/* Stamp the answer with T3 and seal it; the session remembers it (its
 * sequence, and the Follow-Up Telemetry of the next answer). Then the
 * caller sends it and says how that went. */
owp_status owp_stamp_reflector_seal(owp_stamp_reflector *r, owp_stamp_reply *out,
                                    owp_num64 t3, uint16_t t3_err, owp_err *err);
void owp_stamp_reflector_sent(owp_stamp_reflector *r, int ok);

/* ---- serving a socket ---- */

typedef struct owp_stamp_socket {
    int fd;                          /* bound UDP socket (not owned) */
    struct sockaddr_storage local;
    socklen_t local_len;
    int wildcard;                    /* bound to any address: replies name their source */
} owp_stamp_socket;

/* Describe fd (an owp_endpoint's: kernel receive stamps, TTLs) and ask the
 * kernel for what the reflector needs besides: the received TOS and the
 * address each datagram came to. */
owp_status owp_stamp_socket_init(owp_stamp_socket *s, int fd, owp_err *err);
/* Read and answer what is queued on s, at most max datagrams: how many
 * were read (0: none queued), or -1 with err when the socket failed. */
int owp_stamp_reflector_serve(owp_stamp_reflector *r, const owp_stamp_socket *s, int max,
                              owp_err *err);

#endif
