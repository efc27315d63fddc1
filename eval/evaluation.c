/* The evaluation and blessing files: see evaluation.h. */
#include "eval/evaluation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/tsv.h"

/* Fields a line may have: a confusion row of up to MP_EVAL_CLASSES, a
 * slice with every metric. */
#define MAX_FIELDS 1100

/* ---- writing ----------------------------------------------------------- */

void mp_evaluation_format(const mp_evaluation *e, mp_strbuf *sb)
{
	size_t i, k;

	mp_strbuf_addf(sb, "mlpipe-evaluation 1\nsplit\t%s\nexamples\t%lld\n", e->split ? e->split : "",
		       (long long)e->examples);
	for (i = 0; i < e->nmetrics; i++)
		mp_strbuf_addf(sb, "metric\t%s\t%.9g\n", e->metrics[i].name, e->metrics[i].value);
	for (i = 0; i < e->nclasses; i++)
		mp_strbuf_addf(sb, "class\t%zu\tprecision\t%.9g\trecall\t%.9g\tf1\t%.9g\tsupport\t%lld\n", i,
			       e->classes[i].precision, e->classes[i].recall, e->classes[i].f1,
			       (long long)e->classes[i].support);
	for (i = 0; e->confusion && i < e->nclasses; i++) {
		mp_strbuf_addf(sb, "confusion\t%zu", i);
		for (k = 0; k < e->nclasses; k++)
			mp_strbuf_addf(sb, "\t%lld", (long long)e->confusion[i * e->nclasses + k]);
		mp_strbuf_adds(sb, "\n");
	}
	for (i = 0; i < e->nslices; i++) {
		const mp_slice_row *s = &e->slices[i];

		mp_strbuf_adds(sb, "slice\t");
		mp_tsv_escape(sb, s->feature);
		mp_strbuf_adds(sb, "\t");
		mp_tsv_escape(sb, s->value);
		mp_strbuf_addf(sb, "\texamples\t%lld", (long long)s->examples);
		for (k = 0; k < s->nmetrics; k++)
			mp_strbuf_addf(sb, "\t%s\t%.9g", s->metrics[k].name, s->metrics[k].value);
		mp_strbuf_adds(sb, "\n");
	}
}

void mp_blessing_format(const mp_blessing *b, mp_strbuf *sb)
{
	static const char *const result[] = {"held", "failed", "no baseline"};
	size_t i;

	mp_strbuf_adds(sb, "mlpipe-blessing 1\n");
	for (i = 0; i < b->nthresholds; i++) {
		const mp_threshold_row *t = &b->thresholds[i];

		mp_strbuf_addf(sb, "threshold\t%s\t%s\t%.9g\tvalue\t%.9g", t->metric, t->kind, t->limit, t->value);
		if (t->has_baseline)
			mp_strbuf_addf(sb, "\tbaseline\t%.9g", t->baseline);
		mp_strbuf_addf(sb, "\t%s\n", result[t->result]);
	}
	mp_strbuf_addf(sb, "blessed\t%s\nbaseline\t%s\n", b->blessed ? "yes" : "no", b->has_baseline ? "yes" : "none");
	mp_strbuf_addf(sb, "model_fingerprint\t%s\nbaseline_fingerprint\t%s\n", b->model_fp,
		       *b->baseline_fp ? b->baseline_fp : "none");
}

/* ---- reading ----------------------------------------------------------- */

typedef struct reader {
	const char *path;
	int line;
	mp_err *err;
} reader;

static int bad(reader *r, const char *what)
{
	return mp_error(r->err, MP_ECORRUPT, "%s:%d: %s", r->path, r->line, what);
}

/* A value that does not read as a number (a damaged file, a hand edit)
 * is NaN, which every reader shows as unknown: the rest of the file is
 * still worth showing. */
static int number(reader *r, const char *s, double *out)
{
	char *end;

	(void)r;
	*out = strtod(s, &end);
	if (!*s || *end)
		*out = NAN;
	return 0;
}

static int count(reader *r, const char *s, int64_t *out)
{
	double v;
	char *end;

	v = strtod(s, &end);
	if (!*s || *end || !(v >= 0 && v <= 9e18) || v != floor(v))
		return bad(r, "not a count");
	*out = (int64_t)v;
	return 0;
}

static int add_named(reader *r, mp_named_value **arr, size_t *n, const char *name, const char *value)
{
	size_t alloc = *n;
	int rc;

	if (mp_grow((void **)arr, &alloc, *n, sizeof(**arr)) != 0 || !((*arr)[*n].name = mp_strdup(name)))
		return mp_error(r->err, MP_ENOMEM, "out of memory");
	(*n)++;
	if ((rc = number(r, value, &(*arr)[*n - 1].value)) != 0)
		return rc;
	return 0;
}

/* Reads dir/file into *text; *path names it (free both). */
static int read_text(const char *dir, const char *file, char **text, char **path, mp_err *err)
{
	*text = NULL;
	if (!(*path = mp_asprintf("%s/%s", dir, file)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return mp_read_file(*path, text, NULL, err);
}

static int eval_line(reader *r, mp_evaluation *e, char **f, size_t nf, size_t *conf_rows)
{
	size_t k, alloc;
	int rc;

	if (!strcmp(f[0], "split") && nf == 2) {
		free(e->split);
		return (e->split = mp_strdup(f[1])) ? 0 : mp_error(r->err, MP_ENOMEM, "out of memory");
	}
	if (!strcmp(f[0], "examples") && nf == 2)
		return count(r, f[1], &e->examples);
	if (!strcmp(f[0], "metric") && nf == 3)
		return add_named(r, &e->metrics, &e->nmetrics, f[1], f[2]);
	if (!strcmp(f[0], "class") && nf == 10) {
		mp_class_row *c;

		if (e->confusion)
			return bad(r, "a class line after the confusion matrix");
		alloc = e->nclasses;
		if (mp_grow((void **)&e->classes, &alloc, e->nclasses, sizeof(*e->classes)) != 0)
			return mp_error(r->err, MP_ENOMEM, "out of memory");
		c = &e->classes[e->nclasses++];
		if ((rc = number(r, f[3], &c->precision)) != 0 || (rc = number(r, f[5], &c->recall)) != 0 ||
		    (rc = number(r, f[7], &c->f1)) != 0 || (rc = count(r, f[9], &c->support)) != 0)
			return rc;
		return 0;
	}
	if (!strcmp(f[0], "confusion")) {
		if (nf != e->nclasses + 2 || *conf_rows >= e->nclasses)
			return bad(r, "a confusion row that does not fit the classes");
		if (!e->confusion && !(e->confusion = mp_calloc(e->nclasses * e->nclasses, sizeof(int64_t))))
			return mp_error(r->err, MP_ENOMEM, "out of memory");
		for (k = 0; k < e->nclasses; k++)
			if ((rc = count(r, f[2 + k], &e->confusion[*conf_rows * e->nclasses + k])) != 0)
				return rc;
		(*conf_rows)++;
		return 0;
	}
	if (!strcmp(f[0], "slice") && nf >= 5 && nf % 2 == 1) {
		mp_slice_row *s;

		alloc = e->nslices;
		if (mp_grow((void **)&e->slices, &alloc, e->nslices, sizeof(*e->slices)) != 0)
			return mp_error(r->err, MP_ENOMEM, "out of memory");
		s = &e->slices[e->nslices++];
		memset(s, 0, sizeof(*s));
		if (!(s->feature = mp_strdup(f[1])) || !(s->value = mp_strdup(f[2])))
			return mp_error(r->err, MP_ENOMEM, "out of memory");
		if ((rc = count(r, f[4], &s->examples)) != 0)
			return rc;
		for (k = 5; k + 1 < nf; k += 2)
			if ((rc = add_named(r, &s->metrics, &s->nmetrics, f[k], f[k + 1])) != 0)
				return rc;
		return 0;
	}
	return 0; /* a line this reader does not know */
}

int mp_evaluation_parse(mp_evaluation *e, char *text, const char *path, mp_err *err)
{
	reader r = {path, 1, err};
	char *cur = text, *line, **f;
	size_t conf_rows = 0;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	if (strncmp(text, "mlpipe-evaluation 1\n", 20) != 0)
		return mp_error(err, MP_ECORRUPT, "'%s' is not an evaluation", path);
	if (!(f = mp_calloc(MAX_FIELDS, sizeof(*f))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	mp_text_line(&cur);
	while (rc == 0 && (line = mp_text_line(&cur))) {
		size_t nf = mp_tsv_fields(line, f, MAX_FIELDS, 1);

		r.line++;
		rc = eval_line(&r, e, f, nf, &conf_rows);
	}
	free(f);
	if (rc == 0 && e->confusion && conf_rows != e->nclasses)
		rc = mp_error(err, MP_ECORRUPT, "'%s': %zu confusion rows for %zu classes", path, conf_rows, e->nclasses);
	if (rc != 0)
		mp_evaluation_release(e);
	return rc;
}

static int threshold_line(reader *r, mp_blessing *b, char **f, size_t nf)
{
	mp_threshold_row *t;
	const char *res = f[nf - 1];
	size_t alloc = b->nthresholds;
	int rc;

	if ((nf != 7 && nf != 9) || strcmp(f[4], "value") || (nf == 9 && strcmp(f[6], "baseline")))
		return bad(r, "not a threshold");
	if (mp_grow((void **)&b->thresholds, &alloc, b->nthresholds, sizeof(*b->thresholds)) != 0)
		return mp_error(r->err, MP_ENOMEM, "out of memory");
	t = &b->thresholds[b->nthresholds++];
	memset(t, 0, sizeof(*t));
	if (!(t->metric = mp_strdup(f[1])) || !(t->kind = mp_strdup(f[2])))
		return mp_error(r->err, MP_ENOMEM, "out of memory");
	if ((rc = number(r, f[3], &t->limit)) != 0 || (rc = number(r, f[5], &t->value)) != 0)
		return rc;
	if (nf == 9 && (t->has_baseline = 1) && (rc = number(r, f[7], &t->baseline)) != 0)
		return rc;
	if (!strcmp(res, "held"))
		t->result = MP_THRESHOLD_HELD;
	else if (!strcmp(res, "failed"))
		t->result = MP_THRESHOLD_FAILED;
	else if (!strcmp(res, "no baseline"))
		t->result = MP_THRESHOLD_NO_BASELINE;
	else
		return bad(r, "a threshold's result is not held, failed or no baseline");
	return 0;
}

int mp_blessing_parse(mp_blessing *b, char *text, const char *path, mp_err *err)
{
	reader r = {path, 1, err};
	char *cur = text, *line, *f[10];
	int rc = 0;

	memset(b, 0, sizeof(*b));
	if (strncmp(text, "mlpipe-blessing 1\n", 18) != 0)
		return mp_error(err, MP_ECORRUPT, "'%s' is not a blessing", path);
	mp_text_line(&cur);
	while (rc == 0 && (line = mp_text_line(&cur))) {
		size_t nf = mp_tsv_fields(line, f, MP_COUNTOF(f), 1);

		r.line++;
		if (!strcmp(f[0], "threshold"))
			rc = threshold_line(&r, b, f, nf);
		else if (nf != 2)
			continue;
		else if (!strcmp(f[0], "blessed"))
			b->blessed = !strcmp(f[1], "yes");
		else if (!strcmp(f[0], "baseline"))
			b->has_baseline = !strcmp(f[1], "yes");
		else if (!strcmp(f[0], "model_fingerprint"))
			snprintf(b->model_fp, sizeof(b->model_fp), "%s", f[1]);
		else if (!strcmp(f[0], "baseline_fingerprint"))
			snprintf(b->baseline_fp, sizeof(b->baseline_fp), "%s", f[1]);
	}
	if (rc != 0)
		mp_blessing_release(b);
	return rc;
}

int mp_evaluation_read(mp_evaluation *e, const char *dir, mp_err *err)
{
	char *text, *path;
	int rc = read_text(dir, "evaluation.tsv", &text, &path, err);

	if (rc == 0)
		rc = mp_evaluation_parse(e, text, path, err);
	free(text);
	free(path);
	return rc;
}

int mp_blessing_read(mp_blessing *b, const char *dir, mp_err *err)
{
	char *text, *path;
	int rc = read_text(dir, "blessing.tsv", &text, &path, err);

	if (rc == 0)
		rc = mp_blessing_parse(b, text, path, err);
	free(text);
	free(path);
	return rc;
}

double mp_evaluation_metric(const mp_evaluation *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nmetrics; i++)
		if (!strcmp(e->metrics[i].name, name))
			return e->metrics[i].value;
	return NAN;
}

static void named_free(mp_named_value *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void mp_evaluation_release(mp_evaluation *e)
{
	size_t i;

	free(e->split);
	named_free(e->metrics, e->nmetrics);
	free(e->classes);
	free(e->confusion);
	for (i = 0; i < e->nslices; i++) {
		free(e->slices[i].feature);
		free(e->slices[i].value);
		named_free(e->slices[i].metrics, e->slices[i].nmetrics);
	}
	free(e->slices);
	memset(e, 0, sizeof(*e));
}

void mp_blessing_release(mp_blessing *b)
{
	size_t i;

	for (i = 0; i < b->nthresholds; i++) {
		free(b->thresholds[i].metric);
		free(b->thresholds[i].kind);
	}
	free(b->thresholds);
	memset(b, 0, sizeof(*b));
}

/* ---- InfraValidator's verdict ------------------------------------------- */

void mp_infra_blessing_format(const mp_infra_blessing *b, mp_strbuf *sb)
{
	mp_strbuf_addf(sb, "mlpipe-infra-blessing 1\nblessed\t%s\nreason\t", b->blessed ? "yes" : "no");
	mp_tsv_escape(sb, b->reason);
	mp_strbuf_addf(sb, "\nrequests\t%zu\nlatency_p50_ms\t%.6g\nlatency_max_ms\t%.6g\n", b->requests, b->p50_ms,
		       b->max_ms);
}

int mp_infra_blessing_parse(mp_infra_blessing *b, char *text, const char *path, mp_err *err)
{
	reader r = {path, 1, err};
	char *cur = text, *line, *f[2];
	int64_t n;
	int rc = 0, have = 0;

	memset(b, 0, sizeof(*b));
	b->p50_ms = b->max_ms = NAN;
	if (strncmp(text, "mlpipe-infra-blessing 1\n", 24) != 0)
		return mp_error(err, MP_ECORRUPT, "'%s' holds no InfraValidator verdict", path);
	mp_text_line(&cur);
	while (rc == 0 && (line = mp_text_line(&cur))) {
		r.line++;
		if (mp_tsv_fields(line, f, 2, 1) != 2)
			continue;
		if (!strcmp(f[0], "blessed")) {
			b->blessed = !strcmp(f[1], "yes");
			have = 1;
		} else if (!strcmp(f[0], "reason")) {
			snprintf(b->reason, sizeof(b->reason), "%s", f[1]);
		} else if (!strcmp(f[0], "requests") && (rc = count(&r, f[1], &n)) == 0) {
			b->requests = (size_t)n;
		} else if (!strcmp(f[0], "latency_p50_ms")) {
			rc = number(&r, f[1], &b->p50_ms);
		} else if (!strcmp(f[0], "latency_max_ms")) {
			rc = number(&r, f[1], &b->max_ms);
		}
	}
	if (rc == 0 && !have)
		rc = mp_error(err, MP_ECORRUPT, "'%s' has no verdict", path);
	return rc;
}

int mp_infra_blessing_read(mp_infra_blessing *b, const char *dir, mp_err *err)
{
	char *text, *path;
	int rc = read_text(dir, "infra_blessing.tsv", &text, &path, err);

	if (rc == 0)
		rc = mp_infra_blessing_parse(b, text, path, err);
	free(text);
	free(path);
	return rc;
}
