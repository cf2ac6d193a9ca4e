/*
 * log.h - the coordinator's log: syslog, or stderr in the foreground (-Z).
 *
 * Four words, as the OpenBSD daemons: owmc_log_err, owmc_log_warn,
 * owmc_log_info, owmc_log_debug (debug only with -v). Every message about a
 * node or stream names it; the callers see to that.
 */
#ifndef OWMC_LOG_H
#define OWMC_LOG_H

#include <syslog.h>

/* to_stderr: write "IDENT[PID]: LEVEL: message" lines on stderr instead of
 * syslog. verbose: emit debug messages too. */
void owmc_log_open(const char *ident, int facility, int to_stderr, int verbose);
void owmc_log_close(void);

void owmc_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define owmc_log_err(...) owmc_log(LOG_ERR, __VA_ARGS__)
#define owmc_log_warn(...) owmc_log(LOG_WARNING, __VA_ARGS__)
#define owmc_log_info(...) owmc_log(LOG_INFO, __VA_ARGS__)
#define owmc_log_debug(...) owmc_log(LOG_DEBUG, __VA_ARGS__)

#endif
