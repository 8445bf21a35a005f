/*
 * Little-endian field access on byte buffers (layer: base). Callers check
 * bounds before calling (the format reader validates offsets first); these
 * helpers only assemble bytes, so they work on any host and alignment.
 */
#ifndef IQS_BASE_RD_H
#define IQS_BASE_RD_H
#include <stdint.h>
#include <string.h>

static inline uint16_t iqs_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t iqs_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t iqs_rd64(const uint8_t *p)
{
    return (uint64_t)iqs_rd32(p) | ((uint64_t)iqs_rd32(p + 4) << 32);
}
static inline float iqs_rdf32(const uint8_t *p)
{
    uint32_t u = iqs_rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline void iqs_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void iqs_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void iqs_wr64(uint8_t *p, uint64_t v)
{
    iqs_wr32(p, (uint32_t)v);
    iqs_wr32(p + 4, (uint32_t)(v >> 32));
}
static inline void iqs_wrf32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    iqs_wr32(p, u);
}
/* 1 on a little-endian host. */
static inline int iqs_host_is_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}
#endif
