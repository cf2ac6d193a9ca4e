/*
 * grow.h - room for one more element in a growing array (the one place that
 * doubles an array's capacity).
 */
#ifndef OWP_GROW_H
#define OWP_GROW_H

#include <stddef.h>

/* *array_p points at an array of *cap elements of elem bytes, n of them in
 * use. When n == *cap the array is reallocated to twice its capacity (or
 * `initial` elements when it has none). 0, or -1 when out of memory (the
 * array and *cap unchanged). */
int owp_grow(void *array_p, size_t n, size_t *cap, size_t elem, size_t initial);

#endif
