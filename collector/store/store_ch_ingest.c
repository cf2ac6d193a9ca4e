/*
 * store_ch_ingest.c - one .owp file into the ClickHouse store: exactly the
 * rows LMDB stores for it (store_records.c), its per-minute histograms
 * keyed by (path, minute, session), its session summary and the node's
 * cursor, queued as RowBinary and inserted cursor last (store_ch.h); and the
 * hour and day rollups, recomputed after the minutes are in.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "owdstat.h"
#include "stats.h"
#include "store_ch.h"
#include "wire.h"

#define HOOK_EVERY 1024
#define SECS_PER_HOUR 3600u
#define SECS_PER_DAY 86400u

/* ---- undoing a failed file inside a batch ---- */

typedef struct pending_mark {
    size_t records, hist_m, sessions, cursors;
    size_t nhours, nsess, ncursors;
    uint64_t nrecords;
} pending_mark;

static pending_mark mark_of(const ch_pending *p)
{
    return (pending_mark){p->records.len, p->hist_m.len, p->sessions.len, p->cursors.len,
                          p->nhours, p->nsess, p->ncursors, p->nrecords};
}

/* A file that fails leaves no trace in the batch. */
static void rollback_to(ch_pending *p, const pending_mark *m)
{
    p->records.len = m->records;
    p->hist_m.len = m->hist_m;
    p->sessions.len = m->sessions;
    p->cursors.len = m->cursors;
    p->records.oom = p->hist_m.oom = p->sessions.oom = p->cursors.oom = 0;
    for (size_t i = m->ncursors; i < p->ncursors; i++) {
        free(p->cursors_seen[i].node);
        free(p->cursors_seen[i].name);
    }
    p->ncursors = m->ncursors;
    p->nhours = m->nhours;
    p->nsess = m->nsess;
    p->nrecords = m->nrecords;
}

/* ---- records stored before by another session (LMDB keeps the first) ---- */

typedef struct rec_key {
    owp_num64 send;
    uint32_t seq;
    uint8_t copy;
} rec_key;

static int key_cmp(const rec_key *a, const rec_key *b)
{
    if (a->send != b->send)
        return a->send < b->send ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return (a->copy > b->copy) - (a->copy < b->copy);
}

typedef struct taken_keys {
    rec_key *keys; /* sorted */
    size_t n, cap, at;
} taken_keys;

/* Is k stored already? Keys are asked in increasing order. */
static int taken(taken_keys *t, const rec_key *k)
{
    while (t->at < t->n && key_cmp(&t->keys[t->at], k) < 0)
        t->at++;
    return t->at < t->n && key_cmp(&t->keys[t->at], k) == 0;
}

static owp_status load_taken(store_ch *self, uint64_t path, uint64_t sess, owp_num64 first,
                             owp_num64 last, taken_keys *t, owp_err *err)
{
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT send, seq, copy FROM %s.records WHERE path = %llu AND "
                  "send >= %llu AND send <= %llu AND sess != %llu ORDER BY send, seq, copy "
                  "FORMAT RowBinary", self->db, (unsigned long long)path,
                  (unsigned long long)first, (unsigned long long)last, (unsigned long long)sess);
    owp_status st = ch_exec(self, "ingest", err);
    ch_reader r = ch_reader_of(&self->answer);
    while (!st && !ch_reader_done(&r)) {
        rec_key k;
        k.send = ch_rd_u64(&r);
        k.seq = ch_rd_u32(&r);
        k.copy = ch_rd_u8(&r);
        if (!r.bad && ch_push((void **)&t->keys, &t->n, &t->cap, &k, sizeof k))
            st = owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    }
    if (!st && r.bad)
        st = owp_err_set(err, OWP_ERR_FORMAT, "store %s: ingest: malformed answer",
                         self->url.label);
    return st;
}

/* ---- the file's rows ---- */

typedef struct file_ctx {
    store_ch *self;
    uint64_t path, sess;
    store_ingest_result *res;
    store_account acct;
    uint32_t minute; /* of the histogram being filled */
    int active;
    taken_keys taken;
} file_ctx;

static owp_status queue_hour(file_ctx *ctx, uint32_t minute)
{
    ch_pending *p = &ctx->self->pend;
    ch_period h = {ctx->path, minute - minute % SECS_PER_HOUR};
    if (p->nhours && p->hours[p->nhours - 1].path == h.path &&
        p->hours[p->nhours - 1].start == h.start)
        return OWP_OK;
    return ch_push((void **)&p->hours, &p->nhours, &p->hours_cap, &h, sizeof h) ? OWP_ERR_NOMEM
                                                                                : OWP_OK;
}

/* Queue the minute histogram being filled. */
static owp_status flush_minute(file_ctx *ctx)
{
    if (!ctx->active)
        return OWP_OK;
    store_ch *self = ctx->self;
    ch_buf *b = &self->pend.hist_m;
    ch_buf_u64(b, ctx->path);
    ch_buf_u32(b, ctx->minute);
    ch_buf_u64(b, ctx->sess);
    ch_buf_bytes(b, self->encoded, store_hist_encode(self->hist, self->encoded));
    store_hist_clear(self->hist);
    ctx->active = 0;
    return queue_hour(ctx, ctx->minute);
}

static owp_status account(file_ctx *ctx, const store_rec *s, uint8_t copy)
{
    uint32_t sec = (uint32_t)(s->send_time >> 32);
    uint32_t minute = sec - sec % 60;
    if (!ctx->active || minute != ctx->minute) {
        owp_status st = flush_minute(ctx);
        if (st)
            return st;
        ctx->minute = minute;
        ctx->active = 1;
    }
    store_account_record(&ctx->acct, ctx->self->hist, s, copy);
    return OWP_OK;
}

static void queue_record(file_ctx *ctx, const store_rec *s, uint8_t copy)
{
    ch_buf *b = &ctx->self->pend.records;
    ch_buf_u64(b, ctx->path);
    ch_buf_u64(b, s->send_time);
    ch_buf_u32(b, s->seq);
    ch_buf_u8(b, copy);
    ch_buf_u64(b, s->recv_time);
    ch_buf_u16(b, s->send_err);
    ch_buf_u16(b, s->recv_err);
    ch_buf_u8(b, s->ttl);
    ch_buf_u8(b, s->flags);
    ch_buf_u64(b, ctx->sess);
}

static owp_status queue_records(file_ctx *ctx, size_t n)
{
    store_ch *self = ctx->self;
    uint8_t copies = 0;
    owp_status st = OWP_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const store_rec *s = &self->recs[i];
        if (!store_records_copy_number(self->recs, i, &copies)) {
            ctx->res->ignored++;
            continue;
        }
        rec_key k = {s->send_time, s->seq, copies};
        if (taken(&ctx->taken, &k)) { /* stored before, from another file */
            ctx->res->ignored++;
            continue;
        }
        queue_record(ctx, s, copies);
        self->pend.nrecords++;
        st = account(ctx, s, copies);
        if (!st && ctx->res->records % HOOK_EVERY == 0)
            ch_hook(self, "records", ctx->res->records);
    }
    return st ? st : flush_minute(ctx);
}

/* ---- the session ---- */

typedef struct session_info {
    const char *node, *file_name;
    uint64_t file_seq;
    const owp_file *file;
    owp_num64 start;
    const uint8_t *sid;
} session_info;

static void queue_session(store_ch *self, uint64_t path, const store_ingest_result *res,
                          const session_info *si)
{
    ch_buf *b = &self->pend.sessions;
    const owp_request *req = owp_file_request(si->file);
    uint32_t nslots = req ? req->nslots : 0;
    size_t flen = strlen(si->file_name);
    ch_buf_u64(b, path);
    ch_buf_u64(b, si->start);
    ch_buf_put(b, si->sid, OWP_SID_LEN);
    const uint64_t u64s[7] = {res->first, res->last, res->sent, res->lost,
                              res->dups,  res->reordered, res->records};
    for (int i = 0; i < 7; i++)
        ch_buf_u64(b, u64s[i]);
    ch_buf_u32(b, owp_file_finished(si->file));
    ch_buf_u32(b, owp_file_next_seqno(si->file));
    ch_buf_u64(b, si->file_seq);
    ch_buf_bytes(b, si->node, strlen(si->node));
    ch_buf_bytes(b, si->file_name, flen > 1024 ? 1024 : flen);
    /* The Request-Session as on the wire: preamble, slot count (big-endian), slots. */
    size_t len = OWP_REQUEST_PREAMBLE_LEN + 4 + (size_t)nslots * OWP_SLOT_LEN;
    uint8_t *req_bytes = calloc(1, len);
    if (!req_bytes) {
        b->oom = 1;
        return;
    }
    if (req)
        owp_wire_encode_request_preamble(req, req_bytes);
    uint8_t *p = req_bytes + OWP_REQUEST_PREAMBLE_LEN;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(nslots >> (24 - 8 * i));
    for (uint32_t i = 0; i < nslots; i++)
        owp_wire_encode_slot(&req->slots[i], p + 4 + (size_t)i * OWP_SLOT_LEN);
    ch_buf_bytes(b, req_bytes, len);
    free(req_bytes);
}

static void sid_hex(const uint8_t *sid, char out[2 * OWP_SID_LEN + 1])
{
    for (int i = 0; i < OWP_SID_LEN; i++)
        snprintf(out + 2 * i, 3, "%02X", sid[i]);
}

/* Is the session stored already (by this batch or before)? */
static owp_status session_stored(store_ch *self, uint64_t path, const session_info *si,
                                 uint64_t sess, int *stored, owp_err *err)
{
    const ch_pending *p = &self->pend;
    *stored = 0;
    for (size_t i = 0; i < p->nsess; i++)
        if (p->sess[i].path == path && p->sess[i].sess == sess)
            *stored = 1;
    if (*stored)
        return OWP_OK;
    char hex[2 * OWP_SID_LEN + 1];
    sid_hex(si->sid, hex);
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT count() FROM %s.sessions WHERE path = %llu AND start = %llu "
                  "AND hex(sid) = '%s' FORMAT RowBinary", self->db, (unsigned long long)path,
                  (unsigned long long)si->start, hex);
    owp_status st = ch_exec(self, "session lookup", err);
    if (st)
        return st;
    ch_reader r = ch_reader_of(&self->answer);
    *stored = ch_rd_u64(&r) > 0;
    return r.bad ? owp_err_set(err, OWP_ERR_FORMAT, "store %s: session lookup: malformed answer",
                               self->url.label)
                 : OWP_OK;
}

static owp_status ingest_rows(store_ch *self, uint64_t path, owp_file *file, session_info *si,
                              store_ingest_result *res, owp_err *err)
{
    size_t n;
    owp_status st = store_records_load(file, &self->recs, &self->nrecs_cap, &n, &res->ignored, err);
    if (st)
        return st;
    const owp_request *req = owp_file_request(file);
    static const uint8_t no_sid[OWP_SID_LEN];
    si->start = req ? req->start_time : (n ? self->recs[0].send_time : 0);
    si->sid = req ? req->sid : no_sid;
    uint64_t sess = store_ch_session_hash(si->start, si->sid);
    int stored;
    if ((st = session_stored(self, path, si, sess, &stored, err)))
        return st;
    if (stored) {
        res->status = STORE_INGEST_DUPLICATE;
        res->ignored += n;
        return OWP_OK;
    }
    file_ctx ctx = {.self = self, .path = path, .sess = sess, .res = res};
    store_account_init(&ctx.acct, res);
    store_hist_clear(self->hist);
    if (n)
        st = load_taken(self, path, sess, self->recs[0].send_time, self->recs[n - 1].send_time,
                        &ctx.taken, err);
    if (!st)
        st = queue_records(&ctx, n);
    free(ctx.taken.keys);
    if (st == OWP_ERR_NOMEM)
        return owp_err_set(err, st, "store %s: %s: out of memory", self->url.label, si->file_name);
    if (st)
        return st;
    queue_session(self, path, res, si);
    ch_pending_session ps = {path, sess};
    if (ch_push((void **)&self->pend.sess, &self->pend.nsess, &self->pend.sess_cap, &ps,
                sizeof ps))
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    return OWP_OK;
}

static owp_status ingest_file_rows(store_ch *self, const char *node, uint64_t file_seq,
                                   const char *file_name, uint32_t path_id, FILE *fp,
                                   store_ingest_result *res, owp_err *err)
{
    uint64_t cur, path;
    owp_status st = ch_cursor_get(self, node, &cur, NULL, 0, err);
    if (st)
        return st;
    if (file_seq <= cur) {
        res->status = STORE_INGEST_ALREADY;
        return OWP_OK;
    }
    if ((st = ch_path_hash_of(self, path_id, &path, err)))
        return st;
    owp_file *file = owp_file_read(fp, file_name, err);
    if (!file)
        return err && err->code ? err->code : OWP_ERR_FORMAT;
    session_info si = {node, file_name, file_seq, file, 0, NULL};
    st = ingest_rows(self, path, file, &si, res, err);
    owp_file_destroy(&file);
    return st ? st : ch_cursor_queue(self, node, file_seq, file_name, err);
}

owp_status ch_ingest_file(store_db *db, const char *node, uint64_t file_seq,
                          const char *file_name, uint32_t path_id, FILE *fp,
                          store_ingest_result *result, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    store_ingest_result res = {0};
    owp_status st = store_check_ingest_args(node, file_seq, file_name, fp, err);
    if (!st)
        st = ch_check_writable(self, err);
    if (st)
        return st;
    if (!self->batch_open)
        ch_pending_clear(&self->pend);
    pending_mark mark = mark_of(&self->pend);
    ch_hook(self, "begin", 0);
    st = ingest_file_rows(self, node, file_seq, file_name, path_id, fp, &res, err);
    if (st) {
        rollback_to(&self->pend, &mark);
        return st;
    }
    if (res.status == STORE_INGEST_ALREADY) {
        if (result)
            *result = res;
        return OWP_OK;
    }
    if (!self->batch_open && (st = ch_pending_flush(self, err)))
        return st;
    if (result)
        *result = res;
    return OWP_OK;
}

/* ---- rollups: hours from the minutes, days from the hours ---- */

static int period_cmp(const void *a, const void *b)
{
    const ch_period *x = a, *y = b;
    if (x->path != y->path)
        return x->path < y->path ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

/* Sort and make unique; returns the new count. */
static size_t unique_periods(ch_period *p, size_t n)
{
    if (n == 0)
        return 0;
    qsort(p, n, sizeof *p, period_cmp);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (period_cmp(&p[i], &p[k - 1]))
            p[k++] = p[i];
    return k;
}

/* WHERE clause selecting periods p[0..n) (of size secs) by column col;
 * adjacent periods of a path become one range. */
static void where_periods(ch_buf *sql, const char *col, const ch_period *p, size_t n,
                          uint32_t secs)
{
    ch_buf_printf(sql, " WHERE ");
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && p[j].path == p[i].path && p[j].start == p[j - 1].start + secs)
            j++;
        ch_buf_printf(sql, "%s(path = %llu AND %s >= %u AND %s < %llu)", i ? " OR " : "",
                      (unsigned long long)p[i].path, col, p[i].start, col,
                      (unsigned long long)p[j - 1].start + secs);
        i = j;
    }
}

static uint64_t now_version(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct rollup {
    store_ch *self;
    ch_buf rows;          /* the coarser level's rows to insert */
    ch_period *coarser;   /* the periods written, for the next level */
    size_t ncoarser, coarser_cap;
    uint64_t version;
    uint64_t path;        /* the period being merged */
    uint32_t start;
    int active;
} rollup;

static int rollup_emit(rollup *ru)
{
    if (!ru->active)
        return 0;
    store_ch *self = ru->self;
    ch_buf_u64(&ru->rows, ru->path);
    ch_buf_u32(&ru->rows, ru->start);
    ch_buf_u64(&ru->rows, ru->version);
    ch_buf_bytes(&ru->rows, self->encoded, store_hist_encode(self->hist, self->encoded));
    store_hist_clear(self->hist);
    ru->active = 0;
    ch_period day = {ru->path, ru->start - ru->start % SECS_PER_DAY};
    return ch_push((void **)&ru->coarser, &ru->ncoarser, &ru->coarser_cap, &day, sizeof day);
}

/* Merge one row into the period it belongs to (periods of size secs). */
static int rollup_add(rollup *ru, uint64_t path, uint32_t t, uint32_t secs, const uint8_t *h,
                      size_t len)
{
    uint32_t start = t - t % secs;
    if (!ru->active || path != ru->path || start != ru->start) {
        if (rollup_emit(ru))
            return -1;
        ru->path = path;
        ru->start = start;
        ru->active = 1;
    }
    return store_hist_merge_encoded(ru->self->hist, h, len) ? -2 : 0;
}

/* Read the finer level's rows of periods p[0..n) and write the coarser
 * level's: minutes deduplicated by (path, minute, session); hours by the
 * newest version of each (path, hour). */
static owp_status rollup_level(store_ch *self, int finer, const ch_period *p, size_t n,
                               rollup *ru, owp_err *err)
{
    uint32_t coarse_secs = level_secs[finer + 1];
    ch_buf_reset(&self->sql);
    if (finer == LEVEL_MINUTE)
        ch_buf_printf(&self->sql, "SELECT path, minute, sess, hist FROM %s.hist_m", self->db);
    else
        ch_buf_printf(&self->sql, "SELECT path, hour, version, hist FROM %s.hist_h", self->db);
    where_periods(&self->sql, ch_hist_col[finer], p, n, coarse_secs);
    ch_buf_printf(&self->sql, finer == LEVEL_MINUTE ? " ORDER BY path, minute, sess"
                                                    : " ORDER BY path, hour, version DESC");
    ch_buf_printf(&self->sql, " FORMAT RowBinary");
    owp_status st = ch_exec(self, "rollup", err);
    if (st)
        return st;
    store_hist_clear(self->hist);
    ch_reader r = ch_reader_of(&self->answer);
    uint64_t prev_path = 0, prev_third = 0;
    uint32_t prev_t = 0;
    int first = 1, rc = 0;
    while (!rc && !ch_reader_done(&r)) {
        uint64_t path = ch_rd_u64(&r);
        uint32_t t = ch_rd_u32(&r);
        uint64_t third = ch_rd_u64(&r); /* session, or version */
        const uint8_t *h;
        size_t len;
        ch_rd_bytes(&r, &h, &len);
        if (r.bad)
            break;
        /* The same key again: a row not merged yet (minutes: the same
         * session re-inserted; hours: an older version). */
        int dup = !first && path == prev_path && t == prev_t &&
                  (finer != LEVEL_MINUTE || third == prev_third);
        first = 0;
        prev_path = path;
        prev_t = t;
        prev_third = third;
        if (!dup)
            rc = rollup_add(ru, path, t, coarse_secs, h, len);
    }
    if (!rc)
        rc = rollup_emit(ru);
    if (r.bad || rc == -2)
        return owp_err_set(err, OWP_ERR_FORMAT, "store %s: rollup: malformed histogram in %s",
                           self->url.label, ch_hist_table[finer]);
    if (rc)
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    return ch_insert(self, "rollup", ch_hist_table[finer + 1],
                     finer == LEVEL_MINUTE ? "(path, hour, version, hist)"
                                           : "(path, day, version, hist)",
                     &ru->rows, err);
}

owp_status ch_rollup(store_ch *self, owp_err *err)
{
    ch_pending *p = &self->pend;
    p->nhours = unique_periods(p->hours, p->nhours);
    if (p->nhours == 0)
        return OWP_OK;
    rollup hours = {.self = self, .version = now_version()};
    rollup days = {.self = self, .version = hours.version};
    owp_status st = rollup_level(self, LEVEL_MINUTE, p->hours, p->nhours, &hours, err);
    if (!st) {
        hours.ncoarser = unique_periods(hours.coarser, hours.ncoarser);
        st = rollup_level(self, LEVEL_HOUR, hours.coarser, hours.ncoarser, &days, err);
    }
    ch_buf_free(&hours.rows);
    ch_buf_free(&days.rows);
    free(hours.coarser);
    free(days.coarser);
    return st;
}
