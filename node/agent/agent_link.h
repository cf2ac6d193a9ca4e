/*
 * agent_link.h - the node's connection to its coordinator.
 *
 * A ZeroMQ DEALER socket with CURVE (client side: the node's certificate,
 * the coordinator's public key) connected out to the coordinator's ROUTER.
 * ZeroMQ reconnects by itself, with back-off (0.2 s growing to 5 s), for as
 * long as the node runs; ZeroMQ heartbeats (every 5 s, 15 s timeout) notice
 * a coordinator that vanished without closing the connection.
 *
 * A socket monitor tells the agent when a session with the coordinator
 * begins (CURVE handshake succeeded: the agent then says Hello, which is
 * what makes a restarted coordinator know the node again), ends
 * (disconnected), or is refused (handshake failed on authentication: our
 * key is not in the coordinator's mesh). Sends never block: with
 * ZMQ_IMMEDIATE nothing is queued while there is no connection, so a status
 * sent during an outage is dropped instead of arriving stale later.
 *
 * The link also keeps what the coordinator last said about the other
 * nodes (PeerHealth: the set of nodes it has not heard from): a stream
 * whose sending node is in the set attributes the sessions it cannot set up
 * to "peer down". The set is forgotten when the coordinator is lost (what it
 * said is no longer known to be true); it sends a new one at registration.
 *
 * One thread (the agent's main loop) uses an agent_link.
 */
#ifndef OWM_AGENT_LINK_H
#define OWM_AGENT_LINK_H

#include <stddef.h>

#include <czmq.h>

#include "curve.h" /* the node's key pair and the coordinator's key */
#include "error.h"
#include "meshtypes.h"

typedef enum agent_link_event {
    AGENT_LINK_NONE = 0, /* nothing (or an event of no interest) */
    AGENT_LINK_UP,       /* handshake with the coordinator succeeded */
    AGENT_LINK_DOWN,     /* connection lost */
    AGENT_LINK_REFUSED,  /* handshake failed: authentication (key refused) */
    AGENT_LINK_FAILED    /* handshake failed: protocol or unknown reason */
} agent_link_event;

typedef struct agent_link_config {
    const char *endpoint;   /* e.g. tcp://127.0.0.1:5555 */
    zcert_t *cert;          /* the node's key pair (not owned) */
    const char *server_key; /* coordinator's public key, Z85 (40 characters) */
} agent_link_config;

typedef struct agent_link agent_link;

agent_link *agent_link_new(const agent_link_config *config, owp_err *err);
void agent_link_destroy(agent_link **self_p);

/* For a zpoller: the DEALER socket (messages) and the monitor (events). */
zsock_t *agent_link_socket(agent_link *self);
zsock_t *agent_link_monitor(agent_link *self);

/* Read one event from the monitor (call when it is readable); detail gets
 * the event name and peer endpoint for logs. AGENT_LINK_DOWN also empties
 * the set of nodes down. */
agent_link_event agent_link_read_event(agent_link *self, char *detail, size_t len);

/* 1 between AGENT_LINK_UP and AGENT_LINK_DOWN. */
int agent_link_is_up(const agent_link *self);

/* Encode (validating) and send without blocking. OWP_ERR_CLOSED when there
 * is no connection to send on (the message is dropped). */
owp_status agent_link_send(agent_link *self, const owm_msg *env, owp_err *err);

/* Receive one message (call when the socket is readable) and decode it.
 * On a decode failure *why (if non-NULL) is the ErrorCode to answer with. */
owp_status agent_link_recv(agent_link *self, owm_msg **out, owm_error_code *why,
                           owp_err *err);

/* Adopt a (validated) PeerHealth as the set of nodes down. *changed is 1
 * when the set differs from the one kept before. OWP_ERR_NOMEM only. */
owp_status agent_link_set_peer_health(agent_link *self, const owm_msg_peer_health *m,
                                      int *changed, owp_err *err);

/* The nodes the coordinator reports down (ascending; empty when it never
 * said, or the link went down since). Valid until the set changes. */
size_t agent_link_peers_down(const agent_link *self, const char *const **names);

#endif
