/* daemon_signals.c - stop/reload flags set from signal handlers. */
#include "daemon_signals.h"

#include <string.h>

volatile sig_atomic_t daemon_stop_requested;
volatile sig_atomic_t daemon_reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        daemon_reload_requested = 1;
    else
        daemon_stop_requested = 1;
}

void daemon_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

