/* fuzz_meshmsg_status.c - the Status (heartbeat) a node reports:
 * owm_msg_validate_status() on whatever protobuf-c unpacks from arbitrary bytes,
 * and the same bytes as the body of an envelope through owm_msg_decode(). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Owmesh__Status *m = owmesh__status__unpack(NULL, size, data);
    if (m) {
        owm_msg_validate_status(m, NULL);
        owmesh__status__free_unpacked(m, NULL);
    }
    fuzz_meshmsg_body(OWMESH__ENVELOPE__BODY_STATUS, data, size);
    return 0;
}
