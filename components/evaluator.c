/* Evaluator: a model's quality on a split, and whether it is good enough to
 * serve (its blessing), as in TFX.
 *
 * The model applies its own transform to the raw examples.  Value
 * thresholds ({accuracy: {min: 0.85}, log_loss: {max: 0.5}}) judge the
 * model alone; change thresholds ({accuracy: {max_drop: 0.01}, log_loss:
 * {max_rise: 0.05}}) compare it with a baseline model evaluated on the same
 * data — the latest blessed model of the pipeline, which the orchestrator
 * finds in the metadata store.  Without a baseline only value thresholds
 * count.  Not blessed is an outcome, not a failure.
 */
#include "components/component.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/tsv.h"
#include "data/examples.h"
#include "eval/metrics.h"
#include "export/export.h"

static const mp_io_spec inputs[] = {
	{"examples", "Examples", 0, "the examples, as ExampleGen wrote them (the model brings its transform)"},
	{"model", "Model", 0, "the model to judge"},
	{"baseline_model", "Model", 1,
	 "the model to compare with; the orchestrator finds the latest blessed one when this is not wired"},
};

static const mp_resolve_spec resolves[] = {
	{"baseline_model", MP_RESOLVE_LATEST_BLESSED, "model", NULL, 0},
};

static const mp_io_spec outputs[] = {
	{"evaluation", "ModelEvaluation", 0, "evaluation.tsv: metrics, per-class metrics, the confusion matrix"},
	{"blessing", "ModelBlessing", 0, "blessing.tsv: blessed or not, and each threshold with its value"},
};

/* thresholds: {METRIC: {min: X, max: Y, max_drop: D, max_rise: R}}; the
 * metric names are those of metric_table below */
#define METRIC_NAMES "accuracy|log_loss|macro_f1|macro_precision|macro_recall|auc|mse|mae|r2"
static const mp_shape s_limit = {MP_SHAPE_NUMBER, -1e300, 1e300, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape_key limit_keys[] = {
	{"min", &s_limit, 0},
	{"max", &s_limit, 0},
	{"max_drop", &s_limit, 0},
	{"max_rise", &s_limit, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_limits = {MP_SHAPE_MAP, 0, 0, NULL, limit_keys, NULL, NULL, NULL, 0};
static const mp_shape s_thresholds = {MP_SHAPE_MAP, 0, 0, NULL, NULL, &s_limits, METRIC_NAMES, "metric", 0};

static const mp_param_spec params[] = {
	{"split", MP_PARAM_STRING, "eval", 0, 0, "the split to evaluate on", NULL, NULL},
	{"slice_by", MP_PARAM_LIST, "", 0, 0,
	 "features to slice by: the metrics again per value of each (per class when it is the label, per "
	 "category of a string, per value of a number with at most slice_buckets values, else per bucket)", NULL, NULL},
	{"slice_buckets", MP_PARAM_INT, "4", 1, 100,
	 "a number with more distinct values than this is cut into this many equal-width buckets", NULL, NULL},
	{"thresholds", MP_PARAM_JSON, "{}", 0, 0,
	 "{METRIC: {min: X, max: Y, max_drop: D, max_rise: R}}; metrics: accuracy, log_loss, macro_f1, "
	 "macro_precision, macro_recall, auc, mse, mae, r2", NULL, &s_thresholds},
};

#define BATCH 256

#define MAX_SLICES 1000 /* values of one feature sliced by */

/* The metrics again per value of one feature.  A string feature gets a
 * slice per value, made as values appear; a number one per value when it
 * has at most `buckets` distinct values (a class index, a count), else one
 * per equal-width bucket between its minimum and maximum, which a first
 * pass over the split finds.  Missing values are a slice of their own. */
typedef struct slicer {
	const char *name;
	int feat;		 /* index in the examples */
	int is_string;
	int buckets;		 /* numbers: at most this many values, or buckets */
	double vals[101];	 /* numbers: the distinct values, sorted, while nvals <= buckets */
	int nvals;
	double lo, hi;		 /* numbers: the range */
	char **labels;		 /* the slices' names */
	char *const *class_names; /* a numeric label's class names (label_names), or NULL */
	size_t nclass_names;
	mp_eval *evals;		 /* per slice */
	size_t nslices;
} slicer;

static void slicer_release(slicer *s)
{
	size_t i;

	for (i = 0; i < s->nslices; i++) {
		free(s->labels[i]);
		mp_eval_release(&s->evals[i]);
	}
	free(s->labels);
	free(s->evals);
	memset(s, 0, sizeof(*s));
}

/* Adds a slice called label (owned by the slicer from here on). */
static int slicer_add(slicer *s, char *label, int nclass, mp_err *err)
{
	char **l;
	mp_eval *e;

	if (!label)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (s->nslices == MAX_SLICES) {
		free(label);
		return mp_error(err, MP_EINVAL, "slice_by: '%s' has more than %d values; slice by a feature with fewer",
				s->name, MAX_SLICES);
	}
	if (!(l = mp_realloc(s->labels, (s->nslices + 1) * sizeof(*l)))) {
		free(label);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	s->labels = l;
	if (!(e = mp_realloc(s->evals, (s->nslices + 1) * sizeof(*e)))) {
		free(label);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	s->evals = e;
	s->labels[s->nslices] = label;
	return mp_eval_init(&s->evals[s->nslices++], nclass, err);
}

/* Notes row r's value of a numeric slicer (the first pass). */
static void slicer_observe(slicer *s, const mp_block *b, size_t r)
{
	double v = b->num[s->feat][r];
	int i, k;

	if (isnan(v))
		return;
	if (s->lo > v)
		s->lo = v;
	if (s->hi < v)
		s->hi = v;
	if (s->nvals > s->buckets)
		return;
	for (i = 0; i < s->nvals && s->vals[i] < v; i++)
		;
	if (i < s->nvals && s->vals[i] == v)
		return;
	for (k = s->nvals; k > i; k--)
		s->vals[k] = s->vals[k - 1];
	s->vals[i] = v;
	s->nvals++;
}

/* Makes a numeric slicer's slices once the first pass has seen the data:
 * one per value, or per bucket, then one for missing values. */
static int slicer_plan(slicer *s, int nclass, mp_err *err)
{
	int i, n = s->nvals <= s->buckets ? s->nvals : s->buckets, rc;

	for (i = 0; i < n; i++) {
		double a = s->lo + (s->hi - s->lo) * i / n, z = s->lo + (s->hi - s->lo) * (i + 1) / n;

		double v = s->vals[i];
		char *label;

		if (s->nvals <= s->buckets && s->class_names && v >= 0 && v < (double)s->nclass_names && v == floor(v))
			label = mp_strdup(s->class_names[(size_t)v]); /* a class, by its name */
		else if (s->nvals <= s->buckets)
			label = mp_asprintf("%.9g", v);
		else
			label = mp_asprintf("[%.6g, %.6g%c", a, z, i == n - 1 ? ']' : ')');
		if ((rc = slicer_add(s, label, nclass, err)) != 0)
			return rc;
	}
	return slicer_add(s, mp_strdup("(missing)"), nclass, err);
}

/* The slice of row r, made when it is a string value not seen before. */
static int slicer_find(slicer *s, const mp_block *b, size_t r, int nclass, int *slot, mp_err *err)
{
	size_t i, n;
	const char *v;
	int rc, k;

	if (!s->is_string) {
		double x = b->num[s->feat][r];
		int nreal = (int)s->nslices - 1;

		if (isnan(x)) {
			*slot = nreal;
		} else if (s->nvals <= s->buckets) {
			for (k = 0; k < nreal && s->vals[k] != x; k++)
				;
			*slot = k < nreal ? k : nreal; /* a value the first pass did not see cannot occur */
		} else {
			k = s->hi > s->lo ? (int)((x - s->lo) / (s->hi - s->lo) * nreal) : 0;
			*slot = k < 0 ? 0 : k >= nreal ? nreal - 1 : k;
		}
		return 0;
	}
	if (b->miss[s->feat][r]) {
		v = "(missing)";
		n = strlen(v);
	} else {
		v = b->str[s->feat] + b->off[s->feat][r];
		n = (size_t)(b->off[s->feat][r + 1] - b->off[s->feat][r]);
	}
	for (i = 0; i < s->nslices; i++)
		if (strlen(s->labels[i]) == n && !memcmp(s->labels[i], v, n)) {
			*slot = (int)i;
			return 0;
		}
	if ((rc = slicer_add(s, mp_strndup(v, n), nclass, err)) != 0)
		return rc;
	*slot = (int)s->nslices - 1;
	return 0;
}

/* The first pass for numeric slicers: their ranges and values. */
static int slice_prepass(const mp_examples_meta *m, const char *dir, const char *split, slicer *sl, size_t nsl,
			 int nclass, mp_err *err)
{
	mp_examples_reader rd = {0};
	mp_block b = {0};
	size_t s, r;
	int rc, any = 0;

	for (s = 0; s < nsl; s++)
		if (!sl[s].is_string) {
			sl[s].lo = INFINITY;
			sl[s].hi = -INFINITY;
			any = 1;
		}
	if (!any)
		return 0;
	if ((rc = mp_block_init(&b, m->features, m->nfeatures, 1, err)) != 0 ||
	    (rc = mp_examples_reader_open(&rd, m, dir, split, err)) != 0)
		goto out;
	while ((rc = mp_examples_reader_next(&rd, &b, err)) == 1)
		for (r = 0; r < b.rows; r++)
			for (s = 0; s < nsl; s++)
				if (!sl[s].is_string)
					slicer_observe(&sl[s], &b, r);
	for (s = 0; rc == 0 && s < nsl; s++)
		if (!sl[s].is_string)
			rc = slicer_plan(&sl[s], nclass, err);
out:
	mp_examples_reader_close(&rd);
	mp_block_release(&b);
	return rc;
}

/* Evaluates model file path on split of the examples. */
/* "a regression", "a classifier of 3 classes" */
static const char *kind_of_model(int nclass, char *buf, size_t n)
{
	if (nclass)
		snprintf(buf, n, "a classifier of %d classes", nclass);
	else
		snprintf(buf, n, "a regression");
	return buf;
}

/* The model at path on the split: its metrics (and slices).  With want_nclass
 * at 0 or more, a model that does not answer that question (a baseline of
 * another kind) is not evaluated: *other says why, and 0 is returned. */
static int evaluate(const char *path, const mp_examples_meta *m, const char *dir, const char *split, mp_eval_result *res,
		    mp_eval *ev, slicer *sl, size_t nsl, int want_nclass, char *other, size_t other_n, mp_err *err)
{
	mp_served model = {0};
	mp_examples_reader rd = {0};
	mp_block b = {0};
	float *labels = NULL, *pred = NULL;
	size_t from, k, s;
	int rc, slot;

	memset(ev, 0, sizeof(*ev));
	if ((rc = mp_served_load(&model, path, BATCH, err)) != 0)
		return rc;
	if (want_nclass >= 0 && model.nclass != want_nclass) {
		char a[64], b2[64];

		snprintf(other, other_n, "it is %s, this model %s", kind_of_model(model.nclass, a, sizeof(a)),
			 kind_of_model(want_nclass, b2, sizeof(b2)));
		goto out;
	}
	if ((rc = mp_served_bind(&model, m, dir, err)) != 0 || (rc = mp_eval_init(ev, model.nclass, err)) != 0 ||
	    (rc = slice_prepass(m, dir, split, sl, nsl, model.nclass, err)) != 0)
		goto out;
	if (!(labels = mp_malloc(BATCH * sizeof(float))) || !(pred = mp_malloc(BATCH * model.nout * sizeof(float)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_block_init(&b, m->features, m->nfeatures, 1, err)) != 0 ||
	    (rc = mp_examples_reader_open(&rd, m, dir, split, err)) != 0)
		goto out;
	while ((rc = mp_examples_reader_next(&rd, &b, err)) == 1)
		for (from = 0; from < b.rows; from += BATCH) {
			size_t n = b.rows - from < BATCH ? b.rows - from : BATCH;

			mp_served_predict(&model, &b, from, n, pred, labels);
			for (k = 0; k < n; k++) {
				const float *p = pred + k * model.nout;

				if (isnan(labels[k]))
					continue; /* unlabelled */
				if ((rc = mp_eval_add(ev, p, labels[k], err)) != 0)
					goto out;
				for (s = 0; s < nsl; s++)
					if ((rc = slicer_find(&sl[s], &b, from + k, model.nclass, &slot, err)) != 0 ||
					    (rc = mp_eval_add(&sl[s].evals[slot], p, labels[k], err)) != 0)
						goto out;
			}
		}
	if (rc < 0)
		goto out;
	rc = ev->n ? mp_eval_finish(ev, res, err) : mp_error(err, MP_EINVAL, "the split '%s' has no labelled examples", split);
out:
	mp_examples_reader_close(&rd);
	mp_block_release(&b);
	mp_served_release(&model);
	free(labels);
	free(pred);
	return rc;
}

/* The metrics thresholds can name, and where each is in a result. */
static const struct {
	const char *name;
	size_t offset;
} metric_table[] = {
	{"accuracy", offsetof(mp_eval_result, accuracy)},
	{"log_loss", offsetof(mp_eval_result, log_loss)},
	{"macro_f1", offsetof(mp_eval_result, macro_f1)},
	{"macro_precision", offsetof(mp_eval_result, macro_precision)},
	{"macro_recall", offsetof(mp_eval_result, macro_recall)},
	{"auc", offsetof(mp_eval_result, auc)},
	{"mse", offsetof(mp_eval_result, mse)},
	{"mae", offsetof(mp_eval_result, mae)},
	{"r2", offsetof(mp_eval_result, r2)},
};

#define NMETRICS MP_COUNTOF(metric_table)

static double metric_at(const mp_eval_result *r, size_t i)
{
	return *(const double *)((const char *)r + metric_table[i].offset);
}

/* The index of the metric called name, or -1. */
static int metric_index(const char *name)
{
	size_t i;

	for (i = 0; i < NMETRICS; i++)
		if (!strcmp(metric_table[i].name, name))
			return (int)i;
	return -1;
}

static int run_evaluator(const mp_component_io *io, mp_err *err)
{
	const char *ex = mp_io_input(io, "examples"), *model = mp_io_input(io, "model");
	const char *base = mp_io_input(io, "baseline_model"), *split = mp_io_param(io, "split");
	char *mpath = NULL, *bpath = NULL, *epath = NULL, *blpath = NULL;
	mp_examples_meta m = {0};
	mp_eval ev = {0}, bev = {0};
	mp_eval_result res = {0}, bres = {0};
	mp_strbuf ef = MP_STRBUF_INIT, bf = MP_STRBUF_INIT;
	mp_jdoc *th = NULL;
	const mp_jnode *root;
	char *slbuf = NULL, **slnames = NULL;
	slicer *sl = NULL;
	size_t i, k, nsl = 0;
	int rc, blessed = 1, have_base = 0;

	if (!ex || !model)
		return mp_error(err, MP_EINVAL, "Evaluator needs 'examples' and 'model' inputs");
	if ((rc = mp_jdoc_parse(&th, mp_io_param(io, "thresholds"), "thresholds", err)) != 0)
		return rc;
	root = mp_jdoc_root(th);
	/* the loader checked the shape; a component run alone is checked here */
	if ((rc = mp_shape_check_text(&s_thresholds, mp_io_param(io, "thresholds"), "thresholds", err)) != 0)
		goto out;
	if (!(mpath = mp_asprintf("%s/model.mlpm", model)) ||
	    (base && !(bpath = mp_asprintf("%s/model.mlpm", base))) ||
	    !(epath = mp_asprintf("%s/evaluation.tsv", mp_io_output(io, "evaluation"))) ||
	    !(blpath = mp_asprintf("%s/blessing.tsv", mp_io_output(io, "blessing")))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_examples_meta_read(&m, ex, err)) != 0 ||
	    (rc = mp_param_lines(mp_io_param(io, "slice_by"), &slbuf, &slnames, &nsl, err)) != 0)
		goto out;
	if (!mp_examples_split(&m, split)) {
		rc = mp_error(err, MP_EINVAL, "the examples have no split '%s' to evaluate on", split);
		goto out;
	}
	if (!mp_examples_split(&m, split)->rows) {
		rc = mp_error(err, MP_EINVAL, "split '%s' has no rows: there is nothing to evaluate on", split);
		goto out;
	}
	if (nsl && !(sl = mp_calloc(nsl, sizeof(*sl)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nsl; i++) {
		int f = mp_examples_feature(&m, slnames[i]);

		if (f < 0) {
			char near[128];

			rc = mp_error(err, MP_EINVAL, "slice_by: the examples have no feature '%s'%s", slnames[i],
				      mp_did_you_mean(mp_closest_in(slnames[i], m.features, m.nfeatures,
								    sizeof(*m.features)),
						      near, sizeof(near)));
			goto out;
		}
		sl[i].name = slnames[i];
		sl[i].feat = f;
		if (m.label && !strcmp(m.label, slnames[i]) && m.nlabel_names) {
			sl[i].class_names = m.label_names;
			sl[i].nclass_names = m.nlabel_names;
		}
		sl[i].is_string = m.features[f].type == MP_FEAT_STRING;
		sl[i].buckets = atoi(mp_io_param(io, "slice_buckets"));
	}
	if ((rc = evaluate(mpath, &m, ex, split, &res, &ev, sl, nsl, -1, NULL, 0, err)) != 0)
		goto out;
	if (bpath) {
		char other[160] = "";

		if ((rc = evaluate(bpath, &m, ex, split, &bres, &bev, NULL, 0, ev.nclass, other, sizeof(other), err)) != 0)
			goto out;
		if (*other) {
			fprintf(stderr, "mlpipe: the baseline model does not answer the same question (%s): judged without it\n",
				other);
			free(bpath);
			bpath = NULL;
		} else {
			have_base = 1;
		}
	}

	/* the evaluation */
	mp_strbuf_addf(&ef, "mlpipe-evaluation 1\nsplit\t%s\nexamples\t%lld\n", split, (long long)res.n);
	for (i = 0; i < NMETRICS; i++) {
		double v = metric_at(&res, i);

		if (isnan(v))
			continue;
		mp_strbuf_addf(&ef, "metric\t%s\t%.9g\n", metric_table[i].name, v);
		if (mp_result_metric(io->result, metric_table[i].name, 0, v) != 0) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (i = 0; ev.nclass && i < (size_t)ev.nclass; i++)
		mp_strbuf_addf(&ef, "class\t%zu\tprecision\t%.9g\trecall\t%.9g\tf1\t%.9g\tsupport\t%lld\n", i,
			       res.classes[i].precision, res.classes[i].recall, res.classes[i].f1,
			       (long long)res.classes[i].support);
	for (i = 0; ev.nclass && i < (size_t)ev.nclass; i++) {
		mp_strbuf_addf(&ef, "confusion\t%zu", i);
		for (k = 0; k < (size_t)ev.nclass; k++)
			mp_strbuf_addf(&ef, "\t%lld", (long long)ev.confusion[i * (size_t)ev.nclass + k]);
		mp_strbuf_adds(&ef, "\n");
	}

	for (i = 0; i < nsl; i++)
		for (k = 0; k < sl[i].nslices; k++) {
			mp_eval_result sr = {0};
			size_t j;

			if (!sl[i].evals[k].n)
				continue;
			if ((rc = mp_eval_finish(&sl[i].evals[k], &sr, err)) != 0)
				goto out;
			mp_strbuf_adds(&ef, "slice\t");
			mp_tsv_escape(&ef, sl[i].name);
			mp_strbuf_adds(&ef, "\t");
			mp_tsv_escape(&ef, sl[i].labels[k]);
			mp_strbuf_addf(&ef, "\texamples\t%lld", (long long)sr.n);
			for (j = 0; j < NMETRICS; j++)
				if (!isnan(metric_at(&sr, j)))
					mp_strbuf_addf(&ef, "\t%s\t%.9g", metric_table[j].name, metric_at(&sr, j));
			mp_strbuf_adds(&ef, "\n");
			fprintf(stderr, "slice %s=%s: %lld examples%s%.4f\n", sl[i].name, sl[i].labels[k],
				(long long)sr.n, ev.nclass ? ", accuracy " : ", mse ", ev.nclass ? sr.accuracy : sr.mse);
			mp_eval_result_release(&sr);
		}

	/* the blessing */
	mp_strbuf_adds(&bf, "mlpipe-blessing 1\n");
	for (i = 0; i < mp_jnode_len(root); i++) {
		const char *name = mp_jnode_key(th, root, i);
		const mp_jnode *spec = mp_jnode_at(th, root, i);
		int mi = metric_index(name);
		double v = metric_at(&res, (size_t)mi), bv = have_base ? metric_at(&bres, (size_t)mi) : NAN;

		for (k = 0; k < mp_jnode_len(spec); k++) {
			const char *kind = mp_jnode_key(th, spec, k);
			double lim = atof(mp_jnode_str(mp_jnode_at(th, spec, k)));
			int change = !strcmp(kind, "max_drop") || !strcmp(kind, "max_rise"), held;

			if (change && !have_base && !isnan(v)) {
				mp_strbuf_addf(&bf, "threshold\t%s\t%s\t%.9g\tvalue\t%.9g\tno baseline\n", name, kind, lim, v);
				continue;
			}
			if (!strcmp(kind, "min"))
				held = v >= lim;
			else if (!strcmp(kind, "max"))
				held = v <= lim;
			else if (!strcmp(kind, "max_drop"))
				held = bv - v <= lim;
			else
				held = v - bv <= lim;
			if (isnan(v) || (isnan(bv) && change))
				held = 0; /* no threshold holds on a NaN */
			blessed &= held;
			if (change && have_base)
				mp_strbuf_addf(&bf, "threshold\t%s\t%s\t%.9g\tvalue\t%.9g\tbaseline\t%.9g\t%s\n", name, kind, lim,
					       v, bv, held ? "held" : "failed");
			else
				mp_strbuf_addf(&bf, "threshold\t%s\t%s\t%.9g\tvalue\t%.9g\t%s\n", name, kind, lim, v,
					       held ? "held" : "failed");
		}
	}
	mp_strbuf_addf(&bf, "blessed\t%s\nbaseline\t%s\n", blessed ? "yes" : "no", have_base ? "yes" : "none");
	/* which models were judged, so the Pusher can tell whether the verdict
	 * was against the model it would replace */
	{
		char fp[MP_HASH_HEX], bfp[MP_HASH_HEX];

		if ((rc = mp_hash_file(mpath, fp, err)) != 0 || (bpath && (rc = mp_hash_file(bpath, bfp, err)) != 0))
			goto out;
		mp_strbuf_addf(&bf, "model_fingerprint\t%s\nbaseline_fingerprint\t%s\n", fp, bpath ? bfp : "none");
	}
	if (ef.failed || bf.failed) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_write_file_atomic(epath, ef.buf, ef.len, err)) != 0 ||
	    (rc = mp_write_file_atomic(blpath, bf.buf, bf.len, err)) != 0)
		goto out;
	if (mp_result_prop_int(io->result, "blessing", "blessed", blessed) != 0 ||
	    mp_result_prop_int(io->result, "blessing", "has_baseline", have_base) != 0 ||
	    mp_result_metric(io->result, "blessed", 0, blessed) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0)
		fprintf(stderr, "%s", mp_strbuf_str(&bf));
out:
	for (i = 0; i < nsl && sl; i++)
		slicer_release(&sl[i]);
	free(sl);
	free(slbuf);
	free(slnames);
	mp_jdoc_free(th);
	mp_eval_release(&ev);
	mp_eval_release(&bev);
	mp_eval_result_release(&res);
	mp_eval_result_release(&bres);
	mp_examples_meta_release(&m);
	mp_strbuf_release(&ef);
	mp_strbuf_release(&bf);
	free(mpath);
	free(bpath);
	free(epath);
	free(blpath);
	return rc;
}

const mp_component_type mp_evaluator_component = {
	.name = "Evaluator",
	.version = "2",
	.summary = "measures a model on a split and blesses it when its thresholds hold",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.resolves = resolves,
	.nresolves = MP_COUNTOF(resolves),
	.run = run_evaluator,
};
