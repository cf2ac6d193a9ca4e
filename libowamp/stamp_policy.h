/*
 * stamp_policy.h - who a STAMP Session-Reflector answers and how much
 * (stampd's policy file, stampd(8) "POLICY FILE"), and the token buckets
 * that enforce the rates.
 *
 * The file: one statement a line ('#' comments, '\' continues a line, as
 * owampd.conf):
 *   allow PREFIX...          answer these sources  (192.0.2.0/24, 2001:db8::/32,
 *   deny PREFIX...           never answer these     a bare address: one host)
 *   default allow|deny       when no rule matches (without it: deny if the file
 *                            has an allow rule, else allow)
 *   rate-per-source PPS [BURST]   packets a second from one address (0: no limit)
 *   rate-global PPS [BURST]       packets a second in all
 *   max-sources N            addresses whose rate is tracked at once
 *   max-sessions N           sessions (address, port, SSID) kept at once
 *   session-idle SECONDS     a session idle this long is forgotten
 *   cos-dscp LIST            DSCPs a Class of Service TLV may ask for the reply
 *                            (all, none, or 0,8,10-14,46)
 *   max-reply-growth OCTETS  how much an answer may exceed its request when a
 *                            TLV needs the room (0, or 20: an authenticated
 *                            reply's own HMAC TLV)
 * The first allow or deny rule that matches the source address decides; an
 * IPv4 address seen as v4-mapped IPv6 matches IPv4 rules. BURST defaults to
 * PPS (one second's worth).
 *
 * A policy is immutable once made: a reload makes a new one and swaps it in,
 * and a file that does not parse leaves the old one in place (stampd).
 */
#ifndef OWP_STAMP_POLICY_H
#define OWP_STAMP_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

/* Defaults of a policy without a file or without the statement. */
#define OWP_STAMP_RATE_SOURCE 1000.0
#define OWP_STAMP_RATE_GLOBAL 100000.0
#define OWP_STAMP_MAX_SOURCES 65536
#define OWP_STAMP_MAX_SESSIONS 65536
#define OWP_STAMP_SESSION_IDLE 300.0

typedef struct owp_stamp_policy owp_stamp_policy;

typedef struct owp_stamp_limits {
    double rate_source, burst_source;   /* packets/s, tokens; rate 0: no limit */
    double rate_global, burst_global;
    size_t max_sources, max_sessions;
    double session_idle;                /* seconds */
    uint64_t dscp_allowed;              /* bit d: DSCP d may be asked for */
    size_t max_reply_growth;            /* octets */
} owp_stamp_limits;

/* Everything allowed, the default limits. */
owp_stamp_policy *owp_stamp_policy_new(owp_err *err);
/* Parse text (name for messages: "NAME:LINE: why"). */
owp_stamp_policy *owp_stamp_policy_parse(const char *text, size_t len, const char *name,
                                         owp_err *err);
owp_stamp_policy *owp_stamp_policy_load(const char *path, owp_err *err);
void owp_stamp_policy_destroy(owp_stamp_policy **self_p);

/* 1 when the rules let addr be answered. */
int owp_stamp_policy_allows(const owp_stamp_policy *p, const struct sockaddr *addr,
                            socklen_t len);
const owp_stamp_limits *owp_stamp_policy_limits(const owp_stamp_policy *p);
/* One line for the log: "2 rules, default deny, 1000/s per source (burst
 * 1000), 100000/s in all (burst 100000)". */
void owp_stamp_policy_describe(const owp_stamp_policy *p, char *buf, size_t len);

/* ---- enforcing the rates ---- */
typedef enum owp_stamp_rate {
    OWP_STAMP_RATE_OK = 0,
    OWP_STAMP_RATE_SOURCE_EXCEEDED,  /* this address's bucket is empty (or no room to track it) */
    OWP_STAMP_RATE_GLOBAL_EXCEEDED
} owp_stamp_rate;

typedef struct owp_stamp_limiter owp_stamp_limiter;

/* Buckets for up to max_sources addresses (the first policy's; a reload
 * that raises max-sources takes effect at the next restart). */
owp_stamp_limiter *owp_stamp_limiter_new(size_t max_sources, owp_err *err);
void owp_stamp_limiter_destroy(owp_stamp_limiter **self_p);
/* Take a token for one packet from addr at now (seconds, monotonic) under
 * the limits: the per-source bucket first, then the global one. */
owp_stamp_rate owp_stamp_limiter_take(owp_stamp_limiter *l, const owp_stamp_limits *lim,
                                      const struct sockaddr *addr, socklen_t len, double now);

#endif
