/* components/export: a trained model outside the pipeline — batch
 * prediction on raw data, and the model as standalone C or as ONNX.
 *
 * All three take the same raw inputs: the features the model's transform
 * reads, split into numbers and strings, each in the transform's order.  A
 * model trained without a transform reads its nin numbers as they are
 * (named x0, x1, ...).  Missing values are NaN for numbers and NULL (C) or
 * an empty string (ONNX) for strings; the transform turns them into what
 * training saw.  The outputs are the class probabilities (a logistic
 * output gives two: of class 0 and of class 1) or the predicted value.
 */
#ifndef MP_COMPONENTS_EXPORT_H
#define MP_COMPONENTS_EXPORT_H

#include <stdio.h>

#include "data/examples.h"
#include "data/transform.h"
#include "nn/nn.h"
#include "trees/trees.h"

typedef struct mp_served {
	char *path;		/* the model file */
	mp_model model;
	mp_forest forest;	/* a model of trees, read from model.booster */
	mp_transform t;
	int has_transform;
	/* the raw inputs: features[0..nnum) are numbers, then nstr strings */
	mp_feature *features;
	size_t nnum, nstr;
	int *idx;	 /* per transform feature: its index in features (then -1 for the label) */
	/* where mp_served_predict finds the inputs in its blocks: per transform
	 * feature and then the label (mp_transform_bind's map), or, without a
	 * transform, per input; and the label without a transform (-1: none) */
	int *in;
	int label;
	int nclass;	 /* classes; 0 for regression */
	size_t nout;	 /* outputs per example: nclass, or 1 */
	char **class_names; /* nclass names: the label's vocabulary, or "0", "1", ... */
	float *x;	    /* workspace: max_batch x nin */
	float *raw;	    /* workspace: max_batch x net outputs */
	float *pre;	    /* workspace: a row's raw values (the transform's features + 1) */
	int max_batch;
	int view;	    /* a view (mp_served_view): all but the workspaces is borrowed */
} mp_served;

/* Loads the model at path (a model.mlpm, or a folder holding one) for
 * batches of up to max_batch examples. */
int mp_served_load(mp_served *s, const char *path, int max_batch, mp_err *err);
void mp_served_release(mp_served *s);

/* A view of s with its own workspaces: mp_served_predict on s and on its
 * views may run at once in different threads.  It reads s's model,
 * transform and bindings (bind s first); s must outlive it.  Release it
 * with mp_served_release, which frees only its workspaces. */
int mp_served_view(mp_served *v, const mp_served *s, mp_err *err);

/* A block laid out as s->features: what mp_served_predict reads after
 * mp_served_load. */
int mp_served_block(const mp_served *s, mp_block *b, size_t rows, mp_err *err);

/* Makes mp_served_predict read blocks of the Examples artifact described
 * by m (named where in errors) instead: the transform's features by name;
 * without a transform, the numeric features but the label, in order, which
 * must be as many as the model's inputs. */
int mp_served_bind(mp_served *s, const mp_examples_meta *m, const char *where, mp_err *err);

/* Predicts rows [from, from + n) of b (n at most max_batch) into out (n x
 * nout) and, when labels is not NULL, their labels (class index or value;
 * NaN when missing or an unknown class) into labels. */
void mp_served_predict(mp_served *s, const mp_block *b, size_t from, size_t n, float *out, float *labels);

/* The predictions as CSV, as mlpipe predict writes them: a header (class
 * and p_NAME per class, or value), then one line per row of out (n x
 * nout): the class and each probability, or the value; 9 digits. */
void mp_predictions_header(const mp_served *s, FILE *fp);
void mp_predictions_rows(const mp_served *s, const float *out, size_t n, FILE *fp);

/* 0 when every weight and transform constant is finite (what the exports
 * can write), else an error naming the first that is not. */
int mp_served_exportable(const mp_served *s, mp_err *err);

/* Writes PREFIX.h and PREFIX.c: the model as C99 that needs only libm.
 * The identifier prefix is the file name's, made a C identifier. */
int mp_export_c(const mp_served *s, const char *prefix, mp_err *err);

/* Writes the model as an ONNX file (IR 9, opset 19). */
int mp_export_onnx(const mp_served *s, const char *path, mp_err *err);

#endif
