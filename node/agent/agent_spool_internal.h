/*
 * agent_spool_internal.h - what the spool (agent_spool.c) and its work
 * queues (agent_spool_queue.c) share; not part of agent_spool.h's API.
 */
#ifndef AGENT_SPOOL_INTERNAL_H
#define AGENT_SPOOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "agent_spool.h"

#define SPOOL_PATH_MAX 4096
#define TIMES_LEN 41 /* START_END: 20 + 1 + 20 */

/* ".owp", ".sum", ".sub.sum", ".unm"; NULL for another kind. */
const char *agent_spool_kind_suffix(owm_file_kind kind);
/* n decimal digits at s into *out: 1, or 0 when not digits or too big. */
int agent_spool_parse_digits(const char *s, size_t n, uint64_t *out);
/* Do the len bytes at s end with suffix? */
int agent_spool_ends_with(const char *s, size_t len, const char *suffix);

#endif
