/* fuzz_owpfile.c - the .owp reader against arbitrary file contents. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "owpfile.h"

static int count_record(const owp_record *r, void *arg)
{
    (*(uint64_t *)arg) += r->seq;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp)
        return 0;
    owp_file *f = owp_file_read(fp, "fuzz.owp", NULL);
    if (f) {
        uint64_t sum = 0;
        owp_file_each_record(f, 0, count_record, &sum, NULL);
        owp_file_destroy(&f);
    }
    fclose(fp);
    return 0;
}
