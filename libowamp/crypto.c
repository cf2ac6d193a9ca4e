/*
 * crypto.c - OWAMP key derivation, Token, HMAC and the control-channel CBC
 * chain (RFC 4656 sections 3.1, 3.4, 4.1.2), on OpenSSL 3 EVP APIs only.
 */
#include "crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define SHA1_LEN 20

/* OpenSSL keeps its reason on a thread-local queue; take the newest entry
 * into our message and clear the queue so it cannot leak into a later error. */
owp_status owp_crypto_error(owp_err *err, const char *what)
{
    unsigned long code = ERR_peek_last_error();
    char reason[256] = "unknown OpenSSL error";
    if (code != 0)
        ERR_error_string_n(code, reason, sizeof reason);
    ERR_clear_error();
    return owp_err_set(err, OWP_ERR_CRYPTO, "%s failed: %s", what, reason);
}

owp_status owp_random_bytes(uint8_t *buf, size_t len, owp_err *err)
{
    /* RAND_bytes takes an int; feed big requests in pieces. */
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(buf, chunk) != 1)
            return owp_crypto_error(err, "RAND_bytes");
        buf += chunk;
        len -= (size_t)chunk;
    }
    return OWP_OK;
}

owp_status owp_pbkdf2_key(const uint8_t *pass, size_t passlen, const uint8_t salt[16],
                          uint32_t count, uint8_t key[OWP_AES_KEY_LEN], owp_err *err)
{
    if (passlen > INT_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "pass-phrase of %zu bytes is too long", passlen);
    if (count == 0 || count > OWP_PBKDF2_COUNT_MAX)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "PBKDF2 count %u out of range (1 to %u; the reference uses 2048)",
                           count, OWP_PBKDF2_COUNT_MAX);
    /* An empty pass-phrase is legal; OpenSSL wants a non-NULL pointer for it. */
    static const char empty[1] = "";
    const char *p = passlen ? (const char *)pass : empty;
    if (PKCS5_PBKDF2_HMAC(p, (int)passlen, salt, 16, (int)count, EVP_sha1(),
                          OWP_AES_KEY_LEN, key) != 1)
        return owp_crypto_error(err, "PBKDF2-HMAC-SHA1");
    return OWP_OK;
}

/* One self-contained AES-128 operation without padding (ECB, or CBC from iv). */
static owp_status aes_oneshot(const EVP_CIPHER *cipher, const uint8_t key[16],
                              const uint8_t *iv, int encrypt, const uint8_t *in,
                              uint8_t *out, size_t len, owp_err *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return owp_err_set(err, OWP_ERR_NOMEM, "cannot allocate a cipher context");
    int outl = 0, finl = 0;
    int ok = EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt) == 1
        && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
        && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1
        && EVP_CipherFinal_ex(ctx, out + outl, &finl) == 1
        && (size_t)(outl + finl) == len;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? OWP_OK : owp_crypto_error(err, "AES-128");
}

static const uint8_t zero_iv[OWP_BLOCK];

owp_status owp_token_encrypt(const uint8_t key[16], const uint8_t challenge[16],
                             const uint8_t aes_key[16], const uint8_t hmac_key[32],
                             uint8_t token[64], owp_err *err)
{
    uint8_t plain[64];
    memcpy(plain, challenge, 16);
    memcpy(plain + 16, aes_key, 16);
    memcpy(plain + 32, hmac_key, 32);
    owp_status st = aes_oneshot(EVP_aes_128_cbc(), key, zero_iv, 1, plain, token, 64, err);
    OPENSSL_cleanse(plain, sizeof plain);
    return st;
}

owp_status owp_token_decrypt(const uint8_t key[16], const uint8_t token[64],
                             uint8_t challenge[16], uint8_t aes_key[16], uint8_t hmac_key[32],
                             owp_err *err)
{
    uint8_t plain[64];
    owp_status st = aes_oneshot(EVP_aes_128_cbc(), key, zero_iv, 0, token, plain, 64, err);
    if (st == OWP_OK) {
        memcpy(challenge, plain, 16);
        memcpy(aes_key, plain + 16, 16);
        memcpy(hmac_key, plain + 32, 32);
    }
    OPENSSL_cleanse(plain, sizeof plain);
    return st;
}

owp_status owp_test_session_keys(const uint8_t sid[16], const uint8_t aes_session_key[16],
                                 const uint8_t hmac_session_key[32], uint8_t test_aes_key[16],
                                 uint8_t test_hmac_key[32], owp_err *err)
{
    owp_status st = aes_oneshot(EVP_aes_128_ecb(), sid, NULL, 1, aes_session_key,
                                test_aes_key, 16, err);
    if (st != OWP_OK)
        return st;
    return aes_oneshot(EVP_aes_128_cbc(), sid, zero_iv, 1, hmac_session_key, test_hmac_key,
                       32, err);
}

/* ---- HMAC ---------------------------------------------------------------- */

struct owp_hmac {
    EVP_MAC_CTX *ctx;
};

owp_status owp_hmac16(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                      uint8_t out[OWP_HMAC_LEN], owp_err *err)
{
    owp_hmac *h = owp_hmac_new(key, keylen, err);
    if (!h)
        return err ? err->code : OWP_ERR_CRYPTO;
    owp_status st = owp_hmac_update(h, data, len, err);
    if (st == OWP_OK)
        st = owp_hmac_final(h, out, err);
    owp_hmac_destroy(&h);
    return st;
}

int owp_hmac_equal(const uint8_t a[OWP_HMAC_LEN], const uint8_t b[OWP_HMAC_LEN])
{
    return CRYPTO_memcmp(a, b, OWP_HMAC_LEN) == 0;
}

owp_hmac *owp_hmac_new(const uint8_t *key, size_t keylen, owp_err *err)
{
    owp_hmac *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "cannot allocate an HMAC");
        return NULL;
    }
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac)
        self->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context holds its own reference */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
        OSSL_PARAM_construct_end(),
    };
    /* A zero-length key is valid HMAC, but OpenSSL needs a pointer. */
    static const uint8_t no_key[1];
    if (!self->ctx || EVP_MAC_init(self->ctx, keylen ? key : no_key, keylen, params) != 1) {
        owp_crypto_error(err, "HMAC-SHA1 set-up");
        owp_hmac_destroy(&self);
        return NULL;
    }
    return self;
}

owp_status owp_hmac_update(owp_hmac *self, const uint8_t *data, size_t len, owp_err *err)
{
    if (len == 0)
        return OWP_OK;
    if (EVP_MAC_update(self->ctx, data, len) != 1)
        return owp_crypto_error(err, "HMAC-SHA1 update");
    return OWP_OK;
}

owp_status owp_hmac_final(owp_hmac *self, uint8_t out[OWP_HMAC_LEN], owp_err *err)
{
    uint8_t full[SHA1_LEN];
    size_t outl = 0;
    if (EVP_MAC_final(self->ctx, full, &outl, sizeof full) != 1 || outl != SHA1_LEN)
        return owp_crypto_error(err, "HMAC-SHA1 final");
    memcpy(out, full, OWP_HMAC_LEN);
    /* Init with a NULL key restarts HMAC with the key already set, so the
     * next HMAC field covers only what follows this one. */
    if (EVP_MAC_init(self->ctx, NULL, 0, NULL) != 1)
        return owp_crypto_error(err, "HMAC-SHA1 restart");
    return OWP_OK;
}

void owp_hmac_destroy(owp_hmac **self_p)
{
    if (!self_p || !*self_p)
        return;
    EVP_MAC_CTX_free((*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}

/* ---- CBC chain of one control-connection direction ------------------------ */

struct owp_cbc {
    EVP_CIPHER_CTX *ctx;
    int encrypt;
};

owp_cbc *owp_cbc_new(const uint8_t key[16], const uint8_t iv[16], int encrypt, owp_err *err)
{
    owp_cbc *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "cannot allocate a CBC context");
        return NULL;
    }
    self->encrypt = encrypt ? 1 : 0;
    self->ctx = EVP_CIPHER_CTX_new();
    if (!self->ctx
        || EVP_CipherInit_ex(self->ctx, EVP_aes_128_cbc(), NULL, key, iv, self->encrypt) != 1
        || EVP_CIPHER_CTX_set_padding(self->ctx, 0) != 1) {
        owp_crypto_error(err, "AES-128-CBC set-up");
        owp_cbc_destroy(&self);
        return NULL;
    }
    return self;
}

owp_status owp_cbc_update(owp_cbc *self, const uint8_t *in, uint8_t *out, size_t len,
                          owp_err *err)
{
    if (len % OWP_BLOCK != 0)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "CBC %s of %zu bytes: not a multiple of %d",
                           self->encrypt ? "encryption" : "decryption", len, OWP_BLOCK);
    if (len > (size_t)INT_MAX - OWP_BLOCK)
        return owp_err_set(err, OWP_ERR_INVALID, "CBC update of %zu bytes is too long", len);
    if (len == 0)
        return OWP_OK;
    /* Whole blocks and no padding: OpenSSL buffers nothing, and the chain
     * simply continues into the next call, as OWAMP's control channel needs.
     * (Decryption holds back a final block only when padding is on.) */
    int outl = 0;
    if (EVP_CipherUpdate(self->ctx, out, &outl, in, (int)len) != 1 || (size_t)outl != len)
        return owp_crypto_error(err, "AES-128-CBC update");
    return OWP_OK;
}

void owp_cbc_destroy(owp_cbc **self_p)
{
    if (!self_p || !*self_p)
        return;
    EVP_CIPHER_CTX_free((*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}
