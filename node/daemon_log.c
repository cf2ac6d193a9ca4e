/* daemon_log.c - syslog + stderr logging shared by the owmesh daemons. */
#include "daemon_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct {
    const char *ident;
    int facility;
    int level;
    int copy_to_stderr;
    int location;
    int opened;
} state = {"owmesh", LOG_DAEMON, LOG_INFO, 1, 0, 0};

/* Settings change only from the main thread at start-up; the lock keeps a
 * reopen from interleaving with a message written by an endpoint thread. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void reopen_locked(void)
{
    if (state.opened)
        closelog();
    openlog(state.ident, LOG_PID | LOG_NDELAY, state.facility);
    state.opened = 1;
}

void daemon_log_open(const char *ident, int facility, int level, int copy_to_stderr)
{
    pthread_mutex_lock(&lock);
    state.ident = ident ? ident : "owmesh";
    state.facility = facility;
    state.level = level;
    state.copy_to_stderr = copy_to_stderr;
    reopen_locked();
    pthread_mutex_unlock(&lock);
}

void daemon_log_set_facility(int facility)
{
    pthread_mutex_lock(&lock);
    if (facility != state.facility) {
        state.facility = facility;
        reopen_locked();
    }
    pthread_mutex_unlock(&lock);
}

void daemon_log_set_level(int level)
{
    pthread_mutex_lock(&lock);
    state.level = level;
    pthread_mutex_unlock(&lock);
}

void daemon_log_set_stderr(int copy_to_stderr)
{
    pthread_mutex_lock(&lock);
    state.copy_to_stderr = copy_to_stderr;
    pthread_mutex_unlock(&lock);
}

void daemon_log_location(int on)
{
    pthread_mutex_lock(&lock);
    state.location = on;
    pthread_mutex_unlock(&lock);
}

void daemon_log_close(void)
{
    pthread_mutex_lock(&lock);
    if (state.opened)
        closelog();
    state.opened = 0;
    pthread_mutex_unlock(&lock);
}

int daemon_log_enabled(int priority)
{
    return state.level >= 0 && priority <= state.level;
}

static void emit(int priority, const char *file, int line, const char *msg)
{
    char text[2048];
    if (state.location && file)
        snprintf(text, sizeof text, "%s:%d %s", file, line, msg);
    else
        snprintf(text, sizeof text, "%s", msg);
    pthread_mutex_lock(&lock);
    if (!state.opened)
        reopen_locked();
    syslog(priority, "%s", text);
    if (state.copy_to_stderr)
        fprintf(stderr, "%s[%ld]: %s\n", state.ident, (long)getpid(), text);
    pthread_mutex_unlock(&lock);
}

void daemon_log_at(int priority, const char *file, int line, const char *fmt, ...)
{
    if (!daemon_log_enabled(priority))
        return;
    int saved = errno;
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(priority, file, line, msg);
    errno = saved;
}

void daemon_log_callback(void *arg, int priority, const char *msg)
{
    (void)arg;
    if (daemon_log_enabled(priority))
        emit(priority, NULL, 0, msg);
}
