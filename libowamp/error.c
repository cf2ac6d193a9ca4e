/* error.c - owp_err: status codes that carry a message. */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static owp_status vset(owp_err *err, owp_status code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

owp_status owp_err_set(owp_err *err, owp_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

owp_status owp_err_sys(owp_err *err, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vset(err, OWP_ERR_SYS, fmt, ap);
    va_end(ap);
    if (err) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(saved));
    }
    errno = saved;
    return OWP_ERR_SYS;
}

owp_status owp_err_prefix(owp_err *err, const char *fmt, ...)
{
    if (!err)
        return OWP_ERR_INVALID;
    char prefix[OWP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    size_t plen = strnlen(prefix, sizeof prefix - 3);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* Shift the old message right and put the prefix in front, truncating the tail. */
    size_t olen = strnlen(err->msg, sizeof err->msg - 1);
    size_t keep = olen;
    if (plen + keep > sizeof err->msg - 1)
        keep = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, keep);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + keep] = '\0';
    return err->code;
}

void owp_err_clear(owp_err *err)
{
    if (err) {
        err->code = OWP_OK;
        err->msg[0] = '\0';
    }
}

const char *owp_status_name(owp_status code)
{
    switch (code) {
    case OWP_OK: return "success";
    case OWP_ERR_SYS: return "system error";
    case OWP_ERR_NOMEM: return "out of memory";
    case OWP_ERR_INVALID: return "invalid argument";
    case OWP_ERR_PARSE: return "syntax error";
    case OWP_ERR_FORMAT: return "malformed data";
    case OWP_ERR_PROTO: return "protocol error";
    case OWP_ERR_CRYPTO: return "cryptographic failure";
    case OWP_ERR_REFUSED: return "refused";
    case OWP_ERR_TIMEOUT: return "timed out";
    case OWP_ERR_CLOSED: return "connection closed";
    case OWP_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown error";
}

void owp_log(owp_log_fn fn, void *arg, int priority, const char *fmt, ...)
{
    if (!fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(arg, priority, msg);
}
