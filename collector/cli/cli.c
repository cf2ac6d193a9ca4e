/* cli.c - shared pieces of the owmesh CLI (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"

void owmesh_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("owmesh: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void owmesh_format_time(uint64_t owp_time, char *buf, size_t len)
{
    if (!owp_time) {
        snprintf(buf, len, "-");
        return;
    }
    struct timespec ts;
    owp_ntp_to_timespec(owp_time, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
