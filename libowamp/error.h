/*
 * error.h - how libowamp reports failure.
 *
 * Every fallible function returns an owp_status (OWP_OK == 0) and, when the
 * caller passes a non-NULL owp_err, fills it with the same code and a
 * human-readable message that names the file:line, field or peer at fault.
 * The library never prints and never exits: callers decide what to do.
 */
#ifndef OWP_ERROR_H
#define OWP_ERROR_H

#include <stdarg.h>

typedef enum owp_status {
    OWP_OK = 0,
    OWP_ERR_SYS,      /* a system call failed; message carries strerror */
    OWP_ERR_NOMEM,    /* allocation failed */
    OWP_ERR_INVALID,  /* caller passed an invalid argument */
    OWP_ERR_PARSE,    /* bad text input: config, option value, file syntax */
    OWP_ERR_FORMAT,   /* bad binary input: truncated or malformed file/message */
    OWP_ERR_PROTO,    /* peer broke the protocol (wrong type, MBZ set, bad HMAC) */
    OWP_ERR_CRYPTO,   /* OpenSSL failed */
    OWP_ERR_REFUSED,  /* peer or policy refused (Accept != 0, no common mode) */
    OWP_ERR_TIMEOUT,  /* peer stalled past a deadline */
    OWP_ERR_CLOSED,   /* peer closed the connection */
    OWP_ERR_INTERRUPTED /* stopped on request (signal, stop flag) */
} owp_status;

#define OWP_ERR_MSG_MAX 512

typedef struct owp_err {
    owp_status code;
    char msg[OWP_ERR_MSG_MAX];
} owp_err;

/* Set *err (if non-NULL) and return code, so callers can write
 * `return owp_err_set(err, OWP_ERR_PARSE, "%s:%d: ...", path, line);` */
owp_status owp_err_set(owp_err *err, owp_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As owp_err_set, appending ": strerror(errno)" (errno read on entry). */
owp_status owp_err_sys(owp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix an existing message with context ("peer 127.0.0.1:861: ..."). */
owp_status owp_err_prefix(owp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void owp_err_clear(owp_err *err);

/* Short name of a status code ("protocol error"). */
const char *owp_status_name(owp_status code);

/* Log priorities: the syslog values, so a daemon can pass them straight on. */
enum { OWP_LOG_ERR = 3, OWP_LOG_WARNING = 4, OWP_LOG_INFO = 6, OWP_LOG_DEBUG = 7 };

/* Where the library's engines (server, stream, data directory) send log
 * lines: one finished line (no trailing newline) at a syslog priority; NULL
 * means silent. The server engine calls it from a connection's endpoint
 * threads too, so it must be thread-safe. */
typedef void (*owp_log_fn)(void *arg, int priority, const char *msg);

/* Format one line (at most 1023 bytes, truncated beyond) and hand it to fn,
 * if fn is not NULL. */
void owp_log(owp_log_fn fn, void *arg, int priority, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
