/*
 * registry.h - what the coordinator knows about every node of its mesh:
 * the connection it last spoke on, the generations it should run, acked and
 * runs, the push of its schedule (retried with back-off until acked) and its
 * last Status. Health verdicts (health.h), the StatusReply for `owmesh
 * status` and the Directory for collectors are built from it.
 *
 * No I/O and no clock of its own: every call that depends on time takes
 * `now` (monotonic seconds) and `wall` (OWAMP timestamp), so the unit tests
 * drive it with a fake clock. The caller (coord.c) sends what it is told to
 * send.
 *
 * Entries are indexed like the plan's nodes. owmc_reg_apply_plan() moves to a
 * new plan after a reload: entries are matched by node name, nodes whose
 * schedule changed (or that are new) get the new generation, the others keep
 * theirs, so an unchanged node is never re-pushed.
 *
 * Peer health: the registry keeps the set of mesh nodes it has not heard from
 * within the heartbeat timeout (or never), with a version that grows when the
 * set changes. Every registered node of minor version >= 2 is due a
 * PeerHealth until it has been sent the current version: once after its
 * Hello, and once per change (owmc_reg_update_down(), called once a tick by
 * coord.c, so a storm of changes costs one message per node per tick).
 */
#ifndef OWMC_REGISTRY_H
#define OWMC_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "health.h"
#include "meshmsg.h"
#include "plan.h"

#define OWMC_PUSH_BACKOFF_MIN 1.0  /* seconds before the first retry of an unacked push */
#define OWMC_PUSH_BACKOFF_MAX 60.0 /* back-off doubles up to this */

typedef struct owmc_peer {
    const owmc_node_plan *plan;  /* the node's schedule in the current plan */
    zframe_t *route;             /* ROUTER identity of its connection; NULL = never heard */
    double last_seen;            /* monotonic; < 0 never */
    uint64_t last_seen_wall;     /* OWAMP timestamp; 0 never */
    int registered;              /* said Hello to this coordinator process */
    int missing;                 /* last health check found it missing (for logs) */
    char *software_version, *owamp_address, *data_endpoint, *last_error;
    uint64_t expected_gen;       /* generation of its current schedule */
    uint64_t acked_gen;          /* last generation it accepted */
    uint64_t running_gen;        /* generation it reports running */
    double acked_at;             /* monotonic time expected_gen was acked; < 0 not yet */
    double next_push;            /* monotonic time of the next push; < 0 none due */
    double backoff;              /* seconds to the retry after the next push */
    unsigned pushes;             /* pushes of expected_gen so far */
    owm_msg *status;    /* last Status (owned), or NULL */
    double status_at;            /* monotonic arrival of status */
    const owm_msg_stream_health **health; /* status's streams sorted by id */
    unsigned char *verdicts;     /* per plan stream: owm_verdict of the last check (for logs) */
    double hello_at;             /* monotonic time of its last Hello; < 0 none */
    uint32_t minor;              /* minor version of its last message */
    int down;                    /* in the peer-health down set (owmc_reg_update_down) */
    uint64_t peer_health_sent;   /* down-set version it was last sent; 0 none since Hello */
    int peer_health_off;         /* answered PeerHealth with ERROR_UNKNOWN_MESSAGE */
    int rescheduled;             /* expected_gen changed by owmc_reg_reschedule, not acked yet */
} owmc_peer;

typedef struct owmc_registry owmc_registry;

/* A registry for plan (borrowed; it must outlive the registry or be replaced
 * with owmc_reg_apply_plan first); every node starts at generation. */
owmc_registry *owmc_reg_new(const owmc_plan *plan, uint64_t generation, double node_timeout,
                            owp_err *err);
void owmc_reg_destroy(owmc_registry **self_p);

const owmc_plan *owmc_reg_plan(const owmc_registry *self);
size_t owmc_reg_count(const owmc_registry *self);
owmc_peer *owmc_reg_peer(owmc_registry *self, size_t index);
owmc_peer *owmc_reg_find(owmc_registry *self, const char *node);
double owmc_reg_node_timeout(const owmc_registry *self);

/* Called for each node that left the mesh (before its entry is freed):
 * coord.c sends it an empty schedule when it is connected. */
typedef void(owmc_reg_removed_fn)(void *arg, owmc_peer *gone);
/* Move to new_plan (see the top). Unchanged nodes keep their generation and
 * push state; changed and new ones get generation and a push due now.
 * Returns the number of nodes whose schedule changed or was added; -1 with
 * err (OWP_ERR_NOMEM), the registry then unchanged. */
long owmc_reg_apply_plan(owmc_registry *self, const owmc_plan *new_plan, uint64_t generation,
                         owmc_reg_removed_fn *removed, void *arg, owp_err *err);

/* p's schedule changed outside a reload, its streams did not (the
 * collectors that may pull it: assign.h): it runs generation (greater than
 * its expected one, else nothing happens) from now on, pushed now. Its
 * streams' clock (acked_at) is kept: the node keeps them running. */
void owmc_reg_reschedule(owmc_peer *p, uint64_t generation);

/* Any authenticated message from the node: remember its connection. */
owp_status owmc_reg_heard(owmc_peer *p, zframe_t *route, double now, uint64_t wall,
                          owp_err *err);
/* Hello: records what the node announced; a push is due now unless it
 * already runs its expected generation. Returns 1 when a push is due. */
int owmc_reg_on_hello(owmc_peer *p, const owm_msg_hello *hello, double now);
/* ScheduleAck. Returns 1 when the ack settled the expected generation. */
int owmc_reg_on_ack(owmc_peer *p, const owm_msg_schedule_ack *ack, double now);
/* Status: takes ownership of *env (sets it to NULL). */
owp_status owmc_reg_on_status(owmc_peer *p, owm_msg **env, double now, owp_err *err);
/* Error from the node: kept as its last error. */
void owmc_reg_on_error(owmc_peer *p, const owm_msg_error *e);

/* 1 when p's schedule should be (re)sent now: connected, not acked, retry
 * time reached. */
int owmc_reg_push_due(const owmc_peer *p, double now);
/* The push was handed to the socket: next retry after the back-off. */
void owmc_reg_pushed(owmc_peer *p, double now);
/* Seconds until the earliest due push (for the loop), or < 0 when none. */
double owmc_reg_next_push(const owmc_registry *self, double now);

/* The reported health of stream id, or NULL. */
const owm_msg_stream_health *owmc_reg_health(const owmc_peer *p, const char *id);
/* Verdict on the i-th stream of p's schedule; why as owm_health_classify. */
owm_verdict owmc_reg_stream_verdict(owmc_registry *self, const owmc_peer *p, size_t i,
                                    double now, char *why, size_t why_len);
int owmc_reg_node_missing(const owmc_registry *self, const owmc_peer *p, double now);

/* StatusReply for request (NULL: every node), for a reader of minor version
 * reader_minor (owm_verdict_wire_for); nodes unknown to the mesh are an
 * OWP_ERR_INVALID naming them. */
owm_msg *owmc_reg_status_reply(owmc_registry *self, const owm_msg_status_request *request,
                               uint64_t generation, double now, uint64_t wall,
                               uint32_t reader_minor, owp_err *err);
/* Directory: every node of the mesh, with the data endpoint it announced
 * (or the mesh's). */
owm_msg *owmc_reg_directory(owmc_registry *self, uint64_t generation, owp_err *err);

/* Recompute the down set at now (O(nodes)); 1 when it changed (its version
 * then grew). */
int owmc_reg_update_down(owmc_registry *self, double now);
/* Version of the current down set (> 0) and its size. */
uint64_t owmc_reg_down_version(const owmc_registry *self);
size_t owmc_reg_down_count(const owmc_registry *self);
/* PeerHealth listing the current down set, names ascending, stamped wall. */
owm_msg *owmc_reg_peer_health(const owmc_registry *self, uint64_t wall, owp_err *err);
/* 1 when p should be sent the current down set now: connected, registered,
 * minor >= 2, has not refused PeerHealth, not sent this version yet. */
int owmc_reg_peer_health_due(const owmc_registry *self, const owmc_peer *p, double now);
/* The current version was handed to p's socket. */
void owmc_reg_peer_health_sent(const owmc_registry *self, owmc_peer *p);
/* p answered ERROR_UNKNOWN_MESSAGE after a PeerHealth: stop sending it
 * until its next Hello. Returns 1 the first time (for one log line). */
int owmc_reg_peer_health_refused(owmc_peer *p);

#endif
