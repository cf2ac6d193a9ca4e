/*
 * zap.h - a ZAP handler (ZeroMQ RFC 27) that accepts the CURVE clients whose
 * public key a callback approves.
 *
 * czmq's zauth actor takes its allowed keys from a directory of certificate
 * files and runs in a thread of its own; the owmesh daemons instead answer
 * ZAP requests in their own loop (poll owm_zap_socket, call owm_zap_handle),
 * from what they know at that moment: the coordinator from the mesh it runs,
 * a node's data endpoint from the coordinator's key and its -A keys.
 *
 * The approve callback sees every CURVE request: it says yes or no, and on
 * no it logs why (it knows: "not in mesh.json", "not one given with -A"),
 * naming the peer address and key it is given. A request that is not CURVE,
 * or is malformed, is refused here without asking; the optional log hook
 * hears about it. The reply's User-Id is the client's Z85 public key, which
 * the daemon reads back on every message (zframe_meta "User-Id").
 *
 * ZAP has one endpoint per process (inproc://zeromq.zap.01): one handler per
 * process, created before binding any CURVE server socket (libzmq lets every
 * client in while no ZAP handler is bound). The library never logs itself.
 */
#ifndef OWM_ZAP_H
#define OWM_ZAP_H

#include <czmq.h>

#include "error.h"

/* 1 to accept the client whose public key (Z85, 40 characters) connects
 * from address ("?" when libzmq does not say). */
typedef int(owm_zap_allow_fn)(void *arg, const char *key, const char *address);

/* Where refusals of non-CURVE or malformed requests are told: the shape of
 * daemon_log_callback (priority is a syslog priority). */
typedef void(owm_zap_log_fn)(void *arg, int priority, const char *msg);

typedef struct owm_zap owm_zap;

/* Bind the process's ZAP endpoint. NULL with *err set when it is taken. */
owm_zap *owm_zap_new(owm_zap_allow_fn *allow, void *arg, owp_err *err);
void owm_zap_destroy(owm_zap **self_p);

/* Optional: log refusals the handler decides alone (not CURVE, malformed). */
void owm_zap_set_log(owm_zap *self, owm_zap_log_fn *log, void *log_arg);

/* The REP socket to poll. Owned by the handler. */
zsock_t *owm_zap_socket(owm_zap *self);

/* Answer one pending request. -1 when nothing could be received (the
 * socket is gone or the receive was interrupted), else 0. */
int owm_zap_handle(owm_zap *self);

#endif
