/*
 * client_stop.c - the end of a test, client side: waiting for the sessions
 * to end (all at once or step by step), Stop-Sessions both ways (RFC 4656
 * 3.8: ours carries what we sent; the server's ends our receivers and
 * finishes their files), early stops, session results, and the reset that
 * readies the connection for the next set of sessions.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "client_internal.h"

#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "wire.h"

/* How long past its computed end a test may run before the server counts as
 * stalled, and how long an early stop waits for the server's Stop-Sessions. */
#define CLIENT_END_GRACE_SEC 10.0
#define CLIENT_STOP_GRACE_SEC 3.0
#define CLIENT_POLL_MS 50

/* ------------------------------------------------------------ Stop-Sessions */

static owp_status send_stop_sessions(owp_client *c, owp_err *err)
{
    owp_stop_sessions m = { .accept = OWP_ACCEPT_OK };
    owp_stop_session *list = calloc(c->nsess ? c->nsess : 1, sizeof *list);
    if (!list)
        return owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: out of memory");
    for (unsigned i = 0; i < c->nsess; i++) {
        client_session *s = &c->sess[i];
        if (s->dir != OWP_DIR_TO)
            continue;
        owp_stop_session *e = &list[m.nsessions++];
        memcpy(e->sid, s->req.sid, OWP_SID_LEN);
        e->next_seqno = s->sent.next_seqno;
        e->nskips = s->sent.nskips;
        e->skips = s->sent.skips;
    }
    m.sessions = list;
    size_t len = owp_wire_stop_sessions_len(&m);
    uint8_t *buf = malloc(len);
    owp_status st;
    if (!buf) {
        st = owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: out of memory");
    } else {
        owp_wire_encode_stop_sessions(&m, buf);
        st = owp_chan_send(c->chan, buf, len, err);
        if (st == OWP_OK)
            st = owp_chan_send_hmac(c->chan, err);
        if (st != OWP_OK)
            owp_err_prefix(err, "sending Stop-Sessions");
    }
    free(buf);
    free(list);
    if (st == OWP_OK)
        c->sent_stop = 1;
    return st;
}

static owp_status append_blocks(owp_client *c, uint8_t **buf, size_t *len, size_t *cap,
                                size_t more, owp_err *err)
{
    if (*len + more > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < *len + more)
            ncap *= 2;
        uint8_t *n = realloc(*buf, ncap);
        if (!n)
            return owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: out of memory");
        *buf = n;
        *cap = ncap;
    }
    owp_status st = owp_chan_recv(c->chan, *buf + *len, more, err);
    if (st == OWP_OK)
        *len += more;
    return st;
}

/* Read a whole Stop-Sessions message (block by block: its length is only
 * known as it arrives) and decode it. */
static owp_status recv_stop_sessions(owp_client *c, owp_stop_sessions *m, owp_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    uint8_t accept;
    uint32_t nsessions;
    owp_status st = append_blocks(c, &buf, &len, &cap, 16, err);
    if (st == OWP_OK)
        st = owp_wire_decode_stop_header(buf, &accept, &nsessions, err);
    if (st == OWP_OK && nsessions > c->nsess)
        st = owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions lists %u sessions, %u were requested",
                         nsessions, c->nsess);
    for (uint32_t i = 0; st == OWP_OK && i < nsessions; i++) {
        uint32_t next_seqno, nskips;
        size_t at = len;
        st = append_blocks(c, &buf, &len, &cap, 32, err);
        if (st == OWP_OK)
            st = owp_wire_decode_stop_counts(buf + at + 16, &next_seqno, &nskips, err);
        if (st == OWP_OK)
            st = append_blocks(c, &buf, &len, &cap, (owp_wire_stop_session_blocks(nskips) - 2) * 16,
                               err);
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_stop_sessions(buf, len, m, err);
    free(buf);
    if (st != OWP_OK)
        owp_err_prefix(err, "Stop-Sessions from %s", c->peer_name);
    return st;
}

/* End a receiver: packets below next_seqno never seen become lost records. */
static void receiver_stop(client_session *s, uint32_t next_seqno)
{
    atomic_store(&s->stop_next_seqno, next_seqno);
    atomic_store(&s->stop, 1);
    owp_cli_join_session(s);
}

static owp_status finish_receiver(client_session *s, uint32_t finished, uint32_t next_seqno,
                                  const owp_skip *skips, uint32_t nskips, owp_err *err)
{
    if (s->file_finished)
        return OWP_OK;
    s->file_finished = 1;
    s->result_next_seqno = next_seqno;
    s->result_nskips = nskips;
    if (s->write_status != OWP_OK) {
        if (err)
            *err = s->write_err;
        return s->write_status;
    }
    return owp_file_writer_finish(s->writer, finished, next_seqno, skips, nskips, err);
}

static client_session *find_session(owp_client *c, const uint8_t sid[OWP_SID_LEN])
{
    for (unsigned i = 0; i < c->nsess; i++)
        if (memcmp(c->sess[i].req.sid, sid, OWP_SID_LEN) == 0)
            return &c->sess[i];
    return NULL;
}

/* The server's Stop-Sessions: its send sessions end our receivers. */
static owp_status apply_server_stop(owp_client *c, const owp_stop_sessions *m, owp_err *err)
{
    c->got_server_stop = 1;
    c->server_stop_accept = m->accept;
    owp_status st = OWP_OK;
    for (uint32_t i = 0; i < m->nsessions; i++) {
        const owp_stop_session *e = &m->sessions[i];
        client_session *s = find_session(c, e->sid);
        if (!s || s->dir != OWP_DIR_FROM || s->got_server_stop)
            return owp_err_set(err, OWP_ERR_PROTO,
                               "Stop-Sessions from %s names a session it does not send",
                               c->peer_name);
        if (e->next_seqno > s->req.npackets)
            return owp_err_set(err, OWP_ERR_PROTO,
                               "Stop-Sessions from %s: Next Seqno %u > %u packets", c->peer_name,
                               e->next_seqno, s->req.npackets);
        s->got_server_stop = 1;
        receiver_stop(s, e->next_seqno);
        owp_status fs = finish_receiver(s, OWP_FINISHED_NORMAL, e->next_seqno, e->skips,
                                        e->nskips, st == OWP_OK ? err : NULL);
        if (st == OWP_OK)
            st = fs;
    }
    return st;
}

/* Receivers the server's Stop-Sessions did not mention (or that never came). */
static owp_status finish_orphan_receivers(owp_client *c, owp_err *err)
{
    owp_status st = OWP_OK;
    for (unsigned i = 0; i < c->nsess; i++) {
        client_session *s = &c->sess[i];
        if (s->dir != OWP_DIR_FROM || s->file_finished)
            continue;
        receiver_stop(s, atomic_load(&s->seen_next));
        s->stopped_early = 1;
        owp_status fs = finish_receiver(s, OWP_FINISHED_INCOMPLETE, atomic_load(&s->seen_next),
                                        NULL, 0,
                                        st == OWP_OK ? err : NULL);
        if (st == OWP_OK)
            st = fs;
    }
    return st;
}

static int senders_done(const owp_client *c)
{
    for (unsigned i = 0; i < c->nsess; i++)
        if (c->sess[i].dir == OWP_DIR_TO && !atomic_load(&c->sess[i].done))
            return 0;
    return 1;
}

static int has_dir(const owp_client *c, owp_direction dir)
{
    for (unsigned i = 0; i < c->nsess; i++)
        if (c->sess[i].dir == dir)
            return 1;
    return 0;
}

/* Seconds from now until the latest (last packet + timeout + extra) of the
 * sessions in direction dir (all when dir < 0). */
static double seconds_until_end(const owp_client *c, int dir, int with_enddelay)
{
    double latest = 0;
    int any = 0;
    for (unsigned i = 0; i < c->nsess; i++) {
        const client_session *s = &c->sess[i];
        if (dir >= 0 && (int)s->dir != dir)
            continue;
        double d = owp_cli_seconds_until(s->last_packet) +
                   owp_num64_to_double(s->req.timeout) + (with_enddelay ? s->enddelay : 0);
        if (!any || d > latest)
            latest = d;
        any = 1;
    }
    return latest;
}

static void begin_stop(owp_client *c)
{
    if (c->stopping)
        return;
    c->stopping = 1;
    c->stop_began = owp_clock_monotonic();
    for (unsigned i = 0; i < c->nsess; i++)
        if (c->sess[i].dir == OWP_DIR_TO) {
            atomic_store(&c->sess[i].stop, 1);
            c->sess[i].stopped_early = 1;
        }
}

/* Our Stop-Sessions goes out once our senders are done and their last packet
 * has had timeout + enddelay to arrive; with no senders, once the server's
 * Stop-Sessions has arrived; at once when stopping early. */
static int time_to_send_stop(owp_client *c)
{
    if (c->sent_stop || !senders_done(c))
        return 0;
    if (c->stopping || c->got_server_stop)
        return 1;
    if (!has_dir(c, OWP_DIR_TO))
        return 0;
    return seconds_until_end(c, OWP_DIR_TO, 1) <= 0;
}

static owp_status thread_errors(owp_client *c, owp_err *err)
{
    for (unsigned i = 0; i < c->nsess; i++) {
        client_session *s = &c->sess[i];
        if (s->thread_joined && s->thread_status != OWP_OK) {
            if (err)
                *err = s->thread_err;
            return owp_err_prefix(err, "%s test session",
                                  s->dir == OWP_DIR_TO ? "\"to\"" : "\"from\"");
        }
    }
    return OWP_OK;
}

/* One step of the wait: act on what is due, then wait at most timeout_ms for
 * the server. *done becomes 1 when the Stop-Sessions exchange is over (or
 * abandoned as tolerable). */
static owp_status wait_step(owp_client *c, const atomic_int *interrupt, int timeout_ms, int *done,
                            owp_err *err)
{
    *done = 0;
    if (!c->wait_began) {
        c->wait_began = 1;
        /* Hard bound for a stalled server: the whole test plus a grace period. */
        c->test_end = owp_clock_monotonic() + seconds_until_end(c, -1, 1) + CLIENT_END_GRACE_SEC + 2 * c->rtt;
    }
    if (!c->stopping && interrupt && atomic_load(interrupt))
        begin_stop(c);
    /* RFC 4656 3.8: a Stop-Sessions from the server ends the test now; our
     * senders stop and our answer goes straight back (owampd shutting down). */
    if (c->got_server_stop && !c->stopping && !senders_done(c))
        begin_stop(c);
    if (time_to_send_stop(c)) {
        for (unsigned i = 0; i < c->nsess; i++)
            if (c->sess[i].dir == OWP_DIR_TO)
                owp_cli_join_session(&c->sess[i]);
        owp_status st = send_stop_sessions(c, err);
        if (st != OWP_OK)
            return st;
    }
    if (c->sent_stop && c->got_server_stop) {
        *done = 1;
        return OWP_OK;
    }
    double now = owp_clock_monotonic();
    double deadline = c->stopping ? c->stop_began + CLIENT_STOP_GRACE_SEC + 2 * c->rtt
                                  : c->test_end;
    if (now > deadline) {
        if (c->stopping || (c->sent_stop && !has_dir(c, OWP_DIR_FROM))) {
            *done = 1;
            return OWP_OK; /* tolerated: nothing of ours depends on it */
        }
        return owp_err_set(err, OWP_ERR_TIMEOUT,
                           "server %s sent no Stop-Sessions within %.1f s of the test's end",
                           c->peer_name, CLIENT_END_GRACE_SEC);
    }
    /* Senders that finish or a stop deadline need attention even when the
     * server is silent: never sleep past the poll period. */
    if (timeout_ms > CLIENT_POLL_MS || timeout_ms < 0)
        timeout_ms = CLIENT_POLL_MS;
    int r = owp_chan_wait_readable(c->chan, timeout_ms);
    if (r == 1) {
        owp_stop_sessions m;
        owp_status st = recv_stop_sessions(c, &m, err);
        if (st == OWP_OK) {
            st = apply_server_stop(c, &m, err);
            owp_stop_sessions_clear(&m);
        }
        if (st != OWP_OK)
            return st;
        if (c->got_server_stop && !c->stopping && !senders_done(c))
            begin_stop(c);
    }
    return OWP_OK;
}

static owp_status wait_loop(owp_client *c, const atomic_int *interrupt, owp_err *err)
{
    for (;;) {
        int done = 0;
        owp_status st = wait_step(c, interrupt, CLIENT_POLL_MS, &done, err);
        if (st != OWP_OK || done)
            return st;
    }
}

/* Whatever happened, stop and join every thread and close every file. */
static owp_status client_wrap_up(owp_client *c, owp_status st, owp_err *err)
{
    c->finished = 1;
    for (unsigned i = 0; i < c->nsess; i++)
        if (c->sess[i].dir == OWP_DIR_TO) {
            atomic_store(&c->sess[i].stop, 1);
            owp_cli_join_session(&c->sess[i]);
        }
    owp_status fs = finish_orphan_receivers(c, st == OWP_OK ? err : NULL);
    if (st == OWP_OK)
        st = fs;
    if (st == OWP_OK)
        st = thread_errors(c, err);
    if (st == OWP_OK && c->got_server_stop && c->server_stop_accept != OWP_ACCEPT_OK)
        st = owp_err_set(err, OWP_ERR_REFUSED, "server %s ended the test with Accept %u (%s)",
                         c->peer_name, c->server_stop_accept,
                         owp_accept_name(c->server_stop_accept));
    return st;
}

static owp_status client_finish(owp_client *c, const atomic_int *interrupt, owp_err *err)
{
    if (!c->started)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_wait: sessions not started");
    if (c->finished)
        return OWP_OK;
    owp_status st = wait_loop(c, interrupt, err);
    c->finish_status = client_wrap_up(c, st, err);
    return c->finish_status;
}

owp_status owp_client_poll(owp_client *self, const atomic_int *interrupt, int timeout_ms,
                           int *done, owp_err *err)
{
    *done = 0;
    if (!self->started)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_poll: sessions not started");
    if (self->finished) {
        *done = 1;
        return OWP_OK;
    }
    owp_status st = wait_step(self, interrupt, timeout_ms, done, err);
    if (st != OWP_OK || *done) {
        *done = 1;
        self->finish_status = client_wrap_up(self, st, err);
        return self->finish_status;
    }
    return OWP_OK;
}

owp_status owp_client_reset(owp_client *self, owp_err *err)
{
    if (self->started && !self->finished)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "owp_client_reset: sessions still running on %s", self->peer_name);
    for (unsigned i = 0; i < self->nsess; i++) {
        owp_cli_join_session(&self->sess[i]);
        owp_cli_session_free(&self->sess[i]);
    }
    self->nsess = 0;
    self->started = self->finished = self->stopping = 0;
    self->sent_stop = self->got_server_stop = 0;
    self->server_stop_accept = 0;
    self->wait_began = 0;
    self->finish_status = OWP_OK;
    return OWP_OK;
}

owp_status owp_client_wait(owp_client *self, const atomic_int *interrupt, owp_err *err)
{
    return client_finish(self, interrupt, err);
}

owp_status owp_client_stop_now(owp_client *self, owp_err *err)
{
    if (self->started && !self->finished)
        begin_stop(self);
    return client_finish(self, NULL, err);
}

owp_status owp_client_session_result(const owp_client *self, unsigned index,
                                     owp_session_result *r, owp_err *err)
{
    if (index >= self->nsess)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_session_result: no session %u",
                           index);
    const client_session *s = &self->sess[index];
    memset(r, 0, sizeof *r);
    r->stopped_early = s->stopped_early;
    if (s->dir == OWP_DIR_TO) {
        r->next_seqno = s->sent.next_seqno;
        r->nskips = s->sent.nskips;
    } else {
        r->next_seqno = s->result_next_seqno;
        r->nskips = s->result_nskips;
        r->nrecords = s->writer ? owp_file_writer_nrecords(s->writer) : 0;
    }
    return OWP_OK;
}
