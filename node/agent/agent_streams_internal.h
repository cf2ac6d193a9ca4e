/*
 * agent_streams_internal.h - what the files of the stream set share: one
 * stream's state and the set's, and the few functions the unmeasured-time
 * and status files call back into (agent_streams.c owns them).
 */
#ifndef OWM_AGENT_STREAMS_INTERNAL_H
#define OWM_AGENT_STREAMS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "agent_streams.h"
#include "meshmsg.h"
#include "stream.h"
#include "unmeasured.h"

#define STREAMS_PATH_MAX 4096

typedef struct agent_stream {
    agent_streams *set;
    owm_msg_stream *spec; /* our own copy (owm_msg_stream_copy) */
    char work_dir[STREAMS_PATH_MAX + OWM_MSG_MAX_ID + 2];
    owp_stream *engine;   /* NULL: failed to start */
    agent_spool_queue *queue; /* its finished files on their way to the spool */
    owp_num64 started;    /* when the stream (re)started */
    /* health, written by the engine's thread, read by the main loop */
    pthread_mutex_t mu;
    owm_stream_state state;
    uint64_t sessions_completed;
    uint64_t last_session_end;
    uint32_t sent, lost;
    /* The coordinator's word on the sending node (main loop writes, the
     * engine's thread reads): down since, and the last period it was down. */
    owp_num64 down_since;   /* 0: not reported down now */
    owp_num64 down_from, down_until;
    char last_error[OWM_MSG_MAX_TEXT + 1];
    uint64_t files_spooled; /* filled by the status census */
} agent_stream;

struct agent_streams {
    char node[OWM_MSG_MAX_NAME + 1];
    char work_root[STREAMS_PATH_MAX];
    char src_addr[256];
    char pfs_path[STREAMS_PATH_MAX];
    agent_spool *spool;
    owp_portrange ports;
    int verbose;
    double start_delay;
    agent_stream **v;
    size_t n, cap;
    /* Queues of stopped streams (and of work directories found at start-up)
     * whose files could not be spooled yet: retried until they are. */
    agent_spool_queue **retired;
    size_t nretired;
    atomic_int changed;
};

/* agent_streams.c: the stream's sending node ("?" when unknown); a log
 * line naming node and stream; last_error (s->mu held); moving a queue's
 * finished files to the spool (returns how many still wait). */
const char *agent_stream_source(const agent_stream *s);
void agent_stream_log(const agent_stream *s, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void agent_stream_set_error_locked(agent_stream *s, const char *text);
size_t agent_stream_drain_queue(const agent_streams *set, agent_stream *s, agent_spool_queue *q);

/* agent_streams_unmeasured.c: the engine's reason as the mesh records it;
 * an unmeasured interval written to the spool; the engine's callback. */
owm_unmeasured_reason agent_stream_mesh_reason(owp_stream_reason r);
void agent_stream_record_unmeasured(agent_stream *s, owp_num64 start, owp_num64 end,
                                    owm_unmeasured_reason reason, const char *detail);
void agent_stream_on_unmeasured(void *arg, const owp_stream_unmeasured *u);

#endif
