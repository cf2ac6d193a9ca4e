/*
 * owampd.h - the state owampd's modules share: the daemon_state of the
 * master (a connection child inherits a copy at fork) and the master's table
 * of connection children.
 *
 * One struct for the whole daemon, because its parts meet in one process:
 * owampd_config.c fills the settings, pass-phrases and limits; owampd.c and
 * owampd_process.c the process fields (pid file, listening sockets,
 * children, poll set);
 * owampd_broker.c reads the limits and keeps the ledger (master) or the
 * broker channel (child). Internal to owampd: nothing else includes it.
 */
#ifndef OWAMPD_H
#define OWAMPD_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "pfs.h"
#include "policy.h"
#include "server.h"

#define OWAMPD_PATH_MAX 4096

/* Which daemon this process is: owampd, or twampd (TWAMP, RFC 5357), which
 * is the same daemon with another protocol on its control connections and
 * other file names (node/twampd). */
typedef struct owampd_role {
    const char *name;          /* default program name */
    const char *file_base;     /* BASE.conf/.limits/.pfs/.pid/.info: "owamp-server" */
    const char *manual_base;   /* the manual's names: "owampd" (owampd.conf, ...) */
    const char *default_port;  /* "861" */
    int twamp;
} owampd_role;
extern const owampd_role owampd_role_owamp;
extern const owampd_role owampd_role_twamp;
/* The role owampd_main runs (for texts printed before daemon_state exists). */
extern const owampd_role *owampd_current_role;
/* The daemon's main: owampd's and twampd's. */
int owampd_main(int argc, char **argv, const owampd_role *role);
#define MAX_LISTEN 2

/* What the command line asked instead of serving (daemon_state.help). */
enum { OWAMPD_HELP_NONE, OWAMPD_HELP_USAGE, OWAMPD_HELP_VERSION, OWAMPD_HELP_BAD_OPTION };

/* One connection child: its pid, the master's end of its broker
 * socketpair (-1 once the child closed it or was cut off), and whether its
 * client has still to complete the set-up (cleared by the child's first
 * broker message, BROKER_OPEN, sent once Set-Up-Response was accepted) from
 * which address: maxsetupsessions and maxsetupperaddr count these. */
typedef struct child {
    pid_t pid;
    int fd;
    int in_setup;
    struct sockaddr_storage peer;
} child;

typedef struct child_table {
    child *c;
    size_t n, cap;
} child_table;

typedef struct daemon_state {
    const owampd_role *role;
    /* Settings: options + owamp-server.conf (owampd_config.c). */
    owp_server_conf conf;
    char confdir[OWAMPD_PATH_MAX];
    int have_confdir;
    int foreground;
    int facility_from_cli;
    int help;                      /* OWAMPD_HELP_*: print and exit, serve nothing */
    char datadir[OWAMPD_PATH_MAX]; /* conf.datadir made absolute */
    char vardir[OWAMPD_PATH_MAX];  /* conf.vardir made absolute */
    uid_t run_uid;
    gid_t run_gid;
    int drop_uid, drop_gid;
    /* Pass-phrases and limits (owampd_config.c), the resource broker's
     * state (owampd_broker.c). */
    owp_pfs *pfs;
    owp_limits *limits;
    owp_limits_ledger *ledger; /* master only */
    int owampd_broker_fd;             /* child only: its end of the socketpair */
    /* The process (owampd.c, owampd_process.c). */
    char pid_path[OWAMPD_PATH_MAX + 32];
    int pid_fd;
    int listen_fds[MAX_LISTEN];
    int nlisten;
    owp_num64 start_time;
    owp_server *server;
    child_table children;
    /* The master's poll set (kept here so a forked child can free it). */
    struct pollfd *poll_fds;
    size_t *poll_owner; /* poll_fds[nlisten + k] is the channel of children.c[poll_owner[k]] */
    size_t poll_cap;
} daemon_state;

#endif
