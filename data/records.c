/* TFRecord framing. */
#include "data/records.h"

#include "core/bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mp_rec_writer_open(mp_rec_writer *w, const char *path, mp_err *err)
{
	memset(w, 0, sizeof(*w));
	if (!(w->path = mp_strdup(path)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (!(w->fp = fopen(path, "wb"))) {
		int e = errno;

		free(w->path);
		w->path = NULL;
		return mp_error(err, MP_EIO, "cannot create '%s': %s", path, strerror(e));
	}
	return 0;
}

int mp_rec_write(mp_rec_writer *w, const void *data, size_t n, mp_err *err)
{
	uint8_t head[12], tail[4];
	uint64_t len = n;
	int i;

	for (i = 0; i < 8; i++)
		head[i] = (uint8_t)(len >> (8 * i));
	mp_put_u32(head + 8, mp_crc32c_mask(mp_crc32c(0, head, 8)));
	mp_put_u32(tail, mp_crc32c_mask(mp_crc32c(0, data, n)));
	if (fwrite(head, 1, 12, w->fp) != 12 || fwrite(data, 1, n, w->fp) != n ||
	    fwrite(tail, 1, 4, w->fp) != 4)
		return mp_error(err, MP_EIO, "cannot write '%s': %s", w->path, strerror(errno));
	w->bytes += 16 + n;
	return 0;
}

int mp_rec_writer_close(mp_rec_writer *w, mp_err *err)
{
	int rc = 0;

	if (w->fp && (fflush(w->fp) != 0 || ferror(w->fp)))
		rc = mp_error(err, MP_EIO, "cannot write '%s': %s", w->path, strerror(errno));
	if (w->fp && fclose(w->fp) != 0 && rc == 0)
		rc = mp_error(err, MP_EIO, "cannot close '%s': %s", w->path, strerror(errno));
	free(w->path);
	memset(w, 0, sizeof(*w));
	return rc;
}

int mp_rec_reader_open(mp_rec_reader *r, const char *path, mp_err *err)
{
	memset(r, 0, sizeof(*r));
	if (!(r->path = mp_strdup(path)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (!(r->fp = fopen(path, "rb"))) {
		int e = errno;

		free(r->path);
		r->path = NULL;
		return mp_error(err, e == ENOENT ? MP_ENOTFOUND : MP_EIO, "cannot open '%s': %s", path,
				strerror(e));
	}
	return 0;
}

int mp_rec_read(mp_rec_reader *r, const uint8_t **data, size_t *n, mp_err *err)
{
	uint8_t head[12], tail[4];
	uint64_t len = 0;
	size_t got;
	int i;

	got = fread(head, 1, 12, r->fp);
	if (got == 0 && feof(r->fp))
		return 0;
	if (got != 12)
		return mp_error(err, MP_ECORRUPT, "'%s': truncated record header at byte %llu", r->path,
				(unsigned long long)r->offset);
	if (mp_crc32c_mask(mp_crc32c(0, head, 8)) != mp_get_u32(head + 8))
		return mp_error(err, MP_ECORRUPT, "'%s': bad length checksum at byte %llu", r->path,
				(unsigned long long)r->offset);
	for (i = 0; i < 8; i++)
		len |= (uint64_t)head[i] << (8 * i);
	if (len > ((uint64_t)1 << 31))
		return mp_error(err, MP_ECORRUPT, "'%s': record of %llu bytes at byte %llu is too large",
				r->path, (unsigned long long)len, (unsigned long long)r->offset);
	if (len > r->cap) {
		uint8_t *nb = mp_realloc(r->buf, (size_t)len);

		if (!nb)
			return mp_error(err, MP_ENOMEM, "out of memory");
		r->buf = nb;
		r->cap = (size_t)len;
	}
	if (fread(r->buf, 1, (size_t)len, r->fp) != len || fread(tail, 1, 4, r->fp) != 4)
		return mp_error(err, MP_ECORRUPT, "'%s': truncated record at byte %llu", r->path,
				(unsigned long long)r->offset);
	if (mp_crc32c_mask(mp_crc32c(0, r->buf, (size_t)len)) != mp_get_u32(tail))
		return mp_error(err, MP_ECORRUPT, "'%s': bad data checksum in the record at byte %llu",
				r->path, (unsigned long long)r->offset);
	*data = r->buf;
	*n = (size_t)len;
	r->offset += 16 + len;
	return 1;
}

void mp_rec_reader_close(mp_rec_reader *r)
{
	if (r->fp)
		fclose(r->fp);
	free(r->path);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
