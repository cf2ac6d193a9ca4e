/* fuzz_meshmsg_schedule.c - the Schedule a coordinator pushes to a node:
 * arbitrary bytes as the body of an envelope through owm_msg_decode(), which
 * converts what protobuf-c unpacks and applies owm_msg_validate_schedule() to it. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_meshmsg_body(OWM_MSG_SCHEDULE, data, size);
    return 0;
}
