/* fuzz_meshmsg_schedule.c - the Schedule a coordinator pushes to a node:
 * owm_msg_validate_schedule() on whatever protobuf-c unpacks from arbitrary bytes,
 * and the same bytes as the body of an envelope through owm_msg_decode(). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Owmesh__Schedule *m = owmesh__schedule__unpack(NULL, size, data);
    if (m) {
        owm_msg_validate_schedule(m, NULL);
        owmesh__schedule__free_unpacked(m, NULL);
    }
    fuzz_meshmsg_body(OWMESH__ENVELOPE__BODY_SCHEDULE, data, size);
    return 0;
}
