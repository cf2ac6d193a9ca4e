/*
 * health.h - is a node there, is a stream running: the verdicts of
 * `owmesh status`.
 *
 * Pure functions of what the coordinator has heard and a clock given by the
 * caller (so the unit tests drive them with a fake clock):
 *
 *  - a node is "missing" when nothing was heard from it for the heartbeat
 *    timeout (or never);
 *  - a stream the mesh expects is "missing" when its node is missing or does
 *    not report it although it acked the schedule, "pending" while its node
 *    has not acked the schedule that lists it, "failing" when the node reports
 *    it failed or in back-off, "stalled" when its last finished session is
 *    older than owmc_health_stall_bound() (or none finished that long after
 *    the ack), "starting" before its first session within that bound, and
 *    "ok" otherwise;
 *  - a stream the node runs but the mesh does not list is "unexpected"
 *    ("stopped" once the node reports it stopped).
 *
 * The coordinator sends each verdict in its StatusReply (StreamStatus.verdict,
 * proto/mesh.proto) and owmc_health_from_status() reads it back, which is how
 * `owmesh status` shows them. For peers of minor version 0 the coordinator
 * also starts a stalled stream's health.last_error with OWMC_STALLED_MARK and
 * the reason; a reply without a verdict (from such a coordinator) is judged
 * from the rest of the StreamStatus and that mark, so a mixed-version mesh
 * still flags stalls.
 */
#ifndef OWMC_HEALTH_H
#define OWMC_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "meshconf.h"
#include "meshmsg.h"

#define OWMC_STALL_MARGIN 30.0        /* seconds added to every stall bound */
#define OWMC_STALL_MARGIN_FRACTION 0.1 /* and this share of the session length */
#define OWMC_STALLED_MARK "stalled: "

/* In the order of proto/mesh.proto's StreamVerdict (from STREAM_VERDICT_OK). */
typedef enum owmc_verdict {
    OWMC_V_OK = 0,
    OWMC_V_STARTING,
    OWMC_V_PENDING,
    OWMC_V_MISSING,
    OWMC_V_STALLED,
    OWMC_V_FAILING,
    OWMC_V_UNEXPECTED,
    OWMC_V_STOPPED
} owmc_verdict;

const char *owmc_verdict_name(owmc_verdict v);
/* 1 for the verdicts `owmesh status` flags: missing, stalled, failing, unexpected. */
int owmc_verdict_is_problem(owmc_verdict v);
/* The verdict as StreamStatus.verdict carries it. */
Owmesh__StreamVerdict owmc_verdict_wire(owmc_verdict v);

/* Seconds after which a stream with these parameters counts as stalled:
 * count x interval (one session) + loss timeout + OWMC_STALL_MARGIN +
 * OWMC_STALL_MARGIN_FRACTION of the session. */
double owmc_health_stall_bound(const owm_test_params *p);

/* 1 when a node last heard from since_seen seconds ago (< 0: never) is missing. */
int owmc_health_node_missing(double since_seen, double timeout);

/* Age in seconds of a session that ended at last_end (node clock, OWAMP
 * timestamp) according to a Status stamped node_time (node clock) that
 * arrived since_report seconds ago: node-clock differences only, so the
 * node's clock offset does not matter. < 0 when last_end is 0 (none). */
double owmc_health_session_age(uint64_t node_time, uint64_t last_end, double since_report);

/* What the coordinator knows about one expected stream. */
typedef struct owmc_stream_obs {
    const Owmesh__StreamHealth *health; /* last reported; NULL = not reported */
    int node_missing;                   /* owmc_health_node_missing() */
    int acked;                          /* the node acked a schedule listing it */
    double since_ack;                   /* seconds since that ack */
    double session_age;                 /* owmc_health_session_age(), < 0 none */
} owmc_stream_obs;

/* Verdict for an expected stream; why (if non-NULL) gets a short reason
 * ("no session finished for 412 s (bound 100 s)"), "" when ok. */
owmc_verdict owmc_health_classify(const owm_test_params *p, const owmc_stream_obs *obs, char *why,
                                  size_t why_len);

/* Verdict for a stream the node reports but the mesh does not expect. */
owmc_verdict owmc_health_unexpected(const Owmesh__StreamHealth *health);

/* The verdict of one stream of a StatusReply: its verdict field, or for a
 * reply without one, judged as the top of this file says. */
owmc_verdict owmc_health_from_status(const Owmesh__NodeStatus *node,
                                     const Owmesh__StreamStatus *stream);

/* Why a stalled stream stalled: its health.last_error without
 * OWMC_STALLED_MARK ("" when it has no health). */
const char *owmc_health_stall_note(const Owmesh__StreamStatus *stream);

#endif
