/*
 * store.h - the collector's measurement store: every record of every .owp
 * file pulled from the mesh, in LMDB, queried in milliseconds.
 *
 * Layout (one LMDB environment, named databases; every integer in a key is
 * big-endian, so LMDB's key order is (path, time) order):
 *   paths      path id (u32)                          -> "src\0dst\0params\0"
 *   path_names "src\0dst\0params"                     -> path id (u32)
 *   records    path(4) send_time(8) seq(4) copy(1)    -> recv_time(8) send_err(2) recv_err(2)
 *                                                        ttl(1) flags(1); recv_time 0 = lost
 *   sessions   path(4) start(8) sid(16)               -> session summary + Request-Session
 *   hist_m     path(4) minute start, NTP seconds (4)  -> delay histogram of that minute
 *   hist_h     path(4) hour start (4)                 -> the same per hour   (rollup)
 *   hist_d     path(4) day start (4)                  -> the same per UTC day (rollup)
 *   cursors    node name                              -> last file seq (u64) + file name
 *   meta       name                                   -> next path id, prune horizons
 * copy is 0 for the first copy of a packet and 1, 2, ... for duplicates, so
 * duplicates keep their own receive times. The hour and day rollups exist
 * because measurement said so: a 30-day percentile over 100 paths reads
 * ~3 000 day histograms instead of 4.3 million minute ones.
 *
 * Times: absolute times are OWAMP timestamps (owp_num64, 32.32 seconds since
 * 1900-01-01 UTC) as in .owp files; histogram periods are aligned to UTC
 * minutes/hours/days (the NTP-Unix epoch offset is a whole number of days).
 *
 * Crash safety: store_ingest_file() writes a file's records, its session
 * summary, its histograms and the node's cursor in ONE write transaction, so
 * after a crash at any instant either all of it is there or none of it is:
 * re-pulling the file after the cursor stores it exactly once. A file whose
 * seq is <= the node's cursor is skipped (STORE_INGEST_ALREADY), and a session
 * already stored under another file seq (same path, start time and SID) is
 * not counted again (STORE_INGEST_DUPLICATE; the cursor still advances).
 * Commits are synchronous by default (fsync before store_ingest_file
 * returns), so the collector may ack the file to its node as soon as the call
 * returns. With opts.nometasync (MDB_NOMETASYNC) the data pages are still
 * synced but the meta page is not: a system crash can roll back the LAST
 * committed transaction (never corrupt the store, never half a file), so a
 * collector using it must call store_sync() before acking files; the
 * node then re-sends whatever was rolled back. MDB_NOSYNC is never used: it
 * could lose committed files after they were acked.
 *
 * Threads: a store handle keeps scratch buffers; use one handle per thread
 * (LMDB allows many processes and handles on one directory: the collector
 * ingests while `owmesh query` reads from another process).
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owpfile.h"
#include "timestamp.h"
#include "wire.h"

typedef struct store_db store_db;

/* ---- opening ---- */
#define STORE_DEFAULT_MAP_SIZE (64ULL << 30) /* address space, not disk */
#define STORE_DAY 86400u

typedef struct store_opts {
    uint64_t map_size;     /* bytes; 0 = STORE_DEFAULT_MAP_SIZE */
    /* Retention in seconds (0 = keep forever), applied by store_prune(). */
    uint64_t keep_raw;     /* records and sessions        (default 30 days) */
    uint64_t keep_minute;  /* per-minute histograms       (default 90 days) */
    uint64_t keep_hour;    /* per-hour histograms         (default 2 years) */
    uint64_t keep_day;     /* per-day histograms          (default 2 years) */
    int nometasync;        /* MDB_NOMETASYNC: see the crash-safety note above */
    int readonly;          /* open for queries only (the CLI) */
} store_opts;

/* The environment variable that overrides opts.map_size (bytes, or with a
 * K, M, G or T suffix): how an operator grows a store whose map is full. */
#define STORE_MAP_SIZE_ENV "OWMESH_STORE_MAP_SIZE"

/* Fill opts with the defaults above. */
void store_opts_default(store_opts *opts);

/* Open the store at location: a directory (which must exist) holds an LMDB
 * store, its data file created if needed; clickhouse://[USER[:PASSWORD]@]
 * HOST:PORT/DATABASE (clickhouses:// for https) names a ClickHouse database
 * spoken to over its HTTP interface, its tables made on first use
 * (store_ch.h). opts may be NULL for the defaults; map_size and nometasync
 * apply to LMDB only. */
store_db *store_open(const char *location, const store_opts *opts, owp_err *err);
void store_close(store_db **self_p);
/* Does location name a store by URL (rather than a directory)? */
int store_location_is_url(const char *location);
/* location as logs and messages may show it: a URL's password (between
 * "USER:" and "@") replaced by "***"; a directory unchanged. Returns buf. */
const char *store_location_shown(const char *location, char *buf, size_t len);
/* "lmdb" or "clickhouse". */
const char *store_backend_name(const store_db *self);
/* Flush to disk (only needed with opts.nometasync, before acking files). */
owp_status store_sync(store_db *self, owp_err *err);
/* 1 when the last write (ingest, cursor, commit, sync) failed for lack of
 * room: the map is full, or the disk (ENOSPC, EDQUOT, the file size limit,
 * or the EIO of a short write on a full disk). Not the file's fault: the
 * caller keeps it and tries again later, never refuses or skips it. The
 * error message names the store and what to do. */
int store_full(const store_db *self);

/* ---- paths: a measured direction (source -> destination, test parameters) ---- */
/* Get-or-create the id (> 0) of a path; the strings are stored verbatim and
 * compared byte for byte (the caller picks a canonical params string, e.g.
 * the mesh's test name or "interval=0.1 padding=0 dscp=0"). None may hold NUL
 * bytes; each at most 255 bytes; src and dst non-empty. */
owp_status store_path_id(store_db *self, const char *src, const char *dst, const char *params,
                             uint32_t *id, owp_err *err);
/* Look up without creating: *id = 0 when the path is unknown. */
owp_status store_path_find(store_db *self, const char *src, const char *dst,
                               const char *params, uint32_t *id, owp_err *err);

typedef struct store_path {
    uint32_t id;
    const char *src, *dst, *params; /* valid during the callback only */
    /* Send time of the newest data of the path (raw record, else minute
     * histogram); 0 when the path has none. For completeness / staleness. */
    owp_num64 newest;
} store_path;
/* Called for every path in id order; return non-zero to stop. */
typedef int (*store_path_fn)(const store_path *path, void *arg);
owp_status store_list_paths(store_db *self, store_path_fn fn, void *arg, owp_err *err);
/* One path by id; OWP_ERR_INVALID "unknown path id N" when there is none.
 * The strings stay valid until the next call on this handle. */
owp_status store_path_get(store_db *self, uint32_t id, store_path *path, owp_err *err);

/* ---- ingest ---- */
typedef enum store_ingest_status {
    STORE_INGEST_STORED = 0,  /* records, summary, histograms and cursor committed */
    STORE_INGEST_ALREADY,     /* file seq <= the node's cursor: nothing done */
    STORE_INGEST_DUPLICATE    /* its session was already stored: only the cursor advanced */
} store_ingest_status;

typedef struct store_ingest_result {
    store_ingest_status status;
    uint64_t records;       /* records stored (lost marks and duplicates included) */
    uint64_t ignored;       /* records not stored: inside a skip range, or already stored */
    uint64_t sent, lost, dups, reordered;
    owp_num64 first, last;  /* send times of the first/last stored record */
} store_ingest_result;

/* Ingest one .owp file (either layout) pulled from node as its file number
 * file_seq (> 0) under file_name, measured on path_id. fp must be at the
 * file's start; it stays the caller's. result may be NULL. On any error
 * nothing is written (the transaction is aborted) and the cursor stays. */
owp_status store_ingest_file(store_db *self, const char *node, uint64_t file_seq,
                                 const char *file_name, uint32_t path_id, FILE *fp,
                                 store_ingest_result *result, owp_err *err);
/* The same from the file's bytes in memory (e.g. reassembled FileChunks). */
owp_status store_ingest_buffer(store_db *self, const char *node, uint64_t file_seq,
                                   const char *file_name, uint32_t path_id, const void *data,
                                   size_t len, store_ingest_result *result, owp_err *err);
/* Group commit. Between store_batch_begin and store_batch_commit the
 * ingests, cursor advances and path creations of this handle (one thread)
 * share one write transaction, each in a nested transaction of its own, so
 * a file that fails leaves no trace while the others stay. The commit is one
 * disk flush for the whole batch; until it, nothing of the batch is durable
 * or visible to readers, and a crash (or store_batch_abort) drops all of
 * it, cursor included - the files are pulled again. */
owp_status store_batch_begin(store_db *self, owp_err *err);
owp_status store_batch_commit(store_db *self, owp_err *err);
void store_batch_abort(store_db *self);

/* Advance a node's cursor past a file that cannot be ingested (e.g. a corrupt
 * file the collector quarantines), so it is not pulled forever. Refused
 * (OWP_ERR_INVALID) unless file_seq is greater than the cursor. */
owp_status store_cursor_advance(store_db *self, const char *node, uint64_t file_seq,
                                    const char *file_name, owp_err *err);
/* Last committed file of node: *file_seq = 0 and name "" when none.
 * name may be NULL; otherwise it receives up to name_len - 1 bytes + NUL. */
owp_status store_cursor(store_db *self, const char *node, uint64_t *file_seq, char *name,
                            size_t name_len, owp_err *err);

/* Test hook: called inside the ingest write transaction at the named points
 * "begin", "records" (every 1024 records, n = records so far), "histograms",
 * "session", "cursor" (just before commit). Tests kill the process there to
 * prove crash safety. NULL removes it. */
typedef void (*store_hook_fn)(const char *point, uint64_t n, void *arg);
void store_set_hook(store_db *self, store_hook_fn hook, void *arg);

/* ---- retention ---- */
typedef struct store_prune_result {
    uint64_t records, sessions, minutes, hours, days; /* entries deleted */
} store_prune_result;
/* Delete what the retention options say is too old at time now (OWAMP
 * timestamp), in one write transaction. result may be NULL. */
owp_status store_prune(store_db *self, owp_num64 now, store_prune_result *result, owp_err *err);

/* ---- queries ----
 * A query aggregates one or more paths (a path, a node's paths, a group or
 * the whole mesh: the caller resolves them with store_list_paths) over
 * [from, to), as one row or one row per `every` seconds.
 *
 * Definitions (all delays in seconds, OWD = recv - send as owstats computes
 * it; each statistic is computed by its function in libowamp/owdstat.h, the
 * same as owstats', see doc/statistics.md):
 *   sent      first copies + lost marks (packets the period's send times cover)
 *   lost      lost marks; loss_pct = 100 * lost / sent (owp_owd_loss_ratio)
 *   dups      copies beyond the first
 *   reordered packets (first copies) that arrived after a packet with a
 *             higher seq of the same session (RFC 4737 "reordered")
 *   min, max  over every received copy (as owstats)
 *   percentiles over first copies, nearest rank: the smallest delay v such
 *             that at least p% of the received packets have delay <= v
 *             (p = 0: the minimum) (owp_owd_percentile)
 *   jitter    P95 - P50 of those percentiles, as owstats prints it
 *             (owp_owd_jitter); valid when has_delay
 *   ipdv      mean of |D(s+1) - D(s)| over consecutive sequence numbers s, s+1
 *             of a session that both arrived (RFC 3393 with the "consecutive
 *             packets" selection, owp_owd_ipdv); the pair belongs to the
 *             period of packet s+1; ipdv_pairs says how many pairs there were
 *   hops      255 - TTL of first copies (as owstats), min and max
 *
 * Source (row.source): raw records give exact values; histograms give
 * percentiles within row.rel_error (relative, 1 %) of the exact value for
 * |delay| in [1 us, 1000 s], within row.abs_error (1 us) below 1 us, and so
 * jitter within rel_error x (|P95| + |P50|) (+ 2 abs_error); min, max, counts
 * and ipdv are exact either way. Histogram rows cover whole UTC
 * minutes: row.start/end are widened to the minutes they used.
 * STORE_SOURCE_AUTO reads raw records when the period holds at most
 * STORE_RAW_LIMIT records (all paths together) and raw records are still
 * retained for it, else histograms. The threshold is a record count rather
 * than a period length because the cost of a raw query is the number of
 * records it reads: 100 000 records take ~15 ms, i.e. one path at 10 packets/s
 * for under 3 hours, or 100 such paths for 100 s.
 */
#define STORE_RAW_LIMIT 100000u
#define STORE_MAX_PERCENTILES 32
#define STORE_HIST_REL_ERROR 0.01
#define STORE_HIST_ABS_ERROR 1e-6

typedef enum store_source {
    STORE_SOURCE_AUTO = 0, /* in a query: choose; never in a row */
    STORE_SOURCE_RAW,
    STORE_SOURCE_HIST
} store_source;

typedef struct store_query {
    const uint32_t *paths;     /* path ids, at least one; unknown ids fail the query */
    size_t npaths;
    owp_num64 from, to;        /* [from, to), from < to */
    uint32_t every;            /* seconds per row; 0 = a single row */
    const double *percentiles; /* each in [0, 100]; at most STORE_MAX_PERCENTILES */
    size_t npercentiles;
    store_source source;   /* AUTO, or force RAW / HIST */
} store_query;

typedef struct store_row {
    owp_num64 start, end;      /* the period the row covers */
    int empty;                 /* 1: no record at all in the period (every value below is 0) */
    store_source source;   /* RAW or HIST */
    double rel_error, abs_error; /* percentile error bound (0 for raw) */
    uint64_t sent, lost, dups, reordered, received;
    double loss_pct;           /* 0 when sent == 0 */
    int has_delay;             /* 1 when at least one packet arrived (min, max, percentiles valid) */
    double min, max;
    double percentiles[STORE_MAX_PERCENTILES]; /* same order as the query's */
    double jitter;             /* P95 - P50; valid when has_delay */
    uint64_t ipdv_pairs;
    double ipdv;               /* mean |IPDV|; valid when ipdv_pairs > 0 */
    int hops_min, hops_max;    /* -1 when nothing arrived */
} store_row;

/* Called once per row, in time order (empty periods included); return
 * non-zero to stop. */
typedef int (*store_row_fn)(const store_row *row, void *arg);
owp_status store_query_run(store_db *self, const store_query *q, store_row_fn fn,
                               void *arg, owp_err *err);

/* Several queries at once: the rows of store_query_run on each in turn, fn
 * told which query (its index in qs) a row answers; non-zero from fn stops
 * them all. A backend that pays per
 * request (ClickHouse) reads what they all need together, so a grid of
 * thousands of paths costs a few requests rather than one per cell. */
typedef int (*store_many_row_fn)(size_t query, const store_row *row, void *arg);
owp_status store_query_many(store_db *self, const store_query *qs, size_t n,
                            store_many_row_fn fn, void *arg, owp_err *err);

/* ---- export ---- */
/* Raw records of one path with send time in [from, to), in (send time, seq)
 * order, duplicates after their first copy; return non-zero to stop. */
typedef int (*store_record_fn)(const owp_record *r, void *arg);
owp_status store_export(store_db *self, uint32_t path_id, owp_num64 from, owp_num64 to,
                            store_record_fn fn, void *arg, owp_err *err);

/* Sessions stored for a path whose start time is in [from, to), in start
 * order, with their Request-Session (slots included) so `owmesh export` can
 * write a .owp file per session (owp_file_write_fetched_header, then the
 * session's records from store_export over [first, last + 1)). */
typedef struct store_session {
    uint32_t path_id;
    owp_num64 start;              /* the request's start time */
    uint8_t sid[OWP_SID_LEN];
    owp_num64 first, last;        /* send times of the first/last stored record */
    uint64_t sent, lost, dups, reordered, records;
    uint32_t finished, next_seqno;
    uint64_t file_seq;            /* the file it came from */
    const char *node, *file_name; /* valid during the callback only */
    const owp_request *request;   /* valid during the callback only */
} store_session;
typedef int (*store_session_fn)(const store_session *s, void *arg);
owp_status store_sessions(store_db *self, uint32_t path_id, owp_num64 from, owp_num64 to,
                              store_session_fn fn, void *arg, owp_err *err);

/* ---- unmeasured intervals (store_unmeasured.c) ---- */
#include "store_unmeasured.h"

#endif
