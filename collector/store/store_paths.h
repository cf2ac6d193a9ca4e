/*
 * store_paths.h - which path (source, destination, params) a spooled
 * file measures, for store_path_id.
 *
 * A node spools the streams it RECEIVES, so the destination is the node the
 * file was pulled from. The source and params follow `owmesh import`'s rule:
 *  1. with the mesh file (-m), the stream id names the stream: source node
 *     and the mesh's test name (the same params string `owmesh import`
 *     uses, so imported and collected data land on one path);
 *  2. otherwise (no mesh file, or a stream the current mesh no longer has),
 *     the .owp header's sender address is matched against the nodes'
 *     addresses in the coordinator's directory; params are then the mesh's
 *     test name when the mesh has a stream between those nodes, else
 *     "padding=N dscp=D" from the file, as `owmesh import` does;
 *  3. a sender no node has is named by its address.
 */
#ifndef STORE_PATHS_H
#define STORE_PATHS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meshtypes.h"
#include "meshconf.h"
#include "store.h"

typedef struct store_paths store_paths;

/* The params string of a path src -> dst: the test name of the mesh's
 * stream between them whose parameters (padding, DSCP, packet count) are
 * the file's request's, else "padding=N dscp=D" from the request; without a
 * request (a version 0 file, an unmeasured interval) the first stream's
 * test name, else "imported". mesh may be NULL. The one rule of the
 * collector and `owmesh import`, so both file a session on one path. */
void collector_path_params(const owm_mesh *mesh, const char *src, const char *dst,
                           const owp_request *req, char *buf, size_t len);
/* "127.0.0.2:861", "[::1]:861" or a bare address into (4 or 6, bytes); 0
 * when it is no address (a name). */
int collector_addr_parse(const char *text, uint8_t *ipvn, uint8_t addr[16]);

/* mesh_file may be NULL. */
store_paths *store_paths_new(store_db *store, const char *mesh_file, owp_err *err);
void store_paths_destroy(store_paths **self_p);
/* Read the mesh file again (SIGHUP); on failure the previous mesh stays. */
owp_status store_paths_reload(store_paths *self, owp_err *err);
/* The nodes' addresses, from a Directory. */
owp_status store_paths_set_directory(store_paths *self, const owm_msg_directory *d,
                                         owp_err *err);
/* A puller_path_fn: arg is the store_paths. data is an .owp file or an
 * unmeasured interval (mesh/unmeasured.h, "owmesh-unmeasured " first):
 * the stream id via the mesh, else the sender's address (the .owp header's,
 * the .unm file's "sender") against the directory. */
owp_status store_paths_resolve(void *arg, const char *node, const char *stream_id,
                                   const void *data, size_t len, uint32_t *path_id, owp_err *err);

#endif
