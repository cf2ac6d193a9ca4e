/* grow.c - growing arrays (see grow.h). */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int owp_grow(void *array_p, size_t n, size_t *cap, size_t elem, size_t initial)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : (initial ? initial : 1);
    if (want < *cap || want > SIZE_MAX / elem)
        return -1;
    void *old;
    memcpy(&old, array_p, sizeof old);
    void *grown = realloc(old, want * elem);
    if (!grown)
        return -1;
    memcpy(array_p, &grown, sizeof grown);
    *cap = want;
    return 0;
}
