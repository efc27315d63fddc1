/* The Tuner's params (see tuner.h): read, and checked at load time against
 * the Trainer's declared params, through the Trainer's own check. */
#include "components/tuner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_trainer_node(struct yaml_document_s *doc, struct yaml_node_s *n, const char *path, mp_shape_fn fn,
			      void *ud)
{
	return mp_hp_check_base(&mp_trainer_component, doc, n, path, fn, ud);
}

static int check_search_node(struct yaml_document_s *doc, struct yaml_node_s *n, const char *path, mp_shape_fn fn,
			     void *ud)
{
	return mp_hp_check_search(&mp_trainer_component, doc, n, path, fn, ud);
}

const mp_shape mp__tune_trainer_shape = {MP_SHAPE_ANY, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, check_trainer_node};
const mp_shape mp__tune_search_shape = {MP_SHAPE_ANY, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, check_search_node};

static const mp_name strategies[] = {
	{"random", MP_TUNE_RANDOM},
	{"grid", MP_TUNE_GRID},
	{"halving", MP_TUNE_HALVING},
};

void mp__tune_config_release(mp__tune_config *c)
{
	mp_hp_space_release(&c->space);
}

static const char *kv_value(const mp_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

/* What the base Trainer params say that the search depends on: the
 * budget they train for, their loss (c gets whether they make trees, and
 * which thread params they set). */
typedef struct base_facts {
	int budget, mse;
	int scores_on_eval; /* validation_split is the Evaluator's (by default) */
} base_facts;

static int read_base(mp__tune_config *c, base_facts *f, mp_err *err)
{
	const mp_jnode *gbdt, *rounds, *root;
	mp_jdoc *d = NULL;
	mp_kv *kv;
	size_t n;
	int rc;

	if ((rc = mp_hp_params(&mp_trainer_component, c->base, NULL, NULL, 0, &kv, &n, err)) != 0)
		return mp_error_wrap(err, "trainer");
	if ((rc = mp_jdoc_parse(&d, c->base, "trainer", err)) == 0) {
		root = mp_jdoc_root(d);
		c->base_threads = mp_jnode_get(d, root, "threads") || mp_jnode_get(d, root, "step_threads");
		c->base_input_threads = mp_jnode_get(d, root, "input_threads") != NULL;
		c->base_prefetch = mp_jnode_get(d, root, "prefetch") != NULL;
		mp_jdoc_free(d);
		d = NULL;
	}
	f->mse = !strcmp(kv_value(kv, n, "loss"), "mse");
	f->scores_on_eval = !strcmp(kv_value(kv, n, "validation_split"), "eval");
	f->budget = atoi(kv_value(kv, n, "epochs"));
	if (rc == 0 && (rc = mp_jdoc_parse(&d, kv_value(kv, n, "model"), "model", err)) == 0 &&
	    (gbdt = mp_jnode_get(d, mp_jdoc_root(d), "gbdt"))) {
		c->gbdt = 1;
		rounds = mp_jnode_get(d, gbdt, "rounds");
		f->budget = rounds && mp_jnode_str(rounds) ? atoi(mp_jnode_str(rounds)) : 100;
	}
	mp_jdoc_free(d);
	mp_hp_params_free(kv, n);
	return rc;
}

static int parse_halving(const mp_component_io *io, mp__tune_config *c, const base_facts *f, mp_err *err)
{
	int lo = 1, hi = f->budget, k;
	const mp_jnode *v;
	mp_jdoc *d;
	size_t i;
	int rc;

	c->reduction = 3;
	if ((rc = mp_jdoc_parse(&d, mp_io_param(io, "halving"), "halving", err)) != 0)
		return rc;
	if ((v = mp_jnode_get(d, mp_jdoc_root(d), "min_budget")) && mp_jnode_str(v))
		lo = atoi(mp_jnode_str(v));
	if ((v = mp_jnode_get(d, mp_jdoc_root(d), "max_budget")) && mp_jnode_str(v))
		hi = atoi(mp_jnode_str(v));
	if ((v = mp_jnode_get(d, mp_jdoc_root(d), "reduction")) && mp_jnode_str(v))
		c->reduction = atoi(mp_jnode_str(v));
	mp_jdoc_free(d);
	if (c->strategy != MP_TUNE_HALVING)
		return 0;
	if (lo > hi)
		return mp_error(err, MP_EINVAL, "halving: min_budget %d is above max_budget %d (the %s)", lo, hi,
				c->gbdt ? "boosting rounds" : "epochs");
	for (i = 0; i < c->space.n; i++)
		if (!strcmp(c->space.d[i].path, c->budget_path))
			return mp_error(err, MP_EINVAL, "search: %s is the halving budget: it cannot be searched too",
					c->budget_path);
	c->nrungs = mp__tune_rungs(lo, hi, c->reduction, c->budgets);
	for (k = 0; k < c->nrungs; k++)
		if (c->budgets[k] < 1)
			return mp_error(err, MP_EINVAL, "halving: a budget below 1");
	return 0;
}

static int check_strategy(mp__tune_config *c, mp_err *err)
{
	uint64_t size = mp__tune_grid_size(&c->space);
	size_t i;

	if (c->strategy != MP_TUNE_GRID) {
		if (!c->trials)
			c->trials = 10;
		return 0;
	}
	for (i = 0; !size && i < c->space.n; i++)
		if (!mp_hp_domain_size(&c->space.d[i]))
			return mp_error(err, MP_EINVAL, "search: grid search takes choice or int domains, and %s is "
					"continuous", c->space.d[i].path);
	if (size > 10000)
		return mp_error(err, MP_EINVAL, "search: the grid has more than 10000 combinations, the most trials "
				"a search takes");
	if (c->trials && (uint64_t)c->trials < size)
		return mp_error(err, MP_EINVAL, "trials: %d is fewer than the grid's %llu combinations (0 runs them "
				"all)", c->trials, (unsigned long long)size);
	c->trials = (int)size;
	return 0;
}

int mp__tune_config_parse(const mp_component_io *io, mp__tune_config *c, mp_err *err)
{
	const char *dir = mp_io_param(io, "direction");
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	base_facts f = {0};
	int k, rc;

	memset(c, 0, sizeof(*c));
	c->base = mp_io_param(io, "trainer");
	c->objective = mp_io_param(io, "objective");
	c->trials = atoi(mp_io_param(io, "trials"));
	c->parallel = atoi(mp_io_param(io, "parallel"));
	c->trial_threads = atoi(mp_io_param(io, "trial_threads"));
	c->seed = strtoull(mp_io_param(io, "seed"), NULL, 10);
	if (!c->trial_threads)
		c->trial_threads = cores / c->parallel > 1 ? (int)(cores / c->parallel) : 1;
	if (mp_name_lookup(strategies, MP_COUNTOF(strategies), mp_io_param(io, "strategy"), "strategy", &k, err) != 0)
		return err->code;
	c->strategy = (mp_tune_strategy)k;
	c->maximize = !strcmp(dir, "maximize") || (!strcmp(dir, "auto") && strstr(c->objective, "accuracy"));
	if ((rc = mp_hp_space_parse(&c->space, mp_io_param(io, "search"), err)) != 0 ||
	    (rc = read_base(c, &f, err)) != 0)
		return rc;
	c->budget_path = c->gbdt ? "model.gbdt.rounds" : "epochs";
	if (f.scores_on_eval)
		return mp_error(err, MP_EINVAL, "trainer: validation_split 'eval' is the split the Evaluator reports on: "
				"the trials would be chosen on it (leave validation_split out: 10%% of train is held out)");
	if (f.mse && strstr(c->objective, "accuracy"))
		return mp_error(err, MP_EINVAL, "objective: %s needs a classifier, and the Trainer's loss is mse",
				c->objective);
	if ((rc = parse_halving(io, c, &f, err)) != 0)
		return rc;
	return check_strategy(c, err);
}

size_t mp__tune_share_cores(const mp__tune_config *c, const char **paths, const char **values, char buf[24])
{
	size_t k = 0;

	snprintf(buf, 24, "%d", c->trial_threads);
	if (!c->base_threads && c->gbdt) {
		paths[k] = "threads", values[k++] = buf;
	} else if (!c->base_threads) {
		paths[k] = "step_threads", values[k++] = buf;
		paths[k] = "threads", values[k++] = "1";
	}
	/* fewer threads than cores: the input pipeline's run in the step's */
	if (c->trial_threads < sysconf(_SC_NPROCESSORS_ONLN)) {
		if (!c->base_input_threads)
			paths[k] = "input_threads", values[k++] = "0";
		if (!c->base_prefetch)
			paths[k] = "prefetch", values[k++] = "0";
	}
	return k;
}

/* The Trainer's check of the base with every domain at one end (u 0: the
 * first choice, lo; u 1: the last, hi). */
static int check_end(const mp__tune_config *c, double u, mp_err *err)
{
	char **values = mp_calloc(c->space.n, sizeof(char *));
	const char **paths = mp_calloc(c->space.n, sizeof(char *));
	mp_component_io tio = {0};
	mp_strbuf what = MP_STRBUF_INIT;
	mp_kv *kv = NULL;
	size_t i, n = 0;
	int rc = 0;

	if (!values || !paths)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; rc == 0 && i < c->space.n; i++) {
		paths[i] = c->space.d[i].path;
		if (!(values[i] = mp_hp_domain_value(&c->space.d[i], u)))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			mp_strbuf_addf(&what, "%s%s = %s", i ? ", " : "", paths[i], values[i]);
	}
	if (rc == 0 && (rc = mp_hp_params(&mp_trainer_component, c->base, paths, (const char *const *)values,
					  c->space.n, &kv, &n, err)) != 0)
		rc = mp_error_wrap(err, "search");
	tio.params = kv;
	tio.nparams = n;
	if (rc == 0 && (rc = mp_trainer_component.check(&tio, err)) != 0)
		rc = mp_error_wrap(err, "search: with %s", mp_strbuf_str(&what));
	mp_hp_params_free(kv, n);
	mp_strbuf_release(&what);
	for (i = 0; values && i < c->space.n; i++)
		free(values[i]);
	free(values);
	free(paths);
	return rc;
}

int mp__tune_check(const mp_component_io *io, mp_err *err)
{
	mp__tune_config c;
	mp_component_io tio = {0};
	mp_kv *kv = NULL;
	size_t n = 0;
	int rc;

	if ((rc = mp__tune_config_parse(io, &c, err)) == 0 &&
	    (rc = mp_hp_params(&mp_trainer_component, c.base, NULL, NULL, 0, &kv, &n, err)) == 0) {
		tio.params = kv;
		tio.nparams = n;
		if ((rc = mp_trainer_component.check(&tio, err)) != 0)
			rc = mp_error_wrap(err, "trainer");
	}
	mp_hp_params_free(kv, n);
	if (rc == 0)
		rc = check_end(&c, 0, err);
	if (rc == 0)
		rc = check_end(&c, 1, err);
	mp__tune_config_release(&c);
	return rc;
}
