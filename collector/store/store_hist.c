/*
 * store_hist.c - log-scaled mergeable delay histograms (see store_hist.h).
 */
#include "store_hist.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "owdstat.h"

#define HIST_VERSION 1
#define HIST_ALPHA 0.01
/* g = (1 + a) / (1 - a) */
#define HIST_GAMMA ((1.0 + HIST_ALPHA) / (1.0 - HIST_ALPHA))

void store_hist_init(store_hist *h)
{
    memset(h, 0, sizeof *h);
    h->lo = STORE_HIST_N;
    h->hi = -1;
    store_hist_clear(h);
}

void store_hist_clear(store_hist *h)
{
    /* Only the slots in use need zeroing: keeps a flush per minute cheap. */
    if (h->lo <= h->hi)
        memset(&h->counts[h->lo], 0, (size_t)(h->hi - h->lo + 1) * sizeof h->counts[0]);
    h->sent = h->lost = h->dups = h->reordered = h->received = 0;
    h->ipdv_count = 0;
    h->ipdv_sum = 0;
    h->min = INFINITY;
    h->max = -INFINITY;
    h->ttl_min = 255;
    h->ttl_max = 0;
    h->lo = STORE_HIST_N;
    h->hi = -1;
}

bool store_hist_is_empty(const store_hist *h) { return h->sent == 0 && h->dups == 0; }

int store_hist_index(double delay)
{
    /* Computed once; threads that race here store the same value, and the
     * atomic makes that race defined. */
    static _Atomic double cached;
    double inv_log_gamma = atomic_load_explicit(&cached, memory_order_relaxed);
    if (inv_log_gamma == 0) {
        inv_log_gamma = 1.0 / log(HIST_GAMMA);
        atomic_store_explicit(&cached, inv_log_gamma, memory_order_relaxed);
    }
    double x = fabs(delay) * 1e6;
    if (!(x >= 1.0))
        return 0; /* also NaN */
    double k = floor(log(x) * inv_log_gamma) + 1;
    int i = k >= STORE_HIST_K ? STORE_HIST_K : (int)k;
    return delay < 0 ? -i : i;
}

double store_hist_value(int index)
{
    if (index == 0)
        return 0;
    int k = index < 0 ? -index : index;
    double v = 2.0 * pow(HIST_GAMMA, k) / (HIST_GAMMA + 1.0) * 1e-6;
    return index < 0 ? -v : v;
}

static void count_slot(store_hist *h, int slot, uint64_t n)
{
    h->counts[slot] += n;
    if (slot < h->lo)
        h->lo = slot;
    if (slot > h->hi)
        h->hi = slot;
}

void store_hist_add_lost(store_hist *h)
{
    h->sent++;
    h->lost++;
}

static void see_delay(store_hist *h, double delay)
{
    if (delay < h->min)
        h->min = delay;
    if (delay > h->max)
        h->max = delay;
}

void store_hist_add_first(store_hist *h, double delay, uint8_t ttl, int reordered)
{
    h->sent++;
    h->received++;
    if (reordered)
        h->reordered++;
    see_delay(h, delay);
    if (ttl < h->ttl_min)
        h->ttl_min = ttl;
    if (ttl > h->ttl_max)
        h->ttl_max = ttl;
    count_slot(h, store_hist_index(delay) + STORE_HIST_K, 1);
}

void store_hist_add_dup(store_hist *h, double delay)
{
    h->dups++;
    see_delay(h, delay);
}

void store_hist_add_ipdv(store_hist *h, double ipdv)
{
    h->ipdv_count++;
    h->ipdv_sum += ipdv;
}

static void merge_scalars(store_hist *dst, const store_hist *src)
{
    dst->sent += src->sent;
    dst->lost += src->lost;
    dst->dups += src->dups;
    dst->reordered += src->reordered;
    dst->received += src->received;
    dst->ipdv_count += src->ipdv_count;
    dst->ipdv_sum += src->ipdv_sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    if (src->ttl_min < dst->ttl_min)
        dst->ttl_min = src->ttl_min;
    if (src->ttl_max > dst->ttl_max)
        dst->ttl_max = src->ttl_max;
}

void store_hist_merge(store_hist *dst, const store_hist *src)
{
    merge_scalars(dst, src);
    for (int s = src->lo; s <= src->hi; s++)
        if (src->counts[s])
            count_slot(dst, s, src->counts[s]);
}

/* ---- encoding ---- */

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static int get_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t b = data[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static size_t put_double(uint8_t *out, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(bits >> (56 - 8 * i));
    return 8;
}

static int get_double(const uint8_t *data, size_t len, size_t *pos, double *d)
{
    if (len - *pos < 8 || *pos > len)
        return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | data[*pos + (size_t)i];
    *pos += 8;
    memcpy(d, &bits, sizeof bits);
    return 0;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

size_t store_hist_encode(const store_hist *h, uint8_t *out)
{
    size_t n = 0;
    out[n++] = HIST_VERSION;
    n += put_varint(out + n, h->sent);
    n += put_varint(out + n, h->lost);
    n += put_varint(out + n, h->dups);
    n += put_varint(out + n, h->reordered);
    n += put_varint(out + n, h->received);
    n += put_varint(out + n, h->ipdv_count);
    n += put_double(out + n, h->ipdv_sum);
    n += put_double(out + n, h->min);
    n += put_double(out + n, h->max);
    out[n++] = h->ttl_min;
    out[n++] = h->ttl_max;
    uint64_t nbuckets = 0;
    for (int s = h->lo; s <= h->hi; s++)
        nbuckets += h->counts[s] != 0;
    n += put_varint(out + n, nbuckets);
    int prev = 0;
    for (int s = h->lo; s <= h->hi; s++) {
        if (!h->counts[s])
            continue;
        n += put_varint(out + n, zigzag(s - prev));
        n += put_varint(out + n, h->counts[s]);
        prev = s;
    }
    return n;
}

owp_status store_hist_merge_encoded(store_hist *h, const uint8_t *data, size_t len)
{
    size_t pos = 0;
    store_hist s = {0};
    uint64_t nbuckets;
    if (len < 1 || data[pos++] != HIST_VERSION)
        return OWP_ERR_FORMAT;
    if (get_varint(data, len, &pos, &s.sent) || get_varint(data, len, &pos, &s.lost) ||
        get_varint(data, len, &pos, &s.dups) || get_varint(data, len, &pos, &s.reordered) ||
        get_varint(data, len, &pos, &s.received) || get_varint(data, len, &pos, &s.ipdv_count) ||
        get_double(data, len, &pos, &s.ipdv_sum) || get_double(data, len, &pos, &s.min) ||
        get_double(data, len, &pos, &s.max) || len - pos < 2)
        return OWP_ERR_FORMAT;
    s.ttl_min = data[pos++];
    s.ttl_max = data[pos++];
    if (get_varint(data, len, &pos, &nbuckets) || nbuckets > STORE_HIST_N)
        return OWP_ERR_FORMAT;
    merge_scalars(h, &s);
    int64_t slot = 0;
    for (uint64_t i = 0; i < nbuckets; i++) {
        uint64_t delta, count;
        if (get_varint(data, len, &pos, &delta) || get_varint(data, len, &pos, &count))
            return OWP_ERR_FORMAT;
        slot += unzigzag(delta);
        if (slot < 0 || slot >= STORE_HIST_N)
            return OWP_ERR_FORMAT;
        count_slot(h, (int)slot, count);
    }
    return pos == len ? OWP_OK : OWP_ERR_FORMAT;
}

bool store_hist_percentile(const store_hist *h, double p, double *v)
{
    size_t i;
    if (h->lo > h->hi ||
        !owp_owd_percentile_bucket(&h->counts[h->lo], (size_t)(h->hi - h->lo + 1), p / 100.0, &i))
        return false;
    double x = store_hist_value(h->lo + (int)i - STORE_HIST_K);
    /* The exact extremes bound every percentile; clamping only brings the
     * value closer to the true one, so the error bound holds. */
    if (x < h->min)
        x = h->min;
    if (x > h->max)
        x = h->max;
    *v = x;
    return true;
}

typedef struct hist_source {
    const store_hist *h;
} hist_source;

static int hist_quantile(void *src, double alpha, double *v)
{
    return store_hist_percentile(((hist_source *)src)->h, alpha * 100.0, v);
}

bool store_hist_jitter(const store_hist *h, double *v)
{
    hist_source src = {h};
    return owp_owd_jitter(hist_quantile, &src, v) != 0;
}

bool store_hist_ipdv(const store_hist *h, double *v)
{
    return owp_owd_ipdv_mean(h->ipdv_count, h->ipdv_sum, v) != 0;
}
