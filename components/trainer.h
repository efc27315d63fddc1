/* components/trainer: what the Trainer's files share (internal).
 *
 *   trainer.c         the component: specs, setup, saving the model
 *   trainer_config.c  its structured params (model, optimizer, schedule,
 *                     early stopping) read into a mp__train_config; the
 *                     label's classes from the transform
 *   trainer_loop.c    the epochs: steps, validation, early stopping,
 *                     checkpoints and per-epoch metrics
 *   trainer_gbdt.c    boosted trees (XGBoost) instead of a network
 */
#ifndef MP_COMPONENTS_TRAINER_H
#define MP_COMPONENTS_TRAINER_H

#include "components/component.h"
#include "data/dataset.h"
#include "data/examples.h"
#include "data/transform.h"
#include "nn/dist.h"
#include "nn/nn.h"
#include "nn/team.h"
#include "trees/trees.h"

typedef struct mp__train_config {
	mp_layer_spec *layers; /* free it */
	int nlayers;
	int auto_last; /* the last layer's units fit the label */
	mp_loss loss;
	mp_opt_kind opt;
	float lr, weight_decay, momentum, beta1, beta2;
	mp_schedule sched;
	int es_metric; /* 0: none, 1: val_loss, 2: val_accuracy */
	int es_patience;
	double es_min_delta;
	int shape[3];	   /* input_shape, or 0s */
	int gbdt;	   /* boosted trees (model: {gbdt: ...}) instead of layers */
	mp_gbdt_params gp; /* their params */
} mp__train_config;

/* Reads the Trainer's loss, model, optimizer, lr_schedule and
 * early_stopping params into c; checks what their shapes cannot say. */
int mp__train_config_parse(const mp_component_io *io, mp__train_config *c, mp_err *err);

/* One training, from its inputs to its model. */
typedef struct mp__trainer {
	const mp_component_io *io;
	mp__train_config c;
	mp_examples_meta m;
	mp_transform tx;
	char *tx_text; /* the transform input's text, stored in the model; or NULL */
	int *x, *tx_idx, y, nx, apply;
	mp_dataset_opts base_opts, val_opts;
	mp_dataset *val;	     /* the validation examples while training */
	const mp_batch *val_next;    /* the first batch of the next pass, read already */
	int val_epoch;		     /* the pass being read */
	char val_name[160];
	const char *train_split, *val_split;
	int have_val, mse;
	double unit2; /* the label's scale, squared: MSE in the label's units */
	int batch, epochs, ckpt_every, tty;
	uint64_t seed;
	mp_net net;
	mp_step_team *team; /* the threads one step is split across */
	int members;	    /* how many (step_threads) */
	int input_threads, prefetch; /* the input pipeline's, as share_cores settled them */
	mp_optimizer opt;
	mp_train_state ts;
	char *ckpt, *hist_path;
	mp_strbuf hist; /* the per-epoch metrics so far, kept beside the checkpoint */
	int stopped_early;
	double wait_s, train_s;
	int64_t samples;
	mp_dist dist; /* data-parallel: this rank and how many (1: alone) */
	double reduce_s;      /* time in the gradients' allreduce */
	int64_t reduce_steps; /* over this many steps */
} mp__trainer;

/* The metrics of the epochs before a checkpoint, recorded again from the
 * history beside it. */
int mp__train_replay_history(mp__trainer *T, mp_err *err);
/* Trains the epochs left (after a checkpoint, if any). */
int mp__train_epochs(mp__trainer *T, mp_err *err);

/* The classes the transform names for the label (its vocabulary, or
 * label_names), or 0 when there is no transform or it names none. */
int mp__train_transform_classes(const mp__trainer *T);

/* Boosted trees instead (trainer_gbdt.c): reads the splits into memory,
 * boosts, saves the model and records the metrics. */
int mp__train_gbdt(mp__trainer *T, mp_err *err);

#endif
