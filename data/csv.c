#include "data/csv.h"
/* A streaming RFC 4180 reader over zlib's gz functions (which read plain
 * files too).  A row is first found whole in the buffer (its end is a
 * newline outside quotes), then split into fields in place. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define READ_CHUNK (1u << 20)

struct mp_csv {
	gzFile gz;
	char *path;
	char delim;
	char *buf;
	size_t cap, len, pos; /* unread data is buf[pos..len) */
	int eof;
	uint64_t consumed;
	int64_t line;	   /* where the current row starts */
	int64_t next_line; /* where the next row starts */
	mp_csv_fieldlist fields;
	char *row, *row_end; /* the current row, without its line end */
};

int mp_csv_open(mp_csv **out, const char *path, char delim, mp_err *err)
{
	mp_csv *c;

	*out = NULL;
	if (!(c = mp_calloc(1, sizeof(*c))) || !(c->path = mp_strdup(path)) ||
	    !(c->buf = mp_malloc(READ_CHUNK + 1))) {
		if (c)
			free(c->path);
		free(c);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	c->cap = READ_CHUNK;
	c->delim = delim;
	c->next_line = 1;
	if (!(c->gz = gzopen(path, "rb"))) {
		int e = errno;

		mp_csv_close(c);
		return mp_error(err, e == ENOENT ? MP_ENOTFOUND : MP_EIO, "cannot open '%s': %s", path,
				e ? strerror(e) : "out of memory");
	}
	gzbuffer(c->gz, 256 * 1024);
	*out = c;
	return 0;
}

void mp_csv_close(mp_csv *c)
{
	if (!c)
		return;
	if (c->gz)
		gzclose(c->gz);
	free(c->path);
	free(c->buf);
	free(c->fields.items);
	free(c);
}

const char *mp_csv_path(const mp_csv *c)
{
	return c->path;
}

int64_t mp_csv_line(const mp_csv *c)
{
	return c->line;
}

uint64_t mp_csv_bytes(const mp_csv *c)
{
	return c->consumed;
}

const mp_csv_field *mp_csv_fields(const mp_csv *c, size_t *n)
{
	*n = c->fields.n;
	return c->fields.items;
}

/* Moves unread data to the front and reads more; grows the buffer when a
 * single row fills it. */
static int refill(mp_csv *c, mp_err *err)
{
	int got, zerr;
	const char *msg;

	if (c->pos) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->len == c->cap) {
		char *nb;

		if (c->cap >= MP_CSV_MAX_ROW)
			return mp_error(err, MP_EINVAL, "%s:%lld: a row longer than %u MB (the limit)", c->path,
					(long long)c->next_line, MP_CSV_MAX_ROW >> 20);
		nb = mp_realloc(c->buf, c->cap * 2 + 1);

		if (!nb)
			return mp_error(err, MP_ENOMEM, "out of memory (a row of more than %zu bytes)", c->cap);
		c->buf = nb;
		c->cap *= 2;
	}
	got = gzread(c->gz, c->buf + c->len, (unsigned)(c->cap - c->len));
	msg = gzerror(c->gz, &zerr);
	if (got < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
		return mp_error(err, MP_ECORRUPT, "'%s': cannot read: %s", c->path,
				zerr == Z_ERRNO ? strerror(errno) : msg);
	if (got == 0) {
		if (zerr == Z_BUF_ERROR)
			return mp_error(err, MP_ECORRUPT, "'%s': the gzip stream is truncated", c->path);
		c->eof = 1;
	}
	c->len += (size_t)got;
	return 0;
}

/* Finds the end of the row starting at buf[pos]: the index of its newline
 * (or len at the end of the input), -1 when more input is needed. */
static long find_row_end(mp_csv *c, size_t *scan, int *inq, int *sawq, int64_t *newlines)
{
	const char *b = c->buf;
	size_t i = *scan;

	while (i < c->len) {
		if (!*inq) {
			const char *nl = memchr(b + i, '\n', c->len - i);
			size_t stop = nl ? (size_t)(nl - b) : c->len;
			const char *q = memchr(b + i, '"', stop - i);

			if (!q) {
				if (nl)
					return (long)stop;
				i = c->len;
				break;
			}
			i = (size_t)(q - b) + 1;
			*inq = 1;
			*sawq = 1;
		} else {
			const char *q = memchr(b + i, '"', c->len - i);
			const char *p;

			if (!q) {
				for (p = b + i; (p = memchr(p, '\n', (size_t)(b + c->len - p))); p++)
					(*newlines)++;
				i = c->len;
				break;
			}
			for (p = b + i; (p = memchr(p, '\n', (size_t)(q - p))); p++)
				(*newlines)++;
			i = (size_t)(q - b) + 1;
			if (i < c->len && b[i] == '"')
				i++; /* "" inside quotes */
			else if (i == c->len && !c->eof) {
				i--; /* cannot tell yet: look again with more data */
				break;
			} else
				*inq = 0;
		}
	}
	*scan = i;
	if (c->eof && i >= c->len)
		return (long)c->len;
	return -1;
}

static int grow_fields(mp_csv_fieldlist *fl, mp_err *err)
{
	size_t na = fl->cap ? fl->cap * 2 : 64;
	mp_csv_field *f = mp_realloc(fl->items, na * sizeof(*f));

	if (!f)
		return mp_error(err, MP_ENOMEM, "out of memory");
	fl->items = f;
	fl->cap = na;
	return 0;
}

static inline int add_field(mp_csv_fieldlist *fl, const char *s, size_t n, int col, int quoted, mp_err *err)
{
	mp_csv_field *f;

	if (fl->n == fl->cap && grow_fields(fl, err) != 0)
		return MP_ENOMEM;
	f = &fl->items[fl->n++];
	f->s = s;
	f->n = n;
	f->col = col;
	f->quoted = quoted;
	return 0;
}

int mp_csv_split_row(char *p, size_t len, char delim, mp_csv_fieldlist *fl, const char *path, int64_t line,
		     mp_err *err)
{
	char *rowstart = p, *end = p + len;
	int rc;

	fl->n = 0;
	for (;;) {
		int col = (int)(p - rowstart) + 1;

		if (p < end && *p == '"') {
			char *w = ++p, *start = w;

			for (;;) {
				if (p >= end)
					return mp_error(err, MP_EINVAL, "%s:%lld:%d: unterminated quoted field",
							path, (long long)line, col);
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						*w++ = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				*w++ = *p++;
			}
			if (p < end && *p != delim)
				return mp_error(err, MP_EINVAL, "%s:%lld:%d: unexpected '%c' after a quoted field",
						path, (long long)line, (int)(p - rowstart) + 1, *p);
			if ((rc = add_field(fl, start, (size_t)(w - start), col, 1, err)) != 0)
				return rc;
		} else {
			char *fe = p;

			while (fe < end && *fe != delim)
				fe++;
			if ((rc = add_field(fl, p, (size_t)(fe - p), col, 0, err)) != 0)
				return rc;
			p = fe;
		}
		if (p >= end)
			return 0;
		p++; /* the delimiter */
	}
}

int mp_csv_next_raw(mp_csv *c, const char **row, size_t *len, int *quoted, mp_err *err)
{
	for (;;) {
		size_t scan = c->pos;
		int inq = 0, sawq = 0, rc;
		int64_t newlines = 0;
		long end;

		while ((end = find_row_end(c, &scan, &inq, &sawq, &newlines)) < 0) {
			size_t shift = c->pos;

			if ((rc = refill(c, err)) != 0)
				return rc;
			scan -= shift;
		}
		if (c->pos == c->len && c->eof)
			return 0;
		c->line = c->next_line;
		c->next_line += 1 + newlines;
		if (inq)
			return mp_error(err, MP_EINVAL, "%s:%lld: a quoted field is not closed before the end of the file",
					c->path, (long long)c->line);
		{
			char *start = c->buf + c->pos, *stop = c->buf + end;
			size_t used = (size_t)end - c->pos + ((size_t)end < c->len ? 1 : 0);

			c->pos += used;
			c->consumed += used;
			if (stop > start && stop[-1] == '\r')
				stop--;
			if (stop == start)
				continue; /* a blank line */
			c->row = start;
			c->row_end = stop;
			c->fields.n = 0;
			*row = start;
			*len = (size_t)(stop - start);
			*quoted = sawq;
			return 1;
		}
	}
}

int mp_csv_split(mp_csv *c, mp_err *err)
{
	return mp_csv_split_row(c->row, (size_t)(c->row_end - c->row), c->delim, &c->fields, c->path, c->line, err);
}

int mp_csv_next(mp_csv *c, mp_err *err)
{
	const char *row;
	size_t len;
	int quoted, rc;

	if ((rc = mp_csv_next_raw(c, &row, &len, &quoted, err)) != 1)
		return rc;
	return mp_csv_split(c, err) == 0 ? 1 : err->code;
}
