/*
 * store_lmdb.h - what the LMDB backend's files share (not part of the API):
 * the handle, the databases and the big-endian key codecs. Layout in store.h.
 */
#ifndef STORE_LMDB_H
#define STORE_LMDB_H

#include <lmdb.h>
#include <stdint.h>

#include "error.h"
#include "store.h"
#include "store_backend.h"
#include "store_hist.h"

/* An MDB_val over bytes LMDB only reads (a key, a value to put): MDB_val's
 * pointer is not const, so the one cast that drops const is here. */
static inline MDB_val store_val(const void *data, size_t len)
{
    return (MDB_val){len, (void *)(uintptr_t)data};
}

#define REC_KEY_LEN 17  /* path(4) send_time(8) seq(4) copy(1) */
#define REC_VAL_LEN 14  /* recv_time(8) send_err(2) recv_err(2) ttl(1) flags(1) */
#define HIST_KEY_LEN 8  /* path(4) period start in NTP seconds(4) */
#define SESSION_KEY_LEN (4 + 8 + 16)

typedef struct store_lmdb store_lmdb;
struct store_lmdb {
    store_db base; /* first: the handle store.c passes around */
    MDB_env *env;
    MDB_dbi paths, path_names, records, sessions, hist[LEVEL_COUNT], cursors, meta;
    store_opts opts;
    char *dir;
    store_hook_fn hook;
    void *hook_arg;
    MDB_txn *batch; /* the open group commit, or NULL (store_batch_begin) */
    int full;       /* the last write failed for lack of room (store_full) */
    /* scratch, reused across calls (no per-record allocation) */
    store_rec *recs;
    size_t nrecs_cap;
    store_query_scratch scratch;
    store_hist *hists; /* LEVEL_COUNT ingest accumulators */
    uint8_t *encoded; /* STORE_HIST_MAX_ENCODED */
    char *path_buf;   /* store_path_get's strings */
    /* unmeasured intervals (store_unmeasured.c); has_unmeasured is 0 only for
     * a store older than them opened read-only (nothing to read) */
    MDB_dbi unmeasured;
    int has_unmeasured;
};

static inline store_lmdb *store_lmdb_of(store_db *db) { return (store_lmdb *)db; }
static inline const store_lmdb *store_lmdb_of_const(const store_db *db)
{
    return (const store_lmdb *)db;
}

/* ---- big-endian codecs ---- */
static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put(p + 4, (uint32_t)v);
}
static inline void be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
    return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline void hist_key(uint8_t k[HIST_KEY_LEN], uint32_t path, uint32_t start)
{
    be32_put(k, path);
    be32_put(k + 4, start);
}

/* Begin a write transaction: nested in the open batch, if there is one. */
int store_write_begin(store_lmdb *self, MDB_txn **txn);
/* Fill err from an LMDB return code. */
owp_status store_mdb_err(owp_err *err, int rc, const char *what);
/* The same for a write (ingest, cursor, commit, sync): names the store's
 * directory, and says what to do when the failure is a lack of room (map
 * full, disk full), which also sets lmdb_full(). */
owp_status store_write_err(store_lmdb *self, owp_err *err, int rc, const char *what);
/* Does path id exist (in txn)? OWP_ERR_INVALID "unknown path id N" if not. */
owp_status store_check_path(store_lmdb *self, MDB_txn *txn, uint32_t path, owp_err *err);
/* Meta values (u64): 0 when absent. */
uint64_t store_meta_get(store_lmdb *self, MDB_txn *txn, const char *name);
int store_meta_put(store_lmdb *self, MDB_txn *txn, const char *name, uint64_t v);
/* Decode a record key/value pair. */
void store_record_decode(const MDB_val *k, const MDB_val *v, owp_record *r, uint8_t *copy,
                         uint8_t *flags);

/* A node's cursor inside a write transaction (0 when none), and its update. */
uint64_t store_cursor_get(store_lmdb *self, MDB_txn *txn, const char *node);
int store_cursor_put(store_lmdb *self, MDB_txn *txn, const char *node, uint64_t file_seq,
                     const char *file_name);

#define META_RAW_HORIZON "raw_horizon" /* NTP seconds before which raw records were pruned */
/* Per histogram level: NTP seconds before which its histograms were pruned. */
static const char *const meta_hist_horizon[LEVEL_COUNT] = {"hist_horizon_m", "hist_horizon_h",
                                                           "hist_horizon_d"};

/* ---- the backend's operations (store_ops), gathered in store_lmdb.c ---- */
extern const store_ops store_lmdb_ops;
void lmdb_close(store_db *db);
owp_status lmdb_sync(store_db *db, owp_err *err);
int lmdb_full(const store_db *db);
owp_status lmdb_path_id(store_db *db, const char *src, const char *dst, const char *params,
                        uint32_t *id, owp_err *err);
owp_status lmdb_path_find(store_db *db, const char *src, const char *dst, const char *params,
                          uint32_t *id, owp_err *err);
owp_status lmdb_list_paths(store_db *db, store_path_fn fn, void *arg, owp_err *err);
owp_status lmdb_path_get(store_db *db, uint32_t id, store_path *path, owp_err *err);
owp_status lmdb_ingest_file(store_db *db, const char *node, uint64_t file_seq,
                            const char *file_name, uint32_t path_id, FILE *fp,
                            store_ingest_result *result, owp_err *err);
owp_status lmdb_batch_begin(store_db *db, owp_err *err);
owp_status lmdb_batch_commit(store_db *db, owp_err *err);
void lmdb_batch_abort(store_db *db);
owp_status lmdb_cursor_advance(store_db *db, const char *node, uint64_t file_seq,
                               const char *file_name, owp_err *err);
owp_status lmdb_cursor(store_db *db, const char *node, uint64_t *file_seq, char *name,
                       size_t name_len, owp_err *err);
void lmdb_set_hook(store_db *db, store_hook_fn hook, void *arg);
owp_status lmdb_prune(store_db *db, owp_num64 now, store_prune_result *result, owp_err *err);
owp_status lmdb_query_run(store_db *db, const store_query *q, store_row_fn fn, void *arg,
                          owp_err *err);
owp_status lmdb_export(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                       store_record_fn fn, void *arg, owp_err *err);
owp_status lmdb_sessions(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                         store_session_fn fn, void *arg, owp_err *err);
owp_status lmdb_ingest_unmeasured(store_db *db, const char *node, uint64_t seq,
                                  const char *name, uint32_t path_id, owp_num64 start,
                                  owp_num64 end, const char *reason, const char *detail,
                                  store_ingest_result *res, owp_err *err);
owp_status lmdb_unmeasured_list(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                                store_unmeasured_fn fn, void *arg, owp_err *err);

#endif
