/*
 * health.h - is a node there, is a stream running: the verdicts of
 * `owmesh status`, each with the evidence it rests on.
 *
 * Pure functions of what the coordinator has heard and a clock given by the
 * caller (so the unit tests drive them with a fake clock):
 *
 *  - a node is "missing" when nothing was heard from it for the heartbeat
 *    timeout (or never);
 *  - a stream the mesh expects is "missing" when its node is missing or does
 *    not report it although it acked the schedule, "pending" while its node
 *    has not acked the schedule that lists it, "failing" when the node reports
 *    it FAILED (a local error or bad parameters);
 *  - otherwise its clock starts when the stream (re)started on the node
 *    (StreamHealth.started; from a node that does not say, the later of the
 *    schedule's ack and the node's last Hello), so a node restart restarts it.
 *    Until a session finishes, the stream is "starting" for OWM_START_GRACE
 *    seconds whatever the node says (peers come up in any order);
 *  - "unmeasured" when sessions cannot be set up for a reason outside the node
 *    (StreamHealth.unmeasured_since, or BACKOFF from a node of minor version
 *    < 2): the reason is the node's ("owampd refused", ...) unless the
 *    coordinator knows the stream's source node is down: then "peer down";
 *  - "stalled" when its last finished session is older than
 *    owm_health_stall_bound(), or none finished that long after the stream
 *    started; "starting" before its first session within that bound; "ok"
 *    otherwise;
 *  - a stream the node runs but the mesh does not list is "unexpected"
 *    ("stopped" once the node reports it stopped).
 * A last_session_end later than the node's own clock (a session that never
 * ran) counts as none.
 *
 * The coordinator sends each verdict in its StatusReply (StreamStatus.verdict
 * and .evidence, proto/mesh.proto) and owm_health_from_status() reads it
 * back, which is how `owmesh status` shows them. For peers of minor version 0
 * the coordinator also starts a stalled stream's health.last_error with
 * OWM_STALLED_MARK and the reason; a reply without a verdict (from such a
 * coordinator) is judged from the rest of the StreamStatus and that mark, so
 * a mixed-version mesh still flags stalls. Readers of minor version < 2 do
 * not know "unmeasured": they get "failing", what BACKOFF meant to them.
 */
#ifndef OWM_HEALTH_H
#define OWM_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "meshconf.h"
#include "meshmsg.h"

#define OWM_STALL_MARGIN 30.0        /* seconds added to every stall bound */
#define OWM_STALL_MARGIN_FRACTION 0.1 /* and this share of the session length */
#define OWM_STALLED_MARK "stalled: "
/* Seconds a stream that has not finished a session yet is "starting", even
 * when its set-ups fail: a new node starts its owampd with its first schedule
 * or at the latest 10 s after start (owmesh-node's first-schedule wait), and
 * a failed control set-up plus the next one take at most 2 x 5 s (the stream
 * engine's control timeout) and a 1 s back-off: 21 s, rounded up to 30 s. */
#define OWM_START_GRACE 30.0
/* Longest evidence text (StreamStatus.evidence). */
#define OWM_EVIDENCE_MAX 400

/* In the order of proto/mesh.proto's StreamVerdict (from STREAM_VERDICT_OK). */
typedef enum owm_verdict {
    OWM_V_OK = 0,
    OWM_V_STARTING,
    OWM_V_PENDING,
    OWM_V_MISSING,
    OWM_V_STALLED,
    OWM_V_FAILING,
    OWM_V_UNEXPECTED,
    OWM_V_STOPPED,
    OWM_V_UNMEASURED
} owm_verdict;
#define OWM_N_VERDICTS (OWM_V_UNMEASURED + 1)

const char *owm_verdict_name(owm_verdict v);
/* 1 for the verdicts `owmesh status` flags: missing, stalled, failing,
 * unexpected, unmeasured. */
int owm_verdict_is_problem(owm_verdict v);
/* The verdict as StreamStatus.verdict carries it. */
owm_msg_verdict owm_verdict_wire(owm_verdict v);
/* The same for a reader of minor version reader_minor: "unmeasured" is
 * "failing" below minor 2 (whose readers refuse verdicts they do not know). */
owm_msg_verdict owm_verdict_wire_for(owm_verdict v, uint32_t reader_minor);

/* Seconds after which a stream with these parameters counts as stalled:
 * count x interval (one session) + loss timeout + OWM_STALL_MARGIN +
 * OWM_STALL_MARGIN_FRACTION of the session. */
double owm_health_stall_bound(const owm_test_params *p);

/* 1 when a node last heard from since_seen seconds ago (< 0: never) is missing. */
int owm_health_node_missing(double since_seen, double timeout);

/* Age in seconds of a session that ended at last_end (node clock, OWAMP
 * timestamp) according to a Status stamped node_time (node clock) that
 * arrived since_report seconds ago: node-clock differences only, so the
 * node's clock offset does not matter. < 0 when last_end is 0 (none) or
 * later than node_time (a session that never ran). */
double owm_health_session_age(uint64_t node_time, uint64_t last_end, double since_report);

/* What the coordinator knows about one expected stream. */
typedef struct owm_stream_obs {
    const owm_msg_stream_health *health; /* last reported; NULL = not reported */
    const char *node;                   /* the receiving node (runs the stream) */
    int node_missing;                   /* owm_health_node_missing() */
    double node_silent;                 /* seconds since it was heard from; < 0 never */
    int acked;                          /* the node acked a schedule listing it */
    double since_start;                 /* seconds since the stream (re)started; < 0 unknown */
    double session_age;                 /* owm_health_session_age() of a session that
                                         * ended since the start; < 0 none */
    double unmeasured_for;              /* seconds since health->unmeasured_since; < 0 none */
    const char *source;                 /* the sending node */
    int source_missing;                 /* the coordinator does not hear from it */
    uint64_t source_seen;               /* OWAMP time (coordinator clock) it was last
                                         * heard from; 0 never */
    double source_silent;               /* seconds since then; < 0 never */
} owm_stream_obs;

/* Verdict for an expected stream; why (if non-NULL) gets its evidence
 * ("last session ended 12 s ago", "no session finished for 412 s (bound
 * 100 s)", "peer down: node nyc not heard from since ..."), never "". */
owm_verdict owm_health_classify(const owm_test_params *p, const owm_stream_obs *obs, char *why,
                                size_t why_len);

/* Verdict for a stream the node reports but the mesh does not expect; why
 * (if non-NULL) gets its evidence. */
owm_verdict owm_health_unexpected(const owm_msg_stream_health *health, const char *node,
                                  char *why, size_t why_len);

/* The verdict of one stream of a StatusReply: its verdict field, or for a
 * reply without one, judged as the top of this file says. */
owm_verdict owm_health_from_status(const owm_msg_node_status *node,
                                   const owm_msg_stream_status *stream);

/* Why a stalled stream stalled: its health.last_error without
 * OWM_STALLED_MARK ("" when it has no health). */
const char *owm_health_stall_note(const owm_msg_stream_status *stream);


#endif
