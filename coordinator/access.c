/* access.c - who may say what to the coordinator (see access.h). */
#include "access.h"

#include <string.h>

owmc_sender_role owmc_access_role(const owm_mesh *mesh, const char *own_key, const char *key,
                                  const char **name)
{
    const char *found = NULL;
    owmc_sender_role role = OWMC_SENDER_UNKNOWN;
    switch (key ? owm_mesh_key_role(mesh, key, &found) : OWM_ROLE_NONE) {
    case OWM_ROLE_NODE: role = OWMC_SENDER_NODE; break;
    case OWM_ROLE_COLLECTOR: role = OWMC_SENDER_COLLECTOR; break;
    case OWM_ROLE_ANALYST: role = OWMC_SENDER_ANALYST; break;
    case OWM_ROLE_NONE:
        if (key && own_key && strcmp(key, own_key) == 0)
            role = OWMC_SENDER_OPERATOR;
        break;
    }
    if (name)
        *name = found;
    return role;
}

static int node_plane(owm_msg_kind kind)
{
    return kind == OWM_MSG_HELLO || kind == OWM_MSG_SCHEDULE_ACK || kind == OWM_MSG_STATUS;
}

static int query(owm_msg_kind kind)
{
    return kind == OWM_MSG_DIRECTORY_REQUEST || kind == OWM_MSG_STATUS_REQUEST;
}

int owmc_access_known(owm_msg_kind kind)
{
    return node_plane(kind) || query(kind) || kind == OWM_MSG_ERROR;
}

int owmc_access_allows(owmc_sender_role role, owm_msg_kind kind)
{
    switch (role) {
    case OWMC_SENDER_NODE: return node_plane(kind) || kind == OWM_MSG_ERROR;
    case OWMC_SENDER_COLLECTOR:
    case OWMC_SENDER_ANALYST:
    case OWMC_SENDER_OPERATOR: return query(kind) || kind == OWM_MSG_ERROR;
    case OWMC_SENDER_UNKNOWN: break;
    }
    return 0;
}

const char *owmc_access_role_name(owmc_sender_role role)
{
    switch (role) {
    case OWMC_SENDER_NODE: return "node";
    case OWMC_SENDER_COLLECTOR: return "collector";
    case OWMC_SENDER_ANALYST: return "analyst";
    case OWMC_SENDER_OPERATOR: return "operator";
    case OWMC_SENDER_UNKNOWN: break;
    }
    return "unknown key";
}

const char *owmc_access_rule(owmc_sender_role role)
{
    switch (role) {
    case OWMC_SENDER_NODE:
        return "a node sends only Hello, ScheduleAck, Status and Error (run collectors and "
               "analysts with keys of their own, listed in the mesh)";
    case OWMC_SENDER_COLLECTOR:
        return "a collector sends only DirectoryRequest, StatusRequest and Error";
    case OWMC_SENDER_ANALYST:
        return "an analyst sends only DirectoryRequest, StatusRequest and Error";
    case OWMC_SENDER_OPERATOR:
        return "the coordinator's own key sends only DirectoryRequest, StatusRequest and Error";
    case OWMC_SENDER_UNKNOWN: break;
    }
    return "this key is not in the mesh";
}
