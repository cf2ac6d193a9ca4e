/*
 * u32map.h - a hash map from 32-bit keys to small counters, for the
 * statistics' sparse cases (histogram buckets, packets far ahead of the loss
 * window): memory follows the keys put in, never a key's value. Open
 * addressing, linear probing, backward-shift deletion. Internal to libowamp.
 */
#ifndef OWP_U32MAP_H
#define OWP_U32MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct owp_u32map_entry {
    uint32_t key;
    uint32_t count; /* the user's counter */
    uint32_t order; /* the user's second number */
    uint8_t used;
} owp_u32map_entry;

typedef struct owp_u32map {
    owp_u32map_entry *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
} owp_u32map;

/* A zeroed owp_u32map is an empty map. */
void owp_u32map_clear(owp_u32map *m);
void owp_u32map_free(owp_u32map *m);
/* The entry of key, or NULL. Entry pointers stay valid until the next
 * owp_u32map_get or owp_u32map_remove. */
owp_u32map_entry *owp_u32map_find(const owp_u32map *m, uint32_t key);
/* The entry of key, created zeroed if missing; NULL when out of memory. */
owp_u32map_entry *owp_u32map_get(owp_u32map *m, uint32_t key);
void owp_u32map_remove(owp_u32map *m, owp_u32map_entry *e);

#endif
