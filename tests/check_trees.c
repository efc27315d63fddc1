/* trees/: boosting through XGBoost, and our flat-array scoring of what it
 * made against XGBoost's own predictions through its C API. */
#include <math.h>
#include <xgboost/c_api.h>

#include "export/export.h"
#include "tests/testutil.h"
#include "trees/trees.h"

#define ROWS 600
#define NFEAT 4

/* Rows with a missing value in a fifth of x2, and labels of each loss. */
static void make_data(float *x, float *y, mp_loss loss, uint64_t seed)
{
	for (int r = 0; r < ROWS; r++) {
		float *xr = x + r * NFEAT;
		double u[NFEAT];

		for (int k = 0; k < NFEAT; k++)
			u[k] = (double)(mp_splitmix64(&seed) >> 11) / 9007199254740992.0;
		for (int k = 0; k < NFEAT; k++)
			xr[k] = (float)u[k];
		if (r % 5 == 0)
			xr[2] = NAN;
		double s = u[0] + (r % 5 == 0 ? 0.8 : u[2]) - 0.5 * u[1];

		if (loss == MP_LOSS_SOFTMAX_CE)
			y[r] = s < 0.5 ? 0 : s < 1.0 ? 1 : 2;
		else if (loss == MP_LOSS_BCE)
			y[r] = s > 0.7;
		else
			y[r] = (float)(3 * s + 0.1 * u[3]);
	}
}

static mp_gbdt_params params(void)
{
	mp_gbdt_params p = {0};

	p.rounds = 20;
	p.max_depth = 4;
	p.eta = 0.3;
	p.subsample = 0.8;
	p.colsample = 1;
	p.min_child_weight = 1;
	p.lambda = 1;
	p.threads = 1;
	p.seed = 7;
	return p;
}

/* XGBoost's own outputs for x, from the booster's JSON. */
static void xgb_predict(const mp_gbdt_result *res, const float *x, int ng, float *out)
{
	static const char cfg[] = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
				  "\"iteration_end\": 0, \"strict_shape\": false}";
	BoosterHandle b;
	DMatrixHandle d;
	const bst_ulong *shape;
	bst_ulong dim;
	const float *p;

	ck_assert_int_eq(XGBoosterCreate(NULL, 0, &b), 0);
	ck_assert_int_eq(XGBoosterLoadModelFromBuffer(b, res->booster, res->len), 0);
	ck_assert_int_eq(XGDMatrixCreateFromMat(x, ROWS, NFEAT, NAN, &d), 0);
	ck_assert_int_eq(XGBoosterPredictFromDMatrix(b, d, cfg, &shape, &dim, &p), 0);
	memcpy(out, p, (size_t)ROWS * (size_t)ng * sizeof(float));
	XGDMatrixFree(d);
	XGBoosterFree(b);
}

static void train(mp_loss loss, const mp_gbdt_params *p, mp_gbdt_result *res, float *x, float *y)
{
	mp_gbdt_data tr = {x, y, ROWS};
	mp_err err;

	make_data(x, y, loss, 11);
	ck_assert_msg(mp_gbdt_train(p, loss, 3, NFEAT, &tr, NULL, NULL, NULL, res, &err) == 0, "%s", err.msg);
}

START_TEST(forest_predictions_equal_xgboosts_for_each_loss)
{
	static const mp_loss losses[] = {MP_LOSS_SOFTMAX_CE, MP_LOSS_BCE, MP_LOSS_MSE};
	float *x = malloc(sizeof(float) * ROWS * NFEAT), y[ROWS], ours[ROWS * 3], theirs[ROWS * 3];
	mp_gbdt_params p = params();

	for (size_t l = 0; l < MP_COUNTOF(losses); l++) {
		mp_gbdt_result res;
		mp_forest f;
		mp_err err;
		int ng = losses[l] == MP_LOSS_SOFTMAX_CE ? 3 : 1, missing_seen = 0;
		double worst = 0, right = 0;

		train(losses[l], &p, &res, x, y);
		ck_assert_int_eq(res.rounds, 20);
		ck_assert_msg(mp_forest_parse(&f, res.booster, res.len, NFEAT, losses[l], "t", &err) == 0, "%s", err.msg);
		ck_assert_int_eq(f.ngroup, ng);
		ck_assert_int_eq(f.ntrees, 20 * ng);
		mp_forest_predict(&f, x, ROWS, ours);
		xgb_predict(&res, x, ng, theirs);
		for (int i = 0; i < ROWS * ng; i++)
			worst = fmax(worst, fabs((double)ours[i] - theirs[i]));
		ck_assert_msg(worst <= 1e-6, "loss %s: off by %g", mp_loss_name(losses[l]), worst);
		/* it learnt something, and missing values took the trees' default branches */
		for (int r = 0; r < ROWS; r++) {
			if (losses[l] == MP_LOSS_MSE)
				right += fabs(ours[r] - y[r]) < 0.3;
			else if (losses[l] == MP_LOSS_BCE)
				right += (ours[r] > 0.5) == (y[r] > 0.5);
			else
				right += ours[r * 3 + (int)y[r]] > 0.5;
			missing_seen += isnan(x[r * NFEAT + 2]);
		}
		ck_assert_msg(right / ROWS > 0.9, "loss %s: %g right", mp_loss_name(losses[l]), right / ROWS);
		ck_assert_int_eq(missing_seen, ROWS / 5);
		mp_forest_release(&f);
		free(res.booster);
	}
	free(x);
}
END_TEST

START_TEST(gain_is_xgboosts_total_gain)
{
	float *x = malloc(sizeof(float) * ROWS * NFEAT), y[ROWS];
	mp_gbdt_params p = params();
	mp_gbdt_result res;
	mp_forest f;
	mp_err err;
	BoosterHandle b;
	bst_ulong nf, dim;
	const bst_ulong *shape;
	const char **names;
	const float *scores;

	train(MP_LOSS_BCE, &p, &res, x, y);
	ck_assert_int_eq(mp_forest_parse(&f, res.booster, res.len, NFEAT, MP_LOSS_BCE, "t", &err), 0);
	ck_assert_int_eq(XGBoosterCreate(NULL, 0, &b), 0);
	ck_assert_int_eq(XGBoosterLoadModelFromBuffer(b, res.booster, res.len), 0);
	ck_assert_int_eq(XGBoosterFeatureScore(b, "{\"importance_type\": \"total_gain\"}", &nf, &names, &dim, &shape,
					       &scores), 0);
	ck_assert_uint_gt(nf, 1);
	for (bst_ulong i = 0; i < nf; i++) {
		int k = atoi(names[i] + 1); /* "f2" */

		ck_assert_msg(fabs(f.gain[k] - scores[i]) <= 1e-3 * fabs(scores[i]), "f%d: %g against %g", k, f.gain[k],
			      (double)scores[i]);
	}
	/* x3 is noise; x0 carries the most */
	ck_assert(f.gain[0] > f.gain[3]);
	XGBoosterFree(b);
	mp_forest_release(&f);
	free(res.booster);
	free(x);
}
END_TEST

START_TEST(training_is_deterministic_for_a_seed_and_threads)
{
	float *x = malloc(sizeof(float) * ROWS * NFEAT), y[ROWS];
	mp_gbdt_params p = params();
	mp_gbdt_result a, b, c;

	train(MP_LOSS_SOFTMAX_CE, &p, &a, x, y);
	train(MP_LOSS_SOFTMAX_CE, &p, &b, x, y);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert(memcmp(a.booster, b.booster, a.len) == 0);
	p.seed = 8; /* subsample 0.8 draws other rows */
	train(MP_LOSS_SOFTMAX_CE, &p, &c, x, y);
	ck_assert(a.len != c.len || memcmp(a.booster, c.booster, a.len) != 0);
	free(a.booster);
	free(b.booster);
	free(c.booster);
	free(x);
}
END_TEST

static int count_rounds(void *ud, int round, double tl, double ta, double vl, double va, mp_err *err)
{
	(void)tl;
	(void)ta;
	(void)err;
	ck_assert(isfinite(vl) && isfinite(va));
	*(int *)ud = round;
	return 0;
}

START_TEST(early_stopping_keeps_the_best_rounds)
{
	float *x = malloc(sizeof(float) * ROWS * NFEAT), y[ROWS], *vx = malloc(sizeof(float) * ROWS * NFEAT), vy[ROWS];
	mp_gbdt_params p = params();
	mp_gbdt_data tr = {x, y, ROWS}, va = {vx, vy, ROWS};
	mp_gbdt_result res;
	mp_forest f;
	mp_err err;
	int seen = 0;

	make_data(x, y, MP_LOSS_BCE, 11);
	make_data(vx, vy, MP_LOSS_BCE, 12);
	for (int r = 0; r < ROWS; r += 3)
		y[r] = 1 - y[r]; /* noisy labels: deep trees overfit soon */
	p.rounds = 300;
	p.max_depth = 8;
	p.eta = 0.5;
	p.es_metric = 1;
	p.es_patience = 5;
	ck_assert_int_eq(mp_gbdt_train(&p, MP_LOSS_BCE, 0, NFEAT, &tr, &va, count_rounds, &seen, &res, &err), 0);
	ck_assert_int_lt(res.rounds, 300);
	ck_assert_int_eq(seen, res.rounds + 5);
	ck_assert_int_eq(res.best_round, res.rounds);
	ck_assert_int_eq(mp_forest_parse(&f, res.booster, res.len, NFEAT, MP_LOSS_BCE, "t", &err), 0);
	ck_assert_int_eq(f.ntrees, res.rounds);
	mp_forest_release(&f);
	free(res.booster);
	free(x);
	free(vx);
}
END_TEST

/* A model file of trees through mp_served; damage in it is a checksum error. */
START_TEST(a_model_file_of_trees_is_served_and_checked)
{
	float *x = malloc(sizeof(float) * ROWS * NFEAT), y[ROWS], out[8 * 3], want[ROWS * 3];
	mp_gbdt_params p = params();
	mp_gbdt_result res;
	mp_served s;
	mp_block b;
	mp_err err;
	char *path = tu_at("model.mlpm"), *data;
	size_t len;

	train(MP_LOSS_SOFTMAX_CE, &p, &res, x, y);
	ck_assert_int_eq(mp_model_save_gbdt(NFEAT, MP_LOSS_SOFTMAX_CE, 3, res.booster, res.len, NULL, path, &err), 0);
	ck_assert_msg(mp_served_load(&s, path, 8, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(s.nclass, 3);
	ck_assert_int_eq(mp_served_block(&s, &b, 8, &err), 0);
	for (int r = 0; r < 8; r++) {
		for (int k = 0; k < NFEAT; k++)
			mp_block_set_float(&b, (size_t)k, x[r * NFEAT + k]);
		mp_block_end_row(&b);
	}
	mp_served_predict(&s, &b, 0, 8, out, NULL);
	xgb_predict(&res, x, 3, want);
	for (int i = 0; i < 8 * 3; i++)
		ck_assert_msg(fabs(out[i] - want[i]) <= 1e-6, "%d: %g against %g", i, out[i], want[i]);
	mp_block_release(&b);
	mp_served_release(&s);
	/* a byte of the booster changed */
	ck_assert_int_eq(mp_read_file(path, &data, &len, &err), 0);
	data[len / 2] ^= 0x20;
	ck_assert_int_eq(mp_write_file_atomic(path, data, len, &err), 0);
	ck_assert_int_eq(mp_served_load(&s, path, 8, &err), MP_ECORRUPT);
	ck_assert_msg(strstr(err.msg, "checksum mismatch"), "%s", err.msg);
	free(data);
	free(path);
	free(res.booster);
	free(x);
}
END_TEST

/* Boosters a hostile file could hold: each refused with what is wrong. */
START_TEST(hostile_boosters_are_refused)
{
	static const char head[] = "{\"learner\": {\"gradient_booster\": {\"name\": \"gbtree\", \"model\": {\"tree_info\": "
				   "[0], \"trees\": [{";
	static const char tail[] = "}]}}, \"learner_model_param\": {\"base_score\": \"5E-1\", \"num_class\": \"0\", "
				   "\"num_feature\": \"2\"}, \"objective\": {\"name\": \"binary:logistic\"}}}";
	static const struct {
		const char *tree, *want;
	} cases[] = {
		/* a cycle: node 1's child is node 0 */
		{"\"left_children\": [1, 0, -1], \"right_children\": [2, 2, -1], \"split_indices\": [0, 1, 0], "
		 "\"split_conditions\": [0.5, 0.5, 1], \"default_left\": [0, 0, 0], \"loss_changes\": [1, 1, 0]",
		 "its children are not after it"},
		{"\"left_children\": [1, -1, -1], \"right_children\": [2, -1, -1], \"split_indices\": [5, 0, 0], "
		 "\"split_conditions\": [0.5, 1, 2], \"default_left\": [0, 0, 0], \"loss_changes\": [1, 0, 0]",
		 "out of range"},
		{"\"left_children\": [1, -1, -1], \"right_children\": [2, -1, -1], \"split_indices\": [0, 0], "
		 "\"split_conditions\": [0.5, 1, 2], \"default_left\": [0, 0, 0], \"loss_changes\": [1, 0, 0]",
		 "unequal lengths"},
		{"\"left_children\": [7, -1, -1], \"right_children\": [2, -1, -1], \"split_indices\": [0, 0, 0], "
		 "\"split_conditions\": [0.5, 1, 2], \"default_left\": [0, 0, 0], \"loss_changes\": [1, 0, 0]",
		 "out of range"},
	};
	mp_forest f;
	mp_err err;

	for (size_t i = 0; i < MP_COUNTOF(cases); i++) {
		char *json = mp_asprintf("%s%s%s", head, cases[i].tree, tail);

		ck_assert_int_eq(mp_forest_parse(&f, json, strlen(json), 2, MP_LOSS_BCE, "b", &err), MP_ECORRUPT);
		ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: %s", i, err.msg);
		free(json);
	}
	/* the right shape, but of another loss or input count */
	{
		char *json = mp_asprintf("%s%s%s", head, cases[0].tree, tail);

		ck_assert_int_eq(mp_forest_parse(&f, json, strlen(json), 2, MP_LOSS_MSE, "b", &err), MP_ECORRUPT);
		ck_assert_msg(strstr(err.msg, "is not that of loss mse"), "%s", err.msg);
		ck_assert_int_eq(mp_forest_parse(&f, json, strlen(json), 3, MP_LOSS_BCE, "b", &err), MP_ECORRUPT);
		ck_assert_msg(strstr(err.msg, "reads 2 inputs, the model 3"), "%s", err.msg);
		ck_assert_int_eq(mp_forest_parse(&f, "{\"learner\": [", 13, 2, MP_LOSS_BCE, "b", &err), MP_ECORRUPT);
		ck_assert_msg(strstr(err.msg, "not JSON"), "%s", err.msg);
		free(json);
	}
}
END_TEST

static Suite *trees_suite(void)
{
	Suite *s = suite_create("trees");
	TCase *tc = tcase_create("boosting");

	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, forest_predictions_equal_xgboosts_for_each_loss);
	tcase_add_test(tc, gain_is_xgboosts_total_gain);
	tcase_add_test(tc, training_is_deterministic_for_a_seed_and_threads);
	tcase_add_test(tc, early_stopping_keeps_the_best_rounds);
	tcase_add_test(tc, a_model_file_of_trees_is_served_and_checked);
	tcase_add_test(tc, hostile_boosters_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(trees_suite());
}
