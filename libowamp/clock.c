/*
 * clock.c - this host's clock as OWAMP sees it.
 *
 * Two pieces of process-wide state, both atomics because senders and
 * receivers read them from their own threads:
 *   - the OWAMP_DEBUG_TIMEOFFSET offset (set by owp_clock_init);
 *   - a snapshot of the kernel's NTP state as an encoded error estimate,
 *     refreshed at most once per second.
 *
 * Kernel state comes from a read-only ntp_adjtime() (modes = 0), which works
 * unprivileged. STA_UNSYNC decides the S bit; STA_NANO is ignored because the
 * time itself comes from clock_gettime(CLOCK_REALTIME) and maxerror/esterror
 * are microseconds in either mode. Where the call fails (seccomp, EPERM in a
 * container, no timex support) the clock counts as unsynchronized: time
 * still flows, it is only marked as such.
 *
 * Error estimate when synchronized: esterror + maxerror (microseconds), at
 * least 1. The reference uses esterror alone, which under chrony and ntpd is
 * often far smaller than the real bound; adding maxerror (the kernel's bound
 * on the offset, growing 500 ppm/s between updates) keeps the estimate
 * conservative, so receivers never trust a delay more than the clock allows.
 * When unsynchronized the estimate is 0x0001 (S = 0, scale 0, multiplier 1),
 * bit-identical to the reference.
 *
 * Deliberate difference: the reference adds the kernel's pending phase
 * offset (timex.offset) to synchronized readings. Modern kernels slew that
 * offset into CLOCK_REALTIME themselves; adding it again would count it
 * twice, so it is not done here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CLOCK_MONOTONIC_COARSE */
#endif
#include "clock.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000LL
#define NSEC_PER_USEC 1000LL
#define USEC_PER_SEC 1000000.0
/* Offsets of a whole NTP era or more make no sense and would overflow. */
#define MAX_OFFSET_SEC 4294967296.0

/* Debug offset in nanoseconds (a whole number of microseconds, truncated
 * like the reference's struct timeval offset). */
static _Atomic int64_t clock_offset_nsec;

/* (monotonic second + 1) << 16 | errest; 0 = kernel never read. One word so a
 * reader sees a consistent pair without a lock. */
static _Atomic uint64_t kernel_snapshot;
#define SNAPSHOT_ERREST_BITS 16

/* errno of the last failed ntp_adjtime(), 0 when the last call worked. */
static _Atomic int kernel_query_errno;

/* ---------------------------------------------------------------- kernel state */

static uint32_t saturate_usec(long esterror, long maxerror)
{
    uint64_t sum = (uint64_t)(esterror > 0 ? esterror : 0) + (uint64_t)(maxerror > 0 ? maxerror : 0);
    if (sum > UINT32_MAX)
        sum = UINT32_MAX;
    /* The reference never claims perfection for a synchronized clock. */
    return sum ? (uint32_t)sum : 1;
}

uint16_t owp_clock_errest_for_state(int status, long esterror, long maxerror)
{
    if (status & STA_UNSYNC)
        return OWP_ERREST_UNSYNC;
    return owp_errest_from_usec(1, saturate_usec(esterror, maxerror));
}

/* Read the kernel's NTP state and encode it; never fails. */
static uint16_t kernel_errest(void)
{
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = 0; /* query only: never adjusts the clock */
    if (ntp_adjtime(&tx) == -1) {
        atomic_store(&kernel_query_errno, errno ? errno : EINVAL);
        return OWP_ERREST_UNSYNC;
    }
    atomic_store(&kernel_query_errno, 0);
    return owp_clock_errest_for_state(tx.status, tx.esterror, tx.maxerror);
}

static uint64_t monotonic_second(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (uint64_t)ts.tv_sec;
#endif
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (uint64_t)ts.tv_sec;
    return 0;
}

static uint64_t snapshot_make(uint64_t stamp, uint16_t errest)
{
    return stamp << SNAPSHOT_ERREST_BITS | errest;
}

static void kernel_refresh(void)
{
    uint64_t stamp = monotonic_second() + 1;
    uint16_t errest = kernel_errest();
    atomic_store(&kernel_snapshot, snapshot_make(stamp, errest));
}

uint16_t owp_clock_errest(void)
{
    uint64_t stamp = monotonic_second() + 1;
    uint64_t snap = atomic_load_explicit(&kernel_snapshot, memory_order_acquire);
    if (snap != 0 && snap >> SNAPSHOT_ERREST_BITS == stamp)
        return (uint16_t)snap;

    /* Stale: one caller claims the refresh by stamping the old value with the
     * new second; callers that lose the race use the previous value, which is
     * at most a second old. The very first read has nothing to fall back on,
     * so every first caller asks the kernel. */
    if (snap != 0) {
        uint64_t claimed = snapshot_make(stamp, (uint16_t)snap);
        if (!atomic_compare_exchange_strong(&kernel_snapshot, &snap, claimed))
            return (uint16_t)snap;
    }
    uint16_t errest = kernel_errest();
    atomic_store_explicit(&kernel_snapshot, snapshot_make(stamp, errest), memory_order_release);
    return errest;
}

int owp_clock_synchronized(void)
{
    return owp_errest_synchronized(owp_clock_errest());
}

const char *owp_clock_warning(void)
{
    if (owp_clock_synchronized())
        return NULL;
    if (atomic_load(&kernel_query_errno) != 0)
        return "cannot read the kernel clock state (ntp_adjtime failed): "
               "timestamps are marked unsynchronized";
    return "clock is not synchronized (no NTP daemon reports sync): "
           "timestamps are marked unsynchronized";
}

/* ---------------------------------------------------------------- debug offset */

/* Parse the whole string as one finite float; anything else is rejected. */
static int parse_offset(const char *text, int64_t *offset_nsec)
{
    char *end = NULL;
    errno = 0;
    double seconds = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(seconds) ||
        fabs(seconds) >= MAX_OFFSET_SEC)
        return -1;

    /* The reference keeps whole seconds and truncated microseconds. */
    double magnitude = fabs(seconds);
    double whole = trunc(magnitude);
    double usec = trunc((magnitude - whole) * USEC_PER_SEC);
    int64_t nsec = (int64_t)whole * NSEC_PER_SEC + (int64_t)usec * NSEC_PER_USEC;
    *offset_nsec = seconds < 0 ? -nsec : nsec;
    return 0;
}

owp_status owp_clock_init(owp_err *err)
{
    kernel_refresh();

    const char *text = getenv("OWAMP_DEBUG_TIMEOFFSET");
    int64_t offset = 0;
    if (text && parse_offset(text, &offset) != 0)
        return owp_err_set(err, OWP_ERR_PARSE, "Invalid OWAMP_DEBUG_TIMEOFFSET env var: %s", text);
    atomic_store(&clock_offset_nsec, offset);
    return OWP_OK;
}

/* ---------------------------------------------------------------- readings */

static struct timespec apply_offset(const struct timespec *ts)
{
    int64_t offset = atomic_load_explicit(&clock_offset_nsec, memory_order_relaxed);
    int64_t sec = (int64_t)ts->tv_sec + offset / NSEC_PER_SEC;
    int64_t nsec = (int64_t)ts->tv_nsec + offset % NSEC_PER_SEC;
    sec += nsec / NSEC_PER_SEC;
    nsec %= NSEC_PER_SEC;
    if (nsec < 0) {
        nsec += NSEC_PER_SEC;
        sec -= 1;
    }
    struct timespec out = { .tv_sec = (time_t)sec, .tv_nsec = (long)nsec };
    return out;
}

owp_num64 owp_clock_from_kernel(const struct timespec *ts, uint16_t *errest)
{
    struct timespec adjusted = apply_offset(ts);
    if (errest)
        *errest = owp_clock_errest();
    return owp_ntp_from_timespec(&adjusted);
}

owp_num64 owp_clock_now(uint16_t *errest)
{
    struct timespec ts;
    /* CLOCK_REALTIME cannot fail with a valid pointer; a zero time would
     * still be a well-defined (and visibly wrong) value. */
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        memset(&ts, 0, sizeof ts);
    return owp_clock_from_kernel(&ts, errest);
}

double owp_clock_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
