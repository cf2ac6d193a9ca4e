/* fuzz_meshmsg_file_list.c - the FileList a node answers a collector with:
 * owm_msg_validate_file_list() on whatever protobuf-c unpacks from arbitrary bytes,
 * and the same bytes as the body of an envelope through owm_msg_decode(). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Owmesh__FileList *m = owmesh__file_list__unpack(NULL, size, data);
    if (m) {
        owm_msg_validate_file_list(m, NULL);
        owmesh__file_list__free_unpacked(m, NULL);
    }
    fuzz_meshmsg_body(OWMESH__ENVELOPE__BODY_FILE_LIST, data, size);
    return 0;
}
