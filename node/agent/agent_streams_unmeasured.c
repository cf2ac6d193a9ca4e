/*
 * agent_streams_unmeasured.c - the time a stream could not measure: the
 * engine's reasons as the mesh records them, "peer down" when the
 * coordinator said the sending node was down, and the interval written to
 * the spool beside the measurements (never counted as lost packets).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "agent_streams_internal.h"
#include "clock.h"
#include "daemon_log.h"

/* ------------------------------------------------------------------ unmeasured time */

owm_unmeasured_reason agent_stream_mesh_reason(owp_stream_reason r)
{
    switch (r) {
    case OWP_STREAM_REFUSED: return OWM_UNMEASURED_OWAMPD_REFUSED;
    case OWP_STREAM_TIMEOUT: return OWM_UNMEASURED_CONTROL_TIMEOUT;
    case OWP_STREAM_UNREACHABLE: return OWM_UNMEASURED_UNREACHABLE;
    case OWP_STREAM_LOCAL: return OWM_UNMEASURED_LOCAL_ERROR;
    }
    return OWM_UNMEASURED_LOCAL_ERROR;
}

/* Was the sending node reported down at any time during [start, end)? */
static int source_down_locked(const agent_stream *s, owp_num64 start, owp_num64 end)
{
    if (s->down_since && s->down_since < end)
        return 1;
    return s->down_until > start && s->down_from < end;
}

/* The reason the mesh records: an outside failure while the coordinator
 * said the sending node was down is "peer down" (not its owampd, not the
 * network); a local error stays ours. */
static owm_unmeasured_reason attribute(agent_stream *s, owp_stream_reason r, owp_num64 start,
                                       owp_num64 end)
{
    owm_unmeasured_reason reason = agent_stream_mesh_reason(r);
    if (reason == OWM_UNMEASURED_LOCAL_ERROR)
        return reason;
    pthread_mutex_lock(&s->mu);
    int down = source_down_locked(s, start, end);
    pthread_mutex_unlock(&s->mu);
    return down ? OWM_UNMEASURED_PEER_DOWN : reason;
}

/* WORK/START_END.unm, queued for the spool as its text: the queue writes
 * it (through NAME.i) and spools it in its turn; when the disk is full it
 * waits in memory, in order, until it can be written. */
static owp_status spool_unmeasured(agent_stream *s, const owm_unmeasured *u, owp_err *err)
{
    char text[OWM_UNMEASURED_MAX_FILE];
    int len = owm_unmeasured_format(u, text, sizeof text);
    if (len < 0)
        return owp_err_set(err, OWP_ERR_INVALID, "unmeasured interval: invalid fields");
    char name[64];
    owp_stream_file_name(name, sizeof name, u->start, u->end, ".unm");
    owp_status st = agent_spool_queue_text(s->queue, name, OWM_FILE_KIND_UNMEASURED, u->start,
                                           u->end, text, (size_t)len, err);
    if (st != OWP_OK)
        return st;
    agent_stream_log(s, LOG_DEBUG, "unmeasured interval %s (%s) queued for the spool", name,
                     owm_unmeasured_reason_text(u->reason));
    agent_stream_drain_queue(s->set, s, s->queue);
    return OWP_OK;
}

void agent_stream_record_unmeasured(agent_stream *s, owp_num64 start, owp_num64 end,
                                    owm_unmeasured_reason reason, const char *detail)
{
    owm_unmeasured u;
    memset(&u, 0, sizeof u);
    snprintf(u.stream_id, sizeof u.stream_id, "%s", s->spec->id);
    snprintf(u.sender, sizeof u.sender, "%s", s->spec->peer ? s->spec->peer : "");
    snprintf(u.detail, sizeof u.detail, "%s", detail ? detail : "");
    u.start = start;
    u.end = end;
    u.reason = reason;
    owp_err err;
    owp_err_clear(&err);
    if (spool_unmeasured(s, &u, &err) != OWP_OK) {
        agent_stream_log(s, LOG_ERR, "unmeasured interval: %s", err.msg);
        pthread_mutex_lock(&s->mu);
        agent_stream_set_error_locked(s, err.msg);
        pthread_mutex_unlock(&s->mu);
    }
}

void agent_stream_on_unmeasured(void *arg, const owp_stream_unmeasured *u)
{
    agent_stream *s = arg;
    agent_stream_record_unmeasured(s, u->start, u->end, attribute(s, u->reason, u->start, u->end),
                                   u->detail);
}

/* ------------------------------------------------------------------ the coordinator's word */

static int listed(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

void agent_streams_set_peers_down(agent_streams *self, const char *const *down, size_t n)
{
    owp_num64 now = owp_clock_now(NULL);
    for (size_t i = 0; i < self->n; i++) {
        agent_stream *s = self->v[i];
        int is_down = s->spec->source && listed(s->spec->source, down, n);
        pthread_mutex_lock(&s->mu);
        int went = is_down && !s->down_since, back = !is_down && s->down_since;
        if (went) {
            s->down_since = now;
        } else if (back) {
            s->down_from = s->down_since;
            s->down_until = now;
            s->down_since = 0;
        }
        pthread_mutex_unlock(&s->mu);
        if (went)
            agent_stream_log(s, LOG_INFO, "the coordinator reports node %s down: what cannot be "
                             "measured is \"peer down\"", agent_stream_source(s));
        if (back) {
            agent_stream_log(s, LOG_INFO, "the coordinator reports node %s back: retrying now",
                             agent_stream_source(s));
            owp_stream_retry_now(s->engine);
            atomic_store(&self->changed, 1);
        }
    }
}

size_t agent_streams_record_node_down(agent_streams *self, owp_num64 since, double min_seconds)
{
    size_t count = 0;
    char when[64], detail[160];
    owp_ntp_format_local(since, when, sizeof when);
    snprintf(detail, sizeof detail, "owmesh-node was not running (last alive %s)", when);
    for (size_t i = 0; since && i < self->n; i++) {
        agent_stream *s = self->v[i];
        if (!s->engine)
            continue;
        owp_num64 first = owp_stream_first_start(s->engine);
        if (first <= since || owp_num64_to_double(first - since) <= min_seconds)
            continue;
        agent_stream_record_unmeasured(s, since, first, OWM_UNMEASURED_NODE_DOWN, detail);
        agent_stream_log(s, LOG_INFO, "unmeasured while the node was down: %.0f s",
                         owp_num64_to_double(first - since));
        count++;
    }
    return count;
}
