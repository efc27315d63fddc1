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
#include "components/example_gen.h"

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
	if (mp__eg_split_index(g, name) >= 0)
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
		if (g->val_fraction > 0 && mp__eg_split_index(g, "train") < 0)
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
			/* the images keep their shape: rows, columns, one channel */
			mp_examples_writer_set_shape(g->w, (const int[3]){(int)xi.shape[1], (int)xi.shape[2], 1});
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
				size_t s = !mp__eg_by_hash(g, g->src[i].split) ? (size_t)mp__eg_split_index(g, g->src[i].split)
					   : mp__eg_route(g, g->src[i].split, mp_fnv1a(lab + k, 1, mp_fnv1a(px, pixels, MP_FNV_SEED)));
				mp_block *b = mp_examples_writer_block(g->w, s);

				for (f = 0; f < pixels; f++)
					mp_block_set_float(b, f, (float)px[f]);
				mp_block_set_float(b, pixels, (float)lab[k]);
				rc = mp__eg_emit_row(g, s, err);
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
	rc = !strcmp(format, "csv") ? mp__eg_ingest_csv(&g, err) : ingest_idx(&g, err);
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
	.unkeyed = (const char *const[]){"threads", NULL},
	.run = run_example_gen,
};
