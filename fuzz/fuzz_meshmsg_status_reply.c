/* fuzz_meshmsg_status_reply.c - the StatusReply that owmesh status reads:
 * owm_msg_validate_status_reply() on whatever protobuf-c unpacks from arbitrary bytes,
 * and the same bytes as the body of an envelope through owm_msg_decode(). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Owmesh__StatusReply *m = owmesh__status_reply__unpack(NULL, size, data);
    if (m) {
        owm_msg_validate_status_reply(m, NULL);
        owmesh__status_reply__free_unpacked(m, NULL);
    }
    fuzz_meshmsg_body(OWMESH__ENVELOPE__BODY_STATUS_REPLY, data, size);
    return 0;
}
