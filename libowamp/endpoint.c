/*
 * endpoint.c - the UDP side of a test session (RFC 4656 section 4): the
 * socket (family, local address, port range, DSCP and TTL, receive
 * timestamps), its peer, and what both loops check before they run. The
 * send path is endpoint_send.c, the receive path endpoint_recv.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* explicit_bzero, getrandom, SO_BINDTODEVICE */
#endif
#include "endpoint_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

/* Receive buffer asked for: a burst of a few thousand packets. The kernel
 * caps it at net.core.rmem_max. */
#define RECV_BUFFER_BYTES (4 * 1024 * 1024)

/* ------------------------------------------------------------ helpers */

static int set_int_option(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value);
}

owp_status owp_ep_check_mode(owp_mode mode, owp_err *err)
{
    if (mode != OWP_MODE_OPEN && mode != OWP_MODE_AUTH && mode != OWP_MODE_ENCRYPTED)
        return owp_err_set(err, OWP_ERR_INVALID, "test session: invalid mode %d", (int)mode);
    return OWP_OK;
}

/* The per-session test crypto (NULL in open mode). */
owp_status owp_ep_make_testcrypt(const owp_request *req, const owp_session_keys *keys,
                                 owp_testcrypt **tc, owp_err *err)
{
    *tc = NULL;
    if (keys->mode == OWP_MODE_OPEN)
        return OWP_OK;
    uint8_t test_aes[16], test_hmac[32];
    owp_status st = owp_test_session_keys(req->sid, keys->aes_key, keys->hmac_key, test_aes,
                                          test_hmac, err);
    if (st == OWP_OK) {
        *tc = owp_testcrypt_new(keys->mode, test_aes, test_hmac, err);
        if (!*tc)
            st = err ? err->code : OWP_ERR_CRYPTO;
    }
    explicit_bzero(test_aes, sizeof test_aes);
    explicit_bzero(test_hmac, sizeof test_hmac);
    return st;
}

/* An address and port in one comparable form: IPv4 as ::ffff:a.b.c.d, so a
 * dual-stack socket's v4-mapped sources match an IPv4 peer. 0 if unknown family. */
static int address_key(const struct sockaddr *sa, socklen_t len, uint8_t addr[16],
                       uint16_t *port)
{
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &s4->sin_addr, 4);
        *port = s4->sin_port;
        return 1;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(addr, &s6->sin6_addr, 16);
        *port = s6->sin6_port;
        return 1;
    }
    return 0;
}

/* Same address, and (compare_ports) same port? */
static int same_key(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                    socklen_t blen, int compare_ports)
{
    uint8_t aa[16], ba[16];
    uint16_t ap, bp;
    if (!address_key(a, alen, aa, &ap) || !address_key(b, blen, ba, &bp))
        return 0;
    return (!compare_ports || ap == bp) && memcmp(aa, ba, 16) == 0;
}

int owp_ep_same_address(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                        socklen_t blen)
{
    return same_key(a, alen, b, blen, 1);
}

int owp_ep_same_host(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                     socklen_t blen)
{
    return same_key(a, alen, b, blen, 0);
}

/* ------------------------------------------------------------ socket setup */

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static uint32_t random_u32(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_nsec ^ (uint32_t)getpid();
}

/* Bind to a port in the range: a random first choice, then upward with
 * wrap-around past every port already in use. */
static owp_status bind_in_range(int fd, struct sockaddr_storage *addr, socklen_t len,
                                owp_portrange range, owp_err *err)
{
    if (range.low == 0 && range.high == 0) {
        set_port(addr, 0);
        if (bind(fd, (struct sockaddr *)addr, len) != 0)
            return owp_err_sys(err, "bind UDP socket to an ephemeral port");
        return OWP_OK;
    }
    if (range.low == 0 || range.low > range.high)
        return owp_err_set(err, OWP_ERR_INVALID, "invalid UDP port range %u-%u",
                           (unsigned)range.low, (unsigned)range.high);
    uint32_t span = (uint32_t)range.high - range.low + 1;
    uint32_t first = random_u32() % span;
    for (uint32_t i = 0; i < span; i++) {
        uint16_t port = (uint16_t)(range.low + (first + i) % span);
        set_port(addr, port);
        if (bind(fd, (struct sockaddr *)addr, len) == 0)
            return OWP_OK;
        if (errno != EADDRINUSE)
            return owp_err_sys(err, "bind UDP socket to port %u", (unsigned)port);
    }
    return owp_err_set(err, OWP_ERR_SYS, "no free UDP port in %u-%u", (unsigned)range.low,
                       (unsigned)range.high);
}

static owp_status local_address(const owp_endpoint_opts *opts, struct sockaddr_storage *ss,
                                socklen_t *len, owp_err *err)
{
    memset(ss, 0, sizeof *ss);
    if (opts->local) {
        if (opts->local->sa_family != opts->family || opts->local_len > sizeof *ss ||
            opts->local_len < (opts->family == AF_INET ? sizeof(struct sockaddr_in)
                                                       : sizeof(struct sockaddr_in6)))
            return owp_err_set(err, OWP_ERR_INVALID,
                               "local test address does not match the address family");
        memcpy(ss, opts->local, opts->local_len);
        *len = opts->local_len;
        return OWP_OK;
    }
    ss->ss_family = (sa_family_t)opts->family;
    if (opts->family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof(struct sockaddr_in);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_any;
        *len = sizeof(struct sockaddr_in6);
    }
    return OWP_OK;
}

/* Options of the sending side: TOS/traffic class and a TTL of 255 (RFC 4656 4.1.2). */
static owp_status set_send_options(int fd, int family, int dscp, owp_err *err)
{
    if (dscp >= 0) {
        int tos = dscp << 2;
        if (family == AF_INET ? set_int_option(fd, IPPROTO_IP, IP_TOS, tos)
                              : set_int_option(fd, IPPROTO_IPV6, IPV6_TCLASS, tos))
            return owp_err_sys(err, "set DSCP %d on the test socket", dscp);
    }
    if (family == AF_INET) {
        if (set_int_option(fd, IPPROTO_IP, IP_TTL, 255))
            return owp_err_sys(err, "set IP_TTL 255 on the test socket");
    } else {
        if (set_int_option(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255))
            return owp_err_sys(err, "set IPV6_UNICAST_HOPS 255 on the test socket");
        /* v4-mapped peers on a dual-stack socket use the IPv4 options. */
        (void)set_int_option(fd, IPPROTO_IP, IP_TTL, 255);
        if (dscp >= 0)
            (void)set_int_option(fd, IPPROTO_IP, IP_TOS, dscp << 2);
    }
    return OWP_OK;
}

/* Options of the receiving side: kernel timestamps, TTL in control data, a
 * large buffer. Only the timestamps and TTL are required. */
static owp_status set_receive_options(int fd, int family, owp_err *err)
{
    if (set_int_option(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1))
        return owp_err_sys(err, "enable SO_TIMESTAMPNS on the test socket");
    if (family == AF_INET) {
        if (set_int_option(fd, IPPROTO_IP, IP_RECVTTL, 1))
            return owp_err_sys(err, "enable IP_RECVTTL on the test socket");
    } else {
        if (set_int_option(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1))
            return owp_err_sys(err, "enable IPV6_RECVHOPLIMIT on the test socket");
        (void)set_int_option(fd, IPPROTO_IP, IP_RECVTTL, 1);
    }
    int current = 0;
    socklen_t optlen = sizeof current;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &current, &optlen) != 0 ||
        current < RECV_BUFFER_BYTES)
        (void)set_int_option(fd, SOL_SOCKET, SO_RCVBUF, RECV_BUFFER_BYTES);
    return OWP_OK;
}

owp_endpoint *owp_endpoint_new(const owp_endpoint_opts *opts, owp_err *err)
{
    if (!opts || (opts->family != AF_INET && opts->family != AF_INET6)) {
        owp_err_set(err, OWP_ERR_INVALID, "test endpoint: address family must be IPv4 or IPv6");
        return NULL;
    }
    if (opts->dscp > 63) {
        owp_err_set(err, OWP_ERR_INVALID, "test endpoint: DSCP %d out of range 0-63", opts->dscp);
        return NULL;
    }
    struct sockaddr_storage local;
    socklen_t local_len = 0;
    if (local_address(opts, &local, &local_len, err) != OWP_OK)
        return NULL;

    owp_endpoint *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "test endpoint: out of memory");
        return NULL;
    }
    self->family = opts->family;
    self->fd = socket(opts->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (self->fd < 0) {
        owp_err_sys(err, "create UDP test socket");
        goto fail;
    }
    if (opts->bind_device && opts->bind_device[0] &&
        setsockopt(self->fd, SOL_SOCKET, SO_BINDTODEVICE, opts->bind_device,
                   (socklen_t)strlen(opts->bind_device) + 1) != 0) {
        owp_err_sys(err, "bind test socket to device %s", opts->bind_device);
        goto fail;
    }
    if (set_send_options(self->fd, opts->family, opts->dscp, err) != OWP_OK ||
        set_receive_options(self->fd, opts->family, err) != OWP_OK ||
        bind_in_range(self->fd, &local, local_len, opts->ports, err) != OWP_OK)
        goto fail;

    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (getsockname(self->fd, (struct sockaddr *)&bound, &bound_len) != 0) {
        owp_err_sys(err, "getsockname on the test socket");
        goto fail;
    }
    uint8_t ignored[16];
    if (!address_key((struct sockaddr *)&bound, bound_len, ignored, &self->port)) {
        owp_err_set(err, OWP_ERR_SYS, "test socket bound to an unknown address family");
        goto fail;
    }
    self->port = ntohs(self->port);
    return self;

fail:
    owp_endpoint_destroy(&self);
    return NULL;
}

void owp_endpoint_destroy(owp_endpoint **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->fd >= 0)
        close((*self_p)->fd);
    free(*self_p);
    *self_p = NULL;
}

uint16_t owp_endpoint_port(const owp_endpoint *self) { return self ? self->port : 0; }

int owp_endpoint_fd(const owp_endpoint *self) { return self ? self->fd : -1; }

owp_status owp_endpoint_set_peer(owp_endpoint *self, const struct sockaddr *peer,
                                 socklen_t peer_len, owp_err *err)
{
    uint8_t addr[16];
    uint16_t port;
    if (!self || !peer || peer_len > sizeof self->peer || !address_key(peer, peer_len, addr, &port))
        return owp_err_set(err, OWP_ERR_INVALID, "test endpoint: invalid peer address");
    memcpy(&self->peer, peer, peer_len);
    self->peer_len = peer_len;
    self->have_peer = 1;
    return OWP_OK;
}
