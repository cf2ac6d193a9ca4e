/* fuzz_meshmsg.h - shared checks of the mesh message fuzz targets.
 *
 * fuzz_meshmsg_check(): decode arbitrary bytes as an envelope; whatever is
 * accepted must encode again (it passed the same rules) and decode to the
 * same bytes; whatever is refused must come with an error message and a
 * valid Error reply. Any broken invariant aborts, which libFuzzer reports. */
#ifndef FUZZ_MESHMSG_H
#define FUZZ_MESHMSG_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshmsg.h"

static inline void fuzz_meshmsg_reencode(const owm_msg *env)
{
    uint8_t *buf, *again;
    size_t len, again_len;
    if (owm_msg_encode(env, &buf, &len, NULL) != OWP_OK)
        abort();
    owm_msg *back = NULL;
    if (owm_msg_decode(buf, len, &back, NULL, NULL) != OWP_OK)
        abort();
    if (owm_msg_encode(back, &again, &again_len, NULL) != OWP_OK)
        abort();
    if (again_len != len || memcmp(buf, again, len) != 0)
        abort();
    free(again);
    free(buf);
    owm_msg_free(&back);
}

static inline void fuzz_meshmsg_check(const uint8_t *data, size_t size)
{
    owm_msg *env = NULL;
    owm_error_code why = OWM_ERROR_UNSPECIFIED;
    owp_err err;
    owp_err_clear(&err);
    if (owm_msg_decode(data, size, &env, &why, &err) == OWP_OK) {
        fuzz_meshmsg_reencode(env);
        owm_msg_free(&env);
        return;
    }
    if (env || !err.msg[0] || why == OWM_ERROR_UNSPECIFIED)
        abort();
    owm_msg *reply = owm_msg_new_error(why, err.msg, NULL);
    if (!reply || owm_msg_validate(reply, NULL) != OWP_OK)
        abort();
    owm_msg_free(&reply);
}

/* The bytes as the body of an envelope: version 1, field `kind`, length-delimited. */
static inline void fuzz_meshmsg_body(owm_msg_kind kind, const uint8_t *data, size_t size)
{
    if (size > OWM_MSG_MAX_SIZE - 32)
        return;
    uint8_t *buf = malloc(size + 32);
    if (!buf)
        return;
    size_t n = 0;
    buf[n++] = 0x08; /* field 1, varint */
    buf[n++] = OWM_MSG_VERSION;
    uint64_t key = ((uint64_t)kind << 3) | 2;
    for (; key >= 0x80; key >>= 7)
        buf[n++] = (uint8_t)(key | 0x80);
    buf[n++] = (uint8_t)key;
    uint64_t len = size;
    for (; len >= 0x80; len >>= 7)
        buf[n++] = (uint8_t)(len | 0x80);
    buf[n++] = (uint8_t)len;
    memcpy(buf + n, data, size);
    fuzz_meshmsg_check(buf, n + size);
    free(buf);
}

#endif
