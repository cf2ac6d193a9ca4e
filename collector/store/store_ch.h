/*
 * store_ch.h - what the ClickHouse backend's files share (not part of the
 * API): the URL, the handle, the schema's names and the pending writes.
 * The tables and why they are so: doc/archive.md.
 *
 * Ids: ClickHouse knows a path by a 64-bit hash of "src\0dst\0params"
 * (store_ch_path_hash), so every collector of a cluster files a path under
 * the same key without coordination. The API's uint32 ids are local to a
 * handle: the paths known at open, sorted by (src, dst, params), are 1..n;
 * paths met later are appended.
 *
 * Writes are buffered as RowBinary rows (one buffer per table) and inserted
 * at the end of store_ingest_file, or at store_batch_commit inside a batch:
 * records, minute histograms, the hour and day rollups, sessions, unmeasured
 * intervals, and the cursors LAST. A process killed between two inserts
 * leaves rows whose re-insertion collapses (every table is a
 * ReplacingMergeTree keyed so that the same file gives the same keys), and
 * a cursor that says the file is still to be pulled.
 */
#ifndef STORE_CH_H
#define STORE_CH_H

#include <stdint.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "store_backend.h"
#include "store_ch_http.h"
#include "store_hist.h"

#define CH_SCHEMA_VERSION 1

/* ---- the URL ---- */
#define CH_HOST_MAX 255
#define CH_USER_MAX 255
#define CH_PASSWORD_MAX 255
#define CH_DB_MAX 64
#define CH_PATH_MAX 4096

typedef struct ch_url {
    int https;
    char user[CH_USER_MAX + 1];
    char password[CH_PASSWORD_MAX + 1];
    int has_password; /* given in the URL (possibly empty) */
    char host[CH_HOST_MAX + 1]; /* without brackets */
    unsigned port;
    char database[CH_DB_MAX + 1];
    char password_file[CH_PATH_MAX];
    char cluster[CH_DB_MAX + 1]; /* "": one server; else the cluster its tables span */
    char shards[CH_PATH_MAX];    /* "HOST:PORT,...": the other shards' HTTP, where a
                                  * writer makes the tables too ("" = this server only) */
    char label[CH_HOST_MAX + CH_DB_MAX + 96]; /* scheme://HOST:PORT/DB, no user or password */
} ch_url;

/* clickhouse[s]://[USER[:PASSWORD]@]HOST:PORT/DATABASE[?PARAM=VALUE&...], the
 * parameters password_file=PATH, cluster=NAME and shards=HOST:PORT,...:
 * user and password percent-decoded; HOST a name, an IPv4 address or
 * [IPv6]; PORT 1-65535; DATABASE [A-Za-z_][A-Za-z0-9_]*. Errors name the
 * part at fault, never the password. */
owp_status store_ch_url_parse(const char *url, ch_url *u, owp_err *err);
/* HOST:PORT (n bytes at s) into u->host and u->port; where names the URL in errors. */
owp_status store_ch_parse_hostport(const char *s, size_t n, ch_url *u, const char *where,
                                   owp_err *err);
/* The first line of a password file, refused (OWP_ERR_REFUSED, with the
 * chmod to run) when group or others may read it or another user owns it,
 * as secret key files are (mesh/curve.c). */
owp_status store_ch_password_file(const char *path, char *password, size_t len, owp_err *err);

/* ---- hashes (stable: they are keys in the database) ---- */
uint64_t store_ch_path_hash(const char *src, const char *dst, const char *params);
uint64_t store_ch_session_hash(owp_num64 start, const uint8_t sid[OWP_SID_LEN]);

/* ---- the handle ---- */
typedef struct ch_path {
    uint64_t hash;
    char *src, *dst, *params;
} ch_path;

typedef struct ch_pending_session {
    uint64_t path, sess;
} ch_pending_session;

typedef struct ch_pending_cursor {
    char *node, *name;
    uint64_t seq;
} ch_pending_cursor;

typedef struct ch_period {
    uint64_t path;
    uint32_t start;
} ch_period;

/* What the open batch (or the one ingest) will insert. */
typedef struct ch_pending {
    ch_buf records, hist_m, sessions, unmeasured, cursors; /* RowBinary rows */
    ch_period *hours; /* hours the batch's minutes fall in: their rollups to redo */
    size_t nhours, hours_cap;
    ch_pending_session *sess;
    size_t nsess, sess_cap;
    ch_pending_session *unm; /* (path, start) of pending unmeasured intervals */
    size_t nunm, unm_cap;
    ch_pending_cursor *cursors_seen;
    size_t ncursors, cursors_cap;
    uint64_t nrecords;
} ch_pending;

typedef struct store_ch store_ch;
struct store_ch {
    store_db base; /* first: the handle store.c passes around */
    ch_http *http;
    ch_url url;
    char *db; /* `database`, quoted for SQL */
    store_opts opts;
    store_hook_fn hook;
    void *hook_arg;
    int full;
    int batch_open;
    ch_pending pend;
    ch_path *paths; /* id = index + 1 */
    size_t npaths, paths_cap;
    /* scratch, reused across calls */
    ch_buf sql, answer;
    store_rec *recs;
    size_t nrecs_cap;
    store_hist *hist; /* one accumulator */
    uint8_t *encoded; /* STORE_HIST_MAX_ENCODED */
    store_query_scratch scratch;
    char path_buf[3 * (STORE_PATH_FIELD_MAX + 1)];
    /* prune horizons (per level, then raw), cached briefly (store_ch_query.c) */
    uint64_t horizon[LEVEL_COUNT + 1];
    double horizon_at;
    int have_horizon;
};

static inline store_ch *store_ch_of(store_db *db) { return (store_ch *)db; }

/* Run a statement built in self->sql; the answer in self->answer. */
owp_status ch_exec(store_ch *self, const char *what, owp_err *err);
/* The last answer, now the caller's to free (ch_buf_free): what a listing
 * iterates over while its callback may call the store again. */
static inline ch_buf ch_take_answer(store_ch *self)
{
    ch_buf b = self->answer;
    memset(&self->answer, 0, sizeof self->answer);
    return b;
}
/* Insert the rows of buf into table (cols as "(a, b, c)"). */
owp_status ch_insert(store_ch *self, const char *what, const char *table, const char *cols,
                     const ch_buf *rows, owp_err *err);
/* The hash of path id, or OWP_ERR_INVALID "unknown path id N" (a path
 * another handle created is found by reloading the table). */
owp_status ch_path_hash_of(store_ch *self, uint32_t id, uint64_t *hash, owp_err *err);
/* Refuse writes on a read-only handle. */
owp_status ch_check_writable(store_ch *self, owp_err *err);
/* Meta values (max per name): 0 when absent. */
owp_status ch_meta_get(store_ch *self, const char *name, uint64_t *value, owp_err *err);
/* A node's cursor: the pending one of the batch if newer. */
owp_status ch_cursor_get(store_ch *self, const char *node, uint64_t *seq, char *name,
                         size_t name_len, owp_err *err);
/* Queue a cursor row (and remember it for the batch's own lookups). */
owp_status ch_cursor_queue(store_ch *self, const char *node, uint64_t seq, const char *name,
                           owp_err *err);
/* Insert what is pending (cursors last), then forget it. */
owp_status ch_pending_flush(store_ch *self, owp_err *err);
void ch_pending_clear(ch_pending *p);
void ch_pending_free(ch_pending *p);
void ch_hook(store_ch *self, const char *point, uint64_t n);
/* Append to a growable array (store_reserve), 0 or -1. */
int ch_push(void **arr, size_t *n, size_t *cap, const void *item, size_t sz);

#define META_RAW_HORIZON "raw_horizon"
static const char *const ch_meta_hist_horizon[LEVEL_COUNT] = {"hist_horizon_m", "hist_horizon_h",
                                                              "hist_horizon_d"};
/* Tables of the histogram levels, and the column holding the period start. */
static const char *const ch_hist_table[LEVEL_COUNT] = {"hist_m", "hist_h", "hist_d"};
static const char *const ch_hist_col[LEVEL_COUNT] = {"minute", "hour", "day"};

/* ---- the backend's operations (store_ops), gathered in store_ch.c ---- */
owp_status ch_ingest_file(store_db *db, const char *node, uint64_t file_seq,
                          const char *file_name, uint32_t path_id, FILE *fp,
                          store_ingest_result *result, owp_err *err);
owp_status ch_rollup(store_ch *self, owp_err *err);
owp_status ch_query_run(store_db *db, const store_query *q, store_row_fn fn, void *arg,
                        owp_err *err);
owp_status ch_query_many(store_db *db, const store_query *qs, size_t n, store_many_row_fn fn,
                         void *arg, owp_err *err);
owp_status ch_export(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                     store_record_fn fn, void *arg, owp_err *err);
owp_status ch_sessions(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                       store_session_fn fn, void *arg, owp_err *err);
owp_status ch_ingest_unmeasured(store_db *db, const char *node, uint64_t seq, const char *name,
                                uint32_t path_id, owp_num64 start, owp_num64 end,
                                const char *reason, const char *detail,
                                store_ingest_result *res, owp_err *err);
owp_status ch_unmeasured_list(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                              store_unmeasured_fn fn, void *arg, owp_err *err);

#endif
