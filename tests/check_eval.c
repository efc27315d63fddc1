/* components/eval: every metric against a hand computation; the
 * Evaluator's slices and its blessing for each kind of threshold, with and
 * without a baseline, on models whose predictions are known. */
#include "testutil.h"

#include <math.h>

#include "eval/evaluation.h"
#include "eval/metrics.h"
#include "nn/nn.h"
#include "core/tsv.h"
#include "cli/cli.h"

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

/* Averages over the classes present.  A slice of one class (a binary
 * dataset sliced by its label): 40 examples of class 1, 38 predicted 1 and
 * 2 predicted 0.  Present: class 1 only, P 38/38, R 38/40, F1 2 * .95 /
 * 1.95; class 0 (absent, predicted twice) counts in no average.  Three
 * classes with class 2 present but never predicted: its P and F1 are 0. */
START_TEST(macro_averages_are_over_the_classes_present)
{
	static const float one[2] = {.1f, .9f}, zero[2] = {.8f, .2f};
	static const float p0[3] = {.8f, .1f, .1f}, p1[3] = {.1f, .8f, .1f};
	mp_eval e;
	mp_eval_result r;
	mp_err err;
	int i;

	ck_assert_int_eq(mp_eval_init(&e, 2, &err), 0);
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(mp_eval_add(&e, i < 38 ? one : zero, 1, &err), 0);
	ck_assert_int_eq(mp_eval_finish(&e, &r, &err), 0);
	ck_assert_double_eq_tol(r.accuracy, 0.95, 1e-12);
	ck_assert_double_eq_tol(r.macro_precision, 1.0, 1e-12);
	ck_assert_double_eq_tol(r.macro_recall, 0.95, 1e-12);
	ck_assert_double_eq_tol(r.macro_f1, 2 * 0.95 / 1.95, 1e-12);
	ck_assert_double_eq_tol(r.classes[0].precision, 0, 1e-12); /* predicted, never right */
	ck_assert(isnan(r.classes[0].recall));
	mp_eval_result_release(&r);
	mp_eval_release(&e);

	/* true 0 -> 0, 1 -> 1, 2 -> 0, 2 -> 1: class 2 present, never predicted */
	ck_assert_int_eq(mp_eval_init(&e, 3, &err), 0);
	ck_assert_int_eq(mp_eval_add(&e, p0, 0, &err), 0);
	ck_assert_int_eq(mp_eval_add(&e, p1, 1, &err), 0);
	ck_assert_int_eq(mp_eval_add(&e, p0, 2, &err), 0);
	ck_assert_int_eq(mp_eval_add(&e, p1, 2, &err), 0);
	ck_assert_int_eq(mp_eval_finish(&e, &r, &err), 0);
	ck_assert_double_eq_tol(r.classes[2].precision, 0, 1e-12);
	ck_assert_double_eq_tol(r.classes[2].f1, 0, 1e-12);
	/* P: 1/2, 1/2, 0; R: 1, 1, 0; F1: 2/3, 2/3, 0 */
	ck_assert_double_eq_tol(r.macro_precision, 1.0 / 3, 1e-12);
	ck_assert_double_eq_tol(r.macro_recall, 2.0 / 3, 1e-12);
	ck_assert_double_eq_tol(r.macro_f1, 4.0 / 9, 1e-12);
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

/* The evaluation split: x, a string g (empty: missing), the class y. */
static const struct {
	double x;
	const char *g;
	int y;
} rows[] = {
	{1, "a", 1}, {2, "a", 1}, {-1, "a", 0}, {0.5, "b", 0}, {-2, "b", 1}, {-0.5, "b", 0}, {3, "", 1}, {-3, "c", 0},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static void make_examples(void)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t i;
	mp_err err;

	mp_strbuf_adds(&sb, "x,g,y\n");
	for (i = 0; i < NROWS; i++)
		mp_strbuf_addf(&sb, "%g,%s,%d\n", rows[i].x, rows[i].g, rows[i].y);
	tu_write("eval.csv", mp_strbuf_str(&sb));
	mp_strbuf_release(&sb);
	ck_assert_msg(tu_run_component("ExampleGen", NULL, &err, "out:examples=ex", "param:format=csv",
				       "param:splits=eval=eval.csv", "param:label=y", (char *)NULL) == 0,
		      "%s", err.msg);
}

/* A model of x alone with logits (-x + c, x - c): class 1 exactly when
 * x > c, with probability sigmoid(2(x - c)). */
static void make_model(const char *dir, double c)
{
	mp_layer_spec layer = {.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO};
	char *d = tu_at(dir), *path = mp_asprintf("%s/model.mlpm", d);
	mp_net n;
	mp_err err;

	ck_assert_int_eq(mp_mkdirs(d, 0755, &err), 0);
	ck_assert_int_eq(mp_net_init(&n, 1, &layer, 1, MP_LOSS_SOFTMAX_CE, 8, 1, &err), 0);
	n.params[n.woff[0]] = -1;
	n.params[n.woff[0] + 1] = 1;
	n.params[n.boff[0]] = (float)c;
	n.params[n.boff[0] + 1] = (float)-c;
	ck_assert_int_eq(mp_model_save(&n, NULL, path, &err), 0);
	mp_net_release(&n);
	free(path);
	free(d);
}

/* The accuracy and log loss of make_model(c) on the rows. */
static void hand_metrics(double c, double *acc, double *ll)
{
	size_t i;
	int right = 0;

	*ll = 0;
	for (i = 0; i < NROWS; i++) {
		double p1 = 1 / (1 + exp(-2 * (rows[i].x - c)));

		right += (rows[i].x > c) == rows[i].y;
		*ll -= log(rows[i].y ? p1 : 1 - p1);
	}
	*acc = (double)right / NROWS;
	*ll /= NROWS;
}

static void assert_has_line(const char *file, const char *line)
{
	char *path = tu_at(file), *text = tu_read(path);

	ck_assert_msg(strstr(text, line) != NULL, "%s lacks \"%s\":\n%s", file, line, text);
	free(text);
	free(path);
}

/* The model is right on 6 of 8 rows (wrong on x = 0.5 and x = -2): each
 * slice's accuracy by hand. */
START_TEST(slices_by_string_label_and_numeric_buckets)
{
	mp_err err;

	make_examples();
	make_model("model", 0);
	ck_assert_msg(tu_run_component("Evaluator", NULL, &err, "in:examples=ex", "in:model=model", "out:evaluation=ev",
				       "out:blessing=bl", "param:slice_by=g\ny\nx", "param:slice_buckets=3", (char *)NULL) == 0,
		      "%s", err.msg);
	assert_has_line("ev/evaluation.tsv", "metric\taccuracy\t0.75\n");
	/* a string: a slice per value, the missing one apart */
	assert_has_line("ev/evaluation.tsv", "slice\tg\ta\texamples\t3\taccuracy\t1\t");
	assert_has_line("ev/evaluation.tsv", "slice\tg\tb\texamples\t3\taccuracy\t0.333333333\t");
	assert_has_line("ev/evaluation.tsv", "slice\tg\tc\texamples\t1\taccuracy\t1\t");
	assert_has_line("ev/evaluation.tsv", "slice\tg\t(missing)\texamples\t1\taccuracy\t1\t");
	/* the label, a number with two values: per class */
	assert_has_line("ev/evaluation.tsv", "slice\ty\t0\texamples\t4\taccuracy\t0.75\t");
	assert_has_line("ev/evaluation.tsv", "slice\ty\t1\texamples\t4\taccuracy\t0.75\t");
	/* x has 8 values, more than 3: three buckets of width 2 */
	assert_has_line("ev/evaluation.tsv", "slice\tx\t[-3, -1)\texamples\t2\taccuracy\t0.5\t");
	assert_has_line("ev/evaluation.tsv", "slice\tx\t[-1, 1)\texamples\t3\taccuracy\t0.666666667\t");
	assert_has_line("ev/evaluation.tsv", "slice\tx\t[1, 3]\texamples\t3\taccuracy\t1\t");

	ck_assert_int_ne(tu_run_component("Evaluator", NULL, &err, "in:examples=ex", "in:model=model", "out:evaluation=ev",
					  "out:blessing=bl", "param:slice_by=gg", (char *)NULL), 0);
	ck_assert_str_eq(err.msg, "slice_by: the examples have no feature 'gg' (did you mean 'g'?)");
}
END_TEST

static void evaluate(const char *thresholds, int baseline)
{
	char *th = mp_asprintf("param:thresholds=%s", thresholds);
	mp_err err;
	int rc;

	if (baseline)
		rc = tu_run_component("Evaluator", NULL, &err, "in:examples=ex", "in:model=model", "in:baseline_model=base",
				      "out:evaluation=ev", "out:blessing=bl", th, (char *)NULL);
	else
		rc = tu_run_component("Evaluator", NULL, &err, "in:examples=ex", "in:model=model", "out:evaluation=ev",
				      "out:blessing=bl", th, (char *)NULL);
	ck_assert_msg(rc == 0, "%s", err.msg);
	free(th);
}

/* The candidate (c = 0: accuracy 0.75) against a better baseline (c =
 * 0.75: it also gets x = 0.5 right, 0.875). */
START_TEST(blessing_holds_each_threshold_kind_with_and_without_a_baseline)
{
	double acc, ll, bacc, bll;
	char line[256], th[256];

	make_examples();
	make_model("model", 0);
	make_model("base", 0.75);
	hand_metrics(0, &acc, &ll);
	hand_metrics(0.75, &bacc, &bll);
	ck_assert_double_eq_tol(acc, 0.75, 1e-12);
	ck_assert_double_eq_tol(bacc, 0.875, 1e-12);

	/* value thresholds alone */
	snprintf(th, sizeof(th), "{\"accuracy\": {\"min\": 0.7}, \"log_loss\": {\"max\": %.6f}}", ll + 0.001);
	evaluate(th, 0);
	assert_has_line("bl/blessing.tsv", "threshold\taccuracy\tmin\t0.7\tvalue\t0.75\theld\n");
	assert_has_line("bl/blessing.tsv", "blessed\tyes\nbaseline\tnone\n");
	snprintf(th, sizeof(th), "{\"accuracy\": {\"min\": 0.7}, \"log_loss\": {\"max\": %.6f}}", ll - 0.001);
	evaluate(th, 0);
	snprintf(line, sizeof(line), "threshold\tlog_loss\tmax\t%.9g\tvalue\t", atof(strchr(strrchr(th, ':'), ' ')));
	assert_has_line("bl/blessing.tsv", line);
	assert_has_line("bl/blessing.tsv", "blessed\tno\n");
	evaluate("{\"accuracy\": {\"min\": 0.8}}", 0);
	assert_has_line("bl/blessing.tsv", "threshold\taccuracy\tmin\t0.8\tvalue\t0.75\tfailed\n");

	/* a change threshold without a baseline does not count */
	evaluate("{\"accuracy\": {\"max_drop\": 0}}", 0);
	assert_has_line("bl/blessing.tsv", "threshold\taccuracy\tmax_drop\t0\tvalue\t0.75\tno baseline\n");
	assert_has_line("bl/blessing.tsv", "blessed\tyes\n");

	/* with the baseline: a drop of 0.125 */
	evaluate("{\"accuracy\": {\"max_drop\": 0.2}}", 1);
	assert_has_line("bl/blessing.tsv", "threshold\taccuracy\tmax_drop\t0.2\tvalue\t0.75\tbaseline\t0.875\theld\n");
	assert_has_line("bl/blessing.tsv", "blessed\tyes\nbaseline\tyes\n");
	evaluate("{\"accuracy\": {\"max_drop\": 0.1}}", 1);
	assert_has_line("bl/blessing.tsv", "threshold\taccuracy\tmax_drop\t0.1\tvalue\t0.75\tbaseline\t0.875\tfailed\n");
	assert_has_line("bl/blessing.tsv", "blessed\tno\n");
	/* the log loss changes by ll - bll */
	snprintf(th, sizeof(th), "{\"log_loss\": {\"max_rise\": %.6f}}", ll - bll + 0.001);
	evaluate(th, 1);
	assert_has_line("bl/blessing.tsv", "blessed\tyes\n");
	snprintf(th, sizeof(th), "{\"log_loss\": {\"max_rise\": %.6f}}", ll - bll - 0.001);
	evaluate(th, 1);
	assert_has_line("bl/blessing.tsv", "\tfailed\n");
	assert_has_line("bl/blessing.tsv", "blessed\tno\n");
	/* every threshold must hold */
	evaluate("{\"accuracy\": {\"min\": 0.5, \"max_drop\": 0.1}}", 1);
	assert_has_line("bl/blessing.tsv", "threshold\taccuracy\tmin\t0.5\tvalue\t0.75\theld\n");
	assert_has_line("bl/blessing.tsv", "blessed\tno\n");
}
END_TEST

/* mlpipe predict on a model without a transform: the CSV's columns but the
 * dropped ones, in order; each row's probabilities by hand (class 1 with
 * sigmoid(2x)). */
START_TEST(predict_without_a_transform_reads_the_columns_in_order)
{
	char *model = tu_at("model"), *csv = tu_at("eval.csv"), *out = tu_at("pred.csv"), *text, *line, *cur;
	char *argv[] = {model, csv, "--drop", "g", "--drop", "y", "-o", out, NULL};
	char *bad[] = {model, csv, "-o", out, NULL};
	size_t i = 0;

	make_examples();
	make_model("model", 0);
	ck_assert_int_eq(mp_cmd_predict(8, argv), 0);
	text = tu_read(out);
	cur = text;
	ck_assert_str_eq(mp_text_line(&cur), "class,p_0,p_1");
	while ((line = mp_text_line(&cur))) {
		double p1 = 1 / (1 + exp(-2 * rows[i].x)), q0, q1;
		char cls[8];

		ck_assert_int_eq(sscanf(line, "%7[^,],%lf,%lf", cls, &q0, &q1), 3);
		ck_assert_str_eq(cls, rows[i].x > 0 ? "1" : "0");
		ck_assert_double_eq_tol(q1, p1, 1e-6);
		ck_assert_double_eq_tol(q0, 1 - p1, 1e-6);
		i++;
	}
	ck_assert_uint_eq(i, NROWS);
	free(text);
	/* without --drop the string and the label are read as numbers too: refused, nothing written */
	ck_assert_int_eq(unlink(out), 0);
	ck_assert_int_eq(mp_cmd_predict(4, bad), MP_EXIT_USAGE);
	ck_assert(access(out, F_OK) != 0);
	free(model);
	free(csv);
	free(out);
}
END_TEST

/* The evaluation file: what mp_evaluation_format writes reads back the
 * same, byte for byte when written again. */
START_TEST(evaluation_file_round_trips)
{
	mp_named_value metrics[] = {{"accuracy", 0.75}, {"log_loss", 0.5}};
	mp_named_value sm[] = {{"accuracy", 1}};
	mp_class_row classes[] = {{1, 0.5, 0.666666667, 2}, {0.5, 1, 0.666666667, 1}};
	int64_t conf[] = {1, 1, 0, 1};
	mp_slice_row slices[] = {{"color", "red\tdark", 3, sm, 1}};
	mp_evaluation e = {"eval", 3, metrics, 2, classes, 2, conf, slices, 1}, back;
	mp_strbuf a = MP_STRBUF_INIT, b = MP_STRBUF_INIT;
	mp_err err;
	char *text;

	mp_evaluation_format(&e, &a);
	text = mp_strdup(a.buf);
	ck_assert_int_eq(mp_evaluation_parse(&back, text, "evaluation.tsv", &err), 0);
	ck_assert_str_eq(back.split, "eval");
	ck_assert_uint_eq(back.nclasses, 2);
	ck_assert_int_eq(back.confusion[1], 1);
	ck_assert_str_eq(back.slices[0].value, "red\tdark");
	ck_assert(mp_evaluation_metric(&back, "log_loss") == 0.5);
	ck_assert(isnan(mp_evaluation_metric(&back, "auc")));
	mp_evaluation_format(&back, &b);
	ck_assert_str_eq(a.buf, b.buf);
	mp_evaluation_release(&back);
	free(text);
	mp_strbuf_release(&a);
	mp_strbuf_release(&b);
}
END_TEST

START_TEST(evaluation_file_refuses_damage_with_its_line)
{
	char foreign[] = "something else\n", counts[] = "mlpipe-evaluation 1\nexamples\tmany\n";
	char conf[] = "mlpipe-evaluation 1\nclass\t0\tprecision\t1\trecall\t1\tf1\t1\tsupport\t1\nconfusion\t0\t1\t2\n";
	char unknown[] = "mlpipe-evaluation 1\nsplit\teval\nfuture\tline\n";
	mp_evaluation e;
	mp_err err;

	ck_assert_int_eq(mp_evaluation_parse(&e, foreign, "e.tsv", &err), MP_ECORRUPT);
	ck_assert_str_eq(err.msg, "'e.tsv' is not an evaluation");
	ck_assert_int_eq(mp_evaluation_parse(&e, counts, "e.tsv", &err), MP_ECORRUPT);
	ck_assert_str_eq(err.msg, "e.tsv:2: not a count");
	ck_assert_int_eq(mp_evaluation_parse(&e, conf, "e.tsv", &err), MP_ECORRUPT);
	ck_assert_str_eq(err.msg, "e.tsv:3: a confusion row that does not fit the classes");
	/* classes after the matrix would outgrow it (found by the fuzzer) */
	{
		char late[] = "mlpipe-evaluation 1\nclass\t0\tprecision\t1\trecall\t1\tf1\t1\tsupport\t1\nconfusion\t0\t1\n"
			      "class\t1\tprecision\t1\trecall\t1\tf1\t1\tsupport\t1\nconfusion\t1\t1\t1\n";

		ck_assert_int_eq(mp_evaluation_parse(&e, late, "e.tsv", &err), MP_ECORRUPT);
		ck_assert_str_eq(err.msg, "e.tsv:4: a class line after the confusion matrix");
	}
	/* a line a newer writer added is skipped */
	ck_assert_int_eq(mp_evaluation_parse(&e, unknown, "e.tsv", &err), 0);
	ck_assert_str_eq(e.split, "eval");
	mp_evaluation_release(&e);
}
END_TEST

/* The blessing file: thresholds with and without a baseline, the verdict
 * and the fingerprints the Pusher's rule reads; a value that does not read
 * is NaN, a result that is not one is an error. */
START_TEST(blessing_file_round_trips_and_refuses_damage)
{
	mp_threshold_row t[] = {{"accuracy", "min", 0.8, 0.9, 0, NAN, MP_THRESHOLD_HELD},
				{"accuracy", "max_drop", 0.1, 0.9, 1, 0.95, MP_THRESHOLD_HELD},
				{"log_loss", "max_rise", 0, 0.5, 0, NAN, MP_THRESHOLD_NO_BASELINE}};
	mp_blessing b = {t, 3, 1, 1, "abc", ""}, back;
	mp_strbuf a = MP_STRBUF_INIT, a2 = MP_STRBUF_INIT;
	char *text, bad[] = "mlpipe-blessing 1\nthreshold\taccuracy\tmin\t0.8\tvalue\t0.9\tmaybe\n";
	char odd[] = "mlpipe-blessing 1\nthreshold\taccuracy\tmin\tbroken\tvalue\t??\theld\nblessed\tyes\n";
	mp_err err;

	mp_blessing_format(&b, &a);
	ck_assert_ptr_nonnull(strstr(a.buf, "threshold\tlog_loss\tmax_rise\t0\tvalue\t0.5\tno baseline\n"));
	ck_assert_ptr_nonnull(strstr(a.buf, "baseline_fingerprint\tnone\n"));
	text = mp_strdup(a.buf);
	ck_assert_int_eq(mp_blessing_parse(&back, text, "b.tsv", &err), 0);
	ck_assert_int_eq(back.blessed, 1);
	ck_assert_uint_eq(back.nthresholds, 3);
	ck_assert(back.thresholds[1].has_baseline && back.thresholds[1].baseline == 0.95);
	ck_assert_int_eq(back.thresholds[2].result, MP_THRESHOLD_NO_BASELINE);
	ck_assert_str_eq(back.model_fp, "abc");
	ck_assert_str_eq(back.baseline_fp, "none");
	mp_blessing_format(&back, &a2);
	ck_assert_str_eq(a.buf, a2.buf);
	mp_blessing_release(&back);
	free(text);
	ck_assert_int_eq(mp_blessing_parse(&back, bad, "b.tsv", &err), MP_ECORRUPT);
	ck_assert_str_eq(err.msg, "b.tsv:2: a threshold's result is not held, failed or no baseline");
	ck_assert_int_eq(mp_blessing_parse(&back, odd, "b.tsv", &err), 0);
	ck_assert(isnan(back.thresholds[0].limit) && isnan(back.thresholds[0].value));
	ck_assert_str_eq(back.baseline_fp, ""); /* an older file does not say */
	mp_blessing_release(&back);
	mp_strbuf_release(&a);
	mp_strbuf_release(&a2);
}
END_TEST

/* InfraValidator's verdict: written and read back the same; a file that
 * is not one, or says no verdict, is an error naming it. */
START_TEST(infra_blessing_round_trips)
{
	mp_infra_blessing b = {0, "request 3 took 9 ms,\tover max_latency_ms 5", 3, 1.5, 9}, back;
	mp_strbuf a = MP_STRBUF_INIT;
	char *text, foreign[] = "mlpipe-blessing 1\n", empty[] = "mlpipe-infra-blessing 1\nreason\tx\n";
	mp_err err;

	mp_infra_blessing_format(&b, &a);
	text = mp_strdup(a.buf);
	ck_assert_int_eq(mp_infra_blessing_parse(&back, text, "i.tsv", &err), 0);
	ck_assert_int_eq(back.blessed, 0);
	ck_assert_str_eq(back.reason, b.reason);
	ck_assert_uint_eq(back.requests, 3);
	ck_assert(back.p50_ms == 1.5 && back.max_ms == 9);
	free(text);
	mp_strbuf_release(&a);
	ck_assert_int_eq(mp_infra_blessing_parse(&back, foreign, "i.tsv", &err), MP_ECORRUPT);
	ck_assert_str_eq(err.msg, "'i.tsv' holds no InfraValidator verdict");
	ck_assert_int_eq(mp_infra_blessing_parse(&back, empty, "i.tsv", &err), MP_ECORRUPT);
	ck_assert_str_eq(err.msg, "'i.tsv' has no verdict");
}
END_TEST

/* The blessing and evaluation readers under failed allocations. */
START_TEST(blessing_file_survives_failed_allocations)
{
	static const char bl[] = "mlpipe-blessing 1\nthreshold\taccuracy\tmin\t0.8\tvalue\t0.9\theld\n"
				 "threshold\taccuracy\tmax_drop\t0.1\tvalue\t0.9\tbaseline\t0.95\theld\nblessed\tyes\n";
	static const char ev[] = "mlpipe-evaluation 1\nsplit\teval\nexamples\t3\nmetric\taccuracy\t0.5\n"
				 "class\t0\tprecision\t1\trecall\t1\tf1\t1\tsupport\t1\nconfusion\t0\t1\n"
				 "slice\tc\tred\texamples\t1\taccuracy\t1\n";
	mp_blessing b;
	mp_evaluation e;
	char *copy = NULL;
	mp_err err;
	int rc;

	TU_EACH_FAILED_ALLOC(50, rc, (copy = strdup(bl), rc = mp_blessing_parse(&b, copy, "b.tsv", &err)), free(copy));
	ck_assert_uint_eq(b.nthresholds, 2);
	mp_blessing_release(&b);
	free(copy);
	TU_EACH_FAILED_ALLOC(50, rc, (copy = strdup(ev), rc = mp_evaluation_parse(&e, copy, "e.tsv", &err)), free(copy));
	ck_assert_uint_eq(e.nslices, 1);
	mp_evaluation_release(&e);
	free(copy);
}
END_TEST

static Suite *eval_suite(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, classification_metrics_match_a_hand_computation);
	tcase_add_test(tc, macro_averages_are_over_the_classes_present);
	tcase_add_test(tc, binary_auc_counts_pairs_and_ties);
	tcase_add_test(tc, regression_metrics_match_a_hand_computation);
	suite_add_tcase(s, tc);
	tc = tcase_create("evaluator");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, slices_by_string_label_and_numeric_buckets);
	tcase_add_test(tc, blessing_holds_each_threshold_kind_with_and_without_a_baseline);
	tcase_add_test(tc, predict_without_a_transform_reads_the_columns_in_order);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_test(tc, evaluation_file_round_trips);
	tcase_add_test(tc, evaluation_file_refuses_damage_with_its_line);
	tcase_add_test(tc, blessing_file_round_trips_and_refuses_damage);
	tcase_add_test(tc, infra_blessing_round_trips);
	tcase_add_test(tc, blessing_file_survives_failed_allocations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(eval_suite());
}
