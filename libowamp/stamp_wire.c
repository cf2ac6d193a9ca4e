/*
 * stamp_wire.c - STAMP base packets and their HMAC (stamp_wire.h, RFC 8762
 * 4.2 and 4.3, RFC 8972 section 3). The reflected layouts are placed by
 * twamp_wire.c's layout code, which TWAMP and STAMP share.
 */
#include "stamp_wire.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "bytes.h"
#include "crypto.h"
#include "pfs.h"
#include "twamp_wire.h"

#define SHA256_LEN 32

/* Offsets the shared reflected layouts leave to STAMP, and the sender's. */
enum {
    OPEN_SSID = 14, AUTH_SSID = 26,
    SENDER_OPEN_TS = 4, SENDER_AUTH_TS = 16,
};

int owp_stamp_mode_valid(owp_mode mode) { return mode == OWP_MODE_OPEN || mode == OWP_MODE_AUTH; }

size_t owp_stamp_base_len(owp_mode mode)
{
    return mode == OWP_MODE_AUTH ? OWP_STAMP_AUTH_LEN : OWP_STAMP_OPEN_LEN;
}

static owp_status check_mode(owp_mode mode, const char *what, owp_err *err)
{
    if (!owp_stamp_mode_valid(mode))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "%s: mode %d is neither unauthenticated nor authenticated", what,
                           (int)mode);
    return OWP_OK;
}

/* ------------------------------------------------------------ the key */

struct owp_stamp_key {
    EVP_MAC_CTX *ctx; /* keyed once; restarted for every HMAC */
};

owp_stamp_key *owp_stamp_key_new(const uint8_t *key, size_t len, owp_err *err)
{
    if (!key || len == 0 || len > OWP_STAMP_KEY_MAX) {
        owp_err_set(err, OWP_ERR_INVALID, "STAMP key of %zu octets: 1 to %d expected", len,
                    OWP_STAMP_KEY_MAX);
        return NULL;
    }
    owp_stamp_key *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "STAMP key: out of memory");
        return NULL;
    }
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac)
        self->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!self->ctx || EVP_MAC_init(self->ctx, key, len, params) != 1) {
        owp_crypto_error(err, "HMAC-SHA-256 set-up");
        owp_stamp_key_destroy(&self);
    }
    return self;
}

owp_stamp_key *owp_stamp_key_load(const char *path, const char *identity, owp_err *err)
{
    if (!path || !identity || !*identity) {
        owp_err_set(err, OWP_ERR_INVALID, "STAMP key: a key file and an identity are needed");
        return NULL;
    }
    uint8_t key[OWP_STAMP_KEY_MAX];
    size_t len = 0;
    if (owp_pfs_find_in_file(path, identity, key, sizeof key, &len, err) != OWP_OK)
        return NULL;
    owp_stamp_key *self = owp_stamp_key_new(key, len, err);
    memset(key, 0, sizeof key);
    if (!self && err)
        owp_err_prefix(err, "%s, identity %s", path, identity);
    return self;
}

owp_stamp_key *owp_stamp_key_dup(const owp_stamp_key *key, owp_err *err)
{
    owp_stamp_key *self = key ? calloc(1, sizeof *self) : NULL;
    if (self)
        self->ctx = EVP_MAC_CTX_dup(key->ctx);
    if (!self || !self->ctx) {
        owp_crypto_error(err, "HMAC-SHA-256 copy");
        owp_stamp_key_destroy(&self);
    }
    return self;
}

void owp_stamp_key_destroy(owp_stamp_key **self_p)
{
    if (!self_p || !*self_p)
        return;
    EVP_MAC_CTX_free((*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}

owp_status owp_stamp_hmac(owp_stamp_key *key, const uint8_t *a, size_t alen, const uint8_t *b,
                          size_t blen, uint8_t out[OWP_STAMP_HMAC_LEN], owp_err *err)
{
    if (!key)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP HMAC: no key");
    uint8_t full[SHA256_LEN];
    size_t outl = 0;
    /* A NULL key restarts the HMAC with the key it was given. */
    if (EVP_MAC_init(key->ctx, NULL, 0, NULL) != 1 ||
        (alen && EVP_MAC_update(key->ctx, a, alen) != 1) ||
        (blen && EVP_MAC_update(key->ctx, b, blen) != 1) ||
        EVP_MAC_final(key->ctx, full, &outl, sizeof full) != 1 || outl != SHA256_LEN)
        return owp_crypto_error(err, "HMAC-SHA-256");
    memcpy(out, full, OWP_STAMP_HMAC_LEN);
    return OWP_OK;
}

/* The base's HMAC field: written (seal) or checked. */
static owp_status seal_base(owp_stamp_key *key, uint8_t *buf, owp_err *err)
{
    return owp_stamp_hmac(key, buf, OWP_STAMP_HMAC_AT, NULL, 0, buf + OWP_STAMP_HMAC_AT, err);
}

static owp_status check_base(owp_stamp_key *key, const uint8_t *buf, const char *what,
                             owp_err *err)
{
    uint8_t mac[OWP_STAMP_HMAC_LEN];
    owp_status st = owp_stamp_hmac(key, buf, OWP_STAMP_HMAC_AT, NULL, 0, mac, err);
    if (st != OWP_OK)
        return st;
    if (!owp_hmac_equal(mac, buf + OWP_STAMP_HMAC_AT))
        return owp_err_set(err, OWP_ERR_PROTO, "%s seq %u: bad HMAC", what, owp_get32(buf));
    return OWP_OK;
}

static owp_status need_key(owp_mode mode, const owp_stamp_key *key, const char *what,
                           owp_err *err)
{
    if (mode == OWP_MODE_AUTH && !key)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: authenticated mode needs a key", what);
    return OWP_OK;
}

/* ------------------------------------------------------------ sender packets */

owp_status owp_stamp_sender_encode(owp_mode mode, owp_stamp_key *key, const owp_stamp_sender *m,
                                   uint8_t *buf, size_t len, owp_err *err)
{
    owp_status st = check_mode(mode, "STAMP sender packet", err);
    if (st == OWP_OK)
        st = need_key(mode, key, "STAMP sender packet", err);
    if (st != OWP_OK)
        return st;
    size_t base = owp_stamp_base_len(mode);
    if (!buf || len < base)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP sender packet of %zu octets: at least %zu",
                           len, base);
    memset(buf, 0, base);
    size_t ts = mode == OWP_MODE_AUTH ? SENDER_AUTH_TS : SENDER_OPEN_TS;
    owp_put32(buf, m->seq);
    owp_put64(buf + ts, m->timestamp);
    owp_put16(buf + ts + 8, m->errest);
    owp_put16(buf + ts + 10, m->ssid);
    return mode == OWP_MODE_AUTH ? seal_base(key, buf, err) : OWP_OK;
}

owp_status owp_stamp_sender_decode(owp_mode mode, owp_stamp_key *key, const uint8_t *buf,
                                   size_t len, owp_stamp_sender *m, owp_err *err)
{
    owp_status st = check_mode(mode, "STAMP sender packet", err);
    if (st == OWP_OK)
        st = need_key(mode, key, "STAMP sender packet", err);
    if (st != OWP_OK)
        return st;
    size_t min = mode == OWP_MODE_AUTH ? OWP_STAMP_AUTH_LEN : OWP_STAMP_SENDER_MIN;
    if (!buf || len < min)
        return owp_err_set(err, OWP_ERR_FORMAT, "STAMP sender packet of %zu octets: at least %zu",
                           len, min);
    if (mode == OWP_MODE_AUTH && (st = check_base(key, buf, "STAMP sender packet", err)) != OWP_OK)
        return st;
    size_t ts = mode == OWP_MODE_AUTH ? SENDER_AUTH_TS : SENDER_OPEN_TS;
    memset(m, 0, sizeof *m);
    m->seq = owp_get32(buf);
    m->timestamp = owp_get64(buf + ts);
    m->errest = owp_get16(buf + ts + 8);
    if (len >= ts + 12)
        m->ssid = owp_get16(buf + ts + 10);
    return OWP_OK;
}

/* ------------------------------------------------------------ reflected packets */

size_t owp_stamp_reflected_min(owp_mode mode)
{
    return mode == OWP_MODE_AUTH ? OWP_STAMP_AUTH_LEN : OWP_STAMP_TWLIGHT_MIN;
}

owp_status owp_stamp_reflected_prepare(owp_mode mode, const owp_stamp_reflected *m,
                                       uint8_t *buf, size_t len, owp_err *err)
{
    owp_status st = check_mode(mode, "STAMP reflected packet", err);
    if (st != OWP_OK)
        return st;
    size_t min = owp_stamp_reflected_min(mode), base = owp_stamp_base_len(mode);
    if (!buf || len < min)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "STAMP reflected packet of %zu octets: at least %zu", len, min);
    owp_tw_reflected tw = {
        .seq = m->seq, .recv_time = m->recv_time, .sender_seq = m->sender_seq,
        .sender_time = m->sender_time, .sender_errest = m->sender_errest,
        .sender_ttl = m->sender_ttl,
    };
    if ((st = owp_tw_reflect_prepare(mode, &tw, buf, min, err)) != OWP_OK)
        return st;
    memset(buf + min, 0, (len < base ? len : base) - min); /* the open layout's last MBZ */
    owp_put16(buf + (mode == OWP_MODE_AUTH ? AUTH_SSID : OPEN_SSID), m->ssid);
    return OWP_OK;
}

owp_status owp_stamp_reflected_seal(owp_mode mode, owp_stamp_key *key, owp_num64 timestamp,
                                    uint16_t errest, uint8_t *buf, size_t len, owp_err *err)
{
    owp_status st = check_mode(mode, "STAMP reflected packet", err);
    if (st == OWP_OK)
        st = need_key(mode, key, "STAMP reflected packet", err);
    if (st != OWP_OK)
        return st;
    if (!buf || len < owp_stamp_reflected_min(mode))
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP reflected packet of %zu octets: too short",
                           len);
    owp_tw_reflect_set_time(mode, timestamp, errest, buf);
    return mode == OWP_MODE_AUTH ? seal_base(key, buf, err) : OWP_OK;
}

owp_status owp_stamp_reflected_decode(owp_mode mode, owp_stamp_key *key, const uint8_t *buf,
                                      size_t len, owp_stamp_reflected *m, owp_err *err)
{
    owp_status st = check_mode(mode, "STAMP reflected packet", err);
    if (st == OWP_OK)
        st = need_key(mode, key, "STAMP reflected packet", err);
    if (st != OWP_OK)
        return st;
    size_t base = owp_stamp_base_len(mode);
    if (!buf || len < base)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "STAMP reflected packet of %zu octets: at least %zu", len, base);
    if (mode == OWP_MODE_AUTH &&
        (st = check_base(key, buf, "STAMP reflected packet", err)) != OWP_OK)
        return st;
    owp_tw_reflected tw;
    owp_tw_reflect_fields(mode, buf, &tw);
    *m = (owp_stamp_reflected){
        .seq = tw.seq, .timestamp = tw.timestamp, .errest = tw.errest,
        .ssid = owp_get16(buf + (mode == OWP_MODE_AUTH ? AUTH_SSID : OPEN_SSID)),
        .recv_time = tw.recv_time, .sender_seq = tw.sender_seq, .sender_time = tw.sender_time,
        .sender_errest = tw.sender_errest, .sender_ttl = tw.sender_ttl,
    };
    return OWP_OK;
}
