/* fuzz_testpkt.c - OWAMP-Test packet decoding in open, authenticated and encrypted mode. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testpkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static owp_testcrypt *auth, *enc;
    static const uint8_t aes_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t hmac_key[32] = {42};
    if (!auth) {
        auth = owp_testcrypt_new(OWP_MODE_AUTH, aes_key, hmac_key, NULL);
        enc = owp_testcrypt_new(OWP_MODE_ENCRYPTED, aes_key, hmac_key, NULL);
    }

    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    uint32_t seq;
    owp_num64 ts;
    uint16_t errest;

    memcpy(buf, data, size);
    owp_testpkt_open(NULL, OWP_MODE_OPEN, buf, size, &seq, &ts, &errest, NULL);
    memcpy(buf, data, size);
    owp_testpkt_open(auth, OWP_MODE_AUTH, buf, size, &seq, &ts, &errest, NULL);
    memcpy(buf, data, size);
    owp_testpkt_open(enc, OWP_MODE_ENCRYPTED, buf, size, &seq, &ts, &errest, NULL);
    free(buf);
    return 0;
}
