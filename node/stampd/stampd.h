/*
 * stampd.h - what the two files of stampd share: the daemon's state.
 *
 *   stampd.c       options and start-up (as a list, in order)
 *   stampd_loop.c  the event loop: the sockets, SIGHUP's policy reload, the
 *                  counters in the log
 */
#ifndef STAMPD_H
#define STAMPD_H

#include <stddef.h>

#include "daemon_privs.h"
#include "endpoint.h"
#include "stamp_reflector.h"
#include "stamp_wire.h"

#define STAMPD_IDENT "stampd"
#define STAMPD_MAX_SOCKETS 16
/* The counters are logged this often without -i (seconds). */
#define STAMPD_COUNTER_INTERVAL 300.0

typedef struct stampd {
    /* options */
    const char *listen[STAMPD_MAX_SOCKETS]; /* -S */
    size_t nlisten;
    owp_mode mode;                /* -A */
    const char *key_file, *identity; /* -k, -u */
    int stateful;                 /* -m */
    const char *policy_file;      /* -c */
    double counter_interval;      /* -i; 0: at exit only */
    const char *user, *group;     /* -U, -G */
    int foreground, verbose, facility;
    /* state */
    owp_stamp_key *key;
    owp_stamp_reflector *reflector;
    owp_endpoint *endpoints[STAMPD_MAX_SOCKETS];
    owp_stamp_socket sockets[STAMPD_MAX_SOCKETS];
    size_t nsockets;
    daemon_privs privs;
} stampd;

/* Serve until SIGTERM or SIGINT: 0, or 1 when a socket failed. */
int stampd_run(stampd *d);
/* The counters, in one log line. */
void stampd_log_counters(const stampd *d, const char *when);

#endif
