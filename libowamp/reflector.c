/*
 * reflector.c - the TWAMP Session-Reflector loop (reflector.h, RFC 5357 4.2).
 */
#include "reflector.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "endpoint_internal.h"
#include "timestamp.h"

/* How often the loop looks at the stop flag while idle. */
#define STOP_POLL_MS 50
/* Datagrams read in a row before the stop flag is looked at again. */
#define RECV_BATCH 64

typedef struct arrival {
    owp_num64 time;
    uint16_t errest;
    uint8_t ttl;
} arrival;

/* From the sender: its address, and its port unless any_port. */
static int from_sender(const owp_reflector_config *cfg, const struct sockaddr *src,
                       socklen_t srclen)
{
    if (cfg->any_port)
        return owp_ep_same_host(src, srclen, cfg->peer, cfg->peer_len);
    return owp_ep_same_address(src, srclen, cfg->peer, cfg->peer_len);
}

/* Without a kernel stamp the clock now is the best left (queueing unknown). */
static void parse_control(struct msghdr *msg, arrival *a)
{
    owp_ep_rx_info rx;
    owp_ep_parse_control(msg, &rx);
    a->time = owp_ep_rx_time(&rx, &a->errest);
    a->ttl = owp_ep_rx_ttl(&rx);
}

/* The two datagram buffers of one reflector (on the heap: a reflector thread's
 * stack is small). */
typedef struct buffers {
    uint8_t in[OWP_TW_PACKET_MAX];
    uint8_t out[OWP_TW_PACKET_MAX];
} buffers;

/* Answer one sender packet (buf/len, decoded in place) from src into out. */
static owp_status reflect(const owp_reflector_config *cfg, uint8_t *buf, uint8_t *out, size_t len,
                          const struct sockaddr *src, socklen_t srclen, const arrival *a,
                          owp_reflector_stats *stats, owp_err *err)
{
    owp_tw_reflected m;
    memset(&m, 0, sizeof m);
    if (owp_tw_sender_open(cfg->tc, cfg->test_mode, buf, len, &m.sender_seq, &m.sender_time,
                           &m.sender_errest, NULL) != OWP_OK) {
        stats->dropped_bad_packet++;
        return OWP_OK;
    }
    m.seq = (uint32_t)stats->reflected;
    m.recv_time = a->time;
    m.sender_ttl = a->ttl;
    size_t sender_min = owp_tw_sender_size(cfg->test_mode, 0);
    size_t min = owp_tw_reflect_min(cfg->test_mode);
    size_t out_len = owp_tw_reflect_size(cfg->test_mode, len);
    owp_status st = owp_tw_reflect_prepare(cfg->test_mode, &m, out, out_len, err);
    if (st != OWP_OK)
        return st;
    /* The reflector's padding is the start of the sender's (as the reference):
     * the reflected packet is as long as the sender's whenever it can be. */
    size_t pad = out_len - min;
    memset(out + min, 0, pad);
    if (len > sender_min)
        memcpy(out + min, buf + sender_min, pad < len - sender_min ? pad : len - sender_min);
    uint16_t errest;
    owp_num64 now = owp_clock_now(&errest);
    if ((st = owp_tw_reflect_seal(cfg->tc, cfg->test_mode, now, errest, out, out_len, err)) !=
        OWP_OK)
        return st;
    ssize_t n;
    do
        n = sendto(cfg->fd, out, out_len, 0, src, srclen);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED ||
            errno == EHOSTUNREACH || errno == ENETUNREACH)
            return OWP_OK; /* a lost reflection, as on the wire */
        return owp_err_sys(err, "send reflected packet");
    }
    stats->reflected++;
    return OWP_OK;
}

/* Read what is queued (at most RECV_BATCH); *got counts datagrams read. */
static owp_status read_batch(const owp_reflector_config *cfg, buffers *b,
                             owp_reflector_stats *stats, int *got, owp_err *err)
{
    uint8_t *buf = b->in;
    *got = 0;
    for (int i = 0; i < RECV_BATCH; i++) {
        struct sockaddr_storage src;
        owp_ep_control control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof b->in};
        struct msghdr msg = {
            .msg_name = &src, .msg_namelen = sizeof src, .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control.buf, .msg_controllen = sizeof control.buf,
        };
        ssize_t n = recvmsg(cfg->fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return OWP_OK;
            if (owp_ep_recv_error_transient(errno))
                continue;
            return owp_err_sys(err, "receive TWAMP-Test packet");
        }
        (*got)++;
        if (!from_sender(cfg, (struct sockaddr *)&src, msg.msg_namelen)) {
            stats->dropped_bad_source++;
            continue;
        }
        arrival a;
        parse_control(&msg, &a);
        owp_status st = reflect(cfg, buf, b->out, (size_t)n, (struct sockaddr *)&src, msg.msg_namelen,
                                &a, stats, err);
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

owp_status owp_reflector_run(const owp_reflector_config *cfg, atomic_int *stop,
                             owp_reflector_stats *stats, owp_err *err)
{
    owp_reflector_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!cfg || cfg->fd < 0 || !cfg->peer)
        return owp_err_set(err, OWP_ERR_INVALID, "reflector: missing socket or sender");
    if (cfg->test_mode != OWP_MODE_OPEN && !cfg->tc)
        return owp_err_set(err, OWP_ERR_INVALID, "reflector: mode %d needs its test keys",
                           (int)cfg->test_mode);
    buffers *b = malloc(sizeof *b);
    if (!b)
        return owp_err_set(err, OWP_ERR_NOMEM, "reflector: out of memory");
    owp_status st = OWP_OK;
    double last = owp_clock_monotonic();
    while (!(stop && atomic_load(stop))) {
        int got = 0;
        uint64_t before = stats->reflected;
        if ((st = read_batch(cfg, b, stats, &got, err)) != OWP_OK)
            break;
        double now = owp_clock_monotonic();
        /* Only the sender's packets keep the session alive, not strays. */
        if (stats->reflected != before)
            last = now;
        if (got > 0)
            continue;
        if (cfg->idle_timeout > 0 && now - last >= cfg->idle_timeout) {
            stats->idle_timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = cfg->fd, .events = POLLIN};
        if (poll(&pfd, 1, STOP_POLL_MS) < 0 && errno != EINTR) {
            st = owp_err_sys(err, "poll on the reflector socket");
            break;
        }
    }
    free(b);
    return st;
}
