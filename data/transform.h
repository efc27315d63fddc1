/* data/transform: the fitted feature arithmetic (Transform's artifact, and
 * part of every model), as numbers and as text. */
#ifndef MP_DATA_TRANSFORM_H
#define MP_DATA_TRANSFORM_H

#include <stddef.h>
#include "core/core.h"
#include "data/examples.h"
#include "data/stats.h"

/* ---- the transform (Transform's artifact, and part of every model) ------ */

typedef enum {
	MP_TX_NONE,	 /* the number as it is */
	MP_TX_ZSCORE,	 /* (x - mean) / std */
	MP_TX_MINMAX,	 /* (x - min) / (max - min) */
	MP_TX_ONEHOT,	 /* one 0/1 input per vocabulary value (unseen: all 0) */
	MP_TX_BUCKETIZE, /* one 0/1 input per bucket between equal-width bounds */
	MP_TX_DIVIDE,	 /* x / a, a constant (pixels: divide:255) */
	MP_TX_EMBED,	 /* a string's index in its vocabulary (unseen or missing: nvocab), one
			  * input, which the Trainer's first layers embed in dim floats */
} mp_tx_kind;

/* Whether a kind reads a string feature (one-hot, embed). */
static inline int mp_tx_reads_string(mp_tx_kind k)
{
	return k == MP_TX_ONEHOT || k == MP_TX_EMBED;
}

typedef struct mp_tx_feature {
	char *name;
	mp_tx_kind kind;
	double a, b;   /* zscore: mean, std; minmax: min, max; bucketize: min, max */
	int buckets;   /* bucketize */
	int dim;       /* embed: the width of each value's learned vector */
	char **vocab;  /* onehot, embed: sorted */
	size_t nvocab;
} mp_tx_feature;

typedef struct mp_transform mp_transform;
struct mp_transform {
	mp_tx_feature *features;
	size_t nfeatures;
	char *label;	     /* NULL without one */
	char **label_vocab;  /* a string label's classes, in index order; NULL for a number */
	size_t nlabel_vocab;
	char **label_names;  /* a numeric label's class names (ExampleGen's label_names), or NULL */
	size_t nlabel_names;
	/* a regression label z-scored for training (rules: {LABEL: zscore});
	 * predictions are put back into its units */
	int label_scaled;
	double label_mean, label_std;
	/* derived: numbers as x * scale + shift (miss when missing), per
	 * feature; all_linear when every feature is such a number */
	float *scale, *shift, *miss;
	int all_linear;
};

/* Fits a transform to the statistics of split: numbers by num_default
 * (zscore, minmax, none or divide by num_divisor), strings one-hot on their values; rules (JSON
 * {"feature": "zscore" | "minmax" | "none" | "onehot" | "embed:D" |
 * "bucketize:N" | "drop"}, may be NULL) override per feature.  The label is kept apart.  A
 * string with more than max_vocab distinct values (0: 1000 or half the
 * split's rows, whichever is lower) is refused unless its rule is onehot. */
int mp_transform_fit(mp_transform *out, const mp_stats *st, const char *split, const char *label,
		     mp_tx_kind num_default, double num_divisor, const char *rules, int64_t max_vocab,
		     mp_err *err);
/* The class names of a numeric label, kept in the transform so that they
 * travel with the model; copied. */
int mp_transform_set_label_names(mp_transform *t, char *const *names, size_t n, mp_err *err);
/* How many inputs the transform makes. */
size_t mp_transform_width(const mp_transform *t);
/* How many inputs feature tf makes, and the name of its k-th. */
size_t mp_tx_feature_width(const mp_tx_feature *tf);
const char *mp_tx_feature_output_name(const mp_tx_feature *tf, size_t k, char *buf, size_t n);
/* The name of output i ("x", "color=red", "age[3]") into buf (linear in
 * the features: to name them all, walk the features instead). */
const char *mp_transform_output_name(const mp_transform *t, size_t i, char *buf, size_t n);
/* Text form (transform.tsv, and inside model files). */
int mp_transform_to_text(const mp_transform *t, mp_strbuf *sb);
int mp_transform_from_text(mp_transform *out, const char *text, const char *where, mp_err *err);
void mp_transform_release(mp_transform *t);

/* Where each transform feature (and the label) is in examples of meta m:
 * idx gets nfeatures + 1 entries (-1 when absent: treated as missing). */
int mp_transform_bind(const mp_transform *t, const mp_examples_meta *m, int *idx, mp_err *err);
/* Applies the transform to row r of block b into out (width floats) and
 * the label into *label (NaN when missing or an unknown class). */
void mp_transform_row(const mp_transform *t, const int *idx, const mp_block *b, size_t r, float *out,
		      float *label);
/* The same in two steps: the raw values the transform reads (nfeatures + 1
 * floats: each feature's number or vocabulary index, then the label), and
 * the arithmetic on them.  A cache can keep the first, which is smaller. */
void mp_transform_pre(const mp_transform *t, const int *idx, const mp_block *b, size_t r, float *pre);
void mp_transform_apply(const mp_transform *t, const float *pre, float *out);
/* The same from raw values kept as bytes (a cache of pixels), in one pass
 * where the arithmetic is linear; tmp (nfeatures floats) is scratch. */
void mp_transform_apply_u8(const mp_transform *t, const uint8_t *pre, float *tmp, float *out);

#endif
