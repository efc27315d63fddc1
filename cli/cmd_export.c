/* mlpipe predict and mlpipe export: a trained model outside the pipeline. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/export.h"
#include "cli/cli.h"
#include "data/examples.h"
#include "data/csv.h"
#include "data/idx.h"

#define PREDICT_BATCH 256

const char mp_predict_usage[] =
	"usage: mlpipe predict MODEL INPUT [-o OUT.csv] [--delimiter C] [--drop COLUMN]...\n"
	"                      [--skip-rows N] [--columns A,B,...] [--on-bad-row error|skip]\n"
	"\n"
	"Runs a model (a model.mlpm, or a folder holding one: a pushed version,\n"
	"a Trainer's output) over INPUT and writes one CSV row per example: the\n"
	"predicted class and each class's probability, or the predicted value.\n"
	"\n"
	"INPUT is a CSV file with a header row (plain or gzip), whose columns are\n"
	"found by name, or an IDX image file (the MNIST format) whose pixels are\n"
	"pixel0, pixel1, ...  The model applies its own transform.  Empty fields\n"
	"and NA, N/A, #N/A, NULL, null are missing.  Input streams through: a\n"
	"file of any size needs memory for one batch.\n"
	"\n"
	"  -o OUT          write OUT (complete or not at all) instead of stdout\n"
	"  --delimiter C   the CSV delimiter (default ,; 'tab' for tabs)\n"
	"  --drop COLUMN   a model trained without a transform reads every other\n"
	"                  column, in order; drop the label or an id this way\n"
	"  --skip-rows N   skip N rows at the start of the file (as ExampleGen's skip_rows)\n"
	"  --columns A,B   the column names, for a file without a header row\n"
	"  --on-bad-row error|skip\n"
	"                  a row with the wrong number of fields or a number that is\n"
	"                  not one: stop with its file:line:col (the default), or\n"
	"                  skip it (no output row; the count goes to stderr)\n";

const char mp_export_usage[] =
	"usage: mlpipe export MODEL --format c|onnx -o PATH\n"
	"\n"
	"Writes a model (a model.mlpm, or a folder holding one) in a form other\n"
	"programs run, with its transform inside, taking the raw features:\n"
	"\n"
	"  c     PATH.h and PATH.c: C99 that needs only a C compiler and libm\n"
	"        (cc -c PATH.c; link with -lm)\n"
	"  onnx  PATH: an ONNX model (IR 9, opset 19) for ONNX Runtime and others;\n"
	"        inputs 'numbers' float32 [N, K] (and 'strings' string [N, S]),\n"
	"        outputs 'probabilities' and 'label', or 'value'\n";

/* ---- reading the input ------------------------------------------------- */

/* Whether s[0..n) means missing: empty, or one of ExampleGen's default
 * na_values. */
static int is_na(const char *s, size_t n)
{
	return n == 0 || mp_lines_has(MP_CSV_NA_DEFAULT, s, n);
}

/* 1 when path (plain or gzip) starts with the IDX magic of images. */
static int is_idx_images(const char *path, mp_err *err)
{
	gzFile gz = gzopen(path, "rb");
	unsigned char m[4];
	int got;

	if (!gz)
		return mp_error(err, errno == ENOENT ? MP_ENOTFOUND : MP_EIO, "cannot read '%s': %s", path,
				strerror(errno ? errno : EIO));
	got = gzread(gz, m, 4);
	gzclose(gz);
	return got == 4 && m[0] == 0 && m[1] == 0 && m[2] == 8 && m[3] == 3;
}

typedef struct predictor {
	mp_served s;
	mp_block b;
	float *out;
	FILE *fp;
	const char *out_path;
	int64_t rows;
	/* CSV */
	char delim;
	const mp_optlist *drop;
	int64_t skip_rows;
	const char *columns; /* "a,b,c", or NULL: the header row */
	int skip_bad;
	int64_t bad_rows;
	mp_err first_bad;
} predictor;

static void write_header(predictor *p)
{
	mp_predictions_header(&p->s, p->fp);
}

/* Predicts the block's rows and writes them. */
static int flush_block(predictor *p, mp_err *err)
{
	if (!p->b.rows)
		return 0;
	mp_served_predict(&p->s, &p->b, 0, p->b.rows, p->out, NULL);
	mp_predictions_rows(&p->s, p->out, p->b.rows, p->fp);
	p->rows += (int64_t)p->b.rows;
	mp_block_clear(&p->b);
	if (ferror(p->fp))
		return mp_error(err, MP_EIO, "cannot write '%s': %s", p->out_path, strerror(errno));
	return 0;
}

static int predict_idx(predictor *p, const char *path, mp_err *err)
{
	mp_idx x = {0};
	uint8_t *buf = NULL;
	int *pix = NULL, rc;
	size_t f, r, got;

	if ((rc = mp_idx_open(&x, path, 3, err)) != 0)
		return rc;
	if (p->s.nstr) {
		rc = mp_error(err, MP_EINVAL, "'%s' holds images, and the model reads strings ('%s')", path,
			      p->s.features[p->s.nnum].name);
		goto out;
	}
	if (!(pix = mp_calloc(p->s.nnum + 1, sizeof(int))) || !(buf = mp_malloc(PREDICT_BATCH * x.item_size))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (f = 0; f < p->s.nnum; f++) {
		const char *name = p->s.features[f].name;
		char *end;
		long k;

		if (!p->s.has_transform) {
			k = (long)f;
		} else if (strncmp(name, "pixel", 5) || !isdigit((unsigned char)name[5]) ||
			   (k = strtol(name + 5, &end, 10), *end)) {
			rc = mp_error(err, MP_EINVAL, "'%s' holds images; the model reads '%s', which is not a pixel",
				      path, name);
			goto out;
		}
		if ((size_t)k >= x.item_size) {
			rc = mp_error(err, MP_EINVAL, "'%s' has %zu pixels per image; the model reads %s", path,
				      x.item_size, p->s.has_transform ? name : "more");
			goto out;
		}
		pix[f] = (int)k;
	}
	if (!p->s.has_transform && p->s.nnum != x.item_size) {
		rc = mp_error(err, MP_EINVAL, "'%s' has %zu pixels per image; the model reads %zu numbers", path,
			      x.item_size, p->s.nnum);
		goto out;
	}
	for (;;) {
		if ((rc = mp_idx_read(&x, buf, PREDICT_BATCH, &got, err)) != 0)
			goto out;
		if (!got)
			break;
		for (r = 0; r < got; r++) {
			for (f = 0; f < p->s.nnum; f++)
				mp_block_set_float(&p->b, f, buf[r * x.item_size + (size_t)pix[f]]);
			mp_block_end_row(&p->b);
		}
		if ((rc = flush_block(p, err)) != 0)
			goto out;
	}
out:
	mp_idx_close(&x);
	free(buf);
	free(pix);
	return rc;
}

/* The column names: --columns, or the header row. */
static int read_header(predictor *p, mp_csv *c, const char *path, char ***header, size_t *ncols, mp_err *err)
{
	const mp_csv_field *fl = NULL;
	size_t i, n = 0;
	int rc;

	*header = NULL;
	*ncols = 0;
	if (p->columns) {
		const char *q = p->columns;

		for (n = 1; *q; q++)
			n += *q == ',';
	} else {
		if ((rc = mp_csv_next(c, err)) <= 0)
			return rc < 0 ? rc : mp_error(err, MP_EINVAL, "'%s' is empty: a header row is needed", path);
		fl = mp_csv_fields(c, &n);
	}
	if (!(*header = mp_calloc(n, sizeof(char *))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	*ncols = n;
	for (i = 0; i < n; i++) {
		if (p->columns) {
			const char *q = p->columns;
			size_t k, len;

			for (k = 0; k < i; k++)
				q = strchr(q, ',') + 1;
			len = strcspn(q, ",");
			if (!len)
				return mp_error(err, MP_EINVAL, "--columns: column %zu has no name", i + 1);
			(*header)[i] = mp_strndup(q, len);
		} else {
			(*header)[i] = mp_strndup(fl[i].s, fl[i].n);
		}
		if (!(*header)[i])
			return mp_error(err, MP_ENOMEM, "out of memory");
	}
	return 0;
}

/* A bad row: the error, or with --on-bad-row skip, counted (the first kept
 * for the message). */
static int bad_row(predictor *p, mp_err *err)
{
	if (!p->skip_bad)
		return err->code;
	if (!p->bad_rows++)
		p->first_bad = *err;
	mp_err_clear(err);
	return 0;
}

static int predict_csv(predictor *p, const char *path, mp_err *err)
{
	const mp_optlist *drop = p->drop;
	mp_csv *c = NULL;
	const mp_csv_field *fl;
	char **header = NULL;
	int *col = NULL, rc;
	size_t nf, ncols = 0, f, i, k;
	int64_t skipped;

	if ((rc = mp_csv_open(&c, path, p->delim, err)) != 0)
		return rc;
	for (skipped = 0; skipped < p->skip_rows && (rc = mp_csv_next(c, err)) == 1; skipped++)
		;
	if (rc < 0)
		goto out;
	if ((rc = read_header(p, c, path, &header, &ncols, err)) != 0)
		goto out;
	if (!(col = mp_calloc(p->s.nnum + p->s.nstr + 1, sizeof(int)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < drop->n; i++) {
		for (k = 0; k < ncols && strcmp(header[k], drop->items[i]); k++)
			;
		if (k == ncols) {
			rc = mp_error(err, MP_EINVAL, "--drop: '%s' has no column '%s'", path, drop->items[i]);
			goto out;
		}
	}
	if (p->s.has_transform) {
		for (f = 0; f < p->s.nnum + p->s.nstr; f++) {
			for (k = 0; k < ncols && strcmp(header[k], p->s.features[f].name); k++)
				;
			if (k == ncols) {
				rc = mp_error(err, MP_EINVAL, "'%s' has no column '%s', which the model reads", path,
					      p->s.features[f].name);
				goto out;
			}
			col[f] = (int)k;
		}
	} else {
		/* every column but the dropped ones, in order */
		for (k = 0, f = 0; k < ncols; k++) {
			for (i = 0; i < drop->n && strcmp(header[k], drop->items[i]); i++)
				;
			if (i == drop->n && f < p->s.nnum)
				col[f] = (int)k;
			f += i == drop->n;
		}
		if (f != p->s.nnum) {
			rc = mp_error(err, MP_EINVAL, "'%s' has %zu columns%s; the model reads %zu numbers", path, f,
				      drop->n ? " besides the dropped ones" : "", p->s.nnum);
			goto out;
		}
	}
	while ((rc = mp_csv_next(c, err)) == 1) {
		fl = mp_csv_fields(c, &nf);
		if (nf != ncols) {
			mp_error(err, MP_EINVAL, "%s:%lld: %zu fields; the %s has %zu", path, (long long)mp_csv_line(c), nf,
				 p->columns ? "--columns list" : "header", ncols);
			if ((rc = bad_row(p, err)) != 0)
				goto out;
			continue;
		}
		for (f = 0; f < p->s.nnum + p->s.nstr; f++) {
			const mp_csv_field *v = &fl[col[f]];

			if (f >= p->s.nnum) {
				if ((rc = mp_block_set_string(&p->b, f, is_na(v->s, v->n) ? NULL : v->s, v->n, err)) != 0)
					goto out;
			} else {
				const char *s = v->s;
				size_t n = v->n;
				float x;

				mp_trim(&s, &n);
				if (is_na(s, n)) {
					x = NAN;
				} else if (mp_parse_f32(s, n, &x) != 0) {
					mp_error(err, MP_EINVAL, "%s:%lld:%d: '%.*s' is not a number (column '%s')", path,
						 (long long)mp_csv_line(c), v->col, (int)(n > 40 ? 40 : n), s, header[col[f]]);
					break;
				}
				mp_block_set_float(&p->b, f, x);
			}
		}
		if (f < p->s.nnum + p->s.nstr) {
			/* the row is not ended: the next one is written over it */
			if ((rc = bad_row(p, err)) != 0)
				goto out;
			continue;
		}
		mp_block_end_row(&p->b);
		if (mp_block_full(&p->b) && (rc = flush_block(p, err)) != 0)
			goto out;
	}
	if (rc == 0)
		rc = flush_block(p, err);
out:
	for (i = 0; header && i < ncols; i++)
		free(header[i]);
	free(header);
	free(col);
	mp_csv_close(c);
	return rc;
}

int mp_cmd_predict(int argc, char **argv)
{
	const char *out = NULL, *delim = ",", *skip = NULL, *columns = NULL, *on_bad = "error";
	mp_optlist drop = {0};
	const mp_opt opts[] = {
		{"--output", "-o", &out, NULL, NULL},
		{"--delimiter", NULL, &delim, NULL, NULL},
		{"--drop", NULL, NULL, NULL, &drop},
		{"--skip-rows", NULL, &skip, NULL, NULL},
		{"--columns", NULL, &columns, NULL, NULL},
		{"--on-bad-row", NULL, &on_bad, NULL, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	predictor p = {0};
	mp_afile af = {0};
	char *pos[2];
	int npos, help, rc, idx, have_af = 0;
	int64_t t0 = mp_monotonic_ns();
	double secs;
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 2, &npos, &help, "predict", &err) != 0) {
		rc = mp_cli_fail(&err);
		goto done;
	}
	if (help || npos != 2) {
		fputs(mp_predict_usage, help ? stdout : stderr);
		rc = help ? MP_EXIT_OK : MP_EXIT_USAGE;
		goto done;
	}
	if (!strcmp(delim, "tab"))
		delim = "\t";
	if (strlen(delim) != 1) {
		mp_error(&err, MP_EINVAL, "--delimiter: '%s' is not one character (or 'tab')", delim);
		rc = mp_cli_fail(&err);
		goto done;
	}
	if (skip && mp_parse_i64(skip, 0, INT64_MAX, &p.skip_rows, "--skip-rows", &err) != 0) {
		rc = mp_cli_fail(&err);
		goto done;
	}
	if (strcmp(on_bad, "error") && strcmp(on_bad, "skip")) {
		mp_error(&err, MP_EINVAL, "--on-bad-row: '%s' is not error or skip", on_bad);
		rc = mp_cli_fail(&err);
		goto done;
	}
	if (columns && !*columns) {
		mp_error(&err, MP_EINVAL, "--columns: name the columns, A,B,...");
		rc = mp_cli_fail(&err);
		goto done;
	}
	p.delim = delim[0];
	p.drop = &drop;
	p.columns = columns;
	p.skip_bad = !strcmp(on_bad, "skip");
	if ((rc = mp_served_load(&p.s, pos[0], PREDICT_BATCH, &err)) != 0 ||
	    (rc = mp_served_block(&p.s, &p.b, PREDICT_BATCH, &err)) != 0)
		goto fail;
	if (!(p.out = mp_malloc(PREDICT_BATCH * p.s.nout * sizeof(float)))) {
		rc = mp_error(&err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	if ((idx = is_idx_images(pos[1], &err)) < 0) {
		rc = idx;
		goto fail;
	}
	if (out) {
		if ((rc = mp_afile_open(&af, out, &err)) != 0)
			goto fail;
		have_af = 1;
		p.fp = af.fp;
		p.out_path = out;
	} else {
		p.fp = stdout;
		p.out_path = "stdout";
	}
	write_header(&p);
	if (idx && (skip || columns || p.skip_bad)) {
		rc = mp_error(&err, MP_EINVAL, "'%s' holds images: --skip-rows, --columns and --on-bad-row are for CSV",
			      pos[1]);
		goto fail;
	}
	rc = idx ? predict_idx(&p, pos[1], &err) : predict_csv(&p, pos[1], &err);
	if (rc != 0)
		goto fail;
	if (have_af) {
		have_af = 0;
		if ((rc = mp_afile_commit(&af, &err)) != 0)
			goto fail;
	} else if (fflush(stdout) != 0) {
		rc = mp_error(&err, MP_EIO, "cannot write stdout: %s", strerror(errno));
		goto fail;
	}
	if (p.bad_rows)
		fprintf(stderr, "mlpipe: skipped %lld bad row%s (the first: %s)\n", (long long)p.bad_rows,
			p.bad_rows == 1 ? "" : "s", p.first_bad.msg);
	secs = (double)(mp_monotonic_ns() - t0) / 1e9;
	if (mp_log_get_level() > MP_LOG_QUIET)
		fprintf(stderr, "predicted %lld examples in %.2fs (%.0f examples/s)%s%s\n", (long long)p.rows, secs,
		secs > 0 ? (double)p.rows / secs : 0.0, out ? " into " : "", out ? out : "");
	rc = MP_EXIT_OK;
	goto done;
fail:
	if (have_af)
		mp_afile_abort(&af);
	rc = mp_cli_fail(&err);
done:
	mp_block_release(&p.b);
	mp_served_release(&p.s);
	free(p.out);
	free(drop.items);
	return rc;
}

int mp_cmd_export(int argc, char **argv)
{
	const char *format = NULL, *out = NULL;
	const mp_opt opts[] = {
		{"--format", "-f", &format, NULL, NULL},
		{"--output", "-o", &out, NULL, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	mp_served s = {0};
	char *pos[1];
	int npos, help, rc;
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 1, &npos, &help, "export", &err) != 0)
		return mp_cli_fail(&err);
	if (help || npos != 1 || !format || !out) {
		fputs(mp_export_usage, help ? stdout : stderr);
		return help ? MP_EXIT_OK : MP_EXIT_USAGE;
	}
	if (strcmp(format, "c") && strcmp(format, "onnx")) {
		mp_error(&err, MP_EINVAL, "--format: '%s' is not a format (c, onnx)", format);
		return mp_cli_fail(&err);
	}
	if ((rc = mp_served_load(&s, pos[0], 1, &err)) == 0)
		rc = !strcmp(format, "c") ? mp_export_c(&s, out, &err) : mp_export_onnx(&s, out, &err);
	mp_served_release(&s);
	if (rc != 0)
		return mp_cli_fail(&err);
	if (mp_log_get_level() > MP_LOG_QUIET) {
		if (!strcmp(format, "c"))
			fprintf(stderr, "wrote %s.h and %s.c\n", out, out);
		else
			fprintf(stderr, "wrote %s\n", out);
	}
	return MP_EXIT_OK;
}
