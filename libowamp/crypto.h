/*
 * crypto.h - the cryptography of OWAMP's authenticated and encrypted modes
 * (RFC 4656 sections 3.1, 3.4, 4.1.2), on OpenSSL 3 EVP APIs only.
 *
 * Keys: PBKDF2-HMAC-SHA1 of the pass-phrase gives the 16-byte key that
 * encrypts the Set-Up-Response Token (Challenge || AES-Session-key(16) ||
 * HMAC-Session-key(32), AES-128-CBC, IV 0). Control messages are one
 * AES-128-CBC chain per direction; HMACs are HMAC-SHA1 truncated to 16 bytes.
 */
#ifndef OWP_CRYPTO_H
#define OWP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OWP_AES_KEY_LEN 16
#define OWP_HMAC_KEY_LEN 32
#define OWP_HMAC_LEN 16 /* truncated HMAC-SHA1 as carried on the wire */
#define OWP_BLOCK 16

/* Report an OpenSSL failure: OWP_ERR_CRYPTO with "WHAT failed: <OpenSSL
 * reason>", clearing OpenSSL's error queue. For modules built on EVP. */
owp_status owp_crypto_error(owp_err *err, const char *what);

owp_status owp_random_bytes(uint8_t *buf, size_t len, owp_err *err);

/* The largest PBKDF2 count we compute. The count comes from the
 * Server-Greeting, so a hostile server could otherwise pin a client's CPU
 * (2^31 - 1 iterations: about 8 minutes). The reference always sends 2048;
 * 2^20 is 512 times that and costs about 0.3-0.5 s. */
#define OWP_PBKDF2_COUNT_MAX (1u << 20)

/* count must be 1..OWP_PBKDF2_COUNT_MAX (else OWP_ERR_INVALID). */
owp_status owp_pbkdf2_key(const uint8_t *pass, size_t passlen, const uint8_t salt[16],
                          uint32_t count, uint8_t key[OWP_AES_KEY_LEN], owp_err *err);

owp_status owp_token_encrypt(const uint8_t key[16], const uint8_t challenge[16],
                             const uint8_t aes_key[16], const uint8_t hmac_key[32],
                             uint8_t token[64], owp_err *err);
owp_status owp_token_decrypt(const uint8_t key[16], const uint8_t token[64],
                             uint8_t challenge[16], uint8_t aes_key[16], uint8_t hmac_key[32],
                             owp_err *err);

/* One-shot truncated HMAC-SHA1. */
owp_status owp_hmac16(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                      uint8_t out[OWP_HMAC_LEN], owp_err *err);

/* Constant-time comparison of two HMAC fields: 1 when equal. */
int owp_hmac_equal(const uint8_t a[OWP_HMAC_LEN], const uint8_t b[OWP_HMAC_LEN]);

/* A running HMAC: update with every plaintext block; final writes the
 * truncated value and restarts the HMAC (OWAMP closes it at each HMAC field). */
typedef struct owp_hmac owp_hmac;
owp_hmac *owp_hmac_new(const uint8_t *key, size_t keylen, owp_err *err);
owp_status owp_hmac_update(owp_hmac *self, const uint8_t *data, size_t len, owp_err *err);
owp_status owp_hmac_final(owp_hmac *self, uint8_t out[OWP_HMAC_LEN], owp_err *err);
void owp_hmac_destroy(owp_hmac **self_p);

/* One direction of a control connection: an AES-128-CBC chain that continues
 * across messages (never reset). len must be a multiple of 16. */
typedef struct owp_cbc owp_cbc;
owp_cbc *owp_cbc_new(const uint8_t key[16], const uint8_t iv[16], int encrypt, owp_err *err);
owp_status owp_cbc_update(owp_cbc *self, const uint8_t *in, uint8_t *out, size_t len,
                          owp_err *err);
void owp_cbc_destroy(owp_cbc **self_p);

/* Per-session test keys (section 4.1.2): test AES key = AES-128-ECB(key=SID)
 * of the AES-Session-key; test HMAC key = AES-128-CBC(key=SID, IV=0) of the
 * 32-byte HMAC-Session-key. */
owp_status owp_test_session_keys(const uint8_t sid[16], const uint8_t aes_session_key[16],
                                 const uint8_t hmac_session_key[32], uint8_t test_aes_key[16],
                                 uint8_t test_hmac_key[32], owp_err *err);

#endif
