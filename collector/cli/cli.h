/*
 * cli.h - the owmesh analyst CLI: one file per command (cmd_NAME.c), this
 * header for what they share: the command table's signature, error output,
 * time formatting. The client of the coordinator is the mesh library's
 * (coordclient.h).
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
/* The dashboard and /metrics over the store (collector/serve). */
int owmesh_cmd_serve(int argc, char **argv);

/* "owmesh: message" on stderr. */
void owmesh_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* OWAMP timestamp as "2026-11-23T10:00:00Z" (UTC); "-" for 0. */
void owmesh_format_time(uint64_t owp_time, char *buf, size_t len);

#endif
