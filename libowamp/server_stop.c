/*
 * server_stop.c - the test phase of a control connection, server side (RFC
 * 4656 section 3.8): from Start-Ack until both Stop-Sessions have crossed.
 * Ours goes when our local sessions are done (or a stop is requested) and
 * carries what our senders sent; the client's ends our receivers at its Next
 * Seqno and finishes their files with its skip ranges. A Fetch-Session may
 * arrive meanwhile (server_fetch.c).
 */
#include "server_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "clock.h"
#include "datadir.h"

static double ts_seconds(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ Stop-Sessions */

static owp_status send_stop_sessions(conn *c, owp_err *err)
{
    owp_stop_sessions m;
    memset(&m, 0, sizeof m);
    size_t nsend = 0;
    for (size_t i = 0; i < c->nsessions; i++)
        nsend += !c->sessions[i]->server_receives;
    owp_stop_session *list = nsend ? calloc(nsend, sizeof *list) : NULL;
    if (nsend && !list)
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: Stop-Sessions: out of memory", c->peer_name);
    size_t k = 0;
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        if (sess->server_receives)
            continue;
        memcpy(list[k].sid, sess->req.sid, OWP_SID_LEN);
        list[k].next_seqno = sess->sent.next_seqno;
        list[k].nskips = sess->sent.nskips;
        list[k].skips = sess->sent.skips;
        if (sess->status != OWP_OK) {
            owp_srv_log(c->srv, OWP_LOG_ERR, "%s: send session: %s", c->peer_name, sess->err.msg);
            m.accept = OWP_ACCEPT_INTERNAL;
        }
        k++;
    }
    m.nsessions = (uint32_t)nsend;
    m.sessions = list;
    size_t len = owp_wire_stop_sessions_len(&m);
    uint8_t *buf = malloc(len);
    owp_status st;
    if (!buf) {
        st = owp_err_set(err, OWP_ERR_NOMEM, "%s: Stop-Sessions: out of memory", c->peer_name);
    } else {
        owp_wire_encode_stop_sessions(&m, buf);
        st = owp_srv_send_msg(c, buf, len, err);
    }
    free(buf);
    free(list);
    return st;
}

/* Read the rest of the client's Stop-Sessions (first block given). Each
 * session must be one of ours, and its skip count is bounded by its packet
 * count, so a hostile peer cannot make us buffer without limit. */
static owp_status recv_stop_sessions(conn *c, const uint8_t first[16], owp_stop_sessions *m,
                                     owp_err *err)
{
    uint8_t accept;
    uint32_t nsessions;
    owp_status st = owp_wire_decode_stop_header(first, &accept, &nsessions, err);
    if (st != OWP_OK)
        return st;
    if (nsessions > c->nsessions)
        return owp_err_set(err, OWP_ERR_PROTO,
                           "Stop-Sessions: Number of Sessions %u, but only %zu requested",
                           nsessions, c->nsessions);
    size_t len = 16, cap = 16 + (size_t)nsessions * 32;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: out of memory");
    memcpy(buf, first, 16);
    for (uint32_t i = 0; i < nsessions && st == OWP_OK; i++) {
        if (len + 32 > cap) {
            uint8_t *n = realloc(buf, len + 32);
            if (!n) {
                st = owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: out of memory");
                break;
            }
            buf = n;
            cap = len + 32;
        }
        st = owp_chan_recv(c->chan, buf + len, 32, err);
        if (st != OWP_OK)
            break;
        uint32_t next_seqno, nskips;
        st = owp_wire_decode_stop_counts(buf + len + 16, &next_seqno, &nskips, err);
        if (st != OWP_OK)
            break;
        session *sess = owp_srv_find_session(c, buf + len);
        if (!sess || !sess->server_receives) {
            char hex[2 * OWP_SID_LEN + 1];
            owp_sid_hex(buf + len, hex);
            st = owp_err_set(err, OWP_ERR_PROTO,
                             "Stop-Sessions: SID %s is not a session this server receives", hex);
            break;
        }
        if (nskips > sess->req.npackets) {
            st = owp_err_set(err, OWP_ERR_PROTO,
                             "Stop-Sessions: Number of Skip Ranges %u exceeds %u packets", nskips,
                             sess->req.npackets);
            break;
        }
        size_t more = (owp_wire_stop_session_blocks(nskips) - 2) * 16;
        len += 32;
        if (more) {
            uint8_t *n = realloc(buf, len + more);
            if (!n) {
                st = owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: out of memory");
                break;
            }
            buf = n;
            cap = len + more;
            st = owp_chan_recv(c->chan, buf + len, more, err);
            len += more;
        }
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_stop_sessions(buf, len, m, err);
    free(buf);
    return st;
}

/* The client's Stop-Sessions ends everything: senders stop, receivers take
 * its Next Seqno (missing packets below it become lost records), files are
 * finished with its skip ranges. */
static void apply_client_stop(conn *c, const owp_stop_sessions *m)
{
    for (size_t i = 0; i < c->nsessions; i++)
        if (!c->sessions[i]->server_receives)
            owp_srv_join_session(c->sessions[i]);
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        if (!sess->server_receives)
            continue;
        const owp_stop_session *ss = NULL;
        for (uint32_t k = 0; k < m->nsessions; k++)
            if (memcmp(m->sessions[k].sid, sess->req.sid, OWP_SID_LEN) == 0)
                ss = &m->sessions[k];
        uint32_t next = ss ? ss->next_seqno : sess->req.npackets;
        if (next > sess->req.npackets)
            next = sess->req.npackets;
        atomic_store(&sess->stop_next_seqno, next);
        atomic_store(&sess->stop, 1);
    }
    for (size_t i = 0; i < c->nsessions; i++)
        owp_srv_join_session(c->sessions[i]);
}

/* Every received file finished (header, skip ranges, flushed) as the
 * client's Stop-Sessions says. This must happen before our Stop-Sessions
 * reply leaves: a client such as powstream fetches the file on a second
 * connection the moment it has our reply, and would get Finished 0. */
static void finish_received_files(conn *c, const owp_stop_sessions *m)
{
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        if (!sess->server_receives)
            continue;
        const owp_stop_session *ss = NULL;
        for (uint32_t k = 0; k < m->nsessions; k++)
            if (memcmp(m->sessions[k].sid, sess->req.sid, OWP_SID_LEN) == 0)
                ss = &m->sessions[k];
        uint32_t finished = OWP_FINISHED_NORMAL;
        if (sess->status != OWP_OK) {
            owp_srv_log(c->srv, OWP_LOG_ERR, "%s: receive session: %s", c->peer_name,
                        sess->err.msg);
            finished = OWP_FINISHED_ERROR;
        } else if (!ss) {
            finished = OWP_FINISHED_INCOMPLETE;
        }
        owp_srv_finish_file(c, sess, finished, ss ? ss->next_seqno : 0, ss ? ss->skips : NULL,
                            ss ? ss->nskips : 0);
    }
}

/* After the exchange: every session ends (files closed, policy grants given
 * back) and the table empties. A failed test (non-zero Accept) leaves no
 * data behind. */
static void end_sessions_after_stop(conn *c, const owp_stop_sessions *m)
{
    int keep = m->accept == OWP_ACCEPT_OK;
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        owp_srv_end_session(c, sess, OWP_FINISHED_NORMAL, 0, NULL, 0,
                            sess->server_receives ? keep : 1);
    }
    c->nsessions = 0;
}

/* ------------------------------------------------------------------ testing */

/* Are our local sessions done, so our Stop-Sessions may go? Senders: last
 * packet + timeout + enddelay; receivers: every packet accounted for. On a
 * stop request only the senders count (the receivers wait for the client's
 * Stop-Sessions, which says how far its sender got). */
static int local_sessions_done(const conn *c, int stopping)
{
    double now = owp_clock_monotonic();
    for (size_t i = 0; i < c->nsessions; i++) {
        const session *sess = c->sessions[i];
        if (!atomic_load(&sess->done)) {
            if (stopping && sess->server_receives)
                continue;
            return 0;
        }
        if (!sess->server_receives && !stopping) {
            double wait = owp_num64_to_double(sess->req.timeout) + c->srv->cfg.enddelay;
            if (now < ts_seconds(&sess->done_at) + wait)
                return 0;
        }
    }
    return 1;
}

owp_status owp_srv_run_tests(conn *c, owp_err *err)
{
    int our_stop_sent = 0, stopping = 0;
    double client_deadline = 0;
    int tmo_ms = owp_srv_control_timeout_ms(c);
    for (;;) {
        if (!stopping && owp_srv_stop_requested(c)) {
            stopping = 1;
            owp_srv_log(c->srv, OWP_LOG_INFO, "%s: stopping tests early", c->peer_name);
            for (size_t i = 0; i < c->nsessions; i++)
                if (!c->sessions[i]->server_receives)
                    atomic_store(&c->sessions[i]->stop, 1);
        }
        if (!our_stop_sent && local_sessions_done(c, stopping)) {
            for (size_t i = 0; i < c->nsessions; i++)
                if (!c->sessions[i]->server_receives)
                    owp_srv_join_session(c->sessions[i]);
            owp_status st = send_stop_sessions(c, err);
            if (st != OWP_OK)
                return st;
            our_stop_sent = 1;
            /* The control timeout is re-armed for the client's Stop-Sessions. */
            client_deadline = tmo_ms > 0 ? owp_clock_monotonic() + tmo_ms / 1000.0 : 0;
        }
        if (client_deadline > 0 && owp_clock_monotonic() > client_deadline)
            return owp_err_set(err, OWP_ERR_TIMEOUT, "%s: no Stop-Sessions within %d s",
                               c->peer_name, tmo_ms / 1000);
        int r = owp_chan_wait_readable(c->chan, OWP_SRV_POLL_SLICE_MS);
        if (r == 0)
            continue;
        uint8_t blk[16];
        owp_status st = owp_chan_recv(c->chan, blk, sizeof blk, err);
        if (st != OWP_OK)
            return st;
        if (blk[0] == OWP_MSG_FETCH_SESSION) {
            st = owp_srv_fetch(c, blk, err);
            if (st != OWP_OK)
                return st;
            continue;
        }
        if (blk[0] != OWP_MSG_STOP_SESSIONS)
            return owp_err_set(err, OWP_ERR_PROTO,
                               "message type %u not allowed while tests run", blk[0]);
        owp_stop_sessions m;
        memset(&m, 0, sizeof m);
        st = recv_stop_sessions(c, blk, &m, err);
        if (st != OWP_OK)
            return st;
        if (m.accept != OWP_ACCEPT_OK)
            owp_srv_log(c->srv, OWP_LOG_WARNING, "%s: client's Stop-Sessions: Accept %u (%s)",
                        c->peer_name, m.accept, owp_accept_name(m.accept));
        apply_client_stop(c, &m);
        finish_received_files(c, &m);
        if (!our_stop_sent)
            st = send_stop_sessions(c, err);
        end_sessions_after_stop(c, &m);
        owp_stop_sessions_clear(&m);
        return st;
    }
}
