/* ExampleGen's CSV reading (see example_gen.h): the header, type
 * inference on the first rows, cells parsed and blocks compressed on the
 * thread pool, written in the order they were read. */
#include "components/example_gen.h"
#include "core/pool.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data/examples.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/span.h"

/* ---- CSV --------------------------------------------------------------- */

/* The reading thread finds rows and copies them into batches of block_rows
 * rows; workers (`threads` of them) parse a batch into one block per split
 * and compress it; the reading thread writes the finished batches in order.
 * Batch boundaries do not depend on the thread count, so neither do the
 * shards.  Column types come from the first infer_rows rows. */

typedef struct csv_ctx {
	gen *g;
	char delim;
	mp_feature *feats;
	size_t ncols;
	int *is_string;
	int64_t skip;
	char *na_buf;
	char **na;
	size_t nna;
	int bad_missing;   /* on_bad_value: missing */
	int64_t *bad;	   /* [split * ncols + column]: cells read as missing, added atomically */
} csv_ctx;

/* A cell of numeric column i that is not a number: an error, or with
 * on_bad_value: missing, a counted missing value. */
static int bad_cell(csv_ctx *x, mp_block *b, size_t sidx, size_t i, const char *path, int64_t line, int col,
		    const char *v, size_t vn, mp_err *err)
{
	if (x->bad_missing) {
		mp_block_set_float(b, i, NAN);
		__atomic_fetch_add(&x->bad[sidx * x->ncols + i], 1, __ATOMIC_RELAXED);
		return 0;
	}
	return mp_error(err, MP_EINVAL,
			"%s:%lld:%d: '%.*s' is not a number, but column '%s' is numeric (fix the cell; or set "
			"on_bad_value: missing to read such cells as missing, or list the column in string_columns)",
			path, (long long)line, col, (int)(vn > 40 ? 40 : vn), v, x->feats[i].name);
}

/* Whether s[0..n) is one of the values that mean missing. */
static int is_na(const csv_ctx *x, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < x->nna; i++)
		if (strlen(x->na[i]) == n && memcmp(x->na[i], s, n) == 0)
			return 1;
	return 0;
}

/* Reads the header (or takes `columns`) of one file; the first file sets the
 * names, the others must match them. */
static int csv_header(csv_ctx *x, mp_csv *c, mp_err *err)
{
	const char *cols = mp_io_param(x->g->io, "columns");
	char *buf = NULL, **items = NULL;
	const mp_csv_field *fl = NULL;
	mp_name_index names = {0};
	size_t n = 0, i;
	int rc, dup;

	if (*cols) {
		if ((rc = mp_param_lines(cols, &buf, &items, &n, err)) != 0)
			return rc;
	} else {
		if ((rc = mp_csv_next(c, err)) < 0)
			return rc;
		if (rc == 0)
			return mp_error(err, MP_EINVAL, "'%s' is empty: no header row", mp_csv_path(c));
		rc = 0;
		fl = mp_csv_fields(c, &n);
	}
	if (!x->feats) {
		x->ncols = n;
		if (!(x->feats = mp_calloc(n, sizeof(*x->feats))) || !(x->is_string = mp_calloc(n, sizeof(int)))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++) {
			const char *s = items ? items[i] : fl[i].s;
			size_t len = items ? strlen(items[i]) : fl[i].n;

			if (!items)
				mp_trim(&s, &len);
			if (len == 0 || memchr(s, '\t', len) || memchr(s, '\n', len)) {
				rc = mp_error(err, MP_EINVAL, "%s:%lld:%d: column %zu needs a name without tabs or newlines",
					      mp_csv_path(c), (long long)mp_csv_line(c), items ? 1 : fl[i].col, i + 1);
				goto out;
			}
			if (!(x->feats[i].name = mp_strndup(s, len))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				goto out;
			}
			if ((dup = mp_name_index_add(&names, x->feats[i].name, i, NULL)) != 0) {
				rc = dup < 0 ? mp_error(err, MP_ENOMEM, "out of memory")
					     : mp_error(err, MP_EINVAL, "%s:%lld: column name '%s' appears twice",
							mp_csv_path(c), (long long)mp_csv_line(c), x->feats[i].name);
				goto out;
			}
		}
	} else {
		int same = n == x->ncols;

		for (i = 0; same && i < n; i++) {
			const char *s = items ? items[i] : fl[i].s;
			size_t len = items ? strlen(items[i]) : fl[i].n;

			if (!items)
				mp_trim(&s, &len);
			same = strlen(x->feats[i].name) == len && strncmp(x->feats[i].name, s, len) == 0;
		}
		if (!same)
			rc = mp_error(err, MP_EINVAL, "%s:%lld: the columns differ from the first file's",
				      mp_csv_path(c), (long long)mp_csv_line(c));
	}
out:
	mp_name_index_release(&names);
	free(items);
	free(buf);
	return rc;
}

/* ---- parsing rows into blocks ---- */

/* Parses one row given as fields into blocks[split]; *sidx gets the split. */
static int csv_row(csv_ctx *x, mp_block *blocks, const char *path, int64_t line, const mp_csv_field *fl,
		   size_t n, const char *split, size_t *sidx, mp_err *err)
{
	size_t i;
	mp_block *b;
	int rc;

	if (n != x->ncols)
		return mp_error(err, MP_EINVAL, "%s:%lld:%d: %zu fields, but there are %zu columns", path,
				(long long)line,
				n > x->ncols ? fl[x->ncols].col : n ? fl[n - 1].col + (int)fl[n - 1].n : 1, n,
				x->ncols);
	if (!mp__eg_by_hash(x->g, split)) {
		*sidx = (size_t)mp__eg_split_index(x->g, split);
	} else {
		uint64_t h = MP_FNV_SEED;

		for (i = 0; i < n; i++)
			h = mp_fnv1a(fl[i].s, fl[i].n, mp_fnv1a("\x1f", 1, h));
		*sidx = mp__eg_route(x->g, split, h);
	}
	b = &blocks[*sidx];
	for (i = 0; i < n; i++) {
		const char *v = fl[i].s;
		size_t vn = fl[i].n;

		if (x->is_string[i]) {
			int missing = vn == 0 ? !fl[i].quoted : !fl[i].quoted && is_na(x, v, vn);

			if ((rc = mp_block_set_string(b, i, missing ? NULL : v, vn, err)) != 0)
				return rc;
		} else {
			float f;

			mp_trim(&v, &vn);
			if (vn == 0 || (mp_parse_f32(v, vn, &f) != 0 && is_na(x, v, vn)))
				mp_block_set_float(b, i, NAN);
			else if (mp_parse_f32(v, vn, &f) != 0) {
				if ((rc = bad_cell(x, b, *sidx, i, path, line, fl[i].col, v, vn, err)) != 0)
					return rc;
			} else
				mp_block_set_float(b, i, f);
		}
	}
	mp_block_end_row(b);
	return 0;
}

/* The same for a row without quotes, in one pass: fields are found and
 * numbers parsed as the row is scanned (most rows of most files). */
static int csv_row_fast(csv_ctx *x, mp_block *blocks, const char *path, int64_t line, const char *row,
			size_t len, const char *split, size_t *sidx, mp_err *err)
{
	const char *p = row, *end = row + len;
	const char delim = x->delim;
	size_t i;
	mp_block *b;
	int rc;

	if (!mp__eg_by_hash(x->g, split)) {
		*sidx = (size_t)mp__eg_split_index(x->g, split);
	} else {
		/* the hash of the fields, as csv_row computes it */
		uint64_t h = mp_fnv1a("\x1f", 1, MP_FNV_SEED);
		const char *q;

		for (q = row; q < end; q++)
			h = mp_fnv1a(*q == delim ? "\x1f" : q, 1, h);
		*sidx = mp__eg_route(x->g, split, h);
	}
	b = &blocks[*sidx];
	for (i = 0; i < x->ncols; i++) {
		const char *fs = p;

		if (!x->is_string[i]) {
			uint32_t v = 0;
			unsigned d;

			while (p < end && (d = (unsigned)(*p - '0')) < 10) {
				v = v * 10 + d;
				p++;
			}
			if ((p == end || *p == delim) && p > fs && p - fs <= 9) {
				mp_block_set_float(b, i, (float)v);
			} else {
				const char *v0;
				size_t vn;
				float f;

				while (p < end && *p != delim)
					p++;
				v0 = fs;
				vn = (size_t)(p - fs);
				mp_trim(&v0, &vn);
				if (vn == 0 || (mp_parse_f32(v0, vn, &f) != 0 && is_na(x, v0, vn)))
					mp_block_set_float(b, i, NAN);
				else if (mp_parse_f32(v0, vn, &f) != 0) {
					if ((rc = bad_cell(x, b, *sidx, i, path, line, (int)(v0 - row) + 1, v0, vn, err)) != 0)
						return rc;
				} else
					mp_block_set_float(b, i, f);
			}
		} else {
			size_t vn;

			while (p < end && *p != delim)
				p++;
			vn = (size_t)(p - fs);
			if ((rc = mp_block_set_string(b, i, vn == 0 || is_na(x, fs, vn) ? NULL : fs, vn, err)) != 0)
				return rc;
		}
		if (i + 1 < x->ncols) {
			if (p == end)
				return mp_error(err, MP_EINVAL, "%s:%lld:%d: %zu fields, but there are %zu columns", path,
						(long long)line, (int)(p - row) + 1, i + 1, x->ncols);
			p++;
		}
	}
	if (p != end) {
		size_t n = x->ncols;
		const char *q;

		for (q = p; q < end; q++)
			n += *q == delim;
		return mp_error(err, MP_EINVAL, "%s:%lld:%d: %zu fields, but there are %zu columns", path,
				(long long)line, (int)(p - row) + 2, n, x->ncols);
	}
	mp_block_end_row(b);
	return 0;
}

/* ---- batches of raw rows and the workers that parse them ---- */

typedef struct row_batch {
	char *text;
	size_t tlen, tcap;
	size_t *off; /* row i is text[off[i] .. off[i + 1]) */
	int64_t *line;
	uint8_t *quoted;
	size_t n, cap;
	const char *split; /* the source's split; NULL: by hash */
	const char *path;
	mp_block *blocks; /* one per split */
	uint8_t **enc;
	size_t *enccap, *enclen;
	mp_csv_fieldlist fl;
	int rc;
	mp_err err;
} row_batch;

/* Batches of raw rows parsed and compressed on the thread pool, written
 * in the order they were read. */
typedef struct csv_pool {
	csv_ctx *x;
	row_batch *b; /* nb batches, used in turn */
	size_t nb;
	uint64_t submitted;
	mp_pool *pool;
} csv_pool;

static void batch_release(row_batch *b, size_t nsplits)
{
	size_t s;

	free(b->text);
	free(b->off);
	free(b->line);
	free(b->quoted);
	for (s = 0; b->blocks && s < nsplits; s++) {
		mp_block_release(&b->blocks[s]);
		free(b->enc[s]);
	}
	free(b->blocks);
	free(b->enc);
	free(b->enccap);
	free(b->enclen);
	free(b->fl.items);
}

static int batch_init(csv_pool *P, row_batch *b, size_t rows, mp_err *err)
{
	size_t s, ns = P->x->g->nsplits;

	memset(b, 0, sizeof(*b));
	b->cap = rows;
	if (!(b->off = mp_calloc(rows + 1, sizeof(*b->off))) || !(b->line = mp_calloc(rows, sizeof(*b->line))) ||
	    !(b->quoted = mp_calloc(rows, 1)) || !(b->blocks = mp_calloc(ns, sizeof(*b->blocks))) ||
	    !(b->enc = mp_calloc(ns, sizeof(*b->enc))) || !(b->enccap = mp_calloc(ns, sizeof(size_t))) ||
	    !(b->enclen = mp_calloc(ns, sizeof(size_t))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (s = 0; s < ns; s++)
		if (mp_block_init(&b->blocks[s], P->x->feats, P->x->ncols, rows, err) != 0)
			return MP_ENOMEM;
	return 0;
}

/* Parses and compresses a batch (on a worker, or inline). */
static void process_batch(csv_pool *P, row_batch *b)
{
	csv_ctx *x = P->x;
	size_t i, s, sidx;
	int rc = 0;

	for (s = 0; s < x->g->nsplits; s++)
		mp_block_clear(&b->blocks[s]);
	for (i = 0; i < b->n && rc == 0; i++) {
		char *row = b->text + b->off[i];
		size_t len = b->off[i + 1] - b->off[i];

		if (!b->quoted[i]) {
			rc = csv_row_fast(x, b->blocks, b->path, b->line[i], row, len, b->split, &sidx, &b->err);
		} else if ((rc = mp_csv_split_row(row, len, x->delim, &b->fl, b->path, b->line[i], &b->err)) == 0) {
			rc = csv_row(x, b->blocks, b->path, b->line[i], b->fl.items, b->fl.n, b->split, &sidx, &b->err);
		}
	}
	for (s = 0; rc == 0 && s < x->g->nsplits; s++)
		if (b->blocks[s].rows)
			rc = mp_block_encode(&b->blocks[s], 1, &b->enc[s], &b->enccap[s], &b->enclen[s], &b->err);
	b->rc = rc;
}

static void parse_batch(void *ctx, void *item, int worker)
{
	(void)worker;
	process_batch(ctx, item);
}

/* Writes the oldest batch in flight, once parsed. */
static int write_oldest(csv_pool *P, mp_err *err)
{
	row_batch *b = mp_pool_take(P->pool);
	size_t s;
	int rc = 0;

	if (MP_NEVER(!b))
		return mp_error(err, MP_EINVAL, "internal error: no batch to write");
	if (b->rc != 0) {
		*err = b->err;
		return b->rc;
	}
	for (s = 0; s < P->x->g->nsplits && rc == 0; s++)
		if (b->blocks[s].rows) {
			rc = mp_examples_writer_put(P->x->g->w, s, b->enc[s], b->enclen[s], b->blocks[s].rows, err);
			P->x->g->rows[s] += (int64_t)b->blocks[s].rows;
		}
	b->n = 0;
	return rc;
}

/* The batch to fill next (writing out the one that held its place). */
static int pool_current(csv_pool *P, row_batch **out, mp_err *err)
{
	int rc;

	if (mp_pool_full(P->pool) && (rc = write_oldest(P, err)) != 0)
		return rc;
	*out = &P->b[P->submitted % P->nb];
	return 0;
}

static int pool_submit(csv_pool *P, row_batch *b, mp_err *err)
{
	(void)err;
	if (b->n == 0)
		return 0;
	mp_pool_submit(P->pool, b);
	P->submitted++;
	return 0;
}

/* Appends a raw row to the current batch, submitting it when full. */
static int add_row(csv_pool *P, const char *row, size_t len, int quoted, int64_t line, const char *split,
		   const char *path, mp_err *err)
{
	row_batch *b;
	int rc;

	if ((rc = pool_current(P, &b, err)) != 0)
		return rc;
	if (b->n && (b->split != split || b->path != path)) {
		/* a new source starts a new batch */
		if ((rc = pool_submit(P, b, err)) != 0 || (rc = pool_current(P, &b, err)) != 0)
			return rc;
	}
	if (b->n == 0) {
		b->tlen = 0;
		b->split = split;
		b->path = path;
	}
	if (b->tlen + len > b->tcap) {
		size_t cap = b->tcap ? b->tcap : 1 << 16;
		char *t;

		while (cap < b->tlen + len)
			cap *= 2;
		if (!(t = mp_realloc(b->text, cap)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		b->text = t;
		b->tcap = cap;
	}
	memcpy(b->text + b->tlen, row, len);
	b->off[b->n] = b->tlen;
	b->tlen += len;
	b->off[b->n + 1] = b->tlen;
	b->line[b->n] = line;
	b->quoted[b->n] = (uint8_t)quoted;
	b->n++;
	if (b->n == b->cap)
		return pool_submit(P, b, err);
	return 0;
}

static int pool_finish(csv_pool *P, mp_err *err)
{
	row_batch *b;
	int rc;

	if ((rc = pool_current(P, &b, err)) != 0 || (rc = pool_submit(P, b, err)) != 0)
		return rc;
	while (mp_pool_pending(P->pool))
		if ((rc = write_oldest(P, err)) != 0)
			return rc;
	return 0;
}

static void pool_stop(csv_pool *P)
{
	size_t i;

	mp_pool_free(P->pool, NULL);
	for (i = 0; P->b && i < P->nb; i++)
		batch_release(&P->b[i], P->x->g->nsplits);
	free(P->b);
}

/* With threads > 1, twice as many batches as threads are in flight. */
static int pool_start(csv_pool *P, csv_ctx *x, size_t rows, int threads, mp_err *err)
{
	size_t i;
	int rc;

	memset(P, 0, sizeof(*P));
	P->x = x;
	P->nb = threads > 1 ? (size_t)threads * 2 : 1;
	if (!(P->b = mp_calloc(P->nb, sizeof(*P->b))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < P->nb; i++)
		if ((rc = batch_init(P, &P->b[i], rows, err)) != 0)
			return rc;
	return mp_pool_create(&P->pool, threads > 1 ? threads : 0, P->nb, parse_batch, P, err);
}

/* ---- reading ---- */

/* A raw row kept for type inference. */
typedef struct held_row {
	char *text;
	size_t len;
	int quoted;
	int64_t line;
} held_row;

/* Decides each column's type from the held rows. */
static int infer_types(csv_ctx *x, held_row *held, size_t nheld, const char *path, mp_err *err)
{
	const char *forced = mp_io_param(x->g->io, "string_columns");
	mp_csv_fieldlist fl = {0};
	size_t i, r, cap = 0;
	char *copy = NULL;
	int rc = 0;

	int64_t *nums = mp_calloc(x->ncols + 1, sizeof(*nums)), *others = mp_calloc(x->ncols + 1, sizeof(*others));

	if (!nums || !others) {
		free(nums);
		free(others);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < x->ncols; i++)
		x->is_string[i] = mp_lines_has(forced, x->feats[i].name, strlen(x->feats[i].name));
	for (r = 0; r < nheld && rc == 0; r++) {
		/* split a copy: splitting unescapes quoted fields in place */
		if (held[r].len + 1 > cap) {
			char *c = mp_realloc(copy, held[r].len + 1);

			if (!c) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			copy = c;
			cap = held[r].len + 1;
		}
		memcpy(copy, held[r].text, held[r].len);
		if ((rc = mp_csv_split_row(copy, held[r].len, x->delim, &fl, path, held[r].line, err)) != 0)
			break;
		for (i = 0; i < x->ncols && i < fl.n; i++) {
			const char *s = fl.items[i].s;
			size_t n = fl.items[i].n;
			float v;

			if (x->is_string[i])
				continue;
			mp_trim(&s, &n);
			if (!n)
				continue;
			if (mp_parse_f32(s, n, &v) == 0)
				nums[i]++;
			else if (!is_na(x, s, n))
				others[i]++;
		}
	}
	/* numbers apart from a few: a stray word in a numeric column is a bad
	 * cell, not a reason to make the column categorical */
	for (i = 0; i < x->ncols; i++) {
		if (others[i] && (!nums[i] || others[i] * 20 > nums[i] + others[i]))
			x->is_string[i] = 1;
		x->feats[i].type = x->is_string[i] ? MP_FEAT_STRING : MP_FEAT_FLOAT;
	}
	free(nums);
	free(others);
	free(copy);
	free(fl.items);
	return rc;
}

/* label_names_line: the first line is "ROWS,COLUMNS,NAME0,NAME1,..."
 * (scikit-learn's iris.csv, wine_data.csv): the fields after the leading
 * numbers are the class names.  Every file must give the same names. */
static int read_names_line(gen *g, mp_csv *c, mp_err *err)
{
	const mp_csv_field *fl;
	size_t n, i, from;
	int rc;

	if ((rc = mp_csv_next(c, err)) <= 0)
		return rc < 0 ? rc : mp_error(err, MP_EINVAL, "'%s' is empty: no line of class names", mp_csv_path(c));
	fl = mp_csv_fields(c, &n);
	for (from = 0; from < n; from++) {
		float v;

		if (mp_parse_f32(fl[from].s, fl[from].n, &v) != 0)
			break;
	}
	if (from == n)
		return mp_error(err, MP_EINVAL, "%s:%lld: label_names_line: the line names no classes", mp_csv_path(c),
				(long long)mp_csv_line(c));
	if (g->label_names) {
		int same = g->nlabel_names == n - from;

		for (i = 0; same && i < n - from; i++)
			same = strlen(g->label_names[i]) == fl[from + i].n &&
			       !memcmp(g->label_names[i], fl[from + i].s, fl[from + i].n);
		return same ? 0
			    : mp_error(err, MP_EINVAL, "%s:%lld: label_names_line: other class names than the first file's",
				       mp_csv_path(c), (long long)mp_csv_line(c));
	}
	{
		/* as the label_names param gives them: one per line */
		mp_strbuf sb = MP_STRBUF_INIT;
		int rc2;

		for (i = from; i < n; i++) {
			mp_strbuf_adds(&sb, i > from ? "\n" : "");
			mp_strbuf_add(&sb, fl[i].s, fl[i].n);
		}
		rc2 = sb.failed ? mp_error(err, MP_ENOMEM, "out of memory")
				: mp_param_lines(sb.buf, &g->names_buf, &g->label_names, &g->nlabel_names, err);
		mp_strbuf_release(&sb);
		return rc2;
	}
}

/* The rows held for type inference (held[0..*n), grown). */
typedef struct held_rows {
	held_row *rows;
	size_t n, alloc;
} held_rows;

static void held_release(held_rows *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->rows[i].text);
	free(h->rows);
}

/* Holds up to infer rows of c. */
static int hold_rows(held_rows *h, mp_csv *c, int64_t infer, mp_err *err)
{
	const char *row;
	size_t len;
	int quoted, rc = 0;

	while ((int64_t)h->n < infer && (rc = mp_csv_next_raw(c, &row, &len, &quoted, err)) == 1) {
		if (mp_grow((void **)&h->rows, &h->alloc, h->n, sizeof(*h->rows)) != 0 ||
		    !(h->rows[h->n].text = mp_malloc(len + 1)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		memcpy(h->rows[h->n].text, row, len);
		h->rows[h->n].len = len;
		h->rows[h->n].quoted = quoted;
		h->rows[h->n].line = mp_csv_line(c);
		h->n++;
		rc = 0;
	}
	return rc < 0 ? rc : 0;
}

/* The label column exists and fits label_names. */
static int check_label_column(const csv_ctx *x, const char *label, const char *path, mp_err *err)
{
	size_t f;

	if (!*label)
		return 0;
	for (f = 0; f < x->ncols && strcmp(x->feats[f].name, label); f++)
		;
	if (f == x->ncols)
		return mp_error(err, MP_EINVAL, "'%s' has no column '%s' (the label)", path, label);
	if (x->g->nlabel_names && x->feats[f].type == MP_FEAT_STRING)
		return mp_error(err, MP_EINVAL, "label_names: the label '%s' is text; its values are its names", label);
	return 0;
}

/* From the first file's first rows: the types, the writer and the pool,
 * then the held rows go in. */
static int start_writing(csv_ctx *x, csv_pool *P, int *pool_up, mp_csv *c, const source *src, mp_err *err)
{
	gen *g = x->g;
	const char *label = mp_io_param(g->io, "label");
	int64_t block_rows = atoll(mp_io_param(g->io, "block_rows"));
	held_rows h = {NULL, 0, 0};
	size_t i;
	int rc;

	if ((rc = hold_rows(&h, c, atoll(mp_io_param(g->io, "infer_rows")), err)) == 0)
		rc = infer_types(x, h.rows, h.n, src->path, err);
	if (rc == 0 && !(x->bad = mp_calloc(g->nsplits * x->ncols + 1, sizeof(*x->bad))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0)
		rc = check_label_column(x, label, src->path, err);
	if (!block_rows) {
		block_rows = (int64_t)((1u << 20) / (4 * x->ncols + 8) + 1);
		if (block_rows > 4096)
			block_rows = 4096;
	}
	if (rc == 0)
		rc = mp_examples_writer_open(&g->w, mp_io_output(g->io, "examples"), x->feats, x->ncols, g->split_names,
					     g->nsplits, (size_t)block_rows, 1, err);
	if (rc == 0 && (rc = pool_start(P, x, (size_t)block_rows, atoi(mp_io_param(g->io, "threads")), err)) == 0)
		*pool_up = 1;
	else if (!*pool_up && P->b)
		pool_stop(P);
	for (i = 0; rc == 0 && i < h.n; i++)
		rc = add_row(P, h.rows[i].text, h.rows[i].len, h.rows[i].quoted, h.rows[i].line, src->split, src->path,
			     err);
	held_release(&h);
	return rc;
}

/* One source file into the pool (the first one also starts it). */
static int read_source(csv_ctx *x, csv_pool *P, int *pool_up, const source *src, int names_line, mp_err *err)
{
	const char *row;
	mp_csv *c = NULL;
	size_t len;
	int64_t k;
	int quoted, rc;

	if ((rc = mp_csv_open(&c, src->path, x->delim, err)) != 0)
		return rc;
	if (names_line && (rc = read_names_line(x->g, c, err)) != 0) {
		mp_csv_close(c);
		return rc;
	}
	for (k = 0; k < x->skip && (rc = mp_csv_next(c, err)) == 1; k++)
		;
	if (rc >= 0)
		rc = csv_header(x, c, err);
	if (rc == 0 && !*pool_up)
		rc = start_writing(x, P, pool_up, c, src, err);
	while (rc == 0 && (rc = mp_csv_next_raw(c, &row, &len, &quoted, err)) == 1)
		rc = add_row(P, row, len, quoted, mp_csv_line(c), src->split, src->path, err);
	if (rc > 0)
		rc = 0;
	if (rc == 0 && *pool_up)
		rc = pool_finish(P, err);
	mp_csv_close(c);
	return rc;
}

/* The cells read as missing, the class names, and examples.meta. */
static int finish_examples(csv_ctx *x, mp_err *err)
{
	gen *g = x->g;
	const char *label = mp_io_param(g->io, "label");
	size_t h;
	int rc = 0;

	if (!g->w)
		return mp_error(err, MP_EINVAL, "no input rows");
	for (h = 0; rc == 0 && x->bad && h < g->nsplits * x->ncols; h++)
		if (x->bad[h]) {
			fprintf(stderr, "mlpipe: split %s, column '%s': %lld cells are not numbers, read as missing\n",
				g->split_names[h / x->ncols], x->feats[h % x->ncols].name, (long long)x->bad[h]);
			g->bad_values += x->bad[h];
			rc = mp_examples_writer_set_bad(g->w, h / x->ncols, h % x->ncols, x->bad[h], err);
		}
	if (rc == 0)
		rc = mp_examples_writer_set_label_names(g->w, g->label_names, g->nlabel_names, err);
	if (rc == 0) {
		rc = mp_examples_writer_close(g->w, *label ? label : NULL, g->span, g->version, 0, err);
		g->w = NULL;
	}
	return rc;
}

int mp__eg_ingest_csv(gen *g, mp_err *err)
{
	const char *d = mp_io_param(g->io, "delimiter");
	int pool_up = 0, rc = 0, names_line;
	csv_pool P;
	csv_ctx x;
	size_t i;

	memset(&x, 0, sizeof(x));
	memset(&P, 0, sizeof(P));
	x.g = g;
	x.skip = atoll(mp_io_param(g->io, "skip_rows"));
	if (!strcmp(d, "tab") || !strcmp(d, "\\t"))
		x.delim = '\t';
	else if (strlen(d) == 1 && *d != '"' && *d != '\n' && *d != '\r')
		x.delim = *d;
	else
		return mp_error(err, MP_EINVAL, "delimiter: '%s' is not one character (or 'tab')", d);
	x.bad_missing = !strcmp(mp_io_param(g->io, "on_bad_value"), "missing");
	names_line = !strcmp(mp_io_param(g->io, "label_names_line"), "true");
	if (names_line && g->nlabel_names)
		return mp_error(err, MP_EINVAL, "label_names_line: the class names are given by label_names already");
	if ((rc = mp_param_lines(mp_io_param(g->io, "na_values"), &x.na_buf, &x.na, &x.nna, err)) != 0)
		return rc;
	for (i = 0; i < g->nsrc && rc == 0; i++)
		rc = read_source(&x, &P, &pool_up, &g->src[i], names_line, err);
	if (pool_up)
		pool_stop(&P);
	if (rc == 0)
		rc = finish_examples(&x, err);
	free(x.bad);
	for (i = 0; x.feats && i < x.ncols; i++)
		free(x.feats[i].name);
	free(x.feats);
	free(x.is_string);
	free(x.na);
	free(x.na_buf);
	return rc;
}
