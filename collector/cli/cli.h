/*
 * cli.h - the owmesh analyst CLI: one file per command (cmd_NAME.c), this
 * header for what they share: the command table's signature, error output,
 * and a client of the coordinator (a CURVE DEALER asking one question at a
 * time).
 */
#ifndef OWMESH_CLI_H
#define OWMESH_CLI_H

#include <stdint.h>

#include <czmq.h>

#include "error.h"
#include "meshmsg.h"

#define OWMESH_DEFAULT_COORDINATOR "tcp://127.0.0.1:8620"
#define OWMESH_DEFAULT_TIMEOUT_MS 5000

/* Every command: argv[0] is the command name; returns the exit status. */
typedef int(owmesh_cmd_fn)(int argc, char **argv);

int owmesh_cmd_check(int argc, char **argv);
int owmesh_cmd_keygen(int argc, char **argv);
int owmesh_cmd_status(int argc, char **argv);
/* The analysts' commands over the store (analyst.h, owmesh(1)). */
int owmesh_cmd_query(int argc, char **argv);
int owmesh_cmd_grid(int argc, char **argv);
int owmesh_cmd_plot(int argc, char **argv);
int owmesh_cmd_completeness(int argc, char **argv);
int owmesh_cmd_export(int argc, char **argv);
int owmesh_cmd_import(int argc, char **argv);

/* "owmesh: message" on stderr. */
void owmesh_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A connection to the coordinator. cert_path: our key pair (a secret
 * certificate the coordinator trusts: its own, or a node's); server_key: the
 * coordinator's public key (Z85 or a cert file), NULL = the public key of
 * cert_path (the coordinator's own certificate). */
typedef struct owmesh_client owmesh_client;

owmesh_client *owmesh_client_new(const char *endpoint, const char *cert_path,
                                 const char *server_key, int timeout_ms, owp_err *err);
void owmesh_client_destroy(owmesh_client **self_p);

/* Send request and wait for the reply. An Error reply returns NULL with err
 * "coordinator: ERROR_...: text" (OWP_ERR_REFUSED) and *peer_code set;
 * no reply within the timeout is OWP_ERR_TIMEOUT. */
Owmesh__Envelope *owmesh_client_call(owmesh_client *self, const Owmesh__Envelope *request,
                                     Owmesh__ErrorCode *peer_code, owp_err *err);

/* OWAMP timestamp as "2026-11-23T10:00:00Z" (UTC); "-" for 0. */
void owmesh_format_time(uint64_t owp_time, char *buf, size_t len);

#endif
