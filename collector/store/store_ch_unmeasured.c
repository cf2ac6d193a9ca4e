/*
 * store_ch_unmeasured.c - unmeasured intervals in ClickHouse: ingest (with
 * the node's cursor, as a file) and listing. Semantics in store_unmeasured.h;
 * the table is keyed (path, start) like LMDB's, and the first interval
 * stored for a key is the one kept (a later one is a duplicate).
 */
#include <string.h>

#include "store_ch.h"

static owp_status interval_stored(store_ch *self, uint64_t path, owp_num64 start, int *stored,
                                  owp_err *err)
{
    const ch_pending *p = &self->pend;
    *stored = 0;
    for (size_t i = 0; i < p->nunm; i++)
        if (p->unm[i].path == path && p->unm[i].sess == start)
            *stored = 1;
    if (*stored)
        return OWP_OK;
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT count() FROM %s.unmeasured WHERE path = %llu AND "
                  "ustart = %llu FORMAT RowBinary", self->db, (unsigned long long)path,
                  (unsigned long long)start);
    owp_status st = ch_exec(self, "unmeasured", err);
    if (st)
        return st;
    ch_reader r = ch_reader_of(&self->answer);
    *stored = ch_rd_u64(&r) > 0;
    return r.bad ? owp_err_set(err, OWP_ERR_FORMAT, "store %s: unmeasured: malformed answer",
                               self->url.label)
                 : OWP_OK;
}

static owp_status queue_interval(store_ch *self, uint64_t path, owp_num64 start, owp_num64 end,
                                 const char *reason, const char *detail, owp_err *err)
{
    ch_pending *p = &self->pend;
    size_t dlen = detail ? strlen(detail) : 0;
    if (dlen > STORE_DETAIL_MAX)
        dlen = STORE_DETAIL_MAX;
    ch_buf_u64(&p->unmeasured, path);
    ch_buf_u64(&p->unmeasured, start);
    ch_buf_u64(&p->unmeasured, end);
    ch_buf_bytes(&p->unmeasured, reason, strlen(reason));
    ch_buf_bytes(&p->unmeasured, detail ? detail : "", dlen);
    ch_pending_session key = {path, start};
    if (ch_push((void **)&p->unm, &p->nunm, &p->unm_cap, &key, sizeof key))
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    return OWP_OK;
}

owp_status ch_ingest_unmeasured(store_db *db, const char *node, uint64_t seq, const char *name,
                                uint32_t path_id, owp_num64 start, owp_num64 end,
                                const char *reason, const char *detail,
                                store_ingest_result *res, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    store_ingest_result r = {0};
    owp_status st = store_check_unmeasured_args(node, seq, name, start, end, reason, err);
    if (!st)
        st = ch_check_writable(self, err);
    uint64_t cur = 0, path = 0;
    if (!st)
        st = ch_cursor_get(self, node, &cur, NULL, 0, err);
    if (st)
        return st;
    if (seq <= cur) {
        r.status = STORE_INGEST_ALREADY;
        if (res)
            *res = r;
        return OWP_OK;
    }
    int duplicate = 0;
    st = ch_path_hash_of(self, path_id, &path, err);
    if (!st)
        st = interval_stored(self, path, start, &duplicate, err);
    if (st)
        return st;
    if (!self->batch_open)
        ch_pending_clear(&self->pend);
    size_t unm_len = self->pend.unmeasured.len, nunm = self->pend.nunm;
    if (!duplicate)
        st = queue_interval(self, path, start, end, reason, detail, err);
    if (!st)
        st = ch_cursor_queue(self, node, seq, name, err);
    if (st) { /* leave no trace in the batch */
        self->pend.unmeasured.len = unm_len;
        self->pend.nunm = nunm;
        return st;
    }
    if (!self->batch_open && (st = ch_pending_flush(self, err)))
        return st;
    r.status = duplicate ? STORE_INGEST_DUPLICATE : STORE_INGEST_STORED;
    if (res)
        *res = r;
    return OWP_OK;
}

owp_status ch_unmeasured_list(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                              store_unmeasured_fn fn, void *arg, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    if (from >= to)
        return owp_err_set(err, OWP_ERR_INVALID, "store: empty period");
    uint64_t path;
    owp_status st = ch_path_hash_of(self, path_id, &path, err);
    if (st)
        return st;
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT ustart, uend, reason, detail FROM %s.unmeasured WHERE "
                  "path = %llu AND ustart < %llu AND uend > %llu ORDER BY ustart FORMAT RowBinary",
                  self->db, (unsigned long long)path, (unsigned long long)to,
                  (unsigned long long)from);
    if ((st = ch_exec(self, "unmeasured", err)))
        return st;
    ch_buf rows = ch_take_answer(self); /* fn may call the store */
    ch_reader r = ch_reader_of(&rows);
    int have_prev = 0;
    owp_num64 prev = 0;
    while (!ch_reader_done(&r)) {
        char reason[STORE_REASON_MAX + 1], detail[STORE_DETAIL_MAX + 1];
        store_unmeasured u = {.path_id = path_id, .reason = reason, .detail = detail};
        u.start = ch_rd_u64(&r);
        u.end = ch_rd_u64(&r);
        ch_rd_str(&r, reason, sizeof reason);
        ch_rd_str(&r, detail, sizeof detail);
        if (r.bad)
            break;
        int dup = have_prev && u.start == prev; /* a copy not merged yet */
        have_prev = 1;
        prev = u.start;
        if (!dup && fn(&u, arg))
            break;
    }
    ch_buf_free(&rows);
    return r.bad ? owp_err_set(err, OWP_ERR_FORMAT, "store %s: unmeasured: malformed answer",
                               self->url.label)
                 : OWP_OK;
}
