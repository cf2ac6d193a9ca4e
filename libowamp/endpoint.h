/*
 * endpoint.h - the UDP side of a test session: socket setup and the send and
 * receive loops (RFC 4656 section 4).
 *
 * Receive timestamps come from the kernel (SO_TIMESTAMPNS), never from a
 * clock read after recvmsg; the sender takes its timestamp immediately
 * before sendto and sleeps precisely (it does not oversleep its schedule).
 * The TTL/hop limit of each packet is read from IP_RECVTTL/IPV6_RECVHOPLIMIT.
 * Each loop is blocking and meant to run in its own thread; a shared stop
 * flag ends it early.
 */
#ifndef OWP_ENDPOINT_H
#define OWP_ENDPOINT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "owamp.h"

typedef struct owp_endpoint_opts {
    int family;                     /* AF_INET or AF_INET6 */
    const struct sockaddr *local;   /* address to bind (port ignored); NULL = wildcard */
    socklen_t local_len;
    owp_portrange ports;            /* first port random within the range, then upward with wrap */
    int dscp;                       /* 0-63, or -1 to leave the TOS/TCLASS alone */
    const char *bind_device;        /* SO_BINDTODEVICE, or NULL */
} owp_endpoint_opts;

typedef struct owp_endpoint owp_endpoint;

/* Create and bind the UDP socket. An exhausted port range fails with a
 * message naming the range ("no free UDP port in 8760-9960"). */
owp_endpoint *owp_endpoint_new(const owp_endpoint_opts *opts, owp_err *err);
void owp_endpoint_destroy(owp_endpoint **self_p);
uint16_t owp_endpoint_port(const owp_endpoint *self);
int owp_endpoint_fd(const owp_endpoint *self);

/* The peer's address and port (from the Request-Session/Accept-Session).
 * The receiver drops packets from any other source. */
owp_status owp_endpoint_set_peer(owp_endpoint *self, const struct sockaddr *peer,
                                 socklen_t peer_len, owp_err *err);

/* Keys of one test session: mode and, for A/E, the control connection's
 * session keys (the per-session test keys are derived from them and the SID). */
typedef struct owp_session_keys {
    owp_mode mode;
    uint8_t aes_key[16];
    uint8_t hmac_key[32];
} owp_session_keys;

typedef struct owp_send_result {
    uint32_t next_seqno;  /* first seq not sent (npackets when complete) */
    uint32_t nskips;
    owp_skip *skips;      /* malloc'd: runs of packets not sent because > timeout late */
} owp_send_result;
void owp_send_result_clear(owp_send_result *r);

/* Send req->npackets packets on req's schedule from req->start_time. A packet
 * more than req->timeout late is skipped (recorded in a skip range). Returns
 * early, with what was sent so far, when *stop becomes non-zero (that is still
 * OWP_OK: result->next_seqno says where it stopped). The socket is connected
 * to the peer (owp_endpoint_set_peer() must come first); the calling thread's
 * timer slack is lowered to 1 ns for the duration so it wakes on time. */
owp_status owp_endpoint_send(owp_endpoint *self, const owp_request *req,
                             const owp_session_keys *keys, atomic_int *stop,
                             owp_send_result *result, owp_err *err);

/* Receive req's packets. Each arrival (duplicates included) and each loss
 * (a seq not seen by its scheduled time + req->timeout; its send time is the
 * scheduled time) is passed to fn in arrival/expiry order. Returns when every
 * seq is accounted for, or when *stop becomes non-zero, after reporting every
 * still-missing seq below stop_next_seqno (if non-NULL and set, else npackets)
 * as lost. Packets with seq >= npackets, from a wrong source, or failing the
 * HMAC are dropped and counted, never fatal.
 *
 * stop_next_seqno is read once, after *stop is seen: its value (clamped to
 * npackets) is the sender's Next Seqno, so a caller with no Stop-Sessions
 * figure must leave it at npackets (or UINT32_MAX), or pass NULL. A stop is
 * still OWP_OK. fn returning non-zero ends the loop with OWP_ERR_INTERRUPTED.
 * Without a peer (owp_endpoint_set_peer) any source is accepted. */
typedef struct owp_recv_stats {
    uint64_t received, duplicates, lost, dropped_bad_seq, dropped_bad_source, dropped_bad_hmac;
    uint64_t dropped_late; /* arrived after its seq had already been reported lost */
} owp_recv_stats;

/* The receiver keeps one bit per packet; larger sessions are refused
 * (OWP_ERR_INVALID) rather than allocating hundreds of megabytes. */
#define OWP_ENDPOINT_MAX_RECV_PACKETS 100000000u
owp_status owp_endpoint_receive(owp_endpoint *self, const owp_request *req,
                                const owp_session_keys *keys, atomic_int *stop,
                                const atomic_uint *stop_next_seqno, owp_record_fn fn, void *arg,
                                owp_recv_stats *stats, owp_err *err);

#endif
