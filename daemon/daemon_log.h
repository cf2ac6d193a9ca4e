/*
 * daemon_log.h - logging for the owmesh daemons (owampd, powstream,
 * owmesh-node, owmesh-collector, owmesh-coordinator): syslog with LOG_PID and
 * a facility from the options, a priority threshold ("loglevel"), and an
 * optional copy on stderr in the form "IDENT[PID]: message" (what the
 * reference gets from LOG_PERROR).
 *
 * The coordinator's foreground log differs in two ways, each a setting:
 * stderr only, without syslog (daemon_log_set_syslog(0)), and lines of the
 * form "IDENT[PID]: LEVEL: message" (daemon_log_level_names(1)).
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

/* Also copy warnings and errors to stderr (whatever daemon_log_set_stderr
 * says): while a detaching daemon starts, so that the operator who started
 * it sees why it could not. */
void daemon_log_set_problems_to_stderr(int on);
/* 0: write no syslog at all (stderr only); 1, the default: syslog. Set
 * before daemon_log_open to keep syslog closed from the start. */
void daemon_log_set_syslog(int on);
/* 1: name the level on stderr: "IDENT[PID]: warning: message". */
void daemon_log_level_names(int on);
void daemon_log_location(int on);
void daemon_log_close(void);

/* 1 when a message of this priority would be emitted. */
int daemon_log_enabled(int priority);

void daemon_log_at(int priority, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adapter for library callbacks of the form (arg, priority, message),
 * e.g. owp_server_config.log. arg is unused. */
void daemon_log_callback(void *arg, int priority, const char *msg);

/* The log options of owmesh-node and owmesh-collector: -Z (a copy on
 * stderr), -e facility, -v (debug messages too). */
typedef struct daemon_log_opts {
    int to_stderr;
    int facility; /* set it to LOG_DAEMON before parsing */
    int verbose;
} daemon_log_opts;

#define DAEMON_LOG_USAGE                                   \
    "   -Z             log to stderr as well as syslog\n"  \
    "   -e facility    syslog facility (default daemon)\n" \
    "   -v             verbose (debug) logging\n"

/* Take getopt's -Z, -e or -v: 0, or -1 after saying on stderr that the
 * facility is unknown. */
int daemon_log_opt(daemon_log_opts *o, const char *progname, int ch, const char *arg);
/* daemon_log_open as the options say: info messages, debug ones with -v. */
void daemon_log_open_opts(const char *ident, const daemon_log_opts *o);

#define log_err(...) daemon_log_at(LOG_ERR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) daemon_log_at(LOG_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) daemon_log_at(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) daemon_log_at(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
