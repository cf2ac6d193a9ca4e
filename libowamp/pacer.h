/*
 * pacer.h - waiting for the instant a test packet is due (RFC 4656 section
 * 4.1.1: packets leave on their schedule), on time and without starving the
 * machine. The test sender (endpoint_send.c) is its one user.
 *
 * The pacer sleeps until a margin before the due instant, then spins the
 * last stretch, learning the margin from how late its wake-ups are. It
 * stops spinning (sleeping right up to the due time instead) while the
 * machine has more runnable threads than this thread may use CPUs, and for
 * a while once most wake-ups come later than any margin could hide.
 *
 * Contract:
 *   - One pacer per sending thread: create, use and destroy it on that
 *     thread. While it exists the thread's timer slack is 1 ns (so a sleep
 *     wakes on time); owp_pacer_destroy() restores the previous slack.
 *   - owp_pacer_wait_until() never returns 0 before `due` (OWAMP time, the
 *     clock of clock.h); how late it returns is the sleep's wake-up latency
 *     at worst, a few microseconds of spinning at best.
 *   - *stop (may be NULL) is looked at least every stop_poll_ns.
 *   - The platform is hidden here: Linux's timer slack (prctl), the
 *     runnable-thread count of /proc/loadavg, the CPU affinity mask, the
 *     CPU's spin-wait hint. Where /proc/loadavg cannot be read the machine
 *     never counts as loaded.
 */
#ifndef OWP_PACER_H
#define OWP_PACER_H

#include <stdatomic.h>
#include <stdint.h>

#include "error.h"
#include "timestamp.h"

typedef struct owp_pacer owp_pacer;

/* NULL (OWP_ERR_NOMEM in err) when out of memory. */
owp_pacer *owp_pacer_new(uint64_t stop_poll_ns, owp_err *err);
void owp_pacer_destroy(owp_pacer **self_p);

/* Wait until OWAMP time due. Returns 0 then, or 1 as soon as *stop is seen
 * non-zero (the due time may not have come). */
int owp_pacer_wait_until(owp_pacer *self, owp_num64 due, atomic_int *stop);

#endif
