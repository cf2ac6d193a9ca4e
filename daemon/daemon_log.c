/* daemon_log.c - syslog + stderr logging shared by the owmesh daemons. */
#include "daemon_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

#define MSG_MAX 2048 /* longer messages are cut */

static struct {
    const char *ident;
    int facility;
    int level;
    int copy_to_stderr;
    int problems_to_stderr; /* warnings and errors, while a detaching daemon starts */
    int to_syslog;
    int level_names;
    int location;
    int opened;
} state = {"owmesh", LOG_DAEMON, LOG_INFO, 1, 0, 1, 0, 0, 0};

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
    if (state.to_syslog)
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

static void set_setting(int *setting, int value)
{
    pthread_mutex_lock(&lock);
    *setting = value;
    pthread_mutex_unlock(&lock);
}

void daemon_log_set_level(int level)
{
    set_setting(&state.level, level);
}

void daemon_log_set_stderr(int copy_to_stderr)
{
    set_setting(&state.copy_to_stderr, copy_to_stderr);
}

void daemon_log_set_problems_to_stderr(int on)
{
    set_setting(&state.problems_to_stderr, on);
}

void daemon_log_set_syslog(int on)
{
    set_setting(&state.to_syslog, on);
}

void daemon_log_level_names(int on)
{
    set_setting(&state.level_names, on);
}

void daemon_log_location(int on)
{
    set_setting(&state.location, on);
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

static const char *level_name(int priority)
{
    switch (priority) {
    case LOG_EMERG: return "emergency";
    case LOG_ALERT: return "alert";
    case LOG_CRIT: return "critical";
    case LOG_ERR: return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE: return "notice";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

static void emit(int priority, const char *file, int line, const char *msg)
{
    char text[MSG_MAX + 256];
    if (state.location && file)
        snprintf(text, sizeof text, "%s:%d %s", file, line, msg);
    else
        snprintf(text, sizeof text, "%s", msg);
    pthread_mutex_lock(&lock);
    if (state.to_syslog) {
        if (!state.opened)
            reopen_locked();
        syslog(priority, "%s", text);
    }
    int to_stderr = state.copy_to_stderr || (state.problems_to_stderr && priority <= LOG_WARNING);
    if (to_stderr && state.level_names)
        fprintf(stderr, "%s[%ld]: %s: %s\n", state.ident, (long)getpid(), level_name(priority),
                text);
    else if (to_stderr)
        fprintf(stderr, "%s[%ld]: %s\n", state.ident, (long)getpid(), text);
    pthread_mutex_unlock(&lock);
}

void daemon_log_at(int priority, const char *file, int line, const char *fmt, ...)
{
    if (!daemon_log_enabled(priority))
        return;
    int saved = errno;
    char msg[MSG_MAX];
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

int daemon_log_opt(daemon_log_opts *o, const char *progname, int ch, const char *arg)
{
    if (ch == 'Z') {
        o->to_stderr = 1;
    } else if (ch == 'v') {
        o->verbose++;
    } else if (owp_parse_facility(arg, &o->facility, NULL) != OWP_OK) { /* -e */
        fprintf(stderr, "%s: -e: syslog facility \"%s\" unknown\n", progname, arg);
        return -1;
    }
    return 0;
}

void daemon_log_open_opts(const char *ident, const daemon_log_opts *o)
{
    daemon_log_open(ident, o->facility, o->verbose ? LOG_DEBUG : LOG_INFO, o->to_stderr);
}
