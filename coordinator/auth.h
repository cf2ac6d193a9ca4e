/*
 * auth.h - the coordinator's ZAP handler (ZeroMQ RFC 27): which CURVE client
 * keys may connect.
 *
 * czmq's zauth actor takes its allowed keys from a directory of certificate
 * files and runs in a thread of its own; the coordinator instead answers ZAP
 * requests in its own loop, from the mesh it runs at that moment. So a reload
 * changes the accepted keys atomically with the schedules, a refused key is
 * logged with the mesh file that does not list it, and the ZAP reply's
 * User-Id is the client's Z85 public key, which the coordinator reads back on
 * every message (zframe_meta "User-Id") to know which node sent it: the
 * ROUTER identity frame is never trusted.
 *
 * Create it before binding any CURVE server socket: libzmq lets every client
 * in while no ZAP handler is bound.
 */
#ifndef OWMC_AUTH_H
#define OWMC_AUTH_H

#include <czmq.h>

#include "cert.h"
#include "error.h"

/* 1 to accept the client whose key (Z85) connects from address. */
typedef int(owmc_auth_allow_fn)(void *arg, const char *key, const char *address);

typedef struct owmc_auth owmc_auth;

owmc_auth *owmc_auth_new(owmc_auth_allow_fn *allow, void *arg, owp_err *err);
void owmc_auth_destroy(owmc_auth **self_p);

/* The REP socket to poll (zloop_reader). */
zsock_t *owmc_auth_socket(owmc_auth *self);

/* Answer one pending ZAP request. -1 when the socket is gone (interrupted). */
int owmc_auth_handle(owmc_auth *self);

#endif
