/*
 * losswin.h - the loss window of the statistics (stats.c): for each packet
 * from the oldest unsettled one on, the copies seen so far or its lost mark.
 *
 * Packets near the window's start live in a ring indexed by sequence number
 * (an array access per record, where a hash map cost a lookup and a delete
 * per packet); a packet too far ahead for the ring (a stray sequence number
 * in a damaged file) waits in a hash map until the window reaches it, so
 * memory follows the records, never a sequence number's value. Internal to
 * libowamp.
 */
#ifndef OWP_LOSSWIN_H
#define OWP_LOSSWIN_H

#include <stdint.h>

#include "u32map.h"

/* A packet's state: 0 (nothing seen), its number of copies, or lost. */
#define OWP_LOSSWIN_LOST UINT32_MAX
#define OWP_LOSSWIN_MAX_COPIES (UINT32_MAX - 1)

typedef struct owp_losswin {
    uint32_t begin;  /* the oldest unsettled packet */
    uint32_t *ring;  /* state of seq s in [begin, begin + cap) at ring[s & (cap - 1)] */
    uint32_t cap;    /* power of two, or 0 before the first packet */
    owp_u32map far;  /* states of seqs >= begin + cap */
} owp_losswin;

/* A zeroed owp_losswin is an empty window starting at 0. */
void owp_losswin_reset(owp_losswin *w, uint32_t begin);
void owp_losswin_free(owp_losswin *w);

/* Out of line: the ring must grow, or seq lies far ahead. */
uint32_t *owp_losswin_state_slow(owp_losswin *w, uint32_t seq);
uint32_t owp_losswin_pop_slow(owp_losswin *w, int advance);

/* The state of seq (>= begin), to read or change; NULL when out of memory.
 * Valid until the next call on w. Inline: once per record. */
static inline uint32_t *owp_losswin_state(owp_losswin *w, uint32_t seq)
{
    if ((uint64_t)seq - w->begin < w->cap)
        return &w->ring[seq & (w->cap - 1)];
    return owp_losswin_state_slow(w, seq);
}

/* The state of packet begin, which leaves the window; begin moves on by one
 * when advance (not past the last packet of a range). Inline: once per
 * packet. */
static inline uint32_t owp_losswin_pop(owp_losswin *w, int advance)
{
    if (!w->cap || w->far.n)
        return owp_losswin_pop_slow(w, advance);
    uint32_t *slot = &w->ring[w->begin & (w->cap - 1)];
    uint32_t state = *slot;
    *slot = 0;
    w->begin += advance ? 1 : 0;
    return state;
}

/* Every seq with a non-zero state, in no particular order. */
typedef void (*owp_losswin_fn)(uint32_t seq, uint32_t state, void *arg);
void owp_losswin_each(const owp_losswin *w, owp_losswin_fn fn, void *arg);

#endif
