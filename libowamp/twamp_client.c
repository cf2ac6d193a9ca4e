/*
 * twamp_client.c - TWAMP Control-Client and Session-Sender (twamp_client.h).
 * The control connection and its modes are owp_client's (client.c); the
 * sender is the OWAMP sender (endpoint_send.c), whose packets are TWAMP's
 * sender packets; this file adds Request-TW-Session, the collection of the
 * reflected packets, and the TWAMP Stop-Sessions.
 */
#include "client_internal.h"
#include "twamp_client.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "bytes.h"
#include "endpoint_internal.h"
#include "hostport.h"
#include "sendsched.h"
#include "twamp_wire.h"
#include "wire.h"

#define POLL_MS 50
/* After the sender's last packet, at most this much beyond the loss timeout
 * is waited for the thread and the reflections. */
#define END_GRACE_S 0.1

struct owp_tw_session {
    owp_client *c;
    owp_request req;            /* owns slots; npackets = what we send */
    owp_endpoint *ep;
    struct sockaddr_storage reflector;
    socklen_t reflector_len;
    owp_mode test_mode;
    owp_session_keys keys;      /* for the sender: test mode and session keys */
    owp_tw_crypt *tc;
    owp_tw_log log;             /* the records, in arrival order */
    /* sender thread */
    pthread_t thread;
    int thread_started;
    atomic_int stop, done;
    owp_send_result sent;
    owp_status send_status;
    owp_err send_err;
};

/* ------------------------------------------------------------ request */

static owp_status set_up_endpoint(owp_tw_session *s, const owp_tw_spec *spec, owp_err *err)
{
    owp_client *c = s->c;
    owp_endpoint_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.family = c->peer.ss_family;
    eo.local = (const struct sockaddr *)&c->local;
    eo.local_len = c->local_len;
    eo.ports = spec->ports;
    eo.dscp = spec->dscp;
    eo.bind_device = c->bind_device;
    s->ep = owp_endpoint_new(&eo, err);
    return s->ep ? OWP_OK : (err ? err->code : OWP_ERR_SYS);
}

/* Our address and the peer's, as they are (the wire's may be zero: -Z). */
static void keep_addresses(owp_tw_session *s, owp_request *r)
{
    uint8_t ipvn = 4;
    owp_sockaddr_to_wire((struct sockaddr *)&s->c->peer, &ipvn, r->receiver_addr);
    owp_sockaddr_to_wire((struct sockaddr *)&s->c->local, &ipvn, r->sender_addr);
}

static void fill_request(owp_tw_session *s, const owp_tw_spec *spec, owp_request *r)
{
    owp_client *c = s->c;
    memset(r, 0, sizeof *r);
    uint8_t ipvn = 4;
    owp_sockaddr_to_wire((struct sockaddr *)&c->peer, &ipvn, r->receiver_addr);
    r->ipvn = ipvn;
    if (!spec->zero_addresses)
        owp_sockaddr_to_wire((struct sockaddr *)&c->local, &ipvn, r->sender_addr);
    else
        memset(r->receiver_addr, 0, sizeof r->receiver_addr);
    r->sender_port = owp_endpoint_port(s->ep);
    r->receiver_port = r->sender_port; /* the reference asks for its own port number */
    r->padding = spec->padding;
    r->start_time = spec->start_time;
    r->timeout = spec->timeout;
    r->typep = spec->dscp > 0 ? (uint32_t)spec->dscp << 24 : 0;
}

static owp_status exchange_request(owp_tw_session *s, const owp_request *r,
                                   owp_accept_session *as, owp_err *err)
{
    owp_client *c = s->c;
    uint8_t msg[OWP_TW_REQUEST_LEN];
    owp_tw_encode_request(r, msg);
    owp_status st = owp_chan_send(c->chan, msg, 96, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    uint8_t buf[OWP_ACCEPT_SESSION_LEN];
    if (st == OWP_OK)
        st = owp_chan_recv(c->chan, buf, 32, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_accept_session(buf, as, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "Request-TW-Session to %s", c->peer_name);
    if (as->accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s refused the session (Accept %u: %s)",
                           c->peer_name, as->accept, owp_accept_name(as->accept));
    if (as->port == 0)
        return owp_err_set(err, OWP_ERR_PROTO, "server %s: Accept-Session with port 0",
                           c->peer_name);
    return OWP_OK;
}

owp_tw_session *owp_tw_request(owp_client *c, const owp_tw_spec *spec, owp_err *err)
{
    if (!c || !spec || spec->npackets == 0 || !spec->slots || spec->nslots == 0) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_tw_request: a session needs packets and slots");
        return NULL;
    }
    owp_tw_session *s = calloc(1, sizeof *s);
    if (!s) {
        owp_err_set(err, OWP_ERR_NOMEM, "owp_tw_request: out of memory");
        return NULL;
    }
    s->c = c;
    atomic_init(&s->stop, 0);
    atomic_init(&s->done, 0);
    s->test_mode = owp_tw_test_mode(c->mode);
    owp_request wire;
    owp_accept_session as;
    if (set_up_endpoint(s, spec, err) != OWP_OK)
        goto fail;
    fill_request(s, spec, &wire);
    if (exchange_request(s, &wire, &as, err) != OWP_OK)
        goto fail;
    /* What we keep: the session as it runs (the schedule, the SID, the
     * actual addresses and ports, also with -Z: what a saved file stores). */
    s->req = wire;
    keep_addresses(s, &s->req);
    s->req.receiver_port = as.port;
    s->req.npackets = spec->npackets;
    s->req.nslots = spec->nslots;
    memcpy(s->req.sid, as.sid, OWP_SID_LEN);
    s->req.slots = calloc(spec->nslots, sizeof *s->req.slots);
    if (!s->req.slots) {
        owp_err_set(err, OWP_ERR_NOMEM, "owp_tw_request: out of memory for %u slots",
                    spec->nslots);
        goto fail;
    }
    if (owp_tw_log_init(&s->log, spec->npackets, err) != OWP_OK)
        goto fail;
    memcpy(s->req.slots, spec->slots, spec->nslots * sizeof *s->req.slots);
    memcpy(&s->reflector, &c->peer, c->peer_len);
    s->reflector_len = c->peer_len;
    owp_sockaddr_set_port((struct sockaddr *)&s->reflector, as.port);
    if (owp_endpoint_set_peer(s->ep, (struct sockaddr *)&s->reflector, s->reflector_len, err) !=
        OWP_OK)
        goto fail;
    s->keys.mode = s->test_mode;
    memcpy(s->keys.aes_key, c->aes_key, 16);
    memcpy(s->keys.hmac_key, c->hmac_key, 32);
    if (owp_tw_crypt_for_session(c->mode, as.sid, c->aes_key, c->hmac_key, &s->tc, err) != OWP_OK)
        goto fail;
    return s;
fail:
    owp_tw_session_destroy(&s);
    return NULL;
}

void owp_tw_session_destroy(owp_tw_session **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_tw_session *s = *self_p;
    if (s->thread_started) {
        atomic_store(&s->stop, 1);
        pthread_join(s->thread, NULL);
    }
    owp_send_result_clear(&s->sent);
    owp_tw_crypt_destroy(&s->tc);
    owp_endpoint_destroy(&s->ep);
    free(s->req.slots);
    owp_tw_log_clear(&s->log);
    memset(&s->keys, 0, sizeof s->keys);
    free(s);
    *self_p = NULL;
}

const owp_request *owp_tw_session_request(const owp_tw_session *s) { return &s->req; }

const owp_tw_record *owp_tw_records(const owp_tw_session *s, uint32_t *n)
{
    *n = (uint32_t)s->log.n;
    return s->log.records;
}

double owp_tw_seconds_until_results(const owp_tw_session *s)
{
    const owp_request *r = &s->req;
    return owp_cli_seconds_until(r->start_time) +
           r->npackets * owp_slots_mean_interval(r->slots, r->nslots) +
           owp_num64_to_double(r->timeout) + s->c->rtt;
}

/* ------------------------------------------------------------ the test */

static void *sender_main(void *arg)
{
    owp_tw_session *s = arg;
    s->send_status =
        owp_endpoint_send(s->ep, &s->req, &s->keys, &s->stop, &s->sent, &s->send_err);
    atomic_store(&s->done, 1);
    return NULL;
}

static owp_status start_sessions(owp_tw_session *s, owp_err *err)
{
    owp_client *c = s->c;
    uint8_t msg[OWP_START_SESSIONS_LEN];
    owp_wire_encode_start_sessions(msg);
    owp_status st = owp_chan_send(c->chan, msg, 16, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    uint8_t ack[OWP_START_ACK_LEN];
    uint8_t accept = 0;
    if (st == OWP_OK)
        st = owp_chan_recv(c->chan, ack, 16, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_start_ack(ack, &accept, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "Start-Sessions to %s", c->peer_name);
    if (accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s: Start-Ack Accept %u (%s)",
                           c->peer_name, accept, owp_accept_name(accept));
    return OWP_OK;
}

/* TWAMP's Stop-Sessions: one block (type, Accept, Number of Sessions) and its
 * HMAC, no session records; the server answers nothing. */
static owp_status stop_sessions(owp_tw_session *s, owp_err *err)
{
    uint8_t msg[16] = {0};
    msg[0] = OWP_MSG_STOP_SESSIONS;
    owp_put32(msg + 4, 1);
    owp_status st = owp_chan_send(s->c->chan, msg, 16, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(s->c->chan, err);
    return st;
}

static void parse_control(struct msghdr *msg, owp_num64 *time, uint16_t *errest, uint8_t *ttl)
{
    owp_ep_rx_info rx;
    owp_ep_parse_control(msg, &rx);
    *time = owp_ep_rx_time(&rx, errest);
    *ttl = owp_ep_rx_ttl(&rx);
}

/* One reflected packet: a record, in arrival order. */
static void take_reflection(owp_tw_session *s, uint8_t *buf, size_t len, owp_num64 t4,
                            uint16_t err4, uint8_t ttl)
{
    owp_tw_reflected m;
    if (owp_tw_reflect_open(s->tc, s->test_mode, buf, len, &m, NULL) != OWP_OK)
        return; /* not a reflection of ours: ignored, as any stray datagram */
    owp_tw_record r = {
        .fwd = {.seq = m.sender_seq, .send_time = m.sender_time, .send_err = m.sender_errest,
                .recv_time = m.recv_time, .recv_err = m.errest, .ttl = m.sender_ttl},
        .bck = {.seq = m.seq, .send_time = m.timestamp, .send_err = m.errest,
                .recv_time = t4, .recv_err = err4, .ttl = ttl},
    };
    owp_tw_log_add(&s->log, &r);
}

static owp_status drain(owp_tw_session *s, owp_err *err)
{
    uint8_t buf[OWP_TW_PACKET_MAX];
    for (;;) {
        owp_ep_control control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        ssize_t n = recvmsg(owp_endpoint_fd(s->ep), &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return OWP_OK;
            if (owp_ep_recv_error_transient(errno))
                continue;
            return owp_err_sys(err, "receive reflected packet");
        }
        owp_num64 t4;
        uint16_t e4;
        uint8_t ttl;
        parse_control(&msg, &t4, &e4, &ttl);
        take_reflection(s, buf, (size_t)n, t4, e4, ttl);
    }
}

/* Collect reflections until the sender is done and the loss timeout after
 * its last packet has passed (or an interrupt). */
static owp_status collect(owp_tw_session *s, const atomic_int *interrupt, owp_err *err)
{
    double timeout = owp_num64_to_double(s->req.timeout);
    double done_at = -1;
    for (;;) {
        owp_status st = drain(s, err);
        if (st != OWP_OK)
            return st;
        double now = owp_clock_monotonic();
        if (interrupt && atomic_load(interrupt)) {
            atomic_store(&s->stop, 1);
            return OWP_OK;
        }
        if (done_at < 0 && atomic_load(&s->done))
            done_at = now;
        if (done_at >= 0 && now - done_at >= timeout)
            return OWP_OK;
        struct pollfd pfd = {.fd = owp_endpoint_fd(s->ep), .events = POLLIN};
        if (poll(&pfd, 1, POLL_MS) < 0 && errno != EINTR)
            return owp_err_sys(err, "poll on the test socket");
    }
}

/* Every packet sent gets a record: the lost ones theirs after the others. */
static owp_status finish_records(owp_tw_session *s, owp_err *err)
{
    uint32_t n = s->sent.next_seqno < s->req.npackets ? s->sent.next_seqno : s->req.npackets;
    return owp_tw_log_finish(&s->log, &s->req, n, err);
}

owp_status owp_tw_run(owp_tw_session *s, const atomic_int *interrupt, owp_err *err)
{
    if (!s || s->thread_started)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_tw_run: no session, or run twice");
    owp_status st = start_sessions(s, err);
    if (st != OWP_OK)
        return st;
    int r = pthread_create(&s->thread, NULL, sender_main, s);
    if (r != 0) {
        errno = r;
        return owp_err_sys(err, "pthread_create for the sender");
    }
    s->thread_started = 1;
    st = collect(s, interrupt, err);
    pthread_join(s->thread, NULL);
    s->thread_started = 0;
    if (st == OWP_OK && s->send_status != OWP_OK) {
        *err = s->send_err;
        st = s->send_status;
    }
    owp_err e2;
    owp_status stop_st = stop_sessions(s, st == OWP_OK ? err : &e2);
    if (st == OWP_OK)
        st = stop_st;
    owp_status fin = finish_records(s, st == OWP_OK ? err : &e2);
    return st != OWP_OK ? st : fin;
}
