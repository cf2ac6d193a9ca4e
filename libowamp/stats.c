/*
 * stats.c - session statistics as the reference owamp 5.2.3 computes them
 * (owp-file-format.md sections 6-8), plus the exact percentiles of the
 * human-readable summary (owdstat.h, doc/statistics.md).
 *
 * Memory never follows a count from the file: the loss window and the
 * histogram are hash tables holding only what the records put there, the
 * first copies' delays an array of what arrived (8 bytes a packet), and the
 * reordering history grows with the records fed, up to the reference's limit.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "owdstat.h"
#include "sendsched.h"
#include "wire.h"

/* ---------------------------------------------------------------- u32 map */

/* Open addressing, linear probing, backward-shift deletion. */
typedef struct map_entry {
    uint32_t key;
    uint32_t count; /* seen copies (window) or samples (histogram) */
    uint32_t order; /* histogram: when the bucket was created (0, 1, ...) */
    uint8_t lost;
    uint8_t used;
} map_entry;

typedef struct u32map {
    map_entry *slots;
    size_t cap; /* power of two */
    size_t n;
} u32map;

static size_t map_hash(uint32_t key, size_t cap)
{
    return (size_t)((key * 2654435761u) ^ (key >> 16)) & (cap - 1);
}

static void map_clear(u32map *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

static void map_free(u32map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int map_grow(u32map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    map_entry *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        size_t j = map_hash(m->slots[i].key, ncap);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

static map_entry *map_find(const u32map *m, uint32_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t j = map_hash(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
        if (!m->slots[j].used)
            return NULL;
        if (m->slots[j].key == key)
            return &m->slots[j];
    }
}

static map_entry *map_get(u32map *m, uint32_t key)
{
    map_entry *e = map_find(m, key);
    if (e)
        return e;
    if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
        return NULL;
    size_t j = map_hash(key, m->cap);
    while (m->slots[j].used)
        j = (j + 1) & (m->cap - 1);
    m->slots[j] = (map_entry){.key = key, .used = 1};
    m->n++;
    return &m->slots[j];
}

static void map_remove(u32map *m, map_entry *e)
{
    size_t i = (size_t)(e - m->slots);
    m->slots[i].used = 0;
    m->n--;
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].used; j = (j + 1) & (m->cap - 1)) {
        size_t home = map_hash(m->slots[j].key, m->cap);
        /* Move j back into the hole at i unless its home lies cyclically in (i, j]. */
        int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j].used = 0;
            i = j;
        }
    }
}

/* ---------------------------------------------------------------- the object */

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
    int sched_valid;
    uint32_t sched_seq;
    owp_num64 sched_val;

    /* the range */
    uint32_t first, last;
    uint32_t start_index, nfed;
    int have_next;
    uint32_t next_index;

    /* loss window: packets [wbegin, ...) not yet settled */
    uint32_t wbegin;
    int window_done; /* the last packet of the range has been settled */
    u32map window;
    owp_num64 start_time, end_time;

    /* counters */
    uint32_t sent, lost, dups;
    int sync;
    double maxerr;
    double inf_delay, min_delay, max_delay;
    u32map hist;
    uint32_t hist_created; /* buckets created in this range, for their order */
    bucket *sorted;        /* ascending index: the percentiles */
    bucket *printed;       /* the reference's hash-table order: <BUCKETS> */
    uint32_t nsorted;      /* entries of each */
    uint32_t ref_table_size;
    uint32_t received;
    double *delays; /* of the first copies, for the exact percentiles */
    size_t delays_cap;
    owp_owd_sample sample; /* the delays, once the range is complete */
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
    map_free(&self->window);
    map_free(&self->hist);
    free(self->sorted);
    free(self->printed);
    free(self->delays);
    free(self->rseq);
    free(self->rn);
    free(self);
    *self_p = NULL;
}

/* Scheduled send time of packet seq; cached because the aging loop asks for
 * the same packet again and again. */
static owp_num64 sched_time(owp_stats *self, uint32_t seq)
{
    if (!self->sched_valid || self->sched_seq != seq) {
        self->sched_val = self->req.start_time + owp_sched_offset(self->sched, seq);
        self->sched_seq = seq;
        self->sched_valid = 1;
    }
    return self->sched_val;
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

    self->wbegin = first;
    self->window_done = 0;
    map_clear(&self->window);
    self->start_time = self->end_time = sched_time(self, first);

    self->sent = self->lost = self->dups = 0;
    self->sync = 1;
    self->maxerr = 0.0;
    /* The reference's "infinity": loss timeout + 1 (in 32.32 units) as seconds. */
    self->inf_delay = owp_num64_to_double(self->req.timeout + 1);
    self->min_delay = self->inf_delay;
    self->max_delay = -self->inf_delay;
    map_clear(&self->hist);
    self->hist_created = 0;
    free(self->sorted);
    free(self->printed);
    self->sorted = self->printed = NULL;
    self->nsorted = 0;
    self->received = 0;
    owp_owd_sample_init(&self->sample, NULL, 0);
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

/* Settle packet wbegin (count it lost or its duplicates) and move on. Fails
 * once the last packet of the range has been settled: the reference cannot
 * flush past the end of its range. */
static owp_status settle_one(owp_stats *self, owp_err *err)
{
    if (self->window_done)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "records reach beyond the loss window of the last packet (seq %u)",
                           self->last ? self->last - 1 : 0);
    uint32_t seq = self->wbegin;
    map_entry *e = map_find(&self->window, seq);
    if (e) {
        if (!in_skip_range(self, seq)) {
            if (e->lost)
                self->lost++;
            else if (e->count)
                self->dups += e->count - 1;
        }
        map_remove(&self->window, e);
    }
    if ((uint64_t)seq + 1 < self->last)
        self->wbegin = seq + 1;
    else
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
    self->rindex = (self->rindex + 1) % self->rlimit;
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

/* delays[received] = d. */
static int keep_delay(owp_stats *self, double d)
{
    if (owp_grow(&self->delays, self->received, &self->delays_cap, sizeof *self->delays, 256) != 0)
        return -1;
    self->delays[self->received] = d;
    return 0;
}

static owp_status add_lost(owp_stats *self, const owp_record *r, map_entry *node, owp_err *err)
{
    if (node->count)
        return owp_err_set(err, OWP_ERR_FORMAT, "lost record for seq %u, which arrived", r->seq);
    node->lost = 1;
    self->sent++;
    if (!owp_errest_synchronized(r->recv_err))
        self->sync = 0;
    double e = owp_errest_seconds(r->recv_err);
    if (e > self->maxerr)
        self->maxerr = e;
    return OWP_OK;
}

static owp_status add_received(owp_stats *self, const owp_record *r, map_entry *node,
                               owp_err *err)
{
    if (node->lost)
        return owp_err_set(err, OWP_ERR_FORMAT, "seq %u arrived after its lost record", r->seq);
    if (!node->count)
        self->sent++;
    node->count++;
    int first_copy = node->count == 1;

    reorder_add(self, r->seq);
    if (!owp_errest_synchronized(r->send_err) || !owp_errest_synchronized(r->recv_err))
        self->sync = 0;
    double e = owp_errest_seconds(r->send_err) + owp_errest_seconds(r->recv_err);
    if (e > self->maxerr)
        self->maxerr = e;

    double d = owp_stats_delay(r);
    if (d < self->min_delay)
        self->min_delay = d;
    if (d > self->max_delay)
        self->max_delay = d;
    if (!first_copy)
        return OWP_OK;

    map_entry *b =
        map_get(&self->hist, (uint32_t)owp_stats_bucket_index(d, self->bucket_width));
    if (!b)
        return owp_err_set(err, OWP_ERR_NOMEM, "histogram: out of memory");
    if (b->count++ == 0)
        b->order = self->hist_created++;
    if (keep_delay(self, d) != 0)
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
        while (st == OWP_OK && self->wbegin < r->seq && !self->window_done)
            st = settle_one(self, err);
    } else {
        owp_num64 thresh = r->recv_time - self->req.timeout; /* wraps as the reference's */
        while (st == OWP_OK && sched_time(self, self->wbegin) < thresh)
            st = settle_one(self, err);
    }
    if (st != OWP_OK)
        return st;
    if (r->seq < self->wbegin || self->window_done)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "seq %u seen again after it left the loss window", r->seq);

    map_entry *node = map_get(&self->window, r->seq);
    if (!node)
        return owp_err_set(err, OWP_ERR_NOMEM, "loss window: out of memory");
    if (in_skip_range(self, r->seq))
        return OWP_OK;

    if (owp_record_lost(r)) {
        st = add_lost(self, r, node, err);
        if (st == OWP_OK)
            *event = OWP_STATS_LOST;
        return st;
    }
    st = add_received(self, r, node, err);
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
        const map_entry *e = &self->hist.slots[i];
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
    /* Settle what is left: the recorded packets in seq order, then the
     * schedule's last packet (whose time is END_TIME). */
    uint32_t n = (uint32_t)self->window.n, k = 0;
    uint32_t *seqs = n ? malloc(n * sizeof *seqs) : NULL;
    if (n && !seqs)
        return owp_err_set(err, OWP_ERR_NOMEM, "owp_stats_end: out of memory");
    for (size_t i = 0; i < self->window.cap; i++)
        if (self->window.slots[i].used)
            seqs[k++] = self->window.slots[i].key;
    for (uint32_t i = 0; i < k; i++) {
        map_entry *e = map_find(&self->window, seqs[i]);
        if (e && !in_skip_range(self, seqs[i])) {
            if (e->lost)
                self->lost++;
            else if (e->count)
                self->dups += e->count - 1;
        }
    }
    free(seqs);
    map_clear(&self->window);
    uint32_t last_seq = self->last > self->first ? self->last - 1 : self->first;
    self->end_time = sched_time(self, last_seq);
    owp_owd_sample_init(&self->sample, self->delays, self->received);
    self->wbegin = last_seq;
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

int owp_stats_percentile(owp_stats *self, double alpha, double *v)
{
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

int owp_stats_jitter(owp_stats *self, double *v)
{
    return owp_owd_sample_jitter(&self->sample, v);
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
