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
	{"transformed_examples", "Examples", 0, "every split, transformed: numeric inputs and the label"},
};

static const mp_shape s_rule = {MP_SHAPE_STRING, 0, 0, "zscore|minmax|none|onehot|drop|bucketize:N|divide:X",
				NULL, NULL, NULL, NULL, 0};
static const mp_shape s_rules = {MP_SHAPE_MAP, 0, 0, NULL, NULL, &s_rule, NULL, NULL, 0};

static const mp_param_spec params[] = {
	{"numbers", MP_PARAM_STRING, "zscore", 0, 0,
	 "how numbers are scaled by default: zscore, minmax, none or divide:N (pixels: divide:255)",
	 "zscore|minmax|none|divide:X", NULL},
	{"rules", MP_PARAM_JSON, "{}", 0, 0,
	 "per feature: zscore, minmax, none, onehot, bucketize:N or drop ({age: bucketize:5})", NULL, &s_rules},
	{"split", MP_PARAM_STRING, "train", 0, 0, "the split the transform is fitted on", NULL, NULL},
	{"max_vocabulary", MP_PARAM_INT, "0", 0, 1000,
	 "a string feature with more distinct values than this is one-hot encoded only when a rule says onehot "
	 "(0: 1000 or half the training rows, whichever is lower)", NULL, NULL},
};

static int run_transform(const mp_component_io *io, mp_err *err)
{
	const char *ex_dir = mp_io_input(io, "examples"), *st_dir = mp_io_input(io, "statistics");
	const char *num = mp_io_param(io, "numbers");
	mp_examples_meta m = {0};
	mp_stats st = {0};
	mp_transform t = {0};
	mp_examples_writer *w = NULL;
	mp_feature *feats = NULL;
	const char **splits = NULL;
	mp_strbuf text = MP_STRBUF_INIT;
	mp_block b = {0};
	int *idx = NULL, rc;
	size_t width = 0, i, s;
	int64_t dropped = 0;
	mp_tx_kind kind;
	double divisor = 1;
	char *path = NULL;
	float *row = NULL;

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
	if (!ex_dir || !st_dir)
		return mp_error(err, MP_EINVAL, "Transform needs 'examples' and 'statistics' inputs");
	if ((rc = mp_examples_meta_read(&m, ex_dir, err)) != 0 || (rc = mp_stats_read(&st, st_dir, err)) != 0 ||
	    (rc = mp_transform_fit(&t, &st, mp_io_param(io, "split"), m.label, kind, divisor, mp_io_param(io, "rules"),
				    atoll(mp_io_param(io, "max_vocabulary")), err)) != 0)
		goto out;
	if (m.nlabel_names) {
		const mp_split_stats *ss = mp_stats_split(&st, mp_io_param(io, "split"));
		const mp_feat_stats *fs = ss && t.label ? mp_stats_feature(ss, t.label) : NULL;

		if (fs && fs->type == MP_FEAT_FLOAT && fs->count &&
		    (fs->min < 0 || fs->max >= (double)m.nlabel_names || fs->min != floor(fs->min) || fs->max != floor(fs->max))) {
			rc = mp_error(err, MP_EINVAL, "the label '%s' has values from %g to %g, but label_names names %zu "
				      "classes (0 to %zu)", t.label, fs->min, fs->max, m.nlabel_names, m.nlabel_names - 1);
			goto out;
		}
		if ((rc = mp_transform_set_label_names(&t, m.label_names, m.nlabel_names, err)) != 0)
			goto out;
	}
	/* the fitted transform */
	if ((rc = mp_transform_to_text(&t, &text)) != 0 ||
	    !(path = mp_asprintf("%s/transform.tsv", mp_io_output(io, "transform")))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_write_file_atomic(path, text.buf, text.len, err)) != 0)
		goto out;
	/* the transformed examples: the transform's outputs, then the label */
	width = mp_transform_width(&t);
	if (!(feats = mp_calloc(width + 1, sizeof(*feats))) || !(idx = mp_calloc(t.nfeatures + 1, sizeof(int))) ||
	    !(row = mp_malloc((width + 1) * sizeof(float))) || !(splits = mp_calloc(m.nsplits, sizeof(char *)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0, s = 0; s < t.nfeatures; s++) {
		size_t k;

		for (k = 0; k < mp_tx_feature_width(&t.features[s]); k++, i++) {
			char name[512];

			feats[i].type = MP_FEAT_FLOAT;
			if (!(feats[i].name = mp_strdup(mp_tx_feature_output_name(&t.features[s], k, name, sizeof(name))))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (t.label && !(feats[width].name = mp_strdup(t.label))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	feats[width].type = MP_FEAT_FLOAT;
	for (s = 0; s < m.nsplits; s++)
		splits[s] = m.splits[s].name;
	if ((rc = mp_transform_bind(&t, &m, idx, err)) != 0 ||
	    (rc = mp_examples_writer_open(&w, mp_io_output(io, "transformed_examples"), feats, width + (t.label ? 1 : 0),
					  splits, m.nsplits, (size_t)((1u << 20) / (4 * (width + 1)) + 1), 2, err)) != 0 ||
	    (rc = mp_block_init(&b, m.features, m.nfeatures, 1, err)) != 0)
		goto out;
	for (s = 0; s < m.nsplits && rc == 0; s++) {
		mp_examples_reader rd;

		if ((rc = mp_examples_reader_open(&rd, &m, ex_dir, splits[s], err)) != 0)
			break;
		while ((rc = mp_examples_reader_next(&rd, &b, err)) == 1) {
			size_t r;

			rc = 0;
			for (r = 0; r < b.rows && rc == 0; r++) {
				mp_block *ob = mp_examples_writer_block(w, s);
				float label;

				mp_transform_row(&t, idx, &b, r, row, t.label ? &label : NULL);
				if (t.label && isnan(label)) {
					dropped++; /* no label, nothing to learn from */
					continue;
				}
				for (i = 0; i < width; i++)
					mp_block_set_float(ob, i, row[i]);
				if (t.label)
					mp_block_set_float(ob, width, label);
				rc = mp_examples_writer_row(w, s, err);
			}
			if (rc != 0)
				break;
		}
		mp_examples_reader_close(&rd);
	}
	if (rc == 0 && (rc = mp_examples_writer_set_label_names(w, m.label_names, m.nlabel_names, err)) == 0) {
		rc = mp_examples_writer_close(w, t.label, m.span, m.version, 0, err);
		w = NULL;
	}
	if (rc == 0 && (mp_result_prop_int(io->result, "transform", "inputs", (int64_t)width) != 0 ||
			mp_result_prop_int(io->result, "transformed_examples", "features", (int64_t)width) != 0 ||
			(m.span >= 0 && mp_result_prop_int(io->result, "transformed_examples", "span", m.span) != 0) ||
			mp_result_metric(io->result, "rows_without_label", 0, (double)dropped) != 0))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
out:
	if (w)
		mp_examples_writer_close(w, NULL, 0, 0, 1, NULL);
	for (i = 0; feats && i <= width; i++)
		free(feats[i].name);
	free(feats);
	free(idx);
	free(row);
	free(splits);
	free(path);
	mp_block_release(&b);
	mp_strbuf_release(&text);
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
