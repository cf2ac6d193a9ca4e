/*
 * agent_streams_status.c - the stream set's part of the node's status
 * report: each stream's health (with its unmeasured reason), the spool's
 * census, and the periodic retry of queues waiting for disk space.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_streams_internal.h"
#include "clock.h"

/* ------------------------------------------------------------------ status */

typedef struct census {
    agent_streams *set;
    uint64_t files, bytes;
} census;

static void count_file(void *arg, const agent_spool_entry *e, uint64_t size)
{
    census *c = arg;
    c->files++;
    c->bytes += size;
    for (size_t i = 0; i < c->set->n; i++)
        if (strcmp(c->set->v[i]->spec->id, e->stream_id) == 0) {
            c->set->v[i]->files_spooled++;
            break;
        }
}

/* One stream's health; last_error into text; returns the unmeasured reason
 * ("" when the stream is not failing). */
static const char *fill_health(agent_stream *s, owm_msg_stream_health *h, char *text, size_t len)
{
    owp_stream_health eh;
    memset(&eh, 0, sizeof eh);
    if (s->engine)
        owp_stream_get_health(s->engine, &eh);
    owp_num64 now = owp_clock_now(NULL);
    pthread_mutex_lock(&s->mu);
    owm_stream_state state = s->state;
    const char *why = "";
    if (eh.failing_since && state != OWM_STREAM_STATE_FAILED) {
        owm_unmeasured_reason r = agent_stream_mesh_reason(eh.reason);
        if (r != OWM_UNMEASURED_LOCAL_ERROR && s->down_since)
            r = OWM_UNMEASURED_PEER_DOWN;
        why = owm_unmeasured_reason_text(r);
        /* Failing for an outside reason is not the stream's failure: it is
         * starting (never measured yet) or backing off, and unmeasured. */
        if (r == OWM_UNMEASURED_LOCAL_ERROR)
            state = OWM_STREAM_STATE_FAILED;
        else if (s->sessions_completed == 0)
            state = OWM_STREAM_STATE_STARTING;
        else
            state = OWM_STREAM_STATE_BACKOFF;
        h->unmeasured_since = eh.failing_since;
    }
    h->state = state;
    h->started = s->started;
    h->last_attempt = eh.last_attempt;
    h->sessions_completed = s->sessions_completed;
    h->last_session_end = s->last_session_end <= now ? s->last_session_end : now;
    h->packets_sent = s->sent;
    h->packets_lost = s->lost;
    h->files_spooled = s->files_spooled;
    snprintf(text, len, "%s", s->last_error);
    pthread_mutex_unlock(&s->mu);
    return why;
}

size_t agent_streams_retry_spool(agent_streams *self)
{
    size_t waiting = 0;
    for (size_t i = 0; i < self->n; i++)
        if (self->v[i]->queue)
            waiting += agent_stream_drain_queue(self, self->v[i], self->v[i]->queue);
    for (size_t i = self->nretired; i-- > 0;) {
        agent_spool_queue *q = self->retired[i];
        size_t left = agent_stream_drain_queue(self, NULL, q);
        waiting += left;
        if (left)
            continue;
        agent_spool_queue_engine_gone(q);
        rmdir(agent_spool_queue_dir(q)); /* only when empty */
        agent_spool_queue_destroy(&q);
        memmove(self->retired + i, self->retired + i + 1,
                (self->nretired - i - 1) * sizeof *self->retired);
        self->nretired--;
    }
    return waiting;
}

owp_status agent_streams_fill_status(agent_streams *self, owm_msg_status *status, owp_err *err)
{
    agent_streams_retry_spool(self); /* the periodic retry, when space came back */
    census c = {.set = self};
    for (size_t i = 0; i < self->n; i++)
        self->v[i]->files_spooled = 0;
    owp_status st = agent_spool_scan(self->spool, count_file, &c, err);
    if (st != OWP_OK)
        return st;
    status->spool_files = c.files;
    status->spool_bytes = c.bytes;
    for (size_t i = 0; i < self->n; i++) {
        agent_stream *s = self->v[i];
        owm_msg_stream_health *h = owm_msg_status_add_stream(status, err);
        if (!h)
            return err ? err->code : OWP_ERR_NOMEM;
        char text[OWM_MSG_MAX_TEXT + 1];
        const char *why = fill_health(s, h, text, sizeof text);
        if ((st = owm_msg_set_string(&h->id, s->spec->id, err)) != OWP_OK ||
            (st = owm_msg_set_string(&h->last_error, text, err)) != OWP_OK ||
            (st = owm_msg_set_string(&h->unmeasured_reason, why, err)) != OWP_OK)
            return st;
    }
    return OWP_OK;
}
