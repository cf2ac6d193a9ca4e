/* fuzz_conf.c - the owamp-server.conf parser against arbitrary text. */
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "fuzz_textfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(data, size);
    if (!path)
        return 0;
    owp_server_conf conf;
    owp_server_conf_default(&conf);
    owp_server_conf_load(&conf, path, NULL);
    return 0;
}
