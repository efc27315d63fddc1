/* The Tuner's search (components/tuner_search.c) and hyperparameters
 * (components/hparams.c): the grid enumerates exactly, random samples are
 * seeded and stay in their domains, successive halving keeps the best of
 * each rung against objectives known in advance, values land at their
 * paths in the Trainer's params, and mistakes are named. */
#include "testutil.h"
#include "components/tuner.h"

#include <math.h>

static void space(mp_hp_space *s, const char *text)
{
	mp_err err;

	ck_assert_msg(mp_hp_space_parse(s, text, &err) == 0, "%s", err.msg);
}

static void config(mp__tune_config *c, const char *search, mp_tune_strategy st, int trials)
{
	memset(c, 0, sizeof(*c));
	space(&c->space, search);
	c->strategy = st;
	c->trials = trials;
	c->maximize = 1;
	c->seed = 42;
}

static void free_plan(char **v, size_t n)
{
	mp_hp_strings_free(v, n);
}

START_TEST(grid_enumerates_every_combination_in_order)
{
	static const char *const want[] = {"\"relu\"", "1", "\"relu\"", "2", "\"relu\"", "3",
					   "\"tanh\"", "1", "\"tanh\"", "2", "\"tanh\"", "3"};
	mp__tune_config c;
	char **v;
	mp_err err;
	size_t i;

	config(&c, "{act: {choice: [relu, tanh]}, n: {int: [1, 3]}}", MP_TUNE_GRID, 6);
	ck_assert_uint_eq(mp__tune_grid_size(&c.space), 6);
	ck_assert_int_eq(mp__tune_plan(&c, &v, &err), 0);
	for (i = 0; i < 12; i++)
		ck_assert_str_eq(v[i], want[i]);
	free_plan(v, 12);
	mp__tune_config_release(&c);
	/* a continuous domain has no grid */
	config(&c, "{lr: {uniform: [0.1, 1]}, n: {int: [1, 3]}}", MP_TUNE_GRID, 6);
	ck_assert_uint_eq(mp__tune_grid_size(&c.space), 0);
	mp__tune_config_release(&c);
}
END_TEST

START_TEST(random_samples_are_seeded_and_in_their_domains)
{
	mp__tune_config c, d;
	char **a, **b, **o;
	mp_err err;
	size_t t;
	int below = 0, seen[5] = {0};

	config(&c, "{lr: {log_uniform: [0.0001, 1]}, n: {int: [2, 6]}, m: {uniform: [-1, 1]}}", MP_TUNE_RANDOM, 400);
	ck_assert_int_eq(mp__tune_plan(&c, &a, &err), 0);
	ck_assert_int_eq(mp__tune_plan(&c, &b, &err), 0);
	for (t = 0; t < 1200; t++)
		ck_assert_str_eq(a[t], b[t]); /* the same seed, the same trials */
	for (t = 0; t < 400; t++) {
		double lr = strtod(a[3 * t], NULL), m = strtod(a[3 * t + 2], NULL);
		long n = strtol(a[3 * t + 1], NULL, 10);

		ck_assert(lr >= 0.0001 && lr <= 1);
		ck_assert(m >= -1 && m <= 1);
		ck_assert(n >= 2 && n <= 6);
		seen[n - 2]++;
		below += lr < 0.01; /* the geometric middle: half, in the logarithm */
	}
	ck_assert_msg(below > 160 && below < 240, "%d of 400 below 0.01", below);
	for (t = 0; t < 5; t++)
		ck_assert_msg(seen[t] > 40, "int %zu drawn %d times", t + 2, seen[t]);
	d = c;
	d.seed = 43;
	ck_assert_int_eq(mp__tune_plan(&d, &o, &err), 0);
	ck_assert_str_ne(o[0], a[0]);
	free_plan(a, 1200);
	free_plan(b, 1200);
	free_plan(o, 1200);
	mp__tune_config_release(&c);
	/* a small discrete space: no trial repeats another while it can be helped */
	config(&c, "{k: {choice: [a, b, c, d]}}", MP_TUNE_RANDOM, 4);
	ck_assert_int_eq(mp__tune_plan(&c, &a, &err), 0);
	for (t = 0; t < 4; t++) {
		size_t u;

		for (u = 0; u < t; u++)
			ck_assert_str_ne(a[t], a[u]);
	}
	free_plan(a, 4);
	mp__tune_config_release(&c);
}
END_TEST

START_TEST(rungs_are_hyperbands)
{
	int b[MP_TUNE_MAX_RUNGS], n;

	n = mp__tune_rungs(1, 9, 3, b);
	ck_assert_int_eq(n, 3);
	ck_assert(b[0] == 1 && b[1] == 3 && b[2] == 9);
	n = mp__tune_rungs(1, 10, 3, b);
	ck_assert(n == 3 && b[0] == 1 && b[1] == 3 && b[2] == 10);
	n = mp__tune_rungs(1, 100, 4, b);
	ck_assert(n == 4 && b[0] == 1 && b[1] == 6 && b[2] == 25 && b[3] == 100);
	n = mp__tune_rungs(5, 5, 3, b);
	ck_assert(n == 1 && b[0] == 5);
	ck_assert_uint_eq(mp__tune_keep(9, 3), 3);
	ck_assert_uint_eq(mp__tune_keep(2, 3), 1);
}
END_TEST

/* A hand-made fixture: trial t's objective at rung k, known in advance.
 * Rung 1 keeps trials 9, 2 and 5 (the best three of nine; trial 7 failed);
 * at rung 2, trial 5 overtakes them. */
static const double fixture[10][3] = {
	{0, 0, 0},	 {0.10, 0, 0},	 {0.80, 0.60, 0}, {0.30, 0, 0}, {0.20, 0, 0},
	{0.70, 0.90, 0.95}, {0.40, 0, 0}, {-1, 0, 0},	   {0.50, 0, 0}, {0.85, 0.50, 0},
};

typedef struct fake {
	mp__tune_eval *ev;
	int ran[3][10];
} fake;

static int fake_run(void *ud, size_t from, size_t to, mp_err *err)
{
	fake *f = ud;
	size_t i;

	(void)err;
	for (i = from; i < to; i++) {
		mp__tune_eval *e = &f->ev[i];

		f->ran[e->rung][e->trial]++;
		e->done = 1;
		e->failed = fixture[e->trial][e->rung] < 0;
		e->objective = e->failed ? NAN : fixture[e->trial][e->rung];
	}
	return 0;
}

START_TEST(halving_keeps_the_best_of_each_rung)
{
	mp__tune_config c;
	mp__tune_eval ev[27];
	const mp__tune_eval *best;
	fake f = {ev, {{0}}};
	size_t nev;
	char **v;
	mp_err err;
	int t, r;

	config(&c, "{q: {int: [1, 100]}}", MP_TUNE_HALVING, 9);
	c.reduction = 3;
	c.nrungs = mp__tune_rungs(1, 9, 3, c.budgets);
	ck_assert_int_eq(mp__tune_plan(&c, &v, &err), 0);
	ck_assert_int_eq(mp__tune_search(&c, v, ev, &nev, fake_run, &f, &err), 0);
	ck_assert_uint_eq(nev, 9 + 3 + 1);
	for (t = 1; t <= 9; t++)
		ck_assert_int_eq(f.ran[0][t], 1);
	for (t = 1; t <= 9; t++) {
		ck_assert_int_eq(f.ran[1][t], t == 9 || t == 2 || t == 5);
		ck_assert_int_eq(f.ran[2][t], t == 5);
	}
	for (r = 0; r < 13; r++) /* each rung's budget */
		ck_assert_int_eq(ev[r].budget, c.budgets[ev[r].rung]);
	best = mp__tune_best(ev, nev, 1);
	ck_assert_ptr_nonnull(best);
	ck_assert_int_eq(best->trial, 5);
	ck_assert_int_eq(best->rung, 2);
	/* minimizing instead: the lowest of each rung goes on */
	memset(&f.ran, 0, sizeof(f.ran));
	c.maximize = 0;
	ck_assert_int_eq(mp__tune_search(&c, v, ev, &nev, fake_run, &f, &err), 0);
	ck_assert(f.ran[1][1] && f.ran[1][4] && f.ran[1][3] && !f.ran[1][9]);
	free_plan(v, 9);
	mp__tune_config_release(&c);
}
END_TEST

static const char *kv(const mp_kv *p, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(p[i].key, key))
			return p[i].value;
	ck_abort_msg("no param %s", key);
	return NULL;
}

START_TEST(values_land_at_their_paths)
{
	const char *paths[] = {"optimizer.lr", "model.layers.0.dense", "batch_size", "early_stopping.patience"};
	const char *values[] = {"0.5", "7", "32", "4"};
	mp_kv *p;
	size_t n;
	mp_err err;

	ck_assert_msg(mp_hp_params(&mp_trainer_component, "{optimizer: {name: sgd}, epochs: 3}", paths, values, 4, &p,
				   &n, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(kv(p, n, "optimizer"), "{\"name\":\"sgd\",\"lr\":0.5}");
	ck_assert_str_eq(kv(p, n, "model"),
			 "{\"layers\":[{\"dense\":7,\"activation\":\"relu\"},{\"dense\":\"auto\"}]}");
	ck_assert_str_eq(kv(p, n, "batch_size"), "32");
	ck_assert_str_eq(kv(p, n, "epochs"), "3");
	ck_assert_str_eq(kv(p, n, "early_stopping"), "{\"patience\":4}");
	mp_hp_params_free(p, n);

	paths[0] = "model.layers.9.dense";
	ck_assert_int_ne(mp_hp_params(&mp_trainer_component, NULL, paths, values, 1, &p, &n, &err), 0);
	ck_assert_msg(strstr(err.msg, "model.layers.9.dense: the list has no item 9 (it has 2"), "%s", err.msg);
	paths[0] = "optimizer.lr";
	values[0] = "\"fast\"";
	ck_assert_int_ne(mp_hp_params(&mp_trainer_component, NULL, paths, values, 1, &p, &n, &err), 0);
	ck_assert_msg(strstr(err.msg, "optimizer.lr: 'fast' is not a number"), "%s", err.msg);
	paths[0] = "epoch";
	ck_assert_int_ne(mp_hp_params(&mp_trainer_component, NULL, paths, values, 1, &p, &n, &err), 0);
	ck_assert_msg(strstr(err.msg, "Trainer has no param 'epoch' (did you mean 'epochs'?)"), "%s", err.msg);
}
END_TEST

START_TEST(bad_spaces_are_named)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"{a: {log_uniform: [0, 1]}}", "search: a: log_uniform needs lo above 0"},
		{"{a: {int: [1.5, 3]}}", "search: a: int takes whole numbers"},
		{"{a: {uniform: [2, 1]}}", "search: a: lo 2 is not below hi 1"},
		{"{a: {choice: []}}", "search: a: choice needs at least one value"},
		{"{a: {chioce: [1]}}", "search: a: unknown domain 'chioce' (did you mean 'choice'?)"},
		{"{a: {choice: [1]}, a.b: {choice: [1]}}", "search: 'a.b' lies inside 'a'"},
		{"{}", "search: needs a mapping"},
	};
	mp_hp_space s;
	mp_err err;
	size_t i;

	for (i = 0; i < MP_COUNTOF(cases); i++) {
		ck_assert_int_ne(mp_hp_space_parse(&s, cases[i].text, &err), 0);
		ck_assert_msg(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].text, err.msg);
		mp_hp_space_release(&s);
	}
}
END_TEST

START_TEST(search_paths_are_checked_against_the_trainers_params)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"{optimizer.lrr: {uniform: [0.1, 1]}}", "search: optimizer.lrr: unknown key 'lrr' (did you mean 'lr'?)"},
		{"{optimiser.lr: {uniform: [0.1, 1]}}", "unknown Trainer param 'optimiser' (did you mean 'optimizer'?)"},
		{"{model.layers.first.dense: {choice: [1]}}", "'first' is not a list position"},
		{"{batch_size.x: {choice: [1]}}", "'batch_size' is a single value"},
		{"{model.layers.0.dense: {uniform: [4, 8]}}", "takes whole numbers: use int or choice"},
		{"{model.layers.0.activation: {int: [1, 2]}}", "takes no numbers: use choice"},
		{"{model.layers.0.activation: {choice: [relu, tanhh]}}", "unknown value 'tanhh' (did you mean 'tanh'?)"},
		{"{optimizer.lr: {log_uniform: [1e-20, 1]}}", "search.optimizer.lr: 1e-20 is out of range"},
		{"{batch_size: {int: [0, 8]}}", "search.batch_size: 0 is out of range"},
	};
	mp_err err;
	size_t i;

	for (i = 0; i < MP_COUNTOF(cases); i++) {
		ck_assert_int_ne(mp_shape_check_text(&mp__tune_search_shape, cases[i].text, "search", &err), 0);
		ck_assert_msg(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].text, err.msg);
	}
	ck_assert_msg(mp_shape_check_text(&mp__tune_search_shape,
					  "{optimizer.lr: {log_uniform: [1e-4, 0.1]}, model.layers.0.dense: {int: [8, 64]}, "
					  "model.layers.0: {choice: [{dense: 8}]}, batch_size: {choice: [16, 32]}}",
					  "search", &err) == 0, "%s", err.msg);
	ck_assert_int_ne(mp_shape_check_text(&mp__tune_trainer_shape, "{epochz: 3}", "trainer", &err), 0);
	ck_assert_msg(strstr(err.msg, "unknown Trainer param 'epochz' (did you mean 'epochs'?)"), "%s", err.msg);
	ck_assert_int_ne(mp_shape_check_text(&mp__tune_trainer_shape, "{epochs: 0}", "trainer", &err), 0);
	ck_assert_msg(strstr(err.msg, "trainer.epochs: 0 is out of range"), "%s", err.msg);
}
END_TEST

START_TEST(the_hyperparameters_file_reads_back)
{
	char *dir = tu_mkdtemp(), *path = mp_asprintf("%s/%s", dir, MP_HP_FILE), **paths, **values, *json;
	size_t n;
	mp_err err;

	const char *good = "{\"values\":{\"optimizer.lr\":0.01,\"model.layers.0\":{\"dense\":8}},\"trial\":3}";

	ck_assert_int_eq(mp_write_file_atomic(path, good, strlen(good), &err), 0);
	ck_assert_msg(mp_hp_file_read(dir, &paths, &values, &n, &json, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(paths[0], "optimizer.lr");
	ck_assert_str_eq(values[0], "0.01");
	ck_assert_str_eq(paths[1], "model.layers.0");
	ck_assert_str_eq(values[1], "{\"dense\":8}");
	ck_assert_str_eq(json, "{\"optimizer.lr\":0.01,\"model.layers.0\":{\"dense\":8}}");
	mp_hp_strings_free(paths, n);
	mp_hp_strings_free(values, n);
	free(json);
	ck_assert_int_eq(mp_write_file_atomic(path, "{\"trial\":3}", 11, &err), 0);
	ck_assert_int_eq(mp_hp_file_read(dir, &paths, &values, &n, &json, &err), MP_EINVAL);
	ck_assert_msg(strstr(err.msg, "no \"values\" mapping"), "%s", err.msg);
	free(path);
	tu_rmdir(dir);
}
END_TEST

static Suite *tuner_suite(void)
{
	Suite *s = suite_create("tuner");
	TCase *tc = tcase_create("search");
	TCase *hp = tcase_create("hyperparameters");

	tcase_add_test(tc, grid_enumerates_every_combination_in_order);
	tcase_add_test(tc, random_samples_are_seeded_and_in_their_domains);
	tcase_add_test(tc, rungs_are_hyperbands);
	tcase_add_test(tc, halving_keeps_the_best_of_each_rung);
	tcase_add_test(hp, values_land_at_their_paths);
	tcase_add_test(hp, bad_spaces_are_named);
	tcase_add_test(hp, search_paths_are_checked_against_the_trainers_params);
	tcase_add_test(hp, the_hyperparameters_file_reads_back);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, hp);
	return s;
}

int main(void)
{
	return tu_run(tuner_suite());
}
