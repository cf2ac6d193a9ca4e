/* health.c - verdicts on nodes and streams (see health.h). */
#include "health.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"
#include "unmeasured.h"

const char *owmc_verdict_name(owmc_verdict v)
{
    switch (v) {
    case OWMC_V_OK: return "ok";
    case OWMC_V_STARTING: return "starting";
    case OWMC_V_PENDING: return "pending";
    case OWMC_V_MISSING: return "missing";
    case OWMC_V_STALLED: return "stalled";
    case OWMC_V_FAILING: return "failing";
    case OWMC_V_UNEXPECTED: return "unexpected";
    case OWMC_V_STOPPED: return "stopped";
    case OWMC_V_UNMEASURED: return "unmeasured";
    }
    return "unknown";
}

int owmc_verdict_is_problem(owmc_verdict v)
{
    return v == OWMC_V_MISSING || v == OWMC_V_STALLED || v == OWMC_V_FAILING ||
           v == OWMC_V_UNEXPECTED || v == OWMC_V_UNMEASURED;
}

_Static_assert(OWMESH__STREAM_VERDICT__STREAM_VERDICT_OK == OWMC_V_OK + 1 &&
                   OWMESH__STREAM_VERDICT__STREAM_VERDICT_STOPPED == OWMC_V_STOPPED + 1 &&
                   OWMESH__STREAM_VERDICT__STREAM_VERDICT_UNMEASURED == OWMC_V_UNMEASURED + 1,
               "owmc_verdict follows StreamVerdict");

Owmesh__StreamVerdict owmc_verdict_wire(owmc_verdict v)
{
    return (Owmesh__StreamVerdict)(v + 1);
}

Owmesh__StreamVerdict owmc_verdict_wire_for(owmc_verdict v, uint32_t reader_minor)
{
    if (v == OWMC_V_UNMEASURED && reader_minor < 2)
        return owmc_verdict_wire(OWMC_V_FAILING);
    return owmc_verdict_wire(v);
}

double owmc_health_stall_bound(const owm_test_params *p)
{
    double session = (double)p->packet_count * p->packet_interval;
    return session + p->loss_timeout + OWMC_STALL_MARGIN + OWMC_STALL_MARGIN_FRACTION * session;
}

int owmc_health_node_missing(double since_seen, double timeout)
{
    return since_seen < 0 || since_seen > timeout;
}

double owmc_health_session_age(uint64_t node_time, uint64_t last_end, double since_report)
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

static owmc_verdict not_running(const owmc_stream_obs *obs, char *why, size_t len)
{
    const Owmesh__StreamHealth *h = obs->health;
    if (obs->node_missing) {
        if (obs->node_silent < 0)
            say(why, len, "node %s never connected", obs->node);
        else
            say(why, len, "node %s not heard from for %.0f s", obs->node, obs->node_silent);
        return OWMC_V_MISSING;
    }
    if (!obs->acked) {
        say(why, len, "node %s has not acked the schedule that lists it", obs->node);
        return OWMC_V_PENDING;
    }
    say(why, len, "node %s acked its schedule but %s", obs->node,
        h ? "reports the stream stopped" : "does not report the stream");
    return OWMC_V_MISSING;
}

/* The reason a node gave, as people read it ("owampd refused"). */
static const char *node_reason(const Owmesh__StreamHealth *h)
{
    const char *r = h->unmeasured_reason;
    if (!r || !r[0])
        return h->unmeasured_since ? "unknown" : "unreachable"; /* BACKOFF: peer unreachable */
    owm_unmeasured_reason known = owm_unmeasured_reason_parse(r);
    return known == OWM_UNMEASURED_UNKNOWN ? r : owm_unmeasured_reason_text(known);
}

/* Sessions cannot be set up: why, preferring what the coordinator knows. */
static owmc_verdict unmeasured(const owmc_stream_obs *obs, char *why, size_t len)
{
    const Owmesh__StreamHealth *h = obs->health;
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
        return OWMC_V_UNMEASURED;
    }
    const char *said = h->last_error ? h->last_error : "";
    char dur[40] = "";
    if (obs->unmeasured_for >= 0)
        snprintf(dur, sizeof dur, " for %.0f s", obs->unmeasured_for);
    say(why, len, "%s%s%s%.200s", node_reason(h), dur, said[0] ? "; node says: " : "", said);
    return OWMC_V_UNMEASURED;
}

static int cannot_set_up(const Owmesh__StreamHealth *h)
{
    return h->unmeasured_since != 0 || h->state == OWMESH__STREAM_STATE__STREAM_STATE_BACKOFF;
}

owmc_verdict owmc_health_classify(const owm_test_params *p, const owmc_stream_obs *obs, char *why,
                                  size_t why_len)
{
    const Owmesh__StreamHealth *h = obs->health;
    if (obs->node_missing || !h || h->state == OWMESH__STREAM_STATE__STREAM_STATE_STOPPED)
        return not_running(obs, why, why_len);
    if (h->state == OWMESH__STREAM_STATE__STREAM_STATE_FAILED) {
        say(why, why_len, "node %s reports it failed%s%.200s", obs->node,
            h->last_error && h->last_error[0] ? ": " : "", h->last_error ? h->last_error : "");
        return OWMC_V_FAILING;
    }
    double since = obs->since_start < 0 ? 0 : obs->since_start;
    double bound = owmc_health_stall_bound(p);
    if (obs->session_age < 0 && since < OWMC_START_GRACE) {
        say(why, why_len, "starting: %.0f s of a %.0f s grace period%s%s", since,
            OWMC_START_GRACE, cannot_set_up(h) ? "; not set up yet: " : "",
            cannot_set_up(h) ? (obs->source_missing ? "peer down" : node_reason(h)) : "");
        return OWMC_V_STARTING;
    }
    if (cannot_set_up(h))
        return unmeasured(obs, why, why_len);
    if (obs->session_age >= 0) {
        if (obs->session_age > bound) {
            say(why, why_len, "no session finished for %.0f s (bound %.0f s)", obs->session_age,
                bound);
            return OWMC_V_STALLED;
        }
        say(why, why_len, "last session ended %.0f s ago", obs->session_age);
        return OWMC_V_OK;
    }
    if (since > bound) {
        say(why, why_len, "no session finished %.0f s after the stream started (bound %.0f s)",
            since, bound);
        return OWMC_V_STALLED;
    }
    say(why, why_len, "starting: no session finished yet, %.0f s after the stream started "
        "(bound %.0f s)", since, bound);
    return OWMC_V_STARTING;
}

owmc_verdict owmc_health_unexpected(const Owmesh__StreamHealth *health, const char *node,
                                    char *why, size_t why_len)
{
    if (health && health->state == OWMESH__STREAM_STATE__STREAM_STATE_STOPPED) {
        say(why, why_len, "not in %s's schedule; it reports the stream stopped", node);
        return OWMC_V_STOPPED;
    }
    say(why, why_len, "not in %s's schedule, but it runs the stream", node);
    return OWMC_V_UNEXPECTED;
}

static int stall_marked(const Owmesh__StreamHealth *h)
{
    return h && h->last_error &&
           strncmp(h->last_error, OWMC_STALLED_MARK, strlen(OWMC_STALLED_MARK)) == 0;
}

const char *owmc_health_stall_note(const Owmesh__StreamStatus *stream)
{
    const Owmesh__StreamHealth *h = stream->health;
    if (!h || !h->last_error)
        return "";
    return h->last_error + (stall_marked(h) ? strlen(OWMC_STALLED_MARK) : 0);
}

/* What a coordinator of minor version 0 meant: it sent no verdict. */
static owmc_verdict judge_unspecified(const Owmesh__NodeStatus *node,
                                      const Owmesh__StreamStatus *stream)
{
    const Owmesh__StreamHealth *h = stream->health;
    if (!stream->expected)
        return owmc_health_unexpected(h, node->node, NULL, 0);
    if (!node->connected)
        return OWMC_V_MISSING;
    if (!h || h->state == OWMESH__STREAM_STATE__STREAM_STATE_STOPPED)
        return node->acked_generation >= node->expected_generation && node->expected_generation
                   ? OWMC_V_MISSING
                   : OWMC_V_PENDING;
    if (h->state == OWMESH__STREAM_STATE__STREAM_STATE_FAILED ||
        h->state == OWMESH__STREAM_STATE__STREAM_STATE_BACKOFF)
        return OWMC_V_FAILING;
    if (stall_marked(h))
        return OWMC_V_STALLED;
    return h->last_session_end ? OWMC_V_OK : OWMC_V_STARTING;
}

owmc_verdict owmc_health_from_status(const Owmesh__NodeStatus *node,
                                     const Owmesh__StreamStatus *stream)
{
    /* decoding refuses unknown verdicts; a reply built by hand may hold one */
    if (stream->verdict <= OWMESH__STREAM_VERDICT__STREAM_VERDICT_UNSPECIFIED ||
        stream->verdict > OWMESH__STREAM_VERDICT__STREAM_VERDICT_UNMEASURED)
        return judge_unspecified(node, stream);
    return (owmc_verdict)(stream->verdict - 1);
}
