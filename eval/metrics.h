/* components/eval: model quality metrics, accumulated one prediction at a
 * time (the Evaluator streams a split through a model and feeds them here).
 *
 * Classification (nclass >= 2): accuracy, log loss, the confusion matrix,
 * per-class precision / recall / F1 with their macro averages (over the
 * classes present in the data: in a slice, the slice's) and the micro
 * average (which equals accuracy for single-label data), and ROC AUC for
 * two classes.  Regression (nclass == 0): MSE, MAE and R².
 */
#ifndef MP_COMPONENTS_EVAL_METRICS_H
#define MP_COMPONENTS_EVAL_METRICS_H

#include <stdint.h>

#include "core/core.h"

typedef struct mp_eval {
	int nclass;	   /* 0 for regression */
	int64_t n;
	double log_loss_sum;
	int64_t *confusion; /* nclass x nclass: [true][predicted] */
	/* regression */
	double se, ae, sum_y, sum_y2;
	/* binary: every (score, label) pair, for the AUC */
	float *scores;
	uint8_t *labels;
	size_t nscores, cap;
} mp_eval;

typedef struct mp_eval_class {
	double precision, recall, f1; /* NaN when undefined (no predictions / no examples) */
	int64_t support;
} mp_eval_class;

typedef struct mp_eval_result {
	int64_t n;
	/* classification */
	double accuracy, log_loss, macro_precision, macro_recall, macro_f1, micro_f1, auc; /* auc NaN unless binary */
	mp_eval_class *classes; /* nclass entries, owned */
	/* regression */
	double mse, mae, r2;
} mp_eval_result;

int mp_eval_init(mp_eval *e, int nclass, mp_err *err);
void mp_eval_release(mp_eval *e);
/* One prediction: for classification the class probabilities (nclass) and
 * the true class index; for regression the predicted and the true value. */
int mp_eval_add(mp_eval *e, const float *pred, float label, mp_err *err);
int mp_eval_finish(const mp_eval *e, mp_eval_result *out, mp_err *err);
void mp_eval_result_release(mp_eval_result *r);

#endif
