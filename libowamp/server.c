/*
 * server.c - one OWAMP-Control connection, server side (RFC 4656 section 3):
 * the server object, control I/O, the handshake and the command loop. Wire
 * facts: ../shared/spec/owamp-wire.md. Request-Session and Start-Sessions
 * are answered by server_session.c, the test phase and Stop-Sessions by
 * server_stop.c, Fetch-Session by server_fetch.c; session files are placed
 * by datadir.c.
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

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <openssl/evp.h>

#include "channel.h"
#include "clock.h"
#include "crypto.h"
#include "datadir.h"
#include "hostport.h"

#define DEFAULT_PBKDF2_COUNT 2048
#define DEFAULT_SETUPTIMEOUT 10 /* seconds; see owp_server_config.setuptimeout */
#define STOP_GRACE_MS 1000      /* after a stop request, how long a next command may take */

/* ------------------------------------------------------------------ helpers */


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
    cfg->setuptimeout = DEFAULT_SETUPTIMEOUT;
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
    if (cfg->pbkdf2_count > OWP_PBKDF2_COUNT_MAX) {
        /* Clients (ours) refuse such a greeting; no A/E client could connect. */
        owp_err_set(err, OWP_ERR_INVALID,
                    "pbkdf2_count %u: more than clients compute (at most %u; the reference "
                    "sends 2048)", cfg->pbkdf2_count, OWP_PBKDF2_COUNT_MAX);
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

int owp_srv_stop_requested(const conn *c)
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
        if (stop_ends_wait && owp_srv_stop_requested(c)) {
            if (owp_chan_wait_readable(c->chan, STOP_GRACE_MS) != 0)
                return OWP_OK;
            return owp_err_set(err, OWP_ERR_INTERRUPTED, "%s: stop requested", c->peer_name);
        }
        int slice = OWP_SRV_POLL_SLICE_MS;
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

static int seconds_to_ms(uint32_t t)
{
    return t > 0 ? (int)(t > 2000000 ? 2000000000 : t * 1000) : 0;
}

int owp_srv_control_timeout_ms(const conn *c)
{
    return seconds_to_ms(c->srv->cfg.controltimeout);
}

/* The bound on the whole set-up: setuptimeout, but never longer than the
 * control timeout (0 = none). */
static int setup_timeout_ms(const conn *c)
{
    int control = owp_srv_control_timeout_ms(c), setup = seconds_to_ms(c->srv->cfg.setuptimeout);
    if (setup == 0 || (control > 0 && control < setup))
        return control;
    return setup;
}

owp_status owp_srv_next_command(conn *c, uint8_t blk[16], owp_err *err)
{
    owp_status st = wait_message(c, owp_srv_control_timeout_ms(c), 1, err);
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
    case OWP_MODE_MIXED: return "mixed";
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
    else /* mixed mode protects TWAMP-Control as encrypted mode does (RFC 5618) */
        st = owp_chan_set_mode(c->chan, c->mode == OWP_MODE_MIXED ? OWP_MODE_ENCRYPTED : c->mode,
                               c->keys.aes_key, c->keys.hmac_key, server_iv, client_iv, err);
    if (st != OWP_OK)
        return st;
    /* Bytes 32-47 are the first block of our protected stream (A/E: the
     * first ciphertext block, covered by our first HMAC). */
    st = owp_chan_send(c->chan, buf + 32, 16, err);
    if (st == OWP_OK)
        st = owp_chan_flush(c->chan, err);
    return st;
}

static owp_status handshake_steps(conn *c, long long deadline_ms, owp_err *err);

/* The set-up, bounded as a whole (not per message) by setup_timeout_ms: a
 * client that dribbles its Set-Up-Response a byte at a time is cut off as
 * surely as a silent one. Afterwards every message gets the control timeout. */
static owp_status handshake(conn *c, owp_err *err)
{
    int limit = setup_timeout_ms(c);
    long long deadline = limit > 0 ? (long long)(owp_clock_monotonic() * 1000.0) + limit : -1;
    owp_status st = handshake_steps(c, deadline, err);
    owp_chan_set_timeout(c->chan, owp_srv_control_timeout_ms(c));
    if (st == OWP_ERR_TIMEOUT)
        owp_err_prefix(err, "set-up not complete within %d s (setuptimeout)", limit / 1000);
    return st;
}

/* What is left of the set-up's time (at least 1 ms, so the channel does not
 * read 0 as "no timeout"); -1: no bound. */
static int setup_left_ms(long long deadline_ms)
{
    if (deadline_ms < 0)
        return -1;
    long long left = deadline_ms - (long long)(owp_clock_monotonic() * 1000.0);
    return left > 1 ? (int)left : 1;
}

static owp_status handshake_steps(conn *c, long long deadline_ms, owp_err *err)
{
    owp_server *s = c->srv;
    uint32_t modes = s->cfg.modes;
    if (s->cfg.policy.greeting_modes)
        modes = s->cfg.policy.greeting_modes(s->cfg.policy.arg, (struct sockaddr *)&c->peer,
                                             c->peer_len, modes);
    uint32_t known = OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    if (s->cfg.twamp)
        known |= OWP_MODE_MIXED;
    modes &= known;

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
    owp_chan_set_timeout(c->chan, setup_left_ms(deadline_ms));
    st = owp_chan_send_clear(c->chan, gbuf, sizeof gbuf, err);
    if (st != OWP_OK)
        return st;
    if (modes == 0) {
        owp_srv_log(s, OWP_LOG_INFO, "%s: no mode offered: connection refused", c->peer_name);
        return owp_err_set(err, OWP_ERR_REFUSED, "%s: no mode offered", c->peer_name);
    }

    uint8_t rbuf[OWP_SETUP_RESPONSE_LEN];
    owp_chan_set_timeout(c->chan, setup_left_ms(deadline_ms));
    st = owp_chan_recv_clear(c->chan, rbuf, sizeof rbuf, err);
    if (st != OWP_OK)
        return st;
    owp_setup_response sr;
    st = owp_wire_decode_setup_response_modes(rbuf, known, &sr, err);
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
    owp_chan_set_timeout(c->chan, setup_left_ms(deadline_ms));
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

/* ------------------------------------------------------------------ the connection */

/* The one line that says why a connection ended other than cleanly, at the
 * level its cause deserves: a client that hangs up or goes quiet is routine
 * on a public server (info), a client that breaks the protocol is worth a
 * warning, and only our own failures (system calls, memory, files) are
 * errors. The reference logged every case as an error, twice. */
static void log_connection_end(const owp_server *s, owp_status st, const owp_err *err)
{
    switch (st) {
    case OWP_ERR_CLOSED:
    case OWP_ERR_TIMEOUT:
    case OWP_ERR_INTERRUPTED:
        owp_srv_log(s, OWP_LOG_INFO, "Control session ended early: %s", err->msg);
        return;
    case OWP_ERR_PROTO:
    case OWP_ERR_FORMAT:
        owp_srv_log(s, OWP_LOG_WARNING, "Control session terminated abnormally: %s", err->msg);
        return;
    default:
        owp_srv_log(s, OWP_LOG_ERR, "Control session terminated abnormally: %s", err->msg);
        return;
    }
}

static owp_status command_loop(conn *c, owp_err *err)
{
    if (c->srv->cfg.twamp)
        return owp_tw_command_loop(c, err);
    for (;;) {
        uint8_t blk[16];
        owp_status st = owp_srv_next_command(c, blk, err);
        if (st == OWP_ERR_CLOSED || st == OWP_ERR_INTERRUPTED)
            return OWP_OK; /* the client hung up, or we were asked to stop */
        if (st != OWP_OK)
            return st;
        switch (blk[0]) {
        case OWP_MSG_REQUEST_SESSION:
            st = owp_srv_request_session(c, blk, err);
            break;
        case OWP_MSG_START_SESSIONS:
            st = owp_srv_start_sessions(c, blk, err);
            if (st == OWP_OK)
                st = owp_srv_run_tests(c, err);
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
    c->chan = owp_chan_new(fd, c->peer_name, owp_srv_control_timeout_ms(c), err);
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
        log_connection_end(self, st, err);
    }
    owp_srv_end_all_sessions(c, OWP_FINISHED_INCOMPLETE);
    free(c->sessions);
    owp_chan_destroy(&c->chan);
    free(c);
    return st;
}
