/*
 * losswin.c - the statistics' loss window: a ring for the packets near its
 * start, a hash map for stray ones far ahead (see losswin.h).
 */
#include "losswin.h"

#include <stdlib.h>
#include <string.h>

/* The ring covers what a loss timeout holds at any real rate (10 s at
 * 10 000 packets/s is 100 000 packets) at 4 bytes a packet; farther
 * sequence numbers go to the map. */
#define RING_MIN 256u
#define RING_MAX (1u << 20)

void owp_losswin_reset(owp_losswin *w, uint32_t begin)
{
    w->begin = begin;
    if (w->ring)
        memset(w->ring, 0, w->cap * sizeof *w->ring);
    owp_u32map_clear(&w->far);
}

void owp_losswin_free(owp_losswin *w)
{
    free(w->ring);
    owp_u32map_free(&w->far);
    memset(w, 0, sizeof *w);
}

static int in_ring(const owp_losswin *w, uint32_t seq)
{
    return (uint64_t)seq - w->begin < w->cap;
}

/* Move the far packets the ring now covers into it; the rest stay. */
static int pull_far(owp_losswin *w)
{
    if (!w->far.n)
        return 0;
    owp_u32map keep = {0};
    for (size_t i = 0; i < w->far.cap; i++) {
        const owp_u32map_entry *e = &w->far.slots[i];
        if (!e->used)
            continue;
        if (in_ring(w, e->key)) {
            w->ring[e->key & (w->cap - 1)] = e->count;
            continue;
        }
        owp_u32map_entry *k = owp_u32map_get(&keep, e->key);
        if (!k) {
            owp_u32map_free(&keep);
            return -1;
        }
        k->count = e->count;
    }
    owp_u32map_free(&w->far);
    w->far = keep;
    return 0;
}

/* A ring of cap >= span packets from begin. */
static int grow_ring(owp_losswin *w, uint64_t span)
{
    uint32_t ncap = w->cap ? w->cap : RING_MIN;
    while (ncap < span)
        ncap *= 2;
    uint32_t *nring = calloc(ncap, sizeof *nring);
    if (!nring)
        return -1;
    /* cap consecutive seqs fall in distinct slots of any larger power of two. */
    for (uint32_t i = 0; i < w->cap; i++) {
        uint32_t seq = w->begin + i; /* wraps only over slots that stayed 0 */
        nring[seq & (ncap - 1)] = w->ring[seq & (w->cap - 1)];
    }
    free(w->ring);
    w->ring = nring;
    w->cap = ncap;
    return pull_far(w);
}

uint32_t *owp_losswin_state_slow(owp_losswin *w, uint32_t seq)
{
    uint64_t span = (uint64_t)seq - w->begin + 1;
    if (span > w->cap && span <= RING_MAX && grow_ring(w, span) != 0)
        return NULL;
    if (in_ring(w, seq))
        return &w->ring[seq & (w->cap - 1)];
    owp_u32map_entry *e = owp_u32map_get(&w->far, seq);
    return e ? &e->count : NULL;
}

uint32_t owp_losswin_pop_slow(owp_losswin *w, int advance)
{
    uint32_t state = 0;
    if (w->cap) {
        uint32_t *slot = &w->ring[w->begin & (w->cap - 1)];
        state = *slot;
        *slot = 0;
    } else {
        owp_u32map_entry *e = owp_u32map_find(&w->far, w->begin);
        if (e) {
            state = e->count;
            owp_u32map_remove(&w->far, e);
        }
    }
    if (!advance)
        return state;
    w->begin++;
    /* The seq that just came into the ring's reach may be waiting far. */
    uint64_t entering = (uint64_t)w->begin + w->cap - 1;
    if (w->cap && w->far.n && entering <= UINT32_MAX) {
        owp_u32map_entry *e = owp_u32map_find(&w->far, (uint32_t)entering);
        if (e) {
            w->ring[(uint32_t)entering & (w->cap - 1)] = e->count;
            owp_u32map_remove(&w->far, e);
        }
    }
    return state;
}

void owp_losswin_each(const owp_losswin *w, owp_losswin_fn fn, void *arg)
{
    for (uint32_t i = 0; i < w->cap && (uint64_t)w->begin + i <= UINT32_MAX; i++) {
        uint32_t seq = w->begin + i;
        uint32_t state = w->ring[seq & (w->cap - 1)];
        if (state)
            fn(seq, state, arg);
    }
    for (size_t i = 0; i < w->far.cap; i++)
        if (w->far.slots[i].used && w->far.slots[i].count)
            fn(w->far.slots[i].key, w->far.slots[i].count, arg);
}
