/* fuzz_pfs.c - the pass-phrase file loader against arbitrary text. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_textfile.h"
#include "pfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(data, size);
    if (!path)
        return 0;
    owp_pfs *pfs = owp_pfs_load(path, NULL);
    if (pfs) {
        size_t len;
        owp_pfs_lookup(pfs, "alice", &len);
        owp_pfs_destroy(&pfs);
    }
    return 0;
}
