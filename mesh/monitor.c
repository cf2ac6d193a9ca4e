/* monitor.c - log the handshakes a CURVE server refuses (see monitor.h). */
#include "monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ratelimit.h"

struct owm_monitor {
    void *watched; /* the monitored socket (libzmq handle) */
    zsock_t *pair; /* the events libzmq sends, read on the caller's thread */
    char who[64];
    owm_zap_log_fn *log;
    void *log_arg;
    owm_ratelimit quiet; /* per endpoint */
};

/* One endpoint name per monitor in the process. */
static unsigned monitor_count;

/* libzmq's socket monitor straight into a PAIR socket of ours: no thread of
 * its own (czmq's zmonitor actor ends when a signal interrupts its poll, as
 * the privilege drop's setuid does in every thread). */
owm_monitor *owm_monitor_new(zsock_t *sock, const char *who, owm_zap_log_fn *log, void *log_arg,
                             owp_err *err)
{
    owm_monitor *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "%s: socket monitor: out of memory", who);
        return NULL;
    }
    snprintf(self->who, sizeof self->who, "%s", who);
    self->log = log;
    self->log_arg = log_arg;
    owm_ratelimit_init(&self->quiet, OWM_RATELIMIT_PERIOD);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://owm-monitor-%d-%u", (int)getpid(),
             monitor_count++);
    self->watched = zsock_resolve(sock);
    if (zmq_socket_monitor(self->watched, endpoint,
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
        !(self->pair = zsock_new(ZMQ_PAIR)) || zsock_connect(self->pair, "%s", endpoint) != 0) {
        owp_err_set(err, OWP_ERR_SYS, "%s: cannot start the socket monitor: %s", who,
                    zmq_strerror(zmq_errno()));
        owm_monitor_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->pair, 0);
    return self;
}

void owm_monitor_destroy(owm_monitor **self_p)
{
    if (!self_p || !*self_p)
        return;
    /* Stop it before its reader goes: libzmq's sends to it block. */
    if ((*self_p)->watched)
        zmq_socket_monitor((*self_p)->watched, NULL, 0);
    zsock_destroy(&(*self_p)->pair);
    free(*self_p);
    *self_p = NULL;
}

zsock_t *owm_monitor_socket(owm_monitor *self)
{
    return self->pair;
}

const char *owm_monitor_protocol_error(long code)
{
    switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "not CURVE (a plaintext client?)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return "CURVE decryption failed (does the client use this server's public key?)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
        return "CURVE key exchange failed";
    case ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND:
    case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE:
        return "ZMTP handshake out of order (not a ZeroMQ CURVE client?)";
    default:
        if ((code & 0xFF000000L) == 0x10000000L)
            return "malformed ZMTP handshake";
        if ((code & 0xFF000000L) == 0x20000000L)
            return "ZAP failed";
        return "handshake failed";
    }
}

/* libzmq's event: frame 1 the event number (16 bits) and its value (32
 * bits), frame 2 the endpoint. 0 when the message is not one. */
static int read_event(zmsg_t *msg, uint16_t *event, uint32_t *value, char *endpoint, size_t len)
{
    zframe_t *head = zmsg_first(msg), *addr = zmsg_next(msg);
    if (!head || zframe_size(head) != 6)
        return 0;
    memcpy(event, zframe_data(head), sizeof *event);
    memcpy(value, zframe_data(head) + 2, sizeof *value);
    size_t n = addr ? zframe_size(addr) : 0;
    if (n >= len)
        n = len - 1;
    if (n)
        memcpy(endpoint, zframe_data(addr), n);
    endpoint[n] = '\0';
    return 1;
}

int owm_monitor_handle(owm_monitor *self, double now)
{
    zmsg_t *msg = zmsg_recv(self->pair);
    if (!msg)
        return 0;
    uint16_t event = 0;
    uint32_t value = 0;
    char endpoint[256] = "";
    int ok = read_event(msg, &event, &value, endpoint, sizeof endpoint);
    zmsg_destroy(&msg);
    if (!ok || !(event & (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)))
        return 0;
    const char *why = event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                          ? owm_monitor_protocol_error((long)value)
                          : "handshake failed (no detail: the peer went away?)";
    /* One line per endpoint and reason a period: libzmq 4.3 names the
     * endpoint that refused, not the peer (its stable monitor API has no
     * remote address). */
    char subject[300], line[512];
    snprintf(subject, sizeof subject, "%.200s %.90s", endpoint, why); /* a key: may be cut */
    if (!self->log || !owm_ratelimit_allow(&self->quiet, subject, now))
        return 0;
    snprintf(line, sizeof line, "%s: refused a connection on %s: %s", self->who,
             endpoint[0] ? endpoint : "?", why);
    self->log(self->log_arg, LOG_WARNING, line);
    return 1;
}
