/* Boosting through XGBoost's C API: see trees.h. */
#include "trees/trees.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

/* Under ThreadSanitizer XGBoost runs one thread: its OpenMP runtime
 * (libgomp) is not instrumented, so its threads' synchronisation reads as
 * races. */
#if defined(__SANITIZE_THREAD__)
#define ONE_THREAD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ONE_THREAD 1
#endif
#endif
#ifndef ONE_THREAD
#define ONE_THREAD 0
#endif

/* XGBoost's own message for the call that failed. */
static int xgb_error(mp_err *err, const char *what)
{
	return mp_error(err, MP_EINVAL, "XGBoost: %s: %s", what, XGBGetLastError());
}

/* The mean loss and the accuracy of margins m (rows x ng) against y, with
 * the networks' formulas (nn.c), so that the two kinds' curves compare. */
static void score(mp_loss loss, int ng, const float *m, const float *y, size_t rows, double *lo, double *acc)
{
	double total = 0;
	size_t r, right = 0;
	int k;

	for (r = 0; r < rows; r++) {
		const float *z = m + r * (size_t)ng;

		if (loss == MP_LOSS_SOFTMAX_CE) {
			int label = (int)y[r], best = 0;
			double sum = 0;

			for (k = 1; k < ng; k++)
				best = z[k] > z[best] ? k : best;
			for (k = 0; k < ng; k++)
				sum += exp((double)z[k] - z[best]);
			total += log(sum) - ((double)z[label] - z[best]);
			right += best == label;
		} else if (loss == MP_LOSS_BCE) {
			double s = z[0], t = y[r];

			total += (s > 0 ? s + log1p(exp(-s)) : log1p(exp(s))) - t * s;
			right += (s > 0) == (t > 0.5);
		} else {
			double e = (double)z[0] - y[r];

			total += e * e;
		}
	}
	*lo = rows ? total / (double)rows : NAN;
	*acc = rows && loss != MP_LOSS_MSE ? (double)right / (double)rows : NAN;
}

/* The margins of d under the booster so far, scored. */
static int measure(BoosterHandle b, DMatrixHandle d, const mp_gbdt_data *data, mp_loss loss, int ng, double *lo,
		   double *acc, mp_err *err)
{
	static const char cfg[] = "{\"type\": 1, \"training\": false, \"iteration_begin\": 0, "
				  "\"iteration_end\": 0, \"strict_shape\": false}";
	const bst_ulong *shape;
	bst_ulong dim;
	const float *m;

	if (XGBoosterPredictFromDMatrix(b, d, cfg, &shape, &dim, &m) != 0)
		return xgb_error(err, "predicting");
	score(loss, ng, m, data->y, data->rows, lo, acc);
	return 0;
}

static int matrix(DMatrixHandle *d, const mp_gbdt_data *data, int nfeat, mp_err *err)
{
	if (XGDMatrixCreateFromMat(data->x, (bst_ulong)data->rows, (bst_ulong)nfeat, NAN, d) != 0)
		return xgb_error(err, "making the data matrix");
	if (XGDMatrixSetFloatInfo(*d, "label", data->y, (bst_ulong)data->rows) != 0)
		return xgb_error(err, "setting the labels");
	return 0;
}

/* The booster's parameters: ours by XGBoost's names. */
static int configure(BoosterHandle b, const mp_gbdt_params *p, mp_loss loss, int nclass, mp_err *err)
{
	static const char *const objective[] = {"multi:softprob", "binary:logistic", "reg:squarederror"};
	char v[9][32];
	const char *names[] = {"max_depth", "eta", "subsample", "colsample_bytree", "min_child_weight",
			       "lambda", "alpha", "gamma", "nthread"};
	double vals[] = {p->max_depth, p->eta, p->subsample, p->colsample, p->min_child_weight,
			 p->lambda, p->alpha, p->gamma, ONE_THREAD ? 1 : p->threads};
	char seed[32], classes[32];
	size_t k;

	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)(p->seed % 2147483647u));
	snprintf(classes, sizeof(classes), "%d", nclass);
	if (XGBoosterSetParam(b, "objective", objective[loss]) != 0 ||
	    (loss == MP_LOSS_SOFTMAX_CE && XGBoosterSetParam(b, "num_class", classes) != 0) ||
	    XGBoosterSetParam(b, "seed", seed) != 0 ||
	    XGBoosterSetParam(b, "tree_method", p->tree_method ? p->tree_method : "hist") != 0 ||
	    XGBoosterSetParam(b, "verbosity", "0") != 0)
		return xgb_error(err, "setting its parameters");
	for (k = 0; k < MP_COUNTOF(names); k++) {
		snprintf(v[k], sizeof(v[k]), "%.17g", vals[k]);
		if (XGBoosterSetParam(b, names[k], v[k]) != 0)
			return xgb_error(err, names[k]);
	}
	return 0;
}

/* Whether value improves on best by more than min_delta (metric 1 is a
 * loss, lower is better; 2 an accuracy). */
static int improves(int metric, double value, double best, double min_delta)
{
	return metric == 2 ? value > best + min_delta : value < best - min_delta;
}

/* The booster's first rounds as JSON into out. */
static int keep(BoosterHandle b, int rounds, mp_gbdt_result *out, mp_err *err)
{
	BoosterHandle cut = NULL;
	const char *buf;
	bst_ulong len;
	int rc = 0, have;

	if (XGBoosterBoostedRounds(b, &have) != 0)
		return xgb_error(err, "counting the rounds");
	if (rounds < have && XGBoosterSlice(b, 0, rounds, 1, &cut) != 0)
		return xgb_error(err, "keeping the best rounds");
	if (XGBoosterSaveModelToBuffer(cut ? cut : b, "{\"format\": \"json\"}", &len, &buf) != 0)
		rc = xgb_error(err, "saving the booster");
	else if (!(out->booster = mp_malloc(len + 1)))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else {
		memcpy(out->booster, buf, len);
		out->booster[len] = '\0';
		out->len = len;
		out->rounds = rounds;
	}
	if (cut)
		XGBoosterFree(cut);
	return rc;
}

int mp_gbdt_train(const mp_gbdt_params *p, mp_loss loss, int nclass, int nfeat, const mp_gbdt_data *train,
		  const mp_gbdt_data *val, mp_gbdt_round_fn fn, void *ud, mp_gbdt_result *out, mp_err *err)
{
	DMatrixHandle d[2] = {NULL, NULL};
	BoosterHandle b = NULL;
	int ng = loss == MP_LOSS_SOFTMAX_CE ? nclass : 1, have_val = val && val->rows > 0, rc, round, since = 0;
	double best = p->es_metric == 2 ? -INFINITY : INFINITY, now[4], *hist = NULL;

	memset(out, 0, sizeof(*out));
	if ((rc = matrix(&d[0], train, nfeat, err)) != 0 || (have_val && (rc = matrix(&d[1], val, nfeat, err)) != 0))
		goto out;
	if (XGBoosterCreate(d, (bst_ulong)(1 + have_val), &b) != 0) {
		rc = xgb_error(err, "making the booster");
		goto out;
	}
	if ((rc = configure(b, p, loss, nclass, err)) != 0)
		goto out;
	if (!(hist = mp_calloc((size_t)p->rounds * 4 + 4, sizeof(double)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	out->best_round = 0;
	for (round = 1; round <= p->rounds; round++) {
		if (XGBoosterUpdateOneIter(b, round - 1, d[0]) != 0) {
			rc = xgb_error(err, "boosting");
			goto out;
		}
		now[2] = now[3] = NAN;
		if ((rc = measure(b, d[0], train, loss, ng, &now[0], &now[1], err)) != 0 ||
		    (have_val && (rc = measure(b, d[1], val, loss, ng, &now[2], &now[3], err)) != 0))
			goto out;
		memcpy(hist + 4 * round, now, sizeof(now));
		if (fn && (rc = fn(ud, round, now[0], now[1], now[2], now[3], err)) != 0)
			goto out;
		if (!p->es_metric || !have_val) {
			out->best_round = round;
			continue;
		}
		if (improves(p->es_metric, now[p->es_metric == 2 ? 3 : 2], best, p->es_min_delta) || !out->best_round) {
			best = now[p->es_metric == 2 ? 3 : 2];
			out->best_round = round;
			since = 0;
		} else if (++since >= p->es_patience) {
			break;
		}
	}
	memcpy(out->kept, hist + 4 * out->best_round, sizeof(out->kept));
	rc = keep(b, out->best_round, out, err);
out:
	free(hist);
	if (b)
		XGBoosterFree(b);
	for (int k = 0; k < 2; k++)
		if (d[k])
			XGDMatrixFree(d[k]);
	return rc;
}
