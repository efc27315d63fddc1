/* trees: gradient-boosted trees, trained by XGBoost's C API and scored
 * on flat node arrays of our own.
 *
 * Training (mp_gbdt_train) is XGBoost's: the field's well-kept library,
 * not boosting written by hand.  What it returns is the booster in
 * XGBoost's JSON model format, which the model file keeps as it is.
 * Scoring (mp_forest) reads that JSON once into flat arrays — per node a
 * feature, a threshold or leaf value, two children and where a missing
 * value goes — so prediction, serving and the C and ONNX exports need no
 * XGBoost and agree with it (the test compares with XGBoost's own
 * predictions through its C API).
 */
#ifndef MP_TREES_H
#define MP_TREES_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "nn/nn.h"

/* ---- scoring: the trees as flat arrays ---------------------------------- */

typedef struct mp_forest {
	int nfeat;	/* inputs */
	int ngroup;	/* outputs per row: the classes (softmax) or 1 */
	mp_loss loss;	/* how margins become outputs */
	float base;	/* every output's starting margin */
	int ntrees;
	int32_t *start; /* ntrees + 1: tree t's nodes are [start[t], start[t + 1]) */
	int32_t *group; /* ntrees: the output tree t adds to */
	size_t nnodes;
	/* per node, numbered within its tree; a leaf has left == -1 */
	int32_t *feature, *left, *right;
	float *value;	    /* a split's threshold (x < value goes left) or a leaf's value */
	uint8_t *dleft;	    /* a missing (NaN) value goes left */
	double *gain;	    /* nfeat: the loss reduction of every split on each input (total gain) */
} mp_forest;

/* Reads a booster in XGBoost's JSON model format (json, len bytes; where
 * names it in errors) into f, checking everything a hostile file could
 * get wrong: sizes, children (always after their parent, so a walk ends),
 * features against nfeat, and the objective against loss.  nfeat is the
 * inputs the model file declares. */
int mp_forest_parse(mp_forest *f, const char *json, size_t len, int nfeat, mp_loss loss, const char *where,
		    mp_err *err);
void mp_forest_release(mp_forest *f);

/* The margins of rows (rows x nfeat, NaN for missing) into out (rows x
 * ngroup), summed in float in tree order as XGBoost does. */
void mp_forest_margins(const mp_forest *f, const float *x, int rows, float *out);
/* The outputs: probabilities per class (softmax), of class 1 (logistic,
 * one output) or values (mse), into out (rows x ngroup). */
void mp_forest_predict(const mp_forest *f, const float *x, int rows, float *out);

/* ---- training: XGBoost's C API ------------------------------------------ */

typedef struct mp_gbdt_params {
	int rounds, max_depth;
	double eta, subsample, colsample, min_child_weight, lambda, alpha, gamma;
	const char *tree_method; /* hist, approx or exact; NULL: hist */
	/* early stopping on the validation rows: 0 none, 1 on its loss, 2 on
	 * its accuracy; stop after es_patience rounds without an improvement
	 * of more than es_min_delta */
	int es_metric, es_patience;
	double es_min_delta;
	int threads; /* XGBoost's nthread */
	uint64_t seed;
} mp_gbdt_params;

/* Rows of inputs (rows x nfeat, NaN for missing) and their labels. */
typedef struct mp_gbdt_data {
	const float *x, *y;
	size_t rows;
} mp_gbdt_data;

/* Called after each round with its 1-based number and the validation
 * loss and accuracy (NaN without validation; accuracy NaN for mse); a
 * non-zero return stops training with that code. */
typedef int (*mp_gbdt_round_fn)(void *ud, int round, double train_loss, double train_acc, double val_loss,
				double val_acc, mp_err *err);

typedef struct mp_gbdt_result {
	char *booster;	 /* XGBoost's JSON model (malloc'd; free it) */
	size_t len;
	int rounds;	 /* boosting rounds kept */
	int best_round;	 /* with early stopping, the round of the best validation loss */
	double kept[4];	 /* train loss, train accuracy, validation loss, validation accuracy of the kept model */
} mp_gbdt_result;

/* Boosts on train, measuring val (rows 0: none) after each round; the
 * classes for softmax (else ignored).  With early stopping the booster
 * keeps only the rounds up to the best one. */
int mp_gbdt_train(const mp_gbdt_params *p, mp_loss loss, int nclass, int nfeat, const mp_gbdt_data *train,
		  const mp_gbdt_data *val, mp_gbdt_round_fn fn, void *ud, mp_gbdt_result *out, mp_err *err);

#endif
