/*
 * stampd_loop.c - stampd's event loop (stampd.h): poll on the sockets and
 * the signal pipe; a readable socket is served in batches; SIGHUP reloads
 * the policy (a file that does not parse keeps the old one); the counters
 * go to the log every -i seconds and at exit.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "daemon_log.h"
#include "daemon_service.h"
#include "daemon_signals.h"
#include "stampd.h"

/* Datagrams served from one socket before the others get their turn. */
#define BATCH 64
/* The longest wait when no counters are due (ms): signals wake it anyway. */
#define IDLE_WAIT_MS 1000

void stampd_log_counters(const stampd *d, const char *when)
{
    if (!d->reflector)
        return;
    const owp_stamp_counters *c = owp_stamp_reflector_counters(d->reflector);
    char drops[512];
    size_t used = 0;
    for (int v = OWP_STAMP_DROP_MALFORMED; v < OWP_STAMP_VERDICTS && used < sizeof drops; v++)
        used += (size_t)snprintf(drops + used, sizeof drops - used, "%s%s %llu",
                                 v == OWP_STAMP_DROP_MALFORMED ? "" : ", ",
                                 owp_stamp_verdict_name((owp_stamp_verdict)v),
                                 (unsigned long long)c->n[v]);
    log_info("counters %s: reflected %llu; dropped: %s; TLVs flagged U %llu, M %llu, I %llu; "
             "%zu sessions",
             when, (unsigned long long)c->n[OWP_STAMP_REFLECTED], drops,
             (unsigned long long)c->tlv_unrecognized, (unsigned long long)c->tlv_malformed,
             (unsigned long long)c->tlv_integrity, owp_stamp_reflector_sessions(d->reflector));
}

static void reload_policy(stampd *d)
{
    if (!d->policy_file) {
        log_info("SIGHUP: no policy file (-c): nothing to reload");
        return;
    }
    owp_err err = {0};
    owp_stamp_policy *p = owp_stamp_policy_load(d->policy_file, &err);
    if (!p) {
        log_err("SIGHUP: %s; keeping the policy in force", err.msg);
        return;
    }
    char text[256];
    owp_stamp_policy_describe(p, text, sizeof text);
    owp_stamp_reflector_set_policy(d->reflector, p);
    log_info("SIGHUP: policy %s reloaded: %s", d->policy_file, text);
}

/* Milliseconds until the counters are due (IDLE_WAIT_MS at most). */
static int wait_ms(const stampd *d, double next_log)
{
    if (d->counter_interval <= 0)
        return IDLE_WAIT_MS;
    double left = next_log - owp_clock_monotonic();
    if (left <= 0)
        return 0;
    return left * 1000 < IDLE_WAIT_MS ? (int)(left * 1000) + 1 : IDLE_WAIT_MS;
}

/* Serve every readable socket once (a batch each). 0, or -1 when one failed. */
static int serve_ready(stampd *d, const struct pollfd *pfd)
{
    for (size_t i = 0; i < d->nsockets; i++) {
        if (!(pfd[i].revents & (POLLIN | POLLERR)))
            continue;
        owp_err err = {0};
        if (owp_stamp_reflector_serve(d->reflector, &d->sockets[i], BATCH, &err) < 0) {
            log_err("%s", err.msg);
            return -1;
        }
    }
    return 0;
}

int stampd_run(stampd *d)
{
    daemon_signals_install();
    struct pollfd pfd[STAMPD_MAX_SOCKETS + 1];
    for (size_t i = 0; i < d->nsockets; i++)
        pfd[i] = (struct pollfd){.fd = d->sockets[i].fd, .events = POLLIN};
    pfd[d->nsockets] = (struct pollfd){.fd = daemon_signals_wake_fd(), .events = POLLIN};
    daemon_service_ready();
    double next_log = owp_clock_monotonic() + d->counter_interval;
    while (!daemon_stop_requested) {
        int n = poll(pfd, d->nsockets + 1, wait_ms(d, next_log));
        if (n < 0 && errno != EINTR) {
            log_err("poll: %s", strerror(errno));
            return 1;
        }
        if (pfd[d->nsockets].revents & POLLIN)
            daemon_signals_drain();
        if (daemon_reload_requested) {
            daemon_reload_requested = 0;
            reload_policy(d);
        }
        if (n > 0 && serve_ready(d, pfd) != 0)
            return 1;
        if (d->counter_interval > 0 && owp_clock_monotonic() >= next_log) {
            stampd_log_counters(d, "so far");
            next_log = owp_clock_monotonic() + d->counter_interval;
        }
    }
    log_info("stopping (signal)");
    return 0;
}
