/* fuzz_meshmsg_directory.c - the node Directory that collectors read:
 * owm_msg_validate_directory() on whatever protobuf-c unpacks from arbitrary bytes,
 * and the same bytes as the body of an envelope through owm_msg_decode(). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Owmesh__Directory *m = owmesh__directory__unpack(NULL, size, data);
    if (m) {
        owm_msg_validate_directory(m, NULL);
        owmesh__directory__free_unpacked(m, NULL);
    }
    fuzz_meshmsg_body(OWMESH__ENVELOPE__BODY_DIRECTORY, data, size);
    return 0;
}
