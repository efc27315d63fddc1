/* components/nn: dense networks on flat float buffers, trained with
 * OpenBLAS.
 *
 * A network is a stack of dense layers, each with an activation and an
 * optional dropout, ending in logits that a loss turns into a number and a
 * gradient.  All parameters live in one contiguous buffer and all gradients
 * in another of the same layout (layer by layer: W as out x in, row-major,
 * then b), so an optimizer step is a loop over one array — and averaging
 * gradients across processes later is one allreduce.  Every buffer a step
 * needs is allocated when the network is made: a training step allocates
 * nothing.
 */
#ifndef MP_COMPONENTS_NN_H
#define MP_COMPONENTS_NN_H

#include <stdint.h>

#include "core/core.h"

typedef enum { MP_ACT_NONE, MP_ACT_RELU, MP_ACT_TANH, MP_ACT_SIGMOID } mp_act;
typedef enum { MP_LOSS_SOFTMAX_CE, MP_LOSS_BCE, MP_LOSS_MSE } mp_loss;
typedef enum { MP_OPT_SGD, MP_OPT_MOMENTUM, MP_OPT_ADAM, MP_OPT_ADAMW } mp_opt_kind;
typedef enum { MP_INIT_AUTO, MP_INIT_HE, MP_INIT_GLOROT } mp_init;

const char *mp_act_name(mp_act a);
const char *mp_loss_name(mp_loss l);
/* Name tables (see mp_name): activations ("linear" is another name for
 * none), losses, optimizers, initialisations and, below, schedules. */
extern const mp_name mp_act_names[], mp_loss_names[], mp_opt_names[], mp_init_names[], mp_sched_names[];
extern const size_t mp_nact_names, mp_nloss_names, mp_nopt_names, mp_ninit_names, mp_nsched_names;

/* A dense layer; a convolution (im2col, then one product through
 * mp_gemm), a max pool, or a flatten between them and the dense layers;
 * or an embedding of one input column, before everything else.
 * Images are (height, width, channels), channels last, each example's
 * values row by row: the layout of IDX pixels, and of every layer's a. */
typedef enum { MP_LAYER_DENSE, MP_LAYER_CONV, MP_LAYER_POOL, MP_LAYER_FLATTEN, MP_LAYER_EMBED } mp_layer_kind;

typedef struct mp_layer_spec {
	int units;     /* dense: its units; after mp_net_plan, every layer's outputs per example */
	mp_act act;
	float dropout; /* fraction dropped while training; 0: none */
	mp_init init;  /* AUTO: He for relu, Glorot otherwise */
	mp_layer_kind kind;
	int filters;   /* conv: output channels */
	int kernel;    /* conv: the window's side; pool: the window's side, and its stride */
	int stride;    /* conv */
	int same;      /* conv: padded to keep ceil(size / stride) (TensorFlow's 'same'); else 'valid' */
	/* embed: input column holds an index into a learned table of rows x
	 * dim, whose row takes its place (an index out of range, or NaN, takes
	 * the last row, the unseen values'); embeddings come first */
	int column, rows, dim;
	/* set by mp_net_plan: the input's and output's (height, width,
	 * channels), and a conv's zeros above and left of the input */
	int in[3], out[3], pad;
} mp_layer_spec;

/* Sizes every layer for nin inputs, of shape (height, width, channels)
 * when shape is not NULL (needed by a first conv), into units, in, out
 * and pad; checks the stack: conv and pool on images only (a pool after a
 * conv, a flatten between them and dense layers), windows no larger than
 * their input, a dense last layer.  Errors name the layer from 1. */
int mp_net_plan(int nin, const int *shape, mp_layer_spec *layers, int nlayers, mp_err *err);
/* The order rules of mp_net_plan alone, which need no sizes (the
 * pipeline loader's check, before the data is known). */
int mp_net_check_stack(const mp_layer_spec *layers, int nlayers, mp_err *err);

typedef struct mp_net {
	int nin;
	int nlayers;
	mp_layer_spec *layers;
	mp_loss loss;
	size_t nparams;
	float *params;
	float *grads;
	size_t *woff, *boff; /* per layer, into params and grads */
	/* workspace, for batches of up to max_batch rows */
	int max_batch;
	float **z;    /* per layer: pre-activation, batch x units */
	float **a;    /* per layer: output after activation and dropout */
	float **d;    /* per layer: gradient with respect to z */
	uint8_t **mask; /* dropout masks */
	float *da;    /* gradient with respect to a layer's input */
	float **col;  /* per conv layer: the im2col of its input, (B * Ho * Wo, K * K * C), kept for backward */
	float *dcol;  /* its gradient, for the largest conv (training only) */
	int32_t **arg; /* per pool layer: each output's input, (B, U) */
	uint64_t rng;
	int view;     /* a view (mp_net_view): layers, offsets and params are borrowed */
	/* 0: a step's gradients are of its batch's mean loss.  Else of the sum
	 * over its rows divided by grad_rows: a rank's share of a global batch
	 * of grad_rows rows, so that the ranks' gradients add up to the mean's. */
	int grad_rows;
} mp_net;

/* The largest network mlpipe makes or reads: sizes come from model files
 * other people send, so they are checked before anything is allocated. */
#define MP_NET_MAX_UNITS 1000000    /* inputs, or units of a layer */
#define MP_NET_MAX_LAYERS 256
#define MP_NET_MAX_PARAMS (1u << 28) /* 268 million floats: 1 GiB */

/* How many parameters (weights and biases) nin inputs and these layers
 * (planned: see mp_net_plan) take, with every size checked against the
 * limits above and every product against overflow. */
int mp_net_count_params(int nin, const mp_layer_spec *layers, int nlayers, size_t *count, mp_err *err);

/* Makes a network for nin inputs and planned layers (mp_net_plan; dense
 * layers alone need no plan) with freshly initialised weights (seeded). */
int mp_net_init(mp_net *n, int nin, const mp_layer_spec *layers, int nlayers, mp_loss loss, int max_batch,
		uint64_t seed, mp_err *err);
void mp_net_release(mp_net *n);
int mp_net_nout(const mp_net *n);

/* Makes room for extra floats after the gradients, at grads[nparams],
 * which training leaves alone: a data-parallel step sums its loss and its
 * count of right answers in the same reduction as the gradients. */
int mp_net_grad_room(mp_net *n, size_t extra, mp_err *err);

/* A view of n for inference: it reads n's weights and has its own
 * workspace (no gradients, no dropout), so forward passes on n and on its
 * views may run at once in different threads (train is ignored on a
 * view).  n must outlive it; release
 * it with mp_net_release, which frees only its workspace. */
int mp_net_view(mp_net *v, const mp_net *n, mp_err *err);

/* The pieces of a training step by layer and range of units, for a step
 * split across threads by units (nn/team.c): each piece over all of a
 * layer's units is what mp_net_train_step does.  Conv, pool and flatten
 * layers are never split: they take all their units at once. */
void mp__net_forward_units(mp_net *n, int l, const float *in, int batch, int u0, int u1, int train, uint64_t *rng);
void mp__net_loss(mp_net *n, const float *y, int batch, double *loss, int *correct);
void mp__net_backward_units(mp_net *n, int l, const float *in, int batch, int u0, int u1);
void mp__net_down_units(mp_net *n, int l, int batch, int p0, int p1);
/* Image layers (conv, pool, flatten) and embeddings, split by examples
 * and, for a conv's weight gradients, by filters (an embedding's table:
 * filters [0, 1), the first member's) (nn/team.c): the forward pass of examples
 * [s0, s1) of the batch (in is the whole batch's input); backward,
 * mp__net_image_deactivate of examples [s0, s1), then, once every
 * example's is done, mp__net_image_grads of filters [f0, f1); the
 * gradient down of examples [s0, s1). */
void mp__net_image_forward(mp_net *n, int l, const float *in, int s0, int s1, int train, uint64_t *rng);
void mp__net_image_deactivate(mp_net *n, int l, int s0, int s1);
void mp__net_image_grads(mp_net *n, int l, const float *in, int batch, int f0, int f1);
void mp__net_image_down(mp_net *n, int l, int s0, int s1);
/* a[l] = act(z[l]) over cnt values from offset at, then with train
 * masked by dropout drawn from *rng; and back, d[l] over cnt values from
 * at turned from the gradient with respect to a[l] into that of z[l]. */
void mp__net_activate_span(mp_net *n, int l, size_t at, size_t cnt, int train, uint64_t *rng);
void mp__net_deactivate_span(mp_net *n, int l, size_t at, size_t cnt);
/* Uniform in [0, 1) from the splitmix64 state *s. */
double mp__uniform(uint64_t *s);
/* A planned layer's weights (prev: the units below it) and biases. */
size_t mp__layer_weights(const mp_layer_spec *ls, int prev);
int mp__layer_biases(const mp_layer_spec *ls);

/* Forward pass for batch rows of x (batch x nin); returns the logits
 * (batch x nout), valid until the next call.  train enables dropout. */
const float *mp_net_forward(mp_net *n, const float *x, int batch, int train);

/* Forward and backward: the mean loss over the batch into *loss, the number
 * of correct predictions into *correct (classification losses), and the
 * gradient of the mean loss into n->grads.  y holds class indices for
 * softmax_ce, 0/1 targets for bce (one output), values for mse. */
void mp_net_train_step(mp_net *n, const float *x, const float *y, int batch, double *loss, int *correct);

/* The loss and correct count of a batch without gradients (evaluation). */
void mp_net_eval(mp_net *n, const float *x, const float *y, int batch, double *loss, int *correct);

/* Probabilities (softmax_ce: per class; bce: of class 1) or values (mse)
 * for batch rows into out (batch x nout). */
void mp_net_predict(mp_net *n, const float *x, int batch, float *out);

/* ---- optimizers -------------------------------------------------------- */

typedef struct mp_optimizer {
	mp_opt_kind kind;
	float lr, momentum, beta1, beta2, eps, weight_decay;
	int64_t t; /* steps taken */
	float *m, *v; /* state, as large as the parameters */
	size_t n;
} mp_optimizer;

int mp_optimizer_init(mp_optimizer *o, mp_opt_kind kind, size_t nparams, mp_err *err);
void mp_optimizer_release(mp_optimizer *o);
/* One update of params from grads at learning rate lr. */
void mp_optimizer_step(mp_optimizer *o, float *params, const float *grads, float lr);
/* The update of params[lo, hi) alone, at the step count o->t (which the
 * caller advanced): slices of one step may run in different threads. */
void mp_optimizer_apply(mp_optimizer *o, float *params, const float *grads, float lr, size_t lo, size_t hi);

/* ---- learning-rate schedules ------------------------------------------- */

typedef enum { MP_SCHED_CONSTANT, MP_SCHED_STEP, MP_SCHED_COSINE } mp_sched_kind;

typedef struct mp_schedule {
	mp_sched_kind kind;
	int64_t warmup_steps; /* linear from 0 */
	int64_t step_size;    /* step: multiply by gamma every step_size steps */
	float gamma;
	int64_t total_steps;  /* cosine: decays to 0 at total_steps */
} mp_schedule;

float mp_schedule_lr(const mp_schedule *s, float base, int64_t step);

/* ---- model files ------------------------------------------------------- */

/* A model file: "MLPM", a u32 format version, a u32-length text header (the
 * kind, the architecture, the label's classes and the transform), u64
 * parameter count, the parameters (float32 little-endian), the payload of
 * kinds that are not networks, and a CRC32C of everything before it.  A
 * checkpoint ("MLPC") adds the optimizer state and the training position
 * after the parameters.
 *
 * Two kinds: a network (its layers in the header, its weights as the
 * parameters) and boosted trees (a "gbdt OUTPUTS" line, no parameters, and
 * the booster in XGBoost's JSON model format as the payload, which trees/
 * reads).  The header, transform, classes and checksum are the same. */
#define MP_MODEL_VERSION 1

typedef enum { MP_MODEL_NET, MP_MODEL_GBDT } mp_model_kind;

struct mp_transform;

typedef struct mp_model {
	mp_model_kind kind;
	int nin;	      /* inputs */
	mp_loss loss;
	int nout;	      /* outputs: the last layer's units, or the booster's groups */
	mp_net net;	      /* MP_MODEL_NET */
	char *booster;	      /* MP_MODEL_GBDT: XGBoost's JSON model, booster_len bytes and a NUL */
	size_t booster_len;
	char *transform_text; /* NULL when the model was trained without one */
} mp_model;

int mp_model_save(const mp_net *n, const char *transform_text, const char *path, mp_err *err);
/* A model of boosted trees: nin inputs, nout outputs (the classes for
 * softmax, else 1) and the booster's JSON (len bytes). */
int mp_model_save_gbdt(int nin, mp_loss loss, int nout, const char *booster, size_t len, const char *transform_text,
		       const char *path, mp_err *err);
/* Loads a model for batches of up to max_batch rows. */
int mp_model_load(mp_model *m, const char *path, int max_batch, mp_err *err);
/* The same from the file's bytes; path names it in errors. */
int mp_model_parse(mp_model *m, const char *data, size_t len, const char *path, int max_batch, mp_err *err);
void mp_model_release(mp_model *m);

typedef struct mp_train_state {
	int epoch;	   /* epochs completed */
	int64_t step;	   /* optimizer steps taken */
	double best;	   /* early stopping: the best value so far */
	int since_best;	   /* epochs without improvement */
	float *best_params; /* NULL unless early stopping keeps the best weights */
	int kept_epoch;	    /* the epoch whose weights are kept, 0 before the first */
	double kept[4];	    /* its train loss, train accuracy, validation loss, validation accuracy */
} mp_train_state;

int mp_checkpoint_save(const mp_net *n, const mp_optimizer *o, const mp_train_state *ts, const char *path,
		       mp_err *err);
/* Restores a checkpoint into a network and optimizer of the same shape.
 * MP_ENOTFOUND when there is none; MP_EINVAL when it does not fit. */
int mp_checkpoint_load(mp_net *n, mp_optimizer *o, mp_train_state *ts, const char *path, mp_err *err);

/* ---- the GEMM wrapper -------------------------------------------------- */

/* C = alpha * op(A) op(B) + beta * C, row-major: op(A) is (m, k), op(B)
 * is (k, n) and C is (m, n), with lda, ldb and ldc the row strides of A, B
 * and C as stored.  Every product goes through here (and to cblas_sgemm). */
void mp_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
	     int ldb, float beta, float *c, int ldc);
/* OpenBLAS threads (0 leaves OpenBLAS's default). */
void mp_blas_threads(int n);

#endif
