/*
 * daemon_service.h - how a mesh daemon (owmesh-coordinator, owmesh-node,
 * owmesh-collector) runs as a service, the same way on all three:
 *
 *   -Z          stay in the foreground and copy every message on standard
 *               error (owampd's -Z: do not daemonise, log to stderr too);
 *   systemd     started by systemd ($INVOCATION_ID or $JOURNAL_STREAM set):
 *               stay in the foreground (the units are Type=simple) and log
 *               to syslog only, which the journal collects;
 *   otherwise   detach: fork, new session, standard input and output on
 *               /dev/null, standard error too once the daemon is up (until
 *               then its warnings and errors go there as well, so a failed
 *               start says why where it was started); the working
 *               directory stays (relative paths keep working); the parent
 *               waits until the daemon is up (or failed) and exits 0 (or
 *               1), so a start-up error is still an exit status.
 *
 * --help and --version are the same on every daemon (getopt_long with
 * DAEMON_LONG_OPTIONS): usage on stdout, or "PROGRAM VERSION", exit 0.
 *
 * Threading: call from the main thread before other threads start
 * (fork keeps only the calling thread).
 */
#ifndef OWMESH_DAEMON_SERVICE_H
#define OWMESH_DAEMON_SERVICE_H

#include <getopt.h>

#include "error.h"

/* getopt_long's code for --version (outside the range of option letters). */
#define DAEMON_OPT_VERSION 0x100
/* The long options every mesh daemon takes: --help ('h') and --version. */
#define DAEMON_LONG_OPTIONS                                                         \
    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, DAEMON_OPT_VERSION}, \
    {NULL, 0, NULL, 0}

/* Options that say how to run, as the usage texts name them. */
#define DAEMON_SERVICE_USAGE                                                             \
    "   -U user        run as this user when started as root (name or -uid;\n"           \
    "                  default owmesh if that user exists, else nobody)\n"              \
    "   -G group       run as this group (default: the user's primary group)\n"

/* 1 when systemd started this process ($INVOCATION_ID or $JOURNAL_STREAM). */
int daemon_service_under_systemd(void);

/* 1 when the daemon must not detach: -Z (foreground) or systemd. */
int daemon_service_stays_foreground(int foreground_option);

/* Print "PROGNAME VERSION" on stdout. */
void daemon_service_print_version(const char *progname);

/* Detach unless daemon_service_stays_foreground(foreground_option). In the
 * detached daemon: OWP_OK, and daemon_service_ready() is due once start-up
 * succeeded (the daemons' loop calls it when it starts running). The
 * waiting parent never returns: it exits 0 once the daemon is ready, 1 if
 * the daemon ended first. OWP_ERR_SYS when fork or pipe failed. */
owp_status daemon_service_detach(int foreground_option, owp_err *err);

/* Tell the parent waiting in daemon_service_detach that start-up succeeded
 * (nothing when there is none, or a second time). */
void daemon_service_ready(void);

#endif
