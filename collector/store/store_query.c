/*
 * store_query.c - the query engine both backends share: rows of statistics
 * over paths and periods, each from raw records (exact) or merged histograms
 * (bounded error), chosen per row as store.h says. A backend supplies what
 * it holds through a store_scan (store_backend.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "stats.h"
#include "store_backend.h"

#define MAX_ROWS 10000000ULL /* a query producing more rows is a mistake */

typedef struct query_ctx {
    const store_query *q;
    store_scan *scan;
    store_query_scratch *scratch;
    owp_err *err;
    uint64_t cov_lo, cov_hi; /* what a histogram row really covers */
} query_ctx;

/* ---- validation ---- */

owp_status store_query_check(const store_query *q, owp_err *err)
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

static owp_status scan_level(query_ctx *ctx, int level, uint32_t path, uint64_t lo, uint64_t hi,
                             store_hist *acc)
{
    if (lo >= hi)
        return OWP_OK;
    return ctx->scan->hist(ctx->scan, level, path, lo, hi, acc, ctx->err);
}

static uint64_t floor_to(uint64_t t, uint64_t size) { return t - t % size; }
static uint64_t ceil_to(uint64_t t, uint64_t size) { return floor_to(t + size - 1, size); }

/* [lo, hi) (minute aligned) from the coarsest histograms that fit whole.
 * An edge whose finer histograms were pruned is widened to the whole
 * period of this level (recorded in cov_lo/cov_hi), rather than lost. */
static owp_status cover(query_ctx *ctx, int level, uint32_t path, uint64_t lo, uint64_t hi,
                        store_hist *acc)
{
    if (lo >= hi)
        return OWP_OK;
    if (level == LEVEL_MINUTE)
        return scan_level(ctx, level, path, lo, hi, acc);
    uint64_t size = level_secs[level], finer_horizon = ctx->scan->hist_horizon[level - 1];
    uint64_t a = ceil_to(lo, size), b = floor_to(hi, size);
    owp_status st = OWP_OK;
    if (lo < finer_horizon) {
        a = floor_to(lo, size);
        if (a < ctx->cov_lo)
            ctx->cov_lo = a;
    } else if (a > lo) {
        st = cover(ctx, level - 1, path, lo, a < hi ? a : hi, acc);
        if (st || a >= hi)
            return st;
    }
    uint64_t end = b;
    if (hi > b && b < finer_horizon) {
        end = ceil_to(hi, size);
        if (end > ctx->cov_hi)
            ctx->cov_hi = end;
    }
    if (a < end)
        st = scan_level(ctx, level, path, a, end, acc);
    if (!st && end < hi)
        st = cover(ctx, level - 1, path, end > a ? end : a, hi, acc);
    return st;
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
    store_query_scratch *scratch;
    uint64_t sent, lost, dups, reordered;
    owp_owd_ipdv ipdv;
    double min, max;
    size_t ndelays;
    uint8_t ttl_min, ttl_max;
    int oom;
} raw_acc;

static int raw_record(const owp_record *r, uint8_t copy, uint8_t flags, void *arg)
{
    raw_acc *a = arg;
    if (owp_record_lost(r)) {
        a->sent++;
        a->lost++;
        owp_owd_ipdv_break(&a->ipdv);
        return 0;
    }
    double d = owp_stats_delay(r);
    if (d < a->min)
        a->min = d;
    if (d > a->max)
        a->max = d;
    if (copy) {
        a->dups++;
        return 0;
    }
    a->sent++;
    a->reordered += (flags & REC_FLAG_REORDERED) != 0;
    if (r->ttl < a->ttl_min)
        a->ttl_min = r->ttl;
    if (r->ttl > a->ttl_max)
        a->ttl_max = r->ttl;
    store_query_scratch *s = a->scratch;
    if (store_reserve((void **)&s->delays, &s->cap, a->ndelays + 1, sizeof *s->delays)) {
        a->oom = 1;
        return 1;
    }
    s->delays[a->ndelays++] = d;
    owp_owd_ipdv_add(&a->ipdv, r->seq, d, NULL);
    return 0;
}

static owp_status row_from_raw(query_ctx *ctx, owp_num64 from, owp_num64 to, store_row *row)
{
    const store_query *q = ctx->q;
    raw_acc a = {.scratch = ctx->scratch, .min = INFINITY, .max = -INFINITY, .ttl_min = 255};
    owp_owd_ipdv_init(&a.ipdv);
    for (size_t i = 0; i < q->npaths; i++) {
        owp_owd_ipdv_break(&a.ipdv); /* no pair across paths */
        owp_status st = ctx->scan->records(ctx->scan, q->paths[i], from, to, raw_record, &a,
                                           ctx->err);
        if (!st && a.oom)
            st = owp_err_set(ctx->err, OWP_ERR_NOMEM, "query: out of memory");
        if (st)
            return st;
    }
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
    owp_owd_sample_init(&sample, ctx->scratch->delays, a.ndelays);
    for (size_t i = 0; i < q->npercentiles; i++)
        if (!owp_owd_sample_percentile(&sample, q->percentiles[i] / 100.0, &row->percentiles[i]))
            row->percentiles[i] = 0;
    if (!owp_owd_sample_jitter(&sample, &row->jitter))
        row->jitter = 0;
    if (a.ndelays) {
        row->hops_min = owp_owd_hops(a.ttl_max);
        row->hops_max = owp_owd_hops(a.ttl_min);
    }
    return OWP_OK;
}

/* ---- rows ---- */

static owp_status one_row(query_ctx *ctx, owp_num64 from, owp_num64 to, store_row *row)
{
    const store_query *q = ctx->q;
    store_hist *acc = ctx->scratch->acc;
    store_hist_clear(acc);
    uint64_t lo = floor_to(from >> 32, 60);
    uint64_t hi = ceil_to((to >> 32) + ((to & 0xffffffffu) != 0), 60);
    memset(row, 0, sizeof *row);
    row->hops_min = row->hops_max = -1;
    owp_status st = OWP_OK;
    ctx->cov_lo = lo;
    ctx->cov_hi = hi;
    if (q->source != STORE_SOURCE_RAW)
        for (size_t i = 0; i < q->npaths && !st; i++)
            st = cover(ctx, LEVEL_DAY, q->paths[i], lo, hi, acc);
    if (st)
        return st;
    int raw = q->source == STORE_SOURCE_RAW ||
              (q->source == STORE_SOURCE_AUTO && acc->sent + acc->dups <= STORE_RAW_LIMIT &&
               (from >> 32) >= ctx->scan->raw_horizon);
    if (raw) {
        row->start = from;
        row->end = to;
        st = row_from_raw(ctx, from, to, row);
    } else {
        row->start = ctx->cov_lo << 32;
        row->end = ctx->cov_hi << 32;
        row_from_hist(q, acc, row);
    }
    row->empty = row->sent == 0 && row->dups == 0;
    row->loss_pct = 100.0 * owp_owd_loss_ratio(row->lost, row->sent);
    return st;
}

owp_status store_query_rows(const store_query *q, store_scan *scan, store_query_scratch *scratch,
                            store_row_fn fn, void *arg, owp_err *err)
{
    owp_status st = store_query_check(q, err);
    if (st)
        return st;
    if (!scratch->acc) {
        if (!(scratch->acc = malloc(sizeof *scratch->acc)))
            return owp_err_set(err, OWP_ERR_NOMEM, "query: out of memory");
        store_hist_init(scratch->acc);
    }
    query_ctx ctx = {.q = q, .scan = scan, .scratch = scratch, .err = err};
    owp_num64 step = (owp_num64)q->every << 32;
    for (owp_num64 a = q->from; a < q->to;) {
        owp_num64 b = step && q->to - a > step ? a + step : q->to;
        store_row row;
        st = one_row(&ctx, a, b, &row);
        if (st)
            return st;
        if (fn(&row, arg))
            break;
        a = b;
    }
    return OWP_OK;
}

void store_query_scratch_free(store_query_scratch *s)
{
    free(s->delays);
    free(s->acc);
    memset(s, 0, sizeof *s);
}
