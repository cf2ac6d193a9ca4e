/*
 * stamp_reflector_io.c - the STAMP reflector on a socket (stamp_reflector.h):
 * datagrams read with their kernel receive stamp, TTL, TOS and destination
 * address, answered by the engine (stamp_reflector.c), stamped and sent back
 * from the address they came to.
 */
#include "stamp_reflector_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "clock.h"
#include "endpoint_internal.h"
#include "hostport.h"

/* Control data: the endpoint's (time stamp, TTL) and the TOS and packet
 * information asked for here. */
typedef union control {
    char buf[512];
    struct cmsghdr align;
} control;

static int set_opt(int fd, int level, int name)
{
    int one = 1;
    return setsockopt(fd, level, name, &one, sizeof one);
}

static int is_wildcard(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

owp_status owp_stamp_socket_init(owp_stamp_socket *s, int fd, owp_err *err)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->local_len = sizeof s->local;
    if (getsockname(fd, (struct sockaddr *)&s->local, &s->local_len) != 0)
        return owp_err_sys(err, "getsockname on the STAMP socket");
    int family = s->local.ss_family;
    if (family != AF_INET && family != AF_INET6)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP socket: not an IP socket");
    s->wildcard = is_wildcard((struct sockaddr *)&s->local);
    if (family == AF_INET) {
        if (set_opt(fd, IPPROTO_IP, IP_RECVTOS) || set_opt(fd, IPPROTO_IP, IP_PKTINFO))
            return owp_err_sys(err, "ask for the TOS and destination of STAMP packets");
        return OWP_OK;
    }
    if (set_opt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS) || set_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO))
        return owp_err_sys(err, "ask for the traffic class and destination of STAMP packets");
    /* IPv4 senders of a dual-stack socket. */
    (void)set_opt(fd, IPPROTO_IP, IP_RECVTOS);
    (void)set_opt(fd, IPPROTO_IP, IP_PKTINFO);
    return OWP_OK;
}

/* What the control data says beyond the endpoint's: the TOS octet and the
 * destination address (with the socket's port). */
static void parse_extra(struct msghdr *msg, const owp_stamp_socket *s, int *tos,
                        struct sockaddr_storage *dst, socklen_t *dst_len)
{
    *tos = -1;
    *dst_len = 0;
    uint16_t port = owp_sockaddr_port((const struct sockaddr *)&s->local);
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        const unsigned char *data = CMSG_DATA(cm);
        size_t n = cm->cmsg_len - CMSG_LEN(0);
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS && n >= 1) {
            *tos = data[0];
        } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS &&
                   n >= sizeof(int)) {
            int v;
            memcpy(&v, data, sizeof v);
            *tos = v & 0xFF;
        } else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
                   n >= sizeof(struct in_pktinfo)) {
            struct in_pktinfo pi;
            memcpy(&pi, data, sizeof pi);
            struct sockaddr_in *d4 = (struct sockaddr_in *)dst;
            *d4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port),
                                       .sin_addr = pi.ipi_addr};
            *dst_len = sizeof *d4;
        } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
                   n >= sizeof(struct in6_pktinfo)) {
            struct in6_pktinfo pi;
            memcpy(&pi, data, sizeof pi);
            struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)dst;
            *d6 = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons(port),
                                        .sin6_addr = pi.ipi6_addr};
            *dst_len = sizeof *d6;
        }
    }
    if (*dst_len == 0 && !s->wildcard) {
        memcpy(dst, &s->local, s->local_len);
        *dst_len = s->local_len;
    }
}

/* IPv4, or IPv4 as a dual-stack socket sees it (v4-mapped)? */
static int ipv4_peer(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET ||
           IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

static struct cmsghdr *add_cmsg(struct msghdr *msg, struct cmsghdr *prev, int level, int type,
                                const void *data, size_t len)
{
    struct cmsghdr *cm = prev ? CMSG_NXTHDR(msg, prev) : CMSG_FIRSTHDR(msg);
    cm->cmsg_level = level;
    cm->cmsg_type = type;
    cm->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(cm), data, len);
    msg->msg_controllen = (size_t)((char *)cm - (char *)msg->msg_control) + CMSG_SPACE(len);
    return cm;
}

/* Send the answer to the sender: its DSCP when asked for, from the address
 * the request came to when the socket is bound to any. 1 sent, 0 not. */
static int send_answer(const owp_stamp_socket *s, const owp_stamp_datagram *d,
                       const owp_stamp_reply *out)
{
    control c;
    memset(&c, 0, sizeof c);
    struct sockaddr_storage to;
    memcpy(&to, d->src, d->src_len);
    struct iovec iov = {.iov_base = out->buf, .iov_len = out->len};
    struct msghdr msg = {.msg_name = &to, .msg_namelen = d->src_len, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf};
    struct cmsghdr *cm = NULL;
    if (out->dscp >= 0) {
        int tos = out->dscp << 2;
        cm = ipv4_peer(d->src) ? add_cmsg(&msg, cm, IPPROTO_IP, IP_TOS, &tos, sizeof tos)
                               : add_cmsg(&msg, cm, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
    }
    if (s->wildcard && d->dst && d->dst->sa_family == AF_INET) {
        struct in_pktinfo pi = {.ipi_spec_dst = ((const struct sockaddr_in *)d->dst)->sin_addr};
        cm = add_cmsg(&msg, cm, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
    } else if (s->wildcard && d->dst && d->dst->sa_family == AF_INET6) {
        struct in6_pktinfo pi = {.ipi6_addr = ((const struct sockaddr_in6 *)d->dst)->sin6_addr};
        cm = add_cmsg(&msg, cm, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi);
    }
    if (!cm)
        msg.msg_control = NULL, msg.msg_controllen = 0;
    ssize_t n;
    do
        n = sendmsg(s->fd, &msg, 0);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)out->len;
}

/* Answer one datagram read into r->rx. */
static void reflect(owp_stamp_reflector *r, const owp_stamp_socket *s, size_t len,
                    const struct sockaddr_storage *src, socklen_t src_len, struct msghdr *msg)
{
    owp_ep_rx_info rx;
    owp_ep_parse_control(msg, &rx);
    struct sockaddr_storage dst;
    socklen_t dst_len;
    owp_stamp_datagram d = {
        .buf = r->rx, .len = len, .src = (const struct sockaddr *)src, .src_len = src_len,
        .ttl = owp_ep_rx_ttl(&rx), .now = owp_clock_monotonic(),
    };
    d.t2 = owp_ep_rx_time(&rx, &d.t2_err);
    parse_extra(msg, s, &d.tos, &dst, &dst_len);
    if (dst_len) {
        d.dst = (const struct sockaddr *)&dst;
        d.dst_len = dst_len;
    }
    owp_stamp_reply out = {.buf = r->tx, .cap = OWP_STAMP_IO_BUF + OWP_STAMP_GROWTH_ROOM};
    if (owp_stamp_reflector_answer(r, &d, &out, NULL) != OWP_STAMP_REFLECTED)
        return;
    uint16_t t3_err;
    owp_num64 t3 = owp_clock_now(&t3_err); /* as late as the sealing allows */
    int ok = owp_stamp_reflector_seal(r, &out, t3, t3_err, NULL) == OWP_OK &&
             send_answer(s, &d, &out);
    owp_stamp_reflector_sent(r, ok);
}

int owp_stamp_reflector_serve(owp_stamp_reflector *r, const owp_stamp_socket *s, int max,
                              owp_err *err)
{
    int got = 0;
    while (got < max) {
        struct sockaddr_storage src;
        control c;
        struct iovec iov = {.iov_base = r->rx, .iov_len = OWP_STAMP_IO_BUF};
        struct msghdr msg = {.msg_name = &src, .msg_namelen = sizeof src, .msg_iov = &iov,
                             .msg_iovlen = 1, .msg_control = c.buf,
                             .msg_controllen = sizeof c.buf};
        ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return got;
            if (owp_ep_recv_error_transient(errno))
                continue;
            owp_err_sys(err, "receive STAMP test packet");
            return -1;
        }
        got++;
        reflect(r, s, (size_t)n, &src, msg.msg_namelen, &msg);
    }
    return got;
}
