/* SchemaGen: the schema inferred from statistics, or a curated one pinned
 * with `schema:`. */
#include "components/component.h"

#include <stdlib.h>
#include <string.h>

#include "data/stats.h"
#include "data/schema.h"

static const mp_io_spec inputs[] = {
	{"statistics", "ExampleStatistics", 1, "statistics to infer from (not needed with 'schema')"},
};

static const mp_io_spec outputs[] = {
	{"schema", "Schema", 0, "schema.yaml: types, required features, ranges and vocabularies"},
};

static const mp_param_spec params[] = {
	{"schema", MP_PARAM_PATH, "", 0, 0, "a curated schema.yaml to use instead of inferring one", NULL, NULL},
	{"split", MP_PARAM_STRING, "train", 0, 0, "the split to infer from", NULL, NULL},
	{"infer_ranges", MP_PARAM_BOOL, "false", 0, 0,
	 "record each number's observed min and max (often too tight for data not yet seen)", NULL, NULL},
	{"max_values", MP_PARAM_INT, "100", 0, 1000,
	 "a string with at most this many distinct values gets them as its vocabulary", NULL, NULL},
};

static int run_schema_gen(const mp_component_io *io, mp_err *err)
{
	const char *curated = mp_io_param(io, "schema"), *in = mp_io_input(io, "statistics");
	char *out = mp_asprintf("%s/schema.yaml", mp_io_output(io, "schema"));
	mp_schema sc;
	mp_stats st;
	int rc;

	if (!out)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (*curated) {
		char *path = curated[0] == '/' ? mp_strdup(curated) : mp_asprintf("%s/%s", io->workdir, curated);

		rc = path ? mp_schema_read(&sc, path, err) : mp_error(err, MP_ENOMEM, "out of memory");
		if (rc == 0)
			rc = mp_schema_write(&sc, out, "mlpipe schema: the curated one given to SchemaGen", err);
		free(path);
	} else if (!in) {
		rc = mp_error(err, MP_EINVAL, "SchemaGen needs a 'statistics' input or a 'schema' param");
	} else if ((rc = mp_stats_read(&st, in, err)) == 0) {
		rc = mp_schema_infer(&sc, &st, mp_io_param(io, "split"), !strcmp(mp_io_param(io, "infer_ranges"), "true"),
				     atoi(mp_io_param(io, "max_values")), err);
		mp_stats_release(&st);
		if (rc == 0)
			rc = mp_schema_write(&sc, out, "mlpipe schema, inferred by SchemaGen from statistics", err);
	}
	if (rc == 0) {
		if (mp_result_prop_int(io->result, "schema", "features", (int64_t)sc.nfeatures) != 0 ||
		    mp_result_prop_string(io->result, "schema", "origin", *curated ? "curated" : "inferred") != 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		mp_schema_release(&sc);
	}
	free(out);
	return rc;
}

const mp_component_type mp_schema_gen_component = {
	.name = "SchemaGen",
	.version = "1",
	.summary = "infers a schema from statistics (or takes a curated one) as editable YAML",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.run = run_schema_gen,
};
