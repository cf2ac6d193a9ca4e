/*
 * endpoint_internal.h - what the parts of the test endpoint share: the
 * endpoint object and the few calls between the parts. Not installed;
 * endpoint.h is the public interface.
 *
 *   endpoint.c       the socket: creation, options, port range, peer, teardown;
 *                    the per-session checks and test crypto both loops use
 *   endpoint_send.c  the send path: schedule, skips, sealing, sendto
 *   endpoint_recv.c  the receive path: kernel timestamps, duplicates, losses
 *   pacer.c          the sender's wait for each packet's due time (pacer.h)
 *
 * An endpoint is used by one thread at a time (the thread running its send
 * or receive loop); the loops share nothing but the stop flags they are given.
 */
#ifndef OWP_ENDPOINT_INTERNAL_H
#define OWP_ENDPOINT_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "endpoint.h"
#include "testpkt.h"

/* How often the loops look at the stop flag while idle (waiting for the
 * start, or for a late packet). Every such wake-up costs a context switch:
 * with a thousand sessions at once, 20 ms made as many idle wake-ups as
 * there were packets; 50 ms still stops a session well within 0.1 s. */
#define OWP_EP_STOP_POLL_MS 50
#define OWP_EP_STOP_POLL_NS (OWP_EP_STOP_POLL_MS * 1000000ull)

struct owp_endpoint {
    int fd;
    int family;
    uint16_t port;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    int have_peer;
};

static inline owp_num64 owp_ep_add_saturated(owp_num64 a, owp_num64 b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline int owp_ep_stop_requested(atomic_int *stop)
{
    return stop && atomic_load_explicit(stop, memory_order_relaxed);
}

/* OWP_ERR_INVALID unless mode is exactly one of O, A, E (endpoint.c). */
owp_status owp_ep_check_mode(owp_mode mode, owp_err *err);

/* The per-session test crypto, NULL in open mode (endpoint.c). */
owp_status owp_ep_make_testcrypt(const owp_request *req, const owp_session_keys *keys,
                                 owp_testcrypt **tc, owp_err *err);

/* Same address and port? IPv4 and its v4-mapped IPv6 form compare equal, so
 * a dual-stack socket's sources match an IPv4 peer (endpoint.c). */
int owp_ep_same_address(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                        socklen_t blen);
/* The same, the ports aside. */
int owp_ep_same_host(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                     socklen_t blen);

/* ------------------------------------------------------------ receiving
 * What the test sockets' readers share (the OWAMP receiver, the TWAMP
 * reflector and twping's collector; endpoint_recv.c). */

/* A record's TTL when the kernel gave none. */
#define OWP_EP_TTL_UNKNOWN 255

/* Room for the control data the test sockets ask for: the kernel's receive
 * stamp (SO_TIMESTAMPNS) and the TTL or hop limit. */
typedef union owp_ep_control {
    char buf[CMSG_SPACE(sizeof(struct timespec)) + 2 * CMSG_SPACE(sizeof(int)) + 64];
    struct cmsghdr align;
} owp_ep_control;

/* What recvmsg's control data says of one datagram. */
typedef struct owp_ep_rx_info {
    struct timespec kernel_time;
    int have_kernel_time;
    int ttl; /* -1: none */
} owp_ep_rx_info;

void owp_ep_parse_control(struct msghdr *msg, owp_ep_rx_info *info);

/* The TTL as a record holds it: OWP_EP_TTL_UNKNOWN without one. */
uint8_t owp_ep_rx_ttl(const owp_ep_rx_info *info);

/* The kernel's receive stamp, or without one the clock now (the TWAMP
 * timestamps; the OWAMP receiver widens the estimate instead). */
owp_num64 owp_ep_rx_time(const owp_ep_rx_info *info, uint16_t *errest);

/* recvmsg failed with e but the socket is still good: interrupted, or an
 * ICMP error queued on it by an earlier send (not the reader's to act on). */
static inline int owp_ep_recv_error_transient(int e)
{
    return e == EINTR || e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH;
}

#endif
