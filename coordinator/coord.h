/*
 * coord.h - the coordinator: one CURVE ROUTER socket on the daemons' loop
 * (daemon/daemon_loop.h).
 *
 * Loads the mesh, computes the plan, binds the ROUTER (after installing a
 * ZAP handler, mesh/zap.h, that admits the keys of the mesh running at that
 * moment: nodes, collectors, analysts and its own; so a reload changes keys
 * and schedules together), and then, in
 * one loop:
 *  - answers Hello, ScheduleAck, Status and Error from nodes (identified by
 *    the CURVE key of their connection, never by what they claim), pushes each
 *    node its schedule and retries with back-off until it is acked;
 *  - answers StatusRequest (`owmesh status`) and DirectoryRequest (collectors)
 *    from the collectors and analysts the mesh lists, each by its own key, and
 *    from the coordinator's own key (the operator, on this machine); a node
 *    key is refused on them, as a collector or analyst key is on the node
 *    plane (access.h); every refusal is logged with the key and the peer,
 *    at most once a minute per key (a socket monitor, mesh/monitor.h, logs
 *    the clients refused before ZAP: plaintext, wrong server key);
 *  - reloads the mesh on SIGHUP, and once a second when the file changed (a
 *    bad file is logged and the running mesh kept); once a second pushes
 *    what is due; every few seconds, logs nodes that went missing or came
 *    back and streams that stalled or recovered.
 */
#ifndef OWMC_COORD_H
#define OWMC_COORD_H

#include "error.h"

#define OWMC_DEFAULT_PORT 8620
#define OWMC_DEFAULT_ENDPOINT "tcp://*:8620"
#define OWMC_DEFAULT_NODE_TIMEOUT 30.0 /* seconds without a message: node missing */

typedef struct owmc_config {
    const char *mesh_path;  /* -c */
    const char *cert_path;  /* -k: the coordinator's secret certificate */
    const char *endpoint;   /* -B */
    double node_timeout;    /* -t */
} owmc_config;

typedef struct owmc_coord owmc_coord;

/* Load, plan, bind. NULL with err naming the file, key or endpoint. */
owmc_coord *owmc_coord_new(const owmc_config *config, owp_err *err);
void owmc_coord_destroy(owmc_coord **self_p);

/* Install the signal handlers (SIGHUP reloads, SIGINT/SIGTERM stop, SIGPIPE
 * ignored), bind, and run until SIGINT/SIGTERM. 0 on a clean stop, 1 when
 * the socket cannot be bound. */
int owmc_coord_run(owmc_coord *self);

#endif
