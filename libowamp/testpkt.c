/*
 * testpkt.c - OWAMP-Test packets (RFC 4656 section 4.1.2, owamp-wire.md §12).
 *
 *   open:  0 seq(4) 4 timestamp(8) 12 errest(2) 14 padding
 *   A, E:  0 seq(4) 4 MBZ(12) 16 timestamp(8) 24 errest(2) 26 MBZ(6) 32 HMAC(16) 48 padding
 *
 * A encrypts block 0 with AES-ECB; E encrypts blocks 0-1 with AES-CBC, IV 0.
 * The HMAC (truncated HMAC-SHA1, fresh per packet) covers the plaintext of
 * the encrypted blocks only, exactly as the reference does: in mode A the
 * timestamp is therefore unprotected.
 *
 * An owp_testcrypt carries running cipher and HMAC state: use each one from
 * one thread at a time (one session has one sender and one receiver side,
 * each with its own owp_testcrypt).
 */
#include "testpkt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bytes.h"
#include "crypto.h"

#define OPEN_TS_OFF 4
#define OPEN_ERREST_OFF 12
#define AE_TS_OFF 16
#define AE_ERREST_OFF 24
#define AE_HMAC_OFF 32

/* Both ciphers run on plain AES-ECB contexts keyed once per session: E's CBC
 * with IV 0 over two blocks is C0 = E(P0), C1 = E(P1 ^ C0), so chaining by
 * hand saves re-initialising a CBC context for every packet. */
struct owp_testcrypt {
    owp_mode mode;
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    owp_hmac *hmac;
};

static int mode_known(owp_mode mode)
{
    return mode == OWP_MODE_OPEN || mode == OWP_MODE_AUTH || mode == OWP_MODE_ENCRYPTED;
}

static const char *mode_name(owp_mode mode)
{
    switch (mode) {
    case OWP_MODE_OPEN: return "open";
    case OWP_MODE_AUTH: return "authenticated";
    case OWP_MODE_ENCRYPTED: return "encrypted";
    case OWP_MODE_MIXED: return "mixed"; /* TWAMP: never an OWAMP-Test mode */
    }
    return "unknown";
}

static size_t min_size(owp_mode mode)
{
    return mode == OWP_MODE_OPEN ? OWP_TESTPKT_OPEN_MIN : OWP_TESTPKT_AUTH_MIN;
}

/* Bytes encrypted and covered by the HMAC. */
static size_t protected_len(owp_mode mode)
{
    return mode == OWP_MODE_AUTH ? OWP_BLOCK : 2 * OWP_BLOCK;
}

size_t owp_testpkt_size(owp_mode mode, uint32_t padding)
{
    if (!mode_known(mode))
        return 0;
    return min_size(mode) + (size_t)padding;
}

static EVP_CIPHER_CTX *ecb_context(const uint8_t key[16], int encrypt)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return NULL;
    if (EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL, encrypt) != 1
        || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

owp_testcrypt *owp_testcrypt_new(owp_mode mode, const uint8_t test_aes_key[16],
                                 const uint8_t test_hmac_key[32], owp_err *err)
{
    if (mode != OWP_MODE_AUTH && mode != OWP_MODE_ENCRYPTED) {
        owp_err_set(err, OWP_ERR_INVALID, "test packet crypto: mode %d has no keys", (int)mode);
        return NULL;
    }
    owp_testcrypt *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "cannot allocate test packet crypto");
        return NULL;
    }
    self->mode = mode;
    self->enc = ecb_context(test_aes_key, 1);
    self->dec = ecb_context(test_aes_key, 0);
    if (!self->enc || !self->dec) {
        owp_crypto_error(err, "test packet AES set-up");
        owp_testcrypt_destroy(&self);
        return NULL;
    }
    self->hmac = owp_hmac_new(test_hmac_key, OWP_HMAC_KEY_LEN, err);
    if (!self->hmac) {
        owp_testcrypt_destroy(&self);
        return NULL;
    }
    return self;
}

void owp_testcrypt_destroy(owp_testcrypt **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_testcrypt *self = *self_p;
    EVP_CIPHER_CTX_free(self->enc);
    EVP_CIPHER_CTX_free(self->dec);
    owp_hmac_destroy(&self->hmac);
    free(self);
    *self_p = NULL;
}

static owp_status check_args(owp_testcrypt *tc, owp_mode mode, const uint8_t *buf, size_t len,
                             int format_error, owp_err *err)
{
    if (!mode_known(mode))
        return owp_err_set(err, OWP_ERR_INVALID, "test packet: unknown mode %d", (int)mode);
    if (!buf || len < min_size(mode))
        return owp_err_set(err, format_error ? OWP_ERR_FORMAT : OWP_ERR_INVALID,
                           "test packet of %zu bytes: %s mode needs at least %zu", len,
                           mode_name(mode), min_size(mode));
    if (mode != OWP_MODE_OPEN && (!tc || tc->mode != mode))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "test packet: %s mode needs that mode's session keys",
                           mode_name(mode));
    return OWP_OK;
}

static int ecb_block(EVP_CIPHER_CTX *ctx, const uint8_t in[OWP_BLOCK], uint8_t out[OWP_BLOCK])
{
    int outl = 0;
    return EVP_CipherUpdate(ctx, out, &outl, in, OWP_BLOCK) == 1 && outl == OWP_BLOCK;
}

static void xor_block(uint8_t *dst, const uint8_t *src)
{
    for (int i = 0; i < OWP_BLOCK; i++)
        dst[i] ^= src[i];
}

/* Encrypt the protected blocks in place (ECB for A, CBC IV 0 for E). */
static owp_status encrypt_head(owp_testcrypt *tc, uint8_t *buf, owp_err *err)
{
    if (!ecb_block(tc->enc, buf, buf))
        return owp_crypto_error(err, "test packet encryption");
    if (tc->mode == OWP_MODE_ENCRYPTED) {
        xor_block(buf + OWP_BLOCK, buf);
        if (!ecb_block(tc->enc, buf + OWP_BLOCK, buf + OWP_BLOCK))
            return owp_crypto_error(err, "test packet encryption");
    }
    return OWP_OK;
}

static owp_status decrypt_head(owp_testcrypt *tc, uint8_t *buf, owp_err *err)
{
    if (tc->mode == OWP_MODE_ENCRYPTED) {
        /* Block 1 first: its chaining value is ciphertext block 0. */
        if (!ecb_block(tc->dec, buf + OWP_BLOCK, buf + OWP_BLOCK))
            return owp_crypto_error(err, "test packet decryption");
        xor_block(buf + OWP_BLOCK, buf);
    }
    if (!ecb_block(tc->dec, buf, buf))
        return owp_crypto_error(err, "test packet decryption");
    return OWP_OK;
}

owp_status owp_testpkt_prepare(owp_mode mode, uint32_t seq, uint8_t *buf, size_t len,
                               owp_err *err)
{
    if (!mode_known(mode))
        return owp_err_set(err, OWP_ERR_INVALID, "test packet: unknown mode %d", (int)mode);
    size_t head = min_size(mode);
    if (!buf || len < head)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "test packet of %zu bytes: %s mode needs at least %zu", len,
                           mode_name(mode), head);
    owp_put32(buf, seq);
    memset(buf + 4, 0, head - 4);
    /* Padding is random (the reference's choice), sent in the clear and
     * covered by nothing; it is filled here, off the timed path. */
    return owp_random_bytes(buf + head, len - head, err);
}

owp_status owp_testpkt_seal(owp_testcrypt *tc, owp_mode mode, owp_num64 timestamp,
                            uint16_t errest, uint8_t *buf, size_t len, owp_err *err)
{
    owp_status st = check_args(tc, mode, buf, len, 0, err);
    if (st != OWP_OK)
        return st;
    if (mode == OWP_MODE_OPEN) {
        owp_put64(buf + OPEN_TS_OFF, timestamp);
        owp_put16(buf + OPEN_ERREST_OFF, errest);
        return OWP_OK;
    }
    owp_put64(buf + AE_TS_OFF, timestamp);
    owp_put16(buf + AE_ERREST_OFF, errest);
    st = owp_hmac_update(tc->hmac, buf, protected_len(mode), err);
    if (st == OWP_OK)
        st = owp_hmac_final(tc->hmac, buf + AE_HMAC_OFF, err);
    if (st != OWP_OK)
        return st;
    return encrypt_head(tc, buf, err);
}

owp_status owp_testpkt_open(owp_testcrypt *tc, owp_mode mode, uint8_t *buf, size_t len,
                            uint32_t *seq, owp_num64 *timestamp, uint16_t *errest, owp_err *err)
{
    owp_status st = check_args(tc, mode, buf, len, 1, err);
    if (st != OWP_OK)
        return st;
    size_t ts_off = OPEN_TS_OFF, errest_off = OPEN_ERREST_OFF;
    if (mode != OWP_MODE_OPEN) {
        ts_off = AE_TS_OFF;
        errest_off = AE_ERREST_OFF;
        uint8_t mac[OWP_HMAC_LEN];
        st = decrypt_head(tc, buf, err);
        if (st == OWP_OK)
            st = owp_hmac_update(tc->hmac, buf, protected_len(mode), err);
        if (st == OWP_OK)
            st = owp_hmac_final(tc->hmac, mac, err);
        if (st != OWP_OK)
            return st;
        if (!owp_hmac_equal(mac, buf + AE_HMAC_OFF))
            return owp_err_set(err, OWP_ERR_PROTO, "test packet seq %u: bad HMAC",
                               owp_get32(buf));
    }
    /* MBZ fields are not checked: the reference ignores them on receive. */
    if (seq)
        *seq = owp_get32(buf);
    if (timestamp)
        *timestamp = owp_get64(buf + ts_off);
    if (errest)
        *errest = owp_get16(buf + errest_off);
    return OWP_OK;
}
