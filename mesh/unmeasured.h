/*
 * unmeasured.h - an interval a stream could not measure, and why.
 *
 * A session that could not be set up (the peer node down, its owampd
 * refusing, the control connection timing out...) sent no packets, so none
 * of its packets can be lost: the interval is UNMEASURED, never loss
 * (doc/statistics.md). The node agent writes one small text file per
 * interval into its spool (FILE_KIND_UNMEASURED, START_END.unm); the
 * collector stores it beside the records, and every analyst command shows it
 * as unmeasured time with its reason.
 *
 * The file, one "key value" line each, in this order (text, so an operator
 * can read a spool with cat):
 *
 *     owmesh-unmeasured 1
 *     stream core-owd:nyc->chi
 *     start 16045516384432234496          OWAMP 32.32 timestamp, inclusive
 *     end 16045516642130272256            exclusive; end > start
 *     reason peer-down                    a reason token (below)
 *     sender 127.0.0.2:861                the peer's owamp server, as scheduled
 *     detail connect 127.0.0.2:861: Connection refused     free text, may be empty
 *
 * Unknown keys after the known ones are ignored (later minor versions);
 * a different version number on the first line is refused.
 */
#ifndef OWM_UNMEASURED_H
#define OWM_UNMEASURED_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meshmsg.h"
#include "timestamp.h"

#define OWM_UNMEASURED_VERSION 1
#define OWM_UNMEASURED_MAX_DETAIL 256u
#define OWM_UNMEASURED_MAX_FILE 2048u /* bytes: a larger file is not one */

typedef enum owm_unmeasured_reason {
    OWM_UNMEASURED_UNKNOWN = 0,     /* "unknown": a reason this version does not know */
    OWM_UNMEASURED_PEER_DOWN,       /* "peer-down": the coordinator reports the sending node down */
    OWM_UNMEASURED_OWAMPD_REFUSED,  /* "owampd-refused": connection refused, or the server
                                     * refused the session (peer node up) */
    OWM_UNMEASURED_CONTROL_TIMEOUT, /* "control-timeout": no answer on the control connection */
    OWM_UNMEASURED_UNREACHABLE,     /* "unreachable": no route, host unreachable, name lookup */
    OWM_UNMEASURED_NODE_DOWN,       /* "node-down": the receiving node itself was not running */
    OWM_UNMEASURED_LOCAL_ERROR,     /* "local-error": the receiving node failed (disk, memory) */
    OWM_UNMEASURED_SPOOL_BUDGET,    /* "spool-budget": measured, but deleted uncollected
                                     * because the node's spool was over its disk budget */
    OWM_UNMEASURED_NREASONS
} owm_unmeasured_reason;

typedef struct owm_unmeasured {
    char stream_id[OWM_MSG_MAX_ID + 1];
    owp_num64 start, end;           /* [start, end) */
    owm_unmeasured_reason reason;
    char sender[OWM_MSG_MAX_ADDRESS + 1];
    char detail[OWM_UNMEASURED_MAX_DETAIL + 1];
} owm_unmeasured;

/* "peer-down" (the file's token) and "peer down" (for people). Never NULL. */
const char *owm_unmeasured_reason_token(owm_unmeasured_reason r);
const char *owm_unmeasured_reason_text(owm_unmeasured_reason r);
/* Token or text back to a reason; OWM_UNMEASURED_UNKNOWN when neither. */
owm_unmeasured_reason owm_unmeasured_reason_parse(const char *s);

/* The file's bytes into buf (NUL-terminated); its length, or -1 when it does
 * not fit or a field is invalid (stream id not a token, end <= start,
 * reason out of range). detail is cut to OWM_UNMEASURED_MAX_DETAIL and its
 * control characters replaced. */
int owm_unmeasured_format(const owm_unmeasured *u, char *buf, size_t len);

/* Parse a file's bytes; OWP_ERR_FORMAT naming the line and field. */
owp_status owm_unmeasured_parse(const void *data, size_t len, owm_unmeasured *u, owp_err *err);

#endif
