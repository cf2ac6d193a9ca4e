/*
 * agent_owampd.h - the node's OWAMP server: a supervised `owampd -Z` child.
 *
 * The node agent does not link the server engine in: it runs the owampd
 * program itself, in the foreground (-Z), with the node's address (-S), its
 * configuration directory (-c: owamp-server.conf, .limits and .pfs exactly as
 * owampd reads them), a data and a pid directory under the node's data
 * directory, the test port range (-P), and the node's run-as user and group
 * (-U, -G: an owampd started while the node is still root drops to them
 * itself; never -f, owampd never stays root). Process isolation: a crash of the
 * server does not take the streams down, nor the reverse. The child is
 * restarted with back-off when it dies (1 s, doubling up to 60 s; back to
 * 1 s once it ran for a minute), and stopped (SIGTERM, then SIGKILL after
 * 5 s) when the agent exits or its settings change.
 *
 * Used by the agent's main thread only; agent_owampd_tick() from its loop.
 */
#ifndef OWM_AGENT_OWAMPD_H
#define OWM_AGENT_OWAMPD_H

#include <sys/types.h>

#include "error.h"

typedef struct agent_owampd_config {
    const char *program;   /* path of owampd */
    const char *node;      /* for log lines */
    const char *listen;    /* -S host:port */
    const char *confdir;   /* -c, or NULL */
    const char *datadir;   /* -d */
    const char *vardir;    /* -R (owamp-server.pid) */
    const char *testports; /* -P low-high, or NULL */
    const char *authmode;  /* -a, or NULL: owamp-server.conf / owampd's default */
    int copy_stderr;       /* 1: the child's stderr is ours; 0: /dev/null (it logs to syslog) */
    const char *run_user;  /* -U, or NULL (the node was not started as root) */
    const char *run_group; /* -G, or NULL */
} agent_owampd_config;

typedef struct agent_owampd agent_owampd;

/* Copy the settings; nothing is started before the first tick. */
agent_owampd *agent_owampd_new(const agent_owampd_config *config, owp_err *err);
/* Stop the child (if any) and free. */
void agent_owampd_destroy(agent_owampd **self_p);

/* Reap a dead child, start one when due. now: monotonic seconds. */
void agent_owampd_tick(agent_owampd *self, double now);

/* Start the child no earlier than `until` (monotonic seconds) unless
 * agent_owampd_release() comes first. A node without a saved schedule waits
 * a little for its first one, which may set the server's address, ports and
 * modes, rather than start owampd with its own defaults only to restart it
 * a second later. */
void agent_owampd_hold(agent_owampd *self, double until);
void agent_owampd_release(agent_owampd *self);

/* New -S/-P/-a values (from a schedule's owamp_server; NULL keeps a value):
 * when one differs the child is stopped and started again at once.
 * Returns 1 when a restart was triggered. */
int agent_owampd_reconfigure(agent_owampd *self, const char *listen, const char *testports,
                             const char *authmode);

pid_t agent_owampd_pid(const agent_owampd *self);      /* 0: not running */
unsigned agent_owampd_starts(const agent_owampd *self); /* children started so far */

/* The default program: "owampd" in the directory of the running executable
 * (/proc/self/exe; its parent when that is a libtool .libs directory). */
int agent_owampd_default_program(char *buf, size_t len);

#endif
