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
#include "components/evaluator.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/tsv.h"
#include "data/examples.h"
#include "eval/evaluation.h"
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
static const mp_shape s_limit = {MP_SHAPE_NUMBER, -1e300, 1e300, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key limit_keys[] = {
	{"min", &s_limit, 0},
	{"max", &s_limit, 0},
	{"max_drop", &s_limit, 0},
	{"max_rise", &s_limit, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_limits = {MP_SHAPE_MAP, 0, 0, NULL, limit_keys, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_thresholds = {MP_SHAPE_MAP, 0, 0, NULL, NULL, &s_limits, METRIC_NAMES, "metric", 0, NULL};

static const mp_param_spec params[] = {
	{"split", MP_PARAM_STRING, "eval", 0, 0, "the split to evaluate on", NULL, NULL},
	{"slice_by", MP_PARAM_LIST, "", 0, 0,
	 "features to slice by: the metrics again per value of each (per class when it is the label, per "
	 "category of a string, per value of a number with at most slice_buckets values, else per bucket)", NULL, NULL},
	{"slice_buckets", MP_PARAM_INT, "4", 1, 100,
	 "a number with more distinct values than this is cut into this many equal-width buckets", NULL, NULL},
	{"feature_importance", MP_PARAM_STRING, "none", 0, 0,
	 "permutation: each input the model reads shuffled across the split's rows, and how far the score falls "
	 "(importance.tsv, metrics importance:FEATURE); none: not computed", "none|permutation", NULL},
	{"importance_repeats", MP_PARAM_INT, "3", 1, 100, "shuffles of each input (their mean and spread)", NULL, NULL},
	{"seed", MP_PARAM_INT, "42", 0, 9.2e18, "for the shuffles", NULL, NULL},
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

/* One evaluation: the model, its baseline and the slices. */
typedef struct evaluator {
	const mp_component_io *io;
	const char *ex, *split;
	char *mpath, *bpath;
	mp_examples_meta m;
	char *slbuf, **slnames;
	slicer *sl;
	size_t nsl;
	mp_eval ev, bev;
	mp_eval_result res, bres;
	int have_base;
} evaluator;

/* The slice_by features, checked against the examples. */
static int open_slices(evaluator *E, mp_err *err)
{
	const mp_examples_meta *m = &E->m;
	size_t i;
	int rc;

	if ((rc = mp_param_lines(mp_io_param(E->io, "slice_by"), &E->slbuf, &E->slnames, &E->nsl, err)) != 0)
		return rc;
	if (E->nsl && !(E->sl = mp_calloc(E->nsl, sizeof(*E->sl))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < E->nsl; i++) {
		slicer *s = &E->sl[i];
		int f = mp_examples_feature(m, E->slnames[i]);

		if (f < 0) {
			char near[128];

			return mp_error(err, MP_EINVAL, "slice_by: the examples have no feature '%s'%s", E->slnames[i],
					mp_did_you_mean(mp_closest_in(E->slnames[i], m->features, m->nfeatures,
								      sizeof(*m->features)),
							near, sizeof(near)));
		}
		s->name = E->slnames[i];
		s->feat = f;
		if (m->label && !strcmp(m->label, E->slnames[i]) && m->nlabel_names) {
			s->class_names = m->label_names;
			s->nclass_names = m->nlabel_names;
		}
		s->is_string = m->features[f].type == MP_FEAT_STRING;
		s->buckets = atoi(mp_io_param(E->io, "slice_buckets"));
	}
	return 0;
}

/* The model, then the baseline (judged without when it answers another
 * question). */
static int evaluate_both(evaluator *E, mp_err *err)
{
	char other[160] = "";
	int rc;

	if ((rc = evaluate(E->mpath, &E->m, E->ex, E->split, &E->res, &E->ev, E->sl, E->nsl, -1, NULL, 0, err)) != 0 ||
	    !E->bpath)
		return rc;
	if ((rc = evaluate(E->bpath, &E->m, E->ex, E->split, &E->bres, &E->bev, NULL, 0, E->ev.nclass, other,
			   sizeof(other), err)) != 0)
		return rc;
	if (*other) {
		fprintf(stderr, "mlpipe: the baseline model does not answer the same question (%s): judged without it\n",
			other);
		free(E->bpath);
		E->bpath = NULL;
	} else {
		E->have_base = 1;
	}
	return 0;
}

/* The metrics of r that are numbers, as named values. */
static int named_metrics(const mp_eval_result *r, mp_named_value **out, size_t *n, mp_err *err)
{
	size_t i;

	*n = 0;
	if (!(*out = mp_calloc(NMETRICS, sizeof(**out))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < NMETRICS; i++) {
		if (isnan(metric_at(r, i)))
			continue;
		if (!((*out)[*n].name = mp_strdup(metric_table[i].name)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		(*out)[(*n)++].value = metric_at(r, i);
	}
	return 0;
}

/* The slices with examples, finished, into e (and a line each on stderr). */
static int slice_rows(evaluator *E, mp_evaluation *e, mp_err *err)
{
	size_t i, k, total = 0;
	int rc;

	for (i = 0; i < E->nsl; i++)
		total += E->sl[i].nslices;
	if (total && !(e->slices = mp_calloc(total, sizeof(*e->slices))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < E->nsl; i++)
		for (k = 0; k < E->sl[i].nslices; k++) {
			mp_slice_row *row = &e->slices[e->nslices];
			mp_eval_result sr = {0};

			if (!E->sl[i].evals[k].n)
				continue;
			if ((rc = mp_eval_finish(&E->sl[i].evals[k], &sr, err)) != 0)
				return rc;
			e->nslices++;
			row->examples = sr.n;
			rc = !(row->feature = mp_strdup(E->sl[i].name)) || !(row->value = mp_strdup(E->sl[i].labels[k]))
				     ? mp_error(err, MP_ENOMEM, "out of memory")
				     : named_metrics(&sr, &row->metrics, &row->nmetrics, err);
			fprintf(stderr, "slice %s=%s: %lld examples%s%.4f\n", E->sl[i].name, E->sl[i].labels[k],
				(long long)sr.n, E->ev.nclass ? ", accuracy " : ", mse ", E->ev.nclass ? sr.accuracy : sr.mse);
			mp_eval_result_release(&sr);
			if (rc != 0)
				return rc;
		}
	return 0;
}

/* The evaluation file's content, and the metrics recorded. */
static int evaluation_of(evaluator *E, mp_evaluation *e, mp_err *err)
{
	size_t i, nc = E->ev.nclass > 0 ? (size_t)E->ev.nclass : 0;
	int rc;

	memset(e, 0, sizeof(*e));
	if (!(e->split = mp_strdup(E->split)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	e->examples = E->res.n;
	if ((rc = named_metrics(&E->res, &e->metrics, &e->nmetrics, err)) != 0)
		return rc;
	for (i = 0; i < e->nmetrics; i++)
		if (mp_result_metric(E->io->result, e->metrics[i].name, 0, e->metrics[i].value) != 0)
			return mp_error(err, MP_ENOMEM, "out of memory");
	if (nc) {
		if (!(e->classes = mp_calloc(nc, sizeof(*e->classes))) ||
		    !(e->confusion = mp_calloc(nc * nc, sizeof(*e->confusion))))
			return mp_error(err, MP_ENOMEM, "out of memory");
		e->nclasses = nc;
		for (i = 0; i < nc; i++) {
			e->classes[i].precision = E->res.classes[i].precision;
			e->classes[i].recall = E->res.classes[i].recall;
			e->classes[i].f1 = E->res.classes[i].f1;
			e->classes[i].support = E->res.classes[i].support;
		}
		memcpy(e->confusion, E->ev.confusion, nc * nc * sizeof(*e->confusion));
	}
	return slice_rows(E, e, err);
}

/* One threshold (kind with limit lim on metric name) against the model's
 * value v and the baseline's bv: whether it holds. */
static mp_threshold_result judge_one(const char *kind, double lim, double v, double bv, int have_base)
{
	int change = !strcmp(kind, "max_drop") || !strcmp(kind, "max_rise"), held;

	if (change && !have_base && !isnan(v))
		return MP_THRESHOLD_NO_BASELINE;
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
	return held ? MP_THRESHOLD_HELD : MP_THRESHOLD_FAILED;
}

/* The blessing: each threshold judged, and which models were judged, so
 * the Pusher can tell whether the verdict was against the model it would
 * replace. */
static int bless(evaluator *E, mp_blessing *b, mp_err *err)
{
	const char *text = mp_io_param(E->io, "thresholds");
	const mp_jnode *root;
	mp_jdoc *th = NULL;
	size_t i, k, n = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	b->blessed = 1;
	b->has_baseline = E->have_base;
	if ((rc = mp_jdoc_parse(&th, text, "thresholds", err)) != 0)
		return rc;
	root = mp_jdoc_root(th);
	for (i = 0; i < mp_jnode_len(root); i++)
		n += mp_jnode_len(mp_jnode_at(th, root, i));
	if (n && !(b->thresholds = mp_calloc(n, sizeof(*b->thresholds)))) {
		mp_jdoc_free(th);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < mp_jnode_len(root); i++) {
		const char *name = mp_jnode_key(th, root, i);
		const mp_jnode *spec = mp_jnode_at(th, root, i);
		int mi = metric_index(name);
		double v = metric_at(&E->res, (size_t)mi), bv = E->have_base ? metric_at(&E->bres, (size_t)mi) : NAN;

		for (k = 0; k < mp_jnode_len(spec); k++) {
			mp_threshold_row *t = &b->thresholds[b->nthresholds++];
			const char *kind = mp_jnode_key(th, spec, k);

			t->metric = mp_strdup(name);
			t->kind = mp_strdup(kind);
			t->limit = atof(mp_jnode_str(mp_jnode_at(th, spec, k)));
			t->value = v;
			t->result = judge_one(kind, t->limit, v, bv, E->have_base);
			t->has_baseline = E->have_base && (!strcmp(kind, "max_drop") || !strcmp(kind, "max_rise"));
			t->baseline = bv;
			b->blessed &= t->result != MP_THRESHOLD_FAILED;
		}
	}
	mp_jdoc_free(th);
	for (i = 0; i < b->nthresholds; i++)
		if (!b->thresholds[i].metric || !b->thresholds[i].kind)
			return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_hash_file(E->mpath, b->model_fp, err)) != 0 ||
	    (E->bpath && (rc = mp_hash_file(E->bpath, b->baseline_fp, err)) != 0))
		return rc;
	return 0;
}

/* Both files, atomically, and the blessing's properties. */
static int write_files(evaluator *E, const mp_evaluation *e, const mp_blessing *b, mp_err *err)
{
	const mp_component_io *io = E->io;
	mp_strbuf ef = MP_STRBUF_INIT, bf = MP_STRBUF_INIT;
	char *epath = mp_asprintf("%s/evaluation.tsv", mp_io_output(io, "evaluation"));
	char *blpath = mp_asprintf("%s/blessing.tsv", mp_io_output(io, "blessing"));
	int rc = 0;

	mp_evaluation_format(e, &ef);
	mp_blessing_format(b, &bf);
	if (ef.failed || bf.failed || !epath || !blpath)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0 && (rc = mp_write_file_atomic(epath, ef.buf, ef.len, err)) == 0 &&
	    (rc = mp_write_file_atomic(blpath, bf.buf, bf.len, err)) == 0 &&
	    (mp_result_prop_int(io->result, "blessing", "blessed", b->blessed) != 0 ||
	     mp_result_prop_int(io->result, "blessing", "has_baseline", b->has_baseline) != 0 ||
	     mp_result_metric(io->result, "blessed", 0, b->blessed) != 0))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0)
		fprintf(stderr, "%s", mp_strbuf_str(&bf));
	mp_strbuf_release(&ef);
	mp_strbuf_release(&bf);
	free(epath);
	free(blpath);
	return rc;
}

static void evaluator_release(evaluator *E)
{
	size_t i;

	for (i = 0; i < E->nsl && E->sl; i++)
		slicer_release(&E->sl[i]);
	free(E->sl);
	free(E->slbuf);
	free(E->slnames);
	mp_eval_release(&E->ev);
	mp_eval_release(&E->bev);
	mp_eval_result_release(&E->res);
	mp_eval_result_release(&E->bres);
	mp_examples_meta_release(&E->m);
	free(E->mpath);
	free(E->bpath);
}

static int run_evaluator(const mp_component_io *io, mp_err *err)
{
	const char *model = mp_io_input(io, "model"), *base = mp_io_input(io, "baseline_model");
	evaluator E;
	mp_evaluation e = {0};
	mp_blessing b = {0};
	const mp_split_info *si;
	int rc;

	memset(&E, 0, sizeof(E));
	E.io = io;
	E.ex = mp_io_input(io, "examples");
	E.split = mp_io_param(io, "split");
	if (!E.ex || !model)
		return mp_error(err, MP_EINVAL, "Evaluator needs 'examples' and 'model' inputs");
	/* the loader checked the shape; a component run alone is checked here */
	if ((rc = mp_shape_check_text(&s_thresholds, mp_io_param(io, "thresholds"), "thresholds", err)) != 0)
		return rc;
	if (!(E.mpath = mp_asprintf("%s/model.mlpm", model)) || (base && !(E.bpath = mp_asprintf("%s/model.mlpm", base))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0)
		rc = mp_examples_meta_read(&E.m, E.ex, err);
	if (rc == 0 && !(si = mp_examples_split(&E.m, E.split)))
		rc = mp_error(err, MP_EINVAL, "the examples have no split '%s' to evaluate on", E.split);
	else if (rc == 0 && !si->rows)
		rc = mp_error(err, MP_EINVAL, "split '%s' has no rows: there is nothing to evaluate on", E.split);
	if (rc == 0 && (rc = open_slices(&E, err)) == 0 && (rc = evaluate_both(&E, err)) == 0 &&
	    (rc = evaluation_of(&E, &e, err)) == 0 && (rc = bless(&E, &b, err)) == 0 &&
	    (rc = write_files(&E, &e, &b, err)) == 0 && !strcmp(mp_io_param(io, "feature_importance"), "permutation"))
		rc = mp__eval_importance(io, E.mpath, &E.m, E.ex, E.split, err);
	mp_evaluation_release(&e);
	mp_blessing_release(&b);
	evaluator_release(&E);
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
