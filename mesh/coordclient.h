/*
 * coordclient.h - a client of the coordinator: a CURVE DEALER that asks one
 * question at a time (StatusRequest, DirectoryRequest, ...). Used by the
 * owmesh CLI (`owmesh status`: owm_coordclient_call, which waits) and by
 * owmesh-collector (the directory of nodes, asked on its loop without ever
 * waiting: owm_coordclient_send, then owm_coordclient_receive when
 * owm_coordclient_socket() is readable; the caller keeps the time).
 *
 * One thread uses a client. The client owns its socket; requests and replies
 * belong to the caller.
 */
#ifndef OWM_COORDCLIENT_H
#define OWM_COORDCLIENT_H

#include <czmq.h>

#include "error.h"
#include "meshmsg.h"

typedef struct owm_coordclient owm_coordclient;

/* A connection to the coordinator at endpoint. cert_path: our key pair (a
 * secret certificate the coordinator trusts: its own, or a node's);
 * server_key: the coordinator's public key (Z85 or a cert file), NULL = the
 * public key of cert_path (the coordinator's own certificate). NULL with err
 * when a key cannot be loaded or the endpoint is not valid. */
owm_coordclient *owm_coordclient_new(const char *endpoint, const char *cert_path,
                                     const char *server_key, int timeout_ms, owp_err *err);
/* The same with a key pair already loaded (cert is copied into the socket,
 * not kept) and the coordinator's public key in Z85: no file is read, so a
 * daemon that dropped root can make a new client. */
owm_coordclient *owm_coordclient_new_cert(const char *endpoint, zcert_t *cert,
                                          const char *server_key_z85, int timeout_ms,
                                          owp_err *err);
/* Close and free; sets *self_p to NULL; accepts NULL and *self_p == NULL. */
void owm_coordclient_destroy(owm_coordclient **self_p);

/* Send request and wait for the reply (a new envelope the caller frees with
 * owm_msg_free). An Error reply returns NULL with err
 * "coordinator: ERROR_...: text" (OWP_ERR_REFUSED) and *peer_code set;
 * no reply within the timeout is OWP_ERR_TIMEOUT. */
owm_msg *owm_coordclient_call(owm_coordclient *self, const owm_msg *request,
                              owm_error_code *peer_code, owp_err *err);

/* Asynchronous use. Send request without waiting (ZeroMQ queues it while
 * the coordinator is away): OWP_OK, or an error naming the endpoint. */
owp_status owm_coordclient_send(owm_coordclient *self, const owm_msg *request, owp_err *err);
/* The socket to watch for the reply (owned by the client). */
zsock_t *owm_coordclient_socket(owm_coordclient *self);
/* The reply, read without waiting: as owm_coordclient_call's result; NULL
 * with OWP_ERR_TIMEOUT when none has arrived yet. */
owm_msg *owm_coordclient_receive(owm_coordclient *self, owm_error_code *peer_code,
                                 owp_err *err);
/* The timeout given to _new, in seconds (for an asynchronous caller's clock). */
double owm_coordclient_timeout(const owm_coordclient *self);
const char *owm_coordclient_endpoint(const owm_coordclient *self);

#endif
