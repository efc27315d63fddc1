/* components/eval: every metric against a hand computation. */
#include "testutil.h"

#include <math.h>

#include "components/eval/metrics.h"

/* Three classes, six examples (true class, probabilities):
 *   0 [.7 .2 .1] -> 0   0 [.3 .6 .1] -> 1   1 [.1 .8 .1] -> 1
 *   1 [.2 .2 .6] -> 2   2 [.1 .1 .8] -> 2   2 [.1 .5 .4] -> 1
 * confusion (true x predicted): [1 1 0; 0 1 1; 0 1 1]
 * class 0: P 1/1, R 1/2, F1 2/3; class 1: P 1/3, R 1/2, F1 0.4;
 * class 2: P 1/2, R 1/2, F1 1/2; accuracy 3/6;
 * log loss -(ln .7 + ln .3 + ln .8 + ln .2 + ln .8 + ln .4) / 6. */
START_TEST(classification_metrics_match_a_hand_computation)
{
	static const float p[6][3] = {{.7f, .2f, .1f}, {.3f, .6f, .1f}, {.1f, .8f, .1f},
				      {.2f, .2f, .6f}, {.1f, .1f, .8f}, {.1f, .5f, .4f}};
	static const float y[6] = {0, 0, 1, 1, 2, 2};
	mp_eval e;
	mp_eval_result r;
	mp_err err;
	int i;
	double ll = -(log(.7f) + log(.3f) + log(.8f) + log(.2f) + log(.8f) + log(.4f)) / 6;

	ck_assert_int_eq(mp_eval_init(&e, 3, &err), 0);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(mp_eval_add(&e, p[i], y[i], &err), 0);
	ck_assert_int_eq(mp_eval_add(&e, p[0], 3, &err), MP_EINVAL); /* not a class */
	ck_assert_int_eq(mp_eval_finish(&e, &r, &err), 0);
	ck_assert_int_eq(r.n, 6);
	ck_assert_int_eq(e.confusion[0 * 3 + 1], 1);
	ck_assert_int_eq(e.confusion[2 * 3 + 1], 1);
	ck_assert_int_eq(e.confusion[2 * 3 + 0], 0);
	ck_assert_double_eq_tol(r.accuracy, 0.5, 1e-12);
	ck_assert_double_eq_tol(r.micro_f1, 0.5, 1e-12);
	ck_assert_double_eq_tol(r.log_loss, ll, 1e-9);
	ck_assert_double_eq_tol(r.classes[0].precision, 1.0, 1e-12);
	ck_assert_double_eq_tol(r.classes[0].recall, 0.5, 1e-12);
	ck_assert_double_eq_tol(r.classes[0].f1, 2.0 / 3, 1e-12);
	ck_assert_double_eq_tol(r.classes[1].precision, 1.0 / 3, 1e-12);
	ck_assert_double_eq_tol(r.classes[1].f1, 0.4, 1e-12);
	ck_assert_int_eq(r.classes[2].support, 2);
	ck_assert_double_eq_tol(r.macro_precision, (1 + 1.0 / 3 + 0.5) / 3, 1e-12);
	ck_assert_double_eq_tol(r.macro_recall, 0.5, 1e-12);
	ck_assert_double_eq_tol(r.macro_f1, (2.0 / 3 + 0.4 + 0.5) / 3, 1e-12);
	ck_assert(isnan(r.auc)); /* only for two classes */
	ck_assert(isnan(r.mse) && isnan(r.r2)); /* regression metrics do not apply */
	mp_eval_result_release(&r);
	mp_eval_release(&e);
}
END_TEST

/* Positives score .9 .8 .6 .4, negatives .7 .4 .2: of the 12 pairs the
 * positive wins 3 + 3 + 2 + 1 and ties once (half), so AUC = 9.5 / 12. */
START_TEST(binary_auc_counts_pairs_and_ties)
{
	static const float s[7] = {.9f, .8f, .7f, .6f, .4f, .4f, .2f};
	static const float y[7] = {1, 1, 0, 1, 0, 1, 0};
	mp_eval e;
	mp_eval_result r;
	mp_err err;
	int i;

	ck_assert_int_eq(mp_eval_init(&e, 2, &err), 0);
	for (i = 0; i < 7; i++) {
		float p[2] = {1 - s[i], s[i]};

		ck_assert_int_eq(mp_eval_add(&e, p, y[i], &err), 0);
	}
	ck_assert_int_eq(mp_eval_finish(&e, &r, &err), 0);
	ck_assert_double_eq_tol(r.auc, 9.5 / 12, 1e-12);
	/* predicted 1 when s > .5: .9 .8 .7 .6 -> 3 of 4 right; recall of 1: 3 of 4 */
	ck_assert_double_eq_tol(r.classes[1].precision, 0.75, 1e-12);
	ck_assert_double_eq_tol(r.classes[1].recall, 0.75, 1e-12);
	mp_eval_result_release(&r);
	mp_eval_release(&e);
	/* one class only: the AUC is undefined */
	ck_assert_int_eq(mp_eval_init(&e, 2, &err), 0);
	{
		float p[2] = {.2f, .8f};

		ck_assert_int_eq(mp_eval_add(&e, p, 1, &err), 0);
	}
	ck_assert_int_eq(mp_eval_finish(&e, &r, &err), 0);
	ck_assert(isnan(r.auc));
	ck_assert(isnan(r.classes[0].recall)); /* no examples of class 0 */
	mp_eval_result_release(&r);
	mp_eval_release(&e);
}
END_TEST

/* y 1 2 3 4, predictions 1.5 2 2.5 5: MSE (.25 + 0 + .25 + 1) / 4 = .375,
 * MAE .5, variance of y 1.25, so R² = 1 - .375 / 1.25 = .7. */
START_TEST(regression_metrics_match_a_hand_computation)
{
	static const float y[4] = {1, 2, 3, 4}, p[4] = {1.5f, 2, 2.5f, 5};
	mp_eval e;
	mp_eval_result r;
	mp_err err;
	int i;

	ck_assert_int_eq(mp_eval_init(&e, 0, &err), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(mp_eval_add(&e, &p[i], y[i], &err), 0);
	ck_assert_int_eq(mp_eval_finish(&e, &r, &err), 0);
	ck_assert_double_eq_tol(r.mse, 0.375, 1e-12);
	ck_assert_double_eq_tol(r.mae, 0.5, 1e-12);
	ck_assert_double_eq_tol(r.r2, 0.7, 1e-9);
	ck_assert(isnan(r.accuracy));
	mp_eval_result_release(&r);
	mp_eval_release(&e);
	ck_assert_int_eq(mp_eval_init(&e, 1, &err), MP_EINVAL);
}
END_TEST

static Suite *eval_suite(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, classification_metrics_match_a_hand_computation);
	tcase_add_test(tc, binary_auc_counts_pairs_and_ties);
	tcase_add_test(tc, regression_metrics_match_a_hand_computation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(eval_suite());
}
