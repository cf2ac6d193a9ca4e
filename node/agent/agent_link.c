/* agent_link.c - DEALER + CURVE connection to the coordinator (see agent_link.h). */
#include "agent_link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshmsg.h"

#define RECONNECT_IVL_MS 200
#define RECONNECT_IVL_MAX_MS 5000
#define ZMQ_HEARTBEAT_IVL_MS 5000
#define ZMQ_HEARTBEAT_TIMEOUT_MS 15000

struct agent_link {
    zsock_t *sock;
    zsock_t *monitor; /* libzmq's socket monitor, read on the agent's thread */
    int up;
    char **down;  /* PeerHealth.down as last received */
    size_t ndown;
};

agent_link *agent_link_new(const agent_link_config *c, owp_err *err)
{
    if (!c || !c->endpoint || !c->cert || !c->server_key) {
        owp_err_set(err, OWP_ERR_INVALID, "coordinator link: endpoint, certificate and key needed");
        return NULL;
    }
    agent_link *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "coordinator link: out of memory");
        return NULL;
    }
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock) {
        owp_err_set(err, OWP_ERR_SYS, "coordinator link: cannot create a ZeroMQ socket");
        free(self);
        return NULL;
    }
    zcert_apply(c->cert, self->sock);
    zsock_set_curve_serverkey(self->sock, c->server_key);
    zsock_set_immediate(self->sock, 1);
    zsock_set_linger(self->sock, 0);
    zsock_set_sndtimeo(self->sock, 0);
    zsock_set_reconnect_ivl(self->sock, RECONNECT_IVL_MS);
    zsock_set_reconnect_ivl_max(self->sock, RECONNECT_IVL_MAX_MS);
    zsock_set_heartbeat_ivl(self->sock, ZMQ_HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout(self->sock, ZMQ_HEARTBEAT_TIMEOUT_MS);

    /* The monitor is listening before the first connection is attempted.
     * No actor thread (czmq's zmonitor): a signal interrupting its poll ends
     * it, and the privilege drop's setuid signals every thread. */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://agent-link-monitor-%p", (void *)self);
    if (zmq_socket_monitor(zsock_resolve(self->sock), endpoint,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(self->monitor = zsock_new(ZMQ_PAIR)) ||
        zsock_connect(self->monitor, "%s", endpoint) != 0) {
        owp_err_set(err, OWP_ERR_SYS, "coordinator link: cannot start the socket monitor");
        agent_link_destroy(&self);
        return NULL;
    }
    if (zsock_connect(self->sock, "%s", c->endpoint) != 0) {
        owp_err_set(err, OWP_ERR_INVALID, "coordinator endpoint \"%s\": %s", c->endpoint,
                    zmq_strerror(zmq_errno()));
        agent_link_destroy(&self);
        return NULL;
    }
    return self;
}

static void forget_peers(agent_link *self)
{
    for (size_t i = 0; i < self->ndown; i++)
        free(self->down[i]);
    free(self->down);
    self->down = NULL;
    self->ndown = 0;
}

void agent_link_destroy(agent_link **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_link *self = *self_p;
    /* Stop the monitor before its reader goes: libzmq's sends to it block. */
    if (self->sock)
        zmq_socket_monitor(zsock_resolve(self->sock), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->sock);
    forget_peers(self);
    free(self);
    *self_p = NULL;
}

zsock_t *agent_link_socket(agent_link *self)
{
    return self->sock;
}

zsock_t *agent_link_monitor(agent_link *self)
{
    return self->monitor;
}

int agent_link_is_up(const agent_link *self)
{
    return self->up;
}

agent_link_event agent_link_read_event(agent_link *self, char *detail, size_t len)
{
    zmsg_t *msg = zmsg_recv(self->monitor);
    if (!msg)
        return AGENT_LINK_NONE;
    /* libzmq's event: the event number (16 bits) and value (32 bits), then
     * the endpoint. */
    zframe_t *head = zmsg_first(msg), *addr = zmsg_next(msg);
    uint16_t event = 0;
    if (head && zframe_size(head) == 6)
        memcpy(&event, zframe_data(head), sizeof event);
    char *endpoint = addr ? zframe_strdup(addr) : NULL;
    zmsg_destroy(&msg);
    const char *name = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED       ? "HANDSHAKE_SUCCEEDED"
                       : event == ZMQ_EVENT_DISCONNECTED             ? "DISCONNECTED"
                       : event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH     ? "HANDSHAKE_FAILED_AUTH"
                       : event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "HANDSHAKE_FAILED_PROTOCOL"
                       : event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                           ? "HANDSHAKE_FAILED_NO_DETAIL"
                           : "?";
    snprintf(detail, len, "%s %s", name, endpoint ? endpoint : "");
    free(endpoint);
    agent_link_event ev = AGENT_LINK_NONE;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        ev = AGENT_LINK_UP;
        self->up = 1;
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        ev = self->up ? AGENT_LINK_DOWN : AGENT_LINK_NONE;
        self->up = 0;
        forget_peers(self);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        ev = AGENT_LINK_REFUSED;
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
               event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        ev = AGENT_LINK_FAILED;
    }
    return ev;
}

owp_status agent_link_send(agent_link *self, const owm_msg *env, owp_err *err)
{
    zframe_t *frame = owm_msg_encode_frame(env, err);
    if (!frame)
        return err ? err->code : OWP_ERR_INVALID;
    int rc = zframe_send(&frame, self->sock, ZFRAME_DONTWAIT);
    int e = zmq_errno();
    zframe_destroy(&frame);
    if (rc != 0)
        return owp_err_set(err, OWP_ERR_CLOSED, "coordinator: %s not sent: %s",
                           owm_msg_kind_name(env->kind),
                           e == EAGAIN ? "not connected" : zmq_strerror(e));
    return OWP_OK;
}

owp_status agent_link_recv(agent_link *self, owm_msg **out, owm_error_code *why,
                           owp_err *err)
{
    *out = NULL;
    zmsg_t *msg = zmsg_recv(self->sock);
    if (!msg)
        return owp_err_set(err, OWP_ERR_INTERRUPTED, "coordinator: receive interrupted");
    owp_status st;
    if (zmsg_size(msg) != 1) {
        if (why)
            *why = OWM_ERROR_MALFORMED;
        st = owp_err_set(err, OWP_ERR_FORMAT,
                         "coordinator: message of %zu frames (one envelope expected)",
                         zmsg_size(msg));
    } else {
        st = owm_msg_decode_zmsg(msg, out, why, err);
        if (st != OWP_OK)
            owp_err_prefix(err, "coordinator");
    }
    zmsg_destroy(&msg);
    return st;
}

static int same_peers(const agent_link *self, const owm_msg_peer_health *m)
{
    if (m->n_down != self->ndown)
        return 0;
    for (size_t i = 0; i < m->n_down; i++)
        if (strcmp(m->down[i], self->down[i]) != 0)
            return 0;
    return 1;
}

owp_status agent_link_set_peer_health(agent_link *self, const owm_msg_peer_health *m,
                                      int *changed, owp_err *err)
{
    *changed = !same_peers(self, m);
    if (!*changed)
        return OWP_OK;
    char **down = calloc(m->n_down ? m->n_down : 1, sizeof *down);
    size_t n = 0;
    for (; down && n < m->n_down; n++)
        if (!(down[n] = strdup(m->down[n])))
            break;
    if (!down || n < m->n_down) {
        for (size_t i = 0; down && i < n; i++)
            free(down[i]);
        free(down);
        *changed = 0;
        return owp_err_set(err, OWP_ERR_NOMEM, "coordinator: PeerHealth: out of memory");
    }
    forget_peers(self);
    self->down = down;
    self->ndown = n;
    return OWP_OK;
}

size_t agent_link_peers_down(const agent_link *self, const char *const **names)
{
    *names = (const char *const *)self->down;
    return self->ndown;
}
