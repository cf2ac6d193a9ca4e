/* fuzz_meshmsg_envelope.c - the mesh message decoder (version peek, size
 * limit, unpack, every validator) against arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t version, minor;
    owm_msg_peek_version(data, size, &version, &minor, NULL);
    fuzz_meshmsg_check(data, size);
    return 0;
}
