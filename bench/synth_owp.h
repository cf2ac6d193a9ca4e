/*
 * synth_owp.h - synthetic .owp sessions for the benchmarks: n packets sent
 * every `interval` s from `start`, one-way delays drawn from a log-normal
 * around 3 ms (what a WAN path looks like), optionally with the faults the
 * statistics must cope with (2 % lost, 0.5 % reordered, 0.5 % duplicated).
 * The same seed gives the same file; different seeds give different SIDs.
 */
#ifndef BENCH_SYNTH_OWP_H
#define BENCH_SYNTH_OWP_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "timestamp.h"

/* A xorshift step: cheap, reproducible pseudo-random numbers. */
uint32_t synth_rnd(uint32_t *state);

/* The session as an unlinked temporary file, flushed, positioned anywhere. */
FILE *synth_owp_file(uint32_t n, owp_num64 start, double interval, uint32_t seed, int faults,
                     owp_err *err);

/* The whole of fp in a malloc'd buffer (NULL on error). */
uint8_t *synth_slurp(FILE *fp, size_t *len);

#endif
