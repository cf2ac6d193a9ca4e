/*
 * assign.h - which collector pulls which node when collectors share an
 * archive (issue 12; owmesh-collector(8), "Sharing an archive").
 *
 * A collector says in every DirectoryRequest which archive it writes to
 * ("" = a store of its own, e.g. LMDB) and its heartbeat period, and which
 * nodes it pulls at that moment. Collectors of one archive divide the nodes
 * between them; every other collector (one of its own archive, one that
 * never said, one not heard yet) pulls every node, as before issue 12.
 *
 *  - Liveness: a collector sharing an archive is live until it has not been
 *    heard from for OWMC_ASSIGN_DEAD_PERIODS of its periods (dead after
 *    exactly two: at now - last_heard >= 2 x period).
 *  - Owner: each node's owner in an archive is the live collector of that
 *    archive with the highest owmc_assign_weight(node, collector)
 *    (rendezvous hashing): adding a collector moves only the nodes it wins,
 *    and a death moves only the dead one's nodes.
 *  - Grant: a node is told to its owner (Directory.nodes[].assigned) only
 *    once no other live collector of the archive holds it (was told it in
 *    its last Directory, or reports pulling it): the previous owner lets go
 *    at its next request, or is dead (and its lease, 1.5 periods since its
 *    last request, ran out before the 2 periods that made it dead). So no
 *    node is pulled by two collectors of an archive at once.
 *  - Settling: a coordinator that has just started does not know the
 *    collectors not heard yet; until every collector of the mesh has been
 *    heard or two periods of the asker have passed, a collector keeps the
 *    nodes it reports pulling (if it owns them) and gets no new ones.
 *  - Next request: the Directory asks a collector to come back sooner than
 *    its period when something it waits for may happen sooner (a collector
 *    of its archive that is late and may die, a node another holds): so a
 *    dead collector's nodes are pulled again within two of its periods
 *    after its last request, plus a round trip.
 *  - Node lists: each node's Schedule.collectors lists the collectors that
 *    may pull it: every collector not sharing an archive, and in each shared
 *    archive the node's owner and the live collectors holding it.
 *    owmc_assign_update says which nodes' lists changed (they are pushed a
 *    new schedule generation).
 *
 * No I/O and no clock of its own (`now`: monotonic seconds): the unit tests
 * drive it with a fake clock. Collectors are the mesh's clients of role
 * collector, indexed like owm_mesh_client(); nodes like owm_mesh_node().
 */
#ifndef OWMC_ASSIGN_H
#define OWMC_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meshconf.h"
#include "meshtypes.h"

#define OWMC_ASSIGN_DEAD_PERIODS 2.0   /* not heard from for this many periods: dead */
#define OWMC_ASSIGN_DEFAULT_PERIOD 30.0 /* a sharing collector that gives no heartbeat */
#define OWMC_ASSIGN_MARGIN 0.05         /* seconds added to a next request after an event */

typedef struct owmc_assign owmc_assign;

/* State for mesh (borrowed: it must outlive the assignment or be replaced
 * with owmc_assign_set_mesh first), started at now. NULL with OWP_ERR_NOMEM. */
owmc_assign *owmc_assign_new(const owm_mesh *mesh, double now, owp_err *err);
void owmc_assign_destroy(owmc_assign **self_p);

/* A reloaded mesh: what was known of collectors and nodes is carried over
 * by name. On failure (OWP_ERR_NOMEM) the assignment is unchanged. */
owp_status owmc_assign_set_mesh(owmc_assign *self, const owm_mesh *mesh, owp_err *err);

/* The rendezvous weight of (node, collector): FNV-1a 64 over "node\0collector"
 * mixed with splitmix64's finaliser; the same on every machine and run. */
uint64_t owmc_assign_weight(const char *node, const char *collector);

/* A DirectoryRequest from the mesh's collector named collector (the name of
 * the mesh client its CURVE key belongs to). Unknown names are ignored.
 * Nodes in req->pulling that the mesh does not list are ignored. */
void owmc_assign_heard(owmc_assign *self, const char *collector,
                       const owm_msg_directory_request *req, double now);

/* Called once per node whose owner in an archive changed: owner and was are
 * collector names or NULL (none live); why says what happened to was
 * ("not heard from for 10.0 s", "still live", ...). */
typedef void(owmc_assign_log_fn)(void *arg, const char *node, const char *archive,
                                 const char *owner, const char *was, const char *why);

/* Recompute owners (logging each change) and every node's list of
 * collectors. changed (may be NULL) gets one flag per node: its list
 * changed since the last update. Returns how many nodes' lists changed. */
size_t owmc_assign_update(owmc_assign *self, double now, owmc_assign_log_fn *log, void *arg,
                          unsigned char *changed);

/* The answer to collector's request at now (after owmc_assign_heard and
 * owmc_assign_update at the same now): 1 when it shares an archive
 * (the Directory is divided): assigned gets one flag per node (the nodes it
 * pulls; recorded as told) and *next_request seconds (> 0, at most its
 * period); 0 for a collector of its own archive or unknown (every node;
 * *next_request 0). assigned has owm_mesh_node_count() slots. */
int owmc_assign_grant(owmc_assign *self, const char *collector, double now,
                      unsigned char *assigned, double *next_request);

/* One flag per mesh client (owm_mesh_client_count()): the collectors that
 * may pull node (index), as of the last update; NULL for a bad index. */
const unsigned char *owmc_assign_node_collectors(const owmc_assign *self, size_t node);

/* For status and logs: the collector that owns node in the archive of
 * collector, or NULL. 1 when collector is live (a sharing one), else 0. */
const char *owmc_assign_owner(const owmc_assign *self, size_t node, const char *archive);
int owmc_assign_live(const owmc_assign *self, const char *collector, double now);

#endif
