/*
 * stream.c - the continuous-stream engine (see stream.h for the contract).
 *
 * One thread per stream drives a pool of control connections ("slots"). The
 * stream's time line is a sequence of sessions k = 0, 1, ... with start times
 * S_0 = now + start_delay and S_{k+1} = scheduled time of the last packet of
 * session k, interrupted only by unmeasured intervals. Each turn of the loop:
 *   1. polls the running sessions; a finished one has its files written and
 *      its slot freed (its connection kept for the next session); what it
 *      could not measure goes back to the time line (the last session) or
 *      is held as an unmeasured interval;
 *   2. writes the sub-session summaries that are due, from the growing file;
 *   3. opens a "hole" when the next start is too close to be set up any
 *      more: from then on the next start follows the clock (now + lead)
 *      until a session is set up, which closes the hole at its start;
 *   4. sets the next session up on a free slot, unless backing off;
 *   5. reports the held unmeasured intervals whose end has passed;
 * then sleeps until woken by a stop or a retry, or for at most TICK_MS.
 * This file is the loop and the public API; a finished session's files are
 * written by stream_files.c, and the unmeasured time line (failures, holes,
 * held intervals, back-off) is kept by stream_unmeasured.c
 * (stream_internal.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include "clock.h"
#include "hostport.h"
#include "sendsched.h"
#include "stream_internal.h"
#include "wire.h"

#define TICK_MS 20
#define POOL_MAX 64

/* ------------------------------------------------------------------ helpers */


void owp_strm_count(owp_stream *s, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    *field += n;
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------ options and state */

void owp_stream_opts_default(owp_stream_opts *o)
{
    memset(o, 0, sizeof *o);
    owp_client_opts_default(&o->client);
    o->client.modes = OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    o->client.control_timeout_ms = 5000;
    o->npackets = 300;
    o->interval = 0.1;
    o->loss_timeout = 10.0;
    o->enddelay = 1.0;
    o->dscp = -1;
    o->start_delay = 10.0;
    o->retry_delay = 60.0;
    o->bucket_width = 0.0001;
    o->dir = ".";
}

owp_status owp_stream_check_opts(const owp_stream_opts *o, owp_err *err)
{
    if (!o || !o->client.server || !o->client.server[0])
        return owp_err_set(err, OWP_ERR_INVALID, "stream: no server given");
    if (o->npackets == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: packet count (-c) must be positive");
    if (o->sub_count > o->npackets || (o->sub_count && o->npackets % o->sub_count != 0))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "Number of summary packets (-N %u) must be a divisor of the number "
                           "of session packets (-c %u).",
                           o->sub_count, o->npackets);
    if (!(o->interval > 0) || o->interval > 1e6)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: interval (-i) %g must be positive",
                           o->interval);
    if (!(o->loss_timeout > 0) || o->loss_timeout > 1e6)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: loss timeout (-L) %g must be positive",
                           o->loss_timeout);
    if (!(o->bucket_width > 0))
        return owp_err_set(err, OWP_ERR_INVALID, "stream: bucket width (-b) must be positive");
    if (o->enddelay < 0 || o->start_delay < 0 || o->retry_delay < 0 || o->min_lead < 0)
        return owp_err_set(err, OWP_ERR_INVALID, "stream: negative delay");
    return OWP_OK;
}

/* Seconds a session occupies its connection after its last packet: loss
 * timeout + end delay + the Stop-Sessions exchange; the next session on the
 * same connection needs its start at least min_lead after that. */
unsigned owp_stream_pool_size(const owp_stream_opts *o)
{
    double duration = 0.9 * o->npackets * o->interval; /* exponential: allow for variance */
    double busy = o->loss_timeout + (o->enddelay > 1.0 ? o->enddelay : 1.0) +
                  (o->min_lead > 0 ? o->min_lead : 1.0) + 1.0;
    if (duration <= 0)
        return POOL_MAX;
    double n = 1.0 + ceil(busy / duration);
    if (n < 2)
        n = 2;
    if (n > POOL_MAX)
        n = POOL_MAX;
    return (unsigned)n;
}

void owp_stream_get_counters(owp_stream *self, owp_stream_counters *c)
{
    pthread_mutex_lock(&self->mu);
    *c = self->counters;
    pthread_mutex_unlock(&self->mu);
}

void owp_stream_get_health(owp_stream *self, owp_stream_health *h)
{
    pthread_mutex_lock(&self->mu);
    *h = self->health;
    pthread_mutex_unlock(&self->mu);
}

int owp_stream_done(const owp_stream *self) { return atomic_load(&self->done); }

owp_num64 owp_stream_first_start(const owp_stream *self) { return self->first_start; }

/* ------------------------------------------------------------------ set-up */

static owp_status request_session(owp_stream *s, stream_slot *sl, owp_stream_reason *why,
                                  owp_err *err)
{
    stream_session *ss = &sl->sess;
    memset(ss, 0, sizeof *ss);
    ss->index = s->next_index;
    ss->start = ss->sub_start = s->next_start;
    *why = OWP_STREAM_LOCAL;
    if (!s->o.sender && !(ss->fp = owp_strm_temp_file(s, ss->tmp_path, sizeof ss->tmp_path, err)))
        return err ? err->code : OWP_ERR_SYS;
    owp_test_spec spec = {
        .dir = s->o.sender ? OWP_DIR_TO : OWP_DIR_FROM,
        .peer = s->have_peer ? (struct sockaddr *)&s->peer : NULL,
        .peer_len = s->have_peer ? s->peer_len : 0,
        .npackets = s->o.npackets,
        .slots = &s->sched_slot,
        .nslots = 1,
        .padding = s->o.padding,
        .start_time = ss->start,
        .timeout = owp_num64_from_double(s->o.loss_timeout),
        .dscp = s->o.dscp,
        .ports = s->o.ports,
        .enddelay = s->o.enddelay,
        .out = ss->fp,
    };
    unsigned idx = 0;
    owp_status st = owp_client_request(sl->client, &spec, &idx, err);
    if (st != OWP_OK) {
        *why = owp_strm_classify(err);
        return owp_err_prefix(err, "OWPSessionRequest");
    }
    if ((st = owp_request_copy(&ss->req, owp_client_session_request(sl->client, idx), err)) !=
        OWP_OK)
        return st;
    ss->sched = owp_sched_new(ss->req.sid, ss->req.slots, ss->req.nslots, err);
    if (!ss->sched)
        return err ? err->code : OWP_ERR_CRYPTO;
    ss->end = owp_strm_sched_time(ss, ss->req.npackets - 1);
    if ((st = owp_client_start(sl->client, err)) != OWP_OK) {
        *why = owp_strm_classify(err);
        return owp_err_prefix(err, "OWPStartSessions");
    }
    return OWP_OK;
}

/* Why a control connection could not be opened, in the reference's words
 * when the connect itself failed (programs.md §8.5): the client reports
 * "connect to ADDR: REASON"; anything later (greeting, modes, pass-phrase)
 * keeps the client's own message. */
static void reword_connect_error(owp_err *err)
{
    static const char connect_to[] = "connect to ";
    if (strncmp(err->msg, connect_to, sizeof connect_to - 1) != 0)
        return;
    const char *reason = strstr(err->msg, ": ");
    char why[OWP_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", reason ? reason + 2 : "failed");
    owp_err_set(err, err->code, "Couldn't open 'control' connection to server: %s", why);
}

/* Connect if needed and set the next session up on slot sl. */
static void setup_on(owp_stream *s, stream_slot *sl)
{
    owp_err err;
    owp_err_clear(&err);
    pthread_mutex_lock(&s->mu);
    s->health.last_attempt = owp_clock_now(NULL);
    pthread_mutex_unlock(&s->mu);
    if (!sl->client) {
        sl->client = owp_client_open(&s->o.client, &err);
        if (!sl->client) {
            owp_stream_reason why = owp_strm_classify(&err);
            reword_connect_error(&err);
            owp_strm_log(s, LOG_WARNING, "OWPControlOpen(%s): %s", s->server, err.msg);
            owp_strm_note_failure(s, why, err.msg);
            return;
        }
        s->last_rtt = owp_client_rtt(sl->client);
    }
    owp_strm_hole_overdue(s); /* connecting took time */
    if (atomic_load(&s->stop))
        return;
    owp_stream_reason why;
    if (request_session(s, sl, &why, &err) != OWP_OK) {
        owp_strm_log(s, LOG_WARNING, "session %" PRIu64 " via %s: %s", s->next_index, s->server,
                     err.msg);
        owp_strm_session_clear(&sl->sess);
        owp_client_close(&sl->client);
        owp_strm_note_failure(s, why, err.msg);
        return;
    }
    sl->running = 1;
    sl->alive_at = owp_clock_now(NULL);
    owp_strm_note_setup(s, &sl->sess);
    if (s->o.verbose) /* the reference's line (programs.md §8.1) */
        owp_strm_log(s, LOG_DEBUG, "Starting session [" TSTAMP_FMT " - " TSTAMP_FMT "] v=%d",
                     sl->sess.start, sl->sess.end, s->o.verbose);
    s->next_start = sl->sess.end;
    s->next_index++;
}

static void setup_next(owp_stream *s)
{
    for (unsigned i = 0; i < s->nslots && !atomic_load(&s->stop); i++) {
        if (s->retry_at > owp_clock_monotonic())
            return;
        stream_slot *sl = &s->slots[i];
        if (sl->running)
            continue;
        owp_strm_hole_overdue(s);
        setup_on(s, sl);
    }
}

/* ------------------------------------------------------------------ finishing */

/* -t: fetch the session the server received into a temp file. */
static const char *fetch_data(owp_stream *s, stream_slot *sl, owp_err *err)
{
    stream_session *ss = &sl->sess;
    if (!sl->client)
        return NULL;
    ss->fp = owp_strm_temp_file(s, ss->tmp_path, sizeof ss->tmp_path, err);
    if (!ss->fp)
        return NULL;
    if (owp_client_fetch(sl->client, ss->req.sid, 0, 0xFFFFFFFFu, ss->fp, NULL, err) != OWP_OK) {
        owp_strm_log(s, LOG_WARNING, "session %" PRIu64 ": fetching its data: %s", ss->index,
                     err->msg);
        owp_client_close(&sl->client);
        return NULL;
    }
    fflush(ss->fp);
    return ss->tmp_path;
}

static void finish_slot(owp_stream *s, stream_slot *sl, owp_status st, owp_err *err,
                        int user_stop)
{
    stream_session *ss = &sl->sess;
    session_outcome o = { .ok = 1, .alive_at = sl->alive_at };
    if (st != OWP_OK) {
        owp_strm_log(s, user_stop ? LOG_INFO : LOG_WARNING, "session %" PRIu64 " via %s: %s",
                     ss->index, s->server, err->msg);
        owp_strm_outcome_failed(&o, owp_strm_classify(err), "%s", err->msg);
        /* The connection is in an unknown state: a fresh one for the next session. */
        owp_client_close(&sl->client);
    }
    const char *data = ss->tmp_path[0] ? ss->tmp_path : NULL;
    if (s->o.sender) {
        owp_err ferr;
        owp_err_clear(&ferr);
        data = fetch_data(s, sl, &ferr);
        /* fetch_data closes the connection when the fetch itself failed;
         * with the connection still open, our temporary file did. */
        if (!data && o.ok)
            owp_strm_outcome_failed(&o, sl->client ? OWP_STREAM_LOCAL : owp_strm_classify(&ferr),
                                    "fetching the session's data: %s", ferr.msg);
    } else if (ss->fp) {
        fflush(ss->fp);
    }
    owp_strm_write_session(s, ss, data, user_stop, &o);
    if (!o.ok && !user_stop) {
        /* A server that accepts sessions and then fails them is not asked
         * again at every tick. */
        owp_strm_back_off(s);
    }
    owp_strm_session_clear(ss);
    if (sl->client && owp_client_reset(sl->client, err) != OWP_OK)
        owp_client_close(&sl->client);
    sl->running = 0;
}

/* Slots by session index, latest first: when several sessions fail at once
 * (the server died), the last of the time line gives its time back first,
 * so the ones before it can give theirs back too. */
static unsigned running_latest_first(const owp_stream *s, unsigned *order)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->nslots; i++) {
        if (!s->slots[i].running)
            continue;
        unsigned j = n++;
        while (j > 0 && s->slots[order[j - 1]].sess.index < s->slots[i].sess.index) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    return n;
}

static void poll_running(owp_stream *s)
{
    unsigned order[POOL_MAX];
    unsigned n = running_latest_first(s, order);
    for (unsigned k = 0; k < n; k++) {
        stream_slot *sl = &s->slots[order[k]];
        owp_err err;
        owp_err_clear(&err);
        int done = 0;
        owp_status st = owp_client_poll(sl->client, NULL, 0, &done, &err);
        if (done) {
            finish_slot(s, sl, st, &err, 0);
        } else {
            sl->alive_at = owp_clock_now(NULL);
            owp_strm_running_subs(s, sl);
        }
    }
}

static void stop_all(owp_stream *s)
{
    for (unsigned i = 0; i < s->nslots; i++) {
        stream_slot *sl = &s->slots[i];
        if (!sl->running)
            continue;
        owp_err err;
        owp_err_clear(&err);
        owp_status st = owp_client_stop_now(sl->client, &err);
        finish_slot(s, sl, st, &err, 1);
    }
    owp_strm_report_held(s, 1);
    for (unsigned i = 0; i < s->nslots; i++)
        owp_client_close(&s->slots[i].client);
}

static void sleep_tick(owp_stream *s)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += TICK_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop) && !atomic_load(&s->retry)) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->mu);
}

static void *stream_main(void *arg)
{
    owp_stream *s = arg;
    while (!atomic_load(&s->stop)) {
        if (atomic_exchange(&s->retry, 0)) {
            s->failures = 0;
            s->retry_at = 0;
        }
        poll_running(s);
        setup_next(s);
        owp_strm_hole_overdue(s);
        owp_strm_report_held(s, 0);
        sleep_tick(s);
    }
    stop_all(s);
    atomic_store(&s->done, 1);
    return NULL;
}

/* ------------------------------------------------------------------ life cycle */

static char *dup_or_null(const char *p, int *fail)
{
    if (!p)
        return NULL;
    char *d = strdup(p);
    if (!d)
        *fail = 1;
    return d;
}

static void free_strings(owp_stream *s)
{
    free(s->server);
    free(s->testpeer);
    free(s->dir);
    free(s->identity);
    free(s->src_addr);
    free(s->bind_device);
    free(s->default_port);
    if (s->passphrase)
        memset(s->passphrase, 0, s->o.client.passphrase_len);
    free(s->passphrase);
}

static owp_status copy_opts(owp_stream *s, const owp_stream_opts *o, owp_err *err)
{
    int fail = 0;
    s->o = *o;
    s->server = dup_or_null(o->client.server, &fail);
    s->testpeer = dup_or_null(o->testpeer, &fail);
    s->dir = dup_or_null(o->dir && o->dir[0] ? o->dir : ".", &fail);
    s->identity = dup_or_null(o->client.identity, &fail);
    s->src_addr = dup_or_null(o->client.src_addr, &fail);
    s->bind_device = dup_or_null(o->client.bind_device, &fail);
    s->default_port = dup_or_null(o->client.default_port, &fail);
    if (o->client.passphrase && o->client.passphrase_len) {
        s->passphrase = malloc(o->client.passphrase_len);
        if (s->passphrase)
            memcpy(s->passphrase, o->client.passphrase, o->client.passphrase_len);
        else
            fail = 1;
    }
    if (fail)
        return owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
    s->o.client.server = s->server;
    s->o.client.identity = s->identity;
    s->o.client.src_addr = s->src_addr;
    s->o.client.bind_device = s->bind_device;
    s->o.client.default_port = s->default_port;
    s->o.client.passphrase = s->passphrase;
    s->o.testpeer = s->testpeer;
    s->o.dir = s->dir;
    return OWP_OK;
}

/* The test peer's address: the testpeer operand when given, else the server. */
static void resolve_peer(owp_stream *s)
{
    const char *host = s->testpeer ? s->testpeer : s->server;
    owp_hostport hp;
    owp_err err;
    if (owp_hostport_parse(host, &hp, &err) != OWP_OK ||
        owp_hostport_resolve(&hp, "0", s->o.client.family, SOCK_DGRAM, 0, &s->peer, &s->peer_len,
                             &err) != OWP_OK) {
        memset(&s->peer, 0, sizeof s->peer);
        s->peer.ss_family = AF_INET;
        s->peer_len = sizeof(struct sockaddr_in);
        if (s->testpeer)
            owp_strm_log(s, LOG_WARNING, "test peer %s: %s", host, err.msg);
        return;
    }
    s->have_peer = s->testpeer != NULL;
}

owp_stream *owp_stream_start(const owp_stream_opts *o, owp_err *err)
{
    if (owp_stream_check_opts(o, err) != OWP_OK)
        return NULL;
    owp_stream *s = calloc(1, sizeof *s);
    if (!s) {
        owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->stop, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->retry, 0);
    if (copy_opts(s, o, err) != OWP_OK) {
        owp_stream_destroy(&s);
        return NULL;
    }
    s->sched_slot.type = OWP_SLOT_EXP;
    s->sched_slot.value = owp_num64_from_double(o->interval);
    s->nslots = owp_stream_pool_size(&s->o);
    s->slots = calloc(s->nslots, sizeof *s->slots);
    if (!s->slots) {
        owp_err_set(err, OWP_ERR_NOMEM, "stream: out of memory");
        owp_stream_destroy(&s);
        return NULL;
    }
    resolve_peer(s);
    s->first_start = owp_clock_now(NULL) + owp_num64_from_double(s->o.start_delay);
    s->next_start = s->first_start;
    int rc = pthread_create(&s->thread, NULL, stream_main, s);
    if (rc != 0) {
        errno = rc;
        owp_err_sys(err, "stream: pthread_create");
        owp_stream_destroy(&s);
        return NULL;
    }
    s->thread_started = 1;
    return s;
}

/* Raise flag and wake the stream's thread. */
static void wake(owp_stream *self, atomic_int *flag)
{
    pthread_mutex_lock(&self->mu);
    atomic_store(flag, 1);
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

void owp_stream_stop(owp_stream *self)
{
    if (self)
        wake(self, &self->stop);
}

void owp_stream_retry_now(owp_stream *self)
{
    if (self)
        wake(self, &self->retry);
}

void owp_stream_destroy(owp_stream **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_stream *s = *self_p;
    owp_stream_stop(s);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    for (unsigned i = 0; s->slots && i < s->nslots; i++) {
        owp_strm_session_clear(&s->slots[i].sess);
        owp_client_close(&s->slots[i].client);
    }
    free(s->slots);
    free(s->held);
    free_strings(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *self_p = NULL;
}

