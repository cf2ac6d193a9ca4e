/*
 * client_session.c - the client's test sessions up to their start:
 * Request-Session / Accept-Session (RFC 4656 3.5; we make the SID when we
 * receive), the local UDP endpoint of each session, Start-Sessions /
 * Start-Ack (3.7) and the sender and receiver threads that run the sessions.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "client_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "channel.h"
#include "crypto.h"
#include "hostport.h"
#include "sendsched.h"
#include "wire.h"

/* Beyond this many packets the end of a schedule is estimated from the mean
 * interval instead of walked packet by packet. */
#define CLIENT_EXACT_END_MAX 1000000u

/* ------------------------------------------------------------ Request-Session */

/* The local address packets to peer leave from: -S if given, else what the
 * kernel routes to (a connected UDP socket sends nothing). */
static owp_status local_addr_toward(owp_client *c, const struct sockaddr *peer, socklen_t peer_len,
                                    struct sockaddr_storage *out, socklen_t *out_len, owp_err *err)
{
    if (c->src_host[0])
        return owp_cli_resolve_src(c->src_host, peer->sa_family, out, out_len, err);
    int fd = socket(peer->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return owp_err_sys(err, "socket (finding the local test address)");
    struct sockaddr_storage p;
    memcpy(&p, peer, peer_len);
    owp_sockaddr_set_port((struct sockaddr *)&p, 861); /* any non-zero port routes the same */
    owp_status st = owp_cli_bind_device(fd, c->bind_device, err);
    if (st == OWP_OK && connect(fd, (struct sockaddr *)&p, peer_len) != 0)
        st = owp_err_sys(err, "no route to the test peer");
    *out_len = sizeof *out;
    if (st == OWP_OK && getsockname(fd, (struct sockaddr *)out, out_len) != 0)
        st = owp_err_sys(err, "getsockname (finding the local test address)");
    close(fd);
    return st;
}

/* SID made by the receiving side (we receive): receiver address (IPv4, or the
 * last 4 bytes of IPv6) || timestamp || 4 random bytes. */
static owp_status make_sid(uint8_t ipvn, const uint8_t addr[16], uint8_t sid[OWP_SID_LEN],
                           owp_err *err)
{
    memcpy(sid, ipvn == 6 ? addr + 12 : addr, 4);
    owp_put64(sid + 4, owp_clock_now(NULL));
    return owp_random_bytes(sid + 12, 4, err);
}

static owp_status grow_sessions(owp_client *c, owp_err *err)
{
    if (c->nsess < c->cap)
        return OWP_OK;
    unsigned cap = c->cap ? c->cap * 2 : 4;
    client_session *s = realloc(c->sess, cap * sizeof *s);
    if (!s)
        return owp_err_set(err, OWP_ERR_NOMEM, "owp_client_request: out of memory");
    c->sess = s;
    c->cap = cap;
    return OWP_OK;
}

void owp_cli_session_free(client_session *s)
{
    owp_request_clear(&s->req);
    owp_endpoint_destroy(&s->ep);
    owp_file_writer_destroy(&s->writer);
    owp_send_result_clear(&s->sent);
}

static owp_status send_request(owp_client *c, const owp_request *req, owp_err *err)
{
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN];
    owp_wire_encode_request_preamble(req, pre);
    owp_status st = owp_chan_send(c->chan, pre, 96, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    for (uint32_t i = 0; st == OWP_OK && i < req->nslots; i++) {
        uint8_t slot[OWP_SLOT_LEN];
        owp_wire_encode_slot(&req->slots[i], slot);
        st = owp_chan_send(c->chan, slot, sizeof slot, err);
    }
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    if (st != OWP_OK)
        owp_err_prefix(err, "sending Request-Session");
    return st;
}

static owp_status recv_accept_session(owp_client *c, owp_accept_session *as, owp_err *err)
{
    uint8_t buf[OWP_ACCEPT_SESSION_LEN] = { 0 };
    owp_status st = owp_chan_recv(c->chan, buf, 32, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_accept_session(buf, as, err);
    if (st != OWP_OK)
        owp_err_prefix(err, "Accept-Session from %s", c->peer_name);
    return st;
}

/* Scheduled time of the session's last packet. */
static owp_status compute_last_packet(client_session *s, owp_err *err)
{
    const owp_request *r = &s->req;
    if (r->npackets == 0) {
        s->last_packet = r->start_time;
        return OWP_OK;
    }
    if (r->npackets > CLIENT_EXACT_END_MAX) {
        double mean = owp_slots_mean_interval(r->slots, r->nslots);
        s->last_packet = r->start_time + owp_num64_from_double(mean * r->npackets);
        return OWP_OK;
    }
    owp_sched *sched = owp_sched_new(r->sid, r->slots, r->nslots, err);
    if (!sched)
        return err ? err->code : OWP_ERR_NOMEM;
    s->last_packet = r->start_time + owp_sched_offset(sched, r->npackets - 1);
    owp_sched_destroy(&sched);
    return OWP_OK;
}

static owp_status check_spec(const owp_client *c, const owp_test_spec *spec, owp_err *err)
{
    if (c->started)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_request: sessions already started");
    if (!spec || (spec->dir != OWP_DIR_TO && spec->dir != OWP_DIR_FROM))
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_request: bad direction");
    if (!spec->slots || spec->nslots == 0 || spec->nslots > OWP_MAX_SLOTS)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_request: %u schedule slots",
                           spec ? spec->nslots : 0);
    if (spec->dir == OWP_DIR_FROM && !spec->out)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "owp_client_request: a receive session needs an output file");
    if (spec->dscp > 63)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_request: DSCP %d", spec->dscp);
    return OWP_OK;
}

/* Fill the request fields that do not depend on the server's answer. */
static owp_status fill_request(client_session *s, const owp_test_spec *spec,
                               const struct sockaddr *local, owp_err *err)
{
    owp_request *r = &s->req;
    r->nslots = spec->nslots;
    r->slots = malloc(spec->nslots * sizeof *r->slots);
    if (!r->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "owp_client_request: out of memory");
    memcpy(r->slots, spec->slots, spec->nslots * sizeof *r->slots);
    r->npackets = spec->npackets;
    r->padding = spec->padding;
    r->start_time = spec->start_time;
    r->timeout = spec->timeout;
    r->typep = spec->dscp > 0 ? (uint32_t)spec->dscp << 24 : 0;
    uint8_t ipvn_local, ipvn_peer;
    const struct sockaddr *peer = (const struct sockaddr *)&s->peer;
    uint8_t *local_field = spec->dir == OWP_DIR_TO ? r->sender_addr : r->receiver_addr;
    uint8_t *peer_field = spec->dir == OWP_DIR_TO ? r->receiver_addr : r->sender_addr;
    owp_sockaddr_to_wire(local, &ipvn_local, local_field);
    owp_sockaddr_to_wire(peer, &ipvn_peer, peer_field);
    r->ipvn = ipvn_peer;
    uint16_t port = owp_endpoint_port(s->ep);
    if (spec->dir == OWP_DIR_TO) {
        r->conf_receiver = 1;
        r->sender_port = port;
    } else {
        r->conf_sender = 1;
        r->receiver_port = port;
        if (make_sid(ipvn_local, local_field, r->sid, err) != OWP_OK)
            return err ? err->code : OWP_ERR_CRYPTO;
    }
    return OWP_OK;
}

/* Apply the server's Accept-Session to the session. */
static owp_status apply_accept(owp_client *c, client_session *s, const owp_accept_session *as,
                               owp_err *err)
{
    if (as->accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s refused the %s session (Accept %u: %s)",
                           c->peer_name, s->dir == OWP_DIR_TO ? "\"to\"" : "\"from\"",
                           as->accept, owp_accept_name(as->accept));
    if (as->port == 0)
        return owp_err_set(err, OWP_ERR_PROTO, "Accept-Session from %s: port 0", c->peer_name);
    owp_request *r = &s->req;
    if (s->dir == OWP_DIR_TO) {
        if (owp_all_zero(as->sid, OWP_SID_LEN))
            return owp_err_set(err, OWP_ERR_PROTO, "Accept-Session from %s: zero SID",
                               c->peer_name);
        memcpy(r->sid, as->sid, OWP_SID_LEN);
        r->receiver_port = as->port;
    } else {
        if (!owp_all_zero(as->sid, OWP_SID_LEN) && memcmp(as->sid, r->sid, OWP_SID_LEN) != 0)
            return owp_err_set(err, OWP_ERR_PROTO,
                               "Accept-Session from %s: SID differs from the one requested",
                               c->peer_name);
        r->sender_port = as->port;
    }
    owp_sockaddr_set_port((struct sockaddr *)&s->peer, as->port);
    owp_status st = owp_endpoint_set_peer(s->ep, (struct sockaddr *)&s->peer, s->peer_len, err);
    if (st != OWP_OK)
        return st;
    if (s->dir == OWP_DIR_FROM) {
        s->writer = owp_file_writer_new(s->out, r, err);
        if (!s->writer)
            return err ? err->code : OWP_ERR_SYS;
    }
    return compute_last_packet(s, err);
}

owp_status owp_client_request(owp_client *self, const owp_test_spec *spec, unsigned *index,
                              owp_err *err)
{
    owp_status st = check_spec(self, spec, err);
    if (st != OWP_OK || (st = grow_sessions(self, err)) != OWP_OK)
        return st;
    client_session *s = &self->sess[self->nsess];
    memset(s, 0, sizeof *s);
    s->dir = spec->dir;
    s->enddelay = spec->enddelay > 0 ? spec->enddelay : 0;
    s->out = spec->out;
    s->keys.mode = self->mode;
    memcpy(s->keys.aes_key, self->aes_key, sizeof s->keys.aes_key);
    memcpy(s->keys.hmac_key, self->hmac_key, sizeof s->keys.hmac_key);
    if (spec->peer) {
        if (spec->peer_len > sizeof s->peer)
            return owp_err_set(err, OWP_ERR_INVALID, "owp_client_request: peer address too long");
        memcpy(&s->peer, spec->peer, spec->peer_len);
        s->peer_len = spec->peer_len;
    } else {
        s->peer = self->peer;
        s->peer_len = self->peer_len;
    }

    struct sockaddr_storage local;
    socklen_t local_len;
    st = local_addr_toward(self, (struct sockaddr *)&s->peer, s->peer_len, &local, &local_len, err);
    if (st == OWP_OK) {
        owp_endpoint_opts eo = {
            .family = s->peer.ss_family,
            .local = self->src_host[0] ? (struct sockaddr *)&local : NULL,
            .local_len = self->src_host[0] ? local_len : 0,
            .ports = spec->ports,
            .dscp = spec->dscp,
            .bind_device = self->bind_device,
        };
        s->ep = owp_endpoint_new(&eo, err);
        if (!s->ep)
            st = err ? err->code : OWP_ERR_SYS;
    }
    if (st == OWP_OK)
        st = fill_request(s, spec, (struct sockaddr *)&local, err);
    owp_accept_session as;
    if (st == OWP_OK)
        st = send_request(self, &s->req, err);
    if (st == OWP_OK)
        st = recv_accept_session(self, &as, err);
    if (st == OWP_OK)
        st = apply_accept(self, s, &as, err);
    if (st != OWP_OK) {
        owp_cli_session_free(s);
        return st;
    }
    atomic_init(&s->stop, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->stop_next_seqno, 0);
    atomic_init(&s->seen_next, 0);
    if (index)
        *index = self->nsess;
    self->nsess++;
    return OWP_OK;
}

unsigned owp_client_nsessions(const owp_client *self) { return self->nsess; }

const owp_request *owp_client_session_request(const owp_client *self, unsigned index)
{
    return index < self->nsess ? &self->sess[index].req : NULL;
}

owp_direction owp_client_session_dir(const owp_client *self, unsigned index)
{
    return index < self->nsess ? self->sess[index].dir : OWP_DIR_TO;
}

/* ------------------------------------------------------------ test threads */

static void *sender_main(void *arg)
{
    client_session *s = arg;
    s->thread_status = owp_endpoint_send(s->ep, &s->req, &s->keys, &s->stop, &s->sent,
                                         &s->thread_err);
    atomic_store(&s->done, 1);
    return NULL;
}

static int receiver_record(const owp_record *r, void *arg)
{
    client_session *s = arg;
    if (!owp_record_lost(r) && r->seq >= atomic_load(&s->seen_next) && r->seq < s->req.npackets)
        atomic_store(&s->seen_next, r->seq + 1);
    if (s->write_status == OWP_OK)
        s->write_status = owp_file_writer_add(s->writer, r, &s->write_err);
    return 0;
}

static void *receiver_main(void *arg)
{
    client_session *s = arg;
    s->thread_status = owp_endpoint_receive(s->ep, &s->req, &s->keys, &s->stop,
                                            &s->stop_next_seqno, receiver_record, s, &s->rstats,
                                            &s->thread_err);
    atomic_store(&s->done, 1);
    return NULL;
}

void owp_cli_join_session(client_session *s)
{
    if (s->thread_started && !s->thread_joined) {
        pthread_join(s->thread, NULL);
        s->thread_joined = 1;
    }
}

static owp_status start_threads(owp_client *c, owp_err *err)
{
    for (unsigned i = 0; i < c->nsess; i++) {
        client_session *s = &c->sess[i];
        int rc = pthread_create(&s->thread, NULL,
                                s->dir == OWP_DIR_TO ? sender_main : receiver_main, s);
        if (rc != 0) {
            errno = rc;
            return owp_err_sys(err, "pthread_create for a test session");
        }
        s->thread_started = 1;
    }
    return OWP_OK;
}

owp_status owp_client_start(owp_client *self, owp_err *err)
{
    if (self->started)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_start: already started");
    uint8_t buf[OWP_START_SESSIONS_LEN] = { 0 };
    owp_wire_encode_start_sessions(buf);
    owp_status st = owp_chan_send(self->chan, buf, 16, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(self->chan, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "sending Start-Sessions");
    memset(buf, 0, sizeof buf);
    st = owp_chan_recv(self->chan, buf, 16, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(self->chan, err);
    uint8_t accept = 0;
    if (st == OWP_OK)
        st = owp_wire_decode_start_ack(buf, &accept, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "Start-Ack from %s", self->peer_name);
    if (accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s refused Start-Sessions (Accept %u: %s)",
                           self->peer_name, accept, owp_accept_name(accept));
    self->started = 1;
    return start_threads(self, err);
}

double owp_client_seconds_until_results(const owp_client *self)
{
    double best = 0;
    for (unsigned i = 0; i < self->nsess; i++) {
        const owp_request *r = &self->sess[i].req;
        double d = owp_cli_seconds_until(r->start_time) +
                   r->npackets * owp_slots_mean_interval(r->slots, r->nslots) +
                   owp_num64_to_double(r->timeout) + self->rtt;
        if (d > best)
            best = d;
    }
    return best;
}
