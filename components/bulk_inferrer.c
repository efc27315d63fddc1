/* BulkInferrer: a model scores a split of examples inside the pipeline,
 * streaming, with lineage.  Its predictions.csv is what `mlpipe predict`
 * writes for the same rows.  With a blessing wired, an unblessed model
 * scores nothing (TFX's BulkInferrer). */
#include "components/component.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/examples.h"
#include "eval/evaluation.h"
#include "export/export.h"

#define BATCH 256

static const mp_io_spec inputs[] = {
	{"examples", "Examples", 0, "the examples to score (raw: the model applies its transform)"},
	{"model", "Model", 0, "the model"},
	{"blessing", "ModelBlessing", 1, "when wired, an unblessed model scores nothing"},
};

static const mp_io_spec outputs[] = {
	{"inference_result", "InferenceResult", 0, "predictions.csv: one row per example, as mlpipe predict writes"},
};

static const mp_param_spec params[] = {
	{"split", MP_PARAM_STRING, "eval", 0, 0, "the split to score", NULL, NULL},
};

/* Scores every row of split into fp; *rows gets how many. */
static int score(mp_served *s, const mp_examples_meta *m, const char *dir, const char *split, FILE *fp,
		 int64_t *rows, mp_err *err)
{
	mp_examples_reader rd = {0};
	mp_block b = {0};
	float *out = mp_malloc(BATCH * s->nout * sizeof(float));
	size_t from;
	int rc;

	*rows = 0;
	if (!out)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_block_init(&b, m->features, m->nfeatures, 1, err)) == 0 &&
	    (rc = mp_examples_reader_open(&rd, m, dir, split, err)) == 0) {
		mp_predictions_header(s, fp);
		while ((rc = mp_examples_reader_next(&rd, &b, err)) == 1)
			for (from = 0; from < b.rows; from += BATCH) {
				size_t n = b.rows - from < BATCH ? b.rows - from : BATCH;

				mp_served_predict(s, &b, from, n, out, NULL);
				mp_predictions_rows(s, out, n, fp);
				*rows += (int64_t)n;
			}
		mp_examples_reader_close(&rd);
	}
	mp_block_release(&b);
	free(out);
	return rc < 0 ? rc : 0;
}

static int run_bulk_inferrer(const mp_component_io *io, mp_err *err)
{
	const char *ex = mp_io_input(io, "examples"), *model = mp_io_input(io, "model");
	const char *blessing = mp_io_input(io, "blessing"), *split = mp_io_param(io, "split");
	char *path = mp_asprintf("%s/predictions.csv", mp_io_output(io, "inference_result"));
	mp_examples_meta m = {0};
	mp_served s = {0};
	int64_t rows = 0;
	mp_afile af;
	int rc = 0, skipped = 0;

	if (!ex || !model)
		rc = mp_error(err, MP_EINVAL, "BulkInferrer needs 'examples' and 'model' inputs");
	else if (!path)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0 && blessing) {
		mp_blessing b;

		if ((rc = mp_blessing_read(&b, blessing, err)) == 0) {
			skipped = !b.blessed;
			mp_blessing_release(&b);
		}
	}
	if (rc == 0 && skipped) {
		fprintf(stderr, "mlpipe: the model is not blessed: nothing scored\n");
	} else if (rc == 0 && (rc = mp_examples_meta_read(&m, ex, err)) == 0) {
		const mp_split_info *si = mp_examples_split(&m, split);

		if (!si)
			rc = mp_error(err, MP_EINVAL, "the examples have no split '%s' to score", split);
		else if ((rc = mp_served_load(&s, model, BATCH, err)) == 0 &&
			 (rc = mp_served_bind(&s, &m, ex, err)) == 0 && (rc = mp_afile_open(&af, path, err)) == 0) {
			rc = score(&s, &m, ex, split, af.fp, &rows, err);
			rc = rc == 0 ? mp_afile_commit(&af, err) : (mp_afile_abort(&af), rc);
		}
	}
	if (rc == 0 && (mp_result_prop_int(io->result, "inference_result", "rows", rows) != 0 ||
			mp_result_prop_int(io->result, "inference_result", "skipped", skipped) != 0 ||
			mp_result_prop_string(io->result, "inference_result", "split", split) != 0 ||
			mp_result_metric(io->result, "rows_scored", 0, (double)rows) != 0))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0 && !skipped)
		fprintf(stderr, "scored %lld examples of split %s\n", (long long)rows, split);
	mp_served_release(&s);
	mp_examples_meta_release(&m);
	free(path);
	return rc;
}

const mp_component_type mp_bulk_inferrer_component = {
	.name = "BulkInferrer",
	.version = "1",
	.summary = "scores a split of examples with a model (skipped when its blessing is wired and says no)",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.run = run_bulk_inferrer,
};
