/*
 * twamp_server.c - the TWAMP-Control command loop, server side (RFC 5357
 * 3.5-3.8; twampd). The handshake before it is OWAMP's (server.c, with mixed
 * mode allowed); after it the connection takes:
 *
 *   idle     Request-TW-Session -> Accept-Session (a reflector bound, not yet
 *            answering); Start-Sessions -> Start-Ack, every reflector starts
 *   testing  Stop-Sessions (Number of Sessions = the sessions set up) ends
 *            every reflector, back to idle
 *
 * An unknown command gets an Accept-Session with Accept 3 and the connection
 * goes on (as the reference's twampd answers); a Request-TW-Session while
 * testing, or a Stop-Sessions that does not match, ends the connection. Each
 * session's reflector (reflector.h) runs in its own thread and also ends by
 * itself after testtimeout seconds without a packet. Limits go through the
 * same policy hooks as OWAMP's Request-Session (a TWAMP request asks for no
 * disk and, having no schedule, for no bandwidth the server could charge).
 */
#include "server_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "bytes.h"
#include "clock.h"
#include "crypto.h"
#include "hostport.h"
#include "reflector.h"
#include "twamp_wire.h"

#define DEFAULT_TESTTIMEOUT 900
#define REFLECTOR_STACK_BYTES (256 * 1024)
#define UDP_PAYLOAD_MAX_V4 65507u
#define UDP_PAYLOAD_MAX_V6 65527u

typedef struct tw_session {
    conn *c;
    owp_request req;          /* as accepted: SID and our port filled in */
    int policy_held;
    uint64_t policy_handle;
    owp_endpoint *ep;
    owp_tw_crypt *tc;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    int any_port;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    owp_reflector_stats stats;
    owp_status status;
    owp_err err;
} tw_session;

typedef struct tw_table {
    tw_session **s;
    size_t n, cap;
    int started;
} tw_table;

/* ------------------------------------------------------------------ sessions */

static void end_session(conn *c, tw_session *t)
{
    owp_server *s = c->srv;
    if (t->thread_started) {
        atomic_store(&t->stop, 1);
        pthread_join(t->thread, NULL);
        t->thread_started = 0;
        char hex[2 * OWP_SID_LEN + 1];
        owp_sid_hex(t->req.sid, hex);
        owp_srv_log(s, OWP_LOG_DEBUG,
                    "%s: session %s ended: %llu reflected, %llu from other sources, %llu bad",
                    c->peer_name, hex, (unsigned long long)t->stats.reflected,
                    (unsigned long long)t->stats.dropped_bad_source,
                    (unsigned long long)t->stats.dropped_bad_packet);
        if (t->status != OWP_OK)
            owp_srv_log(s, OWP_LOG_ERR, "%s: reflector %s: %s", c->peer_name, hex, t->err.msg);
    }
    if (t->policy_held && s->cfg.policy.session_end)
        s->cfg.policy.session_end(s->cfg.policy.arg, &c->info, &t->req, t->policy_handle, 0, NULL,
                                  0);
    owp_tw_crypt_destroy(&t->tc);
    owp_endpoint_destroy(&t->ep);
    free(t);
}

static void end_all(conn *c, tw_table *tab)
{
    for (size_t i = 0; i < tab->n; i++)
        end_session(c, tab->s[i]);
    tab->n = 0;
    tab->started = 0;
}

static owp_status add_session(conn *c, tw_table *tab, tw_session *t, owp_err *err)
{
    if (tab->n == tab->cap) {
        size_t cap = tab->cap ? 2 * tab->cap : 4;
        tw_session **n = realloc(tab->s, cap * sizeof *n);
        if (!n)
            return owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", c->peer_name);
        tab->s = n;
        tab->cap = cap;
    }
    tab->s[tab->n++] = t;
    return OWP_OK;
}

static void *reflector_main(void *arg)
{
    tw_session *t = arg;
    uint32_t idle = t->c->srv->cfg.testtimeout ? t->c->srv->cfg.testtimeout : DEFAULT_TESTTIMEOUT;
    owp_reflector_config rc = {
        .fd = owp_endpoint_fd(t->ep),
        .peer = (struct sockaddr *)&t->peer,
        .peer_len = t->peer_len,
        .any_port = t->any_port,
        .test_mode = owp_tw_test_mode(t->c->mode),
        .tc = t->tc,
        .idle_timeout = idle,
    };
    t->status = owp_reflector_run(&rc, &t->stop, &t->stats, &t->err);
    return NULL;
}

/* ------------------------------------------------------------------ Request-TW-Session */

/* Our address as the SID's first 4 octets want it when the request's
 * Receiver Address is zero: the control connection's local address. */
static void sid_address(const conn *c, const owp_request *req, uint8_t out[4])
{
    const uint8_t *a = req->ipvn == 6 ? req->receiver_addr + 12 : req->receiver_addr;
    if (!owp_all_zero(req->receiver_addr, 16)) {
        memcpy(out, a, 4);
        return;
    }
    memset(out, 0, 4);
    if (c->local.ss_family == AF_INET)
        memcpy(out, &((const struct sockaddr_in *)&c->local)->sin_addr, 4);
    else if (c->local.ss_family == AF_INET6)
        memcpy(out, ((const struct sockaddr_in6 *)&c->local)->sin6_addr.s6_addr + 12, 4);
}

/* SID (RFC 4656 3.5, made by the reflector as the receiving side): address ||
 * 8-octet timestamp || 4 random octets. */
static owp_status make_sid(const conn *c, const owp_request *req, uint8_t sid[OWP_SID_LEN],
                           owp_err *err)
{
    sid_address(c, req, sid);
    owp_put64(sid + 4, owp_clock_now(NULL));
    return owp_random_bytes(sid + 12, 4, err);
}

/* The sender's test address: the request's, or the control client's when the
 * request leaves it zero (twping -Z). */
static owp_status sender_address(const conn *c, const owp_request *req,
                                 struct sockaddr_storage *peer, socklen_t *peer_len, owp_err *err)
{
    if (owp_all_zero(req->sender_addr, 16)) {
        memcpy(peer, &c->peer, c->peer_len);
        *peer_len = c->peer_len;
        if (peer->ss_family == AF_INET)
            ((struct sockaddr_in *)peer)->sin_port = htons(req->sender_port);
        else
            ((struct sockaddr_in6 *)peer)->sin6_port = htons(req->sender_port);
        return OWP_OK;
    }
    return owp_sockaddr_from_wire(req->ipvn, req->sender_addr, req->sender_port, peer, peer_len,
                                  err);
}

/* Local address for the reflector socket of this family: the configured
 * test address, else the control connection's own. */
static void reflector_local(const conn *c, int family, const struct sockaddr **sa, socklen_t *len)
{
    const owp_server *s = c->srv;
    *sa = NULL;
    *len = 0;
    if (s->cfg.test_local) {
        if (s->cfg.test_local->sa_family == family) {
            *sa = s->cfg.test_local;
            *len = s->cfg.test_local_len;
        }
        return;
    }
    if (c->local.ss_family == family) {
        *sa = (const struct sockaddr *)&c->local;
        *len = c->local_len;
    }
}

/* Bind the reflector: the port the request asks for when it lies in
 * testports (the reference honours it), else any port of the range. */
static owp_endpoint *bind_reflector(conn *c, const owp_request *req, int family, owp_err *err)
{
    owp_endpoint_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.family = family;
    reflector_local(c, family, &eo.local, &eo.local_len);
    eo.dscp = owp_request_dscp(req) > 0 ? owp_request_dscp(req) : -1;
    owp_portrange range = c->srv->cfg.testports;
    uint16_t want = req->receiver_port;
    if (want != 0 && range.low != 0 && want >= range.low && want <= range.high) {
        eo.ports.low = eo.ports.high = want;
        owp_endpoint *ep = owp_endpoint_new(&eo, NULL);
        if (ep)
            return ep;
    }
    eo.ports = range;
    return owp_endpoint_new(&eo, err);
}

/* Set up one accepted request; returns the Accept value (0: *out is set). */
static uint8_t setup_session(conn *c, const owp_request *req, tw_session **out)
{
    owp_server *s = c->srv;
    *out = NULL;
    owp_err e;
    size_t size = owp_tw_sender_size(owp_tw_test_mode(c->mode), req->padding);
    size_t max = req->ipvn == 6 ? UDP_PAYLOAD_MAX_V6 : UDP_PAYLOAD_MAX_V4;
    if (size == 0 || size > max) {
        owp_srv_log(s, OWP_LOG_WARNING,
                    "%s: Request-TW-Session refused (Accept 3): padding %u makes %zu-octet "
                    "packets, more than one UDP datagram carries (%zu)",
                    c->peer_name, req->padding, size, max);
        return OWP_ACCEPT_NOT_SUPPORTED;
    }
    tw_session *t = calloc(1, sizeof *t);
    if (!t)
        return OWP_ACCEPT_INTERNAL;
    t->c = c;
    t->req = *req;
    t->req.slots = NULL;
    atomic_init(&t->stop, 0);
    uint8_t accept = OWP_ACCEPT_OK;
    if (sender_address(c, req, &t->peer, &t->peer_len, &e) != OWP_OK) {
        owp_srv_log(s, OWP_LOG_WARNING, "%s: Request-TW-Session: %s", c->peer_name, e.msg);
        accept = OWP_ACCEPT_FAILURE;
        goto fail;
    }
    t->any_port = req->sender_port == 0;
    if (c->mode == OWP_MODE_OPEN &&
        !owp_sockaddr_same_addr((struct sockaddr *)&t->peer, (struct sockaddr *)&c->peer)) {
        /* No reflection towards a third party for an unauthenticated client. */
        char a[128], b[128];
        owp_sockaddr_format_addr((struct sockaddr *)&t->peer, a, sizeof a);
        owp_sockaddr_format_addr((struct sockaddr *)&c->peer, b, sizeof b);
        owp_srv_log(s, OWP_LOG_WARNING,
                    "Test Denied: OpenMode sender_addr(%s) != control_client(%s)", a, b);
        accept = OWP_ACCEPT_FAILURE;
        goto fail;
    }
    if (s->cfg.policy.session) {
        int a = s->cfg.policy.session(s->cfg.policy.arg, &c->info, req, &t->policy_handle);
        if (a != OWP_ACCEPT_OK) {
            owp_srv_log(s, OWP_LOG_WARNING, "%s: Test not allowed", c->peer_name);
            accept = (uint8_t)(a > 0 && a <= 5 ? a : OWP_ACCEPT_FAILURE);
            goto fail;
        }
        t->policy_held = 1;
    }
    t->ep = bind_reflector(c, req, t->peer.ss_family, &e);
    if (!t->ep) {
        owp_srv_log(s, OWP_LOG_ERR, "%s: reflector socket: %s", c->peer_name, e.msg);
        accept = OWP_ACCEPT_TEMPORARY;
        goto fail;
    }
    t->req.receiver_port = owp_endpoint_port(t->ep);
    if (make_sid(c, req, t->req.sid, &e) != OWP_OK ||
        owp_tw_crypt_for_session(c->mode, t->req.sid, c->keys.aes_key, c->keys.hmac_key, &t->tc,
                                 &e) != OWP_OK) {
        owp_srv_log(s, OWP_LOG_ERR, "%s: %s", c->peer_name, e.msg);
        accept = OWP_ACCEPT_INTERNAL;
        goto fail;
    }
    *out = t;
    return OWP_ACCEPT_OK;
fail:
    end_session(c, t);
    return accept;
}

static owp_status send_accept(conn *c, uint8_t accept, uint16_t port, const uint8_t *sid,
                              owp_err *err)
{
    owp_accept_session as;
    memset(&as, 0, sizeof as);
    as.accept = accept;
    as.port = port;
    if (sid)
        memcpy(as.sid, sid, OWP_SID_LEN);
    uint8_t buf[OWP_ACCEPT_SESSION_LEN];
    owp_wire_encode_accept_session(&as, buf);
    return owp_srv_send_msg(c, buf, 32, err);
}

static owp_status request_session(conn *c, tw_table *tab, const uint8_t first[16], owp_err *err)
{
    uint8_t msg[OWP_TW_REQUEST_LEN];
    memcpy(msg, first, 16);
    owp_status st = owp_chan_recv(c->chan, msg + 16, 80, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;
    owp_request req;
    owp_tw_request_verdict verdict;
    owp_err why;
    owp_err_clear(&why);
    if ((st = owp_tw_decode_request(msg, &req, &verdict, &why)) != OWP_OK) {
        *err = why;
        return st;
    }
    if (verdict != OWP_TW_REQUEST_OK) {
        owp_srv_log(c->srv, OWP_LOG_WARNING, "%s: %s: refused (Accept 3)", c->peer_name, why.msg);
        return send_accept(c, OWP_ACCEPT_NOT_SUPPORTED, 0, NULL, err);
    }
    tw_session *t = NULL;
    uint8_t accept = setup_session(c, &req, &t);
    if (!t)
        return send_accept(c, accept, 0, NULL, err);
    if ((st = add_session(c, tab, t, err)) != OWP_OK) {
        end_session(c, t);
        return st;
    }
    char hex[2 * OWP_SID_LEN + 1];
    owp_sid_hex(t->req.sid, hex);
    owp_srv_log(c->srv, OWP_LOG_DEBUG, "%s: session %s accepted: reflector port %u",
                c->peer_name, hex, t->req.receiver_port);
    return send_accept(c, OWP_ACCEPT_OK, t->req.receiver_port, t->req.sid, err);
}

/* ------------------------------------------------------------------ Start / Stop */

static owp_status start_sessions(conn *c, tw_table *tab, const uint8_t first[16], owp_err *err)
{
    owp_status st = owp_chan_recv_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;
    uint8_t msg[OWP_START_SESSIONS_LEN] = {0};
    memcpy(msg, first, 16);
    if ((st = owp_wire_decode_start_sessions(msg, err)) != OWP_OK)
        return st;
    uint8_t accept = OWP_ACCEPT_OK;
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr)
        (void)pthread_attr_setstacksize(&attr, REFLECTOR_STACK_BYTES);
    for (size_t i = 0; i < tab->n; i++) {
        tw_session *t = tab->s[i];
        int r = pthread_create(&t->thread, have_attr ? &attr : NULL, reflector_main, t);
        if (r != 0) {
            owp_srv_log(c->srv, OWP_LOG_ERR, "%s: pthread_create: %s", c->peer_name, strerror(r));
            accept = OWP_ACCEPT_INTERNAL;
            break;
        }
        t->thread_started = 1;
    }
    if (have_attr)
        pthread_attr_destroy(&attr);
    uint8_t ack[OWP_START_ACK_LEN];
    owp_wire_encode_start_ack(accept, ack);
    st = owp_srv_send_msg(c, ack, 16, err);
    if (accept != OWP_ACCEPT_OK)
        end_all(c, tab);
    else
        tab->started = 1;
    return st;
}

/* Stop-Sessions in TWAMP is one block and its HMAC: no session records. */
static owp_status stop_sessions(conn *c, tw_table *tab, const uint8_t first[16], owp_err *err)
{
    owp_status st = owp_chan_recv_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;
    uint8_t accept;
    uint32_t nsessions;
    if ((st = owp_wire_decode_stop_header(first, &accept, &nsessions, err)) != OWP_OK)
        return st;
    if (nsessions != tab->n)
        return owp_err_set(err, OWP_ERR_PROTO,
                           "Stop-Sessions for %u sessions, %zu were started", nsessions, tab->n);
    end_all(c, tab);
    return OWP_OK;
}

/* ------------------------------------------------------------------ the loop */

static owp_status command(conn *c, tw_table *tab, const uint8_t blk[16], owp_err *err)
{
    switch (blk[0]) {
    case OWP_MSG_REQUEST_TW_SESSION:
        if (tab->started)
            return owp_err_set(err, OWP_ERR_PROTO, "Request-TW-Session while testing");
        return request_session(c, tab, blk, err);
    case OWP_MSG_START_SESSIONS:
        if (tab->started)
            return owp_err_set(err, OWP_ERR_PROTO, "Start-Sessions while testing");
        return start_sessions(c, tab, blk, err);
    case OWP_MSG_STOP_SESSIONS:
        if (!tab->started)
            return owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions without running tests");
        return stop_sessions(c, tab, blk, err);
    default:
        /* As the reference: Not supported, and the connection goes on. */
        owp_srv_log(c->srv, OWP_LOG_WARNING, "%s: unsupported command %u: Accept 3",
                    c->peer_name, blk[0]);
        return send_accept(c, OWP_ACCEPT_NOT_SUPPORTED, 0, NULL, err);
    }
}

owp_status owp_tw_command_loop(conn *c, owp_err *err)
{
    tw_table tab;
    memset(&tab, 0, sizeof tab);
    owp_status st;
    for (;;) {
        uint8_t blk[16];
        st = owp_srv_next_command(c, blk, err);
        if (st == OWP_ERR_CLOSED || st == OWP_ERR_INTERRUPTED) {
            st = OWP_OK; /* the client hung up, or we were asked to stop */
            break;
        }
        if (st != OWP_OK || (st = command(c, &tab, blk, err)) != OWP_OK)
            break;
    }
    end_all(c, &tab);
    free(tab.s);
    return st;
}
