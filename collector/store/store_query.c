/*
 * store_query.c - statistics over paths and periods (from raw records or
 * merged histograms, see store.h), raw export and session listing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "stats.h"
#include "store_int.h"

#define MAX_ROWS 10000000ULL /* a query producing more rows is a mistake */

typedef struct query_ctx {
    store_db *self;
    const store_query *q;
    MDB_txn *txn;
    MDB_cursor *hist[LEVEL_COUNT];
    MDB_cursor *records;
    uint64_t raw_horizon; /* NTP seconds */
    uint64_t hist_horizon[LEVEL_COUNT];
    uint64_t cov_lo, cov_hi; /* what a histogram row really covers */
} query_ctx;

/* ---- validation ---- */

static owp_status check_query(const store_query *q, owp_err *err)
{
    if (!q || !q->paths || q->npaths == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "query: no path given");
    if (q->from >= q->to)
        return owp_err_set(err, OWP_ERR_INVALID, "query: the period is empty (from >= to)");
    if (q->npercentiles > STORE_MAX_PERCENTILES || (q->npercentiles && !q->percentiles))
        return owp_err_set(err, OWP_ERR_INVALID, "query: at most %d percentiles",
                           STORE_MAX_PERCENTILES);
    for (size_t i = 0; i < q->npercentiles; i++)
        if (!(q->percentiles[i] >= 0 && q->percentiles[i] <= 100))
            return owp_err_set(err, OWP_ERR_INVALID, "query: percentile %g is not in [0, 100]",
                               q->percentiles[i]);
    if (q->every && ((q->to - q->from) >> 32) / q->every > MAX_ROWS)
        return owp_err_set(err, OWP_ERR_INVALID, "query: more than %llu rows",
                           (unsigned long long)MAX_ROWS);
    if (q->source != STORE_SOURCE_AUTO && q->source != STORE_SOURCE_RAW &&
        q->source != STORE_SOURCE_HIST)
        return owp_err_set(err, OWP_ERR_INVALID, "query: unknown source %d", (int)q->source);
    return OWP_OK;
}

/* ---- histograms ---- */

/* Merge the histograms of one level with start in [lo, hi) seconds. */
static int scan_level(query_ctx *ctx, int level, uint32_t path, uint64_t lo, uint64_t hi,
                      store_hist *acc)
{
    if (lo >= hi)
        return 0;
    uint8_t kb[HIST_KEY_LEN];
    hist_key(kb, path, (uint32_t)lo);
    MDB_val k = {HIST_KEY_LEN, kb}, v;
    int rc;
    for (rc = mdb_cursor_get(ctx->hist[level], &k, &v, MDB_SET_RANGE); !rc;
         rc = mdb_cursor_get(ctx->hist[level], &k, &v, MDB_NEXT)) {
        if (k.mv_size != HIST_KEY_LEN || be32_get(k.mv_data) != path ||
            be32_get((uint8_t *)k.mv_data + 4) >= hi)
            break;
        if (store_hist_merge_encoded(acc, v.mv_data, v.mv_size))
            return MDB_CORRUPTED;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static uint64_t floor_to(uint64_t t, uint64_t size) { return t - t % size; }
static uint64_t ceil_to(uint64_t t, uint64_t size) { return floor_to(t + size - 1, size); }

/* [lo, hi) (minute aligned) from the coarsest histograms that fit whole.
 * An edge whose finer histograms were pruned is widened to the whole
 * period of this level (recorded in cov_lo/cov_hi), rather than lost. */
static int cover(query_ctx *ctx, int level, uint32_t path, uint64_t lo, uint64_t hi, store_hist *acc)
{
    if (lo >= hi)
        return 0;
    if (level == LEVEL_MINUTE)
        return scan_level(ctx, level, path, lo, hi, acc);
    uint64_t size = level_secs[level], finer_horizon = ctx->hist_horizon[level - 1];
    uint64_t a = ceil_to(lo, size), b = floor_to(hi, size);
    int rc = 0;
    if (lo < finer_horizon) {
        a = floor_to(lo, size);
        if (a < ctx->cov_lo)
            ctx->cov_lo = a;
    } else if (a > lo) {
        rc = cover(ctx, level - 1, path, lo, a < hi ? a : hi, acc);
        if (rc || a >= hi)
            return rc;
    }
    uint64_t end = b;
    if (hi > b && b < finer_horizon) {
        end = ceil_to(hi, size);
        if (end > ctx->cov_hi)
            ctx->cov_hi = end;
    }
    if (a < end)
        rc = scan_level(ctx, level, path, a, end, acc);
    if (!rc && end < hi)
        rc = cover(ctx, level - 1, path, end > a ? end : a, hi, acc);
    return rc;
}

static void row_from_hist(const store_query *q, const store_hist *h, store_row *row)
{
    row->source = STORE_SOURCE_HIST;
    row->rel_error = STORE_HIST_REL_ERROR;
    row->abs_error = STORE_HIST_ABS_ERROR;
    row->sent = h->sent;
    row->lost = h->lost;
    row->dups = h->dups;
    row->reordered = h->reordered;
    row->received = h->received;
    row->ipdv_pairs = h->ipdv_count;
    if (!store_hist_ipdv(h, &row->ipdv))
        row->ipdv = 0;
    row->has_delay = h->min <= h->max;
    if (row->has_delay) {
        row->min = h->min;
        row->max = h->max;
    }
    for (size_t i = 0; i < q->npercentiles; i++)
        if (!store_hist_percentile(h, q->percentiles[i], &row->percentiles[i]))
            row->percentiles[i] = 0;
    if (!store_hist_jitter(h, &row->jitter))
        row->jitter = 0;
    if (h->received) {
        row->hops_min = owp_owd_hops(h->ttl_max);
        row->hops_max = owp_owd_hops(h->ttl_min);
    }
}

/* ---- raw records ---- */

typedef struct raw_acc {
    uint64_t sent, lost, dups, reordered;
    owp_owd_ipdv ipdv;
    double min, max;
    size_t ndelays;
    uint8_t ttl_min, ttl_max;
} raw_acc;

static int raw_path(query_ctx *ctx, uint32_t path, owp_num64 from, owp_num64 to, raw_acc *a)
{
    store_db *self = ctx->self;
    uint8_t kb[REC_KEY_LEN] = {0};
    be32_put(kb, path);
    be64_put(kb + 4, from);
    MDB_val k = {REC_KEY_LEN, kb}, v;
    owp_owd_ipdv_break(&a->ipdv); /* no pair across paths */
    int rc;
    for (rc = mdb_cursor_get(ctx->records, &k, &v, MDB_SET_RANGE); !rc;
         rc = mdb_cursor_get(ctx->records, &k, &v, MDB_NEXT)) {
        owp_record r;
        uint8_t copy, flags;
        if (k.mv_size < 12 || be32_get(k.mv_data) != path || be64_get((uint8_t *)k.mv_data + 4) >= to)
            break;
        store_record_decode(&k, &v, &r, &copy, &flags);
        if (copy == 255)
            continue;
        if (owp_record_lost(&r)) {
            a->sent++;
            a->lost++;
            owp_owd_ipdv_break(&a->ipdv);
            continue;
        }
        double d = owp_stats_delay(&r);
        if (d < a->min)
            a->min = d;
        if (d > a->max)
            a->max = d;
        if (copy) {
            a->dups++;
            continue;
        }
        a->sent++;
        a->reordered += (flags & REC_FLAG_REORDERED) != 0;
        if (r.ttl < a->ttl_min)
            a->ttl_min = r.ttl;
        if (r.ttl > a->ttl_max)
            a->ttl_max = r.ttl;
        if (store_reserve((void **)&self->delays, &self->ndelays_cap, a->ndelays + 1,
                          sizeof *self->delays))
            return ENOMEM;
        self->delays[a->ndelays++] = d;
        owp_owd_ipdv_add(&a->ipdv, r.seq, d, NULL);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int row_from_raw(query_ctx *ctx, owp_num64 from, owp_num64 to, store_row *row)
{
    const store_query *q = ctx->q;
    raw_acc a = {.min = INFINITY, .max = -INFINITY, .ttl_min = 255};
    owp_owd_ipdv_init(&a.ipdv);
    for (size_t i = 0; i < q->npaths; i++) {
        int rc = raw_path(ctx, q->paths[i], from, to, &a);
        if (rc)
            return rc;
    }
    double *d = ctx->self->delays;
    row->source = STORE_SOURCE_RAW;
    row->sent = a.sent;
    row->lost = a.lost;
    row->dups = a.dups;
    row->reordered = a.reordered;
    row->received = a.ndelays;
    row->ipdv_pairs = a.ipdv.pairs;
    if (!owp_owd_ipdv_mean(a.ipdv.pairs, a.ipdv.sum, &row->ipdv))
        row->ipdv = 0;
    row->has_delay = a.min <= a.max;
    if (row->has_delay) {
        row->min = a.min;
        row->max = a.max;
    }
    /* Exact: selections among the first copies' delays (reordered in place). */
    owp_owd_sample sample;
    owp_owd_sample_init(&sample, d, a.ndelays);
    for (size_t i = 0; i < q->npercentiles; i++)
        if (!owp_owd_sample_percentile(&sample, q->percentiles[i] / 100.0, &row->percentiles[i]))
            row->percentiles[i] = 0;
    if (!owp_owd_sample_jitter(&sample, &row->jitter))
        row->jitter = 0;
    if (a.ndelays) {
        row->hops_min = owp_owd_hops(a.ttl_max);
        row->hops_max = owp_owd_hops(a.ttl_min);
    }
    return 0;
}

/* ---- rows ---- */

static int one_row(query_ctx *ctx, owp_num64 from, owp_num64 to, store_row *row)
{
    const store_query *q = ctx->q;
    store_hist *acc = &ctx->self->hists[LEVEL_COUNT];
    store_hist_clear(acc);
    uint64_t lo = floor_to(from >> 32, 60);
    uint64_t hi = ceil_to((to >> 32) + ((to & 0xffffffffu) != 0), 60);
    memset(row, 0, sizeof *row);
    row->hops_min = row->hops_max = -1;
    int rc = 0;
    ctx->cov_lo = lo;
    ctx->cov_hi = hi;
    if (q->source != STORE_SOURCE_RAW)
        for (size_t i = 0; i < q->npaths && !rc; i++)
            rc = cover(ctx, LEVEL_DAY, q->paths[i], lo, hi, acc);
    if (rc)
        return rc;
    int raw = q->source == STORE_SOURCE_RAW ||
              (q->source == STORE_SOURCE_AUTO && acc->sent + acc->dups <= STORE_RAW_LIMIT &&
               (from >> 32) >= ctx->raw_horizon);
    if (raw) {
        row->start = from;
        row->end = to;
        rc = row_from_raw(ctx, from, to, row);
    } else {
        row->start = ctx->cov_lo << 32;
        row->end = ctx->cov_hi << 32;
        row_from_hist(q, acc, row);
    }
    row->empty = row->sent == 0 && row->dups == 0;
    row->loss_pct = 100.0 * owp_owd_loss_ratio(row->lost, row->sent);
    return rc;
}

static int open_cursors(query_ctx *ctx)
{
    store_db *self = ctx->self;
    int rc = mdb_cursor_open(ctx->txn, self->records, &ctx->records);
    for (int l = 0; l < LEVEL_COUNT && !rc; l++)
        rc = mdb_cursor_open(ctx->txn, self->hist[l], &ctx->hist[l]);
    return rc;
}

static void close_cursors(query_ctx *ctx)
{
    if (ctx->records)
        mdb_cursor_close(ctx->records);
    for (int l = 0; l < LEVEL_COUNT; l++)
        if (ctx->hist[l])
            mdb_cursor_close(ctx->hist[l]);
}

static owp_status run_rows(query_ctx *ctx, store_row_fn fn, void *arg, owp_err *err)
{
    const store_query *q = ctx->q;
    owp_num64 step = (owp_num64)q->every << 32;
    for (owp_num64 a = q->from; a < q->to;) {
        owp_num64 b = step && q->to - a > step ? a + step : q->to;
        store_row row;
        int rc = one_row(ctx, a, b, &row);
        if (rc)
            return store_mdb_err(err, rc, "query");
        if (fn(&row, arg))
            break;
        a = b;
    }
    return OWP_OK;
}

owp_status store_query_run(store_db *self, const store_query *q, store_row_fn fn,
                               void *arg, owp_err *err)
{
    owp_status st = check_query(q, err);
    if (st)
        return st;
    query_ctx ctx = {.self = self, .q = q};
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &ctx.txn);
    if (rc)
        return store_mdb_err(err, rc, "query");
    for (size_t i = 0; i < q->npaths && !st; i++)
        st = store_check_path(self, ctx.txn, q->paths[i], err);
    if (!st) {
        ctx.raw_horizon = store_meta_get(self, ctx.txn, META_RAW_HORIZON);
        for (int l = 0; l < LEVEL_COUNT; l++)
            ctx.hist_horizon[l] = store_meta_get(self, ctx.txn, meta_hist_horizon[l]);
        rc = open_cursors(&ctx);
        st = rc ? store_mdb_err(err, rc, "query") : run_rows(&ctx, fn, arg, err);
    }
    close_cursors(&ctx);
    mdb_txn_abort(ctx.txn);
    return st;
}

/* ---- export ---- */

owp_status store_export(store_db *self, uint32_t path_id, owp_num64 from, owp_num64 to,
                            store_record_fn fn, void *arg, owp_err *err)
{
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

owp_status store_sessions(store_db *self, uint32_t path_id, owp_num64 from, owp_num64 to,
                              store_session_fn fn, void *arg, owp_err *err)
{
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
