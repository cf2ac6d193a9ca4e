/*
 * daemon_log.h - logging for the owmesh daemons (owampd, powstream,
 * owmesh-node): syslog with LOG_PID and a facility from the options, a
 * priority threshold ("loglevel"), and an optional copy on stderr in the
 * form "IDENT[PID]: message" (what the reference gets from LOG_PERROR).
 *
 * The vocabulary is four words: log_err, log_warn, log_info, log_debug.
 * Each takes a printf format; with daemon_log_location(1) the source
 * file:line is prefixed (owampd's "loglocation").
 */
#ifndef OWMESH_DAEMON_LOG_H
#define OWMESH_DAEMON_LOG_H

#include <syslog.h>

/* Open the log. ident is kept by reference (syslog needs it to live).
 * level: highest priority emitted (LOG_ERR..LOG_DEBUG), -1 for none. */
void daemon_log_open(const char *ident, int facility, int level, int copy_to_stderr);
/* Change settings after open (a config file read after the first messages). */
void daemon_log_set_facility(int facility);
void daemon_log_set_level(int level);
void daemon_log_set_stderr(int copy_to_stderr);
void daemon_log_location(int on);
void daemon_log_close(void);

/* 1 when a message of this priority would be emitted. */
int daemon_log_enabled(int priority);

void daemon_log_at(int priority, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adapter for library callbacks of the form (arg, priority, message),
 * e.g. owp_server_config.log. arg is unused. */
void daemon_log_callback(void *arg, int priority, const char *msg);

#define log_err(...) daemon_log_at(LOG_ERR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) daemon_log_at(LOG_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) daemon_log_at(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) daemon_log_at(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
