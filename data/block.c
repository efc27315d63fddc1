/* Blocks of examples, and their encoding in a record.
 *
 * Encoded (before zlib), little-endian:
 *   u32 magic "MPB1", u32 rows, u32 features
 *   per feature: u8 codec, then
 *     0 float:  rows f32 values (NaN when missing)
 *     2 float stored as bytes: rows u8 values (every value a whole number
 *               0..255, as pixels are: a quarter of the size to compress)
 *     1 string: rows u32 lengths (0xffffffff when missing), then the bytes
 * The record is a u32 raw length followed by a zstd frame (level 1: it
 * decompresses about six times faster than zlib at the same size here).
 * Shards written before zstd hold a zlib stream there instead, and still
 * read: a zstd frame starts with its magic number, a zlib stream never does.
 */
#include "core/bytes.h"
#include "data/examples.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "blocks store float32 in host order: a big-endian port must swap them"
#endif

#define BLOCK_MAGIC 0x3142504du /* "MPB1" */
#define MISSING_LEN 0xffffffffu

int mp_block_init(mp_block *b, const mp_feature *features, size_t nfeat, size_t cap,
		  mp_err *err)
{
	memset(b, 0, sizeof(*b));
	b->features = features;
	b->nfeat = nfeat;
	if (!(b->num = mp_calloc(nfeat + 1, sizeof(*b->num))) ||
	    !(b->off = mp_calloc(nfeat + 1, sizeof(*b->off))) ||
	    !(b->miss = mp_calloc(nfeat + 1, sizeof(*b->miss))) ||
	    !(b->str = mp_calloc(nfeat + 1, sizeof(*b->str))) ||
	    !(b->str_cap = mp_calloc(nfeat + 1, sizeof(*b->str_cap)))) {
		mp_block_release(b);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	return mp_block_reserve(b, cap ? cap : 1, err);
}

int mp_block_reserve(mp_block *b, size_t cap, mp_err *err)
{
	size_t f;

	if (cap <= b->cap)
		return 0;
	for (f = 0; f < b->nfeat; f++) {
		if (b->features[f].type == MP_FEAT_FLOAT) {
			float *p = mp_realloc(b->num[f], cap * sizeof(float));

			if (!p)
				return mp_error(err, MP_ENOMEM, "out of memory");
			b->num[f] = p;
		} else {
			uint64_t *o = mp_realloc(b->off[f], (cap + 1) * sizeof(uint64_t));
			uint8_t *m;

			if (!o)
				return mp_error(err, MP_ENOMEM, "out of memory");
			b->off[f] = o;
			if (b->cap == 0)
				o[0] = 0;
			if (!(m = mp_realloc(b->miss[f], cap)))
				return mp_error(err, MP_ENOMEM, "out of memory");
			b->miss[f] = m;
		}
	}
	b->cap = cap;
	return 0;
}

void mp_block_release(mp_block *b)
{
	size_t f;

	for (f = 0; f < b->nfeat; f++) {
		if (b->num)
			free(b->num[f]);
		if (b->off)
			free(b->off[f]);
		if (b->miss)
			free(b->miss[f]);
		if (b->str)
			free(b->str[f]);
	}
	free(b->num);
	free(b->off);
	free(b->miss);
	free(b->str);
	free(b->str_cap);
	memset(b, 0, sizeof(*b));
}

void mp_block_clear(mp_block *b)
{
	size_t f;

	b->rows = 0;
	for (f = 0; f < b->nfeat; f++)
		if (b->off[f])
			b->off[f][0] = 0;
}

int mp_block_set_string(mp_block *b, size_t f, const char *s, size_t n, mp_err *err)
{
	uint64_t start = b->off[f][b->rows];

	if (!s) {
		b->miss[f][b->rows] = 1;
		b->off[f][b->rows + 1] = start;
		return 0;
	}
	if (start + n > b->str_cap[f]) {
		size_t cap = b->str_cap[f] ? b->str_cap[f] : 256;
		char *p;

		while (cap < start + n)
			cap *= 2;
		if (!(p = mp_realloc(b->str[f], cap)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		b->str[f] = p;
		b->str_cap[f] = cap;
	}
	if (n) /* an empty string may have no buffer behind it yet */
		memcpy(b->str[f] + start, s, n);
	b->miss[f][b->rows] = 0;
	b->off[f][b->rows + 1] = start + n;
	return 0;
}

/* ---- encoding ---------------------------------------------------------- */

#define CODEC_F32 0
#define CODEC_STRING 1
#define CODEC_U8 2

static int fits_u8(const float *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(v[i] >= 0.0f && v[i] <= 255.0f) || v[i] != (float)(int)v[i])
			return 0;
	return 1;
}

static size_t raw_size(const mp_block *b, const uint8_t *codec)
{
	size_t n = 12, f;

	for (f = 0; f < b->nfeat; f++) {
		n += 1;
		if (codec[f] == CODEC_F32)
			n += 4 * b->rows;
		else if (codec[f] == CODEC_U8)
			n += b->rows;
		else
			n += 4 * b->rows + (size_t)b->off[f][b->rows];
	}
	return n;
}

/* The raw layout into p (raw_size bytes). */
static void encode_raw(const mp_block *b, const uint8_t *codec, uint8_t *p)
{
	size_t f, r;

	mp_put_u32(p, BLOCK_MAGIC);
	mp_put_u32(p + 4, (uint32_t)b->rows);
	mp_put_u32(p + 8, (uint32_t)b->nfeat);
	p += 12;
	for (f = 0; f < b->nfeat; f++) {
		*p++ = codec[f];
		if (codec[f] == CODEC_F32) {
			memcpy(p, b->num[f], 4 * b->rows); /* little-endian hosts only (checked above) */
			p += 4 * b->rows;
		} else if (codec[f] == CODEC_U8) {
			for (r = 0; r < b->rows; r++)
				*p++ = (uint8_t)b->num[f][r];
		} else {
			for (r = 0; r < b->rows; r++, p += 4)
				mp_put_u32(p, b->miss[f][r] ? MISSING_LEN : (uint32_t)(b->off[f][r + 1] - b->off[f][r]));
			if (b->off[f][b->rows]) /* a column of empty or missing strings has no buffer */
				memcpy(p, b->str[f], (size_t)b->off[f][b->rows]);
			p += b->off[f][b->rows];
		}
	}
}

int mp_block_encode(const mp_block *b, int level, uint8_t **out, size_t *outcap, size_t *outlen,
		    mp_err *err)
{
	uint8_t *codec = mp_malloc(b->nfeat + 1), *tmp;
	size_t raw, f, bound, got;
	ZSTD_CCtx *cc;

	if (!codec)
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (f = 0; f < b->nfeat; f++)
		codec[f] = b->features[f].type == MP_FEAT_STRING ? CODEC_STRING
			   : fits_u8(b->num[f], b->rows)     ? CODEC_U8
							     : CODEC_F32;
	raw = raw_size(b, codec);
	bound = ZSTD_compressBound(raw) + 4;
	if (raw > 0xfffffff0u || !(tmp = mp_malloc(raw))) {
		free(codec);
		return raw > 0xfffffff0u ? mp_error(err, MP_EINVAL, "a block of %zu bytes is too large", raw)
					 : mp_error(err, MP_ENOMEM, "out of memory");
	}
	encode_raw(b, codec, tmp);
	free(codec);
	if (*outcap < bound) {
		uint8_t *p = mp_realloc(*out, bound);

		if (!p) {
			free(tmp);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
		*out = p;
		*outcap = bound;
	}
	mp_put_u32(*out, (uint32_t)raw);
	/* with the frame's checksum (XXH64), as zlib's stream had adler32:
	 * a damaged block is refused, also where the record's CRC is not
	 * checked */
	if (!(cc = ZSTD_createCCtx())) {
		free(tmp);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	got = ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(got))
		got = ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(got))
		got = ZSTD_compress2(cc, *out + 4, bound - 4, tmp, raw);
	ZSTD_freeCCtx(cc);
	free(tmp);
	if (ZSTD_isError(got))
		return mp_error(err, MP_EIO, "zstd could not compress a block (%s)", ZSTD_getErrorName(got));
	*outlen = got + 4;
	return 0;
}

/* The raw bytes of a record's compressed block into tmp (raw of them):
 * a zstd frame, or a zlib stream from before. */
static int decompress(uint8_t *tmp, size_t raw, const uint8_t *data, size_t n, const char *where, mp_err *err)
{
	if (n >= 4 && mp_get_u32(data) == ZSTD_MAGICNUMBER) {
		unsigned long long declared = ZSTD_getFrameContentSize(data, n);
		size_t got;

		if (declared != raw)
			return mp_error(err, MP_ECORRUPT, "%s: the block's frame holds %llu bytes, not %zu", where,
					declared, raw);
		got = ZSTD_decompress(tmp, raw, data, n);
		if (ZSTD_isError(got) || got != raw)
			return mp_error(err, MP_ECORRUPT, "%s: the block does not decompress (zstd: %s)", where,
					ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
	} else {
		uLongf len = (uLongf)raw;
		int zrc = uncompress(tmp, &len, data, (uLong)n);

		if (zrc != Z_OK || len != raw)
			return mp_error(err, MP_ECORRUPT, "%s: the block does not decompress (zlib %d)", where, zrc);
	}
	return 0;
}

int mp_block_decode(mp_block *b, const uint8_t *data, size_t n, const char *where, mp_err *err)
{
	size_t raw;
	uint8_t *tmp, *p, *end;
	uint32_t rows, nfeat;
	size_t f, r;
	int rc = 0;

	if (n < 4)
		return mp_error(err, MP_ECORRUPT, "%s: block too short", where);
	raw = mp_get_u32(data);
	/* neither codec shrinks data more than about 32768 times (zstd's
	 * run-length blocks; deflate about 1032): a size beyond that is a lie,
	 * and is refused before it is allocated */
	if (raw < 12 || raw / 32768 > n)
		return mp_error(err, MP_ECORRUPT, "%s: bad block size (%zu bytes from %zu)", where, raw, n);
	if (!(tmp = mp_malloc(raw)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = decompress(tmp, raw, data + 4, n - 4, where, err)) != 0) {
		free(tmp);
		return rc;
	}
	p = tmp;
	end = tmp + raw;
	rows = mp_get_u32(p + 4);
	nfeat = mp_get_u32(p + 8);
	if (mp_get_u32(p) != BLOCK_MAGIC || nfeat != b->nfeat) {
		rc = mp_error(err, MP_ECORRUPT, "%s: not a block of %zu features", where, b->nfeat);
		goto out;
	}
	p += 12;
	/* every row takes at least a byte of every feature */
	if (nfeat && rows > (raw - 12) / nfeat) {
		rc = mp_error(err, MP_ECORRUPT, "%s: %u rows do not fit in a block of %lu bytes", where, rows,
			      (unsigned long)raw);
		goto out;
	}
	if ((rc = mp_block_reserve(b, rows, err)) != 0)
		goto out;
	mp_block_clear(b);
	for (f = 0; f < nfeat; f++) {
		int codec = p < end ? *p : -1;

		if (b->features[f].type == MP_FEAT_FLOAT ? codec != CODEC_F32 && codec != CODEC_U8
							  : codec != CODEC_STRING) {
			rc = mp_error(err, MP_ECORRUPT, "%s: feature '%s' has the wrong type", where,
				      b->features[f].name);
			goto out;
		}
		p++;
		if (codec == CODEC_U8) {
			if ((size_t)(end - p) < (size_t)rows) {
				rc = mp_error(err, MP_ECORRUPT, "%s: block truncated", where);
				goto out;
			}
			for (r = 0; r < rows; r++)
				b->num[f][r] = (float)p[r];
			p += rows;
		} else if (codec == CODEC_F32) {
			if ((size_t)(end - p) < 4 * (size_t)rows) {
				rc = mp_error(err, MP_ECORRUPT, "%s: block truncated", where);
				goto out;
			}
			memcpy(b->num[f], p, 4 * (size_t)rows);
			p += 4 * (size_t)rows;
		} else {
			uint8_t *lens = p;
			uint64_t total = 0;

			if ((size_t)(end - p) < 4 * (size_t)rows) {
				rc = mp_error(err, MP_ECORRUPT, "%s: block truncated", where);
				goto out;
			}
			p += 4 * (size_t)rows;
			for (r = 0; r < rows; r++) {
				uint32_t len = mp_get_u32(lens + 4 * r);

				b->miss[f][r] = len == MISSING_LEN;
				if (len != MISSING_LEN)
					total += len;
				b->off[f][r + 1] = total;
			}
			if ((uint64_t)(end - p) < total) {
				rc = mp_error(err, MP_ECORRUPT, "%s: block truncated", where);
				goto out;
			}
			if (total > b->str_cap[f]) {
				char *s = mp_realloc(b->str[f], (size_t)total);

				if (!s) {
					rc = mp_error(err, MP_ENOMEM, "out of memory");
					goto out;
				}
				b->str[f] = s;
				b->str_cap[f] = (size_t)total;
			}
			if (total)
				memcpy(b->str[f], p, (size_t)total);
			p += total;
		}
	}
	if (p != end) {
		rc = mp_error(err, MP_ECORRUPT, "%s: %zu stray bytes after the block", where, (size_t)(end - p));
		goto out;
	}
	b->rows = rows;
out:
	free(tmp);
	return rc;
}
