/*
 * store_lmdb_query.c - the LMDB backend's reads: what the query engine
 * (store_query.c) scans, raw export and session listing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "stats.h"
#include "store_lmdb.h"

/* ---- the query engine's view of LMDB (store_scan) ---- */

typedef struct lmdb_scan {
    store_scan scan; /* first: the engine calls back with it */
    store_lmdb *self;
    MDB_txn *txn;
    MDB_cursor *hist[LEVEL_COUNT];
    MDB_cursor *records;
} lmdb_scan;

/* Merge the histograms of one level with start in [lo, hi). */
static owp_status scan_hist(store_scan *scan, int level, uint32_t path, uint64_t lo,
                            uint64_t hi, store_hist *acc, owp_err *err)
{
    lmdb_scan *ls = (lmdb_scan *)scan;
    uint8_t kb[HIST_KEY_LEN];
    hist_key(kb, path, (uint32_t)lo);
    MDB_val k = {HIST_KEY_LEN, kb}, v;
    int rc;
    for (rc = mdb_cursor_get(ls->hist[level], &k, &v, MDB_SET_RANGE); !rc;
         rc = mdb_cursor_get(ls->hist[level], &k, &v, MDB_NEXT)) {
        if (k.mv_size != HIST_KEY_LEN || be32_get(k.mv_data) != path ||
            be32_get((uint8_t *)k.mv_data + 4) >= hi)
            break;
        if (store_hist_merge_encoded(acc, v.mv_data, v.mv_size))
            return store_mdb_err(err, MDB_CORRUPTED, "query");
    }
    return rc && rc != MDB_NOTFOUND ? store_mdb_err(err, rc, "query") : OWP_OK;
}

static owp_status scan_records(store_scan *scan, uint32_t path, owp_num64 from, owp_num64 to,
                               store_scan_record_fn fn, void *arg, owp_err *err)
{
    lmdb_scan *ls = (lmdb_scan *)scan;
    uint8_t kb[REC_KEY_LEN] = {0};
    be32_put(kb, path);
    be64_put(kb + 4, from);
    MDB_val k = {REC_KEY_LEN, kb}, v;
    int rc;
    for (rc = mdb_cursor_get(ls->records, &k, &v, MDB_SET_RANGE); !rc;
         rc = mdb_cursor_get(ls->records, &k, &v, MDB_NEXT)) {
        owp_record r;
        uint8_t copy, flags;
        if (k.mv_size < 12 || be32_get(k.mv_data) != path ||
            be64_get((uint8_t *)k.mv_data + 4) >= to)
            break;
        store_record_decode(&k, &v, &r, &copy, &flags);
        if (copy != STORE_MAX_COPIES && fn(&r, copy, flags, arg))
            break;
    }
    return rc && rc != MDB_NOTFOUND ? store_mdb_err(err, rc, "query") : OWP_OK;
}

static int open_cursors(lmdb_scan *ls)
{
    store_lmdb *self = ls->self;
    int rc = mdb_cursor_open(ls->txn, self->records, &ls->records);
    for (int l = 0; l < LEVEL_COUNT && !rc; l++)
        rc = mdb_cursor_open(ls->txn, self->hist[l], &ls->hist[l]);
    return rc;
}

static void close_cursors(lmdb_scan *ls)
{
    if (ls->records)
        mdb_cursor_close(ls->records);
    for (int l = 0; l < LEVEL_COUNT; l++)
        if (ls->hist[l])
            mdb_cursor_close(ls->hist[l]);
}

owp_status lmdb_query_run(store_db *db, const store_query *q, store_row_fn fn, void *arg,
                          owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    lmdb_scan ls = {.scan = {.hist = scan_hist, .records = scan_records}, .self = self};
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &ls.txn);
    if (rc)
        return store_mdb_err(err, rc, "query");
    owp_status st = OWP_OK;
    for (size_t i = 0; i < q->npaths && !st; i++)
        st = store_check_path(self, ls.txn, q->paths[i], err);
    if (!st) {
        ls.scan.raw_horizon = store_meta_get(self, ls.txn, META_RAW_HORIZON);
        for (int l = 0; l < LEVEL_COUNT; l++)
            ls.scan.hist_horizon[l] = store_meta_get(self, ls.txn, meta_hist_horizon[l]);
        rc = open_cursors(&ls);
        st = rc ? store_mdb_err(err, rc, "query")
                : store_query_rows(q, &ls.scan, &self->scratch, fn, arg, err);
    }
    close_cursors(&ls);
    mdb_txn_abort(ls.txn);
    return st;
}

/* ---- export ---- */

owp_status lmdb_export(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                            store_record_fn fn, void *arg, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_mdb_err(err, rc, "export");
    owp_status st = store_check_path(self, txn, path_id, err);
    if (!st && (rc = mdb_cursor_open(txn, self->records, &c)))
        st = store_mdb_err(err, rc, "export");
    if (!st) {
        uint8_t kb[REC_KEY_LEN] = {0};
        be32_put(kb, path_id);
        be64_put(kb + 4, from);
        MDB_val k = {REC_KEY_LEN, kb}, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            owp_record r;
            uint8_t copy, flags;
            if (k.mv_size < 12 || be32_get(k.mv_data) != path_id ||
                be64_get((uint8_t *)k.mv_data + 4) >= to)
                break;
            store_record_decode(&k, &v, &r, &copy, &flags);
            if (copy != 255 && fn(&r, arg))
                break;
        }
        if (rc && rc != MDB_NOTFOUND)
            st = store_mdb_err(err, rc, "export");
    }
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return st;
}

/* ---- sessions ---- */

/* Bounds-checked reader over a session value. */
typedef struct reader {
    const uint8_t *p, *end;
    int bad;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static uint64_t take64(reader *r)
{
    const uint8_t *p = take(r, 8);
    return p ? be64_get(p) : 0;
}

static uint32_t take32(reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? be32_get(p) : 0;
}

/* A length-prefixed string into buf (256 + 1025 bytes is enough). */
static void take_str(reader *r, char *buf, size_t cap)
{
    const uint8_t *lp = take(r, 2);
    size_t n = lp ? be16_get(lp) : 0;
    const uint8_t *s = take(r, n);
    if (!s || n >= cap) {
        r->bad = 1;
        buf[0] = 0;
        return;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
}

static owp_status decode_session(const MDB_val *k, const MDB_val *v, store_session *s,
                                 owp_request *req, char *node, char *fname, owp_err *err)
{
    memset(req, 0, sizeof *req);
    if (k->mv_size != SESSION_KEY_LEN)
        return owp_err_set(err, OWP_ERR_FORMAT, "store: malformed session key");
    s->path_id = be32_get(k->mv_data);
    s->start = be64_get((uint8_t *)k->mv_data + 4);
    memcpy(s->sid, (uint8_t *)k->mv_data + 12, OWP_SID_LEN);
    reader r = {v->mv_data, (const uint8_t *)v->mv_data + v->mv_size, 0};
    s->first = take64(&r);
    s->last = take64(&r);
    s->sent = take64(&r);
    s->lost = take64(&r);
    s->dups = take64(&r);
    s->reordered = take64(&r);
    s->records = take64(&r);
    s->finished = take32(&r);
    s->next_seqno = take32(&r);
    s->file_seq = take64(&r);
    take_str(&r, node, 256);
    take_str(&r, fname, 1025);
    const uint8_t *pre = take(&r, OWP_REQUEST_PREAMBLE_LEN);
    uint32_t nslots = take32(&r);
    const uint8_t *slots = nslots <= OWP_MAX_SLOTS ? take(&r, (size_t)nslots * OWP_SLOT_LEN) : NULL;
    if (r.bad || !pre || (nslots && !slots))
        return owp_err_set(err, OWP_ERR_FORMAT, "store: malformed session entry");
    owp_status st = owp_wire_decode_request_preamble(pre, req, err);
    if (st)
        return st;
    req->nslots = nslots;
    req->slots = nslots ? calloc(nslots, sizeof *req->slots) : NULL;
    if (nslots && !req->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "store: out of memory");
    for (uint32_t i = 0; i < nslots && !st; i++)
        st = owp_wire_decode_slot(slots + (size_t)i * OWP_SLOT_LEN, &req->slots[i], err);
    s->node = node;
    s->file_name = fname;
    s->request = req;
    return st;
}

owp_status lmdb_sessions(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                              store_session_fn fn, void *arg, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_mdb_err(err, rc, "sessions");
    owp_status st = store_check_path(self, txn, path_id, err);
    if (!st && (rc = mdb_cursor_open(txn, self->sessions, &c)))
        st = store_mdb_err(err, rc, "sessions");
    if (!st) {
        uint8_t kb[SESSION_KEY_LEN] = {0};
        be32_put(kb, path_id);
        be64_put(kb + 4, from);
        MDB_val k = {SESSION_KEY_LEN, kb}, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc && !st;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size < 12 || be32_get(k.mv_data) != path_id ||
                be64_get((uint8_t *)k.mv_data + 4) >= to)
                break;
            store_session s;
            owp_request req;
            char node[256], fname[1025];
            st = decode_session(&k, &v, &s, &req, node, fname, err);
            int stop = !st && fn(&s, arg);
            owp_request_clear(&req);
            if (stop)
                break;
        }
        if (!st && rc && rc != MDB_NOTFOUND)
            st = store_mdb_err(err, rc, "sessions");
    }
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return st;
}
