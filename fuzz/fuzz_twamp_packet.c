/* fuzz_twamp_packet.c - TWAMP's parsers (twamp_wire.h): Request-TW-Session,
 * and sender and reflected TWAMP-Test packets in open, authenticated and
 * encrypted mode - what a twampd reflector and twping read from the network. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "twamp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static owp_tw_crypt *auth, *enc;
    static const uint8_t aes_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t hmac_key[32] = {42};
    if (!auth) {
        auth = owp_tw_crypt_new(OWP_MODE_AUTH, aes_key, hmac_key, NULL);
        enc = owp_tw_crypt_new(OWP_MODE_ENCRYPTED, aes_key, hmac_key, NULL);
    }
    if (size >= OWP_TW_REQUEST_LEN) {
        owp_request r;
        owp_tw_request_verdict v;
        owp_tw_decode_request(data, &r, &v, NULL);
    }
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    owp_tw_reflected m;
    uint32_t seq;
    owp_num64 ts;
    uint16_t er;
    const owp_mode modes[3] = {OWP_MODE_OPEN, OWP_MODE_AUTH, OWP_MODE_ENCRYPTED};
    owp_tw_crypt *tcs[3] = {NULL, auth, enc};
    for (int i = 0; i < 3; i++) {
        memcpy(buf, data, size);
        owp_tw_reflect_open(tcs[i], modes[i], buf, size, &m, NULL);
        memcpy(buf, data, size);
        owp_tw_sender_open(tcs[i], modes[i], buf, size, &seq, &ts, &er, NULL);
    }
    free(buf);
    return 0;
}
