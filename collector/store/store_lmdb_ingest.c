/*
 * store_lmdb_ingest.c - one .owp file into the LMDB store in one write
 * transaction: records, per-minute/hour/day histograms, the session summary
 * and the node's cursor (crash safety: see store.h).
 *
 * The file's records, loaded and sorted into key order by store_records.c
 * into a reusable array, are written with one LMDB cursor: with MDB_APPEND when they all come after the last key of the
 * database (the usual case for the newest path), otherwise with ordinary
 * ordered puts, which stay fast because consecutive keys share pages.
 */
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "stats.h"
#include "store_lmdb.h"

#define HOOK_EVERY 1024

static void hook(store_lmdb *self, const char *point, uint64_t n)
{
    if (self->hook)
        self->hook(point, n, self->hook_arg);
}

/* ---- histograms ---- */

typedef struct hist_state {
    uint32_t start[LEVEL_COUNT]; /* period of each accumulator */
    int active[LEVEL_COUNT];
} hist_state;

/* Merge the stored histogram of (path, start) into h and write h back. */
static int write_hist(store_lmdb *self, MDB_txn *txn, int level, uint32_t path, uint32_t start,
                      store_hist *h)
{
    uint8_t kb[HIST_KEY_LEN];
    hist_key(kb, path, start);
    MDB_val k = {HIST_KEY_LEN, kb}, v;
    int rc = mdb_get(txn, self->hist[level], &k, &v);
    if (!rc && store_hist_merge_encoded(h, v.mv_data, v.mv_size))
        return MDB_CORRUPTED;
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    v.mv_size = store_hist_encode(h, self->encoded);
    v.mv_data = self->encoded;
    return mdb_put(txn, self->hist[level], &k, &v, 0);
}

/* Write accumulator `level`; a minute first feeds the hour and day deltas. */
static int flush_level(store_lmdb *self, MDB_txn *txn, hist_state *hs, int level, uint32_t path)
{
    if (!hs->active[level])
        return 0;
    store_hist *h = &self->hists[level];
    if (level == LEVEL_MINUTE) {
        store_hist_merge(&self->hists[LEVEL_HOUR], h);
        store_hist_merge(&self->hists[LEVEL_DAY], h);
    }
    int rc = write_hist(self, txn, level, path, hs->start[level], h);
    store_hist_clear(h);
    hs->active[level] = 0;
    return rc;
}

/* Make the accumulators cover send time t, flushing the periods it leaves. */
static int hist_move_to(store_lmdb *self, MDB_txn *txn, hist_state *hs, uint32_t path,
                        owp_num64 t)
{
    uint32_t sec = (uint32_t)(t >> 32);
    /* Most records fall in the current minute (and so its hour and day). */
    if (hs->active[LEVEL_MINUTE] && sec - hs->start[LEVEL_MINUTE] < 60)
        return 0;
    for (int l = 0; l < LEVEL_COUNT; l++) {
        uint32_t start = sec - sec % level_secs[l];
        if (hs->active[l] && hs->start[l] == start)
            continue;
        int rc = flush_level(self, txn, hs, l, path);
        if (rc)
            return rc;
        hs->start[l] = start;
        hs->active[l] = 1;
    }
    return 0;
}

static int hist_finish(store_lmdb *self, MDB_txn *txn, hist_state *hs, uint32_t path)
{
    int rc = 0;
    for (int l = 0; l < LEVEL_COUNT && !rc; l++)
        rc = flush_level(self, txn, hs, l, path);
    return rc;
}

/* ---- records ---- */

static void encode_record(const store_rec *s, uint32_t path, uint8_t copy, uint8_t *kb,
                          uint8_t *vb)
{
    be32_put(kb, path);
    be64_put(kb + 4, s->send_time);
    be32_put(kb + 12, s->seq);
    kb[16] = copy;
    be64_put(vb, s->recv_time);
    be16_put(vb + 8, s->send_err);
    be16_put(vb + 10, s->recv_err);
    vb[12] = s->ttl;
    vb[13] = s->flags;
}

void store_record_decode(const MDB_val *k, const MDB_val *v, owp_record *r, uint8_t *copy,
                         uint8_t *flags)
{
    const uint8_t *kb = k->mv_data, *vb = v->mv_data;
    memset(r, 0, sizeof *r);
    if (k->mv_size != REC_KEY_LEN || v->mv_size != REC_VAL_LEN) {
        *copy = STORE_MAX_COPIES; /* malformed: callers skip it */
        *flags = 0;
        return;
    }
    r->send_time = be64_get(kb + 4);
    r->seq = be32_get(kb + 12);
    *copy = kb[16];
    r->recv_time = be64_get(vb);
    r->send_err = be16_get(vb + 8);
    r->recv_err = be16_get(vb + 10);
    r->ttl = vb[12];
    *flags = vb[13];
}

/* Does the first key come after every key of the database? */
static int can_append(MDB_cursor *c, const uint8_t *first_key)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc)
        return 0;
    size_t n = k.mv_size < REC_KEY_LEN ? k.mv_size : REC_KEY_LEN;
    int cmp = memcmp(first_key, k.mv_data, n);
    return cmp > 0 || (cmp == 0 && k.mv_size < REC_KEY_LEN);
}

typedef struct ingest_ctx {
    store_lmdb *self;
    MDB_txn *txn;
    uint32_t path;
    store_ingest_result *res;
    hist_state hs;
    store_account acct; /* the result's counts, IPDV pairs (store_records.c) */
} ingest_ctx;

/* Account one stored record into the histograms and the result. */
static int account(ingest_ctx *ctx, const store_rec *s, uint8_t copy)
{
    int rc = hist_move_to(ctx->self, ctx->txn, &ctx->hs, ctx->path, s->send_time);
    if (!rc)
        store_account_record(&ctx->acct, &ctx->self->hists[LEVEL_MINUTE], s, copy);
    return rc;
}

static int put_records(ingest_ctx *ctx, size_t n)
{
    store_lmdb *self = ctx->self;
    const store_rec *recs = self->recs;
    MDB_cursor *c;
    int rc = mdb_cursor_open(ctx->txn, self->records, &c);
    if (rc)
        return rc;
    uint8_t kb[REC_KEY_LEN], vb[REC_VAL_LEN];
    unsigned flags = MDB_NOOVERWRITE;
    if (n) {
        encode_record(&recs[0], ctx->path, 0, kb, vb);
        if (can_append(c, kb))
            flags = MDB_APPEND;
    }
    uint8_t copies = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!store_records_copy_number(recs, i, &copies)) {
            ctx->res->ignored++;
            continue;
        }
        encode_record(&recs[i], ctx->path, copies, kb, vb);
        MDB_val k = {REC_KEY_LEN, kb}, v = {REC_VAL_LEN, vb};
        rc = mdb_cursor_put(c, &k, &v, flags);
        if (rc == MDB_KEYEXIST) { /* stored before, from another file */
            ctx->res->ignored++;
            rc = 0;
            continue;
        }
        if (!rc)
            rc = account(ctx, &recs[i], copies);
        if (!rc && ctx->res->records % HOOK_EVERY == 0)
            hook(self, "records", ctx->res->records);
    }
    mdb_cursor_close(c);
    return rc;
}

/* ---- session summary ---- */

static void session_key(uint8_t *kb, uint32_t path, owp_num64 start, const uint8_t *sid)
{
    be32_put(kb, path);
    be64_put(kb + 4, start);
    memcpy(kb + 12, sid, OWP_SID_LEN);
}

typedef struct session_info {
    const char *node, *file_name;
    uint64_t file_seq;
    const owp_file *file;
} session_info;

/* Value: first last sent lost dups reordered records (8 each), finished
 * next_seqno (4 each), file_seq (8), node and file name (2-byte length +
 * bytes each), preamble (112), nslots (4), slots (16 each). */
static int put_session(store_lmdb *self, MDB_txn *txn, const uint8_t *kb,
                       const store_ingest_result *res, const session_info *si)
{
    const owp_request *req = owp_file_request(si->file);
    uint32_t nslots = req ? req->nslots : 0;
    size_t nlen = strlen(si->node), flen = strlen(si->file_name);
    if (flen > 1024)
        flen = 1024;
    size_t len = 7 * 8 + 4 + 4 + 8 + 2 + nlen + 2 + flen + OWP_REQUEST_PREAMBLE_LEN + 4 +
                 (size_t)nslots * OWP_SLOT_LEN;
    MDB_val k = store_val(kb, SESSION_KEY_LEN), v = {len, NULL};
    int rc = mdb_put(txn, self->sessions, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *p = v.mv_data;
    const uint64_t u64s[7] = {res->first, res->last, res->sent, res->lost,
                              res->dups,  res->reordered, res->records};
    for (int i = 0; i < 7; i++, p += 8)
        be64_put(p, u64s[i]);
    be32_put(p, owp_file_finished(si->file));
    be32_put(p + 4, owp_file_next_seqno(si->file));
    be64_put(p + 8, si->file_seq);
    p += 16;
    be16_put(p, (uint16_t)nlen);
    memcpy(p + 2, si->node, nlen);
    p += 2 + nlen;
    be16_put(p, (uint16_t)flen);
    memcpy(p + 2, si->file_name, flen);
    p += 2 + flen;
    if (req)
        owp_wire_encode_request_preamble(req, p);
    else
        memset(p, 0, OWP_REQUEST_PREAMBLE_LEN);
    p += OWP_REQUEST_PREAMBLE_LEN;
    be32_put(p, nslots);
    p += 4;
    for (uint32_t i = 0; i < nslots; i++, p += OWP_SLOT_LEN)
        owp_wire_encode_slot(&req->slots[i], p);
    return 0;
}

/* ---- the transaction ---- */

static owp_status ingest_in_txn(store_lmdb *self, MDB_txn *txn, uint32_t path, owp_file *file,
                                const session_info *si, store_ingest_result *res, owp_err *err)
{
    size_t n;
    owp_status st = store_records_load(file, &self->recs, &self->nrecs_cap, &n, &res->ignored, err);
    if (st)
        return st;

    const owp_request *req = owp_file_request(file);
    static const uint8_t no_sid[OWP_SID_LEN];
    owp_num64 start = req ? req->start_time : (n ? self->recs[0].send_time : 0);
    uint8_t kb[SESSION_KEY_LEN];
    session_key(kb, path, start, req ? req->sid : no_sid);
    MDB_val k = {SESSION_KEY_LEN, kb}, v;
    int rc = mdb_get(txn, self->sessions, &k, &v);
    if (!rc) {
        res->status = STORE_INGEST_DUPLICATE;
        res->ignored += n;
        return OWP_OK;
    }
    if (rc != MDB_NOTFOUND)
        return store_mdb_err(err, rc, "session lookup");

    ingest_ctx ctx = {.self = self, .txn = txn, .path = path, .res = res};
    store_account_init(&ctx.acct, res);
    for (int l = 0; l < LEVEL_COUNT; l++)
        store_hist_clear(&self->hists[l]);
    rc = put_records(&ctx, n);
    if (!rc) {
        hook(self, "histograms", res->records);
        rc = hist_finish(self, txn, &ctx.hs, path);
    }
    if (!rc) {
        hook(self, "session", res->records);
        rc = put_session(self, txn, kb, res, si);
    }
    return rc ? store_write_err(self, err, rc, owp_file_name(file)) : OWP_OK;
}

owp_status lmdb_ingest_file(store_db *db, const char *node, uint64_t file_seq,
                                 const char *file_name, uint32_t path_id, FILE *fp,
                                 store_ingest_result *result, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    store_ingest_result res = {0};
    owp_status st = store_check_ingest_args(node, file_seq, file_name, fp, err);
    if (st)
        return st;
    MDB_txn *txn;
    int rc = store_write_begin(self, &txn);
    if (rc)
        return store_write_err(self, err, rc, "ingest");
    hook(self, "begin", 0);
    if (file_seq <= store_cursor_get(self, txn, node)) {
        mdb_txn_abort(txn);
        res.status = STORE_INGEST_ALREADY;
        if (result)
            *result = res;
        return OWP_OK;
    }
    st = store_check_path(self, txn, path_id, err);
    owp_file *file = NULL;
    if (!st) {
        file = owp_file_read(fp, file_name, err);
        if (!file)
            st = err && err->code ? err->code : OWP_ERR_FORMAT;
    }
    session_info si = {node, file_name, file_seq, file};
    if (!st)
        st = ingest_in_txn(self, txn, path_id, file, &si, &res, err);
    owp_file_destroy(&file);
    if (!st) {
        rc = store_cursor_put(self, txn, node, file_seq, file_name);
        if (rc)
            st = store_write_err(self, err, rc, "cursor");
    }
    if (st) {
        mdb_txn_abort(txn);
        return st;
    }
    hook(self, "cursor", res.records);
    rc = mdb_txn_commit(txn);
    if (rc)
        return store_write_err(self, err, rc, "ingest commit");
    if (result)
        *result = res;
    return OWP_OK;
}
