/*
 * store_lmdb_unmeasured.c - unmeasured intervals in LMDB: ingest (with the
 * node's cursor, as a file) and listing. Layout in store_unmeasured.h.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_lmdb.h"

#define UNM_VERSION 1
#define UNM_KEY_LEN 12 /* path(4) start(8) */
#define UNM_VAL_MAX (1 + 8 + 1 + STORE_REASON_MAX + 2 + STORE_DETAIL_MAX)
/* The longest interval ever stored (OWAMP units), so a listing knows how
 * far before `from` an interval overlapping it can start. */
#define META_UNM_MAX_LEN "unmeasured_max_len"

static void unm_key(uint8_t kb[UNM_KEY_LEN], uint32_t path, owp_num64 start)
{
    be32_put(kb, path);
    be64_put(kb + 4, start);
}

/* Value: version end reason-length reason detail-length detail. */
static size_t unm_encode(uint8_t *vb, owp_num64 end, const char *reason, const char *detail)
{
    size_t rlen = strlen(reason), dlen = detail ? strlen(detail) : 0;
    if (dlen > STORE_DETAIL_MAX)
        dlen = STORE_DETAIL_MAX;
    uint8_t *p = vb;
    *p++ = UNM_VERSION;
    be64_put(p, end);
    p += 8;
    *p++ = (uint8_t)rlen;
    memcpy(p, reason, rlen);
    p += rlen;
    be16_put(p, (uint16_t)dlen);
    memcpy(p + 2, detail ? detail : "", dlen);
    return (size_t)(p + 2 + dlen - vb);
}

/* Decode into u (strings copied NUL-terminated into rbuf/dbuf); -1 when malformed
 * or of an unknown version. */
static int unm_decode(const MDB_val *k, const MDB_val *v, store_unmeasured *u,
                      char rbuf[STORE_REASON_MAX + 1], char dbuf[STORE_DETAIL_MAX + 1])
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    if (k->mv_size != UNM_KEY_LEN || v->mv_size < 1 + 8 + 1 + 2 || p[0] != UNM_VERSION)
        return -1;
    u->path_id = be32_get(k->mv_data);
    u->start = be64_get((const uint8_t *)k->mv_data + 4);
    u->end = be64_get(p + 1);
    size_t rlen = p[9];
    p += 10;
    if (rlen > STORE_REASON_MAX || (size_t)(end - p) < rlen + 2)
        return -1;
    memcpy(rbuf, p, rlen);
    rbuf[rlen] = 0;
    p += rlen;
    size_t dlen = be16_get(p);
    p += 2;
    if (dlen > STORE_DETAIL_MAX || (size_t)(end - p) < dlen)
        return -1;
    memcpy(dbuf, p, dlen);
    dbuf[dlen] = 0;
    u->reason = rbuf;
    u->detail = dbuf;
    return 0;
}

/* ---- ingest ---- */

static int put_interval(store_lmdb *self, MDB_txn *txn, uint32_t path, owp_num64 start,
                        owp_num64 end, const char *reason, const char *detail, int *duplicate)
{
    uint8_t kb[UNM_KEY_LEN], vb[UNM_VAL_MAX];
    unm_key(kb, path, start);
    MDB_val k = {UNM_KEY_LEN, kb}, v = {unm_encode(vb, end, reason, detail), vb};
    int rc = mdb_put(txn, self->unmeasured, &k, &v, MDB_NOOVERWRITE);
    *duplicate = rc == MDB_KEYEXIST;
    if (rc)
        return *duplicate ? 0 : rc;
    if (end - start > store_meta_get(self, txn, META_UNM_MAX_LEN))
        rc = store_meta_put(self, txn, META_UNM_MAX_LEN, end - start);
    return rc;
}

owp_status lmdb_ingest_unmeasured(store_db *db, const char *node, uint64_t seq,
                                       const char *name, uint32_t path_id, owp_num64 start,
                                       owp_num64 end, const char *reason, const char *detail,
                                       store_ingest_result *res, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    store_ingest_result r = {0};
    owp_status st = store_check_unmeasured_args(node, seq, name, start, end, reason, err);
    if (st)
        return st;
    if (!self->has_unmeasured)
        return owp_err_set(err, OWP_ERR_INVALID, "store %s: opened read-only", self->dir);
    MDB_txn *txn;
    int rc = store_write_begin(self, &txn);
    if (rc)
        return store_write_err(self, err, rc, "unmeasured");
    if (seq <= store_cursor_get(self, txn, node)) {
        mdb_txn_abort(txn);
        r.status = STORE_INGEST_ALREADY;
        if (res)
            *res = r;
        return OWP_OK;
    }
    st = store_check_path(self, txn, path_id, err);
    int duplicate = 0;
    if (!st) {
        rc = put_interval(self, txn, path_id, start, end, reason, detail, &duplicate);
        if (!rc)
            rc = store_cursor_put(self, txn, node, seq, name);
        if (rc)
            st = store_write_err(self, err, rc, name);
    }
    if (st) {
        mdb_txn_abort(txn);
        return st;
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return store_write_err(self, err, rc, "unmeasured commit");
    r.status = duplicate ? STORE_INGEST_DUPLICATE : STORE_INGEST_STORED;
    if (res)
        *res = r;
    return OWP_OK;
}

/* ---- reading ---- */

/* Walk the intervals of path overlapping [from, to) inside txn. */
static owp_status walk(store_lmdb *self, MDB_txn *txn, uint32_t path, owp_num64 from, owp_num64 to,
                       store_unmeasured_fn fn, void *arg, owp_err *err)
{
    uint64_t max_len = store_meta_get(self, txn, META_UNM_MAX_LEN);
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, self->unmeasured, &c);
    if (rc)
        return store_mdb_err(err, rc, "unmeasured");
    uint8_t kb[UNM_KEY_LEN];
    unm_key(kb, path, from > max_len ? from - max_len : 0);
    MDB_val k = {UNM_KEY_LEN, kb}, v;
    char rbuf[STORE_REASON_MAX + 1], dbuf[STORE_DETAIL_MAX + 1];
    owp_status st = OWP_OK;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        store_unmeasured u;
        if (k.mv_size >= 4 && be32_get(k.mv_data) != path)
            break;
        if (unm_decode(&k, &v, &u, rbuf, dbuf)) {
            st = owp_err_set(err, OWP_ERR_FORMAT, "store: malformed unmeasured interval");
            break;
        }
        if (u.start >= to)
            break;
        if (u.end > from && fn(&u, arg))
            break;
    }
    if (!st && rc && rc != MDB_NOTFOUND)
        st = store_mdb_err(err, rc, "unmeasured");
    mdb_cursor_close(c);
    return st;
}

owp_status lmdb_unmeasured_list(store_db *db, uint32_t path_id, owp_num64 from,
                                     owp_num64 to, store_unmeasured_fn fn, void *arg,
                                     owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    if (from >= to)
        return owp_err_set(err, OWP_ERR_INVALID, "store: empty period");
    if (!self->has_unmeasured)
        return OWP_OK; /* a store older than unmeasured intervals, opened read-only */
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_mdb_err(err, rc, "unmeasured");
    owp_status st = store_check_path(self, txn, path_id, err);
    if (!st)
        st = walk(self, txn, path_id, from, to, fn, arg, err);
    mdb_txn_abort(txn);
    return st;
}
