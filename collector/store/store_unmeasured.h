/*
 * store_unmeasured.h - unmeasured intervals in the store (included by
 * store.h; not a header of its own to include).
 *
 * An unmeasured interval is time a path could not be measured (the session
 * could not be set up: peer down, owampd refused, control timeout ...). It
 * holds no packets, so it is never loss: the analyst commands show it as
 * unmeasured time with its reason, and loss % stays over measured packets.
 *
 *   unmeasured path(4) start(8)  -> version(1) end(8) reason length(1) reason
 *                                   detail length(2) detail
 * Keys are big-endian, so LMDB's order is (path, start) order; start and end
 * are OWAMP timestamps, [start, end). Retention follows the raw records
 * (opts.keep_raw, by start time).
 */
#ifndef OWM_STORE_UNMEASURED_H
#define OWM_STORE_UNMEASURED_H

#define OWM_STORE_REASON_MAX 31u   /* bytes of a reason token */
#define OWM_STORE_DETAIL_MAX 1024u /* longer details are cut */
#define OWM_STORE_MAX_REASONS 16   /* distinct reasons a sum tells apart */

/* Store the interval [start, end) of path_id with its reason token (as in
 * mesh/unmeasured.h: "peer-down", "owampd-refused" ...; [a-z0-9-], 1 to
 * OWM_STORE_REASON_MAX bytes) and detail (may be NULL or empty), pulled from
 * node as its file number seq under name. Cursor semantics as
 * owm_store_ingest_buffer: seq <= the node's cursor -> OWM_INGEST_ALREADY and
 * nothing done; otherwise the interval and the cursor (seq, name) are
 * written in one transaction (nested in the open batch, if any). An interval
 * already stored for (path, start) is kept as it is: OWM_INGEST_DUPLICATE,
 * only the cursor advances. res may be NULL; only res->status is set. */
owp_status owm_store_ingest_unmeasured(owm_store *self, const char *node, uint64_t seq,
                                       const char *name, uint32_t path_id, owp_num64 start,
                                       owp_num64 end, const char *reason, const char *detail,
                                       owm_ingest_result *res, owp_err *err);

typedef struct owm_store_unmeasured {
    uint32_t path_id;
    owp_num64 start, end;           /* as stored (not clipped) */
    const char *reason, *detail;    /* valid during the callback only */
} owm_store_unmeasured;
typedef int (*owm_store_unmeasured_fn)(const owm_store_unmeasured *u, void *arg);

/* The intervals of path_id overlapping [from, to) (start < to and
 * end > from), in start order; return non-zero to stop. */
owp_status owm_store_unmeasured_list(owm_store *self, uint32_t path_id, owp_num64 from,
                                     owp_num64 to, owm_store_unmeasured_fn fn, void *arg,
                                     owp_err *err);

/* Unmeasured time of one or more paths over [from, to): each interval
 * clipped to the range; overlapping intervals of a path counted once (the
 * overlap goes to the one that started first); summed over the paths, so a
 * group's figure is in path-seconds. Reasons beyond OWM_STORE_MAX_REASONS
 * are added to the last one ("other"). */
typedef struct owm_unmeasured_reason_sum {
    char reason[OWM_STORE_REASON_MAX + 1];
    double seconds;
} owm_unmeasured_reason_sum;
typedef struct owm_unmeasured_sum {
    double total;                   /* seconds */
    size_t nreasons;
    owm_unmeasured_reason_sum r[OWM_STORE_MAX_REASONS]; /* most seconds first */
} owm_unmeasured_sum;
owp_status owm_store_unmeasured_sum(owm_store *self, const uint32_t *paths, size_t npaths,
                                    owp_num64 from, owp_num64 to, owm_unmeasured_sum *sum,
                                    owp_err *err);

#endif
