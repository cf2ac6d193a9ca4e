/*
 * owampd_broker.c - owampd's resource broker: the master's half (the
 * ledger's bookkeeping for every child), the channel's message encoding,
 * and the child's half (owp_server's policy hooks, which ask the master).
 *
 * Both halves live in one file because they are two ends of one protocol:
 * the message layout below is written and checked here only. The master
 * never blocks on a child (replies are sent with MSG_DONTWAIT from the poll
 * loop in owampd.c), and a child that dies or sends a malformed message
 * loses every grant it held, so a crashed child cannot leak resources.
 */
#include "owampd_broker.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "daemon_log.h"
#include "error.h"
#include "hostport.h"
#include "wire.h"

/* Child -> master: one SOCK_SEQPACKET message each (integers big-endian):
 *   0 type  1 flag  2-3 text length  4-7 zero  8-15 a  16-23 b  24- text
 *   BROKER_OPEN            the connection's class: text = class path
 *   BROKER_REQUEST         a Request-Session: a = bandwidth bit/s, b = disk bytes
 *   BROKER_END             a session is over: a = grant id, b = file size,
 *                          flag = 1 when the received file stays
 *   BROKER_STORED_REMOVED  a stored file was deleted: text = its class path,
 *                          b = its size
 * Master -> child, one reply per message:
 *   0 status  1 accept  2-3 text length  4-7 zero  8-15 grant id  16- text
 * The text carries no NUL; every length is checked before use. */
#define BROKER_HDR 24
#define BROKER_TEXT_MAX (OWP_SERVER_CLASS_MAX - 1)
#define BROKER_REPLY_HDR 16
#define BROKER_REPLY_TEXT_MAX 511
#define BROKER_REPLY_TIMEOUT_MS 10000

enum { BROKER_OPEN = 1, BROKER_REQUEST, BROKER_END, BROKER_STORED_REMOVED };
enum { BROKER_GRANTED = 0, BROKER_REFUSED = 1, BROKER_FAILED = 2 };

typedef struct broker_msg {
    uint8_t type, flag;
    uint64_t a, b;
    char text[BROKER_TEXT_MAX + 1];
} broker_msg;

typedef struct broker_reply {
    uint8_t status, accept;
    uint64_t grant;
    char text[BROKER_REPLY_TEXT_MAX + 1];
} broker_reply;

/* ------------------------------------------------------------------ encoding */

/* Header + text into buf; returns the message length. */
static size_t broker_pack(uint8_t *buf, size_t hdr, uint8_t b0, uint8_t b1, uint64_t x,
                          uint64_t y, const char *text, size_t text_max)
{
    size_t n = strnlen(text, text_max);
    memset(buf, 0, hdr);
    buf[0] = b0;
    buf[1] = b1;
    owp_put16(buf + 2, (uint16_t)n);
    owp_put64(buf + 8, x);
    if (hdr >= 24)
        owp_put64(buf + 16, y);
    memcpy(buf + hdr, text, n);
    return hdr + n;
}

/* Check header and text of a received message; copies the text. -1: malformed. */
static int broker_unpack_text(const uint8_t *buf, size_t len, size_t hdr, char *text,
                              size_t text_max)
{
    if (len < hdr || buf[4] || buf[5] || buf[6] || buf[7])
        return -1;
    size_t n = owp_get16(buf + 2);
    if (n != len - hdr || n > text_max || memchr(buf + hdr, '\0', n))
        return -1;
    memcpy(text, buf + hdr, n);
    text[n] = '\0';
    return 0;
}

static int broker_decode_msg(const uint8_t *buf, size_t len, broker_msg *m)
{
    if (broker_unpack_text(buf, len, BROKER_HDR, m->text, BROKER_TEXT_MAX) != 0)
        return -1;
    m->type = buf[0];
    m->flag = buf[1];
    m->a = owp_get64(buf + 8);
    m->b = owp_get64(buf + 16);
    if (m->type < BROKER_OPEN || m->type > BROKER_STORED_REMOVED || m->flag > 1)
        return -1;
    return 0;
}

static int broker_decode_reply(const uint8_t *buf, size_t len, broker_reply *r)
{
    if (broker_unpack_text(buf, len, BROKER_REPLY_HDR, r->text, BROKER_REPLY_TEXT_MAX) != 0)
        return -1;
    r->status = buf[0];
    r->accept = buf[1];
    r->grant = owp_get64(buf + 8);
    return r->status > BROKER_FAILED || r->accept > 5 ? -1 : 0;
}

/* ------------------------------------------------------------------ master side */

int owampd_broker_charge_stored_file(void *ledger, const char *class_path, const char *path,
                              uint64_t size)
{
    owp_err err;
    if (owp_limits_ledger_add_stored(ledger, class_path, size, &err) != OWP_OK) {
        log_warn("verify_datadir: Ignoring \"%s\": No associated user class", path);
        return 1;
    }
    return 0;
}

/* Stored data above a (lowered) disk limit is kept; say what it means. */
void owampd_broker_warn_over_disk_limit(const owp_limits *limits, const owp_limits_ledger *ledger)
{
    for (size_t i = 0; i < owp_limits_class_count(limits); i++) {
        const owp_limits_class *cls = owp_limits_class_at(limits, i);
        uint64_t limit = owp_limits_class_values(cls)->disk, used = 0;
        owp_limits_ledger_usage(ledger, cls, NULL, &used);
        if (limit && used > limit)
            log_warn("class %s: %" PRIu64 " bytes stored by earlier runs exceed its disk limit "
                     "(%" PRIu64 "): its receive sessions are refused until data is fetched "
                     "(delete_on_fetch) or removed",
                     owp_limits_class_name(cls), used, limit);
    }
}

void owampd_broker_drop(owp_limits_ledger *ledger, child *ch)
{
    size_t n = owp_limits_ledger_conn_close(ledger, (uint64_t)ch->pid);
    if (n)
        log_debug("child %ld gone: %zu resource grant(s) released", (long)ch->pid, n);
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
}

/* What m asks of the ledger, for child ch (the connection id is its pid);
 * BROKER_REQUEST fills r's grant and accept. */
static owp_status broker_apply(const owp_limits *limits, owp_limits_ledger *ledger,
                               const child *ch, const broker_msg *m, broker_reply *r,
                               owp_err *err)
{
    uint64_t conn_id = (uint64_t)ch->pid, owner = 0;
    switch (m->type) {
    case BROKER_OPEN: {
        const owp_limits_class *cls = owp_limits_class_by_path(limits, m->text);
        return cls ? owp_limits_ledger_conn_open(ledger, conn_id, cls, err)
                   : owp_err_set(err, OWP_ERR_INVALID, "unknown class path \"%s\"", m->text);
    }
    case BROKER_REQUEST:
        return owp_limits_ledger_request(ledger, conn_id, m->a, m->b, &r->grant, &r->accept,
                                         err);
    case BROKER_END:
        if (owp_limits_ledger_grant_conn(ledger, m->a, &owner) != 0 || owner != conn_id)
            return owp_err_set(err, OWP_ERR_INVALID, "no resource grant %" PRIu64
                               " of child %ld", m->a, (long)ch->pid);
        return owp_limits_ledger_end(ledger, m->a, m->flag, m->b, err);
    case BROKER_STORED_REMOVED:
        return owp_limits_ledger_remove_stored(ledger, m->text, m->b, err);
    }
    return OWP_OK;
}

static void broker_answer(const owp_limits *limits, owp_limits_ledger *ledger, const child *ch,
                          const broker_msg *m, broker_reply *r)
{
    owp_err err;
    owp_err_clear(&err);
    owp_status st = broker_apply(limits, ledger, ch, m, r, &err);
    r->status = st == OWP_OK ? BROKER_GRANTED : st == OWP_ERR_REFUSED ? BROKER_REFUSED
                                                                       : BROKER_FAILED;
    if (st == OWP_ERR_REFUSED && r->accept == 0)
        r->accept = OWP_LIMITS_ACCEPT_DENIED;
    else if (r->status == BROKER_FAILED)
        r->accept = OWP_ACCEPT_INTERNAL;
    if (st != OWP_OK)
        snprintf(r->text, sizeof r->text, "%s", err.msg);
    if (r->status == BROKER_FAILED)
        log_debug("resource broker: child %ld: %s", (long)ch->pid, err.msg);
}

void owampd_broker_serve(const owp_limits *limits, owp_limits_ledger *ledger, child *ch)
{
    uint8_t buf[BROKER_HDR + BROKER_TEXT_MAX + 1]; /* one byte more shows an oversized message */
    ssize_t n = recv(ch->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        owampd_broker_drop(ledger, ch);
        return;
    }
    broker_msg m;
    if (broker_decode_msg(buf, (size_t)n, &m) != 0) {
        log_err("resource broker: malformed message (%zd bytes) from child %ld: cut off", n,
                (long)ch->pid);
        owampd_broker_drop(ledger, ch);
        return;
    }
    if (m.type == BROKER_OPEN)
        ch->in_setup = 0; /* its client got through the set-up */
    broker_reply r;
    memset(&r, 0, sizeof r);
    broker_answer(limits, ledger, ch, &m, &r);
    uint8_t out[BROKER_REPLY_HDR + BROKER_REPLY_TEXT_MAX];
    size_t len = broker_pack(out, BROKER_REPLY_HDR, r.status, r.accept, r.grant, 0, r.text,
                             BROKER_REPLY_TEXT_MAX);
    if (send(ch->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len) {
        log_err("resource broker: reply to child %ld: %s: cut off", (long)ch->pid,
                strerror(errno));
        owampd_broker_drop(ledger, ch);
    }
}

/* ------------------------------------------------------------------ child side */

/* One blocking question at a time. The hooks that ask run only on the
 * connection's control thread, so no two calls overlap. */

static void broker_fail(broker_reply *r, const char *why)
{
    r->status = BROKER_FAILED;
    r->accept = OWP_ACCEPT_INTERNAL;
    r->grant = 0;
    snprintf(r->text, sizeof r->text, "resource broker: %s", why);
}

/* 0 when m went out whole; otherwise r says why not. */
static int broker_send(int fd, const broker_msg *m, broker_reply *r)
{
    uint8_t buf[BROKER_HDR + BROKER_TEXT_MAX];
    size_t n = broker_pack(buf, BROKER_HDR, m->type, m->flag, m->a, m->b, m->text,
                           BROKER_TEXT_MAX);
    ssize_t w;
    do
        w = send(fd, buf, n, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)n) {
        broker_fail(r, w < 0 ? strerror(errno) : "short send");
        return -1;
    }
    return 0;
}

/* The master's reply into r, or r says why there is none. */
static void broker_receive(int fd, broker_reply *r)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int pr;
    do
        pr = poll(&pfd, 1, BROKER_REPLY_TIMEOUT_MS);
    while (pr < 0 && errno == EINTR);
    if (pr <= 0) {
        broker_fail(r, pr == 0 ? "no reply from the master" : strerror(errno));
        return;
    }
    uint8_t rbuf[BROKER_REPLY_HDR + BROKER_REPLY_TEXT_MAX + 1];
    ssize_t got;
    do
        got = recv(fd, rbuf, sizeof rbuf, 0);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        broker_fail(r, got == 0 ? "the master closed the channel" : strerror(errno));
    else if (broker_decode_reply(rbuf, (size_t)got, r) != 0)
        broker_fail(r, "malformed reply");
}

static void broker_ask(int fd, uint8_t type, uint8_t flag, uint64_t a, uint64_t b,
                       const char *text, broker_reply *r)
{
    broker_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.flag = flag;
    m.a = a;
    m.b = b;
    snprintf(m.text, sizeof m.text, "%s", text ? text : "");
    if (broker_send(fd, &m, r) == 0)
        broker_receive(fd, r);
}

/* ---- the policy hooks of owp_server */

static const char *peer_text(const struct sockaddr *sa, char *buf, size_t len)
{
    if (sa)
        owp_sockaddr_format_addr(sa, buf, (unsigned)len);
    else
        snprintf(buf, len, "?");
    return buf;
}

static uint32_t policy_greeting_modes(void *arg, const struct sockaddr *peer,
                                      socklen_t peer_len, uint32_t configured)
{
    daemon_state *d = arg;
    if ((configured & OWP_MODE_OPEN) && !owp_limits_allow_open_mode(d->limits, peer, peer_len)) {
        char a[128];
        const owp_limits_class *cls = owp_limits_class_for_addr(d->limits, peer, peer_len);
        log_debug("Open mode not offered to %s: class %s has allow_open_mode off",
                  peer_text(peer, a, sizeof a), owp_limits_class_name(cls));
        configured &= ~(uint32_t)OWP_MODE_OPEN;
    }
    return configured;
}

static int policy_control(void *arg, const owp_server_conn_info *conn, char *class_path)
{
    daemon_state *d = arg;
    char a[128], path[OWP_SERVER_CLASS_MAX];
    const owp_limits_class *cls = owp_limits_class_for_conn(
        d->limits, conn->peer, conn->peer_len, conn->mode, conn->identity);
    if (owp_limits_class_path(cls, path, sizeof path) != 0) {
        log_err("class %s: class path too long", owp_limits_class_name(cls));
        return OWP_ACCEPT_INTERNAL;
    }
    broker_reply r;
    broker_ask(d->owampd_broker_fd, BROKER_OPEN, 0, 0, 0, path, &r);
    if (r.status != BROKER_GRANTED) {
        log_err("%s", r.text);
        return OWP_ACCEPT_INTERNAL;
    }
    log_debug("%s: userid(%s) is in class %s", peer_text(conn->peer, a, sizeof a),
              conn->identity && conn->identity[0] ? conn->identity : "nil", path);
    snprintf(class_path, OWP_SERVER_CLASS_MAX, "%s", path);
    return OWP_ACCEPT_OK;
}

static int policy_session(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                          uint64_t *handle)
{
    daemon_state *d = arg;
    int ipv6 = conn->peer && conn->peer->sa_family == AF_INET6;
    uint64_t bandwidth = owp_limits_session_bandwidth(req->slots, req->nslots, req->padding,
                                                      conn->mode, ipv6);
    uint64_t disk =
        req->conf_receiver ? owp_limits_session_disk(req->nslots, req->npackets) : 0;
    broker_reply r;
    broker_ask(d->owampd_broker_fd, BROKER_REQUEST, 0, bandwidth, disk, NULL, &r);
    if (r.status == BROKER_GRANTED) {
        *handle = r.grant;
        log_debug("ResReq ALLOWED: %s:request:bandwidth = %" PRIu64 ", disk = %" PRIu64,
                  conn->class_path, bandwidth, disk);
        return OWP_ACCEPT_OK;
    }
    log_err("%s", r.text); /* "ResReq DENIED: CLASS:request:LIMIT = ..." */
    return r.accept ? r.accept : OWP_LIMITS_ACCEPT_DENIED;
}

static int policy_session_end(void *arg, const owp_server_conn_info *conn,
                              const owp_request *req, uint64_t handle, int keep_file,
                              const char *path, uint64_t file_size)
{
    (void)conn;
    (void)req;
    daemon_state *d = arg;
    broker_reply r;
    broker_ask(d->owampd_broker_fd, BROKER_END, keep_file ? 1 : 0, handle, file_size, NULL, &r);
    if (r.status == BROKER_GRANTED)
        return 0;
    log_err("%s", r.text);
    if (r.status == BROKER_REFUSED && keep_file) {
        log_warn("%s Too large! Deleting... (See diskfudge)", path);
        return 1;
    }
    return 0;
}

/* delete_on_fetch comes from the class whose directory holds the file. The
 * file is removed here so that two clients fetching it at once release its
 * bytes only once. */
static int policy_fetched(void *arg, const owp_server_conn_info *conn, const char *file_class,
                          const char *path, uint64_t file_size)
{
    (void)conn;
    daemon_state *d = arg;
    const owp_limits_class *cls = owp_limits_class_by_path(d->limits, file_class);
    if (!cls || !owp_limits_class_values(cls)->delete_on_fetch || !path[0])
        return 0;
    if (unlink(path) != 0) {
        if (errno != ENOENT)
            log_warn("unlink %s: %s", path, strerror(errno));
        return errno == ENOENT;
    }
    log_debug("%s: deleted after a full fetch (class %s: delete_on_fetch on)", path, file_class);
    broker_reply r;
    broker_ask(d->owampd_broker_fd, BROKER_STORED_REMOVED, 0, 0, file_size, file_class, &r);
    if (r.status != BROKER_GRANTED)
        log_err("%s", r.text);
    return 1;
}

void owampd_broker_policy_hooks(owp_server_policy *policy, daemon_state *d)
{
    policy->arg = d;
    policy->greeting_modes = policy_greeting_modes;
    policy->control = policy_control;
    policy->session = policy_session;
    policy->session_end = policy_session_end;
    policy->fetched = policy_fetched;
}
