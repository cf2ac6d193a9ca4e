/*
 * daemon_signals.h - the one signal path of the daemons: a signal handler
 * only sets a flag (and wakes the waiting loop); the loop acts on the flag.
 *
 * The owmesh daemons (owmesh-coordinator, owmesh-node, owmesh-collector)
 * take daemon_signals_install(): SIGTERM/SIGINT ask to stop, SIGHUP to
 * reload, SIGPIPE is ignored. Their loop (daemon_loop.h) watches
 * daemon_signals_wake_fd(), so a signal taken by any thread still wakes it.
 *
 * owampd's master catches its own set (every stop signal, SIGCHLD) with
 * daemon_signals_catch() and blocks them (daemon_signals_block) so that
 * they are delivered only inside its ppoll: none slips in between a flag
 * check and the wait.
 *
 * Threading: install and catch from the main thread, before other threads
 * start; the flags are read and cleared by the loop's thread only.
 */
#ifndef OWMESH_DAEMON_SIGNALS_H
#define OWMESH_DAEMON_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t daemon_stop_requested;
extern volatile sig_atomic_t daemon_reload_requested;
extern volatile sig_atomic_t daemon_child_exited; /* SIGCHLD, where caught */

/* Install the mesh daemons' handlers (again after a library, e.g. czmq,
 * installed its own): TERM and INT stop, HUP reloads, PIPE ignored. */
void daemon_signals_install(void);

/* Catch sig: its handler sets *flag (one of the flags above) and wakes the
 * loop. SIGPIPE is ignored from the first call on. */
void daemon_signals_catch(int sig, volatile sig_atomic_t *flag);

/* Set sig's handler (a function, SIG_DFL or SIG_IGN), all signals allowed
 * during it: for a process with handlers of its own (owampd's children). */
void daemon_signals_handle(int sig, void (*handler)(int));

/* Block every caught signal; *wait_mask is the mask to wait with (ppoll,
 * pselect): the caught signals are delivered only during that wait. */
void daemon_signals_block(sigset_t *wait_mask);

/* Unblock every signal (a child process leaving its parent's mask). */
void daemon_signals_unblock_all(void);

/* The read end of a pipe that each caught signal writes a byte to
 * (non-blocking, close-on-exec; created on the first call): a loop polls it
 * to wake when a signal came while it was busy or on another thread. -1 if
 * the pipe cannot be made (the signals then only interrupt the wait). */
int daemon_signals_wake_fd(void);

/* Empty the wake pipe (after it polled readable). */
void daemon_signals_drain(void);

#endif
