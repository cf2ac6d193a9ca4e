/*
 * twamp_wire.c - Request-TW-Session and the TWAMP-Test packet layouts
 * (RFC 5357 3.5, 4.1.2, 4.2.1; twamp_wire.h). The crypto runs on one AES-ECB
 * context per direction keyed once per session: CBC with IV 0 over a few
 * blocks is cheaper chained by hand than re-initialising a CBC context for
 * every packet (the same choice as testpkt.c).
 */
#include "twamp_wire.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bytes.h"
#include "crypto.h"
#include "wire.h"

/* Offsets of the reflected layouts. */
enum {
    OPEN_TS = 4, OPEN_ERR = 12, OPEN_RTS = 16, OPEN_SSEQ = 24, OPEN_STS = 28, OPEN_SERR = 36,
    OPEN_STTL = 40,
    KEYED_TS = 16, KEYED_ERR = 24, KEYED_RTS = 32, KEYED_SSEQ = 48, KEYED_STS = 64,
    KEYED_SERR = 72, KEYED_STTL = 80, KEYED_HMAC = 96
};
/* Sender keyed layout. */
enum { SENDER_OPEN_TS = 4, SENDER_TS = 16, SENDER_HMAC = 32 };

/* Where a reflected packet's fields stand in one mode's layout. */
typedef struct reflect_layout {
    size_t ts, err, rts, sseq, sts, serr, sttl;
} reflect_layout;
static const reflect_layout OPEN_LAYOUT = {OPEN_TS,   OPEN_ERR,  OPEN_RTS, OPEN_SSEQ,
                                           OPEN_STS,  OPEN_SERR, OPEN_STTL};
static const reflect_layout KEYED_LAYOUT = {KEYED_TS,  KEYED_ERR,  KEYED_RTS, KEYED_SSEQ,
                                            KEYED_STS, KEYED_SERR, KEYED_STTL};
/* Type-P bits a plain DSCP may use (DSCP << 24, RFC 5357 3.5). */
#define TYPEP_DSCP_MASK 0x3F000000u

/* ------------------------------------------------------------ Request-TW-Session */

void owp_tw_encode_request(const owp_request *m, uint8_t out[OWP_TW_REQUEST_LEN])
{
    owp_request r = *m;
    r.conf_sender = r.conf_receiver = 0;
    r.nslots = r.npackets = 0;
    r.slots = NULL;
    owp_wire_encode_request_preamble(&r, out);
    out[0] = OWP_MSG_REQUEST_TW_SESSION;
}

owp_status owp_tw_decode_request(const uint8_t in[OWP_TW_REQUEST_LEN], owp_request *m,
                                 owp_tw_request_verdict *verdict, owp_err *err)
{
    memset(m, 0, sizeof *m);
    *verdict = OWP_TW_REQUEST_OK;
    if (in[0] != OWP_MSG_REQUEST_TW_SESSION)
        return owp_err_set(err, OWP_ERR_PROTO, "Request-TW-Session: message type %u, expected %u",
                           in[0], OWP_MSG_REQUEST_TW_SESSION);
    owp_wire_decode_request_fields(in, m);
    const char *why = NULL;
    if (m->ipvn != 4 && m->ipvn != 6)
        why = "IP version is neither 4 nor 6";
    else if (m->conf_sender || m->conf_receiver)
        why = "Conf-Sender and Conf-Receiver must be zero";
    else if (m->nslots || m->npackets)
        why = "Number of Schedule Slots and Number of Packets must be zero";
    else if (m->typep & ~TYPEP_DSCP_MASK)
        why = "Type-P is not a plain DSCP";
    if (why) {
        *verdict = OWP_TW_REQUEST_UNSUPPORTED;
        owp_err_set(err, OWP_OK, "Request-TW-Session: %s", why);
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ sizes */

owp_mode owp_tw_test_mode(owp_mode control_mode)
{
    return control_mode == OWP_MODE_MIXED ? OWP_MODE_OPEN : control_mode;
}

static int keyed(owp_mode m) { return m == OWP_MODE_AUTH || m == OWP_MODE_ENCRYPTED; }

static int test_mode_known(owp_mode m) { return m == OWP_MODE_OPEN || keyed(m); }

size_t owp_tw_sender_size(owp_mode test_mode, uint32_t padding)
{
    if (!test_mode_known(test_mode))
        return 0;
    return (keyed(test_mode) ? OWP_TW_SENDER_KEYED_MIN : OWP_TW_SENDER_OPEN_MIN) + (size_t)padding;
}

size_t owp_tw_reflect_min(owp_mode test_mode)
{
    return keyed(test_mode) ? OWP_TW_REFLECT_KEYED_MIN : OWP_TW_REFLECT_OPEN_MIN;
}

size_t owp_tw_reflect_size(owp_mode test_mode, size_t sender_len)
{
    size_t min = owp_tw_reflect_min(test_mode);
    return sender_len > min ? sender_len : min;
}

/* ------------------------------------------------------------ crypto */

struct owp_tw_crypt {
    owp_mode mode;
    EVP_CIPHER_CTX *enc, *dec;
    owp_hmac *hmac;
};

static EVP_CIPHER_CTX *ecb_context(const uint8_t key[16], int encrypt)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return NULL;
    if (EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL, encrypt) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

owp_tw_crypt *owp_tw_crypt_new(owp_mode test_mode, const uint8_t test_aes_key[16],
                               const uint8_t test_hmac_key[32], owp_err *err)
{
    if (!keyed(test_mode)) {
        owp_err_set(err, OWP_ERR_INVALID, "TWAMP-Test crypto: mode %d has no keys",
                    (int)test_mode);
        return NULL;
    }
    owp_tw_crypt *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "TWAMP-Test crypto: out of memory");
        return NULL;
    }
    self->mode = test_mode;
    self->enc = ecb_context(test_aes_key, 1);
    self->dec = ecb_context(test_aes_key, 0);
    if (!self->enc || !self->dec) {
        owp_crypto_error(err, "TWAMP-Test AES set-up");
        owp_tw_crypt_destroy(&self);
        return NULL;
    }
    self->hmac = owp_hmac_new(test_hmac_key, OWP_HMAC_KEY_LEN, err);
    if (!self->hmac)
        owp_tw_crypt_destroy(&self);
    return self;
}

owp_status owp_tw_crypt_for_session(owp_mode control_mode, const uint8_t sid[OWP_SID_LEN],
                                    const uint8_t aes_session_key[16],
                                    const uint8_t hmac_session_key[32], owp_tw_crypt **out,
                                    owp_err *err)
{
    *out = NULL;
    owp_mode tm = owp_tw_test_mode(control_mode);
    if (!keyed(tm))
        return OWP_OK;
    uint8_t aes[16], hmac[32];
    owp_status st = owp_test_session_keys(sid, aes_session_key, hmac_session_key, aes, hmac, err);
    if (st == OWP_OK) {
        *out = owp_tw_crypt_new(tm, aes, hmac, err);
        if (!*out)
            st = err ? err->code : OWP_ERR_CRYPTO;
    }
    memset(aes, 0, sizeof aes);
    memset(hmac, 0, sizeof hmac);
    return st;
}

void owp_tw_crypt_destroy(owp_tw_crypt **self_p)
{
    if (!self_p || !*self_p)
        return;
    EVP_CIPHER_CTX_free((*self_p)->enc);
    EVP_CIPHER_CTX_free((*self_p)->dec);
    owp_hmac_destroy(&(*self_p)->hmac);
    free(*self_p);
    *self_p = NULL;
}

static int ecb_block(EVP_CIPHER_CTX *ctx, const uint8_t *in, uint8_t *out)
{
    int outl = 0;
    return EVP_CipherUpdate(ctx, out, &outl, in, OWP_BLOCK) == 1 && outl == OWP_BLOCK;
}

/* Authenticated: block 0 alone (ECB). Encrypted: nblocks in CBC, IV 0. */
static owp_status encrypt_head(owp_tw_crypt *tc, uint8_t *buf, size_t nblocks, owp_err *err)
{
    if (tc->mode == OWP_MODE_AUTH)
        nblocks = 1;
    for (size_t b = 0; b < nblocks; b++) {
        uint8_t *blk = buf + b * OWP_BLOCK;
        if (b > 0)
            for (int i = 0; i < OWP_BLOCK; i++)
                blk[i] ^= blk[i - OWP_BLOCK];
        if (!ecb_block(tc->enc, blk, blk))
            return owp_crypto_error(err, "TWAMP-Test encryption");
    }
    return OWP_OK;
}

static owp_status decrypt_head(owp_tw_crypt *tc, uint8_t *buf, size_t nblocks, owp_err *err)
{
    if (tc->mode == OWP_MODE_AUTH)
        nblocks = 1;
    /* Last block first: each block's chaining value is the ciphertext before it. */
    for (size_t b = nblocks; b-- > 0;) {
        uint8_t *blk = buf + b * OWP_BLOCK;
        if (!ecb_block(tc->dec, blk, blk))
            return owp_crypto_error(err, "TWAMP-Test decryption");
        if (b > 0)
            for (int i = 0; i < OWP_BLOCK; i++)
                blk[i] ^= blk[i - OWP_BLOCK];
    }
    return OWP_OK;
}

/* HMAC over the protected plaintext: octets 0-15 (authenticated) or the
 * whole encrypted head (encrypted). */
static owp_status mac_head(owp_tw_crypt *tc, const uint8_t *buf, size_t head,
                           uint8_t out[OWP_HMAC_LEN], owp_err *err)
{
    size_t covered = tc->mode == OWP_MODE_AUTH ? OWP_BLOCK : head;
    owp_status st = owp_hmac_update(tc->hmac, buf, covered, err);
    if (st == OWP_OK)
        st = owp_hmac_final(tc->hmac, out, err);
    return st;
}

static owp_status check_crypt(owp_tw_crypt *tc, owp_mode m, const char *what, owp_err *err)
{
    if (!test_mode_known(m))
        return owp_err_set(err, OWP_ERR_INVALID, "%s: unknown test mode %d", what, (int)m);
    if (keyed(m) && (!tc || tc->mode != m))
        return owp_err_set(err, OWP_ERR_INVALID, "%s: mode %d needs its session keys", what,
                           (int)m);
    return OWP_OK;
}

/* A keyed packet's head sealed: the HMAC of its first hmac_at octets stored
 * at hmac_at, then those octets encrypted. */
static owp_status seal_head(owp_tw_crypt *tc, uint8_t *buf, size_t hmac_at, owp_err *err)
{
    owp_status st = mac_head(tc, buf, hmac_at, buf + hmac_at, err);
    if (st != OWP_OK)
        return st;
    return encrypt_head(tc, buf, hmac_at / OWP_BLOCK, err);
}

/* The reverse of seal_head, in place: decrypted, and its HMAC checked. */
static owp_status open_head(owp_tw_crypt *tc, uint8_t *buf, size_t hmac_at, const char *what,
                            owp_err *err)
{
    uint8_t mac[OWP_HMAC_LEN];
    owp_status st;
    if ((st = decrypt_head(tc, buf, hmac_at / OWP_BLOCK, err)) != OWP_OK ||
        (st = mac_head(tc, buf, hmac_at, mac, err)) != OWP_OK)
        return st;
    if (!owp_hmac_equal(mac, buf + hmac_at))
        return owp_err_set(err, OWP_ERR_PROTO, "%s seq %u: bad HMAC", what, owp_get32(buf));
    return OWP_OK;
}

/* ------------------------------------------------------------ reflected packets */

static const reflect_layout *layout_of(owp_mode test_mode)
{
    return keyed(test_mode) ? &KEYED_LAYOUT : &OPEN_LAYOUT;
}

owp_status owp_tw_reflect_prepare(owp_mode test_mode, const owp_tw_reflected *m, uint8_t *buf,
                                  size_t len, owp_err *err)
{
    if (!test_mode_known(test_mode))
        return owp_err_set(err, OWP_ERR_INVALID, "reflected packet: unknown mode %d",
                           (int)test_mode);
    size_t min = owp_tw_reflect_min(test_mode);
    if (!buf || len < min)
        return owp_err_set(err, OWP_ERR_INVALID, "reflected packet of %zu octets: at least %zu",
                           len, min);
    memset(buf, 0, min);
    const reflect_layout *l = layout_of(test_mode);
    owp_put32(buf, m->seq);
    owp_put64(buf + l->rts, m->recv_time);
    owp_put32(buf + l->sseq, m->sender_seq);
    owp_put64(buf + l->sts, m->sender_time);
    owp_put16(buf + l->serr, m->sender_errest);
    buf[l->sttl] = m->sender_ttl;
    return OWP_OK;
}

owp_status owp_tw_reflect_seal(owp_tw_crypt *tc, owp_mode test_mode, owp_num64 timestamp,
                               uint16_t errest, uint8_t *buf, size_t len, owp_err *err)
{
    owp_status st = check_crypt(tc, test_mode, "reflected packet", err);
    if (st != OWP_OK)
        return st;
    if (len < owp_tw_reflect_min(test_mode))
        return owp_err_set(err, OWP_ERR_INVALID, "reflected packet of %zu octets: too short", len);
    owp_tw_reflect_set_time(test_mode, timestamp, errest, buf);
    return keyed(test_mode) ? seal_head(tc, buf, KEYED_HMAC, err) : OWP_OK;
}

void owp_tw_reflect_set_time(owp_mode layout, owp_num64 timestamp, uint16_t errest,
                             uint8_t *buf)
{
    const reflect_layout *l = layout_of(layout);
    owp_put64(buf + l->ts, timestamp);
    owp_put16(buf + l->err, errest);
}

owp_status owp_tw_reflect_open(owp_tw_crypt *tc, owp_mode test_mode, uint8_t *buf, size_t len,
                               owp_tw_reflected *m, owp_err *err)
{
    owp_status st = check_crypt(tc, test_mode, "reflected packet", err);
    if (st != OWP_OK)
        return st;
    size_t min = owp_tw_reflect_min(test_mode);
    if (!buf || len < min)
        return owp_err_set(err, OWP_ERR_FORMAT, "reflected packet of %zu octets: at least %zu",
                           len, min);
    memset(m, 0, sizeof *m);
    if (keyed(test_mode) &&
        (st = open_head(tc, buf, KEYED_HMAC, "reflected packet", err)) != OWP_OK)
        return st;
    owp_tw_reflect_fields(test_mode, buf, m);
    return OWP_OK;
}

void owp_tw_reflect_fields(owp_mode layout, const uint8_t *buf, owp_tw_reflected *m)
{
    const reflect_layout *l = layout_of(layout);
    m->seq = owp_get32(buf);
    m->timestamp = owp_get64(buf + l->ts);
    m->errest = owp_get16(buf + l->err);
    m->recv_time = owp_get64(buf + l->rts);
    m->sender_seq = owp_get32(buf + l->sseq);
    m->sender_time = owp_get64(buf + l->sts);
    m->sender_errest = owp_get16(buf + l->serr);
    m->sender_ttl = buf[l->sttl];
}

/* ------------------------------------------------------------ sender packets */

/* The checks of both sender-packet calls: the keys for the mode, and room
 * for the smallest packet (else too_short). */
static owp_status check_sender(owp_tw_crypt *tc, owp_mode test_mode, const uint8_t *buf,
                               size_t len, owp_status too_short, owp_err *err)
{
    owp_status st = check_crypt(tc, test_mode, "sender packet", err);
    if (st != OWP_OK)
        return st;
    size_t min = owp_tw_sender_size(test_mode, 0);
    if (!buf || len < min)
        return owp_err_set(err, too_short, "sender packet of %zu octets: at least %zu", len, min);
    return OWP_OK;
}

/* Where a sender packet's timestamp stands; its error estimate follows it. */
static size_t sender_ts_at(owp_mode test_mode)
{
    return keyed(test_mode) ? SENDER_TS : SENDER_OPEN_TS;
}

owp_status owp_tw_sender_seal(owp_tw_crypt *tc, owp_mode test_mode, uint32_t seq,
                              owp_num64 timestamp, uint16_t errest, uint8_t *buf, size_t len,
                              owp_err *err)
{
    owp_status st = check_sender(tc, test_mode, buf, len, OWP_ERR_INVALID, err);
    if (st != OWP_OK)
        return st;
    memset(buf, 0, owp_tw_sender_size(test_mode, 0));
    owp_put32(buf, seq);
    owp_put64(buf + sender_ts_at(test_mode), timestamp);
    owp_put16(buf + sender_ts_at(test_mode) + 8, errest);
    return keyed(test_mode) ? seal_head(tc, buf, SENDER_HMAC, err) : OWP_OK;
}

owp_status owp_tw_sender_open(owp_tw_crypt *tc, owp_mode test_mode, uint8_t *buf, size_t len,
                              uint32_t *seq, owp_num64 *timestamp, uint16_t *errest,
                              owp_err *err)
{
    owp_status st = check_sender(tc, test_mode, buf, len, OWP_ERR_FORMAT, err);
    if (st != OWP_OK)
        return st;
    if (keyed(test_mode) &&
        (st = open_head(tc, buf, SENDER_HMAC, "sender packet", err)) != OWP_OK)
        return st;
    size_t ts = sender_ts_at(test_mode), er = ts + 8;
    *seq = owp_get32(buf);
    *timestamp = owp_get64(buf + ts);
    *errest = owp_get16(buf + er);
    return OWP_OK;
}
