/* StatisticsGen: per split and feature, the numbers a person (and
 * SchemaGen, ExampleValidator) needs to judge the data. */
#include "components/component.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/examples.h"
#include "data/stats.h"

static const mp_io_spec inputs[] = {
	{"examples", "Examples", 0, "the examples to describe"},
};

static const mp_io_spec outputs[] = {
	{"statistics", "ExampleStatistics", 0,
	 "statistics.tsv: count, missing, mean, std, min, max, zeros and a histogram per number; "
	 "distinct values and the most frequent ones per string"},
};

static const mp_param_spec params[] = {
	{"threads", MP_PARAM_INT, "0", 0, 256,
	 "threads that decode and measure blocks (0: one per core); the figures are the same for any number",
	 NULL, NULL},
};

static int run_statistics_gen(const mp_component_io *io, mp_err *err)
{
	const char *in = mp_io_input(io, "examples"), *out = mp_io_output(io, "statistics");
	mp_examples_meta m;
	mp_stats st;
	size_t i, f;
	int rc, threads;

	if (!in)
		return mp_error(err, MP_EINVAL, "StatisticsGen needs an 'examples' input");
	if ((rc = mp_examples_meta_read(&m, in, err)) != 0)
		return rc;
	threads = atoi(mp_io_param(io, "threads"));
	if (threads == 0)
		threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	rc = mp_stats_compute(&st, &m, in, threads > 0 ? threads : 1, err);
	mp_examples_meta_release(&m);
	if (rc != 0)
		return rc;
	rc = mp_stats_write(&st, out, err);
	for (i = 0; rc == 0 && i < st.nsplits; i++) {
		const mp_split_stats *ss = &st.splits[i];
		int64_t missing = 0, cells = 0;
		char name[160];

		for (f = 0; f < ss->nfeats; f++) {
			missing += ss->feats[f].missing;
			cells += ss->feats[f].missing + ss->feats[f].count;
		}
		snprintf(name, sizeof(name), "rows_%s", ss->name);
		if (mp_result_prop_int(io->result, "statistics", name, ss->rows) != 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		snprintf(name, sizeof(name), "missing_fraction_%s", ss->name);
		if (rc == 0 && mp_result_metric(io->result, name, 0, cells ? (double)missing / (double)cells : 0) != 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	}
	if (rc == 0 && (mp_result_prop_int(io->result, "statistics", "features",
					   st.nsplits ? (int64_t)st.splits[0].nfeats : 0) != 0 ||
			(st.span >= 0 && mp_result_prop_int(io->result, "statistics", "span", st.span) != 0)))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	mp_stats_release(&st);
	return rc;
}

const mp_component_type mp_statistics_gen_component = {
	.name = "StatisticsGen",
	.version = "3",
	.summary = "computes statistics of every split and feature of an Examples artifact",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.unkeyed = (const char *const[]){"threads", NULL},
	.run = run_statistics_gen,
};
