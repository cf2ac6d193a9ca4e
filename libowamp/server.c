/*
 * server.c - one OWAMP-Control connection, server side (RFC 4656 section 3).
 * Wire facts: ../shared/spec/owamp-wire.md. Fetch-Session is served by
 * server_fetch.c, session files are placed by datadir.c.
 *
 * The connection is a small state machine run by one thread:
 *   handshake   greeting, Set-Up-Response, Server-Start
 *   idle        Request-Session / Start-Sessions / Fetch-Session
 *   testing     endpoints run in threads; we watch the control channel, our
 *               local sessions and the stop request until both Stop-Sessions
 *               have crossed, then go back to idle.
 * Anything else (type 5, unknown types, a command out of its state, a
 * malformed message) closes the connection after one log line naming the peer.
 */
#include "server_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <openssl/evp.h>

#include "bytes.h"
#include "channel.h"
#include "clock.h"
#include "crypto.h"
#include "datadir.h"
#include "hostport.h"
#include "owpfile.h"

#define DEFAULT_PBKDF2_COUNT 2048
#define POLL_SLICE_MS 100       /* how often waits look at the stop request and the threads */
#define STOP_GRACE_MS 1000      /* after a stop request, how long a next command may take */
/* Endpoint threads need a few kilobytes of stack. The default is RLIMIT_STACK
 * (8 MiB of address space per thread), which thousands of concurrent
 * sessions turn into tens of gigabytes of mappings. */
#define ENDPOINT_STACK_BYTES (256 * 1024)

/* One requested test session and, once started, its endpoint thread. */
struct session {
    conn *c;
    owp_request req;     /* as accepted: SID and our port filled in; owns its slots */
    int server_receives; /* 1: we receive and store; 0: we send */
    int policy_held;     /* the policy's session() allowed it: session_end() is owed */
    uint64_t policy_handle;
    owp_endpoint *ep;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_uint stop_next_seqno;
    atomic_int done;
    struct timespec done_at; /* CLOCK_MONOTONIC when the thread returned */
    owp_status status;
    owp_err err;
    owp_err write_err;
    owp_send_result sent;
    owp_recv_stats stats;
    /* receive sessions */
    FILE *fp;
    owp_file_writer *writer;
    char path[OWP_SERVER_PATH_MAX];
    char catalog[OWP_SERVER_PATH_MAX];
};

/* ------------------------------------------------------------------ helpers */

void owp_srv_log(const owp_server *s, int prio, const char *fmt, ...)
{
    if (!s->cfg.log)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_arg, prio, msg);
}

static double ts_seconds(const struct timespec *ts)
{
    return (double)ts->tv_sec + ts->tv_nsec / 1e9;
}

/* An IPv4-mapped IPv6 address as plain IPv4 (a dual-stack listener reports
 * IPv4 clients that way; test sockets for ipvn 4 need AF_INET). */
static void unmap_v4(struct sockaddr_storage *ss, socklen_t *len)
{
    if (ss->ss_family != AF_INET6)
        return;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return;
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    s4.sin_port = s6->sin6_port;
    memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
    memset(ss, 0, sizeof *ss);
    memcpy(ss, &s4, sizeof s4);
    *len = sizeof s4;
}

/* ------------------------------------------------------------------ server object */

void owp_server_config_default(owp_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->modes = OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    cfg->pbkdf2_count = DEFAULT_PBKDF2_COUNT;
    cfg->controltimeout = 1800;
    cfg->enddelay = 1.0;
}

/* owampd forks one process per connection from the process that made the
 * server. Loading OpenSSL's configuration and default provider here, once
 * (any fetch does both), lets every child inherit them instead of parsing
 * openssl.cnf again: about 0.6 ms of the ~3 ms of CPU a child costs. */
static void preload_crypto(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_free(mac);
}

owp_server *owp_server_new(const owp_server_config *cfg, owp_err *err)
{
    if (!cfg || !cfg->datadir || cfg->datadir[0] != '/') {
        owp_err_set(err, OWP_ERR_INVALID, "owp_server_new: datadir must be an absolute path");
        return NULL;
    }
    if (cfg->enddelay < 0 || cfg->enddelay != cfg->enddelay) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_server_new: invalid enddelay %g", cfg->enddelay);
        return NULL;
    }
    if (cfg->test_local && (cfg->test_local_len == 0 ||
                            cfg->test_local_len > sizeof(struct sockaddr_storage))) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_server_new: bad test_local address length");
        return NULL;
    }
    owp_server *s = calloc(1, sizeof *s);
    if (!s) {
        owp_err_set(err, OWP_ERR_NOMEM, "owp_server_new: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->datadir = strdup(cfg->datadir);
    if (!s->datadir) {
        free(s);
        owp_err_set(err, OWP_ERR_NOMEM, "owp_server_new: out of memory");
        return NULL;
    }
    /* Trailing slashes would double up in every path we build. */
    for (size_t n = strlen(s->datadir); n > 1 && s->datadir[n - 1] == '/'; n--)
        s->datadir[n - 1] = '\0';
    s->cfg.datadir = s->datadir;
    if (cfg->test_local) {
        memcpy(&s->test_local, cfg->test_local, cfg->test_local_len);
        s->cfg.test_local = (const struct sockaddr *)&s->test_local;
    }
    if (s->cfg.pbkdf2_count == 0)
        s->cfg.pbkdf2_count = DEFAULT_PBKDF2_COUNT;
    atomic_init(&s->stop_requested, 0);
    preload_crypto();
    return s;
}

void owp_server_destroy(owp_server **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->datadir);
    free(*self_p);
    *self_p = NULL;
}

void owp_server_stop(owp_server *self)
{
    if (self)
        atomic_store(&self->stop_requested, 1);
}

static int stop_requested(const conn *c)
{
    return atomic_load(&c->srv->stop_requested) != 0;
}

/* ------------------------------------------------------------------ control I/O */

/* Wait (in slices, so a stop request is seen) until the peer sends something.
 * timeout_ms <= 0: wait forever. */
static owp_status wait_message(conn *c, int timeout_ms, int stop_ends_wait, owp_err *err)
{
    double deadline = timeout_ms > 0 ? owp_clock_monotonic() + timeout_ms / 1000.0 : 0;
    for (;;) {
        /* On a stop request a command already on its way (typically the
         * Fetch-Session right after Stop-Sessions) still gets its answer. */
        if (stop_ends_wait && stop_requested(c)) {
            if (owp_chan_wait_readable(c->chan, STOP_GRACE_MS) != 0)
                return OWP_OK;
            return owp_err_set(err, OWP_ERR_INTERRUPTED, "%s: stop requested", c->peer_name);
        }
        int slice = POLL_SLICE_MS;
        if (timeout_ms > 0) {
            double left = deadline - owp_clock_monotonic();
            if (left <= 0)
                return owp_err_set(err, OWP_ERR_TIMEOUT,
                                   "%s: no control message within %d s", c->peer_name,
                                   timeout_ms / 1000);
            if (left * 1000 < slice)
                slice = (int)(left * 1000) + 1;
        }
        int r = owp_chan_wait_readable(c->chan, slice);
        if (r != 0) /* readable, closed, or an error the next read reports */
            return OWP_OK;
    }
}

static int control_timeout_ms(const conn *c)
{
    uint32_t t = c->srv->cfg.controltimeout;
    return t > 0 ? (int)(t > 2000000 ? 2000000000 : t * 1000) : 0;
}

/* The first block of the next command, or OWP_ERR_CLOSED when the client
 * closed the connection between messages. */
static owp_status next_command(conn *c, uint8_t blk[16], owp_err *err)
{
    owp_status st = wait_message(c, control_timeout_ms(c), 1, err);
    if (st != OWP_OK)
        return st;
    return owp_chan_recv(c->chan, blk, 16, err);
}

owp_status owp_srv_send_msg(conn *c, const uint8_t *buf, size_t len, owp_err *err)
{
    owp_status st = owp_chan_send(c->chan, buf, len, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    return st;
}

/* ------------------------------------------------------------------ handshake */

static const char *mode_name(uint32_t mode)
{
    switch (mode) {
    case OWP_MODE_OPEN: return "open";
    case OWP_MODE_AUTH: return "authenticated";
    case OWP_MODE_ENCRYPTED: return "encrypted";
    }
    return "unknown";
}

/* Check a Set-Up-Response for A/E: identity known, token decrypts to our challenge. */
static int authenticate(conn *c, const owp_greeting *g, const owp_setup_response *sr)
{
    const owp_server *s = c->srv;
    size_t passlen = 0;
    const uint8_t *pass = s->cfg.pfs ? owp_pfs_lookup(s->cfg.pfs, sr->keyid, &passlen) : NULL;
    if (!pass) {
        owp_srv_log(s, OWP_LOG_WARNING, "%s: unknown identity \"%s\" (%s mode): rejected",
                    c->peer_name, sr->keyid, mode_name(sr->mode));
        return 0;
    }
    uint8_t key[OWP_AES_KEY_LEN], challenge[16];
    owp_err e;
    if (owp_pbkdf2_key(pass, passlen, g->salt, g->count, key, &e) != OWP_OK ||
        owp_token_decrypt(key, sr->token, challenge, c->keys.aes_key, c->keys.hmac_key, &e) !=
            OWP_OK) {
        owp_srv_log(s, OWP_LOG_ERR, "%s: token of \"%s\": %s", c->peer_name, sr->keyid, e.msg);
        return 0;
    }
    /* Comparing in constant time keeps the challenge check from leaking. */
    uint8_t diff = 0;
    for (int i = 0; i < 16; i++)
        diff |= (uint8_t)(challenge[i] ^ g->challenge[i]);
    if (diff) {
        owp_srv_log(s, OWP_LOG_WARNING,
                    "%s: identity \"%s\": wrong pass-phrase (challenge mismatch)", c->peer_name,
                    sr->keyid);
        return 0;
    }
    return 1;
}

static owp_status send_server_start(conn *c, uint8_t accept, const uint8_t server_iv[16],
                                    const uint8_t client_iv[16], owp_err *err)
{
    owp_server_start ss;
    memset(&ss, 0, sizeof ss);
    ss.accept = accept;
    uint8_t buf[OWP_SERVER_START_LEN];
    if (accept != OWP_ACCEPT_OK) {
        /* Refusal: everything clear, Start-Time zero, then we close. */
        owp_wire_encode_server_start(&ss, buf);
        memset(buf + 32, 0, 16);
        return owp_chan_send_clear(c->chan, buf, sizeof buf, err);
    }
    memcpy(ss.server_iv, server_iv, 16);
    ss.start_time = c->srv->cfg.start_time;
    owp_wire_encode_server_start(&ss, buf);
    owp_status st = owp_chan_send_clear(c->chan, buf, 32, err);
    if (st != OWP_OK)
        return st;
    if (c->mode == OWP_MODE_OPEN)
        st = owp_chan_set_mode(c->chan, OWP_MODE_OPEN, NULL, NULL, NULL, NULL, err);
    else
        st = owp_chan_set_mode(c->chan, c->mode, c->keys.aes_key, c->keys.hmac_key, server_iv,
                               client_iv, err);
    if (st != OWP_OK)
        return st;
    /* Bytes 32-47 are the first block of our protected stream (A/E: the
     * first ciphertext block, covered by our first HMAC). */
    st = owp_chan_send(c->chan, buf + 32, 16, err);
    if (st == OWP_OK)
        st = owp_chan_flush(c->chan, err);
    return st;
}

static owp_status handshake(conn *c, owp_err *err)
{
    owp_server *s = c->srv;
    uint32_t modes = s->cfg.modes;
    if (s->cfg.policy.greeting_modes)
        modes = s->cfg.policy.greeting_modes(s->cfg.policy.arg, (struct sockaddr *)&c->peer,
                                             c->peer_len, modes);
    modes &= OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;

    owp_greeting g;
    memset(&g, 0, sizeof g);
    g.modes = modes;
    g.count = s->cfg.pbkdf2_count;
    owp_status st = owp_random_bytes(g.challenge, 16, err);
    if (st == OWP_OK)
        st = owp_random_bytes(g.salt, 16, err);
    if (st != OWP_OK)
        return st;
    uint8_t gbuf[OWP_GREETING_LEN];
    owp_wire_encode_greeting(&g, gbuf);
    st = owp_chan_send_clear(c->chan, gbuf, sizeof gbuf, err);
    if (st != OWP_OK)
        return st;
    if (modes == 0) {
        owp_srv_log(s, OWP_LOG_INFO, "%s: no mode offered: connection refused", c->peer_name);
        return owp_err_set(err, OWP_ERR_REFUSED, "%s: no mode offered", c->peer_name);
    }

    uint8_t rbuf[OWP_SETUP_RESPONSE_LEN];
    st = owp_chan_recv_clear(c->chan, rbuf, sizeof rbuf, err);
    if (st != OWP_OK)
        return st;
    owp_setup_response sr;
    st = owp_wire_decode_setup_response(rbuf, &sr, err);
    if (st != OWP_OK)
        return st; /* several or unknown Mode bits: close without Server-Start */

    uint8_t accept = OWP_ACCEPT_OK;
    if (!(sr.mode & modes)) {
        /* The reference accepts a mode it did not offer; we do not. */
        owp_srv_log(s, OWP_LOG_WARNING,
                    "%s: Set-Up-Response Mode %u (%s) was not offered (Modes %u)", c->peer_name,
                    sr.mode, mode_name(sr.mode), modes);
        accept = OWP_ACCEPT_FAILURE;
    }
    c->mode = (owp_mode)sr.mode;
    if (accept == OWP_ACCEPT_OK && c->mode != OWP_MODE_OPEN) {
        if (!authenticate(c, &g, &sr))
            accept = OWP_ACCEPT_FAILURE;
        else
            snprintf(c->identity, sizeof c->identity, "%s", sr.keyid);
    }
    c->keys.mode = c->mode;
    c->info.mode = c->mode;
    c->info.identity = c->identity;
    if (accept == OWP_ACCEPT_OK && s->cfg.policy.control) {
        char cls[OWP_SERVER_CLASS_MAX];
        snprintf(cls, sizeof cls, "%s", c->class_path);
        int a = s->cfg.policy.control(s->cfg.policy.arg, &c->info, cls);
        cls[sizeof cls - 1] = '\0';
        if (a != OWP_ACCEPT_OK) {
            owp_srv_log(s, OWP_LOG_WARNING, "%s: control connection denied by policy (Accept %d)",
                        c->peer_name, a);
            accept = (uint8_t)(a > 0 && a <= 5 ? a : OWP_ACCEPT_FAILURE);
        } else if (!owp_datadir_class_path_ok(cls)) {
            owp_srv_log(s, OWP_LOG_ERR, "%s: policy gave an unusable class path \"%s\"",
                        c->peer_name, cls);
            accept = OWP_ACCEPT_INTERNAL;
        } else {
            snprintf(c->class_path, sizeof c->class_path, "%s", cls);
        }
    }

    uint8_t server_iv[16] = {0};
    if (accept == OWP_ACCEPT_OK && c->mode != OWP_MODE_OPEN) {
        st = owp_random_bytes(server_iv, sizeof server_iv, err);
        if (st != OWP_OK)
            accept = OWP_ACCEPT_INTERNAL;
    }
    st = send_server_start(c, accept, server_iv, sr.client_iv, err);
    if (st != OWP_OK)
        return st;
    if (accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "%s: Server-Start Accept %u", c->peer_name,
                           accept);

    char local[128], remote[128];
    owp_sockaddr_format_addr((struct sockaddr *)&c->local, local, sizeof local);
    owp_sockaddr_format_addr((struct sockaddr *)&c->peer, remote, sizeof remote);
    /* The access log line (LOG_INFO, as the owampd manual promises). */
    owp_srv_log(s, OWP_LOG_INFO,
                "ControlSession([%s]:%u) accepted from userid(%s):([%s]:%u) mode %s class %s",
                local, owp_sockaddr_port((struct sockaddr *)&c->local),
                c->identity[0] ? c->identity : "nil", remote,
                owp_sockaddr_port((struct sockaddr *)&c->peer), mode_name(c->mode), c->class_path);
    return OWP_OK;
}

/* ------------------------------------------------------------------ sessions */

static session *find_session(const conn *c, const uint8_t sid[OWP_SID_LEN])
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

/* Stop and join the session's thread (if any). */
static void join_session(session *sess)
{
    if (!sess->thread_started)
        return;
    atomic_store(&sess->stop, 1);
    pthread_join(sess->thread, NULL);
    sess->thread_started = 0;
}

/* End a session for good: join, finish or delete its file, release policy
 * resources, free. keep_file 0 deletes the stored file. */
static void end_session(conn *c, session *sess, uint32_t finished, uint32_t next_seqno,
                        const owp_skip *skips, uint32_t nskips, int keep_file)
{
    owp_server *s = c->srv;
    join_session(sess);
    uint64_t size = 0;
    if (sess->writer) {
        owp_err e;
        if (owp_file_writer_finish(sess->writer, finished, next_seqno, skips, nskips, &e) !=
            OWP_OK)
            owp_srv_log(s, OWP_LOG_ERR, "%s: %s", sess->path, e.msg);
        owp_file_writer_destroy(&sess->writer);
    }
    if (sess->fp) {
        if (fflush(sess->fp) != 0)
            owp_srv_log(s, OWP_LOG_ERR, "%s: write: %s", sess->path, strerror(errno));
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

/* End every session of the connection (used when the connection ends
 * without the Stop-Sessions exchange). */
static void end_all_sessions(conn *c, uint32_t finished)
{
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        /* A session that never started holds no data worth keeping. */
        int keep = sess->thread_started;
        end_session(c, sess, finished, 0, NULL, 0, keep);
    }
    c->nsessions = 0;
}

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
    end_session(c, sess, OWP_FINISHED_ERROR, 0, NULL, 0, 0);
    return accept;
}

static owp_status handle_request(conn *c, const uint8_t first[16], owp_err *err)
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
            end_session(c, sess, OWP_FINISHED_ERROR, 0, NULL, 0, 0);
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
        session *sess = find_session(c, buf + len);
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
            join_session(c->sessions[i]);
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
        join_session(c->sessions[i]);
}

static void finish_sessions_after_stop(conn *c, const owp_stop_sessions *m)
{
    for (size_t i = 0; i < c->nsessions; i++) {
        session *sess = c->sessions[i];
        if (!sess->server_receives) {
            end_session(c, sess, OWP_FINISHED_NORMAL, 0, NULL, 0, 1);
            continue;
        }
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
        /* A failed test (non-zero Accept) leaves no data behind. */
        int keep = m->accept == OWP_ACCEPT_OK;
        end_session(c, sess, finished, ss ? ss->next_seqno : 0, ss ? ss->skips : NULL,
                    ss ? ss->nskips : 0, keep);
    }
    c->nsessions = 0;
}

/* ------------------------------------------------------------------ testing */

static owp_status start_sessions(conn *c, const uint8_t first[16], owp_err *err)
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
        end_all_sessions(c, OWP_FINISHED_ERROR);
        if (st == OWP_OK)
            return OWP_ERR_REFUSED; /* caller stays idle */
    }
    return st;
}

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

/* From Start-Ack to the end of the Stop-Sessions exchange. */
static owp_status run_tests(conn *c, owp_err *err)
{
    int our_stop_sent = 0, stopping = 0;
    double client_deadline = 0;
    int tmo_ms = control_timeout_ms(c);
    for (;;) {
        if (!stopping && stop_requested(c)) {
            stopping = 1;
            owp_srv_log(c->srv, OWP_LOG_INFO, "%s: stopping tests early", c->peer_name);
            for (size_t i = 0; i < c->nsessions; i++)
                if (!c->sessions[i]->server_receives)
                    atomic_store(&c->sessions[i]->stop, 1);
        }
        if (!our_stop_sent && local_sessions_done(c, stopping)) {
            for (size_t i = 0; i < c->nsessions; i++)
                if (!c->sessions[i]->server_receives)
                    join_session(c->sessions[i]);
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
        int r = owp_chan_wait_readable(c->chan, POLL_SLICE_MS);
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
        if (!our_stop_sent)
            st = send_stop_sessions(c, err);
        finish_sessions_after_stop(c, &m);
        owp_stop_sessions_clear(&m);
        return st;
    }
}

/* ------------------------------------------------------------------ the connection */

static owp_status command_loop(conn *c, owp_err *err)
{
    for (;;) {
        uint8_t blk[16];
        owp_status st = next_command(c, blk, err);
        if (st == OWP_ERR_CLOSED || st == OWP_ERR_INTERRUPTED)
            return OWP_OK; /* the client hung up, or we were asked to stop */
        if (st != OWP_OK)
            return st;
        switch (blk[0]) {
        case OWP_MSG_REQUEST_SESSION:
            st = handle_request(c, blk, err);
            break;
        case OWP_MSG_START_SESSIONS:
            st = start_sessions(c, blk, err);
            if (st == OWP_OK)
                st = run_tests(c, err);
            else if (st == OWP_ERR_REFUSED)
                st = OWP_OK;
            break;
        case OWP_MSG_FETCH_SESSION:
            st = owp_srv_fetch(c, blk, err);
            break;
        case OWP_MSG_STOP_SESSIONS:
            return owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions without running tests");
        case OWP_MSG_REQUEST_TW_SESSION:
            return owp_err_set(err, OWP_ERR_PROTO,
                               "Request-TW-Session (type 5, TWAMP) not supported");
        default:
            return owp_err_set(err, OWP_ERR_PROTO, "unknown message type %u", blk[0]);
        }
        if (st != OWP_OK)
            return st;
    }
}

owp_status owp_server_serve(owp_server *self, int fd, const struct sockaddr *peer,
                            socklen_t peer_len, owp_err *err)
{
    if (!self || fd < 0 || !peer || peer_len == 0 || peer_len > sizeof(struct sockaddr_storage)) {
        if (fd >= 0)
            close(fd);
        return owp_err_set(err, OWP_ERR_INVALID, "owp_server_serve: bad arguments");
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return owp_err_set(err, OWP_ERR_NOMEM, "owp_server_serve: out of memory");
    }
    c->srv = self;
    memcpy(&c->peer, peer, peer_len);
    c->peer_len = peer_len;
    unmap_v4(&c->peer, &c->peer_len);
    c->local_len = sizeof c->local;
    if (getsockname(fd, (struct sockaddr *)&c->local, &c->local_len) != 0)
        c->local_len = 0, c->local.ss_family = AF_UNSPEC;
    unmap_v4(&c->local, &c->local_len);
    owp_sockaddr_format((struct sockaddr *)&c->peer, c->peer_name, sizeof c->peer_name);
    snprintf(c->class_path, sizeof c->class_path, "default");
    c->info.peer = (struct sockaddr *)&c->peer;
    c->info.peer_len = c->peer_len;
    c->info.identity = c->identity;
    c->info.class_path = c->class_path;

    owp_err local_err;
    if (!err)
        err = &local_err;
    owp_err_clear(err);
    owp_status st;
    c->chan = owp_chan_new(fd, c->peer_name, control_timeout_ms(c), err);
    if (!c->chan) {
        st = err->code != OWP_OK ? err->code : OWP_ERR_SYS;
    } else {
        st = handshake(c, err);
        if (st == OWP_OK)
            st = command_loop(c, err);
        else if (st == OWP_ERR_CLOSED)
            st = OWP_OK; /* a port probe: greeting read, nothing sent */
    }
    if (st != OWP_OK && st != OWP_ERR_REFUSED) {
        if (!strstr(err->msg, c->peer_name))
            owp_err_prefix(err, "control connection from %s", c->peer_name);
        owp_srv_log(self, OWP_LOG_ERR, "%s", err->msg);
    }
    end_all_sessions(c, OWP_FINISHED_INCOMPLETE);
    free(c->sessions);
    owp_chan_destroy(&c->chan);
    free(c);
    return st;
}
