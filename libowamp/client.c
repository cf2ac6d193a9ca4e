/*
 * client.c - OWAMP-Control client engine (RFC 4656 section 3) and the local
 * ends of its test sessions. Protocol facts: ../shared/spec/owamp-wire.md.
 *
 * The control connection is driven by the caller's thread only; each local
 * test endpoint (sender or receiver) runs in its own thread and talks to the
 * control side through atomics (stop flags, done flags) and, after a join,
 * through its result fields.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "channel.h"
#include "clock.h"
#include "crypto.h"
#include "hostport.h"

/* How long past its computed end a test may run before the server counts as
 * stalled, and how long an early stop waits for the server's Stop-Sessions. */
#define CLIENT_END_GRACE_SEC 10.0
#define CLIENT_STOP_GRACE_SEC 3.0
#define CLIENT_POLL_MS 50
/* Beyond this many packets the end of a schedule is estimated from the mean
 * interval instead of walked packet by packet. */
#define CLIENT_EXACT_END_MAX 1000000u

typedef struct client_session {
    owp_direction dir;
    owp_request req;                 /* owns slots; SID and ports as accepted */
    owp_endpoint *ep;
    struct sockaddr_storage peer;    /* test peer, port = the server's test port */
    socklen_t peer_len;
    owp_session_keys keys;
    double enddelay;
    owp_num64 last_packet;           /* scheduled time of the last packet */

    /* receiver side ("from") */
    FILE *out;
    owp_file_writer *writer;
    atomic_uint stop_next_seqno;
    atomic_uint seen_next;           /* highest received seq + 1 (set by the receiver thread) */
    owp_status write_status;         /* first failure to store a record */
    owp_err write_err;
    owp_recv_stats rstats;

    /* sender side ("to") */
    owp_send_result sent;

    /* thread */
    pthread_t thread;
    int thread_started, thread_joined;
    atomic_int stop;
    atomic_int done;
    owp_status thread_status;
    owp_err thread_err;

    /* outcome */
    int got_server_stop;             /* the server's Stop-Sessions listed this session */
    uint32_t result_next_seqno;
    uint32_t result_nskips;
    int file_finished;
    int stopped_early;
} client_session;

struct owp_client {
    owp_chan *chan;
    char peer_name[300];
    struct sockaddr_storage local, peer;
    socklen_t local_len, peer_len;
    const char *bind_device;
    char bind_device_buf[64];
    struct sockaddr_storage src;     /* -S, resolved to the control family */
    socklen_t src_len;               /* 0: none */
    char src_host[256];
    int family_wanted;

    uint32_t server_modes;
    owp_mode mode;
    uint8_t aes_key[16], hmac_key[32];
    double rtt;
    owp_num64 server_start;
    int control_timeout_ms;

    client_session *sess;
    unsigned nsess, cap;
    int started;
    int finished;                    /* Stop-Sessions exchange completed (or abandoned) */
    int stopping;
    int sent_stop;
    int got_server_stop;
    uint8_t server_stop_accept;
    double stop_began;               /* monotonic seconds when stopping began */
    int wait_began;                  /* test_end computed */
    double test_end;                 /* monotonic bound on the whole test */
    owp_status finish_status;        /* outcome of the finished exchange */
};

/* ------------------------------------------------------------------ helpers */

/* Seconds from now until the absolute OWAMP time t (negative when past). */
static double seconds_until(owp_num64 t)
{
    owp_num64 now = owp_clock_now(NULL);
    if (t >= now)
        return owp_num64_to_double(t - now);
    return -owp_num64_to_double(now - t);
}

void owp_client_opts_default(owp_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->family = AF_UNSPEC;
    o->modes = OWP_MODE_OPEN;
    o->control_timeout_ms = OWP_CLIENT_DEFAULT_TIMEOUT_MS;
}

static const char *modes_text(uint32_t modes, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s", (modes & OWP_MODE_OPEN) ? "O" : "",
             (modes & OWP_MODE_AUTH) ? "A" : "", (modes & OWP_MODE_ENCRYPTED) ? "E" : "",
             (modes & 7) ? "" : "none");
    return buf;
}

/* Resolve the -S address for family (port 0). */
static owp_status resolve_src(const char *src, int family, struct sockaddr_storage *out,
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

static owp_status bind_device(int fd, const char *device, owp_err *err)
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
    if (bind_device(fd, device, err) != OWP_OK)
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

/* Connect to o->server, IPv6 first then IPv4 when no family is forced. */
static owp_status client_connect(owp_client *c, const owp_client_opts *o, owp_err *err)
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
            resolve_src(o->src_addr, ss.ss_family, &src, &src_len, &e) != OWP_OK) {
            first_err = e;
            have_first = 1;
            continue;
        }
        int fd = connect_bounded((struct sockaddr *)&ss, len, (struct sockaddr *)&src, src_len,
                                 o->bind_device, c->control_timeout_ms, name, &e);
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
    char a[8], b[8];
    if (c->server_modes == 0)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s refused the connection (greeting offers no mode)",
                           c->peer_name);
    uint32_t wanted = o->modes ? o->modes : OWP_MODE_OPEN;
    if (!o->passphrase || !o->identity || !o->identity[0])
        wanted &= OWP_MODE_OPEN;
    uint32_t common = c->server_modes & wanted;
    if (common & OWP_MODE_ENCRYPTED)
        c->mode = OWP_MODE_ENCRYPTED;
    else if (common & OWP_MODE_AUTH)
        c->mode = OWP_MODE_AUTH;
    else if (common & OWP_MODE_OPEN)
        c->mode = OWP_MODE_OPEN;
    else
        return owp_err_set(err, OWP_ERR_REFUSED,
                           "no common mode with server %s: it offers %s, client wants %s%s",
                           c->peer_name, modes_text(c->server_modes, a, sizeof a),
                           modes_text(o->modes ? o->modes : OWP_MODE_OPEN, b, sizeof b),
                           (o->modes & ~OWP_MODE_OPEN) && !(wanted & ~OWP_MODE_OPEN)
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

/* Greeting -> Set-Up-Response -> Server-Start (RFC 4656 3.1). */
static owp_status client_setup(owp_client *c, const owp_client_opts *o, owp_err *err)
{
    uint8_t buf[OWP_SETUP_RESPONSE_LEN];
    owp_greeting g;
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
    if ((st = owp_chan_send_clear(c->chan, buf, OWP_SETUP_RESPONSE_LEN, err)) != OWP_OK)
        return owp_err_prefix(err, "sending Set-Up-Response");

    uint8_t ss_buf[OWP_SERVER_START_LEN];
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
    if ((st = owp_chan_set_mode(c->chan, c->mode, c->aes_key, c->hmac_key, sr.client_iv,
                                ss_buf + 16, err)) != OWP_OK)
        return st;
    /* Bytes 32-47 are the first block of the server's protected stream. */
    if ((st = owp_chan_recv(c->chan, ss_buf + 32, 16, err)) != OWP_OK)
        return owp_err_prefix(err, "reading Server-Start");
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
    if (o->modes & ~(uint32_t)(OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)) {
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
    if (client_connect(c, o, err) != OWP_OK || client_setup(c, o, err) != OWP_OK) {
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

/* ------------------------------------------------------------ Request-Session */

/* The local address packets to peer leave from: -S if given, else what the
 * kernel routes to (a connected UDP socket sends nothing). */
static owp_status local_addr_toward(owp_client *c, const struct sockaddr *peer, socklen_t peer_len,
                                    struct sockaddr_storage *out, socklen_t *out_len, owp_err *err)
{
    if (c->src_host[0])
        return resolve_src(c->src_host, peer->sa_family, out, out_len, err);
    int fd = socket(peer->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return owp_err_sys(err, "socket (finding the local test address)");
    struct sockaddr_storage p;
    memcpy(&p, peer, peer_len);
    owp_sockaddr_set_port((struct sockaddr *)&p, 861); /* any non-zero port routes the same */
    owp_status st = bind_device(fd, c->bind_device, err);
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

static void session_free(client_session *s)
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
        session_free(s);
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

static void join_session(client_session *s)
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
        double d = seconds_until(r->start_time) +
                   r->npackets * owp_slots_mean_interval(r->slots, r->nslots) +
                   owp_num64_to_double(r->timeout) + self->rtt;
        if (d > best)
            best = d;
    }
    return best;
}

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
    join_session(s);
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
        double d = seconds_until(s->last_packet) + owp_num64_to_double(s->req.timeout) +
                   (with_enddelay ? s->enddelay : 0);
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
                join_session(&c->sess[i]);
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
            join_session(&c->sess[i]);
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
        join_session(&self->sess[i]);
        session_free(&self->sess[i]);
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

/* ------------------------------------------------------------ Fetch-Session */

static owp_status recv_fetch_request(owp_chan *chan, owp_request *req, owp_err *err)
{
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN] = { 0 };
    owp_status st = owp_chan_recv(chan, pre, 96, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_request_preamble(pre, req, err);
    if (st != OWP_OK)
        return st;
    if (req->nslots == 0 || req->nslots > OWP_MAX_SLOTS)
        return owp_err_set(err, OWP_ERR_PROTO, "fetched Request-Session: %u slots", req->nslots);
    req->slots = calloc(req->nslots, sizeof *req->slots);
    if (!req->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "fetched Request-Session: out of memory");
    for (uint32_t i = 0; st == OWP_OK && i < req->nslots; i++) {
        uint8_t slot[OWP_SLOT_LEN];
        st = owp_chan_recv(chan, slot, sizeof slot, err);
        if (st == OWP_OK)
            st = owp_wire_decode_slot(slot, &req->slots[i], err);
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    return st;
}

static owp_status recv_fetch_skips(owp_chan *chan, uint32_t nskips, owp_skip **skips, owp_err *err)
{
    *skips = NULL;
    size_t len = owp_wire_pad16((size_t)nskips * 8);
    uint8_t *buf = len ? malloc(len) : NULL;
    if (len && !buf)
        return owp_err_set(err, OWP_ERR_NOMEM, "fetched skip ranges: out of memory");
    owp_status st = len ? owp_chan_recv(chan, buf, len, err) : OWP_OK;
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK && nskips) {
        *skips = malloc(nskips * sizeof **skips);
        if (!*skips)
            st = owp_err_set(err, OWP_ERR_NOMEM, "fetched skip ranges: out of memory");
        for (uint32_t i = 0; st == OWP_OK && i < nskips; i++) {
            (*skips)[i].first = owp_get32(buf + 8 * i);
            (*skips)[i].last = owp_get32(buf + 8 * i + 4);
        }
    }
    free(buf);
    return st;
}

/* Records arrive back to back, padded to 16 at the end; 400 bytes hold 16. */
static owp_status recv_fetch_records(owp_chan *chan, uint32_t nrecords, FILE *out, owp_err *err)
{
    enum { CHUNK = 400 * 16 };
    uint8_t buf[CHUNK];
    uint64_t want = (uint64_t)nrecords * OWP_RECORD_LEN;
    uint64_t total = owp_wire_pad16(want);
    uint64_t got = 0;
    owp_status st = OWP_OK;
    while (st == OWP_OK && got < total) {
        size_t n = total - got > CHUNK ? CHUNK : (size_t)(total - got);
        st = owp_chan_recv(chan, buf, n, err);
        if (st != OWP_OK)
            break;
        size_t keep = got + n <= want ? n : (size_t)(want > got ? want - got : 0);
        for (size_t off = 0; off + OWP_RECORD_LEN <= keep; off += OWP_RECORD_LEN) {
            /* Chunks are multiples of 25 until the padded tail, so records never straddle. */
            uint16_t se = owp_get16(buf + off + 4), re = owp_get16(buf + off + 6);
            if (!owp_errest_valid(se) || !owp_errest_valid(re))
                st = owp_err_set(err, OWP_ERR_PROTO,
                                 "fetched record %llu: error estimate with multiplier 0",
                                 (unsigned long long)((got + off) / OWP_RECORD_LEN));
        }
        if (st == OWP_OK && keep && fwrite(buf, 1, keep, out) != keep)
            st = owp_err_sys(err, "writing fetched records");
        got += n;
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    return st;
}

/* The stored request, the skip ranges and the records after a Fetch-Ack
 * that accepted, written to out. */
static owp_status recv_fetch_data(owp_chan *chan, const owp_fetch_ack *ack,
                                  const uint8_t *sid, FILE *out, owp_err *err)
{
    owp_request req;
    memset(&req, 0, sizeof req);
    owp_skip *skips = NULL;
    owp_status st = recv_fetch_request(chan, &req, err);
    if (st == OWP_OK && sid && memcmp(req.sid, sid, OWP_SID_LEN) != 0)
        st = owp_err_set(err, OWP_ERR_PROTO, "fetched session has a different SID");
    if (st == OWP_OK)
        st = recv_fetch_skips(chan, ack->nskips, &skips, err);
    uint32_t finished =
        ack->finished <= OWP_FINISHED_INCOMPLETE ? ack->finished : OWP_FINISHED_ERROR;
    if (st == OWP_OK)
        st = owp_file_write_fetched_header(out, &req, finished, ack->next_seqno, skips,
                                           ack->nskips, ack->nrecords, err);
    if (st == OWP_OK)
        st = recv_fetch_records(chan, ack->nrecords, out, err);
    if (st == OWP_OK && fflush(out) != 0)
        st = owp_err_sys(err, "writing fetched data");
    free(skips);
    owp_request_clear(&req);
    return st;
}

owp_status owp_client_recv_fetch(owp_chan *chan, const char *peer, const uint8_t *sid, FILE *out,
                                 owp_fetch_result *result, owp_err *err)
{
    if (!out)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_recv_fetch: no output file");
    uint8_t ackbuf[OWP_FETCH_ACK_LEN] = { 0 };
    owp_fetch_ack ack;
    owp_status st = owp_chan_recv(chan, ackbuf, 16, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_fetch_ack(ackbuf, &ack, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "Fetch-Ack from %s", peer);
    if (ack.accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s denied the fetch (Accept %u: %s)",
                           peer, ack.accept, owp_accept_name(ack.accept));
    if (ack.nskips > OWP_STOP_MAX_SKIPS)
        return owp_err_set(err, OWP_ERR_PROTO, "Fetch-Ack from %s: %u skip ranges", peer,
                           ack.nskips);
    if (recv_fetch_data(chan, &ack, sid, out, err) != OWP_OK)
        return owp_err_prefix(err, "Fetch-Session from %s", peer);
    if (result) {
        result->finished = ack.finished;
        result->next_seqno = ack.next_seqno;
        result->nskips = ack.nskips;
        result->nrecords = ack.nrecords;
    }
    return OWP_OK;
}

owp_status owp_client_fetch(owp_client *self, const uint8_t sid[OWP_SID_LEN], uint32_t begin,
                            uint32_t end, FILE *out, owp_fetch_result *result, owp_err *err)
{
    if (!out)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_fetch: no output file");
    owp_fetch_session fs = { .begin_seq = begin, .end_seq = end };
    memcpy(fs.sid, sid, OWP_SID_LEN);
    uint8_t buf[OWP_FETCH_SESSION_LEN] = { 0 };
    owp_wire_encode_fetch_session(&fs, buf);
    owp_status st = owp_chan_send(self->chan, buf, 32, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(self->chan, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "sending Fetch-Session");
    return owp_client_recv_fetch(self->chan, self->peer_name, sid, out, result, err);
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
        join_session(s);
        session_free(s);
    }
    free(c->sess);
    owp_chan_destroy(&c->chan);
    memset(c->aes_key, 0, sizeof c->aes_key);
    memset(c->hmac_key, 0, sizeof c->hmac_key);
    free(c);
    *self_p = NULL;
}
