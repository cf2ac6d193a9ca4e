/*
 * client.c - OWAMP-Control client engine (RFC 4656 section 3), the control
 * connection: connect (bounded, IPv6 first, -S and -B), the connection
 * set-up (Server-Greeting, mode choice, Set-Up-Response, Server-Start), the
 * connection's accessors and close. Protocol facts:
 * ../shared/spec/owamp-wire.md. The rest of the engine is listed in
 * client_internal.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "crypto.h"
#include "hostport.h"
#include "wire.h"

void owp_client_opts_default(owp_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->family = AF_UNSPEC;
    o->modes = OWP_MODE_OPEN;
    o->control_timeout_ms = OWP_CLIENT_DEFAULT_TIMEOUT_MS;
}

static const char *modes_text(uint32_t modes, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", (modes & OWP_MODE_OPEN) ? "O" : "",
             (modes & OWP_MODE_AUTH) ? "A" : "", (modes & OWP_MODE_ENCRYPTED) ? "E" : "",
             (modes & OWP_MODE_MIXED) ? "M" : "", (modes & 15) ? "" : "none");
    return buf;
}

/* Resolve the -S address for family (port 0). */
owp_status owp_cli_resolve_src(const char *src, int family, struct sockaddr_storage *out,
                               socklen_t *outlen, owp_err *err)
{
    owp_hostport hp;
    if (owp_hostport_parse(src, &hp, err) != OWP_OK)
        return owp_err_prefix(err, "source address (-S) \"%s\"", src);
    hp.port[0] = '\0';
    if (owp_hostport_resolve(&hp, "0", family, SOCK_STREAM, 1, out, outlen, err) != OWP_OK)
        return owp_err_prefix(err, "source address (-S) \"%s\"", src);
    return OWP_OK;
}

owp_status owp_cli_bind_device(int fd, const char *device, owp_err *err)
{
    if (!device)
        return OWP_OK;
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device)) != 0)
        return owp_err_sys(err, "SO_BINDTODEVICE %s", device);
    return OWP_OK;
}

/* Non-blocking connect bounded by timeout_ms. Returns the connected fd or -1. */
static int connect_bounded(const struct sockaddr *sa, socklen_t len, const struct sockaddr *src,
                           socklen_t src_len, const char *device, int timeout_ms,
                           const char *name, owp_err *err)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        owp_err_sys(err, "socket for %s", name);
        return -1;
    }
    if (owp_cli_bind_device(fd, device, err) != OWP_OK)
        goto fail;
    if (src_len && bind(fd, src, src_len) != 0) {
        owp_err_sys(err, "bind to source address for %s", name);
        goto fail;
    }
    if (connect(fd, sa, len) != 0) {
        if (errno != EINPROGRESS) {
            owp_err_sys(err, "connect to %s", name);
            goto fail;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int r;
        do
            r = poll(&pfd, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            owp_err_set(err, OWP_ERR_TIMEOUT, "connect to %s: no answer within %d ms", name,
                        timeout_ms);
            goto fail;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
            owp_err_sys(err, "connect to %s", name);
            goto fail;
        }
        if (soerr != 0) {
            errno = soerr;
            owp_err_sys(err, "connect to %s", name);
            goto fail;
        }
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        owp_err_sys(err, "fcntl on the connection to %s", name);
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

static int setup_left_ms(double deadline);

/* Connect to o->server, IPv6 first then IPv4 when no family is forced, by
 * the set-up deadline. */
static owp_status client_connect(owp_client *c, const owp_client_opts *o, double deadline,
                                 owp_err *err)
{
    owp_hostport hp;
    if (owp_hostport_parse(o->server, &hp, err) != OWP_OK)
        return owp_err_prefix(err, "server \"%s\"", o->server);
    const char *dport = o->default_port ? o->default_port : OWP_CONTROL_PORT;
    int families[2] = { AF_INET6, AF_INET };
    int nfam = 2;
    if (o->family == AF_INET || o->family == AF_INET6) {
        families[0] = o->family;
        nfam = 1;
    }
    owp_status st = OWP_ERR_INVALID;
    owp_err_set(err, OWP_ERR_INVALID, "server \"%s\": no address", o->server);
    owp_err first_err;
    int have_first = 0;
    for (int i = 0; i < nfam; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        owp_err e;
        if (owp_hostport_resolve(&hp, dport, families[i], SOCK_STREAM, 0, &ss, &len, &e) != OWP_OK) {
            if (!have_first) {
                first_err = e;
                have_first = 1;
            }
            continue;
        }
        char name[300];
        owp_sockaddr_format((struct sockaddr *)&ss, name, sizeof name);
        struct sockaddr_storage src;
        socklen_t src_len = 0;
        if (o->src_addr && o->src_addr[0] &&
            owp_cli_resolve_src(o->src_addr, ss.ss_family, &src, &src_len, &e) != OWP_OK) {
            first_err = e;
            have_first = 1;
            continue;
        }
        int fd = connect_bounded((struct sockaddr *)&ss, len, (struct sockaddr *)&src, src_len,
                                 o->bind_device, setup_left_ms(deadline), name, &e);
        if (fd < 0) {
            /* Keep the most telling error: a failed connect beats "no IPv6 address". */
            first_err = e;
            have_first = 1;
            continue;
        }
        c->peer = ss;
        c->peer_len = len;
        c->local_len = sizeof c->local;
        if (getsockname(fd, (struct sockaddr *)&c->local, &c->local_len) != 0) {
            owp_err_sys(err, "getsockname on the connection to %s", name);
            close(fd);
            return OWP_ERR_SYS;
        }
        snprintf(c->peer_name, sizeof c->peer_name, "%s", name);
        c->chan = owp_chan_new(fd, c->peer_name, c->control_timeout_ms, err);
        if (!c->chan)
            return err ? err->code : OWP_ERR_NOMEM;
        return OWP_OK;
    }
    if (have_first && err)
        *err = first_err;
    st = have_first ? first_err.code : OWP_ERR_INVALID;
    return st;
}

/* Pick E, else A, else O among offered ∩ wanted; A/E need a pass-phrase. */
static owp_status choose_mode(owp_client *c, const owp_client_opts *o, owp_err *err)
{
    char a[16], b[16];
    if (c->server_modes == 0)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s refused the connection (greeting offers no mode)",
                           c->peer_name);
    uint32_t wanted = o->modes ? o->modes : OWP_MODE_OPEN;
    if (!o->passphrase || !o->identity || !o->identity[0])
        wanted &= OWP_MODE_OPEN;
    if (!o->twamp)
        wanted &= ~(uint32_t)OWP_MODE_MIXED;
    uint32_t common = c->server_modes & wanted;
    if (common & OWP_MODE_ENCRYPTED)
        c->mode = OWP_MODE_ENCRYPTED;
    else if (common & OWP_MODE_AUTH)
        c->mode = OWP_MODE_AUTH;
    else if (common & OWP_MODE_MIXED)
        c->mode = OWP_MODE_MIXED;
    else if (common & OWP_MODE_OPEN)
        c->mode = OWP_MODE_OPEN;
    else
        return owp_err_set(err, OWP_ERR_REFUSED,
                           "no common mode with server %s: it offers %s, client wants %s%s",
                           c->peer_name, modes_text(c->server_modes, a, sizeof a),
                           modes_text(o->modes ? o->modes : OWP_MODE_OPEN, b, sizeof b),
                           (o->modes & ~(uint32_t)OWP_MODE_OPEN) && !(wanted & ~(uint32_t)OWP_MODE_OPEN)
                               ? " (A and E need an identity and pass-phrase)"
                               : "");
    return OWP_OK;
}

static owp_status build_setup_response(owp_client *c, const owp_client_opts *o,
                                       const owp_greeting *g, owp_setup_response *sr,
                                       owp_err *err)
{
    memset(sr, 0, sizeof *sr);
    sr->mode = c->mode;
    if (c->mode == OWP_MODE_OPEN)
        return OWP_OK;
    /* The count is the server's to choose, but not without bound: each
     * iteration is our CPU (see OWP_PBKDF2_COUNT_MAX). */
    if (g->count == 0 || g->count > OWP_PBKDF2_COUNT_MAX)
        return owp_err_set(err, OWP_ERR_PROTO,
                           "server %s: Server-Greeting asks for %u PBKDF2 iterations; refused "
                           "(we compute 1 to %u; the reference sends 2048)",
                           c->peer_name, g->count, OWP_PBKDF2_COUNT_MAX);
    snprintf(sr->keyid, sizeof sr->keyid, "%.80s", o->identity);
    uint8_t key[16];
    owp_status st = owp_pbkdf2_key(o->passphrase, o->passphrase_len, g->salt, g->count, key, err);
    if (st == OWP_OK)
        st = owp_random_bytes(c->aes_key, sizeof c->aes_key, err);
    if (st == OWP_OK)
        st = owp_random_bytes(c->hmac_key, sizeof c->hmac_key, err);
    if (st == OWP_OK)
        st = owp_token_encrypt(key, g->challenge, c->aes_key, c->hmac_key, sr->token, err);
    if (st == OWP_OK)
        st = owp_random_bytes(sr->client_iv, sizeof sr->client_iv, err);
    memset(key, 0, sizeof key);
    return st;
}

/* Milliseconds left until the set-up deadline (monotonic seconds), at
 * least 1 so that the channel does not take 0 for "no timeout". */
static int setup_left_ms(double deadline)
{
    double left = (deadline - owp_clock_monotonic()) * 1000.0;
    return left > 1.0 ? (int)left : 1;
}

/* Greeting -> Set-Up-Response -> Server-Start (RFC 4656 3.1), bounded as a
 * whole by the deadline: a server that dribbles its messages cannot stretch
 * the set-up to one control timeout per message. */
static owp_status client_setup(owp_client *c, const owp_client_opts *o, double deadline,
                               owp_err *err)
{
    uint8_t buf[OWP_SETUP_RESPONSE_LEN];
    owp_greeting g;
    owp_chan_set_timeout(c->chan, setup_left_ms(deadline));
    owp_status st = owp_chan_recv_clear(c->chan, buf, OWP_GREETING_LEN, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "reading Server-Greeting");
    if ((st = owp_wire_decode_greeting(buf, &g, err)) != OWP_OK)
        return owp_err_prefix(err, "server %s", c->peer_name);
    c->server_modes = g.modes;
    if ((st = choose_mode(c, o, err)) != OWP_OK)
        return st;

    owp_setup_response sr;
    if ((st = build_setup_response(c, o, &g, &sr, err)) != OWP_OK)
        return st;
    owp_wire_encode_setup_response(&sr, buf);
    double t0 = owp_clock_monotonic();
    owp_chan_set_timeout(c->chan, setup_left_ms(deadline));
    if ((st = owp_chan_send_clear(c->chan, buf, OWP_SETUP_RESPONSE_LEN, err)) != OWP_OK)
        return owp_err_prefix(err, "sending Set-Up-Response");

    uint8_t ss_buf[OWP_SERVER_START_LEN];
    owp_chan_set_timeout(c->chan, setup_left_ms(deadline));
    if ((st = owp_chan_recv_clear(c->chan, ss_buf, 32, err)) != OWP_OK) {
        if (st == OWP_ERR_CLOSED && c->mode != OWP_MODE_OPEN)
            return owp_err_set(err, OWP_ERR_REFUSED,
                               "server %s closed the connection after Set-Up-Response "
                               "(identity \"%s\" or pass-phrase rejected?)",
                               c->peer_name, sr.keyid);
        return owp_err_prefix(err, "reading Server-Start");
    }
    uint8_t accept = ss_buf[15];
    if (accept > OWP_ACCEPT_TEMPORARY)
        return owp_err_set(err, OWP_ERR_PROTO, "server %s: Server-Start Accept %u is not a known value",
                           c->peer_name, accept);
    if (accept != OWP_ACCEPT_OK) {
        if (c->mode != OWP_MODE_OPEN)
            return owp_err_set(err, OWP_ERR_REFUSED,
                               "server %s rejected the connection (Server-Start Accept %u: %s): "
                               "wrong pass-phrase or unknown identity \"%s\"?",
                               c->peer_name, accept, owp_accept_name(accept), sr.keyid);
        return owp_err_set(err, OWP_ERR_REFUSED,
                           "server %s rejected the connection (Server-Start Accept %u: %s)",
                           c->peer_name, accept, owp_accept_name(accept));
    }
    /* Mixed mode protects TWAMP-Control as encrypted mode does (RFC 5618). */
    owp_mode chan_mode = c->mode == OWP_MODE_MIXED ? OWP_MODE_ENCRYPTED : c->mode;
    if ((st = owp_chan_set_mode(c->chan, chan_mode, c->aes_key, c->hmac_key, sr.client_iv,
                                ss_buf + 16, err)) != OWP_OK)
        return st;
    /* Bytes 32-47 are the first block of the server's protected stream. */
    owp_chan_set_timeout(c->chan, setup_left_ms(deadline));
    if ((st = owp_chan_recv(c->chan, ss_buf + 32, 16, err)) != OWP_OK)
        return owp_err_prefix(err, "reading Server-Start");
    owp_chan_set_timeout(c->chan, c->control_timeout_ms);
    c->rtt = owp_clock_monotonic() - t0;
    owp_server_start start;
    if ((st = owp_wire_decode_server_start(ss_buf, &start, err)) != OWP_OK)
        return owp_err_prefix(err, "server %s", c->peer_name);
    c->server_start = start.start_time;
    return OWP_OK;
}

owp_client *owp_client_open(const owp_client_opts *o, owp_err *err)
{
    if (!o || !o->server) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_client_open: no server given");
        return NULL;
    }
    uint32_t known = OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    if (o->twamp)
        known |= OWP_MODE_MIXED;
    if (o->modes & ~known) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_client_open: unknown mode bits 0x%x", o->modes);
        return NULL;
    }
    owp_client *c = calloc(1, sizeof *c);
    if (!c) {
        owp_err_set(err, OWP_ERR_NOMEM, "owp_client_open: out of memory");
        return NULL;
    }
    c->control_timeout_ms = o->control_timeout_ms > 0 ? o->control_timeout_ms
                                                      : OWP_CLIENT_DEFAULT_TIMEOUT_MS;
    c->family_wanted = o->family;
    if (o->bind_device) {
        snprintf(c->bind_device_buf, sizeof c->bind_device_buf, "%s", o->bind_device);
        c->bind_device = c->bind_device_buf;
    }
    if (o->src_addr)
        snprintf(c->src_host, sizeof c->src_host, "%s", o->src_addr);
    /* The whole set-up - connect, greeting, Set-Up-Response, Server-Start -
     * within one control timeout, however the server paces it. */
    double deadline = owp_clock_monotonic() + c->control_timeout_ms / 1000.0;
    if (client_connect(c, o, deadline, err) != OWP_OK || client_setup(c, o, deadline, err) != OWP_OK) {
        owp_client_close(&c);
        return NULL;
    }
    return c;
}

double owp_client_rtt(const owp_client *self) { return self->rtt; }
owp_num64 owp_client_server_start(const owp_client *self) { return self->server_start; }
owp_mode owp_client_mode(const owp_client *self) { return self->mode; }
uint32_t owp_client_server_modes(const owp_client *self) { return self->server_modes; }

const struct sockaddr *owp_client_local_addr(const owp_client *self, socklen_t *len)
{
    if (len)
        *len = self->local_len;
    return (const struct sockaddr *)&self->local;
}

const struct sockaddr *owp_client_peer_addr(const owp_client *self, socklen_t *len)
{
    if (len)
        *len = self->peer_len;
    return (const struct sockaddr *)&self->peer;
}

owp_num64 owp_client_start_time(const owp_client *self, uint32_t nsessions, double delay_start)
{
    double lead = 1.0 + self->rtt * (1.0 + nsessions);
    if (delay_start > lead)
        lead = delay_start;
    return owp_clock_now(NULL) + owp_num64_from_double(lead);
}

/* ------------------------------------------------------------ close */

void owp_client_close(owp_client **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_client *c = *self_p;
    for (unsigned i = 0; i < c->nsess; i++) {
        client_session *s = &c->sess[i];
        atomic_store(&s->stop, 1);
        if (s->dir == OWP_DIR_FROM && !s->thread_joined)
            atomic_store(&s->stop_next_seqno, atomic_load(&s->seen_next));
        owp_cli_join_session(s);
        owp_cli_session_free(s);
    }
    free(c->sess);
    owp_chan_destroy(&c->chan);
    memset(c->aes_key, 0, sizeof c->aes_key);
    memset(c->hmac_key, 0, sizeof c->hmac_key);
    free(c);
    *self_p = NULL;
}
