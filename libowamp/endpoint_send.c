/*
 * endpoint_send.c - the send path of a test session (RFC 4656 section 4.1).
 *
 * Packet i is due at start + delta_0 + ... + delta_i. The loop prepares the
 * packet, waits until it is due (the pacer, pacer.h: sleep, then spin the
 * last stretch), then takes the timestamp, seals and sends. A packet found
 * more than the session's timeout late is not sent but recorded in a skip
 * range, as Stop-Sessions reports them.
 */
#include "endpoint_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pacer.h"
#include "sendsched.h"

#define SEND_ENOBUFS_RETRIES 16

void owp_send_result_clear(owp_send_result *r)
{
    if (!r)
        return;
    free(r->skips);
    memset(r, 0, sizeof *r);
}

/* Record seq as skipped, extending the last range when it is contiguous. */
static owp_status add_skip(owp_send_result *r, uint32_t *capacity, uint32_t seq, owp_err *err)
{
    if (r->nskips > 0 && r->skips[r->nskips - 1].last + 1 == seq) {
        r->skips[r->nskips - 1].last = seq;
        return OWP_OK;
    }
    if (r->nskips == *capacity) {
        uint32_t grown = *capacity ? *capacity * 2 : 16;
        owp_skip *more = realloc(r->skips, (size_t)grown * sizeof *more);
        if (!more)
            return owp_err_set(err, OWP_ERR_NOMEM, "test sender: out of memory for skip ranges");
        r->skips = more;
        *capacity = grown;
    }
    r->skips[r->nskips].first = seq;
    r->skips[r->nskips].last = seq;
    r->nskips++;
    return OWP_OK;
}

/* The reference's policy: a few errors mean the socket is unusable; any
 * other failure (ICMP-reported ECONNREFUSED, a route gone) loses just this
 * packet, which the receiver will report as lost. */
static owp_status send_packet(int fd, const uint8_t *buf, size_t len, uint32_t seq, owp_err *err)
{
    for (int tries = 0;; tries++) {
        if (send(fd, buf, len, 0) >= 0)
            return OWP_OK;
        switch (errno) {
        case EINTR:
            continue;
        case ENOBUFS:
            if (tries < SEND_ENOBUFS_RETRIES)
                continue;
            return OWP_OK;
        case EBADF:
        case EACCES:
        case ENOTSOCK:
        case EFAULT:
        case EAGAIN:
            return owp_err_sys(err, "send test packet %u", seq);
        default:
            return OWP_OK;
        }
    }
}

typedef struct send_ctx {
    owp_endpoint *ep;
    const owp_request *req;
    owp_mode mode;
    owp_testcrypt *tc;
    owp_sched *sched;
    uint8_t *buf;
    size_t len;
} send_ctx;

static owp_status send_loop(send_ctx *c, owp_pacer *pacer, atomic_int *stop,
                            owp_send_result *result, owp_err *err)
{
    const owp_request *req = c->req;
    uint32_t skip_capacity = 0;
    owp_num64 due = req->start_time;
    uint32_t seq;
    for (seq = 0; seq < req->npackets; seq++) {
        if (owp_ep_stop_requested(stop))
            break;
        due = owp_ep_add_saturated(due, owp_sched_next_delta(c->sched));
        uint16_t errest;
        owp_num64 now = owp_clock_now(&errest);
        if (now > owp_ep_add_saturated(due, req->timeout)) {
            owp_status st = add_skip(result, &skip_capacity, seq, err);
            if (st != OWP_OK)
                return st;
            continue;
        }
        owp_status st = owp_testpkt_prepare(c->mode, seq, c->buf, c->len, err);
        if (st != OWP_OK)
            return st;
        if (owp_pacer_wait_until(pacer, due, stop))
            break;
        owp_num64 stamp = owp_clock_now(&errest);
        /* Preempted past the timeout while waiting or preparing (an
         * overloaded machine): the receiver would count it lost on arrival,
         * so it is a skip, like one found late above. */
        if (stamp > owp_ep_add_saturated(due, req->timeout)) {
            if ((st = add_skip(result, &skip_capacity, seq, err)) != OWP_OK)
                return st;
            continue;
        }
        if ((st = owp_testpkt_seal(c->tc, c->mode, stamp, errest, c->buf, c->len, err)) != OWP_OK ||
            (st = send_packet(c->ep->fd, c->buf, c->len, seq, err)) != OWP_OK) {
            result->next_seqno = seq;
            return st;
        }
    }
    result->next_seqno = seq;
    return OWP_OK;
}

owp_status owp_endpoint_send(owp_endpoint *self, const owp_request *req,
                             const owp_session_keys *keys, atomic_int *stop,
                             owp_send_result *result, owp_err *err)
{
    if (!self || !req || !keys || !result)
        return owp_err_set(err, OWP_ERR_INVALID, "test sender: missing argument");
    memset(result, 0, sizeof *result);
    if (!self->have_peer)
        return owp_err_set(err, OWP_ERR_INVALID, "test sender: no peer address set");
    owp_status st = owp_ep_check_mode(keys->mode, err);
    if (st != OWP_OK)
        return st;
    if (req->npackets == 0)
        return OWP_OK;

    send_ctx c = {.ep = self, .req = req, .mode = keys->mode};
    c.len = owp_testpkt_size(keys->mode, req->padding);
    if (c.len == 0 || c.len > OWP_TESTPKT_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "test sender: padding %u too large",
                           req->padding);
    if (connect(self->fd, (struct sockaddr *)&self->peer, self->peer_len) != 0)
        return owp_err_sys(err, "connect test socket to its peer");
    if (!(c.buf = calloc(1, c.len)))
        return owp_err_set(err, OWP_ERR_NOMEM, "test sender: out of memory");
    if ((st = owp_ep_make_testcrypt(req, keys, &c.tc, err)) == OWP_OK &&
        (c.sched = owp_sched_new(req->sid, req->slots, req->nslots, err)) == NULL)
        st = err ? err->code : OWP_ERR_INVALID;
    owp_pacer *pacer = NULL;
    if (st == OWP_OK && !(pacer = owp_pacer_new(OWP_EP_STOP_POLL_NS, err)))
        st = err ? err->code : OWP_ERR_NOMEM;
    if (st == OWP_OK)
        st = send_loop(&c, pacer, stop, result, err);
    owp_pacer_destroy(&pacer);
    owp_sched_destroy(&c.sched);
    owp_testcrypt_destroy(&c.tc);
    free(c.buf);
    return st;
}
