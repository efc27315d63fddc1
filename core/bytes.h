/* core/bytes: little-endian integers and CRC32C (Castagnoli), as the
 * record files (TFRecord framing) and the model files use them. */
#ifndef MP_CORE_BYTES_H
#define MP_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* ---- little-endian integers -------------------------------------------- */

static inline void mp_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t mp_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void mp_put_u64(uint8_t *p, uint64_t v)
{
	mp_put_u32(p, (uint32_t)v);
	mp_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t mp_get_u64(const uint8_t *p)
{
	return (uint64_t)mp_get_u32(p) | (uint64_t)mp_get_u32(p + 4) << 32;
}

/* ---- CRC32C (Castagnoli), as TFRecord uses it -------------------------- */

uint32_t mp_crc32c(uint32_t crc, const void *data, size_t n);
/* TFRecord's mask: rotate right by 15 and add 0xa282ead8. */
uint32_t mp_crc32c_mask(uint32_t crc);

#endif
