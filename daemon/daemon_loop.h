/*
 * daemon_loop.h - the one event loop of the mesh daemons (owmesh-coordinator,
 * owmesh-node, owmesh-collector): czmq's zloop, with the signals of
 * daemon_signals.h delivered to it.
 *
 * A daemon's life on it:
 *     daemon_loop *loop = daemon_loop_new(&err);      signals installed
 *     daemon_loop_on_reload(loop, on_hup, self);      SIGHUP
 *     daemon_loop_reader(loop, sock, on_readable, self);
 *     daemon_loop_timer(loop, 1000, on_tick, self);
 *     rc = daemon_loop_run(loop);                     until SIGTERM/SIGINT
 *     daemon_loop_destroy(&loop);
 *
 * Signals. daemon_loop_new installs daemon_signals_install() (TERM and INT
 * stop, HUP reloads, PIPE ignored) and turns czmq's own SIGINT/SIGTERM
 * handling off, for good (zsys_handler_set(NULL)): call it before the
 * daemon's first czmq socket, or it must install the handlers again. A
 * signal wakes the loop even when another thread took it (the wake pipe of
 * daemon_signals.h is one of the loop's readers). SIGHUP calls the reload
 * function between two events, never inside a handler; SIGTERM/SIGINT end
 * daemon_loop_run after the event being handled. A stop requested before
 * daemon_loop_run (during start-up) ends it at once.
 *
 * Handlers. Reader and timer handlers are czmq's (zloop_reader_fn,
 * zloop_timer_fn): they return 0 to go on, -1 to end the loop as failed.
 * A reader is level-triggered: it is called again while its socket stays
 * readable. A reader handler may be called once with a socket that another
 * handler of the same turn has just ended and destroyed: handlers use their
 * arg, never the zsock_t they are passed, when they replace sockets.
 * Timers are periodic, measured from when they were added (and again from
 * each restart of the loop after a signal).
 *
 * Ownership: the loop owns neither the sockets nor the args. Threading: one
 * thread (the daemon's main thread) does all of it.
 */
#ifndef OWMESH_DAEMON_LOOP_H
#define OWMESH_DAEMON_LOOP_H

#include <czmq.h>

#include "error.h"

typedef struct daemon_loop daemon_loop;

/* Called on SIGHUP (between events). */
typedef void (*daemon_loop_reload_fn)(daemon_loop *loop, void *arg);

/* The loop, with the signals installed; NULL and err when out of memory. */
daemon_loop *daemon_loop_new(owp_err *err);
/* Free the loop (not its sockets); *self_p becomes NULL. */
void daemon_loop_destroy(daemon_loop **self_p);

/* What SIGHUP does (nothing until this is called). */
void daemon_loop_on_reload(daemon_loop *self, daemon_loop_reload_fn fn, void *arg);

/* Call fn while sock is readable: 0, or -1 (out of memory). */
int daemon_loop_reader(daemon_loop *self, zsock_t *sock, zloop_reader_fn fn, void *arg);
/* Stop watching sock (before it is destroyed; a pointer comparison only). */
void daemon_loop_reader_end(daemon_loop *self, zsock_t *sock);

/* Call fn every ms milliseconds: the timer's id (>= 0), or -1. */
int daemon_loop_timer(daemon_loop *self, size_t ms, zloop_timer_fn fn, void *arg);
void daemon_loop_timer_end(daemon_loop *self, int timer_id);

/* Run until SIGTERM/SIGINT (0), or until a handler returned -1 (-1).
 * Before its first wait it tells a parent waiting in daemon_service_detach
 * that the daemon is up (daemon_service_ready): start-up is over. */
int daemon_loop_run(daemon_loop *self);

#endif
