/*
 * owp_synth.c - write synthetic .owp sessions (bench/synth_owp.c) to files,
 * back to back, for the tests and benchmarks that need more data than the
 * reference's vectors hold (days of records, histograms at every level):
 *
 *   owp_synth DIR FILES PACKETS INTERVAL START SEED [faults]
 *
 * writes DIR/synth-SEED-I.owp for I = 0 .. FILES-1: session I starts at
 * START + I x PACKETS x INTERVAL (START in Unix seconds), PACKETS packets
 * INTERVAL seconds apart; "faults" adds loss, reordering and duplicates.
 * The same arguments give the same files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_owp.h"
#include "timestamp.h"

static int usage(void)
{
    fprintf(stderr, "usage: owp_synth DIR FILES PACKETS INTERVAL START SEED [faults]\n");
    return 2;
}

static int copy_out(FILE *in, const char *path)
{
    size_t len;
    uint8_t *buf = synth_slurp(in, &len);
    FILE *out = buf ? fopen(path, "wb") : NULL;
    int ok = out && fwrite(buf, 1, len, out) == len;
    if (out && fclose(out) != 0)
        ok = 0;
    free(buf);
    if (!ok)
        fprintf(stderr, "owp_synth: %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8)
        return usage();
    unsigned long files = strtoul(argv[2], NULL, 10), packets = strtoul(argv[3], NULL, 10);
    double interval = strtod(argv[4], NULL);
    unsigned long long start_unix = strtoull(argv[5], NULL, 10);
    unsigned long seed = strtoul(argv[6], NULL, 10);
    int faults = argc == 8 && !strcmp(argv[7], "faults");
    if (!files || !packets || packets > UINT32_MAX || !(interval > 0) || !start_unix ||
        (argc == 8 && !faults))
        return usage();
    owp_num64 start = (owp_num64)(start_unix + OWP_NTP_UNIX_OFFSET) << 32;
    owp_num64 step = owp_num64_from_double((double)packets * interval);
    for (unsigned long i = 0; i < files; i++) {
        owp_err err = {0};
        FILE *fp = synth_owp_file((uint32_t)packets, start + i * step, interval,
                                  (uint32_t)(seed * 100003u + i), faults, &err);
        if (!fp) {
            fprintf(stderr, "owp_synth: %s\n", err.msg);
            return 1;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/synth-%lu-%lu.owp", argv[1], seed, i);
        int rc = copy_out(fp, path);
        fclose(fp);
        if (rc)
            return 1;
    }
    return 0;
}
