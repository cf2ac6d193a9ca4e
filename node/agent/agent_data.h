/*
 * agent_data.h - the node's data endpoint: collectors pull the spool here
 * (issue 6, proto/mesh.proto "data plane").
 *
 * A ZeroMQ ROUTER bound to the node's data endpoint (-D, the mesh's
 * data-endpoint, or the default; it can move: agent_data_rebind). With a certificate it is a
 * CURVE server (the node's own key pair) and a ZAP handler of its own admits
 * only collector keys: those the coordinator's schedule lists
 * (Schedule.collectors, agent_data_set_collectors: every collector of the
 * mesh, each with its own key pair) and any given with -A. Every other key
 * (an analyst's, a node's, an unlisted one) is refused and logged with the
 * key and the peer address; a key dropped from the mesh is refused on its
 * next message too, even on a connection admitted before. A socket monitor
 * (mesh/monitor.h) logs the clients refused before ZAP: plaintext ones,
 * ones using the wrong server key. Refusals are logged at most once a
 * minute per key or peer host. Without a certificate (unit tests only) it
 * is plain.
 *
 * Serving, per collector (ROUTER identity) and per file:
 *  - FileListRequest: the spool's files with seq > after_seq, ascending, at
 *    most max_files, `more` when others follow;
 *  - FileFetch: chunks of the file from offset, never more than the credit
 *    granted (FileFetch.credit, then FileCredit): at most
 *    AGENT_DATA_MAX_FETCHES files x credit x chunk_size bytes are ever
 *    buffered per collector, whatever its speed; a send that would block (the
 *    collector's queue is full) waits for the next pump instead;
 *  - FileAck: the files are acked. With retention 0 they are deleted at once;
 *    otherwise an acked file is made read-only (mode 0444) with its
 *    modification time set to the ack: that mark survives restarts, and
 *    the file is deleted once older than the retention (other collectors can
 *    pull it meanwhile).
 * Unacked files are kept forever, unless the spool exceeds the disk budget:
 * then the oldest acked files go first, and only if that is not enough the
 * oldest unacked ones, each deletion logged as an error.
 *
 * One thread (the agent's main loop) uses an agent_data.
 */
#ifndef OWM_AGENT_DATA_H
#define OWM_AGENT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "agent_spool.h"
#include "curve.h"
#include "error.h"
#include "meshmsg.h"

#define AGENT_DATA_MAX_FETCHES 16            /* files fetched at once per collector */
#define AGENT_DATA_CHUNK (256u * 1024u)       /* default chunk size */
#define AGENT_DATA_MAX_PEERS 64               /* collectors served at once */
#define AGENT_DATA_MAX_KEYS 32                /* collector keys given with -A */
#define AGENT_DATA_MAX_COLLECTORS 256         /* collectors a schedule may list */
#define AGENT_DATA_MAX_ENDPOINT OWM_MSG_MAX_ADDRESS /* bytes of an endpoint */

typedef struct agent_data_config {
    const char *node;        /* for logs */
    const char *endpoint;    /* bind, e.g. tcp://127.0.0.2:8621 */
    zcert_t *cert;           /* node's key pair (not owned); NULL = no CURVE (tests) */
    const char *keys[AGENT_DATA_MAX_KEYS]; /* -A: collector public keys, Z85 */
    size_t n_keys;
    agent_spool *spool;      /* not owned */
    uint64_t retention_s;    /* keep acked files this long; 0 = delete on ack */
    uint64_t budget_bytes;   /* disk budget of the spool; 0 = none */
} agent_data_config;

typedef struct agent_data agent_data;

/* A collector of the mesh, as the coordinator's schedule lists it. */
typedef struct agent_data_collector {
    char name[OWM_MSG_MAX_NAME + 1];
    char key[OWM_CURVE_KEY_LEN + 1];
} agent_data_collector;

/* Copy a schedule's collectors into out (at most max; *n gets how many),
 * for agent_data_set_collectors. 1 when some did not fit. */
int agent_data_collectors_from(const owm_msg_schedule *s, agent_data_collector *out, size_t max,
                               size_t *n);

agent_data *agent_data_new(const agent_data_config *config, owp_err *err);
void agent_data_destroy(agent_data **self_p);

/* The endpoint served, as configured (config->endpoint, then the last
 * agent_data_rebind that succeeded): what Hello.data_endpoint announces. */
const char *agent_data_endpoint(const agent_data *self);

/* Serve on endpoint instead (the mesh moved the node's data endpoint): bind
 * the new one, then unbind the old one, whose connected collectors are
 * dropped (they find the new one in the coordinator's directory). The same
 * socket stays, so the poller and the collectors' state are kept. When the
 * new one cannot be bound the old one still serves: OWP_ERR_SYS (or
 * OWP_ERR_INVALID) naming both endpoints and why. OWP_OK, nothing done, when
 * endpoint is the one served. */
owp_status agent_data_rebind(agent_data *self, const char *endpoint, owp_err *err);

/* The collectors the running schedule lists (copied), replacing the
 * previous ones; the -A keys stay. Logged when the set changes. */
void agent_data_set_collectors(agent_data *self, const agent_data_collector *c, size_t n);

/* 1 when key may pull data: a listed collector's or an -A key. */
int agent_data_admits(const agent_data *self, const char *key);

/* For the poller: the ROUTER, the ZAP handler and the socket monitor (both
 * NULL without CURVE). */
zsock_t *agent_data_socket(agent_data *self);
zsock_t *agent_data_zap(agent_data *self);
zsock_t *agent_data_monitor(agent_data *self);
/* The monitor is readable: log a refused handshake. */
void agent_data_handle_monitor(agent_data *self);

/* The ROUTER is readable: handle every waiting message, then pump chunks. */
void agent_data_handle(agent_data *self);
/* The ZAP handler is readable: answer one authentication request. */
void agent_data_handle_zap(agent_data *self);
/* Now and then (every loop turn): send chunks held back by a full queue,
 * forget idle collectors, apply retention and the disk budget. */
void agent_data_tick(agent_data *self, double now);
/* 1 when chunks wait for room in a collector's queue (poll sooner). */
int agent_data_busy(const agent_data *self);

/* Delete by the retention and budget rules now (also called by tick). */
void agent_data_enforce(agent_data *self, double now);

#endif
