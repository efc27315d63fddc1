#include "data/idx.h"
/* IDX files (the MNIST format): a big-endian header — two zero bytes, the
 * element type (0x08: unsigned byte), the number of dimensions, then each
 * dimension as a u32 — followed by the data. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int read_exact(mp_idx *x, void *buf, size_t n, size_t *got, mp_err *err)
{
	int r, zerr;
	const char *msg;

	*got = 0;
	while (*got < n) {
		r = gzread((gzFile)x->gz, (char *)buf + *got, (unsigned)(n - *got > (1u << 30) ? (1u << 30) : n - *got));
		msg = gzerror((gzFile)x->gz, &zerr);
		if (r < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
			return mp_error(err, MP_ECORRUPT, "'%s': cannot read at byte %llu: %s", x->path,
					(unsigned long long)(x->offset + *got), zerr == Z_ERRNO ? strerror(errno) : msg);
		if (r == 0) {
			if (zerr == Z_BUF_ERROR)
				return mp_error(err, MP_ECORRUPT, "'%s': the gzip stream is truncated (after %llu bytes)",
						x->path, (unsigned long long)(x->offset + *got));
			break;
		}
		*got += (size_t)r;
	}
	x->offset += *got;
	return 0;
}

int mp_idx_open(mp_idx *x, const char *path, int dims, mp_err *err)
{
	uint8_t head[4], d[4];
	size_t got;
	int i, rc;

	memset(x, 0, sizeof(*x));
	if (!(x->path = mp_strdup(path)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (!(x->gz = gzopen(path, "rb"))) {
		int e = errno;

		free(x->path);
		x->path = NULL;
		return mp_error(err, e == ENOENT ? MP_ENOTFOUND : MP_EIO, "cannot open '%s': %s", path,
				e ? strerror(e) : "out of memory");
	}
	gzbuffer((gzFile)x->gz, 256 * 1024);
	if ((rc = read_exact(x, head, 4, &got, err)) != 0)
		goto fail;
	if (got < 4 || head[0] || head[1] || head[2] != 0x08 || head[3] != dims) {
		rc = mp_error(err, MP_ECORRUPT,
			      "'%s' is not an IDX file of unsigned bytes with %d dimension%s (magic %02x%02x%02x%02x)",
			      path, dims, dims == 1 ? "" : "s", got > 0 ? head[0] : 0, got > 1 ? head[1] : 0,
			      got > 2 ? head[2] : 0, got > 3 ? head[3] : 0);
		goto fail;
	}
	x->dims = dims;
	x->item_size = 1;
	for (i = 0; i < dims; i++) {
		if ((rc = read_exact(x, d, 4, &got, err)) != 0)
			goto fail;
		if (got < 4) {
			rc = mp_error(err, MP_ECORRUPT, "'%s': the header is truncated", path);
			goto fail;
		}
		x->shape[i] = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
		if (i > 0) {
			if (x->shape[i] == 0 || x->shape[i] > 65536) {
				rc = mp_error(err, MP_ECORRUPT, "'%s': dimension %d is %u", path, i + 1, x->shape[i]);
				goto fail;
			}
			x->item_size *= x->shape[i];
		}
	}
	/* each byte of an item becomes a feature: a header must not make
	 * millions of them before a byte of data is read */
	if (x->item_size > (1u << 20)) {
		rc = mp_error(err, MP_ECORRUPT, "'%s': items of %zu bytes are more than the %u a reader takes", path,
			      x->item_size, 1u << 20);
		goto fail;
	}
	x->count = x->shape[0];
	return 0;
fail:
	mp_idx_close(x);
	return rc;
}

int mp_idx_read(mp_idx *x, uint8_t *buf, size_t n, size_t *got, mp_err *err)
{
	size_t bytes, want;
	int rc;

	*got = 0;
	if ((int64_t)n > x->count - x->read)
		n = (size_t)(x->count - x->read);
	want = n * x->item_size;
	if (n == 0) {
		uint8_t extra;

		/* at the end: the file must end too */
		if ((rc = read_exact(x, &extra, 1, &bytes, err)) != 0)
			return rc;
		if (bytes)
			return mp_error(err, MP_ECORRUPT, "'%s' is longer than its header says (%lld items of %zu bytes)",
					x->path, (long long)x->count, x->item_size);
		return 0;
	}
	if ((rc = read_exact(x, buf, want, &bytes, err)) != 0)
		return rc;
	if (bytes != want)
		return mp_error(err, MP_ECORRUPT, "'%s' is truncated at byte %llu: the header says %lld items of %zu bytes",
				x->path, (unsigned long long)x->offset, (long long)x->count, x->item_size);
	x->read += (int64_t)n;
	*got = n;
	return 0;
}

void mp_idx_close(mp_idx *x)
{
	if (x->gz)
		gzclose((gzFile)x->gz);
	free(x->path);
	memset(x, 0, sizeof(*x));
}
