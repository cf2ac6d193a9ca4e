/* health.c - verdicts on nodes and streams (see health.h). */
#include "health.h"

#include <stdio.h>
#include <string.h>

#include "timestamp.h"

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
    }
    return "unknown";
}

int owmc_verdict_is_problem(owmc_verdict v)
{
    return v == OWMC_V_MISSING || v == OWMC_V_STALLED || v == OWMC_V_FAILING ||
           v == OWMC_V_UNEXPECTED;
}

_Static_assert(OWMESH__STREAM_VERDICT__STREAM_VERDICT_OK == OWMC_V_OK + 1 &&
                   OWMESH__STREAM_VERDICT__STREAM_VERDICT_STOPPED == OWMC_V_STOPPED + 1,
               "owmc_verdict follows StreamVerdict");

Owmesh__StreamVerdict owmc_verdict_wire(owmc_verdict v)
{
    return (Owmesh__StreamVerdict)(v + 1);
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
    if (last_end == 0)
        return -1;
    double age = node_time > last_end ? owp_num64_to_double(node_time - last_end)
                                      : -owp_num64_to_double(last_end - node_time);
    age += since_report;
    return age < 0 ? 0 : age;
}

static void say(char *why, size_t len, const char *fmt, double a, double b)
{
    if (why && len)
        snprintf(why, len, fmt, a, b);
}

owmc_verdict owmc_health_classify(const owm_test_params *p, const owmc_stream_obs *obs, char *why,
                                  size_t why_len)
{
    say(why, why_len, "", 0, 0);
    const Owmesh__StreamHealth *h = obs->health;
    if (obs->node_missing)
        return OWMC_V_MISSING;
    if (!h || h->state == OWMESH__STREAM_STATE__STREAM_STATE_STOPPED)
        return obs->acked ? OWMC_V_MISSING : OWMC_V_PENDING;
    if (h->state == OWMESH__STREAM_STATE__STREAM_STATE_FAILED ||
        h->state == OWMESH__STREAM_STATE__STREAM_STATE_BACKOFF)
        return OWMC_V_FAILING;
    double bound = owmc_health_stall_bound(p);
    if (obs->session_age >= 0) {
        if (obs->session_age > bound) {
            say(why, why_len, "no session finished for %.0f s (bound %.0f s)", obs->session_age,
                bound);
            return OWMC_V_STALLED;
        }
        return OWMC_V_OK;
    }
    if (obs->acked && obs->since_ack > bound) {
        say(why, why_len, "no session finished %.0f s after the schedule was acked (bound %.0f s)",
            obs->since_ack, bound);
        return OWMC_V_STALLED;
    }
    return OWMC_V_STARTING;
}

owmc_verdict owmc_health_unexpected(const Owmesh__StreamHealth *health)
{
    if (health && health->state == OWMESH__STREAM_STATE__STREAM_STATE_STOPPED)
        return OWMC_V_STOPPED;
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
        return owmc_health_unexpected(h);
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
        stream->verdict > OWMESH__STREAM_VERDICT__STREAM_VERDICT_STOPPED)
        return judge_unspecified(node, stream);
    return (owmc_verdict)(stream->verdict - 1);
}
