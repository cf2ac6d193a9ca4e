/*
 * pacer.c - the sender's adaptive sleep-then-spin wait (pacer.h), and the
 * Linux specifics it needs: timer slack, /proc/loadavg, CPU affinity.
 *
 * Timer wake-ups are late by the timer slack plus scheduling latency;
 * sleeping short of the target and spinning removes that lateness without
 * burning a core between packets.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "pacer.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* The pacer sleeps until a margin before a packet is due, then spins. With
 * the timer slack at 1 ns, wake-ups are typically 5-40 us late, with a tail
 * that grows with the machine's load. The margin follows what it sees: it
 * jumps to cover a late wake-up (plus a guard) and decays back slowly, within
 * [MIN, MAX]. Spinning costs about margin / interval of one core; MAX bounds
 * that cost when the lateness is preemption no margin could hide.
 *
 * Spinning only pays while a core would otherwise idle. On a loaded machine
 * it takes the CPU from the very processes it waits with: a thousand
 * senders on two cores would need more CPU for spinning than there is. So
 * the sender sleeps right up to the due time, without spinning:
 *   - while more threads are runnable than this thread may use CPUs (the
 *     running count of /proc/loadavg, read at most every LOAD_CHECK_NS);
 *   - for SPIN_BACKOFF_NS once wake-ups later than SPIN_MAX_NS become
 *     the rule (over half of the recent ones): this process is not
 *     getting a CPU when it asks, which no margin can hide. A single one is
 *     no sign of that: a virtual machine's idle jitter alone has a tail
 *     reaching milliseconds;
 *   - when the wake-up is already at or past the due time.
 * Its lateness is then the wake-up latency (tens of microseconds to a few
 * milliseconds under such load) instead of a starved machine's. */
#define SPIN_MIN_NS 30000ull
#define SPIN_START_NS 60000ull
#define SPIN_MAX_NS 300000ull
#define SPIN_GUARD_NS 15000ull
#define SPIN_DECAY_SHIFT 5 /* lose 1/32 of the excess over MIN per wake-up */
#define SPIN_BACKOFF_NS 1000000000ull
/* Share of recent wake-ups later than SPIN_MAX_NS, in 1/256: each wake-up
 * moves it 1/8 of the way towards 256 (late) or 0 (not late). */
#define LATE_SHARE_ONE 256u
#define LATE_SHARE_SHIFT 3
#define LATE_SHARE_BACKOFF (LATE_SHARE_ONE / 2)
#define LOAD_CHECK_NS 250000000ull

struct owp_pacer {
    uint64_t stop_poll_ns;     /* longest nap between looks at the stop flag */
    owp_num64 offset;          /* OWAMP time minus CLOCK_REALTIME */
    int old_slack;             /* the thread's timer slack before us (<= 0: unknown) */
    uint64_t margin_ns;        /* spin margin while spinning is allowed */
    owp_num64 backoff_until;   /* no spinning before this OWAMP time */
    unsigned late_share;       /* of recent wake-ups, in 1/LATE_SHARE_ONE */
    owp_num64 next_load_check; /* when to read /proc/loadavg again */
    int loaded;                /* last reading: more runnable threads than CPUs */
    int loadavg_fd;            /* /proc/loadavg, or -1 (then never "loaded") */
    int ncpus;                 /* CPUs this thread may run on */
};

/* t + ns, saturating at the largest OWAMP time. */
static owp_num64 after_ns(owp_num64 t, uint64_t ns)
{
    owp_num64 d = owp_num64_from_nsec(ns);
    return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* OWAMP time minus CLOCK_REALTIME (the OWAMP_DEBUG_TIMEOFFSET offset and
 * the NTP epoch), so an OWAMP instant can be slept to with clock_nanosleep.
 * Measured as two back-to-back reads; the spin absorbs the few ns of error. */
static owp_num64 owp_time_minus_realtime(void)
{
    uint16_t errest;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    owp_num64 now = owp_clock_now(&errest);
    return now - owp_ntp_from_timespec(&rt);
}

owp_pacer *owp_pacer_new(uint64_t stop_poll_ns, owp_err *err)
{
    owp_pacer *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "test sender: out of memory");
        return NULL;
    }
    self->stop_poll_ns = stop_poll_ns;
    /* The default 50 us timer slack would make every wake-up that late. */
    self->old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    self->margin_ns = SPIN_START_NS;
    self->loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    cpu_set_t set;
    self->ncpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (self->ncpus <= 0)
        self->ncpus = 1;
    self->offset = owp_time_minus_realtime();
    return self;
}

void owp_pacer_destroy(owp_pacer **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_pacer *self = *self_p;
    if (self->loadavg_fd >= 0)
        close(self->loadavg_fd);
    if (self->old_slack > 0)
        (void)prctl(PR_SET_TIMERSLACK, (unsigned long)self->old_slack, 0, 0, 0);
    free(self);
    *self_p = NULL;
}

/* The "R/T" field of /proc/loadavg ("0.10 0.20 0.30 R/T LASTPID"): R is the
 * number of runnable threads right now, this one included. -1 if unreadable. */
static int runnable_threads(int fd)
{
    char buf[128];
    ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = buf;
    for (int field = 0; field < 3; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        p++;
    }
    char *end;
    long r = strtol(p, &end, 10);
    return end != p && *end == '/' && r >= 0 && r < INT32_MAX ? (int)r : -1;
}

/* May the sender spin before the packet due at `due`, now being `now`? */
static int spin_allowed(owp_pacer *sp, owp_num64 now)
{
    if (now < sp->backoff_until)
        return 0;
    if (now >= sp->next_load_check) {
        sp->next_load_check = after_ns(now, LOAD_CHECK_NS);
        sp->loaded = runnable_threads(sp->loadavg_fd) > sp->ncpus;
    }
    return !sp->loaded;
}

/* A sleep ended `late_ns` after it was meant to: follow that with the
 * margin, or stop spinning for a while when such lateness, more than any
 * margin may cover, keeps coming. */
static void spin_observe(owp_pacer *sp, owp_num64 woke, uint64_t late_ns)
{
    int very_late = late_ns > SPIN_MAX_NS;
    sp->late_share -= sp->late_share >> LATE_SHARE_SHIFT;
    if (very_late)
        sp->late_share += LATE_SHARE_ONE >> LATE_SHARE_SHIFT;
    if (very_late && sp->late_share > LATE_SHARE_BACKOFF) {
        sp->backoff_until = after_ns(woke, SPIN_BACKOFF_NS);
        sp->margin_ns = SPIN_START_NS;
        return;
    }
    uint64_t want = late_ns + SPIN_GUARD_NS;
    if (want > sp->margin_ns)
        sp->margin_ns = want < SPIN_MAX_NS ? want : SPIN_MAX_NS;
    else
        sp->margin_ns -= (sp->margin_ns - SPIN_MIN_NS) >> SPIN_DECAY_SHIFT;
}

int owp_pacer_wait_until(owp_pacer *sp, owp_num64 due, atomic_int *stop)
{
    uint16_t errest;
    for (;;) {
        if (stop && atomic_load_explicit(stop, memory_order_relaxed))
            return 1;
        owp_num64 now = owp_clock_now(&errest);
        if (now >= due)
            return 0;
        uint64_t margin_ns = spin_allowed(sp, now) ? sp->margin_ns : 0;
        uint64_t left_ns = owp_num64_to_nsec(due - now);
        if (margin_ns > 0 && left_ns <= margin_ns)
            break;
        uint64_t nap_ns = left_ns - margin_ns;
        owp_num64 wake = nap_ns > sp->stop_poll_ns ? now + owp_num64_from_nsec(sp->stop_poll_ns)
                                                   : due - owp_num64_from_nsec(margin_ns);
        struct timespec target;
        owp_ntp_to_timespec(wake - sp->offset, &target);
        /* EINTR or an early return just go round again. */
        if (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, NULL) == 0) {
            owp_num64 woke = owp_clock_now(&errest);
            if (woke > wake)
                spin_observe(sp, woke, owp_num64_to_nsec(woke - wake));
        }
    }
    while (owp_clock_now(&errest) < due)
        cpu_relax();
    return 0;
}
