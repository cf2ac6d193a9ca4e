/*
 * u32map.c - hash map from 32-bit keys to counters (see u32map.h).
 */
#include "u32map.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 64

static size_t slot_of(uint32_t key, size_t cap)
{
    return (size_t)((key * 2654435761u) ^ (key >> 16)) & (cap - 1);
}

void owp_u32map_clear(owp_u32map *m)
{
    if (m->slots && m->n)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

void owp_u32map_free(owp_u32map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int grow(owp_u32map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : INITIAL_SLOTS;
    owp_u32map_entry *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        size_t j = slot_of(m->slots[i].key, ncap);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

owp_u32map_entry *owp_u32map_find(const owp_u32map *m, uint32_t key)
{
    if (!m->n)
        return NULL;
    for (size_t j = slot_of(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
        if (!m->slots[j].used)
            return NULL;
        if (m->slots[j].key == key)
            return &m->slots[j];
    }
}

owp_u32map_entry *owp_u32map_get(owp_u32map *m, uint32_t key)
{
    owp_u32map_entry *e = owp_u32map_find(m, key);
    if (e)
        return e;
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
        return NULL;
    size_t j = slot_of(key, m->cap);
    while (m->slots[j].used)
        j = (j + 1) & (m->cap - 1);
    m->slots[j] = (owp_u32map_entry){.key = key, .used = 1};
    m->n++;
    return &m->slots[j];
}

void owp_u32map_remove(owp_u32map *m, owp_u32map_entry *e)
{
    size_t i = (size_t)(e - m->slots);
    m->slots[i].used = 0;
    m->n--;
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].used; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m->slots[j].key, m->cap);
        /* Move j back into the hole at i unless its home lies cyclically in (i, j]. */
        int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j].used = 0;
            i = j;
        }
    }
}
