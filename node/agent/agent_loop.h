/*
 * agent_loop.h - owmesh-node's life after start-up: the schedules it runs,
 * its conversation with the coordinator (Hello, ScheduleAck, Status,
 * Error, PeerHealth) and its loop (daemon/daemon_loop.h). owmesh-node.c
 * holds the options and the start-up steps that fill an agent in.
 *
 * On the loop: a reader for the coordinator link, its monitor, and (unless
 * -D none) the data endpoint, its ZAP socket and its socket monitor; after every event and every
 * AGENT_POLL_MS (5 ms while the data endpoint is busy sending), a tick:
 * owampd supervision, the data endpoint's timers, the heartbeat file, and
 * Status every AGENT_HEARTBEAT_S or at once (at most every
 * AGENT_STATUS_MIN_GAP_S) when a stream changed state. SIGHUP sends Hello
 * again; SIGTERM/SIGINT end agent_loop_run.
 *
 * Threading: the main thread only. The agent's parts are owned by the agent
 * and freed by owmesh-node.c's shutdown.
 */
#ifndef OWMESH_AGENT_LOOP_H
#define OWMESH_AGENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "agent_data.h"
#include "agent_link.h"
#include "agent_owampd.h"
#include "agent_spool.h"
#include "agent_streams.h"
#include "daemon_log.h"
#include "daemon_loop.h"
#include "timestamp.h"

#define AGENT_PROGNAME "owmesh-node"
#define NODE_PATH_MAX 4096
#define AGENT_ALIVE_S 2.0     /* heartbeat file rewritten every ... */

/* Where the data endpoint is served (owmesh-node -D). */
typedef enum agent_data_source {
    AGENT_DATA_FROM_MESH = 0, /* no -D: the schedule's data_endpoint, else the default */
    AGENT_DATA_FROM_OPTION,   /* -D ENDPOINT: there, whatever the mesh says */
    AGENT_DATA_OFF            /* -D none: not served */
} agent_data_source;

typedef struct agent_options {
    const char *node;
    const char *confdir;
    const char *cert_path;
    const char *server_key;
    const char *endpoint;
    const char *datadir;
    const char *owamp_address;
    const char *testports;
    const char *owampd_path;
    const char *data_endpoint; /* -D ENDPOINT; NULL without -D or with -D none */
    const char *collector_keys[AGENT_DATA_MAX_KEYS]; /* Z85 once the keys are loaded */
    size_t n_collector_keys;
    uint64_t retention_s;
    uint64_t budget_bytes;
    daemon_log_opts log; /* -Z, -e, -v */
} agent_options;

typedef struct agent agent;

/* One of the loop's readers: what its event does. */
typedef struct agent_reader {
    agent *a;
    void (*handle)(agent *a, double now);
} agent_reader;

struct agent {
    agent_options opt;
    char src_host[256];
    char pfs_path[NODE_PATH_MAX + 64];
    char schedule_path[NODE_PATH_MAX + 64];
    char alive_path[NODE_PATH_MAX + 64];
    owp_num64 last_alive; /* the previous run's last heartbeat; 0 once used (or none) */
    double alive_written;
    double spool_retried; /* when the files waiting for the spool were last retried */
    int lock_fd;
    agent_spool *spool;
    agent_streams *streams;
    agent_owampd *owampd;
    zcert_t *cert;
    agent_link *link;
    agent_data *data;
    agent_data_source data_source;
    char default_data_endpoint[AGENT_DATA_MAX_ENDPOINT + 1]; /* tcp://ADDR:8621; "" = none */
    /* The running schedule's data_endpoint ("" = the mesh names none): kept
     * for the data endpoint, which starts after the saved schedule resumed. */
    char mesh_data_endpoint[AGENT_DATA_MAX_ENDPOINT + 1];
    int hello_due;       /* the data endpoint moved: announce it */
    uint64_t generation; /* of the schedule we run; 0 = none */
    /* The collectors that schedule lists: kept for the data endpoint, which
     * starts after the saved schedule is resumed. */
    agent_data_collector collectors[AGENT_DATA_MAX_COLLECTORS];
    size_t n_collectors;
    double last_status, last_hello;
    unsigned refusals;
    daemon_loop *loop;
    agent_reader readers[5]; /* link, link monitor, data endpoint, its ZAP, its monitor */
    size_t n_readers;
    int tick_id;          /* the loop's timer: -1 before the loop runs */
    size_t tick_ms;       /* its period */
};

/* Reconcile the streams with a schedule and adopt its generation, its
 * collectors and (without -D, once the loop runs) its data endpoint: 0, or -1
 * (logged) when the streams could not be reconciled. origin names where it
 * came from in the log ("saved", "from the coordinator"). */
int agent_run_schedule(agent *a, const owm_msg_schedule *s, const char *origin);

/* The schedule saved by the last run, started before the coordinator
 * answers: 1 when a saved schedule now runs. */
int agent_resume_saved_schedule(agent *a);

/* Serve the data endpoint where it belongs now: -D; without -D the
 * schedule's data_endpoint (when it cannot be bound, logged, the default),
 * else the default; nothing with -D none or when there is nowhere to serve.
 * Called at start-up (before the loop) and by the loop when a schedule first
 * names an endpoint for a node that had none. -1 (logged) when -D's endpoint
 * could not be bound; without -D such a failure is logged and the node goes
 * on without serving (every schedule tries again). */
int agent_start_data(agent *a);

/* Rewrite the heartbeat file (DATADIR/alive) now; now is monotonic. */
void agent_write_heartbeat(agent *a, double now);

/* Run the loop until SIGTERM/SIGINT: 0, or -1 when it could not be set up
 * or ended on an error (logged). */
int agent_loop_run(agent *a);

#endif
