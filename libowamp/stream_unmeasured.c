/*
 * stream_unmeasured.c - the stream's time line of unmeasured intervals (see
 * stream.h: unmeasured is not lost, and stream_internal.h). A failure gets a
 * reason (owp_stream_reason) from its error; while set-ups fail a "hole"
 * stays open at the time line's next start, which follows the clock; closed
 * stretches are held until their end has passed, merged when they abut and
 * agree, and reported (log line and unmeasured_fn) at most a session length
 * at a time. Set-ups back off exponentially while they fail.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "clock.h"
#include "stream_internal.h"

/* First back-off step after a failed attempt; doubles up to retry_delay and
 * OWP_STREAM_RETRY_MAX. */
#define BACKOFF_FIRST_SEC 1.0
#define BACKOFF_MIN_SEC 0.1

/* ------------------------------------------------------------------ reasons */

const char *owp_stream_reason_text(owp_stream_reason r)
{
    switch (r) {
    case OWP_STREAM_REFUSED: return "owampd refused";
    case OWP_STREAM_TIMEOUT: return "control timeout";
    case OWP_STREAM_UNREACHABLE: return "unreachable";
    case OWP_STREAM_LOCAL: return "local error";
    }
    return "local error";
}

/* Does msg carry the text of errno e (owp_err_sys appends strerror)? */
static int mentions_errno(const char *msg, int e)
{
    char buf[128];
    const char *text = strerror_r(e, buf, sizeof buf);
    return text && text[0] && strstr(msg, text) != NULL;
}

/* Why a set-up or a session failed, from its error: the peer's doing
 * (refused, silent, out of reach) or ours. */
owp_stream_reason owp_strm_classify(const owp_err *err)
{
    static const int refused[] = { ECONNREFUSED, ECONNRESET, ECONNABORTED, EPIPE };
    static const int unreachable[] = { EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN };
    if (strstr(err->msg, "unable to resolve"))
        return OWP_STREAM_UNREACHABLE;
    switch (err->code) {
    case OWP_ERR_REFUSED:
    case OWP_ERR_CLOSED:
    case OWP_ERR_PROTO:
    case OWP_ERR_FORMAT: /* the server's messages: a broken or dying peer */
        return OWP_STREAM_REFUSED;
    case OWP_ERR_TIMEOUT:
        return OWP_STREAM_TIMEOUT;
    case OWP_ERR_SYS:
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            if (mentions_errno(err->msg, refused[i]))
                return OWP_STREAM_REFUSED;
        if (mentions_errno(err->msg, ETIMEDOUT))
            return OWP_STREAM_TIMEOUT;
        for (size_t i = 0; i < sizeof unreachable / sizeof unreachable[0]; i++)
            if (mentions_errno(err->msg, unreachable[i]))
                return OWP_STREAM_UNREACHABLE;
        return OWP_STREAM_LOCAL;
    default:
        return OWP_STREAM_LOCAL;
    }
}

void owp_strm_outcome_failed(session_outcome *o, owp_stream_reason reason, const char *fmt, ...)
{
    o->ok = 0;
    o->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ the time line */

/* The length of one session on the time line (at least 1 s): the unit in
 * which a long outage is reported. */
static owp_num64 session_length(const owp_stream *s)
{
    double d = s->o.npackets * s->o.interval;
    return owp_num64_from_double(d > 1.0 ? d : 1.0);
}

static void report_interval(owp_stream *s, const stream_interval *iv)
{
    owp_strm_count(s, &s->counters.intervals, 1);
    owp_strm_log(s, LOG_WARNING,
                 "not measured [" TSTAMP_FMT " - " TSTAMP_FMT "] (%.1f s): %s: %s", iv->start,
                 iv->end, owp_num64_to_double(iv->end - iv->start),
                 owp_stream_reason_text(iv->reason), iv->detail);
    if (s->o.unmeasured_fn) {
        owp_stream_unmeasured u = { .start = iv->start, .end = iv->end, .reason = iv->reason,
                                    .detail = iv->detail };
        s->o.unmeasured_fn(s->o.arg, &u);
    }
}

/* Hold [start, end) until its end has passed; merged into the interval
 * before it when they abut, agree on the reason and stay within a session
 * length (a long outage is reported piece by piece, never held long). */
static void hold(owp_stream *s, owp_num64 start, owp_num64 end, owp_stream_reason reason,
                 const char *detail)
{
    if (end <= start)
        return;
    if (s->nheld) {
        stream_interval *last = &s->held[s->nheld - 1];
        if (last->end == start && last->reason == reason &&
            end - last->start <= session_length(s)) {
            last->end = end;
            return;
        }
    }
    stream_interval iv = { .start = start, .end = end, .reason = reason };
    snprintf(iv.detail, sizeof iv.detail, "%s", detail);
    if (s->nheld == s->held_cap) {
        unsigned cap = s->held_cap ? s->held_cap * 2 : 4;
        stream_interval *v = realloc(s->held, cap * sizeof *v);
        if (!v) { /* cannot wait for its end: say it now rather than never */
            report_interval(s, &iv);
            return;
        }
        s->held = v;
        s->held_cap = cap;
    }
    s->held[s->nheld++] = iv;
}

/* Report the held intervals whose end has passed. flush (the stream ends):
 * everything up to now, the open hole included; nothing after now. */
void owp_strm_report_held(owp_stream *s, int flush)
{
    owp_num64 now = owp_clock_now(NULL);
    if (flush && s->hole_open) {
        hold(s, s->hole.start, now, s->hole.reason, s->hole.detail);
        s->hole_open = 0;
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < s->nheld; i++) {
        stream_interval *iv = &s->held[i];
        if (iv->end <= now) {
            report_interval(s, iv);
        } else if (flush) {
            if (iv->start < now) {
                iv->end = now;
                report_interval(s, iv);
            }
        } else {
            if (kept != i)
                s->held[kept] = *iv;
            kept++;
        }
    }
    s->nheld = kept;
}

/* Something failed for reason: the open hole (if any) ends its stretch with
 * the old reason at now, and health says the stream is failing. */
static void note_fault(owp_stream *s, owp_stream_reason reason, const char *detail)
{
    owp_num64 now = owp_clock_now(NULL);
    if (s->hole_open && (reason != s->hole.reason || strcmp(detail, s->hole.detail) != 0)) {
        owp_num64 at = now < s->next_start ? now : s->next_start;
        if (reason != s->hole.reason && at > s->hole.start) {
            hold(s, s->hole.start, at, s->hole.reason, s->hole.detail);
            s->hole.start = at;
        }
        s->hole.reason = reason;
        snprintf(s->hole.detail, sizeof s->hole.detail, "%s", detail);
    }
    s->have_fail = 1;
    s->fail_reason = reason;
    snprintf(s->fail_detail, sizeof s->fail_detail, "%s", detail);
    pthread_mutex_lock(&s->mu);
    if (!s->health.failing_since)
        s->health.failing_since = now;
    s->health.reason = reason;
    pthread_mutex_unlock(&s->mu);
}

static double backoff(const owp_stream *s, unsigned failures)
{
    double cap = s->o.retry_delay < OWP_STREAM_RETRY_MAX ? s->o.retry_delay : OWP_STREAM_RETRY_MAX;
    double d = BACKOFF_FIRST_SEC;
    for (unsigned i = 1; i < failures && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d < BACKOFF_MIN_SEC ? BACKOFF_MIN_SEC : d;
}

void owp_strm_back_off(owp_stream *s)
{
    s->failures++;
    s->retry_at = owp_clock_monotonic() + backoff(s, s->failures);
}

/* A set-up attempt failed: wait before the next one. */
void owp_strm_note_failure(owp_stream *s, owp_stream_reason reason, const char *detail)
{
    note_fault(s, reason, detail);
    owp_strm_back_off(s);
    owp_strm_count(s, &s->counters.connect_failures, 1);
}

/* A session was set up at ss->start: an open hole ends there. */
void owp_strm_note_setup(owp_stream *s, const stream_session *ss)
{
    if (s->hole_open) {
        hold(s, s->hole.start, ss->start, s->hole.reason, s->hole.detail);
        s->hole_open = 0;
    }
    s->have_fail = 0;
    s->failures = 0;
    s->retry_at = 0;
    pthread_mutex_lock(&s->mu);
    s->health.failing_since = 0;
    s->health.last_setup = owp_clock_now(NULL);
    pthread_mutex_unlock(&s->mu);
}

static double lead_seconds(const owp_stream *s)
{
    if (s->o.min_lead > 0)
        return s->o.min_lead;
    return 1.0 + 2 * s->last_rtt;
}

/* The next start is too near to be set up: open a hole there (unmeasured
 * until a session is set up) and let the next start follow the clock, so
 * the first session set up after an outage starts one lead later. */
void owp_strm_hole_overdue(owp_stream *s)
{
    owp_num64 now = owp_clock_now(NULL);
    owp_num64 limit = now + owp_num64_from_double(lead_seconds(s));
    if (s->next_start >= limit)
        return;
    if (!s->hole_open) {
        if (!s->have_fail) /* e.g. a set-up that succeeded too slowly */
            note_fault(s, OWP_STREAM_TIMEOUT, "no session could be set up before its start time");
        s->hole_open = 1;
        s->hole.start = s->next_start;
        s->hole.reason = s->fail_reason;
        snprintf(s->hole.detail, sizeof s->hole.detail, "%s", s->fail_detail);
    }
    s->next_start = limit;
    owp_num64 len = session_length(s);
    while (s->hole.start + len <= now) {
        hold(s, s->hole.start, s->hole.start + len, s->hole.reason, s->hole.detail);
        s->hole.start += len;
    }
}

/* Session ss was not measured from `from` to its end. The last session of
 * the time line gives that time back (the next one set up starts there, or
 * a hole opens there); an earlier one holds it as an unmeasured interval. */
void owp_strm_give_back(owp_stream *s, const stream_session *ss, owp_num64 from,
                        const session_outcome *o)
{
    note_fault(s, o->reason, o->detail);
    if (!s->hole_open && ss->end == s->next_start && from <= s->next_start) {
        s->next_start = from;
        return;
    }
    hold(s, from, ss->end, o->reason, o->detail);
}
