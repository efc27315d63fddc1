/* ExampleGen: CSV or IDX files in, an Examples artifact out (see
 * components/data/data.h for its layout).
 *
 * Sources: `path` (a file or a {SPAN}/{VERSION} pattern; with
 * `eval_fraction` split by a hash of each example's content) or `splits`
 * (a file per split).  CSV column types are inferred from the first
 * `infer_rows` rows: a column is a number when its non-missing values there
 * are numbers apart from a few (at most 1 in 20); a cell of a numeric column
 * that is not a number is then an error naming its file:line:col, or with
 * on_bad_value: missing, a missing value that is counted.  Everything streams: memory
 * holds one block per split and the rows used for inference.
 */
#include "components/component.h"
#include "core/pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/examples.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/span.h"

static const mp_param_spec params[] = {
	{"format", MP_PARAM_STRING, NULL, 0, 0, "csv or idx", "csv|idx", NULL},
	{"path", MP_PARAM_PATH, "", 0, 0,
	 "the input file, or a pattern with {SPAN} and {VERSION} (the newest is taken)", NULL, NULL},
	{"pattern", MP_PARAM_PATH, "", 0, 0, "the same as path (a name for patterns): data/span-{SPAN}.csv", NULL, NULL},
	{"splits", MP_PARAM_PATH_MAP, "", 0, 0,
	 "a file (or pattern) per split instead of path: {train: a.csv, eval: b.csv}", NULL, NULL},
	{"eval_fraction", MP_PARAM_FLOAT, "0", 0, 0.99,
	 "with path: this fraction goes to the eval split, by a hash of each example", NULL, NULL},
	{"validation_fraction", MP_PARAM_FLOAT, "0", 0, 0.99,
	 "this fraction goes to the validation split (what the Trainer validates on), by a hash of each example: "
	 "of all examples with path, of the train split's with splits", NULL, NULL},
	{"label", MP_PARAM_STRING, "", 0, 0, "the label column (CSV); IDX labels are called 'label'", NULL, NULL},
	{"label_names", MP_PARAM_LIST, "", 0, 0,
	 "names of the classes 0, 1, ... of a numeric label; they travel with the model into predict, the exports "
	 "and the reports", NULL, NULL},
	{"label_names_line", MP_PARAM_BOOL, "false", 0, 0,
	 "CSV: the file's first line names the classes after its leading numbers, as scikit-learn's CSVs do "
	 "(150,4,setosa,versicolor,virginica); it is read as label_names and skipped", NULL, NULL},
	{"labels", MP_PARAM_PATHS, "", 0, 0,
	 "IDX: the label files, in the order of the image files (default: the matching "
	 "*-labels-idx1-* file)", NULL, NULL},
	{"columns", MP_PARAM_LIST, "", 0, 0, "CSV: the column names, when the file has no header row", NULL, NULL},
	{"string_columns", MP_PARAM_LIST, "", 0, 0, "CSV: columns to keep as strings even when numeric", NULL, NULL},
	{"na_values", MP_PARAM_LIST, MP_CSV_NA_DEFAULT, 0, 0,
	 "CSV: values that mean missing (an empty field always does)", NULL, NULL},
	{"skip_rows", MP_PARAM_INT, "0", 0, 1e9, "CSV: rows to skip at the start of each file", NULL, NULL},
	{"delimiter", MP_PARAM_STRING, ",", 0, 0, "CSV: the field separator (one character, or 'tab')", NULL, NULL},
	{"infer_rows", MP_PARAM_INT, "1000", 1, 1e7, "CSV: rows read to decide each column's type", NULL, NULL},
	{"on_bad_value", MP_PARAM_STRING, "error", 0, 0,
	 "CSV: a cell that is not a number in a numeric column: error (naming its file:line:col) or missing "
	 "(read as missing, counted in the metric bad_values and reported by ExampleValidator)", "error|missing",
	 NULL},
	{"block_rows", MP_PARAM_INT, "0", 0, 1e6, "examples per block (0: about 1 MB of data each)", NULL, NULL},
	{"threads", MP_PARAM_INT, "2", 1, 16,
	 "CSV: threads that parse and compress blocks while one reads; IDX: 2 compresses on a second thread", NULL, NULL},
};

static const mp_io_spec outputs[] = {
	{"examples", "Examples", 0, "one folder of record shards per split, and examples.meta"},
};

/* One input file and the split it feeds (split -1: the hash decides). */
typedef struct source {
	const char *split;
	char *path;
	char *labels; /* IDX */
	int64_t span, version;
} source;

typedef struct gen {
	const mp_component_io *io;
	source *src;
	size_t nsrc;
	const char **split_names;
	size_t nsplits;
	double eval_fraction, val_fraction;
	int64_t span, version;
	mp_examples_writer *w;
	int64_t *rows; /* per split */
	int64_t bad_values; /* cells read as missing (on_bad_value: missing) */
	char **label_names; /* from label_names or label_names_line: point into names_buf */
	size_t nlabel_names;
	char *names_buf;
} gen;

static void free_sources(gen *g)
{
	size_t i;

	for (i = 0; i < g->nsrc; i++) {
		free(g->src[i].path);
		free(g->src[i].labels);
	}
	free(g->src);
	free(g->split_names);
	free(g->rows);
	free(g->label_names);
	free(g->names_buf);
}

static int split_index(const gen *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->nsplits; i++)
		if (strcmp(g->split_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* The matching labels file of an MNIST-style images file. */
static char *matching_labels(const char *images)
{
	const char *slash = strrchr(images, '/'), *base = slash ? slash + 1 : images;
	const char *hit = strstr(base, "images-idx3");
	char *out;

	if (!hit)
		return NULL;
	if (!(out = mp_asprintf("%.*slabels-idx1%s", (int)(hit - images), images, hit + strlen("images-idx3"))))
		return NULL;
	return out;
}

static int add_source(gen *g, size_t *alloc, const char *split, const char *pattern, mp_err *err)
{
	source *s;
	int rc;

	if (mp_grow((void **)&g->src, alloc, g->nsrc, sizeof(*g->src)) != 0)
		return mp_error(err, MP_ENOMEM, "out of memory");
	s = &g->src[g->nsrc];
	memset(s, 0, sizeof(*s));
	s->split = split;
	if ((rc = mp_resolve_span(pattern, g->io->workdir, &s->path, &s->span, &s->version, err)) != 0)
		return rc;
	g->nsrc++;
	if (!mp_path_exists(s->path))
		return mp_error(err, MP_ENOTFOUND, "input file '%s' does not exist", s->path);
	if (g->nsrc == 1) {
		g->span = s->span;
		g->version = s->version;
	} else if (s->span != g->span) {
		return mp_error(err, MP_EINVAL, "the splits' files are of different spans (%lld and %lld)",
				(long long)g->span, (long long)s->span);
	}
	return 0;
}

static int add_split_name(gen *g, size_t *alloc, const char *name, mp_err *err)
{
	if (split_index(g, name) >= 0)
		return 0;
	if (mp_grow((void **)&g->split_names, alloc, g->nsplits, sizeof(*g->split_names)) != 0)
		return mp_error(err, MP_ENOMEM, "out of memory");
	g->split_names[g->nsplits++] = name;
	return 0;
}

/* Works out the sources and split names from the params.  The strings in
 * g point into *mapbuf. */
static int plan_sources(gen *g, char **mapbuf, char ***mapitems, mp_err *err)
{
	const char *path = mp_io_param(g->io, "path"), *splits = mp_io_param(g->io, "splits");
	const char *pattern = mp_io_param(g->io, "pattern");
	size_t salloc = 0, nalloc = 0, n = 0, i;
	int rc;

	*mapbuf = NULL;
	*mapitems = NULL;
	g->eval_fraction = atof(mp_io_param(g->io, "eval_fraction"));
	g->val_fraction = atof(mp_io_param(g->io, "validation_fraction"));
	if (pattern && *pattern) {
		if (*path)
			return mp_error(err, MP_EINVAL, "ExampleGen takes 'path' or 'pattern', not both");
		path = pattern;
	}
	if (*path && *splits)
		return mp_error(err, MP_EINVAL, "ExampleGen takes 'path' or 'splits', not both");
	if (!*path && !*splits)
		return mp_error(err, MP_EINVAL, "ExampleGen needs 'path' or 'splits'");
	if (*splits) {
		if (g->eval_fraction > 0)
			return mp_error(err, MP_EINVAL, "'eval_fraction' goes with 'path', not with 'splits'");
		if ((rc = mp_param_lines(splits, mapbuf, mapitems, &n, err)) != 0)
			return rc;
		for (i = 0; i < n; i++) {
			char *eq = strchr((*mapitems)[i], '=');

			*eq = '\0';
			if (g->val_fraction > 0 && !strcmp((*mapitems)[i], "validation"))
				return mp_error(err, MP_EINVAL, "validation_fraction: 'splits' has a validation split already");
			if ((rc = add_split_name(g, &nalloc, (*mapitems)[i], err)) != 0 ||
			    (rc = add_source(g, &salloc, (*mapitems)[i], eq + 1, err)) != 0)
				return rc;
		}
		if (g->val_fraction > 0 && split_index(g, "train") < 0)
			return mp_error(err, MP_EINVAL, "validation_fraction: 'splits' has no train split to take it from");
		if (g->val_fraction > 0 && (rc = add_split_name(g, &nalloc, "validation", err)) != 0)
			return rc;
		return 0;
	}
	if (g->eval_fraction + g->val_fraction >= 1)
		return mp_error(err, MP_EINVAL, "eval_fraction and validation_fraction leave nothing to train on");
	if ((rc = add_split_name(g, &nalloc, "train", err)) != 0)
		return rc;
	if (g->eval_fraction > 0 && (rc = add_split_name(g, &nalloc, "eval", err)) != 0)
		return rc;
	if (g->val_fraction > 0 && (rc = add_split_name(g, &nalloc, "validation", err)) != 0)
		return rc;
	return add_source(g, &salloc, g->eval_fraction > 0 || g->val_fraction > 0 ? NULL : "train", path, err);
}

/* Whether an example of a source feeding split (NULL: the hash decides)
 * needs its hash to find its split: a hash split, or train when the
 * validation split is carved out of it. */
static int by_hash(const gen *g, const char *split)
{
	return !split || (g->val_fraction > 0 && !strcmp(split, "train"));
}

/* The split an example with hash h goes to (see by_hash). */
static size_t route(const gen *g, const char *split, uint64_t h)
{
	double v = (double)(h % 1000000), e = split ? 0 : g->eval_fraction;

	if (v < e * 1000000)
		return (size_t)split_index(g, "eval");
	if (v < (e + g->val_fraction) * 1000000)
		return (size_t)split_index(g, "validation");
	return (size_t)split_index(g, "train");
}

static int emit_row(gen *g, size_t split, mp_err *err)
{
	g->rows[split]++;
	return mp_examples_writer_row(g->w, split, err);
}

/* ---- IDX --------------------------------------------------------------- */

#define IDX_CHUNK 256

static int idx_labels_paths(gen *g, mp_err *err)
{
	const char *given = mp_io_param(g->io, "labels");
	char *buf = NULL, **items = NULL;
	size_t n = 0, i;
	int rc;

	if (*given) {
		if ((rc = mp_param_lines(given, &buf, &items, &n, err)) != 0)
			return rc;
		if (n != g->nsrc) {
			free(items);
			free(buf);
			return mp_error(err, MP_EINVAL, "'labels' names %zu files for %zu image files", n, g->nsrc);
		}
	}
	for (i = 0; i < g->nsrc; i++) {
		if (n) {
			int64_t s, v;

			rc = mp_resolve_span(items[i], g->io->workdir, &g->src[i].labels, &s, &v, err);
		} else if (!(g->src[i].labels = matching_labels(g->src[i].path))) {
			rc = mp_error(err, MP_EINVAL,
				      "no labels file for '%s': name it in 'labels' (its name has no 'images-idx3' to match)",
				      g->src[i].path);
		} else {
			rc = 0;
		}
		if (rc != 0)
			break;
	}
	free(items);
	free(buf);
	return rc;
}

static int ingest_idx(gen *g, mp_err *err)
{
	mp_feature *feats = NULL;
	uint8_t *img = NULL, *lab = NULL;
	size_t nfeat = 0, i, f, k, pixels = 0;
	mp_idx xi, xl;
	int rc, open_i = 0, open_l = 0;

	memset(&xi, 0, sizeof(xi));
	memset(&xl, 0, sizeof(xl));
	if ((rc = idx_labels_paths(g, err)) != 0)
		return rc;
	for (i = 0; i < g->nsrc && rc == 0; i++) {
		if ((rc = mp_idx_open(&xi, g->src[i].path, 3, err)) != 0)
			break;
		open_i = 1;
		if ((rc = mp_idx_open(&xl, g->src[i].labels, 1, err)) != 0)
			break;
		open_l = 1;
		if (xl.count != xi.count) {
			rc = mp_error(err, MP_ECORRUPT, "'%s' has %lld labels for the %lld images of '%s'", xl.path,
				      (long long)xl.count, (long long)xi.count, xi.path);
			break;
		}
		if (!feats) {
			pixels = xi.item_size;
			nfeat = pixels + 1;
			if (!(feats = mp_calloc(nfeat, sizeof(*feats))) || !(img = mp_malloc(IDX_CHUNK * pixels)) ||
			    !(lab = mp_malloc(IDX_CHUNK))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			for (f = 0; f < pixels; f++) {
				feats[f].type = MP_FEAT_FLOAT;
				if (!(feats[f].name = mp_asprintf("pixel%zu", f))) {
					rc = mp_error(err, MP_ENOMEM, "out of memory");
					break;
				}
			}
			feats[pixels].type = MP_FEAT_FLOAT;
			if (rc == 0 && !(feats[pixels].name = mp_strdup("label")))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			if (rc == 0)
				rc = mp_examples_writer_open(&g->w, mp_io_output(g->io, "examples"), feats, nfeat,
							     g->split_names, g->nsplits,
							     (size_t)atoll(mp_io_param(g->io, "block_rows")) ?
								     (size_t)atoll(mp_io_param(g->io, "block_rows")) :
								     (size_t)((1u << 20) / (4 * nfeat) + 1),
							     atoi(mp_io_param(g->io, "threads")), err);
			if (rc != 0)
				break;
		} else if (xi.item_size != pixels) {
			rc = mp_error(err, MP_EINVAL, "'%s' has images of %zu pixels, the first file %zu", xi.path,
				      xi.item_size, pixels);
			break;
		}
		for (;;) {
			size_t got_i, got_l;

			if ((rc = mp_idx_read(&xi, img, IDX_CHUNK, &got_i, err)) != 0 ||
			    (rc = mp_idx_read(&xl, lab, IDX_CHUNK, &got_l, err)) != 0)
				break;
			if (got_i == 0)
				break;
			for (k = 0; k < got_i && rc == 0; k++) {
				const uint8_t *px = img + k * pixels;
				size_t s = !by_hash(g, g->src[i].split) ? (size_t)split_index(g, g->src[i].split)
					   : route(g, g->src[i].split, mp_fnv1a(lab + k, 1, mp_fnv1a(px, pixels, MP_FNV_SEED)));
				mp_block *b = mp_examples_writer_block(g->w, s);

				for (f = 0; f < pixels; f++)
					mp_block_set_float(b, f, (float)px[f]);
				mp_block_set_float(b, pixels, (float)lab[k]);
				rc = emit_row(g, s, err);
			}
			if (rc != 0)
				break;
		}
		mp_idx_close(&xi);
		mp_idx_close(&xl);
		open_i = open_l = 0;
	}
	if (open_i)
		mp_idx_close(&xi);
	if (open_l)
		mp_idx_close(&xl);
	if (rc == 0 && g->w)
		rc = mp_examples_writer_set_label_names(g->w, g->label_names, g->nlabel_names, err);
	if (rc == 0 && g->w) {
		rc = mp_examples_writer_close(g->w, "label", g->span, g->version, 0, err);
		g->w = NULL;
	}
	for (f = 0; feats && f < nfeat; f++)
		free(feats[f].name);
	free(feats);
	free(img);
	free(lab);
	return rc;
}

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

static int in_list(const char *list, const char *name)
{
	const char *p = list;
	size_t n = strlen(name);

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len + (nl ? 1 : 0);
	}
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
	if (!by_hash(x->g, split)) {
		*sidx = (size_t)split_index(x->g, split);
	} else {
		uint64_t h = MP_FNV_SEED;

		for (i = 0; i < n; i++)
			h = mp_fnv1a(fl[i].s, fl[i].n, mp_fnv1a("\x1f", 1, h));
		*sidx = route(x->g, split, h);
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

	if (!by_hash(x->g, split)) {
		*sidx = (size_t)split_index(x->g, split);
	} else {
		/* the hash of the fields, as csv_row computes it */
		uint64_t h = mp_fnv1a("\x1f", 1, MP_FNV_SEED);
		const char *q;

		for (q = row; q < end; q++)
			h = mp_fnv1a(*q == delim ? "\x1f" : q, 1, h);
		*sidx = route(x->g, split, h);
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
		x->is_string[i] = in_list(forced, x->feats[i].name);
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

static int ingest_csv(gen *g, mp_err *err)
{
	const char *d = mp_io_param(g->io, "delimiter"), *label = mp_io_param(g->io, "label");
	int64_t infer = atoll(mp_io_param(g->io, "infer_rows")), block_rows = atoll(mp_io_param(g->io, "block_rows"));
	int threads = atoi(mp_io_param(g->io, "threads"));
	held_row *held = NULL;
	size_t nheld = 0, aheld = 0, i, h;
	csv_pool P;
	int pool_up = 0, rc = 0, names_line;
	csv_ctx x;

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
	for (i = 0; i < g->nsrc && rc == 0; i++) {
		const char *path = g->src[i].path, *row;
		mp_csv *c = NULL;
		size_t len;
		int64_t k;
		int quoted;

		if ((rc = mp_csv_open(&c, path, x.delim, err)) != 0)
			break;
		if (names_line && (rc = read_names_line(g, c, err)) != 0) {
			mp_csv_close(c);
			break;
		}
		for (k = 0; k < x.skip && (rc = mp_csv_next(c, err)) == 1; k++)
			;
		if (rc >= 0)
			rc = csv_header(&x, c, err);
		if (rc == 0 && i == 0) {
			/* hold the first rows, decide the types, start the workers */
			while ((int64_t)nheld < infer && (rc = mp_csv_next_raw(c, &row, &len, &quoted, err)) == 1) {
				if (mp_grow((void **)&held, &aheld, nheld, sizeof(*held)) != 0 ||
				    !(held[nheld].text = mp_malloc(len + 1))) {
					rc = mp_error(err, MP_ENOMEM, "out of memory");
					break;
				}
				memcpy(held[nheld].text, row, len);
				held[nheld].len = len;
				held[nheld].quoted = quoted;
				held[nheld].line = mp_csv_line(c);
				nheld++;
				rc = 0;
			}
			if (rc >= 0)
				rc = infer_types(&x, held, nheld, path, err);
			if (rc == 0 && !(x.bad = mp_calloc(g->nsplits * x.ncols + 1, sizeof(*x.bad))))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			if (rc == 0 && *label) {
				size_t f;

				for (f = 0; f < x.ncols && strcmp(x.feats[f].name, label); f++)
					;
				if (f == x.ncols)
					rc = mp_error(err, MP_EINVAL, "'%s' has no column '%s' (the label)", path, label);
				else if (g->nlabel_names && x.feats[f].type == MP_FEAT_STRING)
					rc = mp_error(err, MP_EINVAL, "label_names: the label '%s' is text; its values are "
						      "its names", label);
			}
			if (!block_rows) {
				block_rows = (int64_t)((1u << 20) / (4 * x.ncols + 8) + 1);
				if (block_rows > 4096)
					block_rows = 4096;
			}
			if (rc == 0)
				rc = mp_examples_writer_open(&g->w, mp_io_output(g->io, "examples"), x.feats, x.ncols,
							     g->split_names, g->nsplits, (size_t)block_rows, 1, err);
			if (rc == 0 && (rc = pool_start(&P, &x, (size_t)block_rows, threads, err)) == 0)
				pool_up = 1;
			else if (!pool_up && P.b)
				pool_stop(&P);
			for (h = 0; rc == 0 && h < nheld; h++)
				rc = add_row(&P, held[h].text, held[h].len, held[h].quoted, held[h].line, g->src[i].split,
					     path, err);
		}
		while (rc == 0 && (rc = mp_csv_next_raw(c, &row, &len, &quoted, err)) == 1)
			rc = add_row(&P, row, len, quoted, mp_csv_line(c), g->src[i].split, path, err);
		if (rc > 0)
			rc = 0;
		if (rc == 0 && pool_up)
			rc = pool_finish(&P, err);
		mp_csv_close(c);
	}
	if (pool_up)
		pool_stop(&P);
	for (h = 0; h < nheld; h++)
		free(held[h].text);
	free(held);
	if (rc == 0 && !g->w)
		rc = mp_error(err, MP_EINVAL, "no input rows");
	for (h = 0; rc == 0 && x.bad && h < g->nsplits * x.ncols; h++)
		if (x.bad[h]) {
			fprintf(stderr, "mlpipe: split %s, column '%s': %lld cells are not numbers, read as missing\n",
				g->split_names[h / x.ncols], x.feats[h % x.ncols].name, (long long)x.bad[h]);
			g->bad_values += x.bad[h];
			rc = mp_examples_writer_set_bad(g->w, h / x.ncols, h % x.ncols, x.bad[h], err);
		}
	if (rc == 0)
		rc = mp_examples_writer_set_label_names(g->w, g->label_names, g->nlabel_names, err);
	if (rc == 0) {
		rc = mp_examples_writer_close(g->w, *label ? label : NULL, g->span, g->version, 0, err);
		g->w = NULL;
	}
	free(x.bad);
	for (i = 0; x.feats && i < x.ncols; i++)
		free(x.feats[i].name);
	free(x.feats);
	free(x.is_string);
	free(x.na);
	free(x.na_buf);
	return rc;
}

/* ---- the component ----------------------------------------------------- */

static int run_example_gen(const mp_component_io *io, mp_err *err)
{
	const char *format = mp_io_param(io, "format");
	char *mapbuf = NULL, **mapitems = NULL;
	gen g;
	size_t i;
	int rc;

	memset(&g, 0, sizeof(g));
	g.io = io;
	g.span = g.version = -1;
	if (strcmp(format, "csv") != 0 && strcmp(format, "idx") != 0) {
		rc = mp_error(err, MP_EINVAL, "format: '%s' is not csv or idx", format);
		goto out;
	}
	if ((rc = plan_sources(&g, &mapbuf, &mapitems, err)) != 0 ||
	    (rc = mp_param_lines(mp_io_param(io, "label_names"), &g.names_buf, &g.label_names, &g.nlabel_names, err)) != 0)
		goto out;
	if (g.nlabel_names && !*mp_io_param(io, "label") && !strcmp(format, "csv")) {
		rc = mp_error(err, MP_EINVAL, "label_names: name the label column too");
		goto out;
	}
	if (!(g.rows = mp_calloc(g.nsplits, sizeof(*g.rows)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	rc = !strcmp(format, "csv") ? ingest_csv(&g, err) : ingest_idx(&g, err);
	if (rc != 0)
		goto out;
	for (i = 0; i < g.nsplits && rc == 0; i++) {
		char name[128];

		snprintf(name, sizeof(name), "rows_%s", g.split_names[i]);
		if (mp_result_metric(io->result, name, 0, (double)g.rows[i]) != 0 ||
		    mp_result_prop_int(io->result, "examples", name, g.rows[i]) != 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	}
	if (rc == 0 && !strcmp(mp_io_param(io, "on_bad_value"), "missing") &&
	    mp_result_metric(io->result, "bad_values", 0, (double)g.bad_values) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0 && g.nlabel_names) {
		mp_strbuf sb = MP_STRBUF_INIT;

		for (i = 0; i < g.nlabel_names; i++) {
			mp_strbuf_adds(&sb, i ? ", " : "");
			mp_strbuf_adds(&sb, g.label_names[i]);
		}
		if (sb.failed || mp_result_prop_string(io->result, "examples", "label_names", sb.buf) != 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		mp_strbuf_release(&sb);
	}
	if (rc == 0 && g.span >= 0 && mp_result_prop_int(io->result, "examples", "span", g.span) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0 && g.version >= 0 && mp_result_prop_int(io->result, "examples", "version", g.version) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
out:
	if (g.w)
		mp_examples_writer_close(g.w, NULL, 0, 0, 1, NULL);
	free_sources(&g);
	free(mapitems);
	free(mapbuf);
	return rc;
}

const mp_component_type mp_example_gen_component = {
	.name = "ExampleGen",
	.version = "2",
	.summary = "reads CSV or IDX files into an Examples artifact (record shards per split)",
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.run = run_example_gen,
};
