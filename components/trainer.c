/* Trainer: a dense network (or boosted trees, trainer_gbdt.c) defined in the pipeline file, trained on
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
#include "components/trainer.h"
#include "components/hparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const mp_io_spec inputs[] = {
	{"examples", "Examples", 0, "numeric examples with a label (Transform's output)"},
	{"transform", "TransformGraph", 1, "the transform they went through; stored inside the model"},
	{"base_model", "Model", 1,
	 "a model to start from (warm start), of the same architecture; with warm_start, the last pushed model "
	 "when not wired"},
	{"hyperparameters", "HyperParameters", 1,
	 "values that override these params (a Tuner's best_hyperparameters), recorded on the model"},
};

static const mp_io_spec outputs[] = {
	{"model", "Model", 0, "model.mlpm: architecture, transform, weights, checksum"},
};

/* The shapes of the structured params, which the pipeline loader checks
 * (parse_config below reads them, and checks what shapes cannot say). */
static const mp_shape s_units = {MP_SHAPE_INT, 1, 1e6, "auto", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_activation = {MP_SHAPE_STRING, 0, 0, "relu|tanh|sigmoid|none|linear", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_dropout = {MP_SHAPE_NUMBER, 0, 0.95, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_init = {MP_SHAPE_STRING, 0, 0, "he|glorot", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_filters = {MP_SHAPE_INT, 1, 65536, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_window = {MP_SHAPE_INT, 1, 1024, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_padding = {MP_SHAPE_STRING, 0, 0, "same|valid", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_flatten = {MP_SHAPE_BOOL, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key layer_keys[] = {
	{"dense", &s_units, MP_ONE_OF},
	{"conv", &s_filters, MP_ONE_OF},
	{"pool", &s_window, MP_ONE_OF},
	{"flatten", &s_flatten, MP_ONE_OF},
	{"kernel", &s_window, 0},
	{"stride", &s_window, 0},
	{"padding", &s_padding, 0},
	{"activation", &s_activation, 0},
	{"dropout", &s_dropout, 0},
	{"init", &s_init, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_layer = {MP_SHAPE_MAP, 0, 0, NULL, layer_keys, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_layers = {MP_SHAPE_LIST, 0, 0, NULL, NULL, &s_layer, NULL, NULL, 1, NULL};
static const mp_shape s_rounds = {MP_SHAPE_INT, 1, 100000, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_depth = {MP_SHAPE_INT, 1, 64, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_fraction = {MP_SHAPE_NUMBER, 1e-6, 1, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_nonneg = {MP_SHAPE_NUMBER, 0, 1e9, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_tree_method = {MP_SHAPE_STRING, 0, 0, "hist|approx|exact", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key gbdt_keys[] = {
	{"rounds", &s_rounds, 0},
	{"max_depth", &s_depth, 0},
	{"eta", &s_fraction, 0},
	{"subsample", &s_fraction, 0},
	{"colsample", &s_fraction, 0},
	{"min_child_weight", &s_nonneg, 0},
	{"lambda", &s_nonneg, 0},
	{"alpha", &s_nonneg, 0},
	{"gamma", &s_nonneg, 0},
	{"tree_method", &s_tree_method, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_gbdt = {MP_SHAPE_MAP, 0, 0, NULL, gbdt_keys, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key model_keys[] = {{"layers", &s_layers, MP_ONE_OF}, {"gbdt", &s_gbdt, MP_ONE_OF}, {NULL, NULL, 0}};
static const mp_shape s_model = {MP_SHAPE_MAP, 0, 0, NULL, model_keys, NULL, NULL, NULL, 0, NULL};

static const mp_shape s_opt_name = {MP_SHAPE_STRING, 0, 0, "sgd|momentum|adam|adamw", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_lr = {MP_SHAPE_NUMBER, 1e-12, 1e6, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_decay = {MP_SHAPE_NUMBER, 0, 1e6, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_beta = {MP_SHAPE_NUMBER, 0, 0.9999, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_beta2 = {MP_SHAPE_NUMBER, 0, 0.99999999, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key opt_keys[] = {
	{"name", &s_opt_name, 0},
	{"lr", &s_lr, 0},
	{"weight_decay", &s_decay, 0},
	{"momentum", &s_beta, 0},
	{"beta1", &s_beta, 0},
	{"beta2", &s_beta2, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_optimizer = {MP_SHAPE_MAP, 0, 0, NULL, opt_keys, NULL, NULL, NULL, 0, NULL};

static const mp_shape s_sched_name = {MP_SHAPE_STRING, 0, 0, "constant|step|cosine", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_steps0 = {MP_SHAPE_INT, 0, 1e12, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_steps1 = {MP_SHAPE_INT, 1, 1e12, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_gamma = {MP_SHAPE_NUMBER, 0, 1, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key sched_keys[] = {
	{"name", &s_sched_name, 0},
	{"warmup_steps", &s_steps0, 0},
	{"step_size", &s_steps1, 0},
	{"gamma", &s_gamma, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_schedule = {MP_SHAPE_MAP, 0, 0, NULL, sched_keys, NULL, NULL, NULL, 0, NULL};

static const mp_shape s_es_metric = {MP_SHAPE_STRING, 0, 0, "val_loss|val_accuracy", NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_patience = {MP_SHAPE_INT, 1, 1e6, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_min_delta = {MP_SHAPE_NUMBER, 0, 1e9, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key es_keys[] = {
	{"metric", &s_es_metric, 0},
	{"patience", &s_patience, 0},
	{"min_delta", &s_min_delta, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_early_stopping = {MP_SHAPE_MAP, 0, 0, NULL, es_keys, NULL, NULL, NULL, 0, NULL};

static const mp_shape s_side = {MP_SHAPE_INT, 1, 65536, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_input_shape = {MP_SHAPE_LIST, 0, 0, NULL, NULL, &s_side, NULL, NULL, 0, NULL};

static const mp_param_spec params[] = {
	{"model", MP_PARAM_JSON, "{\"layers\":[{\"dense\":128,\"activation\":\"relu\"},{\"dense\":\"auto\"}]}", 0, 0,
	 "the network: {layers: [{dense: UNITS, activation: relu|tanh|sigmoid, dropout: P, init: he|glorot}, ...]}; "
	 "the last layer gives the logits, and 'auto' units fit the label; images first through {conv: FILTERS, "
	 "kernel: 3, stride: 1, padding: valid|same, activation: ...}, {pool: SIZE} (max) and {flatten: true}; "
	 "or boosted trees (XGBoost): {gbdt: "
	 "{rounds: 100, max_depth: 6, eta: 0.3, subsample: 1, colsample: 1, min_child_weight: 1, lambda: 1, "
	 "alpha: 0, gamma: 0, tree_method: hist}}", NULL, &s_model},
	{"input_shape", MP_PARAM_JSON, "[]", 0, 0,
	 "[HEIGHT, WIDTH, CHANNELS] of images for conv layers, channels last (pixels row by row); by default the "
	 "examples' own (ExampleGen records it for IDX files)", NULL, &s_input_shape},
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
	 "{metric: val_loss|val_accuracy, patience: N, min_delta: D}; the best weights are kept (boosted trees: "
	 "patience counts rounds, 10 by default, and the rounds up to the best are kept)", NULL,
	 &s_early_stopping},
	{"threads", MP_PARAM_INT, "0", 0, 256,
	 "OpenBLAS threads (boosted trees: XGBoost's, 0 one per core); 0: one for each step thread (by default a step is split across the cores), or with "
	 "step_threads 1, one per core less the input pipeline's map threads", NULL, NULL},
	{"step_threads", MP_PARAM_INT, "0", 0, 64,
	 "threads each training step is split across, each wide layer's units in equal parts (0: one per core when "
	 "threads is 0, else 1); the model is one thread's to the rounding of the products", NULL, NULL},
	{"input_threads", MP_PARAM_INT, "-1", -1, 64,
	 "the input pipeline's map threads (decompress, decode, transform); 0: in the prefetch thread; -1: one "
	 "on a machine of more than one core", NULL, NULL},
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
	{"prefetch", MP_PARAM_INT, "-1", -1, 1024,
	 "batches prepared ahead by the input pipeline's thread (0: no such thread, batches are made between "
	 "steps); -1: 4 when the step's threads leave a core free, else 0", NULL, NULL},
	{"checkpoint_every", MP_PARAM_INT, "1", 0, 100000, "epochs between checkpoints (0: none)", NULL, NULL},
	{"train_split", MP_PARAM_STRING, "train", 0, 0, "the split to train on", NULL, NULL},
	{"validation_split", MP_PARAM_STRING, "validation", 0, 0,
	 "the split measured after each epoch (val_loss, val_accuracy) and by early stopping; never the split the "
	 "Evaluator reports on", NULL, NULL},
	{"validation_fraction", MP_PARAM_FLOAT, "0.1", 0, 0.5,
	 "when the examples have no validation_split: this part of the training split (chosen by a hash of each "
	 "example, the same on every run) is held out to validate on; 0: no validation", NULL, NULL},
};

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

/* The examples' description, their label and (without apply_transform)
 * their numeric inputs. */
static int read_examples(mp__trainer *T, const char *ex, mp_err *err)
{
	mp_examples_meta *m = &T->m;
	size_t f;
	int rc;

	if ((rc = mp_examples_meta_read(m, ex, err)) != 0)
		return rc;
	if (!m->label || (T->y = mp_examples_feature(m, m->label)) < 0)
		return mp_error(err, MP_EINVAL, "the examples have no label to train on");
	if (!T->apply && m->features[T->y].type != MP_FEAT_FLOAT)
		return mp_error(err, MP_EINVAL, "the label '%s' is a string: put a Transform before the Trainer",
				m->label);
	if (!(T->x = mp_calloc(m->nfeatures, sizeof(int))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (f = 0; !T->apply && f < m->nfeatures; f++) {
		if ((int)f == T->y)
			continue;
		if (m->features[f].type != MP_FEAT_FLOAT)
			return mp_error(err, MP_EINVAL, "feature '%s' is a string: put a Transform before the Trainer",
					m->features[f].name);
		T->x[T->nx++] = (int)f;
	}
	return 0;
}

/* The transform input, read once: stored in the model, applied per batch
 * with apply_transform, and its label's scale and classes. */
static int read_transform(mp__trainer *T, const char *txdir, mp_err *err)
{
	mp_transform *tx = &T->tx;
	char *p;
	int rc;

	if (txdir) {
		p = mp_asprintf("%s/transform.tsv", txdir);
		rc = p ? mp_read_file(p, &T->tx_text, NULL, err) : mp_error(err, MP_ENOMEM, "out of memory");
		free(p);
		if (rc != 0 || (rc = mp_transform_from_text(tx, T->tx_text, "the transform input", err)) != 0)
			return rc;
		/* a z-scored label: only a regression, and its losses are
		 * reported in the label's own units (squared), not the scaled ones */
		if (tx->label_scaled) {
			T->unit2 = tx->label_std * tx->label_std;
			if (T->c.loss != MP_LOSS_MSE)
				return mp_error(err, MP_EINVAL, "the transform z-scores the label '%s': that is for a "
						"regression (loss mse), not %s", tx->label, mp_loss_name(T->c.loss));
		}
	}
	if (!T->apply)
		return 0;
	/* raw examples: the transform runs on each example as it is read */
	if (!T->tx_text)
		return mp_error(err, MP_EINVAL, "apply_transform needs a 'transform' input");
	if (!tx->label || !T->m.label || strcmp(tx->label, T->m.label) != 0)
		return mp_error(err, MP_EINVAL, "the transform's label is not the examples' label '%s'", T->m.label);
	if (!(T->tx_idx = mp_calloc(tx->nfeatures + 1, sizeof(int))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_transform_bind(tx, &T->m, T->tx_idx, err)) != 0)
		return rc;
	T->nx = (int)mp_transform_width(tx);
	return 0;
}

/* The training split's dataset options, and the validation data: its own
 * split, or a part of train held out by hash. */
static int choose_data(mp__trainer *T, const char *ex, mp_err *err)
{
	double val_fraction = atof(mp_io_param(T->io, "validation_fraction"));
	mp_dataset_opts *o = &T->base_opts;
	const mp_split_info *train = mp_examples_split(&T->m, T->train_split);

	if (!T->nx)
		return mp_error(err, MP_EINVAL, "the examples have no input features");
	memset(o, 0, sizeof(*o));
	o->dir = ex;
	o->meta = &T->m;
	o->split = T->train_split;
	o->x = T->x;
	o->nx = (size_t)T->nx;
	o->y = T->y;
	o->map_threads = T->input_threads;
	if (T->apply) {
		o->transform = &T->tx;
		o->tx_idx = T->tx_idx;
	}
	if (!train)
		return mp_error(err, MP_EINVAL, "the examples have no split '%s' to train on", T->train_split);
	if (!train->rows)
		return mp_error(err, MP_EINVAL, "split '%s' has no rows: there is nothing to train on", T->train_split);
	T->val_opts = *o;
	if (*T->val_split && mp_examples_split(&T->m, T->val_split)) {
		if (!strcmp(T->val_split, T->train_split))
			return mp_error(err, MP_EINVAL, "validation_split: '%s' is the split trained on", T->val_split);
		T->val_opts.split = T->val_split;
		T->have_val = mp_examples_split(&T->m, T->val_split)->rows > 0;
		snprintf(T->val_name, sizeof(T->val_name), "split '%s'", T->val_split);
	} else if (val_fraction > 0) {
		o->holdout_fraction = T->val_opts.holdout_fraction = val_fraction;
		o->holdout = -1;
		T->val_opts.holdout = 1;
		T->have_val = 1;
		snprintf(T->val_name, sizeof(T->val_name), "%g%% of split '%s'", 100 * val_fraction, T->train_split);
		fprintf(stderr, "mlpipe: the examples have no '%s' split: validating on %s (chosen by a hash of each "
			"example), training on the rest\n", T->val_split, T->val_name);
	}
	if (T->c.es_metric && !T->have_val)
		return mp_error(err, MP_EINVAL, "early_stopping needs validation: a '%s' split with rows, or "
				"validation_fraction above 0", T->val_split);
	return 0;
}

/* The units of an 'auto' last layer: 1 output, or for softmax the classes
 * (the transform's vocabulary or names, or the largest label seen + 1). */
static int fit_output(mp__trainer *T, mp_err *err)
{
	int classes = 1, rc = 0;

	if (!T->c.auto_last)
		return 0;
	if (T->c.loss == MP_LOSS_SOFTMAX_CE) {
		classes = mp__train_transform_classes(T);
		if (!classes) {
			mp_dataset_opts o = T->base_opts;
			mp_dataset *d;
			const mp_batch *b;
			float mx = 0;
			size_t r;

			o.batch_size = 4096;
			o.epochs = 1;
			o.map_threads = 0;
			if ((rc = mp_dataset_open(&d, &o, err)) != 0)
				return rc;
			while ((rc = mp_dataset_next(d, &b, err)) == 1)
				for (r = 0; r < b->rows; r++)
					if (b->y[r] > mx)
						mx = b->y[r];
			mp_dataset_close(d);
			if (rc < 0)
				return rc;
			classes = (int)mx + 1;
		}
		if (classes < 2)
			classes = 2;
	}
	T->c.layers[T->c.nlayers - 1].units = classes;
	return 0;
}

/* A network over a transform with embed:D features starts with an
 * embedding of each: the index the transform gives (its column among the
 * transform's outputs) picks a row of a learned table (the vocabulary and
 * a row for unseen values) of D floats.  They come last column first, so
 * each column is where the transform put it. */
static int add_embeddings(mp__trainer *T, mp_err *err)
{
	mp__train_config *c = &T->c;
	mp_layer_spec *l;
	size_t i, col = 0, n = 0;
	int k;

	for (i = 0; T->tx_text && i < T->tx.nfeatures; i++)
		n += T->tx.features[i].kind == MP_TX_EMBED;
	if (!n || c->gbdt)
		return 0;
	if ((size_t)c->nlayers + n > MP_NET_MAX_LAYERS || !(l = mp_calloc((size_t)c->nlayers + n, sizeof(*l))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	memcpy(l + n, c->layers, (size_t)c->nlayers * sizeof(*l));
	for (i = 0, k = (int)n - 1; i < T->tx.nfeatures; col += mp_tx_feature_width(&T->tx.features[i++])) {
		const mp_tx_feature *tf = &T->tx.features[i];

		if (tf->kind != MP_TX_EMBED)
			continue;
		l[k].kind = MP_LAYER_EMBED;
		l[k].column = (int)col;
		l[k].rows = (int)tf->nvocab + 1;
		l[k].dim = tf->dim;
		k--;
	}
	free(c->layers);
	c->layers = l;
	c->nlayers += (int)n;
	return 0;
}

/* The layers sized for the inputs: images of input_shape, or of the
 * examples' shape, when there are conv layers. */
static int plan(mp__trainer *T, mp_err *err)
{
	const int *shape = T->c.shape[0] ? T->c.shape : T->m.shape;
	int64_t n = (int64_t)shape[0] * shape[1] * shape[2];

	if (T->c.shape[0] && n != T->nx)
		return mp_error(err, MP_EINVAL, "input_shape: %dx%dx%d is not the %d inputs", shape[0], shape[1], shape[2],
				T->nx);
	/* the examples' images, unless the Trainer reads something else of them */
	if (mp_net_plan(T->nx, n && n == T->nx ? shape : NULL, T->c.layers, T->c.nlayers, err) != 0)
		return mp_error_wrap(err, "model");
	return 0;
}

/* A warm start: the weights of an earlier model of the same shape (with
 * warm_start, a pushed model of another shape means fresh weights). */
static int warm_start(mp__trainer *T, const char *base, mp_err *err)
{
	mp_model bm;
	char *p = mp_asprintf("%s/model.mlpm", base);
	int rc, same;

	rc = p ? mp_model_load(&bm, p, 1, err) : mp_error(err, MP_ENOMEM, "out of memory");
	free(p);
	if (rc != 0)
		return rc;
	same = bm.net.nparams == T->net.nparams && bm.net.nin == T->net.nin;
	if (!same && !strcmp(mp_io_param(T->io, "warm_start"), "true")) {
		fprintf(stderr, "mlpipe: warm_start: the last pushed model has another architecture (%zu parameters, "
				"this one %zu); starting from fresh weights\n",
			bm.net.nparams, T->net.nparams);
	} else if (!same) {
		rc = mp_error(err, MP_EINVAL, "base_model has another architecture (%zu parameters, this one %zu)",
			      bm.net.nparams, T->net.nparams);
	} else {
		memcpy(T->net.params, bm.net.params, T->net.nparams * sizeof(float));
	}
	mp_model_release(&bm);
	return rc;
}

/* Horovod's start: every rank begins from rank 0's weights (fresh,
 * warm-started or checkpointed), with its own dropout stream, and the
 * gradients get room for the step's loss and count (see trainer_loop.c). */
static int join_ranks(mp__trainer *T, mp_err *err)
{
	int rc;

	if ((rc = mp_net_grad_room(&T->net, 2, err)) != 0)
		return rc;
	mp_dist_bcast(&T->dist, T->net.params, T->net.nparams);
	T->net.rng ^= (uint64_t)T->dist.rank * 0x9e3779b97f4a7c15ULL;
	return 0;
}

/* The network and its optimizer, from fresh, warm-started or
 * checkpointed weights. */
static int build(mp__trainer *T, const char *base, mp_err *err)
{
	const mp__train_config *c = &T->c;
	int rc;

	if ((rc = fit_output(T, err)) != 0 || (rc = add_embeddings(T, err)) != 0 || (rc = plan(T, err)) != 0 ||
	    (rc = mp_net_init(&T->net, T->nx, c->layers, c->nlayers, c->loss, T->batch > 256 ? T->batch : 256,
			      T->seed, err)) != 0 ||
	    (rc = mp_optimizer_init(&T->opt, c->opt, T->net.nparams, err)) != 0)
		return rc;
	T->opt.weight_decay = c->weight_decay;
	T->opt.momentum = c->momentum;
	T->opt.beta1 = c->beta1;
	T->opt.beta2 = c->beta2;
	T->c.sched.total_steps =
		(int64_t)T->epochs * ((mp_examples_split(&T->m, T->train_split)->rows + T->batch - 1) / T->batch);
	T->ts.best = c->es_metric == 2 ? -INFINITY : INFINITY;
	if (c->es_metric && !(T->ts.best_params = mp_malloc(T->net.nparams * sizeof(float))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (base && (rc = warm_start(T, base, err)) != 0)
		return rc;
	if (T->io->scratch && T->ckpt_every > 0) {
		if (!(T->ckpt = mp_asprintf("%s/checkpoint.mlpc", T->io->scratch)) ||
		    !(T->hist_path = mp_asprintf("%s/history.tsv", T->io->scratch)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		if ((rc = mp_checkpoint_load(&T->net, &T->opt, &T->ts, T->ckpt, err)) == 0) {
			fprintf(stderr, "mlpipe: continuing from the checkpoint after epoch %d\n", T->ts.epoch);
			/* the epochs before it are this training's too: the curves show them */
			if ((rc = mp__train_replay_history(T, err)) != 0)
				return rc;
		} else if (rc != MP_ENOTFOUND) {
			return rc;
		}
	}
	if (T->dist.size > 1 && (rc = join_ranks(T, err)) != 0)
		return rc;
	return mp_step_team_create(&T->team, &T->net, T->members, err);
}

/* The model file (the best weights under early stopping), the metrics of
 * the whole training, and the checkpoint gone. */
static int save(mp__trainer *T, mp_err *err)
{
	const mp_component_io *io = T->io;
	double train_s = T->train_s, wait_s = T->wait_s;
	char *path;
	int rc;

	if (T->dist.rank != 0)
		return 0; /* rank 0 writes the model and the result */
	if (T->c.es_metric && T->ts.best_params && isfinite(T->ts.best))
		memcpy(T->net.params, T->ts.best_params, T->net.nparams * sizeof(float));
	if (!(path = mp_asprintf("%s/model.mlpm", mp_io_output(io, "model"))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	rc = mp_model_save(&T->net, T->tx_text, path, err);
	free(path);
	if (rc != 0)
		return rc;
	if (mp_result_metric(io->result, "samples_per_second", 0, train_s > 0 ? (double)T->samples / train_s : 0) != 0 ||
	    mp_result_metric(io->result, "input_wait_fraction", 0, train_s > 0 ? wait_s / train_s : 0) != 0 ||
	    mp_result_metric(io->result, "epochs", 0, T->ts.epoch) != 0 ||
	    mp_result_metric(io->result, "ranks", 0, T->dist.size) != 0 ||
	    mp_result_metric(io->result, "step_threads", 0, T->members) != 0 ||
	    mp_result_metric(io->result, "input_threads", 0, T->input_threads) != 0 ||
	    (T->reduce_steps > 0 && mp_result_metric(io->result, "allreduce_ms_per_step", 0,
						     1e3 * T->reduce_s / (double)T->reduce_steps) != 0) ||
	    record_kept(io->result, &T->ts, T->mse, T->have_val) != 0 ||
	    mp_result_prop_int(io->result, "model", "parameters", (int64_t)T->net.nparams) != 0 ||
	    mp_result_prop_int(io->result, "model", "epochs", T->ts.epoch) != 0 ||
	    (T->m.span >= 0 && mp_result_prop_int(io->result, "model", "span", T->m.span) != 0))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (train_s > 0 && wait_s / train_s > 0.2)
		fprintf(stderr, "mlpipe: the Trainer waited for input %.0f%% of the time (input-bound)\n",
			100 * wait_s / train_s);
	if (T->ckpt)
		unlink(T->ckpt);
	if (T->hist_path)
		unlink(T->hist_path);
	return 0;
}

static void trainer_release(mp__trainer *T)
{
	mp_step_team_free(T->team);
	mp_net_release(&T->net);
	mp_optimizer_release(&T->opt);
	free(T->ts.best_params);
	free(T->c.layers);
	free(T->x);
	free(T->tx_idx);
	mp_transform_release(&T->tx);
	free(T->tx_text);
	free(T->ckpt);
	free(T->hist_path);
	mp_strbuf_release(&T->hist);
	mp_examples_meta_release(&T->m);
}

/* The cores are shared on purpose.  With several ranks on this machine,
 * each rank has its share of the cores.  By default a step is split across
 * that many threads of one OpenBLAS thread each.  With an explicit
 * `threads`, OpenBLAS gets those and a step runs in one thread, as before;
 * step_threads overrides.  A map thread decodes (with the cache, only
 * while the split is read the first time, before any step); the prefetch
 * thread, which makes every batch, runs beside the step only when it
 * leaves a core free: on a machine whose cores all compute, it only took
 * turns with the step's threads (measured on 2 cores: 128,000 samples/s
 * with it, 154,000 with the batches made between steps).  Returns the
 * step's threads. */
static int share_cores(mp__trainer *T)
{
	const mp_component_io *io = T->io;
	int blas = atoi(mp_io_param(io, "threads")), cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int input = atoi(mp_io_param(io, "input_threads")), step = atoi(mp_io_param(io, "step_threads"));
	int prefetch = atoi(mp_io_param(io, "prefetch"));

	cores = cores / T->dist.local_size > 1 ? cores / T->dist.local_size : 1;
	if (step == 0)
		step = blas == 0 ? cores : 1;
	if (input < 0) /* with the cache it decodes only before the first step */
		input = cores > 1 ? 1 : 0;
	if (blas == 0)
		blas = step > 1 ? 1 : cores - input > 1 ? cores - input : 1;
	if (prefetch < 0)
		prefetch = cores > step * blas ? 4 : 0;
	T->input_threads = input;
	T->prefetch = prefetch;
	mp_blas_threads(blas);
	return step;
}

static int train(const mp_component_io *io, mp_err *err)
{
	const char *ex = mp_io_input(io, "examples");
	mp__trainer T;
	int rc;

	if (!ex)
		return mp_error(err, MP_EINVAL, "Trainer needs an 'examples' input");
	memset(&T, 0, sizeof(T));
	mp_strbuf_init(&T.hist);
	T.io = io;
	T.train_split = mp_io_param(io, "train_split");
	T.val_split = mp_io_param(io, "validation_split");
	T.batch = atoi(mp_io_param(io, "batch_size"));
	T.epochs = atoi(mp_io_param(io, "epochs"));
	T.seed = strtoull(mp_io_param(io, "seed"), NULL, 10);
	T.ckpt_every = atoi(mp_io_param(io, "checkpoint_every"));
	T.tty = isatty(2);
	T.unit2 = 1;
	T.apply = !strcmp(mp_io_param(io, "apply_transform"), "true");
	if ((rc = mp_dist_init(&T.dist, err)) != 0)
		return rc;
	T.members = share_cores(&T);
	if ((rc = mp__train_config_parse(io, &T.c, err)) != 0)
		return rc;
	T.mse = T.c.loss == MP_LOSS_MSE;
	if ((rc = read_examples(&T, ex, err)) == 0 && (rc = read_transform(&T, mp_io_input(io, "transform"), err)) == 0 &&
	    (rc = choose_data(&T, ex, err)) == 0 && T.c.gbdt) {
		rc = mp_io_input(io, "base_model")
			     ? mp_error(err, MP_EINVAL, "boosted trees start afresh: a base_model (warm_start) is for networks")
			     : mp__train_gbdt(&T, err);
	} else if (rc == 0 && (rc = build(&T, mp_io_input(io, "base_model"), err)) == 0 &&
		   (T.ts.epoch >= T.epochs || (rc = mp__train_epochs(&T, err)) == 0)) {
		rc = save(&T, err);
	}
	if (rc == 0)
		mp_dist_finish(&T.dist); /* a failed rank only exits: mpirun stops the others */
	trainer_release(&T);
	return rc;
}

/* With a hyperparameters input, its values override the params (the
 * input is in the cache key, as every input is), and the model records
 * them. */
static int run_trainer(const mp_component_io *io, mp_err *err)
{
	const char *hp = mp_io_input(io, "hyperparameters");
	char **paths = NULL, **values = NULL, *json = NULL;
	mp_component_io hio = *io;
	mp_kv *kv = NULL;
	size_t n = 0, nkv = 0;
	int rc;

	if (!hp)
		return train(io, err);
	if ((rc = mp_hp_file_read(hp, &paths, &values, &n, &json, err)) != 0)
		return mp_error_wrap(err, "hyperparameters");
	if ((rc = mp_hp_override(&mp_trainer_component, io->params, io->nparams, (const char *const *)paths,
				 (const char *const *)values, n, &kv, &nkv, err)) != 0) {
		rc = mp_error_wrap(err, "hyperparameters");
	} else {
		fprintf(stderr, "mlpipe: hyperparameters from the input: %s\n", json);
		hio.params = kv;
		hio.nparams = nkv;
		if ((rc = train(&hio, err)) == 0 && mp_result_prop_string(io->result, "model", "hyperparameters", json))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	}
	mp_hp_params_free(kv, nkv);
	mp_hp_strings_free(paths, n);
	mp_hp_strings_free(values, n);
	free(json);
	return rc;
}

static const mp_resolve_spec resolves[] = {
	{"base_model", MP_RESOLVE_LATEST_PUSHED, NULL, "warm_start", 1},
};

/* At load time: what the shapes cannot say (the last layer takes no
 * activation, only the last layer may be 'auto'). */
static int check_trainer(const mp_component_io *io, mp_err *err)
{
	mp__train_config c;
	int rc = mp__train_config_parse(io, &c, err);

	free(c.layers);
	return rc;
}

const mp_component_type mp_trainer_component = {
	.name = "Trainer",
	.version = "2",
	.summary = "trains a dense network (OpenBLAS) or boosted trees (XGBoost) on examples through the input pipeline",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.resolves = resolves,
	.nresolves = MP_COUNTOF(resolves),
	.unkeyed = (const char *const[]){"input_threads", "prefetch", NULL},
	.ranks = 1,
	.run = run_trainer,
	.check = check_trainer,
};
