/*
 * clock.h - this host's clock as OWAMP sees it.
 *
 * One module owns the process's view of the clock: the OWAMP_DEBUG_TIMEOFFSET
 * offset, and the kernel's NTP state (ntp_adjtime: STA_UNSYNC, maxerror,
 * STA_NANO). Under chrony, OpenNTPD or no time daemon at all the clock still
 * works; timestamps are then marked unsynchronized (S bit clear) and one
 * plain-words warning is available for programs to print once.
 */
#ifndef OWP_CLOCK_H
#define OWP_CLOCK_H

#include "error.h"
#include "timestamp.h"

/* Read OWAMP_DEBUG_TIMEOFFSET and the kernel clock state. Fails only when the
 * environment variable is unparsable ("Invalid OWAMP_DEBUG_TIMEOFFSET env var: X").
 * Safe to call again (re-reads the state). */
owp_status owp_clock_init(owp_err *err);

/* Current time (NTP 32.32, with the debug offset applied) and its error estimate. */
owp_num64 owp_clock_now(uint16_t *errest);

/* Convert a kernel timestamp (CLOCK_REALTIME timespec, e.g. SO_TIMESTAMPNS)
 * to OWAMP time, applying the debug offset; *errest as for owp_clock_now. */
owp_num64 owp_clock_from_kernel(const struct timespec *ts, uint16_t *errest);

/* Error estimate for timestamps taken now (cheap: cached, refreshed at most once a second). */
uint16_t owp_clock_errest(void);

int owp_clock_synchronized(void);

/* The estimate for a given kernel NTP state (timex.status, esterror and
 * maxerror in microseconds): 0x0001 when STA_UNSYNC is set, otherwise S = 1
 * and esterror + maxerror (at least 1 us). STA_NANO does not matter.
 * owp_clock_errest uses it on the live state; exposed so it can be tested. */
uint16_t owp_clock_errest_for_state(int status, long esterror, long maxerror);

/* NULL when synchronized; otherwise a one-line explanation for the operator
 * ("clock is not synchronized (no NTP daemon reports sync): timestamps are marked unsynchronized"). */
const char *owp_clock_warning(void);

/* Seconds on CLOCK_MONOTONIC: for timeouts and intervals, which must not jump
 * when the wall clock is stepped. */
double owp_clock_monotonic(void);

#endif
