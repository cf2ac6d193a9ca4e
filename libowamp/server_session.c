/*
 * server_session.c - the sessions of one control connection, server side
 * (RFC 4656 sections 3.5-3.7): Request-Session decided against the policy
 * and answered with Accept-Session, the connection's session table (with
 * each receive session's file in the data directory), Start-Sessions, and
 * the endpoint threads that run the tests.
 */
#include "server_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "channel.h"
#include "clock.h"
#include "crypto.h"
#include "datadir.h"
#include "hostport.h"
#include "testpkt.h"

/* The largest UDP payload an IP datagram carries without jumbograms:
 * 65535 - 8 (UDP) - 20 (IPv4 header), or 65535 - 8 over IPv6 (whose
 * payload length does not count its 40-byte header). */
#define UDP_PAYLOAD_MAX_V4 65507u
#define UDP_PAYLOAD_MAX_V6 65527u

/* Endpoint threads need a few kilobytes of stack. The default is RLIMIT_STACK
 * (8 MiB of address space per thread), which thousands of concurrent
 * sessions turn into tens of gigabytes of mappings. */
#define ENDPOINT_STACK_BYTES (256 * 1024)

/* ------------------------------------------------------------------ the session table */

session *owp_srv_find_session(const conn *c, const uint8_t sid[OWP_SID_LEN])
{
    for (size_t i = 0; i < c->nsessions; i++)
        if (memcmp(c->sessions[i]->req.sid, sid, OWP_SID_LEN) == 0)
            return c->sessions[i];
    return NULL;
}

static owp_status add_session(conn *c, session *sess, owp_err *err)
{
    if (c->nsessions == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        session **n = realloc(c->sessions, cap * sizeof *n);
        if (!n)
            return owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", c->peer_name);
        c->sessions = n;
        c->cap = cap;
    }
    c->sessions[c->nsessions++] = sess;
    return OWP_OK;
}

static void remove_file(const owp_server *s, session *sess)
{
    if (sess->catalog[0] && unlink(sess->catalog) != 0 && errno != ENOENT)
        owp_srv_log(s, OWP_LOG_WARNING, "unlink %s: %s", sess->catalog, strerror(errno));
    if (sess->path[0] && unlink(sess->path) != 0 && errno != ENOENT)
        owp_srv_log(s, OWP_LOG_WARNING, "unlink %s: %s", sess->path, strerror(errno));
}

void owp_srv_join_session(session *sess)
{
    if (!sess->thread_started)
        return;
    atomic_store(&sess->stop, 1);
    pthread_join(sess->thread, NULL);
    sess->thread_started = 0;
}

void owp_srv_finish_file(conn *c, session *sess, uint32_t finished, uint32_t next_seqno,
                         const owp_skip *skips, uint32_t nskips)
{
    if (!sess->writer)
        return;
    owp_server *s = c->srv;
    owp_err e;
    if (owp_file_writer_finish(sess->writer, finished, next_seqno, skips, nskips, &e) != OWP_OK)
        owp_srv_log(s, OWP_LOG_ERR, "%s: %s", sess->path, e.msg);
    owp_file_writer_destroy(&sess->writer);
    /* Down to the kernel, so another connection's fetch reads it finished. */
    if (sess->fp && fflush(sess->fp) != 0)
        owp_srv_log(s, OWP_LOG_ERR, "%s: write: %s", sess->path, strerror(errno));
}

void owp_srv_end_session(conn *c, session *sess, uint32_t finished, uint32_t next_seqno,
                         const owp_skip *skips, uint32_t nskips, int keep_file)
{
    owp_server *s = c->srv;
    owp_srv_join_session(sess);
    uint64_t size = 0;
    owp_srv_finish_file(c, sess, finished, next_seqno, skips, nskips);
    if (sess->fp) {
        struct stat st;
        if (fstat(fileno(sess->fp), &st) == 0)
            size = (uint64_t)st.st_size;
        fclose(sess->fp);
        sess->fp = NULL;
    }
    int keep = keep_file && sess->server_receives && sess->path[0];
    if (sess->policy_held && s->cfg.policy.session_end &&
        s->cfg.policy.session_end(s->cfg.policy.arg, &c->info, &sess->req, sess->policy_handle,
                                  keep, keep ? sess->path : NULL, keep ? size : 0) != 0)
        keep_file = 0;
    sess->policy_held = 0;
    if (sess->server_receives && !keep_file)
        remove_file(s, sess);
    owp_endpoint_destroy(&sess->ep);
    owp_send_result_clear(&sess->sent);
    owp_request_clear(&sess->req);
    free(sess);
}

void owp_srv_end_all_sessions(conn *c, uint32_t finished)
{
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        /* A session that never started holds no data worth keeping. */
        int keep = sess->thread_started;
        owp_srv_end_session(c, sess, finished, 0, NULL, 0, keep);
    }
    c->nsessions = 0;
}

/* ------------------------------------------------------------------ endpoint threads */

static void *sender_main(void *arg)
{
    session *sess = arg;
    sess->status = owp_endpoint_send(sess->ep, &sess->req, &sess->c->keys, &sess->stop,
                                     &sess->sent, &sess->err);
    clock_gettime(CLOCK_MONOTONIC, &sess->done_at);
    atomic_store(&sess->done, 1);
    return NULL;
}

static int store_record(const owp_record *r, void *arg)
{
    session *sess = arg;
    return owp_file_writer_add(sess->writer, r, &sess->write_err) != OWP_OK;
}

static void *receiver_main(void *arg)
{
    session *sess = arg;
    sess->status = owp_endpoint_receive(sess->ep, &sess->req, &sess->c->keys, &sess->stop,
                                        &sess->stop_next_seqno, store_record, sess, &sess->stats,
                                        &sess->err);
    if (sess->status == OWP_ERR_INTERRUPTED && sess->write_err.code != OWP_OK)
        sess->err = sess->write_err;
    /* Write what the receiver saw so a concurrent fetch reads it. */
    if (sess->fp)
        fflush(sess->fp);
    clock_gettime(CLOCK_MONOTONIC, &sess->done_at);
    atomic_store(&sess->done, 1);
    return NULL;
}

/* ------------------------------------------------------------------ Request-Session */

/* Create the session's file in the data directory and start it in the
 * receiver layout. */
static owp_status open_session_file(conn *c, session *sess, owp_err *err)
{
    owp_status st = owp_datadir_create_session(c->srv->datadir, c->class_path, sess->req.sid,
                                               sess->path, sess->catalog, &sess->fp, err);
    if (st != OWP_OK)
        return st;
    sess->writer = owp_file_writer_new(sess->fp, &sess->req, err);
    if (!sess->writer)
        return err ? err->code : OWP_ERR_FORMAT;
    if (fflush(sess->fp) != 0)
        return owp_err_sys(err, "write %s", sess->path);
    return OWP_OK;
}

/* SID made by the receiving side: receiver IPv4 address (last 4 bytes of an
 * IPv6 one) || 8-byte timestamp || 4 random bytes. */
static owp_status make_sid(const owp_request *req, uint8_t sid[OWP_SID_LEN], owp_err *err)
{
    memcpy(sid, req->ipvn == 6 ? req->receiver_addr + 12 : req->receiver_addr, 4);
    uint16_t errest;
    owp_put64(sid + 4, owp_clock_now(&errest));
    return owp_random_bytes(sid + 12, 4, err);
}

/* Local address for a test socket of the given family. */
static void test_local_addr(const conn *c, int family, const struct sockaddr **sa,
                            socklen_t *len)
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

/* A request the test endpoints could not carry out, refused now rather
 * than accepted and failed at Start-Sessions: the Accept value (0 when the
 * request is workable), with one log line naming the peer and why. */
static uint8_t unworkable_request(const conn *c, const owp_request *req, int receives)
{
    size_t size = owp_testpkt_size(c->mode, req->padding);
    size_t max = req->ipvn == 6 ? UDP_PAYLOAD_MAX_V6 : UDP_PAYLOAD_MAX_V4;
    if (size == 0 || size > max) {
        owp_srv_log(c->srv, OWP_LOG_WARNING,
                    "%s: Request-Session refused (Accept %u): padding %u makes %zu-byte test "
                    "packets, more than one UDP datagram carries (%zu)",
                    c->peer_name, OWP_ACCEPT_NOT_SUPPORTED, req->padding, size, max);
        return OWP_ACCEPT_NOT_SUPPORTED;
    }
    if (!receives && req->receiver_port == 0) {
        owp_srv_log(c->srv, OWP_LOG_WARNING,
                    "%s: Request-Session refused (Accept %u): receiver port 0 for a session "
                    "this server would send",
                    c->peer_name, OWP_ACCEPT_FAILURE);
        return OWP_ACCEPT_FAILURE;
    }
    return OWP_ACCEPT_OK;
}

/* Decide and set up one requested session; returns the Accept value and
 * fills *out (NULL when refused). Only internal failures that leave the
 * connection unusable return an error status. */
static uint8_t setup_session(conn *c, const owp_request *req, session **out)
{
    owp_server *s = c->srv;
    *out = NULL;
    if (req->conf_sender && req->conf_receiver) {
        owp_srv_log(s, OWP_LOG_WARNING,
                    "%s: Request-Session with both Conf-Sender and Conf-Receiver", c->peer_name);
        return OWP_ACCEPT_NOT_SUPPORTED;
    }
    if (!req->conf_sender && !req->conf_receiver) {
        owp_srv_log(s, OWP_LOG_WARNING,
                    "%s: Request-Session with neither Conf-Sender nor Conf-Receiver",
                    c->peer_name);
        return OWP_ACCEPT_FAILURE;
    }
    int receives = req->conf_receiver;
    uint8_t unworkable = unworkable_request(c, req, receives);
    if (unworkable != OWP_ACCEPT_OK)
        return unworkable;
    /* The peer's test address: the sender when we receive, the receiver when we send. */
    struct sockaddr_storage peer;
    socklen_t peer_len = 0;
    owp_err e;
    if (owp_sockaddr_from_wire(req->ipvn, receives ? req->sender_addr : req->receiver_addr,
                               receives ? req->sender_port : req->receiver_port, &peer, &peer_len,
                               &e) != OWP_OK) {
        owp_srv_log(s, OWP_LOG_WARNING, "%s: Request-Session: %s", c->peer_name, e.msg);
        return OWP_ACCEPT_FAILURE;
    }
    if (!receives && c->mode == OWP_MODE_OPEN &&
        !owp_sockaddr_same_addr((struct sockaddr *)&peer, (struct sockaddr *)&c->peer)) {
        /* No third-party traffic from an unauthenticated client. */
        char a[128], b[128];
        owp_sockaddr_format_addr((struct sockaddr *)&peer, a, sizeof a);
        owp_sockaddr_format_addr((struct sockaddr *)&c->peer, b, sizeof b);
        owp_srv_log(s, OWP_LOG_WARNING,
                    "Test Denied: OpenMode recieve_addr(%s) != control_client(%s)", a, b);
        return OWP_ACCEPT_FAILURE;
    }
    uint64_t handle = 0;
    if (s->cfg.policy.session) {
        int a = s->cfg.policy.session(s->cfg.policy.arg, &c->info, req, &handle);
        if (a != OWP_ACCEPT_OK) {
            owp_srv_log(s, OWP_LOG_WARNING, "%s: Test not allowed", c->peer_name);
            return (uint8_t)(a > 0 && a <= 5 ? a : OWP_ACCEPT_FAILURE);
        }
    }

    session *sess = calloc(1, sizeof *sess);
    if (!sess) {
        if (s->cfg.policy.session && s->cfg.policy.session_end)
            s->cfg.policy.session_end(s->cfg.policy.arg, &c->info, req, handle, 0, NULL, 0);
        return OWP_ACCEPT_INTERNAL;
    }
    sess->c = c;
    sess->policy_held = s->cfg.policy.session != NULL;
    sess->policy_handle = handle;
    sess->server_receives = receives;
    atomic_init(&sess->stop, 0);
    atomic_init(&sess->stop_next_seqno, UINT32_MAX);
    atomic_init(&sess->done, 0);
    uint8_t accept = OWP_ACCEPT_OK;
    if (owp_request_copy(&sess->req, req, &e) != OWP_OK) {
        owp_srv_log(s, OWP_LOG_ERR, "%s: %s", c->peer_name, e.msg);
        accept = OWP_ACCEPT_INTERNAL;
        goto fail;
    }
    owp_endpoint_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.family = req->ipvn == 6 ? AF_INET6 : AF_INET;
    test_local_addr(c, eo.family, &eo.local, &eo.local_len);
    eo.ports = s->cfg.testports;
    eo.dscp = receives ? -1 : owp_request_dscp(req);
    sess->ep = owp_endpoint_new(&eo, &e);
    if (!sess->ep) {
        owp_srv_log(s, OWP_LOG_ERR, "%s: test endpoint: %s", c->peer_name, e.msg);
        accept = OWP_ACCEPT_TEMPORARY;
        goto fail;
    }
    if (owp_endpoint_set_peer(sess->ep, (struct sockaddr *)&peer, peer_len, &e) != OWP_OK) {
        owp_srv_log(s, OWP_LOG_WARNING, "%s: test peer: %s", c->peer_name, e.msg);
        accept = OWP_ACCEPT_FAILURE;
        goto fail;
    }
    if (receives) {
        sess->req.receiver_port = owp_endpoint_port(sess->ep);
        if (make_sid(req, sess->req.sid, &e) != OWP_OK) {
            owp_srv_log(s, OWP_LOG_ERR, "%s: %s", c->peer_name, e.msg);
            accept = OWP_ACCEPT_INTERNAL;
            goto fail;
        }
        if (open_session_file(c, sess, &e) != OWP_OK) {
            owp_srv_log(s, OWP_LOG_ERR, "%s: session file: %s", c->peer_name, e.msg);
            accept = OWP_ACCEPT_INTERNAL;
            goto fail;
        }
    } else {
        sess->req.sender_port = owp_endpoint_port(sess->ep);
    }
    *out = sess;
    return OWP_ACCEPT_OK;

fail:
    owp_srv_end_session(c, sess, OWP_FINISHED_ERROR, 0, NULL, 0, 0);
    return accept;
}

owp_status owp_srv_request_session(conn *c, const uint8_t first[16], owp_err *err)
{
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN];
    memcpy(pre, first, 16);
    owp_status st = owp_chan_recv(c->chan, pre + 16, 80, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;
    memset(pre + 96, 0, 16);
    owp_request req;
    memset(&req, 0, sizeof req);
    st = owp_wire_decode_request_preamble(pre, &req, err);
    if (st != OWP_OK)
        return st;
    req.slots = calloc(req.nslots, sizeof *req.slots);
    if (!req.slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: %u slots: out of memory", c->peer_name,
                           req.nslots);
    for (uint32_t i = 0; i < req.nslots && st == OWP_OK; i++) {
        uint8_t blk[OWP_SLOT_LEN];
        st = owp_chan_recv(c->chan, blk, sizeof blk, err);
        if (st == OWP_OK)
            st = owp_wire_decode_slot(blk, &req.slots[i], err);
        if (st == OWP_ERR_PROTO)
            owp_err_prefix(err, "Request-Session slot %u", i);
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st != OWP_OK) {
        owp_request_clear(&req);
        return st;
    }

    session *sess = NULL;
    owp_accept_session as;
    memset(&as, 0, sizeof as);
    as.accept = setup_session(c, &req, &sess);
    owp_request_clear(&req);
    if (sess) {
        if (add_session(c, sess, err) != OWP_OK) {
            owp_srv_end_session(c, sess, OWP_FINISHED_ERROR, 0, NULL, 0, 0);
            return err->code;
        }
        as.port = sess->server_receives ? sess->req.receiver_port : sess->req.sender_port;
        memcpy(as.sid, sess->req.sid, OWP_SID_LEN);
        char hex[2 * OWP_SID_LEN + 1];
        owp_sid_hex(as.sid, hex);
        owp_srv_log(c->srv, OWP_LOG_DEBUG,
                    "%s: session %s accepted: server %s, port %u, %u packets", c->peer_name, hex,
                    sess->server_receives ? "receives" : "sends", as.port, sess->req.npackets);
    }
    uint8_t buf[OWP_ACCEPT_SESSION_LEN];
    owp_wire_encode_accept_session(&as, buf);
    return owp_srv_send_msg(c, buf, 32, err);
}

/* ------------------------------------------------------------------ Start-Sessions */

owp_status owp_srv_start_sessions(conn *c, const uint8_t first[16], owp_err *err)
{
    owp_status st = owp_chan_recv_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;
    uint8_t msg[OWP_START_SESSIONS_LEN] = {0};
    memcpy(msg, first, 16);
    st = owp_wire_decode_start_sessions(msg, err);
    if (st != OWP_OK)
        return st;
    uint8_t accept = OWP_ACCEPT_OK;
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr)
        (void)pthread_attr_setstacksize(&attr, ENDPOINT_STACK_BYTES); /* else: the default */
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        int r = pthread_create(&sess->thread, have_attr ? &attr : NULL,
                               sess->server_receives ? receiver_main : sender_main, sess);
        if (r != 0) {
            owp_srv_log(c->srv, OWP_LOG_ERR, "%s: pthread_create: %s", c->peer_name, strerror(r));
            accept = OWP_ACCEPT_INTERNAL;
            break;
        }
        sess->thread_started = 1;
    }
    if (have_attr)
        pthread_attr_destroy(&attr);
    uint8_t ack[OWP_START_ACK_LEN];
    owp_wire_encode_start_ack(accept, ack);
    st = owp_srv_send_msg(c, ack, 16, err);
    if (accept != OWP_ACCEPT_OK) {
        owp_srv_end_all_sessions(c, OWP_FINISHED_ERROR);
        if (st == OWP_OK)
            return OWP_ERR_REFUSED; /* caller stays idle */
    }
    return st;
}
