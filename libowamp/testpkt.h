/*
 * testpkt.h - OWAMP-Test packets (RFC 4656 section 4.1.2) in the three modes.
 *
 *   open:  seq(4) timestamp(8) errest(2) padding            >= 14 bytes
 *   A, E:  seq(4) MBZ(12) timestamp(8) errest(2) MBZ(6) HMAC(16) padding  >= 48 bytes
 * A encrypts bytes 0-15 with AES-ECB and HMACs plaintext 0-15; E encrypts
 * 0-31 with AES-CBC (IV 0) and HMACs plaintext 0-31. Padding is random, clear.
 *
 * Sending is split in two so the timestamp is taken as late as possible:
 * owp_testpkt_prepare() fills everything but the time (and the padding);
 * owp_testpkt_seal() writes the timestamp and does the per-packet crypto.
 */
#ifndef OWP_TESTPKT_H
#define OWP_TESTPKT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

#define OWP_TESTPKT_OPEN_MIN 14
#define OWP_TESTPKT_AUTH_MIN 48
#define OWP_TESTPKT_MAX (OWP_TESTPKT_AUTH_MIN + 65535)

size_t owp_testpkt_size(owp_mode mode, uint32_t padding);

/* Crypto context of one test session (NULL for open mode). Keys are the
 * per-session test keys from owp_test_session_keys(). */
typedef struct owp_testcrypt owp_testcrypt;
owp_testcrypt *owp_testcrypt_new(owp_mode mode, const uint8_t test_aes_key[16],
                                 const uint8_t test_hmac_key[32], owp_err *err);
void owp_testcrypt_destroy(owp_testcrypt **self_p);

/* Fill seq, MBZ fields and random padding into buf (len = owp_testpkt_size()). */
owp_status owp_testpkt_prepare(owp_mode mode, uint32_t seq, uint8_t *buf, size_t len,
                               owp_err *err);

/* Write timestamp + error estimate, then encrypt and HMAC (A/E). tc is NULL in open mode. */
owp_status owp_testpkt_seal(owp_testcrypt *tc, owp_mode mode, owp_num64 timestamp,
                            uint16_t errest, uint8_t *buf, size_t len, owp_err *err);

/* Decode a received packet: checks length (>= the mode's minimum), decrypts,
 * verifies the HMAC (OWP_ERR_PROTO on mismatch). buf is modified in place. */
owp_status owp_testpkt_open(owp_testcrypt *tc, owp_mode mode, uint8_t *buf, size_t len,
                            uint32_t *seq, owp_num64 *timestamp, uint16_t *errest, owp_err *err);

#endif
