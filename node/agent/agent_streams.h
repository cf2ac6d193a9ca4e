/*
 * agent_streams.h - the streams a node runs, one stream engine
 * (libowamp/stream.h) each, reconciled against every new schedule.
 *
 * The node RECEIVES every stream of its schedule (proto/mesh.proto): for
 * each it runs an owp_stream against the sending node's owamp server
 * (Stream.peer), from the node's own address (-S). The engine writes into
 * the stream's work directory WORK_ROOT/STREAM-ID/; each finished file is
 * moved into the spool (agent_spool.h) as soon as the engine is done with it.
 *
 * A full disk loses nothing: a file that cannot be spooled (ENOSPC,
 * EDQUOT...) waits in the work directory, queued (agent_spool_queue), with
 * every later file of its stream behind it; the queue is retried after each
 * new file and at every status, and drains into the spool in order, each
 * file once, when space returns (logged once per change: "spool: no space
 * left on device: N file(s) waiting in DIR", "spool: space back, N file(s)
 * spooled"). An unmeasured interval that cannot even be written waits in
 * memory, in its place. A stream stopped with files waiting keeps its queue
 * until they are spooled (a stream started again with the same id takes it
 * back); at start-up every work directory under work_root is adopted, so
 * files a stopped node left behind reach the spool too.
 *
 * agent_streams_apply() is the reconcile step (agent_reconcile.h): unchanged
 * streams are not touched (their engine and thread go on; their sessions keep
 * abutting), removed and changed streams are stopped (all at once, then each
 * waited for: a stop ends the running sessions with Stop-Sessions and writes
 * their files, a few seconds at most), new and changed streams are started.
 *
 * Unmeasured is not lost: time a stream could not measure (the engine's
 * unmeasured intervals, libowamp/stream.h) is written as an unmeasured-
 * interval file START_END.unm (mesh/unmeasured.h) in the work directory and
 * spooled (FILE_KIND_UNMEASURED) like the engine's files. Its reason is the
 * engine's ("owampd refused", "control timeout", "unreachable", "local
 * error"), except that an outside failure while the coordinator reported
 * the stream's sending node down (agent_streams_set_peers_down) at any time
 * during the interval is "peer down"; when that node comes back the stream
 * retries at once. agent_streams_record_node_down records the time the node
 * itself was not running ("node down").
 *
 * Health (StreamHealth): a stream whose set-ups fail for an outside reason
 * is STARTING (never measured yet) or BACKOFF, never FAILED (that is for
 * bad parameters and local errors); unmeasured_since and unmeasured_reason
 * say since when and why. last_session_end is that of the last measured
 * session (a session that failed has no end), never in the future.
 *
 * Every log line names the node and the stream: "node chi: stream ID
 * (nyc -> chi): ...". The engines' callbacks run on their own threads; the
 * health they update is under a lock per stream. An agent_streams itself is
 * used by one thread (the agent's main loop).
 */
#ifndef OWM_AGENT_STREAMS_H
#define OWM_AGENT_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "agent_spool.h"
#include "endpoint.h"
#include "error.h"
#include "meshtypes.h"
#include "stream.h"
#include "timestamp.h"

typedef struct agent_streams_config {
    const char *node;      /* our node name (logs, checks) */
    const char *work_root; /* DATADIR/streams: one work directory per stream */
    agent_spool *spool;    /* where finished files go (not owned) */
    const char *src_addr;  /* local address of control and test sockets, or NULL */
    owp_portrange ports;   /* local test ports (0-0 ephemeral) */
    const char *pfs_path;  /* pass-phrases of stream identities, or NULL */
    int verbose;           /* passed to the engines */
    double start_delay;    /* seconds from a stream's start to its first session;
                            * 0: the engine's default (10 s) */
} agent_streams_config;

typedef struct agent_streams agent_streams;

/* Strings of config are copied; the spool must outlive the set. */
agent_streams *agent_streams_new(const agent_streams_config *config, owp_err *err);
/* Stop every stream (files of the running sessions are written) and free. */
void agent_streams_destroy(agent_streams **self_p);

typedef struct agent_apply_result {
    size_t started, stopped, kept, changed, failed;
} agent_apply_result;

/* Reconcile with the streams of schedule (wanted[0..n)). A stream that
 * cannot start (bad parameters, a missing pass-phrase) stays in the set in
 * state FAILED with its error, so status reports it. OWP_ERR_NOMEM only. */
owp_status agent_streams_apply(agent_streams *self, owm_msg_stream *const *wanted, size_t n,
                               agent_apply_result *result, owp_err *err);

size_t agent_streams_count(const agent_streams *self);

/* Spool the files that could not be spooled yet (the disk was full), of
 * running streams and of stopped ones, in order; the files still waiting.
 * Called by the engines after each file and by agent_streams_fill_status;
 * cheap when nothing waits, so a caller may call it on every tick. */
size_t agent_streams_retry_spool(agent_streams *self);

/* Append one StreamHealth per stream to status (a heap message from
 * owm_msg_new) and fill its spool totals. Retries the spooling first
 * (agent_streams_retry_spool). */
owp_status agent_streams_fill_status(agent_streams *self, owm_msg_status *status, owp_err *err);

/* The coordinator's set of nodes down (PeerHealth.down; names, any order).
 * Streams from a node in it attribute what they cannot measure to "peer
 * down"; a stream whose node left the set retries its set-up now. Call it
 * again after agent_streams_apply so that new streams know the set. */
void agent_streams_set_peers_down(agent_streams *self, const char *const *down, size_t n);

/* The node was not running from `since` (its last heartbeat, OWAMP time):
 * for every running stream, spool an unmeasured interval [since, the
 * stream's first session) with reason "node down", when it is longer than
 * min_seconds; how many were recorded (failures are logged). Meant for the
 * streams of the first schedule after start-up. */
size_t agent_streams_record_node_down(agent_streams *self, owp_num64 since, double min_seconds);

/* 1 when some stream changed state since the last call (status is due now). */
int agent_streams_take_changed(agent_streams *self);

/* "SENT" and "LOST" of a .sum file (powstream's -M summary); 0 on success. */
int agent_streams_read_summary(const char *path, uint32_t *sent, uint32_t *lost);

/* Fill the measurement fields of powstream options from a scheduled stream
 * (the node receives: sender = 0; server = the peer; npackets, sub_count,
 * interval, loss_timeout, padding, dscp, bucket_width, modes, identity (NULL
 * when empty)). Other fields are left as they are: start from
 * owp_stream_opts_default() and add dir, callbacks and the pass-phrase.
 * Strings point into st: keep the envelope until owp_stream_start copied them. */
void agent_streams_opts_of(const owm_msg_stream *st, owp_stream_opts *o);

/* text made a valid Error/StreamHealth text: control characters become '?',
 * cut to fit len (at most OWM_MSG_MAX_TEXT bytes kept). */
void agent_streams_clean_text(char *out, size_t len, const char *text);

#endif
