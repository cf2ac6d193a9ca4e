/*
 * daemon_signals.h - the stop and reload requests of the owmesh daemons'
 * main loops (owmesh-node, owmesh-collector): SIGTERM/SIGINT ask to stop,
 * SIGHUP to reload; SIGPIPE is ignored. The loops poll the two flags.
 */
#ifndef OWMESH_DAEMON_SIGNALS_H
#define OWMESH_DAEMON_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t daemon_stop_requested;
extern volatile sig_atomic_t daemon_reload_requested;

/* Install the handlers (again after a library, e.g. czmq, installed its own). */
void daemon_signals_install(void);

#endif
