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
#ifndef STORE_UNMEASURED_H
#define STORE_UNMEASURED_H

#define STORE_REASON_MAX 31u   /* bytes of a reason token */
#define STORE_DETAIL_MAX 1024u /* longer details are cut */
#define STORE_MAX_REASONS 16   /* distinct reasons a sum tells apart */

/* Store the interval [start, end) of path_id with its reason token (as in
 * mesh/unmeasured.h: "peer-down", "owampd-refused" ...; [a-z0-9-], 1 to
 * STORE_REASON_MAX bytes) and detail (may be NULL or empty), pulled from
 * node as its file number seq under name. Cursor semantics as
 * store_ingest_buffer: seq <= the node's cursor -> STORE_INGEST_ALREADY and
 * nothing done; otherwise the interval and the cursor (seq, name) are
 * written in one transaction (nested in the open batch, if any). An interval
 * already stored for (path, start) is kept as it is: STORE_INGEST_DUPLICATE,
 * only the cursor advances. res may be NULL; only res->status is set. */
owp_status store_ingest_unmeasured(store_db *self, const char *node, uint64_t seq,
                                       const char *name, uint32_t path_id, owp_num64 start,
                                       owp_num64 end, const char *reason, const char *detail,
                                       store_ingest_result *res, owp_err *err);

typedef struct store_unmeasured {
    uint32_t path_id;
    owp_num64 start, end;           /* as stored (not clipped) */
    const char *reason, *detail;    /* valid during the callback only */
} store_unmeasured;
typedef int (*store_unmeasured_fn)(const store_unmeasured *u, void *arg);

/* The intervals of path_id overlapping [from, to) (start < to and
 * end > from), in start order; return non-zero to stop. */
owp_status store_unmeasured_list(store_db *self, uint32_t path_id, owp_num64 from,
                                     owp_num64 to, store_unmeasured_fn fn, void *arg,
                                     owp_err *err);

/* Unmeasured time of one or more paths over [from, to): each interval
 * clipped to the range; overlapping intervals of a path counted once (the
 * overlap goes to the one that started first); summed over the paths, so a
 * group's figure is in path-seconds. Reasons beyond STORE_MAX_REASONS
 * are added to the last one ("other"). */
typedef struct store_unmeasured_reason_total {
    char reason[STORE_REASON_MAX + 1];
    double seconds;
} store_unmeasured_reason_total;
typedef struct store_unmeasured_totals {
    double total;                   /* seconds */
    size_t nreasons;
    store_unmeasured_reason_total r[STORE_MAX_REASONS]; /* most seconds first */
} store_unmeasured_totals;
owp_status store_unmeasured_sum(store_db *self, const uint32_t *paths, size_t npaths,
                                    owp_num64 from, owp_num64 to, store_unmeasured_totals *sum,
                                    owp_err *err);

#endif
