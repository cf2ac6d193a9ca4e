/* fuzz_meshmsg_file_list.c - the FileList a node answers a collector with:
 * arbitrary bytes as the body of an envelope through owm_msg_decode(), which
 * converts what protobuf-c unpacks and applies owm_msg_validate_file_list() to it. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_meshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_meshmsg_body(OWM_MSG_FILE_LIST, data, size);
    return 0;
}
