/* daemon_signals.c - flags set from signal handlers, and the pipe that wakes
 * a loop (see daemon_signals.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "daemon_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t daemon_stop_requested;
volatile sig_atomic_t daemon_reload_requested;
volatile sig_atomic_t daemon_child_exited;

/* Which flag each caught signal sets; written before the handler is
 * installed, read only by the handler. */
static volatile sig_atomic_t *flags[NSIG];
static sigset_t caught;
static int caught_init;
static int wake[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    if (sig > 0 && sig < NSIG && flags[sig])
        *flags[sig] = 1;
    if (wake[1] >= 0) {
        char byte = (char)sig;
        (void)!write(wake[1], &byte, 1); /* a full pipe already wakes the loop */
    }
    errno = saved;
}

void daemon_signals_handle(int sig, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

void daemon_signals_catch(int sig, volatile sig_atomic_t *flag)
{
    if (sig <= 0 || sig >= NSIG)
        return;
    if (!caught_init) {
        sigemptyset(&caught);
        caught_init = 1;
    }
    flags[sig] = flag;
    sigaddset(&caught, sig);
    daemon_signals_handle(sig, on_signal);
    signal(SIGPIPE, SIG_IGN);
}

void daemon_signals_install(void)
{
    daemon_signals_catch(SIGTERM, &daemon_stop_requested);
    daemon_signals_catch(SIGINT, &daemon_stop_requested);
    daemon_signals_catch(SIGHUP, &daemon_reload_requested);
}

void daemon_signals_block(sigset_t *wait_mask)
{
    if (!caught_init) {
        sigemptyset(&caught);
        caught_init = 1;
    }
    sigprocmask(SIG_BLOCK, &caught, wait_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&caught, sig) == 1)
            sigdelset(wait_mask, sig);
}

void daemon_signals_unblock_all(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int daemon_signals_wake_fd(void)
{
    if (wake[0] < 0 && pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0)
        wake[0] = wake[1] = -1;
    return wake[0];
}

void daemon_signals_drain(void)
{
    char buf[64];
    if (wake[0] >= 0)
        while (read(wake[0], buf, sizeof buf) > 0)
            ;
}
