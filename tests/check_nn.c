/* components/nn: gradients against central finite differences for every
 * layer, activation and loss; each optimizer against a hand-computed step;
 * schedules; a tiny dataset fitted to 100%; determinism. */
#include "testutil.h"

#include <math.h>

#include "core/bytes.h"
#include "nn/nn.h"
#include "nn/team.h"

/* The mean loss of a batch, in double precision of the float network. */
static double batch_loss(mp_net *n, const float *x, const float *y, int batch)
{
	double loss;
	int correct;

	mp_net_eval(n, x, y, batch, &loss, &correct);
	return loss;
}

/* How many of the gradients g disagree with (L(p + h) - L(p - h)) / 2h,
 * each one named on stderr. */
static size_t fd_mismatches(mp_net *n, const float *x, const float *y, int batch, const float *g)
{
	size_t k, bad = 0;

	for (k = 0; k < n->nparams; k++) {
		float save = n->params[k], h = 1e-2f;
		double lp, lm, num;

		n->params[k] = save + h;
		lp = batch_loss(n, x, y, batch);
		n->params[k] = save - h;
		lm = batch_loss(n, x, y, batch);
		n->params[k] = save;
		num = (lp - lm) / (2.0 * h);
		if (fabs(num - g[k]) > 2e-3 + 2e-2 * fabs(num)) {
			fprintf(stderr, "param %zu: analytic %g, numeric %g\n", k, g[k], num);
			bad++;
		}
	}
	return bad;
}

/* Checks every parameter's gradient against (L(p + h) - L(p - h)) / 2h. */
static void grad_check(mp_layer_spec *layers, int nlayers, mp_loss loss, const float *y, int nin, int batch)
{
	mp_net n;
	mp_err err;
	float x[256], *g;
	double l0;
	int correct, i;
	size_t k;

	ck_assert_int_le(nin * batch, 256);
	for (i = 0; i < nin * batch; i++)
		x[i] = (float)sin(1.3 * i + 0.2);
	ck_assert_int_eq(mp_net_init(&n, nin, layers, nlayers, loss, batch, 7, &err), 0);
	/* biases away from zero so relu kinks are not hit */
	for (i = 0; i < nlayers; i++)
		for (k = 0; k < (size_t)mp__layer_biases(&n.layers[i]); k++)
			n.params[n.boff[i] + k] = 0.05f * (float)(k % 3 + 1);
	mp_net_train_step(&n, x, y, batch, &l0, &correct);
	ck_assert_double_eq_tol(l0, batch_loss(&n, x, y, batch), 1e-6);
	g = malloc(n.nparams * sizeof(float));
	memcpy(g, n.grads, n.nparams * sizeof(float));
	ck_assert_uint_eq(fd_mismatches(&n, x, y, batch, g), 0);
	free(g);
	mp_net_release(&n);
}

START_TEST(gradients_of_every_activation_and_loss)
{
	static const mp_act acts[] = {MP_ACT_NONE, MP_ACT_RELU, MP_ACT_TANH, MP_ACT_SIGMOID};
	float cls[4] = {0, 2, 1, 2}, bin[4] = {0, 1, 1, 0}, reg[8] = {0.5f, -1, 2, 0.1f, -0.3f, 0.7f, 1, -2};
	size_t a;

	for (a = 0; a < 4; a++) {
		mp_layer_spec ce[] = {{.units = 5, .act = acts[a], .dropout = 0, .init = MP_INIT_AUTO}, {.units = 4, .act = acts[a], .dropout = 0, .init = MP_INIT_AUTO}, {.units = 3, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
		mp_layer_spec bce[] = {{.units = 4, .act = acts[a], .dropout = 0, .init = MP_INIT_AUTO}, {.units = 1, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
		mp_layer_spec mse[] = {{.units = 6, .act = acts[a], .dropout = 0, .init = MP_INIT_AUTO}, {.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};

		grad_check(ce, 3, MP_LOSS_SOFTMAX_CE, cls, 3, 4);
		grad_check(bce, 2, MP_LOSS_BCE, bin, 3, 4);
		grad_check(mse, 2, MP_LOSS_MSE, reg, 3, 4);
	}
	/* a single dense layer (logistic regression) */
	{
		mp_layer_spec one[] = {{.units = 3, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_GLOROT}};

		grad_check(one, 1, MP_LOSS_SOFTMAX_CE, cls, 5, 4);
	}
}
END_TEST

static mp_layer_spec conv(int filters, int kernel, int stride, int same, mp_act act)
{
	return (mp_layer_spec){.kind = MP_LAYER_CONV, .filters = filters, .kernel = kernel, .stride = stride,
			       .same = same, .act = act};
}

static mp_layer_spec layer(mp_layer_kind kind, int units_or_size)
{
	return (mp_layer_spec){.kind = kind, .units = kind == MP_LAYER_DENSE ? units_or_size : 0,
			       .kernel = kind == MP_LAYER_POOL ? units_or_size : 0};
}

START_TEST(gradients_of_conv_and_pool)
{
	static const int shape[3] = {5, 5, 2};
	float cls[2] = {2, 0}, reg[4] = {0.5f, -1, 2, 0.1f};
	mp_err err;
	/* same padding, a pool (after tanh: no ties for the max, as relu's
	 * zeros would make), a valid conv down to 1x1, flatten, dense */
	mp_layer_spec a[] = {conv(3, 3, 1, 1, MP_ACT_TANH), layer(MP_LAYER_POOL, 2), conv(2, 2, 1, 0, MP_ACT_RELU),
			     layer(MP_LAYER_FLATTEN, 0), layer(MP_LAYER_DENSE, 3)};
	/* strides with same padding (5 -> 3, a pad of 1), then valid with stride 2 (3 -> 1) */
	mp_layer_spec b[] = {conv(2, 3, 2, 1, MP_ACT_SIGMOID), conv(3, 2, 2, 0, MP_ACT_NONE), layer(MP_LAYER_FLATTEN, 0),
			     layer(MP_LAYER_DENSE, 2)};

	ck_assert_msg(mp_net_plan(50, shape, a, 5, &err) == 0, "%s", err.msg);
	grad_check(a, 5, MP_LOSS_SOFTMAX_CE, cls, 50, 2);
	ck_assert_msg(mp_net_plan(50, shape, b, 4, &err) == 0, "%s", err.msg);
	grad_check(b, 4, MP_LOSS_MSE, reg, 50, 2);
}
END_TEST

/* Embeddings: two tables, their rows picked by index columns (one out of
 * range: the last row), then dense layers; every table gradient against
 * finite differences. */
START_TEST(gradients_of_embeddings)
{
	mp_layer_spec l[4] = {{.kind = MP_LAYER_EMBED, .column = 3, .rows = 4, .dim = 2},
			      {.kind = MP_LAYER_EMBED, .column = 1, .rows = 5, .dim = 3},
			      {.kind = MP_LAYER_DENSE, .units = 6, .act = MP_ACT_TANH},
			      {.kind = MP_LAYER_DENSE, .units = 3}};
	/* 4 inputs: a number, an index (0..4), a number, an index (0..3) */
	float x[4 * 5] = {0.3f, 0, -1, 1, 1.2f, 2, 0.4f, 3, -0.5f, 4, 0.1f, 9, 0.9f, 7, 2, 0, 0.0f, 3, -0.2f, NAN};
	float y[5] = {0, 1, 2, 1, 0}, *g;
	double l0;
	int correct;
	mp_net n;
	mp_err err;
	size_t k;

	ck_assert_msg(mp_net_init(&n, 4, l, 4, MP_LOSS_SOFTMAX_CE, 5, 3, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(n.layers[0].units, 5);
	ck_assert_int_eq(n.layers[1].units, 7);
	/* the tables are the first 8 and 15 parameters */
	ck_assert_uint_eq(n.woff[1], 8);
	ck_assert_uint_eq(n.woff[2], 8 + 15);
	for (k = 0; k < n.woff[2]; k++)
		n.params[k] = 0.3f * sinf((float)k);
	mp_net_train_step(&n, x, y, 5, &l0, &correct);
	g = malloc(n.nparams * sizeof(float));
	memcpy(g, n.grads, n.nparams * sizeof(float));
	ck_assert_uint_eq(fd_mismatches(&n, x, y, 5, g), 0);
	/* a row no example picks gets no gradient: the first table's row 2
	 * (column 3 holds 1, 3, 9, 0 and NaN), the second's row 1 (column 1
	 * holds 0, 2, 4, 7 and 3) */
	for (k = 2 * 2; k < 3 * 2; k++)
		ck_assert_float_eq(g[k], 0);
	for (k = 8 + 1 * 3; k < 8 + 2 * 3; k++)
		ck_assert_float_eq(g[k], 0);
	/* 9, 7 and NaN are out of range: the last rows (the unseen values') learn */
	ck_assert(g[8 + 4 * 3] != 0 && g[3 * 2] != 0);
	free(g);
	mp_net_release(&n);
	/* embeddings come first */
	{
		mp_layer_spec late[3] = {{.kind = MP_LAYER_DENSE, .units = 4}, {.kind = MP_LAYER_EMBED, .column = 0, .rows = 3, .dim = 2},
					 {.kind = MP_LAYER_DENSE, .units = 2}};

		ck_assert_int_eq(mp_net_init(&n, 4, late, 3, MP_LOSS_SOFTMAX_CE, 5, 3, &err), MP_EINVAL);
		ck_assert_str_eq(err.msg, "layer 2: embeddings come before every other layer");
	}
}
END_TEST

START_TEST(conv_and_pool_output_shapes)
{
	static const struct {
		int h, w, c, filters, k, stride, same, oh, ow, pad;
	} cases[] = {
		{28, 28, 1, 32, 3, 1, 1, 28, 28, 1}, {28, 28, 1, 8, 3, 1, 0, 26, 26, 0}, {28, 28, 3, 4, 5, 2, 1, 14, 14, 1},
		{28, 28, 1, 4, 5, 2, 0, 12, 12, 0},  {7, 9, 2, 3, 3, 3, 1, 3, 3, 1},     {7, 9, 2, 3, 3, 3, 0, 2, 3, 0},
		{4, 4, 1, 1, 4, 1, 0, 1, 1, 0},     {5, 5, 1, 2, 2, 2, 1, 3, 3, 0},
	};
	mp_err err;

	for (size_t i = 0; i < MP_COUNTOF(cases); i++) {
		int shape[3] = {cases[i].h, cases[i].w, cases[i].c};
		mp_layer_spec l[] = {conv(cases[i].filters, cases[i].k, cases[i].stride, cases[i].same, MP_ACT_RELU),
				     layer(MP_LAYER_FLATTEN, 0), layer(MP_LAYER_DENSE, 2)};

		ck_assert_msg(mp_net_plan(shape[0] * shape[1] * shape[2], shape, l, 3, &err) == 0, "%s", err.msg);
		ck_assert_msg(l[0].out[0] == cases[i].oh && l[0].out[1] == cases[i].ow && l[0].out[2] == cases[i].filters &&
				      l[0].pad == cases[i].pad,
			      "case %zu: %dx%dx%d pad %d", i, l[0].out[0], l[0].out[1], l[0].out[2], l[0].pad);
		ck_assert_int_eq(l[1].units, cases[i].oh * cases[i].ow * cases[i].filters);
	}
	/* pools: 28 -> 14, 7 -> 3 (floor) */
	{
		int shape[3] = {28, 28, 1};
		mp_layer_spec l[] = {conv(4, 3, 1, 1, MP_ACT_RELU), layer(MP_LAYER_POOL, 2), layer(MP_LAYER_POOL, 2),
				     layer(MP_LAYER_POOL, 2), layer(MP_LAYER_FLATTEN, 0), layer(MP_LAYER_DENSE, 2)};

		ck_assert_int_eq(mp_net_plan(784, shape, l, 6, &err), 0);
		ck_assert_int_eq(l[1].out[0], 14);
		ck_assert_int_eq(l[2].out[0], 7);
		ck_assert_int_eq(l[3].out[0], 3);
		ck_assert_int_eq(l[4].units, 3 * 3 * 4);
	}
}
END_TEST

START_TEST(bad_image_stacks_are_refused)
{
	int shape[3] = {6, 6, 1};
	mp_err err;
	mp_layer_spec pool_first[] = {layer(MP_LAYER_POOL, 2), layer(MP_LAYER_FLATTEN, 0), layer(MP_LAYER_DENSE, 2)};
	mp_layer_spec big[] = {conv(2, 7, 1, 0, MP_ACT_RELU), layer(MP_LAYER_FLATTEN, 0), layer(MP_LAYER_DENSE, 2)};
	mp_layer_spec no_flatten[] = {conv(2, 3, 1, 0, MP_ACT_RELU), layer(MP_LAYER_DENSE, 2)};
	mp_layer_spec after_dense[] = {layer(MP_LAYER_DENSE, 4), conv(2, 3, 1, 0, MP_ACT_RELU), layer(MP_LAYER_FLATTEN, 0),
				       layer(MP_LAYER_DENSE, 2)};
	mp_layer_spec ok[] = {conv(2, 3, 1, 0, MP_ACT_RELU), layer(MP_LAYER_FLATTEN, 0), layer(MP_LAYER_DENSE, 2)};

	ck_assert_int_eq(mp_net_plan(36, shape, pool_first, 3, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "layer 1: a pool before any conv");
	ck_assert_int_eq(mp_net_plan(36, shape, big, 3, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "layer 1: a conv window of 7 is larger than its 6x6 input");
	ck_assert_int_eq(mp_net_plan(36, shape, no_flatten, 2, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "layer 2: a dense layer after a conv or pool: put {flatten: true} between them");
	ck_assert_int_eq(mp_net_plan(36, shape, after_dense, 4, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "layer 2: a conv needs images: it comes after a dense layer or a flatten");
	ck_assert_int_eq(mp_net_plan(36, NULL, ok, 3, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "layer 1: a conv needs images: give the input's shape (input_shape, or images from IDX)");
	/* the order alone, as the loader checks it before the data is known */
	ck_assert_int_eq(mp_net_check_stack(ok, 3, &err), 0);
	ck_assert_int_eq(mp_net_check_stack(pool_first, 3, &err), MP_EINVAL);
	ck_assert_int_eq(mp_net_check_stack(no_flatten, 2, &err), MP_EINVAL);
	ck_assert_int_eq(mp_net_plan(35, shape, ok, 3, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "the input shape 6x6x1 is not the 35 inputs");
}
END_TEST

START_TEST(dropout_scales_and_masks)
{
	mp_layer_spec l[] = {{.units = 200, .act = MP_ACT_NONE, .dropout = 0.5f, .init = MP_INIT_AUTO}, {.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_net n;
	mp_err err;
	float x[4] = {1, 1, 1, 1};
	int i, zeros = 0;

	ck_assert_int_eq(mp_net_init(&n, 4, l, 2, MP_LOSS_SOFTMAX_CE, 1, 3, &err), 0);
	mp_net_forward(&n, x, 1, 0);
	{
		float plain[200];

		memcpy(plain, n.a[0], sizeof(plain));
		mp_net_forward(&n, x, 1, 1);
		for (i = 0; i < 200; i++) {
			if (n.a[0][i] == 0 && plain[i] != 0)
				zeros++;
			else
				ck_assert_float_eq_tol(n.a[0][i], 2 * plain[i], 1e-5);
		}
	}
	ck_assert_int_gt(zeros, 60);
	ck_assert_int_lt(zeros, 140);
	mp_net_release(&n);
}
END_TEST

START_TEST(optimizers_match_hand_computed_steps)
{
	mp_optimizer o;
	mp_err err;
	float p[2], g[2] = {0.5f, -2.0f};

	/* sgd with weight decay: p -= lr (g + wd p) */
	ck_assert_int_eq(mp_optimizer_init(&o, MP_OPT_SGD, 2, &err), 0);
	o.weight_decay = 0.1f;
	p[0] = 1;
	p[1] = -1;
	mp_optimizer_step(&o, p, g, 0.1f);
	ck_assert_float_eq_tol(p[0], 1 - 0.1f * (0.5f + 0.1f), 1e-7);
	ck_assert_float_eq_tol(p[1], -1 - 0.1f * (-2.0f - 0.1f), 1e-7);
	mp_optimizer_release(&o);

	/* momentum 0.9: v1 = g, v2 = 0.9 g + g */
	ck_assert_int_eq(mp_optimizer_init(&o, MP_OPT_MOMENTUM, 2, &err), 0);
	p[0] = 1;
	p[1] = -1;
	mp_optimizer_step(&o, p, g, 0.1f);
	mp_optimizer_step(&o, p, g, 0.1f);
	ck_assert_float_eq_tol(p[0], 1 - 0.1f * 0.5f - 0.1f * 1.9f * 0.5f, 1e-6);
	ck_assert_float_eq_tol(p[1], -1 + 0.1f * 2 + 0.1f * 1.9f * 2, 1e-6);
	mp_optimizer_release(&o);

	/* adam, first step: mhat = g, vhat = g^2, so p -= lr g / (|g| + eps) */
	ck_assert_int_eq(mp_optimizer_init(&o, MP_OPT_ADAM, 2, &err), 0);
	p[0] = 1;
	p[1] = -1;
	mp_optimizer_step(&o, p, g, 0.001f);
	ck_assert_float_eq_tol(p[0], 1 - 0.001f, 1e-7);
	ck_assert_float_eq_tol(p[1], -1 + 0.001f, 1e-7);
	/* second step with the same gradient, by the formula:
	 * m = 0.19 g, v = 0.001999 g^2; mhat = m / 0.19, vhat = v / 0.001999 */
	mp_optimizer_step(&o, p, g, 0.001f);
	ck_assert_float_eq_tol(p[0], 1 - 0.002f, 1e-6);
	mp_optimizer_release(&o);

	/* adamw: the decay is applied to the weights, not through the moments */
	ck_assert_int_eq(mp_optimizer_init(&o, MP_OPT_ADAMW, 2, &err), 0);
	o.weight_decay = 0.5f;
	p[0] = 1;
	p[1] = -1;
	mp_optimizer_step(&o, p, g, 0.01f);
	ck_assert_float_eq_tol(p[0], 1 - 0.01f * 0.5f * 1 - 0.01f, 1e-6);
	ck_assert_float_eq_tol(p[1], -1 + 0.01f * 0.5f + 0.01f, 1e-6);
	mp_optimizer_release(&o);
}
END_TEST

START_TEST(schedules_warm_up_step_and_anneal)
{
	mp_schedule c = {MP_SCHED_CONSTANT, 0, 0, 0, 0};
	mp_schedule w = {MP_SCHED_CONSTANT, 4, 0, 0, 0};
	mp_schedule s = {MP_SCHED_STEP, 0, 10, 0.5f, 0};
	mp_schedule cos = {MP_SCHED_COSINE, 0, 0, 0, 100};

	ck_assert_float_eq(mp_schedule_lr(&c, 0.1f, 1000), 0.1f);
	ck_assert_float_eq_tol(mp_schedule_lr(&w, 0.1f, 0), 0.025f, 1e-7);
	ck_assert_float_eq_tol(mp_schedule_lr(&w, 0.1f, 3), 0.1f, 1e-7);
	ck_assert_float_eq_tol(mp_schedule_lr(&s, 0.1f, 25), 0.025f, 1e-7);
	ck_assert_float_eq_tol(mp_schedule_lr(&cos, 0.1f, 50), 0.05f, 1e-6);
	ck_assert_float_eq_tol(mp_schedule_lr(&cos, 0.1f, 100), 0.0f, 1e-7);
}
END_TEST

/* XOR-like data in 2-D: four clusters, two classes. */
static void tiny_data(float *x, float *y, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		int q = i % 4;
		float jx = 0.1f * (float)sin(i * 12.9898), jy = 0.1f * (float)cos(i * 78.233);

		x[2 * i] = (q & 1 ? 1.0f : -1.0f) + jx;
		x[2 * i + 1] = (q & 2 ? 1.0f : -1.0f) + jy;
		y[i] = (float)((q & 1) ^ ((q & 2) >> 1));
	}
}

static void train_tiny(mp_net *n, mp_opt_kind kind, float lr, int epochs, double *acc)
{
	float x[2 * 64], y[64];
	mp_optimizer o;
	mp_err err;
	double loss;
	int e, b, correct;

	tiny_data(x, y, 64);
	ck_assert_int_eq(mp_optimizer_init(&o, kind, n->nparams, &err), 0);
	for (e = 0; e < epochs; e++)
		for (b = 0; b < 64; b += 16) {
			mp_net_train_step(n, x + 2 * b, y + b, 16, &loss, &correct);
			mp_optimizer_step(&o, n->params, n->grads, lr);
		}
	mp_net_eval(n, x, y, 64, &loss, &correct);
	*acc = correct / 64.0;
	mp_optimizer_release(&o);
}

START_TEST(a_tiny_dataset_is_fitted)
{
	mp_layer_spec l[] = {{.units = 16, .act = MP_ACT_RELU, .dropout = 0, .init = MP_INIT_AUTO}, {.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_layer_spec lb[] = {{.units = 8, .act = MP_ACT_TANH, .dropout = 0, .init = MP_INIT_AUTO}, {.units = 1, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_net n;
	mp_err err;
	double acc;

	ck_assert_int_eq(mp_net_init(&n, 2, l, 2, MP_LOSS_SOFTMAX_CE, 64, 1, &err), 0);
	train_tiny(&n, MP_OPT_ADAM, 0.01f, 200, &acc);
	ck_assert_double_eq(acc, 1.0);
	mp_net_release(&n);
	ck_assert_int_eq(mp_net_init(&n, 2, lb, 2, MP_LOSS_BCE, 64, 1, &err), 0);
	train_tiny(&n, MP_OPT_MOMENTUM, 0.05f, 300, &acc);
	ck_assert_double_eq(acc, 1.0);
	mp_net_release(&n);
}
END_TEST

START_TEST(training_is_deterministic_for_a_seed)
{
	mp_layer_spec l[] = {{.units = 16, .act = MP_ACT_RELU, .dropout = 0.2f, .init = MP_INIT_AUTO}, {.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_net a, b;
	mp_err err;
	double acc;

	ck_assert_int_eq(mp_net_init(&a, 2, l, 2, MP_LOSS_SOFTMAX_CE, 64, 5, &err), 0);
	ck_assert_int_eq(mp_net_init(&b, 2, l, 2, MP_LOSS_SOFTMAX_CE, 64, 5, &err), 0);
	train_tiny(&a, MP_OPT_ADAM, 0.01f, 20, &acc);
	train_tiny(&b, MP_OPT_ADAM, 0.01f, 20, &acc);
	ck_assert(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0);
	mp_net_release(&b);
	ck_assert_int_eq(mp_net_init(&b, 2, l, 2, MP_LOSS_SOFTMAX_CE, 64, 6, &err), 0);
	ck_assert(memcmp(a.params, b.params, a.nparams * sizeof(float)) != 0);
	mp_net_release(&a);
	mp_net_release(&b);
}
END_TEST

/* A step split across a team (the 100 units of the first layer shared out,
 * the 3 of the last member 0's): the same loss and gradients as one thread
 * (to float rounding), the same update, the same result on every run; a
 * batch too small to split runs in one thread, bit for bit. */
/* A conv net split across a team (examples, then filters) gives one
 * thread's gradients and update to rounding, whatever the member count. */
START_TEST(a_team_step_on_images_equals_one_thread)
{
	static const int shape[3] = {8, 8, 2};
	mp_layer_spec l[] = {conv(6, 3, 1, 1, MP_ACT_RELU), layer(MP_LAYER_POOL, 2), conv(4, 3, 2, 0, MP_ACT_TANH),
			     layer(MP_LAYER_FLATTEN, 0), layer(MP_LAYER_DENSE, 70), layer(MP_LAYER_DENSE, 3)};
	static float x[37 * 128], y[37];
	double loss1, loss;
	int members, i, correct1, correct;
	mp_net one;
	mp_err err;

	l[4].act = MP_ACT_RELU;
	for (i = 0; i < 37 * 128; i++)
		x[i] = (float)((i * 53) % 23) / 23.0f - 0.4f;
	for (i = 0; i < 37; i++)
		y[i] = (float)(i % 3);
	ck_assert_int_eq(mp_net_plan(128, shape, l, 6, &err), 0);
	ck_assert_int_eq(mp_net_init(&one, 128, l, 6, MP_LOSS_SOFTMAX_CE, 64, 5, &err), 0);
	mp_net_train_step(&one, x, y, 37, &loss1, &correct1);
	for (members = 2; members <= 3; members++) {
		mp_step_team *t;
		mp_optimizer o;
		mp_net n;
		size_t k;

		ck_assert_int_eq(mp_net_init(&n, 128, l, 6, MP_LOSS_SOFTMAX_CE, 64, 5, &err), 0);
		ck_assert_int_eq(mp_step_team_create(&t, &n, members, &err), 0);
		/* 37 examples: shares of 18 and 19, or 12, 12 and 13 */
		mp_step_team_train(t, x, y, 37, 0, NULL, 0, &loss, &correct);
		ck_assert_double_eq_tol(loss, loss1, 1e-6);
		ck_assert_int_eq(correct, correct1);
		for (k = 0; k < n.nparams; k++)
			ck_assert_msg(fabsf(n.grads[k] - one.grads[k]) <= 1e-5f + 1e-4f * fabsf(one.grads[k]),
				      "%d members, gradient %zu: %g against %g", members, k, n.grads[k], one.grads[k]);
		/* the update: every parameter moves, the image layers' too */
		ck_assert_int_eq(mp_optimizer_init(&o, MP_OPT_SGD, n.nparams, &err), 0);
		{
			float *p0 = malloc(n.nparams * sizeof(float));
			size_t moved = 0;

			memcpy(p0, n.params, n.nparams * sizeof(float));
			mp_step_team_train(t, x, y, 37, 0, &o, 0.1f, &loss, &correct);
			for (k = 0; k < n.woff[4]; k++)
				moved += n.params[k] != p0[k];
			ck_assert_uint_gt(moved, n.woff[4] / 2);
			free(p0);
		}
		mp_optimizer_release(&o);
		mp_step_team_free(t);
		mp_net_release(&n);
	}
	mp_net_release(&one);
}
END_TEST

START_TEST(a_team_step_equals_one_thread)
{
	mp_layer_spec l[] = {{.units = 100, .act = MP_ACT_RELU, .dropout = 0, .init = MP_INIT_AUTO}, {.units = 3, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	static float x[64 * 5], y[64];
	int members, i, correct1, correct;
	double loss1, loss;
	mp_net one;
	mp_err err;

	for (i = 0; i < 64 * 5; i++)
		x[i] = (float)((i * 37) % 19) / 19.0f - 0.5f;
	for (i = 0; i < 64; i++)
		y[i] = (float)(i % 3);
	ck_assert_int_eq(mp_net_init(&one, 5, l, 2, MP_LOSS_SOFTMAX_CE, 64, 9, &err), 0);
	for (members = 2; members <= 3; members++) {
		float *first = NULL;
		int run;

		for (run = 0; run < 2; run++) {
			mp_step_team *t;
			mp_optimizer o1, o2;
			mp_net n;
			size_t k;

			ck_assert_int_eq(mp_net_init(&n, 5, l, 2, MP_LOSS_SOFTMAX_CE, 64, 9, &err), 0);
			ck_assert_int_eq(mp_step_team_create(&t, &n, members, &err), 0);
			ck_assert_int_eq(mp_step_team_size(t), members);
			/* 4 rows cannot be split: one thread, exactly */
			mp_step_team_train(t, x, y, 4, 0, NULL, 0, &loss, &correct);
			mp_net_train_step(&one, x, y, 4, &loss1, &correct1);
			ck_assert(loss == loss1);
			ck_assert(memcmp(n.grads, one.grads, n.nparams * sizeof(float)) == 0);
			mp_net_train_step(&one, x, y, 64, &loss1, &correct1);
			mp_step_team_train(t, x, y, 64, 0, NULL, 0, &loss, &correct);
			ck_assert_double_eq_tol(loss, loss1, 1e-6);
			ck_assert_int_eq(correct, correct1);
			for (k = 0; k < n.nparams; k++)
				ck_assert_float_eq_tol(n.grads[k], one.grads[k], 1e-6);
			/* with the optimizer: each member updates its slice */
			ck_assert_int_eq(mp_optimizer_init(&o1, MP_OPT_ADAM, n.nparams, &err), 0);
			ck_assert_int_eq(mp_optimizer_init(&o2, MP_OPT_ADAM, n.nparams, &err), 0);
			o1.beta1 = o2.beta1 = 0.9f;
			o1.beta2 = o2.beta2 = 0.999f;
			o1.eps = o2.eps = 1e-8f;
			{
				float *p0 = malloc(n.nparams * sizeof(float));

				memcpy(p0, n.params, n.nparams * sizeof(float));
				mp_step_team_train(t, x, y, 64, 0, &o1, 0.01f, &loss, &correct);
				/* the same step by hand, from the same weights and gradients */
				mp_optimizer_step(&o2, p0, n.grads, 0.01f);
				ck_assert(memcmp(p0, n.params, n.nparams * sizeof(float)) == 0);
				free(p0);
			}
			if (!first) {
				first = malloc(n.nparams * sizeof(float));
				memcpy(first, n.params, n.nparams * sizeof(float));
			} else {
				ck_assert(memcmp(first, n.params, n.nparams * sizeof(float)) == 0);
			}
			mp_step_team_free(t);
			mp_optimizer_release(&o1);
			mp_optimizer_release(&o2);
			mp_net_release(&n);
		}
		free(first);
	}
	mp_net_release(&one);
}
END_TEST

/* With dropout, a team's masks come from the network's stream at each
 * step, which a checkpoint keeps: a team made again mid-training (as after
 * a resume) goes on exactly as the first would have. */
START_TEST(a_team_draws_the_same_dropout_after_a_restart)
{
	mp_layer_spec l[] = {{.units = 96, .act = MP_ACT_RELU, .dropout = 0.3f, .init = MP_INIT_AUTO}, {.units = 3, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	static float x[64 * 5], y[64];
	mp_step_team *ta, *tb;
	mp_optimizer oa, ob;
	mp_net a, b;
	mp_err err;
	double loss;
	int i, correct;

	for (i = 0; i < 64 * 5; i++)
		x[i] = (float)((i * 29) % 23) / 23.0f - 0.5f;
	for (i = 0; i < 64; i++)
		y[i] = (float)(i % 3);
	ck_assert_int_eq(mp_net_init(&a, 5, l, 2, MP_LOSS_SOFTMAX_CE, 64, 4, &err), 0);
	ck_assert_int_eq(mp_net_init(&b, 5, l, 2, MP_LOSS_SOFTMAX_CE, 64, 4, &err), 0);
	ck_assert_int_eq(mp_optimizer_init(&oa, MP_OPT_SGD, a.nparams, &err), 0);
	ck_assert_int_eq(mp_optimizer_init(&ob, MP_OPT_SGD, b.nparams, &err), 0);
	ck_assert_int_eq(mp_step_team_create(&ta, &a, 2, &err), 0);
	ck_assert_int_eq(mp_step_team_create(&tb, &b, 2, &err), 0);
	for (i = 0; i < 3; i++) {
		mp_step_team_train(ta, x, y, 64, 0, &oa, 0.1f, &loss, &correct);
		mp_step_team_train(tb, x, y, 64, 0, &ob, 0.1f, &loss, &correct);
		if (i == 0) {
			/* b's team made again, its views seeded afresh */
			mp_step_team_free(tb);
			ck_assert_int_eq(mp_step_team_create(&tb, &b, 2, &err), 0);
		}
	}
	ck_assert(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0);
	mp_step_team_free(ta);
	mp_step_team_free(tb);
	mp_optimizer_release(&oa);
	mp_optimizer_release(&ob);
	mp_net_release(&a);
	mp_net_release(&b);
}
END_TEST

/* A model file with the given header and n zero parameters, with a right
 * checksum: a hostile file, not a damaged one. */
static void write_model(const char *name, const char *header, size_t n)
{
	size_t hl = strlen(header), len = 12 + hl + 8 + n * 4 + 4;
	uint8_t *b = calloc(1, len);
	char *path = tu_at(name);
	mp_err err;

	memcpy(b, "MLPM", 4);
	mp_put_u32(b + 4, MP_MODEL_VERSION);
	mp_put_u32(b + 8, (uint32_t)hl);
	memcpy(b + 12, header, hl);
	mp_put_u64(b + 12 + hl, n);
	mp_put_u32(b + len - 4, mp_crc32c(0, b, len - 4));
	ck_assert_int_eq(mp_write_file_atomic(path, b, len, &err), 0);
	free(b);
	free(path);
}

/* Sizes from a file are checked before anything is allocated: a 195-byte
 * model of 2^31-unit layers once wrapped to a 0-byte allocation, and a
 * 784-200000-10 one took 626 MB before failing. */
START_TEST(hostile_model_sizes_are_refused)
{
	static const struct {
		const char *header, *want;
	} cases[] = {
		{"mlpipe-model 1\ninputs 2147483647\nloss mse\nlayer 2147483647 none 0\nlayer 2147483647 none 0\n",
		 "'inputs 2147483647' is not 1 to 1000000"},
		{"mlpipe-model 1\ninputs 1000000\nloss mse\nlayer 1000000 relu 0\nlayer 1 none 0\n",
		 "more than 268435456 parameters"},
		{"mlpipe-model 1\ninputs 784\nloss softmax_cross_entropy\nlayer 200000 relu 0\nlayer 10 none 0\n",
		 "holds 0 parameters, its layers need 159000010"},
		{"mlpipe-model 1\ninputs 4\nloss mse\nlayer -3 none 0\n", "'layer -3 none 0' is not a layer"},
		{"mlpipe-model 1\ninputs 4\nloss mse\nlayer 2 none 7\n", "is not a layer"},
	};
	mp_model m;
	mp_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = tu_at("h.mlpm");

		write_model("h.mlpm", cases[i].header, 0);
		ck_assert_int_eq(mp_model_load(&m, path, 16, &err), MP_ECORRUPT);
		ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: got '%s'", i, err.msg);
		free(path);
	}
}
END_TEST

START_TEST(bad_networks_are_refused)
{
	mp_layer_spec act_last[] = {{.units = 3, .act = MP_ACT_RELU, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_layer_spec two[] = {{.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_layer_spec zero[] = {{.units = 0, .act = MP_ACT_RELU, .dropout = 0, .init = MP_INIT_AUTO}, {.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_net n;
	mp_err err;

	ck_assert_int_eq(mp_net_init(&n, 4, act_last, 1, MP_LOSS_SOFTMAX_CE, 8, 1, &err), MP_EINVAL);
	ck_assert_int_eq(mp_net_init(&n, 4, two, 1, MP_LOSS_BCE, 8, 1, &err), MP_EINVAL);
	ck_assert_int_eq(mp_net_init(&n, 4, zero, 2, MP_LOSS_SOFTMAX_CE, 8, 1, &err), MP_EINVAL);
}
END_TEST

/* A network and its optimizer under failed allocations: MP_ENOMEM, and
 * nothing half made (ASan checks the release). */
START_TEST(a_network_survives_failed_allocations)
{
	mp_layer_spec l[2] = {{.units = 16, .act = MP_ACT_RELU, .dropout = 0.5f, .init = MP_INIT_AUTO}, {.units = 3, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	mp_net n;
	mp_optimizer o;
	mp_err err;
	int rc;

	TU_EACH_FAILED_ALLOC(100, rc, rc = mp_net_init(&n, 8, l, 2, MP_LOSS_SOFTMAX_CE, 4, 1, &err), (void)0);
	ck_assert_uint_eq(n.nparams, 8 * 16 + 16 + 16 * 3 + 3);
	TU_EACH_FAILED_ALLOC(20, rc, (memset(&o, 0, sizeof(o)), rc = mp_optimizer_init(&o, MP_OPT_ADAM, n.nparams, &err)),
			     mp_optimizer_release(&o));
	mp_optimizer_release(&o);
	/* a team that cannot be made gives back its threads and views */
	{
		mp_step_team *t = NULL;

		TU_EACH_FAILED_ALLOC(100, rc, rc = mp_step_team_create(&t, &n, 3, &err), ck_assert_ptr_null(t));
		ck_assert_int_eq(mp_step_team_size(t), 3);
		mp_step_team_free(t);
	}
	mp_net_release(&n);
}
END_TEST

static Suite *nn_suite(void)
{
	Suite *s = suite_create("nn");
	TCase *tc = tcase_create("nn");

	tcase_add_test(tc, gradients_of_every_activation_and_loss);
	tcase_add_test(tc, gradients_of_conv_and_pool);
	tcase_add_test(tc, gradients_of_embeddings);
	tcase_add_test(tc, conv_and_pool_output_shapes);
	tcase_add_test(tc, bad_image_stacks_are_refused);
	tcase_add_test(tc, dropout_scales_and_masks);
	tcase_add_test(tc, optimizers_match_hand_computed_steps);
	tcase_add_test(tc, schedules_warm_up_step_and_anneal);
	tcase_add_test(tc, a_tiny_dataset_is_fitted);
	tcase_add_test(tc, training_is_deterministic_for_a_seed);
	tcase_add_test(tc, bad_networks_are_refused);
	tcase_add_test(tc, a_network_survives_failed_allocations);

	suite_add_tcase(s, tc);
	tc = tcase_create("model files");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, hostile_model_sizes_are_refused);
	tcase_add_test(tc, a_team_step_equals_one_thread);
	tcase_add_test(tc, a_team_step_on_images_equals_one_thread);
	tcase_add_test(tc, a_team_draws_the_same_dropout_after_a_restart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(nn_suite());
}
