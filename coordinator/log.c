/* log.c - syslog or stderr (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static struct {
    const char *ident;
    int to_stderr;
    int verbose;
    int opened;
} state = {"owmesh-coordinator", 1, 0, 0};

void owmc_log_open(const char *ident, int facility, int to_stderr, int verbose)
{
    state.ident = ident;
    state.to_stderr = to_stderr;
    state.verbose = verbose;
    if (!to_stderr) {
        openlog(ident, LOG_PID | LOG_NDELAY, facility);
        state.opened = 1;
    }
}

void owmc_log_close(void)
{
    if (state.opened)
        closelog();
    state.opened = 0;
}

static const char *level_name(int priority)
{
    switch (priority) {
    case LOG_ERR: return "error";
    case LOG_WARNING: return "warning";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

void owmc_log(int priority, const char *fmt, ...)
{
    if (priority == LOG_DEBUG && !state.verbose)
        return;
    int saved = errno;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (state.to_stderr) {
        fprintf(stderr, "%s[%ld]: %s: %s\n", state.ident, (long)getpid(), level_name(priority),
                msg);
        fflush(stderr);
    } else {
        syslog(priority, "%s", msg);
    }
    errno = saved;
}
