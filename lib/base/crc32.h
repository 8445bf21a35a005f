/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), as zlib's crc32()
 * (layer: base). Start with crc = 0; feed pieces by passing the previous
 * return value. */
#ifndef IQS_BASE_CRC32_H
#define IQS_BASE_CRC32_H
#include <stddef.h>
#include <stdint.h>
uint32_t iqs_crc32(uint32_t crc, const void *data, size_t n);
#endif
