/* daemon_loop.c - the mesh daemons' zloop with the signals delivered to it (see daemon_loop.h). */
#include "daemon_loop.h"

#include <stdlib.h>

#include "daemon_service.h"
#include "daemon_signals.h"

struct daemon_loop {
    zloop_t *zloop;
    daemon_loop_reload_fn reload;
    void *reload_arg;
    int stopped; /* a stop signal ended the loop */
};

/* Act on the signal flags: -1 when the loop must stop. */
static int deliver_signals(daemon_loop *self)
{
    if (!daemon_stop_requested && daemon_reload_requested) {
        daemon_reload_requested = 0;
        if (self->reload)
            self->reload(self, self->reload_arg);
    }
    if (daemon_stop_requested || zsys_interrupted) {
        self->stopped = 1;
        return -1;
    }
    return 0;
}

static int on_wake(zloop_t *zloop, zmq_pollitem_t *item, void *arg)
{
    (void)zloop;
    (void)item;
    daemon_signals_drain();
    return deliver_signals(arg);
}

daemon_loop *daemon_loop_new(owp_err *err)
{
    daemon_loop *self = calloc(1, sizeof *self);
    if (self)
        self->zloop = zloop_new();
    if (!self || !self->zloop) {
        daemon_loop_destroy(&self);
        owp_err_set(err, OWP_ERR_NOMEM, "event loop: out of memory");
        return NULL;
    }
    zsys_handler_set(NULL); /* czmq's SIGINT/SIGTERM handler off: ours only */
    daemon_signals_install();
    zmq_pollitem_t wake = {.socket = NULL, .fd = daemon_signals_wake_fd(), .events = ZMQ_POLLIN};
    if (wake.fd >= 0 && zloop_poller(self->zloop, &wake, on_wake, self) != 0) {
        daemon_loop_destroy(&self);
        owp_err_set(err, OWP_ERR_NOMEM, "event loop: out of memory");
        return NULL;
    }
    return self;
}

void daemon_loop_destroy(daemon_loop **self_p)
{
    if (!self_p || !*self_p)
        return;
    zloop_destroy(&(*self_p)->zloop);
    free(*self_p);
    *self_p = NULL;
}

void daemon_loop_on_reload(daemon_loop *self, daemon_loop_reload_fn fn, void *arg)
{
    self->reload = fn;
    self->reload_arg = arg;
}

int daemon_loop_reader(daemon_loop *self, zsock_t *sock, zloop_reader_fn fn, void *arg)
{
    return zloop_reader(self->zloop, sock, fn, arg) == 0 ? 0 : -1;
}

void daemon_loop_reader_end(daemon_loop *self, zsock_t *sock)
{
    zloop_reader_end(self->zloop, sock);
}

int daemon_loop_timer(daemon_loop *self, size_t ms, zloop_timer_fn fn, void *arg)
{
    return zloop_timer(self->zloop, ms, 0, fn, arg);
}

void daemon_loop_timer_end(daemon_loop *self, int timer_id)
{
    zloop_timer_end(self->zloop, timer_id);
}

int daemon_loop_run(daemon_loop *self)
{
    daemon_service_ready();
    /* zloop_start returns 0 when a signal interrupted its poll (the wake
     * pipe then says which), -1 when a handler did. */
    while (deliver_signals(self) == 0) {
        int rc = zloop_start(self->zloop);
        if (self->stopped)
            break;
        if (rc != 0)
            return -1;
    }
    return 0;
}
