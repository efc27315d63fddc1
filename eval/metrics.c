/* Model quality metrics: see metrics.h. */
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROB_FLOOR 1e-15 /* log loss of a probability of 0 */

int mp_eval_init(mp_eval *e, int nclass, mp_err *err)
{
	memset(e, 0, sizeof(*e));
	if (nclass == 1 || nclass < 0)
		return mp_error(err, MP_EINVAL, "a classification needs at least 2 classes");
	e->nclass = nclass;
	if (nclass && !(e->confusion = mp_calloc((size_t)nclass * (size_t)nclass, sizeof(int64_t))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

void mp_eval_release(mp_eval *e)
{
	free(e->confusion);
	free(e->scores);
	free(e->labels);
	memset(e, 0, sizeof(*e));
}

int mp_eval_add(mp_eval *e, const float *pred, float label, mp_err *err)
{
	int k, best = 0, y;

	if (!e->nclass) {
		double d = (double)pred[0] - label;

		e->se += d * d;
		e->ae += fabs(d);
		e->sum_y += label;
		e->sum_y2 += (double)label * label;
		e->n++;
		return 0;
	}
	y = (int)label;
	if (label != (float)y || y < 0 || y >= e->nclass)
		return mp_error(err, MP_EINVAL, "label %g is not a class of %d", (double)label, e->nclass);
	for (k = 1; k < e->nclass; k++)
		if (pred[k] > pred[best])
			best = k;
	e->confusion[(size_t)y * (size_t)e->nclass + (size_t)best]++;
	e->log_loss_sum -= log(pred[y] > PROB_FLOOR ? (double)pred[y] : PROB_FLOOR);
	e->n++;
	if (e->nclass == 2) {
		if (e->nscores == e->cap) {
			size_t cap = e->cap ? e->cap * 2 : 1024;
			float *s = mp_realloc(e->scores, cap * sizeof(float));
			uint8_t *l;

			if (!s)
				return mp_error(err, MP_ENOMEM, "out of memory");
			e->scores = s;
			if (!(l = mp_realloc(e->labels, cap)))
				return mp_error(err, MP_ENOMEM, "out of memory");
			e->labels = l;
			e->cap = cap;
		}
		e->scores[e->nscores] = pred[1];
		e->labels[e->nscores++] = (uint8_t)y;
	}
	return 0;
}

typedef struct scored {
	float s;
	uint8_t l;
} scored;

static int cmp_scored(const void *a, const void *b)
{
	float x = ((const scored *)a)->s, y = ((const scored *)b)->s;

	return x < y ? -1 : x > y;
}

/* ROC AUC as the Mann-Whitney statistic, ties counted half. */
static double auc(const mp_eval *e, mp_err *err, int *rc)
{
	scored *v = mp_malloc((e->nscores ? e->nscores : 1) * sizeof(*v));
	double pos = 0, neg = 0, sum = 0;
	size_t i, j;

	*rc = 0;
	if (!v) {
		*rc = mp_error(err, MP_ENOMEM, "out of memory");
		return NAN;
	}
	for (i = 0; i < e->nscores; i++) {
		v[i].s = e->scores[i];
		v[i].l = e->labels[i];
	}
	qsort(v, e->nscores, sizeof(*v), cmp_scored);
	/* walk groups of equal scores: each positive beats every negative
	 * seen before its group and ties with those in it */
	for (i = 0; i < e->nscores; i = j) {
		double gp = 0, gn = 0;

		for (j = i; j < e->nscores && v[j].s == v[i].s; j++) {
			if (v[j].l)
				gp++;
			else
				gn++;
		}
		sum += gp * neg + 0.5 * gp * gn;
		pos += gp;
		neg += gn;
	}
	free(v);
	return pos > 0 && neg > 0 ? sum / (pos * neg) : NAN;
}

int mp_eval_finish(const mp_eval *e, mp_eval_result *r, mp_err *err)
{
	int k, j, n = e->nclass;
	int64_t correct = 0;
	double sp = 0, sr = 0, sf = 0;
	int np = 0, nr = 0, nf = 0;

	memset(r, 0, sizeof(*r));
	r->n = e->n;
	r->auc = NAN;
	if (!n) {
		double mean, var;

		r->mse = e->n ? e->se / (double)e->n : NAN;
		r->mae = e->n ? e->ae / (double)e->n : NAN;
		mean = e->n ? e->sum_y / (double)e->n : 0;
		var = e->n ? e->sum_y2 / (double)e->n - mean * mean : 0;
		r->r2 = var > 0 ? 1 - r->mse / var : NAN;
		r->accuracy = r->log_loss = r->macro_precision = r->macro_recall = r->macro_f1 = r->micro_f1 = NAN;
		return 0;
	}
	r->mse = r->mae = r->r2 = NAN;
	if (!(r->classes = mp_calloc((size_t)n, sizeof(*r->classes))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (k = 0; k < n; k++) {
		int64_t tp = e->confusion[(size_t)k * n + k], predicted = 0, actual = 0;
		mp_eval_class *c = &r->classes[k];

		for (j = 0; j < n; j++) {
			predicted += e->confusion[(size_t)j * n + k];
			actual += e->confusion[(size_t)k * n + j];
		}
		correct += tp;
		c->support = actual;
		/* a class that is present but never predicted has precision 0
		 * (scikit-learn's zero_division=0); one that is absent has none */
		c->precision = predicted ? (double)tp / (double)predicted : actual ? 0 : NAN;
		c->recall = actual ? (double)tp / (double)actual : NAN;
		c->f1 = isnan(c->precision) || isnan(c->recall)     ? NAN
			: c->precision + c->recall > 0 ? 2 * c->precision * c->recall / (c->precision + c->recall)
						       : 0;
		/* macro averages over the classes present in the data (in a
		 * slice, those of the slice), so the three agree on which */
		if (actual) {
			sp += c->precision;
			sr += c->recall;
			sf += c->f1;
			np++;
			nr++;
			nf++;
		}
	}
	r->accuracy = e->n ? (double)correct / (double)e->n : NAN;
	r->micro_f1 = r->accuracy; /* one label per example: micro P = micro R = accuracy */
	r->log_loss = e->n ? e->log_loss_sum / (double)e->n : NAN;
	r->macro_precision = np ? sp / np : NAN;
	r->macro_recall = nr ? sr / nr : NAN;
	r->macro_f1 = nf ? sf / nf : NAN;
	if (n == 2) {
		int rc;

		r->auc = auc(e, err, &rc);
		if (rc != 0) {
			mp_eval_result_release(r);
			return rc;
		}
	}
	return 0;
}

void mp_eval_result_release(mp_eval_result *r)
{
	free(r->classes);
	memset(r, 0, sizeof(*r));
}
