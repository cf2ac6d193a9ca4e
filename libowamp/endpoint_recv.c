/*
 * endpoint_recv.c - the receive path of a test session (RFC 4656 section
 * 4.2).
 *
 * Kernel receive timestamps (SO_TIMESTAMPNS) and TTLs (IP_RECVTTL /
 * IPV6_RECVHOPLIMIT) come from recvmsg's control data. One bit per seq
 * records arrivals; a cursor walks the schedule in seq order (which is also
 * deadline order, since offsets only grow) and reports each seq that has
 * neither arrived nor will count any more (scheduled time + timeout passed)
 * as lost. Each seq is passed by the cursor once, so loss detection is O(1)
 * amortised.
 */
#include "endpoint_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "sendsched.h"

/* At most this many datagrams are read in a row before the loop looks at
 * the clock and the stop flag again (a flood must not starve either). */
#define RECV_BATCH 256
/* After a stop, at most this many batches still queued are read. */
#define STOP_DRAIN_BATCHES 16
/* Added to the error estimate of a receive time read from the clock after
 * recvmsg because the kernel gave no timestamp: the time the datagram may
 * have waited in the socket is unknown. */
#define USERSPACE_TIMESTAMP_ERR_SEC 1e-3

typedef struct recv_ctx {
    owp_endpoint *ep;
    const owp_request *req;
    owp_mode mode;
    owp_testcrypt *tc;
    owp_sched *sched;       /* walks the expiry cursor's schedule */
    uint32_t cursor;        /* lowest seq not yet accounted for by expiry */
    owp_num64 cursor_due;   /* scheduled send time of cursor */
    uint8_t *seen;          /* one bit per seq: arrived at least once */
    uint8_t *buf;
    size_t buflen;
    owp_record_fn fn;
    void *arg;
    owp_recv_stats *stats;
    owp_num64 last_arrival; /* receive time of the last datagram read, any source */
} recv_ctx;

static int seen_get(const recv_ctx *c, uint32_t seq)
{
    return (c->seen[seq >> 3] >> (seq & 7)) & 1;
}

static void seen_set(recv_ctx *c, uint32_t seq) { c->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7)); }

static owp_status deliver(recv_ctx *c, const owp_record *r, owp_err *err)
{
    if (c->fn && c->fn(r, c->arg) != 0)
        return owp_err_set(err, OWP_ERR_INTERRUPTED,
                           "test receiver: record consumer stopped the session at seq %u",
                           r->seq);
    return OWP_OK;
}

static void cursor_step(recv_ctx *c)
{
    c->cursor++;
    if (c->cursor < c->req->npackets)
        c->cursor_due = owp_ep_add_saturated(c->cursor_due, owp_sched_next_delta(c->sched));
}

/* Move the cursor over every seq below limit that has arrived or whose
 * deadline (scheduled time + timeout) is before now (force: regardless of
 * the deadline), reporting those that never arrived as lost. */
static owp_status expire(recv_ctx *c, owp_num64 now, uint32_t limit, int force, owp_err *err)
{
    while (c->cursor < limit) {
        if (!seen_get(c, c->cursor)) {
            if (!force && now <= owp_ep_add_saturated(c->cursor_due, c->req->timeout))
                break;
            owp_record lost = {
                .seq = c->cursor,
                .send_err = OWP_ERREST_UNSYNC,
                .recv_err = owp_clock_errest(),
                .send_time = c->cursor_due,
                .recv_time = 0,
                .ttl = OWP_EP_TTL_UNKNOWN,
            };
            c->stats->lost++;
            owp_status st = deliver(c, &lost, err);
            if (st != OWP_OK)
                return st;
        }
        cursor_step(c);
    }
    return OWP_OK;
}

typedef struct arrival {
    owp_ep_rx_info rx;
    owp_num64 time; /* receive time, OWAMP clock */
    uint16_t errest;
} arrival;

void owp_ep_parse_control(struct msghdr *msg, owp_ep_rx_info *info)
{
    info->have_kernel_time = 0;
    info->ttl = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS &&
            cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            memcpy(&info->kernel_time, CMSG_DATA(cm), sizeof info->kernel_time);
            info->have_kernel_time = 1;
        } else if (((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
                    (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT)) &&
                   cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
            memcpy(&info->ttl, CMSG_DATA(cm), sizeof info->ttl);
        }
    }
}

uint8_t owp_ep_rx_ttl(const owp_ep_rx_info *info)
{
    return info->ttl >= 0 && info->ttl <= 255 ? (uint8_t)info->ttl : OWP_EP_TTL_UNKNOWN;
}

owp_num64 owp_ep_rx_time(const owp_ep_rx_info *info, uint16_t *errest)
{
    if (info->have_kernel_time)
        return owp_clock_from_kernel(&info->kernel_time, errest);
    return owp_clock_now(errest);
}

/* Receive time and its error estimate: the kernel's stamp when there is one;
 * otherwise the clock now, with the estimate widened by the unknown queueing. */
static owp_num64 receive_time(const arrival *a, uint16_t *errest)
{
    owp_num64 now = owp_ep_rx_time(&a->rx, errest);
    if (!a->rx.have_kernel_time && owp_errest_synchronized(*errest))
        *errest = owp_errest_encode(1, owp_errest_seconds(*errest) + USERSPACE_TIMESTAMP_ERR_SEC);
    return now;
}

static owp_status handle_datagram(recv_ctx *c, size_t len, const struct sockaddr *src,
                                  socklen_t srclen, const arrival *a, owp_err *err)
{
    if (c->ep->have_peer &&
        !owp_ep_same_address(src, srclen, (struct sockaddr *)&c->ep->peer, c->ep->peer_len)) {
        c->stats->dropped_bad_source++;
        return OWP_OK;
    }
    owp_record r = {.ttl = owp_ep_rx_ttl(&a->rx), .recv_time = a->time, .recv_err = a->errest};
    if (owp_testpkt_open(c->tc, c->mode, c->buf, len, &r.seq, &r.send_time, &r.send_err, NULL) !=
        OWP_OK) {
        c->stats->dropped_bad_hmac++;
        return OWP_OK;
    }
    if (r.seq >= c->req->npackets) {
        c->stats->dropped_bad_seq++;
        return OWP_OK;
    }
    /* Losses whose deadline passed before this arrival come first. */
    owp_status st = expire(c, r.recv_time, c->req->npackets, 0, err);
    if (st != OWP_OK)
        return st;
    if (seen_get(c, r.seq)) {
        c->stats->duplicates++;
    } else if (r.seq < c->cursor) {
        c->stats->dropped_late++; /* already reported lost */
        return OWP_OK;
    } else {
        seen_set(c, r.seq);
        c->stats->received++;
    }
    return deliver(c, &r, err);
}

/* Read what is queued, at most RECV_BATCH datagrams. *empty is set when the
 * socket was drained; otherwise c->last_arrival is the receive time of the
 * last one read, and everything that arrived before it has been read. */
static owp_status read_batch(recv_ctx *c, int *empty, owp_err *err)
{
    *empty = 0;
    for (int i = 0; i < RECV_BATCH; i++) {
        struct sockaddr_storage src;
        owp_ep_control control;
        struct iovec iov = {.iov_base = c->buf, .iov_len = c->buflen};
        struct msghdr msg = {
            .msg_name = &src,
            .msg_namelen = sizeof src,
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = sizeof control.buf,
        };
        ssize_t n = recvmsg(c->ep->fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *empty = 1;
                return OWP_OK;
            }
            if (owp_ep_recv_error_transient(errno))
                continue;
            return owp_err_sys(err, "receive test packet");
        }
        arrival a;
        owp_ep_parse_control(&msg, &a.rx);
        a.time = receive_time(&a, &a.errest);
        c->last_arrival = a.time;
        owp_status st = handle_datagram(c, (size_t)n, (struct sockaddr *)&src, msg.msg_namelen,
                                        &a, err);
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

/* Milliseconds to wait for the next datagram: until the cursor's deadline,
 * at most OWP_EP_STOP_POLL_MS. */
static int poll_timeout_ms(const recv_ctx *c, owp_num64 now)
{
    owp_num64 deadline = owp_ep_add_saturated(c->cursor_due, c->req->timeout);
    if (deadline <= now)
        return 0;
    uint64_t ns = owp_num64_to_nsec(deadline - now);
    if (ns >= OWP_EP_STOP_POLL_NS)
        return OWP_EP_STOP_POLL_MS;
    return (int)((ns + 999999) / 1000000);
}

/* After a stop: read what is still queued (a bounded amount), then report
 * every missing seq below the sender's Next Seqno as lost. */
static owp_status finish_after_stop(recv_ctx *c, const atomic_uint *stop_next_seqno, owp_err *err)
{
    int empty = 0;
    for (int i = 0; i < STOP_DRAIN_BATCHES && !empty; i++) {
        owp_status st = read_batch(c, &empty, err);
        if (st != OWP_OK)
            return st;
    }
    uint32_t limit = c->req->npackets;
    if (stop_next_seqno) {
        unsigned v = atomic_load(stop_next_seqno);
        if (v < limit)
            limit = v;
    }
    return expire(c, 0, limit, 1, err);
}

static owp_status receive_loop(recv_ctx *c, atomic_int *stop, const atomic_uint *stop_next_seqno,
                               owp_err *err)
{
    uint32_t n = c->req->npackets;
    for (;;) {
        /* The clock is read before draining so that a datagram which
         * arrived before `now` is always handled before losses at `now`. */
        uint16_t errest;
        owp_num64 now = owp_clock_now(&errest);
        int empty;
        owp_status st = read_batch(c, &empty, err);
        if (st != OWP_OK)
            return st;
        if (owp_ep_stop_requested(stop))
            return finish_after_stop(c, stop_next_seqno, err);
        /* A full batch: more may be queued, so losses are only certain up
         * to the last arrival read (a flood must not hold them back either). */
        if ((st = expire(c, empty ? now : c->last_arrival, n, 0, err)) != OWP_OK)
            return st;
        if (c->cursor >= n)
            return OWP_OK;
        if (!empty)
            continue;
        struct pollfd pfd = {.fd = c->ep->fd, .events = POLLIN};
        if (poll(&pfd, 1, poll_timeout_ms(c, now)) < 0 && errno != EINTR)
            return owp_err_sys(err, "poll on the test socket");
    }
}

owp_status owp_endpoint_receive(owp_endpoint *self, const owp_request *req,
                                const owp_session_keys *keys, atomic_int *stop,
                                const atomic_uint *stop_next_seqno, owp_record_fn fn, void *arg,
                                owp_recv_stats *stats, owp_err *err)
{
    owp_recv_stats local_stats;
    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    if (!self || !req || !keys)
        return owp_err_set(err, OWP_ERR_INVALID, "test receiver: missing argument");
    owp_status st = owp_ep_check_mode(keys->mode, err);
    if (st != OWP_OK)
        return st;
    if (req->npackets > OWP_ENDPOINT_MAX_RECV_PACKETS)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "test receiver: %u packets requested, at most %u supported",
                           req->npackets, OWP_ENDPOINT_MAX_RECV_PACKETS);
    if (req->npackets == 0)
        return OWP_OK;

    recv_ctx c = {
        .ep = self, .req = req, .mode = keys->mode, .fn = fn, .arg = arg, .stats = stats,
        .buflen = OWP_TESTPKT_MAX,
    };
    c.seen = calloc(((size_t)req->npackets + 7) / 8, 1);
    c.buf = malloc(c.buflen);
    if (!c.seen || !c.buf) {
        st = owp_err_set(err, OWP_ERR_NOMEM, "test receiver: out of memory for %u packets",
                         req->npackets);
        goto done;
    }
    if ((st = owp_ep_make_testcrypt(req, keys, &c.tc, err)) != OWP_OK)
        goto done;
    if (!(c.sched = owp_sched_new(req->sid, req->slots, req->nslots, err))) {
        st = err ? err->code : OWP_ERR_INVALID;
        goto done;
    }
    c.cursor_due = owp_ep_add_saturated(req->start_time, owp_sched_next_delta(c.sched));
    st = receive_loop(&c, stop, stop_next_seqno, err);
done:
    owp_sched_destroy(&c.sched);
    owp_testcrypt_destroy(&c.tc);
    free(c.buf);
    free(c.seen);
    return st;
}
