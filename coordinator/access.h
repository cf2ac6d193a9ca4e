/*
 * access.h - who may say what to the coordinator (owmesh-mesh(5),
 * "Security"; issue 11). The coordinator knows a peer by the CURVE key of its
 * connection (ZAP told libzmq; never by what a message claims) and gives it
 * the role the mesh lists for that key:
 *
 *   sender     may send                                  example
 *   node       Hello, ScheduleAck, Status, Error         owmesh-node
 *   collector  DirectoryRequest, StatusRequest, Error    owmesh-collector
 *   analyst    DirectoryRequest, StatusRequest, Error    owmesh status
 *   operator   DirectoryRequest, StatusRequest, Error    owmesh status run on the
 *                                                        coordinator's machine with
 *                                                        the coordinator's own key
 *
 * A node key is refused on the collector/analyst requests (a node speaks the
 * node plane only); a collector or analyst key is refused on the node plane.
 * The coordinator's own key stays usable for the operator on its machine; its
 * secret never needs to leave it. Pure functions: no state, any thread.
 */
#ifndef OWMC_ACCESS_H
#define OWMC_ACCESS_H

#include "meshconf.h"
#include "meshtypes.h"

typedef enum owmc_sender_role {
    OWMC_SENDER_UNKNOWN = 0, /* a key the mesh (no longer) lists */
    OWMC_SENDER_NODE,
    OWMC_SENDER_COLLECTOR,
    OWMC_SENDER_ANALYST,
    OWMC_SENDER_OPERATOR /* the coordinator's own key */
} owmc_sender_role;

/* The role of key in mesh; own_key is the coordinator's public key. A node's
 * role wins over the operator's when both hold the key (the coordinator
 * warns about such a mesh at load). *name gets the node's or client's name
 * (NULL for the operator and the unknown). */
owmc_sender_role owmc_access_role(const owm_mesh *mesh, const char *own_key, const char *key,
                                  const char **name);

/* 1 when the coordinator takes a message of this kind from this sender. */
int owmc_access_allows(owmc_sender_role role, owm_msg_kind kind);

/* 1 when the coordinator takes this kind of message from anybody (the others
 * are answered ERROR_UNEXPECTED, not refused). */
int owmc_access_known(owm_msg_kind kind);

/* "node", "collector", "analyst", "operator", "unknown key". */
const char *owmc_access_role_name(owmc_sender_role role);

/* What this role may send, for refusals: "a collector sends only
 * DirectoryRequest, StatusRequest and Error". */
const char *owmc_access_rule(owmc_sender_role role);

#endif
