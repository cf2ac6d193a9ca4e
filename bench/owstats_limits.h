/*
 * owstats_limits.h - what bench_owstats sets its owstats figures against,
 * measured in the same run: the physical limit (reading a session file's
 * bytes, writing as many bytes as the output, formatting -R alone) and the
 * real owstats binary, a process per run. Every time is the best of
 * `repeats` runs, in seconds; negative when it could not be measured.
 */
#ifndef BENCH_OWSTATS_LIMITS_H
#define BENCH_OWSTATS_LIMITS_H

#include <stdint.h>
#include <stdio.h>

/* The file's size bytes into memory with one read() (the page cache's copy). */
double limit_read_file(const char *path, uint64_t size, int repeats);

/* n bytes to /dev/null with fwrite (the system calls, no copy). */
double limit_write_bytes(uint64_t n, int repeats);

/* owstats -R's formatting alone (fmt.h), of the file's records decoded
 * into memory first; *records: how many the file holds. At most 1 << 20
 * records are formatted, the time scaled to all of them. */
double limit_format_raw(const char *path, uint64_t *records, int repeats);

/* A FILE that only counts the bytes written to it (fclose it when done). */
FILE *counting_file(uint64_t *count);

/* PROG [OPTIONS...] FILE as its own process, stdout and stderr to
 * /dev/null; options is a NULL-terminated list. */
double time_binary(const char *prog, const char *const *options, const char *file, int repeats);

/* The 1-minute load average (-1 when unknown). */
double load_average(void);

#endif
