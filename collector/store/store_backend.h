/*
 * store_backend.h - what a store backend implements (store_ops) and what the
 * backends share (not part of the API). store.c opens the backend a location
 * names and passes every call to its ops; the LMDB backend (store_lmdb*.c) and
 * the ClickHouse one (store_ch*.c) each embed a store_db as their first member.
 *
 * Shared so that both backends give the same answers from the same files:
 * the loading of a file's records (store_records.c: skip ranges, key order,
 * copy numbers, reordering) and the query engine (store_query.c: every
 * statistic of a row, from raw records or merged histograms), which reads a
 * backend through a store_scan.
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "owdstat.h"
#include "owpfile.h"
#include "store.h"
#include "store_hist.h"

/* ---- the backend interface: one function per public call (store.h) ---- */
typedef struct store_ops {
    const char *name; /* "lmdb", "clickhouse" */
    void (*close)(store_db *db);
    owp_status (*sync)(store_db *db, owp_err *err);
    int (*full)(const store_db *db);
    owp_status (*path_id)(store_db *db, const char *src, const char *dst, const char *params,
                          uint32_t *id, owp_err *err);
    owp_status (*path_find)(store_db *db, const char *src, const char *dst, const char *params,
                            uint32_t *id, owp_err *err);
    owp_status (*list_paths)(store_db *db, store_path_fn fn, void *arg, owp_err *err);
    owp_status (*path_get)(store_db *db, uint32_t id, store_path *path, owp_err *err);
    owp_status (*ingest_file)(store_db *db, const char *node, uint64_t file_seq,
                              const char *file_name, uint32_t path_id, FILE *fp,
                              store_ingest_result *result, owp_err *err);
    owp_status (*batch_begin)(store_db *db, owp_err *err);
    owp_status (*batch_commit)(store_db *db, owp_err *err);
    void (*batch_abort)(store_db *db);
    owp_status (*cursor_advance)(store_db *db, const char *node, uint64_t file_seq,
                                 const char *file_name, owp_err *err);
    owp_status (*cursor)(store_db *db, const char *node, uint64_t *file_seq, char *name,
                         size_t name_len, owp_err *err);
    void (*set_hook)(store_db *db, store_hook_fn hook, void *arg);
    owp_status (*prune)(store_db *db, owp_num64 now, store_prune_result *result, owp_err *err);
    owp_status (*query_run)(store_db *db, const store_query *q, store_row_fn fn, void *arg,
                            owp_err *err);
    /* NULL: store.c runs the queries one by one */
    owp_status (*query_many)(store_db *db, const store_query *qs, size_t n,
                             store_many_row_fn fn, void *arg, owp_err *err);
    owp_status (*export_records)(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                                 store_record_fn fn, void *arg, owp_err *err);
    owp_status (*sessions)(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                           store_session_fn fn, void *arg, owp_err *err);
    owp_status (*ingest_unmeasured)(store_db *db, const char *node, uint64_t seq,
                                    const char *name, uint32_t path_id, owp_num64 start,
                                    owp_num64 end, const char *reason, const char *detail,
                                    store_ingest_result *res, owp_err *err);
    owp_status (*unmeasured_list)(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                                  store_unmeasured_fn fn, void *arg, owp_err *err);
} store_ops;

struct store_db {
    const store_ops *ops;
};

/* The backends' constructors (store.c picks one by the location's form). */
store_db *store_lmdb_open(const char *dir, const store_opts *opts, owp_err *err);
store_db *store_ch_open(const char *url, const store_opts *opts, owp_err *err);

/* ---- argument checks every backend makes the same way (store.c) ---- */
#define STORE_PATH_FIELD_MAX 255
#define STORE_NODE_NAME_MAX 255
owp_status store_check_path_strings(const char *src, const char *dst, const char *params,
                                    owp_err *err);
owp_status store_check_node(const char *node, owp_err *err);
owp_status store_check_ingest_args(const char *node, uint64_t file_seq, const char *file_name,
                                   FILE *fp, owp_err *err);
owp_status store_check_unmeasured_args(const char *node, uint64_t seq, const char *name,
                                       owp_num64 start, owp_num64 end, const char *reason,
                                       owp_err *err);
/* Grow a scratch array to hold n elements of size sz: 0, or -1 out of memory. */
int store_reserve(void **buf, size_t *cap, size_t n, size_t sz);

/* ---- histogram levels ---- */
enum { LEVEL_MINUTE, LEVEL_HOUR, LEVEL_DAY, LEVEL_COUNT };
static const uint32_t level_secs[LEVEL_COUNT] = {60, 3600, 86400};

/* ---- a file's records, as both backends store them (store_records.c) ---- */
#define REC_FLAG_REORDERED 0x01
#define STORE_MAX_COPIES 255

/* One record of a file. */
typedef struct store_rec {
    owp_num64 send_time, recv_time;
    uint32_t seq, arrival; /* arrival: its position in the file */
    uint16_t send_err, recv_err;
    uint8_t ttl, flags;    /* flags: REC_FLAG_REORDERED (RFC 4737, within the file) */
} store_rec;

/* Load file's records outside its skip ranges into *recs (grown as needed,
 * the caller's to free), sorted into key order (send time, seq, arrival).
 * *ignored counts the records inside skip ranges. */
owp_status store_records_load(owp_file *file, store_rec **recs, size_t *cap, size_t *n,
                              uint64_t *ignored, owp_err *err);
/* Record i of the sorted array: is it stored, and as which copy of its packet
 * (0 = the first)? *copies carries the count from record i - 1. */
int store_records_copy_number(const store_rec *recs, size_t i, uint8_t *copies);

/* Running per-file accounting of stored records: the result's counts and
 * the histogram h of the record's period (IPDV over consecutive first copies). */
typedef struct store_account {
    store_ingest_result *res;
    owp_owd_ipdv ipdv;
} store_account;
void store_account_init(store_account *a, store_ingest_result *res);
void store_account_record(store_account *a, store_hist *h, const store_rec *s, uint8_t copy);

/* ---- the query engine (store_query.c) ----
 * A backend answers store_query_run by filling a store_scan and calling
 * store_query_rows; the engine decides raw or histograms per row exactly as
 * store.h describes, so both backends give the same rows. */
typedef int (*store_scan_record_fn)(const owp_record *r, uint8_t copy, uint8_t flags, void *arg);
typedef struct store_scan store_scan;
struct store_scan {
    /* NTP seconds before which raw records / each level's histograms were pruned */
    uint64_t raw_horizon, hist_horizon[LEVEL_COUNT];
    /* Merge into acc the level's histograms of path with period start in [lo, hi) seconds. */
    owp_status (*hist)(store_scan *scan, int level, uint32_t path, uint64_t lo, uint64_t hi,
                       store_hist *acc, owp_err *err);
    /* Call fn for every record of path with send time in [from, to), in key
     * order (send time, seq, copy), each once; stop when fn returns non-zero. */
    owp_status (*records)(store_scan *scan, uint32_t path, owp_num64 from, owp_num64 to,
                          store_scan_record_fn fn, void *arg, owp_err *err);
};
/* Scratch a handle keeps across queries (no per-query allocation). */
typedef struct store_query_scratch {
    double *delays;
    size_t cap;
    store_hist *acc;
} store_query_scratch;
void store_query_scratch_free(store_query_scratch *s);
owp_status store_query_check(const store_query *q, owp_err *err);
owp_status store_query_rows(const store_query *q, store_scan *scan, store_query_scratch *scratch,
                            store_row_fn fn, void *arg, owp_err *err);

#endif
