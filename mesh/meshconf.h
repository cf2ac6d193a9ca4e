/*
 * meshconf.h - mesh definitions (mesh-configs/NAME.json, owmesh-mesh(5)).
 *
 * A mesh definition names the nodes, the collectors and analysts it trusts
 * (by their CURVE public keys), groups of nodes, latencybg tests (the
 * parameters of a continuous powstream-style stream) and tasks that join a
 * group with a test. Loading it validates everything and expands the tasks
 * into the list of streams the coordinator schedules: one stream sends
 * packets from its source node to its destination node with one set of
 * parameters. Both the native format and a perfSONAR pSConfig template
 * (addresses/groups/tests/tasks, tests of type latencybg) are read.
 *
 * Every error is an OWP_ERR_PARSE (or OWP_ERR_SYS when the file cannot be
 * opened) whose message names the file, the JSON path and what was expected:
 *   "demo.json: $.tests.owd.packet-count: expected a positive integer, got \"ten\""
 *   "demo.json:3:17: '}' expected near ','"            (bad JSON: line:column)
 *
 * Ownership: an owm_mesh owns every node, stream, string and warning it hands
 * out; they stay valid until owm_mesh_destroy. The mesh is immutable after
 * loading, so several threads may read it at once.
 */
#ifndef OWM_MESHCONF_H
#define OWM_MESHCONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define OWM_OWAMP_PORT 861           /* default OWAMP control port */
#define OWM_STREAM_ID_LEN 32         /* hex digits of a stream identifier */
#define OWM_MESH_MAX_STREAMS 1048576 /* expansions beyond this are refused */

typedef enum owm_mesh_format {
    OWM_MESH_NATIVE = 0,  /* "nodes", "groups", "tests", "tasks" */
    OWM_MESH_PSCONFIG = 1 /* "addresses", "groups", "tests" (spec), "tasks" */
} owm_mesh_format;

typedef struct owm_node {
    const char *name;          /* key in "nodes" (or pSConfig "addresses") */
    const char *address;       /* as written: "host", "host:port", "[v6]:port" */
    char host[256];            /* the host part, without brackets or port */
    uint16_t owamp_port;       /* OWAMP control port: from address, "owamp-port", else 861 */
    const char *public_key;    /* Z85 CURVE public key (40 chars, validated), or NULL */
    const char *data_endpoint; /* ZeroMQ endpoint of the node's spool ("tcp://h:p"), or NULL */
    size_t index;              /* position in the file, 0-based */
} owm_node;

/* What a CURVE key may do in a mesh (owmesh-mesh(5), "Security"): a node
 * speaks the node plane only; a collector reads the node directory and
 * status and pulls data from the nodes; an analyst reads the directory and
 * status. */
typedef enum owm_role {
    OWM_ROLE_NONE = 0, /* not in the mesh */
    OWM_ROLE_NODE,
    OWM_ROLE_COLLECTOR,
    OWM_ROLE_ANALYST
} owm_role;

/* A collector or an analyst the mesh trusts: an entry of "collectors" or
 * "analysts" (pSConfig: of "_meta"). Names are unique across nodes,
 * collectors and analysts; so are keys. */
typedef struct owm_client {
    const char *name;       /* key in "collectors" or "analysts" */
    const char *public_key; /* Z85 CURVE public key (40 chars, validated) */
    owm_role role;          /* OWM_ROLE_COLLECTOR or OWM_ROLE_ANALYST */
} owm_client;

/* The parameters of one stream, as powstream's options. Defaults are
 * powstream's (programs.md §8) and are filled for every absent key. */
typedef struct owm_test_params {
    double packet_interval;     /* -i: mean seconds between packets (exponential); 0.1 */
    uint32_t packet_count;      /* -c: packets per session; 300 */
    uint32_t packet_padding;    /* -s: padding bytes, 0-65535; 0 */
    double loss_timeout;        /* -L: seconds before a packet counts as lost; 10 */
    double bucket_width;        /* -b: histogram bucket width in seconds; 0.0001 */
    uint32_t sub_session_count; /* -N: packets per sub-session summary; divides
                                 * packet_count; = packet_count (no sub-sessions) */
    uint8_t dscp;               /* -D: 0-63; 0 */
    uint32_t auth_modes;        /* -A: OWP_MODE_* bits; all three ("AEO") */
} owm_test_params;

typedef struct owm_stream {
    const owm_node *src;    /* sends the test packets */
    const owm_node *dst;    /* receives them */
    owm_test_params params;
    const char *test;       /* test name of the first task that produced it */
    const char *task;       /* that task's name */
    /* Stable identifier: lower-case hex of the first 16 bytes of SHA-256 over
     * the canonical text "src-name>dst-name src-host:port>dst-host:port
     * i=.. c=.. s=.. L=.. b=.. N=.. D=.. A=..". It depends only on what the
     * stream does, never on task/test names or file order, so the coordinator
     * can keep unchanged streams running across reloads. */
    char id[OWM_STREAM_ID_LEN + 1];
} owm_stream;

typedef struct owm_mesh owm_mesh;

/* Read and validate a mesh file, expand its streams. NULL on error with
 * *err filled (see the top of this file). */
owm_mesh *owm_mesh_load(const char *path, owp_err *err);

/* The same from text in memory; name is used in messages in place of the
 * file name. text need not be NUL-terminated. */
owm_mesh *owm_mesh_parse(const char *text, size_t len, const char *name, owp_err *err);

/* Free the mesh and set *self_p to NULL; accepts NULL and *self_p == NULL. */
void owm_mesh_destroy(owm_mesh **self_p);

owm_mesh_format owm_mesh_get_format(const owm_mesh *self);
const char *owm_mesh_source(const owm_mesh *self); /* the path or name given */

/* Nodes in file order. */
size_t owm_mesh_node_count(const owm_mesh *self);
const owm_node *owm_mesh_node(const owm_mesh *self, size_t index); /* NULL past the end */
const owm_node *owm_mesh_node_find(const owm_mesh *self, const char *name);
/* The node whose public key is key (Z85 text), or NULL (for zauth/ZAP). */
const owm_node *owm_mesh_node_by_key(const owm_mesh *self, const char *key);

/* Collectors then analysts, each in file order. */
size_t owm_mesh_client_count(const owm_mesh *self);
const owm_client *owm_mesh_client(const owm_mesh *self, size_t index); /* NULL past the end */
/* The collector or analyst whose public key is key, or NULL. */
const owm_client *owm_mesh_client_by_key(const owm_mesh *self, const char *key);
/* The role of a key in the mesh (NODE, COLLECTOR, ANALYST or NONE); *name
 * (when name is non-NULL) gets the node's or client's name, or NULL. */
owm_role owm_mesh_key_role(const owm_mesh *self, const char *key, const char **name);
/* "node", "collector", "analyst"; "unknown" for anything else. */
const char *owm_role_name(owm_role role);

/* Streams in expansion order: tasks in file order, then the group's pairs
 * (mesh: member order, each source with every other member; disjoint: a->b
 * pairs then b->a; list: as written). Duplicates (same source, destination
 * and parameters) are kept once, where they first appear. */
size_t owm_mesh_stream_count(const owm_mesh *self);
const owm_stream *owm_mesh_streams(const owm_mesh *self); /* array of count */
const owm_stream *owm_mesh_stream_find(const owm_mesh *self, const char *id);

/* Notes that did not stop loading (pSConfig tests of other types, tasks
 * skipped because of them, ...), each "FILE: $.path: text". */
size_t owm_mesh_warning_count(const owm_mesh *self);
const char *owm_mesh_warning(const owm_mesh *self, size_t index);

/* One stream as an `owmesh check` line (no newline):
 * "nyc -> chi  interval=0.1 count=600 padding=0 loss-timeout=10
 *  bucket-width=0.0001 sub-sessions=60 dscp=0 auth=AEO task=core-owd".
 * Returns the length snprintf would have written. */
int owm_stream_format(const owm_stream *stream, char *buf, size_t len);

/* Every stream, one line each, to fp (the `owmesh check` output). */
owp_status owm_mesh_print_streams(const owm_mesh *self, FILE *fp, owp_err *err);

/* powstream's defaults. */
void owm_test_params_default(owm_test_params *params);

/* "host:port", or "[v6]:port" for an IPv6 host: the node's OWAMP server. */
int owm_node_format_server(const owm_node *node, char *buf, size_t len);

#endif
