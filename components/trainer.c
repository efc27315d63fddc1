/* Trainer: a dense network defined in the pipeline file, trained on
 * (transformed) examples fed through the input pipeline, with per-epoch
 * metrics, checkpoints, early stopping and warm starts.  The model file it
 * writes carries the transform, so prediction applies the same arithmetic.
 *
 *   model: { layers: [ {dense: 128, activation: relu}, {dense: auto} ] }
 *   loss: softmax_cross_entropy          (binary_cross_entropy, mse)
 *   optimizer: {name: adam, lr: 0.001}   (sgd, momentum, adamw; weight_decay, momentum)
 *   lr_schedule: {name: constant}        (step: step_size, gamma; cosine; warmup_steps)
 *   batch_size: 64, epochs: 10, seed: 42
 *   early_stopping: {metric: val_loss, patience: 3}
 */
#include "components/component.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tsv.h"
#include "data/examples.h"
#include "data/dataset.h"
#include "data/transform.h"
#include "nn/nn.h"

static const mp_io_spec inputs[] = {
	{"examples", "Examples", 0, "numeric examples with a label (Transform's output)"},
	{"transform", "TransformGraph", 1, "the transform they went through; stored inside the model"},
	{"base_model", "Model", 1,
	 "a model to start from (warm start), of the same architecture; with warm_start, the last pushed model "
	 "when not wired"},
};

static const mp_io_spec outputs[] = {
	{"model", "Model", 0, "model.mlpm: architecture, transform, weights, checksum"},
};

/* The shapes of the structured params, which the pipeline loader checks
 * (parse_config below reads them, and checks what shapes cannot say). */
static const mp_shape s_units = {MP_SHAPE_INT, 1, 1e6, "auto", NULL, NULL, NULL, NULL, 0};
static const mp_shape s_activation = {MP_SHAPE_STRING, 0, 0, "relu|tanh|sigmoid|none|linear", NULL, NULL, NULL, NULL, 0};
static const mp_shape s_dropout = {MP_SHAPE_NUMBER, 0, 0.95, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape s_init = {MP_SHAPE_STRING, 0, 0, "he|glorot", NULL, NULL, NULL, NULL, 0};
static const mp_shape_key layer_keys[] = {
	{"dense", &s_units, 1},
	{"activation", &s_activation, 0},
	{"dropout", &s_dropout, 0},
	{"init", &s_init, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_layer = {MP_SHAPE_MAP, 0, 0, NULL, layer_keys, NULL, NULL, NULL, 0};
static const mp_shape s_layers = {MP_SHAPE_LIST, 0, 0, NULL, NULL, &s_layer, NULL, NULL, 1};
static const mp_shape_key model_keys[] = {{"layers", &s_layers, 1}, {NULL, NULL, 0}};
static const mp_shape s_model = {MP_SHAPE_MAP, 0, 0, NULL, model_keys, NULL, NULL, NULL, 0};

static const mp_shape s_opt_name = {MP_SHAPE_STRING, 0, 0, "sgd|momentum|adam|adamw", NULL, NULL, NULL, NULL, 0};
static const mp_shape s_lr = {MP_SHAPE_NUMBER, 1e-12, 1e6, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape s_decay = {MP_SHAPE_NUMBER, 0, 1e6, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape s_beta = {MP_SHAPE_NUMBER, 0, 0.9999, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape s_beta2 = {MP_SHAPE_NUMBER, 0, 0.99999999, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape_key opt_keys[] = {
	{"name", &s_opt_name, 0},
	{"lr", &s_lr, 0},
	{"weight_decay", &s_decay, 0},
	{"momentum", &s_beta, 0},
	{"beta1", &s_beta, 0},
	{"beta2", &s_beta2, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_optimizer = {MP_SHAPE_MAP, 0, 0, NULL, opt_keys, NULL, NULL, NULL, 0};

static const mp_shape s_sched_name = {MP_SHAPE_STRING, 0, 0, "constant|step|cosine", NULL, NULL, NULL, NULL, 0};
static const mp_shape s_steps0 = {MP_SHAPE_INT, 0, 1e12, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape s_steps1 = {MP_SHAPE_INT, 1, 1e12, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape s_gamma = {MP_SHAPE_NUMBER, 0, 1, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape_key sched_keys[] = {
	{"name", &s_sched_name, 0},
	{"warmup_steps", &s_steps0, 0},
	{"step_size", &s_steps1, 0},
	{"gamma", &s_gamma, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_schedule = {MP_SHAPE_MAP, 0, 0, NULL, sched_keys, NULL, NULL, NULL, 0};

static const mp_shape s_es_metric = {MP_SHAPE_STRING, 0, 0, "val_loss|val_accuracy", NULL, NULL, NULL, NULL, 0};
static const mp_shape s_patience = {MP_SHAPE_INT, 1, 1e6, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape s_min_delta = {MP_SHAPE_NUMBER, 0, 1e9, NULL, NULL, NULL, NULL, NULL, 0};
static const mp_shape_key es_keys[] = {
	{"metric", &s_es_metric, 0},
	{"patience", &s_patience, 0},
	{"min_delta", &s_min_delta, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_early_stopping = {MP_SHAPE_MAP, 0, 0, NULL, es_keys, NULL, NULL, NULL, 0};

static const mp_param_spec params[] = {
	{"model", MP_PARAM_JSON, "{\"layers\":[{\"dense\":128,\"activation\":\"relu\"},{\"dense\":\"auto\"}]}", 0, 0,
	 "the network: {layers: [{dense: UNITS, activation: relu|tanh|sigmoid, dropout: P, init: he|glorot}, ...]}; "
	 "the last layer gives the logits, and 'auto' units fit the label", NULL, &s_model},
	{"loss", MP_PARAM_STRING, "softmax_cross_entropy", 0, 0, "softmax_cross_entropy, binary_cross_entropy or mse",
	 "softmax_cross_entropy|binary_cross_entropy|mse", NULL},
	{"optimizer", MP_PARAM_JSON, "{\"name\":\"adam\",\"lr\":0.001}", 0, 0,
	 "{name: sgd|momentum|adam|adamw, lr, weight_decay, momentum, beta1, beta2}", NULL, &s_optimizer},
	{"lr_schedule", MP_PARAM_JSON, "{\"name\":\"constant\"}", 0, 0,
	 "{name: constant|step|cosine, warmup_steps, step_size, gamma}", NULL, &s_schedule},
	{"batch_size", MP_PARAM_INT, "64", 1, 65536, "examples per step", NULL, NULL},
	{"epochs", MP_PARAM_INT, "10", 1, 100000, "passes over the training split", NULL, NULL},
	{"seed", MP_PARAM_INT, "42", 0, 9.2e18, "for the weights, dropout and the shuffle order", NULL, NULL},
	{"early_stopping", MP_PARAM_JSON, "{}", 0, 0,
	 "{metric: val_loss|val_accuracy, patience: N, min_delta: D}; the best weights are kept", NULL,
	 &s_early_stopping},
	{"threads", MP_PARAM_INT, "0", 0, 256,
	 "OpenBLAS threads; 0: one per core, less the cores the input pipeline's map threads use", NULL, NULL},
	{"input_threads", MP_PARAM_INT, "1", 0, 64,
	 "the input pipeline's map threads (decompress, decode, transform); 0: in the prefetch thread", NULL, NULL},
	{"shuffle_buffer", MP_PARAM_INT, "10000", 0, 1e8,
	 "examples in the shuffle buffer (0: no shuffling); with the cache, any value above 1 shuffles fully", NULL, NULL},
	{"cache", MP_PARAM_BOOL, "true", 0, 0,
	 "decode the training split once and keep it in memory (fast; as large as the split in float32)", NULL, NULL},
	{"warm_start", MP_PARAM_BOOL, "false", 0, 0,
	 "start from the weights of the model this pipeline pushed last (found in the metadata store), when "
	 "base_model is not wired and that model has this architecture; otherwise from fresh weights", NULL, NULL},
	{"apply_transform", MP_PARAM_BOOL, "false", 0, 0,
	 "the examples are raw: apply the 'transform' input to each batch on the input pipeline's map "
	 "thread (a small memory footprint; pair with cache: false)", NULL, NULL},
	{"prefetch", MP_PARAM_INT, "4", 0, 1024, "batches prepared ahead by the input pipeline's thread", NULL, NULL},
	{"checkpoint_every", MP_PARAM_INT, "1", 0, 100000, "epochs between checkpoints (0: none)", NULL, NULL},
	{"train_split", MP_PARAM_STRING, "train", 0, 0, "the split to train on", NULL, NULL},
	{"validation_split", MP_PARAM_STRING, "validation", 0, 0,
	 "the split measured after each epoch (val_loss, val_accuracy) and by early stopping; never the split the "
	 "Evaluator reports on", NULL, NULL},
	{"validation_fraction", MP_PARAM_FLOAT, "0.1", 0, 0.5,
	 "when the examples have no validation_split: this part of the training split (chosen by a hash of each "
	 "example, the same on every run) is held out to validate on; 0: no validation", NULL, NULL},
};

typedef struct config {
	mp_layer_spec *layers;
	int nlayers;
	int auto_last;
	mp_loss loss;
	mp_opt_kind opt;
	float lr, weight_decay, momentum, beta1, beta2;
	mp_schedule sched;
	int es_metric; /* 0: none, 1: val_loss, 2: val_accuracy */
	int es_patience;
	double es_min_delta;
} config;

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

static int parse_config(const mp_component_io *io, config *c, mp_err *err)
{
	mp_jdoc *d = NULL;
	const mp_jnode *root, *layers;
	const char *s;
	double v;
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	s = mp_io_param(io, "loss");
	if (!strcmp(s, "softmax_cross_entropy"))
		c->loss = MP_LOSS_SOFTMAX_CE;
	else if (!strcmp(s, "binary_cross_entropy"))
		c->loss = MP_LOSS_BCE;
	else if (!strcmp(s, "mse"))
		c->loss = MP_LOSS_MSE;
	else
		return mp_error(err, MP_EINVAL, "loss: '%s' is not softmax_cross_entropy, binary_cross_entropy or mse", s);

	/* the model */
	if ((rc = mp_jdoc_parse(&d, mp_io_param(io, "model"), "model", err)) != 0)
		return rc;
	root = mp_jdoc_root(d);
	layers = mp_jnode_get(d, root, "layers");
	if (!mp_jnode_is_list(layers) || mp_jnode_len(layers) == 0) {
		mp_jdoc_free(d);
		return mp_error(err, MP_EINVAL, "model: needs a non-empty 'layers' list");
	}
	c->nlayers = (int)mp_jnode_len(layers);
	if (!(c->layers = mp_calloc((size_t)c->nlayers, sizeof(*c->layers)))) {
		mp_jdoc_free(d);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < (size_t)c->nlayers; i++) {
		const mp_jnode *l = mp_jnode_at(d, layers, i);
		const char *units = mp_jnode_str(mp_jnode_get(d, l, "dense"));
		const char *act = mp_jnode_str(mp_jnode_get(d, l, "activation"));
		const char *init = mp_jnode_str(mp_jnode_get(d, l, "init"));
		size_t k;

		for (k = 0; mp_jnode_is_map(l) && k < mp_jnode_len(l); k++) {
			const char *key = mp_jnode_key(d, l, k);

			if (strcmp(key, "dense") && strcmp(key, "activation") && strcmp(key, "dropout") && strcmp(key, "init")) {
				rc = mp_error(err, MP_EINVAL, "model: layer %zu: unknown key '%s' (dense, activation, dropout, init)",
					      i + 1, key);
				goto out;
			}
		}
		if (!units) {
			rc = mp_error(err, MP_EINVAL, "model: layer %zu needs 'dense: UNITS'", i + 1);
			goto out;
		}
		if (!strcmp(units, "auto") && i + 1 == (size_t)c->nlayers) {
			c->auto_last = 1;
		} else if (mp_parse_double(units, 1, 1e6, &v, "dense", err) != 0 || v != floor(v)) {
			rc = mp_error(err, MP_EINVAL, "model: layer %zu: 'dense' must be a positive whole number%s", i + 1,
				      i + 1 == (size_t)c->nlayers ? " or auto" : "");
			goto out;
		} else {
			c->layers[i].units = (int)v;
		}
		if (!act || !strcmp(act, "none") || !strcmp(act, "linear"))
			c->layers[i].act = MP_ACT_NONE;
		else if (!strcmp(act, "relu"))
			c->layers[i].act = MP_ACT_RELU;
		else if (!strcmp(act, "tanh"))
			c->layers[i].act = MP_ACT_TANH;
		else if (!strcmp(act, "sigmoid"))
			c->layers[i].act = MP_ACT_SIGMOID;
		else {
			rc = mp_error(err, MP_EINVAL, "model: layer %zu: unknown activation '%s' (relu, tanh, sigmoid, none)",
				      i + 1, act);
			goto out;
		}
		if (!init)
			c->layers[i].init = MP_INIT_AUTO;
		else if (!strcmp(init, "he"))
			c->layers[i].init = MP_INIT_HE;
		else if (!strcmp(init, "glorot"))
			c->layers[i].init = MP_INIT_GLOROT;
		else {
			rc = mp_error(err, MP_EINVAL, "model: layer %zu: unknown init '%s' (he, glorot)", i + 1, init);
			goto out;
		}
		v = 0;
		if ((rc = num_of(d, l, "dropout", 0, 0.95, &v, "model", err)) < 0)
			goto out;
		c->layers[i].dropout = (float)v;
	}
	if (c->layers[c->nlayers - 1].act != MP_ACT_NONE) {
		rc = mp_error(err, MP_EINVAL, "model: the last layer gives the logits and takes no activation");
		goto out;
	}
	mp_jdoc_free(d);
	d = NULL;

	/* the optimizer */
	if ((rc = mp_jdoc_parse(&d, mp_io_param(io, "optimizer"), "optimizer", err)) != 0)
		goto out;
	root = mp_jdoc_root(d);
	s = mp_jnode_str(mp_jnode_get(d, root, "name"));
	if (!s || !strcmp(s, "adam"))
		c->opt = MP_OPT_ADAM;
	else if (!strcmp(s, "adamw"))
		c->opt = MP_OPT_ADAMW;
	else if (!strcmp(s, "sgd"))
		c->opt = MP_OPT_SGD;
	else if (!strcmp(s, "momentum"))
		c->opt = MP_OPT_MOMENTUM;
	else {
		rc = mp_error(err, MP_EINVAL, "optimizer: unknown name '%s' (sgd, momentum, adam, adamw)", s);
		goto out;
	}
	v = 0.001;
	if ((rc = num_of(d, root, "lr", 1e-12, 1e6, &v, "optimizer", err)) < 0)
		goto out;
	c->lr = (float)v;
	v = c->opt == MP_OPT_ADAMW ? 0.01 : 0;
	if ((rc = num_of(d, root, "weight_decay", 0, 1e6, &v, "optimizer", err)) < 0)
		goto out;
	c->weight_decay = (float)v;
	v = 0.9;
	if ((rc = num_of(d, root, "momentum", 0, 0.9999, &v, "optimizer", err)) < 0)
		goto out;
	c->momentum = (float)v;
	v = 0.9;
	if ((rc = num_of(d, root, "beta1", 0, 0.9999, &v, "optimizer", err)) < 0)
		goto out;
	c->beta1 = (float)v;
	v = 0.999;
	if ((rc = num_of(d, root, "beta2", 0, 0.99999999, &v, "optimizer", err)) < 0)
		goto out;
	c->beta2 = (float)v;
	mp_jdoc_free(d);
	d = NULL;

	/* the schedule */
	if ((rc = mp_jdoc_parse(&d, mp_io_param(io, "lr_schedule"), "lr_schedule", err)) != 0)
		goto out;
	root = mp_jdoc_root(d);
	s = mp_jnode_str(mp_jnode_get(d, root, "name"));
	if (!s || !strcmp(s, "constant"))
		c->sched.kind = MP_SCHED_CONSTANT;
	else if (!strcmp(s, "step"))
		c->sched.kind = MP_SCHED_STEP;
	else if (!strcmp(s, "cosine"))
		c->sched.kind = MP_SCHED_COSINE;
	else {
		rc = mp_error(err, MP_EINVAL, "lr_schedule: unknown name '%s' (constant, step, cosine)", s);
		goto out;
	}
	v = 0;
	if ((rc = num_of(d, root, "warmup_steps", 0, 1e12, &v, "lr_schedule", err)) < 0)
		goto out;
	c->sched.warmup_steps = (int64_t)v;
	v = 1000;
	if ((rc = num_of(d, root, "step_size", 1, 1e12, &v, "lr_schedule", err)) < 0)
		goto out;
	c->sched.step_size = (int64_t)v;
	v = 0.1;
	if ((rc = num_of(d, root, "gamma", 0, 1, &v, "lr_schedule", err)) < 0)
		goto out;
	c->sched.gamma = (float)v;
	mp_jdoc_free(d);
	d = NULL;

	/* early stopping */
	if ((rc = mp_jdoc_parse(&d, mp_io_param(io, "early_stopping"), "early_stopping", err)) != 0)
		goto out;
	root = mp_jdoc_root(d);
	s = mp_jnode_str(mp_jnode_get(d, root, "metric"));
	if (mp_jnode_len(root) > 0) {
		if (!s || !strcmp(s, "val_loss"))
			c->es_metric = 1;
		else if (!strcmp(s, "val_accuracy") && c->loss != MP_LOSS_MSE)
			c->es_metric = 2;
		else if (!strcmp(s, "val_accuracy")) {
			rc = mp_error(err, MP_EINVAL, "early_stopping: a regression (loss mse) has no val_accuracy; use val_loss");
			goto out;
		} else {
			rc = mp_error(err, MP_EINVAL, "early_stopping: metric '%s' is not val_loss or val_accuracy", s);
			goto out;
		}
		v = 3;
		if ((rc = num_of(d, root, "patience", 1, 1e6, &v, "early_stopping", err)) < 0)
			goto out;
		c->es_patience = (int)v;
		v = 0;
		if ((rc = num_of(d, root, "min_delta", 0, 1e9, &v, "early_stopping", err)) < 0)
			goto out;
		c->es_min_delta = v;
	}
	rc = 0;
out:
	mp_jdoc_free(d);
	if (rc != 0) {
		free(c->layers);
		c->layers = NULL;
	}
	return rc < 0 ? rc : 0;
}

/* The progress line on a terminal. */
static void progress(int epoch, int epochs, int64_t done, int64_t total, double rate, double eta)
{
	int width = 30, fill = total ? (int)(width * done / total) : width, i;
	char bar[64];

	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[width] = '\0';
	fprintf(stderr, "\r  epoch %d/%d [%s] %3d%%  %8.0f samples/s  ETA %3.0fs ", epoch, epochs, bar,
		total ? (int)(100 * done / total) : 100, rate, eta);
	fflush(stderr);
}

/* Mean loss and accuracy over the examples tmpl reads, without training. */
static int evaluate(mp_net *n, const mp_dataset_opts *tmpl, double *loss, double *acc, mp_err *err)
{
	mp_dataset_opts o = *tmpl;
	mp_dataset *d;
	const mp_batch *b;
	double total = 0;
	int64_t rows = 0, correct = 0;
	int rc;

	o.batch_size = (size_t)n->max_batch;
	o.drop_remainder = 0;
	o.shuffle_buffer = 0;
	o.epochs = 1;
	o.prefetch = 2;
	o.cache = 0;
	o.first_epoch = 0;
	if ((rc = mp_dataset_open(&d, &o, err)) != 0)
		return rc;
	while ((rc = mp_dataset_next(d, &b, err)) == 1) {
		double l;
		int c;

		mp_net_eval(n, b->x, b->y, (int)b->rows, &l, &c);
		total += l * (double)b->rows;
		correct += c;
		rows += (int64_t)b->rows;
	}
	mp_dataset_close(d);
	if (rc < 0)
		return rc;
	*loss = rows ? total / (double)rows : NAN;
	*acc = rows ? (double)correct / (double)rows : NAN;
	return 0;
}

/* A per-epoch metric: recorded, and kept in hist ("EPOCH NAME VALUE"
 * lines) so a training continued from a checkpoint reports every epoch. */
static int epoch_metric(mp_result *r, mp_strbuf *hist, const char *name, int epoch, double v)
{
	mp_strbuf_addf(hist, "%d\t%s\t%.17g\n", epoch, name, v);
	return hist->failed || mp_result_metric(r, name, epoch, v) != 0 ? MP_ENOMEM : 0;
}

/* The metrics of the epochs up to `upto` from the history saved beside the
 * checkpoint, recorded again.  A history that is missing or damaged loses
 * only the curves' first epochs, with a warning. */
static int replay_history(mp_result *r, mp_strbuf *hist, const char *path, int upto, mp_err *err)
{
	char *text = NULL, *cur, *line;
	mp_err e2;
	int lineno = 0;

	if (mp_read_file(path, &text, NULL, &e2) != 0) {
		fprintf(stderr, "mlpipe: the metrics of epochs 1 to %d are not known again (%s)\n", upto, e2.msg);
		return 0;
	}
	for (cur = text; (line = mp_text_line(&cur));) {
		char *f[3], *end1, *end2;
		long epoch;
		double v;

		lineno++;
		if (mp_tsv_fields(line, f, 3, 1) != 3 || (epoch = strtol(f[0], &end1, 10), *end1) ||
		    (v = strtod(f[2], &end2), *end2) || epoch < 1) {
			fprintf(stderr, "mlpipe: %s:%d: not an epoch's metric; the history stops there\n", path, lineno);
			break;
		}
		if (epoch <= upto && epoch_metric(r, hist, f[1], (int)epoch, v) != 0) {
			free(text);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
	}
	free(text);
	return 0;
}

/* The epoch whose weights the model keeps (the best under early stopping,
 * else the last) and its metrics. */
static void keep_epoch(mp_train_state *ts, int epoch, double tl, double ta, double vl, double va)
{
	ts->kept_epoch = epoch;
	ts->kept[0] = tl;
	ts->kept[1] = ta;
	ts->kept[2] = vl;
	ts->kept[3] = va;
}

/* The Trainer's metrics as a whole (step 0, which stands for the
 * execution's value): those of the weights it keeps, not of the last
 * epoch; per-epoch values are the steps 1, 2, ... */
static int record_kept(mp_result *r, const mp_train_state *ts, int mse, int have_val)
{
	if (!ts->kept_epoch)
		return 0;
	return mp_result_metric(r, "kept_epoch", 0, ts->kept_epoch) != 0 ||
	       mp_result_metric(r, "train_loss", 0, ts->kept[0]) != 0 ||
	       (!mse && mp_result_metric(r, "train_accuracy", 0, ts->kept[1]) != 0) ||
	       (have_val && mp_result_metric(r, "val_loss", 0, ts->kept[2]) != 0) ||
	       (have_val && !mse && mp_result_metric(r, "val_accuracy", 0, ts->kept[3]) != 0);
}

/* Checks the labels fit the output layer: class indices in [0, classes). */
static int check_label(const mp_batch *b, mp_loss loss, int nout, mp_err *err)
{
	size_t r;

	for (r = 0; r < b->rows; r++) {
		float v = b->y[r];

		if (isnan(v))
			return mp_error(err, MP_EINVAL, "an example has no label");
		if (loss == MP_LOSS_SOFTMAX_CE && (v < 0 || v >= (float)nout || v != floorf(v)))
			return mp_error(err, MP_EINVAL, "label %g is out of range for an output layer of %d classes", v, nout);
		if (loss == MP_LOSS_BCE && v != 0 && v != 1)
			return mp_error(err, MP_EINVAL, "label %g is not 0 or 1 (binary_cross_entropy)", v);
	}
	return 0;
}

static int run_trainer(const mp_component_io *io, mp_err *err)
{
	const char *ex = mp_io_input(io, "examples"), *txdir = mp_io_input(io, "transform");
	const char *base = mp_io_input(io, "base_model");
	const char *train_split = mp_io_param(io, "train_split"), *val_split = mp_io_param(io, "validation_split");
	double val_fraction = atof(mp_io_param(io, "validation_fraction"));
	mp_dataset_opts val_opts;
	char val_name[160];
	int batch = atoi(mp_io_param(io, "batch_size")), epochs = atoi(mp_io_param(io, "epochs"));
	uint64_t seed = strtoull(mp_io_param(io, "seed"), NULL, 10);
	int ckpt_every = atoi(mp_io_param(io, "checkpoint_every")), tty = isatty(2);
	mp_examples_meta m = {0};
	mp_net net = {0};
	mp_optimizer opt = {0};
	mp_train_state ts = {0};
	config c = {0};
	char *tx_text = NULL, *ckpt = NULL, *model_path = NULL, *hist_path = NULL;
	mp_strbuf hist = MP_STRBUF_INIT; /* the per-epoch metrics so far, kept beside the checkpoint */
	int *x = NULL, *tx_idx = NULL, y, nx = 0, rc, have_val, stopped_early = 0, mse;
	double unit2 = 1; /* the label's scale, squared: MSE in the label's units */
	int apply = !strcmp(mp_io_param(io, "apply_transform"), "true");
	mp_transform tx = {0};
	mp_dataset_opts base_opts;
	size_t f;
	double wait_s = 0, train_s = 0;
	int64_t samples = 0;

	if (!ex)
		return mp_error(err, MP_EINVAL, "Trainer needs an 'examples' input");
	{
		/* the cores are shared on purpose: the map threads get theirs,
		 * OpenBLAS the rest (at least one) */
		int blas = atoi(mp_io_param(io, "threads")), cores = (int)sysconf(_SC_NPROCESSORS_ONLN);

		if (blas == 0)
			blas = cores - atoi(mp_io_param(io, "input_threads")) > 1 ? cores - atoi(mp_io_param(io, "input_threads")) : 1;
		mp_blas_threads(blas);
	}
	if ((rc = parse_config(io, &c, err)) != 0)
		return rc;
	if ((rc = mp_examples_meta_read(&m, ex, err)) != 0)
		goto out;
	if (!m.label || (y = mp_examples_feature(&m, m.label)) < 0) {
		rc = mp_error(err, MP_EINVAL, "the examples have no label to train on");
		goto out;
	}
	if (!apply && m.features[y].type != MP_FEAT_FLOAT) {
		rc = mp_error(err, MP_EINVAL, "the label '%s' is a string: put a Transform before the Trainer", m.label);
		goto out;
	}
	if (!(x = mp_calloc(m.nfeatures, sizeof(int)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (f = 0; !apply && f < m.nfeatures; f++) {
		if ((int)f == y)
			continue;
		if (m.features[f].type != MP_FEAT_FLOAT) {
			rc = mp_error(err, MP_EINVAL, "feature '%s' is a string: put a Transform before the Trainer",
				      m.features[f].name);
			goto out;
		}
		x[nx++] = (int)f;
	}
	if (txdir) {
		char *p = mp_asprintf("%s/transform.tsv", txdir);

		rc = p ? mp_read_file(p, &tx_text, NULL, err) : mp_error(err, MP_ENOMEM, "out of memory");
		free(p);
		if (rc != 0)
			goto out;
	}
	/* the transform input, read once: applied per batch, its label's scale
	 * and its classes */
	if (tx_text && (rc = mp_transform_from_text(&tx, tx_text, "the transform input", err)) != 0)
		goto out;
	if (tx_text && tx.label_scaled) {
		/* a z-scored label: only a regression, and its losses are reported
		 * in the label's own units (squared), not the scaled ones */
		unit2 = tx.label_std * tx.label_std;
		if (c.loss != MP_LOSS_MSE) {
			rc = mp_error(err, MP_EINVAL, "the transform z-scores the label '%s': that is for a regression "
				      "(loss mse), not %s", tx.label, mp_loss_name(c.loss));
			goto out;
		}
	}
	if (apply) {
		/* raw examples: the transform runs on each example as it is read */
		if (!tx_text) {
			rc = mp_error(err, MP_EINVAL, "apply_transform needs a 'transform' input");
			goto out;
		}
		if (!tx.label || !m.label || strcmp(tx.label, m.label) != 0) {
			rc = mp_error(err, MP_EINVAL, "the transform's label is not the examples' label '%s'", m.label);
			goto out;
		}
		if (!(tx_idx = mp_calloc(tx.nfeatures + 1, sizeof(int)))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = mp_transform_bind(&tx, &m, tx_idx, err)) != 0)
			goto out;
		nx = (int)mp_transform_width(&tx);
	}
	if (!nx) {
		rc = mp_error(err, MP_EINVAL, "the examples have no input features");
		goto out;
	}
	memset(&base_opts, 0, sizeof(base_opts));
	base_opts.dir = ex;
	base_opts.meta = &m;
	base_opts.split = train_split;
	base_opts.x = x;
	base_opts.nx = (size_t)nx;
	base_opts.y = y;
	base_opts.map_threads = atoi(mp_io_param(io, "input_threads"));
	if (apply) {
		base_opts.transform = &tx;
		base_opts.tx_idx = tx_idx;
	}
	if (!mp_examples_split(&m, train_split)) {
		rc = mp_error(err, MP_EINVAL, "the examples have no split '%s' to train on", train_split);
		goto out;
	}
	if (!mp_examples_split(&m, train_split)->rows) {
		rc = mp_error(err, MP_EINVAL, "split '%s' has no rows: there is nothing to train on", train_split);
		goto out;
	}
	/* validation: its own split, or a part of train held out by hash */
	val_opts = base_opts;
	have_val = 0;
	if (*val_split && mp_examples_split(&m, val_split)) {
		if (!strcmp(val_split, train_split)) {
			rc = mp_error(err, MP_EINVAL, "validation_split: '%s' is the split trained on", val_split);
			goto out;
		}
		val_opts.split = val_split;
		have_val = mp_examples_split(&m, val_split)->rows > 0;
		snprintf(val_name, sizeof(val_name), "split '%s'", val_split);
	} else if (val_fraction > 0) {
		base_opts.holdout_fraction = val_opts.holdout_fraction = val_fraction;
		base_opts.holdout = -1;
		val_opts.holdout = 1;
		have_val = 1;
		snprintf(val_name, sizeof(val_name), "%g%% of split '%s'", 100 * val_fraction, train_split);
		fprintf(stderr, "mlpipe: the examples have no '%s' split: validating on %s (chosen by a hash of each "
			"example), training on the rest\n", val_split, val_name);
	}
	if (c.es_metric && !have_val) {
		rc = mp_error(err, MP_EINVAL, "early_stopping needs validation: a '%s' split with rows, or "
			      "validation_fraction above 0", val_split);
		goto out;
	}
	mse = c.loss == MP_LOSS_MSE;
	if (c.auto_last) {
		int classes = 1;

		if (c.loss == MP_LOSS_SOFTMAX_CE) {
			/* the classes: the transform's vocabulary or names, or the largest label seen + 1 */
			classes = tx_text ? (int)(tx.nlabel_vocab ? tx.nlabel_vocab : tx.nlabel_names) : 0;
			if (!classes) {
				mp_dataset_opts o = base_opts;
				mp_dataset *d;
				const mp_batch *b;
				float mx = 0;

				o.batch_size = 4096;
				o.epochs = 1;
				o.map_threads = 0;
				if ((rc = mp_dataset_open(&d, &o, err)) != 0)
					goto out;
				while ((rc = mp_dataset_next(d, &b, err)) == 1)
					for (f = 0; f < b->rows; f++)
						if (b->y[f] > mx)
							mx = b->y[f];
				mp_dataset_close(d);
				if (rc < 0)
					goto out;
				classes = (int)mx + 1;
			}
			if (classes < 2)
				classes = 2;
		}
		c.layers[c.nlayers - 1].units = classes;
	}
	if ((rc = mp_net_init(&net, nx, c.layers, c.nlayers, c.loss, batch > 256 ? batch : 256, seed, err)) != 0 ||
	    (rc = mp_optimizer_init(&opt, c.opt, net.nparams, err)) != 0)
		goto out;
	opt.weight_decay = c.weight_decay;
	opt.momentum = c.momentum;
	opt.beta1 = c.beta1;
	opt.beta2 = c.beta2;
	c.sched.total_steps = (int64_t)epochs * ((mp_examples_split(&m, train_split)->rows + batch - 1) / batch);
	ts.best = c.es_metric == 2 ? -INFINITY : INFINITY;
	if (c.es_metric && !(ts.best_params = mp_malloc(net.nparams * sizeof(float)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if (base) {
		/* a warm start: the weights of an earlier model of the same shape */
		mp_model bm;
		char *p = mp_asprintf("%s/model.mlpm", base);

		rc = p ? mp_model_load(&bm, p, 1, err) : mp_error(err, MP_ENOMEM, "out of memory");
		free(p);
		if (rc != 0)
			goto out;
		if ((bm.net.nparams != net.nparams || bm.net.nin != net.nin) &&
		    !strcmp(mp_io_param(io, "warm_start"), "true")) {
			/* the pushed model is of another architecture: a fresh start */
			fprintf(stderr, "mlpipe: warm_start: the last pushed model has another architecture (%zu parameters, "
					"this one %zu); starting from fresh weights\n",
				bm.net.nparams, net.nparams);
		} else if (bm.net.nparams != net.nparams || bm.net.nin != net.nin) {
			rc = mp_error(err, MP_EINVAL, "base_model has another architecture (%zu parameters, this one %zu)",
				      bm.net.nparams, net.nparams);
			mp_model_release(&bm);
			goto out;
		}
		if (bm.net.nparams == net.nparams && bm.net.nin == net.nin)
			memcpy(net.params, bm.net.params, net.nparams * sizeof(float));
		mp_model_release(&bm);
	}
	if (io->scratch && ckpt_every > 0) {
		if (!(ckpt = mp_asprintf("%s/checkpoint.mlpc", io->scratch))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
		if (!(hist_path = mp_asprintf("%s/history.tsv", io->scratch))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
		rc = mp_checkpoint_load(&net, &opt, &ts, ckpt, err);
		if (rc == 0) {
			fprintf(stderr, "mlpipe: continuing from the checkpoint after epoch %d\n", ts.epoch);
			/* the epochs before it are this training's too: the curves show them */
			if ((rc = replay_history(io->result, &hist, hist_path, ts.epoch, err)) != 0)
				goto out;
		} else if (rc != MP_ENOTFOUND) {
			goto out;
		}
		rc = 0;
	}

	if (ts.epoch < epochs) {
		/* one dataset for every remaining epoch: with the cache, each
		 * epoch is a permutation that depends on the seed and the epoch's
		 * number only, so a resumed run sees the same batches */
		mp_dataset_opts o = base_opts;
		int64_t total_rows = mp_examples_split(&m, train_split)->rows, done = 0, correct_sum = 0;
		int64_t t0 = mp_monotonic_ns();
		double loss_sum = 0;
		int start = ts.epoch, cur = ts.epoch, more = 1;
		mp_dataset *d;
		const mp_batch *b = NULL;

		o.batch_size = (size_t)batch;
		o.shuffle_buffer = (size_t)atoll(mp_io_param(io, "shuffle_buffer"));
		o.seed = seed;
		o.epochs = epochs - ts.epoch;
		o.prefetch = (size_t)atoll(mp_io_param(io, "prefetch"));
		o.cache = !strcmp(mp_io_param(io, "cache"), "true");
		o.first_epoch = ts.epoch;
		if ((rc = mp_dataset_open(&d, &o, err)) != 0)
			goto out;
		while (more) {
			double l;
			int correct;

			rc = mp_dataset_next(d, &b, err);
			if (rc < 0)
				break;
			if (rc == 0 || start + b->epoch != cur) {
				double val_loss = NAN, val_acc = NAN, tl = done ? loss_sum / (double)done : NAN;
				double ta = done ? (double)correct_sum / (double)done : NAN;

				/* the epoch `cur` is over (a batch of the next one is waiting, or the data ended) */
				more = rc == 1;
				train_s += (double)(mp_monotonic_ns() - t0) / 1e9;
				samples += done;
				if (tty)
					fputc('\n', stderr);
				if (!done) {
					rc = mp_error(err, MP_ECORRUPT, "epoch %d read no rows of split '%s'", cur + 1, train_split);
					break;
				}
				if (have_val && (rc = evaluate(&net, &val_opts, &val_loss, &val_acc, err)) != 0)
					break;
				tl *= unit2;
				val_loss *= unit2;
				if (have_val && !isfinite(val_loss)) {
					rc = mp_error(err, MP_EINVAL,
						      "the loss became %s on the validation data (%s) at step %lld (epoch %d, "
						      "which does not count): lower the learning rate",
						      isnan(val_loss) ? "NaN" : "infinite", val_name, (long long)ts.step, cur + 1);
					break;
				}
				if (epoch_metric(io->result, &hist, "train_loss", cur + 1, tl) != 0 ||
				    (!mse && epoch_metric(io->result, &hist, "train_accuracy", cur + 1, ta) != 0) ||
				    (have_val && epoch_metric(io->result, &hist, "val_loss", cur + 1, val_loss) != 0) ||
				    (have_val && !mse && epoch_metric(io->result, &hist, "val_accuracy", cur + 1, val_acc) != 0)) {
					rc = mp_error(err, MP_ENOMEM, "out of memory");
					break;
				}
				if (mse && have_val)
					fprintf(stderr, "epoch %d/%d: train loss %.4f, validation loss %.4f\n", cur + 1, epochs, tl,
						val_loss);
				else if (mse)
					fprintf(stderr, "epoch %d/%d: train loss %.4f\n", cur + 1, epochs, tl);
				else if (have_val)
					fprintf(stderr, "epoch %d/%d: train loss %.4f accuracy %.4f, validation loss %.4f accuracy %.4f\n",
						cur + 1, epochs, tl, ta, val_loss, val_acc);
				else
					fprintf(stderr, "epoch %d/%d: train loss %.4f accuracy %.4f\n", cur + 1, epochs, tl, ta);
				ts.epoch = cur + 1;
				if (!c.es_metric)
					keep_epoch(&ts, cur + 1, tl, ta, val_loss, val_acc);
				if (c.es_metric) {
					double v = c.es_metric == 1 ? val_loss : val_acc;
					int better = c.es_metric == 1 ? v < ts.best - c.es_min_delta : v > ts.best + c.es_min_delta;

					if (better) {
						ts.best = v;
						ts.since_best = 0;
						memcpy(ts.best_params, net.params, net.nparams * sizeof(float));
						keep_epoch(&ts, cur + 1, tl, ta, val_loss, val_acc);
					} else if (++ts.since_best >= c.es_patience) {
						stopped_early = 1;
						more = 0;
						fprintf(stderr, "early stop after epoch %d: no better %s for %d epochs; keeping the "
							"weights of epoch %d\n", cur + 1, c.es_metric == 1 ? "val_loss" : "val_accuracy",
							c.es_patience, ts.kept_epoch);
					}
				}
				if (ckpt && ts.epoch % ckpt_every == 0 && ts.epoch < epochs && !stopped_early &&
				    /* the history first: killed between the two, it is ahead of the
				     * checkpoint, and only its epochs up to the checkpoint's count */
				    ((rc = mp_write_file_atomic(hist_path, hist.buf ? hist.buf : "", hist.len, err)) != 0 ||
				     (rc = mp_checkpoint_save(&net, &opt, &ts, ckpt, err)) != 0))
					break;
				rc = 0;
				if (!more)
					break;
				/* the waiting batch starts the next epoch */
				cur++;
				done = correct_sum = 0;
				loss_sum = 0;
				t0 = mp_monotonic_ns();
			}
			if ((rc = check_label(b, c.loss, mp_net_nout(&net), err)) != 0)
				break;
			mp_net_train_step(&net, b->x, b->y, (int)b->rows, &l, &correct);
			if (!isfinite(l)) {
				rc = mp_error(err, MP_EINVAL,
					      "the loss became %s at step %lld (epoch %d): lower the learning rate",
					      isnan(l) ? "NaN" : "infinite", (long long)ts.step + 1, cur + 1);
				break;
			}
			mp_optimizer_step(&opt, net.params, net.grads, mp_schedule_lr(&c.sched, c.lr, ts.step));
			ts.step++;
			loss_sum += l * (double)b->rows;
			correct_sum += correct;
			done += (int64_t)b->rows;
			if (tty && (ts.step % 50 == 0 || done == total_rows)) {
				double el = (double)(mp_monotonic_ns() - t0) / 1e9, rate = el > 0 ? (double)done / el : 0;

				progress(cur + 1, epochs, done, total_rows, rate,
					 rate > 0 ? (double)(total_rows - done) / rate : 0);
			}
		}
		wait_s += mp_dataset_wait_seconds(d);
		mp_dataset_close(d);
		if (rc != 0)
			goto out;
	}
	if (c.es_metric && ts.best_params && isfinite(ts.best))
		memcpy(net.params, ts.best_params, net.nparams * sizeof(float));
	if (!(model_path = mp_asprintf("%s/model.mlpm", mp_io_output(io, "model")))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_model_save(&net, tx_text, model_path, err)) != 0)
		goto out;
	if (mp_result_metric(io->result, "samples_per_second", 0, train_s > 0 ? (double)samples / train_s : 0) != 0 ||
	    mp_result_metric(io->result, "input_wait_fraction", 0, train_s > 0 ? wait_s / train_s : 0) != 0 ||
	    mp_result_metric(io->result, "epochs", 0, ts.epoch) != 0 ||
	    record_kept(io->result, &ts, mse, have_val) != 0 ||
	    mp_result_prop_int(io->result, "model", "parameters", (int64_t)net.nparams) != 0 ||
	    mp_result_prop_int(io->result, "model", "epochs", ts.epoch) != 0 ||
	    (m.span >= 0 && mp_result_prop_int(io->result, "model", "span", m.span) != 0))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0 && train_s > 0 && wait_s / train_s > 0.2)
		fprintf(stderr, "mlpipe: the Trainer waited for input %.0f%% of the time (input-bound)\n", 100 * wait_s / train_s);
	if (rc == 0 && ckpt)
		unlink(ckpt);
	if (rc == 0 && hist_path)
		unlink(hist_path);
out:
	mp_net_release(&net);
	mp_optimizer_release(&opt);
	free(ts.best_params);
	free(c.layers);
	free(x);
	free(tx_idx);
	mp_transform_release(&tx);
	free(tx_text);
	free(ckpt);
	free(hist_path);
	mp_strbuf_release(&hist);
	free(model_path);
	mp_examples_meta_release(&m);
	return rc;
}

static const mp_resolve_spec resolves[] = {
	{"base_model", MP_RESOLVE_LATEST_PUSHED, NULL, "warm_start", 1},
};

/* At load time: what the shapes cannot say (the last layer takes no
 * activation, only the last layer may be 'auto'). */
static int check_trainer(const mp_component_io *io, mp_err *err)
{
	config c;
	int rc = parse_config(io, &c, err);

	free(c.layers);
	return rc;
}

const mp_component_type mp_trainer_component = {
	.name = "Trainer",
	.version = "2",
	.summary = "trains a dense network (OpenBLAS) on examples through the input pipeline",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.resolves = resolves,
	.nresolves = MP_COUNTOF(resolves),
	.run = run_trainer,
	.check = check_trainer,
};
