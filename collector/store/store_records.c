/*
 * store_records.c - a file's records as both backends store them: loaded
 * outside the file's skip ranges, flagged when reordered (RFC 4737), sorted
 * into key order (send time, seq, arrival; nearly sorted already, so an
 * insertion sort does it in linear time and a bounded amount of work), copies
 * numbered, and each stored record accounted into the file's counts and the
 * histogram of its period.
 */
#include <stdlib.h>
#include <string.h>

#include "owdstat.h"
#include "stats.h"
#include "store_backend.h"

#define INSERTION_WORK_PER_RECORD 32 /* beyond this, fall back to qsort */

/* ---- loading ---- */

typedef struct load_ctx {
    store_rec **recs;
    size_t *cap;
    owp_skip *skips; /* sorted by first */
    uint32_t nskips;
    size_t n;
    uint64_t ignored;
    uint32_t max_seq_arrived;
    int arrived;
    int oom;
} load_ctx;

static int skip_cmp(const void *a, const void *b)
{
    const owp_skip *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int in_skip_range(const load_ctx *ctx, uint32_t seq)
{
    size_t lo = 0, hi = ctx->nskips;
    while (lo < hi) { /* last range with first <= seq */
        size_t mid = lo + (hi - lo) / 2;
        if (ctx->skips[mid].first <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Ranges may overlap in a hostile file: check the few before too. */
    for (size_t i = lo; i > 0 && lo - i < 4; i--)
        if (seq <= ctx->skips[i - 1].last)
            return 1;
    return 0;
}

static int load_record(const owp_record *r, void *arg)
{
    load_ctx *ctx = arg;
    if (in_skip_range(ctx, r->seq)) {
        ctx->ignored++;
        return 0;
    }
    if (store_reserve((void **)ctx->recs, ctx->cap, ctx->n + 1, sizeof **ctx->recs)) {
        ctx->oom = 1;
        return 1;
    }
    store_rec *s = &(*ctx->recs)[ctx->n];
    s->send_time = r->send_time;
    s->recv_time = r->recv_time;
    s->seq = r->seq;
    s->arrival = (uint32_t)ctx->n;
    s->send_err = r->send_err;
    s->recv_err = r->recv_err;
    s->ttl = r->ttl;
    s->flags = 0;
    /* RFC 4737: reordered when a higher seq arrived before it. */
    if (!owp_record_lost(r)) {
        if (ctx->arrived && r->seq < ctx->max_seq_arrived)
            s->flags |= REC_FLAG_REORDERED;
        if (!ctx->arrived || r->seq > ctx->max_seq_arrived)
            ctx->max_seq_arrived = r->seq;
        ctx->arrived = 1;
    }
    ctx->n++;
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    const store_rec *x = a, *y = b;
    if (x->send_time != y->send_time)
        return x->send_time < y->send_time ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* Insertion sort while the work stays linear; qsort when the input is far from sorted. */
static void sort_records(store_rec *r, size_t n)
{
    uint64_t budget = (uint64_t)n * INSERTION_WORK_PER_RECORD;
    for (size_t i = 1; i < n; i++) {
        if (rec_cmp(&r[i - 1], &r[i]) <= 0)
            continue;
        store_rec t = r[i];
        size_t j = i;
        while (j > 0 && rec_cmp(&r[j - 1], &t) > 0) {
            r[j] = r[j - 1];
            j--;
            if (budget-- == 0) {
                r[j] = t;
                qsort(r, n, sizeof *r, rec_cmp);
                return;
            }
        }
        r[j] = t;
    }
}

owp_status store_records_load(owp_file *file, store_rec **recs, size_t *cap, size_t *n,
                              uint64_t *ignored, owp_err *err)
{
    load_ctx ctx = {.recs = recs, .cap = cap};
    ctx.nskips = owp_file_nskips(file);
    if (ctx.nskips) {
        ctx.skips = malloc(ctx.nskips * sizeof *ctx.skips);
        if (!ctx.skips)
            return owp_err_set(err, OWP_ERR_NOMEM, "store: out of memory");
        memcpy(ctx.skips, owp_file_skips(file), ctx.nskips * sizeof *ctx.skips);
        qsort(ctx.skips, ctx.nskips, sizeof *ctx.skips, skip_cmp);
    }
    owp_status st = owp_file_each_record_from(file, 0, owp_file_region_nrecords(file),
                                              load_record, &ctx, err);
    free(ctx.skips);
    if (!st && ctx.oom)
        st = owp_err_set(err, OWP_ERR_NOMEM, "store: %s: out of memory", owp_file_name(file));
    if (st)
        return st;
    sort_records(*recs, ctx.n);
    *n = ctx.n;
    *ignored = ctx.ignored;
    return OWP_OK;
}

int store_records_copy_number(const store_rec *recs, size_t i, uint8_t *copies)
{
    if (i == 0 || recs[i].send_time != recs[i - 1].send_time || recs[i].seq != recs[i - 1].seq) {
        *copies = 0;
        return 1;
    }
    /* A second lost mark, or a lost mark after a copy, says nothing new. */
    if (recs[i].recv_time == 0 || *copies == STORE_MAX_COPIES - 1)
        return 0;
    (*copies)++;
    return 1;
}

/* ---- accounting ---- */

void store_account_init(store_account *a, store_ingest_result *res)
{
    a->res = res;
    owp_owd_ipdv_init(&a->ipdv);
}

void store_account_record(store_account *a, store_hist *h, const store_rec *s, uint8_t copy)
{
    store_ingest_result *res = a->res;
    owp_record r = {s->seq, s->send_err, s->recv_err, s->send_time, s->recv_time, s->ttl};
    res->records++;
    if (res->records == 1)
        res->first = s->send_time;
    res->last = s->send_time;
    if (owp_record_lost(&r)) {
        store_hist_add_lost(h);
        res->sent++;
        res->lost++;
        owp_owd_ipdv_break(&a->ipdv);
        return;
    }
    double d = owp_stats_delay(&r);
    if (copy > 0) {
        store_hist_add_dup(h, d);
        res->dups++;
        return;
    }
    int reordered = (s->flags & REC_FLAG_REORDERED) != 0;
    store_hist_add_first(h, d, s->ttl, reordered);
    res->sent++;
    res->reordered += (uint64_t)reordered;
    double pair;
    if (owp_owd_ipdv_add(&a->ipdv, s->seq, d, &pair))
        store_hist_add_ipdv(h, pair);
}
