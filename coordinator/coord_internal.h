/*
 * coord_internal.h - what the coordinator's files share (coord.h is
 * the public contract):
 *   coord.c          the daemon: loading, reloads, the ROUTER, the loop, the tick;
 *   coord_messages.c what nodes, collectors and analysts send (access.c: who
 *                    may send what), and what it sends them;
 *   coord_health.c   PeerHealth pushes and the health log (missing nodes,
 *                    stalled streams);
 *   coord_collectors.c collectors sharing an archive (assign.c): divided
 *                    directories, node schedules listing who may pull them.
 * Threading: everything runs on the loop's thread.
 */
#ifndef OWMC_COORD_INTERNAL_H
#define OWMC_COORD_INTERNAL_H

#include <czmq.h>
#include <sys/stat.h>
#include <time.h>

#include "access.h"
#include "assign.h"
#include "coord.h"
#include "curve.h"
#include "daemon_loop.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "monitor.h"
#include "plan.h"
#include "ratelimit.h"
#include "registry.h"
#include "zap.h"

typedef struct file_id {
    int ok;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} file_id;

struct owmc_coord {
    char *mesh_path, *endpoint;
    double node_timeout;
    zcert_t *cert;
    char own_key[OWM_CURVE_KEY_LEN + 1];
    owm_mesh *mesh;
    owmc_plan *plan;
    owmc_registry *reg;
    owmc_assign *assign;         /* collectors sharing an archive; NULL: out of memory (every
                                  * collector then pulls every node) */
    uint64_t generation;
    file_id watched;
    owm_zap *auth;
    zsock_t *router;
    owm_monitor *monitor;        /* logs handshakes refused before ZAP */
    daemon_loop *loop;
    double started, last_health;
    owm_ratelimit refused;       /* refused keys (and key + message kind) logged */
    zframe_t *peer_health;       /* the current down set, encoded once per version */
    uint64_t peer_health_version;
};

/* coord.c: the wall clock as an NTP timestamp. */
uint64_t owmc_wall_now(void);
/* coord.c: the generation after previous (seconds since 1970, or previous + 1). */
uint64_t owmc_next_generation(uint64_t previous);

/* coord_messages.c */
/* Send an encoded envelope of the given kind (takes the frame): 0, or -1
 * when the peer is gone or its queue is full (logged at debug level). */
int owmc_send_frame(owmc_coord *self, zframe_t *route, zframe_t *frame,
                     owm_msg_kind kind, const char *to);
int owmc_send_env(owmc_coord *self, zframe_t *route, const owm_msg *env,
                   const char *to);
/* Push every schedule that is due (new, or not acked in time). */
void owmc_push_due(owmc_coord *self, double now);
/* The ZAP handler's question (mesh/zap.h): 1 when key may connect. */
int owmc_allow_key(void *arg, const char *key, const char *address);
/* Readers of the ROUTER (arg: the coordinator) and of the ZAP socket (arg: the owm_zap). */
int owmc_on_router(zloop_t *loop, zsock_t *router, void *arg);
int owmc_on_zap(zloop_t *loop, zsock_t *sock, void *arg);
/* Reader of the ROUTER's monitor (arg: the owm_monitor): refused handshakes. */
int owmc_on_monitor(zloop_t *loop, zsock_t *sock, void *arg);

/* coord_collectors.c: collectors that share an archive (assign.h). */
/* A DirectoryRequest from the mesh's collector name: remembered, then the
 * node lists brought up to date (owmc_collectors_update). */
void owmc_collectors_heard(owmc_coord *self, const char *name,
                           const owm_msg_directory_request *req, double now);
/* Fill the Directory for collector name (NULL: an analyst or the operator,
 * answered undivided): divided, assigned, next_request, collector. */
void owmc_collectors_divide(owmc_coord *self, const char *name, owm_msg_directory *d,
                            double now);
/* Recompute owners and node lists; nodes whose collectors changed are
 * rescheduled (one new generation for all of them) and pushed. Every tick. */
void owmc_collectors_update(owmc_coord *self, double now);
/* The collectors that may pull node index, per mesh client (NULL: all). */
const unsigned char *owmc_collectors_of(const owmc_coord *self, size_t node);
/* A reload moved the registry to mesh; self->mesh is still the old one
 * (what was known is carried over by name). Then owmc_collectors_update,
 * once self->mesh is the new mesh. */
void owmc_collectors_reload(owmc_coord *self, const owm_mesh *mesh, double now);

/* coord_health.c */
/* Tell node p the current down set, when it has not heard it yet. */
void owmc_send_peer_health(owmc_coord *self, owmc_peer *p, double now);
/* Once a tick: every connected node hears a changed down set once. */
void owmc_peer_health_due(owmc_coord *self, double now);
/* Log nodes that went missing or came back, streams that stalled or recovered. */
void owmc_check_health(owmc_coord *self, double now);

#endif
