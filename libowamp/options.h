/*
 * options.h - parsers for option values the owamp programs share, with the
 * reference's accepted syntax and error wording (../shared/spec/programs.md §0, §5).
 */
#ifndef OWP_OPTIONS_H
#define OWP_OPTIONS_H

#include <stdint.h>

#include "error.h"
#include "owamp.h"

/* "AEO" letters, any case, any combination -> owp_mode bit mask. */
owp_status owp_parse_authmode(const char *text, uint32_t *modes, owp_err *err);
/* The same with TWAMP's M (mixed, RFC 5618) as a fourth letter: twping -A and
 * the authmode directive (which owampd reads too, but never offers M). */
owp_status owp_parse_authmode_twamp(const char *text, uint32_t *modes, owp_err *err);

/* owping/powstream -P (client=1: single N means N-N, "0" ephemeral, default
 * 8760-9960) and owampd -P/testports (client=0: a single number, 0 included). */
owp_status owp_parse_portrange(const char *text, int client, owp_portrange *pr, owp_err *err);

/* -D: 0-63 in C base-0 syntax, or none/default/df/ef/CSn/AFxy names. */
owp_status owp_parse_dscp(const char *text, int *dscp, owp_err *err);

/* Syslog facility name (prefix match as the reference) -> LOG_* value. */
owp_status owp_parse_facility(const char *text, int *facility, owp_err *err);
/* fatal|warning|info|debug|all|none -> syslog priority threshold (-1 none). */
owp_status owp_parse_loglevel(const char *text, int *level, owp_err *err);

/* Strict number parsing for options: the whole string must be consumed. */
owp_status owp_parse_uint32(const char *text, const char *what, uint32_t *out, owp_err *err);
owp_status owp_parse_double(const char *text, const char *what, double *out, owp_err *err);

#endif
