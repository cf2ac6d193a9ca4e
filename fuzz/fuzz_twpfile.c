/* fuzz_twpfile.c - the two-way file reader (twpfile.h) against arbitrary
 * file contents, and the statistics over whatever records it accepts (the
 * duplicate, loss and conflict rules of twstats.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "owpfile.h"
#include "twpfile.h"
#include "twstats.h"

static void summarise(owp_file *f)
{
    owp_tw_record *rec = NULL;
    uint32_t n = 0;
    if (owp_twp_read_records(f, 0, &rec, &n, NULL) != OWP_OK)
        return;
    const owp_request *req = owp_file_request(f);
    owp_tw_range range = {.first = 0, .last = req ? req->npackets : UINT32_MAX};
    owp_tw_stats s;
    if (owp_tw_stats_compute(rec, n, &range, 0, &s, NULL) == OWP_OK)
        owp_tw_stats_clear(&s);
    free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp)
        return 0;
    owp_file *f = owp_file_read_any(fp, "fuzz.twp", NULL);
    if (f) {
        summarise(f);
        owp_file_destroy(&f);
    }
    fclose(fp);
    return 0;
}
