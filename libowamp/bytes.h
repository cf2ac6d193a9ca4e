/* bytes.h - big-endian (network order) loads and stores for wire and file codecs. */
#ifndef OWP_BYTES_H
#define OWP_BYTES_H

#include <stdint.h>

static inline void owp_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void owp_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void owp_put64(uint8_t *p, uint64_t v)
{
    owp_put32(p, (uint32_t)(v >> 32));
    owp_put32(p + 4, (uint32_t)v);
}
static inline uint16_t owp_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t owp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t owp_get64(const uint8_t *p)
{
    return (uint64_t)owp_get32(p) << 32 | owp_get32(p + 4);
}
/* 1 if all n bytes are zero (MBZ checks). */
static inline int owp_all_zero(const uint8_t *p, unsigned n)
{
    uint8_t acc = 0;
    for (unsigned i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

#endif
