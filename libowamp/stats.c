/*
 * stats.c - session statistics as the reference owamp 5.2.3 computes them
 * (owp-file-format.md sections 6-8), plus the exact percentiles of the
 * human-readable summary (owdstat.h, doc/statistics.md).
 *
 * Memory never follows a count from the file: the loss window is a ring of
 * the packets near its start with a hash map for stray ones (losswin.h), the
 * histogram a hash table holding only what the records put there, the first
 * copies' delays and their buckets arrays of what arrived (12 bytes a
 * packet), and the reordering history grows with the records fed, up to the
 * reference's limit.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "losswin.h"
#include "owdstat.h"
#include "sendsched.h"
#include "u32map.h"
#include "wire.h"

/* ---------------------------------------------------------------- the object */

#define SCHED_BATCH 64

typedef struct bucket {
    int32_t index;
    uint32_t count;
    uint32_t order; /* creation order in the range */
    uint32_t slot;  /* in the reference's table */
} bucket;

struct owp_stats {
    owp_request req;
    owp_skip *skips;
    uint32_t nskips;
    double bucket_width;
    owp_sched *sched;
    uint32_t sched_first, sched_n;           /* the batch: packets [first, first + n) */
    owp_num64 sched_offsets[SCHED_BATCH];    /* their offsets from the start time */

    /* the range */
    uint32_t first, last;
    uint32_t start_index, nfed;
    int have_next;
    uint32_t next_index;

    /* loss window: packets [window.begin, ...) not yet settled */
    owp_losswin window;
    int window_done; /* the last packet of the range has been settled */
    owp_num64 start_time, end_time;

    /* counters */
    uint32_t sent, lost, dups;
    int sync;
    double maxerr;
    uint32_t seen_errests; /* send << 16 | recv error of the last received record ... */
    int have_seen;         /* ... once one has been counted into sync and maxerr */
    double inf_delay, min_delay, max_delay;
    owp_u32map hist;
    uint32_t hist_created; /* buckets created in this range, for their order */
    bucket *sorted;        /* ascending index: the percentiles */
    bucket *printed;       /* the reference's hash-table order: <BUCKETS> */
    uint32_t nsorted;      /* entries of each */
    uint32_t ref_table_size;
    uint32_t received;
    double *delays; /* of the first copies, for the exact percentiles */
    int32_t *bucket_of; /* bucket_of[i]: the histogram bucket of delays[i] */
    size_t delays_cap, bucket_of_cap;
    owp_owd_sample sample; /* the delays, once the range is complete */
    int by_sample;         /* percentiles select among all delays (they no longer pair
                            * with bucket_of: a selection reordered them) */
    uint32_t ttl[256];

    /* j-reordering (reference: a ring of the last rlistlen seqs) */
    uint32_t rlimit;
    uint32_t *rseq, *rn;
    uint32_t rcap, rindex;
    uint32_t rcount; /* records in this range's history */
    uint32_t rtotal; /* records since owp_stats_new: the reference never resets it */
};

/* The reference sizes its packet buffer (and with it the reordering window)
 * as rate x loss timeout x 3.5, at least 10. */
static uint32_t reorder_limit(const owp_request *req)
{
    owp_num64 duration = 0;
    for (uint32_t i = 0; i < req->nslots; i++)
        duration += req->slots[i].value;
    double d = 0.0;
    if (duration > 0) {
        double rate = (double)req->nslots / owp_num64_to_double(duration);
        d = rate * owp_num64_to_double(req->timeout) * 3.5;
    }
    long len = d > 0x7fffffffL ? 0x7fffffffL : (long)d;
    return len < 10 ? 10 : (uint32_t)len;
}

/* The reference prints <BUCKETS> by walking its bucket table, an I2util hash
 * table (I2util 5.2.4 table.c, owamp 5.2.3 stats.c), so tools that compare
 * -M output byte for byte see that order, not ascending buckets:
 *  - size: the largest of I2HashInit's primes not above the size hint (31 at
 *    least); the hint is owamp's blistlen = loss timeout / bucket width,
 *    clamped to [10, 2048], where the loss timeout is the raw 32.32 integer,
 *    not seconds (a reference quirk: in practice always 2048, so 1021);
 *  - key: the bucket index as a 4-byte int; hash: the sum of its bytes
 *    (I2util's hashatom); slot: hash mod size;
 *  - walk: slots 0, 1, 2, ...; within a slot the newest bucket first (a new
 *    binding is pushed onto the front of its chain).
 * The table is emptied before each range (sub-session), so "newest" counts
 * from the start of the range. */
static uint32_t ref_table_size(owp_num64 timeout, double width)
{
    static const uint32_t primes[] = {31,   67,   127,  251,   509,   1021,
                                      2053, 4093, 8191, 16381, 32771, 65521};
    double d = (double)timeout / width;
    long hint = d > 0x7fffffffL ? 0x7fffffffL : (long)d;
    if (hint < 10)
        hint = 10;
    if (hint > 2048)
        hint = 2048;
    size_t i = sizeof primes / sizeof primes[0] - 1;
    while (i > 0 && primes[i] > (unsigned long)hint)
        i--;
    return primes[i];
}

static uint32_t ref_slot(int32_t index, uint32_t size)
{
    uint32_t u = (uint32_t)index;
    uint32_t sum = (u & 0xFFu) + ((u >> 8) & 0xFFu) + ((u >> 16) & 0xFFu) + (u >> 24);
    return sum % size;
}

owp_stats *owp_stats_new(const owp_request *req, const owp_skip *skips, uint32_t nskips,
                         double bucket_width, owp_err *err)
{
    if (!req || !req->slots || req->nslots == 0 || !(bucket_width > 0.0) ||
        (nskips && !skips)) {
        owp_err_set(err, OWP_ERR_INVALID, "owp_stats_new: invalid session or bucket width");
        return NULL;
    }
    owp_stats *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "owp_stats_new: out of memory");
        return NULL;
    }
    if (owp_request_copy(&self->req, req, err) != OWP_OK) {
        free(self);
        return NULL;
    }
    if (nskips) {
        self->skips = malloc(nskips * sizeof *skips);
        if (!self->skips) {
            owp_err_set(err, OWP_ERR_NOMEM, "owp_stats_new: %u skip ranges", nskips);
            owp_stats_destroy(&self);
            return NULL;
        }
        memcpy(self->skips, skips, nskips * sizeof *skips);
        self->nskips = nskips;
    }
    self->bucket_width = bucket_width;
    self->ref_table_size = ref_table_size(req->timeout, bucket_width);
    self->rlimit = reorder_limit(req);
    self->sched = owp_sched_new(req->sid, self->req.slots, req->nslots, err);
    if (!self->sched) {
        owp_stats_destroy(&self);
        return NULL;
    }
    return self;
}

void owp_stats_destroy(owp_stats **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_stats *self = *self_p;
    owp_sched_destroy(&self->sched);
    owp_request_clear(&self->req);
    free(self->skips);
    owp_losswin_free(&self->window);
    owp_u32map_free(&self->hist);
    free(self->sorted);
    free(self->printed);
    free(self->delays);
    free(self->bucket_of);
    free(self->rseq);
    free(self->rn);
    free(self);
    *self_p = NULL;
}

/* Scheduled send time of packet seq. The aging loop asks for every packet
 * in turn (and for the same one again and again), so the times come in
 * batches from one schedule walk. */
static owp_num64 sched_time(owp_stats *self, uint32_t seq)
{
    if ((uint64_t)seq - self->sched_first >= self->sched_n) {
        self->sched_n = owp_sched_offsets(self->sched, seq, SCHED_BATCH, self->sched_offsets);
        self->sched_first = seq;
    }
    return self->req.start_time + self->sched_offsets[seq - self->sched_first];
}

owp_status owp_stats_begin(owp_stats *self, uint32_t first, uint32_t last, uint32_t start_index,
                           owp_err *err)
{
    if (last == UINT32_MAX)
        last = self->req.npackets;
    if (first > last || last > self->req.npackets)
        return owp_err_set(err, OWP_ERR_INVALID, "invalid sample range [%u,%u)", first, last);
    self->first = first;
    self->last = last;
    self->start_index = start_index;
    self->nfed = 0;
    self->have_next = 0;
    self->next_index = 0;

    self->window_done = 0;
    owp_losswin_reset(&self->window, first);
    self->start_time = self->end_time = sched_time(self, first);

    self->sent = self->lost = self->dups = 0;
    self->sync = 1;
    self->maxerr = 0.0;
    self->have_seen = 0;
    /* The reference's "infinity": loss timeout + 1 (in 32.32 units) as seconds. */
    self->inf_delay = owp_num64_to_double(self->req.timeout + 1);
    self->min_delay = self->inf_delay;
    self->max_delay = -self->inf_delay;
    owp_u32map_clear(&self->hist);
    self->hist_created = 0;
    free(self->sorted);
    free(self->printed);
    self->sorted = self->printed = NULL;
    self->nsorted = 0;
    self->received = 0;
    owp_owd_sample_init(&self->sample, NULL, 0);
    self->by_sample = 0;
    memset(self->ttl, 0, sizeof self->ttl);

    /* The reference clears its history per range but keeps counting the
     * denominator (rnumseqno) across the -N sub-sessions of a file. */
    self->rindex = self->rcount = 0;
    if (self->rn)
        memset(self->rn, 0, self->rcap * sizeof *self->rn);
    return OWP_OK;
}

static int in_skip_range(const owp_stats *self, uint32_t seq)
{
    for (uint32_t i = 0; i < self->nskips; i++)
        if (seq >= self->skips[i].first && seq <= self->skips[i].last)
            return 1;
    return 0;
}

/* Count a settled packet: lost, or its duplicates. */
static void settle_state(owp_stats *self, uint32_t seq, uint32_t state)
{
    if (!state || in_skip_range(self, seq))
        return;
    if (state == OWP_LOSSWIN_LOST)
        self->lost++;
    else
        self->dups += state - 1;
}

static void settle_left(uint32_t seq, uint32_t state, void *arg)
{
    settle_state(arg, seq, state);
}

/* Settle the window's oldest packet and move on. Fails once the last packet
 * of the range has been settled: the reference cannot flush past the end of
 * its range. */
static owp_status settle_one(owp_stats *self, owp_err *err)
{
    if (self->window_done)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "records reach beyond the loss window of the last packet (seq %u)",
                           self->last ? self->last - 1 : 0);
    uint32_t seq = self->window.begin;
    int advance = (uint64_t)seq + 1 < self->last;
    settle_state(self, seq, owp_losswin_pop(&self->window, advance));
    if (!advance)
        self->window_done = 1;
    return OWP_OK;
}

static void reorder_add(owp_stats *self, uint32_t seq)
{
    uint32_t have = self->rcount < self->rlimit ? self->rcount : self->rlimit;
    /* Until the history reaches the limit it is a plain array (no wrap). */
    for (uint32_t i = 0; i < have; i++) {
        uint32_t idx = self->rindex >= i + 1 ? self->rindex - i - 1
                                             : self->rindex + self->rlimit - i - 1;
        if (!(seq < self->rseq[idx]))
            break;
        self->rn[i]++;
    }
    if (self->rindex >= self->rcap) {
        uint32_t ncap = self->rcap ? self->rcap * 2 : 64;
        if (ncap > self->rlimit)
            ncap = self->rlimit;
        uint32_t *ns = realloc(self->rseq, ncap * sizeof *ns);
        if (!ns)
            return; /* out of memory: this record stays out of the history */
        self->rseq = ns;
        uint32_t *nn = realloc(self->rn, ncap * sizeof *nn);
        if (!nn)
            return;
        memset(nn + self->rcap, 0, (ncap - self->rcap) * sizeof *nn);
        self->rn = nn;
        self->rcap = ncap;
    }
    self->rseq[self->rindex] = seq;
    self->rcount++;
    self->rtotal++;
    if (++self->rindex == self->rlimit) /* the ring wraps (no division per record) */
        self->rindex = 0;
}

double owp_stats_delay(const owp_record *r)
{
    return owp_num64_to_double(r->recv_time) - owp_num64_to_double(r->send_time);
}

int32_t owp_stats_bucket_index(double delay, double width)
{
    double d = delay / width;
    d = d < 0 ? floor(d) : ceil(d);
    if (d > INT32_MAX)
        return INT32_MAX;
    if (d < -INT32_MAX)
        return -INT32_MAX;
    return (int32_t)d;
}

/* delays[received] = d, in bucket b. */
static int keep_delay(owp_stats *self, double d, int32_t b)
{
    if (owp_grow(&self->delays, self->received, &self->delays_cap, sizeof *self->delays, 256) != 0 ||
        owp_grow(&self->bucket_of, self->received, &self->bucket_of_cap, sizeof *self->bucket_of,
                 256) != 0)
        return -1;
    self->delays[self->received] = d;
    self->bucket_of[self->received] = b;
    return 0;
}

static owp_status add_lost(owp_stats *self, const owp_record *r, uint32_t *state, owp_err *err)
{
    if (*state && *state != OWP_LOSSWIN_LOST)
        return owp_err_set(err, OWP_ERR_FORMAT, "lost record for seq %u, which arrived", r->seq);
    *state = OWP_LOSSWIN_LOST; /* a second lost record counts as sent again, as in the reference */
    self->sent++;
    if (!owp_errest_synchronized(r->recv_err))
        self->sync = 0;
    double e = owp_errest_seconds(r->recv_err);
    if (e > self->maxerr)
        self->maxerr = e;
    return OWP_OK;
}

/* SYNC and MAXERR of a received record. A clock's estimates change seldom:
 * the same pair as the last record's changes nothing. */
static void count_errests(owp_stats *self, const owp_record *r)
{
    uint32_t pair = (uint32_t)r->send_err << 16 | r->recv_err;
    if (self->have_seen && pair == self->seen_errests)
        return;
    self->seen_errests = pair;
    self->have_seen = 1;
    if (!owp_errest_synchronized(r->send_err) || !owp_errest_synchronized(r->recv_err))
        self->sync = 0;
    double e = owp_errest_seconds(r->send_err) + owp_errest_seconds(r->recv_err);
    if (e > self->maxerr)
        self->maxerr = e;
}

static owp_status add_received(owp_stats *self, const owp_record *r, uint32_t *state,
                               owp_err *err)
{
    if (*state == OWP_LOSSWIN_LOST)
        return owp_err_set(err, OWP_ERR_FORMAT, "seq %u arrived after its lost record", r->seq);
    if (*state == OWP_LOSSWIN_MAX_COPIES)
        return owp_err_set(err, OWP_ERR_FORMAT, "seq %u: more than %u copies", r->seq,
                           OWP_LOSSWIN_MAX_COPIES);
    if (!*state)
        self->sent++;
    int first_copy = ++*state == 1;

    reorder_add(self, r->seq);
    count_errests(self, r);

    double d = owp_stats_delay(r);
    if (d < self->min_delay)
        self->min_delay = d;
    if (d > self->max_delay)
        self->max_delay = d;
    if (!first_copy)
        return OWP_OK;

    int32_t index = owp_stats_bucket_index(d, self->bucket_width);
    owp_u32map_entry *b = owp_u32map_get(&self->hist, (uint32_t)index);
    if (!b)
        return owp_err_set(err, OWP_ERR_NOMEM, "histogram: out of memory");
    if (b->count++ == 0)
        b->order = self->hist_created++;
    if (keep_delay(self, d, index) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "first-copy delays: out of memory");
    self->received++;
    self->ttl[r->ttl]++;
    return OWP_OK;
}

owp_status owp_stats_add(owp_stats *self, const owp_record *r, owp_stats_event *event,
                         owp_err *err)
{
    owp_stats_event ignored;
    if (!event)
        event = &ignored;
    *event = OWP_STATS_IGNORED;

    if (!self->have_next && r->seq >= self->last) {
        self->have_next = 1;
        self->next_index = self->start_index + self->nfed;
    }
    self->nfed++;
    if (r->seq < self->first || r->seq >= self->last)
        return OWP_OK;

    /* Age the loss window before looking at this packet. */
    owp_status st = OWP_OK;
    if (owp_record_lost(r)) {
        while (st == OWP_OK && self->window.begin < r->seq && !self->window_done)
            st = settle_one(self, err);
    } else {
        owp_num64 thresh = r->recv_time - self->req.timeout; /* wraps as the reference's */
        while (st == OWP_OK && sched_time(self, self->window.begin) < thresh)
            st = settle_one(self, err);
    }
    if (st != OWP_OK)
        return st;
    if (r->seq < self->window.begin || self->window_done)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "seq %u seen again after it left the loss window", r->seq);

    uint32_t *state = owp_losswin_state(&self->window, r->seq);
    if (!state)
        return owp_err_set(err, OWP_ERR_NOMEM, "loss window: out of memory");
    if (in_skip_range(self, r->seq))
        return OWP_OK;

    if (owp_record_lost(r)) {
        st = add_lost(self, r, state, err);
        if (st == OWP_OK)
            *event = OWP_STATS_LOST;
        return st;
    }
    st = add_received(self, r, state, err);
    if (st == OWP_OK)
        *event = OWP_STATS_RECEIVED;
    return st;
}

static int bucket_cmp(const void *a, const void *b)
{
    int32_t x = ((const bucket *)a)->index, y = ((const bucket *)b)->index;
    return (x > y) - (x < y);
}

static int bucket_ref_cmp(const void *a, const void *b)
{
    const bucket *x = a, *y = b;
    if (x->slot != y->slot)
        return (x->slot > y->slot) - (x->slot < y->slot);
    return (x->order < y->order) - (x->order > y->order); /* newest first */
}

/* The histogram twice: ascending (percentiles) and in the reference's order. */
static owp_status order_buckets(owp_stats *self, owp_err *err)
{
    uint32_t n = (uint32_t)self->hist.n;
    self->nsorted = n;
    if (!n)
        return OWP_OK;
    self->sorted = malloc(n * sizeof *self->sorted);
    self->printed = malloc(n * sizeof *self->printed);
    if (!self->sorted || !self->printed)
        return owp_err_set(err, OWP_ERR_NOMEM, "owp_stats_end: out of memory");
    uint32_t k = 0;
    for (size_t i = 0; i < self->hist.cap; i++) {
        const owp_u32map_entry *e = &self->hist.slots[i];
        if (e->used)
            self->sorted[k++] = (bucket){(int32_t)e->key, e->count, e->order,
                                         ref_slot((int32_t)e->key, self->ref_table_size)};
    }
    memcpy(self->printed, self->sorted, n * sizeof *self->printed);
    qsort(self->sorted, n, sizeof *self->sorted, bucket_cmp);
    qsort(self->printed, n, sizeof *self->printed, bucket_ref_cmp);
    return OWP_OK;
}

owp_status owp_stats_end(owp_stats *self, owp_err *err)
{
    /* Settle what is left, then the schedule's last packet (whose time is
     * END_TIME). */
    owp_losswin_each(&self->window, settle_left, self);
    uint32_t last_seq = self->last > self->first ? self->last - 1 : self->first;
    owp_losswin_reset(&self->window, last_seq);
    self->end_time = sched_time(self, last_seq);
    owp_owd_sample_init(&self->sample, self->delays, self->received);
    self->by_sample = 0;
    self->window_done = 1;

    return order_buckets(self, err);
}

/* ---------------------------------------------------------------- results */

uint32_t owp_stats_first(const owp_stats *self) { return self->first; }
uint32_t owp_stats_last(const owp_stats *self) { return self->last; }
uint32_t owp_stats_sent(const owp_stats *self) { return self->sent; }
uint32_t owp_stats_lost(const owp_stats *self) { return self->lost; }
uint32_t owp_stats_dups(const owp_stats *self) { return self->dups; }
uint32_t owp_stats_received(const owp_stats *self) { return self->received; }
int owp_stats_sync(const owp_stats *self) { return self->sync; }
double owp_stats_maxerr(const owp_stats *self) { return self->maxerr; }
owp_num64 owp_stats_start_time(const owp_stats *self) { return self->start_time; }
owp_num64 owp_stats_end_time(const owp_stats *self) { return self->end_time; }
double owp_stats_bucket_width(const owp_stats *self) { return self->bucket_width; }

int owp_stats_min(const owp_stats *self, double *v)
{
    if (!(self->min_delay < self->inf_delay))
        return 0;
    *v = self->min_delay;
    return 1;
}

int owp_stats_max(const owp_stats *self, double *v)
{
    if (!(self->max_delay > -self->inf_delay))
        return 0;
    *v = self->max_delay;
    return 1;
}

/* First bucket whose cumulative count reaches target; -1 if none does. */
static long bucket_reaching(const owp_stats *self, double target)
{
    double sum = 0;
    for (uint32_t i = 0; i < self->nsorted; i++) {
        if (!(self->sorted[i].count + sum < target))
            return (long)i;
        sum += self->sorted[i].count;
    }
    return -1;
}

int owp_stats_percentile_ref(const owp_stats *self, double alpha, double *v)
{
    long i = bucket_reaching(self, alpha * self->sent);
    if (i < 0)
        return 0;
    *v = self->sorted[i].index * self->bucket_width;
    return 1;
}

/* The first copies' delays that bucket b holds, into out (room for the
 * bucket's count + 1: every delay is written, the count moves past those in
 * b, so the loop has no branch to mispredict); returns how many. */
static size_t delays_in_bucket(const owp_stats *self, int32_t b, size_t count, double *out)
{
    size_t n = 0;
    for (uint32_t i = 0; i < self->received && n < count; i++) {
        out[n] = self->delays[i];
        n += self->bucket_of[i] == b;
    }
    return n;
}

/* The exact percentile without selecting among all the delays: the
 * histogram says which bucket holds the rank and how many delays lie below
 * it; the rank within the bucket is selected among that bucket's delays. */
/* The rank-th smallest delay (1-based) from the histogram and the delays of
 * the bucket holding it; 0 when that cannot be done (no memory, or no
 * histogram yet). */
static int select_in_bucket(const owp_stats *self, uint64_t rank, double *v)
{
    uint64_t below = 0;
    uint32_t i = 0;
    while (i < self->nsorted && below + self->sorted[i].count < rank)
        below += self->sorted[i++].count;
    uint32_t count = i < self->nsorted ? self->sorted[i].count : 0;
    double *in_bucket = count ? malloc((count + 1) * sizeof *in_bucket) : NULL;
    int ok = in_bucket &&
             delays_in_bucket(self, self->sorted[i].index, count, in_bucket) == count &&
             owp_owd_select(in_bucket, count, rank - below, v);
    free(in_bucket);
    return ok;
}

int owp_stats_percentile(owp_stats *self, double alpha, double *v)
{
    uint64_t rank = owp_owd_rank(alpha, self->received);
    if (rank == 0)
        return 0;
    if (!self->by_sample && select_in_bucket(self, rank, v))
        return 1;
    self->by_sample = 1; /* from here on the delays may be reordered */
    return owp_owd_sample_percentile(&self->sample, alpha, v);
}

typedef struct ref_source {
    const owp_stats *stats;
} ref_source;

static int ref_quantile(void *src, double alpha, double *v)
{
    return owp_stats_percentile_ref(((ref_source *)src)->stats, alpha, v);
}

/* The reference's PDV: the same P95 - P50, of its bucket-edge percentiles. */
int owp_stats_jitter_ref(const owp_stats *self, double *v)
{
    ref_source src = {self};
    return owp_owd_jitter(ref_quantile, &src, v);
}

static int exact_quantile(void *self, double alpha, double *v)
{
    return owp_stats_percentile(self, alpha, v);
}

int owp_stats_jitter(owp_stats *self, double *v)
{
    return owp_owd_jitter(exact_quantile, self, v);
}

uint32_t owp_stats_nbuckets(const owp_stats *self) { return self->nsorted; }

static void bucket_at(const bucket *list, uint32_t n, uint32_t i, int32_t *index, uint32_t *count)
{
    if (i >= n) {
        *index = 0;
        *count = 0;
        return;
    }
    *index = list[i].index;
    *count = list[i].count;
}

void owp_stats_bucket(const owp_stats *self, uint32_t i, int32_t *index, uint32_t *count)
{
    bucket_at(self->sorted, self->nsorted, i, index, count);
}

void owp_stats_bucket_ref_order(const owp_stats *self, uint32_t i, int32_t *index,
                                uint32_t *count)
{
    bucket_at(self->printed, self->nsorted, i, index, count);
}

uint32_t owp_stats_ttl_count(const owp_stats *self, uint8_t ttl) { return self->ttl[ttl]; }

unsigned owp_stats_ttl_values(const owp_stats *self, uint8_t *min_ttl, uint8_t *max_ttl)
{
    unsigned n = 0;
    *min_ttl = 255;
    *max_ttl = 0;
    for (unsigned i = 0; i < 256; i++) {
        if (!self->ttl[i])
            continue;
        n++;
        if (i < *min_ttl)
            *min_ttl = (uint8_t)i;
        if (i > *max_ttl)
            *max_ttl = (uint8_t)i;
    }
    return n;
}

uint32_t owp_stats_reorder(const owp_stats *self, uint32_t j)
{
    if (j < 1 || j > self->rcap)
        return 0;
    return self->rn[j - 1];
}

uint32_t owp_stats_reorder_limit(const owp_stats *self) { return self->rlimit; }
uint32_t owp_stats_reorder_total(const owp_stats *self) { return self->rtotal; }
uint32_t owp_stats_next_index(const owp_stats *self)
{
    return self->have_next ? self->next_index : 0;
}
