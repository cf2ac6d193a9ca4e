/*
 * agent_data.h - the node's data endpoint: collectors pull the spool here
 * (issue 6, proto/mesh.proto "data plane").
 *
 * A ZeroMQ ROUTER bound to the node's -D endpoint. With a certificate it is a
 * CURVE server (the node's own key pair) and a ZAP handler of its own admits
 * only the listed collector keys: the coordinator's public key (collectors
 * run with the coordinator's certificate, as `owmesh status` does) and any
 * key given with -A. Without a certificate (unit tests only) it is plain.
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
#include "error.h"

#define AGENT_DATA_MAX_FETCHES 16            /* files fetched at once per collector */
#define AGENT_DATA_CHUNK (256u * 1024u)       /* default chunk size */
#define AGENT_DATA_MAX_PEERS 64               /* collectors served at once */
#define AGENT_DATA_MAX_KEYS 32                /* accepted collector keys */

typedef struct agent_data_config {
    const char *node;        /* for logs */
    const char *endpoint;    /* bind, e.g. tcp://127.0.0.2:8621 */
    zcert_t *cert;           /* node's key pair (not owned); NULL = no CURVE (tests) */
    const char *keys[AGENT_DATA_MAX_KEYS]; /* accepted collector public keys, Z85 */
    size_t n_keys;
    agent_spool *spool;      /* not owned */
    uint64_t retention_s;    /* keep acked files this long; 0 = delete on ack */
    uint64_t budget_bytes;   /* disk budget of the spool; 0 = none */
} agent_data_config;

typedef struct agent_data agent_data;

agent_data *agent_data_new(const agent_data_config *config, owp_err *err);
void agent_data_destroy(agent_data **self_p);

/* For the poller: the ROUTER, and the ZAP handler (NULL without CURVE). */
zsock_t *agent_data_socket(agent_data *self);
zsock_t *agent_data_zap(agent_data *self);

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
