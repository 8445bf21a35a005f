/*
 * CRC-32 (IEEE, as zlib's crc32) with slicing-by-8 tables (layer: base).
 * Eight bytes per step matter here: the default model open checks the CRC
 * of a 50-220 MB weights file.
 */
#include "base/crc32.h"

#include "base/crc32_table.h"

uint32_t iqs_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (n >= 8) {
        /* Assemble little-endian explicitly so the result is host-independent. */
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                             (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
                      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = crc_tab[7][lo & 0xFFu] ^ crc_tab[6][(lo >> 8) & 0xFFu] ^
              crc_tab[5][(lo >> 16) & 0xFFu] ^ crc_tab[4][lo >> 24] ^
              crc_tab[3][hi & 0xFFu] ^ crc_tab[2][(hi >> 8) & 0xFFu] ^
              crc_tab[1][(hi >> 16) & 0xFFu] ^ crc_tab[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = crc_tab[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
