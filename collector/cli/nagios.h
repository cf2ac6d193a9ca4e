/*
 * nagios.h - the Nagios/Icinga plugin conventions `owmesh status` and
 * `owmesh completeness` follow, so that either can be a service check as it
 * is (Nagios Plugin Development Guidelines, "Plugin Return Codes" and
 * "Performance data"):
 *   exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the coordinator or
 *   the store could not be asked, or the command line is wrong);
 *   with --nagios one line on stdout:
 *     OWMESH STATUS OK - 12 of 12 nodes up, 132 of 132 streams ok | nodes_up=12;;;0;12 ...
 * Thresholds count bad things (missing nodes, problem streams, stale or
 * missing paths): a number ("3") or a share of the total ("25%"); a count at
 * or above the warning threshold is WARNING, at or above the critical one
 * CRITICAL. Pure functions: unit-tested (tests/unit/check_nagios.c).
 */
#ifndef OWMESH_NAGIOS_H
#define OWMESH_NAGIOS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

typedef enum owmesh_nagios_state {
    OWMESH_NAGIOS_OK = 0,
    OWMESH_NAGIOS_WARNING = 1,
    OWMESH_NAGIOS_CRITICAL = 2,
    OWMESH_NAGIOS_UNKNOWN = 3
} owmesh_nagios_state;

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *owmesh_nagios_name(owmesh_nagios_state state);
/* The worse of two states (UNKNOWN worst, then CRITICAL, WARNING, OK). */
owmesh_nagios_state owmesh_nagios_worse(owmesh_nagios_state a, owmesh_nagios_state b);

typedef struct owmesh_threshold {
    double value; /* a count >= 1, or a percentage in (0, 100] */
    int percent;
} owmesh_threshold;

/* "3" or "25%"; what names the option in the error. */
owp_status owmesh_threshold_parse(const char *text, const char *what, owmesh_threshold *t,
                                  owp_err *err);
/* The smallest count of bad things out of total that reaches t (at least
 * 1: zero bad things are never a problem). */
uint64_t owmesh_threshold_count(const owmesh_threshold *t, uint64_t total);
/* CRITICAL when bad reaches crit, WARNING when it reaches warn, else OK. */
owmesh_nagios_state owmesh_nagios_judge(uint64_t bad, uint64_t total, const owmesh_threshold *warn,
                                        const owmesh_threshold *crit);

/* Append one performance datum "label=value[uom];warn;crit;min;max" (with a
 * blank before it unless buf is empty). warn and crit are the alert counts
 * (owmesh_threshold_count) written as Nagios ranges ("N": alert above N, so
 * count - 1), or 0 for none; max < 0 for none. */
void owmesh_perf_append(char *buf, size_t len, const char *label, double value, const char *uom,
                        uint64_t warn, uint64_t crit, double max);

/* "OWMESH SERVICE STATE - summary | perf" and a newline; no " | " when perf
 * is NULL or empty. */
void owmesh_nagios_print(FILE *fp, const char *service, owmesh_nagios_state state,
                         const char *summary, const char *perf);

#endif
