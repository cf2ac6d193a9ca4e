/*
 * reflector.h - a TWAMP Session-Reflector (RFC 5357 4.2): one test session's
 * loop that answers each sender packet with a reflected packet.
 *
 * Time stamps are real: the receive time (T2) is the kernel's receive stamp
 * of the datagram (SO_TIMESTAMPNS, as the OWAMP receiver), and the reflected
 * packet's own time stamp (T3) is read after all the per-packet work but the
 * sealing that must follow it (authenticated and encrypted modes: the HMAC
 * and the encryption of the blocks holding it, a few microseconds), then the
 * packet goes to the kernel: T3 - T2 is the time the packet really spent in
 * the reflector. A transmit stamp from the kernel would come only after the
 * packet left, too late to be carried in it. Only packets from the session's sender (address
 * and port; address only when the request named port 0) that decode (and
 * pass the HMAC in authenticated and encrypted modes) are answered: anything
 * else is counted and dropped, never answered, so the reflector cannot be
 * made to send to a third party.
 *
 * The loop is blocking and meant for its own thread (twampd runs one per
 * accepted session). STAMP's reflector (stamp_reflector.h) answers every
 * sender of its socket under a policy instead of one session's; it shares
 * this loop's receive helpers (endpoint_internal.h) and the reflected
 * layouts (twamp_wire.h).
 */
#ifndef OWP_REFLECTOR_H
#define OWP_REFLECTOR_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "owamp.h"
#include "twamp_wire.h"

typedef struct owp_reflector_config {
    /* A bound UDP socket with receive time stamps and TTLs enabled and the
     * send TTL / DSCP set (an owp_endpoint's: owp_endpoint_fd). Not owned. */
    int fd;
    /* The session's sender; any_port: its address only (Sender Port 0). */
    const struct sockaddr *peer;
    socklen_t peer_len;
    int any_port;
    owp_mode test_mode;      /* O, A or E (mixed mode's test packets are O) */
    owp_tw_crypt *tc;        /* A/E: the session's test crypto; NULL in O */
    double idle_timeout;     /* seconds without a packet that end the session; <= 0: none */
} owp_reflector_config;

typedef struct owp_reflector_stats {
    uint64_t reflected;
    uint64_t dropped_bad_source;  /* from another address/port */
    uint64_t dropped_bad_packet;  /* too short, or a bad HMAC */
    int idle_timed_out;           /* ended by idle_timeout */
} owp_reflector_stats;

/* Reflect until *stop becomes non-zero or the session is idle for
 * idle_timeout. OWP_OK in both cases; an error only when the socket fails. */
owp_status owp_reflector_run(const owp_reflector_config *cfg, atomic_int *stop,
                             owp_reflector_stats *stats, owp_err *err);

#endif
