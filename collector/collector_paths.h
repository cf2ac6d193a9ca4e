/*
 * collector_paths.h - which path (source, destination, params) a spooled
 * file measures, for owm_store_path_id.
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
#ifndef OWM_COLLECTOR_PATHS_H
#define OWM_COLLECTOR_PATHS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mesh.pb-c.h"
#include "store.h"

typedef struct collector_paths collector_paths;

/* mesh_file may be NULL. */
collector_paths *collector_paths_new(owm_store *store, const char *mesh_file, owp_err *err);
void collector_paths_destroy(collector_paths **self_p);
/* Read the mesh file again (SIGHUP); on failure the previous mesh stays. */
owp_status collector_paths_reload(collector_paths *self, owp_err *err);
/* The nodes' addresses, from a Directory. */
owp_status collector_paths_set_directory(collector_paths *self, const Owmesh__Directory *d,
                                         owp_err *err);
/* A puller_path_fn: arg is the collector_paths. */
owp_status collector_paths_resolve(void *arg, const char *node, const char *stream_id,
                                   const void *data, size_t len, uint32_t *path_id, owp_err *err);

#endif
