/*
 * channel.h - one OWAMP-Control connection's byte stream (RFC 4656 3.1-3.2).
 *
 * Owns the TCP socket, the two CBC chains (one per direction, continuing
 * across messages) and the two running HMACs. Callers hand it plaintext in
 * 16-byte multiples; it encrypts in modes A/E, feeds the running HMAC, and
 * closes the HMAC at each HMAC field. In open mode HMAC fields are sent as
 * zeros and not checked. Sends are buffered until an HMAC field or an
 * explicit flush and leave in one write (TCP_NODELAY is set: the reference's
 * 40 ms Nagle stalls are not ours).
 *
 * Every receive waits at most the channel's timeout; a peer that stalls gets
 * OWP_ERR_TIMEOUT naming the peer, a peer that closes OWP_ERR_CLOSED.
 */
#ifndef OWP_CHANNEL_H
#define OWP_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "owamp.h"

typedef struct owp_chan owp_chan;

/* Takes ownership of the connected socket fd. peer is a printable name used
 * in error messages ("127.0.0.1:861"). timeout_ms <= 0 means wait forever. */
owp_chan *owp_chan_new(int fd, const char *peer, int timeout_ms, owp_err *err);
void owp_chan_destroy(owp_chan **self_p); /* closes the socket */

int owp_chan_fd(const owp_chan *self);
const char *owp_chan_peer(const owp_chan *self);
void owp_chan_set_timeout(owp_chan *self, int timeout_ms);

/* Clear-text exchange before the keys exist (greeting, Set-Up-Response,
 * Server-Start bytes 0-31). send_clear writes immediately. */
owp_status owp_chan_send_clear(owp_chan *self, const uint8_t *buf, size_t len, owp_err *err);
owp_status owp_chan_recv_clear(owp_chan *self, uint8_t *buf, size_t len, owp_err *err);

/* Switch to mode after Set-Up-Response. For A/E: aes_key/hmac_key are the
 * session keys, send_iv/recv_iv the IVs of our and the peer's direction
 * (client: send = Client-IV, recv = Server-IV; server the other way round).
 * In open mode the keys and IVs may be NULL. */
owp_status owp_chan_set_mode(owp_chan *self, owp_mode mode, const uint8_t aes_key[16],
                             const uint8_t hmac_key[32], const uint8_t send_iv[16],
                             const uint8_t recv_iv[16], owp_err *err);
owp_mode owp_chan_mode(const owp_chan *self);

/* Protected traffic (len a multiple of 16). */
owp_status owp_chan_send(owp_chan *self, const uint8_t *plain, size_t len, owp_err *err);
owp_status owp_chan_send_hmac(owp_chan *self, owp_err *err); /* HMAC block, then flush */
owp_status owp_chan_flush(owp_chan *self, owp_err *err);
owp_status owp_chan_recv(owp_chan *self, uint8_t *plain, size_t len, owp_err *err);
owp_status owp_chan_recv_hmac(owp_chan *self, owp_err *err); /* read + verify */

/* Wait until the peer has sent something (or closed): 1 readable, 0 timed out.
 * timeout_ms < 0 waits forever. Used to multiplex control and test work. */
int owp_chan_wait_readable(owp_chan *self, int timeout_ms);

#endif
