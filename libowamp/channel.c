/*
 * channel.c - one OWAMP-Control connection: buffered, timed socket I/O plus
 * the control-channel crypto of modes A and E (RFC 4656 3.1-3.2,
 * owamp-wire.md section 5).
 *
 * Each direction is one AES-128-CBC chain started at its IV and never reset,
 * and one running HMAC fed with every plaintext block except HMAC fields; an
 * HMAC field closes the running value and restarts it. The first S->C block
 * (Server-Start bytes 32-47) needs nothing special: the server sends bytes
 * 0-31 with send_clear, switches mode, then sends bytes 32-47 as ordinary
 * protected data that its next HMAC field covers; the client mirrors that.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MSG_NOSIGNAL under strict -std */
#endif
#include "channel.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

/* Pending output beyond this leaves early, so a large Fetch reply does not
 * buffer the whole session file in memory (TCP does not care where we cut). */
#define CHAN_FLUSH_AT (64 * 1024)

struct owp_chan {
    int fd;
    char peer[128];
    int timeout_ms;
    owp_mode mode;
    owp_cbc *enc, *dec;           /* NULL in open mode */
    owp_hmac *send_mac, *recv_mac; /* NULL in open mode */
    uint8_t *out;                  /* ciphertext (or plaintext) not yet written */
    size_t out_len, out_cap;
};

static int is_protected(const owp_chan *self) { return self->enc != NULL; }

static void drop_crypto(owp_chan *self)
{
    owp_cbc_destroy(&self->enc);
    owp_cbc_destroy(&self->dec);
    owp_hmac_destroy(&self->send_mac);
    owp_hmac_destroy(&self->recv_mac);
}

owp_chan *owp_chan_new(int fd, const char *peer, int timeout_ms, owp_err *err)
{
    if (fd < 0) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_chan_new: invalid socket %d", fd);
        return NULL;
    }
    owp_chan *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "owp_chan_new: out of memory");
        return NULL;
    }
    self->fd = fd;
    snprintf(self->peer, sizeof self->peer, "%s", peer ? peer : "peer");
    self->timeout_ms = timeout_ms;
    self->mode = OWP_MODE_OPEN;
    /* Whole messages leave in one write; Nagle would only add delayed-ACK
     * stalls (the reference's 40 ms). Fails harmlessly on non-TCP sockets. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return self;
}

void owp_chan_destroy(owp_chan **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_chan *self = *self_p;
    drop_crypto(self);
    close(self->fd);
    free(self->out);
    free(self);
    *self_p = NULL;
}

int owp_chan_fd(const owp_chan *self) { return self->fd; }
const char *owp_chan_peer(const owp_chan *self) { return self->peer; }
void owp_chan_set_timeout(owp_chan *self, int timeout_ms) { self->timeout_ms = timeout_ms; }
owp_mode owp_chan_mode(const owp_chan *self) { return self->mode; }

/* ---------------------------------------------------------------- timing */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline of one operation: the channel timeout covers a whole receive (or
 * send), not each read, so a peer dribbling bytes cannot hold us forever. */
static long long deadline_of(int timeout_ms) { return timeout_ms > 0 ? now_ms() + timeout_ms : -1; }

static int remaining_ms(long long deadline)
{
    if (deadline < 0)
        return -1;
    long long left = deadline - now_ms();
    return left > 0 ? (int)(left > 1000000000 ? 1000000000 : left) : 0;
}

/* poll for events until the deadline: 1 ready, 0 timed out, -1 error (errno). */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, remaining_ms(deadline));
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* ---------------------------------------------------------------- output */

static owp_status write_all(owp_chan *self, const uint8_t *buf, size_t len, owp_err *err)
{
    long long deadline = deadline_of(self->timeout_ms);
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(self->fd, buf + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(self->fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_for(self->fd, POLLOUT, deadline);
            if (r == 0)
                return owp_err_set(err, OWP_ERR_TIMEOUT,
                                   "%s: timed out after %d ms sending (%zu of %zu bytes sent)",
                                   self->peer, self->timeout_ms, done, len);
            if (r < 0)
                return owp_err_sys(err, "%s: poll", self->peer);
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return owp_err_set(err, OWP_ERR_CLOSED, "%s closed the connection (%s)", self->peer,
                               strerror(errno));
        if (n == 0)
            return owp_err_set(err, OWP_ERR_CLOSED, "%s: connection closed while sending",
                               self->peer);
        return owp_err_sys(err, "%s: send", self->peer);
    }
    return OWP_OK;
}

owp_status owp_chan_flush(owp_chan *self, owp_err *err)
{
    if (self->out_len == 0)
        return OWP_OK;
    size_t len = self->out_len;
    self->out_len = 0; /* on failure the connection is unusable anyway */
    return write_all(self, self->out, len, err);
}

/* Room for len more bytes at the end of the output buffer. */
static owp_status reserve(owp_chan *self, size_t len, owp_err *err)
{
    if (self->out_len + len <= self->out_cap)
        return OWP_OK;
    size_t cap = self->out_cap ? self->out_cap : 256;
    while (cap < self->out_len + len)
        cap *= 2;
    uint8_t *p = realloc(self->out, cap);
    if (!p)
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: output buffer of %zu bytes", self->peer, cap);
    self->out = p;
    self->out_cap = cap;
    return OWP_OK;
}

owp_status owp_chan_send_clear(owp_chan *self, const uint8_t *buf, size_t len, owp_err *err)
{
    owp_status st = owp_chan_flush(self, err); /* keep the byte order */
    if (st != OWP_OK)
        return st;
    return write_all(self, buf, len, err);
}

/* Append protected bytes: encrypt in A/E, else copy. Does not touch the HMAC. */
static owp_status append(owp_chan *self, const uint8_t *plain, size_t len, owp_err *err)
{
    owp_status st = reserve(self, len, err);
    if (st != OWP_OK)
        return st;
    uint8_t *dst = self->out + self->out_len;
    if (is_protected(self)) {
        st = owp_cbc_update(self->enc, plain, dst, len, err);
        if (st != OWP_OK)
            return st;
    } else {
        memcpy(dst, plain, len);
    }
    self->out_len += len;
    return OWP_OK;
}

owp_status owp_chan_send(owp_chan *self, const uint8_t *plain, size_t len, owp_err *err)
{
    if (len % OWP_BLOCK)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: send of %zu bytes, not whole blocks",
                           self->peer, len);
    /* Cut long messages into bounded pieces so the buffer stays small. */
    while (len > 0) {
        size_t piece = len > CHAN_FLUSH_AT ? CHAN_FLUSH_AT : len;
        owp_status st = OWP_OK;
        if (is_protected(self))
            st = owp_hmac_update(self->send_mac, plain, piece, err);
        if (st == OWP_OK)
            st = append(self, plain, piece, err);
        if (st == OWP_OK && self->out_len >= CHAN_FLUSH_AT)
            st = owp_chan_flush(self, err);
        if (st != OWP_OK)
            return st;
        plain += piece;
        len -= piece;
    }
    return OWP_OK;
}

owp_status owp_chan_send_hmac(owp_chan *self, owp_err *err)
{
    uint8_t field[OWP_HMAC_LEN] = {0}; /* open mode: zeros */
    if (is_protected(self)) {
        owp_status st = owp_hmac_final(self->send_mac, field, err);
        if (st != OWP_OK)
            return st;
    }
    owp_status st = append(self, field, sizeof field, err);
    if (st != OWP_OK)
        return st;
    return owp_chan_flush(self, err);
}

/* ----------------------------------------------------------------- input */

static owp_status read_exact(owp_chan *self, uint8_t *buf, size_t len, owp_err *err)
{
    /* Whatever we still owe the peer must leave before we wait for its answer. */
    owp_status st = owp_chan_flush(self, err);
    if (st != OWP_OK)
        return st;
    long long deadline = deadline_of(self->timeout_ms);
    size_t got = 0;
    while (got < len) {
        int r = wait_for(self->fd, POLLIN, deadline);
        if (r == 0)
            return owp_err_set(err, OWP_ERR_TIMEOUT,
                               "%s: no reply within %d ms (got %zu of %zu bytes)", self->peer,
                               self->timeout_ms, got, len);
        if (r < 0)
            return owp_err_sys(err, "%s: poll", self->peer);
        ssize_t n = read(self->fd, buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) {
            return owp_err_set(err, OWP_ERR_CLOSED,
                               "%s closed the connection (got %zu of %zu bytes)", self->peer,
                               got, len);
        } else if (errno == ECONNRESET) {
            return owp_err_set(err, OWP_ERR_CLOSED, "%s reset the connection", self->peer);
        } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            return owp_err_sys(err, "%s: read", self->peer);
        }
    }
    return OWP_OK;
}

owp_status owp_chan_recv_clear(owp_chan *self, uint8_t *buf, size_t len, owp_err *err)
{
    return read_exact(self, buf, len, err);
}

owp_status owp_chan_recv(owp_chan *self, uint8_t *plain, size_t len, owp_err *err)
{
    if (len % OWP_BLOCK)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: receive of %zu bytes, not whole blocks",
                           self->peer, len);
    owp_status st = read_exact(self, plain, len, err);
    if (st != OWP_OK || !is_protected(self))
        return st;
    st = owp_cbc_update(self->dec, plain, plain, len, err);
    if (st != OWP_OK)
        return st;
    return owp_hmac_update(self->recv_mac, plain, len, err);
}

owp_status owp_chan_recv_hmac(owp_chan *self, owp_err *err)
{
    uint8_t field[OWP_HMAC_LEN], want[OWP_HMAC_LEN];
    owp_status st = read_exact(self, field, sizeof field, err);
    if (st != OWP_OK || !is_protected(self))
        return st; /* open mode: the field is not checked (RFC 4656 3.1) */
    st = owp_cbc_update(self->dec, field, field, sizeof field, err);
    if (st == OWP_OK)
        st = owp_hmac_final(self->recv_mac, want, err);
    if (st != OWP_OK)
        return st;
    if (!owp_hmac_equal(field, want))
        return owp_err_set(err, OWP_ERR_PROTO, "HMAC mismatch from %s", self->peer);
    return OWP_OK;
}

int owp_chan_wait_readable(owp_chan *self, int timeout_ms)
{
    /* A caller about to wait for the peer must not sit on unsent bytes; if
     * the flush fails, report "readable" so the next receive sees the error. */
    if (owp_chan_flush(self, NULL) != OWP_OK)
        return 1;
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return wait_for(self->fd, POLLIN, deadline) != 0; /* poll errors: let recv report */
}

/* ------------------------------------------------------------------ mode */

owp_status owp_chan_set_mode(owp_chan *self, owp_mode mode, const uint8_t aes_key[16],
                             const uint8_t hmac_key[32], const uint8_t send_iv[16],
                             const uint8_t recv_iv[16], owp_err *err)
{
    if (mode != OWP_MODE_OPEN && mode != OWP_MODE_AUTH && mode != OWP_MODE_ENCRYPTED)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: unknown mode %d", self->peer, (int)mode);
    if (mode != OWP_MODE_OPEN && (!aes_key || !hmac_key || !send_iv || !recv_iv))
        return owp_err_set(err, OWP_ERR_INVALID, "%s: mode %d needs keys and IVs", self->peer,
                           (int)mode);
    /* Anything buffered so far belongs to the old mode. */
    owp_status st = owp_chan_flush(self, err);
    if (st != OWP_OK)
        return st;
    drop_crypto(self);
    self->mode = mode;
    if (mode == OWP_MODE_OPEN)
        return OWP_OK;
    self->enc = owp_cbc_new(aes_key, send_iv, 1, err);
    self->dec = self->enc ? owp_cbc_new(aes_key, recv_iv, 0, err) : NULL;
    self->send_mac = self->dec ? owp_hmac_new(hmac_key, OWP_HMAC_KEY_LEN, err) : NULL;
    self->recv_mac = self->send_mac ? owp_hmac_new(hmac_key, OWP_HMAC_KEY_LEN, err) : NULL;
    if (!self->recv_mac) {
        drop_crypto(self);
        self->mode = OWP_MODE_OPEN;
        return err ? err->code : OWP_ERR_CRYPTO;
    }
    return OWP_OK;
}
