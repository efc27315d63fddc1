/* Transform and Trainer as components: the transform's round trip, a
 * trained model's determinism, a Trainer killed mid-training continuing
 * from its checkpoint to the same model, and bad params. */
#include "testutil.h"

#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "components/component.h"
#include "data/examples.h"
#include "data/transform.h"
#include "nn/nn.h"

/* n rows: 8 numbers and a string; the class depends on them. */
static void make_data(int n)
{
	char *path = tu_at("data.csv");
	FILE *f = fopen(path, "w");
	int i, k;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "a,b,c,d,e,f,g,h,color,label\n");
	for (i = 0; i < n; i++) {
		double v[8], s = 0;

		for (k = 0; k < 8; k++) {
			v[k] = sin(i * (k + 1) * 0.7 + k) * (k + 1) + 10 * k;
			s += (k % 2 ? 1 : -1) * sin(i * (k + 1) * 0.7 + k);
		}
		fprintf(f, "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%s,%s\n", v[0], v[1], v[2], v[3], v[4], v[5], v[6],
			v[7], i % 3 == 0 ? "red" : i % 3 == 1 ? "green" : "blue",
			s > 0.5 ? "high" : s < -0.5 ? "low" : "mid");
	}
	fclose(f);
	free(path);
}

static void prepare(int n)
{
	mp_err err;

	make_data(n);
	ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=ex", "param:format=csv", "param:path=data.csv",
			     "param:label=label", "param:eval_fraction=0.2", "param:validation_fraction=0.1", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=ex", "out:statistics=st", (char *)NULL), 0);
	ck_assert_msg(tu_run_component("Transform", NULL, &err, "in:examples=ex", "in:statistics=st", "out:transform=tx",
			  "out:transformed_examples=tex", (char *)NULL) == 0, "%s", err.msg);
}

static char *read_all(const char *name, size_t *n)
{
	char *path = tu_at(name), *data;
	mp_err err;

	ck_assert_int_eq(mp_read_file(path, &data, n, &err), 0);
	free(path);
	return data;
}

/* Two files below tu_dir() are byte-identical. */
static void assert_same_file(const char *x, const char *y)
{
	size_t nx, ny;
	char *a = read_all(x, &nx), *b = read_all(y, &ny);

	ck_assert_uint_eq(nx, ny);
	ck_assert_msg(memcmp(a, b, nx) == 0, "'%s' and '%s' differ", x, y);
	free(a);
	free(b);
}

START_TEST(transform_round_trips_and_matches_its_examples)
{
	mp_transform t, t2;
	mp_strbuf a = MP_STRBUF_INIT, b = MP_STRBUF_INIT;
	mp_examples_meta m;
	mp_err err;
	char *text, *path;
	size_t n;

	prepare(300);
	text = read_all("tx/transform.tsv", &n);
	ck_assert_int_eq(mp_transform_from_text(&t, text, "tx", &err), 0);
	ck_assert_str_eq(t.label, "label");
	ck_assert_uint_eq(t.nlabel_vocab, 3);
	ck_assert_str_eq(t.label_vocab[0], "high"); /* sorted */
	ck_assert_uint_eq(mp_transform_width(&t), 8 + 3);
	ck_assert_int_eq(mp_transform_to_text(&t, &a), 0);
	ck_assert_str_eq(a.buf, text);
	ck_assert_int_eq(mp_transform_from_text(&t2, a.buf, "again", &err), 0);
	ck_assert_int_eq(mp_transform_to_text(&t2, &b), 0);
	ck_assert_str_eq(a.buf, b.buf);
	/* the transformed examples: z-scores near mean 0, one-hot columns named after values */
	path = tu_at("tex");
	ck_assert_int_eq(mp_examples_meta_read(&m, path, &err), 0);
	ck_assert_uint_eq(m.nfeatures, 12);
	ck_assert_str_eq(m.features[8].name, "color=blue");
	ck_assert_str_eq(m.label, "label");
	mp_examples_meta_release(&m);
	free(path);
	mp_transform_release(&t2);
	ck_assert_int_eq(mp_transform_from_text(&t2, "nonsense", "bad", &err), MP_ECORRUPT);
	/* a constant divisor (pixels / 255), and a per-feature rule */
	ck_assert_int_eq(tu_run_component("Transform", NULL, &err, "in:examples=ex", "in:statistics=st", "out:transform=tx2",
			     "out:transformed_examples=tex2", "param:numbers=divide:10", "param:rules={b: bucketize:4, color: drop}",
			     (char *)NULL), 0);
	{
		char *t3 = read_all("tx2/transform.tsv", &n);

		ck_assert_ptr_nonnull(strstr(t3, "feature\ta\tdivide\t10\t"));
		ck_assert_ptr_nonnull(strstr(t3, "feature\tb\tbucketize\t"));
		ck_assert_ptr_null(strstr(t3, "color"));
		free(t3);
	}
	ck_assert_int_eq(tu_run_component("Transform", NULL, &err, "in:examples=ex", "in:statistics=st", "out:transform=tx3",
			     "out:transformed_examples=tex3", "param:rules={nope: drop}", (char *)NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "there is no feature 'nope'"));
	mp_transform_release(&t);
	mp_strbuf_release(&a);
	mp_strbuf_release(&b);
	free(text);
}
END_TEST

START_TEST(training_learns_and_is_bit_identical)
{
	mp_model m;
	mp_err err;
	char *path;

	prepare(2000);
	ck_assert_msg(tu_run_component("Trainer", NULL, &err, "in:examples=tex", "in:transform=tx", "out:model=m1", "param:epochs=3",
			  "param:threads=1", "param:optimizer={name: adam, lr: 0.01}", (char *)NULL) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=tex", "in:transform=tx", "out:model=m2", "param:epochs=3",
			     "param:threads=1", "param:optimizer={name: adam, lr: 0.01}", (char *)NULL), 0);
	assert_same_file("m1/model.mlpm", "m2/model.mlpm");
	/* the model file loads, carries the transform, and predicts probabilities */
	path = tu_at("m1/model.mlpm");
	ck_assert_int_eq(mp_model_load(&m, path, 4, &err), 0);
	ck_assert_ptr_nonnull(m.transform_text);
	ck_assert_int_eq(m.net.nin, 11);
	ck_assert_int_eq(mp_net_nout(&m.net), 3);
	{
		float x[11] = {0}, p[3];

		mp_net_predict(&m.net, x, 1, p);
		ck_assert_float_eq_tol(p[0] + p[1] + p[2], 1.0f, 1e-5);
	}
	mp_model_release(&m);
	/* a damaged model file is refused */
	{
		char *data;
		size_t n;

		ck_assert_int_eq(mp_read_file(path, &data, &n, &err), 0);
		data[n / 2] ^= 1;
		ck_assert_int_eq(mp_write_file_atomic(path, data, n, &err), 0);
		ck_assert_int_eq(mp_model_load(&m, path, 4, &err), MP_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(err.msg, "checksum"));
		free(data);
	}
	free(path);
}
END_TEST

/* Transforming raw examples on the input pipeline gives the very model
 * that training on Transform's output gives: the same arithmetic, the same
 * example order. */
START_TEST(applying_the_transform_on_the_fly_matches_transformed_examples)
{
	mp_err err;

	prepare(3000);
	ck_assert_msg(tu_run_component("Trainer", NULL, &err, "in:examples=ex", "in:transform=tx", "out:model=fly", "param:epochs=3",
			  "param:threads=1", "param:apply_transform=true", "param:cache=false", (char *)NULL) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=tex", "in:transform=tx", "out:model=pre", "param:epochs=3",
			     "param:threads=1", "param:cache=false", (char *)NULL), 0);
	assert_same_file("fly/model.mlpm", "pre/model.mlpm");
	/* and with the cache, which then keeps the raw values (as bytes when
	 * they fit) and transforms each batch */
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=ex", "in:transform=tx", "out:model=fly2", "param:epochs=3",
			     "param:threads=1", "param:apply_transform=true", "param:cache=true", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=tex", "in:transform=tx", "out:model=pre2", "param:epochs=3",
			     "param:threads=1", "param:cache=true", (char *)NULL), 0);
	assert_same_file("fly2/model.mlpm", "pre2/model.mlpm");
	/* without the transform input it cannot */
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=ex", "out:model=m", "param:apply_transform=true",
			     (char *)NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "apply_transform needs a 'transform' input"));
}
END_TEST

START_TEST(a_killed_trainer_resumes_to_the_same_model)
{
	mp_err err;
	char *ckpt;
	pid_t pid;
	int status, seen = 0, i;

	prepare(20000);
	/* in one go */
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=tex", "out:model=whole", "param:epochs=8",
			     "param:threads=1", "param:model={layers: [{dense: 64, activation: relu}, {dense: auto}]}",
			     (char *)NULL), 0);
	/* killed after a checkpoint, then run again with the same scratch folder */
	ckpt = tu_at("scratch/checkpoint.mlpc");
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rc = tu_run_component("Trainer", "scratch", &err, "in:examples=tex", "out:model=killed", "param:epochs=8",
			     "param:threads=1", "param:model={layers: [{dense: 64, activation: relu}, {dense: auto}]}",
			     (char *)NULL);

		_exit(rc == 0 ? 0 : 1);
	}
	for (i = 0; i < 60000 && !seen; i++) {
		if (mp_path_exists(ckpt))
			seen = 1;
		else if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		else
			nanosleep(&(struct timespec){0, 500000}, NULL);
	}
	ck_assert_msg(seen, "the trainer finished before its first checkpoint could be seen");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_assert(WIFSIGNALED(status));
	ck_assert(mp_path_exists(ckpt));
	ck_assert_int_eq(tu_run_component("Trainer", "scratch", &err, "in:examples=tex", "out:model=resumed", "param:epochs=8",
			     "param:threads=1", "param:model={layers: [{dense: 64, activation: relu}, {dense: auto}]}",
			     (char *)NULL), 0);
	ck_assert(!mp_path_exists(ckpt)); /* removed once done */
	assert_same_file("whole/model.mlpm", "resumed/model.mlpm");
	free(ckpt);
}
END_TEST

/* The error mp_param_check gives for a Trainer param's value. */
static const char *param_error(const char *name, const char *value)
{
	static mp_err err;
	const mp_param_spec *spec = mp_component_param(mp_component_find("Trainer"), name);
	char *canon = NULL;

	ck_assert_ptr_nonnull(spec);
	ck_assert_int_eq(mp_param_check(spec, value, &canon, &err), MP_EINVAL);
	ck_assert_ptr_null(canon);
	return err.msg;
}

START_TEST(bad_params_stop_with_a_clear_error)
{
	mp_err err;

	prepare(300);
	/* the params' shapes are checked before the component runs, with the
	 * place inside the value */
	ck_assert_str_eq(param_error("model", "{layers: [{dense: 8, activation: swish}, {dense: auto}]}"),
			 "model.layers[1].activation: 'swish' is not one of relu, tanh, sigmoid, none, linear"
			 " (column 34 of the value)");
	ck_assert_str_eq(param_error("model", "{layers: [{convv: 8}]}"),
			 "model.layers[1]: unknown key 'convv' (did you mean 'conv'?) (column 12 of the value)");
	ck_assert_str_eq(param_error("optimizer", "{name: adam, lr: -1}"),
			 "optimizer.lr: -1 is out of range (1e-12 to 1e+06) (column 18 of the value)");
	ck_assert_str_eq(param_error("optimizer", "{name: adam, lrr: 0.5}"),
			 "optimizer: unknown key 'lrr' (did you mean 'lr'?) (column 14 of the value)");
	ck_assert_str_eq(param_error("optimizer", "{name: rmsprop}"),
			 "optimizer.name: 'rmsprop' is not one of sgd, momentum, adam, adamw (column 8 of the value)");
	ck_assert_str_eq(param_error("model", "{layers: []}"), "model.layers: needs at least 1 item (column 10 of the value)");
	ck_assert_str_eq(param_error("early_stopping", "{metric: val_los}"),
			 "early_stopping.metric: unknown value 'val_los' (did you mean 'val_loss'?) (column 10 of the value)");
	/* an output layer too small for the labels */
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=tex", "out:model=m",
			     "param:model={layers: [{dense: 2}]}", (char *)NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "out of range for an output layer of 2 classes"));
	/* a learning rate that blows up names the step */
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=tex", "out:model=m", "param:loss=mse",
			     "param:model={layers: [{dense: 1}]}", "param:optimizer={name: sgd, lr: 100000}",
			     (char *)NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "the loss became"));
	ck_assert_ptr_nonnull(strstr(err.msg, "at step"));
	/* raw examples with strings need a Transform first */
	ck_assert_int_eq(tu_run_component("Trainer", NULL, &err, "in:examples=ex", "out:model=m", (char *)NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "Transform"));
}
END_TEST

static Suite *train_suite(void)
{
	Suite *s = suite_create("train");
	TCase *tc = tcase_create("train");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, transform_round_trips_and_matches_its_examples);
	tcase_add_test(tc, training_learns_and_is_bit_identical);
	tcase_add_test(tc, applying_the_transform_on_the_fly_matches_transformed_examples);
	tcase_add_test(tc, a_killed_trainer_resumes_to_the_same_model);
	tcase_add_test(tc, bad_params_stop_with_a_clear_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(train_suite());
}
