/*
 * stamp_table.c - the reflector's bounded per-peer table (stamp_table.h):
 * chained hashing over a fixed array of entries, a free list, and a sweep
 * that removes idle entries.
 */
#include "stamp_table.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"

#define NONE UINT32_MAX
/* The largest table: indices are 32-bit. */
#define CAPACITY_MAX (1u << 24)

typedef struct entry {
    uint8_t key[OWP_STAMP_TABLE_KEY];
    uint32_t next;   /* in its chain, or in the free list */
    double touched;
    /* value_size octets follow, aligned for any value */
} entry;

struct owp_stamp_table {
    size_t capacity, value_size, stride, count;
    uint32_t *heads;   /* nbuckets chains */
    size_t nbuckets;   /* a power of two >= capacity */
    uint32_t free;     /* first free entry */
    uint64_t seed;
    unsigned char *entries;
};

static entry *at(const owp_stamp_table *t, uint32_t i)
{
    return (entry *)(t->entries + (size_t)i * t->stride);
}

/* The hash seed; without the random source, the clock is still not a
 * sender's to choose. */
static uint64_t random_seed(void)
{
    uint64_t s;
    if (owp_random_bytes((uint8_t *)&s, sizeof s, NULL) == OWP_OK)
        return s;
    return (uint64_t)(owp_clock_monotonic() * 1e9);
}

owp_stamp_table *owp_stamp_table_new(size_t capacity, size_t value_size, owp_err *err)
{
    if (capacity == 0 || capacity > CAPACITY_MAX) {
        owp_err_set(err, OWP_ERR_INVALID, "STAMP table of %zu entries: 1 to %u", capacity,
                    CAPACITY_MAX);
        return NULL;
    }
    owp_stamp_table *t = calloc(1, sizeof *t);
    if (!t) {
        owp_err_set(err, OWP_ERR_NOMEM, "STAMP table: out of memory");
        return NULL;
    }
    const size_t align = _Alignof(max_align_t);
    t->capacity = capacity;
    t->value_size = value_size;
    t->stride = (sizeof(entry) + value_size + align - 1) / align * align;
    for (t->nbuckets = 1; t->nbuckets < capacity; t->nbuckets <<= 1)
        ;
    t->seed = random_seed();
    t->heads = malloc(t->nbuckets * sizeof *t->heads);
    t->entries = calloc(capacity, t->stride);
    if (!t->heads || !t->entries) {
        owp_err_set(err, OWP_ERR_NOMEM, "STAMP table of %zu entries: out of memory", capacity);
        owp_stamp_table_destroy(&t);
        return NULL;
    }
    for (size_t b = 0; b < t->nbuckets; b++)
        t->heads[b] = NONE;
    for (size_t i = 0; i < capacity; i++)
        at(t, (uint32_t)i)->next = i + 1 < capacity ? (uint32_t)(i + 1) : NONE;
    t->free = 0;
    return t;
}

void owp_stamp_table_destroy(owp_stamp_table **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->heads);
    free((*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

int owp_stamp_table_key(const struct sockaddr *sa, socklen_t len, int with_port, uint16_t ssid,
                        uint8_t key[OWP_STAMP_TABLE_KEY])
{
    memset(key, 0, OWP_STAMP_TABLE_KEY);
    uint16_t port;
    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &s4->sin_addr, 4);
        port = s4->sin_port;
    } else if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(key, &s6->sin6_addr, 16);
        port = s6->sin6_port;
    } else {
        return 0;
    }
    if (with_port) {
        memcpy(key + 16, &port, 2);
        key[18] = (uint8_t)(ssid >> 8);
        key[19] = (uint8_t)ssid;
    }
    return 1;
}

/* 64-bit mixing of the key with the table's seed (splitmix64 steps). */
static size_t bucket_of(const owp_stamp_table *t, const uint8_t key[OWP_STAMP_TABLE_KEY])
{
    uint64_t h = t->seed;
    for (size_t i = 0; i < OWP_STAMP_TABLE_KEY; i += 4) {
        uint32_t w;
        memcpy(&w, key + i, 4);
        h ^= w;
        h += 0x9E3779B97F4A7C15ull;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
        h ^= h >> 31;
    }
    return (size_t)(h & (t->nbuckets - 1));
}

void *owp_stamp_table_find(owp_stamp_table *t, const uint8_t key[OWP_STAMP_TABLE_KEY],
                           double now)
{
    for (uint32_t i = t->heads[bucket_of(t, key)]; i != NONE; i = at(t, i)->next) {
        entry *e = at(t, i);
        if (memcmp(e->key, key, OWP_STAMP_TABLE_KEY) == 0) {
            e->touched = now;
            return (unsigned char *)e + sizeof(entry);
        }
    }
    return NULL;
}

void *owp_stamp_table_get(owp_stamp_table *t, const uint8_t key[OWP_STAMP_TABLE_KEY],
                          double now, int *created)
{
    if (created)
        *created = 0;
    void *found = owp_stamp_table_find(t, key, now);
    if (found)
        return found;
    size_t b = bucket_of(t, key);
    if (t->free == NONE)
        return NULL;
    uint32_t i = t->free;
    entry *e = at(t, i);
    t->free = e->next;
    memcpy(e->key, key, OWP_STAMP_TABLE_KEY);
    e->touched = now;
    e->next = t->heads[b];
    t->heads[b] = i;
    t->count++;
    unsigned char *value = (unsigned char *)e + sizeof(entry);
    memset(value, 0, t->value_size);
    if (created)
        *created = 1;
    return value;
}

size_t owp_stamp_table_expire(owp_stamp_table *t, double older_than)
{
    size_t removed = 0;
    for (size_t b = 0; b < t->nbuckets; b++) {
        uint32_t *link = &t->heads[b];
        while (*link != NONE) {
            uint32_t i = *link;
            entry *e = at(t, i);
            if (e->touched >= older_than) {
                link = &e->next;
                continue;
            }
            *link = e->next;
            e->next = t->free;
            t->free = i;
            t->count--;
            removed++;
        }
    }
    return removed;
}

size_t owp_stamp_table_count(const owp_stamp_table *t) { return t->count; }

size_t owp_stamp_table_capacity(const owp_stamp_table *t) { return t->capacity; }
