/*
 * monitor.h - a log line for every connection a CURVE server socket refuses
 * in the handshake, before ZAP is asked: a plaintext (NULL mechanism) client,
 * a client that encrypts to the wrong server key, a garbled greeting. libzmq
 * drops those silently; its socket monitor (zmq_socket_monitor) reports them
 * as HANDSHAKE_FAILED_PROTOCOL / HANDSHAKE_FAILED_NO_DETAIL events. Refusals
 * ZAP decides (a key not admitted) are logged by the daemon's ZAP callback
 * (mesh/zap.h), which knows the key and the peer address.
 *
 * The events reach a PAIR socket the daemon polls on its own thread (no
 * actor thread: czmq's zmonitor ends when a signal interrupts it, as the
 * setuid of a privilege drop does). libzmq 4.3's stable monitor API names
 * the endpoint that refused, not the peer, so a line reads:
 *   "coordinator: refused a connection on tcp://127.0.0.1:8620: not CURVE
 *    (a plaintext client?)"
 * at most once per endpoint and reason every OWM_RATELIMIT_PERIOD (a client
 * retries every few hundred milliseconds).
 *
 * The coordinator's ROUTER and a node's data endpoint each have one. Start
 * it before binding the socket; poll owm_monitor_socket and call
 * owm_monitor_handle when it is readable. The library never logs itself:
 * lines go to the log callback.
 */
#ifndef OWM_MONITOR_H
#define OWM_MONITOR_H

#include <czmq.h>

#include "error.h"
#include "zap.h" /* owm_zap_log_fn */

typedef struct owm_monitor owm_monitor;

/* Watch sock (not owned; destroy the monitor before it). who starts every
 * line ("coordinator", "node n1: data"). NULL with err when the monitor
 * cannot start. */
owm_monitor *owm_monitor_new(zsock_t *sock, const char *who, owm_zap_log_fn *log, void *log_arg,
                             owp_err *err);
void owm_monitor_destroy(owm_monitor **self_p);

/* The socket to poll: readable when an event waits. */
zsock_t *owm_monitor_socket(owm_monitor *self);

/* Read one event and log it if it is a refused handshake (rate-limited);
 * now is monotonic seconds. 1 when a line was logged, 0 otherwise. */
int owm_monitor_handle(owm_monitor *self, double now);

/* Words for a ZMQ_PROTOCOL_ERROR_* code, for the log. Never NULL. */
const char *owm_monitor_protocol_error(long code);

#endif
