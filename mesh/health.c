/* health.c - verdicts on nodes and streams (see health.h). */
#include "health.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"
#include "unmeasured.h"

const char *owm_verdict_name(owm_verdict v)
{
    switch (v) {
    case OWM_V_OK: return "ok";
    case OWM_V_STARTING: return "starting";
    case OWM_V_PENDING: return "pending";
    case OWM_V_MISSING: return "missing";
    case OWM_V_STALLED: return "stalled";
    case OWM_V_FAILING: return "failing";
    case OWM_V_UNEXPECTED: return "unexpected";
    case OWM_V_STOPPED: return "stopped";
    case OWM_V_UNMEASURED: return "unmeasured";
    }
    return "unknown";
}

int owm_verdict_is_problem(owm_verdict v)
{
    return v == OWM_V_MISSING || v == OWM_V_STALLED || v == OWM_V_FAILING ||
           v == OWM_V_UNEXPECTED || v == OWM_V_UNMEASURED;
}

_Static_assert(OWM_MSG_VERDICT_OK == OWM_V_OK + 1 &&
                   OWM_MSG_VERDICT_STOPPED == OWM_V_STOPPED + 1 &&
                   OWM_MSG_VERDICT_UNMEASURED == OWM_V_UNMEASURED + 1,
               "owm_verdict follows StreamVerdict");

owm_msg_verdict owm_verdict_wire(owm_verdict v)
{
    return (owm_msg_verdict)(v + 1);
}

owm_msg_verdict owm_verdict_wire_for(owm_verdict v, uint32_t reader_minor)
{
    if (v == OWM_V_UNMEASURED && reader_minor < 2)
        return owm_verdict_wire(OWM_V_FAILING);
    return owm_verdict_wire(v);
}

double owm_health_stall_bound(const owm_test_params *p)
{
    double session = (double)p->packet_count * p->packet_interval;
    return session + p->loss_timeout + OWM_STALL_MARGIN + OWM_STALL_MARGIN_FRACTION * session;
}

int owm_health_node_missing(double since_seen, double timeout)
{
    return since_seen < 0 || since_seen > timeout;
}

double owm_health_session_age(uint64_t node_time, uint64_t last_end, double since_report)
{
    if (last_end == 0 || last_end > node_time)
        return -1;
    return owp_num64_to_double(node_time - last_end) + since_report;
}

static void say(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t len, const char *fmt, ...)
{
    if (!why || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* An OWAMP time of the coordinator's clock as people read it (UTC). */
static void format_wall(uint64_t t, char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    owp_ntp_to_timespec(t, &ts);
    if (!gmtime_r(&ts.tv_sec, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "?");
}

static owm_verdict not_running(const owm_stream_obs *obs, char *why, size_t len)
{
    const owm_msg_stream_health *h = obs->health;
    if (obs->node_missing) {
        if (obs->node_silent < 0)
            say(why, len, "node %s never connected", obs->node);
        else
            say(why, len, "node %s not heard from for %.0f s", obs->node, obs->node_silent);
        return OWM_V_MISSING;
    }
    if (!obs->acked) {
        say(why, len, "node %s has not acked the schedule that lists it", obs->node);
        return OWM_V_PENDING;
    }
    say(why, len, "node %s acked its schedule but %s", obs->node,
        h ? "reports the stream stopped" : "does not report the stream");
    return OWM_V_MISSING;
}

/* The reason a node gave, as people read it ("owampd refused"). */
static const char *node_reason(const owm_msg_stream_health *h)
{
    const char *r = h->unmeasured_reason;
    if (!r || !r[0])
        return h->unmeasured_since ? "unknown" : "unreachable"; /* BACKOFF: peer unreachable */
    owm_unmeasured_reason known = owm_unmeasured_reason_parse(r);
    return known == OWM_UNMEASURED_UNKNOWN ? r : owm_unmeasured_reason_text(known);
}

/* Sessions cannot be set up: why, preferring what the coordinator knows. */
static owm_verdict unmeasured(const owm_stream_obs *obs, char *why, size_t len)
{
    const owm_msg_stream_health *h = obs->health;
    if (obs->source_missing) {
        char since[40];
        if (obs->source_seen) {
            format_wall(obs->source_seen, since, sizeof since);
            say(why, len, "%s: node %s not heard from since %s (%.0f s)",
                owm_unmeasured_reason_text(OWM_UNMEASURED_PEER_DOWN), obs->source, since,
                obs->source_silent);
        } else {
            say(why, len, "%s: node %s never connected",
                owm_unmeasured_reason_text(OWM_UNMEASURED_PEER_DOWN), obs->source);
        }
        return OWM_V_UNMEASURED;
    }
    const char *said = h->last_error ? h->last_error : "";
    char dur[40] = "";
    if (obs->unmeasured_for >= 0)
        snprintf(dur, sizeof dur, " for %.0f s", obs->unmeasured_for);
    say(why, len, "%s%s%s%.200s", node_reason(h), dur, said[0] ? "; node says: " : "", said);
    return OWM_V_UNMEASURED;
}

static int cannot_set_up(const owm_msg_stream_health *h)
{
    return h->unmeasured_since != 0 || h->state == OWM_STREAM_STATE_BACKOFF;
}

owm_verdict owm_health_classify(const owm_test_params *p, const owm_stream_obs *obs, char *why,
                                size_t why_len)
{
    const owm_msg_stream_health *h = obs->health;
    if (obs->node_missing || !h || h->state == OWM_STREAM_STATE_STOPPED)
        return not_running(obs, why, why_len);
    if (h->state == OWM_STREAM_STATE_FAILED) {
        say(why, why_len, "node %s reports it failed%s%.200s", obs->node,
            h->last_error && h->last_error[0] ? ": " : "", h->last_error ? h->last_error : "");
        return OWM_V_FAILING;
    }
    double since = obs->since_start < 0 ? 0 : obs->since_start;
    double bound = owm_health_stall_bound(p);
    if (obs->session_age < 0 && since < OWM_START_GRACE) {
        say(why, why_len, "starting: %.0f s of a %.0f s grace period%s%s", since,
            OWM_START_GRACE, cannot_set_up(h) ? "; not set up yet: " : "",
            cannot_set_up(h) ? (obs->source_missing ? "peer down" : node_reason(h)) : "");
        return OWM_V_STARTING;
    }
    if (cannot_set_up(h))
        return unmeasured(obs, why, why_len);
    if (obs->session_age >= 0) {
        if (obs->session_age > bound) {
            say(why, why_len, "no session finished for %.0f s (bound %.0f s)", obs->session_age,
                bound);
            return OWM_V_STALLED;
        }
        say(why, why_len, "last session ended %.0f s ago", obs->session_age);
        return OWM_V_OK;
    }
    if (since > bound) {
        say(why, why_len, "no session finished %.0f s after the stream started (bound %.0f s)",
            since, bound);
        return OWM_V_STALLED;
    }
    say(why, why_len, "starting: no session finished yet, %.0f s after the stream started "
        "(bound %.0f s)", since, bound);
    return OWM_V_STARTING;
}

owm_verdict owm_health_unexpected(const owm_msg_stream_health *health, const char *node,
                                  char *why, size_t why_len)
{
    if (health && health->state == OWM_STREAM_STATE_STOPPED) {
        say(why, why_len, "not in %s's schedule; it reports the stream stopped", node);
        return OWM_V_STOPPED;
    }
    say(why, why_len, "not in %s's schedule, but it runs the stream", node);
    return OWM_V_UNEXPECTED;
}

static int stall_marked(const owm_msg_stream_health *h)
{
    return h && h->last_error &&
           strncmp(h->last_error, OWM_STALLED_MARK, strlen(OWM_STALLED_MARK)) == 0;
}

const char *owm_health_stall_note(const owm_msg_stream_status *stream)
{
    const owm_msg_stream_health *h = stream->health;
    if (!h || !h->last_error)
        return "";
    return h->last_error + (stall_marked(h) ? strlen(OWM_STALLED_MARK) : 0);
}

/* What a coordinator of minor version 0 meant: it sent no verdict. */
static owm_verdict judge_unspecified(const owm_msg_node_status *node,
                                     const owm_msg_stream_status *stream)
{
    const owm_msg_stream_health *h = stream->health;
    if (!stream->expected)
        return owm_health_unexpected(h, node->node, NULL, 0);
    if (!node->connected)
        return OWM_V_MISSING;
    if (!h || h->state == OWM_STREAM_STATE_STOPPED)
        return node->acked_generation >= node->expected_generation && node->expected_generation
                   ? OWM_V_MISSING
                   : OWM_V_PENDING;
    if (h->state == OWM_STREAM_STATE_FAILED ||
        h->state == OWM_STREAM_STATE_BACKOFF)
        return OWM_V_FAILING;
    if (stall_marked(h))
        return OWM_V_STALLED;
    return h->last_session_end ? OWM_V_OK : OWM_V_STARTING;
}

owm_verdict owm_health_from_status(const owm_msg_node_status *node,
                                   const owm_msg_stream_status *stream)
{
    /* decoding refuses unknown verdicts; a reply built by hand may hold one */
    if (stream->verdict <= OWM_MSG_VERDICT_UNSPECIFIED ||
        stream->verdict > OWM_MSG_VERDICT_UNMEASURED)
        return judge_unspecified(node, stream);
    return (owm_verdict)(stream->verdict - 1);
}
