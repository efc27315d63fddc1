/* Fixtures the data suites share: gzip and IDX files, a small Examples
 * artifact's features. */
#ifndef MP_TESTS_DATA_FIXTURES_H
#define MP_TESTS_DATA_FIXTURES_H

#include <zlib.h>

#include "testutil.h"
#include "data/examples.h"

static inline void write_gz(const char *name, const void *data, size_t n)
{
	char *p = tu_at(name);
	gzFile gz = gzopen(p, "wb");

	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, data, (unsigned)n), (int)n);
	ck_assert_int_eq(gzclose(gz), Z_OK);
	free(p);
}

/* An IDX file of n items of item bytes each (dims 1 or 3). */
static inline void write_idx(const char *name, int dims, int n, int rows, int cols, int extra, int cut)
{
	size_t item = dims == 3 ? (size_t)rows * cols : 1, len = 4 + 4 * (size_t)dims + n * item + extra, i;
	uint8_t *b = calloc(1, len);

	b[2] = 0x08;
	b[3] = (uint8_t)dims;
	b[4] = (uint8_t)(n >> 24);
	b[5] = (uint8_t)(n >> 16);
	b[6] = (uint8_t)(n >> 8);
	b[7] = (uint8_t)n;
	if (dims == 3) {
		b[11] = (uint8_t)rows;
		b[15] = (uint8_t)cols;
	}
	for (i = 4 + 4 * (size_t)dims; i < len; i++)
		b[i] = (uint8_t)(dims == 1 ? (i % 3) : (i * 7) % 256);
	write_gz(name, b, len - (size_t)cut);
	free(b);
}

#endif
