/* components/evaluator: what the Evaluator's files share (internal).
 *
 *   evaluator.c             the component: metrics, slices, the blessing
 *   evaluator_importance.c  permutation importance (feature_importance)
 */
#ifndef MP_COMPONENTS_EVALUATOR_H
#define MP_COMPONENTS_EVALUATOR_H

#include "components/component.h"
#include "data/examples.h"

/* Permutation importance of the model (a model.mlpm) on split of the
 * examples in dir (described by m): each of its raw inputs shuffled across
 * the rows, importance_repeats times from the seed param, and the mean
 * fall of the score (accuracy; for a regression the rise of the MSE) with
 * its spread, into importance.tsv of the evaluation output and the metrics
 * importance:FEATURE. */
int mp__eval_importance(const mp_component_io *io, const char *model, const mp_examples_meta *m, const char *dir,
			const char *split, mp_err *err);

#endif
