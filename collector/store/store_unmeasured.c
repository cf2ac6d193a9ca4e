/*
 * store_unmeasured.c - unmeasured time of paths over a period, per reason,
 * from whichever backend holds the intervals (store_unmeasured_list).
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sum_ctx {
    store_unmeasured_totals *sum;
    owp_num64 from, to;
    owp_num64 covered; /* this path's time is counted up to here */
    owp_num64 *units;  /* per reason, OWAMP units */
} sum_ctx;

static size_t reason_slot(store_unmeasured_totals *sum, const char *reason)
{
    for (size_t i = 0; i < sum->nreasons; i++)
        if (!strcmp(sum->r[i].reason, reason))
            return i;
    if (sum->nreasons == STORE_MAX_REASONS) {
        snprintf(sum->r[STORE_MAX_REASONS - 1].reason, sizeof sum->r[0].reason, "other");
        return STORE_MAX_REASONS - 1;
    }
    snprintf(sum->r[sum->nreasons].reason, sizeof sum->r[0].reason, "%s", reason);
    return sum->nreasons++;
}

/* Intervals arrive in start order, so time before `covered` was counted. */
static int add_interval(const store_unmeasured *u, void *arg)
{
    sum_ctx *ctx = arg;
    owp_num64 a = u->start, b = u->end < ctx->to ? u->end : ctx->to;
    if (a < ctx->covered)
        a = ctx->covered;
    if (b <= a)
        return 0;
    ctx->units[reason_slot(ctx->sum, u->reason)] += b - a;
    ctx->covered = b;
    return 0;
}

/* Most seconds first (the main reason first), then by name: a stable order. */
static int by_seconds_desc(const void *a, const void *b)
{
    const store_unmeasured_reason_total *x = a, *y = b;
    if (x->seconds != y->seconds)
        return x->seconds < y->seconds ? 1 : -1;
    return strcmp(x->reason, y->reason);
}

owp_status store_unmeasured_sum(store_db *self, const uint32_t *paths, size_t npaths,
                                owp_num64 from, owp_num64 to, store_unmeasured_totals *sum,
                                owp_err *err)
{
    memset(sum, 0, sizeof *sum);
    if (from >= to)
        return owp_err_set(err, OWP_ERR_INVALID, "store: empty period");
    owp_num64 units[STORE_MAX_REASONS] = {0};
    owp_status st = OWP_OK;
    for (size_t i = 0; i < npaths && !st; i++) {
        sum_ctx ctx = {sum, from, to, from, units};
        st = store_unmeasured_list(self, paths[i], from, to, add_interval, &ctx, err);
    }
    for (size_t i = 0; i < sum->nreasons; i++) {
        sum->r[i].seconds = owp_num64_to_double(units[i]);
        sum->total += sum->r[i].seconds;
    }
    qsort(sum->r, sum->nreasons, sizeof sum->r[0], by_seconds_desc);
    return st;
}
