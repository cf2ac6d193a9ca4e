/*
 * collector_internal.h - owmesh-collector's state, shared by the daemon
 * (collector_main.c: options, start-up, the loop) and its following of the
 * coordinator's node directory (collector_directory.c).
 */
#ifndef OWM_COLLECTOR_INTERNAL_H
#define OWM_COLLECTOR_INTERNAL_H

#include <czmq.h>

#include "coordclient.h"
#include "curve.h"
#include "daemon_log.h"
#include "daemon_loop.h"
#include "daemon_privs.h"
#include "meshmsg.h"
#include "puller.h"
#include "store.h"
#include "store_paths.h"

#define MAX_NODES 4096
#define DIRECTORY_EVERY_S 30.0
#define DIRECTORY_RETRY_S 2.0       /* first retry after a failed directory request, */
#define DIRECTORY_RETRY_MAX_S 60.0  /* doubling up to this */
#define DIRECTORY_TIMEOUT_MS 3000

typedef struct options {
    const char *endpoint;
    const char *cert_path;
    const char *server_key;
    const char *store_dir;
    const char *quarantine_dir; /* -q; NULL: beside the store (see local_dir) */
    const char *mesh_file;
    unsigned window, credit;
    double refresh_s;
    double heartbeat_s;      /* -H: a sharing collector's period */
    const char *archive;     /* -a; NULL: from the store (collector_archive_of) */
    int sync_each;
    const char *user, *group; /* -U, -G */
    daemon_log_opts log; /* -Z, -e, -v */
} options;

typedef struct collector collector;

/* A puller's socket as the loop watches it (it changes after a reset). */
typedef struct watched {
    collector *c;
    puller *p;
    zsock_t *sock;   /* registered with the loop; NULL: none */
    unsigned serial; /* puller_socket_serial when registered */
} watched;

struct collector {
    options opt;
    store_db *store;
    store_paths *paths;
    zcert_t *cert;
    char server_key[OWM_CURVE_KEY_LEN + 1]; /* the coordinator's */
    owm_coordclient *client;
    int asking;             /* a DirectoryRequest is out */
    double asked_at;        /* when (monotonic) */
    double retry_s;         /* the next back-off */
    int coordinator_down;   /* the last request failed (logged once) */
    daemon_privs privs;
    daemon_loop *loop;
    puller *pullers[MAX_NODES];
    watched watch[MAX_NODES];
    size_t n_pullers;
    double next_directory, next_stats;
    char quarantine[4096 + 16];
    char store_shown[4096];   /* -s as logs show it (no password) */
    char archive[OWM_MSG_MAX_ADDRESS + 1]; /* "" = a store of its own: every node */
    double lease_end;        /* sharing: pull until then (monotonic); 0 = no lease yet */
    int divided;             /* the last Directory was divided */
    int warned_undivided;    /* said once: the coordinator does not divide */
    int lease_lapsed;        /* said once per lapse */
    /* test hook (OWMESH_COLLECTOR_DIE_AFTER / _AT) */
    long die_after;
    int die_at_ack;
    uint64_t stored_files;   /* committed (on_file) */
    uint64_t ingested_files; /* reached their commit point (the store's hook) */
};

/* collector_main.c: does this collector share its archive (divide the mesh
 * with others)?; the store's word on each file (logged; the test hook);
 * (re)registering a puller's socket with the loop after a reset. */
int collector_sharing(const collector *c);
void collector_on_file(void *arg, const char *node, uint64_t seq, const char *name,
                       const store_ingest_result *res, int stored);
void collector_watch_socket(watched *w);

/* collector_directory.c: ask for the directory when due and follow the
 * answer (pullers started, moved, dropped; a sharing collector's lease);
 * closing the coordinator client at shutdown. */
void collector_refresh_directory(collector *c, double now);
void collector_close_client(collector *c);

#endif
