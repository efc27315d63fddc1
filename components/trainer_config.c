/* The Trainer's structured params (see trainer.h).  The pipeline loader
 * has checked their shapes; this reads them and checks the rest. */
#include "components/trainer.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* key of map n as a number in [lo, hi] into *out: 0, 1 when absent (*out
 * keeps its default), or MP_EINVAL naming what. */
static int num_of(const mp_jdoc *d, const mp_jnode *n, const char *key, double lo, double hi, double *out,
		  const char *what, mp_err *err)
{
	const mp_jnode *v = mp_jnode_get(d, n, key);
	const char *s = mp_jnode_str(v);

	if (!v)
		return 1; /* absent: keep the default */
	if (!s || mp_parse_double(s, lo, hi, out, key, err) != 0)
		return mp_error(err, MP_EINVAL, "%s: '%s' must be a number in [%g, %g]", what, key, lo, hi);
	return 0;
}

/* A name of table t, with what it is for the message ("model: layer 2:
 * unknown activation 'x'"); def when absent. */
static int name_of(const char *s, const mp_name *t, size_t n, int def, const char *where, const char *what,
		   int *out, mp_err *err)
{
	if (!s) {
		*out = def;
		return 0;
	}
	if (mp_name_lookup(t, n, s, what, out, err) != 0)
		return mp_error_wrap(err, "%s", where);
	return 0;
}

static const char *const layer_keys[] = {"dense", "conv", "pool", "flatten", "kernel", "stride",
					 "padding", "activation", "dropout", "init"};

/* key of layer l as a whole number in [lo, hi] into *out (def when absent). */
static int whole_key(const mp_jdoc *d, const mp_jnode *l, const char *key, double lo, double hi, int def, int *out,
		     const char *where, mp_err *err)
{
	double v = def;
	int rc;

	if ((rc = num_of(d, l, key, lo, hi, &v, where, err)) < 0)
		return rc;
	if (v != floor(v))
		return mp_error(err, MP_EINVAL, "%s: '%s' must be a whole number", where, key);
	*out = (int)v;
	return 0;
}

/* Which of dense, conv, pool and flatten the layer is, and the keys only
 * some kinds take given to another. */
static int layer_kind(const mp_jdoc *d, const mp_jnode *l, const char *where, mp_layer_kind *kind, mp_err *err)
{
	static const char *const kinds[] = {"dense", "conv", "pool", "flatten"};
	int k, n = 0;

	for (k = 0; k < 4; k++)
		if (mp_jnode_get(d, l, kinds[k])) {
			*kind = (mp_layer_kind)k;
			n++;
		}
	if (n != 1)
		return mp_error(err, MP_EINVAL, "%s needs one of 'dense: UNITS', 'conv: FILTERS', 'pool: SIZE' or "
				"'flatten: true'", where);
	if (*kind != MP_LAYER_CONV)
		for (k = 0; k < 3; k++)
			if (mp_jnode_get(d, l, (const char *[]){"kernel", "stride", "padding"}[k]))
				return mp_error(err, MP_EINVAL, "%s: '%s' is for conv layers", where,
						(const char *[]){"kernel", "stride", "padding"}[k]);
	if ((*kind == MP_LAYER_POOL || *kind == MP_LAYER_FLATTEN) &&
	    (mp_jnode_get(d, l, "activation") || mp_jnode_get(d, l, "dropout") || mp_jnode_get(d, l, "init")))
		return mp_error(err, MP_EINVAL, "%s: a %s takes no activation, dropout or init", where, kinds[*kind]);
	return 0;
}

/* A conv's filters, kernel, stride and padding; a pool's size. */
static int image_layer(const mp_jdoc *d, const mp_jnode *l, const char *where, mp_layer_spec *ls, mp_err *err)
{
	const char *pad = mp_jnode_str(mp_jnode_get(d, l, "padding"));
	int rc;

	if (ls->kind == MP_LAYER_POOL)
		return whole_key(d, l, "pool", 1, 1024, 2, &ls->kernel, where, err);
	if ((rc = whole_key(d, l, "conv", 1, 65536, 0, &ls->filters, where, err)) != 0 ||
	    (rc = whole_key(d, l, "kernel", 1, 1024, 3, &ls->kernel, where, err)) != 0 ||
	    (rc = whole_key(d, l, "stride", 1, 1024, 1, &ls->stride, where, err)) != 0)
		return rc;
	if (pad && strcmp(pad, "same") && strcmp(pad, "valid"))
		return mp_error(err, MP_EINVAL, "%s: padding '%s' is not same or valid", where, pad);
	ls->same = pad && !strcmp(pad, "same");
	return 0;
}

/* Layer i (from 0) of the model's list. */
static int parse_layer(const mp_jdoc *d, const mp_jnode *l, size_t i, int last, mp__train_config *c, mp_err *err)
{
	mp_layer_spec *ls = &c->layers[i];
	const char *units = mp_jnode_str(mp_jnode_get(d, l, "dense"));
	char where[64];
	double v;
	size_t k;
	int rc, e;

	snprintf(where, sizeof(where), "model: layer %zu", i + 1);
	for (k = 0; mp_jnode_is_map(l) && k < mp_jnode_len(l); k++) {
		const char *key = mp_jnode_key(d, l, k);

		for (e = 0; e < (int)MP_COUNTOF(layer_keys) && strcmp(layer_keys[e], key); e++)
			;
		if (e == (int)MP_COUNTOF(layer_keys)) {
			mp_unknown(err, "key", key, layer_keys, MP_COUNTOF(layer_keys), sizeof(*layer_keys));
			return mp_error_wrap(err, "%s", where);
		}
	}
	if ((rc = layer_kind(d, l, where, &ls->kind, err)) != 0)
		return rc;
	if (ls->kind == MP_LAYER_DENSE) {
		if (!strcmp(units, "auto") && last)
			c->auto_last = 1;
		else if (mp_parse_double(units, 1, 1e6, &v, "dense", err) != 0 || v != floor(v))
			return mp_error(err, MP_EINVAL, "%s: 'dense' must be a positive whole number%s", where,
					last ? " or auto" : "");
		else
			ls->units = (int)v;
	} else if (ls->kind != MP_LAYER_FLATTEN && (rc = image_layer(d, l, where, ls, err)) != 0) {
		return rc;
	}
	if ((rc = name_of(mp_jnode_str(mp_jnode_get(d, l, "activation")), mp_act_names, mp_nact_names, MP_ACT_NONE,
			  where, "activation", &e, err)) != 0)
		return rc;
	ls->act = (mp_act)e;
	if ((rc = name_of(mp_jnode_str(mp_jnode_get(d, l, "init")), mp_init_names, mp_ninit_names, MP_INIT_AUTO,
			  where, "init", &e, err)) != 0)
		return rc;
	ls->init = (mp_init)e;
	v = 0;
	if ((rc = num_of(d, l, "dropout", 0, 0.95, &v, "model", err)) < 0)
		return rc;
	ls->dropout = (float)v;
	return 0;
}

/* model: {gbdt: {...}}: XGBoost's defaults, but 100 rounds (scikit-learn's) */
static int parse_gbdt(const mp_jdoc *d, const mp_jnode *g, mp__train_config *c, mp_err *err)
{
	static const struct {
		const char *key;
		double lo, hi, def;
		int whole;
		size_t off;
	} keys[] = {
		{"rounds", 1, 100000, 100, 1, offsetof(mp_gbdt_params, rounds)},
		{"max_depth", 1, 64, 6, 1, offsetof(mp_gbdt_params, max_depth)},
		{"eta", 1e-6, 1, 0.3, 0, offsetof(mp_gbdt_params, eta)},
		{"subsample", 1e-6, 1, 1, 0, offsetof(mp_gbdt_params, subsample)},
		{"colsample", 1e-6, 1, 1, 0, offsetof(mp_gbdt_params, colsample)},
		{"min_child_weight", 0, 1e9, 1, 0, offsetof(mp_gbdt_params, min_child_weight)},
		{"lambda", 0, 1e9, 1, 0, offsetof(mp_gbdt_params, lambda)},
		{"alpha", 0, 1e9, 0, 0, offsetof(mp_gbdt_params, alpha)},
		{"gamma", 0, 1e9, 0, 0, offsetof(mp_gbdt_params, gamma)},
	};
	static const char *const methods[] = {"hist", "approx", "exact"};
	const char *method = mp_jnode_str(mp_jnode_get(d, g, "tree_method"));
	size_t k;
	int rc;

	c->gbdt = 1;
	for (k = 0; k < MP_COUNTOF(keys); k++) {
		double v = keys[k].def;
		char *at = (char *)&c->gp + keys[k].off;

		if ((rc = num_of(d, g, keys[k].key, keys[k].lo, keys[k].hi, &v, "model: gbdt", err)) < 0)
			return rc;
		if (keys[k].whole && v != floor(v))
			return mp_error(err, MP_EINVAL, "model: gbdt: '%s' must be a whole number", keys[k].key);
		if (keys[k].whole)
			*(int *)at = (int)v;
		else
			*(double *)at = v;
	}
	c->gp.tree_method = "hist";
	for (k = 0; method && k < MP_COUNTOF(methods); k++)
		if (!strcmp(method, methods[k]))
			c->gp.tree_method = methods[k];
	if (method && strcmp(method, c->gp.tree_method))
		return mp_error(err, MP_EINVAL, "model: gbdt: tree_method '%s' is not hist, approx or exact", method);
	return 0;
}

static int parse_model(const mp_jdoc *d, mp__train_config *c, mp_err *err)
{
	const mp_jnode *layers = mp_jnode_get(d, mp_jdoc_root(d), "layers");
	const mp_jnode *gbdt = mp_jnode_get(d, mp_jdoc_root(d), "gbdt");
	size_t i;
	int rc;

	if (gbdt && layers)
		return mp_error(err, MP_EINVAL, "model: 'layers' and 'gbdt' exclude each other: give one");
	if (gbdt)
		return parse_gbdt(d, gbdt, c, err);
	if (!mp_jnode_is_list(layers) || mp_jnode_len(layers) == 0)
		return mp_error(err, MP_EINVAL, "model: needs a non-empty 'layers' list");
	if (mp_jnode_len(layers) > MP_NET_MAX_LAYERS)
		return mp_error(err, MP_EINVAL, "model: more than %d layers", MP_NET_MAX_LAYERS);
	c->nlayers = (int)mp_jnode_len(layers);
	if (!(c->layers = mp_calloc((size_t)c->nlayers, sizeof(*c->layers))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < (size_t)c->nlayers; i++)
		if ((rc = parse_layer(d, mp_jnode_at(d, layers, i), i, i + 1 == (size_t)c->nlayers, c, err)) != 0)
			return rc;
	if (c->layers[c->nlayers - 1].act != MP_ACT_NONE)
		return mp_error(err, MP_EINVAL, "model: the last layer gives the logits and takes no activation");
	if ((rc = mp_net_check_stack(c->layers, c->nlayers, err)) != 0)
		return mp_error_wrap(err, "model");
	return 0;
}

static int parse_optimizer(const mp_jdoc *d, mp__train_config *c, mp_err *err)
{
	const mp_jnode *root = mp_jdoc_root(d);
	double v;
	int rc, k;

	if ((rc = name_of(mp_jnode_str(mp_jnode_get(d, root, "name")), mp_opt_names, mp_nopt_names, MP_OPT_ADAM,
			  "optimizer", "name", &k, err)) != 0)
		return rc;
	c->opt = (mp_opt_kind)k;
	v = 0.001;
	if ((rc = num_of(d, root, "lr", 1e-12, 1e6, &v, "optimizer", err)) < 0)
		return rc;
	c->lr = (float)v;
	v = c->opt == MP_OPT_ADAMW ? 0.01 : 0;
	if ((rc = num_of(d, root, "weight_decay", 0, 1e6, &v, "optimizer", err)) < 0)
		return rc;
	c->weight_decay = (float)v;
	v = 0.9;
	if ((rc = num_of(d, root, "momentum", 0, 0.9999, &v, "optimizer", err)) < 0)
		return rc;
	c->momentum = (float)v;
	v = 0.9;
	if ((rc = num_of(d, root, "beta1", 0, 0.9999, &v, "optimizer", err)) < 0)
		return rc;
	c->beta1 = (float)v;
	v = 0.999;
	if ((rc = num_of(d, root, "beta2", 0, 0.99999999, &v, "optimizer", err)) < 0)
		return rc;
	c->beta2 = (float)v;
	return 0;
}

static int parse_schedule(const mp_jdoc *d, mp__train_config *c, mp_err *err)
{
	const mp_jnode *root = mp_jdoc_root(d);
	double v;
	int rc, k;

	if ((rc = name_of(mp_jnode_str(mp_jnode_get(d, root, "name")), mp_sched_names, mp_nsched_names,
			  MP_SCHED_CONSTANT, "lr_schedule", "name", &k, err)) != 0)
		return rc;
	c->sched.kind = (mp_sched_kind)k;
	v = 0;
	if ((rc = num_of(d, root, "warmup_steps", 0, 1e12, &v, "lr_schedule", err)) < 0)
		return rc;
	c->sched.warmup_steps = (int64_t)v;
	v = 1000;
	if ((rc = num_of(d, root, "step_size", 1, 1e12, &v, "lr_schedule", err)) < 0)
		return rc;
	c->sched.step_size = (int64_t)v;
	v = 0.1;
	if ((rc = num_of(d, root, "gamma", 0, 1, &v, "lr_schedule", err)) < 0)
		return rc;
	c->sched.gamma = (float)v;
	return 0;
}

static int parse_early_stopping(const mp_jdoc *d, mp__train_config *c, mp_err *err)
{
	const mp_jnode *root = mp_jdoc_root(d);
	const char *s = mp_jnode_str(mp_jnode_get(d, root, "metric"));
	double v;
	int rc;

	if (mp_jnode_len(root) == 0)
		return 0;
	if (!s || !strcmp(s, "val_loss"))
		c->es_metric = 1;
	else if (!strcmp(s, "val_accuracy") && c->loss != MP_LOSS_MSE)
		c->es_metric = 2;
	else if (!strcmp(s, "val_accuracy"))
		return mp_error(err, MP_EINVAL, "early_stopping: a regression (loss mse) has no val_accuracy; use val_loss");
	else
		return mp_error(err, MP_EINVAL, "early_stopping: metric '%s' is not val_loss or val_accuracy", s);
	v = c->gbdt ? 10 : 3; /* epochs, or boosting rounds */
	if ((rc = num_of(d, root, "patience", 1, 1e6, &v, "early_stopping", err)) < 0)
		return rc;
	c->es_patience = (int)v;
	v = 0;
	if ((rc = num_of(d, root, "min_delta", 0, 1e9, &v, "early_stopping", err)) < 0)
		return rc;
	c->es_min_delta = v;
	return 0;
}

/* input_shape: [H, W, C]; with it, the layers are sized now, so a window
 * larger than its input is found when the pipeline file is loaded. */
static int parse_input_shape(const mp_component_io *io, mp__train_config *c, mp_err *err)
{
	mp_jdoc *d = NULL;
	const mp_jnode *r;
	int rc, k;

	if ((rc = mp_jdoc_parse(&d, mp_io_param(io, "input_shape"), "input_shape", err)) != 0)
		return rc;
	r = mp_jdoc_root(d);
	if (mp_jnode_len(r) != 0 && mp_jnode_len(r) != 3)
		rc = mp_error(err, MP_EINVAL, "input_shape: give [HEIGHT, WIDTH, CHANNELS]");
	for (k = 0; rc == 0 && mp_jnode_len(r) == 3 && k < 3; k++) {
		double v;

		if (mp_parse_double(mp_jnode_str(mp_jnode_at(d, r, (size_t)k)), 1, 65536, &v, "input_shape", err) != 0 ||
		    v != floor(v))
			rc = mp_error(err, MP_EINVAL, "input_shape: item %d is not a whole number from 1 to 65536", k + 1);
		c->shape[k] = (int)v;
	}
	mp_jdoc_free(d);
	if (rc == 0 && c->shape[0] && !c->gbdt) {
		mp_layer_spec tmp[MP_NET_MAX_LAYERS];
		int64_t nin = (int64_t)c->shape[0] * c->shape[1] * c->shape[2];

		if (nin > MP_NET_MAX_UNITS)
			return mp_error(err, MP_EINVAL, "input_shape: more than %d inputs", MP_NET_MAX_UNITS);
		memcpy(tmp, c->layers, (size_t)c->nlayers * sizeof(*tmp));
		if (c->auto_last)
			tmp[c->nlayers - 1].units = 2;
		if (mp_net_plan((int)nin, c->shape, tmp, c->nlayers, err) != 0)
			return mp_error_wrap(err, "model");
	}
	return rc;
}

int mp__train_config_parse(const mp_component_io *io, mp__train_config *c, mp_err *err)
{
	static const struct {
		const char *param;
		int (*parse)(const mp_jdoc *d, mp__train_config *c, mp_err *err);
	} parts[] = {
		{"model", parse_model},
		{"optimizer", parse_optimizer},
		{"lr_schedule", parse_schedule},
		{"early_stopping", parse_early_stopping},
	};
	size_t i;
	int rc = 0, k;

	memset(c, 0, sizeof(*c));
	if ((rc = name_of(mp_io_param(io, "loss"), mp_loss_names, mp_nloss_names, MP_LOSS_SOFTMAX_CE, "loss", "loss",
			  &k, err)) != 0)
		return rc;
	c->loss = (mp_loss)k;
	for (i = 0; i < MP_COUNTOF(parts) && rc == 0; i++) {
		mp_jdoc *d = NULL;

		if ((rc = mp_jdoc_parse(&d, mp_io_param(io, parts[i].param), parts[i].param, err)) == 0)
			rc = parts[i].parse(d, c, err);
		mp_jdoc_free(d);
	}
	if (rc == 0)
		rc = parse_input_shape(io, c, err);
	if (rc != 0) {
		free(c->layers);
		c->layers = NULL;
	}
	return rc;
}

int mp__train_transform_classes(const mp__trainer *T)
{
	return T->tx_text ? (int)(T->tx.nlabel_vocab ? T->tx.nlabel_vocab : T->tx.nlabel_names) : 0;
}
