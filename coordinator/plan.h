/*
 * plan.h - what every node of a mesh must run: the coordinator's schedules.
 *
 * A plan is computed from a loaded mesh (mesh/meshconf.h). A stream src -> dst
 * is assigned to its receiving node dst (proto/mesh.proto, "Stream
 * assignment"), so a node's schedule lists the streams it receives, sorted by
 * stream id so that the order of the mesh file never changes a schedule. A node
 * that sends at least one stream is also told how to run its owamp server
 * (Schedule.owamp_server: its mesh address, the modes its streams use).
 * Every schedule lists the mesh's collectors (Schedule.collectors: the keys
 * the node's data endpoint admits), in mesh order (or those the collector
 * assignment lets pull the node: owmc_plan_schedule_for), and carries the node's
 * data-endpoint from the mesh (Schedule.data_endpoint, "" when the mesh
 * gives none): a node started without -D serves there.
 *
 * Each node's schedule has a digest (SHA-256 over everything the Schedule
 * message carries except the generation), so comparing two plans tells which
 * nodes must be pushed a new schedule after a reload: only those whose digest
 * changed. Stream ids come from the mesh and depend only on what a stream
 * does, so unchanged streams keep their ids across reloads.
 *
 * Ownership: a plan borrows the mesh (which must outlive it) and owns its
 * per-node arrays; everything it hands out is valid until owmc_plan_destroy.
 */
#ifndef OWMC_PLAN_H
#define OWMC_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meshconf.h"
#include "meshmsg.h"

#define OWMC_DIGEST_LEN 32

typedef struct owmc_node_plan {
    const owm_mesh *mesh;         /* its collectors go in every schedule */
    const owm_node *node;
    size_t n_streams;             /* streams this node receives (runs) */
    const owm_stream **streams;   /* sorted by id; point into the mesh */
    size_t n_sent;                /* streams this node sends (its owamp server serves) */
    uint32_t server_modes;        /* OWP_MODE_* bits of the streams it sends */
    uint8_t digest[OWMC_DIGEST_LEN];
} owmc_node_plan;

typedef struct owmc_plan owmc_plan;

/* Compute every node's schedule. NULL with OWP_ERR_NOMEM or OWP_ERR_CRYPTO. */
owmc_plan *owmc_plan_new(const owm_mesh *mesh, owp_err *err);
void owmc_plan_destroy(owmc_plan **self_p);

const owm_mesh *owmc_plan_mesh(const owmc_plan *self);
/* Nodes in mesh order (index = owm_node.index). */
size_t owmc_plan_node_count(const owmc_plan *self);
const owmc_node_plan *owmc_plan_node(const owmc_plan *self, size_t index);
const owmc_node_plan *owmc_plan_find(const owmc_plan *self, const char *name);
size_t owmc_plan_stream_count(const owmc_plan *self);

/* How one node's schedule differs between two plans. */
typedef enum owmc_change {
    OWMC_UNCHANGED = 0, /* same digest: no push */
    OWMC_CHANGED,       /* in both, schedule differs */
    OWMC_ADDED,         /* only in new_plan (or old_plan is NULL) */
    OWMC_REMOVED,       /* only in old_plan */
    OWMC_ABSENT         /* in neither */
} owmc_change;

owmc_change owmc_plan_change(const owmc_plan *old_plan, const owmc_plan *new_plan,
                             const char *node);
const char *owmc_change_name(owmc_change change);

/* The Schedule message for one node (a heap envelope: owm_msg_free),
 * listing every collector of the mesh. */
owm_msg *owmc_plan_schedule(const owmc_node_plan *np, uint64_t generation, owp_err *err);
/* The same listing only the collectors flagged in collectors (one flag per
 * mesh client, owm_mesh_client(); NULL = every collector): those the
 * collector assignment lets pull the node (assign.h). The digest does not
 * cover this choice: a change of it is pushed as a new generation by the
 * coordinator, not found by comparing plans. */
owm_msg *owmc_plan_schedule_for(const owmc_node_plan *np, uint64_t generation,
                                const unsigned char *collectors, owp_err *err);

/* An empty Schedule for a node (it stops every stream): sent to a node that
 * left the mesh while connected. */
owm_msg *owmc_plan_empty_schedule(const char *node, uint64_t generation, owp_err *err);

/* Fill a Stream message from a mesh stream (strings copied into the heap
 * message, as owm_msg_* helpers do). The identity (KeyID) is the receiving
 * node's name when the stream's modes exclude open mode, empty otherwise. */
owp_status owmc_plan_fill_stream(owm_msg_stream *out, const owm_stream *s, owp_err *err);

#endif
