/* Transform: fitted on the training split's statistics, applied to every
 * split.  Numbers are scaled (z-score by default, or min-max), strings
 * one-hot encoded on their training vocabulary, numbers optionally
 * bucketized; per-feature rules override.  The fitted transform is an
 * artifact of its own and travels inside every model trained on its output,
 * so serving applies exactly the same arithmetic. */
#include "components/component.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/examples.h"
#include "data/stats.h"
#include "data/transform.h"

static const mp_io_spec inputs[] = {
	{"examples", "Examples", 0, "the raw examples"},
	{"statistics", "ExampleStatistics", 0, "their statistics (the fit uses the training split's)"},
};

static const mp_io_spec outputs[] = {
	{"transform", "TransformGraph", 0, "transform.tsv: the fitted transform"},
	{"transformed_examples", "Examples", 1,
	 "every split, transformed: numeric inputs and the label (written only when a component reads it, or "
	 "keep_outputs names it)"},
};

static const mp_shape s_rule = {MP_SHAPE_STRING, 0, 0, "zscore|minmax|none|onehot|embed:N|drop|bucketize:N|divide:X",
				NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_rules = {MP_SHAPE_MAP, 0, 0, NULL, NULL, &s_rule, NULL, NULL, 0, NULL};

static const mp_param_spec params[] = {
	{"numbers", MP_PARAM_STRING, "zscore", 0, 0,
	 "how numbers are scaled by default: zscore, minmax, none or divide:N (pixels: divide:255)",
	 "zscore|minmax|none|divide:X", NULL},
	{"rules", MP_PARAM_JSON, "{}", 0, 0,
	 "per feature: zscore, minmax, none, onehot, embed:D (a string's index, which the Trainer embeds in D "
	 "learned floats), bucketize:N or drop ({age: bucketize:5})", NULL, &s_rules},
	{"split", MP_PARAM_STRING, "train", 0, 0, "the split the transform is fitted on", NULL, NULL},
	{"max_vocabulary", MP_PARAM_INT, "0", 0, 1000,
	 "a string feature with more distinct values than this is one-hot encoded only when a rule says onehot "
	 "(0: 1000 or half the training rows, whichever is lower)", NULL, NULL},
};

/* Fits the transform to the statistics (numbers as the 'numbers' param
 * says, rules per feature), with the label's class names. */
static int fit(const mp_component_io *io, const mp_examples_meta *m, const mp_stats *st, mp_transform *t,
	       mp_err *err)
{
	const char *num = mp_io_param(io, "numbers"), *split = mp_io_param(io, "split");
	const mp_split_stats *ss;
	const mp_feat_stats *fs;
	double divisor = 1;
	mp_tx_kind kind;
	int rc;

	if (!strcmp(num, "zscore"))
		kind = MP_TX_ZSCORE;
	else if (!strcmp(num, "minmax"))
		kind = MP_TX_MINMAX;
	else if (!strcmp(num, "none"))
		kind = MP_TX_NONE;
	else if (!strncmp(num, "divide:", 7) && (divisor = atof(num + 7)) != 0)
		kind = MP_TX_DIVIDE;
	else
		return mp_error(err, MP_EINVAL, "numbers: '%s' is not zscore, minmax, none or divide:N", num);
	if ((rc = mp_transform_fit(t, st, split, m->label, kind, divisor, mp_io_param(io, "rules"),
				   atoll(mp_io_param(io, "max_vocabulary")), err)) != 0)
		return rc;
	if (!m->nlabel_names)
		return 0;
	ss = mp_stats_split(st, split);
	fs = ss && t->label ? mp_stats_feature(ss, t->label) : NULL;
	if (fs && fs->type == MP_FEAT_FLOAT && fs->count &&
	    (fs->min < 0 || fs->max >= (double)m->nlabel_names || fs->min != floor(fs->min) || fs->max != floor(fs->max)))
		return mp_error(err, MP_EINVAL, "the label '%s' has values from %g to %g, but label_names names %zu "
				"classes (0 to %zu)", t->label, fs->min, fs->max, m->nlabel_names, m->nlabel_names - 1);
	return mp_transform_set_label_names(t, m->label_names, m->nlabel_names, err);
}

static int write_transform(const mp_component_io *io, const mp_transform *t, mp_err *err)
{
	mp_strbuf text = MP_STRBUF_INIT;
	char *path = NULL;
	int rc;

	if (mp_transform_to_text(t, &text) != 0 || !(path = mp_asprintf("%s/transform.tsv", mp_io_output(io, "transform"))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else
		rc = mp_write_file_atomic(path, text.buf, text.len, err);
	free(path);
	mp_strbuf_release(&text);
	return rc;
}

/* The transformed examples' features: the transform's outputs, then the
 * label; *feats has width + 1 entries (free the names and it). */
static int output_features(const mp_transform *t, mp_feature **feats, mp_err *err)
{
	size_t width = mp_transform_width(t), i = 0, s, k;

	if (!(*feats = mp_calloc(width + 1, sizeof(**feats))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (s = 0; s < t->nfeatures; s++)
		for (k = 0; k < mp_tx_feature_width(&t->features[s]); k++, i++) {
			char name[512];

			(*feats)[i].type = MP_FEAT_FLOAT;
			if (!((*feats)[i].name = mp_strdup(mp_tx_feature_output_name(&t->features[s], k, name, sizeof(name)))))
				return mp_error(err, MP_ENOMEM, "out of memory");
		}
	(*feats)[width].type = MP_FEAT_FLOAT;
	if (t->label && !((*feats)[width].name = mp_strdup(t->label)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

/* Split s of the examples through the transform into w; rows without a
 * label are counted in *dropped. */
static int transform_split(const mp_transform *t, const int *idx, const mp_examples_meta *m, const char *dir,
			   size_t s, mp_examples_writer *w, mp_block *b, float *row, int64_t *dropped, mp_err *err)
{
	size_t width = mp_transform_width(t), i, r;
	mp_examples_reader rd;
	int rc;

	if ((rc = mp_examples_reader_open(&rd, m, dir, m->splits[s].name, err)) != 0)
		return rc;
	while ((rc = mp_examples_reader_next(&rd, b, err)) == 1) {
		rc = 0;
		for (r = 0; r < b->rows && rc == 0; r++) {
			mp_block *ob = mp_examples_writer_block(w, s);
			float label;

			mp_transform_row(t, idx, b, r, row, t->label ? &label : NULL);
			if (t->label && isnan(label)) {
				(*dropped)++; /* no label, nothing to learn from */
				continue;
			}
			for (i = 0; i < width; i++)
				mp_block_set_float(ob, i, row[i]);
			if (t->label)
				mp_block_set_float(ob, width, label);
			rc = mp_examples_writer_row(w, s, err);
		}
		if (rc != 0)
			break;
	}
	mp_examples_reader_close(&rd);
	return rc;
}

/* Every split through the transform, as a new Examples artifact. */
static int write_transformed(const mp_component_io *io, const mp_transform *t, const mp_examples_meta *m,
			     const char *dir, mp_feature *feats, int64_t *dropped, mp_err *err)
{
	size_t width = mp_transform_width(t), s;
	mp_examples_writer *w = NULL;
	const char **splits = mp_calloc(m->nsplits + 1, sizeof(char *));
	int *idx = mp_calloc(t->nfeatures + 1, sizeof(int));
	float *row = mp_malloc((width + 1) * sizeof(float));
	mp_block b = {0};
	int rc = 0;

	if (!splits || !idx || !row)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	for (s = 0; rc == 0 && s < m->nsplits; s++)
		splits[s] = m->splits[s].name;
	if (rc == 0)
		rc = mp_transform_bind(t, m, idx, err);
	if (rc == 0)
		rc = mp_examples_writer_open(&w, mp_io_output(io, "transformed_examples"), feats, width + (t->label ? 1 : 0),
					     splits, m->nsplits, (size_t)((1u << 20) / (4 * (width + 1)) + 1), 2, err);
	if (rc == 0)
		rc = mp_block_init(&b, m->features, m->nfeatures, 1, err);
	for (s = 0; rc == 0 && s < m->nsplits; s++)
		rc = transform_split(t, idx, m, dir, s, w, &b, row, dropped, err);
	/* images keep their shape while every pixel stays one input */
	if (rc == 0 && m->shape[0] && (size_t)m->shape[0] * (size_t)m->shape[1] * (size_t)m->shape[2] == width &&
	    t->all_linear)
		mp_examples_writer_set_shape(w, m->shape);
	if (rc == 0 && (rc = mp_examples_writer_set_label_names(w, m->label_names, m->nlabel_names, err)) == 0) {
		rc = mp_examples_writer_close(w, t->label, m->span, m->version, 0, err);
		w = NULL;
	}
	if (w)
		mp_examples_writer_close(w, NULL, 0, 0, 1, NULL);
	mp_block_release(&b);
	free(splits);
	free(idx);
	free(row);
	return rc;
}

static int run_transform(const mp_component_io *io, mp_err *err)
{
	const char *ex_dir = mp_io_input(io, "examples"), *st_dir = mp_io_input(io, "statistics");
	const char *tx_dir = mp_io_output(io, "transformed_examples");
	mp_examples_meta m = {0};
	mp_stats st = {0};
	mp_transform t = {0};
	mp_feature *feats = NULL;
	int64_t dropped = 0, width;
	size_t i;
	int rc;

	if (!ex_dir || !st_dir)
		return mp_error(err, MP_EINVAL, "Transform needs 'examples' and 'statistics' inputs");
	if ((rc = mp_examples_meta_read(&m, ex_dir, err)) == 0 && (rc = mp_stats_read(&st, st_dir, err)) == 0 &&
	    (rc = fit(io, &m, &st, &t, err)) == 0 && (rc = write_transform(io, &t, err)) == 0 && tx_dir &&
	    (rc = output_features(&t, &feats, err)) == 0)
		rc = write_transformed(io, &t, &m, ex_dir, feats, &dropped, err);
	width = (int64_t)mp_transform_width(&t);
	if (rc == 0 && mp_result_prop_int(io->result, "transform", "inputs", width) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	/* the transformed examples only when they are wanted (an optional output) */
	if (rc == 0 && tx_dir &&
	    (mp_result_prop_int(io->result, "transformed_examples", "features", width) != 0 ||
	     (m.span >= 0 && mp_result_prop_int(io->result, "transformed_examples", "span", m.span) != 0) ||
	     mp_result_metric(io->result, "rows_without_label", 0, (double)dropped) != 0))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; feats && i <= (size_t)width; i++)
		free(feats[i].name);
	free(feats);
	mp_transform_release(&t);
	mp_stats_release(&st);
	mp_examples_meta_release(&m);
	return rc;
}

const mp_component_type mp_transform_component = {
	.name = "Transform",
	.version = "2",
	.summary = "fits scaling, one-hot and bucketizing on the training split and applies it to every split",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.run = run_transform,
};
